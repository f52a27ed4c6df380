//! Suite `pc-coturn-relay`: two Tern peer connections (tokio driver, real UDP sockets on
//! 127.0.0.1) with `iceServers = [turn:127.0.0.1:<port>]` and `iceTransportPolicy: relay`, through
//! coturn's `turnserver` (long-term credentials, loopback peers allowed). Only relayed candidates
//! are signalled, both ends select a relay–relay pair, and a data channel carries messages
//! byte-exact both ways (small ones in order and a 200 KiB one). The TCP cases give one peer
//! `turn:…?transport=tcp` (RFC 8656 §3.1: the driver opens a TCP connection to coturn and the
//! allocation lives on it); its selected local candidate must report `relayProtocol: tcp`.
//! The TLS cases give it `turns:localhost:<tls port>` instead (RFC 7065): coturn serves a
//! certificate for `localhost` issued by a throwaway CA (openssl CLI) that the peer trusts through
//! `RtcConfig::tls_root_certificates`; `relayProtocol` must read `tls`. The same server refused
//! — an untrusted CA, or a host (127.0.0.1) the certificate does not name — gathers no relayed
//! candidate and nothing else breaks. coturn is killed by PID when the case ends, also on failure.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, IceServer, IceTransportPolicy, PeerConnectionState,
    RtcConfig, RtcEvents, RtcPeer, Stats,
};

