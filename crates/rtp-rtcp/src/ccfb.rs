//! RFC 8888 congestion control feedback: generation (receiver side, [`CcfbReceiver`]) and
//! matching to sent packets (sender side, [`CcfbSender`]).
//!
//! Per RTP SSRC the receiver remembers the arrival time of each sequence number (bounded
//! window) and, every reporting interval, describes the range received since the previous
//! report in one report block per SSRC: `begin_seq`, one metric block per sequence number
//! (received bit, ECN, arrival time offset before the report timestamp).
//!
//! Bounds: at most [`MAX_SSRCS`] SSRCs, a window of [`HISTORY`] sequence numbers per SSRC,
//! and at most [`MAX_RANGE`] reports per SSRC per reporting instant (a larger range is
//! capped to its newest [`MAX_RANGE`] sequence numbers; the older ones are never
//! reported). The reports due at one instant are split into as many RTCP packets as needed
//! so that each fits [`MAX_PACKET`] bytes.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::time::{NtpClock, SeqUnwrapper};
use crate::twcc::PacketResult;
use crate::wire::rtcp::{CcfbBlock, CcfbReport, CongestionControlFeedback};

/// SSRCs tracked at most; packets of further SSRCs are not reported.
pub const MAX_SSRCS: usize = 128;
/// Sequence numbers remembered per SSRC (the window within which a late packet can still
/// be reported as received in an overlapping report).
pub const HISTORY: u64 = 4096;
/// Reports per SSRC per reporting instant at most (RFC 8888 §3.1 allows up to 16384 per
/// block; a receiver seeing more than this in one interval should shorten the interval).
pub const MAX_RANGE: u64 = 2048;
/// Bytes of one generated RTCP CCFB packet at most, header included, leaving room in a
/// 1200-byte datagram for an RR and SDES when feedback travels in a compound packet.
pub const MAX_PACKET: usize = 1024;

/// Arrival time offset for "measurement over range" (RFC 8888 §3.1).
pub const ATO_OVER_RANGE: u16 = 0x1ffe;
/// Arrival time offset for "unavailable / after the report timestamp" (RFC 8888 §3.1).
pub const ATO_UNAVAILABLE: u16 = 0x1fff;

/// RTCP header (4) + sender SSRC (4) + report timestamp (4).
const PACKET_OVERHEAD: usize = 12;
/// media SSRC (4) + begin_seq (2) + num_reports (2).
const BLOCK_OVERHEAD: usize = 8;
/// Fewer free report slots than this in a packet: start a new one rather than a tiny block.
const MIN_CHUNK: usize = 16;

#[derive(Debug, Clone)]
struct SsrcState {
    unwrap: SeqUnwrapper,
    /// Arrival time per unwrapped sequence number, newest `HISTORY` at most.
    arrivals: BTreeMap<u64, Instant>,
    /// First sequence number not yet covered by a report.
    next_report: Option<u64>,
    /// Earliest late packet that arrived after its sequence number was reported (as lost).
    rewind: Option<u64>,
    /// Something arrived that the next report must describe.
    pending: bool,
    /// First arrival not yet reported (drives the first report's timing).
    pending_since: Option<Instant>,
}

impl SsrcState {
    fn new() -> Self {
        SsrcState {
            unwrap: SeqUnwrapper::default(),
            arrivals: BTreeMap::new(),
            next_report: None,
            rewind: None,
            pending: false,
            pending_since: None,
        }
    }

    fn newest(&self) -> Option<u64> {
        self.arrivals.keys().next_back().copied()
    }

