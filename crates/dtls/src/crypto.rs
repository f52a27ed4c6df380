//! Cryptographic building blocks: cipher suites, the TLS 1.2 PRF, record AEADs, ECDHE.

use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256, Sha384};

use crate::error::DtlsError;

/// The cipher suites this crate implements (all ECDHE_ECDSA with an AEAD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xC02B, RFC 5289).
    EcdheEcdsaAes128GcmSha256,
    /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (0xC02C, RFC 5289).
    EcdheEcdsaAes256GcmSha384,
    /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (0xCCA9, RFC 7905).
    EcdheEcdsaChacha20Poly1305Sha256,
    /// TLS_AES_128_GCM_SHA256 (0x1301, RFC 8446 §B.4), the DTLS 1.3 suite. Not part of
    /// [`CipherSuite::ALL`] (those are the DTLS 1.2 suites); enabled by `DtlsConfig::dtls13`.
    Tls13Aes128GcmSha256,
}

/// The PRF hash of a suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrfHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl CipherSuite {
    /// Every suite, in our default preference order.
    pub const ALL: [CipherSuite; 3] = [
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        CipherSuite::EcdheEcdsaAes256GcmSha384,
    ];

    /// IANA id.
    pub fn id(self) -> u16 {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 => 0xc02b,
            CipherSuite::EcdheEcdsaAes256GcmSha384 => 0xc02c,
            CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => 0xcca9,
            CipherSuite::Tls13Aes128GcmSha256 => 0x1301,
        }
    }

    /// From the IANA id.
    pub fn from_id(id: u16) -> Option<Self> {
        CipherSuite::ALL.into_iter().find(|s| s.id() == id)
    }

    /// PRF / transcript hash.
    pub fn prf_hash(self) -> PrfHash {
        match self {
            CipherSuite::EcdheEcdsaAes256GcmSha384 => PrfHash::Sha384,
            _ => PrfHash::Sha256,
        }
    }

    /// Encryption key length.
    pub fn key_len(self) -> usize {
        match self {
            CipherSuite::EcdheEcdsaAes128GcmSha256 | CipherSuite::Tls13Aes128GcmSha256 => 16,
            _ => 32,
        }
    }

    /// Fixed IV length from the key block (RFC 5288 §3: 4; RFC 7905 §2: 12).
    pub fn fixed_iv_len(self) -> usize {
        match self {
            CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 | CipherSuite::Tls13Aes128GcmSha256 => 12,
            _ => 4,
        }
    }

    /// Bytes a protected record adds to its plaintext (explicit nonce + tag).
    pub fn record_overhead(self) -> usize {
        match self {
            CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => 16,
            // content type byte + tag
            CipherSuite::Tls13Aes128GcmSha256 => 1 + 16,
            _ => 8 + 16,
        }
    }
}

type HmacSha256 = Hmac<Sha256>;
type HmacSha384 = Hmac<Sha384>;

/// P_hash of RFC 5246 §5 for one HMAC type.
macro_rules! p_hash {
    ($mac:ty, $secret:expr, $label:expr, $seed:expr, $out:expr) => {{
        let keyed = <$mac as Mac>::new_from_slice($secret).map_err(|_| DtlsError::Crypto)?;
        // A(1) = HMAC(secret, label + seed)
        let mut a = {
            let mut m = keyed.clone();
            m.update($label);
            m.update($seed);
            m.finalize().into_bytes()
        };
        let mut filled = 0usize;
        while filled < $out.len() {
            let mut m = keyed.clone();
            m.update(&a);
            m.update($label);
            m.update($seed);
            let block = m.finalize().into_bytes();
            for (dst, src) in $out.iter_mut().skip(filled).zip(block.iter()) {
                *dst = *src;
            }
            filled = filled.saturating_add(block.len());
            let mut m = keyed.clone();
            m.update(&a);
            a = m.finalize().into_bytes();
        }
        Ok(())
    }};
}

