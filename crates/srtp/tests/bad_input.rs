//! BAD_INPUT.md rows 26–29 (srtp), one test per row and fault.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use tern_srtp::{SrtpConfig, SrtpError};

// ---------------------------------------------------------------- row 26

/// Row 26: tag all-zero, one bit flipped anywhere, tag truncated → AuthFail, nothing delivered,
/// and the genuine packet is still accepted afterwards (the failures changed nothing).
#[test]
fn bad_input_srtp_26_auth_tag_zero_flipped_truncated() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let good = protect(&mut tx, 0xabc, 1000);
        let tag_len = profile.rtp_overhead();
        let n = good.len();

        let mut zero = good.clone();
        zero[n - tag_len..].fill(0);
        assert_eq!(
            rx.unprotect_rtp(&mut zero),
            Err(SrtpError::AuthFail),
            "{profile:?}"
        );

        for bit in [0, 8 * 12 + 3, 8 * (n - tag_len) - 1, 8 * (n - 1)] {
            let mut flipped = good.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let r = rx.unprotect_rtp(&mut flipped);
            assert!(r.is_err(), "{profile:?} bit {bit}");
            if bit >= 8 * 12 || bit == 0 {
                // A flipped version bit is refused by the header check; all others by the tag.
                assert!(matches!(
                    r,
                    Err(SrtpError::AuthFail | SrtpError::BadVersion { .. })
                ));
            }
        }

        for cut in 1..=tag_len {
            let mut truncated = good[..n - cut].to_vec();
            assert!(
                rx.unprotect_rtp(&mut truncated).is_err(),
                "{profile:?} cut {cut}"
            );
        }
        let mut truncated = good[..n - 1].to_vec();
        assert_eq!(rx.unprotect_rtp(&mut truncated), Err(SrtpError::AuthFail));

        // Shorter than header + tag: refused before any crypto.
        for len in [0, 1, 11, 12, tag_len, 12 + tag_len - 1] {
            let mut short = good[..len.min(n)].to_vec();
            let r = rx.unprotect_rtp(&mut short);
            assert!(
                matches!(r, Err(SrtpError::TooShort { .. })),
                "{profile:?} len {len}: {r:?}"
            );
        }
        assert_eq!(
            rx.rx_rtp_roc(0xabc),
            None,
            "no context from a forged packet"
        );

        deliver(&mut rx, &good, 0xabc, 1000).unwrap();

        // The same for SRTCP.
        let mut c = rtcp(0xabc, 24);
        tx.protect_rtcp(&mut c).unwrap();
        let m = c.len();
        let mut zero = c.clone();
        let tag_at = if profile.rtp_overhead() == 16 {
            m - 20
        } else {
            m - 10
        };
        zero[tag_at..tag_at + if profile.rtp_overhead() == 16 { 16 } else { 10 }].fill(0);
        assert_eq!(rx.unprotect_rtcp(&mut zero), Err(SrtpError::AuthFail));
        let mut flipped = c.clone();
        flipped[9] ^= 0x40;
        assert_eq!(rx.unprotect_rtcp(&mut flipped), Err(SrtpError::AuthFail));
        let mut ok = c.clone();
        rx.unprotect_rtcp(&mut ok).unwrap();
        assert_eq!(ok, rtcp(0xabc, 24));
    }
}

// ---------------------------------------------------------------- row 27

/// Row 27: CSRC count past the end, on both protect (application input) and unprotect.
#[test]
fn bad_input_srtp_27_csrc_count_beyond_packet() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let mut p = rtp(1, 1, 8);
        p[0] = 0x8f; // CC = 15 → 60 bytes of CSRCs in a 20-byte packet
        let before = p.clone();
        assert_eq!(
            tx.protect_rtp(&mut p),
            Err(SrtpError::CsrcPastEnd { count: 15, len: 20 })
        );
        assert_eq!(p, before, "refused packet left as it was");
        assert_eq!(tx.tx_rtp_roc(1), None);

        // On receive, the CSRCs must end before the tag: the tag is not header space.
        let mut wire = rtp(1, 2, 0);
        wire[0] = 0x81; // one CSRC announced, but only the tag follows
        wire.extend(std::iter::repeat_n(0u8, profile.rtp_overhead()));
        assert_eq!(
            rx.unprotect_rtp(&mut wire),
            Err(SrtpError::CsrcPastEnd { count: 1, len: 12 })
        );
    }
}

