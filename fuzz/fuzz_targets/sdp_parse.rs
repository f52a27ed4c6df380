//! Any bytes: no panic, bounded memory, and whatever parses re-parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_sdp::{Candidate, DescriptionKind, ParseOptions, SessionDescription};

fuzz_target!(|data: &[u8]| {
    for opts in [ParseOptions::default(), ParseOptions::strict()] {
        if let Ok((sdp, _warnings)) = SessionDescription::parse_bytes_with(data, &opts) {
            let text = sdp.to_string();
            let again = SessionDescription::parse(&text).expect("emitted SDP must parse");
            assert_eq!(again, sdp, "parse(emit(x)) != x");
            let _ = sdp.check_webrtc(DescriptionKind::Offer);
            for m in &sdp.media {
                let _ = m.candidates().count();
                let _ = sdp.fingerprints_for(m);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = Candidate::parse(text) {
            assert_eq!(Candidate::parse(&c.to_trickle_string()).ok(), Some(c));
        }
    }
});
