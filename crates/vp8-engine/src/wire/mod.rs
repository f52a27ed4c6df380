//! Stateless codecs: the RFC 7741 payload descriptor and VP8 payload header, and a view of one
//! depacketized RTP payload.

pub mod descriptor;
pub mod header;

pub use descriptor::{PictureId, TemporalInfo, Vp8Descriptor};
pub use header::{KeyFrameInfo, Vp8PayloadHeader};

use crate::error::Error;

/// One RTP payload split into its descriptor and VP8 data (the depacketizer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Packet<'a> {
    /// The payload descriptor.
    pub descriptor: Vp8Descriptor,
    /// The VP8 payload header, parsed when this packet starts a frame (S = 1, PID = 0).
    pub header: Option<Vp8PayloadHeader>,
    /// The VP8 data after the descriptor.
    pub payload: &'a [u8],
}

impl<'a> Vp8Packet<'a> {
    /// Parses an RTP payload.
    ///
    /// # Errors
    /// [`Error::TruncatedDescriptor`], [`Error::EmptyPayload`], or the payload-header errors of
    /// [`Vp8PayloadHeader::parse`] for the first packet of a frame.
    pub fn parse(rtp_payload: &'a [u8]) -> Result<Self, Error> {
        let (descriptor, n) = Vp8Descriptor::parse(rtp_payload)?;
        let payload = rtp_payload.get(n..).unwrap_or_default();
        if payload.is_empty() {
            return Err(Error::EmptyPayload { descriptor_len: n });
        }
        // RFC 7741 §4.3: the payload header is present only in packets with S = 1 and PID = 0.
        let header = if descriptor.is_frame_start() {
            Some(Vp8PayloadHeader::parse(payload)?)
        } else {
            None
        };
        Ok(Self {
            descriptor,
            header,
            payload,
        })
    }

    /// Whether this packet starts a key frame (keyframe detection from the payload header).
    #[must_use]
    pub fn is_key_frame(&self) -> bool {
        self.header.is_some_and(|h| h.is_key_frame())
    }
}

/// Key-frame detection on a raw RTP payload without further validation.
#[must_use]
pub fn is_key_frame(rtp_payload: &[u8]) -> bool {
    Vp8Packet::parse(rtp_payload).is_ok_and(|p| p.is_key_frame())
}
