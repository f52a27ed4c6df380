//! Side by side with usrsctp (Debian `libusrsctp-dev`): reliable ordered 65535-byte
//! messages, one data channel, SCTP packets as UDP payloads on 127.0.0.1 — the same
//! carriage for every pair. Each endpoint runs in its own thread (tern-sctp) or process
//! (usrsctp, `tests/interop/usrsctp_bulk.c`). The time runs from the first message handed
//! to the sender until the receiver's "done" (sent once every byte arrived) is back.
//!
//! `cargo bench -p tern-sctp --bench vs_usrsctp` (needs `cc` and libusrsctp-dev). Prints one
//! table; rounds of the four pairs are interleaved so machine noise hits them alike. Next
//! to the rate it gives the CPU time both endpoints used per MB (from `/proc`, 10 ms
//! ticks), which a busy shared machine distorts far less than wall-clock rates.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // real time and sockets: a benchmark against a real peer

use std::io::{BufRead, BufReader, ErrorKind};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_sctp::{
    Association, ChannelId, ChannelInit, MessageKind, SctpConfig, SctpEvent, StreamParity,
};

const SIZE: usize = 65_535;
const COUNT: usize = 256; // 16 MiB per run
const ROUNDS: usize = 5;
const LIMIT: Duration = Duration::from_secs(60);

/// Kills a peer process by PID when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn build_bulk() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = dir.join("usrsctp_bulk");
    let tmp = dir.join(format!("usrsctp_bulk.{}.tmp", std::process::id()));
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/usrsctp_bulk.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let ok = Command::new(cc)
        .args(["-O2", "-Wall", "-o"])
        .arg(&tmp)
        .arg(src)
        .args(["-lusrsctp", "-lpthread"])
        .status()
        .expect("C compiler")
        .success();
    assert!(ok, "building the usrsctp peer needs libusrsctp-dev");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

/// Two free UDP ports on 127.0.0.1, as sockets bound to them (dropped before a C peer
/// binds its port).
fn socket_pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    (a, b)
}

fn spawn_usrsctp(
    bin: &Path,
    args: &[String],
    sock: UdpSocket,
    remote: u16,
) -> (Peer, BufReader<std::process::ChildStdout>) {
    let local = sock.local_addr().unwrap().port();
    drop(sock);
    let mut child = Command::new(bin)
        .args(args)
        .args([local.to_string(), remote.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let peer = Peer(child);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "READY");
    (peer, out)
}

fn read_elapsed(out: &mut BufReader<std::process::ChildStdout>) -> Duration {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "usrsctp sender exited"
        );
        if let Some(us) = line.trim().strip_prefix("ELAPSED ") {
            return Duration::from_micros(us.parse().unwrap());
        }
    }
}

enum Role {
    /// Send `COUNT` messages; return the time until "done" came back.
    Send,
    /// Count bytes; answer "done" at `COUNT * SIZE`; run until `stop`.
    Receive(Arc<AtomicBool>),
}

