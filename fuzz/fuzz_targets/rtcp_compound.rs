#![no_main]
//! RTCP compound parsing: never panic; whatever parses re-emits and parses back equal.

use libfuzzer_sys::fuzz_target;
use tern_rtp_rtcp::wire::rtcp::RtcpPacket;

fuzz_target!(|data: &[u8]| {
    let Ok(packets) = RtcpPacket::parse_compound(data) else { return };
    if let Ok(bytes) = RtcpPacket::compound_to_vec(&packets) {
        assert_eq!(RtcpPacket::parse_compound(&bytes).expect("re-emitted compound parses"), packets);
    }
});
