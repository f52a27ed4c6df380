//! W3C `RTCStatsReport` equivalents (webrtc-stats). Field names are the standard ones in
//! snake_case; serialized (serde) they are the standard camelCase names, and every entry carries
//! its standard `type` (`transport`, `candidate-pair`, `inbound-rtp`, …) — so
//! `serde_json::to_string(&report)` reads like a browser's `getStats()` output.

use serde::Serialize;

/// All stats of one peer connection at one moment (W3C `RTCStatsReport`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatsReport {
    /// The entries, each with a unique `id`; references between them are by id.
    pub stats: Vec<Stats>,
}

impl StatsReport {
    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&Stats> {
        self.stats.iter().find(|s| s.id() == id)
    }
}

/// One stats object, tagged with its W3C `RTCStatsType`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Stats {
    /// `peer-connection`.
    PeerConnection(PeerConnectionStats),
    /// `transport`.
    Transport(TransportStats),
    /// `candidate-pair`.
    CandidatePair(CandidatePairStats),
    /// `local-candidate`.
    LocalCandidate(IceCandidateStats),
    /// `remote-candidate`.
    RemoteCandidate(IceCandidateStats),
    /// `certificate`.
    Certificate(CertificateStats),
    /// `codec`.
    Codec(CodecStats),
    /// `inbound-rtp`.
    InboundRtp(InboundRtpStreamStats),
    /// `outbound-rtp`.
    OutboundRtp(OutboundRtpStreamStats),
    /// `remote-inbound-rtp`.
    RemoteInboundRtp(RemoteInboundRtpStreamStats),
    /// `data-channel`.
    DataChannel(DataChannelStats),
}

impl Stats {
    /// The entry's `id`.
    pub fn id(&self) -> &str {
        match self {
            Stats::PeerConnection(s) => &s.id,
            Stats::Transport(s) => &s.id,
            Stats::CandidatePair(s) => &s.id,
            Stats::LocalCandidate(s) | Stats::RemoteCandidate(s) => &s.id,
            Stats::Certificate(s) => &s.id,
            Stats::Codec(s) => &s.id,
            Stats::InboundRtp(s) => &s.id,
            Stats::OutboundRtp(s) => &s.id,
            Stats::RemoteInboundRtp(s) => &s.id,
            Stats::DataChannel(s) => &s.id,
        }
    }
}

/// W3C `RTCPeerConnectionStats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerConnectionStats {
    /// Unique id.
    pub id: String,
    /// Milliseconds (Unix epoch when [`set_ntp_time`](crate::PeerConnection::set_ntp_time) was
    /// given, else since the connection was created).
    pub timestamp: f64,
    /// Channels that reached open.
    pub data_channels_opened: u32,
    /// Channels that closed.
    pub data_channels_closed: u32,
}

/// W3C `RTCTransportStats` (the one bundled transport).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// Datagrams sent.
    pub packets_sent: u64,
    /// Datagrams received.
    pub packets_received: u64,
    /// Bytes sent (UDP payload).
    pub bytes_sent: u64,
    /// Bytes received (UDP payload).
    pub bytes_received: u64,
    /// `controlling` or `controlled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_role: Option<String>,
    /// Our ufrag.
    pub ice_local_username_fragment: String,
    /// W3C `RTCIceTransportState`.
    pub ice_state: String,
    /// W3C `RTCDtlsTransportState`: `new`, `connecting`, `connected`, `closed`, `failed`.
    pub dtls_state: String,
    /// `client` or `server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtls_role: Option<String>,
    /// `DTLS 1.2` / `DTLS 1.3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// The DTLS cipher suite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtls_cipher: Option<String>,
    /// The SRTP protection profile (RFC 5764 / 7714 name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp_cipher: Option<String>,
    /// The selected pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_candidate_pair_id: Option<String>,
    /// Our certificate.
    pub local_certificate_id: String,
    /// The peer's certificate, once DTLS verified it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_certificate_id: Option<String>,
}

/// W3C `RTCIceCandidatePairStats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidatePairStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// The transport.
    pub transport_id: String,
    /// Local candidate entry.
    pub local_candidate_id: String,
    /// Remote candidate entry.
    pub remote_candidate_id: String,
    /// W3C `RTCStatsIceCandidatePairState`.
    pub state: String,
    /// Nominated (RFC 8445 §8.1.1).
    pub nominated: bool,
    /// Pair priority (RFC 8445 §6.1.2.3).
    pub priority: u64,
    /// Bytes sent on the pair (the selected pair carries everything).
    pub bytes_sent: u64,
    /// Bytes received on the pair.
    pub bytes_received: u64,
}

