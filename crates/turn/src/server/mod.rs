//! The TURN server core (RFC 8656 §5–§12, server side), sans-IO.
//!
//! The core owns no socket. It is told about every datagram (from a client on a listening
//! address, or from a peer on a relay address), answers with [`Transmit`]s, and asks the runner
//! to open and close relay sockets with [`ServerEvent::OpenRelay`] / [`ServerEvent::CloseRelay`].
//! An Allocate is answered only once the runner reports the relay socket open
//! ([`Server::relay_opened`]) or not ([`Server::relay_failed`]).

mod allocation;
pub(crate) mod auth;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use tern_stun::attributes::{
    ErrorCode, Nonce, PasswordAlgorithms, Realm, Software, UnknownAttributes, Username,
    XorMappedAddress,
};
use tern_stun::wire::address::decode_xor_address;
use tern_stun::{
    Class, EncodeError, Message, MessageEncoder, MessageType, Method, PasswordAlgorithm,
    TransactionId,
};

pub use allocation::FiveTuple;
pub use auth::rest_password;

use crate::config::{CHANNEL_LIFETIME, PERMISSION_LIFETIME, ServerConfig};
use crate::error::ServerError;
use crate::policy::PeerPolicy;
use crate::transport::Transport;
use crate::wire::attributes::{
    self as attrs, AdditionalAddressFamily, AddressErrorCode, AddressFamily, ChannelNumber, Data,
    EvenPort, Lifetime, RequestedAddressFamily, RequestedTransport, ReservationToken,
    XorPeerAddress, XorRelayedAddress,
};
use crate::wire::channel_data::{ChannelData, LEGACY_MAX_CHANNEL, MAX_CHANNEL, MIN_CHANNEL};
use crate::wire::methods;
use allocation::{Allocation, Binding, PendingAllocate, TokenBucket};
use auth::{Credentials, NonceCheck, SessionKey};

/// How often expired allocations, permissions and channels are swept. Expiry is also checked
/// on every use, so enforcement is exact; only the release of memory and sockets waits.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Relay ports tried for one Allocate before answering 508.
const MAX_PORT_ATTEMPTS: u8 = 8;
/// How long a port reserved by EVEN-PORT's R bit is kept for its RESERVATION-TOKEN
/// (RFC 8656 §7.2: about 30 seconds).
const RESERVATION_LIFETIME: Duration = Duration::from_secs(30);

/// Bytes for the runner to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// UDP, or the TCP connection of `destination`.
    pub transport: Transport,
    /// The local address to send from: a listening address or a relay address.
    pub source: SocketAddr,
    /// Where to.
    pub destination: SocketAddr,
    /// The bytes.
    pub data: Vec<u8>,
}

/// What the runner must act on or may log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// Bind a UDP socket on `relay`, then call [`Server::relay_opened`] or [`Server::relay_failed`].
    OpenRelay {
        /// The relay address chosen.
        relay: SocketAddr,
    },
    /// Close the relay socket.
    CloseRelay {
        /// The relay address.
        relay: SocketAddr,
    },
    /// An allocation now exists.
    AllocationCreated {
        /// Its 5-tuple.
        five_tuple: FiveTuple,
        /// The relayed address.
        relay: SocketAddr,
        /// The authenticated user.
        username: String,
    },
    /// An allocation was deleted (refresh to 0, expiry, or relay failure).
    AllocationDeleted {
        /// Its 5-tuple.
        five_tuple: FiveTuple,
        /// The relayed address.
        relay: SocketAddr,
    },
}

/// Counters for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Live allocations (including those waiting for their relay socket).
    pub allocations: usize,
    /// Datagrams relayed client → peer.
    pub relayed_to_peers: u64,
    /// Datagrams relayed peer → client.
    pub relayed_to_clients: u64,
    /// Datagrams dropped for lack of permission, policy, bandwidth or allocation.
    pub dropped: u64,
}

struct Authenticated {
    username: String,
    key: SessionKey,
}

/// The sans-IO TURN server core.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    policy: PeerPolicy,
    credentials: Credentials,
    rng: StdRng,
    start: Instant,
    unix_at_start: u64,
    allocations: HashMap<FiveTuple, Allocation>,
    relays: HashMap<SocketAddr, FiveTuple>,
    /// Relay addresses in use per relay IP, so that a full port range is seen in O(1).
    relays_per_ip: HashMap<IpAddr, usize>,
    /// Ports reserved by EVEN-PORT (R bit): token → (address, expiry).
    reservations: HashMap<[u8; 8], (SocketAddr, Instant)>,
    reserved: HashSet<SocketAddr>,
    per_user: HashMap<String, usize>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ServerEvent>,
    next_sweep: Instant,
    stats: ServerStats,
}

