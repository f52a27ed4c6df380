//! The ICE agent state machine (RFC 8445 full and lite, RFC 8838 trickle, RFC 7675 consent).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tern_stun::attributes::{
    ErrorCode, IceControlled, IceControlling, Priority, UnknownAttributes, UseCandidate, Username,
    XorMappedAddress, kind,
};
use tern_stun::{Class, IntegrityKey, Message, MessageEncoder, MessageType, Method, TransactionId};
use tern_turn::{
    Client as TurnClient, ClientConfig as TurnClientConfig, Event as TurnEvent,
    Transport as TurnTransport,
};

use crate::candidate::{
    Candidate, CandidateKind, TransportProtocol, candidate_priority, unusable_reason,
};
use crate::config::{IceConfig, IceCredentials, TurnServer};
use crate::error::IceError;

/// Bytes to send: from `source` (a local socket the driver owns) to `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local socket address to send from. For [`TransportProtocol::Tcp`], the address
    /// of the host candidate whose IP the TCP connection leaves from.
    pub source: SocketAddr,
    /// Where to send.
    pub destination: SocketAddr,
    /// UDP: one datagram. TCP (only towards a TURN server configured with TCP): bytes to
    /// write to the driver's TCP connection to `destination`, opened on first use; bytes read
    /// from it go to [`IceAgent::handle_relay_stream`].
    pub transport: TransportProtocol,
    /// The datagram, or the stream bytes.
    pub data: Vec<u8>,
}

/// The W3C `RTCIceConnectionState` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceConnectionState {
    /// Waiting for remote candidates.
    New,
    /// Checks are running and no pair works yet.
    Checking,
    /// A usable pair is selected; checks may still run.
    Connected,
    /// Checks are done and a nominated pair is selected.
    Completed,
    /// Consent responses stopped arriving for a while; may recover.
    Disconnected,
    /// Every pair failed, or consent was lost (RFC 7675): nothing may be sent.
    Failed,
    /// The agent was closed.
    Closed,
}

/// Things the application must learn.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IceEvent {
    /// A local candidate to signal to the peer (trickle, RFC 8838).
    LocalCandidate(Candidate),
    /// Gathering finished: signal end-of-candidates.
    GatheringComplete,
    /// The connection state changed.
    ConnectionStateChanged(IceConnectionState),
    /// The pair that carries data changed.
    SelectedPairChanged {
        /// Local socket address (the base) to send from.
        local: SocketAddr,
        /// Remote address to send to.
        remote: SocketAddr,
    },
    /// The agent switched role after a role conflict (RFC 8445 §7.3.1.1).
    RoleChanged {
        /// Whether the agent is now controlling.
        controlling: bool,
    },
    /// A non-STUN datagram (DTLS, SRTP, ...) that the peer sent to one of our relayed
    /// candidates, unwrapped from the TURN server's Data indication or ChannelData.
    RelayedData {
        /// Our relayed address it was sent to.
        local: SocketAddr,
        /// The peer that sent it.
        remote: SocketAddr,
        /// The datagram.
        data: Vec<u8>,
    },
}

/// The state of a candidate pair (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairState {
    /// Waits for a pair of the same foundation to succeed.
    Frozen,
    /// Ready to be checked.
    Waiting,
    /// A check is in flight.
    InProgress,
    /// A check succeeded: the pair is valid.
    Succeeded,
    /// Checks failed.
    Failed,
}

/// A snapshot of one candidate pair, for stats and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairInfo {
    /// Local base address.
    pub local: SocketAddr,
    /// Remote address.
    pub remote: SocketAddr,
    /// Remote candidate type.
    pub remote_kind: CandidateKind,
    /// Pair priority (RFC 8445 §6.1.2.3).
    pub priority: u64,
    /// State.
    pub state: PairState,
    /// Nominated.
    pub nominated: bool,
}

/// Outgoing queues are bounded so that a flood of input cannot grow memory.
const MAX_QUEUED_TRANSMITS: usize = 1024;
const MAX_QUEUED_EVENTS: usize = 1024;
/// Datagrams held per relay while TURN permissions are being installed.
const MAX_WAITING_FOR_PERMISSION: usize = 64;
/// Peer IPs one relay asks permissions for (each pair with a relayed local needs one).
const MAX_RELAY_PERMISSIONS: usize = 256;
/// TURN client events handled per input, so a flood from the server cannot loop for long.
const MAX_RELAY_EVENTS_PER_INPUT: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RelayState {
    Allocating,
    Allocated,
    Failed,
}

/// One TURN allocation (RFC 8445 §5.1.1.2) made from a host candidate's socket.
#[derive(Debug)]
struct Relay {
    /// The host candidate whose socket talks to the server.
    host: usize,
    server: SocketAddr,
    transport: TransportProtocol,
    client: TurnClient,
    state: RelayState,
    /// The relayed local candidate, once allocated.
    local: Option<usize>,
    /// Peer IPs a CreatePermission was sent for.
    permissions: Vec<IpAddr>,
    /// Datagrams to peers whose permission is not installed yet.
    waiting: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Peer IPs the server refused a permission for (403: its relay policy).
    denied: Vec<IpAddr>,
}

#[derive(Debug, Clone)]
struct LocalCandidate {
    candidate: Candidate,
    /// The socket address the driver sends from (equal to the address for host candidates).
    base: SocketAddr,
}

/// Why a pair is being formed: from signalled candidates, or for a check that arrived on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairOrigin {
    Signalled,
    ReceivedCheck,
}

#[derive(Debug, Clone)]
struct CandidatePair {
    id: u32,
    local: usize,
    remote: usize,
    priority: u64,
    state: PairState,
    nominated: bool,
    /// Controlled side: USE-CANDIDATE arrived before our own check succeeded (RFC 8445 §7.3.1.5).
    nominate_on_success: bool,
    /// Controlling side: a check carrying USE-CANDIDATE is queued or in flight.
    nominating: bool,
    /// Last successful response on this pair (a check or a consent check).
    last_success: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Check { pair: u32, nominate: bool },
    Consent { pair: u32 },
    Gather { local: usize },
}

#[derive(Debug, Clone)]
struct InFlight {
    tid: TransactionId,
    purpose: Purpose,
    source: SocketAddr,
    destination: SocketAddr,
    data: Vec<u8>,
    transmissions: u32,
    rto: Duration,
    next_at: Instant,
    /// The role the request was sent with; a 487 only switches if we still have it.
    controlling: bool,
}

fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

/// Pair priority (RFC 8445 §6.1.2.3): `2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0)`, where G is the
/// controlling agent's candidate priority and D the controlled agent's.
pub fn pair_priority(controlling_priority: u32, controlled_priority: u32) -> u64 {
    let g = u64::from(controlling_priority);
    let d = u64::from(controlled_priority);
    (g.min(d) << 32) + 2 * g.max(d) + u64::from(g > d)
}

/// A full (or lite) ICE agent for one component (rtcp-mux), sans-IO.
///
/// Run loop: feed datagrams with [`handle_receive`](Self::handle_receive) and timer expiries
/// with [`handle_timeout`](Self::handle_timeout); after each input drain
/// [`poll_transmit`](Self::poll_transmit), then [`poll_event`](Self::poll_event), then arm a
/// timer for [`poll_timeout`](Self::poll_timeout).
#[derive(Debug)]
pub struct IceAgent {
    config: IceConfig,
    rng: StdRng,
    controlling: bool,
    local_key: IntegrityKey,
    remote: Option<(IceCredentials, IntegrityKey)>,
    locals: Vec<LocalCandidate>,
    remotes: Vec<Candidate>,
    pairs: Vec<CandidatePair>,
    next_pair_id: u32,
    triggered: VecDeque<(u32, bool)>,
    in_flight: Vec<InFlight>,
    pending_gathers: VecDeque<(usize, SocketAddr)>,
    relays: Vec<Relay>,
    next_check_at: Instant,
    nominate_deadline: Option<Instant>,
    selected: Option<u32>,
    consent_next: Option<Instant>,
    state: IceConnectionState,
    consent_lost: bool,
    /// A pair has been selected since the start (or the last restart): losing it later means
    /// connectivity was lost (`disconnected`), not that checks are starting (`checking`).
    had_selected: bool,
    remote_end_of_candidates: bool,
    local_end_of_candidates: bool,
    gathering_complete_sent: bool,
    foundations: Vec<(CandidateKind, std::net::IpAddr, Option<SocketAddr>)>,
    prflx_count: u32,
    transmits: VecDeque<Transmit>,
    events: VecDeque<IceEvent>,
    now: Instant,
}

