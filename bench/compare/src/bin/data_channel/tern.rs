//! Tern's side: `tern-peerconnection` state machines driven by the shared socket loop.

use crate::io::{Io, Mode};
use crate::{MESSAGE, live_bytes};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use tern_peerconnection::{DataChannelId, DataChannelInit, Event, PeerConnection, RtcConfig};

/// One side: its state machine and where its datagrams come from.
struct Side {
    pc: PeerConnection,
    addr: SocketAddr,
    io: Option<Io>,
    channel: Option<DataChannelId>,
    open: bool,
    received: usize,
}

impl Side {
    fn new(now: Instant, addr: SocketAddr, io: Option<Io>) -> Side {
        // TERN_BENCH_ZERO_CHECKSUM=1: both Tern peers offer RFC 9653 zero checksum (off by default
        // in RtcConfig, so the figure measures defaults unless asked).
        let config = RtcConfig {
            sctp_zero_checksum: std::env::var_os("TERN_BENCH_ZERO_CHECKSUM").is_some(),
            ..RtcConfig::default()
        };
        let mut pc = PeerConnection::new(config, now).expect("peer connection");
        pc.add_local_address(now, addr);
        Side {
            pc,
            addr,
            io,
            channel: None,
            open: false,
            received: 0,
        }
    }

    fn events(&mut self) {
        while let Some(event) = self.pc.poll_event() {
            match event {
                Event::DataChannelOpen { id } | Event::DataChannel { id, .. } => {
                    self.channel = Some(id);
                    self.open = true;
                }
                Event::DataChannelMessage { data, .. } => self.received += data.len(),
                _ => {}
            }
        }
    }
}

/// Offer/answer between the two, with `a` creating the channel.
fn negotiate(now: Instant, a: &mut Side, b: &mut Side) {
    a.channel = Some(
        a.pc.create_data_channel(now, "bench", DataChannelInit::default())
            .expect("channel"),
    );
    let offer = a.pc.create_offer(now).expect("offer");
    a.pc.set_local_description(now, offer.clone())
        .expect("local offer");
    b.pc.set_remote_description(now, offer)
        .expect("remote offer");
    let answer = b.pc.create_answer(now).expect("answer");
    b.pc.set_local_description(now, answer.clone())
        .expect("local answer");
    a.pc.set_remote_description(now, answer)
        .expect("remote answer");
}

/// One turn of the socket loop for both sides; true if anything moved.
fn turn_sockets(a: &mut Side, b: &mut Side) -> bool {
    let mut moved = false;
    for side in [&mut *a, &mut *b] {
        let io = side.io.as_mut().expect("socket");
        while let Some(t) = side.pc.poll_transmit() {
            io.tx.send(t.destination, &t.data);
            moved = true;
        }
        io.tx.flush();
    }
    for side in [&mut *a, &mut *b] {
        let io = side.io.as_mut().expect("socket");
        let (pc, addr) = (&mut side.pc, side.addr);
        moved |= io.recv(|tx, from, datagram| {
            let _ = pc.handle_receive(Instant::now(), addr, from, datagram);
            // Drain after every input (the sans-IO contract), as str0m's side does.
            while let Some(t) = pc.poll_transmit() {
                tx.send(t.destination, &t.data);
            }
        });
        let now = Instant::now();
        if side.pc.poll_timeout().is_some_and(|t| t <= now) {
            side.pc.handle_timeout(now);
            moved = true;
        }
        side.events();
    }
    moved
}

fn socket_pair(mode: Mode) -> (Side, Side) {
    let now = Instant::now();
    let sa = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let sb = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let (aa, ab) = (
        sa.local_addr().expect("addr"),
        sb.local_addr().expect("addr"),
    );
    (
        Side::new(now, aa, Some(Io::new(sa, mode))),
        Side::new(now, ab, Some(Io::new(sb, mode))),
    )
}

fn connect_sockets(a: &mut Side, b: &mut Side) {
    negotiate(Instant::now(), a, b);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(a.open && b.open) {
        assert!(Instant::now() < deadline, "no channel open within 20 s");
        if !turn_sockets(a, b) {
            std::thread::yield_now();
        }
    }
}

pub fn throughput(total: usize, mode: Mode) -> crate::Sample {
    let (mut a, mut b) = socket_pair(mode);
    connect_sockets(&mut a, &mut b);
    let channel = a.channel.expect("channel");
    let message = vec![0x5au8; MESSAGE];
    let messages = total.div_ceil(MESSAGE);
    let expected = messages * MESSAGE;
    let mut sent = 0;
    let cpu = crate::thread_cpu_ms();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(120);
    while b.received < expected {
        assert!(
            Instant::now() < deadline,
            "throughput run stalled at {} of {expected} bytes",
            b.received
        );
        // Keep about 1 MiB queued, as an application watching bufferedAmount would.
        while sent < messages && a.pc.buffered_amount(channel) < 1 << 20 {
            a.pc.send(Instant::now(), channel, &message, true)
                .expect("send");
            sent += 1;
        }
        if !turn_sockets(&mut a, &mut b) {
            std::thread::yield_now();
        }
    }
    let rate = expected as f64 / start.elapsed().as_secs_f64() / 1e6;
    crate::note_syscalls(
        "tern",
        expected,
        [&a, &b].map(|s| s.io.as_ref().map_or(0, |io| io.tx.syscalls)),
    );
    crate::Sample {
        value: rate,
        cpu_ms: crate::thread_cpu_ms() - cpu,
    }
}

pub fn setup(runs: usize) -> f64 {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let (mut a, mut b) = socket_pair(Mode::Plain);
        connect_sockets(&mut a, &mut b);
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Hands every datagram of `a` to `b` and back until neither has anything to say.
fn turn_memory(a: &mut Side, b: &mut Side, now: Instant) {
    loop {
        let mut moved = false;
        while let Some(t) = a.pc.poll_transmit() {
            let _ = b.pc.handle_receive(now, b.addr, a.addr, &t.data);
            moved = true;
        }
        while let Some(t) = b.pc.poll_transmit() {
            let _ = a.pc.handle_receive(now, a.addr, b.addr, &t.data);
            moved = true;
        }
        a.events();
        b.events();
        if !moved {
            break;
        }
    }
}

pub fn memory(pairs: usize) -> f64 {
    let before = live_bytes();
    let mut all = Vec::with_capacity(pairs);
    let base = Instant::now();
    for i in 0..pairs {
        let ip = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let aa = SocketAddr::from((ip, 1000));
        let ab = SocketAddr::from((ip, 2000));
        let (mut a, mut b) = (Side::new(base, aa, None), Side::new(base, ab, None));
        negotiate(base, &mut a, &mut b);
        // Virtual time: step through the timers until both channels are open.
        let mut now = base;
        for _ in 0..2_000 {
            turn_memory(&mut a, &mut b, now);
            if a.open && b.open {
                break;
            }
            now += Duration::from_millis(5);
            a.pc.handle_timeout(now);
            b.pc.handle_timeout(now);
        }
        assert!(a.open && b.open, "pair {i} did not connect in memory");
        all.push((a, b));
    }
    let after = live_bytes();
    let per_connection = (after - before) as f64 / (2 * pairs) as f64;
    drop(all);
    per_connection / 1024.0
}
