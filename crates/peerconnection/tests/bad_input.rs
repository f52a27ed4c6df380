//! BAD_INPUT rows 10, 22 and 38 for the peer connection: hostile descriptions and candidates
//! are refused with a clear error and change nothing; a fingerprint or tls-id change forces a
//! new DTLS association, which fails (typed reason, no keys, no media) rather than connecting
//! for the wrong certificate or waiting forever; a handshake that cannot complete fails after
//! the configured bound; DTLS and SRTP from an unvalidated 5-tuple are dropped; close
//! mid-handshake leaves no timer, no output and no way back in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of the virtual clock

mod harness;

use harness::Pair;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Error, Event, FailureReason, IceConnectionState, MediaKind,
    PeerConnection, PeerConnectionState, RtcConfig, SdpType, SessionDescriptionInit,
    SignalingState, Stats,
};

fn offer_from_b() -> String {
    let now = Instant::now();
    let mut b = PeerConnection::new(
        RtcConfig {
            seed: Some(5),
            ..RtcConfig::default()
        },
        now,
    )
    .unwrap();
    b.add_local_address(now, "127.0.0.1:42002".parse().unwrap());
    b.create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    b.add_track(MediaKind::Audio, "s", "t").unwrap();
    b.create_offer(now).unwrap().sdp
}

fn fresh() -> PeerConnection {
    let now = Instant::now();
    let mut a = PeerConnection::new(
        RtcConfig {
            seed: Some(4),
            ..RtcConfig::default()
        },
        now,
    )
    .unwrap();
    a.add_local_address(now, "127.0.0.1:42001".parse().unwrap());
    a
}

/// Applying `sdp` as a remote offer fails and leaves the connection as it was.
fn refused(sdp: String) -> Error {
    let mut a = fresh();
    let now = Instant::now();
    let err = a
        .set_remote_description(
            now,
            SessionDescriptionInit {
                sdp_type: SdpType::Offer,
                sdp,
            },
        )
        .unwrap_err();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert!(a.remote_description().is_none());
    // Still usable: the genuine offer goes through.
    a.set_remote_description(
        now,
        SessionDescriptionInit {
            sdp_type: SdpType::Offer,
            sdp: offer_from_b(),
        },
    )
    .unwrap();
    assert!(a.create_answer(now).is_ok());
    err
}

#[test]
fn bad_input_peerconnection_38_ten_megabyte_sdp_is_refused() {
    let mut sdp = offer_from_b();
    let filler = format!("a=x-filler:{}\r\n", "y".repeat(1000));
    while sdp.len() < 10 * 1024 * 1024 {
        sdp.push_str(&filler);
    }
    let err = refused(sdp);
    assert!(matches!(err, Error::Sdp(_)), "{err}");
}

#[test]
fn bad_input_peerconnection_38_ten_thousand_m_lines_are_refused() {
    let mut sdp = offer_from_b();
    for i in 0..10_000 {
        sdp.push_str(&format!(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:x{i}\r\na=rtpmap:111 opus/48000/2\r\n"
        ));
    }
    let err = refused(sdp);
    assert!(matches!(err, Error::Sdp(_)), "{err}");
}

#[test]
fn bad_input_peerconnection_38_bad_fingerprint_hex_is_refused() {
    let sdp = offer_from_b()
        .lines()
        .map(|l| {
            if l.starts_with("a=fingerprint:") {
                "a=fingerprint:sha-256 ZZ:not:hex\r\n".to_string()
            } else {
                format!("{l}\r\n")
            }
        })
        .collect();
    let err = refused(sdp);
    assert!(err.to_string().contains("fingerprint"), "{err}");
}

