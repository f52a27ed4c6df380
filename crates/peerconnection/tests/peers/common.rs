//! The harness every peer-connection interop suite except `pc-chromium` shares: one blocking UDP
//! loop drives Tern's sans-IO [`PeerConnection`] with `Instant::now()`, and the peer — a script in
//! this folder speaking a line protocol on stdin/stdout — runs as a child process killed by PID
//! when the case ends, also on failure.
//!
//! ## The line protocol (one command per line; SDP travels hex-encoded so it fits on a line)
//!
//! test → peer:
//! - `offer LABEL ORDERED MAXRTX`: create a peer connection, open channel LABEL (`-` = an unused
//!   `control` channel, so the offer has an m=application for Tern's channel; ORDERED `1`/`0`;
//!   MAXRTX a number or `-1` for reliable), create an offer, wait until ICE gathering completes,
//!   print `offer HEX`.
//! - `answer LABEL ORDERED MAXRTX HEX`: apply the offer HEX, answer, wait for gathering, print
//!   `answer HEX`, then open channel LABEL.
//! - `remote-answer HEX`: apply our answer.
//!
//! peer → test: `offer HEX`, `answer HEX`, `log TEXT`, `error TEXT` (the case fails).
//!
//! The peer echoes every message on every channel (its own and ours), keeping text as text and
//! binary as binary. The test sends each case's messages from Tern and checks every echo
//! byte-exact, so both directions of every message are verified.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, PeerConnection, PeerConnectionState, RtcConfig, SdpType,
    SessionDescriptionInit,
};

/// Every case ends within this, pass or fail.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a partially reliable case waits for echoes after its last send.
const SUBSET_WAIT: Duration = Duration::from_secs(5);

/// Who creates the offer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// The peer offers, Tern answers.
    PeerOffers,
    /// Tern offers, the peer answers.
    TernOffers,
}

/// The address Tern binds (xtask's namespace sets `TERN_INTEROP_IP`); the peer is told it too.
pub fn interop_ip() -> String {
    std::env::var("TERN_INTEROP_IP").unwrap_or_else(|_| "127.0.0.1".into())
}

/// This folder (the peer scripts).
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("peers")
}

/// The first line a command prints (stdout, else stderr), for version strings.
pub fn command_output(program: &str, args: &[&str], envs: &[(&str, String)]) -> String {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    for (k, v) in envs {
        command.env(k, v);
    }
    match command.output() {
        Ok(o) => {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        }
        Err(e) => format!("<{program}: {e}>"),
    }
}

/// The `node_modules` folder holding the Node peers' packages (`$TERN_NODE_MODULES`; xtask
/// installs them under `target/`).
pub fn node_modules() -> PathBuf {
    std::env::var_os("TERN_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/node/node_modules")
        })
}

/// `node node_peer.js STACK` with the packages on `NODE_PATH`.
pub fn node_peer(stack: &str) -> Command {
    let mut command = Command::new(std::env::var("TERN_NODE").unwrap_or_else(|_| "node".into()));
    command
        .arg(peers_dir().join("node_peer.js"))
        .arg(stack)
        .env("NODE_PATH", node_modules());
    command
}

/// The `version` field of an installed Node package's `package.json`.
pub fn node_package_version(package: &str) -> String {
    let manifest = node_modules().join(package).join("package.json");
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    text.split("\"version\"")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .map(str::to_string)
        .unwrap_or_else(|| format!("<no {}>", manifest.display()))
}

/// One line from the peer: its stdout, or its stderr (prefixed `stderr `).
pub struct PeerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl PeerProcess {
    /// Starts `command` as the leader of its own process group, stdio piped.
    pub fn spawn(mut command: Command) -> PeerProcess {
        let mut child = command
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the peer {command:?}: {e}"));
        let (tx, rx) = channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx2.send(format!("stderr {line}")).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        PeerProcess {
            child,
            stdin,
            lines: rx,
        }
    }

    /// Sends one command line.
    pub fn send(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }

    /// The next line, if one is waiting.
    pub fn try_line(&self) -> Option<String> {
        self.lines.try_recv().ok()
    }

