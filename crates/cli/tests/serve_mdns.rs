//! Suite `serve-mdns-chromium`: `tern serve --mdns` against headless Chromium, where neither side
//! ever signals an IP address. Chromium hides its host IP behind a `<uuid>.local` name (its
//! default when the page has no camera or microphone permission: the page is opened with
//! `?media=off` and Chromium gets no fake-media flags) and Tern hides its own the same way; each
//! resolves the other's name over mDNS and they connect:
//!
//! - Chromium's candidates and Tern's, as signalled, are `.local` names only;
//! - Tern resolved Chromium's name: `tern serve` reports the resolution and its stats then show
//!   the remote candidate as `host` at Chromium's address and port (a candidate that only a
//!   resolved name can create: learned from a check it would be `prflx`);
//! - Chromium resolved Tern's name: its `getStats()` shows a selected, nominated candidate pair
//!   whose remote candidate is `host` at Tern's port, DTLS and ICE connected;
//! - a passive listener on 224.0.0.251:5353 saw both queries and both answers on the wire;
//! - the chat data channel carries messages both ways (Tern's greeting, the page's message and
//!   Tern's echo of it).
//!
//! Multicast needs an interface that has it: Linux `lo` has no MULTICAST flag and Chromium's
//! mDNS responder skips loopback interfaces. So the test runs itself again inside a network
//! namespace of its own (`unshare -n`, root), with a veth pair whose both ends stay inside it,
//! 10.77.0.1/24 on one end and a default route (Chromium gathers no host candidate without one).
//! Every process it starts (chromedriver, Chromium, `tern serve`) lives in that namespace, and
//! the namespace, its interfaces and addresses vanish with its last process. Every child is
//! killed by process group when its guard drops, also on failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a test driver owns the clock

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tern_peerconnection::mdns;

/// Set in the environment of the test when it runs inside its own namespace.
const INSIDE: &str = "TERN_SERVE_MDNS_NAMESPACE";
/// The namespace's only non-loopback address (RFC 1918, and inside the namespace only).
const IP: &str = "10.77.0.1";
const LINK: &str = "tern-mdns0";
const PEER_LINK: &str = "tern-mdns1";
/// `sh -c` script: the namespace's links, then the test itself (`"$@"`).
const SETUP: &str = "ip link set lo up \
 && ip link add tern-mdns0 type veth peer name tern-mdns1 \
 && ip addr add 10.77.0.1/24 dev tern-mdns0 \
 && ip link set tern-mdns0 multicast on && ip link set tern-mdns1 multicast on \
 && ip link set tern-mdns0 up && ip link set tern-mdns1 up \
 && ip route add default via 10.77.0.2 dev tern-mdns0 \
 && exec \"$@\"";
const TIMEOUT: Duration = Duration::from_secs(90);
const OUTER_TIMEOUT: Duration = Duration::from_secs(150);

mod webdriver;
use webdriver::{Guard, Serve, WebDriver, chromedriver, chromium, version};

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn serve_mdns_chromium_both_ways() {
    if std::env::var_os(INSIDE).is_some() {
        inside();
        return;
    }
    // Run this same test again, alone, in a network namespace of its own.
    let mut guard = Guard::spawn(
        "the test in its network namespace",
        Command::new("unshare")
            .args(["-n", "sh", "-c", SETUP, "sh"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "serve_mdns_chromium_both_ways",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(INSIDE, "1")
            .stdout(Stdio::piped()),
    );
    // The inner run's libtest lines go to stderr, prefixed: only this (outer) test is counted.
    if let Some(stdout) = guard.child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[in namespace] {line}");
            }
        });
    }
    let deadline = Instant::now() + OUTER_TIMEOUT;
    let status = loop {
        if let Some(status) = guard.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the namespaced run timed out after {OUTER_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "the namespaced run failed: {status}");
}

