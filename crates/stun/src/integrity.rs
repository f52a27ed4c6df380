//! MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 §14.5–§14.7),
//! with the keyed HMAC state cached per credential.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

use crate::wire::attributes::PasswordAlgorithm;

/// Length of the MESSAGE-INTEGRITY value.
pub const MESSAGE_INTEGRITY_LEN: usize = 20;
/// Length of a full MESSAGE-INTEGRITY-SHA256 value.
pub const MESSAGE_INTEGRITY_SHA256_LEN: usize = 32;
/// RFC 8489 §14.7: the CRC-32 is XOR'ed with this value.
pub const FINGERPRINT_XOR: u32 = 0x5354_554E;

/// The HMAC key of a credential, with the keyed HMAC-SHA1 and HMAC-SHA256 states computed once.
///
/// Build it once per credential (for ICE: once per remote and once per local password) and
/// reuse it: computing or checking an integrity attribute then costs only the message hashing.
#[derive(Clone)]
pub struct IntegrityKey {
    sha1: Hmac<Sha1>,
    sha256: Hmac<Sha256>,
}

impl std::fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntegrityKey(..)")
    }
}

/// HMAC pads short keys with zeros to the 64-byte block and hashes longer ones first
/// (RFC 2104 §2); doing it here gives an infallible keyed state for any key length.
fn block_key<D: Digest>(key: &[u8]) -> [u8; 64] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        let digest = D::digest(key);
        for (b, d) in block.iter_mut().zip(digest.iter()) {
            *b = *d;
        }
    } else {
        for (b, k) in block.iter_mut().zip(key) {
            *b = *k;
        }
    }
    block
}

impl IntegrityKey {
    /// A key from raw key bytes.
    pub fn from_key(key: &[u8]) -> IntegrityKey {
        let k1 = block_key::<Sha1>(key);
        let k256 = block_key::<Sha256>(key);
        IntegrityKey {
            sha1: <Hmac<Sha1> as KeyInit>::new(&k1.into()),
            sha256: <Hmac<Sha256> as KeyInit>::new(&k256.into()),
        }
    }

    /// Short-term credential (RFC 8489 §9.1.1): key = OpaqueString(password). Passwords are
    /// used as given (ICE passwords are ASCII, where OpaqueString changes nothing).
    pub fn short_term(password: &str) -> IntegrityKey {
        IntegrityKey::from_key(password.as_bytes())
    }

    /// Long-term credential (RFC 8489 §9.2.2): key = MD5 or SHA-256 of
    /// `username ":" realm ":" password`. Strings are used as given: pass them already
    /// processed with OpaqueString (RFC 8265) when they contain non-ASCII text.
    pub fn long_term(
        username: &str,
        realm: &str,
        password: &str,
        algorithm: PasswordAlgorithm,
    ) -> IntegrityKey {
        IntegrityKey::from_key(&long_term_key(username, realm, password, algorithm))
    }

    /// HMAC-SHA1 over the concatenation of `parts`, from the cached keyed state.
    pub fn hmac_sha1(&self, parts: &[&[u8]]) -> [u8; 20] {
        let mut mac = self.sha1.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// HMAC-SHA256 over the concatenation of `parts`, from the cached keyed state.
    pub fn hmac_sha256(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.sha256.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

/// The long-term key bytes (RFC 8489 §9.2.2): 16 bytes for MD5, 32 for SHA-256. An algorithm
/// this crate does not know yields the SHA-256 key (callers check the algorithm first).
pub fn long_term_key(
    username: &str,
    realm: &str,
    password: &str,
    algorithm: PasswordAlgorithm,
) -> Vec<u8> {
    fn feed<D: Digest>(mut d: D, u: &str, r: &str, p: &str) -> Vec<u8> {
        d.update(u.as_bytes());
        d.update(b":");
        d.update(r.as_bytes());
        d.update(b":");
        d.update(p.as_bytes());
        d.finalize().to_vec()
    }
    match algorithm {
        PasswordAlgorithm::Md5 => feed(Md5::new(), username, realm, password),
        _ => feed(Sha256::new(), username, realm, password),
    }
}

/// USERHASH value (RFC 8489 §14.4): SHA-256(username ":" realm).
pub fn userhash(username: &str, realm: &str) -> [u8; 32] {
    let mut d = Sha256::new();
    d.update(username.as_bytes());
    d.update(b":");
    d.update(realm.as_bytes());
    d.finalize().into()
}

/// The FINGERPRINT value of `bytes` (RFC 8489 §14.7).
pub fn fingerprint(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes) ^ FINGERPRINT_XOR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_are_hashed_like_hmac_does() {
        let long = [0x55u8; 100];
        let a = IntegrityKey::from_key(&long).hmac_sha1(&[b"abc"]);
        let mut m = <Hmac<Sha1> as Mac>::new_from_slice(&long).unwrap();
        m.update(b"abc");
        assert_eq!(a.as_slice(), m.finalize().into_bytes().as_slice());
        let short = b"key";
        let a = IntegrityKey::from_key(short).hmac_sha256(&[b"a", b"bc"]);
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(short).unwrap();
        m.update(b"abc");
        assert_eq!(a.as_slice(), m.finalize().into_bytes().as_slice());
    }

    #[test]
    fn md5_long_term_key_rfc5769() {
        // RFC 5769 §2.4 key, password after SASLprep.
        let k = long_term_key(
            "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}",
            "example.org",
            "TheMatrIX",
            PasswordAlgorithm::Md5,
        );
        assert_eq!(k.len(), 16);
    }
}
