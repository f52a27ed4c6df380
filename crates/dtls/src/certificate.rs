//! Self-signed ECDSA P-256 certificates and their SDP fingerprints (RFC 8122 §5, RFC 8827 §6.5).

use hmac::{Hmac, Mac};
use p256::ecdsa::VerifyingKey;
use rand_core::CryptoRngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::crypto::fixed_random;
use crate::error::DtlsError;

/// Hash functions usable in `a=fingerprint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// sha-1
    Sha1,
    /// sha-256
    Sha256,
    /// sha-384
    Sha384,
    /// sha-512
    Sha512,
}

impl HashAlgorithm {
    /// The token used in SDP (RFC 8122 §5: the "hash-func" names of the IANA registry).
    pub fn sdp_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
        }
    }

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Hash `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => Sha1::digest(data).to_vec(),
            HashAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn from_sdp_name(name: &str) -> Result<Self, DtlsError> {
        // RFC 8122 §5: hash function names are case-insensitive.
        match name.to_ascii_lowercase().as_str() {
            "sha-1" => Ok(HashAlgorithm::Sha1),
            "sha-256" => Ok(HashAlgorithm::Sha256),
            "sha-384" => Ok(HashAlgorithm::Sha384),
            "sha-512" => Ok(HashAlgorithm::Sha512),
            _ => Err(DtlsError::UnsupportedFingerprintAlgorithm),
        }
    }
}

/// A certificate fingerprint as carried in SDP `a=fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Hash function.
    pub algorithm: HashAlgorithm,
    /// Digest of the DER certificate.
    pub value: Vec<u8>,
}

impl Fingerprint {
    /// Fingerprint of a DER certificate.
    pub fn of_der(algorithm: HashAlgorithm, der: &[u8]) -> Self {
        Fingerprint {
            algorithm,
            value: algorithm.digest(der),
        }
    }

    /// Parse the SDP attribute value, e.g. `"sha-256 AB:CD:…"` (hex in either case).
    pub fn parse(sdp_value: &str) -> Result<Fingerprint, DtlsError> {
        let mut parts = sdp_value.split_ascii_whitespace();
        let alg = parts.next().ok_or(DtlsError::MalformedFingerprint)?;
        let hexpart = parts.next().ok_or(DtlsError::MalformedFingerprint)?;
        if parts.next().is_some() {
            return Err(DtlsError::MalformedFingerprint);
        }
        let algorithm = HashAlgorithm::from_sdp_name(alg)?;
        let mut value = Vec::with_capacity(algorithm.output_len());
        for pair in hexpart.split(':') {
            let b = pair.as_bytes();
            let [hi, lo] = b else {
                return Err(DtlsError::MalformedFingerprint);
            };
            let nib = |c: u8| -> Result<u8, DtlsError> {
                match c {
                    b'0'..=b'9' => Ok(c - b'0'),
                    b'a'..=b'f' => Ok(c - b'a' + 10),
                    b'A'..=b'F' => Ok(c - b'A' + 10),
                    _ => Err(DtlsError::MalformedFingerprint),
                }
            };
            value.push((nib(*hi)? << 4) | nib(*lo)?);
            if value.len() > algorithm.output_len() {
                return Err(DtlsError::MalformedFingerprint);
            }
        }
        if value.len() != algorithm.output_len() {
            return Err(DtlsError::MalformedFingerprint);
        }
        Ok(Fingerprint { algorithm, value })
    }

    /// Whether `der` hashes to this fingerprint (constant-time comparison).
    pub fn matches(&self, der: &[u8]) -> bool {
        let d = self.algorithm.digest(der);
        d.len() == self.value.len() && bool::from(d.ct_eq(&self.value))
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ", self.algorithm.sdp_name())?;
        for (i, b) in self.value.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// A self-signed ECDSA P-256 certificate and its private key.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    /// The private scalar (zeroized on drop by `p256`).
    key: p256::SecretKey,
    /// The public key, SEC 1 uncompressed (65 bytes), as carried in the certificate.
    public: Vec<u8>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field(
                "sha-256",
                &self.fingerprint(HashAlgorithm::Sha256).to_string(),
            )
            .finish_non_exhaustive()
    }
}

// ---- a minimal DER writer ----------------------------------------------------------------

fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let sig = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | sig.len() as u8);
        out.extend_from_slice(sig);
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    out.push(tag);
    der_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

// DER-encoded OBJECT IDENTIFIER contents.
const OID_ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

impl Certificate {
    /// Generate a key and a self-signed certificate using the OS RNG.
    pub fn generate() -> Result<Certificate, DtlsError> {
        Self::generate_with_rng(&mut rand::rngs::OsRng)
    }