    /// Whether the process has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        // The peer leads its own process group: kill that group (the peer and anything it forked),
        // named by our child's PID, then the child itself, and reap it.
        self.stdin = None;
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the echoes of a case are judged.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Policy {
    /// Every echo, in order.
    ExactOrder,
    /// Every echo, any order, no duplicates.
    ExactSet,
    /// Some echoes (at least one), each byte-exact, no duplicates (partial reliability).
    Subset,
}

/// One message: payload and whether it is binary (PPID 53/57) or text (51/56).
type Message = (Vec<u8>, bool);

/// A case: which channel the peer opens and what Tern sends on it.
struct Case {
    /// `None`: Tern opens its own channel (`tern-opened`) and the peer opens none.
    peer_channel: Option<(&'static str, bool, Option<u16>)>,
    policy: Policy,
}

fn case_spec(name: &str) -> Case {
    match name {
        "reliable-ordered" => Case {
            peer_channel: Some(("reliable-ordered", true, None)),
            policy: Policy::ExactOrder,
        },
        "unordered" => Case {
            peer_channel: Some(("unordered", false, None)),
            policy: Policy::ExactSet,
        },
        "max-retransmits-0" => Case {
            peer_channel: Some(("max-retransmits-0", false, Some(0))),
            policy: Policy::Subset,
        },
        "message-256k" => Case {
            peer_channel: Some(("message-256k", true, None)),
            policy: Policy::ExactOrder,
        },
        "many-small" => Case {
            peer_channel: Some(("many-small", true, None)),
            policy: Policy::ExactOrder,
        },
        "tern-opens" => Case {
            peer_channel: None,
            policy: Policy::ExactOrder,
        },
        other => panic!("unknown case {other}"),
    }
}

/// xorshift32 bytes, so payloads are not runs of one value.
fn bytes(n: usize, seed: u32) -> Vec<u8> {
    let mut x = if seed == 0 { 1 } else { seed };
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect()
}

/// `n` messages alternating text and binary of varied sizes.
fn text_and_binary(n: usize) -> Vec<Message> {
    (0..n)
        .map(|i| {
            if i % 2 == 1 {
                (bytes(1 + (i % 200), i as u32 + 1), true)
            } else {
                (format!("m-{i}-{}", "x".repeat(i % 50)).into_bytes(), false)
            }
        })
        .collect()
}

/// RFC 8841 §6.1: a description without a=max-message-size accepts 64 KiB.
fn remote_max_message_size(sdp: &str) -> usize {
    sdp.lines()
        .find_map(|l| l.trim().strip_prefix("a=max-message-size:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map(|v| if v == 0 { usize::MAX } else { v })
        .unwrap_or(65536)
}

fn messages_for(case: &str, peer_max: usize) -> Vec<Message> {
    match case {
        "reliable-ordered" | "unordered" | "max-retransmits-0" => text_and_binary(100),
        "message-256k" => {
            let size = (256 * 1024).min(peer_max);
            vec![(bytes(size, 7), true), (b"after-large".to_vec(), false)]
        }
        "many-small" => (0..1000)
            .map(|i| (format!("small-{i}").into_bytes(), false))
            .collect(),
        "tern-opens" => vec![
            (b"hello from tern".to_vec(), false),
            (vec![0u8, 1, 2, 255], true),
            (bytes(60_000, 3), true),
            ("ünïcødé ✓".as_bytes().to_vec(), false),
        ],
        other => panic!("unknown case {other}"),
    }
}

pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim().as_bytes();
    assert!(text.len().is_multiple_of(2), "odd hex length");
    text.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).expect("hex digit"))
        .collect()
}

fn describe(m: &[u8], binary: bool) -> String {
    if binary {
        format!("<{} binary bytes>", m.len())
    } else {
        let text = String::from_utf8_lossy(m);
        format!("{:?}", text.chars().take(40).collect::<String>())
    }
}

fn judge(policy: Policy, sent: &[Message], got: &[Message]) -> Result<String, String> {
    match policy {
        Policy::ExactOrder => {
            if got.len() != sent.len() {
                return Err(format!("got {}/{} echoes", got.len(), sent.len()));
            }
            for (i, (g, s)) in got.iter().zip(sent).enumerate() {
                if g != s {
                    return Err(format!(
                        "echo {i} differs: {} (binary {}) vs sent {} (binary {})",
                        describe(&g.0, g.1),
                        g.1,
                        describe(&s.0, s.1),
                        s.1
                    ));
                }
            }
            Ok(format!("{} echoes in order, byte-exact", sent.len()))
        }
        Policy::ExactSet | Policy::Subset => {
            let mut seen = HashSet::new();
            for g in got {
                let Some(index) = sent.iter().position(|s| s == g) else {
                    return Err(format!(
                        "unexpected echo {} (binary {})",
                        describe(&g.0, g.1),
                        g.1
                    ));
                };
                if !seen.insert(index) {
                    return Err(format!("duplicate echo of message {index}"));
                }
            }
            if policy == Policy::ExactSet && seen.len() != sent.len() {
                return Err(format!("got {}/{} echoes", seen.len(), sent.len()));
            }
            if seen.is_empty() {
                return Err(format!("no echo at all of {} messages", sent.len()));
            }
            let reordered = got.windows(2).filter(|w| {
                let a = sent.iter().position(|s| *s == w[0]);
                let b = sent.iter().position(|s| *s == w[1]);
                a > b
            });
            Ok(format!(
                "{}/{} echoes byte-exact, no duplicates, {} out of order",
                seen.len(),
                sent.len(),
                reordered.count()
            ))
        }
    }
}

/// Runs one case against the peer `command` starts. `suite` and `version` only label the output.
pub fn run_case(suite: &str, version: &str, command: Command, direction: Direction, case: &str) {
    run_case_capped(suite, version, command, direction, case, None);
}

/// [`run_case`] for a peer that cannot receive as large a message as its description promises:
/// `receive_cap` is `(largest message it takes, why)`, used by `message-256k` and said in the
/// output.
pub fn run_case_capped(
    suite: &str,
    version: &str,
    mut command: Command,
    direction: Direction,
    case: &str,
    receive_cap: Option<(usize, &str)>,
) {
    eprintln!("{suite}: {case} ({direction:?}) against {version}");
    let spec = case_spec(case);
    let debug = std::env::var_os("TERN_DEBUG").is_some();
    let ip = interop_ip();
    let socket = UdpSocket::bind((ip.as_str(), 0)).unwrap();
    let local: SocketAddr = socket.local_addr().unwrap();
    let start = Instant::now();
    let deadline = start + CASE_TIMEOUT;
    let mut pc = PeerConnection::new(RtcConfig::default(), start).unwrap();
    pc.add_local_address(start, local);
    // Tern's own channel: carries `tern-opens` and gives our offer its m=application.
    let tern_channel: DataChannelId = pc
        .create_data_channel(start, "tern-opened", DataChannelInit::default())
        .unwrap();

    command.env("TERN_INTEROP_IP", &ip);
    let mut peer = PeerProcess::spawn(command);
    let channel_args = match spec.peer_channel {
        Some((label, ordered, max_rtx)) => {
            format!(
                "{label} {} {}",
                u8::from(ordered),
                max_rtx.map(i32::from).unwrap_or(-1)
            )
        }
        None => "- 1 -1".to_string(),
    };
    let mut peer_max = 65536;
    match direction {
        Direction::PeerOffers => peer.send(&format!("offer {channel_args}")),
        Direction::TernOffers => {
            let offer = pc.create_offer(start).unwrap();
            pc.set_local_description(start, offer.clone()).unwrap();
            peer.send(&format!(
                "answer {channel_args} {}",
                hex(offer.sdp.as_bytes())
            ));
        }
    }

    let mut buf = vec![0u8; 65536];
    let mut log: Vec<String> = Vec::new();
    let mut active: Option<DataChannelId> = None;
    let mut sent: Vec<Message> = Vec::new();
    let mut got: Vec<Message> = Vec::new();
    let mut sent_at: Option<Instant> = None;
    let mut states = Vec::new();
    let fail = |what: String, log: &[String]| -> ! {
        panic!(
            "{suite}: {case} ({direction:?}) against {version}: {what}\npeer/tern log:\n  {}",
            log.join("\n  ")
        )
    };

    let verdict = loop {
        let now = Instant::now();
        if now >= deadline {
            fail(
                format!(
                    "timed out after {CASE_TIMEOUT:?}: states {states:?}, channel {active:?}, {}/{} echoes",
                    got.len(),
                    sent.len()
                ),
                &log,
            );
        }

        // Signaling and diagnostics from the peer.
        while let Some(line) = peer.try_line() {
            let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match verb {
                "offer" => {
                    let sdp = String::from_utf8(unhex(rest)).unwrap();
                    if debug {
                        eprintln!("peer offer:\n{sdp}");
                    }
                    peer_max = remote_max_message_size(&sdp);
                    let now = Instant::now();
                    if let Err(e) = pc.set_remote_description(
                        now,
                        SessionDescriptionInit {
                            sdp_type: SdpType::Offer,
                            sdp: sdp.clone(),
                        },
                    ) {
                        fail(format!("Tern rejected the peer's offer: {e}\n{sdp}"), &log);
                    }
                    let answer = pc.create_answer(now).unwrap();
                    pc.set_local_description(now, answer.clone()).unwrap();
                    if debug {
                        eprintln!("tern answer:\n{}", answer.sdp);
                    }
                    peer.send(&format!("remote-answer {}", hex(answer.sdp.as_bytes())));
                }
                "answer" => {
                    let sdp = String::from_utf8(unhex(rest)).unwrap();
                    if debug {
                        eprintln!("peer answer:\n{sdp}");
                    }
                    peer_max = remote_max_message_size(&sdp);
                    if let Err(e) = pc.set_remote_description(
                        Instant::now(),
                        SessionDescriptionInit {
                            sdp_type: SdpType::Answer,
                            sdp: sdp.clone(),
                        },
                    ) {
                        fail(format!("Tern rejected the peer's answer: {e}\n{sdp}"), &log);
                    }
                }
                "error" => fail(format!("the peer reported: {rest}"), &log),
                _ => {
                    if debug {
                        eprintln!("peer: {line}");
                    }
                    log.push(format!("peer: {line}"));
                }
            }
        }
        if let Some(status) = peer.exited() {
            // Drain what it said last before failing.
            while let Some(line) = peer.try_line() {
                log.push(format!("peer: {line}"));
            }
            fail(format!("the peer exited early ({status})"), &log);
        }

        // The network.
        let wait = pc
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(10))
            .clamp(Duration::from_millis(1), Duration::from_millis(10));
        socket.set_read_timeout(Some(wait)).unwrap();
        // Read everything that is waiting before running timers, so a burst is handled as one.
        let mut first = true;
        loop {
            if !first {
                socket.set_nonblocking(true).unwrap();
            }
            let received = socket.recv_from(&mut buf);
            if !first {
                socket.set_nonblocking(false).unwrap();
            }
            first = false;
            let Ok((n, from)) = received else { break };
            if let Err(e) = pc.handle_receive(Instant::now(), local, from, &buf[..n])
                && debug
            {
                eprintln!(
                    "tern dropped {n} bytes from {from} (first byte {}): {e}",
                    buf[0]
                );
            }
            flush(&mut pc, &socket, local, debug);
        }
        let now = Instant::now();
        if pc.poll_timeout().is_some_and(|t| t <= now) {
            pc.handle_timeout(now);
        }

        // The application.
        while let Some(event) = pc.poll_event() {
            match event {
                Event::DataChannel {
                    id,
                    label,
                    protocol,
                } => {
                    log.push(format!(
                        "tern: peer opened channel {id:?} {label:?} protocol {protocol:?}"
                    ));
                    if spec.peer_channel.is_some_and(|(want, _, _)| want == label)
                        && active.is_none()
                    {
                        active = Some(id);
                    }
                }
                Event::DataChannelOpen { id } => {
                    log.push(format!("tern: our channel {id:?} is open"));
                    if id == tern_channel && spec.peer_channel.is_none() && active.is_none() {
                        active = Some(id);
                    }
                }
                Event::DataChannelMessage { id, data, binary } if Some(id) == active => {
                    got.push((data, binary))
                }
                Event::ConnectionStateChange(state) => {
                    states.push(state);
                    log.push(format!("tern: connection {state:?}"));
                    if state == PeerConnectionState::Failed {
                        fail("Tern's connection failed".into(), &log);
                    }
                }
                other => log.push(format!("tern: {other:?}")),
            }
        }
        if let (Some(id), None) = (active, sent_at) {
            let largest = match receive_cap {
                Some((cap, why)) if cap < peer_max.min(256 * 1024) => {
                    let note = format!("{why}: the large message is {cap} bytes");
                    eprintln!("{suite}: {case}: {note}");
                    log.push(note);
                    cap
                }
                _ => peer_max,
            };
            sent = messages_for(case, largest);
            if case == "message-256k" && largest == peer_max && peer_max < 256 * 1024 {
                let note = format!(
                    "the peer's a=max-message-size is {peer_max} < 262144: sent a {peer_max}-byte message"
                );
                eprintln!("{suite}: {case}: {note}");
                log.push(note);
            }
            let now = Instant::now();
            for (data, binary) in &sent {
                if let Err(e) = pc.send(now, id, data, *binary) {
                    fail(
                        format!("Tern could not send a {}-byte message: {e}", data.len()),
                        &log,
                    );
                }
            }
            sent_at = Some(now);
        }
        flush(&mut pc, &socket, local, debug);

        // Done?
        if let Some(at) = sent_at {
            let complete = got.len() >= sent.len();
            let waited = Instant::now().saturating_duration_since(at) >= SUBSET_WAIT;
            let done = match spec.policy {
                Policy::ExactOrder | Policy::ExactSet => complete,
                Policy::Subset => complete || waited,
            };
            if done {
                break judge(spec.policy, &sent, &got);
            }
        }
    };
    assert!(
        states.contains(&PeerConnectionState::Connected),
        "{suite}: {case}: echoes arrived but Tern never reported Connected: {states:?}"
    );
    match verdict {
        Ok(detail) => eprintln!("{suite}: {case} ({direction:?}): ok: {detail}"),
        Err(detail) => fail(detail, &log),
    }
}

