//! The address attribute codec shared by MAPPED-ADDRESS, XOR-MAPPED-ADDRESS, ALTERNATE-SERVER
//! and TURN's XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS (RFC 8489 §14.1, §14.2).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::DecodeError;
use crate::wire::header::{MAGIC_COOKIE, TransactionId};

const FAMILY_IPV4: u8 = 0x01;
const FAMILY_IPV6: u8 = 0x02;

/// Decodes a plain (MAPPED-ADDRESS style) address value.
pub fn decode_address(attribute: u16, value: &[u8]) -> Result<SocketAddr, DecodeError> {
    let invalid = DecodeError::InvalidAttribute { attribute };
    let (&family, port, ip) = match value {
        [_, family, p0, p1, ip @ ..] => (family, u16::from_be_bytes([*p0, *p1]), ip),
        _ => return Err(invalid),
    };
    match family {
        FAMILY_IPV4 => {
            let octets: [u8; 4] = ip.try_into().map_err(|_| invalid)?;
            Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(octets)), port))
        }
        FAMILY_IPV6 => {
            let octets: [u8; 16] = ip.try_into().map_err(|_| invalid)?;
            Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
        }
        family => Err(DecodeError::UnknownAddressFamily { attribute, family }),
    }
}

/// Encodes a plain (MAPPED-ADDRESS style) address value.
pub fn encode_address(address: SocketAddr, out: &mut Vec<u8>) {
    match address.ip() {
        IpAddr::V4(ip) => {
            out.extend_from_slice(&[0, FAMILY_IPV4]);
            out.extend_from_slice(&address.port().to_be_bytes());
            out.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            out.extend_from_slice(&[0, FAMILY_IPV6]);
            out.extend_from_slice(&address.port().to_be_bytes());
            out.extend_from_slice(&ip.octets());
        }
    }
}

/// XORs an address in place with the magic cookie (and, for IPv6, the transaction id),
/// RFC 8489 §14.2. The operation is its own inverse.
fn xor(address: SocketAddr, tid: &TransactionId) -> SocketAddr {
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = address.port() ^ (MAGIC_COOKIE >> 16) as u16;
    match address.ip() {
        IpAddr::V4(ip) => {
            let x = u32::from(ip) ^ MAGIC_COOKIE;
            SocketAddr::new(IpAddr::V4(Ipv4Addr::from(x)), port)
        }
        IpAddr::V6(ip) => {
            let mut octets = ip.octets();
            let mask = cookie.iter().chain(tid.0.iter());
            for (o, m) in octets.iter_mut().zip(mask) {
                *o ^= m;
            }
            SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port)
        }
    }
}

/// Decodes an XOR-MAPPED-ADDRESS style value (also TURN's XOR-PEER-ADDRESS and
/// XOR-RELAYED-ADDRESS, which RFC 8656 §18.3, §18.5 define with the same encoding).
pub fn decode_xor_address(
    attribute: u16,
    value: &[u8],
    tid: &TransactionId,
) -> Result<SocketAddr, DecodeError> {
    decode_address(attribute, value).map(|a| xor(a, tid))
}

/// Encodes an XOR-MAPPED-ADDRESS style value.
pub fn encode_xor_address(address: SocketAddr, tid: &TransactionId, out: &mut Vec<u8>) {
    encode_address(xor(address, tid), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5769_xor_values() {
        let tid = TransactionId([
            0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
        ]);
        let v4 = [0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43];
        let a = decode_xor_address(0x20, &v4, &tid).unwrap();
        assert_eq!(a, "192.0.2.1:32853".parse().unwrap());
        let mut out = Vec::new();
        encode_xor_address(a, &tid, &mut out);
        assert_eq!(out, v4);
    }

    #[test]
    fn rejects_bad_lengths_and_family() {
        let tid = TransactionId([0; 12]);
        assert!(decode_xor_address(0x20, &[0, 1, 0, 0, 1, 2, 3], &tid).is_err());
        assert!(decode_xor_address(0x20, &[], &tid).is_err());
        assert!(decode_address(0x01, &[0, 2, 0, 0, 1, 2, 3, 4],).is_err());
        assert_eq!(
            decode_address(0x01, &[0, 3, 0, 0, 1, 2, 3, 4]),
            Err(DecodeError::UnknownAddressFamily {
                attribute: 1,
                family: 3
            })
        );
    }
}
