//! The sans-IO peer connection: JSEP signaling state plus one bundled transport
//! (ICE → DTLS → SCTP data channels), composed from the protocol crates.

use crate::demux::{PacketClass, classify, is_rtcp};
use crate::ice_servers::{self, Servers};
use crate::jsep::{
    self, LocalParams, LocalSection, MediaSection, RemoteTransport, SdpType, SessionDescriptionInit,
};
use crate::media::{
    self, Codec, CongestionFeedbackCounts, LocalTrack, MediaKind, RemoteMedia, Rfc8888Policy,
    Transceiver, TransceiverId, answer_direction, default_codecs,
};
use crate::stats::{
    CandidatePairStats, CertificateStats, CodecStats, DataChannelStats, IceCandidateStats,
    InboundRtpStreamStats, OutboundRtpStreamStats, PeerConnectionStats,
    RemoteInboundRtpStreamStats, Stats, StatsReport, TransportStats,
};
use crate::{
    DataChannelId, DataChannelInit, Error, Event, FailureReason, MediaPacket, PeerConnectionState,
    RtcConfig, SignalingState, Transmit,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;
use tern_dtls::SrtpProtectionProfile;
use tern_dtls::{Certificate, DtlsConfig, DtlsEndpoint, DtlsEvent, DtlsRole, HashAlgorithm};
use tern_ice::{IceAgent, IceConfig, IceConnectionState, IceCredentials, IceEvent};
use tern_rtp_rtcp::wire::ext::{ExtensionMap, Mid};
use tern_rtp_rtcp::wire::rtp::{RtpHeader, RtpPacket};
use tern_rtp_rtcp::{
    CongestionFeedback, Event as RtpEvent, KeyframeRequestKind, ReceiveStreamConfig, RtpSession,
    SendStreamConfig, SessionConfig, TransmitKind,
};
use tern_sctp::{
    Association, ChannelInit, MessageKind, Reliability, SctpConfig, SctpEvent, StreamParity,
};
use tern_sdp::Direction;
use tern_sdp::{SessionDescription, Setup};
use tern_srtp::{ProtectionProfile, SrtpConfig, SrtpSession, keys_from_dtls_keying_material};

/// One data channel as the application sees it.
struct Channel {
    /// The SCTP stream once the association exists (and the id is known).
    stream: Option<tern_sctp::ChannelId>,
    label: String,
    init: DataChannelInit,
    open: bool,
    counters: Counters,
}

/// Messages (or packets) and payload bytes, each way.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    sent: u64,
    bytes_sent: u64,
    received: u64,
    bytes_received: u64,
}

/// One m-section of our descriptions, in m-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Slot {
    Data {
        mid: String,
    },
    Media {
        mid: String,
        id: TransceiverId,
    },
    /// A remote m-section we cannot use (unknown kind): answered with port 0.
    Rejected {
        mid: String,
        kind: String,
        protocol: String,
        format: String,
    },
}

impl Slot {
    fn mid(&self) -> &str {
        match self {
            Slot::Data { mid } | Slot::Media { mid, .. } | Slot::Rejected { mid, .. } => mid,
        }
    }
}

/// The remote state before a remote offer (W3C rollback restores it).
struct RemoteSnapshot {
    remote: Option<RemoteTransport>,
    transceivers: BTreeMap<TransceiverId, Option<media::RemoteMedia>>,
}

/// RTCP feedback and retransmissions about one SSRC (W3C `nackCount`, `pliCount`, `firCount`,
/// `retransmittedPacketsSent`, `retransmittedBytesSent`).
#[derive(Clone, Copy, Debug, Default)]
struct Feedback {
    nacks: u64,
    plis: u64,
    firs: u64,
    retransmitted_packets: u64,
    retransmitted_bytes: u64,
}

/// How many remote SSRCs learnt from packets (not from SDP) are remembered.
const MAX_LEARNT_SSRCS: usize = 64;

/// A W3C-style peer connection without I/O. See the crate documentation for the run loop.
pub struct PeerConnection {
    config: RtcConfig,
    /// The STUN and TURN servers of `config.ice_servers`, parsed.
    servers: Servers,
    /// Our relayed candidates whose allocation completed over a TCP connection to the TURN
    /// server (inside `handle_relay_stream`), and whether that server is a `turns:` one, for W3C
    /// `relayProtocol`; bounded.
    tcp_relayed: Vec<(SocketAddr, bool)>,
    rng: StdRng,
    certificate: Option<Certificate>,
    fingerprint: String,
    local_ufrag: String,
    local_pwd: String,
    local_addresses: Vec<SocketAddr>,
    local_candidates: Vec<String>,
    gathering_complete: bool,
    session_id: u64,
    session_version: u64,

    signaling: SignalingState,
    pending_local: Option<SessionDescriptionInit>,
    current_local: Option<SessionDescriptionInit>,
    pending_remote: Option<SessionDescriptionInit>,
    current_remote: Option<SessionDescriptionInit>,
    /// Our a=setup in the description we sent last.
    local_setup: Setup,
    /// Our m-sections in m-line order, kept across renegotiation (RFC 8829 §5.2.2).
    sections: Vec<Slot>,
    transceivers: BTreeMap<TransceiverId, Transceiver>,
    next_transceiver: u64,
    /// RTCP CNAME of every stream we send (RFC 7022: random per connection).
    cname: String,
    /// Whether the current negotiation started with our offer.
    we_offered: bool,
    /// The header extensions the media sections settled (one id space per BUNDLE group).
    extensions: Option<Vec<(u8, String)>>,
    extension_map: ExtensionMap,
    rtp: Option<RtpSession>,
    srtp_tx: Option<SrtpSession>,
    srtp_rx: Option<SrtpSession>,
    /// Remote SSRC → the transceiver that receives it.
    remote_ssrcs: BTreeMap<u32, TransceiverId>,
    /// Feedback the remote sent about our SSRCs, and RTX we sent for them.
    feedback_received: BTreeMap<u32, Feedback>,
    /// Feedback we sent about remote SSRCs (only SSRCs in `remote_ssrcs`: bounded).
    feedback_sent: BTreeMap<u32, Feedback>,
    /// The congestion control feedback the RTP session runs (settled when it is created).
    congestion_feedback: Option<CongestionFeedback>,
    /// Congestion control feedback packets sent and received.
    cc_feedback: CongestionFeedbackCounts,
    /// NTP time (RFC 5905 64-bit) at an instant, for sender reports and abs-send-time.
    ntp: (Instant, u64),
    dtls_role: Option<DtlsRole>,
    /// How many of `sections` a completed offer/answer confirmed.
    stable_sections: usize,
    /// What a pending remote offer replaced, for its rollback.
    remote_snapshot: Option<RemoteSnapshot>,
    /// `restart_ice()` was called: the next offer has new credentials.
    ice_restart_pending: bool,
    /// The remote fingerprints and tls-id the DTLS association was made for.
    dtls_identity: Option<(Vec<String>, Option<String>)>,
    /// Datagrams and bytes on the transport.
    transport: Counters,
    channels_opened: u32,
    channels_closed: u32,
    /// When the connection was created (stats timestamps without an NTP time).
    created: Instant,
    remote: Option<RemoteTransport>,

    ice: Option<IceAgent>,
    ice_state: IceConnectionState,
    selected: Option<(SocketAddr, SocketAddr)>,
    dtls: Option<DtlsEndpoint>,
    dtls_connected: bool,
    /// Why the DTLS association failed (sticky until a new association starts): the connection
    /// stays `Failed` whatever ICE does.
    dtls_failure: Option<FailureReason>,
    /// When the DTLS handshake must have completed (armed once ICE connects).
    handshake_deadline: Option<Instant>,
    /// DTLS datagrams that arrived before DTLS existed (the answer still in signaling) or from a
    /// remote ICE had not validated yet (BAD_INPUT row 10): never processed before validation,
    /// replayed once both hold, so a ClientHello racing the answer or the last connectivity check
    /// costs no 1 s retransmission. Bounded by `MAX_EARLY_DTLS`.
    early_dtls: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    sctp: Option<Association>,

