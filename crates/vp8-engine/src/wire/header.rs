//! RFC 7741 §4.3: the VP8 payload header (the first bytes of a VP8 frame, RFC 6386 §9.1).
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |Size0|H| VER |P|
//! +-+-+-+-+-+-+-+-+
//! |     Size1     |
//! +-+-+-+-+-+-+-+-+
//! |     Size2     |
//! +-+-+-+-+-+-+-+-+
//! | key frame only: start code 9d 01 2a, 14-bit width + 2-bit scale, 14-bit height + scale
//! ```

use crate::error::Error;

/// Length of the header of an inter frame.
pub const INTER_HEADER_LEN: usize = 3;
/// Length of the header of a key frame (3-byte tag, start code, dimensions).
pub const KEY_HEADER_LEN: usize = 10;
/// The key-frame start code (RFC 6386 §9.1).
pub const START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

/// Dimensions and scaling from a key-frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFrameInfo {
    /// Width in pixels (14 bits).
    pub width: u16,
    /// Height in pixels (14 bits).
    pub height: u16,
    /// Horizontal upscaling code (2 bits).
    pub horizontal_scale: u8,
    /// Vertical upscaling code (2 bits).
    pub vertical_scale: u8,
}

/// A parsed VP8 payload header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vp8PayloadHeader {
    /// VER: the version/profile (3 bits).
    pub version: u8,
    /// H: show_frame.
    pub show_frame: bool,
    /// Size of the first partition in bytes (19 bits), not counting this header.
    pub first_partition_size: u32,
    /// Present for key frames (P = 0).
    pub key_frame: Option<KeyFrameInfo>,
}

impl Vp8PayloadHeader {
    /// Whether the frame is a key frame.
    #[must_use]
    pub fn is_key_frame(&self) -> bool {
        self.key_frame.is_some()
    }

    /// Header length: 10 for a key frame, 3 otherwise.
    #[must_use]
    pub fn len(&self) -> usize {
        if self.is_key_frame() {
            KEY_HEADER_LEN
        } else {
            INTER_HEADER_LEN
        }
    }

    /// Never empty; present for clippy's `len_without_is_empty`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Parses the header at the start of the first packet of a frame (S = 1, PID = 0).
    ///
    /// # Errors
    /// [`Error::TruncatedPayloadHeader`] if `data` is too short; [`Error::InvalidStartCode`]
    /// for a key frame without the start code.
    pub fn parse(data: &[u8]) -> Result<Self, Error> {
        let short = |needed| Error::TruncatedPayloadHeader {
            len: data.len(),
            needed,
        };
        let &[b0, b1, b2, ref rest @ ..] = data else {
            return Err(short(INTER_HEADER_LEN));
        };
        // RFC 7741 §4.3: P is the inverse key-frame flag, 0 for a key frame.
        let key = b0 & 0x01 == 0;
        let mut h = Self {
            version: (b0 >> 1) & 0x07,
            show_frame: b0 & 0x10 != 0,
            // RFC 7741 §4.3: Size = Size0 + 8 * Size1 + 2048 * Size2.
            first_partition_size: u32::from(b0 >> 5) + 8 * u32::from(b1) + 2048 * u32::from(b2),
            key_frame: None,
        };
        if key {
            let &[s0, s1, s2, w0, w1, h0, h1, ..] = rest else {
                return Err(short(KEY_HEADER_LEN));
            };
            if [s0, s1, s2] != START_CODE {
                return Err(Error::InvalidStartCode {
                    found: [s0, s1, s2],
                });
            }
            let w = u16::from_le_bytes([w0, w1]);
            let hh = u16::from_le_bytes([h0, h1]);
            h.key_frame = Some(KeyFrameInfo {
                width: w & 0x3fff,
                height: hh & 0x3fff,
                horizontal_scale: (w >> 14) as u8,
                vertical_scale: (hh >> 14) as u8,
            });
        }
        Ok(h)
    }

    /// Parses the header of a whole frame and checks it against the frame and a pixel limit.
    ///
    /// # Errors
    /// As [`parse`](Self::parse), plus [`Error::FrameTooLarge`] for a key frame with a zero
    /// dimension or more than `max_pixels` pixels and [`Error::PartitionSizeExceedsFrame`] if
    /// the first partition runs past the end of `frame`.
    pub fn parse_frame(frame: &[u8], max_pixels: u32) -> Result<Self, Error> {
        let h = Self::parse(frame)?;
        if let Some(k) = h.key_frame {
            let pixels = u32::from(k.width) * u32::from(k.height);
            if pixels == 0 || pixels > max_pixels {
                return Err(Error::FrameTooLarge {
                    width: k.width,
                    height: k.height,
                    max_pixels,
                });
            }
        }
        let available = frame.len().saturating_sub(h.len());
        if usize::try_from(h.first_partition_size).map_or(true, |s| s > available) {
            return Err(Error::PartitionSizeExceedsFrame {
                size: h.first_partition_size,
                available,
            });
        }
        Ok(h)
    }
}

/// Builds a VP8 frame tag and, for a key frame, its start code and dimensions (for tests and
/// synthetic streams).
#[must_use]
pub fn emit_header(first_partition_size: u32, key_frame: Option<(u16, u16)>) -> Vec<u8> {
    let p = u8::from(key_frame.is_none());
    let size = first_partition_size & 0x7_ffff;
    let mut out = vec![
        ((size & 0x7) as u8) << 5 | 0x10 | p,
        (size >> 3) as u8,
        (size >> 11) as u8,
    ];
    if let Some((w, h)) = key_frame {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(&(w & 0x3fff).to_le_bytes());
        out.extend_from_slice(&(h & 0x3fff).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_key_frame() {
        let mut f = emit_header(5, Some((640, 480)));
        f.extend_from_slice(&[0; 5]);
        let h = Vp8PayloadHeader::parse_frame(&f, 640 * 480).unwrap();
        assert_eq!(h.first_partition_size, 5);
        assert!(h.show_frame);
        assert_eq!(h.key_frame.map(|k| (k.width, k.height)), Some((640, 480)));
    }

    #[test]
    fn test_parse_inter_frame_size_fields() {
        // Size0 = 5, Size1 = 2, Size2 = 1 → 5 + 16 + 2048.
        let h = Vp8PayloadHeader::parse(&[0xa1, 0x02, 0x01]).unwrap();
        assert!(!h.is_key_frame());
        assert_eq!(h.first_partition_size, 2069);
        assert_eq!(emit_header(2069, None), vec![0xb1, 0x02, 0x01]);
    }

    #[test]
    fn test_truncated() {
        assert_eq!(
            Vp8PayloadHeader::parse(&[0x00, 0x00]),
            Err(Error::TruncatedPayloadHeader { len: 2, needed: 3 })
        );
        assert_eq!(
            Vp8PayloadHeader::parse(&[0x00, 0x00, 0x00, 0x9d]),
            Err(Error::TruncatedPayloadHeader { len: 4, needed: 10 })
        );
        assert!(matches!(
            Vp8PayloadHeader::parse(&[0, 0, 0, 1, 2, 3, 0, 0, 0, 0]),
            Err(Error::InvalidStartCode { .. })
        ));
    }
}
