//! Per-session cryptographic state, derived once from the master key (with KDR 0 the
//! session keys do not depend on the SSRC or the index, so every SSRC shares them).
//!
//! Everything expensive is precomputed: the expanded AES key schedules and the HMAC
//! state after absorbing the ipad/opad blocks, which each packet clones.

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper};
use aes_gcm::AeadInPlace;
use subtle::ConstantTimeEq;

use crate::config::GcmBackend;
use crate::error::SrtpError;
use crate::hmac_sha1::HmacSha1;
use crate::kdf::{self, Label};

/// HMAC-SHA1 output length.
pub(crate) const SHA1_LEN: usize = 20;
/// GCM tag length (RFC 7714 §5: 16 octets).
pub(crate) const GCM_TAG_LEN: usize = 16;

/// The labels for one of RTP and RTCP.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Labels {
    pub(crate) enc: Label,
    pub(crate) auth: Label,
    pub(crate) salt: Label,
}

pub(crate) const RTP_LABELS: Labels = Labels {
    enc: Label::RtpEncryption,
    auth: Label::RtpAuth,
    salt: Label::RtpSalt,
};
pub(crate) const RTCP_LABELS: Labels = Labels {
    enc: Label::RtcpEncryption,
    auth: Label::RtcpAuth,
    salt: Label::RtcpSalt,
};

/// The 14-byte session salt followed by two zero bytes, as a big-endian number.
fn salt_times_2_16(salt: &[u8; 14]) -> u128 {
    let mut wide = [0u8; 16];
    if let Some(d) = wide.get_mut(..14) {
        d.copy_from_slice(salt);
    }
    u128::from_be_bytes(wide)
}

/// AES_CM_128 + HMAC-SHA1 (RFC 3711 §4.1.1, §4.2.1).
#[derive(Clone)]
pub(crate) struct CmTransform {
    cipher: aes::Aes128,
    /// The 112-bit session salt times 2^16, as a big-endian number: the IV is one XOR.
    salt: u128,
    mac: HmacSha1,
    pub(crate) tag_len: usize,
}

impl CmTransform {
    pub(crate) fn new(
        master_key: &[u8],
        master_salt: &[u8],
        labels: Labels,
        tag_len: usize,
    ) -> Result<Self, SrtpError> {
        let mut key = [0u8; 16];
        let mut salt = [0u8; 14];
        // RFC 3711 §4.2.1: the session authentication key is 160 bits.
        let mut auth = [0u8; SHA1_LEN];
        kdf::derive(master_key, master_salt, labels.enc, &mut key)?;
        kdf::derive(master_key, master_salt, labels.salt, &mut salt)?;
        kdf::derive(master_key, master_salt, labels.auth, &mut auth)?;
        let mac = HmacSha1::new(&auth).ok_or(SrtpError::InvalidConfig {
            what: "HMAC key rejected",
        })?;
        Ok(CmTransform {
            cipher: aes::Aes128::new(&key.into()),
            salt: salt_times_2_16(&salt),
            mac,
            tag_len,
        })
    }

    /// A transform from session keys (after key derivation).
    #[cfg(test)]
    pub(crate) fn from_session_keys(
        key: [u8; 16],
        salt: [u8; 14],
        auth: &[u8],
        tag_len: usize,
    ) -> Self {
        CmTransform {
            cipher: aes::Aes128::new(&key.into()),
            salt: salt_times_2_16(&salt),
            mac: HmacSha1::new(auth).unwrap(),
            tag_len,
        }
    }

    /// RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16).
    #[inline]
    pub(crate) fn iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let x = (u128::from(ssrc) << 64) | (u128::from(index & 0xffff_ffff_ffff) << 16);
        (self.salt ^ x).to_be_bytes()
    }

    pub(crate) fn apply_keystream(&self, iv: &[u8; 16], data: &mut [u8]) {
        // Borrow the expanded key schedule instead of cloning it per packet.
        let core = ctr::CtrCore::<&aes::Aes128, ctr::flavors::Ctr128BE>::inner_iv_init(
            &self.cipher,
            iv.into(),
        );
        let mut c = StreamCipherCoreWrapper::from_core(core);
        c.apply_keystream(data);
    }

    /// HMAC-SHA1 over `data` followed by `suffix` (the ROC for SRTP, nothing for SRTCP).
    pub(crate) fn full_tag(&self, data: &[u8], suffix: &[u8]) -> [u8; SHA1_LEN] {
        self.mac.mac(data, suffix)
    }

    /// Two tags at once, their hashes interleaved (see `hmac_sha1`).
    pub(crate) fn full_tag2(&self, a: (&[u8], &[u8]), b: (&[u8], &[u8])) -> [[u8; SHA1_LEN]; 2] {
        self.mac.mac2(a, b)
    }

    /// Whether `full` (an untruncated tag) matches the received truncated `tag`, in constant time.
    pub(crate) fn tag_matches(&self, full: &[u8; SHA1_LEN], tag: &[u8]) -> bool {
        full.get(..self.tag_len)
            .map(|t| bool::from(t.ct_eq(tag)))
            .unwrap_or(false)
    }

    /// Constant-time comparison of the truncated tag.
    pub(crate) fn verify(&self, data: &[u8], suffix: &[u8], tag: &[u8]) -> Result<(), SrtpError> {
        let full = self.full_tag(data, suffix);
        let ok = full
            .get(..self.tag_len)
            .map(|t| bool::from(t.ct_eq(tag)))
            .unwrap_or(false);
        if ok { Ok(()) } else { Err(SrtpError::AuthFail) }
    }
}

