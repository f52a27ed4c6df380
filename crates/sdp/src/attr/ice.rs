//! ICE attributes (RFC 8839): `a=candidate`, `a=ice-ufrag`, `a=ice-pwd`, `a=ice-options`.

use std::fmt;
use std::net::IpAddr;

use super::{Fields, number, token};
use crate::attribute::AttributeValue;
use crate::error::{AttributeError, ParseError, excerpt};

/// A hostname as candidates carry them: 1 to 253 bytes of letters, digits, `-`, `_`, `.`, and
/// not all digits and dots (that would be a malformed IPv4 address).
fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// The connection address of a candidate: an IP address or, for mDNS-obfuscated host
/// candidates (`<uuid>.local`), a hostname.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateAddress {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A hostname (FQDN), typically an mDNS `.local` name.
    Hostname(String),
}

impl CandidateAddress {
    /// Parses an IP address or a hostname made of letters, digits, `-`, `_` and `.`
    /// (at most 253 bytes).
    pub fn parse(s: &str) -> Result<Self, AttributeError> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        if is_hostname(s) {
            Ok(Self::Hostname(s.to_owned()))
        } else {
            Err(AttributeError::BadValue("connection-address"))
        }
    }

    /// Whether this is an mDNS hostname (ends in `.local`), which must be resolved by mDNS
    /// before use.
    pub fn is_mdns(&self) -> bool {
        match self {
            Self::Ip(_) => false,
            Self::Hostname(h) => {
                h.len() > 6
                    && h.get(h.len() - 6..)
                        .is_some_and(|t| t.eq_ignore_ascii_case(".local"))
            }
        }
    }

    /// The IP address, if this is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Ip(ip) => Some(*ip),
            Self::Hostname(_) => None,
        }
    }
}

impl fmt::Display for CandidateAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Hostname(h) => f.write_str(h),
        }
    }
}

impl From<IpAddr> for CandidateAddress {
    fn from(ip: IpAddr) -> Self {
        Self::Ip(ip)
    }
}

/// The `typ` of a candidate, for matching; [`Candidate::kind`] keeps the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CandidateType {
    /// `host`
    Host,
    /// `srflx`
    ServerReflexive,
    /// `prflx`
    PeerReflexive,
    /// `relay`
    Relay,
    /// Any other token.
    Other,
}

/// An ICE candidate: `a=candidate:` (RFC 8839 §5.1), with the RFC 6544 `tcptype` and the
/// libwebrtc extensions `generation`, `ufrag`, `network-id`, `network-cost` typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// 1 to 32 ice-chars.
    pub foundation: String,
    /// 1 (RTP) to 256.
    pub component: u16,
    /// `udp`, `tcp`, … as written.
    pub transport: String,
    /// Priority.
    pub priority: u32,
    /// IP address or hostname.
    pub address: CandidateAddress,
    /// Port; 0 only for `tcptype active`.
    pub port: u16,
    /// The `typ` value as written: `host`, `srflx`, `prflx`, `relay`.
    pub kind: String,
    /// `raddr`.
    pub related_address: Option<CandidateAddress>,
    /// `rport`.
    pub related_port: Option<u16>,
    /// `tcptype` (RFC 6544): `active`, `passive` or `so`.
    pub tcp_type: Option<String>,
    /// `generation` (libwebrtc).
    pub generation: Option<u32>,
    /// `ufrag` (libwebrtc; the ICE username fragment this candidate belongs to).
    pub ufrag: Option<String>,
    /// `network-id` (libwebrtc).
    pub network_id: Option<u32>,
    /// `network-cost` (libwebrtc).
    pub network_cost: Option<u32>,
    /// Other `key value` extensions, in order.
    pub extensions: Vec<(String, String)>,
}

impl Candidate {
    /// Parses a candidate as trickled or written in SDP: `candidate:...`, `a=candidate:...` or
    /// the bare value; surrounding whitespace and a trailing CRLF are ignored.
    pub fn parse(text: &str) -> Result<Candidate, ParseError> {
        let t = text.trim();
        let t = t.strip_prefix("a=").unwrap_or(t);
        let v = t.strip_prefix("candidate:").unwrap_or(t);
        Self::parse_value(v).map_err(|error| ParseError::InvalidAttribute {
            line: 1,
            name: "candidate".to_owned(),
            error,
            text: excerpt(text),
        })
    }

    /// The candidate as a trickle string: `candidate:<value>` (what `RTCIceCandidate.candidate`
    /// holds).
    pub fn to_trickle_string(&self) -> String {
        format!("candidate:{self}")
    }

