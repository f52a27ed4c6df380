//! Errors of the signaling server and client.

use crate::message::ErrorCode;

/// Why a room name was refused by [`crate::RoomName::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoomNameError {
    /// The name is empty.
    #[error("room name is empty")]
    Empty,
    /// The name is longer than [`crate::RoomName::MAX_LEN`] bytes.
    #[error("room name is {len} bytes long, the maximum is {max}")]
    TooLong {
        /// Length of the refused name in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A character outside ASCII letters, digits, `-`, `_`, `.`.
    #[error("room name has a character other than A-Z a-z 0-9 - _ . at byte {at}")]
    InvalidChar {
        /// Byte offset of the first refused character.
        at: usize,
    },
}

/// Why a [`crate::Limits`] value cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A limit that must be at least 1 is 0 (the field's name is given).
    #[error("limit `{field}` must be at least 1")]
    Zero {
        /// The [`crate::Limits`] field.
        field: &'static str,
    },
    /// `max_message_size` is too small to carry a `join`.
    #[error("max_message_size {size} is below the minimum of {min} bytes")]
    MessageSizeTooSmall {
        /// The configured size.
        size: usize,
        /// The minimum.
        min: usize,
    },
}

/// Everything the server and client can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignalingError {
    /// Binding, accepting or connecting a TCP socket failed.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket handshake or a frame failed (boxed: tungstenite's error is large).
    #[error("websocket error: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The server sent a text frame that is not a known [`crate::ServerMessage`].
    #[error("malformed message from the server: {0}")]
    MalformedMessage(#[source] serde_json::Error),
    /// The server sent a binary frame; the protocol uses text frames only.
    #[error("the server sent a binary frame")]
    UnexpectedBinaryFrame,
    /// The server refused a request (an `error` message).
    #[error("server refused the request ({code}): {message}")]
    Refused {
        /// Machine-readable reason.
        code: ErrorCode,
        /// The server's explanation.
        message: String,
    },
    /// The connection closed before the awaited reply arrived.
    #[error("the signaling connection is closed")]
    Closed,
    /// A room name failed validation before anything was sent.
    #[error("invalid room name: {0}")]
    InvalidRoomName(#[from] RoomNameError),
    /// The server configuration is unusable.
    #[error("invalid configuration: {0}")]
    InvalidConfig(#[from] ConfigError),
    /// The server sent more than `max` other messages before answering a join.
    #[error("the server sent more than {max} messages before answering the join")]
    PendingOverflow {
        /// [`crate::Client::MAX_PENDING`].
        max: usize,
    },
    /// The server task ended abnormally (it panicked or was cancelled).
    #[error("the signaling server task ended abnormally")]
    ServerTask,
}

impl From<tokio_tungstenite::tungstenite::Error> for SignalingError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        Self::WebSocket(Box::new(e))
    }
}
