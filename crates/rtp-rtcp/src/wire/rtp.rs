//! RTP fixed header, CSRC list, padding and header extension (RFC 3550 §5.1, §5.3.1).
//!
//! [`RtpPacket`] is a checked view over a buffer: after [`RtpPacket::new_checked`] succeeds
//! every accessor is infallible and cannot panic. [`RtpHeader`] is the plain-value
//! representation with [`RtpHeader::parse`], [`RtpHeader::emit`] and [`RtpHeader::buffer_len`].

use super::ext::{ExtensionElements, ExtensionIter, ExtensionProfile, ONE_BYTE_PROFILE};
use super::{Writer, be16, be32, byte};
use crate::Error;

/// Size of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;

/// A validated view of an RTP packet.
#[derive(Debug, Clone, Copy)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buffer: T,
    /// Offset of the extension header (profile), if the X bit is set.
    ext_at: usize,
    /// Offset of the payload (end of header).
    header_len: usize,
    /// Offset of the end of the payload (start of padding).
    payload_end: usize,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Validate `buffer` as an RTP packet: version, CSRC list, extension (including every
    /// RFC 8285 element), and padding (BAD_INPUT row 27).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let b = buffer.as_ref();
        let len = b.len();
        if len < FIXED_HEADER_LEN {
            return Err(Error::RtpTooShort { len });
        }
        let b0 = byte(b, 0);
        // RFC 3550 §5.1: version (V): 2 bits, this specification defines version two.
        let version = b0 >> 6;
        if version != 2 {
            return Err(Error::BadVersion { version });
        }
        let csrc_count = b0 & 0x0f;
        let mut header_len = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        if header_len > len {
            return Err(Error::CsrcOverrun {
                csrc_count,
                needed: header_len,
                len,
            });
        }
        let ext_at = header_len;
        if b0 & 0x10 != 0 {
            // RFC 3550 §5.3.1: a 16-bit profile field and a 16-bit length in 32-bit words
            // excluding the four-octet extension header.
            if ext_at + 4 > len {
                return Err(Error::ExtensionOverrun {
                    at: ext_at,
                    needed: ext_at + 4,
                    len,
                });
            }
            let words = usize::from(be16(b, ext_at + 2));
            header_len = ext_at + 4 + 4 * words;
            if header_len > len {
                return Err(Error::ExtensionOverrun {
                    at: ext_at,
                    needed: header_len,
                    len,
                });
            }
            let profile = ExtensionProfile::from_u16(be16(b, ext_at));
            let body = b.get(ext_at + 4..header_len).unwrap_or(&[]);
            ExtensionIter::new(profile, body).validate(ext_at + 4)?;
        }
        let mut payload_end = len;
        if b0 & 0x20 != 0 {
            // RFC 3550 §5.1: the last octet of the padding contains a count of how many
            // padding octets should be ignored, including itself. A count of 0 or one that
            // reaches into the header is invalid.
            let padding = byte(b, len - 1);
            let available = len - header_len;
            if padding == 0 || usize::from(padding) > available {
                return Err(Error::BadPadding { padding, available });
            }
            payload_end = len - usize::from(padding);
        }
        Ok(RtpPacket {
            buffer,
            ext_at,
            header_len,
            payload_end,
        })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// The whole packet.
    pub fn as_bytes(&self) -> &[u8] {
        self.b()
    }
    /// P bit.
    pub fn has_padding(&self) -> bool {
        byte(self.b(), 0) & 0x20 != 0
    }
    /// X bit.
    pub fn has_extension(&self) -> bool {
        byte(self.b(), 0) & 0x10 != 0
    }
    /// CC field.
    pub fn csrc_count(&self) -> u8 {
        byte(self.b(), 0) & 0x0f
    }
    /// M bit.
    pub fn marker(&self) -> bool {
        byte(self.b(), 1) & 0x80 != 0
    }
    /// PT field.
    pub fn payload_type(&self) -> u8 {
        byte(self.b(), 1) & 0x7f
    }
    /// Sequence number.
    pub fn sequence_number(&self) -> u16 {
        be16(self.b(), 2)
    }
    /// RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        be32(self.b(), 4)
    }
    /// SSRC.
    pub fn ssrc(&self) -> u32 {
        be32(self.b(), 8)
    }
    /// The CSRC list.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + '_ {
        (0..usize::from(self.csrc_count())).map(move |i| be32(self.b(), FIXED_HEADER_LEN + 4 * i))
    }
    /// Extension profile (`0xBEDE`, `0x100x`, or another), if the X bit is set.
    pub fn extension_profile(&self) -> Option<ExtensionProfile> {
        self.has_extension()
            .then(|| ExtensionProfile::from_u16(be16(self.b(), self.ext_at)))
    }
    /// The extension body (after the 4-byte extension header), empty without an extension.
    pub fn extension_data(&self) -> &[u8] {
        if self.has_extension() {
            self.b()
                .get(self.ext_at + 4..self.header_len)
                .unwrap_or(&[])
        } else {
            &[]
        }
    }
    /// Iterate RFC 8285 elements `(id, data)`; empty for non-RFC-8285 profiles.
    pub fn extensions(&self) -> ExtensionIter<'_> {
        match self.extension_profile() {
            Some(p) => ExtensionIter::new(p, self.extension_data()),
            None => ExtensionIter::new(ExtensionProfile::OneByte, &[]),
        }
    }
    /// The data of RFC 8285 element `id`, if present.
    pub fn extension(&self, id: u8) -> Option<&[u8]> {
        self.extensions().find(|&(i, _)| i == id).map(|(_, d)| d)
    }
    /// Length of the header including CSRCs and extension.
    pub fn header_len(&self) -> usize {
        self.header_len
    }
    /// The payload, without padding.
    pub fn payload(&self) -> &[u8] {
        self.b()
            .get(self.header_len..self.payload_end)
            .unwrap_or(&[])
    }
    /// Number of padding bytes (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.b().len() - self.payload_end
    }
}

