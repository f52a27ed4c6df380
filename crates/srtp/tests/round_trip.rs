//! Protect → unprotect round trips for every profile and every API shape.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use proptest::prelude::*;
use tern_srtp::{ProtectionProfile, SrtpConfig, SrtpError, SrtpSession};

#[test]
fn rtp_and_rtcp_round_trip_all_profiles() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        for seq in 0..50u16 {
            let plain = rtp(0x1111, seq, usize::from(seq) * 7);
            let mut p = plain.clone();
            tx.protect_rtp(&mut p).unwrap();
            assert_eq!(p.len(), plain.len() + profile.rtp_overhead());
            assert_eq!(&p[..12], &plain[..12], "header stays in the clear");
            if plain.len() > 12 {
                assert_ne!(&p[12..plain.len()], &plain[12..], "payload is encrypted");
            }
            rx.unprotect_rtp(&mut p).unwrap();
            assert_eq!(p, plain, "{profile:?} seq {seq}");

            let plain = rtcp(0x2222, 4 * usize::from(seq % 10));
            let mut c = plain.clone();
            tx.protect_rtcp(&mut c).unwrap();
            assert_eq!(c.len(), plain.len() + profile.rtcp_overhead());
            let trailer = match profile {
                ProtectionProfile::AeadAes128Gcm | ProtectionProfile::AeadAes256Gcm => {
                    &c[c.len() - 4..]
                }
                _ => &c[plain.len()..plain.len() + 4],
            };
            assert_eq!(
                trailer,
                (0x8000_0000u32 | u32::from(seq)).to_be_bytes(),
                "E bit and index"
            );
            rx.unprotect_rtcp(&mut c).unwrap();
            assert_eq!(c, plain);
        }
        assert_eq!(tx.next_srtcp_index(0x2222), 50);
    }
}

#[test]
fn header_extension_and_csrcs_stay_clear() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        // CC=1, X=1 with a one-byte-header extension of 2 words.
        let mut plain = vec![
            0x91, 96, 0, 7, 0, 0, 0, 9, 0, 0, 0, 5, 0xaa, 0xbb, 0xcc, 0xdd,
        ];
        plain.extend_from_slice(&[0xbe, 0xde, 0, 2, 0x10, 0x42, 0, 0, 1, 2, 3, 4]);
        plain.extend_from_slice(b"payload bytes");
        let mut p = plain.clone();
        tx.protect_rtp(&mut p).unwrap();
        assert_eq!(&p[..28], &plain[..28]);
        assert_ne!(&p[28..plain.len()], &plain[28..]);
        // The extension is authenticated: changing it fails.
        let mut forged = p.clone();
        forged[17] ^= 1;
        assert_eq!(rx.unprotect_rtp(&mut forged), Err(SrtpError::AuthFail));
        rx.unprotect_rtp(&mut p).unwrap();
        assert_eq!(p, plain);
    }
}

#[test]
fn slice_and_into_variants() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let plain = rtp(7, 1, 1200);
        let mut buf = [0u8; 1500];
        buf[..plain.len()].copy_from_slice(&plain);
        let n = tx.protect_rtp_in_place(&mut buf, plain.len()).unwrap();
        let n = rx.unprotect_rtp_in_place(&mut buf[..n]).unwrap();
        assert_eq!(&buf[..n], &plain[..]);

        let plain = rtp(7, 2, 200);
        let mut out = [0u8; 300];
        let n = tx.protect_rtp_into(&plain, &mut out).unwrap();
        let mut back = [0u8; 300];
        let m = rx.unprotect_rtp_into(&out[..n], &mut back).unwrap();
        assert_eq!(&back[..m], &plain[..]);

        // Too little room: refused, nothing sent (seq 3 is still fresh afterwards).
        let plain = rtp(7, 3, 10);
        let mut small = [0u8; 25];
        assert!(matches!(
            tx.protect_rtp_into(&plain, &mut small),
            Err(SrtpError::BufferTooSmall { .. })
        ));
        let c = rtcp(7, 8);
        let mut out = [0u8; 64];
        let n = tx.protect_rtcp_into(&c, &mut out).unwrap();
        let mut back = [0u8; 64];
        let m = rx.unprotect_rtcp_into(&out[..n], &mut back).unwrap();
        assert_eq!(&back[..m], &c[..]);
        let mut tiny = [0u8; 10];
        assert!(matches!(
            tx.protect_rtcp_in_place(&mut tiny, 8),
            Err(SrtpError::BufferTooSmall { .. })
        ));
        assert_eq!(tx.next_srtcp_index(7), 1);
    }
}