/// The TLS 1.2 PRF (RFC 5246 §5): `PRF(secret, label, seed)` filling `out`.
pub fn prf(
    hash: PrfHash,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    out: &mut [u8],
) -> Result<(), DtlsError> {
    match hash {
        PrfHash::Sha256 => p_hash!(HmacSha256, secret, label, seed, out),
        PrfHash::Sha384 => p_hash!(HmacSha384, secret, label, seed, out),
    }
}

/// Hash of the handshake transcript with the suite's PRF hash.
pub fn transcript_hash(hash: PrfHash, data: &[u8]) -> Vec<u8> {
    match hash {
        PrfHash::Sha256 => Sha256::digest(data).to_vec(),
        PrfHash::Sha384 => Sha384::digest(data).to_vec(),
    }
}

/// AEAD state for one direction of one epoch: a `ring` key, expanded once per epoch (AES key
/// schedule and GHASH table, or the ChaCha20 key), and the fixed IV. Sealing and opening work in
/// place in the caller's buffers and allocate nothing per record (crates/srtp/README.md records
/// why `ring` is the AES-GCM backend: 3× RustCrypto `aes-gcm` 0.10 on this CPU).
#[derive(Clone)]
pub struct RecordCipher {
    key: Box<ring::aead::LessSafeKey>,
    /// GCM: the 4-byte salt in the first bytes (RFC 5288 §3); ChaCha20-Poly1305: the 12-byte IV.
    iv: [u8; 12],
    /// GCM carries an 8-byte explicit nonce in each record; ChaCha20-Poly1305 does not.
    explicit_nonce: bool,
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RecordCipher")
            .field(self.key.algorithm())
            .finish()
    }
}

/// AEAD tag length of every suite here.
pub const TAG_LEN: usize = 16;

/// Length of the explicit nonce of a GCM record (RFC 5288 §3).
const EXPLICIT_NONCE_LEN: usize = 8;

/// The 13-byte additional data (RFC 5246 §6.2.3.3 with the DTLS epoch||seq, RFC 6347 §4.1.2.1).
pub fn additional_data(
    epoch_seq: [u8; 8],
    content_type: u8,
    version: u16,
    plaintext_len: usize,
) -> [u8; 13] {
    let mut ad = [0u8; 13];
    let len = u16::try_from(plaintext_len)
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    let ver = version.to_be_bytes();
    for (i, b) in epoch_seq
        .iter()
        .chain([content_type].iter())
        .chain(ver.iter())
        .chain(len.iter())
        .enumerate()
    {
        if let Some(slot) = ad.get_mut(i) {
            *slot = *b;
        }
    }
    ad
}

impl RecordCipher {
    /// Build from key and fixed IV.
    pub fn new(suite: CipherSuite, key: &[u8], iv: &[u8]) -> Result<Self, DtlsError> {
        let (algorithm, explicit_nonce) = match suite {
            CipherSuite::EcdheEcdsaAes128GcmSha256 => (&ring::aead::AES_128_GCM, true),
            CipherSuite::EcdheEcdsaAes256GcmSha384 => (&ring::aead::AES_256_GCM, true),
            CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => {
                (&ring::aead::CHACHA20_POLY1305, false)
            }
            // DTLS 1.3 records are protected by the 1.3 record layer, not this type.
            CipherSuite::Tls13Aes128GcmSha256 => return Err(DtlsError::Crypto),
        };
        if iv.len() != suite.fixed_iv_len() || key.len() != suite.key_len() {
            return Err(DtlsError::Crypto);
        }
        let mut fixed = [0u8; 12];
        for (dst, src) in fixed.iter_mut().zip(iv) {
            *dst = *src;
        }
        let unbound = ring::aead::UnboundKey::new(algorithm, key).map_err(|_| DtlsError::Crypto)?;
        Ok(RecordCipher {
            key: Box::new(ring::aead::LessSafeKey::new(unbound)),
            iv: fixed,
            explicit_nonce,
        })
    }

    /// Bytes added to a plaintext.
    pub fn overhead(&self) -> usize {
        self.explicit_len() + TAG_LEN
    }

