//! Headless browsers (Chromium, Firefox) driven by a page served from 127.0.0.1: a tiny HTTP
//! server whose requests reach the test's own loop over a channel (so the peer connection stays
//! single-owner), and a browser process killed by PID when the guard drops — also on failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// One HTTP request from the page; answer it with `reply`.
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
    reply: Sender<(String, Vec<u8>)>,
}

impl Request {
    pub fn reply(self, content_type: &str, body: impl Into<Vec<u8>>) {
        let _ = self.reply.send((content_type.to_string(), body.into()));
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Serves HTTP/1.1 on 127.0.0.1:<ephemeral>, one thread per connection.
pub struct HttpServer {
    pub port: u16,
    pub requests: Receiver<Request>,
}

impl HttpServer {
    pub fn start() -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind http");
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, tx);
                });
            }
        });
        HttpServer { port, requests: rx }
    }
}

fn serve(stream: TcpStream, requests: Sender<Request>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("/").to_string();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let (reply_tx, reply_rx) = channel();
        if requests
            .send(Request {
                method,
                path,
                body,
                reply: reply_tx,
            })
            .is_err()
        {
            return Ok(());
        }
        let (content_type, body) = reply_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or(("text/plain".into(), b"no reply".to_vec()));
        write!(
            writer,
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\r\n",
            body.len()
        )?;
        writer.write_all(&body)?;
        writer.flush()?;
    }
}

/// A headless browser process, started as the leader of its own process group, with a fresh
/// profile directory: killed (the group of our child's PID: the browser and the helpers it
/// forked) and the profile removed when dropped — also on failure.
pub struct BrowserProcess {
    child: Child,
    profile: PathBuf,
}

impl Drop for BrowserProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A fresh, empty profile directory for one browser process.
fn profile_dir(browser: &str) -> PathBuf {
    let profile = std::env::temp_dir().join(format!(
        "tern-{browser}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&profile).unwrap();
    profile
}

/// The browser's stderr: inherited when `$var` is set (for debugging a case), else discarded.
fn log_to(var: &str) -> Stdio {
    if std::env::var_os(var).is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    }
}

/// What `binary --version` prints (empty if it cannot run).
fn version_of(binary: &str) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Headless Chromium.
pub struct Chromium;

impl Chromium {
    pub fn binary() -> String {
        std::env::var("TERN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
    }

    pub fn version() -> String {
        version_of(&Self::binary())
    }

    pub fn open(url: &str) -> BrowserProcess {
        Self::open_with(url, &[])
    }

    /// Like [`Chromium::open`], with extra command-line switches (e.g. `--force-fieldtrials=…`).
    pub fn open_with(url: &str, extra: &[&str]) -> BrowserProcess {
        let profile = profile_dir("chromium");
        let child = Command::new(Self::binary())
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                // Host candidates on loopback, as real addresses rather than mDNS names.
                "--allow-loopback-in-peer-connection",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--remote-debugging-port=0",
            ])
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_to("TERN_CHROMIUM_LOG"))
            .spawn()
            .expect("start chromium");
        BrowserProcess { child, profile }
    }
}

/// What a fresh Firefox profile needs for these tests: host candidates as real addresses (also
/// on loopback) rather than mDNS names, fake camera and microphone without a permission prompt,
/// and none of the first-run, update or telemetry traffic.
pub const FIREFOX_PREFS: &str = r#"user_pref("media.peerconnection.ice.loopback", true);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("app.update.disabledForTesting", true);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
"#;

/// Headless Firefox (ESR), no WebDriver: the page drives itself.
pub struct Firefox;

impl Firefox {
    pub fn binary() -> String {
        std::env::var("TERN_FIREFOX").unwrap_or_else(|_| "/usr/bin/firefox-esr".into())
    }

    pub fn version() -> String {
        version_of(&Self::binary())
    }

    pub fn open(url: &str) -> BrowserProcess {
        let profile = profile_dir("firefox");
        std::fs::write(profile.join("user.js"), FIREFOX_PREFS).unwrap();
        let child = Command::new(Self::binary())
            .args(["--headless", "--no-remote", "--profile"])
            .arg(&profile)
            .arg(url)
            // Firefox writes its caches under $HOME: keep them in the profile we delete.
            .env("HOME", &profile)
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_to("TERN_FIREFOX_LOG"))
            .spawn()
            .expect("start firefox");
        BrowserProcess { child, profile }
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}
