//! Send side: per-stream queues, fragmentation, TSN assignment, the retransmission queue,
//! SACK processing, RTO (RFC 9260 §6.3), congestion control (§7.2) and partial reliability
//! (RFC 3758 §3.5).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::wire::chunk::{
    DataChunk, ForwardTsnEntry, GapBlock, data_chunk_len, data_flags, emit_data,
};

/// A queued user message.
#[derive(Debug)]
struct OutMessage {
    id: u64,
    ppid: u32,
    data: Bytes,
    offset: usize,
    unordered: bool,
    seq: u32,
    fsn: u32,
    max_retx: Option<u16>,
    expires: Option<Instant>,
}

#[derive(Debug, Default)]
struct OutStream {
    queue: VecDeque<OutMessage>,
    next_ssn: u16,
    next_mid_ordered: u32,
    next_mid_unordered: u32,
    queued_bytes: usize,
    low_threshold: usize,
    scheduled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SentState {
    InFlight,
    Retransmit,
    Acked,
    Abandoned,
}

#[derive(Debug)]
struct Sent {
    tsn: u32,
    stream: u16,
    seq: u32,
    fsn: u32,
    ppid: u32,
    flags: u8,
    data: Bytes,
    sent_at: Instant,
    tx_count: u16,
    state: SentState,
    misses: u8,
    fast_retx_done: bool,
    msg_id: u64,
    max_retx: Option<u16>,
    expires: Option<Instant>,
}

/// Per-message partial-reliability policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub max_retx: Option<u16>,
    pub lifetime: Option<Duration>,
}

/// Result of processing a SACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SackOutcome {
    /// Processed.
    Ok,
    /// Older than the cumulative ack point: ignored (RFC 9260 §6.2.1 D i).
    Stale,
    /// Acknowledges a TSN never sent: ignored.
    Invalid,
}

/// Send-side state.
#[derive(Debug)]
pub(crate) struct Sender {
    pub interleaved: bool,
    pub pr_supported: bool,
    mtu: usize,
    streams: BTreeMap<u16, OutStream>,
    schedule: VecDeque<u16>,
    current: Option<u16>,
    next_msg_id: u64,
    pub queued_total: usize,
    next_tsn: u32,
    cum_ack: u32,
    inflight: VecDeque<Sent>,
    flight: usize,
    outstanding: usize,
    retx_count: usize,
    pub cwnd: usize,
    pub ssthresh: usize,
    pba: usize,
    fast_recovery_exit: Option<u32>,
    fast_rtx_pending: bool,
    pub peer_rwnd: usize,
    srtt: Option<Duration>,
    rttvar: Duration,
    pub rto: Duration,
    rto_min: Duration,
    rto_max: Duration,
    rtt_probe: Option<(u32, Instant)>,
    pub t3: Option<Instant>,
    adv_ack: u32,
    pub fwd_needed: bool,
    /// The last FORWARD-TSN sent: its new cumulative TSN and when.
    last_fwd: Option<(u32, Instant)>,
    /// T3 expired: the next FORWARD-TSN goes out even if it repeats the last one.
    fwd_forced: bool,
    /// Streams whose buffered amount fell to or below their low threshold.
    pub low_events: Vec<u16>,
    /// Consecutive T3 expiries without progress (RFC 9260 §8.3).
    pub error_count: u32,
}

