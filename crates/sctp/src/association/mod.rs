//! The association state machine (RFC 9260 §4, §5, §6, §8, §9) and the data channels on top
//! of it (RFC 8831, RFC 8832).

mod channels;
mod rx;
mod tx;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::SctpConfig;
use crate::cookie::{Cookie, caps};
use crate::error::{ParseError, SctpError};
use crate::wire::chunk::{self, ForwardTsnEntry, chunk_type};
use crate::wire::param::{self, InitParams, LocalCapabilities, cause, param_type};
use crate::wire::{ChecksumPolicy, Chunk, Init, Packet, PacketWriter, reconfig};

use channels::Channel;
pub use channels::{ChannelId, MessageKind};
use rx::{DataOutcome, Receiver};
use tx::{SackOutcome, Sender};

/// Most prebuilt control packets waiting for `poll_transmit` (INIT-ACKs, ABORTs, …). Beyond
/// this, new ones are dropped: a flood of INITs costs no memory (RFC 9260 §5.1.3).
const MAX_CONTROL_PACKETS: usize = 16;
/// Most HEARTBEAT-ACKs / RE-CONFIG responses waiting to be bundled.
const MAX_PENDING_REPLIES: usize = 16;

/// Why the association ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Graceful SHUTDOWN completed.
    Shutdown,
    /// We called `abort`.
    LocalAbort,
    /// The peer sent ABORT; the first error cause code, if any.
    PeerAbort {
        /// First error cause code.
        cause: Option<u16>,
    },
    /// Retransmission limit reached (RFC 9260 §8.1/§8.2) or INIT/COOKIE-ECHO unanswered.
    Timeout,
    /// We aborted because the peer violated the protocol or exhausted a resource limit.
    ProtocolViolation,
}

/// What the application must learn. Drain with [`Association::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SctpEvent {
    /// The association is established.
    Connected,
    /// A data channel is open (ours once the association is up; the peer's on its OPEN).
    ChannelOpen {
        /// Channel id (= SCTP stream id).
        id: ChannelId,
        /// Label.
        label: String,
        /// Sub-protocol.
        protocol: String,
        /// Full parameters.
        init: crate::dcep::ChannelInit,
        /// Opened by the peer.
        remote_initiated: bool,
    },
    /// A message arrived on a channel.
    Message {
        /// Channel.
        id: ChannelId,
        /// Text or binary.
        kind: MessageKind,
        /// Payload (empty for PPIDs 56/57).
        data: Bytes,
    },
    /// A channel's buffered amount fell to or below its low threshold.
    BufferedAmountLow {
        /// Channel.
        id: ChannelId,
    },
    /// A channel is closed (both stream directions reset).
    ChannelClosed {
        /// Channel.
        id: ChannelId,
    },
    /// The association ended.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No TCB: answers INITs statelessly.
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownPending,
    ShutdownSent,
    ShutdownReceived,
    ShutdownAckSent,
    /// The association ended; everything is ignored.
    Terminated,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::CookieWait => "COOKIE-WAIT",
            State::CookieEchoed => "COOKIE-ECHOED",
            State::Established => "ESTABLISHED",
            State::ShutdownPending => "SHUTDOWN-PENDING",
            State::ShutdownSent => "SHUTDOWN-SENT",
            State::ShutdownReceived => "SHUTDOWN-RECEIVED",
            State::ShutdownAckSent => "SHUTDOWN-ACK-SENT",
            State::Terminated => "TERMINATED",
        }
    }

    /// States with a peer verification tag and data transfer machinery.
    fn has_tcb(self) -> bool {
        matches!(
            self,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
                | State::ShutdownAckSent
        )
    }
}

/// Retransmission of INIT / COOKIE-ECHO (T1) or SHUTDOWN / SHUTDOWN-ACK (T2).
#[derive(Debug)]
struct HandshakeTimer {
    at: Instant,
    rto: Duration,
    count: u32,
}

/// An outgoing stream-reset request awaiting its response (RFC 6525 §5.1.2).
#[derive(Debug)]
struct ResetRequest {
    seq: u32,
    streams: Vec<u16>,
    last_tsn: u32,
    resend_at: Instant,
    in_progress_retries: u32,
}

/// An incoming reset we answered "in progress" (RFC 6525 §5.2.2 deferred reset).
#[derive(Debug)]
struct DeferredReset {
    seq: u32,
    last_tsn: u32,
    streams: Vec<u16>,
}

/// A sans-IO SCTP association carrying WebRTC data channels.
///
/// Drive it with [`Association::handle_receive`] (SCTP packets from DTLS),
/// [`Association::handle_timeout`] and the commands; after each, drain
/// [`Association::poll_transmit`] then [`Association::poll_event`], then sleep until
/// [`Association::poll_timeout`].
#[derive(Debug)]
pub struct Association {
    config: SctpConfig,
    rng: StdRng,
    secret: [u8; 32],
    epoch: Instant,
    now: Instant,
    state: State,
    local_tag: u32,
    peer_tag: u32,
    initial_tsn: u32,
    peer_caps: u8,
    zero_checksum_tx: bool,
    window: usize,
    mtu: usize,
    init_packet: Option<Vec<u8>>,
    t1: Option<HandshakeTimer>,
    t2: Option<HandshakeTimer>,
    shutdown_chunk: Option<u8>,
    control: VecDeque<Vec<u8>>,
    events: VecDeque<SctpEvent>,
    event_bytes: usize,
    rx: Option<Receiver>,
    tx: Sender,
    heartbeat_at: Option<Instant>,
    heartbeat_outstanding: Option<u64>,
    heartbeat_replies: Vec<Vec<u8>>,
    channels: BTreeMap<u16, Channel>,
    // RFC 6525 stream reset.
    reset_wanted: Vec<u16>,
    /// Until when a ready reset request waits for the peer to ack everything we sent.
    reset_hold_until: Option<Instant>,
    reset_out: Option<ResetRequest>,
    next_reset_seq: u32,
    peer_reset_expected: u32,
    last_reset_response: Option<(u32, u32)>,
    deferred_reset: Option<DeferredReset>,
    reconfig_replies: Vec<u8>,
    fwd_scratch: Vec<ForwardTsnEntry>,
    pending_peer: Option<PeerInfo>,
    outbound_streams: u16,
}

