//! Receive side of one remote SSRC: extended sequence numbers (RFC 3550 A.1), loss
//! (A.3), jitter (A.8), duplicate detection, RR report blocks with LSR/DLSR, and the NACK
//! generator.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::NackConfig;
use crate::time::{duration_to_compact, rtp_ticks};
use crate::wire::rtcp::ReportBlock;

/// RFC 3550 A.1: a jump of more than this many sequence numbers is a restart or a
/// misbehaving source (checked twice before resynchronising).
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: packets up to this far behind are late, not a restart.
const MAX_MISORDER: u16 = 100;
/// Size of the duplicate-detection window (sequence numbers).
const DUP_WINDOW: u64 = 1024;

/// What [`ReceiveStream::on_packet`] decided about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// New packet with this extended sequence number.
    New(u64),
    /// Seen before (within the duplicate window).
    Duplicate,
    /// Too far from the expected sequence; RFC 3550 A.1 waits for a second sequential
    /// packet before resynchronising.
    BadSequence,
}

#[derive(Debug, Clone, Copy)]
struct NackEntry {
    detected: Instant,
    last_sent: Option<Instant>,
    retries: u8,
}

/// Statistics and NACK state for one remote media SSRC.
#[derive(Debug, Clone)]
pub struct ReceiveStream {
    /// The SSRC.
    pub ssrc: u32,
    clock_rate: u32,
    epoch: Instant,
    // RFC 3550 A.1 state
    started: bool,
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: Option<u16>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    // A.8 jitter (scaled by 16)
    jitter_q4: u32,
    last_transit: Option<i64>,
    last_timestamp: u32,
    // duplicates: bit i = ext seq (max - i) seen
    window: Vec<u64>,
    // LSR/DLSR
    last_sr: Option<(u32, Instant)>,
    /// Last SR's (NTP, RTP timestamp) pair, for lip sync.
    pub last_sr_times: Option<(u64, u32)>,
    // NACK
    nack: BTreeMap<u64, NackEntry>,
    nack_cfg: NackConfig,
    keyframe_needed: bool,
    /// New packets that arrived by retransmission (RTX), NACKed or not (a sender may also resend
    /// packets as padding): W3C `retransmittedPacketsReceived`, a subset of `received`.
    pub recovered: u64,
    /// Bytes of payload received.
    pub bytes: u64,
}

impl ReceiveStream {
    /// A stream for `ssrc` whose timestamps run at `clock_rate` Hz.
    pub fn new(ssrc: u32, clock_rate: u32, nack_cfg: NackConfig, epoch: Instant) -> Self {
        ReceiveStream {
            ssrc,
            clock_rate: clock_rate.max(1),
            epoch,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter_q4: 0,
            last_transit: None,
            last_timestamp: 0,
            window: vec![0; (DUP_WINDOW / 64) as usize],
            last_sr: None,
            last_sr_times: None,
            nack: BTreeMap::new(),
            nack_cfg,
            keyframe_needed: false,
            recovered: 0,
            bytes: 0,
        }
    }

    fn ext_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    fn init(&mut self, seq: u16) {
        self.started = true;
        self.max_seq = seq;
        self.cycles = 1 << 16; // keeps ext seq of late packets positive
        self.base_seq = self.ext_max();
        self.bad_seq = None;
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.window.fill(0);
        self.nack.clear();
    }

    fn window_bit(&mut self, ext: u64) -> Option<(usize, u64)> {
        let max = self.ext_max();
        let back = max.checked_sub(ext)?;
        if back >= DUP_WINDOW {
            return None;
        }
        Some(((back / 64) as usize, 1u64 << (back % 64)))
    }

    fn shift_window(&mut self, by: u64) {
        if by >= DUP_WINDOW {
            self.window.fill(0);
            return;
        }
        // window[0] bit 0 is the newest; shifting moves older bits toward the end.
        let words = (by / 64) as usize;
        let bits = (by % 64) as u32;
        let n = self.window.len();
        for i in (0..n).rev() {
            let src = i.checked_sub(words);
            let hi = src.and_then(|s| self.window.get(s)).copied().unwrap_or(0);
            let lo = src
                .and_then(|s| s.checked_sub(1))
                .and_then(|s| self.window.get(s))
                .copied()
                .unwrap_or(0);
            let v = if bits == 0 {
                hi
            } else {
                (hi << bits) | (lo >> (64 - bits))
            };
            if let Some(w) = self.window.get_mut(i) {
                *w = v;
            }
        }
    }

