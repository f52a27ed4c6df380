//! DTLS-SRTP / DTLS-SCTP attributes: `a=fingerprint` (RFC 8122), `a=setup` and
//! `a=connection` (RFC 4145), `a=tls-id` (RFC 8842).

use std::fmt;

use super::{Fields, token};
use crate::attribute::AttributeValue;
use crate::error::AttributeError;

/// The longest fingerprint accepted, in bytes (SHA-512 is 64).
const MAX_FINGERPRINT_LEN: usize = 64;

/// A certificate fingerprint: `a=fingerprint:sha-256 AB:CD:...` (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function as written (`sha-256`); compare with `eq_ignore_ascii_case`.
    pub hash_function: String,
    /// The digest bytes.
    pub value: Vec<u8>,
}

impl Fingerprint {
    /// The digest length the hash function produces, for the RFC 8122 §5 registry names.
    pub fn expected_len(hash_function: &str) -> Option<usize> {
        const LENS: [(&str, usize); 7] = [
            ("sha-256", 32),
            ("sha-384", 48),
            ("sha-512", 64),
            ("sha-1", 20),
            ("sha-224", 28),
            ("md5", 16),
            ("md2", 16),
        ];
        LENS.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(hash_function))
            .map(|&(_, len)| len)
    }

    /// Whether this fingerprint uses `hash_function` (case-insensitive) and equals `digest`.
    pub fn matches(&self, hash_function: &str, digest: &[u8]) -> bool {
        self.hash_function.eq_ignore_ascii_case(hash_function) && self.value == digest
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `AB:CD:..` (RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX); lower case accepted),
/// handing each byte to `out`; returns the byte count.
fn decode_hex(s: &str, mut out: impl FnMut(u8)) -> Result<usize, AttributeError> {
    let mut n = 0;
    for pair in s.split(':') {
        let &[hi, lo] = pair.as_bytes() else {
            return Err(AttributeError::BadFingerprintHex);
        };
        match (hex_val(hi), hex_val(lo)) {
            (Some(h), Some(l)) => out(h << 4 | l),
            _ => return Err(AttributeError::BadFingerprintHex),
        }
        n += 1;
        if n > MAX_FINGERPRINT_LEN {
            return Err(AttributeError::FingerprintLength {
                hash: "any",
                len: n,
                expected: MAX_FINGERPRINT_LEN,
            });
        }
    }
    Ok(n)
}

/// Checks the grammar and length; returns the hash name and the hex text.
fn fingerprint_fields(value: &str) -> Result<(&str, &str), AttributeError> {
    let mut f = Fields::new(value);
    let hash = f.need("hash-func")?;
    token(hash, "hash-func")?;
    let hex = f.need("fingerprint")?;
    f.end()?;
    let len = decode_hex(hex, |_| {})?;
    if let Some(expected) = Fingerprint::expected_len(hash)
        && len != expected
    {
        return Err(AttributeError::FingerprintLength {
            hash: static_hash_name(expected),
            len,
            expected,
        });
    }
    Ok((hash, hex))
}

fn static_hash_name(len: usize) -> &'static str {
    match len {
        16 => "md5",
        20 => "sha-1",
        28 => "sha-224",
        32 => "sha-256",
        48 => "sha-384",
        _ => "sha-512",
    }
}

impl AttributeValue for Fingerprint {
    const NAME: &'static str = "fingerprint";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let (hash, hex) = fingerprint_fields(value)?;
        let mut bytes = Vec::with_capacity(hex.len().div_ceil(3));
        decode_hex(hex, |b| bytes.push(b))?;
        Ok(Self {
            hash_function: hash.to_owned(),
            value: bytes,
        })
    }
}

/// Upper-case hex pairs joined by `:` (RFC 8122 §5 `UHEX`).
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.hash_function.len() + 1 + self.value.len() * 3);
        s.push_str(&self.hash_function);
        s.push(' ');
        for (i, b) in self.value.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push(upper_hex(b >> 4));
            s.push(upper_hex(b & 0xf));
        }
        f.write_str(&s)
    }
}

fn upper_hex(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16)
        .unwrap_or('0')
        .to_ascii_uppercase()
}

