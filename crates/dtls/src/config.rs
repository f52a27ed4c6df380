//! Endpoint configuration.

use std::time::Duration;

use crate::certificate::{Certificate, Fingerprint};
use crate::crypto::{CipherSuite, NamedGroup};
use crate::error::DtlsError;

/// Which side of the handshake this endpoint plays (RFC 5763 `a=setup` decides it in WebRTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// Sends the ClientHello.
    Client,
    /// Answers it.
    Server,
}

/// SRTP protection profiles of the use_srtp extension (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProtectionProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (0x0001).
    Aes128CmHmacSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 (0x0002).
    Aes128CmHmacSha1_32,
    /// SRTP_AEAD_AES_128_GCM (0x0007).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (0x0008).
    AeadAes256Gcm,
}

impl SrtpProtectionProfile {
    /// Wire id.
    pub fn id(self) -> u16 {
        match self {
            SrtpProtectionProfile::Aes128CmHmacSha1_80 => 0x0001,
            SrtpProtectionProfile::Aes128CmHmacSha1_32 => 0x0002,
            SrtpProtectionProfile::AeadAes128Gcm => 0x0007,
            SrtpProtectionProfile::AeadAes256Gcm => 0x0008,
        }
    }

    /// From the wire id.
    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            0x0001 => Some(SrtpProtectionProfile::Aes128CmHmacSha1_80),
            0x0002 => Some(SrtpProtectionProfile::Aes128CmHmacSha1_32),
            0x0007 => Some(SrtpProtectionProfile::AeadAes128Gcm),
            0x0008 => Some(SrtpProtectionProfile::AeadAes256Gcm),
            _ => None,
        }
    }

    /// SRTP master key length.
    pub fn master_key_len(self) -> usize {
        match self {
            SrtpProtectionProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// SRTP master salt length.
    pub fn master_salt_len(self) -> usize {
        match self {
            SrtpProtectionProfile::AeadAes128Gcm | SrtpProtectionProfile::AeadAes256Gcm => 12,
            _ => 14,
        }
    }

    /// Length to ask `export_keying_material("EXTRACTOR-dtls_srtp", ..)` for (RFC 5764 §4.2):
    /// client key, server key, client salt, server salt.
    pub fn keying_material_len(self) -> usize {
        2 * (self.master_key_len() + self.master_salt_len())
    }
}

/// Deliberate protocol violations, for negative tests of a peer (BAD_INPUT row 21).
#[doc(hidden)]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fault {
    /// Client: send Certificate but no CertificateVerify.
    OmitCertificateVerify,
    /// Client: sign CertificateVerify with this other key.
    SignCertificateVerifyWith(Certificate),
}

/// Configuration of one [`DtlsEndpoint`](crate::DtlsEndpoint).
#[derive(Debug, Clone)]
pub struct DtlsConfig {
    /// Client or server.
    pub role: DtlsRole,
    /// Our certificate and key.
    pub certificate: Certificate,
    /// Fingerprints the peer's certificate must match (one is enough). May be empty at
    /// construction and given later with `set_remote_fingerprints`; the endpoint does not report
    /// `Connected` before a match.
    pub remote_fingerprints: Vec<Fingerprint>,
    /// SRTP profiles in preference order; empty means no use_srtp extension.
    pub srtp_profiles: Vec<SrtpProtectionProfile>,
    /// Largest datagram we send (flights are fragmented to fit). Default 1200.
    pub mtu: usize,
    /// Server: answer a ClientHello without a valid cookie with a HelloVerifyRequest.
    pub cookie_exchange: bool,
    /// Cipher suites in preference order.
    pub cipher_suites: Vec<CipherSuite>,
    /// ECDHE groups in preference order.
    pub named_groups: Vec<NamedGroup>,
    /// Seed for all randomness of this endpoint (randoms, ephemeral keys, cookie secret).
    /// `None` seeds from the OS.
    pub rng_seed: Option<[u8; 32]>,
    /// First retransmission timeout (RFC 6347 §4.2.4.1: 1 s).
    pub initial_retransmit_timeout: Duration,
    /// Cap of the doubling retransmission timeout (RFC 6347 §4.2.4.1: 60 s).
    pub max_retransmit_timeout: Duration,
    /// Retransmissions of one flight before the handshake fails.
    pub max_retransmissions: u32,
    /// Largest handshake message accepted.
    pub max_handshake_message_size: usize,
    /// Largest number of handshake messages or early records buffered.
    pub max_buffered_messages: usize,
    /// Largest number of bytes of handshake messages buffered (records of the next epoch that
    /// arrive before its keys get a quarter of this).
    pub max_buffered_bytes: usize,
    /// How long a HelloVerifyRequest cookie stays valid (between one and two of these).
    pub cookie_lifetime: Duration,
    /// Offer (client) and accept (server) DTLS 1.3 (RFC 9147) with TLS_AES_128_GCM_SHA256;
    /// DTLS 1.2 stays available for peers without it. Default `false`.
    pub dtls13: bool,
    /// DTLS 1.3: records sent under one key before a KeyUpdate starts by itself (RFC 9147
    /// §4.5.3 puts AES-GCM's limit at 2^24.5 full-size records). Default 2^23; 1..=2^24.
    pub key_update_interval: u64,
    /// Test-only misbehaviour; always `None` outside tests.
    #[doc(hidden)]
    pub fault: Option<Fault>,
}

