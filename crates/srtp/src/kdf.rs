//! SRTP key derivation (RFC 3711 §4.3) with key_derivation_rate 0.

use aes::cipher::{KeyIvInit, StreamCipher};

use crate::error::SrtpError;

/// Key derivation labels (RFC 3711 §4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Label {
    RtpEncryption = 0x00,
    RtpAuth = 0x01,
    RtpSalt = 0x02,
    RtcpEncryption = 0x03,
    RtcpAuth = 0x04,
    RtcpSalt = 0x05,
}

/// The AES-CM PRF (RFC 3711 §4.3.3; RFC 6188 §3 for AES-256 master keys), filling `out`.
///
/// `master_salt` is 14 bytes (AES-CM profiles) or 12 bytes (AEAD profiles: RFC 7714 §11
/// feeds the 96-bit salt to the same KDF; like libsrtp, it sits in the high-order bytes of
/// the 112-bit PRF input with the low 16 bits zero).
pub(crate) fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    out: &mut [u8],
) -> Result<(), SrtpError> {
    if master_salt.len() != 14 && master_salt.len() != 12 {
        return Err(SrtpError::BadMasterSaltLength {
            expected: 14,
            got: master_salt.len(),
        });
    }
    // RFC 3711 §4.3.1: key_id = label || r with r = index DIV kdr = 0 (kdr 0), x = key_id
    // XOR master_salt, right-aligned; the PRF input is x * 2^16.
    let mut iv = [0u8; 16];
    if let Some(dst) = iv.get_mut(..master_salt.len()) {
        dst.copy_from_slice(master_salt);
    }
    if let Some(b) = iv.get_mut(7) {
        *b ^= label as u8;
    }
    out.fill(0);
    match master_key.len() {
        16 => {
            let mut c = ctr::Ctr128BE::<aes::Aes128>::new(master_key.into(), (&iv).into());
            c.apply_keystream(out);
        }
        32 => {
            let mut c = ctr::Ctr128BE::<aes::Aes256>::new(master_key.into(), (&iv).into());
            c.apply_keystream(out);
        }
        got => {
            return Err(SrtpError::BadMasterKeyLength { expected: 16, got });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    fn d(key: &str, salt: &str, label: Label, n: usize) -> String {
        let mut out = vec![0u8; n];
        derive(&h(key), &h(salt), label, &mut out).unwrap();
        hex::encode(out)
    }

    /// RFC 3711 Appendix B.3.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let k = "E1F97A0D3E018BE0D64FA32C06DE4139";
        let s = "0EC675AD498AFEEBB6960B3AABE6";
        assert_eq!(
            d(k, s, Label::RtpEncryption, 16),
            "c61e7a93744f39ee10734afe3ff7a087"
        );
        assert_eq!(d(k, s, Label::RtpSalt, 14), "30cbbc08863d8c85d49db34a9ae1");
        assert_eq!(
            d(k, s, Label::RtpAuth, 94),
            "cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbce\
             e049646c43d9327ad175578ef72270986371c10c9a369ac2f94a8c5fbcdddc25\
             6d6e919a48b610ef17c2041e474035766b68642c59bbfc2f34db60dbdfb2"
        );
    }

    /// RFC 6188 §7.2 (AES-256 PRF).
    #[test]
    fn rfc6188_aes256_key_derivation() {
        let k = "F0F04914B513F2763A1B1FA130F10E2998F6F6E43E4309D1E622A0E332B9F1B6";
        let s = "3B04803DE51EE7C96423AB5B78D2";
        assert_eq!(
            d(k, s, Label::RtpEncryption, 32),
            "5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4"
        );
        assert_eq!(d(k, s, Label::RtpSalt, 14), "fa31791685ca444a9e07c6c64e93");
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut out = [0u8; 16];
        assert!(matches!(
            derive(&[0; 24], &[0; 14], Label::RtcpAuth, &mut out),
            Err(SrtpError::BadMasterKeyLength { got: 24, .. })
        ));
        assert!(matches!(
            derive(&[0; 16], &[0; 13], Label::RtcpSalt, &mut out),
            Err(SrtpError::BadMasterSaltLength { got: 13, .. })
        ));
        // All labels differ.
        let mut a = [0u8; 16];
        derive(&[1; 16], &[2; 14], Label::RtcpEncryption, &mut a).unwrap();
        assert_ne!(a, out);
    }
}
