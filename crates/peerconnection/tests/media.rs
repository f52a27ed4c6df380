//! Audio and video between two Tern peer connections on virtual time: transceivers negotiated
//! by renegotiating a data-only session (no new ICE), SRTP keyed from DTLS, RTP both ways keyed
//! by mid, NACK → RTX, PLI → keyframe request, TWCC → target bitrate, and BAD_INPUT row 22
//! (fingerprint mismatch: no keys, no media).
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
    AlertDescription, DataChannelInit, Direction, Event, FailureReason, IceConnectionState,
    KeyframeRequestKind, MediaKind, MediaPacket, PeerConnectionState, SdpType,
    SessionDescriptionInit, Stats, TransceiverId,
};

fn packets(events: &[Event], transceiver: TransceiverId) -> Vec<&MediaPacket> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Rtp(p) if p.transceiver == transceiver => Some(p),
            _ => None,
        })
        .collect()
}

fn track(
    events: &[Event],
    kind: MediaKind,
) -> Option<(TransceiverId, String, Vec<String>, Option<String>)> {
    events.iter().find_map(|e| match e {
        Event::Track {
            transceiver,
            mid,
            kind: k,
            stream_ids,
            track_id,
        } if *k == kind => Some((
            *transceiver,
            mid.clone(),
            stream_ids.clone(),
            track_id.clone(),
        )),
        _ => None,
    })
}

const OPUS_SILENCE: [u8; 3] = [0xf8, 0xff, 0xfe];

/// The seed's "upgrade" case: a data-only session, then audio and video added by a second
/// offer/answer over the same ICE and DTLS.
fn upgraded_pair(seed: u64) -> (Pair, [TransceiverId; 4]) {
    let mut pair = Pair::new(seed);
    let now = pair.now;
    let chat = pair
        .a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.negotiate(|_| {});
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.events
            .iter()
            .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat))
    });
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Connected);
    let checks_before = pair
        .a
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::IceConnectionStateChange(IceConnectionState::Checking)
            )
        })
        .count();

    let a_audio = pair
        .a
        .pc
        .add_track(MediaKind::Audio, "stream-a", "audio-a")
        .unwrap();
    let a_video = pair
        .a
        .pc
        .add_track(MediaKind::Video, "stream-a", "video-a")
        .unwrap();
    let mut b_ids = Vec::new();
    pair.negotiate(|b| {
        b_ids.push(
            b.add_track(MediaKind::Audio, "stream-b", "audio-b")
                .unwrap(),
        );
        b_ids.push(
            b.add_track(MediaKind::Video, "stream-b", "video-b")
                .unwrap(),
        );
    });
    let (b_audio, b_video) = (b_ids[0], b_ids[1]);
    pair.run_for(Duration::from_millis(200));
    for (pc, id) in [
        (&pair.a.pc, a_audio),
        (&pair.a.pc, a_video),
        (&pair.b.pc, b_audio),
        (&pair.b.pc, b_video),
    ] {
        assert_eq!(pc.current_direction(id), Some(Direction::SendRecv));
    }
    // No ICE restart: the agent never went back to checking.
    let checks_after = pair
        .a
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::IceConnectionStateChange(IceConnectionState::Checking)
            )
        })
        .count();
    assert_eq!(checks_before, checks_after);
    (pair, [a_audio, a_video, b_audio, b_video])
}

