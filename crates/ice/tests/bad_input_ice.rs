//! BAD_INPUT rows 5, 6 and 8 for tern-ice.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Check, Harness, config, error_code};
use tern_ice::{Candidate, IceError, PairState};

/// Row 5: a Binding with a valid FINGERPRINT but a missing or bad MESSAGE-INTEGRITY, or a wrong
/// ufrag, is answered 400/401 and creates no peer-reflexive candidate and changes no pair.
#[test]
fn bad_input_ice_5_unauthenticated_checks_change_nothing() {
    let mut h = Harness::bare(config(false, 1, 10), config(true, 2, 20));
    h.exchange_credentials();
    let ours = h.a.creds.clone();
    let theirs = h.b.creds.clone();
    let attacker: SocketAddr = "10.6.6.6:6666".parse().unwrap();
    let good_user = format!("{}:{}", ours.ufrag, theirs.ufrag);
    let wrong_user = format!("nope:{}", theirs.ufrag);
    let cases: Vec<(Vec<u8>, u16)> = vec![
        // No MESSAGE-INTEGRITY.
        (
            Check {
                username: Some(&good_user),
                ..Default::default()
            }
            .encode(),
            400,
        ),
        // No USERNAME.
        (
            Check {
                password: Some(&ours.pwd),
                ..Default::default()
            }
            .encode(),
            400,
        ),
        // Wrong password.
        (
            Check {
                username: Some(&good_user),
                password: Some("not-the-password-at-all"),
                ..Default::default()
            }
            .encode(),
            401,
        ),
        // Wrong ufrag, right password.
        (
            Check {
                username: Some(&wrong_user),
                password: Some(&ours.pwd),
                ..Default::default()
            }
            .encode(),
            401,
        ),
    ];
    for (data, code) in cases {
        let before = h.a.agent.pairs();
        let r = h.a.agent.handle_receive(h.now, h.a.addr, attacker, &data);
        assert!(r.is_err(), "accepted {r:?}");
        let reply = h.a.agent.poll_transmit().expect("an error response");
        assert_eq!(reply.destination, attacker);
        assert_eq!(error_code(&reply.data), Some(code));
        assert!(h.a.agent.poll_transmit().is_none());
        assert!(
            h.a.agent.remote_candidates().is_empty(),
            "prflx learnt from a bad check"
        );
        assert_eq!(h.a.agent.pairs(), before);
    }
    // Truncated MESSAGE-INTEGRITY value (an attribute of 10 bytes instead of 20) and no fingerprint.
    let mut data = Check {
        username: Some(&good_user),
        password: Some(&ours.pwd),
        ..Default::default()
    }
    .encode();
    data.truncate(data.len() - 8); // drop FINGERPRINT
    let mi_at = data.len() - 24;
    data[mi_at + 3] = 10;
    data.truncate(mi_at + 4 + 12);
    let len = (data.len() - 20) as u16;
    data[2..4].copy_from_slice(&len.to_be_bytes());
    assert!(
        h.a.agent
            .handle_receive(h.now, h.a.addr, attacker, &data)
            .is_err()
    );
    assert!(h.a.agent.remote_candidates().is_empty());
    // A bad FINGERPRINT means not STUN: dropped without an answer.
    let mut data = Check {
        username: Some(&good_user),
        password: Some(&ours.pwd),
        ..Default::default()
    }
    .encode();
    let n = data.len();
    data[n - 1] ^= 1;
    assert!(matches!(
        h.a.agent.handle_receive(h.now, h.a.addr, attacker, &data),
        Err(IceError::Stun(_))
    ));
    while h.a.agent.poll_transmit().is_some() {}
    assert!(h.a.agent.remote_candidates().is_empty());
    assert!(!h.a.agent.accepts(&data));
}

/// Row 6: an authenticated peer sends a check from a spoofed victim address. A prflx candidate
/// may be learnt, but the victim is never validated or selected until it answers a check.
#[test]
fn bad_input_ice_6_spoofed_source_is_never_validated() {
    let mut h = Harness::new(config(false, 1, 10), config(true, 2, 20));
    assert!(h.run_until(Duration::from_secs(5), |h| h.both_connected()));
    let ours = h.a.creds.clone();
    let theirs = h.b.creds.clone();
    let victim: SocketAddr = "10.0.0.99:9999".parse().unwrap();
    let user = format!("{}:{}", ours.ufrag, theirs.ufrag);
    let data = Check {
        username: Some(&user),
        password: Some(&ours.pwd),
        controlling: Some(20),
        use_candidate: true,
        priority: Some(u32::MAX),
        ..Default::default()
    }
    .encode();
    h.a.agent
        .handle_receive(h.now, h.a.addr, victim, &data)
        .unwrap();
    assert!(
        h.a.agent
            .remote_candidates()
            .iter()
            .any(|c| c.address == victim)
    );
    // The victim never answers (the harness drops what is not for b).
    h.run_until(Duration::from_secs(20), |_| false);
    assert!(!h.a.agent.is_validated_remote(h.a.addr, victim));
    assert_ne!(h.a.agent.selected_pair().map(|p| p.1), Some(victim));
    assert_eq!(h.a.agent.selected_pair(), Some((h.a.addr, h.b.addr)));
    let victim_pair =
        h.a.agent
            .pairs()
            .into_iter()
            .find(|p| p.remote == victim)
            .unwrap();
    assert_eq!(victim_pair.state, PairState::Failed);
    // Checks to the victim were bounded by the retransmission limit.
    let to_victim =
        h.a.sent
            .iter()
            .filter(|(_, t)| t.destination == victim)
            .count();
    assert!(to_victim <= 1 + 7, "{to_victim} datagrams to the victim");
}

/// Row 8: 10,000 remote candidates (including unroutable and multicast ones) give a bounded
/// checklist, bounded memory and paced checks: no STUN flood towards third parties.
#[test]
fn bad_input_ice_8_candidate_flood_is_bounded() {
    let mut h = Harness::bare(config(true, 1, 10), config(false, 2, 20));
    h.exchange_credentials();
    let mut rejected = 0;
    for i in 0..10_000u32 {
        let addr: SocketAddr = match i % 4 {
            0 => format!("224.0.{}.{}:{}", (i >> 8) & 0xff, i & 0xff, 1000 + i % 5000)
                .parse()
                .unwrap(),
            1 => format!("0.0.0.0:{}", 1 + i % 60000).parse().unwrap(),
            _ => format!(
                "10.{}.{}.{}:{}",
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff,
                1024 + i % 60000
            )
            .parse()
            .unwrap(),
        };
        let mut c = Candidate::host(addr, 1);
        c.priority = i;
        if h.a.agent.add_remote_candidate(h.now, c).is_err() {
            rejected += 1;
        }
    }
    assert!(rejected >= 5_000);
    assert!(h.a.agent.remote_candidates().len() <= 200);
    assert!(h.a.agent.pairs().len() <= 100);
    h.filter = Box::new(|_, from_a, _| !from_a);
    h.run_until(Duration::from_secs(2), |_| false);
    // At most one new check per Ta (50 ms) plus retransmissions: 2 s → ≤ 41 new transactions.
    let mut tids = std::collections::HashSet::new();
    for (_, t) in &h.a.sent {
        tids.insert(t.data[8..20].to_vec());
        let ip = t.destination.ip();
        assert!(
            !ip.is_multicast() && !ip.is_unspecified(),
            "check sent to {ip}"
        );
    }
    assert!(tids.len() <= 41, "{} transactions in 2 s", tids.len());
    assert!(h.a.agent.pairs().len() <= 100);
}
