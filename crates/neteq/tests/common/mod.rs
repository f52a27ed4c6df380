//! Shared helpers of the integration tests: a speech-like signal generator, packetization and
//! a network replay on the sample clock.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "opus")]
pub mod compare;

use tern_neteq::{AudioFrameInfo, L16Decoder, NetEq, NetEqConfig, SampleRate};

/// Deterministic xorshift generator for tests.
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A speech-like signal: syllables (voiced, 90–260 Hz gliding pitch, ten harmonics shaped by two
/// formants, 120–300 ms) separated by short unvoiced bursts and pauses, over faint noise.
pub fn speech_like(rate: u32, seconds: f64, seed: u64) -> Vec<i16> {
    let mut rng = TestRng(seed.max(1));
    let n = (f64::from(rate) * seconds) as usize;
    let mut out = vec![0f64; n];
    let mut t = 0usize;
    let fs = f64::from(rate);
    while t < n {
        let syl = ((0.12 + 0.18 * rng.unit()) * fs) as usize;
        let f0_start = 90.0 + 170.0 * rng.unit();
        let f0_end = f0_start * (0.8 + 0.4 * rng.unit());
        let f1 = 300.0 + 600.0 * rng.unit();
        let f2 = 900.0 + 1600.0 * rng.unit();
        let amp = 3000.0 + 6000.0 * rng.unit();
        let mut phase = 0.0f64;
        for i in 0..syl.min(n - t) {
            let x = i as f64 / syl as f64;
            let f0 = f0_start + (f0_end - f0_start) * x;
            phase += 2.0 * std::f64::consts::PI * f0 / fs;
            let env = (std::f64::consts::PI * x).sin().powf(0.6);
            let mut s = 0.0;
            for h in 1..=10 {
                let fh = f0 * h as f64;
                if fh > fs / 2.0 - 200.0 {
                    break;
                }
                let g = 1.0 / (1.0 + ((fh - f1) / 150.0).powi(2))
                    + 0.5 / (1.0 + ((fh - f2) / 250.0).powi(2));
                s += g * (phase * h as f64).sin();
            }
            out[t + i] += amp * env * s * 0.5;
        }
        t += syl;
        // Unvoiced burst (fricative) or pause.
        let gap = ((0.03 + 0.15 * rng.unit()) * fs) as usize;
        let fricative = rng.unit() < 0.4;
        for i in 0..gap.min(n.saturating_sub(t)) {
            if fricative {
                let env = (std::f64::consts::PI * i as f64 / gap as f64).sin();
                out[t + i] += (rng.unit() - 0.5) * 1500.0 * env;
            }
        }
        t += gap;
    }
    out.iter()
        .map(|&v| (v + (rng.unit() - 0.5) * 20.0).clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// One packet of a trace: index in send order, arrival time in milliseconds (None = lost).
#[derive(Debug, Clone, Copy)]
pub struct TraceEntry {
    pub seq: u32,
    pub arrival_ms: Option<f64>,
}

/// Reads a committed trace: CSV lines `seq,send_ms,arrival_ms` where arrival is `lost` for a
/// lost packet; `#` lines are comments.
pub fn read_trace(text: &str) -> Vec<TraceEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            TraceEntry {
                seq: f[0].trim().parse().unwrap(),
                arrival_ms: f[2].trim().parse().ok(),
            }
        })
        .collect()
}

/// A NetEq with L16 on payload type 96 at `rate`.
pub fn l16_neteq(rate: SampleRate) -> NetEq {
    let mut n = NetEq::new(NetEqConfig::new(rate));
    n.register_decoder(96, Box::new(L16Decoder::new(rate.hz())))
        .unwrap();
    n
}

/// Result of replaying a trace.
pub struct Replay {
    pub output: Vec<i16>,
    pub frames: Vec<AudioFrameInfo>,
}

