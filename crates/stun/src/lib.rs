//! # tern-stun: STUN for Tern (sans-IO)
//!
//! Session Traversal Utilities for NAT, [RFC 8489], as a zero-copy codec plus the small state
//! machines that use it. No sockets, no clocks: time comes in as `now: Instant`.
//!
//! ## Implemented
//! - RFC 8489 §5–§6 message structure: header, class/method, magic cookie, transaction id;
//!   §14 all attributes (MAPPED-ADDRESS, XOR-MAPPED-ADDRESS, USERNAME, USERHASH,
//!   MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT, ERROR-CODE, REALM, NONCE,
//!   PASSWORD-ALGORITHMS, PASSWORD-ALGORITHM, UNKNOWN-ATTRIBUTES, SOFTWARE, ALTERNATE-SERVER,
//!   ALTERNATE-DOMAIN); unknown attributes are kept and readable raw, and comprehension-required
//!   ones can be listed for a 420 response.
//! - RFC 8445 §16.1 ICE attributes: PRIORITY, USE-CANDIDATE, ICE-CONTROLLED, ICE-CONTROLLING.
//! - The [`Attribute`] trait and the exported XOR address codec
//!   ([`wire::address::encode_xor_address`]) through which TURN (RFC 8656) adds its attributes.
//! - RFC 8489 §9.1 short-term and §9.2 long-term credentials (MD5 and SHA-256 password
//!   algorithms), constant-time integrity checks, with the keyed HMAC state cached per
//!   credential ([`IntegrityKey`]).
//! - RFC 7983 §7 demultiplexing: [`is_stun`].
//! - RFC 8489 §9.2.4/§9.2.5 long-term credential client ([`LongTermCredentials`]) and server
//!   ([`LongTermAuthenticator`]): 401/438 challenges, stateless expiring nonces with the nonce
//!   cookie and security feature bits, PASSWORD-ALGORITHMS bid-down protection, USERHASH.
//! - RFC 8489 §6.2 client transactions ([`ClientTransaction`], [`StunClient`]): RTO 500 ms
//!   doubling, Rc = 7, Rm = 16 over UDP; Ti = 39.5 s over reliable transports.
//! - RFC 8489 §6.3 a stateless binding server ([`BindingServer`]) with 420 for unknown
//!   comprehension-required attributes.
//!
//! ## Run loop (client transactions, binding server)
//! 1. Encode a request, hand it to [`StunClient::send_request`].
//! 2. Drain [`StunClient::poll_transmit`] and send each datagram.
//! 3. Feed received datagrams to [`StunClient::handle_receive`] and timer expiries to
//!    [`StunClient::handle_timeout`]; arm a timer at [`StunClient::poll_timeout`].
//! 4. Read finished transactions (response or timeout) from [`StunClient::poll_event`].
//! 5. A server feeds datagrams to [`BindingServer::handle_receive`] and sends what
//!    [`BindingServer::poll_transmit`] returns (it has no timers).
//!
//! Not implemented: SASLprep/OpaqueString string preparation (strings are used as given),
//! DNS discovery of servers (§8), STUN over TCP/TLS framing (the message codec works on any
//! transport; stream reassembly is the caller's).
//!
//! ## Example
//! ```
//! use tern_stun::{is_stun, IntegrityKey, Message, MessageEncoder, MessageType, TransactionId};
//! use tern_stun::attributes::XorMappedAddress;
//!
//! let key = IntegrityKey::short_term("secret");
//! let mut buf = Vec::new();
//! let mut enc = MessageEncoder::new(&mut buf, MessageType::BINDING_SUCCESS, TransactionId([9; 12]));
//! enc.add(&XorMappedAddress("192.0.2.1:3478".parse().unwrap())).unwrap();
//! enc.add_message_integrity(&key).unwrap();
//! enc.add_fingerprint().unwrap();
//!
//! assert!(is_stun(&buf));
//! let msg = Message::decode(&buf).unwrap();
//! msg.verify_integrity(&key).unwrap();
//! let XorMappedAddress(addr) = msg.get::<XorMappedAddress>().unwrap().unwrap();
//! assert_eq!(addr.port(), 3478);
//! ```
//!
//! [RFC 8489]: https://www.rfc-editor.org/rfc/rfc8489

pub mod credentials;
pub mod error;
pub mod integrity;
pub mod server;
pub mod transaction;
pub mod wire;

pub use credentials::{
    AuthError, Authenticated, Challenge, LongTermAuthenticator, LongTermCredentials,
    SecurityFeatures,
};
pub use error::{DecodeError, EncodeError, IntegrityError};
pub use integrity::{IntegrityKey, fingerprint, long_term_key, userhash};
pub use server::{BindingServer, BindingServerConfig, Handled, ServerTransmit};
pub use transaction::{
    ClientError, ClientEvent, ClientTransaction, Reliability, StunClient, TransactionConfig,
    TransactionOutcome, Transmit,
};
pub use wire::attributes::{self as attributes, Attribute, PasswordAlgorithm, RawAttribute};
pub use wire::encoder::MessageEncoder;
pub use wire::header::{
    Class, HEADER_LEN, MAGIC_COOKIE, MessageType, Method, TransactionId, is_stun,
};
pub use wire::message::{Attributes, Message};
