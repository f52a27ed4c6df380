//! Sans-IO SCTP for WebRTC data channels.
//!
//! `tern-sctp` consumes and produces SCTP packets — the bytes carried inside DTLS application
//! data records (RFC 8261) — and knows nothing of DTLS, UDP, sockets or clocks.
//!
//! # RFCs
//!
//! - RFC 9260 (SCTP): common header and CRC32c (§3, §6.8), all chunk types (§3.3), the
//!   handshake with a stateless HMAC-SHA256 State Cookie (§5.1, §5.1.3, §5.1.5), INIT
//!   collision (§5.2.1–§5.2.4, cases B and D), verification-tag rules (§8.5, §8.5.1),
//!   out-of-the-blue packets (§8.4), DATA/SACK with gap blocks and duplicate TSNs (§6.2),
//!   delayed SACK (§6.2), RTO (§6.3), T1/T2/T3 timers, fragmentation and reassembly (§6.9),
//!   ordered and unordered delivery (§6.5, §6.6), bundling (§6.10), congestion control (§7.2:
//!   slow start, congestion avoidance, fast retransmit and fast recovery), flow control
//!   (§6.1), heartbeats (§8.3), SHUTDOWN (§9.2) and ABORT (§9.1).
//!   Not implemented: multi-homing and path management (WebRTC uses one path), association
//!   restart (§5.2.4 case A: such COOKIE-ECHOs are discarded; a retransmitted INIT of the
//!   live association is answered with the same tags), ECN, AUTH (RFC 4895), reneging of
//!   gap-acked data (peers do not renege in practice; we never do), and the Invalid Stream
//!   Identifier error for incoming data (we accept any of the 65535 streams we announce;
//!   our own channel ids stay below the peer's inbound stream count).
//! - RFC 3758 (PR-SCTP): FORWARD-TSN, abandonment by retransmission count or lifetime; a
//!   duplicate FORWARD-TSN waits one RTT unless T3 expires (§3.5 F2 implementation note);
//!   one that does not fit the packet covers fewer TSNs (§3.5 C4).
//! - RFC 6525 (stream reset): Outgoing SSN Reset Request and Response, deferred resets
//!   ("In progress") until the cumulative TSN reaches the sender's last TSN; a request
//!   answered "In progress" is retransmitted with the same sequence number (§5.2.7). We
//!   send a request once the peer has acked everything we sent (or after four RTOs if more
//!   data follows), because usrsctp finishes deferred resets only when later DATA arrives.
//!   Other request types (incoming reset, SSN/TSN reset, add streams) are answered
//!   "Denied".
//! - RFC 8260 (I-DATA, I-FORWARD-TSN): negotiated when both sides announce it; streams are
//!   then interleaved per fragment, so a large message does not block small ones.
//! - RFC 9653 (zero checksum): we announce EDMID 1 (DTLS); we send checksum 0 once the peer
//!   announced it too and the association is established.
//! - RFC 8831 / RFC 8832 (data channels, DCEP): OPEN/ACK, stream parity by DTLS role,
//!   negotiated channels, channel types, PPIDs 50/51/53/56/57, close by stream reset.
//!
//! # Memory bounds
//!
//! No state is kept before a valid COOKIE-ECHO; at most 16 prebuilt control packets wait
//! for `poll_transmit`. Reassembly, undelivered ordered messages and undrained `Message`
//! events together stay within the receive window (each stored chunk is charged 64 bytes on
//! top of its payload); a peer that fills the window with messages that never complete is
//! aborted with "Out of Resource". Outgoing data is bounded by `send_buffer_limit`.
//!
//! # Run loop
//!
//! 1. `Association::new(config, now)`; in WebRTC both sides call `connect(now)` once DTLS is up.
//! 2. Feed every SCTP packet from DTLS to `handle_receive(now, bytes)`.
//! 3. After every input or command, drain `poll_transmit()` (hand each packet to DTLS), then
//!    `poll_event()`.
//! 4. Call `handle_timeout(now)` when `poll_timeout()` is reached, then drain again.
//! 5. Commands — `open_channel`, `send`, `close_channel`, `shutdown`, `abort` — may be given
//!    at any time; data queued before `Connected` is sent once the association is up.
//!
//! # Example
//!
//! ```
//! use std::time::Instant;
//! use tern_sctp::{Association, ChannelInit, MessageKind, SctpConfig, SctpEvent, StreamParity};
//!
//! let now = Instant::now();
//! let mut a = Association::new(SctpConfig { seed: Some([1; 32]), ..SctpConfig::default() }, now);
//! let mut b = Association::new(
//!     SctpConfig { seed: Some([2; 32]), stream_parity: StreamParity::Odd, ..SctpConfig::default() },
//!     now,
//! );
//! a.connect(now);
//! b.connect(now);
//! let id = a.open_channel(now, ChannelInit { label: "chat".into(), ..ChannelInit::default() }).unwrap();
//! a.send(now, id, b"hello", MessageKind::Text).unwrap();
//! let mut got = None;
//! for _ in 0..10 {
//!     while let Some(p) = a.poll_transmit() { let _ = b.handle_receive(now, &p); }
//!     while let Some(p) = b.poll_transmit() { let _ = a.handle_receive(now, &p); }
//!     while let Some(e) = b.poll_event() {
//!         if let SctpEvent::Message { data, .. } = e { got = Some(data); }
//!     }
//! }
//! assert_eq!(got.as_deref(), Some(&b"hello"[..]));
//! ```

mod association;
pub mod config;
pub mod cookie;
pub mod dcep;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod wire;

pub use association::{Association, ChannelId, CloseReason, MessageKind, SctpEvent};
pub use config::{SctpConfig, StreamParity};
pub use dcep::{ChannelInit, Reliability};
pub use error::{DcepError, ParseError, SctpError};
