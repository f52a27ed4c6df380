//! Known-answer tests from the RFCs and libsrtp, read from `tests/vectors/`.

use std::collections::HashMap;

use crate::config::{GcmBackend, SrtpConfig};
use crate::error::SrtpError;
use crate::profile::{ProtectionProfile, SessionKeys};
use crate::session::SrtpSession;
use crate::transform::{CmTransform, GcmTransform, Transform};

fn parse(text: &str) -> HashMap<String, Vec<u8>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, rest) = l.split_once(' ').unwrap();
            let hex: String = rest.split_whitespace().collect();
            (name.to_string(), hex::decode(hex).unwrap())
        })
        .collect()
}

const B2: &str = include_str!("../tests/vectors/rfc3711-b2-aes-cm-keystream.txt");
const LIBSRTP_CM: &str =
    include_str!("../tests/vectors/libsrtp-srtp_driver-aes-cm-128-hmac-sha1-80.txt");
const GCM_RTP: &str = include_str!("../tests/vectors/rfc7714-16-aead-aes-gcm-rtp.txt");
const GCM_RTCP: &str = include_str!("../tests/vectors/rfc7714-17-aead-aes-gcm-srtcp.txt");

fn backends() -> Vec<GcmBackend> {
    #[allow(unused_mut)]
    let mut v = vec![GcmBackend::RustCrypto];
    #[cfg(feature = "ring")]
    v.push(GcmBackend::Ring);
    v
}

#[test]
fn rfc3711_b2_aes_cm_keystream() {
    let v = parse(B2);
    let cm = CmTransform::from_session_keys(
        v["session_key"].clone().try_into().unwrap(),
        v["session_salt"].clone().try_into().unwrap(),
        &[0u8; 20],
        10,
    );
    let iv = cm.iv(0, 0);
    assert_eq!(&iv[..], &v["iv"][..]);
    let mut ks = vec![0u8; 48];
    cm.apply_keystream(&iv, &mut ks);
    assert_eq!(ks, v["keystream"]);
    // The last blocks of the 2^16-block segment.
    let mut seg = vec![0u8; 0xff02 * 16];
    cm.apply_keystream(&iv, &mut seg);
    assert_eq!(&seg[0xfeff * 16..0xff00 * 16], &v["block_feff"][..]);
    assert_eq!(&seg[0xff00 * 16..0xff01 * 16], &v["block_ff00"][..]);
    assert_eq!(&seg[0xff01 * 16..], &v["block_ff01"][..]);
}

fn libsrtp_keys(v: &HashMap<String, Vec<u8>>) -> SessionKeys {
    SessionKeys {
        master_key: v["master_key"].clone(),
        master_salt: v["master_salt"].clone(),
    }
}

#[test]
fn libsrtp_aes_cm_hmac_sha1_80_rtp_and_rtcp() {
    let v = parse(LIBSRTP_CM);
    let p = ProtectionProfile::Aes128CmHmacSha1_80;
    let mut tx = SrtpSession::new(p, &libsrtp_keys(&v), SrtpConfig::default()).unwrap();
    let mut pkt = v["rtp_plain"].clone();
    tx.protect_rtp(&mut pkt).unwrap();
    assert_eq!(pkt, v["rtp_protected"]);

    let mut rx = SrtpSession::new(p, &libsrtp_keys(&v), SrtpConfig::default()).unwrap();
    rx.unprotect_rtp(&mut pkt).unwrap();
    assert_eq!(pkt, v["rtp_plain"]);
    let mut again = v["rtp_protected"].clone();
    assert_eq!(
        rx.unprotect_rtp(&mut again),
        Err(SrtpError::Replayed { index: 0x1234 })
    );

    tx.set_next_srtcp_index(0xcafebabe, 1);
    let mut rtcp = v["rtcp_plain"].clone();
    tx.protect_rtcp(&mut rtcp).unwrap();
    assert_eq!(rtcp, v["rtcp_protected"]);
    rx.unprotect_rtcp(&mut rtcp).unwrap();
    assert_eq!(rtcp, v["rtcp_plain"]);
    assert_eq!(tx.next_srtcp_index(0xcafebabe), 2);
}

