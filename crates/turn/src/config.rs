//! Configuration of the TURN client and the server core.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use tern_stun::PasswordAlgorithm;

use crate::policy::PeerPolicy;
use crate::transport::Transport;
use crate::wire::attributes::AddressFamily;

/// Permission lifetime (RFC 8656 §9: 300 seconds, not changeable).
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// Channel binding lifetime (RFC 8656 §12: 10 minutes).
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// Default allocation lifetime (RFC 8656 §7.2: 10 minutes).
pub const DEFAULT_ALLOCATION_LIFETIME: Duration = Duration::from_secs(600);

/// What a [`Client`](crate::Client) needs to know.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The TURN server.
    pub server: SocketAddr,
    /// UDP or TCP to the server.
    pub transport: Transport,
    /// Long-term credential username.
    pub username: String,
    /// Long-term credential password.
    pub password: String,
    /// REQUESTED-ADDRESS-FAMILY to send (`None`: let the server pick, IPv4 by default).
    pub requested_family: Option<AddressFamily>,
    /// LIFETIME to ask for, in seconds (`None`: the server's default).
    pub lifetime: Option<u32>,
    /// SOFTWARE to send.
    pub software: Option<String>,
    /// Password algorithms the client accepts for long-term credentials (RFC 8489 §9.2); the
    /// server's order of preference picks among them. Default `[Sha256, Md5]`: SHA-256 when
    /// the server's nonce cookie and PASSWORD-ALGORITHMS offer it, MD5 otherwise (RFC 5389
    /// servers such as coturn). Leave MD5 out to refuse servers that offer only MD5.
    pub password_algorithms: Vec<PasswordAlgorithm>,
    /// How many requests one transaction chain may send while the server answers
    /// 401 Unauthenticated or 438 Stale Nonce, before failing with a typed error.
    pub max_auth_attempts: u32,
    /// Initial retransmission timeout over UDP (RFC 8489 §6.2.1: 500 ms).
    pub rto: Duration,
    /// Requests sent in total over UDP (RFC 8489 §6.2.1: Rc = 7).
    pub max_transmissions: u32,
    /// How long after the last UDP retransmission to give up, in RTOs (RFC 8489: Rm = 16).
    pub last_wait_factor: u32,
    /// Transaction timeout over TCP (RFC 8489 §6.2.2: 39.5 s).
    pub reliable_timeout: Duration,
    /// Refresh allocations, permissions and channels this long before they expire.
    pub refresh_margin: Duration,
    /// Most peers (permissions) tracked at once.
    pub max_peers: usize,
    /// Seed for transaction ids; `None` seeds from the operating system.
    pub seed: Option<[u8; 32]>,
}

impl ClientConfig {
    /// A UDP client of `server` with the long-term credential `username` / `password`.
    pub fn new(server: SocketAddr, username: &str, password: &str) -> ClientConfig {
        ClientConfig {
            server,
            transport: Transport::Udp,
            username: username.to_owned(),
            password: password.to_owned(),
            requested_family: None,
            lifetime: None,
            software: None,
            password_algorithms: vec![PasswordAlgorithm::Sha256, PasswordAlgorithm::Md5],
            max_auth_attempts: 3,
            rto: Duration::from_millis(500),
            max_transmissions: 7,
            last_wait_factor: 16,
            reliable_timeout: Duration::from_millis(39_500),
            refresh_margin: Duration::from_secs(60),
            max_peers: 1024,
            seed: None,
        }
    }
}

/// A token bucket limit on relayed bytes per allocation (both directions counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandwidthLimit {
    /// Sustained rate.
    pub bytes_per_second: u64,
    /// Bucket size: the largest burst.
    pub burst_bytes: u64,
}

