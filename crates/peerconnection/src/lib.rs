//! # tern-peerconnection
//!
//! A W3C-style WebRTC peer connection composed from Tern's protocol crates over one bundled
//! transport: ICE ([`tern_ice`]) → DTLS 1.2 ([`tern_dtls`]) → SCTP data channels ([`tern_sctp`])
//! and SRTP ([`tern_srtp`]) → RTP/RTCP sessions ([`tern_rtp_rtcp`]) for audio and video,
//! negotiated with JSEP (RFC 8829) on SDP from [`tern_sdp`].
//!
//! RFCs: 8829 (JSEP: offers, answers, signaling states, rollback, renegotiation that keeps ICE and
//! DTLS), 7983 (demultiplexing STUN/DTLS/RTP on one 5-tuple), 8842 (`a=setup` → DTLS role;
//! `a=tls-id` or fingerprint change → new association), 8843 (BUNDLE, the mid header
//! extension), 5761 (rtcp-mux), 5506 (rtcp-rsize), 3264 (directions), 8830 (msid), 4588 (RTX),
//! 4585/5104 (NACK, PLI, FIR), 8285 (extmap), 5764 + 7714 (DTLS-SRTP keys, AES-CM and AES-GCM),
//! 8841 (`a=sctp-port`, `a=max-message-size`), 8831/8832 (data channels), 8827 (fingerprint
//! checked before any key is used). W3C webrtc-stats names for [`PeerConnection::stats`].
//! Also ICE restart (RFC 8445 §9) and W3C rollback / perfect negotiation.
//! Congestion control feedback: transport-wide CC by default, RFC 8888 (`a=rtcp-fb:* ack ccfb`,
//! RTCP PT 205 FMT 11) when both sides have it ([`RtcConfig::rfc8888`], [`Rfc8888Policy`]).
//! ICE servers (W3C `iceServers`, RFC 7064/7065 URLs): server-reflexive candidates from STUN,
//! relayed ones from TURN over UDP or TCP (RFC 8656 §3.1, `turn:…?transport=tcp`; tern-turn's
//! client inside [`tern_ice`]), and `iceTransportPolicy: relay`; what a TURN server relays is
//! demultiplexed like any datagram.
//! Not yet: TURN over TLS (`turns:` is refused), simulcast (RIDs), `a=extmap-allow-mixed`
//! offers, codecs other than Opus and VP8, depacketizers (media payloads go to and come from
//! the application as RTP payloads).
//!
//! ## Example
//!
//! ```
//! # #[allow(clippy::disallowed_methods)]
//! let now = std::time::Instant::now(); // a driver passes its clock in
//! use tern_peerconnection::{MediaKind, PeerConnection, RtcConfig};
//! let mut pc = PeerConnection::new(RtcConfig::default(), now)?;
//! pc.add_local_address(now, "127.0.0.1:50000".parse()?);
//! let audio = pc.add_track(MediaKind::Audio, "stream", "mic")?;
//! let offer = pc.create_offer(now)?;
//! assert!(offer.sdp.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111"));
//! assert!(offer.sdp.contains("a=msid:stream mic"));
//! pc.set_local_description(now, offer)?;
//! assert_eq!(pc.transceiver_mid(audio), Some("0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Run loop
//!
//! [`PeerConnection`] is sans-IO: it owns no socket, task or clock. A driver:
//!
//! 1. binds UDP sockets and tells the connection with [`PeerConnection::add_local_address`];
//! 2. exchanges descriptions with the remote peer over signaling
//!    ([`PeerConnection::create_offer`] / [`PeerConnection::set_local_description`] /
//!    [`PeerConnection::set_remote_description`] / [`PeerConnection::create_answer`], and
//!    [`PeerConnection::add_ice_candidate`] for trickled candidates);
//! 3. feeds every received datagram to [`PeerConnection::handle_receive`] with `now`;
//! 4. after every input or command drains [`PeerConnection::poll_transmit`] (send each
//!    [`Transmit`] from its `source` socket; a [`TransportProtocol::Tcp`] one is stream bytes
//!    for the TCP connection to a `?transport=tcp` TURN server, opened from `source`'s IP on
//!    first use), then [`PeerConnection::poll_event`];
//! 5. feeds the bytes read from such a TCP connection (any chunking) to
//!    [`PeerConnection::handle_relay_stream`], and its failure or end to
//!    [`PeerConnection::relay_stream_closed`] (the relayed candidates on it fail);
//! 6. sleeps until [`PeerConnection::poll_timeout`] or the next datagram, calling
//!    [`PeerConnection::handle_timeout`] when the deadline passes.
//!
//! Media: [`PeerConnection::add_track`] before an offer or answer; once `Connected`,
//! [`PeerConnection::write_rtp`] sends a packetized payload; received packets arrive as
//! [`Event::Rtp`] after an [`Event::Track`], keyframe requests as [`Event::KeyframeRequest`],
//! the congestion controller's target as [`Event::TargetBitrate`].
//!
//! Failure: a fingerprint mismatch, a fatal DTLS alert, a failed handshake, or a handshake not
//! complete within [`RtcConfig::dtls_handshake_timeout`] of ICE connecting puts the connection in
//! [`PeerConnectionState::Failed`] with [`Event::ConnectionFailed`] naming the
//! [`FailureReason`]; nothing keyed by that association (SRTP keys, SCTP) is used again.
//!
//! The `tokio` feature provides exactly that loop (`RtcPeer`, one task per connection), and,
//! opt-in, mDNS `.local` host candidates (draft-ietf-mmusic-mdns-ice-candidates over RFC 6762;
//! module `mdns`): [`RtcConfig::mdns_host_candidates`] hides our host IPs behind random names
//! it answers for, [`RtcConfig::mdns_resolve`] resolves the peer's (browsers send such names).

