//! DTLS 1.3 interop with wolfSSL's example server and client (`-u -v 4`), over UDP on
//! 127.0.0.1: handshake both ways, HelloRetryRequest (cookie, key share), KeyUpdate both ways,
//! `EXTRACTOR-dtls_srtp` equality, application data, and version fallback to DTLS 1.2
//! against a wolfSSL limited to DTLS 1.2 (`-u -v 3`).
//!
//! The peer is wolfSSL 5.9.x built with `--enable-dtls --enable-dtls13 --enable-srtp
//! --enable-examples` (and `-DHAVE_SECRET_CALLBACK` so the example prints the exported key);
//! `TERN_WOLFSSL_DIR` names its build directory (holding `examples/server/server` and
//! `examples/client/client`). Run with
//! `cargo test -p tern-dtls --test interop_wolfssl -- --ignored --test-threads=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // tests may read the clock

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tern_dtls::{
    Certificate, DtlsConfig, DtlsEndpoint, DtlsEvent, DtlsRole, Fingerprint, HashAlgorithm,
    NamedGroup, SrtpProtectionProfile,
};

const TIMEOUT: Duration = Duration::from_secs(30);

fn wolfssl_dir() -> PathBuf {
    let dir = std::env::var_os("TERN_WOLFSSL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/targets/wolfssl13/src"));
    assert!(
        dir.join("examples/server/server").exists(),
        "wolfSSL examples not found in {} (set TERN_WOLFSSL_DIR)",
        dir.display()
    );
    dir
}

/// A scratch directory laid out as the examples expect (they look for `certs/dh2048.pem`).
struct Work {
    dir: PathBuf,
    wolf_cert: String,
    wolf_key: String,
    wolf_fp: Fingerprint,
    tern: Certificate,
    tern_pem: String,
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn work(name: &str) -> Work {
    let dir = std::env::temp_dir().join(format!("tern-wolf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    std::fs::write(dir.join("certs/dh2048.pem"), b"").unwrap();
    let wolf_cert = dir.join("wolf-cert.pem").to_string_lossy().into_owned();
    let wolf_key = dir.join("wolf-key.pem").to_string_lossy().into_owned();
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "30", "-subj", "/CN=wolfssl-interop"])
        .args(["-keyout", &wolf_key, "-out", &wolf_cert])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let der = Command::new("openssl")
        .args(["x509", "-in", &wolf_cert, "-outform", "der"])
        .output()
        .unwrap()
        .stdout;
    let wolf_fp = Fingerprint::of_der(HashAlgorithm::Sha256, &der);
    let tern = Certificate::generate().unwrap();
    let tern_der = dir.join("tern.der");
    std::fs::write(&tern_der, tern.der()).unwrap();
    let tern_pem = dir.join("tern.pem").to_string_lossy().into_owned();
    let st = Command::new("openssl")
        .args(["x509", "-inform", "der", "-in"])
        .arg(&tern_der)
        .args(["-out", &tern_pem])
        .status()
        .unwrap();
    assert!(st.success());
    Work {
        dir,
        wolf_cert,
        wolf_key,
        wolf_fp,
        tern,
        tern_pem,
    }
}

/// The wolfSSL example process; killed by PID on drop (also when a test panics).
struct Peer {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    fn spawn(w: &Work, program: &str, args: &[String]) -> Peer {
        let mut child = Command::new("stdbuf")
            .arg("-oL")
            .arg(wolfssl_dir().join(program))
            .args(args)
            .current_dir(&w.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wolfSSL example");
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(format!("stderr: {line}"));
            }
        });
        Peer {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    fn pump(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            if std::env::var_os("TERN_INTEROP_VERBOSE").is_some() {
                eprintln!("wolfssl| {l}");
            }
            self.seen.push(l);
        }
    }

    fn has(&mut self, needle: &str) -> bool {
        self.pump();
        self.seen.iter().any(|l| l.contains(needle))
    }

    fn exported_key(&mut self) -> Option<Vec<u8>> {
        self.pump();
        let l = self
            .seen
            .iter()
            .find(|l| l.contains("Exported key material:"))?;
        hex::decode(l.split("Exported key material:").nth(1)?.trim()).ok()
    }

