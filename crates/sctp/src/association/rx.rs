//! Receive side: TSN tracking, SACK contents, reassembly and ordered delivery
//! (RFC 9260 §6.2, §6.5, §6.6, §6.9; RFC 8260 §2.1; RFC 3758 §3.6).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::wire::chunk::{DataChunk, ForwardTsnEntry, GapBlock, data_flags};

/// Bytes charged per stored chunk on top of its payload, so that a peer cannot exhaust
/// memory with 1-byte fragments inside the advertised window.
const CHUNK_OVERHEAD: usize = 64;
/// Most duplicate TSNs remembered for the next SACK.
const MAX_DUPS: usize = 32;
/// Most TSNs ahead of the cumulative ack we track at all.
const MAX_TSN_AHEAD: u64 = 1 << 20;

/// A reassembled user message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RxMessage {
    pub stream: u16,
    pub ppid: u32,
    pub data: Bytes,
    /// Discarded (too large): holds its place in the stream order, is never delivered.
    pub dropped: bool,
}

#[derive(Debug)]
struct Frag {
    flags: u8,
    stream: u16,
    ssn: u16,
    ppid: u32,
    data: Bytes,
}

#[derive(Debug, Default)]
struct Partial {
    frags: BTreeMap<u32, Bytes>,
    ppid: Option<u32>,
    last: Option<u32>,
    seen: u32,
    bytes: usize,
    too_large: bool,
}

#[derive(Debug, Default)]
struct InStream {
    next: u32,
    ready: BTreeMap<u32, RxMessage>,
}

/// What happened to one DATA chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataOutcome {
    /// Stored (and possibly completed a message).
    Accepted,
    /// Already received: reported in the next SACK.
    Duplicate,
    /// No room: dropped without recording its TSN (the peer retransmits).
    Dropped,
    /// A message exceeded the maximum message size and was discarded.
    TooLarge { size: usize },
    /// The receive buffer is full of data that can never be delivered (reassembly bomb).
    Exhausted,
}

/// Receive-side state of an established association.
#[derive(Debug)]
pub(crate) struct Receiver {
    interleaved: bool,
    cum: u64,
    above: BTreeSet<u64>,
    frags: BTreeMap<u64, Frag>,
    partial: HashMap<(u16, bool, u32), Partial>,
    streams: HashMap<u16, InStream>,
    buffered: usize,
    window: usize,
    max_message: usize,
    dups: Vec<u32>,
    gaps_scratch: Vec<GapBlock>,
    /// Completed messages in delivery order.
    pub ready: VecDeque<RxMessage>,
    /// Packets with DATA since the last SACK.
    pub packets_unacked: u32,
    /// A SACK must go out now.
    pub ack_now: bool,
    /// Delayed-SACK deadline.
    pub ack_deadline: Option<Instant>,
}

fn serial_le32(a: u32, b: u32) -> bool {
    b.wrapping_sub(a) < 0x8000_0000
}

impl Receiver {
    pub fn new(
        peer_initial_tsn: u32,
        interleaved: bool,
        window: usize,
        max_message: usize,
    ) -> Self {
        Receiver {
            interleaved,
            // Any representative ≥ 2^31 keeps unwrapping free of underflow.
            cum: (1u64 << 32) + u64::from(peer_initial_tsn.wrapping_sub(1)),
            above: BTreeSet::new(),
            frags: BTreeMap::new(),
            partial: HashMap::new(),
            streams: HashMap::new(),
            buffered: 0,
            window,
            max_message,
            dups: Vec::new(),
            gaps_scratch: Vec::new(),
            ready: VecDeque::new(),
            packets_unacked: 0,
            ack_now: false,
            ack_deadline: None,
        }
    }

    fn unwrap(&self, tsn: u32) -> u64 {
        let diff = i64::from(tsn.wrapping_sub(self.cum as u32) as i32);
        self.cum.wrapping_add_signed(diff)
    }

    /// Cumulative TSN (wire form).
    pub fn cum_tsn(&self) -> u32 {
        self.cum as u32
    }

    /// Whether `tsn` is at or below the cumulative TSN.
    pub fn has_reached(&self, tsn: u32) -> bool {
        self.unwrap(tsn) <= self.cum
    }

