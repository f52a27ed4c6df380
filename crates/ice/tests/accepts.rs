//! `accepts` routes STUN on a shared socket: our checks and responses to our transactions,
//! never DTLS/RTP or another agent's checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{Check, Harness, config};

#[test]
fn accepts_only_our_stun() {
    let mut h = Harness::new(config(true, 1, 10), config(false, 2, 20));
    // A check from b names a's ufrag: a accepts it, b does not.
    h.step(Duration::from_millis(1));
    let (_, check) =
        h.a.sent
            .iter()
            .find(|(_, t)| t.data[0..2] == [0, 1])
            .cloned()
            .unwrap();
    assert!(h.b.agent.accepts(&check.data));
    assert!(!h.a.agent.accepts(&check.data));
    // A response to a's transaction: a accepts it while the transaction is in flight.
    assert!(h.run_until(Duration::from_secs(5), |h| h.both_connected()));
    let theirs = format!("{}:{}", h.a.creds.ufrag, "someone-else");
    let foreign = Check {
        username: Some(&theirs),
        password: Some("x"),
        ..Default::default()
    }
    .encode();
    assert!(h.a.agent.accepts(&foreign));
    let other = format!("{}:{}", "not-us", h.b.creds.ufrag);
    let not_ours = Check {
        username: Some(&other),
        password: Some("x"),
        ..Default::default()
    }
    .encode();
    assert!(!h.a.agent.accepts(&not_ours));
    // DTLS, RTP, garbage.
    assert!(
        !h.a.agent
            .accepts(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    );
    assert!(
        !h.a.agent
            .accepts(&[0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    );
    assert!(!h.a.agent.accepts(&[]));
    // A response to a transaction a never started.
    let mut resp = check.data.clone();
    resp[1] = 0x01;
    resp[0] = 0x01;
    resp[8] ^= 0xff;
    assert!(!h.a.agent.accepts(&resp));
}