fn flush(pc: &mut PeerConnection, socket: &UdpSocket, local: SocketAddr, debug: bool) {
    while let Some(t) = pc.poll_transmit() {
        assert_eq!(
            t.source, local,
            "Tern chose a source address it was never given"
        );
        if debug {
            eprintln!(
                "tern sends {} bytes to {} (first byte {})",
                t.data.len(),
                t.destination,
                t.data[0]
            );
        }
        let _ = socket.send_to(&t.data, t.destination);
    }
}

/// One `#[test]` per case and direction: `suite_cases!(run);` where `run(direction, case)` (a
/// function at the test file's root) runs one case. Use with `#[macro_use]` on `mod common`.
macro_rules! suite_cases {
    ($run:ident) => {
        suite_cases!(@dir peer_offers, PeerOffers, $run);
        suite_cases!(@dir tern_offers, TernOffers, $run);
    };
    (@dir $module:ident, $direction:ident, $run:ident) => {
        mod $module {
            use super::common::Direction;
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn reliable_ordered() { super::$run(Direction::$direction, "reliable-ordered") }
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn unordered() { super::$run(Direction::$direction, "unordered") }
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn max_retransmits_0() { super::$run(Direction::$direction, "max-retransmits-0") }
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn message_256k() { super::$run(Direction::$direction, "message-256k") }
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn many_small() { super::$run(Direction::$direction, "many-small") }
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn tern_opens() { super::$run(Direction::$direction, "tern-opens") }
        }
    };
}