    /// Bytes held (reassembly plus undelivered ordered messages).
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Receive window to advertise given `extra` bytes held elsewhere (the event queue).
    pub fn a_rwnd(&self, extra: usize) -> u32 {
        let free = self
            .window
            .saturating_sub(self.buffered.saturating_add(extra));
        u32::try_from(free).unwrap_or(u32::MAX)
    }

    /// Whether there are holes in the received TSN space.
    pub fn has_gaps(&self) -> bool {
        !self.above.is_empty()
    }

    fn cost(len: usize) -> usize {
        len + CHUNK_OVERHEAD
    }

    /// Process one DATA / I-DATA chunk. `payload` is `d.payload` as shared bytes.
    pub fn on_data(&mut self, d: &DataChunk<'_>, payload: Bytes, extra: usize) -> DataOutcome {
        let t = self.unwrap(d.tsn);
        if t <= self.cum || self.above.contains(&t) {
            // RFC 9260 §6.2: report duplicates in the next SACK, sent immediately (§6.7).
            if self.dups.len() < MAX_DUPS {
                self.dups.push(d.tsn);
            }
            self.ack_now = true;
            return DataOutcome::Duplicate;
        }
        if t - self.cum > MAX_TSN_AHEAD {
            return DataOutcome::Dropped;
        }
        let cost = Self::cost(payload.len());
        let used = self.buffered.saturating_add(extra);
        if used + cost > self.window {
            // RFC 9260 §6.2: with no buffer space, drop DATA; keep room to fill the next hole
            // so progress is always possible.
            let fills_hole = t == self.cum + 1;
            if !fills_hole || used + cost > self.window + self.window / 8 {
                if !self.has_gaps()
                    && self.buffered + cost > self.window
                    && self.frags.len() + self.partial.len() > 0
                {
                    // Everything up to the cumulative TSN is here and nothing completes:
                    // the peer is filling our window with messages that never end.
                    return DataOutcome::Exhausted;
                }
                return DataOutcome::Dropped;
            }
        }
        if t == self.cum + 1 {
            self.cum = t;
            while self.above.remove(&(self.cum + 1)) {
                self.cum += 1;
            }
        } else {
            self.above.insert(t);
            // RFC 9260 §6.7: a gap means the SACK goes out immediately.
            self.ack_now = true;
        }
        self.buffered += cost;
        if d.immediate() {
            self.ack_now = true;
        }
        if self.interleaved {
            self.insert_idata(d, payload)
        } else {
            self.insert_data(t, d, payload)
        }
    }

    fn insert_data(&mut self, t: u64, d: &DataChunk<'_>, payload: Bytes) -> DataOutcome {
        let ending = d.ending();
        self.frags.insert(
            t,
            Frag {
                flags: d.flags,
                stream: d.stream,
                ssn: d.ssn,
                ppid: d.ppid,
                data: payload,
            },
        );
        if !ending && !self.frags.contains_key(&(t + 1)) {
            return DataOutcome::Accepted;
        }
        // RFC 9260 §6.9: fragments of one message carry consecutive TSNs, B on the first and
        // E on the last; find both ends around `t`.
        let mut start = t;
        loop {
            match self.frags.get(&start) {
                Some(f) if f.flags & data_flags::B != 0 => break,
                Some(_) if self.frags.contains_key(&(start - 1)) => start -= 1,
                _ => return DataOutcome::Accepted,
            }
        }
        let mut end = t;
        loop {
            match self.frags.get(&end) {
                Some(f) if f.flags & data_flags::E != 0 => break,
                Some(_) if self.frags.contains_key(&(end + 1)) => end += 1,
                _ => return DataOutcome::Accepted,
            }
        }
        let mut parts: Vec<Frag> = Vec::new();
        for tsn in start..=end {
            if let Some(f) = self.frags.remove(&tsn) {
                self.buffered = self.buffered.saturating_sub(Self::cost(f.data.len()));
                parts.push(f);
            }
        }
        let Some(first) = parts.first() else {
            return DataOutcome::Accepted;
        };
        let (stream, ssn, ppid, flags) = (first.stream, first.ssn, first.ppid, first.flags);
        // A peer that changes stream or ordering mid-message is broken; drop the message.
        if parts
            .iter()
            .any(|f| f.stream != stream || (f.flags ^ flags) & data_flags::U != 0)
        {
            return DataOutcome::Accepted;
        }
        let size: usize = parts.iter().map(|f| f.data.len()).sum();
        let too_large = size > self.max_message;
        let data = if too_large {
            Bytes::new()
        } else {
            concat(parts.into_iter().map(|f| f.data), size)
        };
        let msg = RxMessage {
            stream,
            ppid,
            data,
            dropped: too_large,
        };
        if flags & data_flags::U != 0 {
            if !too_large {
                self.ready.push_back(msg);
            }
        } else {
            // An ordered message keeps its SSN slot even when discarded.
            self.push_ordered(u32::from(ssn), msg);
        }
        if too_large {
            DataOutcome::TooLarge { size }
        } else {
            DataOutcome::Accepted
        }
    }

