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
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("usrsctp_echo");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/usrsctp_echo.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(cc)
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(src)
        .args(["-lusrsctp", "-lpthread"])
        .status()
        .expect("C compiler");
    assert!(
        status.success(),
        "building the usrsctp peer needs libusrsctp-dev"
    );
    out
}

pub struct Harness {
    pub assoc: Association,
    sock: UdpSocket,
    pub events: Vec<SctpEvent>,
    _peer: Peer,
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
            _peer: peer,
        }
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
                trace("->", &p);
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
                Ok(n) => {
                    trace("<-", &buf[..n]);
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

fn trace(dir: &str, p: &[u8]) {
    if std::env::var("SCTP_TRACE").is_err() {
        return;
    }
    let mut s = String::new();
    if let Ok(pkt) = tern_sctp::wire::Packet::parse(p, tern_sctp::wire::ChecksumPolicy::AcceptZero)
    {
        for c in pkt.chunks().flatten() {
            match c {
                tern_sctp::wire::Chunk::Data(d) => {
                    s += &format!(
                        " DATA(tsn={} sid={} ssn={} ppid={} fl={} len={})",
                        d.tsn,
                        d.stream,
                        d.ssn,
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
                c => s += &format!(" {}", c.chunk_type()),
            }
        }
    } else {
        s = format!(" unparsable {} bytes", p.len());
    }
    eprintln!("{dir} [vtag {:02x?} csum {:02x?}]{s}", &p[4..8], &p[8..12]);
    if std::env::var("SCTP_TRACE_HEX").is_ok() {
        eprintln!("HEX {}", hex::encode(p));
    }
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