#[allow(clippy::large_enum_variant)]
enum GcmImpl {
    RustCrypto128(Box<aes_gcm::Aes128Gcm>),
    RustCrypto256(Box<aes_gcm::Aes256Gcm>),
    #[cfg(feature = "ring")]
    Ring(ring::aead::LessSafeKey),
}

/// AEAD_AES_128_GCM / AEAD_AES_256_GCM (RFC 7714).
pub(crate) struct GcmTransform {
    aead: GcmImpl,
    /// The 96-bit session salt as a big-endian number, so the IV is one XOR.
    salt: u128,
}

impl GcmTransform {
    pub(crate) fn new(
        master_key: &[u8],
        master_salt: &[u8],
        labels: Labels,
        backend: GcmBackend,
    ) -> Result<Self, SrtpError> {
        let mut key = [0u8; 32];
        let key = key
            .get_mut(..master_key.len())
            .ok_or(SrtpError::BadMasterKeyLength {
                expected: 32,
                got: master_key.len(),
            })?;
        let mut salt = [0u8; 12];
        // RFC 7714 §12: session key as long as the master key, 96-bit session salt.
        kdf::derive(master_key, master_salt, labels.enc, key)?;
        kdf::derive(master_key, master_salt, labels.salt, &mut salt)?;
        Self::from_session_keys(key, salt, backend)
    }

    /// A transform from session keys (after key derivation).
    pub(crate) fn from_session_keys(
        key: &[u8],
        salt: [u8; 12],
        backend: GcmBackend,
    ) -> Result<Self, SrtpError> {
        let aead =
            match backend {
                GcmBackend::RustCrypto => {
                    match key.len() {
                        16 => GcmImpl::RustCrypto128(Box::new(aes_gcm::Aes128Gcm::new(
                            aes_gcm::Key::<aes_gcm::Aes128Gcm>::from_slice(key),
                        ))),
                        _ => GcmImpl::RustCrypto256(Box::new(aes_gcm::Aes256Gcm::new(
                            aes_gcm::Key::<aes_gcm::Aes256Gcm>::from_slice(key),
                        ))),
                    }
                }
                #[cfg(feature = "ring")]
                GcmBackend::Ring => {
                    let alg = if key.len() == 16 {
                        &ring::aead::AES_128_GCM
                    } else {
                        &ring::aead::AES_256_GCM
                    };
                    let unbound = ring::aead::UnboundKey::new(alg, key).map_err(|_| {
                        SrtpError::BadMasterKeyLength {
                            expected: 16,
                            got: key.len(),
                        }
                    })?;
                    GcmImpl::Ring(ring::aead::LessSafeKey::new(unbound))
                }
            };
        let mut wide = [0u8; 16];
        if let Some(d) = wide.get_mut(4..) {
            d.copy_from_slice(&salt);
        }
        Ok(GcmTransform {
            aead,
            salt: u128::from_be_bytes(wide),
        })
    }

    /// RFC 7714 §8.1: IV = (00 00 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt; §9.1 for SRTCP:
    /// (00 00 ‖ SSRC ‖ 00 00 ‖ 0 ‖ index) XOR salt. Both are `ssrc` at 2..6 and a 48-bit
    /// value at 6..12.
    #[inline]
    pub(crate) fn iv(&self, ssrc: u32, index48: u64) -> [u8; 12] {
        let x = (u128::from(ssrc) << 48) | u128::from(index48 & 0xffff_ffff_ffff);
        let wide = (self.salt ^ x).to_be_bytes();
        let mut iv = [0u8; 12];
        if let Some(s) = wide.get(4..) {
            iv.copy_from_slice(s);
        }
        iv
    }