    /// Generate a key and a self-signed certificate from `rng` (deterministic for tests).
    ///
    /// The certificate is X.509 v3 without extensions, subject = issuer = `CN=tern`, signed with
    /// ecdsa-with-SHA256, valid from 2000-01-01 to 9999-12-31 (RFC 5280 §4.1.2.5's "no
    /// well-defined expiration"): WebRTC authenticates by fingerprint, and this crate reads no clock.
    pub fn generate_with_rng(rng: &mut impl CryptoRngCore) -> Result<Certificate, DtlsError> {
        // Same draws from `rng` as `p256::ecdsa::SigningKey::random`: seeded certificates keep
        // their key across this crate's versions.
        let key = p256::SecretKey::random(rng);
        let scalar = secret_bytes(&key);
        let public = ring_public_key(&scalar)?;
        let mut serial = [0u8; 16];
        rng.fill_bytes(&mut serial);
        // Positive, no leading zero octet needed: clear the top bit and make it non-zero.
        if let Some(first) = serial.first_mut() {
            *first = (*first & 0x7f) | 0x01;
        }
        let sig_alg = seq(&[&tlv(0x06, OID_ECDSA_WITH_SHA256)]);
        let name = seq(&[&tlv(
            0x31,
            &seq(&[&tlv(0x06, OID_COMMON_NAME), &tlv(0x0c, b"tern")]),
        )]);
        let validity = seq(&[&tlv(0x17, b"000101000000Z"), &tlv(0x18, b"99991231235959Z")]);
        let mut bits = vec![0u8];
        bits.extend_from_slice(&public);
        let spki = seq(&[
            &seq(&[&tlv(0x06, OID_EC_PUBLIC_KEY), &tlv(0x06, OID_PRIME256V1)]),
            &tlv(0x03, &bits),
        ]);
        let version = tlv(0xa0, &tlv(0x02, &[2]));
        let tbs = seq(&[
            &version,
            &tlv(0x02, &serial),
            &sig_alg,
            &name,
            &validity,
            &name,
            &spki,
        ]);
        let sig =
            sign_p256(&scalar, &public, &tbs).map_err(|_| DtlsError::CertificateGeneration)?;
        let mut sig_bits = vec![0u8];
        sig_bits.extend_from_slice(&sig);
        let der = seq(&[&tbs, &sig_alg, &tlv(0x03, &sig_bits)]);
        Ok(Certificate { der, key, public })
    }

    /// Deterministic generation from a 32-byte seed, for tests, fuzzing and benchmarks. Real
    /// endpoints use [`Certificate::generate`].
    pub fn generate_from_seed(seed: [u8; 32]) -> Result<Certificate, DtlsError> {
        use rand::SeedableRng;
        Self::generate_with_rng(&mut rand::rngs::StdRng::from_seed(seed))
    }

    /// Build from a DER certificate and its P-256 private key (32-byte big-endian scalar).
    /// The certificate must carry that key.
    pub fn from_der_and_secret_key(
        der: Vec<u8>,
        secret_scalar: &[u8],
    ) -> Result<Certificate, DtlsError> {
        let key = p256::SecretKey::from_slice(secret_scalar)
            .map_err(|_| DtlsError::CertificateGeneration)?;
        let public = ring_public_key(&secret_bytes(&key))?;
        let pk = peer_public_key(&der)?;
        if pk.to_encoded_point(false).as_bytes() != public.as_slice() {
            return Err(DtlsError::CertificateGeneration);
        }
        Ok(Certificate { der, key, public })
    }

    /// The certificate's fingerprint.
    pub fn fingerprint(&self, alg: HashAlgorithm) -> Fingerprint {
        Fingerprint::of_der(alg, &self.der)
    }

    /// The DER certificate.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// ECDSA-SHA256 signature (DER) over `msg`; deterministic for a given key and message.
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, DtlsError> {
        sign_p256(&secret_bytes(&self.key), &self.public, msg)
    }
}

// ---- P-256 with ring ---------------------------------------------------------------------
//
// RustCrypto `p256` 0.13 has no precomputed base-point tables: each key generation and each
// signature is a generic scalar multiplication, several times ring's table-driven nistz256
// assembly (in the setup profile of README.md: a certificate 370 -> 70 µs, a signature 205 -> 50
// µs). Key generation and signing therefore run on ring too. ring takes its randomness
// only through its sealed `SecureRandom` trait, whose one implementation outside ring's tests is
// the OS generator; to keep seeded certificates and handshakes reproducible this crate hands ring
// bytes it chose itself through `ring::test::rand::FixedSliceRandom` (ring 0.17's public,
// deprecated test module): every `fill` ring makes for P-256 asks for exactly 32 bytes (a private
// scalar, or the secret input of its hedged nonce), which this slice is.

