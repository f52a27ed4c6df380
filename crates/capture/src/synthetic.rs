//! Synthetic sources: a sine, a speech-like tone, and moving colour bars with a frame counter.
//! They are sample-clocked: time advances by the samples or frames produced, never the clock.

use std::f64::consts::TAU;
use std::time::Duration;

use crate::error::Error;
use crate::frame::{
    AudioFormat, AudioFrame, PixelFormat, SampleFormat, Samples, VideoFormat, VideoFrame,
};
use crate::source::{AudioSource, VideoSource};

/// The waveform of a [`ToneSource`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Tone {
    /// A pure sine at this frequency (Hz).
    Sine(f64),
    /// Speech-like: a 120 Hz voiced source with formants near 500, 1500 and 2500 Hz, a 4 Hz
    /// syllable envelope and pauses.
    SpeechLike,
}

/// An audio source producing a tone in blocks of `block` sample frames, forever or for
/// `total` sample frames.
#[derive(Debug, Clone)]
pub struct ToneSource {
    format: AudioFormat,
    tone: Tone,
    amplitude: f64,
    block: usize,
    position: u64,
    total: Option<u64>,
}

impl ToneSource {
    /// A tone at `sample_rate` with `channels`, 10 ms blocks, amplitude 0.5.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a zero rate or channel count.
    pub fn new(
        tone: Tone,
        sample_rate: u32,
        channels: u16,
        sample_format: SampleFormat,
    ) -> Result<Self, Error> {
        if sample_rate == 0 || channels == 0 {
            return Err(Error::InvalidParameter {
                what: "sample rate and channels must be positive",
            });
        }
        Ok(Self {
            format: AudioFormat {
                sample_rate,
                channels,
                sample_format,
            },
            tone,
            amplitude: 0.5,
            block: (sample_rate / 100).max(1) as usize,
            position: 0,
            total: None,
        })
    }

    /// Stops after `frames` sample frames.
    #[must_use]
    pub fn with_length(mut self, frames: u64) -> Self {
        self.total = Some(frames);
        self
    }

    fn value(&self, n: u64) -> f64 {
        let t = n as f64 / f64::from(self.format.sample_rate);
        match self.tone {
            Tone::Sine(f) => (TAU * f * t).sin(),
            Tone::SpeechLike => {
                let syllable = (TAU * 4.0 * t).sin().max(0.0);
                // 2.5 s of talk, 0.5 s pause.
                let talking = if t % 3.0 < 2.5 { 1.0 } else { 0.0 };
                let pitch = 120.0 * (1.0 + 0.05 * (TAU * 0.7 * t).sin());
                let voiced: f64 = [(500.0, 1.0), (1500.0, 0.5), (2500.0, 0.25)]
                    .iter()
                    .map(|(f, a)| a * (TAU * f * t).sin() * (TAU * pitch * t).sin().abs())
                    .sum();
                voiced / 1.75 * syllable * talking
            }
        }
    }
}

impl AudioSource for ToneSource {
    fn format(&self) -> AudioFormat {
        self.format
    }

    fn read_frame(&mut self) -> Result<Option<AudioFrame>, Error> {
        let mut n = self.block as u64;
        if let Some(total) = self.total {
            n = n.min(total.saturating_sub(self.position));
            if n == 0 {
                return Ok(None);
            }
        }
        let ch = usize::from(self.format.channels);
        let values: Vec<f64> = (0..n)
            .map(|i| self.amplitude * self.value(self.position + i))
            .collect();
        let samples = match self.format.sample_format {
            SampleFormat::F32 => Samples::F32(
                values
                    .iter()
                    .flat_map(|v| std::iter::repeat_n(*v as f32, ch))
                    .collect(),
            ),
            SampleFormat::I16 => Samples::I16(
                values
                    .iter()
                    .flat_map(|v| std::iter::repeat_n(crate::frame::f32_to_i16(*v as f32), ch))
                    .collect(),
            ),
        };
        let frame = AudioFrame {
            sample_rate: self.format.sample_rate,
            channels: self.format.channels,
            first_sample: self.position,
            samples,
        };
        self.position += n;
        Ok(Some(frame))
    }
}

