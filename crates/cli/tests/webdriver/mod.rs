//! What the `tern serve` browser suites share: child processes killed by process group, a
//! temporary profile directory, `tern serve` with its output kept, and a minimal WebDriver
//! client — over HTTP to chromedriver driving headless Chromium, or over Marionette (Firefox's
//! built-in remote protocol, the one geckodriver speaks) straight to headless Firefox.
#![allow(dead_code)] // each suite uses its own part of this

/// Firefox's binary and the profile preferences the browser suites use.
#[path = "../../../peerconnection/tests/support/browser.rs"]
#[allow(clippy::collapsible_if)]
mod browser;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process (and the process group it leads) killed by PID when dropped.
pub struct Guard {
    pub child: Child,
    what: &'static str,
}

impl Guard {
    pub fn spawn(what: &'static str, command: &mut Command) -> Guard {
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
        // The child leads its own process group: that group holds it and what it started
        // (chromedriver's Chromium and its helpers), so kill exactly that group, by our PID.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("stopped {} (pid {})", self.what, self.child.id());
    }
}

/// A temporary directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "tern-serve-{what}-{}-{}",
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} never listened on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Chromium binary: `$TERN_CHROMIUM`, else Debian's real binary (chromedriver cannot start
/// the `/usr/bin/chromium` shell wrapper), else `chromium` on PATH.
pub fn chromium() -> String {
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

/// The Firefox binary (`$TERN_FIREFOX`, else Debian's `firefox-esr`).
pub fn firefox() -> String {
    browser::Firefox::binary()
}

pub fn chromedriver() -> String {
    std::env::var("TERN_CHROMEDRIVER").unwrap_or("chromedriver".into())
}

pub fn version(program: &str) -> String {
    Command::new(program)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// `tern serve` on a free loopback port with `args` after `--port`; its output is echoed with a
/// prefix and kept.
pub struct Serve {
    pub port: u16,
    log: mpsc::Receiver<String>,
    seen: Vec<String>,
    _guard: Guard,
}

impl Serve {
    pub fn start(args: &[&str]) -> Serve {
        let port = free_port();
        let (tx, log) = mpsc::channel();
        let mut guard = Guard::spawn(
            "tern serve",
            Command::new(env!("CARGO_BIN_EXE_tern"))
                .args(["serve", "--port", &port.to_string()])
                .args(args)
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
    pub fn wait_for_line(&mut self, text: &str, deadline: Instant) -> String {
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

/// One HTTP/1.1 exchange on a fresh connection. The body is read by its `Content-Length`
/// (chromedriver keeps the connection open after answering).
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
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

/// How commands reach the browser.
enum Transport {
    /// W3C WebDriver over HTTP to chromedriver.
    Chromedriver { port: u16, session: String },
    /// Marionette: `<length>:<JSON>` frames on one TCP connection, commands
    /// `[0, id, name, params]`, replies `[1, id, error, result]`.
    Marionette {
        stream: TcpStream,
        next_id: AtomicU64,
    },
}

/// A WebDriver session driving a headless browser.
pub struct WebDriver {
    transport: Transport,
    /// The browser's PID (it leads a process group of its own).
    browser_pid: Option<u64>,
    _guard: Guard,
    _profile: TempDir,
}

/// The W3C WebDriver key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

impl WebDriver {
    /// Headless Chromium with the flags every suite needs plus `extra_args`.
    pub fn start(extra_args: &[&str]) -> WebDriver {
        let port = free_port();
        let guard = Guard::spawn(
            "chromedriver",
            Command::new(chromedriver())
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
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--disable-breakpad",
            "--disable-crash-reporter",
        ]
        .iter()
        .chain(extra_args)
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
        let session = reply["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        let browser_pid = reply["value"]["capabilities"]["goog:processID"].as_u64();
        WebDriver {
            transport: Transport::Chromedriver { port, session },
            browser_pid,
            _guard: guard,
            _profile: profile,
        }
    }

    /// Headless Firefox (ESR) with a fresh profile: real host addresses on loopback, a fake
    /// camera and microphone without asking, autoplay allowed; driven over Marionette.
    pub fn firefox() -> WebDriver {
        let port = free_port();
        let profile = TempDir::new("firefox-profile");
        let prefs = format!(
            "{}user_pref(\"marionette.port\", {port});\n\
             user_pref(\"media.autoplay.default\", 0);\n",
            browser::FIREFOX_PREFS
        );
        std::fs::write(profile.0.join("user.js"), prefs).unwrap();
        let guard = Guard::spawn(
            "firefox",
            Command::new(firefox())
                .args(["--headless", "--marionette", "--no-remote", "--profile"])
                .arg(&profile.0)
                .env("HOME", &profile.0)
                .env("MOZ_CRASHREPORTER_DISABLE", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let browser_pid = Some(u64::from(guard.child.id()));
        wait_for_port(port, "Firefox's Marionette");
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let hello = read_frame(&stream);
        assert_eq!(hello["marionetteProtocol"], 3, "Marionette hello: {hello}");
        let driver = WebDriver {
            transport: Transport::Marionette {
                stream,
                next_id: AtomicU64::new(1),
            },
            browser_pid,
            _guard: guard,
            _profile: profile,
        };
        let session = driver.marionette("WebDriver:NewSession", json!({ "capabilities": {} }));
        let caps = &session["capabilities"];
        eprintln!(
            "Marionette session: {} {}",
            caps["browserName"], caps["browserVersion"]
        );
        driver
    }

    /// One Marionette command; its result (the reply's `value` when it has one).
    fn marionette(&self, name: &str, params: Value) -> Value {
        let Transport::Marionette { stream, next_id } = &self.transport else {
            panic!("not a Marionette session");
        };
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let frame = json!([0, id, name, params]).to_string();
        let mut writer = stream;
        write!(writer, "{}:{frame}", frame.len()).unwrap();
        writer.flush().unwrap();
        loop {
            let reply = read_frame(stream);
            // Replies carry the id of their command; anything else is not ours to read.
            if reply[0] != 1 || reply[1] != id {
                continue;
            }
            assert!(reply[2].is_null(), "Marionette {name}: {}", reply[2]);
            let result = reply[3].clone();
            return match result.get("value") {
                Some(value) => value.clone(),
                None => result,
            };
        }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let Transport::Chromedriver { port, session } = &self.transport else {
            panic!("WebDriver HTTP endpoints are chromedriver's");
        };
        let path = format!("/session/{session}{path}");
        let (status, reply) = http(*port, method, &path, body.as_ref());
        let reply: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
        assert_eq!(status, 200, "WebDriver {method} {path}: {reply}");
        reply["value"].clone()
    }

    /// The W3C command `(method, path)` with `body`, over either transport.
    fn command(&self, marionette: &str, method: &str, path: &str, body: Value) -> Value {
        match self.transport {
            Transport::Chromedriver { .. } => self.call(method, path, Some(body)),
            Transport::Marionette { .. } => self.marionette(marionette, body),
        }
    }

    pub fn open(&self, url: &str) {
        self.command("WebDriver:Navigate", "POST", "/url", json!({ "url": url }));
    }

    pub fn script(&self, script: &str) -> Value {
        let body = json!({ "script": script, "args": [] });
        self.command("WebDriver:ExecuteScript", "POST", "/execute/sync", body)
    }

    pub fn async_script(&self, script: &str) -> Value {
        let body = json!({ "script": script, "args": [] });
        self.command(
            "WebDriver:ExecuteAsyncScript",
            "POST",
            "/execute/async",
            body,
        )
    }

    pub fn element(&self, css: &str) -> String {
        let body = json!({ "using": "css selector", "value": css });
        let found = self.command("WebDriver:FindElement", "POST", "/element", body);
        found
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        let path = format!("/element/{element}/value");
        let body = json!({ "id": element, "text": text });
        self.command("WebDriver:ElementSendKeys", "POST", &path, body);
    }

    pub fn click(&self, css: &str) {
        let element = self.element(css);
        let path = format!("/element/{element}/click");
        self.command(
            "WebDriver:ElementClick",
            "POST",
            &path,
            json!({ "id": element }),
        );
    }

    /// Types `text` into the `tern serve` page's chat box and submits it, until the page counts
    /// it as sent (`chatSent`). A click the driver reports done but the page never saw (once in
    /// a clean-clone run: chatSent stayed 0 with the channel open) is retried with the box
    /// cleared first, at most three times.
    pub fn send_chat(&self, text: &str) {
        let sent = |status: &Value| status["chatSent"].as_u64().unwrap_or(0);
        let before = sent(&self.status());
        for attempt in 1..=3 {
            self.script("document.getElementById('chat-input').value = '';");
            self.type_into("#chat-input", text);
            self.click("#chat-send");
            let until = Instant::now() + Duration::from_secs(3);
            while Instant::now() < until {
                if sent(&self.status()) > before {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            eprintln!("the page did not submit the chat message (attempt {attempt})");
        }
        panic!("the page never sent the chat message: {}", self.status());
    }

    /// The page's `window.ternStatus`.
    pub fn status(&self) -> Value {
        self.script("return window.ternStatus || null;")
    }

    /// Polls `window.ternStatus` until `done` accepts it.
    pub fn wait_for(&self, what: &str, deadline: Instant, done: impl Fn(&Value) -> bool) -> Value {
        loop {
            let status = self.status();
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
        // Ask chromedriver to quit Chromium cleanly first (bounded), then kill what is left:
        // Chromium leads its own process group (its zygotes, GPU and network processes).
        // Firefox is our own child and leads its group: the guard kills it.
        if let Transport::Chromedriver { port, session } = &self.transport {
            let (port, path) = (*port, format!("/session/{session}"));
            let quit = std::thread::spawn(move || {
                let _ = std::panic::catch_unwind(|| http(port, "DELETE", &path, None));
            });
            let deadline = Instant::now() + Duration::from_secs(10);
            while !quit.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
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

/// One Marionette frame, `<length>:<JSON>`, bounded at 16 MiB.
fn read_frame(stream: &TcpStream) -> Value {
    let mut reader = stream;
    let mut length = 0usize;
    loop {
        let mut byte = [0u8; 1];
        reader.read_exact(&mut byte).expect("a Marionette frame");
        match byte[0] {
            b':' => break,
            d @ b'0'..=b'9' => length = length * 10 + usize::from(d - b'0'),
            other => panic!("Marionette frame length: unexpected byte {other}"),
        }
        assert!(length <= 16 << 20, "Marionette frame of {length} bytes");
    }
    let mut body = vec![0u8; length];
    reader
        .read_exact(&mut body)
        .expect("a Marionette frame body");
    serde_json::from_slice(&body).expect("Marionette frame JSON")
}
