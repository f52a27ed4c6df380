//! Session configuration.

use crate::error::SrtpError;

/// Smallest replay window accepted (RFC 3711 §3.3.2 asks for at least 64).
pub const MIN_REPLAY_WINDOW: usize = 64;
/// Largest replay window accepted (bits); bounds per-SSRC memory at 4 KiB.
pub const MAX_REPLAY_WINDOW: usize = 32_768;

/// Which AES-GCM implementation protects the AEAD profiles.
///
/// The default is `Ring` when the `ring` feature is on (measured faster, see README.md),
/// else `RustCrypto`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GcmBackend {
    /// RustCrypto `aes-gcm` 0.10 (pure Rust with AES-NI/PCLMULQDQ).
    #[cfg_attr(not(feature = "ring"), default)]
    RustCrypto,
    /// `ring` (assembly with AVX/VAES paths). Needs the `ring` feature.
    #[cfg(feature = "ring")]
    #[cfg_attr(feature = "ring", default)]
    Ring,
}

/// Settings of one [`SrtpSession`](crate::SrtpSession).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpConfig {
    /// Replay window size in packets, rounded up to a multiple of 64
    /// (64..=32768). Default 1024, enough for video with NACK.
    pub replay_window: usize,
    /// Most SSRCs one session keeps contexts for, per direction and per RTP/RTCP.
    /// A packet from one more SSRC is refused with [`SrtpError::TooManySsrcs`]
    /// (contexts are only created after a packet authenticates, so a forger cannot fill this).
    pub max_ssrcs: usize,
    /// Whether `protect_rtp` may protect the same packet index twice (a NACK
    /// retransmission on the original SSRC). libwebrtc allows it; with `false`
    /// a repeated or too-old index is refused as on the receive side.
    pub allow_repeat_tx: bool,
    /// AES-GCM implementation for the AEAD profiles.
    pub gcm_backend: GcmBackend,
}

impl Default for SrtpConfig {
    fn default() -> Self {
        SrtpConfig {
            replay_window: 1024,
            max_ssrcs: 256,
            allow_repeat_tx: true,
            gcm_backend: GcmBackend::default(),
        }
    }
}

impl SrtpConfig {
    pub(crate) fn validate(&self) -> Result<(), SrtpError> {
        if !(MIN_REPLAY_WINDOW..=MAX_REPLAY_WINDOW).contains(&self.replay_window) {
            return Err(SrtpError::InvalidConfig {
                what: "replay_window must be within 64..=32768",
            });
        }
        if self.max_ssrcs == 0 {
            return Err(SrtpError::InvalidConfig {
                what: "max_ssrcs must be at least 1",
            });
        }
        Ok(())
    }
}
