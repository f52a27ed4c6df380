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
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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

/// A child process (and the process group it leads) killed by PID when dropped.
struct Guard {
    child: Child,
    what: &'static str,
}

impl Guard {
    fn spawn(what: &'static str, command: &mut Command) -> Guard {
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Guard { child, what }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // The child leads its own process group (with what it started): kill exactly that group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!(
            "serve-mdns: stopped {} (pid {})",
            self.what,
            self.child.id()
        );
    }
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "tern-serve-mdns-{what}-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
            .env(INSIDE, "1"),
    );
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
        version("chromedriver")
    );
    let deadline = Instant::now() + TIMEOUT;
    let wire = Observer::start();
    let mut serve = Serve::start();
    let browser = WebDriver::start();
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
    browser.type_into("#chat-input", message);
    browser.click("#chat-send");
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} never listened on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Chromium binary: `$TERN_CHROMIUM`, else Debian's real binary (chromedriver cannot start
/// the `/usr/bin/chromium` shell wrapper), else `chromium` on PATH.
fn chromium() -> String {
    std::env::var("TERN_CHROMIUM").unwrap_or_else(|_| {
        let debian = "/usr/lib/chromium/chromium";
        if std::path::Path::new(debian).exists() {
            debian
        } else {
            "chromium"
        }
        .into()
    })
}

fn version(program: &str) -> String {
    Command::new(program)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// `tern serve --mdns` on a free port, ICE on the namespace's address; its output is echoed
/// with a prefix and kept.
struct Serve {
    port: u16,
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
    _guard: Guard,
}

impl Serve {
    fn start() -> Serve {
        let port = free_port();
        let (tx, log) = mpsc::channel();
        let mut guard = Guard::spawn(
            "tern serve --mdns",
            Command::new(env!("CARGO_BIN_EXE_tern"))
                .args(["serve", "--port", &port.to_string(), "--room", "serve-mdns"])
                .args(["--ice-ip", IP, "--mdns"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let streams = [
            guard
                .child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            guard
                .child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("[tern serve] {line}");
                    let _ = tx.send(line);
                }
            });
        }
        wait_for_port(port, "tern serve");
        Serve {
            port,
            log,
            seen: Vec::new(),
            _guard: guard,
        }
    }

    /// Waits until `tern serve` printed a line containing `text`.
    fn wait_for_line(&mut self, text: &str, deadline: Instant) -> String {
        loop {
            if let Some(line) = self.seen.iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(wait.max(Duration::from_millis(1))) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "tern serve never printed {text:?}; it printed {:?}",
                    self.seen
                ),
            }
        }
    }
}

/// One HTTP/1.1 exchange with chromedriver on a fresh connection (body by `Content-Length`).
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length: Option<usize> = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap() == 0 {
            break;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body).unwrap();
        }
        None => {
            reader.read_to_end(&mut body).unwrap();
        }
    }
    (status, body)
}

/// A chromedriver session driving headless Chromium: no fake media, no feature flags (hiding
/// host IPs behind mDNS names is Chromium's default).
struct WebDriver {
    port: u16,
    session: String,
    browser_pid: Option<u64>,
    _guard: Guard,
    _profile: TempDir,
}

impl WebDriver {
    fn start() -> WebDriver {
        let port = free_port();
        let guard = Guard::spawn(
            "chromedriver",
            Command::new(std::env::var("TERN_CHROMEDRIVER").unwrap_or("chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        wait_for_port(port, "chromedriver");
        let profile = TempDir::new("profile");
        let args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--disable-breakpad",
            "--disable-crash-reporter",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.0.display())])
        .collect();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium(), "args": args },
        }}});
        let (status, body) = http(port, "POST", "/session", Some(&capabilities));
        let reply: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "chromedriver refused the session: {reply}");
        let session = reply["value"]["sessionId"].as_str().unwrap().to_string();
        let browser_pid = reply["value"]["capabilities"]["goog:processID"].as_u64();
        WebDriver {
            port,
            session,
            browser_pid,
            _guard: guard,
            _profile: profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, reply) = http(self.port, method, &path, body.as_ref());
        let reply: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
        assert_eq!(status, 200, "WebDriver {method} {path}: {reply}");
        reply["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn async_script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn element(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let element = self.element(css);
        self.call(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    /// Polls `window.ternStatus` until `done` accepts it.
    fn wait_for(&self, what: &str, deadline: Instant, done: impl Fn(&Value) -> bool) -> Value {
        loop {
            let status = self.script("return window.ternStatus || null;");
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; ternStatus = {status}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        // Ask chromedriver to quit Chromium (bounded by the read timeout), then kill what is left:
        // Chromium leads its own process group (zygotes, GPU and network processes).
        let (port, path) = (self.port, format!("/session/{}", self.session));
        let quit = std::thread::spawn(move || {
            let _ = std::panic::catch_unwind(|| http(port, "DELETE", &path, None));
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !quit.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(pid) = self.browser_pid {
            for target in [format!("-{pid}"), pid.to_string()] {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &target])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}
