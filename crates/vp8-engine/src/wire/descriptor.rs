//! RFC 7741 §4.2: the VP8 payload descriptor.
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |X|R|N|S|R| PID | (required)
//!      +-+-+-+-+-+-+-+-+
//! X:   |I|L|T|K| RSV   | (optional)
//!      +-+-+-+-+-+-+-+-+
//! I:   |M| PictureID   | (optional, 7 or 15 bits)
//!      +-+-+-+-+-+-+-+-+
//! L:   |   TL0PICIDX   | (optional)
//!      +-+-+-+-+-+-+-+-+
//! T/K: |TID|Y| KEYIDX  | (optional)
//!      +-+-+-+-+-+-+-+-+
//! ```

use crate::error::{DescriptorField, Error};

/// A PictureID in its 7-bit or 15-bit form (RFC 7741 §4.2, the M bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PictureId {
    /// One octet, M = 0: values 0..=127.
    Short(u8),
    /// Two octets, M = 1: values 0..=32767.
    Long(u16),
}

impl PictureId {
    /// The numeric value.
    #[must_use]
    pub fn value(self) -> u16 {
        match self {
            Self::Short(v) => u16::from(v & 0x7f),
            Self::Long(v) => v & 0x7fff,
        }
    }

    /// The modulus the value wraps at (128 or 32768).
    #[must_use]
    pub fn modulus(self) -> u16 {
        match self {
            Self::Short(_) => 0x80,
            Self::Long(_) => 0x8000,
        }
    }

    /// The next PictureID of the same width.
    // RFC 7741 §4.2: the PictureID wraps to 0 after reaching its maximum value.
    #[must_use]
    pub fn next(self) -> Self {
        match self {
            Self::Short(v) => Self::Short(v.wrapping_add(1) & 0x7f),
            Self::Long(v) => Self::Long(v.wrapping_add(1) & 0x7fff),
        }
    }

    /// Signed distance from `earlier` to `self`, modulo the width of `self` (in
    /// `-modulus/2..modulus/2`).
    #[must_use]
    pub fn distance_from(self, earlier: u16) -> i32 {
        let m = i32::from(self.modulus());
        let d = (i32::from(self.value()) - i32::from(earlier)).rem_euclid(m);
        if d >= m / 2 { d - m } else { d }
    }
}

/// Temporal-layer fields of the T/K octet (meaningful when T = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemporalInfo {
    /// TID: temporal layer index, 0..=3.
    pub tid: u8,
    /// Y: layer sync — this frame depends only on the base layer.
    pub layer_sync: bool,
}

/// A parsed or to-be-emitted VP8 payload descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Vp8Descriptor {
    /// N: the frame can be discarded without affecting any other frame.
    pub non_reference: bool,
    /// S: the first payload octet starts a VP8 partition.
    pub start_of_partition: bool,
    /// PID: index of the partition the first payload octet belongs to (0..=7).
    pub partition_index: u8,
    /// I: the PictureID, if present.
    pub picture_id: Option<PictureId>,
    /// L: TL0PICIDX, the running index of temporal base-layer frames.
    pub tl0_pic_idx: Option<u8>,
    /// T: temporal layer index and layer sync.
    pub temporal: Option<TemporalInfo>,
    /// K: KEYIDX, 0..=31.
    pub key_idx: Option<u8>,
}

impl Vp8Descriptor {
    /// Whether this packet starts a frame: S = 1 and PID = 0.
    // RFC 7741 §4.2: the S bit MUST be 1 for the first packet of each encoded frame, whose PID is 0.
    #[must_use]
    pub fn is_frame_start(&self) -> bool {
        self.start_of_partition && self.partition_index == 0
    }

