//! Per-SSRC contexts: created on the first authenticated packet, bounded, removable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use tern_srtp::{SrtpConfig, SrtpError};

#[test]
fn context_count_is_bounded_and_forgeries_take_no_slot() {
    for profile in PROFILES {
        let config = SrtpConfig {
            max_ssrcs: 2,
            ..SrtpConfig::default()
        };
        let (mut tx, mut rx) = pair(profile, config);
        // 100 forged packets from 100 SSRCs create nothing.
        for ssrc in 1000..1100u32 {
            let mut f = rtp(ssrc, 1, 20);
            f.extend(std::iter::repeat_n(0, profile.rtp_overhead()));
            assert_eq!(rx.unprotect_rtp(&mut f), Err(SrtpError::AuthFail));
        }
        for ssrc in [1u32, 2] {
            let p = protect(&mut tx, ssrc, 1);
            deliver(&mut rx, &p, ssrc, 1).unwrap();
        }
        assert_eq!(
            tx.protect_rtp(&mut rtp(3, 1, 20)),
            Err(SrtpError::TooManySsrcs { max: 2 })
        );
        tx.remove_ssrc(1);
        let p = protect(&mut tx, 3, 1);
        assert_eq!(
            deliver(&mut rx, &p, 3, 1),
            Err(SrtpError::TooManySsrcs { max: 2 })
        );
        rx.remove_ssrc(1);
        deliver(&mut rx, &p, 3, 1).unwrap();
        // Known SSRCs keep working at the bound.
        let p = protect(&mut tx, 2, 2);
        deliver(&mut rx, &p, 2, 2).unwrap();
    }
}

#[test]
fn repeat_tx_can_be_refused() {
    for profile in PROFILES {
        let config = SrtpConfig {
            allow_repeat_tx: false,
            ..SrtpConfig::default()
        };
        let (mut tx, _) = pair(profile, config);
        protect(&mut tx, 1, 10);
        protect(&mut tx, 1, 11);
        assert_eq!(
            tx.protect_rtp(&mut rtp(1, 10, 5)),
            Err(SrtpError::Replayed { index: 10 })
        );
        protect(&mut tx, 1, 9);
    }
}

#[test]
fn srtcp_index_runs_per_ssrc() {
    for profile in PROFILES {
        let (mut tx, mut rx) = pair(profile, SrtpConfig::default());
        for i in 0..5u32 {
            for ssrc in [10u32, 20] {
                assert_eq!(tx.next_srtcp_index(ssrc), i);
                let mut c = rtcp(ssrc, 4);
                tx.protect_rtcp(&mut c).unwrap();
                rx.unprotect_rtcp(&mut c).unwrap();
            }
        }
    }
}
