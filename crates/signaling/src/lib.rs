//! WebSocket signaling for WebRTC: a room-based server and a client.
//!
//! Peers that want to connect exchange SDP offers/answers and trickled ICE
//! candidates through a server they can both reach. This crate is that server
//! (and a client for it), as a library; the `tern` CLI runs it as
//! `tern signal` and inside `tern demo` / `tern serve`. It depends on none of
//! Tern's protocol crates: messages carry SDP and candidates as opaque text.
//!
//! Standards: WebSocket (RFC 6455) via `tokio-tungstenite`; JSON (RFC 8259)
//! text frames. The room protocol itself is Tern's own — see [`message`] for
//! every message and field. Not implemented: TLS (`wss://`; put a TLS
//! terminating proxy in front), authentication, HTTP pages on the same port.
//!
//! # Protocol in brief
//! 1. A client connects to `ws://host:port/` (any path) and sends
//!    `{"type":"join","room":"r1"}`.
//! 2. The server answers `{"type":"peers","you":"<id>","ids":[...]}` with a
//!    fresh random id and the peers already there, and sends
//!    `{"type":"new_peer","id":"<id>"}` to each of them.
//! 3. Clients send `offer` / `answer` / `ice_candidate` with `"to":"<id>"`;
//!    the server relays each to that peer only, with `"from"` set to the
//!    sender's id (never taken from the client).
//! 4. `{"type":"leave"}` or a disconnect sends `remove_peer` to the others;
//!    an empty room is deleted at once.
//! 5. A bad request gets `{"type":"error","code":...,"message":...}` and
//!    changes nothing; the connection survives, except for an oversized
//!    message (close 1009) and a sustained rate-limit excess (close 1008).
//!
//! # Run loop (server)
//! [`RoomHub`] is the sans-IO core; [`serve`] / [`Server`] drive it:
//! 1. The accept loop takes a connection permit (at most
//!    [`Limits::max_connections`]) and spawns one task per connection.
//! 2. The connection task completes the WebSocket handshake (bounded by
//!    [`Limits::handshake_timeout`]) and attaches to the hub task with a
//!    bounded outbox.
//! 3. For each frame: size check (by tungstenite, from the frame header), rate
//!    check ([`Limits::messages_per_second`]), JSON parse, then the message
//!    goes to the hub task, which alone owns the [`RoomHub`] and calls
//!    [`RoomHub::handle_message`].
//! 4. The hub task drains [`RoomHub::poll_output`] into the outboxes with
//!    `try_send`: it never waits on a client; one that falls
//!    [`Limits::outbound_queue`] messages behind is disconnected.
//! 5. The connection task writes outbox messages to its socket, pings every
//!    [`Limits::ping_interval`] and closes after [`Limits::idle_timeout`] of silence.
//! 6. On disconnect it detaches first (the room hears `remove_peer` at
//!    once), then sends its close frame.
//!
//! # Example
//! ```
//! use tern_signaling::{Client, ClientMessage, Server, ServerConfig, ServerMessage};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tern_signaling::SignalingError> {
//! let server = Server::bind(ServerConfig::default()).await?; // 127.0.0.1, any free port
//!
//! let mut alice = Client::connect(&server.url()).await?;
//! let mut bob = Client::connect(&server.url()).await?;
//! let a = alice.join("r1").await?;
//! let b = bob.join("r1").await?;
//! assert_eq!(b.peers, [a.you.clone()]);
//! assert_eq!(alice.next().await.transpose()?, Some(ServerMessage::NewPeer { id: b.you.clone() }));
//!
//! bob.send(&ClientMessage::Offer { to: a.you.clone(), sdp: "v=0\r\n".into() }).await?;
//! assert_eq!(
//!     alice.next().await.transpose()?,
//!     Some(ServerMessage::Offer { from: b.you.clone(), sdp: "v=0\r\n".into() })
//! );
//!
//! bob.close().await?;
//! assert_eq!(alice.next().await.transpose()?, Some(ServerMessage::RemovePeer { id: b.you }));
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod client;
mod config;
mod error;
mod hub;
pub mod message;
mod rate;
mod server;

pub use client::{Client, Joined};
pub use config::{Limits, ServerConfig};
pub use error::{ConfigError, RoomNameError, SignalingError};
pub use hub::{ConnectionId, HubStats, RoomHub};
pub use message::{ClientMessage, ErrorCode, PeerId, RoomName, ServerMessage};
pub use server::{Server, ServerStats, serve, serve_with_shutdown};
