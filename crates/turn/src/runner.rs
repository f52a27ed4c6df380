//! A small tokio runner around the sans-IO [`Server`] core (feature `server`): one UDP
//! listening socket, an optional TCP listener, and one UDP socket per relay address.
//!
//! The server runs as one event loop on a thread of its own, with a current-thread tokio
//! runtime (as coturn runs each relay thread on one libevent loop): every socket is registered
//! with that thread's reactor, so a datagram is read, relayed and written without waking
//! another thread, whatever runtime the caller uses. The caller's task only waits for the
//! shutdown future and hands the statistics to `report`.
//!
//! On that thread, one task owns the core and reads the UDP listening socket itself (every
//! client → peer datagram, with no hand-off). Reader tasks for each relay socket and each TCP
//! connection forward what they read over a bounded channel, which the core drains in
//! batches. The core's transmits are written by the owning task (UDP) or handed to the
//! connection's writer task (TCP). One timer is re-armed only when the core's `poll_timeout`
//! moves.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::server::{Server, ServerEvent, ServerStats};
use crate::transport::Transport;
use crate::wire::framing::StreamFramer;

/// Bound on datagrams queued from the socket readers to the core.
const INBOUND_QUEUE: usize = 4096;
/// Bound on bytes queued to one TCP connection, in messages.
const TCP_WRITE_QUEUE: usize = 1024;
/// Most queued inputs the core takes per wake-up before it drains its transmits.
const INPUT_BATCH: usize = 64;

struct Inbound {
    transport: Transport,
    from: SocketAddr,
    to: SocketAddr,
    data: Vec<u8>,
}

enum Input {
    Data(Inbound),
    /// Datagrams a relay reader found queued on its socket together.
    Batch(Vec<Inbound>),
    TcpOpened {
        client: SocketAddr,
        writer: mpsc::Sender<Vec<u8>>,
    },
    TcpClosed {
        client: SocketAddr,
    },
}

