//! Opus through libopus (`audiopus`), with the codec's own PLC and in-band FEC (RFC 6716).

use crate::decoder::{Decoder, PayloadKind};
use crate::error::DecodeError;

/// An Opus decoder (mono) at 16 or 48 kHz output; the RTP clock is always 48 kHz (RFC 7587 §4.1).
pub struct OpusDecoder {
    inner: audiopus::coder::Decoder,
    rate: audiopus::SampleRate,
    hz: u32,
    scratch: Vec<i16>,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").field("hz", &self.hz).finish()
    }
}

fn opus_rate(hz: u32) -> Option<audiopus::SampleRate> {
    match hz {
        8_000 => Some(audiopus::SampleRate::Hz8000),
        12_000 => Some(audiopus::SampleRate::Hz12000),
        16_000 => Some(audiopus::SampleRate::Hz16000),
        24_000 => Some(audiopus::SampleRate::Hz24000),
        48_000 => Some(audiopus::SampleRate::Hz48000),
        _ => None,
    }
}

fn codec_error(e: audiopus::Error) -> DecodeError {
    match e {
        audiopus::Error::Opus(code) => DecodeError::Codec { code: code as i32 },
        _ => DecodeError::Malformed,
    }
}

/// Longest Opus packet: 120 ms (RFC 6716 §3.2.5).
const MAX_PACKET_MS: usize = 120;

impl OpusDecoder {
    /// A mono decoder producing `hz` (8, 12, 16, 24 or 48 kHz) audio.
    pub fn new(hz: u32) -> Result<OpusDecoder, DecodeError> {
        let rate = opus_rate(hz).ok_or(DecodeError::Unsupported)?;
        let inner =
            audiopus::coder::Decoder::new(rate, audiopus::Channels::Mono).map_err(codec_error)?;
        Ok(OpusDecoder {
            inner,
            rate,
            hz,
            scratch: Vec::new(),
        })
    }

    fn run(
        &mut self,
        payload: Option<&[u8]>,
        samples: usize,
        fec: bool,
        out: &mut Vec<i16>,
    ) -> Result<usize, DecodeError> {
        self.scratch.clear();
        self.scratch.resize(samples, 0);
        let n = self
            .inner
            .decode(payload, &mut self.scratch[..], fec)
            .map_err(codec_error)?;
        out.extend(self.scratch.iter().take(n));
        Ok(n)
    }
}

/// The LBRR (in-band FEC) flag of the first SILK frame of the first Opus frame in `payload`
/// (RFC 6716 §4.2.3: after the VAD flags of each SILK frame comes one LBRR flag).
pub(crate) fn opus_packet_has_lbrr(payload: &[u8]) -> bool {
    let Some(&toc) = payload.first() else {
        return false;
    };
    let config = toc >> 3;
    // RFC 6716 §3.1: configs 0..=15 are SILK-only or hybrid; CELT-only packets carry no LBRR.
    if config >= 16 {
        return false;
    }
    // SILK frames per Opus frame (RFC 6716 §3.1 table 2): SILK-only configs 0..=11 come in
    // 10/20/40/60 ms (one SILK frame per 20 ms, at least one); hybrid configs 12..=15 are
    // 10 or 20 ms, one SILK frame.
    let silk_frames: u32 = if config < 12 {
        match config & 3 {
            0 | 1 => 1,
            2 => 2,
            _ => 3,
        }
    } else {
        1
    };
    let first_frame_at = match toc & 3 {
        0 | 1 => Some(1),
        2 => match payload.get(1) {
            Some(&l) if l < 252 => Some(2),
            Some(_) => Some(3),
            None => None,
        },
        _ => first_frame_of_code3(payload),
    };
    let Some(byte) = first_frame_at.and_then(|at| payload.get(at)) else {
        return false;
    };
    // The VAD flags occupy the top `silk_frames` bits, the (mid channel's) LBRR flag follows.
    (byte >> (7 - silk_frames)) & 1 == 1
}

fn first_frame_of_code3(payload: &[u8]) -> Option<usize> {
    // RFC 6716 §3.2.5: frame-count byte, optional padding length bytes, optional VBR lengths.
    let flags = *payload.get(1)?;
    let count = usize::from(flags & 0x3f);
    let mut at = 2usize;
    if flags & 0x40 != 0 {
        loop {
            let p = *payload.get(at)?;
            at += 1;
            if p != 255 {
                break;
            }
        }
    }
    if flags & 0x80 != 0 {
        for _ in 0..count.saturating_sub(1) {
            let l = *payload.get(at)?;
            at += if l < 252 { 1 } else { 2 };
        }
    }
    Some(at)
}

impl Decoder for OpusDecoder {
    fn sample_rate(&self) -> u32 {
        self.hz
    }
    fn clock_rate(&self) -> u32 {
        48_000
    }
    fn payload_kind(&self, payload: &[u8]) -> PayloadKind {
        // Opus DTX: the encoder sends a 1-2 byte packet (a TOC with no audio) while silent.
        if payload.len() <= 2 {
            PayloadKind::ComfortNoise { level_dbov: None }
        } else {
            PayloadKind::Speech
        }
    }
    fn packet_duration(&self, payload: &[u8]) -> Option<usize> {
        let n = audiopus::packet::nb_samples(payload, self.rate).ok()?;
        (n <= MAX_PACKET_MS * self.hz as usize / 1000).then_some(n)
    }
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        let n = self
            .packet_duration(payload)
            .ok_or(DecodeError::Malformed)?;
        self.run(Some(payload), n, false, out)
    }
    fn has_fec(&self, payload: &[u8]) -> bool {
        opus_packet_has_lbrr(payload)
    }
    fn decode_fec(
        &mut self,
        payload: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<usize, DecodeError> {
        if samples == 0 || samples > MAX_PACKET_MS * self.hz as usize / 1000 {
            return Err(DecodeError::Malformed);
        }
        self.run(Some(payload), samples, true, out)
    }
    fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        // libopus conceals in multiples of 2.5 ms.
        let quantum = self.hz as usize / 400;
        let n = samples.div_ceil(quantum).max(1) * quantum;
        if n > MAX_PACKET_MS * self.hz as usize / 1000 {
            return Err(DecodeError::Unsupported);
        }
        self.run(None, n, false, out)
    }
    fn has_plc(&self) -> bool {
        true
    }
    fn reset(&mut self) {
        if let Ok(d) = audiopus::coder::Decoder::new(self.rate, audiopus::Channels::Mono) {
            self.inner = d;
        }
    }
}
