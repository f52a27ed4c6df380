//! A controlling peer that nominates aggressively (USE-CANDIDATE on its first check) is
//! accepted by our controlled agent once our own check on the pair succeeds (RFC 8445 §7.3.1.5).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Check, Harness, config};
use tern_ice::{IceConnectionState, IceEvent};
use tern_stun::attributes::XorMappedAddress;
use tern_stun::{IntegrityKey, Message, MessageEncoder, MessageType};

#[test]
fn aggressive_nomination_from_peer_is_accepted() {
    let mut h = Harness::bare(config(false, 1, 10), config(true, 2, 20));
    h.exchange_credentials();
    let (ours, theirs) = (h.a.creds.clone(), h.b.creds.clone());
    let peer: SocketAddr = h.b.addr;
    let user = format!("{}:{}", ours.ufrag, theirs.ufrag);
    let check = Check {
        username: Some(&user),
        password: Some(&ours.pwd),
        controlling: Some(99),
        use_candidate: true,
        ..Default::default()
    }
    .encode();
    h.a.agent
        .handle_receive(h.now, h.a.addr, peer, &check)
        .unwrap();
    // Our response, then our triggered check towards the peer.
    let response = h.a.agent.poll_transmit().unwrap();
    assert_eq!(response.destination, peer);
    let m = Message::decode(&response.data).unwrap();
    assert_eq!(m.message_type(), MessageType::BINDING_SUCCESS);
    assert_eq!(
        m.get::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(peer))
    );
    m.verify_integrity(&IntegrityKey::short_term(&ours.pwd))
        .unwrap();
    assert_eq!(
        h.a.agent.selected_pair(),
        None,
        "nothing is selected before our check succeeds"
    );

    h.a.agent.handle_timeout(h.now + Duration::from_millis(1));
    let our_check = h.a.agent.poll_transmit().expect("triggered check");
    assert_eq!(our_check.destination, peer);
    let req = Message::decode(&our_check.data).unwrap();
    // Answer it as the peer would.
    let mut buf = Vec::new();
    let mut e = MessageEncoder::new(&mut buf, MessageType::BINDING_SUCCESS, req.transaction_id());
    e.add(&XorMappedAddress(h.a.addr)).unwrap();
    e.add_message_integrity(&IntegrityKey::short_term(&theirs.pwd))
        .unwrap();
    e.add_fingerprint().unwrap();
    h.a.agent
        .handle_receive(h.now, h.a.addr, peer, &buf)
        .unwrap();
    assert_eq!(h.a.agent.selected_pair(), Some((h.a.addr, peer)));
    assert!(h.a.agent.pairs()[0].nominated);
    let mut events = vec![];
    while let Some(e) = h.a.agent.poll_event() {
        events.push(e);
    }
    assert!(events.contains(&IceEvent::SelectedPairChanged {
        local: h.a.addr,
        remote: peer
    }));
    assert_eq!(h.a.agent.connection_state(), IceConnectionState::Connected);
}