/// Media case: Tern and the peer each send an audio and a video track; Tern echoes every
/// packet the peer sends back on its own track of the same kind (so the peer decodes real
/// Opus and VP8 that went through Tern's RTP session and SRTP), forwards keyframe requests, and
/// after `MEDIA_SECONDS` asks the peer for its counters. Line protocol additions: `media-offer`
/// (answered `offer HEX`), `media-answer HEX` (answered `answer HEX`), `stats` (answered
/// `stats in-audio=N in-video=N out-audio=N out-video=N frames-audio=N frames-video=N`).
pub fn run_media_case(suite: &str, version: &str, mut command: Command, direction: Direction) {
    use tern_peerconnection::{KeyframeRequestKind, MediaKind, TransceiverId};
    const MEDIA_SECONDS: Duration = Duration::from_secs(6);
    eprintln!("{suite}: media ({direction:?}) against {version}");
    let debug = std::env::var_os("TERN_DEBUG").is_some();
    let ip = interop_ip();
    let socket = UdpSocket::bind((ip.as_str(), 0)).unwrap();
    let local: SocketAddr = socket.local_addr().unwrap();
    let start = Instant::now();
    let deadline = start + CASE_TIMEOUT;
    let mut pc = PeerConnection::new(RtcConfig::default(), start).unwrap();
    pc.add_local_address(start, local);
    command.env("TERN_INTEROP_IP", &ip);
    let mut peer = PeerProcess::spawn(command);
    let mut audio: Option<TransceiverId> = None;
    let mut video: Option<TransceiverId> = None;
    match direction {
        Direction::PeerOffers => peer.send("media-offer"),
        Direction::TernOffers => {
            audio = Some(
                pc.add_track(MediaKind::Audio, "tern", "tern-audio")
                    .unwrap(),
            );
            video = Some(
                pc.add_track(MediaKind::Video, "tern", "tern-video")
                    .unwrap(),
            );
            let offer = pc.create_offer(start).unwrap();
            if debug {
                eprintln!("tern offer:\n{}", offer.sdp);
            }
            pc.set_local_description(start, offer.clone()).unwrap();
            peer.send(&format!("media-answer {}", hex(offer.sdp.as_bytes())));
        }
    }
    let mut buf = vec![0u8; 65536];
    let mut log: Vec<String> = Vec::new();
    let mut tracks: Vec<(MediaKind, String)> = Vec::new();
    let mut received = [0usize; 2];
    let mut echoed = [0usize; 2];
    let mut keyframe_requests = 0usize;
    let mut connected_at: Option<Instant> = None;
    let mut stats: Option<String> = None;
    let mut asked = false;
    let fail = |what: String, log: &[String]| -> ! {
        panic!(
            "{suite}: media ({direction:?}) against {version}: {what}\npeer/tern log:\n  {}",
            log.join("\n  ")
        )
    };
    loop {
        if Instant::now() >= deadline {
            fail(
                format!("timed out: received {received:?}, echoed {echoed:?}, stats {stats:?}"),
                &log,
            );
        }
        while let Some(line) = peer.try_line() {
            let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match verb {
                "offer" => {
                    let sdp = String::from_utf8(unhex(rest)).unwrap();
                    if debug {
                        eprintln!("peer offer:\n{sdp}");
                    }
                    let now = Instant::now();
                    if let Err(e) = pc.set_remote_description(
                        now,
                        SessionDescriptionInit {
                            sdp_type: SdpType::Offer,
                            sdp: sdp.clone(),
                        },
                    ) {
                        fail(format!("Tern rejected the peer's offer: {e}\n{sdp}"), &log);
                    }
                    // addTrack takes the transceivers the offer created.
                    audio = Some(
                        pc.add_track(MediaKind::Audio, "tern", "tern-audio")
                            .unwrap(),
                    );
                    video = Some(
                        pc.add_track(MediaKind::Video, "tern", "tern-video")
                            .unwrap(),
                    );
                    let answer = pc.create_answer(now).unwrap();
                    if debug {
                        eprintln!("tern answer:\n{}", answer.sdp);
                    }
                    pc.set_local_description(now, answer.clone()).unwrap();
                    peer.send(&format!("remote-answer {}", hex(answer.sdp.as_bytes())));
                }
                "answer" => {
                    let sdp = String::from_utf8(unhex(rest)).unwrap();
                    if debug {
                        eprintln!("peer answer:\n{sdp}");
                    }
                    if let Err(e) = pc.set_remote_description(
                        Instant::now(),
                        SessionDescriptionInit {
                            sdp_type: SdpType::Answer,
                            sdp: sdp.clone(),
                        },
                    ) {
                        fail(format!("Tern rejected the peer's answer: {e}\n{sdp}"), &log);
                    }
                }
                "stats" => stats = Some(rest.to_string()),
                "error" => fail(format!("the peer reported: {rest}"), &log),
                _ => log.push(format!("peer: {line}")),
            }
        }
        if let Some(status) = peer.exited() {
            while let Some(line) = peer.try_line() {
                log.push(format!("peer: {line}"));
            }
            fail(format!("the peer exited early ({status})"), &log);
        }
        socket
            .set_read_timeout(Some(Duration::from_millis(2)))
            .unwrap();
        let mut first = true;
        loop {
            if !first {
                socket.set_nonblocking(true).unwrap();
            }
            let got = socket.recv_from(&mut buf);
            if !first {
                socket.set_nonblocking(false).unwrap();
            }
            first = false;
            let Ok((n, from)) = got else { break };
            if let Err(e) = pc.handle_receive(Instant::now(), local, from, &buf[..n])
                && debug
            {
                eprintln!(
                    "tern dropped {n} bytes from {from} (first byte {}): {e}",
                    buf[0]
                );
            }
            flush(&mut pc, &socket, local, debug);
        }
        let now = Instant::now();
        if pc.poll_timeout().is_some_and(|t| t <= now) {
            pc.handle_timeout(now);
        }
        while let Some(event) = pc.poll_event() {
            match event {
                Event::Track {
                    transceiver,
                    mid,
                    kind,
                    stream_ids,
                    track_id,
                } => {
                    log.push(format!(
                        "tern: track {kind:?} on {transceiver:?} mid {mid} msid {stream_ids:?} {track_id:?}"
                    ));
                    tracks.push((kind, mid));
                }
                Event::Rtp(packet) => {
                    let kind = if Some(packet.transceiver) == audio {
                        0
                    } else if Some(packet.transceiver) == video {
                        1
                    } else {
                        log.push(format!("tern: a packet on {:?}", packet.transceiver));
                        continue;
                    };
                    received[kind] += 1;
                    // Echo on our own track of the same kind (the same sendrecv transceiver).
                    let now = Instant::now();
                    if pc
                        .write_rtp(
                            now,
                            packet.transceiver,
                            &packet.payload,
                            packet.timestamp,
                            packet.marker,
                        )
                        .is_ok()
                    {
                        echoed[kind] += 1;
                    }
                }
                Event::KeyframeRequest { transceiver, .. } => {
                    keyframe_requests += 1;
                    // The frames we send are the peer's: ask it for the keyframe.
                    let _ =
                        pc.request_keyframe(Instant::now(), transceiver, KeyframeRequestKind::Pli);
                }
                Event::ConnectionStateChange(state) => {
                    log.push(format!("tern: connection {state:?}"));
                    if state == PeerConnectionState::Connected {
                        connected_at = Some(Instant::now());
                    }
                    if state == PeerConnectionState::Failed {
                        fail("Tern's connection failed".into(), &log);
                    }
                }
                Event::TargetBitrate { .. } => {}
                other => log.push(format!("tern: {other:?}")),
            }
        }
        flush(&mut pc, &socket, local, debug);
        if let (Some(at), false) = (connected_at, asked)
            && at.elapsed() >= MEDIA_SECONDS
        {
            peer.send("stats");
            asked = true;
        }
        if stats.is_some() {
            break;
        }
    }
    let stats = stats.unwrap_or_default();
    let field = |name: &str| -> u64 {
        stats
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let summary = format!(
        "Tern received audio {} / video {} packets, echoed {} / {}, forwarded {keyframe_requests} keyframe requests; peer: {stats}",
        received[0], received[1], echoed[0], echoed[1]
    );
    log.push(summary.clone());
    let kinds: Vec<MediaKind> = tracks.iter().map(|(k, _)| *k).collect();
    if !(kinds.contains(&MediaKind::Audio) && kinds.contains(&MediaKind::Video)) {
        fail(
            format!("Tern saw tracks {tracks:?}, not audio and video"),
            &log,
        );
    }
    for (what, value) in [
        ("Tern's audio packets", received[0] as u64),
        ("Tern's video packets", received[1] as u64),
        ("peer inbound-rtp audio packetsReceived", field("in-audio")),
        ("peer inbound-rtp video packetsReceived", field("in-video")),
        ("peer decoded audio frames", field("frames-audio")),
        ("peer decoded video frames", field("frames-video")),
    ] {
        if value == 0 {
            fail(format!("{what} is 0: {summary}"), &log);
        }
    }
    eprintln!("{suite}: media ({direction:?}): ok: {summary}");
}

/// One `#[test]` per direction for the media case: `media_cases!(run_media);`.
#[allow(unused_macros)] // suites whose peer does no media leave it unused
macro_rules! media_cases {
    ($run:ident) => {
        mod media {
            use super::common::Direction;
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn peer_offers_audio_video() {
                super::$run(Direction::PeerOffers)
            }
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn tern_offers_audio_video() {
                super::$run(Direction::TernOffers)
            }
        }
    };
}

/// RTP echo case, for peers without codecs of their own (Pion, werift): Tern sends an Opus and a
/// VP8 track (distinct payloads, 20 ms apart); the peer echoes every RTP payload it receives on
/// its own track of the same kind; Tern checks that every payload came back byte-exact, so SRTP
/// and RTP work both ways. Line protocol: `rtp-offer` / `rtp-answer HEX` (answered with `offer
/// HEX` / `answer HEX`), `stats` (answered `stats in-audio=N in-video=N`); with
/// [`EchoStart::PeerReady`] the peer also prints `ready` once its tracks can carry RTP.
pub fn run_rtp_echo_case(suite: &str, version: &str, command: Command, direction: Direction) {
    run_rtp_echo_case_from(suite, version, command, direction, EchoStart::Connected);
}

/// When the RTP echo case starts sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // each suite uses one of them
pub enum EchoStart {
    /// 300 ms after Tern's connection state is `Connected`.
    Connected,
    /// As [`EchoStart::Connected`], and not before the peer has printed `ready` (its tracks are
    /// open: its own DTLS handshake is done, which may be later than Tern's — RTP sent before it
    /// is lost, as RTP may be, and would fail the byte-exact count).
    PeerReady,
}

/// [`run_rtp_echo_case`] with a choice of when to start sending.
pub fn run_rtp_echo_case_from(
    suite: &str,
    version: &str,
    mut command: Command,
    direction: Direction,
    start_when: EchoStart,
) {
    use std::collections::BTreeSet;
    use tern_peerconnection::{MediaKind, TransceiverId};
    const PACKETS: u32 = 100;
    eprintln!("{suite}: rtp-echo ({direction:?}) against {version}");
    let debug = std::env::var_os("TERN_DEBUG").is_some();
    let ip = interop_ip();
    let socket = UdpSocket::bind((ip.as_str(), 0)).unwrap();
    let local: SocketAddr = socket.local_addr().unwrap();
    let start = Instant::now();
    let deadline = start + CASE_TIMEOUT;
    let mut pc = PeerConnection::new(RtcConfig::default(), start).unwrap();
    pc.add_local_address(start, local);
    command.env("TERN_INTEROP_IP", &ip);
    let mut peer = PeerProcess::spawn(command);
    let mut tracks: Option<[TransceiverId; 2]> = None;
    match direction {
        Direction::PeerOffers => peer.send("rtp-offer"),
        Direction::TernOffers => {
            let audio = pc
                .add_track(MediaKind::Audio, "tern", "tern-audio")
                .unwrap();
            let video = pc
                .add_track(MediaKind::Video, "tern", "tern-video")
                .unwrap();
            tracks = Some([audio, video]);
            let offer = pc.create_offer(start).unwrap();
            pc.set_local_description(start, offer.clone()).unwrap();
            peer.send(&format!("rtp-answer {}", hex(offer.sdp.as_bytes())));
        }
    }
    let payload = |kind: usize, i: u32| -> Vec<u8> {
        if kind == 0 {
            // An Opus packet (TOC: CELT FB 20 ms, code 3) followed by a marker index.
            let mut p = vec![0xfc, 0xff, 0xfe];
            p.extend_from_slice(&i.to_be_bytes());
            p
        } else {
            // A VP8 payload descriptor (S=1, partition 0) and i-dependent bytes.
            let mut p = vec![0x10];
            p.extend((0..300 + (i % 50) * 7).map(|j| (j ^ i) as u8));
            p
        }
    };
    let mut buf = vec![0u8; 65536];
    let mut log: Vec<String> = Vec::new();
    let mut connected_at: Option<Instant> = None;
    let mut sent = 0u32;
    let mut last_send = start;
    let mut echoes: [BTreeSet<Vec<u8>>; 2] = [BTreeSet::new(), BTreeSet::new()];
    let mut stats: Option<String> = None;
    let mut asked = false;
    let mut peer_ready = start_when == EchoStart::Connected;
    let fail = |what: String, log: &[String]| -> ! {
        panic!(
            "{suite}: rtp-echo ({direction:?}) against {version}: {what}\npeer/tern log:\n  {}",
            log.join("\n  ")
        )
    };
    loop {
        if Instant::now() >= deadline {
            let got = [echoes[0].len(), echoes[1].len()];
            fail(
                format!("timed out: sent {sent}, echoes {got:?}, stats {stats:?}"),
                &log,
            );
        }
        while let Some(line) = peer.try_line() {
            let (verb, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            let sdp = || String::from_utf8(unhex(rest)).unwrap();
            match verb {
                "offer" => {
                    let now = Instant::now();
                    let offer = sdp();
                    if let Err(e) = pc.set_remote_description(
                        now,
                        SessionDescriptionInit {
                            sdp_type: SdpType::Offer,
                            sdp: offer.clone(),
                        },
                    ) {
                        fail(
                            format!("Tern rejected the peer's offer: {e}\n{offer}"),
                            &log,
                        );
                    }
                    let audio = pc
                        .add_track(MediaKind::Audio, "tern", "tern-audio")
                        .unwrap();
                    let video = pc
                        .add_track(MediaKind::Video, "tern", "tern-video")
                        .unwrap();
                    tracks = Some([audio, video]);
                    let answer = pc.create_answer(now).unwrap();
                    if debug {
                        eprintln!("peer offer:\n{offer}\ntern answer:\n{}", answer.sdp);
                    }
                    pc.set_local_description(now, answer.clone()).unwrap();
                    peer.send(&format!("remote-answer {}", hex(answer.sdp.as_bytes())));
                }
                "answer" => {
                    let answer = sdp();
                    if debug {
                        eprintln!("peer answer:\n{answer}");
                    }
                    if let Err(e) = pc.set_remote_description(
                        Instant::now(),
                        SessionDescriptionInit {
                            sdp_type: SdpType::Answer,
                            sdp: answer.clone(),
                        },
                    ) {
                        fail(
                            format!("Tern rejected the peer's answer: {e}\n{answer}"),
                            &log,
                        );
                    }
                }
                "stats" => stats = Some(rest.to_string()),
                "ready" => {
                    log.push(format!("peer: {line}"));
                    peer_ready = true;
                }
                "error" => fail(format!("the peer reported: {rest}"), &log),
                _ => log.push(format!("peer: {line}")),
            }
        }
        if let Some(status) = peer.exited() {
            while let Some(line) = peer.try_line() {
                log.push(format!("peer: {line}"));
            }
            fail(format!("the peer exited early ({status})"), &log);
        }
        socket
            .set_read_timeout(Some(Duration::from_millis(2)))
            .unwrap();
        let mut first = true;
        loop {
            if !first {
                socket.set_nonblocking(true).unwrap();
            }
            let got = socket.recv_from(&mut buf);
            if !first {
                socket.set_nonblocking(false).unwrap();
            }
            first = false;
            let Ok((n, from)) = got else { break };
            if let Err(e) = pc.handle_receive(Instant::now(), local, from, &buf[..n])
                && debug
            {
                eprintln!(
                    "tern dropped {n} bytes from {from} (first byte {}): {e}",
                    buf[0]
                );
            }
            flush(&mut pc, &socket, local, debug);
        }
        let now = Instant::now();
        if pc.poll_timeout().is_some_and(|t| t <= now) {
            pc.handle_timeout(now);
        }
        while let Some(event) = pc.poll_event() {
            match event {
                Event::Rtp(packet) => {
                    let kind = match tracks {
                        Some([audio, _]) if packet.transceiver == audio => 0,
                        Some([_, video]) if packet.transceiver == video => 1,
                        _ => {
                            log.push(format!("tern: packet on {:?}", packet.transceiver));
                            continue;
                        }
                    };
                    echoes[kind].insert(packet.payload);
                }
                Event::ConnectionStateChange(state) => {
                    log.push(format!("tern: connection {state:?}"));
                    if state == PeerConnectionState::Connected {
                        connected_at = Some(Instant::now());
                    }
                    if state == PeerConnectionState::Failed {
                        fail("Tern's connection failed".into(), &log);
                    }
                }
                Event::TargetBitrate { .. } => {}
                other => log.push(format!("tern: {other:?}")),
            }
        }
        // Send once connected (give the peer's tracks 300 ms to be wired), one packet per
        // kind every 20 ms.
        if let (Some(at), Some([audio, video])) = (connected_at, tracks)
            && at.elapsed() >= Duration::from_millis(300)
            && peer_ready
            && sent < PACKETS
            && last_send.elapsed() >= Duration::from_millis(20)
        {
            let now = Instant::now();
            for (kind, id) in [(0usize, audio), (1, video)] {
                let ts = if kind == 0 { sent * 960 } else { sent * 3000 };
                if let Err(e) = pc.write_rtp(now, id, &payload(kind, sent), ts, kind == 1) {
                    fail(format!("write_rtp: {e}"), &log);
                }
            }
            sent += 1;
            last_send = now;
        }
        flush(&mut pc, &socket, local, debug);
        let complete = echoes[0].len() == PACKETS as usize && echoes[1].len() == PACKETS as usize;
        let waited = sent == PACKETS && last_send.elapsed() >= Duration::from_secs(3);
        if (complete || waited) && !asked {
            peer.send("stats");
            asked = true;
        }
        if stats.is_some() {
            break;
        }
    }
    for (kind, echoed) in echoes.iter().enumerate() {
        let expected: BTreeSet<Vec<u8>> = (0..PACKETS).map(|i| payload(kind, i)).collect();
        let unexpected = echoed.difference(&expected).count();
        let missing = expected.difference(echoed).count();
        if unexpected > 0 || missing > 0 {
            fail(
                format!(
                    "kind {kind}: {missing} of {PACKETS} echoes missing, {unexpected} not sent by Tern; peer {stats:?}"
                ),
                &log,
            );
        }
    }
    // The peer's own counts: every packet Tern sent reached it (decrypted, on the right track),
    // and it saw nothing malformed (`bad=`).
    let peer_stats = stats.clone().unwrap_or_default();
    for (key, value) in peer_stats
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
    {
        let short = matches!(key, "in-audio" | "in-video")
            && value.parse::<u32>().is_ok_and(|n| n < PACKETS);
        if short || key == "bad" {
            fail(
                format!(
                    "the peer's stats say {key}={value} (Tern sent {PACKETS} per kind): {peer_stats}"
                ),
                &log,
            );
        }
    }
    eprintln!(
        "{suite}: rtp-echo ({direction:?}): ok: {PACKETS} Opus + {PACKETS} VP8 payloads echoed byte-exact; peer: {}",
        stats.unwrap_or_default()
    );
}

/// One `#[test]` per direction for the RTP echo case: `rtp_echo_cases!(run_rtp_echo);`.
#[allow(unused_macros)] // suites whose peer does no media leave it unused
macro_rules! rtp_echo_cases {
    ($run:ident) => {
        mod rtp_echo {
            use super::common::Direction;
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn peer_offers_audio_video() {
                super::$run(Direction::PeerOffers)
            }
            #[test]
            #[ignore = "interop: run by cargo xtask test-all"]
            fn tern_offers_audio_video() {
                super::$run(Direction::TernOffers)
            }
        }
    };
}