impl Server {
    /// A server core. `unix_time` is the wall clock (seconds since 1970) at `now`; it is only
    /// used for TURN REST API credential expiry and nonce expiry.
    pub fn new(config: ServerConfig, now: Instant, unix_time: u64) -> Server {
        let mut rng = match config.seed {
            Some(seed) => StdRng::from_seed(seed),
            None => StdRng::from_entropy(),
        };
        let mut nonce_secret = [0u8; 64];
        rng.fill_bytes(&mut nonce_secret);
        let credentials = Credentials::new(
            &config.realm,
            &config.users,
            config.rest_secret.as_deref(),
            nonce_secret,
            config.nonce_lifetime.as_secs(),
            &config.password_algorithms,
        );
        let mut policy = config.peer_policy.clone();
        // RFC 8656 §21.1: never relay to the server's own (relay) addresses.
        policy
            .own_addresses
            .extend(config.relay_ips.iter().copied());
        Server {
            config,
            policy,
            credentials,
            rng,
            start: now,
            unix_at_start: unix_time,
            allocations: HashMap::new(),
            relays: HashMap::new(),
            relays_per_ip: HashMap::new(),
            reservations: HashMap::new(),
            reserved: HashSet::new(),
            per_user: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_sweep: now + SWEEP_INTERVAL,
            stats: ServerStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            allocations: self.allocations.len(),
            ..self.stats
        }
    }

    /// The relay addresses in use (open or being opened).
    pub fn relay_addresses(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.relays.keys().copied()
    }

    fn unix_now(&self, now: Instant) -> u64 {
        self.unix_at_start
            .saturating_add(now.saturating_duration_since(self.start).as_secs())
    }

