//! Suite `pc-coturn-relay`: two Tern peer connections (tokio driver, real UDP sockets on
//! 127.0.0.1) with `iceServers = [turn:127.0.0.1:<port>]` and `iceTransportPolicy: relay`, through
//! coturn's `turnserver` (long-term credentials, loopback peers allowed). Only relayed candidates
//! are signalled, both ends select a relay–relay pair, and a data channel carries messages
//! byte-exact both ways (small ones in order and a 200 KiB one). The TCP cases give one peer
//! `turn:…?transport=tcp` (RFC 8656 §3.1: the driver opens a TCP connection to coturn and the
//! allocation lives on it); its selected local candidate must report `relayProtocol: tcp`.
//! coturn is killed by PID when the case ends, also on failure.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, IceServer, IceTransportPolicy, PeerConnectionState,
    RtcConfig, RtcEvents, RtcPeer, Stats,
};

/// coturn, killed by PID on drop.
struct Coturn {
    child: Child,
    port: u16,
}

impl Coturn {
    fn start() -> Coturn {
        // A free port: bind, read, release (the namespace is ours alone).
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("turnserver")
            .args([
                "-n",
                "--lt-cred-mech",
                "--user",
                "u:p",
                "--realm",
                "tern",
                "--allow-loopback-peers",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "-L",
                "127.0.0.1",
                "--relay-ip",
                "127.0.0.1",
                "--listening-port",
                &port.to_string(),
                "--log-file",
                "stdout",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver (coturn) on PATH");
        let coturn = Coturn { child, port };
        coturn.wait_ready();
        coturn
    }

    /// Until coturn answers a STUN Binding request (RFC 8489 §6: 20-byte header, no attributes).
    fn wait_ready(&self) {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        request.extend_from_slice(b"tern-probe-1");
        let mut buf = [0u8; 1500];
        for _ in 0..50 {
            let _ = probe.send_to(&request, ("127.0.0.1", self.port));
            if let Ok((n, _)) = probe.recv_from(&mut buf)
                && n >= 20
                && buf[0..2] == [0x01, 0x01]
            {
                return;
            }
        }
        panic!("coturn did not answer on 127.0.0.1:{}", self.port);
    }

    fn version() -> String {
        Command::new("turnserver")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `host` is `127.0.0.1` or `localhost` (which the tokio driver resolves); TURN over TCP when
/// `tcp`.
fn relay_config(host: &str, port: u16, tcp: bool) -> RtcConfig {
    let transport = if tcp { "tcp" } else { "udp" };
    RtcConfig {
        ice_servers: vec![IceServer {
            urls: vec![format!("turn:{host}:{port}?transport={transport}")],
            username: Some("u".into()),
            credential: Some("p".into()),
        }],
        ice_transport_policy: IceTransportPolicy::Relay,
        ..RtcConfig::default()
    }
}

/// The payloads each side sends: 100 small ones of varying length, then 200 KiB.
fn payloads(seed: u8) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..100u32)
        .map(|i| {
            (0..1 + i * 13 % 1000)
                .map(|j| (j as u8).wrapping_mul(31).wrapping_add(seed) ^ i as u8)
                .collect()
        })
        .collect();
    out.push((0..200 * 1024u32).map(|j| (j % 251) as u8 ^ seed).collect());
    out
}

/// The selected pair's local and remote candidate types and the local one's `relayProtocol`,
/// from `stats()` (W3C names).
async fn selected_types(peer: &RtcPeer) -> (String, String, Option<String>) {
    let stats = peer.stats().await.unwrap().stats;
    let pair_id = stats
        .iter()
        .find_map(|s| match s {
            Stats::Transport(t) => t.selected_candidate_pair_id.clone(),
            _ => None,
        })
        .expect("a selected candidate pair");
    let pair = stats
        .iter()
        .find_map(|s| match s {
            Stats::CandidatePair(p) if p.id == pair_id => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    let kind = |id: &str| {
        stats
            .iter()
            .find_map(|s| match s {
                Stats::LocalCandidate(c) | Stats::RemoteCandidate(c) if c.id == id => {
                    Some(c.candidate_type.clone())
                }
                _ => None,
            })
            .unwrap()
    };
    let relay_protocol = stats.iter().find_map(|s| match s {
        Stats::LocalCandidate(c) if c.id == pair.local_candidate_id => {
            Some(c.relay_protocol.clone())
        }
        _ => None,
    });
    (
        kind(&pair.local_candidate_id),
        kind(&pair.remote_candidate_id),
        relay_protocol.flatten(),
    )
}

/// Established IPv4 TCP connections whose remote port is `port` (`/proc/net/tcp`: local and
/// remote `ADDR:PORT` in hex, state `01` = ESTABLISHED).
fn tcp_connections_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3
                && fields[3] == "01"
                && fields[2]
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                    == Some(port)
        })
        .count()
}

#[derive(Default)]
struct Side {
    candidates: Vec<String>,
    channel: Option<DataChannelId>,
    open: bool,
    received: Vec<Vec<u8>>,
    connected: bool,
}

impl Side {
    fn take(&mut self, event: Event) {
        match event {
            Event::LocalCandidate(c) => self.candidates.push(c),
            Event::DataChannel { id, .. } => {
                self.channel = Some(id);
                self.open = true;
            }
            Event::DataChannelOpen { .. } => self.open = true,
            Event::DataChannelMessage { data, .. } => self.received.push(data),
            Event::ConnectionStateChange(PeerConnectionState::Connected) => self.connected = true,
            Event::ConnectionStateChange(PeerConnectionState::Failed) => {
                panic!("connection failed")
            }
            _ => {}
        }
    }
}

/// `a_tcp`: peer a reaches coturn over TCP (b always over UDP).
async fn run(a_offers: bool, a_tcp: bool) {
    let coturn = Coturn::start();
    eprintln!(
        "pc-coturn-relay: {} on 127.0.0.1:{} (a over {})",
        Coturn::version(),
        coturn.port,
        if a_tcp { "TCP" } else { "UDP" }
    );
    let bind: [SocketAddr; 1] = ["127.0.0.1:0".parse().unwrap()];
    // One side names the server by host name: the driver resolves it.
    let (a, mut a_events) = RtcPeer::spawn(relay_config("127.0.0.1", coturn.port, a_tcp), &bind)
        .await
        .unwrap();
    let (b, mut b_events) = RtcPeer::spawn(relay_config("localhost", coturn.port, false), &bind)
        .await
        .unwrap();
    let (offerer, answerer) = if a_offers { (&a, &b) } else { (&b, &a) };
    let channel = offerer
        .create_data_channel("relay", DataChannelInit::default())
        .await
        .unwrap();
    let offer = offerer.create_offer().await.unwrap();
    offerer.set_local_description(offer.clone()).await.unwrap();
    answerer.set_remote_description(offer).await.unwrap();
    let answer = answerer.create_answer().await.unwrap();
    answerer
        .set_local_description(answer.clone())
        .await
        .unwrap();
    offerer.set_remote_description(answer).await.unwrap();

    let (mut o, mut r) = (Side::default(), Side::default());
    o.channel = Some(channel);
    let (o_events, r_events): (&mut RtcEvents, &mut RtcEvents) = if a_offers {
        (&mut a_events, &mut b_events)
    } else {
        (&mut b_events, &mut a_events)
    };
    let (to_r, to_o) = (payloads(1), payloads(2));
    let (mut o_trickled, mut r_trickled) = (0, 0);
    let mut sent = false;
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            tokio::select! {
                Some(e) = o_events.recv() => o.take(e),
                Some(e) = r_events.recv() => r.take(e),
            }
            // Trickle ICE (RFC 8838) both ways.
            for c in &o.candidates[o_trickled..] {
                answerer.add_ice_candidate(c).await.unwrap();
            }
            o_trickled = o.candidates.len();
            for c in &r.candidates[r_trickled..] {
                offerer.add_ice_candidate(c).await.unwrap();
            }
            r_trickled = r.candidates.len();
            if o.open && r.open && !sent {
                for m in &to_r {
                    offerer.send(channel, m.clone(), true).await.unwrap();
                }
                let back = r.channel.unwrap();
                for m in &to_o {
                    answerer.send(back, m.clone(), true).await.unwrap();
                }
                sent = true;
            }
            if sent && o.received.len() >= to_o.len() && r.received.len() >= to_r.len() {
                return;
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "timed out: offerer candidates {:?}, answerer candidates {:?}, open {}/{}, received {}/{}",
        o.candidates,
        r.candidates,
        o.open,
        r.open,
        o.received.len(),
        r.received.len()
    );
    // Relay policy: nothing but relayed candidates was signalled, and both ends use a relay pair.
    for c in o.candidates.iter().chain(&r.candidates) {
        assert!(
            c.contains(" typ relay"),
            "non-relay candidate signalled: {c}"
        );
    }
    assert!(!o.candidates.is_empty() && !r.candidates.is_empty());
    assert_eq!(r.received, to_r, "offerer → answerer differs");
    assert_eq!(o.received, to_o, "answerer → offerer differs");
    // The kernel's view: a TCP connection to coturn's port is established exactly when a uses
    // TCP (coturn's own accepted end is listed with the port as its local one).
    assert_eq!(
        tcp_connections_to(coturn.port),
        usize::from(a_tcp),
        "established TCP connections to coturn"
    );
    for (peer, tcp) in [(&a, a_tcp), (&b, false)] {
        let (local, remote, relay_protocol) = selected_types(peer).await;
        assert_eq!((local.as_str(), remote.as_str()), ("relay", "relay"));
        assert_eq!(
            relay_protocol.as_deref(),
            Some(if tcp { "tcp" } else { "udp" }),
            "relayProtocol of the selected local candidate"
        );
    }
    eprintln!(
        "pc-coturn-relay: relay–relay pair (a's relay over {}), {} + {} messages byte-exact ({} and {} candidates)",
        if a_tcp { "TCP" } else { "UDP" },
        to_r.len(),
        to_o.len(),
        o.candidates.len(),
        r.candidates.len()
    );
    a.close().await;
    b.close().await;
    drop(coturn);
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_tern_a_offers() {
    run(true, false).await;
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_tern_b_offers() {
    run(false, false).await;
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_over_tcp_tern_a_offers() {
    run(true, true).await;
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_over_tcp_tern_b_offers() {
    run(false, true).await;
}
