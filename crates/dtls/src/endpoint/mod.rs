//! The DTLS 1.2 endpoint state machine (client and server).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use p256::ecdsa::VerifyingKey;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::certificate::{self, Fingerprint};
use crate::config::{DtlsConfig, DtlsRole, Fault, SrtpProtectionProfile};
use crate::crypto::{self, CipherSuite, EphemeralKey, NamedGroup, RecordCipher};
use crate::error::DtlsError;
use crate::reassembly::{HandshakeMessage, Inserted, PartialMessage, Reassembler};
use crate::replay::ReplayWindow;
use crate::wire::alert::{Alert, AlertDescription, AlertLevel};
use crate::wire::extensions::{HelloExtensions, UseSrtp};
use crate::wire::handshake::{
    self as hs, CertificateMsg, CertificateRequest, CertificateVerify, ClientHello,
    ClientKeyExchange, HANDSHAKE_HEADER_LEN, HelloVerifyRequest, ServerHello, ServerKeyExchange,
    msg_type,
};
use crate::wire::record::{
    self, ContentType, MAX_SEQUENCE, RECORD_HEADER_LEN, RecordHeader, RecordView,
};
use crate::wire::{DTLS_1_0, DTLS_1_2};

mod client;
mod handshake;
mod keys;
mod output;
mod records;
mod server;
mod v13;

/// ecdsa_secp256r1_sha256 (RFC 8446 §4.2.3 code point, = TLS 1.2 sha256(4)/ecdsa(3)).
const ECDSA_P256_SHA256: u16 = 0x0403;
/// ClientCertificateType ecdsa_sign (RFC 8422 §5.5).
const ECDSA_SIGN: u8 = 64;
/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3).
const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;
/// Largest application data in one record (RFC 5246 §6.2.1).
const MAX_PLAINTEXT: usize = 16384;
/// Longest keying material export we allow.
const MAX_EXPORT: usize = 4096;
/// Minimum spacing of retransmissions triggered by the peer's retransmissions.
const PEER_TRIGGER_GAP: Duration = Duration::from_millis(100);

fn msg_type_name(t: u8) -> &'static str {
    match t {
        msg_type::HELLO_REQUEST => "HelloRequest",
        msg_type::CLIENT_HELLO => "ClientHello",
        msg_type::SERVER_HELLO => "ServerHello",
        msg_type::HELLO_VERIFY_REQUEST => "HelloVerifyRequest",
        msg_type::CERTIFICATE => "Certificate",
        msg_type::SERVER_KEY_EXCHANGE => "ServerKeyExchange",
        msg_type::CERTIFICATE_REQUEST => "CertificateRequest",
        msg_type::SERVER_HELLO_DONE => "ServerHelloDone",
        msg_type::CERTIFICATE_VERIFY => "CertificateVerify",
        msg_type::CLIENT_KEY_EXCHANGE => "ClientKeyExchange",
        msg_type::FINISHED => "Finished",
        _ => "unknown handshake message",
    }
}

/// Something the application must learn.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsEvent {
    /// The handshake completed and the peer certificate matched a remote fingerprint.
    Connected,
    /// One record of application data, in the order received.
    ApplicationData(Vec<u8>),
    /// The connection was closed (close_notify sent or received).
    Closed,
    /// The peer sent an alert (fatal ones are followed by `Failed`, close_notify by `Closed`).
    AlertReceived(Alert),
    /// The handshake or connection failed; nothing more will be sent or delivered.
    Failed(DtlsError),
}

/// Coarse connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsState {
    /// Handshake in progress.
    Handshaking,
    /// Handshake complete, waiting for `set_remote_fingerprints` to check the peer certificate.
    AwaitingFingerprint,
    /// Connected: application data flows, keys can be exported.
    Connected,
    /// Closed by close_notify.
    Closed,
    /// Failed.
    Failed,
}

/// Handshake progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hs {
    ClientWaitServerHello,
    ClientWaitCertificate,
    ClientWaitKeyExchange,
    ClientWaitCertRequestOrDone,
    ClientWaitDone,
    ClientWaitFinished,
    ServerWaitClientHello,
    ServerWaitCertificate,
    ServerWaitKeyExchange,
    ServerWaitCertificateVerify,
    ServerWaitFinished,
    Done,
}