    /// The `typ` as an enum.
    pub fn candidate_type(&self) -> CandidateType {
        match self.kind.as_str() {
            "host" => CandidateType::Host,
            "srflx" => CandidateType::ServerReflexive,
            "prflx" => CandidateType::PeerReflexive,
            "relay" => CandidateType::Relay,
            _ => CandidateType::Other,
        }
    }

    /// Whether the transport is UDP (case-insensitive).
    pub fn is_udp(&self) -> bool {
        self.transport.eq_ignore_ascii_case("udp")
    }

    /// Whether the transport is TCP (case-insensitive).
    pub fn is_tcp(&self) -> bool {
        self.transport.eq_ignore_ascii_case("tcp")
    }
}

/// RFC 8839 §5.1 `ice-char`.
fn is_ice_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn ice_chars(s: &str, min: usize, max: usize, field: &'static str) -> Result<(), AttributeError> {
    if (min..=max).contains(&s.len()) && s.bytes().all(is_ice_char) {
        Ok(())
    } else {
        Err(AttributeError::BadValue(field))
    }
}

fn parse_port(s: &str, field: &'static str) -> Result<u16, AttributeError> {
    number::<u16>(s, field).map_err(|_| AttributeError::BadPort(field))
}

/// The fixed fields of a candidate, borrowed.
struct Head<'a> {
    foundation: &'a str,
    component: u16,
    transport: &'a str,
    priority: u32,
    address: &'a str,
    port: u16,
    kind: &'a str,
}

/// One `key value` extension, validated and borrowed.
enum Ext<'a> {
    RelatedAddress(&'a str),
    RelatedPort(u16),
    TcpType(&'a str),
    Generation(u32),
    Ufrag(&'a str),
    NetworkId(u32),
    NetworkCost(u32),
    Other(&'a str, &'a str),
}

/// Checks an address without allocating (see [`CandidateAddress::parse`]).
fn check_address(s: &str) -> Result<(), AttributeError> {
    if is_hostname(s) || s.parse::<IpAddr>().is_ok() {
        Ok(())
    } else {
        Err(AttributeError::BadValue("connection-address"))
    }
}

/// Walks the whole RFC 8839 §5.1 grammar without allocating; extensions go to `on_ext`.
fn candidate_fields<'a>(
    value: &'a str,
    mut on_ext: impl FnMut(Ext<'a>),
) -> Result<Head<'a>, AttributeError> {
    let mut f = Fields::new(value);
    // RFC 8839 §5.1: foundation = 1*32ice-char
    let foundation = f.need("foundation")?;
    ice_chars(foundation, 1, 32, "foundation")?;
    // RFC 8839 §5.1: component-id is a positive integer between 1 and 256
    let component: u16 = number(f.need("component-id")?, "component-id")?;
    if !(1..=256).contains(&component) {
        return Err(AttributeError::BadNumber("component-id"));
    }
    let transport = f.need("transport")?;
    token(transport, "transport")?;
    let priority: u32 = number(f.need("priority")?, "priority")?;
    let address = f.need("connection-address")?;
    check_address(address)?;
    let port = parse_port(f.need("port")?, "port")?;
    if !f.need("typ")?.eq_ignore_ascii_case("typ") {
        return Err(AttributeError::MissingField("typ"));
    }
    let kind = f.need("cand-type")?;
    token(kind, "cand-type")?;
    let mut tcp_active = false;
    // RFC 8839 §5.1: *(SP extension-att-name SP extension-att-value)
    while let Some(key) = f.next_opt() {
        let val = f.next_opt().ok_or(AttributeError::DanglingExtension)?;
        on_ext(match key {
            "raddr" => {
                check_address(val)?;
                Ext::RelatedAddress(val)
            }
            "rport" => Ext::RelatedPort(parse_port(val, "rport")?),
            "tcptype" => {
                // RFC 6544 §4.5: tcp-type = "active" / "passive" / "so"
                if !matches!(val, "active" | "passive" | "so") {
                    return Err(AttributeError::BadValue("tcptype"));
                }
                tcp_active = val == "active";
                Ext::TcpType(val)
            }
            "generation" => Ext::Generation(number(val, "generation")?),
            "ufrag" => Ext::Ufrag(val),
            "network-id" => Ext::NetworkId(number(val, "network-id")?),
            "network-cost" => Ext::NetworkCost(number(val, "network-cost")?),
            _ => {
                token(key, "extension-att-name")?;
                Ext::Other(key, val)
            }
        });
    }
    // Port 0 cannot be connected to; only an active TCP candidate (which never receives
    // connections) may carry it (RFC 6544 §4.5 uses 9, some stacks 0).
    if port == 0 && !tcp_active {
        return Err(AttributeError::BadPort("port"));
    }
    Ok(Head {
        foundation,
        component,
        transport,
        priority,
        address,
        port,
        kind,
    })
}

impl AttributeValue for Candidate {
    const NAME: &'static str = "candidate";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut exts = Vec::new();
        let head = candidate_fields(value, |e| exts.push(e))?;
        let mut c = Candidate {
            foundation: head.foundation.to_owned(),
            component: head.component,
            transport: head.transport.to_owned(),
            priority: head.priority,
            address: CandidateAddress::parse(head.address)?,
            port: head.port,
            kind: head.kind.to_owned(),
            related_address: None,
            related_port: None,
            tcp_type: None,
            generation: None,
            ufrag: None,
            network_id: None,
            network_cost: None,
            extensions: Vec::new(),
        };
        for e in exts {
            match e {
                Ext::RelatedAddress(a) => c.related_address = Some(CandidateAddress::parse(a)?),
                Ext::RelatedPort(p) => c.related_port = Some(p),
                Ext::TcpType(t) => c.tcp_type = Some(t.to_owned()),
                Ext::Generation(g) => c.generation = Some(g),
                Ext::Ufrag(u) => c.ufrag = Some(u.to_owned()),
                Ext::NetworkId(n) => c.network_id = Some(n),
                Ext::NetworkCost(n) => c.network_cost = Some(n),
                Ext::Other(k, v) => c.extensions.push((k.to_owned(), v.to_owned())),
            }
        }
        Ok(c)
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.transport,
            self.priority,
            self.address,
            self.port,
            self.kind
        )?;
        if let Some(a) = &self.related_address {
            write!(f, " raddr {a}")?;
        }
        if let Some(p) = self.related_port {
            write!(f, " rport {p}")?;
        }
        if let Some(t) = &self.tcp_type {
            write!(f, " tcptype {t}")?;
        }
        if let Some(g) = self.generation {
            write!(f, " generation {g}")?;
        }
        if let Some(u) = &self.ufrag {
            write!(f, " ufrag {u}")?;
        }
        if let Some(n) = self.network_id {
            write!(f, " network-id {n}")?;
        }
        if let Some(n) = self.network_cost {
            write!(f, " network-cost {n}")?;
        }
        for (k, v) in &self.extensions {
            write!(f, " {k} {v}")?;
        }
        Ok(())
    }
}

