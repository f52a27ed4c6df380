//! Server configuration and limits.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::error::ConfigError;

/// Where and how the server runs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Address [`crate::Server::bind`] listens on. Default `127.0.0.1:0` (an
    /// ephemeral port on loopback; read it back with [`crate::Server::local_addr`]).
    /// [`crate::serve`] and [`crate::Server::spawn`] take a bound listener and ignore it.
    pub bind: SocketAddr,
    /// Abuse limits.
    pub limits: Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            limits: Limits::default(),
        }
    }
}

impl ServerConfig {
    /// The default configuration listening on `bind`.
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            ..Self::default()
        }
    }

    /// Replaces the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Bounds on everything a client can make the server hold or do.
///
/// Every map, queue and buffer the server keeps is bounded by one of these.
/// Build with `Limits::default()` and change fields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest text frame accepted, in bytes (default 64 KiB). A larger one is
    /// answered with an `error` (`too_large`) and the connection is closed
    /// with WebSocket status 1009; the server never buffers more than this.
    pub max_message_size: usize,
    /// Sustained messages per second per connection (default 50). Token
    /// bucket: excess messages are dropped and answered with `rate_limited`.
    pub messages_per_second: u32,
    /// Token bucket depth: messages a quiet connection may send at once (default 100).
    pub message_burst: u32,
    /// Rejected (rate-limited) messages tolerated before the connection is
    /// closed with status 1008 (default 50). The count decays by one per
    /// second, so only a sustained excess disconnects.
    pub max_rejected_messages: u32,
    /// Peers in one room (default 32).
    pub max_peers_per_room: usize,
    /// Rooms on the server (default 10,000).
    pub max_rooms: usize,
    /// Open connections, including ones still in the WebSocket handshake
    /// (default 10,000). Connections beyond it are closed at accept.
    pub max_connections: usize,
    /// Messages queued from the room hub to one connection (default 256). A
    /// client that does not read fast enough to keep under it is disconnected
    /// rather than slowing down everyone else. Keep it above `message_burst`,
    /// so that the replies to a client's own burst always fit.
    pub outbound_queue: usize,
    /// Time to complete the WebSocket handshake (default 10 s).
    pub handshake_timeout: Duration,
    /// Interval between server pings (default 20 s).
    pub ping_interval: Duration,
    /// A connection from which nothing (not even a pong) arrives for this long
    /// is closed (default 60 s).
    pub idle_timeout: Duration,
    /// Time allowed to write one frame to a client (default 10 s).
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 64 * 1024,
            messages_per_second: 50,
            message_burst: 100,
            max_rejected_messages: 50,
            max_peers_per_room: 32,
            max_rooms: 10_000,
            max_connections: 10_000,
            outbound_queue: 256,
            handshake_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Smallest usable `max_message_size`: room for a `join` with the longest
    /// room name and the `error` replies.
    pub const MIN_MESSAGE_SIZE: usize = 256;

    /// Checks that every limit is usable.
    ///
    /// # Errors
    /// [`ConfigError::Zero`] naming the first limit that is 0, or
    /// [`ConfigError::MessageSizeTooSmall`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_message_size < Self::MIN_MESSAGE_SIZE {
            return Err(ConfigError::MessageSizeTooSmall {
                size: self.max_message_size,
                min: Self::MIN_MESSAGE_SIZE,
            });
        }
        let counts = [
            ("messages_per_second", self.messages_per_second as usize),
            ("message_burst", self.message_burst as usize),
            ("max_rejected_messages", self.max_rejected_messages as usize),
            ("max_peers_per_room", self.max_peers_per_room),
            ("max_rooms", self.max_rooms),
            ("max_connections", self.max_connections),
            ("outbound_queue", self.outbound_queue),
        ];
        let durations = [
            ("handshake_timeout", self.handshake_timeout),
            ("ping_interval", self.ping_interval),
            ("idle_timeout", self.idle_timeout),
            ("write_timeout", self.write_timeout),
        ];
        if let Some((field, _)) = counts.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Zero { field });
        }
        if let Some((field, _)) = durations.iter().find(|(_, v)| v.is_zero()) {
            return Err(ConfigError::Zero { field });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_on_loopback() {
        let config = ServerConfig::default();
        assert!(config.bind.ip().is_loopback());
        assert_eq!(config.limits.max_message_size, 65_536);
        assert_eq!(config.limits.validate(), Ok(()));
    }

    #[test]
    fn zero_limits_are_named() {
        let mut limits = Limits {
            max_rooms: 0,
            ..Limits::default()
        };
        assert_eq!(
            limits.validate(),
            Err(ConfigError::Zero { field: "max_rooms" })
        );
        limits.max_rooms = 1;
        limits.idle_timeout = Duration::ZERO;
        assert_eq!(
            limits.validate(),
            Err(ConfigError::Zero {
                field: "idle_timeout"
            })
        );
        limits.idle_timeout = Duration::from_secs(1);
        limits.max_message_size = 10;
        assert_eq!(
            limits.validate(),
            Err(ConfigError::MessageSizeTooSmall { size: 10, min: 256 })
        );
    }
}