    fn explicit_len(&self) -> usize {
        if self.explicit_nonce {
            EXPLICIT_NONCE_LEN
        } else {
            0
        }
    }

    /// The per-record nonce. GCM: salt || explicit nonce (RFC 5288 §3), where the explicit nonce
    /// is the record's epoch||seq. ChaCha20-Poly1305: RFC 7905 §2, the 64-bit sequence number,
    /// left-padded, XORed with the IV.
    fn nonce(&self, explicit: [u8; 8]) -> ring::aead::Nonce {
        let mut n = self.iv;
        for (dst, src) in n.iter_mut().skip(4).zip(explicit.iter()) {
            if self.explicit_nonce {
                *dst = *src;
            } else {
                *dst ^= *src;
            }
        }
        ring::aead::Nonce::assume_unique_for_key(n)
    }

    /// Encrypt `plaintext` and append the record body (explicit nonce, ciphertext, tag) to `out`.
    pub fn seal(
        &self,
        epoch_seq: [u8; 8],
        content_type: u8,
        version: u16,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), DtlsError> {
        let ad = additional_data(epoch_seq, content_type, version, plaintext.len());
        if self.explicit_nonce {
            // RFC 5288 §3 / RFC 6347 §4.1.2.1: the explicit nonce is epoch||seq, unique per key.
            out.extend_from_slice(&epoch_seq);
        }
        let start = out.len();
        out.extend_from_slice(plaintext);
        let buf = out.get_mut(start..).ok_or(DtlsError::Crypto)?;
        let tag = self
            .key
            .seal_in_place_separate_tag(self.nonce(epoch_seq), ring::aead::Aad::from(ad), buf)
            .map_err(|_| DtlsError::Crypto)?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Decrypt a record body into `out` (cleared first). Fails with `BadRecordMac`.
    pub fn open(
        &self,
        epoch_seq: [u8; 8],
        content_type: u8,
        version: u16,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), DtlsError> {
        out.clear();
        let explicit_len = self.explicit_len();
        let ct_len = body
            .len()
            .checked_sub(explicit_len + TAG_LEN)
            .ok_or(DtlsError::BadRecordMac)?;
        let (explicit, rest) = body.split_at(explicit_len);
        let (ct, tag) = rest.split_at(ct_len);
        let nonce = if self.explicit_nonce {
            self.nonce(explicit.try_into().map_err(|_| DtlsError::BadRecordMac)?)
        } else {
            self.nonce(epoch_seq)
        };
        let tag = ring::aead::Tag::try_from(tag).map_err(|_| DtlsError::BadRecordMac)?;
        let ad = additional_data(epoch_seq, content_type, version, ct_len);
        out.extend_from_slice(ct);
        let opened = self.key.open_in_place_separate_tag(
            nonce,
            ring::aead::Aad::from(ad),
            tag,
            out.as_mut_slice(),
            0..,
        );
        if opened.is_err() {
            out.clear();
            return Err(DtlsError::BadRecordMac);
        }
        Ok(())
    }
}

/// Named groups for ECDHE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NamedGroup {
    /// x25519 (29).
    X25519,
    /// secp256r1 (23).
    Secp256r1,
}

impl NamedGroup {
    /// IANA id.
    pub fn id(self) -> u16 {
        match self {
            NamedGroup::X25519 => 29,
            NamedGroup::Secp256r1 => 23,
        }
    }

    /// From the IANA id.
    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            29 => Some(NamedGroup::X25519),
            23 => Some(NamedGroup::Secp256r1),
            _ => None,
        }
    }
}

/// An ephemeral ECDHE key pair (x25519 or P-256) on ring, with its public key computed once.
///
/// ring rather than `x25519-dalek` / RustCrypto `p256`: ring's fixed-base multiplication uses
/// precomputed tables and assembly (nistz256 for P-256), several times faster per handshake, see
/// README.md. The private key comes from this crate's seeded generator, so seeded endpoints stay
/// reproducible.
pub struct EphemeralKey {
    /// The private key, consumed by the agreement.
    private: ring::agreement::EphemeralPrivateKey,
    /// The public key as sent on the wire.
    public: Vec<u8>,
}

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EphemeralKey")
            .field(self.private.algorithm())
            .finish_non_exhaustive()
    }
}