    fn on_packet(&mut self, now: Instant, seq: u16) {
        let s = self.unwrap.unwrap(seq);
        let newest = self.newest().map_or(s, |n| n.max(s));
        if newest - s >= HISTORY {
            return; // older than the window: cannot be reported any more
        }
        if self.arrivals.contains_key(&s) {
            // RFC 8888 §3.1: for a duplicated packet the arrival time of the first copy is
            // reported.
            return;
        }
        self.arrivals.insert(s, now);
        // forget what fell out of the window (by sequence and by count)
        let floor = newest.saturating_sub(HISTORY - 1);
        while self
            .arrivals
            .first_key_value()
            .is_some_and(|(&k, _)| k < floor)
            || self.arrivals.len() as u64 > HISTORY
        {
            self.arrivals.pop_first();
        }
        if let Some(n) = self.next_report
            && s < n
        {
            // RFC 8888 §3.1: ranges of consecutive reports may overlap, which is needed when
            // packets are reordered across the boundary of two reports: the next report
            // starts early enough to cover this late packet.
            self.rewind = Some(self.rewind.map_or(s, |r| r.min(s)));
        }
        self.pending = true;
        self.pending_since.get_or_insert(now);
    }

    /// The range `[begin, end]` the next report covers, if any.
    fn range(&self) -> Option<(u64, u64)> {
        if !self.pending {
            return None;
        }
        let end = self.newest()?;
        let first = *self.arrivals.keys().next()?;
        let mut begin = self.next_report.unwrap_or(first).min(end);
        if let Some(r) = self.rewind {
            begin = begin.min(r);
        }
        // the window and the per-report cap: older sequence numbers are not reported
        begin = begin.max(end.saturating_sub(MAX_RANGE - 1));
        Some((begin, end))
    }
}

/// RFC 8888 feedback generator for all received SSRCs of a session.
#[derive(Debug, Clone)]
pub struct CcfbReceiver {
    interval: Duration,
    ssrcs: BTreeMap<u32, SsrcState>,
    last_report: Option<Instant>,
}

impl CcfbReceiver {
    /// Feedback at most every `interval`.
    pub fn new(interval: Duration) -> Self {
        CcfbReceiver {
            interval,
            ssrcs: BTreeMap::new(),
            last_report: None,
        }
    }

    /// Record the arrival of RTP packet `seq` of `ssrc` at `now` (duplicates keep the first
    /// arrival; packets of an SSRC beyond [`MAX_SSRCS`] are ignored).
    pub fn on_packet(&mut self, now: Instant, ssrc: u32, seq: u16) {
        if !self.ssrcs.contains_key(&ssrc) && self.ssrcs.len() >= MAX_SSRCS {
            return;
        }
        self.ssrcs
            .entry(ssrc)
            .or_insert_with(SsrcState::new)
            .on_packet(now, seq);
    }

    /// SSRCs tracked.
    pub fn tracked_ssrcs(&self) -> usize {
        self.ssrcs.len()
    }

    /// Arrivals remembered over all SSRCs.
    pub fn tracked_packets(&self) -> usize {
        self.ssrcs.values().map(|s| s.arrivals.len()).sum()
    }

