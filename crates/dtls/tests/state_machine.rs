//! BAD_INPUT row 20, systematically: learned state machines of the DTLS 1.2 and 1.3 client and
//! server, in the manner of DTLS-Fuzzer / TLS-Attacker (Java tools that need Maven Central; this
//! is the same method in Rust, on the crate's seeded, deterministic endpoints).
//!
//! An honest client/server pair (mutual certificates, cookie exchange) runs step by step: the
//! peer's flights are cut into single records, one handshake message each (DTLS 1.3 ciphertext
//! records stay whole), and the endpoint under test (the "SUT") gets them one at a time. Every
//! position of that honest run is a state. In each state a fresh pair is driven there again and
//! one input of the alphabet is injected: every plaintext handshake message of the honest run
//! (both directions, renumbered to the message_seq the SUT expects), HelloRequest, a zero
//! Finished in epoch 0, ChangeCipherSpec, warning and fatal alerts, application data in epoch 0,
//! every authentic encrypted record of the honest run and captured application data and
//! renegotiation requests, a MAC-corrupted record, records of unknown epochs, the next honest
//! message with a future message_seq, fragmented in reverse order or half of it, a duplicate of
//! the previous record and replays of every earlier flight. The reaction (returned error,
//! datagrams sent, events, internal state) is one row of the model; then the honest handshake
//! continues and its outcome is recorded too. The DTLS 1.2 models run a second time with the
//! SUT's peer fingerprint given only after its handshake (`AwaitingFingerprint`).
//!
//! Invariants checked on every row: no panic; `Connected` only on a genuine record of the honest
//! run and only with the reference keys, no key export before it; a record rejected with `Err`
//! and nothing sent changes nothing (the honest continuation then completes exactly as without
//! it); after a failure the endpoint stays failed and sends nothing more; no application data
//! but the peer's is ever delivered, none before `Connected`; no trial ends stalled. The rows are
//! compared with the committed snapshots `tests/vectors/state_machine_*.txt`;
//! `TERN_BLESS=1 cargo test -p tern-dtls --test state_machine` rewrites them after a reviewed
//! behaviour change. Random walks (several inputs interleaved with honest records, from random
//! states) check the same invariants beyond single injections.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// One real Instant is the origin of virtual time.
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{configs, fragment_record, hs_record, record};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tern_dtls::wire::dtls13::{
    HELLO_RETRY_REQUEST_RANDOM, is_unified_header, parse_unified_header,
};
use tern_dtls::wire::handshake::{HandshakeHeader, msg_type, parse_fragment};
use tern_dtls::wire::record::{ContentType, parse_record, split_records};
use tern_dtls::{Alert, AlertLevel, DtlsConfig, DtlsEndpoint, DtlsEvent, DtlsState, Fingerprint};

const EXPORT_LABEL: &str = "EXTRACTOR-dtls_srtp";
const SEED: u8 = 70;

// ---- one honest peer record, as the SUT receives it -------------------------------------

#[derive(Clone, Debug)]
struct Unit {
    label: String,
    /// (msg_type, message_seq, body) of a plaintext handshake message.
    msg: Option<(u8, u16, Vec<u8>)>,
    /// The datagram carrying it.
    bytes: Vec<u8>,
    /// Which peer flight it came in.
    flight: usize,
}

fn abbrev(t: u8) -> &'static str {
    match t {
        msg_type::HELLO_REQUEST => "HR",
        msg_type::CLIENT_HELLO => "CH",
        msg_type::SERVER_HELLO => "SH",
        msg_type::HELLO_VERIFY_REQUEST => "HVR",
        msg_type::CERTIFICATE => "Cert",
        msg_type::SERVER_KEY_EXCHANGE => "SKE",
        msg_type::CERTIFICATE_REQUEST => "CR",
        msg_type::SERVER_HELLO_DONE => "SHD",
        msg_type::CERTIFICATE_VERIFY => "CV",
        msg_type::CLIENT_KEY_EXCHANGE => "CKE",
        msg_type::FINISHED => "Fin",
        _ => "HS?",
    }
}

fn raw_record(h: &tern_dtls::wire::record::RecordHeader, body: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    h.emit(&mut raw);
    raw.extend_from_slice(body);
    raw
}

fn label_of(t: u8, body: &[u8]) -> String {
    if t == msg_type::SERVER_HELLO && body.get(2..34) == Some(&HELLO_RETRY_REQUEST_RANDOM[..]) {
        return "HRR".into();
    }
    abbrev(t).to_string()
}