    channels: BTreeMap<DataChannelId, Channel>,
    next_channel: u64,
    state: PeerConnectionState,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl PeerConnection {
    /// Creates a peer connection; generates a certificate unless the configuration carries one.
    pub fn new(config: RtcConfig, now: Instant) -> Result<PeerConnection, Error> {
        let servers = ice_servers::servers(&config.ice_servers)?;
        let mut rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        let certificate = match config.certificate.clone() {
            Some(certificate) => certificate,
            None => Certificate::generate_with_rng(&mut rng)?,
        };
        let fingerprint = certificate.fingerprint(HashAlgorithm::Sha256).to_string();
        // RFC 8839 §5.4: ufrag ≥ 4 and pwd ≥ 22 ice-chars; we use 8 and 24 alphanumerics.
        let local_ufrag = random_ice_chars(&mut rng, 8);
        let local_pwd = random_ice_chars(&mut rng, 24);
        // RFC 8829 §5.2.1: a session id that fits in 63 bits.
        let session_id = rng.r#gen::<u64>() >> 1;
        let mut cname_rng = StdRng::seed_from_u64(rng.r#gen());
        Ok(PeerConnection {
            config,
            servers,
            tcp_relayed: Vec::new(),
            rng,
            certificate: Some(certificate),
            fingerprint,
            local_ufrag,
            local_pwd,
            local_addresses: Vec::new(),
            local_candidates: Vec::new(),
            gathering_complete: false,
            session_id,
            session_version: 1,
            signaling: SignalingState::Stable,
            pending_local: None,
            current_local: None,
            pending_remote: None,
            current_remote: None,
            local_setup: Setup::ActPass,
            sections: Vec::new(),
            transceivers: BTreeMap::new(),
            next_transceiver: 0,
            cname: random_ice_chars(&mut cname_rng, 16),
            we_offered: false,
            extensions: None,
            extension_map: ExtensionMap::new(),
            rtp: None,
            srtp_tx: None,
            srtp_rx: None,
            remote_ssrcs: BTreeMap::new(),
            feedback_received: BTreeMap::new(),
            feedback_sent: BTreeMap::new(),
            congestion_feedback: None,
            cc_feedback: CongestionFeedbackCounts::default(),
            ntp: (now, 0),
            dtls_role: None,
            stable_sections: 0,
            remote_snapshot: None,
            ice_restart_pending: false,
            dtls_identity: None,
            transport: Counters::default(),
            channels_opened: 0,
            channels_closed: 0,
            created: now,
            remote: None,
            ice: None,
            ice_state: IceConnectionState::New,
            selected: None,
            dtls: None,
            dtls_connected: false,
            dtls_failure: None,
            handshake_deadline: None,
            early_dtls: VecDeque::new(),
            sctp: None,
            channels: BTreeMap::new(),
            next_channel: 0,
            state: PeerConnectionState::New,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    /// Tells the connection about a local socket the driver owns; it becomes a host candidate.
    pub fn add_local_address(&mut self, now: Instant, address: SocketAddr) {
        if self.local_addresses.contains(&address) {
            return;
        }
        self.local_addresses.push(address);
        if let Some(ice) = self.ice.as_mut() {
            ice.add_local_host_candidate(address);
            self.pump(now);
        }
    }

    /// The `a=fingerprint` value of our certificate (`sha-256 AB:…`).
    pub fn local_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// W3C `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling
    }

    /// W3C `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.state
    }

    /// W3C `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceConnectionState {
        self.ice_state
    }

    /// The description in force locally (pending if any, else current).
    pub fn local_description(&self) -> Option<&SessionDescriptionInit> {
        self.pending_local.as_ref().or(self.current_local.as_ref())
    }

    /// The description in force remotely (pending if any, else current).
    pub fn remote_description(&self) -> Option<&SessionDescriptionInit> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
    }

    /// JSEP `createOffer` (RFC 8829 §5.2).
    pub fn create_offer(&mut self, now: Instant) -> Result<SessionDescriptionInit, Error> {
        self.require_open()?;
        if !matches!(
            self.signaling,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(Error::InvalidState {
                operation: "create_offer",
                state: self.signaling,
            });
        }
        // The offerer of the first offer is the controlling agent (RFC 8445 §6.1.1).
        self.ensure_ice(now, true);
        if self.ice_restart_pending {
            // RFC 8829 §5.2.1 / RFC 8445 §9: an ICE restart offer carries new credentials.
            self.ice_restart_pending = false;
            self.new_local_credentials();
        }
        self.assign_offer_mids();
        let sections = self.local_sections(false);
        // RFC 8829 §5.2.1 / RFC 8842 §5.2: the offerer says actpass.
        Ok(SessionDescriptionInit {
            sdp_type: SdpType::Offer,
            sdp: self.render(Setup::ActPass, &sections),
        })
    }

    /// JSEP `createAnswer` (RFC 8829 §5.3).
    pub fn create_answer(&mut self, now: Instant) -> Result<SessionDescriptionInit, Error> {
        self.require_open()?;
        if !matches!(
            self.signaling,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(Error::InvalidState {
                operation: "create_answer",
                state: self.signaling,
            });
        }
        let remote = self
            .remote
            .as_ref()
            .ok_or(Error::Description("no remote offer"))?;
        // RFC 8842 §5.3: answer actpass with active (so we start DTLS), active with passive.
        let setup = match remote.setup {
            Setup::Active => Setup::Passive,
            Setup::ActPass | Setup::Passive => Setup::Active,
            Setup::HoldConn => return Err(Error::Description("a=setup:holdconn")),
        };
        self.ensure_ice(now, false);
        let sections = self.local_sections(true);
        Ok(SessionDescriptionInit {
            sdp_type: SdpType::Answer,
            sdp: self.render(setup, &sections),
        })
    }

    /// New transceivers and a first data channel get m-sections, appended after the existing
    /// ones (RFC 8829 §5.2.2: existing m-sections keep their positions).
    fn assign_offer_mids(&mut self) {
        let new: Vec<TransceiverId> = self
            .transceivers
            .iter()
            .filter(|(_, t)| t.mid.is_none() && !t.stopped)
            .map(|(id, _)| *id)
            .collect();
        for id in new {
            let mid = self.next_mid();
            if let Some(t) = self.transceivers.get_mut(&id) {
                t.mid = Some(mid.clone());
            }
            self.sections.push(Slot::Media { mid, id });
        }
        let has_data = self.sections.iter().any(|s| matches!(s, Slot::Data { .. }));
        if !has_data && !self.channels.is_empty() {
            let mid = self.next_mid();
            self.sections.push(Slot::Data { mid });
        }
    }

    fn next_mid(&self) -> String {
        let mut n: u32 = 0;
        loop {
            let mid = n.to_string();
            if !self.sections.iter().any(|s| s.mid() == mid) {
                return mid;
            }
            n = n.wrapping_add(1);
        }
    }

    /// What our next offer (`answering` false) or answer says for every m-section.
    fn local_sections(&self, answering: bool) -> Vec<LocalSection> {
        let mut out = Vec::with_capacity(self.sections.len());
        for slot in &self.sections {
            let section = match slot {
                Slot::Data { mid } => LocalSection::Data { mid: mid.clone() },
                Slot::Rejected {
                    mid,
                    kind,
                    protocol,
                    format,
                } => LocalSection::Rejected {
                    mid: mid.clone(),
                    kind: kind.clone(),
                    protocol: protocol.clone(),
                    format: format.clone(),
                },
                Slot::Media { mid, id } => match self.transceivers.get(id) {
                    Some(t) => self.media_section(mid, t, answering),
                    None => continue,
                },
            };
            out.push(section);
        }
        out
    }

    fn media_section(&self, mid: &str, t: &Transceiver, answering: bool) -> LocalSection {
        let rejected = |t: &Transceiver| LocalSection::Rejected {
            mid: mid.to_string(),
            kind: t.kind.as_str().to_string(),
            protocol: "UDP/TLS/RTP/SAVPF".into(),
            format: t
                .remote
                .as_ref()
                .and_then(|r| r.codecs.first())
                .or(t.codecs.first())
                .map(|c| c.payload_type.to_string())
                .unwrap_or_else(|| "0".into()),
        };
        if t.stopped {
            return rejected(t);
        }
        let (mut codecs, mut extensions, direction) = match (answering, t.remote.as_ref()) {
            (true, Some(remote)) => {
                let codecs = media::negotiate_codecs(&t.codecs, &remote.codecs);
                let extensions =
                    media::negotiate_extensions(&remote.extensions, self.ccfb_in(Some(remote)));
                let offered = remote.direction.unwrap_or(Direction::SendRecv);
                (codecs, extensions, answer_direction(t.direction, offered))
            }
            (true, None) => return rejected(t),
            (false, _) => {
                let codecs = if t.negotiated.is_empty() {
                    t.codecs.clone()
                } else {
                    t.negotiated.clone()
                };
                let extensions = self.extensions.clone().unwrap_or_else(|| {
                    media::OFFERED_EXTENSIONS
                        .iter()
                        .map(|(id, uri)| (*id, (*uri).to_string()))
                        .collect()
                });
                (codecs, extensions, t.direction)
            }
        };
        if codecs.is_empty() {
            // RFC 8829 §5.3.1: no codec in common rejects the m-section.
            return rejected(t);
        }
        let ccfb = self.ccfb_in(if answering { t.remote.as_ref() } else { None });
        if ccfb && (answering || self.congestion_feedback.is_some()) {
            // RFC 8888 replaces transport-wide feedback once negotiated; a first offer keeps
            // both so a peer without RFC 8888 answers transport-cc.
            media::without_transport_cc(&mut codecs, &mut extensions);
        }
        if ccfb && !answering && self.congestion_feedback.is_none() {
            media::with_abs_send_time(&mut extensions);
        }
        let rtx = codecs.iter().any(|c| c.rtx_payload_type.is_some());
        LocalSection::Media(MediaSection {
            mid: mid.to_string(),
            kind: t.kind,
            direction,
            codecs,
            extensions,
            msid: t
                .sender
                .as_ref()
                .map(|s| (s.stream_id.clone(), s.track_id.clone())),
            ssrc: t.ssrc,
            rtx_ssrc: if rtx { t.rtx_ssrc } else { None },
            cname: self.cname.clone(),
            ccfb,
        })
    }

    /// Whether an m-section we write carries `a=rtcp-fb:* ack ccfb` ([`Rfc8888Policy`]): once
    /// the RTP session exists, what it runs (kept across renegotiation); before that, in an
    /// answer whether the offer has it and we accept it, in an offer whether we offer it.
    fn ccfb_in(&self, answering_to: Option<&RemoteMedia>) -> bool {
        match (self.congestion_feedback, answering_to) {
            (Some(running), _) => running == CongestionFeedback::Rfc8888,
            (None, Some(offer)) => offer.ccfb && self.config.rfc8888 != Rfc8888Policy::Off,
            (None, None) => self.config.rfc8888 == Rfc8888Policy::Offer,
        }
    }

    fn render(&mut self, setup: Setup, sections: &[LocalSection]) -> String {
        self.session_version = self.session_version.wrapping_add(1);
        jsep::render(&LocalParams {
            session_id: self.session_id,
            session_version: self.session_version,
            ufrag: &self.local_ufrag,
            pwd: &self.local_pwd,
            fingerprint: &self.fingerprint,
            setup,
            candidates: &self.local_candidates,
            end_of_candidates: self.gathering_complete,
            sections,
            sctp_port: self.config.sctp_port,
            max_message_size: self.config.max_message_size,
        })
    }

    /// W3C `setLocalDescription` with a description from `create_offer`/`create_answer`.
    pub fn set_local_description(
        &mut self,
        now: Instant,
        description: SessionDescriptionInit,
    ) -> Result<(), Error> {
        self.require_open()?;
        if description.sdp_type == SdpType::Rollback {
            // W3C rollback carries no SDP.
            if self.signaling != SignalingState::HaveLocalOffer {
                return Err(Error::InvalidState {
                    operation: "rollback",
                    state: self.signaling,
                });
            }
            self.rollback_local();
            return self.set_signaling(SignalingState::Stable);
        }
        let parsed = SessionDescription::parse(&description.sdp)?;
        let setup = parsed
            .media
            .first()
            .and_then(|m| m.setup())
            .unwrap_or(Setup::ActPass);
        let next = match (description.sdp_type, self.signaling) {
            (SdpType::Offer, SignalingState::Stable | SignalingState::HaveLocalOffer) => {
                SignalingState::HaveLocalOffer
            }
            (
                SdpType::Answer,
                SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer,
            ) => SignalingState::Stable,
            (
                SdpType::Pranswer,
                SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer,
            ) => SignalingState::HaveLocalPranswer,
            _ => {
                return Err(Error::InvalidState {
                    operation: "set_local_description",
                    state: self.signaling,
                });
            }
        };
        self.local_setup = setup;
        self.apply_local_credentials(now);
        if description.sdp_type == SdpType::Offer {
            self.we_offered = true;
        }
        if next == SignalingState::Stable {
            self.current_local = Some(description);
            self.pending_local = None;
            self.current_remote = self.pending_remote.take().or(self.current_remote.take());
            self.start_transport(now)?;
            self.apply_media(now);
            self.stable_sections = self.sections.len();
            self.remote_snapshot = None;
        } else {
            self.pending_local = Some(description);
        }
        self.set_signaling(next)
    }

    /// W3C `setRemoteDescription`.
    pub fn set_remote_description(
        &mut self,
        now: Instant,
        description: SessionDescriptionInit,
    ) -> Result<(), Error> {
        self.require_open()?;
        if description.sdp_type == SdpType::Rollback {
            if self.signaling != SignalingState::HaveRemoteOffer {
                return Err(Error::InvalidState {
                    operation: "rollback",
                    state: self.signaling,
                });
            }
            self.rollback_remote();
            return self.set_signaling(SignalingState::Stable);
        }
        // Parse and validate completely before any state changes: a rejected description leaves
        // the connection exactly as it was.
        let parsed = SessionDescription::parse(&description.sdp)?;
        let remote = jsep::remote_transport(&parsed)?;
        let next = match (description.sdp_type, self.signaling) {
            // W3C setRemoteDescription: an offer in have-local-offer first rolls our offer back
            // (the polite peer's side of perfect negotiation, resolving glare).
            (
                SdpType::Offer,
                SignalingState::Stable
                | SignalingState::HaveRemoteOffer
                | SignalingState::HaveLocalOffer,
            ) => SignalingState::HaveRemoteOffer,
            (
                SdpType::Answer,
                SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer,
            ) => SignalingState::Stable,
            (
                SdpType::Pranswer,
                SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer,
            ) => SignalingState::HaveRemotePranswer,
            _ => {
                return Err(Error::InvalidState {
                    operation: "set_remote_description",
                    state: self.signaling,
                });
            }
        };
        if description.sdp_type != SdpType::Offer && !remote.setup_present {
            // RFC 8842 §5.3: the answerer picks the role with a=setup:active or passive.
            return Err(Error::Description("an answer must carry a=setup"));
        }
        if description.sdp_type != SdpType::Offer && remote.setup == Setup::ActPass {
            return Err(Error::Description("an answer must not say a=setup:actpass"));
        }
        // A remote offer makes us the controlled agent unless the offerer is ICE-lite.
        self.ensure_ice(
            now,
            remote.ice_lite && description.sdp_type == SdpType::Offer,
        );
        let remote_restarted = self
            .remote
            .as_ref()
            .is_some_and(|old| old.ufrag != remote.ufrag || old.pwd != remote.pwd);
        if remote_restarted && description.sdp_type == SdpType::Offer {
            // RFC 8445 §9: the peer restarts ICE; our answer brings new credentials too.
            self.new_local_credentials();
            self.apply_local_credentials(now);
        }
        if let Some(ice) = self.ice.as_mut() {
            ice.set_remote_credentials(remote.ufrag.clone(), remote.pwd.clone());
            for candidate in &remote.candidates {
                if let Ok(candidate) = crate::candidate::to_ice(candidate) {
                    let _ = ice.add_remote_candidate(now, candidate);
                }
            }
            if remote.end_of_candidates {
                ice.end_of_remote_candidates();
            }
        }
        if description.sdp_type == SdpType::Offer {
            if self.signaling == SignalingState::HaveLocalOffer {
                self.rollback_local();
            }
            if self.signaling != SignalingState::HaveRemoteOffer {
                // Our own unapplied offer's sections are forgotten before the peer's are read.
                self.forget_unapplied_sections();
                self.remote_snapshot = Some(RemoteSnapshot {
                    remote: self.remote.clone(),
                    transceivers: self
                        .transceivers
                        .iter()
                        .map(|(id, t)| (*id, t.remote.clone()))
                        .collect(),
                });
            }
        }
        self.remote = Some(remote);
        let is_offer = description.sdp_type == SdpType::Offer;
        if is_offer {
            self.we_offered = false;
        }
        self.apply_remote_sections(&parsed, is_offer);
        if next == SignalingState::Stable {
            self.current_remote = Some(description);
            self.pending_remote = None;
            self.current_local = self.pending_local.take().or(self.current_local.take());
            self.start_transport(now)?;
            self.apply_media(now);
            self.stable_sections = self.sections.len();
            self.remote_snapshot = None;
        } else {
            self.pending_remote = Some(description);
        }
        self.set_signaling(next)?;
        self.pump(now);
        Ok(())
    }

    /// Records what a remote description says per m-section: new sections from an offer get a
    /// slot (and a transceiver), known ones their remote parameters. Cannot fail.
    fn apply_remote_sections(&mut self, parsed: &SessionDescription, is_offer: bool) {
        for (index, m) in parsed.media.iter().enumerate() {
            let mid = media::section_mid(m, index);
            let existing = self.sections.iter().find(|s| s.mid() == mid).cloned();
            if m.is_data_channel() {
                if existing.is_none() && is_offer {
                    self.sections.push(Slot::Data { mid });
                }
                continue;
            }
            let Some(kind) = MediaKind::from_sdp(&m.kind) else {
                if existing.is_none() && is_offer {
                    self.sections.push(Slot::Rejected {
                        mid,
                        kind: m.kind.as_str().to_string(),
                        protocol: m.protocol.clone(),
                        format: m.formats.first().cloned().unwrap_or_else(|| "0".into()),
                    });
                }
                continue;
            };
            let id = match existing {
                Some(Slot::Media { id, .. }) => id,
                Some(_) => continue,
                // An answer cannot add m-sections (RFC 3264 §6).
                None if !is_offer => continue,
                None => {
                    // W3C setRemoteDescription: a transceiver addTrack made and no m-section
                    // holds yet takes the new section of its kind; else a recvonly one is made.
                    let reuse = self
                        .transceivers
                        .iter()
                        .find(|(_, t)| t.mid.is_none() && t.kind == kind && !t.stopped)
                        .map(|(id, _)| *id);
                    let id = match reuse {
                        Some(id) => id,
                        None => self.new_transceiver(kind, Direction::RecvOnly, None),
                    };
                    if let Some(t) = self.transceivers.get_mut(&id) {
                        t.mid = Some(mid.clone());
                    }
                    self.sections.push(Slot::Media { mid, id });
                    id
                }
            };
            let remote = media::remote_media(m);
            if let Some(t) = self.transceivers.get_mut(&id) {
                // RFC 8843 §7.3.3: port 0 without a=bundle-only rejects the section.
                if m.port == 0 && !m.bundle_only() {
                    t.stopped = true;
                }
                let same_sender = t.remote.as_ref().is_some_and(|r| {
                    r.stream_ids == remote.stream_ids && r.track_id == remote.track_id
                });
                if !same_sender {
                    t.track_announced = false;
                }
                t.remote = Some(remote);
            }
        }
    }

    fn new_transceiver(
        &mut self,
        kind: MediaKind,
        direction: Direction,
        sender: Option<LocalTrack>,
    ) -> TransceiverId {
        let id = TransceiverId(self.next_transceiver);
        self.next_transceiver = self.next_transceiver.wrapping_add(1);
        let ssrc = self.fresh_ssrc();
        let codecs = default_codecs(kind);
        let rtx_ssrc = if codecs.iter().any(|c| c.rtx_payload_type.is_some()) {
            Some(self.fresh_ssrc())
        } else {
            None
        };
        let transceiver = Transceiver {
            kind,
            mid: None,
            direction,
            current_direction: None,
            sender,
            codecs,
            ssrc,
            rtx_ssrc,
            remote: None,
            negotiated: Vec::new(),
            stopped: false,
            track_announced: false,
            sequence: self.rng.r#gen(),
            timestamp_offset: self.rng.r#gen(),
            packets_sent: 0,
            bytes_sent: 0,
        };
        self.transceivers.insert(id, transceiver);
        id
    }

    /// A random SSRC none of our streams uses (RFC 3550 §8.1), never 0.
    fn fresh_ssrc(&mut self) -> u32 {
        loop {
            let ssrc: u32 = self.rng.r#gen();
            let taken = self
                .transceivers
                .values()
                .any(|t| t.ssrc == ssrc || t.rtx_ssrc == Some(ssrc));
            if ssrc != 0 && !taken {
                return ssrc;
            }
        }
    }

    /// Both descriptions are in place: settle every transceiver's codecs and direction, create
    /// the RTP session for the bundle, its send and receive streams, and announce remote tracks.
    fn apply_media(&mut self, now: Instant) {
        let we_offered = self.we_offered;
        for t in self.transceivers.values_mut() {
            let Some(remote) = t.remote.as_ref() else {
                continue;
            };
            if t.stopped || t.mid.is_none() {
                t.current_direction = None;
                continue;
            }
            t.negotiated = media::negotiate_codecs(&t.codecs, &remote.codecs);
            let remote_direction = remote.direction.unwrap_or(Direction::SendRecv);
            t.current_direction = if t.negotiated.is_empty() {
                None
            } else if we_offered {
                // The answer's direction is the remote's view; ours is its reverse.
                Some(remote_direction.reverse())
            } else {
                Some(answer_direction(t.direction, remote_direction))
            };
        }
        let first = self
            .transceivers
            .values()
            .find(|t| t.current_direction.is_some());
        let Some(first) = first else { return };
        if self.rtp.is_none() {
            // RFC 8888 §6: feedback per `a=rtcp-fb:* ack ccfb` when both descriptions carry it
            // (our offer and their answer, or their offer and our answer); otherwise
            // transport-wide feedback, as the m-sections we wrote say.
            let ccfb = first.remote.as_ref().is_some_and(|r| {
                r.ccfb
                    && if we_offered {
                        self.config.rfc8888 == Rfc8888Policy::Offer
                    } else {
                        self.config.rfc8888 != Rfc8888Policy::Off
                    }
            });
            let (mut extensions, rsize) = match first.remote.as_ref() {
                Some(r) => (
                    media::negotiate_extensions(&r.extensions, ccfb),
                    r.rtcp_rsize,
                ),
                None => (Vec::new(), false),
            };
            let twcc = extensions
                .iter()
                .any(|(_, uri)| uri == tern_rtp_rtcp::wire::ext::URI_TRANSPORT_WIDE_CC);
            let congestion_feedback = if ccfb {
                media::without_transport_cc(&mut [], &mut extensions);
                CongestionFeedback::Rfc8888
            } else if twcc {
                CongestionFeedback::TransportWideCc
            } else {
                // Neither negotiated (no transport-wide sequence numbers to report on).
                CongestionFeedback::None
            };
            let mut map = ExtensionMap::new();
            for (id, uri) in &extensions {
                // An id the map cannot hold is one we simply do not use.
                let _ = map.insert_uri(*id, uri);
            }
            let config = SessionConfig {
                rtcp_ssrc: first.ssrc,
                cname: self.cname.clone(),
                extensions: map.clone(),
                reduced_size_rtcp: rsize,
                seed: self.config.seed.map(|_| self.rng.r#gen()),
                congestion_feedback,
                ..SessionConfig::default()
            };
            self.congestion_feedback = Some(congestion_feedback);
            let ntp = ntp_at(self.ntp, now);
            self.rtp = Some(RtpSession::new(config, now, ntp));
            self.extensions = Some(extensions);
            self.extension_map = map;
        }
        let Some(rtp) = self.rtp.as_mut() else { return };
        for (id, t) in &mut self.transceivers {
            let (Some(codec), Some(remote)) = (t.negotiated.first(), t.remote.as_ref()) else {
                continue;
            };
            if t.can_send() && rtp.send_stream(t.ssrc).is_none() {
                let mut config = SendStreamConfig::new(t.ssrc, codec.clock_rate);
                if codec.rtx_payload_type.is_some() {
                    config.rtx_ssrc = t.rtx_ssrc;
                    // (media, RTX) payload types.
                    config.rtx_payload_types = t
                        .negotiated
                        .iter()
                        .filter_map(|c| c.rtx_payload_type.map(|r| (c.payload_type, r)))
                        .collect();
                }
                rtp.add_send_stream(config);
            }
            if t.can_receive() {
                for (ssrc, rtx) in &remote.ssrcs {
                    if rtp.receive_stream(*ssrc).is_none() {
                        let mut config = ReceiveStreamConfig::new(*ssrc, codec.clock_rate);
                        config.rtx_ssrc = *rtx;
                        // (RTX, media) payload types.
                        config.rtx_payload_types = t
                            .negotiated
                            .iter()
                            .filter_map(|c| c.rtx_payload_type.map(|r| (r, c.payload_type)))
                            .collect();
                        rtp.add_receive_stream(config);
                    }
                    self.remote_ssrcs.insert(*ssrc, *id);
                }
                if !t.track_announced {
                    t.track_announced = true;
                    self.events.push_back(Event::Track {
                        transceiver: *id,
                        mid: t.mid.clone().unwrap_or_default(),
                        kind: t.kind,
                        stream_ids: remote.stream_ids.clone(),
                        track_id: remote.track_id.clone(),
                    });
                }
            }
        }
        self.pump(now);
    }

    /// W3C `addTrack`: a transceiver that sends this track — one a remote offer made that sends
    /// nothing yet, else a new sendrecv one. Renegotiate to put it on the wire.
    pub fn add_track(
        &mut self,
        kind: MediaKind,
        stream_id: &str,
        track_id: &str,
    ) -> Result<TransceiverId, Error> {
        self.require_open()?;
        let sender = LocalTrack {
            stream_id: stream_id.to_string(),
            track_id: track_id.to_string(),
        };
        let reuse = self
            .transceivers
            .iter()
            .find(|(_, t)| t.kind == kind && t.sender.is_none() && !t.stopped)
            .map(|(id, _)| *id);
        if let Some(id) = reuse
            && let Some(t) = self.transceivers.get_mut(&id)
        {
            t.sender = Some(sender);
            t.direction = match t.direction {
                Direction::RecvOnly | Direction::SendRecv => Direction::SendRecv,
                _ => Direction::SendOnly,
            };
            return Ok(id);
        }
        Ok(self.new_transceiver(kind, Direction::SendRecv, Some(sender)))
    }

    /// W3C `addTransceiver(kind, {direction})` without a track.
    pub fn add_transceiver(
        &mut self,
        kind: MediaKind,
        direction: Direction,
    ) -> Result<TransceiverId, Error> {
        self.require_open()?;
        Ok(self.new_transceiver(kind, direction, None))
    }

    /// W3C `setCodecPreferences`: the codecs (a subset of Tern's, matched by name) in the order
    /// to offer them. Takes effect at the next negotiation.
    pub fn set_codec_preferences(
        &mut self,
        transceiver: TransceiverId,
        names: &[&str],
    ) -> Result<(), Error> {
        let t = self
            .transceivers
            .get_mut(&transceiver)
            .ok_or(Error::UnknownTransceiver(transceiver))?;
        let available = default_codecs(t.kind);
        let mut codecs = Vec::new();
        for name in names {
            let codec = available
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
                .ok_or(Error::Description(
                    "a preferred codec Tern does not implement",
                ))?;
            codecs.push(codec.clone());
        }
        if codecs.is_empty() {
            codecs = available;
        }
        t.codecs = codecs;
        Ok(())
    }

    /// W3C `RTCRtpTransceiver.direction` (takes effect at the next negotiation).
    pub fn set_direction(
        &mut self,
        transceiver: TransceiverId,
        direction: Direction,
    ) -> Result<(), Error> {
        let t = self
            .transceivers
            .get_mut(&transceiver)
            .ok_or(Error::UnknownTransceiver(transceiver))?;
        t.direction = direction;
        Ok(())
    }

    /// The transceiver's mid, once an offer or answer gave it one.
    pub fn transceiver_mid(&self, transceiver: TransceiverId) -> Option<&str> {
        self.transceivers
            .get(&transceiver)
            .and_then(|t| t.mid.as_deref())
    }

    /// W3C `currentDirection`: `None` before negotiation, or when the section was rejected.
    pub fn current_direction(&self, transceiver: TransceiverId) -> Option<Direction> {
        self.transceivers
            .get(&transceiver)
            .and_then(|t| t.current_direction)
    }

    /// The codecs the last negotiation settled; the first is the one [`write_rtp`] sends.
    ///
    /// [`write_rtp`]: Self::write_rtp
    pub fn negotiated_codecs(&self, transceiver: TransceiverId) -> &[Codec] {
        self.transceivers
            .get(&transceiver)
            .map(|t| t.negotiated.as_slice())
            .unwrap_or(&[])
    }

    /// The congestion control feedback the connection's RTP session runs (settled by the first
    /// negotiation with media, see [`Rfc8888Policy`]): RFC 8888 when both sides have
    /// `ack ccfb`, else transport-wide when the transport-wide sequence number extension was
    /// negotiated, else [`CongestionFeedback::None`]; `None` (no session) before that.
    pub fn congestion_feedback(&self) -> Option<CongestionFeedback> {
        self.congestion_feedback
    }

    /// Congestion control feedback packets (transport-wide and RFC 8888) sent and received.
    pub fn congestion_feedback_counts(&self) -> CongestionFeedbackCounts {
        self.cc_feedback
    }

    /// Our SSRC on a transceiver.
    pub fn local_ssrc(&self, transceiver: TransceiverId) -> Option<u32> {
        self.transceivers.get(&transceiver).map(|t| t.ssrc)
    }

    /// Tells the connection the wall-clock time (NTP format, RFC 5905) at `now`, for RTCP
    /// sender reports and abs-send-time. Without it, NTP time counts from 0 at creation.
    pub fn set_ntp_time(&mut self, now: Instant, ntp: u64) {
        self.ntp = (now, ntp);
        if let Some(rtp) = self.rtp.as_mut() {
            rtp.set_ntp_time(now, ntp);
        }
    }

    /// Sends one RTP packet of the transceiver's track: `payload` already packetized for the
    /// negotiated codec (the first of [`negotiated_codecs`](Self::negotiated_codecs)),
    /// `rtp_timestamp` in that codec's clock (Tern adds a random offset). Tern sets payload type,
    /// SSRC, sequence number and the mid / transport-wide-cc extensions, then paces, keeps it for
    /// RTX, SRTP-protects and sends it on the selected pair.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        transceiver: TransceiverId,
        payload: &[u8],
        rtp_timestamp: u32,
        marker: bool,
    ) -> Result<(), Error> {
        self.require_open()?;
        let t = self
            .transceivers
            .get_mut(&transceiver)
            .ok_or(Error::UnknownTransceiver(transceiver))?;
        let (true, Some(codec), Some(rtp)) =
            (t.can_send(), t.negotiated.first(), self.rtp.as_mut())
        else {
            return Err(Error::NotSending(transceiver));
        };
        let mut header = RtpHeader {
            marker,
            payload_type: codec.payload_type,
            sequence_number: t.sequence,
            timestamp: rtp_timestamp.wrapping_add(t.timestamp_offset),
            ssrc: t.ssrc,
            ..RtpHeader::default()
        };
        if let Some(mid) = &t.mid {
            // RFC 8843 §15: the mid header extension identifies the m-section in a bundle.
            self.extension_map.write(&mut header, &Mid(mid.clone()));
        }
        let packet = header.to_vec(payload, 0)?;
        rtp.send_rtp(now, &packet)?;
        t.sequence = t.sequence.wrapping_add(1);
        t.packets_sent += 1;
        t.bytes_sent += payload.len() as u64;
        self.pump(now);
        Ok(())
    }

    /// Asks the remote for a keyframe of what it sends on this transceiver (PLI or FIR).
    pub fn request_keyframe(
        &mut self,
        now: Instant,
        transceiver: TransceiverId,
        kind: KeyframeRequestKind,
    ) -> Result<(), Error> {
        let rtp = self.rtp.as_mut().ok_or(Error::NotReceiving(transceiver))?;
        let ssrcs: Vec<u32> = self
            .remote_ssrcs
            .iter()
            .filter(|(_, id)| **id == transceiver)
            .map(|(ssrc, _)| *ssrc)
            .collect();
        if ssrcs.is_empty() {
            return Err(Error::NotReceiving(transceiver));
        }
        for ssrc in ssrcs {
            rtp.request_keyframe(ssrc, kind);
        }
        self.pump(now);
        Ok(())
    }

    /// Sections and mids our last offer added and no completed exchange confirmed are dropped.
    fn forget_unapplied_sections(&mut self) {
        self.sections.truncate(self.stable_sections);
        let sections = &self.sections;
        for t in self.transceivers.values_mut() {
            if let Some(mid) = t.mid.as_deref()
                && !sections.iter().any(|s| s.mid() == mid)
            {
                t.mid = None;
            }
        }
    }

    /// Undoes our pending offer (explicit rollback, or implicitly when the peer's offer wins).
    fn rollback_local(&mut self) {
        self.pending_local = None;
        self.forget_unapplied_sections();
    }

    /// Undoes the peer's pending offer: its new sections and the transceivers it made go, the
    /// remote parameters in force before it come back.
    fn rollback_remote(&mut self) {
        self.pending_remote = None;
        let Some(snapshot) = self.remote_snapshot.take() else {
            return;
        };
        self.remote = snapshot.remote;
        self.transceivers
            .retain(|id, t| snapshot.transceivers.contains_key(id) || t.sender.is_some());
        for (id, t) in &mut self.transceivers {
            t.remote = snapshot.transceivers.get(id).cloned().flatten();
        }
        self.forget_unapplied_sections();
        if let (Some(ice), Some(remote)) = (self.ice.as_mut(), self.remote.as_ref()) {
            ice.set_remote_credentials(remote.ufrag.clone(), remote.pwd.clone());
        }
    }

    /// W3C `restartIce()`: the next offer carries new ICE credentials (RFC 8445 §9). The current
    /// pair keeps carrying everything until the restarted checks select a new one; DTLS, SCTP and
    /// SRTP are untouched.
    pub fn restart_ice(&mut self) {
        if self.ice.is_some() {
            self.ice_restart_pending = true;
        }
    }

    /// The ufrag our descriptions carry (changes with an ICE restart).
    pub fn local_ice_ufrag(&self) -> &str {
        &self.local_ufrag
    }

    fn new_local_credentials(&mut self) {
        // RFC 8839 §5.4: ufrag ≥ 4 and pwd ≥ 22 ice-chars.
        self.local_ufrag = random_ice_chars(&mut self.rng, 8);
        self.local_pwd = random_ice_chars(&mut self.rng, 24);
        // The candidates are the same sockets; they are signalled again with the new ufrag.
        self.gathering_complete = !self.local_addresses.is_empty();
    }

    /// Hands the agent our credentials when they changed: a local ICE restart.
    fn apply_local_credentials(&mut self, now: Instant) {
        let Some(ice) = self.ice.as_mut() else { return };
        if ice.local_credentials().ufrag != self.local_ufrag {
            ice.restart(
                now,
                IceCredentials {
                    ufrag: self.local_ufrag.clone(),
                    pwd: self.local_pwd.clone(),
                },
            );
        }
    }

    /// W3C `addIceCandidate` (trickle, RFC 8838). An empty candidate means end-of-candidates.
    pub fn add_ice_candidate(&mut self, now: Instant, candidate: &str) -> Result<(), Error> {
        self.require_open()?;
        let ice = self.ice.as_mut().ok_or(Error::InvalidState {
            operation: "add_ice_candidate before a remote description",
            state: self.signaling,
        })?;
        let candidate = candidate.trim();
        if candidate.is_empty() {
            ice.end_of_remote_candidates();
            return Ok(());
        }
        let parsed =
            tern_sdp::Candidate::parse(candidate).map_err(|e| Error::Candidate(e.to_string()))?;
        let candidate = crate::candidate::to_ice(&parsed)?;
        ice.add_remote_candidate(now, candidate)?;
        self.pump(now);
        Ok(())
    }

    /// W3C `createDataChannel`. Before negotiation the channel waits for the transport; the first
    /// channel also makes the next offer carry an m=application section.
    pub fn create_data_channel(
        &mut self,
        now: Instant,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannelId, Error> {
        self.require_open()?;
        let id = DataChannelId(self.next_channel);
        self.next_channel = self.next_channel.wrapping_add(1);
        self.channels.insert(
            id,
            Channel {
                stream: None,
                label: label.to_string(),
                init,
                open: false,
                counters: Counters::default(),
            },
        );
        if self.sctp.is_some() {
            self.open_stream(now, id)?;
            self.pump(now);
        }
        Ok(id)
    }

    /// Sends one message on an open data channel.
    pub fn send(
        &mut self,
        now: Instant,
        channel: DataChannelId,
        data: &[u8],
        binary: bool,
    ) -> Result<(), Error> {
        self.require_open()?;
        let stream = self
            .channels
            .get(&channel)
            .and_then(|c| c.stream)
            .ok_or(Error::UnknownChannel(channel))?;
        let sctp = self.sctp.as_mut().ok_or(Error::UnknownChannel(channel))?;
        let kind = if binary {
            MessageKind::Binary
        } else {
            MessageKind::Text
        };
        sctp.send(now, stream, data, kind)?;
        if let Some(c) = self.channels.get_mut(&channel) {
            c.counters.sent += 1;
            c.counters.bytes_sent += data.len() as u64;
        }
        self.pump(now);
        Ok(())
    }

    /// W3C `bufferedAmount` of a channel.
    pub fn buffered_amount(&self, channel: DataChannelId) -> usize {
        match (
            self.channels.get(&channel).and_then(|c| c.stream),
            self.sctp.as_ref(),
        ) {
            (Some(stream), Some(sctp)) => sctp.buffered_amount(stream),
            _ => 0,
        }
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, channel: DataChannelId, threshold: usize) {
        if let (Some(stream), Some(sctp)) = (
            self.channels.get(&channel).and_then(|c| c.stream),
            self.sctp.as_mut(),
        ) {
            sctp.set_buffered_amount_low_threshold(stream, threshold);
        }
    }

    /// Closes one data channel (RFC 8831 §6.7: by resetting its stream).
    pub fn close_data_channel(
        &mut self,
        now: Instant,
        channel: DataChannelId,
    ) -> Result<(), Error> {
        let stream = self
            .channels
            .get(&channel)
            .and_then(|c| c.stream)
            .ok_or(Error::UnknownChannel(channel))?;
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.close_channel(now, stream)?;
        }
        self.pump(now);
        Ok(())
    }

    /// W3C `close()`: SCTP shutdown, DTLS close_notify, then nothing more is sent or delivered.
    pub fn close(&mut self, now: Instant) {
        if self.signaling == SignalingState::Closed {
            return;
        }
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.abort();
        }
        self.pump(now);
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.close();
        }
        self.flush_dtls();
        self.signaling = SignalingState::Closed;
        self.set_state(PeerConnectionState::Closed);
        self.sctp = None;
        self.dtls = None;
        self.ice = None;
        self.rtp = None;
        self.srtp_tx = None;
        self.srtp_rx = None;
        self.handshake_deadline = None;
        self.early_dtls.clear();
    }

    /// Feeds one received datagram (RFC 7983 demultiplexing on the bundled transport).
    pub fn handle_receive(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Error> {
        self.require_open()?;
        self.transport.received += 1;
        self.transport.bytes_received += datagram.len() as u64;
        let result = match classify(datagram) {
            PacketClass::Stun => match self.ice.as_mut() {
                Some(ice) => ice
                    .handle_receive(now, local, remote, datagram)
                    .map_err(Error::from),
                None => Err(Error::Dropped("STUN before any description")),
            },
            // RFC 7983 §7: 64–79 is TURN ChannelData, from the server of one of our relays.
            PacketClass::Unknown if datagram.first().is_some_and(|b| (64..=79).contains(b)) => {
                match self.ice.as_mut() {
                    Some(ice) => ice
                        .handle_receive(now, local, remote, datagram)
                        .map_err(Error::from),
                    None => Err(Error::Dropped("TURN ChannelData before any description")),
                }
            }
            _ => self.receive_transport(now, local, remote, datagram),
        };
        self.pump(now);
        result
    }

    /// DTLS and SRTP/SRTCP from `remote` to `local` (a host socket, or one of our relayed
    /// addresses for what a TURN server relayed).
    fn receive_transport(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Error> {
        match classify(datagram) {
            PacketClass::Dtls => {
                // BAD_INPUT row 10 (CVE-2023-51443 class): DTLS only from a 5-tuple ICE validated,
                // dropped silently otherwise — no alert, no state change.
                let validated = self
                    .ice
                    .as_ref()
                    .is_some_and(|ice| ice.is_validated_remote(local, remote));
                match self.dtls.as_mut() {
                    Some(dtls) if validated => {
                        dtls.handle_receive(now, datagram).map_err(Error::from)
                    }
                    // Held (bounded) until ICE validates the address — or, before the answer
                    // arrives, until DTLS exists: the answerer's ClientHello often beats its
                    // answer through signaling, and dropping it costs a 1 s retransmission.
                    _ if self.ice.is_some() => {
                        if self.early_dtls.len() >= MAX_EARLY_DTLS {
                            self.early_dtls.pop_front();
                        }
                        self.early_dtls
                            .push_back((local, remote, datagram.to_vec()));
                        Err(Error::Dropped(
                            "DTLS before negotiation or from an address ICE has not validated (held)",
                        ))
                    }
                    _ => Err(Error::Dropped("DTLS before negotiation")),
                }
            }
            PacketClass::Rtp => {
                // BAD_INPUT row 10: SRTP only from a 5-tuple ICE validated, dropped otherwise.
                let validated = self
                    .ice
                    .as_ref()
                    .is_some_and(|ice| ice.is_validated_remote(local, remote));
                if validated {
                    self.receive_srtp(now, datagram)
                } else {
                    Err(Error::Dropped("SRTP from an address ICE has not validated"))
                }
            }
            PacketClass::Unknown => Err(Error::Dropped("not STUN, DTLS or RTP (RFC 7983)")),
            PacketClass::Stun => Err(Error::Dropped("STUN is the ICE agent's")),
        }
    }

    /// Feeds bytes read from the driver's TCP connection to TURN server `server` (a
    /// `turn:…?transport=tcp` server; the connection a [`Transmit`] with
    /// [`TransportProtocol::Tcp`](crate::TransportProtocol::Tcp) asked for), in any chunking:
    /// the TURN client reframes the stream (RFC 8656 §3.1). What the server relays from the
    /// peer is then demultiplexed like any received datagram.
    pub fn handle_relay_stream(
        &mut self,
        now: Instant,
        server: SocketAddr,
        bytes: &[u8],
    ) -> Result<(), Error> {
        self.require_open()?;
        self.transport.bytes_received += bytes.len() as u64;
        let result = match self.ice.as_mut() {
            Some(ice) => {
                // A relayed candidate that appears now was allocated over this TCP connection.
                let relayed = |ice: &IceAgent| -> Vec<SocketAddr> {
                    ice.local_candidates()
                        .into_iter()
                        .filter(|c| c.kind == tern_ice::CandidateKind::Relayed)
                        .map(|c| c.address)
                        .collect()
                };
                let before = relayed(ice);
                let result = ice.handle_relay_stream(now, server, bytes);
                let tls = self.servers.tls.contains(&server);
                for address in relayed(ice) {
                    if !before.contains(&address)
                        && !self.tcp_relayed.iter().any(|(a, _)| *a == address)
                    {
                        if self.tcp_relayed.len() >= MAX_TCP_RELAYED {
                            self.tcp_relayed.remove(0);
                        }
                        self.tcp_relayed.push((address, tls));
                    }
                }
                result.map_err(Error::from)
            }
            None => Err(Error::Dropped("TURN stream bytes before any description")),
        };
        self.pump(now);
        result
    }

    /// The driver's TCP connection to TURN server `server` failed, could not be opened, or
    /// closed: the allocations on it are gone (RFC 8656 §3.1: a TCP allocation lives as long as
    /// its connection), so their relayed candidates and pairs fail.
    pub fn relay_stream_closed(&mut self, now: Instant, server: SocketAddr) {
        if let Some(ice) = self.ice.as_mut() {
            ice.relay_stream_closed(now, server);
        }
        self.pump(now);
    }

    /// Drives timers; call at [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(ice) = self.ice.as_mut() {
            ice.handle_timeout(now);
        }
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.handle_timeout(now);
        }
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.handle_timeout(now);
        }
        if let Some(rtp) = self.rtp.as_mut() {
            rtp.handle_timeout(now);
        }
        if self
            .handshake_deadline
            .is_some_and(|deadline| deadline <= now)
            && !self.dtls_connected
        {
            self.fail_dtls(FailureReason::DtlsHandshakeTimeout(
                self.config.dtls_handshake_timeout,
            ));
        }
        self.pump(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let transmit = self.transmits.pop_front()?;
        self.transport.sent += 1;
        self.transport.bytes_sent += transmit.data.len() as u64;
        Some(transmit)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.ice.as_ref().and_then(|i| i.poll_timeout()),
            self.dtls.as_ref().and_then(|d| d.poll_timeout()),
            self.sctp.as_ref().and_then(|s| s.poll_timeout()),
            self.rtp.as_ref().and_then(|r| r.poll_timeout()),
            self.handshake_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Only `close()` ends the connection for the application (W3C `[[IsClosed]]`); a peer's
    /// DTLS close_notify shows as `Closed` state but renegotiation can still start anew.
    fn require_open(&self) -> Result<(), Error> {
        if self.signaling == SignalingState::Closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn set_signaling(&mut self, next: SignalingState) -> Result<(), Error> {
        if self.signaling != next {
            self.signaling = next;
            self.events.push_back(Event::SignalingStateChange(next));
        }
        Ok(())
    }

    fn set_state(&mut self, next: PeerConnectionState) {
        // A failed DTLS association keeps the connection Failed (W3C: any transport failed)
        // until close() or a new association.
        if self.dtls_failure.is_some()
            && !matches!(
                next,
                PeerConnectionState::Failed | PeerConnectionState::Closed
            )
        {
            return;
        }
        if self.state != next {
            self.state = next;
            self.events.push_back(Event::ConnectionStateChange(next));
        }
    }

    fn ensure_ice(&mut self, now: Instant, controlling: bool) {
        if self.ice.is_some() {
            return;
        }
        let credentials = IceCredentials {
            ufrag: self.local_ufrag.clone(),
            pwd: self.local_pwd.clone(),
        };
        let mut config = IceConfig::with_credentials(
            controlling,
            credentials,
            self.rng.r#gen(),
            self.rng.r#gen(),
        );
        // RFC 8445 §5.1.1.2: srflx candidates from the STUN servers, relayed ones from the TURN
        // servers (tern-turn's client inside the agent, over the host sockets).
        config.stun_servers = self.servers.stun.clone();
        config.turn_servers = self.servers.turn.clone();
        config.relay_only = self.config.ice_transport_policy == crate::IceTransportPolicy::Relay;
        let mut ice = IceAgent::new(config, now);
        for address in &self.local_addresses {
            ice.add_local_host_candidate(*address);
        }
        if !self.local_addresses.is_empty() {
            // The agent reports GatheringComplete once its STUN/TURN transactions are done.
            ice.end_of_local_candidates();
        }
        self.ice = Some(ice);
        self.pump(now);
        // Host candidates alone are known at once: gathering is complete when the sockets are.
        let servers = !self.servers.stun.is_empty() || !self.servers.turn.is_empty();
        if !servers && !self.local_addresses.is_empty() && !self.gathering_complete {
            self.gathering_complete = true;
            self.events.push_back(Event::IceGatheringComplete);
        }
    }

    /// Both descriptions are in place: create DTLS (role from a=setup) and SCTP.
    fn start_transport(&mut self, now: Instant) -> Result<(), Error> {
        let remote = self
            .remote
            .as_ref()
            .ok_or(Error::Description("no remote description"))?;
        let identity = remote_identity(remote);
        if self.dtls.is_some() {
            if self.dtls_identity.as_ref() == Some(&identity) {
                // Renegotiation keeps the DTLS association; it may add the data section.
                self.ensure_sctp(now)?;
                self.pump(now);
                return Ok(());
            }
            // RFC 8842 §5.4 (tls-id) and BAD_INPUT row 38: a new fingerprint or tls-id means a
            // new DTLS association; nothing of the old one (keys, SCTP) is used again.
            self.reset_dtls();
        }
        let remote = self
            .remote
            .as_ref()
            .ok_or(Error::Description("no remote description"))?;
        // RFC 8842 §5: "active" opens the DTLS connection (is the DTLS client).
        let role = match (self.local_setup, remote.setup) {
            (Setup::Active, _) => DtlsRole::Client,
            (Setup::Passive, _) => DtlsRole::Server,
            (Setup::ActPass, Setup::Active) => DtlsRole::Server,
            (Setup::ActPass, Setup::Passive) => DtlsRole::Client,
            _ => return Err(Error::Description("a=setup values do not pick a DTLS role")),
        };
        let certificate = self.certificate.clone().ok_or(Error::Closed)?;
        let mut dtls_config = DtlsConfig::new(role, certificate);
        dtls_config.remote_fingerprints = remote.fingerprints.clone();
        dtls_config.dtls13 = self.config.dtls13;
        dtls_config.rng_seed = self.config.seed.map(|_| self.rng.r#gen());
        // RFC 5764 §4.1.1 use_srtp, offered always (as browsers do) so that media added by a
        // later renegotiation finds its keys: AEAD first (RFC 7714), then the mandatory
        // AES_CM_128_HMAC_SHA1_80 (RFC 8827 §6.5).
        dtls_config.srtp_profiles = vec![
            SrtpProtectionProfile::AeadAes128Gcm,
            SrtpProtectionProfile::Aes128CmHmacSha1_80,
        ];
        let dtls = DtlsEndpoint::new(dtls_config, now)?;
        self.dtls = Some(dtls);
        self.dtls_role = Some(role);
        self.dtls_identity = Some(identity);
        self.dtls_failure = None;
        self.handshake_deadline = None;
        self.ensure_sctp(now)?;
        self.set_state(PeerConnectionState::Connecting);
        self.pump(now);
        Ok(())
    }

    /// Ends the DTLS association (close_notify on the wire) with everything keyed by it: SCTP and
    /// its channels (closed), SRTP keys. The RTP session stays; new keys come with the new
    /// handshake.
    fn reset_dtls(&mut self) {
        if let Some(sctp) = self.sctp.as_mut() {
            sctp.abort();
        }
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.close();
        }
        self.flush_dtls();
        let open: Vec<DataChannelId> = self
            .channels
            .iter()
            .filter(|(_, c)| c.stream.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in open {
            self.channels.remove(&id);
            self.channels_closed = self.channels_closed.saturating_add(1);
            self.events.push_back(Event::DataChannelClose { id });
        }
        self.dtls = None;
        self.sctp = None;
        self.srtp_tx = None;
        self.srtp_rx = None;
        self.dtls_connected = false;
        self.dtls_identity = None;
        self.dtls_failure = None;
        self.handshake_deadline = None;
        self.early_dtls.clear();
        self.set_state(PeerConnectionState::Connecting);
    }

    /// Creates the SCTP association once the descriptions carry a data section; opens the
    /// channels created before it, and connects at once if DTLS is already up.
    fn ensure_sctp(&mut self, now: Instant) -> Result<(), Error> {
        let (None, Some(role), Some(data)) = (
            self.sctp.as_ref(),
            self.dtls_role,
            self.remote.as_ref().and_then(|r| r.data.as_ref()),
        ) else {
            return Ok(());
        };
        let mut sctp = Association::new(sctp_config(&self.config, data, role), now);
        if self.dtls_connected {
            // RFC 8261 §6: SCTP starts once DTLS is up.
            sctp.connect(now);
        }
        self.sctp = Some(sctp);
        let pending: Vec<DataChannelId> = self
            .channels
            .iter()
            .filter(|(_, c)| c.stream.is_none())
            .map(|(id, _)| *id)
            .collect();
        for id in pending {
            self.open_stream(now, id)?;
        }
        Ok(())
    }

    /// RFC 5764 §4.2: SRTP keys come from the DTLS exporter, and only once the handshake is
    /// complete — after the peer's certificate matched the SDP fingerprint (RFC 8827 §6.5).
    fn start_srtp(&mut self) {
        let (Some(dtls), Some(role)) = (self.dtls.as_ref(), self.dtls_role) else {
            return;
        };
        let Some(negotiated) = dtls.selected_srtp_profile() else {
            return;
        };
        let Some(profile) = ProtectionProfile::from_dtls_id(negotiated.id()) else {
            return;
        };
        let Ok(material) =
            dtls.export_keying_material("EXTRACTOR-dtls_srtp", negotiated.keying_material_len())
        else {
            return;
        };
        let we_are_client = role == DtlsRole::Client;
        let Ok((local, remote)) = keys_from_dtls_keying_material(profile, &material, we_are_client)
        else {
            return;
        };
        self.srtp_tx = SrtpSession::new(profile, &local, SrtpConfig::default()).ok();
        self.srtp_rx = SrtpSession::new(profile, &remote, SrtpConfig::default()).ok();
    }

    /// An SRTP/SRTCP datagram from the validated pair: unprotect, then the RTP session.
    fn receive_srtp(&mut self, now: Instant, datagram: &[u8]) -> Result<(), Error> {
        let (Some(srtp), Some(rtp)) = (self.srtp_rx.as_mut(), self.rtp.as_mut()) else {
            return Err(Error::Dropped("RTP/RTCP before media keys or negotiation"));
        };
        let mut packet = datagram.to_vec();
        // RFC 5761 §4: RTCP packet types 192–223 on the muxed port.
        if is_rtcp(datagram) {
            srtp.unprotect_rtcp(&mut packet)?;
            rtp.handle_rtcp(now, &packet)?;
            self.cc_feedback.count(&packet, false);
        } else {
            srtp.unprotect_rtp(&mut packet)?;
            rtp.handle_rtp(now, &packet)?;
        }
        Ok(())
    }

    fn pump_rtp(&mut self) -> bool {
        let Some(rtp) = self.rtp.as_mut() else {
            return false;
        };
        let mut moved = false;
        while let Some(t) = rtp.poll_transmit() {
            moved = true;
            // Before keys or a selected pair, media is dropped like loss; RTX and PLI recover.
            let (Some(srtp), Some((local, remote))) = (self.srtp_tx.as_mut(), self.selected) else {
                continue;
            };
            let mut packet = t.data.to_vec();
            match t.kind {
                TransmitKind::Rtp => {
                    if let Ok(rtp) = RtpPacket::new_checked(&packet[..]) {
                        let ssrc = rtp.ssrc();
                        // Padding-only RTX packets (bandwidth probes) are no retransmission.
                        let retransmission = rtp.payload().len() > 2;
                        if let Some(t) = self
                            .transceivers
                            .values()
                            .find(|t| retransmission && t.rtx_ssrc == Some(ssrc))
                        {
                            let f = self.feedback_received.entry(t.ssrc).or_default();
                            f.retransmitted_packets += 1;
                            // RFC 4588 §4: the payload starts with the 2-byte original sequence.
                            f.retransmitted_bytes += rtp.payload().len().saturating_sub(2) as u64;
                        }
                    }
                }
                TransmitKind::Rtcp => {
                    count_feedback(&packet, &self.remote_ssrcs, &mut self.feedback_sent);
                    self.cc_feedback.count(&packet, true);
                }
            }
            let protected = match t.kind {
                TransmitKind::Rtp => srtp.protect_rtp(&mut packet),
                TransmitKind::Rtcp => srtp.protect_rtcp(&mut packet),
            };
            if protected.is_ok() {
                send_on_pair(
                    &mut self.transmits,
                    self.ice.as_mut(),
                    &self.local_addresses,
                    (local, remote),
                    packet,
                );
            }
        }
        let mut events = Vec::new();
        while let Some(event) = rtp.poll_event() {
            events.push(event);
        }
        for event in events {
            moved = true;
            self.on_rtp_event(event);
        }
        moved
    }

    fn on_rtp_event(&mut self, event: RtpEvent) {
        match event {
            RtpEvent::Rtp(received) => {
                let Ok(packet) = RtpPacket::new_checked(&received.packet[..]) else {
                    return;
                };
                let Some(id) = self.receiver_of(received.ssrc, &packet) else {
                    return;
                };
                let Some(t) = self.transceivers.get_mut(&id) else {
                    return;
                };
                let mid = t.mid.clone().unwrap_or_default();
                if !t.track_announced {
                    t.track_announced = true;
                    let (stream_ids, track_id) = t
                        .remote
                        .as_ref()
                        .map(|r| (r.stream_ids.clone(), r.track_id.clone()))
                        .unwrap_or_default();
                    self.events.push_back(Event::Track {
                        transceiver: id,
                        mid: mid.clone(),
                        kind: t.kind,
                        stream_ids,
                        track_id,
                    });
                }
                self.events.push_back(Event::Rtp(MediaPacket {
                    transceiver: id,
                    mid,
                    ssrc: received.ssrc,
                    payload_type: packet.payload_type(),
                    sequence_number: packet.sequence_number(),
                    timestamp: packet.timestamp(),
                    marker: packet.marker(),
                    payload: packet.payload().to_vec(),
                    repaired: received.repaired,
                }));
            }
            RtpEvent::NackRequested { ssrc, .. }
                if self.transceivers.values().any(|t| t.ssrc == ssrc) =>
            {
                self.feedback_received.entry(ssrc).or_default().nacks += 1;
            }
            RtpEvent::KeyframeRequested { ssrc, kind } => {
                if self.transceivers.values().any(|t| t.ssrc == ssrc) {
                    let f = self.feedback_received.entry(ssrc).or_default();
                    match kind {
                        KeyframeRequestKind::Fir => f.firs += 1,
                        _ => f.plis += 1,
                    }
                }
                if let Some((id, t)) = self.transceivers.iter().find(|(_, t)| t.ssrc == ssrc) {
                    self.events.push_back(Event::KeyframeRequest {
                        transceiver: *id,
                        mid: t.mid.clone().unwrap_or_default(),
                        kind,
                    });
                }
            }
            RtpEvent::TargetBitrate(bits_per_second) => {
                self.events
                    .push_back(Event::TargetBitrate { bits_per_second });
            }
            _ => {}
        }
    }

    /// Which transceiver receives a remote SSRC: from the SDP (`a=ssrc`), else the mid header
    /// extension (RFC 8843 §9.2), else the payload type if exactly one receiving transceiver
    /// negotiated it. Learnt SSRCs are remembered (bounded).
    fn receiver_of(&mut self, ssrc: u32, packet: &RtpPacket<&[u8]>) -> Option<TransceiverId> {
        if let Some(id) = self.remote_ssrcs.get(&ssrc) {
            return Some(*id);
        }
        let by_mid = match self.extension_map.read::<Mid, _>(packet) {
            Some(Ok(Mid(mid))) => self
                .transceivers
                .iter()
                .find(|(_, t)| t.mid.as_deref() == Some(mid.as_str()) && t.can_receive())
                .map(|(id, _)| *id),
            _ => None,
        };
        let id = by_mid.or_else(|| {
            let pt = packet.payload_type();
            let mut candidates = self.transceivers.iter().filter(|(_, t)| {
                t.can_receive() && t.negotiated.iter().any(|c| c.payload_type == pt)
            });
            match (candidates.next(), candidates.next()) {
                (Some((id, _)), None) => Some(*id),
                _ => None,
            }
        })?;
        if self.remote_ssrcs.len() < MAX_LEARNT_SSRCS + 64 {
            self.remote_ssrcs.insert(ssrc, id);
        }
        Some(id)
    }

    fn open_stream(&mut self, now: Instant, id: DataChannelId) -> Result<(), Error> {
        let (Some(channel), Some(sctp)) = (self.channels.get_mut(&id), self.sctp.as_mut()) else {
            return Err(Error::UnknownChannel(id));
        };
        let reliability = match (
            channel.init.max_retransmits,
            channel.init.max_packet_life_time,
        ) {
            (Some(n), _) => Reliability::MaxRetransmits(n),
            (None, Some(lifetime)) => Reliability::MaxPacketLifetime(lifetime),
            (None, None) => Reliability::Reliable,
        };
        let stream = sctp.open_channel(
            now,
            ChannelInit {
                label: channel.label.clone(),
                protocol: channel.init.protocol.clone(),
                ordered: channel.init.ordered,
                reliability,
                negotiated_id: channel.init.negotiated,
                priority: 256,
            },
        )?;
        channel.stream = Some(stream);
        Ok(())
    }

    /// Moves output between the layers until nothing moves: ICE events and datagrams, DTLS events
    /// into SCTP, SCTP packets into DTLS, DTLS records onto the selected pair.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            moved |= self.pump_ice(now);
            moved |= self.pump_dtls(now);
            moved |= self.pump_sctp();
            moved |= self.pump_rtp();
            if !moved {
                break;
            }
        }
        self.arm_handshake_deadline(now);
    }

    /// The handshake clock starts when ICE connects with a DTLS association still
    /// handshaking, and stops when it completes or is replaced.
    fn arm_handshake_deadline(&mut self, now: Instant) {
        let handshaking =
            self.dtls.is_some() && !self.dtls_connected && self.dtls_failure.is_none();
        let ice_up = matches!(
            self.ice_state,
            IceConnectionState::Connected | IceConnectionState::Completed
        );
        if !handshaking {
            self.handshake_deadline = None;
        } else if ice_up && self.handshake_deadline.is_none() {
            self.handshake_deadline = Some(now + self.config.dtls_handshake_timeout);
        }
    }

    /// The DTLS association failed: RFC 8827 §6.5 — nothing keyed by it is used. Sends what the
    /// endpoint queued (its fatal alert), then drops the endpoint, SCTP and SRTP keys, closes
    /// the channels and reports the reason; the connection stays `Failed` until `close()` or a
    /// renegotiation that starts a new association.
    fn fail_dtls(&mut self, reason: FailureReason) {
        if self.dtls_failure.is_some() || self.signaling == SignalingState::Closed {
            return;
        }
        self.flush_dtls();
        self.sctp = None;
        self.dtls = None;
        self.srtp_tx = None;
        self.srtp_rx = None;
        self.dtls_connected = false;
        self.handshake_deadline = None;
        self.early_dtls.clear();
        let open: Vec<DataChannelId> = self
            .channels
            .iter()
            .filter(|(_, c)| c.open)
            .map(|(id, _)| *id)
            .collect();
        for id in open {
            self.channels.remove(&id);
            self.channels_closed = self.channels_closed.saturating_add(1);
            self.events.push_back(Event::DataChannelClose { id });
        }
        for channel in self.channels.values_mut() {
            channel.stream = None;
        }
        self.events
            .push_back(Event::ConnectionFailed(reason.clone()));
        self.dtls_failure = Some(reason);
        self.set_state(PeerConnectionState::Failed);
    }

    /// Why the connection failed, while it is `Failed`.
    pub fn failure_reason(&self) -> Option<&FailureReason> {
        match self.state {
            PeerConnectionState::Failed => self
                .dtls_failure
                .as_ref()
                .or(Some(&FailureReason::IceFailed)),
            _ => None,
        }
    }

    fn pump_ice(&mut self, now: Instant) -> bool {
        let Some(ice) = self.ice.as_mut() else {
            return false;
        };
        let mut relayed = Vec::new();
        let mut moved = false;
        while let Some(t) = ice.poll_transmit() {
            self.transmits.push_back(Transmit::from(t));
            moved = true;
        }
        let mut ice_events = Vec::new();
        while let Some(event) = ice.poll_event() {
            ice_events.push(event);
        }
        for event in ice_events {
            moved = true;
            match event {
                IceEvent::LocalCandidate(candidate) => {
                    let value = candidate.to_sdp_value();
                    if !self.local_candidates.contains(&value) {
                        self.local_candidates.push(value.clone());
                        self.events.push_back(Event::LocalCandidate(value));
                    }
                }
                IceEvent::GatheringComplete if !self.gathering_complete => {
                    self.gathering_complete = true;
                    self.events.push_back(Event::IceGatheringComplete);
                }
                IceEvent::RelayedData {
                    local,
                    remote,
                    data,
                } => relayed.push((local, remote, data)),
                IceEvent::ConnectionStateChanged(state) => {
                    self.ice_state = state;
                    self.events
                        .push_back(Event::IceConnectionStateChange(state));
                    match state {
                        IceConnectionState::Failed => {
                            if self.state != PeerConnectionState::Failed {
                                self.events
                                    .push_back(Event::ConnectionFailed(FailureReason::IceFailed));
                            }
                            self.set_state(PeerConnectionState::Failed)
                        }
                        IceConnectionState::Disconnected => {
                            self.set_state(PeerConnectionState::Disconnected)
                        }
                        IceConnectionState::Connected | IceConnectionState::Completed
                            if self.dtls_connected =>
                        {
                            self.set_state(PeerConnectionState::Connected)
                        }
                        _ => {}
                    }
                }
                IceEvent::SelectedPairChanged { local, remote } => {
                    self.selected = Some((local, remote))
                }
                _ => {}
            }
        }
        // What the peer sent to our relayed candidates, unwrapped by the TURN client: the same
        // demultiplexing as a datagram on a host socket, with the relayed address as `local`.
        for (local, remote, data) in relayed {
            // A rejected datagram changes nothing (as in handle_receive).
            let _ = self.receive_transport(now, local, remote, &data);
        }
        moved
    }

    fn pump_dtls(&mut self, now: Instant) -> bool {
        let Some(dtls) = self.dtls.as_mut() else {
            return false;
        };
        if !self.early_dtls.is_empty()
            && let Some(ice) = self.ice.as_ref()
        {
            let held = std::mem::take(&mut self.early_dtls);
            for (local, remote, datagram) in held {
                if ice.is_validated_remote(local, remote) {
                    let _ = dtls.handle_receive(now, &datagram);
                } else {
                    self.early_dtls.push_back((local, remote, datagram));
                }
            }
        }
        let mut dtls_events = Vec::new();
        while let Some(event) = dtls.poll_event() {
            dtls_events.push(event);
        }
        let mut moved = false;
        for event in dtls_events {
            moved = true;
            match event {
                DtlsEvent::Connected => {
                    self.dtls_connected = true;
                    self.start_srtp();
                    if let Some(sctp) = self.sctp.as_mut() {
                        // RFC 8261 §6: SCTP starts once DTLS is up; both ends may send INIT.
                        sctp.connect(now);
                    }
                    if matches!(
                        self.ice_state,
                        IceConnectionState::Connected | IceConnectionState::Completed
                    ) {
                        self.set_state(PeerConnectionState::Connected);
                    }
                }
                DtlsEvent::ApplicationData(data) => {
                    if let Some(sctp) = self.sctp.as_mut() {
                        // A malformed SCTP packet is dropped by the association; it changes nothing.
                        let _ = sctp.handle_receive(now, &data);
                    }
                }
                DtlsEvent::Closed => self.set_state(PeerConnectionState::Closed),
                DtlsEvent::Failed(error) => {
                    let reason = match error {
                        tern_dtls::DtlsError::FingerprintMismatch => {
                            FailureReason::FingerprintMismatch
                        }
                        tern_dtls::DtlsError::PeerAlert(alert) => FailureReason::PeerAlert(alert),
                        other => FailureReason::Dtls(other),
                    };
                    self.fail_dtls(reason);
                    return true;
                }
                _ => {}
            }
        }
        moved | self.flush_dtls()
    }

    /// DTLS records go out on the selected pair; before ICE selects one they wait in the endpoint.
    fn flush_dtls(&mut self) -> bool {
        let (Some(dtls), Some(pair)) = (self.dtls.as_mut(), self.selected) else {
            return false;
        };
        let mut moved = false;
        while let Some(data) = dtls.poll_transmit() {
            send_on_pair(
                &mut self.transmits,
                self.ice.as_mut(),
                &self.local_addresses,
                pair,
                data,
            );
            moved = true;
        }
        moved
    }

    fn pump_sctp(&mut self) -> bool {
        let Some(sctp) = self.sctp.as_mut() else {
            return false;
        };
        let mut moved = false;
        if let (true, Some(dtls)) = (self.dtls_connected, self.dtls.as_mut()) {
            while let Some(packet) = sctp.poll_transmit() {
                let _ = dtls.send_application_data(&packet);
                moved = true;
            }
        }
        let mut sctp_events = Vec::new();
        while let Some(event) = sctp.poll_event() {
            sctp_events.push(event);
        }
        for event in sctp_events {
            moved = true;
            self.on_sctp_event(event);
        }
        moved
    }

    fn on_sctp_event(&mut self, event: SctpEvent) {
        match event {
            SctpEvent::ChannelOpen {
                id: stream,
                label,
                protocol,
                remote_initiated,
                ..
            } => {
                if remote_initiated {
                    let id = DataChannelId(self.next_channel);
                    self.next_channel = self.next_channel.wrapping_add(1);
                    let init = DataChannelInit {
                        protocol: protocol.clone(),
                        ..DataChannelInit::default()
                    };
                    self.channels.insert(
                        id,
                        Channel {
                            stream: Some(stream),
                            label: label.clone(),
                            init,
                            open: true,
                            counters: Counters::default(),
                        },
                    );
                    self.channels_opened = self.channels_opened.saturating_add(1);
                    self.events.push_back(Event::DataChannel {
                        id,
                        label,
                        protocol,
                    });
                } else if let Some((id, channel)) = self
                    .channels
                    .iter_mut()
                    .find(|(_, c)| c.stream == Some(stream))
                {
                    channel.open = true;
                    self.channels_opened = self.channels_opened.saturating_add(1);
                    self.events.push_back(Event::DataChannelOpen { id: *id });
                }
            }
            SctpEvent::Message {
                id: stream,
                kind,
                data,
            } => {
                if let Some(id) = self.channel_for(stream) {
                    let binary = matches!(kind, MessageKind::Binary);
                    if let Some(channel) = self.channels.get_mut(&id) {
                        channel.counters.received += 1;
                        channel.counters.bytes_received += data.len() as u64;
                    }
                    self.events.push_back(Event::DataChannelMessage {
                        id,
                        data: data.to_vec(),
                        binary,
                    });
                }
            }
            SctpEvent::BufferedAmountLow { id: stream } => {
                if let Some(id) = self.channel_for(stream) {
                    self.events
                        .push_back(Event::DataChannelBufferedAmountLow { id });
                }
            }
            SctpEvent::ChannelClosed { id: stream } => {
                if let Some(id) = self.channel_for(stream) {
                    self.channels.remove(&id);
                    self.channels_closed = self.channels_closed.saturating_add(1);
                    self.events.push_back(Event::DataChannelClose { id });
                }
            }
            _ => {}
        }
    }

    fn channel_for(&self, stream: tern_sctp::ChannelId) -> Option<DataChannelId> {
        self.channels
            .iter()
            .find(|(_, c)| c.stream == Some(stream))
            .map(|(id, _)| *id)
    }
}

