//! The TURN client state machine (RFC 8656 §7–§12, client side), sans-IO.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tern_stun::attributes::{
    ErrorCode, Nonce, PasswordAlgorithmAttr, PasswordAlgorithms, Realm, Software, Username,
    XorMappedAddress,
};
use tern_stun::{
    Class, IntegrityKey, Message, MessageEncoder, MessageType, Method, PasswordAlgorithm,
    SecurityFeatures, TransactionId,
};

use crate::config::{CHANNEL_LIFETIME, ClientConfig, PERMISSION_LIFETIME};
use crate::error::ClientError;
use crate::transport::Transport;
use crate::wire::attributes::{
    self as attrs, ChannelNumber, Data, Lifetime, RequestedAddressFamily, RequestedTransport,
    XorPeerAddress, XorRelayedAddress,
};
use crate::wire::channel_data::{ChannelData, MAX_CHANNEL, MIN_CHANNEL, is_channel_data};
use crate::wire::framing::StreamFramer;
use crate::wire::methods;

/// Most requests in flight at once (commands beyond fail with `TooManyTransactions`).
const MAX_TRANSACTIONS: usize = 256;
/// Largest application payload `send_to` accepts (fits both ChannelData and a Send indication).
pub const MAX_PAYLOAD: usize = 65_000;

/// Bytes for the TURN server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The server's address.
    pub destination: SocketAddr,
    /// UDP datagram, or bytes to write to the TCP stream.
    pub transport: Transport,
    /// The bytes.
    pub data: Vec<u8>,
}

/// What the application learns from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The allocation exists.
    Allocated {
        /// XOR-RELAYED-ADDRESS: where peers send to reach us.
        relayed: SocketAddr,
        /// XOR-MAPPED-ADDRESS: our address as the server sees it (server-reflexive).
        mapped: Option<SocketAddr>,
        /// Granted lifetime in seconds.
        lifetime: u32,
    },
    /// A Refresh succeeded.
    Refreshed {
        /// Granted lifetime in seconds.
        lifetime: u32,
    },
    /// The allocation was deleted at our request.
    Deallocated,
    /// A permission for this peer IP is installed.
    PermissionCreated {
        /// The peer IP.
        peer: IpAddr,
    },
    /// A CreatePermission failed (for instance 403: the server refuses that peer).
    PermissionFailed {
        /// The peer IP.
        peer: IpAddr,
        /// Why.
        error: ClientError,
    },
    /// A channel to this peer is bound: `send_to` now uses ChannelData.
    ChannelBound {
        /// The peer.
        peer: SocketAddr,
        /// The channel number.
        channel: u16,
    },
    /// A ChannelBind failed.
    ChannelBindFailed {
        /// The peer.
        peer: SocketAddr,
        /// Why.
        error: ClientError,
    },
    /// Data relayed from a peer (Data indication or ChannelData).
    Data {
        /// The peer.
        peer: SocketAddr,
        /// The payload.
        data: Bytes,
    },
    /// The allocation failed or is gone (allocation error, auth failure, expiry, 437).
    Failed(ClientError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    Allocate,
    Refresh { lifetime: u32 },
    CreatePermission { peer: SocketAddr },
    ChannelBind { peer: SocketAddr, channel: u16 },
}

impl Request {
    fn method(&self) -> Method {
        match self {
            Request::Allocate => methods::ALLOCATE,
            Request::Refresh { .. } => methods::REFRESH,
            Request::CreatePermission { .. } => methods::CREATE_PERMISSION,
            Request::ChannelBind { .. } => methods::CHANNEL_BIND,
        }
    }
}