    fn output(&mut self) -> String {
        self.pump();
        self.seen.join("\n")
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Loss applied on our side of the socket, both directions.
struct Loss {
    rng: rand::rngs::StdRng,
    p: f64,
}

/// Drive `ep` until `done`; `peer_addr` is learned from the first datagram when unknown.
fn drive(
    ep: &mut DtlsEndpoint,
    sock: &UdpSocket,
    peer_addr: &mut Option<SocketAddr>,
    events: &mut Vec<DtlsEvent>,
    wolf: &mut Peer,
    loss: &mut Loss,
    mut done: impl FnMut(&mut DtlsEndpoint, &[DtlsEvent], &mut Peer) -> bool,
) {
    let deadline = Instant::now() + TIMEOUT;
    let mut buf = vec![0u8; 65536];
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    loop {
        while let Some(d) = ep.poll_transmit() {
            if let Some(a) = *peer_addr
                && !loss.rng.gen_bool(loss.p)
            {
                // An ICMP error from a peer not yet listening is not fatal: DTLS retransmits.
                let _ = sock.send_to(&d, a);
            }
        }
        while let Some(e) = ep.poll_event() {
            if let DtlsEvent::Failed(err) = &e {
                panic!("tern failed: {err}; wolfSSL said:\n{}", wolf.output());
            }
            events.push(e);
        }
        if done(ep, events, wolf) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out in state {:?}; wolfSSL said:\n{}",
            ep.state(),
            wolf.output()
        );
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if peer_addr.is_none() {
                *peer_addr = Some(from);
            }
            if !loss.rng.gen_bool(loss.p) {
                let _ = ep.handle_receive(Instant::now(), &buf[..n]);
            }
        }
        if ep.poll_timeout().is_some_and(|t| Instant::now() >= t) {
            ep.handle_timeout(Instant::now());
        }
        wolf.pump();
    }
}

fn received(events: &[DtlsEvent], needle: &str) -> bool {
    events.iter().any(|e| match e {
        DtlsEvent::ApplicationData(d) => String::from_utf8_lossy(d).contains(needle),
        _ => false,
    })
}

struct Case {
    wolf_version: &'static str,
    wolf_extra: Vec<&'static str>,
    tern13: bool,
    cookie_exchange: bool,
    groups: Vec<NamedGroup>,
    key_update: bool,
    loss: f64,
    expect13: bool,
}

impl Case {
    fn dtls13() -> Case {
        Case {
            wolf_version: "4",
            wolf_extra: vec![],
            tern13: true,
            cookie_exchange: false,
            groups: vec![NamedGroup::X25519, NamedGroup::Secp256r1],
            key_update: false,
            loss: 0.0,
            expect13: true,
        }
    }
}

fn config(role: DtlsRole, w: &Work, c: &Case) -> DtlsConfig {
    let mut cfg = DtlsConfig::new(role, w.tern.clone());
    cfg.remote_fingerprints = vec![w.wolf_fp.clone()];
    cfg.dtls13 = c.tern13;
    cfg.cookie_exchange = c.cookie_exchange;
    cfg.named_groups = c.groups.clone();
    cfg.srtp_profiles = vec![SrtpProtectionProfile::AeadAes128Gcm];
    cfg
}

fn wolf_args(w: &Work, c: &Case, port: u16) -> Vec<String> {
    let mut a: Vec<String> = ["-u", "-v", c.wolf_version, "-p"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    a.push(port.to_string());
    for s in ["-c", &w.wolf_cert, "-k", &w.wolf_key, "-A", &w.tern_pem] {
        a.push(s.to_string());
    }
    a.push("--srtp".into());
    a.push("SRTP_AEAD_AES_128_GCM".into());
    a.extend(c.wolf_extra.iter().map(|s| (*s).to_string()));
    a
}

/// Our client against the wolfSSL example server.
fn tern_client(name: &str, c: Case) {
    let w = work(name);
    let port = free_port();
    let mut wolf = Peer::spawn(&w, "examples/server/server", &wolf_args(&w, &c, port));
    // Give it time to bind; a lost first ClientHello is retransmitted anyway.
    std::thread::sleep(Duration::from_millis(300));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut peer = Some(SocketAddr::from(([127, 0, 0, 1], port)));
    let mut ep = DtlsEndpoint::new(config(DtlsRole::Client, &w, &c), Instant::now()).unwrap();
    let mut events = Vec::new();
    let mut loss = Loss {
        rng: rand::rngs::StdRng::seed_from_u64(7),
        p: c.loss,
    };
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        &mut wolf,
        &mut loss,
        |ep, _, _| ep.is_connected(),
    );
    assert_eq!(ep.is_dtls13(), c.expect13);
    let profile = ep.selected_srtp_profile();
    assert_eq!(profile, Some(SrtpProtectionProfile::AeadAes128Gcm));
    let ours = ep
        .export_keying_material("EXTRACTOR-dtls_srtp", 56)
        .unwrap();
    if c.key_update {
        // RFC 9147 §8: only once our last flight was acknowledged.
        drive(
            &mut ep,
            &sock,
            &mut peer,
            &mut events,
            &mut wolf,
            &mut loss,
            |ep, _, _| ep.poll_timeout().is_none(),
        );
        ep.update_keys(Instant::now(), true).unwrap();
        drive(
            &mut ep,
            &sock,
            &mut peer,
            &mut events,
            &mut wolf,
            &mut loss,
            |ep, _, _| ep.write_epoch() == 4,
        );
    }
    // Application data is not retransmitted by DTLS: repeat it until the peer answers.
    let mut last = Instant::now() - Duration::from_secs(1);
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        &mut wolf,
        &mut loss,
        |ep, ev, wolf| {
            if received(ev, "I hear you") && wolf.has("Client message: hello from tern") {
                return true;
            }
            if ep.is_connected() && last.elapsed() > Duration::from_millis(300) {
                last = Instant::now();
                ep.send_application_data(b"hello from tern").unwrap();
            }
            false
        },
    );
    let version = if c.expect13 { "DTLSv1.3" } else { "DTLSv1.2" };
    assert!(
        wolf.has(&format!("SSL version is {version}")),
        "{}",
        wolf.output()
    );
    let theirs = wolf.exported_key().expect("wolfSSL printed no key");
    assert_eq!(ours, theirs, "EXTRACTOR-dtls_srtp differs");
    if c.key_update {
        // The server's own KeyUpdate (-U) moved our read side; data still flowed.
        assert!(received(&events, "I hear you"));
    }
}

