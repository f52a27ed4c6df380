//! The sans-IO peer connection: JSEP signaling state plus one bundled transport
//! (ICE → DTLS → SCTP data channels), composed from the protocol crates.

use crate::demux::{PacketClass, classify};
use crate::jsep::{
    self, DataSection, LocalParams, RemoteTransport, SdpType, SessionDescriptionInit,
};
use crate::{
    DataChannelId, DataChannelInit, Error, Event, PeerConnectionState, RtcConfig, SignalingState,
    Transmit,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;
use tern_dtls::{Certificate, DtlsConfig, DtlsEndpoint, DtlsEvent, DtlsRole, HashAlgorithm};
use tern_ice::{IceAgent, IceConfig, IceConnectionState, IceCredentials, IceEvent};
use tern_sctp::{
    Association, ChannelInit, MessageKind, Reliability, SctpConfig, SctpEvent, StreamParity,
};
use tern_sdp::{SessionDescription, Setup};

/// One data channel as the application sees it.
struct Channel {
    /// The SCTP stream once the association exists (and the id is known).
    stream: Option<tern_sctp::ChannelId>,
    label: String,
    init: DataChannelInit,
    open: bool,
}

/// A W3C-style peer connection without I/O. See the crate documentation for the run loop.
pub struct PeerConnection {
    config: RtcConfig,
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
    data_mid: Option<String>,
    remote: Option<RemoteTransport>,

    ice: Option<IceAgent>,
    ice_state: IceConnectionState,
    selected: Option<(SocketAddr, SocketAddr)>,
    dtls: Option<DtlsEndpoint>,
    dtls_connected: bool,
    /// DTLS datagrams that arrived from a remote ICE had not validated yet (BAD_INPUT row 10):
    /// never processed before validation, replayed once it happens, so a ClientHello racing the
    /// last connectivity check costs no 1 s retransmission. Bounded by `MAX_EARLY_DTLS`.
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
    pub fn new(config: RtcConfig, _now: Instant) -> Result<PeerConnection, Error> {
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
        Ok(PeerConnection {
            config,
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
            data_mid: None,
            remote: None,
            ice: None,
            ice_state: IceConnectionState::New,
            selected: None,
            dtls: None,
            dtls_connected: false,
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
        if self.data_mid.is_none() && !self.channels.is_empty() {
            self.data_mid = Some("0".into());
        }
        // RFC 8829 §5.2.1 / RFC 8842 §5.2: the offerer says actpass.
        Ok(SessionDescriptionInit {
            sdp_type: SdpType::Offer,
            sdp: self.render(Setup::ActPass),
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
        self.data_mid = remote.data.as_ref().map(|d| d.mid.clone());
        self.ensure_ice(now, false);
        Ok(SessionDescriptionInit {
            sdp_type: SdpType::Answer,
            sdp: self.render(setup),
        })
    }

    fn render(&mut self, setup: Setup) -> String {
        self.session_version = self.session_version.wrapping_add(1);
        let data = self.data_mid.clone().map(|mid| DataSection { mid });
        jsep::render(&LocalParams {
            session_id: self.session_id,
            session_version: self.session_version,
            ufrag: &self.local_ufrag,
            pwd: &self.local_pwd,
            fingerprint: &self.fingerprint,
            setup,
            candidates: &self.local_candidates,
            end_of_candidates: self.gathering_complete,
            data: data.as_ref(),
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
        let parsed = SessionDescription::parse(&description.sdp)?;
        let setup = parsed
            .media
            .first()
            .and_then(|m| m.setup())
            .unwrap_or(Setup::ActPass);
        let next = match (description.sdp_type, self.signaling) {
            (SdpType::Rollback, SignalingState::HaveLocalOffer) => {
                self.pending_local = None;
                return self.set_signaling(SignalingState::Stable);
            }
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
        if next == SignalingState::Stable {
            self.current_local = Some(description);
            self.pending_local = None;
            self.current_remote = self.pending_remote.take().or(self.current_remote.take());
            self.start_transport(now)?;
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
            self.pending_remote = None;
            return self.set_signaling(SignalingState::Stable);
        }
        // Parse and validate completely before any state changes: a rejected description leaves
        // the connection exactly as it was.
        let parsed = SessionDescription::parse(&description.sdp)?;
        let remote = jsep::remote_transport(&parsed)?;
        let next = match (description.sdp_type, self.signaling) {
            (SdpType::Offer, SignalingState::Stable | SignalingState::HaveRemoteOffer) => {
                SignalingState::HaveRemoteOffer
            }
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
        if description.sdp_type != SdpType::Offer && remote.setup == Setup::ActPass {
            return Err(Error::Description("an answer must not say a=setup:actpass"));
        }
        // A remote offer makes us the controlled agent unless the offerer is ICE-lite.
        self.ensure_ice(
            now,
            remote.ice_lite && description.sdp_type == SdpType::Offer,
        );
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
        self.remote = Some(remote);
        if next == SignalingState::Stable {
            self.current_remote = Some(description);
            self.pending_remote = None;
            self.current_local = self.pending_local.take().or(self.current_local.take());
            self.start_transport(now)?;
        } else {
            self.pending_remote = Some(description);
        }
        self.set_signaling(next)?;
        self.pump(now);
        Ok(())
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
        if self.state == PeerConnectionState::Closed {
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
        let result = match classify(datagram) {
            PacketClass::Stun => match self.ice.as_mut() {
                Some(ice) => ice
                    .handle_receive(now, local, remote, datagram)
                    .map_err(Error::from),
                None => Err(Error::Dropped("STUN before any description")),
            },
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
                    Some(_) => {
                        if self.early_dtls.len() >= MAX_EARLY_DTLS {
                            self.early_dtls.pop_front();
                        }
                        self.early_dtls
                            .push_back((local, remote, datagram.to_vec()));
                        Err(Error::Dropped(
                            "DTLS from an address ICE has not validated (held)",
                        ))
                    }
                    None => Err(Error::Dropped("DTLS before negotiation")),
                }
            }
            PacketClass::Rtp => Err(Error::Dropped("RTP/RTCP without negotiated media")),
            PacketClass::Unknown => Err(Error::Dropped("not STUN, DTLS or RTP (RFC 7983)")),
        };
        self.pump(now);
        result
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
        self.pump(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
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
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn require_open(&self) -> Result<(), Error> {
        if self.state == PeerConnectionState::Closed {
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
        let config = IceConfig::with_credentials(
            controlling,
            credentials,
            self.rng.r#gen(),
            self.rng.r#gen(),
        );
        let mut ice = IceAgent::new(config, now);
        for address in &self.local_addresses {
            ice.add_local_host_candidate(*address);
        }
        self.ice = Some(ice);
        self.pump(now);
        // Host candidates are known at once: gathering is complete when the sockets are.
        if !self.local_addresses.is_empty() && !self.gathering_complete {
            self.gathering_complete = true;
            self.events.push_back(Event::IceGatheringComplete);
        }
    }

    /// Both descriptions are in place: create DTLS (role from a=setup) and SCTP.
    fn start_transport(&mut self, now: Instant) -> Result<(), Error> {
        if self.dtls.is_some() {
            return Ok(());
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
        dtls_config.rng_seed = self.config.seed.map(|_| self.rng.r#gen());
        let dtls = DtlsEndpoint::new(dtls_config, now)?;
        if let Some(data) = remote.data.as_ref() {
            let sctp = Association::new(sctp_config(&self.config, data, role), now);
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
        }
        self.dtls = Some(dtls);
        self.set_state(PeerConnectionState::Connecting);
        self.pump(now);
        Ok(())
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
            moved |= self.pump_ice();
            moved |= self.pump_dtls(now);
            moved |= self.pump_sctp();
            if !moved {
                break;
            }
        }
    }

    fn pump_ice(&mut self) -> bool {
        let Some(ice) = self.ice.as_mut() else {
            return false;
        };
        let mut moved = false;
        while let Some(t) = ice.poll_transmit() {
            self.transmits.push_back(Transmit {
                source: t.source,
                destination: t.destination,
                data: t.data,
            });
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
                IceEvent::GatheringComplete => {}
                IceEvent::ConnectionStateChanged(state) => {
                    self.ice_state = state;
                    self.events
                        .push_back(Event::IceConnectionStateChange(state));
                    match state {
                        IceConnectionState::Failed => self.set_state(PeerConnectionState::Failed),
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
                DtlsEvent::Failed(_) => self.set_state(PeerConnectionState::Failed),
                _ => {}
            }
        }
        moved | self.flush_dtls()
    }

    /// DTLS records go out on the selected pair; before ICE selects one they wait in the endpoint.
    fn flush_dtls(&mut self) -> bool {
        let (Some(dtls), Some((local, remote))) = (self.dtls.as_mut(), self.selected) else {
            return false;
        };
        let mut moved = false;
        while let Some(data) = dtls.poll_transmit() {
            self.transmits.push_back(Transmit {
                source: local,
                destination: remote,
                data,
            });
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
                        },
                    );
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
            mid: "0".into(),
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
