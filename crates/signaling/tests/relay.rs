//! Offer / answer / candidate relay: addressed by id, delivered to that peer
//! only, with `from` set by the server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use futures_util::SinkExt;
use tern_signaling::{ClientMessage, ErrorCode, Limits, PeerId, ServerMessage};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn relayed_messages_reach_only_the_addressee() {
    let server = server(Limits::default()).await;
    let (mut a, a_id, _) = joined(&server, "r1").await;
    let (mut b, b_id, _) = joined(&server, "r1").await;
    let (mut c, c_id, _) = joined(&server, "r1").await;
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::NewPeer { id: b_id.clone() }
    );
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::NewPeer { id: c_id.clone() }
    );
    assert_eq!(
        recv(&mut b).await,
        ServerMessage::NewPeer { id: c_id.clone() }
    );

    let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n".to_owned();
    a.send(&ClientMessage::Offer {
        to: b_id.clone(),
        sdp: offer.clone(),
    })
    .await
    .unwrap();
    assert_eq!(
        recv(&mut b).await,
        ServerMessage::Offer {
            from: a_id.clone(),
            sdp: offer
        }
    );

    b.send(&ClientMessage::Answer {
        to: a_id.clone(),
        sdp: "answer".into(),
    })
    .await
    .unwrap();
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::Answer {
            from: b_id.clone(),
            sdp: "answer".into()
        }
    );

    let candidate = "candidate:842163049 1 udp 1677729535 127.0.0.1 46154 typ host".to_owned();
    a.send(&ClientMessage::IceCandidate {
        to: b_id.clone(),
        candidate: candidate.clone(),
        sdp_mid: Some("0".into()),
    })
    .await
    .unwrap();
    // End of candidates: the empty candidate is relayed too.
    a.send(&ClientMessage::IceCandidate {
        to: b_id.clone(),
        candidate: String::new(),
        sdp_mid: Some("0".into()),
    })
    .await
    .unwrap();
    assert_eq!(
        recv(&mut b).await,
        ServerMessage::IceCandidate {
            from: a_id.clone(),
            candidate,
            sdp_mid: Some("0".into())
        }
    );
    assert_eq!(
        recv(&mut b).await,
        ServerMessage::IceCandidate {
            from: a_id.clone(),
            candidate: String::new(),
            sdp_mid: Some("0".into())
        }
    );

    // c saw none of it: the next thing c receives is the newcomer d, which
    // the server sent after all of the above.
    let (_d, d_id, _) = joined(&server, "r1").await;
    assert_eq!(recv(&mut c).await, ServerMessage::NewPeer { id: d_id });
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn from_cannot_be_forged() {
    let server = server(Limits::default()).await;
    let (mut a, a_id, _) = joined(&server, "r1").await;
    let mut b = raw(&server).await;
    b.send(WsMessage::Text(r#"{"type":"join","room":"r1"}"#.into()))
        .await
        .unwrap();
    let ServerMessage::Peers { you: b_id, .. } = raw_recv(&mut b).await else {
        panic!("expected peers")
    };
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::NewPeer { id: b_id.clone() }
    );
    let forged = format!(r#"{{"type":"offer","to":"{a_id}","from":"{a_id}","sdp":"x"}}"#);
    b.send(WsMessage::Text(forged)).await.unwrap();
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::Offer {
            from: b_id,
            sdp: "x".into()
        }
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_targets_are_refused_and_nothing_is_delivered() {
    let server = server(Limits::default()).await;
    let (mut a, a_id, _) = joined(&server, "r1").await;
    let (mut other_room, other_id, _) = joined(&server, "r2").await;

    for to in [
        PeerId::new("0000000000000000"),
        other_id.clone(),
        a_id.clone(),
    ] {
        a.send(&ClientMessage::Offer {
            to: to.clone(),
            sdp: "x".into(),
        })
        .await
        .unwrap();
        match recv(&mut a).await {
            ServerMessage::Error { code, message } => {
                assert_eq!(code, ErrorCode::UnknownPeer);
                assert!(message.contains(to.as_str()), "{message}");
            }
            other => panic!("expected unknown_peer, got {other:?}"),
        }
    }
    a.send(&ClientMessage::IceCandidate {
        to: other_id,
        candidate: String::new(),
        sdp_mid: None,
    })
    .await
    .unwrap();
    expect_error(&mut a, ErrorCode::UnknownPeer).await;

    // The peer in the other room got nothing: its next message is the
    // newcomer of its own room.
    let (_n, n_id, _) = joined(&server, "r2").await;
    assert_eq!(
        recv(&mut other_room).await,
        ServerMessage::NewPeer { id: n_id }
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn large_sdp_within_the_limit_is_relayed_intact() {
    let server = server(Limits::default()).await;
    let (mut a, a_id, _) = joined(&server, "r1").await;
    let (mut b, b_id, _) = joined(&server, "r1").await;
    recv(&mut a).await; // new_peer b
    // Exactly max_message_size bytes of JSON.
    let overhead = ClientMessage::Offer {
        to: a_id.clone(),
        sdp: String::new(),
    }
    .to_json()
    .len();
    let sdp = "a".repeat(64 * 1024 - overhead);
    let msg = ClientMessage::Offer {
        to: a_id.clone(),
        sdp: sdp.clone(),
    };
    assert_eq!(msg.to_json().len(), 64 * 1024);
    b.send(&msg).await.unwrap();
    assert_eq!(recv(&mut a).await, ServerMessage::Offer { from: b_id, sdp });
    server.shutdown().await.unwrap();
}
