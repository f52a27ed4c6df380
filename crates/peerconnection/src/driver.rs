//! The tokio driver (feature `tokio`): the only place in Tern that owns sockets and timers.
//!
//! One task per connection owns the sans-IO [`PeerConnection`] and loops: receive a datagram or a
//! command or wake at `poll_timeout` → `handle_*` → drain `poll_transmit` onto the sockets and
//! `poll_event` into the event channel. The application holds an [`RtcPeer`] handle whose async
//! methods are commands answered over oneshot channels: no lock guards protocol state.
//!
//! TURN over TCP (`turn:…?transport=tcp`): a [`Transmit`](crate::Transmit) with
//! [`TransportProtocol::Tcp`] opens one TCP connection to that server on first use, from the
//! transmit's source IP, owned by a small task that writes what the core queues and feeds what it
//! reads back to the connection task ([`PeerConnection::handle_relay_stream`]). Bounded: at most
//! [`MAX_TURN_TCP`] connections per peer connection, [`TURN_TCP_CONNECT_TIMEOUT`] to connect,
//! [`TURN_TCP_WRITE_QUEUE`] bytes queued for writing (beyond that a transmit is dropped, as a full
//! UDP socket buffer would), [`TURN_TCP_READ_BUFFER`] bytes per read. A connection that cannot be
//! opened, breaks or is closed by the server is reported with
//! [`PeerConnection::relay_stream_closed`]: its relayed candidates fail, nothing panics.
#![allow(clippy::disallowed_methods)] // the driver is where wall-clock time enters

use crate::{
    DataChannelId, DataChannelInit, Error, Event, KeyframeRequestKind, MediaKind, PeerConnection,
    PeerConnectionState, RtcConfig, SessionDescriptionInit, StatsReport, TransceiverId,
    TransportProtocol,
};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::sync::{mpsc, oneshot};

/// TCP connections to TURN servers one peer connection may hold at once. The ICE agent feeds a
/// server's stream bytes to its relay by server address only, so there is one per server.
pub const MAX_TURN_TCP: usize = 4;
/// How long opening a TCP connection to a TURN server may take.
pub const TURN_TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes queued for one TURN TCP connection (written or still connecting) before transmits to
/// it are dropped.
pub const TURN_TCP_WRITE_QUEUE: usize = 1 << 20;
/// The read buffer of one TURN TCP connection.
pub const TURN_TCP_READ_BUFFER: usize = 16 * 1024;

type Reply<T> = oneshot::Sender<Result<T, Error>>;

enum Command {
    CreateOffer(Reply<SessionDescriptionInit>),
    CreateAnswer(Reply<SessionDescriptionInit>),
    SetLocal(SessionDescriptionInit, Reply<()>),
    SetRemote(SessionDescriptionInit, Reply<()>),
    AddIceCandidate(String, Reply<()>),
    CreateDataChannel(String, DataChannelInit, Reply<DataChannelId>),
    Send(DataChannelId, Vec<u8>, bool, Reply<()>),
    BufferedAmount(DataChannelId, oneshot::Sender<usize>),
    SetLowThreshold(DataChannelId, usize),
    CloseChannel(DataChannelId, Reply<()>),
    State(oneshot::Sender<PeerConnectionState>),
    AddTrack(MediaKind, String, String, Reply<TransceiverId>),
    WriteRtp(TransceiverId, Vec<u8>, u32, bool, Reply<()>),
    RequestKeyframe(TransceiverId, KeyframeRequestKind, Reply<()>),
    Stats(oneshot::Sender<StatsReport>),
    Close(oneshot::Sender<()>),
}

/// A handle to a peer connection running on its own tokio task.
#[derive(Clone)]
pub struct RtcPeer {
    commands: mpsc::Sender<Command>,
    local_addresses: Vec<SocketAddr>,
}

/// The events of one peer connection, in order.
pub struct RtcEvents {
    events: mpsc::UnboundedReceiver<Event>,
}

impl RtcEvents {
    /// The next event; `None` once the connection task has ended.
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await
    }
}

/// Socket buffer asked of the kernel (capped by `net.core.rmem_max`/`wmem_max`). SCTP sends in
/// bursts of up to a congestion window; the default ~208 KiB receive buffer overflowed on
/// loopback and cost retransmissions (measured with `tern demo`: 37–140 drops per run).
const SOCKET_BUFFER_BYTES: usize = 4 << 20;