/// The interfaces of the current network namespace (`/proc/self/net/dev` is per namespace).
fn interfaces() -> Vec<String> {
    std::fs::read_to_string("/proc/self/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|name| name.trim().to_string())
        .collect()
}

fn inside() {
    // Never act outside our own namespace: exactly the links SETUP made, nothing else.
    let mut links = interfaces();
    links.sort();
    assert_eq!(
        links,
        ["lo", LINK, PEER_LINK],
        "not in the test's own namespace"
    );
    eprintln!(
        "serve-mdns: {} with {}",
        version(&chromium()),
        version(&chromedriver())
    );
    let deadline = Instant::now() + TIMEOUT;
    let wire = Observer::start();
    let mut serve = Serve::start(&["--room", "serve-mdns", "--ice-ip", IP, "--mdns"]);
    // No fake media and no feature flags: hiding host IPs behind mDNS names is Chromium's
    // default when the page has no camera or microphone permission.
    let browser = WebDriver::start(&[]);
    browser.open(&format!("http://127.0.0.1:{}/?media=off", serve.port));
    let status = browser.wait_for("the chat channel to open", deadline, |s| {
        s["chatOpen"] == true && s["connection"] == "connected"
    });
    eprintln!("serve-mdns: connected: {status}");
    assert_eq!(status["media"], "off");

    // Nothing but names was signalled, either way.
    let names = |list: &Value, whose: &str| -> Vec<(String, u16)> {
        let list = list.as_array().unwrap();
        assert!(!list.is_empty(), "no {whose} candidates: {status}");
        list.iter()
            .map(|c| {
                let c = c.as_str().unwrap();
                let fields: Vec<&str> = c.split(' ').collect();
                assert!(
                    fields[4].ends_with(".local") && fields[4].len() == 36 + 6,
                    "{whose} signalled an address, not a UUID name: {c}"
                );
                (fields[4].to_ascii_lowercase(), fields[5].parse().unwrap())
            })
            .collect()
    };
    let chromium_names = names(&status["localCandidates"], "Chromium's");
    let tern_names = names(&status["remoteCandidates"], "Tern's");
    let (chromium_name, chromium_port) = chromium_names[0].clone();
    let (tern_name, tern_port) = tern_names[0].clone();
    eprintln!(
        "serve-mdns: Chromium is {chromium_name}:{chromium_port}, Tern is {tern_name}:{tern_port}"
    );

    // Tern resolved Chromium's name: the remote candidate is `host` at Chromium's port.
    let line = serve.wait_for_line(&format!("resolved {chromium_name}"), deadline);
    let remote = format!("remote host {IP}:{chromium_port}");
    assert!(
        line.contains(&format!("path: local host {IP}:{tern_port} <-> {remote};")),
        "Tern's stats after resolving: {line}"
    );
    assert!(!line.contains("prflx"), "{line}");

    // Data both ways: Tern's greeting reached the page, the page's message reached Tern, whose
    // echo came back.
    let message = "hello Tern, from Chromium behind an mDNS name";
    browser.send_chat(message);
    let status = browser.wait_for("the chat echo", deadline, |s| {
        s["chatReplies"].as_u64() >= Some(1)
    });
    assert_eq!(status["lastReply"], format!("tern echo: {message}"));
    let log = browser.script("return document.getElementById('chat-log').textContent;");
    assert!(
        log.as_str().unwrap().contains("tern: hello from Tern"),
        "no greeting from Tern: {log}"
    );
    assert_eq!(status["errors"], json!([]), "the page logged errors");

    // Chromium resolved Tern's name: its selected pair's remote candidate is `host` at Tern's
    // port (Chromium does not expose the resolved address: `address` stays empty).
    let stats = browser.async_script(
        "const done = arguments[arguments.length - 1];
         pc.getStats().then(report => {
           const all = [...report.values()];
           const transport = all.find(s => s.type === 'transport');
           const pair = all.find(s => s.id === transport.selectedCandidatePairId);
           done({
             connection: pc.connectionState, transport, pair,
             local: all.find(s => s.id === pair.localCandidateId),
             remote: all.find(s => s.id === pair.remoteCandidateId),
           });
         });",
    );
    eprintln!("serve-mdns: Chromium's getStats(): {stats}");
    assert_eq!(stats["connection"], "connected");
    assert_eq!(stats["transport"]["dtlsState"], "connected");
    assert_eq!(stats["transport"]["iceState"], "connected");
    let pair = &stats["pair"];
    assert_eq!(pair["nominated"], true, "{pair}");
    assert!(
        pair["bytesReceived"].as_u64() > Some(0) && pair["responsesReceived"].as_u64() > Some(0)
    );
    assert_eq!(stats["remote"]["candidateType"], "host", "{stats}");
    assert_eq!(stats["remote"]["port"].as_u64(), Some(u64::from(tern_port)));
    assert_eq!(stats["local"]["candidateType"], "host");
    assert_eq!(
        stats["local"]["port"].as_u64(),
        Some(u64::from(chromium_port))
    );

    // On the wire: each name was asked and answered with the namespace's address.
    let seen = wire.stop();
    let ip: std::net::IpAddr = IP.parse().unwrap();
    for (name, asker, answerer) in [
        (&chromium_name, "Tern", "Chromium"),
        (&tern_name, "Chromium", "Tern"),
    ] {
        let queries: Vec<&mdns::Message> = seen
            .iter()
            .filter(|m| !m.response && m.questions.iter().any(|q| q.name == *name))
            .collect();
        assert!(!queries.is_empty(), "{asker} never asked for {name}");
        eprintln!(
            "serve-mdns: {asker} asked for {answerer}'s name: {:?}",
            queries
                .iter()
                .map(|m| m
                    .questions
                    .iter()
                    .map(|q| format!("type {} {}", q.qtype, if q.unicast { "QU" } else { "QM" }))
                    .collect::<Vec<_>>()
                    .join(" + "))
                .collect::<Vec<_>>()
        );
        assert!(
            seen.iter().any(|m| m.response
                && m.records.iter().any(|r| r.name == *name && r.address == ip)),
            "{answerer} never answered for {name}"
        );
    }
    eprintln!("serve-mdns: OK: both names resolved, chat both ways, Chromium's pair {pair}");
}

/// A passive mDNS listener: every message sent to 224.0.0.251:5353 in the namespace.
struct Observer {
    stop: mpsc::Sender<()>,
    seen: mpsc::Receiver<mdns::Message>,
}

impl Observer {
    fn start() -> Observer {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        socket.set_reuse_address(true).unwrap();
        socket.set_reuse_port(true).unwrap();
        socket
            .bind(&SocketAddr::from((mdns::MDNS_V4.ip().to_owned(), 5353)).into())
            .unwrap();
        let ip: Ipv4Addr = IP.parse().unwrap();
        socket.join_multicast_v4(mdns::MDNS_V4.ip(), &ip).unwrap();
        let socket: UdpSocket = socket.into();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let (stop, stopped) = mpsc::channel();
        let (tx, seen) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; mdns::MAX_PACKET];
            while stopped.try_recv().is_err() {
                if let Ok(n) = socket.recv(&mut buf)
                    && let Ok(message) = mdns::parse(&buf[..n])
                {
                    let _ = tx.send(message);
                }
            }
        });
        Observer { stop, seen }
    }

    fn stop(self) -> Vec<mdns::Message> {
        // Answers may still be in flight.
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.stop.send(());
        self.seen.try_iter().collect()
    }
}