    /// Account for an arriving packet. `retransmission` marks packets recovered via RTX
    /// (excluded from jitter). A rejected packet (duplicate, bad sequence) changes no
    /// statistics.
    pub fn on_packet(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        payload_len: usize,
        retransmission: bool,
    ) -> Arrival {
        if !self.started {
            self.init(seq);
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta == 0 {
                return Arrival::Duplicate;
            } else if delta < MAX_DROPOUT {
                // RFC 3550 A.1: in order, with permissible gap; a wrap adds a cycle.
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                let old = self.ext_max();
                self.max_seq = seq;
                self.shift_window(u64::from(delta));
                self.add_missing(now, old + 1, self.ext_max());
            } else if delta <= u16::MAX - MAX_MISORDER {
                // RFC 3550 A.1: the sequence number made a very large jump; resync only
                // if the next packet follows this one.
                if self.bad_seq == Some(seq) {
                    self.init(seq);
                } else {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    return Arrival::BadSequence;
                }
            } else {
                // duplicate or reordered packet
                let back = u64::from(self.max_seq.wrapping_sub(seq));
                let ext = self.ext_max().saturating_sub(back);
                if ext < self.base_seq {
                    // older than the first packet we saw: move the base back
                    if self.base_seq - ext >= DUP_WINDOW {
                        return Arrival::Duplicate;
                    }
                    self.base_seq = ext;
                }
                if let Some((w, bit)) = self.window_bit(ext) {
                    if self.window.get(w).is_some_and(|v| v & bit != 0) {
                        return Arrival::Duplicate;
                    }
                } else {
                    return Arrival::Duplicate;
                }
            }
        }
        let ext = self
            .ext_max()
            .saturating_sub(u64::from(self.max_seq.wrapping_sub(seq)));
        if let Some((w, bit)) = self.window_bit(ext)
            && let Some(v) = self.window.get_mut(w)
        {
            *v |= bit;
        }
        self.received += 1;
        self.bytes += payload_len as u64;
        self.nack.remove(&ext);
        if retransmission {
            self.recovered += 1;
        }
        if !retransmission && ext == self.ext_max() {
            self.update_jitter(now, timestamp);
        }
        Arrival::New(ext)
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        // RFC 3550 A.8: transit = arrival (RTP units) - timestamp; J += (|D| - J) / 16.
        let arrival = rtp_ticks(now.saturating_duration_since(self.epoch), self.clock_rate);
        let transit = i64::from(arrival.wrapping_sub(timestamp) as i32);
        if let Some(last) = self.last_transit
            && timestamp != self.last_timestamp
        {
            let d = (transit - last)
                .unsigned_abs()
                .min(u64::from(u32::MAX >> 4)) as u32;
            // fixed-point form of A.8: jitter_q4 += d - ((jitter_q4 + 8) >> 4)
            self.jitter_q4 = self
                .jitter_q4
                .wrapping_add(d)
                .wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
        self.last_timestamp = timestamp;
    }

    fn add_missing(&mut self, now: Instant, from: u64, to_exclusive: u64) {
        if !self.nack_cfg.enabled || from >= to_exclusive {
            return;
        }
        let gap = to_exclusive - from;
        if self.nack.len() as u64 + gap > self.nack_cfg.max_list as u64 {
            // The NACK list would overflow: retransmission cannot repair this in time, ask
            // for a keyframe instead (libwebrtc nack_requester does the same).
            self.nack.clear();
            self.keyframe_needed = true;
            return;
        }
        for e in from..to_exclusive {
            self.nack.insert(
                e,
                NackEntry {
                    detected: now,
                    last_sent: None,
                    retries: 0,
                },
            );
        }
    }

    /// Sequence numbers to NACK now; `rtt` spaces retries of the same packet.
    pub fn poll_nack(&mut self, now: Instant, rtt: Duration) -> Vec<u16> {
        let cfg = self.nack_cfg;
        let spacing = rtt.max(cfg.min_retry_interval);
        let mut out = Vec::new();
        self.nack.retain(|_, e| {
            e.retries < cfg.max_retries && now.saturating_duration_since(e.detected) < cfg.max_age
        });
        for (ext, e) in self.nack.iter_mut() {
            let due = match e.last_sent {
                None => now.saturating_duration_since(e.detected) >= cfg.reorder_delay,
                Some(t) => now.saturating_duration_since(t) >= spacing,
            };
            if due {
                e.last_sent = Some(now);
                e.retries += 1;
                out.push(*ext as u16);
            }
        }
        out
    }

    /// When the NACK generator next has something to do.
    pub fn nack_timeout(&self, rtt: Duration) -> Option<Instant> {
        let spacing = rtt.max(self.nack_cfg.min_retry_interval);
        self.nack
            .values()
            .map(|e| match e.last_sent {
                None => e.detected + self.nack_cfg.reorder_delay,
                Some(t) => t + spacing,
            })
            .min()
    }

    /// Number of packets currently being NACKed.
    pub fn nack_list_len(&self) -> usize {
        self.nack.len()
    }

    /// True once after the NACK list overflowed.
    pub fn take_keyframe_needed(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_needed)
    }

