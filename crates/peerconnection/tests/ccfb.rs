//! RFC 8888 congestion control feedback negotiated by two Tern peer connections on virtual time:
//! `a=rtcp-fb:* ack ccfb` offered (with `transport-cc` as the fallback) and answered, then the
//! wire carries RFC 8888 feedback (RTCP PT 205 FMT 11), no transport-wide feedback and no
//! transport-wide sequence numbers, while the sender's bandwidth estimator still produces target
//! bitrates; an answerer without RFC 8888 keeps transport-wide feedback; Chromium's per-payload-
//! type form is accepted; renegotiation keeps what runs; a peer with neither gets neither.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of the virtual clock

mod harness;

use harness::Pair;
use std::time::Duration;
use tern_peerconnection::{
    CongestionFeedback, CongestionFeedbackCounts, Direction, Event, MediaKind, Rfc8888Policy,
    SdpType, SessionDescriptionInit, TransceiverId, is_rtcp,
};

const SEED_A: u64 = 8888;
const TWCC_URI: &str = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
const ABS_SEND_TIME_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

/// What crossed the wire in one direction: SRTCP datagrams by their first (cleartext, RFC 3711
/// §3.4) RTCP header, and the one-byte header-extension ids of SRTP packets (also cleartext).
#[derive(Default, Debug)]
struct Wire {
    /// (packet type, FMT) of the first RTCP packet of each SRTCP datagram.
    rtcp_first: Vec<(u8, u8)>,
    /// Extension element ids seen on RTP packets.
    rtp_extension_ids: Vec<u8>,
    rtp_packets: usize,
}

impl Wire {
    fn first_headers(&self, packet_type: u8, fmt: u8) -> usize {
        self.rtcp_first
            .iter()
            .filter(|h| **h == (packet_type, fmt))
            .count()
    }

    fn record(&mut self, datagram: &[u8]) {
        if datagram.len() < 12 || !(128..192).contains(&datagram[0]) {
            return; // STUN, DTLS
        }
        if is_rtcp(datagram) {
            self.rtcp_first.push((datagram[1], datagram[0] & 0x1f));
            return;
        }
        self.rtp_packets += 1;
        // RFC 3550 §5.3.1 / RFC 8285 §4.2: one-byte header extensions (0xBEDE).
        let csrcs = usize::from(datagram[0] & 0x0f);
        let at = 12 + 4 * csrcs;
        if datagram[0] & 0x10 == 0 || datagram.len() < at + 4 {
            return;
        }
        if datagram[at..at + 2] != [0xbe, 0xde] {
            return;
        }
        let words = usize::from(u16::from_be_bytes([datagram[at + 2], datagram[at + 3]]));
        let end = (at + 4 + 4 * words).min(datagram.len());
        let mut i = at + 4;
        while i < end {
            let b = datagram[i];
            if b == 0 {
                i += 1; // padding
                continue;
            }
            let id = b >> 4;
            if id == 15 {
                break;
            }
            self.rtp_extension_ids.push(id);
            i += 1 + usize::from(b & 0x0f) + 1;
        }
    }
}

/// Runs the pair like `Pair::run_for`, recording every datagram a → b and b → a.
fn run_tapped(pair: &mut Pair, duration: Duration, a_to_b: &mut Wire, b_to_a: &mut Wire) {
    let tap = |to_b: bool, datagram: &[u8]| {
        if to_b {
            a_to_b.record(datagram);
        } else {
            b_to_a.record(datagram);
        }
    };
    pair.run_tapped(duration, tap, |_| false);
}

/// a (policy `a_policy`) offers audio + video, b (policy `b_policy`) answers with its own
/// tracks; both send media for three seconds. Returns the pair, the offer and answer SDP and
/// what crossed the wire.
struct Call {
    pair: Pair,
    offer: String,
    answer: String,
    a_to_b: Wire,
    b_to_a: Wire,
    a_video: TransceiverId,
}

