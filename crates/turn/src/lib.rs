//! # tern-turn: TURN for Tern (sans-IO)
//!
//! Traversal Using Relays around NAT, [RFC 8656], on top of `tern-stun`: the TURN attribute
//! and ChannelData codecs, a client for one allocation, and a server core. No sockets, no
//! clocks: time comes in as `now: Instant`. A UDP + TCP runner for the server (a `mio` event
//! loop with batched UDP I/O, awaited from tokio) sits behind the `server` feature.
//!
//! ## Implemented
//! - RFC 8656 §17 methods and §18 attributes: CHANNEL-NUMBER, LIFETIME, XOR-PEER-ADDRESS, DATA,
//!   XOR-RELAYED-ADDRESS, REQUESTED-ADDRESS-FAMILY, EVEN-PORT, REQUESTED-TRANSPORT,
//!   DONT-FRAGMENT, RESERVATION-TOKEN, ADDITIONAL-ADDRESS-FAMILY, ADDRESS-ERROR-CODE, ICMP
//!   ([`wire::attributes`]); §19 error codes ([`wire::methods`]).
//! - §12.4–§12.5 ChannelData over UDP and over TCP, with a stream reframer that accepts any
//!   chunking ([`ChannelData`], [`StreamFramer`]).
//! - Client ([`Client`]): Allocate with the 401/438 long-term credential dance (bounded; MD5,
//!   or SHA-256 when the server's nonce cookie and PASSWORD-ALGORITHMS offer it, RFC 8489
//!   §9.2, with MESSAGE-INTEGRITY-SHA256 both ways and bid-down detection; which algorithms
//!   the client accepts is `ClientConfig::password_algorithms`),
//!   Refresh (and LIFETIME 0 to delete), CreatePermission, ChannelBind, automatic refreshes of
//!   allocation, permissions (300 s) and channels (600 s), Send/Data indications, ChannelData,
//!   REQUESTED-ADDRESS-FAMILY, expiry, STUN retransmissions over UDP (RFC 8489 §6.2.1).
//! - Server core ([`Server`]): long-term credentials with static users and TURN REST API
//!   ephemeral users, stateless expiring nonces bound to the client IP, password algorithms
//!   (RFC 8489 §9.2: MD5 only by default like coturn; [`ServerConfig::with_sha256`] offers
//!   `[Sha256, Md5]` with the nonce cookie, PASSWORD-ALGORITHMS, the §9.2.4 bid-down checks
//!   and MESSAGE-INTEGRITY-SHA256), allocations with
//!   lifetimes, permissions keyed by IP, channels, relay port range, per-user and total quotas
//!   (486), EVEN-PORT with next-port reservations and RESERVATION-TOKEN, per-allocation
//!   bandwidth limit, and a relay destination policy that denies
//!   loopback, private, link-local, multicast, unspecified and the server's own addresses after
//!   canonicalising embedded-IPv4 IPv6 forms ([`PeerPolicy`]; CVE-2020-26262, CVE-2026-27624).
//! - `server` feature: [`ServerRunner`], a UDP + TCP runner around the core: one event loop
//!   thread (`recvmmsg`, UDP GSO runs, `sendmmsg` for single datagrams) and, on a machine
//!   with more than one CPU, writer threads.
//!
//! Not implemented: TLS/DTLS transports to the server, RFC 6062 TCP relaying (CONNECT gets
//! 400), DONT-FRAGMENT (420: the relay cannot set DF), dual allocations (ADDITIONAL-ADDRESS-FAMILY is
//! answered with an IPv4 relay and ADDRESS-ERROR-CODE 440 for IPv6), ICMP relaying (§11.5, the
//! attribute codec exists), RFC 7635 OAuth (ACCESS-TOKEN gets 420), USERHASH (username
//! anonymity, RFC 8489 §9.2: the server does not announce it and the client sends USERNAME),
//! the 5-minute hold-down on
//! reusing an expired channel number (§12), and TURN server discovery (§4).
//!
//! ## Run loop (client and server alike)
//! 1. Feed every datagram (or every chunk of the TCP stream) to `handle_receive(now, ..)`, and
//!    run commands (`allocate`, `create_permission`, `bind_channel`, `send_to`, ...).
//! 2. Drain `poll_transmit()` and put each on the wire.
//! 3. Drain `poll_event()`. For the server, act on [`ServerEvent::OpenRelay`] by binding the
//!    socket and calling [`Server::relay_opened`] (or [`Server::relay_failed`]), then drain
//!    transmits again; close sockets on [`ServerEvent::CloseRelay`].
//! 4. Sleep until `poll_timeout()` (or the next input), then call `handle_timeout(now)` and
//!    go to 2.
//!
//! ## Example: a client and a server on virtual time
//! ```
//! use std::time::Instant;
//! use tern_turn::{Client, ClientConfig, Event, Server, ServerConfig, ServerEvent, Transport};
//!
//! let server_addr: std::net::SocketAddr = "198.51.100.1:3478".parse().unwrap();
//! let client_addr: std::net::SocketAddr = "192.0.2.10:5000".parse().unwrap();
//! let now = Instant::now();
//! let mut server = Server::new(
//!     ServerConfig::new("example.org", server_addr.ip()).with_user("alice", "pw"),
//!     now,
//!     1_700_000_000,
//! );
//! let mut client = Client::new(ClientConfig::new(server_addr, "alice", "pw"));
//! client.allocate(now).unwrap();
//! let mut relayed = None;
//! for _ in 0..4 {
//!     while let Some(t) = client.poll_transmit() {
//!         let _ = server.handle_receive(now, Transport::Udp, client_addr, server_addr, &t.data);
//!     }
//!     while let Some(ServerEvent::OpenRelay { relay }) = server.poll_event() {
//!         server.relay_opened(now, relay); // a runner binds the UDP socket first
//!     }
//!     while let Some(t) = server.poll_transmit() {
//!         client.handle_receive(now, t.source, &t.data).unwrap();
//!     }
//!     while let Some(event) = client.poll_event() {
//!         if let Event::Allocated { relayed: r, .. } = event {
//!             relayed = Some(r);
//!         }
//!     }
//! }
//! assert_eq!(relayed.unwrap().ip(), server_addr.ip());
//! ```
//!
//! [RFC 8656]: https://www.rfc-editor.org/rfc/rfc8656

pub mod client;
pub mod config;
pub mod error;
pub mod policy;
#[cfg(feature = "server")]
pub mod runner;
pub mod server;
pub mod transport;
pub mod wire;

pub use client::{Client, Event, Transmit};
pub use config::{BandwidthLimit, ClientConfig, ServerConfig};
pub use error::{ChannelDataError, ClientError, FramingError, ServerError};
pub use policy::{DenyReason, IpNet, PeerPolicy, canonical_ip};
#[cfg(feature = "server")]
pub use runner::ServerRunner;
pub use server::{
    FiveTuple, Server, ServerEvent, ServerStats, Transmit as ServerTransmit, rest_password,
};
pub use tern_stun::PasswordAlgorithm;
pub use transport::Transport;
pub use wire::channel_data::ChannelData;
pub use wire::framing::StreamFramer;