mod candidate;
mod demux;
mod error;
mod ice_servers;
mod jsep;
mod media;
mod peer_connection;
mod stats;

pub use demux::{PacketClass, classify, is_rtcp};
pub use error::Error;
pub use jsep::{SdpType, SessionDescriptionInit};
pub use media::{
    Codec, CongestionFeedbackCounts, MediaKind, Rfc8888Policy, TransceiverId, default_codecs,
};
pub use peer_connection::PeerConnection;
pub use stats::{
    CandidatePairStats, CertificateStats, CodecStats, DataChannelStats, IceCandidateStats,
    InboundRtpStreamStats, OutboundRtpStreamStats, PeerConnectionStats,
    RemoteInboundRtpStreamStats, Stats, StatsReport, TransportStats,
};
pub use tern_dtls::{AlertDescription, Certificate, DtlsError};
pub use tern_ice::{IceConnectionState, TransportProtocol};
pub use tern_rtp_rtcp::{CongestionFeedback, KeyframeRequestKind};
pub use tern_sdp::Direction;

use std::net::SocketAddr;
use std::time::Duration;

/// Configuration of a peer connection (W3C `RTCConfiguration`, plus transport limits).
#[derive(Clone)]
pub struct RtcConfig {
    /// Our DTLS certificate; generated (ECDSA P-256) when `None`.
    pub certificate: Option<Certificate>,
    /// The largest data-channel message we accept (`a=max-message-size`).
    pub max_message_size: usize,
    /// Our SCTP port (`a=sctp-port`).
    pub sctp_port: u16,
    /// Seed for every random choice (ufrag, tie-breaker, …) — for deterministic tests. `None`
    /// seeds from the operating system.
    pub seed: Option<u64>,
    /// Offer RFC 9653 zero checksums on SCTP over DTLS (saves a CRC32c per packet). Off by
    /// default: Pion ≤ 1.8.x cannot parse an INIT carrying the parameter and never connects.
    pub sctp_zero_checksum: bool,
    /// How long the DTLS handshake may take once ICE is connected before the connection goes
    /// to [`PeerConnectionState::Failed`] with [`FailureReason::DtlsHandshakeTimeout`] (a peer
    /// that never answers, or answers for another certificate, must not leave it `Connecting`
    /// forever). Default 30 s.
    pub dtls_handshake_timeout: Duration,
    /// Offer (as DTLS client) and accept (as server) DTLS 1.3 (RFC 9147), falling back to 1.2
    /// for peers without it. Off by default.
    pub dtls13: bool,
    /// W3C `iceServers`: STUN servers give server-reflexive candidates, TURN servers (with
    /// `username` and `credential`, over UDP, TCP or TLS) relayed ones. The core needs IP
    /// addresses in the URLs; the tokio driver resolves host names. To the core a `turns:` server
    /// is a TCP server: the tokio driver wraps that connection in TLS 1.2/1.3 and checks the
    /// server's certificate against the URL's host (name or IP) and the system's trusted roots
    /// plus [`tls_root_certificates`](Self::tls_root_certificates).
    pub ice_servers: Vec<IceServer>,
    /// Tokio driver only: certificate authorities (DER) trusted for `turns:` servers besides the
    /// system's (for a private TURN deployment). Empty by default.
    pub tls_root_certificates: Vec<Vec<u8>>,
    /// W3C `iceTransportPolicy`: `Relay` signals and pairs relayed candidates only.
    pub ice_transport_policy: IceTransportPolicy,
    /// RFC 8888 congestion control feedback (`a=rtcp-fb:* ack ccfb`) instead of transport-wide
    /// CC: [`Rfc8888Policy::Accept`] by default (answered when a peer offers it, not offered —
    /// most peers do not speak it); [`Rfc8888Policy::Offer`] offers it too.
    pub rfc8888: Rfc8888Policy,
    /// Tokio driver only: hide the IPs of our host candidates behind random `<uuid>.local`
    /// names (draft-ietf-mmusic-mdns-ice-candidates) in what we signal, and answer mDNS queries
    /// for exactly those names on port 5353 while the connection lives (`RtcPeer::spawn` fails
    /// if that port cannot be shared). The peer must resolve them: one that cannot reaches us
    /// only if we check it first (peer-reflexive). Off by default.
    pub mdns_host_candidates: bool,
    /// Tokio driver only: resolve the peer's `.local` candidates with a one-shot mDNS query
    /// (RFC 6762) from the connection's own IPv4 address, then add them as usual. Off by
    /// default: such candidates are refused and the peer is learned peer-reflexive.
    pub mdns_resolve: bool,
}

