//! Typed attributes (RFC 8489 §14, RFC 8445 §16.1) and the [`Attribute`] trait through which
//! other usages (TURN) add their own.

use std::net::SocketAddr;

use crate::error::{DecodeError, EncodeError};
use crate::wire::address::{
    decode_address, decode_xor_address, encode_address, encode_xor_address,
};
use crate::wire::header::TransactionId;

/// Attribute type numbers registered by RFC 8489 and RFC 8445.
pub mod kind {
    /// MAPPED-ADDRESS.
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// USERNAME.
    pub const USERNAME: u16 = 0x0006;
    /// MESSAGE-INTEGRITY.
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE.
    pub const ERROR_CODE: u16 = 0x0009;
    /// UNKNOWN-ATTRIBUTES.
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    /// REALM.
    pub const REALM: u16 = 0x0014;
    /// NONCE.
    pub const NONCE: u16 = 0x0015;
    /// MESSAGE-INTEGRITY-SHA256.
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    /// PASSWORD-ALGORITHM.
    pub const PASSWORD_ALGORITHM: u16 = 0x001D;
    /// USERHASH.
    pub const USERHASH: u16 = 0x001E;
    /// XOR-MAPPED-ADDRESS.
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// PRIORITY (RFC 8445).
    pub const PRIORITY: u16 = 0x0024;
    /// USE-CANDIDATE (RFC 8445).
    pub const USE_CANDIDATE: u16 = 0x0025;
    /// PASSWORD-ALGORITHMS.
    pub const PASSWORD_ALGORITHMS: u16 = 0x8002;
    /// ALTERNATE-DOMAIN.
    pub const ALTERNATE_DOMAIN: u16 = 0x8003;
    /// SOFTWARE.
    pub const SOFTWARE: u16 = 0x8022;
    /// ALTERNATE-SERVER.
    pub const ALTERNATE_SERVER: u16 = 0x8023;
    /// FINGERPRINT.
    pub const FINGERPRINT: u16 = 0x8028;
    /// ICE-CONTROLLED (RFC 8445).
    pub const ICE_CONTROLLED: u16 = 0x8029;
    /// ICE-CONTROLLING (RFC 8445).
    pub const ICE_CONTROLLING: u16 = 0x802A;

    /// Whether `t` is comprehension-required (0x0000–0x7FFF, RFC 8489 §14).
    pub const fn is_comprehension_required(t: u16) -> bool {
        t < 0x8000
    }

    /// Whether this crate knows `t` (RFC 8489 and RFC 8445 attributes).
    pub const fn is_known(t: u16) -> bool {
        matches!(
            t,
            MAPPED_ADDRESS
                | USERNAME
                | MESSAGE_INTEGRITY
                | ERROR_CODE
                | UNKNOWN_ATTRIBUTES
                | REALM
                | NONCE
                | MESSAGE_INTEGRITY_SHA256
                | PASSWORD_ALGORITHM
                | USERHASH
                | XOR_MAPPED_ADDRESS
                | PRIORITY
                | USE_CANDIDATE
                | PASSWORD_ALGORITHMS
                | ALTERNATE_DOMAIN
                | SOFTWARE
                | ALTERNATE_SERVER
                | FINGERPRINT
                | ICE_CONTROLLED
                | ICE_CONTROLLING
        )
    }
}

/// An attribute that can be read from a [`Message`](crate::Message) with `get` and written with
/// [`MessageEncoder::add`](crate::MessageEncoder::add). TURN implements it for its own types.
pub trait Attribute<'a>: Sized {
    /// The attribute type number.
    const TYPE: u16;
    /// Parses the value (without the 4-byte attribute header and padding).
    fn decode(value: &'a [u8], tid: &TransactionId) -> Result<Self, DecodeError>;
    /// Appends the value (without header or padding) to `out`.
    fn encode(&self, tid: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError>;
}

/// Longest USERNAME accepted on decode (RFC 5389 §15.3 allowed up to 513 bytes).
pub const USERNAME_MAX_DECODE: usize = 513;
/// Longest USERNAME written (RFC 8489 §14.3: fewer than 509 bytes).
pub const USERNAME_MAX: usize = 508;
/// Longest REALM, NONCE, SOFTWARE and ERROR-CODE reason (RFC 8489 §14.8, §14.9, §14.10, §14.14:
/// fewer than 128 characters, at most 763 bytes).
pub const TEXT_MAX: usize = 763;
/// Longest ALTERNATE-DOMAIN (RFC 8489 §14.16: 255 bytes, DNS name).
pub const ALTERNATE_DOMAIN_MAX: usize = 255;

fn text(attribute: u16, value: &[u8], max: usize) -> Result<&str, DecodeError> {
    if value.len() > max {
        return Err(DecodeError::AttributeTooLong {
            attribute,
            len: value.len(),
            max,
        });
    }
    std::str::from_utf8(value).map_err(|_| DecodeError::InvalidUtf8 { attribute })
}

fn put_text(attribute: u16, s: &str, max: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if s.len() > max {
        return Err(EncodeError::ValueTooLong { attribute, max });
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

macro_rules! text_attribute {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $max_decode:expr, $max_encode:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name<'a>(pub &'a str);

        impl<'a> Attribute<'a> for $name<'a> {
            const TYPE: u16 = $kind;
            fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
                text($kind, value, $max_decode).map($name)
            }
            fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                put_text($kind, self.0, $max_encode, out)
            }
        }
    };
}

