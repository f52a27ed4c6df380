#![no_main]
//! Transport-wide CC feedback into a sending session: the input is the body of an RTPFB
//! FMT 15 packet; it is decoded and consumed by the bandwidth estimator. Never panic, and
//! the target bitrate stays within the configured bounds.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_rtp_rtcp::wire::ext::{ExtensionKind, ExtensionMap};
use tern_rtp_rtcp::wire::rtp::RtpHeader;
use tern_rtp_rtcp::{RtpSession, SendStreamConfig, SessionConfig};

fn base() -> Instant {
    static T: OnceLock<Instant> = OnceLock::new();
    #[allow(clippy::disallowed_methods)]
    *T.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 4000 {
        return;
    }
    let t0 = base();
    let mut ext = ExtensionMap::new();
    let _ = ext.insert(3, ExtensionKind::TransportWideCc);
    let cfg = SessionConfig { extensions: ext, seed: Some([1; 32]), ..SessionConfig::default() };
    let (min, max) = (cfg.bwe.min_bitrate, cfg.bwe.max_bitrate);
    let mut s = RtpSession::new(cfg, t0, 0);
    s.add_send_stream(SendStreamConfig::new(5, 90_000));
    for i in 0..40u16 {
        let p = RtpHeader { sequence_number: i, ssrc: 5, ..Default::default() }.to_vec(&[0; 500], 0).unwrap();
        let now = t0 + Duration::from_millis(u64::from(i) * 5);
        let _ = s.send_rtp(now, &p);
        s.handle_timeout(now);
        while s.poll_transmit().is_some() {}
    }
    // wrap the input as an RTPFB FMT 15 packet, padded to 32 bits
    let mut body = data.to_vec();
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let words = (body.len() / 4) as u16;
    let mut pkt = vec![0x8f, 205, (words >> 8) as u8, words as u8];
    pkt.extend_from_slice(&body);
    for k in 0..3u64 {
        let now = t0 + Duration::from_millis(300 + 50 * k);
        let _ = s.handle_rtcp(now, &pkt);
        s.handle_timeout(now);
        while s.poll_transmit().is_some() {}
        while s.poll_event().is_some() {}
        let t = s.target_bitrate();
        assert!(t >= min && t <= max);
    }
});