fn call(seed: u64, a_policy: Rfc8888Policy, b_policy: Rfc8888Policy) -> Call {
    let mut pair = Pair::with_config(seed, |c| {
        c.rfc8888 = if c.seed == Some(seed) {
            a_policy
        } else {
            b_policy
        };
    });
    let a_audio = pair
        .a
        .pc
        .add_track(MediaKind::Audio, "a", "a-audio")
        .unwrap();
    let a_video = pair
        .a
        .pc
        .add_track(MediaKind::Video, "a", "a-video")
        .unwrap();
    let mut b_ids: Vec<TransceiverId> = Vec::new();
    pair.negotiate(|b| {
        b_ids.push(b.add_track(MediaKind::Audio, "b", "b-audio").unwrap());
        b_ids.push(b.add_track(MediaKind::Video, "b", "b-video").unwrap());
    });
    let offer = pair.a.pc.local_description().unwrap().sdp.clone();
    let answer = pair.b.pc.local_description().unwrap().sdp.clone();
    let (mut a_to_b, mut b_to_a) = (Wire::default(), Wire::default());
    // Connect (ICE, DTLS, SRTP keys).
    run_tapped(&mut pair, Duration::from_secs(2), &mut a_to_b, &mut b_to_a);
    for (pc, id) in [
        (&pair.a.pc, a_audio),
        (&pair.a.pc, a_video),
        (&pair.b.pc, b_ids[0]),
        (&pair.b.pc, b_ids[1]),
    ] {
        assert_eq!(pc.current_direction(id), Some(Direction::SendRecv));
    }
    // 3 s of 30 fps video (2 packets of 1000 bytes a frame) and 50 pps audio, both ways.
    for frame in 0..90u32 {
        let now = pair.now;
        for (pc, audio, video) in [
            (&mut pair.a.pc, a_audio, a_video),
            (&mut pair.b.pc, b_ids[0], b_ids[1]),
        ] {
            pc.write_rtp(now, video, &[0x10; 1000], frame * 3000, false)
                .unwrap();
            pc.write_rtp(now, video, &[0x11; 1000], frame * 3000, true)
                .unwrap();
            pc.write_rtp(now, audio, &[0xf8, 0xff, 0xfe], frame * 1600, true)
                .unwrap();
        }
        run_tapped(
            &mut pair,
            Duration::from_millis(33),
            &mut a_to_b,
            &mut b_to_a,
        );
    }
    run_tapped(
        &mut pair,
        Duration::from_millis(300),
        &mut a_to_b,
        &mut b_to_a,
    );
    Call {
        pair,
        offer,
        answer,
        a_to_b,
        b_to_a,
        a_video,
    }
}

fn target_bitrates(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TargetBitrate { bits_per_second } => Some(*bits_per_second),
            _ => None,
        })
        .collect()
}

fn extmap_id(sdp: &str, uri: &str) -> Option<u8> {
    sdp.lines().find_map(|l| {
        let rest = l.strip_prefix("a=extmap:")?;
        let (id, u) = rest.split_once(' ')?;
        (u.trim() == uri).then(|| id.parse().ok())?
    })
}

