//! The NetEq state machine: packets in, 10 ms frames out.

use std::collections::BTreeMap;

use crate::config::NetEqConfig;
use crate::decision::{DecisionInput, NextPacket, Operation, decide, thresholds};
use crate::decoder::{Decoder, PayloadKind};
use crate::delay_manager::DelayManager;
use crate::dsp::background::BackgroundNoise;
use crate::dsp::expand::Expander;
use crate::dsp::time_stretch::{self, StretchParams};
use crate::dsp::{Rng, rms};
use crate::error::NetEqError;
use crate::packet_buffer::{Inserted, Packet, PacketBuffer, PacketKind};
use crate::stats::NetEqStats;

/// What `insert_packet` did with an accepted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InsertOutcome {
    /// Buffered for playout.
    Buffered,
    /// The buffer was full and was flushed first (this many packets dropped).
    BufferedAfterFlush {
        /// Packets dropped.
        flushed: usize,
    },
    /// A timestamp jump or clock-rate change: the buffer was flushed and playout restarts here.
    StreamRestarted,
    /// A different speech payload type: the new decoder was reset (the old codec's packets
    /// still buffered play out first).
    CodecSwitched,
    /// Same timestamp already buffered; dropped.
    Duplicate,
    /// Its playout time has passed; dropped (counted in `packets_discarded`).
    TooLate,
}

/// What kind of audio a frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpeechType {
    /// Decoded audio (possibly time-stretched or merged).
    Normal,
    /// Packet-loss concealment.
    Concealed,
    /// Comfort noise during DTX.
    ComfortNoise,
    /// Silence before the first packet.
    Silence,
}

/// Description of one 10 ms frame returned by [`NetEq::get_audio`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AudioFrameInfo {
    /// The operation that produced the frame.
    pub operation: Operation,
    /// What the audio is.
    pub speech_type: SpeechType,
    /// Samples written (always one 10 ms frame).
    pub samples: usize,
    /// Target buffer level, in samples.
    pub target_delay: usize,
    /// Buffer level after this frame, in samples: decoded audio not yet played plus the media
    /// span of the buffered packets (see [`NetEq::buffer_level`]).
    pub buffer_level: usize,
}

#[derive(Debug, Clone, Copy)]
struct StreamClock {
    last_rtp_ts: u32,
    last_ext: i64,
    clock_rate: u32,
}

/// Longest packet accepted, in milliseconds (Opus' maximum).
const MAX_PACKET_MS: usize = 120;
/// Audio kept for pitch analysis, in milliseconds.
const HISTORY_MS: usize = 60;
/// Cross-fade length of a merge, in milliseconds.
const MERGE_MS: usize = 5;
/// Shortest and longest pitch period searched (400 Hz .. 66 Hz).
const MIN_PITCH_US: usize = 2_500;
const MAX_PITCH_US: usize = 15_000;
/// Decoded packet timestamps remembered to recognise late duplicates.
const RECENTLY_PLAYED: usize = 64;
/// Quiet audio just played that makes a pause (where a stretch of any length is inaudible), and
/// the block over which quietness is measured, in milliseconds. Shorter quiet stretches are
/// mostly inside words (stop closures) or between words of one phrase, where a change of timing
/// is heard — and where PESQ's utterance alignment punishes it.
const PAUSE_MS: usize = 120;
const PAUSE_BLOCK_MS: usize = 5;
/// Most a pause is lengthened or shortened by in one operation, in milliseconds.
const MAX_PAUSE_STRETCH_MS: usize = 100;
/// Longest a wanted time stretch waits for a pause before it is done inside a word.
const MAX_STRETCH_DEFER_MS: usize = 1_000;
/// The same for an accelerate that is not urgent. Too much delay costs no audio, only latency,
/// while a period cut inside a word is heard (and punished hard by PESQ's alignment): it waits
/// for the next pause between phrases, a few seconds at most in speech.
const MAX_ACCELERATE_DEFER_MS: usize = 4_000;