/// A throwaway CA and a server certificate issued by it for the DNS name `localhost` only (no IP
/// address), made with the openssl CLI in a directory removed on drop.
struct Pki {
    dir: PathBuf,
    /// The CA certificate, DER.
    ca: Vec<u8>,
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("tern-turns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl on PATH");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        for key in ["ca.key", "server.key"] {
            openssl(&[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                key,
            ]);
        }
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=tern test CA",
            "-days",
            "2",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-new",
            "-key",
            "server.key",
            "-subj",
            "/CN=localhost",
            "-out",
            "server.csr",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]);
        openssl(&["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
        let ca = std::fs::read(dir.join("ca.der")).unwrap();
        Pki { dir, ca }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port: bind, read, release (the namespace is ours alone).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// coturn, killed by PID on drop.
struct Coturn {
    child: Child,
    port: u16,
    /// TLS over TCP (`turns:`) is served here when coturn was given a certificate.
    tls_port: Option<u16>,
}

impl Coturn {
    /// With `pki`, coturn also serves TURN over TLS with its server certificate.
    fn start_with(pki: Option<&Pki>) -> Coturn {
        let port = free_port();
        let mut args: Vec<String> = [
            "-n",
            "--lt-cred-mech",
            "--user",
            "u:p",
            "--realm",
            "tern",
            "--allow-loopback-peers",
            "--no-dtls",
            "--no-cli",
            "-L",
            "127.0.0.1",
            "--relay-ip",
            "127.0.0.1",
            "--log-file",
            "stdout",
        ]
        .map(String::from)
        .to_vec();
        args.extend(["--listening-port".into(), port.to_string()]);
        let tls_port = pki.map(|pki| {
            let tls_port = free_port();
            args.extend([
                "--tls-listening-port".into(),
                tls_port.to_string(),
                "--cert".into(),
                pki.path("server.pem"),
                "--pkey".into(),
                pki.path("server.key"),
            ]);
            tls_port
        });
        if pki.is_none() {
            args.push("--no-tls".into());
        }
        let child = Command::new("turnserver")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver (coturn) on PATH");
        let coturn = Coturn {
            child,
            port,
            tls_port,
        };
        coturn.wait_ready();
        if let Some(tls_port) = tls_port {
            wait_listening(tls_port);
        }
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

/// Until something accepts TCP connections on 127.0.0.1:`port`.
fn wait_listening(port: u16) {
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("coturn does not accept TLS connections on 127.0.0.1:{port}");
}

/// How a peer reaches coturn.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Via {
    Udp,
    Tcp,
    /// `turns:localhost:<tls port>`, trusting the test CA.
    Tls,
}

impl Via {
    /// W3C `relayProtocol` of a candidate allocated this way.
    fn relay_protocol(self) -> &'static str {
        match self {
            Via::Udp => "udp",
            Via::Tcp => "tcp",
            Via::Tls => "tls",
        }
    }
}

/// A relay-only configuration with one TURN URL (its host `127.0.0.1` or `localhost`, which the
/// tokio driver resolves) and these extra trusted roots.
fn relay_config(url: String, roots: Vec<Vec<u8>>) -> RtcConfig {
    RtcConfig {
        ice_servers: vec![IceServer {
            urls: vec![url],
            username: Some("u".into()),
            credential: Some("p".into()),
        }],
        tls_root_certificates: roots,
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

/// Peer a reaches coturn `a_via` (b always over UDP).
async fn run(a_offers: bool, a_via: Via) {
    let pki = (a_via == Via::Tls).then(Pki::new);
    let coturn = Coturn::start_with(pki.as_ref());
    eprintln!(
        "pc-coturn-relay: {} on 127.0.0.1:{} (a over {a_via:?})",
        Coturn::version(),
        coturn.port,
    );
    let port = coturn.port;
    let (a_url, roots) = match (a_via, &pki, coturn.tls_port) {
        (Via::Udp, _, _) => (format!("turn:127.0.0.1:{port}?transport=udp"), vec![]),
        (Via::Tcp, _, _) => (format!("turn:127.0.0.1:{port}?transport=tcp"), vec![]),
        (Via::Tls, Some(pki), Some(tls_port)) => {
            (format!("turns:localhost:{tls_port}"), vec![pki.ca.clone()])
        }
        (Via::Tls, _, _) => unreachable!("TLS needs the PKI"),
    };
    let bind: [SocketAddr; 1] = ["127.0.0.1:0".parse().unwrap()];
    // One side names the server by host name: the driver resolves it.
    let (a, mut a_events) = RtcPeer::spawn(relay_config(a_url, roots), &bind)
        .await
        .unwrap();
    let b_url = format!("turn:localhost:{port}?transport=udp");
    let (b, mut b_events) = RtcPeer::spawn(relay_config(b_url, vec![]), &bind)
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
    // TCP, one to its TLS port exactly when a uses TLS (coturn's own accepted end is listed with
    // the port as its local one).
    assert_eq!(
        tcp_connections_to(coturn.port),
        usize::from(a_via == Via::Tcp),
        "established TCP connections to coturn"
    );
    if let Some(tls_port) = coturn.tls_port {
        assert_eq!(
            tcp_connections_to(tls_port),
            1,
            "established TCP connections to coturn's TLS port"
        );
    }
    for (peer, via) in [(&a, a_via), (&b, Via::Udp)] {
        let (local, remote, relay_protocol) = selected_types(peer).await;
        assert_eq!((local.as_str(), remote.as_str()), ("relay", "relay"));
        assert_eq!(
            relay_protocol.as_deref(),
            Some(via.relay_protocol()),
            "relayProtocol of the selected local candidate"
        );
    }
    eprintln!(
        "pc-coturn-relay: relay–relay pair (a's relay over {a_via:?}), {} + {} messages byte-exact ({} and {} candidates)",
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
    run(true, Via::Udp).await;
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_tern_b_offers() {
    run(false, Via::Udp).await;
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_over_tcp_tern_a_offers() {
    run(true, Via::Tcp).await;
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_over_tcp_tern_b_offers() {
    run(false, Via::Tcp).await;
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_over_tls_tern_a_offers() {
    run(true, Via::Tls).await;
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn relay_only_through_coturn_over_tls_tern_b_offers() {
    run(false, Via::Tls).await;
}

/// Starts gathering on a relay-only peer and returns the candidates signalled until gathering
/// completes.
async fn gather(config: RtcConfig) -> Vec<String> {
    let bind: [SocketAddr; 1] = ["127.0.0.1:0".parse().unwrap()];
    let (peer, mut events) = RtcPeer::spawn(config, &bind).await.unwrap();
    peer.create_data_channel("c", DataChannelInit::default())
        .await
        .unwrap();
    let offer = peer.create_offer().await.unwrap();
    peer.set_local_description(offer).await.unwrap();
    let mut candidates = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events
                .recv()
                .await
                .expect("the connection task ended early")
            {
                Event::LocalCandidate(c) => candidates.push(c),
                Event::IceGatheringComplete => return,
                _ => {}
            }
        }
    })
    .await
    .expect("gathering never completed");
    peer.close().await;
    candidates
}

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all (suite pc-coturn-relay)"]
async fn turns_refuses_an_untrusted_or_misnamed_certificate() {
    let pki = Pki::new();
    let coturn = Coturn::start_with(Some(&pki));
    let tls_port = coturn.tls_port.unwrap();
    // The control: the same server, trusted and named as its certificate says, gives a relay.
    let trusted = gather(relay_config(
        format!("turns:localhost:{tls_port}"),
        vec![pki.ca.clone()],
    ))
    .await;
    assert!(
        trusted.iter().any(|c| c.contains(" typ relay")),
        "no relayed candidate through a trusted turns: server: {trusted:?}"
    );
    // The system's roots do not include the test CA.
    let untrusted = gather(relay_config(format!("turns:localhost:{tls_port}"), vec![])).await;
    assert_eq!(untrusted, Vec::<String>::new(), "untrusted CA");
    // The certificate names `localhost`, not the address.
    let misnamed = gather(relay_config(
        format!("turns:127.0.0.1:{tls_port}"),
        vec![pki.ca.clone()],
    ))
    .await;
    assert_eq!(misnamed, Vec::<String>::new(), "certificate without the IP");
    // Roots that do not parse are the application's error, reported at spawn.
    let bind: [SocketAddr; 1] = ["127.0.0.1:0".parse().unwrap()];
    let err = RtcPeer::spawn(
        relay_config(
            format!("turns:localhost:{tls_port}"),
            vec![vec![0x30, 0x03, 1, 2, 3]],
        ),
        &bind,
    )
    .await
    .err()
    .expect("a malformed root is refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    drop(coturn);
}