    /// When feedback is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let first = self
            .ssrcs
            .values()
            .filter(|s| s.pending)
            .filter_map(|s| s.pending_since)
            .min()?;
        Some(match self.last_report {
            Some(t) => (t + self.interval).max(first),
            None => first,
        })
    }

    /// Build the feedback due at `now`: one report block per SSRC with new arrivals (split
    /// over several blocks and packets when it does not fit [`MAX_PACKET`]), all carrying
    /// the report timestamp of `now` from `clock`.
    pub fn poll_feedback(
        &mut self,
        now: Instant,
        clock: &NtpClock,
        sender_ssrc: u32,
    ) -> Vec<CongestionControlFeedback> {
        let mut out = Vec::new();
        if self.last_report.is_some_and(|t| now < t + self.interval)
            || !self.ssrcs.values().any(|s| s.pending)
        {
            return out;
        }
        self.last_report = Some(now);
        // RFC 8888 §3.1: the report timestamp is the middle 32 bits of the NTP time at which
        // the report is sent; arrival time offsets count back from it.
        let report_timestamp = clock.compact(now);
        let mut cur = CongestionControlFeedback {
            sender_ssrc,
            blocks: Vec::new(),
            report_timestamp,
        };
        let mut free = MAX_PACKET - PACKET_OVERHEAD;
        for (&ssrc, st) in self.ssrcs.iter_mut() {
            let Some((begin, end)) = st.range() else {
                continue;
            };
            let mut seq = begin;
            while seq <= end {
                // report slots that fit: each takes 2 bytes, the block is padded to 32 bits
                let mut slots = free.saturating_sub(BLOCK_OVERHEAD) / 4 * 2;
                if slots < MIN_CHUNK {
                    out.push(std::mem::replace(
                        &mut cur,
                        CongestionControlFeedback {
                            sender_ssrc,
                            blocks: Vec::new(),
                            report_timestamp,
                        },
                    ));
                    free = MAX_PACKET - PACKET_OVERHEAD;
                    slots = free.saturating_sub(BLOCK_OVERHEAD) / 4 * 2;
                }
                let last = end.min(seq + slots as u64 - 1);
                let reports: Vec<CcfbReport> = (seq..=last)
                    .map(|s| match st.arrivals.get(&s) {
                        Some(&at) => CcfbReport {
                            received: true,
                            // RFC 8888 §3.1: ECN is the received codepoint; this stack does not
                            // see the IP header, so it reports not-ECT (00).
                            ecn: 0,
                            arrival_time_offset: arrival_time_offset(now, at),
                        },
                        // RFC 8888 §3.1: for a packet not received, R = 0 and ECN and ATO
                        // are zero.
                        None => CcfbReport::default(),
                    })
                    .collect();
                free -= BLOCK_OVERHEAD + reports.len().div_ceil(2) * 4;
                cur.blocks.push(CcfbBlock {
                    media_ssrc: ssrc,
                    begin_seq: seq as u16,
                    reports,
                });
                seq = last + 1;
            }
            st.next_report = Some(st.next_report.map_or(end + 1, |n| n.max(end + 1)));
            st.rewind = None;
            st.pending = false;
            st.pending_since = None;
        }
        if !cur.blocks.is_empty() {
            out.push(cur);
        }
        out
    }
}

/// RFC 8888 §3.1: arrival time offset of a packet that arrived at `at` before a report sent
/// at `now`, in 1/1024 s; 0x1FFE when it exceeds 8189/1024 s, 0x1FFF when the arrival is
/// after the report.
pub fn arrival_time_offset(now: Instant, at: Instant) -> u16 {
    let Some(d) = now.checked_duration_since(at) else {
        return ATO_UNAVAILABLE;
    };
    let units = d.as_nanos() * 1024 / 1_000_000_000;
    u16::try_from(units)
        .ok()
        .filter(|&u| u < ATO_OVER_RANGE)
        .unwrap_or(ATO_OVER_RANGE)
}

/// Sent packets remembered per local SSRC for matching feedback.
pub const SEND_HISTORY: usize = 4096;
/// Local SSRCs whose sent packets are remembered.
pub const MAX_SEND_SSRCS: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Sent {
    /// Unwrapped RTP sequence number.
    seq: u64,
    /// Send order over all SSRCs (the estimator's packet order).
    order: u64,
    at: Instant,
    size: usize,
    probe: Option<u32>,
    acked: bool,
    reported_lost: bool,
}

#[derive(Debug, Clone, Default)]
struct SentStream {
    unwrap: SeqUnwrapper,
    history: VecDeque<Sent>,
}

/// Sender: remembers every RTP packet sent (media, RTX, padding, per SSRC and sequence
/// number) and matches RFC 8888 feedback to them, so probes on RTX count like with
/// transport-wide feedback.
#[derive(Debug, Clone, Default)]
pub struct CcfbSender {
    next: u64,
    streams: BTreeMap<u32, SentStream>,
}