/// A NetEq-class adaptive jitter buffer. Sample-clocked: the only clock is the number of samples
/// played, [`NetEq::playout_clock`], which is also the unit of packet arrival times.
pub struct NetEq {
    config: NetEqConfig,
    frame: usize,
    decoders: BTreeMap<u8, Box<dyn Decoder>>,
    buffer: PacketBuffer,
    delay: DelayManager,
    clock: Option<StreamClock>,
    speech_pt: Option<u8>,
    next_ts: Option<i64>,
    future: Vec<f32>,
    history: Vec<f32>,
    expander: Expander,
    expander_started: bool,
    codec_plc_active: bool,
    bg: BackgroundNoise,
    rng: Rng,
    expanded: usize,
    in_cn: bool,
    prev_op: Operation,
    since_stretch: usize,
    /// Media skipped (and the gap before it) during the current concealment.
    skipped: usize,
    /// Quiet samples played in a row (a pause in progress when long enough).
    quiet_played: usize,
    /// Decoded samples since a stretch was first wanted but deferred to a pause.
    stretch_deferred: usize,
    /// Timestamps of the last packets decoded, to tell a late packet from a late copy.
    recently_played: std::collections::VecDeque<i64>,
    filtered_level: f32,
    level_primed: bool,
    playout_clock: u64,
    started: bool,
    stats: NetEqStats,
    decoded: Vec<i16>,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for NetEq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetEq")
            .field("config", &self.config)
            .field("payload_types", &self.decoders.keys().collect::<Vec<_>>())
            .field("packets", &self.buffer.len())
            .field("next_ts", &self.next_ts)
            .field("playout_clock", &self.playout_clock)
            .finish_non_exhaustive()
    }
}

impl NetEq {
    /// A NetEq with no decoders registered.
    pub fn new(config: NetEqConfig) -> NetEq {
        let frame = config.sample_rate.samples_per_frame();
        let ms = config.sample_rate.samples_per_ms();
        NetEq {
            frame,
            decoders: BTreeMap::new(),
            buffer: PacketBuffer::new(config.max_packets),
            delay: DelayManager::new(ms, config.min_delay_ms, config.max_delay_ms),
            clock: None,
            speech_pt: None,
            next_ts: None,
            future: Vec::with_capacity(frame * 16),
            history: Vec::with_capacity(HISTORY_MS * ms),
            expander: Expander::new(frame),
            expander_started: false,
            codec_plc_active: false,
            bg: BackgroundNoise::new(),
            rng: Rng::new(config.seed),
            expanded: 0,
            in_cn: false,
            prev_op: Operation::Normal,
            since_stretch: 0,
            stretch_deferred: 0,
            quiet_played: 0,
            skipped: 0,
            recently_played: std::collections::VecDeque::with_capacity(RECENTLY_PLAYED),
            filtered_level: 0.0,
            level_primed: false,
            playout_clock: 0,
            started: false,
            stats: NetEqStats::default(),
            decoded: Vec::new(),
            scratch: Vec::new(),
            config,
        }
    }

    /// Registers `decoder` for RTP payload type `payload_type` (replacing any previous one).
    pub fn register_decoder(
        &mut self,
        payload_type: u8,
        decoder: Box<dyn Decoder>,
    ) -> Result<(), NetEqError> {
        if payload_type > 127 {
            return Err(NetEqError::InvalidPayloadType { payload_type });
        }
        if decoder.clock_rate() == 0 {
            return Err(NetEqError::InvalidClockRate);
        }
        let neteq_hz = self.config.sample_rate.hz();
        if decoder.sample_rate() != neteq_hz {
            return Err(NetEqError::SampleRateMismatch {
                decoder_hz: decoder.sample_rate(),
                neteq_hz,
            });
        }
        self.decoders.insert(payload_type, decoder);
        Ok(())
    }

    /// Removes the decoder of a payload type; its buffered packets are dropped when reached.
    pub fn remove_decoder(&mut self, payload_type: u8) {
        self.decoders.remove(&payload_type);
    }

    /// Samples played so far: the clock in which arrival times are given.
    pub fn playout_clock(&self) -> u64 {
        self.playout_clock
    }

    /// Current target buffer level, in samples.
    pub fn target_delay(&self) -> usize {
        self.delay.target()
    }

    /// Current buffer level, in samples: decoded audio not yet played plus the media span of
    /// the buffered packets (from the playout point to the end of the newest one, so a packet
    /// lost or still in flight inside that span does not lower it).
    pub fn buffer_level(&self) -> usize {
        self.packet_span() + self.future.len()
    }

    /// The level the decisions compare with the target: how long a packet as fast as the fastest
    /// of the last two seconds waits before it plays (the playout delay beyond the network's
    /// fastest transit), plus one packet — the buffer level such a packet would see on arrival.
    ///
    /// A fixed-delay buffer holds exactly this constant. The packets actually buffered swing
    /// with every early or late arrival (by the jitter's whole range), and a level measured on
    /// them sits below the target whenever recent packets were slower than the fastest: the
    /// decisions then stretch speech to chase the jitter. This one moves only when playout does
    /// (a concealment, a time stretch) or the fastest transit changes. Falls back to
    /// [`NetEq::buffer_level`] before there is a reference.
    fn delay_level(&self) -> usize {
        let (Some(next), Some(fastest)) = (self.next_ts, self.delay.fastest_transit()) else {
            return self.buffer_level();
        };
        // Media timestamp at the playout point (the next sample played).
        let playing = next.saturating_sub(self.future.len() as i64);
        let waited = (self.playout_clock as i64)
            .saturating_sub(playing)
            .saturating_sub(fastest);
        usize::try_from(waited).unwrap_or(0)
    }

