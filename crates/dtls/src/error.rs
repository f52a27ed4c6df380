//! Errors of the DTLS endpoint and its codecs.

use thiserror::Error;

use crate::wire::alert::AlertDescription;

/// Everything that can go wrong in `tern-dtls`.
///
/// Decode errors carry the byte offset or the field that was wrong; handshake errors name the
/// protocol fault. The type is `Copy` so that rejecting a datagram costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DtlsError {
    // ---- decoding -------------------------------------------------------------------------
    /// A record header or body ends before its length says.
    #[error("truncated record at byte {at}")]
    TruncatedRecord {
        /// Offset in the datagram where the record starts.
        at: usize,
    },
    /// The record's version field is not DTLS 1.0 or 1.2.
    #[error("unsupported record version {version:#06x}")]
    UnsupportedRecordVersion {
        /// The version found on the wire.
        version: u16,
    },
    /// The record's content type is not one DTLS 1.2 defines.
    #[error("unknown record content type {content_type}")]
    UnknownContentType {
        /// The content type found on the wire.
        content_type: u8,
    },
    /// The record is longer than 2^14 + 2048 bytes (RFC 6347 §4.1).
    #[error("record of {len} bytes is over the limit")]
    RecordTooLarge {
        /// Length field of the record.
        len: usize,
    },
    /// A handshake message or fragment ends before its length says.
    #[error("truncated handshake message at byte {at}")]
    TruncatedHandshake {
        /// Offset of the fault inside the handshake body.
        at: usize,
    },
    /// A handshake fragment header is inconsistent (zero length, past the message end).
    #[error(
        "bad handshake fragment: offset {offset} + length {length} > message length {message_length}"
    )]
    BadFragment {
        /// fragment_offset.
        offset: u32,
        /// fragment_length.
        length: u32,
        /// length of the whole message.
        message_length: u32,
    },
    /// A handshake message is larger than the configured maximum.
    #[error("handshake message of {len} bytes exceeds the maximum of {max}")]
    HandshakeMessageTooLarge {
        /// Declared length.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A fragment overlaps bytes already received for the same message with different content.
    #[error("overlapping handshake fragments disagree")]
    ConflictingFragment,
    /// A handshake message body does not parse.
    #[error("malformed {message} at byte {at}")]
    MalformedHandshake {
        /// Which message.
        message: &'static str,
        /// Offset inside the body.
        at: usize,
    },
    /// An extension body does not parse.
    #[error("malformed extension {extension_type:#06x}")]
    MalformedExtension {
        /// The extension's type code.
        extension_type: u16,
    },
    /// An alert record is not exactly two bytes or has an unknown level.
    #[error("malformed alert")]
    MalformedAlert,
    /// A ChangeCipherSpec record is not the single byte 1.
    #[error("malformed ChangeCipherSpec")]
    MalformedChangeCipherSpec,
    /// A fingerprint string from SDP does not parse.
    #[error("malformed fingerprint")]
    MalformedFingerprint,
    /// The hash algorithm of a fingerprint is not sha-1/224/256/384/512.
    #[error("unsupported fingerprint hash algorithm")]
    UnsupportedFingerprintAlgorithm,

    // ---- records --------------------------------------------------------------------------
    /// A protected record failed authentication.
    #[error("record authentication failed")]
    BadRecordMac,
    /// The record was already received (replay window).
    #[error("duplicate or too old record (replay window)")]
    ReplayedRecord,
    /// A record for an epoch we have no keys for.
    #[error("record for epoch {epoch} that has no keys")]
    UnexpectedEpoch {
        /// Epoch in the record header.
        epoch: u16,
    },
    /// Record or message not acceptable in the current state (dropped).
    #[error("unexpected {what} in state {state}")]
    UnexpectedMessage {
        /// What arrived.
        what: &'static str,
        /// The state it arrived in.
        state: &'static str,
    },
    /// The write sequence number of the epoch is exhausted; it never wraps (RFC 6347 §4.1).
    #[error("record sequence number exhausted in this epoch")]
    SequenceNumberExhausted,
    /// Too many records or messages buffered for later.
    #[error("buffer for early records or messages is full")]
    BufferFull,

    // ---- handshake ------------------------------------------------------------------------
    /// No cipher suite, group, signature scheme or version in common.
    #[error("no common {what} with the peer")]
    NoCommonParameters {
        /// What could not be agreed.
        what: &'static str,
    },
    /// The peer did not offer or accept the Extended Master Secret extension (RFC 7627).
    #[error("peer does not support the extended master secret")]
    ExtendedMasterSecretMissing,
    /// The peer chose something we did not offer.
    #[error("peer selected {what} that was not offered")]
    IllegalParameter {
        /// What was chosen.
        what: &'static str,
    },
    /// The peer's certificate cannot be parsed or uses an unsupported key.
    #[error("peer certificate is unusable: {reason}")]
    BadCertificate {
        /// Why.
        reason: &'static str,
    },
    /// The peer sent no certificate (WebRTC requires mutual authentication).
    #[error("peer sent no certificate")]
    NoPeerCertificate,
    /// The peer certificate's fingerprint matches none of the expected fingerprints.
    #[error("peer certificate fingerprint does not match")]
    FingerprintMismatch,
    /// A signature (ServerKeyExchange or CertificateVerify) did not verify.
    #[error("{message} signature does not verify")]
    BadSignature {
        /// Which message carried it.
        message: &'static str,
    },
    /// The ECDHE public key of the peer is invalid.
    #[error("invalid ECDHE public key")]
    BadKeyShare,
    /// The peer's Finished verify_data is wrong.
    #[error("Finished verify_data mismatch")]
    BadFinished,
    /// A HelloVerifyRequest cookie failed verification.
    #[error("invalid cookie")]
    BadCookie,
    /// The handshake timed out after the maximum number of retransmissions.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// The peer sent a fatal alert.
    #[error("peer sent fatal alert {0:?}")]
    PeerAlert(AlertDescription),
    /// The peer asked for renegotiation, which is refused (RFC 8827 §6.5... WebRTC never renegotiates).
    #[error("renegotiation refused")]
    RenegotiationRefused,

    // ---- application ----------------------------------------------------------------------
    /// The handshake is not complete (or the fingerprint has not been checked yet).
    #[error("not connected")]
    NotConnected,
    /// The connection is closed or failed.
    #[error("connection closed")]
    Closed,
    /// Application data larger than one record (2^14 bytes).
    #[error("application data of {len} bytes is larger than one record")]
    ApplicationDataTooLarge {
        /// Length asked for.
        len: usize,
    },
    /// Keying material export with a bad label or length.
    #[error("invalid keying material export request")]
    InvalidExport,
    /// The configuration is invalid.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// Why.
        reason: &'static str,
    },
    /// Certificate generation or key handling failed.
    #[error("certificate generation failed")]
    CertificateGeneration,
    /// A DTLS 1.3 ACK record is malformed (RFC 9147 §7).
    #[error("malformed ACK")]
    MalformedAck,
    /// A DTLS 1.3 record carries a connection ID, which this endpoint never negotiates.
    #[error("record with a connection ID")]
    ConnectionIdNotSupported,
    /// A KeyUpdate is already waiting for its ACK (RFC 9147 §8).
    #[error("a KeyUpdate is still unacknowledged")]
    KeyUpdatePending,
    /// A DTLS 1.3-capable peer's ServerHello random carries the downgrade marker
    /// (RFC 8446 §4.1.3) while DTLS 1.2 was negotiated.
    #[error("downgrade to DTLS 1.2 detected")]
    DowngradeDetected,
    /// The operation exists only in DTLS 1.3 (KeyUpdate) and DTLS 1.2 was negotiated.
    #[error("not a DTLS 1.3 connection")]
    NotDtls13,
    /// An internal crypto operation failed (should not happen with valid keys).
    #[error("internal crypto failure")]
    Crypto,
}