#[test]
fn ccfb_offered_and_accepted_replaces_transport_wide_feedback() {
    // b keeps the default policy (Accept): it answers RFC 8888 because a offers it.
    let c = call(SEED_A, Rfc8888Policy::Offer, Rfc8888Policy::default());
    // The offer carries both (RFC 8888 §6 wildcard form; transport-cc as the fallback), the
    // answer RFC 8888 only, like Chromium's.
    for media in c
        .offer
        .split("m=")
        .skip(1)
        .filter(|m| !m.starts_with("application"))
    {
        assert!(media.contains("a=rtcp-fb:* ack ccfb\r\n"), "{media}");
        assert!(media.contains(" transport-cc\r\n"), "{media}");
    }
    assert!(extmap_id(&c.offer, TWCC_URI).is_some());
    let answer_media: Vec<&str> = c
        .answer
        .split("m=")
        .skip(1)
        .filter(|m| !m.starts_with("application"))
        .collect();
    assert_eq!(answer_media.len(), 2, "{}", c.answer);
    for media in answer_media {
        assert!(media.contains("a=rtcp-fb:* ack ccfb\r\n"), "{media}");
    }
    assert!(!c.answer.contains("transport-cc"), "{}", c.answer);
    assert_eq!(extmap_id(&c.answer, TWCC_URI), None);
    // abs-send-time comes with RFC 8888 (libwebrtc probes only with a send-side extension).
    let abs_send_time = extmap_id(&c.answer, ABS_SEND_TIME_URI).expect("abs-send-time");
    assert_eq!(extmap_id(&c.offer, ABS_SEND_TIME_URI), Some(abs_send_time));
    for pc in [&c.pair.a.pc, &c.pair.b.pc] {
        assert_eq!(pc.congestion_feedback(), Some(CongestionFeedback::Rfc8888));
    }

    // On the wire: RFC 8888 feedback both ways (reduced-size SRTCP, header in the clear), no
    // transport-wide feedback, and RTP without the transport-wide sequence number extension.
    let offered_twcc_id = extmap_id(&c.offer, TWCC_URI).unwrap();
    for (name, wire) in [("a → b", &c.a_to_b), ("b → a", &c.b_to_a)] {
        assert!(wire.rtp_packets > 200, "{name}: {wire:?}");
        assert!(
            wire.first_headers(205, 11) >= 20,
            "{name}: {:?}",
            wire.rtcp_first
        );
        assert_eq!(
            wire.first_headers(205, 15),
            0,
            "{name}: {:?}",
            wire.rtcp_first
        );
        assert!(
            !wire.rtp_extension_ids.contains(&offered_twcc_id),
            "{name}: transport-wide sequence numbers sent"
        );
        assert!(
            !wire.rtp_extension_ids.is_empty(),
            "{name}: no mid extension seen"
        );
        assert!(
            wire.rtp_extension_ids.contains(&abs_send_time),
            "{name}: no abs-send-time"
        );
    }
    // Decrypted, both ends agree on what went each way.
    let (a, b) = (
        c.pair.a.pc.congestion_feedback_counts(),
        c.pair.b.pc.congestion_feedback_counts(),
    );
    for counts in [a, b] {
        assert_eq!(counts.twcc_sent, 0, "{counts:?}");
        assert_eq!(counts.twcc_received, 0, "{counts:?}");
        assert!(counts.ccfb_sent >= 20, "{counts:?}");
        assert!(counts.ccfb_received >= 20, "{counts:?}");
    }
    assert!(a.ccfb_received <= b.ccfb_sent && b.ccfb_received <= a.ccfb_sent);
    assert!(b.ccfb_sent as usize >= c.b_to_a.first_headers(205, 11));

    // Each sender's estimator is driven by RFC 8888 alone and still reports target bitrates.
    for (name, events) in [("a", &c.pair.a.events), ("b", &c.pair.b.events)] {
        let targets = target_bitrates(events);
        assert!(
            !targets.is_empty(),
            "{name}: no target bitrate from RFC 8888 feedback"
        );
        assert!(targets.iter().all(|t| *t >= 30_000), "{name}: {targets:?}");
    }
}

#[test]
fn ccfb_offered_to_a_peer_without_it_keeps_transport_wide_feedback() {
    // b does not take RFC 8888 (Off: as a peer that does not know `ack ccfb`).
    let c = call(SEED_A + 10, Rfc8888Policy::Offer, Rfc8888Policy::Off);
    assert!(c.offer.contains("a=rtcp-fb:* ack ccfb\r\n"));
    assert!(!c.answer.contains("ccfb"), "{}", c.answer);
    assert!(c.answer.contains(" transport-cc\r\n"), "{}", c.answer);
    let twcc_id = extmap_id(&c.answer, TWCC_URI).expect("answer keeps the TWCC extmap");
    assert_eq!(
        extmap_id(&c.answer, ABS_SEND_TIME_URI),
        None,
        "{}",
        c.answer
    );
    for pc in [&c.pair.a.pc, &c.pair.b.pc] {
        assert_eq!(
            pc.congestion_feedback(),
            Some(CongestionFeedback::TransportWideCc)
        );
    }
    for (name, wire) in [("a → b", &c.a_to_b), ("b → a", &c.b_to_a)] {
        assert!(
            wire.first_headers(205, 15) >= 10,
            "{name}: {:?}",
            wire.rtcp_first
        );
        assert_eq!(
            wire.first_headers(205, 11),
            0,
            "{name}: {:?}",
            wire.rtcp_first
        );
        assert!(wire.rtp_extension_ids.contains(&twcc_id), "{name}");
    }
    for pc in [&c.pair.a.pc, &c.pair.b.pc] {
        let counts = pc.congestion_feedback_counts();
        assert_eq!(
            (counts.ccfb_sent, counts.ccfb_received),
            (0, 0),
            "{counts:?}"
        );
        assert!(
            counts.twcc_sent >= 10 && counts.twcc_received >= 10,
            "{counts:?}"
        );
    }
    assert!(!target_bitrates(&c.pair.a.events).is_empty());
}

