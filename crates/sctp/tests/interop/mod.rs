//! Shared driver for interop tests: a real peer process, an association, and UDP on
//! 127.0.0.1 carrying SCTP packets as datagram payloads. `SCTP_TRACE=1` prints every packet.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // real time and sockets: these tests drive real peers

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tern_sctp::{Association, ChannelId, MessageKind, SctpConfig, SctpEvent, StreamParity};

/// Kills the peer by PID when the test ends, also on failure.
pub struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(Some(status)) = self.0.try_wait() {
            eprintln!("usrsctp peer exited early: {status}");
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn build_usrsctp_peer() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = dir.join("usrsctp_echo");
    // Tests run in parallel: each compiles to its own file and renames it into place, so no
    // test ever executes a binary another one is still writing.
    let tmp = dir.join(format!(
        "usrsctp_echo.{}.{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    ));
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/usrsctp_echo.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(cc)
        .args(["-O1", "-Wall", "-o"])
        .arg(&tmp)
        .arg(src)
        .args(["-lusrsctp", "-lpthread"])
        .status()
        .expect("C compiler");
    assert!(
        status.success(),
        "building the usrsctp peer needs libusrsctp-dev"
    );
    std::fs::rename(&tmp, &out).unwrap();
    out
}

pub struct Harness {
    pub assoc: Association,
    sock: UdpSocket,
    pub events: Vec<SctpEvent>,
    /// Chunk types seen in packets from the peer, counted by type.
    pub received_chunks: std::collections::BTreeMap<u8, usize>,
    /// Chunk types we sent, counted by type.
    pub sent_chunks: std::collections::BTreeMap<u8, usize>,
    /// Packets dropped on purpose (both directions) by `set_loss`.
    pub dropped: usize,
    loss: Option<Loss>,
    trace: std::collections::VecDeque<String>,
    started: Instant,
    _peer: Peer,
}

/// Seeded random loss on both directions of the UDP carriage (xorshift64*).
struct Loss {
    rate: f64,
    state: u64,
}

impl Loss {
    fn drop_next(&mut self) -> bool {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let r = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        (r as f64 / (1u64 << 53) as f64) < self.rate
    }
}

fn count_chunks(p: &[u8], into: &mut std::collections::BTreeMap<u8, usize>) {
    if let Ok(pkt) = tern_sctp::wire::Packet::parse(p, tern_sctp::wire::ChecksumPolicy::AcceptZero)
    {
        for c in pkt.chunks().flatten() {
            *into.entry(c.chunk_type()).or_default() += 1;
        }
    }
}

impl Harness {
    /// Start `peer` with `<its udp port> <our udp port>` appended; it prints `READY` once it
    /// listens. `remote_max_message_size` is what the peer accepts.
    pub fn start(mut peer: Command, name: &'static str, remote_max_message_size: usize) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let ours = sock.local_addr().unwrap().port();
        let theirs = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = peer
            .args([theirs.to_string(), ours.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let peer = Peer(child);
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY", "{name} did not start");
        // Keep draining the peer's progress lines so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                eprintln!("{name}: {line}");
            }
        });
        sock.connect(("127.0.0.1", theirs)).unwrap();
        let config = SctpConfig {
            seed: Some([5; 32]),
            stream_parity: StreamParity::Even,
            max_message_size: 1 << 20,
            remote_max_message_size,
            ..SctpConfig::default()
        };
        let now = Instant::now();
        let mut assoc = Association::new(config, now);
        assoc.connect(now);
        Harness {
            assoc,
            sock,
            events: Vec::new(),
            received_chunks: Default::default(),
            sent_chunks: Default::default(),
            dropped: 0,
            loss: None,
            trace: Default::default(),
            started: Instant::now(),
            _peer: peer,
        }
    }

    /// Drop `rate` of the packets in each direction from now on (seeded, reproducible
    /// given the same peer timing); `0.0` turns loss off.
    pub fn set_loss(&mut self, rate: f64, seed: u64) {
        self.loss = (rate > 0.0).then_some(Loss {
            rate,
            state: seed | 1,
        });
    }

    fn lose(&mut self) -> bool {
        let lost = self.loss.as_mut().is_some_and(Loss::drop_next);
        self.dropped += usize::from(lost);
        lost
    }

    pub fn pump_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&[SctpEvent]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 65536];
        loop {
            while let Some(p) = self.assoc.poll_transmit() {
                // A refused send (ICMP from a peer not yet listening) is just a lost packet.
                self.trace("->", &p);
                count_chunks(&p, &mut self.sent_chunks);
                if self.lose() {
                    continue;
                }
                let _ = self.sock.send(&p);
            }
            while let Some(e) = self.assoc.poll_event() {
                self.events.push(e);
            }
            if done(&self.events) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let wake = self.assoc.poll_timeout().unwrap_or(deadline).min(deadline);
            let wait = wake
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            self.sock.set_read_timeout(Some(wait)).unwrap();
            match self.sock.recv(&mut buf) {
                Ok(n) if self.lose() => {
                    self.trace("<- (dropped)", &buf[..n]);
                }
                Ok(n) => {
                    self.trace("<-", &buf[..n]);
                    count_chunks(&buf[..n], &mut self.received_chunks);
                    let r = self.assoc.handle_receive(Instant::now(), &buf[..n]);
                    if std::env::var("SCTP_TRACE").is_ok() {
                        eprintln!("   {r:?}");
                    }
                }
                Err(_) => self.assoc.handle_timeout(Instant::now()),
            }
            if self
                .assoc
                .poll_timeout()
                .is_some_and(|t| t <= Instant::now())
            {
                self.assoc.handle_timeout(Instant::now());
            }
        }
    }
}