    /// Media span buffered ahead of the playout point (see [`NetEq::buffer_level`]).
    fn packet_span(&self) -> usize {
        let from = self
            .next_ts
            .or_else(|| self.buffer.front().map(|p| p.ts))
            .unwrap_or(0);
        self.buffer.span_samples(from)
    }

    /// Packets in the buffer.
    pub fn packets_buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Cumulative statistics.
    pub fn stats(&self) -> &NetEqStats {
        &self.stats
    }

    /// Drops every buffered packet (decoded audio already queued still plays).
    pub fn flush(&mut self) {
        self.stats.packets_discarded += self.buffer.flush() as u64;
        self.stats.buffer_flushes += 1;
    }

    fn max_packet_samples(&self) -> usize {
        MAX_PACKET_MS * self.config.sample_rate.samples_per_ms()
    }

    fn to_samples(&self, ticks: i64, clock_rate: u32) -> i64 {
        let hz = i128::from(self.config.sample_rate.hz());
        let v = (i128::from(ticks) * hz).div_euclid(i128::from(clock_rate.max(1)));
        v.clamp(i128::from(i64::MIN / 4), i128::from(i64::MAX / 4)) as i64
    }

    /// Inserts one RTP packet. `arrival` is the arrival time in samples on the playout clock
    /// ([`NetEq::playout_clock`] when the packet arrived, or any clock ticking at the output rate).
    ///
    /// Malformed input returns an error and changes nothing; jitter-buffer outcomes (late,
    /// duplicate, flush) are reported as [`InsertOutcome`].
    pub fn insert_packet(
        &mut self,
        rtp_timestamp: u32,
        sequence_number: u16,
        payload_type: u8,
        payload: &[u8],
        arrival: u64,
    ) -> Result<InsertOutcome, NetEqError> {
        // Ordering and duplicate detection go by timestamp: two audio packets with one timestamp
        // carry the same media, whatever their sequence numbers (RTX/RED copies, replays).
        let _ = sequence_number;
        // RFC 3550 §5.1: PT is a 7-bit field.
        if payload_type > 127 {
            return Err(NetEqError::InvalidPayloadType { payload_type });
        }
        if payload.is_empty() {
            return Err(NetEqError::EmptyPayload);
        }
        if payload.len() > self.config.max_payload_bytes {
            return Err(NetEqError::PayloadTooLarge {
                len: payload.len(),
                max: self.config.max_payload_bytes,
            });
        }
        let max_packet = self.max_packet_samples();
        let decoder = self
            .decoders
            .get(&payload_type)
            .ok_or(NetEqError::UnknownPayloadType { payload_type })?;
        let clock_rate = decoder.clock_rate();
        let (kind, duration) = match decoder.payload_kind(payload) {
            PayloadKind::ComfortNoise { level_dbov } => {
                (PacketKind::ComfortNoise { level_dbov }, 0)
            }
            PayloadKind::Speech => {
                let d = decoder
                    .packet_duration(payload)
                    .filter(|&d| d > 0 && d <= max_packet);
                (PacketKind::Primary, d.ok_or(NetEqError::InvalidDuration)?)
            }
        };
        let has_fec = kind == PacketKind::Primary && decoder.has_fec(payload);

        // RFC 3550 §5.1: timestamps wrap; unwrap against the newest timestamp seen (a jump of
        // 2^31 or more either way is ambiguous and treated as a restart below).
        let mut restart = true;
        let mut ext = i64::from(rtp_timestamp);
        if let Some(c) = self.clock.filter(|c| c.clock_rate == clock_rate) {
            let delta = i64::from(rtp_timestamp.wrapping_sub(c.last_rtp_ts) as i32);
            ext = c.last_ext + delta;
            restart = false;
        }
        let mut ts = self.to_samples(ext, clock_rate);
        let max_jump = i64::from(self.config.max_timestamp_jump_ms)
            * self.config.sample_rate.samples_per_ms() as i64;
        if let (false, Some(next)) = (restart, self.next_ts)
            && (ts - next).abs() > max_jump
        {
            restart = true;
        }
        let codec_switch =
            kind == PacketKind::Primary && self.speech_pt.is_some_and(|pt| pt != payload_type);

        // Late: its whole duration is already behind the playout point.
        if !restart
            && !codec_switch
            && kind != PacketKind::Fec
            && let Some(next) = self.next_ts
        {
            let end = ts.saturating_add(duration as i64);
            let late = if duration == 0 {
                ts < next
            } else {
                end <= next
            };
            if late && !self.in_cn {
                self.stats.packets_discarded += 1;
                // Too late to play, but its lateness is exactly what the target delay must learn
                // (libwebrtc's delay manager also sees every arriving packet).
                // A copy of a packet already played teaches nothing: skip those.
                if kind == PacketKind::Primary && !self.recently_played.contains(&ts) {
                    self.delay.update(ts, arrival, duration);
                }
                return Ok(InsertOutcome::TooLate);
            }
        }

        let mut outcome = InsertOutcome::Buffered;
        if restart && self.clock.is_some() {
            self.stats.packets_discarded += self.buffer.flush() as u64;
            self.stats.buffer_flushes += 1;
            self.next_ts = None;
            self.level_primed = false;
            self.delay.reset_reference();
            ext = i64::from(rtp_timestamp);
            ts = self.to_samples(ext, clock_rate);
            outcome = InsertOutcome::StreamRestarted;
        } else if codec_switch {
            // A new speech codec starts from a clean decoder state. libwebrtc also flushes what
            // the old codec left in the buffer; here every packet is decoded by its own payload
            // type's decoder, so those packets still play and a switch costs no audio (with a
            // buffer holding any delay, a flush would drop the media up to the switch).
            if let Some(d) = self.decoders.get_mut(&payload_type) {
                d.reset();
            }
            outcome = InsertOutcome::CodecSwitched;
        }

        let packet = Packet {
            ts,
            payload_type,
            payload: payload.to_vec(),
            duration,
            arrival,
            kind,
        };
        match self.buffer.insert(packet) {
            Inserted::Duplicate => {
                self.stats.duplicate_packets += 1;
                return Ok(InsertOutcome::Duplicate);
            }
            Inserted::Flushed(n) => {
                self.stats.packets_discarded += n as u64;
                self.stats.buffer_flushes += 1;
                if outcome == InsertOutcome::Buffered {
                    outcome = InsertOutcome::BufferedAfterFlush { flushed: n };
                }
            }
            Inserted::New | Inserted::ReplacedFec => {}
        }
        self.stats.packets_received += 1;

        // Accepted: now move the stream state.
        match &mut self.clock {
            Some(c) if !restart => {
                if ext > c.last_ext {
                    c.last_ext = ext;
                    c.last_rtp_ts = rtp_timestamp;
                }
            }
            _ => {
                self.clock = Some(StreamClock {
                    last_rtp_ts: rtp_timestamp,
                    last_ext: ext,
                    clock_rate,
                })
            }
        }
        if kind == PacketKind::Primary {
            self.speech_pt = Some(payload_type);
            self.delay.update(ts, arrival, duration);
            // In-band FEC describes the previous packet: buffer it there at lower priority, unless
            // that time has been played or the buffer has no room to spare.
            let fec_ts = ts - duration as i64;
            let playable = self.next_ts.is_none_or(|n| fec_ts >= n);
            if has_fec
                && playable
                && self.buffer.len() < self.config.max_packets
                && !self.buffer.contains_ts(fec_ts)
            {
                let fec = Packet {
                    ts: fec_ts,
                    payload_type,
                    payload: payload.to_vec(),
                    duration,
                    arrival,
                    kind: PacketKind::Fec,
                };
                self.buffer.insert(fec);
            }
        }
        Ok(outcome)
    }