#[test]
fn ccfb_is_not_offered_by_default_and_a_default_answerer_follows_transport_wide() {
    let c = call(
        SEED_A + 20,
        Rfc8888Policy::default(),
        Rfc8888Policy::default(),
    );
    assert!(!c.offer.contains("ccfb") && !c.answer.contains("ccfb"));
    assert!(!c.offer.contains(ABS_SEND_TIME_URI));
    assert_eq!(
        c.pair.b.pc.congestion_feedback(),
        Some(CongestionFeedback::TransportWideCc)
    );
    let counts = c.pair.b.pc.congestion_feedback_counts();
    assert_eq!(counts.ccfb_sent, 0);
    assert!(counts.twcc_sent > 0);
}

#[test]
fn ccfb_survives_renegotiation_without_transport_cc_coming_back() {
    let mut c = call(SEED_A + 30, Rfc8888Policy::Offer, Rfc8888Policy::Accept);
    // b re-offers (its policy only accepts): the running RFC 8888 session is kept, so its offer
    // carries `ack ccfb` and no transport-cc, also for a new transceiver.
    let now = c.pair.now;
    c.pair
        .b
        .pc
        .add_track(MediaKind::Video, "b", "b-video-2")
        .unwrap();
    let offer = c.pair.b.pc.create_offer(now).unwrap();
    c.pair
        .b
        .pc
        .set_local_description(now, offer.clone())
        .unwrap();
    c.pair
        .a
        .pc
        .set_remote_description(now, offer.clone())
        .unwrap();
    let answer = c.pair.a.pc.create_answer(now).unwrap();
    c.pair
        .a
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    c.pair
        .b
        .pc
        .set_remote_description(now, answer.clone())
        .unwrap();
    for sdp in [&offer.sdp, &answer.sdp] {
        let media: Vec<&str> = sdp
            .split("m=")
            .skip(1)
            .filter(|m| !m.starts_with("application") && !m.contains(" 0 UDP"))
            .collect();
        assert_eq!(media.len(), 3, "{sdp}");
        for m in media {
            assert!(m.contains("a=rtcp-fb:* ack ccfb\r\n"), "{m}");
        }
        assert!(!sdp.contains("transport-cc"), "{sdp}");
    }
    for pc in [&c.pair.a.pc, &c.pair.b.pc] {
        assert_eq!(pc.congestion_feedback(), Some(CongestionFeedback::Rfc8888));
    }
    let before: CongestionFeedbackCounts = c.pair.a.pc.congestion_feedback_counts();
    let (mut x, mut y) = (Wire::default(), Wire::default());
    let a_video = c.a_video;
    for frame in 0..20u32 {
        let now = c.pair.now;
        // a's second track (its video) keeps flowing.
        let _ = c
            .pair
            .a
            .pc
            .write_rtp(now, a_video, &[0x10; 800], frame * 3000, true);
        run_tapped(&mut c.pair, Duration::from_millis(33), &mut x, &mut y);
    }
    let after = c.pair.a.pc.congestion_feedback_counts();
    assert!(
        after.ccfb_received > before.ccfb_received,
        "{before:?} {after:?}"
    );
    assert_eq!(after.twcc_received, 0);
}