/// Moving colour bars (I420) with the frame number drawn as 16 bits across the top.
#[derive(Debug, Clone)]
pub struct ColourBarsSource {
    format: VideoFormat,
    index: u64,
    total: Option<u64>,
}

impl ColourBarsSource {
    /// Bars at `width`×`height` and `frame_rate`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero sizes, more pixels than 8K, or a frame rate that
    /// is not positive and finite.
    pub fn new(width: u32, height: u32, frame_rate: f64) -> Result<Self, Error> {
        if width == 0 || height == 0 || !frame_rate.is_finite() || frame_rate <= 0.0 {
            return Err(Error::InvalidParameter {
                what: "size and frame rate must be positive",
            });
        }
        if u64::from(width) * u64::from(height) > crate::y4m::MAX_PIXELS {
            return Err(Error::InvalidParameter {
                what: "size above 8K (7680x4320 pixels)",
            });
        }
        Ok(Self {
            format: VideoFormat {
                pixel_format: PixelFormat::I420,
                width,
                height,
                frame_rate,
            },
            index: 0,
            total: None,
        })
    }

    /// Stops after `frames` frames.
    #[must_use]
    pub fn with_length(mut self, frames: u64) -> Self {
        self.total = Some(frames);
        self
    }

    /// Reads back the frame counter drawn into an I420 frame of this source's size.
    #[must_use]
    pub fn read_counter(frame: &VideoFrame) -> Option<u16> {
        let w = frame.width as usize;
        let row = (frame.height as usize / 16).min(frame.height.saturating_sub(1) as usize);
        let line = frame.data.get(row * w..(row + 1) * w)?;
        let mut v = 0u16;
        for bit in 0..16 {
            let x = bit * w / 16 + w / 32;
            v = v << 1 | u16::from(*line.get(x)? > 128);
        }
        Some(v)
    }
}

/// Y, U, V of white, yellow, cyan, green, magenta, red, blue, black (BT.601).
const BARS: [(u8, u8, u8); 8] = [
    (235, 128, 128),
    (210, 16, 146),
    (170, 166, 16),
    (145, 54, 34),
    (106, 202, 222),
    (81, 90, 240),
    (41, 240, 110),
    (16, 128, 128),
];

impl VideoSource for ColourBarsSource {
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn read_frame(&mut self) -> Result<Option<VideoFrame>, Error> {
        if self.total.is_some_and(|t| self.index >= t) {
            return Ok(None);
        }
        let (w, h) = (self.format.width as usize, self.format.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let shift = (self.index as usize).wrapping_mul(4);
        let bar = |x: usize| {
            BARS.get(((x + shift) % w) * 8 / w)
                .copied()
                .unwrap_or((16, 128, 128))
        };
        let counter = self.index as u16;
        // Every row of a region is the same: build one row of each, then copy rows.
        let counter_row: Vec<u8> = (0..w)
            .map(|x| {
                let bit = (x * 16 / w).min(15);
                if counter >> (15 - bit) & 1 == 1 {
                    235
                } else {
                    16
                }
            })
            .collect();
        let bars_row: Vec<u8> = (0..w).map(|x| bar(x).0).collect();
        let u_row: Vec<u8> = (0..cw).map(|x| bar(x * 2).1).collect();
        let v_row: Vec<u8> = (0..cw).map(|x| bar(x * 2).2).collect();
        let grey_row = vec![128u8; cw];
        let mut data = Vec::with_capacity(w * h + 2 * cw * ch);
        for row in 0..h {
            data.extend_from_slice(if row < h / 8 { &counter_row } else { &bars_row });
        }
        for chroma_row in [&u_row, &v_row] {
            for row in 0..ch {
                data.extend_from_slice(if row < ch / 8 { &grey_row } else { chroma_row });
            }
        }
        let ts = Duration::from_secs_f64(self.index as f64 / self.format.frame_rate);
        self.index += 1;
        VideoFrame::new(
            PixelFormat::I420,
            self.format.width,
            self.format.height,
            ts,
            data,
        )
        .map(Some)
    }
}
