//! Receiver configuration.

use std::time::Duration;

/// Which RTCP message asks the sender for a key frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyframeRequestKind {
    /// RFC 4585 §6.3.1 Picture Loss Indication.
    #[default]
    Pli,
    /// RFC 5104 §4.3.1 Full Intra Request.
    Fir,
}

/// Limits and timers of the receive side ([`crate::Vp8Receiver`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// Largest frame accepted, in pixels (width × height of a key frame). Default 4096×2304.
    pub max_frame_pixels: u32,
    /// Largest encoded frame accepted, in bytes. Default 4 MiB.
    pub max_frame_bytes: usize,
    /// Packets held while frames complete; older ones are dropped. Default 2048.
    pub max_buffered_packets: usize,
    /// Size of the missing-packet (NACK) list before it overflows and a key frame is requested.
    /// Default 1000, as libwebrtc's NACK module.
    pub max_missing_packets: usize,
    /// Complete frames held waiting for their references. Default 128.
    pub max_pending_frames: usize,
    /// How long a complete but undecodable frame may wait (for retransmissions) before a key
    /// frame is requested; also the least interval between two requests. Default 200 ms.
    pub keyframe_wait: Duration,
    /// A key frame is requested when packets arrive but no frame has been decodable for this
    /// long. Default 3 s.
    pub max_wait_for_frame: Duration,
    /// PLI or FIR.
    pub keyframe_request_kind: KeyframeRequestKind,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            max_frame_pixels: 4096 * 2304,
            max_frame_bytes: 4 << 20,
            max_buffered_packets: 2048,
            max_missing_packets: 1000,
            max_pending_frames: 128,
            keyframe_wait: Duration::from_millis(200),
            max_wait_for_frame: Duration::from_secs(3),
            keyframe_request_kind: KeyframeRequestKind::Pli,
        }
    }
}