text_attribute!(
    /// USERNAME (RFC 8489 §14.3). ICE uses "remote-ufrag:local-ufrag".
    Username, kind::USERNAME, USERNAME_MAX_DECODE, USERNAME_MAX
);
text_attribute!(
    /// REALM (RFC 8489 §14.9).
    Realm, kind::REALM, TEXT_MAX, TEXT_MAX
);
text_attribute!(
    /// NONCE (RFC 8489 §14.10).
    Nonce, kind::NONCE, TEXT_MAX, TEXT_MAX
);
text_attribute!(
    /// SOFTWARE (RFC 8489 §14.14).
    Software, kind::SOFTWARE, TEXT_MAX, TEXT_MAX
);
text_attribute!(
    /// ALTERNATE-DOMAIN (RFC 8489 §14.16).
    AlternateDomain, kind::ALTERNATE_DOMAIN, ALTERNATE_DOMAIN_MAX, ALTERNATE_DOMAIN_MAX
);

macro_rules! address_attribute {
    ($(#[$doc:meta])* $name:ident, $kind:expr, xor) => {
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
    ($(#[$doc:meta])* $name:ident, $kind:expr, plain) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub SocketAddr);

        impl<'a> Attribute<'a> for $name {
            const TYPE: u16 = $kind;
            fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
                decode_address($kind, value).map($name)
            }
            fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                encode_address(self.0, out);
                Ok(())
            }
        }
    };
}

address_attribute!(
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    XorMappedAddress, kind::XOR_MAPPED_ADDRESS, xor
);
address_attribute!(
    /// MAPPED-ADDRESS (RFC 8489 §14.1), for RFC 3489 compatibility.
    MappedAddress, kind::MAPPED_ADDRESS, plain
);
address_attribute!(
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    AlternateServer, kind::ALTERNATE_SERVER, plain
);

/// PRIORITY (RFC 8445 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority(pub u32);

impl<'a> Attribute<'a> for Priority {
    const TYPE: u16 = kind::PRIORITY;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let b: [u8; 4] = value
            .try_into()
            .map_err(|_| DecodeError::InvalidAttribute {
                attribute: Self::TYPE,
            })?;
        Ok(Priority(u32::from_be_bytes(b)))
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0.to_be_bytes());
        Ok(())
    }
}

/// USE-CANDIDATE (RFC 8445 §7.1.2): a flag with an empty value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UseCandidate;

impl<'a> Attribute<'a> for UseCandidate {
    const TYPE: u16 = kind::USE_CANDIDATE;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        if value.is_empty() {
            Ok(UseCandidate)
        } else {
            Err(DecodeError::InvalidAttribute {
                attribute: Self::TYPE,
            })
        }
    }
    fn encode(&self, _: &TransactionId, _: &mut Vec<u8>) -> Result<(), EncodeError> {
        Ok(())
    }
}

macro_rules! tie_breaker_attribute {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub u64);

        impl<'a> Attribute<'a> for $name {
            const TYPE: u16 = $kind;
            fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
                let b: [u8; 8] = value
                    .try_into()
                    .map_err(|_| DecodeError::InvalidAttribute { attribute: $kind })?;
                Ok($name(u64::from_be_bytes(b)))
            }
            fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                out.extend_from_slice(&self.0.to_be_bytes());
                Ok(())
            }
        }
    };
}

tie_breaker_attribute!(
    /// ICE-CONTROLLING with its tie-breaker (RFC 8445 §7.1.3).
    IceControlling, kind::ICE_CONTROLLING
);
tie_breaker_attribute!(
    /// ICE-CONTROLLED with its tie-breaker (RFC 8445 §7.1.3).
    IceControlled, kind::ICE_CONTROLLED
);

/// USERHASH (RFC 8489 §14.4): SHA-256 of "username:realm".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Userhash(pub [u8; 32]);

impl<'a> Attribute<'a> for Userhash {
    const TYPE: u16 = kind::USERHASH;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let b: [u8; 32] = value
            .try_into()
            .map_err(|_| DecodeError::InvalidAttribute {
                attribute: Self::TYPE,
            })?;
        Ok(Userhash(b))
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.0);
        Ok(())
    }
}