/// The wolfSSL example client against our server.
fn tern_server(name: &str, c: Case) {
    let w = work(name);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let mut wolf = Peer::spawn(&w, "examples/client/client", &wolf_args(&w, &c, port));
    let mut peer = None;
    let mut ep = DtlsEndpoint::new(config(DtlsRole::Server, &w, &c), Instant::now()).unwrap();
    let mut events = Vec::new();
    let mut loss = Loss {
        rng: rand::rngs::StdRng::seed_from_u64(8),
        p: c.loss,
    };
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        &mut wolf,
        &mut loss,
        |ep, ev, _| ep.is_connected() && received(ev, "hello wolfssl"),
    );
    assert_eq!(ep.is_dtls13(), c.expect13);
    let ours = ep
        .export_keying_material("EXTRACTOR-dtls_srtp", 56)
        .unwrap();
    if c.key_update {
        // wolfSSL's client (-I) sent a KeyUpdate asking us to update: ours may be under way.
        match ep.update_keys(Instant::now(), false) {
            Ok(()) | Err(tern_dtls::DtlsError::KeyUpdatePending) => {}
            Err(e) => panic!("update_keys: {e}"),
        }
        drive(
            &mut ep,
            &sock,
            &mut peer,
            &mut events,
            &mut wolf,
            &mut loss,
            |ep, _, _| ep.write_epoch() == 4,
        );
    }
    let mut last = Instant::now() - Duration::from_secs(1);
    drive(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        &mut wolf,
        &mut loss,
        |ep, _, wolf| {
            if wolf.has("greetings from tern") {
                return true;
            }
            if ep.is_connected() && last.elapsed() > Duration::from_millis(300) {
                last = Instant::now();
                ep.send_application_data(b"greetings from tern").unwrap();
            }
            false
        },
    );
    let version = if c.expect13 { "DTLSv1.3" } else { "DTLSv1.2" };
    assert!(
        wolf.has(&format!("SSL version is {version}")),
        "{}",
        wolf.output()
    );
    let theirs = wolf.exported_key().expect("wolfSSL printed no key");
    assert_eq!(ours, theirs, "EXTRACTOR-dtls_srtp differs");
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn wolfssl_dtls13_tern_client() {
    tern_client("c13", Case::dtls13());
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn wolfssl_dtls13_tern_server() {
    tern_server("s13", Case::dtls13());
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn wolfssl_dtls13_tern_client_p256_only_and_cookie() {
    // The server sends a HelloRetryRequest with a cookie (-J); our share is P-256.
    tern_client(
        "c13hrr",
        Case {
            wolf_extra: vec!["-J"],
            groups: vec![NamedGroup::Secp256r1],
            ..Case::dtls13()
        },
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn wolfssl_dtls13_tern_server_cookie_and_key_share_retry() {
    // Our server demands a cookie (stateless HelloRetryRequest); wolfSSL's client sends no key
    // share at first (-J), so the retry also names the group.
    tern_server(
        "s13hrr",
        Case {
            wolf_extra: vec!["-J"],
            cookie_exchange: true,
            ..Case::dtls13()
        },
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn wolfssl_dtls13_key_update_both_ways() {
    // We update (asking the server to update too); wolfSSL's server also updates on its own
    // before answering (-U).
    tern_client(
        "c13ku",
        Case {
            wolf_extra: vec!["-U"],
            key_update: true,
            ..Case::dtls13()
        },
    );
    // wolfSSL's client updates (-I) and we update.
    tern_server(
        "s13ku",
        Case {
            wolf_extra: vec!["-I"],
            key_update: true,
            ..Case::dtls13()
        },
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn wolfssl_dtls13_with_20_percent_loss() {
    tern_client(
        "c13loss",
        Case {
            loss: 0.2,
            ..Case::dtls13()
        },
    );
    tern_server(
        "s13loss",
        Case {
            loss: 0.2,
            ..Case::dtls13()
        },
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn wolfssl_dtls12_only_peer_gets_dtls12_from_a_13_capable_tern() {
    tern_client(
        "c12",
        Case {
            wolf_version: "3",
            expect13: false,
            ..Case::dtls13()
        },
    );
    tern_server(
        "s12",
        Case {
            wolf_version: "3",
            expect13: false,
            ..Case::dtls13()
        },
    );
}
