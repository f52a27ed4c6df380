//! Interop with usrsctp (Debian `libusrsctp-dev`) over plain UDP on 127.0.0.1: the SCTP
//! packets are the UDP payloads, as usrsctp's AF_CONN lower layer carries them in WebRTC.
//! The peer is `tests/interop/usrsctp_echo.c`, built here with the system C compiler.
//! Run by `cargo xtask test-all` (suite `sctp-usrsctp`) with `--ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // real time and sockets: this test drives a real peer

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tern_sctp::{
    Association, ChannelId, ChannelInit, MessageKind, Reliability, SctpConfig, SctpEvent,
    StreamParity,
};

/// Kills the peer by PID when the test ends, also on failure.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(Some(status)) = self.0.try_wait() {
            eprintln!("usrsctp peer exited early: {status}");
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn build_peer() -> std::path::PathBuf {
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

struct Harness {
    assoc: Association,
    sock: UdpSocket,
    events: Vec<SctpEvent>,
    _peer: Peer,
}

impl Harness {
    fn start() -> Self {
        let bin = build_peer();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let ours = sock.local_addr().unwrap().port();
        let theirs = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(bin)
            .args([theirs.to_string(), ours.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let peer = Peer(child);
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY");
        // Keep draining the peer's progress lines so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                eprintln!("usrsctp: {line}");
            }
        });
        sock.connect(("127.0.0.1", theirs)).unwrap();
        let config = SctpConfig {
            seed: Some([5; 32]),
            stream_parity: StreamParity::Even,
            max_message_size: 1 << 20,
            remote_max_message_size: 1 << 20,
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

    fn pump_until(&mut self, limit: Duration, mut done: impl FnMut(&[SctpEvent]) -> bool) -> bool {
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

fn msgs(events: &[SctpEvent], id: ChannelId) -> Vec<(MessageKind, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::Message { id: i, kind, data } if *i == id => Some((*kind, data.to_vec())),
            _ => None,
        })
        .collect()
}

fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|j| (i * 31 + j * 7) as u8).collect()
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn usrsctp_data_channels() {
    let mut h = Harness::start();
    assert!(
        h.pump_until(Duration::from_secs(10), |e| e
            .contains(&SctpEvent::Connected)),
        "no association with usrsctp"
    );

    // The peer opens channel 1 and greets us.
    assert!(h.pump_until(Duration::from_secs(5), |e| msgs(e, ChannelId(1)).len() == 1));
    assert!(h.events.iter().any(|e| matches!(e, SctpEvent::ChannelOpen { id: ChannelId(1), label, remote_initiated: true, .. } if label == "from-usrsctp")));
    assert_eq!(
        msgs(&h.events, ChannelId(1))[0],
        (MessageKind::Text, b"hello from usrsctp".to_vec())
    );

    // Reliable ordered: small messages, 64 KiB, 256 KiB, empty ones; echoed exactly, in order.
    let now = Instant::now();
    let rel = h
        .assoc
        .open_channel(
            now,
            ChannelInit {
                label: "reliable".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..200 {
        let m = payload(i, 1 + i * 13 % 1500);
        h.assoc.send(now, rel, &m, MessageKind::Binary).unwrap();
        sent.push((MessageKind::Binary, m));
    }
    for (i, len) in [(1000, 65_536), (1001, 262_144), (1002, 0)] {
        let m = payload(i, len);
        h.assoc.send(now, rel, &m, MessageKind::Binary).unwrap();
        sent.push((MessageKind::Binary, m));
    }
    h.assoc.send(now, rel, b"", MessageKind::Text).unwrap();
    sent.push((MessageKind::Text, Vec::new()));
    h.assoc
        .send(now, rel, "héllo".as_bytes(), MessageKind::Text)
        .unwrap();
    sent.push((MessageKind::Text, "héllo".as_bytes().to_vec()));
    let n = sent.len();
    assert!(
        h.pump_until(Duration::from_secs(30), |e| msgs(e, rel).len() >= n),
        "echo incomplete: {}/{n}",
        msgs(&h.events, rel).len()
    );
    let echoed = msgs(&h.events, rel);
    let summary = |v: &[(MessageKind, Vec<u8>)]| {
        v.iter()
            .map(|(k, d)| format!("{k:?}:{}:{:02x?}", d.len(), d.get(..2)))
            .collect::<Vec<_>>()
    };
    if echoed != sent {
        let first = echoed.iter().zip(&sent).position(|(a, b)| a != b);
        panic!(
            "echo differs at {first:?}: got {} want {}\n got {:?}\nwant {:?}",
            echoed.len(),
            sent.len(),
            summary(&echoed[first.unwrap_or(0).saturating_sub(2)..]),
            summary(
                &sent[first.unwrap_or(0).saturating_sub(2)..sent.len().min(first.unwrap_or(0) + 3)]
            )
        );
    }

    // Unordered and partially reliable channels (no loss on loopback: all come back).
    let unordered = h
        .assoc
        .open_channel(
            Instant::now(),
            ChannelInit {
                ordered: false,
                ..Default::default()
            },
        )
        .unwrap();
    let rexmit = h
        .assoc
        .open_channel(
            Instant::now(),
            ChannelInit {
                reliability: Reliability::MaxRetransmits(0),
                ..Default::default()
            },
        )
        .unwrap();
    let timed = h
        .assoc
        .open_channel(
            Instant::now(),
            ChannelInit {
                ordered: false,
                reliability: Reliability::MaxPacketLifetime(Duration::from_millis(500)),
                ..Default::default()
            },
        )
        .unwrap();
    for id in [unordered, rexmit, timed] {
        for i in 0..50 {
            h.assoc
                .send(
                    Instant::now(),
                    id,
                    &payload(i, 100 + i),
                    MessageKind::Binary,
                )
                .unwrap();
        }
    }
    assert!(h.pump_until(Duration::from_secs(20), |e| {
        [unordered, rexmit, timed]
            .iter()
            .all(|id| msgs(e, *id).len() == 50)
    }));
    let mut got: Vec<_> = msgs(&h.events, unordered)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    got.sort();
    let mut want: Vec<_> = (0..50).map(|i| payload(i, 100 + i)).collect();
    want.sort();
    assert_eq!(got, want);

    // We close a channel: usrsctp resets its side too.
    h.assoc.close_channel(Instant::now(), rexmit).unwrap();
    assert!(
        h.pump_until(Duration::from_secs(10), |e| e
            .contains(&SctpEvent::ChannelClosed { id: rexmit })),
        "close by stream reset"
    );
    // usrsctp closes a channel: we mirror it.
    h.assoc
        .send(Instant::now(), timed, b"close-me", MessageKind::Text)
        .unwrap();
    assert!(
        h.pump_until(Duration::from_secs(10), |e| e
            .contains(&SctpEvent::ChannelClosed { id: timed })),
        "remote close"
    );
    // The reliable channel still works after the resets.
    h.assoc
        .send(Instant::now(), rel, b"after", MessageKind::Text)
        .unwrap();
    assert!(h.pump_until(Duration::from_secs(5), |e| msgs(e, rel).len() == n + 1));

    // Graceful shutdown.
    h.assoc.shutdown(Instant::now());
    assert!(h.pump_until(Duration::from_secs(10), |e| {
        e.iter().any(|e| matches!(e, SctpEvent::Closed { .. }))
    }));
    assert!(h.events.iter().any(|e| matches!(
        e,
        SctpEvent::Closed {
            reason: tern_sctp::CloseReason::Shutdown
        }
    )));
}
