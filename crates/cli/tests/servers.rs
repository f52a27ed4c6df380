//! `tern turn-server` and `tern stun-server` as processes on 127.0.0.1: coturn's
//! `turnutils_uclient` / `turnutils_stunclient` against them (ignored: suite `cli-servers-coturn`),
//! and our own STUN/TURN clients against them (plain tests, no peer needed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // real sockets, real clock

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tern_stun::attributes::{MappedAddress, XorMappedAddress};
use tern_stun::{Message, MessageEncoder, MessageType, TransactionId};
use tern_turn::{Client, ClientConfig, ClientError, Event};

/// A child process killed by PID when dropped (also when the test panics).
struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// Waits with a timeout; returns (exited successfully, stdout).
    fn output(mut self, timeout: Duration) -> (bool, String) {
        let mut child = self.0.take().unwrap();
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        (status.is_some_and(|s| s.success()), out)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `tern <command> <args>` running; its bound address read from its first line.
struct TernServer {
    addr: SocketAddr,
    /// Every later line the command prints.
    lines: std::sync::mpsc::Receiver<String>,
    _child: ChildGuard,
}

impl TernServer {
    fn start(command: &str, args: &[&str]) -> TernServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
            .arg(command)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tern");
        let stdout = child.stdout.take().unwrap();
        let guard = ChildGuard(Some(child));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let lines = BufReader::new(stdout).lines();
            // Keeps the pipe drained for as long as the server runs.
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("tern printed no listening line");
        let addr = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in `{line}`"));
        TernServer {
            addr,
            lines: rx,
            _child: guard,
        }
    }

    fn turn(extra: &[&str]) -> TernServer {
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--realm",
            "tern.test",
            "--user",
            "alice:secret",
            "--relay-ports",
            "46000-47999",
        ];
        args.extend_from_slice(extra);
        TernServer::start("turn-server", &args)
    }
}

/// A UDP echo peer on loopback, stopped on drop.
struct EchoPeer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoPeer {
    fn start() -> EchoPeer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !flag.load(Ordering::Relaxed) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(&buf[..n], from);
                }
            }
        });
        EchoPeer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EchoPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn uclient(
    server: SocketAddr,
    peer: SocketAddr,
    credentials: &[&str],
    extra: &[&str],
) -> (bool, String) {
    let port = server.port().to_string();
    let peer_port = peer.port().to_string();
    let mut args: Vec<&str> = credentials.to_vec();
    args.extend_from_slice(&[
        "-e",
        "127.0.0.1",
        "-r",
        &peer_port,
        "-p",
        &port,
        "-n",
        "100",
        "-l",
        "170",
        "-z",
        "5",
        "-c",
    ]);
    args.extend_from_slice(extra);
    args.push("127.0.0.1");
    let child = Command::new("turnutils_uclient")
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnutils_uclient (coturn) on PATH");
    ChildGuard(Some(child)).output(Duration::from_secs(60))
}

fn assert_all_relayed(ok: bool, out: &str) {
    assert!(ok, "uclient failed:\n{out}");
    assert!(
        out.contains("Total lost packets 0 ("),
        "packets lost:\n{out}"
    );
    assert!(
        out.contains("tot_send_msgs=100, tot_recv_msgs=100"),
        "not all 100 messages relayed:\n{out}"
    );
}

const ALICE: &[&str] = &["-u", "alice", "-w", "secret"];
/// Loopback peers must be allowed explicitly; uclient picks RFC 5766 channel numbers.
const TEST_POLICY: &[&str] = &["--allow-peer", "127.0.0.0/8", "--legacy-channels"];