#[test]
fn bad_input_peerconnection_38_answer_without_setup_is_refused() {
    let now = Instant::now();
    let mut a = fresh();
    a.create_data_channel(now, "x", DataChannelInit::default())
        .unwrap();
    let offer = a.create_offer(now).unwrap();
    a.set_local_description(now, offer.clone()).unwrap();
    let mut b = PeerConnection::new(
        RtcConfig {
            seed: Some(6),
            ..RtcConfig::default()
        },
        now,
    )
    .unwrap();
    b.add_local_address(now, "127.0.0.1:42002".parse().unwrap());
    b.set_remote_description(now, offer).unwrap();
    let answer = b.create_answer(now).unwrap();
    let stripped: String = answer
        .sdp
        .lines()
        .filter(|l| !l.starts_with("a=setup:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let err = a
        .set_remote_description(
            now,
            SessionDescriptionInit {
                sdp_type: SdpType::Answer,
                sdp: stripped,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("a=setup"), "{err}");
    assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
    // The real answer still completes the exchange.
    a.set_remote_description(now, answer).unwrap();
    assert_eq!(a.signaling_state(), SignalingState::Stable);
}

#[test]
fn bad_input_peerconnection_38_candidates_with_port_0_or_above_65535_are_refused() {
    let now = Instant::now();
    let mut a = fresh();
    a.set_remote_description(
        now,
        SessionDescriptionInit {
            sdp_type: SdpType::Offer,
            sdp: offer_from_b(),
        },
    )
    .unwrap();
    for bad in [
        "candidate:1 1 udp 2130706431 127.0.0.1 0 typ host",
        "candidate:1 1 udp 2130706431 127.0.0.1 65536 typ host",
        "candidate:1 1 udp 2130706431 127.0.0.1 99999999 typ host",
        "candidate:1 1 udp 2130706431 not-an-ip.local 5000 typ host",
        "candidate:1 1 tcp 2130706431 127.0.0.1 5000 typ host",
    ] {
        let err = a.add_ice_candidate(now, bad).unwrap_err();
        assert!(matches!(err, Error::Candidate(_)), "{bad}: {err}");
    }
    assert!(
        a.add_ice_candidate(now, "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host")
            .is_ok()
    );
}

/// Connects a and b with a data channel; returns a's channel.
fn connected(seed: u64) -> (Pair, DataChannelId) {
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
    (pair, chat)
}

/// A renegotiation whose answer is rewritten by `edit` before a applies it.
fn renegotiate_with_edited_answer(pair: &mut Pair, edit: impl Fn(&str) -> String) {
    let now = pair.now;
    let offer = pair.a.pc.create_offer(now).unwrap();
    pair.a.pc.set_local_description(now, offer.clone()).unwrap();
    pair.b.pc.set_remote_description(now, offer).unwrap();
    let answer = pair.b.pc.create_answer(now).unwrap();
    pair.b
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    pair.a
        .pc
        .set_remote_description(
            now,
            SessionDescriptionInit {
                sdp_type: SdpType::Answer,
                sdp: edit(&answer.sdp),
            },
        )
        .unwrap();
}

#[test]
fn bad_input_peerconnection_38_fingerprint_change_forces_a_new_dtls_association() {
    let (mut pair, chat) = connected(40);
    // The fingerprint of some other certificate.
    let other = PeerConnection::new(
        RtcConfig {
            seed: Some(99),
            ..RtcConfig::default()
        },
        pair.now,
    )
    .unwrap()
    .local_fingerprint()
    .to_string();
    renegotiate_with_edited_answer(&mut pair, |sdp| {
        sdp.lines()
            .map(|l| {
                if l.starts_with("a=fingerprint:") {
                    format!("a=fingerprint:{other}\r\n")
                } else {
                    format!("{l}\r\n")
                }
            })
            .collect()
    });
    // The old association is gone at once: its channel closed, no longer Connected.
    assert!(pair.a.pc.poll_event().is_some());
    let mut events = Vec::new();
    while let Some(e) = pair.a.pc.poll_event() {
        events.push(e);
    }
    pair.a.events.extend(events);
    assert!(
        pair.a
            .events
            .iter()
            .any(|e| matches!(e, Event::DataChannelClose { id } if *id == chat))
    );
    assert_ne!(pair.a.pc.connection_state(), PeerConnectionState::Connected);
    assert!(matches!(
        pair.a.pc.send(pair.now, chat, b"x", false),
        Err(Error::UnknownChannel(_))
    ));
    // b never made a new association for a certificate it does not have: a's new handshake
    // cannot complete. a does not wait forever: 30 s (the default bound) after the new
    // association started it is Failed with a typed reason, never Connected again, and nothing
    // is delivered either way.
    let before = pair.b.events.len();
    let reset_at = pair.now;
    pair.run_until(Duration::from_secs(40), |p| {
        p.a.pc.connection_state() == PeerConnectionState::Failed
    });
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Failed);
    assert_eq!(
        pair.a.pc.failure_reason(),
        Some(&FailureReason::DtlsHandshakeTimeout(Duration::from_secs(
            30
        )))
    );
    while let Some(e) = pair.a.pc.poll_event() {
        pair.a.events.push(e);
    }
    let failed_after = pair.now - reset_at;
    assert!(
        failed_after >= Duration::from_secs(30) && failed_after < Duration::from_secs(31),
        "{failed_after:?}"
    );
    assert!(pair.a.events.contains(&Event::ConnectionFailed(
        FailureReason::DtlsHandshakeTimeout(Duration::from_secs(30))
    )));
    // b's old association got a's close_notify: closed, not left half-open.
    assert_eq!(pair.b.pc.connection_state(), PeerConnectionState::Closed);
    pair.run_for(Duration::from_secs(10));
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Failed);
    assert!(
        !pair
            .a
            .events
            .iter()
            .any(|e| matches!(e, Event::DataChannelMessage { .. }))
    );
    assert!(
        !pair.b.events[before..]
            .iter()
            .any(|e| matches!(e, Event::DataChannelMessage { .. }))
    );
}

#[test]
fn bad_input_peerconnection_38_tls_id_change_forces_a_new_dtls_association() {
    let (mut pair, chat) = connected(41);
    renegotiate_with_edited_answer(&mut pair, |sdp| {
        sdp.lines()
            .flat_map(|l| {
                let mut out = vec![format!("{l}\r\n")];
                if l.starts_with("a=setup:") {
                    out.push("a=tls-id:abcdefghijklmnopqrstuvwxyz0123\r\n".into());
                }
                out
            })
            .collect()
    });
    pair.run_for(Duration::from_millis(50));
    assert!(
        pair.a
            .events
            .iter()
            .any(|e| matches!(e, Event::DataChannelClose { id } if *id == chat))
    );
    assert!(pair.a.events.iter().any(|e| matches!(
        e,
        Event::ConnectionStateChange(PeerConnectionState::Connecting)
    )));
    // The same tls-id again in the next renegotiation changes nothing more.
    let closes = pair
        .a
        .events
        .iter()
        .filter(|e| matches!(e, Event::DataChannelClose { .. }))
        .count();
    renegotiate_with_edited_answer(&mut pair, |sdp| {
        sdp.lines()
            .flat_map(|l| {
                let mut out = vec![format!("{l}\r\n")];
                if l.starts_with("a=setup:") {
                    out.push("a=tls-id:abcdefghijklmnopqrstuvwxyz0123\r\n".into());
                }
                out
            })
            .collect()
    });
    pair.run_for(Duration::from_millis(50));
    let after = pair
        .a
        .events
        .iter()
        .filter(|e| matches!(e, Event::DataChannelClose { .. }))
        .count();
    assert_eq!(closes, after);
}

#[test]
fn bad_input_peerconnection_38_close_mid_handshake_leaves_nothing_running() {
    let mut pair = Pair::new(42);
    let now = pair.now;
    pair.a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.a.pc.add_track(MediaKind::Video, "s", "v").unwrap();
    pair.negotiate(|_| {});
    // A few round trips: ICE done, DTLS in flight.
    pair.run_for(Duration::from_millis(12));
    assert_ne!(pair.a.pc.connection_state(), PeerConnectionState::Connected);
    let now = pair.now;
    pair.a.pc.close(now);
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Closed);
    assert_eq!(pair.a.pc.signaling_state(), SignalingState::Closed);
    while pair.a.pc.poll_transmit().is_some() {}
    // No timer left, nothing more to send, every input refused.
    assert_eq!(pair.a.pc.poll_timeout(), None);
    let from: SocketAddr = "127.0.0.1:41002".parse().unwrap();
    let err = pair.a.pc.handle_receive(
        now,
        "127.0.0.1:41001".parse().unwrap(),
        from,
        &[22, 254, 253],
    );
    assert!(matches!(err, Err(Error::Closed)));
    pair.a.pc.handle_timeout(now + Duration::from_secs(60));
    assert!(pair.a.pc.poll_transmit().is_none());
    assert!(matches!(pair.a.pc.create_offer(now), Err(Error::Closed)));
    let stats = pair.a.pc.stats(now);
    assert!(
        stats
            .stats
            .iter()
            .all(|s| !matches!(s, tern_peerconnection::Stats::CandidatePair(_)))
    );
}

