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
