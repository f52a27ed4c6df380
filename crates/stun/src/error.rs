//! Errors of the STUN codec, the credential checks and the transaction machinery.

/// Why a datagram is not a well-formed STUN message (RFC 8489 §5, §14).
///
/// Cheap and `Copy`: decoding never allocates, not even to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer than the 20 header bytes.
    #[error("truncated STUN header: {len} bytes, need 20")]
    TruncatedHeader {
        /// Bytes available.
        len: usize,
    },
    /// The two most significant bits of the message type are not zero.
    #[error("the top two bits of the message type are not zero")]
    TopBitsSet,
    /// The magic cookie is not 0x2112A442.
    #[error("bad magic cookie {found:#010x}")]
    BadMagicCookie {
        /// The value found.
        found: u32,
    },
    /// The message length is not a multiple of four.
    #[error("message length {length} is not a multiple of 4")]
    UnalignedLength {
        /// The declared length.
        length: u16,
    },
    /// The length field disagrees with the datagram size.
    #[error("message length {declared} does not match the {available} bytes after the header")]
    LengthMismatch {
        /// Length declared in the header.
        declared: usize,
        /// Bytes present after the header.
        available: usize,
    },
    /// An attribute header or value runs past the end of the message.
    #[error("attribute at offset {at} runs past the end of the message")]
    TruncatedAttribute {
        /// Offset of the attribute header in the message.
        at: usize,
    },
    /// FINGERPRINT is not the last attribute.
    #[error("FINGERPRINT at offset {at} is not the last attribute")]
    FingerprintNotLast {
        /// Offset of the FINGERPRINT attribute.
        at: usize,
    },
    /// FINGERPRINT does not match the message (so the datagram is not STUN).
    #[error("FINGERPRINT does not match the message")]
    BadFingerprint,
    /// More attributes than this decoder keeps track of.
    #[error("more than {max} attributes")]
    TooManyAttributes {
        /// The limit.
        max: usize,
    },
    /// A known attribute's value has the wrong size or content.
    #[error("attribute {attribute:#06x} has an invalid value")]
    InvalidAttribute {
        /// The attribute type.
        attribute: u16,
    },
    /// A text attribute is not valid UTF-8.
    #[error("attribute {attribute:#06x} is not valid UTF-8")]
    InvalidUtf8 {
        /// The attribute type.
        attribute: u16,
    },
    /// A text attribute is longer than RFC 8489 allows.
    #[error("attribute {attribute:#06x} is {len} bytes, more than the {max} allowed")]
    AttributeTooLong {
        /// The attribute type.
        attribute: u16,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An address attribute names an address family other than IPv4 (1) or IPv6 (2).
    #[error("attribute {attribute:#06x} has unknown address family {family}")]
    UnknownAddressFamily {
        /// The attribute type.
        attribute: u16,
        /// The family byte.
        family: u8,
    },
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// An attribute value is longer than 65,535 bytes.
    #[error("attribute {attribute:#06x} value of {len} bytes does not fit a 16-bit length")]
    AttributeTooLong {
        /// The attribute type.
        attribute: u16,
        /// The value length.
        len: usize,
    },
    /// The whole message would exceed the 16-bit length field.
    #[error("message body would be {len} bytes, more than 65,532")]
    MessageTooLong {
        /// The body length it would have.
        len: usize,
    },
    /// A text value is longer than RFC 8489 allows for that attribute.
    #[error("attribute {attribute:#06x} value exceeds its {max}-byte limit")]
    ValueTooLong {
        /// The attribute type.
        attribute: u16,
        /// The limit.
        max: usize,
    },
    /// An ERROR-CODE outside 300..=699.
    #[error("error code {code} is outside 300..=699")]
    InvalidErrorCode {
        /// The code given.
        code: u16,
    },
}

/// Why a MESSAGE-INTEGRITY(-SHA256) check failed (RFC 8489 §14.5, §14.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The message carries no integrity attribute of the kind asked for.
    #[error("the message has no MESSAGE-INTEGRITY attribute")]
    Missing,
    /// The attribute is shorter or longer than the HMAC allows.
    #[error("the MESSAGE-INTEGRITY attribute has an invalid length {len}")]
    InvalidLength {
        /// Its length.
        len: usize,
    },
    /// The HMAC does not match (compared in constant time).
    #[error("MESSAGE-INTEGRITY does not match")]
    Mismatch,
}
