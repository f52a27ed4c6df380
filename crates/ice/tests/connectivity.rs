//! Two agents connect over host candidates; nomination, states, trickle and peer-reflexive
//! candidates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{Harness, config};
use tern_ice::{CandidateKind, IceConnectionState, IceEvent, PairState};

#[test]
fn host_to_host_connects_and_completes() {
    let mut h = Harness::new(config(true, 1, 10), config(false, 2, 20));
    assert!(h.run_until(Duration::from_secs(5), |h| {
        h.a.agent.connection_state() == IceConnectionState::Completed
            && h.b.agent.connection_state() == IceConnectionState::Completed
    }));
    assert!(
        h.elapsed() < Duration::from_millis(500),
        "took {:?}",
        h.elapsed()
    );
    assert_eq!(h.a.agent.selected_pair(), Some((h.a.addr, h.b.addr)));
    assert_eq!(h.b.agent.selected_pair(), Some((h.b.addr, h.a.addr)));
    assert!(h.a.agent.is_validated_remote(h.a.addr, h.b.addr));
    assert!(h.b.agent.is_validated_remote(h.b.addr, h.a.addr));
    // The controlled side learnt the nomination.
    assert!(h.b.agent.pairs().iter().any(|p| p.nominated));
    assert!(h.a.events.contains(&IceEvent::SelectedPairChanged {
        local: h.a.addr,
        remote: h.b.addr
    }));
    assert!(h.errors.is_empty(), "{:?}", h.errors);
}

#[test]
fn checks_are_paced_by_ta() {
    let mut ca = config(true, 1, 10);
    ca.check_interval = std::time::Duration::from_millis(50);
    let mut h = Harness::bare(ca, config(false, 2, 20));
    // Ten remote candidates, none reachable: new checks go out at least Ta apart.
    h.a.agent.set_remote_credentials("x".into(), "y".into());
    for i in 0..10u16 {
        let c =
            tern_ice::Candidate::host(format!("10.0.1.{}:{}", i + 1, 7000 + i).parse().unwrap(), 1);
        h.a.agent.add_remote_candidate(h.now, c).unwrap();
    }
    h.filter = Box::new(|_, _, _| false);
    h.run_until(Duration::from_secs(1), |_| false);
    let mut firsts: Vec<_> = Vec::new();
    for (at, t) in &h.a.sent {
        if !firsts.iter().any(|(_, d)| *d == t.destination) {
            firsts.push((*at, t.destination));
        }
    }
    assert_eq!(firsts.len(), 10);
    for w in firsts.windows(2) {
        assert!(w[1].0 - w[0].0 >= Duration::from_millis(50), "{:?}", w);
    }
}

#[test]
fn trickle_candidates_before_credentials() {
    let mut h = Harness::bare(config(true, 1, 10), config(false, 2, 20));
    // Candidates first (trickle), credentials later.
    h.exchange_candidates();
    h.run_until(Duration::from_millis(200), |_| false);
    assert_eq!(h.a.agent.connection_state(), IceConnectionState::New);
    h.exchange_credentials();
    assert!(h.run_until(Duration::from_secs(5), |h| h.both_connected()));
}

#[test]
fn peer_reflexive_candidate_from_authenticated_check() {
    let mut h = Harness::bare(config(true, 1, 10), config(false, 2, 20));
    h.exchange_credentials();
    // Only a learns b's candidate; b must learn a as peer-reflexive from a's check.
    let cb = h.b.agent.local_candidates()[0].clone();
    h.a.agent.add_remote_candidate(h.now, cb).unwrap();
    assert!(h.run_until(Duration::from_secs(5), |h| h.both_connected()));
    let remotes = h.b.agent.remote_candidates();
    assert_eq!(remotes.len(), 1);
    assert_eq!(remotes[0].kind, CandidateKind::PeerReflexive);
    assert_eq!(remotes[0].address, h.a.addr);
    assert_eq!(h.b.agent.selected_pair(), Some((h.b.addr, h.a.addr)));
    // Signalling the candidate later replaces the prflx kind and keeps the pair.
    let ca = h.a.agent.local_candidates()[0].clone();
    h.b.agent.add_remote_candidate(h.now, ca).unwrap();
    assert_eq!(h.b.agent.remote_candidates()[0].kind, CandidateKind::Host);
    assert_eq!(h.b.agent.pairs()[0].state, PairState::Succeeded);
}

#[test]
fn checks_survive_loss_with_retransmissions() {
    let mut h = Harness::new(config(true, 1, 10), config(false, 2, 20));
    let mut n = 0u32;
    // Drop the first three datagrams each way.
    h.filter = Box::new(move |_, _, _| {
        n += 1;
        n > 6
    });
    assert!(h.run_until(Duration::from_secs(10), |h| h.both_connected()));
}

