//! Values of the RFC 8866 lines other than `a=` and `m=`: `o=`, `c=`, `b=`, `t=`, `r=`, `z=`.

use std::fmt;

use crate::attr::Fields;
use crate::attribute::is_token;
use crate::error::LineFault;

/// Whitespace-separated fields of a line value ([`Fields`] with line errors).
pub(crate) struct Words<'a>(Fields<'a>);

impl<'a> Words<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self(Fields::new(s))
    }

    pub(crate) fn need(&mut self, field: &'static str) -> Result<&'a str, LineFault> {
        self.0.next_opt().ok_or(LineFault::MissingField(field))
    }

    pub(crate) fn token(&mut self, field: &'static str) -> Result<&'a str, LineFault> {
        let s = self.need(field)?;
        if is_token(s) {
            Ok(s)
        } else {
            Err(LineFault::BadText(field))
        }
    }

    pub(crate) fn next_opt(&mut self) -> Option<&'a str> {
        self.0.next_opt()
    }

    pub(crate) fn end(&mut self) -> Result<(), LineFault> {
        self.0.end().map_err(|_| LineFault::TrailingFields)
    }
}

/// A decimal made only of ASCII digits, in range for `T`.
pub(crate) fn digits<T: std::str::FromStr>(s: &str, field: &'static str) -> Result<T, LineFault> {
    crate::attr::digits(s).ok_or(LineFault::BadNumber(field))
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `-` when there is no user (JSEP RFC 8829 §5.2.1).
    pub username: String,
    /// Session id (JSEP: a 63-bit random number).
    pub session_id: u64,
    /// Session version, incremented for each new description of the session.
    pub session_version: u64,
    /// `IN`.
    pub network_type: String,
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// An address or hostname.
    pub unicast_address: String,
}

impl Origin {
    /// The origin libwebrtc writes: `- <id> <version> IN IP4 127.0.0.1`.
    pub fn new(session_id: u64, session_version: u64) -> Self {
        Self {
            username: "-".to_owned(),
            session_id,
            session_version,
            network_type: "IN".to_owned(),
            address_type: "IP4".to_owned(),
            unicast_address: "127.0.0.1".to_owned(),
        }
    }

    /// Empty fields, without allocating; replaced before anyone sees it.
    pub(crate) fn placeholder() -> Self {
        Self {
            username: String::new(),
            session_id: 0,
            session_version: 0,
            network_type: String::new(),
            address_type: String::new(),
            unicast_address: String::new(),
        }
    }

    pub(crate) fn parse(v: &str) -> Result<Self, LineFault> {
        let mut w = Words::new(v);
        let username = w.need("username")?;
        let session_id = digits(w.need("sess-id")?, "sess-id")?;
        let session_version = digits(w.need("sess-version")?, "sess-version")?;
        let network_type = w.token("nettype")?;
        let address_type = w.token("addrtype")?;
        let unicast_address = w.need("unicast-address")?;
        w.end()?;
        Ok(Self {
            username: username.to_owned(),
            session_id,
            session_version,
            network_type: network_type.to_owned(),
            address_type: address_type.to_owned(),
            unicast_address: unicast_address.to_owned(),
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.network_type,
            self.address_type,
            self.unicast_address
        )
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7), with the multicast
/// `/<ttl>` (IP4 only) and `/<number of addresses>` suffixes split out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    /// `IN`.
    pub network_type: String,
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// The address or hostname, without suffixes.
    pub address: String,
    /// IP4 multicast TTL.
    pub ttl: Option<u8>,
    /// Number of consecutive multicast addresses.
    pub number_of_addresses: Option<u32>,
}

impl Connection {
    /// `IN IP4 <address>` or `IN IP6 <address>` for an IP address.
    pub fn new(ip: std::net::IpAddr) -> Self {
        Self {
            network_type: "IN".to_owned(),
            address_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
            address: ip.to_string(),
            ttl: None,
            number_of_addresses: None,
        }
    }

