//! A small runner around the sans-IO [`Server`] core (feature `server`): one UDP listening
//! socket, an optional TCP listener, and one UDP socket per relay address.
//!
//! The server runs as one event loop on a thread of its own (as coturn runs each relay thread
//! on one libevent loop): a `mio` poll over every socket, so a datagram is read, relayed and
//! written with no task, channel or hand-off per datagram, whatever runtime the caller uses.
//! The caller's future only waits for the shutdown future, wakes the loop to stop it, and
//! hands the statistics to `report`.
//!
//! The loop, per wake-up:
//!
//! 1. For each readable UDP socket (listening or relay), read up to [`quinn_udp::BATCH_SIZE`]
//!    datagrams per system call (`recvmmsg`; should a buffer hold a GRO run of several
//!    datagrams, it is split by its stride) and feed each to the core. A short batch means the socket
//!    is drained (sockets are edge-triggered, and any later arrival raises a new event); a
//!    socket still full after its share is served again on the next turn, so no socket can
//!    starve the others. TCP connections are read until they would block and reframed.
//! 2. Collect the core's transmits and write them: consecutive datagrams from the same socket
//!    to the same destination with the same size (the last may be shorter) go out in one
//!    `sendmsg` with UDP GSO when the kernel supports it (one trip through the network stack
//!    for the run; the kernel cuts it into exactly the datagrams the core produced);
//!    consecutive datagrams from one socket that go each on its own (to many clients from
//!    the listening socket, or to many peers from one relay) go out in one `sendmmsg` (up to
//!    64; a datagram the kernel refuses is dropped alone, a full send buffer drops the rest),
//!    and a lone datagram in one `sendto`. On a machine with more than one CPU, a batch that
//!    needs more than eight send calls (the loop is falling behind) is split by flow over
//!    writer threads (one per CPU of the machine, at most four, also when the process is
//!    confined to fewer CPUs, as coturn starts its relay threads): a flow (socket,
//!    destination) always goes to the same writer's queue, so its order is kept, and the loop
//!    sends a batch itself only when every writer is idle. The loop goes back to reading while the writers send. TCP
//!    messages are appended to the connection's bounded write buffer, written at once and the
//!    rest when writable.
//! 3. Act on the core's events (bind or close relay sockets, and tell the writers), then fire
//!    the core's timeout and the statistics tick when due, and sleep in `poll` until the
//!    earlier of the two.
//!
//! A full socket send buffer drops the datagram (UDP is lossy; the loop never blocks on one
//! client or peer).

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::{TcpListener, TcpStream, UdpSocket};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use quinn_udp::{RecvMeta, UdpSockRef, UdpSocketState};
use rustix::io::Errno;
use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};
use tokio::sync::{mpsc, oneshot};

use crate::config::ServerConfig;
use crate::server::{Server, ServerEvent, ServerStats, Transmit};
use crate::transport::Transport;
use crate::wire::framing::StreamFramer;

/// Datagrams read per receive call (`recvmmsg` on Linux, 1 where unsupported).
const BATCH: usize = quinn_udp::BATCH_SIZE;
/// Bytes of one receive buffer: a whole datagram, or a GRO run of several.
const RECV_BUF: usize = 65536;
/// Receive calls one socket gets per turn before the others are served.
const READS_PER_TURN: usize = 8;
/// Receive errors (ICMP reports surface as such on Linux) tolerated per turn on one socket.
const ERRORS_PER_TURN: usize = 16;
/// Outgoing datagrams collected before they are written.
const FLUSH_AT: usize = 256;
/// Most datagrams in one GSO send (Linux takes 64 on every kernel with UDP_SEGMENT).
const MAX_GSO_SEGMENTS: usize = 64;
/// Most bytes in one GSO send (below the 65,507-byte UDP payload limit).
const MAX_GSO_BYTES: usize = 60_000;
/// Most datagrams in one `sendmmsg`.
const MAX_MMSG: usize = 64;
/// Bytes queued to one TCP connection; a message beyond it is dropped (a stalled client).
const TCP_WRITE_LIMIT: usize = 1 << 20;
/// Open TCP connections at most; more are closed on accept.
const MAX_TCP_CONNECTIONS: usize = 16_384;
/// Bytes read from a TCP connection per call.
const TCP_READ_BUF: usize = 16_384;
/// Writer threads at most.
const MAX_WRITER_THREADS: usize = 8;
/// Batches queued to one writer thread before the event loop waits for it.
const WRITER_QUEUE: usize = 64;
/// Send calls the event loop makes itself (when the writers are idle) rather than hand off:
/// waking a writer costs more than a few sends, so the writers take over only when batches
/// grow, that is when the loop falls behind.
const INLINE_SENDS: usize = 8;
/// Readiness events taken per `poll`.
const EVENTS: usize = 1024;

const LISTEN: Token = Token(0);
const TCP_LISTEN: Token = Token(1);
const WAKE: Token = Token(2);
/// Tokens from here on index `EventLoop::slots`.
const FIRST_SLOT: usize = 3;

/// A bound TURN server, ready to [`ServerRunner::run`].
#[derive(Debug)]
pub struct ServerRunner {
    core: Server,
    udp: std::net::UdpSocket,
    tcp: Option<std::net::TcpListener>,
    local: SocketAddr,
    legacy_channels: bool,
    writer_threads: usize,
}

/// One writer thread per CPU of the machine (at most four), none on a single CPU.
///
/// The machine's CPUs, as coturn counts them for its relay threads, not only those this
/// process may run on: confined to fewer CPUs (`taskset`, a cpuset) that other work shares,
/// the relay still gets a runnable thread per CPU of the machine, as coturn does.
fn default_writer_threads() -> usize {
    let allowed = std::thread::available_parallelism().map_or(1, |n| n.get());
    match machine_cpus().unwrap_or(allowed).max(allowed) {
        1 => 0,
        n => n.min(4),
    }
}

