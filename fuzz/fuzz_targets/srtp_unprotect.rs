#![no_main]
//! SRTP unprotect: raw datagrams and genuine packets (protected here from fuzzer-chosen
//! plaintexts, then possibly corrupted) into one receiving session, so the fuzzer reaches
//! ROC estimation and the replay window with authentic packets too.
//! Input: byte 0 picks the profile; then records of [op, len_hi, len_lo, bytes...].

use libfuzzer_sys::fuzz_target;
use tern_srtp::{ProtectionProfile, SessionKeys, SrtpConfig, SrtpSession};

fuzz_target!(|data: &[u8]| {
    let Some((&p, mut rest)) = data.split_first() else { return };
    let profile = [
        ProtectionProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_32,
        ProtectionProfile::AeadAes128Gcm,
        ProtectionProfile::AeadAes256Gcm,
    ][usize::from(p % 4)];
    let keys = SessionKeys {
        master_key: vec![0x11; profile.master_key_len()],
        master_salt: vec![0x22; profile.master_salt_len()],
    };
    let config = SrtpConfig { replay_window: 64, max_ssrcs: 4, ..SrtpConfig::default() };
    let mut tx = SrtpSession::new(profile, &keys, config.clone()).unwrap();
    let mut rx = SrtpSession::new(profile, &keys, config).unwrap();
    while rest.len() >= 3 {
        let op = rest[0];
        let len = (usize::from(rest[1]) << 8 | usize::from(rest[2])).min(rest.len() - 3);
        let bytes = &rest[3..3 + len];
        rest = &rest[3 + len..];
        let mut packet = bytes.to_vec();
        match op % 3 {
            0 => {
                let _ = rx.unprotect_rtp(&mut packet);
            }
            1 => {
                if tx.protect_rtp(&mut packet).is_ok() {
                    let mut again = packet.clone();
                    if rx.unprotect_rtp(&mut again).is_ok() {
                        assert_eq!(again, bytes, "accepted packet must decrypt to its plaintext");
                    }
                }
            }
            _ => {
                if tx.protect_rtp(&mut packet).is_ok() && !packet.is_empty() {
                    let at = usize::from(op) % packet.len();
                    packet[at] ^= 1 << (op % 8);
                    let _ = rx.unprotect_rtp(&mut packet);
                }
            }
        }
    }
});
