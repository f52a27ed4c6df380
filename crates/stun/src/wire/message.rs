//! A zero-copy, validated view of a STUN message.

use subtle::ConstantTimeEq;

use crate::error::{DecodeError, IntegrityError};
use crate::integrity::{
    IntegrityKey, MESSAGE_INTEGRITY_LEN, MESSAGE_INTEGRITY_SHA256_LEN, fingerprint,
};
use crate::wire::attributes::{Attribute, RawAttribute, kind};
use crate::wire::header::{HEADER_LEN, MAGIC_COOKIE, MessageType, TransactionId};

/// A decoded STUN message borrowing the datagram.
///
/// [`Message::decode`] checks the header, walks every attribute once and verifies FINGERPRINT,
/// so that afterwards no accessor can fail on framing (only on an attribute's own value).
/// Attributes after MESSAGE-INTEGRITY are hidden, except MESSAGE-INTEGRITY-SHA256 and
/// FINGERPRINT (RFC 8489 §14.5, §14.6).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    message_type: MessageType,
    transaction_id: TransactionId,
    /// End of the attributes a reader may see.
    visible_end: usize,
    integrity: Option<usize>,
    integrity_sha256: Option<usize>,
    fingerprint: Option<usize>,
}

/// Reads the 4-byte attribute header at `at`; `None` when it does not fit.
fn attribute_at(bytes: &[u8], at: usize) -> Option<(u16, &[u8], usize)> {
    let h = bytes.get(at..at.checked_add(4)?)?;
    let kind = u16::from_be_bytes([*h.first()?, *h.get(1)?]);
    let len = usize::from(u16::from_be_bytes([*h.get(2)?, *h.get(3)?]));
    let start = at + 4;
    let value = bytes.get(start..start + len)?;
    // RFC 8489 §14: values are padded to a multiple of 4 bytes.
    let next = start + ((len + 3) & !3);
    if next > bytes.len() {
        return None;
    }
    Some((kind, value, next))
}

impl<'a> Message<'a> {
    /// Decodes and validates `bytes`, which must hold exactly one message (as a UDP datagram does).
    pub fn decode(bytes: &'a [u8]) -> Result<Message<'a>, DecodeError> {
        let header: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(DecodeError::TruncatedHeader { len: bytes.len() })?;
        let [t0, t1, l0, l1, c0, c1, c2, c3, tid @ ..] = *header;
        // RFC 8489 §6.3: the most significant 2 bits of every STUN message MUST be zeroes.
        if t0 & 0xC0 != 0 {
            return Err(DecodeError::TopBitsSet);
        }
        let cookie = u32::from_be_bytes([c0, c1, c2, c3]);
        if cookie != MAGIC_COOKIE {
            return Err(DecodeError::BadMagicCookie { found: cookie });
        }
        let length = u16::from_be_bytes([l0, l1]);
        // RFC 8489 §5: the message length MUST contain the size of the message in bytes, not
        // including the 20-byte header; it is always a multiple of 4.
        if length % 4 != 0 {
            return Err(DecodeError::UnalignedLength { length });
        }
        let available = bytes.len() - HEADER_LEN;
        if usize::from(length) != available {
            return Err(DecodeError::LengthMismatch {
                declared: usize::from(length),
                available,
            });
        }

        let mut message = Message {
            bytes,
            message_type: MessageType::from_u16(u16::from_be_bytes([t0, t1])),
            transaction_id: TransactionId(tid),
            visible_end: bytes.len(),
            integrity: None,
            integrity_sha256: None,
            fingerprint: None,
        };
        let mut at = HEADER_LEN;
        while at < bytes.len() {
            let (kind, value, next) =
                attribute_at(bytes, at).ok_or(DecodeError::TruncatedAttribute { at })?;
            if message.fingerprint.is_some() {
                // RFC 8489 §14.7: FINGERPRINT MUST be the last attribute.
                return Err(DecodeError::FingerprintNotLast {
                    at: message.fingerprint.unwrap_or(at),
                });
            }
            match kind {
                kind::MESSAGE_INTEGRITY
                    if message.integrity.is_none() && message.integrity_sha256.is_none() =>
                {
                    message.integrity = Some(at);
                    message.visible_end = message.visible_end.min(at);
                }
                kind::MESSAGE_INTEGRITY_SHA256 if message.integrity_sha256.is_none() => {
                    message.integrity_sha256 = Some(at);
                    message.visible_end = message.visible_end.min(at);
                }
                kind::FINGERPRINT => {
                    let value: [u8; 4] = value
                        .try_into()
                        .map_err(|_| DecodeError::InvalidAttribute { attribute: kind })?;
                    let covered = bytes
                        .get(..at)
                        .ok_or(DecodeError::TruncatedAttribute { at })?;
                    if fingerprint(covered) != u32::from_be_bytes(value) {
                        return Err(DecodeError::BadFingerprint);
                    }
                    message.fingerprint = Some(at);
                    message.visible_end = message.visible_end.min(at);
                }
                _ => {}
            }
            at = next;
        }
        Ok(message)
    }

    /// The message type (class and method).
    pub fn message_type(&self) -> MessageType {
        self.message_type
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.transaction_id
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether the message ends with a (valid: it was checked on decode) FINGERPRINT.
    pub fn has_fingerprint(&self) -> bool {
        self.fingerprint.is_some()
    }

    /// Whether the message carries MESSAGE-INTEGRITY.
    pub fn has_integrity(&self) -> bool {
        self.integrity.is_some()
    }

    /// Whether the message carries MESSAGE-INTEGRITY-SHA256.
    pub fn has_integrity_sha256(&self) -> bool {
        self.integrity_sha256.is_some()
    }

    /// The attributes a reader may use, in order (those before MESSAGE-INTEGRITY and
    /// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT; RFC 8489 §14.5 says to ignore the rest).
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            bytes: self.bytes.get(..self.visible_end).unwrap_or(&[]),
            at: HEADER_LEN,
        }
    }