    /// Produces the next 10 ms of audio into `out` (which must be exactly one frame long).
    pub fn get_audio(&mut self, out: &mut [i16]) -> Result<AudioFrameInfo, NetEqError> {
        if out.len() != self.frame {
            return Err(NetEqError::OutputSize {
                expected: self.frame,
                got: out.len(),
            });
        }
        let level = self.delay_level() as f32;
        // Smooth the level over roughly half a second to a second (longer for higher targets, as
        // libwebrtc's buffer level filter): arrival jitter moves the instantaneous level by whole
        // packets every few frames, and stretching on each swing costs far more quality than the
        // delay it saves. Stretched samples are taken off the filtered level where they happen.
        let target_ms = self.delay.target() / self.config.sample_rate.samples_per_ms();
        let keep = match target_ms {
            0..=20 => 251.0 / 256.0,
            21..=60 => 252.0 / 256.0,
            61..=140 => 253.0 / 256.0,
            _ => 254.0 / 256.0,
        };
        if !self.level_primed && self.next_ts.is_some() {
            // First packet in play: start from the real level, not from an empty buffer.
            self.filtered_level = level;
            self.level_primed = true;
        }
        self.filtered_level = keep * self.filtered_level + (1.0 - keep) * level;

        let mut first_op = None;
        let mut speech_type = SpeechType::Normal;
        let mut steps = 0;
        while self.future.len() < self.frame && steps < 8 {
            steps += 1;
            let (op, st) = self.step();
            if first_op.is_none() {
                first_op = Some(op);
                speech_type = st;
            }
        }
        if self.future.len() < self.frame {
            // Only reachable if every step failed to produce audio (e.g. decoders that return
            // nothing): conceal the rest so output stays continuous.
            let n = self.frame - self.future.len();
            self.conceal(n);
        }
        let op = first_op.unwrap_or(Operation::Normal);
        let quiet = self
            .future
            .get(..self.frame)
            .is_some_and(|f| rms(f) < self.passive_rms());
        self.quiet_played = if quiet {
            self.quiet_played.saturating_add(self.frame)
        } else {
            0
        };
        for (o, s) in out.iter_mut().zip(self.future.drain(..self.frame)) {
            *o = if s.is_finite() {
                s.clamp(-32768.0, 32767.0) as i16
            } else {
                0
            };
            self.history.push(if s.is_finite() { s } else { 0.0 });
        }
        let keep = HISTORY_MS * self.config.sample_rate.samples_per_ms();
        if self.history.len() > keep {
            let cut = self.history.len() - keep;
            self.history.drain(..cut);
        }
        self.playout_clock += self.frame as u64;
        self.since_stretch = self.since_stretch.saturating_add(self.frame);
        if speech_type != SpeechType::Silence {
            self.stats.total_samples_received += self.frame as u64;
            let c = &mut self.stats.operations;
            match op {
                Operation::Normal => c.normal += 1,
                Operation::Expand => c.expand += 1,
                Operation::Merge => c.merge += 1,
                Operation::Accelerate => c.accelerate += 1,
                Operation::FastAccelerate => c.fast_accelerate += 1,
                Operation::PreemptiveExpand => c.preemptive_expand += 1,
                Operation::ComfortNoise => c.comfort_noise += 1,
            }
        }
        Ok(AudioFrameInfo {
            operation: op,
            speech_type,
            samples: self.frame,
            target_delay: self.delay.target(),
            buffer_level: self.buffer_level(),
        })
    }

