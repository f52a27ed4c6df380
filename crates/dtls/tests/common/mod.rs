//! A deterministic two-party harness on virtual time with a small impaired channel.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tern_dtls::{Certificate, DtlsConfig, DtlsEndpoint, DtlsEvent, DtlsRole, HashAlgorithm};

/// Channel impairments (per direction).
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    pub loss: f64,
    pub duplicate: f64,
    /// Extra random delay 0..reorder, so later datagrams may overtake earlier ones.
    pub reorder: Duration,
    pub delay: Duration,
    /// Datagrams larger than this are dropped (and counted as violations).
    pub mtu: usize,
}

impl Impairment {
    pub fn perfect() -> Self {
        Impairment {
            loss: 0.0,
            duplicate: 0.0,
            reorder: Duration::ZERO,
            delay: Duration::from_millis(5),
            mtu: 65535,
        }
    }
}

pub fn certs(seed: u8) -> (Certificate, Certificate) {
    let mut rng = StdRng::from_seed([seed; 32]);
    (
        Certificate::generate_with_rng(&mut rng).unwrap(),
        Certificate::generate_with_rng(&mut rng).unwrap(),
    )
}

/// Client and server configs that trust each other, with deterministic seeds.
pub fn configs(seed: u8) -> (DtlsConfig, DtlsConfig) {
    let (ca, cb) = certs(seed);
    let mut c = DtlsConfig::new(DtlsRole::Client, ca.clone());
    c.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256)];
    c.rng_seed = Some([seed.wrapping_add(1); 32]);
    let mut s = DtlsConfig::new(DtlsRole::Server, cb);
    s.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256)];
    s.rng_seed = Some([seed.wrapping_add(2); 32]);
    (c, s)
}

pub struct InFlight {
    at: Instant,
    to_server: bool,
    data: Vec<u8>,
}

pub struct Pair {
    pub client: DtlsEndpoint,
    pub server: DtlsEndpoint,
    pub start: Instant,
    pub now: Instant,
    pub imp: Impairment,
    rng: StdRng,
    wire: Vec<InFlight>,
    pub client_events: Vec<DtlsEvent>,
    pub server_events: Vec<DtlsEvent>,
    /// Every datagram each side sent: (time, to_server, bytes).
    pub sent: Vec<(Instant, bool, Vec<u8>)>,
    pub oversize: usize,
}

impl Pair {
    #[allow(clippy::disallowed_methods)] // one real Instant as the origin of virtual time
    pub fn new(client: DtlsConfig, server: DtlsConfig, imp: Impairment, seed: u64) -> Pair {
        let start = Instant::now();
        let client = DtlsEndpoint::new(client, start).unwrap();
        let server = DtlsEndpoint::new(server, start).unwrap();
        Pair {
            client,
            server,
            start,
            now: start,
            imp,
            rng: StdRng::seed_from_u64(seed),
            wire: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            sent: Vec::new(),
            oversize: 0,
        }
    }

    pub fn perfect(seed: u8) -> Pair {
        let (c, s) = configs(seed);
        Pair::new(c, s, Impairment::perfect(), u64::from(seed))
    }

    fn queue(&mut self, to_server: bool, data: Vec<u8>) {
        self.sent.push((self.now, to_server, data.clone()));
        if data.len() > self.imp.mtu {
            self.oversize += 1;
            return;
        }
        if self.rng.gen_bool(self.imp.loss) {
            return;
        }
        let copies = if self.rng.gen_bool(self.imp.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = if self.imp.reorder.is_zero() {
                Duration::ZERO
            } else {
                Duration::from_micros(self.rng.gen_range(0..self.imp.reorder.as_micros() as u64))
            };
            self.wire.push(InFlight {
                at: self.now + self.imp.delay + jitter,
                to_server,
                data: data.clone(),
            });
        }
    }

    /// Drain outputs of both endpoints into the channel and their events into the logs.
    pub fn drain(&mut self) {
        while let Some(d) = self.client.poll_transmit() {
            self.queue(true, d);
        }
        while let Some(d) = self.server.poll_transmit() {
            self.queue(false, d);
        }
        while let Some(e) = self.client.poll_event() {
            self.client_events.push(e);
        }
        while let Some(e) = self.server.poll_event() {
            self.server_events.push(e);
        }
    }