    /// Feeds one message: a datagram (or one frame of a TCP stream, see
    /// [`StreamFramer`](crate::StreamFramer)) that arrived on local address `to` from `from`.
    /// `to` is either a listening address (the message is from a client) or a relay address
    /// the core asked for (the datagram is from a peer).
    ///
    /// Every `Err` means the input was dropped without changing any state; an error response,
    /// when one is due, is already queued.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        data: &[u8],
    ) -> Result<(), ServerError> {
        if transport == Transport::Udp
            && let Some(&ft) = self.relays.get(&to)
        {
            return self
                .peer_datagram(now, ft, to, from, data)
                .inspect_err(|_| {
                    self.stats.dropped += 1;
                });
        }
        let five_tuple = FiveTuple {
            client: from,
            server: to,
            transport,
        };
        if self.is_channel_data(data) {
            return self.channel_data(now, five_tuple, data).inspect_err(|_| {
                self.stats.dropped += 1;
            });
        }
        let msg = Message::decode(data)?;
        let mt = msg.message_type();
        match mt.class {
            Class::Request => self.request(now, five_tuple, &msg),
            Class::Indication if mt.method == methods::SEND => self
                .send_indication(now, five_tuple, &msg)
                .inspect_err(|_| {
                    self.stats.dropped += 1;
                }),
            _ => Err(ServerError::Unexpected),
        }
    }

    /// The runner opened the relay socket the core asked for: the Allocate is answered.
    pub fn relay_opened(&mut self, now: Instant, relay: SocketAddr) {
        let Some(five_tuple) = self.relays.get(&relay).copied() else {
            return;
        };
        let Some(alloc) = self.allocations.get_mut(&five_tuple) else {
            return;
        };
        let Some(pending) = alloc.pending.take() else {
            return;
        };
        let lifetime = alloc.remaining(now).as_secs() as u32;
        let key = alloc.key.clone();
        let username = alloc.username.clone();
        let response = self.build(
            pending.tid,
            MessageType::new(methods::ALLOCATE, Class::SuccessResponse),
            Some(&key),
            |enc| {
                // RFC 8656 §7.2: XOR-RELAYED-ADDRESS, LIFETIME and XOR-MAPPED-ADDRESS.
                enc.add(&XorRelayedAddress(relay))?;
                if let Some(token) = pending.reservation {
                    enc.add(&ReservationToken(token))?;
                }
                if pending.additional_family_refused {
                    enc.add(&AddressErrorCode {
                        family: AddressFamily::V6,
                        code: 440,
                        reason: "Address Family not Supported",
                    })?;
                }
                enc.add(&Lifetime(lifetime))?;
                enc.add(&XorMappedAddress(five_tuple.client))
            },
        );
        match response {
            Ok(bytes) => {
                self.send_to_client(five_tuple, bytes.clone());
                if let Some(alloc) = self.allocations.get_mut(&five_tuple) {
                    alloc.last_response = Some((pending.tid, bytes));
                }
                self.events.push_back(ServerEvent::AllocationCreated {
                    five_tuple,
                    relay,
                    username,
                });
            }
            Err(_) => self.delete_allocation(five_tuple),
        }
    }

    /// The runner could not open the relay socket: another port is tried, or the client gets
    /// 508 Insufficient Capacity.
    pub fn relay_failed(&mut self, now: Instant, relay: SocketAddr) {
        let Some(five_tuple) = self.remove_relay(relay) else {
            return;
        };
        let Some((pending, key)) = self
            .allocations
            .get(&five_tuple)
            .map(|a| (a.pending, a.key.clone()))
        else {
            return;
        };
        let Some(mut pending) = pending else {
            // An open relay cannot fail; treat it as closed.
            self.add_relay(relay, five_tuple);
            self.delete_allocation(five_tuple);
            return;
        };
        pending.attempts += 1;
        // A reserved next port goes with the failed one; a new pair gets a new token.
        if let Some(token) = pending.reservation.take()
            && let Some((addr, _)) = self.reservations.remove(&token)
        {
            self.reserved.remove(&addr);
        }
        let next = if pending.attempts < MAX_PORT_ATTEMPTS && !pending.from_token {
            self.pick_relay(relay.ip(), pending.even_port, pending.reserve_next)
        } else {
            None
        };
        if let Some(new_relay) = next
            && pending.reserve_next
        {
            pending.reservation = Some(self.reserve_next_port(now, new_relay));
        }
        match next {
            Some(new_relay) => {
                if let Some(alloc) = self.allocations.get_mut(&five_tuple) {
                    alloc.relay = new_relay;
                    alloc.pending = Some(pending);
                }
                self.add_relay(new_relay, five_tuple);
                self.events
                    .push_back(ServerEvent::OpenRelay { relay: new_relay });
            }
            None => {
                self.add_relay(relay, five_tuple);
                self.delete_allocation_silently(five_tuple);
                let _: Result<(), _> = self.error(
                    five_tuple,
                    pending.tid,
                    methods::ALLOCATE,
                    methods::INSUFFICIENT_CAPACITY,
                    Some(&key),
                );
            }
        }
    }

    /// The TCP connection from `client` to `server` closed: its allocation is deleted with it
    /// (RFC 8656 §3.1: over TCP the allocation lives as long as the connection).
    pub fn connection_closed(&mut self, client: SocketAddr, server: SocketAddr) {
        self.delete_allocation(FiveTuple {
            client,
            server,
            transport: Transport::Tcp,
        });
    }

    /// Expires allocations, permissions and channels.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP_INTERVAL;
        let expired: Vec<FiveTuple> = self
            .allocations
            .iter()
            .filter(|(_, a)| a.expires <= now)
            .map(|(ft, _)| *ft)
            .collect();
        for ft in expired {
            // RFC 8656 §8: an allocation not refreshed within its lifetime is deleted.
            self.delete_allocation(ft);
        }
        for alloc in self.allocations.values_mut() {
            alloc.prune(now);
        }
        let reserved = &mut self.reserved;
        self.reservations.retain(|_, (addr, expires)| {
            let live = *expires > now;
            if !live {
                reserved.remove(addr);
            }
            live
        });
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// When [`Server::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.allocations.is_empty() || !self.reservations.is_empty()).then_some(self.next_sweep)
    }

    // ---- client → server -------------------------------------------------------------

    fn request(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        msg: &Message<'_>,
    ) -> Result<(), ServerError> {
        let tid = msg.transaction_id();
        let method = msg.message_type().method;
        if method == Method::BINDING {
            // RFC 8489 §7.3.1: a Binding request needs no authentication on a TURN server.
            let bytes = self.build(tid, MessageType::BINDING_SUCCESS, None, |enc| {
                enc.add(&XorMappedAddress(ft.client))
            })?;
            self.send_to_client(ft, bytes);
            return Ok(());
        }
        if ![
            methods::ALLOCATE,
            methods::REFRESH,
            methods::CREATE_PERMISSION,
            methods::CHANNEL_BIND,
        ]
        .contains(&method)
        {
            return self.error(ft, tid, method, ErrorCode::BAD_REQUEST, None);
        }
        // RFC 8489 §6.3.1: a retransmitted request gets the same response again.
        if let Some((last_tid, bytes)) = self
            .allocations
            .get(&ft)
            .and_then(|a| a.last_response.as_ref())
            && *last_tid == tid
        {
            let bytes = bytes.clone();
            self.send_to_client(ft, bytes);
            return Ok(());
        }
        // The Allocate is still waiting for its relay socket: its answer is coming.
        if self
            .allocations
            .get(&ft)
            .and_then(|a| a.pending)
            .is_some_and(|p| p.tid == tid)
        {
            return Ok(());
        }
        // RFC 8489 §7.3.1: unknown comprehension-required attributes get 420.
        let unknown: Vec<u16> = msg.unknown_comprehension_required(server_knows).collect();
        if !unknown.is_empty() {
            let bytes = self.build(
                tid,
                MessageType::new(method, Class::ErrorResponse),
                None,
                |enc| {
                    enc.add(&ErrorCode::UNKNOWN_ATTRIBUTE)?;
                    enc.add(&UnknownAttributes(unknown))
                },
            )?;
            self.send_to_client(ft, bytes);
            return Err(ServerError::Rejected { code: 420 });
        }
        let auth = self.authenticate(now, ft, msg)?;
        if method == methods::ALLOCATE {
            return self.allocate(now, ft, msg, auth);
        }
        let Some(alloc) = self.allocations.get(&ft) else {
            // RFC 8656 §5: a request other than Allocate on a 5-tuple without an allocation.
            return self.error(
                ft,
                tid,
                method,
                methods::ALLOCATION_MISMATCH,
                Some(&auth.key),
            );
        };
        // RFC 8656 §5: the credentials must be those that created the allocation, else 441.
        if alloc.username != auth.username {
            return self.error(ft, tid, method, methods::WRONG_CREDENTIALS, Some(&auth.key));
        }
        if alloc.pending.is_some() {
            // The Allocate is not answered yet; the client cannot know the allocation.
            return self.error(
                ft,
                tid,
                method,
                methods::ALLOCATION_MISMATCH,
                Some(&auth.key),
            );
        }
        match method {
            m if m == methods::REFRESH => self.refresh(now, ft, msg, auth),
            m if m == methods::CREATE_PERMISSION => self.create_permission(now, ft, msg, auth),
            _ => self.channel_bind(now, ft, msg, auth),
        }
    }

    /// RFC 8489 §9.2.4: long-term credential checks, in the RFC's order.
    fn authenticate(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        msg: &Message<'_>,
    ) -> Result<Authenticated, ServerError> {
        let tid = msg.transaction_id();
        let method = msg.message_type().method;
        let unix = self.unix_now(now);
        let sha256_integrity = msg.has_integrity_sha256();
        if !msg.has_integrity() && !sha256_integrity {
            // RFC 8489 §9.2.4: no MESSAGE-INTEGRITY(-SHA256): 401 with REALM and NONCE.
            return self.challenge(ft, tid, method, ErrorCode::UNAUTHENTICATED, unix);
        }
        let username = msg.get::<Username>();
        let realm = msg.get::<Realm>();
        let nonce = msg.get::<Nonce>();
        let (Ok(Some(username)), Ok(Some(realm)), Ok(Some(nonce))) = (username, realm, nonce)
        else {
            // RFC 8489 §9.2.4: integrity without USERNAME, REALM or NONCE: 400.
            return Err(self.reject(ft, tid, method, ErrorCode::BAD_REQUEST, None));
        };
        // RFC 8489 §9.2.4: with a nonce announcing password algorithms, PASSWORD-ALGORITHMS
        // must echo the offered list and PASSWORD-ALGORITHM name one of it, else 400 (the
        // bid-down protection of §9.2.1).
        let Ok(algorithm) = self.credentials.password_algorithm(msg, nonce.0) else {
            return Err(self.reject(ft, tid, method, ErrorCode::BAD_REQUEST, None));
        };
        if self.credentials.check_nonce(nonce.0, unix, ft.client.ip()) == NonceCheck::Stale {
            // RFC 8489 §9.2.4: a nonce that is not (or no longer) valid: 438 with a fresh NONCE.
            return self.challenge(ft, tid, method, ErrorCode::STALE_NONCE, unix);
        }
        if realm.0 != self.credentials.realm() {
            return self.challenge(ft, tid, method, ErrorCode::UNAUTHENTICATED, unix);
        }
        // The allocation's cached key first (same user, same algorithm): no MD5, SHA-256 or
        // REST HMAC on the hot path.
        let key = match self.allocations.get(&ft) {
            Some(a) if a.username == username.0 && a.key.algorithm == algorithm => {
                Some(a.key.key.clone())
            }
            _ => self.credentials.key_for(username.0, algorithm, unix),
        };
        let Some(key) = key else {
            // RFC 8489 §9.2.4: unknown user: 401.
            return self.challenge(ft, tid, method, ErrorCode::UNAUTHENTICATED, unix);
        };
        // RFC 8489 §9.2.4: MESSAGE-INTEGRITY-SHA256 when present, else MESSAGE-INTEGRITY,
        // compared in constant time; a mismatch is 401.
        let verified = if sha256_integrity {
            msg.verify_integrity_sha256(&key)
        } else {
            msg.verify_integrity(&key)
        };
        if verified.is_err() {
            return self.challenge(ft, tid, method, ErrorCode::UNAUTHENTICATED, unix);
        }
        Ok(Authenticated {
            username: username.0.to_owned(),
            key: SessionKey {
                key,
                algorithm,
                sha256_integrity,
            },
        })
    }

    fn challenge(
        &mut self,
        ft: FiveTuple,
        tid: TransactionId,
        method: Method,
        code: ErrorCode<'static>,
        unix: u64,
    ) -> Result<Authenticated, ServerError> {
        let nonce = self.credentials.make_nonce(unix, ft.client.ip());
        let realm = self.credentials.realm().to_owned();
        let offered: Option<Vec<PasswordAlgorithm>> =
            self.credentials.offered_algorithms().map(<[_]>::to_vec);
        let bytes = self.build(
            tid,
            MessageType::new(method, Class::ErrorResponse),
            None,
            |enc| {
                enc.add(&code)?;
                enc.add(&Realm(&realm))?;
                enc.add(&Nonce(&nonce))?;
                // RFC 8489 §9.2.4: a 401 or 438 whose nonce carries the cookie's password
                // algorithms bit lists the algorithms in PASSWORD-ALGORITHMS.
                if let Some(list) = offered {
                    enc.add(&PasswordAlgorithms(list))?;
                }
                Ok(())
            },
        )?;
        self.send_to_client(ft, bytes);
        Err(ServerError::Rejected { code: code.code })
    }

    fn allocate(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        msg: &Message<'_>,
        auth: Authenticated,
    ) -> Result<(), ServerError> {
        let tid = msg.transaction_id();
        let m = methods::ALLOCATE;
        let key = Some(&auth.key);
        // RFC 8656 §7.2 step 2: an allocation on this 5-tuple already exists.
        if self.allocations.contains_key(&ft) {
            return self.error(ft, tid, m, methods::ALLOCATION_MISMATCH, key);
        }
        // Step 3: REQUESTED-TRANSPORT must be present, and UDP.
        match msg.get::<RequestedTransport>() {
            Ok(Some(RequestedTransport::UDP)) => {}
            Ok(Some(_)) => return self.error(ft, tid, m, methods::UNSUPPORTED_TRANSPORT, key),
            _ => return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key),
        }
        let requested = msg.get::<RequestedAddressFamily>();
        let additional = msg.get::<AdditionalAddressFamily>();
        let (Ok(requested), Ok(additional)) = (requested, additional) else {
            return self.error(ft, tid, m, methods::ADDRESS_FAMILY_NOT_SUPPORTED, key);
        };
        // RFC 8656 §7.2: both family attributes at once, or an additional family other than
        // IPv6, is a bad request.
        if requested.is_some() && additional.is_some()
            || additional.is_some_and(|a| a.0 != AddressFamily::V6)
        {
            return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key);
        }
        let (Ok(even), Ok(token)) = (msg.get::<EvenPort>(), msg.get::<ReservationToken>()) else {
            return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key);
        };
        // RFC 8656 §7.2: RESERVATION-TOKEN together with EVEN-PORT or
        // REQUESTED-ADDRESS-FAMILY is a bad request.
        if token.is_some() && (even.is_some() || requested.is_some()) {
            return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key);
        }
        let family = requested.map_or(AddressFamily::V4, |r| r.0);
        let Some(relay_ip) = self
            .config
            .relay_ips
            .iter()
            .copied()
            .find(|ip| ip.is_ipv4() == (family == AddressFamily::V4))
        else {
            return self.error(ft, tid, m, methods::ADDRESS_FAMILY_NOT_SUPPORTED, key);
        };
        // Quotas: RFC 8656 §7.2 step 8 (486 Allocation Quota Reached).
        let user_count = self.per_user.get(&auth.username).copied().unwrap_or(0);
        if user_count >= self.config.user_quota || self.allocations.len() >= self.config.total_quota
        {
            return self.error(ft, tid, m, methods::ALLOCATION_QUOTA_REACHED, key);
        }
        let even_port = even.is_some();
        let reserve_next = even.is_some_and(|e| e.reserve_next);
        let (relay, reservation) = if let Some(ReservationToken(t)) = token {
            // RFC 8656 §7.2: the relay address is the one the token reserved; an unknown or
            // expired token gets 508.
            match self.reservations.remove(&t) {
                Some((addr, expires)) => {
                    self.reserved.remove(&addr);
                    if expires <= now {
                        return self.error(ft, tid, m, methods::INSUFFICIENT_CAPACITY, key);
                    }
                    (addr, None)
                }
                None => return self.error(ft, tid, m, methods::INSUFFICIENT_CAPACITY, key),
            }
        } else {
            if reserve_next && self.reservations.len() >= self.config.total_quota {
                return self.error(ft, tid, m, methods::INSUFFICIENT_CAPACITY, key);
            }
            let Some(relay) = self.pick_relay(relay_ip, even_port, reserve_next) else {
                return self.error(ft, tid, m, methods::INSUFFICIENT_CAPACITY, key);
            };
            // RFC 8656 §7.2: with the R bit, port + 1 is reserved and named by a token.
            let reservation = reserve_next.then(|| self.reserve_next_port(now, relay));
            (relay, reservation)
        };
        let lifetime = self.lifetime(msg.get::<Lifetime>().ok().flatten());
        let bucket = self.config.bandwidth.map(|b| TokenBucket::new(b, now));
        *self.per_user.entry(auth.username.clone()).or_insert(0) += 1;
        self.allocations.insert(
            ft,
            Allocation {
                username: auth.username,
                key: auth.key,
                relay,
                pending: Some(PendingAllocate {
                    tid,
                    additional_family_refused: additional.is_some(),
                    attempts: 0,
                    even_port,
                    reserve_next,
                    reservation,
                    from_token: token.is_some(),
                }),
                expires: now + lifetime,
                permissions: HashMap::new(),
                channels: HashMap::new(),
                peer_channels: HashMap::new(),
                bucket,
                last_response: None,
            },
        );
        self.add_relay(relay, ft);
        self.events.push_back(ServerEvent::OpenRelay { relay });
        Ok(())
    }

    /// RFC 8656 §7.2 step 7 / §8.2: a requested lifetime below the default gets the default,
    /// above the maximum gets the maximum.
    fn lifetime(&self, requested: Option<Lifetime>) -> Duration {
        let max = self.config.max_lifetime.max(self.config.default_lifetime);
        match requested {
            Some(Lifetime(secs)) => Duration::from_secs(u64::from(secs))
                .max(self.config.default_lifetime)
                .min(max),
            None => self.config.default_lifetime,
        }
    }

    /// A free relay address in the port range (even when asked; with `with_next`, an even
    /// port whose successor is free too).
    fn pick_relay(&mut self, ip: IpAddr, even: bool, with_next: bool) -> Option<SocketAddr> {
        let (lo, hi) = (
            *self.config.relay_ports.start(),
            *self.config.relay_ports.end(),
        );
        if lo > hi {
            return None;
        }
        let span = u32::from(hi - lo) + 1;
        let in_use = self.relays_per_ip.get(&ip).copied().unwrap_or(0) + self.reserved.len();
        if in_use >= span as usize {
            return None;
        }
        let even = even || with_next;
        let free = |s: &Server, port: u16| {
            let addr = SocketAddr::new(ip, port);
            !s.relays.contains_key(&addr) && !s.reserved.contains(&addr)
        };
        let first = self.rng.gen_range(0..span);
        for i in 0..span {
            let port = u32::from(lo) + (first + i) % span;
            let Ok(port) = u16::try_from(port) else {
                continue;
            };
            if even && port % 2 != 0 {
                continue;
            }
            if !free(self, port) {
                continue;
            }
            if with_next && (port >= hi || !free(self, port + 1)) {
                continue;
            }
            return Some(SocketAddr::new(ip, port));
        }
        None
    }

    /// Reserves `relay`'s port + 1 for 30 s and returns its token.
    fn reserve_next_port(&mut self, now: Instant, relay: SocketAddr) -> [u8; 8] {
        let next = SocketAddr::new(relay.ip(), relay.port().wrapping_add(1));
        let mut token = [0u8; 8];
        self.rng.fill_bytes(&mut token);
        self.reservations
            .insert(token, (next, now + RESERVATION_LIFETIME));
        self.reserved.insert(next);
        token
    }

    fn refresh(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        msg: &Message<'_>,
        auth: Authenticated,
    ) -> Result<(), ServerError> {
        let tid = msg.transaction_id();
        let requested = msg.get::<Lifetime>().ok().flatten();
        if requested == Some(Lifetime(0)) {
            // RFC 8656 §8.2: LIFETIME 0 deletes the allocation at once.
            let bytes = self.success(tid, methods::REFRESH, &auth.key, |enc| {
                enc.add(&Lifetime(0))
            })?;
            self.delete_allocation(ft);
            self.send_to_client(ft, bytes);
            return Ok(());
        }
        let lifetime = self.lifetime(requested);
        let bytes = self.success(tid, methods::REFRESH, &auth.key, |enc| {
            enc.add(&Lifetime(lifetime.as_secs() as u32))
        })?;
        if let Some(alloc) = self.allocations.get_mut(&ft) {
            alloc.expires = now + lifetime;
            alloc.last_response = Some((tid, bytes.clone()));
        }
        self.send_to_client(ft, bytes);
        Ok(())
    }

    /// Checks a peer for CreatePermission and ChannelBind: 403 by policy first (so that
    /// IPv6 forms of forbidden IPv4 addresses are refused as such), then 443 on a family
    /// other than the relayed address's.
    fn check_peer(&self, relay: SocketAddr, peer: SocketAddr) -> Result<(), ErrorCode<'static>> {
        // RFC 8656 §21 (security considerations) / BAD_INPUT row 11: refuse internal
        // destinations and the server itself.
        if self.policy.check(peer.ip()).is_err() {
            return Err(methods::FORBIDDEN);
        }
        // RFC 8656 §10.2 / §12.2: the peer's family must be the relayed address's.
        if peer.is_ipv4() != relay.is_ipv4() {
            return Err(methods::PEER_ADDRESS_FAMILY_MISMATCH);
        }
        Ok(())
    }

    fn create_permission(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        msg: &Message<'_>,
        auth: Authenticated,
    ) -> Result<(), ServerError> {
        let tid = msg.transaction_id();
        let m = methods::CREATE_PERMISSION;
        let key = Some(&auth.key);
        let mut peers = Vec::new();
        for a in msg
            .attributes()
            .filter(|a| a.kind == attrs::kind::XOR_PEER_ADDRESS)
        {
            match decode_xor_address(a.kind, a.value, &tid) {
                Ok(p) => peers.push(p),
                Err(_) => return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key),
            }
        }
        // RFC 8656 §10.2: at least one XOR-PEER-ADDRESS, else 400.
        if peers.is_empty() {
            return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key);
        }
        let Some(alloc) = self.allocations.get(&ft) else {
            return self.error(ft, tid, m, methods::ALLOCATION_MISMATCH, key);
        };
        let relay = alloc.relay;
        for peer in &peers {
            if let Err(code) = self.check_peer(relay, *peer) {
                return self.error(ft, tid, m, code, key);
            }
        }
        let new = peers
            .iter()
            .filter(|p| !alloc.permissions.contains_key(&p.ip()))
            .count();
        if alloc.permissions.len() + new > self.config.max_permissions {
            return self.error(ft, tid, m, methods::INSUFFICIENT_CAPACITY, key);
        }
        let bytes = self.success(tid, m, &auth.key, |_| Ok(()))?;
        if let Some(alloc) = self.allocations.get_mut(&ft) {
            // RFC 8656 §9: permissions are keyed by IP address only and last 300 s.
            for peer in peers {
                alloc
                    .permissions
                    .insert(peer.ip(), now + PERMISSION_LIFETIME);
            }
            alloc.last_response = Some((tid, bytes.clone()));
        }
        self.send_to_client(ft, bytes);
        Ok(())
    }

    fn channel_bind(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        msg: &Message<'_>,
        auth: Authenticated,
    ) -> Result<(), ServerError> {
        let tid = msg.transaction_id();
        let m = methods::CHANNEL_BIND;
        let key = Some(&auth.key);
        // RFC 8656 §12.2: CHANNEL-NUMBER in 0x4000–0x4FFF and XOR-PEER-ADDRESS, else 400.
        let (Ok(Some(ChannelNumber(number))), Ok(Some(XorPeerAddress(peer)))) =
            (msg.get::<ChannelNumber>(), msg.get::<XorPeerAddress>())
        else {
            return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key);
        };
        if !(MIN_CHANNEL..=self.max_channel()).contains(&number) {
            return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key);
        }
        let Some(alloc) = self.allocations.get(&ft) else {
            return self.error(ft, tid, m, methods::ALLOCATION_MISMATCH, key);
        };
        if let Err(code) = self.check_peer(alloc.relay, peer) {
            return self.error(ft, tid, m, code, key);
        }
        // RFC 8656 §12.2: the channel is bound to another peer, or the peer to another
        // channel: 400.
        let channel_clash = alloc
            .peer_for(number, now)
            .is_some_and(|bound| bound != peer);
        let peer_clash = alloc.channel_for(peer, now).is_some_and(|n| n != number);
        if channel_clash || peer_clash {
            return self.error(ft, tid, m, ErrorCode::BAD_REQUEST, key);
        }
        if !alloc.permissions.contains_key(&peer.ip())
            && alloc.permissions.len() >= self.config.max_permissions
        {
            return self.error(ft, tid, m, methods::INSUFFICIENT_CAPACITY, key);
        }
        let bytes = self.success(tid, m, &auth.key, |_| Ok(()))?;
        if let Some(alloc) = self.allocations.get_mut(&ft) {
            // A stale binding of this number (expired, not yet swept) is replaced.
            if let Some(old) = alloc.channels.get(&number)
                && old.peer != peer
            {
                let old_peer = old.peer;
                alloc.peer_channels.remove(&old_peer);
            }
            // RFC 8656 §12.2: bind (or refresh) for 10 minutes, and install or refresh the
            // permission for the peer's IP.
            alloc.channels.insert(
                number,
                Binding {
                    peer,
                    expires: now + CHANNEL_LIFETIME,
                },
            );
            alloc.peer_channels.insert(peer, number);
            alloc
                .permissions
                .insert(peer.ip(), now + PERMISSION_LIFETIME);
            alloc.last_response = Some((tid, bytes.clone()));
        }
        self.send_to_client(ft, bytes);
        Ok(())
    }

    fn send_indication(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        msg: &Message<'_>,
    ) -> Result<(), ServerError> {
        // RFC 8656 §11.2: no XOR-PEER-ADDRESS or DATA: discard.
        let (Ok(Some(XorPeerAddress(peer))), Ok(Some(Data(data)))) =
            (msg.get::<XorPeerAddress>(), msg.get::<Data>())
        else {
            return Err(ServerError::MalformedIndication);
        };
        self.relay_to_peer(now, ft, peer, data)
    }

    fn channel_data(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        data: &[u8],
    ) -> Result<(), ServerError> {
        let cd = ChannelData::decode_with_max(data, self.max_channel())?;
        let alloc = self
            .allocations
            .get_mut(&ft)
            .ok_or(ServerError::NoAllocation { client: ft.client })?;
        // RFC 8656 §12.6: ChannelData on a channel not bound is discarded.
        let peer = alloc
            .peer_for(cd.channel, now)
            .ok_or(ServerError::ChannelNotBound {
                channel: cd.channel,
            })?;
        relay_allocation_to_peer(
            alloc,
            &self.policy,
            &mut self.stats,
            &mut self.transmits,
            now,
            ft,
            peer,
            cd.data,
        )
    }

    fn relay_to_peer(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), ServerError> {
        let alloc = self
            .allocations
            .get_mut(&ft)
            .ok_or(ServerError::NoAllocation { client: ft.client })?;
        relay_allocation_to_peer(
            alloc,
            &self.policy,
            &mut self.stats,
            &mut self.transmits,
            now,
            ft,
            peer,
            data,
        )
    }

    // ---- peer → server ---------------------------------------------------------------

    fn peer_datagram(
        &mut self,
        now: Instant,
        ft: FiveTuple,
        relay: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), ServerError> {
        let alloc = self
            .allocations
            .get_mut(&ft)
            .ok_or(ServerError::UnknownRelay { relay })?;
        if alloc.pending.is_some() {
            return Err(ServerError::UnknownRelay { relay });
        }
        // RFC 8656 §11.3: a datagram from a peer without a permission is discarded.
        if !alloc.has_permission(peer.ip(), now) {
            return Err(ServerError::NoPermission { peer });
        }
        if !alloc.charge(now, data.len()) {
            return Err(ServerError::BandwidthExceeded);
        }
        let mut out = Vec::new();
        if let Some(channel) = alloc.channel_for(peer, now) {
            // RFC 8656 §12.7: a bound channel carries the data as ChannelData.
            ChannelData { channel, data }.encode(ft.transport.is_stream(), &mut out)?;
        } else {
            // RFC 8656 §11.3: otherwise a Data indication with XOR-PEER-ADDRESS and DATA.
            let tid = TransactionId::random(&mut self.rng);
            let mut enc = MessageEncoder::new(
                &mut out,
                MessageType::new(methods::DATA, Class::Indication),
                tid,
            );
            enc.add(&XorPeerAddress(peer))?;
            enc.add(&Data(data))?;
            enc.finish();
        }
        self.stats.relayed_to_clients += 1;
        self.send_to_client(ft, out);
        Ok(())
    }

    // ---- helpers ----------------------------------------------------------------------

    fn add_relay(&mut self, relay: SocketAddr, ft: FiveTuple) {
        if self.relays.insert(relay, ft).is_none() {
            *self.relays_per_ip.entry(relay.ip()).or_insert(0) += 1;
        }
    }

    fn remove_relay(&mut self, relay: SocketAddr) -> Option<FiveTuple> {
        let ft = self.relays.remove(&relay)?;
        if let Some(n) = self.relays_per_ip.get_mut(&relay.ip()) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.relays_per_ip.remove(&relay.ip());
            }
        }
        Some(ft)
    }

    fn max_channel(&self) -> u16 {
        if self.config.legacy_channel_range {
            LEGACY_MAX_CHANNEL
        } else {
            MAX_CHANNEL
        }
    }

    /// RFC 7983 §7: first byte 64–79 is ChannelData (64–127 with RFC 5766 numbers).
    fn is_channel_data(&self, data: &[u8]) -> bool {
        let first = data.first().copied().unwrap_or(0);
        first >= 0x40 && u16::from(first) <= self.max_channel() >> 8
    }

    fn send_to_client(&mut self, ft: FiveTuple, data: Vec<u8>) {
        self.transmits.push_back(Transmit {
            transport: ft.transport,
            source: ft.server,
            destination: ft.client,
            data,
        });
    }

    fn build<F>(
        &self,
        tid: TransactionId,
        mt: MessageType,
        key: Option<&SessionKey>,
        body: F,
    ) -> Result<Vec<u8>, EncodeError>
    where
        F: FnOnce(&mut MessageEncoder<'_>) -> Result<(), EncodeError>,
    {
        let mut out = Vec::new();
        let mut enc = MessageEncoder::new(&mut out, mt, tid);
        body(&mut enc)?;
        if let Some(s) = &self.config.software {
            enc.add(&Software(s))?;
        }
        // RFC 8489 §9.2.4: responses to an authenticated request are signed with the same key,
        // with MESSAGE-INTEGRITY-SHA256 when the request used it, else MESSAGE-INTEGRITY.
        match key {
            Some(k) if k.sha256_integrity => enc.add_message_integrity_sha256(&k.key)?,
            Some(k) => enc.add_message_integrity(&k.key)?,
            None => {}
        }
        enc.add_fingerprint()?;
        Ok(out)
    }

    fn success<F>(
        &self,
        tid: TransactionId,
        method: Method,
        key: &SessionKey,
        body: F,
    ) -> Result<Vec<u8>, ServerError>
    where
        F: FnOnce(&mut MessageEncoder<'_>) -> Result<(), EncodeError>,
    {
        Ok(self.build(
            tid,
            MessageType::new(method, Class::SuccessResponse),
            Some(key),
            body,
        )?)
    }

    /// Queues an error response (integrity-protected when the request was authenticated,
    /// RFC 8489 §9.2.4) and returns the matching `Err`.
    fn reject(
        &mut self,
        ft: FiveTuple,
        tid: TransactionId,
        method: Method,
        code: ErrorCode<'static>,
        key: Option<&SessionKey>,
    ) -> ServerError {
        match self.build(
            tid,
            MessageType::new(method, Class::ErrorResponse),
            key,
            |enc| enc.add(&code),
        ) {
            Ok(bytes) => {
                self.send_to_client(ft, bytes);
                ServerError::Rejected { code: code.code }
            }
            Err(e) => ServerError::Encode(e),
        }
    }

    fn error<T>(
        &mut self,
        ft: FiveTuple,
        tid: TransactionId,
        method: Method,
        code: ErrorCode<'static>,
        key: Option<&SessionKey>,
    ) -> Result<T, ServerError> {
        Err(self.reject(ft, tid, method, code, key))
    }

    fn delete_allocation(&mut self, ft: FiveTuple) {
        if let Some(relay) = self.delete_allocation_silently(ft) {
            self.events.push_back(ServerEvent::CloseRelay { relay });
            self.events.push_back(ServerEvent::AllocationDeleted {
                five_tuple: ft,
                relay,
            });
        }
    }

    fn delete_allocation_silently(&mut self, ft: FiveTuple) -> Option<SocketAddr> {
        let alloc = self.allocations.remove(&ft)?;
        self.remove_relay(alloc.relay);
        if let Some(n) = self.per_user.get_mut(&alloc.username) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_user.remove(&alloc.username);
            }
        }
        Some(alloc.relay)
    }
}