/// What a [`Server`](crate::Server) core needs to know.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// REALM (RFC 8489 §9.2).
    pub realm: String,
    /// SOFTWARE sent in responses.
    pub software: Option<String>,
    /// Static long-term users: username → password.
    pub users: HashMap<String, String>,
    /// TURN REST API shared secret: usernames `expiry:user`, password
    /// base64(HMAC-SHA1(secret, username)) (draft-uberti-behave-turn-rest-00 §2.2).
    pub rest_secret: Option<String>,
    /// How long a nonce stays valid (then 438 Stale Nonce).
    pub nonce_lifetime: Duration,
    /// Password algorithms offered for long-term credentials, in order of preference
    /// (RFC 8489 §9.2). `[Md5]` (the default) is the RFC 5389 behaviour coturn has: plain
    /// nonces, no PASSWORD-ALGORITHMS. Anything else (e.g. `[Sha256, Md5]`, see
    /// [`ServerConfig::with_sha256`]) puts the nonce cookie with the password-algorithms bit
    /// and PASSWORD-ALGORITHMS in 401/438 responses, and enforces the bid-down checks.
    /// Unregistered algorithms are ignored; an empty list means `[Md5]`.
    pub password_algorithms: Vec<PasswordAlgorithm>,
    /// Lifetime used when the client asks for less or nothing (RFC 8656 §7.2: 600 s).
    pub default_lifetime: Duration,
    /// Longest lifetime granted (RFC 8656 §7.2 recommends 3600 s).
    pub max_lifetime: Duration,
    /// IP addresses relay sockets are bound on (one per family at most is used).
    pub relay_ips: Vec<IpAddr>,
    /// Relay port range (RFC 8656 §7.2: 49152–65535 by default).
    pub relay_ports: RangeInclusive<u16>,
    /// Allocations per username (486 beyond).
    pub user_quota: usize,
    /// Allocations in total (486 beyond).
    pub total_quota: usize,
    /// Permissions per allocation (508 beyond).
    pub max_permissions: usize,
    /// Relayed-bytes limit per allocation; `None` for unlimited.
    pub bandwidth: Option<BandwidthLimit>,
    /// Which peers may be relayed to. The server's relay IPs are added to its own addresses.
    pub peer_policy: PeerPolicy,
    /// Accept RFC 5766 channel numbers 0x4000–0x7FFF (coturn's `turnutils_uclient` picks
    /// them) instead of RFC 8656's 0x4000–0x4FFF.
    pub legacy_channel_range: bool,
    /// Seed for nonces, ports and the nonce key; `None` seeds from the operating system.
    pub seed: Option<[u8; 32]>,
}

impl ServerConfig {
    /// A server for `realm` relaying on `relay_ip`, with no users yet.
    pub fn new(realm: &str, relay_ip: IpAddr) -> ServerConfig {
        ServerConfig {
            realm: realm.to_owned(),
            software: Some(concat!("tern-turn ", env!("CARGO_PKG_VERSION")).to_owned()),
            users: HashMap::new(),
            rest_secret: None,
            nonce_lifetime: Duration::from_secs(600),
            password_algorithms: vec![PasswordAlgorithm::Md5],
            default_lifetime: DEFAULT_ALLOCATION_LIFETIME,
            max_lifetime: Duration::from_secs(3600),
            relay_ips: vec![relay_ip],
            relay_ports: 49152..=65535,
            user_quota: 10,
            total_quota: 10_000,
            max_permissions: 256,
            bandwidth: None,
            peer_policy: PeerPolicy::default(),
            legacy_channel_range: false,
            seed: None,
        }
    }

    /// Offers SHA-256 before MD5 as the password algorithm (RFC 8489 §9.2): the password
    /// algorithms are `[Sha256, Md5]`.
    pub fn with_sha256(mut self) -> ServerConfig {
        self.password_algorithms = vec![PasswordAlgorithm::Sha256, PasswordAlgorithm::Md5];
        self
    }

    /// Adds a static long-term user.
    pub fn with_user(mut self, username: &str, password: &str) -> ServerConfig {
        self.users.insert(username.to_owned(), password.to_owned());
        self
    }
}
