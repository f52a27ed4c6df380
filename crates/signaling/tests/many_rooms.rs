//! Many rooms negotiating at the same time on one server, each seeing only
//! its own peers and messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use tern_signaling::{ClientMessage, Limits, ServerMessage};

const ROOMS: usize = 40;
const PER_ROOM: usize = 3;

/// One room: three peers join, the last one offers to the other two, they
/// answer, candidates flow; each message must come from the right peer.
async fn run_room(server_url: String, room: String) {
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for i in 0..PER_ROOM {
        let mut client = tern_signaling::Client::connect(&server_url).await.unwrap();
        let joined = within("join", client.join(&room)).await.unwrap();
        assert_eq!(
            joined.peers, ids,
            "peer {i} of {room} sees exactly the earlier ones"
        );
        for earlier in &mut clients {
            assert_eq!(
                recv(earlier).await,
                ServerMessage::NewPeer {
                    id: joined.you.clone()
                }
            );
        }
        ids.push(joined.you);
        clients.push(client);
    }
    let newest = PER_ROOM - 1;
    for target in 0..newest {
        let sdp = format!("offer {room} {target}");
        clients[newest]
            .send(&ClientMessage::Offer {
                to: ids[target].clone(),
                sdp: sdp.clone(),
            })
            .await
            .unwrap();
        assert_eq!(
            recv(&mut clients[target]).await,
            ServerMessage::Offer {
                from: ids[newest].clone(),
                sdp
            }
        );
        let sdp = format!("answer {room} {target}");
        clients[target]
            .send(&ClientMessage::Answer {
                to: ids[newest].clone(),
                sdp: sdp.clone(),
            })
            .await
            .unwrap();
        assert_eq!(
            recv(&mut clients[newest]).await,
            ServerMessage::Answer {
                from: ids[target].clone(),
                sdp
            }
        );
        let candidate = format!("candidate:{target} 1 udp 1 127.0.0.1 9 typ host");
        clients[target]
            .send(&ClientMessage::IceCandidate {
                to: ids[newest].clone(),
                candidate: candidate.clone(),
                sdp_mid: Some("0".into()),
            })
            .await
            .unwrap();
        assert_eq!(
            recv(&mut clients[newest]).await,
            ServerMessage::IceCandidate {
                from: ids[target].clone(),
                candidate,
                sdp_mid: Some("0".into())
            }
        );
    }
    for client in clients {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_rooms_negotiate_concurrently() {
    let server = server(Limits::default()).await;
    let mut tasks = tokio::task::JoinSet::new();
    for r in 0..ROOMS {
        tasks.spawn(run_room(server.url(), format!("room-{r}")));
    }
    within("all rooms", async {
        while let Some(result) = tasks.join_next().await {
            result.expect("room task");
        }
    })
    .await;
    let stats = stats_until(&server, |s| s.rooms == 0 && s.connections == 0).await;
    assert_eq!(stats.peers, 0);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_fill_up_concurrently_and_counts_add_up() {
    let server = server(Limits::default()).await;
    let mut clients = Vec::new();
    for r in 0..ROOMS {
        for _ in 0..PER_ROOM {
            clients.push(joined(&server, &format!("count-{r}")).await.0);
        }
    }
    let stats = stats_until(&server, |s| s.peers == ROOMS * PER_ROOM).await;
    assert_eq!(stats.rooms, ROOMS);
    assert_eq!(stats.connections, ROOMS * PER_ROOM);
    drop(clients); // abrupt: no close frames
    // Every disconnect is noticed and every room removed.
    stats_until(&server, |s| {
        s.connections == 0 && s.peers == 0 && s.rooms == 0
    })
    .await;
    server.shutdown().await.unwrap();
}
