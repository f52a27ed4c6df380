//! Errors: decode faults (`ParseError`, cheap and `Copy`) and association faults (`SctpError`).

use thiserror::Error;

/// What was wrong with the bytes of an SCTP packet or a chunk inside it.
///
/// Offsets (`at`) count from the start of the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The packet is shorter than the 12-byte common header.
    #[error("packet of {len} bytes is shorter than the SCTP common header")]
    TruncatedHeader {
        /// Length of the packet.
        len: usize,
    },
    /// The CRC32c in the common header does not match the packet.
    #[error("bad CRC32c checksum: carried {carried:#010x}, computed {computed:#010x}")]
    BadChecksum {
        /// Checksum carried in the header.
        carried: u32,
        /// Checksum computed over the packet.
        computed: u32,
    },
    /// A chunk header does not fit in the rest of the packet.
    #[error("chunk header at {at} is truncated")]
    TruncatedChunkHeader {
        /// Offset of the chunk.
        at: usize,
    },
    /// A chunk length field is below 4 or runs past the end of the packet.
    #[error("chunk at {at} has invalid length {length}")]
    BadChunkLength {
        /// Offset of the chunk.
        at: usize,
        /// The length field.
        length: u16,
    },
    /// A chunk's fixed fields do not fit in its length.
    #[error("chunk of type {chunk_type} at {at} is too short for its fixed fields")]
    TruncatedChunk {
        /// Offset of the chunk.
        at: usize,
        /// Chunk type.
        chunk_type: u8,
    },
    /// A parameter (or error cause) header or body runs past the end of its chunk, or has length < 4.
    #[error("parameter at {at} has invalid length {length}")]
    BadParameterLength {
        /// Offset of the parameter.
        at: usize,
        /// The length field.
        length: u16,
    },
    /// SACK gap-ack block or duplicate TSN counts disagree with the chunk length.
    #[error(
        "SACK at {at} announces {gaps} gap blocks and {dups} duplicate TSNs that do not fit its length"
    )]
    SackCountMismatch {
        /// Offset of the chunk.
        at: usize,
        /// Announced gap-ack block count.
        gaps: u16,
        /// Announced duplicate TSN count.
        dups: u16,
    },
    /// A DATA or I-DATA chunk carries no user data (RFC 9260 §6.2 "No User Data").
    #[error("DATA chunk at {at} carries no user data")]
    EmptyData {
        /// Offset of the chunk.
        at: usize,
    },
    /// A chunk whose length must be a multiple of a record size is not.
    #[error("chunk of type {chunk_type} at {at} has a body that is not a whole number of records")]
    RaggedChunk {
        /// Offset of the chunk.
        at: usize,
        /// Chunk type.
        chunk_type: u8,
    },
    /// An INIT or INIT-ACK lacks a mandatory field value (tag 0, zero streams) or the State Cookie.
    #[error("INIT/INIT-ACK at {at} is invalid: {what}")]
    InvalidInit {
        /// Offset of the chunk.
        at: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// INIT, INIT-ACK or SHUTDOWN-COMPLETE was bundled with other chunks (RFC 9260 §6.10).
    #[error("chunk type {chunk_type} must be the only chunk in its packet")]
    MustBeAlone {
        /// Chunk type.
        chunk_type: u8,
    },
    /// The packet has no chunk at all.
    #[error("packet carries no chunk")]
    NoChunks,
}

/// DCEP (RFC 8832) decode faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DcepError {
    /// The message is empty or shorter than its fixed fields.
    #[error("DCEP message of {len} bytes is truncated")]
    Truncated {
        /// Length of the message.
        len: usize,
    },
    /// Label or protocol length runs past the end of the message.
    #[error(
        "DATA_CHANNEL_OPEN label/protocol lengths {label} + {protocol} exceed the {available} bytes present"
    )]
    LengthPastEnd {
        /// Label length field.
        label: u16,
        /// Protocol length field.
        protocol: u16,
        /// Bytes present after the fixed fields.
        available: usize,
    },
    /// Unknown DCEP message type.
    #[error("unknown DCEP message type {0:#04x}")]
    UnknownMessageType(u8),
    /// Unknown channel type.
    #[error("unknown DCEP channel type {0:#04x}")]
    UnknownChannelType(u8),
    /// Label or protocol is not UTF-8.
    #[error("DATA_CHANNEL_OPEN label or protocol is not UTF-8")]
    NotUtf8,
}

/// Faults reported by [`crate::Association`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SctpError {
    /// The packet could not be decoded; it was discarded.
    #[error("malformed packet: {0}")]
    Parse(#[from] ParseError),
    /// A DCEP message could not be decoded; the channel was rejected.
    #[error("malformed DCEP message on stream {stream}: {error}")]
    Dcep {
        /// Stream the message arrived on.
        stream: u16,
        /// The decode fault.
        error: DcepError,
    },
    /// The ports in the common header are not this association's.
    #[error("packet for ports {src}->{dst} is not for this association")]
    WrongPorts {
        /// Source port in the header.
        src: u16,
        /// Destination port in the header.
        dst: u16,
    },
    /// The verification tag does not match (RFC 9260 §8.5); the packet was silently discarded.
    #[error("verification tag {got:#010x} does not match; packet discarded")]
    WrongVerificationTag {
        /// Tag carried.
        got: u32,
    },
    /// A COOKIE-ECHO's MAC did not verify.
    #[error("COOKIE-ECHO failed authentication")]
    BadCookie,
    /// A COOKIE-ECHO's cookie is older than its lifespan.
    #[error("COOKIE-ECHO cookie is stale by {stale_us} us")]
    StaleCookie {
        /// Microseconds past the lifespan.
        stale_us: u64,
    },
    /// A chunk arrived that is not allowed in the current state; it was ignored.
    #[error("chunk type {chunk_type} unexpected in state {state}")]
    UnexpectedChunk {
        /// Chunk type.
        chunk_type: u8,
        /// State name.
        state: &'static str,
    },
    /// The association is not (or no longer) able to carry data.
    #[error("association is closed")]
    Closed,
    /// No channel with this id.
    #[error("no data channel with id {0}")]
    UnknownChannel(u16),
    /// The channel is closing or closed.
    #[error("data channel {0} is closing")]
    ChannelClosing(u16),
    /// The channel id is already in use, or has the wrong parity for this side.
    #[error("data channel id {0} is unavailable")]
    ChannelIdUnavailable(u16),
    /// No free stream id of this side's parity is left.
    #[error("no free stream id left")]
    NoFreeStream,
    /// A message is larger than the peer accepts (send) or than we accept (receive).
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// Message size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The send buffer is full; try again after `BufferedAmountLow`.
    #[error("send buffer full ({buffered} bytes queued)")]
    SendBufferFull {
        /// Bytes already queued.
        buffered: usize,
    },
    /// The peer opened a channel with our stream parity (RFC 8832 §6).
    #[error("peer opened data channel on stream {0} of the wrong parity")]
    WrongStreamParity(u16),
    /// The peer opened a channel on a stream that is already in use.
    #[error("peer opened data channel on active stream {0}")]
    StreamInUse(u16),
    /// A user message with a PPID that is not a WebRTC data-channel PPID.
    #[error("message on stream {stream} with unexpected PPID {ppid}")]
    UnexpectedPpid {
        /// Stream.
        stream: u16,
        /// PPID.
        ppid: u32,
    },
    /// A message arrived on a stream that has no open channel.
    #[error("message on stream {0} that has no data channel")]
    NoChannelForStream(u16),
}
