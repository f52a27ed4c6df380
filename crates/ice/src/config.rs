//! Agent configuration and credentials.

use std::net::SocketAddr;
use std::time::Duration;

use rand::Rng;

use crate::candidate::TransportProtocol;
use rand::distributions::Alphanumeric;

/// ICE credentials: username fragment and password (RFC 8445 §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCredentials {
    /// Username fragment (at least 4 characters).
    pub ufrag: String,
    /// Password (at least 22 characters).
    pub pwd: String,
}

impl IceCredentials {
    /// Fresh random credentials from the OS-seeded thread RNG: 8-character ufrag and
    /// 24-character password of `ice-char`s (RFC 8839 §5.4 requires at least 24 bits and
    /// 128 bits of randomness).
    pub fn random() -> IceCredentials {
        IceCredentials::from_rng(&mut rand::thread_rng())
    }

    /// Fresh credentials from `rng` (deterministic in tests).
    pub fn from_rng<R: Rng + ?Sized>(rng: &mut R) -> IceCredentials {
        let mut take = |n: usize| -> String {
            (0..n)
                .map(|_| char::from(rng.sample(Alphanumeric)))
                .collect()
        };
        IceCredentials {
            ufrag: take(8),
            pwd: take(24),
        }
    }
}

/// Configuration of an [`IceAgent`](crate::IceAgent).
#[derive(Debug, Clone)]
pub struct IceConfig {
    /// Start in the controlling role (the offerer, for a full agent).
    pub controlling: bool,
    /// Local username fragment.
    pub local_ufrag: String,
    /// Local password.
    pub local_pwd: String,
    /// Tie-breaker for role conflicts (RFC 8445 §7.3.1.1).
    pub tie_breaker: u64,
    /// Seed of the agent's RNG (transaction ids, consent jitter).
    pub rng_seed: u64,
    /// Run as an ICE-lite agent (RFC 8445 §2.5): no checks of its own, always controlled.
    pub ice_lite: bool,
    /// Pacing interval Ta between new transactions (RFC 8445 §14.2; 50 ms default).
    pub check_interval: Duration,
    /// First retransmission timeout of a check (RFC 8445 §14.3: at least 500 ms).
    pub check_rto: Duration,
    /// The retransmission timeout stops doubling at this value.
    pub check_rto_max: Duration,
    /// Transmissions of a check before its pair fails (RFC 8489 Rc; 7 by default).
    pub max_check_transmissions: u32,
    /// Candidate-pair limit (RFC 8445 §6.1.2.5; 100 by default).
    pub max_pairs: usize,
    /// Remote candidates kept at most (bounded memory under a candidate flood).
    pub max_remote_candidates: usize,
    /// How long the controlling agent waits for better pairs after the first success before
    /// nominating the best valid pair (regular nomination, RFC 8445 §8.1.1).
    pub nomination_timeout: Duration,
    /// Mean interval of consent checks (RFC 7675 §5.1: 5 s, randomised to 4–6 s).
    pub consent_interval: Duration,
    /// Without a consent response for this long the state becomes `Disconnected`.
    pub disconnected_timeout: Duration,
    /// Without a consent response for this long consent is lost (RFC 7675 §5.1: 30 s):
    /// the selected pair is dropped and the state becomes `Failed`.
    pub consent_timeout: Duration,
    /// STUN servers for server-reflexive candidates.
    pub stun_servers: Vec<SocketAddr>,
    /// TURN servers for relayed candidates (one allocation per host candidate of the same
    /// address family and server).
    pub turn_servers: Vec<TurnServer>,
    /// Use relayed candidates only (W3C `RTCIceTransportPolicy` "relay"): host candidates
    /// stay the sockets relays are reached from, but are neither signalled nor paired, and
    /// no server-reflexive candidate is gathered.
    pub relay_only: bool,
}

impl IceConfig {
    /// Defaults with random credentials, tie-breaker and seed from the OS.
    pub fn new(controlling: bool) -> IceConfig {
        let creds = IceCredentials::random();
        let mut rng = rand::thread_rng();
        IceConfig::with_credentials(controlling, creds, rng.r#gen(), rng.r#gen())
    }

    /// Defaults with the given credentials, tie-breaker and RNG seed (deterministic).
    pub fn with_credentials(
        controlling: bool,
        credentials: IceCredentials,
        tie_breaker: u64,
        rng_seed: u64,
    ) -> IceConfig {
        IceConfig {
            controlling,
            local_ufrag: credentials.ufrag,
            local_pwd: credentials.pwd,
            tie_breaker,
            rng_seed,
            ice_lite: false,
            check_interval: Duration::from_millis(50),
            check_rto: Duration::from_millis(500),
            check_rto_max: Duration::from_millis(1600),
            max_check_transmissions: 7,
            max_pairs: 100,
            max_remote_candidates: 200,
            nomination_timeout: Duration::from_millis(500),
            consent_interval: Duration::from_secs(5),
            disconnected_timeout: Duration::from_secs(8),
            consent_timeout: Duration::from_secs(30),
            stun_servers: Vec::new(),
            turn_servers: Vec::new(),
            relay_only: false,
        }
    }
}

/// A TURN server and its long-term credentials (RFC 8656), reached from each host
/// candidate: over UDP from its socket, or over a TCP connection the driver opens from its IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnServer {
    /// The server's address.
    pub address: SocketAddr,
    /// UDP or TCP to the server (the relayed candidate is UDP either way).
    pub transport: TransportProtocol,
    /// Long-term credential username.
    pub username: String,
    /// Long-term credential password.
    pub password: String,
}

impl TurnServer {
    /// A TURN server reached over UDP, with these credentials.
    pub fn new(address: SocketAddr, username: &str, password: &str) -> TurnServer {
        TurnServer {
            address,
            transport: TransportProtocol::Udp,
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    /// A TURN server reached over TCP (RFC 8656 §3.1), with these credentials.
    pub fn tcp(address: SocketAddr, username: &str, password: &str) -> TurnServer {
        TurnServer {
            transport: TransportProtocol::Tcp,
            ..TurnServer::new(address, username, password)
        }
    }
}
