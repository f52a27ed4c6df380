//! coturn's `turnutils_uclient` and `turnutils_stunclient` against OUR server runner on
//! 127.0.0.1 (loopback peers allowed by the allow-list), over UDP and TCP; plus our own client
//! against our runner over real sockets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // real sockets, real clock

mod running_server;
use running_server::RunningServer;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tern_turn::{Client, ClientConfig, Event, PeerPolicy, ServerConfig};

/// Kills the child by PID when dropped (also when the test panics).
struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// Waits for the child with a timeout and returns its stdout.
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
            use std::io::Read;
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

/// Our server (UDP and TCP) as turnutils expects it.
fn start_server() -> RunningServer {
    start_server_with(false)
}

/// `sha256`: offer the SHA-256 password algorithm before MD5 (RFC 8489 §9.2).
fn start_server_with(sha256: bool) -> RunningServer {
    let mut config =
        ServerConfig::new("tern.test", "127.0.0.1".parse().unwrap()).with_user("alice", "secret");
    if sha256 {
        config = config.with_sha256();
    }
    config.relay_ports = 45000..=49999;
    // Tests relay on loopback: allow it explicitly (the default denies it).
    config.peer_policy = PeerPolicy::allowing(["127.0.0.0/8".parse().unwrap()]);
    // turnutils_uclient picks channel numbers in RFC 5766's 0x4000–0x7FFF.
    config.legacy_channel_range = true;
    RunningServer::start(config, true, None)
}

/// A UDP echo peer on loopback, stopped on drop.
struct EchoPeer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoPeer {
    fn start() -> EchoPeer {
        EchoPeer::start_on(UdpSocket::bind("127.0.0.1:0").unwrap())
    }