    fn insert_idata(&mut self, d: &DataChunk<'_>, payload: Bytes) -> DataOutcome {
        let key = (d.stream, d.unordered(), d.mid);
        let max = self.max_message;
        let p = self.partial.entry(key).or_default();
        if d.beginning() {
            p.ppid = Some(d.ppid);
        }
        if d.ending() {
            p.last = Some(d.fsn);
        }
        p.seen = p.seen.saturating_add(1);
        if p.too_large {
            self.buffered = self.buffered.saturating_sub(Self::cost(payload.len()));
        } else {
            p.bytes += payload.len();
            if p.frags.insert(d.fsn, payload).is_some() {
                // Same FSN twice under different TSNs: count it once.
                p.seen = p.seen.saturating_sub(1);
            }
            if p.bytes > max {
                p.too_large = true;
            }
        }
        let complete = p.ppid.is_some() && p.last.is_some_and(|l| l.checked_add(1) == Some(p.seen));
        if !complete {
            if p.too_large && !p.frags.is_empty() {
                let freed: usize = p.frags.values().map(|b| Self::cost(b.len())).sum();
                p.frags.clear();
                self.buffered = self.buffered.saturating_sub(freed);
            }
            return DataOutcome::Accepted;
        }
        let Some(p) = self.partial.remove(&key) else {
            return DataOutcome::Accepted;
        };
        let freed: usize = p.frags.values().map(|b| Self::cost(b.len())).sum();
        self.buffered = self.buffered.saturating_sub(freed);
        let size = p.bytes;
        let data = if p.too_large {
            Bytes::new()
        } else {
            concat(p.frags.into_values(), size)
        };
        let msg = RxMessage {
            stream: d.stream,
            ppid: p.ppid.unwrap_or(0),
            data,
            dropped: p.too_large,
        };
        if d.unordered() {
            if !p.too_large {
                self.ready.push_back(msg);
            }
        } else {
            // An ordered message keeps its MID slot even when discarded.
            self.push_ordered(d.mid, msg);
        }
        if p.too_large {
            DataOutcome::TooLarge { size }
        } else {
            DataOutcome::Accepted
        }
    }

    fn push_ordered(&mut self, seq: u32, msg: RxMessage) {
        let stream = msg.stream;
        let interleaved = self.interleaved;
        let st = self.streams.entry(stream).or_default();
        if seq == st.next {
            st.next = if interleaved {
                seq.wrapping_add(1)
            } else {
                seq.wrapping_add(1) & 0xffff
            };
            self.ready.push_back(msg);
            self.drain_stream(stream);
        } else {
            self.buffered += Self::cost(msg.data.len());
            st.ready.insert(seq, msg);
        }
    }

    fn drain_stream(&mut self, stream: u16) {
        let interleaved = self.interleaved;
        loop {
            let Some(st) = self.streams.get_mut(&stream) else {
                return;
            };
            let Some(msg) = st.ready.remove(&st.next) else {
                return;
            };
            st.next = if interleaved {
                st.next.wrapping_add(1)
            } else {
                st.next.wrapping_add(1) & 0xffff
            };
            self.buffered = self.buffered.saturating_sub(Self::cost(msg.data.len()));
            self.ready.push_back(msg);
        }
    }

