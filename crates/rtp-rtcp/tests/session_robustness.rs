//! Arbitrary bytes into a live session never panic, and rejected input changes nothing
//! observable (no events, no transmits).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use tern_rtp_rtcp::wire::rtp::RtpHeader;
use tern_rtp_rtcp::{RtpSession, SendStreamConfig};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_input_never_panics(inputs in vec((any::<bool>(), vec(any::<u8>(), 0..300)), 1..20)) {
        let t0 = base();
        let mut s = RtpSession::new(config(0xa, 1), t0, 1 << 32);
        s.add_send_stream(SendStreamConfig::new(MEDIA_SSRC, 90_000));
        let p = RtpHeader { payload_type: MEDIA_PT, sequence_number: 1, ssrc: MEDIA_SSRC, ..Default::default() }
            .to_vec(&[0; 50], 0)
            .unwrap();
        s.send_rtp(t0, &p).unwrap();
        s.handle_timeout(t0);
        while s.poll_transmit().is_some() {}
        while s.poll_event().is_some() {}
        for (i, (rtcp, mut data)) in inputs.into_iter().enumerate() {
            let now = t0 + Duration::from_millis(10 * i as u64);
            // steer half of the inputs past the version check
            if rtcp && !data.is_empty() {
                data[0] = 0x80 | (data[0] & 0x3f);
            }
            let r = if rtcp { s.handle_rtcp(now, &data) } else { s.handle_rtp(now, &data) };
            if r.is_err() {
                prop_assert!(s.poll_event().is_none());
                prop_assert!(s.poll_transmit().is_none());
            }
            s.handle_timeout(now);
            while s.poll_transmit().is_some() {}
            while s.poll_event().is_some() {}
            prop_assert!(s.target_bitrate() >= 30_000);
        }
    }
}
