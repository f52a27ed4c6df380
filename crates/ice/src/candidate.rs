//! Candidates: kinds, priorities (RFC 8445 §5.1.2), and the SDP `candidate` attribute value
//! (RFC 8839 §5.1).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::error::IceError;

/// The candidate type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateKind {
    /// An address on a local interface.
    Host,
    /// The address a NAT mapped us to, learnt from a STUN server.
    ServerReflexive,
    /// An address learnt from a connectivity check.
    PeerReflexive,
    /// An address on a TURN server.
    Relayed,
}

impl CandidateKind {
    /// The recommended type preference (RFC 8445 §5.1.2.2).
    pub fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relayed => 0,
        }
    }

    /// The SDP `typ` token.
    pub fn as_sdp(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::Relayed => "relay",
        }
    }
}

/// The transport of a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportProtocol {
    /// UDP.
    Udp,
    /// TCP (RFC 6544); parsed and kept, not paired by this agent.
    Tcp,
}

/// The TCP candidate type (RFC 6544 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType {
    /// Opens connections.
    Active,
    /// Accepts connections.
    Passive,
    /// Simultaneous open.
    SimultaneousOpen,
}

/// An ICE candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Foundation: equal for candidates of the same type, base IP, server and transport.
    pub foundation: String,
    /// Component id (1 = RTP, or everything with rtcp-mux).
    pub component: u16,
    /// Transport protocol.
    pub transport: TransportProtocol,
    /// Priority (RFC 8445 §5.1.2.1).
    pub priority: u32,
    /// Transport address.
    pub address: SocketAddr,
    /// Candidate type.
    pub kind: CandidateKind,
    /// `raddr`/`rport`: the base of a reflexive candidate, the mapped address of a relayed one.
    pub related_address: Option<SocketAddr>,
    /// TCP candidate type, for TCP candidates.
    pub tcp_type: Option<TcpType>,
}

/// Priority formula (RFC 8445 §5.1.2.1):
/// `2^24 * type preference + 2^8 * local preference + (256 - component id)`.
pub fn candidate_priority(kind: CandidateKind, local_preference: u16, component: u16) -> u32 {
    (kind.type_preference() << 24)
        + (u32::from(local_preference) << 8)
        + (256u32.saturating_sub(u32::from(component.min(256))))
}

impl Candidate {
    /// A host candidate with the highest local preference and foundation "1"; the agent
    /// assigns the real foundation and preference when the candidate is added.
    pub fn host(address: SocketAddr, component: u16) -> Candidate {
        Candidate {
            foundation: "1".to_owned(),
            component,
            transport: TransportProtocol::Udp,
            priority: candidate_priority(CandidateKind::Host, 65535, component),
            address,
            kind: CandidateKind::Host,
            related_address: None,
            tcp_type: None,
        }
    }

    /// The SDP attribute value without `a=`:
    /// `candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host`.
    pub fn to_sdp_value(&self) -> String {
        let mut s = String::with_capacity(80);
        let transport = match self.transport {
            TransportProtocol::Udp => "udp",
            TransportProtocol::Tcp => "tcp",
        };
        let _ = write!(
            s,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            transport,
            self.priority,
            self.address.ip(),
            self.address.port(),
            self.kind.as_sdp()
        );
        if let Some(r) = self.related_address {
            let _ = write!(s, " raddr {} rport {}", r.ip(), r.port());
        }
        if let Some(t) = self.tcp_type {
            let t = match t {
                TcpType::Active => "active",
                TcpType::Passive => "passive",
                TcpType::SimultaneousOpen => "so",
            };
            let _ = write!(s, " tcptype {t}");
        }
        s
    }

    /// Parses an SDP candidate value, with or without the `a=` and `candidate:` prefixes.
    /// Unknown extension attributes (`generation`, `ufrag`, `network-id`, ...) are ignored.
    /// A `.local` mDNS hostname gives [`IceError::UnresolvedMdnsCandidate`].
    pub fn from_sdp_value(value: &str) -> Result<Candidate, IceError> {
        Candidate::from_sdp_value_resolving(value, |_| None)
    }