    pub(crate) fn parse(v: &str) -> Result<Self, LineFault> {
        let mut w = Words::new(v);
        let network_type = w.token("nettype")?;
        let address_type = w.token("addrtype")?;
        let full = w.need("connection-address")?;
        w.end()?;
        let mut parts = full.split('/');
        let address = parts.next().unwrap_or_default();
        if address.is_empty() {
            return Err(LineFault::MissingField("connection-address"));
        }
        let first = parts.next();
        let second = parts.next();
        if parts.next().is_some() {
            return Err(LineFault::TrailingFields);
        }
        // RFC 8866 §5.7: IP4 multicast is addr/ttl[/n]; IP6 has no TTL, only addr[/n].
        let (ttl, number_of_addresses) = if address_type == "IP4" {
            (
                first.map(|t| digits(t, "ttl")).transpose()?,
                second
                    .map(|n| digits(n, "number of addresses"))
                    .transpose()?,
            )
        } else {
            if second.is_some() {
                return Err(LineFault::TrailingFields);
            }
            (
                None,
                first
                    .map(|n| digits(n, "number of addresses"))
                    .transpose()?,
            )
        };
        Ok(Self {
            network_type: network_type.to_owned(),
            address_type: address_type.to_owned(),
            address: address.to_owned(),
            ttl,
            number_of_addresses,
        })
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.network_type, self.address_type, self.address
        )?;
        if let Some(t) = self.ttl {
            write!(f, "/{t}")?;
        }
        if let Some(n) = self.number_of_addresses {
            write!(f, "/{n}")?;
        }
        Ok(())
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8): `AS`, `CT`, `TIAS` (RFC 3890), …
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bandwidth {
    /// The bandwidth type.
    pub bwtype: String,
    /// The value (kbit/s for AS and CT, bit/s for TIAS).
    pub bandwidth: u64,
}

impl Bandwidth {
    pub(crate) fn parse(v: &str) -> Result<Self, LineFault> {
        let (t, b) = v
            .split_once(':')
            .ok_or(LineFault::MissingField("bandwidth"))?;
        if !is_token(t) {
            return Err(LineFault::BadText("bwtype"));
        }
        Ok(Self {
            bwtype: t.to_owned(),
            bandwidth: digits(b.trim(), "bandwidth")?,
        })
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bwtype, self.bandwidth)
    }
}

/// The unit suffix of a typed time (RFC 8866 §5.10: `d`, `h`, `m`, `s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `d`
    Days,
    /// `h`
    Hours,
    /// `m`
    Minutes,
    /// `s`
    Seconds,
}

impl TimeUnit {
    fn seconds(self) -> i64 {
        match self {
            Self::Days => 86_400,
            Self::Hours => 3_600,
            Self::Minutes => 60,
            Self::Seconds => 1,
        }
    }

    fn letter(self) -> char {
        match self {
            Self::Days => 'd',
            Self::Hours => 'h',
            Self::Minutes => 'm',
            Self::Seconds => 's',
        }
    }
}

/// A time as written in `r=` and `z=` lines: a number with an optional unit, kept as written
/// so it emits the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypedTime {
    /// The number (negative only in `z=` offsets).
    pub value: i64,
    /// The unit, if one was written.
    pub unit: Option<TimeUnit>,
}

impl TypedTime {
    /// The duration in seconds (saturating).
    pub fn seconds(&self) -> i64 {
        self.value
            .saturating_mul(self.unit.map_or(1, TimeUnit::seconds))
    }

    pub(crate) fn parse(s: &str, signed: bool) -> Result<Self, LineFault> {
        let (num, unit) = match s.as_bytes().last() {
            Some(b'd') => (s.get(..s.len() - 1), Some(TimeUnit::Days)),
            Some(b'h') => (s.get(..s.len() - 1), Some(TimeUnit::Hours)),
            Some(b'm') => (s.get(..s.len() - 1), Some(TimeUnit::Minutes)),
            Some(b's') => (s.get(..s.len() - 1), Some(TimeUnit::Seconds)),
            _ => (Some(s), None),
        };
        let num = num.unwrap_or_default();
        let (neg, digits_part) = match num.strip_prefix('-') {
            Some(d) if signed => (true, d),
            _ => (false, num),
        };
        let v: i64 = digits(digits_part, "typed-time")?;
        Ok(Self {
            value: if neg { -v } else { v },
            unit,
        })
    }
}

impl fmt::Display for TypedTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)?;
        if let Some(u) = self.unit {
            write!(f, "{}", u.letter())?;
        }
        Ok(())
    }
}

/// `r=<repeat interval> <active duration> <offsets from start-time>` (RFC 8866 §5.10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repeat {
    /// Repeat interval.
    pub interval: TypedTime,
    /// Active duration.
    pub active_duration: TypedTime,
    /// Offsets from the start time (at least one).
    pub offsets: Vec<TypedTime>,
}