/// W3C `RTCIceServer`: `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]` or
/// `turns:host[:port]` URLs (RFC 7064, RFC 7065) and, for TURN, the long-term credential.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IceServer {
    /// The server's URLs.
    pub urls: Vec<String>,
    /// TURN username.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
}

/// W3C `RTCIceTransportPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IceTransportPolicy {
    /// Every candidate type.
    #[default]
    All,
    /// Relayed candidates only: the peer never learns our addresses.
    Relay,
}

impl Default for RtcConfig {
    fn default() -> Self {
        RtcConfig {
            certificate: None,
            max_message_size: 262_144,
            sctp_port: 5000,
            seed: None,
            sctp_zero_checksum: false,
            dtls_handshake_timeout: Duration::from_secs(30),
            dtls13: false,
            ice_servers: Vec::new(),
            tls_root_certificates: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            rfc8888: Rfc8888Policy::Accept,
            mdns_host_candidates: false,
            mdns_resolve: false,
        }
    }
}

/// W3C `RTCSignalingState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalingState {
    /// No offer/answer exchange in progress.
    Stable,
    /// We applied our offer.
    HaveLocalOffer,
    /// We applied the remote offer.
    HaveRemoteOffer,
    /// We applied our provisional answer.
    HaveLocalPranswer,
    /// We applied the remote provisional answer.
    HaveRemotePranswer,
    /// The connection is closed.
    Closed,
}

/// W3C `RTCPeerConnectionState`: ICE and DTLS together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerConnectionState {
    /// Nothing has started.
    New,
    /// ICE checks or the DTLS handshake are under way.
    Connecting,
    /// ICE has a pair and DTLS is up.
    Connected,
    /// ICE lost connectivity (consent) for now.
    Disconnected,
    /// ICE or DTLS failed (including a certificate fingerprint mismatch).
    Failed,
    /// Closed locally or by the peer.
    Closed,
}

/// Why the connection went to [`PeerConnectionState::Failed`] ([`Event::ConnectionFailed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureReason {
    /// ICE found no working candidate pair, or consent was lost for good (RFC 7675).
    IceFailed,
    /// The peer's certificate matches none of the `a=fingerprint` values of its description
    /// (RFC 8827 §6.5); no key was exported.
    FingerprintMismatch,
    /// The peer ended the association with this fatal DTLS alert.
    PeerAlert(tern_dtls::AlertDescription),
    /// Our DTLS endpoint failed the handshake or the connection (we sent a fatal alert).
    Dtls(tern_dtls::DtlsError),
    /// The DTLS handshake did not complete within [`RtcConfig::dtls_handshake_timeout`] of ICE
    /// connecting.
    DtlsHandshakeTimeout(Duration),
}

/// An application-facing handle to a data channel (stable before the SCTP stream id is known).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataChannelId(pub u64);

/// W3C `RTCDataChannelInit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataChannelInit {
    /// In-order delivery.
    pub ordered: bool,
    /// Partial reliability by retransmission count (RFC 3758).
    pub max_retransmits: Option<u16>,
    /// Partial reliability by lifetime (RFC 3758).
    pub max_packet_life_time: Option<Duration>,
    /// Sub-protocol name.
    pub protocol: String,
    /// An out-of-band negotiated stream id (no DCEP open).
    pub negotiated: Option<u16>,
}

impl Default for DataChannelInit {
    fn default() -> Self {
        DataChannelInit {
            ordered: true,
            max_retransmits: None,
            max_packet_life_time: None,
            protocol: String::new(),
            negotiated: None,
        }
    }
}

