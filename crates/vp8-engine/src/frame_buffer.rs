//! Reference finder and frame buffer: complete frames → frames the decoder can decode, in order.
//!
//! VP8 carries no explicit references on the wire, so they are inferred as libwebrtc does from
//! the payload descriptor (RFC 7741 §4.2):
//!
//! * a key frame references nothing;
//! * without PictureID, a frame references the frame that ends just before its first sequence
//!   number;
//! * with PictureID and no temporal layers, frame `n` references frame `n - 1`;
//! * with TL0PICIDX and TID, a base-layer frame references the previous base-layer frame
//!   (TL0PICIDX − 1); a higher-layer frame references the base-layer frame of its TL0PICIDX
//!   and, unless its Y (layer sync) bit is set, the known lower-layer frames since then.
//!
//! A frame is released only when every reference has been released before it, and frames are
//! released in increasing order: a frame older than the last released one is dropped.

use std::collections::{BTreeMap, BTreeSet};

use crate::assembler::AssembledFrame;

/// A frame the decoder can decode now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodableFrame {
    /// Frame id: the unwrapped PictureID, or the last extended sequence number without one.
    pub id: i64,
    /// The encoded frame.
    pub frame: AssembledFrame,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    Id(i64),
    /// The base-layer frame with this unwrapped TL0PICIDX.
    Tl0(i64),
}

#[derive(Debug, Clone)]
struct Pending {
    frame: AssembledFrame,
    refs: Vec<Ref>,
}

const DECODED_MEMORY: usize = 512;

/// Orders complete frames and releases the decodable ones.
#[derive(Debug, Clone)]
pub struct FrameBuffer {
    max_pending: usize,
    highest_pid: Option<i64>,
    highest_tl0: Option<i64>,
    pending: BTreeMap<i64, Pending>,
    decoded: BTreeSet<i64>,
    /// Unwrapped TL0PICIDX → frame id of that base-layer frame.
    tl0_frames: BTreeMap<i64, i64>,
    /// Frame id → (TID, unwrapped TL0PICIDX) of frames seen with temporal information.
    layer_of: BTreeMap<i64, (u8, i64)>,
    last_released: Option<i64>,
    need_keyframe: bool,
    dropped: u64,
}

impl FrameBuffer {
    /// An empty buffer that waits for a key frame.
    #[must_use]
    pub fn new(max_pending: usize) -> Self {
        Self {
            max_pending: max_pending.max(1),
            highest_pid: None,
            highest_tl0: None,
            pending: BTreeMap::new(),
            decoded: BTreeSet::new(),
            tl0_frames: BTreeMap::new(),
            layer_of: BTreeMap::new(),
            last_released: None,
            need_keyframe: true,
            dropped: 0,
        }
    }

    /// Whether only a key frame can be released next.
    #[must_use]
    pub fn needs_keyframe(&self) -> bool {
        self.need_keyframe
    }

    /// Complete frames waiting for references.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Frames dropped as too old, undecodable or over the pending limit.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets every pending delta frame; only a key frame is released next (after a decoder
    /// error or a NACK-list overflow).
    pub fn require_keyframe(&mut self) {
        self.need_keyframe = true;
        let before = self.pending.len();
        self.pending.retain(|_, p| p.frame.is_key_frame());
        self.dropped += (before - self.pending.len()) as u64;
    }

    fn unwrap_pid(&mut self, frame: &AssembledFrame) -> Option<i64> {
        let pid = frame.descriptor.picture_id?;
        let id = match self.highest_pid {
            None => i64::from(pid.value()) + (1 << 20),
            Some(h) => {
                let m = i64::from(pid.modulus());
                h + i64::from(pid.distance_from((h.rem_euclid(m)) as u16))
            }
        };
        self.highest_pid = Some(self.highest_pid.map_or(id, |h| h.max(id)));
        Some(id)
    }

    fn unwrap_tl0(&mut self, tl0: u8) -> i64 {
        let id = match self.highest_tl0 {
            None => i64::from(tl0) + (1 << 20),
            Some(h) => h + i64::from((tl0.wrapping_sub(h as u8)) as i8),
        };
        self.highest_tl0 = Some(self.highest_tl0.map_or(id, |h| h.max(id)));
        id
    }

    /// Adds a complete frame; returns the frames that became decodable, in decode order.
    pub fn insert(&mut self, frame: AssembledFrame) -> Vec<DecodableFrame> {
        let d = frame.descriptor;
        let (id, mut refs) = match self.unwrap_pid(&frame) {
            None => (
                frame.last_seq as i64,
                vec![Ref::Id((frame.first_seq as i64) - 1)],
            ),
            Some(id) => match (d.temporal, d.tl0_pic_idx) {
                (Some(t), Some(tl0)) => {
                    let tl0 = self.unwrap_tl0(tl0);
                    self.layer_of.insert(id, (t.tid, tl0));
                    if t.tid == 0 {
                        self.tl0_frames.insert(tl0, id);
                        (id, vec![Ref::Tl0(tl0 - 1)])
                    } else {
                        let mut r = vec![Ref::Tl0(tl0)];
                        if !t.layer_sync {
                            r.extend(
                                self.layer_of
                                    .range(..id)
                                    .filter(|(_, (tid, l))| *l == tl0 && *tid > 0 && *tid < t.tid)
                                    .map(|(p, _)| Ref::Id(*p)),
                            );
                        }
                        (id, r)
                    }
                }
                _ => (id, vec![Ref::Id(id - 1)]),
            },
        };
        if frame.is_key_frame() {
            refs.clear();
        }
        self.trim_maps();
        if self.last_released.is_some_and(|l| id <= l) || self.pending.contains_key(&id) {
            self.dropped += 1;
            return Vec::new();
        }
        self.pending.insert(id, Pending { frame, refs });
        while self.pending.len() > self.max_pending {
            self.pending.pop_first();
            self.dropped += 1;
        }
        self.release()
    }