    /// RFC 3758 §3.6 / RFC 8260 §2.3.1: move the cumulative TSN forward and skip abandoned
    /// messages.
    pub fn on_forward_tsn(&mut self, new_cum: u32, entries: impl Iterator<Item = ForwardTsnEntry>) {
        self.ack_now = true;
        let t = self.unwrap(new_cum);
        if t <= self.cum {
            return;
        }
        self.cum = t;
        self.above = self.above.split_off(&(t + 1));
        while self.above.remove(&(self.cum + 1)) {
            self.cum += 1;
        }
        // Fragments at or below the new cumulative TSN belong to abandoned messages.
        let keep = self.frags.split_off(&(t + 1));
        for f in std::mem::replace(&mut self.frags, keep).into_values() {
            self.buffered = self.buffered.saturating_sub(Self::cost(f.data.len()));
        }
        for e in entries {
            if self.interleaved {
                let gone: Vec<_> = self
                    .partial
                    .keys()
                    .filter(|(s, u, m)| {
                        *s == e.stream && *u == e.unordered && serial_le32(*m, e.seq)
                    })
                    .copied()
                    .collect();
                for k in gone {
                    if let Some(p) = self.partial.remove(&k) {
                        let freed: usize = p.frags.values().map(|b| Self::cost(b.len())).sum();
                        self.buffered = self.buffered.saturating_sub(freed);
                    }
                }
                if e.unordered {
                    continue;
                }
            }
            self.skip_to(e.stream, e.seq);
        }
    }

    /// Deliver ordered messages up to and including `seq`, then expect `seq + 1`.
    fn skip_to(&mut self, stream: u16, seq: u32) {
        let mask: u32 = if self.interleaved { u32::MAX } else { 0xffff };
        let half = mask / 2;
        let st = self.streams.entry(stream).or_default();
        // Only move forward (serially) — an old FORWARD-TSN must not rewind the stream.
        if seq.wrapping_sub(st.next) & mask > half {
            return;
        }
        let mut keys: Vec<u32> = st
            .ready
            .keys()
            .copied()
            .filter(|k| k.wrapping_sub(st.next) & mask <= seq.wrapping_sub(st.next) & mask)
            .collect();
        let base = st.next;
        keys.sort_by_key(|k| k.wrapping_sub(base) & mask);
        let mut out = Vec::new();
        for k in keys {
            if let Some(m) = st.ready.remove(&k) {
                out.push(m);
            }
        }
        st.next = seq.wrapping_add(1) & mask;
        for m in out {
            self.buffered = self.buffered.saturating_sub(Self::cost(m.data.len()));
            self.ready.push_back(m);
        }
        self.drain_stream(stream);
    }

    /// RFC 6525 §5.2.2: reset an incoming stream's sequence number to 0.
    pub fn reset_stream(&mut self, stream: u16) {
        if let Some(st) = self.streams.get_mut(&stream) {
            st.next = 0;
        }
        self.drain_stream(stream);
    }

    /// Note a packet that carried DATA, for the delayed-SACK rule (RFC 9260 §6.2: SACK at
    /// least every second packet, and within the delayed-ack time).
    pub fn note_data_packet(&mut self, now: Instant, delay: std::time::Duration) {
        self.packets_unacked += 1;
        if self.packets_unacked >= 2 {
            self.ack_now = true;
        } else if self.ack_deadline.is_none() {
            self.ack_deadline = Some(now + delay);
        }
    }

    /// Whether a SACK is owed (now or later).
    pub fn ack_owed(&self) -> bool {
        self.ack_now || self.ack_deadline.is_some()
    }

    /// Append a SACK and reset the ack state.
    pub fn emit_sack(&mut self, out: &mut Vec<u8>, room: usize, extra: usize) {
        let dups_room = self.dups.len().min(room.saturating_sub(16) / 8);
        let max_gaps = (room.saturating_sub(16 + 4 * dups_room) / 4).min(256);
        self.gaps_scratch.clear();
        let mut run: Option<(u64, u64)> = None;
        for &t in &self.above {
            match run {
                Some((s, e)) if t == e + 1 => run = Some((s, t)),
                Some((s, e)) => {
                    self.gaps_scratch.push(gap(self.cum, s, e));
                    run = Some((t, t));
                }
                None => run = Some((t, t)),
            }
            if self.gaps_scratch.len() >= max_gaps || t - self.cum > 0xffff {
                run = None;
                break;
            }
        }
        if let Some((s, e)) = run {
            self.gaps_scratch.push(gap(self.cum, s, e));
        }
        let a_rwnd = self.a_rwnd(extra);
        crate::wire::chunk::emit_sack(
            out,
            self.cum as u32,
            a_rwnd,
            &self.gaps_scratch,
            self.dups.get(..dups_room).unwrap_or(&[]),
        );
        self.dups.clear();
        self.packets_unacked = 0;
        self.ack_now = false;
        self.ack_deadline = None;
    }
}