/// Row 27: header-extension length past the end of the packet.
#[test]
fn bad_input_srtp_27_extension_length_beyond_packet() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let mut p = vec![
            0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff, 1, 2, 3, 4,
        ];
        assert!(matches!(
            tx.protect_rtp(&mut p),
            Err(SrtpError::ExtensionPastEnd { len: 20, .. })
        ));
        // X set but not even the 4-byte extension header fits.
        let mut p = vec![0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe];
        assert!(matches!(
            tx.protect_rtp(&mut p),
            Err(SrtpError::ExtensionPastEnd { .. })
        ));
        // Receive side: extension claiming 2 words ends inside the tag.
        let mut wire = vec![
            0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 2, 9, 9, 9, 9,
        ];
        wire.extend(std::iter::repeat_n(0u8, profile.rtp_overhead()));
        assert_eq!(
            rx.unprotect_rtp(&mut wire),
            Err(SrtpError::ExtensionPastEnd { end: 24, len: 20 })
        );
    }
}

/// Row 27: RTP padding count 0 or larger than the payload.
#[test]
fn bad_input_srtp_27_padding_zero_or_beyond_payload() {
    for profile in PROFILES {
        let (mut tx, _) = pair(profile, SrtpConfig::default());
        for (payload, count) in [(vec![1u8, 2, 3, 0], 0u8), (vec![1, 2, 9], 9), (vec![], 0)] {
            let mut p = rtp(5, 5, 0);
            p[0] |= 0x20;
            p.extend_from_slice(&payload);
            assert_eq!(
                tx.protect_rtp(&mut p),
                Err(SrtpError::InvalidPadding {
                    count,
                    payload_len: payload.len()
                })
            );
        }
        let mut p = rtp(5, 5, 0);
        p[0] |= 0x20;
        p.extend_from_slice(&[7, 7, 3]);
        tx.protect_rtp(&mut p).unwrap();
    }
}

/// Row 27: SRTCP shorter than header + E‖index + tag; RTCP shorter than its header.
#[test]
fn bad_input_srtp_27_srtcp_shorter_than_header_index_tag() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let min = 8 + profile.rtcp_overhead();
        for len in [0, 1, 4, 8, 11, 12, min - 1] {
            let mut p = vec![0x80u8; len];
            assert_eq!(
                rx.unprotect_rtcp(&mut p),
                Err(SrtpError::TooShort { len, min }),
                "{profile:?} {len}"
            );
        }
        // Exactly the minimum is well-formed (empty body) but unauthenticated.
        let mut p = vec![0x80u8; min];
        assert_eq!(rx.unprotect_rtcp(&mut p), Err(SrtpError::AuthFail));
        let mut p = vec![0x80u8; 7];
        assert!(matches!(
            tx.protect_rtcp(&mut p),
            Err(SrtpError::TooShort { len: 7, min: 8 })
        ));
        assert_eq!(p.len(), 7);
        // A header-only RTCP packet protects and unprotects.
        let mut p = rtcp(3, 0);
        tx.protect_rtcp(&mut p).unwrap();
        assert_eq!(p.len(), min);
        rx.unprotect_rtcp(&mut p).unwrap();
        assert_eq!(p, rtcp(3, 0));
    }
}

// ---------------------------------------------------------------- row 28

/// Row 28: an exact replay is refused, over and over, for RTP and RTCP.
#[test]
fn bad_input_srtp_28_replay_of_valid_packet() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let a = protect(&mut tx, 9, 100);
        let b = protect(&mut tx, 9, 101);
        deliver(&mut rx, &a, 9, 100).unwrap();
        deliver(&mut rx, &b, 9, 101).unwrap();
        for _ in 0..3 {
            assert_eq!(
                deliver(&mut rx, &a, 9, 100),
                Err(SrtpError::Replayed { index: 100 })
            );
            assert_eq!(
                deliver(&mut rx, &b, 9, 101),
                Err(SrtpError::Replayed { index: 101 })
            );
        }
        let mut c = rtcp(9, 16);
        tx.protect_rtcp(&mut c).unwrap();
        let mut first = c.clone();
        rx.unprotect_rtcp(&mut first).unwrap();
        let mut again = c.clone();
        assert_eq!(
            rx.unprotect_rtcp(&mut again),
            Err(SrtpError::Replayed { index: 0 })
        );
    }
}

