//! The DTLS 1.3 endpoint (RFC 9147 over the RFC 8446 handshake).
//!
//! A [`DtlsEndpoint`](super::DtlsEndpoint) becomes DTLS 1.3 when the version is negotiated:
//! the server when a ClientHello offers 1.3 in supported_versions, the client when the
//! ServerHello (or HelloRetryRequest) selects it. From then on every input and command is
//! delegated to an [`Endpoint13`], which owns its own record layer (unified header, record
//! number encryption, per-epoch replay windows), handshake (flights acknowledged with ACK
//! records), and KeyUpdate.
//!
//! Suite TLS_AES_128_GCM_SHA256 only, ECDHE with x25519 or secp256r1, ecdsa_secp256r1_sha256
//! certificates, no PSK, no early data, no connection IDs.

mod keys;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use p256::ecdsa::VerifyingKey;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{ECDSA_P256_SHA256, Fatal, MAX_EXPORT, MAX_PLAINTEXT, PEER_TRIGGER_GAP, msg_type_name};
use crate::certificate;
use crate::config::{DtlsConfig, DtlsRole, Fault, SrtpProtectionProfile};
use crate::crypto::{EphemeralKey, NamedGroup};
use crate::endpoint::{DtlsEvent, DtlsState};
use crate::error::DtlsError;
use crate::reassembly::{HandshakeMessage, Inserted, Reassembler};
use crate::replay::ReplayWindow;
use crate::wire::alert::{Alert, AlertDescription, AlertLevel};
use crate::wire::dtls13::{
    self as w, CONTENT_TYPE_ACK, Certificate13, CertificateRequest13, DTLS_1_3,
    HELLO_RETRY_REQUEST_RANDOM, RecordNumber, ServerHello13, TLS_AES_128_GCM_SHA256, ext13, msg13,
};
use crate::wire::extensions::{HelloExtensions, UseSrtp};
use crate::wire::handshake::{
    self as hs, CertificateVerify, ClientHello, HANDSHAKE_HEADER_LEN, HandshakeHeader, msg_type,
};
use crate::wire::record::{self, ContentType, MAX_SEQUENCE, RECORD_HEADER_LEN, RecordHeader};
use crate::wire::{DTLS_1_2, put_u24, put_vec16};
use keys::{EpochKeys, HASH_LEN, Secret, TAG_LEN};

/// Epoch of the handshake traffic keys (RFC 9147 §6.1: 0 plaintext, 1 early data, 2 handshake).
const HANDSHAKE_EPOCH: u64 = 2;
/// Epoch of the first application traffic keys.
const APPLICATION_EPOCH: u64 = 3;
/// Read epochs kept at once (handshake, current application, the one before a KeyUpdate).
const MAX_READ_EPOCHS: usize = 3;
/// Record numbers of sent handshake records remembered for matching ACKs.
const MAX_SENT_RECORDS: usize = 256;
/// Record numbers waiting to be acknowledged.
const MAX_TO_ACK: usize = 32;
/// TLS 1.3 CertificateVerify context strings (RFC 8446 §4.4.3), unchanged in DTLS 1.3.
const SERVER_SIGNATURE_CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify";
const CLIENT_SIGNATURE_CONTEXT: &[u8] = b"TLS 1.3, client CertificateVerify";
/// new_session_ticket(4), ignored by this endpoint (no resumption).
const NEW_SESSION_TICKET: u8 = 4;

/// Handshake progress of DTLS 1.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hs13 {
    ClientWaitServerHello,
    ClientWaitEncryptedExtensions,
    ClientWaitCertificateOrRequest,
    ClientWaitCertificate,
    ClientWaitCertificateVerify,
    ClientWaitFinished,
    ServerWaitCertificate,
    ServerWaitCertificateVerify,
    ServerWaitFinished,
    Done,
}

impl Hs13 {
    fn name(self) -> &'static str {
        match self {
            Hs13::ClientWaitServerHello => "1.3 wait ServerHello",
            Hs13::ClientWaitEncryptedExtensions => "1.3 wait EncryptedExtensions",
            Hs13::ClientWaitCertificateOrRequest => "1.3 wait CertificateRequest",
            Hs13::ClientWaitCertificate => "1.3 wait server Certificate",
            Hs13::ClientWaitCertificateVerify => "1.3 wait server CertificateVerify",
            Hs13::ClientWaitFinished => "1.3 wait server Finished",
            Hs13::ServerWaitCertificate => "1.3 wait client Certificate",
            Hs13::ServerWaitCertificateVerify => "1.3 wait client CertificateVerify",
            Hs13::ServerWaitFinished => "1.3 wait client Finished",
            Hs13::Done => "1.3 handshake done",
        }
    }
}

/// A handshake message we sent, kept until acknowledged.
#[derive(Debug, Clone)]
struct Sent {
    epoch: u64,
    msg_type: u8,
    message_seq: u16,
    body: Vec<u8>,
    /// Fragment offsets acknowledged so far.
    acked: Vec<u32>,
    /// Fragment offsets the message is cut into at our MTU.
    fragments: Vec<u32>,
}

impl Sent {
    fn is_acked(&self) -> bool {
        !self.fragments.is_empty() && self.fragments.iter().all(|f| self.acked.contains(f))
    }
}

#[derive(Debug)]
struct ReadEpoch {
    epoch: u64,
    keys: EpochKeys,
    window: ReplayWindow,
}

#[derive(Debug)]
struct WriteEpoch {
    epoch: u64,
    keys: EpochKeys,
    next_seq: u64,
}

/// What the server's first look at a DTLS 1.3 ClientHello decided.
pub(crate) enum Accept13 {
    /// A stateless HelloRetryRequest datagram was sent (cookie, or another key share needed).
    Retry(Vec<u8>),
    /// The handshake started.
    Accepted(Box<Endpoint13>),
}

/// What a client hands over when the server picked DTLS 1.3.
pub(crate) struct ClientStart {
    pub(crate) config: DtlsConfig,
    pub(crate) rng: StdRng,
    pub(crate) client_hello: Vec<u8>,
    pub(crate) group: NamedGroup,
    pub(crate) key: EphemeralKey,
    pub(crate) next_send_seq: u16,
    pub(crate) next_recv_seq: u16,
    pub(crate) epoch0_seq: u64,
}

/// The inputs of the server's stateless ClientHello check.
pub(crate) struct ServerStart<'a> {
    pub(crate) config: &'a DtlsConfig,
    pub(crate) rng: &'a mut StdRng,
    pub(crate) cookie_secret: &'a [u8; 32],
    pub(crate) cookie_bucket: u64,
    pub(crate) now: Instant,
    pub(crate) message_seq: u16,
    pub(crate) record_seq: u64,
    pub(crate) body: &'a [u8],
}

/// A DTLS 1.3 endpoint (after version negotiation).
#[derive(Debug)]
pub(crate) struct Endpoint13 {
    config: DtlsConfig,
    rng: StdRng,
    hs: Hs13,
    state: DtlsState,
    transcript: Vec<u8>,
    group: NamedGroup,
    ephemeral: Option<EphemeralKey>,
    client_hello: Vec<u8>,
    retried: bool,
    handshake_secret: Option<Secret>,
    client_hs: Secret,
    server_hs: Secret,
    client_ap: Secret,
    server_ap: Secret,
    exporter: Option<Secret>,
    peer_cert: Option<Vec<u8>>,
    peer_key: Option<VerifyingKey>,
    fingerprint_ok: bool,
    cert_requested: bool,
    srtp_profile: Option<SrtpProtectionProfile>,
    srtp_mki: Vec<u8>,
    // record layer
    epoch0_seq: u64,
    writes: Vec<WriteEpoch>,
    write_epoch: u64,
    reads: Vec<ReadEpoch>,
    scratch: Vec<u8>,
    // handshake layer
    reasm: Reassembler,
    next_send_seq: u16,
    flight: Vec<Sent>,
    sent_records: VecDeque<(RecordNumber, usize, u32)>,
    flight_timer: Option<Instant>,
    rto: Duration,
    retransmissions: u32,
    last_peer_trigger: Option<Instant>,
    to_ack: Vec<RecordNumber>,
    key_update_pending: bool,
    /// The peer asked for a KeyUpdate while our own flight was still unacknowledged.
    key_update_owed: bool,
    /// The latest `now` seen (for a KeyUpdate started from `send_application_data`).
    last_now: Option<Instant>,
    // outputs
    out: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    pending_app: VecDeque<Vec<u8>>,
    pending_app_bytes: usize,
}

