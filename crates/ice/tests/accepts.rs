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

#[test]
fn turn_traffic_is_accepted_only_by_an_agent_with_relays() {
    use tern_ice::{IceAgent, TurnServer};
    // ChannelData on channel 0x4000 with 4 bytes, and a Data indication (method 0x007).
    let channel_data = [0x40, 0x00, 0x00, 0x04, 23, 1, 2, 3];
    let mut data_indication = Vec::new();
    tern_stun::MessageEncoder::new(
        &mut data_indication,
        tern_stun::MessageType::new(tern_turn::wire::methods::DATA, tern_stun::Class::Indication),
        tern_stun::TransactionId([7; 12]),
    )
    .finish();
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let plain = IceAgent::new(config(true, 1, 10), now);
    assert!(!plain.accepts(&channel_data));
    assert!(!plain.accepts(&data_indication));
    let mut cfg = config(true, 1, 10);
    cfg.turn_servers = vec![TurnServer::new(
        "198.51.100.2:3478".parse().unwrap(),
        "u",
        "p",
    )];
    let mut relaying = IceAgent::new(cfg, now);
    relaying.add_local_host_candidate("192.0.2.1:5000".parse().unwrap());
    assert!(relaying.accepts(&channel_data));
    assert!(relaying.accepts(&data_indication));
    // DTLS (20–63) is still not ours.
    assert!(!relaying.accepts(&[22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    // TURN traffic from anyone but the server is rejected without changing anything.
    let stranger = "203.0.113.9:3478".parse().unwrap();
    assert!(
        relaying
            .handle_receive(
                now,
                "192.0.2.1:5000".parse().unwrap(),
                stranger,
                &channel_data
            )
            .is_err()
    );
}