#[test]
#[ignore = "interop: run by cargo xtask test-all (suite cli-servers-coturn)"]
fn uclient_relays_through_tern_turn_server_over_udp() {
    let server = TernServer::turn(TEST_POLICY);
    let peer = EchoPeer::start();
    let (ok, out) = uclient(server.addr, peer.addr, ALICE, &[]);
    assert_all_relayed(ok, &out);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (suite cli-servers-coturn)"]
fn uclient_relays_through_tern_turn_server_over_tcp() {
    let server = TernServer::turn(TEST_POLICY);
    let peer = EchoPeer::start();
    let (ok, out) = uclient(server.addr, peer.addr, ALICE, &["-t"]);
    assert_all_relayed(ok, &out);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (suite cli-servers-coturn)"]
fn uclient_send_indications_through_tern_turn_server() {
    let server = TernServer::turn(TEST_POLICY);
    let peer = EchoPeer::start();
    let (ok, out) = uclient(server.addr, peer.addr, ALICE, &["-s"]);
    assert_all_relayed(ok, &out);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (suite cli-servers-coturn)"]
fn uclient_rest_api_credentials_from_the_shared_secret() {
    // `-W secret`: uclient derives `expiry:user` and base64(HMAC-SHA1(secret, username)).
    let server = TernServer::start(
        "turn-server",
        &[
            "--listen",
            "127.0.0.1:0",
            "--rest-secret",
            "s3cret",
            "--allow-peer",
            "127.0.0.0/8",
            "--legacy-channels",
        ],
    );
    let peer = EchoPeer::start();
    let (ok, out) = uclient(server.addr, peer.addr, &["-u", "bob", "-W", "s3cret"], &[]);
    assert_all_relayed(ok, &out);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (suite cli-servers-coturn)"]
fn uclient_wrong_password_relays_nothing() {
    let server = TernServer::turn(TEST_POLICY);
    let peer = EchoPeer::start();
    let (ok, out) = uclient(server.addr, peer.addr, &["-u", "alice", "-w", "wrong"], &[]);
    assert!(
        !ok || !out.contains("tot_recv_msgs=100"),
        "relayed with a wrong password:\n{out}"
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (suite cli-servers-coturn)"]
fn stunclient_against_tern_stun_server() {
    // (Not `-f`: RFC 5780 behaviour discovery needs a second address; the server does not
    // implement it.)
    let server = TernServer::start("stun-server", &["--listen", "127.0.0.1:0"]);
    let child = Command::new("turnutils_stunclient")
        .args(["-p", &server.addr.port().to_string(), "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnutils_stunclient (coturn) on PATH");
    let (ok, out) = ChildGuard(Some(child)).output(Duration::from_secs(20));
    assert!(ok, "stunclient failed:\n{out}");
    assert!(
        out.contains("UDP reflexive addr: 127.0.0.1:"),
        "no reflexive address in:\n{out}"
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (suite cli-servers-coturn)"]
fn stunclient_against_tern_turn_server() {
    // The TURN server answers plain Binding requests too (RFC 8656 §3.3).
    let server = TernServer::turn(&[]);
    let child = Command::new("turnutils_stunclient")
        .args(["-p", &server.addr.port().to_string(), "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnutils_stunclient (coturn) on PATH");
    let (ok, out) = ChildGuard(Some(child)).output(Duration::from_secs(20));
    assert!(
        ok && out.contains("UDP reflexive addr: 127.0.0.1:"),
        "{out}"
    );
}

// ---- Our own clients against the commands: no peer needed, run in every `cargo test`. ----

fn binding_request(tid: [u8; 12]) -> Vec<u8> {
    let mut req = Vec::new();
    MessageEncoder::new(&mut req, MessageType::BINDING_REQUEST, TransactionId(tid))
        .add_fingerprint()
        .unwrap();
    req
}

fn assert_binding_success(response: &[u8], tid: [u8; 12], expected: SocketAddr, mapped: bool) {
    let m = Message::decode(response).unwrap();
    assert_eq!(m.message_type(), MessageType::BINDING_SUCCESS);
    assert_eq!(m.transaction_id(), TransactionId(tid));
    assert_eq!(
        m.get::<XorMappedAddress>().unwrap(),
        Some(XorMappedAddress(expected))
    );
    assert_eq!(m.get::<MappedAddress>().unwrap().is_some(), mapped);
}

#[test]
fn stun_server_answers_over_udp_and_tcp() {
    let server = TernServer::start(
        "stun-server",
        &["--listen", "127.0.0.1:0", "--mapped-address"],
    );

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    udp.send_to(b"not stun at all, dropped", server.addr)
        .unwrap();
    udp.send_to(&binding_request([1; 12]), server.addr).unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = udp.recv_from(&mut buf).unwrap();
    assert_eq!(from, server.addr);
    assert_binding_success(&buf[..n], [1; 12], udp.local_addr().unwrap(), true);

    // TCP: two requests back to back in one write, delivered as two framed responses.
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut both = binding_request([2; 12]);
    both.extend_from_slice(&binding_request([3; 12]));
    tcp.write_all(&both).unwrap();
    for tid in [[2; 12], [3; 12]] {
        let mut header = [0u8; 20];
        tcp.read_exact(&mut header).unwrap();
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let mut message = header.to_vec();
        message.resize(20 + len, 0);
        tcp.read_exact(&mut message[20..]).unwrap();
        assert_binding_success(&message, tid, tcp.local_addr().unwrap(), true);
    }
    // Something that is not STUN closes the connection.
    tcp.write_all(&[
        0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ])
    .unwrap();
    let mut rest = Vec::new();
    assert_eq!(tcp.read_to_end(&mut rest).unwrap_or(0), 0);
}

/// Drives a sans-IO TURN client over a real UDP socket until `done` says so or 20 s pass.
fn drive(
    client: &mut Client,
    sock: &UdpSocket,
    mut done: impl FnMut(&Event) -> bool,
) -> Vec<Event> {
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut events = Vec::new();
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        while let Some(t) = client.poll_transmit() {
            sock.send_to(&t.data, t.destination).unwrap();
        }
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            let _ = client.handle_receive(Instant::now(), from, &buf[..n]);
        }
        if client.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            client.handle_timeout(Instant::now());
        }
        while let Some(e) = client.poll_event() {
            let finished = done(&e);
            events.push(e);
            if finished {
                return events;
            }
        }
    }
    panic!("timed out; events so far: {events:?}");
}

#[test]
fn turn_server_default_policy_refuses_loopback_peers_and_allow_list_reopens_them() {
    let peer = EchoPeer::start();
    for (extra, allowed) in [
        (&[][..], false),
        (&["--allow-peer", "127.0.0.0/8", "--stats", "0.2"][..], true),
    ] {
        let server = TernServer::turn(extra);
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut config = ClientConfig::new(server.addr, "alice", "secret");
        config.seed = Some([9; 32]);
        let mut client = Client::new(config);
        client.allocate(Instant::now()).unwrap();
        let events = drive(&mut client, &sock, |e| {
            matches!(e, Event::Allocated { .. } | Event::Failed(_))
        });
        assert!(
            matches!(events.last(), Some(Event::Allocated { .. })),
            "{events:?}"
        );
        client.create_permission(Instant::now(), peer.addr).unwrap();
        let events = drive(&mut client, &sock, |e| {
            matches!(
                e,
                Event::PermissionCreated { .. } | Event::PermissionFailed { .. }
            )
        });
        match events.last() {
            Some(Event::PermissionCreated { peer: ip }) if allowed => {
                assert_eq!(*ip, peer.addr.ip());
                client
                    .send_to(peer.addr, b"through tern turn-server")
                    .unwrap();
                let events = drive(&mut client, &sock, |e| matches!(e, Event::Data { .. }));
                let Some(Event::Data { peer: from, data }) = events.last() else {
                    unreachable!()
                };
                assert_eq!(
                    (*from, &data[..]),
                    (peer.addr, &b"through tern turn-server"[..])
                );
                // `--stats`: the counters show the allocation and the datagram both ways.
                let want = "1 allocations, 1 datagrams relayed to peers, 1 to clients, 0 dropped";
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut seen = Vec::new();
                while !seen.iter().any(|l: &String| l.contains(want)) {
                    assert!(Instant::now() < deadline, "no `{want}` in {seen:?}");
                    if let Ok(line) = server.lines.recv_timeout(Duration::from_millis(500)) {
                        seen.push(line);
                    }
                }
            }
            // RFC 8656 §21.1.7 / BAD_INPUT row 11: 403 Forbidden by default.
            Some(Event::PermissionFailed { error, .. }) if !allowed => {
                assert!(
                    matches!(error, ClientError::ErrorResponse { code: 403, .. }),
                    "{error:?}"
                );
            }
            other => panic!("allowed={allowed}: {other:?}"),
        }
    }
}

#[test]
fn turn_server_refuses_bad_flags() {
    for args in [
        &["--listen", "127.0.0.1:0"][..],
        &["--user", "alice:pw", "--frobnicate"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tern"))
            .arg("turn-server")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    }
}

#[test]
fn turn_server_sha256_flag_lets_a_sha256_only_client_relay() {
    use tern_turn::PasswordAlgorithm;
    let peer = EchoPeer::start();
    let allocate = |server: &TernServer| {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut config = ClientConfig::new(server.addr, "alice", "secret");
        config.seed = Some([7; 32]);
        // Accepting only SHA-256 proves the whole exchange used it (RFC 8489 §9.2).
        config.password_algorithms = vec![PasswordAlgorithm::Sha256];
        let mut client = Client::new(config);
        client.allocate(Instant::now()).unwrap();
        let events = drive(&mut client, &sock, |e| {
            matches!(e, Event::Allocated { .. } | Event::Failed(_))
        });
        (client, sock, events)
    };

    let md5_only = TernServer::turn(&["--allow-peer", "127.0.0.0/8"]);
    let (_, _, events) = allocate(&md5_only);
    assert!(
        matches!(
            events.last(),
            Some(Event::Failed(ClientError::NoCommonPasswordAlgorithm))
        ),
        "{events:?}"
    );

    let sha256 = TernServer::turn(&["--allow-peer", "127.0.0.0/8", "--sha256"]);
    let (mut client, sock, events) = allocate(&sha256);
    assert!(
        matches!(events.last(), Some(Event::Allocated { .. })),
        "{events:?}"
    );
    client.create_permission(Instant::now(), peer.addr).unwrap();
    drive(&mut client, &sock, |e| {
        matches!(e, Event::PermissionCreated { .. })
    });
    client.send_to(peer.addr, b"sha-256 relayed").unwrap();
    let events = drive(&mut client, &sock, |e| matches!(e, Event::Data { .. }));
    assert!(
        matches!(events.last(), Some(Event::Data { data, .. }) if &data[..] == b"sha-256 relayed"),
        "{events:?}"
    );
}