#[derive(Debug)]
struct Transaction {
    request: Request,
    bytes: Vec<u8>,
    /// Transmissions of these bytes so far.
    sent: u32,
    rto: Duration,
    deadline: Instant,
    /// Requests sent in this chain (a 401/438 retry starts a new transaction, same chain).
    attempts: u32,
    /// Whether this request carried credentials.
    authenticated: bool,
    /// Whether it was signed with MESSAGE-INTEGRITY-SHA256 (so must its response be).
    sha256_integrity: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AllocationState {
    Idle,
    Allocating,
    Allocated {
        relayed: SocketAddr,
        expires: Instant,
        refresh_at: Instant,
    },
    Deallocating,
}

#[derive(Debug, Clone, Copy)]
struct Permission {
    peer: SocketAddr,
    installed: bool,
    /// When to send the next CreatePermission (None while one is in flight).
    refresh_at: Option<Instant>,
    expires: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Channel {
    number: u16,
    bound: bool,
    refresh_at: Option<Instant>,
    expires: Option<Instant>,
}

/// A TURN client for one allocation on one server, sans-IO.
///
/// Call order: a command (`allocate`, `create_permission`, `bind_channel`, `send_to`,
/// `refresh`, `deallocate`) or an input (`handle_receive`, `handle_timeout`), then drain
/// [`Client::poll_transmit`] and [`Client::poll_event`], then sleep until
/// [`Client::poll_timeout`].
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    rng: StdRng,
    state: AllocationState,
    realm: Option<String>,
    nonce: Option<String>,
    key: Option<IntegrityKey>,
    /// The password algorithm the key was derived with (RFC 8489 §9.2.2).
    algorithm: PasswordAlgorithm,
    /// PASSWORD-ALGORITHMS as the server sent it, echoed in every request (RFC 8489 §9.2.3.2);
    /// `None` when the nonce has no cookie announcing password algorithms.
    offered: Option<Vec<PasswordAlgorithm>>,
    transactions: HashMap<TransactionId, Transaction>,
    permissions: HashMap<IpAddr, Permission>,
    channels: HashMap<SocketAddr, Channel>,
    channel_peers: HashMap<u16, SocketAddr>,
    next_channel: u16,
    framer: StreamFramer,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Client {
    /// A client that has not allocated yet.
    pub fn new(config: ClientConfig) -> Client {
        let rng = match config.seed {
            Some(seed) => StdRng::from_seed(seed),
            None => StdRng::from_entropy(),
        };
        Client {
            config,
            rng,
            state: AllocationState::Idle,
            realm: None,
            nonce: None,
            key: None,
            algorithm: PasswordAlgorithm::Md5,
            offered: None,
            transactions: HashMap::new(),
            permissions: HashMap::new(),
            channels: HashMap::new(),
            channel_peers: HashMap::new(),
            next_channel: MIN_CHANNEL,
            framer: StreamFramer::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The relayed address, once allocated.
    pub fn relayed_address(&self) -> Option<SocketAddr> {
        match self.state {
            AllocationState::Allocated { relayed, .. } => Some(relayed),
            _ => None,
        }
    }

    /// Whether a permission for `peer`'s IP is installed.
    pub fn has_permission(&self, peer: IpAddr) -> bool {
        self.permissions.get(&peer).is_some_and(|p| p.installed)
    }

    /// The bound channel number for `peer`, if any.
    pub fn channel(&self, peer: SocketAddr) -> Option<u16> {
        self.channels
            .get(&peer)
            .filter(|c| c.bound)
            .map(|c| c.number)
    }

    /// Starts an Allocate (RFC 8656 §7.1).
    pub fn allocate(&mut self, now: Instant) -> Result<(), ClientError> {
        if self.state != AllocationState::Idle {
            return Err(ClientError::AlreadyAllocated);
        }
        self.start(now, Request::Allocate, 1)?;
        self.state = AllocationState::Allocating;
        Ok(())
    }

    /// Refreshes the allocation now with the configured lifetime (RFC 8656 §8.1).
    pub fn refresh(&mut self, now: Instant) -> Result<(), ClientError> {
        let AllocationState::Allocated { .. } = self.state else {
            return Err(ClientError::NotAllocated);
        };
        let lifetime = self.config.lifetime.unwrap_or(600);
        self.start(now, Request::Refresh { lifetime }, 1)
    }

    /// Deletes the allocation: a Refresh with LIFETIME 0 (RFC 8656 §8.1).
    pub fn deallocate(&mut self, now: Instant) -> Result<(), ClientError> {
        let AllocationState::Allocated { .. } = self.state else {
            return Err(ClientError::NotAllocated);
        };
        self.start(now, Request::Refresh { lifetime: 0 }, 1)?;
        self.state = AllocationState::Deallocating;
        Ok(())
    }

    /// Installs a permission for `peer`'s IP (RFC 8656 §10.1); kept refreshed until deallocation.
    pub fn create_permission(&mut self, now: Instant, peer: SocketAddr) -> Result<(), ClientError> {
        self.require_allocated()?;
        let ip = peer.ip();
        if !self.permissions.contains_key(&ip) && self.permissions.len() >= self.config.max_peers {
            return Err(ClientError::TooManyPeers {
                max: self.config.max_peers,
            });
        }
        if self
            .permissions
            .get(&ip)
            .is_some_and(|p| p.refresh_at.is_none())
        {
            return Ok(()); // a CreatePermission is already in flight
        }
        self.start(now, Request::CreatePermission { peer }, 1)?;
        let entry = self.permissions.entry(ip).or_insert(Permission {
            peer,
            installed: false,
            refresh_at: None,
            expires: None,
        });
        entry.refresh_at = None;
        Ok(())
    }

    /// Binds a channel to `peer` (RFC 8656 §12.1), which also installs its permission; kept
    /// refreshed until deallocation. Returns the channel number.
    pub fn bind_channel(&mut self, now: Instant, peer: SocketAddr) -> Result<u16, ClientError> {
        self.require_allocated()?;
        if let Some(c) = self.channels.get(&peer) {
            return Ok(c.number);
        }
        if !self.permissions.contains_key(&peer.ip())
            && self.permissions.len() >= self.config.max_peers
        {
            return Err(ClientError::TooManyPeers {
                max: self.config.max_peers,
            });
        }
        let number = self.free_channel().ok_or(ClientError::ChannelsExhausted)?;
        self.start(
            now,
            Request::ChannelBind {
                peer,
                channel: number,
            },
            1,
        )?;
        self.channels.insert(
            peer,
            Channel {
                number,
                bound: false,
                refresh_at: None,
                expires: None,
            },
        );
        self.channel_peers.insert(number, peer);
        Ok(number)
    }

    /// Sends `data` to `peer` through the relay: ChannelData when a channel is bound
    /// (RFC 8656 §12.5), otherwise a Send indication (RFC 8656 §11.1). The peer's permission
    /// must be installed.
    pub fn send_to(&mut self, peer: SocketAddr, data: &[u8]) -> Result<(), ClientError> {
        self.require_allocated()?;
        if data.len() > MAX_PAYLOAD {
            return Err(ClientError::PayloadTooLarge { len: data.len() });
        }
        let mut out = Vec::new();
        if let Some(channel) = self.channel(peer) {
            ChannelData { channel, data }.encode(self.config.transport.is_stream(), &mut out)?;
        } else {
            if !self.has_permission(peer.ip()) {
                return Err(ClientError::NoPermission { peer });
            }
            let tid = TransactionId::random(&mut self.rng);
            let mut enc = MessageEncoder::new(
                &mut out,
                MessageType::new(methods::SEND, Class::Indication),
                tid,
            );
            enc.add(&XorPeerAddress(peer))?;
            enc.add(&Data(data))?;
            enc.finish();
        }
        self.push_transmit(out);
        Ok(())
    }

    /// Feeds bytes received from `from` (a UDP datagram, or any chunk of the TCP stream).
    pub fn handle_receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
    ) -> Result<(), ClientError> {
        if from != self.config.server {
            return Err(ClientError::UnexpectedSource { from });
        }
        match self.config.transport {
            Transport::Udp => self.handle_message(now, data),
            Transport::Tcp => {
                self.framer.push(data)?;
                let mut result = Ok(());
                while let Some(frame) = self.framer.next_frame()? {
                    if let Err(e) = self.handle_message(now, &frame) {
                        result = Err(e);
                    }
                }
                result
            }
        }
    }

    fn handle_message(&mut self, now: Instant, data: &[u8]) -> Result<(), ClientError> {
        if is_channel_data(data) {
            let cd = ChannelData::decode(data)?;
            let peer = *self
                .channel_peers
                .get(&cd.channel)
                .ok_or(ClientError::UnknownChannel {
                    channel: cd.channel,
                })?;
            self.events.push_back(Event::Data {
                peer,
                data: Bytes::copy_from_slice(cd.data),
            });
            return Ok(());
        }
        let msg = Message::decode(data)?;
        let mt = msg.message_type();
        match mt.class {
            Class::Indication if mt.method == methods::DATA => {
                // RFC 8656 §11.4: a Data indication lacking XOR-PEER-ADDRESS or DATA is discarded.
                let peer = msg
                    .get::<XorPeerAddress>()?
                    .ok_or(ClientError::MissingAttribute {
                        method: methods::DATA,
                        attribute: attrs::kind::XOR_PEER_ADDRESS,
                    })?;
                let payload = msg.get::<Data>()?.ok_or(ClientError::MissingAttribute {
                    method: methods::DATA,
                    attribute: attrs::kind::DATA,
                })?;
                self.events.push_back(Event::Data {
                    peer: peer.0,
                    data: Bytes::copy_from_slice(payload.0),
                });
                Ok(())
            }
            Class::SuccessResponse | Class::ErrorResponse => self.handle_response(now, &msg),
            _ => Err(ClientError::UnknownTransaction),
        }
    }

    fn handle_response(&mut self, now: Instant, msg: &Message<'_>) -> Result<(), ClientError> {
        let tid = msg.transaction_id();
        let Some(tx) = self.transactions.get(&tid) else {
            return Err(ClientError::UnknownTransaction);
        };
        if msg.message_type().method != tx.request.method() {
            return Err(ClientError::UnknownTransaction);
        }
        let error = match msg.message_type().class {
            Class::ErrorResponse => Some(
                msg.get::<ErrorCode>()?
                    .ok_or(ClientError::MissingAttribute {
                        method: tx.request.method(),
                        attribute: tern_stun::attributes::kind::ERROR_CODE,
                    })?
                    .code,
            ),
            _ => None,
        };
        // RFC 8489 §9.2.5: a success response (and an error other than 401/438) to an
        // authenticated request must carry a valid MESSAGE-INTEGRITY, else it is discarded.
        let auth_error = matches!(error, Some(401 | 438));
        if tx.authenticated
            && !auth_error
            && let Some(key) = &self.key
        {
            if tx.sha256_integrity {
                // RFC 8489 §9.2.5: a request sent with MESSAGE-INTEGRITY-SHA256 is answered
                // with it; a response carrying only the weaker MESSAGE-INTEGRITY is discarded.
                if msg.has_integrity_sha256() {
                    msg.verify_integrity_sha256(key)
                        .map_err(|_| ClientError::BadResponseIntegrity)?;
                } else if error.is_none() || msg.has_integrity() {
                    return Err(ClientError::BadResponseIntegrity);
                }
            } else if msg.has_integrity() {
                msg.verify_integrity(key)
                    .map_err(|_| ClientError::BadResponseIntegrity)?;
            } else if error.is_none() {
                return Err(ClientError::BadResponseIntegrity);
            }
        }
        let Some(tx) = self.transactions.remove(&tid) else {
            return Err(ClientError::UnknownTransaction);
        };
        match error {
            None => self.on_success(now, tx.request, msg),
            Some(401) => self.on_unauthenticated(now, tx, msg),
            Some(438) => self.on_stale_nonce(now, tx, msg),
            Some(code) => {
                let error = ClientError::ErrorResponse {
                    method: tx.request.method(),
                    code,
                };
                self.on_failure(now, tx.request, error);
                Ok(())
            }
        }
    }

    fn on_unauthenticated(
        &mut self,
        now: Instant,
        tx: Transaction,
        msg: &Message<'_>,
    ) -> Result<(), ClientError> {
        // RFC 8489 §9.2.5: on 401 with REALM and NONCE, retry with credentials; when the
        // credentials were already sent for this realm they are wrong: fail, do not loop.
        let realm = msg.get::<Realm>()?.map(|r| r.0.to_owned());
        let nonce = msg.get::<Nonce>()?.map(|n| n.0.to_owned());
        let realm_changed = realm.is_some() && realm != self.realm;
        let retry = (!tx.authenticated || realm_changed)
            && tx.attempts < self.config.max_auth_attempts
            && realm.is_some()
            && nonce.is_some();
        if !retry {
            let attempts = tx.attempts;
            self.on_failure(now, tx.request, ClientError::Unauthorized { attempts });
            return Ok(());
        }
        let (Some(realm), Some(nonce)) = (realm, nonce) else {
            return Ok(());
        };
        let (algorithm, offered) = match choose_algorithm(&nonce, msg, &self.config) {
            Ok(choice) => choice,
            Err(error) => {
                self.on_failure(now, tx.request, error);
                return Ok(());
            }
        };
        if realm_changed || algorithm != self.algorithm || self.key.is_none() {
            // RFC 8489 §9.2.2: the key is MD5 or SHA-256 of username:realm:password.
            self.key = Some(IntegrityKey::long_term(
                &self.config.username,
                &realm,
                &self.config.password,
                algorithm,
            ));
        }
        self.realm = Some(realm);
        self.algorithm = algorithm;
        self.offered = offered;
        self.nonce = Some(nonce);
        self.start(now, tx.request, tx.attempts + 1)
    }

    fn on_stale_nonce(
        &mut self,
        now: Instant,
        tx: Transaction,
        msg: &Message<'_>,
    ) -> Result<(), ClientError> {
        // RFC 8489 §9.2.5: 438 carries a new NONCE; retry with it, a bounded number of times.
        let nonce = msg.get::<Nonce>()?.map(|n| n.0.to_owned());
        if nonce.is_none() || tx.attempts >= self.config.max_auth_attempts || self.key.is_none() {
            let attempts = tx.attempts;
            self.on_failure(now, tx.request, ClientError::StaleNonceLoop { attempts });
            return Ok(());
        }
        if let Some(realm) = msg.get::<Realm>()?
            && Some(realm.0) != self.realm.as_deref()
        {
            // A new realm needs a new key: treat it like a 401.
            return self.on_unauthenticated(now, tx, msg);
        }
        let Some(nonce) = nonce else {
            return Ok(());
        };
        // RFC 8489 §9.2.5: the new nonce may announce password algorithms (or stop doing so):
        // the offered list to echo, and possibly the algorithm, follow it.
        let (algorithm, offered) = match choose_algorithm(&nonce, msg, &self.config) {
            Ok(choice) => choice,
            Err(error) => {
                self.on_failure(now, tx.request, error);
                return Ok(());
            }
        };
        if algorithm != self.algorithm
            && let Some(realm) = &self.realm
        {
            self.key = Some(IntegrityKey::long_term(
                &self.config.username,
                realm,
                &self.config.password,
                algorithm,
            ));
        }
        self.algorithm = algorithm;
        self.offered = offered;
        self.nonce = Some(nonce);
        self.start(now, tx.request, tx.attempts + 1)
    }

    fn on_success(
        &mut self,
        now: Instant,
        request: Request,
        msg: &Message<'_>,
    ) -> Result<(), ClientError> {
        match request {
            Request::Allocate => {
                if self.state != AllocationState::Allocating {
                    return Ok(());
                }
                let missing = |attribute| ClientError::MissingAttribute {
                    method: methods::ALLOCATE,
                    attribute,
                };
                let relayed = match msg.get::<XorRelayedAddress>() {
                    Ok(Some(r)) => r.0,
                    Ok(None) => {
                        let e = missing(attrs::kind::XOR_RELAYED_ADDRESS);
                        self.fail_allocation(e.clone());
                        return Err(e);
                    }
                    Err(e) => {
                        self.fail_allocation(ClientError::Decode(e));
                        return Err(ClientError::Decode(e));
                    }
                };
                let lifetime = match msg.get::<Lifetime>() {
                    Ok(Some(l)) => l.0,
                    _ => {
                        let e = missing(attrs::kind::LIFETIME);
                        self.fail_allocation(e.clone());
                        return Err(e);
                    }
                };
                let mapped = msg.get::<XorMappedAddress>().ok().flatten().map(|m| m.0);
                self.set_allocated(now, relayed, lifetime);
                self.events.push_back(Event::Allocated {
                    relayed,
                    mapped,
                    lifetime,
                });
            }
            Request::Refresh { lifetime: 0 } => {
                self.clear_allocation();
                self.events.push_back(Event::Deallocated);
            }
            Request::Refresh { .. } => {
                let granted = msg.get::<Lifetime>().ok().flatten().map_or(0, |l| l.0);
                if let AllocationState::Allocated { relayed, .. } = self.state {
                    self.set_allocated(now, relayed, granted);
                    self.events
                        .push_back(Event::Refreshed { lifetime: granted });
                }
            }
            Request::CreatePermission { peer } => {
                self.install_permission(now, peer);
            }
            Request::ChannelBind { peer, channel } => {
                // RFC 8656 §12.3: a successful ChannelBind also installs/refreshes the permission.
                self.install_permission(now, peer);
                if let Some(c) = self.channels.get_mut(&peer) {
                    let first = !c.bound;
                    c.bound = true;
                    c.expires = Some(now + CHANNEL_LIFETIME);
                    c.refresh_at =
                        Some(now + refresh_delay(CHANNEL_LIFETIME, self.config.refresh_margin));
                    if first {
                        self.events.push_back(Event::ChannelBound { peer, channel });
                    }
                }
            }
        }
        Ok(())
    }

    fn install_permission(&mut self, now: Instant, peer: SocketAddr) {
        if !matches!(self.state, AllocationState::Allocated { .. }) {
            return;
        }
        let margin = self.config.refresh_margin;
        let entry = self.permissions.entry(peer.ip()).or_insert(Permission {
            peer,
            installed: false,
            refresh_at: None,
            expires: None,
        });
        let first = !entry.installed;
        entry.installed = true;
        entry.expires = Some(now + PERMISSION_LIFETIME);
        entry.refresh_at = Some(now + refresh_delay(PERMISSION_LIFETIME, margin));
        if first {
            self.events
                .push_back(Event::PermissionCreated { peer: peer.ip() });
        }
    }

    fn on_failure(&mut self, _now: Instant, request: Request, error: ClientError) {
        match request {
            Request::Allocate => self.fail_allocation(error),
            Request::Refresh { lifetime } => {
                let gone =
                    lifetime == 0 || matches!(error, ClientError::ErrorResponse { code: 437, .. });
                if gone {
                    // 437 on Refresh: the allocation no longer exists (RFC 8656 §8.3).
                    self.clear_allocation();
                    if lifetime == 0 {
                        self.events.push_back(Event::Deallocated);
                    } else {
                        self.events.push_back(Event::Failed(error));
                    }
                } else {
                    // Keep the allocation until it expires; the timer reports expiry.
                    self.events.push_back(Event::Failed(error));
                }
            }
            Request::CreatePermission { peer } => {
                if let Some(p) = self.permissions.get(&peer.ip()).copied() {
                    if !p.installed {
                        self.permissions.remove(&peer.ip());
                    } else {
                        // Keep what is installed until it expires; retry at the margin.
                        if let Some(p) = self.permissions.get_mut(&peer.ip()) {
                            p.refresh_at = p.expires;
                        }
                    }
                }
                self.events.push_back(Event::PermissionFailed {
                    peer: peer.ip(),
                    error,
                });
            }
            Request::ChannelBind { peer, channel } => {
                if self.channels.get(&peer).is_some_and(|c| !c.bound) {
                    self.channels.remove(&peer);
                    self.channel_peers.remove(&channel);
                }
                self.events
                    .push_back(Event::ChannelBindFailed { peer, error });
            }
        }
    }

    fn fail_allocation(&mut self, error: ClientError) {
        self.clear_allocation();
        self.events.push_back(Event::Failed(error));
    }

    fn clear_allocation(&mut self) {
        self.state = AllocationState::Idle;
        self.permissions.clear();
        self.channels.clear();
        self.channel_peers.clear();
        self.transactions
            .retain(|_, t| matches!(t.request, Request::Allocate));
    }

    fn set_allocated(&mut self, now: Instant, relayed: SocketAddr, lifetime: u32) {
        let life = Duration::from_secs(u64::from(lifetime));
        self.state = AllocationState::Allocated {
            relayed,
            expires: now + life,
            refresh_at: now + refresh_delay(life, self.config.refresh_margin),
        };
    }

    /// Drives retransmissions, refreshes and expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Transactions: retransmit over UDP, time out.
        let mut due: Vec<TransactionId> = self
            .transactions
            .iter()
            .filter(|(_, t)| t.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        due.sort();
        for id in due {
            let Some(tx) = self.transactions.get_mut(&id) else {
                continue;
            };
            let udp = self.config.transport == Transport::Udp;
            if udp && tx.sent < self.config.max_transmissions {
                // RFC 8489 §6.2.1: retransmit with the RTO doubled each time.
                tx.sent += 1;
                tx.rto = tx.rto.saturating_mul(2);
                tx.deadline = if tx.sent == self.config.max_transmissions {
                    now + self.config.rto.saturating_mul(self.config.last_wait_factor)
                } else {
                    now + tx.rto
                };
                let bytes = tx.bytes.clone();
                self.push_transmit(bytes);
            } else if let Some(tx) = self.transactions.remove(&id) {
                let method = tx.request.method();
                self.on_failure(now, tx.request, ClientError::Timeout { method });
            }
        }

        if let AllocationState::Allocated {
            expires,
            refresh_at,
            ..
        } = self.state
        {
            if expires <= now {
                // RFC 8656 §8: without a successful Refresh the allocation is gone.
                self.fail_allocation(ClientError::AllocationExpired);
                return;
            }
            if refresh_at <= now {
                if let AllocationState::Allocated { refresh_at, .. } = &mut self.state {
                    // Try again at the expiry if this refresh fails.
                    *refresh_at = expires;
                }
                let lifetime = self.config.lifetime.unwrap_or(600);
                let _ = self.start(now, Request::Refresh { lifetime }, 1);
            }
        }
        if !matches!(self.state, AllocationState::Allocated { .. }) {
            return;
        }
        let mut refresh_perms = Vec::new();
        for p in self.permissions.values_mut() {
            if p.expires.is_some_and(|e| e <= now) {
                // RFC 8656 §9: an unrefreshed permission is gone after 300 s.
                p.installed = false;
                p.expires = None;
            }
            if p.refresh_at.is_some_and(|r| r <= now) {
                p.refresh_at = None;
                refresh_perms.push(p.peer);
            }
        }
        // Keep installed permissions and those with a CreatePermission in flight.
        self.permissions
            .retain(|_, p| p.installed || p.refresh_at.is_none());
        for peer in refresh_perms {
            let _ = self.start(now, Request::CreatePermission { peer }, 1);
        }
        let mut refresh_channels = Vec::new();
        for (peer, c) in &mut self.channels {
            if c.expires.is_some_and(|e| e <= now) {
                c.bound = false;
            }
            if c.refresh_at.is_some_and(|r| r <= now) {
                c.refresh_at = None;
                refresh_channels.push((*peer, c.number));
            }
        }
        for (peer, channel) in refresh_channels {
            let _ = self.start(now, Request::ChannelBind { peer, channel }, 1);
        }
    }

    /// The next bytes for the server.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.transactions.values().map(|t| t.deadline).min();
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if let AllocationState::Allocated {
            expires,
            refresh_at,
            ..
        } = self.state
        {
            consider(Some(expires.min(refresh_at)));
            for p in self.permissions.values() {
                consider(p.refresh_at);
                consider(p.expires);
            }
            for c in self.channels.values() {
                consider(c.refresh_at);
                consider(c.expires);
            }
        }
        next
    }

    fn require_allocated(&self) -> Result<(), ClientError> {
        match self.state {
            AllocationState::Allocated { .. } => Ok(()),
            _ => Err(ClientError::NotAllocated),
        }
    }

    fn free_channel(&mut self) -> Option<u16> {
        let span = usize::from(MAX_CHANNEL - MIN_CHANNEL) + 1;
        for _ in 0..span {
            let candidate = self.next_channel;
            self.next_channel = if candidate >= MAX_CHANNEL {
                MIN_CHANNEL
            } else {
                candidate + 1
            };
            if !self.channel_peers.contains_key(&candidate) {
                return Some(candidate);
            }
        }
        None
    }

    fn push_transmit(&mut self, data: Vec<u8>) {
        self.transmits.push_back(Transmit {
            destination: self.config.server,
            transport: self.config.transport,
            data,
        });
    }

    /// Encodes and sends `request` as a new transaction (attempt `attempts` of its chain).
    fn start(&mut self, now: Instant, request: Request, attempts: u32) -> Result<(), ClientError> {
        if self.transactions.len() >= MAX_TRANSACTIONS {
            return Err(ClientError::TooManyTransactions {
                max: MAX_TRANSACTIONS,
            });
        }
        let tid = TransactionId::random(&mut self.rng);
        let mut bytes = Vec::new();
        let authenticated = self.key.is_some() && self.nonce.is_some();
        let sha256_integrity = authenticated && self.algorithm == PasswordAlgorithm::Sha256;
        {
            let mut enc = MessageEncoder::new(
                &mut bytes,
                MessageType::new(request.method(), Class::Request),
                tid,
            );
            match &request {
                Request::Allocate => {
                    // RFC 8656 §7.1: REQUESTED-TRANSPORT is mandatory; UDP is what TURN relays.
                    enc.add(&RequestedTransport::UDP)?;
                    if let Some(family) = self.config.requested_family {
                        enc.add(&RequestedAddressFamily(family))?;
                    }
                    if let Some(l) = self.config.lifetime {
                        enc.add(&Lifetime(l))?;
                    }
                }
                Request::Refresh { lifetime } => enc.add(&Lifetime(*lifetime))?,
                Request::CreatePermission { peer } => enc.add(&XorPeerAddress(*peer))?,
                Request::ChannelBind { peer, channel } => {
                    enc.add(&ChannelNumber(*channel))?;
                    enc.add(&XorPeerAddress(*peer))?;
                }
            }
            if let Some(s) = &self.config.software {
                enc.add(&Software(s))?;
            }
            match (&self.key, &self.realm, &self.nonce) {
                (Some(key), Some(realm), Some(nonce)) => {
                    // RFC 8489 §9.2.3: USERNAME, REALM, NONCE, then MESSAGE-INTEGRITY.
                    enc.add(&Username(&self.config.username))?;
                    enc.add(&Realm(realm))?;
                    enc.add(&Nonce(nonce))?;
                    if let Some(offered) = &self.offered {
                        // RFC 8489 §9.2.3.2, §9.2.5: with a nonce announcing password algorithms,
                        // PASSWORD-ALGORITHMS exactly as received and the PASSWORD-ALGORITHM
                        // chosen from it.
                        enc.add(&PasswordAlgorithms(offered.clone()))?;
                        enc.add(&PasswordAlgorithmAttr(self.algorithm))?;
                    }
                    if sha256_integrity {
                        // RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 with the SHA-256 key.
                        enc.add_message_integrity_sha256(key)?;
                    } else {
                        enc.add_message_integrity(key)?;
                    }
                    enc.add_fingerprint()?;
                }
                _ => {
                    enc.add_fingerprint()?;
                }
            }
        }
        let deadline = match self.config.transport {
            Transport::Udp => now + self.config.rto,
            Transport::Tcp => now + self.config.reliable_timeout,
        };
        self.push_transmit(bytes.clone());
        self.transactions.insert(
            tid,
            Transaction {
                request,
                bytes,
                sent: 1,
                rto: self.config.rto,
                deadline,
                attempts,
                authenticated,
                sha256_integrity,
            },
        );
        Ok(())
    }
}

/// The password algorithm to use after a 401/438 whose NONCE is `nonce`, and the
/// PASSWORD-ALGORITHMS list to echo (RFC 8489 §9.2.5).
fn choose_algorithm(
    nonce: &str,
    msg: &Message<'_>,
    config: &ClientConfig,
) -> Result<(PasswordAlgorithm, Option<Vec<PasswordAlgorithm>>), ClientError> {
    let accepted = |a: &PasswordAlgorithm| {
        matches!(a, PasswordAlgorithm::Md5 | PasswordAlgorithm::Sha256)
            && config.password_algorithms.contains(a)
    };
    let announced = SecurityFeatures::from_nonce(nonce).is_some_and(|f| f.password_algorithms);
    if !announced {
        // No cookie (RFC 5389 servers such as coturn): MD5, no algorithm attributes.
        return if accepted(&PasswordAlgorithm::Md5) {
            Ok((PasswordAlgorithm::Md5, None))
        } else {
            Err(ClientError::NoCommonPasswordAlgorithm)
        };
    }
    // RFC 8489 §9.2.5: the cookie announces password algorithms, so PASSWORD-ALGORITHMS must
    // be there with one we support; otherwise it was stripped on the way (bid-down attack)
    // and the client must not retry.
    let Ok(Some(PasswordAlgorithms(list))) = msg.get::<PasswordAlgorithms>() else {
        return Err(ClientError::PasswordAlgorithmBidDown);
    };
    // RFC 8489 §14.11: the list is in the server's order of preference: take the first one
    // we support.
    let chosen = list
        .iter()
        .copied()
        .find(accepted)
        .ok_or(ClientError::NoCommonPasswordAlgorithm)?;
    Ok((chosen, Some(list)))
}

/// When to refresh something that lives `life`: `margin` before it ends, or at half its life
/// if that is shorter.
fn refresh_delay(life: Duration, margin: Duration) -> Duration {
    if life > margin.saturating_mul(2) {
        life - margin
    } else {
        life / 2
    }
}
