//! W3C `RTCIceServer` URLs (RFC 7064 `stun:`, RFC 7065 `turn:`/`turns:`) → the ICE agent's STUN
//! and TURN servers. The sans-IO core takes IP literals only; the tokio driver resolves host names
//! first. A `turns:` server is a TCP server to the agent: whoever owns its TCP connection wraps it
//! in TLS (the tokio driver does, verifying the certificate against the URL's host).

use crate::{Error, IceServer};
use std::net::{IpAddr, SocketAddr};
use tern_ice::{TransportProtocol, TurnServer};

/// RFC 7064 §3.1 / RFC 7065 §3.1: without a port, STUN and TURN over UDP/TCP use 3478…
const DEFAULT_PORT: u16 = 3478;
/// …and TURN over TLS (`turns:`) 5349.
const DEFAULT_TLS_PORT: u16 = 5349;

/// The STUN and TURN servers of a W3C `iceServers` list.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Servers {
    pub stun: Vec<SocketAddr>,
    pub turn: Vec<TurnServer>,
    /// The `turns:` servers among `turn` (TCP to the agent, TLS on the wire).
    pub tls: Vec<SocketAddr>,
}

/// Whether a URL asks for STUN or TURN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    Stun,
    Turn,
}

/// A parsed URL: scheme, host (an IP literal or a name), port, transport to the server.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Url<'a> {
    pub scheme: Scheme,
    pub host: &'a str,
    pub port: u16,
    pub transport: TransportProtocol,
    /// `turns:`: the TCP connection carries TLS (RFC 7065 §3).
    pub tls: bool,
}

fn invalid(url: &str, reason: &'static str) -> Error {
    Error::IceServer {
        url: url.chars().take(200).collect(),
        reason,
    }
}

/// Parses `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]` and
/// `turns:host[:port][?transport=tcp]`; `host` may be a bracketed IPv6 literal. `stuns:` and
/// `turns:…?transport=udp` (STUN over TLS, TURN over DTLS) are refused.
pub(crate) fn parse_url(url: &str) -> Result<Url<'_>, Error> {
    let (scheme, tls, rest) = match url.split_once(':') {
        Some((s, rest)) if s.eq_ignore_ascii_case("stun") => (Scheme::Stun, false, rest),
        Some((s, rest)) if s.eq_ignore_ascii_case("turn") => (Scheme::Turn, false, rest),
        Some((s, rest)) if s.eq_ignore_ascii_case("turns") => (Scheme::Turn, true, rest),
        Some((s, _)) if s.eq_ignore_ascii_case("stuns") => {
            return Err(invalid(url, "stuns: (STUN over TLS) is not supported"));
        }
        _ => return Err(invalid(url, "the scheme must be stun:, turn: or turns:")),
    };
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    // RFC 7065 §3: without `?transport=`, turn: means UDP and turns: TCP (TLS over TCP).
    let mut transport = if tls {
        TransportProtocol::Tcp
    } else {
        TransportProtocol::Udp
    };
    if let Some(query) = query {
        // RFC 7065 §3.1: turnURI = … [ "?transport=" transport ].
        match (scheme, query.strip_prefix("transport=")) {
            (Scheme::Turn, Some(t)) if t.eq_ignore_ascii_case("udp") && tls => {
                return Err(invalid(
                    url,
                    "turns: over UDP (TURN over DTLS) is not supported",
                ));
            }
            (Scheme::Turn, Some(t)) if t.eq_ignore_ascii_case("udp") => {}
            (Scheme::Turn, Some(t)) if t.eq_ignore_ascii_case("tcp") => {
                transport = TransportProtocol::Tcp;
            }
            _ => {
                return Err(invalid(
                    url,
                    "unknown query (only ?transport=udp or ?transport=tcp)",
                ));
            }
        }
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| invalid(url, "unterminated IPv6 literal"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| invalid(url, "junk after the IPv6 literal"))?,
            ),
        };
        (host, port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(invalid(url, "no host"));
    }
    let port = match port {
        None if tls => DEFAULT_TLS_PORT,
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => return Err(invalid(url, "the port must be 1..=65535")),
        },
    };
    Ok(Url {
        scheme,
        host,
        port,
        transport,
        tls,
    })
}

/// `url` with its host replaced by `address` (what a resolver found for it), query kept.
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub(crate) fn with_address(url: &str, address: SocketAddr) -> String {
    let scheme = url.split_once(':').map_or("", |(s, _)| s);
    let query = url
        .split_once('?')
        .map_or(String::new(), |(_, q)| format!("?{q}"));
    format!("{scheme}:{address}{query}")
}

