//! Protection profiles and DTLS-SRTP key splitting.

use crate::error::SrtpError;

/// An SRTP protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtectionProfile {
    /// SRTP_AES128_CM_HMAC_SHA1_80 (0x0001): 80-bit tags on RTP and RTCP.
    Aes128CmHmacSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 (0x0002): 32-bit RTP tag, 80-bit RTCP tag.
    Aes128CmHmacSha1_32,
    /// SRTP_AEAD_AES_128_GCM (0x0007).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (0x0008).
    AeadAes256Gcm,
}

impl ProtectionProfile {
    /// The profile for a DTLS `use_srtp` identifier, if supported.
    pub fn from_dtls_id(id: u16) -> Option<Self> {
        match id {
            0x0001 => Some(Self::Aes128CmHmacSha1_80),
            0x0002 => Some(Self::Aes128CmHmacSha1_32),
            0x0007 => Some(Self::AeadAes128Gcm),
            0x0008 => Some(Self::AeadAes256Gcm),
            _ => None,
        }
    }

    /// The DTLS `use_srtp` identifier (RFC 5764 §4.1.2, RFC 7714 §14.2).
    pub fn dtls_id(self) -> u16 {
        match self {
            Self::Aes128CmHmacSha1_80 => 0x0001,
            Self::Aes128CmHmacSha1_32 => 0x0002,
            Self::AeadAes128Gcm => 0x0007,
            Self::AeadAes256Gcm => 0x0008,
        }
    }

    /// Master key length in bytes.
    pub fn master_key_len(self) -> usize {
        match self {
            Self::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes (112 bits for AES-CM, 96 bits for GCM).
    pub fn master_salt_len(self) -> usize {
        if self.is_aead() { 12 } else { 14 }
    }

    /// Bytes appended to an RTP packet by `protect_rtp`.
    pub fn rtp_overhead(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 => 10,
            Self::Aes128CmHmacSha1_32 => 4,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16,
        }
    }

    /// Bytes appended to an RTCP packet by `protect_rtcp` (tag + E‖index word).
    pub fn rtcp_overhead(self) -> usize {
        match self {
            // RFC 5764 §4.1.2: the _32 profile still uses an 80-bit SRTCP tag.
            Self::Aes128CmHmacSha1_80 | Self::Aes128CmHmacSha1_32 => 10 + 4,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => 16 + 4,
        }
    }

    pub(crate) fn is_aead(self) -> bool {
        matches!(self, Self::AeadAes128Gcm | Self::AeadAes256Gcm)
    }
}

/// A master key and master salt for one direction.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// Master key (16 or 32 bytes).
    pub master_key: Vec<u8>,
    /// Master salt (14 or 12 bytes).
    pub master_salt: Vec<u8>,
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print key material.
        f.debug_struct("SessionKeys")
            .field(
                "master_key",
                &format_args!("<{} bytes>", self.master_key.len()),
            )
            .field(
                "master_salt",
                &format_args!("<{} bytes>", self.master_salt.len()),
            )
            .finish()
    }
}

/// Split DTLS-SRTP keying material (RFC 5764 §4.2: client_key | server_key | client_salt |
/// server_salt) into `(local, remote)` for our role: the local keys protect what we send,
/// the remote keys unprotect what we receive.
pub fn keys_from_dtls_keying_material(
    profile: ProtectionProfile,
    material: &[u8],
    we_are_dtls_client: bool,
) -> Result<(SessionKeys, SessionKeys), SrtpError> {
    let k = profile.master_key_len();
    let s = profile.master_salt_len();
    let expected = 2 * (k + s);
    if material.len() != expected {
        return Err(SrtpError::BadKeyingMaterialLength {
            expected,
            got: material.len(),
        });
    }
    let (keys, salts) = material.split_at(2 * k);
    let (client_key, server_key) = keys.split_at(k);
    let (client_salt, server_salt) = salts.split_at(s);
    let client = SessionKeys {
        master_key: client_key.to_vec(),
        master_salt: client_salt.to_vec(),
    };
    let server = SessionKeys {
        master_key: server_key.to_vec(),
        master_salt: server_salt.to_vec(),
    };
    // RFC 5764 §4.2: the client writes with client_write_SRTP_master_key.
    Ok(if we_are_dtls_client {
        (client, server)
    } else {
        (server, client)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtls_ids_round_trip() {
        for p in [
            ProtectionProfile::Aes128CmHmacSha1_80,
            ProtectionProfile::Aes128CmHmacSha1_32,
            ProtectionProfile::AeadAes128Gcm,
            ProtectionProfile::AeadAes256Gcm,
        ] {
            assert_eq!(ProtectionProfile::from_dtls_id(p.dtls_id()), Some(p));
        }
        assert_eq!(ProtectionProfile::from_dtls_id(0x0005), None);
    }

    #[test]
    fn split_keying_material_by_role() {
        let p = ProtectionProfile::AeadAes128Gcm;
        let material: Vec<u8> = (0..56).collect();
        let (local, remote) = keys_from_dtls_keying_material(p, &material, true).unwrap();
        assert_eq!(local.master_key, (0..16).collect::<Vec<u8>>());
        assert_eq!(remote.master_key, (16..32).collect::<Vec<u8>>());
        assert_eq!(local.master_salt, (32..44).collect::<Vec<u8>>());
        assert_eq!(remote.master_salt, (44..56).collect::<Vec<u8>>());
        let (l2, r2) = keys_from_dtls_keying_material(p, &material, false).unwrap();
        assert_eq!((l2, r2), (remote, local));
        assert_eq!(
            keys_from_dtls_keying_material(p, &material[..55], true),
            Err(SrtpError::BadKeyingMaterialLength {
                expected: 56,
                got: 55
            })
        );
        let cm = keys_from_dtls_keying_material(
            ProtectionProfile::Aes128CmHmacSha1_80,
            &[0u8; 60],
            true,
        )
        .unwrap();
        assert_eq!(cm.0.master_salt.len(), 14);
        assert!(
            keys_from_dtls_keying_material(ProtectionProfile::AeadAes256Gcm, &[0u8; 88], true)
                .is_ok()
        );
    }
}