/// The 32-byte big-endian private scalar.
fn secret_bytes(key: &p256::SecretKey) -> [u8; 32] {
    key.to_bytes().into()
}

/// The SEC 1 uncompressed public key (65 bytes) of a P-256 private scalar.
fn ring_public_key(scalar: &[u8; 32]) -> Result<Vec<u8>, DtlsError> {
    // ring "generates" the private key by drawing 32 bytes and checking 0 < d < n: with these
    // bytes it takes `scalar` itself (already in range: it came from a `p256::SecretKey`).
    let private = ring::agreement::EphemeralPrivateKey::generate(
        &ring::agreement::ECDH_P256,
        &fixed_random(scalar),
    )
    .map_err(|_| DtlsError::CertificateGeneration)?;
    let public = private
        .compute_public_key()
        .map_err(|_| DtlsError::CertificateGeneration)?;
    Ok(public.as_ref().to_vec())
}

/// The secret input of ring's nonce for one signature: HMAC-SHA256 keyed by the private scalar
/// over the message digest. ring derives the nonce `k` as a hash of the key, these bytes and
/// the message digest, so `k` is unpredictable without the key and differs per message, as
/// with RFC 6979's deterministic nonces (same key and message, same signature).
fn nonce_input(scalar: &[u8; 32], msg: &[u8]) -> Result<[u8; 32], DtlsError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(scalar).map_err(|_| DtlsError::Crypto)?;
    mac.update(b"tern-dtls ecdsa nonce");
    mac.update(&Sha256::digest(msg));
    Ok(mac.finalize().into_bytes().into())
}

/// ECDSA P-256 SHA-256 signature, DER (`ecdsa_secp256r1_sha256`), with ring.
fn sign_p256(scalar: &[u8; 32], public: &[u8], msg: &[u8]) -> Result<Vec<u8>, DtlsError> {
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    let input = nonce_input(scalar, msg)?;
    let random = fixed_random(&input);
    let signed = EcdsaKeyPair::from_private_key_and_public_key(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        scalar,
        public,
        &random,
    )
    .map_err(|_| DtlsError::Crypto)
    .and_then(|pair| pair.sign(&random, msg).map_err(|_| DtlsError::Crypto));
    match signed {
        Ok(sig) => Ok(sig.as_ref().to_vec()),
        // ring rejects a nonce outside [1, n-1] and draws again, getting the same bytes from a
        // fixed slice (probability about 2^-32 per signature): sign with RustCrypto's RFC 6979
        // nonce instead.
        Err(_) => {
            use p256::ecdsa::signature::Signer;
            let key = p256::ecdsa::SigningKey::from_slice(scalar).map_err(|_| DtlsError::Crypto)?;
            let sig: p256::ecdsa::DerSignature =
                key.try_sign(msg).map_err(|_| DtlsError::Crypto)?;
            Ok(sig.as_bytes().to_vec())
        }
    }
}

/// Extract the P-256 public key of a DER certificate.
pub(crate) fn peer_public_key(der: &[u8]) -> Result<VerifyingKey, DtlsError> {
    use x509_parser::prelude::FromDer;
    let (rest, cert) = x509_parser::certificate::X509Certificate::from_der(der).map_err(|_| {
        DtlsError::BadCertificate {
            reason: "not a DER X.509 certificate",
        }
    })?;
    if !rest.is_empty() {
        return Err(DtlsError::BadCertificate {
            reason: "trailing bytes after certificate",
        });
    }
    let spki = &cert.tbs_certificate.subject_pki;
    if spki.algorithm.algorithm.as_bytes() != OID_EC_PUBLIC_KEY {
        return Err(DtlsError::BadCertificate {
            reason: "public key is not EC",
        });
    }
    let curve_ok = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .is_some_and(|oid| oid.as_bytes() == OID_PRIME256V1);
    if !curve_ok {
        return Err(DtlsError::BadCertificate {
            reason: "EC key is not on P-256",
        });
    }
    VerifyingKey::from_sec1_bytes(&spki.subject_public_key.data).map_err(|_| {
        DtlsError::BadCertificate {
            reason: "invalid P-256 public key",
        }
    })
}