/// Up to 15 CSRCs without allocating.
pub type Csrcs = Vec<u32>;

/// Plain-value RTP header (everything but payload and padding).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// M bit.
    pub marker: bool,
    /// PT (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence_number: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// SSRC.
    pub ssrc: u32,
    /// CSRC list (at most 15).
    pub csrcs: Csrcs,
    /// Header extension, if any.
    pub extensions: Option<ExtensionElements>,
}

impl RtpHeader {
    /// Read the header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &RtpPacket<T>) -> Self {
        RtpHeader {
            marker: p.marker(),
            payload_type: p.payload_type(),
            sequence_number: p.sequence_number(),
            timestamp: p.timestamp(),
            ssrc: p.ssrc(),
            csrcs: p.csrcs().collect(),
            extensions: p
                .extension_profile()
                .map(|prof| ExtensionElements::parse(prof, p.extension_data())),
        }
    }

    /// Bytes the header needs.
    pub fn buffer_len(&self) -> usize {
        FIXED_HEADER_LEN
            + 4 * self.csrcs.len()
            + self.extensions.as_ref().map_or(0, |e| 4 + e.body_len())
    }

    /// Write header, `payload` and `padding` padding bytes (0 = no P bit) into `buf`;
    /// returns the packet length.
    pub fn emit(&self, payload: &[u8], padding: u8, buf: &mut [u8]) -> Result<usize, Error> {
        if self.csrcs.len() > 15 {
            return Err(Error::ValueOutOfRange {
                field: "csrc_count",
            });
        }
        if self.payload_type > 127 {
            return Err(Error::ValueOutOfRange {
                field: "payload_type",
            });
        }
        let needed = self.buffer_len() + payload.len() + usize::from(padding);
        if buf.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                got: buf.len(),
            });
        }
        let mut w = Writer::new(buf);
        let mut b0 = 0x80 | self.csrcs.len() as u8;
        if padding > 0 {
            b0 |= 0x20;
        }
        if self.extensions.is_some() {
            b0 |= 0x10;
        }
        w.u8(b0)?;
        w.u8(u8::from(self.marker) << 7 | self.payload_type)?;
        w.u16(self.sequence_number)?;
        w.u32(self.timestamp)?;
        w.u32(self.ssrc)?;
        for c in &self.csrcs {
            w.u32(*c)?;
        }
        if let Some(e) = &self.extensions {
            e.emit(&mut w)?;
        }
        w.bytes(payload)?;
        if padding > 0 {
            w.zeros(usize::from(padding) - 1)?;
            w.u8(padding)?;
        }
        Ok(w.pos())
    }

    /// Convenience: emit into a new `Vec`.
    pub fn to_vec(&self, payload: &[u8], padding: u8) -> Result<Vec<u8>, Error> {
        let mut v = vec![0u8; self.buffer_len() + payload.len() + usize::from(padding)];
        let n = self.emit(payload, padding, &mut v)?;
        v.truncate(n);
        Ok(v)
    }
}

