//! Errors.

/// Why [`crate::NetEq`] refused a packet, a decoder or an output buffer. A refused packet leaves
/// the jitter buffer unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetEqError {
    /// No decoder is registered for this RTP payload type.
    #[error("payload type {payload_type} has no registered decoder")]
    UnknownPayloadType {
        /// The payload type of the packet.
        payload_type: u8,
    },
    /// RTP payload types are 7 bits (RFC 3550 §5.1).
    #[error("payload type {payload_type} does not fit in 7 bits")]
    InvalidPayloadType {
        /// The value given.
        payload_type: u8,
    },
    /// The packet carries no payload.
    #[error("empty payload")]
    EmptyPayload,
    /// The payload exceeds [`crate::NetEqConfig::max_payload_bytes`].
    #[error("payload of {len} bytes exceeds the {max}-byte limit")]
    PayloadTooLarge {
        /// Payload length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// The decoder could not tell how long the packet is, or says it is longer than 120 ms.
    #[error("packet duration unknown or longer than 120 ms")]
    InvalidDuration,
    /// The decoder's output rate differs from NetEq's.
    #[error("decoder outputs {decoder_hz} Hz but NetEq runs at {neteq_hz} Hz")]
    SampleRateMismatch {
        /// What the decoder produces.
        decoder_hz: u32,
        /// The configured output rate.
        neteq_hz: u32,
    },
    /// The decoder reports an RTP clock rate of zero.
    #[error("decoder clock rate is zero")]
    InvalidClockRate,
    /// `get_audio` needs exactly one 10 ms frame of room.
    #[error("output buffer holds {got} samples, a 10 ms frame is {expected}")]
    OutputSize {
        /// Samples in a 10 ms frame.
        expected: usize,
        /// Length of the buffer given.
        got: usize,
    },
}

/// A decoder failure. NetEq treats the packet as lost and conceals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The payload is not a valid frame for this codec.
    #[error("malformed payload")]
    Malformed,
    /// The decoder does not support this operation (FEC, PLC).
    #[error("operation not supported by this decoder")]
    Unsupported,
    /// The codec library returned an error code.
    #[error("codec error {code}")]
    Codec {
        /// Library error code.
        code: i32,
    },
}