fn lt32(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

impl Sender {
    pub fn new(
        initial_tsn: u32,
        mtu: usize,
        rto_initial: Duration,
        rto_min: Duration,
        rto_max: Duration,
    ) -> Self {
        Sender {
            interleaved: false,
            pr_supported: false,
            mtu,
            streams: BTreeMap::new(),
            schedule: VecDeque::new(),
            current: None,
            next_msg_id: 0,
            queued_total: 0,
            next_tsn: initial_tsn,
            cum_ack: initial_tsn.wrapping_sub(1),
            inflight: VecDeque::new(),
            flight: 0,
            outstanding: 0,
            retx_count: 0,
            cwnd: 4 * mtu,
            ssthresh: usize::MAX,
            pba: 0,
            fast_recovery_exit: None,
            fast_rtx_pending: false,
            peer_rwnd: 0,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: rto_initial,
            rto_min,
            rto_max,
            rtt_probe: None,
            t3: None,
            adv_ack: initial_tsn.wrapping_sub(1),
            fwd_needed: false,
            last_fwd: None,
            fwd_forced: false,
            low_events: Vec::new(),
            error_count: 0,
        }
    }

    /// Start of data transfer: our initial TSN and the peer's window (RFC 9260 §7.2.1).
    pub fn start(&mut self, initial_tsn: u32, peer_rwnd: u32) {
        self.next_tsn = initial_tsn;
        self.cum_ack = initial_tsn.wrapping_sub(1);
        self.adv_ack = self.cum_ack;
        self.peer_rwnd = peer_rwnd as usize;
        // RFC 9260 §7.2.1: initial cwnd = min(4*MTU, max(2*MTU, 4404)); ssthresh MAY be
        // arbitrarily high, e.g. the peer's advertised window.
        self.cwnd = (4 * self.mtu).min((2 * self.mtu).max(4404));
        self.ssthresh = (peer_rwnd as usize).max(4 * self.mtu);
    }

    /// The peer has acked every TSN we assigned (abandoned ones through FORWARD-TSN).
    pub fn all_acked(&self) -> bool {
        self.cum_ack == self.last_assigned_tsn()
    }

    /// Last TSN assigned.
    pub fn last_assigned_tsn(&self) -> u32 {
        self.next_tsn.wrapping_sub(1)
    }

    /// Bytes queued and not yet handed to the network on `stream`.
    pub fn buffered_amount(&self, stream: u16) -> usize {
        self.streams.get(&stream).map_or(0, |s| s.queued_bytes)
    }

    pub fn set_low_threshold(&mut self, stream: u16, threshold: usize) {
        self.streams.entry(stream).or_default().low_threshold = threshold;
    }

    /// Whether `stream` has nothing queued.
    pub fn stream_drained(&self, stream: u16) -> bool {
        self.streams.get(&stream).is_none_or(|s| s.queue.is_empty())
    }

    /// Nothing queued and nothing outstanding.
    pub fn idle(&self) -> bool {
        self.queued_total == 0 && self.inflight.is_empty()
    }

    /// Queue a message.
    pub fn enqueue(
        &mut self,
        stream: u16,
        ppid: u32,
        data: Bytes,
        unordered: bool,
        policy: Policy,
        now: Instant,
    ) {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        let len = data.len();
        let st = self.streams.entry(stream).or_default();
        st.queue.push_back(OutMessage {
            id,
            ppid,
            data,
            offset: 0,
            unordered,
            seq: 0,
            fsn: 0,
            max_retx: policy.max_retx,
            expires: policy.lifetime.map(|l| now + l),
        });
        st.queued_bytes += len;
        self.queued_total += len;
        if !st.scheduled {
            st.scheduled = true;
            self.schedule.push_back(stream);
        }
    }

    /// RFC 6525 §5.2.2 (sender side): after a successful outgoing reset, SSNs restart at 0.
    pub fn reset_stream(&mut self, stream: u16) {
        if let Some(st) = self.streams.get_mut(&stream) {
            st.next_ssn = 0;
            st.next_mid_ordered = 0;
            st.next_mid_unordered = 0;
        }
    }

    /// Forget a stream's state entirely (channel gone).
    pub fn remove_stream(&mut self, stream: u16) {
        if self
            .streams
            .get(&stream)
            .is_some_and(|s| s.queue.is_empty())
        {
            self.streams.remove(&stream);
        }
    }

    fn note_dequeued(&mut self, stream: u16, bytes: usize) {
        self.queued_total = self.queued_total.saturating_sub(bytes);
        if let Some(st) = self.streams.get_mut(&stream) {
            let before = st.queued_bytes;
            st.queued_bytes = before.saturating_sub(bytes);
            if before > st.low_threshold && st.queued_bytes <= st.low_threshold {
                self.low_events.push(stream);
            }
        }
    }

    fn data_header_len(&self) -> usize {
        if self.interleaved { 20 } else { 16 }
    }

    /// Largest payload per fragment: what fits one packet alone (RFC 9260 §6.9).
    fn max_fragment(&self) -> usize {
        (self.mtu - 12 - self.data_header_len()) & !3
    }

    /// Messages wait to be sent for the first time (they will take new TSNs).
    pub fn has_queued(&self) -> bool {
        self.streams.values().any(|s| !s.queue.is_empty())
    }

    /// Whether `fill` would put any DATA into a packet now.
    pub fn has_sendable(&self) -> bool {
        self.retx_count > 0 || (self.queued_total > 0 && self.flight < self.cwnd)
    }

    /// Append retransmissions and new DATA to `out` while room, cwnd and the peer's window
    /// allow. Returns whether anything was added.
    pub fn fill(&mut self, out: &mut Vec<u8>, now: Instant) -> bool {
        let start_len = out.len();
        let limit = self.mtu;
        // RFC 9260 §6.1 C / §7.2.4: retransmissions go first; a fast retransmit may ignore
        // cwnd for one packet.
        if self.retx_count > 0 {
            let ignore_cwnd = std::mem::take(&mut self.fast_rtx_pending);
            let first_outstanding = self
                .inflight
                .iter()
                .position(|e| matches!(e.state, SentState::InFlight | SentState::Retransmit));
            for i in 0..self.inflight.len() {
                if self.retx_count == 0 {
                    break;
                }
                let Some(e) = self.inflight.get(i) else { break };
                if e.state != SentState::Retransmit {
                    continue;
                }
                let need = data_chunk_len(self.interleaved, e.data.len());
                if out.len() + need > limit {
                    break;
                }
                if !ignore_cwnd && self.flight >= self.cwnd {
                    break;
                }
                let interleaved = self.interleaved;
                let Some(e) = self.inflight.get_mut(i) else {
                    break;
                };
                emit_data(out, &to_chunk(e, interleaved));
                e.state = SentState::InFlight;
                e.tx_count = e.tx_count.saturating_add(1);
                e.sent_at = now;
                self.flight += e.data.len();
                self.retx_count -= 1;
                if first_outstanding == Some(i) {
                    // RFC 9260 §7.2.4 point 4: restart T3 when retransmitting the first
                    // outstanding DATA chunk.
                    self.t3 = Some(now + self.rto);
                }
                if self.rtt_probe.is_some_and(|(t, _)| t == e.tsn) {
                    self.rtt_probe = None; // Karn: no sample from a retransmitted chunk
                }
            }
        }
        if self.retx_count == 0 {
            self.fill_new(out, now, limit);
        }
        let added = out.len() > start_len;
        if added && self.t3.is_none() && self.flight > 0 {
            self.t3 = Some(now + self.rto);
        }
        added
    }

    fn pick_stream(&mut self) -> Option<u16> {
        if let Some(s) = self.current {
            return Some(s);
        }
        self.schedule.pop_front()
    }

    fn fill_new(&mut self, out: &mut Vec<u8>, now: Instant, limit: usize) {
        let hdr = self.data_header_len();
        let max_frag = self.max_fragment();
        while self.queued_total > 0 || self.current.is_some() {
            // RFC 9260 §6.1 B: no new DATA while the flight size is at or above cwnd.
            if self.flight >= self.cwnd {
                return;
            }
            let room = limit.saturating_sub(out.len() + hdr) & !3;
            if room < 64.min(max_frag) {
                return;
            }
            let Some(sid) = self.pick_stream() else {
                return;
            };
            let interleaved = self.interleaved;
            let pr = self.pr_supported;
            let Some(st) = self.streams.get_mut(&sid) else {
                self.current = None;
                continue;
            };
            let Some(msg) = st.queue.front_mut() else {
                st.scheduled = false;
                self.current = None;
                continue;
            };
            // RFC 3758 §3.5 A: a message whose lifetime expired before it was sent at all
            // is dropped without using a TSN.
            if pr && msg.offset == 0 && msg.expires.is_some_and(|e| e <= now) {
                let len = msg.data.len();
                st.queue.pop_front();
                if st.queue.is_empty() {
                    st.scheduled = false;
                } else if self.current.is_none() {
                    self.schedule.push_front(sid);
                }
                self.note_dequeued(sid, len);
                continue;
            }
            let remaining = msg.data.len() - msg.offset;
            let frag = remaining.min(max_frag).min(room);
            // RFC 9260 §6.1 A: respect the peer's window, but allow one chunk into an empty
            // pipe (zero-window probe).
            if self.peer_rwnd < frag && self.flight > 0 {
                if self.current.is_none() {
                    self.schedule.push_front(sid);
                }
                return;
            }
            if msg.offset == 0 {
                msg.seq = match (interleaved, msg.unordered) {
                    (false, true) => 0,
                    (false, false) => {
                        let s = st.next_ssn;
                        st.next_ssn = s.wrapping_add(1);
                        u32::from(s)
                    }
                    (true, true) => {
                        let m = st.next_mid_unordered;
                        st.next_mid_unordered = m.wrapping_add(1);
                        m
                    }
                    (true, false) => {
                        let m = st.next_mid_ordered;
                        st.next_mid_ordered = m.wrapping_add(1);
                        m
                    }
                };
            }
            let mut flags = 0;
            if msg.offset == 0 {
                flags |= data_flags::B;
            }
            if frag == remaining {
                flags |= data_flags::E;
            }
            if msg.unordered {
                flags |= data_flags::U;
            }
            if self.queued_total <= frag {
                // RFC 9260 §3.3.1 (I bit): the queue runs dry with this chunk, so ask for an
                // immediate SACK instead of waiting out the peer's delayed-ack timer.
                flags |= data_flags::I;
            }
            let tsn = self.next_tsn;
            self.next_tsn = tsn.wrapping_add(1);
            let data = msg.data.slice(msg.offset..msg.offset + frag);
            let sent = Sent {
                tsn,
                stream: sid,
                seq: msg.seq,
                fsn: msg.fsn,
                ppid: msg.ppid,
                flags,
                data,
                sent_at: now,
                tx_count: 1,
                state: SentState::InFlight,
                misses: 0,
                fast_retx_done: false,
                msg_id: msg.id,
                max_retx: msg.max_retx,
                expires: msg.expires,
            };
            msg.offset += frag;
            msg.fsn = msg.fsn.wrapping_add(1);
            let finished = msg.offset == msg.data.len();
            if finished {
                st.queue.pop_front();
            }
            let more = !st.queue.is_empty();
            if !more {
                st.scheduled = false;
            }
            if interleaved {
                // RFC 8260: with I-DATA, rotate streams per fragment so a large message
                // does not hold back the others.
                self.current = None;
                if more {
                    self.schedule.push_back(sid);
                }
            } else if finished {
                // RFC 9260 §6.9: DATA fragments of one message take consecutive TSNs, so the
                // stream keeps the sender until its message is complete.
                self.current = None;
                if more {
                    self.schedule.push_back(sid);
                }
            } else {
                self.current = Some(sid);
            }
            emit_data(out, &to_chunk(&sent, interleaved));
            self.flight += frag;
            self.outstanding += frag;
            self.peer_rwnd = self.peer_rwnd.saturating_sub(frag);
            if self.rtt_probe.is_none() {
                self.rtt_probe = Some((tsn, now));
            }
            self.inflight.push_back(sent);
            self.note_dequeued(sid, frag);
        }
    }

    /// RFC 9260 §6.2.1 / §7.2: process a SACK.
    pub fn on_sack(
        &mut self,
        now: Instant,
        cum: u32,
        a_rwnd: u32,
        gaps: impl Iterator<Item = GapBlock>,
    ) -> SackOutcome {
        // RFC 9260 §6.2.1 D i: a SACK older than the cumulative ack point is discarded.
        if lt32(cum, self.cum_ack) {
            return SackOutcome::Stale;
        }
        if lt32(self.last_assigned_tsn(), cum) {
            return SackOutcome::Invalid;
        }
        let flight_before = self.flight;
        let advanced = cum != self.cum_ack;
        let mut bytes_acked = 0usize;
        let mut highest_newly_acked: Option<u32> = None;
        let mut rtt_sample = None;
        let n = cum.wrapping_sub(self.cum_ack) as usize;
        for _ in 0..n {
            let Some(e) = self.inflight.pop_front() else {
                break;
            };
            let len = e.data.len();
            match e.state {
                SentState::InFlight => {
                    self.flight -= len;
                    self.outstanding -= len;
                    bytes_acked += len;
                }
                SentState::Retransmit => {
                    self.retx_count -= 1;
                    self.outstanding -= len;
                    bytes_acked += len;
                }
                SentState::Acked | SentState::Abandoned => {}
            }
            if let Some((t, sent)) = self.rtt_probe
                && t == e.tsn
            {
                if e.tx_count == 1 {
                    rtt_sample = Some(now.saturating_duration_since(sent));
                }
                self.rtt_probe = None;
            }
        }
        self.cum_ack = cum;
        if lt32(self.adv_ack, cum) {
            self.adv_ack = cum;
        }
        for g in gaps {
            if g.start == 0 || g.start > g.end {
                continue;
            }
            let end = usize::from(g.end).min(self.inflight.len());
            for off in usize::from(g.start)..=end {
                let Some(e) = self.inflight.get_mut(off - 1) else {
                    break;
                };
                let len = e.data.len();
                match e.state {
                    SentState::InFlight => {
                        self.flight -= len;
                        self.outstanding -= len;
                    }
                    SentState::Retransmit => {
                        self.retx_count -= 1;
                        self.outstanding -= len;
                    }
                    SentState::Acked | SentState::Abandoned => continue,
                }
                e.state = SentState::Acked;
                bytes_acked += len;
                if highest_newly_acked.is_none_or(|h| lt32(h, e.tsn)) {
                    highest_newly_acked = Some(e.tsn);
                }
                if self.rtt_probe.is_some_and(|(t, _)| t == e.tsn) {
                    if e.tx_count == 1 {
                        rtt_sample = self
                            .rtt_probe
                            .map(|(_, s)| now.saturating_duration_since(s));
                    }
                    self.rtt_probe = None;
                }
            }
        }
        if let Some(r) = rtt_sample {
            self.update_rto(r);
        }
        // RFC 9260 §7.2.4: miss indications for chunks below the highest newly acked TSN.
        let mut entered_fast_rtx = false;
        if let Some(h) = highest_newly_acked {
            let mut newly_marked = Vec::new();
            for e in self.inflight.iter_mut() {
                if !lt32(e.tsn, h) {
                    break;
                }
                if e.state != SentState::InFlight {
                    continue;
                }
                e.misses = e.misses.saturating_add(1);
                // RFC 9260 §7.2.4: on the third miss indication, fast-retransmit (once).
                if e.misses >= 3 && !e.fast_retx_done {
                    e.fast_retx_done = true;
                    e.state = SentState::Retransmit;
                    self.flight -= e.data.len();
                    self.retx_count += 1;
                    entered_fast_rtx = true;
                    newly_marked.push((e.msg_id, e.stream));
                }
            }
            if entered_fast_rtx {
                if self.fast_recovery_exit.is_none() {
                    // RFC 9260 §7.2.4 / §7.2.3: ssthresh = max(cwnd/2, 4*MTU), cwnd = ssthresh.
                    self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
                    self.cwnd = self.ssthresh;
                    self.pba = 0;
                    self.fast_recovery_exit = Some(self.last_assigned_tsn());
                }
                // T3 keeps running: `fill` restarts it if the retransmission is the first
                // outstanding chunk (§7.2.4 point 4). Stopping it here left it stopped when
                // every marked chunk was abandoned (RFC 3758) and nothing else was sent,
                // stalling reliable data that had already used its one fast retransmit.
                self.fast_rtx_pending = true;
            }
            for (id, stream) in newly_marked {
                self.check_abandon(now, id, stream);
            }
        }
        if let Some(exit) = self.fast_recovery_exit
            && !lt32(cum, exit)
        {
            self.fast_recovery_exit = None;
        }
        // RFC 9260 §7.2.1 / §7.2.2: grow cwnd only when the cumulative ack advanced, not in
        // fast recovery, and the window was in use.
        if advanced && self.fast_recovery_exit.is_none() && flight_before + self.mtu >= self.cwnd {
            if self.cwnd <= self.ssthresh {
                self.cwnd += bytes_acked.min(self.mtu);
            } else {
                self.pba += bytes_acked;
                if self.pba >= self.cwnd {
                    self.pba -= self.cwnd;
                    self.cwnd += self.mtu;
                }
            }
        }
        // RFC 9260 §6.2.1: rwnd = a_rwnd minus bytes still outstanding.
        self.peer_rwnd = (a_rwnd as usize).saturating_sub(self.outstanding);
        if advanced {
            self.error_count = 0;
            // RFC 9260 §6.3.2 R3: restart T3 when the earliest outstanding TSN is acked.
            self.t3 = if self.flight > 0 {
                Some(now + self.rto)
            } else {
                None
            };
        }
        self.advance_ack_point();
        if self.flight == 0 && self.retx_count == 0 && !self.fwd_needed {
            // RFC 9260 §6.3.2 R2: all outstanding data acked: stop T3.
            self.t3 = None;
        } else if self.t3.is_none() {
            // RFC 9260 §6.3.2 R1: T3 runs while any DATA is outstanding; RFC 3758 §3.5 C5:
            // also while a FORWARD-TSN is, so a lost one is sent again.
            self.t3 = Some(now + self.rto);
        }
        SackOutcome::Ok
    }

    /// An RTT measurement from outside the data path (HEARTBEAT-ACK).
    pub fn note_rtt(&mut self, r: Duration) {
        self.update_rto(r);
    }

    fn update_rto(&mut self, r: Duration) {
        // RFC 9260 §6.3.1 C2/C3.
        const G: Duration = Duration::from_millis(1);
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        self.rto = (srtt + (self.rttvar * 4).max(G)).clamp(self.rto_min, self.rto_max);
    }

    /// Smoothed RTT, if measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// RFC 9260 §6.3.3: T3-rtx expired.
    pub fn on_t3_expiry(&mut self, now: Instant) {
        self.t3 = None;
        // E1: ssthresh = max(cwnd/2, 4*MTU), cwnd = 1*MTU.
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.mtu;
        self.pba = 0;
        self.fast_recovery_exit = None;
        // E2: back off the timer.
        self.rto = (self.rto * 2).min(self.rto_max);
        self.rtt_probe = None;
        self.error_count = self.error_count.saturating_add(1);
        // E3: every outstanding chunk goes back to retransmission.
        let mut marked = Vec::new();
        for e in self.inflight.iter_mut() {
            if e.state == SentState::InFlight {
                e.state = SentState::Retransmit;
                self.flight -= e.data.len();
                self.retx_count += 1;
                marked.push((e.msg_id, e.stream));
            }
        }
        marked.dedup();
        for (id, stream) in marked {
            self.check_abandon(now, id, stream);
        }
        // RFC 3758 §3.5 A5: on T3 expiry, (re)send the FORWARD-TSN.
        self.fwd_forced = true;
        self.advance_ack_point();
        if self.fwd_needed && self.flight == 0 && self.retx_count == 0 {
            // Only a FORWARD-TSN is outstanding: time it like data.
            self.t3 = Some(now + self.rto);
        }
    }

    /// RFC 3758 §3.5 A1-A3: abandon the message if its policy says so.
    fn check_abandon(&mut self, now: Instant, msg_id: u64, stream: u16) {
        if !self.pr_supported {
            return;
        }
        let abandon = self.inflight.iter().any(|e| {
            e.msg_id == msg_id
                && e.state == SentState::Retransmit
                && (e.max_retx.is_some_and(|m| e.tx_count > m)
                    || e.expires.is_some_and(|x| x <= now))
        });
        if abandon {
            self.abandon_message(msg_id, stream);
        }
    }

    /// Abandon every chunk of a message, and its unsent remainder.
    fn abandon_message(&mut self, msg_id: u64, stream: u16) {
        for e in self.inflight.iter_mut() {
            if e.msg_id != msg_id {
                continue;
            }
            let len = e.data.len();
            match e.state {
                SentState::InFlight => {
                    self.flight -= len;
                    self.outstanding -= len;
                }
                SentState::Retransmit => {
                    self.retx_count -= 1;
                    self.outstanding -= len;
                }
                SentState::Acked | SentState::Abandoned => {}
            }
            e.state = SentState::Abandoned;
        }
        let mut dropped = 0;
        if let Some(st) = self.streams.get_mut(&stream)
            && st.queue.front().is_some_and(|m| m.id == msg_id)
        {
            if let Some(m) = st.queue.pop_front() {
                dropped = m.data.len() - m.offset;
            }
            if self.current == Some(stream) {
                self.current = None;
                if !st.queue.is_empty() {
                    self.schedule.push_back(stream);
                } else {
                    st.scheduled = false;
                }
            }
        }
        if dropped > 0 {
            self.note_dequeued(stream, dropped);
        }
    }

    /// RFC 3758 §3.5 C1: move the Advanced.Peer.Ack.Point over abandoned chunks.
    fn advance_ack_point(&mut self) {
        let mut point = self.adv_ack;
        let mut idx = point.wrapping_sub(self.cum_ack) as usize;
        while let Some(e) = self.inflight.get(idx) {
            if e.state != SentState::Abandoned {
                break;
            }
            point = e.tsn;
            idx += 1;
        }
        self.adv_ack = point;
        if lt32(self.cum_ack, self.adv_ack) {
            self.fwd_needed = true;
        }
    }

    /// RFC 3758 §3.5 C2-C4 / RFC 8260 §2.3: the FORWARD-TSN to send, if any.
    /// `max_entries` stream entries fit the packet being built.
    pub fn forward_tsn(
        &mut self,
        now: Instant,
        max_entries: usize,
        entries: &mut Vec<ForwardTsnEntry>,
    ) -> Option<u32> {
        self.fwd_needed = false;
        if !lt32(self.cum_ack, self.adv_ack) {
            return None;
        }
        entries.clear();
        let mut cum = self.cum_ack;
        let n = self.adv_ack.wrapping_sub(self.cum_ack) as usize;
        for e in self.inflight.iter().take(n) {
            let unordered = e.flags & data_flags::U != 0;
            // FORWARD-TSN lists streams of skipped ordered data only (RFC 3758 §3.5 C4);
            // I-FORWARD-TSN lists unordered ones too, with the U flag (RFC 8260 §2.3.1).
            if !unordered || self.interleaved {
                let u = unordered && self.interleaved;
                let full = entries.len() == max_entries;
                match entries
                    .iter_mut()
                    .find(|x| x.stream == e.stream && x.unordered == u)
                {
                    Some(x) => x.seq = e.seq,
                    // RFC 3758 §3.5 C4: if the entries do not fit, lower the new cumulative
                    // TSN to the last one they cover; a later FORWARD-TSN does the rest.
                    None if full => break,
                    None => entries.push(ForwardTsnEntry {
                        stream: e.stream,
                        unordered: u,
                        seq: e.seq,
                    }),
                }
            }
            cum = e.tsn;
        }
        if cum == self.cum_ack {
            // Not even one entry fits here: go first in the next packet.
            self.fwd_needed = true;
            return None;
        }
        // RFC 3758 §3.5 F2 (implementation note): a duplicate FORWARD-TSN waits a full RTT.
        // Every SACK still in flight when the first one left would otherwise send it again,
        // and each copy draws an immediate SACK from the peer. T3 expiry (A5) sends it anyway.
        let rtt = self.srtt.unwrap_or(self.rto);
        if !self.fwd_forced
            && self
                .last_fwd
                .is_some_and(|(tsn, at)| tsn == cum && now < at + rtt)
        {
            return None;
        }
        self.fwd_forced = false;
        self.last_fwd = Some((cum, now));
        Some(cum)
    }
}

fn to_chunk(e: &Sent, interleaved: bool) -> DataChunk<'_> {
    DataChunk {
        interleaved,
        flags: e.flags,
        tsn: e.tsn,
        stream: e.stream,
        ssn: e.seq as u16,
        mid: e.seq,
        fsn: e.fsn,
        ppid: e.ppid,
        payload: &e.data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_forward_tsn_waits_an_rtt_unless_t3_expires() {
        #[allow(clippy::disallowed_methods)] // a base for virtual time only
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Sender::new(100, 1200, ms(1000), ms(400), ms(60_000));
        s.pr_supported = true;
        s.start(100, 1 << 20);
        let once = Policy {
            max_retx: Some(0),
            lifetime: None,
        };
        s.enqueue(1, 53, Bytes::from_static(b"lost"), false, once, t0);
        let reliable = Policy {
            max_retx: None,
            lifetime: None,
        };
        for _ in 0..3 {
            s.enqueue(1, 53, Bytes::from_static(b"kept"), false, reliable, t0);
        }
        let mut out = Vec::new();
        assert!(s.fill(&mut out, t0));
        // TSNs 101..=103 are acked one by one, 100 is missed three times (RFC 9260 §7.2.4):
        // fast retransmit would send it again, so max-retransmits(0) abandons it.
        for end in 2..=4 {
            s.on_sack(
                t0 + ms(10),
                99,
                1 << 20,
                [GapBlock { start: 2, end }].into_iter(),
            );
        }
        let mut entries = Vec::new();
        assert!(s.fwd_needed);
        assert_eq!(s.forward_tsn(t0 + ms(10), 100, &mut entries), Some(100));
        // Another SACK from before the FORWARD-TSN arrived: no duplicate within one RTT...
        s.on_sack(
            t0 + ms(20),
            99,
            1 << 20,
            [GapBlock { start: 2, end: 4 }].into_iter(),
        );
        assert_eq!(s.forward_tsn(t0 + ms(20), 100, &mut entries), None);
        // ...but after one (no RTT sample yet: RTO.Initial).
        s.on_sack(
            t0 + ms(1011),
            99,
            1 << 20,
            [GapBlock { start: 2, end: 4 }].into_iter(),
        );
        assert_eq!(s.forward_tsn(t0 + ms(1011), 100, &mut entries), Some(100));
        // T3 expiry sends it again at once (RFC 3758 §3.5 A5).
        s.on_t3_expiry(t0 + ms(1012));
        assert!(s.fwd_needed);
        assert_eq!(s.forward_tsn(t0 + ms(1012), 100, &mut entries), Some(100));
        assert_eq!(
            entries,
            vec![ForwardTsnEntry {
                stream: 1,
                unordered: false,
                seq: 0
            }]
        );
    }

    /// The aiortc lossy-link stall (CI trace `aiortc_lossy_link.trace`): a reliable chunk
    /// is fast-retransmitted and lost again; later a max-retransmits(0) chunk behind it gets
    /// its third miss, is marked for fast retransmit and abandoned at once. Nothing is left
    /// to retransmit and nothing new is queued, yet the reliable chunk is outstanding: T3
    /// must keep running, or it is never sent again (§6.3.2 R1, §7.2.4 point 4).
    #[test]
    fn abandoned_fast_retransmit_keeps_t3_for_outstanding_reliable_data() {
        #[allow(clippy::disallowed_methods)] // a base for virtual time only
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Sender::new(100, 1200, ms(1000), ms(400), ms(60_000));
        s.pr_supported = true;
        s.start(100, 1 << 20);
        let reliable = Policy {
            max_retx: None,
            lifetime: None,
        };
        let once = Policy {
            max_retx: Some(0),
            lifetime: None,
        };
        // TSN 100: reliable on stream 0; TSNs 101..=106: max-retransmits(0) on stream 2.
        s.enqueue(0, 53, Bytes::from_static(b"reliable"), false, reliable, t0);
        for _ in 0..6 {
            s.enqueue(2, 53, Bytes::from_static(b"once"), false, once, t0);
        }
        let mut out = Vec::new();
        assert!(s.fill(&mut out, t0));
        assert!(!s.has_queued());
        let gap = |start, end| GapBlock { start, end };
        // 100 and 102 are lost; 101, 103, 104 arrive one SACK at a time. Third miss of 100:
        // fast retransmit.
        let t = t0 + ms(10);
        s.on_sack(t, 99, 1 << 20, [gap(2, 2)].into_iter());
        s.on_sack(t, 99, 1 << 20, [gap(2, 2), gap(4, 4)].into_iter());
        s.on_sack(t, 99, 1 << 20, [gap(2, 2), gap(4, 5)].into_iter());
        out.clear();
        assert!(s.fill(&mut out, t));
        assert_eq!(s.inflight[0].tx_count, 2, "TSN 100 fast-retransmitted");
        // The retransmission is lost too. 105 arrives: third miss of 102, which is marked
        // for fast retransmit and abandoned (max-retransmits 0). 100 cannot be
        // fast-retransmitted twice (§7.2.4), so only T3 can recover it.
        let t = t0 + ms(20);
        s.on_sack(t, 99, 1 << 20, [gap(2, 2), gap(4, 6)].into_iter());
        assert_eq!(s.inflight[2].state, SentState::Abandoned);
        out.clear();
        assert!(!s.fill(&mut out, t), "nothing to send");
        s.on_sack(t, 99, 1 << 20, [gap(2, 2), gap(4, 7)].into_iter());
        let t3 = s.t3.expect("T3 runs while TSN 100 is outstanding");
        // T3 expiry retransmits 100.
        s.on_t3_expiry(t3);
        out.clear();
        assert!(s.fill(&mut out, t3));
        assert_eq!(
            s.inflight[0].tx_count, 3,
            "TSN 100 retransmitted on T3 expiry"
        );
        assert!(s.t3.is_some());
        // Acked at last (cumulative TSN 101, 103..=106 in a gap); a FORWARD-TSN skips 102.
        s.on_sack(t3 + ms(10), 101, 1 << 20, [gap(2, 5)].into_iter());
        assert!(s.fwd_needed);
        let mut entries = Vec::new();
        assert_eq!(s.forward_tsn(t3 + ms(10), 100, &mut entries), Some(102));
    }

    #[test]
    fn forward_tsn_that_does_not_fit_lowers_the_cumulative_tsn() {
        #[allow(clippy::disallowed_methods)] // a base for virtual time only
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Sender::new(100, 1200, ms(1000), ms(400), ms(60_000));
        s.pr_supported = true;
        s.start(100, 1 << 20);
        let once = Policy {
            max_retx: Some(0),
            lifetime: None,
        };
        for stream in [1, 3, 5] {
            s.enqueue(stream, 53, Bytes::from_static(b"gone"), false, once, t0);
        }
        let mut out = Vec::new();
        assert!(s.fill(&mut out, t0));
        // All three are lost: T3 abandons them (RFC 3758 §3.5 A1-A3).
        s.on_t3_expiry(t0 + ms(1000));
        let mut entries = Vec::new();
        // Room for two entries: the new cumulative TSN stops before the third stream.
        assert_eq!(s.forward_tsn(t0 + ms(1000), 2, &mut entries), Some(101));
        assert_eq!(
            entries.iter().map(|e| e.stream).collect::<Vec<_>>(),
            vec![1, 3]
        );
        // No room at all: nothing now, but it goes into the next packet.
        s.on_sack(t0 + ms(1010), 101, 1 << 20, std::iter::empty());
        assert_eq!(s.forward_tsn(t0 + ms(1010), 0, &mut entries), None);
        assert!(s.fwd_needed);
        assert_eq!(s.forward_tsn(t0 + ms(1010), 2, &mut entries), Some(102));
        assert_eq!(
            entries.iter().map(|e| e.stream).collect::<Vec<_>>(),
            vec![5]
        );
    }
}
