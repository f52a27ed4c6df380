//! Errors of this crate.

/// Everything that can go wrong in capture, playout, files and conversion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No device matches the request (none present, or the named one is missing).
    #[error("no {kind} device{}", .name.as_deref().map(|n| format!(" named {n:?}")).unwrap_or_default())]
    NoDevice {
        /// "audio input", "audio output" or "video".
        kind: &'static str,
        /// The name asked for, if any.
        name: Option<String>,
    },
    /// The path exists but is not a device this back end can capture from (not a V4L2
    /// node, or one without video capture).
    #[error("{name:?} is not a {kind} capture device")]
    NotACaptureDevice {
        /// "video" or "audio".
        kind: &'static str,
        /// The path or name.
        name: String,
    },
    /// The device went away (unplugged) while in use.
    #[error("device {name:?} disconnected")]
    DeviceGone {
        /// Device name.
        name: String,
    },
    /// A device or host API reported an error.
    #[error("device error: {0}")]
    Device(String),
    /// No capability satisfies the constraints; `constraint` names the one that cannot be
    /// met (W3C Media Capture `OverconstrainedError.constraint`).
    #[error("overconstrained: no capability satisfies {constraint}")]
    Overconstrained {
        /// The constraint that eliminated every capability (or "combination").
        constraint: &'static str,
    },
    /// A buffer that does not match the frame's format and size.
    #[error("{format} frame {width}x{height} needs {needed} bytes, got {got}")]
    BadFrameSize {
        /// Pixel format name.
        format: &'static str,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
    /// A conversion this crate does not implement.
    #[error("unsupported conversion from {from} to {to}")]
    UnsupportedConversion {
        /// Source format.
        from: &'static str,
        /// Target format.
        to: &'static str,
    },
    /// An MJPEG frame that does not decode, or whose JPEG size is not the frame's.
    #[error("invalid MJPEG frame: {what}")]
    InvalidMjpeg {
        /// What is wrong.
        what: &'static str,
    },
    /// A malformed WAV file.
    #[error("invalid WAV: {what}")]
    InvalidWav {
        /// What is wrong.
        what: &'static str,
    },
    /// A malformed Y4M file.
    #[error("invalid Y4M: {what}")]
    InvalidY4m {
        /// What is wrong.
        what: &'static str,
    },
    /// An invalid parameter (zero rate, zero channels, zero size, …).
    #[error("invalid parameter: {what}")]
    InvalidParameter {
        /// What is wrong.
        what: &'static str,
    },
    /// An I/O error from a file or device.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
