//! Any remote offer: no panic, and a rejected offer leaves the peer connection usable (it can
//! still create its own offer). An accepted offer gets an answer that parses as SDP.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Instant;
use tern_peerconnection::{PeerConnection, RtcConfig, SdpType, SessionDescriptionInit};

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = std::str::from_utf8(data) else { return };
    let now = Instant::now();
    let config = RtcConfig { seed: Some(1), ..RtcConfig::default() };
    let Ok(mut pc) = PeerConnection::new(config, now) else { return };
    let offer = SessionDescriptionInit { sdp_type: SdpType::Offer, sdp: sdp.to_string() };
    if pc.set_remote_description(now, offer).is_ok() {
        if let Ok(answer) = pc.create_answer(now) {
            assert!(tern_sdp::SessionDescription::parse(&answer.sdp).is_ok(), "our answer must parse");
        }
    } else {
        assert!(pc.create_offer(now).is_ok(), "a rejected remote offer must not break the connection");
    }
});