/// Row 28: a packet 64 or more behind the highest (window 64) is refused as too old, while one
/// 63 behind that was never seen is accepted.
#[test]
fn bad_input_srtp_28_older_than_window() {
    for profile in PROFILES {
        let config = SrtpConfig {
            replay_window: 64,
            ..SrtpConfig::default()
        };
        let (mut tx, mut rx) = pair(profile, config);
        let packets: Vec<Vec<u8>> = (0..=200u16).map(|s| protect(&mut tx, 4, s)).collect();
        deliver(&mut rx, &packets[200], 4, 200).unwrap();
        assert_eq!(
            deliver(&mut rx, &packets[136], 4, 136),
            Err(SrtpError::TooOld { index: 136 })
        );
        assert_eq!(
            deliver(&mut rx, &packets[100], 4, 100),
            Err(SrtpError::TooOld { index: 100 })
        );
        deliver(&mut rx, &packets[137], 4, 137).unwrap();
        assert_eq!(
            deliver(&mut rx, &packets[137], 4, 137),
            Err(SrtpError::Replayed { index: 137 })
        );

        // With a 1024 window (the default) the same packet 64 behind is fine.
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let packets: Vec<Vec<u8>> = (0..=1100u16).map(|s| protect(&mut tx, 4, s)).collect();
        deliver(&mut rx, &packets[1100], 4, 1100).unwrap();
        deliver(&mut rx, &packets[1036], 4, 1036).unwrap();
        deliver(&mut rx, &packets[77], 4, 77).unwrap();
        assert_eq!(
            deliver(&mut rx, &packets[76], 4, 76),
            Err(SrtpError::TooOld { index: 76 })
        );

        // SRTCP: older than the window by index.
        let config = SrtpConfig {
            replay_window: 64,
            ..SrtpConfig::default()
        };
        let (mut tx, mut rx) = pair(profile, config);
        let rtcps: Vec<Vec<u8>> = (0..100)
            .map(|_| {
                let mut c = rtcp(4, 8);
                tx.protect_rtcp(&mut c).unwrap();
                c
            })
            .collect();
        let mut last = rtcps[99].clone();
        rx.unprotect_rtcp(&mut last).unwrap();
        let mut old = rtcps[35].clone();
        assert_eq!(
            rx.unprotect_rtcp(&mut old),
            Err(SrtpError::TooOld { index: 35 })
        );
        let mut in_window = rtcps[36].clone();
        rx.unprotect_rtcp(&mut in_window).unwrap();
    }
}

/// Row 28: forged packets with a sequence number (or SRTCP index) far ahead, and ones that would
/// roll the ROC over, are refused and move neither the window nor the ROC.
#[test]
fn bad_input_srtp_28_forged_far_ahead_moves_nothing() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let packets: Vec<Vec<u8>> = (60_000..60_010u16)
            .map(|s| protect(&mut tx, 77, s))
            .collect();
        deliver(&mut rx, &packets[0], 77, 60_000).unwrap();
        assert_eq!(rx.rx_rtp_roc(77), Some(0));

        // Forge: take a genuine packet, set seq to values ahead (one that implies ROC+1), keep its tag.
        for forged_seq in [60_500u16, 10, 27_000, 59_999] {
            let mut f = packets[1].clone();
            f[2..4].copy_from_slice(&forged_seq.to_be_bytes());
            assert_eq!(
                rx.unprotect_rtp(&mut f),
                Err(SrtpError::AuthFail),
                "{forged_seq}"
            );
            assert_eq!(rx.rx_rtp_roc(77), Some(0), "ROC unchanged");
        }
        // Random garbage with the right header.
        let mut junk = rtp(77, 5, 200);
        junk.extend(std::iter::repeat_n(0x11, profile.rtp_overhead()));
        assert_eq!(rx.unprotect_rtp(&mut junk), Err(SrtpError::AuthFail));
        assert_eq!(rx.rx_rtp_roc(77), Some(0));

        // Every genuine packet still decrypts, in order, after the forgeries.
        for (i, p) in packets.iter().enumerate().skip(1) {
            deliver(&mut rx, p, 77, 60_000 + i as u16).unwrap();
        }
        assert_eq!(rx.rx_rtp_roc(77), Some(0));

        // SRTCP: a forged index of 2^31-1 with a bad tag; then the genuine index 0 still passes.
        let mut c = rtcp(77, 12);
        tx.protect_rtcp(&mut c).unwrap();
        let mut forged = c.clone();
        let at = if profile.rtp_overhead() == 16 {
            forged.len() - 4
        } else {
            forged.len() - 14
        };
        forged[at..at + 4].copy_from_slice(&0xffff_ffffu32.to_be_bytes());
        assert_eq!(rx.unprotect_rtcp(&mut forged), Err(SrtpError::AuthFail));
        rx.unprotect_rtcp(&mut c).unwrap();
    }
}