impl CcfbSender {
    /// Record RTP packet `seq` of `ssrc`, `size` bytes, sent at `now` (part of probe cluster
    /// `probe`). A sequence number not newer than the last one recorded (a plain
    /// retransmission or a duplicate sent as a probe) is not recorded: the receiver reports
    /// the first arrival, which the first transmission is matched to.
    pub fn on_send(&mut self, now: Instant, ssrc: u32, seq: u16, size: usize, probe: Option<u32>) {
        if !self.streams.contains_key(&ssrc) && self.streams.len() >= MAX_SEND_SSRCS {
            return;
        }
        let st = self.streams.entry(ssrc).or_default();
        let s = st.unwrap.peek(seq);
        if st.history.back().is_some_and(|b| s <= b.seq) {
            return;
        }
        st.unwrap.unwrap(seq);
        if st.history.len() >= SEND_HISTORY {
            st.history.pop_front();
        }
        st.history.push_back(Sent {
            seq: s,
            order: self.next,
            at: now,
            size,
            probe,
            acked: false,
            reported_lost: false,
        });
        self.next += 1;
    }

    /// Match a feedback packet against the history; the results are in send order.
    /// RFC 8888 §3.1: consecutive reports may overlap, so a packet is counted once as
    /// received, and once as lost unless it is later reported received.
    pub fn on_feedback(&mut self, fb: &CongestionControlFeedback) -> Vec<PacketResult> {
        // RFC 8888 §3.1: the report timestamp is the middle 32 bits of NTP time; each
        // arrival time offset counts back from it in 1/1024 s. 0x1FFE (over range) and
        // 0x1FFF (unavailable) carry no usable arrival time.
        let report_us = (i64::from(fb.report_timestamp) * 1_000_000) >> 16;
        let mut out = Vec::new();
        for bl in &fb.blocks {
            let Some(st) = self.streams.get_mut(&bl.media_ssrc) else {
                continue;
            };
            let Some(newest) = st.history.back().map(|b| b.seq) else {
                continue;
            };
            let diff = (newest as u16).wrapping_sub(bl.begin_seq);
            let Some(base) = newest.checked_sub(u64::from(diff)) else {
                continue;
            };
            for (i, r) in bl.reports.iter().enumerate() {
                let seq = base + i as u64;
                if seq > newest {
                    break; // reports about packets never sent
                }
                let Ok(idx) = st.history.binary_search_by_key(&seq, |p| p.seq) else {
                    continue;
                };
                let Some(p) = st.history.get_mut(idx) else {
                    continue;
                };
                if p.acked || (!r.received && p.reported_lost) {
                    continue;
                }
                p.acked = r.received;
                p.reported_lost |= !r.received;
                let arrival_us = (r.received && r.arrival_time_offset < ATO_OVER_RANGE)
                    .then(|| report_us - ((i64::from(r.arrival_time_offset) * 1_000_000) >> 10));
                out.push(PacketResult {
                    sequence: p.order,
                    send_time: p.at,
                    size: p.size,
                    arrival_us,
                    probe_cluster: p.probe,
                });
            }
        }
        out.sort_by_key(|r| r.sequence);
        out
    }