    /// Like [`from_sdp_value`](Self::from_sdp_value), with a resolver hook for mDNS `.local`
    /// hostnames (draft-ietf-mmusic-mdns-ice-candidates): the application answers from its
    /// mDNS cache or resolver; `None` leaves the candidate unresolved.
    pub fn from_sdp_value_resolving<F>(value: &str, resolve: F) -> Result<Candidate, IceError>
    where
        F: FnOnce(&str) -> Option<IpAddr>,
    {
        let invalid = |reason| IceError::InvalidCandidate { reason };
        let value = value.trim();
        let value = value.strip_prefix("a=").unwrap_or(value);
        let value = value.strip_prefix("candidate:").unwrap_or(value);
        let mut it = value.split_ascii_whitespace();
        let foundation = it.next().ok_or(invalid("missing foundation"))?;
        if foundation.is_empty() || foundation.len() > 32 {
            return Err(invalid("foundation length"));
        }
        let component: u16 = it
            .next()
            .and_then(|c| c.parse().ok())
            .ok_or(invalid("bad component"))?;
        let transport = match it.next().map(str::to_ascii_lowercase).as_deref() {
            Some("udp") => TransportProtocol::Udp,
            Some("tcp") => TransportProtocol::Tcp,
            _ => return Err(invalid("unknown transport")),
        };
        let priority: u32 = it
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(invalid("bad priority"))?;
        let host = it.next().ok_or(invalid("missing address"))?;
        let port: u16 = it
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(invalid("bad port"))?;
        let ip: IpAddr = match host.parse() {
            Ok(ip) => ip,
            Err(_) if host.ends_with(".local") => match resolve(host) {
                Some(ip) => ip,
                None => {
                    return Err(IceError::UnresolvedMdnsCandidate {
                        hostname: host.to_owned(),
                    });
                }
            },
            Err(_) => return Err(invalid("address is not an IP literal")),
        };
        if it.next() != Some("typ") {
            return Err(invalid("missing typ"));
        }
        let kind = match it.next() {
            Some("host") => CandidateKind::Host,
            Some("srflx") => CandidateKind::ServerReflexive,
            Some("prflx") => CandidateKind::PeerReflexive,
            Some("relay") => CandidateKind::Relayed,
            _ => return Err(invalid("unknown candidate type")),
        };
        let mut raddr: Option<IpAddr> = None;
        let mut rport: Option<u16> = None;
        let mut tcp_type = None;
        while let Some(key) = it.next() {
            let Some(val) = it.next() else { break };
            match key {
                "raddr" => raddr = val.parse().ok(),
                "rport" => rport = val.parse().ok(),
                "tcptype" => {
                    tcp_type = match val {
                        "active" => Some(TcpType::Active),
                        "passive" => Some(TcpType::Passive),
                        "so" => Some(TcpType::SimultaneousOpen),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        Ok(Candidate {
            foundation: foundation.to_owned(),
            component,
            transport,
            priority,
            address: SocketAddr::new(ip, port),
            kind,
            related_address: raddr.zip(rport).map(|(ip, port)| SocketAddr::new(ip, port)),
            tcp_type,
        })
    }
}

/// Why an address can never be a useful remote candidate (RFC 8445 §5.1.1.1, §19.5.1 on not
/// directing checks at third parties): `None` when usable.
pub(crate) fn unusable_reason(address: SocketAddr) -> Option<&'static str> {
    if address.port() == 0 {
        return Some("port 0");
    }
    match address.ip() {
        IpAddr::V4(ip) => {
            if ip.is_unspecified() {
                Some("unspecified address")
            } else if ip.is_multicast() {
                Some("multicast address")
            } else if ip.is_broadcast() {
                Some("broadcast address")
            } else {
                None
            }
        }
        IpAddr::V6(ip) => {
            if ip.is_unspecified() {
                Some("unspecified address")
            } else if ip.is_multicast() {
                Some("multicast address")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_priority_and_sdp() {
        let c = Candidate::host("127.0.0.1:5000".parse().unwrap(), 1);
        assert_eq!(c.priority, 2130706431);
        assert_eq!(
            c.to_sdp_value(),
            "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"
        );
        assert_eq!(Candidate::from_sdp_value(&c.to_sdp_value()).unwrap(), c);
    }

    #[test]
    fn parses_chromium_candidates() {
        let c = Candidate::from_sdp_value(
            "a=candidate:2437072876 1 udp 2122260223 127.0.0.1 47853 typ host generation 0 ufrag 8Dpf network-id 1",
        )
        .unwrap();
        assert_eq!(c.address, "127.0.0.1:47853".parse().unwrap());
        assert_eq!(c.foundation, "2437072876");
        let s = Candidate::from_sdp_value(
            "candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 10.0.0.2 rport 61234 generation 0",
        )
        .unwrap();
        assert_eq!(s.kind, CandidateKind::ServerReflexive);
        assert_eq!(s.related_address, Some("10.0.0.2:61234".parse().unwrap()));
        assert!(s.to_sdp_value().contains("raddr 10.0.0.2 rport 61234"));
        let t = Candidate::from_sdp_value(
            "candidate:1 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
        )
        .unwrap();
        assert_eq!(t.tcp_type, Some(TcpType::Active));
        assert!(matches!(
            Candidate::from_sdp_value(
                "candidate:1 1 udp 2122260223 0f4e4b1c-3a7e-4d5e-9b9a-7c1a2b3c4d5e.local 5555 typ host"
            ),
            Err(IceError::UnresolvedMdnsCandidate { .. })
        ));
        let mdns =
            "candidate:1 1 udp 2122260223 0f4e4b1c-3a7e-4d5e-9b9a-7c1a2b3c4d5e.local 5555 typ host";
        let resolved = Candidate::from_sdp_value_resolving(mdns, |h| {
            assert!(h.ends_with(".local"));
            Some("192.168.1.20".parse().unwrap())
        })
        .unwrap();
        assert_eq!(resolved.address, "192.168.1.20:5555".parse().unwrap());
        for bad in [
            "",
            "candidate:",
            "candidate:1 x udp 1 1.2.3.4 5 typ host",
            "candidate:1 1 sctp 1 1.2.3.4 5 typ host",
            "candidate:1 1 udp 1 1.2.3.4 5 typ nope",
            "candidate:1 1 udp 1 1.2.3.4 5",
        ] {
            assert!(Candidate::from_sdp_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn priorities_follow_rfc8445() {
        assert_eq!(
            candidate_priority(CandidateKind::PeerReflexive, 65535, 1),
            (110 << 24) + (65535 << 8) + 255
        );
        assert!(
            candidate_priority(CandidateKind::Host, 0, 1)
                > candidate_priority(CandidateKind::ServerReflexive, 65535, 1)
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn kind() -> impl Strategy<Value = CandidateKind> {
        prop_oneof![
            Just(CandidateKind::Host),
            Just(CandidateKind::ServerReflexive),
            Just(CandidateKind::PeerReflexive),
            Just(CandidateKind::Relayed),
        ]
    }

    proptest! {
        /// parse(emit(c)) == c for every candidate we can emit.
        #[test]
        fn sdp_round_trip(
            foundation in "[a-zA-Z0-9+/]{1,32}",
            component in 1u16..=256,
            priority in any::<u32>(),
            addr in any::<SocketAddr>(),
            kind in kind(),
            related in proptest::option::of(any::<SocketAddr>()),
            tcp in any::<bool>(),
        ) {
            let c = Candidate {
                foundation,
                component,
                transport: if tcp { TransportProtocol::Tcp } else { TransportProtocol::Udp },
                priority,
                address: addr,
                kind,
                related_address: related,
                tcp_type: tcp.then_some(TcpType::Passive),
            };
            let mut expected = c.clone();
            // SDP carries no IPv6 flow info or scope id.
            fn strip(a: SocketAddr) -> SocketAddr {
                SocketAddr::new(a.ip(), a.port())
            }
            expected.address = strip(expected.address);
            expected.related_address = expected.related_address.map(strip);
            prop_assert_eq!(Candidate::from_sdp_value(&c.to_sdp_value()).unwrap(), expected);
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn parse_never_panics(s in ".{0,200}") {
            let _ = Candidate::from_sdp_value(&s);
        }
    }
}