impl DtlsConfig {
    /// Defaults for WebRTC: all suites, x25519 then P-256, MTU 1200, no cookie exchange,
    /// SRTP profiles AEAD_AES_128_GCM, AES128_CM_HMAC_SHA1_80, AEAD_AES_256_GCM,
    /// AES128_CM_HMAC_SHA1_32.
    pub fn new(role: DtlsRole, certificate: Certificate) -> Self {
        DtlsConfig {
            role,
            certificate,
            remote_fingerprints: Vec::new(),
            srtp_profiles: vec![
                SrtpProtectionProfile::AeadAes128Gcm,
                SrtpProtectionProfile::Aes128CmHmacSha1_80,
                SrtpProtectionProfile::AeadAes256Gcm,
                SrtpProtectionProfile::Aes128CmHmacSha1_32,
            ],
            mtu: 1200,
            cookie_exchange: false,
            cipher_suites: CipherSuite::ALL.to_vec(),
            named_groups: vec![NamedGroup::X25519, NamedGroup::Secp256r1],
            rng_seed: None,
            initial_retransmit_timeout: Duration::from_secs(1),
            max_retransmit_timeout: Duration::from_secs(60),
            max_retransmissions: 10,
            max_handshake_message_size: 32 * 1024,
            max_buffered_messages: 16,
            max_buffered_bytes: 64 * 1024,
            cookie_lifetime: Duration::from_secs(60),
            dtls13: false,
            key_update_interval: 1 << 23,
            fault: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), DtlsError> {
        if self.mtu < 200 || self.mtu > 65_507 {
            return Err(DtlsError::InvalidConfig {
                reason: "mtu must be in 200..=65507",
            });
        }
        if self.cipher_suites.is_empty() {
            return Err(DtlsError::InvalidConfig {
                reason: "no cipher suite",
            });
        }
        if self.named_groups.is_empty() {
            return Err(DtlsError::InvalidConfig {
                reason: "no named group",
            });
        }
        if self.initial_retransmit_timeout.is_zero()
            || self.max_retransmit_timeout < self.initial_retransmit_timeout
        {
            return Err(DtlsError::InvalidConfig {
                reason: "retransmit timeouts",
            });
        }
        if self.max_handshake_message_size < 1024 || self.max_handshake_message_size > 0x00ff_ffff {
            return Err(DtlsError::InvalidConfig {
                reason: "max_handshake_message_size",
            });
        }
        if self.max_buffered_messages == 0
            || self.max_buffered_bytes < self.max_handshake_message_size
        {
            return Err(DtlsError::InvalidConfig {
                reason: "buffer limits",
            });
        }
        if self.key_update_interval == 0 || self.key_update_interval > 1 << 24 {
            return Err(DtlsError::InvalidConfig {
                reason: "key_update_interval must be in 1..=2^24",
            });
        }
        if self.cookie_lifetime.is_zero() {
            return Err(DtlsError::InvalidConfig {
                reason: "cookie_lifetime",
            });
        }
        Ok(())
    }
}