// ---------------------------------------------------------------- row 29

/// Row 29: [65533, 65535, 0, 1, 65534, 2] all decrypt; the ROC goes to 1 exactly once.
#[test]
fn bad_input_srtp_29_reordered_across_wrap() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let order = [65_533u16, 65_535, 0, 1, 65_534, 2];
        let mut sent = std::collections::HashMap::new();
        for s in [65_533u16, 65_534, 65_535, 0, 1, 2] {
            sent.insert(s, protect(&mut tx, 0x10, s));
        }
        assert_eq!(tx.tx_rtp_roc(0x10), Some(1));
        for s in order {
            deliver(&mut rx, &sent[&s], 0x10, s).unwrap_or_else(|e| panic!("{profile:?} {s}: {e}"));
        }
        assert_eq!(rx.rx_rtp_roc(0x10), Some(1), "no double increment");
        // The next packets continue with ROC 1.
        for s in 3..10u16 {
            let p = protect(&mut tx, 0x10, s);
            deliver(&mut rx, &p, 0x10, s).unwrap();
        }
        assert_eq!(rx.rx_rtp_roc(0x10), Some(1));
    }
}

/// Row 29: a burst loss of 40,000 packets (more than 2^15, so the RFC 3711 estimate alone
/// guesses the wrong ROC), both across a wrap and within one ROC.
#[test]
fn bad_input_srtp_29_burst_loss_40k() {
    for profile in PROFILES {
        for start in [30_000u16, 1_000, 65_000] {
            let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
            let mut seq = start;
            let mut expected_roc = 0u32;
            for _ in 0..5 {
                let p = protect(&mut tx, 0x20, seq);
                deliver(&mut rx, &p, 0x20, seq).unwrap();
                seq = seq.wrapping_add(1);
                if seq == 0 {
                    expected_roc += 1;
                }
            }
            for _ in 0..40_000 {
                // Lost: only the sender sees them. It protects a few of them, often enough
                // (gaps < 2^15) to keep its own ROC right.
                if seq % 8192 == 0 {
                    let mut p = rtp(0x20, seq, 0);
                    tx.protect_rtp(&mut p).unwrap();
                }
                seq = seq.wrapping_add(1);
                if seq == 0 {
                    expected_roc += 1;
                }
            }
            for _ in 0..5 {
                let p = protect(&mut tx, 0x20, seq);
                deliver(&mut rx, &p, 0x20, seq)
                    .unwrap_or_else(|e| panic!("{profile:?} start {start} seq {seq}: {e}"));
                seq = seq.wrapping_add(1);
                if seq == 0 {
                    expected_roc += 1;
                }
            }
            assert_eq!(
                rx.rx_rtp_roc(0x20),
                Some(expected_roc),
                "{profile:?} {start}"
            );
            assert_eq!(tx.tx_rtp_roc(0x20), rx.rx_rtp_roc(0x20));
        }
    }
}

