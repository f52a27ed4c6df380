//! Requests the server refuses with an `error` while keeping the connection
//! and changing no state.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use futures_util::SinkExt;
use tern_signaling::{ClientMessage, ErrorCode, Limits, ServerMessage, SignalingError};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn malformed_json_gets_an_error_and_the_connection_survives() {
    let server = server(Limits::default()).await;
    let mut ws = raw(&server).await;
    for bad in [
        "{",
        "not json",
        "[]",
        "{}",
        r#"{"type":"dance"}"#,
        r#"{"type":"join"}"#,
        r#"{"type":"join","room":7}"#,
        r#"{"type":"offer","sdp":"v=0"}"#,
        r#"{"type":"peers","you":"x","ids":[]}"#,
    ] {
        ws.send(WsMessage::Text(bad.into())).await.unwrap();
        match raw_recv(&mut ws).await {
            ServerMessage::Error { code, message } => {
                assert_eq!(code, ErrorCode::Malformed, "{bad}");
                assert!(!message.is_empty());
            }
            other => panic!("{bad}: expected an error, got {other:?}"),
        }
    }
    ws.send(WsMessage::Binary(vec![1, 2, 3])).await.unwrap();
    assert!(matches!(
        raw_recv(&mut ws).await,
        ServerMessage::Error {
            code: ErrorCode::Malformed,
            ..
        }
    ));
    // Still usable.
    ws.send(WsMessage::Text(r#"{"type":"join","room":"ok"}"#.into()))
        .await
        .unwrap();
    assert!(matches!(
        raw_recv(&mut ws).await,
        ServerMessage::Peers { .. }
    ));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn requests_before_join_are_refused() {
    let server = server(Limits::default()).await;
    let (_b, b_id, _) = joined(&server, "r1").await;
    let mut a = connect(&server).await;
    for msg in [
        ClientMessage::Offer {
            to: b_id.clone(),
            sdp: "x".into(),
        },
        ClientMessage::Answer {
            to: b_id.clone(),
            sdp: "x".into(),
        },
        ClientMessage::IceCandidate {
            to: b_id.clone(),
            candidate: String::new(),
            sdp_mid: None,
        },
        ClientMessage::Leave,
    ] {
        a.send(&msg).await.unwrap();
        expect_error(&mut a, ErrorCode::NotJoined).await;
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_room_names_and_double_joins_are_refused() {
    let server = server(Limits::default()).await;
    let mut a = raw(&server).await;
    for room in ["", "has space", "slash/", "ünïcode", &"x".repeat(65)] {
        let join = ClientMessage::Join { room: room.into() }.to_json();
        a.send(WsMessage::Text(join)).await.unwrap();
        assert!(
            matches!(
                raw_recv(&mut a).await,
                ServerMessage::Error {
                    code: ErrorCode::InvalidRoom,
                    ..
                }
            ),
            "{room:?}"
        );
    }
    // The client library checks names before sending anything.
    let mut client = connect(&server).await;
    assert!(matches!(
        client.join("bad name").await,
        Err(SignalingError::InvalidRoomName(_))
    ));

    let first = client.join("r1").await.unwrap();
    client
        .send(&ClientMessage::Join { room: "r2".into() })
        .await
        .unwrap();
    expect_error(&mut client, ErrorCode::AlreadyJoined).await;
    // Still in r1 with the same id: a newcomer sees it.
    let (_n, _, peers) = joined(&server, "r1").await;
    assert_eq!(peers, [first.you]);
    let stats = server.stats().await.unwrap();
    assert_eq!(stats.rooms, 1);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn full_rooms_and_too_many_rooms_are_refused() {
    let mut limits = Limits::default();
    limits.max_peers_per_room = 2;
    limits.max_rooms = 2;
    let server = server(limits).await;
    let (_a, _, _) = joined(&server, "r1").await;
    let (_b, _, _) = joined(&server, "r1").await;
    let (_c, _, _) = joined(&server, "r2").await;

    let mut d = connect(&server).await;
    match d.join("r1").await {
        Err(SignalingError::Refused {
            code: ErrorCode::RoomFull,
            ..
        }) => {}
        other => panic!("expected room_full, got {other:?}"),
    }
    match d.join("r3").await {
        Err(SignalingError::Refused {
            code: ErrorCode::TooManyRooms,
            ..
        }) => {}
        other => panic!("expected too_many_rooms, got {other:?}"),
    }
    // Refusals leave d usable: r2 has room.
    let joined = d.join("r2").await.unwrap();
    assert_eq!(joined.peers.len(), 1);
    server.shutdown().await.unwrap();
}