/// Cut a datagram into single-record, single-message datagrams. DTLS 1.3 ciphertext records
/// (unified header) stay whole.
fn split_units(d: &[u8], flight: usize) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < d.len() {
        let rest = &d[at..];
        if is_unified_header(rest[0]) {
            let h = parse_unified_header(rest, at).unwrap();
            let len = h.header_len + h.record_len;
            out.push(Unit {
                label: format!("Cipher@E{}", h.epoch_bits),
                msg: None,
                bytes: rest[..len].to_vec(),
                flight,
            });
            at += len;
            continue;
        }
        let (r, used) = parse_record(rest, at).unwrap();
        at += used;
        let h = r.header;
        let raw = raw_record(&h, r.body);
        match (h.epoch, h.content_type) {
            (0, ContentType::Handshake) => {
                let mut pos = 0;
                let mut frags = Vec::new();
                while pos < r.body.len() {
                    let (f, used) = parse_fragment(&r.body[pos..], pos).unwrap();
                    assert_eq!(
                        f.header.fragment_length, f.header.length,
                        "honest run must not fragment (raise the MTU)"
                    );
                    frags.push((f.header.msg_type, f.header.message_seq, f.data.to_vec()));
                    pos += used;
                }
                let single = frags.len() == 1;
                for (t, seq, body) in frags {
                    let bytes = if single {
                        raw.clone()
                    } else {
                        hs_record(h.sequence, t, seq, &body)
                    };
                    out.push(Unit {
                        label: label_of(t, &body),
                        msg: Some((t, seq, body)),
                        bytes,
                        flight,
                    });
                }
            }
            (0, ContentType::ChangeCipherSpec) => out.push(Unit {
                label: "CCS".into(),
                msg: None,
                bytes: raw,
                flight,
            }),
            (e, ct) => out.push(Unit {
                label: format!("{ct:?}@E{e}"),
                msg: None,
                bytes: raw,
                flight,
            }),
        }
    }
    out
}

// ---- a pair driven record by record ------------------------------------------------------

struct Trial {
    sut: DtlsEndpoint,
    peer: DtlsEndpoint,
    now: Instant,
    queue: VecDeque<Unit>,
    delivered: Vec<Unit>,
    flights: usize,
    sut_sent: Vec<Vec<u8>>,
    peer_sent: Vec<Vec<u8>>,
    sut_events: Vec<DtlsEvent>,
    peer_events: Vec<DtlsEvent>,
    /// Index into `sut_sent` when the SUT failed or closed.
    sut_dead_at: Option<usize>,
    /// Reference keys: whenever the SUT is connected its exporter must give these.
    ref_keys: Option<Vec<u8>>,
    /// The fingerprint the application hands the SUT only once its handshake is done
    /// (`AwaitingFingerprint`), as WebRTC does when the answer arrives late.
    late_fp: Option<Fingerprint>,
}

impl Trial {
    fn new(sut_cfg: &DtlsConfig, peer_cfg: &DtlsConfig, t0: Instant) -> Trial {
        let mut t = Trial {
            sut: DtlsEndpoint::new(sut_cfg.clone(), t0).unwrap(),
            peer: DtlsEndpoint::new(peer_cfg.clone(), t0).unwrap(),
            now: t0,
            queue: VecDeque::new(),
            delivered: Vec::new(),
            flights: 0,
            sut_sent: Vec::new(),
            peer_sent: Vec::new(),
            sut_events: Vec::new(),
            peer_events: Vec::new(),
            sut_dead_at: None,
            ref_keys: None,
            late_fp: None,
        };
        t.pump();
        t
    }

    fn drain_sut(&mut self) -> Vec<Vec<u8>> {
        let out: Vec<Vec<u8>> = std::iter::from_fn(|| self.sut.poll_transmit()).collect();
        if let Some(at) = self.sut_dead_at {
            // After a failure or close the endpoint sends nothing more (its last alert went
            // out in the same call that failed it).
            assert!(
                out.is_empty(),
                "SUT sent {} datagrams after it failed (first at {at})",
                out.len()
            );
        }
        self.sut_sent.extend(out.iter().cloned());
        let evs: Vec<DtlsEvent> = std::iter::from_fn(|| self.sut.poll_event()).collect();
        for e in &evs {
            if matches!(e, DtlsEvent::Failed(_) | DtlsEvent::Closed) && self.sut_dead_at.is_none() {
                self.sut_dead_at = Some(self.sut_sent.len());
            }
        }
        self.sut_events.extend(evs);
        self.check_keys();
        out
    }

    fn check_keys(&self) {
        if self.sut.is_connected() {
            let k = self.sut.export_keying_material(EXPORT_LABEL, 60).unwrap();
            if let Some(r) = &self.ref_keys {
                assert_eq!(&k, r, "SUT connected with other keys than the honest run's");
            }
        } else {
            assert!(
                self.sut.export_keying_material(EXPORT_LABEL, 60).is_err(),
                "keys exported before Connected"
            );
        }
        if matches!(self.sut.state(), DtlsState::Failed | DtlsState::Closed) {
            assert!(
                self.sut_events
                    .iter()
                    .any(|e| matches!(e, DtlsEvent::Failed(_) | DtlsEvent::Closed))
            );
        }
    }

