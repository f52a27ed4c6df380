//! Errors of the TURN codecs, the client and the server core.

use std::net::SocketAddr;

use tern_stun::{DecodeError, EncodeError, Method};

/// Why a datagram is not a well-formed ChannelData message (RFC 8656 §12.4).
///
/// Cheap and `Copy`: decoding never allocates, not even to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelDataError {
    /// Fewer than the 4 header bytes.
    #[error("truncated ChannelData header: {len} bytes, need 4")]
    TruncatedHeader {
        /// Bytes available.
        len: usize,
    },
    /// The channel number is outside 0x4000–0x4FFF.
    #[error("channel number {channel:#06x} is outside 0x4000..=0x4FFF")]
    InvalidChannelNumber {
        /// The number found.
        channel: u16,
    },
    /// The length field says more bytes than the datagram holds.
    #[error("ChannelData length {declared} exceeds the {available} bytes after the header")]
    LengthExceedsDatagram {
        /// Length declared in the header.
        declared: usize,
        /// Bytes present after the header.
        available: usize,
    },
    /// More bytes follow the data than the at most 3 padding bytes.
    #[error("{extra} bytes follow the ChannelData payload, more than its padding")]
    TrailingBytes {
        /// Bytes after the payload.
        extra: usize,
    },
    /// The payload does not fit the 16-bit length field.
    #[error("ChannelData payload of {len} bytes does not fit a 16-bit length")]
    PayloadTooLong {
        /// The payload length.
        len: usize,
    },
}

/// Why a TCP/TLS byte stream cannot be cut into STUN and ChannelData messages (RFC 8656 §12.5).
///
/// A framing error is fatal for the stream: the caller closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The next message starts with a byte that is neither STUN (0–3) nor ChannelData (0x40–0x4F).
    #[error("stream byte {first_byte:#04x} at a message boundary is neither STUN nor ChannelData")]
    UnknownMessageType {
        /// The offending byte.
        first_byte: u8,
    },
    /// A STUN header in the stream is invalid (length not a multiple of 4 or bad magic cookie).
    #[error("invalid STUN header in the stream")]
    InvalidStunHeader,
    /// A ChannelData header names a channel outside 0x4000–0x4FFF.
    #[error("channel number {channel:#06x} in the stream is outside 0x4000..=0x4FFF")]
    InvalidChannelNumber {
        /// The number found.
        channel: u16,
    },
    /// The unread part of the stream would exceed the buffer bound.
    #[error("stream buffer would exceed its {capacity} bytes")]
    BufferFull {
        /// The bound.
        capacity: usize,
    },
}