impl Hs {
    fn name(self) -> &'static str {
        match self {
            Hs::ClientWaitServerHello => "wait ServerHello",
            Hs::ClientWaitCertificate => "wait server Certificate",
            Hs::ClientWaitKeyExchange => "wait ServerKeyExchange",
            Hs::ClientWaitCertRequestOrDone => "wait CertificateRequest",
            Hs::ClientWaitDone => "wait ServerHelloDone",
            Hs::ClientWaitFinished => "wait server Finished",
            Hs::ServerWaitClientHello => "wait ClientHello",
            Hs::ServerWaitCertificate => "wait client Certificate",
            Hs::ServerWaitKeyExchange => "wait ClientKeyExchange",
            Hs::ServerWaitCertificateVerify => "wait CertificateVerify",
            Hs::ServerWaitFinished => "wait client Finished",
            Hs::Done => "handshake done",
        }
    }
}

/// One element of a flight, kept for retransmission.
#[derive(Debug, Clone)]
enum FlightItem {
    Handshake {
        epoch: u16,
        msg_type: u8,
        message_seq: u16,
        body: Vec<u8>,
    },
    ChangeCipherSpec,
}

/// A handshake-fatal problem: the error and the alert to send.
struct Fatal(DtlsError, AlertDescription);

impl From<DtlsError> for Fatal {
    fn from(e: DtlsError) -> Self {
        let alert = match e {
            DtlsError::MalformedHandshake { .. } | DtlsError::MalformedExtension { .. } => {
                AlertDescription::DecodeError
            }
            DtlsError::BadSignature { .. } | DtlsError::BadFinished => {
                AlertDescription::DecryptError
            }
            DtlsError::BadCertificate { .. } | DtlsError::FingerprintMismatch => {
                AlertDescription::BadCertificate
            }
            DtlsError::IllegalParameter { .. } | DtlsError::BadKeyShare => {
                AlertDescription::IllegalParameter
            }
            DtlsError::UnexpectedMessage { .. } => AlertDescription::UnexpectedMessage,
            DtlsError::Crypto | DtlsError::SequenceNumberExhausted => {
                AlertDescription::InternalError
            }
            _ => AlertDescription::HandshakeFailure,
        };
        Fatal(e, alert)
    }
}

/// Negotiated and derived handshake values.
#[derive(Debug, Default)]
struct Session {
    client_random: [u8; 32],
    server_random: [u8; 32],
    suite: Option<CipherSuite>,
    group: Option<NamedGroup>,
    ephemeral: Option<EphemeralKey>,
    peer_public: Vec<u8>,
    master_secret: Option<[u8; 48]>,
    transcript: Vec<u8>,
    peer_cert: Option<Vec<u8>>,
    peer_key: Option<VerifyingKey>,
    fingerprint_ok: bool,
    cert_requested: bool,
    srtp_profile: Option<SrtpProtectionProfile>,
    srtp_mki: Vec<u8>,
    cookie: Vec<u8>,
    hello_verify_count: u8,
}

/// A sans-IO DTLS 1.2 endpoint.
///
/// Drive it with [`handle_receive`](Self::handle_receive), [`handle_timeout`](Self::handle_timeout)
/// and the commands, then drain [`poll_transmit`](Self::poll_transmit) and
/// [`poll_event`](Self::poll_event), and sleep until [`poll_timeout`](Self::poll_timeout).
#[derive(Debug)]
pub struct DtlsEndpoint {
    config: DtlsConfig,
    rng: StdRng,
    start: Instant,
    cookie_secret: [u8; 32],
    hs: Hs,
    state: DtlsState,
    session: Session,
    reasm: Reassembler,
    /// Server: a fragmented ClientHello before any state exists (bounded by the max message size).
    hello_partial: Option<(u16, PartialMessage)>,
    next_send_seq: u16,
    // record layer
    read_cipher: Option<RecordCipher>,
    read_window: ReplayWindow,
    write_cipher: Option<RecordCipher>,
    write_epoch: u16,
    write_seq: [u64; 2],
    early_records: VecDeque<(RecordHeader, Vec<u8>)>,
    early_bytes: usize,
    // flights
    flight: Vec<FlightItem>,
    flight_timer: Option<Instant>,
    rto: Duration,
    retransmissions: u32,
    last_peer_trigger: Option<Instant>,
    /// message_seq of the first message of the peer flight being received (set when the first
    /// message after our flight is processed).
    peer_flight_start: u16,
    /// True from sending a flight until the peer's next flight begins.
    awaiting_peer_flight: bool,
    /// message_seq of the first message of the peer flight our current flight answers: only a
    /// retransmission of that flight makes us resend ours (RFC 6347 §4.2.4).
    answered_from: u16,
    // outputs
    out: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    pending_app: VecDeque<Vec<u8>>,
    pending_app_bytes: usize,
    scratch: Vec<u8>,
    /// Client: the key share offered for DTLS 1.3 (when `config.dtls13`).
    offer13: Option<(NamedGroup, EphemeralKey)>,
    /// Set once DTLS 1.3 was negotiated: every input and command goes there.
    v13: Option<Box<v13::Endpoint13>>,
}