impl Association {
    /// Create an association in the CLOSED state. It answers an incoming INIT without
    /// keeping state; call [`Association::connect`] to send our own INIT as well.
    pub fn new(config: SctpConfig, now: Instant) -> Self {
        let mut rng = match config.seed {
            Some(seed) => StdRng::from_seed(seed),
            None => StdRng::from_entropy(),
        };
        let mut secret = [0u8; 32];
        rng.fill(&mut secret);
        let local_tag = nonzero(&mut rng);
        let initial_tsn: u32 = rng.r#gen();
        let mtu = config.effective_mtu();
        let config_streams = config.streams;
        let window = config.effective_receive_window();
        let tx = Sender::new(
            initial_tsn,
            mtu,
            config.rto_initial,
            config.rto_min,
            config.rto_max,
        );
        Association {
            config,
            rng,
            secret,
            epoch: now,
            now,
            state: State::Closed,
            local_tag,
            peer_tag: 0,
            initial_tsn,
            peer_caps: 0,
            zero_checksum_tx: false,
            window,
            mtu,
            init_packet: None,
            t1: None,
            t2: None,
            shutdown_chunk: None,
            control: VecDeque::new(),
            events: VecDeque::new(),
            event_bytes: 0,
            rx: None,
            tx,
            heartbeat_at: None,
            heartbeat_outstanding: None,
            heartbeat_replies: Vec::new(),
            channels: BTreeMap::new(),
            reset_wanted: Vec::new(),
            reset_hold_until: None,
            reset_out: None,
            next_reset_seq: initial_tsn,
            peer_reset_expected: 0,
            last_reset_response: None,
            deferred_reset: None,
            reconfig_replies: Vec::new(),
            fwd_scratch: Vec::new(),
            pending_peer: None,
            outbound_streams: config_streams,
        }
    }

    /// Whether the association is established (data flows).
    pub fn is_established(&self) -> bool {
        self.state.has_tcb()
    }

    /// Whether the association has ended.
    pub fn is_closed(&self) -> bool {
        self.state == State::Terminated
    }