    /// One decision and its operation; appends audio to `future`.
    fn step(&mut self) -> (Operation, SpeechType) {
        let next_ts = match (self.next_ts, self.buffer.front()) {
            (Some(n), _) => n,
            (None, Some(p)) => {
                self.started = true;
                p.ts
            }
            (None, None) => {
                let need = self.frame - self.future.len();
                if self.started {
                    // After a stream restart with nothing buffered yet: keep concealing.
                    self.conceal(need);
                    return (Operation::Expand, SpeechType::Concealed);
                }
                self.future.extend(std::iter::repeat_n(0.0, need));
                return (Operation::Expand, SpeechType::Silence);
            }
        };
        self.next_ts = Some(next_ts);
        if self.in_cn {
            // Leaving DTX: comfort noise advanced the clock past a speech packet. Play it anyway.
            if let Some(p) = self
                .buffer
                .front()
                .filter(|p| p.kind == PacketKind::Primary && p.ts < next_ts)
            {
                self.next_ts = Some(p.ts);
            }
        } else {
            let dropped = self.buffer.discard_before(next_ts);
            self.stats.packets_discarded += dropped as u64;
        }
        let next_ts = self.next_ts.unwrap_or(next_ts);
        let next = self.buffer.front().map(|p| NextPacket {
            offset: p.ts - next_ts,
            comfort_noise: matches!(p.kind, PacketKind::ComfortNoise { .. }),
        });
        let input = DecisionInput {
            next,
            level: self.filtered_level as usize,
            current: self.delay_level(),
            packet_level: self.buffer.buffered_samples(),
            target: self.delay.target(),
            prev: self.prev_op,
            // Concealment the skipped media already accounts for does not count again.
            expanded: if self.expanded > 0 {
                self.expanded.saturating_sub(self.skipped).max(1)
            } else {
                0
            },
            in_comfort_noise: self.in_cn,
            since_stretch: self.since_stretch,
            frame: self.frame,
            time_stretch: self.config.enable_time_stretch,
        };
        let op = decide(&input);
        let (done, speech_type) = match op {
            Operation::Expand => {
                let need = self.frame.saturating_sub(self.future.len()).max(1);
                self.conceal(need);
                (Operation::Expand, SpeechType::Concealed)
            }
            Operation::ComfortNoise => {
                self.comfort_noise(next_ts);
                (Operation::ComfortNoise, SpeechType::ComfortNoise)
            }
            _ => match self.decode(op) {
                Operation::Expand => (Operation::Expand, SpeechType::Concealed),
                done => (done, SpeechType::Normal),
            },
        };
        self.prev_op = done;
        (done, speech_type)
    }