fn transcript_message(out: &mut Vec<u8>, msg_type: u8, body: &[u8]) {
    // RFC 9147 §5.2: the transcript uses the TLS 1.3 header, without message_seq and the
    // fragment fields.
    out.push(msg_type);
    put_u24(out, u32::try_from(body.len()).unwrap_or(0x00ff_ffff));
    out.extend_from_slice(body);
}

fn signed_content(context: &[u8], transcript_hash: &[u8]) -> Vec<u8> {
    // RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, the transcript hash.
    let mut m = vec![0x20u8; 64];
    m.extend_from_slice(context);
    m.push(0);
    m.extend_from_slice(transcript_hash);
    m
}

fn unexpected(what: &'static str, state: Hs13) -> Fatal {
    Fatal(
        DtlsError::UnexpectedMessage {
            what,
            state: state.name(),
        },
        AlertDescription::UnexpectedMessage,
    )
}

/// Cookie layout: bucket (8) || group (2) || Hash(ClientHello1) (32) || HMAC (32).
const COOKIE_LEN: usize = 8 + 2 + HASH_LEN + 32;

fn cookie_mac(secret: &[u8; 32], fields: &[u8]) -> Result<[u8; 32], DtlsError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| DtlsError::Crypto)?;
    mac.update(b"tern dtls13 cookie");
    mac.update(fields);
    Ok(mac.finalize().into_bytes().into())
}

impl Endpoint13 {
    fn blank(config: DtlsConfig, rng: StdRng, hs: Hs13, group: NamedGroup) -> Self {
        let reasm = Reassembler::new(
            config.max_handshake_message_size,
            config.max_buffered_messages,
            config.max_buffered_bytes,
        );
        let rto = config.initial_retransmit_timeout;
        Endpoint13 {
            config,
            rng,
            hs,
            state: DtlsState::Handshaking,
            transcript: Vec::new(),
            group,
            ephemeral: None,
            client_hello: Vec::new(),
            retried: false,
            handshake_secret: None,
            client_hs: [0; HASH_LEN],
            server_hs: [0; HASH_LEN],
            client_ap: [0; HASH_LEN],
            server_ap: [0; HASH_LEN],
            exporter: None,
            peer_cert: None,
            peer_key: None,
            fingerprint_ok: false,
            cert_requested: false,
            srtp_profile: None,
            srtp_mki: Vec::new(),
            epoch0_seq: 0,
            writes: Vec::new(),
            write_epoch: 0,
            reads: Vec::new(),
            scratch: Vec::with_capacity(2048),
            reasm,
            next_send_seq: 0,
            flight: Vec::new(),
            sent_records: VecDeque::new(),
            flight_timer: None,
            rto,
            retransmissions: 0,
            last_peer_trigger: None,
            to_ack: Vec::new(),
            key_update_pending: false,
            key_update_owed: false,
            last_now: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
            pending_app: VecDeque::new(),
            pending_app_bytes: 0,
        }
    }

    // ------------------------------------------------------------- construction -------

    /// The client after the server selected DTLS 1.3: processes that ServerHello (or
    /// HelloRetryRequest) at once.
    pub(crate) fn client_from_server_hello(
        start: ClientStart,
        now: Instant,
        server_hello: &HandshakeMessage,
    ) -> Result<Box<Self>, (Box<Self>, Fatal)> {
        let mut ep = Box::new(Self::blank(
            start.config,
            start.rng,
            Hs13::ClientWaitServerHello,
            start.group,
        ));
        ep.client_hello = start.client_hello;
        ep.ephemeral = Some(start.key);
        ep.next_send_seq = start.next_send_seq;
        ep.epoch0_seq = start.epoch0_seq;
        ep.reasm.reset_to(start.next_recv_seq);
        match ep.process_message(now, server_hello) {
            Ok(()) => {
                ep.reasm.advance();
                Ok(ep)
            }
            Err(f) => Err((ep, f)),
        }
    }

