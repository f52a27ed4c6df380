//! BAD_INPUT row 27 (RTP parts): CSRC count beyond the packet, extension length beyond the
//! packet, padding 0 or larger than the payload. All must be `Err` without underflow.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_rtp_rtcp::Error;
use tern_rtp_rtcp::wire::rtp::{RtpHeader, RtpPacket};

fn base() -> Vec<u8> {
    RtpHeader {
        payload_type: 96,
        sequence_number: 7,
        timestamp: 9,
        ssrc: 0x1234,
        ..Default::default()
    }
    .to_vec(&[1, 2, 3, 4], 0)
    .unwrap()
}

#[test]
fn bad_input_rtp_rtcp_27_csrc_count_beyond_packet() {
    let mut p = base();
    p[0] |= 0x0f; // CC = 15 needs 72 bytes, packet has 16
    assert_eq!(
        RtpPacket::new_checked(&p[..]).unwrap_err(),
        Error::CsrcOverrun {
            csrc_count: 15,
            needed: 72,
            len: 16
        }
    );
}

#[test]
fn bad_input_rtp_rtcp_27_extension_length_beyond_packet() {
    // X bit set, but no room for the 4-byte extension header
    let mut p = base()[..14].to_vec();
    p[0] |= 0x10;
    assert!(matches!(
        RtpPacket::new_checked(&p[..]),
        Err(Error::ExtensionOverrun { at: 12, .. })
    ));
    // extension header claims 0xffff words
    let mut p = base();
    p[0] |= 0x10;
    p.splice(12..12, [0xbe, 0xde, 0xff, 0xff]);
    assert!(matches!(
        RtpPacket::new_checked(&p[..]),
        Err(Error::ExtensionOverrun {
            needed: 262_156,
            ..
        })
    ));
    // a one-byte element whose length runs past the extension block
    let mut p = base();
    p[0] |= 0x10;
    p.splice(12..12, [0xbe, 0xde, 0x00, 0x01, 0x1f, 0xaa, 0xbb, 0xcc]);
    assert!(matches!(
        RtpPacket::new_checked(&p[..]),
        Err(Error::ExtensionElementOverrun { at: 16 })
    ));
    // a two-byte element whose length runs past the block
    let mut p = base();
    p[0] |= 0x10;
    p.splice(12..12, [0x10, 0x00, 0x00, 0x01, 0x05, 0x09, 0xbb, 0xcc]);
    assert!(matches!(
        RtpPacket::new_checked(&p[..]),
        Err(Error::ExtensionElementOverrun { at: 16 })
    ));
}

#[test]
fn bad_input_rtp_rtcp_27_padding_zero() {
    let mut p = base();
    p[0] |= 0x20;
    *p.last_mut().unwrap() = 0;
    assert_eq!(
        RtpPacket::new_checked(&p[..]).unwrap_err(),
        Error::BadPadding {
            padding: 0,
            available: 4
        }
    );
}

#[test]
fn bad_input_rtp_rtcp_27_padding_beyond_payload() {
    let mut p = base();
    p[0] |= 0x20;
    *p.last_mut().unwrap() = 5; // 4 bytes after the header
    assert_eq!(
        RtpPacket::new_checked(&p[..]).unwrap_err(),
        Error::BadPadding {
            padding: 5,
            available: 4
        }
    );
    // padding of exactly the payload is allowed (padding-only packet)
    *p.last_mut().unwrap() = 4;
    let ok = RtpPacket::new_checked(&p[..]).unwrap();
    assert!(ok.payload().is_empty());
    // header-only packet with P bit: the count byte is inside the header
    let mut h = base()[..12].to_vec();
    h[0] |= 0x20;
    assert!(matches!(
        RtpPacket::new_checked(&h[..]),
        Err(Error::BadPadding { available: 0, .. })
    ));
}

#[test]
fn bad_input_rtp_rtcp_27_version_and_short() {
    let mut p = base();
    p[0] = (p[0] & 0x3f) | 0x40;
    assert_eq!(
        RtpPacket::new_checked(&p[..]).unwrap_err(),
        Error::BadVersion { version: 1 }
    );
    assert_eq!(
        RtpPacket::new_checked(&p[..3]).unwrap_err(),
        Error::RtpTooShort { len: 3 }
    );
}
