//! A minimal mDNS (RFC 6762) resolver and responder for `.local` ICE candidates
//! (draft-ietf-mmusic-mdns-ice-candidates), used by the tokio driver only and only when asked
//! ([`RtcConfig::mdns_resolve`](crate::RtcConfig::mdns_resolve),
//! [`RtcConfig::mdns_host_candidates`](crate::RtcConfig::mdns_host_candidates)).
//!
//! - The wire half ([`parse`], [`query`], [`response`]) is a bounded, panic-free codec for the
//!   few DNS messages involved: A/AAAA questions and answers. Packets above [`MAX_PACKET`]
//!   bytes, more than [`MAX_QUESTIONS`] questions or [`MAX_RECORDS`] records, names longer than
//!   255 bytes and compression pointers that do not point strictly backwards (or chain more than
//!   [`MAX_POINTERS`] times) are refused with a typed [`MdnsError`].
//! - The resolver listens on port 5353 (shared) on the interface of the connection's own IPv4
//!   address and asks there: one question per message (A, then AAAA), ID 0, no unicast-response
//!   bit, retransmitted after 1 and 2 s; the first multicast (or unicast) answer naming the host
//!   wins and is cached for its TTL ([`Cache`], bounded). That is the query Chromium's responder
//!   answers (it ignores multi-question queries and unicast-response questions; see
//!   `net::resolve`). If 5353 cannot be shared it falls back to a legacy one-shot query from
//!   an ephemeral port (RFC 6762 §6.7).
//! - The responder owns names of the form `<uuid-v4>.local`, one per host IP, and answers
//!   questions about exactly those names on port 5353 (group 224.0.0.251 joined on the
//!   interfaces of the host IPs, `SO_REUSEADDR`/`SO_REUSEPORT` so it shares the port with other
//!   responders): A/AAAA/ANY with the addresses plus an NSEC record of the types the name has,
//!   any other type with that NSEC record alone (a negative answer, RFC 6762 §6.1). Multicast
//!   queries get multicast answers, unicast-response questions and legacy queries unicast ones.
//!   The names die with the connection's task.
//!
//! Not implemented: IPv6 multicast transport (`[ff02::fb]:5353`; AAAA records are still asked
//! and answered over IPv4), probing and announcing (RFC 6762 §8: a random 122-bit name does not
//! conflict), goodbye packets, known-answer suppression.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

/// The mDNS IPv4 group and port (RFC 6762 §3).
pub const MDNS_V4: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 251), 5353);
/// The largest mDNS message we read or build (RFC 6762 §17: 9000 bytes).
pub const MAX_PACKET: usize = 9000;
/// Questions read from one message.
pub const MAX_QUESTIONS: usize = 32;
/// Resource records (answer + authority + additional) read from one message.
pub const MAX_RECORDS: usize = 64;
/// Compression pointers followed within one name.
pub const MAX_POINTERS: usize = 16;
/// Names the resolver cache holds.
pub const MAX_CACHE: usize = 256;
/// Resolutions one connection runs at once; more `.local` candidates are refused.
pub const MAX_PENDING: usize = 16;
/// Candidates waiting for those resolutions; more are refused.
pub const MAX_WAITING: usize = 64;
/// How long the resolver waits for an answer.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);
/// The TTL of our answers (RFC 6762 §10: 120 s for records with a host name).
pub const ANSWER_TTL: u32 = 120;
/// Cache lifetime is capped whatever TTL an answer claims.
const MAX_TTL: u32 = 3600;

/// Record type A (an IPv4 address).
pub const TYPE_A: u16 = 1;
/// Record type AAAA (an IPv6 address).
pub const TYPE_AAAA: u16 = 28;
/// Record type NSEC (RFC 6762 §6.1: which types a name has, in negative answers).
pub const TYPE_NSEC: u16 = 47;
/// Question type ANY.
pub const TYPE_ANY: u16 = 255;
const CLASS_IN: u16 = 1;
/// RFC 6762 §5.4: the top bit of a question's class asks for a unicast response.
const UNICAST_RESPONSE: u16 = 0x8000;
/// RFC 6762 §10.2: the top bit of a record's class is the cache-flush bit.
const CACHE_FLUSH: u16 = 0x8000;

/// Why an mDNS message was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MdnsError {
    /// The message ends inside a field.
    #[error("truncated mDNS message at byte {at}")]
    Truncated {
        /// Where the missing field starts.
        at: usize,
    },
    /// Larger than [`MAX_PACKET`].
    #[error("mDNS message of {len} bytes is over {MAX_PACKET}")]
    Oversized {
        /// Its length.
        len: usize,
    },
    /// More questions or records than the bounds.
    #[error("mDNS message claims {count} entries, over the bound")]
    TooManyEntries {
        /// The count claimed.
        count: usize,
    },
    /// A compression pointer that does not point backwards, or too many of them.
    #[error("mDNS name compression pointer loop at byte {at}")]
    PointerLoop {
        /// Where the pointer is.
        at: usize,
    },
    /// A name over 255 bytes, or a reserved label type.
    #[error("bad mDNS name at byte {at}")]
    BadName {
        /// Where the label is.
        at: usize,
    },
    /// A name we cannot put in a message (a label over 63 bytes or empty).
    #[error("name {0:?} cannot be encoded")]
    Unencodable(String),
    /// No answer before the timeout, or the socket could not be used.
    #[error("mDNS resolution of {name} failed: {reason}")]
    Unresolved {
        /// The name asked.
        name: String,
        /// Timeout or the socket error.
        reason: String,
    },
}

/// One question: a name (lowercase, no trailing dot) and a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The name asked.
    pub name: String,
    /// Record type (1 = A, 28 = AAAA, …).
    pub qtype: u16,
    /// The unicast-response bit (RFC 6762 §5.4).
    pub unicast: bool,
}

/// One address record (A or AAAA); other record types are skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The owner name (lowercase, no trailing dot).
    pub name: String,
    /// The address.
    pub address: IpAddr,
    /// Seconds it may be cached.
    pub ttl: u32,
}

