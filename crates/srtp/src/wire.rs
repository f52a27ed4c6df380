//! The few RTP/RTCP header fields SRTP needs, read without panicking.

use crate::error::SrtpError;

/// Fixed RTP header length (RFC 3550 §5.1).
pub(crate) const RTP_HEADER_LEN: usize = 12;
/// RTCP header bytes left in the clear by SRTCP: V/P/RC, PT, length, SSRC (RFC 3711 §3.4).
pub(crate) const RTCP_HEADER_LEN: usize = 8;
/// The E‖SRTCP index word.
pub(crate) const SRTCP_INDEX_LEN: usize = 4;
/// The E bit in the SRTCP trailer word.
pub(crate) const SRTCP_E_BIT: u32 = 0x8000_0000;

/// What SRTP needs from an RTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpHeader {
    /// Header length including CSRCs and the header extension: the payload starts here.
    pub(crate) len: usize,
    pub(crate) seq: u16,
    pub(crate) ssrc: u32,
    pub(crate) padding: bool,
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[w, x, y, z]) => u32::from_be_bytes([w, x, y, z]),
        _ => 0,
    }
}

/// Parse the header of an RTP packet whose bytes (without any SRTP tag) are `pkt`.
///
/// The header extension is left in the clear and authenticated only (RFC 3711 §3.1);
/// its length must fit in the packet.
#[inline]
pub(crate) fn parse_rtp(pkt: &[u8]) -> Result<RtpHeader, SrtpError> {
    let Some(&first) = pkt.first() else {
        return Err(SrtpError::TooShort {
            len: 0,
            min: RTP_HEADER_LEN,
        });
    };
    if pkt.len() < RTP_HEADER_LEN {
        return Err(SrtpError::TooShort {
            len: pkt.len(),
            min: RTP_HEADER_LEN,
        });
    }
    let version = first >> 6;
    if version != 2 {
        return Err(SrtpError::BadVersion { version });
    }
    let count = first & 0x0f;
    let mut len = RTP_HEADER_LEN + 4 * usize::from(count);
    if len > pkt.len() {
        return Err(SrtpError::CsrcPastEnd {
            count,
            len: pkt.len(),
        });
    }
    if first & 0x10 != 0 {
        // RFC 3550 §5.3.1: 16-bit profile field, 16-bit length in 32-bit words.
        if len + 4 > pkt.len() {
            return Err(SrtpError::ExtensionPastEnd {
                end: len + 4,
                len: pkt.len(),
            });
        }
        let words = usize::from(be16(pkt, len + 2));
        let end = len + 4 + 4 * words;
        if end > pkt.len() {
            return Err(SrtpError::ExtensionPastEnd {
                end,
                len: pkt.len(),
            });
        }
        len = end;
    }
    Ok(RtpHeader {
        len,
        seq: be16(pkt, 2),
        ssrc: be32(pkt, 8),
        padding: first & 0x20 != 0,
    })
}

/// RFC 3550 §5.1: with P set, the last payload octet counts the padding, itself included.
pub(crate) fn check_padding(payload: &[u8]) -> Result<(), SrtpError> {
    let count = payload.last().copied().unwrap_or(0);
    if count == 0 || usize::from(count) > payload.len() {
        return Err(SrtpError::InvalidPadding {
            count,
            payload_len: payload.len(),
        });
    }
    Ok(())
}

/// Check the clear RTCP header of `pkt` and return its SSRC.
pub(crate) fn parse_rtcp(pkt: &[u8], min: usize) -> Result<u32, SrtpError> {
    if pkt.len() < min.max(RTCP_HEADER_LEN) {
        return Err(SrtpError::TooShort {
            len: pkt.len(),
            min: min.max(RTCP_HEADER_LEN),
        });
    }
    let version = pkt.first().copied().unwrap_or(0) >> 6;
    if version != 2 {
        return Err(SrtpError::BadVersion { version });
    }
    Ok(be32(pkt, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_plain_header() {
        let pkt = hex::decode("800f1234decafbadcafebabeabababab").unwrap();
        let h = parse_rtp(&pkt).unwrap();
        assert_eq!(
            h,
            RtpHeader {
                len: 12,
                seq: 0x1234,
                ssrc: 0xcafebabe,
                padding: false
            }
        );
    }

    #[test]
    fn parse_csrcs_and_extension() {
        // CC=2, X=1, extension of 1 word.
        let mut pkt = vec![0x92, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9];
        pkt.extend_from_slice(&[0; 8]);
        pkt.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4, 0xaa]);
        let h = parse_rtp(&pkt).unwrap();
        assert_eq!(h.len, 12 + 8 + 8);
        assert_eq!(h.ssrc, 9);
        pkt.truncate(12 + 8 + 7);
        assert_eq!(
            parse_rtp(&pkt),
            Err(SrtpError::ExtensionPastEnd { end: 28, len: 27 })
        );
        pkt.truncate(12 + 8 + 2);
        assert_eq!(
            parse_rtp(&pkt),
            Err(SrtpError::ExtensionPastEnd { end: 24, len: 22 })
        );
        pkt.truncate(12 + 7);
        assert_eq!(
            parse_rtp(&pkt),
            Err(SrtpError::CsrcPastEnd { count: 2, len: 19 })
        );
    }

    #[test]
    fn rejects_short_and_bad_version() {
        assert_eq!(parse_rtp(&[]), Err(SrtpError::TooShort { len: 0, min: 12 }));
        assert_eq!(
            parse_rtp(&[0x80; 11]),
            Err(SrtpError::TooShort { len: 11, min: 12 })
        );
        assert_eq!(
            parse_rtp(&[0x40; 12]),
            Err(SrtpError::BadVersion { version: 1 })
        );
        assert!(parse_rtcp(&[0x80; 7], 0).is_err());
        assert_eq!(
            parse_rtcp(&[0x80, 0xc8, 0, 1, 1, 2, 3, 4], 0),
            Ok(0x01020304)
        );
    }

    #[test]
    fn padding_rules() {
        assert!(check_padding(&[]).is_err());
        assert!(check_padding(&[1, 2, 0]).is_err());
        assert!(check_padding(&[1, 2, 4]).is_err());
        assert!(check_padding(&[1, 2, 3]).is_ok());
        assert!(check_padding(&[1]).is_ok());
    }
}
