//! Allocation lifecycle between our client and our server on virtual time: 401 challenge,
//! allocate, refresh, deallocate, expiry, quotas, 437.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use tern_stun::Message;
use tern_turn::wire::attributes::AddressFamily;
use tern_turn::{ClientError, Event, ServerError, ServerEvent};

#[test]
fn allocate_after_401_challenge() {
    let mut h = Harness::default_pair();
    let relayed = h.allocate();
    assert_eq!(relayed.ip(), server_addr().ip());
    assert!((50000..=50999).contains(&relayed.port()));
    // The first Allocate carried no credentials and got 401 with REALM and NONCE.
    assert_eq!(h.server_errors, vec![ServerError::Rejected { code: 401 }]);
    assert!(matches!(
        h.client_events[0],
        Event::Allocated { mapped: Some(m), lifetime: 600, .. } if m == client_addr()
    ));
    assert_eq!(h.server.stats().allocations, 1);
    assert!(
        h.server_events.iter().any(
            |e| matches!(e, ServerEvent::AllocationCreated { username, .. } if username == USER)
        )
    );
}

#[test]
fn client_refreshes_before_expiry_and_keeps_the_allocation() {
    let mut h = Harness::default_pair();
    let relayed = h.allocate();
    // An hour later, the client has refreshed every ~9 minutes and the allocation lives.
    h.advance(Duration::from_secs(3600));
    let refreshes = h
        .client_events
        .iter()
        .filter(|e| matches!(e, Event::Refreshed { lifetime: 600 }))
        .count();
    assert!(refreshes >= 6, "{refreshes} refreshes");
    assert_eq!(h.client.relayed_address(), Some(relayed));
    assert_eq!(h.server.stats().allocations, 1);
}

#[test]
fn explicit_refresh_and_deallocate() {
    let mut h = Harness::default_pair();
    h.allocate();
    h.client.refresh(h.now).unwrap();
    h.pump();
    assert!(
        h.client_events
            .contains(&Event::Refreshed { lifetime: 600 })
    );
    h.client.deallocate(h.now).unwrap();
    h.pump();
    assert!(h.client_events.contains(&Event::Deallocated));
    assert_eq!(h.server.stats().allocations, 0);
    assert!(
        h.server_events
            .iter()
            .any(|e| matches!(e, ServerEvent::CloseRelay { .. }))
    );
    assert_eq!(h.client.relayed_address(), None);
    assert_eq!(h.client.refresh(h.now), Err(ClientError::NotAllocated));
}

#[test]
fn allocation_expires_on_both_sides_without_refresh() {
    let mut h = Harness::default_pair();
    h.allocate();
    h.cut_client = true; // refreshes are lost
    h.advance(Duration::from_secs(599));
    assert_eq!(h.server.stats().allocations, 1);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.server.stats().allocations, 0, "server expired it");
    assert!(
        h.client_events
            .contains(&Event::Failed(ClientError::AllocationExpired))
    );
    assert_eq!(h.client.relayed_address(), None);
}

#[test]
fn requested_lifetime_is_clamped() {
    let mut cc = client_config();
    cc.lifetime = Some(100_000);
    let mut h = Harness::new(server_config(), cc);
    h.allocate();
    assert!(matches!(
        h.client_events[0],
        Event::Allocated { lifetime: 3600, .. }
    ));
}

#[test]
fn ipv6_relay_is_440_when_the_server_has_none() {
    let mut cc = client_config();
    cc.requested_family = Some(AddressFamily::V6);
    let mut h = Harness::new(server_config(), cc);
    h.client.allocate(h.now).unwrap();
    h.pump();
    assert!(
        h.client_events
            .contains(&Event::Failed(ClientError::ErrorResponse {
                method: tern_turn::wire::methods::ALLOCATE,
                code: 440
            }))
    );
}

#[test]
fn ipv6_relay_when_configured() {
    let mut sc = server_config();
    sc.relay_ips.push("2001:db8::1".parse().unwrap());
    let mut cc = client_config();
    cc.requested_family = Some(AddressFamily::V6);
    let mut h = Harness::new(sc, cc);
    let relayed = h.allocate();
    assert_eq!(
        relayed.ip(),
        "2001:db8::1".parse::<std::net::IpAddr>().unwrap()
    );
}

#[test]
fn wrong_password_is_a_typed_error_after_bounded_attempts() {
    let mut cc = client_config();
    cc.password = "wrong".into();
    let mut h = Harness::new(server_config(), cc);
    h.client.allocate(h.now).unwrap();
    h.pump();
    assert_eq!(
        h.client_events,
        vec![Event::Failed(ClientError::Unauthorized { attempts: 2 })]
    );
    assert_eq!(h.client_sent, 2);
    // Nothing left to do: no timer keeps the failed chain alive.
    assert_eq!(h.client.poll_timeout(), None);
}

