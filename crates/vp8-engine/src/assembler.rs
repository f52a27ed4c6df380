//! Frame assembler: RTP packets of a VP8 stream → complete encoded frames.
//!
//! RFC 7741 §4.1: all packets of a frame share the RTP timestamp and the last one carries the
//! marker bit; §4.2: the first one has S = 1 and PID = 0. A frame is complete when a run of
//! consecutive sequence numbers with the same timestamp goes from such a first packet to a
//! marked packet. Frames may complete out of order (reordering); the frame buffer orders them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::config::ReceiverConfig;
use crate::error::Error;
use crate::wire::{Vp8Descriptor, Vp8Packet, Vp8PayloadHeader};

/// One complete encoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembledFrame {
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    /// Extended sequence number of the first packet.
    pub first_seq: u64,
    /// Extended sequence number of the last (marked) packet.
    pub last_seq: u64,
    /// Descriptor of the first packet (PictureID, TL0PICIDX, TID, N).
    pub descriptor: Vp8Descriptor,
    /// The VP8 payload header, checked against the frame.
    pub header: Vp8PayloadHeader,
    /// The VP8 frame, descriptors removed.
    pub data: Bytes,
}

impl AssembledFrame {
    /// Whether this is a key frame.
    #[must_use]
    pub fn is_key_frame(&self) -> bool {
        self.header.is_key_frame()
    }
}

#[derive(Debug, Clone)]
struct Stored {
    timestamp: u32,
    marker: bool,
    frame_start: bool,
    descriptor: Vp8Descriptor,
    payload: Bytes,
}

/// What one packet did to the assembler.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InsertOutcome {
    /// The frame this packet completed, if any.
    pub frame: Option<AssembledFrame>,
    /// The missing-sequence list overflowed and was cleared: request a key frame.
    pub nack_overflow: bool,
}

/// Collects packets into frames; bounded in packets, bytes per frame and missing entries.
#[derive(Debug, Clone)]
pub struct FrameAssembler {
    max_packets: usize,
    max_frame_bytes: usize,
    max_missing: usize,
    max_pixels: u32,
    highest: Option<u64>,
    packets: BTreeMap<u64, Stored>,
    missing: BTreeSet<u64>,
    /// `(first, last)` of recently completed frames, to drop late duplicates.
    completed: VecDeque<(u64, u64)>,
}

const COMPLETED_MEMORY: usize = 256;

impl FrameAssembler {
    /// An empty assembler with the limits of `cfg`.
    #[must_use]
    pub fn new(cfg: &ReceiverConfig) -> Self {
        Self {
            max_packets: cfg.max_buffered_packets.max(1),
            max_frame_bytes: cfg.max_frame_bytes,
            max_missing: cfg.max_missing_packets,
            max_pixels: cfg.max_frame_pixels,
            highest: None,
            packets: BTreeMap::new(),
            missing: BTreeSet::new(),
            completed: VecDeque::new(),
        }
    }

