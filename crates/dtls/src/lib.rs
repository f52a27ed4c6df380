//! # tern-dtls — sans-IO DTLS 1.2 and 1.3 for WebRTC
//!
//! A DTLS 1.2 ([RFC 6347]) and DTLS 1.3 ([RFC 9147], opt-in with `DtlsConfig::dtls13`) client and server endpoint with the profile WebRTC needs
//! ([RFC 8827] §6.5, [RFC 5763], [RFC 5764]). It owns no socket, thread or clock: time comes in
//! as `now: Instant` and datagrams go in and out as byte buffers.
//!
//! ## Implemented
//! - RFC 6347 (DTLS 1.2): record layer with epochs, 48-bit sequence numbers that never wrap,
//!   the 64-entry anti-replay window (§4.1.2.6) moved only by authenticated records; handshake
//!   message_seq, fragmentation to the configured MTU and reassembly of out-of-order,
//!   duplicated and overlapping fragments (§4.2.3) with bounded memory; flight retransmission
//!   with a 1 s timer doubling up to 60 s (§4.2.4); the stateless HMAC cookie exchange
//!   (HelloVerifyRequest, §4.2.1).
//! - RFC 5246 (TLS 1.2) handshake, PRF, alerts; RFC 8422 ECDHE_ECDSA with x25519 and secp256r1,
//!   ecdsa_secp256r1_sha256 signatures; RFC 5289 AES-GCM suites and RFC 7905 ChaCha20-Poly1305:
//!   `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`, `..._AES_256_GCM_SHA384`,
//!   `..._CHACHA20_POLY1305_SHA256`.
//! - RFC 7627 Extended Master Secret (required both ways), RFC 5746 renegotiation_info
//!   (renegotiation itself is refused with a `no_renegotiation` warning).
//! - RFC 5764 use_srtp (profiles 0x0001, 0x0002, 0x0007, 0x0008, MKI echoed) and the RFC 5705
//!   exporter for `EXTRACTOR-dtls_srtp`.
//! - RFC 8122 fingerprints (sha-1/256/384/512); self-signed ECDSA P-256 certificates. The
//!   endpoint reports `Connected` and exports keys only after the peer certificate matched an
//!   expected fingerprint and its CertificateVerify / ServerKeyExchange signature verified.
//!   ECDSA P-256 signing and verification, certificate key generation and ECDHE (x25519,
//!   P-256) run on ring (precomputed tables, assembly; measured in README.md), fed from this
//!   crate's seeded generator, signatures with a nonce derived from key and message, so seeded
//!   runs are reproducible. Record AEADs (AES-GCM, ChaCha20-Poly1305) run on ring too, keyed
//!   once per epoch, in place (measured in README.md).
//!
//! - RFC 9147 (DTLS 1.3) with `DtlsConfig::dtls13`: the RFC 8446 handshake (key schedule with
//!   the `dtls13` label prefix, §5.9) with TLS_AES_128_GCM_SHA256, x25519 / secp256r1 key shares,
//!   ecdsa_secp256r1_sha256 and mandatory client certificates; the unified header (§4, always
//!   16-bit sequence and length, no connection ID), record number encryption (§4.2.3),
//!   sequence number reconstruction and per-epoch replay windows (§4.2.2, §4.5.1); ACKs (§7) with
//!   retransmission of unacknowledged messages only; a stateless HelloRetryRequest carrying an
//!   HMAC cookie with the hash of the first ClientHello (§5.1), also used when the client's key
//!   share is not acceptable; KeyUpdate (§8) both ways; the RFC 8446 §7.5 exporter; version
//!   negotiation: a 1.3-capable endpoint speaks DTLS 1.2 to a 1.2-only peer, and a client that
//!   offered 1.3 rejects a 1.2 ServerHello carrying the RFC 8446 §4.1.3 downgrade marker.
//!
//! ## Not implemented
//! Session resumption and tickets, renegotiation, RSA certificates, PSK, compression, CBC suites,
//! DTLS 1.0. In DTLS 1.3: PSK and 0-RTT, connection IDs (§9), other suites than
//! TLS_AES_128_GCM_SHA256, X25519MLKEM768, post-handshake authentication, the receive-side
//! integrity limit of §4.5.3 (the send side starts a KeyUpdate by itself every
//! `key_update_interval` records, 2^23 by default), ACKs for partial flights from the client
//! side (§7.1 SHOULD; retransmission timers recover instead). With `dtls13` off (the default) a
//! ClientHello offering DTLS 1.3 gets a DTLS 1.2 answer.
//!
//! ## Run loop
//! 1. Create the endpoint with [`DtlsEndpoint::new`] (a client queues its ClientHello).
//! 2. Feed every datagram demultiplexed to DTLS (first byte 20..=63, RFC 7983) to
//!    [`DtlsEndpoint::handle_receive`]; an `Err` names a rejected record and changed nothing.
//! 3. After every input or command drain [`DtlsEndpoint::poll_transmit`] (datagrams to send),
//!    then [`DtlsEndpoint::poll_event`].
//! 4. Call [`DtlsEndpoint::handle_timeout`] when [`DtlsEndpoint::poll_timeout`] is reached
//!    (flight retransmission), then drain again.
//! 5. On [`DtlsEvent::Connected`], call `export_keying_material("EXTRACTOR-dtls_srtp", ..)` for
//!    SRTP and use [`DtlsEndpoint::send_application_data`] for SCTP.
//! 6. [`DtlsEndpoint::close`] sends close_notify.
//! 7. DTLS 1.3 only: [`DtlsEndpoint::update_keys`] sends a KeyUpdate; the write epoch advances
//!    when the peer acknowledges it. [`DtlsEndpoint::is_dtls13`] tells which version won.
//!
//! ## Example
//! ```
//! use std::time::Instant;
//! use tern_dtls::{Certificate, DtlsConfig, DtlsEndpoint, DtlsEvent, DtlsRole, HashAlgorithm};
//!
//! let now = Instant::now();
//! let (ca, cb) = (Certificate::generate()?, Certificate::generate()?);
//! let mut a_cfg = DtlsConfig::new(DtlsRole::Client, ca.clone());
//! a_cfg.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256)];
//! let mut b_cfg = DtlsConfig::new(DtlsRole::Server, cb);
//! b_cfg.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256)];
//! let mut a = DtlsEndpoint::new(a_cfg, now)?;
//! let mut b = DtlsEndpoint::new(b_cfg, now)?;
//! for _ in 0..10 {
//!     while let Some(d) = a.poll_transmit() { let _ = b.handle_receive(now, &d); }
//!     while let Some(d) = b.poll_transmit() { let _ = a.handle_receive(now, &d); }
//! }
//! assert!(a.is_connected() && b.is_connected());
//! assert_eq!(a.poll_event(), Some(DtlsEvent::Connected));
//! let ka = a.export_keying_material("EXTRACTOR-dtls_srtp", 60)?;
//! assert_eq!(ka, b.export_keying_material("EXTRACTOR-dtls_srtp", 60)?);
//! # Ok::<(), tern_dtls::DtlsError>(())
//! ```
//!
//! [RFC 6347]: https://www.rfc-editor.org/rfc/rfc6347
//! [RFC 9147]: https://www.rfc-editor.org/rfc/rfc9147
//! [RFC 8827]: https://www.rfc-editor.org/rfc/rfc8827
//! [RFC 5763]: https://www.rfc-editor.org/rfc/rfc5763
//! [RFC 5764]: https://www.rfc-editor.org/rfc/rfc5764

#![forbid(unsafe_code)]

mod certificate;
mod config;
mod crypto;
mod endpoint;
mod error;
mod reassembly;
mod replay;
pub mod wire;

pub use certificate::{Certificate, Fingerprint, HashAlgorithm};
pub use config::{DtlsConfig, DtlsRole, Fault, SrtpProtectionProfile};
pub use crypto::{CipherSuite, NamedGroup};
pub use endpoint::{DtlsEndpoint, DtlsEvent, DtlsState};
pub use error::DtlsError;
pub use reassembly::{HandshakeMessage, Inserted, Reassembler};
pub use replay::ReplayWindow;
pub use wire::alert::{Alert, AlertDescription, AlertLevel};