#[test]
fn ice_lite_answers_and_is_nominated() {
    let mut lite = config(false, 2, 20);
    lite.ice_lite = true;
    let mut h = Harness::new(config(true, 1, 10), lite);
    assert!(h.run_until(Duration::from_secs(5), |h| h.both_connected()));
    // The lite agent sent only responses.
    assert!(h.b.sent.iter().all(|(_, t)| t.data[0] == 0x01));
    assert_eq!(h.b.agent.selected_pair(), Some((h.b.addr, h.a.addr)));
    // Then keepalives (Binding indications, RFC 8445 §11) while the full agent's consent
    // checks keep both sides connected.
    let t0 = h.now;
    h.run_until(Duration::from_secs(20), |_| false);
    let keepalives =
        h.b.sent
            .iter()
            .filter(|(at, t)| *at > t0 && t.data[0..2] == [0x00, 0x11])
            .count();
    assert!(
        (3..=6).contains(&keepalives),
        "{keepalives} keepalives in 20 s"
    );
    assert!(h.both_connected());
    assert!(h.errors.is_empty(), "{:?}", h.errors);
}

#[test]
fn restart_keeps_media_on_old_pair_until_new_selection() {
    let mut h = Harness::new(config(true, 1, 10), config(false, 2, 20));
    assert!(h.run_until(Duration::from_secs(5), |h| h.both_connected()));
    let old = h.a.agent.selected_pair();
    let new_a = common::creds(11);
    let new_b = common::creds(12);
    h.a.agent.restart(h.now, new_a.clone());
    h.b.agent.restart(h.now, new_b.clone());
    assert_eq!(h.a.agent.selected_pair(), old);
    h.a.creds = new_a;
    h.b.creds = new_b;
    h.exchange_credentials();
    h.exchange_candidates();
    let ok = h.run_until(Duration::from_secs(5), |h| {
        h.b.agent.pairs().iter().any(|p| p.nominated)
    });
    assert!(
        ok,
        "{:?}\n{:?}\n{:?}",
        h.a.agent.pairs(),
        h.b.agent.pairs(),
        h.errors
    );
    assert_eq!(h.a.agent.selected_pair(), old);
    assert!(
        h.both_connected(),
        "{:?} {:?} {:?}",
        h.a.agent.connection_state(),
        h.b.agent.connection_state(),
        h.b.agent.pairs()
    );
}

#[test]
fn driver_reporting_the_unspecified_local_address_still_works() {
    let mut h = Harness::new(config(true, 1, 10), config(false, 2, 20));
    assert!(h.run_until(Duration::from_secs(5), |h| h.both_connected()));
    let any: std::net::SocketAddr = format!("0.0.0.0:{}", h.a.addr.port()).parse().unwrap();
    assert!(h.a.agent.is_validated_remote(any, h.b.addr));
    let user = format!("{}:{}", h.a.creds.ufrag, h.b.creds.ufrag);
    let check = common::Check {
        username: Some(&user),
        password: Some(&h.a.creds.pwd),
        controlling: None,
        controlled: Some(20),
        ..Default::default()
    }
    .encode();
    h.a.agent
        .handle_receive(h.now, any, h.b.addr, &check)
        .unwrap();
}

#[test]
fn ipv6_host_candidates_connect() {
    let mut h = Harness::bare_at(
        config(true, 1, 10),
        config(false, 2, 20),
        "[2001:db8::1]:5000".parse().unwrap(),
        "[2001:db8::2]:6000".parse().unwrap(),
    );
    h.exchange_credentials();
    h.exchange_candidates();
    h.a.agent.end_of_remote_candidates();
    h.b.agent.end_of_remote_candidates();
    assert!(h.run_until(Duration::from_secs(5), |h| {
        h.a.agent.connection_state() == IceConnectionState::Completed
            && h.b.agent.connection_state() == IceConnectionState::Completed
    }));
    assert_eq!(h.a.agent.selected_pair(), Some((h.a.addr, h.b.addr)));
    assert!(h.errors.is_empty(), "{:?}", h.errors);
}

#[test]
fn candidates_of_different_address_families_are_never_paired() {
    let mut h = Harness::bare_at(
        config(true, 1, 10),
        config(false, 2, 20),
        "[2001:db8::1]:5000".parse().unwrap(),
        "10.0.0.2:6000".parse().unwrap(),
    );
    h.exchange_credentials();
    h.exchange_candidates();
    assert!(h.a.agent.pairs().is_empty());
    assert!(h.b.agent.pairs().is_empty());
    h.a.agent.end_of_remote_candidates();
    h.b.agent.end_of_remote_candidates();
    h.run_until(Duration::from_secs(2), |_| false);
    assert!(h.a.sent.is_empty() && h.b.sent.is_empty());
    assert_eq!(h.a.agent.selected_pair(), None);
}