#[test]
fn renegotiation_adds_audio_and_video_and_rtp_flows_both_ways() {
    let (mut pair, [a_audio, a_video, b_audio, b_video]) = upgraded_pair(31);
    // Tracks are announced keyed by mid and msid.
    let (b_sees_audio, mid, streams, track_id) = track(&pair.b.events, MediaKind::Audio).unwrap();
    assert_eq!(b_sees_audio, b_audio);
    assert_eq!(Some(mid.as_str()), pair.a.pc.transceiver_mid(a_audio));
    assert_eq!(
        (streams, track_id),
        (vec!["stream-a".to_string()], Some("audio-a".to_string()))
    );
    let (a_sees_video, _, streams, _) = track(&pair.a.events, MediaKind::Video).unwrap();
    assert_eq!(a_sees_video, a_video);
    assert_eq!(streams, vec!["stream-b".to_string()]);

    let video_frame: Vec<u8> = (0..900u32).map(|i| (i * 31) as u8).collect();
    for i in 0..50u32 {
        let now = pair.now;
        pair.a
            .pc
            .write_rtp(now, a_audio, &OPUS_SILENCE, i * 960, false)
            .unwrap();
        pair.a
            .pc
            .write_rtp(now, a_video, &video_frame, i * 3000, true)
            .unwrap();
        pair.b
            .pc
            .write_rtp(now, b_audio, &OPUS_SILENCE, i * 960, false)
            .unwrap();
        pair.b
            .pc
            .write_rtp(now, b_video, &video_frame, i * 3000, true)
            .unwrap();
        pair.run_for(Duration::from_millis(20));
    }
    pair.run_for(Duration::from_millis(200));
    let b_audio_in = packets(&pair.b.events, b_audio);
    let b_video_in = packets(&pair.b.events, b_video);
    let a_audio_in = packets(&pair.a.events, a_audio);
    let a_video_in = packets(&pair.a.events, a_video);
    for (what, got) in [
        ("b audio", &b_audio_in),
        ("b video", &b_video_in),
        ("a audio", &a_audio_in),
        ("a video", &a_video_in),
    ] {
        assert_eq!(got.len(), 50, "{what}: {} packets", got.len());
    }
    assert!(
        b_audio_in
            .iter()
            .all(|p| p.payload == OPUS_SILENCE && p.payload_type == 111)
    );
    assert!(
        b_video_in
            .iter()
            .all(|p| p.payload == video_frame && p.payload_type == 96 && p.marker)
    );
    assert_eq!(b_audio_in[0].ssrc, pair.a.pc.local_ssrc(a_audio).unwrap());
    // Consecutive sequence numbers and timestamps advancing by what the application gave.
    for w in b_audio_in.windows(2) {
        assert_eq!(w[1].sequence_number, w[0].sequence_number.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(960));
    }
    // The data channel still works after the upgrade.
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Connected);
}

#[test]
fn lost_video_is_repaired_by_rtx() {
    let (mut pair, [_, a_video, _, b_video]) = upgraded_pair(32);
    let frame = |i: u32| -> Vec<u8> { (0..600u32).map(|j| (i * 7 + j) as u8).collect() };
    for i in 0..30u32 {
        if i == 10 {
            pair.drop_rtp_to_b = (96, 1);
        }
        let now = pair.now;
        pair.a
            .pc
            .write_rtp(now, a_video, &frame(i), i * 3000, true)
            .unwrap();
        pair.run_for(Duration::from_millis(33));
    }
    pair.run_for(Duration::from_millis(500));
    assert_eq!(pair.drop_rtp_to_b.1, 0, "one packet was dropped");
    let got = packets(&pair.b.events, b_video);
    let repaired: Vec<_> = got.iter().filter(|p| p.repaired).collect();
    assert_eq!(repaired.len(), 1, "one packet came back over RTX");
    assert_eq!(repaired[0].payload, frame(10));
    let mut payloads: Vec<Vec<u8>> = got.iter().map(|p| p.payload.clone()).collect();
    payloads.sort();
    let mut sent: Vec<Vec<u8>> = (0..30).map(frame).collect();
    sent.sort();
    assert_eq!(payloads, sent, "every frame arrived exactly once");
    // W3C stats on both ends: b sent a NACK, a received it and answered with one RTX packet.
    let now = pair.now;
    let out = pair
        .a
        .pc
        .stats(now)
        .stats
        .into_iter()
        .find_map(|s| match s {
            Stats::OutboundRtp(o) if o.kind == "video" => Some(o),
            _ => None,
        })
        .unwrap();
    assert!(out.nack_count >= 1, "{out:?}");
    assert_eq!(out.retransmitted_packets_sent, 1, "{out:?}");
    assert_eq!(out.retransmitted_bytes_sent, 600, "{out:?}");
    let inbound = pair
        .b
        .pc
        .stats(now)
        .stats
        .into_iter()
        .find_map(|s| match s {
            Stats::InboundRtp(i) if i.kind == "video" => Some(i),
            _ => None,
        })
        .unwrap();
    assert!(inbound.nack_count >= 1, "{inbound:?}");
    assert_eq!(inbound.retransmitted_packets_received, 1, "{inbound:?}");
}