/// Verify an ecdsa_secp256r1_sha256 DER signature.
///
/// Uses ring's P-256 (assembly) rather than RustCrypto's: verification is the costliest step
/// of a handshake (two per handshake), see README.md for the measurement.
pub(crate) fn verify_signature(
    key: &VerifyingKey,
    msg: &[u8],
    der_sig: &[u8],
    message: &'static str,
) -> Result<(), DtlsError> {
    let point = key.to_encoded_point(false);
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        point.as_bytes(),
    )
    .verify(msg, der_sig)
    .map_err(|_| DtlsError::BadSignature { message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generated_certificate_parses_and_signs() {
        let mut rng = rand::rngs::StdRng::from_seed([3; 32]);
        let c = Certificate::generate_with_rng(&mut rng).unwrap();
        let pk = peer_public_key(c.der()).unwrap();
        let sig = c.sign(b"hello").unwrap();
        verify_signature(&pk, b"hello", &sig, "test").unwrap();
        assert!(verify_signature(&pk, b"hellp", &sig, "test").is_err());
        // the self-signature verifies too
        use x509_parser::prelude::FromDer;
        let (_, x) = x509_parser::certificate::X509Certificate::from_der(c.der()).unwrap();
        let tbs: &[u8] = x.tbs_certificate.as_ref();
        verify_signature(&pk, tbs, &x.signature_value.data, "self").unwrap();
        let again =
            Certificate::generate_with_rng(&mut rand::rngs::StdRng::from_seed([3; 32])).unwrap();
        assert_eq!(again.der(), c.der());
    }

    /// ring's key generation and signatures against RustCrypto `p256`, both ways: the public key
    /// ring computes is p256's, a ring signature verifies under p256, a p256 (RFC 6979) signature
    /// verifies under ring, and a signature is a deterministic function of key and message.
    #[test]
    fn ring_p256_cross_checked_with_rustcrypto() {
        use p256::ecdsa::signature::{Signer, Verifier};
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        for seed in 0u8..8 {
            let c = Certificate::generate_from_seed([seed; 32]).unwrap();
            let p256_public = c.key.public_key().to_encoded_point(false);
            assert_eq!(c.public.as_slice(), p256_public.as_bytes(), "seed {seed}");
            let pk = peer_public_key(c.der()).unwrap();
            for msg in [&b""[..], b"hello", &[0xa5; 1000]] {
                let ours = c.sign(msg).unwrap();
                assert_eq!(ours, c.sign(msg).unwrap(), "deterministic");
                let parsed = p256::ecdsa::DerSignature::from_bytes(&ours).unwrap();
                pk.verify(msg, &parsed).unwrap();
                let theirs: p256::ecdsa::DerSignature =
                    p256::ecdsa::SigningKey::from(&c.key).sign(msg);
                verify_signature(&pk, msg, theirs.as_bytes(), "p256").unwrap();
                let mut bad = msg.to_vec();
                bad.push(1);
                assert!(pk.verify(&bad, &parsed).is_err());
            }
            assert_ne!(c.sign(b"a").unwrap(), c.sign(b"b").unwrap());
        }
    }

    #[test]
    fn from_der_and_secret_key_checks_the_pair() {
        let a = Certificate::generate_from_seed([5; 32]).unwrap();
        let b = Certificate::generate_from_seed([6; 32]).unwrap();
        let scalar = a.key.to_bytes();
        let again = Certificate::from_der_and_secret_key(a.der().to_vec(), &scalar).unwrap();
        assert_eq!(again.der(), a.der());
        assert_eq!(
            Certificate::from_der_and_secret_key(b.der().to_vec(), &scalar).err(),
            Some(DtlsError::CertificateGeneration)
        );
        assert!(Certificate::from_der_and_secret_key(vec![0x30, 0], &scalar).is_err());
    }

    #[test]
    fn fingerprint_parse_display() {
        let c =
            Certificate::generate_with_rng(&mut rand::rngs::StdRng::from_seed([4; 32])).unwrap();
        for alg in [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let fp = c.fingerprint(alg);
            let s = fp.to_string();
            assert_eq!(Fingerprint::parse(&s).unwrap(), fp);
            assert_eq!(Fingerprint::parse(&s.to_lowercase()).unwrap(), fp);
            assert_eq!(Fingerprint::parse(&s.to_uppercase()).unwrap(), fp);
            assert!(fp.matches(c.der()));
        }
        assert_eq!(
            Fingerprint::parse("sha-256 AB:CD"),
            Err(DtlsError::MalformedFingerprint)
        );
        assert_eq!(
            Fingerprint::parse("md5 AB:CD"),
            Err(DtlsError::UnsupportedFingerprintAlgorithm)
        );
        assert_eq!(
            Fingerprint::parse("sha-1 ZZ"),
            Err(DtlsError::MalformedFingerprint)
        );
        assert_eq!(Fingerprint::parse(""), Err(DtlsError::MalformedFingerprint));
        let s = c.fingerprint(HashAlgorithm::Sha256).to_string();
        assert!(s.starts_with("sha-256 "));
        assert_eq!(s.len(), 8 + 32 * 3 - 1);
    }
}
