//! Connections that end badly: abrupt drops, silent peers, stalled
//! handshakes and clients too slow to read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use tern_signaling::{ClientMessage, Limits, ServerMessage};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn abrupt_disconnect_sends_remove_peer_to_the_others() {
    let server = server(Limits::default()).await;
    let (mut a, _, _) = joined(&server, "r1").await;
    let (mut b, _, _) = joined(&server, "r1").await;
    let (c, c_id, _) = joined(&server, "r1").await;
    recv(&mut a).await; // new_peer b
    recv(&mut a).await; // new_peer c
    recv(&mut b).await; // new_peer c
    drop(c); // TCP closed with no WebSocket close frame
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::RemovePeer { id: c_id.clone() }
    );
    assert_eq!(recv(&mut b).await, ServerMessage::RemovePeer { id: c_id });
    stats_until(&server, |s| s.peers == 2 && s.connections == 2).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn silent_connections_time_out_but_responsive_ones_stay() {
    let mut limits = Limits::default();
    limits.ping_interval = Duration::from_millis(50);
    limits.idle_timeout = Duration::from_millis(300);
    let server = server(limits).await;
    // `a` keeps reading, so it answers pings.
    let (mut a, _, _) = joined(&server, "r1").await;
    // `mute` joins and then never reads again: no pongs.
    let mut mute = raw(&server).await;
    mute.send(WsMessage::Text(r#"{"type":"join","room":"r1"}"#.into()))
        .await
        .unwrap();
    let ServerMessage::Peers { you, .. } = raw_recv(&mut mute).await else {
        panic!("peers")
    };
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::NewPeer { id: you.clone() }
    );
    let started = tokio::time::Instant::now();
    assert_eq!(recv(&mut a).await, ServerMessage::RemovePeer { id: you });
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    // `a`, reading (so answering pings), survives several idle periods.
    let quiet = tokio::time::timeout(Duration::from_millis(700), a.next()).await;
    assert!(quiet.is_err(), "expected silence, got {quiet:?}");
    let stats = server.stats().await.unwrap();
    assert_eq!((stats.peers, stats.connections), (1, 1));
    drop(mute);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn stalled_handshakes_are_dropped() {
    let mut limits = Limits::default();
    limits.handshake_timeout = Duration::from_millis(200);
    let server = server(limits).await;
    let mut tcp = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    stats_until(&server, |s| s.connections == 1).await;
    let mut buf = [0u8; 16];
    let read = within("server to drop the socket", tcp.read(&mut buf)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    stats_until(&server, |s| s.connections == 0).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_read_is_cut_off_without_stalling_the_room() {
    let mut limits = Limits::default();
    limits.outbound_queue = 4;
    limits.messages_per_second = 10_000;
    limits.message_burst = 10_000;
    let server = server(limits).await;
    // `stuck` joins and then never reads.
    let mut stuck = raw(&server).await;
    stuck
        .send(WsMessage::Text(r#"{"type":"join","room":"r1"}"#.into()))
        .await
        .unwrap();
    let ServerMessage::Peers { you: stuck_id, .. } = raw_recv(&mut stuck).await else {
        panic!("peers")
    };
    let (mut sender, _, _) = joined(&server, "r1").await;
    let (mut watcher, watcher_id, _) = joined(&server, "r1").await;
    recv(&mut sender).await; // new_peer watcher

    // Far more than the socket buffers and the 4-message queue can hold.
    let target = stuck_id.clone();
    let flood = tokio::spawn(async move {
        let sdp = "a".repeat(60 * 1024);
        for _ in 0..1000 {
            let msg = ClientMessage::Offer {
                to: target.clone(),
                sdp: sdp.clone(),
            };
            // The sender reads nothing either, so with these tiny queues it may
            // be cut off too once its offers start bouncing as `unknown_peer`.
            if sender.send(&msg).await.is_err() {
                break;
            }
        }
    });
    // The watcher, which reads, hears of the eviction and stays.
    assert_eq!(
        recv(&mut watcher).await,
        ServerMessage::RemovePeer { id: stuck_id }
    );
    within("flood", flood).await.unwrap();
    let mut fresh = connect(&server).await;
    let joined = within("join", fresh.join("r1")).await.unwrap();
    assert!(joined.peers.contains(&watcher_id), "{joined:?}");
    drop(stuck);
    server.shutdown().await.unwrap();
}