    /// Advance to the next delivery or timer and process it. Returns false when nothing is left.
    pub fn step(&mut self) -> bool {
        self.drain();
        let next_wire = self.wire.iter().map(|f| f.at).min();
        let next = [
            next_wire,
            self.client.poll_timeout(),
            self.server.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return false };
        if next > self.now {
            self.now = next;
        }
        let now = self.now;
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.wire.len() {
            if self.wire[i].at <= now {
                due.push(self.wire.remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|f| f.at);
        for f in due {
            if f.to_server {
                let _ = self.server.handle_receive(now, &f.data);
            } else {
                let _ = self.client.handle_receive(now, &f.data);
            }
        }
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        if self.server.poll_timeout().is_some_and(|t| t <= now) {
            self.server.handle_timeout(now);
        }
        self.drain();
        true
    }

    /// Run until `cond` or until `limit` of virtual time passed.
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&Pair) -> bool) -> bool {
        let end = self.start + limit;
        loop {
            self.drain();
            if cond(self) {
                return true;
            }
            if self.now > end || !self.step() {
                self.drain();
                return cond(self);
            }
        }
    }

    pub fn connect(&mut self) -> bool {
        self.run_until(Duration::from_secs(600), |p| {
            p.client.is_connected() && p.server.is_connected()
        })
    }
}

// ---- crafting records -------------------------------------------------------------------

use tern_dtls::wire::handshake::{HandshakeHeader, emit_message, parse_fragment};
use tern_dtls::wire::record::{ContentType, RecordHeader, split_records};

/// A plaintext record.
pub fn record(ct: ContentType, epoch: u16, seq: u64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    RecordHeader {
        content_type: ct,
        version: 0xfefd,
        epoch,
        sequence: seq,
        length: body.len() as u16,
    }
    .emit(&mut out);
    out.extend_from_slice(body);
    out
}

/// An epoch-0 record holding one whole handshake message.
pub fn hs_record(rec_seq: u64, msg_type: u8, msg_seq: u16, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    emit_message(&mut m, msg_type, msg_seq, body);
    record(ContentType::Handshake, 0, rec_seq, &m)
}

/// An epoch-0 record holding one fragment.
pub fn fragment_record(rec_seq: u64, h: HandshakeHeader, data: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    h.emit(&mut m);
    m.extend_from_slice(data);
    record(ContentType::Handshake, 0, rec_seq, &m)
}

/// Whole (unfragmented) epoch-0 handshake messages in some datagrams: (type, message_seq, body).
pub fn messages(datagrams: &[Vec<u8>]) -> Vec<(u8, u16, Vec<u8>)> {
    let mut out = Vec::new();
    for d in datagrams {
        for r in split_records(d) {
            let r = r.unwrap();
            if r.header.epoch != 0 || r.header.content_type != ContentType::Handshake {
                continue;
            }
            let mut pos = 0;
            while pos < r.body.len() {
                let (f, used) = parse_fragment(&r.body[pos..], pos).unwrap();
                assert_eq!(
                    f.header.fragment_length, f.header.length,
                    "fragmented; raise the MTU"
                );
                out.push((f.header.msg_type, f.header.message_seq, f.data.to_vec()));
                pos += used;
            }
        }
    }
    out
}

/// Drain an endpoint's transmits.
pub fn drain(ep: &mut DtlsEndpoint) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| ep.poll_transmit()).collect()
}

/// Drain an endpoint's events.
pub fn events(ep: &mut DtlsEndpoint) -> Vec<DtlsEvent> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

/// Deliver every datagram to `ep`, ignoring per-datagram errors.
pub fn deliver(ep: &mut DtlsEndpoint, now: Instant, ds: &[Vec<u8>]) {
    for d in ds {
        let _ = ep.handle_receive(now, d);
    }
}

/// Ping-pong between two endpoints without impairment until nothing moves.
pub fn exchange(a: &mut DtlsEndpoint, b: &mut DtlsEndpoint, now: Instant) {
    for _ in 0..20 {
        let da = drain(a);
        let db = drain(b);
        if da.is_empty() && db.is_empty() {
            return;
        }
        deliver(b, now, &da);
        deliver(a, now, &db);
    }
}
