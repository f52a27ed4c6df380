//! Errors of this crate. Decode errors are cheap and `Copy`.

/// A field of the RFC 7741 payload descriptor, named in truncation errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DescriptorField {
    /// The required first octet (X, N, S, PID).
    Required,
    /// The extension octet (I, L, T, K), present when X = 1.
    Extension,
    /// The first PictureID octet, present when I = 1.
    PictureId,
    /// The second PictureID octet, present when M = 1.
    PictureIdLow,
    /// TL0PICIDX, present when L = 1.
    Tl0PicIdx,
    /// The TID/Y/KEYIDX octet, present when T = 1 or K = 1.
    TidKeyIdx,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The RTP payload ends inside the payload descriptor.
    #[error("VP8 payload descriptor truncated at byte {at}: missing {field:?}")]
    TruncatedDescriptor {
        /// Offset where the missing field should start.
        at: usize,
        /// The missing field.
        field: DescriptorField,
    },
    /// The packet holds a descriptor and no VP8 data.
    #[error("VP8 packet carries no payload after its {descriptor_len}-byte descriptor")]
    EmptyPayload {
        /// Length of the descriptor.
        descriptor_len: usize,
    },
    /// The first packet of a frame is shorter than the VP8 payload header it must start with.
    #[error("VP8 payload header truncated: {len} bytes, need {needed}")]
    TruncatedPayloadHeader {
        /// Bytes available.
        len: usize,
        /// Bytes the header needs (3, or 10 for a key frame).
        needed: usize,
    },
    /// A key frame without the 0x9d 0x01 0x2a start code.
    #[error("VP8 key frame start code is {found:02x?}, expected [9d, 01, 2a]")]
    InvalidStartCode {
        /// The three bytes found.
        found: [u8; 3],
    },
    /// A key frame whose dimensions are zero or exceed the configured limit.
    #[error("VP8 key frame is {width}x{height}, outside the limit of {max_pixels} pixels")]
    FrameTooLarge {
        /// Width from the frame header.
        width: u16,
        /// Height from the frame header.
        height: u16,
        /// The configured pixel limit.
        max_pixels: u32,
    },
    /// The first partition size in the payload header exceeds the frame.
    #[error("VP8 first partition of {size} bytes exceeds the {available} bytes of the frame")]
    PartitionSizeExceedsFrame {
        /// Size from the payload header.
        size: u32,
        /// Bytes after the header.
        available: usize,
    },
    /// A frame larger than the configured limit.
    #[error("VP8 frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameBytesExceeded {
        /// Bytes so far.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The MTU leaves no room for VP8 data after the descriptor.
    #[error("MTU {mtu} leaves no room after a {descriptor_len}-byte descriptor")]
    MtuTooSmall {
        /// The MTU asked for.
        mtu: usize,
        /// The descriptor length for this frame.
        descriptor_len: usize,
    },
    /// Partition offsets not strictly increasing from 0 inside the frame.
    #[error("partition offsets are not strictly increasing from 0 within the frame")]
    InvalidPartitionOffsets,
    /// An empty frame was given to the packetizer.
    #[error("cannot packetize an empty frame")]
    EmptyFrame,
    /// A descriptor field outside its range was given to the packetizer.
    #[error("descriptor field out of range: {field:?}")]
    FieldOutOfRange {
        /// The field.
        field: DescriptorField,
    },
    /// An I420 image whose planes do not match its dimensions.
    #[error("I420 image {width}x{height} needs {needed} bytes, got {got}")]
    InvalidImage {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// An invalid encoder configuration.
    #[error("invalid encoder configuration: {what}")]
    InvalidConfig {
        /// What is wrong.
        what: &'static str,
    },
    /// libvpx returned an error code.
    #[error("libvpx {op} failed with code {code}")]
    Codec {
        /// The libvpx call.
        op: &'static str,
        /// The `vpx_codec_err_t` value.
        code: i32,
    },
}