/// ERROR-CODE (RFC 8489 §14.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode<'a> {
    /// The code, 300..=699.
    pub code: u16,
    /// The reason phrase.
    pub reason: &'a str,
}

impl ErrorCode<'static> {
    /// 300 Try Alternate.
    pub const TRY_ALTERNATE: ErrorCode<'static> = ErrorCode {
        code: 300,
        reason: "Try Alternate",
    };
    /// 400 Bad Request.
    pub const BAD_REQUEST: ErrorCode<'static> = ErrorCode {
        code: 400,
        reason: "Bad Request",
    };
    /// 401 Unauthenticated.
    pub const UNAUTHENTICATED: ErrorCode<'static> = ErrorCode {
        code: 401,
        reason: "Unauthenticated",
    };
    /// 420 Unknown Attribute.
    pub const UNKNOWN_ATTRIBUTE: ErrorCode<'static> = ErrorCode {
        code: 420,
        reason: "Unknown Attribute",
    };
    /// 438 Stale Nonce.
    pub const STALE_NONCE: ErrorCode<'static> = ErrorCode {
        code: 438,
        reason: "Stale Nonce",
    };
    /// 487 Role Conflict (RFC 8445 §7.3.1.1).
    pub const ROLE_CONFLICT: ErrorCode<'static> = ErrorCode {
        code: 487,
        reason: "Role Conflict",
    };
    /// 500 Server Error.
    pub const SERVER_ERROR: ErrorCode<'static> = ErrorCode {
        code: 500,
        reason: "Server Error",
    };
}

impl<'a> Attribute<'a> for ErrorCode<'a> {
    const TYPE: u16 = kind::ERROR_CODE;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let invalid = DecodeError::InvalidAttribute {
            attribute: Self::TYPE,
        };
        let [_, _, class, number, reason @ ..] = value else {
            return Err(invalid);
        };
        let class = u16::from(class & 0x07);
        let number = u16::from(*number);
        // RFC 8489 §14.8: class 3..=6, number 0..=99.
        if !(3..=6).contains(&class) || number > 99 {
            return Err(invalid);
        }
        let reason = text(Self::TYPE, reason, TEXT_MAX)?;
        Ok(ErrorCode {
            code: class * 100 + number,
            reason,
        })
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if !(300..=699).contains(&self.code) {
            return Err(EncodeError::InvalidErrorCode { code: self.code });
        }
        out.extend_from_slice(&[0, 0, (self.code / 100) as u8, (self.code % 100) as u8]);
        put_text(Self::TYPE, self.reason, TEXT_MAX, out)
    }
}

/// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13): the comprehension-required types not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAttributes(pub Vec<u16>);

impl<'a> Attribute<'a> for UnknownAttributes {
    const TYPE: u16 = kind::UNKNOWN_ATTRIBUTES;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        if !value.len().is_multiple_of(2) {
            return Err(DecodeError::InvalidAttribute {
                attribute: Self::TYPE,
            });
        }
        Ok(UnknownAttributes(
            value
                .chunks_exact(2)
                .filter_map(|c| <[u8; 2]>::try_from(c).ok().map(u16::from_be_bytes))
                .collect(),
        ))
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for t in &self.0 {
            out.extend_from_slice(&t.to_be_bytes());
        }
        Ok(())
    }
}

/// A password algorithm number (RFC 8489 §18.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordAlgorithm {
    /// MD5 (0x0001): key = MD5(username ":" realm ":" password).
    Md5,
    /// SHA-256 (0x0002): key = SHA-256(username ":" realm ":" password).
    Sha256,
    /// Any other number.
    Other(u16),
}

impl PasswordAlgorithm {
    /// The registered number.
    pub fn number(self) -> u16 {
        match self {
            PasswordAlgorithm::Md5 => 1,
            PasswordAlgorithm::Sha256 => 2,
            PasswordAlgorithm::Other(n) => n,
        }
    }

    /// From the registered number.
    pub fn from_number(n: u16) -> PasswordAlgorithm {
        match n {
            1 => PasswordAlgorithm::Md5,
            2 => PasswordAlgorithm::Sha256,
            n => PasswordAlgorithm::Other(n),
        }
    }
}

fn decode_algorithm(value: &[u8]) -> Option<(PasswordAlgorithm, &[u8], &[u8])> {
    let [a0, a1, l0, l1, rest @ ..] = value else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    let padded = (len + 3) & !3;
    let params = rest.get(..len)?;
    let next = rest.get(padded..).unwrap_or(&[]);
    Some((
        PasswordAlgorithm::from_number(u16::from_be_bytes([*a0, *a1])),
        params,
        next,
    ))
}