/// A bound TURN server, ready to [`ServerRunner::run`].
#[derive(Debug)]
pub struct ServerRunner {
    core: Server,
    udp: UdpSocket,
    tcp: Option<TcpListener>,
    local: SocketAddr,
    legacy_channels: bool,
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
        let udp = UdpSocket::bind(listen).await?;
        let local = udp.local_addr()?;
        let tcp = if tcp {
            Some(TcpListener::bind(local).await?)
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
        })
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
    /// this future waits for `shutdown`, stops that thread and returns its result.
    pub async fn run_with_stats(
        self,
        shutdown: impl Future<Output = ()>,
        every: Option<Duration>,
        mut report: impl FnMut(ServerStats),
    ) -> io::Result<()> {
        let ServerRunner {
            core,
            udp,
            tcp,
            local,
            legacy_channels,
        } = self;
        // Out of the caller's reactor: the serving thread registers them with its own.
        let udp = udp.into_std()?;
        let tcp = tcp.map(TcpListener::into_std).transpose()?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (stats_tx, mut stats_rx) = mpsc::channel::<ServerStats>(4);
        let (done_tx, mut done_rx) = oneshot::channel::<io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("tern-turn-server".into())
            .spawn(move || {
                let result = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .and_then(|runtime| {
                        runtime.block_on(async move {
                            let udp = from_std_udp(udp)?;
                            let tcp = match tcp {
                                Some(l) => {
                                    l.set_nonblocking(true)?;
                                    Some(TcpListener::from_std(l)?)
                                }
                                None => None,
                            };
                            let stop = async move {
                                let _ = stop_rx.await;
                            };
                            serve(
                                core,
                                udp,
                                tcp,
                                local,
                                legacy_channels,
                                stop,
                                every,
                                stats_tx,
                            )
                            .await;
                            Ok(())
                        })
                    });
                let _ = done_tx.send(result);
            })?;
        tokio::pin!(shutdown);
        let mut stats_open = true;
        let result = loop {
            tokio::select! {
                () = &mut shutdown => {
                    let _ = stop_tx.send(());
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

fn from_std_udp(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket)
}

/// The event loop: runs on the serving thread's current-thread runtime until `shutdown`.
#[allow(clippy::too_many_arguments)]
async fn serve(
    mut core: Server,
    udp: UdpSocket,
    tcp: Option<TcpListener>,
    local: SocketAddr,
    legacy: bool,
    shutdown: impl Future<Output = ()>,
    every: Option<Duration>,
    stats: mpsc::Sender<ServerStats>,
) {
    let udp = Arc::new(udp);
    let (tx, mut rx) = mpsc::channel::<Input>(INBOUND_QUEUE);
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    // The listening socket is read by the core's own task (no hand-off per datagram: it
    // carries every client → peer packet); relay sockets and TCP connections by reader tasks.
    let mut listen_buf = vec![0u8; 65536];
    if let Some(listener) = tcp {
        tasks.push(spawn_tcp_acceptor(listener, local, legacy, tx.clone()));
    }
    let mut relays: HashMap<SocketAddr, (Arc<UdpSocket>, JoinHandle<()>)> = HashMap::new();
    let mut tcp_writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    tokio::pin!(shutdown);
    // One timer, re-armed only when the core's deadline moves (not once per datagram).
    let far_future = || tokio::time::Instant::now() + Duration::from_secs(86_400);
    let timer = tokio::time::sleep_until(far_future());
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    let period = every
        .unwrap_or(Duration::from_secs(3600))
        .max(Duration::from_millis(1));
    let mut stats_tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        let deadline = core.poll_timeout();
        if deadline != armed {
            armed = deadline;
            timer
                .as_mut()
                .reset(deadline.map_or_else(far_future, tokio::time::Instant::from_std));
        }
        tokio::select! {
            () = &mut shutdown => break,
            input = rx.recv() => {
                let Some(input) = input else { break };
                let mut next = Some(input);
                let mut batch = 0;
                // Take what else is already queued before draining: one wake-up, many
                // datagrams, under load.
                while let Some(input) = next {
                    handle_input(&mut core, input, &mut tcp_writers, local);
                    batch += 1;
                    next = if batch < INPUT_BATCH { rx.try_recv().ok() } else { None };
                }
            }
            received = udp.recv_from(&mut listen_buf) => {
                // ICMP errors surface as receive errors on Linux: keep serving.
                if let Ok((n, from)) = received {
                    let datagram = listen_buf.get(..n).unwrap_or_default();
                    let _ = core.handle_receive(instant_now(), Transport::Udp, from, local, datagram);
                    for _ in 1..INPUT_BATCH {
                        let Ok((n, from)) = udp.try_recv_from(&mut listen_buf) else { break };
                        let datagram = listen_buf.get(..n).unwrap_or_default();
                        let _ = core.handle_receive(instant_now(), Transport::Udp, from, local, datagram);
                    }
                }
            }
            _ = stats_tick.tick(), if every.is_some() => {
                // A slow reporter misses a tick rather than stalling the relay.
                let _ = stats.try_send(core.stats());
            }
            () = &mut timer => {
                armed = None;
                core.handle_timeout(instant_now());
            }
        }
        drain(&mut core, &udp, &mut relays, &tcp_writers, &tx).await;
    }
    for (_, (_, task)) in relays.drain() {
        task.abort();
    }
    for task in tasks {
        task.abort();
    }
}

fn handle_input(
    core: &mut Server,
    input: Input,
    tcp_writers: &mut HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    local: SocketAddr,
) {
    match input {
        Input::Data(d) => {
            let _ = core.handle_receive(instant_now(), d.transport, d.from, d.to, &d.data);
        }
        Input::Batch(batch) => {
            for d in batch {
                let _ = core.handle_receive(instant_now(), d.transport, d.from, d.to, &d.data);
            }
        }
        Input::TcpOpened { client, writer } => {
            tcp_writers.insert(client, writer);
        }
        Input::TcpClosed { client } => {
            tcp_writers.remove(&client);
            core.connection_closed(client, local);
        }
    }
}

/// Sends every transmit and acts on every event, until the core has nothing more.
async fn drain(
    core: &mut Server,
    udp: &Arc<UdpSocket>,
    relays: &mut HashMap<SocketAddr, (Arc<UdpSocket>, JoinHandle<()>)>,
    tcp_writers: &HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    tx: &mpsc::Sender<Input>,
) {
    loop {
        let mut moved = false;
        while let Some(t) = core.poll_transmit() {
            moved = true;
            match t.transport {
                Transport::Tcp => {
                    if let Some(w) = tcp_writers.get(&t.destination) {
                        // A full queue means a stalled client: drop rather than block the core.
                        let _ = w.try_send(t.data);
                    }
                }
                Transport::Udp => {
                    let socket = match relays.get(&t.source) {
                        Some((s, _)) => s,
                        None => udp,
                    };
                    // Usually writable at once: skip the await machinery then.
                    if let Err(e) = socket.try_send_to(&t.data, t.destination)
                        && e.kind() == io::ErrorKind::WouldBlock
                    {
                        let _ = socket.send_to(&t.data, t.destination).await;
                    }
                }
            }
        }
        while let Some(e) = core.poll_event() {
            moved = true;
            match e {
                ServerEvent::OpenRelay { relay } => match UdpSocket::bind(relay).await {
                    Ok(socket) => {
                        let socket = Arc::new(socket);
                        let task =
                            spawn_udp_reader(socket.clone(), relay, Transport::Udp, tx.clone());
                        relays.insert(relay, (socket, task));
                        core.relay_opened(instant_now(), relay);
                    }
                    Err(_) => core.relay_failed(instant_now(), relay),
                },
                ServerEvent::CloseRelay { relay } => {
                    if let Some((_, task)) = relays.remove(&relay) {
                        task.abort();
                    }
                }
                _ => {}
            }
        }
        if !moved {
            break;
        }
    }
}

fn spawn_udp_reader(
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    transport: Transport,
    tx: mpsc::Sender<Input>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                // ICMP errors surface as recv errors on some systems: keep reading.
                continue;
            };
            let inbound = |n: usize, from: SocketAddr, buf: &[u8]| Inbound {
                transport,
                from,
                to: local,
                data: buf.get(..n).unwrap_or_default().to_vec(),
            };
            // Take what else is already queued on the socket: one hand-off for the lot.
            let mut batch = vec![inbound(n, from, &buf)];
            while batch.len() < INPUT_BATCH {
                let Ok((n, from)) = socket.try_recv_from(&mut buf) else {
                    break;
                };
                batch.push(inbound(n, from, &buf));
            }
            let input = if batch.len() == 1 {
                Input::Data(batch.remove(0))
            } else {
                Input::Batch(batch)
            };
            if tx.send(input).await.is_err() {
                return;
            }
        }
    })
}