/// ring's `SecureRandom` over 32 bytes from our own generator (ring's trait is sealed; its
/// deprecated test module is its one way to take chosen bytes, see `certificate.rs`).
#[allow(deprecated)]
pub(crate) fn fixed_random(bytes: &[u8; 32]) -> ring::test::rand::FixedSliceRandom<'_> {
    ring::test::rand::FixedSliceRandom { bytes }
}

impl EphemeralKey {
    /// A fresh key for `group`.
    pub fn generate(group: NamedGroup, rng: &mut impl CryptoRngCore) -> Self {
        let algorithm = match group {
            NamedGroup::X25519 => &ring::agreement::X25519,
            NamedGroup::Secp256r1 => &ring::agreement::ECDH_P256,
        };
        loop {
            // x25519: any 32 bytes are a private key (RFC 7748 §5 clamps them). P-256: ring
            // takes them as the private scalar when 0 < d < n and fails otherwise (probability
            // about 2^-32): draw again.
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let Ok(private) =
                ring::agreement::EphemeralPrivateKey::generate(algorithm, &fixed_random(&seed))
            else {
                continue;
            };
            let Ok(public) = private.compute_public_key() else {
                continue;
            };
            break EphemeralKey {
                public: public.as_ref().to_vec(),
                private,
            };
        }
    }

    /// The public key as sent on the wire (x25519: 32 bytes; P-256: uncompressed point).
    pub fn public_bytes(&self) -> Vec<u8> {
        self.public.clone()
    }

