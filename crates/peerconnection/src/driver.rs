//! The tokio driver (feature `tokio`): the only place in Tern that owns sockets and timers.
//!
//! One task per connection owns the sans-IO [`PeerConnection`] and loops: receive a datagram or a
//! command or wake at `poll_timeout` → `handle_*` → drain `poll_transmit` onto the sockets and
//! `poll_event` into the event channel. The application holds an [`RtcPeer`] handle whose async
//! methods are commands answered over oneshot channels: no lock guards protocol state.
//!
//! Batching, both ways, through `quinn-udp` (a safe API over `sendmsg`/`recvmmsg` and their
//! control messages, with fallbacks):
//! - Receive: a readable socket is read with `recvmmsg` into [`RECV_SLOTS`] slots of 64 KiB,
//!   and with Linux UDP GRO (`UDP_GRO`, enabled on every socket where the kernel has it) one
//!   slot may hold a super-datagram of many coalesced datagrams, split at the segment size the
//!   kernel reports (the last may be shorter) and handed to the core one by one. At least
//!   [`RECV_BATCH`] datagrams are read (unless the socket runs dry) before the core's
//!   transmits are flushed. The slots are one buffer per runtime thread, shared by the
//!   connection tasks on it: an idle connection holds no receive buffer. Without GRO or
//!   `recvmmsg` (other kernels, other systems) the same code reads one datagram per slot or
//!   per call.
//! - Send: the flushed datagrams that share socket, destination and size (the last may be
//!   shorter) leave in one `sendmsg` with Linux UDP GSO (`UDP_SEGMENT`), up to
//!   [`GSO_MAX_SEGMENTS`] datagrams or [`GSO_MAX_BYTES`]; where the kernel lacks GSO or the
//!   device refuses it (the first failing send turns it off for that socket) they leave one
//!   per send.
//! - The sockets set "don't fragment" (Linux `IP_PMTUDISC_PROBE`): a datagram above the path
//!   MTU is refused, not fragmented (the core's datagrams stay near 1,200 bytes).
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
//!
//! TURN over TLS (`turns:`, RFC 7065; RFC 8656 §3.1): the same TCP connection, wrapped in TLS
//! 1.2/1.3 (rustls on ring) before the first TURN byte, within the same connect timeout. The
//! server's certificate must be valid for the URL's host (a DNS name, or the IP literal) and
//! chain to the system's trusted roots or one of [`RtcConfig::tls_root_certificates`]; one that
//! does not is a connection that could not be opened.
//!
//! mDNS (opt-in, [`RtcConfig::mdns_host_candidates`] and [`RtcConfig::mdns_resolve`]; see
//! [`crate::mdns`]): the descriptions and candidates handed to the application carry
//! `<uuid>.local` names instead of host IPs (and are mapped back in `set_local_description`),
//! a responder task answers for those names until the connection ends; the peer's `.local`
//! candidates (from `add_ice_candidate`, which then answers once the name is resolved, or from
//! a remote description) are resolved by a query task and added as ordinary candidates. A name
//! that does not resolve leaves today's behaviour: the candidate is refused
//! ([`Error::Candidate`]) and the peer can still be learned peer-reflexive.
#![allow(clippy::disallowed_methods)] // the driver is where wall-clock time enters

use crate::mdns::net::Mdns;
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
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

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
    // Boxed: a channel allocates its slots 32 at a time up front, so an idle connection's
    // channels cost 32 pointers each instead of 32 commands (or events) of ~90 bytes.
    commands: mpsc::Sender<Box<Command>>,
    local_addresses: Vec<SocketAddr>,
}

/// The events of one peer connection, in order.
pub struct RtcEvents {
    events: mpsc::UnboundedReceiver<Box<Event>>,
}

