//! The side-by-side NetEq comparison (used by `examples/neteq_compare.rs` and
//! `tests/interop_libwebrtc.rs`): seeded traces, the Opus packet stream every receiver replays,
//! tern-neteq's replay, and a fixed-delay buffer. Every receiver sees the same packets on the
//! same 10 ms tick grid: before the pull at tick k, each packet whose arrival is at or before
//! k × 10 ms is inserted, with arrival time k × 10 ms.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tern_neteq::{Decoder, NetEq, NetEqConfig, NetEqStats, OpusDecoder, SampleRate};

pub const RATE: usize = 48_000;
pub const FRAME: usize = RATE / 100;
pub const PACKET: usize = 2 * FRAME;
pub const PT: u8 = 111;
/// Output pulled beyond the signal's length. None: the speech ends in more than half a second
/// of silence, so what a receiver still holds at the end is silence, and concealment after the
/// last packet would only inflate every receiver's concealment counters.
pub const TAIL_FRAMES: usize = 0;

// ---------------------------------------------------------------------------------------------
// Traces

pub struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// One trace: 20 ms packets, `count` of them; `delay(i, rng)` the network delay in ms and
/// `lost(i, rng)` whether it is lost.
pub fn trace_csv(
    title: &str,
    count: usize,
    seed: u64,
    mut delay: impl FnMut(usize, &mut Rng) -> f64,
    mut lost: impl FnMut(usize, &mut Rng) -> bool,
) -> String {
    let mut rng = Rng(seed);
    let mut s =
        format!("# {title}\n# seed {seed}; seq,send_ms,arrival_ms (lost = never arrives)\n");
    for i in 0..count {
        let send = i as f64 * 20.0;
        let d = delay(i, &mut rng);
        if lost(i, &mut rng) {
            writeln!(s, "{i},{send:.0},lost").unwrap();
        } else {
            writeln!(s, "{i},{send:.0},{:.1}", send + d.max(0.0)).unwrap();
        }
    }
    s
}

pub fn write_traces(dir: &Path) {
    write_traces_seeded(dir, &[(1, 0x5eed_0000), (2, 0x5eed_1000)]);
}

/// Writes the three traces for each `(suffix, seed)`: the committed ones are `s1` and `s2`;
/// other seeds give held-out traces to check that a change is not tuned to the committed ones.
pub fn write_traces_seeded(dir: &Path, seeds: &[(u64, u64)]) {
    std::fs::create_dir_all(dir).unwrap();
    for &(n, seed) in seeds {
        for (name, text) in traces(seed) {
            let path = dir.join(format!("trace-{name}-s{n}.csv"));
            std::fs::write(&path, text).unwrap();
            eprintln!("wrote {}", path.display());
        }
    }
}