impl PeerConnection {
    /// W3C `getStats()`: transport, candidate pairs, candidates, certificates, codecs,
    /// inbound-rtp / outbound-rtp / remote-inbound-rtp, data channels and the connection.
    pub fn stats(&self, now: Instant) -> StatsReport {
        let ntp = ntp_at(self.ntp, now);
        let timestamp = if self.ntp.1 == 0 {
            now.saturating_duration_since(self.created).as_secs_f64() * 1000.0
        } else {
            // NTP era 0 starts 1900-01-01; Unix 70 years (2 208 988 800 s) later.
            ((ntp >> 32) as f64 - 2_208_988_800.0 + (ntp & 0xffff_ffff) as f64 / 4_294_967_296.0)
                * 1000.0
        };
        let transport_id = "T01".to_string();
        let mut stats = vec![Stats::PeerConnection(PeerConnectionStats {
            id: "P".into(),
            timestamp,
            data_channels_opened: self.channels_opened,
            data_channels_closed: self.channels_closed,
        })];
        let local_certificate_id = format!("CF{}", self.fingerprint.replace(':', ""));
        if let Some(certificate) = self.certificate.as_ref() {
            stats.push(Stats::Certificate(certificate_stats(
                &local_certificate_id,
                timestamp,
                certificate.der(),
            )));
        }
        let remote_der = self.dtls.as_ref().and_then(|d| d.peer_certificate_der());
        let remote_certificate_id = remote_der.map(|der| {
            let fp = tern_dtls::Fingerprint::of_der(HashAlgorithm::Sha256, der).to_string();
            let id = format!("CF{}", fp.replace(':', ""));
            stats.push(Stats::Certificate(certificate_stats(&id, timestamp, der)));
            id
        });
        let mut selected_candidate_pair_id = None;
        if let Some(ice) = self.ice.as_ref() {
            let candidate_id = |prefix: &str, address: SocketAddr| format!("I{prefix}{address}");
            for (prefix, list) in [
                ("L", ice.local_candidates()),
                ("R", ice.remote_candidates().to_vec()),
            ] {
                for c in list {
                    let entry = IceCandidateStats {
                        id: candidate_id(prefix, c.address),
                        timestamp,
                        transport_id: transport_id.clone(),
                        address: c.address.ip().to_string(),
                        port: c.address.port(),
                        protocol: "udp".into(),
                        candidate_type: candidate_type(c.kind).into(),
                        priority: c.priority,
                        foundation: c.foundation.clone(),
                        relay_protocol: (prefix == "L"
                            && c.kind == tern_ice::CandidateKind::Relayed)
                            .then(|| {
                                match self.tcp_relayed.iter().find(|(a, _)| *a == c.address) {
                                    Some((_, true)) => "tls".into(),
                                    Some((_, false)) => "tcp".into(),
                                    None => "udp".into(),
                                }
                            }),
                    };
                    stats.push(if prefix == "L" {
                        Stats::LocalCandidate(entry)
                    } else {
                        Stats::RemoteCandidate(entry)
                    });
                }
            }
            for pair in ice.pairs() {
                let id = format!("CP{}_{}", pair.local, pair.remote);
                let selected = self.selected == Some((pair.local, pair.remote));
                if selected {
                    selected_candidate_pair_id = Some(id.clone());
                }
                stats.push(Stats::CandidatePair(CandidatePairStats {
                    id,
                    timestamp,
                    transport_id: transport_id.clone(),
                    local_candidate_id: candidate_id("L", pair.local),
                    remote_candidate_id: candidate_id("R", pair.remote),
                    state: pair_state(pair.state).into(),
                    nominated: pair.nominated,
                    priority: pair.priority,
                    bytes_sent: if selected {
                        self.transport.bytes_sent
                    } else {
                        0
                    },
                    bytes_received: if selected {
                        self.transport.bytes_received
                    } else {
                        0
                    },
                }));
            }
        }
        let dtls_state = match (self.dtls.as_ref(), self.state) {
            (_, PeerConnectionState::Closed) => "closed",
            (_, PeerConnectionState::Failed) => "failed",
            _ if self.dtls_failure.is_some() => "failed",
            (Some(_), _) if self.dtls_connected => "connected",
            (Some(_), _) => "connecting",
            (None, _) => "new",
        };
        stats.push(Stats::Transport(TransportStats {
            id: transport_id.clone(),
            timestamp,
            packets_sent: self.transport.sent,
            packets_received: self.transport.received,
            bytes_sent: self.transport.bytes_sent,
            bytes_received: self.transport.bytes_received,
            ice_role: self.ice.as_ref().map(|i| {
                if i.is_controlling() {
                    "controlling"
                } else {
                    "controlled"
                }
                .to_string()
            }),
            ice_local_username_fragment: self.local_ufrag.clone(),
            ice_state: ice_state(self.ice_state).into(),
            dtls_state: dtls_state.into(),
            dtls_role: self.dtls_role.map(|r| {
                if r == DtlsRole::Client {
                    "client"
                } else {
                    "server"
                }
                .to_string()
            }),
            tls_version: self.dtls.as_ref().filter(|_| self.dtls_connected).map(|d| {
                if d.is_dtls13() {
                    "DTLS 1.3"
                } else {
                    "DTLS 1.2"
                }
                .to_string()
            }),
            dtls_cipher: self
                .dtls
                .as_ref()
                .and_then(|d| d.cipher_suite())
                .map(|c| format!("{c:?}")),
            srtp_cipher: self
                .srtp_tx
                .as_ref()
                .map(|s| srtp_name(s.profile()).to_string()),
            selected_candidate_pair_id,
            local_certificate_id,
            remote_certificate_id,
        }));
        let rtp = self.rtp.as_ref();
        let target_bitrate = rtp.map(|r| r.target_bitrate() as f64);
        for (tid, t) in &self.transceivers {
            let kind = t.kind.as_str().to_string();
            let codec_id = t.negotiated.first().map(|c| {
                let id = format!("CO{}_{}", t.mid.as_deref().unwrap_or("-"), c.payload_type);
                if !stats.iter().any(|s| s.id() == id) {
                    stats.push(Stats::Codec(CodecStats {
                        id: id.clone(),
                        timestamp,
                        transport_id: transport_id.clone(),
                        payload_type: c.payload_type,
                        mime_type: format!("{}/{}", kind, c.name),
                        clock_rate: c.clock_rate,
                        channels: c.channels,
                        sdp_fmtp_line: c.fmtp.clone(),
                    }));
                }
                id
            });
            if let Some(send) = rtp.and_then(|r| r.send_stream(t.ssrc)) {
                let received = self
                    .feedback_received
                    .get(&t.ssrc)
                    .copied()
                    .unwrap_or_default();
                let remote_id = send.last_report.as_ref().map(|report| {
                    let id = format!("RI{}", t.ssrc);
                    let clock = t.negotiated.first().map_or(90_000, |c| c.clock_rate).max(1);
                    stats.push(Stats::RemoteInboundRtp(RemoteInboundRtpStreamStats {
                        id: id.clone(),
                        timestamp,
                        ssrc: t.ssrc,
                        kind: kind.clone(),
                        transport_id: transport_id.clone(),
                        local_id: format!("OT{}", t.ssrc),
                        packets_lost: i64::from(report.cumulative_lost),
                        fraction_lost: f64::from(report.fraction_lost) / 256.0,
                        jitter: f64::from(report.jitter) / f64::from(clock),
                        round_trip_time: send.rtt.map(|d| d.as_secs_f64()),
                    }));
                    id
                });
                stats.push(Stats::OutboundRtp(OutboundRtpStreamStats {
                    id: format!("OT{}", t.ssrc),
                    timestamp,
                    ssrc: t.ssrc,
                    kind: kind.clone(),
                    transport_id: transport_id.clone(),
                    codec_id: codec_id.clone(),
                    mid: t.mid.clone(),
                    remote_id,
                    packets_sent: t.packets_sent,
                    bytes_sent: t.bytes_sent,
                    target_bitrate,
                    nack_count: received.nacks,
                    pli_count: received.plis,
                    fir_count: received.firs,
                    retransmitted_packets_sent: received.retransmitted_packets,
                    retransmitted_bytes_sent: received.retransmitted_bytes,
                }));
            }
            let owned = self.remote_ssrcs.iter().filter(|(_, id)| *id == tid);
            for (ssrc, _) in owned {
                let Some(recv) = rtp.and_then(|r| r.receive_stream(*ssrc)) else {
                    continue;
                };
                let clock = t.negotiated.first().map_or(90_000, |c| c.clock_rate).max(1);
                let sent = self.feedback_sent.get(ssrc).copied().unwrap_or_default();
                stats.push(Stats::InboundRtp(InboundRtpStreamStats {
                    id: format!("IT{ssrc}"),
                    timestamp,
                    ssrc: *ssrc,
                    kind: kind.clone(),
                    transport_id: transport_id.clone(),
                    codec_id: codec_id.clone(),
                    mid: t.mid.clone(),
                    track_identifier: t.remote.as_ref().and_then(|r| r.track_id.clone()),
                    packets_received: recv.received(),
                    bytes_received: recv.bytes,
                    packets_lost: recv.cumulative_lost(),
                    jitter: f64::from(recv.jitter()) / f64::from(clock),
                    retransmitted_packets_received: recv.recovered,
                    nack_count: sent.nacks,
                    pli_count: sent.plis,
                    fir_count: sent.firs,
                }));
            }
        }
        for (id, c) in &self.channels {
            stats.push(Stats::DataChannel(DataChannelStats {
                id: format!("D{}", id.0),
                timestamp,
                label: c.label.clone(),
                protocol: c.init.protocol.clone(),
                data_channel_identifier: c.stream.map(|s| s.0),
                state: if c.open { "open" } else { "connecting" }.into(),
                messages_sent: c.counters.sent,
                bytes_sent: c.counters.bytes_sent,
                messages_received: c.counters.received,
                bytes_received: c.counters.bytes_received,
            }));
        }
        StatsReport { stats }
    }
}

