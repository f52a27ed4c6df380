//! Relaying between our client and a peer through our server, on virtual time: Send/Data
//! indications, channels, refreshes, TCP framing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use tern_turn::{ChannelData, ClientError, Event, ServerError, Transport};

fn with_permission() -> Harness {
    let mut h = Harness::default_pair();
    h.allocate();
    h.client.create_permission(h.now, peer_addr()).unwrap();
    h.pump();
    assert!(h.client_events.contains(&Event::PermissionCreated {
        peer: peer_addr().ip()
    }));
    h
}

#[test]
fn send_and_data_indications_both_ways() {
    let mut h = with_permission();
    h.client.send_to(peer_addr(), b"to the peer").unwrap();
    h.pump();
    assert_eq!(h.take_peer(peer_addr()), vec![b"to the peer".to_vec()]);
    h.peer_send(peer_addr(), b"to the client").unwrap();
    assert_eq!(
        h.take_data(),
        vec![(peer_addr(), b"to the client".to_vec())]
    );
    // Permissions are keyed by IP only: another port of the same host gets through.
    let other_port = "203.0.113.7:7777".parse().unwrap();
    h.peer_send(other_port, b"x").unwrap();
    assert_eq!(h.take_data(), vec![(other_port, b"x".to_vec())]);
}

#[test]
fn channel_data_both_ways() {
    let mut h = with_permission();
    let channel = h.client.bind_channel(h.now, peer_addr()).unwrap();
    h.pump();
    assert!(h.client_events.contains(&Event::ChannelBound {
        peer: peer_addr(),
        channel
    }));
    assert_eq!(h.client.channel(peer_addr()), Some(channel));
    for i in 0..100u8 {
        let payload = vec![i; usize::from(i) + 1];
        h.client.send_to(peer_addr(), &payload).unwrap();
        h.pump();
        assert_eq!(h.take_peer(peer_addr()), vec![payload.clone()]);
        h.peer_send(peer_addr(), &payload).unwrap();
        assert_eq!(h.take_data(), vec![(peer_addr(), payload)]);
    }
    assert_eq!(h.server.stats().relayed_to_peers, 100);
    assert_eq!(h.server.stats().relayed_to_clients, 100);
}

#[test]
fn permissions_and_channels_are_refreshed_for_an_hour() {
    let mut h = with_permission();
    h.client.bind_channel(h.now, peer_addr()).unwrap();
    let second: std::net::SocketAddr = "203.0.113.8:9".parse().unwrap();
    h.client.create_permission(h.now, second).unwrap();
    h.pump();
    h.advance(Duration::from_secs(3600));
    h.client.send_to(peer_addr(), b"still here").unwrap();
    h.client.send_to(second, b"me too").unwrap();
    h.pump();
    assert_eq!(h.take_peer(peer_addr()), vec![b"still here".to_vec()]);
    assert_eq!(h.take_peer(second), vec![b"me too".to_vec()]);
    h.peer_send(peer_addr(), b"back").unwrap();
    h.peer_send(second, b"back2").unwrap();
    assert_eq!(h.take_data().len(), 2);
    assert!(
        !h.client_events
            .iter()
            .any(|e| matches!(e, Event::Failed(_) | Event::PermissionFailed { .. }))
    );
}

#[test]
fn send_without_permission_is_refused_by_the_client() {
    let mut h = Harness::default_pair();
    h.allocate();
    assert_eq!(
        h.client.send_to(peer_addr(), b"x"),
        Err(ClientError::NoPermission { peer: peer_addr() })
    );
    assert_eq!(
        h.peer_send(peer_addr(), b"hi"),
        Err(ServerError::NoPermission { peer: peer_addr() })
    );
    assert!(h.take_data().is_empty());
}

#[test]
fn forbidden_peer_is_reported_as_permission_failed() {
    let mut h = Harness::default_pair();
    h.allocate();
    let internal = "10.0.0.1:80".parse().unwrap();
    h.client.create_permission(h.now, internal).unwrap();
    h.pump();
    assert!(h.client_events.contains(&Event::PermissionFailed {
        peer: internal.ip(),
        error: ClientError::ErrorResponse {
            method: tern_turn::wire::methods::CREATE_PERMISSION,
            code: 403
        }
    }));
    assert!(!h.client.has_permission(internal.ip()));
}

#[test]
fn relay_over_tcp_with_padded_channel_data() {
    let mut cc = client_config();
    cc.transport = Transport::Tcp;
    let mut h = Harness::new(server_config(), cc);
    h.allocate();
    h.client.create_permission(h.now, peer_addr()).unwrap();
    let channel = h.client.bind_channel(h.now, peer_addr()).unwrap();
    h.pump();
    assert_eq!(h.client.channel(peer_addr()), Some(channel));
    h.client.send_to(peer_addr(), b"abcde").unwrap();
    let t = h.client.poll_transmit().unwrap();
    assert_eq!(t.data.len(), 12, "padded to a multiple of 4 over TCP");
    h.server
        .handle_receive(
            h.now,
            Transport::Tcp,
            client_addr(),
            server_addr(),
            &t.data[..9],
        )
        .unwrap();
    assert_eq!(h.server.poll_transmit().unwrap().data, b"abcde");
    // Peer → client arrives padded; the client reframes it even one byte at a time.
    let relay = h.client.relayed_address().unwrap();
    h.server
        .handle_receive(h.now, Transport::Udp, peer_addr(), relay, b"xyz")
        .unwrap();
    let t = h.server.poll_transmit().unwrap();
    assert_eq!(t.data.len(), 8);
    assert_eq!(ChannelData::decode(&t.data).unwrap().data, b"xyz");
    for b in &t.data {
        h.client
            .handle_receive(h.now, server_addr(), &[*b])
            .unwrap();
    }
    h.pump();
    assert_eq!(h.take_data(), vec![(peer_addr(), b"xyz".to_vec())]);
}

#[test]
fn bandwidth_limit_drops_excess() {
    let mut sc = server_config();
    sc.bandwidth = Some(tern_turn::BandwidthLimit {
        bytes_per_second: 10_000,
        burst_bytes: 10_000,
    });
    let mut h = Harness::new(sc, client_config());
    h.allocate();
    h.client.create_permission(h.now, peer_addr()).unwrap();
    h.pump();
    for _ in 0..20 {
        h.client.send_to(peer_addr(), &[0; 1000]).unwrap();
    }
    h.pump();
    assert_eq!(h.take_peer(peer_addr()).len(), 10);
    assert!(h.server_errors.contains(&ServerError::BandwidthExceeded));
    h.advance(Duration::from_millis(500));
    for _ in 0..20 {
        h.client.send_to(peer_addr(), &[0; 1000]).unwrap();
    }
    h.pump();
    assert_eq!(h.take_peer(peer_addr()).len(), 5);
}
