#![no_main]
//! The whole `RtpSession` state machine: a byte script of RTP, RTCP, send and timer steps.
//! Never panics, stays within its bounds, and the target bitrate within its limits.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_rtp_rtcp::wire::ext::{ExtensionKind, ExtensionMap};
use tern_rtp_rtcp::wire::rtp::RtpHeader;
use tern_rtp_rtcp::{CongestionFeedback, ReceiveStreamConfig, RtpSession, SendStreamConfig, SessionConfig};

fn base() -> Instant {
    static T: OnceLock<Instant> = OnceLock::new();
    #[allow(clippy::disallowed_methods)]
    *T.get_or_init(Instant::now)
}

fuzz_target!(|data: &[u8]| {
    let t0 = base();
    let mut ext = ExtensionMap::new();
    let _ = ext.insert(3, ExtensionKind::TransportWideCc);
    let _ = ext.insert(2, ExtensionKind::AbsSendTime);
    // odd-length inputs run the RFC 8888 feedback generator instead of transport-wide feedback
    let congestion_feedback =
        if data.len() % 2 == 1 { CongestionFeedback::Rfc8888 } else { CongestionFeedback::TransportWideCc };
    let cfg = SessionConfig {
        extensions: ext,
        max_remote_ssrcs: 4,
        congestion_feedback,
        seed: Some([2; 32]),
        ..SessionConfig::default()
    };
    let (min, max) = (cfg.bwe.min_bitrate, cfg.bwe.max_bitrate);
    let mut s = RtpSession::new(cfg, t0, 0);
    let mut sc = SendStreamConfig::new(5, 90_000);
    sc.rtx_ssrc = Some(6);
    sc.rtx_payload_types = vec![(96, 97)];
    s.add_send_stream(sc);
    let mut rc = ReceiveStreamConfig::new(7, 90_000);
    rc.rtx_ssrc = Some(8);
    rc.rtx_payload_types = vec![(97, 96)];
    s.add_receive_stream(rc);
    let mut now = t0;
    let mut seq = 0u16;
    let mut rest = data;
    // script: [op, len, bytes...]
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        now += Duration::from_millis(u64::from(op >> 3));
        match op & 7 {
            0 | 1 => {
                let _ = s.handle_rtp(now, chunk);
            }
            2 | 3 => {
                let _ = s.handle_rtcp(now, chunk);
            }
            4 => {
                seq = seq.wrapping_add(1);
                let p = RtpHeader { payload_type: 96, sequence_number: seq, ssrc: 5, ..Default::default() };
                if let Ok(bytes) = p.to_vec(chunk, 0) {
                    let _ = s.send_rtp(now, &bytes);
                }
            }
            _ => {
                if let Some(t) = s.poll_timeout() {
                    now = now.max(t);
                }
                s.handle_timeout(now);
            }
        }
        while s.poll_transmit().is_some() {}
        while s.poll_event().is_some() {}
        let t = s.target_bitrate();
        assert!(t >= min && t <= max);
        let rx = s.ccfb_receiver();
        assert!(rx.tracked_ssrcs() <= tern_rtp_rtcp::ccfb::MAX_SSRCS);
        assert!(rx.tracked_packets() as u64 <= rx.tracked_ssrcs() as u64 * tern_rtp_rtcp::ccfb::HISTORY);
    }
});
