//! Interop with aiortc 1.16 (a real, independent SDP implementation): we parse its offers and
//! answers strictly, and it accepts the offers our builder writes.
//!
//! Run with `TERN_PYTHON=<venv python with aiortc> cargo test -p tern-sdp --test interop_aiortc
//! -- --ignored`. aiortc only gathers host candidates on 127.0.0.1 here (no network).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// A real child process runs on wall-clock time: the timeout needs the clock.
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tern_sdp::{
    Candidate, DescriptionKind, Fingerprint, Fmtp, FmtpParameter, MediaBuilder, MediaKind,
    ParseOptions, RtcpFb, RtpMap, SessionBuilder, SessionDescription, Setup,
};

const SCRIPT: &str = r#"
import asyncio, sys
import aioice.ice
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
from aiortc import RTCPeerConnection, RTCSessionDescription

async def main(mode):
    pc = RTCPeerConnection()
    if mode == "offer":
        pc.addTransceiver("audio")
        pc.addTransceiver("video")
        pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
    else:
        offer = sys.stdin.read()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
    sys.stdout.write(pc.localDescription.sdp)
    sys.stdout.flush()
    await pc.close()

asyncio.run(main(sys.argv[1]))
"#;

/// Kills the child by PID on drop (also when a test fails).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> String {
    std::env::var("TERN_PYTHON").expect("TERN_PYTHON must name a Python with aiortc installed")
}

/// Runs the script in `mode`, feeding `stdin`, with a 30 s timeout; returns stdout.
fn run_aiortc(mode: &str, stdin: &str) -> String {
    let child = Command::new(python())
        .arg("-c")
        .arg(SCRIPT)
        .arg(mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn aiortc");
    let mut guard = Guard(child);
    guard
        .0
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            let mut out = String::new();
            guard
                .0
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            let mut err = String::new();
            guard
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert!(status.success(), "aiortc {mode} failed: {err}");
            return out;
        }
        assert!(Instant::now() < deadline, "aiortc {mode} timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn interop_aiortc_offer_parses_strictly() {
    let text = run_aiortc("offer", "");
    let (sdp, warnings) = SessionDescription::parse_with(&text, &ParseOptions::strict())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        sdp.to_string(),
        text.replace("\r\n", "\n").replace('\n', "\r\n")
    );
    sdp.check_webrtc(DescriptionKind::Offer).unwrap();
    let kinds: Vec<_> = sdp.media.iter().map(|m| m.kind.clone()).collect();
    assert_eq!(
        kinds,
        [MediaKind::Audio, MediaKind::Video, MediaKind::Application]
    );
    let bundle = sdp.bundle_groups().next().unwrap();
    assert_eq!(bundle.mids.len(), 3);
    for m in &sdp.media {
        assert!(
            m.candidates()
                .any(|c| c.address.ip() == Some([127, 0, 0, 1].into()))
        );
        assert!(
            sdp.fingerprints_for(m)
                .iter()
                .any(|f| f.hash_function == "sha-256")
        );
        assert_eq!(sdp.setup_for(m), Some(Setup::ActPass));
    }
    let audio = &sdp.media[0];
    assert!(
        audio
            .rtpmaps()
            .any(|r| r.encoding_name == "opus" && r.clock_rate == 48000)
    );
    let video = &sdp.media[1];
    assert!(video.rtpmaps().any(|r| r.encoding_name == "VP8"));
    assert!(video.rtpmaps().any(|r| r.encoding_name == "rtx"));
    assert!(sdp.media[2].sctp_port().is_some());
}

fn our_offer() -> SessionDescription {
    let fp = Fingerprint {
        hash_function: "sha-256".into(),
        value: (0u8..32).map(|b| b.wrapping_mul(7)).collect(),
    };
    let cand = Candidate::parse("candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host").unwrap();
    let opus = RtpMap {
        payload_type: 111,
        encoding_name: "opus".into(),
        clock_rate: 48000,
        channels: Some(2),
    };
    let fmtp = Fmtp {
        format: "111".into(),
        parameters: vec![FmtpParameter {
            key: "minptime".into(),
            value: Some("10".into()),
        }],
    };
    let fb = RtcpFb {
        payload_type: Some(111),
        feedback_type: "transport-cc".into(),
        parameter: None,
    };
    let audio = MediaBuilder::audio(&[111])
        .mid("0")
        .ice_credentials("tErN", "tern0123456789abcdefgh")
        .ice_options(&["trickle"])
        .fingerprint(&fp)
        .setup(Setup::ActPass)
        .candidate(&cand)
        .direction(tern_sdp::Direction::SendRecv)
        .msid("tern-stream", Some("tern-audio"))
        .rtcp_mux()
        .codec(&opus, &[fb], Some(&fmtp))
        .ssrc(&tern_sdp::Ssrc {
            ssrc: 12345678,
            attribute: "cname".into(),
            value: Some("tern".into()),
        })
        .build()
        .unwrap();
    let data = MediaBuilder::data_channel()
        .mid("1")
        .ice_credentials("tErN", "tern0123456789abcdefgh")
        .fingerprint(&fp)
        .setup(Setup::ActPass)
        .candidate(&cand)
        .sctp_port(5000)
        .max_message_size(262144)
        .build()
        .unwrap();
    SessionBuilder::new(1234567890123, 1)
        .bundle(&["0", "1"])
        .msid_semantic_wms(&["*"])
        .media(audio)
        .media(data)
        .build()
        .unwrap()
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn interop_aiortc_accepts_our_offer_and_answers() {
    let offer = our_offer();
    let answer_text = run_aiortc("answer", &offer.to_string());
    let (answer, warnings) = SessionDescription::parse_with(&answer_text, &ParseOptions::strict())
        .unwrap_or_else(|e| panic!("{e}\n{answer_text}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    answer.check_webrtc(DescriptionKind::Answer).unwrap();
    let mids: Vec<_> = answer
        .media
        .iter()
        .map(|m| m.mid().unwrap().to_owned())
        .collect();
    assert_eq!(mids, ["0", "1"]);
    for m in &answer.media {
        assert!(matches!(
            answer.setup_for(m),
            Some(Setup::Active | Setup::Passive)
        ));
        assert!(!m.is_rejected(), "aiortc rejected section {:?}", m.mid());
    }
    let audio = &answer.media[0];
    assert_eq!(audio.rtpmap(111).unwrap().encoding_name, "opus");
    assert_eq!(answer.media[1].sctp_port(), Some(5000));
}