fn bind_udp(address: SocketAddr) -> Result<UdpSocket, std::io::Error> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    // Best effort: a smaller kernel limit only means a smaller buffer.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    UdpSocket::from_std(socket.into())
}

impl RtcPeer {
    /// Binds one UDP socket per address (port 0 picks one) and starts the connection task.
    /// `iceServers` URLs naming a host are resolved first (the core takes IP addresses).
    pub async fn spawn(
        mut config: RtcConfig,
        bind: &[SocketAddr],
    ) -> Result<(RtcPeer, RtcEvents), std::io::Error> {
        resolve_ice_servers(&mut config).await?;
        let mut sockets = Vec::with_capacity(bind.len());
        for address in bind {
            sockets.push(bind_udp(*address)?);
        }
        let now = Instant::now();
        let mut pc = PeerConnection::new(config, now).map_err(std::io::Error::other)?;
        pc.set_ntp_time(now, ntp_now());
        let mut local_addresses = Vec::with_capacity(sockets.len());
        for socket in &sockets {
            let address = socket.local_addr()?;
            pc.add_local_address(now, address);
            local_addresses.push(address);
        }
        let (commands, command_rx) = mpsc::channel(256);
        let (event_tx, events) = mpsc::unbounded_channel();
        tokio::spawn(run(pc, sockets, command_rx, event_tx));
        Ok((
            RtcPeer {
                commands,
                local_addresses,
            },
            RtcEvents { events },
        ))
    }