fn certificate_stats(id: &str, timestamp: f64, der: &[u8]) -> CertificateStats {
    use base64::Engine as _;
    let fingerprint = tern_dtls::Fingerprint::of_der(HashAlgorithm::Sha256, der).to_string();
    CertificateStats {
        id: id.to_string(),
        timestamp,
        // The SDP form is "sha-256 AB:CD…"; the stats field is the hex alone.
        fingerprint: fingerprint
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string(),
        fingerprint_algorithm: "sha-256".into(),
        base64_certificate: base64::engine::general_purpose::STANDARD.encode(der),
    }
}

fn candidate_type(kind: tern_ice::CandidateKind) -> &'static str {
    match kind {
        tern_ice::CandidateKind::Host => "host",
        tern_ice::CandidateKind::ServerReflexive => "srflx",
        tern_ice::CandidateKind::PeerReflexive => "prflx",
        tern_ice::CandidateKind::Relayed => "relay",
    }
}

fn pair_state(state: tern_ice::PairState) -> &'static str {
    match state {
        tern_ice::PairState::Frozen => "frozen",
        tern_ice::PairState::Waiting => "waiting",
        tern_ice::PairState::InProgress => "in-progress",
        tern_ice::PairState::Succeeded => "succeeded",
        tern_ice::PairState::Failed => "failed",
    }
}