/// The attributes the server understands: STUN's and TURN's, except DONT-FRAGMENT (the relay
/// cannot set DF, so RFC 8656 §7.2 has it answered with 420).
/// Relays `data` from the client of `alloc` to `peer` (ChannelData or a Send indication),
/// after every check of the data path; one allocation lookup for the whole datagram.
#[allow(clippy::too_many_arguments)]
fn relay_allocation_to_peer(
    alloc: &mut Allocation,
    policy: &PeerPolicy,
    stats: &mut ServerStats,
    transmits: &mut VecDeque<Transmit>,
    now: Instant,
    ft: FiveTuple,
    peer: SocketAddr,
    data: &[u8],
) -> Result<(), ServerError> {
    if alloc.pending.is_some() {
        return Err(ServerError::NoAllocation { client: ft.client });
    }
    // Defence in depth: the policy is checked on the data path too (a permission could
    // predate a policy change, and Send needs no request).
    if policy.check(peer.ip()).is_err() {
        return Err(ServerError::Forbidden { peer });
    }
    // RFC 8656 §11.2 / §12.6: no permission for the peer's IP: discard silently.
    if !alloc.has_permission(peer.ip(), now) {
        return Err(ServerError::NoPermission { peer });
    }
    if !alloc.charge(now, data.len()) {
        return Err(ServerError::BandwidthExceeded);
    }
    stats.relayed_to_peers += 1;
    transmits.push_back(Transmit {
        transport: Transport::Udp,
        source: alloc.relay,
        destination: peer,
        data: data.to_vec(),
    });
    Ok(())
}

fn server_knows(t: u16) -> bool {
    t != attrs::kind::DONT_FRAGMENT && (attrs::is_known(t) || t == attrs::kind::RESERVATION_TOKEN)
}