    /// The socket addresses the connection uses (its host candidates).
    pub fn local_addresses(&self) -> &[SocketAddr] {
        &self.local_addresses
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// W3C `createOffer`.
    pub async fn create_offer(&self) -> Result<SessionDescriptionInit, Error> {
        self.call(Command::CreateOffer).await
    }
    /// W3C `createAnswer`.
    pub async fn create_answer(&self) -> Result<SessionDescriptionInit, Error> {
        self.call(Command::CreateAnswer).await
    }
    /// W3C `setLocalDescription`.
    pub async fn set_local_description(
        &self,
        description: SessionDescriptionInit,
    ) -> Result<(), Error> {
        self.call(|r| Command::SetLocal(description, r)).await
    }
    /// W3C `setRemoteDescription`.
    pub async fn set_remote_description(
        &self,
        description: SessionDescriptionInit,
    ) -> Result<(), Error> {
        self.call(|r| Command::SetRemote(description, r)).await
    }
    /// W3C `addIceCandidate` ("" = end of candidates).
    pub async fn add_ice_candidate(&self, candidate: &str) -> Result<(), Error> {
        let candidate = candidate.to_string();
        self.call(|r| Command::AddIceCandidate(candidate, r)).await
    }
    /// W3C `createDataChannel`.
    pub async fn create_data_channel(
        &self,
        label: &str,
        init: DataChannelInit,
    ) -> Result<DataChannelId, Error> {
        let label = label.to_string();
        self.call(|r| Command::CreateDataChannel(label, init, r))
            .await
    }
    /// Sends one message.
    pub async fn send(
        &self,
        channel: DataChannelId,
        data: Vec<u8>,
        binary: bool,
    ) -> Result<(), Error> {
        self.call(|r| Command::Send(channel, data, binary, r)).await
    }
    /// W3C `bufferedAmount`.
    pub async fn buffered_amount(&self, channel: DataChannelId) -> usize {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::BufferedAmount(channel, tx))
            .await
            .is_err()
        {
            return 0;
        }
        rx.await.unwrap_or(0)
    }
    /// W3C `bufferedAmountLowThreshold`.
    pub async fn set_buffered_amount_low_threshold(
        &self,
        channel: DataChannelId,
        threshold: usize,
    ) {
        let _ = self
            .commands
            .send(Command::SetLowThreshold(channel, threshold))
            .await;
    }
    /// Closes one data channel.
    pub async fn close_data_channel(&self, channel: DataChannelId) -> Result<(), Error> {
        self.call(|r| Command::CloseChannel(channel, r)).await
    }
    /// W3C `addTrack` (renegotiate afterwards).
    pub async fn add_track(
        &self,
        kind: MediaKind,
        stream_id: &str,
        track_id: &str,
    ) -> Result<TransceiverId, Error> {
        let (stream_id, track_id) = (stream_id.to_string(), track_id.to_string());
        self.call(|r| Command::AddTrack(kind, stream_id, track_id, r))
            .await
    }
    /// Sends one packetized media payload on a transceiver (see [`PeerConnection::write_rtp`]).
    pub async fn write_rtp(
        &self,
        transceiver: TransceiverId,
        payload: Vec<u8>,
        rtp_timestamp: u32,
        marker: bool,
    ) -> Result<(), Error> {
        self.call(|r| Command::WriteRtp(transceiver, payload, rtp_timestamp, marker, r))
            .await
    }
    /// Asks the remote for a keyframe (PLI or FIR).
    pub async fn request_keyframe(
        &self,
        transceiver: TransceiverId,
        kind: KeyframeRequestKind,
    ) -> Result<(), Error> {
        self.call(|r| Command::RequestKeyframe(transceiver, kind, r))
            .await
    }
    /// W3C `getStats()`.
    pub async fn stats(&self) -> Result<StatsReport, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Stats(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }
    /// W3C `connectionState`.
    pub async fn connection_state(&self) -> PeerConnectionState {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::State(tx)).await.is_err() {
            return PeerConnectionState::Closed;
        }
        rx.await.unwrap_or(PeerConnectionState::Closed)
    }
    /// W3C `close()`; the task ends after flushing what the close sends.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(
    mut pc: PeerConnection,
    sockets: Vec<UdpSocket>,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut buf = vec![0u8; 65536];
    let mut closing: Option<oneshot::Sender<()>> = None;
    let mut tcp = TurnTcp::new();
    loop {
        flush(&mut pc, &sockets, &mut tcp, &events).await;
        if let Some(done) = closing.take() {
            let _ = done.send(());
            return;
        }
        let sleep_until = pc
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(sleep_until));
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => {
                    if let Some(done) = apply(&mut pc, command) {
                        closing = Some(done);
                    }
                }
                None => {
                    pc.close(Instant::now());
                    flush(&mut pc, &sockets, &mut tcp, &events).await;
                    return;
                }
            },
            Some(input) = tcp.inputs.recv() => match input {
                TcpInput::Data { id, server, bytes } => {
                    if tcp.is_current(id, server) {
                        // Bytes the core refuses (no relay left on that server) are dropped.
                        let _ = pc.handle_relay_stream(Instant::now(), server, &bytes);
                    }
                }
                TcpInput::Closed { id, server } => {
                    if tcp.remove(id, server) {
                        pc.relay_stream_closed(Instant::now(), server);
                    }
                }
            },
            (index, received) = recv_any(&sockets, &mut buf) => {
                if let (Some(socket), Ok((n, from))) = (sockets.get(index), received)
                    && let (Ok(local), Some(datagram)) = (socket.local_addr(), buf.get(..n))
                {
                    // A rejected datagram is dropped: the core keeps its state unchanged.
                    let _ = pc.handle_receive(Instant::now(), local, from, datagram);
                }
            }
            () = sleep => pc.handle_timeout(Instant::now()),
        }
    }
}

/// Replaces host names in `iceServers` URLs by an address they resolve to (IPv4 first).
async fn resolve_ice_servers(config: &mut RtcConfig) -> Result<(), std::io::Error> {
    for server in &mut config.ice_servers {
        for url in &mut server.urls {
            // A URL that does not parse is refused by the core with a clear error.
            let Ok(parsed) = crate::ice_servers::parse_url(url) else {
                continue;
            };
            if parsed.host.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            let found: Vec<SocketAddr> = tokio::net::lookup_host((parsed.host, parsed.port))
                .await?
                .collect();
            let Some(address) = found
                .iter()
                .find(|a| a.is_ipv4())
                .or(found.first())
                .copied()
            else {
                continue;
            };
            *url = crate::ice_servers::with_address(url, address);
        }
    }
    Ok(())
}