    fn satisfied(&self, r: Ref) -> bool {
        match r {
            Ref::Id(p) => self.decoded.contains(&p),
            Ref::Tl0(t) => self
                .tl0_frames
                .get(&t)
                .is_some_and(|p| self.decoded.contains(p)),
        }
    }

    fn release(&mut self) -> Vec<DecodableFrame> {
        let mut out = Vec::new();
        loop {
            let next = self.pending.iter().find_map(|(id, p)| {
                let ok = if self.need_keyframe {
                    p.frame.is_key_frame()
                } else {
                    p.refs.iter().all(|r| self.satisfied(*r))
                };
                ok.then_some(*id)
            });
            let Some(id) = next else { break };
            // Older pending frames can no longer be decoded in order.
            let mut newer = self.pending.split_off(&id);
            self.dropped += self.pending.len() as u64;
            self.pending.clear();
            let Some(p) = newer.remove(&id) else { break };
            self.pending = newer;
            self.need_keyframe = false;
            self.last_released = Some(id);
            self.decoded.insert(id);
            while self.decoded.len() > DECODED_MEMORY {
                self.decoded.pop_first();
            }
            out.push(DecodableFrame { id, frame: p.frame });
        }
        out
    }

    fn trim_maps(&mut self) {
        while self.tl0_frames.len() > DECODED_MEMORY {
            self.tl0_frames.pop_first();
        }
        while self.layer_of.len() > DECODED_MEMORY {
            self.layer_of.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::header::emit_header;
    use crate::wire::{PictureId, TemporalInfo, Vp8Descriptor, Vp8PayloadHeader};
    use bytes::Bytes;

    fn frame(pid: u16, key: bool, temporal: Option<(u8, u8, bool)>) -> AssembledFrame {
        let mut data = emit_header(1, key.then_some((16, 16)));
        data.push(0);
        let header = Vp8PayloadHeader::parse(&data).unwrap();
        AssembledFrame {
            timestamp: u32::from(pid) * 3000,
            first_seq: u64::from(pid) * 2,
            last_seq: u64::from(pid) * 2 + 1,
            descriptor: Vp8Descriptor {
                start_of_partition: true,
                picture_id: Some(PictureId::Long(pid)),
                tl0_pic_idx: temporal.map(|t| t.1),
                temporal: temporal.map(|t| TemporalInfo {
                    tid: t.0,
                    layer_sync: t.2,
                }),
                ..Default::default()
            },
            header,
            data: Bytes::from(data),
        }
    }

    fn ids(v: Vec<DecodableFrame>) -> Vec<u16> {
        v.iter()
            .map(|f| f.frame.descriptor.picture_id.unwrap().value())
            .collect()
    }

    #[test]
    fn test_waits_for_keyframe_then_chains() {
        let mut b = FrameBuffer::new(16);
        assert!(ids(b.insert(frame(1, false, None))).is_empty());
        assert_eq!(ids(b.insert(frame(2, true, None))), vec![2]);
        assert_eq!(b.dropped(), 1);
        // 4 arrives before 3: held, then both released in order.
        assert!(ids(b.insert(frame(4, false, None))).is_empty());
        assert_eq!(ids(b.insert(frame(3, false, None))), vec![3, 4]);
    }

    #[test]
    fn test_no_decode_across_gap() {
        let mut b = FrameBuffer::new(16);
        b.insert(frame(0x7ffe, true, None));
        b.insert(frame(0x7fff, false, None));
        // 0 is lost; 1 and 2 must wait (wrap handled).
        assert!(ids(b.insert(frame(1, false, None))).is_empty());
        assert!(ids(b.insert(frame(2, false, None))).is_empty());
        assert_eq!(ids(b.insert(frame(3, true, None))), vec![3]);
        assert_eq!(b.pending(), 0);
    }

    #[test]
    fn test_temporal_layers_survive_lost_tl1() {
        let mut b = FrameBuffer::new(16);
        // L1T2: pid 0 (TL0, tl0 5, key), 1 (TL1), 2 (TL0, tl0 6), 3 (TL1 lost), 4 (TL0, tl0 7).
        assert_eq!(ids(b.insert(frame(0, true, Some((0, 5, false))))), vec![0]);
        assert_eq!(ids(b.insert(frame(1, false, Some((1, 5, true))))), vec![1]);
        assert_eq!(ids(b.insert(frame(2, false, Some((0, 6, false))))), vec![2]);
        assert_eq!(ids(b.insert(frame(4, false, Some((0, 7, false))))), vec![4]);
        // Losing a base-layer frame blocks the next one.
        assert!(ids(b.insert(frame(8, false, Some((0, 9, false))))).is_empty());
    }
}
