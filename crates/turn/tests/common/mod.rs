//! A deterministic client ↔ server ↔ peers harness on virtual time (no sockets).
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_stun::attributes::{Nonce, Realm, Username};
use tern_stun::{
    Attribute, Class, IntegrityKey, Message, MessageEncoder, MessageType, Method,
    PasswordAlgorithm, TransactionId,
};
use tern_turn::wire::attributes::{RequestedTransport, XorPeerAddress};
use tern_turn::wire::methods;
use tern_turn::{
    Client, ClientConfig, Event, Server, ServerConfig, ServerEvent, ServerTransmit, Transport,
};

pub const REALM: &str = "tern.test";
pub const USER: &str = "alice";
pub const PASS: &str = "secret";

pub fn server_addr() -> SocketAddr {
    "198.51.100.1:3478".parse().unwrap()
}
pub fn client_addr() -> SocketAddr {
    "192.0.2.10:5000".parse().unwrap()
}
pub fn peer_addr() -> SocketAddr {
    "203.0.113.7:7000".parse().unwrap()
}

#[allow(clippy::disallowed_methods)] // the one real instant every virtual clock starts from
pub fn base() -> Instant {
    Instant::now()
}

pub fn server_config() -> ServerConfig {
    let mut c = ServerConfig::new(REALM, server_addr().ip()).with_user(USER, PASS);
    c.seed = Some([1; 32]);
    c.relay_ports = 50000..=50999;
    c
}

pub fn client_config() -> ClientConfig {
    let mut c = ClientConfig::new(server_addr(), USER, PASS);
    c.seed = Some([2; 32]);
    c
}

/// Rewrites a message on its way (a man in the middle).
pub type Rewrite = fn(&[u8]) -> Vec<u8>;

/// A client, the server and any number of peers on one virtual clock.
pub struct Harness {
    pub now: Instant,
    pub server: Server,
    pub client: Client,
    pub client_addr: SocketAddr,
    pub transport: Transport,
    /// Datagrams that reached each peer: (from relay, bytes).
    pub peer_inbox: HashMap<SocketAddr, VecDeque<(SocketAddr, Vec<u8>)>>,
    pub client_events: Vec<Event>,
    pub server_events: Vec<ServerEvent>,
    /// Drop everything the client sends (to let things expire).
    pub cut_client: bool,
    /// Count of messages the client sent.
    pub client_sent: usize,
    pub server_errors: Vec<tern_turn::ServerError>,
    /// Every message the client sent, in order.
    pub client_log: Vec<Vec<u8>>,
    /// Every message the server sent to the client, in order (before `to_client_filter`).
    pub server_log: Vec<Vec<u8>>,
    /// A man in the middle on the server → client path: rewrites what the client receives.
    pub to_client_filter: Option<Rewrite>,
}

impl Harness {
    pub fn new(server: ServerConfig, client: ClientConfig) -> Harness {
        let now = base();
        let transport = client.transport;
        Harness {
            now,
            server: Server::new(server, now, 1_700_000_000),
            client: Client::new(client),
            client_addr: client_addr(),
            transport,
            peer_inbox: HashMap::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            cut_client: false,
            client_sent: 0,
            server_errors: Vec::new(),
            client_log: Vec::new(),
            server_log: Vec::new(),
            to_client_filter: None,
        }
    }

    pub fn default_pair() -> Harness {
        Harness::new(server_config(), client_config())
    }

    /// Moves every queued message until nothing moves.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.client.poll_transmit() {
                moved = true;
                self.client_sent += 1;
                self.client_log.push(t.data.clone());
                assert_eq!(t.destination, server_addr());
                if self.cut_client {
                    continue;
                }
                if let Err(e) = self.server.handle_receive(
                    self.now,
                    self.transport,
                    self.client_addr,
                    server_addr(),
                    &t.data,
                ) {
                    self.server_errors.push(e);
                }
            }
            while let Some(e) = self.client.poll_event() {
                moved = true;
                self.client_events.push(e);
            }
            while let Some(e) = self.server.poll_event() {
                moved = true;
                if let ServerEvent::OpenRelay { relay } = &e {
                    self.server.relay_opened(self.now, *relay);
                }
                self.server_events.push(e);
            }
            while let Some(ServerTransmit {
                source,
                destination,
                data,
                ..
            }) = self.server.poll_transmit()
            {
                moved = true;
                if destination == self.client_addr {
                    self.server_log.push(data.clone());
                    let data = match self.to_client_filter {
                        Some(f) => f(&data),
                        None => data,
                    };
                    let _ = self.client.handle_receive(self.now, source, &data);
                } else {
                    self.peer_inbox
                        .entry(destination)
                        .or_default()
                        .push_back((source, data));
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Advances the clock by `d` in steps, firing timers as they fall due.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.pump();
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.client.handle_timeout(self.now);
                    self.server.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = end;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.pump();
    }

    pub fn allocate(&mut self) -> SocketAddr {
        self.client.allocate(self.now).unwrap();
        self.pump();
        self.relayed().expect("allocated")
    }

    pub fn relayed(&self) -> Option<SocketAddr> {
        self.client_events.iter().find_map(|e| match e {
            Event::Allocated { relayed, .. } => Some(*relayed),
            _ => None,
        })
    }

    /// A peer sends `data` to the relayed address.
    pub fn peer_send(
        &mut self,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), tern_turn::ServerError> {
        let relay = self.client.relayed_address().expect("allocated");
        let r = self
            .server
            .handle_receive(self.now, Transport::Udp, peer, relay, data);
        self.pump();
        r
    }

    pub fn take_peer(&mut self, peer: SocketAddr) -> Vec<Vec<u8>> {
        self.peer_inbox
            .get_mut(&peer)
            .map(|q| q.drain(..).map(|(_, d)| d).collect())
            .unwrap_or_default()
    }

    pub fn take_data(&mut self) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::new();
        self.client_events.retain(|e| match e {
            Event::Data { peer, data } => {
                out.push((*peer, data.to_vec()));
                false
            }
            _ => true,
        });
        out
    }
}