#[test]
fn bad_input_peerconnection_10_srtp_from_an_unvalidated_address_is_dropped() {
    let mut pair = Pair::new(43);
    let now = pair.now;
    let audio = pair.a.pc.add_track(MediaKind::Audio, "s", "a").unwrap();
    let mut b_audio = None;
    pair.negotiate(|b| b_audio = Some(b.add_track(MediaKind::Audio, "s", "b").unwrap()));
    let _ = now;
    pair.run_until(Duration::from_secs(10), |p| {
        p.b.pc.connection_state() == PeerConnectionState::Connected
    });
    pair.run_for(Duration::from_millis(100));
    // Capture one genuine SRTP packet a sends to b …
    let now = pair.now;
    pair.a
        .pc
        .write_rtp(now, audio, &[0xf8, 0xff, 0xfe], 0, false)
        .unwrap();
    let genuine = std::iter::from_fn(|| pair.a.pc.poll_transmit())
        .find(|t| (128..192).contains(&t.data[0]))
        .expect("an SRTP packet");
    // … and replay it to b from an address ICE never validated: dropped without a trace.
    let stranger: SocketAddr = "127.0.0.1:49999".parse().unwrap();
    let err = pair
        .b
        .pc
        .handle_receive(now, genuine.destination, stranger, &genuine.data)
        .unwrap_err();
    assert!(matches!(err, Error::Dropped(_)), "{err}");
    let mut delivered = 0;
    while let Some(e) = pair.b.pc.poll_event() {
        delivered += usize::from(matches!(e, Event::Rtp(_)));
    }
    assert_eq!(delivered, 0);
    // The same bytes from the validated address are accepted (so the drop was the address).
    pair.b
        .pc
        .handle_receive(now, genuine.destination, genuine.source, &genuine.data)
        .unwrap();
    let mut delivered = 0;
    while let Some(e) = pair.b.pc.poll_event() {
        delivered += usize::from(matches!(e, Event::Rtp(_)));
    }
    assert_eq!(delivered, 1);
    assert_eq!(pair.b.pc.connection_state(), PeerConnectionState::Connected);
}

