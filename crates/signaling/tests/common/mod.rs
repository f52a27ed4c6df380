//! Helpers shared by the integration tests: a server on 127.0.0.1 with chosen
//! limits, clients, and receives bounded by a timeout.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use tern_signaling::{
    Client, ErrorCode, Limits, PeerId, Server, ServerConfig, ServerMessage, ServerStats,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound for anything a test waits for.
pub const WAIT: Duration = Duration::from_secs(5);

pub type RawWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn server(limits: Limits) -> Server {
    Server::bind(ServerConfig::default().with_limits(limits))
        .await
        .expect("bind 127.0.0.1:0")
}

pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

pub async fn connect(server: &Server) -> Client {
    within("connect", Client::connect(&server.url()))
        .await
        .expect("connect")
}

/// Connects and joins `room`, returning the client, its id and the others.
pub async fn joined(server: &Server, room: &str) -> (Client, PeerId, Vec<PeerId>) {
    let mut client = connect(server).await;
    let joined = within("join", client.join(room)).await.expect("join");
    (client, joined.you, joined.peers)
}

pub async fn recv(client: &mut Client) -> ServerMessage {
    within("a message", client.next())
        .await
        .expect("connection open")
        .expect("well-formed message")
}

pub async fn expect_error(client: &mut Client, code: ErrorCode) {
    match recv(client).await {
        ServerMessage::Error { code: got, .. } => assert_eq!(got, code),
        other => panic!("expected error {code}, got {other:?}"),
    }
}

pub async fn expect_closed(client: &mut Client) {
    if let Some(Ok(msg)) = within("close", client.next()).await {
        panic!("expected the connection to close, got {msg:?}");
    }
}

/// A bare WebSocket to send what `Client` would not (bad JSON, binary, huge frames).
pub async fn raw(server: &Server) -> RawWs {
    within(
        "raw connect",
        tokio_tungstenite::connect_async(server.url()),
    )
    .await
    .expect("raw connect")
    .0
}

/// The next text frame of a raw socket, parsed.
pub async fn raw_recv(ws: &mut RawWs) -> ServerMessage {
    loop {
        match within("a raw frame", ws.next()).await {
            Some(Ok(WsMessage::Text(text))) => {
                return ServerMessage::from_json(text.as_bytes()).expect("server JSON");
            }
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Reads until the server's close frame and returns its code.
pub async fn raw_close_code(ws: &mut RawWs) -> CloseCode {
    loop {
        match within("a close frame", ws.next()).await {
            Some(Ok(WsMessage::Close(Some(frame)))) => return frame.code,
            Some(Ok(WsMessage::Text(_) | WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Polls the server's stats until `pred` holds (bounded by `WAIT`).
pub async fn stats_until(server: &Server, pred: impl Fn(&ServerStats) -> bool) -> ServerStats {
    within("server stats", async {
        loop {
            let stats = server.stats().await.expect("stats");
            if pred(&stats) {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}