#[test]
fn pli_becomes_a_keyframe_request_and_twcc_a_target_bitrate() {
    let (mut pair, [_, a_video, _, b_video]) = upgraded_pair(33);
    for i in 0..40u32 {
        let now = pair.now;
        pair.a
            .pc
            .write_rtp(now, a_video, &[0x10; 1000], i * 3000, true)
            .unwrap();
        pair.run_for(Duration::from_millis(25));
    }
    let now = pair.now;
    pair.b
        .pc
        .request_keyframe(now, b_video, KeyframeRequestKind::Pli)
        .unwrap();
    pair.run_for(Duration::from_millis(100));
    let request = pair.a.events.iter().find_map(|e| match e {
        Event::KeyframeRequest {
            transceiver,
            mid,
            kind,
        } => Some((*transceiver, mid.clone(), *kind)),
        _ => None,
    });
    let mid = pair.a.pc.transceiver_mid(a_video).unwrap().to_string();
    assert_eq!(request, Some((a_video, mid, KeyframeRequestKind::Pli)));
    let targets: Vec<u64> = pair
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            Event::TargetBitrate { bits_per_second } => Some(*bits_per_second),
            _ => None,
        })
        .collect();
    assert!(
        !targets.is_empty(),
        "TWCC feedback produced a target bitrate"
    );
    assert!(targets.iter().all(|t| *t >= 30_000));
}

#[test]
fn bad_input_peerconnection_22_fingerprint_mismatch_exports_no_keys_and_delivers_no_media() {
    let mut pair = Pair::new(34);
    let now = pair.now;
    let a_audio = pair.a.pc.add_track(MediaKind::Audio, "s", "a").unwrap();
    let offer = pair.a.pc.create_offer(now).unwrap();
    pair.a.pc.set_local_description(now, offer.clone()).unwrap();
    pair.b.pc.set_remote_description(now, offer).unwrap();
    let b_audio = pair.b.pc.add_track(MediaKind::Audio, "s", "b").unwrap();
    let answer = pair.b.pc.create_answer(now).unwrap();
    pair.b
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    // One hex digit of the answerer's fingerprint changed.
    let forged: String = answer
        .sdp
        .lines()
        .map(|l| match l.strip_prefix("a=fingerprint:sha-256 ") {
            Some(rest) => {
                let flipped = match rest.strip_prefix('0') {
                    Some(tail) => format!("1{tail}"),
                    None => format!("0{}", &rest[1..]),
                };
                format!("a=fingerprint:sha-256 {flipped}\r\n")
            }
            None => format!("{l}\r\n"),
        })
        .collect();
    pair.a
        .pc
        .set_remote_description(
            now,
            SessionDescriptionInit {
                sdp_type: SdpType::Answer,
                sdp: forged,
            },
        )
        .unwrap();
    for i in 0..100u32 {
        let now = pair.now;
        // Sending is allowed by the negotiation, but with no keys nothing leaves a.
        let _ = pair
            .a
            .pc
            .write_rtp(now, a_audio, &OPUS_SILENCE, i * 960, false);
        let _ = pair
            .b
            .pc
            .write_rtp(now, b_audio, &OPUS_SILENCE, i * 960, false);
        pair.run_for(Duration::from_millis(50));
    }
    // Both ends Failed with a typed reason: a found the mismatch, b got a's fatal alert.
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Failed);
    assert_eq!(pair.b.pc.connection_state(), PeerConnectionState::Failed);
    assert_eq!(
        pair.a.pc.failure_reason(),
        Some(&FailureReason::FingerprintMismatch)
    );
    assert_eq!(
        pair.b.pc.failure_reason(),
        Some(&FailureReason::PeerAlert(AlertDescription::BadCertificate))
    );
    assert!(
        pair.a
            .events
            .contains(&Event::ConnectionFailed(FailureReason::FingerprintMismatch))
    );
    // Neither ever claimed Connected, and no SRTP key exists on either side.
    for peer in [&pair.a, &pair.b] {
        assert!(!peer.events.contains(&Event::ConnectionStateChange(
            PeerConnectionState::Connected
        )));
        let stats = peer.pc.stats(pair.now);
        let transport = stats
            .stats
            .iter()
            .find_map(|s| match s {
                Stats::Transport(t) => Some(t),
                _ => None,
            })
            .unwrap();
        assert_eq!(transport.srtp_cipher, None);
        assert_eq!(transport.tls_version, None);
        assert_eq!(transport.dtls_state, "failed");
    }
    // Nothing but ICE keepalives leaves a failed peer: no RTP, RTCP or DTLS after the alert.
    let now = pair.now;
    let _ = pair.a.pc.write_rtp(now, a_audio, &OPUS_SILENCE, 0, false);
    while let Some(t) = pair.a.pc.poll_transmit() {
        assert!(
            t.data[0] < 4,
            "only STUN may leave a failed peer: {:?}",
            t.data[0]
        );
    }
    assert!(
        packets(&pair.a.events, a_audio).is_empty(),
        "a accepted media without verified keys"
    );
    assert!(
        packets(&pair.b.events, b_audio).is_empty(),
        "b got media from an unverified peer"
    );
}

