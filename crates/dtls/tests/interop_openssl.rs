//! Interop with OpenSSL 3 (`openssl s_server -dtls1_2` / `openssl s_client -dtls1_2`) over UDP on
//! 127.0.0.1. Each test spawns the peer, drives our sans-IO endpoint from a small blocking UDP
//! loop, and compares `EXTRACTOR-dtls_srtp` keying material and application data both ways.
//!
//! Run with `cargo test -p tern-dtls --test interop_openssl -- --ignored` (xtask does).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // tests may read the clock

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use tern_dtls::{
    Certificate, CipherSuite, DtlsConfig, DtlsEndpoint, DtlsEvent, DtlsRole, Fingerprint,
    SrtpProtectionProfile,
};

const TIMEOUT: Duration = Duration::from_secs(20);

thread_local! {
    /// Make our endpoint DTLS 1.3-capable (`DtlsConfig::dtls13`): against OpenSSL 3.0, which has
    /// no DTLS 1.3, the handshake must still be DTLS 1.2.
    static OFFER13: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Kills the child by PID when dropped (also when the test panics).
struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
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
    fn spawn(args: &[&str]) -> Peer {
        // stdbuf: OpenSSL writes through stdio; make its stdout line-buffered on a pipe.
        let mut child = Command::new("stdbuf")
            .arg("-oL")
            .arg("openssl")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn openssl");
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
        let stdin = child.stdin.take();
        Peer {
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
        }
    }

    fn pump_lines(&mut self) {
        while let Ok(l) = self.lines.try_recv() {
            if std::env::var_os("TERN_INTEROP_VERBOSE").is_some() {
                eprintln!("openssl| {l}");
            }
            self.seen.push(l);
        }
    }

    fn wait_line(&mut self, needle: &str, deadline: Instant) -> String {
        loop {
            self.pump_lines();
            if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            if Instant::now() > deadline {
                panic!(
                    "openssl never printed {needle:?}; output:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn keying_material(&mut self) -> Option<Vec<u8>> {
        self.pump_lines();
        let l = self.seen.iter().find(|l| l.contains("Keying material:"))?;
        let hex = l.split("Keying material:").nth(1)?.trim();
        hex::decode(hex).ok()
    }

    fn write_stdin(&mut self, text: &str) {
        let s = self.stdin.as_mut().unwrap();
        s.write_all(text.as_bytes()).unwrap();
        s.flush().unwrap();
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An OpenSSL-generated P-256 certificate, its key file, and its SDP fingerprint.
fn openssl_cert(name: &str) -> (TempDir, String, String, Fingerprint) {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("tern-dtls-{}-{name}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = dir.join("cert.pem").to_string_lossy().into_owned();
    let key = dir.join("key.pem").to_string_lossy().into_owned();
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args([
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=openssl-interop",
            "-keyout",
            &key,
            "-out",
            &cert,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new("openssl")
        .args(["x509", "-in", &cert, "-noout", "-fingerprint", "-sha256"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let hexpart = text.trim().split('=').nth(1).unwrap();
    let fp = Fingerprint::parse(&format!("sha-256 {hexpart}")).unwrap();
    (TempDir(dir), cert, key, fp)
}

/// Impairments applied on our side of the socket, in both directions (real time).
struct Net {
    rng: rand::rngs::StdRng,
    loss: f64,
    duplicate: f64,
    reorder: Duration,
    outq: Vec<(Instant, Vec<u8>)>,
    inq: Vec<(Instant, Vec<u8>)>,
    timeout: Duration,
}

impl Net {
    fn perfect() -> Net {
        Net::impaired(0.0, 0.0, Duration::ZERO, TIMEOUT)
    }

    fn impaired(loss: f64, duplicate: f64, reorder: Duration, timeout: Duration) -> Net {
        use rand::SeedableRng;
        Net {
            rng: rand::rngs::StdRng::seed_from_u64(0x7e57),
            loss,
            duplicate,
            reorder,
            outq: Vec::new(),
            inq: Vec::new(),
            timeout,
        }
    }

    fn admit(&mut self, q_out: bool, d: Vec<u8>) {
        use rand::Rng;
        if self.rng.gen_bool(self.loss) {
            return;
        }
        let copies = if self.rng.gen_bool(self.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if self.reorder.is_zero() {
                Duration::ZERO
            } else {
                Duration::from_micros(self.rng.gen_range(0..self.reorder.as_micros() as u64))
            };
            let item = (Instant::now() + delay, d.clone());
            if q_out {
                self.outq.push(item)
            } else {
                self.inq.push(item)
            }
        }
    }

    fn due(q: &mut Vec<(Instant, Vec<u8>)>) -> Vec<Vec<u8>> {
        let now = Instant::now();
        let mut out = Vec::new();
        q.sort_by_key(|x| x.0);
        while q.first().is_some_and(|x| x.0 <= now) {
            out.push(q.remove(0).1);
        }
        out
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Drive `ep` over `sock` (through `net`) until `done` holds. `peer` is learned from the first
/// datagram when unknown (server side).
#[allow(clippy::too_many_arguments)]
fn run_until(
    ep: &mut DtlsEndpoint,
    sock: &UdpSocket,
    peer: &mut Option<SocketAddr>,
    events: &mut Vec<DtlsEvent>,
    openssl: &mut Peer,
    net: &mut Net,
    mut done: impl FnMut(&mut DtlsEndpoint, &mut Vec<DtlsEvent>, &mut Peer) -> bool,
) {
    let deadline = Instant::now() + net.timeout;
    let mut buf = vec![0u8; 65536];
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    loop {
        while let Some(d) = ep.poll_transmit() {
            net.admit(true, d);
        }
        if let Some(addr) = *peer {
            for d in Net::due(&mut net.outq) {
                sock.send_to(&d, addr).unwrap();
            }
        }
        for d in Net::due(&mut net.inq) {
            let _ = ep.handle_receive(Instant::now(), &d);
        }
        while let Some(e) = ep.poll_event() {
            if let DtlsEvent::Failed(err) = &e {
                openssl.pump_lines();
                panic!(
                    "handshake failed: {err}; openssl said:\n{}",
                    openssl.seen.join("\n")
                );
            }
            events.push(e);
        }
        if done(ep, events, openssl) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; state {:?}; openssl said:\n{}",
            ep.state(),
            openssl.seen.join("\n")
        );
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if peer.is_none() {
                *peer = Some(from);
            }
            net.admit(false, buf[..n].to_vec());
        }
        if ep.poll_timeout().is_some_and(|t| Instant::now() >= t) {
            ep.handle_timeout(Instant::now());
        }
        openssl.pump_lines();
    }
}

fn srtp_name(p: SrtpProtectionProfile) -> &'static str {
    match p {
        SrtpProtectionProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
        SrtpProtectionProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_SHA1_32",
        SrtpProtectionProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
        SrtpProtectionProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
    }
}

fn openssl_cipher(s: CipherSuite) -> &'static str {
    match s {
        CipherSuite::EcdheEcdsaAes128GcmSha256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
        CipherSuite::EcdheEcdsaAes256GcmSha384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
        _ => unreachable!(),
    }
}

/// Our client against `openssl s_server`.
fn client_vs_s_server(suite: CipherSuite, listen: bool, srtp: SrtpProtectionProfile, groups: &str) {
    client_vs_s_server_over(suite, listen, srtp, groups, Net::perfect(), None);
}

fn client_vs_s_server_over(
    suite: CipherSuite,
    listen: bool,
    srtp: SrtpProtectionProfile,
    groups: &str,
    mut net: Net,
    mtu: Option<&str>,
) {
    let (_dir, cert, key, their_fp) = openssl_cert("server");
    let port = free_udp_port();
    let accept = format!("127.0.0.1:{port}");
    let srtp_list = if srtp == SrtpProtectionProfile::Aes128CmHmacSha1_80 {
        srtp_name(srtp).to_string()
    } else {
        format!("{}:SRTP_AES128_CM_SHA1_80", srtp_name(srtp))
    };
    let mut args = vec![
        "s_server",
        "-dtls1_2",
        "-accept",
        &accept,
        "-cert",
        &cert,
        "-key",
        &key,
        "-use_srtp",
        &srtp_list,
        "-keymatexport",
        "EXTRACTOR-dtls_srtp",
        "-keymatexportlen",
        "60",
        "-verify",
        "1",
        "-cipher",
        openssl_cipher(suite),
        "-groups",
        groups,
        "-naccept",
        "1",
    ];
    if listen {
        args.push("-listen");
    }
    if let Some(m) = mtu {
        args.extend(["-mtu", m]);
    }
    let mut ossl = Peer::spawn(&args);
    ossl.wait_line("ACCEPT", Instant::now() + TIMEOUT);

    let ours = Certificate::generate().unwrap();
    let mut cfg = DtlsConfig::new(DtlsRole::Client, ours);
    cfg.dtls13 = OFFER13.with(std::cell::Cell::get);
    cfg.remote_fingerprints = vec![their_fp];
    cfg.srtp_profiles = vec![srtp, SrtpProtectionProfile::Aes128CmHmacSha1_80];
    if let Some(m) = mtu {
        cfg.mtu = m.parse().unwrap();
    }
    let mut ep = DtlsEndpoint::new(cfg, Instant::now()).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut peer = Some(format!("127.0.0.1:{port}").parse().unwrap());
    let mut events = Vec::new();

    run_until(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        &mut ossl,
        &mut net,
        |ep: &mut DtlsEndpoint, _: &mut Vec<DtlsEvent>, o: &mut Peer| {
            ep.is_connected() && o.keying_material().is_some()
        },
    );
    assert_eq!(ep.cipher_suite(), Some(suite));
    assert_eq!(ep.selected_srtp_profile(), Some(srtp));
    let theirs = ossl.keying_material().unwrap();
    let mine = ep
        .export_keying_material("EXTRACTOR-dtls_srtp", 60)
        .unwrap();
    assert_eq!(mine, theirs, "keying material differs");

    // Application data both ways: ours reaches s_server's stdout, its stdin reaches us.
    ep.send_application_data(b"hello from tern\n").unwrap();
    ossl.write_stdin("hello from openssl\n");
    let mut tick = 0u32;
    run_until(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        &mut ossl,
        &mut net,
        |ep, evs, o| {
            let got = evs.iter().any(
                |e| matches!(e, DtlsEvent::ApplicationData(d) if d == b"hello from openssl\n"),
            );
            let seen = o.seen.iter().any(|l| l.contains("hello from tern"));
            // Application data is not retransmitted by DTLS: on a lossy path, send again.
            tick += 1;
            if tick.is_multiple_of(200) {
                if !seen {
                    ep.send_application_data(b"hello from tern\n").unwrap();
                }
                if !got {
                    o.write_stdin("hello from openssl\n");
                }
            }
            got && seen
        },
    );
    ep.close();
    while let Some(d) = ep.poll_transmit() {
        sock.send_to(&d, peer.unwrap()).unwrap();
    }
}

/// `openssl s_client` against our server.
fn s_client_vs_server(
    suite: CipherSuite,
    cookies: bool,
    srtp: SrtpProtectionProfile,
    mtu: Option<&str>,
) {
    s_client_vs_server_over(suite, cookies, srtp, mtu, Net::perfect());
}

fn s_client_vs_server_over(
    suite: CipherSuite,
    cookies: bool,
    srtp: SrtpProtectionProfile,
    mtu: Option<&str>,
    mut net: Net,
) {
    let (_dir, cert, key, their_fp) = openssl_cert("client");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let ours = Certificate::generate().unwrap();
    let mut cfg = DtlsConfig::new(DtlsRole::Server, ours);
    cfg.dtls13 = OFFER13.with(std::cell::Cell::get);
    cfg.remote_fingerprints = vec![their_fp];
    cfg.cookie_exchange = cookies;
    cfg.cipher_suites = vec![suite];
    if let Some(m) = mtu {
        cfg.mtu = m.parse().unwrap();
    }
    let mut ep = DtlsEndpoint::new(cfg, Instant::now()).unwrap();

    let connect = format!("127.0.0.1:{port}");
    let srtp_list = srtp_name(srtp).to_string();
    let mut args = vec![
        "s_client",
        "-dtls1_2",
        "-connect",
        &connect,
        "-cert",
        &cert,
        "-key",
        &key,
        "-use_srtp",
        &srtp_list,
        "-keymatexport",
        "EXTRACTOR-dtls_srtp",
        "-keymatexportlen",
        "60",
    ];
    if let Some(m) = mtu {
        args.extend(["-mtu", m]);
    }
    let mut ossl = Peer::spawn(&args);
    let mut peer = None;
    let mut events = Vec::new();
    run_until(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        &mut ossl,
        &mut net,
        |ep: &mut DtlsEndpoint, _: &mut Vec<DtlsEvent>, o: &mut Peer| {
            ep.is_connected() && o.keying_material().is_some()
        },
    );
    assert_eq!(ep.selected_srtp_profile(), Some(srtp));
    let theirs = ossl.keying_material().unwrap();
    let mine = ep
        .export_keying_material("EXTRACTOR-dtls_srtp", 60)
        .unwrap();
    assert_eq!(mine, theirs, "keying material differs");

    // Echo: whatever s_client sends, our server sends back.
    ossl.write_stdin("ping from openssl\n");
    let mut tick = 0u32;
    run_until(
        &mut ep,
        &sock,
        &mut peer,
        &mut events,
        &mut ossl,
        &mut net,
        |ep, evs, o| {
            for e in evs.drain(..) {
                if let DtlsEvent::ApplicationData(d) = e {
                    let mut reply = b"echo: ".to_vec();
                    reply.extend_from_slice(&d);
                    ep.send_application_data(&reply).unwrap();
                }
            }
            let done = o.seen.iter().any(|l| l.contains("echo: ping from openssl"));
            // Application data is not retransmitted by DTLS: on a lossy path, ping again.
            tick += 1;
            if !done && tick.is_multiple_of(200) {
                o.write_stdin("ping from openssl\n");
            }
            done
        },
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_client_openssl_server_aes128gcm_x25519() {
    client_vs_s_server(
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        false,
        SrtpProtectionProfile::AeadAes128Gcm,
        "X25519:P-256",
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_client_openssl_server_listen_cookie_p256() {
    client_vs_s_server(
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        true,
        SrtpProtectionProfile::Aes128CmHmacSha1_80,
        "P-256",
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_client_openssl_server_aes256gcm() {
    client_vs_s_server(
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        false,
        SrtpProtectionProfile::AeadAes256Gcm,
        "X25519:P-256",
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_client_openssl_server_chacha20() {
    client_vs_s_server(
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        false,
        SrtpProtectionProfile::Aes128CmHmacSha1_32,
        "P-256",
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn openssl_client_tern_server_aes128gcm() {
    s_client_vs_server(
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        false,
        SrtpProtectionProfile::AeadAes128Gcm,
        None,
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn openssl_client_tern_server_cookie_exchange() {
    s_client_vs_server(
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        true,
        SrtpProtectionProfile::Aes128CmHmacSha1_80,
        None,
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn openssl_client_tern_server_aes256gcm_small_mtu() {
    // s_client fragments its flight (Certificate/CertificateVerify) to a 400-byte MTU.
    s_client_vs_server(
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        false,
        SrtpProtectionProfile::AeadAes256Gcm,
        Some("400"),
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn openssl_client_tern_server_chacha20() {
    s_client_vs_server(
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        false,
        SrtpProtectionProfile::Aes128CmHmacSha1_32,
        None,
    );
}

// Across an impaired path: 30 % loss and 10 % duplication each way, reordering, MTU 576.

fn lossy_net() -> Net {
    Net::impaired(
        0.30,
        0.10,
        Duration::from_millis(60),
        Duration::from_secs(150),
    )
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_client_openssl_server_lossy_mtu576() {
    client_vs_s_server_over(
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        false,
        SrtpProtectionProfile::AeadAes128Gcm,
        "X25519:P-256",
        lossy_net(),
        Some("576"),
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn openssl_client_tern_server_lossy_mtu576() {
    s_client_vs_server_over(
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        false,
        SrtpProtectionProfile::AeadAes128Gcm,
        Some("576"),
        lossy_net(),
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn dtls13_capable_tern_speaks_dtls12_with_openssl_both_roles() {
    OFFER13.with(|c| c.set(true));
    client_vs_s_server(
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        true,
        SrtpProtectionProfile::AeadAes128Gcm,
        "X25519:P-256",
    );
    s_client_vs_server(
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        true,
        SrtpProtectionProfile::AeadAes128Gcm,
        None,
    );
}