fn ice_state(state: IceConnectionState) -> &'static str {
    match state {
        IceConnectionState::New => "new",
        IceConnectionState::Checking => "checking",
        IceConnectionState::Connected => "connected",
        IceConnectionState::Completed => "completed",
        IceConnectionState::Disconnected => "disconnected",
        IceConnectionState::Failed => "failed",
        IceConnectionState::Closed => "closed",
    }
}

fn srtp_name(profile: ProtectionProfile) -> &'static str {
    match profile {
        ProtectionProfile::Aes128CmHmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
        ProtectionProfile::Aes128CmHmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        ProtectionProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
        ProtectionProfile::AeadAes256Gcm => "AEAD_AES_256_GCM",
    }
}

/// Relayed candidates remembered as allocated over TCP (a few per TURN server and restart).
const MAX_TCP_RELAYED: usize = 32;

/// Puts one datagram on the selected pair: straight from our host socket, or — when our side of
/// the pair is a relayed candidate — through the agent, which wraps it for the TURN server as
/// ChannelData or a Send indication (RFC 8656 §11–12).
fn send_on_pair(
    transmits: &mut VecDeque<Transmit>,
    ice: Option<&mut IceAgent>,
    host_sockets: &[SocketAddr],
    (local, remote): (SocketAddr, SocketAddr),
    data: Vec<u8>,
) {
    if host_sockets.contains(&local) {
        transmits.push_back(Transmit::udp(local, remote, data));
        return;
    }
    let Some(ice) = ice else { return };
    // Without a usable relay this is loss, which DTLS, SCTP and RTX recover from.
    if ice.send_data(&data).is_ok() {
        while let Some(t) = ice.poll_transmit() {
            transmits.push_back(Transmit::from(t));
        }
    }
}