/// A tern-sctp endpoint on `sock` (connected to its peer's port).
fn run_tern(sock: UdpSocket, role: Role) -> Option<Duration> {
    let now = Instant::now();
    let mut assoc = Association::new(
        SctpConfig {
            seed: Some(if matches!(role, Role::Send) {
                [3; 32]
            } else {
                [4; 32]
            }),
            stream_parity: StreamParity::Even,
            ..SctpConfig::default()
        },
        now,
    );
    assoc.connect(now);
    let ch = ChannelId(0);
    assoc
        .open_channel(
            now,
            ChannelInit {
                negotiated_id: Some(0),
                ..ChannelInit::default()
            },
        )
        .unwrap();
    sock.set_nonblocking(true).unwrap();
    let message = Bytes::from((0..SIZE).map(|i| (i * 7) as u8).collect::<Vec<u8>>());
    let target = COUNT * SIZE;
    let deadline = now + LIMIT;
    let mut buf = vec![0u8; 65_536];
    let (mut connected, mut sent, mut received, mut start, mut answered) =
        (false, 0usize, 0usize, None::<Instant>, false);
    loop {
        let now = Instant::now();
        if now > deadline {
            return None;
        }
        if connected && matches!(role, Role::Send) {
            // Keep up to 4 MiB queued: the stack, not the application, sets the pace.
            while sent < COUNT && assoc.buffered_amount(ch) < 4 << 20 {
                assoc
                    .send_bytes(now, ch, message.clone(), MessageKind::Binary)
                    .unwrap();
                start.get_or_insert(now);
                sent += 1;
            }
        }
        while let Some(p) = assoc.poll_transmit() {
            let _ = sock.send(&p);
        }
        while let Some(e) = assoc.poll_event() {
            match e {
                SctpEvent::Connected => connected = true,
                SctpEvent::Message { kind, data, .. } => match (&role, kind) {
                    (Role::Send, MessageKind::Text) if &data[..] == b"done" => {
                        return start.map(|s| s.elapsed());
                    }
                    (Role::Receive(_), MessageKind::Binary) => received += data.len(),
                    _ => {}
                },
                _ => {}
            }
        }
        if let Role::Receive(stop) = &role {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            if received >= target && !answered {
                answered = true;
                assoc.send(now, ch, b"done", MessageKind::Text).unwrap();
                continue;
            }
        }
        // Take every datagram waiting; sleep on the socket only when none is.
        let mut got = false;
        loop {
            match sock.recv(&mut buf) {
                Ok(n) => {
                    got = true;
                    let _ = assoc.handle_receive(Instant::now(), &buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break, // ICMP refused before the peer is up: a lost packet
            }
        }
        let now = Instant::now();
        if assoc.poll_timeout().is_some_and(|t| t <= now) {
            assoc.handle_timeout(now);
        }
        if !got {
            let wait = assoc
                .poll_timeout()
                .map_or(Duration::from_millis(5), |t| {
                    t.saturating_duration_since(now)
                })
                .clamp(Duration::from_micros(50), Duration::from_millis(5));
            sock.set_nonblocking(false).unwrap();
            sock.set_read_timeout(Some(wait)).unwrap();
            if let Ok(n) = sock.recv(&mut buf) {
                let _ = assoc.handle_receive(Instant::now(), &buf[..n]);
            }
            sock.set_nonblocking(true).unwrap();
        }
    }
}

fn mbps(d: Duration) -> f64 {
    (COUNT * SIZE) as f64 / d.as_secs_f64() / 1e6
}

/// User + system CPU time from a `/proc/.../stat` file (clock ticks of 10 ms).
fn stat_cpu(path: &str) -> Duration {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let after = text.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime); `after` starts at field 3.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn thread_cpu() -> Duration {
    stat_cpu("/proc/thread-self/stat")
}

fn process_cpu(p: &Peer) -> Duration {
    stat_cpu(&format!("/proc/{}/stat", p.0.id()))
}

/// A tern-sctp endpoint, with the CPU time its thread used.
fn run_tern_timed(sock: UdpSocket, role: Role) -> (Option<Duration>, Duration) {
    let c0 = thread_cpu();
    let r = run_tern(sock, role);
    (r, thread_cpu().saturating_sub(c0))
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` run passes nothing and
    // should not take a minute.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let bin = build_bulk();
    let names = [
        "usrsctp -> usrsctp",
        "tern -> tern",
        "tern -> usrsctp",
        "usrsctp -> tern",
    ];
    let recv_args = || vec!["recv".to_string(), (COUNT * SIZE).to_string()];
    let send_args = || vec!["send".to_string(), COUNT.to_string(), SIZE.to_string()];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut cpu_per_mb: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for round in 0..ROUNDS {
        for (i, name) in names.iter().enumerate() {
            let (s, r) = socket_pair();
            let rport = r.local_addr().unwrap().port();
            let sport = s.local_addr().unwrap().port();
            // (elapsed, CPU of sender + receiver)
            let (elapsed, cpu) = match i {
                0 => {
                    let (recv, _) = spawn_usrsctp(&bin, &recv_args(), r, sport);
                    let (send, mut out) = spawn_usrsctp(&bin, &send_args(), s, rport);
                    let d = read_elapsed(&mut out);
                    (Some(d), process_cpu(&recv) + process_cpu(&send))
                }
                1 => {
                    let stop = Arc::new(AtomicBool::new(false));
                    let st = stop.clone();
                    let rx = std::thread::spawn(move || run_tern_timed(r, Role::Receive(st)));
                    let (d, c) = run_tern_timed(s, Role::Send);
                    stop.store(true, Ordering::Relaxed);
                    let (_, rc) = rx.join().unwrap();
                    (d, c + rc)
                }
                2 => {
                    let (recv, _) = spawn_usrsctp(&bin, &recv_args(), r, sport);
                    let (d, c) = run_tern_timed(s, Role::Send);
                    (d, c + process_cpu(&recv))
                }
                _ => {
                    let stop = Arc::new(AtomicBool::new(false));
                    let st = stop.clone();
                    // The tern receiver's port stays bound; the C sender binds `s`'s port.
                    let rx = std::thread::spawn(move || run_tern_timed(r, Role::Receive(st)));
                    let (send, mut out) = spawn_usrsctp(&bin, &send_args(), s, rport);
                    let d = read_elapsed(&mut out);
                    let sc = process_cpu(&send);
                    stop.store(true, Ordering::Relaxed);
                    let (_, rc) = rx.join().unwrap();
                    (Some(d), sc + rc)
                }
            };
            let mb = (COUNT * SIZE) as f64 / 1e6;
            match elapsed {
                Some(d) => {
                    let per_mb = cpu.as_secs_f64() * 1e3 / mb;
                    eprintln!(
                        "round {round}: {name}: {:.1} MB/s, {per_mb:.2} ms CPU per MB",
                        mbps(d)
                    );
                    rates[i].push(mbps(d));
                    cpu_per_mb[i].push(per_mb);
                }
                None => eprintln!("round {round}: {name}: no result within {LIMIT:?}"),
            }
        }
    }
    println!(
        "\nReliable ordered {SIZE}-byte messages, {COUNT} per run ({:.1} MB), UDP on 127.0.0.1, {ROUNDS} rounds, median (min-max):",
        (COUNT * SIZE) as f64 / 1e6
    );
    println!("| sender -> receiver | MB/s | CPU ms per MB, both ends |");
    println!("|---|---:|---:|");
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        match (v.first(), v.get(v.len() / 2), v.last()) {
            (Some(lo), Some(mid), Some(hi)) => format!("{mid:.2} ({lo:.2}-{hi:.2})"),
            _ => "—".into(),
        }
    };
    for (i, name) in names.iter().enumerate() {
        println!(
            "| {name} | {} | {} |",
            stats(&mut rates[i]),
            stats(&mut cpu_per_mb[i])
        );
    }
}
