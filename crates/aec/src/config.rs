//! Configuration.

use crate::error::AecError;

/// Processing rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SampleRate {
    /// 16 kHz (wideband).
    Hz16000,
    /// 48 kHz (fullband).
    Hz48000,
}

impl SampleRate {
    /// Hertz.
    pub const fn hz(self) -> u32 {
        match self {
            SampleRate::Hz16000 => 16_000,
            SampleRate::Hz48000 => 48_000,
        }
    }
    /// Samples per 10 ms frame.
    pub const fn frame(self) -> usize {
        (self.hz() / 100) as usize
    }
    /// The rate for a value in hertz.
    pub fn from_hz(hz: u32) -> Result<SampleRate, AecError> {
        match hz {
            16_000 => Ok(SampleRate::Hz16000),
            48_000 => Ok(SampleRate::Hz48000),
            _ => Err(AecError::UnsupportedSampleRate { hz }),
        }
    }
    /// Adaptive-filter block length (a power of two, 4 ms at 16 kHz, 2.7 ms at 48 kHz).
    pub(crate) const fn block(self) -> usize {
        match self {
            SampleRate::Hz16000 => 64,
            SampleRate::Hz48000 => 128,
        }
    }
    /// Decimation factor to the 4 kHz delay-estimation rate.
    pub(crate) const fn decimation(self) -> usize {
        match self {
            SampleRate::Hz16000 => 4,
            SampleRate::Hz48000 => 12,
        }
    }
}

/// Which stages run, and their parameters.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProcessorConfig {
    /// Processing rate.
    pub sample_rate: SampleRate,
    /// Echo cancellation (linear filter + residual echo suppression).
    pub echo_cancellation: bool,
    /// Residual echo suppression after the linear filter (part of echo cancellation).
    pub residual_echo_suppression: bool,
    /// Comfort noise where suppression removed signal.
    pub comfort_noise: bool,
    /// Noise suppression.
    pub noise_suppression: bool,
    /// Automatic gain control.
    pub gain_control: bool,
    /// Length of the adaptive echo filter in milliseconds (covers the room's reverberation).
    pub filter_ms: u32,
    /// Largest echo delay searched, in milliseconds.
    pub max_delay_ms: u32,
    /// AGC target level, dBFS RMS of speech.
    pub agc_target_dbfs: f32,
    /// AGC maximum gain, dB.
    pub agc_max_gain_db: f32,
    /// Noise suppression floor (maximum attenuation), dB.
    pub ns_floor_db: f32,
    /// Seed of the comfort-noise generator.
    pub seed: u64,
}

impl ProcessorConfig {
    /// Echo cancellation only (no NS, no AGC), at `sample_rate`.
    pub fn new(sample_rate: SampleRate) -> ProcessorConfig {
        ProcessorConfig {
            sample_rate,
            echo_cancellation: true,
            residual_echo_suppression: true,
            comfort_noise: true,
            noise_suppression: false,
            gain_control: false,
            filter_ms: 80,
            max_delay_ms: 400,
            agc_target_dbfs: -18.0,
            agc_max_gain_db: 24.0,
            ns_floor_db: -20.0,
            seed: 0xec40,
        }
    }
}