    /// Sequence numbers (16-bit) detected missing and not yet received, oldest first — the
    /// NACK list for the RTP layer.
    pub fn missing(&self) -> impl Iterator<Item = u16> + '_ {
        self.missing.iter().map(|s| *s as u16)
    }

    /// Packets held waiting for their frame to complete.
    #[must_use]
    pub fn buffered_packets(&self) -> usize {
        self.packets.len()
    }

    /// Extends a 16-bit sequence number against the highest one seen (RFC 3550 A.1 style).
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            return u64::from(seq) + (1 << 16);
        };
        let delta = seq.wrapping_sub(h as u16) as i16;
        h.saturating_add_signed(i64::from(delta))
    }

    /// Adds one RTP packet of the stream.
    ///
    /// # Errors
    /// A packet that does not parse ([`Vp8Packet::parse`]) changes nothing. When the packet
    /// completes a frame that fails [`Vp8PayloadHeader::parse_frame`] or exceeds the byte limit,
    /// that frame's packets are discarded and the error returned.
    pub fn insert(
        &mut self,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Result<InsertOutcome, Error> {
        let parsed = Vp8Packet::parse(payload)?;
        if payload.len() > self.max_frame_bytes {
            return Err(Error::FrameBytesExceeded {
                len: payload.len(),
                max: self.max_frame_bytes,
            });
        }
        let ext = self.extend(seq);
        let mut out = InsertOutcome::default();
        if self.packets.contains_key(&ext)
            || self.completed.iter().any(|(a, b)| (*a..=*b).contains(&ext))
        {
            return Ok(out); // duplicate
        }
        match self.highest {
            Some(h) if ext > h => {
                let gap = ext - h - 1;
                if gap as usize > self.max_missing
                    || self.missing.len() + gap as usize > self.max_missing
                {
                    // The NACK list would overflow: forget it; a key frame is needed.
                    self.missing.clear();
                    self.packets.clear();
                    out.nack_overflow = true;
                } else {
                    self.missing.extend(h + 1..ext);
                }
                self.highest = Some(ext);
            }
            Some(_) => {
                self.missing.remove(&ext);
            }
            None => self.highest = Some(ext),
        }
        if let Some(h) = self.highest {
            // Anything older than the packet window can no longer be repaired in time.
            let floor = h.saturating_sub(self.max_packets as u64);
            self.missing = self.missing.split_off(&floor);
            self.packets = self.packets.split_off(&floor);
        }
        self.packets.insert(
            ext,
            Stored {
                timestamp,
                marker,
                frame_start: parsed.descriptor.is_frame_start(),
                descriptor: parsed.descriptor,
                payload: Bytes::copy_from_slice(parsed.payload),
            },
        );
        out.frame = self.try_complete(ext)?;
        Ok(out)
    }

    fn try_complete(&mut self, ext: u64) -> Result<Option<AssembledFrame>, Error> {
        let Some(ts) = self.packets.get(&ext).map(|p| p.timestamp) else {
            return Ok(None);
        };
        fn same(p: Option<&Stored>, ts: u32) -> Option<&Stored> {
            p.filter(|p| p.timestamp == ts)
        }
        let mut first = ext;
        loop {
            let Some(p) = same(self.packets.get(&first), ts) else {
                return Ok(None);
            };
            if p.frame_start {
                break;
            }
            first = match first.checked_sub(1) {
                Some(f) => f,
                None => return Ok(None),
            };
        }
        let mut last = ext;
        loop {
            let Some(p) = same(self.packets.get(&last), ts) else {
                return Ok(None);
            };
            if p.marker {
                break;
            }
            last += 1;
        }
        let parts: Vec<Stored> = (first..=last)
            .filter_map(|s| self.packets.remove(&s))
            .collect();
        self.completed.push_back((first, last));
        if self.completed.len() > COMPLETED_MEMORY {
            self.completed.pop_front();
        }
        let total: usize = parts.iter().map(|p| p.payload.len()).sum();
        if total > self.max_frame_bytes {
            return Err(Error::FrameBytesExceeded {
                len: total,
                max: self.max_frame_bytes,
            });
        }
        let mut data = Vec::with_capacity(total);
        for p in &parts {
            data.extend_from_slice(&p.payload);
        }
        let header = Vp8PayloadHeader::parse_frame(&data, self.max_pixels)?;
        let descriptor = parts.first().map(|p| p.descriptor).unwrap_or_default();
        Ok(Some(AssembledFrame {
            timestamp: ts,
            first_seq: first,
            last_seq: last,
            descriptor,
            header,
            data: Bytes::from(data),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packetizer::{FrameToSend, PacketizerConfig, Vp8Packetizer};
    use crate::wire::header::emit_header;

    fn packets(len: usize, key: bool, mtu: usize) -> Vec<Bytes> {
        let mut f = emit_header(10, key.then_some((32, 32)));
        f.resize(len, 7);
        let mut p = Vp8Packetizer::new(PacketizerConfig {
            mtu,
            ..Default::default()
        });
        p.packetize(&FrameToSend {
            data: &f,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn test_reordered_frame_completes() {
        let mut a = FrameAssembler::new(&ReceiverConfig::default());
        let pk = packets(3000, true, 1000);
        assert_eq!(pk.len(), 4);
        let order = [2usize, 0, 3, 1];
        let mut done = None;
        for &i in &order {
            let r = a
                .insert(65534u16.wrapping_add(i as u16), 90, i == 3, &pk[i])
                .unwrap();
            if r.frame.is_some() {
                done = r.frame;
            }
        }
        let f = done.unwrap();
        assert!(f.is_key_frame());
        assert_eq!(f.data.len(), 3000);
        assert_eq!(f.last_seq - f.first_seq, 3);
        assert_eq!(a.buffered_packets(), 0);
        assert_eq!(a.missing().count(), 0);
    }

    #[test]
    fn test_gap_never_completes_and_is_listed() {
        let mut a = FrameAssembler::new(&ReceiverConfig::default());
        let pk = packets(3000, true, 1000);
        for i in [0usize, 1, 3] {
            assert!(
                a.insert(100 + i as u16, 90, i == 3, &pk[i])
                    .unwrap()
                    .frame
                    .is_none()
            );
        }
        assert_eq!(a.missing().collect::<Vec<_>>(), vec![102]);
        // A duplicate changes nothing; the missing packet completes the frame.
        assert!(a.insert(101, 90, false, &pk[1]).unwrap().frame.is_none());
        assert!(a.insert(102, 90, false, &pk[2]).unwrap().frame.is_some());
        // A late duplicate of a completed frame is dropped.
        assert!(a.insert(100, 90, false, &pk[0]).unwrap().frame.is_none());
        assert_eq!(a.buffered_packets(), 0);
    }

    #[test]
    fn test_nack_overflow() {
        let cfg = ReceiverConfig {
            max_missing_packets: 10,
            ..Default::default()
        };
        let mut a = FrameAssembler::new(&cfg);
        let pk = packets(100, true, 1200);
        a.insert(0, 0, true, &pk[0]).unwrap();
        let r = a.insert(50, 3000, true, &pk[0]).unwrap();
        assert!(r.nack_overflow);
        assert_eq!(a.missing().count(), 0);
        assert!(r.frame.is_some());
    }
}