    /// The ECDHE shared secret (the premaster secret, RFC 8422 §5.10); uses the key up.
    pub fn agree(self, peer: &[u8]) -> Result<Vec<u8>, DtlsError> {
        let algorithm = self.private.algorithm();
        if algorithm == &ring::agreement::ECDH_P256 {
            // RFC 8422 §5.1.2: only the uncompressed point format is used.
            if peer.len() != 65 || peer.first() != Some(&4) {
                return Err(DtlsError::BadKeyShare);
            }
        } else if peer.len() != 32 {
            return Err(DtlsError::BadKeyShare);
        }
        // ring checks a P-256 point is on the curve, and fails an all-zero x25519 result,
        // which RFC 8422 §5.11 says MUST be rejected.
        ring::agreement::agree_ephemeral(
            self.private,
            &ring::agreement::UnparsedPublicKey::new(algorithm, peer),
            |shared| shared.to_vec(),
        )
        .map_err(|_| DtlsError::BadKeyShare)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // TLS 1.2 PRF SHA-256 test vector (published by the IETF TLS WG mailing list, widely reused).
    #[test]
    fn prf_sha256_vector() {
        let secret = hex::decode("9bbe436ba940f017b17652849a71db35").unwrap();
        let seed = hex::decode("a0ba9f936cda311827a6f796ffd5198c").unwrap();
        let mut out = [0u8; 100];
        prf(PrfHash::Sha256, &secret, b"test label", &seed, &mut out).unwrap();
        assert_eq!(
            hex::encode(out),
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"
        );
    }

    #[test]
    fn prf_sha384_vector() {
        let secret = hex::decode("b80b733d6ceefcdc71566ea48e5567df").unwrap();
        let seed = hex::decode("cd665cf6a8447dd6ff8b27555edb7465").unwrap();
        let mut out = [0u8; 148];
        prf(PrfHash::Sha384, &secret, b"test label", &seed, &mut out).unwrap();
        assert_eq!(
            hex::encode(&out[..32]),
            "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
        );
    }

    #[test]
    fn seal_open_round_trip_all_suites() {
        for suite in CipherSuite::ALL {
            let key = vec![7u8; suite.key_len()];
            let iv = vec![9u8; suite.fixed_iv_len()];
            let c = RecordCipher::new(suite, &key, &iv).unwrap();
            let es = crate::wire::record::epoch_seq(1, 42);
            let mut body = Vec::new();
            c.seal(es, 23, 0xfefd, b"hello", &mut body).unwrap();
            assert_eq!(body.len(), 5 + suite.record_overhead());
            let mut out = Vec::new();
            c.open(es, 23, 0xfefd, &body, &mut out).unwrap();
            assert_eq!(out, b"hello");
            // wrong sequence number in the AD fails
            assert_eq!(
                c.open(
                    crate::wire::record::epoch_seq(1, 43),
                    23,
                    0xfefd,
                    &body,
                    &mut out
                ),
                Err(DtlsError::BadRecordMac)
            );
            let n = body.len();
            body[n - 1] ^= 1;
            assert_eq!(
                c.open(es, 23, 0xfefd, &body, &mut out),
                Err(DtlsError::BadRecordMac)
            );
            assert_eq!(
                c.open(es, 23, 0xfefd, &[0; 3], &mut out),
                Err(DtlsError::BadRecordMac)
            );
        }
    }

    /// The `ring` record AEAD against an independent implementation (RustCrypto `aes-gcm` and
    /// `chacha20poly1305`): same nonce construction, same AD, byte-identical record bodies.
    #[test]
    fn seal_matches_rustcrypto_reference() {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        for suite in CipherSuite::ALL {
            let key: Vec<u8> = (0..suite.key_len()).map(|i| i as u8 ^ 0x3c).collect();
            let iv: Vec<u8> = (0..suite.fixed_iv_len()).map(|i| 0xa0 + i as u8).collect();
            let c = RecordCipher::new(suite, &key, &iv).unwrap();
            for (epoch, seq, len) in [
                (1u16, 0u64, 0usize),
                (1, 7, 1),
                (2, 0xffff_ffff, 1200),
                (1, 3, 4096),
            ] {
                let es = crate::wire::record::epoch_seq(epoch, seq);
                let plain: Vec<u8> = (0..len).map(|i| (i * 31) as u8).collect();
                let ad = additional_data(es, 23, 0xfefd, len);
                let mut body = Vec::new();
                c.seal(es, 23, 0xfefd, &plain, &mut body).unwrap();
                let payload = Payload {
                    msg: &plain,
                    aad: &ad,
                };
                let expected = match suite {
                    CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => {
                        let mut nonce = [0u8; 12];
                        nonce.copy_from_slice(&iv);
                        for (n, e) in nonce[4..].iter_mut().zip(es) {
                            *n ^= e;
                        }
                        chacha20poly1305::ChaCha20Poly1305::new_from_slice(&key)
                            .unwrap()
                            .encrypt(&nonce.into(), payload)
                            .unwrap()
                    }
                    _ => {
                        let mut nonce = [0u8; 12];
                        nonce[..4].copy_from_slice(&iv);
                        nonce[4..].copy_from_slice(&es);
                        let ct = if suite.key_len() == 16 {
                            aes_gcm::Aes128Gcm::new_from_slice(&key)
                                .unwrap()
                                .encrypt(&nonce.into(), payload)
                        } else {
                            aes_gcm::Aes256Gcm::new_from_slice(&key)
                                .unwrap()
                                .encrypt(&nonce.into(), payload)
                        };
                        [es.to_vec(), ct.unwrap()].concat()
                    }
                };
                assert_eq!(
                    hex::encode(&body),
                    hex::encode(&expected),
                    "{suite:?} seq {seq} len {len}"
                );
                let mut out = vec![1, 2, 3];
                c.open(es, 23, 0xfefd, &body, &mut out).unwrap();
                assert_eq!(out, plain);
            }
        }
    }

    #[test]
    fn ecdhe_agrees() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::from_seed([1; 32]);
        for g in [NamedGroup::X25519, NamedGroup::Secp256r1] {
            let a = EphemeralKey::generate(g, &mut rng);
            let b = EphemeralKey::generate(g, &mut rng);
            let (pa, pb) = (a.public_bytes(), b.public_bytes());
            assert_eq!(a.agree(&pb).unwrap(), b.agree(&pa).unwrap());
            let a = EphemeralKey::generate(g, &mut rng);
            assert_eq!(a.agree(&[]), Err(DtlsError::BadKeyShare));
        }
        let a = EphemeralKey::generate(NamedGroup::X25519, &mut rng);
        assert_eq!(a.agree(&[0; 32]), Err(DtlsError::BadKeyShare));
        // A point of small order (here the order-8 point of RFC 7748's u = 1) gives all zeros.
        let mut one = [0u8; 32];
        one[0] = 1;
        let a = EphemeralKey::generate(NamedGroup::X25519, &mut rng);
        assert_eq!(a.agree(&one), Err(DtlsError::BadKeyShare));
    }