impl Repeat {
    pub(crate) fn parse(v: &str) -> Result<Self, LineFault> {
        let mut w = Words::new(v);
        let interval = TypedTime::parse(w.need("repeat-interval")?, false)?;
        let active_duration = TypedTime::parse(w.need("active duration")?, false)?;
        let mut offsets = vec![TypedTime::parse(w.need("offset")?, false)?];
        while let Some(o) = w.next_opt() {
            offsets.push(TypedTime::parse(o, false)?);
        }
        Ok(Self {
            interval,
            active_duration,
            offsets,
        })
    }
}

impl fmt::Display for Repeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.interval, self.active_duration)?;
        for o in &self.offsets {
            write!(f, " {o}")?;
        }
        Ok(())
    }
}

/// `t=<start-time> <stop-time>` (RFC 8866 §5.9) and its `r=` lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Timing {
    /// NTP start time; 0 for unbounded (WebRTC always writes `t=0 0`).
    pub start: u64,
    /// NTP stop time; 0 for unbounded.
    pub stop: u64,
    /// `r=` lines that follow.
    pub repeats: Vec<Repeat>,
}

impl Timing {
    pub(crate) fn parse(v: &str) -> Result<Self, LineFault> {
        let mut w = Words::new(v);
        let start = digits(w.need("start-time")?, "start-time")?;
        let stop = digits(w.need("stop-time")?, "stop-time")?;
        w.end()?;
        Ok(Self {
            start,
            stop,
            repeats: Vec::new(),
        })
    }
}

/// One `<adjustment time> <offset>` pair of a `z=` line (RFC 8866 §5.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZoneAdjustment {
    /// NTP time at which the adjustment happens.
    pub time: u64,
    /// The offset (may be negative).
    pub offset: TypedTime,
}

pub(crate) fn parse_time_zones(v: &str) -> Result<Vec<TimeZoneAdjustment>, LineFault> {
    let mut w = Words::new(v);
    let mut out = Vec::new();
    while let Some(t) = w.next_opt() {
        let time = digits(t, "adjustment time")?;
        let offset = TypedTime::parse(w.need("offset")?, true)?;
        out.push(TimeZoneAdjustment { time, offset });
    }
    if out.is_empty() {
        return Err(LineFault::MissingField("adjustment time"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_multicast_rfc8866_5_7() {
        let c = Connection::parse("IN IP4 233.252.0.1/127").unwrap();
        assert_eq!((c.ttl, c.number_of_addresses), (Some(127), None));
        let c6 = Connection::parse("IN IP6 ff00::db8:0:101/3").unwrap();
        assert_eq!((c6.ttl, c6.number_of_addresses), (None, Some(3)));
        assert_eq!(c6.to_string(), "IN IP6 ff00::db8:0:101/3");
        assert_eq!(
            Connection::parse("IN IP6 ff00::1/1/2"),
            Err(LineFault::TrailingFields)
        );
        assert_eq!(
            Connection::parse("IN IP4 1.2.3.4/300"),
            Err(LineFault::BadNumber("ttl"))
        );
        assert_eq!(
            Connection::parse("IN IP4"),
            Err(LineFault::MissingField("connection-address"))
        );
        assert_eq!(
            Connection::parse("IN IP4 /1"),
            Err(LineFault::MissingField("connection-address"))
        );
    }

    #[test]
    fn typed_time_units() {
        assert_eq!(TypedTime::parse("25h", false).unwrap().seconds(), 90000);
        assert_eq!(TypedTime::parse("-1h", true).unwrap().seconds(), -3600);
        assert!(TypedTime::parse("-1h", false).is_err());
        assert!(TypedTime::parse("h", false).is_err());
        assert!(TypedTime::parse("1w", false).is_err());
        assert_eq!(TypedTime::parse("90m", false).unwrap().to_string(), "90m");
        let big = TypedTime {
            value: i64::MAX,
            unit: Some(TimeUnit::Days),
        };
        assert_eq!(big.seconds(), i64::MAX);
    }

    #[test]
    fn origin_and_bandwidth() {
        assert_eq!(
            Origin::parse("- 18446744073709551616 1 IN IP4 x"),
            Err(LineFault::BadNumber("sess-id"))
        );
        assert_eq!(
            Origin::parse("- 1 1 IN IP4 x y"),
            Err(LineFault::TrailingFields)
        );
        assert_eq!(Bandwidth::parse("TIAS:64000").unwrap().bandwidth, 64000);
        assert_eq!(Bandwidth::parse("A S:1"), Err(LineFault::BadText("bwtype")));
        assert_eq!(
            Bandwidth::parse("AS:-1"),
            Err(LineFault::BadNumber("bandwidth"))
        );
    }
}
