#![no_main]
//! RTP packet view, RFC 8285 extensions and typed extensions: never panic; whatever
//! parses re-emits to a packet that parses to the same header.

use libfuzzer_sys::fuzz_target;
use tern_rtp_rtcp::wire::ext::*;
use tern_rtp_rtcp::wire::rtp::{RtpHeader, RtpPacket};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::new_checked(data) else { return };
    let mut map = ExtensionMap::new();
    for (id, kind) in [(1, ExtensionKind::Mid), (2, ExtensionKind::AbsSendTime), (3, ExtensionKind::TransportWideCc),
        (4, ExtensionKind::AudioLevel), (5, ExtensionKind::TransmissionOffset), (6, ExtensionKind::VideoOrientation),
        (7, ExtensionKind::PlayoutDelay), (8, ExtensionKind::RtpStreamId), (9, ExtensionKind::RepairedRtpStreamId)] {
        let _ = map.insert(id, kind);
    }
    let _ = map.read::<Mid, _>(&p);
    let _ = map.read::<AbsSendTime, _>(&p);
    let _ = map.read::<TransportSequenceNumber, _>(&p);
    let _ = map.read::<AudioLevel, _>(&p);
    let _ = map.read::<TransmissionOffset, _>(&p);
    let _ = map.read::<VideoOrientation, _>(&p);
    let _ = map.read::<PlayoutDelay, _>(&p);
    let _ = map.read::<RtpStreamId, _>(&p);
    let _ = map.read::<RepairedRtpStreamId, _>(&p);
    let h = RtpHeader::parse(&p);
    if let Ok(bytes) = h.to_vec(p.payload(), 0) {
        let q = RtpPacket::new_checked(&bytes[..]).expect("re-emitted packet parses");
        assert_eq!(RtpHeader::parse(&q), h);
        assert_eq!(q.payload(), p.payload());
    }
});
