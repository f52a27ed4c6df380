//! Which peer addresses the server relays to (RFC 8656 §21.1: a TURN server is an open relay
//! into its own network unless it refuses internal destinations).
//!
//! Addresses are canonicalised first, so that an IPv4 destination cannot hide inside an
//! IPv6 form: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), IPv4-translated
//! (`::ffff:0:a.b.c.d`), NAT64 (`64:ff9b::/96`, RFC 6052) and 6to4 (`2002::/16`, RFC 3056)
//! (CVE-2020-26262, CVE-2026-27624).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IP prefix such as `10.0.0.0/8` or `fc00::/7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a string is not an `address/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an IP prefix (address/length)")]
pub struct IpNetParseError;

impl IpNet {
    /// A prefix; `None` when `prefix` is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    /// A prefix matching exactly `addr`.
    pub fn host(addr: IpAddr) -> IpNet {
        IpNet {
            addr,
            prefix: if addr.is_ipv4() { 32 } else { 128 },
        }
    }

    /// Whether `ip` is inside this prefix (families must agree).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = IpNetParseError;
    fn from_str(s: &str) -> Result<IpNet, IpNetParseError> {
        match s.split_once('/') {
            Some((a, p)) => {
                let addr = a.parse().map_err(|_| IpNetParseError)?;
                let prefix = p.parse().map_err(|_| IpNetParseError)?;
                IpNet::new(addr, prefix).ok_or(IpNetParseError)
            }
            None => s.parse().map(IpNet::host).map_err(|_| IpNetParseError),
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The address an IPv6 form really reaches when it embeds an IPv4 address; others unchanged.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    let bits = u128::from(v6);
    let low32 = Ipv4Addr::from((bits & 0xFFFF_FFFF) as u32);
    let seg = v6.segments();
    match seg {
        // ::ffff:a.b.c.d (IPv4-mapped, RFC 4291 §2.5.5.2).
        [0, 0, 0, 0, 0, 0xFFFF, _, _] => IpAddr::V4(low32),
        // ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765 §2.1).
        [0, 0, 0, 0, 0xFFFF, 0, _, _] => IpAddr::V4(low32),
        // ::a.b.c.d (IPv4-compatible, deprecated by RFC 4291 §2.5.5.1); :: and ::1 stay IPv6.
        [0, 0, 0, 0, 0, 0, _, _] if bits > 1 => IpAddr::V4(low32),
        // 64:ff9b::/96 (NAT64 well-known prefix, RFC 6052 §2.1).
        [0x0064, 0xFF9B, 0, 0, 0, 0, _, _] => IpAddr::V4(low32),
        // 2002:AABB:CCDD::/48 (6to4, RFC 3056 §2).
        [0x2002, hi, lo, ..] => IpAddr::V4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))),
        _ => ip,
    }
}

/// Why the policy refuses a peer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DenyReason {
    /// 0.0.0.0/8 or `::`.
    #[error("unspecified address")]
    Unspecified,
    /// 127.0.0.0/8 or `::1`.
    #[error("loopback address")]
    Loopback,
    /// RFC 1918, shared address space (100.64/10), unique local (fc00::/7) or site-local.
    #[error("private address")]
    Private,
    /// 169.254/16 or fe80::/10.
    #[error("link-local address")]
    LinkLocal,
    /// 224/4 or ff00::/8.
    #[error("multicast address")]
    Multicast,
    /// Reserved, broadcast, benchmarking or protocol-assignment ranges.
    #[error("reserved address")]
    Reserved,
    /// One of the server's own addresses.
    #[error("the server's own address")]
    OwnAddress,
    /// A prefix on the configured deny list.
    #[error("denied by configuration")]
    Configured,
}

/// The relay destination policy: by default every special-purpose range and the server's own
/// addresses are denied; `allow` prefixes (checked first) re-open some, `deny` adds more.
#[derive(Debug, Clone, Default)]
pub struct PeerPolicy {
    /// Prefixes always allowed (checked against the canonical address first). Tests put
    /// `127.0.0.0/8` here to relay on loopback.
    pub allow: Vec<IpNet>,
    /// Extra prefixes to deny.
    pub deny: Vec<IpNet>,
    /// The server's own addresses (listening and relay); the server core adds its relay IPs.
    pub own_addresses: Vec<IpAddr>,
    /// Turn the built-in special-range denial off (never do this on a public server).
    pub allow_special_ranges: bool,
}