/// Row 29: the stream starts at 0xFFF0 and its first 20 packets are lost, so the first packet
/// the receiver sees (0x0004) was sent with ROC 1.
#[test]
fn bad_input_srtp_29_initial_seq_fff0_first_20_lost() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let mut seq = 0xfff0u16;
        for _ in 0..20 {
            let _lost = protect(&mut tx, 0x30, seq);
            seq = seq.wrapping_add(1);
        }
        assert_eq!(seq, 4);
        for _ in 0..10 {
            let p = protect(&mut tx, 0x30, seq);
            deliver(&mut rx, &p, 0x30, seq).unwrap_or_else(|e| panic!("{profile:?} {seq}: {e}"));
            seq += 1;
        }
        assert_eq!(rx.rx_rtp_roc(0x30), Some(1));
    }
}

/// Row 29: two SSRCs in one session, wrapping at different times, interleaved; each keeps its
/// own ROC.
#[test]
fn bad_input_srtp_29_two_ssrcs_wrap_at_different_times() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let (a, b) = (0xaaaa_0001u32, 0xbbbb_0002u32);
        let mut seq_a = 65_500u16;
        let mut seq_b = 20_000u16;
        for i in 0..50_000u32 {
            // Send (and deliver) every 50th packet of each stream, and every packet near a wrap.
            let deliver_now =
                i % 50 == 0 || !(5..65_530).contains(&seq_a) || !(5..65_530).contains(&seq_b);
            if deliver_now {
                let mut pa = rtp(a, seq_a, 4);
                tx.protect_rtp(&mut pa).unwrap();
                let mut pb = rtp(b, seq_b, 4);
                tx.protect_rtp(&mut pb).unwrap();
                rx.unprotect_rtp(&mut pa)
                    .unwrap_or_else(|e| panic!("{profile:?} a {seq_a}: {e}"));
                assert_eq!(pa, rtp(a, seq_a, 4));
                rx.unprotect_rtp(&mut pb)
                    .unwrap_or_else(|e| panic!("{profile:?} b {seq_b}: {e}"));
                assert_eq!(pb, rtp(b, seq_b, 4));
            }
            seq_a = seq_a.wrapping_add(1);
            seq_b = seq_b.wrapping_add(1);
        }
        // a wrapped once (after 36 packets); b once (after 45,536 packets).
        assert_eq!(rx.rx_rtp_roc(a), Some(1));
        assert_eq!(rx.rx_rtp_roc(b), Some(1));
        assert_eq!(tx.tx_rtp_roc(a), Some(1));
        let (pa_roc, pb_roc) = (rx.rx_rtp_roc(a), rx.rx_rtp_roc(b));
        assert_eq!(pa_roc, pb_roc);
        if profile == PROFILES[0] {
            // Only a has wrapped at this point of a fresh run.
            let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
            for s in [65_534u16, 65_535, 0, 1] {
                let p = protect(&mut tx, a, s);
                deliver(&mut rx, &p, a, s).unwrap();
                let p = protect(&mut tx, b, s.wrapping_sub(30_000));
                deliver(&mut rx, &p, b, s.wrapping_sub(30_000)).unwrap();
            }
            assert_eq!(rx.rx_rtp_roc(a), Some(1));
            assert_eq!(rx.rx_rtp_roc(b), Some(0));
        }
    }
}

/// Row 29: a NACK retransmission of 0xFFFE on the original SSRC after the wrap is protected
/// with ROC 0 again (identical bytes) and decrypts at the receiver.
#[test]
fn bad_input_srtp_29_nack_retransmit_after_wrap() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        let original = protect(&mut tx, 0x40, 0xfffe);
        for s in [0xffffu16, 0, 1, 2] {
            let p = protect(&mut tx, 0x40, s);
            deliver(&mut rx, &p, 0x40, s).unwrap();
        }
        let retransmit = protect(&mut tx, 0x40, 0xfffe);
        assert_eq!(retransmit, original, "same index, same bytes");
        assert_eq!(tx.tx_rtp_roc(0x40), Some(1));
        deliver(&mut rx, &retransmit, 0x40, 0xfffe).unwrap();
        assert_eq!(rx.rx_rtp_roc(0x40), Some(1));
        assert_eq!(
            deliver(&mut rx, &retransmit, 0x40, 0xfffe),
            Err(SrtpError::Replayed { index: 0xfffe })
        );
    }
}
