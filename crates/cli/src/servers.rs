//! `tern turn-server` and `tern stun-server`: tokio drivers around the sans-IO servers of
//! `tern-turn` (through its `ServerRunner`) and `tern-stun` (`BindingServer`), configured from
//! command-line flags.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tern_stun::{BindingServer, BindingServerConfig};
use tern_turn::{BandwidthLimit, IpNet, PeerPolicy, ServerConfig, ServerRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;

pub(crate) const TURN_USAGE: &str =
    "  turn-server  a TURN relay (RFC 8656) over UDP and TCP, until Ctrl-C or SIGTERM
             --listen ADDR          UDP (and TCP) listening address (default 127.0.0.1:3478)
             --relay-ip IP          address relay sockets bind on, one per family (default: the
                                    listening IP)
             --realm REALM          long-term credential realm (default tern)
             --user NAME:PASSWORD   a static user (repeatable)
             --rest-secret SECRET   accept TURN REST API users `expiry:name` (HMAC-SHA1 passwords)
             --relay-ports LO-HI    relay port range (default 49152-65535)
             --user-quota N         allocations per user (default 10; 486 beyond)
             --total-quota N        allocations in total (default 10000)
             --max-permissions N    permissions per allocation (default 256)
             --max-lifetime SECS    longest allocation lifetime granted (default 3600)
             --nonce-lifetime SECS  how long a nonce stays valid (default 600)
             --bandwidth BYTES/S    relayed-bytes limit per allocation (burst: one second)
             --allow-peer CIDR      relay to this prefix although it is special (repeatable)
             --deny-peer CIDR       never relay to this prefix (repeatable)
             --legacy-channels      accept RFC 5766 channel numbers 0x4000-0x7FFF
             --no-tcp               UDP only
             --sha256               offer the SHA-256 password algorithm before MD5 (RFC 8489)
             --stats SECS           print allocations and relayed/dropped counts every SECS
";

pub(crate) const STUN_USAGE: &str =
    "  stun-server  a STUN binding server (RFC 8489) over UDP and TCP, until Ctrl-C or SIGTERM
             --listen ADDR          listening address (default 127.0.0.1:3478)
             --mapped-address       also answer MAPPED-ADDRESS (for RFC 3489 clients)
             --no-tcp               UDP only
";

/// Flags taking a value, per command; everything else is a switch or an error.
const TURN_VALUED: &[&str] = &[
    "--listen",
    "--relay-ip",
    "--realm",
    "--user",
    "--rest-secret",
    "--relay-ports",
    "--user-quota",
    "--total-quota",
    "--max-permissions",
    "--max-lifetime",
    "--nonce-lifetime",
    "--bandwidth",
    "--allow-peer",
    "--deny-peer",
    "--stats",
];
const TURN_SWITCHES: &[&str] = &["--legacy-channels", "--no-tcp", "--sha256"];
const STUN_VALUED: &[&str] = &["--listen"];
const STUN_SWITCHES: &[&str] = &["--mapped-address", "--no-tcp"];

/// Parsed `--flag value` pairs and switches, in order, with unknown flags refused.
struct Flags<'a> {
    values: Vec<(&'a str, &'a str)>,
    switches: Vec<&'a str>,
}

impl<'a> Flags<'a> {
    fn parse(args: &'a [String], valued: &[&str], switches: &[&str]) -> Result<Flags<'a>, String> {
        let mut flags = Flags {
            values: Vec::new(),
            switches: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let arg = arg.as_str();
            if valued.contains(&arg) {
                let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
                flags.values.push((arg, value.as_str()));
            } else if switches.contains(&arg) {
                flags.switches.push(arg);
            } else {
                return Err(format!("unknown option `{arg}`"));
            }
        }
        Ok(flags)
    }

    /// The last value given for `name`.
    fn last(&self, name: &str) -> Option<&'a str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// Every value given for `name`, in order.
    fn all(&self, name: &str) -> impl Iterator<Item = &'a str> + '_ {
        let name = name.to_owned();
        self.values
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    fn has(&self, switch: &str) -> bool {
        self.switches.contains(&switch)
    }

    fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.last(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| format!("{name}: cannot parse `{v}`"))
            })
            .transpose()
    }
}

const DEFAULT_LISTEN: &str = "127.0.0.1:3478";

/// Builds the TURN server configuration and listening address from the command line.
/// What `tern turn-server` runs: the core's configuration, the listening address, whether TCP is
/// served, and how often to print counters.
struct TurnSetup {
    config: ServerConfig,
    listen: SocketAddr,
    tcp: bool,
    stats_every: Option<Duration>,
}