pub(crate) fn check_fingerprint(v: &str) -> Result<(), AttributeError> {
    fingerprint_fields(v).map(|_| ())
}

/// The DTLS role offered or chosen: `a=setup:` (RFC 4145 §4, RFC 8842 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `actpass`: the offerer lets the answerer choose.
    ActPass,
    /// `active`: this side is the DTLS client.
    Active,
    /// `passive`: this side is the DTLS server.
    Passive,
    /// `holdconn`: no connection for now.
    HoldConn,
}

impl Setup {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ActPass => "actpass",
            Self::Active => "active",
            Self::Passive => "passive",
            Self::HoldConn => "holdconn",
        }
    }
}

impl AttributeValue for Setup {
    const NAME: &'static str = "setup";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        // RFC 4145 §4: role = "active" / "passive" / "actpass" / "holdconn"
        Ok(match value.trim() {
            "actpass" => Self::ActPass,
            "active" => Self::Active,
            "passive" => Self::Passive,
            "holdconn" => Self::HoldConn,
            _ => return Err(AttributeError::BadValue("setup")),
        })
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=connection:new|existing` (RFC 4145 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionMode {
    /// `new`
    New,
    /// `existing`
    Existing,
}

impl AttributeValue for ConnectionMode {
    const NAME: &'static str = "connection";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        match value.trim() {
            "new" => Ok(Self::New),
            "existing" => Ok(Self::Existing),
            _ => Err(AttributeError::BadValue("connection")),
        }
    }
}

impl fmt::Display for ConnectionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::New => "new",
            Self::Existing => "existing",
        })
    }
}

/// RFC 8842 §4: tls-id-value = 20*255(tls-id-char), tls-id-char = ALPHA / DIGIT / "+" / "/" /
/// "-" / "_".
pub(crate) fn check_tls_id(v: &str) -> Result<(), AttributeError> {
    let ok = (20..=255).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(AttributeError::BadValue("tls-id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8122_fingerprint() {
        let v = "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB";
        let f = Fingerprint::parse_value(v).unwrap();
        assert_eq!(f.value.len(), 20);
        assert_eq!(f.value[0], 0x4A);
        assert_eq!(f.to_string(), v);
        let lower = Fingerprint::parse_value(&v.to_lowercase()).unwrap();
        assert_eq!(lower.value, f.value);
        assert!(lower.matches("SHA-1", &f.value));
        // Unknown hash names are accepted with any length up to 64 bytes.
        assert_eq!(Fingerprint::parse_value("x-new AB").unwrap().value, [0xAB]);
        let long = vec!["AB"; 65].join(":");
        assert!(matches!(
            Fingerprint::parse_value(&format!("x-new {long}")),
            Err(AttributeError::FingerprintLength { len: 65, .. })
        ));
        assert_eq!(
            Fingerprint::parse_value("sha-1 4A:AD x"),
            Err(AttributeError::TrailingFields)
        );
        assert_eq!(
            Fingerprint::parse_value("sha-1 4A::AD"),
            Err(AttributeError::BadFingerprintHex)
        );
        assert_eq!(
            Fingerprint::parse_value("sha-1 +A"),
            Err(AttributeError::BadFingerprintHex)
        );
    }

    #[test]
    fn setup_connection_tls_id() {
        for s in [
            Setup::ActPass,
            Setup::Active,
            Setup::Passive,
            Setup::HoldConn,
        ] {
            assert_eq!(Setup::parse_value(s.as_str()), Ok(s));
        }
        assert_eq!(
            Setup::parse_value("ACTIVE"),
            Err(AttributeError::BadValue("setup"))
        );
        assert_eq!(
            ConnectionMode::parse_value("existing"),
            Ok(ConnectionMode::Existing)
        );
        assert!(ConnectionMode::parse_value("old").is_err());
        assert!(check_tls_id("dGhpcyBpcyBhIHRlc3Q-_+/").is_ok());
        assert!(check_tls_id("too-short").is_err());
        assert!(check_tls_id(&"a".repeat(256)).is_err());
        assert!(check_tls_id("dGhpcyBpcyBhIHRlc3Q=====").is_err());
    }
}
