//! Abuse limits: message size, message rate, connection count.
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
use tern_signaling::{Client, ClientMessage, ErrorCode, Limits, ServerMessage};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn oversized_message_gets_an_error_then_close_1009() {
    let server = server(Limits::default()).await;
    let (mut a, _, _) = joined(&server, "r1").await;
    let mut ws = raw(&server).await;
    ws.send(WsMessage::Text(r#"{"type":"join","room":"r1"}"#.into()))
        .await
        .unwrap();
    let ServerMessage::Peers { you, .. } = raw_recv(&mut ws).await else {
        panic!("peers")
    };
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::NewPeer { id: you.clone() }
    );

    let huge = format!(
        r#"{{"type":"offer","to":"x","sdp":"{}"}}"#,
        "a".repeat(64 * 1024)
    );
    // The server may close while the frame is still being written.
    let _ = ws.send(WsMessage::Text(huge)).await;
    match raw_recv(&mut ws).await {
        ServerMessage::Error { code, message } => {
            assert_eq!(code, ErrorCode::TooLarge);
            assert!(message.contains("65536"), "{message}");
        }
        other => panic!("expected too_large, got {other:?}"),
    }
    assert_eq!(raw_close_code(&mut ws).await, CloseCode::Size);
    // The room learns that the sender is gone.
    assert_eq!(recv(&mut a).await, ServerMessage::RemovePeer { id: you });
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_configured_smaller_size_limit_applies() {
    let mut limits = Limits::default();
    limits.max_message_size = 1024;
    let server = server(limits).await;
    let mut client = connect(&server).await;
    client.join("r1").await.unwrap();
    let ok = ClientMessage::Offer {
        to: "nobody".into(),
        sdp: "a".repeat(900),
    };
    client.send(&ok).await.unwrap();
    expect_error(&mut client, ErrorCode::UnknownPeer).await;
    let too_big = ClientMessage::Offer {
        to: "nobody".into(),
        sdp: "a".repeat(1024),
    };
    let _ = client.send(&too_big).await;
    expect_error(&mut client, ErrorCode::TooLarge).await;
    expect_closed(&mut client).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn rate_limit_drops_excess_and_disconnects_when_sustained() {
    let mut limits = Limits::default();
    // One token per second: the nine sends below take far less than that.
    limits.messages_per_second = 1;
    limits.message_burst = 5;
    limits.max_rejected_messages = 3;
    let server = server(limits).await;
    let mut ws = raw(&server).await;
    // `leave` before `join` always gets `not_joined`, which shows it was processed.
    for _ in 0..9 {
        ws.send(WsMessage::Text(r#"{"type":"leave"}"#.into()))
            .await
            .unwrap();
    }
    let mut codes = Vec::new();
    for _ in 0..9 {
        match raw_recv(&mut ws).await {
            ServerMessage::Error { code, .. } => codes.push(code),
            other => panic!("expected an error, got {other:?}"),
        }
    }
    use ErrorCode::{NotJoined, RateLimited};
    assert_eq!(
        codes,
        [
            NotJoined,
            NotJoined,
            NotJoined,
            NotJoined,
            NotJoined,
            RateLimited,
            RateLimited,
            RateLimited,
            RateLimited
        ]
    );
    assert_eq!(raw_close_code(&mut ws).await, CloseCode::Policy);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn rate_limited_client_recovers_after_a_pause() {
    let mut limits = Limits::default();
    limits.messages_per_second = 2;
    limits.message_burst = 2;
    limits.max_rejected_messages = 5;
    let server = server(limits).await;
    let mut client = connect(&server).await;
    for _ in 0..3 {
        client.leave().await.unwrap();
    }
    expect_error(&mut client, ErrorCode::NotJoined).await;
    expect_error(&mut client, ErrorCode::NotJoined).await;
    expect_error(&mut client, ErrorCode::RateLimited).await;
    tokio::time::sleep(Duration::from_millis(600)).await; // refills a token at 2/s
    let joined = client.join("r1").await.unwrap();
    assert!(joined.peers.is_empty());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn connections_over_the_limit_are_refused() {
    let mut limits = Limits::default();
    limits.max_connections = 2;
    let server = server(limits).await;
    let a = connect(&server).await;
    let _b = connect(&server).await;
    let third = within("third connect", Client::connect(&server.url())).await;
    assert!(third.is_err(), "third connection must be refused");
    assert_eq!(server.stats().await.unwrap().connections, 2);

    a.close().await.unwrap();
    stats_until(&server, |s| s.connections == 1).await;
    let mut c = connect(&server).await;
    c.join("r1").await.unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_limits_are_rejected_before_binding() {
    let mut limits = Limits::default();
    limits.max_peers_per_room = 0;
    let config = tern_signaling::ServerConfig::default().with_limits(limits);
    match tern_signaling::Server::bind(config).await {
        Err(tern_signaling::SignalingError::InvalidConfig(e)) => {
            assert!(e.to_string().contains("max_peers_per_room"), "{e}");
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}
