//! Audio and video frames and their formats.

use std::time::Duration;

use crate::error::Error;

/// Pixel formats a camera or file can deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Planar 4:2:0: Y, then U, then V (each chroma plane ⌈w/2⌉×⌈h/2⌉).
    I420,
    /// Semi-planar 4:2:0: Y, then interleaved U/V.
    Nv12,
    /// Packed 4:2:2: Y0 U Y1 V per two pixels.
    Yuyv,
    /// Motion JPEG: one JPEG image per frame.
    Mjpeg,
}

impl PixelFormat {
    /// A short name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::I420 => "I420",
            Self::Nv12 => "NV12",
            Self::Yuyv => "YUYV",
            Self::Mjpeg => "MJPEG",
        }
    }

    /// Bytes of one uncompressed frame, or `None` for compressed formats. Saturating: an
    /// absurd size asks for more than any buffer holds, so size checks fail instead of
    /// overflowing.
    #[must_use]
    pub fn frame_len(self, width: u32, height: u32) -> Option<usize> {
        let (w, h) = (width as usize, height as usize);
        let chroma = w.div_ceil(2).saturating_mul(h.div_ceil(2));
        match self {
            Self::I420 | Self::Nv12 => {
                Some(w.saturating_mul(h).saturating_add(chroma.saturating_mul(2)))
            }
            Self::Yuyv => Some(w.div_ceil(2).saturating_mul(4).saturating_mul(h)),
            Self::Mjpeg => None,
        }
    }
}

/// One video frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    /// Layout of `data`.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Presentation time since the source started (media clock: frame count / frame rate
    /// for files and synthetic sources, driver timestamps for devices).
    pub timestamp: Duration,
    /// Pixel data.
    pub data: Vec<u8>,
}

impl VideoFrame {
    /// A frame whose buffer length is checked against its format and size.
    ///
    /// # Errors
    /// [`Error::BadFrameSize`] for a wrong length or a zero dimension.
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        timestamp: Duration,
        data: Vec<u8>,
    ) -> Result<Self, Error> {
        let needed = format.frame_len(width, height);
        let ok = width > 0 && height > 0 && needed.is_none_or(|n| n == data.len());
        if !ok {
            return Err(Error::BadFrameSize {
                format: format.name(),
                width,
                height,
                needed: needed.unwrap_or(0),
                got: data.len(),
            });
        }
        Ok(Self {
            format,
            width,
            height,
            timestamp,
            data,
        })
    }
}

/// Sample formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SampleFormat {
    /// Signed 16-bit.
    I16,
    /// 32-bit float in −1.0..=1.0.
    F32,
}

/// Interleaved samples.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// Signed 16-bit.
    I16(Vec<i16>),
    /// 32-bit float.
    F32(Vec<f32>),
}

impl Samples {
    /// Number of samples (all channels).
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::I16(v) => v.len(),
            Self::F32(v) => v.len(),
        }
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The format.
    #[must_use]
    pub fn format(&self) -> SampleFormat {
        match self {
            Self::I16(_) => SampleFormat::I16,
            Self::F32(_) => SampleFormat::F32,
        }
    }

    /// As signed 16-bit (floats are clamped and scaled).
    #[must_use]
    pub fn to_i16(&self) -> Vec<i16> {
        match self {
            Self::I16(v) => v.clone(),
            Self::F32(v) => v.iter().map(|s| f32_to_i16(*s)).collect(),
        }
    }

    /// As float.
    #[must_use]
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Self::I16(v) => v.iter().map(|s| f32::from(*s) / 32768.0).collect(),
            Self::F32(v) => v.clone(),
        }
    }
}

/// Clamps and scales a float sample to 16 bits.
#[must_use]
pub fn f32_to_i16(s: f32) -> i16 {
    let s = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
    (s * 32767.0).round() as i16
}

/// One block of interleaved audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFrame {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels per sample frame.
    pub channels: u16,
    /// Index of the first sample frame since the source started (the media clock).
    pub first_sample: u64,
    /// Interleaved samples; `len()` is a multiple of `channels`.
    pub samples: Samples,
}

impl AudioFrame {
    /// Sample frames (samples per channel) in this block.
    #[must_use]
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }
}

/// Format of an audio stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioFormat {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// Sample format.
    pub sample_format: SampleFormat,
}

/// Format of a video stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoFormat {
    /// Pixel format.
    pub pixel_format: PixelFormat,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Frames per second.
    pub frame_rate: f64,
}
