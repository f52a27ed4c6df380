//! TURN attributes (RFC 8656 §18), implemented on tern-stun's generic [`Attribute`] trait.

use std::net::SocketAddr;

use tern_stun::wire::address::{decode_xor_address, encode_xor_address};
use tern_stun::{Attribute, DecodeError, EncodeError, TransactionId};

/// Attribute type numbers registered by RFC 8656 §18 (and RFC 6062's CONNECTION-ID).
pub mod kind {
    /// CHANNEL-NUMBER.
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    /// LIFETIME.
    pub const LIFETIME: u16 = 0x000D;
    /// XOR-PEER-ADDRESS.
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    /// DATA.
    pub const DATA: u16 = 0x0013;
    /// XOR-RELAYED-ADDRESS.
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    /// REQUESTED-ADDRESS-FAMILY.
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    /// EVEN-PORT.
    pub const EVEN_PORT: u16 = 0x0018;
    /// REQUESTED-TRANSPORT.
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    /// DONT-FRAGMENT.
    pub const DONT_FRAGMENT: u16 = 0x001A;
    /// RESERVATION-TOKEN.
    pub const RESERVATION_TOKEN: u16 = 0x0022;
    /// ADDITIONAL-ADDRESS-FAMILY.
    pub const ADDITIONAL_ADDRESS_FAMILY: u16 = 0x8000;
    /// ADDRESS-ERROR-CODE.
    pub const ADDRESS_ERROR_CODE: u16 = 0x8001;
    /// ICMP.
    pub const ICMP: u16 = 0x8004;
    /// CONNECTION-ID (RFC 6062 §6.2.1).
    pub const CONNECTION_ID: u16 = 0x002A;
}

fn invalid(attribute: u16) -> DecodeError {
    DecodeError::InvalidAttribute { attribute }
}

fn array<const N: usize>(attribute: u16, value: &[u8]) -> Result<[u8; N], DecodeError> {
    value.try_into().map_err(|_| invalid(attribute))
}

/// CHANNEL-NUMBER (RFC 8656 §18.1): the number, then 16 reserved bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelNumber(pub u16);

impl<'a> Attribute<'a> for ChannelNumber {
    const TYPE: u16 = kind::CHANNEL_NUMBER;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let [a, b, _, _] = array::<4>(Self::TYPE, value)?;
        // Range checks (0x4000–0x4FFF) are the receiver's: a server answers 400 (RFC 8656 §12.2).
        Ok(ChannelNumber(u16::from_be_bytes([a, b])))
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0.to_be_bytes());
        // RFC 8656 §18.1: RFFU, set to 0 on transmission.
        out.extend_from_slice(&[0, 0]);
        Ok(())
    }
}

/// LIFETIME (RFC 8656 §18.2), in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime(pub u32);

impl<'a> Attribute<'a> for Lifetime {
    const TYPE: u16 = kind::LIFETIME;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        Ok(Lifetime(u32::from_be_bytes(array::<4>(Self::TYPE, value)?)))
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

macro_rules! xor_address_attribute {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub SocketAddr);

        impl<'a> Attribute<'a> for $name {
            const TYPE: u16 = $kind;
            fn decode(value: &'a [u8], tid: &TransactionId) -> Result<Self, DecodeError> {
                decode_xor_address($kind, value, tid).map($name)
            }
            fn encode(&self, tid: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                encode_xor_address(self.0, tid, out);
                Ok(())
            }
        }
    };
}

xor_address_attribute!(
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3), encoded like XOR-MAPPED-ADDRESS.
    XorPeerAddress, kind::XOR_PEER_ADDRESS
);
xor_address_attribute!(
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5), encoded like XOR-MAPPED-ADDRESS.
    XorRelayedAddress, kind::XOR_RELAYED_ADDRESS
);

/// DATA (RFC 8656 §18.4): the application payload of a Send or Data indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Data<'a>(pub &'a [u8]);