/// Replays `signal` cut into `packet_ms` L16 packets through `neteq` following `trace` (entry i
/// is packet i; arrivals in ms from the first send), pulling 10 ms frames on the sample clock
/// for the signal's duration plus `tail_ms`.
pub fn replay_l16(
    neteq: &mut NetEq,
    rate: u32,
    signal: &[i16],
    packet_ms: usize,
    trace: &[TraceEntry],
    tail_ms: usize,
) -> Replay {
    let per_packet = rate as usize / 1000 * packet_ms;
    let packets: Vec<Vec<u8>> = signal.chunks(per_packet).map(L16Decoder::encode).collect();
    replay(
        neteq,
        rate,
        &packets,
        per_packet as u32,
        96,
        trace,
        signal.len() / (rate as usize / 100) + tail_ms / 10,
    )
}

/// Replays already-encoded `packets` (timestamps `i * ts_step`).
pub fn replay(
    neteq: &mut NetEq,
    rate: u32,
    packets: &[Vec<u8>],
    ts_step: u32,
    pt: u8,
    trace: &[TraceEntry],
    frames: usize,
) -> Replay {
    let frame = rate as usize / 100;
    let mut arrivals: Vec<(u64, usize)> = trace
        .iter()
        .filter(|e| (e.seq as usize) < packets.len())
        .filter_map(|e| {
            e.arrival_ms
                .map(|a| (((a * f64::from(rate)) / 1000.0) as u64, e.seq as usize))
        })
        .collect();
    arrivals.sort();
    let mut next = 0;
    let mut out = Vec::with_capacity(frames * frame);
    let mut infos = Vec::with_capacity(frames);
    let mut buf = vec![0i16; frame];
    for _ in 0..frames {
        let now = neteq.playout_clock();
        while next < arrivals.len() && arrivals[next].0 <= now + frame as u64 {
            let (at, i) = arrivals[next];
            let ts = (i as u32).wrapping_mul(ts_step);
            neteq
                .insert_packet(ts, i as u16, pt, &packets[i], at)
                .unwrap();
            next += 1;
        }
        infos.push(neteq.get_audio(&mut buf).unwrap());
        out.extend_from_slice(&buf);
    }
    Replay {
        output: out,
        frames: infos,
    }
}

/// A perfect network: packet i sent at i * packet_ms, arriving `delay_ms` later.
pub fn clean_trace(packets: usize, packet_ms: f64, delay_ms: f64) -> Vec<TraceEntry> {
    (0..packets)
        .map(|i| TraceEntry {
            seq: i as u32,
            arrival_ms: Some(i as f64 * packet_ms + delay_ms),
        })
        .collect()
}

/// RMS of a slice.
pub fn rms(x: &[i16]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
}

/// Lag (0..max_lag) at which `out[lag..]` best matches `reference` (normalized cross-correlation).
pub fn best_alignment(
    reference: &[i16],
    out: &[i16],
    max_lag: usize,
    window: std::ops::Range<usize>,
) -> usize {
    let mut best = (0, f64::MIN);
    for lag in 0..max_lag {
        let (mut xy, mut yy) = (0.0, 1e-9);
        for i in window.clone() {
            let (Some(&x), Some(&y)) = (reference.get(i), out.get(i + lag)) else {
                break;
            };
            xy += f64::from(x) * f64::from(y);
            yy += f64::from(y) * f64::from(y);
        }
        let c = xy / yy.sqrt();
        if c > best.1 {
            best = (lag, c);
        }
    }
    best.0
}

/// Segmental SNR in dB (20 ms segments, each clamped to [-10, 35] dB, silent reference segments
/// skipped), comparing `out` to `reference` sample for sample.
pub fn segmental_snr(reference: &[i16], out: &[i16], seg: usize) -> f64 {
    let mut sum = 0.0;
    let mut count = 0;
    for (r, o) in reference.chunks(seg).zip(out.chunks(seg)) {
        let sig: f64 = r.iter().map(|&v| f64::from(v).powi(2)).sum();
        if sig / (r.len() as f64) < 100.0 * 100.0 {
            continue;
        }
        let err: f64 = r
            .iter()
            .zip(o)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        let snr = 10.0 * (sig / err.max(1e-9)).log10();
        sum += snr.clamp(-10.0, 35.0);
        count += 1;
    }
    if count == 0 { 0.0 } else { sum / count as f64 }
}
