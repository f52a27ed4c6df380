//! The cases of suites `pc-chromium-turn` and `pc-firefox-turn`: a headless browser with
//! `iceTransportPolicy: "relay"` reaches a Tern peer only through a TURN server — (a)
//! `tern turn-server` (this crate's binary) and (b) coturn's `turnserver` — over UDP and over TCP
//! to the server, both directions of offer.
//!
//! The page is pc-chromium's (crates/peerconnection/tests/support/interop_page.html) with `?rtc=`
//! carrying the RTCConfiguration; it fails the case unless the selected pair's local candidate is
//! a relay. The Tern peer is the sans-IO `PeerConnection` on a host candidate: every packet
//! between the two crosses the TURN server. In xtask's namespace everything binds the veth address
//! (`TERN_INTEROP_IP`, browsers gather no loopback candidate there); elsewhere 127.0.0.1.

#[path = "../../../peerconnection/tests/support/browser.rs"]
#[allow(dead_code, clippy::collapsible_if)]
mod browser;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use browser::{BrowserProcess, Chromium, Firefox, HttpServer};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, PeerConnection, RtcConfig, SdpType,
    SessionDescriptionInit,
};
use tern_stun::{Message, MessageEncoder, MessageType, TransactionId};

const PAGE: &str = include_str!("../../../peerconnection/tests/support/interop_page.html");
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
const USER: &str = "tern";
const PASSWORD: &str = "relay-only";
const REST_SECRET: &str = "shared-with-the-web-app";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    BrowserOffers,
    TernOffers,
}

/// The browser of the suite (each suite's test target uses one).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(dead_code)]
pub enum Browser {
    Chromium,
    Firefox,
}