/// Counts the NACK (RFC 4585 §6.2.1), PLI (§6.3.1) and FIR (RFC 5104 §4.3.1) packets of an
/// outgoing compound RTCP packet per remote media SSRC we know.
fn count_feedback(
    compound: &[u8],
    known: &BTreeMap<u32, TransceiverId>,
    counts: &mut BTreeMap<u32, Feedback>,
) {
    let mut rest = compound;
    while let (Some(&first), Some(&packet_type), Some(&high), Some(&low)) =
        (rest.first(), rest.get(1), rest.get(2), rest.get(3))
    {
        let words = usize::from(u16::from_be_bytes([high, low]));
        let Some(packet) = rest.get(..(words + 1) * 4) else {
            return;
        };
        let fmt = first & 0x1f;
        let ssrc_at = |at: usize| {
            packet
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
        };
        // RTPFB (205) fmt 1 = generic NACK; PSFB (206) fmt 1 = PLI, fmt 4 = FIR (whose SSRC
        // is in the FCI, the media source field being 0).
        let target = match (packet_type, fmt) {
            (205, 1) | (206, 1) => ssrc_at(8),
            (206, 4) => ssrc_at(12),
            _ => None,
        };
        if let Some(ssrc) = target.filter(|s| known.contains_key(s)) {
            let f = counts.entry(ssrc).or_default();
            match (packet_type, fmt) {
                (205, _) => f.nacks += 1,
                (_, 1) => f.plis += 1,
                _ => f.firs += 1,
            }
        }
        rest = rest.get((words + 1) * 4..).unwrap_or_default();
    }
}