/// A parsed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Query ID (0 in multicast mDNS; copied from a legacy unicast query).
    pub id: u16,
    /// The QR bit.
    pub response: bool,
    /// The questions.
    pub questions: Vec<Question>,
    /// The A/AAAA records of every section.
    pub records: Vec<Record>,
}

struct Reader<'a> {
    packet: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], MdnsError> {
        let bytes = self
            .packet
            .get(self.at..self.at.saturating_add(n))
            .ok_or(MdnsError::Truncated { at: self.at })?;
        self.at += n;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, MdnsError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([
            *b.first().unwrap_or(&0),
            *b.get(1).unwrap_or(&0),
        ]))
    }

    fn u32(&mut self) -> Result<u32, MdnsError> {
        Ok((u32::from(self.u16()?) << 16) | u32::from(self.u16()?))
    }

    /// A possibly compressed name (RFC 1035 §4.1.4), lowercased; the reader moves past it.
    fn name(&mut self) -> Result<String, MdnsError> {
        let mut name = String::new();
        let mut at = self.at;
        let mut resume = None;
        let mut pointers = 0;
        loop {
            let len = *self.packet.get(at).ok_or(MdnsError::Truncated { at })?;
            match len & 0xC0 {
                0x00 if len == 0 => {
                    self.at = resume.unwrap_or(at + 1);
                    return Ok(name);
                }
                0x00 => {
                    let label = self
                        .packet
                        .get(at + 1..at + 1 + usize::from(len))
                        .ok_or(MdnsError::Truncated { at: at + 1 })?;
                    if !name.is_empty() {
                        name.push('.');
                    }
                    name.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
                    if name.len() > 255 {
                        return Err(MdnsError::BadName { at });
                    }
                    at += 1 + usize::from(len);
                }
                0xC0 => {
                    let low = *self.packet.get(at + 1).ok_or(MdnsError::Truncated { at })?;
                    let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                    // Strictly backwards, and few: no loop can form, the walk is bounded.
                    pointers += 1;
                    if target >= at || pointers > MAX_POINTERS {
                        return Err(MdnsError::PointerLoop { at });
                    }
                    resume.get_or_insert(at + 2);
                    at = target;
                }
                _ => return Err(MdnsError::BadName { at }),
            }
        }
    }
}

/// Parses one mDNS message; never panics, refuses what passes the bounds.
pub fn parse(packet: &[u8]) -> Result<Message, MdnsError> {
    if packet.len() > MAX_PACKET {
        return Err(MdnsError::Oversized { len: packet.len() });
    }
    let mut r = Reader { packet, at: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let questions = usize::from(r.u16()?);
    let records = usize::from(r.u16()?) + usize::from(r.u16()?) + usize::from(r.u16()?);
    if questions > MAX_QUESTIONS {
        return Err(MdnsError::TooManyEntries { count: questions });
    }
    if records > MAX_RECORDS {
        return Err(MdnsError::TooManyEntries { count: records });
    }
    let mut message = Message {
        id,
        response: flags & 0x8000 != 0,
        questions: Vec::with_capacity(questions),
        records: Vec::new(),
    };
    for _ in 0..questions {
        let name = r.name()?;
        let qtype = r.u16()?;
        let class = r.u16()?;
        message.questions.push(Question {
            name,
            qtype,
            unicast: class & UNICAST_RESPONSE != 0,
        });
    }
    for _ in 0..records {
        let name = r.name()?;
        let rtype = r.u16()?;
        let class = r.u16()? & !CACHE_FLUSH;
        let ttl = r.u32()?;
        let len = usize::from(r.u16()?);
        let at = r.at;
        let data = r.bytes(len)?;
        let address = match (
            rtype,
            class,
            <[u8; 4]>::try_from(data),
            <[u8; 16]>::try_from(data),
        ) {
            (TYPE_A, CLASS_IN, Ok(v4), _) => IpAddr::V4(Ipv4Addr::from(v4)),
            (TYPE_AAAA, CLASS_IN, _, Ok(v6)) => IpAddr::V6(Ipv6Addr::from(v6)),
            (TYPE_A | TYPE_AAAA, CLASS_IN, _, _) => return Err(MdnsError::Truncated { at }),
            _ => continue,
        };
        message.records.push(Record { name, address, ttl });
    }
    Ok(message)
}

fn push_name(out: &mut Vec<u8>, name: &str) -> Result<(), MdnsError> {
    if name.len() > 253 {
        return Err(MdnsError::Unencodable(name.into()));
    }
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|&l| (1..=63).contains(&l))
            .ok_or_else(|| MdnsError::Unencodable(name.into()))?;
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

fn header(out: &mut Vec<u8>, id: u16, flags: u16, questions: u16) {
    for field in [id, flags, questions, 0, 0, 0] {
        out.extend_from_slice(&field.to_be_bytes());
    }
}

/// A query with one question about `name` per type in `qtypes`; `unicast` sets each question's
/// unicast-response bit (RFC 6762 §5.4).
pub fn query(id: u16, name: &str, qtypes: &[u16], unicast: bool) -> Result<Vec<u8>, MdnsError> {
    let count = u16::try_from(qtypes.len()).map_err(|_| MdnsError::TooManyEntries {
        count: qtypes.len(),
    })?;
    let class = if unicast {
        CLASS_IN | UNICAST_RESPONSE
    } else {
        CLASS_IN
    };
    let mut out = Vec::with_capacity(64);
    header(&mut out, id, 0, count);
    for qtype in qtypes {
        push_name(&mut out, name)?;
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&class.to_be_bytes());
    }
    if out.len() > MAX_PACKET {
        return Err(MdnsError::Oversized { len: out.len() });
    }
    Ok(out)
}