    /// Remember an SR from this source (for LSR/DLSR).
    pub fn on_sender_report(&mut self, now: Instant, ntp: u64, rtp: u32) {
        self.last_sr = Some((crate::time::compact(ntp), now));
        self.last_sr_times = Some((ntp, rtp));
    }

    /// Cumulative lost (RFC 3550 A.3), may be negative with duplicates.
    pub fn cumulative_lost(&self) -> i64 {
        // Before the first packet nothing is expected (ext_max() + 1 - base_seq would be 1).
        if !self.started {
            return 0;
        }
        let expected = self.ext_max() + 1 - self.base_seq;
        expected as i64 - self.received as i64
    }

    /// Interarrival jitter in RTP units.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Extended highest sequence number, as reported (cycles count from the first packet).
    pub fn extended_highest_seq(&self) -> u32 {
        (self.ext_max() - (1 << 16)) as u32
    }

    /// Packets received (new, not duplicates).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Build a report block and start a new reporting interval (RFC 3550 A.3).
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        if !self.started {
            return None;
        }
        let expected = self.ext_max() + 1 - self.base_seq;
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        // RFC 3550 §6.4.1: cumulative number of packets lost is a signed 24-bit value;
        // clamp rather than wrap.
        let cumulative_lost = self.cumulative_lost().clamp(-(1 << 23), (1 << 23) - 1) as i32;
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (lsr, duration_to_compact(now.saturating_duration_since(at))),
            // RFC 3550 §6.4.1: LSR and DLSR are zero if no SR has been received yet.
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> (ReceiveStream, Instant) {
        let t = crate::test_util::base();
        (ReceiveStream::new(1, 90_000, NackConfig::default(), t), t)
    }

    #[test]
    fn nothing_is_lost_before_the_first_packet() {
        let (mut s, t) = stream();
        assert_eq!(s.cumulative_lost(), 0);
        s.on_packet(t, 7, 0, 100, false);
        assert_eq!(s.cumulative_lost(), 0);
    }

    #[test]
    fn wrap_loss_and_duplicates() {
        let (mut s, t) = stream();
        let mut seqs: Vec<u16> = (65500..=65535).chain(0..100).collect();
        seqs.retain(|s| s % 10 != 3); // lose 14 packets
        for &q in &seqs {
            assert!(matches!(s.on_packet(t, q, 0, 100, false), Arrival::New(_)));
        }
        assert_eq!(s.on_packet(t, 50, 0, 100, false), Arrival::Duplicate);
        assert_eq!(s.on_packet(t, 99, 0, 100, false), Arrival::Duplicate);
        assert_eq!(s.cumulative_lost(), 136 - seqs.len() as i64);
        assert_eq!(s.extended_highest_seq(), (1 << 16) + 99);
        let rb = s.report_block(t).unwrap();
        assert_eq!(rb.cumulative_lost, 14);
        assert_eq!(rb.fraction_lost, (14 * 256 / 136) as u8);
        // late arrival of a lost packet: counted, removes it from loss
        assert!(matches!(s.on_packet(t, 3, 0, 100, true), Arrival::New(_)));
        assert_eq!(s.cumulative_lost(), 13);
    }