pub(crate) fn check_candidate(v: &str) -> Result<(), AttributeError> {
    candidate_fields(v, |_| {}).map(|_| ())
}

/// RFC 8839 §5.4: ice-ufrag is 4 to 256 ice-chars.
pub(crate) fn check_ufrag(v: &str) -> Result<(), AttributeError> {
    ice_chars(v, 4, 256, "ice-ufrag")
}

/// RFC 8839 §5.4: ice-pwd is 22 to 256 ice-chars.
pub(crate) fn check_pwd(v: &str) -> Result<(), AttributeError> {
    ice_chars(v, 22, 256, "ice-pwd")
}

/// `a=ice-options:` (RFC 8839 §5.6): space-separated option tags such as `trickle`,
/// `ice2`, `renomination`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct IceOptions(pub Vec<String>);

impl IceOptions {
    /// Whether `option` is listed.
    pub fn contains(&self, option: &str) -> bool {
        self.0.iter().any(|o| o == option)
    }
}

impl AttributeValue for IceOptions {
    const NAME: &'static str = "ice-options";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut out = Vec::new();
        // RFC 8839 §5.6 separates tags with SP; libdatachannel writes `ice2,trickle`, so a
        // comma separates too (a comma is not an ice-char, so no tag is split wrongly).
        for o in value.split([' ', '\t', ',']).filter(|o| !o.is_empty()) {
            // RFC 8839 §5.6 says 1*ice-char; tags in use ("google-ice") hold '-', so any
            // token is accepted.
            token(o, "ice-option-tag")?;
            out.push(o.to_owned());
        }
        if out.is_empty() {
            return Err(AttributeError::MissingField("ice-option-tag"));
        }
        Ok(Self(out))
    }
}

impl fmt::Display for IceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}
