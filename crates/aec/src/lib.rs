//! # tern-aec: echo cancellation, noise suppression and gain control
//!
//! A capture-side audio processing chain for 16 and 48 kHz mono, in the spirit of WebRTC's
//! audio processing module (written from published designs, not from its code):
//!
//! 1. **Delay estimation** — GCC-PHAT between far end and near end decimated to 4 kHz
//!    (Hann-tapered near window, so window edges make no false peaks), with a fast and a slow
//!    smoothed cross-spectrum: the fast one confirms jumps (three agreeing updates), the slow one
//!    refines the estimate between them; the first strong arrival is taken, not merely the
//!    strongest reflection. The far end is re-aligned in whole filter blocks, shifting the filter
//!    with it (with hysteresis), so drift (100 ppm) keeps what was learnt and a jump (±200 ms)
//!    restarts the filter's adaptation.
//! 2. **Linear echo cancellation** — a partitioned-block frequency-domain adaptive filter
//!    (overlap-save MDF, 80 ms by default for reverberant rooms) whose step size follows an
//!    estimate of residual echo (Valin 2007: leakage learnt in proportion to echo-estimate over
//!    error power, with a correlation lower bound), and a two-path scheme: a background filter
//!    adapts, a foreground filter produces the output and takes the background's weights only
//!    when they are reliably better, and puts them back when the background diverges (double
//!    talk).
//! 3. **Residual echo suppression** — a spectral gain against the leakage-scaled echo estimate,
//!    with a decaying residual model for the room tail, and **comfort noise** at the noise floor
//!    where signal was removed.
//! 4. **Noise suppression** — Wiener gain with decision-directed a-priori SNR and a
//!    minimum-statistics noise floor.
//! 5. **Automatic gain control** — speech-level tracking towards a target, slewed gain, soft
//!    limiter.
//!
//! Each stage has its own switch in [`ProcessorConfig`]. Sample-clocked: nothing reads a clock;
//! far and near streams are matched by sample count.
//!
//! Robustness (BAD_INPUT row 37): float input with NaN/Inf is treated as silence, denormals are
//! flushed, saturated and all-zero input are handled, frames of the wrong length are refused with
//! [`AecError::FrameLength`] (changing nothing), [`AudioProcessor::set_sample_rate`] restarts the
//! chain at another rate, and when one stream runs ahead of the other by more than the delay
//! range (a stalled capture or render) the pairing restarts. Every buffer is bounded.
//!
//! Not implemented: stereo/multichannel, rates other than 16/48 kHz, nonlinear echo (loudspeaker
//! distortion) modelling, a separate transient suppressor.
//!
//! ## Run loop
//! 1. Every 10 ms of loudspeaker audio: [`AudioProcessor::process_render`].
//! 2. Every 10 ms of microphone audio: [`AudioProcessor::process_capture`] (in place).
//! 3. Read [`AudioProcessor::stats`] for ERLE, delay and AGC gain.
//!
//! ## Example
//! ```
//! use tern_aec::{AudioProcessor, ProcessorConfig, SampleRate};
//!
//! let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::Hz16000));
//! let mut far = [0i16; 160];
//! let mut near = [0i16; 160];
//! for i in 0..100 {
//!     for (n, s) in far.iter_mut().enumerate() {
//!         *s = (((i * 160 + n) as f32 * 0.07).sin() * 8000.0) as i16;
//!     }
//!     near.copy_from_slice(&far); // a (very) direct echo
//!     apm.process_render(&far).unwrap();
//!     apm.process_capture(&mut near).unwrap();
//! }
//! println!("ERLE {:.1} dB", apm.stats().erle_db);
//! ```
#![forbid(unsafe_code)]

mod agc;
mod config;
mod delay;
mod echo;
mod error;
mod fft;
mod filter;
mod noise;
mod ns;
mod processor;
mod stft;

pub use config::{ProcessorConfig, SampleRate};
pub use error::AecError;
pub use processor::{AudioProcessor, ProcessorStats};