    /// Packets remembered over all SSRCs.
    pub fn tracked_packets(&self) -> usize {
        self.streams.values().map(|s| s.history.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rtcp::RtcpPacket;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn ato_units_and_saturation() {
        let t = crate::test_util::base();
        assert_eq!(arrival_time_offset(t, t), 0);
        assert_eq!(arrival_time_offset(t + ms(1000), t), 1024);
        assert_eq!(arrival_time_offset(t + ms(500), t), 512);
        // 8189/1024 s is the largest encodable value
        let max = Duration::from_nanos(8189 * 1_000_000_000 / 1024 + 1);
        assert_eq!(arrival_time_offset(t + max, t), 0x1ffd);
        assert_eq!(arrival_time_offset(t + ms(8000), t), 0x1ffe);
        assert_eq!(arrival_time_offset(t + ms(100_000), t), ATO_OVER_RANGE);
        assert_eq!(arrival_time_offset(t, t + ms(1)), ATO_UNAVAILABLE);
    }

    /// Hand-built arrivals across the 16-bit wrap with a loss, a duplicate and a packet
    /// reordered across a report boundary: exact begin_seq, num_reports and offsets, and
    /// the generated packets survive the codec.
    #[test]
    fn exact_reports_with_wrap_loss_reorder() {
        let t0 = crate::test_util::base();
        let clock = NtpClock::new(t0, 5 << 32);
        let mut rx = CcfbReceiver::new(ms(50));
        // 65533, 65534, (65535 lost), 0, 0 again, 1 — arrivals 1 ms apart
        rx.on_packet(t0, 7, 65533);
        rx.on_packet(t0 + ms(1), 7, 65534);
        rx.on_packet(t0 + ms(3), 7, 0);
        rx.on_packet(t0 + ms(9), 7, 0); // duplicate: first arrival wins
        rx.on_packet(t0 + ms(4), 7, 1);
        assert_eq!(rx.poll_timeout(), Some(t0));
        let now = t0 + ms(250);
        let fb = rx.poll_feedback(now, &clock, 0xabc);
        assert_eq!(fb.len(), 1);
        let p = &fb[0];
        assert_eq!(p.report_timestamp, (5 << 16) | (250 * 65536 / 1000));
        assert_eq!(p.blocks.len(), 1);
        let b = &p.blocks[0];
        assert_eq!((b.media_ssrc, b.begin_seq, b.reports.len()), (7, 65533, 5));
        let r = |ato| CcfbReport {
            received: true,
            ecn: 0,
            arrival_time_offset: ato,
        };
        // offsets: (250 - arrival ms) * 1024 / 1000, floored
        assert_eq!(
            b.reports,
            vec![r(256), r(254), CcfbReport::default(), r(252), r(251)]
        );
        // codec round trip of what was generated
        let pkt = RtcpPacket::CongestionControlFeedback(p.clone());
        let bytes = RtcpPacket::compound_to_vec(std::slice::from_ref(&pkt)).unwrap();
        assert_eq!(RtcpPacket::parse_compound(&bytes).unwrap(), vec![pkt]);

        // nothing new: no report, no timeout
        assert!(rx.poll_feedback(now + ms(100), &clock, 0xabc).is_empty());
        assert_eq!(rx.poll_timeout(), None);

        // 65535 arrives late (already reported lost), then 2 and 4 (3 lost)
        let t1 = now + ms(10);
        rx.on_packet(t1, 7, 65535);
        rx.on_packet(t1 + ms(1), 7, 2);
        rx.on_packet(t1 + ms(2), 7, 4);
        let now2 = t1 + ms(60);
        let fb = rx.poll_feedback(now2, &clock, 0xabc);
        assert_eq!(fb.len(), 1);
        let b = &fb[0].blocks[0];
        // the overlapping range starts at the late packet and re-reports 0 and 1
        assert_eq!((b.begin_seq, b.reports.len()), (65535, 6));
        let got: Vec<(bool, u16)> = b
            .reports
            .iter()
            .map(|r| (r.received, r.arrival_time_offset))
            .collect();
        let ato = |arr: Instant| arrival_time_offset(now2, arr);
        assert_eq!(
            got,
            vec![
                (true, 61),              // 60 ms
                (true, ato(t0 + ms(3))), // 0, re-reported
                (true, ato(t0 + ms(4))), // 1, re-reported
                (true, 60),              // 2: 59 ms → 60.4
                (false, 0),              // 3 lost
                (true, 59),              // 4: 58 ms → 59.39
            ]
        );
        let bytes =
            RtcpPacket::compound_to_vec(&[RtcpPacket::CongestionControlFeedback(fb[0].clone())])
                .unwrap();
        assert_eq!(
            RtcpPacket::parse_compound(&bytes).unwrap(),
            vec![RtcpPacket::CongestionControlFeedback(fb[0].clone())]
        );
    }

    #[test]
    fn interval_is_respected() {
        let t0 = crate::test_util::base();
        let clock = NtpClock::new(t0, 0);
        let mut rx = CcfbReceiver::new(ms(50));
        rx.on_packet(t0, 1, 10);
        assert_eq!(rx.poll_feedback(t0, &clock, 1).len(), 1);
        rx.on_packet(t0 + ms(10), 1, 11);
        assert_eq!(rx.poll_timeout(), Some(t0 + ms(50)));
        assert!(rx.poll_feedback(t0 + ms(20), &clock, 1).is_empty());
        let fb = rx.poll_feedback(t0 + ms(50), &clock, 1);
        assert_eq!(fb[0].blocks[0].begin_seq, 11);
        assert_eq!(fb[0].blocks[0].reports.len(), 1);
    }

    #[test]
    fn sender_matches_once_across_wrap_and_overlap() {
        let t0 = crate::test_util::base();
        let clock = NtpClock::new(t0, 0);
        let mut tx = CcfbSender::default();
        let mut rx = CcfbReceiver::new(ms(50));
        for (i, seq) in [65534u16, 65535, 0, 1, 2].into_iter().enumerate() {
            tx.on_send(t0 + ms(i as u64), 5, seq, 100 + i, (i == 4).then_some(9));
        }
        tx.on_send(t0 + ms(9), 5, 0, 100, None); // retransmission: not recorded again
        assert_eq!(tx.tracked_packets(), 5);
        // 65535 reordered past the first report
        for seq in [65534u16, 0, 1, 2] {
            rx.on_packet(t0 + ms(20), 5, seq);
        }
        let fb = rx.poll_feedback(t0 + ms(30), &clock, 1);
        let res = tx.on_feedback(&fb[0]);
        let seen: Vec<(u64, usize, bool, Option<u32>)> = res
            .iter()
            .map(|r| (r.sequence, r.size, r.arrival_us.is_some(), r.probe_cluster))
            .collect();
        assert_eq!(
            seen,
            vec![
                (0, 100, true, None),
                (1, 101, false, None),
                (2, 102, true, None),
                (3, 103, true, None),
                (4, 104, true, Some(9)),
            ]
        );
        // the same feedback again: nothing new
        assert!(tx.on_feedback(&fb[0]).is_empty());
        rx.on_packet(t0 + ms(40), 5, 65535);
        let fb = rx.poll_feedback(t0 + ms(80), &clock, 1);
        // the overlapping report re-reports 0..2; only the late packet is new
        let res = tx.on_feedback(&fb[0]);
        assert_eq!(res.len(), 1);
        assert_eq!((res[0].sequence, res[0].arrival_us.is_some()), (1, true));
        // 40 ms before a report at 80 ms
        let report_us = (i64::from(fb[0].report_timestamp) * 1_000_000) >> 16;
        assert_eq!(
            report_us - res[0].arrival_us.unwrap(),
            (40 * 1024 / 1000) * 1_000_000 / 1024
        );
    }

    /// A range larger than one packet is split over packets that each fit, contiguous and
    /// complete; a range beyond MAX_RANGE keeps only its newest MAX_RANGE numbers.
    #[test]
    fn large_ranges_split_and_cap() {
        let t0 = crate::test_util::base();
        let clock = NtpClock::new(t0, 0);
        let mut rx = CcfbReceiver::new(ms(50));
        for i in 0..1500u16 {
            rx.on_packet(t0, 3, i);
        }
        let fb = rx.poll_feedback(t0 + ms(1), &clock, 1);
        assert!(fb.len() >= 3);
        let mut next = 0u16;
        for p in &fb {
            let len = RtcpPacket::CongestionControlFeedback(p.clone()).buffer_len();
            assert!(len <= MAX_PACKET, "{len}");
            for b in &p.blocks {
                assert_eq!(b.begin_seq, next);
                assert!(b.reports.iter().all(|r| r.received));
                next = next.wrapping_add(b.reports.len() as u16);
            }
        }
        assert_eq!(next, 1500);

        // a jump of 30000: only the newest MAX_RANGE numbers are reported
        rx.on_packet(t0 + ms(60), 3, 1500);
        rx.on_packet(t0 + ms(61), 3, 31_500);
        let fb = rx.poll_feedback(t0 + ms(100), &clock, 1);
        let n: usize = fb
            .iter()
            .flat_map(|p| &p.blocks)
            .map(|b| b.reports.len())
            .sum();
        assert_eq!(n as u64, MAX_RANGE);
        assert_eq!(fb[0].blocks[0].begin_seq, (31_500 - (MAX_RANGE - 1)) as u16);
        assert!(rx.tracked_packets() as u64 <= HISTORY);
    }

    proptest::proptest! {
        /// Any arrival pattern (reordering, duplicates, gaps, wrap): every report
        /// round-trips through the codec and fits MAX_PACKET, and every packet that arrived
        /// in a small window is reported received with the offset of its first arrival.
        #[test]
        fn generated_reports_roundtrip_and_cover_arrivals(
            steps in proptest::collection::vec((0u16..40, 0u64..30, proptest::bool::ANY), 1..300),
            start in proptest::num::u16::ANY,
        ) {
            let t0 = crate::test_util::base();
            let clock = NtpClock::new(t0, 7 << 32);
            let mut rx = CcfbReceiver::new(ms(50));
            let mut now = t0;
            let mut seq = start;
            let mut first: BTreeMap<u16, Instant> = BTreeMap::new();
            let mut seen: BTreeMap<u16, (Instant, u16)> = BTreeMap::new();
            for (back, dt, poll) in steps {
                now += ms(dt);
                // mostly forward, sometimes a little back (reordering / duplicates)
                let s = if back < 30 { seq.wrapping_add(back % 3) } else { seq.wrapping_sub(back - 30) };
                if back < 30 {
                    seq = s;
                }
                rx.on_packet(now, 1, s);
                first.entry(s).or_insert(now);
                if poll {
                    for p in rx.poll_feedback(now, &clock, 2) {
                        let pkt = RtcpPacket::CongestionControlFeedback(p.clone());
                        proptest::prop_assert!(pkt.buffer_len() <= MAX_PACKET);
                        let bytes = pkt.to_vec().unwrap();
                        proptest::prop_assert_eq!(RtcpPacket::parse_compound(&bytes).unwrap(), vec![pkt]);
                        for b in &p.blocks {
                            for (i, r) in b.reports.iter().enumerate() {
                                if r.received {
                                    seen.insert(b.begin_seq.wrapping_add(i as u16), (now, r.arrival_time_offset));
                                }
                            }
                        }
                    }
                }
            }
            let end = now + ms(100);
            for p in rx.poll_feedback(end, &clock, 2) {
                for b in &p.blocks {
                    for (i, r) in b.reports.iter().enumerate() {
                        if r.received {
                            seen.insert(b.begin_seq.wrapping_add(i as u16), (end, r.arrival_time_offset));
                        }
                    }
                }
            }
            // fewer than 300 × 2 sequence numbers: all within one window
            for (s, at) in &first {
                let got = seen.get(s);
                proptest::prop_assert!(got.is_some(), "seq {} never reported received", s);
                if let Some(&(report, ato)) = got {
                    proptest::prop_assert_eq!(ato, arrival_time_offset(report, *at));
                }
            }
            proptest::prop_assert_eq!(seen.len(), first.len());
        }
    }
}