fn spawn_tcp_acceptor(
    listener: TcpListener,
    local: SocketAddr,
    legacy_channels: bool,
    tx: mpsc::Sender<Input>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, client)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (mut read, mut write) = stream.into_split();
            let (wtx, mut wrx) = mpsc::channel::<Vec<u8>>(TCP_WRITE_QUEUE);
            if tx
                .send(Input::TcpOpened {
                    client,
                    writer: wtx,
                })
                .await
                .is_err()
            {
                return;
            }
            tokio::spawn(async move {
                while let Some(bytes) = wrx.recv().await {
                    if write.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            });
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut framer = StreamFramer::default();
                if legacy_channels {
                    framer = framer.with_legacy_channels();
                }
                let mut buf = vec![0u8; 16384];
                'read: loop {
                    let n = match read.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if framer.push(buf.get(..n).unwrap_or_default()).is_err() {
                        break;
                    }
                    loop {
                        match framer.next_frame() {
                            Ok(Some(frame)) => {
                                let input = Input::Data(Inbound {
                                    transport: Transport::Tcp,
                                    from: client,
                                    to: local,
                                    data: frame.to_vec(),
                                });
                                if tx.send(input).await.is_err() {
                                    break 'read;
                                }
                            }
                            Ok(None) => break,
                            // RFC 8656 §12.5: an unframeable stream is closed.
                            Err(_) => break 'read,
                        }
                    }
                }
                let _ = tx.send(Input::TcpClosed { client }).await;
            });
        }
    })
}
