//! Two Tern peer connections wired together in one process on virtual time: JSEP offer/answer,
//! ICE, DTLS, SCTP and data channels, with no sockets and no clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of the virtual clock

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tern_peerconnection::{
    AlertDescription, DataChannelId, DataChannelInit, Event, FailureReason, PeerConnection,
    PeerConnectionState, RtcConfig, SdpType, SessionDescriptionInit,
};

struct Peer {
    pc: PeerConnection,
    address: SocketAddr,
    events: Vec<Event>,
}

struct Pair {
    now: Instant,
    a: Peer,
    b: Peer,
    /// Datagrams in flight: (deliver at, to b?, from, to, bytes).
    in_flight: Vec<(Instant, bool, SocketAddr, SocketAddr, Vec<u8>)>,
    delay: Duration,
}

impl Pair {
    fn new(seed: u64) -> Pair {
        let now = Instant::now();
        let mk = |seed: u64, address: &str| {
            let config = RtcConfig {
                seed: Some(seed),
                ..RtcConfig::default()
            };
            let mut pc = PeerConnection::new(config, now).unwrap();
            let address: SocketAddr = address.parse().unwrap();
            pc.add_local_address(now, address);
            Peer {
                pc,
                address,
                events: Vec::new(),
            }
        };
        Pair {
            now,
            a: mk(seed, "127.0.0.1:40001"),
            b: mk(seed + 1, "127.0.0.1:40002"),
            in_flight: Vec::new(),
            delay: Duration::from_millis(5),
        }
    }

    fn negotiate(&mut self) {
        let now = self.now;
        let offer = self.a.pc.create_offer(now).unwrap();
        self.a.pc.set_local_description(now, offer.clone()).unwrap();
        self.b.pc.set_remote_description(now, offer).unwrap();
        let answer = self.b.pc.create_answer(now).unwrap();
        self.b
            .pc
            .set_local_description(now, answer.clone())
            .unwrap();
        self.a.pc.set_remote_description(now, answer).unwrap();
    }

    /// Runs until `done` or `limit` of virtual time has passed.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Pair) -> bool) {
        let end = self.now + limit;
        while self.now < end && !done(self) {
            for (to_b, peer) in [(true, &mut self.a), (false, &mut self.b)] {
                while let Some(t) = peer.pc.poll_transmit() {
                    assert_eq!(t.source, peer.address);
                    self.in_flight.push((
                        self.now + self.delay,
                        to_b,
                        t.source,
                        t.destination,
                        t.data,
                    ));
                }
                while let Some(e) = peer.pc.poll_event() {
                    peer.events.push(e);
                }
            }
            let next_delivery = self.in_flight.iter().map(|f| f.0).min();
            let next_timer = [self.a.pc.poll_timeout(), self.b.pc.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let next = [next_delivery, next_timer]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end)
                .max(self.now);
            self.now = next.min(end);
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|f| f.0 <= now);
            self.in_flight = later;
            for (_, to_b, from, to, data) in due {
                let peer = if to_b { &mut self.b } else { &mut self.a };
                if to == peer.address {
                    let _ = peer.pc.handle_receive(now, to, from, &data);
                }
            }
            for peer in [&mut self.a, &mut self.b] {
                if peer.pc.poll_timeout().is_some_and(|t| t <= now) {
                    peer.pc.handle_timeout(now);
                }
            }
        }
    }
}

fn messages(events: &[Event], channel: DataChannelId) -> Vec<(Vec<u8>, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::DataChannelMessage { id, data, binary } if *id == channel => {
                Some((data.clone(), *binary))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn offer_answer_connects_and_carries_messages_both_ways() {
    let mut pair = Pair::new(7);
    let now = pair.now;
    let chat = pair
        .a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.negotiate();
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.events
            .iter()
            .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat))
            && p.b
                .events
                .iter()
                .any(|e| matches!(e, Event::DataChannel { .. }))
    });
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Connected);
    assert_eq!(pair.b.pc.connection_state(), PeerConnectionState::Connected);
    let remote_chat = pair
        .b
        .events
        .iter()
        .find_map(|e| match e {
            Event::DataChannel { id, label, .. } if label == "chat" => Some(*id),
            _ => None,
        })
        .expect("b saw the chat channel");

    let now = pair.now;
    pair.a.pc.send(now, chat, b"hello b", false).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + 3) as u8).collect();
    pair.a.pc.send(now, chat, &big[..262_144], true).unwrap();
    pair.b.pc.send(now, remote_chat, b"hello a", false).unwrap();
    pair.run_until(Duration::from_secs(10), |p| {
        messages(&p.b.events, remote_chat).len() == 2 && messages(&p.a.events, chat).len() == 1
    });

    assert_eq!(
        messages(&pair.b.events, remote_chat),
        vec![
            (b"hello b".to_vec(), false),
            (big[..262_144].to_vec(), true)
        ]
    );
    assert_eq!(
        messages(&pair.a.events, chat),
        vec![(b"hello a".to_vec(), false)]
    );
}

#[test]
fn answer_before_offer_is_refused_and_changes_nothing() {
    let mut pair = Pair::new(11);
    let now = pair.now;
    let bogus = SessionDescriptionInit {
        sdp_type: SdpType::Answer,
        sdp: "v=0\r\n".into(),
    };
    assert!(pair.a.pc.set_remote_description(now, bogus).is_err());
    assert_eq!(
        pair.a.pc.signaling_state(),
        tern_peerconnection::SignalingState::Stable
    );
    assert!(pair.a.pc.create_offer(now).is_ok());
}

#[test]
fn fingerprint_mismatch_fails_without_delivering_data() {
    // BAD_INPUT row 22: the answer's fingerprint is not the answerer's certificate.
    let mut pair = Pair::new(21);
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
    let forged: String = answer
        .sdp
        .lines()
        .map(|l| {
            if let Some(rest) = l.strip_prefix("a=fingerprint:sha-256 ") {
                let flipped = match rest.strip_prefix('0') {
                    Some(tail) => format!("1{tail}"),
                    None => format!("0{}", &rest[1..]),
                };
                format!("a=fingerprint:sha-256 {flipped}\r\n")
            } else {
                format!("{l}\r\n")
            }
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
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.pc.connection_state() == PeerConnectionState::Failed
    });
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Failed);
    assert_eq!(
        pair.a.pc.failure_reason(),
        Some(&FailureReason::FingerprintMismatch)
    );
    // a's fatal bad_certificate alert fails b too, well before any handshake timeout.
    pair.run_until(Duration::from_secs(1), |p| {
        p.b.pc.connection_state() == PeerConnectionState::Failed
    });
    assert_eq!(pair.b.pc.connection_state(), PeerConnectionState::Failed);
    assert_eq!(
        pair.b.pc.failure_reason(),
        Some(&FailureReason::PeerAlert(AlertDescription::BadCertificate))
    );
    // A failed connection stays failed: time passing (ICE keepalives, consent) changes nothing.
    pair.run_until(Duration::from_secs(40), |_| false);
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Failed);
    assert_eq!(pair.b.pc.connection_state(), PeerConnectionState::Failed);
    assert!(
        !pair
            .a
            .events
            .iter()
            .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat))
    );
    assert!(
        !pair
            .b
            .events
            .iter()
            .any(|e| matches!(e, Event::DataChannel { .. }))
    );
}