    /// ring's x25519 against `x25519-dalek`: the same public key from the same seed bytes, the
    /// same shared secret both ways; and RFC 7748 §6.1's test vector.
    #[test]
    fn x25519_cross_checked_with_dalek_and_rfc7748() {
        use rand::{RngCore, SeedableRng};
        let mut rng = rand::rngs::StdRng::from_seed([3; 32]);
        for _ in 0..8 {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let dalek = x25519_dalek::StaticSecret::from(seed);
            let dalek_public = x25519_dalek::PublicKey::from(&dalek);
            let ours = EphemeralKey::generate(NamedGroup::X25519, &mut Replay(seed));
            assert_eq!(ours.public_bytes(), dalek_public.as_bytes().to_vec());
            let other = x25519_dalek::StaticSecret::from([seed[0] ^ 0x55; 32]);
            let other_public = x25519_dalek::PublicKey::from(&other);
            let expected = other.diffie_hellman(&dalek_public);
            assert_eq!(
                ours.agree(other_public.as_bytes()).unwrap(),
                expected.as_bytes().to_vec()
            );
        }
        // RFC 7748 §6.1: Alice's private key, Bob's public key, the shared secret.
        let alice: [u8; 32] =
            hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .unwrap()
                .try_into()
                .unwrap();
        let bob_public =
            hex::decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
                .unwrap();
        let key = EphemeralKey::generate(NamedGroup::X25519, &mut Replay(alice));
        assert_eq!(
            hex::encode(key.public_bytes()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        assert_eq!(
            hex::encode(key.agree(&bob_public).unwrap()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        );
    }

    /// An RNG that yields the same 32 bytes on every fill, to give `generate` a chosen key.
    struct Replay([u8; 32]);

    impl rand::RngCore for Replay {
        fn next_u32(&mut self) -> u32 {
            u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for (d, s) in dest.iter_mut().zip(self.0.iter().cycle()) {
                *d = *s;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl rand::CryptoRng for Replay {}

    /// ring's P-256 ECDH against RustCrypto `p256`: the same shared secret both ways, the same
    /// seeded key twice, and a point off the curve rejected.
    #[test]
    fn p256_ecdh_cross_checked_with_rustcrypto() {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::from_seed([2; 32]);
        for _ in 0..8 {
            let ours = EphemeralKey::generate(NamedGroup::Secp256r1, &mut rng);
            let theirs = p256::ecdh::EphemeralSecret::random(&mut rng);
            let their_public = theirs.public_key().to_encoded_point(false);
            let our_public = p256::PublicKey::from_sec1_bytes(&ours.public_bytes()).unwrap();
            let expected = theirs.diffie_hellman(&our_public);
            assert_eq!(
                ours.agree(their_public.as_bytes()).unwrap(),
                expected.raw_secret_bytes().to_vec()
            );
        }
        let seeded = |s| {
            EphemeralKey::generate(
                NamedGroup::Secp256r1,
                &mut rand::rngs::StdRng::from_seed([s; 32]),
            )
            .public_bytes()
        };
        assert_eq!(seeded(9), seeded(9));
        assert_ne!(seeded(9), seeded(10));
        let k = EphemeralKey::generate(NamedGroup::Secp256r1, &mut rng);
        let mut off_curve = k.public_bytes();
        off_curve[64] ^= 1;
        assert_eq!(k.agree(&off_curve), Err(DtlsError::BadKeyShare));
    }
}