fn turn_config(args: &[String]) -> Result<TurnSetup, String> {
    let flags = Flags::parse(args, TURN_VALUED, TURN_SWITCHES)?;
    let listen: SocketAddr = flags
        .parsed("--listen")?
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 3478)));
    // One relay address per family (REQUESTED-ADDRESS-FAMILY picks); default: the listening IP.
    let mut relay_ips: Vec<IpAddr> = flags
        .all("--relay-ip")
        .map(|v| {
            v.parse::<IpAddr>()
                .map_err(|_| format!("--relay-ip: cannot parse `{v}`"))
        })
        .collect::<Result<_, _>>()?;
    if relay_ips.is_empty() {
        if listen.ip().is_unspecified() {
            return Err("--listen is a wildcard address: give --relay-ip (the address peers reach relays on)".into());
        }
        relay_ips.push(listen.ip());
    }
    if relay_ips.iter().any(IpAddr::is_unspecified) {
        return Err("--relay-ip must be a concrete address".into());
    }
    if relay_ips.iter().filter(|ip| ip.is_ipv4()).count() > 1
        || relay_ips.iter().filter(|ip| ip.is_ipv6()).count() > 1
    {
        return Err("--relay-ip: at most one IPv4 and one IPv6 address".into());
    }
    let first = *relay_ips.first().ok_or("no relay address")?;
    let mut config = ServerConfig::new(flags.last("--realm").unwrap_or("tern"), first);
    config.relay_ips = relay_ips;
    for user in flags.all("--user") {
        let (name, password) = user
            .split_once(':')
            .filter(|(name, _)| !name.is_empty())
            .ok_or_else(|| format!("--user takes NAME:PASSWORD, not `{user}`"))?;
        config.users.insert(name.to_owned(), password.to_owned());
    }
    config.rest_secret = flags.last("--rest-secret").map(str::to_owned);
    if flags.has("--sha256") {
        config = config.with_sha256();
    }
    if config.users.is_empty() && config.rest_secret.is_none() {
        return Err("no credentials: give --user NAME:PASSWORD or --rest-secret SECRET".into());
    }
    if let Some(range) = flags.last("--relay-ports") {
        let parsed = range
            .split_once('-')
            .and_then(|(lo, hi)| Some((lo.parse::<u16>().ok()?, hi.parse::<u16>().ok()?)))
            .filter(|(lo, hi)| *lo > 0 && lo <= hi);
        let (lo, hi) =
            parsed.ok_or_else(|| format!("--relay-ports takes LO-HI (1-65535), not `{range}`"))?;
        config.relay_ports = lo..=hi;
    }
    if let Some(n) = flags.parsed("--user-quota")? {
        config.user_quota = n;
    }
    if let Some(n) = flags.parsed("--total-quota")? {
        config.total_quota = n;
    }
    if let Some(n) = flags.parsed("--max-permissions")? {
        config.max_permissions = n;
    }
    if let Some(secs) = flags.parsed::<u64>("--max-lifetime")? {
        if secs < config.default_lifetime.as_secs() {
            config.default_lifetime = Duration::from_secs(secs);
        }
        config.max_lifetime = Duration::from_secs(secs);
    }
    if let Some(secs) = flags.parsed::<u64>("--nonce-lifetime")? {
        config.nonce_lifetime = Duration::from_secs(secs.max(1));
    }
    if let Some(rate) = flags.parsed::<u64>("--bandwidth")? {
        config.bandwidth = Some(BandwidthLimit {
            bytes_per_second: rate,
            burst_bytes: rate,
        });
    }
    let nets = |name: &str| -> Result<Vec<IpNet>, String> {
        flags
            .all(name)
            .map(|v| {
                v.parse::<IpNet>()
                    .map_err(|_| format!("{name} takes an address or CIDR prefix, not `{v}`"))
            })
            .collect()
    };
    config.peer_policy = PeerPolicy {
        allow: nets("--allow-peer")?,
        deny: nets("--deny-peer")?,
        ..PeerPolicy::default()
    };
    config.legacy_channel_range = flags.has("--legacy-channels");
    let stats_every = match flags.parsed::<f64>("--stats")? {
        Some(secs) if secs.is_finite() && secs >= 0.1 => Some(Duration::from_secs_f64(secs)),
        Some(_) => return Err("--stats takes a number of seconds ≥ 0.1".into()),
        None => None,
    };
    Ok(TurnSetup {
        config,
        listen,
        tcp: !flags.has("--no-tcp"),
        stats_every,
    })
}

