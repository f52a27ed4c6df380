//! # tern-srtp — SRTP and SRTCP for Tern
//!
//! Protects and unprotects RTP and RTCP packets in place, in the caller's buffers,
//! without allocating per packet. No I/O, no clock: a packet in, a packet out.
//!
//! ## Standards
//!
//! * RFC 3711 (SRTP): AES-CM encryption (§4.1.1), HMAC-SHA1 authentication (§4.2.1),
//!   key derivation with key_derivation_rate 0 (§4.3), rollover-counter estimation
//!   (§3.3.1, Appendix A), replay protection (§3.3.2), SRTCP with the E bit and a
//!   31-bit explicit index (§3.4). Not implemented: MKI (§3.1; WebRTC does not use it),
//!   a non-zero key derivation rate, the f8 mode (§4.1.2), the NULL cipher.
//! * RFC 5764 §4.1.2, §4.2: the DTLS-SRTP profile identifiers and the split of the
//!   exported keying material ([`keys_from_dtls_keying_material`]).
//! * RFC 6188: the AES-256 key derivation PRF (used by AEAD_AES_256_GCM).
//! * RFC 7714: AEAD_AES_128_GCM and AEAD_AES_256_GCM for SRTP (§8) and SRTCP (§9),
//!   including SRTCP packets with E = 0 on receive.
//! * Header extensions stay in the clear and are authenticated (RFC 3711 §3.1).
//!   RFC 6904 (encrypted header extensions) is not implemented.
//!
//! ## Run loop
//!
//! SRTP has no timers and emits nothing on its own; each call is one step:
//!
//! 1. After the DTLS handshake, split the exported keying material with
//!    [`keys_from_dtls_keying_material`] into local and remote [`SessionKeys`].
//! 2. Create one [`SrtpSession`] with the local keys (to protect) and one with the
//!    remote keys (to unprotect).
//! 3. For every outgoing RTP packet call [`SrtpSession::protect_rtp`] (or the `_in_place`,
//!    `_into` or `_batch` variants) and send the result; likewise `protect_rtcp`.
//! 4. For every incoming datagram whose first byte is 128–191 (RFC 7983) call
//!    `unprotect_rtp` or `unprotect_rtcp` (RTCP when the second byte is 192–223, RFC 5761 §4).
//!    An `Err` means: drop the packet. The session is unchanged by it.
//! 5. On a DTLS rekey, build new sessions; packet indices must never repeat under one key,
//!    so [`SrtpError::IndexExhausted`] also asks for a rekey.
//!
//! ## Example
//!
//! ```
//! use tern_srtp::{keys_from_dtls_keying_material, ProtectionProfile, SrtpConfig, SrtpSession};
//!
//! let profile = ProtectionProfile::Aes128CmHmacSha1_80;
//! let material = [7u8; 60]; // from DTLS: export_keying_material("EXTRACTOR-dtls_srtp", 60)
//! let (client_tx, _) = keys_from_dtls_keying_material(profile, &material, true)?;
//! let (_, server_rx) = keys_from_dtls_keying_material(profile, &material, false)?;
//!
//! let mut sender = SrtpSession::new(profile, &client_tx, SrtpConfig::default())?;
//! let mut receiver = SrtpSession::new(profile, &server_rx, SrtpConfig::default())?;
//!
//! let rtp = vec![0x80, 96, 0x12, 0x34, 0, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3];
//! let mut packet = rtp.clone();
//! sender.protect_rtp(&mut packet)?;
//! assert_eq!(packet.len(), rtp.len() + 10);
//! receiver.unprotect_rtp(&mut packet)?;
//! assert_eq!(packet, rtp);
//! // The same packet again is a replay.
//! let mut again = packet.clone();
//! sender.protect_rtp(&mut again)?;
//! assert!(receiver.unprotect_rtp(&mut again).is_err());
//! # Ok::<(), tern_srtp::SrtpError>(())
//! ```

mod config;
mod error;
mod hmac_sha1;
mod kdf;
mod profile;
mod replay;
mod session;
mod transform;
mod wire;

pub use config::{GcmBackend, MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW, SrtpConfig};
pub use error::SrtpError;
pub use profile::{ProtectionProfile, SessionKeys, keys_from_dtls_keying_material};
pub use session::SrtpSession;

#[cfg(test)]
mod vectors;