impl DtlsEndpoint {
    /// Create an endpoint. A client queues its ClientHello at once.
    pub fn new(config: DtlsConfig, now: Instant) -> Result<Self, DtlsError> {
        config.validate()?;
        let mut rng = match config.rng_seed {
            Some(seed) => StdRng::from_seed(seed),
            None => StdRng::from_entropy(),
        };
        let mut cookie_secret = [0u8; 32];
        rng.fill_bytes(&mut cookie_secret);
        let reasm = Reassembler::new(
            config.max_handshake_message_size,
            config.max_buffered_messages,
            config.max_buffered_bytes,
        );
        let hs = match config.role {
            DtlsRole::Client => Hs::ClientWaitServerHello,
            DtlsRole::Server => Hs::ServerWaitClientHello,
        };
        let rto = config.initial_retransmit_timeout;
        let mut ep = DtlsEndpoint {
            config,
            rng,
            start: now,
            cookie_secret,
            hs,
            state: DtlsState::Handshaking,
            session: Session::default(),
            reasm,
            hello_partial: None,
            next_send_seq: 0,
            read_cipher: None,
            read_window: ReplayWindow::new(),
            write_cipher: None,
            write_epoch: 0,
            write_seq: [0, 0],
            early_records: VecDeque::new(),
            early_bytes: 0,
            flight: Vec::new(),
            flight_timer: None,
            rto,
            retransmissions: 0,
            last_peer_trigger: None,
            peer_flight_start: 0,
            awaiting_peer_flight: false,
            answered_from: 0,
            out: VecDeque::new(),
            events: VecDeque::new(),
            pending_app: VecDeque::new(),
            pending_app_bytes: 0,
            scratch: Vec::with_capacity(2048),
            offer13: None,
            v13: None,
        };
        if ep.config.role == DtlsRole::Client {
            ep.rng.fill_bytes(&mut ep.session.client_random);
            if ep.config.dtls13
                && let Some(group) = ep.config.named_groups.first().copied()
            {
                // RFC 8446 §4.2.8: one key share, for our preferred group.
                let key = EphemeralKey::generate(group, &mut ep.rng);
                ep.offer13 = Some((group, key));
            }
            let body = ep.client_hello_body();
            let seq = ep.take_send_seq();
            ep.add_transcript(msg_type::CLIENT_HELLO, seq, &body);
            let item = FlightItem::Handshake {
                epoch: 0,
                msg_type: msg_type::CLIENT_HELLO,
                message_seq: seq,
                body,
            };
            ep.send_flight(now, vec![item], true).map_err(|f| f.0)?;
        }
        Ok(ep)
    }

    // ------------------------------------------------------------------ public API -------