impl<'a> Attribute<'a> for Data<'a> {
    const TYPE: u16 = kind::DATA;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        Ok(Data(value))
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(self.0);
        Ok(())
    }
}

/// An address family as TURN numbers it (RFC 8656 §18.6: 0x01 IPv4, 0x02 IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4 (0x01).
    V4,
    /// IPv6 (0x02).
    V6,
}

impl AddressFamily {
    /// The family byte.
    pub fn number(self) -> u8 {
        match self {
            AddressFamily::V4 => 0x01,
            AddressFamily::V6 => 0x02,
        }
    }

    fn from_number(attribute: u16, family: u8) -> Result<AddressFamily, DecodeError> {
        match family {
            0x01 => Ok(AddressFamily::V4),
            0x02 => Ok(AddressFamily::V6),
            family => Err(DecodeError::UnknownAddressFamily { attribute, family }),
        }
    }

    /// The family of `addr`.
    pub fn of(addr: &SocketAddr) -> AddressFamily {
        if addr.is_ipv4() {
            AddressFamily::V4
        } else {
            AddressFamily::V6
        }
    }
}

macro_rules! family_attribute {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub AddressFamily);

        impl<'a> Attribute<'a> for $name {
            const TYPE: u16 = $kind;
            fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
                let [family, _, _, _] = array::<4>($kind, value)?;
                AddressFamily::from_number($kind, family).map($name)
            }
            fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                // The family, then 24 reserved bits set to 0.
                out.extend_from_slice(&[self.0.number(), 0, 0, 0]);
                Ok(())
            }
        }
    };
}

family_attribute!(
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6): the family of relayed address wanted.
    RequestedAddressFamily, kind::REQUESTED_ADDRESS_FAMILY
);
family_attribute!(
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11): ask for a second (IPv6) relayed address.
    AdditionalAddressFamily, kind::ADDITIONAL_ADDRESS_FAMILY
);

/// EVEN-PORT (RFC 8656 §18.7): an even relay port, optionally reserving the next one (R bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvenPort {
    /// The R bit: reserve port + 1 as well.
    pub reserve_next: bool,
}

impl<'a> Attribute<'a> for EvenPort {
    const TYPE: u16 = kind::EVEN_PORT;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let [flags] = array::<1>(Self::TYPE, value)?;
        Ok(EvenPort {
            reserve_next: flags & 0x80 != 0,
        })
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(if self.reserve_next { 0x80 } else { 0 });
        Ok(())
    }
}

/// REQUESTED-TRANSPORT (RFC 8656 §18.8): an IP protocol number, then 24 reserved bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestedTransport(pub u8);

impl RequestedTransport {
    /// UDP (17), the only transport RFC 8656 relays.
    pub const UDP: RequestedTransport = RequestedTransport(17);
    /// TCP (6), RFC 6062.
    pub const TCP: RequestedTransport = RequestedTransport(6);
}

impl<'a> Attribute<'a> for RequestedTransport {
    const TYPE: u16 = kind::REQUESTED_TRANSPORT;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let [protocol, _, _, _] = array::<4>(Self::TYPE, value)?;
        Ok(RequestedTransport(protocol))
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&[self.0, 0, 0, 0]);
        Ok(())
    }
}

/// DONT-FRAGMENT (RFC 8656 §18.9): a flag with an empty value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DontFragment;

impl<'a> Attribute<'a> for DontFragment {
    const TYPE: u16 = kind::DONT_FRAGMENT;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        if value.is_empty() {
            Ok(DontFragment)
        } else {
            Err(invalid(Self::TYPE))
        }
    }
    fn encode(&self, _: &TransactionId, _: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }
}

/// RESERVATION-TOKEN (RFC 8656 §18.10): 8 opaque bytes naming a reserved relay port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservationToken(pub [u8; 8]);

