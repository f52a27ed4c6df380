//! The decoder interface and the decoders that need no codec library.

use crate::error::DecodeError;

/// What a payload is, as far as the jitter buffer is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadKind {
    /// Audio to decode and play.
    Speech,
    /// Comfort noise / DTX: the sender stopped sending speech (RFC 3389, Opus DTX).
    ComfortNoise {
        /// Noise level in -dBov (RFC 3389 §3.1), or `None` to use the receiver's estimate.
        level_dbov: Option<u8>,
    },
}

/// A mono audio decoder driven by [`crate::NetEq`]. All lengths are samples at
/// [`Decoder::sample_rate`].
pub trait Decoder {
    /// Rate of the decoded audio in hertz; must equal NetEq's output rate.
    fn sample_rate(&self) -> u32;
    /// RTP clock rate of the payload format (48 000 for Opus whatever the output rate).
    fn clock_rate(&self) -> u32;
    /// What the payload is.
    fn payload_kind(&self, payload: &[u8]) -> PayloadKind {
        let _ = payload;
        PayloadKind::Speech
    }
    /// Decoded length of a speech payload in samples, or `None` if it cannot be parsed.
    fn packet_duration(&self, payload: &[u8]) -> Option<usize>;
    /// Decodes one payload, appending the samples to `out`; returns how many were appended.
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError>;
    /// Whether the payload carries in-band FEC for the packet before it.
    fn has_fec(&self, payload: &[u8]) -> bool {
        let _ = payload;
        false
    }
    /// Decodes the FEC data in `payload` (which describes the previous `samples` samples).
    fn decode_fec(
        &mut self,
        payload: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<usize, DecodeError> {
        let _ = (payload, samples, out);
        Err(DecodeError::Unsupported)
    }
    /// The codec's own concealment of `samples` lost samples, if it has one.
    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        let _ = (samples, out);
        Err(DecodeError::Unsupported)
    }
    /// Whether [`Decoder::conceal`] is implemented.
    fn has_plc(&self) -> bool {
        false
    }
    /// Forgets all decoder state (stream restart).
    fn reset(&mut self);
}

/// Linear 16-bit PCM, big-endian, mono (RFC 3551 §4.5.11 "L16").
#[derive(Debug, Clone)]
pub struct L16Decoder {
    rate: u32,
}

impl L16Decoder {
    /// An L16 decoder whose RTP clock and output rate are both `rate` hertz.
    pub fn new(rate: u32) -> L16Decoder {
        L16Decoder { rate }
    }

    /// Encodes samples as an L16 payload (for tests and senders).
    pub fn encode(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_be_bytes()).collect()
    }
}

impl Decoder for L16Decoder {
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn clock_rate(&self) -> u32 {
        self.rate
    }
    fn packet_duration(&self, payload: &[u8]) -> Option<usize> {
        // RFC 3551 §4.5.11: 16-bit samples in network byte order; an odd byte is malformed.
        payload.len().is_multiple_of(2).then_some(payload.len() / 2)
    }
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        if !payload.len().is_multiple_of(2) {
            return Err(DecodeError::Malformed);
        }
        out.extend(payload.chunks_exact(2).map(|b| {
            i16::from_be_bytes([
                b.first().copied().unwrap_or(0),
                b.get(1).copied().unwrap_or(0),
            ])
        }));
        Ok(payload.len() / 2)
    }
    fn reset(&mut self) {}
}

/// RFC 3389 comfort noise ("CN"), payload type 13 at 8 kHz by convention but usable at any rate.
/// Only the noise level is used; the spectral (reflection) coefficients are ignored and the noise
/// is white.
#[derive(Debug, Clone)]
pub struct ComfortNoiseDecoder {
    rate: u32,
}

impl ComfortNoiseDecoder {
    /// A CN payload format at `rate` hertz.
    pub fn new(rate: u32) -> ComfortNoiseDecoder {
        ComfortNoiseDecoder { rate }
    }
}

impl Decoder for ComfortNoiseDecoder {
    fn sample_rate(&self) -> u32 {
        self.rate
    }
    fn clock_rate(&self) -> u32 {
        self.rate
    }
    fn payload_kind(&self, payload: &[u8]) -> PayloadKind {
        // RFC 3389 §3.1: the first byte is the noise level, 0..127 -dBov.
        PayloadKind::ComfortNoise {
            level_dbov: payload.first().map(|l| l & 0x7f),
        }
    }
    fn packet_duration(&self, _payload: &[u8]) -> Option<usize> {
        Some(0)
    }
    fn decode(&mut self, _payload: &[u8], _out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        Ok(0)
    }
    fn reset(&mut self) {}
}
