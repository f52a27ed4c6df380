//! str0m 0.25's side (aws-lc-rs crypto, its default), driven exactly as Tern's is.

use crate::MESSAGE;
use crate::io::{Io, Mode, Tx};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

struct Side {
    rtc: Rtc,
    addr: SocketAddr,
    io: Io,
    state: State,
}

/// What the loop learns from str0m's events and timeouts.
struct State {
    channel: Option<ChannelId>,
    open: bool,
    received: usize,
    wake: Instant,
}

impl Side {
    fn new(now: Instant, mode: Mode) -> Side {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let addr = socket.local_addr().expect("addr");
        let mut rtc = Rtc::builder().build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"))
            .expect("add candidate");
        let state = State {
            channel: None,
            open: false,
            received: 0,
            wake: now,
        };
        Side {
            rtc,
            addr,
            io: Io::new(socket, mode),
            state,
        }
    }
}

/// Drains str0m's output: datagrams onto the socket, events into our counters.
fn drain(rtc: &mut Rtc, tx: &mut Tx, state: &mut State) -> bool {
    let mut moved = false;
    loop {
        match rtc.poll_output().expect("poll_output") {
            Output::Timeout(t) => {
                state.wake = t;
                return moved;
            }
            Output::Transmit(t) => {
                tx.send(t.destination, &t.contents);
                moved = true;
            }
            Output::Event(Event::ChannelOpen(id, _)) => {
                state.channel = Some(id);
                state.open = true;
            }
            Output::Event(Event::ChannelData(data)) => state.received += data.data.len(),
            Output::Event(_) => {}
        }
    }
}

fn turn(a: &mut Side, b: &mut Side) -> bool {
    let mut moved = false;
    for side in [&mut *a, &mut *b] {
        let Side {
            rtc,
            addr,
            io,
            state,
        } = side;
        moved |= drain(rtc, &mut io.tx, state);
        io.tx.flush();
        moved |= io.recv(|tx, from, datagram| {
            let contents = datagram.try_into().expect("datagram");
            let input = Input::Receive(
                Instant::now(),
                Receive {
                    proto: Protocol::Udp,
                    source: from,
                    destination: *addr,
                    contents,
                },
            );
            rtc.handle_input(input).expect("handle_input");
            drain(rtc, tx, state);
        });
        let now = Instant::now();
        if state.wake <= now {
            rtc.handle_input(Input::Timeout(now)).expect("timeout");
            drain(rtc, &mut io.tx, state);
        }
        io.tx.flush();
    }
    moved
}

fn connect(mode: Mode) -> (Side, Side) {
    let now = Instant::now();
    let (mut a, mut b) = (Side::new(now, mode), Side::new(now, mode));
    let mut change = a.rtc.sdp_api();
    let channel = change.add_channel("bench".into());
    let (offer, pending) = change.apply().expect("offer");
    let answer = b.rtc.sdp_api().accept_offer(offer).expect("accept offer");
    a.rtc
        .sdp_api()
        .accept_answer(pending, answer)
        .expect("accept answer");
    a.state.channel = Some(channel);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(a.state.open && b.state.open) {
        assert!(Instant::now() < deadline, "no channel open within 20 s");
        if !turn(&mut a, &mut b) {
            std::thread::yield_now();
        }
    }
    (a, b)
}

pub fn throughput(total: usize, mode: Mode) -> crate::Sample {
    let (mut a, mut b) = connect(mode);
    let id = a.state.channel.expect("channel");
    let message = vec![0x5au8; MESSAGE];
    let messages = total.div_ceil(MESSAGE);
    let expected = messages * MESSAGE;
    let mut sent = 0;
    let cpu = crate::thread_cpu_ms();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(120);
    while b.state.received < expected {
        assert!(
            Instant::now() < deadline,
            "throughput run stalled at {} of {expected} bytes",
            b.state.received
        );
        if let Some(mut channel) = a.rtc.channel(id) {
            while sent < messages && channel.buffered_amount() < 1 << 20 {
                if !channel.write(true, &message).expect("write") {
                    break;
                }
                sent += 1;
            }
        }
        if !turn(&mut a, &mut b) {
            std::thread::yield_now();
        }
    }
    let rate = expected as f64 / start.elapsed().as_secs_f64() / 1e6;
    crate::note_syscalls("str0m", expected, [a.io.tx.syscalls, b.io.tx.syscalls]);
    crate::Sample {
        value: rate,
        cpu_ms: crate::thread_cpu_ms() - cpu,
    }
}

pub fn setup(runs: usize) -> f64 {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        drop(connect(Mode::Plain));
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// One side of an in-memory pair: no socket, datagrams handed over directly.
struct MemorySide {
    rtc: Rtc,
    addr: SocketAddr,
    open: bool,
    outbox: Vec<(SocketAddr, Vec<u8>)>,
}

impl MemorySide {
    fn new(now: Instant, addr: SocketAddr) -> MemorySide {
        let mut rtc = Rtc::builder().build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"))
            .expect("add candidate");
        MemorySide {
            rtc,
            addr,
            open: false,
            outbox: Vec::new(),
        }
    }

    fn drain(&mut self) {
        loop {
            match self.rtc.poll_output().expect("poll_output") {
                Output::Timeout(_) => return,
                Output::Transmit(t) => self.outbox.push((t.destination, t.contents.to_vec())),
                Output::Event(Event::ChannelOpen(..)) => self.open = true,
                Output::Event(_) => {}
            }
        }
    }

    fn deliver(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let Ok(contents) = datagram.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: self.addr,
                contents,
            },
        );
        let _ = self.rtc.handle_input(input);
        self.drain();
    }
}

/// Live heap per connected idle `Rtc` with one open channel, `pairs` pairs on virtual time.
pub fn memory(pairs: usize) -> f64 {
    let before = crate::live_bytes();
    let mut all = Vec::with_capacity(pairs);
    let base = Instant::now();
    for i in 0..pairs {
        let ip = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let mut a = MemorySide::new(base, SocketAddr::from((ip, 1000)));
        let mut b = MemorySide::new(base, SocketAddr::from((ip, 2000)));
        let mut change = a.rtc.sdp_api();
        change.add_channel("bench".into());
        let (offer, pending) = change.apply().expect("offer");
        let answer = b.rtc.sdp_api().accept_offer(offer).expect("accept offer");
        a.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("accept answer");
        let mut now = base;
        for _ in 0..2_000 {
            a.drain();
            b.drain();
            while !a.outbox.is_empty() || !b.outbox.is_empty() {
                for (_, data) in std::mem::take(&mut a.outbox) {
                    b.deliver(now, a.addr, &data);
                }
                for (_, data) in std::mem::take(&mut b.outbox) {
                    a.deliver(now, b.addr, &data);
                }
            }
            if a.open && b.open {
                break;
            }
            now += Duration::from_millis(5);
            let _ = a.rtc.handle_input(Input::Timeout(now));
            let _ = b.rtc.handle_input(Input::Timeout(now));
        }
        assert!(a.open && b.open, "str0m pair {i} did not connect in memory");
        all.push((a, b));
    }
    let after = crate::live_bytes();
    drop(all);
    (after - before) as f64 / (2 * pairs) as f64 / 1024.0
}
