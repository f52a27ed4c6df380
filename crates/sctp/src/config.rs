//! Association configuration.

use std::time::Duration;

/// Which stream ids this side uses for the data channels it opens (RFC 8832 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamParity {
    /// Even ids: the DTLS client.
    Even,
    /// Odd ids: the DTLS server.
    Odd,
}

impl StreamParity {
    /// Whether `id` has this parity.
    pub fn matches(self, id: u16) -> bool {
        match self {
            StreamParity::Even => id.is_multiple_of(2),
            StreamParity::Odd => id % 2 == 1,
        }
    }
}

/// Configuration of an [`crate::Association`].
#[derive(Debug, Clone)]
pub struct SctpConfig {
    /// Our SCTP port (WebRTC: 5000, `a=sctp-port`).
    pub local_port: u16,
    /// The peer's SCTP port.
    pub remote_port: u16,
    /// Largest message we accept (`a=max-message-size`). Default 262144.
    pub max_message_size: usize,
    /// Largest message the peer accepts; `send` fails above it. Default 262144.
    pub remote_max_message_size: usize,
    /// Stream id parity for channels we open.
    pub stream_parity: StreamParity,
    /// Largest SCTP packet we send. Default 1200.
    pub mtu: usize,
    /// Seed for verification tags, initial TSN and the cookie secret. `None`: from the OS.
    pub seed: Option<[u8; 32]>,
    /// Receive buffer (advertised a_rwnd). Raised to at least `max_message_size` + 64 KiB so a
    /// maximum-size message can always be reassembled. Default 4 MiB.
    pub receive_window: usize,
    /// Most bytes queued for sending (over all channels) before `send` fails. Default 16 MiB.
    pub send_buffer_limit: usize,
    /// RTO.Initial (RFC 9260 §16). Default 1 s.
    pub rto_initial: Duration,
    /// RTO.Min. Default 400 ms: RFC 9260 says 1 s; WebRTC stacks use less, but it must stay
    /// above the peer's delayed-ack time (200 ms) plus the RTT or T3 fires spuriously.
    pub rto_min: Duration,
    /// RTO.Max. Default 60 s (WebRTC stacks commonly cap lower; see `rto_max`).
    pub rto_max: Duration,
    /// Max.Init.Retransmits. Default 8.
    pub max_init_retransmits: u32,
    /// Association.Max.Retrans: consecutive unanswered retransmissions before the association
    /// is declared dead. `None` = never. Default 10.
    pub max_retransmits: Option<u32>,
    /// Valid.Cookie.Life. Default 60 s.
    pub cookie_lifespan: Duration,
    /// Delayed-SACK timer (RFC 9260 §6.2: at most 500 ms). Default 200 ms.
    pub delayed_ack: Duration,
    /// HB.interval. Default 30 s.
    pub heartbeat_interval: Duration,
    /// Offer I-DATA / I-FORWARD-TSN (RFC 8260). Used only when the peer offers it too.
    pub interleaving: bool,
    /// Offer zero checksum (RFC 9653, EDMID 1: SCTP over DTLS). Default true.
    pub zero_checksum: bool,
    /// Inbound/outbound streams to announce. Default 65535.
    pub streams: u16,
}

impl Default for SctpConfig {
    fn default() -> Self {
        SctpConfig {
            local_port: 5000,
            remote_port: 5000,
            max_message_size: 262_144,
            remote_max_message_size: 262_144,
            stream_parity: StreamParity::Even,
            mtu: 1200,
            seed: None,
            receive_window: 4 * 1024 * 1024,
            send_buffer_limit: 16 * 1024 * 1024,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(400),
            rto_max: Duration::from_secs(60),
            max_init_retransmits: 8,
            max_retransmits: Some(10),
            cookie_lifespan: Duration::from_secs(60),
            delayed_ack: Duration::from_millis(200),
            heartbeat_interval: Duration::from_secs(30),
            interleaving: true,
            zero_checksum: true,
            streams: 65535,
        }
    }
}

impl SctpConfig {
    /// The receive window actually used: at least one maximum message plus slack.
    pub(crate) fn effective_receive_window(&self) -> usize {
        self.receive_window
            .max(self.max_message_size.saturating_add(65_536))
            .min(u32::MAX as usize)
    }

    /// MTU clamped to something that can carry a DATA chunk.
    pub(crate) fn effective_mtu(&self) -> usize {
        self.mtu.clamp(256, 65_535)
    }
}