impl<'a> Attribute<'a> for ReservationToken {
    const TYPE: u16 = kind::RESERVATION_TOKEN;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        array::<8>(Self::TYPE, value).map(ReservationToken)
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

/// ADDRESS-ERROR-CODE (RFC 8656 §18.12): why the relayed address of one family was not
/// allocated: family, 8 reserved bits, then class and number as in ERROR-CODE, and a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressErrorCode<'a> {
    /// The family that failed.
    pub family: AddressFamily,
    /// The error code, 300..=699.
    pub code: u16,
    /// The reason phrase.
    pub reason: &'a str,
}

impl<'a> Attribute<'a> for AddressErrorCode<'a> {
    const TYPE: u16 = kind::ADDRESS_ERROR_CODE;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let [family, _, class, number, reason @ ..] = value else {
            return Err(invalid(Self::TYPE));
        };
        let family = AddressFamily::from_number(Self::TYPE, *family)?;
        let class = u16::from(class & 0x07);
        let number = u16::from(*number);
        if !(3..=6).contains(&class) || number > 99 {
            return Err(invalid(Self::TYPE));
        }
        if reason.len() > tern_stun::attributes::TEXT_MAX {
            return Err(DecodeError::AttributeTooLong {
                attribute: Self::TYPE,
                len: reason.len(),
                max: tern_stun::attributes::TEXT_MAX,
            });
        }
        let reason = std::str::from_utf8(reason).map_err(|_| DecodeError::InvalidUtf8 {
            attribute: Self::TYPE,
        })?;
        Ok(AddressErrorCode {
            family,
            code: class * 100 + number,
            reason,
        })
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !(300..=699).contains(&self.code) {
            return Err(EncodeError::InvalidErrorCode { code: self.code });
        }
        if self.reason.len() > tern_stun::attributes::TEXT_MAX {
            return Err(EncodeError::ValueTooLong {
                attribute: Self::TYPE,
                max: tern_stun::attributes::TEXT_MAX,
            });
        }
        let class = (self.code / 100) as u8;
        let number = (self.code % 100) as u8;
        out.extend_from_slice(&[self.family.number(), 0, class, number]);
        out.extend_from_slice(self.reason.as_bytes());
        Ok(())
    }
}

/// ICMP (RFC 8656 §18.13): an ICMP error the server received for relayed traffic, carried in a
/// Data indication: 16 reserved bits, type, code, then 32 bits of error data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp {
    /// ICMP (or ICMPv6) type.
    pub icmp_type: u8,
    /// ICMP code.
    pub icmp_code: u8,
    /// Type-specific data (the MTU for "fragmentation needed").
    pub error_data: u32,
}

impl<'a> Attribute<'a> for Icmp {
    const TYPE: u16 = kind::ICMP;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let [_, _, icmp_type, icmp_code, d0, d1, d2, d3] = array::<8>(Self::TYPE, value)?;
        Ok(Icmp {
            icmp_type,
            icmp_code,
            error_data: u32::from_be_bytes([d0, d1, d2, d3]),
        })
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&[0, 0, self.icmp_type, self.icmp_code]);
        out.extend_from_slice(&self.error_data.to_be_bytes());
        Ok(())
    }
}

