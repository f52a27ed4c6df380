//! Interop with coturn (4.6): our client's Binding against coturn's STUN server, and coturn's
//! `turnutils_stunclient` against our binding server. Run by `cargo xtask test-all` (suite
//! `stun-coturn`) inside a loopback-only namespace; by hand:
//! `cargo test -p tern-stun --test interop_coturn -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tern_stun::attributes::{ErrorCode, Software, UnknownAttributes, XorMappedAddress};
use tern_stun::{
    BindingServer, BindingServerConfig, ClientEvent, Message, MessageEncoder, MessageType,
    StunClient, TransactionConfig, TransactionId, TransactionOutcome,
};

/// Kills the child by PID when dropped, also when the test fails.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_coturn() -> (Peer, SocketAddr) {
    let port = free_udp_port();
    let child = Command::new("turnserver")
        .args([
            "-n",
            "--stun-only",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--listening-ip=127.0.0.1",
            &format!("--listening-port={port}"),
            "--log-file=stdout",
            "--simple-log",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnserver (apt-get install coturn)");
    (Peer(child), SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Runs our sans-IO client over a real socket until the transaction ends.
fn transact(socket: &UdpSocket, server: SocketAddr, request: Vec<u8>) -> ClientEvent {
    let mut client = StunClient::new(
        TransactionConfig {
            rto: Duration::from_millis(250),
            ..TransactionConfig::default()
        },
        4,
    );
    client
        .send_request(Instant::now(), server, request)
        .unwrap();
    let mut buf = [0u8; 1500];
    loop {
        while let Some(t) = client.poll_transmit() {
            socket.send_to(&t.data, t.destination).unwrap();
        }
        if let Some(e) = client.poll_event() {
            return e;
        }
        let wait = client
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(10))
            .max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let _ = client.handle_receive(Instant::now(), from, &buf[..n]);
            }
            Err(_) => client.handle_timeout(Instant::now()),
        }
    }
}

fn binding_request(extra: impl FnOnce(&mut MessageEncoder<'_>)) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut rng = rand::thread_rng();
    let mut e = MessageEncoder::new(
        &mut buf,
        MessageType::BINDING_REQUEST,
        TransactionId::random(&mut rng),
    );
    e.add(&Software("tern-stun interop")).unwrap();
    extra(&mut e);
    e.add_fingerprint().unwrap();
    buf
}

/// Waits until coturn answers at all (it takes a moment to bind).
fn wait_ready(socket: &UdpSocket, server: SocketAddr) -> ClientEvent {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let e = transact(socket, server, binding_request(|_| {}));
        if matches!(e.outcome, TransactionOutcome::Response(_)) || Instant::now() > deadline {
            return e;
        }
    }
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn our_client_binding_against_coturn() {
    let (_peer, server) = start_coturn();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let e = wait_ready(&socket, server);
    let TransactionOutcome::Response(bytes) = e.outcome else {
        panic!("coturn did not answer: {:?}", e.outcome)
    };
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.message_type(), MessageType::BINDING_SUCCESS);
    let XorMappedAddress(mapped) = m
        .get::<XorMappedAddress>()
        .unwrap()
        .expect("XOR-MAPPED-ADDRESS");
    assert_eq!(mapped, socket.local_addr().unwrap());
    assert!(
        m.has_fingerprint(),
        "coturn answers a FINGERPRINT request with FINGERPRINT"
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn coturn_rejects_unknown_comprehension_required_attribute_with_420() {
    let (_peer, server) = start_coturn();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    wait_ready(&socket, server);
    let e = transact(
        &socket,
        server,
        binding_request(|e| e.add_raw(0x0077, b"tern").unwrap()),
    );
    let TransactionOutcome::Response(bytes) = e.outcome else {
        panic!("no answer")
    };
    let m = Message::decode(&bytes).unwrap();
    assert_eq!(m.message_type(), MessageType::BINDING_ERROR);
    assert_eq!(m.get::<ErrorCode>().unwrap().unwrap().code, 420);
    assert_eq!(
        m.get::<UnknownAttributes>().unwrap(),
        Some(UnknownAttributes(vec![0x0077]))
    );
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn coturn_stunclient_against_our_binding_server() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = socket.local_addr().unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut server = BindingServer::new(BindingServerConfig {
                software: Some("tern".into()),
                mapped_address: true,
            });
            let mut buf = [0u8; 1500];
            let mut answered = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf) {
                    let _ = server.handle_receive(Instant::now(), local, from, &buf[..n]);
                    while let Some(t) = server.poll_transmit() {
                        socket.send_to(&t.data, t.destination).unwrap();
                        answered += 1;
                    }
                }
            }
            answered
        })
    };
    let out = Command::new("timeout")
        .args([
            "20",
            "turnutils_stunclient",
            "-p",
            &local.port().to_string(),
            "-L",
            "127.0.0.1",
            "127.0.0.1",
        ])
        .output()
        .expect("turnutils_stunclient (apt-get install coturn)");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered = server_thread.join().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("turnutils_stunclient said:\n{text}");
    assert!(
        answered >= 1,
        "our server answered nothing; stunclient said: {text}"
    );
    // "IPv4. UDP reflexive addr: 127.0.0.1:50141": it read our XOR-MAPPED-ADDRESS.
    let reflexive: SocketAddr = text
        .split("reflexive addr: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no reflexive address in: {text}"));
    assert_eq!(reflexive.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_ne!(reflexive.port(), 0);
    assert!(
        !text.to_lowercase().contains("error"),
        "stunclient output: {text}"
    );
}