impl IceAgent {
    /// A new agent. With `config.ice_lite` it is always controlled and sends no checks.
    pub fn new(config: IceConfig, now: Instant) -> IceAgent {
        let controlling = config.controlling && !config.ice_lite;
        IceAgent {
            rng: StdRng::seed_from_u64(config.rng_seed),
            controlling,
            local_key: IntegrityKey::short_term(&config.local_pwd),
            remote: None,
            locals: Vec::new(),
            remotes: Vec::new(),
            pairs: Vec::new(),
            next_pair_id: 0,
            triggered: VecDeque::new(),
            in_flight: Vec::new(),
            pending_gathers: VecDeque::new(),
            relays: Vec::new(),
            next_check_at: now,
            nominate_deadline: None,
            selected: None,
            consent_next: None,
            state: IceConnectionState::New,
            consent_lost: false,
            had_selected: false,
            remote_end_of_candidates: false,
            local_end_of_candidates: false,
            gathering_complete_sent: false,
            foundations: Vec::new(),
            prflx_count: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            now,
            config,
        }
    }

    // ----- commands -------------------------------------------------------------------------

    /// Adds a host candidate on a socket the driver owns and returns it (also as an
    /// [`IceEvent::LocalCandidate`]). Adding the same address twice returns the first one.
    /// Starts server-reflexive gathering from it towards each configured STUN server, and an
    /// allocation on each TURN server. With `relay_only` the host candidate is not signalled
    /// (no event; don't signal the returned value) and only the allocations start.
    pub fn add_local_host_candidate(&mut self, address: SocketAddr) -> Candidate {
        if let Some(l) = self.locals.iter().find(|l| l.base == address) {
            return l.candidate.clone();
        }
        let local_preference = 65535u16.saturating_sub(self.locals.len().min(65535) as u16);
        let mut candidate = Candidate::host(address, 1);
        candidate.priority = candidate_priority(CandidateKind::Host, local_preference, 1);
        candidate.foundation = self.foundation(CandidateKind::Host, address, None);
        let index = self.locals.len();
        self.locals.push(LocalCandidate {
            candidate: candidate.clone(),
            base: address,
        });
        // W3C iceTransportPolicy "relay": the host socket only reaches the TURN servers.
        let relay_only = self.config.relay_only;
        if !relay_only {
            self.push_event(IceEvent::LocalCandidate(candidate.clone()));
        }
        for server in self.config.stun_servers.clone() {
            if server.is_ipv4() == address.is_ipv4() && !relay_only {
                self.pending_gathers.push_back((index, server));
            }
        }
        for server in self.config.turn_servers.clone() {
            // A loopback socket cannot reach a server elsewhere (and the other way round).
            if server.address.is_ipv4() == address.is_ipv4()
                && server.address.ip().is_loopback() == address.ip().is_loopback()
            {
                self.start_relay(index, &server);
            }
        }
        for r in 0..self.remotes.len() {
            self.form_pair(index, r, PairOrigin::Signalled);
        }
        self.update_state(self.now);
        candidate
    }

    /// Says that no more host candidates will be added: [`IceEvent::GatheringComplete`]
    /// follows once server-reflexive gathering has finished.
    pub fn end_of_local_candidates(&mut self) {
        self.local_end_of_candidates = true;
        self.check_gathering_complete();
    }

    /// Sets the peer's ufrag and password (from its SDP). New values after connection start an
    /// ICE restart on the remote side: see [`restart`](Self::restart) for a local restart.
    pub fn set_remote_credentials(&mut self, ufrag: String, pwd: String) {
        if let Some((creds, _)) = &self.remote
            && creds.ufrag == ufrag
            && creds.pwd == pwd
        {
            return;
        }
        let key = IntegrityKey::short_term(&pwd);
        self.remote = Some((IceCredentials { ufrag, pwd }, key));
        self.update_state(self.now);
    }

    /// Adds a remote candidate (from SDP or trickle). Candidates may come before the remote
    /// credentials. Unusable ones (TCP, component other than 1, unspecified, multicast,
    /// broadcast, port 0, over the limit) are rejected with an error and change nothing.
    pub fn add_remote_candidate(
        &mut self,
        now: Instant,
        candidate: Candidate,
    ) -> Result<(), IceError> {
        if self.state == IceConnectionState::Closed {
            return Err(IceError::Closed);
        }
        if candidate.component != 1 {
            return Err(IceError::UnusableCandidate {
                reason: "only component 1 (rtcp-mux) is supported",
            });
        }
        if candidate.transport != TransportProtocol::Udp {
            return Err(IceError::UnusableCandidate {
                reason: "only UDP candidates are paired",
            });
        }
        if let Some(reason) = unusable_reason(candidate.address) {
            return Err(IceError::UnusableCandidate { reason });
        }
        self.now = now;
        if let Some(existing) = self
            .remotes
            .iter_mut()
            .find(|r| r.address == candidate.address)
        {
            // RFC 8445 §7.3.1.3: a signalled candidate replaces the peer-reflexive one learnt
            // from a check; the pair keeps its state.
            if existing.kind == CandidateKind::PeerReflexive
                && candidate.kind != CandidateKind::PeerReflexive
            {
                *existing = candidate;
            }
            return Ok(());
        }
        if self.remotes.len() >= self.config.max_remote_candidates {
            return Err(IceError::UnusableCandidate {
                reason: "remote candidate limit reached",
            });
        }
        self.remotes.push(candidate);
        let r = self.remotes.len() - 1;
        for l in 0..self.locals.len() {
            self.form_pair(l, r, PairOrigin::Signalled);
        }
        self.update_state(now);
        Ok(())
    }

    /// The peer signalled end-of-candidates (RFC 8838 §4.4).
    pub fn end_of_remote_candidates(&mut self) {
        self.remote_end_of_candidates = true;
        self.update_state(self.now);
    }

    /// Restarts ICE with new local credentials (RFC 8445 §9): the checklist starts over, while
    /// the selected pair keeps carrying data until a new one is selected. The application sends
    /// a new offer/answer and then calls [`set_remote_credentials`](Self::set_remote_credentials)
    /// and adds the peer's candidates again.
    pub fn restart(&mut self, now: Instant, credentials: IceCredentials) {
        self.now = now;
        self.config.local_ufrag = credentials.ufrag;
        self.config.local_pwd = credentials.pwd;
        self.local_key = IntegrityKey::short_term(&self.config.local_pwd);
        self.remote = None;
        let keep = self.selected.and_then(|id| self.pair(id).cloned());
        let keep_addrs = keep.as_ref().map(|p| {
            (
                self.locals.get(p.local).cloned(),
                self.remotes.get(p.remote).cloned(),
            )
        });
        self.pairs.clear();
        self.remotes.clear();
        self.triggered.clear();
        self.in_flight
            .retain(|t| matches!(t.purpose, Purpose::Gather { .. }));
        self.remote_end_of_candidates = false;
        self.nominate_deadline = None;
        self.selected = None;
        // Keep the old selected pair alive (as a pair on its own) until a new one is chosen.
        if let (Some(old), Some((Some(_), Some(remote)))) = (keep, keep_addrs) {
            self.remotes.push(remote);
            let id = self.next_pair_id;
            self.next_pair_id = self.next_pair_id.wrapping_add(1);
            self.pairs.push(CandidatePair {
                id,
                remote: 0,
                nominated: false,
                nominating: false,
                nominate_on_success: false,
                ..old
            });
            self.selected = Some(id);
        }
        self.had_selected = self.selected.is_some();
        self.set_state(if self.selected.is_some() {
            IceConnectionState::Connected
        } else {
            IceConnectionState::New
        });
    }

    /// Closes the agent: nothing more is sent.
    pub fn close(&mut self) {
        // RFC 8656 §8: a Refresh with LIFETIME 0 deletes our allocations at once.
        let now = self.now;
        for i in 0..self.relays.len() {
            if let Some(r) = self.relays.get_mut(i)
                && r.state == RelayState::Allocated
                && r.client.deallocate(now).is_ok()
            {
                self.flush_relay_transmits(i);
            }
        }
        self.in_flight.clear();
        self.triggered.clear();
        self.pending_gathers.clear();
        self.selected = None;
        self.set_state(IceConnectionState::Closed);
    }

    // ----- queries --------------------------------------------------------------------------

    /// Whether the datagram is a STUN message for this agent: a request naming our ufrag, a
    /// response to a transaction we have in flight, or a Binding indication (keepalive).
    pub fn accepts(&self, datagram: &[u8]) -> bool {
        // RFC 7983 §7: a first byte in 64–79 is TURN ChannelData, which only the servers of
        // our relays send.
        if !self.relays.is_empty() && datagram.first().is_some_and(|b| (64..=79).contains(b)) {
            return true;
        }
        if !tern_stun::is_stun(datagram) {
            return false;
        }
        let Ok(msg) = Message::decode(datagram) else {
            return false;
        };
        // TURN responses and Data indications for our relays.
        if !self.relays.is_empty() && msg.message_type().method != Method::BINDING {
            return true;
        }
        match msg.message_type().class {
            Class::Request => match msg.get::<Username>() {
                Ok(Some(Username(u))) => u
                    .split_once(':')
                    .is_some_and(|(ours, _)| ours == self.config.local_ufrag),
                _ => false,
            },
            Class::SuccessResponse | Class::ErrorResponse => {
                let tid = msg.transaction_id();
                self.in_flight.iter().any(|t| t.tid == tid)
            }
            Class::Indication => msg.message_type().method == Method::BINDING,
        }
    }