    /// Encrypt `data` in place and write the tag to `tag` (straight into the packet: a
    /// returned array would go through a stack copy the CPU cannot forward cheaply).
    #[inline]
    pub(crate) fn seal(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &mut [u8; GCM_TAG_LEN],
    ) -> Result<(), SrtpError> {
        match &self.aead {
            GcmImpl::RustCrypto128(c) => {
                let t = c
                    .encrypt_in_place_detached(iv.into(), aad, data)
                    .map_err(|_| SrtpError::PacketTooLong { len: data.len() })?;
                tag.copy_from_slice(&t);
            }
            GcmImpl::RustCrypto256(c) => {
                let t = c
                    .encrypt_in_place_detached(iv.into(), aad, data)
                    .map_err(|_| SrtpError::PacketTooLong { len: data.len() })?;
                tag.copy_from_slice(&t);
            }
            #[cfg(feature = "ring")]
            GcmImpl::Ring(k) => {
                let t = k
                    .seal_in_place_separate_tag(
                        ring::aead::Nonce::assume_unique_for_key(*iv),
                        ring::aead::Aad::from(aad),
                        data,
                    )
                    .map_err(|_| SrtpError::PacketTooLong { len: data.len() })?;
                tag.copy_from_slice(t.as_ref());
            }
        }
        Ok(())
    }

    /// Verify and decrypt `ct_and_tag` (ciphertext followed by the 16-byte tag) in place.
    /// On failure the ciphertext is left as it was (RustCrypto) or unspecified (ring).
    #[inline]
    pub(crate) fn open(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        ct_and_tag: &mut [u8],
    ) -> Result<(), SrtpError> {
        let ct_len = ct_and_tag
            .len()
            .checked_sub(GCM_TAG_LEN)
            .ok_or(SrtpError::AuthFail)?;
        match &self.aead {
            GcmImpl::RustCrypto128(c) => {
                let (ct, tag) = ct_and_tag.split_at_mut(ct_len);
                c.decrypt_in_place_detached(iv.into(), aad, ct, aes_gcm::Tag::from_slice(tag))
                    .map_err(|_| SrtpError::AuthFail)
            }
            GcmImpl::RustCrypto256(c) => {
                let (ct, tag) = ct_and_tag.split_at_mut(ct_len);
                c.decrypt_in_place_detached(iv.into(), aad, ct, aes_gcm::Tag::from_slice(tag))
                    .map_err(|_| SrtpError::AuthFail)
            }
            #[cfg(feature = "ring")]
            GcmImpl::Ring(k) => k
                .open_in_place(
                    ring::aead::Nonce::assume_unique_for_key(*iv),
                    ring::aead::Aad::from(aad),
                    ct_and_tag,
                )
                .map(|_| ())
                .map_err(|_| SrtpError::AuthFail),
        }
    }
}

/// The transform of one of RTP and RTCP in one session.
// Two per session, never moved on the packet path: keeping the key schedule inline saves a
// pointer chase per packet.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Transform {
    Cm(CmTransform),
    Gcm(GcmTransform),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IVs built with one u128 XOR equal the RFC formulas written out byte by byte.
    #[test]
    fn ivs_match_the_bytewise_formulas() {
        let salt14: [u8; 14] = core::array::from_fn(|i| 0xa0 ^ (i as u8).wrapping_mul(17));
        let salt12: [u8; 12] = core::array::from_fn(|i| 0x5c ^ (i as u8).wrapping_mul(29));
        let cm = CmTransform::from_session_keys([7; 16], salt14, &[1; 20], 10);
        let gcm =
            GcmTransform::from_session_keys(&[9; 16], salt12, GcmBackend::RustCrypto).unwrap();
        for (ssrc, index) in [
            (0u32, 0u64),
            (0xcafe_babe, 1),
            (u32::MAX, (1 << 48) - 1),
            (0x1234_5678, 0x0000_9abc_def0_1234),
            // Bits above 48 must not leak into the IV.
            (0x0102_0304, u64::MAX),
        ] {
            // RFC 3711 §4.1.1.
            let mut x = [0u8; 16];
            x[4..8].copy_from_slice(&ssrc.to_be_bytes());
            x[8..14].copy_from_slice(&index.to_be_bytes()[2..8]);
            let want: Vec<u8> = (0..16)
                .map(|i| x[i] ^ salt14.get(i).copied().unwrap_or(0))
                .collect();
            assert_eq!(cm.iv(ssrc, index).to_vec(), want, "CM {ssrc:#x} {index:#x}");
            // RFC 7714 §8.1.
            let mut x = [0u8; 12];
            x[2..6].copy_from_slice(&ssrc.to_be_bytes());
            x[6..12].copy_from_slice(&index.to_be_bytes()[2..8]);
            let want: Vec<u8> = (0..12).map(|i| x[i] ^ salt12[i]).collect();
            assert_eq!(
                gcm.iv(ssrc, index).to_vec(),
                want,
                "GCM {ssrc:#x} {index:#x}"
            );
        }
    }
}