/// a offers a data channel; b's answer is rewritten by `edit`; returns the pair after running
/// (or `None` when a refused the edited answer outright) and whether a's channel opened.
fn with_edited_fingerprint(seed: u64, edit: impl Fn(&str) -> String) -> Option<(Pair, bool)> {
    let mut pair = Pair::new(seed);
    let now = pair.now;
    let chat = pair
        .a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    let offer = pair.a.pc.create_offer(now).unwrap();
    pair.a.pc.set_local_description(now, offer.clone()).unwrap();
    pair.b.pc.set_remote_description(now, offer).unwrap();
    let answer = pair.b.pc.create_answer(now).unwrap();
    pair.b
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    let edited: String = answer
        .sdp
        .lines()
        .map(|l| match l.strip_prefix("a=fingerprint:") {
            Some(value) => edit(value),
            None => format!("{l}\r\n"),
        })
        .collect();
    let applied = pair.a.pc.set_remote_description(
        now,
        SessionDescriptionInit {
            sdp_type: SdpType::Answer,
            sdp: edited,
        },
    );
    if applied.is_err() {
        assert_eq!(pair.a.pc.signaling_state(), SignalingState::HaveLocalOffer);
        return None;
    }
    pair.run_until(Duration::from_secs(15), |p| {
        matches!(p.a.pc.connection_state(), PeerConnectionState::Failed)
            || p.a
                .events
                .iter()
                .any(|e| matches!(e, Event::DataChannelOpen { .. }))
    });
    let open = pair
        .a
        .events
        .iter()
        .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat));
    Some((pair, open))
}

fn flip_first_digit(hex: &str) -> String {
    match hex.strip_prefix('0') {
        Some(tail) => format!("1{tail}"),
        None => format!("0{}", &hex[1..]),
    }
}