/// Whether a TURN server or client understands attribute type `t` (STUN's plus RFC 8656's).
pub fn is_known(t: u16) -> bool {
    tern_stun::attributes::kind::is_known(t)
        || matches!(
            t,
            kind::CHANNEL_NUMBER
                | kind::LIFETIME
                | kind::XOR_PEER_ADDRESS
                | kind::DATA
                | kind::XOR_RELAYED_ADDRESS
                | kind::REQUESTED_ADDRESS_FAMILY
                | kind::EVEN_PORT
                | kind::REQUESTED_TRANSPORT
                | kind::DONT_FRAGMENT
                | kind::ADDITIONAL_ADDRESS_FAMILY
                | kind::ADDRESS_ERROR_CODE
                | kind::ICMP
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<'a, A: Attribute<'a> + PartialEq + std::fmt::Debug>(a: &A, buf: &'a mut Vec<u8>) {
        let tid = TransactionId([3; 12]);
        a.encode(&tid, buf).unwrap();
        assert_eq!(&A::decode(buf, &tid).unwrap(), a);
    }

    #[test]
    fn round_trips() {
        round_trip(&ChannelNumber(0x4001), &mut Vec::new());
        round_trip(&Lifetime(600), &mut Vec::new());
        round_trip(
            &XorPeerAddress("192.0.2.15:9000".parse().unwrap()),
            &mut Vec::new(),
        );
        round_trip(
            &XorRelayedAddress("[2001:db8::7]:49152".parse().unwrap()),
            &mut Vec::new(),
        );
        round_trip(&Data(b"hello"), &mut Vec::new());
        round_trip(&RequestedAddressFamily(AddressFamily::V6), &mut Vec::new());
        round_trip(&AdditionalAddressFamily(AddressFamily::V6), &mut Vec::new());
        round_trip(&EvenPort { reserve_next: true }, &mut Vec::new());
        round_trip(
            &EvenPort {
                reserve_next: false,
            },
            &mut Vec::new(),
        );
        round_trip(&RequestedTransport::UDP, &mut Vec::new());
        round_trip(&DontFragment, &mut Vec::new());
        round_trip(&ReservationToken([1, 2, 3, 4, 5, 6, 7, 8]), &mut Vec::new());
        round_trip(
            &AddressErrorCode {
                family: AddressFamily::V6,
                code: 440,
                reason: "Address Family not Supported",
            },
            &mut Vec::new(),
        );
        round_trip(
            &Icmp {
                icmp_type: 3,
                icmp_code: 4,
                error_data: 1280,
            },
            &mut Vec::new(),
        );
    }

    #[test]
    fn wire_layouts() {
        let tid = TransactionId([0; 12]);
        let mut out = Vec::new();
        ChannelNumber(0x4000).encode(&tid, &mut out).unwrap();
        assert_eq!(out, [0x40, 0x00, 0, 0]);
        out.clear();
        RequestedTransport::UDP.encode(&tid, &mut out).unwrap();
        assert_eq!(out, [17, 0, 0, 0]);
        out.clear();
        RequestedAddressFamily(AddressFamily::V4)
            .encode(&tid, &mut out)
            .unwrap();
        assert_eq!(out, [1, 0, 0, 0]);
        out.clear();
        // RFC 8656 §18.3: XOR-PEER-ADDRESS is XOR'ed like XOR-MAPPED-ADDRESS (port ^ 0x2112).
        XorPeerAddress("192.0.2.1:32853".parse().unwrap())
            .encode(&tid, &mut out)
            .unwrap();
        assert_eq!(out, [0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43]);
    }

    #[test]
    fn rejects_bad_values() {
        let tid = TransactionId([0; 12]);
        assert!(ChannelNumber::decode(&[0x40, 0], &tid).is_err());
        assert!(Lifetime::decode(&[0; 5], &tid).is_err());
        assert_eq!(
            RequestedAddressFamily::decode(&[3, 0, 0, 0], &tid),
            Err(DecodeError::UnknownAddressFamily {
                attribute: kind::REQUESTED_ADDRESS_FAMILY,
                family: 3
            })
        );
        assert!(DontFragment::decode(&[0], &tid).is_err());
        assert!(EvenPort::decode(&[], &tid).is_err());
        assert!(ReservationToken::decode(&[0; 7], &tid).is_err());
        assert!(Icmp::decode(&[0; 4], &tid).is_err());
        assert!(AddressErrorCode::decode(&[1, 0, 9, 0], &tid).is_err());
        assert!(AddressErrorCode::decode(&[7, 0, 4, 40], &tid).is_err());
        assert!(
            XorRelayedAddress::decode(&[0, 3, 0, 0, 1, 2, 3, 4], &tid).is_err(),
            "unknown family"
        );
    }
}