impl RtcEvents {
    /// The next event; `None` once the connection task has ended.
    pub async fn recv(&mut self) -> Option<Event> {
        self.events.recv().await.map(|event| *event)
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
        let tls_servers = resolve_ice_servers(&mut config).await?;
        let tls = TurnTls::new(tls_servers, &config.tls_root_certificates)?;
        let pc_mdns = (config.mdns_host_candidates, config.mdns_resolve);
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
        let mdns = crate::mdns::net::Mdns::new(pc_mdns.0, pc_mdns.1, &local_addresses)?;
        let (commands, command_rx) = mpsc::channel(256);
        let (event_tx, events) = mpsc::unbounded_channel();
        let sockets = sockets
            .into_iter()
            .zip(&local_addresses)
            .map(|(socket, &local)| Udp::new(socket, local))
            .collect::<Result<Vec<_>, _>>()?;
        tokio::spawn(run(Box::new(pc), sockets, mdns, tls, command_rx, event_tx));
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
            .send(Box::new(make(tx)))
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
            .send(Box::new(Command::BufferedAmount(channel, tx)))
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
            .send(Box::new(Command::SetLowThreshold(channel, threshold)))
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
            .send(Box::new(Command::Stats(tx)))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }
    /// W3C `connectionState`.
    pub async fn connection_state(&self) -> PeerConnectionState {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Box::new(Command::State(tx)))
            .await
            .is_err()
        {
            return PeerConnectionState::Closed;
        }
        rx.await.unwrap_or(PeerConnectionState::Closed)
    }
    /// W3C `close()`; the task ends after flushing what the close sends.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Box::new(Command::Close(tx)))
            .await
            .is_ok()
        {
            let _ = rx.await;
        }
    }
}

/// The connection task. The core comes boxed: by value, its inline state (over 12 KiB) was
/// stored twice in every task's future, as the argument and as the local it moves into.
async fn run(
    mut pc: Box<PeerConnection>,
    sockets: Vec<Udp>,
    mut mdns: Mdns,
    tls: Option<Box<TurnTls>>,
    mut commands: mpsc::Receiver<Box<Command>>,
    events: mpsc::UnboundedSender<Box<Event>>,
) {
    let mut closing: Option<oneshot::Sender<()>> = None;
    let mut tcp = TurnTcp::new(tls);
    loop {
        flush(&mut pc, &sockets, &mut tcp, &mdns, &events).await;
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
                    if let Some(command) = apply_mdns(&mut pc, &mut mdns, *command)
                        && let Some(done) = apply(&mut pc, command)
                    {
                        closing = Some(done);
                    }
                }
                None => {
                    pc.close(Instant::now());
                    flush(&mut pc, &sockets, &mut tcp, &mdns, &events).await;
                    return;
                }
            },
            Some(outcome) = mdns.next_result() => mdns.resolved(&mut pc, Instant::now(), outcome),
            Some(input) = tcp.input() => match input {
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
            index = readable_any(&sockets) => {
                if let Some(udp) = sockets.get(index) {
                    let now = Instant::now();
                    receive_ready(udp, |from, datagram| {
                        // A rejected datagram is dropped: the core keeps its state unchanged.
                        let _ = pc.handle_receive(now, udp.local, from, datagram);
                    });
                }
            }
            () = sleep => pc.handle_timeout(Instant::now()),
        }
    }
}

