//! The packet buffer: packets waiting to be decoded, ordered by (extended) timestamp.

use std::collections::VecDeque;

/// How a buffered entry is to be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketKind {
    /// The packet's own audio.
    Primary,
    /// In-band FEC for this timestamp carried by the next packet; replaced if the primary arrives.
    Fec,
    /// Comfort noise / DTX.
    ComfortNoise {
        /// RFC 3389 level in -dBov, if the payload gives one.
        level_dbov: Option<u8>,
    },
}

/// One buffered packet. Timestamps and durations are in output samples.
#[derive(Debug, Clone)]
pub(crate) struct Packet {
    /// Extended (unwrapped) timestamp converted to output samples.
    pub ts: i64,
    pub payload_type: u8,
    pub payload: Vec<u8>,
    pub duration: usize,
    /// Arrival time on the playout clock, in output samples.
    pub arrival: u64,
    pub kind: PacketKind,
}

impl Packet {
    pub fn end(&self) -> i64 {
        self.ts.saturating_add(self.duration as i64)
    }
}

/// What inserting a packet did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    New,
    /// The primary packet replaced an FEC entry for the same timestamp.
    ReplacedFec,
    /// Same timestamp already buffered (duplicate or a lower-priority FEC copy).
    Duplicate,
    /// The buffer was full: it was flushed (this many packets dropped) and the packet inserted.
    Flushed(usize),
}

#[derive(Debug)]
pub(crate) struct PacketBuffer {
    packets: VecDeque<Packet>,
    max_packets: usize,
}

impl PacketBuffer {
    pub fn new(max_packets: usize) -> PacketBuffer {
        PacketBuffer {
            packets: VecDeque::new(),
            max_packets: max_packets.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.packets.len()
    }

    pub fn front(&self) -> Option<&Packet> {
        self.packets.front()
    }

    pub fn pop_front(&mut self) -> Option<Packet> {
        self.packets.pop_front()
    }

    pub fn contains_ts(&self, ts: i64) -> bool {
        self.packets.binary_search_by_key(&ts, |p| p.ts).is_ok()
    }

    /// Inserts keeping timestamp order. Equal timestamps: a primary beats an FEC copy, anything
    /// else is a duplicate and is dropped.
    pub fn insert(&mut self, packet: Packet) -> Inserted {
        match self.packets.binary_search_by_key(&packet.ts, |p| p.ts) {
            Ok(i) => {
                let Some(existing) = self.packets.get_mut(i) else {
                    return Inserted::Duplicate;
                };
                if existing.kind == PacketKind::Fec && packet.kind != PacketKind::Fec {
                    *existing = packet;
                    Inserted::ReplacedFec
                } else {
                    Inserted::Duplicate
                }
            }
            Err(i) => {
                if self.packets.len() >= self.max_packets {
                    let flushed = self.flush();
                    self.packets.push_back(packet);
                    Inserted::Flushed(flushed)
                } else {
                    self.packets.insert(i, packet);
                    Inserted::New
                }
            }
        }
    }

    /// Drops every packet; returns how many primary packets were dropped.
    pub fn flush(&mut self) -> usize {
        let n = self
            .packets
            .iter()
            .filter(|p| p.kind != PacketKind::Fec)
            .count();
        self.packets.clear();
        n
    }

    /// Drops packets that end at or before `ts` (their time has passed); returns how many primary
    /// packets were dropped (FEC copies are not counted: they were never needed).
    pub fn discard_before(&mut self, ts: i64) -> usize {
        let mut n = 0;
        while let Some(p) = self.packets.front() {
            // Zero-length (comfort noise) packets are stale once strictly in the past.
            let stale = if p.duration == 0 {
                p.ts < ts
            } else {
                p.end() <= ts
            };
            if !stale {
                break;
            }
            if p.kind != PacketKind::Fec {
                n += 1;
            }
            self.packets.pop_front();
        }
        n
    }

    /// Media span buffered from `from` (the playout point): the end of the newest packet minus
    /// `from`, or 0. Unlike [`PacketBuffer::buffered_samples`], holes (packets lost or still in
    /// flight) count: the span is how far ahead of the playout point the network has delivered,
    /// which is the delay the buffer holds.
    pub fn span_samples(&self, from: i64) -> usize {
        self.packets.back().map_or(0, |p| {
            usize::try_from(p.end().saturating_sub(from)).unwrap_or(0)
        })
    }

    /// Audio samples buffered (sum of durations).
    pub fn buffered_samples(&self) -> usize {
        self.packets.iter().map(|p| p.duration).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(ts: i64, kind: PacketKind) -> Packet {
        Packet {
            ts,
            payload_type: 0,
            payload: vec![0; 4],
            duration: 160,
            arrival: 0,
            kind,
        }
    }

    #[test]
    fn keeps_timestamp_order_under_reordering() {
        let mut b = PacketBuffer::new(10);
        for ts in [320, 0, 480, 160] {
            assert_eq!(b.insert(pkt(ts, PacketKind::Primary)), Inserted::New);
        }
        let order: Vec<i64> = std::iter::from_fn(|| b.pop_front().map(|p| p.ts)).collect();
        assert_eq!(order, vec![0, 160, 320, 480]);
    }

    #[test]
    fn duplicates_and_fec_priority() {
        let mut b = PacketBuffer::new(10);
        assert_eq!(b.insert(pkt(0, PacketKind::Fec)), Inserted::New);
        assert_eq!(b.insert(pkt(0, PacketKind::Fec)), Inserted::Duplicate);
        assert_eq!(b.insert(pkt(0, PacketKind::Primary)), Inserted::ReplacedFec);
        assert_eq!(b.insert(pkt(0, PacketKind::Fec)), Inserted::Duplicate);
        assert_eq!(b.insert(pkt(0, PacketKind::Primary)), Inserted::Duplicate);
        assert_eq!(b.len(), 1);
        assert_eq!(b.front().map(|p| p.kind), Some(PacketKind::Primary));
    }

    #[test]
    fn overflow_flushes() {
        let mut b = PacketBuffer::new(3);
        for i in 0..3 {
            b.insert(pkt(i * 160, PacketKind::Primary));
        }
        assert_eq!(
            b.insert(pkt(480, PacketKind::Primary)),
            Inserted::Flushed(3)
        );
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn span_counts_holes() {
        let mut b = PacketBuffer::new(10);
        assert_eq!(b.span_samples(0), 0);
        for ts in [0, 480] {
            b.insert(pkt(ts, PacketKind::Primary));
        }
        assert_eq!(b.buffered_samples(), 320);
        assert_eq!(b.span_samples(0), 640);
        assert_eq!(b.span_samples(-160), 800);
        assert_eq!(b.span_samples(1000), 0);
    }

    #[test]
    fn discard_before_counts_primaries_only() {
        let mut b = PacketBuffer::new(10);
        b.insert(pkt(0, PacketKind::Fec));
        b.insert(pkt(160, PacketKind::Primary));
        b.insert(pkt(320, PacketKind::Primary));
        assert_eq!(b.discard_before(400), 1);
        assert_eq!(b.front().map(|p| p.ts), Some(320));
        assert_eq!(b.buffered_samples(), 160);
    }
}