fn encode_algorithm(
    a: PasswordAlgorithm,
    params: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let len = u16::try_from(params.len()).map_err(|_| EncodeError::ValueTooLong {
        attribute: kind::PASSWORD_ALGORITHMS,
        max: 0xFFFF,
    })?;
    out.extend_from_slice(&a.number().to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(params);
    out.resize(out.len() + ((4 - params.len() % 4) % 4), 0);
    Ok(())
}

/// PASSWORD-ALGORITHM (RFC 8489 §14.12): the algorithm the client chose. Both registered
/// algorithms have no parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordAlgorithmAttr(pub PasswordAlgorithm);

impl<'a> Attribute<'a> for PasswordAlgorithmAttr {
    const TYPE: u16 = kind::PASSWORD_ALGORITHM;
    fn decode(value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        match decode_algorithm(value) {
            Some((a, _, [])) => Ok(PasswordAlgorithmAttr(a)),
            _ => Err(DecodeError::InvalidAttribute {
                attribute: Self::TYPE,
            }),
        }
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_algorithm(self.0, &[], out)
    }
}

/// PASSWORD-ALGORITHMS (RFC 8489 §14.11): the algorithms a server offers, in its order of
/// preference. Parameters of unknown algorithms are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordAlgorithms(pub Vec<PasswordAlgorithm>);

impl<'a> Attribute<'a> for PasswordAlgorithms {
    const TYPE: u16 = kind::PASSWORD_ALGORITHMS;
    fn decode(mut value: &'a [u8], _: &TransactionId) -> Result<Self, DecodeError> {
        let mut list = Vec::new();
        while !value.is_empty() {
            let (a, _, rest) = decode_algorithm(value).ok_or(DecodeError::InvalidAttribute {
                attribute: Self::TYPE,
            })?;
            list.push(a);
            value = rest;
        }
        Ok(PasswordAlgorithms(list))
    }
    fn encode(&self, _: &TransactionId, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for a in &self.0 {
            encode_algorithm(*a, &[], out)?;
        }
        Ok(())
    }
}

/// Any attribute as raw bytes: the generic way to read or write a type this crate does not model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// The attribute type.
    pub kind: u16,
    /// The value, without padding.
    pub value: &'a [u8],
    /// Offset of the attribute header in the message.
    pub offset: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<'a, A: Attribute<'a> + PartialEq + std::fmt::Debug>(a: &A, buf: &'a mut Vec<u8>) {
        let tid = TransactionId([7; 12]);
        a.encode(&tid, buf).unwrap();
        let b = A::decode(buf, &tid).unwrap();
        assert_eq!(&b, a);
    }

    #[test]
    fn round_trips() {
        round_trip(&Username("a:b"), &mut Vec::new());
        round_trip(
            &ErrorCode {
                code: 487,
                reason: "Role Conflict",
            },
            &mut Vec::new(),
        );
        round_trip(&UnknownAttributes(vec![0x1, 0x7fff]), &mut Vec::new());
        round_trip(
            &PasswordAlgorithms(vec![PasswordAlgorithm::Sha256, PasswordAlgorithm::Md5]),
            &mut Vec::new(),
        );
        round_trip(
            &PasswordAlgorithmAttr(PasswordAlgorithm::Sha256),
            &mut Vec::new(),
        );
        round_trip(
            &XorMappedAddress("[::1]:9".parse().unwrap()),
            &mut Vec::new(),
        );
        round_trip(&IceControlling(u64::MAX - 3), &mut Vec::new());
        round_trip(&Priority(0x6e0001ff), &mut Vec::new());
    }

    #[test]
    fn error_code_bounds() {
        let tid = TransactionId([0; 12]);
        assert!(
            ErrorCode {
                code: 200,
                reason: ""
            }
            .encode(&tid, &mut Vec::new())
            .is_err()
        );
        assert!(ErrorCode::decode(&[0, 0, 7, 0], &tid).is_err());
        assert!(ErrorCode::decode(&[0, 0, 4, 100], &tid).is_err());
        assert!(ErrorCode::decode(&[0, 0, 4], &tid).is_err());
    }

    #[test]
    fn username_limits() {
        let tid = TransactionId([0; 12]);
        let long = "x".repeat(514);
        assert!(matches!(
            Username::decode(long.as_bytes(), &tid),
            Err(DecodeError::AttributeTooLong { len: 514, .. })
        ));
        assert!(Username::decode(&long.as_bytes()[..513], &tid).is_ok());
        assert!(
            Username(&long[..509])
                .encode(&tid, &mut Vec::new())
                .is_err()
        );
        assert!(Username::decode(&[0xff, 0xfe], &tid).is_err());
    }
}
