//! Regression (found in Chromium integration): an agent on 127.0.0.1 refused the pair for a
//! check that arrived from the host's LAN address. Linux delivers a datagram sent from
//! 192.168.1.5 to 127.0.0.1 over the loopback interface, so that 5-tuple works; RFC 8445
//! §7.3.1.3–4 says the agent learns the peer-reflexive candidate, forms the pair and sends a
//! triggered check on it. Signalled loopback ↔ non-loopback pairs stay unformed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Check, config, creds};
use tern_ice::{Candidate, CandidateKind, IceAgent, IceConnectionState, PairState};
use tern_stun::attributes::{Username, XorMappedAddress};
use tern_stun::{Class, IntegrityKey, Message, MessageEncoder, MessageType};

const LOOPBACK: &str = "127.0.0.1:5000";
const LAN: &str = "192.168.1.5:6000";

/// Agent "a" (controlled) on 127.0.0.1 with the peer "b"'s credentials.
fn loopback_agent(now: Instant) -> (IceAgent, SocketAddr, SocketAddr) {
    let mut a = IceAgent::new(config(false, 1, 10), now);
    let local: SocketAddr = LOOPBACK.parse().unwrap();
    a.add_local_host_candidate(local);
    a.end_of_local_candidates();
    let b = creds(2);
    a.set_remote_credentials(b.ufrag, b.pwd);
    (a, local, LAN.parse().unwrap())
}

/// The peer's nominating check from `LAN` to our loopback address, then our answer to the
/// triggered check that it causes. Returns the triggered check's (source, destination).
fn check_arrives_from_lan(a: &mut IceAgent, now: Instant) -> (SocketAddr, SocketAddr) {
    let (local, lan): (SocketAddr, SocketAddr) = (LOOPBACK.parse().unwrap(), LAN.parse().unwrap());
    let (ca, cb) = (creds(1), creds(2));
    let username = format!("{}:{}", ca.ufrag, cb.ufrag);
    let check = Check {
        username: Some(&username),
        password: Some(&ca.pwd),
        controlling: Some(99),
        use_candidate: true,
        ..Check::default()
    }
    .encode();
    a.handle_receive(now, local, lan, &check).unwrap();

    let mut response = None;
    let mut triggered = None;
    // The triggered check goes out at the next pacing slot (Ta).
    let mut t = now;
    while triggered.is_none() && t < now + Duration::from_millis(200) {
        while let Some(t) = a.poll_transmit() {
            let m = Message::decode(&t.data).unwrap();
            match m.message_type().class {
                Class::SuccessResponse => response = Some((t.source, t.destination)),
                Class::Request => {
                    // Our check to the peer: USERNAME "peer:ours".
                    let Ok(Some(Username(u))) = m.get::<Username>() else {
                        panic!("check without USERNAME")
                    };
                    assert_eq!(u, format!("{}:{}", cb.ufrag, ca.ufrag));
                    triggered = Some((t.source, t.destination, m.transaction_id()));
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        t += Duration::from_millis(10);
        a.handle_timeout(t);
    }
    assert_eq!(response, Some((local, lan)), "the check is answered");
    let (source, destination, tid) = triggered.expect("a triggered check on the new pair");

    // The peer answers the triggered check, signed with its password.
    let mut data = Vec::new();
    let mut enc = MessageEncoder::new(&mut data, MessageType::BINDING_SUCCESS, tid);
    enc.add(&XorMappedAddress(local)).unwrap();
    enc.add_message_integrity(&IntegrityKey::short_term(&cb.pwd))
        .unwrap();
    enc.add_fingerprint().unwrap();
    a.handle_receive(t, source, destination, &data).unwrap();
    (source, destination)
}

#[test]
fn check_from_lan_address_to_loopback_forms_prflx_pair_and_connects() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let (mut a, local, lan) = loopback_agent(now);
    assert_eq!(check_arrives_from_lan(&mut a, now), (local, lan));
    let remote = a.remote_candidates().iter().find(|c| c.address == lan);
    assert_eq!(remote.map(|c| c.kind), Some(CandidateKind::PeerReflexive));
    let pair = a.pairs().into_iter().find(|p| p.remote == lan).unwrap();
    assert_eq!(pair.state, PairState::Succeeded);
    assert!(pair.nominated);
    assert_eq!(a.selected_pair(), Some((local, lan)));
    assert!(a.is_validated_remote(local, lan));
    assert_eq!(a.connection_state(), IceConnectionState::Connected);
}

#[test]
fn check_from_signalled_lan_candidate_to_loopback_connects() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let (mut a, local, lan) = loopback_agent(now);
    // The peer signalled its LAN host candidate: no pair with our loopback base is formed,
    // and no check goes out to it.
    a.add_remote_candidate(now, Candidate::host(lan, 1))
        .unwrap();
    a.end_of_remote_candidates();
    assert!(a.pairs().is_empty());
    a.handle_timeout(now + Duration::from_millis(200));
    assert!(a.poll_transmit().is_none());
    // Its check arrives on that 5-tuple all the same: now the pair exists and works.
    assert_eq!(check_arrives_from_lan(&mut a, now), (local, lan));
    assert_eq!(
        a.remote_candidates()
            .iter()
            .find(|c| c.address == lan)
            .map(|c| c.kind),
        Some(CandidateKind::Host)
    );
    assert_eq!(a.selected_pair(), Some((local, lan)));
    // End-of-candidates came, the only pair is nominated and nothing is left to check.
    assert_eq!(a.connection_state(), IceConnectionState::Completed);
}

#[test]
fn unauthenticated_check_from_lan_to_loopback_forms_nothing() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let (mut a, local, lan) = loopback_agent(now);
    let username = format!("{}:{}", creds(1).ufrag, creds(2).ufrag);
    let check = Check {
        username: Some(&username),
        password: Some("not-the-password-of-agent-1"),
        ..Check::default()
    }
    .encode();
    assert!(a.handle_receive(now, local, lan, &check).is_err());
    assert!(a.pairs().is_empty());
    assert!(a.remote_candidates().is_empty());
}