fn gcm_session(key: &[u8], salt: &[u8], backend: GcmBackend) -> SrtpSession {
    let salt: [u8; 12] = salt.try_into().unwrap();
    let profile = if key.len() == 16 {
        ProtectionProfile::AeadAes128Gcm
    } else {
        ProtectionProfile::AeadAes256Gcm
    };
    // The RFC 7714 vectors use the same session key and salt for SRTP and SRTCP.
    SrtpSession::from_transforms(
        profile,
        Transform::Gcm(GcmTransform::from_session_keys(key, salt, backend).unwrap()),
        Transform::Gcm(GcmTransform::from_session_keys(key, salt, backend).unwrap()),
        SrtpConfig::default(),
    )
}

#[test]
fn rfc7714_16_srtp_aead_aes_gcm() {
    let v = parse(GCM_RTP);
    for backend in backends() {
        for (key, expected) in [("key_128", "protected_128"), ("key_256", "protected_256")] {
            let mut tx = gcm_session(&v[key], &v["salt"], backend);
            if let Transform::Gcm(g) = &tx.rtp_transform() {
                assert_eq!(&g.iv(0x5501a0b2, 0xf17b)[..], &v["iv"][..]);
            }
            let mut pkt = v["plain"].clone();
            tx.protect_rtp(&mut pkt).unwrap();
            assert_eq!(pkt, v[expected], "{key} {backend:?}");

            let mut rx = gcm_session(&v[key], &v["salt"], backend);
            let mut bad = pkt.clone();
            bad[20] ^= 1;
            assert_eq!(rx.unprotect_rtp(&mut bad), Err(SrtpError::AuthFail));
            rx.unprotect_rtp(&mut pkt).unwrap();
            assert_eq!(pkt, v["plain"]);
        }
    }
}

#[test]
fn rfc7714_17_srtcp_aead_aes_gcm() {
    let v = parse(GCM_RTCP);
    for backend in backends() {
        for (key, enc, auth) in [
            ("key_128", "encrypted_128", "auth_only_128"),
            ("key_256", "encrypted_256", "auth_only_256"),
        ] {
            let mut tx = gcm_session(&v[key], &v["salt"], backend);
            if let Transform::Gcm(g) = &tx.rtp_transform() {
                assert_eq!(&g.iv(0x4d617273, 0x5d4)[..], &v["iv"][..]);
            }
            tx.set_next_srtcp_index(0x4d617273, 0x5d4);
            let mut pkt = v["plain"].clone();
            tx.protect_rtcp(&mut pkt).unwrap();
            assert_eq!(pkt, v[enc], "{key} {backend:?}");

            let mut rx = gcm_session(&v[key], &v["salt"], backend);
            rx.unprotect_rtcp(&mut pkt).unwrap();
            assert_eq!(pkt, v["plain"]);

            // E = 0: authenticated only; a flipped tag bit fails and leaves the bytes intact.
            let mut rx = gcm_session(&v[key], &v["salt"], backend);
            let mut tampered = v[auth].clone();
            let n = tampered.len();
            tampered[n - 5] ^= 0x80;
            let before = tampered.clone();
            assert_eq!(rx.unprotect_rtcp(&mut tampered), Err(SrtpError::AuthFail));
            assert_eq!(tampered, before);
            let mut pkt = v[auth].clone();
            rx.unprotect_rtcp(&mut pkt).unwrap();
            assert_eq!(pkt, v["plain"]);
            let mut replay = v[auth].clone();
            assert_eq!(
                rx.unprotect_rtcp(&mut replay),
                Err(SrtpError::Replayed { index: 0x5d4 })
            );
        }
    }
}