    /// The selected pair `(local base, remote)`: the nominated pair, or before nomination the
    /// best valid pair. `None` before any check succeeded and after consent was lost. When the
    /// local candidate is relayed, `local` is the relayed address (no socket of ours): send
    /// with [`send_data`](Self::send_data), which wraps the data for the TURN server.
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        let p = self.pair(self.selected?)?;
        Some((
            self.locals.get(p.local)?.base,
            self.remotes.get(p.remote)?.address,
        ))
    }

    /// Sends application data (DTLS, SRTP, ...) on the selected pair: queued for
    /// [`poll_transmit`](Self::poll_transmit) from the pair's base, or, when the local candidate
    /// is relayed, to the TURN server as ChannelData or a Send indication (RFC 8656 §11–12).
    pub fn send_data(&mut self, data: &[u8]) -> Result<(), IceError> {
        if self.state == IceConnectionState::Closed {
            return Err(IceError::Closed);
        }
        let (local, remote) = self.selected_pair().ok_or(IceError::NoSelectedPair)?;
        match self.relay_for_source(local) {
            Some(i) => {
                if let Some(r) = self.relays.get_mut(i) {
                    r.client.send_to(remote, data)?;
                }
                self.flush_relay_transmits(i);
            }
            None => self.push_transmit(Transmit {
                transport: TransportProtocol::Udp,
                source: local,
                destination: remote,
                data: data.to_vec(),
            }),
        }
        Ok(())
    }

    /// Whether `remote` was validated from `local` by a check of ours that succeeded, and consent
    /// is still fresh: DTLS/SRTP/SCTP from other 5-tuples must be dropped.
    pub fn is_validated_remote(&self, local: SocketAddr, remote: SocketAddr) -> bool {
        let Some(local) = self.resolve_local(local) else {
            return false;
        };
        self.pairs.iter().any(|p| {
            p.state == PairState::Succeeded
                && p.local == local
                && self
                    .remotes
                    .get(p.remote)
                    .is_some_and(|r| r.address == remote)
        })
    }

    /// The connection state.
    pub fn connection_state(&self) -> IceConnectionState {
        self.state
    }

    /// Whether the agent is controlling now.
    pub fn is_controlling(&self) -> bool {
        self.controlling
    }

    /// The local credentials.
    pub fn local_credentials(&self) -> IceCredentials {
        IceCredentials {
            ufrag: self.config.local_ufrag.clone(),
            pwd: self.config.local_pwd.clone(),
        }
    }

    /// The local candidates gathered so far (with `relay_only`, the relayed ones).
    pub fn local_candidates(&self) -> Vec<Candidate> {
        self.locals
            .iter()
            .filter(|l| !self.config.relay_only || l.candidate.kind == CandidateKind::Relayed)
            .map(|l| l.candidate.clone())
            .collect()
    }

    /// The remote candidates known (signalled and peer-reflexive).
    pub fn remote_candidates(&self) -> &[Candidate] {
        &self.remotes
    }

    /// A snapshot of the checklist, highest priority first.
    pub fn pairs(&self) -> Vec<PairInfo> {
        let mut v: Vec<PairInfo> = self
            .pairs
            .iter()
            .filter_map(|p| {
                let r = self.remotes.get(p.remote)?;
                Some(PairInfo {
                    local: self.locals.get(p.local)?.base,
                    remote: r.address,
                    remote_kind: r.kind,
                    priority: p.priority,
                    state: p.state,
                    nominated: p.nominated,
                })
            })
            .collect();
        v.sort_by_key(|p| std::cmp::Reverse(p.priority));
        v
    }

    // ----- output ---------------------------------------------------------------------------

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == IceConnectionState::Closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut consider = |x: Instant| t = Some(t.map_or(x, |t| t.min(x)));
        for f in &self.in_flight {
            consider(f.next_at);
        }
        for r in &self.relays {
            if r.state != RelayState::Failed
                && let Some(at) = r.client.poll_timeout()
            {
                consider(at);
            }
        }
        if self.has_check_work() {
            consider(self.next_check_at);
        }
        if let Some(d) = self.nominate_deadline {
            consider(d);
        }
        if let Some(p) = self.selected.and_then(|id| self.pair(id)) {
            if let Some(c) = self.consent_next {
                consider(c);
            }
            if let Some(last) = p.last_success {
                // Only deadlines still ahead: a passed one has already changed the state.
                for deadline in [
                    after(last, self.config.disconnected_timeout),
                    after(last, self.config.consent_timeout),
                ] {
                    if deadline > self.now {
                        consider(deadline);
                    }
                }
            }
        }
        t
    }

    // ----- input ----------------------------------------------------------------------------

    /// Timers: retransmissions, paced checks (Ta), nomination, consent (RFC 7675).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == IceConnectionState::Closed {
            return;
        }
        self.now = now;
        for i in 0..self.relays.len() {
            if let Some(r) = self.relays.get_mut(i)
                && r.state != RelayState::Failed
            {
                r.client.handle_timeout(now);
                self.pump_relay(i);
            }
        }
        self.retransmit(now);
        if now >= self.next_check_at && self.send_next_check(now) {
            self.next_check_at = after(now, self.config.check_interval);
        }
        self.maybe_nominate(now);
        self.send_consent(now);
        self.check_gathering_complete();
        self.update_state(now);
    }

    /// A datagram arrived on the local socket `local` from `remote`.
    ///
    /// An `Err` says why the datagram was rejected (not STUN, unauthenticated, a response to a
    /// transaction no longer in flight such as a duplicate, ...); it changed nothing but, for
    /// a request, queueing the STUN error response, and it is never fatal to the agent.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), IceError> {
        if self.state == IceConnectionState::Closed {
            return Err(IceError::Closed);
        }
        if let Some(i) = self.relay_for_datagram(local, remote, datagram) {
            self.now = now;
            let result = match self.relays.get_mut(i) {
                Some(r) => r.client.handle_receive(now, remote, datagram),
                None => Ok(()),
            };
            self.pump_relay(i);
            self.update_state(now);
            return result.map_err(IceError::from);
        }
        self.handle_stun(now, local, remote, datagram)
    }

    /// Bytes read from the driver's TCP connection to TURN server `server` (configured with
    /// [`TransportProtocol::Tcp`]): any chunking; the TURN client reframes the stream
    /// (RFC 8656 §12.5 padding included).
    pub fn handle_relay_stream(
        &mut self,
        now: Instant,
        server: SocketAddr,
        data: &[u8],
    ) -> Result<(), IceError> {
        if self.state == IceConnectionState::Closed {
            return Err(IceError::Closed);
        }
        let i = self
            .relays
            .iter()
            .position(|r| {
                r.server == server
                    && r.transport == TransportProtocol::Tcp
                    && r.state != RelayState::Failed
            })
            .ok_or(IceError::UnknownRelayServer)?;
        self.now = now;
        let result = match self.relays.get_mut(i) {
            Some(r) => r.client.handle_receive(now, server, data),
            None => Ok(()),
        };
        self.pump_relay(i);
        self.update_state(now);
        result.map_err(IceError::from)
    }

    /// The driver's TCP connection to TURN server `server` failed or closed: the allocations
    /// on it are gone (an allocation is bound to its client–server 5-tuple, here the TCP
    /// connection), and their pairs fail.
    pub fn relay_stream_closed(&mut self, now: Instant, server: SocketAddr) {
        self.now = now;
        let gone: Vec<usize> = (0..self.relays.len())
            .filter(|&i| {
                self.relays.get(i).is_some_and(|r| {
                    r.server == server
                        && r.transport == TransportProtocol::Tcp
                        && r.state != RelayState::Failed
                })
            })
            .collect();
        for i in gone {
            self.relay_failed(i);
        }
        self.update_state(now);
    }

    /// A STUN datagram on `local` (a host socket, or a relayed address once unwrapped).
    fn handle_stun(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), IceError> {
        let first = datagram.first().copied().unwrap_or(0xFF);
        if first > 3 {
            return Err(IceError::NotStun);
        }
        let msg = Message::decode(datagram)?;
        if msg.message_type().method != Method::BINDING {
            return Err(IceError::UnexpectedMessage);
        }
        self.now = now;
        let result = match msg.message_type().class {
            Class::Request => self.handle_request(now, local, remote, &msg),
            Class::SuccessResponse | Class::ErrorResponse => {
                self.handle_response(now, local, remote, &msg)
            }
            // RFC 8445 §11: keepalives are Binding indications; nothing to do.
            Class::Indication => Ok(()),
        };
        self.update_state(now);
        result
    }

    // ----- requests -------------------------------------------------------------------------

    fn handle_request(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message<'_>,
    ) -> Result<(), IceError> {
        let Some(local_index) = self.resolve_local(local) else {
            return Err(IceError::UnknownLocalAddress);
        };
        let tid = msg.transaction_id();
        // RFC 8489 §6.3.1.1 / §7.3.1: unknown comprehension-required attributes get a 420.
        if let Some(unknown) = msg.unknown_comprehension_required(kind::is_known).next() {
            let list: Vec<u16> = msg
                .unknown_comprehension_required(kind::is_known)
                .take(16)
                .collect();
            self.send_error(
                local,
                remote,
                tid,
                ErrorCode::UNKNOWN_ATTRIBUTE,
                Some(list),
                false,
            );
            return Err(IceError::UnknownAttribute(unknown));
        }
        // RFC 8489 §9.1.3: a request without MESSAGE-INTEGRITY or USERNAME gets a 400.
        let username = match msg.get::<Username>() {
            Ok(Some(Username(u))) if msg.has_integrity() => u,
            Ok(Some(_)) => return self.reject(local, remote, tid, 400, "MESSAGE-INTEGRITY"),
            _ => return self.reject(local, remote, tid, 400, "USERNAME"),
        };
        // RFC 8445 §7.3: USERNAME is "local ufrag:remote ufrag" from our side's view.
        let Some((ours, theirs)) = username.split_once(':') else {
            return self.reject(local, remote, tid, 401, "");
        };
        let remote_ufrag_ok = self.remote.as_ref().is_none_or(|(c, _)| c.ufrag == theirs);
        if ours != self.config.local_ufrag || !remote_ufrag_ok {
            self.send_error(local, remote, tid, ErrorCode::UNAUTHENTICATED, None, false);
            return Err(IceError::WrongUsername);
        }
        // RFC 8489 §9.1.3: a wrong MESSAGE-INTEGRITY gets a 401 (checked in constant time).
        if let Err(e) = msg.verify_integrity(&self.local_key) {
            self.send_error(local, remote, tid, ErrorCode::UNAUTHENTICATED, None, false);
            return Err(IceError::Integrity(e));
        }
        // RFC 8445 §7.1.1: the request MUST contain PRIORITY.
        let priority = match msg.get::<Priority>() {
            Ok(Some(Priority(p))) => p,
            _ => return self.reject(local, remote, tid, 400, "PRIORITY"),
        };
        let their_controlling = msg.get::<IceControlling>().ok().flatten();
        let their_controlled = msg.get::<IceControlled>().ok().flatten();
        // RFC 8445 §7.3.1.1: repair role conflicts. The agent with the larger tie-breaker
        // keeps (or takes) the controlling role. Equal tie-breakers (RFC: "larger than or
        // equal") would make both sides act alike and oscillate; we break the tie by the
        // ufrags, which both sides see the same way, so exactly one side wins.
        let wins = |t: u64| {
            let ours = self.config.tie_breaker;
            ours > t || (ours == t && self.config.local_ufrag.as_str() >= theirs)
        };
        if self.controlling {
            if let Some(IceControlling(t)) = their_controlling {
                if wins(t) {
                    self.send_error(local, remote, tid, ErrorCode::ROLE_CONFLICT, None, true);
                    return Ok(());
                }
                self.set_role(false);
            }
        } else if let Some(IceControlled(t)) = their_controlled {
            // A lite agent is always controlled (RFC 8445 §6.1.1).
            if self.config.ice_lite || !wins(t) {
                self.send_error(local, remote, tid, ErrorCode::ROLE_CONFLICT, None, true);
                return Ok(());
            }
            self.set_role(true);
        }

        // RFC 8445 §7.3.1.3: learn a peer-reflexive candidate from an authenticated check.
        let remote_index = match self.remotes.iter().position(|r| r.address == remote) {
            Some(i) => Some(i),
            None if self.remotes.len() < self.config.max_remote_candidates
                && unusable_reason(remote).is_none() =>
            {
                self.prflx_count = self.prflx_count.wrapping_add(1);
                self.remotes.push(Candidate {
                    foundation: format!("prflx{}", self.prflx_count),
                    component: 1,
                    transport: TransportProtocol::Udp,
                    priority,
                    address: remote,
                    kind: CandidateKind::PeerReflexive,
                    related_address: None,
                    tcp_type: None,
                });
                Some(self.remotes.len() - 1)
            }
            None => None,
        };
        let pair_id = match remote_index {
            Some(r) => self
                .pair_id_for(local_index, r)
                .or_else(|| self.form_pair(local_index, r, PairOrigin::ReceivedCheck)),
            None => None,
        };

        let use_candidate = msg.contains(kind::USE_CANDIDATE);
        if let Some(id) = pair_id {
            let lite = self.config.ice_lite;
            let controlling = self.controlling;
            let mut enqueue = false;
            if let Some(p) = self.pair_mut(id) {
                if lite {
                    // RFC 8445 §7.3.1.5 (lite): a pair is valid once an authenticated check
                    // arrives on it; USE-CANDIDATE nominates it.
                    p.state = PairState::Succeeded;
                    p.last_success = Some(now);
                    if use_candidate {
                        p.nominated = true;
                    }
                } else {
                    // RFC 8445 §7.3.1.4: triggered check.
                    match p.state {
                        PairState::Succeeded | PairState::InProgress => {}
                        PairState::Frozen | PairState::Waiting | PairState::Failed => {
                            p.state = PairState::Waiting;
                            enqueue = true;
                        }
                    }
                    // RFC 8445 §7.3.1.5: the controlled agent accepts USE-CANDIDATE.
                    if use_candidate && !controlling {
                        if p.state == PairState::Succeeded {
                            p.nominated = true;
                        } else {
                            p.nominate_on_success = true;
                        }
                    }
                }
            }
            if enqueue && !self.triggered.iter().any(|(t, _)| *t == id) {
                self.triggered.push_back((id, false));
            }
            self.update_selected(now);
        }

        // RFC 8445 §7.3.1.2 / RFC 8489 §7.3.1: answer with XOR-MAPPED-ADDRESS, signed with our
        // password, with FINGERPRINT.
        let mut data = Vec::with_capacity(80);
        let mut enc = MessageEncoder::new(&mut data, MessageType::BINDING_SUCCESS, tid);
        let ok = enc.add(&XorMappedAddress(remote)).is_ok()
            && enc.add_message_integrity(&self.local_key).is_ok()
            && enc.add_fingerprint().is_ok();
        if ok {
            self.push_transmit(Transmit {
                transport: TransportProtocol::Udp,
                source: local,
                destination: remote,
                data,
            });
        }
        Ok(())
    }

    /// The local candidate whose base is `local`. A driver whose socket is bound to the
    /// unspecified address may report `0.0.0.0:port`: then the one base with that port.
    fn resolve_local(&self, local: SocketAddr) -> Option<usize> {
        if let Some(i) = self.locals.iter().position(|l| l.base == local) {
            return Some(i);
        }
        if !local.ip().is_unspecified() {
            return None;
        }
        let mut same_port = self.locals.iter().enumerate().filter(|(_, l)| {
            l.candidate.kind == CandidateKind::Host
                && l.base.port() == local.port()
                && l.base.is_ipv4() == local.is_ipv4()
        });
        match (same_port.next(), same_port.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    fn reject(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        tid: TransactionId,
        code: u16,
        missing: &'static str,
    ) -> Result<(), IceError> {
        let error = if code == 400 {
            ErrorCode::BAD_REQUEST
        } else {
            ErrorCode::UNAUTHENTICATED
        };
        self.send_error(local, remote, tid, error, None, false);
        if code == 400 {
            Err(IceError::BadRequest { missing })
        } else {
            Err(IceError::WrongUsername)
        }
    }

    fn send_error(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
        tid: TransactionId,
        error: ErrorCode<'static>,
        unknown: Option<Vec<u16>>,
        sign: bool,
    ) {
        let mut data = Vec::with_capacity(64);
        let mut enc = MessageEncoder::new(&mut data, MessageType::BINDING_ERROR, tid);
        let mut ok = enc.add(&error).is_ok();
        if let Some(list) = unknown {
            ok &= enc.add(&UnknownAttributes(list)).is_ok();
        }
        if sign {
            ok &= enc.add_message_integrity(&self.local_key).is_ok();
        }
        if ok && enc.add_fingerprint().is_ok() {
            self.push_transmit(Transmit {
                transport: TransportProtocol::Udp,
                source: local,
                destination: remote,
                data,
            });
        }
    }

    // ----- responses ------------------------------------------------------------------------

    fn handle_response(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        msg: &Message<'_>,
    ) -> Result<(), IceError> {
        let tid = msg.transaction_id();
        let index = self
            .in_flight
            .iter()
            .position(|t| t.tid == tid)
            .ok_or(IceError::UnknownTransaction)?;
        let Some(t) = self.in_flight.get(index) else {
            return Err(IceError::UnknownTransaction);
        };
        let (purpose, source, destination, sent_controlling) =
            (t.purpose, t.source, t.destination, t.controlling);
        if !matches!(purpose, Purpose::Gather { .. }) {
            // RFC 8445 §7.2.5.1 / RFC 8489 §9.1.4: responses are authenticated with the
            // password the request used (the remote one); a forged response is dropped and the
            // transaction goes on.
            let key = &self.remote.as_ref().ok_or(IceError::UnknownTransaction)?.1;
            msg.verify_integrity(key)?;
        }
        // RFC 8445 §7.2.5.2.1: the response must come from where the request went, and arrive
        // where it left from. RFC 7675 §5.1: asymmetric responses don't refresh consent.
        if remote != destination || self.resolve_local(local) != self.resolve_local(source) {
            return Err(IceError::NonSymmetricResponse);
        }
        self.in_flight.swap_remove(index);

        if msg.message_type().class == Class::ErrorResponse {
            let code = msg.get::<ErrorCode>().ok().flatten().map(|e| e.code);
            match (purpose, code) {
                (Purpose::Check { pair, .. }, Some(487)) => {
                    // RFC 8445 §7.2.5.1: switch role (if we still hold the one the request
                    // claimed) and retry the pair as a triggered check.
                    if sent_controlling == self.controlling {
                        self.set_role(!self.controlling);
                    }
                    if let Some(p) = self.pair_mut(pair) {
                        // A valid pair stays valid (a nominating check may get the 487).
                        if p.state != PairState::Succeeded {
                            p.state = PairState::Waiting;
                        }
                        p.nominating = false;
                    }
                    self.triggered.push_front((pair, false));
                }
                (Purpose::Check { pair, .. }, _) => self.fail_pair(pair),
                _ => {}
            }
            return Ok(());
        }

        let mapped = msg.get::<XorMappedAddress>().ok().flatten().map(|x| x.0);
        match purpose {
            Purpose::Gather { local: l } => {
                if let Some(mapped) = mapped {
                    self.add_server_reflexive(l, mapped, destination);
                }
                self.check_gathering_complete();
            }
            Purpose::Consent { pair } => {
                if let Some(p) = self.pair_mut(pair) {
                    p.last_success = Some(now);
                }
            }
            Purpose::Check { pair, nominate } => {
                let controlling = self.controlling;
                let foundation = self.pair_foundation(pair);
                if let Some(p) = self.pair_mut(pair) {
                    p.state = PairState::Succeeded;
                    p.last_success = Some(now);
                    // RFC 8445 §7.2.5.3.4 (controlling) and §7.3.1.5 (controlled): nomination.
                    if nominate && controlling {
                        p.nominated = true;
                    }
                    if p.nominate_on_success && !controlling {
                        p.nominated = true;
                    }
                    p.nominating = false;
                }
                // RFC 8445 §7.2.5.3.3: unfreeze pairs of the same foundation.
                if let Some(f) = foundation {
                    let ids: Vec<u32> = self.pairs.iter().map(|p| p.id).collect();
                    for id in ids {
                        if self.pair(id).is_some_and(|p| p.state == PairState::Frozen)
                            && self.pair_foundation(id).as_ref() == Some(&f)
                            && let Some(p) = self.pair_mut(id)
                        {
                            p.state = PairState::Waiting;
                        }
                    }
                }
                if self.controlling && self.nominate_deadline.is_none() {
                    self.nominate_deadline = Some(after(now, self.config.nomination_timeout));
                }
                self.update_selected(now);
                self.maybe_nominate(now);
            }
        }
        Ok(())
    }

    // ----- checks ---------------------------------------------------------------------------

    fn has_check_work(&self) -> bool {
        if !self.pending_gathers.is_empty() {
            return true;
        }
        if self.config.ice_lite || self.remote.is_none() {
            return false;
        }
        !self.triggered.is_empty()
            || self
                .pairs
                .iter()
                .any(|p| matches!(p.state, PairState::Waiting | PairState::Frozen))
    }

    /// Sends one new transaction if any is due (RFC 8445 §6.1.4.2): triggered checks first,
    /// then gathering, then the highest-priority Waiting pair, then unfreezes a Frozen one.
    fn send_next_check(&mut self, now: Instant) -> bool {
        if !self.config.ice_lite && self.remote.is_some() {
            while let Some((id, nominate)) = self.triggered.pop_front() {
                if self.pair(id).is_some() {
                    self.send_check(now, id, nominate);
                    return true;
                }
            }
        }
        if let Some((l, server)) = self.pending_gathers.pop_front() {
            self.send_gather(now, l, server);
            return true;
        }
        if self.config.ice_lite || self.remote.is_none() {
            return false;
        }
        let best = |state: PairState, pairs: &[CandidatePair]| {
            pairs
                .iter()
                .filter(|p| p.state == state)
                .max_by_key(|p| p.priority)
                .map(|p| p.id)
        };
        if let Some(id) =
            best(PairState::Waiting, &self.pairs).or_else(|| best(PairState::Frozen, &self.pairs))
        {
            self.send_check(now, id, false);
            return true;
        }
        false
    }

    fn send_check(&mut self, now: Instant, pair: u32, nominate: bool) {
        let Some(p) = self.pair(pair) else { return };
        let (Some(local), Some(remote)) = (self.locals.get(p.local), self.remotes.get(p.remote))
        else {
            return;
        };
        let (source, destination) = (local.base, remote.address);
        let local_preference = ((local.candidate.priority >> 8) & 0xFFFF) as u16;
        let Some(data) = self.build_request(now, source, destination, local_preference, nominate)
        else {
            return;
        };
        let (tid, data) = data;
        if let Some(p) = self.pair_mut(pair) {
            if p.state != PairState::Succeeded {
                p.state = PairState::InProgress;
            }
            if nominate {
                p.nominating = true;
            }
        }
        self.start_transaction(
            now,
            tid,
            Purpose::Check { pair, nominate },
            source,
            destination,
            data,
        );
    }

    /// A connectivity-check request (RFC 8445 §7.2.2): USERNAME, PRIORITY, the role attribute,
    /// optionally USE-CANDIDATE, MESSAGE-INTEGRITY with the remote password, FINGERPRINT.
    fn build_request(
        &mut self,
        _now: Instant,
        _source: SocketAddr,
        _destination: SocketAddr,
        local_preference: u16,
        nominate: bool,
    ) -> Option<(TransactionId, Vec<u8>)> {
        let (creds, key) = self.remote.as_ref()?;
        let tid = TransactionId::random(&mut self.rng);
        let mut data = Vec::with_capacity(112);
        let username = format!("{}:{}", creds.ufrag, self.config.local_ufrag);
        let mut enc = MessageEncoder::new(&mut data, MessageType::BINDING_REQUEST, tid);
        enc.add(&Username(&username)).ok()?;
        // RFC 8445 §7.1.1: PRIORITY as if the candidate were peer-reflexive.
        enc.add(&Priority(candidate_priority(
            CandidateKind::PeerReflexive,
            local_preference,
            1,
        )))
        .ok()?;
        if self.controlling {
            enc.add(&IceControlling(self.config.tie_breaker)).ok()?;
        } else {
            enc.add(&IceControlled(self.config.tie_breaker)).ok()?;
        }
        if nominate {
            enc.add(&UseCandidate).ok()?;
        }
        enc.add_message_integrity(key).ok()?;
        enc.add_fingerprint().ok()?;
        Some((tid, data))
    }

    fn send_gather(&mut self, now: Instant, local: usize, server: SocketAddr) {
        let Some(l) = self.locals.get(local) else {
            return;
        };
        let source = l.base;
        let tid = TransactionId::random(&mut self.rng);
        let mut data = Vec::with_capacity(28);
        let enc = MessageEncoder::new(&mut data, MessageType::BINDING_REQUEST, tid);
        if enc.add_fingerprint().is_ok() {
            self.start_transaction(now, tid, Purpose::Gather { local }, source, server, data);
        }
    }

    fn start_transaction(
        &mut self,
        now: Instant,
        tid: TransactionId,
        purpose: Purpose,
        source: SocketAddr,
        destination: SocketAddr,
        data: Vec<u8>,
    ) {
        self.push_transmit(Transmit {
            transport: TransportProtocol::Udp,
            source,
            destination,
            data: data.clone(),
        });
        let rto = self.config.check_rto;
        self.in_flight.push(InFlight {
            tid,
            purpose,
            source,
            destination,
            data,
            transmissions: 1,
            rto,
            next_at: after(now, rto),
            controlling: self.controlling,
        });
    }

    /// RFC 8489 §6.2.1: retransmit with a doubling RTO; after the last transmission wait one
    /// more RTO, then the transaction fails (and a check's pair with it, RFC 8445 §7.2.5.2.4...
    /// a timed-out check fails the pair).
    fn retransmit(&mut self, now: Instant) {
        let max = self.config.max_check_transmissions.max(1);
        let rto_max = self.config.check_rto_max;
        let mut expired = Vec::new();
        let mut resend = Vec::new();
        self.in_flight.retain_mut(|t| {
            if t.next_at > now {
                return true;
            }
            if t.transmissions >= max {
                expired.push(t.purpose);
                return false;
            }
            t.transmissions += 1;
            t.rto = (t.rto * 2).min(rto_max.max(t.rto));
            t.next_at = after(now, t.rto);
            resend.push(Transmit {
                transport: TransportProtocol::Udp,
                source: t.source,
                destination: t.destination,
                data: t.data.clone(),
            });
            true
        });
        for t in resend {
            self.push_transmit(t);
        }
        for purpose in expired {
            match purpose {
                Purpose::Check { pair, .. } => self.fail_pair(pair),
                Purpose::Gather { .. } => self.check_gathering_complete(),
                Purpose::Consent { .. } => {}
            }
        }
    }

    fn fail_pair(&mut self, pair: u32) {
        if let Some(p) = self.pair_mut(pair) {
            p.state = PairState::Failed;
            p.nominating = false;
            p.nominated = false;
        }
        if self.selected == Some(pair) {
            self.selected = None;
        }
        self.update_selected(self.now);
    }

    /// Regular nomination (RFC 8445 §8.1.1): once the best valid pair cannot be beaten by a
    /// pair still being checked, or after `nomination_timeout`, check it again with USE-CANDIDATE.
    fn maybe_nominate(&mut self, now: Instant) {
        if !self.controlling || self.config.ice_lite || self.remote.is_none() {
            return;
        }
        if self.pairs.iter().any(|p| p.nominated || p.nominating) {
            self.nominate_deadline = None;
            return;
        }
        let Some(best) = self
            .pairs
            .iter()
            .filter(|p| p.state == PairState::Succeeded)
            .max_by_key(|p| p.priority)
            .map(|p| (p.id, p.priority))
        else {
            return;
        };
        let better_pending = self.pairs.iter().any(|p| {
            p.priority > best.1
                && matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                )
        });
        let deadline_passed = self.nominate_deadline.is_some_and(|d| now >= d);
        if !better_pending || deadline_passed {
            self.nominate_deadline = None;
            if let Some(p) = self.pair_mut(best.0) {
                p.nominating = true;
            }
            self.triggered.push_front((best.0, true));
            if now >= self.next_check_at && self.send_next_check(now) {
                self.next_check_at = after(now, self.config.check_interval);
            }
        }
    }

    /// RFC 7675 §5.1: consent checks on the selected pair every 4–6 s (randomised); for a lite
    /// agent, Binding-indication keepalives at the same pace (RFC 8445 §11).
    fn send_consent(&mut self, now: Instant) {
        let Some(id) = self.selected else {
            self.consent_next = None;
            return;
        };
        let due = self.consent_next.is_none_or(|t| now >= t);
        if !due {
            return;
        }
        if self.consent_next.is_some() {
            let Some(p) = self.pair(id) else { return };
            let (Some(local), Some(remote)) =
                (self.locals.get(p.local), self.remotes.get(p.remote))
            else {
                return;
            };
            let (source, destination) = (local.base, remote.address);
            if self.config.ice_lite {
                // RFC 8445 §11: keepalives are Binding indications (a lite agent does no
                // consent checks of its own; the full peer's checks keep consent).
                let tid = TransactionId::random(&mut self.rng);
                let mut data = Vec::with_capacity(28);
                let enc = MessageEncoder::new(&mut data, MessageType::BINDING_INDICATION, tid);
                if enc.add_fingerprint().is_ok() {
                    self.push_transmit(Transmit {
                        transport: TransportProtocol::Udp,
                        source,
                        destination,
                        data,
                    });
                }
                self.schedule_consent(now);
                return;
            }
            let local_preference = ((local.candidate.priority >> 8) & 0xFFFF) as u16;
            if let Some((tid, data)) =
                self.build_request(now, source, destination, local_preference, false)
            {
                self.start_transaction(
                    now,
                    tid,
                    Purpose::Consent { pair: id },
                    source,
                    destination,
                    data,
                );
            }
        }
        self.schedule_consent(now);
    }

    fn schedule_consent(&mut self, now: Instant) {
        let ms = u64::try_from(self.config.consent_interval.as_millis()).unwrap_or(u64::MAX);
        let jitter = self
            .rng
            .gen_range(ms.saturating_mul(8) / 10..=ms.saturating_mul(12) / 10);
        self.consent_next = Some(after(now, Duration::from_millis(jitter)));
    }

    // ----- pairs ----------------------------------------------------------------------------

    fn pair(&self, id: u32) -> Option<&CandidatePair> {
        self.pairs.iter().find(|p| p.id == id)
    }

    fn pair_mut(&mut self, id: u32) -> Option<&mut CandidatePair> {
        self.pairs.iter_mut().find(|p| p.id == id)
    }

    fn pair_id_for(&self, local: usize, remote: usize) -> Option<u32> {
        self.pairs
            .iter()
            .find(|p| p.local == local && p.remote == remote)
            .map(|p| p.id)
    }

    fn pair_foundation(&self, id: u32) -> Option<(String, String)> {
        let p = self.pair(id)?;
        Some((
            self.locals.get(p.local)?.candidate.foundation.clone(),
            self.remotes.get(p.remote)?.foundation.clone(),
        ))
    }

    fn compute_priority(&self, local: &Candidate, remote: &Candidate) -> u64 {
        if self.controlling {
            pair_priority(local.priority, remote.priority)
        } else {
            pair_priority(remote.priority, local.priority)
        }
    }

    /// Adds the pair (local, remote) to the checklist, pruning the lowest-priority unchecked
    /// pair when the list is full (RFC 8445 §6.1.2.5). Returns its id.
    fn form_pair(&mut self, local: usize, remote: usize, origin: PairOrigin) -> Option<u32> {
        let (l, r) = (self.locals.get(local)?, self.remotes.get(remote)?);
        // RFC 8445 §6.1.2.2: pair only candidates of the same address family.
        if l.base.is_ipv4() != r.address.is_ipv4() {
            return None;
        }
        // A loopback base cannot reach another host, so signalled pairs mixing loopback and
        // non-loopback addresses would only waste checks. But a check that arrived on such a
        // 5-tuple proves the path (a host sending from its LAN address to our 127.0.0.1 stays
        // on the loopback interface): RFC 8445 §7.3.1.4 requires the pair for the triggered
        // check, whatever its scope.
        if origin == PairOrigin::Signalled
            && l.base.ip().is_loopback() != r.address.ip().is_loopback()
        {
            return None;
        }
        let relayed = l.candidate.kind == CandidateKind::Relayed;
        if !relayed && self.config.relay_only {
            return None;
        }
        if !matches!(
            l.candidate.kind,
            CandidateKind::Host | CandidateKind::Relayed
        ) {
            // RFC 8445 §6.1.2.4: reflexive local candidates are replaced by their base.
            return None;
        }
        if relayed {
            // RFC 8656 §9: the server relays only from peers with a permission: ask for one
            // now, so the peer's checks reach us before ours succeed. A relay whose allocation
            // is gone pairs with nothing.
            let (base, peer) = (l.base, r.address);
            let i = self.relay_for_source(base)?;
            self.request_permission(i, peer);
        }
        let (l, r) = (self.locals.get(local)?, self.remotes.get(remote)?);
        if let Some(id) = self.pair_id_for(local, remote) {
            return Some(id);
        }
        let priority = self.compute_priority(&l.candidate, r);
        let foundation = (l.candidate.foundation.clone(), r.foundation.clone());
        if self.pairs.len() >= self.config.max_pairs {
            let victim = self
                .pairs
                .iter()
                .filter(|p| {
                    matches!(
                        p.state,
                        PairState::Frozen | PairState::Waiting | PairState::Failed
                    ) && Some(p.id) != self.selected
                })
                .min_by_key(|p| p.priority)
                .map(|p| (p.id, p.priority));
            match victim {
                Some((id, prio)) if prio < priority => {
                    self.pairs.retain(|p| p.id != id);
                    self.triggered.retain(|(t, _)| *t != id);
                }
                _ => return None,
            }
        }
        // RFC 8445 §6.1.2.6: one pair per foundation starts Waiting, the others Frozen.
        let shares_foundation = self
            .pairs
            .iter()
            .any(|p| self.pair_foundation(p.id).as_ref() == Some(&foundation));
        let id = self.next_pair_id;
        self.next_pair_id = self.next_pair_id.wrapping_add(1);
        self.pairs.push(CandidatePair {
            id,
            local,
            remote,
            priority,
            state: if shares_foundation {
                PairState::Frozen
            } else {
                PairState::Waiting
            },
            nominated: false,
            nominate_on_success: false,
            nominating: false,
            last_success: None,
        });
        Some(id)
    }

    fn set_role(&mut self, controlling: bool) {
        if self.controlling == controlling {
            return;
        }
        self.controlling = controlling;
        // RFC 8445 §7.3.1.1: recompute pair priorities after a role switch.
        let priorities: Vec<(u32, u64)> = self
            .pairs
            .iter()
            .filter_map(|p| {
                let l = &self.locals.get(p.local)?.candidate;
                let r = self.remotes.get(p.remote)?;
                Some((p.id, self.compute_priority(l, r)))
            })
            .collect();
        for (id, prio) in priorities {
            if let Some(p) = self.pair_mut(id) {
                p.priority = prio;
                p.nominating = false;
            }
        }
        self.push_event(IceEvent::RoleChanged { controlling });
    }

    fn update_selected(&mut self, now: Instant) {
        if self.consent_lost {
            return;
        }
        let best_nominated = self
            .pairs
            .iter()
            .filter(|p| p.nominated && p.state == PairState::Succeeded)
            .max_by_key(|p| p.priority)
            .map(|p| p.id);
        let current_nominated = self
            .selected
            .and_then(|id| self.pair(id))
            .is_some_and(|p| p.nominated);
        let new = match best_nominated {
            Some(id) => Some(id),
            // Before nomination, data may use the best valid pair (RFC 8445 §12.1).
            None if !current_nominated => self
                .pairs
                .iter()
                .filter(|p| p.state == PairState::Succeeded)
                .max_by_key(|p| p.priority)
                .map(|p| p.id)
                .or(self.selected.filter(|id| {
                    self.pair(*id)
                        .is_some_and(|p| p.state == PairState::Succeeded)
                })),
            None => self.selected,
        };
        if new != self.selected {
            self.selected = new;
            self.had_selected |= new.is_some();
            if let Some((local, remote)) = self.selected_pair() {
                // RFC 8656 §12: data on a relayed pair goes in ChannelData (4-byte header)
                // rather than Send indications (36 bytes) once a channel is bound.
                if let Some(i) = self.relay_for_source(local)
                    && let Some(r) = self.relays.get_mut(i)
                    && r.client.channel(remote).is_none()
                {
                    let _ = r.client.bind_channel(now, remote);
                    self.flush_relay_transmits(i);
                }
                self.push_event(IceEvent::SelectedPairChanged { local, remote });
                if self.consent_next.is_none() {
                    self.schedule_consent(now);
                }
            }
        }
    }

    fn update_state(&mut self, now: Instant) {
        if matches!(self.state, IceConnectionState::Closed) {
            return;
        }
        if let Some(p) = self.selected.and_then(|id| self.pair(id)) {
            let age = p
                .last_success
                .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
            if age >= self.config.consent_timeout {
                // RFC 7675 §5.1: consent expired: stop sending on the pair.
                let id = p.id;
                self.consent_lost = true;
                if let Some(p) = self.pair_mut(id) {
                    p.state = PairState::Failed;
                }
                self.selected = None;
                self.consent_next = None;
                self.in_flight
                    .retain(|t| !matches!(t.purpose, Purpose::Consent { .. }));
                self.set_state(IceConnectionState::Failed);
                return;
            }
            if age >= self.config.disconnected_timeout {
                self.set_state(IceConnectionState::Disconnected);
                return;
            }
            let checking = self.pairs.iter().any(|p| {
                matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                )
            });
            let completed = p.nominated && self.remote_end_of_candidates && !checking;
            self.set_state(if completed {
                IceConnectionState::Completed
            } else {
                IceConnectionState::Connected
            });
            return;
        }
        if self.consent_lost {
            self.set_state(IceConnectionState::Failed);
            return;
        }
        if self.pairs.is_empty() {
            if self.remote_end_of_candidates
                && self.remote.is_some()
                && !self.locals.is_empty()
                && self.state != IceConnectionState::New
            {
                self.set_state(IceConnectionState::Failed);
            } else if self.state != IceConnectionState::New && self.remotes.is_empty() {
                // keep the current state until candidates arrive
            }
            return;
        }
        let all_failed = self.pairs.iter().all(|p| p.state == PairState::Failed);
        if all_failed && self.remote_end_of_candidates {
            self.set_state(IceConnectionState::Failed);
        } else if self.had_selected {
            // W3C RTCIceTransportState "disconnected": the selected pair is gone (its relay
            // broke, or it failed) and no other valid pair took over; pairs still being checked
            // may recover, else the agent fails once they do.
            self.set_state(IceConnectionState::Disconnected);
        } else if self.remote.is_some() || self.config.ice_lite {
            self.set_state(IceConnectionState::Checking);
        }
    }

    fn set_state(&mut self, state: IceConnectionState) {
        if self.state != state {
            self.state = state;
            self.push_event(IceEvent::ConnectionStateChanged(state));
        }
    }

    // ----- gathering ------------------------------------------------------------------------

    fn foundation(
        &mut self,
        kind: CandidateKind,
        base: SocketAddr,
        server: Option<SocketAddr>,
    ) -> String {
        // RFC 8445 §5.1.1.3: same type, base IP, server and transport share a foundation.
        let key = (kind, base.ip(), server);
        let n = match self.foundations.iter().position(|k| *k == key) {
            Some(i) => i + 1,
            None => {
                self.foundations.push(key);
                self.foundations.len()
            }
        };
        n.to_string()
    }

    fn add_server_reflexive(&mut self, local: usize, mapped: SocketAddr, server: SocketAddr) {
        let Some(base) = self.locals.get(local).map(|l| l.base) else {
            return;
        };
        // RFC 8445 §5.1.3: drop a server-reflexive candidate equal to its base or to another.
        if mapped == base || self.locals.iter().any(|l| l.candidate.address == mapped) {
            return;
        }
        let local_preference = 65535u16.saturating_sub(local.min(65535) as u16);
        let candidate = Candidate {
            foundation: self.foundation(CandidateKind::ServerReflexive, base, Some(server)),
            component: 1,
            transport: TransportProtocol::Udp,
            priority: candidate_priority(CandidateKind::ServerReflexive, local_preference, 1),
            address: mapped,
            kind: CandidateKind::ServerReflexive,
            related_address: Some(base),
            tcp_type: None,
        };
        self.locals.push(LocalCandidate {
            candidate: candidate.clone(),
            base,
        });
        self.push_event(IceEvent::LocalCandidate(candidate));
    }

    fn check_gathering_complete(&mut self) {
        if self.gathering_complete_sent || !self.local_end_of_candidates {
            return;
        }
        let gathering = !self.pending_gathers.is_empty()
            || self
                .relays
                .iter()
                .any(|r| r.state == RelayState::Allocating)
            || self
                .in_flight
                .iter()
                .any(|t| matches!(t.purpose, Purpose::Gather { .. }));
        if !gathering {
            self.gathering_complete_sent = true;
            self.push_event(IceEvent::GatheringComplete);
        }
    }

    // ----- relays (TURN) ---------------------------------------------------------------------

    /// RFC 8445 §5.1.1.2: allocate a relayed candidate on `server` from host candidate `host`.
    fn start_relay(&mut self, host: usize, server: &TurnServer) {
        let mut config = TurnClientConfig::new(server.address, &server.username, &server.password);
        config.seed = Some(self.rng.r#gen());
        if server.transport == TransportProtocol::Tcp {
            config.transport = TurnTransport::Tcp;
        }
        let mut client = TurnClient::new(config);
        let state = match client.allocate(self.now) {
            Ok(()) => RelayState::Allocating,
            Err(_) => RelayState::Failed,
        };
        self.relays.push(Relay {
            host,
            server: server.address,
            transport: server.transport,
            client,
            state,
            local: None,
            permissions: Vec::new(),
            waiting: VecDeque::new(),
            denied: Vec::new(),
        });
        self.pump_relay(self.relays.len() - 1);
    }

    /// The relay (in any state) whose relayed candidate has `base` as its base.
    fn relay_owning(&self, base: SocketAddr) -> Option<usize> {
        self.relays.iter().position(|r| {
            r.local
                .and_then(|l| self.locals.get(l))
                .is_some_and(|l| l.base == base)
        })
    }

    /// The allocated relay whose relayed candidate has `source` as its base.
    fn relay_for_source(&self, source: SocketAddr) -> Option<usize> {
        self.relays.iter().position(|r| {
            r.state == RelayState::Allocated
                && r.local
                    .and_then(|l| self.locals.get(l))
                    .is_some_and(|l| l.base == source)
        })
    }

    /// The relay a datagram from `remote` on `local` is for: TURN traffic (ChannelData, or
    /// STUN other than Binding, which goes to the ICE agent even from the same server).
    fn relay_for_datagram(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: &[u8],
    ) -> Option<usize> {
        if self.relays.is_empty() {
            return None;
        }
        let channel_data = datagram.first().is_some_and(|b| (64..=79).contains(b));
        let turn_message = tern_stun::is_stun(datagram)
            && Message::decode(datagram).is_ok_and(|m| m.message_type().method != Method::BINDING);
        if !channel_data && !turn_message {
            return None;
        }
        let host = self.resolve_local(local)?;
        self.relays.iter().position(|r| {
            r.server == remote
                && r.host == host
                && r.transport == TransportProtocol::Udp
                && r.state != RelayState::Failed
        })
    }

    /// Asks relay `i` for a permission for `peer`'s IP, once.
    fn request_permission(&mut self, i: usize, peer: SocketAddr) {
        let now = self.now;
        let Some(r) = self.relays.get_mut(i) else {
            return;
        };
        if r.permissions.contains(&peer.ip()) || r.permissions.len() >= MAX_RELAY_PERMISSIONS {
            return;
        }
        if r.client.create_permission(now, peer).is_ok() {
            r.permissions.push(peer.ip());
        }
        self.flush_relay_transmits(i);
    }

    /// Sends a datagram from relay `i`'s relayed address to `peer`, holding it until the
    /// peer's permission is installed.
    fn send_relayed(&mut self, i: usize, peer: SocketAddr, data: Vec<u8>) {
        let installed = self
            .relays
            .get(i)
            .is_some_and(|r| r.client.has_permission(peer.ip()));
        if installed {
            if let Some(r) = self.relays.get_mut(i) {
                let _ = r.client.send_to(peer, &data);
            }
        } else {
            self.request_permission(i, peer);
            if let Some(r) = self.relays.get_mut(i)
                && r.waiting.len() < MAX_WAITING_FOR_PERMISSION
                && !r.denied.contains(&peer.ip())
            {
                r.waiting.push_back((peer, data));
            }
        }
        self.flush_relay_transmits(i);
    }

    /// Moves relay `i`'s datagrams for the server to the transmit queue, sent from its host
    /// candidate's socket.
    fn flush_relay_transmits(&mut self, i: usize) {
        let Some(r) = self.relays.get_mut(i) else {
            return;
        };
        let Some(source) = self.locals.get(r.host).map(|l| l.base) else {
            return;
        };
        while let Some(t) = r.client.poll_transmit() {
            if self.transmits.len() < MAX_QUEUED_TRANSMITS {
                self.transmits.push_back(Transmit {
                    transport: match t.transport {
                        TurnTransport::Udp => TransportProtocol::Udp,
                        TurnTransport::Tcp => TransportProtocol::Tcp,
                    },
                    source,
                    destination: t.destination,
                    data: t.data,
                });
            }
        }
    }

    /// Handles relay `i`'s events, then sends what they queued.
    fn pump_relay(&mut self, i: usize) {
        for _ in 0..MAX_RELAY_EVENTS_PER_INPUT {
            let Some(event) = self.relays.get_mut(i).and_then(|r| r.client.poll_event()) else {
                break;
            };
            self.on_relay_event(i, event);
        }
        self.flush_relay_transmits(i);
    }

    fn on_relay_event(&mut self, i: usize, event: TurnEvent) {
        match event {
            TurnEvent::Allocated {
                relayed, mapped, ..
            } => self.relay_allocated(i, relayed, mapped),
            TurnEvent::PermissionCreated { peer } => {
                if let Some(r) = self.relays.get_mut(i) {
                    let (ready, rest): (VecDeque<_>, VecDeque<_>) =
                        r.waiting.drain(..).partition(|(p, _)| p.ip() == peer);
                    r.waiting = rest;
                    for (p, data) in ready {
                        let _ = r.client.send_to(p, &data);
                    }
                }
            }
            TurnEvent::PermissionFailed { peer, .. } => {
                // The server will not relay to that peer (e.g. its policy denies private
                // addresses): drop what waits for it and fail the relayed pairs towards it.
                let Some(r) = self.relays.get_mut(i) else {
                    return;
                };
                r.waiting.retain(|(p, _)| p.ip() != peer);
                if r.denied.len() < MAX_RELAY_PERMISSIONS && !r.denied.contains(&peer) {
                    r.denied.push(peer);
                }
                let Some(local) = r.local else {
                    return;
                };
                let ids: Vec<u32> = self
                    .pairs
                    .iter()
                    .filter(|p| {
                        p.local == local
                            && self
                                .remotes
                                .get(p.remote)
                                .is_some_and(|c| c.address.ip() == peer)
                    })
                    .map(|p| p.id)
                    .collect();
                for id in ids {
                    self.fail_pair(id);
                }
            }
            TurnEvent::Data { peer, data } => {
                let local = self
                    .relays
                    .get(i)
                    .and_then(|r| r.local)
                    .and_then(|l| self.locals.get(l))
                    .map(|l| l.base);
                let Some(local) = local else {
                    return;
                };
                if data.first().is_some_and(|b| *b <= 3) {
                    // A check (or response) from the peer through the relay: rejected ones
                    // change nothing, as on a host socket.
                    let _ = self.handle_stun(self.now, local, peer, &data);
                } else {
                    self.push_event(IceEvent::RelayedData {
                        local,
                        remote: peer,
                        data: data.to_vec(),
                    });
                }
            }
            TurnEvent::Failed(_) => self.relay_failed(i),
            _ => {}
        }
    }

    fn relay_allocated(&mut self, i: usize, relayed: SocketAddr, mapped: Option<SocketAddr>) {
        let Some((host, server, transport)) =
            self.relays.get(i).map(|r| (r.host, r.server, r.transport))
        else {
            return;
        };
        let Some(host_base) = self.locals.get(host).map(|l| l.base) else {
            return;
        };
        // RFC 8445 §5.1.1.2: the Allocate response also carries the server-reflexive address
        // (over TCP that is the TCP connection's mapping: no UDP candidate).
        if let Some(mapped) = mapped
            && transport == TransportProtocol::Udp
            && !self.config.relay_only
        {
            self.add_server_reflexive(host, mapped, server);
        }
        let local_preference = 65535u16.saturating_sub(host.min(65535) as u16);
        let candidate = Candidate {
            foundation: self.foundation(CandidateKind::Relayed, relayed, Some(server)),
            component: 1,
            transport: TransportProtocol::Udp,
            priority: candidate_priority(CandidateKind::Relayed, local_preference, 1),
            address: relayed,
            kind: CandidateKind::Relayed,
            related_address: Some(mapped.unwrap_or(host_base)),
            tcp_type: None,
        };
        let index = self.locals.len();
        // RFC 8445 §5.1.1.2: a relayed candidate is its own base.
        self.locals.push(LocalCandidate {
            candidate: candidate.clone(),
            base: relayed,
        });
        if let Some(r) = self.relays.get_mut(i) {
            r.state = RelayState::Allocated;
            r.local = Some(index);
        }
        self.push_event(IceEvent::LocalCandidate(candidate));
        for r in 0..self.remotes.len() {
            self.form_pair(index, r, PairOrigin::Signalled);
        }
        self.check_gathering_complete();
    }

    /// The allocation failed or expired: its pairs fail with it.
    fn relay_failed(&mut self, i: usize) {
        let Some(r) = self.relays.get_mut(i) else {
            return;
        };
        r.state = RelayState::Failed;
        r.waiting.clear();
        if let Some(base) = r.local.and_then(|l| self.locals.get(l)).map(|l| l.base) {
            self.in_flight.retain(|t| t.source != base);
        }
        if let Some(local) = self.relays.get(i).and_then(|r| r.local) {
            let ids: Vec<u32> = self
                .pairs
                .iter()
                .filter(|p| p.local == local)
                .map(|p| p.id)
                .collect();
            for id in ids {
                self.fail_pair(id);
            }
        }
        self.check_gathering_complete();
    }

    // ----- queues ---------------------------------------------------------------------------

    fn push_transmit(&mut self, t: Transmit) {
        // A relayed address is no socket of the driver's: wrap for the server, or drop when
        // the allocation is gone (a retransmission of a check on a failed relay).
        if let Some(i) = self.relay_owning(t.source) {
            if self
                .relays
                .get(i)
                .is_some_and(|r| r.state == RelayState::Allocated)
            {
                self.send_relayed(i, t.destination, t.data);
            }
            return;
        }
        if self.transmits.len() < MAX_QUEUED_TRANSMITS {
            self.transmits.push_back(t);
        }
    }

    fn push_event(&mut self, e: IceEvent) {
        if self.events.len() < MAX_QUEUED_EVENTS {
            self.events.push_back(e);
        }
    }
}