    fn start_on(sock: UdpSocket) -> EchoPeer {
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

fn uclient(server: &RunningServer, peer: &EchoPeer, extra: &[&str]) -> (bool, String) {
    let port = server.addr.port().to_string();
    let peer_port = peer.addr.port().to_string();
    let mut args = vec![
        "-u",
        "alice",
        "-w",
        "secret",
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
    ];
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

fn assert_no_loss(ok: bool, out: &str) {
    assert!(ok, "uclient failed:\n{out}");
    let lost = out
        .lines()
        .find(|l| l.contains("Total lost packets"))
        .unwrap_or_else(|| panic!("no loss line in:\n{out}"));
    assert!(lost.contains("Total lost packets 0 ("), "{lost}\n{out}");
    // uclient -n 100 -m 1: every message sent came back through our relay.
    assert!(
        out.contains("tot_send_msgs=100, tot_recv_msgs=100"),
        "not all 100 messages relayed:\n{out}"
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn uclient_udp_channels_against_our_server() {
    let server = start_server();
    let peer = EchoPeer::start();
    let (ok, out) = uclient(&server, &peer, &[]);
    assert_no_loss(ok, &out);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn uclient_rfc5389_md5_against_our_sha256_offering_server() {
    // turnutils_uclient knows no PASSWORD-ALGORITHMS: it ignores the nonce cookie and signs
    // with MD5 and MESSAGE-INTEGRITY, which RFC 8489 §9.2.4 has the server accept (neither
    // algorithm attribute: MD5) while MD5 is offered.
    let server = start_server_with(true);
    let peer = EchoPeer::start();
    let (ok, out) = uclient(&server, &peer, &[]);
    assert_no_loss(ok, &out);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn uclient_rtp_rtcp_pairs_with_even_port_reservations() {
    // Without -c, uclient allocates an RTP relay with EVEN-PORT (R bit) and an RTCP relay
    // with the RESERVATION-TOKEN it got back.
    let server = start_server();
    // RTCP goes to the peer's port + 1: echo there too.
    let (peer, _rtcp_peer) = loop {
        let rtp = EchoPeer::start();
        let next = SocketAddr::new(rtp.addr.ip(), rtp.addr.port().wrapping_add(1));
        if let Ok(sock) = UdpSocket::bind(next) {
            break (rtp, EchoPeer::start_on(sock));
        }
    };
    let port = server.addr.port().to_string();
    let peer_port = peer.addr.port().to_string();
    let child = Command::new("turnutils_uclient")
        .args([
            "-u",
            "alice",
            "-w",
            "secret",
            "-e",
            "127.0.0.1",
            "-r",
            &peer_port,
            "-p",
            &port,
            "-n",
            "50",
            "-l",
            "170",
            "-z",
            "5",
            "127.0.0.1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnutils_uclient on PATH");
    let (ok, out) = ChildGuard(Some(child)).output(Duration::from_secs(60));
    assert!(ok, "uclient failed:\n{out}");
    assert!(out.contains("Total lost packets 0 ("), "{out}");
    assert!(!out.contains("error"), "{out}");
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn uclient_udp_send_indications_against_our_server() {
    let server = start_server();
    let peer = EchoPeer::start();
    let (ok, out) = uclient(&server, &peer, &["-s"]);
    assert_no_loss(ok, &out);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn uclient_tcp_against_our_server() {
    let server = start_server();
    let peer = EchoPeer::start();
    let (ok, out) = uclient(&server, &peer, &["-t"]);
    assert_no_loss(ok, &out);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn uclient_wrong_password_is_refused() {
    let server = start_server();
    let peer = EchoPeer::start();
    let port = server.addr.port().to_string();
    let peer_port = peer.addr.port().to_string();
    let child = Command::new("turnutils_uclient")
        .args([
            "-u",
            "alice",
            "-w",
            "wrong",
            "-e",
            "127.0.0.1",
            "-r",
            &peer_port,
            "-p",
            &port,
            "-n",
            "5",
            "-c",
            "127.0.0.1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnutils_uclient on PATH");
    let (ok, out) = ChildGuard(Some(child)).output(Duration::from_secs(30));
    assert!(!ok || !out.contains("Total lost packets 0 ("), "{out}");
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn stunclient_binding_against_our_server() {
    let server = start_server();
    let child = Command::new("turnutils_stunclient")
        .args(["-p", &server.addr.port().to_string(), "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnutils_stunclient on PATH");
    let (ok, out) = ChildGuard(Some(child)).output(Duration::from_secs(20));
    assert!(ok, "stunclient failed:\n{out}");
    assert!(
        out.contains("127.0.0.1:"),
        "no reflexive address in:\n{out}"
    );
}

#[test]
fn our_client_against_our_runner_over_real_udp() {
    let server = start_server();
    let peer = EchoPeer::start();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut config = ClientConfig::new(server.addr, "alice", "secret");
    config.seed = Some([5; 32]);
    let mut client = Client::new(config);
    let mut events = Vec::new();
    let step = |client: &mut Client, events: &mut Vec<Event>| {
        while let Some(t) = client.poll_transmit() {
            sock.send_to(&t.data, t.destination).unwrap();
        }
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let _ = client.handle_receive(Instant::now(), from, &buf[..n]);
        }
        if client.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            client.handle_timeout(Instant::now());
        }
        while let Some(t) = client.poll_transmit() {
            sock.send_to(&t.data, t.destination).unwrap();
        }
        while let Some(e) = client.poll_event() {
            events.push(e);
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    client.allocate(Instant::now()).unwrap();
    while client.relayed_address().is_none() {
        assert!(Instant::now() < deadline, "{events:?}");
        step(&mut client, &mut events);
    }
    client.create_permission(Instant::now(), peer.addr).unwrap();
    client.bind_channel(Instant::now(), peer.addr).unwrap();
    while client.channel(peer.addr).is_none() {
        assert!(Instant::now() < deadline, "{events:?}");
        step(&mut client, &mut events);
    }
    for i in 0..200u32 {
        client.send_to(peer.addr, &i.to_be_bytes()).unwrap();
        let before = events.len();
        while !events[before..]
            .iter()
            .any(|e| matches!(e, Event::Data { data, .. } if data[..] == i.to_be_bytes()))
        {
            assert!(Instant::now() < deadline, "datagram {i} not echoed");
            step(&mut client, &mut events);
        }
    }
    client.deallocate(Instant::now()).unwrap();
    while !events.contains(&Event::Deallocated) {
        assert!(Instant::now() < deadline, "{events:?}");
        step(&mut client, &mut events);
    }
}
