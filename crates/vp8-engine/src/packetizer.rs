//! RFC 7741 payloader: one encoded VP8 frame → RTP payloads no larger than the MTU.

use bytes::Bytes;

use crate::error::Error;
use crate::wire::{PictureId, TemporalInfo, Vp8Descriptor, Vp8PayloadHeader};

/// Which PictureID the packetizer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PictureIdMode {
    /// No PictureID (I = 0).
    None,
    /// 7-bit PictureID.
    Short,
    /// 15-bit PictureID, as libwebrtc sends.
    #[default]
    Long,
}

/// Packetizer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketizerConfig {
    /// Largest RTP payload (descriptor included) to produce, in bytes.
    pub mtu: usize,
    /// PictureID width.
    pub picture_id: PictureIdMode,
    /// The first PictureID (take it at random for a new stream).
    pub initial_picture_id: u16,
    /// The first TL0PICIDX.
    pub initial_tl0_pic_idx: u8,
}

impl Default for PacketizerConfig {
    fn default() -> Self {
        Self {
            mtu: 1200,
            picture_id: PictureIdMode::Long,
            initial_picture_id: 0,
            initial_tl0_pic_idx: 0,
        }
    }
}

/// One encoded frame to packetize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameToSend<'a> {
    /// The VP8 frame as the encoder produced it.
    pub data: &'a [u8],
    /// Start offsets of the VP8 partitions in `data` (first 0, strictly increasing), from an
    /// encoder in partition-output mode. Empty: split after the first partition, whose size the
    /// payload header gives.
    pub partitions: &'a [usize],
    /// No other frame references this one (N bit).
    pub non_reference: bool,
    /// Temporal layer; `Some` makes the packetizer write TL0PICIDX and TID/Y.
    pub temporal: Option<TemporalInfo>,
    /// KEYIDX, if used.
    pub key_idx: Option<u8>,
}

/// A byte range of the frame and the descriptor bits that go with it.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: usize,
    end: usize,
    partition: usize,
    starts_partition: bool,
}

/// The RFC 7741 payloader: keeps the PictureID and TL0PICIDX counters of one stream.
#[derive(Debug, Clone)]
pub struct Vp8Packetizer {
    cfg: PacketizerConfig,
    next_picture_id: u16,
    tl0_pic_idx: u8,
    started_tl0: bool,
}

impl Vp8Packetizer {
    /// A packetizer with `cfg`.
    #[must_use]
    pub fn new(cfg: PacketizerConfig) -> Self {
        Self {
            cfg,
            next_picture_id: cfg.initial_picture_id & 0x7fff,
            tl0_pic_idx: cfg.initial_tl0_pic_idx,
            started_tl0: false,
        }
    }

    /// Changes the MTU for the following frames.
    pub fn set_mtu(&mut self, mtu: usize) {
        self.cfg.mtu = mtu;
    }

    /// The PictureID the next frame will carry.
    #[must_use]
    pub fn next_picture_id(&self) -> Option<PictureId> {
        self.picture_id_for(self.next_picture_id)
    }

    fn picture_id_for(&self, v: u16) -> Option<PictureId> {
        match self.cfg.picture_id {
            PictureIdMode::None => None,
            PictureIdMode::Short => Some(PictureId::Short((v & 0x7f) as u8)),
            PictureIdMode::Long => Some(PictureId::Long(v & 0x7fff)),
        }
    }

