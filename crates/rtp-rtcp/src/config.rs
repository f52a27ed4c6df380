//! Configuration of an [`RtpSession`](crate::RtpSession) and its streams.

use std::time::Duration;

use crate::wire::ext::ExtensionMap;

/// NACK generator settings (receive side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NackConfig {
    /// Generate NACKs at all (SDP `a=rtcp-fb:<pt> nack`).
    pub enabled: bool,
    /// Wait this long after a gap before the first NACK, so that reordered packets do not
    /// trigger retransmissions.
    pub reorder_delay: Duration,
    /// Lower bound on the spacing of retries of one packet (the spacing is the RTT).
    pub min_retry_interval: Duration,
    /// Give up on a packet after this many NACKs.
    pub max_retries: u8,
    /// Give up on a packet this long after it was found missing.
    pub max_age: Duration,
    /// More missing packets than this: clear the list and ask for a keyframe.
    pub max_list: usize,
}

impl Default for NackConfig {
    fn default() -> Self {
        NackConfig {
            enabled: true,
            reorder_delay: Duration::from_millis(5),
            min_retry_interval: Duration::from_millis(20),
            max_retries: 10,
            max_age: Duration::from_secs(1),
            max_list: 1000,
        }
    }
}

/// Bandwidth estimation limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BweConfig {
    /// Initial target, bits/s.
    pub start_bitrate: u64,
    /// Floor, bits/s.
    pub min_bitrate: u64,
    /// Ceiling, bits/s.
    pub max_bitrate: u64,
    /// Send probe clusters at start-up (3× and 6× the start bitrate).
    pub initial_probing: bool,
}

impl Default for BweConfig {
    fn default() -> Self {
        BweConfig {
            start_bitrate: 300_000,
            min_bitrate: 30_000,
            max_bitrate: 10_000_000,
            initial_probing: true,
        }
    }
}

/// A local (sending) stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendStreamConfig {
    /// Media SSRC.
    pub ssrc: u32,
    /// RTP clock rate of its payload type(s).
    pub clock_rate: u32,
    /// RTX (RFC 4588) SSRC, if negotiated.
    pub rtx_ssrc: Option<u32>,
    /// `(media payload type, RTX payload type)` pairs (`a=fmtp:<rtx> apt=<media>`).
    pub rtx_payload_types: Vec<(u8, u8)>,
    /// Packets kept for retransmission.
    pub history_len: usize,
}

impl SendStreamConfig {
    /// A stream without RTX.
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        SendStreamConfig {
            ssrc,
            clock_rate,
            rtx_ssrc: None,
            rtx_payload_types: Vec::new(),
            history_len: 1024,
        }
    }
}

/// A remote (receiving) stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveStreamConfig {
    /// Media SSRC.
    pub ssrc: u32,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// RTX SSRC that repairs this stream.
    pub rtx_ssrc: Option<u32>,
    /// `(RTX payload type, media payload type)` pairs.
    pub rtx_payload_types: Vec<(u8, u8)>,
    /// NACK generator settings.
    pub nack: NackConfig,
}

impl ReceiveStreamConfig {
    /// A stream with default NACK settings and no RTX.
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        ReceiveStreamConfig {
            ssrc,
            clock_rate,
            rtx_ssrc: None,
            rtx_payload_types: Vec::new(),
            nack: NackConfig::default(),
        }
    }
}

/// Which congestion control feedback the receive side generates for the remote sender's
/// bandwidth estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CongestionFeedback {
    /// Transport-wide CC feedback (`a=rtcp-fb:* transport-cc`), for packets carrying the
    /// transport-wide sequence number extension.
    #[default]
    TransportWideCc,
    /// RFC 8888 congestion control feedback (`a=rtcp-fb:* ack ccfb`), per RTP SSRC and
    /// sequence number, every [`SessionConfig::ccfb_feedback_interval`].
    Rfc8888,
    /// Neither.
    None,
}

/// Session-wide settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// SSRC used as the sender of RTCP when no send stream exists (receive-only).
    pub rtcp_ssrc: u32,
    /// SDES CNAME.
    pub cname: String,
    /// Negotiated header extensions.
    pub extensions: ExtensionMap,
    /// RFC 5506 reduced-size RTCP (`a=rtcp-rsize`): feedback is sent on its own.
    pub reduced_size_rtcp: bool,
    /// Session bandwidth for the RTCP interval (RFC 3550 §6.2), bits/s.
    pub session_bandwidth: u64,
    /// Lower bound on the regular RTCP interval; RFC 3550 §6.2 allows a reduced minimum of
    /// 360 / (session bandwidth in kbit/s) seconds, this floors it.
    pub rtcp_min_interval: Duration,
    /// Clock rate assumed for remote SSRCs that were not configured.
    pub default_clock_rate: u32,
    /// Remote SSRCs tracked at most (others are dropped with an error).
    pub max_remote_ssrcs: usize,
    /// Interval of transport-wide CC feedback.
    pub twcc_feedback_interval: Duration,
    /// Congestion control feedback generated for received media (default: transport-wide).
    pub congestion_feedback: CongestionFeedback,
    /// Interval of RFC 8888 feedback (RFC 8888 leaves it to the receiver; 50 ms, like the
    /// transport-wide default, keeps the estimator as responsive as with that feedback).
    pub ccfb_feedback_interval: Duration,
    /// Bandwidth estimation.
    pub bwe: BweConfig,
    /// Packets the pacer may queue.
    pub pacer_queue_limit: usize,
    /// Send XR RRTR (RFC 3611 §4.4) so a receive-only endpoint learns its RTT.
    pub send_rrtr: bool,
    /// Seed for the RTCP interval randomisation; `None` seeds from the OS.
    pub seed: Option<[u8; 32]>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            rtcp_ssrc: 1,
            cname: "tern".into(),
            extensions: ExtensionMap::new(),
            reduced_size_rtcp: true,
            session_bandwidth: 2_000_000,
            rtcp_min_interval: Duration::from_millis(100),
            default_clock_rate: 90_000,
            max_remote_ssrcs: 64,
            twcc_feedback_interval: Duration::from_millis(50),
            congestion_feedback: CongestionFeedback::TransportWideCc,
            ccfb_feedback_interval: Duration::from_millis(50),
            bwe: BweConfig::default(),
            pacer_queue_limit: 2048,
            send_rrtr: true,
            seed: None,
        }
    }
}