/// Bytes to send from `source` (one of our sockets) to `destination`: one UDP datagram, or —
/// when `transport` is [`TransportProtocol::Tcp`] — stream bytes for the TCP connection to a
/// TURN server configured with `?transport=tcp` (RFC 8656 §3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Our socket address to send from. For TCP, the host address whose IP the connection to
    /// the TURN server leaves from (any port).
    pub source: SocketAddr,
    /// Where to send it (for TCP, the TURN server).
    pub destination: SocketAddr,
    /// [`TransportProtocol::Udp`]: `data` is one datagram for the UDP socket bound to `source`.
    /// [`TransportProtocol::Tcp`]: `data` is the next bytes of the stream to `destination`; open
    /// the connection on first use (from `source`'s IP), write the bytes in order, feed what it
    /// reads to [`PeerConnection::handle_relay_stream`] and report its end with
    /// [`PeerConnection::relay_stream_closed`].
    pub transport: TransportProtocol,
    /// The datagram, or the stream bytes.
    pub data: Vec<u8>,
}

impl Transmit {
    /// One UDP datagram.
    pub(crate) fn udp(source: SocketAddr, destination: SocketAddr, data: Vec<u8>) -> Transmit {
        Transmit {
            source,
            destination,
            transport: TransportProtocol::Udp,
            data,
        }
    }
}

impl From<tern_ice::Transmit> for Transmit {
    fn from(t: tern_ice::Transmit) -> Transmit {
        Transmit {
            source: t.source,
            destination: t.destination,
            transport: t.transport,
            data: t.data,
        }
    }
}

/// Things the application learns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A local candidate to trickle to the peer (`candidate:…`, W3C `onicecandidate`).
    LocalCandidate(String),
    /// All local candidates are known (W3C `onicecandidate` with null).
    IceGatheringComplete,
    /// W3C `oniceconnectionstatechange`.
    IceConnectionStateChange(IceConnectionState),
    /// W3C `onconnectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// The connection failed (it is, or is about to be reported, [`PeerConnectionState::Failed`]):
    /// why. After a DTLS failure no SRTP key exists, no media or data is delivered and the data
    /// channels are closed; a renegotiation with a new fingerprint or tls-id starts afresh.
    ConnectionFailed(FailureReason),
    /// W3C `onsignalingstatechange`.
    SignalingStateChange(SignalingState),
    /// The peer opened a channel (W3C `ondatachannel`); it is open.
    DataChannel {
        /// Our handle for it.
        id: DataChannelId,
        /// Its label.
        label: String,
        /// Its sub-protocol.
        protocol: String,
    },
    /// A channel we created is open.
    DataChannelOpen {
        /// The channel.
        id: DataChannelId,
    },
    /// A message arrived.
    DataChannelMessage {
        /// The channel.
        id: DataChannelId,
        /// The payload.
        data: Vec<u8>,
        /// Binary (PPID 53/57) or text (51/56).
        binary: bool,
    },
    /// `bufferedAmount` fell to the low threshold.
    DataChannelBufferedAmountLow {
        /// The channel.
        id: DataChannelId,
    },
    /// The channel closed.
    DataChannelClose {
        /// The channel.
        id: DataChannelId,
    },
    /// The remote sends a track on a transceiver (W3C `ontrack`), keyed by mid and msid.
    Track {
        /// The transceiver receiving it.
        transceiver: TransceiverId,
        /// Its m-section.
        mid: String,
        /// Audio or video.
        kind: MediaKind,
        /// `a=msid` stream ids.
        stream_ids: Vec<String>,
        /// `a=msid` track id.
        track_id: Option<String>,
    },
    /// A media packet arrived (SRTP-unprotected, RTX unwrapped).
    Rtp(MediaPacket),
    /// The remote asked for a keyframe of what we send (RTCP PLI or FIR).
    KeyframeRequest {
        /// Our transceiver.
        transceiver: TransceiverId,
        /// Its m-section.
        mid: String,
        /// PLI or FIR.
        kind: KeyframeRequestKind,
    },
    /// The bandwidth estimator's new target for everything we send (from TWCC feedback).
    TargetBitrate {
        /// Bits per second.
        bits_per_second: u64,
    },
}

/// One received media packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPacket {
    /// The transceiver receiving it.
    pub transceiver: TransceiverId,
    /// Its m-section.
    pub mid: String,
    /// The sender's SSRC.
    pub ssrc: u32,
    /// RTP payload type.
    pub payload_type: u8,
    /// RTP sequence number.
    pub sequence_number: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP marker bit (end of a video frame).
    pub marker: bool,
    /// The payload (still packetized for its codec).
    pub payload: Vec<u8>,
    /// Recovered by retransmission (RFC 4588).
    pub repaired: bool,
}

#[cfg(feature = "tokio")]
mod driver;
#[cfg(feature = "tokio")]
pub mod mdns;
#[cfg(feature = "tokio")]
pub use driver::{RtcEvents, RtcPeer};