#[test]
fn batch_matches_single_calls() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let (mut tx1, _) = pair(profile, SrtpConfig::default());
        let mut batch: Vec<Vec<u8>> = (0..16u16)
            .map(|s| rtp(0x33 + u32::from(s % 3), 65_530u16.wrapping_add(s), 1200))
            .collect();
        // One broken packet in the middle.
        batch[5].truncate(5);
        let singles: Vec<_> = batch
            .iter()
            .map(|p| {
                let mut p = p.clone();
                tx1.protect_rtp(&mut p).map(|()| p)
            })
            .collect();
        let mut results = vec![Ok(()); batch.len()];
        let ok = tx.protect_rtp_batch(&mut batch, &mut results).unwrap();
        assert_eq!(ok, 15);
        for (i, (b, s)) in batch.iter().zip(&singles).enumerate() {
            match s {
                Ok(s) => assert_eq!(b, s),
                Err(e) => assert_eq!(results[i], Err(*e)),
            }
        }
        let mut results2 = vec![Ok(()); batch.len()];
        assert_eq!(
            rx.unprotect_rtp_batch(&mut batch, &mut results2).unwrap(),
            15
        );
        assert!(matches!(
            rx.unprotect_rtp_batch(&mut batch, &mut results2[..3]),
            Err(SrtpError::BatchResultsTooShort {
                packets: 16,
                results: 3
            })
        ));
    }
}

#[test]
fn keys_and_config_are_checked() {
    let k = keys(ProtectionProfile::AeadAes128Gcm, 1);
    assert!(matches!(
        SrtpSession::new(
            ProtectionProfile::Aes128CmHmacSha1_80,
            &k,
            SrtpConfig::default()
        ),
        Err(SrtpError::BadMasterSaltLength {
            expected: 14,
            got: 12
        })
    ));
    assert!(matches!(
        SrtpSession::new(ProtectionProfile::AeadAes256Gcm, &k, SrtpConfig::default()),
        Err(SrtpError::BadMasterKeyLength {
            expected: 32,
            got: 16
        })
    ));
    for window in [0, 63, 40_000] {
        let config = SrtpConfig {
            replay_window: window,
            ..SrtpConfig::default()
        };
        assert!(matches!(
            SrtpSession::new(ProtectionProfile::AeadAes128Gcm, &k, config),
            Err(SrtpError::InvalidConfig { .. })
        ));
    }
}