    /// Splits `frame` into RTP payloads; the caller sets the RTP marker bit on the last one and
    /// gives all of them the frame's RTP timestamp (RFC 7741 §4.1).
    ///
    /// Partition-aware: a packet never starts in the middle of a partition it could have held
    /// whole; small partitions are aggregated; a partition larger than a packet is split into
    /// fragments of nearly equal size.
    ///
    /// # Errors
    /// [`Error::EmptyFrame`], [`Error::InvalidPartitionOffsets`], [`Error::FieldOutOfRange`] or
    /// [`Error::MtuTooSmall`] (also when the first packet could not hold the whole payload
    /// header); the counters do not advance on error.
    pub fn packetize(&mut self, frame: &FrameToSend<'_>) -> Result<Vec<Bytes>, Error> {
        if frame.data.is_empty() {
            return Err(Error::EmptyFrame);
        }
        let tl0 = match frame.temporal {
            Some(t) if t.tid == 0 && self.started_tl0 => Some(self.tl0_pic_idx.wrapping_add(1)),
            Some(_) => Some(self.tl0_pic_idx),
            None => None,
        };
        let base = Vp8Descriptor {
            non_reference: frame.non_reference,
            start_of_partition: false,
            partition_index: 0,
            picture_id: self.picture_id_for(self.next_picture_id),
            tl0_pic_idx: tl0,
            temporal: frame.temporal,
            key_idx: frame.key_idx,
        };
        base.validate()?;
        let descriptor_len = base.buffer_len();
        // RFC 7741 §4.3: the payload header (3 bytes, 10 for a key frame) is at the start of
        // the first packet, so that packet must hold all of it: a receiver reads key-frame
        // detection and dimensions from it.
        let header_len = Vp8PayloadHeader::parse(frame.data)
            .map_or(crate::wire::header::INTER_HEADER_LEN, |h| h.len())
            .min(frame.data.len());
        let room = self
            .cfg
            .mtu
            .checked_sub(descriptor_len)
            .filter(|r| *r > 0 && *r >= header_len)
            .ok_or(Error::MtuTooSmall {
                mtu: self.cfg.mtu,
                descriptor_len,
            })?;
        let bounds = partition_bounds(frame)?;
        // The first partition starts with the payload header, so it cannot be shorter.
        if bounds.first().is_some_and(|(a, b)| b - a < header_len) {
            return Err(Error::InvalidPartitionOffsets);
        }
        let pieces = split(&bounds, room, header_len);
        let mut out = Vec::with_capacity(pieces.len());
        for p in pieces {
            let d = Vp8Descriptor {
                start_of_partition: p.starts_partition,
                // RFC 7741 §4.2: PID cannot be larger than 7; later partitions are labelled 7.
                partition_index: p.partition.min(7) as u8,
                ..base
            };
            let data = frame
                .data
                .get(p.start..p.end)
                .ok_or(Error::InvalidPartitionOffsets)?;
            let mut buf = vec![0u8; descriptor_len + data.len()];
            let n = d.emit(&mut buf)?;
            buf.get_mut(n..)
                .ok_or(Error::InvalidPartitionOffsets)?
                .copy_from_slice(data);
            out.push(Bytes::from(buf));
        }
        // Commit the counters only once the frame is packetized.
        // RFC 7741 §4.2: PictureID increments by one per frame and wraps.
        self.next_picture_id = self.next_picture_id.wrapping_add(1) & 0x7fff;
        if let Some(t) = tl0 {
            self.tl0_pic_idx = t;
            self.started_tl0 |= frame.temporal.is_some_and(|t| t.tid == 0);
        }
        Ok(out)
    }
}

/// Partition ranges `[start, end)` covering the frame.
fn partition_bounds(frame: &FrameToSend<'_>) -> Result<Vec<(usize, usize)>, Error> {
    let len = frame.data.len();
    let mut starts: Vec<usize> = frame.partitions.to_vec();
    if starts.is_empty() {
        starts.push(0);
        if let Ok(h) = Vp8PayloadHeader::parse(frame.data) {
            let end = usize::try_from(h.first_partition_size)
                .ok()
                .and_then(|s| s.checked_add(h.len()));
            if let Some(end) = end.filter(|e| *e < len) {
                starts.push(end);
            }
        }
    }
    if starts.first() != Some(&0)
        || starts.windows(2).any(|w| matches!(w, [a, b] if a >= b))
        || starts.last().is_some_and(|l| *l >= len)
    {
        return Err(Error::InvalidPartitionOffsets);
    }
    let ends = starts.iter().skip(1).copied().chain(std::iter::once(len));
    Ok(starts.iter().copied().zip(ends).collect())
}