    fn pitch_range(&self) -> (usize, usize) {
        let hz = self.config.sample_rate.hz() as usize;
        (MIN_PITCH_US * hz / 1_000_000, MAX_PITCH_US * hz / 1_000_000)
    }

    /// Conceals `n` samples: the codec's PLC if it has one, else pitch-repeating expansion.
    fn conceal(&mut self, n: usize) {
        let starting = self.expanded == 0;
        if starting {
            self.stats.concealment_events += 1;
            self.expander_started = false;
            self.codec_plc_active = false;
        }
        let before = self.future.len();
        let mut silent = 0;
        let mut done = false;
        if self.config.enable_codec_plc
            && (starting || self.codec_plc_active)
            && let Some(d) = self
                .speech_pt
                .and_then(|pt| self.decoders.get_mut(&pt))
                .filter(|d| d.has_plc())
        {
            self.decoded.clear();
            if d.conceal(n, &mut self.decoded).is_ok() && !self.decoded.is_empty() {
                self.future
                    .extend(self.decoded.iter().map(|&s| f32::from(s)));
                let tail = self.future.get(before..).unwrap_or(&[]);
                if rms(tail) < self.bg.level().max(1.0) * 1.5 {
                    silent = tail.len();
                }
                self.codec_plc_active = true;
                done = true;
            }
        }
        if !done {
            self.codec_plc_active = false;
            if !self.expander_started {
                let (min_lag, max_lag) = self.pitch_range();
                // Concealment continues from what was played and what is queued.
                self.scratch.clear();
                self.scratch.extend_from_slice(&self.history);
                self.scratch.extend_from_slice(&self.future);
                self.expander.start(&self.scratch, min_lag, max_lag);
                self.expander_started = true;
            }
            silent = self
                .expander
                .generate(n, &self.bg, &mut self.rng, &mut self.future);
        }
        let produced = self.future.len() - before;
        self.expanded += produced;
        self.stats.concealed_samples += produced as u64;
        self.stats.silent_concealed_samples += silent as u64;
    }

    fn comfort_noise(&mut self, next_ts: i64) {
        if let Some(p) = self.buffer.front()
            && let (PacketKind::ComfortNoise { level_dbov }, true) = (p.kind, p.ts <= next_ts)
        {
            if let Some(db) = level_dbov {
                self.bg.set_dbov(db);
            }
            self.buffer.pop_front();
        }
        self.in_cn = true;
        self.expanded = 0;
        let need = self.frame.saturating_sub(self.future.len()).max(1);
        self.bg.generate(&mut self.rng, need, &mut self.future);
        // Comfort noise stands for the sender's silence: the media clock moves on.
        self.next_ts = Some(next_ts + need as i64);
    }