    /// Encoded length in bytes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let mut n = 1;
        if self.has_extension() {
            n += 1;
            n += match self.picture_id {
                Some(PictureId::Short(_)) => 1,
                Some(PictureId::Long(_)) => 2,
                None => 0,
            };
            n += usize::from(self.tl0_pic_idx.is_some());
            n += usize::from(self.temporal.is_some() || self.key_idx.is_some());
        }
        n
    }

    fn has_extension(&self) -> bool {
        self.picture_id.is_some()
            || self.tl0_pic_idx.is_some()
            || self.temporal.is_some()
            || self.key_idx.is_some()
    }

    /// Checks that every field fits its bit width.
    ///
    /// # Errors
    /// [`Error::FieldOutOfRange`] naming the first field that does not fit.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field| Err(Error::FieldOutOfRange { field });
        if self.partition_index > 7 {
            return bad(DescriptorField::Required);
        }
        match self.picture_id {
            Some(PictureId::Short(v)) if v > 0x7f => return bad(DescriptorField::PictureId),
            Some(PictureId::Long(v)) if v > 0x7fff => return bad(DescriptorField::PictureId),
            _ => {}
        }
        if self.temporal.is_some_and(|t| t.tid > 3) || self.key_idx.is_some_and(|k| k > 31) {
            return bad(DescriptorField::TidKeyIdx);
        }
        Ok(())
    }

    /// Parses the descriptor at the start of `payload`; returns it and its length.
    ///
    /// Reserved bits are ignored (RFC 7741 §4.2: receivers MUST ignore them).
    ///
    /// # Errors
    /// [`Error::TruncatedDescriptor`] if a field announced by a flag is missing.
    pub fn parse(payload: &[u8]) -> Result<(Self, usize), Error> {
        let mut at = 0usize;
        let mut take = |field| -> Result<u8, Error> {
            let b = payload
                .get(at)
                .copied()
                .ok_or(Error::TruncatedDescriptor { at, field })?;
            at += 1;
            Ok(b)
        };
        let b0 = take(DescriptorField::Required)?;
        let mut d = Self {
            non_reference: b0 & 0x20 != 0,
            start_of_partition: b0 & 0x10 != 0,
            partition_index: b0 & 0x07,
            ..Self::default()
        };
        if b0 & 0x80 != 0 {
            let x = take(DescriptorField::Extension)?;
            let (i, l, t, k) = (x & 0x80 != 0, x & 0x40 != 0, x & 0x20 != 0, x & 0x10 != 0);
            if i {
                let p0 = take(DescriptorField::PictureId)?;
                d.picture_id = Some(if p0 & 0x80 != 0 {
                    let p1 = take(DescriptorField::PictureIdLow)?;
                    PictureId::Long(u16::from(p0 & 0x7f) << 8 | u16::from(p1))
                } else {
                    PictureId::Short(p0)
                });
            }
            if l {
                d.tl0_pic_idx = Some(take(DescriptorField::Tl0PicIdx)?);
            }
            if t || k {
                let tk = take(DescriptorField::TidKeyIdx)?;
                // RFC 7741 §4.2: TID and Y are ignored when T = 0, KEYIDX when K = 0.
                if t {
                    d.temporal = Some(TemporalInfo {
                        tid: tk >> 6,
                        layer_sync: tk & 0x20 != 0,
                    });
                }
                if k {
                    d.key_idx = Some(tk & 0x1f);
                }
            }
        }
        Ok((d, at))
    }

    /// Writes the descriptor into the start of `out`; returns the bytes written.
    ///
    /// # Errors
    /// [`Error::FieldOutOfRange`] if a field does not fit; [`Error::MtuTooSmall`] if `out` is
    /// shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        self.validate()?;
        let len = self.buffer_len();
        let dst = out.get_mut(..len).ok_or(Error::MtuTooSmall {
            mtu: len,
            descriptor_len: len,
        })?;
        let mut bytes = [0u8; 6];
        let mut n = 0;
        let mut put = |b: u8| {
            if let Some(slot) = bytes.get_mut(n) {
                *slot = b;
            }
            n += 1;
        };
        let ext = self.has_extension();
        // RFC 7741 §4.2: R bits MUST be set to 0.
        put(u8::from(ext) << 7
            | u8::from(self.non_reference) << 5
            | u8::from(self.start_of_partition) << 4
            | self.partition_index);
        if ext {
            put(u8::from(self.picture_id.is_some()) << 7
                | u8::from(self.tl0_pic_idx.is_some()) << 6
                | u8::from(self.temporal.is_some()) << 5
                | u8::from(self.key_idx.is_some()) << 4);
            match self.picture_id {
                Some(PictureId::Short(v)) => put(v & 0x7f),
                Some(PictureId::Long(v)) => {
                    put(0x80 | ((v >> 8) as u8 & 0x7f));
                    put(v as u8);
                }
                None => {}
            }
            if let Some(t) = self.tl0_pic_idx {
                put(t);
            }
            if self.temporal.is_some() || self.key_idx.is_some() {
                let t = self.temporal.unwrap_or(TemporalInfo {
                    tid: 0,
                    layer_sync: false,
                });
                put(t.tid << 6 | u8::from(t.layer_sync) << 5 | self.key_idx.unwrap_or(0));
            }
        }
        let src = bytes.get(..len).ok_or(Error::InvalidPartitionOffsets)?;
        dst.copy_from_slice(src);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7741 §4.6-style example: X, S, I with a 15-bit PictureID, L, T with TID 2 and Y, K = 5.
    static FULL: [u8; 6] = [0x90, 0xf0, 0x81, 0x23, 0x42, 0xa5];

    #[test]
    fn test_parse_full() {
        let (d, n) = Vp8Descriptor::parse(&FULL).unwrap();
        assert_eq!(n, 6);
        assert!(d.start_of_partition && !d.non_reference && d.partition_index == 0);
        assert_eq!(d.picture_id, Some(PictureId::Long(0x0123)));
        assert_eq!(d.tl0_pic_idx, Some(0x42));
        assert_eq!(
            d.temporal,
            Some(TemporalInfo {
                tid: 2,
                layer_sync: true
            })
        );
        assert_eq!(d.key_idx, Some(5));
    }

    #[test]
    fn test_emit_full() {
        let (d, _) = Vp8Descriptor::parse(&FULL).unwrap();
        let mut out = [0u8; 8];
        assert_eq!(d.emit(&mut out).unwrap(), 6);
        assert_eq!(&out[..6], &FULL);
    }

    #[test]
    fn test_minimal() {
        let (d, n) = Vp8Descriptor::parse(&[0x10, 0xaa]).unwrap();
        assert_eq!(n, 1);
        assert!(d.is_frame_start());
        assert_eq!(d.buffer_len(), 1);
    }

    #[test]
    fn test_reserved_bits_ignored() {
        let (d, n) = Vp8Descriptor::parse(&[0x90 | 0x48, 0x80 | 0x0f, 0x05]).unwrap();
        assert_eq!(n, 3);
        assert_eq!(d.picture_id, Some(PictureId::Short(5)));
    }

    #[test]
    fn test_k_without_t_ignores_tid() {
        let (d, _) = Vp8Descriptor::parse(&[0x80, 0x10, 0xe3]).unwrap();
        assert_eq!(d.temporal, None);
        assert_eq!(d.key_idx, Some(3));
    }

    #[test]
    fn test_truncated_each_field() {
        for (bytes, field) in [
            (&[][..], DescriptorField::Required),
            (&[0x80][..], DescriptorField::Extension),
            (&[0x80, 0x80][..], DescriptorField::PictureId),
            (&[0x80, 0x80, 0x80][..], DescriptorField::PictureIdLow),
            (&[0x80, 0x40][..], DescriptorField::Tl0PicIdx),
            (&[0x80, 0x20][..], DescriptorField::TidKeyIdx),
        ] {
            assert_eq!(
                Vp8Descriptor::parse(bytes),
                Err(Error::TruncatedDescriptor {
                    at: bytes.len(),
                    field
                })
            );
        }
    }

    #[test]
    fn test_picture_id_wrap() {
        assert_eq!(PictureId::Short(127).next(), PictureId::Short(0));
        assert_eq!(PictureId::Long(0x7fff).next(), PictureId::Long(0));
        assert_eq!(PictureId::Long(1).distance_from(0x7fff), 2);
        assert_eq!(PictureId::Short(126).distance_from(1), -3);
    }

    #[test]
    fn test_impossible_values() {
        let d = Vp8Descriptor {
            partition_index: 8,
            ..Default::default()
        };
        assert!(d.emit(&mut [0; 8]).is_err());
        let d = Vp8Descriptor {
            picture_id: Some(PictureId::Long(0x8000)),
            ..Default::default()
        };
        assert!(d.emit(&mut [0; 8]).is_err());
    }
}