fn gap(cum: u64, s: u64, e: u64) -> GapBlock {
    GapBlock {
        start: u16::try_from(s - cum).unwrap_or(u16::MAX),
        end: u16::try_from(e - cum).unwrap_or(u16::MAX),
    }
}

fn concat(parts: impl Iterator<Item = Bytes>, size: usize) -> Bytes {
    let mut parts = parts.peekable();
    let Some(first) = parts.next() else {
        return Bytes::new();
    };
    if parts.peek().is_none() {
        return first;
    }
    let mut buf = BytesMut::with_capacity(size);
    buf.extend_from_slice(&first);
    for p in parts {
        buf.extend_from_slice(&p);
    }
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(tsn: u32, flags: u8, ssn: u16, payload: &[u8]) -> DataChunk<'_> {
        DataChunk {
            interleaved: false,
            flags,
            tsn,
            stream: 1,
            ssn,
            mid: u32::from(ssn),
            fsn: 0,
            ppid: 53,
            payload,
        }
    }

    const BE: u8 = data_flags::B | data_flags::E;

    #[test]
    fn in_order_and_reordered_fragments() {
        let mut r = Receiver::new(u32::MAX - 1, false, 1 << 20, 1 << 20);
        // TSNs wrap: u32::MAX-1, u32::MAX, 0.
        let a = chunk(u32::MAX - 1, data_flags::B, 0, b"ab");
        let b = chunk(u32::MAX, 0, 0, b"cd");
        let c = chunk(0, data_flags::E, 0, b"ef");
        assert_eq!(
            r.on_data(&c, Bytes::from_static(b"ef"), 0),
            DataOutcome::Accepted
        );
        assert!(r.has_gaps());
        assert_eq!(
            r.on_data(&a, Bytes::from_static(b"ab"), 0),
            DataOutcome::Accepted
        );
        assert_eq!(
            r.on_data(&b, Bytes::from_static(b"cd"), 0),
            DataOutcome::Accepted
        );
        assert_eq!(
            r.ready.pop_front().unwrap().data,
            Bytes::from_static(b"abcdef")
        );
        assert_eq!(r.cum_tsn(), 0);
        assert_eq!(r.buffered(), 0);
        assert_eq!(
            r.on_data(&b, Bytes::from_static(b"cd"), 0),
            DataOutcome::Duplicate
        );
    }

    #[test]
    fn ordered_waits_for_ssn() {
        let mut r = Receiver::new(10, false, 1 << 20, 1 << 20);
        let m1 = chunk(11, BE, 1, b"1");
        let m0 = chunk(10, BE, 0, b"0");
        r.on_data(&m1, Bytes::from_static(b"1"), 0);
        assert!(r.ready.is_empty());
        r.on_data(&m0, Bytes::from_static(b"0"), 0);
        let got: Vec<_> = r.ready.drain(..).map(|m| m.data).collect();
        assert_eq!(
            got,
            vec![Bytes::from_static(b"0"), Bytes::from_static(b"1")]
        );
    }

    #[test]
    fn sack_gap_blocks() {
        let mut r = Receiver::new(100, false, 1 << 20, 1 << 20);
        for t in [100u32, 102, 103, 105] {
            let c = chunk(t, data_flags::U | BE, 0, b"x");
            r.on_data(&c, Bytes::from_static(b"x"), 0);
        }
        let mut out = Vec::new();
        r.emit_sack(&mut out, 1000, 0);
        let crate::wire::Chunk::Sack(s) = crate::wire::ChunkIter::new(&out, 0)
            .next()
            .unwrap()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(s.cum_tsn_ack, 100);
        let gaps: Vec<_> = s.gap_blocks().map(|g| (g.start, g.end)).collect();
        assert_eq!(gaps, vec![(2, 3), (5, 5)]);
    }
}
