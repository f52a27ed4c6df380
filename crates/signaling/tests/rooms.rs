//! Room membership over real WebSockets: join → peers / new_peer, leave and
//! disconnect → remove_peer, empty rooms removed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use tern_signaling::{ClientMessage, Limits, ServerMessage};

#[tokio::test]
async fn three_clients_see_each_other_join_and_leave() {
    let server = server(Limits::default()).await;

    let (mut a, a_id, a_peers) = joined(&server, "r1").await;
    assert!(a_peers.is_empty());

    let (mut b, b_id, b_peers) = joined(&server, "r1").await;
    assert_eq!(b_peers, std::slice::from_ref(&a_id));
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::NewPeer { id: b_id.clone() }
    );

    let (mut c, c_id, c_peers) = joined(&server, "r1").await;
    assert_eq!(c_peers, [a_id.clone(), b_id.clone()], "oldest first");
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::NewPeer { id: c_id.clone() }
    );
    assert_eq!(
        recv(&mut b).await,
        ServerMessage::NewPeer { id: c_id.clone() }
    );

    // Ids are distinct and not small sequence numbers.
    assert!(a_id != b_id && b_id != c_id && a_id != c_id);
    for id in [&a_id, &b_id, &c_id] {
        assert_eq!(id.as_str().len(), 16, "{id}");
    }

    // An explicit leave.
    b.leave().await.unwrap();
    assert_eq!(
        recv(&mut a).await,
        ServerMessage::RemovePeer { id: b_id.clone() }
    );
    assert_eq!(
        recv(&mut c).await,
        ServerMessage::RemovePeer { id: b_id.clone() }
    );

    // A clean close.
    c.close().await.unwrap();
    assert_eq!(recv(&mut a).await, ServerMessage::RemovePeer { id: c_id });

    // b, still connected, can join again and gets a fresh id.
    let again = within("rejoin", b.join("r1")).await.unwrap();
    assert_ne!(again.you, b_id);
    assert_eq!(again.peers, [a_id]);
    assert_eq!(recv(&mut a).await, ServerMessage::NewPeer { id: again.you });
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn rooms_are_separate_and_removed_when_empty() {
    let server = server(Limits::default()).await;
    let (mut a, _a_id, _) = joined(&server, "r1").await;
    let (b, b_id, b_peers) = joined(&server, "r2").await;
    assert!(b_peers.is_empty(), "r2 does not see r1");
    let stats = stats_until(&server, |s| s.peers == 2).await;
    assert_eq!((stats.rooms, stats.peers, stats.connections), (2, 2, 2));

    b.close().await.unwrap();
    let stats = stats_until(&server, |s| s.rooms == 1).await;
    assert_eq!(stats.peers, 1);

    a.leave().await.unwrap();
    let stats = stats_until(&server, |s| s.rooms == 0).await;
    assert_eq!((stats.peers, stats.connections), (0, 1));

    // The room name is free again: a newcomer finds it empty, and b's old id is gone.
    let (mut c, _, c_peers) = joined(&server, "r2").await;
    assert!(c_peers.is_empty());
    c.send(&ClientMessage::Offer {
        to: b_id,
        sdp: "v=0".into(),
    })
    .await
    .unwrap();
    expect_error(&mut c, tern_signaling::ErrorCode::UnknownPeer).await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_every_client() {
    let server = server(Limits::default()).await;
    let (mut a, _, _) = joined(&server, "r1").await;
    let (mut b, _, _) = joined(&server, "r1").await;
    let mut idle = connect(&server).await;
    let url = server.url();
    within("shutdown", server.shutdown()).await.unwrap();
    for client in [&mut a, &mut b, &mut idle] {
        // a may still see b's new_peer first; then the close.
        loop {
            match within("close", client.next()).await {
                Some(Ok(ServerMessage::NewPeer { .. })) => {}
                None | Some(Err(_)) => break,
                Some(Ok(other)) => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!(tern_signaling::Client::connect(&url).await.is_err());
}