    /// Give (or replace) the fingerprints the peer certificate must match. If the certificate
    /// already arrived it is checked now: a match lets a finished handshake report `Connected`,
    /// a mismatch fails the connection.
    pub fn set_remote_fingerprints(&mut self, fps: Vec<Fingerprint>) {
        if let Some(v) = self.v13.as_mut() {
            v.set_remote_fingerprints(fps);
            return;
        }
        self.config.remote_fingerprints = fps;
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return;
        }
        if self.session.peer_cert.is_some() && !self.session.fingerprint_ok {
            if let Err(f) = self.check_fingerprint() {
                self.fail(f);
                return;
            }
            if self.state == DtlsState::AwaitingFingerprint && self.session.fingerprint_ok {
                self.become_connected();
            }
        }
    }

    /// Feed one received UDP datagram. Returns `Err` naming the first record that was rejected;
    /// a rejected record changes no state (other records in the same datagram are still used).
    pub fn handle_receive(&mut self, now: Instant, datagram: &[u8]) -> Result<(), DtlsError> {
        if let Some(v) = self.v13.as_mut() {
            return v.handle_receive(now, datagram);
        }
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return Err(DtlsError::Closed);
        }
        let mut first_err = None;
        let mut at = 0usize;
        while at < datagram.len() {
            let rest = datagram.get(at..).unwrap_or(&[]);
            if let Some(v) = self.v13.as_mut() {
                // DTLS 1.3 was negotiated by a record of this datagram: it owns the rest.
                if let Err(e) = v.handle_receive(now, rest) {
                    first_err.get_or_insert(e);
                }
                break;
            }
            let r = match record::parse_record(rest, at) {
                Ok((view, used)) => {
                    at = at.saturating_add(used);
                    self.handle_record(now, view)
                }
                Err(e @ DtlsError::TruncatedRecord { .. }) => {
                    first_err.get_or_insert(e);
                    break;
                }
                Err(e) => {
                    // Framing continues after a record with a bad type or version.
                    let skip = rest
                        .get(11..13)
                        .and_then(|l| <[u8; 2]>::try_from(l).ok())
                        .map_or(rest.len(), |l| 13 + usize::from(u16::from_be_bytes(l)));
                    at = at.saturating_add(skip.max(1));
                    Err(e)
                }
            };
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
            if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
                break;
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Drive the retransmission timer.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(v) = self.v13.as_mut() {
            v.handle_timeout(now);
            return;
        }
        let Some(at) = self.flight_timer else { return };
        if now < at || self.state != DtlsState::Handshaking {
            return;
        }
        if self.retransmissions >= self.config.max_retransmissions {
            self.fail(Fatal(
                DtlsError::HandshakeTimeout,
                AlertDescription::HandshakeFailure,
            ));
            return;
        }
        self.retransmissions = self.retransmissions.saturating_add(1);
        // RFC 6347 §4.2.4.1: double the timer on each retransmission, up to 60 s.
        self.rto = (self.rto.saturating_mul(2)).min(self.config.max_retransmit_timeout);
        self.flight_timer = now.checked_add(self.rto);
        if let Err(f) = self.emit_flight() {
            self.fail(f);
        }
    }

    /// Send one record of application data. `Err(NotConnected)` before `Connected`.
    pub fn send_application_data(&mut self, data: &[u8]) -> Result<(), DtlsError> {
        if let Some(v) = self.v13.as_mut() {
            return v.send_application_data(data);
        }
        if self.state != DtlsState::Connected {
            return Err(match self.state {
                DtlsState::Closed | DtlsState::Failed => DtlsError::Closed,
                _ => DtlsError::NotConnected,
            });
        }
        if data.len() > MAX_PLAINTEXT {
            return Err(DtlsError::ApplicationDataTooLarge { len: data.len() });
        }
        self.queue_record(ContentType::ApplicationData, data)
    }

    /// Send close_notify and close.
    pub fn close(&mut self) {
        if let Some(v) = self.v13.as_mut() {
            v.close();
            return;
        }
        if matches!(self.state, DtlsState::Closed | DtlsState::Failed) {
            return;
        }
        let _ = self.send_alert(Alert::warning(AlertDescription::CloseNotify));
        self.state = DtlsState::Closed;
        self.stop_handshake_buffers();
        self.flight_timer = None;
        self.events.push_back(DtlsEvent::Closed);
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if let Some(d) = self.out.pop_front() {
            return Some(d);
        }
        self.v13.as_mut().and_then(|v| v.poll_transmit())
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        self.v13.as_mut().and_then(|v| v.poll_event())
    }

    /// When to call `handle_timeout` next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(v) = self.v13.as_ref() {
            return v.poll_timeout();
        }
        if self.state == DtlsState::Handshaking {
            self.flight_timer
        } else {
            None
        }
    }

    /// True once `Connected` was reported (and until close or failure).
    pub fn is_connected(&self) -> bool {
        self.state() == DtlsState::Connected
    }

    /// Coarse state.
    pub fn state(&self) -> DtlsState {
        match self.v13.as_ref() {
            Some(v) => v.state(),
            None => self.state,
        }
    }

    /// Name of the internal handshake state, e.g. "wait ClientKeyExchange" (diagnostics, and
    /// the learned state-machine model of `tests/state_machine.rs`).
    #[doc(hidden)]
    pub fn handshake_state_name(&self) -> &'static str {
        match self.v13.as_ref() {
            Some(v) => v.handshake_state_name(),
            None => self.hs.name(),
        }
    }

    /// True once DTLS 1.3 was negotiated (RFC 9147); false while undecided or on DTLS 1.2.
    pub fn is_dtls13(&self) -> bool {
        self.v13.is_some()
    }

    /// DTLS 1.3: send a KeyUpdate (RFC 9147 §8); the new sending keys are used once the peer
    /// acknowledged it. `request_peer` asks the peer to update its sending keys too.
    pub fn update_keys(&mut self, now: Instant, request_peer: bool) -> Result<(), DtlsError> {
        match self.v13.as_mut() {
            Some(v) => v.update_keys(now, request_peer),
            None => Err(DtlsError::NotDtls13),
        }
    }

    /// Current write epoch (diagnostics and tests; DTLS 1.3 epochs start at 3 for data).
    #[doc(hidden)]
    pub fn write_epoch(&self) -> u64 {
        match self.v13.as_ref() {
            Some(v) => v.write_epoch(),
            None => u64::from(self.write_epoch),
        }
    }

    /// Our role.
    pub fn role(&self) -> DtlsRole {
        self.config.role
    }

    /// The negotiated cipher suite, once known.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        if self.v13.is_some() {
            return Some(CipherSuite::Tls13Aes128GcmSha256);
        }
        self.session.suite
    }

    /// The negotiated SRTP profile (use_srtp), once known.
    pub fn selected_srtp_profile(&self) -> Option<SrtpProtectionProfile> {
        if let Some(v) = self.v13.as_ref() {
            return v.selected_srtp_profile();
        }
        self.session.srtp_profile
    }

    /// The srtp_mki the server echoed (empty: no MKI).
    pub fn srtp_mki(&self) -> &[u8] {
        if let Some(v) = self.v13.as_ref() {
            return v.srtp_mki();
        }
        &self.session.srtp_mki
    }

    /// RFC 5705 exporter (with the extended master secret of RFC 7627), no context.
    /// Only available when connected, i.e. after the peer's fingerprint matched.
    pub fn export_keying_material(&self, label: &str, len: usize) -> Result<Vec<u8>, DtlsError> {
        if let Some(v) = self.v13.as_ref() {
            // RFC 8446 §7.5 exporter (RFC 9147 labels), empty context.
            return v.export_keying_material(label, len);
        }
        if self.state != DtlsState::Connected {
            return Err(DtlsError::NotConnected);
        }
        // RFC 5705 §4: labels that collide with the TLS PRF's own labels MUST NOT be used.
        const RESERVED: [&str; 5] = [
            "client finished",
            "server finished",
            "master secret",
            "key expansion",
            "extended master secret",
        ];
        if len == 0 || len > MAX_EXPORT || label.is_empty() || RESERVED.contains(&label) {
            return Err(DtlsError::InvalidExport);
        }
        let (Some(ms), Some(suite)) = (self.session.master_secret, self.session.suite) else {
            return Err(DtlsError::NotConnected);
        };
        let mut seed = [0u8; 64];
        seed[..32].copy_from_slice(&self.session.client_random);
        seed[32..].copy_from_slice(&self.session.server_random);
        let mut out = vec![0u8; len];
        crypto::prf(suite.prf_hash(), &ms, label.as_bytes(), &seed, &mut out)?;
        Ok(out)
    }

    /// The peer's DER certificate once received (before or after the fingerprint check).
    pub fn peer_certificate_der(&self) -> Option<&[u8]> {
        if let Some(v) = self.v13.as_ref() {
            return v.peer_certificate_der();
        }
        self.session.peer_cert.as_deref()
    }

    /// Bytes held for the handshake on behalf of the peer (partial messages, early records,
    /// application data awaiting the fingerprint). Zero after the handshake.
    pub fn buffered_bytes(&self) -> usize {
        if let Some(v) = self.v13.as_ref() {
            return v.buffered_bytes();
        }
        self.reasm
            .buffered_bytes()
            .saturating_add(self.early_bytes)
            .saturating_add(
                self.hello_partial
                    .as_ref()
                    .map_or(0, |(_, p)| p.message_len()),
            )
            .saturating_add(self.pending_app_bytes)
    }

    /// Next write sequence number of the current write epoch (diagnostics and tests).
    pub fn next_write_sequence(&self) -> u64 {
        if let Some(v) = self.v13.as_ref() {
            return v.next_write_sequence();
        }
        self.write_seq
            .get(usize::from(self.write_epoch))
            .copied()
            .unwrap_or(0)
    }

    /// Jump the write sequence number of the current epoch forward (tests of the 2^48 limit).
    #[doc(hidden)]
    pub fn set_next_write_sequence_for_test(&mut self, seq: u64) {
        if let Some(v) = self.v13.as_mut() {
            v.set_next_write_sequence_for_test(seq);
            return;
        }
        if let Some(s) = self.write_seq.get_mut(usize::from(self.write_epoch)) {
            *s = seq;
        }
    }

    /// Send an arbitrary handshake message in the current write epoch with the next
    /// message_seq (tests: renegotiation attempts and out-of-state messages).
    #[doc(hidden)]
    pub fn send_handshake_message_for_test(
        &mut self,
        msg_type: u8,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        if let Some(v) = self.v13.as_mut() {
            return v.send_handshake_message_for_test(msg_type, body);
        }
        let seq = self.take_send_seq();
        let mut msg = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body.len());
        hs::emit_message(&mut msg, msg_type, seq, body);
        self.queue_record(ContentType::Handshake, &msg)
    }
}
