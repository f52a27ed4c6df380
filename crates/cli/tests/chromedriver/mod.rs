//! What the `tern serve` browser suites share: child processes killed by process group, a
//! temporary profile directory, `tern serve` with its output kept, and a minimal WebDriver
//! client for chromedriver driving headless Chromium.
#![allow(dead_code)] // each suite uses its own part of this

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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

/// A chromedriver session driving headless Chromium.
pub struct WebDriver {
    port: u16,
    session: String,
    /// Chromium's PID (chromedriver starts it in a process group of its own).
    browser_pid: Option<u64>,
    _guard: Guard,
    _profile: TempDir,
}

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
            port,
            session,
            browser_pid,
            _guard: guard,
            _profile: profile,
        }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, reply) = http(self.port, method, &path, body.as_ref());
        let reply: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
        assert_eq!(status, 200, "WebDriver {method} {path}: {reply}");
        reply["value"].clone()
    }

    pub fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    pub fn async_script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    pub fn element(&self, css: &str) -> String {
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

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let element = self.element(css);
        self.call(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
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