#[test]
fn different_keys_do_not_authenticate() {
    for profile in PROFILES {
        let mut tx = SrtpSession::new(profile, &keys(profile, 1), SrtpConfig::default()).unwrap();
        let mut rx = SrtpSession::new(profile, &keys(profile, 2), SrtpConfig::default()).unwrap();
        let mut p = rtp(1, 1, 50);
        tx.protect_rtp(&mut p).unwrap();
        assert_eq!(rx.unprotect_rtp(&mut p), Err(SrtpError::AuthFail));
        let mut c = rtcp(1, 20);
        tx.protect_rtcp(&mut c).unwrap();
        assert_eq!(rx.unprotect_rtcp(&mut c), Err(SrtpError::AuthFail));
        assert_eq!(rx.rx_rtp_roc(1), None);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn unprotect_inverts_protect(
        profile_i in 0usize..4,
        ssrc in any::<u32>(),
        seq in any::<u16>(),
        csrcs in 0u8..4,
        payload in proptest::collection::vec(any::<u8>(), 0..1400),
    ) {
        let profile = PROFILES[profile_i];
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let mut plain = vec![0x80 | csrcs, 111];
        plain.extend_from_slice(&seq.to_be_bytes());
        plain.extend_from_slice(&[1, 2, 3, 4]);
        plain.extend_from_slice(&ssrc.to_be_bytes());
        plain.extend(std::iter::repeat_n(0xcc, 4 * usize::from(csrcs)));
        plain.extend_from_slice(&payload);
        let mut p = plain.clone();
        tx.protect_rtp(&mut p).unwrap();
        rx.unprotect_rtp(&mut p).unwrap();
        prop_assert_eq!(&p, &plain);

        let mut c = vec![0x81, 201, 0, 0];
        c.extend_from_slice(&ssrc.to_be_bytes());
        c.extend_from_slice(&payload);
        let plain_c = c.clone();
        tx.protect_rtcp(&mut c).unwrap();
        rx.unprotect_rtcp(&mut c).unwrap();
        prop_assert_eq!(c, plain_c);
    }

    #[test]
    fn unprotect_never_panics_on_garbage(
        profile_i in 0usize..4,
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let (_, mut rx) = pair(PROFILES[profile_i], SrtpConfig::default());
        let mut a = bytes.clone();
        let _ = rx.unprotect_rtp(&mut a);
        let mut b = bytes;
        let _ = rx.unprotect_rtcp(&mut b);
        prop_assert_eq!(rx.rx_rtp_roc(0), None);
    }
}

/// The batch unprotect gives exactly the per-packet results of sequential calls, with
/// duplicates, reordering, forgeries, two SSRCs and a wrap inside the batch.
#[test]
fn batch_unprotect_matches_sequential_calls() {
    for profile in PROFILES {
        let (mut tx, mut rx_batch) = pair(profile, SrtpConfig::default());
        let (_, mut rx_single) = pair(profile, SrtpConfig::default());
        let mut wire = Vec::new();
        for s in 0..40u16 {
            wire.push(protect(&mut tx, 1, 65_520u16.wrapping_add(s)));
            wire.push(protect(&mut tx, 2, 100 + s));
        }
        // Duplicates next to each other and apart, a forgery, a truncated packet, a reorder.
        let mut batch = vec![
            wire[0].clone(),
            wire[0].clone(),
            wire[3].clone(),
            wire[1].clone(),
        ];
        let mut forged = wire[5].clone();
        forged[15] ^= 1;
        batch.push(forged);
        batch.push(wire[5][..10].to_vec());
        batch.extend(wire[6..60].iter().cloned());
        batch.push(wire[7].clone());
        batch.extend(wire[60..].iter().rev().cloned());
        batch.push(wire[2].clone());
        let mut singles = Vec::new();
        let mut single_bytes = Vec::new();
        for p in &batch {
            let mut p = p.clone();
            singles.push(rx_single.unprotect_rtp(&mut p));
            single_bytes.push(p);
        }
        let mut results = vec![Ok(()); batch.len()];
        let ok = rx_batch
            .unprotect_rtp_batch(&mut batch, &mut results)
            .unwrap();
        assert_eq!(results, singles, "{profile:?}");
        assert_eq!(ok, singles.iter().filter(|r| r.is_ok()).count());
        for (i, r) in results.iter().enumerate() {
            if r.is_ok() {
                assert_eq!(batch[i], single_bytes[i]);
            }
        }
        assert_eq!(rx_batch.rx_rtp_roc(1), Some(1));
        assert_eq!(rx_batch.rx_rtp_roc(1), rx_single.rx_rtp_roc(1));
    }
}
