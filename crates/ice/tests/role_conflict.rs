//! BAD_INPUT row 9: role conflicts (RFC 8445 §7.3.1.1) repaired with 487 and a role switch.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{Harness, config, error_code};

fn run(a_controlling: bool, b_controlling: bool, tie_a: u64, tie_b: u64) -> Harness {
    let mut h = Harness::new(
        config(a_controlling, 1, tie_a),
        config(b_controlling, 2, tie_b),
    );
    assert!(
        h.run_until(Duration::from_secs(10), |h| h.both_connected()
            && h.a.agent.pairs().iter().any(|p| p.nominated)
            && h.b.agent.pairs().iter().any(|p| p.nominated)),
        "a {:?} b {:?}",
        h.a.agent.pairs(),
        h.b.agent.pairs()
    );
    assert_ne!(h.a.agent.is_controlling(), h.b.agent.is_controlling());
    h
}

fn saw_487(h: &Harness) -> bool {
    h.a.sent
        .iter()
        .chain(h.b.sent.iter())
        .any(|(_, t)| error_code(&t.data) == Some(487))
}

#[test]
fn bad_input_ice_9_both_controlling_different_tie_breakers() {
    let h = run(true, true, 10, 20);
    // The larger tie-breaker keeps the controlling role.
    assert!(h.b.agent.is_controlling());
    assert!(saw_487(&h));
}

#[test]
fn bad_input_ice_9_both_controlled_different_tie_breakers() {
    let h = run(false, false, 30, 20);
    assert!(h.a.agent.is_controlling());
    assert!(!h.b.agent.is_controlling());
}

#[test]
fn bad_input_ice_9_both_controlling_equal_tie_breakers() {
    let h = run(true, true, 7, 7);
    assert!(saw_487(&h));
}

#[test]
fn bad_input_ice_9_both_controlled_equal_tie_breakers() {
    run(false, false, 7, 7);
}

/// Regression (fuzz `ice_agent`, corpus file `bug-487-on-selected-pair-unvalidated`): a 487 to
/// the nominating check of a valid, selected pair switched the role but also put the pair back
/// to Waiting, leaving a selected pair that was no longer validated.
#[test]
fn role_conflict_on_nominating_check_keeps_the_selected_pair_valid() {
    use tern_stun::attributes::{ErrorCode, XorMappedAddress, kind};
    use tern_stun::{IntegrityKey, Message, MessageEncoder, MessageType};

    let mut h = Harness::bare(config(true, 1, 10), config(false, 2, 20));
    h.exchange_credentials();
    let peer = h.b.addr;
    let peer_key = IntegrityKey::short_term(&h.b.creds.pwd);
    let cand = h.b.agent.local_candidates()[0].clone();
    h.a.agent.add_remote_candidate(h.now, cand).unwrap();
    let answer = |h: &mut Harness, error: bool| {
        let mut t = h.now;
        loop {
            t += Duration::from_millis(10);
            h.a.agent.handle_timeout(t);
            if let Some(req) = h.a.agent.poll_transmit() {
                let m = Message::decode(&req.data).unwrap();
                let mut buf = Vec::new();
                let ty = if error {
                    MessageType::BINDING_ERROR
                } else {
                    MessageType::BINDING_SUCCESS
                };
                let mut e = MessageEncoder::new(&mut buf, ty, m.transaction_id());
                if error {
                    e.add(&ErrorCode::ROLE_CONFLICT).unwrap();
                } else {
                    e.add(&XorMappedAddress(h.a.addr)).unwrap();
                }
                e.add_message_integrity(&peer_key).unwrap();
                e.add_fingerprint().unwrap();
                h.a.agent.handle_receive(t, h.a.addr, peer, &buf).unwrap();
                h.now = t;
                return m.contains(kind::USE_CANDIDATE);
            }
        }
    };
    assert!(!answer(&mut h, false), "first check nominates nothing");
    assert_eq!(h.a.agent.selected_pair(), Some((h.a.addr, peer)));
    assert!(answer(&mut h, true), "second check nominates");
    assert!(!h.a.agent.is_controlling(), "487 switches the role");
    let (l, r) = h.a.agent.selected_pair().expect("still selected");
    assert!(h.a.agent.is_validated_remote(l, r));
}