    /// The server's handling of a ClientHello offering DTLS 1.3. Nothing is kept unless the
    /// result is `Accepted` (RFC 9147 §5.1: a stateless HelloRetryRequest with a cookie).
    pub(crate) fn server_accept(s: ServerStart<'_>) -> Result<Accept13, DtlsError> {
        let config = s.config;
        let ch = ClientHello::parse(s.body)?;
        let block = w::client_hello_extensions(s.body).ok_or(DtlsError::MalformedHandshake {
            message: "ClientHello",
            at: 0,
        })?;
        let exts = w::raw_extensions(block)?;
        // RFC 8446 §4.1.2: the null compression method only.
        if ch.compression_methods != [0] {
            return Err(DtlsError::IllegalParameter {
                what: "compression method",
            });
        }
        if !ch.cipher_suites.contains(&TLS_AES_128_GCM_SHA256) {
            return Err(DtlsError::NoCommonParameters {
                what: "cipher suite",
            });
        }
        // RFC 8446 §4.2.3: ecdsa_secp256r1_sha256 must be acceptable to the client.
        if !ch
            .extensions
            .signature_algorithms
            .as_ref()
            .is_some_and(|a| a.contains(&ECDSA_P256_SHA256))
        {
            return Err(DtlsError::NoCommonParameters {
                what: "signature algorithm",
            });
        }
        let shares = match w::find_extension(&exts, ext13::KEY_SHARE) {
            Some(b) => w::parse_client_key_shares(b)?,
            None => Vec::new(),
        };
        let offered_groups = ch.extensions.supported_groups.clone().unwrap_or_default();
        // Server preference: the first of our groups the client sent a share for; else the
        // first of our groups it supports (then a HelloRetryRequest asks for that share).
        let share = config.named_groups.iter().find_map(|g| {
            shares
                .iter()
                .find(|(id, _)| *id == g.id())
                .map(|(_, k)| (*g, *k))
        });
        let retry_group = config
            .named_groups
            .iter()
            .copied()
            .find(|g| offered_groups.contains(&g.id()));
        let cookie = match w::find_extension(&exts, ext13::COOKIE) {
            Some(b) => {
                let mut r = crate::wire::reader::Reader::new(b);
                let c = r.vec16().ok_or(DtlsError::MalformedExtension {
                    extension_type: ext13::COOKIE,
                })?;
                Some(c)
            }
            None => None,
        };
        let hello_transcript;
        let server_seq;
        match cookie {
            Some(c) => {
                // A second ClientHello: the cookie must be ours and fresh, and the key share
                // the one we asked for.
                if c.len() != COOKIE_LEN {
                    return Err(DtlsError::BadCookie);
                }
                let (fields, mac) = c.split_at(COOKIE_LEN - 32);
                let expect = cookie_mac(s.cookie_secret, fields)?;
                if !bool::from(expect.as_slice().ct_eq(mac)) {
                    return Err(DtlsError::BadCookie);
                }
                let bucket = fields
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
                    .ok_or(DtlsError::BadCookie)?;
                if bucket != s.cookie_bucket && Some(bucket) != s.cookie_bucket.checked_sub(1) {
                    return Err(DtlsError::BadCookie);
                }
                let group_id = fields
                    .get(8..10)
                    .and_then(|g| g.try_into().ok())
                    .map(u16::from_be_bytes)
                    .ok_or(DtlsError::BadCookie)?;
                let ch1_hash = fields.get(10..).ok_or(DtlsError::BadCookie)?;
                match share {
                    Some((g, _)) if g.id() == group_id => {}
                    _ => {
                        return Err(DtlsError::IllegalParameter {
                            what: "key share after HelloRetryRequest",
                        });
                    }
                }
                // RFC 8446 §4.4.1: ClientHello1 is replaced by message_hash(Hash(CH1)),
                // followed by the HelloRetryRequest, rebuilt from the cookie.
                let mut t = Vec::with_capacity(400);
                transcript_message(&mut t, msg13::MESSAGE_HASH, ch1_hash);
                let hrr = Self::hello_retry_body(&ch.session_id, group_id, c);
                transcript_message(&mut t, msg_type::SERVER_HELLO, &hrr);
                hello_transcript = t;
                // Our HelloRetryRequest had message_seq 0.
                server_seq = 1u16;
            }
            None => {
                let need_retry = config.cookie_exchange || share.is_none();
                if need_retry {
                    let group = match share {
                        Some((g, _)) => g,
                        None => retry_group.ok_or(DtlsError::NoCommonParameters {
                            what: "named group",
                        })?,
                    };
                    let mut fields = Vec::with_capacity(COOKIE_LEN);
                    fields.extend_from_slice(&s.cookie_bucket.to_be_bytes());
                    fields.extend_from_slice(&group.id().to_be_bytes());
                    let mut ch1 = Vec::with_capacity(s.body.len() + 4);
                    transcript_message(&mut ch1, msg_type::CLIENT_HELLO, s.body);
                    fields.extend_from_slice(&keys::hash(&ch1));
                    let mac = cookie_mac(s.cookie_secret, &fields)?;
                    fields.extend_from_slice(&mac);
                    let hrr = Self::hello_retry_body(&ch.session_id, group.id(), &fields);
                    // RFC 9147 §5.1: a stateless HelloRetryRequest (the server's message_seq 0);
                    // its record reuses the ClientHello's sequence number as RFC 6347 §4.2.1
                    // has the HelloVerifyRequest do.
                    let mut msg = Vec::with_capacity(hrr.len() + HANDSHAKE_HEADER_LEN);
                    hs::emit_message(&mut msg, msg_type::SERVER_HELLO, 0, &hrr);
                    let mut dgram = Vec::with_capacity(msg.len() + RECORD_HEADER_LEN);
                    RecordHeader {
                        content_type: ContentType::Handshake,
                        version: DTLS_1_2,
                        epoch: 0,
                        sequence: s.record_seq & MAX_SEQUENCE,
                        length: u16::try_from(msg.len()).map_err(|_| DtlsError::Crypto)?,
                    }
                    .emit(&mut dgram);
                    dgram.extend_from_slice(&msg);
                    return Ok(Accept13::Retry(dgram));
                }
                hello_transcript = Vec::with_capacity(400);
                server_seq = 0;
            }
        }
        let Some((group, peer_share)) = share else {
            return Err(DtlsError::NoCommonParameters { what: "key share" });
        };
        // Accepted: from here the handshake has state.
        let mut seed = [0u8; 32];
        s.rng.fill_bytes(&mut seed);
        let mut ep = Box::new(Self::blank(
            config.clone(),
            StdRng::from_seed(seed),
            Hs13::ServerWaitCertificate,
            group,
        ));
        ep.transcript = hello_transcript;
        transcript_message(&mut ep.transcript, msg_type::CLIENT_HELLO, s.body);
        ep.next_send_seq = server_seq;
        ep.epoch0_seq = s.record_seq;
        ep.reasm.reset_to(s.message_seq.wrapping_add(1));
        ep.srtp_profile = None;
        if let Some(offer) = &ch.extensions.use_srtp
            && let Some(p) = config
                .srtp_profiles
                .iter()
                .copied()
                .find(|p| offer.profiles.contains(&p.id()))
        {
            ep.srtp_profile = Some(p);
            // RFC 5764 §4.1.1: the server echoes the client's MKI choice.
            ep.srtp_mki = offer.mki.clone();
        }
        let key = EphemeralKey::generate(group, &mut ep.rng);
        let key_public = key.public_bytes();
        let shared = key.agree(peer_share)?;
        let mut random = [0u8; 32];
        ep.rng.fill_bytes(&mut random);
        let sh = ServerHello13 {
            random,
            // RFC 9147 §5.3: DTLS 1.3 servers do not echo legacy_session_id.
            session_id: Vec::new(),
            cipher_suite: TLS_AES_128_GCM_SHA256,
            selected_version: DTLS_1_3,
            key_share: Some((group.id(), key_public)),
            cookie: Vec::new(),
        };
        let mut sh_body = Vec::with_capacity(128);
        sh.emit(&mut sh_body);
        let sh_msg = ep.new_message(0, msg_type::SERVER_HELLO, sh_body);
        ep.install_handshake_keys(&shared)?;
        let mut flight = vec![sh_msg];
        // EncryptedExtensions: use_srtp only.
        let mut ee_exts = HelloExtensions::default();
        if let Some(p) = ep.srtp_profile {
            ee_exts.use_srtp = Some(UseSrtp {
                profiles: vec![p.id()],
                mki: ep.srtp_mki.clone(),
            });
        }
        let mut ee = Vec::new();
        ee_exts.emit(&mut ee);
        flight.push(ep.new_message(HANDSHAKE_EPOCH, msg13::ENCRYPTED_EXTENSIONS, ee));
        // RFC 8827 §6.5: WebRTC authenticates both sides, so a client certificate is required.
        let mut cr = Vec::new();
        CertificateRequest13 {
            context: Vec::new(),
            signature_algorithms: vec![ECDSA_P256_SHA256],
        }
        .emit(&mut cr);
        flight.push(ep.new_message(HANDSHAKE_EPOCH, msg_type::CERTIFICATE_REQUEST, cr));
        ep.cert_requested = true;
        let own = ep.own_certificate_messages(SERVER_SIGNATURE_CONTEXT)?;
        flight.extend(own);
        let fin = keys::finished_verify_data(&ep.server_hs, &keys::hash(&ep.transcript))?;
        transcript_message(&mut ep.transcript, msg_type::FINISHED, &fin);
        flight.push(ep.new_message(HANDSHAKE_EPOCH, msg_type::FINISHED, fin.to_vec()));
        let hs_secret = ep.handshake_secret.ok_or(DtlsError::Crypto)?;
        let (c_ap, s_ap, exp) = keys::application_secrets(&hs_secret, &keys::hash(&ep.transcript))?;
        ep.client_ap = c_ap;
        ep.server_ap = s_ap;
        ep.exporter = Some(exp);
        ep.start_flight(s.now, flight).map_err(|f| f.0)?;
        Ok(Accept13::Accepted(ep))
    }

    fn hello_retry_body(_session_id: &[u8], group: u16, cookie: &[u8]) -> Vec<u8> {
        let hrr = ServerHello13 {
            random: HELLO_RETRY_REQUEST_RANDOM,
            session_id: Vec::new(),
            cipher_suite: TLS_AES_128_GCM_SHA256,
            selected_version: DTLS_1_3,
            key_share: Some((group, Vec::new())),
            cookie: cookie.to_vec(),
        };
        let mut b = Vec::with_capacity(128);
        hrr.emit(&mut b);
        b
    }

    // ------------------------------------------------------------------ keys -----------

    fn install_handshake_keys(&mut self, shared: &[u8]) -> Result<(), DtlsError> {
        let hs = keys::handshake_secrets(shared, &keys::hash(&self.transcript))?;
        self.client_hs = hs.client;
        self.server_hs = hs.server;
        self.handshake_secret = Some(hs.handshake_secret);
        let (read, write) = match self.config.role {
            DtlsRole::Client => (hs.server, hs.client),
            DtlsRole::Server => (hs.client, hs.server),
        };
        self.add_read_epoch(HANDSHAKE_EPOCH, &read)?;
        self.writes.push(WriteEpoch {
            epoch: HANDSHAKE_EPOCH,
            keys: EpochKeys::new(&write)?,
            next_seq: 0,
        });
        self.write_epoch = HANDSHAKE_EPOCH;
        Ok(())
    }

    fn install_application_keys(&mut self) -> Result<(), DtlsError> {
        let (read, write) = match self.config.role {
            DtlsRole::Client => (self.server_ap, self.client_ap),
            DtlsRole::Server => (self.client_ap, self.server_ap),
        };
        self.add_read_epoch(APPLICATION_EPOCH, &read)?;
        self.writes.push(WriteEpoch {
            epoch: APPLICATION_EPOCH,
            keys: EpochKeys::new(&write)?,
            next_seq: 0,
        });
        self.write_epoch = APPLICATION_EPOCH;
        Ok(())
    }

    fn add_read_epoch(&mut self, epoch: u64, secret: &Secret) -> Result<(), DtlsError> {
        if self.reads.iter().any(|r| r.epoch == epoch) {
            return Ok(());
        }
        let keys = EpochKeys::new(secret)?;
        if self.reads.len() >= MAX_READ_EPOCHS {
            self.reads.remove(0);
        }
        self.reads.push(ReadEpoch {
            epoch,
            keys,
            window: ReplayWindow::new(),
        });
        Ok(())
    }

    // ------------------------------------------------------------- public API ---------