/// The three network conditions, 20 s each, from one seed.
pub fn traces(seed: u64) -> [(&'static str, String); 3] {
    let count = 1000;
    // Uniform (Bernoulli) 5 % loss, Gaussian jitter of 15 ms around 60 ms (some reordering).
    let uniform = trace_csv(
        "uniform: 5% Bernoulli loss, delay 60 ms + N(0, 15 ms)",
        count,
        seed + 1,
        |_, r| 60.0 + 15.0 * r.gauss(),
        |_, r| r.unit() < 0.05,
    );
    // Bursty: Gilbert-Elliott loss (good->bad 3 %, bad->good 35 %, 80 % loss in bad: about 6 %
    // loss in bursts) and delay spikes: every 3-5 s the path stalls for 150-350 ms, then the
    // queued packets arrive together.
    let mut bad = false;
    let mut stall_until = 0.0f64;
    let mut next_stall = 3000.0f64;
    let bursty = trace_csv(
        "bursty: Gilbert-Elliott loss (~6%), delay 50 ms + N(0, 8 ms) + stalls of 150-350 ms every 3-5 s",
        count,
        seed + 2,
        move |i, r| {
            let send = i as f64 * 20.0;
            if send >= next_stall {
                stall_until = send + 150.0 + 200.0 * r.unit();
                next_stall = send + 3000.0 + 2000.0 * r.unit();
            }
            let base = 50.0 + 8.0 * r.gauss();
            // Held until the stall ends, then released together.
            if send < stall_until {
                base + (stall_until - send)
            } else {
                base
            }
        },
        move |_, r| {
            bad = if bad {
                r.unit() >= 0.35
            } else {
                r.unit() < 0.03
            };
            bad && r.unit() < 0.8
        },
    );
    // Jitter only: no loss, heavy-tailed jitter (exponential, mean 25 ms) on 40 ms.
    let jitter = trace_csv(
        "jitter: no loss, delay 40 ms + Exp(mean 25 ms)",
        count,
        seed + 3,
        |_, r| 40.0 - 25.0 * (1.0 - r.unit()).max(1e-12).ln(),
        |_, _| false,
    );
    [
        ("uniform-loss5-jitter15", uniform),
        ("bursty-ge-loss-stalls", bursty),
        ("jitter-exp25-noloss", jitter),
    ]
}

// ---------------------------------------------------------------------------------------------
// Stream preparation

pub struct StreamPacket {
    pub tick: usize,
    pub seq: u16,
    pub ts: u32,
    pub payload: Vec<u8>,
}

/// The tick (10 ms) at which a packet arriving at `arrival_ms` is inserted.
pub fn arrival_tick(arrival_ms: f64) -> usize {
    (arrival_ms / 10.0).ceil().max(0.0) as usize
}

pub fn encode(signal: &[i16]) -> Vec<Vec<u8>> {
    use audiopus::coder::Encoder;
    let mut enc = Encoder::new(
        audiopus::SampleRate::Hz48000,
        audiopus::Channels::Mono,
        audiopus::Application::Voip,
    )
    .unwrap();
    // As a WebRTC sender: 32 kb/s, in-band FEC on with a 10 % expected loss.
    enc.set_bitrate(audiopus::Bitrate::BitsPerSecond(32_000))
        .unwrap();
    enc.set_inband_fec(true).unwrap();
    enc.set_packet_loss_perc(10).unwrap();
    signal
        .chunks_exact(PACKET)
        .map(|f| {
            let mut buf = vec![0u8; 1500];
            let n = enc.encode(f, &mut buf).unwrap();
            buf.truncate(n);
            buf
        })
        .collect()
}

pub fn write_pcm(path: &Path, samples: &[i16]) {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

pub fn prepare(trace: &Path, out: &Path, source: &str) {
    std::fs::create_dir_all(out).unwrap();
    let entries = super::read_trace(&std::fs::read_to_string(trace).unwrap());
    let mut signal = match source.strip_prefix("synthetic:") {
        Some(seconds) => {
            // Leading and trailing half second of silence around the speech-like signal.
            let mut s = vec![0i16; RATE / 2];
            s.extend(super::speech_like(
                RATE as u32,
                seconds.parse::<f64>().unwrap() - 1.0,
                0x0005_eec4,
            ));
            s.resize(s.len() + RATE / 2, 0);
            s
        }
        None => std::fs::read(source)
            .unwrap()
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect(),
    };
    let packets_wanted = (signal.len() / PACKET).min(entries.len());
    signal.truncate(packets_wanted * PACKET);
    let packets = encode(&signal);
    write_pcm(&out.join("ref.pcm"), &signal);

    let mut stream: Vec<StreamPacket> = entries
        .iter()
        .filter(|e| (e.seq as usize) < packets.len())
        .filter_map(|e| {
            e.arrival_ms.map(|a| StreamPacket {
                tick: arrival_tick(a),
                seq: e.seq as u16,
                ts: e.seq.wrapping_mul(PACKET as u32),
                payload: packets[e.seq as usize].clone(),
            })
        })
        .collect();
    stream.sort_by_key(|p| (p.tick, p.seq));
    let frames = signal.len() / FRAME + TAIL_FRAMES;
    let mut text = format!(
        "# {} -> {} packets of 20 ms Opus (32 kb/s, FEC); arrival_ms seq rtp_ts payload\nframes {frames}\n",
        trace.display(),
        packets.len()
    );
    for p in &stream {
        write!(text, "{} {} {} ", p.tick * 10, p.seq, p.ts).unwrap();
        for b in &p.payload {
            write!(text, "{b:02x}").unwrap();
        }
        text.push('\n');
    }
    std::fs::write(out.join("stream.txt"), text).unwrap();
    eprintln!(
        "{} packets, {} received, {frames} output frames",
        packets.len(),
        stream.len()
    );
}

pub fn read_stream(out: &Path) -> (usize, Vec<StreamPacket>) {
    let text = std::fs::read_to_string(out.join("stream.txt")).unwrap();
    let mut frames = 0;
    let mut packets = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["frames", n] => frames = n.parse().unwrap(),
            [arrival, seq, ts, hex] => packets.push(StreamPacket {
                tick: arrival.parse::<usize>().unwrap() / 10,
                seq: seq.parse().unwrap(),
                ts: ts.parse().unwrap(),
                payload: (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect(),
            }),
            _ => panic!("bad stream line {line:?}"),
        }
    }
    (frames, packets)
}

// ---------------------------------------------------------------------------------------------
// Receivers

pub fn json(engine: &str, s: &NetEqStats, extra: &str) -> String {
    let emitted = s.jitter_buffer_emitted_count.max(1) as f64;
    format!(
        "{{\"engine\":\"{engine}\",\"mean_delay_ms\":{:.3},\"mean_target_delay_ms\":{:.3},\
         \"total_samples\":{},\"concealed_samples\":{},\"silent_concealed_samples\":{},\
         \"concealment_events\":{},\"inserted_samples\":{},\"removed_samples\":{},\
         \"packets_discarded\":{},\"buffer_flushes\":{},\"emitted\":{}{extra}}}",
        s.jitter_buffer_delay * 1000.0 / emitted,
        s.jitter_buffer_target_delay * 1000.0 / emitted,
        s.total_samples_received,
        s.concealed_samples,
        s.silent_concealed_samples,
        s.concealment_events,
        s.inserted_samples_for_deceleration,
        s.removed_samples_for_acceleration,
        s.packets_discarded,
        s.buffer_flushes,
        s.jitter_buffer_emitted_count,
    )
}

/// `variant`: "" (defaults), "no-stretch" (time stretching off), "no-codec-plc" (NetEq's own
/// expand instead of Opus PLC) or "pinned-MS" (target delay held at MS: no adaptation); the
/// output goes to `tern.pcm` or `tern-<variant>.pcm`.
pub fn run_tern(out: &Path, variant: &str) -> String {
    let (frames, stream) = read_stream(out);
    let mut config = NetEqConfig::new(SampleRate::Hz48000);
    match variant {
        "" => {}
        "no-stretch" => config.enable_time_stretch = false,
        "no-codec-plc" => config.enable_codec_plc = false,
        other => match other.strip_prefix("pinned-") {
            // The target pinned (min = max delay), to separate adaptation from the rest.
            Some(ms) => {
                let ms = ms.parse().unwrap();
                config.min_delay_ms = ms;
                config.max_delay_ms = ms;
            }
            None => panic!("unknown variant {other:?}"),
        },
    }
    let mut neteq = NetEq::new(config);
    neteq
        .register_decoder(PT, Box::new(OpusDecoder::new(48_000).unwrap()))
        .unwrap();
    let mut pcm = Vec::with_capacity(frames * FRAME);
    let mut buf = [0i16; FRAME];
    let mut next = 0;
    let mut ops = String::new();
    for k in 0..frames {
        while let Some(p) = stream.get(next).filter(|p| p.tick <= k) {
            let now = neteq.playout_clock();
            let _ = neteq.insert_packet(p.ts, p.seq, PT, &p.payload, now);
            next += 1;
        }
        let info = neteq.get_audio(&mut buf).unwrap();
        writeln!(
            ops,
            "{k} {:?} {} {}",
            info.operation, info.buffer_level, info.target_delay
        )
        .unwrap();
        pcm.extend_from_slice(&buf);
    }
    let name = if variant.is_empty() {
        "tern".to_string()
    } else {
        format!("tern-{variant}")
    };
    write_pcm(&out.join(format!("{name}.pcm")), &pcm);
    std::fs::write(out.join(format!("{name}.ops")), ops).unwrap();
    let s = neteq.stats();
    let extra = format!(
        ",\"fec_recovered\":{},\"ops\":\"{:?}\"",
        s.fec_recovered_packets, s.operations
    );
    json(&name, s, &extra)
}

/// A fixed-delay buffer: signal sample j plays at j / 48 kHz + `delay_ticks` × 10 ms. A packet
/// that has not arrived when its first sample is due is recovered from the next packet's FEC if
/// that one is there, else concealed by Opus' PLC.
pub fn fixed_buffer(
    frames: usize,
    stream: &[StreamPacket],
    delay_ticks: usize,
) -> (Vec<i16>, NetEqStats) {
    let max_seq = stream.iter().map(|p| p.seq as usize).max().unwrap_or(0);
    let mut arrival = vec![usize::MAX; max_seq + 2];
    let mut index = vec![0; max_seq + 2];
    for (i, p) in stream.iter().enumerate() {
        if p.tick < arrival[p.seq as usize] {
            arrival[p.seq as usize] = p.tick;
            index[p.seq as usize] = i;
        }
    }
    let payload = |seq: usize| &stream[index[seq]];
    let mut dec = OpusDecoder::new(48_000).unwrap();
    let mut stats = NetEqStats::default();
    let mut pcm = Vec::with_capacity(frames * FRAME);
    let mut pending: Vec<i16> = Vec::new();
    let mut delay_sum = 0.0;
    let mut concealing = false;
    for k in 0..frames {
        if k < delay_ticks {
            pcm.extend_from_slice(&[0; FRAME]);
            continue;
        }
        let f = k - delay_ticks;
        if f.is_multiple_of(2) {
            let seq = f / 2;
            pending.clear();
            let arrived = arrival.get(seq).is_some_and(|&t| t <= k);
            let next_arrived = arrival.get(seq + 1).is_some_and(|&t| t <= k);
            if arrived {
                dec.decode(&payload(seq).payload, &mut pending).unwrap();
                let wait = (k - arrival[seq]) as f64 * 10.0;
                // Mean over the packet's samples of (playout - arrival), as jitterBufferDelay.
                delay_sum += PACKET as f64 * (wait + 10.0 - 0.5 / 48.0);
                stats.jitter_buffer_emitted_count += PACKET as u64;
                concealing = false;
            } else if seq <= max_seq && next_arrived && dec.has_fec(&payload(seq + 1).payload) {
                dec.decode_fec(&payload(seq + 1).payload, PACKET, &mut pending)
                    .unwrap();
                stats.fec_recovered_packets += 1;
                concealing = false;
            } else {
                // No LBRR in the next packet (or it is not here): libopus' decode_fec would
                // only run its PLC, so conceal and count it as concealment.
                dec.conceal(PACKET, &mut pending).unwrap();
                if seq <= max_seq {
                    stats.concealed_samples += PACKET as u64;
                    if !concealing {
                        stats.concealment_events += 1;
                    }
                    concealing = true;
                }
            }
            pending.resize(PACKET, 0);
        }
        let half = (f % 2) * FRAME;
        pcm.extend_from_slice(&pending[half..half + FRAME]);
        stats.total_samples_received += FRAME as u64;
    }
    stats.jitter_buffer_delay = delay_sum / 1000.0;
    stats.packets_discarded = stream
        .iter()
        .filter(|p| p.tick > (p.seq as usize) * 2 + delay_ticks)
        .count() as u64;
    (pcm, stats)
}

pub fn run_fixed(out: &Path, target_delay_ms: f64) -> String {
    let (frames, stream) = read_stream(out);
    // Pick the playout delay whose mean jitter buffer delay is closest to the target.
    // The mean delay grows with the playout delay: stop once past the target.
    let mut best = (0, f64::INFINITY);
    for d in 0..100 {
        let (_, s) = fixed_buffer(frames, &stream, d);
        let delay = s.mean_delay() * 1000.0;
        if (delay - target_delay_ms).abs() < (best.1 - target_delay_ms).abs() {
            best = (d, delay);
        }
        if delay > target_delay_ms + 20.0 {
            break;
        }
    }
    let (pcm, s) = fixed_buffer(frames, &stream, best.0);
    let path: PathBuf = out.join("fixed.pcm");
    write_pcm(&path, &pcm);
    let extra = format!(
        ",\"fec_recovered\":{},\"playout_delay_ms\":{}",
        s.fec_recovered_packets,
        best.0 * 10
    );
    json("fixed", &s, &extra)
}