    /// Decodes the next packet and applies `op` (normal, merge or a time stretch). Returns the
    /// operation actually performed.
    fn decode(&mut self, op: Operation) -> Operation {
        if op == Operation::Merge && self.skip_concealed_media() {
            // Playout resumes on the old timeline at a packet still in flight (the backlog of a
            // stall arrives over a few ticks): keep concealing until it is here.
            let need = self.frame.saturating_sub(self.future.len()).max(1);
            self.conceal(need);
            return Operation::Expand;
        }
        let Some(p) = self.buffer.pop_front() else {
            return Operation::Normal;
        };
        self.decoded.clear();
        let result = match self.decoders.get_mut(&p.payload_type) {
            Some(d) => match p.kind {
                PacketKind::Primary => d.decode(&p.payload, &mut self.decoded),
                PacketKind::Fec => d.decode_fec(&p.payload, p.duration, &mut self.decoded),
                PacketKind::ComfortNoise { .. } => Ok(0),
            },
            None => Ok(0),
        };
        let max = self.max_packet_samples();
        self.decoded.truncate(max);
        if result.is_err() || self.decoded.is_empty() {
            // Treat as lost: the gap it leaves is concealed by the next decision.
            self.stats.decode_errors += u64::from(result.is_err());
            return Operation::Normal;
        }
        if p.kind == PacketKind::Fec {
            self.stats.fec_recovered_packets += 1;
        }
        if self.recently_played.len() == RECENTLY_PLAYED {
            self.recently_played.pop_front();
        }
        self.recently_played.push_back(p.ts);
        let n = self.decoded.len();
        self.next_ts = Some(p.ts + n as i64);
        let start = self.future.len();

        // W3C jitterBufferDelay: each sample waits from the packet's arrival until it is played;
        // sample i of this block plays at clock + start + i.
        let rate = f64::from(self.config.sample_rate.hz());
        let first = (self.playout_clock + start as u64).saturating_sub(p.arrival) as f64;
        let nf = n as f64;
        self.stats.jitter_buffer_delay += (nf * first + nf * (nf - 1.0) / 2.0) / rate;
        self.stats.jitter_buffer_target_delay += nf * self.delay.target() as f64 / rate;
        self.stats.jitter_buffer_emitted_count += n as u64;

        self.future
            .extend(self.decoded.iter().map(|&s| f32::from(s)));
        for chunk in self.decoded.chunks(self.frame) {
            if chunk.len() == self.frame {
                self.scratch.clear();
                self.scratch.extend(chunk.iter().map(|&s| f32::from(s)));
                self.bg.update(&self.scratch);
            }
        }

        let mut performed = op;
        if op == Operation::Merge {
            if self.expanded > 0 && self.expander_started && !self.codec_plc_active {
                // Cross-fade from the continuing concealment into the new audio.
                let m = (MERGE_MS * self.config.sample_rate.samples_per_ms()).min(n);
                self.scratch.clear();
                self.expander
                    .generate(m, &self.bg, &mut self.rng, &mut self.scratch);
                for (i, (y, e)) in self
                    .future
                    .iter_mut()
                    .skip(start)
                    .zip(&self.scratch)
                    .enumerate()
                {
                    let w = (i + 1) as f32 / (m + 1) as f32;
                    *y = e * (1.0 - w) + *y * w;
                }
            }
        } else if matches!(
            op,
            Operation::Accelerate | Operation::FastAccelerate | Operation::PreemptiveExpand
        ) {
            performed = self.time_stretch(op, n);
        } else {
            // The level is back within bounds: nothing is owed any more.
            self.stretch_deferred = 0;
        }
        self.expanded = 0;
        self.skipped = 0;
        self.expander_started = false;
        self.codec_plc_active = false;
        self.in_cn = false;
        performed
    }

    /// Resuming after a concealment: drops the buffered media the concealment stood in for, as
    /// far as the buffer is above its target.
    ///
    /// A concealment that lasts longer than the gap in the media (a stall: nothing arrives for a
    /// few hundred milliseconds, then everything at once) shifts the whole rest of the talk later
    /// by the excess. Playing the backlog keeps every word but leaves the buffer that much above
    /// its target, and the excess then has to be cut out again period by period with accelerate,
    /// inside words when no pause comes: two time warps and a longer delay for one stall. Skipping
    /// the media that was concealed instead resumes on the timeline the stream had before the
    /// stall, as a fixed-delay buffer does, with one cut placed where the listener already hears
    /// concealment (and the codec's own PLC-to-decode transition smooths it). Only whole packets
    /// are skipped, never more than the concealment beyond the gap, and never below the target:
    /// a concealment that builds delay the network needs keeps it. The playout point moves to the
    /// old timeline even when the packet there is still in flight (the backlog of a stall comes
    /// over a few ticks, out of order): the concealment then goes on until it arrives. Returns
    /// whether it did (the packet to resume on is not here yet).
    fn skip_concealed_media(&mut self) -> bool {
        let (Some(next_ts), Some(front)) = (self.next_ts, self.buffer.front()) else {
            return false;
        };
        let (start, duration) = (front.ts, front.duration);
        if duration == 0 || matches!(front.kind, PacketKind::ComfortNoise { .. }) {
            return false;
        }
        let gap = usize::try_from(start.saturating_sub(next_ts)).unwrap_or(0);
        let concealed = self.expanded.saturating_sub(self.skipped);
        let shifted = concealed.saturating_sub(gap);
        let excess = self.delay_level().saturating_sub(self.delay.target());
        // Whole packets of media from the front one; across holes too — the backlog of a stall
        // arrives over a few ticks, and stopping at the first hole would leave the rest of the
        // excess to accelerate out of the speech that follows.
        let skip = shifted.min(excess) / duration * duration;
        let resume = start.saturating_add(skip as i64);
        let newest_end = self.buffer.span_samples(resume);
        if skip == 0 || newest_end == 0 {
            return false;
        }
        self.stats.packets_discarded += self.buffer.discard_before(resume) as u64;
        self.next_ts = Some(resume);
        let moved = gap + skip;
        self.skipped = self.skipped.saturating_add(moved);
        self.filtered_level = (self.filtered_level - moved as f32).max(0.0);
        self.buffer.front().is_none_or(|p| p.ts > resume)
    }