/// Default one-byte profile constant, re-exported for callers building raw extensions.
pub const RFC8285_ONE_BYTE_PROFILE: u16 = ONE_BYTE_PROFILE;

#[cfg(test)]
mod tests {
    use super::*;

    // RTP packet with CC=1, X=1 (one-byte ext id 1 len 1 = 0xAA, pad), P=1 (2 bytes).
    static PACKET_BYTES: [u8; 32] = [
        0xb1, 0xe0, 0x12, 0x34, // V=2 P X CC=1, M PT=96, seq
        0x00, 0x00, 0x03, 0xe8, // ts 1000
        0xde, 0xad, 0xbe, 0xef, // ssrc
        0x11, 0x22, 0x33, 0x44, // csrc
        0xbe, 0xde, 0x00, 0x01, // ext profile, 1 word
        0x10, 0xaa, 0x00, 0x00, // id 1 L=0 data aa, padding
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, // payload
        0x00, 0x02, // padding
    ];

    #[test]
    fn test_parse() {
        let p = RtpPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 96);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 1000);
        assert_eq!(p.ssrc(), 0xdeadbeef);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![0x11223344]);
        assert_eq!(p.extension(1), Some(&[0xaa][..]));
        assert_eq!(p.extension(2), None);
        assert_eq!(p.payload(), &[1, 2, 3, 4, 5, 6]);
        assert_eq!(p.padding_len(), 2);
    }

    #[test]
    fn test_emit() {
        let p = RtpPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        let h = RtpHeader::parse(&p);
        let v = h.to_vec(p.payload(), 2).unwrap();
        assert_eq!(v, PACKET_BYTES);
    }

    #[test]
    fn test_impossible_len() {
        for n in 0..PACKET_BYTES.len() {
            // every truncation is either an error or a shorter valid packet; never a panic
            let _ = RtpPacket::new_checked(&PACKET_BYTES[..n]);
        }
        assert!(matches!(
            RtpPacket::new_checked(&PACKET_BYTES[..11]),
            Err(Error::RtpTooShort { len: 11 })
        ));
    }

    use crate::wire::ext::{ExtensionElement, ExtensionElements};
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn header() -> impl Strategy<Value = RtpHeader> {
        let elements = vec((1u8..=255, vec(any::<u8>(), 0..20)), 0..5).prop_map(|v| {
            let mut seen = std::collections::HashSet::new();
            let els: Vec<_> = v
                .into_iter()
                .filter(|(id, _)| seen.insert(*id))
                .map(|(id, data)| ExtensionElement { id, data })
                .collect();
            ExtensionElements::new(els)
        });
        (
            any::<bool>(),
            0u8..128,
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            vec(any::<u32>(), 0..16),
            proptest::option::of(elements),
        )
            .prop_map(
                |(marker, payload_type, sequence_number, timestamp, ssrc, csrcs, extensions)| {
                    RtpHeader {
                        marker,
                        payload_type,
                        sequence_number,
                        timestamp,
                        ssrc,
                        csrcs,
                        extensions,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn prop_rtp_round_trip(h in header(), payload in vec(any::<u8>(), 0..64), padding in any::<u8>()) {
            let bytes = h.to_vec(&payload, padding).unwrap();
            let p = RtpPacket::new_checked(&bytes[..]).unwrap();
            // one-byte elements with empty data cannot exist; `new` chose two-byte for them
            prop_assert_eq!(RtpHeader::parse(&p), h);
            prop_assert_eq!(p.payload(), &payload[..]);
            prop_assert_eq!(p.padding_len(), usize::from(padding));
        }

        #[test]
        fn prop_rtp_never_panics(bytes in vec(any::<u8>(), 0..100)) {
            if let Ok(p) = RtpPacket::new_checked(&bytes[..]) {
                let _ = RtpHeader::parse(&p);
                let _ = p.payload();
                let _ = p.extensions().count();
            }
        }
    }
}