/// The last packets in each direction, dumped to a file when a test fails.
const TRACE_LINES: usize = 4000;

impl Harness {
    fn trace(&mut self, dir: &str, p: &[u8]) {
        let line = format!(
            "{:>9.3} {}",
            self.started.elapsed().as_secs_f64(),
            describe(dir, p)
        );
        if std::env::var("SCTP_TRACE").is_ok() {
            eprintln!("{line}");
        }
        if self.trace.len() == TRACE_LINES {
            self.trace.pop_front();
        }
        self.trace.push_back(line);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let name = std::thread::current()
                .name()
                .unwrap_or("interop")
                .replace("::", "-");
            let path =
                std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.trace"));
            let text: Vec<&str> = self.trace.iter().map(String::as_str).collect();
            if std::fs::write(&path, text.join("\n")).is_ok() {
                eprintln!("packet trace (last {TRACE_LINES}): {}", path.display());
            }
        }
    }
}

fn describe(dir: &str, p: &[u8]) -> String {
    let mut s = String::new();
    if let Ok(pkt) = tern_sctp::wire::Packet::parse(p, tern_sctp::wire::ChecksumPolicy::AcceptZero)
    {
        for c in pkt.chunks().flatten() {
            match c {
                tern_sctp::wire::Chunk::Data(d) => {
                    s += &format!(
                        " {}(tsn={} sid={} ssn={} mid={} fsn={} ppid={} fl={} len={})",
                        if d.interleaved { "I-DATA" } else { "DATA" },
                        d.tsn,
                        d.stream,
                        d.ssn,
                        d.mid,
                        d.fsn,
                        d.ppid,
                        d.flags,
                        d.payload.len()
                    )
                }
                tern_sctp::wire::Chunk::Sack(sa) => {
                    s += &format!(
                        " SACK(cum={} rwnd={} gaps={})",
                        sa.cum_tsn_ack,
                        sa.a_rwnd,
                        sa.gap_count()
                    )
                }
                tern_sctp::wire::Chunk::Init(i) | tern_sctp::wire::Chunk::InitAck(i) => {
                    s += &format!(
                        " INIT{}(tag={:08x} tsn={} os={} mis={} rwnd={})",
                        c.chunk_type(),
                        i.initiate_tag,
                        i.initial_tsn,
                        i.outbound_streams,
                        i.inbound_streams,
                        i.a_rwnd
                    )
                }
                tern_sctp::wire::Chunk::Abort { t_bit, causes } => {
                    s += &format!(" ABORT(t={t_bit} {})", hex::encode(causes));
                }
                tern_sctp::wire::Chunk::Error { causes } => {
                    s += &format!(" ERROR({})", hex::encode(causes));
                }
                tern_sctp::wire::Chunk::ReConfig { params } => {
                    s += &format!(" RE-CONFIG({})", hex::encode(params));
                }
                tern_sctp::wire::Chunk::ForwardTsn(f) => {
                    s += &format!(" FWD-TSN{}({f:?})", c.chunk_type());
                }
                c => s += &format!(" {}", c.chunk_type()),
            }
        }
    } else {
        s = format!(" unparsable {} bytes", p.len());
    }
    let mut line = format!(
        "{dir} [vtag {:02x?} csum {:02x?}]{s}",
        p.get(4..8),
        p.get(8..12)
    );
    if std::env::var("SCTP_TRACE_HEX").is_ok() {
        line += &format!("\nHEX {}", hex::encode(p));
    }
    line
}

pub fn msgs(events: &[SctpEvent], id: ChannelId) -> Vec<(MessageKind, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::Message { id: i, kind, data } if *i == id => Some((*kind, data.to_vec())),
            _ => None,
        })
        .collect()
}

pub fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j * 7) as u8).collect()
}