    /// Audio under this RMS is passive: silence or background noise, no speech.
    fn passive_rms(&self) -> f32 {
        (2.0 * self.bg.level()).max(50.0)
    }

    fn time_stretch(&mut self, op: Operation, decoded: usize) -> Operation {
        let (min_lag, max_lag) = self.pitch_range();
        let target = self.delay.target();
        let (low, high) = thresholds(target, self.frame);
        let level = self.filtered_level as usize;
        // Stretch inside words only when it cannot wait: far from the target, or no pause came
        // for a while. Otherwise wait for a pause (passive audio), where the change is inaudible.
        let urgent = match op {
            Operation::PreemptiveExpand => level < low / 2,
            Operation::FastAccelerate => true,
            _ => level >= high + target / 2,
        };
        let max_defer = if op == Operation::PreemptiveExpand {
            MAX_STRETCH_DEFER_MS
        } else {
            MAX_ACCELERATE_DEFER_MS
        } * self.config.sample_rate.samples_per_ms();
        let voiced_allowed = urgent || self.stretch_deferred >= max_defer;
        let params = StretchParams {
            min_lag,
            max_lag,
            threshold: 0.9,
            passive_rms: self.passive_rms(),
            voiced_allowed,
        };
        // In a pause (at least PAUSE_MS of quiet audio ahead), the change is inaudible however
        // large: lengthen or shorten the pause itself, up to the whole distance to the target,
        // rather than a pitch period per step. A deficit built or an excess removed in a pause is
        // one less stretch or concealment inside a word later.
        let ms = self.config.sample_rate.samples_per_ms();
        let quiet =
            time_stretch::passive_prefix(&self.future, PAUSE_BLOCK_MS * ms, params.passive_rms);
        if self.quiet_played >= PAUSE_MS * ms && quiet >= PAUSE_BLOCK_MS * ms {
            let current = self.delay_level();
            let n = if op == Operation::PreemptiveExpand {
                let n = target
                    .saturating_sub(level.max(current))
                    .min(MAX_PAUSE_STRETCH_MS * ms);
                let n = time_stretch::lengthen_pause(&mut self.future, quiet, n, &mut self.rng);
                self.stats.inserted_samples_for_deceleration += n as u64;
                self.filtered_level += n as f32;
                n
            } else {
                let n = level
                    .min(current)
                    .saturating_sub(target)
                    .min(MAX_PAUSE_STRETCH_MS * ms);
                let n = time_stretch::shorten_pause(&mut self.future, quiet, n, ms);
                self.stats.removed_samples_for_acceleration += n as u64;
                self.filtered_level = (self.filtered_level - n as f32).max(0.0);
                n
            };
            if n > 0 {
                self.stretch_deferred = 0;
                self.since_stretch = 0;
                return op;
            }
        }
        if !voiced_allowed {
            // Not urgent and not in a pause: a quiet stretch of a few milliseconds here is a
            // stop closure or the gap between two words of a phrase, where a change of timing
            // is heard. Wait for the pause.
            self.stretch_deferred = self.stretch_deferred.saturating_add(decoded);
            return Operation::Normal;
        }
        // In a word, one period (fast accelerate: until below the upper threshold).
        let max_steps = if voiced_allowed && op != Operation::FastAccelerate {
            1
        } else {
            4
        };
        let mut changed = 0usize;
        let mut at = 0;
        for _ in 0..max_steps {
            match op {
                Operation::PreemptiveExpand => {
                    let Some(n) = time_stretch::preemptive_expand(&mut self.future, at, &params)
                    else {
                        break;
                    };
                    self.stats.inserted_samples_for_deceleration += n as u64;
                    self.filtered_level += n as f32;
                    changed += n;
                    at += 2 * n;
                    if self.filtered_level as usize >= target {
                        break;
                    }
                }
                _ => {
                    let Some(n) = time_stretch::accelerate(&mut self.future, at, &params) else {
                        break;
                    };
                    self.stats.removed_samples_for_acceleration += n as u64;
                    self.filtered_level = (self.filtered_level - n as f32).max(0.0);
                    changed += n;
                    at += n;
                    let stop = if op == Operation::FastAccelerate {
                        high
                    } else {
                        target
                    };
                    if (self.filtered_level as usize) < stop {
                        break;
                    }
                }
            }
        }
        if changed == 0 {
            self.stretch_deferred = self.stretch_deferred.saturating_add(decoded);
            return Operation::Normal;
        }
        self.stretch_deferred = 0;
        self.since_stretch = 0;
        op
    }
}