/// Packs partitions into pieces of at most `room` bytes; the first piece holds at least
/// `first_min` bytes (the payload header; `first_min <= room`).
fn split(bounds: &[(usize, usize)], room: usize, first_min: usize) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut open: Option<Piece> = None;
    for (i, &(a, b)) in bounds.iter().enumerate() {
        let len = b - a;
        if let Some(cur) = open.as_mut()
            && cur.end - cur.start + len <= room
        {
            // Aggregate the whole partition into the open packet.
            cur.end = b;
            continue;
        }
        if let Some(cur) = open.take() {
            pieces.push(cur);
        }
        let count = len.div_ceil(room);
        let (q, r) = (len / count, len % count);
        // Balanced fragments, except that the frame's first fragment must carry the whole
        // payload header: then it takes exactly that, and the rest is balanced over the
        // remaining fragments (each still fits: rest < (count − 1) × first_min ≤ (count − 1) × room).
        let sizes: Vec<usize> = if i == 0 && count > 1 && q + usize::from(r > 0) < first_min {
            let (n, rest) = (count - 1, len - first_min);
            std::iter::once(first_min)
                .chain((0..n).map(|k| rest / n + usize::from(k < rest % n)))
                .collect()
        } else {
            (0..count).map(|k| q + usize::from(k < r)).collect()
        };
        let mut at = a;
        for (k, size) in sizes.into_iter().enumerate() {
            let piece = Piece {
                start: at,
                end: at + size,
                partition: i,
                starts_partition: k == 0,
            };
            at += size;
            if k + 1 == count {
                open = Some(piece);
            } else {
                pieces.push(piece);
            }
        }
    }
    pieces.extend(open);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Vp8Packet;
    use crate::wire::header::emit_header;

    fn key_frame(first: u32, total: usize) -> Vec<u8> {
        let mut f = emit_header(first, Some((320, 240)));
        f.resize(total, 0xab);
        f
    }

    #[test]
    fn test_single_packet() {
        let f = key_frame(20, 100);
        let mut p = Vp8Packetizer::new(PacketizerConfig::default());
        let out = p
            .packetize(&FrameToSend {
                data: &f,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(out.len(), 1);
        let pkt = Vp8Packet::parse(&out[0]).unwrap();
        assert!(pkt.is_key_frame());
        assert_eq!(pkt.descriptor.picture_id, Some(PictureId::Long(0)));
        assert_eq!(p.next_picture_id(), Some(PictureId::Long(1)));
    }

    #[test]
    fn test_partition_boundaries_respected() {
        // First partition 500 bytes + 10 header, then 1490 bytes of DCT data.
        let f = key_frame(500, 2000);
        let mut p = Vp8Packetizer::new(PacketizerConfig {
            mtu: 600,
            ..Default::default()
        });
        let out = p
            .packetize(&FrameToSend {
                data: &f,
                ..Default::default()
            })
            .unwrap();
        let parsed: Vec<_> = out.iter().map(|b| Vp8Packet::parse(b).unwrap()).collect();
        // Partition 0 (510 bytes) fits one packet; partition 1 (1490) needs 3 balanced pieces.
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[0].payload.len(), 510);
        assert!(parsed[1].descriptor.start_of_partition);
        assert_eq!(parsed[1].descriptor.partition_index, 1);
        assert!(!parsed[2].descriptor.start_of_partition);
        assert!(out.iter().all(|b| b.len() <= 600));
        let sizes: Vec<_> = parsed[1..].iter().map(|p| p.payload.len()).collect();
        assert_eq!(sizes, vec![497, 497, 496]);
    }

    #[test]
    fn test_aggregation_of_small_partitions() {
        let f = vec![0x11u8; 100];
        let mut p = Vp8Packetizer::new(PacketizerConfig::default());
        let out = p
            .packetize(&FrameToSend {
                data: &f,
                partitions: &[0, 10, 20, 30, 40, 50, 60, 70, 80, 90],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(out.len(), 1);
        let out = p
            .packetize(&FrameToSend {
                data: &f,
                partitions: &[0, 50, 40],
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(out, Error::InvalidPartitionOffsets);
        // The failed call did not consume a PictureID.
        assert_eq!(p.next_picture_id(), Some(PictureId::Long(1)));
    }

    #[test]
    fn test_tl0_pic_idx_counts_base_layer_frames() {
        let f = vec![0x01u8; 50];
        let mut p = Vp8Packetizer::new(PacketizerConfig {
            initial_tl0_pic_idx: 255,
            ..Default::default()
        });
        let mut tl0s = Vec::new();
        for tid in [0u8, 1, 0, 1, 0] {
            let out = p
                .packetize(&FrameToSend {
                    data: &f,
                    temporal: Some(TemporalInfo {
                        tid,
                        layer_sync: false,
                    }),
                    ..Default::default()
                })
                .unwrap();
            tl0s.push(Vp8Packet::parse(&out[0]).unwrap().descriptor.tl0_pic_idx);
        }
        assert_eq!(tl0s, vec![Some(255), Some(255), Some(0), Some(0), Some(1)]);
    }

    #[test]
    fn test_mtu_too_small() {
        let mut p = Vp8Packetizer::new(PacketizerConfig {
            mtu: 4,
            ..Default::default()
        });
        assert!(matches!(
            p.packetize(&FrameToSend {
                data: &[1, 2, 3],
                ..Default::default()
            }),
            Err(Error::MtuTooSmall { .. })
        ));
    }
}
