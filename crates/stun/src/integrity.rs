//! MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 §14.5–§14.7),
//! with the keyed HMAC state cached per credential.
//!
//! HMAC-SHA1 is written over the raw SHA-1 compression function: the credential's key is mixed
//! into the inner (`key ^ ipad`) and outer (`key ^ opad`) chaining values once, when the
//! [`IntegrityKey`] is built, so one MESSAGE-INTEGRITY costs exactly the message's own blocks plus
//! one outer block (3 compressions for a typical ICE Binding request), with no allocation and
//! no hasher object to clone.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha1::digest::core_api::Block;
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
    /// SHA-1 chaining value after the `key ^ ipad` block (RFC 2104 §2 step 1–3).
    sha1_inner: [u32; 5],
    /// SHA-1 chaining value after the `key ^ opad` block (RFC 2104 §2 step 4–6).
    sha1_outer: [u32; 5],
    sha256: Hmac<Sha256>,
}

/// SHA-1 initial hash value (FIPS 180-4 §5.3.1).
const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xEFCD_AB89,
    0x98BA_DCFE,
    0x1032_5476,
    0xC3D2_E1F0,
];
/// SHA-1 block size.
const SHA1_BLOCK: usize = 64;

type Sha1Block = Block<sha1::Sha1Core>;

/// The chaining value after compressing one block of `key ^ pad` from the IV.
fn sha1_keyed_state(key: &[u8; SHA1_BLOCK], pad: u8) -> [u32; 5] {
    let mut block = Sha1Block::default();
    for (b, k) in block.iter_mut().zip(key) {
        *b = k ^ pad;
    }
    let mut state = SHA1_IV;
    sha1::compress(&mut state, std::slice::from_ref(&block));
    state
}

/// A SHA-1 computation resumed from a keyed chaining value: whole blocks are compressed as
/// they fill, the tail waits in one stack block whose bytes from `pos` on are always zero.
struct Sha1Stream {
    state: [u32; 5],
    block: Sha1Block,
    pos: usize,
    /// Bytes hashed so far, counting the key block already in `state`.
    total: u64,
}

impl Sha1Stream {
    fn resume(state: [u32; 5]) -> Sha1Stream {
        Sha1Stream {
            state,
            block: Sha1Block::default(),
            pos: 0,
            total: SHA1_BLOCK as u64,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let take = (SHA1_BLOCK - self.pos).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self.block.get_mut(self.pos..self.pos + take) {
                dst.copy_from_slice(head);
            }
            self.pos += take;
            data = rest;
            if self.pos == SHA1_BLOCK {
                sha1::compress(&mut self.state, std::slice::from_ref(&self.block));
                // Keep the invariant "bytes from `pos` on are zero" (a fixed-size fill, no
                // memset call), so `finish` only has to place 0x80 and the length.
                self.block.fill(0);
                self.pos = 0;
            }
        }
    }

    /// FIPS 180-4 §5.1.1 padding: 0x80, zeros, the 64-bit big-endian bit length.
    fn finish(&mut self) -> [u8; 20] {
        let bits = self.total.wrapping_mul(8).to_be_bytes();
        // The bytes after `pos` are already zero (see `update`).
        if let Some(b) = self.block.get_mut(self.pos) {
            *b = 0x80;
        }
        if self.pos + 1 > SHA1_BLOCK - 8 {
            sha1::compress(&mut self.state, std::slice::from_ref(&self.block));
            self.block.fill(0);
        }
        if let Some(len) = self.block.get_mut(SHA1_BLOCK - 8..) {
            len.copy_from_slice(&bits);
        }
        sha1::compress(&mut self.state, std::slice::from_ref(&self.block));
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
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
            // RFC 2104 §2: ipad = 0x36, opad = 0x5C repeated over the block.
            sha1_inner: sha1_keyed_state(&k1, 0x36),
            sha1_outer: sha1_keyed_state(&k1, 0x5C),
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
        let mut inner = Sha1Stream::resume(self.sha1_inner);
        for p in parts {
            inner.update(p);
        }
        let digest = inner.finish();
        let mut outer = Sha1Stream::resume(self.sha1_outer);
        outer.update(&digest);
        outer.finish()
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
    fn hmac_sha1_matches_the_hmac_crate_at_every_length_and_split() {
        // Every tail position (the padding spilling into a second block or not), several
        // blocks, and parts split at every offset.
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for key in [&b"k"[..], &[0xA5u8; 64][..], &[0x11u8; 65][..]] {
            let ours = IntegrityKey::from_key(key);
            for len in 0..data.len() {
                let msg = &data[..len];
                let mut m = <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap();
                m.update(msg);
                let want: [u8; 20] = m.finalize().into_bytes().into();
                assert_eq!(ours.hmac_sha1(&[msg]), want, "len {len}");
                let split = len / 3;
                let (a, b) = msg.split_at(split);
                let (b, c) = b.split_at(b.len() / 2);
                assert_eq!(ours.hmac_sha1(&[a, b, &[], c]), want, "len {len} split");
            }
        }
    }

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