/// Replaces host names in `iceServers` URLs by an address they resolve to (IPv4 first).
/// Returns each `turns:` server's address with the host its certificate must name.
async fn resolve_ice_servers(
    config: &mut RtcConfig,
) -> Result<Vec<(SocketAddr, String)>, std::io::Error> {
    let mut tls = Vec::new();
    for server in &mut config.ice_servers {
        for url in &mut server.urls {
            // A URL that does not parse is refused by the core with a clear error.
            let Ok(parsed) = crate::ice_servers::parse_url(url) else {
                continue;
            };
            if let Ok(ip) = parsed.host.parse::<IpAddr>() {
                if parsed.tls {
                    tls.push((SocketAddr::new(ip, parsed.port), parsed.host.to_string()));
                }
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
            if parsed.tls {
                tls.push((address, parsed.host.to_string()));
            }
            *url = crate::ice_servers::with_address(url, address);
        }
    }
    Ok(tls)
}

/// The system's trusted roots, read once per process (a few hundred certificates).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> = std::sync::OnceLock::new();
    // Unreadable entries are skipped, as browsers do; none at all leaves only the extra roots.
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// TLS for a peer connection's `turns:` servers: which addresses, the name each certificate
/// must carry, and the client configuration (system roots plus the application's).
struct TurnTls {
    servers: Vec<(SocketAddr, ServerName<'static>)>,
    config: Arc<rustls::ClientConfig>,
}

impl TurnTls {
    /// `None` without `turns:` servers. A host that is no valid TLS server name, or an extra root
    /// that does not parse, is refused here (the application's input, with the reason).
    fn new(
        servers: Vec<(SocketAddr, String)>,
        extra_roots: &[Vec<u8>],
    ) -> Result<Option<Box<TurnTls>>, std::io::Error> {
        if servers.is_empty() {
            return Ok(None);
        }
        let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, what);
        let servers = servers
            .into_iter()
            .map(|(address, host)| {
                ServerName::try_from(host.clone())
                    .map(|name| (address, name))
                    .map_err(|e| invalid(format!("turns: host {host:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(system_roots().iter().cloned());
        for der in extra_roots {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| invalid(format!("tls_root_certificates: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Some(Box::new(TurnTls {
            servers,
            config: Arc::new(config),
        })))
    }

    /// What a connection to `server` needs to speak TLS, if it is a `turns:` server.
    fn for_server(
        &self,
        server: SocketAddr,
    ) -> Option<(Arc<rustls::ClientConfig>, ServerName<'static>)> {
        let (_, name) = self.servers.iter().find(|(a, _)| *a == server)?;
        Some((Arc::clone(&self.config), name.clone()))
    }
}

/// The commands mDNS changes (see [`crate::mdns`]): our descriptions leave with host IPs
/// hidden and come back revealed; the peer's `.local` candidates are resolved. The rest (and
/// all of them when mDNS is off) are handed back for [`apply`].
fn apply_mdns(pc: &mut PeerConnection, mdns: &mut Mdns, command: Command) -> Option<Command> {
    let now = Instant::now();
    let hide = |mut d: SessionDescriptionInit| {
        d.sdp = mdns.hide_sdp(&d.sdp);
        d
    };
    match command {
        Command::CreateOffer(r) => drop(r.send(pc.create_offer(now).map(hide))),
        Command::CreateAnswer(r) => drop(r.send(pc.create_answer(now).map(hide))),
        Command::SetLocal(mut d, r) => {
            d.sdp = mdns.reveal_sdp(&d.sdp);
            drop(r.send(pc.set_local_description(now, d)));
        }
        Command::SetRemote(d, r) => {
            let sdp = d.sdp.clone();
            let result = pc.set_remote_description(now, d);
            if result.is_ok() {
                mdns.remote_sdp(pc, now, &sdp);
            }
            drop(r.send(result));
        }
        Command::AddIceCandidate(c, r) => {
            let (c, r) = mdns.add_remote(pc, now, c, Some(r))?;
            return Some(Command::AddIceCandidate(c, r?));
        }
        other => return Some(other),
    }
    None
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
    sockets: &[Udp],
    tcp: &mut TurnTcp,
    mdns: &Mdns,
    events: &mpsc::UnboundedSender<Box<Event>>,
) {
    // Consecutive datagrams of one size (the last may be shorter) from one socket to one
    // destination leave in one UDP GSO send.
    let mut batch: Option<Batch> = None;
    while let Some(transmit) = pc.poll_transmit() {
        if transmit.transport == TransportProtocol::Tcp {
            if let Err(server) = tcp.send(transmit.source.ip(), transmit.destination, transmit.data)
            {
                // No connection can be had (too many): the relays on that server fail now.
                pc.relay_stream_closed(Instant::now(), server);
            }
            continue;
        }
        let index = sockets
            .iter()
            .position(|s| s.local == transmit.source)
            .unwrap_or(0);
        if let Some(b) = batch.as_mut()
            && b.accepts(index, transmit.destination, transmit.data.len())
        {
            b.push(&transmit.data);
            continue;
        }
        if let Some(done) = batch.take() {
            send_batch(sockets, done).await;
        }
        batch = Some(Batch::new(index, transmit.destination, transmit.data));
    }
    if let Some(done) = batch.take() {
        send_batch(sockets, done).await;
    }
    while let Some(event) = pc.poll_event() {
        let event = match event {
            Event::LocalCandidate(c) => Event::LocalCandidate(mdns.hide(&c)),
            other => other,
        };
        let _ = events.send(Box::new(event));
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
    /// What the connections' tasks report, made on first use: a connection that never uses
    /// TURN over TCP holds no channel.
    inputs: Option<(mpsc::Sender<TcpInput>, mpsc::Receiver<TcpInput>)>,
    /// The `turns:` servers, whose connections carry TLS.
    tls: Option<Box<TurnTls>>,
}

impl TurnTcp {
    fn new(tls: Option<Box<TurnTls>>) -> TurnTcp {
        TurnTcp {
            links: HashMap::new(),
            next_id: 0,
            inputs: None,
            tls,
        }
    }

    /// The next report of a connection's task (pending while there is no connection).
    async fn input(&mut self) -> Option<TcpInput> {
        match self.inputs.as_mut() {
            Some((_, inputs)) => inputs.recv().await,
            None => std::future::pending().await,
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
            // Bounded: a connection's task waits (and TCP pushes back) while the core is behind.
            let (inputs_tx, _) = self.inputs.get_or_insert_with(|| mpsc::channel(64));
            let inputs_tx = inputs_tx.clone();
            let (writes, rx) = mpsc::unbounded_channel();
            let queued = Arc::new(AtomicUsize::new(0));
            let tls = self.tls.as_ref().and_then(|t| t.for_server(server));
            tokio::spawn(turn_tcp_connection(
                id,
                local,
                server,
                tls,
                rx,
                Arc::clone(&queued),
                inputs_tx,
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

/// One TCP connection to a TURN server: connect from `local` (with a timeout; TLS too for a
/// `turns:` server), then write what is queued and forward what is read, until either side
/// fails or the peer connection's task ends (`writes` closes). Always ends by reporting
/// `Closed` (ignored once nobody listens).
async fn turn_tcp_connection(
    id: u64,
    local: IpAddr,
    server: SocketAddr,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    writes: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    inputs: mpsc::Sender<TcpInput>,
) {
    let connect = async {
        let socket = if server.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.bind(SocketAddr::new(local, 0))?;
        let stream = socket.connect(server).await?;
        // TURN messages are small and latency matters more than segment count.
        stream.set_nodelay(true)?;
        Ok::<_, std::io::Error>(stream)
    };
    let link = Link {
        id,
        server,
        writes,
        queued,
        inputs: inputs.clone(),
    };
    match tls {
        None => {
            if let Ok(Ok(stream)) = tokio::time::timeout(TURN_TCP_CONNECT_TIMEOUT, connect).await {
                link.pump(stream).await;
            }
        }
        Some((config, name)) => {
            let handshake = async {
                let stream = connect.await?;
                tokio_rustls::TlsConnector::from(config)
                    .connect(name, stream)
                    .await
            };
            if let Ok(Ok(stream)) = tokio::time::timeout(TURN_TCP_CONNECT_TIMEOUT, handshake).await
            {
                link.pump(stream).await;
            }
        }
    }
    let _ = inputs.send(TcpInput::Closed { id, server }).await;
}

/// An open TURN stream's two directions: the core's queued writes out, what is read back in.
struct Link {
    id: u64,
    server: SocketAddr,
    writes: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    inputs: mpsc::Sender<TcpInput>,
}

impl Link {
    /// Until either side fails, the server closes, or the peer connection's task ends.
    async fn pump(self, stream: impl AsyncRead + AsyncWrite + Unpin) {
        let Link {
            id,
            server,
            mut writes,
            queued,
            inputs,
        } = self;
        let (mut reader, mut writer) = tokio::io::split(stream);
        let write_loop = async {
            while let Some(bytes) = writes.recv().await {
                let result = writer.write_all(&bytes).await;
                queued.fetch_sub(bytes.len(), Ordering::Relaxed);
                result?;
                if writes.is_empty() {
                    // TLS holds records until flushed (a no-op on plain TCP).
                    writer.flush().await?;
                }
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
}

/// One UDP socket of a connection.
struct Udp {
    socket: UdpSocket,
    /// Its address (asked of the kernel once).
    local: SocketAddr,
    /// `quinn-udp`'s state of the socket: whether UDP GSO can be had (it stops using GSO for
    /// good after a GSO send fails with EIO or EINVAL), and the receive options it set (UDP
    /// GRO where the kernel has it).
    state: quinn_udp::UdpSocketState,
}

impl Udp {
    fn new(socket: UdpSocket, local: SocketAddr) -> Result<Udp, std::io::Error> {
        // Enables UDP GRO (Linux 5.0+) and packet-info control messages where the kernel has
        // them, and sets "don't fragment": a datagram above the path MTU is refused rather
        // than fragmented.
        let state = quinn_udp::UdpSocketState::new((&socket).into())?;
        Ok(Udp {
            socket,
            local,
            state,
        })
    }

    /// Whether a batch of several datagrams may leave in one GSO send.
    fn gso(&self) -> bool {
        self.state.max_gso_segments() > 1
    }
}

/// Bytes of one receive slot: one datagram, or one GRO super-datagram (the kernel coalesces at
/// most 64 KiB).
const RECV_SLOT: usize = 1 << 16;
/// Receive slots of one `recvmmsg`; the per-thread receive buffer is `RECV_SLOTS × RECV_SLOT`.
const RECV_SLOTS: usize = 8;
/// Datagrams read per wake-up before the core's transmits are flushed (the receive that passes
/// it is finished first).
const RECV_BATCH: usize = 64;
/// Segments in one GSO send (the kernel's `UDP_MAX_SEGMENTS` is 64 before Linux 6.x).
const GSO_MAX_SEGMENTS: usize = 64;
/// Bytes in one GSO send (one UDP datagram's payload before segmentation).
const GSO_MAX_BYTES: usize = 60_000;

/// The receive buffer of one runtime thread: the slots and their `recvmmsg` results.
#[derive(Default)]
struct RecvBuffer {
    data: Vec<u8>,
    meta: Vec<quinn_udp::RecvMeta>,
}

thread_local! {
    /// The receive buffer of this runtime thread, shared by every connection task running on it
    /// and borrowed only inside [`receive_ready`] (no `.await` while held): an idle connection
    /// holds no receive buffer.
    static RECV_BUFFER: std::cell::Cell<RecvBuffer> = std::cell::Cell::new(RecvBuffer::default());
}

/// The datagrams of one received buffer: a GRO super-datagram holds datagrams of `stride` bytes
/// back to back, the last possibly shorter; without GRO, `stride` is the whole length.
fn gro_datagrams(data: &[u8], stride: usize) -> std::slice::Chunks<'_, u8> {
    let stride = if stride == 0 { data.len() } else { stride };
    data.chunks(stride.max(1))
}

/// Reads what `udp` has — at least [`RECV_BATCH`] datagrams unless it runs dry — through
/// `recvmmsg` (and GRO), handing each datagram to `deliver` with its source.
fn receive_ready(udp: &Udp, mut deliver: impl FnMut(SocketAddr, &[u8])) {
    let mut buf = RECV_BUFFER.take();
    buf.data.resize(RECV_SLOTS * RECV_SLOT, 0);
    buf.meta.resize(RECV_SLOTS, quinn_udp::RecvMeta::default());
    let mut delivered = 0;
    while delivered < RECV_BATCH {
        let mut slots = buf.data.chunks_mut(RECV_SLOT);
        let mut slices: [std::io::IoSliceMut<'_>; RECV_SLOTS] =
            std::array::from_fn(|_| std::io::IoSliceMut::new(slots.next().unwrap_or_default()));
        // WouldBlock (drained; clears the readiness) or an error (an ICMP report) ends it.
        let Ok(received) = udp.socket.try_io(tokio::io::Interest::READABLE, || {
            udp.state
                .recv((&udp.socket).into(), &mut slices, &mut buf.meta)
        }) else {
            break;
        };
        for (meta, slot) in buf
            .meta
            .iter()
            .take(received)
            .zip(buf.data.chunks(RECV_SLOT))
        {
            let Some(data) = slot.get(..meta.len) else {
                continue;
            };
            for datagram in gro_datagrams(data, meta.stride) {
                deliver(meta.addr, datagram);
                delivered += 1;
            }
        }
        if received == 0 {
            break;
        }
    }
    RECV_BUFFER.set(buf);
}

/// Waits until one of the sockets is readable; its index.
async fn readable_any(sockets: &[Udp]) -> usize {
    match sockets {
        [] => std::future::pending().await,
        // With one socket (the common case) there is nothing to race.
        [udp] => {
            let _ = udp.socket.readable().await;
            0
        }
        _ => {
            let readable = sockets.iter().map(|s| Box::pin(s.socket.readable()));
            futures_util::future::select_all(readable).await.1
        }
    }
}

/// Datagrams for one GSO send: all `segment` bytes but the last, which may be shorter.
struct Batch {
    socket: usize,
    destination: SocketAddr,
    segment: usize,
    count: usize,
    data: Vec<u8>,
}

impl Batch {
    fn new(socket: usize, destination: SocketAddr, data: Vec<u8>) -> Batch {
        Batch {
            socket,
            destination,
            segment: data.len(),
            count: 1,
            data,
        }
    }

    fn accepts(&self, socket: usize, destination: SocketAddr, len: usize) -> bool {
        // A shorter datagram ends the batch (it must be the last segment).
        self.socket == socket
            && self.destination == destination
            && self.data.len() == self.segment * self.count
            && len <= self.segment
            && len > 0
            && self.count < GSO_MAX_SEGMENTS
            && self.data.len() + len <= GSO_MAX_BYTES
    }

    fn push(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
        self.count += 1;
    }
}

/// Sends a batch: one GSO send where the kernel has it, else datagram by datagram. UDP send
/// errors (no route, buffer full) are loss: ICE and SCTP retransmit.
async fn send_batch(sockets: &[Udp], batch: Batch) {
    let Some(udp) = sockets.get(batch.socket) else {
        return;
    };
    if batch.count > 1 && udp.gso() {
        let transmit = quinn_udp::Transmit {
            destination: batch.destination,
            ecn: None,
            contents: &batch.data,
            segment_size: Some(batch.segment),
            src_ip: None,
        };
        let sent = udp
            .socket
            .async_io(tokio::io::Interest::WRITABLE, || {
                udp.state.try_send((&udp.socket).into(), &transmit)
            })
            .await;
        // Sent, or lost like any datagram (no route, ...) — unless the failure was GSO itself
        // (EIO: no checksum offload on the device; EINVAL: a segment above the MTU, too old a
        // kernel), after which `quinn-udp` has turned GSO off: this batch goes one by one.
        if sent.is_ok() || udp.gso() {
            return;
        }
    }
    send_each(udp, &batch).await;
}

/// Sends a batch datagram by datagram (the fallback without GSO).
async fn send_each(udp: &Udp, batch: &Batch) {
    for datagram in batch.data.chunks(batch.segment.max(1)) {
        let _ = udp.socket.send_to(datagram, batch.destination).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn destination() -> SocketAddr {
        "127.0.0.1:9".parse().unwrap()
    }

    #[test]
    fn a_batch_takes_equal_datagrams_then_one_shorter_one() {
        let mut batch = Batch::new(0, destination(), vec![1; 1000]);
        assert!(batch.accepts(0, destination(), 1000));
        batch.push(&[2; 1000]);
        // Another socket, another destination, a longer or empty datagram: a new batch.
        assert!(!batch.accepts(1, destination(), 1000));
        assert!(!batch.accepts(0, "127.0.0.1:10".parse().unwrap(), 1000));
        assert!(!batch.accepts(0, destination(), 1001));
        assert!(!batch.accepts(0, destination(), 0));
        assert!(batch.accepts(0, destination(), 400));
        batch.push(&[3; 400]);
        // The shorter one was the last segment.
        assert!(!batch.accepts(0, destination(), 400));
        assert_eq!(
            (batch.count, batch.segment, batch.data.len()),
            (3, 1000, 2400)
        );
    }

    #[test]
    fn a_batch_is_bounded_in_segments_and_bytes() {
        let mut batch = Batch::new(0, destination(), vec![0; 100]);
        while batch.accepts(0, destination(), 100) {
            batch.push(&[0; 100]);
        }
        assert_eq!(batch.count, GSO_MAX_SEGMENTS);
        let mut batch = Batch::new(0, destination(), vec![0; 1400]);
        while batch.accepts(0, destination(), 1400) {
            batch.push(&[0; 1400]);
        }
        assert!(batch.data.len() <= GSO_MAX_BYTES);
        assert!(batch.data.len() + 1400 > GSO_MAX_BYTES);
    }

    #[test]
    fn a_gro_super_datagram_splits_at_its_stride_with_a_short_last_segment() {
        // Three 1200-byte datagrams and a 700-byte one, coalesced as the kernel does.
        let mut data = Vec::new();
        for (i, size) in [1200, 1200, 1200, 700].into_iter().enumerate() {
            data.extend(std::iter::repeat_n(i as u8, size));
        }
        let datagrams: Vec<&[u8]> = gro_datagrams(&data, 1200).collect();
        assert_eq!(
            datagrams.iter().map(|d| d.len()).collect::<Vec<_>>(),
            [1200, 1200, 1200, 700]
        );
        for (i, datagram) in datagrams.iter().enumerate() {
            assert!(datagram.iter().all(|&b| b == i as u8), "datagram {i}");
        }
        // Without GRO the stride is the length (one datagram); a zero stride means the same.
        assert_eq!(gro_datagrams(&data, data.len()).count(), 1);
        assert_eq!(gro_datagrams(&data, 0).collect::<Vec<_>>(), [&data[..]]);
        // Equal segments: no empty tail.
        assert_eq!(gro_datagrams(&data[..3600], 1200).count(), 3);
        assert_eq!(gro_datagrams(&[], 1200).count(), 0);
    }

    /// The TURN TCP bounds: a few connections per peer connection, a bounded write queue
    /// (whole messages dropped beyond it), one connection per server (from the first IP).
    #[tokio::test]
    async fn turn_tcp_connections_and_write_queue_are_bounded() {
        // A listener that accepts and never reads: the connections stay open.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let mut tcp = TurnTcp::new(None);
        let server = SocketAddr::new(local, port);
        tcp.send(local, server, vec![0; 100]).unwrap();
        assert_eq!(tcp.links.len(), 1);
        // Another IP to the same server: no second connection (the agent routes by server).
        tcp.send("127.0.0.2".parse().unwrap(), server, vec![0; 100])
            .unwrap();
        assert_eq!(tcp.links.len(), 1);
        // The write queue: a message that would pass the bound is dropped whole. (First the
        // connection's task writes the 100 bytes queued above.)
        let link = tcp.links.get(&server).unwrap();
        for _ in 0..500 {
            if link.queued.load(Ordering::Relaxed) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(link.queued.load(Ordering::Relaxed), 0);
        link.queued
            .store(TURN_TCP_WRITE_QUEUE - 10, Ordering::Relaxed);
        tcp.send(local, server, vec![0; 11]).unwrap();
        let link = tcp.links.get(&server).unwrap();
        assert_eq!(
            link.queued.load(Ordering::Relaxed),
            TURN_TCP_WRITE_QUEUE - 10
        );
        // At most MAX_TURN_TCP servers at once; the next is refused at once.
        for i in 1..MAX_TURN_TCP {
            let other = SocketAddr::new(local, port.wrapping_add(i as u16));
            tcp.send(local, other, vec![0; 4]).unwrap();
        }
        assert_eq!(tcp.links.len(), MAX_TURN_TCP);
        let one_more = SocketAddr::new(local, port.wrapping_add(100));
        assert_eq!(tcp.send(local, one_more, vec![0; 4]), Err(one_more));
        drop(listener);
    }

    async fn udp_pair() -> (Udp, Udp) {
        let mut pair = Vec::new();
        for _ in 0..2 {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let local = socket.local_addr().unwrap();
            pair.push(Udp::new(socket, local).unwrap());
        }
        let b = pair.pop().unwrap();
        (pair.pop().unwrap(), b)
    }

    /// Everything `receive_ready` hands over until `count` datagrams have come (5 s at most).
    async fn receive(udp: &Udp, count: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), async {
            while got.len() < count {
                udp.socket.readable().await.unwrap();
                receive_ready(udp, |from, d| got.push((from, d.to_vec())));
            }
        })
        .await
        .unwrap();
        got
    }

    /// A batch sent through `send_batch` arrives as the datagrams it was made of, in order —
    /// by GSO where the kernel has it, by the fallback (`send_each`) otherwise — and the
    /// receive side hands them over one by one, whether the kernel coalesced them (GRO, on
    /// loopback a GSO send arrives as one super-datagram) or not.
    #[tokio::test]
    async fn batched_datagrams_arrive_whole_and_in_order() {
        let (sender, receiver) = udp_pair().await;
        eprintln!(
            "GSO segments {}, GRO segments {}",
            sender.state.max_gso_segments(),
            receiver.state.gro_segments()
        );
        let sizes = [1200, 1200, 1200, 1200, 700];
        for gso in [true, false] {
            let mut batch = Batch::new(0, receiver.local, vec![0; 1200]);
            for (i, &size) in sizes.iter().enumerate().skip(1) {
                assert!(batch.accepts(0, receiver.local, size));
                batch.push(&vec![i as u8; size]);
            }
            if gso {
                send_batch(std::slice::from_ref(&sender), batch).await;
            } else {
                send_each(&sender, &batch).await;
            }
            let got = receive(&receiver, sizes.len()).await;
            assert_eq!(got.len(), sizes.len(), "gso {gso}");
            for (i, ((from, datagram), &size)) in got.iter().zip(&sizes).enumerate() {
                assert_eq!(
                    (*from, datagram.len()),
                    (sender.local, size),
                    "datagram {i}"
                );
                assert!(
                    datagram.iter().all(|&b| b == i as u8),
                    "datagram {i} (gso {gso})"
                );
            }
        }
    }

    /// One receive wake-up stops after about [`RECV_BATCH`] datagrams (the core's answers
    /// leave before more is read), and the rest stays for the next one.
    #[tokio::test]
    async fn a_receive_wake_up_is_bounded() {
        let (sender, receiver) = udp_pair().await;
        let _ = receiver
            .state
            .set_recv_buffer_size((&receiver.socket).into(), 1 << 20);
        let total = 3 * RECV_BATCH;
        for i in 0..total {
            sender
                .socket
                .send_to(&[i as u8; 100], receiver.local)
                .await
                .unwrap();
        }
        receiver.socket.readable().await.unwrap();
        let mut first = Vec::new();
        receive_ready(&receiver, |_, d| first.push(d.to_vec()));
        assert!(!first.is_empty());
        assert!(first.len() < RECV_BATCH + RECV_SLOTS, "{}", first.len());
        let rest = receive(&receiver, total - first.len()).await;
        let all: Vec<u8> = first
            .iter()
            .chain(rest.iter().map(|(_, d)| d))
            .map(|d| d[0])
            .collect();
        assert_eq!(all, (0..total).map(|i| i as u8).collect::<Vec<_>>());
    }

    /// The connection task's future holds the core boxed: moved in by value, the core (over
    /// 12 KiB inline) was stored twice in the task (argument and local), a copy per idle
    /// connection.
    #[tokio::test]
    async fn the_connection_task_stays_small() {
        let pc = PeerConnection::new(RtcConfig::default(), Instant::now()).unwrap();
        let mdns = Mdns::new(false, false, &[]).unwrap();
        let (_commands, command_rx) = mpsc::channel(1);
        let (event_tx, _events) = mpsc::unbounded_channel();
        let task = run(Box::new(pc), Vec::new(), mdns, None, command_rx, event_tx);
        let size = std::mem::size_of_val(&task);
        assert!(size < 8 * 1024, "{size} bytes");
    }
}