/// `tern turn-server`.
pub(crate) async fn turn_server(args: &[String]) -> Result<(), String> {
    let TurnSetup {
        config,
        listen,
        tcp,
        stats_every,
    } = turn_config(args)?;
    let summary = format!(
        "realm \"{}\", relay {} ports {}-{}, {} static user(s){}, peers allowed beyond the default policy: [{}]",
        config.realm,
        config
            .relay_ips
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" + "),
        config.relay_ports.start(),
        config.relay_ports.end(),
        config.users.len(),
        if config.rest_secret.is_some() {
            " + REST API"
        } else {
            ""
        },
        config
            .peer_policy
            .allow
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    let runner = ServerRunner::bind(config, listen, tcp)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let transports = if tcp { "udp, tcp" } else { "udp" };
    // Tests and scripts read the bound address (the port may have been 0) from this line.
    println!(
        "tern turn-server: listening on {} ({transports}); {summary}",
        runner.local_addr()
    );
    runner
        .run_with_stats(shutdown_signal(), stats_every, |s| {
            println!(
                "tern turn-server: {} allocations, {} datagrams relayed to peers, {} to clients, {} dropped",
                s.allocations, s.relayed_to_peers, s.relayed_to_clients, s.dropped
            );
        })
        .await
        .map_err(|e| e.to_string())?;
    println!("tern turn-server: stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let sigterm = async {
        match term.as_mut() {
            Some(term) => {
                term.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = sigterm => {}
    }
}

/// Most TCP connections served at once by `tern stun-server`.
const STUN_MAX_TCP_CONNECTIONS: usize = 1024;
/// A TCP connection idle this long is closed.
const STUN_TCP_IDLE: Duration = Duration::from_secs(30);
/// RFC 8489 §5: the magic cookie.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// `tern stun-server`.
pub(crate) async fn stun_server(args: &[String]) -> Result<(), String> {
    let flags = Flags::parse(args, STUN_VALUED, STUN_SWITCHES)?;
    let listen: SocketAddr = flags.parsed("--listen")?.unwrap_or(
        DEFAULT_LISTEN
            .parse()
            .map_err(|_| "bad default listening address".to_owned())?,
    );
    let server = BindingServer::new(BindingServerConfig {
        software: Some(concat!("tern stun-server ", env!("CARGO_PKG_VERSION")).to_owned()),
        mapped_address: flags.has("--mapped-address"),
    });
    let udp = UdpSocket::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} (udp): {e}"))?;
    let local = udp.local_addr().map_err(|e| e.to_string())?;
    let tcp = if flags.has("--no-tcp") {
        None
    } else {
        Some(
            TcpListener::bind(local)
                .await
                .map_err(|e| format!("cannot listen on {local} (tcp): {e}"))?,
        )
    };
    let transports = if tcp.is_some() { "udp, tcp" } else { "udp" };
    println!("tern stun-server: listening on {local} ({transports})");
    let udp_task = serve_stun_udp(server.clone(), udp, local);
    let tcp_task = async {
        match tcp {
            Some(listener) => serve_stun_tcp(server.clone(), listener, local).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown_signal() => {}
        r = udp_task => r?,
        r = tcp_task => r?,
    }
    println!("tern stun-server: stopped");
    Ok(())
}

#[allow(clippy::disallowed_methods)] // the driver owns the clock
fn now() -> std::time::Instant {
    std::time::Instant::now()
}

/// The UDP run loop: receive → `handle_receive` → drain `poll_transmit`.
async fn serve_stun_udp(
    mut server: BindingServer,
    socket: UdpSocket,
    local: SocketAddr,
) -> Result<(), String> {
    let mut buf = vec![0u8; 65536];
    loop {
        // ICMP errors surface as receive errors on Linux: keep serving.
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        // Not STUN, or malformed: dropped (RFC 8489 §6.3).
        let _ = server.handle_receive(now(), local, from, buf.get(..n).unwrap_or_default());
        while let Some(t) = server.poll_transmit() {
            let _ = socket.send_to(&t.data, t.destination).await;
        }
    }
}

async fn serve_stun_tcp(
    server: BindingServer,
    listener: TcpListener,
    local: SocketAddr,
) -> Result<(), String> {
    let slots = Arc::new(Semaphore::new(STUN_MAX_TCP_CONNECTIONS));
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            continue;
        };
        // Over the limit: refuse by closing at once rather than queueing.
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let server = server.clone();
        tokio::spawn(async move {
            let _ = serve_stun_connection(server, stream, local, from).await;
            drop(permit);
        });
    }
}

