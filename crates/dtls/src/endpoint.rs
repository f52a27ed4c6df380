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
    // outputs
    out: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    pending_app: VecDeque<Vec<u8>>,
    pending_app_bytes: usize,
    scratch: Vec<u8>,
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
            out: VecDeque::new(),
            events: VecDeque::new(),
            pending_app: VecDeque::new(),
            pending_app_bytes: 0,
            scratch: Vec::with_capacity(2048),
        };
        if ep.config.role == DtlsRole::Client {
            ep.rng.fill_bytes(&mut ep.session.client_random);
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
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return Err(DtlsError::Closed);
        }
        let mut first_err = None;
        for rec in record::split_records(datagram) {
            let r = match rec {
                Ok(view) => self.handle_record(now, view),
                Err(e) => Err(e),
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
        self.flight_timer = Some(now + self.rto);
        if let Err(f) = self.emit_flight() {
            self.fail(f);
        }
    }

    /// Send one record of application data. `Err(NotConnected)` before `Connected`.
    pub fn send_application_data(&mut self, data: &[u8]) -> Result<(), DtlsError> {
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
        self.out.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    /// When to call `handle_timeout` next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == DtlsState::Handshaking {
            self.flight_timer
        } else {
            None
        }
    }

    /// True once `Connected` was reported (and until close or failure).
    pub fn is_connected(&self) -> bool {
        self.state == DtlsState::Connected
    }

    /// Coarse state.
    pub fn state(&self) -> DtlsState {
        self.state
    }

    /// Our role.
    pub fn role(&self) -> DtlsRole {
        self.config.role
    }

    /// The negotiated cipher suite, once known.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.session.suite
    }

    /// The negotiated SRTP profile (use_srtp), once known.
    pub fn selected_srtp_profile(&self) -> Option<SrtpProtectionProfile> {
        self.session.srtp_profile
    }

    /// The srtp_mki the server echoed (empty: no MKI).
    pub fn srtp_mki(&self) -> &[u8] {
        &self.session.srtp_mki
    }

    /// RFC 5705 exporter (with the extended master secret of RFC 7627), no context.
    /// Only available when connected, i.e. after the peer's fingerprint matched.
    pub fn export_keying_material(&self, label: &str, len: usize) -> Result<Vec<u8>, DtlsError> {
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
        self.session.peer_cert.as_deref()
    }

    /// Bytes held for the handshake on behalf of the peer (partial messages, early records,
    /// application data awaiting the fingerprint). Zero after the handshake.
    pub fn buffered_bytes(&self) -> usize {
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
        self.write_seq
            .get(usize::from(self.write_epoch))
            .copied()
            .unwrap_or(0)
    }

    /// Jump the write sequence number of the current epoch forward (tests of the 2^48 limit).
    #[doc(hidden)]
    pub fn set_next_write_sequence_for_test(&mut self, seq: u64) {
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
        let seq = self.take_send_seq();
        let mut msg = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body.len());
        hs::emit_message(&mut msg, msg_type, seq, body);
        self.queue_record(ContentType::Handshake, &msg)
    }

    // ------------------------------------------------------------------ records ----------

    fn handle_record(&mut self, now: Instant, rec: RecordView<'_>) -> Result<(), DtlsError> {
        let h = rec.header;
        match h.epoch {
            0 => match h.content_type {
                ContentType::Handshake => {
                    self.handle_handshake_record(now, 0, h.sequence, rec.body)
                }
                ContentType::ChangeCipherSpec => self.handle_ccs(rec.body),
                ContentType::Alert => {
                    if self.hs == Hs::Done {
                        // Unauthenticated alerts cannot end an established connection.
                        return Err(DtlsError::UnexpectedMessage {
                            what: "epoch-0 alert",
                            state: self.hs.name(),
                        });
                    }
                    self.handle_alert(rec.body)
                }
                ContentType::ApplicationData => Err(DtlsError::UnexpectedMessage {
                    what: "epoch-0 application data",
                    state: self.hs.name(),
                }),
            },
            1 => {
                if self.read_cipher.is_none() {
                    return self.buffer_early(h, rec.body);
                }
                self.open_record(&h, rec.body)?;
                let plain = std::mem::take(&mut self.scratch);
                let r = self.dispatch_protected(now, h.content_type, &plain);
                self.scratch = plain;
                r
            }
            epoch => Err(DtlsError::UnexpectedEpoch { epoch }),
        }
    }

    /// Authenticate and decrypt an epoch-1 record into `self.scratch`; the replay window moves
    /// only after authentication.
    fn open_record(&mut self, h: &RecordHeader, body: &[u8]) -> Result<(), DtlsError> {
        let cipher = self
            .read_cipher
            .as_ref()
            .ok_or(DtlsError::UnexpectedEpoch { epoch: h.epoch })?;
        // RFC 6347 §4.1.2.6: duplicates and records left of the window are discarded...
        if !self.read_window.check(h.sequence) {
            return Err(DtlsError::ReplayedRecord);
        }
        cipher.open(
            h.epoch_seq(),
            h.content_type.code(),
            h.version,
            body,
            &mut self.scratch,
        )?;
        // ... and the window is updated only once the record authenticated.
        self.read_window.mark(h.sequence);
        Ok(())
    }

    fn dispatch_protected(
        &mut self,
        now: Instant,
        ct: ContentType,
        plain: &[u8],
    ) -> Result<(), DtlsError> {
        match ct {
            ContentType::Handshake => self.handle_handshake_record(now, 1, 0, plain),
            ContentType::Alert => self.handle_alert(plain),
            ContentType::ApplicationData => self.handle_app_data(plain),
            ContentType::ChangeCipherSpec => Err(DtlsError::UnexpectedMessage {
                what: "ChangeCipherSpec in epoch 1",
                state: self.hs.name(),
            }),
        }
    }

    fn buffer_early(&mut self, h: RecordHeader, body: &[u8]) -> Result<(), DtlsError> {
        // Records of the next epoch may overtake the messages that create its keys; keep a few.
        if self.hs == Hs::Done || matches!(self.hs, Hs::ServerWaitClientHello) {
            return Err(DtlsError::UnexpectedEpoch { epoch: h.epoch });
        }
        let cap_bytes = self.config.max_buffered_bytes / 4;
        if self.early_records.len() >= self.config.max_buffered_messages
            || self.early_bytes.saturating_add(body.len()) > cap_bytes
        {
            return Err(DtlsError::BufferFull);
        }
        self.early_bytes = self.early_bytes.saturating_add(body.len());
        self.early_records.push_back((h, body.to_vec()));
        Ok(())
    }

    fn drain_early(&mut self, now: Instant) {
        while let Some((h, body)) = self.early_records.pop_front() {
            self.early_bytes = self.early_bytes.saturating_sub(body.len());
            if self.open_record(&h, &body).is_ok() {
                let plain = std::mem::take(&mut self.scratch);
                let _ = self.dispatch_protected(now, h.content_type, &plain);
                self.scratch = plain;
            }
            if self.state != DtlsState::Handshaking {
                break;
            }
        }
    }

    fn handle_ccs(&mut self, body: &[u8]) -> Result<(), DtlsError> {
        if body != [1] {
            return Err(DtlsError::MalformedChangeCipherSpec);
        }
        // The peer switches to epoch 1; we can follow only once we derived its keys.
        let expected = matches!(
            self.hs,
            Hs::ClientWaitFinished
                | Hs::ServerWaitCertificateVerify
                | Hs::ServerWaitFinished
                | Hs::Done
        );
        if !expected || self.read_cipher.is_none() {
            return Err(DtlsError::UnexpectedMessage {
                what: "ChangeCipherSpec",
                state: self.hs.name(),
            });
        }
        Ok(())
    }

    fn handle_alert(&mut self, body: &[u8]) -> Result<(), DtlsError> {
        let alert = Alert::parse(body)?;
        self.events.push_back(DtlsEvent::AlertReceived(alert));
        if alert.description == AlertDescription::CloseNotify {
            // RFC 5246 §7.2.1: answer close_notify with our own and close.
            let _ = self.send_alert(Alert::warning(AlertDescription::CloseNotify));
            self.state = DtlsState::Closed;
            self.flight_timer = None;
            self.stop_handshake_buffers();
            self.events.push_back(DtlsEvent::Closed);
        } else if alert.level == AlertLevel::Fatal {
            self.state = DtlsState::Failed;
            self.flight_timer = None;
            self.stop_handshake_buffers();
            self.events
                .push_back(DtlsEvent::Failed(DtlsError::PeerAlert(alert.description)));
        }
        Ok(())
    }

    fn handle_app_data(&mut self, plain: &[u8]) -> Result<(), DtlsError> {
        match self.state {
            DtlsState::Connected => {
                self.events
                    .push_back(DtlsEvent::ApplicationData(plain.to_vec()));
                Ok(())
            }
            DtlsState::AwaitingFingerprint | DtlsState::Handshaking if self.hs == Hs::Done => {
                // Held (bounded) until the fingerprint is known; never delivered unverified.
                if self.pending_app.len() >= self.config.max_buffered_messages
                    || self.pending_app_bytes.saturating_add(plain.len())
                        > self.config.max_buffered_bytes
                {
                    return Err(DtlsError::BufferFull);
                }
                self.pending_app_bytes = self.pending_app_bytes.saturating_add(plain.len());
                self.pending_app.push_back(plain.to_vec());
                Ok(())
            }
            _ => Err(DtlsError::UnexpectedMessage {
                what: "application data",
                state: self.hs.name(),
            }),
        }
    }

    // ------------------------------------------------------------------ handshake input --

    fn handle_handshake_record(
        &mut self,
        now: Instant,
        epoch: u16,
        record_seq: u64,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        let mut pos = 0usize;
        let mut first_err = None;
        while pos < body.len() {
            let rest = body.get(pos..).unwrap_or(&[]);
            let (frag, used) = hs::parse_fragment(rest, pos)?;
            pos = pos.saturating_add(used);
            if let Err(e) = self.handle_fragment(now, epoch, record_seq, &frag) {
                first_err.get_or_insert(e);
            }
            if self.state == DtlsState::Failed || self.state == DtlsState::Closed {
                break;
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn handle_fragment(
        &mut self,
        now: Instant,
        epoch: u16,
        record_seq: u64,
        frag: &hs::FragmentView<'_>,
    ) -> Result<(), DtlsError> {
        let h = frag.header;
        if self.hs == Hs::ServerWaitClientHello {
            return self.server_hello_fragment(now, epoch, record_seq, frag);
        }
        if self.hs == Hs::Done && h.message_seq >= self.reasm.next_seq() {
            // RFC 8827 §6.5 / RFC 5746: WebRTC never renegotiates; refuse politely when the
            // request is authenticated, drop otherwise.
            let reneg = match self.config.role {
                DtlsRole::Server => h.msg_type == msg_type::CLIENT_HELLO,
                DtlsRole::Client => h.msg_type == msg_type::HELLO_REQUEST,
            };
            if reneg && epoch == 1 && self.state == DtlsState::Connected {
                let _ = self.send_alert(Alert::warning(AlertDescription::NoRenegotiation));
                return Err(DtlsError::RenegotiationRefused);
            }
            return Err(DtlsError::UnexpectedMessage {
                what: "handshake message",
                state: self.hs.name(),
            });
        }
        match self.reasm.insert(epoch, frag)? {
            Inserted::Old => {
                // RFC 6347 §4.2.4: a retransmitted flight from the peer means ours was lost.
                self.peer_retransmitted(now);
                Ok(())
            }
            Inserted::Buffered => {
                while let Some(msg) = self.reasm.take_ready() {
                    match self.process_message(now, &msg) {
                        Ok(()) => self.reasm.advance(),
                        Err(f) => {
                            self.fail(f);
                            break;
                        }
                    }
                    if self.state != DtlsState::Handshaking && self.hs != Hs::Done {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    fn peer_retransmitted(&mut self, now: Instant) {
        if self.flight.is_empty() {
            return;
        }
        if let Some(last) = self.last_peer_trigger
            && now.saturating_duration_since(last) < PEER_TRIGGER_GAP
        {
            return;
        }
        self.last_peer_trigger = Some(now);
        if let Err(f) = self.emit_flight() {
            self.fail(f);
        }
    }

    fn process_message(&mut self, now: Instant, m: &HandshakeMessage) -> Result<(), Fatal> {
        let unexpected = || {
            Fatal(
                DtlsError::UnexpectedMessage {
                    what: "handshake message type",
                    state: "handshake",
                },
                AlertDescription::UnexpectedMessage,
            )
        };
        // Only Finished travels in epoch 1 during the handshake.
        let wants_epoch = u16::from(m.msg_type == msg_type::FINISHED);
        if m.epoch != wants_epoch {
            return Err(unexpected());
        }
        match (self.hs, m.msg_type) {
            (Hs::ClientWaitServerHello, msg_type::HELLO_VERIFY_REQUEST) => {
                self.client_on_hello_verify(now, m)
            }
            (Hs::ClientWaitServerHello, msg_type::SERVER_HELLO) => self.client_on_server_hello(m),
            (Hs::ClientWaitCertificate, msg_type::CERTIFICATE) => {
                self.on_peer_certificate(m, Hs::ClientWaitKeyExchange)
            }
            (Hs::ClientWaitKeyExchange, msg_type::SERVER_KEY_EXCHANGE) => {
                self.client_on_server_key_exchange(m)
            }
            (Hs::ClientWaitCertRequestOrDone, msg_type::CERTIFICATE_REQUEST) => {
                self.client_on_certificate_request(m)
            }
            (Hs::ClientWaitCertRequestOrDone | Hs::ClientWaitDone, msg_type::SERVER_HELLO_DONE) => {
                self.client_on_server_hello_done(now, m)
            }
            (Hs::ClientWaitFinished, msg_type::FINISHED) => self.client_on_finished(m),
            (Hs::ServerWaitCertificate, msg_type::CERTIFICATE) => {
                self.on_peer_certificate(m, Hs::ServerWaitKeyExchange)
            }
            (Hs::ServerWaitKeyExchange, msg_type::CLIENT_KEY_EXCHANGE) => {
                self.server_on_client_key_exchange(now, m)
            }
            (Hs::ServerWaitCertificateVerify, msg_type::CERTIFICATE_VERIFY) => {
                self.server_on_certificate_verify(m)
            }
            (Hs::ServerWaitFinished, msg_type::FINISHED) => self.server_on_finished(now, m),
            _ => Err(unexpected()),
        }
    }

    // ------------------------------------------------------------------ client -----------

    fn client_hello_body(&self) -> Vec<u8> {
        let ch = ClientHello {
            version: DTLS_1_2,
            random: self.session.client_random,
            session_id: Vec::new(),
            cookie: self.session.cookie.clone(),
            cipher_suites: self.config.cipher_suites.iter().map(|s| s.id()).collect(),
            compression_methods: vec![0],
            extensions: HelloExtensions {
                supported_groups: Some(self.config.named_groups.iter().map(|g| g.id()).collect()),
                ec_point_formats: Some(vec![0]),
                signature_algorithms: Some(vec![ECDSA_P256_SHA256]),
                use_srtp: (!self.config.srtp_profiles.is_empty()).then(|| UseSrtp {
                    profiles: self.config.srtp_profiles.iter().map(|p| p.id()).collect(),
                    mki: Vec::new(),
                }),
                // RFC 7627 §5.1: the client sends an empty extended_master_secret extension.
                extended_master_secret: true,
                // RFC 5746 §3.4: signal secure renegotiation support in the initial handshake.
                renegotiation_info: Some(Vec::new()),
                unknown: Vec::new(),
            },
        };
        let mut body = Vec::with_capacity(160);
        ch.emit(&mut body);
        body
    }

    fn client_on_hello_verify(&mut self, now: Instant, m: &HandshakeMessage) -> Result<(), Fatal> {
        let hvr = HelloVerifyRequest::parse(&m.body)?;
        self.session.hello_verify_count = self.session.hello_verify_count.saturating_add(1);
        if self.session.hello_verify_count > 3 {
            return Err(Fatal(
                DtlsError::BadCookie,
                AlertDescription::HandshakeFailure,
            ));
        }
        self.session.cookie = hvr.cookie;
        // RFC 6347 §4.2.1: the ClientHello and HelloVerifyRequest without a cookie are not part
        // of the transcript; the second ClientHello keeps the same random.
        self.session.transcript.clear();
        let body = self.client_hello_body();
        let seq = self.take_send_seq();
        self.add_transcript(msg_type::CLIENT_HELLO, seq, &body);
        let item = FlightItem::Handshake {
            epoch: 0,
            msg_type: msg_type::CLIENT_HELLO,
            message_seq: seq,
            body,
        };
        self.send_flight(now, vec![item], true)
    }

    fn client_on_server_hello(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        let sh = ServerHello::parse(&m.body)?;
        if sh.version != DTLS_1_2 {
            return Err(Fatal(
                DtlsError::NoCommonParameters { what: "version" },
                AlertDescription::ProtocolVersion,
            ));
        }
        let suite = CipherSuite::from_id(sh.cipher_suite)
            .filter(|s| self.config.cipher_suites.contains(s))
            .ok_or(DtlsError::IllegalParameter {
                what: "cipher suite",
            })?;
        if sh.compression_method != 0 {
            return Err(DtlsError::IllegalParameter {
                what: "compression method",
            }
            .into());
        }
        // RFC 7627 §5.3: a client that requires EMS aborts if the server did not send it.
        if !sh.extensions.extended_master_secret {
            return Err(DtlsError::ExtendedMasterSecretMissing.into());
        }
        if sh
            .extensions
            .renegotiation_info
            .as_ref()
            .is_some_and(|r| !r.is_empty())
        {
            // RFC 5746 §3.4: must be empty in the initial handshake.
            return Err(Fatal(
                DtlsError::IllegalParameter {
                    what: "renegotiation_info",
                },
                AlertDescription::HandshakeFailure,
            ));
        }
        if let Some(srtp) = &sh.extensions.use_srtp {
            // RFC 5764 §4.1.1: exactly one profile, one we offered.
            let [id] = srtp.profiles.as_slice() else {
                return Err(DtlsError::IllegalParameter {
                    what: "SRTP profile list",
                }
                .into());
            };
            let p = SrtpProtectionProfile::from_id(*id)
                .filter(|p| self.config.srtp_profiles.contains(p))
                .ok_or(DtlsError::IllegalParameter {
                    what: "SRTP profile",
                })?;
            self.session.srtp_profile = Some(p);
            self.session.srtp_mki = srtp.mki.clone();
        }
        self.session.server_random = sh.random;
        self.session.suite = Some(suite);
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = Hs::ClientWaitCertificate;
        Ok(())
    }

    fn on_peer_certificate(&mut self, m: &HandshakeMessage, next: Hs) -> Result<(), Fatal> {
        let cm = CertificateMsg::parse(&m.body)?;
        let Some(leaf) = cm.chain.into_iter().next() else {
            // RFC 5246 §7.4.6: a server requiring client authentication answers an empty
            // Certificate with a fatal handshake_failure alert; WebRTC is always mutual.
            return Err(Fatal(
                DtlsError::NoPeerCertificate,
                AlertDescription::HandshakeFailure,
            ));
        };
        let key = certificate::peer_public_key(&leaf)?;
        self.session.peer_key = Some(key);
        self.session.peer_cert = Some(leaf);
        self.check_fingerprint()?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = next;
        Ok(())
    }

    /// RFC 8122 §5 / RFC 8827 §6.5: the certificate must match one of the SDP fingerprints.
    /// With no fingerprint known yet the decision waits for `set_remote_fingerprints`.
    fn check_fingerprint(&mut self) -> Result<(), Fatal> {
        let Some(der) = &self.session.peer_cert else {
            return Ok(());
        };
        if self.config.remote_fingerprints.is_empty() {
            return Ok(());
        }
        if self
            .config
            .remote_fingerprints
            .iter()
            .any(|fp| fp.matches(der))
        {
            self.session.fingerprint_ok = true;
            Ok(())
        } else {
            Err(Fatal(
                DtlsError::FingerprintMismatch,
                AlertDescription::BadCertificate,
            ))
        }
    }

    fn client_on_server_key_exchange(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        let ske = ServerKeyExchange::parse(&m.body)?;
        let group = NamedGroup::from_id(ske.named_group)
            .filter(|g| self.config.named_groups.contains(g))
            .ok_or(DtlsError::IllegalParameter {
                what: "named group",
            })?;
        if ske.signature_scheme != ECDSA_P256_SHA256 {
            return Err(DtlsError::IllegalParameter {
                what: "signature scheme",
            }
            .into());
        }
        let key = self.session.peer_key.ok_or(DtlsError::NoPeerCertificate)?;
        // RFC 8422 §5.4: the signature covers client_random + server_random + ServerECDHParams.
        let mut signed = Vec::with_capacity(64 + 4 + ske.public_key.len());
        signed.extend_from_slice(&self.session.client_random);
        signed.extend_from_slice(&self.session.server_random);
        signed.extend_from_slice(&ServerKeyExchange::params(ske.named_group, &ske.public_key));
        certificate::verify_signature(&key, &signed, &ske.signature, "ServerKeyExchange")?;
        self.session.group = Some(group);
        self.session.peer_public = ske.public_key;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = Hs::ClientWaitCertRequestOrDone;
        Ok(())
    }

    fn client_on_certificate_request(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        let cr = CertificateRequest::parse(&m.body)?;
        if !cr.certificate_types.contains(&ECDSA_SIGN)
            || !cr.signature_schemes.contains(&ECDSA_P256_SHA256)
        {
            return Err(DtlsError::NoCommonParameters {
                what: "client certificate type",
            }
            .into());
        }
        self.session.cert_requested = true;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = Hs::ClientWaitDone;
        Ok(())
    }

    fn client_on_server_hello_done(
        &mut self,
        now: Instant,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        if !m.body.is_empty() {
            return Err(DtlsError::MalformedHandshake {
                message: "ServerHelloDone",
                at: 0,
            }
            .into());
        }
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        let group = self.session.group.ok_or(DtlsError::Crypto)?;
        let eph = EphemeralKey::generate(group, &mut self.rng);
        let pms = eph.agree(&self.session.peer_public)?;
        let mut items = Vec::with_capacity(5);
        if self.session.cert_requested {
            let body = self.certificate_body();
            items.push(self.transcript_item(msg_type::CERTIFICATE, body));
        }
        let mut cke = Vec::with_capacity(66);
        ClientKeyExchange {
            public_key: eph.public_bytes(),
        }
        .emit(&mut cke);
        items.push(self.transcript_item(msg_type::CLIENT_KEY_EXCHANGE, cke));
        self.derive_master_secret(&pms)?;
        let signer = match &self.config.fault {
            Some(Fault::OmitCertificateVerify) => None,
            Some(Fault::SignCertificateVerifyWith(other)) => Some(other),
            None => Some(&self.config.certificate),
        };
        if let (true, Some(signer)) = (self.session.cert_requested, signer) {
            // RFC 5246 §7.4.8: sign every handshake message so far.
            let sig = signer.sign(&self.session.transcript)?;
            let mut cv = Vec::with_capacity(80);
            CertificateVerify {
                signature_scheme: ECDSA_P256_SHA256,
                signature: sig,
            }
            .emit(&mut cv);
            items.push(self.transcript_item(msg_type::CERTIFICATE_VERIFY, cv));
        }
        self.install_keys()?;
        items.push(FlightItem::ChangeCipherSpec);
        let fin = self.finished_data(b"client finished")?;
        let seq = self.take_send_seq();
        self.add_transcript(msg_type::FINISHED, seq, &fin);
        items.push(FlightItem::Handshake {
            epoch: 1,
            msg_type: msg_type::FINISHED,
            message_seq: seq,
            body: fin,
        });
        self.hs = Hs::ClientWaitFinished;
        self.send_flight(now, items, true)?;
        self.drain_early(now);
        Ok(())
    }

    fn client_on_finished(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        self.verify_finished(b"server finished", &m.body)?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        // The server's last flight arrived: nothing of ours needs retransmitting any more.
        self.flight.clear();
        self.handshake_done();
        Ok(())
    }

    // ------------------------------------------------------------------ server -----------

    fn server_hello_fragment(
        &mut self,
        now: Instant,
        epoch: u16,
        record_seq: u64,
        frag: &hs::FragmentView<'_>,
    ) -> Result<(), DtlsError> {
        let h = frag.header;
        if epoch != 0 || h.msg_type != msg_type::CLIENT_HELLO {
            return Err(DtlsError::UnexpectedMessage {
                what: "message before ClientHello",
                state: self.hs.name(),
            });
        }
        let length = usize::try_from(h.length).map_err(|_| DtlsError::BufferFull)?;
        if length > self.config.max_handshake_message_size {
            return Err(DtlsError::HandshakeMessageTooLarge {
                len: length,
                max: self.config.max_handshake_message_size,
            });
        }
        if h.fragment_offset == 0 && h.fragment_length == h.length {
            // Unfragmented: handled without keeping anything (RFC 6347 §4.2.1 statelessness).
            return self.server_on_client_hello(now, h.message_seq, record_seq, frag.data);
        }
        // Fragmented ClientHello (Chromium's DTLS 1.3 hello is 1413 bytes in two fragments):
        // one bounded slot, replaced when another message_seq or length shows up.
        let offset = usize::try_from(h.fragment_offset).map_err(|_| DtlsError::BufferFull)?;
        let replace = match &self.hello_partial {
            Some((seq, p)) => *seq != h.message_seq || p.message_len() != length,
            None => true,
        };
        if replace {
            let mut p = PartialMessage::new(h.msg_type, 0, length);
            p.add(offset, frag.data)?;
            self.hello_partial = Some((h.message_seq, p));
        } else if let Some((_, p)) = self.hello_partial.as_mut() {
            p.add(offset, frag.data)?;
        }
        let complete = self
            .hello_partial
            .as_ref()
            .is_some_and(|(_, p)| p.is_complete());
        if complete && let Some((seq, p)) = self.hello_partial.take() {
            let body = p.into_body();
            return self.server_on_client_hello(now, seq, record_seq, &body);
        }
        Ok(())
    }

    fn cookie_for(&self, body: &[u8], bucket: u64) -> Option<[u8; 32]> {
        let (before, after) = hs::client_hello_without_cookie(body)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.cookie_secret).ok()?;
        mac.update(&bucket.to_be_bytes());
        mac.update(before);
        mac.update(after);
        Some(mac.finalize().into_bytes().into())
    }

    fn cookie_bucket(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_millis();
        let life = self.config.cookie_lifetime.as_millis().max(1);
        u64::try_from(elapsed / life).unwrap_or(u64::MAX)
    }

    /// A ClientHello in state "wait ClientHello". Until it is accepted nothing is kept: errors
    /// and HelloVerifyRequests leave the endpoint exactly as it was.
    fn server_on_client_hello(
        &mut self,
        now: Instant,
        message_seq: u16,
        record_seq: u64,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        let ch = ClientHello::parse(body)?;
        if self.config.cookie_exchange {
            let bucket = self.cookie_bucket(now);
            let valid = !ch.cookie.is_empty()
                && [Some(bucket), bucket.checked_sub(1)]
                    .into_iter()
                    .flatten()
                    .any(|b| {
                        self.cookie_for(body, b)
                            .is_some_and(|c| bool::from(c.as_slice().ct_eq(&ch.cookie)))
                    });
            if !valid {
                // RFC 6347 §4.2.1: answer with a HelloVerifyRequest, statelessly, reusing the
                // ClientHello's record sequence number; no certificate or key-exchange work.
                let cookie = self.cookie_for(body, bucket).ok_or(DtlsError::BadCookie)?;
                self.send_hello_verify_request(record_seq, &cookie);
                return if ch.cookie.is_empty() {
                    Ok(())
                } else {
                    Err(DtlsError::BadCookie)
                };
            }
        }
        // DTLS versions count down (1.0 = 0xfeff, 1.2 = 0xfefd): a client_version numerically
        // above 1.2 cannot speak 1.2 (RFC 6347 §4.2.1 / RFC 5246 §E.1).
        if ch.version > DTLS_1_2 {
            self.send_stateless_alert(record_seq, AlertDescription::ProtocolVersion);
            return Err(DtlsError::NoCommonParameters { what: "version" });
        }
        let negotiated = self.negotiate(&ch);
        let (suite, group, srtp) = match negotiated {
            Ok(v) => v,
            Err(e) => {
                // Refuse without creating any state: a forged hello cannot kill the endpoint.
                self.send_stateless_alert(record_seq, AlertDescription::HandshakeFailure);
                return Err(e);
            }
        };
        // Accepted: the handshake state starts here.
        self.hello_partial = None;
        self.session.client_random = ch.random;
        self.rng.fill_bytes(&mut self.session.server_random);
        self.session.suite = Some(suite);
        self.session.group = Some(group);
        self.session.srtp_profile = srtp.as_ref().map(|(p, _)| *p);
        self.session.srtp_mki = srtp.map(|(_, mki)| mki).unwrap_or_default();
        self.reasm.reset_to(message_seq.wrapping_add(1));
        // RFC 6347 §4.2.2: the server's message_seq follows the ClientHello's.
        self.next_send_seq = message_seq;
        if let Some(s) = self.write_seq.get_mut(0) {
            *s = (*s).max(record_seq);
        }
        self.session.transcript.clear();
        self.add_transcript(msg_type::CLIENT_HELLO, message_seq, body);
        let reneg = ch.extensions.renegotiation_info.is_some()
            || ch.cipher_suites.contains(&EMPTY_RENEGOTIATION_INFO_SCSV);
        if let Err(f) = self.server_send_first_flight(now, &ch, reneg) {
            self.fail(f);
        }
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    fn negotiate(
        &self,
        ch: &ClientHello,
    ) -> Result<
        (
            CipherSuite,
            NamedGroup,
            Option<(SrtpProtectionProfile, Vec<u8>)>,
        ),
        DtlsError,
    > {
        // RFC 5246 §7.4.1.2: the null compression method MUST be offered.
        if !ch.compression_methods.contains(&0) {
            return Err(DtlsError::NoCommonParameters {
                what: "compression method",
            });
        }
        // Server preference order.
        let suite = self
            .config
            .cipher_suites
            .iter()
            .copied()
            .find(|s| ch.cipher_suites.contains(&s.id()))
            .ok_or(DtlsError::NoCommonParameters {
                what: "cipher suite",
            })?;
        let group = match &ch.extensions.supported_groups {
            Some(groups) => self
                .config
                .named_groups
                .iter()
                .copied()
                .find(|g| groups.contains(&g.id())),
            // RFC 8422 §4: without the extension any curve may be used.
            None => self.config.named_groups.first().copied(),
        }
        .ok_or(DtlsError::NoCommonParameters {
            what: "named group",
        })?;
        if let Some(algs) = &ch.extensions.signature_algorithms
            && !algs.contains(&ECDSA_P256_SHA256)
        {
            return Err(DtlsError::NoCommonParameters {
                what: "signature algorithm",
            });
        }
        // RFC 7627 §5.3: a server that requires EMS aborts a handshake without it.
        if !ch.extensions.extended_master_secret {
            return Err(DtlsError::ExtendedMasterSecretMissing);
        }
        if ch
            .extensions
            .renegotiation_info
            .as_ref()
            .is_some_and(|r| !r.is_empty())
        {
            return Err(DtlsError::IllegalParameter {
                what: "renegotiation_info",
            });
        }
        let srtp = match &ch.extensions.use_srtp {
            Some(offer) => self
                .config
                .srtp_profiles
                .iter()
                .copied()
                .find(|p| offer.profiles.contains(&p.id()))
                // RFC 5764 §4.1.1: the server echoes the client's MKI choice.
                .map(|p| (p, offer.mki.clone())),
            None => None,
        };
        Ok((suite, group, srtp))
    }

    fn server_send_first_flight(
        &mut self,
        now: Instant,
        ch: &ClientHello,
        reneg: bool,
    ) -> Result<(), Fatal> {
        let suite = self.session.suite.ok_or(DtlsError::Crypto)?;
        let group = self.session.group.ok_or(DtlsError::Crypto)?;
        let sh = ServerHello {
            version: DTLS_1_2,
            random: self.session.server_random,
            session_id: Vec::new(),
            cipher_suite: suite.id(),
            compression_method: 0,
            extensions: HelloExtensions {
                supported_groups: None,
                // RFC 8422 §5.2: echo ec_point_formats when the client sent it.
                ec_point_formats: ch.extensions.ec_point_formats.as_ref().map(|_| vec![0]),
                signature_algorithms: None,
                use_srtp: self.session.srtp_profile.map(|p| UseSrtp {
                    profiles: vec![p.id()],
                    mki: self.session.srtp_mki.clone(),
                }),
                extended_master_secret: true,
                renegotiation_info: reneg.then(Vec::new),
                unknown: Vec::new(),
            },
        };
        let mut items = Vec::with_capacity(5);
        let mut b = Vec::with_capacity(96);
        sh.emit(&mut b);
        items.push(self.transcript_item(msg_type::SERVER_HELLO, b));
        let cert = self.certificate_body();
        items.push(self.transcript_item(msg_type::CERTIFICATE, cert));
        let eph = EphemeralKey::generate(group, &mut self.rng);
        let public = eph.public_bytes();
        self.session.ephemeral = Some(eph);
        let mut signed = Vec::with_capacity(64 + 4 + public.len());
        signed.extend_from_slice(&self.session.client_random);
        signed.extend_from_slice(&self.session.server_random);
        signed.extend_from_slice(&ServerKeyExchange::params(group.id(), &public));
        let signature = self.config.certificate.sign(&signed)?;
        let mut b = Vec::with_capacity(160);
        ServerKeyExchange {
            named_group: group.id(),
            public_key: public,
            signature_scheme: ECDSA_P256_SHA256,
            signature,
        }
        .emit(&mut b);
        items.push(self.transcript_item(msg_type::SERVER_KEY_EXCHANGE, b));
        // WebRTC authenticates both ends (RFC 8827 §6.5): always ask for the client certificate.
        let mut b = Vec::with_capacity(8);
        CertificateRequest {
            certificate_types: vec![ECDSA_SIGN],
            signature_schemes: vec![ECDSA_P256_SHA256],
            authorities: Vec::new(),
        }
        .emit(&mut b);
        items.push(self.transcript_item(msg_type::CERTIFICATE_REQUEST, b));
        items.push(self.transcript_item(msg_type::SERVER_HELLO_DONE, Vec::new()));
        self.hs = Hs::ServerWaitCertificate;
        self.send_flight(now, items, true)
    }

    fn server_on_client_key_exchange(
        &mut self,
        now: Instant,
        m: &HandshakeMessage,
    ) -> Result<(), Fatal> {
        let cke = ClientKeyExchange::parse(&m.body)?;
        let eph = self.session.ephemeral.take().ok_or(DtlsError::Crypto)?;
        let pms = eph.agree(&cke.public_key)?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.derive_master_secret(&pms)?;
        self.install_keys()?;
        self.hs = Hs::ServerWaitCertificateVerify;
        self.drain_early(now);
        Ok(())
    }

    fn server_on_certificate_verify(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        let cv = CertificateVerify::parse(&m.body)?;
        if cv.signature_scheme != ECDSA_P256_SHA256 {
            return Err(DtlsError::IllegalParameter {
                what: "signature scheme",
            }
            .into());
        }
        let key = self.session.peer_key.ok_or(DtlsError::NoPeerCertificate)?;
        // RFC 5246 §7.4.8: the signature covers all handshake messages before this one.
        certificate::verify_signature(
            &key,
            &self.session.transcript,
            &cv.signature,
            "CertificateVerify",
        )?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        self.hs = Hs::ServerWaitFinished;
        Ok(())
    }

    fn server_on_finished(&mut self, now: Instant, m: &HandshakeMessage) -> Result<(), Fatal> {
        self.verify_finished(b"client finished", &m.body)?;
        self.add_transcript(m.msg_type, m.message_seq, &m.body);
        let fin = self.finished_data(b"server finished")?;
        let seq = self.take_send_seq();
        self.add_transcript(msg_type::FINISHED, seq, &fin);
        let items = vec![
            FlightItem::ChangeCipherSpec,
            FlightItem::Handshake {
                epoch: 1,
                msg_type: msg_type::FINISHED,
                message_seq: seq,
                body: fin,
            },
        ];
        // The final flight has no timer: it is resent when the client resends its flight
        // (RFC 6347 §4.2.4).
        self.send_flight(now, items, false)?;
        self.handshake_done();
        Ok(())
    }

    fn send_hello_verify_request(&mut self, record_seq: u64, cookie: &[u8]) {
        let mut body = Vec::with_capacity(3 + cookie.len());
        // RFC 6347 §4.2.1: HelloVerifyRequest SHOULD carry version DTLS 1.0.
        HelloVerifyRequest {
            version: DTLS_1_0,
            cookie: cookie.to_vec(),
        }
        .emit(&mut body);
        let mut msg = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body.len());
        hs::emit_message(&mut msg, msg_type::HELLO_VERIFY_REQUEST, 0, &body);
        let mut dgram = Vec::with_capacity(RECORD_HEADER_LEN + msg.len());
        RecordHeader {
            content_type: ContentType::Handshake,
            version: DTLS_1_0,
            epoch: 0,
            sequence: record_seq & MAX_SEQUENCE,
            length: u16::try_from(msg.len()).unwrap_or(u16::MAX),
        }
        .emit(&mut dgram);
        dgram.extend_from_slice(&msg);
        self.out.push_back(dgram);
    }

    fn send_stateless_alert(&mut self, record_seq: u64, desc: AlertDescription) {
        let mut dgram = Vec::with_capacity(RECORD_HEADER_LEN + 2);
        RecordHeader {
            content_type: ContentType::Alert,
            version: DTLS_1_2,
            epoch: 0,
            sequence: record_seq & MAX_SEQUENCE,
            length: 2,
        }
        .emit(&mut dgram);
        dgram.extend_from_slice(&Alert::fatal(desc).emit());
        self.out.push_back(dgram);
    }

    // ------------------------------------------------------------------ key schedule -----

    fn derive_master_secret(&mut self, pms: &[u8]) -> Result<(), Fatal> {
        let suite = self.session.suite.ok_or(DtlsError::Crypto)?;
        // RFC 7627 §4: master_secret = PRF(pms, "extended master secret", session_hash), where
        // session_hash covers the handshake up to and including ClientKeyExchange.
        let session_hash = crypto::transcript_hash(suite.prf_hash(), &self.session.transcript);
        let mut ms = [0u8; 48];
        crypto::prf(
            suite.prf_hash(),
            pms,
            b"extended master secret",
            &session_hash,
            &mut ms,
        )?;
        self.session.master_secret = Some(ms);
        Ok(())
    }

    fn install_keys(&mut self) -> Result<(), Fatal> {
        let suite = self.session.suite.ok_or(DtlsError::Crypto)?;
        let ms = self.session.master_secret.ok_or(DtlsError::Crypto)?;
        let (kl, il) = (suite.key_len(), suite.fixed_iv_len());
        let mut kb = vec![0u8; 2 * (kl + il)];
        let mut seed = [0u8; 64];
        // RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random).
        seed[..32].copy_from_slice(&self.session.server_random);
        seed[32..].copy_from_slice(&self.session.client_random);
        crypto::prf(suite.prf_hash(), &ms, b"key expansion", &seed, &mut kb)?;
        let (ck, rest) = kb.split_at(kl);
        let (sk, rest) = rest.split_at(kl);
        let (civ, siv) = rest.split_at(il);
        let client = RecordCipher::new(suite, ck, civ)?;
        let server = RecordCipher::new(suite, sk, siv)?;
        let (write, read) = match self.config.role {
            DtlsRole::Client => (client, server),
            DtlsRole::Server => (server, client),
        };
        self.write_cipher = Some(write);
        self.read_cipher = Some(read);
        self.read_window = ReplayWindow::new();
        Ok(())
    }

    fn finished_data(&self, label: &[u8]) -> Result<Vec<u8>, Fatal> {
        let suite = self.session.suite.ok_or(DtlsError::Crypto)?;
        let ms = self.session.master_secret.ok_or(DtlsError::Crypto)?;
        // RFC 5246 §7.4.9: verify_data = PRF(master_secret, label, Hash(handshake_messages))[0..12].
        let h = crypto::transcript_hash(suite.prf_hash(), &self.session.transcript);
        let mut out = vec![0u8; 12];
        crypto::prf(suite.prf_hash(), &ms, label, &h, &mut out)?;
        Ok(out)
    }

    fn verify_finished(&self, label: &[u8], got: &[u8]) -> Result<(), Fatal> {
        let want = self.finished_data(label)?;
        if want.len() == got.len() && bool::from(want.as_slice().ct_eq(got)) {
            Ok(())
        } else {
            Err(DtlsError::BadFinished.into())
        }
    }

    // ------------------------------------------------------------------ completion -------

    fn handshake_done(&mut self) {
        self.hs = Hs::Done;
        self.flight_timer = None;
        self.stop_handshake_buffers();
        self.session.ephemeral = None;
        if self.session.fingerprint_ok {
            self.become_connected();
        } else {
            self.state = DtlsState::AwaitingFingerprint;
        }
    }

    fn become_connected(&mut self) {
        self.state = DtlsState::Connected;
        // The transcript is no longer needed.
        self.session.transcript = Vec::new();
        self.events.push_back(DtlsEvent::Connected);
        while let Some(d) = self.pending_app.pop_front() {
            self.events.push_back(DtlsEvent::ApplicationData(d));
        }
        self.pending_app_bytes = 0;
    }

    fn stop_handshake_buffers(&mut self) {
        self.reasm.clear_buffers();
        self.early_records.clear();
        self.early_bytes = 0;
        self.hello_partial = None;
    }

    fn fail(&mut self, f: Fatal) {
        let Fatal(err, alert) = f;
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return;
        }
        let _ = self.send_alert(Alert::fatal(alert));
        self.state = DtlsState::Failed;
        self.flight_timer = None;
        self.flight.clear();
        self.stop_handshake_buffers();
        self.session.master_secret = None;
        self.session.transcript = Vec::new();
        self.pending_app.clear();
        self.pending_app_bytes = 0;
        self.events.push_back(DtlsEvent::Failed(err));
    }

    // ------------------------------------------------------------------ output -----------

    fn take_send_seq(&mut self) -> u16 {
        let s = self.next_send_seq;
        self.next_send_seq = self.next_send_seq.wrapping_add(1);
        s
    }

    /// The transcript holds each message as if unfragmented (RFC 6347 §4.2.6).
    fn add_transcript(&mut self, t: u8, seq: u16, body: &[u8]) {
        hs::emit_message(&mut self.session.transcript, t, seq, body);
    }

    fn transcript_item(&mut self, t: u8, body: Vec<u8>) -> FlightItem {
        let seq = self.take_send_seq();
        self.add_transcript(t, seq, &body);
        FlightItem::Handshake {
            epoch: 0,
            msg_type: t,
            message_seq: seq,
            body,
        }
    }

    fn certificate_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.config.certificate.der().len() + 6);
        CertificateMsg {
            chain: vec![self.config.certificate.der().to_vec()],
        }
        .emit(&mut b);
        b
    }

    fn send_flight(
        &mut self,
        now: Instant,
        items: Vec<FlightItem>,
        with_timer: bool,
    ) -> Result<(), Fatal> {
        self.flight = items;
        self.rto = self.config.initial_retransmit_timeout;
        self.retransmissions = 0;
        self.flight_timer = with_timer.then(|| now + self.rto);
        self.emit_flight()
    }

    /// Encode the current flight into datagrams of at most `mtu` bytes, fragmenting handshake
    /// messages as needed (RFC 6347 §4.2.3). Each (re)transmission uses fresh record numbers.
    fn emit_flight(&mut self) -> Result<(), Fatal> {
        let mtu = self.config.mtu;
        let flight = std::mem::take(&mut self.flight);
        let mut dgram: Vec<u8> = Vec::with_capacity(mtu);
        let mut result = Ok(());
        'items: for item in &flight {
            match item {
                FlightItem::ChangeCipherSpec => {
                    if dgram.len() + RECORD_HEADER_LEN + 1 > mtu {
                        self.out
                            .push_back(std::mem::replace(&mut dgram, Vec::with_capacity(mtu)));
                    }
                    if let Err(e) =
                        self.write_record(0, ContentType::ChangeCipherSpec, &[1], &mut dgram)
                    {
                        result = Err(e.into());
                        break 'items;
                    }
                }
                FlightItem::Handshake {
                    epoch,
                    msg_type: t,
                    message_seq,
                    body,
                } => {
                    let overhead = RECORD_HEADER_LEN
                        + HANDSHAKE_HEADER_LEN
                        + if *epoch > 0 {
                            self.write_cipher.as_ref().map_or(0, RecordCipher::overhead)
                        } else {
                            0
                        };
                    let total = body.len();
                    let mut offset = 0usize;
                    loop {
                        let room = mtu.saturating_sub(dgram.len()).saturating_sub(overhead);
                        let left = total - offset;
                        // Start a new datagram rather than sending tiny fragments.
                        if !dgram.is_empty() && (room == 0 || (room < left && room < 64)) {
                            self.out
                                .push_back(std::mem::replace(&mut dgram, Vec::with_capacity(mtu)));
                            continue;
                        }
                        let take = left.min(room.max(1));
                        let mut frag = Vec::with_capacity(HANDSHAKE_HEADER_LEN + take);
                        hs::HandshakeHeader {
                            msg_type: *t,
                            length: u32::try_from(total).unwrap_or(0),
                            message_seq: *message_seq,
                            fragment_offset: u32::try_from(offset).unwrap_or(0),
                            fragment_length: u32::try_from(take).unwrap_or(0),
                        }
                        .emit(&mut frag);
                        frag.extend_from_slice(body.get(offset..offset + take).unwrap_or(&[]));
                        if let Err(e) =
                            self.write_record(*epoch, ContentType::Handshake, &frag, &mut dgram)
                        {
                            result = Err(e.into());
                            break 'items;
                        }
                        offset += take;
                        if offset >= total {
                            break;
                        }
                    }
                }
            }
            if let FlightItem::ChangeCipherSpec = item {
                self.write_epoch = 1;
            }
        }
        if !dgram.is_empty() {
            self.out.push_back(dgram);
        }
        self.flight = flight;
        result
    }

    /// Append one record of `epoch` to `dgram`, encrypting when epoch > 0.
    fn write_record(
        &mut self,
        epoch: u16,
        ct: ContentType,
        payload: &[u8],
        dgram: &mut Vec<u8>,
    ) -> Result<(), DtlsError> {
        let idx = usize::from(epoch.min(1));
        let seq = self.write_seq.get(idx).copied().unwrap_or(MAX_SEQUENCE + 1);
        // RFC 6347 §4.1: the sequence number MUST NOT wrap within an epoch.
        if seq > MAX_SEQUENCE {
            return Err(DtlsError::SequenceNumberExhausted);
        }
        if epoch == 0 {
            RecordHeader {
                content_type: ct,
                version: DTLS_1_2,
                epoch: 0,
                sequence: seq,
                length: u16::try_from(payload.len())
                    .map_err(|_| DtlsError::RecordTooLarge { len: payload.len() })?,
            }
            .emit(dgram);
            dgram.extend_from_slice(payload);
        } else {
            let cipher = self.write_cipher.as_ref().ok_or(DtlsError::NotConnected)?;
            let len = payload.len() + cipher.overhead();
            let header = RecordHeader {
                content_type: ct,
                version: DTLS_1_2,
                epoch,
                sequence: seq,
                length: u16::try_from(len).map_err(|_| DtlsError::RecordTooLarge { len })?,
            };
            header.emit(dgram);
            cipher.seal(header.epoch_seq(), ct.code(), DTLS_1_2, payload, dgram)?;
        }
        if let Some(s) = self.write_seq.get_mut(idx) {
            *s = seq + 1;
        }
        Ok(())
    }

    /// One record in the current write epoch, coalesced into the last queued datagram if it fits.
    fn queue_record(&mut self, ct: ContentType, payload: &[u8]) -> Result<(), DtlsError> {
        let epoch = self.write_epoch;
        let overhead = RECORD_HEADER_LEN
            + if epoch > 0 {
                self.write_cipher.as_ref().map_or(0, RecordCipher::overhead)
            } else {
                0
            };
        let need = overhead + payload.len();
        let mut dgram = match self.out.pop_back() {
            Some(last) if last.len() + need <= self.config.mtu => last,
            Some(last) => {
                self.out.push_back(last);
                Vec::with_capacity(need.max(64))
            }
            None => Vec::with_capacity(need.max(64)),
        };
        let r = self.write_record(epoch, ct, payload, &mut dgram);
        if !dgram.is_empty() {
            self.out.push_back(dgram);
        }
        r
    }

    fn send_alert(&mut self, alert: Alert) -> Result<(), DtlsError> {
        self.queue_record(ContentType::Alert, &alert.emit())
    }
}
