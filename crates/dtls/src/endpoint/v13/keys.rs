//! The TLS 1.3 key schedule with DTLS 1.3 labels, and the per-epoch record protection
//! (AEAD plus record number encryption).

use aes_gcm::aes::Aes128;
use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit as BlockKeyInit};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::DtlsError;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 output length (the hash of TLS_AES_128_GCM_SHA256).
pub(crate) const HASH_LEN: usize = 32;
/// AEAD tag length.
pub(crate) const TAG_LEN: usize = 16;

/// A 32-byte secret of the schedule.
pub(crate) type Secret = [u8; HASH_LEN];

/// HKDF-Extract (RFC 5869 §2.2) with SHA-256; an empty salt is HashLen zeros.
pub(crate) fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> Result<Secret, DtlsError> {
    let zeros = [0u8; HASH_LEN];
    let salt = if salt.is_empty() { &zeros[..] } else { salt };
    let mut m = <HmacSha256 as Mac>::new_from_slice(salt).map_err(|_| DtlsError::Crypto)?;
    m.update(ikm);
    Ok(m.finalize().into_bytes().into())
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with the DTLS 1.3 prefix.
pub(crate) fn hkdf_expand_label(
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), DtlsError> {
    // RFC 9147 §5.9: DTLS 1.3 uses the label prefix "dtls13" instead of "tls13 ".
    const PREFIX: &[u8] = b"dtls13";
    let len = u16::try_from(out.len()).map_err(|_| DtlsError::Crypto)?;
    let full_label_len = u8::try_from(PREFIX.len() + label.len()).map_err(|_| DtlsError::Crypto)?;
    let ctx_len = u8::try_from(context.len()).map_err(|_| DtlsError::Crypto)?;
    let mut info = Vec::with_capacity(4 + PREFIX.len() + label.len() + context.len());
    info.extend_from_slice(&len.to_be_bytes());
    info.push(full_label_len);
    info.extend_from_slice(PREFIX);
    info.extend_from_slice(label);
    info.push(ctx_len);
    info.extend_from_slice(context);
    // HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC(PRK, T(i-1) | info | i).
    let keyed = <HmacSha256 as Mac>::new_from_slice(secret).map_err(|_| DtlsError::Crypto)?;
    let mut prev: Vec<u8> = Vec::new();
    let mut filled = 0usize;
    let mut counter = 1u8;
    while filled < out.len() {
        let mut m = keyed.clone();
        m.update(&prev);
        m.update(&info);
        m.update(&[counter]);
        let block = m.finalize().into_bytes();
        for (dst, src) in out.iter_mut().skip(filled).zip(block.iter()) {
            *dst = *src;
        }
        filled = filled.saturating_add(block.len());
        prev = block.to_vec();
        counter = counter.checked_add(1).ok_or(DtlsError::Crypto)?;
    }
    Ok(())
}

/// Derive-Secret (RFC 8446 §7.1) over an already computed transcript hash.
pub(crate) fn derive_secret(
    secret: &Secret,
    label: &[u8],
    transcript_hash: &[u8],
) -> Result<Secret, DtlsError> {
    let mut out = [0u8; HASH_LEN];
    hkdf_expand_label(secret, label, transcript_hash, &mut out)?;
    Ok(out)
}

/// SHA-256 of `data`.
pub(crate) fn hash(data: &[u8]) -> Secret {
    Sha256::digest(data).into()
}

/// The handshake secrets derived from the ECDHE shared secret (RFC 8446 §7.1, no PSK).
pub(crate) struct HandshakeSecrets {
    pub(crate) handshake_secret: Secret,
    pub(crate) client: Secret,
    pub(crate) server: Secret,
}

/// Early secret → handshake secret → client/server handshake traffic secrets.
pub(crate) fn handshake_secrets(
    shared: &[u8],
    hello_hash: &[u8],
) -> Result<HandshakeSecrets, DtlsError> {
    let early = hkdf_extract(&[], &[0u8; HASH_LEN])?;
    let derived = derive_secret(&early, b"derived", &hash(&[]))?;
    let handshake_secret = hkdf_extract(&derived, shared)?;
    Ok(HandshakeSecrets {
        client: derive_secret(&handshake_secret, b"c hs traffic", hello_hash)?,
        server: derive_secret(&handshake_secret, b"s hs traffic", hello_hash)?,
        handshake_secret,
    })
}

/// The application secrets (client, server, exporter) from the handshake secret and the
/// transcript hash through the server Finished.
pub(crate) fn application_secrets(
    handshake_secret: &Secret,
    server_finished_hash: &[u8],
) -> Result<(Secret, Secret, Secret), DtlsError> {
    let derived = derive_secret(handshake_secret, b"derived", &hash(&[]))?;
    let master = hkdf_extract(&derived, &[0u8; HASH_LEN])?;
    Ok((
        derive_secret(&master, b"c ap traffic", server_finished_hash)?,
        derive_secret(&master, b"s ap traffic", server_finished_hash)?,
        derive_secret(&master, b"exp master", server_finished_hash)?,
    ))
}

/// Finished verify_data (RFC 8446 §4.4.4).
pub(crate) fn finished_verify_data(
    base_key: &Secret,
    transcript_hash: &[u8],
) -> Result<Secret, DtlsError> {
    let mut fk = [0u8; HASH_LEN];
    hkdf_expand_label(base_key, b"finished", &[], &mut fk)?;
    let mut m = <HmacSha256 as Mac>::new_from_slice(&fk).map_err(|_| DtlsError::Crypto)?;
    m.update(transcript_hash);
    Ok(m.finalize().into_bytes().into())
}

/// The next application traffic secret (RFC 8446 §7.2).
pub(crate) fn next_traffic_secret(secret: &Secret) -> Result<Secret, DtlsError> {
    let mut out = [0u8; HASH_LEN];
    hkdf_expand_label(secret, b"traffic upd", &[], &mut out)?;
    Ok(out)
}

/// TLS-Exporter (RFC 8446 §7.5) with an empty context.
pub(crate) fn export(exporter: &Secret, label: &[u8], len: usize) -> Result<Vec<u8>, DtlsError> {
    let inner = derive_secret(exporter, label, &hash(&[]))?;
    let mut out = vec![0u8; len];
    hkdf_expand_label(&inner, b"exporter", &hash(&[]), &mut out)?;
    Ok(out)
}

/// Record protection of one epoch and direction: AES-128-GCM key and IV, and the record number
/// encryption key (RFC 9147 §4.2.3).
#[derive(Clone)]
pub(crate) struct EpochKeys {
    /// `ring` AES-128-GCM, expanded once per epoch; seal/open in place, no allocation per record.
    aead: Box<ring::aead::LessSafeKey>,
    iv: [u8; 12],
    sn: Box<Aes128>,
    /// The traffic secret these keys come from (for KeyUpdate).
    pub(crate) secret: Secret,
}

impl std::fmt::Debug for EpochKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EpochKeys(..)")
    }
}

