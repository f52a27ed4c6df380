//! The tokio WebSocket server: an accept loop, one task per connection, and
//! one hub task that owns the [`RoomHub`]. Tasks talk over bounded channels;
//! nothing is shared behind a lock.
//!
//! ```text
//!   accept loop ──spawn──▶ connection task ──HubCommand──▶ hub task (owns RoomHub)
//!                           (one per client) ◀─ServerMessage─┘  (bounded queue per client)
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use crate::config::{Limits, ServerConfig};
use crate::error::SignalingError;
use crate::hub::{ConnectionId, RoomHub};
use crate::message::{ClientMessage, ErrorCode, ServerMessage};
use crate::rate::{RateLimiter, Verdict};

/// Depth of the channel from connection tasks to the hub task. Senders wait
/// when it is full, so a burst slows clients down instead of growing memory.
const HUB_QUEUE: usize = 1024;

/// Back-off after a failed `accept` (for example, out of file descriptors),
/// so that a persistent failure does not spin the loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Longest `error` text derived from a parser message.
const MAX_ERROR_TEXT: usize = 200;

/// What the server holds right now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Rooms with at least one peer.
    pub rooms: usize,
    /// Connections that are in a room.
    pub peers: usize,
    /// Open TCP connections, including those still in the WebSocket handshake.
    pub connections: usize,
}

/// Messages to the hub task.
#[derive(Debug)]
enum HubCommand {
    /// A connection finished its handshake; `outbox` receives its messages.
    Attach {
        conn: ConnectionId,
        outbox: mpsc::Sender<ServerMessage>,
    },
    Message {
        conn: ConnectionId,
        msg: ClientMessage,
    },
    /// A reply the connection task made itself (malformed input, limits),
    /// routed through the hub so that it keeps its place among the replies.
    Echo {
        conn: ConnectionId,
        msg: ServerMessage,
    },
    /// The connection is gone; its outbox is dropped, which ends the
    /// connection task's final drain.
    Detach { conn: ConnectionId },
    Stats {
        reply: oneshot::Sender<(usize, usize)>,
    },
    /// Close every connection (by dropping its outbox) and accept no more.
    Shutdown,
}

/// Runs a signaling server on `listener` until the returned future is dropped.
///
/// `config.bind` is ignored (the listener is already bound). Every connection
/// task and the hub task end when this future is dropped.
///
/// # Errors
/// [`SignalingError::InvalidConfig`] if `config.limits` fails [`Limits::validate`];
/// otherwise it does not return.
pub async fn serve(listener: TcpListener, config: ServerConfig) -> Result<(), SignalingError> {
    serve_with_shutdown(listener, config, std::future::pending()).await
}

/// Like [`serve`], but returns `Ok(())` once `shutdown` completes, after
/// closing every connection (WebSocket status 1001) or, for those that do not
/// close within [`Limits::write_timeout`], dropping them.
///
/// # Errors
/// [`SignalingError::InvalidConfig`] if `config.limits` fails [`Limits::validate`].
pub async fn serve_with_shutdown(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SignalingError> {
    config.limits.validate()?;
    let parts = Parts::new(&config.limits);
    let hub = parts.hub.clone();
    run_accept_loop(listener, config.limits, hub, parts.permits, shutdown).await;
    Ok(())
}

/// A running server in the background, with its address and a way to stop it.
///
/// Dropping a `Server` also stops it (without waiting); prefer
/// [`Server::shutdown`] to wait until every connection is closed.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    hub: mpsc::Sender<HubCommand>,
    permits: Arc<Semaphore>,
    max_connections: usize,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `config.bind` and starts serving in the background.
    ///
    /// # Errors
    /// [`SignalingError::Io`] if binding fails, [`SignalingError::InvalidConfig`]
    /// for unusable limits.
    pub async fn bind(config: ServerConfig) -> Result<Self, SignalingError> {
        config.limits.validate()?;
        let listener = TcpListener::bind(config.bind).await?;
        Self::spawn(listener, config)
    }

    /// Starts serving `listener` in the background (`config.bind` is ignored).
    /// Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// [`SignalingError::Io`] if the listener has no local address,
    /// [`SignalingError::InvalidConfig`] for unusable limits.
    pub fn spawn(listener: TcpListener, config: ServerConfig) -> Result<Self, SignalingError> {
        config.limits.validate()?;
        let local_addr = listener.local_addr()?;
        let parts = Parts::new(&config.limits);
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let max_connections = config.limits.max_connections;
        let task = tokio::spawn(run_accept_loop(
            listener,
            config.limits,
            parts.hub.clone(),
            parts.permits.clone(),
            async {
                // Fires on `shutdown()` and when the `Server` is dropped.
                let _ = shutdown_rx.await;
            },
        ));
        Ok(Self {
            local_addr,
            hub: parts.hub,
            permits: parts.permits,
            max_connections,
            shutdown: Some(shutdown_tx),
            task,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL clients connect to, `ws://<addr>/`.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.local_addr)
    }

    /// Current numbers of rooms, peers and connections: a snapshot for
    /// monitoring (the connection count is read just after the room counts, so
    /// a connection closing in between may show in one and not yet the other).
    ///
    /// # Errors
    /// [`SignalingError::Closed`] once the server has stopped.
    pub async fn stats(&self) -> Result<ServerStats, SignalingError> {
        let (reply, answer) = oneshot::channel();
        self.hub
            .send(HubCommand::Stats { reply })
            .await
            .map_err(|_| SignalingError::Closed)?;
        let (rooms, peers) = answer.await.map_err(|_| SignalingError::Closed)?;
        let connections = self
            .max_connections
            .saturating_sub(self.permits.available_permits());
        Ok(ServerStats {
            rooms,
            peers,
            connections,
        })
    }

    /// Stops accepting, closes every connection and waits for the server to end.
    ///
    /// # Errors
    /// [`SignalingError::ServerTask`] if the server task panicked.
    pub async fn shutdown(mut self) -> Result<(), SignalingError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task)
            .await
            .map_err(|_| SignalingError::ServerTask)
    }
}