#[test]
fn bad_input_peerconnection_22_lower_case_fingerprint_hex_still_matches() {
    let (pair, open) =
        with_edited_fingerprint(70, |v| format!("a=fingerprint:{}\r\n", v.to_lowercase())).unwrap();
    assert!(
        open,
        "a lower-case fingerprint is the same fingerprint (RFC 8122 §5: case-insensitive)"
    );
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Connected);
}

#[test]
fn bad_input_peerconnection_22_hash_algorithm_mismatch_never_connects() {
    // The SHA-256 value labelled sha-1 (wrong length for it) and labelled sha-384.
    for (seed, algorithm) in [(71, "sha-1"), (72, "sha-384")] {
        let edited = with_edited_fingerprint(seed, |v| {
            let hex = v.split_whitespace().last().unwrap();
            format!("a=fingerprint:{algorithm} {hex}\r\n")
        });
        if let Some((pair, open)) = edited {
            assert!(!open, "{algorithm}");
            assert_eq!(
                pair.a.pc.connection_state(),
                PeerConnectionState::Failed,
                "{algorithm}"
            );
            assert!(
                !pair
                    .b
                    .events
                    .iter()
                    .any(|e| matches!(e, Event::DataChannel { .. }))
            );
        }
    }
}

#[test]
fn bad_input_peerconnection_22_multiple_fingerprints_need_one_that_matches() {
    // A wrong one listed first, then the right one: accepted (RFC 8122 §5).
    let (_, open) = with_edited_fingerprint(73, |v| {
        let (algorithm, hex) = v.split_once(' ').unwrap();
        format!(
            "a=fingerprint:{algorithm} {}\r\na=fingerprint:{v}\r\n",
            flip_first_digit(hex)
        )
    })
    .unwrap();
    assert!(open);
    // Two wrong ones: Failed, nothing delivered.
    let (pair, open) = with_edited_fingerprint(74, |v| {
        let (algorithm, hex) = v.split_once(' ').unwrap();
        let wrong = flip_first_digit(hex);
        let wronger = format!(
            "{}{}",
            &wrong[..wrong.len() - 1],
            if wrong.ends_with('0') { '1' } else { '0' }
        );
        format!("a=fingerprint:{algorithm} {wrong}\r\na=fingerprint:{algorithm} {wronger}\r\n")
    })
    .unwrap();
    assert!(!open);
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Failed);
    assert!(
        !pair
            .b
            .events
            .iter()
            .any(|e| matches!(e, Event::DataChannel { .. }))
    );
}