    pub(crate) fn set_remote_fingerprints(&mut self, fps: Vec<crate::Fingerprint>) {
        self.config.remote_fingerprints = fps;
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return;
        }
        if self.peer_cert.is_some() && !self.fingerprint_ok {
            if let Err(f) = self.check_fingerprint() {
                self.fail(f);
                return;
            }
            if self.state == DtlsState::AwaitingFingerprint && self.fingerprint_ok {
                self.become_connected();
            }
        }
    }

    pub(crate) fn handle_receive(
        &mut self,
        now: Instant,
        datagram: &[u8],
    ) -> Result<(), DtlsError> {
        self.last_now = Some(now);
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return Err(DtlsError::Closed);
        }
        let mut first_err = None;
        let mut at = 0usize;
        while at < datagram.len() {
            let rest = datagram.get(at..).unwrap_or(&[]);
            let Some(&first) = rest.first() else { break };
            let r = if w::is_unified_header(first) {
                match w::parse_unified_header(rest, at) {
                    Ok(h) => {
                        let len = h.header_len.saturating_add(h.record_len);
                        at = at.saturating_add(len);
                        self.handle_ciphertext(now, rest.get(..len).unwrap_or(&[]), h)
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                        break;
                    }
                }
            } else {
                match record::parse_record(rest, at) {
                    Ok((view, used)) => {
                        at = at.saturating_add(used);
                        self.handle_plaintext(now, view)
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                        break;
                    }
                }
            };
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
            if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
                break;
            }
        }
        self.flush_acks();
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        let Some(at) = self.flight_timer else { return };
        if now < at || matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return;
        }
        if self.retransmissions >= self.config.max_retransmissions {
            if self.hs == Hs13::Done {
                // The handshake completed on our side; the peer just never acknowledged.
                self.flight.clear();
                self.flight_timer = None;
                return;
            }
            self.fail(Fatal(
                DtlsError::HandshakeTimeout,
                AlertDescription::HandshakeFailure,
            ));
            return;
        }
        self.retransmissions = self.retransmissions.saturating_add(1);
        // RFC 9147 §5.8.2: double the timer on each retransmission, up to 60 s.
        self.rto = self
            .rto
            .saturating_mul(2)
            .min(self.config.max_retransmit_timeout);
        self.flight_timer = now.checked_add(self.rto);
        if let Err(f) = self.emit_flight() {
            self.fail(f);
        }
    }

    pub(crate) fn send_application_data(&mut self, data: &[u8]) -> Result<(), DtlsError> {
        if self.state != DtlsState::Connected {
            return Err(match self.state {
                DtlsState::Closed | DtlsState::Failed => DtlsError::Closed,
                _ => DtlsError::NotConnected,
            });
        }
        if data.len() > MAX_PLAINTEXT {
            return Err(DtlsError::ApplicationDataTooLarge { len: data.len() });
        }
        // RFC 9147 §4.5.3: change keys well before the AEAD usage limit; the KeyUpdate goes
        // out first, and this record follows in the current epoch until it is acknowledged.
        if self.next_write_sequence() >= self.config.key_update_interval
            && !self.key_update_pending
            && self.flight.is_empty()
            && let Some(now) = self.last_now
        {
            self.update_keys(now, false)?;
        }
        self.write_record(self.write_epoch, ContentType::ApplicationData.code(), data)
            .map(|_| ())
    }

    /// Send a KeyUpdate (RFC 8446 §4.6.3, RFC 9147 §8); our new keys are used once the peer
    /// acknowledged it. `request_peer` asks the peer to update its keys too.
    pub(crate) fn update_keys(
        &mut self,
        now: Instant,
        request_peer: bool,
    ) -> Result<(), DtlsError> {
        if self.state != DtlsState::Connected {
            return Err(DtlsError::NotConnected);
        }
        // RFC 9147 §8: no second KeyUpdate before the first one was acknowledged.
        if self.key_update_pending || !self.flight.is_empty() {
            return Err(DtlsError::KeyUpdatePending);
        }
        let m = self.new_message(
            self.write_epoch,
            msg13::KEY_UPDATE,
            vec![u8::from(request_peer)],
        );
        self.key_update_pending = true;
        self.start_flight(now, vec![m]).map_err(|f| f.0)
    }

    pub(crate) fn close(&mut self) {
        if matches!(self.state, DtlsState::Closed | DtlsState::Failed) {
            return;
        }
        let _ = self.send_alert(Alert::warning(AlertDescription::CloseNotify));
        self.state = DtlsState::Closed;
        self.stop_buffers();
        self.events.push_back(DtlsEvent::Closed);
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    pub(crate) fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            None
        } else {
            self.flight_timer
        }
    }

    pub(crate) fn state(&self) -> DtlsState {
        self.state
    }

    pub(crate) fn handshake_state_name(&self) -> &'static str {
        self.hs.name()
    }

    pub(crate) fn selected_srtp_profile(&self) -> Option<SrtpProtectionProfile> {
        self.srtp_profile
    }

    pub(crate) fn srtp_mki(&self) -> &[u8] {
        &self.srtp_mki
    }

    pub(crate) fn peer_certificate_der(&self) -> Option<&[u8]> {
        self.peer_cert.as_deref()
    }

    pub(crate) fn buffered_bytes(&self) -> usize {
        self.reasm
            .buffered_bytes()
            .saturating_add(self.pending_app_bytes)
    }

    pub(crate) fn write_epoch(&self) -> u64 {
        self.write_epoch
    }

    pub(crate) fn next_write_sequence(&self) -> u64 {
        self.writes
            .iter()
            .find(|w| w.epoch == self.write_epoch)
            .map_or(self.epoch0_seq, |w| w.next_seq)
    }

    pub(crate) fn set_next_write_sequence_for_test(&mut self, seq: u64) {
        let epoch = self.write_epoch;
        if let Some(w) = self.writes.iter_mut().find(|w| w.epoch == epoch) {
            w.next_seq = seq;
        }
    }

    pub(crate) fn export_keying_material(
        &self,
        label: &str,
        len: usize,
    ) -> Result<Vec<u8>, DtlsError> {
        if self.state != DtlsState::Connected {
            return Err(DtlsError::NotConnected);
        }
        if len == 0 || len > MAX_EXPORT || label.is_empty() || label.len() > 200 {
            return Err(DtlsError::InvalidExport);
        }
        let exp = self.exporter.ok_or(DtlsError::NotConnected)?;
        keys::export(&exp, label.as_bytes(), len)
    }

    pub(crate) fn send_handshake_message_for_test(
        &mut self,
        msg_type: u8,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        let seq = self.next_send_seq;
        self.next_send_seq = seq.wrapping_add(1);
        let mut msg = Vec::with_capacity(HANDSHAKE_HEADER_LEN + body.len());
        hs::emit_message(&mut msg, msg_type, seq, body);
        self.write_record(self.write_epoch, ContentType::Handshake.code(), &msg)
            .map(|_| ())
    }

    // ------------------------------------------------------------- record input -------

    fn handle_plaintext(
        &mut self,
        now: Instant,
        view: record::RecordView<'_>,
    ) -> Result<(), DtlsError> {
        let h = view.header;
        if h.epoch != 0 {
            return Err(DtlsError::UnexpectedEpoch { epoch: h.epoch });
        }
        match h.content_type {
            ContentType::Handshake if self.hs == Hs13::Done => {
                // A hello retransmitted by a peer that missed our last flight; never a new
                // handshake (renegotiation does not exist in DTLS 1.3).
                self.peer_retransmitted(now);
                Err(DtlsError::UnexpectedMessage {
                    what: "plaintext handshake record",
                    state: self.hs.name(),
                })
            }
            ContentType::Handshake => {
                let rn = RecordNumber {
                    epoch: 0,
                    sequence: h.sequence,
                };
                self.handle_handshake_payload(now, rn, view.body)
            }
            ContentType::Alert if self.reads.is_empty() => self.handle_alert(view.body),
            _ => Err(DtlsError::UnexpectedMessage {
                what: "plaintext record",
                state: self.hs.name(),
            }),
        }
    }

    fn handle_ciphertext(
        &mut self,
        now: Instant,
        rec: &[u8],
        h: w::UnifiedHeader,
    ) -> Result<(), DtlsError> {
        // RFC 9147 §4.2.2: the epoch is the newest one we hold whose low bits match.
        let idx = self
            .reads
            .iter()
            .enumerate()
            .filter(|(_, r)| r.epoch & 3 == u64::from(h.epoch_bits))
            .max_by_key(|(_, r)| r.epoch)
            .map(|(i, _)| i)
            .ok_or(DtlsError::UnexpectedEpoch {
                epoch: u16::from(h.epoch_bits),
            })?;
        let (header, body) = rec.split_at(h.header_len.min(rec.len()));
        let Some(re) = self.reads.get(idx) else {
            return Err(DtlsError::Crypto);
        };
        // RFC 9147 §4.2.3: unmask the sequence number with the first 16 ciphertext bytes.
        let mask = re.keys.mask(body)?;
        let mut aad = header.to_vec();
        let mut low: u64 = 0;
        for i in 0..h.seq_len {
            let (Some(b), Some(m)) = (aad.get_mut(1 + i), mask.get(i)) else {
                return Err(DtlsError::Crypto);
            };
            *b ^= *m;
            low = (low << 8) | u64::from(*b);
        }
        // RFC 9147 §4.2.2: the full sequence number closest to one past the highest received.
        let bits = 8 * u32::try_from(h.seq_len).unwrap_or(2);
        let span = 1u64 << bits;
        let expected = re.window.top().map_or(0, |t| t.saturating_add(1));
        let base = (expected & !(span - 1)) | low;
        let seq = [base.checked_sub(span), Some(base), base.checked_add(span)]
            .into_iter()
            .flatten()
            .min_by_key(|c| c.abs_diff(expected))
            .unwrap_or(base);
        // RFC 9147 §4.5.1: replay check before, window update only after authentication.
        if !re.window.check(seq) {
            return Err(DtlsError::ReplayedRecord);
        }
        let epoch = re.epoch;
        let mut plain = std::mem::take(&mut self.scratch);
        let opened = re.keys.open(seq, &aad, body, &mut plain);
        if let Err(e) = opened {
            self.scratch = plain;
            return Err(e);
        }
        if let Some(re) = self.reads.get_mut(idx) {
            re.window.mark(seq);
        }
        // RFC 8446 §5.4: strip the zero padding; the last non-zero byte is the content type.
        let end = plain.iter().rposition(|b| *b != 0);
        let r = match end {
            None => Err(DtlsError::UnexpectedMessage {
                what: "record without content type",
                state: self.hs.name(),
            }),
            Some(end)
                if plain.get(end) == Some(&23)
                    && epoch >= APPLICATION_EPOCH
                    && self.state == DtlsState::Connected =>
            {
                // The data path: the decrypted buffer, cut at the content type, becomes the
                // event as it is (what `dispatch_protected` does when connected, without a copy).
                plain.truncate(end);
                self.events.push_back(DtlsEvent::ApplicationData(plain));
                return Ok(());
            }
            Some(end) => {
                let ct = plain.get(end).copied().unwrap_or(0);
                let content = plain.get(..end).unwrap_or(&[]);
                let rn = RecordNumber {
                    epoch,
                    sequence: seq,
                };
                self.dispatch_protected(now, rn, ct, content)
            }
        };
        self.scratch = plain;
        r
    }

    fn dispatch_protected(
        &mut self,
        now: Instant,
        rn: RecordNumber,
        content_type: u8,
        content: &[u8],
    ) -> Result<(), DtlsError> {
        match content_type {
            22 => self.handle_handshake_payload(now, rn, content),
            21 => self.handle_alert(content),
            23 => {
                if rn.epoch < APPLICATION_EPOCH {
                    return Err(DtlsError::UnexpectedMessage {
                        what: "application data in a handshake epoch",
                        state: self.hs.name(),
                    });
                }
                match self.state {
                    DtlsState::Connected => {
                        self.events
                            .push_back(DtlsEvent::ApplicationData(content.to_vec()));
                        Ok(())
                    }
                    DtlsState::AwaitingFingerprint | DtlsState::Handshaking => {
                        // Held (bounded) until the fingerprint is known.
                        if self.pending_app.len() >= self.config.max_buffered_messages
                            || self.pending_app_bytes.saturating_add(content.len())
                                > self.config.max_buffered_bytes / 4
                        {
                            return Err(DtlsError::BufferFull);
                        }
                        self.pending_app_bytes =
                            self.pending_app_bytes.saturating_add(content.len());
                        self.pending_app.push_back(content.to_vec());
                        Ok(())
                    }
                    _ => Err(DtlsError::Closed),
                }
            }
            CONTENT_TYPE_ACK => {
                let acks = w::parse_ack(content)?;
                self.handle_ack(now, &acks);
                Ok(())
            }
            other => Err(DtlsError::UnknownContentType {
                content_type: other,
            }),
        }
    }

    fn handle_alert(&mut self, body: &[u8]) -> Result<(), DtlsError> {
        let alert = Alert::parse(body)?;
        if alert.description == AlertDescription::CloseNotify {
            self.state = DtlsState::Closed;
            self.stop_buffers();
            self.events.push_back(DtlsEvent::Closed);
            return Ok(());
        }
        // RFC 8446 §6: every other alert ends the connection, whatever its level.
        let _ = alert.level == AlertLevel::Fatal;
        self.state = DtlsState::Failed;
        self.stop_buffers();
        self.events
            .push_back(DtlsEvent::Failed(DtlsError::PeerAlert(alert.description)));
        Ok(())
    }

    fn handle_ack(&mut self, now: Instant, acks: &[RecordNumber]) {
        for rn in acks {
            let hits: Vec<(usize, u32)> = self
                .sent_records
                .iter()
                .filter(|(r, _, _)| r == rn)
                .map(|(_, i, o)| (*i, *o))
                .collect();
            for (i, off) in hits {
                if let Some(m) = self.flight.get_mut(i)
                    && !m.acked.contains(&off)
                {
                    m.acked.push(off);
                }
            }
        }
        if !self.flight.is_empty() && self.flight.iter().all(Sent::is_acked) {
            let key_update = self.flight.iter().any(|m| m.msg_type == msg13::KEY_UPDATE);
            self.flight_done();
            if key_update && self.key_update_pending {
                self.key_update_pending = false;
                if let Err(f) = self.advance_write_epoch() {
                    self.fail(f);
                    return;
                }
            }
            // RFC 8446 §4.6.3: answer a peer's update_requested once we are free to.
            if self.key_update_owed && self.flight.is_empty() {
                self.key_update_owed = false;
                if let Err(e) = self.update_keys(now, false) {
                    self.fail(Fatal::from(e));
                }
            }
        }
    }

    fn advance_write_epoch(&mut self) -> Result<(), Fatal> {
        let cur = self
            .writes
            .iter()
            .find(|w| w.epoch == self.write_epoch)
            .map(|w| w.keys.secret)
            .ok_or(DtlsError::Crypto)?;
        let next = keys::next_traffic_secret(&cur)?;
        let epoch = self.write_epoch.saturating_add(1);
        // Only the handshake epoch (for retransmissions) and the newest are kept.
        self.writes.retain(|w| w.epoch == HANDSHAKE_EPOCH);
        self.writes.push(WriteEpoch {
            epoch,
            keys: EpochKeys::new(&next)?,
            next_seq: 0,
        });
        self.write_epoch = epoch;
        Ok(())
    }

    // ------------------------------------------------------------- handshake input ----

    fn handle_handshake_payload(
        &mut self,
        now: Instant,
        rn: RecordNumber,
        body: &[u8],
    ) -> Result<(), DtlsError> {
        let mut pos = 0usize;
        let mut first_err = None;
        while pos < body.len() {
            let rest = body.get(pos..).unwrap_or(&[]);
            let (frag, used) = hs::parse_fragment(rest, pos)?;
            pos = pos.saturating_add(used);
            if let Err(e) = self.handle_fragment(now, rn, &frag) {
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

    fn ack_later(&mut self, rn: RecordNumber) {
        if rn.epoch >= HANDSHAKE_EPOCH && !self.to_ack.contains(&rn) {
            if self.to_ack.len() >= MAX_TO_ACK {
                self.to_ack.remove(0);
            }
            self.to_ack.push(rn);
        }
    }

    fn handle_fragment(
        &mut self,
        now: Instant,
        rn: RecordNumber,
        frag: &hs::FragmentView<'_>,
    ) -> Result<(), DtlsError> {
        if rn.epoch == 0
            && self.hs != Hs13::ClientWaitServerHello
            && frag.header.message_seq >= self.reasm.next_seq()
        {
            // RFC 9147 §4.5.2: invalid records are silently discarded. Past the hellos every new
            // handshake message is encrypted, so a new plaintext one can only be forged: it is
            // dropped instead of ending the handshake (retransmitted hellos are still `Old`).
            return Err(DtlsError::UnexpectedMessage {
                what: "plaintext handshake message after the hellos",
                state: self.hs.name(),
            });
        }
        let epoch16 = u16::try_from(rn.epoch.min(u64::from(u16::MAX))).unwrap_or(u16::MAX);
        match self.reasm.insert(epoch16, frag)? {
            Inserted::Old => {
                // A retransmission: the peer lost our answer (or our ACK).
                self.ack_later(rn);
                self.peer_retransmitted(now);
                return Ok(());
            }
            Inserted::Buffered => {}
        }
        let server_acks = self.config.role == DtlsRole::Server && self.hs != Hs13::Done;
        if server_acks || self.hs == Hs13::Done {
            // RFC 9147 §7.1: the server acknowledges the client's last flight; every
            // post-handshake message is acknowledged.
            self.ack_later(rn);
        }
        while let Some(m) = self.reasm.take_ready() {
            if let Err(f) = self.process_message(now, &m) {
                self.fail(f);
                return Ok(());
            }
            self.reasm.advance();
        }
        Ok(())
    }

    fn peer_retransmitted(&mut self, now: Instant) {
        if self.flight.is_empty() {
            return;
        }
        if self
            .last_peer_trigger
            .is_some_and(|t| now.saturating_duration_since(t) < PEER_TRIGGER_GAP)
        {
            return;
        }
        self.last_peer_trigger = Some(now);
        if let Err(f) = self.emit_flight() {
            self.fail(f);
        }
    }

    fn process_message(&mut self, now: Instant, m: &HandshakeMessage) -> Result<(), Fatal> {
        let state = self.hs;
        let bad = || unexpected(msg_type_name(m.msg_type), state);
        // RFC 8446 §2 / RFC 9147 §6.1: hellos travel in epoch 0, the rest of the handshake in
        // epoch 2, post-handshake messages in application epochs.
        let want_epoch_ok = match m.msg_type {
            msg_type::SERVER_HELLO | msg_type::CLIENT_HELLO => m.epoch == 0,
            msg13::KEY_UPDATE | NEW_SESSION_TICKET => u64::from(m.epoch) >= APPLICATION_EPOCH,
            _ => u64::from(m.epoch) == HANDSHAKE_EPOCH,
        };
        if !want_epoch_ok {
            return Err(bad());
        }
        match (self.hs, m.msg_type) {
            (Hs13::ClientWaitServerHello, msg_type::SERVER_HELLO) => {
                self.client_on_server_hello(now, m)
            }
            (Hs13::ClientWaitEncryptedExtensions, msg13::ENCRYPTED_EXTENSIONS) => {
                self.client_on_encrypted_extensions(m)
            }
            (Hs13::ClientWaitCertificateOrRequest, msg_type::CERTIFICATE_REQUEST) => {
                let cr = CertificateRequest13::parse(&m.body)?;
                if !cr.context.is_empty() {
                    return Err(DtlsError::IllegalParameter {
                        what: "certificate_request_context",
                    }
                    .into());
                }
                if !cr.signature_algorithms.contains(&ECDSA_P256_SHA256) {
                    return Err(DtlsError::NoCommonParameters {
                        what: "signature algorithm",
                    }
                    .into());
                }
                self.cert_requested = true;
                transcript_message(&mut self.transcript, m.msg_type, &m.body);
                self.hs = Hs13::ClientWaitCertificate;
                Ok(())
            }
            (
                Hs13::ClientWaitCertificateOrRequest | Hs13::ClientWaitCertificate,
                msg_type::CERTIFICATE,
            ) => self.on_peer_certificate(m, Hs13::ClientWaitCertificateVerify),
            (Hs13::ClientWaitCertificateVerify, msg_type::CERTIFICATE_VERIFY) => {
                self.on_peer_certificate_verify(m, SERVER_SIGNATURE_CONTEXT)?;
                self.hs = Hs13::ClientWaitFinished;
                Ok(())
            }
            (Hs13::ClientWaitFinished, msg_type::FINISHED) => self.client_on_finished(now, m),
            (Hs13::ServerWaitCertificate, msg_type::CERTIFICATE) => {
                // The client answered: our flight arrived (implicit acknowledgement).
                self.flight_done();
                self.on_peer_certificate(m, Hs13::ServerWaitCertificateVerify)
            }
            (Hs13::ServerWaitCertificateVerify, msg_type::CERTIFICATE_VERIFY) => {
                self.on_peer_certificate_verify(m, CLIENT_SIGNATURE_CONTEXT)?;
                self.hs = Hs13::ServerWaitFinished;
                Ok(())
            }
            (Hs13::ServerWaitFinished, msg_type::FINISHED) => self.server_on_finished(m),
            (Hs13::Done, msg13::KEY_UPDATE) => self.on_key_update(now, m),
            (Hs13::Done, NEW_SESSION_TICKET) => Ok(()),
            (Hs13::Done, msg_type::CLIENT_HELLO | msg_type::HELLO_REQUEST) => {
                Err(DtlsError::RenegotiationRefused.into())
            }
            _ => Err(bad()),
        }
    }

    fn client_on_server_hello(&mut self, now: Instant, m: &HandshakeMessage) -> Result<(), Fatal> {
        let sh = ServerHello13::parse(&m.body)?;
        if sh.selected_version != DTLS_1_3 {
            return Err(Fatal(
                DtlsError::NoCommonParameters { what: "version" },
                AlertDescription::IllegalParameter,
            ));
        }
        if sh.cipher_suite != TLS_AES_128_GCM_SHA256 {
            return Err(DtlsError::IllegalParameter {
                what: "cipher suite",
            }
            .into());
        }
        // RFC 8446 §4.1.3: legacy_session_id_echo must equal what we sent (empty).
        if !sh.session_id.is_empty() {
            return Err(DtlsError::IllegalParameter {
                what: "legacy_session_id_echo",
            }
            .into());
        }
        if sh.is_retry() {
            return self.client_on_hello_retry(now, m, sh);
        }
        let Some((group_id, peer_key)) = sh.key_share else {
            return Err(DtlsError::IllegalParameter { what: "key_share" }.into());
        };
        if group_id != self.group.id() {
            return Err(DtlsError::IllegalParameter { what: "key_share" }.into());
        }
        let key = self.ephemeral.take().ok_or(DtlsError::Crypto)?;
        let shared = key.agree(&peer_key)?;
        if self.transcript.is_empty() {
            transcript_message(
                &mut self.transcript,
                msg_type::CLIENT_HELLO,
                &self.client_hello,
            );
        }
        transcript_message(&mut self.transcript, m.msg_type, &m.body);
        self.install_handshake_keys(&shared)?;
        // The ServerHello acknowledges our ClientHello (RFC 9147 §5.8.1 implicit ACK).
        self.flight_done();
        // The rest of the server's flight is the server's to retransmit, but a ServerHello
        // that was not the server's answer (spoofed, or replayed from another handshake) would
        // leave both sides waiting forever: the timer stays armed as a deadline, with nothing
        // to resend, and `handle_timeout` fails the handshake after `max_retransmissions`
        // (learned model, tests/state_machine.rs).
        self.flight_timer = now.checked_add(self.rto);
        self.hs = Hs13::ClientWaitEncryptedExtensions;
        Ok(())
    }

    fn client_on_hello_retry(
        &mut self,
        now: Instant,
        m: &HandshakeMessage,
        hrr: ServerHello13,
    ) -> Result<(), Fatal> {
        // RFC 8446 §4.1.4: a second HelloRetryRequest is an unexpected_message.
        if self.retried {
            return Err(unexpected("second HelloRetryRequest", self.hs));
        }
        self.retried = true;
        let group = match hrr.key_share {
            Some((id, _)) => NamedGroup::from_id(id)
                .filter(|g| self.config.named_groups.contains(g))
                .ok_or(DtlsError::IllegalParameter {
                    what: "HelloRetryRequest group",
                })?,
            None => self.group,
        };
        // RFC 8446 §4.1.4: a HelloRetryRequest that would not change the ClientHello is illegal.
        if group == self.group && hrr.cookie.is_empty() {
            return Err(DtlsError::IllegalParameter {
                what: "HelloRetryRequest without change",
            }
            .into());
        }
        if group != self.group || self.ephemeral.is_none() {
            self.ephemeral = Some(EphemeralKey::generate(group, &mut self.rng));
            self.group = group;
        }
        let public = self
            .ephemeral
            .as_ref()
            .map(EphemeralKey::public_bytes)
            .ok_or(DtlsError::Crypto)?;
        // RFC 8446 §4.4.1: ClientHello1 becomes message_hash(Hash(ClientHello1)).
        let mut ch1 = Vec::with_capacity(self.client_hello.len() + 4);
        transcript_message(&mut ch1, msg_type::CLIENT_HELLO, &self.client_hello);
        self.transcript.clear();
        transcript_message(&mut self.transcript, msg13::MESSAGE_HASH, &keys::hash(&ch1));
        transcript_message(&mut self.transcript, m.msg_type, &m.body);
        let ch2 = rebuild_client_hello(&self.client_hello, group.id(), &public, &hrr.cookie)?;
        transcript_message(&mut self.transcript, msg_type::CLIENT_HELLO, &ch2);
        self.client_hello = ch2.clone();
        self.flight_done();
        let msg = self.new_message(0, msg_type::CLIENT_HELLO, ch2);
        self.start_flight(now, vec![msg])
    }

    fn client_on_encrypted_extensions(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        let mut r = crate::wire::reader::Reader::new(&m.body);
        let block = r.vec16().ok_or(DtlsError::MalformedHandshake {
            message: "EncryptedExtensions",
            at: 0,
        })?;
        if !r.is_empty() {
            return Err(DtlsError::MalformedHandshake {
                message: "EncryptedExtensions",
                at: r.position(),
            }
            .into());
        }
        let exts = HelloExtensions::parse(block)?;
        if let Some(srtp) = &exts.use_srtp {
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
            self.srtp_profile = Some(p);
            self.srtp_mki = srtp.mki.clone();
        }
        transcript_message(&mut self.transcript, m.msg_type, &m.body);
        self.hs = Hs13::ClientWaitCertificateOrRequest;
        Ok(())
    }

    fn check_fingerprint(&mut self) -> Result<(), Fatal> {
        let Some(der) = &self.peer_cert else {
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
            self.fingerprint_ok = true;
            Ok(())
        } else {
            Err(Fatal(
                DtlsError::FingerprintMismatch,
                AlertDescription::BadCertificate,
            ))
        }
    }

    fn on_peer_certificate(&mut self, m: &HandshakeMessage, next: Hs13) -> Result<(), Fatal> {
        let cm = Certificate13::parse(&m.body)?;
        if !cm.context.is_empty() {
            return Err(DtlsError::IllegalParameter {
                what: "certificate_request_context",
            }
            .into());
        }
        let Some(leaf) = cm.chain.into_iter().next() else {
            // RFC 8446 §4.4.2.4: a server that requires a client certificate aborts with
            // certificate_required; WebRTC is always mutual.
            return Err(Fatal(
                DtlsError::NoPeerCertificate,
                AlertDescription::HandshakeFailure,
            ));
        };
        let key = certificate::peer_public_key(&leaf)?;
        self.peer_key = Some(key);
        self.peer_cert = Some(leaf);
        self.check_fingerprint()?;
        transcript_message(&mut self.transcript, m.msg_type, &m.body);
        self.hs = next;
        Ok(())
    }

    fn on_peer_certificate_verify(
        &mut self,
        m: &HandshakeMessage,
        context: &[u8],
    ) -> Result<(), Fatal> {
        let cv = CertificateVerify::parse(&m.body)?;
        if cv.signature_scheme != ECDSA_P256_SHA256 {
            return Err(DtlsError::IllegalParameter {
                what: "signature scheme",
            }
            .into());
        }
        let key = self.peer_key.as_ref().ok_or(DtlsError::NoPeerCertificate)?;
        // RFC 8446 §4.4.3: the signature covers the transcript up to the Certificate.
        let content = signed_content(context, &keys::hash(&self.transcript));
        certificate::verify_signature(key, &content, &cv.signature, "CertificateVerify")?;
        transcript_message(&mut self.transcript, m.msg_type, &m.body);
        Ok(())
    }

    fn verify_finished(&self, base: &Secret, m: &HandshakeMessage) -> Result<(), Fatal> {
        let expect = keys::finished_verify_data(base, &keys::hash(&self.transcript))?;
        // RFC 8446 §4.4.4: a wrong verify_data is a decrypt_error.
        if m.body.len() != HASH_LEN || !bool::from(expect.as_slice().ct_eq(&m.body)) {
            return Err(Fatal(
                DtlsError::BadFinished,
                AlertDescription::DecryptError,
            ));
        }
        Ok(())
    }

    fn client_on_finished(&mut self, now: Instant, m: &HandshakeMessage) -> Result<(), Fatal> {
        let server_hs = self.server_hs;
        self.verify_finished(&server_hs, m)?;
        transcript_message(&mut self.transcript, m.msg_type, &m.body);
        let hs_secret = self.handshake_secret.ok_or(DtlsError::Crypto)?;
        let (c_ap, s_ap, exp) =
            keys::application_secrets(&hs_secret, &keys::hash(&self.transcript))?;
        self.client_ap = c_ap;
        self.server_ap = s_ap;
        self.exporter = Some(exp);
        let mut flight = Vec::new();
        if self.cert_requested {
            flight.extend(self.own_certificate_messages(CLIENT_SIGNATURE_CONTEXT)?);
        }
        let client_hs = self.client_hs;
        let fin = keys::finished_verify_data(&client_hs, &keys::hash(&self.transcript))?;
        transcript_message(&mut self.transcript, msg_type::FINISHED, &fin);
        flight.push(self.new_message(HANDSHAKE_EPOCH, msg_type::FINISHED, fin.to_vec()));
        self.hs = Hs13::Done;
        self.start_flight(now, flight)?;
        // The final flight stays in epoch 2 (kept for retransmission until ACKed); the
        // application keys are in force from now on.
        self.install_application_keys()?;
        self.handshake_complete();
        Ok(())
    }

    fn server_on_finished(&mut self, m: &HandshakeMessage) -> Result<(), Fatal> {
        let client_hs = self.client_hs;
        self.verify_finished(&client_hs, m)?;
        self.hs = Hs13::Done;
        self.flight_done();
        self.install_application_keys()?;
        self.handshake_complete();
        Ok(())
    }

    fn handshake_complete(&mut self) {
        self.transcript = Vec::new();
        self.handshake_secret = None;
        if self.fingerprint_ok {
            self.become_connected();
        } else {
            self.state = DtlsState::AwaitingFingerprint;
        }
    }

    fn become_connected(&mut self) {
        self.state = DtlsState::Connected;
        self.events.push_back(DtlsEvent::Connected);
        while let Some(d) = self.pending_app.pop_front() {
            self.events.push_back(DtlsEvent::ApplicationData(d));
        }
        self.pending_app_bytes = 0;
    }

    fn on_key_update(&mut self, now: Instant, m: &HandshakeMessage) -> Result<(), Fatal> {
        let request = match m.body.as_slice() {
            [0] => false,
            [1] => true,
            _ => {
                return Err(DtlsError::MalformedHandshake {
                    message: "KeyUpdate",
                    at: 0,
                }
                .into());
            }
        };
        // RFC 8446 §4.6.3: the receiver moves its read side to the next traffic secret.
        let epoch = u64::from(m.epoch);
        let cur = self
            .reads
            .iter()
            .find(|r| r.epoch == epoch)
            .map(|r| r.keys.secret)
            .ok_or(DtlsError::Crypto)?;
        let next = keys::next_traffic_secret(&cur)?;
        self.add_read_epoch(epoch.saturating_add(1), &next)?;
        if request {
            if !self.key_update_pending && self.flight.is_empty() {
                self.update_keys(now, false).map_err(Fatal::from)?;
            } else {
                // RFC 8446 §4.6.3: one update of ours answers however many requests arrived.
                self.key_update_owed = !self.key_update_pending;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------- output -------------

    fn own_certificate_messages(&mut self, context: &[u8]) -> Result<Vec<Sent>, DtlsError> {
        let mut cert = Vec::with_capacity(self.config.certificate.der().len() + 16);
        Certificate13 {
            context: Vec::new(),
            chain: vec![self.config.certificate.der().to_vec()],
        }
        .emit(&mut cert);
        let cert_msg = self.new_message(HANDSHAKE_EPOCH, msg_type::CERTIFICATE, cert);
        // Test-only misbehaviour of a client (BAD_INPUT row 21).
        let fault = match self.config.role {
            DtlsRole::Client => self.config.fault.clone(),
            DtlsRole::Server => None,
        };
        if matches!(fault, Some(Fault::OmitCertificateVerify)) {
            return Ok(vec![cert_msg]);
        }
        let content = signed_content(context, &keys::hash(&self.transcript));
        let signature = match &fault {
            Some(Fault::SignCertificateVerifyWith(other)) => other.sign(&content)?,
            _ => self.config.certificate.sign(&content)?,
        };
        let mut cv = Vec::with_capacity(signature.len() + 4);
        CertificateVerify {
            signature_scheme: ECDSA_P256_SHA256,
            signature,
        }
        .emit(&mut cv);
        let cv_msg = self.new_message(HANDSHAKE_EPOCH, msg_type::CERTIFICATE_VERIFY, cv);
        Ok(vec![cert_msg, cv_msg])
    }

    /// A new outgoing handshake message. During the handshake it enters the transcript,
    /// except the client's ClientHello and both Finished messages, which their callers add.
    fn new_message(&mut self, epoch: u64, msg_type: u8, body: Vec<u8>) -> Sent {
        let seq = self.next_send_seq;
        self.next_send_seq = seq.wrapping_add(1);
        let skip = self.hs == Hs13::Done
            || msg_type == msg13::KEY_UPDATE
            || msg_type == msg_type::FINISHED
            || msg_type == msg_type::CLIENT_HELLO;
        if !skip {
            transcript_message(&mut self.transcript, msg_type, &body);
        }
        Sent {
            epoch,
            msg_type,
            message_seq: seq,
            body,
            acked: Vec::new(),
            fragments: Vec::new(),
        }
    }

    fn start_flight(&mut self, now: Instant, flight: Vec<Sent>) -> Result<(), Fatal> {
        self.flight = flight;
        self.sent_records.clear();
        self.rto = self.config.initial_retransmit_timeout;
        self.retransmissions = 0;
        self.flight_timer = now.checked_add(self.rto);
        self.emit_flight()
    }

    fn flight_done(&mut self) {
        self.flight.clear();
        self.sent_records.clear();
        self.flight_timer = None;
        self.retransmissions = 0;
        self.rto = self.config.initial_retransmit_timeout;
    }

    /// (Re)send every message of the flight not yet acknowledged, fragmented to the MTU.
    fn emit_flight(&mut self) -> Result<(), Fatal> {
        let flight = std::mem::take(&mut self.flight);
        let mut result = Ok(());
        let mut updated = flight;
        for (i, m) in updated.iter_mut().enumerate() {
            if m.is_acked() {
                continue;
            }
            let overhead = if m.epoch == 0 {
                RECORD_HEADER_LEN
            } else {
                w::UNIFIED_HEADER_LEN + 1 + TAG_LEN
            } + HANDSHAKE_HEADER_LEN;
            let room = self.config.mtu.saturating_sub(overhead).max(16);
            let total = m.body.len();
            let mut offset = 0usize;
            let mut offsets = Vec::new();
            loop {
                let len = room.min(total.saturating_sub(offset));
                let data = m
                    .body
                    .get(offset..offset.saturating_add(len))
                    .unwrap_or(&[]);
                let mut frag = Vec::with_capacity(HANDSHAKE_HEADER_LEN + len);
                let off32 = u32::try_from(offset).unwrap_or(u32::MAX);
                HandshakeHeader {
                    msg_type: m.msg_type,
                    length: u32::try_from(total).unwrap_or(0x00ff_ffff),
                    message_seq: m.message_seq,
                    fragment_offset: off32,
                    fragment_length: u32::try_from(len).unwrap_or(0),
                }
                .emit(&mut frag);
                frag.extend_from_slice(data);
                match self.write_record(m.epoch, ContentType::Handshake.code(), &frag) {
                    Ok(rn) => {
                        if self.sent_records.len() >= MAX_SENT_RECORDS {
                            self.sent_records.pop_front();
                        }
                        self.sent_records.push_back((rn, i, off32));
                    }
                    Err(e) => {
                        result = Err(Fatal::from(e));
                        break;
                    }
                }
                offsets.push(off32);
                offset = offset.saturating_add(len);
                if offset >= total {
                    break;
                }
            }
            m.fragments = offsets;
        }
        self.flight = updated;
        result
    }

    /// Write one record of `epoch` (0: plaintext; else protected with a unified header),
    /// coalesced into the last queued datagram when it fits the MTU.
    fn write_record(
        &mut self,
        epoch: u64,
        content_type: u8,
        payload: &[u8],
    ) -> Result<RecordNumber, DtlsError> {
        let mut rec = Vec::with_capacity(payload.len() + 32);
        let rn;
        if epoch == 0 {
            let seq = self.epoch0_seq;
            if seq > MAX_SEQUENCE {
                return Err(DtlsError::SequenceNumberExhausted);
            }
            let ct = ContentType::from_code(content_type).ok_or(DtlsError::Crypto)?;
            RecordHeader {
                content_type: ct,
                version: DTLS_1_2,
                epoch: 0,
                sequence: seq,
                length: u16::try_from(payload.len())
                    .map_err(|_| DtlsError::RecordTooLarge { len: payload.len() })?,
            }
            .emit(&mut rec);
            rec.extend_from_slice(payload);
            self.epoch0_seq = seq + 1;
            rn = RecordNumber {
                epoch: 0,
                sequence: seq,
            };
        } else {
            let we = self
                .writes
                .iter_mut()
                .find(|w| w.epoch == epoch)
                .ok_or(DtlsError::NotConnected)?;
            let seq = we.next_seq;
            // The sequence number never wraps within an epoch; this endpoint caps it at
            // 2^48-1 as in DTLS 1.2 (a KeyUpdate starts a fresh epoch at 0).
            if seq > MAX_SEQUENCE {
                return Err(DtlsError::SequenceNumberExhausted);
            }
            let len = payload.len() + 1 + TAG_LEN;
            let len16 = u16::try_from(len).map_err(|_| DtlsError::RecordTooLarge { len })?;
            let seq16 = (seq & 0xffff) as u16;
            // RFC 9147 §4: 0b001CSLEE with C=0 (no CID), S=1 (16-bit sequence), L=1 (length).
            let first = 0x2c | u8::try_from(epoch & 3).unwrap_or(0);
            let mut header = [first, 0, 0, 0, 0];
            header[1..3].copy_from_slice(&seq16.to_be_bytes());
            header[3..5].copy_from_slice(&len16.to_be_bytes());
            let mut inner = Vec::with_capacity(len);
            inner.extend_from_slice(payload);
            inner.push(content_type);
            // RFC 9147 §4: the additional data is the header with the plaintext sequence number.
            we.keys.seal(seq, &header, &mut inner)?;
            let mask = we.keys.mask(&inner)?;
            header[1] ^= mask[0];
            header[2] ^= mask[1];
            we.next_seq = seq + 1;
            rec.extend_from_slice(&header);
            rec.extend_from_slice(&inner);
            rn = RecordNumber {
                epoch,
                sequence: seq,
            };
        }
        let mut dgram = match self.out.pop_back() {
            Some(last) if last.len() + rec.len() <= self.config.mtu => last,
            Some(last) => {
                self.out.push_back(last);
                Vec::with_capacity(rec.len())
            }
            None => Vec::with_capacity(rec.len()),
        };
        dgram.extend_from_slice(&rec);
        self.out.push_back(dgram);
        Ok(rn)
    }

    fn flush_acks(&mut self) {
        if self.to_ack.is_empty() || self.write_epoch < HANDSHAKE_EPOCH {
            return;
        }
        let mut acks = std::mem::take(&mut self.to_ack);
        acks.sort();
        // RFC 9147 §7: an ACK is sent in an epoch at least as high as the records it covers.
        let epoch = self.write_epoch;
        let mut body = Vec::with_capacity(2 + acks.len() * 16);
        w::emit_ack(&acks, &mut body);
        let _ = self.write_record(epoch, CONTENT_TYPE_ACK, &body);
    }

    fn send_alert(&mut self, alert: Alert) -> Result<(), DtlsError> {
        let epoch = self.write_epoch;
        let body = alert.emit();
        if epoch == 0 {
            return self
                .write_record(0, ContentType::Alert.code(), &body)
                .map(|_| ());
        }
        self.write_record(epoch, ContentType::Alert.code(), &body)
            .map(|_| ())
    }

    fn stop_buffers(&mut self) {
        self.reasm.clear_buffers();
        self.flight.clear();
        self.sent_records.clear();
        self.flight_timer = None;
        self.to_ack.clear();
        self.pending_app.clear();
        self.pending_app_bytes = 0;
    }

    pub(crate) fn fail(&mut self, f: Fatal) {
        let Fatal(err, alert) = f;
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return;
        }
        let _ = self.send_alert(Alert::fatal(alert));
        self.state = DtlsState::Failed;
        self.stop_buffers();
        self.exporter = None;
        self.transcript = Vec::new();
        self.events.push_back(DtlsEvent::Failed(err));
    }
}

/// The second ClientHello: the first one with its key_share replaced and the cookie added
/// (RFC 8446 §4.1.2), everything else byte for byte the same.
fn rebuild_client_hello(
    ch1: &[u8],
    group: u16,
    public: &[u8],
    cookie: &[u8],
) -> Result<Vec<u8>, DtlsError> {
    let block = w::client_hello_extensions(ch1).ok_or(DtlsError::Crypto)?;
    let prefix_len = ch1
        .len()
        .checked_sub(block.len() + 2)
        .ok_or(DtlsError::Crypto)?;
    let exts = w::raw_extensions(block)?;
    let mut new_block = Vec::with_capacity(block.len() + cookie.len() + 64);
    for (t, b) in exts {
        if t == ext13::SUPPORTED_VERSIONS || t == ext13::KEY_SHARE || t == ext13::COOKIE {
            continue;
        }
        w::put_extension(&mut new_block, t, b);
    }
    new_block.extend_from_slice(&w::client_offer_extensions(group, public, cookie));
    let mut out = ch1.get(..prefix_len).ok_or(DtlsError::Crypto)?.to_vec();
    put_vec16(&mut out, &new_block);
    Ok(out)
}