/// a offers (policy `Offer`), `munge` rewrites the offer before b (default policy) applies it,
/// b answers with audio and video of its own; both run for a second of video from a.
fn munged_call(seed: u64, munge: impl Fn(&str) -> String) -> (Pair, String) {
    let mut pair = Pair::with_config(seed, |c| {
        if c.seed == Some(seed) {
            c.rfc8888 = Rfc8888Policy::Offer;
        }
    });
    let now = pair.now;
    let a_video = pair
        .a
        .pc
        .add_track(MediaKind::Video, "a", "a-video")
        .unwrap();
    let offer = pair.a.pc.create_offer(now).unwrap();
    pair.a.pc.set_local_description(now, offer.clone()).unwrap();
    let munged = SessionDescriptionInit {
        sdp_type: SdpType::Offer,
        sdp: munge(&offer.sdp),
    };
    pair.b.pc.set_remote_description(now, munged).unwrap();
    pair.b
        .pc
        .add_track(MediaKind::Video, "b", "b-video")
        .unwrap();
    let answer = pair.b.pc.create_answer(now).unwrap();
    pair.b
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    pair.a
        .pc
        .set_remote_description(now, answer.clone())
        .unwrap();
    let (mut x, mut y) = (Wire::default(), Wire::default());
    run_tapped(&mut pair, Duration::from_secs(2), &mut x, &mut y);
    for frame in 0..30u32 {
        let now = pair.now;
        pair.a
            .pc
            .write_rtp(now, a_video, &[0x10; 1000], frame * 3000, true)
            .unwrap();
        run_tapped(&mut pair, Duration::from_millis(33), &mut x, &mut y);
    }
    (pair, answer.sdp)
}

#[test]
fn ccfb_listed_per_payload_type_like_chromium_is_accepted() {
    // Chromium 156 writes `a=rtcp-fb:<pt> ack ccfb` under every payload type rather than the
    // RFC 8888 §6 wildcard; the answer (wildcard) takes it all the same.
    let (pair, answer) = munged_call(SEED_A + 40, |sdp| {
        let mut out = String::new();
        for line in sdp.split_inclusive("\r\n") {
            if line == "a=rtcp-fb:* ack ccfb\r\n" {
                continue;
            }
            out.push_str(line);
            if let Some(rest) = line.strip_prefix("a=rtpmap:") {
                let pt = rest.split(' ').next().unwrap();
                out.push_str(&format!("a=rtcp-fb:{pt} ack ccfb\r\n"));
            }
        }
        assert!(!out.contains("a=rtcp-fb:* ack ccfb") && out.contains(" ack ccfb"));
        out
    });
    assert!(answer.contains("a=rtcp-fb:* ack ccfb\r\n"), "{answer}");
    assert!(!answer.contains("transport-cc"), "{answer}");
    for pc in [&pair.a.pc, &pair.b.pc] {
        assert_eq!(pc.congestion_feedback(), Some(CongestionFeedback::Rfc8888));
    }
    let b = pair.b.pc.congestion_feedback_counts();
    assert!(b.ccfb_sent >= 10 && b.twcc_sent == 0, "{b:?}");
    assert!(!target_bitrates(&pair.a.events).is_empty());
}

#[test]
fn neither_feedback_negotiated_runs_none_and_sends_none() {
    // A peer that offers neither RFC 8888 nor transport-wide CC (no `ack ccfb`, no
    // `transport-cc`, no transport-wide sequence number extension).
    let (pair, answer) = munged_call(SEED_A + 50, |sdp| {
        sdp.split_inclusive("\r\n")
            .filter(|l| !l.contains("ack ccfb") && !l.contains("transport-cc"))
            .filter(|l| !l.contains(TWCC_URI))
            .collect()
    });
    assert!(
        !answer.contains("ccfb") && !answer.contains("transport-cc"),
        "{answer}"
    );
    for pc in [&pair.a.pc, &pair.b.pc] {
        assert_eq!(pc.congestion_feedback(), Some(CongestionFeedback::None));
        let counts = pc.congestion_feedback_counts();
        assert_eq!(counts, CongestionFeedbackCounts::default(), "{counts:?}");
    }
    // Media still flows.
    assert!(
        pair.b
            .events
            .iter()
            .filter(|e| matches!(e, Event::Rtp(_)))
            .count()
            >= 25
    );
}
