//! The one error type of this crate.

/// Why a packet, a key or a configuration was refused.
///
/// Every `Err` leaves the session exactly as it was: no replay window, rollover counter,
/// SRTCP index or per-SSRC context moves unless the packet was accepted.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    /// The authentication tag (HMAC-SHA1 or the GCM tag) did not verify.
    #[error("authentication failed")]
    AuthFail,
    /// The packet is shorter than the smallest packet the operation accepts.
    #[error("packet of {len} bytes is shorter than the minimum of {min}")]
    TooShort {
        /// Length of the packet (or of its authenticated part).
        len: usize,
        /// The minimum for this operation and profile.
        min: usize,
    },
    /// The RTP/RTCP version field is not 2.
    #[error("version {version} is not 2")]
    BadVersion {
        /// The version found in the first two bits.
        version: u8,
    },
    /// The CSRC list announced by the CC field runs past the end of the packet.
    #[error("{count} CSRCs run past the end of a {len}-byte packet")]
    CsrcPastEnd {
        /// The CSRC count.
        count: u8,
        /// Length of the packet (without any tag).
        len: usize,
    },
    /// The header extension announced by the X bit runs past the end of the packet.
    #[error("header extension ending at {end} runs past the end of a {len}-byte packet")]
    ExtensionPastEnd {
        /// Where the extension (or its 4-byte header) would end.
        end: usize,
        /// Length of the packet (without any tag).
        len: usize,
    },
    /// The P bit is set but the padding count is 0 or larger than the payload.
    #[error("padding count {count} is invalid for a {payload_len}-byte payload")]
    InvalidPadding {
        /// The padding count (last payload byte).
        count: u8,
        /// The payload length, padding included.
        payload_len: usize,
    },
    /// The packet index was already received (RFC 3711 §3.3.2).
    #[error("packet index {index} was already received")]
    Replayed {
        /// The 48-bit SRTP or 31-bit SRTCP index.
        index: u64,
    },
    /// The packet index lies behind the replay window (RFC 3711 §3.3.2).
    #[error("packet index {index} is older than the replay window")]
    TooOld {
        /// The 48-bit SRTP or 31-bit SRTCP index (0 when it would be negative).
        index: u64,
    },
    /// A new SSRC would exceed the configured number of per-SSRC contexts.
    #[error("more than {max} SSRCs in one session")]
    TooManySsrcs {
        /// The configured bound.
        max: usize,
    },
    /// The 48-bit SRTP index or the 31-bit SRTCP index is exhausted: rekey.
    #[error("packet index space exhausted for SSRC {ssrc:#010x}; the session must be rekeyed")]
    IndexExhausted {
        /// The stream whose index ran out.
        ssrc: u32,
    },
    /// A master key has the wrong length for the profile.
    #[error("master key of {got} bytes; the profile needs {expected}")]
    BadMasterKeyLength {
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// A master salt has the wrong length for the profile.
    #[error("master salt of {got} bytes; the profile needs {expected}")]
    BadMasterSaltLength {
        /// Required length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// DTLS-SRTP keying material has the wrong length for the profile.
    #[error("keying material of {got} bytes; the profile needs {expected}")]
    BadKeyingMaterialLength {
        /// Required length: 2 × (key + salt).
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// The caller's output buffer cannot hold the result.
    #[error("output buffer of {got} bytes; {needed} needed")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// The configuration is out of range.
    #[error("invalid configuration: {what}")]
    InvalidConfig {
        /// Which setting.
        what: &'static str,
    },
    /// The packet is longer than the cipher can process in one message.
    #[error("packet of {len} bytes is too long to protect")]
    PacketTooLong {
        /// Length of the data to encrypt.
        len: usize,
    },
    /// The batch result slice is shorter than the batch.
    #[error("{results} result slots for {packets} packets")]
    BatchResultsTooShort {
        /// Number of packets.
        packets: usize,
        /// Number of result slots.
        results: usize,
    },
}