#[test]
fn bad_input_peerconnection_22_handshake_that_never_completes_fails_after_the_bound() {
    // Every DTLS datagram is lost: ICE connects, DTLS cannot. With a 5 s bound both ends are
    // Failed 5 s after ICE connected — not before, not never — with no keys and no media.
    let mut pair = Pair::with_config(80, |c| c.dtls_handshake_timeout = Duration::from_secs(5));
    pair.drop_dtls = true;
    let now = pair.now;
    let audio = pair.a.pc.add_track(MediaKind::Audio, "s", "a").unwrap();
    pair.a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.negotiate(|_| {});
    pair.run_until(Duration::from_secs(5), |p| {
        p.a.pc.ice_connection_state() == IceConnectionState::Connected
    });
    assert_eq!(
        pair.a.pc.ice_connection_state(),
        IceConnectionState::Connected
    );
    let ice_up = pair.now;
    pair.run_until(Duration::from_secs(4), |p| {
        p.a.pc.connection_state() == PeerConnectionState::Failed
    });
    assert_eq!(
        pair.a.pc.connection_state(),
        PeerConnectionState::Connecting
    );
    pair.run_until(Duration::from_secs(2), |p| {
        p.a.pc.connection_state() == PeerConnectionState::Failed
            && p.b.pc.connection_state() == PeerConnectionState::Failed
    });
    let elapsed = pair.now - ice_up;
    assert!(
        elapsed >= Duration::from_secs(5) && elapsed < Duration::from_millis(5_100),
        "{elapsed:?}"
    );
    for peer in [&pair.a, &pair.b] {
        assert_eq!(peer.pc.connection_state(), PeerConnectionState::Failed);
        assert_eq!(
            peer.pc.failure_reason(),
            Some(&FailureReason::DtlsHandshakeTimeout(Duration::from_secs(5)))
        );
        assert!(!peer.events.iter().any(|e| matches!(
            e,
            Event::DataChannel { .. } | Event::DataChannelOpen { .. } | Event::Rtp(_)
        )));
    }
    // No timer is left for DTLS; writing media sends nothing but STUN.
    let now = pair.now;
    let _ = pair
        .a
        .pc
        .write_rtp(now, audio, &[0xf8, 0xff, 0xfe], 0, false);
    while let Some(t) = pair.a.pc.poll_transmit() {
        assert!(t.data[0] < 4);
    }
    let transport = pair
        .a
        .pc
        .stats(now)
        .stats
        .into_iter()
        .find_map(|s| match s {
            Stats::Transport(t) => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(transport.srtp_cipher, None);
    assert_eq!(transport.dtls_state, "failed");
}

#[test]
fn bad_input_peerconnection_10_dtls_from_an_unvalidated_address_is_dropped_and_the_real_handshake_succeeds()
 {
    let mut pair = Pair::new(81);
    let now = pair.now;
    let chat = pair
        .a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.negotiate(|_| {});
    // A stranger races the real peer with a ClientHello offering only an invalid cipher
    // (0x0000, TLS_NULL_WITH_NULL_NULL) and with garbage handshake records, to both ends.
    let stranger: SocketAddr = "127.0.0.1:49998".parse().unwrap();
    let mut hello = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
    let body: Vec<u8> = [
        &[0xfe, 0xfd][..],
        &[7u8; 32],
        &[0, 0],
        &[0, 2, 0, 0],
        &[1, 0],
    ]
    .concat();
    let len = body.len() as u32;
    let mut handshake = vec![
        1,
        0,
        (len >> 8) as u8,
        len as u8,
        0,
        0,
        0,
        0,
        0,
        0,
        (len >> 8) as u8,
        len as u8,
    ];
    handshake.extend_from_slice(&body);
    hello.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    hello.extend_from_slice(&handshake);
    for _ in 0..5 {
        for (peer, to) in [
            (&mut pair.a, "127.0.0.1:41001"),
            (&mut pair.b, "127.0.0.1:41002"),
        ] {
            let to: SocketAddr = to.parse().unwrap();
            for datagram in [&hello[..], &[22, 0xfe, 0xfd, 0xff, 0xff][..]] {
                let err = peer
                    .pc
                    .handle_receive(now, to, stranger, datagram)
                    .unwrap_err();
                assert!(matches!(err, Error::Dropped(_)), "{err}");
            }
        }
        pair.run_for(Duration::from_millis(3));
    }
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.events
            .iter()
            .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat))
    });
    for peer in [&pair.a, &pair.b] {
        assert_eq!(peer.pc.connection_state(), PeerConnectionState::Connected);
        assert!(
            !peer
                .events
                .iter()
                .any(|e| matches!(e, Event::ConnectionFailed(_))),
            "a stranger's DTLS failed the connection"
        );
    }
    // No alert or anything else ever went to the stranger: the harness would have queued it.
    assert!(pair.in_flight.iter().all(|f| f.3 != stranger));
}

#[test]
fn ice_that_never_succeeds_fails_with_a_typed_reason() {
    // Every connectivity check is lost: ICE fails (RFC 8445 §7.2.5.3: all pairs failed), and so
    // does the connection, with FailureReason::IceFailed — DTLS never started.
    let mut pair = Pair::new(82);
    pair.drop_stun = true;
    let now = pair.now;
    pair.a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.negotiate(|_| {});
    pair.run_until(Duration::from_secs(60), |p| {
        p.a.pc.connection_state() == PeerConnectionState::Failed
    });
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Failed);
    assert_eq!(pair.a.pc.failure_reason(), Some(&FailureReason::IceFailed));
    while let Some(e) = pair.a.pc.poll_event() {
        pair.a.events.push(e);
    }
    assert!(
        pair.a
            .events
            .contains(&Event::ConnectionFailed(FailureReason::IceFailed))
    );
    assert!(!pair.a.events.iter().any(|e| matches!(
        e,
        Event::ConnectionStateChange(PeerConnectionState::Connected)
    )));
}
