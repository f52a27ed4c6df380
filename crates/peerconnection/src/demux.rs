//! RFC 7983 §7 demultiplexing of one UDP 5-tuple into STUN, DTLS, RTP/RTCP (and nothing else).

/// What a received datagram is, judged by its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketClass {
    /// 0–3: STUN (ICE connectivity checks and consent).
    Stun,
    /// 20–63: DTLS records.
    Dtls,
    /// 128–191: RTP or RTCP (SRTP/SRTCP).
    Rtp,
    /// Anything else (ZRTP 16–19, TURN channels 64–79, or garbage): dropped on a bundled transport.
    Unknown,
}

/// Classifies a datagram.
///
/// RFC 7983 §7: "If the value of the first byte is in [0..3] STUN; [16..19] ZRTP; [20..63] DTLS;
/// [64..79] TURN Channel; [128..191] RTP/RTCP; else drop."
pub fn classify(datagram: &[u8]) -> PacketClass {
    match datagram.first() {
        Some(0..=3) => PacketClass::Stun,
        Some(20..=63) => PacketClass::Dtls,
        Some(128..=191) => PacketClass::Rtp,
        _ => PacketClass::Unknown,
    }
}

/// RFC 5761 §4: on a muxed port, RTCP packet types 192–223 (SR 200, RR 201, …, FB 205/206) are told
/// from RTP by the second byte.
pub fn is_rtcp(datagram: &[u8]) -> bool {
    matches!(datagram.get(1), Some(192..=223))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_range_boundary() {
        let cases = [
            (0u8, PacketClass::Stun),
            (3, PacketClass::Stun),
            (4, PacketClass::Unknown),
            (19, PacketClass::Unknown),
            (20, PacketClass::Dtls),
            (63, PacketClass::Dtls),
            (64, PacketClass::Unknown),
            (127, PacketClass::Unknown),
            (128, PacketClass::Rtp),
            (191, PacketClass::Rtp),
            (192, PacketClass::Unknown),
            (255, PacketClass::Unknown),
        ];
        for (first, class) in cases {
            assert_eq!(classify(&[first, 0, 0, 0]), class, "first byte {first}");
        }
        assert_eq!(classify(&[]), PacketClass::Unknown);
    }

    #[test]
    fn tells_rtcp_from_rtp() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(is_rtcp(&[0x81, 206]));
        assert!(!is_rtcp(&[0x80, 111]));
        assert!(!is_rtcp(&[0x80]));
    }
}