    #[test]
    fn big_jump_needs_two_sequential_packets() {
        let (mut s, t) = stream();
        s.on_packet(t, 10, 0, 1, false);
        assert_eq!(s.on_packet(t, 30_000, 0, 1, false), Arrival::BadSequence);
        assert_eq!(s.received(), 1);
        assert!(matches!(
            s.on_packet(t, 30_001, 0, 1, false),
            Arrival::New(_)
        ));
    }

    #[test]
    fn jitter_follows_a8() {
        let (mut s, t) = stream();
        // 20 ms frames (1800 ticks) arriving with alternating +-2 ms error
        for i in 0..200u32 {
            let err = if i % 2 == 0 { 0 } else { 4 };
            let at = t + Duration::from_millis(u64::from(i) * 20 + err);
            s.on_packet(at, i as u16, i * 1800, 100, false);
        }
        // |D| = 4 ms = 360 ticks each step, so J converges to 360
        assert!(
            (s.jitter() as i64 - 360).abs() < 10,
            "jitter {}",
            s.jitter()
        );
    }

    #[test]
    fn every_new_retransmitted_packet_counts_as_recovered_once() {
        let (mut s, t) = stream();
        s.on_packet(t, 1, 0, 1, false);
        s.on_packet(t, 4, 0, 1, false);
        // 2 arrives by RTX before any NACK went out (a sender's padding resends recent packets).
        assert!(matches!(s.on_packet(t, 2, 0, 1, true), Arrival::New(_)));
        assert_eq!(s.recovered, 1);
        assert_eq!(s.nack_list_len(), 1, "2 is no longer missing");
        // A second copy is a duplicate: not counted again.
        assert!(matches!(s.on_packet(t, 2, 0, 1, true), Arrival::Duplicate));
        // A retransmission of a packet that already arrived in order is a duplicate too.
        assert!(matches!(s.on_packet(t, 4, 0, 1, true), Arrival::Duplicate));
        assert_eq!(s.recovered, 1);
        // 3 arrives late on its own SSRC: received, not recovered.
        s.on_packet(t, 3, 0, 1, false);
        assert_eq!((s.recovered, s.nack_list_len()), (1, 0));
    }

    #[test]
    fn nack_retry_spacing_and_limit() {
        let (mut s, t) = stream();
        s.on_packet(t, 1, 0, 1, false);
        s.on_packet(t, 4, 0, 1, false);
        let rtt = Duration::from_millis(100);
        let d = NackConfig::default().reorder_delay;
        assert!(s.poll_nack(t, rtt).is_empty(), "waits for reordering");
        assert_eq!(s.poll_nack(t + d, rtt), vec![2, 3]);
        assert!(
            s.poll_nack(t + d + Duration::from_millis(50), rtt)
                .is_empty()
        );
        assert_eq!(s.poll_nack(t + d + rtt, rtt), vec![2, 3]);
        s.on_packet(t + rtt, 2, 0, 1, true);
        assert_eq!(s.poll_nack(t + d + 2 * rtt, rtt), vec![3]);
        assert_eq!(s.recovered, 1);
        let mut sent = 3;
        for k in 3..40 {
            sent += s.poll_nack(t + d + rtt * k, rtt).len();
        }
        assert!(sent <= 2 + usize::from(NackConfig::default().max_retries) * 2);
        assert_eq!(s.nack_list_len(), 0, "dropped after max retries or age");
    }

    #[test]
    fn nack_overflow_requests_keyframe() {
        let (mut s, t) = stream();
        s.on_packet(t, 0, 0, 1, false);
        s.on_packet(t, 2000, 0, 1, false);
        assert!(s.take_keyframe_needed());
        assert_eq!(s.nack_list_len(), 0);
        assert!(!s.take_keyframe_needed());
    }
}