/// The hub task and the connection permits shared by `serve` and `Server`.
struct Parts {
    hub: mpsc::Sender<HubCommand>,
    permits: Arc<Semaphore>,
}

impl Parts {
    fn new(limits: &Limits) -> Self {
        let (hub, commands) = mpsc::channel(HUB_QUEUE);
        // The hub task ends by itself once every sender (accept loop, server
        // handle, connection tasks) is gone.
        tokio::spawn(run_hub(commands, RoomHub::new(limits)));
        Self {
            hub,
            permits: Arc::new(Semaphore::new(limits.max_connections)),
        }
    }
}

async fn run_accept_loop(
    listener: TcpListener,
    limits: Limits,
    hub: mpsc::Sender<HubCommand>,
    permits: Arc<Semaphore>,
    shutdown: impl Future<Output = ()>,
) {
    let mut tasks = JoinSet::new();
    // Which connection each task serves, to detach one whose task panicked.
    let mut task_conns: HashMap<tokio::task::Id, ConnectionId> = HashMap::new();
    let mut next_conn: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            // Reap finished connection tasks so the set stays bounded.
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => match joined {
                Ok((id, ())) => {
                    task_conns.remove(&id);
                }
                // The task panicked (or was cancelled) before detaching itself.
                Err(e) => {
                    if let Some(conn) = task_conns.remove(&e.id()) {
                        let _ = hub.send(HubCommand::Detach { conn }).await;
                    }
                }
            },
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    // Over the connection limit: close at once, before any
                    // handshake work or task is spent on it.
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        drop(tcp);
                        continue;
                    };
                    next_conn = next_conn.wrapping_add(1);
                    let conn = ConnectionId(next_conn);
                    let task = tasks.spawn(run_connection(tcp, conn, hub.clone(), limits.clone(), permit));
                    task_conns.insert(task.id(), conn);
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
        }
    }
    drop(listener);
    // Dropping every outbox makes each connection send a close frame and end.
    let _ = hub.send(HubCommand::Shutdown).await;
    let drained = async { while tasks.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(limits.write_timeout, drained).await;
    tasks.abort_all();
}

async fn run_hub(mut commands: mpsc::Receiver<HubCommand>, mut hub: RoomHub) {
    let mut outboxes: HashMap<ConnectionId, mpsc::Sender<ServerMessage>> = HashMap::new();
    let mut shutting_down = false;
    while let Some(command) = commands.recv().await {
        match command {
            HubCommand::Attach { conn, outbox } => {
                // After shutdown the outbox is dropped at once, closing the connection.
                if !shutting_down {
                    outboxes.insert(conn, outbox);
                }
            }
            HubCommand::Message { conn, msg } => {
                if outboxes.contains_key(&conn) {
                    hub.handle_message(conn, msg);
                }
            }
            HubCommand::Detach { conn } => {
                outboxes.remove(&conn);
                hub.disconnect(conn);
            }
            HubCommand::Echo { conn, msg } => push(&mut hub, &mut outboxes, conn, msg),
            HubCommand::Stats { reply } => {
                let stats = hub.stats();
                let _ = reply.send((stats.rooms, stats.peers));
            }
            HubCommand::Shutdown => {
                shutting_down = true;
                for conn in outboxes.drain().map(|(conn, _)| conn) {
                    hub.disconnect(conn);
                }
            }
        }
        deliver(&mut hub, &mut outboxes);
    }
}