fn special_v4(ip: Ipv4Addr) -> Option<DenyReason> {
    let o = ip.octets();
    let n = u32::from(ip);
    let within = |net: u32, len: u32| n >> (32 - len) == net >> (32 - len);
    Some(match o {
        [0, ..] => DenyReason::Unspecified,
        [127, ..] => DenyReason::Loopback,
        [10, ..] => DenyReason::Private,
        [192, 168, ..] => DenyReason::Private,
        _ if within(0xAC10_0000, 12) => DenyReason::Private, // 172.16/12
        _ if within(0x6440_0000, 10) => DenyReason::Private, // 100.64/10 (RFC 6598)
        [169, 254, ..] => DenyReason::LinkLocal,
        _ if within(0xE000_0000, 4) => DenyReason::Multicast, // 224/4
        _ if within(0xF000_0000, 4) => DenyReason::Reserved,  // 240/4 and 255.255.255.255
        [192, 0, 0, _] => DenyReason::Reserved,               // IETF protocol assignments
        _ if within(0xC612_0000, 15) => DenyReason::Reserved, // 198.18/15 benchmarking
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<DenyReason> {
    let s = ip.segments();
    let first = s.first().copied().unwrap_or(0);
    Some(if ip.is_unspecified() {
        DenyReason::Unspecified
    } else if ip.is_loopback() {
        DenyReason::Loopback
    } else if first & 0xFE00 == 0xFC00 || first & 0xFFC0 == 0xFEC0 {
        // fc00::/7 unique local; fec0::/10 site-local (deprecated).
        DenyReason::Private
    } else if first & 0xFFC0 == 0xFE80 {
        DenyReason::LinkLocal
    } else if first & 0xFF00 == 0xFF00 {
        DenyReason::Multicast
    } else if matches!(s, [0x0064, 0xFF9B, 0x0001, ..] | [0x0100, 0, 0, 0, ..]) {
        // 64:ff9b:1::/48 local-use NAT64 (RFC 8215); 100::/64 discard-only (RFC 6666).
        DenyReason::Reserved
    } else {
        return None;
    })
}

impl PeerPolicy {
    /// The default policy plus `allow` prefixes.
    pub fn allowing(allow: impl IntoIterator<Item = IpNet>) -> PeerPolicy {
        PeerPolicy {
            allow: allow.into_iter().collect(),
            ..PeerPolicy::default()
        }
    }

    /// Whether the server may relay to `ip`: canonicalises, then applies allow, own-address,
    /// special-range and deny checks in that order.
    pub fn check(&self, ip: IpAddr) -> Result<(), DenyReason> {
        let canonical = canonical_ip(ip);
        if self.allow.iter().any(|n| n.contains(canonical)) {
            return Ok(());
        }
        if self
            .own_addresses
            .iter()
            .any(|own| canonical_ip(*own) == canonical)
        {
            return Err(DenyReason::OwnAddress);
        }
        if !self.allow_special_ranges {
            let special = match canonical {
                IpAddr::V4(v4) => special_v4(v4),
                IpAddr::V6(v6) => special_v6(v6),
            };
            if let Some(reason) = special {
                return Err(reason);
            }
        }
        if self.deny.iter().any(|n| n.contains(canonical)) {
            return Err(DenyReason::Configured);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_ip(ip("::ffff:127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(canonical_ip(ip("::ffff:0:10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(canonical_ip(ip("::127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(canonical_ip(ip("64:ff9b::7f00:1")), ip("127.0.0.1"));
        assert_eq!(canonical_ip(ip("2002:7f00:1::")), ip("127.0.0.1"));
        assert_eq!(canonical_ip(ip("2002:c0a8:0101::1")), ip("192.168.1.1"));
        assert_eq!(canonical_ip(ip("::1")), ip("::1"));
        assert_eq!(canonical_ip(ip("::")), ip("::"));
        assert_eq!(canonical_ip(ip("2001:db8::1")), ip("2001:db8::1"));
    }

    #[test]
    fn default_denies_special_ranges() {
        let p = PeerPolicy::default();
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "10.1.1.1",
            "172.31.255.255",
            "192.168.0.1",
            "100.64.0.1",
            "169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
        ] {
            assert!(p.check(ip(bad)).is_err(), "{bad} allowed");
        }
        for good in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:4860::8888"] {
            assert_eq!(p.check(ip(good)), Ok(()), "{good} denied");
        }
    }

    #[test]
    fn allow_list_and_own_addresses() {
        let mut p = PeerPolicy::allowing(["127.0.0.0/8".parse().unwrap()]);
        p.own_addresses.push(ip("203.0.113.5"));
        p.deny.push("198.51.100.0/24".parse().unwrap());
        assert_eq!(p.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(p.check(ip("::ffff:127.0.0.1")), Ok(()));
        assert_eq!(p.check(ip("203.0.113.5")), Err(DenyReason::OwnAddress));
        assert_eq!(
            p.check(ip("::ffff:203.0.113.5")),
            Err(DenyReason::OwnAddress)
        );
        assert_eq!(p.check(ip("198.51.100.7")), Err(DenyReason::Configured));
        assert_eq!(p.check(ip("10.0.0.1")), Err(DenyReason::Private));
    }

    #[test]
    fn prefixes() {
        let n: IpNet = "172.16.0.0/12".parse().unwrap();
        assert!(n.contains(ip("172.20.1.1")));
        assert!(!n.contains(ip("172.32.0.0")));
        assert!(!n.contains(ip("::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("1.2.3.4")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("nonsense".parse::<IpNet>().is_err());
        assert_eq!("::1".parse::<IpNet>().unwrap().to_string(), "::1/128");
    }
}