/// An authoritative response (RFC 6762 §18.4: QR and AA set) about `name`, which owns the
/// addresses `owned`: one record per address in `answers` (those the questions asked for), and
/// an NSEC record listing the address types `name` has (RFC 6762 §6.1), so a querier learns at
/// once that the other type does not exist. With no answers the NSEC record is the answer (a
/// negative response); otherwise it goes in the additional section. `echo` repeats the
/// questions, as a reply to a legacy unicast query must (RFC 6762 §6.7).
pub fn response(
    id: u16,
    echo: &[Question],
    name: &str,
    answers: &[IpAddr],
    owned: &[IpAddr],
) -> Result<Vec<u8>, MdnsError> {
    let count = |n: usize| u16::try_from(n).map_err(|_| MdnsError::TooManyEntries { count: n });
    let negative = answers.is_empty();
    let mut out = Vec::with_capacity(128);
    for field in [
        id,
        0x8400,
        count(echo.len())?,
        count(answers.len() + usize::from(negative))?,
        0,
        u16::from(!negative),
    ] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    for q in echo {
        push_name(&mut out, &q.name)?;
        out.extend_from_slice(&q.qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    let record = |out: &mut Vec<u8>, rtype: u16, data: &[u8]| -> Result<(), MdnsError> {
        push_name(out, name)?;
        out.extend_from_slice(&rtype.to_be_bytes());
        // RFC 6762 §10.2: our unique records carry the cache-flush bit.
        out.extend_from_slice(&(CLASS_IN | CACHE_FLUSH).to_be_bytes());
        out.extend_from_slice(&ANSWER_TTL.to_be_bytes());
        out.extend_from_slice(&count(data.len())?.to_be_bytes());
        out.extend_from_slice(data);
        Ok(())
    };
    for address in answers {
        match address {
            IpAddr::V4(v4) => record(&mut out, TYPE_A, &v4.octets())?,
            IpAddr::V6(v6) => record(&mut out, TYPE_AAAA, &v6.octets())?,
        }
    }
    // RFC 6762 §6.1: the NSEC record's Next Domain Name is its own name, then the type bitmap
    // (RFC 4034 §4.1.2) of window 0: A is type 1 (bit 1 of byte 0), AAAA type 28 (bit 4 of byte 3).
    let mut data = Vec::with_capacity(name.len() + 8);
    push_name(&mut data, name)?;
    let mut bitmap = [0u8; 4];
    let mut used = 0;
    for address in owned {
        let (byte, bit) = if address.is_ipv4() { (0, 1) } else { (3, 4) };
        if let Some(b) = bitmap.get_mut(byte) {
            *b |= 0x80 >> bit;
        }
        used = used.max(byte + 1);
    }
    if used > 0 {
        data.push(0);
        data.push(u8::try_from(used).unwrap_or(4));
        data.extend_from_slice(bitmap.get(..used).unwrap_or_default());
    }
    record(&mut out, TYPE_NSEC, &data)?;
    if out.len() > MAX_PACKET {
        return Err(MdnsError::Oversized { len: out.len() });
    }
    Ok(out)
}

/// A random `<uuid-v4>.local` name (draft-ietf-mmusic-mdns-ice-candidates §3.1.1).
pub fn random_name(rng: &mut impl rand::RngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0F) | 0x40; // version 4
    b[8] = (b[8] & 0x3F) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let part = |r: std::ops::Range<usize>| hex.get(r).unwrap_or_default().to_string();
    format!(
        "{}-{}-{}-{}-{}.local",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// Resolved names and when they expire; at most [`MAX_CACHE`] of them.
#[derive(Default)]
pub struct Cache {
    entries: HashMap<String, (Vec<IpAddr>, Instant)>,
}

impl Cache {
    /// The addresses of `name` if known and not expired.
    pub fn get(&self, name: &str, now: Instant) -> Option<&[IpAddr]> {
        self.entries
            .get(&name.to_ascii_lowercase())
            .filter(|(_, expires)| *expires > now)
            .map(|(addresses, _)| addresses.as_slice())
    }

    /// Stores an answer; the expired entries, then the one closest to expiry, make room.
    pub fn insert(&mut self, name: &str, addresses: Vec<IpAddr>, ttl: u32, now: Instant) {
        if self.entries.len() >= MAX_CACHE {
            self.entries.retain(|_, (_, expires)| *expires > now);
        }
        if self.entries.len() >= MAX_CACHE
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, expires))| *expires)
                .map(|(name, _)| name.clone())
        {
            self.entries.remove(&oldest);
        }
        let expires = now + Duration::from_secs(u64::from(ttl.min(MAX_TTL)));
        self.entries
            .insert(name.to_ascii_lowercase(), (addresses, expires));
    }

    /// Names held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The hostname of a candidate value (`candidate:…` with a `.local` address), if any.
pub fn local_hostname(candidate: &str) -> Option<&str> {
    candidate
        .split_ascii_whitespace()
        .nth(4)
        .filter(|a| a.len() > 6 && a.to_ascii_lowercase().ends_with(".local"))
}

/// `candidate` with its address (the fifth field) replaced by `address`.
pub fn with_address(candidate: &str, address: &str) -> String {
    candidate
        .split_ascii_whitespace()
        .enumerate()
        .map(|(i, field)| if i == 4 { address } else { field })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A candidate value with a host address in `names` replaced by its name. In other candidates
/// a related address (`raddr`) that is one of those host addresses becomes `0.0.0.0` (`::`)
/// with `rport 0`, as Chromium does, so a server-reflexive or relayed candidate does not give
/// the hidden address away. Candidates without our host addresses are unchanged.
pub fn hide_host(candidate: &str, names: &[(IpAddr, String)]) -> String {
    let ours = |field: &str| {
        field
            .parse::<IpAddr>()
            .ok()
            .and_then(|ip| names.iter().find(|(known, _)| *known == ip))
    };
    let fields: Vec<&str> = candidate.split_ascii_whitespace().collect();
    let is_host = fields
        .windows(2)
        .any(|w| matches!(w, ["typ", kind] if *kind == "host"));
    if is_host {
        return match fields.get(4).and_then(|a| ours(a)) {
            Some((_, name)) => with_address(candidate, name),
            None => candidate.to_string(),
        };
    }
    let mut hidden = false;
    let mut out: Vec<&str> = Vec::with_capacity(fields.len());
    for field in fields {
        let replaced = match (out.last(), ours(field)) {
            (Some(&"raddr"), Some((ip, _))) => {
                hidden = true;
                if ip.is_ipv4() { "0.0.0.0" } else { "::" }
            }
            (Some(&"rport"), _) if hidden => "0",
            _ => field,
        };
        out.push(replaced);
    }
    if hidden {
        out.join(" ")
    } else {
        candidate.to_string()
    }
}

/// An SDP with every `a=candidate:` line passed through `map`.
pub fn map_candidate_lines(sdp: &str, map: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(sdp.len() + 64);
    for line in sdp.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        match body.strip_prefix("a=") {
            Some(value) if value.starts_with("candidate:") => {
                out.push_str("a=");
                out.push_str(&map(value));
                out.push_str(line.get(body.len()..).unwrap_or_default());
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// The sockets half (tokio).
pub(crate) mod net {
    use super::*;
    use tokio::net::UdpSocket;

    /// A socket on the mDNS port, sharing it (`SO_REUSEADDR`/`SO_REUSEPORT`) with every other
    /// responder and querier of the host, joined to 224.0.0.251 on each of `interfaces` (all of
    /// them when empty), sending by the first. On Linux it is bound to the group address itself,
    /// so it receives only datagrams sent to 224.0.0.251, never a unicast datagram (its replies
    /// still leave from an interface address: the kernel picks the source for a socket bound to
    /// a multicast address).
    pub(crate) fn group_socket(interfaces: &[Ipv4Addr]) -> std::io::Result<UdpSocket> {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        #[cfg(unix)]
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        let bind_ip = if cfg!(target_os = "linux") {
            *MDNS_V4.ip()
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        socket.bind(&SocketAddr::from((bind_ip, MDNS_V4.port())).into())?;
        for interface in interfaces {
            socket.join_multicast_v4(MDNS_V4.ip(), interface)?;
        }
        match interfaces.first() {
            Some(interface) => socket.set_multicast_if_v4(interface)?,
            None => socket.join_multicast_v4(MDNS_V4.ip(), &Ipv4Addr::UNSPECIFIED)?,
        }
        // RFC 6762 §11: mDNS packets are sent with IP TTL 255 (224.0.0.251 is link-local: no
        // router forwards it whatever the TTL). Loopback on: a peer of this host hears us.
        socket.set_multicast_ttl_v4(255)?;
        socket.set_multicast_loop_v4(true)?;
        UdpSocket::from_std(socket.into())
    }

    /// Asks for `name` on `interface` (every interface when unspecified); the addresses and
    /// their TTL, or why not.
    ///
    /// The querier listens on port 5353 itself (RFC 6762 §5.2: a querier on 5353 gets the
    /// multicast answers every responder sends) and sends each question in a message of its
    /// own, without the unicast-response bit and with ID 0 (RFC 6762 §18.1). Chromium's
    /// responder (which hides every browser's host IPs) needs all three: it answers only
    /// single-question queries, ignores questions with the unicast-response bit, and answers a
    /// legacy query from another port by multicast all the same (measured with Chromium 156).
    /// Only if 5353 cannot be shared does the query go from an ephemeral port (a legacy
    /// one-shot query, RFC 6762 §5.1 and §6.7), answered only by responders that reply unicast.
    pub(crate) async fn resolve(
        name: String,
        interface: Ipv4Addr,
        id: u16,
    ) -> Result<(Vec<IpAddr>, u32), MdnsError> {
        let fail = |reason: String| MdnsError::Unresolved {
            name: name.clone(),
            reason,
        };
        let interfaces: &[Ipv4Addr] = if interface.is_unspecified() {
            &[]
        } else {
            &[interface]
        };
        let (socket, id) = match group_socket(interfaces) {
            Ok(socket) => (socket, 0),
            Err(_) => {
                let socket = UdpSocket::bind(SocketAddr::from((interface, 0)))
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                if !interface.is_unspecified() {
                    socket2::SockRef::from(&socket)
                        .set_multicast_if_v4(&interface)
                        .map_err(|e| fail(e.to_string()))?;
                }
                (socket, id)
            }
        };
        let packets = [
            query(id, &name, &[TYPE_A], false)?,
            query(id, &name, &[TYPE_AAAA], false)?,
        ];
        let wanted = name.to_ascii_lowercase();
        let exchange = async {
            let mut buf = vec![0u8; MAX_PACKET];
            // RFC 6762 §5.1: a one-shot querier may retransmit; at 0, 1 and 2 s here.
            let mut resend = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = resend.tick() => {
                        for packet in &packets {
                            socket.send_to(packet, MDNS_V4).await.map_err(|e| fail(e.to_string()))?;
                        }
                    }
                    received = socket.recv_from(&mut buf) => {
                        // Another host's ICMP report on a shared socket is not our failure.
                        let Ok((n, _)) = received else { continue };
                        let Ok(message) = parse(buf.get(..n).unwrap_or_default()) else {
                            continue;
                        };
                        let answers: Vec<&Record> = message
                            .records
                            .iter()
                            .filter(|r| message.response && r.name == wanted)
                            .collect();
                        if let Some(ttl) = answers.iter().map(|r| r.ttl).min() {
                            return Ok((answers.iter().map(|r| r.address).collect(), ttl));
                        }
                    }
                }
            }
        };
        tokio::time::timeout(RESOLVE_TIMEOUT, exchange)
            .await
            .map_err(|_| fail("timeout".into()))?
    }

    type Reply = tokio::sync::oneshot::Sender<Result<(), crate::Error>>;
    type Outcome = (String, Result<(Vec<IpAddr>, u32), MdnsError>);

    /// A connection's mDNS state in the driver: the names hiding its host IPs (with their
    /// responder) and the resolver (cache, resolutions under way).
    pub(crate) struct Mdns {
        names: Vec<(IpAddr, String)>,
        _responder: Option<Responder>,
        resolve: bool,
        interface: Ipv4Addr,
        cache: Cache,
        /// Per name being resolved: the candidates waiting for it and their replies.
        pending: HashMap<String, Vec<(String, Option<Reply>)>>,
        /// Finished resolutions, for the driver's select loop: made on the first resolution
        /// (a channel allocates 32 slots up front; a connection that never resolves holds none).
        results: Option<(
            tokio::sync::mpsc::Sender<Outcome>,
            tokio::sync::mpsc::Receiver<Outcome>,
        )>,
        next_id: u16,
    }

    impl Mdns {
        /// `hide`: one random name per host IP in `local`, and a responder for them.
        pub(crate) fn new(
            hide: bool,
            resolve: bool,
            local: &[SocketAddr],
        ) -> std::io::Result<Mdns> {
            let mut names: Vec<(IpAddr, String)> = Vec::new();
            if hide {
                let mut rng = rand::thread_rng();
                for address in local {
                    let ip = address.ip();
                    if !ip.is_unspecified() && !names.iter().any(|(known, _)| *known == ip) {
                        names.push((ip, random_name(&mut rng)));
                    }
                }
            }
            let responder = if names.is_empty() {
                None
            } else {
                Some(Responder::start(names.clone())?)
            };
            let interface = local
                .iter()
                .find_map(|a| match a.ip() {
                    IpAddr::V4(v4) if !v4.is_unspecified() => Some(v4),
                    _ => None,
                })
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            Ok(Mdns {
                names,
                _responder: responder,
                resolve,
                interface,
                cache: Cache::default(),
                pending: HashMap::new(),
                results: None,
                next_id: 1,
            })
        }

        /// The next finished resolution; pending forever while none was started.
        pub(crate) async fn next_result(&mut self) -> Option<Outcome> {
            match self.results.as_mut() {
                Some((_, results)) => results.recv().await,
                None => std::future::pending().await,
            }
        }

        /// A local candidate as we signal it.
        pub(crate) fn hide(&self, candidate: &str) -> String {
            if self.names.is_empty() {
                return candidate.to_string();
            }
            hide_host(candidate, &self.names)
        }

        /// A local description as we hand it out.
        pub(crate) fn hide_sdp(&self, sdp: &str) -> String {
            if self.names.is_empty() {
                return sdp.to_string();
            }
            map_candidate_lines(sdp, |c| self.hide(c))
        }

        /// A local description handed back (`setLocalDescription`): our names become our IPs
        /// again, so the core sees the description it made.
        pub(crate) fn reveal_sdp(&self, sdp: &str) -> String {
            if self.names.is_empty() {
                return sdp.to_string();
            }
            map_candidate_lines(sdp, |c| {
                match self
                    .names
                    .iter()
                    .find(|(_, n)| Some(n.as_str()) == local_hostname(c))
                {
                    Some((ip, _)) => with_address(c, &ip.to_string()),
                    None => c.to_string(),
                }
            })
        }

        /// A remote candidate: one with a `.local` address is resolved (from the cache at
        /// once, else by a query) and then added; any other is handed back to the driver.
        pub(crate) fn add_remote(
            &mut self,
            pc: &mut crate::PeerConnection,
            now: Instant,
            candidate: String,
            reply: Option<Reply>,
        ) -> Option<(String, Option<Reply>)> {
            let Some(name) = local_hostname(&candidate).map(str::to_ascii_lowercase) else {
                return Some((candidate, reply));
            };
            if !self.resolve {
                return Some((candidate, reply));
            }
            if let Some(addresses) = self.cache.get(&name, now).map(<[IpAddr]>::to_vec) {
                finish(pc, now, &candidate, Ok(&addresses), reply);
            } else if waiting_total(&self.pending) >= MAX_WAITING
                || (self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&name))
            {
                let error = MdnsError::Unresolved {
                    name,
                    reason: "too many resolutions under way".into(),
                };
                finish(pc, now, &candidate, Err(&error), reply);
            } else if let Some(waiting) = self.pending.get_mut(&name) {
                waiting.push((candidate, reply));
            } else {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1).max(1);
                let (done, _) = self
                    .results
                    .get_or_insert_with(|| tokio::sync::mpsc::channel(MAX_PENDING));
                let (done, interface, asked) = (done.clone(), self.interface, name.clone());
                tokio::spawn(async move {
                    let result = resolve(asked.clone(), interface, id).await;
                    let _ = done.send((asked, result)).await;
                });
                self.pending.insert(name, vec![(candidate, reply)]);
            }
            None
        }

        /// Every `.local` candidate of a remote description (the core skipped them).
        pub(crate) fn remote_sdp(
            &mut self,
            pc: &mut crate::PeerConnection,
            now: Instant,
            sdp: &str,
        ) {
            for line in sdp.lines() {
                if let Some(value) = line.trim_end().strip_prefix("a=")
                    && value.starts_with("candidate:")
                    && local_hostname(value).is_some()
                {
                    let _ = self.add_remote(pc, now, value.to_string(), None);
                }
            }
        }

        /// A resolution finished: its candidates are added (or refused), the answer cached.
        pub(crate) fn resolved(
            &mut self,
            pc: &mut crate::PeerConnection,
            now: Instant,
            outcome: Outcome,
        ) {
            let (name, result) = outcome;
            let waiting = self.pending.remove(&name).unwrap_or_default();
            if let Ok((addresses, ttl)) = &result {
                self.cache.insert(&name, addresses.clone(), *ttl, now);
            }
            for (candidate, reply) in waiting {
                let result = result.as_ref().map(|(addresses, _)| addresses.as_slice());
                finish(pc, now, &candidate, result, reply);
            }
        }
    }

    fn waiting_total(pending: &HashMap<String, Vec<(String, Option<Reply>)>>) -> usize {
        pending.values().map(Vec::len).sum()
    }

    /// Adds `candidate` with its name replaced by the first address (IPv4 first), or reports
    /// why not; the candidate is otherwise ignored and the peer may still be found
    /// peer-reflexive.
    fn finish(
        pc: &mut crate::PeerConnection,
        now: Instant,
        candidate: &str,
        addresses: Result<&[IpAddr], &MdnsError>,
        reply: Option<Reply>,
    ) {
        let result = match addresses {
            Ok(addresses) => match addresses.iter().find(|a| a.is_ipv4()).or(addresses.first()) {
                Some(ip) => pc.add_ice_candidate(now, &with_address(candidate, &ip.to_string())),
                None => Err(crate::Error::Candidate(
                    "mDNS answer without addresses".into(),
                )),
            },
            Err(e) => Err(crate::Error::Candidate(format!("unresolved hostname: {e}"))),
        };
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }

    /// Answers A/AAAA questions for exactly `names` on port 5353 until dropped (the driver
    /// aborts it when the connection ends).
    pub(crate) struct Responder {
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Responder {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Responder {
        /// Listens on 5353 (shared, [`group_socket`]) on the IPv4 interfaces of `names`.
        pub(crate) fn start(names: Vec<(IpAddr, String)>) -> std::io::Result<Responder> {
            let mut interfaces: Vec<Ipv4Addr> = Vec::new();
            for (ip, _) in &names {
                if let IpAddr::V4(v4) = ip
                    && !interfaces.contains(v4)
                {
                    interfaces.push(*v4);
                }
            }
            let socket = group_socket(&interfaces)?;
            Ok(Responder {
                task: tokio::spawn(answer(socket, names)),
            })
        }
    }

    async fn answer(socket: UdpSocket, names: Vec<(IpAddr, String)>) {
        let mut buf = vec![0u8; MAX_PACKET];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                // An ICMP report: not worth a busy loop if the socket keeps failing.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let Some(reply) = reply_to(buf.get(..n).unwrap_or_default(), from, &names) else {
                continue;
            };
            // A lost answer is a lost datagram: the querier retransmits.
            let _ = socket.send_to(&reply.0, reply.1).await;
        }
    }

    /// The reply to one received datagram and where it goes, if it asks for one of `names`.
    pub(crate) fn reply_to(
        packet: &[u8],
        from: SocketAddr,
        names: &[(IpAddr, String)],
    ) -> Option<(Vec<u8>, SocketAddr)> {
        let message = parse(packet).ok().filter(|m| !m.response)?;
        // The first of our names asked about, every address it owns, and those asked for.
        let name = names
            .iter()
            .map(|(_, name)| name)
            .find(|name| message.questions.iter().any(|q| q.name == **name))?;
        let owned: Vec<IpAddr> = names
            .iter()
            .filter(|(_, n)| n == name)
            .map(|(ip, _)| *ip)
            .collect();
        let answers: Vec<IpAddr> = owned
            .iter()
            .copied()
            .filter(|ip| {
                let wanted = if ip.is_ipv4() { TYPE_A } else { TYPE_AAAA };
                message
                    .questions
                    .iter()
                    .any(|q| q.name == *name && (q.qtype == wanted || q.qtype == TYPE_ANY))
            })
            .collect();
        // RFC 6762 §6.1: a question about our name for a type it does not have is answered
        // too, with an NSEC record saying so (`answers` is then empty: a negative response).
        // RFC 6762 §6.7: a query from a port other than 5353 is a legacy unicast query: the
        // reply goes to its source, repeats the questions and copies the ID. §5.4: so does a
        // reply to a question with the unicast-response bit. Otherwise it is multicast.
        let legacy = from.port() != MDNS_V4.port();
        let unicast = legacy || message.questions.iter().any(|q| q.unicast);
        let echo: Vec<Question> = message
            .questions
            .iter()
            .filter(|q| legacy && q.name == *name)
            .cloned()
            .collect();
        let id = if legacy { message.id } else { 0 };
        let reply = response(id, &echo, name, &answers, &owned).ok()?;
        let to = if unicast {
            from
        } else {
            SocketAddr::V4(MDNS_V4)
        };
        Some((reply, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "1f3b2c4d-0000-4abc-8def-0123456789ab.local";

    #[test]
    fn query_round_trips() {
        let m = parse(&query(7, NAME, &[TYPE_A, TYPE_AAAA], true).unwrap()).unwrap();
        assert_eq!(m.id, 7);
        assert!(!m.response);
        let types: Vec<u16> = m.questions.iter().map(|q| q.qtype).collect();
        assert_eq!(types, [TYPE_A, TYPE_AAAA]);
        assert!(m.questions.iter().all(|q| q.name == NAME && q.unicast));
    }

    #[test]
    fn response_round_trips_with_both_families() {
        let addresses: [IpAddr; 2] = ["192.0.2.7".parse().unwrap(), "2001:db8::1".parse().unwrap()];
        let echo = parse(&query(9, NAME, &[TYPE_A, TYPE_AAAA], true).unwrap())
            .unwrap()
            .questions;
        let m = parse(&response(9, &echo, NAME, &addresses, &addresses).unwrap()).unwrap();
        assert!(m.response);
        assert_eq!((m.id, m.questions.len()), (9, 2));
        let got: Vec<(IpAddr, u32)> = m.records.iter().map(|r| (r.address, r.ttl)).collect();
        assert_eq!(
            got,
            [(addresses[0], ANSWER_TTL), (addresses[1], ANSWER_TTL)]
        );
    }

    #[test]
    fn names_are_case_insensitive_and_compression_is_followed() {
        // Header, question "Host.LOCAL" A, answer named by a pointer to offset 12.
        let mut p = vec![0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        p.extend_from_slice(b"\x04Host\x05LOCAL\x00\x00\x01\x00\x01");
        p.extend_from_slice(&[0xC0, 12, 0, 1, 0x80, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
        let m = parse(&p).unwrap();
        assert_eq!(m.questions[0].name, "host.local");
        assert_eq!(m.records[0].name, "host.local");
        assert_eq!(m.records[0].address, "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn every_truncation_is_a_typed_error() {
        let echo = parse(&query(1, NAME, &[TYPE_A, TYPE_AAAA], true).unwrap())
            .unwrap()
            .questions;
        let full = response(
            1,
            &echo,
            NAME,
            &["192.0.2.1".parse().unwrap()],
            &["192.0.2.1".parse().unwrap()],
        )
        .unwrap();
        for len in 0..full.len() {
            assert!(
                matches!(parse(&full[..len]), Err(MdnsError::Truncated { .. })),
                "length {len}"
            );
        }
    }

    #[test]
    fn looping_and_forward_pointers_are_refused() {
        let mut p = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        // A pointer to itself.
        p.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(parse(&p), Err(MdnsError::PointerLoop { at: 12 }));
        // A pointer forwards.
        p[13] = 14;
        assert_eq!(parse(&p), Err(MdnsError::PointerLoop { at: 12 }));
        // Reserved label types.
        p[12] = 0x80;
        assert_eq!(parse(&p), Err(MdnsError::BadName { at: 12 }));
    }

    #[test]
    fn oversized_packets_counts_and_names_are_refused() {
        assert_eq!(
            parse(&vec![0; MAX_PACKET + 1]),
            Err(MdnsError::Oversized {
                len: MAX_PACKET + 1
            })
        );
        let many = [0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            parse(&many),
            Err(MdnsError::TooManyEntries { count: 0xFFFF })
        );
        let records = [0, 0, 0, 0, 0, 0, 0, 30, 0, 30, 0, 30];
        assert_eq!(
            parse(&records),
            Err(MdnsError::TooManyEntries { count: 90 })
        );
        // A name of 5 × 63-byte labels (over 255 bytes).
        let mut p = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..5 {
            p.push(63);
            p.extend_from_slice(&[b'a'; 63]);
        }
        p.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(matches!(parse(&p), Err(MdnsError::BadName { .. })));
        assert!(matches!(
            query(0, &format!("{}.local", "a".repeat(64)), &[TYPE_A], false),
            Err(MdnsError::Unencodable(_))
        ));
    }

    /// Garbage and mutated answers (seeded, 20,000 of each) never panic, and what parses stays
    /// within the bounds.
    #[test]
    fn random_and_mutated_packets_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(6762);
        let echo = parse(&query(1, NAME, &[TYPE_A, TYPE_AAAA], true).unwrap())
            .unwrap()
            .questions;
        let addresses = ["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
        let valid = response(1, &echo, NAME, &addresses, &addresses).unwrap();
        for _ in 0..20_000 {
            let len = rng.gen_range(0..200);
            let garbage: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            let mut mutated = valid.clone();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..mutated.len());
                mutated[at] = rng.r#gen();
            }
            for packet in [garbage, mutated] {
                if let Ok(m) = parse(&packet) {
                    assert!(m.questions.len() <= MAX_QUESTIONS && m.records.len() <= MAX_RECORDS);
                    assert!(m.questions.iter().all(|q| q.name.len() <= 255));
                }
            }
        }
    }

    /// Chromium 156's answer to a one-question A query for one of its ICE names (captured in a
    /// network namespace): the A record, then an NSEC record (compressed name) saying the name
    /// has no other type. Our response to the same question has the same shape.
    #[test]
    fn chromium_answer_parses_and_ours_matches_its_shape() {
        let chromium = hex_bytes(
            "0000840000000001000000012434353837326430612d663466392d346237382d386135372d39346532\
             3138306236633030056c6f63616c00000180010000007800040a4d00012434353837326430612d6634\
             66392d346237382d386135372d393465323138306236633030056c6f63616c00002f80010000007800\
             05c046000140",
        );
        let name = "45872d0a-f4f9-4b78-8a57-94e2180b6c00.local";
        let m = parse(&chromium).unwrap();
        assert!(m.response && m.questions.is_empty());
        let ip: IpAddr = "10.77.0.1".parse().unwrap();
        assert_eq!(
            m.records,
            [Record {
                name: name.into(),
                address: ip,
                ttl: 120
            }]
        );
        let ours = response(0, &[], name, &[ip], &[ip]).unwrap();
        // Header, name, A record: byte for byte.
        let a_end = 12 + name.len() + 2 + 10 + 4;
        assert_eq!(ours[..a_end], chromium[..a_end]);
        // NSEC: type 47 with cache-flush, TTL 120, our own name uncompressed, bitmap {A}.
        let nsec = &ours[a_end + name.len() + 2..];
        assert_eq!(nsec[..8], [0, 47, 0x80, 1, 0, 0, 0, 120]);
        assert_eq!(nsec[nsec.len() - 3..], [0, 1, 0x40]);
        assert_eq!(parse(&ours).unwrap(), m);
    }

    #[test]
    fn questions_for_a_type_we_lack_get_an_nsec_answer() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let names = vec![(v4, NAME.to_string())];
        let from: SocketAddr = "192.0.2.9:5353".parse().unwrap();
        let aaaa = query(0, NAME, &[TYPE_AAAA], false).unwrap();
        let (reply, to) = net::reply_to(&aaaa, from, &names).unwrap();
        assert_eq!(to, SocketAddr::V4(MDNS_V4));
        // One answer, the NSEC record (type 47, bitmap {A}); no address.
        assert_eq!(reply[4..12], [0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(reply[12 + NAME.len() + 2..][..4], [0, 47, 0x80, 1]);
        assert_eq!(reply[reply.len() - 3..], [0, 1, 0x40]);
        assert!(parse(&reply).unwrap().records.is_empty());
        // A name with both families: the bitmap holds A and AAAA.
        let both = [v4, "2001:db8::7".parse().unwrap()];
        let reply = response(0, &[], NAME, &both[..1], &both).unwrap();
        assert_eq!(reply[reply.len() - 6..], [0, 4, 0x40, 0, 0, 0x08]);
        // A question about another type (TXT) of our name: negative too; of another name: silence.
        let txt = query(0, NAME, &[16], false).unwrap();
        assert!(net::reply_to(&txt, from, &names).is_some());
        let other = query(0, "other.local", &[TYPE_A], false).unwrap();
        assert!(net::reply_to(&other, from, &names).is_none());
    }

    #[test]
    fn a_multicast_query_has_one_question_no_unicast_bit_and_id_zero() {
        let q = query(0, NAME, &[TYPE_A], false).unwrap();
        assert_eq!(q[..12], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(q[q.len() - 4..], [0, 1, 0, 1]);
        let m = parse(&q).unwrap();
        assert_eq!(m.questions.len(), 1);
        assert!(!m.questions[0].unicast);
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        let hex: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
        hex.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn random_names_are_uuid_v4() {
        let mut rng = rand::rngs::mock::StepRng::new(0, 0x0101_0101_0101_0101);
        let name = random_name(&mut rng);
        assert_eq!(name.len(), 36 + 6);
        assert!(name.ends_with(".local"));
        assert_eq!(name.as_bytes()[14], b'4');
        assert!(matches!(name.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(name.matches('-').count(), 4);
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant does: the cache is told the time
    fn the_cache_expires_and_is_bounded() {
        let t0 = Instant::now();
        let mut cache = Cache::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        cache.insert("A.local", vec![ip], 10, t0);
        assert_eq!(cache.get("a.local", t0), Some(&[ip][..]));
        assert_eq!(cache.get("a.local", t0 + Duration::from_secs(10)), None);
        for i in 0..MAX_CACHE + 10 {
            cache.insert(
                &format!("n{i}.local"),
                vec![ip],
                100,
                t0 + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(cache.len(), MAX_CACHE);
        // The newest stayed, the oldest went.
        assert!(
            cache
                .get(&format!("n{}.local", MAX_CACHE + 9), t0)
                .is_some()
        );
        assert!(cache.get("n0.local", t0).is_none());
    }

    #[test]
    fn candidates_are_hidden_and_restored() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let names = vec![(ip, NAME.to_string())];
        let host = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host";
        let hidden = hide_host(host, &names);
        assert_eq!(
            hidden,
            format!("candidate:1 1 udp 2130706431 {NAME} 5000 typ host")
        );
        assert_eq!(local_hostname(&hidden), Some(NAME));
        assert_eq!(with_address(&hidden, "127.0.0.1"), host);
        let srflx = "candidate:2 1 udp 1 203.0.113.9 6000 typ srflx raddr 0.0.0.0 rport 0";
        assert_eq!(hide_host(srflx, &names), srflx);
        // A related address that is a hidden host address is hidden too.
        let relay = "candidate:3 1 udp 1 203.0.113.9 6000 typ relay raddr 127.0.0.1 rport 5000";
        assert_eq!(
            hide_host(relay, &names),
            "candidate:3 1 udp 1 203.0.113.9 6000 typ relay raddr 0.0.0.0 rport 0"
        );
        // A host candidate at another address is left alone.
        let other = "candidate:4 1 udp 1 10.0.0.1 5000 typ host";
        assert_eq!(hide_host(other, &names), other);
        let sdp = format!("v=0\r\na={host}\r\na=mid:0\r\n");
        let mapped = map_candidate_lines(&sdp, |c| hide_host(c, &names));
        assert_eq!(mapped, format!("v=0\r\na={hidden}\r\na=mid:0\r\n"));
    }

    /// Resolutions under way and candidates waiting for them are bounded: beyond either, a
    /// `.local` candidate is refused at once (queries go to `lo` only: the socket is 127.0.0.1).
    #[tokio::test]
    #[allow(clippy::disallowed_methods)] // the driver's clock
    async fn resolutions_and_waiting_candidates_are_bounded() {
        let now = Instant::now();
        let mut pc = crate::PeerConnection::new(crate::RtcConfig::default(), now).unwrap();
        let local = ["127.0.0.1:9".parse().unwrap()];
        let mut mdns = net::Mdns::new(false, true, &local).unwrap();
        let candidate = |i: usize| format!("candidate:1 1 udp 1 n{i}.local 9 typ host");
        let add = |mdns: &mut net::Mdns, pc: &mut crate::PeerConnection, c: String| {
            let (tx, mut rx) = tokio::sync::oneshot::channel();
            assert!(mdns.add_remote(pc, now, c, Some(tx)).is_none());
            rx.try_recv()
        };
        for i in 0..MAX_PENDING {
            assert!(add(&mut mdns, &mut pc, candidate(i)).is_err(), "waiting");
        }
        let refused = add(&mut mdns, &mut pc, candidate(MAX_PENDING)).unwrap();
        assert!(matches!(refused, Err(crate::Error::Candidate(why)) if why.contains("too many")));
        // More candidates for a name already asked wait, up to the bound.
        for _ in MAX_PENDING..MAX_WAITING {
            assert!(add(&mut mdns, &mut pc, candidate(0)).is_err(), "waiting");
        }
        assert!(add(&mut mdns, &mut pc, candidate(0)).unwrap().is_err());
        // Not a `.local` address: handed back untouched.
        let plain = "candidate:1 1 udp 1 127.0.0.1 9 typ host".to_string();
        assert_eq!(
            mdns.add_remote(&mut pc, now, plain.clone(), None)
                .unwrap()
                .0,
            plain
        );
    }

    #[test]
    fn the_responder_answers_only_its_names() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let names = vec![(ip, NAME.to_string())];
        let legacy: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let (reply, to) = net::reply_to(
            &query(5, NAME, &[TYPE_A, TYPE_AAAA], true).unwrap(),
            legacy,
            &names,
        )
        .unwrap();
        assert_eq!(to, legacy);
        let m = parse(&reply).unwrap();
        assert_eq!((m.id, m.records.len()), (5, 1));
        assert_eq!(m.records[0].address, ip);
        // Another name, a response, garbage: silence.
        let other = query(5, "someone-else.local", &[TYPE_A], true).unwrap();
        assert!(net::reply_to(&other, legacy, &names).is_none());
        assert!(net::reply_to(&reply, legacy, &names).is_none());
        assert!(net::reply_to(&[1, 2, 3], legacy, &names).is_none());
        // A multicast querier without the unicast bit gets a multicast answer with ID 0.
        let mut q = query(5, NAME, &[TYPE_A, TYPE_AAAA], true).unwrap();
        // The class of each question (its top bit is the unicast-response bit).
        q[16 + NAME.len()] &= 0x7F;
        q[22 + 2 * NAME.len()] &= 0x7F;
        let (reply, to) = net::reply_to(&q, "127.0.0.1:5353".parse().unwrap(), &names).unwrap();
        assert_eq!(to, SocketAddr::V4(MDNS_V4));
        assert_eq!(parse(&reply).unwrap().id, 0);
    }
}