/// Why the TURN client refused a command, dropped an input, or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A received STUN message is malformed.
    #[error("malformed STUN message: {0}")]
    Decode(#[from] DecodeError),
    /// A message could not be encoded.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// A received ChannelData message is malformed.
    #[error("malformed ChannelData: {0}")]
    ChannelData(#[from] ChannelDataError),
    /// The TCP stream from the server cannot be framed.
    #[error("cannot frame the TCP stream: {0}")]
    Framing(#[from] FramingError),
    /// A datagram came from somewhere other than the TURN server.
    #[error("datagram from {from}, not from the TURN server")]
    UnexpectedSource {
        /// Its source.
        from: SocketAddr,
    },
    /// A response matched no outstanding transaction (late, duplicate or forged).
    #[error("response matches no outstanding transaction")]
    UnknownTransaction,
    /// A response failed its MESSAGE-INTEGRITY check, or lacked one after authentication.
    #[error("response failed the MESSAGE-INTEGRITY check")]
    BadResponseIntegrity,
    /// A response lacks an attribute it must carry.
    #[error("response to {method:?} lacks attribute {attribute:#06x}")]
    MissingAttribute {
        /// The request's method.
        method: Method,
        /// The missing attribute type.
        attribute: u16,
    },
    /// A Data indication or ChannelData came from a peer or channel the client does not know.
    #[error("data on unknown channel {channel:#06x}")]
    UnknownChannel {
        /// The channel number.
        channel: u16,
    },
    /// A command needs an allocation and there is none.
    #[error("no allocation")]
    NotAllocated,
    /// `allocate` was called while an allocation exists or is being made.
    #[error("an allocation exists or is being made")]
    AlreadyAllocated,
    /// `send_to` names a peer without an installed permission.
    #[error("no permission installed for peer {peer}")]
    NoPermission {
        /// The peer.
        peer: SocketAddr,
    },
    /// The client already tracks its bound of peers (permissions).
    #[error("more than {max} peers")]
    TooManyPeers {
        /// The bound.
        max: usize,
    },
    /// All 4096 channel numbers are bound.
    #[error("no free channel number")]
    ChannelsExhausted,
    /// Too many requests outstanding.
    #[error("more than {max} requests outstanding")]
    TooManyTransactions {
        /// The bound.
        max: usize,
    },
    /// Payload larger than a STUN or ChannelData message can carry.
    #[error("payload of {len} bytes is too large")]
    PayloadTooLarge {
        /// Its length.
        len: usize,
    },
    /// The server kept answering 401 although credentials were sent: wrong username or password.
    #[error("authentication failed after {attempts} attempts (401)")]
    Unauthorized {
        /// Requests sent in the transaction chain.
        attempts: u32,
    },
    /// The challenge's nonce cookie announces password algorithms but PASSWORD-ALGORITHMS is
    /// missing or lists none we support: a bid-down attack (RFC 8489 §9.2.5), not retried.
    #[error("bid-down attack: password algorithms announced but none usable")]
    PasswordAlgorithmBidDown,
    /// The server offers no password algorithm the client accepts
    /// (`ClientConfig::password_algorithms`), e.g. MD5 only when the client requires SHA-256.
    #[error("no password algorithm in common with the server")]
    NoCommonPasswordAlgorithm,
    /// The server kept answering 438 Stale Nonce beyond the retry bound.
    #[error("stale nonce loop after {attempts} attempts (438)")]
    StaleNonceLoop {
        /// Requests sent in the transaction chain.
        attempts: u32,
    },
    /// The server answered with an error code (403, 437, 440, 441, 442, 443, 486, 508, ...).
    #[error("{method:?} failed with error {code}")]
    ErrorResponse {
        /// The request's method.
        method: Method,
        /// The ERROR-CODE value.
        code: u16,
    },
    /// A request got no response within the STUN transaction timeout (RFC 8489 §6.2.1).
    #[error("{method:?} timed out")]
    Timeout {
        /// The request's method.
        method: Method,
    },
    /// The allocation's lifetime ran out without a successful refresh.
    #[error("the allocation expired")]
    AllocationExpired,
}

/// Why the server core dropped an input. The runner logs or ignores these: every one of them
/// leaves the core's state unchanged (and any answer to send is already queued).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A received STUN message is malformed.
    #[error("malformed STUN message: {0}")]
    Decode(#[from] DecodeError),
    /// A response could not be encoded.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
    /// A received ChannelData message is malformed.
    #[error("malformed ChannelData: {0}")]
    ChannelData(#[from] ChannelDataError),
    /// A datagram that is neither STUN nor ChannelData.
    #[error("datagram is neither STUN nor ChannelData")]
    NotTurn,
    /// An indication, ChannelData or STUN response from a 5-tuple with no allocation.
    #[error("no allocation for {client}")]
    NoAllocation {
        /// The client's address.
        client: SocketAddr,
    },
    /// ChannelData on a channel the allocation has not bound.
    #[error("channel {channel:#06x} is not bound")]
    ChannelNotBound {
        /// The channel number.
        channel: u16,
    },
    /// Data to or from a peer without a permission (RFC 8656 §9).
    #[error("no permission for peer {peer}")]
    NoPermission {
        /// The peer.
        peer: SocketAddr,
    },
    /// The peer address is denied by the relay policy (RFC 8656 §21).
    #[error("relaying to {peer} is forbidden")]
    Forbidden {
        /// The peer.
        peer: SocketAddr,
    },
    /// A Send indication without XOR-PEER-ADDRESS or DATA.
    #[error("Send indication lacks XOR-PEER-ADDRESS or DATA")]
    MalformedIndication,
    /// The allocation's bandwidth limit is exhausted.
    #[error("bandwidth limit exceeded")]
    BandwidthExceeded,
    /// A datagram arrived on a relay address the core does not know.
    #[error("unknown relay address {relay}")]
    UnknownRelay {
        /// The address.
        relay: SocketAddr,
    },
    /// A message class or method the server does not handle (responses, unknown indications).
    #[error("unexpected STUN message")]
    Unexpected,
    /// A request was rejected with an error response (already queued for transmission).
    #[error("request rejected with {code}")]
    Rejected {
        /// The ERROR-CODE sent.
        code: u16,
    },
}
