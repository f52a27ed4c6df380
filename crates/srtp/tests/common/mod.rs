//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use tern_srtp::{ProtectionProfile, SessionKeys, SrtpConfig, SrtpSession};

pub const PROFILES: [ProtectionProfile; 4] = [
    ProtectionProfile::Aes128CmHmacSha1_80,
    ProtectionProfile::Aes128CmHmacSha1_32,
    ProtectionProfile::AeadAes128Gcm,
    ProtectionProfile::AeadAes256Gcm,
];

pub fn keys(profile: ProtectionProfile, seed: u8) -> SessionKeys {
    SessionKeys {
        master_key: (0..profile.master_key_len() as u8)
            .map(|i| i.wrapping_mul(7) ^ seed)
            .collect(),
        master_salt: (0..profile.master_salt_len() as u8)
            .map(|i| i.wrapping_add(seed))
            .collect(),
    }
}

/// A sender and a receiver sharing one key.
pub fn pair(profile: ProtectionProfile, config: SrtpConfig) -> (SrtpSession, SrtpSession) {
    let k = keys(profile, 0x5a);
    (
        SrtpSession::new(profile, &k, config.clone()).unwrap(),
        SrtpSession::new(profile, &k, config).unwrap(),
    )
}

/// An RTP packet: V=2, PT 96, `seq`, timestamp derived from seq, `ssrc`, `payload_len` bytes.
pub fn rtp(ssrc: u32, seq: u16, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..payload_len).map(|i| (i as u8) ^ (seq as u8)));
    p
}

/// A sender report-ish RTCP packet from `ssrc` with `body_len` bytes after the header.
pub fn rtcp(ssrc: u32, body_len: usize) -> Vec<u8> {
    let words = (4 + body_len) / 4;
    let mut p = vec![0x80, 200];
    p.extend_from_slice(&(words as u16).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..body_len).map(|i| i as u8));
    p
}

/// Protect `rtp(ssrc, seq)` with `tx`, returning the SRTP bytes.
pub fn protect(tx: &mut SrtpSession, ssrc: u32, seq: u16) -> Vec<u8> {
    let mut p = rtp(ssrc, seq, 100);
    tx.protect_rtp(&mut p).unwrap();
    p
}

/// Unprotect a copy of `srtp`, checking the plaintext on success.
pub fn deliver(
    rx: &mut SrtpSession,
    srtp: &[u8],
    ssrc: u32,
    seq: u16,
) -> Result<(), tern_srtp::SrtpError> {
    let mut p = srtp.to_vec();
    rx.unprotect_rtp(&mut p)?;
    assert_eq!(p, rtp(ssrc, seq, 100));
    Ok(())
}