fn apply(pc: &mut PeerConnection, command: Command) -> Option<oneshot::Sender<()>> {
    let now = Instant::now();
    match command {
        Command::CreateOffer(r) => drop(r.send(pc.create_offer(now))),
        Command::CreateAnswer(r) => drop(r.send(pc.create_answer(now))),
        Command::SetLocal(d, r) => drop(r.send(pc.set_local_description(now, d))),
        Command::SetRemote(d, r) => drop(r.send(pc.set_remote_description(now, d))),
        Command::AddIceCandidate(c, r) => drop(r.send(pc.add_ice_candidate(now, &c))),
        Command::CreateDataChannel(label, init, r) => {
            drop(r.send(pc.create_data_channel(now, &label, init)))
        }
        Command::Send(id, data, binary, r) => drop(r.send(pc.send(now, id, &data, binary))),
        Command::BufferedAmount(id, r) => drop(r.send(pc.buffered_amount(id))),
        Command::SetLowThreshold(id, threshold) => {
            pc.set_buffered_amount_low_threshold(id, threshold)
        }
        Command::CloseChannel(id, r) => drop(r.send(pc.close_data_channel(now, id))),
        Command::State(r) => drop(r.send(pc.connection_state())),
        Command::AddTrack(kind, stream, track, r) => {
            drop(r.send(pc.add_track(kind, &stream, &track)))
        }
        Command::WriteRtp(id, payload, ts, marker, r) => {
            drop(r.send(pc.write_rtp(now, id, &payload, ts, marker)))
        }
        Command::RequestKeyframe(id, kind, r) => drop(r.send(pc.request_keyframe(now, id, kind))),
        Command::Stats(r) => drop(r.send(pc.stats(now))),
        Command::Close(done) => {
            pc.close(now);
            return Some(done);
        }
    }
    None
}

async fn flush(
    pc: &mut PeerConnection,
    sockets: &[UdpSocket],
    tcp: &mut TurnTcp,
    events: &mpsc::UnboundedSender<Event>,
) {
    while let Some(transmit) = pc.poll_transmit() {
        if transmit.transport == TransportProtocol::Tcp {
            if let Err(server) = tcp.send(transmit.source.ip(), transmit.destination, transmit.data)
            {
                // No connection can be had (too many): the relays on that server fail now.
                pc.relay_stream_closed(Instant::now(), server);
            }
            continue;
        }
        let socket = sockets
            .iter()
            .find(|s| s.local_addr().ok() == Some(transmit.source))
            .or(sockets.first());
        if let Some(socket) = socket {
            // UDP send errors (no route, buffer full) are loss: ICE and SCTP retransmit.
            let _ = socket.send_to(&transmit.data, transmit.destination).await;
        }
    }
    while let Some(event) = pc.poll_event() {
        let _ = events.send(event);
    }
}

/// What a TURN TCP connection's task tells the connection task.
enum TcpInput {
    /// Bytes read, in order.
    Data {
        id: u64,
        server: SocketAddr,
        bytes: Vec<u8>,
    },
    /// The connection could not be opened, broke, or the server closed it.
    Closed { id: u64, server: SocketAddr },
}

/// One open (or opening) TCP connection to a TURN server.
struct TcpLink {
    id: u64,
    /// The IP it leaves from.
    local: IpAddr,
    writes: mpsc::UnboundedSender<Vec<u8>>,
    /// Bytes in `writes` not yet written (bounded by [`TURN_TCP_WRITE_QUEUE`]).
    queued: Arc<AtomicUsize>,
}

/// The TCP connections of one peer connection to its `?transport=tcp` TURN servers.
struct TurnTcp {
    links: HashMap<SocketAddr, TcpLink>,
    next_id: u64,
    inputs: mpsc::Receiver<TcpInput>,
    inputs_tx: mpsc::Sender<TcpInput>,
}

impl TurnTcp {
    fn new() -> TurnTcp {
        // Bounded: a connection's task waits (and TCP pushes back) while the core is behind.
        let (inputs_tx, inputs) = mpsc::channel(64);
        TurnTcp {
            links: HashMap::new(),
            next_id: 0,
            inputs,
            inputs_tx,
        }
    }