/// Delivers the hub's output without ever waiting on a client: a client whose
/// queue is full is disconnected (which may queue `remove_peer`s, delivered in
/// the same loop).
fn deliver(hub: &mut RoomHub, outboxes: &mut HashMap<ConnectionId, mpsc::Sender<ServerMessage>>) {
    while let Some((conn, msg)) = hub.poll_output() {
        push(hub, outboxes, conn, msg);
    }
}

/// Queues `msg` for `conn`, or disconnects `conn` if its queue is full.
fn push(
    hub: &mut RoomHub,
    outboxes: &mut HashMap<ConnectionId, mpsc::Sender<ServerMessage>>,
    conn: ConnectionId,
    msg: ServerMessage,
) {
    let Some(outbox) = outboxes.get(&conn) else {
        return;
    };
    match outbox.try_send(msg) {
        Ok(()) => {}
        Err(TrySendError::Full(_) | TrySendError::Closed(_)) => {
            // Dropping the outbox tells the connection task to close.
            outboxes.remove(&conn);
            hub.disconnect(conn);
        }
    }
}

fn websocket_config(limits: &Limits) -> WebSocketConfig {
    // Refuse oversized frames from their header, before buffering the payload.
    WebSocketConfig {
        max_message_size: Some(limits.max_message_size),
        max_frame_size: Some(limits.max_message_size),
        ..WebSocketConfig::default()
    }
}

async fn run_connection(
    tcp: TcpStream,
    conn: ConnectionId,
    hub: mpsc::Sender<HubCommand>,
    limits: Limits,
    _permit: OwnedSemaphorePermit,
) {
    // Signaling messages are small and latency-sensitive.
    let _ = tcp.set_nodelay(true);
    let handshake =
        tokio_tungstenite::accept_async_with_config(tcp, Some(websocket_config(&limits)));
    let ws = match tokio::time::timeout(limits.handshake_timeout, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(_)) | Err(_) => return,
    };
    let (outbox, inbox) = mpsc::channel(limits.outbound_queue);
    if hub.send(HubCommand::Attach { conn, outbox }).await.is_err() {
        return;
    }
    let mut connection = Connection {
        conn,
        rate: RateLimiter::new(&limits, Instant::now().into_std()),
        last_heard: Instant::now(),
        limits,
        ws,
        hub,
        inbox,
    };
    let close = connection.run().await;
    // Leave the room first, so the others learn about it at once; then write
    // the replies still queued (the final error, if any) and the close frame.
    let _ = connection.hub.send(HubCommand::Detach { conn }).await;
    if let Some(frame) = close {
        connection.drain().await;
        connection.close(frame).await;
    }
}

/// One client connection, owned by its task.
struct Connection {
    conn: ConnectionId,
    limits: Limits,
    ws: WebSocketStream<TcpStream>,
    hub: mpsc::Sender<HubCommand>,
    /// This connection's messages from the hub.
    inbox: mpsc::Receiver<ServerMessage>,
    rate: RateLimiter,
    last_heard: Instant,
}

/// Why the loop ended: `Some` carries the close frame still to send.
type Ending = Option<CloseFrame<'static>>;

fn close_frame(code: CloseCode, reason: &'static str) -> Ending {
    Some(CloseFrame {
        code,
        reason: reason.into(),
    })
}

impl Connection {
    async fn run(&mut self) -> Ending {
        let period = self.limits.ping_interval;
        let mut ping = tokio::time::interval_at(Instant::now() + period, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let step = tokio::select! {
                // Replies first: a client that sends faster than it reads is
                // slowed down by its own socket instead of piling up output.
                biased;
                out = self.inbox.recv() => self.on_outbound(out).await,
                frame = self.ws.next() => self.on_frame(frame).await,
                _ = ping.tick() => self.on_ping_tick().await,
            };
            if let Err(ending) = step {
                return ending;
            }
        }
    }

    async fn on_outbound(&mut self, out: Option<ServerMessage>) -> Result<(), Ending> {
        match out {
            Some(msg) => self.send(&msg).await,
            // The hub dropped our outbox: shutdown, or we fell too far behind.
            None => Err(close_frame(
                CloseCode::Away,
                "server closing the connection",
            )),
        }
    }

    /// Sends a reply made here in order with the hub's replies.
    async fn reply(&mut self, msg: ServerMessage) -> Result<(), Ending> {
        let conn = self.conn;
        self.forward(HubCommand::Echo { conn, msg }).await
    }

