//! BAD_INPUT row 25: loss 30 %, duplication 10 %, reordering and MTU 576 on virtual time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// Tests take one real Instant as the origin of virtual time.
#![allow(clippy::disallowed_methods, clippy::type_complexity)]

mod common;

use std::time::Duration;

use common::{Impairment, Pair, configs};
use tern_dtls::DtlsEvent;

fn lossy() -> Impairment {
    Impairment {
        loss: 0.30,
        duplicate: 0.10,
        reorder: Duration::from_millis(80),
        delay: Duration::from_millis(20),
        mtu: 576,
    }
}

#[test]
fn bad_input_dtls_25_loss_dup_reorder_mtu576() {
    let mut total_time = Duration::ZERO;
    for seed in 0..24u8 {
        let (mut c, mut s) = configs(seed);
        c.mtu = 576;
        s.mtu = 576;
        let mut p = Pair::new(c, s, lossy(), u64::from(seed) * 7919);
        assert!(
            p.connect(),
            "seed {seed}: no connection; client {:?} server {:?}",
            p.client_events,
            p.server_events
        );
        assert_eq!(
            p.oversize, 0,
            "seed {seed}: a datagram exceeded the 576-byte PMTU"
        );
        assert!(p.sent.iter().all(|(_, _, d)| d.len() <= 576));
        let k1 = p
            .client
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap();
        let k2 = p
            .server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap();
        assert_eq!(k1, k2);
        assert_eq!(p.client.buffered_bytes(), 0);
        assert_eq!(p.server.buffered_bytes(), 0);
        // Connected is reported exactly once on each side, and never a failure.
        assert_eq!(
            p.client_events
                .iter()
                .filter(|e| **e == DtlsEvent::Connected)
                .count(),
            1
        );
        assert!(
            !p.server_events
                .iter()
                .any(|e| matches!(e, DtlsEvent::Failed(_)))
        );
        total_time += p.now - p.start;
    }
    eprintln!("24 lossy handshakes took {total_time:?} of virtual time");
}

#[test]
fn retransmit_timer_doubles_and_caps_at_60s() {
    let (c, s) = configs(1);
    let mut imp = Impairment::perfect();
    imp.loss = 1.0;
    let mut p = Pair::new(c, s, imp, 1);
    let mut sends = Vec::new();
    p.run_until(Duration::from_secs(400), |p| {
        p.client_events
            .iter()
            .any(|e| matches!(e, DtlsEvent::Failed(_)))
    });
    for (t, to_server, d) in &p.sent {
        // ClientHello retransmissions (content type 22), not the final alert.
        if *to_server && d[0] == 22 {
            sends.push(*t - p.start);
        }
    }
    let gaps: Vec<u64> = sends.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    // RFC 6347 §4.2.4.1: 1 s, doubling, capped at 60 s; 10 retransmissions then failure.
    assert_eq!(gaps, vec![1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
    assert!(
        p.client_events
            .contains(&DtlsEvent::Failed(tern_dtls::DtlsError::HandshakeTimeout))
    );
    assert_eq!(p.client.poll_timeout(), None);
}

#[test]
fn application_data_after_lossy_handshake() {
    let (mut c, mut s) = configs(9);
    c.mtu = 576;
    s.mtu = 576;
    let mut imp = lossy();
    imp.loss = 0.1;
    let mut p = Pair::new(c, s, imp, 99);
    assert!(p.connect());
    for i in 0..50u8 {
        p.client.send_application_data(&[i; 100]).unwrap();
    }
    p.run_until(Duration::from_secs(700), |_| false);
    let got: Vec<_> = p
        .server_events
        .iter()
        .filter_map(|e| match e {
            DtlsEvent::ApplicationData(d) => Some(d[0]),
            _ => None,
        })
        .collect();
    // Some were lost (10 %), duplicates were dropped by the replay window.
    assert!(got.len() >= 30 && got.len() <= 50, "{}", got.len());
    let mut dedup = got.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(
        dedup.len(),
        got.len(),
        "a duplicate record was delivered twice"
    );
}

#[test]
fn tiny_mtu_fragments_every_flight() {
    let (mut c, mut s) = configs(12);
    c.mtu = 200;
    s.mtu = 200;
    let mut imp = Impairment::perfect();
    imp.mtu = 200;
    imp.reorder = Duration::from_millis(30);
    let mut p = Pair::new(c, s, imp, 12);
    assert!(p.connect());
    assert_eq!(p.oversize, 0);
    // The server's Certificate (over 300 bytes) had to be split across datagrams.
    assert!(p.sent.iter().filter(|(_, to_server, _)| !to_server).count() >= 3);
    assert!(p.sent.iter().all(|(_, _, d)| d.len() <= 200));
}