#[test]
fn same_five_tuple_twice_is_437() {
    let mut h = Harness::default_pair();
    let mut raw = RawClient::new(client_addr());
    let first = raw.allocate(&mut h.server, h.now);
    assert_eq!(error_code(&Message::decode(&first).unwrap()), None);
    // A retransmission of the same request gets the same response...
    let second = raw.allocate(&mut h.server, h.now);
    assert_eq!(error_code(&Message::decode(&second).unwrap()), Some(437));
    assert_eq!(h.server.stats().allocations, 1);
}

#[test]
fn retransmitted_allocate_gets_the_cached_response() {
    let mut h = Harness::default_pair();
    let mut raw = RawClient::new(client_addr());
    raw.learn_nonce(&mut h.server, h.now);
    let tid = raw.tid();
    let req = raw.request(tern_turn::wire::methods::ALLOCATE, tid, |e| {
        e.add(&tern_turn::wire::attributes::RequestedTransport::UDP)
            .unwrap();
    });
    let a = raw.exchange(&mut h.server, h.now, &req);
    let b = raw.exchange(&mut h.server, h.now, &req);
    assert_eq!(a, b);
    assert_eq!(h.server.stats().allocations, 1);
}

#[test]
fn user_quota_is_486() {
    let mut sc = server_config();
    sc.user_quota = 2;
    let mut h = Harness::new(sc, client_config());
    for port in 1..=2 {
        let mut raw = RawClient::new(format!("192.0.2.10:{port}").parse().unwrap());
        let r = raw.allocate(&mut h.server, h.now);
        assert_eq!(error_code(&Message::decode(&r).unwrap()), None);
    }
    let mut raw = RawClient::new("192.0.2.10:3".parse().unwrap());
    let r = raw.allocate(&mut h.server, h.now);
    assert_eq!(error_code(&Message::decode(&r).unwrap()), Some(486));
    // Another user still has room.
    let mut sc2 = server_config().with_user("bob", "pw");
    sc2.user_quota = 2;
    let mut server = tern_turn::Server::new(sc2, h.now, 1_700_000_000);
    let mut bob = RawClient::with_credentials("192.0.2.11:1".parse().unwrap(), "bob", "pw");
    let r = bob.allocate(&mut server, h.now);
    assert_eq!(error_code(&Message::decode(&r).unwrap()), None);
}

#[test]
fn relay_socket_failure_retries_another_port_then_508() {
    let mut h = Harness::default_pair();
    let mut raw = RawClient::new(client_addr());
    raw.learn_nonce(&mut h.server, h.now);
    let tid = raw.tid();
    let req = raw.request(tern_turn::wire::methods::ALLOCATE, tid, |e| {
        e.add(&tern_turn::wire::attributes::RequestedTransport::UDP)
            .unwrap();
    });
    h.server
        .handle_receive(
            h.now,
            tern_turn::Transport::Udp,
            client_addr(),
            server_addr(),
            &req,
        )
        .unwrap();
    let mut tried = Vec::new();
    while let Some(ServerEvent::OpenRelay { relay }) = h.server.poll_event() {
        tried.push(relay);
        h.server.relay_failed(h.now, relay);
    }
    assert_eq!(tried.len(), 8);
    let resp = h.server.poll_transmit().unwrap();
    assert_eq!(error_code(&Message::decode(&resp.data).unwrap()), Some(508));
    assert_eq!(h.server.stats().allocations, 0);
    assert_eq!(h.server.relay_addresses().count(), 0);
}

#[test]
fn stale_nonce_gets_438_and_the_client_recovers() {
    let mut sc = server_config();
    sc.nonce_lifetime = Duration::from_secs(30);
    let mut h = Harness::new(sc, client_config());
    h.allocate();
    // After the nonce expires, the next refresh gets 438 and is retried with the new nonce.
    h.advance(Duration::from_secs(1200));
    assert!(
        h.server_errors
            .contains(&ServerError::Rejected { code: 438 })
    );
    assert!(
        h.client_events
            .contains(&Event::Refreshed { lifetime: 600 })
    );
    assert_eq!(h.server.stats().allocations, 1);
    assert!(
        !h.client_events
            .iter()
            .any(|e| matches!(e, Event::Failed(_)))
    );
}

#[test]
fn rest_api_ephemeral_credentials() {
    let mut sc = server_config();
    sc.rest_secret = Some("north".into());
    let unix = 1_700_000_000u64;
    let username = format!("{}:carol", unix + 3600);
    let password = tern_turn::rest_password(b"north", &username).unwrap();
    let mut cc = client_config();
    cc.username = username.clone();
    cc.password = password;
    let mut h = Harness::new(sc.clone(), cc);
    h.allocate();
    // An expired REST username is refused.
    let expired = format!("{}:carol", unix - 1);
    let mut cc = client_config();
    cc.password = tern_turn::rest_password(b"north", &expired).unwrap();
    cc.username = expired;
    let mut h = Harness::new(sc, cc);
    h.client.allocate(h.now).unwrap();
    h.pump();
    assert_eq!(
        h.client_events,
        vec![Event::Failed(ClientError::Unauthorized { attempts: 2 })]
    );
}