    /// The first visible attribute of type `kind`, raw.
    pub fn get_raw(&self, kind: u16) -> Option<RawAttribute<'a>> {
        self.attributes().find(|a| a.kind == kind)
    }

    /// The first visible attribute of type `A`, decoded. `Ok(None)` when absent.
    pub fn get<A: Attribute<'a>>(&self) -> Result<Option<A>, DecodeError> {
        match self.get_raw(A::TYPE) {
            Some(raw) => A::decode(raw.value, &self.transaction_id).map(Some),
            None => Ok(None),
        }
    }

    /// Whether an attribute of type `kind` is present.
    pub fn contains(&self, kind: u16) -> bool {
        self.get_raw(kind).is_some()
    }

    /// The comprehension-required attribute types for which `is_known` says no (RFC 8489 §7.3.1:
    /// a request carrying any gets a 420 listing them in UNKNOWN-ATTRIBUTES).
    pub fn unknown_comprehension_required<F: Fn(u16) -> bool>(
        &self,
        is_known: F,
    ) -> impl Iterator<Item = u16> + use<'a, F> {
        self.attributes()
            .map(|a| a.kind)
            .filter(move |k| kind::is_comprehension_required(*k) && !is_known(*k))
    }

    /// Checks MESSAGE-INTEGRITY (HMAC-SHA1) with `key`, in constant time (RFC 8489 §14.5).
    pub fn verify_integrity(&self, key: &IntegrityKey) -> Result<(), IntegrityError> {
        let at = self.integrity.ok_or(IntegrityError::Missing)?;
        let (value, covered, length) = self.integrity_parts(at)?;
        if value.len() != MESSAGE_INTEGRITY_LEN {
            return Err(IntegrityError::InvalidLength { len: value.len() });
        }
        let mac = key.hmac_sha1(&[covered.0, &length, covered.1]);
        if constant_time_eq(&mac, value) {
            Ok(())
        } else {
            Err(IntegrityError::Mismatch)
        }
    }

    /// Checks MESSAGE-INTEGRITY-SHA256 with `key` in constant time; a truncated value (16 to 32
    /// bytes, a multiple of 4) is compared with the same prefix of the HMAC (RFC 8489 §14.6).
    pub fn verify_integrity_sha256(&self, key: &IntegrityKey) -> Result<(), IntegrityError> {
        let at = self.integrity_sha256.ok_or(IntegrityError::Missing)?;
        let (value, covered, length) = self.integrity_parts(at)?;
        // RFC 8489 §14.6: at least 16 bytes, a multiple of 4, at most 32.
        if value.len() < 16 || value.len() > MESSAGE_INTEGRITY_SHA256_LEN || value.len() % 4 != 0 {
            return Err(IntegrityError::InvalidLength { len: value.len() });
        }
        let mac = key.hmac_sha256(&[covered.0, &length, covered.1]);
        let prefix = mac
            .get(..value.len())
            .ok_or(IntegrityError::InvalidLength { len: value.len() })?;
        if constant_time_eq(prefix, value) {
            Ok(())
        } else {
            Err(IntegrityError::Mismatch)
        }
    }

    /// The integrity value at `at`, the bytes the HMAC covers (type, rest of header and attributes
    /// before it) and the length field as the sender set it when computing the HMAC: up to and
    /// including the integrity attribute (RFC 8489 §14.5).
    fn integrity_parts(&self, at: usize) -> Result<IntegrityParts<'a>, IntegrityError> {
        let (_, value, next) = attribute_at(self.bytes, at).ok_or(IntegrityError::Missing)?;
        let length = u16::try_from(next - HEADER_LEN)
            .map_err(|_| IntegrityError::InvalidLength { len: value.len() })?;
        let type_bytes = self.bytes.get(..2).ok_or(IntegrityError::Missing)?;
        let rest = self.bytes.get(4..at).ok_or(IntegrityError::Missing)?;
        Ok((value, (type_bytes, rest), length.to_be_bytes()))
    }
}

/// Constant-time equality of two MACs: the differences of all bytes are OR-ed together without
/// a branch, and only the final word goes through `subtle`'s optimisation barrier (one barrier
/// instead of one per byte). Lengths are public, so unequal lengths return early.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    bool::from(diff.ct_eq(&0))
}

/// An integrity value, the two byte ranges its HMAC covers and the length field to hash between them.
type IntegrityParts<'a> = (&'a [u8], (&'a [u8], &'a [u8]), [u8; 2]);

/// Iterator over a message's visible attributes.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = RawAttribute<'a>;

    fn next(&mut self) -> Option<RawAttribute<'a>> {
        let (kind, value, next) = attribute_at(self.bytes, self.at)?;
        let offset = self.at;
        self.at = next;
        Some(RawAttribute {
            kind,
            value,
            offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn constant_time_eq_finds_any_single_bit_difference() {
        let a = [0x5Au8; 20];
        assert!(constant_time_eq(&a, &a));
        for i in 0..20 {
            for bit in 0..8 {
                let mut b = a;
                b[i] ^= 1 << bit;
                assert!(!constant_time_eq(&a, &b), "byte {i} bit {bit}");
            }
        }
        assert!(!constant_time_eq(&a, &a[..16]));
    }
}
