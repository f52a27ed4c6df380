//! Errors.

/// Why a call into [`crate::AudioProcessor`] was refused. A refused call changes no state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AecError {
    /// Frames are 10 ms at the configured rate.
    #[error("frame of {got} samples, expected {expected} (10 ms)")]
    FrameLength {
        /// Samples in 10 ms.
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// Only 16 and 48 kHz are supported.
    #[error("unsupported sample rate {hz} Hz")]
    UnsupportedSampleRate {
        /// The rate asked for.
        hz: u32,
    },
}
