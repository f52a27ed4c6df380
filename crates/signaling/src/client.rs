//! A signaling client over tokio-tungstenite.

use std::collections::VecDeque;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::SignalingError;
use crate::message::{ClientMessage, PeerId, RoomName, ServerMessage};

/// The server's answer to a successful [`Client::join`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    /// This client's id in the room.
    pub you: PeerId,
    /// The peers already in the room, oldest first. Following WebRTC "perfect
    /// negotiation" habits, the newcomer usually sends the offers.
    pub peers: Vec<PeerId>,
}

/// A connection to a signaling server.
///
/// ```no_run
/// # async fn run() -> Result<(), tern_signaling::SignalingError> {
/// use tern_signaling::{Client, ClientMessage, ServerMessage};
/// let mut client = Client::connect("ws://127.0.0.1:8080/").await?;
/// let joined = client.join("r1").await?;
/// for peer in &joined.peers {
///     client.send(&ClientMessage::Offer { to: peer.clone(), sdp: "v=0...".into() }).await?;
/// }
/// while let Some(msg) = client.next().await {
///     match msg? {
///         ServerMessage::Answer { from, sdp } => { /* set_remote_description */ }
///         ServerMessage::RemovePeer { id } => { /* close that peer connection */ }
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages that arrived while [`Client::join`] waited for its reply.
    pending: VecDeque<ServerMessage>,
}

impl Client {
    /// Largest message accepted from the server (1 MiB): well above any
    /// server's own limit, and a bound on what a rogue server can make us buffer.
    pub const MAX_INCOMING_MESSAGE: usize = 1 << 20;

    /// Most messages [`Client::join`] buffers while waiting for its reply.
    pub const MAX_PENDING: usize = 1024;

    /// Connects to `url` (`ws://host:port/`; the path is not used by Tern's server).
    ///
    /// # Errors
    /// [`SignalingError::WebSocket`] if the URL is invalid, the TCP connection
    /// fails or the handshake is refused (for example, at the connection limit).
    pub async fn connect(url: &str) -> Result<Self, SignalingError> {
        let config = WebSocketConfig {
            max_message_size: Some(Self::MAX_INCOMING_MESSAGE),
            max_frame_size: Some(Self::MAX_INCOMING_MESSAGE),
            ..WebSocketConfig::default()
        };
        // Nagle off: signaling messages are small and latency-sensitive.
        let (ws, _response) =
            tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
        Ok(Self {
            ws,
            pending: VecDeque::new(),
        })
    }

    /// Joins `room` and waits for the answer. Messages that arrive meanwhile
    /// are kept for [`Client::next`].
    ///
    /// # Errors
    /// [`SignalingError::InvalidRoomName`] before sending anything,
    /// [`SignalingError::Refused`] if the server says no (`room_full`, ...),
    /// [`SignalingError::Closed`] if the connection ends first, and transport errors.
    pub async fn join(&mut self, room: &str) -> Result<Joined, SignalingError> {
        let room = RoomName::new(room)?;
        self.send(&ClientMessage::Join {
            room: room.as_str().to_owned(),
        })
        .await?;
        loop {
            let msg = self.receive().await.ok_or(SignalingError::Closed)??;
            match msg {
                ServerMessage::Peers { you, ids } => return Ok(Joined { you, peers: ids }),
                ServerMessage::Error { code, message } => {
                    return Err(SignalingError::Refused { code, message });
                }
                other if self.pending.len() < Self::MAX_PENDING => self.pending.push_back(other),
                _ => {
                    return Err(SignalingError::PendingOverflow {
                        max: Self::MAX_PENDING,
                    });
                }
            }
        }
    }

    /// Leaves the current room (the server answers only if that fails, with an `error`).
    ///
    /// # Errors
    /// Transport errors.
    pub async fn leave(&mut self) -> Result<(), SignalingError> {
        self.send(&ClientMessage::Leave).await
    }

    /// Sends one message.
    ///
    /// # Errors
    /// [`SignalingError::WebSocket`] if the connection is broken or closed.
    pub async fn send(&mut self, msg: &ClientMessage) -> Result<(), SignalingError> {
        self.ws.send(WsMessage::Text(msg.to_json())).await?;
        Ok(())
    }

    /// The next message from the server, or `None` once the connection is
    /// closed. Cancel-safe: usable as a `tokio::select!` branch.
    ///
    /// Keep calling it (typically in the loop that also drives the peer
    /// connection): the server's pings are answered while reading, and a
    /// client silent for [`crate::Limits::idle_timeout`] is disconnected.
    ///
    /// An `Err` item is one bad frame (malformed or binary) or a broken
    /// connection; after a transport error the next call returns `None`.
    pub async fn next(&mut self) -> Option<Result<ServerMessage, SignalingError>> {
        if let Some(msg) = self.pending.pop_front() {
            return Some(Ok(msg));
        }
        self.receive().await
    }

    /// Closes the connection with a WebSocket close handshake.
    ///
    /// # Errors
    /// Transport errors while sending the close frame.
    pub async fn close(mut self) -> Result<(), SignalingError> {
        self.ws.close(None).await?;
        // Wait for the server's close reply (bounded by the server closing the TCP stream).
        while let Some(Ok(_)) = self.ws.next().await {}
        Ok(())
    }

    async fn receive(&mut self) -> Option<Result<ServerMessage, SignalingError>> {
        loop {
            let frame = match self.ws.next().await? {
                Ok(frame) => frame,
                Err(e) => return Some(Err(e.into())),
            };
            match frame {
                WsMessage::Text(text) => {
                    return Some(
                        ServerMessage::from_json(text.as_bytes())
                            .map_err(SignalingError::MalformedMessage),
                    );
                }
                WsMessage::Binary(_) => return Some(Err(SignalingError::UnexpectedBinaryFrame)),
                WsMessage::Close(_) => return None,
                WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => {}
            }
        }
    }
}