#[test]
fn stats_use_w3c_types_and_field_names() {
    let (mut pair, [a_audio, a_video, b_audio, _]) = upgraded_pair(35);
    for i in 0..50u32 {
        let now = pair.now;
        pair.a
            .pc
            .write_rtp(now, a_audio, &OPUS_SILENCE, i * 960, false)
            .unwrap();
        pair.a
            .pc
            .write_rtp(now, a_video, &[7u8; 500], i * 3000, true)
            .unwrap();
        pair.run_for(Duration::from_millis(20));
    }
    // Long enough for regular RTCP receiver reports (remote-inbound-rtp).
    pair.run_for(Duration::from_secs(6));
    let now = pair.now;
    let a = pair.a.pc.stats(now);
    let b = pair.b.pc.stats(now);
    let json: serde_json::Value = serde_json::to_value(&a).unwrap();
    let entries = json["stats"].as_array().unwrap();
    let of_type = |t: &str| {
        entries
            .iter()
            .filter(|e| e["type"] == t)
            .collect::<Vec<_>>()
    };
    for t in [
        "peer-connection",
        "transport",
        "candidate-pair",
        "local-candidate",
        "remote-candidate",
        "certificate",
        "codec",
        "outbound-rtp",
        "remote-inbound-rtp",
        "inbound-rtp",
        "data-channel",
    ] {
        assert!(!of_type(t).is_empty(), "no {t} entry in {json}");
    }
    assert_eq!(
        of_type("certificate").len(),
        2,
        "ours and the verified peer's"
    );
    let transport = of_type("transport")[0];
    assert_eq!(transport["dtlsState"], "connected");
    assert_eq!(transport["iceState"], "completed");
    assert!(transport["srtpCipher"].is_string());
    let pair_id = transport["selectedCandidatePairId"].as_str().unwrap();
    let selected = entries.iter().find(|e| e["id"] == pair_id).unwrap();
    assert_eq!(selected["type"], "candidate-pair");
    assert_eq!(selected["state"], "succeeded");
    assert!(selected["bytesSent"].as_u64().unwrap() > 0);

    let ssrc = pair.a.pc.local_ssrc(a_audio).unwrap();
    let outbound = entries
        .iter()
        .find(|e| e["type"] == "outbound-rtp" && e["ssrc"] == ssrc)
        .unwrap();
    assert_eq!(outbound["packetsSent"], 50);
    assert_eq!(outbound["bytesSent"], 150);
    assert_eq!(outbound["kind"], "audio");
    let codec = entries
        .iter()
        .find(|e| e["id"] == outbound["codecId"])
        .unwrap();
    assert_eq!(codec["mimeType"], "audio/opus");
    let remote_inbound = entries
        .iter()
        .find(|e| e["id"] == outbound["remoteId"])
        .unwrap();
    assert_eq!(remote_inbound["localId"], outbound["id"]);
    assert_eq!(remote_inbound["packetsLost"], 0);

    // b counted what a sent.
    let inbound = b
        .stats
        .iter()
        .find_map(|s| match s {
            tern_peerconnection::Stats::InboundRtp(s) if s.ssrc == ssrc => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(inbound.packets_received, 50);
    assert_eq!(inbound.bytes_received, 150);
    assert_eq!(inbound.packets_lost, 0);
    assert_eq!(inbound.mid.as_deref(), pair.b.pc.transceiver_mid(b_audio));
    assert_eq!(inbound.track_identifier.as_deref(), Some("audio-a"));
    let channel = entries
        .iter()
        .find(|e| e["type"] == "data-channel")
        .unwrap();
    assert_eq!(channel["label"], "chat");
    assert_eq!(channel["state"], "open");
}
