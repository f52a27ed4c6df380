//! Our TURN client against coturn's `turnserver` on 127.0.0.1: allocate over UDP and TCP,
//! permission, channel, 1000 datagrams relayed to a loopback UDP echo peer and back
//! byte-exact with zero loss; a wrong password ends in a typed error after bounded retries.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // real sockets, real clock

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tern_turn::{Client, ClientConfig, ClientError, Event, Transport};

/// Kills the child by PID when dropped (also when the test panics).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    // A port free for both UDP and TCP.
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = u.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn start_coturn() -> (ChildGuard, SocketAddr) {
    let port = free_port();
    let child = Command::new("turnserver")
        .args([
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            &format!("--listening-port={port}"),
            "--lt-cred-mech",
            "--user=alice:secret",
            "--realm=tern.test",
            "--allow-loopback-peers",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--log-file=stdout",
            "--min-port=40000",
            "--max-port=44999",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnserver (coturn) on PATH");
    let guard = ChildGuard(child);
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // Wait until it answers a STUN Binding request.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut req = Vec::new();
    let enc = tern_stun::MessageEncoder::new(
        &mut req,
        tern_stun::MessageType::BINDING_REQUEST,
        tern_stun::TransactionId([9; 12]),
    );
    enc.finish();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 1500];
    loop {
        assert!(Instant::now() < deadline, "coturn did not start");
        sock.send_to(&req, server).unwrap();
        if sock.recv_from(&mut buf).is_ok() {
            break;
        }
    }
    // The TCP listener too.
    while TcpStream::connect(server).is_err() {
        assert!(Instant::now() < deadline, "coturn TCP did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, server)
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

enum Conn {
    Udp(UdpSocket),
    Tcp(TcpStream),
}

/// Drives a client over a real socket.
struct Driver {
    client: Client,
    conn: Conn,
    server: SocketAddr,
    events: Vec<Event>,
}

impl Driver {
    fn new(server: SocketAddr, transport: Transport, password: &str) -> Driver {
        let mut config = ClientConfig::new(server, "alice", password);
        config.transport = transport;
        config.software = Some("tern-turn interop".into());
        let conn = match transport {
            Transport::Udp => {
                let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
                Conn::Udp(s)
            }
            Transport::Tcp => {
                let s = TcpStream::connect(server).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
                s.set_nodelay(true).unwrap();
                Conn::Tcp(s)
            }
        };
        Driver {
            client: Client::new(config),
            conn,
            server,
            events: Vec::new(),
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            match &mut self.conn {
                Conn::Udp(s) => {
                    s.send_to(&t.data, t.destination).unwrap();
                }
                Conn::Tcp(s) => s.write_all(&t.data).unwrap(),
            }
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
    }

    /// One round: flush, read what arrived, fire timers.
    fn step(&mut self) {
        self.flush();
        let mut buf = vec![0u8; 65536];
        let now = Instant::now();
        match &mut self.conn {
            Conn::Udp(s) => {
                while let Ok((n, from)) = s.recv_from(&mut buf) {
                    let _ = self.client.handle_receive(Instant::now(), from, &buf[..n]);
                    s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
                }
                s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
            }
            Conn::Tcp(s) => {
                if let Ok(n) = s.read(&mut buf) {
                    assert!(n > 0, "server closed the TCP connection");
                    let _ = self
                        .client
                        .handle_receive(Instant::now(), self.server, &buf[..n]);
                }
            }
        }
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        self.flush();
    }

    fn wait_for(&mut self, what: &str, mut pred: impl FnMut(&Event) -> bool) -> Event {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(i) = self.events.iter().position(&mut pred) {
                return self.events.remove(i);
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.events
            );
            self.step();
        }
    }
}

fn relay_through_coturn(transport: Transport) {
    let (_coturn, server) = start_coturn();
    let peer = EchoPeer::start();
    let mut d = Driver::new(server, transport, "secret");
    d.client.allocate(Instant::now()).unwrap();
    let allocated = d.wait_for("Allocated", |e| matches!(e, Event::Allocated { .. }));
    let Event::Allocated { relayed, .. } = allocated else {
        unreachable!()
    };
    assert_eq!(relayed.ip(), peer.addr.ip());

    d.client
        .create_permission(Instant::now(), peer.addr)
        .unwrap();
    d.wait_for("PermissionCreated", |e| {
        matches!(e, Event::PermissionCreated { .. })
    });

    // A few datagrams as Send indications, echoed back as Data indications.
    for i in 0..5u8 {
        d.client.send_to(peer.addr, &[i; 33]).unwrap();
        let e = d.wait_for("Data (indication)", |e| matches!(e, Event::Data { .. }));
        assert_eq!(
            e,
            Event::Data {
                peer: peer.addr,
                data: vec![i; 33].into()
            }
        );
    }

    let channel = d.client.bind_channel(Instant::now(), peer.addr).unwrap();
    d.wait_for("ChannelBound", |e| matches!(e, Event::ChannelBound { .. }));
    assert_eq!(d.client.channel(peer.addr), Some(channel));

    // 1000 datagrams over the channel, at most 32 in flight, all back byte-exact.
    let payload = |i: u32| -> Vec<u8> {
        let len = 20 + (i as usize * 37) % 1180;
        let mut p = i.to_be_bytes().to_vec();
        p.extend((0..len).map(|k| (k as u32 ^ i) as u8));
        p
    };
    let total = 1000u32;
    let mut next = 0u32;
    let mut received = vec![false; total as usize];
    let mut count = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count < total {
        assert!(Instant::now() < deadline, "only {count} of {total} echoed");
        while next < total && next - count < 32 {
            d.client.send_to(peer.addr, &payload(next)).unwrap();
            next += 1;
        }
        d.step();
        let mut rest = Vec::new();
        for e in d.events.drain(..) {
            match e {
                Event::Data { peer: p, data } => {
                    assert_eq!(p, peer.addr);
                    let i = u32::from_be_bytes(data[..4].try_into().unwrap());
                    assert_eq!(&data[..], &payload(i)[..], "datagram {i} corrupted");
                    assert!(!received[i as usize], "datagram {i} duplicated");
                    received[i as usize] = true;
                    count += 1;
                }
                other => rest.push(other),
            }
        }
        d.events = rest;
    }
    assert!(received.iter().all(|r| *r), "zero loss");

    d.client.refresh(Instant::now()).unwrap();
    d.wait_for("Refreshed", |e| matches!(e, Event::Refreshed { .. }));
    d.client.deallocate(Instant::now()).unwrap();
    d.wait_for("Deallocated", |e| matches!(e, Event::Deallocated));
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn coturn_udp_allocate_permission_channel_relay_1000() {
    relay_through_coturn(Transport::Udp);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn coturn_tcp_allocate_permission_channel_relay_1000() {
    relay_through_coturn(Transport::Tcp);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn coturn_wrong_password_is_a_typed_error() {
    let (_coturn, server) = start_coturn();
    let mut d = Driver::new(server, Transport::Udp, "not-the-password");
    d.client.allocate(Instant::now()).unwrap();
    let e = d.wait_for("Failed", |e| matches!(e, Event::Failed(_)));
    assert_eq!(e, Event::Failed(ClientError::Unauthorized { attempts: 2 }));
}