    /// Queues stream bytes for `server`, opening the connection from `local` on first use.
    /// `Err(server)` when no connection can be opened (the limit is reached).
    fn send(&mut self, local: IpAddr, server: SocketAddr, data: Vec<u8>) -> Result<(), SocketAddr> {
        if !self.links.contains_key(&server) {
            if self.links.len() >= MAX_TURN_TCP {
                return Err(server);
            }
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            let (writes, rx) = mpsc::unbounded_channel();
            let queued = Arc::new(AtomicUsize::new(0));
            tokio::spawn(turn_tcp_connection(
                id,
                local,
                server,
                rx,
                Arc::clone(&queued),
                self.inputs_tx.clone(),
            ));
            self.links.insert(
                server,
                TcpLink {
                    id,
                    local,
                    writes,
                    queued,
                },
            );
        }
        let Some(link) = self.links.get(&server) else {
            return Err(server);
        };
        // The agent routes a server's stream bytes by server address only: one connection per
        // server, from the first host IP that used it. A relay from another host IP to the same
        // server gets no answer and fails by its own timeout.
        if link.local != local {
            return Ok(());
        }
        let len = data.len();
        if link.queued.load(Ordering::Relaxed).saturating_add(len) > TURN_TCP_WRITE_QUEUE {
            // Whole messages only: dropping one keeps the stream's framing (it is loss).
            return Ok(());
        }
        link.queued.fetch_add(len, Ordering::Relaxed);
        if link.writes.send(data).is_err() {
            // The task has ended; its `Closed` is on the way.
            link.queued.fetch_sub(len, Ordering::Relaxed);
        }
        Ok(())
    }

    fn is_current(&self, id: u64, server: SocketAddr) -> bool {
        self.links.get(&server).is_some_and(|l| l.id == id)
    }

    /// Forgets the connection `id` to `server`; whether it was the current one.
    fn remove(&mut self, id: u64, server: SocketAddr) -> bool {
        if self.is_current(id, server) {
            self.links.remove(&server);
            true
        } else {
            false
        }
    }
}

/// One TCP connection to a TURN server: connect from `local` (with a timeout), then write what
/// is queued and forward what is read, until either side fails or the peer connection's task
/// ends (`writes` closes). Always ends by reporting `Closed` (ignored once nobody listens).
async fn turn_tcp_connection(
    id: u64,
    local: IpAddr,
    server: SocketAddr,
    mut writes: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    inputs: mpsc::Sender<TcpInput>,
) {
    let stream = async {
        let socket = if server.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(local, 0))?;
        let stream = tokio::time::timeout(TURN_TCP_CONNECT_TIMEOUT, socket.connect(server))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        // TURN messages are small and latency matters more than segment count.
        stream.set_nodelay(true)?;
        Ok::<_, std::io::Error>(stream)
    }
    .await;
    if let Ok(stream) = stream {
        let (mut reader, mut writer) = stream.into_split();
        let write_loop = async {
            while let Some(bytes) = writes.recv().await {
                let result = writer.write_all(&bytes).await;
                queued.fetch_sub(bytes.len(), Ordering::Relaxed);
                result?;
            }
            // The peer connection's task ended.
            Ok::<_, std::io::Error>(())
        };
        let read_loop = async {
            let mut buf = vec![0u8; TURN_TCP_READ_BUFFER];
            loop {
                let n = reader.read(&mut buf).await?;
                let Some(bytes) = buf.get(..n).filter(|b| !b.is_empty()) else {
                    // The server closed the connection.
                    return Ok::<_, std::io::Error>(());
                };
                let input = TcpInput::Data {
                    id,
                    server,
                    bytes: bytes.to_vec(),
                };
                if inputs.send(input).await.is_err() {
                    return Ok(());
                }
            }
        };
        tokio::select! {
            _ = write_loop => {}
            _ = read_loop => {}
        }
    }
    let _ = inputs.send(TcpInput::Closed { id, server }).await;
}

/// Receives from whichever socket has a datagram first.
async fn recv_any(
    sockets: &[UdpSocket],
    buf: &mut [u8],
) -> (usize, std::io::Result<(usize, SocketAddr)>) {
    if sockets.is_empty() {
        std::future::pending::<()>().await;
    }
    // With one socket (the common case) there is nothing to race.
    if let [socket] = sockets {
        return (0, socket.recv_from(buf).await);
    }
    loop {
        for (index, socket) in sockets.iter().enumerate() {
            match socket.try_recv_from(buf) {
                Ok(received) => return (index, Ok(received)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return (index, Err(e)),
            }
        }
        let readable = sockets.iter().map(|s| Box::pin(s.readable()));
        let _ = futures_util::future::select_all(readable).await;
    }
}

/// The wall clock as an NTP timestamp (RFC 5905: 32.32 fixed point since 1900).
fn ntp_now() -> u64 {
    let since_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since_unix.as_secs().wrapping_add(2_208_988_800);
    let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}
