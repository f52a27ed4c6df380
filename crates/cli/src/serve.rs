//! `tern serve`: a web page on 127.0.0.1 that connects the browser to a Rust peer.
//!
//! One process, one port: `GET /` is the page (`serve/page.html`), `GET /ws` is passed through
//! to a tern-signaling server running in-process on an ephemeral loopback port, and a Rust peer
//! (the "room peer") joins the room first and offers a peer connection to every browser that
//! joins after it (`serve/session.rs`: chat echo, SHA-256 of files, camera and microphone echoed
//! back). A browser that leaves (`remove_peer`) ends its session and its peer connection.
//! `--mdns` switches on both mDNS options of the Rust peer's connections (`.local` names for its
//! host IPs, resolution of the browser's); the page's `?media=off` leaves out the camera and
//! microphone, so that Chromium hides its host IPs behind such names too.

mod http;
mod session;

use crate::flag;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tern_signaling::{Client, ClientMessage, PeerId, RoomName, ServerMessage};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};

const PAGE: &str = include_str!("serve/page.html");
/// Browsers served at once (the signaling server allows 32 peers per room).
const MAX_SESSIONS: usize = 16;
/// HTTP connections (page loads and signaling WebSockets) open at once.
const MAX_HTTP_CONNECTIONS: usize = 256;

pub(crate) const USAGE: &str =
    "  serve    serve a page on 127.0.0.1 that connects your browser to a Rust peer through the
           signaling server: chat, file send with a SHA-256 check, camera/mic echoed back
             --port N        HTTP port (default 8080); the page, and the WebSocket on /ws
             --room NAME     room name (default tern)
             --ice-ip ADDR   address the Rust peer's UDP socket binds (default 127.0.0.1)
             --mdns          hide the Rust peer's host IPs behind random `<uuid>.local` names
                             (answering mDNS queries for them on 224.0.0.251:5353) and resolve
                             the browser's `.local` candidates; --ice-ip must then be the
                             address of a multicast interface (a LAN address, not 127.0.0.1).
                             Open the page as /?media=off: without camera/mic permission
                             Chromium hides its own host IPs behind such names too
";

pub async fn run(args: &[String]) -> Result<(), String> {
    let port: u16 = flag(args, "--port")
        .unwrap_or("8080")
        .parse()
        .map_err(|_| "--port takes a number")?;
    let room = flag(args, "--room").unwrap_or("tern");
    RoomName::new(room).map_err(|e| format!("--room: {e}"))?;
    let ice_ip: IpAddr = flag(args, "--ice-ip")
        .unwrap_or("127.0.0.1")
        .parse()
        .map_err(|_| "--ice-ip takes an IP address")?;
    let mdns = args.iter().any(|a| a == "--mdns");

    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let signaling = tern_signaling::Server::bind(tern_signaling::ServerConfig::new(
        SocketAddr::new(loopback, 0),
    ))
    .await
    .map_err(|e| format!("signaling server: {e}"))?;
    let listener = TcpListener::bind(SocketAddr::new(loopback, port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;

    // The room peer joins before the page is reachable, so every browser finds it there.
    let mut client = Client::connect(&signaling.url())
        .await
        .map_err(|e| format!("room peer: {e}"))?;
    let joined = client
        .join(room)
        .await
        .map_err(|e| format!("room peer: join {room}: {e}"))?;
    println!(
        "tern serve: room {room:?}, Rust peer {}, ICE on {ice_ip}{}",
        joined.you.as_str(),
        if mdns { ", mDNS names" } else { "" }
    );
    let page = Arc::new(PAGE.replace("__TERN_ROOM__", room));
    println!("tern serve: open http://{address}/ in a browser (Ctrl-C to stop)");

    let signaling_addr = signaling.local_addr();
    let http = tokio::spawn(accept(listener, page, signaling_addr));
    let peer = room_peer(client, joined.peers, ice_ip, mdns);
    let outcome = tokio::select! {
        result = peer => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    http.abort();
    let _ = signaling.shutdown().await;
    outcome
}

/// Accepts HTTP connections, one task each, at most [`MAX_HTTP_CONNECTIONS`] at once.
async fn accept(listener: TcpListener, page: Arc<String>, signaling: SocketAddr) {
    let permits = Arc::new(Semaphore::new(MAX_HTTP_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        // Over the limit the connection is closed at once.
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue;
        };
        let page = page.clone();
        tokio::spawn(async move {
            http::handle(stream, &page, signaling).await;
            drop(permit);
        });
    }
}

/// The Rust peer: one session task per browser in the room, fed by this task's signaling client.
async fn room_peer(
    mut client: Client,
    present: Vec<PeerId>,
    ice_ip: IpAddr,
    mdns: bool,
) -> Result<(), String> {
    let (outbox, mut outgoing) = mpsc::channel::<ClientMessage>(256);
    let (ended_tx, mut ended) = mpsc::unbounded_channel::<PeerId>();
    let mut sessions: HashMap<PeerId, mpsc::Sender<ServerMessage>> = HashMap::new();
    let start = |id: PeerId, sessions: &mut HashMap<PeerId, mpsc::Sender<ServerMessage>>| {
        if sessions.contains_key(&id) {
            return;
        }
        if sessions.len() >= MAX_SESSIONS {
            println!(
                "tern serve: {} is not served ({MAX_SESSIONS} browsers already are)",
                id.as_str()
            );
            return;
        }
        println!("tern serve: {} joined; offering", id.as_str());
        let (tx, rx) = mpsc::channel(256);
        sessions.insert(id.clone(), tx);
        let (outbox, ended_tx) = (outbox.clone(), ended_tx.clone());
        tokio::spawn(async move {
            match session::run(id.clone(), ice_ip, mdns, rx, outbox).await {
                Ok(s) => println!(
                    "tern serve: {} done: {} chat messages, {} files, {} RTP packets echoed, {} keyframe requests forwarded",
                    id.as_str(),
                    s.chats,
                    s.files,
                    s.rtp_echoed,
                    s.keyframe_requests
                ),
                Err(e) => println!("tern serve: {e}"),
            }
            let _ = ended_tx.send(id);
        });
    };
    for id in present {
        start(id, &mut sessions);
    }
    loop {
        tokio::select! {
            message = client.next() => {
                let message = match message {
                    Some(Ok(message)) => message,
                    Some(Err(e)) => return Err(format!("signaling: {e}")),
                    None => return Err("the signaling server closed the room peer's connection".into()),
                };
                let to_session = |from: &PeerId| sessions.get(from).cloned();
                match message {
                    ServerMessage::NewPeer { id } => start(id, &mut sessions),
                    ServerMessage::RemovePeer { id } => {
                        // Dropping its inbox ends the session and closes its peer connection.
                        let known = sessions.remove(&id).is_some();
                        if known {
                            println!("tern serve: {} left", id.as_str());
                        }
                    }
                    ServerMessage::Offer { ref from, .. }
                    | ServerMessage::Answer { ref from, .. }
                    | ServerMessage::IceCandidate { ref from, .. } => {
                        if let Some(session) = to_session(from)
                            && session.try_send(message.clone()).is_err()
                        {
                            println!("tern serve: {} is not keeping up; message dropped", from.as_str());
                        }
                    }
                    ServerMessage::Error { message, .. } => println!("tern serve: signaling error: {message}"),
                    _ => {}
                }
            }
            Some(message) = outgoing.recv() => {
                client.send(&message).await.map_err(|e| format!("signaling: {e}"))?;
            }
            Some(id) = ended.recv() => {
                sessions.remove(&id);
            }
        }
    }
}