impl EpochKeys {
    /// Traffic keys of `secret` (RFC 8446 §7.3, RFC 9147 §4.2.3 for "sn").
    pub(crate) fn new(secret: &Secret) -> Result<Self, DtlsError> {
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        let mut sn = [0u8; 16];
        hkdf_expand_label(secret, b"key", &[], &mut key)?;
        hkdf_expand_label(secret, b"iv", &[], &mut iv)?;
        hkdf_expand_label(secret, b"sn", &[], &mut sn)?;
        Ok(EpochKeys {
            aead: Box::new(ring::aead::LessSafeKey::new(
                ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &key)
                    .map_err(|_| DtlsError::Crypto)?,
            )),
            iv,
            sn: Box::new(
                <Aes128 as BlockKeyInit>::new_from_slice(&sn).map_err(|_| DtlsError::Crypto)?,
            ),
            secret: *secret,
        })
    }

    fn nonce(&self, seq: u64) -> ring::aead::Nonce {
        // RFC 8446 §5.3 / RFC 9147 §4: the 64-bit record sequence number, left-padded, XOR IV.
        let mut n = self.iv;
        for (dst, src) in n.iter_mut().skip(4).zip(seq.to_be_bytes().iter()) {
            *dst ^= *src;
        }
        ring::aead::Nonce::assume_unique_for_key(n)
    }

    /// The record number mask: AES-ECB of the first 16 ciphertext bytes (RFC 9147 §4.2.3).
    pub(crate) fn mask(&self, ciphertext: &[u8]) -> Result<[u8; 16], DtlsError> {
        let block: [u8; 16] = ciphertext
            .get(..16)
            .and_then(|s| s.try_into().ok())
            .ok_or(DtlsError::BadRecordMac)?;
        let mut b = block.into();
        self.sn.encrypt_block(&mut b);
        Ok(b.into())
    }

    /// Encrypt `inner` (content || type) in place appending the tag; `aad` is the header.
    pub(crate) fn seal(&self, seq: u64, aad: &[u8], inner: &mut Vec<u8>) -> Result<(), DtlsError> {
        let tag = self
            .aead
            .seal_in_place_separate_tag(self.nonce(seq), ring::aead::Aad::from(aad), inner)
            .map_err(|_| DtlsError::Crypto)?;
        inner.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Authenticate and decrypt `ciphertext || tag` into `out` (cleared first).
    pub(crate) fn open(
        &self,
        seq: u64,
        aad: &[u8],
        record: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), DtlsError> {
        out.clear();
        let ct_len = record
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(DtlsError::BadRecordMac)?;
        let (ct, tag) = record.split_at(ct_len);
        let tag = ring::aead::Tag::try_from(tag).map_err(|_| DtlsError::BadRecordMac)?;
        out.extend_from_slice(ct);
        let opened = self.aead.open_in_place_separate_tag(
            self.nonce(seq),
            ring::aead::Aad::from(aad),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_label_layout_and_lengths() {
        // Same secret, different labels and lengths give different, prefix-consistent outputs.
        let s = [1u8; 32];
        let mut a = [0u8; 16];
        let mut b = [0u8; 48];
        hkdf_expand_label(&s, b"key", &[], &mut a).unwrap();
        hkdf_expand_label(&s, b"key", &[], &mut b).unwrap();
        assert_ne!(&a[..], &b[..16], "length is part of the info");
        let mut c = [0u8; 16];
        hkdf_expand_label(&s, b"iv", &[], &mut c).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn hkdf_rfc5869_case_1_expand() {
        // RFC 5869 A.1 PRK; our expand with a raw info reproduces OKM when the label
        // machinery is bypassed, so test extract only (expand is covered by interop).
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0u8..=12).collect();
        let prk = hkdf_extract(&salt, &ikm).unwrap();
        assert_eq!(
            hex::encode(prk),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
        );
    }

    #[test]
    fn seal_open_and_mask() {
        let k = EpochKeys::new(&[3u8; 32]).unwrap();
        let mut inner = b"hello\x17".to_vec();
        k.seal(5, b"hdr", &mut inner).unwrap();
        let mut out = Vec::new();
        k.open(5, b"hdr", &inner, &mut out).unwrap();
        assert_eq!(out, b"hello\x17");
        assert_eq!(
            k.open(6, b"hdr", &inner, &mut out),
            Err(DtlsError::BadRecordMac)
        );
        assert_eq!(
            k.open(5, b"hdx", &inner, &mut out),
            Err(DtlsError::BadRecordMac)
        );
        assert!(k.mask(&inner).is_ok());
        assert_eq!(k.mask(&[0; 15]), Err(DtlsError::BadRecordMac));
    }
}