/// What identifies the remote end of a DTLS association: its fingerprints and tls-id.
fn remote_identity(remote: &RemoteTransport) -> (Vec<String>, Option<String>) {
    (
        remote
            .fingerprints
            .iter()
            .map(ToString::to_string)
            .collect(),
        remote.tls_id.clone(),
    )
}

/// The SCTP association's configuration for a negotiated m=application section.
fn sctp_config(config: &RtcConfig, remote: &jsep::RemoteData, role: DtlsRole) -> SctpConfig {
    SctpConfig {
        local_port: config.sctp_port,
        remote_port: remote.sctp_port,
        max_message_size: config.max_message_size,
        remote_max_message_size: remote.max_message_size,
        // RFC 8832 §6: the DTLS client uses even stream ids, the server odd ones.
        stream_parity: if role == DtlsRole::Client {
            StreamParity::Even
        } else {
            StreamParity::Odd
        },
        // RFC 9653's Zero Checksum Acceptable parameter (0x8001) only when asked for: Pion's SCTP
        // (≤ 1.8.x, e.g. Debian's 1.8.6) rejects a whole INIT or INIT-ACK carrying a parameter
        // it does not know, although RFC 9260 §3.2.1 says type bits 10 mean "skip and
        // continue", so the association never comes up.
        zero_checksum: config.sctp_zero_checksum,
        ..SctpConfig::default()
    }
}