    /// Writes what the hub still queued for us, until it drops our outbox
    /// after `Detach` (bounded by the write timeout).
    async fn drain(&mut self) {
        let limit = self.limits.write_timeout;
        let drain = async {
            while let Some(msg) = self.inbox.recv().await {
                if self.send(&msg).await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(limit, drain).await;
    }

    /// Hands a message to the hub, writing our own outbound messages while
    /// the hub queue is full so that waiting never overflows our outbox.
    async fn forward(&mut self, command: HubCommand) -> Result<(), Ending> {
        // A handle of our own, so the permit does not borrow `self`.
        let hub = self.hub.clone();
        loop {
            tokio::select! {
                biased;
                permit = hub.reserve() => {
                    return match permit {
                        Ok(permit) => {
                            permit.send(command);
                            Ok(())
                        }
                        Err(_) => Err(None),
                    };
                }
                out = self.inbox.recv() => self.on_outbound(out).await?,
            }
        }
    }

    async fn on_frame(&mut self, frame: Option<Result<WsMessage, WsError>>) -> Result<(), Ending> {
        let msg = match frame {
            Some(Ok(msg)) => msg,
            Some(Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size }))) => {
                let text = format!("message of {size} bytes exceeds the limit of {max_size}");
                self.reply(ServerMessage::error(ErrorCode::TooLarge, text))
                    .await?;
                return Err(close_frame(CloseCode::Size, "message too large"));
            }
            // Closed (after tungstenite answered a close frame), reset, or a
            // protocol violation: nothing more to say.
            Some(Err(_)) | None => return Err(None),
        };
        self.last_heard = Instant::now();
        let data_frame = matches!(msg, WsMessage::Text(_) | WsMessage::Binary(_));
        // Pongs answer our pings and are not counted; everything else is.
        if !matches!(msg, WsMessage::Pong(_) | WsMessage::Close(_)) {
            match self.rate.check(self.last_heard.into_std()) {
                Verdict::Accept => {}
                Verdict::Reject if data_frame => {
                    let text = format!(
                        "more than {} messages per second; message dropped",
                        self.limits.messages_per_second
                    );
                    return self
                        .reply(ServerMessage::error(ErrorCode::RateLimited, text))
                        .await;
                }
                Verdict::Reject => return Ok(()),
                Verdict::Disconnect => {
                    let text = "sustained message rate over the limit; closing";
                    self.reply(ServerMessage::error(ErrorCode::RateLimited, text))
                        .await?;
                    return Err(close_frame(CloseCode::Policy, "rate limit exceeded"));
                }
            }
        }
        match msg {
            WsMessage::Text(text) => match ClientMessage::from_json(text.as_bytes()) {
                Ok(msg) => {
                    let command = HubCommand::Message {
                        conn: self.conn,
                        msg,
                    };
                    self.forward(command).await
                }
                Err(e) => {
                    let mut text = format!("not a valid message: {e}");
                    truncate_on_char_boundary(&mut text, MAX_ERROR_TEXT);
                    self.reply(ServerMessage::error(ErrorCode::Malformed, text))
                        .await
                }
            },
            WsMessage::Binary(_) => {
                let text = "binary frames are not part of the protocol; send JSON text";
                self.reply(ServerMessage::error(ErrorCode::Malformed, text))
                    .await
            }
            // Pings are answered by tungstenite on the next read or write;
            // a close is answered the same way and then `next()` ends.
            WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) | WsMessage::Frame(_) => {
                Ok(())
            }
        }
    }

    async fn on_ping_tick(&mut self) -> Result<(), Ending> {
        if self.last_heard.elapsed() >= self.limits.idle_timeout {
            return Err(close_frame(CloseCode::Away, "idle timeout"));
        }
        self.write(WsMessage::Ping(Vec::new())).await
    }

    async fn send(&mut self, msg: &ServerMessage) -> Result<(), Ending> {
        self.write(WsMessage::Text(msg.to_json())).await
    }

    /// Writes and flushes one frame within the write timeout; a failure ends
    /// the connection without a close frame (the socket is unusable or stuck).
    async fn write(&mut self, frame: WsMessage) -> Result<(), Ending> {
        match tokio::time::timeout(self.limits.write_timeout, self.ws.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(None),
        }
    }

    async fn close(&mut self, frame: CloseFrame<'static>) {
        let _ = tokio::time::timeout(self.limits.write_timeout, self.ws.close(Some(frame))).await;
    }
}

fn truncate_on_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        let mut s = "aé".repeat(100);
        truncate_on_char_boundary(&mut s, 4);
        assert_eq!(s, "aéa");
        let mut short = String::from("abc");
        truncate_on_char_boundary(&mut short, 10);
        assert_eq!(short, "abc");
    }
}