/// One TCP connection: STUN messages back to back (RFC 8489 §6.2.2), framed by the header's
/// length field; anything that is not STUN closes the connection.
async fn serve_stun_connection(
    mut server: BindingServer,
    mut stream: TcpStream,
    local: SocketAddr,
    from: SocketAddr,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut message = Vec::with_capacity(512);
    loop {
        let mut header = [0u8; 20];
        match tokio::time::timeout(STUN_TCP_IDLE, stream.read_exact(&mut header)).await {
            Ok(Ok(_)) => {}
            _ => return Ok(()),
        }
        let [b0, _, l0, l1, c0, c1, c2, c3, ..] = header;
        // RFC 8489 §5: top two bits zero, the magic cookie, a length that is a multiple of 4.
        let length = usize::from(u16::from_be_bytes([l0, l1]));
        if b0 & 0xC0 != 0 || [c0, c1, c2, c3] != MAGIC_COOKIE || length % 4 != 0 {
            return Ok(());
        }
        message.clear();
        message.extend_from_slice(&header);
        message.resize(20 + length, 0);
        let body = message.get_mut(20..).unwrap_or_default();
        match tokio::time::timeout(STUN_TCP_IDLE, stream.read_exact(body)).await {
            Ok(Ok(_)) => {}
            _ => return Ok(()),
        }
        if server.handle_receive(now(), local, from, &message).is_err() {
            return Ok(());
        }
        while let Some(t) = server.poll_transmit() {
            stream.write_all(&t.data).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn turn_flags_build_the_config() {
        let TurnSetup { config, listen, tcp, stats_every } = turn_config(&args(
            "--listen 198.51.100.1:3479 --realm example.org --user alice:pw --user bob:p:w \
             --relay-ports 50000-50100 --user-quota 2 --total-quota 20 --max-lifetime 120 \
             --bandwidth 100000 --allow-peer 127.0.0.0/8 --deny-peer 203.0.113.0/24 --legacy-channels --no-tcp \
             --stats 2.5",
        ))
        .unwrap();
        assert_eq!(listen, "198.51.100.1:3479".parse().unwrap());
        assert!(!tcp);
        assert_eq!(stats_every, Some(Duration::from_millis(2500)));
        assert_eq!(config.realm, "example.org");
        assert_eq!(
            config.relay_ips,
            vec!["198.51.100.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(config.users.get("alice").map(String::as_str), Some("pw"));
        assert_eq!(config.users.get("bob").map(String::as_str), Some("p:w"));
        assert_eq!(config.relay_ports, 50000..=50100);
        assert_eq!((config.user_quota, config.total_quota), (2, 20));
        assert_eq!(config.max_lifetime, Duration::from_secs(120));
        assert_eq!(config.default_lifetime, Duration::from_secs(120));
        assert_eq!(config.bandwidth.unwrap().bytes_per_second, 100_000);
        assert!(config.legacy_channel_range);
        // The allow-list re-opens loopback; the deny list closes a public prefix; the rest of the
        // default policy stays.
        assert!(
            config
                .peer_policy
                .check("127.0.0.1".parse().unwrap())
                .is_ok()
        );
        assert!(
            config
                .peer_policy
                .check("203.0.113.9".parse().unwrap())
                .is_err()
        );
        assert!(
            config
                .peer_policy
                .check("10.0.0.1".parse().unwrap())
                .is_err()
        );
        assert!(
            config
                .peer_policy
                .check("192.0.2.200".parse().unwrap())
                .is_ok()
        );
    }

    #[test]
    fn turn_flags_refuse_bad_input() {
        for bad in [
            "--user alice:pw --bogus",
            "",                                                     // no credentials
            "--user nopassword",                                    // no colon
            "--user :pw",                                           // empty name
            "--user a:b --listen 0.0.0.0:3478",                     // wildcard without --relay-ip
            "--user a:b --relay-ip 0.0.0.0",                        // wildcard relay
            "--user a:b --relay-ip 192.0.2.1 --relay-ip 192.0.2.2", // two of one family
            "--user a:b --relay-ports 60000-50000",                 // inverted
            "--user a:b --relay-ports 0-10",                        // port 0
            "--user a:b --allow-peer 10.0.0.0/33",                  // bad prefix
            "--user a:b --user-quota many",                         // not a number
            "--user a:b --realm",                                   // missing value
        ] {
            assert!(turn_config(&args(bad)).is_err(), "accepted `{bad}`");
        }
        let TurnSetup {
            config,
            listen,
            tcp,
            stats_every,
        } = turn_config(&args(
            "--rest-secret s --listen 0.0.0.0:0 --relay-ip 192.0.2.1 --relay-ip 2001:db8::1",
        ))
        .unwrap();
        assert!(tcp);
        assert_eq!(stats_every, None);
        assert!(listen.ip().is_unspecified());
        assert_eq!(
            config.relay_ips,
            vec![
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "2001:db8::1".parse::<IpAddr>().unwrap()
            ]
        );
        assert_eq!(config.rest_secret.as_deref(), Some("s"));
        // Default: loopback is denied.
        assert!(
            config
                .peer_policy
                .check("127.0.0.1".parse().unwrap())
                .is_err()
        );
    }

    #[test]
    fn stun_flags() {
        assert!(
            Flags::parse(
                &args("--listen 127.0.0.1:0 --no-tcp --mapped-address"),
                STUN_VALUED,
                STUN_SWITCHES
            )
            .is_ok()
        );
        assert!(Flags::parse(&args("--user a:b"), STUN_VALUED, STUN_SWITCHES).is_err());
    }
}