/// How many DTLS datagrams from a not-yet-validated remote are held (a flight is at most a few).
const MAX_EARLY_DTLS: usize = 4;

/// The NTP time at `now`, extrapolated from a known (instant, NTP) pair.
fn ntp_at(known: (Instant, u64), now: Instant) -> u64 {
    let elapsed = now.saturating_duration_since(known.0);
    // NTP 32.32 fixed point: seconds in the high word, 2^-32 s fractions in the low one.
    let units = (elapsed.as_nanos() << 32) / 1_000_000_000;
    known
        .1
        .wrapping_add(u64::try_from(units).unwrap_or(u64::MAX))
}

/// RFC 8839 §5.4 ice-char = ALPHA / DIGIT / "+" / "/"; alphanumerics keep it URL- and shell-safe.
fn random_ice_chars(rng: &mut StdRng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| {
            char::from(
                CHARS
                    .get(rng.gen_range(0..CHARS.len()))
                    .copied()
                    .unwrap_or(b'a'),
            )
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Instant::now() only as a base time
mod tests {
    use super::*;

    /// The parameter types of the INIT chunk in one SCTP packet (common header 12 bytes, chunk
    /// header 4, fixed INIT fields 16, then TLVs padded to 4).
    fn init_param_types(packet: &[u8]) -> Vec<u16> {
        assert_eq!(packet[12], 1, "first chunk is an INIT");
        let chunk_len = usize::from(u16::from_be_bytes([packet[14], packet[15]]));
        let mut at = 12 + 20;
        let mut types = Vec::new();
        while at + 4 <= 12 + chunk_len {
            types.push(u16::from_be_bytes([packet[at], packet[at + 1]]));
            let len = usize::from(u16::from_be_bytes([packet[at + 2], packet[at + 3]]));
            at += len.max(4).div_ceil(4) * 4;
        }
        types
    }

    fn first_init(config: &RtcConfig) -> Vec<u8> {
        let now = Instant::now();
        let remote = jsep::RemoteData {
            sctp_port: 5000,
            max_message_size: 65536,
        };
        let mut association = Association::new(sctp_config(config, &remote, DtlsRole::Client), now);
        association.connect(now);
        association.poll_transmit().expect("an INIT")
    }

    /// Regression (pc-pion): Pion 1.8.6 drops every INIT carrying RFC 9653's parameter 0x8001,
    /// so by default our INIT must not carry it.
    #[test]
    fn default_init_carries_no_zero_checksum_parameter() {
        let types = init_param_types(&first_init(&RtcConfig::default()));
        assert!(!types.is_empty(), "the INIT announces its extensions");
        assert!(!types.contains(&0x8001), "INIT parameters {types:x?}");
    }

    #[test]
    fn zero_checksum_is_offered_when_configured() {
        let config = RtcConfig {
            sctp_zero_checksum: true,
            ..RtcConfig::default()
        };
        assert!(init_param_types(&first_init(&config)).contains(&0x8001));
    }
}