/// W3C `RTCIceCandidateStats` (local or remote).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// The transport.
    pub transport_id: String,
    /// IP address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// `udp`.
    pub protocol: String,
    /// `host`, `srflx`, `prflx`, `relay`.
    pub candidate_type: String,
    /// Candidate priority.
    pub priority: u32,
    /// Foundation.
    pub foundation: String,
    /// W3C `relayProtocol` (local relayed candidates only): the transport to the TURN server
    /// the candidate was allocated on, `udp`, `tcp` or `tls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_protocol: Option<String>,
}

/// W3C `RTCCertificateStats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// Colon-separated upper-case hex.
    pub fingerprint: String,
    /// `sha-256`.
    pub fingerprint_algorithm: String,
    /// DER, base64.
    pub base64_certificate: String,
}

/// W3C `RTCCodecStats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodecStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// The transport.
    pub transport_id: String,
    /// Payload type.
    pub payload_type: u8,
    /// `audio/opus`, `video/VP8`.
    pub mime_type: String,
    /// Clock rate.
    pub clock_rate: u32,
    /// Audio channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<u16>,
    /// `a=fmtp` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp_fmtp_line: Option<String>,
}

/// W3C `RTCInboundRtpStreamStats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundRtpStreamStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// Remote SSRC.
    pub ssrc: u32,
    /// `audio` / `video`.
    pub kind: String,
    /// The transport.
    pub transport_id: String,
    /// The codec entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// The m-section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// The remote `a=msid` track id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_identifier: Option<String>,
    /// Packets received (RFC 3550 A.3).
    pub packets_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Cumulative loss (RFC 3550 A.3; negative with duplicates).
    pub packets_lost: i64,
    /// Interarrival jitter in seconds (RFC 3550 A.8).
    pub jitter: f64,
    /// Packets recovered by RTX.
    pub retransmitted_packets_received: u64,
    /// NACK packets we sent about this stream.
    pub nack_count: u64,
    /// PLI packets we sent about this stream.
    pub pli_count: u64,
    /// FIR packets we sent about this stream.
    pub fir_count: u64,
}

/// W3C `RTCOutboundRtpStreamStats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundRtpStreamStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// Our SSRC.
    pub ssrc: u32,
    /// `audio` / `video`.
    pub kind: String,
    /// The transport.
    pub transport_id: String,
    /// The codec entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec_id: Option<String>,
    /// The m-section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// The remote-inbound-rtp entry the peer's reports make.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// Packets the application wrote.
    pub packets_sent: u64,
    /// Payload bytes the application wrote.
    pub bytes_sent: u64,
    /// The bandwidth estimator's target for the connection, bits/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_bitrate: Option<f64>,
    /// NACK packets the peer sent about this stream.
    pub nack_count: u64,
    /// PLI packets the peer sent about this stream.
    pub pli_count: u64,
    /// FIR packets the peer sent about this stream.
    pub fir_count: u64,
    /// RTX packets (RFC 4588) sent in answer to NACKs.
    pub retransmitted_packets_sent: u64,
    /// Payload bytes of those (without the RTX original-sequence field).
    pub retransmitted_bytes_sent: u64,
}

/// W3C `RTCRemoteInboundRtpStreamStats`: what the peer's receiver reports say of our stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteInboundRtpStreamStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// Our SSRC.
    pub ssrc: u32,
    /// `audio` / `video`.
    pub kind: String,
    /// The transport.
    pub transport_id: String,
    /// The outbound-rtp entry.
    pub local_id: String,
    /// Cumulative loss the peer reported.
    pub packets_lost: i64,
    /// The fraction lost in the last report interval (0–1).
    pub fraction_lost: f64,
    /// Jitter the peer measured, seconds.
    pub jitter: f64,
    /// RTT from LSR/DLSR, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_time: Option<f64>,
}

/// W3C `RTCDataChannelStats`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataChannelStats {
    /// Unique id.
    pub id: String,
    /// See [`PeerConnectionStats::timestamp`].
    pub timestamp: f64,
    /// Label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// The SCTP stream id, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel_identifier: Option<u16>,
    /// `connecting`, `open`.
    pub state: String,
    /// Messages sent.
    pub messages_sent: u64,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
}
