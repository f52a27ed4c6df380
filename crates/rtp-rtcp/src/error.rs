//! Errors. Decode errors are cheap and `Copy`, and name the fault and where it was found.

use thiserror::Error;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    // ---- RTP ----
    /// The buffer is shorter than the 12-byte fixed RTP header.
    #[error("RTP packet of {len} bytes is shorter than the 12-byte fixed header")]
    RtpTooShort {
        /// Length of the buffer.
        len: usize,
    },
    /// The version field is not 2.
    #[error("RTP/RTCP version {version} is not 2")]
    BadVersion {
        /// The version found.
        version: u8,
    },
    /// The CSRC list runs past the end of the packet.
    #[error("CSRC count {csrc_count} needs {needed} bytes, the packet has {len}")]
    CsrcOverrun {
        /// CC field.
        csrc_count: u8,
        /// Bytes the header would need.
        needed: usize,
        /// Bytes present.
        len: usize,
    },
    /// The header extension (its 4-byte header or its body) runs past the end of the packet.
    #[error("header extension at {at} needs {needed} bytes, the packet has {len}")]
    ExtensionOverrun {
        /// Offset of the extension header.
        at: usize,
        /// Bytes the extension would need.
        needed: usize,
        /// Bytes present.
        len: usize,
    },
    /// An RFC 8285 extension element runs past the end of the extension block.
    #[error("header extension element at {at} runs past the extension block")]
    ExtensionElementOverrun {
        /// Offset of the element in the packet.
        at: usize,
    },
    /// A typed header extension's data has the wrong length or content.
    #[error("invalid value for header extension {uri}")]
    BadExtensionValue {
        /// The extension's URI.
        uri: &'static str,
    },
    /// The padding count is 0 or larger than what follows the header.
    #[error("padding count {padding} is invalid for {available} bytes after the header")]
    BadPadding {
        /// The last byte of the packet.
        padding: u8,
        /// Bytes after the header (payload + padding).
        available: usize,
    },

    // ---- RTCP ----
    /// The buffer ended inside an RTCP packet or field.
    #[error("RTCP truncated at offset {at}")]
    RtcpTruncated {
        /// Offset where more bytes were needed.
        at: usize,
    },
    /// An RTCP length field points past the end of the compound packet.
    #[error("RTCP length {length_words} words at offset {at} runs past the end ({len} bytes)")]
    RtcpLengthOverrun {
        /// Offset of the RTCP header.
        at: usize,
        /// The length field (32-bit words minus one).
        length_words: u16,
        /// Bytes in the compound packet.
        len: usize,
    },
    /// The padding count of an RTCP packet is 0 or larger than its body.
    #[error("RTCP padding invalid at offset {at}")]
    RtcpBadPadding {
        /// Offset of the RTCP header.
        at: usize,
    },
    /// A count field (RC, SC, item count, FCI count…) claims more entries than the packet holds.
    #[error("RTCP count {count} at offset {at} exceeds the packet body")]
    RtcpCountOverrun {
        /// Offset of the RTCP header.
        at: usize,
        /// The count found.
        count: usize,
    },
    /// An SDES chunk or item runs past the end of its packet, or lacks its null terminator.
    #[error("SDES chunk or item at offset {at} runs past the end of the packet")]
    SdesOverrun {
        /// Offset where the item started.
        at: usize,
    },
    /// An XR report block runs past the end of its packet or has an impossible length.
    #[error("XR report block at offset {at} is malformed")]
    XrBlockMalformed {
        /// Offset of the block.
        at: usize,
    },
    /// A payload-specific feedback `AFB` packet that claims to be REMB is malformed.
    #[error("REMB at offset {at} is malformed")]
    RembMalformed {
        /// Offset of the RTCP header.
        at: usize,
    },
    /// Transport-wide CC feedback: the packet chunks or receive deltas do not cover the
    /// declared packet status count.
    #[error("transport-wide CC feedback malformed at offset {at}")]
    TwccMalformed {
        /// Offset in the RTCP packet where decoding stopped.
        at: usize,
    },
    /// RFC 8888 congestion control feedback is malformed.
    #[error("RFC 8888 feedback malformed at offset {at}")]
    CcfbMalformed {
        /// Offset in the RTCP packet where decoding stopped.
        at: usize,
    },
    /// A feedback message that needs FCI entries has none, or a wrong-sized FCI.
    #[error("feedback message at offset {at} has an invalid FCI")]
    BadFci {
        /// Offset of the RTCP header.
        at: usize,
    },
    /// An empty compound packet.
    #[error("empty RTCP compound packet")]
    RtcpEmpty,

    // ---- emit ----
    /// The output buffer is too small.
    #[error("output buffer of {got} bytes, {needed} needed")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A value does not fit its wire field.
    #[error("value out of range for field {field}")]
    ValueOutOfRange {
        /// The field name.
        field: &'static str,
    },

    // ---- session ----
    /// `send_rtp` got a packet whose SSRC is not a configured send stream.
    #[error("SSRC {ssrc} is not a configured send stream")]
    UnknownSendSsrc {
        /// The SSRC.
        ssrc: u32,
    },
    /// The limit on tracked remote SSRCs is reached; the packet was dropped.
    #[error("too many remote SSRCs (limit {limit})")]
    TooManyStreams {
        /// The configured limit.
        limit: usize,
    },
    /// The pacer queue is full; the packet was dropped.
    #[error("pacer queue full ({limit} packets)")]
    PacerQueueFull {
        /// The configured limit.
        limit: usize,
    },
}