    fn drain_peer(&mut self) -> Vec<Vec<u8>> {
        let out: Vec<Vec<u8>> = std::iter::from_fn(|| self.peer.poll_transmit()).collect();
        self.peer_sent.extend(out.iter().cloned());
        self.peer_events
            .extend(std::iter::from_fn(|| self.peer.poll_event()));
        out
    }

    fn deliver_to_peer(&mut self, ds: &[Vec<u8>]) {
        for d in ds {
            let _ = self.peer.handle_receive(self.now, d);
        }
    }

    /// SUT output to the peer, peer output cut into units onto the queue, until quiet.
    fn pump(&mut self) {
        loop {
            let out = self.drain_sut();
            self.deliver_to_peer(&out);
            let batch = self.drain_peer();
            if out.is_empty() && batch.is_empty() {
                return;
            }
            if !batch.is_empty() {
                for d in &batch {
                    self.queue.extend(split_units(d, self.flights));
                }
                self.flights += 1;
            }
        }
    }

    /// Deliver the next honest unit.
    fn step(&mut self) {
        let u = self.queue.pop_front().expect("honest run ended early");
        let _ = self.sut.handle_receive(self.now, &u.bytes);
        self.delivered.push(u);
        self.pump();
    }

    /// Finish the honest handshake from here, timers included, and name the outcome.
    fn finish(&mut self) -> String {
        let deadline = self.now + Duration::from_secs(120);
        let mut timers = 0;
        loop {
            while let Some(u) = self.queue.pop_front() {
                let _ = self.sut.handle_receive(self.now, &u.bytes);
                self.delivered.push(u);
                self.pump();
            }
            if self.sut.state() == DtlsState::AwaitingFingerprint
                && let Some(fp) = self.late_fp.take()
            {
                self.sut.set_remote_fingerprints(vec![fp]);
                self.pump();
                continue;
            }
            if self.sut.is_connected() && self.peer.is_connected() || self.sut_dead_at.is_some() {
                break;
            }
            let next = [self.sut.poll_timeout(), self.peer.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { break };
            if next > deadline {
                break;
            }
            self.now = self.now.max(next);
            timers += 1;
            if self.sut.poll_timeout().is_some_and(|t| t <= self.now) {
                self.sut.handle_timeout(self.now);
            }
            if self.peer.poll_timeout().is_some_and(|t| t <= self.now) {
                self.peer.handle_timeout(self.now);
            }
            self.pump();
        }
        let after = if timers == 0 {
            String::new()
        } else {
            format!(" after {timers} timeouts")
        };
        let sut = self.sut.state();
        let peer = self.peer.state();
        if self.sut.is_connected() && self.peer.is_connected() {
            let ks = self.sut.export_keying_material(EXPORT_LABEL, 60).unwrap();
            let kp = self.peer.export_keying_material(EXPORT_LABEL, 60).unwrap();
            assert_eq!(ks, kp, "connected with different keys");
            if let Some(r) = &self.ref_keys {
                assert_eq!(&ks, r, "recovered with other keys than the honest run's");
            }
            // Data flows both ways, and nothing forged was ever delivered. (Past the sequence
            // numbers of the captured records, which may have moved the SUT's window.)
            self.peer.set_next_write_sequence_for_test(3000);
            self.peer.send_application_data(b"after").unwrap();
            self.pump();
            while let Some(u) = self.queue.pop_front() {
                let _ = self.sut.handle_receive(self.now, &u.bytes);
                self.pump();
            }
            let got: Vec<&[u8]> = self
                .sut_events
                .iter()
                .filter_map(|e| match e {
                    DtlsEvent::ApplicationData(d) => Some(d.as_slice()),
                    _ => None,
                })
                .collect();
            assert!(got.contains(&&b"after"[..]), "data after recovery: {got:?}");
            assert!(
                got.iter()
                    .all(|d| *d == b"after" || d.starts_with(b"captured")),
                "forged data delivered: {got:?}"
            );
            let connected_at = self
                .sut_events
                .iter()
                .position(|e| *e == DtlsEvent::Connected)
                .unwrap();
            assert!(
                !self.sut_events[..connected_at]
                    .iter()
                    .any(|e| matches!(e, DtlsEvent::ApplicationData(_))),
                "data delivered before Connected"
            );
            assert_eq!(
                self.sut_events
                    .iter()
                    .filter(|e| **e == DtlsEvent::Connected)
                    .count(),
                1
            );
            self.sut.send_application_data(b"back").unwrap();
            let out = self.drain_sut();
            self.deliver_to_peer(&out);
            self.drain_peer();
            assert!(
                self.peer_events
                    .contains(&DtlsEvent::ApplicationData(b"back".to_vec()))
            );
            return format!("recovers{after}");
        }
        // Once dead, the SUT stays dead and silent: feed it the whole honest run again.
        if matches!(sut, DtlsState::Failed | DtlsState::Closed) {
            for d in self.peer_sent.clone() {
                assert!(self.sut.handle_receive(self.now, &d).is_err());
            }
            self.drain_sut();
            assert_eq!(self.sut.state(), sut);
            let why = self
                .sut_events
                .iter()
                .find_map(|e| match e {
                    DtlsEvent::Failed(e) => Some(variant(&format!("{e:?}"))),
                    _ => None,
                })
                .unwrap_or_else(|| "close_notify".into());
            let verb = if sut == DtlsState::Failed {
                "fails"
            } else {
                "closed"
            };
            return format!("SUT {verb} ({why}){after}");
        }
        if peer == DtlsState::Failed {
            let why = self
                .peer_events
                .iter()
                .find_map(|e| match e {
                    DtlsEvent::Failed(e) => Some(variant(&format!("{e:?}"))),
                    _ => None,
                })
                .unwrap_or_default();
            return format!("peer fails ({why}){after}");
        }
        if peer == DtlsState::Closed {
            return format!("peer closed{after}");
        }
        format!(
            "STALLED (SUT {:?} '{}', peer {:?})",
            sut,
            self.sut.handshake_state_name(),
            peer
        )
    }
}

/// The variant name of a Debug-printed enum value.
fn variant(s: &str) -> String {
    s.split([' ', '{', '(']).next().unwrap_or(s).to_string()
}

fn alert_name(a: &Alert) -> String {
    let level = match a.level {
        AlertLevel::Warning => "warning",
        AlertLevel::Fatal => "fatal",
    };
    format!("{level} {:?}", a.description)
}

/// Datagrams the SUT sent, as record names; `rtx[..]` when all its handshake messages were
/// sent before (a retransmitted flight).
fn describe_out(out: &[Vec<u8>], earlier: &[Vec<u8>]) -> String {
    if out.is_empty() {
        return "-".into();
    }
    let sent_before: HashSet<(u8, u16)> = earlier
        .iter()
        .flat_map(|d| split_units(d, 0))
        .filter_map(|u| u.msg.map(|(t, s, _)| (t, s)))
        .collect();
    let mut names = Vec::new();
    let mut all_old = true;
    let mut any_hs = false;
    for d in out {
        for u in split_units(d, 0) {
            if let Some((t, s, _)) = &u.msg {
                any_hs = true;
                all_old &= sent_before.contains(&(*t, *s));
                names.push(u.label.clone());
            } else if u.label == "Alert@E0" {
                let r = split_records(&u.bytes).next().unwrap().unwrap();
                let a = Alert::parse(r.body).unwrap();
                names.push(format!("Alert({})", alert_name(&a)));
            } else {
                names.push(u.label.clone());
            }
        }
    }
    let list = names.join(" ");
    if any_hs && all_old {
        format!("rtx[{list}]")
    } else {
        format!("[{list}]")
    }
}

fn describe_events(evs: &[DtlsEvent]) -> String {
    if evs.is_empty() {
        return "-".into();
    }
    evs.iter()
        .map(|e| match e {
            DtlsEvent::Connected => "Connected".to_string(),
            DtlsEvent::ApplicationData(d) => format!("Data({})", d.len()),
            DtlsEvent::Closed => "Closed".into(),
            DtlsEvent::AlertReceived(a) => format!("got({})", alert_name(a)),
            DtlsEvent::Failed(e) => format!("Failed({})", variant(&format!("{e:?}"))),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn state_name(ep: &DtlsEndpoint) -> String {
    match ep.state() {
        DtlsState::Failed => "FAILED".into(),
        DtlsState::Closed => "CLOSED".into(),
        DtlsState::Connected => format!("{} (connected)", ep.handshake_state_name()),
        _ => ep.handshake_state_name().to_string(),
    }
}

// ---- reference material from one honest run ---------------------------------------------

struct Material {
    /// (name, msg_type, body) of every plaintext handshake message of the honest run.
    msgs: Vec<(String, u8, Vec<u8>)>,
    /// Authentic encrypted records: the honest run's, then captured application data and
    /// renegotiation requests at sequence numbers the trials never reach by themselves.
    records: Vec<(String, Vec<u8>)>,
    keys: Vec<u8>,
}

fn material(client: &DtlsConfig, server: &DtlsConfig, t0: Instant) -> Material {
    // SUT = server here; which side is "SUT" does not matter for an honest run.
    let mut t = Trial::new(server, client, t0);
    while !t.queue.is_empty() {
        t.step();
    }
    assert!(t.sut.is_connected() && t.peer.is_connected());
    let dtls13 = t.sut.is_dtls13();
    let keys = t.sut.export_keying_material(EXPORT_LABEL, 60).unwrap();
    let mut msgs = Vec::new();
    let mut records = Vec::new();
    for (side, ds) in [("C", &t.peer_sent), ("S", &t.sut_sent)] {
        let mut n = 0;
        for d in ds {
            for u in split_units(d, 0) {
                let Some((ty, _, body)) = u.msg else {
                    if u.label == "Handshake@E1" {
                        records.push((format!("Fin({side},E1)"), u.bytes));
                    } else if u.label.starts_with("Cipher") {
                        n += 1;
                        records.push((format!("{side}:{}#{n}", u.label), u.bytes));
                    }
                    continue;
                };
                let mut name = u.label.clone();
                if ty == msg_type::CERTIFICATE {
                    name = format!("Cert({side})");
                }
                if ty == msg_type::CLIENT_HELLO && msgs.iter().any(|(n, _, _)| n == "CH") {
                    name = "CH+cookie".into();
                }
                if !msgs.iter().any(|(n, _, b)| *n == name && *b == body) {
                    msgs.push((name, ty, body));
                }
            }
        }
    }
    let one = |ep: &mut DtlsEndpoint, f: &dyn Fn(&mut DtlsEndpoint)| {
        f(ep);
        let d: Vec<Vec<u8>> = std::iter::from_fn(|| ep.poll_transmit()).collect();
        assert_eq!(d.len(), 1);
        d.into_iter().next().unwrap()
    };
    let e = if dtls13 { 3 } else { 1 };
    records.push((
        format!("AppData(C,E{e})"),
        one(&mut t.peer, &|ep| {
            ep.set_next_write_sequence_for_test(1000);
            ep.send_application_data(b"captured from client").unwrap();
        }),
    ));
    records.push((
        format!("AppData(S,E{e})"),
        one(&mut t.sut, &|ep| {
            ep.set_next_write_sequence_for_test(1000);
            ep.send_application_data(b"captured from server").unwrap();
        }),
    ));
    let ch_body = msgs
        .iter()
        .find(|(n, _, _)| n == "CH+cookie")
        .map(|m| m.2.clone())
        .unwrap();
    records.push((
        format!("CH(C,E{e}) reneg"),
        one(&mut t.peer, &|ep| {
            ep.set_next_write_sequence_for_test(2000);
            ep.send_handshake_message_for_test(msg_type::CLIENT_HELLO, &ch_body)
                .unwrap();
        }),
    ));
    records.push((
        format!("HR(S,E{e}) reneg"),
        one(&mut t.sut, &|ep| {
            ep.set_next_write_sequence_for_test(2000);
            ep.send_handshake_message_for_test(msg_type::HELLO_REQUEST, &[])
                .unwrap();
        }),
    ));
    Material {
        msgs,
        records,
        keys,
    }
}

// ---- the input alphabet --------------------------------------------------------------------

struct Input {
    name: String,
    datagrams: Vec<Vec<u8>>,
    /// The honest next message (whole or in pieces) or a genuine record of the peer still to
    /// come: the only inputs allowed to make progress towards `Connected`.
    honest: bool,
}

fn alphabet(m: &Material, t: &Trial) -> Vec<Input> {
    // The message_seq the SUT expects next: one past the last handshake message delivered
    // (Finished travels encrypted and counts too).
    let plain_max = t
        .delivered
        .iter()
        .filter_map(|u| u.msg.as_ref().map(|x| x.1))
        .max();
    let fins = t
        .delivered
        .iter()
        .filter(|u| u.label == "Handshake@E1")
        .count() as u16;
    let exp = plain_max.map_or(0, |s| s + 1) + fins;
    let next = t.queue.front();
    let is_next_msg = |ty: u8, seq: u16, body: &[u8]| {
        next.and_then(|u| u.msg.as_ref())
            .is_some_and(|(t2, s2, b2)| *t2 == ty && *s2 == seq && b2 == body)
    };
    // A genuine record the honest peer has sent and the SUT has yet to see (the peer's
    // Finished may overtake its ChangeCipherSpec: epoch 1 itself shows the switch).
    let is_next_bytes = |b: &[u8]| t.queue.iter().any(|u| u.bytes == b);
    let mut v = Vec::new();
    let mut push = |name: &str, datagrams: Vec<Vec<u8>>, honest: bool| {
        v.push(Input {
            name: name.to_string(),
            datagrams,
            honest,
        })
    };
    let mut rs = 100u64;
    let mut rseq = || {
        rs += 1;
        rs
    };
    for (name, ty, body) in &m.msgs {
        push(
            name,
            vec![hs_record(rseq(), *ty, exp, body)],
            is_next_msg(*ty, exp, body),
        );
    }
    push(
        "Fin(E0)",
        vec![hs_record(rseq(), msg_type::FINISHED, exp, &[0; 12])],
        false,
    );
    push(
        "HR",
        vec![hs_record(rseq(), msg_type::HELLO_REQUEST, exp, &[])],
        false,
    );
    let ccs = record(ContentType::ChangeCipherSpec, 0, rseq(), &[1]);
    push("CCS", vec![ccs.clone()], is_next_bytes(&ccs));
    push(
        "CCS(body 2)",
        vec![record(ContentType::ChangeCipherSpec, 0, rseq(), &[2])],
        false,
    );
    push(
        "Alert(w close_notify)",
        vec![record(ContentType::Alert, 0, rseq(), &[1, 0])],
        false,
    );
    push(
        "Alert(w no_reneg)",
        vec![record(ContentType::Alert, 0, rseq(), &[1, 100])],
        false,
    );
    push(
        "Alert(f hs_failure)",
        vec![record(ContentType::Alert, 0, rseq(), &[2, 40])],
        false,
    );
    push(
        "AppData(E0)",
        vec![record(
            ContentType::ApplicationData,
            0,
            rseq(),
            b"forged plaintext",
        )],
        false,
    );
    for (name, d) in &m.records {
        push(name, vec![d.clone()], is_next_bytes(d));
    }
    let (name, first) = &m.records[0];
    let mut bad_mac = first.clone();
    *bad_mac.last_mut().unwrap() ^= 1;
    push(&format!("{name} bad MAC"), vec![bad_mac], false);
    push(
        "Handshake(E2)",
        vec![record(ContentType::Handshake, 2, 0, &[0x55; 40])],
        false,
    );
    push(
        "Handshake(E65535)",
        vec![record(ContentType::Handshake, 0xffff, 7, &[0x55; 40])],
        false,
    );
    // Variants of the next honest message, when it is a plaintext handshake message.
    if let Some((ty, seq, body)) = next.and_then(|u| u.msg.as_ref()) {
        push(
            "next@seq+1",
            vec![hs_record(rseq(), *ty, seq + 1, body)],
            false,
        );
        push(
            "next@seq+16",
            vec![hs_record(rseq(), *ty, seq + 16, body)],
            false,
        );
        let half = body.len() / 2;
        let frag = |off: usize, end: usize, rs: u64| {
            fragment_record(
                rs,
                HandshakeHeader {
                    msg_type: *ty,
                    length: body.len() as u32,
                    message_seq: *seq,
                    fragment_offset: off as u32,
                    fragment_length: (end - off) as u32,
                },
                &body[off..end],
            )
        };
        let second = frag(half, body.len(), rseq());
        let first = frag(0, half, rseq());
        if half > 0 {
            push("next frags reversed", vec![second.clone(), first], true);
            push("next 2nd half only", vec![second], false);
        }
    }
    if let Some(prev) = t.delivered.last() {
        push("dup(prev)", vec![prev.bytes.clone()], false);
        let f = prev.flight;
        let current_complete = next.is_none_or(|n| n.flight != f);
        let last_complete = if current_complete {
            Some(f)
        } else {
            f.checked_sub(1)
        };
        // Every complete earlier flight of the peer again, as it sent them (whole records).
        for f in 0..last_complete.map_or(0, |l| l + 1) {
            let units: Vec<&Unit> = t.delivered.iter().filter(|u| u.flight == f).collect();
            let names: Vec<&str> = units.iter().map(|u| u.label.as_str()).collect();
            push(
                &format!("replay(flight {f}: {})", names.join(" ")),
                units.iter().map(|u| u.bytes.clone()).collect(),
                false,
            );
        }
    }
    v
}

// ---- the exploration ------------------------------------------------------------------------

fn explore(sut_is_server: bool, dtls13: bool, late: bool) -> (String, usize, usize, usize) {
    let t0 = Instant::now();
    let (mut c, mut s) = configs(SEED);
    for cfg in [&mut c, &mut s] {
        cfg.mtu = 4000; // whole messages: one record each
        cfg.max_retransmissions = 3;
        cfg.dtls13 = dtls13;
    }
    s.cookie_exchange = true;
    let m = material(&c, &s, t0);
    let (mut sut_cfg, peer_cfg) = if sut_is_server {
        (s, &c)
    } else {
        (c.clone(), &s)
    };
    let late_fp = late.then(|| sut_cfg.remote_fingerprints.remove(0));
    assert!(!late || sut_cfg.remote_fingerprints.is_empty());
    let sut_cfg = &sut_cfg;
    // The honest positions.
    let mut honest = Trial::new(sut_cfg, peer_cfg, t0);
    let mut positions = vec![state_name(&honest.sut)];
    while !honest.queue.is_empty() {
        honest.step();
        positions.push(state_name(&honest.sut));
    }
    if let Some(fp) = &late_fp {
        assert_eq!(honest.sut.state(), DtlsState::AwaitingFingerprint);
        assert!(honest.sut.export_keying_material(EXPORT_LABEL, 60).is_err());
        honest.sut.set_remote_fingerprints(vec![fp.clone()]);
        honest.pump();
    }
    assert!(honest.sut.is_connected());
    assert_eq!(honest.sut.is_dtls13(), dtls13);
    let version = if dtls13 { "1.3" } else { "1.2" };
    let role = if sut_is_server { "server" } else { "client" };
    let fp_note = if late {
        ", its peer's fingerprint given only once its handshake is done"
    } else {
        ""
    };
    let mut table = String::new();
    writeln!(
        table,
        "# Learned model of the tern-dtls DTLS {version} {role}{fp_note} (tests/state_machine.rs).\n\
         # Regenerate after a reviewed change: TERN_BLESS=1 cargo test -p tern-dtls --test state_machine\n\
         # One line per (state, input):\n\
         # pos state | input -> handle_receive result | datagrams sent | events | state after | honest continuation\n\
         # pos = honest records delivered so far; inputs are renumbered to the expected message_seq;\n\
         # names: C/S = sent by client/server, E0/E1 = epoch, rtx[..] = retransmitted flight,\n\
         # Handshake@E1 / Alert@E1 = encrypted records, (peer read: ..) = what the peer decrypted."
    )
    .unwrap();
    let mut inputs_total = 0;
    let mut inputs_seen = HashSet::new();
    for (pos, pos_name) in positions.iter().enumerate() {
        let probe = {
            let mut t = Trial::new(sut_cfg, peer_cfg, t0);
            for _ in 0..pos {
                t.step();
            }
            t
        };
        let inputs = alphabet(&m, &probe);
        drop(probe);
        for inp in inputs {
            inputs_total += 1;
            inputs_seen.insert(inp.name.clone());
            let mut t = Trial::new(sut_cfg, peer_cfg, t0);
            t.ref_keys = Some(m.keys.clone());
            t.late_fp = late_fp.clone();
            for _ in 0..pos {
                t.step();
            }
            assert_eq!(&state_name(&t.sut), pos_name, "not deterministic");
            t.now = t0 + Duration::from_millis(200);
            let before_state = state_name(&t.sut);
            let before_buffered = t.sut.buffered_bytes();
            let was_connected = t.sut.is_connected();
            let sent_before = t.sut_sent.len();
            let events_before = t.sut_events.len();
            let mut results = Vec::new();
            for d in &inp.datagrams {
                results.push(match t.sut.handle_receive(t.now, d) {
                    Ok(()) => "ok".to_string(),
                    Err(e) => format!("Err({})", variant(&format!("{e:?}"))),
                });
            }
            let out = t.drain_sut();
            let evs = t.sut_events[events_before..].to_vec();
            let after_state = state_name(&t.sut);
            let buffered = t.sut.buffered_bytes() > before_buffered;
            let mut out_desc = describe_out(&out, &t.sut_sent[..sent_before]);
            // What the peer makes of encrypted output (alerts in epoch 1).
            let peer_events_before = t.peer_events.len();
            t.deliver_to_peer(&out);
            let batch = t.drain_peer();
            let peer_read: Vec<String> = t.peer_events[peer_events_before..]
                .iter()
                .filter_map(|e| match e {
                    DtlsEvent::AlertReceived(a) => Some(alert_name(a)),
                    _ => None,
                })
                .collect();
            if out_desc.contains("@E1") && !peer_read.is_empty() {
                write!(out_desc, " (peer read: {})", peer_read.join(", ")).unwrap();
            }
            if !batch.is_empty() {
                for d in &batch {
                    t.queue.extend(split_units(d, t.flights));
                }
                t.flights += 1;
            }
            t.pump();
            // Invariants of the injection itself.
            if t.sut.is_connected() && !was_connected {
                assert!(
                    inp.honest,
                    "{role} pos {pos}: '{}' made the SUT connected",
                    inp.name
                );
            }
            let rejected =
                results.iter().all(|r| r.starts_with("Err")) && out.is_empty() && evs.is_empty();
            if rejected {
                assert_eq!(
                    after_state, before_state,
                    "{role} pos {pos}: rejected '{}' changed the state",
                    inp.name
                );
                assert!(
                    !buffered,
                    "{role} pos {pos}: rejected '{}' kept bytes",
                    inp.name
                );
            }
            let outcome = t.finish();
            if rejected {
                assert_eq!(
                    outcome, "recovers",
                    "{role} pos {pos}: rejected '{}' changed what happens next",
                    inp.name
                );
            }
            assert!(
                !outcome.starts_with("STALLED"),
                "{role} pos {pos}: '{}' leaves the handshake stalled: {outcome}",
                inp.name
            );
            let after = if after_state == before_state {
                "=".to_string()
            } else {
                after_state
            };
            writeln!(
                table,
                "{pos} {pos_name} | {} -> {}{} | {} | {} | {} | {}",
                inp.name,
                results.join(","),
                if buffered { " buffered" } else { "" },
                out_desc,
                describe_events(&evs),
                after,
                outcome,
            )
            .unwrap();
        }
    }
    (table, positions.len(), inputs_seen.len(), inputs_total)
}

/// Random walks, like DTLS-Fuzzer's equivalence checks: from a random honest position, up to
/// four inputs of that state's alphabet, interleaved with honest records, then the honest rest.
/// The invariants checked inside `Trial` must hold and no walk may end stalled. Returns how
/// often each outcome happened.
fn walks(sut_is_server: bool, dtls13: bool, n: usize) -> BTreeMap<String, usize> {
    let t0 = Instant::now();
    let (mut c, mut s) = configs(SEED);
    for cfg in [&mut c, &mut s] {
        cfg.mtu = 4000;
        cfg.max_retransmissions = 3;
        cfg.dtls13 = dtls13;
    }
    s.cookie_exchange = true;
    let m = material(&c, &s, t0);
    let (sut_cfg, peer_cfg) = if sut_is_server { (&s, &c) } else { (&c, &s) };
    let mut honest = Trial::new(sut_cfg, peer_cfg, t0);
    let mut len = 0;
    while !honest.queue.is_empty() {
        honest.step();
        len += 1;
    }
    let mut rng = StdRng::seed_from_u64(20 + u64::from(sut_is_server) + 2 * u64::from(dtls13));
    let mut outcomes = BTreeMap::new();
    for _ in 0..n {
        let pos = rng.gen_range(0..=len);
        let mut t = Trial::new(sut_cfg, peer_cfg, t0);
        t.ref_keys = Some(m.keys.clone());
        for _ in 0..pos {
            t.step();
        }
        let inputs = alphabet(&m, &t);
        let mut names = Vec::new();
        for _ in 0..rng.gen_range(1..=4) {
            t.now += Duration::from_millis(150);
            let inp = &inputs[rng.gen_range(0..inputs.len())];
            names.push(inp.name.clone());
            for d in &inp.datagrams {
                let _ = t.sut.handle_receive(t.now, d);
            }
            t.pump();
            if rng.gen_bool(0.5) && !t.queue.is_empty() {
                t.step();
            }
        }
        let outcome = t.finish();
        assert!(
            !outcome.starts_with("STALLED"),
            "pos {pos}, {names:?}: {outcome}"
        );
        let key = outcome
            .split(" after")
            .next()
            .unwrap_or(&outcome)
            .to_string();
        *outcomes.entry(key).or_insert(0) += 1;
    }
    outcomes
}

/// 120 walks per role and version; `TERN_STATE_WALKS=n` for a longer local search.
fn walk_count() -> usize {
    std::env::var("TERN_STATE_WALKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}

#[test]
fn bad_input_dtls_20_random_walks_dtls12() {
    for server in [true, false] {
        let o = walks(server, false, walk_count());
        eprintln!("DTLS 1.2 server={server}: {o:?}");
        assert!(o.get("recovers").is_some_and(|n| *n > 10), "{o:?}");
    }
}

#[test]
fn bad_input_dtls_20_random_walks_dtls13() {
    for server in [true, false] {
        let o = walks(server, true, walk_count());
        eprintln!("DTLS 1.3 server={server}: {o:?}");
        assert!(o.get("recovers").is_some_and(|n| *n > 10), "{o:?}");
    }
}

fn compare_with_snapshot(name: &str, table: &str) {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "vectors", name]
        .iter()
        .collect();
    if std::env::var_os("TERN_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, table).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with TERN_BLESS=1 cargo test -p tern-dtls --test state_machine",
            path.display()
        )
    });
    if want != table {
        let mut diff = String::new();
        let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), table.lines().collect());
        for i in 0..w.len().max(g.len()) {
            let (a, b) = (w.get(i), g.get(i));
            if a != b {
                writeln!(diff, "- {}\n+ {}", a.unwrap_or(&""), b.unwrap_or(&"")).unwrap();
            }
        }
        panic!(
            "the learned state machine differs from {} (review, then TERN_BLESS=1):\n{diff}",
            path.display()
        );
    }
}

fn run(sut_is_server: bool, dtls13: bool, late: bool) {
    let (table, states, inputs, rows) = explore(sut_is_server, dtls13, late);
    let role = if sut_is_server { "server" } else { "client" };
    let v = if dtls13 { "13" } else { "12" };
    let suffix = if late { "_late_fingerprint" } else { "" };
    eprintln!("DTLS{v} {role}{suffix}: {states} states x {inputs} inputs, {rows} rows");
    compare_with_snapshot(&format!("state_machine_dtls{v}_{role}{suffix}.txt"), &table);
}

#[test]
fn bad_input_dtls_20_state_machine_dtls12_server() {
    run(true, false, false);
}

#[test]
fn bad_input_dtls_20_state_machine_dtls12_client() {
    run(false, false, false);
}

#[test]
fn bad_input_dtls_20_state_machine_dtls13_server() {
    run(true, true, false);
}

#[test]
fn bad_input_dtls_20_state_machine_dtls13_client() {
    run(false, true, false);
}

/// The same model with the SUT learning the peer's fingerprint only after its handshake is
/// done (the SDP answer arrives late): the last state is `AwaitingFingerprint`, in which no
/// input may produce `Connected` or keys.
#[test]
fn bad_input_dtls_20_state_machine_dtls12_server_late_fingerprint() {
    run(true, false, true);
}

#[test]
fn bad_input_dtls_20_state_machine_dtls12_client_late_fingerprint() {
    run(false, false, true);
}