/// The machine's online CPUs (Linux `/sys/devices/system/cpu/online`, a list of ranges such as
/// `0-3,6`); `None` where that cannot be read.
fn machine_cpus() -> Option<usize> {
    parse_cpu_list(&std::fs::read_to_string("/sys/devices/system/cpu/online").ok()?)
}

/// How many CPUs a kernel CPU list (`0-3,6`) names; `None` when it is not one.
fn parse_cpu_list(list: &str) -> Option<usize> {
    let mut count = 0usize;
    for part in list.trim().split(',') {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => {
                let cpu = part.parse::<usize>().ok()?;
                (cpu, cpu)
            }
        };
        count = count.checked_add(last.checked_sub(first)?.checked_add(1)?)?;
    }
    (count > 0).then_some(count)
}

fn unix_now() -> u64 {
    #[allow(clippy::disallowed_methods)] // the runner is the one place that reads the clock
    let now = SystemTime::now();
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[allow(clippy::disallowed_methods)] // the runner is the one place that reads the clock
fn instant_now() -> Instant {
    Instant::now()
}

impl ServerRunner {
    /// Binds the UDP listening socket on `listen` (and a TCP listener on the same address when
    /// `tcp`). The listening address is added to the peer policy's own addresses.
    pub async fn bind(
        mut config: ServerConfig,
        listen: SocketAddr,
        tcp: bool,
    ) -> io::Result<ServerRunner> {
        let udp = std::net::UdpSocket::bind(listen)?;
        let local = udp.local_addr()?;
        let tcp = if tcp {
            Some(std::net::TcpListener::bind(local)?)
        } else {
            None
        };
        config.peer_policy.own_addresses.push(local.ip());
        Ok(ServerRunner {
            legacy_channels: config.legacy_channel_range,
            core: Server::new(config, instant_now(), unix_now()),
            udp,
            tcp,
            local,
            writer_threads: default_writer_threads(),
        })
    }

    /// How many writer threads UDP writes may be handed to (default: one per CPU of the
    /// machine, at most four, and none on a single CPU); 0 makes the event loop write
    /// everything itself. A
    /// flow (relay or listening socket, destination) always goes to the same writer, so the
    /// order of its datagrams is kept; the event loop still sends a small batch itself when
    /// every writer is idle.
    pub fn with_writer_threads(mut self, threads: usize) -> ServerRunner {
        self.writer_threads = threads.min(MAX_WRITER_THREADS);
        self
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        self.run_with_stats(shutdown, None, |_| {}).await
    }

    /// Serves until `shutdown` completes, handing the core's counters to `report` every
    /// `every` (never when `None`).
    ///
    /// The sockets move to a dedicated thread running the event loop (see the module doc);
    /// this future waits for `shutdown`, stops that thread and returns its result. Dropping
    /// the future stops the thread too.
    pub async fn run_with_stats(
        self,
        shutdown: impl Future<Output = ()>,
        every: Option<Duration>,
        mut report: impl FnMut(ServerStats),
    ) -> io::Result<()> {
        let poll = Poll::new()?;
        let stopper = Stopper {
            stop: Arc::new(AtomicBool::new(false)),
            waker: Arc::new(Waker::new(poll.registry(), WAKE)?),
        };
        let stop = stopper.stop.clone();
        let (stats_tx, mut stats_rx) = mpsc::channel::<ServerStats>(4);
        let (done_tx, mut done_rx) = oneshot::channel::<io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("tern-turn-server".into())
            .spawn(move || {
                let result = EventLoop::new(self, poll)
                    .and_then(|event_loop| event_loop.run(&stop, every, &stats_tx));
                let _ = done_tx.send(result);
            })?;
        tokio::pin!(shutdown);
        let mut stats_open = true;
        let result = loop {
            tokio::select! {
                () = &mut shutdown => {
                    stopper.stop();
                    break (&mut done_rx).await;
                }
                stats = stats_rx.recv(), if stats_open => match stats {
                    Some(stats) => report(stats),
                    None => stats_open = false,
                },
                result = &mut done_rx => break result,
            }
        };
        // The thread has sent its result: it is ending, so this join is immediate.
        let _ = thread.join();
        result.unwrap_or_else(|_| Err(io::Error::other("the TURN server thread stopped")))
    }
}

/// Stops the event loop when told to, or when the future driving it is dropped.
struct Stopper {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

impl Drop for Stopper {
    fn drop(&mut self) {
        self.stop();
    }
}

/// quinn-udp's batched-I/O state (GSO support and its fallbacks), one per address family.
///
/// Each is made on a throwaway socket of its own: `UdpSocketState::new` also sets options on
/// the socket it is given, forbidding IP fragmentation (`IP_PMTUDISC_PROBE`,
/// `IPV6_DONTFRAG`) and asking for control messages with every received datagram. A relay
/// keeps the kernel's defaults instead (a datagram above the path MTU is fragmented as
/// before, and a receive carries no control messages to fill); `recvmmsg` and GSO sends need
/// no socket option.
#[derive(Default)]
struct IoStates {
    v4: Option<Arc<UdpSocketState>>,
    v6: Option<Arc<UdpSocketState>>,
}

impl IoStates {
    fn for_addr(&mut self, addr: SocketAddr) -> io::Result<Arc<UdpSocketState>> {
        let (slot, unspecified): (_, SocketAddr) = if addr.is_ipv4() {
            (&mut self.v4, (std::net::Ipv4Addr::UNSPECIFIED, 0).into())
        } else {
            (&mut self.v6, (std::net::Ipv6Addr::UNSPECIFIED, 0).into())
        };
        if let Some(state) = slot {
            return Ok(state.clone());
        }
        let probe = std::net::UdpSocket::bind(unspecified)?;
        let state = Arc::new(UdpSocketState::new(UdpSockRef::from(&probe))?);
        *slot = Some(state.clone());
        Ok(state)
    }
}

/// A UDP socket with its batched-I/O state.
struct Endpoint {
    socket: UdpSocket,
    state: Arc<UdpSocketState>,
    /// The address the core knows it by.
    local: SocketAddr,
}

impl Endpoint {
    fn new(
        socket: std::net::UdpSocket,
        local: SocketAddr,
        states: &mut IoStates,
    ) -> io::Result<Endpoint> {
        let state = states.for_addr(socket.local_addr()?)?;
        socket.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(socket);
        Ok(Endpoint {
            socket,
            state,
            local,
        })
    }

    /// Receives one batch into `buf` (BATCH buffers of RECV_BUF bytes); `meta` describes them.
    fn recv(&self, buf: &mut [u8], meta: &mut [RecvMeta; BATCH]) -> io::Result<usize> {
        let mut chunks = buf.chunks_mut(RECV_BUF);
        let mut slices: [IoSliceMut<'_>; BATCH] =
            std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
        self.state
            .recv(UdpSockRef::from(&self.socket), &mut slices, meta)
    }

    /// Sends `group`: datagrams to one destination, all of the first one's size but the last
    /// (which may be shorter); several go as one GSO send through `scratch`.
    fn send(&self, group: &[Transmit], scratch: &mut Vec<u8>) {
        let (Some(first), true) = (group.first(), group.len() > 1) else {
            for t in group {
                self.send_one(t);
            }
            return;
        };
        scratch.clear();
        for t in group {
            scratch.extend_from_slice(&t.data);
        }
        let transmit = quinn_udp::Transmit {
            destination: first.destination,
            ecn: None,
            contents: scratch,
            segment_size: Some(first.data.len()),
            src_ip: None,
        };
        match self
            .state
            .try_send(UdpSockRef::from(&self.socket), &transmit)
        {
            // A full send buffer drops the run, as it would drop each datagram alone.
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            // The kernel refused the GSO send (say, segments above the route's MTU): send
            // them one by one.
            Err(_) => {
                for t in group {
                    self.send_one(t);
                }
            }
        }
    }

    fn send_one(&self, t: &Transmit) {
        // A plain sendto: no control messages for the kernel to parse. UDP is lossy: a full
        // send buffer or an ICMP-reported error drops this datagram.
        let _ = self.socket.send_to(&t.data, t.destination);
    }

    /// Sends `batch`, datagrams each on its own (to one or several destinations), in one
    /// `sendmmsg` per [`MAX_MMSG`] instead of one `sendto` each, in order.
    fn send_many(&self, batch: &[Transmit]) {
        if batch.len() < 2 {
            for t in batch {
                self.send_one(t);
            }
            return;
        }
        let addrs: Vec<SocketAddrAny> = batch
            .iter()
            .map(|t| SocketAddrAny::from(t.destination))
            .collect();
        let iovs: Vec<[IoSlice<'_>; 1]> = batch.iter().map(|t| [IoSlice::new(&t.data)]).collect();
        let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = batch
            .iter()
            .map(|_| SendAncillaryBuffer::default())
            .collect();
        let mut msgs: Vec<MMsgHdr<'_>> = addrs
            .iter()
            .zip(&iovs)
            .zip(controls.iter_mut())
            .map(|((addr, iov), control)| MMsgHdr::new_with_addr(addr, iov, control))
            .collect();
        let mut at = 0;
        while let Some(rest) = msgs.get_mut(at..)
            && !rest.is_empty()
        {
            let end = rest.len().min(MAX_MMSG);
            match rustix::net::sendmmsg(
                &self.socket,
                rest.get_mut(..end).unwrap_or_default(),
                SendFlags::empty(),
            ) {
                // The kernel stops at the first datagram it cannot send and reports it on
                // the next call (or, for the first, at once).
                Ok(n) => at += n.max(1),
                Err(Errno::INTR) => {}
                // A full send buffer drops the rest, as it would drop each datagram alone.
                Err(Errno::AGAIN) => return,
                // Any other error (an unreachable destination, say) drops this datagram
                // only: the others go to other destinations.
                Err(_) => at += 1,
            }
        }
    }
}

/// One TCP client connection.
struct TcpConn {
    stream: TcpStream,
    client: SocketAddr,
    framer: StreamFramer,
    /// Bytes not yet written; `written` of them already are.
    pending: Vec<u8>,
    written: usize,
    /// Registered for writability (the kernel buffer was full).
    want_write: bool,
}

enum Slot {
    Relay(Arc<Endpoint>),
    Tcp(TcpConn),
}

/// The length of the run of datagrams at the start of `out` that can go in one GSO send.
fn gso_run(out: &[Transmit], max_segments: usize) -> usize {
    let Some(first) = out.first() else { return 0 };
    let size = first.data.len();
    if first.transport != Transport::Udp || size == 0 || max_segments < 2 {
        return 1;
    }
    let mut n = 1;
    let mut total = size;
    for t in out.get(1..).unwrap_or_default() {
        let len = t.data.len();
        if n >= max_segments
            || t.transport != Transport::Udp
            || t.source != first.source
            || t.destination != first.destination
            || len == 0
            || len > size
            || total + len > MAX_GSO_BYTES
        {
            break;
        }
        n += 1;
        total += len;
        if len < size {
            break; // a shorter datagram ends a run
        }
    }
    n
}

/// Calls `each` for every datagram of a received buffer: one, or a GRO run cut by `stride`.
fn split_gro(data: &[u8], stride: usize, mut each: impl FnMut(&[u8])) {
    if stride == 0 || stride >= data.len() {
        each(data);
        return;
    }
    for datagram in data.chunks(stride) {
        each(datagram);
    }
}

/// The length of the run of datagrams at the start of `out` that go each on its own from one
/// socket (none starts a GSO run): they can go in one `sendmmsg`.
fn single_run(out: &[Transmit], max_segments: usize) -> usize {
    let Some(first) = out.first() else { return 0 };
    let mut n = 0;
    let mut rest = out;
    while let Some(t) = rest.first() {
        if n >= MAX_MMSG
            || t.transport != Transport::Udp
            || t.source != first.source
            || gso_run(rest, max_segments) > 1
        {
            break;
        }
        n += 1;
        rest = rest.get(1..).unwrap_or_default();
    }
    n
}

/// Sends the UDP transmits of `out` from the endpoints `lookup` names, in order: GSO runs
/// together, and consecutive datagrams that go each on its own from one socket in one
/// `sendmmsg`.
fn send_udp<'a>(
    out: &[Transmit],
    lookup: impl Fn(SocketAddr) -> Option<&'a Endpoint>,
    scratch: &mut Vec<u8>,
) {
    let mut rest = out;
    while let Some(first) = rest.first() {
        let mut taken = 1;
        if first.transport == Transport::Udp
            && let Some(endpoint) = lookup(first.source)
        {
            let max = endpoint.state.max_gso_segments().min(MAX_GSO_SEGMENTS);
            let singles = single_run(rest, max);
            if singles > 1 {
                taken = singles;
                endpoint.send_many(rest.get(..taken).unwrap_or_default());
            } else {
                taken = gso_run(rest, max).max(1);
                endpoint.send(rest.get(..taken).unwrap_or_default(), scratch);
            }
        }
        rest = rest.get(taken..).unwrap_or_default();
    }
}

/// The send calls `out` takes: its GSO runs (GSO assumed), TCP messages aside.
fn send_calls(out: &[Transmit]) -> usize {
    let mut rest = out;
    let mut calls = 0;
    while !rest.is_empty() {
        let n = gso_run(rest, MAX_GSO_SEGMENTS).max(1);
        calls += 1;
        rest = rest.get(n..).unwrap_or_default();
    }
    calls
}

/// The writer (of `n`) for `t`'s flow: the same for every datagram of one (source socket,
/// destination) pair, spreading different flows over the writers.
fn flow_shard(t: &Transmit, n: usize) -> usize {
    let ip = match t.destination.ip() {
        std::net::IpAddr::V4(ip) => u32::from(ip),
        std::net::IpAddr::V6(ip) => ip.to_bits() as u32,
    };
    let key = (u32::from(t.source.port()) << 16 | u32::from(t.destination.port())) ^ ip;
    (key.wrapping_mul(0x9E37_79B1) >> 16) as usize % n.max(1)
}

/// What the event loop hands a writer thread, in order.
enum ToWriter {
    /// A relay socket is open: transmits from its address may follow.
    Open(SocketAddr, Arc<Endpoint>),
    /// The relay socket is closed.
    Close(SocketAddr),
    /// UDP datagrams to send, in order.
    Batch(Vec<Transmit>),
}

/// The writer thread: sends what the event loop hands it until the loop ends.
fn run_writer(
    listen: Arc<Endpoint>,
    queue: std::sync::mpsc::Receiver<ToWriter>,
    busy: Arc<AtomicUsize>,
) {
    let mut relays: HashMap<SocketAddr, Arc<Endpoint>> = HashMap::new();
    let mut scratch = Vec::with_capacity(MAX_GSO_BYTES);
    while let Ok(message) = queue.recv() {
        match message {
            ToWriter::Open(relay, endpoint) => {
                relays.insert(relay, endpoint);
            }
            ToWriter::Close(relay) => {
                relays.remove(&relay);
            }
            ToWriter::Batch(out) => {
                send_udp(
                    &out,
                    |source| {
                        if source == listen.local {
                            Some(listen.as_ref())
                        } else {
                            relays.get(&source).map(AsRef::as_ref)
                        }
                    },
                    &mut scratch,
                );
                busy.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

struct EventLoop {
    core: Server,
    poll: Poll,
    listen: Arc<Endpoint>,
    tcp: Option<TcpListener>,
    /// The writer threads' queues, when UDP writes are handed off (see the module doc).
    writers: Vec<std::sync::mpsc::SyncSender<ToWriter>>,
    /// Batched-I/O state per address family.
    states: IoStates,
    /// How many writer threads to start.
    writer_threads: usize,
    /// Batches handed to the writers and not yet sent.
    writer_busy: Arc<AtomicUsize>,
    /// One batch per writer, being filled.
    split: Vec<Vec<Transmit>>,
    legacy: bool,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Relay address → slot.
    relays: HashMap<SocketAddr, usize>,
    /// TCP client address → slot.
    tcp_clients: HashMap<SocketAddr, usize>,
    rx: Vec<u8>,
    meta: [RecvMeta; BATCH],
    tcp_buf: Vec<u8>,
    out: Vec<Transmit>,
    scratch: Vec<u8>,
    /// Sockets left readable after their share of a turn.
    again: Vec<Token>,
}

impl EventLoop {
    fn new(runner: ServerRunner, poll: Poll) -> io::Result<EventLoop> {
        let ServerRunner {
            core,
            udp,
            tcp,
            local,
            legacy_channels,
            writer_threads,
        } = runner;
        let mut states = IoStates::default();
        let mut listen = Endpoint::new(udp, local, &mut states)?;
        poll.registry()
            .register(&mut listen.socket, LISTEN, Interest::READABLE)?;
        let listen = Arc::new(listen);
        let tcp = match tcp {
            Some(listener) => {
                listener.set_nonblocking(true)?;
                let mut listener = TcpListener::from_std(listener);
                poll.registry()
                    .register(&mut listener, TCP_LISTEN, Interest::READABLE)?;
                Some(listener)
            }
            None => None,
        };
        Ok(EventLoop {
            core,
            poll,
            listen,
            tcp,
            writers: Vec::new(),
            states,
            writer_threads,
            writer_busy: Arc::new(AtomicUsize::new(0)),
            split: Vec::new(),
            legacy: legacy_channels,
            slots: Vec::new(),
            free: Vec::new(),
            relays: HashMap::new(),
            tcp_clients: HashMap::new(),
            rx: vec![0; BATCH * RECV_BUF],
            meta: [RecvMeta::default(); BATCH],
            tcp_buf: vec![0; TCP_READ_BUF],
            out: Vec::with_capacity(FLUSH_AT),
            scratch: Vec::with_capacity(MAX_GSO_BYTES),
            again: Vec::new(),
        })
    }

    fn run(
        mut self,
        stop: &AtomicBool,
        every: Option<Duration>,
        stats: &mpsc::Sender<ServerStats>,
    ) -> io::Result<()> {
        let mut threads = Vec::new();
        for _ in 0..self.writer_threads {
            let (tx, rx) = std::sync::mpsc::sync_channel(WRITER_QUEUE);
            let listen = self.listen.clone();
            let busy = self.writer_busy.clone();
            let spawned = std::thread::Builder::new()
                .name("tern-turn-writer".into())
                .spawn(move || run_writer(listen, rx, busy));
            match spawned {
                Ok(thread) => {
                    threads.push(thread);
                    self.writers.push(tx);
                    self.split.push(Vec::with_capacity(FLUSH_AT));
                }
                // Fewer writers (or none: the loop writes itself).
                Err(_) => break,
            }
        }
        let result = self.serve(stop, every, stats);
        // Closing the queues ends the writers once they have sent what they hold.
        drop(self);
        for thread in threads {
            let _ = thread.join();
        }
        result
    }

    fn serve(
        &mut self,
        stop: &AtomicBool,
        every: Option<Duration>,
        stats: &mpsc::Sender<ServerStats>,
    ) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        let mut ready: Vec<Token> = Vec::new();
        let period = every.map(|p| p.max(Duration::from_millis(1)));
        let mut next_stats = period.map(|p| instant_now() + p);
        loop {
            if stop.load(Ordering::Acquire) {
                return Ok(());
            }
            let now = instant_now();
            let deadline = match (self.core.poll_timeout(), next_stats) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timeout = if self.again.is_empty() {
                deadline.map(|d| d.saturating_duration_since(now))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            ready.clear();
            ready.append(&mut self.again);
            for event in &events {
                let token = event.token();
                if token == WAKE {
                    continue;
                }
                if event.is_writable() {
                    self.write_tcp(token);
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    ready.push(token);
                }
            }
            for &token in &ready {
                match token {
                    LISTEN => self.read_udp(token),
                    TCP_LISTEN => self.accept(),
                    _ => match self.slot(token) {
                        Some(Slot::Relay(_)) => self.read_udp(token),
                        Some(Slot::Tcp(_)) => self.read_tcp(token),
                        None => {}
                    },
                }
            }
            self.flush();
            let now = instant_now();
            if self.core.poll_timeout().is_some_and(|t| t <= now) {
                self.core.handle_timeout(now);
                self.flush();
            }
            if let (Some(at), Some(period)) = (next_stats, period)
                && at <= now
            {
                // A slow reporter misses a tick rather than stalling the relay.
                let _ = stats.try_send(self.core.stats());
                next_stats = Some(now + period);
            }
        }
    }

    fn slot(&self, token: Token) -> Option<&Slot> {
        let index = token.0.checked_sub(FIRST_SLOT)?;
        self.slots.get(index)?.as_ref()
    }

    /// Reads the UDP socket of `token` in batches into the core, up to its share of a turn.
    fn read_udp(&mut self, token: Token) {
        let mut errors = 0;
        for _ in 0..READS_PER_TURN {
            // Field by field: the endpoint, the buffers and the core are borrowed apart.
            let endpoint = if token == LISTEN {
                Some(&self.listen)
            } else {
                token
                    .0
                    .checked_sub(FIRST_SLOT)
                    .and_then(|i| self.slots.get(i))
                    .and_then(|slot| match slot {
                        Some(Slot::Relay(endpoint)) => Some(endpoint),
                        _ => None,
                    })
            };
            let Some(endpoint) = endpoint else { return };
            let n = match endpoint.recv(&mut self.rx, &mut self.meta) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // ICMP errors surface as receive errors on Linux: keep reading.
                Err(_) => {
                    errors += 1;
                    if errors >= ERRORS_PER_TURN {
                        return;
                    }
                    continue;
                }
            };
            let now = instant_now();
            let local = endpoint.local;
            let core = &mut self.core;
            for (meta, buf) in self.meta.iter().zip(self.rx.chunks(RECV_BUF)).take(n) {
                let data = buf.get(..meta.len).unwrap_or_default();
                split_gro(data, meta.stride, |datagram| {
                    let _ = core.handle_receive(now, Transport::Udp, meta.addr, local, datagram);
                });
            }
            self.collect();
            // A short batch drained the socket: a later datagram raises a new event.
            if n < BATCH {
                return;
            }
        }
        self.again.push(token);
    }

    /// Moves the core's transmits into the outgoing batch, writing it when full.
    fn collect(&mut self) {
        while let Some(t) = self.core.poll_transmit() {
            self.out.push(t);
            if self.out.len() >= FLUSH_AT {
                self.send_out();
            }
        }
    }

    /// Writes every transmit and acts on every event until the core has nothing more.
    fn flush(&mut self) {
        loop {
            self.collect();
            self.send_out();
            let mut moved = false;
            while let Some(event) = self.core.poll_event() {
                moved = true;
                match event {
                    ServerEvent::OpenRelay { relay } => self.open_relay(relay),
                    ServerEvent::CloseRelay { relay } => self.close_relay(relay),
                    _ => {}
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn send_out(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let mut out = std::mem::take(&mut self.out);
        if out.iter().any(|t| t.transport == Transport::Tcp) {
            for t in out.iter().filter(|t| t.transport == Transport::Tcp) {
                self.write_tcp_message(t.destination, &t.data);
            }
            out.retain(|t| t.transport == Transport::Udp);
        }
        if !self.writers.is_empty()
            && (self.writer_busy.load(Ordering::Acquire) > 0 || send_calls(&out) > INLINE_SENDS)
        {
            // The writers send them while the loop goes back to reading. (Only idle writers
            // let the loop send a few itself: then nothing queued can overtake them.)
            let n = self.writers.len();
            for t in out.drain(..) {
                if let Some(batch) = self.split.get_mut(flow_shard(&t, n)) {
                    batch.push(t);
                }
            }
            let mut failed = false;
            for (writer, batch) in self.writers.iter().zip(self.split.iter_mut()) {
                if batch.is_empty() {
                    continue;
                }
                let batch = std::mem::replace(batch, Vec::with_capacity(FLUSH_AT));
                self.writer_busy.fetch_add(1, Ordering::AcqRel);
                failed |= writer.send(ToWriter::Batch(batch)).is_err();
            }
            if failed {
                // A writer is gone (it cannot panic on its own): write from the loop again.
                self.writers.clear();
            }
        } else {
            let listen = &self.listen;
            let (relays, slots) = (&self.relays, &self.slots);
            send_udp(
                &out,
                |source| {
                    if source == listen.local {
                        return Some(listen.as_ref());
                    }
                    match slots.get(*relays.get(&source)?)? {
                        Some(Slot::Relay(endpoint)) => Some(endpoint.as_ref()),
                        _ => None,
                    }
                },
                &mut self.scratch,
            );
        }
        out.clear();
        self.out = out;
    }

    fn insert(&mut self, slot: Slot) -> usize {
        match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i) {
                    *s = Some(slot);
                }
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        }
    }

    fn remove(&mut self, index: usize) -> Option<Slot> {
        let slot = self.slots.get_mut(index)?.take()?;
        self.free.push(index);
        Some(slot)
    }

    fn open_relay(&mut self, relay: SocketAddr) {
        let now = instant_now();
        let states = &mut self.states;
        let endpoint = std::net::UdpSocket::bind(relay)
            .and_then(|socket| Endpoint::new(socket, relay, states));
        let Ok(mut endpoint) = endpoint else {
            self.core.relay_failed(now, relay);
            return;
        };
        let index = self.free.last().copied().unwrap_or(self.slots.len());
        if self
            .poll
            .registry()
            .register(
                &mut endpoint.socket,
                Token(index + FIRST_SLOT),
                Interest::READABLE,
            )
            .is_err()
        {
            self.core.relay_failed(now, relay);
            return;
        }
        let endpoint = Arc::new(endpoint);
        if self
            .writers
            .iter()
            .any(|w| w.send(ToWriter::Open(relay, endpoint.clone())).is_err())
        {
            self.writers.clear();
        }
        let inserted = self.insert(Slot::Relay(endpoint));
        debug_assert_eq!(inserted, index);
        self.relays.insert(relay, index);
        self.core.relay_opened(now, relay);
    }

    fn close_relay(&mut self, relay: SocketAddr) {
        let Some(index) = self.relays.remove(&relay) else {
            return;
        };
        if let Some(Slot::Relay(endpoint)) = self.remove(index) {
            let fd = endpoint.socket.as_raw_fd();
            let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        }
        if self
            .writers
            .iter()
            .any(|w| w.send(ToWriter::Close(relay)).is_err())
        {
            self.writers.clear();
        }
        // The token may still be queued for another read this turn: the slot is empty (or
        // reused by a socket that simply finds nothing to read).
    }

    fn accept(&mut self) {
        loop {
            let Some(listener) = &self.tcp else { return };
            let (mut stream, client) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(_) => return,
            };
            if self.tcp_clients.len() >= MAX_TCP_CONNECTIONS {
                continue; // dropping the stream closes it
            }
            let _ = stream.set_nodelay(true);
            let index = self.slots.len();
            let index = self.free.last().copied().unwrap_or(index);
            if self
                .poll
                .registry()
                .register(&mut stream, Token(index + FIRST_SLOT), Interest::READABLE)
                .is_err()
            {
                continue;
            }
            let mut framer = StreamFramer::default();
            if self.legacy {
                framer = framer.with_legacy_channels();
            }
            let inserted = self.insert(Slot::Tcp(TcpConn {
                stream,
                client,
                framer,
                pending: Vec::new(),
                written: 0,
                want_write: false,
            }));
            debug_assert_eq!(inserted, index);
            self.tcp_clients.insert(client, index);
        }
    }

    fn tcp_conn(&mut self, token: Token) -> Option<&mut TcpConn> {
        let index = token.0.checked_sub(FIRST_SLOT)?;
        match self.slots.get_mut(index)? {
            Some(Slot::Tcp(conn)) => Some(conn),
            _ => None,
        }
    }

    /// Reads the TCP connection of `token` until it would block, feeding each frame.
    fn read_tcp(&mut self, token: Token) {
        let local = self.listen.local;
        let mut close = false;
        for _ in 0..READS_PER_TURN {
            let Some(index) = token.0.checked_sub(FIRST_SLOT) else {
                return;
            };
            let Some(Some(Slot::Tcp(conn))) = self.slots.get_mut(index) else {
                return;
            };
            let n = match conn.stream.read(&mut self.tcp_buf) {
                Ok(0) => {
                    close = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    close = true;
                    break;
                }
            };
            if conn
                .framer
                .push(self.tcp_buf.get(..n).unwrap_or_default())
                .is_err()
            {
                close = true;
                break;
            }
            let now = instant_now();
            loop {
                match conn.framer.next_frame() {
                    Ok(Some(frame)) => {
                        let _ = self.core.handle_receive(
                            now,
                            Transport::Tcp,
                            conn.client,
                            local,
                            &frame,
                        );
                    }
                    Ok(None) => break,
                    // RFC 8656 §12.5: an unframeable stream is closed.
                    Err(_) => {
                        close = true;
                        break;
                    }
                }
            }
            if close {
                break;
            }
            self.collect();
            if n < self.tcp_buf.len() {
                // Drained for now (edge-triggered: more data raises a new event).
                return;
            }
            if self.slot(token).is_none() {
                return;
            }
        }
        if close {
            self.close_tcp(token);
        } else {
            self.again.push(token);
        }
    }

    fn close_tcp(&mut self, token: Token) {
        let Some(index) = token.0.checked_sub(FIRST_SLOT) else {
            return;
        };
        if !matches!(self.slots.get(index), Some(Some(Slot::Tcp(_)))) {
            return;
        }
        if let Some(Slot::Tcp(mut conn)) = self.remove(index) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.tcp_clients.remove(&conn.client);
            self.core.connection_closed(conn.client, self.listen.local);
        }
    }

    /// Queues one message to a TCP client and writes what the socket takes now.
    fn write_tcp_message(&mut self, client: SocketAddr, data: &[u8]) {
        let Some(&index) = self.tcp_clients.get(&client) else {
            return;
        };
        let token = Token(index + FIRST_SLOT);
        let Some(conn) = self.tcp_conn(token) else {
            return;
        };
        if conn.pending.len() - conn.written + data.len() > TCP_WRITE_LIMIT {
            return; // a stalled client: drop whole messages rather than block the loop
        }
        conn.pending.extend_from_slice(data);
        if !conn.want_write {
            self.write_tcp(token);
        }
    }

    /// Writes a TCP connection's queued bytes; registers for writability while some remain.
    fn write_tcp(&mut self, token: Token) {
        let registry = self.poll.registry();
        let Some(index) = token.0.checked_sub(FIRST_SLOT) else {
            return;
        };
        let Some(Some(Slot::Tcp(conn))) = self.slots.get_mut(index) else {
            return;
        };
        while conn.written < conn.pending.len() {
            match conn
                .stream
                .write(conn.pending.get(conn.written..).unwrap_or_default())
            {
                Ok(0) => break,
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // A broken connection: its read side reports the close.
                Err(_) => {
                    conn.pending.clear();
                    conn.written = 0;
                    break;
                }
            }
        }
        if conn.written >= conn.pending.len() {
            conn.pending.clear();
            conn.written = 0;
        } else if conn.written > TCP_WRITE_LIMIT / 2 {
            conn.pending.drain(..conn.written);
            conn.written = 0;
        }
        let want_write = !conn.pending.is_empty();
        if want_write != conn.want_write {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if registry
                .reregister(&mut conn.stream, token, interest)
                .is_ok()
            {
                conn.want_write = want_write;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(source: u16, destination: u16, len: usize) -> Transmit {
        Transmit {
            transport: Transport::Udp,
            source: SocketAddr::from(([127, 0, 0, 1], source)),
            destination: SocketAddr::from(([127, 0, 0, 1], destination)),
            data: vec![7; len],
        }
    }

    #[test]
    fn gso_runs_group_same_socket_destination_and_size() {
        let out = vec![t(1, 2, 100), t(1, 2, 100), t(1, 2, 100), t(1, 3, 100)];
        assert_eq!(gso_run(&out, 64), 3);
        assert_eq!(gso_run(&out[3..], 64), 1);
        // Another source socket ends the run.
        assert_eq!(gso_run(&[t(1, 2, 10), t(4, 2, 10)], 64), 1);
        // No GSO: one at a time.
        assert_eq!(gso_run(&out, 1), 1);
        // The segment cap.
        assert_eq!(gso_run(&out, 2), 2);
        assert_eq!(gso_run(&[], 64), 0);
    }

    #[test]
    fn gso_run_ends_after_a_shorter_datagram_and_before_a_longer_one() {
        let out = vec![t(1, 2, 100), t(1, 2, 60), t(1, 2, 60)];
        assert_eq!(gso_run(&out, 64), 2);
        let out = vec![t(1, 2, 60), t(1, 2, 100)];
        assert_eq!(gso_run(&out, 64), 1);
        // Empty datagrams never join a run.
        assert_eq!(gso_run(&[t(1, 2, 0), t(1, 2, 0)], 64), 1);
        assert_eq!(gso_run(&[t(1, 2, 5), t(1, 2, 0)], 64), 1);
    }

    #[test]
    fn gso_run_stays_under_the_byte_limit() {
        let out: Vec<Transmit> = (0..64).map(|_| t(1, 2, 1400)).collect();
        let n = gso_run(&out, 64);
        assert_eq!(n, MAX_GSO_BYTES / 1400);
        assert!(n * 1400 <= MAX_GSO_BYTES);
    }

    #[test]
    fn single_runs_stop_at_a_gso_run_another_socket_or_tcp() {
        // Each to its own destination from one socket: all go in one sendmmsg.
        let out = vec![t(1, 2, 100), t(1, 3, 100), t(1, 4, 50), t(1, 5, 100)];
        assert_eq!(single_run(&out, 64), 4);
        // A run of equal sizes to one destination goes as GSO: the singles stop before it.
        let out = vec![t(1, 2, 100), t(1, 3, 100), t(1, 4, 100), t(1, 4, 100)];
        assert_eq!(single_run(&out, 64), 2);
        assert_eq!(single_run(&out[2..], 64), 0);
        // Without GSO every datagram goes on its own.
        assert_eq!(single_run(&out, 1), 4);
        // Another source socket, or TCP, ends the run.
        assert_eq!(single_run(&[t(1, 2, 10), t(1, 3, 10), t(4, 5, 10)], 64), 2);
        let mut tcp = t(1, 6, 10);
        tcp.transport = Transport::Tcp;
        assert_eq!(single_run(&[t(1, 2, 10), tcp.clone()], 64), 1);
        assert_eq!(single_run(&[tcp], 64), 0);
        // At most MAX_MMSG per call.
        let out: Vec<Transmit> = (0..200).map(|i| t(1, 1000 + i, 80)).collect();
        assert_eq!(single_run(&out, 64), MAX_MMSG);
        assert_eq!(single_run(&[], 64), 0);
    }

    #[test]
    fn cpu_lists_count_their_cpus() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(2));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,6,8-9"), Some(7));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("a-b"), None);
        assert_eq!(parse_cpu_list("0-18446744073709551615"), None);
    }

    #[test]
    fn send_many_sends_every_datagram_in_order_to_its_destination() {
        let mut states = IoStates::default();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let local = socket.local_addr().unwrap();
        let endpoint = Endpoint::new(socket, local, &mut states).unwrap();
        let receivers: Vec<std::net::UdpSocket> = (0..3)
            .map(|_| {
                let r = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                r.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                r
            })
            .collect();
        // More than one sendmmsg's worth, sizes varying, destinations interleaved.
        let batch: Vec<Transmit> = (0..150usize)
            .map(|i| Transmit {
                transport: Transport::Udp,
                source: local,
                destination: receivers[i % 3].local_addr().unwrap(),
                data: vec![i as u8; 1 + i % 40],
            })
            .collect();
        endpoint.send_many(&batch);
        let mut buf = [0u8; 64];
        for (i, expected) in batch.iter().enumerate() {
            let (n, from) = receivers[i % 3].recv_from(&mut buf).unwrap();
            assert_eq!(from, local);
            assert_eq!(&buf[..n], &expected.data[..], "datagram {i}");
        }
    }

    #[test]
    fn send_many_drops_only_a_datagram_the_kernel_refuses() {
        let mut states = IoStates::default();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let local = socket.local_addr().unwrap();
        let endpoint = Endpoint::new(socket, local, &mut states).unwrap();
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let to = |destination: SocketAddr, byte: u8| Transmit {
            transport: Transport::Udp,
            source: local,
            destination,
            data: vec![byte; 10],
        };
        let good = receiver.local_addr().unwrap();
        // Port 0 is refused (EINVAL) mid-batch, and again first in a batch.
        let bad = SocketAddr::from(([127, 0, 0, 1], 0));
        endpoint.send_many(&[to(good, 1), to(bad, 2), to(good, 3), to(bad, 4), to(bad, 5)]);
        endpoint.send_many(&[to(bad, 6), to(good, 7)]);
        let mut buf = [0u8; 64];
        for byte in [1, 3, 7] {
            let (n, _) = receiver.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[byte; 10]);
        }
        receiver
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        assert!(
            receiver.recv_from(&mut buf).is_err(),
            "nothing else arrives"
        );
    }

    #[test]
    fn gso_run_keeps_tcp_out() {
        let mut tcp = t(1, 2, 100);
        tcp.transport = Transport::Tcp;
        assert_eq!(gso_run(&[t(1, 2, 100), tcp.clone()], 64), 1);
        assert_eq!(gso_run(&[tcp, t(1, 2, 100)], 64), 1);
    }

    #[test]
    fn a_flow_always_goes_to_the_same_writer_and_flows_spread() {
        for n in 1..=4 {
            for port in [1u16, 2, 5000, 65535] {
                let a = flow_shard(&t(3478, port, 100), n);
                assert!(a < n);
                assert_eq!(a, flow_shard(&t(3478, port, 7), n), "size does not matter");
            }
        }
        // 1,000 clients of one listening socket, and 1,000 relays to one peer, over 2 writers.
        for (from_many, label) in [(false, "clients"), (true, "relays")] {
            let mut count = [0usize; 2];
            for port in 40_000..41_000u16 {
                let tx = if from_many {
                    t(port, 9, 100)
                } else {
                    t(3478, port, 100)
                };
                count[flow_shard(&tx, 2)] += 1;
            }
            assert!(count[0] > 350 && count[1] > 350, "{label}: {count:?}");
        }
    }

    #[test]
    fn gro_buffers_split_by_stride() {
        let data: Vec<u8> = (0..250).map(|i| i as u8).collect();
        let mut seen = Vec::new();
        split_gro(&data, 100, |d| seen.push(d.to_vec()));
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], data[..100]);
        assert_eq!(seen[1], data[100..200]);
        assert_eq!(seen[2], data[200..]);
        // One datagram (stride = its length, or unknown).
        let mut count = 0;
        split_gro(&data, 250, |d| {
            assert_eq!(d, &data[..]);
            count += 1;
        });
        split_gro(&data, 0, |d| {
            assert_eq!(d, &data[..]);
            count += 1;
        });
        assert_eq!(count, 2);
        let mut empty = 0;
        split_gro(&[], 100, |d| {
            assert!(d.is_empty());
            empty += 1;
        });
        assert_eq!(empty, 1);
    }
}