/// The agent's servers for a W3C `iceServers` list. Hosts must be IP literals here.
pub(crate) fn servers(list: &[IceServer]) -> Result<Servers, Error> {
    let mut out = Servers::default();
    for server in list {
        for url in &server.urls {
            let parsed = parse_url(url)?;
            let ip: IpAddr = parsed.host.parse().map_err(|_| {
                invalid(url, "the host must be an IP address (resolve names first)")
            })?;
            let address = SocketAddr::new(ip, parsed.port);
            match parsed.scheme {
                Scheme::Stun => out.stun.push(address),
                Scheme::Turn => {
                    // W3C setConfiguration: a turn: URL without username and credential is an
                    // InvalidAccessError.
                    let (Some(username), Some(credential)) = (&server.username, &server.credential)
                    else {
                        return Err(invalid(url, "a TURN server needs username and credential"));
                    };
                    if parsed.tls {
                        out.tls.push(address);
                    }
                    out.turn.push(match parsed.transport {
                        TransportProtocol::Tcp => TurnServer::tcp(address, username, credential),
                        TransportProtocol::Udp => TurnServer::new(address, username, credential),
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(urls: &[&str], credentials: bool) -> IceServer {
        IceServer {
            urls: urls.iter().map(|u| u.to_string()).collect(),
            username: credentials.then(|| "u".to_string()),
            credential: credentials.then(|| "p".to_string()),
        }
    }

    #[test]
    fn stun_and_turn_urls_with_and_without_ports() {
        let parsed = servers(&[
            server(&["stun:127.0.0.1", "stun:[::1]:3479"], false),
            server(
                &[
                    "turn:127.0.0.1:5349?transport=udp",
                    "TURN:[2001:db8::1]",
                    "turn:127.0.0.1:3479?transport=TCP",
                ],
                true,
            ),
        ])
        .unwrap();
        assert_eq!(
            parsed.stun,
            vec![
                "127.0.0.1:3478".parse().unwrap(),
                "[::1]:3479".parse().unwrap()
            ]
        );
        assert_eq!(
            parsed.turn,
            vec![
                TurnServer::new("127.0.0.1:5349".parse().unwrap(), "u", "p"),
                TurnServer::new("[2001:db8::1]:3478".parse().unwrap(), "u", "p"),
                TurnServer::tcp("127.0.0.1:3479".parse().unwrap(), "u", "p"),
            ]
        );
    }

    #[test]
    fn resolved_urls_keep_scheme_port_and_query() {
        assert_eq!(
            with_address(
                "turn:turn.example.org:3479?transport=udp",
                "192.0.2.1:3479".parse().unwrap()
            ),
            "turn:192.0.2.1:3479?transport=udp"
        );
        assert_eq!(
            with_address(
                "stun:stun.example.org",
                "[2001:db8::1]:3478".parse().unwrap()
            ),
            "stun:[2001:db8::1]:3478"
        );
    }

    #[test]
    fn host_names_parse_but_need_resolving() {
        let url = parse_url("turn:turn.example.org:3478").unwrap();
        assert_eq!(url.host, "turn.example.org");
        assert_eq!(
            parse_url("turn:turn.example.org?transport=tcp")
                .unwrap()
                .transport,
            TransportProtocol::Tcp
        );
        assert!(matches!(
            servers(&[server(&["turn:turn.example.org"], true)]),
            Err(Error::IceServer { .. })
        ));
    }

    #[test]
    fn turns_urls_are_tcp_servers_marked_tls_on_5349_by_default() {
        let url = parse_url("turns:turn.example.org").unwrap();
        assert_eq!(
            (url.host, url.port, url.transport, url.tls),
            ("turn.example.org", 5349, TransportProtocol::Tcp, true)
        );
        let url = parse_url("TURNS:[2001:db8::1]:443?transport=tcp").unwrap();
        assert_eq!(
            (url.host, url.port, url.transport, url.tls),
            ("2001:db8::1", 443, TransportProtocol::Tcp, true)
        );
        assert!(!parse_url("turn:127.0.0.1?transport=tcp").unwrap().tls);
        let parsed = servers(&[server(&["turns:127.0.0.1", "turns:[::1]:443"], true)]).unwrap();
        assert_eq!(
            parsed.turn,
            vec![
                TurnServer::tcp("127.0.0.1:5349".parse().unwrap(), "u", "p"),
                TurnServer::tcp("[::1]:443".parse().unwrap(), "u", "p"),
            ]
        );
        assert_eq!(
            parsed.tls,
            vec![
                "127.0.0.1:5349".parse().unwrap(),
                "[::1]:443".parse().unwrap()
            ]
        );
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        for (url, credentials) in [
            ("turn:127.0.0.1", false),
            ("turns:127.0.0.1?transport=udp", true),
            ("turn:127.0.0.1?transport=tls", true),
            ("turn:127.0.0.1?transport=", true),
            ("turn:127.0.0.1?foo=tcp", true),
            ("stun:127.0.0.1?transport=tcp", false),
            ("turns:127.0.0.1?transport=tls", true),
            ("turns:127.0.0.1", false),
            ("stuns:127.0.0.1", false),
            ("stun:127.0.0.1?transport=udp", false),
            ("http://127.0.0.1", false),
            ("stun:", false),
            ("stun:127.0.0.1:0", false),
            ("stun:127.0.0.1:70000", false),
            ("stun:[::1", false),
            ("stun:[::1]x", false),
        ] {
            let err = servers(&[server(&[url], credentials)]).unwrap_err();
            assert!(matches!(err, Error::IceServer { .. }), "{url}: {err}");
        }
    }
}