    /// Smoothed round-trip time, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.tx.srtt()
    }

    /// Whether RFC 8260 I-DATA was negotiated.
    pub fn interleaving(&self) -> bool {
        self.tx.interleaved
    }

    /// Whether we send zero checksums (RFC 9653 negotiated).
    pub fn zero_checksum(&self) -> bool {
        self.zero_checksum_tx
    }

    fn caps(&self) -> LocalCapabilities {
        LocalCapabilities {
            interleaving: self.config.interleaving,
            zero_checksum: self.config.zero_checksum,
        }
    }

    fn push_control(&mut self, packet: Vec<u8>) {
        if self.control.len() < MAX_CONTROL_PACKETS {
            self.control.push_back(packet);
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX)
    }

    fn new_packet(&self, vtag: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.mtu);
        PacketWriter::start(
            &mut out,
            self.config.local_port,
            self.config.remote_port,
            vtag,
        );
        out
    }

    fn push_event(&mut self, e: SctpEvent) {
        if let SctpEvent::Message { data, .. } = &e {
            self.event_bytes += data.len();
        }
        self.events.push_back(e);
    }

    // -----------------------------------------------------------------------------------
    // Commands

    /// Send our INIT (RFC 9260 §5.1 A). In WebRTC both sides call this; an INIT collision is
    /// resolved by §5.2.1 / §5.2.4.
    pub fn connect(&mut self, now: Instant) {
        self.now = now;
        if self.state != State::Closed {
            return;
        }
        let mut params = Vec::new();
        param::encode_capabilities(&mut params, self.caps());
        let mut out = self.new_packet(0);
        // RFC 9260 §8.5.1 A: an INIT carries verification tag 0.
        chunk::emit_init(
            &mut out,
            false,
            &Init {
                initiate_tag: self.local_tag,
                a_rwnd: self.window as u32,
                outbound_streams: self.config.streams,
                inbound_streams: self.config.streams,
                initial_tsn: self.initial_tsn,
                params: &params,
                params_at: 0,
            },
        );
        // RFC 9653 §5.1: packets with INIT always carry a real CRC32c.
        PacketWriter::finish(&mut out, false);
        self.push_control(out.clone());
        self.init_packet = Some(out);
        self.state = State::CookieWait;
        // RFC 9260 §5.1 A: start T1-init.
        self.t1 = Some(HandshakeTimer {
            at: now + self.config.rto_initial,
            rto: self.config.rto_initial,
            count: 0,
        });
    }

    /// Gracefully close (RFC 9260 §9.2): deliver what is queued, then SHUTDOWN.
    pub fn shutdown(&mut self, now: Instant) {
        self.now = now;
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                self.maybe_send_shutdown();
            }
            State::Closed | State::CookieWait | State::CookieEchoed => {
                self.terminate(CloseReason::Shutdown);
            }
            _ => {}
        }
    }

    /// Abort the association (RFC 9260 §9.1) with a User-Initiated Abort cause.
    pub fn abort(&mut self) {
        if self.state.has_tcb() || self.state == State::CookieEchoed {
            let mut causes = Vec::new();
            param::push_tlv(&mut causes, cause::USER_INITIATED_ABORT, &[]);
            self.send_abort(&causes);
        }
        if self.state != State::Terminated {
            self.terminate(CloseReason::LocalAbort);
        }
    }

    fn send_abort(&mut self, causes: &[u8]) {
        let mut out = self.new_packet(self.peer_tag);
        chunk::emit_raw(&mut out, chunk_type::ABORT, 0, causes);
        PacketWriter::finish(&mut out, self.zero_checksum_tx);
        self.control.push_back(out);
    }

    fn abort_with(&mut self, code: u16, reason: CloseReason) {
        let mut causes = Vec::new();
        param::push_tlv(&mut causes, code, &[]);
        self.send_abort(&causes);
        self.terminate(reason);
    }

    fn terminate(&mut self, reason: CloseReason) {
        self.state = State::Terminated;
        self.t1 = None;
        self.t2 = None;
        self.tx.t3 = None;
        self.heartbeat_at = None;
        self.reset_out = None;
        if let Some(rx) = self.rx.as_mut() {
            rx.ack_now = false;
            rx.ack_deadline = None;
        }
        for id in std::mem::take(&mut self.channels).into_keys() {
            self.events
                .push_back(SctpEvent::ChannelClosed { id: ChannelId(id) });
        }
        self.events.push_back(SctpEvent::Closed { reason });
    }

    // -----------------------------------------------------------------------------------
    // Output

    /// The next SCTP packet to send (to DTLS as application data).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if let Some(p) = self.control.pop_front() {
            return Some(p);
        }
        if !self.state.has_tcb() {
            return None;
        }
        self.build_packet()
    }

    fn build_packet(&mut self) -> Option<Vec<u8>> {
        let now = self.now;
        let mut out = self.new_packet(self.peer_tag);
        let header = out.len();
        let can_send_data = matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        );
        if can_send_data {
            self.plan_resets(now);
        }
        let data_coming = can_send_data && self.tx.has_sendable();
        let extra = self.event_bytes;
        if let Some(rx) = self.rx.as_mut() {
            // RFC 9260 §6.2: bundle a pending (delayed) SACK with outgoing DATA.
            if rx.ack_now || (rx.ack_owed() && data_coming) {
                rx.emit_sack(&mut out, self.mtu - header, extra);
            }
        }
        if let Some(ty) = self.shutdown_chunk.take() {
            if ty == chunk_type::SHUTDOWN {
                let cum = self.rx.as_ref().map_or(0, Receiver::cum_tsn);
                chunk::emit_shutdown(&mut out, cum);
            } else {
                chunk::emit_simple(&mut out, ty, 0);
            }
        }
        if self.tx.fwd_needed {
            let mut entries = std::mem::take(&mut self.fwd_scratch);
            // Chunk header and new cumulative TSN: 8 bytes; an entry: 4, or 8 with I-DATA.
            let entry_len = if self.tx.interleaved { 8 } else { 4 };
            let room = (self.mtu - out.len()).saturating_sub(8) / entry_len;
            if let Some(cum) = self.tx.forward_tsn(now, room, &mut entries) {
                chunk::emit_forward_tsn(&mut out, self.tx.interleaved, cum, &entries);
            }
            self.fwd_scratch = entries;
        }
        if !self.reconfig_replies.is_empty() || self.reset_request_due(now) {
            let mut body = std::mem::take(&mut self.reconfig_replies);
            if let Some(req) = self.reset_out.as_mut()
                && req.resend_at <= now
            {
                let resp = self.peer_reset_expected.wrapping_sub(1);
                reconfig::push_outgoing_reset(&mut body, req.seq, resp, req.last_tsn, &req.streams);
                req.resend_at = now + self.tx.rto;
            }
            if out.len() + body.len() + 4 <= self.mtu {
                chunk::emit_raw(&mut out, chunk_type::RE_CONFIG, 0, &body);
            }
        }
        for hb in std::mem::take(&mut self.heartbeat_replies) {
            if out.len() + hb.len() + 4 <= self.mtu {
                chunk::emit_raw(&mut out, chunk_type::HEARTBEAT_ACK, 0, &hb);
            }
        }
        if let Some(nonce) = self
            .heartbeat_outstanding
            .filter(|_| self.heartbeat_at.is_none())
        {
            // A heartbeat is due: send it (RFC 9260 §8.3).
            let mut info = Vec::new();
            let mut v = [0u8; 16];
            v[..8].copy_from_slice(&nonce.to_be_bytes());
            v[8..].copy_from_slice(&self.now_ms().to_be_bytes());
            param::push_tlv(&mut info, param_type::HEARTBEAT_INFO, &v);
            chunk::emit_raw(&mut out, chunk_type::HEARTBEAT, 0, &info);
            self.heartbeat_at = Some(now + self.tx.rto + self.config.heartbeat_interval);
        }
        if can_send_data {
            self.tx.fill(&mut out, now);
            self.collect_low_events();
        }
        if out.len() == header {
            return None;
        }
        PacketWriter::finish(&mut out, self.zero_checksum_tx);
        Some(out)
    }

    fn collect_low_events(&mut self) {
        for s in std::mem::take(&mut self.tx.low_events) {
            if self.channels.contains_key(&s) {
                self.events
                    .push_back(SctpEvent::BufferedAmountLow { id: ChannelId(s) });
            }
        }
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        let e = self.events.pop_front()?;
        if let SctpEvent::Message { data, .. } = &e {
            self.event_bytes = self.event_bytes.saturating_sub(data.len());
        }
        Some(e)
    }

    /// When to call [`Association::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        consider(self.t1.as_ref().map(|h| h.at));
        consider(self.t2.as_ref().map(|h| h.at));
        if self.state.has_tcb() {
            consider(self.tx.t3);
            consider(self.rx.as_ref().and_then(|r| r.ack_deadline));
            consider(self.heartbeat_at);
            consider(self.reset_out.as_ref().map(|r| r.resend_at));
            // Past the bound, only acks or new data end the wait: no timer then.
            consider(self.reset_hold_until.filter(|t| *t > self.now));
        }
        t
    }

    /// Advance timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if let Some(t1) = self.t1.as_mut()
            && t1.at <= now
        {
            t1.count += 1;
            if t1.count > self.config.max_init_retransmits {
                self.terminate(CloseReason::Timeout);
                return;
            }
            // RFC 9260 §5.1 / §6.3.3: back off and retransmit INIT or COOKIE-ECHO.
            t1.rto = (t1.rto * 2).min(self.config.rto_max);
            t1.at = now + t1.rto;
            if let Some(p) = self.init_packet.clone() {
                self.push_control(p);
            }
        }
        if !self.state.has_tcb() {
            return;
        }
        if let Some(t2) = self.t2.as_mut()
            && t2.at <= now
        {
            t2.count += 1;
            if self.config.max_retransmits.is_some_and(|m| t2.count > m) {
                self.terminate(CloseReason::Timeout);
                return;
            }
            t2.rto = (t2.rto * 2).min(self.config.rto_max);
            t2.at = now + t2.rto;
            // RFC 9260 §9.2: retransmit SHUTDOWN / SHUTDOWN-ACK on T2 expiry.
            self.shutdown_chunk = Some(match self.state {
                State::ShutdownAckSent => chunk_type::SHUTDOWN_ACK,
                _ => chunk_type::SHUTDOWN,
            });
        }
        if self.tx.t3.is_some_and(|t| t <= now) {
            self.tx.on_t3_expiry(now);
            // RFC 9260 §8.2: too many consecutive retransmissions → the peer is unreachable.
            if self
                .config
                .max_retransmits
                .is_some_and(|m| self.tx.error_count > m)
            {
                self.terminate(CloseReason::Timeout);
                return;
            }
        }
        if let Some(rx) = self.rx.as_mut()
            && rx.ack_deadline.is_some_and(|t| t <= now)
        {
            rx.ack_now = true;
        }
        if self.heartbeat_at.is_some_and(|t| t <= now) {
            if self.heartbeat_outstanding.is_some() {
                // The previous heartbeat went unanswered.
                self.tx.error_count = self.tx.error_count.saturating_add(1);
                if self
                    .config
                    .max_retransmits
                    .is_some_and(|m| self.tx.error_count > m)
                {
                    self.terminate(CloseReason::Timeout);
                    return;
                }
            }
            self.heartbeat_outstanding = Some(self.rng.r#gen());
            self.heartbeat_at = None; // build_packet sends it and re-arms
        }
    }

    // -----------------------------------------------------------------------------------
    // Input

    /// Process one SCTP packet. A malformed packet, or one that fails the verification-tag
    /// rules, is discarded and reported as `Err` without changing state. Other `Err`s report
    /// a fault in one chunk or message (e.g. a rejected data channel); the rest of the packet
    /// was processed and the association survives.
    pub fn handle_receive(&mut self, now: Instant, packet: &[u8]) -> Result<(), SctpError> {
        self.now = now;
        if self.state == State::Terminated {
            return Err(SctpError::Closed);
        }
        let policy = if self.config.zero_checksum && self.state != State::Closed {
            ChecksumPolicy::AcceptZero
        } else {
            ChecksumPolicy::Required
        };
        let pkt = Packet::parse(packet, policy)?;
        let h = pkt.header;
        if h.dst_port != self.config.local_port || h.src_port != self.config.remote_port {
            return Err(SctpError::WrongPorts {
                src: h.src_port,
                dst: h.dst_port,
            });
        }
        let first = pkt
            .chunks()
            .next()
            .and_then(Result::ok)
            .ok_or(SctpError::Parse(ParseError::NoChunks))?;
        self.check_verification_tag(&first, h.verification_tag, packet)?;

        let mut shared: Option<Bytes> = None;
        let mut result = Ok(());
        let mut saw_data = false;
        for c in pkt.chunks() {
            let Ok(c) = c else { break };
            let r = match c {
                Chunk::Data(d) => {
                    saw_data = true;
                    let bytes = shared.get_or_insert_with(|| Bytes::copy_from_slice(packet));
                    // The payload borrows from `packet`; take the same range of the copy.
                    let off = (d.payload.as_ptr() as usize).wrapping_sub(packet.as_ptr() as usize);
                    let end = off.saturating_add(d.payload.len());
                    if end > bytes.len() {
                        break;
                    }
                    let payload = bytes.slice(off..end);
                    self.on_data(&d, payload)
                }
                Chunk::Init(init) => self.on_init(&init),
                Chunk::InitAck(init) => self.on_init_ack(&init),
                Chunk::CookieEcho(cookie) => {
                    let r = self.on_cookie_echo(cookie, h.verification_tag);
                    // §8.5.1 D: chunks bundled after a COOKIE-ECHO are only processed when
                    // the cookie made (or matched) the TCB whose tag the packet carries.
                    if r.is_err() || h.verification_tag != self.local_tag || !self.state.has_tcb() {
                        if result.is_ok() {
                            result = r;
                        }
                        break;
                    }
                    r
                }
                Chunk::CookieAck => self.on_cookie_ack(),
                Chunk::Sack(s) => self.on_sack(&s),
                Chunk::Heartbeat(body) => {
                    // RFC 9260 §8.3: echo the Heartbeat Info unchanged.
                    if self.state.has_tcb() && self.heartbeat_replies.len() < MAX_PENDING_REPLIES {
                        self.heartbeat_replies.push(body.to_vec());
                    }
                    Ok(())
                }
                Chunk::HeartbeatAck(body) => {
                    self.on_heartbeat_ack(body);
                    Ok(())
                }
                Chunk::Abort { causes, .. } => {
                    // Tag already verified per §8.5.1 B.
                    let first_cause = crate::wire::chunk::tlvs(causes).next().map(|(ty, _, _)| ty);
                    if self.state != State::Closed {
                        self.terminate(CloseReason::PeerAbort { cause: first_cause });
                    }
                    break;
                }
                Chunk::Shutdown { cum_tsn_ack } => self.on_shutdown(cum_tsn_ack),
                Chunk::ShutdownAck => self.on_shutdown_ack(h.verification_tag),
                Chunk::ShutdownComplete { .. } => {
                    if self.state == State::ShutdownAckSent {
                        self.terminate(CloseReason::Shutdown);
                    }
                    break;
                }
                Chunk::Error { causes } => {
                    self.on_error(causes);
                    Ok(())
                }
                Chunk::ForwardTsn(f) => {
                    if let Some(rx) = self.rx.as_mut() {
                        rx.on_forward_tsn(f.new_cum_tsn, f.entries());
                    }
                    self.after_rx()
                }
                Chunk::ReConfig { params } => {
                    self.on_reconfig(params);
                    Ok(())
                }
                Chunk::Pad => Ok(()),
                Chunk::Unknown { chunk_type, raw } => {
                    // RFC 9260 §3.2: the two high bits of an unknown chunk type.
                    if chunk_type & 0x40 != 0 && self.state.has_tcb() {
                        let mut causes = Vec::new();
                        let raw = raw.get(..raw.len().min(self.mtu - 32)).unwrap_or(&[]);
                        param::push_tlv(&mut causes, cause::UNRECOGNIZED_CHUNK, raw);
                        let mut out = self.new_packet(self.peer_tag);
                        chunk::emit_raw(&mut out, chunk_type::ERROR, 0, &causes);
                        PacketWriter::finish(&mut out, self.zero_checksum_tx);
                        self.push_control(out);
                    }
                    if chunk_type & 0x80 == 0 {
                        break;
                    }
                    Ok(())
                }
            };
            if let Err(e) = r
                && result.is_ok()
            {
                result = Err(e);
            }
            if self.state == State::Terminated {
                break;
            }
        }
        if saw_data && self.state.has_tcb() {
            let delay = self.config.delayed_ack;
            if let Some(rx) = self.rx.as_mut() {
                rx.note_data_packet(now, delay);
            }
            if self.state == State::ShutdownSent {
                // RFC 9260 §9.2: in SHUTDOWN-SENT, answer DATA at once with SACK + SHUTDOWN.
                if let Some(rx) = self.rx.as_mut() {
                    rx.ack_now = true;
                }
                self.shutdown_chunk = Some(chunk_type::SHUTDOWN);
            }
        }
        result
    }

    /// RFC 9260 §8.5 / §8.5.1: verification-tag rules. Failing packets are silently dropped.
    fn check_verification_tag(
        &mut self,
        first: &Chunk<'_>,
        vtag: u32,
        raw: &[u8],
    ) -> Result<(), SctpError> {
        let wrong = Err(SctpError::WrongVerificationTag { got: vtag });
        match first {
            // §8.5.1 A: INIT must carry tag 0.
            Chunk::Init(_) => {
                if vtag != 0 {
                    return wrong;
                }
            }
            // §8.5.1 B/C: ABORT and SHUTDOWN-COMPLETE: T bit set means the peer reflected our
            // tag for it (the peer's own tag); clear means our tag.
            Chunk::Abort { t_bit, .. } | Chunk::ShutdownComplete { t_bit } => {
                let ok = if *t_bit {
                    self.peer_tag != 0 && vtag == self.peer_tag
                } else {
                    self.state != State::Closed && vtag == self.local_tag
                };
                if !ok {
                    return wrong;
                }
            }
            // §8.5.1 D: checked against the cookie in on_cookie_echo.
            Chunk::CookieEcho(_) => {}
            _ => {
                if self.state == State::Closed {
                    return self.out_of_the_blue(first, vtag, raw);
                }
                if vtag != self.local_tag {
                    // §8.5.1 E: SHUTDOWN-ACK from a peer that lost us: answer with T-bit.
                    if matches!(first, Chunk::ShutdownAck) {
                        self.send_shutdown_complete_t(vtag);
                    }
                    return wrong;
                }
            }
        }
        Ok(())
    }

    /// RFC 9260 §8.4: out-of-the-blue packets (no TCB).
    fn out_of_the_blue(
        &mut self,
        first: &Chunk<'_>,
        vtag: u32,
        _raw: &[u8],
    ) -> Result<(), SctpError> {
        match first {
            // §8.4 (5): SHUTDOWN-ACK → SHUTDOWN-COMPLETE with the T bit.
            Chunk::ShutdownAck => self.send_shutdown_complete_t(vtag),
            // §8.4 (2), (6), (7): ABORT, SHUTDOWN-COMPLETE, COOKIE-ACK, stale-cookie ERROR:
            // silently discard.
            Chunk::Abort { .. }
            | Chunk::ShutdownComplete { .. }
            | Chunk::CookieAck
            | Chunk::Error { .. } => {}
            // §8.4 (8): otherwise reply ABORT with the T bit and the packet's tag.
            _ => {
                let mut out = self.new_packet(vtag);
                chunk::emit_simple(&mut out, chunk_type::ABORT, 1);
                PacketWriter::finish(&mut out, false);
                self.push_control(out);
            }
        }
        Err(SctpError::UnexpectedChunk {
            chunk_type: first.chunk_type(),
            state: State::Closed.name(),
        })
    }

    fn send_shutdown_complete_t(&mut self, vtag: u32) {
        let mut out = self.new_packet(vtag);
        chunk::emit_simple(&mut out, chunk_type::SHUTDOWN_COMPLETE, 1);
        PacketWriter::finish(&mut out, false);
        self.push_control(out);
    }

    fn negotiated_caps(&self, p: &InitParams<'_>) -> u8 {
        let mut c = 0;
        if p.forward_tsn {
            c |= caps::FORWARD_TSN;
        }
        if p.reconfig {
            c |= caps::RECONFIG;
        }
        if p.interleaving && p.forward_tsn && self.config.interleaving {
            c |= caps::INTERLEAVING;
        }
        if self.config.zero_checksum && p.zero_checksum_edmid == Some(param::EDMID_DTLS) {
            c |= caps::ZERO_CHECKSUM;
        }
        c
    }

    fn check_init(init: &Init<'_>) -> Result<(), SctpError> {
        // RFC 9260 §3.3.2: an INIT (or INIT-ACK) with Initiate Tag 0, or zero inbound or
        // outbound streams, is invalid; the packet is silently discarded.
        let what = if init.initiate_tag == 0 {
            "initiate tag 0"
        } else if init.outbound_streams == 0 {
            "zero outbound streams"
        } else if init.inbound_streams == 0 {
            "zero inbound streams"
        } else {
            return Ok(());
        };
        Err(SctpError::Parse(ParseError::InvalidInit {
            at: init.params_at.saturating_sub(20),
            what,
        }))
    }

    /// RFC 9260 §5.1 B, §5.2.1, §5.2.2: answer an INIT with an INIT-ACK carrying a signed
    /// cookie, without creating any state.
    fn on_init(&mut self, init: &Init<'_>) -> Result<(), SctpError> {
        Self::check_init(init)?;
        let (local_tag, local_tsn) = match self.state {
            State::Closed => (nonzero(&mut self.rng), self.rng.r#gen()),
            // §5.2.1: in COOKIE-WAIT / COOKIE-ECHOED answer with the parameters of our own INIT.
            State::CookieWait | State::CookieEchoed => (self.local_tag, self.initial_tsn),
            // §5.2.2 (retransmitted INIT of this association): same tags, so the resulting
            // COOKIE-ECHO matches case D. A restart (new tag) is not supported and dropped.
            s if s.has_tcb() && init.initiate_tag == self.peer_tag => {
                (self.local_tag, self.initial_tsn)
            }
            s => {
                return Err(SctpError::UnexpectedChunk {
                    chunk_type: chunk_type::INIT,
                    state: s.name(),
                });
            }
        };
        let p = InitParams::parse(init.params);
        let cookie = Cookie {
            created_ms: self.now_ms(),
            local_tag,
            local_initial_tsn: local_tsn,
            peer_tag: init.initiate_tag,
            peer_initial_tsn: init.initial_tsn,
            peer_a_rwnd: init.a_rwnd,
            peer_outbound_streams: init.outbound_streams,
            peer_inbound_streams: init.inbound_streams,
            local_outbound_streams: self.config.streams,
            local_inbound_streams: self.config.streams,
            caps: self.negotiated_caps(&p),
            reserved: 0,
        }
        .seal(&self.secret);
        let mut params = Vec::with_capacity(cookie.len() + 64);
        param::push_tlv(&mut params, param_type::STATE_COOKIE, &cookie);
        param::encode_capabilities(&mut params, self.caps());
        // RFC 9260 §3.2.1: report unrecognized parameters whose type asked for it.
        params.extend_from_slice(&p.unrecognized);
        let mut out = self.new_packet(init.initiate_tag);
        chunk::emit_init(
            &mut out,
            true,
            &Init {
                initiate_tag: local_tag,
                a_rwnd: self.window as u32,
                outbound_streams: self.config.streams,
                inbound_streams: self.config.streams,
                initial_tsn: local_tsn,
                params: &params,
                params_at: 0,
            },
        );
        PacketWriter::finish(&mut out, false);
        self.push_control(out);
        Ok(())
    }

    /// RFC 9260 §5.1 C: INIT-ACK in COOKIE-WAIT → COOKIE-ECHO.
    fn on_init_ack(&mut self, init: &Init<'_>) -> Result<(), SctpError> {
        if self.state != State::CookieWait {
            // §5.2.3: an unexpected INIT-ACK is discarded.
            return Err(SctpError::UnexpectedChunk {
                chunk_type: chunk_type::INIT_ACK,
                state: self.state.name(),
            });
        }
        Self::check_init(init)?;
        let p = InitParams::parse(init.params);
        let Some(cookie) = p.cookie else {
            // §5.1 C: a missing State Cookie is a Missing Mandatory Parameter error.
            return Err(SctpError::Parse(ParseError::InvalidInit {
                at: init.params_at.saturating_sub(20),
                what: "no State Cookie",
            }));
        };
        self.peer_tag = init.initiate_tag;
        let mut out = self.new_packet(self.peer_tag);
        chunk::emit_raw(&mut out, chunk_type::COOKIE_ECHO, 0, cookie);
        if !p.unrecognized.is_empty() {
            let mut causes = Vec::new();
            param::push_tlv(&mut causes, cause::UNRECOGNIZED_PARAMETERS, &p.unrecognized);
            if out.len() + causes.len() + 4 <= self.mtu {
                chunk::emit_raw(&mut out, chunk_type::ERROR, 0, &causes);
            }
        }
        PacketWriter::finish(&mut out, false);
        self.push_control(out.clone());
        self.init_packet = Some(out);
        self.state = State::CookieEchoed;
        // The TCB data from the INIT-ACK is kept so COOKIE-ACK can establish.
        let caps = self.negotiated_caps(&p);
        self.pending_peer = Some(PeerInfo {
            initial_tsn: init.initial_tsn,
            a_rwnd: init.a_rwnd,
            caps,
            inbound_streams: init.inbound_streams,
        });
        // §5.1 C: stop T1-init, start T1-cookie.
        self.t1 = Some(HandshakeTimer {
            at: self.now + self.config.rto_initial,
            rto: self.config.rto_initial,
            count: 0,
        });
        Ok(())
    }

    /// RFC 9260 §5.1 D, §5.1.5, §5.2.4: authenticate the cookie, then build the TCB.
    fn on_cookie_echo(&mut self, body: &[u8], vtag: u32) -> Result<(), SctpError> {
        let cookie = Cookie::open(body, &self.secret).map_err(|_| SctpError::BadCookie)?;
        // §5.1.5 step 3 / §8.5.1 D: the packet's tag must be the one in the cookie.
        if vtag != cookie.local_tag {
            return Err(SctpError::WrongVerificationTag { got: vtag });
        }
        let now_ms = self.now_ms();
        if cookie.created_ms > now_ms {
            return Err(SctpError::BadCookie);
        }
        let age_ms = now_ms - cookie.created_ms;
        let life_ms = u64::try_from(self.config.cookie_lifespan.as_millis()).unwrap_or(u64::MAX);
        if age_ms > life_ms {
            // §5.1.5 step 3: a stale cookie gets an ERROR with Stale Cookie (staleness in µs).
            let stale_us = (age_ms - life_ms).saturating_mul(1000);
            let mut causes = Vec::new();
            param::push_tlv(
                &mut causes,
                cause::STALE_COOKIE,
                &u32::try_from(stale_us).unwrap_or(u32::MAX).to_be_bytes(),
            );
            let mut out = self.new_packet(cookie.peer_tag);
            chunk::emit_raw(&mut out, chunk_type::ERROR, 0, &causes);
            PacketWriter::finish(&mut out, false);
            self.push_control(out);
            return Err(SctpError::StaleCookie { stale_us });
        }
        match self.state {
            State::Closed => {}
            // §5.2.4 B / D: our tag matches (INIT collision or our own handshake).
            State::CookieWait | State::CookieEchoed if cookie.local_tag == self.local_tag => {}
            // §5.2.4 D in an established association: just acknowledge again.
            s if s.has_tcb()
                && cookie.local_tag == self.local_tag
                && cookie.peer_tag == self.peer_tag =>
            {
                self.send_cookie_ack();
                return Ok(());
            }
            // §5.2.4 A/C: restart or late cookie: silently discarded (restart unsupported).
            s => {
                return Err(SctpError::UnexpectedChunk {
                    chunk_type: chunk_type::COOKIE_ECHO,
                    state: s.name(),
                });
            }
        }
        self.local_tag = cookie.local_tag;
        self.initial_tsn = cookie.local_initial_tsn;
        self.peer_tag = cookie.peer_tag;
        self.establish(PeerInfo {
            initial_tsn: cookie.peer_initial_tsn,
            a_rwnd: cookie.peer_a_rwnd,
            caps: cookie.caps,
            inbound_streams: cookie.peer_inbound_streams,
        });
        self.send_cookie_ack();
        Ok(())
    }

    fn send_cookie_ack(&mut self) {
        let mut out = self.new_packet(self.peer_tag);
        chunk::emit_simple(&mut out, chunk_type::COOKIE_ACK, 0);
        PacketWriter::finish(&mut out, self.zero_checksum_tx);
        self.push_control(out);
    }

    fn on_cookie_ack(&mut self) -> Result<(), SctpError> {
        if self.state != State::CookieEchoed {
            return Ok(()); // §5.2.5: ignore in other states.
        }
        let Some(peer) = self.pending_peer.take() else {
            return Ok(());
        };
        // §5.1 E: stop T1-cookie, enter ESTABLISHED.
        self.establish(peer);
        Ok(())
    }

    fn establish(&mut self, peer: PeerInfo) {
        self.t1 = None;
        self.init_packet = None;
        self.pending_peer = None;
        self.peer_caps = peer.caps;
        // RFC 9260 §5.1.1: we may use stream ids below min(our OS, the peer's MIS).
        self.outbound_streams = self.config.streams.min(peer.inbound_streams);
        self.zero_checksum_tx = peer.caps & caps::ZERO_CHECKSUM != 0;
        let interleaved = peer.caps & caps::INTERLEAVING != 0;
        self.rx = Some(Receiver::new(
            peer.initial_tsn,
            interleaved,
            self.window,
            self.config.max_message_size,
        ));
        self.tx.interleaved = interleaved;
        self.tx.pr_supported = peer.caps & caps::FORWARD_TSN != 0;
        self.tx.start(self.initial_tsn, peer.a_rwnd);
        // RFC 6525 §5.1.1: request sequence numbers start at the initial TSN.
        self.next_reset_seq = self.initial_tsn;
        self.peer_reset_expected = peer.initial_tsn;
        self.state = State::Established;
        self.heartbeat_at = Some(self.now + self.config.heartbeat_interval);
        self.events.push_back(SctpEvent::Connected);
        self.announce_local_channels();
    }

    fn on_sack(&mut self, s: &crate::wire::Sack<'_>) -> Result<(), SctpError> {
        if !self.state.has_tcb() {
            return Err(SctpError::UnexpectedChunk {
                chunk_type: chunk_type::SACK,
                state: self.state.name(),
            });
        }
        match self
            .tx
            .on_sack(self.now, s.cum_tsn_ack, s.a_rwnd, s.gap_blocks())
        {
            SackOutcome::Ok | SackOutcome::Stale => {}
            SackOutcome::Invalid => {
                return Err(SctpError::UnexpectedChunk {
                    chunk_type: chunk_type::SACK,
                    state: self.state.name(),
                });
            }
        }
        self.collect_low_events();
        self.maybe_send_shutdown();
        Ok(())
    }

    fn on_data(&mut self, d: &crate::wire::DataChunk<'_>, payload: Bytes) -> Result<(), SctpError> {
        if !self.state.has_tcb() {
            return Err(SctpError::UnexpectedChunk {
                chunk_type: d.chunk_type_id(),
                state: self.state.name(),
            });
        }
        // RFC 8260 §2.1: DATA and I-DATA must not be mixed; use what was negotiated.
        if d.interleaved != self.tx.interleaved {
            self.abort_with(cause::PROTOCOL_VIOLATION, CloseReason::ProtocolViolation);
            return Err(SctpError::UnexpectedChunk {
                chunk_type: d.chunk_type_id(),
                state: self.state.name(),
            });
        }
        let extra = self.event_bytes;
        let Some(rx) = self.rx.as_mut() else {
            return Ok(());
        };
        let outcome = rx.on_data(d, payload, extra);
        let mut result = Ok(());
        match outcome {
            DataOutcome::Accepted | DataOutcome::Duplicate | DataOutcome::Dropped => {}
            DataOutcome::TooLarge { size } => {
                result = Err(SctpError::MessageTooLarge {
                    size,
                    limit: self.config.max_message_size,
                });
            }
            DataOutcome::Exhausted => {
                // BAD_INPUT 33: the window is full of messages that never complete.
                self.abort_with(cause::OUT_OF_RESOURCE, CloseReason::ProtocolViolation);
                return Err(SctpError::Closed);
            }
        }
        let r = self.after_rx();
        result.and(r)
    }

    /// Deliver reassembled messages and run deferred resets.
    fn after_rx(&mut self) -> Result<(), SctpError> {
        let mut result = Ok(());
        while let Some(m) = self.rx.as_mut().and_then(|r| r.ready.pop_front()) {
            if m.dropped {
                continue;
            }
            if let Err(e) = self.on_message(m)
                && result.is_ok()
            {
                result = Err(e);
            }
        }
        self.run_deferred_reset();
        result
    }

    fn on_shutdown(&mut self, cum_tsn_ack: u32) -> Result<(), SctpError> {
        match self.state {
            State::Established | State::ShutdownPending | State::ShutdownReceived => {
                // RFC 9260 §9.2: treat the cumulative ack like a SACK's, stop accepting sends,
                // and answer with SHUTDOWN-ACK once everything is acknowledged.
                let _ = self.tx.on_sack(
                    self.now,
                    cum_tsn_ack,
                    self.tx.peer_rwnd as u32,
                    std::iter::empty(),
                );
                self.state = State::ShutdownReceived;
                self.maybe_send_shutdown();
                Ok(())
            }
            State::ShutdownSent => {
                // §9.2: SHUTDOWN in SHUTDOWN-SENT → SHUTDOWN-ACK, SHUTDOWN-ACK-SENT.
                self.state = State::ShutdownAckSent;
                self.shutdown_chunk = Some(chunk_type::SHUTDOWN_ACK);
                self.start_t2();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn on_shutdown_ack(&mut self, vtag: u32) -> Result<(), SctpError> {
        match self.state {
            // RFC 9260 §9.2: SHUTDOWN-ACK → SHUTDOWN-COMPLETE, CLOSED.
            State::ShutdownSent | State::ShutdownAckSent => {
                let mut out = self.new_packet(self.peer_tag);
                chunk::emit_simple(&mut out, chunk_type::SHUTDOWN_COMPLETE, 0);
                PacketWriter::finish(&mut out, self.zero_checksum_tx);
                self.control.push_back(out);
                self.terminate(CloseReason::Shutdown);
                Ok(())
            }
            State::CookieWait | State::CookieEchoed => {
                // §8.5.1 E / §9.2: reply SHUTDOWN-COMPLETE with the T bit and stay.
                self.send_shutdown_complete_t(vtag);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn start_t2(&mut self) {
        let rto = self.tx.rto;
        self.t2 = Some(HandshakeTimer {
            at: self.now + rto,
            rto,
            count: 0,
        });
    }

    fn maybe_send_shutdown(&mut self) {
        if !self.tx.idle() {
            return;
        }
        match self.state {
            State::ShutdownPending => {
                self.state = State::ShutdownSent;
                self.shutdown_chunk = Some(chunk_type::SHUTDOWN);
                self.start_t2();
            }
            State::ShutdownReceived => {
                self.state = State::ShutdownAckSent;
                self.shutdown_chunk = Some(chunk_type::SHUTDOWN_ACK);
                self.start_t2();
            }
            _ => {}
        }
    }

    fn on_error(&mut self, causes: &[u8]) {
        // RFC 9260 §5.2.6: Stale Cookie in COOKIE-ECHOED → start again from INIT.
        if self.state == State::CookieEchoed && param::has_cause(causes, cause::STALE_COOKIE) {
            self.state = State::Closed;
            self.t1 = None;
            self.pending_peer = None;
            self.connect(self.now);
        }
    }

    fn on_heartbeat_ack(&mut self, body: &[u8]) {
        let Some(nonce) = self.heartbeat_outstanding else {
            return;
        };
        let info =
            crate::wire::chunk::tlvs(body).find(|(ty, _, _)| *ty == param_type::HEARTBEAT_INFO);
        let Some((_, v, _)) = info else { return };
        let got = v
            .get(..8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_be_bytes);
        if got == Some(nonce) {
            // RFC 9260 §8.3: an acknowledged heartbeat clears the error counter and gives an
            // RTT measurement.
            self.heartbeat_outstanding = None;
            self.tx.error_count = 0;
            let sent_ms = v
                .get(8..16)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(u64::from_be_bytes);
            if let Some(sent_ms) = sent_ms {
                let rtt = self.now_ms().saturating_sub(sent_ms);
                self.tx.note_rtt(Duration::from_millis(rtt));
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // RFC 6525 stream reset

    fn reset_request_due(&self, now: Instant) -> bool {
        self.reset_out.as_ref().is_some_and(|r| r.resend_at <= now)
    }

    /// Turn wanted resets whose streams are drained into one outstanding request.
    fn plan_resets(&mut self, now: Instant) {
        if self.reset_wanted.is_empty() {
            self.reset_hold_until = None;
            return;
        }
        if self.reset_out.is_some() {
            return;
        }
        if self.peer_caps & caps::RECONFIG == 0 {
            // Peer cannot reset streams: close channels locally.
            for s in std::mem::take(&mut self.reset_wanted) {
                self.on_outgoing_reset_done(s);
                self.on_incoming_reset(s);
            }
            return;
        }
        let (ready, waiting): (Vec<u16>, Vec<u16>) = self
            .reset_wanted
            .iter()
            .partition(|&&s| self.tx.stream_drained(s));
        if ready.is_empty() {
            return;
        }
        // Ask only once the peer has acked (or been told to skip) everything we sent: a
        // request the peer must defer ("In progress", RFC 6525 §5.2.2 E2) is fragile in
        // practice. usrsctp 0.9.5 completes a deferred reset only when a later DATA chunk
        // arrives — never on FORWARD-TSN — so it stays "in progress" for good once the
        // last data before the request was abandoned (seen in tests/interop_usrsctp.rs
        // under loss). The wait ends after four RTOs only if more DATA is about to follow
        // the request (other channels busy), which lets such a peer finish the reset.
        if !self.tx.all_acked() {
            let until = *self.reset_hold_until.get_or_insert(now + self.tx.rto * 4);
            if now < until || !self.tx.has_queued() {
                return;
            }
        }
        self.reset_hold_until = None;
        self.reset_wanted = waiting;
        let seq = self.next_reset_seq;
        self.next_reset_seq = seq.wrapping_add(1);
        self.reset_out = Some(ResetRequest {
            seq,
            streams: ready,
            last_tsn: self.tx.last_assigned_tsn(),
            resend_at: now,
            in_progress_retries: 0,
        });
    }

    fn on_reconfig(&mut self, params: &[u8]) {
        if !self.state.has_tcb() {
            return;
        }
        for p in reconfig::params(params) {
            match p {
                reconfig::ReconfigParam::OutgoingReset {
                    request_seq,
                    last_tsn,
                    streams,
                    ..
                } => {
                    let result = if request_seq == self.peer_reset_expected {
                        self.peer_reset_expected = request_seq.wrapping_add(1);
                        let list: Vec<u16> = reconfig::ReconfigParam::streams(streams).collect();
                        let reached = self.rx.as_ref().is_some_and(|r| r.has_reached(last_tsn));
                        if reached {
                            self.perform_incoming_reset(&list);
                            reconfig::result::PERFORMED
                        } else {
                            // RFC 6525 §5.2.2: data up to last_tsn is still missing: defer
                            // (one request at most; a newer one replaces it).
                            self.deferred_reset = Some(DeferredReset {
                                seq: request_seq,
                                last_tsn,
                                streams: list,
                            });
                            reconfig::result::IN_PROGRESS
                        }
                    } else if Some(request_seq) == self.last_reset_response.map(|(s, _)| s) {
                        // A retransmitted request: repeat our answer.
                        self.last_reset_response
                            .map_or(reconfig::result::DENIED, |(_, r)| r)
                    } else {
                        // RFC 6525 §5.2.1: unexpected sequence number.
                        reconfig::result::BAD_SEQUENCE_NUMBER
                    };
                    if result != reconfig::result::BAD_SEQUENCE_NUMBER {
                        self.last_reset_response = Some((request_seq, result));
                    }
                    self.queue_reconfig_response(request_seq, result);
                }
                reconfig::ReconfigParam::OtherRequest { request_seq, .. } => {
                    let result = if request_seq == self.peer_reset_expected {
                        self.peer_reset_expected = request_seq.wrapping_add(1);
                        reconfig::result::DENIED
                    } else {
                        reconfig::result::BAD_SEQUENCE_NUMBER
                    };
                    self.queue_reconfig_response(request_seq, result);
                }
                reconfig::ReconfigParam::Response {
                    response_seq,
                    result,
                } => self.on_reconfig_response(response_seq, result),
                reconfig::ReconfigParam::Invalid => {}
            }
        }
    }

    fn queue_reconfig_response(&mut self, seq: u32, result: u32) {
        // Bounded: a flood of requests costs at most this many queued responses.
        if self.reconfig_replies.len() < MAX_PENDING_REPLIES * 12 {
            reconfig::push_response(&mut self.reconfig_replies, seq, result);
        }
    }

    fn run_deferred_reset(&mut self) {
        let Some(d) = self.deferred_reset.as_ref() else {
            return;
        };
        if !self.rx.as_ref().is_some_and(|r| r.has_reached(d.last_tsn)) {
            return;
        }
        if let Some(d) = self.deferred_reset.take() {
            self.perform_incoming_reset(&d.streams);
            if self.last_reset_response.is_some_and(|(s, _)| s == d.seq) {
                self.last_reset_response = Some((d.seq, reconfig::result::PERFORMED));
            }
        }
    }

    fn perform_incoming_reset(&mut self, streams: &[u16]) {
        let all: Vec<u16>;
        let list = if streams.is_empty() {
            all = self.channels.keys().copied().collect();
            &all
        } else {
            streams
        };
        for &s in list {
            if let Some(rx) = self.rx.as_mut() {
                rx.reset_stream(s);
            }
            self.on_incoming_reset(s);
        }
    }

    fn on_reconfig_response(&mut self, seq: u32, result: u32) {
        let Some(req) = self.reset_out.as_mut() else {
            return;
        };
        if req.seq != seq {
            return;
        }
        match result {
            reconfig::result::IN_PROGRESS if req.in_progress_retries < 64 => {
                // RFC 6525 §5.2.7: "In progress" restarts the timer; when it runs out the
                // same request (same sequence number) is retransmitted. A fresh sequence
                // number would leave the first request pending at the peer: usrsctp 0.9.5
                // then runs it again later and pushes queued unordered DATA through its
                // ordered path, aborting the association (seen in tests/interop_usrsctp.rs).
                req.in_progress_retries += 1;
                req.resend_at = self.now + self.tx.rto;
            }
            _ => {
                // Performed, nothing to do, or refused: either way the request is over.
                if let Some(req) = self.reset_out.take() {
                    for s in req.streams {
                        self.tx.reset_stream(s);
                        self.on_outgoing_reset_done(s);
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct PeerInfo {
    initial_tsn: u32,
    a_rwnd: u32,
    caps: u8,
    /// The peer's inbound stream count (bounds our outbound stream ids).
    inbound_streams: u16,
}

fn nonzero(rng: &mut StdRng) -> u32 {
    loop {
        let v: u32 = rng.r#gen();
        if v != 0 {
            return v;
        }
    }
}

impl crate::wire::DataChunk<'_> {
    fn chunk_type_id(&self) -> u8 {
        if self.interleaved {
            chunk_type::I_DATA
        } else {
            chunk_type::DATA
        }
    }
}