#[test]
fn binding_request_is_answered_without_auth() {
    let mut h = Harness::default_pair();
    let mut out = Vec::new();
    let enc = tern_stun::MessageEncoder::new(
        &mut out,
        tern_stun::MessageType::BINDING_REQUEST,
        tern_stun::TransactionId([4; 12]),
    );
    enc.add_fingerprint().unwrap();
    h.server
        .handle_receive(
            h.now,
            tern_turn::Transport::Udp,
            client_addr(),
            server_addr(),
            &out,
        )
        .unwrap();
    let t = h.server.poll_transmit().unwrap();
    let msg = Message::decode(&t.data).unwrap();
    let mapped = msg
        .get::<tern_stun::attributes::XorMappedAddress>()
        .unwrap()
        .unwrap();
    assert_eq!(mapped.0, client_addr());
}

#[test]
fn even_port_reservation_and_token() {
    use tern_turn::wire::attributes::{EvenPort, RequestedTransport, ReservationToken};
    let mut h = Harness::default_pair();
    let mut rtp = RawClient::new("192.0.2.10:1".parse().unwrap());
    rtp.learn_nonce(&mut h.server, h.now);
    let tid = rtp.tid();
    let req = rtp.request(tern_turn::wire::methods::ALLOCATE, tid, |e| {
        e.add(&RequestedTransport::UDP).unwrap();
        e.add(&EvenPort { reserve_next: true }).unwrap();
    });
    let resp = rtp.exchange(&mut h.server, h.now, &req).pop().unwrap();
    let msg = Message::decode(&resp).unwrap();
    assert_eq!(error_code(&msg), None);
    let relay = relayed_of(&msg);
    assert_eq!(relay.port() % 2, 0, "even port");
    let token = msg.get::<ReservationToken>().unwrap().unwrap();

    let allocate_with = |raw: &mut RawClient, server: &mut tern_turn::Server, now, even: bool| {
        let tid = raw.tid();
        let req = raw.request(tern_turn::wire::methods::ALLOCATE, tid, |e| {
            e.add(&RequestedTransport::UDP).unwrap();
            e.add(&token).unwrap();
            if even {
                e.add(&EvenPort {
                    reserve_next: false,
                })
                .unwrap();
            }
        });
        raw.exchange(server, now, &req).pop().unwrap()
    };
    // With EVEN-PORT as well: 400.
    let mut rtcp = RawClient::new("192.0.2.10:2".parse().unwrap());
    rtcp.nonce = rtp.nonce.clone();
    let r = allocate_with(&mut rtcp, &mut h.server, h.now, true);
    assert_eq!(error_code(&Message::decode(&r).unwrap()), Some(400));
    // The token gets exactly port + 1, once.
    let r = allocate_with(&mut rtcp, &mut h.server, h.now, false);
    let msg = Message::decode(&r).unwrap();
    assert_eq!(error_code(&msg), None);
    assert_eq!(relayed_of(&msg).port(), relay.port() + 1);
    let mut again = RawClient::new("192.0.2.10:3".parse().unwrap());
    again.nonce = rtp.nonce.clone();
    let r = allocate_with(&mut again, &mut h.server, h.now, false);
    assert_eq!(error_code(&Message::decode(&r).unwrap()), Some(508));

    // An unused reservation expires after 30 s.
    let tid = rtp.tid();
    let mut other = RawClient::new("192.0.2.10:4".parse().unwrap());
    other.nonce = rtp.nonce.clone();
    let req = other.request(tern_turn::wire::methods::ALLOCATE, tid, |e| {
        e.add(&RequestedTransport::UDP).unwrap();
        e.add(&EvenPort { reserve_next: true }).unwrap();
    });
    let resp = other.exchange(&mut h.server, h.now, &req).pop().unwrap();
    let token = Message::decode(&resp)
        .unwrap()
        .get::<ReservationToken>()
        .unwrap()
        .unwrap();
    let later = h.now + Duration::from_secs(31);
    h.server.handle_timeout(later);
    let mut late = RawClient::new("192.0.2.10:5".parse().unwrap());
    late.nonce = rtp.nonce.clone();
    let tid = late.tid();
    let req = late.request(tern_turn::wire::methods::ALLOCATE, tid, |e| {
        e.add(&RequestedTransport::UDP).unwrap();
        e.add(&token).unwrap();
    });
    let r = late.exchange(&mut h.server, later, &req).pop().unwrap();
    assert_eq!(error_code(&Message::decode(&r).unwrap()), Some(508));
}