/// A hand-made client for raw server tests: builds requests, authenticated or not.
pub struct RawClient {
    pub addr: SocketAddr,
    pub nonce: Option<String>,
    pub key: IntegrityKey,
    pub username: String,
    next_tid: u8,
}

impl RawClient {
    pub fn new(addr: SocketAddr) -> RawClient {
        RawClient::with_credentials(addr, USER, PASS)
    }

    pub fn with_credentials(addr: SocketAddr, user: &str, pass: &str) -> RawClient {
        RawClient {
            addr,
            nonce: None,
            key: IntegrityKey::long_term(user, REALM, pass, PasswordAlgorithm::Md5),
            username: user.to_owned(),
            next_tid: 0,
        }
    }

    pub fn tid(&mut self) -> TransactionId {
        self.next_tid = self.next_tid.wrapping_add(1);
        let mut t = [0x55; 12];
        t[0] = self.next_tid;
        t[1] = self.addr.port() as u8;
        TransactionId(t)
    }

    /// Encodes a request; `attrs` adds the method's attributes; credentials when a nonce is known.
    pub fn request(
        &mut self,
        method: Method,
        tid: TransactionId,
        attrs: impl FnOnce(&mut MessageEncoder<'_>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = MessageEncoder::new(&mut out, MessageType::new(method, Class::Request), tid);
        attrs(&mut enc);
        if let Some(nonce) = &self.nonce {
            enc.add(&Username(&self.username)).unwrap();
            enc.add(&Realm(REALM)).unwrap();
            enc.add(&Nonce(nonce)).unwrap();
            enc.add_message_integrity(&self.key).unwrap();
        }
        enc.finish();
        out
    }

    /// Sends `bytes` to the server and returns the responses sent back to this client.
    pub fn exchange(&mut self, server: &mut Server, now: Instant, bytes: &[u8]) -> Vec<Vec<u8>> {
        let _ = server.handle_receive(now, Transport::Udp, self.addr, server_addr(), bytes);
        let mut out = Vec::new();
        let mut others = Vec::new();
        while let Some(t) = server.poll_transmit() {
            if t.destination == self.addr {
                out.push(t.data);
            } else {
                others.push(t);
            }
        }
        while let Some(e) = server.poll_event() {
            if let ServerEvent::OpenRelay { relay } = e {
                server.relay_opened(now, relay);
                while let Some(t) = server.poll_transmit() {
                    if t.destination == self.addr {
                        out.push(t.data);
                    }
                }
            }
        }
        out
    }

    /// Learns the nonce with an unauthenticated Allocate (expects 401).
    pub fn learn_nonce(&mut self, server: &mut Server, now: Instant) {
        let saved = self.nonce.take();
        let tid = self.tid();
        let req = self.request(methods::ALLOCATE, tid, |e| {
            e.add(&RequestedTransport::UDP).unwrap();
        });
        let resp = self.exchange(server, now, &req);
        let msg = Message::decode(&resp[0]).unwrap();
        assert_eq!(error_code(&msg), Some(401));
        self.nonce = Some(msg.get::<Nonce>().unwrap().unwrap().0.to_owned());
        let _ = saved;
    }

    /// Authenticated Allocate; returns the response bytes.
    pub fn allocate(&mut self, server: &mut Server, now: Instant) -> Vec<u8> {
        if self.nonce.is_none() {
            self.learn_nonce(server, now);
        }
        let tid = self.tid();
        let req = self.request(methods::ALLOCATE, tid, |e| {
            e.add(&RequestedTransport::UDP).unwrap();
        });
        self.exchange(server, now, &req).pop().expect("a response")
    }

    pub fn create_permission(
        &mut self,
        server: &mut Server,
        now: Instant,
        peer: SocketAddr,
    ) -> Option<u16> {
        let tid = self.tid();
        let req = self.request(methods::CREATE_PERMISSION, tid, |e| {
            e.add(&XorPeerAddress(peer)).unwrap();
        });
        let resp = self.exchange(server, now, &req);
        error_code(&Message::decode(&resp[0]).unwrap())
    }
}

pub fn error_code(msg: &Message<'_>) -> Option<u16> {
    (msg.message_type().class == Class::ErrorResponse).then(|| {
        tern_stun::attributes::ErrorCode::decode(
            msg.get_raw(tern_stun::attributes::kind::ERROR_CODE)
                .unwrap()
                .value,
            &msg.transaction_id(),
        )
        .unwrap()
        .code
    })
}

pub fn relayed_of(msg: &Message<'_>) -> SocketAddr {
    msg.get::<tern_turn::wire::attributes::XorRelayedAddress>()
        .unwrap()
        .unwrap()
        .0
}