impl Browser {
    fn suite(self) -> &'static str {
        match self {
            Browser::Chromium => "pc-chromium-turn",
            Browser::Firefox => "pc-firefox-turn",
        }
    }

    fn version(self) -> String {
        match self {
            Browser::Chromium => Chromium::version(),
            Browser::Firefox => Firefox::version(),
        }
    }

    fn open(self, url: &str) -> BrowserProcess {
        match self {
            Browser::Chromium => Chromium::open(url),
            Browser::Firefox => Firefox::open(url),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TurnServer {
    /// `tern turn-server`, allowed to relay to the Tern peer's (reserved or loopback) address.
    Tern,
    /// `tern turn-server` with its default peer policy: the Tern peer's address is refused.
    TernDefaultPolicy,
    /// `tern turn-server --rest-secret`: the browser gets TURN REST API ephemeral credentials.
    TernRestApi,
    Coturn,
}

/// How long a refused case watches for traffic that must not arrive.
const REFUSED_WATCH: Duration = Duration::from_secs(15);

/// A child process killed by PID when dropped (also on failure).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn interop_ip() -> IpAddr {
    std::env::var("TERN_INTEROP_IP")
        .unwrap_or_else(|_| "127.0.0.1".into())
        .parse()
        .expect("TERN_INTEROP_IP is an IP address")
}

fn free_port(ip: IpAddr) -> u16 {
    let udp = UdpSocket::bind((ip, 0)).unwrap();
    let port = udp.local_addr().unwrap().port();
    // The TCP listener takes the same number: check it is free too.
    if std::net::TcpListener::bind((ip, port)).is_err() {
        return free_port(ip);
    }
    port
}

/// Waits until `server` answers a STUN Binding request over UDP.
fn wait_for_stun(server: SocketAddr) {
    let socket = UdpSocket::bind((server.ip(), 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut request = Vec::new();
    MessageEncoder::new(
        &mut request,
        MessageType::BINDING_REQUEST,
        TransactionId([4; 12]),
    )
    .add_fingerprint()
    .unwrap();
    let mut buf = [0u8; 1500];
    while Instant::now() < deadline {
        let _ = socket.send_to(&request, server);
        if let Ok((n, _)) = socket.recv_from(&mut buf)
            && Message::decode(&buf[..n])
                .is_ok_and(|m| m.message_type() == MessageType::BINDING_SUCCESS)
        {
            return;
        }
    }
    panic!("TURN server {server} never answered a Binding request");
}

/// Starts the TURN server; returns its address and the guard that stops it.
fn start_turn_server(kind: TurnServer, ip: IpAddr) -> (SocketAddr, ChildGuard, String) {
    match kind {
        TurnServer::Tern | TurnServer::TernDefaultPolicy | TurnServer::TernRestApi => {
            // The Tern peer sits on the server's own (reserved or loopback) address: `Tern`
            // re-opens exactly that host; everything else keeps the default policy.
            let mut extra: Vec<String> = if kind == TurnServer::TernDefaultPolicy {
                Vec::new()
            } else {
                vec!["--allow-peer".into(), ip.to_string()]
            };
            if kind == TurnServer::TernRestApi {
                extra.extend(["--rest-secret".into(), REST_SECRET.into()]);
            } else {
                extra.extend(["--user".into(), format!("{USER}:{PASSWORD}")]);
            }
            let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
                .args([
                    "turn-server",
                    "--listen",
                    &format!("{}", SocketAddr::new(ip, 0)),
                ])
                .args(["--realm", "tern.test", "--relay-ports", "50000-52999"])
                .args(&extra)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start tern turn-server");
            let stdout = child.stdout.take().unwrap();
            let guard = ChildGuard(child);
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            // Keep the pipe drained so the server never blocks or fails on its stdout.
            std::thread::spawn(move || for _ in reader.lines() {});
            let addr: SocketAddr = line
                .split("listening on ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no address in `{line}`"));
            wait_for_stun(addr);
            (addr, guard, "tern turn-server".into())
        }
        TurnServer::Coturn => {
            let port = free_port(ip);
            let pidfile =
                std::env::temp_dir().join(format!("tern-coturn-{}-{port}.pid", std::process::id()));
            let child = Command::new("turnserver")
                .args([
                    "-n",
                    "--no-cli",
                    "--no-tls",
                    "--no-dtls",
                    "--log-file=stdout",
                    "--simple-log",
                ])
                .arg(format!("--listening-ip={ip}"))
                .arg(format!("--relay-ip={ip}"))
                .arg(format!("--listening-port={port}"))
                .args([
                    "--lt-cred-mech",
                    &format!("--user={USER}:{PASSWORD}"),
                    "--realm=tern.test",
                ])
                .args([
                    "--min-port=53000",
                    "--max-port=55999",
                    "--allow-loopback-peers",
                ])
                .arg(format!("--pidfile={}", pidfile.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("turnserver (coturn) on PATH");
            let guard = ChildGuard(child);
            let addr = SocketAddr::new(ip, port);
            wait_for_stun(addr);
            let version = Command::new("turnserver")
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            (addr, guard, format!("coturn {version}"))
        }
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn run_case(
    browser: Browser,
    server: TurnServer,
    transport: &str,
    direction: Direction,
    case: &str,
) {
    let suite = browser.suite();
    let ip = interop_ip();
    let (turn, _turn_guard, turn_name) = start_turn_server(server, ip);
    eprintln!(
        "{suite}: {case} ({direction:?}) relay-only via {turn_name} at {turn}/{transport}, against {}",
        browser.version()
    );
    let http = HttpServer::start();
    let socket = UdpSocket::bind((ip, 0)).unwrap();
    let local: SocketAddr = socket.local_addr().unwrap();
    let start = Instant::now();
    let mut pc = PeerConnection::new(RtcConfig::default(), start).unwrap();
    pc.add_local_address(start, local);

    let tern_channel: DataChannelId = pc
        .create_data_channel(start, "tern-opened", DataChannelInit::default())
        .unwrap();
    let tern_offer = if direction == Direction::TernOffers {
        let offer = pc.create_offer(start).unwrap();
        pc.set_local_description(start, offer.clone()).unwrap();
        Some(offer.sdp)
    } else {
        None
    };

    let (username, credential) = if server == TurnServer::TernRestApi {
        // draft-uberti-behave-turn-rest-00 §2.2: `expiry:user`, base64(HMAC-SHA1(secret, it)).
        let expiry = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        let username = format!("{expiry}:browser");
        let password = tern_turn::rest_password(REST_SECRET.as_bytes(), &username).unwrap();
        (username, password)
    } else {
        (USER.to_owned(), PASSWORD.to_owned())
    };
    let rtc = format!(
        r#"{{"iceServers":[{{"urls":["turn:{turn}?transport={transport}"],"username":"{username}","credential":"{credential}"}}],"iceTransportPolicy":"relay"}}"#
    );
    let query = match direction {
        Direction::BrowserOffers => "browser-offers",
        Direction::TernOffers => "tern-offers",
    };
    let _browser = browser.open(&format!(
        "http://127.0.0.1:{}/?direction={query}&case={case}&rtc={}",
        http.port,
        url_encode(&rtc)
    ));

    let mut buf = vec![0u8; 65536];
    let mut result: Option<(bool, String)> = None;
    let mut tern_echoes: Vec<Vec<u8>> = Vec::new();
    let tern_messages: Vec<Vec<u8>> = vec![
        b"hello through the relay".to_vec(),
        vec![0u8, 1, 2, 255],
        vec![7u8; 70_000],
    ];
    let mut tern_sent = false;
    let mut remote_sources = std::collections::BTreeSet::new();
    let mut log = Vec::new();
    let refused = server == TurnServer::TernDefaultPolicy;
    // The browser signalled relay candidates: it allocated on the server.
    let mut relay_candidates_seen = false;
    let deadline = start + if refused { REFUSED_WATCH } else { CASE_TIMEOUT };
    loop {
        let now = Instant::now();
        // Firefox gives up on the channel (ICE fails) and its page reports that; Chromium keeps
        // trying past the watch.
        let gave_up = matches!(&result, Some((false, _)));
        if refused && (now >= deadline || gave_up) {
            // RFC 8656 §21.1.7 / BAD_INPUT row 11: the server refused the permission, so nothing
            // the browser sent reached the Tern peer and no channel opened — although it did
            // allocate a relay on that server.
            assert!(
                relay_candidates_seen,
                "the browser never allocated; page log: {log:?}"
            );
            assert!(
                remote_sources.is_empty(),
                "relayed despite the policy: {remote_sources:?}"
            );
            assert!(
                !log.iter().any(|l: &String| l.contains("DataChannelOpen")),
                "{log:?}"
            );
            eprintln!(
                "{suite}: refused by tern turn-server's default policy: nothing relayed in {:?}{}",
                now.duration_since(start),
                if gave_up { " (the page gave up)" } else { "" }
            );
            return;
        }
        if result.is_some() {
            break;
        }
        assert!(now < deadline, "case {case} timed out; page log: {log:?}");

        while let Ok(request) = http.requests.try_recv() {
            match (
                request.method.as_str(),
                request.path.split('?').next().unwrap_or(""),
            ) {
                ("GET", "/") => request.reply("text/html; charset=utf-8", PAGE),
                ("POST", "/offer") => {
                    let sdp = request.body_text();
                    assert_relay_only(&sdp);
                    relay_candidates_seen = true;
                    let offer = SessionDescriptionInit {
                        sdp_type: SdpType::Offer,
                        sdp,
                    };
                    pc.set_remote_description(now, offer).unwrap();
                    let answer = pc.create_answer(now).unwrap();
                    pc.set_local_description(now, answer.clone()).unwrap();
                    request.reply("application/sdp", answer.sdp);
                }
                ("GET", "/tern-offer") => {
                    request.reply("application/sdp", tern_offer.clone().unwrap_or_default())
                }
                ("POST", "/answer") => {
                    let sdp = request.body_text();
                    assert_relay_only(&sdp);
                    relay_candidates_seen = true;
                    let answer = SessionDescriptionInit {
                        sdp_type: SdpType::Answer,
                        sdp,
                    };
                    pc.set_remote_description(now, answer).unwrap();
                    request.reply("text/plain", "ok");
                }
                ("POST", "/log") => {
                    log.push(request.body_text());
                    request.reply("text/plain", "ok");
                }
                ("POST", "/result") => {
                    let text = request.body_text();
                    result = Some((text.contains("\"ok\":true"), text));
                    request.reply("text/plain", "ok");
                }
                _ => request.reply("text/plain", "not found"),
            }
        }

        let wait = pc
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(10))
            .clamp(Duration::from_millis(1), Duration::from_millis(10));
        socket.set_read_timeout(Some(wait)).unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            remote_sources.insert(from);
            if let Err(e) = pc.handle_receive(Instant::now(), local, from, &buf[..n])
                && std::env::var_os("TERN_DEBUG").is_some()
            {
                eprintln!("dropped {n} bytes from {from}: {e}");
            }
        }
        let now = Instant::now();
        if pc.poll_timeout().is_some_and(|t| t <= now) {
            pc.handle_timeout(now);
        }

        while let Some(event) = pc.poll_event() {
            match event {
                Event::DataChannelMessage { id, data, binary } if id != tern_channel => {
                    pc.send(Instant::now(), id, &data, binary).unwrap();
                }
                Event::DataChannelMessage { id, data, .. } if id == tern_channel => {
                    tern_echoes.push(data)
                }
                Event::DataChannelOpen { id }
                    if id == tern_channel && case == "tern-opens" && !tern_sent =>
                {
                    for (i, m) in tern_messages.iter().enumerate() {
                        pc.send(Instant::now(), tern_channel, m, i != 0).unwrap();
                    }
                    tern_sent = true;
                }
                other => log.push(format!("{other:?}")),
            }
        }
        if case == "tern-opens" && tern_sent && tern_echoes.len() == tern_messages.len() {
            assert_eq!(
                tern_echoes, tern_messages,
                "echoes of tern's messages differ"
            );
            pc.send(Instant::now(), tern_channel, b"done", false)
                .unwrap();
            tern_echoes.push(Vec::new()); // send "done" once
        }
        while let Some(t) = pc.poll_transmit() {
            assert_eq!(t.source, local);
            let _ = socket.send_to(&t.data, t.destination);
        }
    }
    let (ok, detail) = result.unwrap();
    assert!(
        !refused,
        "connected although the server's policy refuses the peer: {detail}"
    );
    eprintln!("{suite}: {case} ({direction:?}) via {turn_name}/{transport}: {detail}");
    assert!(ok, "page reported failure: {detail}\npage log: {log:?}");
    // Everything the browser sent us came from relay ports of the TURN server's relay address.
    assert!(
        remote_sources
            .iter()
            .all(|s| s.ip() == turn.ip() && s.port() != turn.port()),
        "packets from outside the relay: {remote_sources:?}"
    );
}

/// With `iceTransportPolicy: "relay"` the browser signals relay candidates only.
fn assert_relay_only(sdp: &str) {
    let candidates: Vec<&str> = sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert!(
        !candidates.is_empty(),
        "no candidates in the browser's SDP:\n{sdp}"
    );
    for c in &candidates {
        assert!(
            c.contains(" typ relay"),
            "non-relay candidate from the browser: {c}"
        );
    }
}
