//! DTLS 1.3 (RFC 9147) between two Tern endpoints on virtual time: handshake, version
//! negotiation with 1.2-only peers, HelloRetryRequest (cookie and key share), ACKs under loss,
//! KeyUpdate, exporter, and the record layer's reaction to tampering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{Impairment, Pair, configs};
use tern_dtls::{CipherSuite, DtlsError, DtlsEvent, DtlsState, NamedGroup};

fn pair13(
    seed: u8,
    imp: Impairment,
    f: impl FnOnce(&mut tern_dtls::DtlsConfig, &mut tern_dtls::DtlsConfig),
) -> Pair {
    let (mut c, mut s) = configs(seed);
    c.dtls13 = true;
    s.dtls13 = true;
    f(&mut c, &mut s);
    Pair::new(c, s, imp, u64::from(seed))
}

fn app_data(events: &[DtlsEvent]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            DtlsEvent::ApplicationData(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn dtls13_handshake_exports_equal_keys_and_carries_data() {
    let mut p = pair13(1, Impairment::perfect(), |_, _| {});
    assert!(p.connect());
    assert!(p.client.is_dtls13() && p.server.is_dtls13());
    assert_eq!(
        p.client.cipher_suite(),
        Some(CipherSuite::Tls13Aes128GcmSha256)
    );
    let kc = p
        .client
        .export_keying_material("EXTRACTOR-dtls_srtp", 60)
        .unwrap();
    let ks = p
        .server
        .export_keying_material("EXTRACTOR-dtls_srtp", 60)
        .unwrap();
    assert_eq!(kc, ks);
    assert_ne!(kc, vec![0u8; 60]);
    assert_eq!(
        p.client.selected_srtp_profile(),
        p.server.selected_srtp_profile()
    );
    assert!(p.client.selected_srtp_profile().is_some());
    p.client.send_application_data(b"ping").unwrap();
    p.server.send_application_data(b"pong").unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| {
        !app_data(&p.server_events).is_empty() && !app_data(&p.client_events).is_empty()
    }));
    assert_eq!(app_data(&p.server_events), vec![b"ping".to_vec()]);
    assert_eq!(app_data(&p.client_events), vec![b"pong".to_vec()]);
    // The client's last flight was acknowledged: no timer left on either side.
    assert!(p.run_until(Duration::from_secs(10), |p| {
        p.client.poll_timeout().is_none() && p.server.poll_timeout().is_none()
    }));
    assert_eq!(p.server.buffered_bytes(), 0);
    // Every record after the hellos uses the unified header (first byte 0b001xxxxx).
    let unified = p
        .sent
        .iter()
        .filter(|(_, _, d)| d[0] & 0xe0 == 0x20)
        .count();
    assert!(unified >= 3, "{unified}");
}

#[test]
fn dtls13_client_speaks_12_to_a_12_only_server_and_vice_versa() {
    // 1.3-capable client, 1.2-only server.
    let mut p = pair13(2, Impairment::perfect(), |_, s| s.dtls13 = false);
    assert!(p.connect());
    assert!(!p.client.is_dtls13() && !p.server.is_dtls13());
    assert_eq!(
        p.client
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap(),
        p.server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap()
    );
    assert_eq!(
        p.client.update_keys(p.now, false),
        Err(DtlsError::NotDtls13)
    );
    // 1.2-only client, 1.3-capable server.
    let mut p = pair13(3, Impairment::perfect(), |c, _| c.dtls13 = false);
    assert!(p.connect());
    assert!(!p.client.is_dtls13() && !p.server.is_dtls13());
}

#[test]
fn dtls13_hello_retry_for_cookie_and_for_key_share() {
    // Stateless cookie exchange: the server keeps nothing before the second ClientHello.
    let mut p = pair13(4, Impairment::perfect(), |_, s| s.cookie_exchange = true);
    assert!(p.connect());
    assert!(p.server.is_dtls13());
    // The client's share (x25519) is not acceptable to a P-256-only server: HelloRetryRequest.
    let mut p = pair13(5, Impairment::perfect(), |_, s| {
        s.named_groups = vec![NamedGroup::Secp256r1];
    });
    assert!(p.connect());
    assert!(p.client.is_dtls13());
    assert_eq!(
        p.client
            .export_keying_material("EXTRACTOR-dtls_srtp", 28)
            .unwrap(),
        p.server
            .export_keying_material("EXTRACTOR-dtls_srtp", 28)
            .unwrap()
    );
    // Both at once.
    let mut p = pair13(6, Impairment::perfect(), |_, s| {
        s.named_groups = vec![NamedGroup::Secp256r1];
        s.cookie_exchange = true;
    });
    assert!(p.connect());
}

#[test]
fn dtls13_key_update_both_ways() {
    let mut p = pair13(7, Impairment::perfect(), |_, _| {});
    assert!(p.connect());
    assert!(p.run_until(Duration::from_secs(10), |p| {
        p.client.poll_timeout().is_none()
    }));
    assert_eq!(p.client.write_epoch(), 3);
    p.client.update_keys(p.now, true).unwrap();
    assert_eq!(
        p.client.update_keys(p.now, false),
        Err(DtlsError::KeyUpdatePending)
    );
    assert!(p.run_until(Duration::from_secs(10), |p| {
        p.client.write_epoch() == 4 && p.server.write_epoch() == 4
    }));
    for i in 0..3u8 {
        p.client.send_application_data(&[i; 10]).unwrap();
        p.server.send_application_data(&[i + 10; 10]).unwrap();
    }
    assert!(p.run_until(Duration::from_secs(5), |p| {
        app_data(&p.server_events).len() == 3 && app_data(&p.client_events).len() == 3
    }));
    // A second round from the server, without asking the client.
    p.server.update_keys(p.now, false).unwrap();
    assert!(p.run_until(Duration::from_secs(10), |p| p.server.write_epoch() == 5));
    p.server.send_application_data(b"after").unwrap();
    assert!(
        p.run_until(Duration::from_secs(5), |p| app_data(&p.client_events).len()
            == 4)
    );
    assert_eq!(p.client.write_epoch(), 4);
}

#[test]
fn dtls13_handshake_survives_loss_duplication_reordering_and_small_mtu() {
    for seed in 10..16u8 {
        let imp = Impairment {
            loss: 0.3,
            duplicate: 0.1,
            reorder: Duration::from_millis(30),
            delay: Duration::from_millis(10),
            mtu: 576,
        };
        let mut p = pair13(seed, imp, |c, s| {
            c.mtu = 576;
            s.mtu = 576;
        });
        assert!(p.connect(), "seed {seed}");
        assert_eq!(p.oversize, 0, "a datagram exceeded the MTU");
        assert_eq!(
            p.client
                .export_keying_material("EXTRACTOR-dtls_srtp", 60)
                .unwrap(),
            p.server
                .export_keying_material("EXTRACTOR-dtls_srtp", 60)
                .unwrap()
        );
    }
}

#[test]
fn dtls13_tampered_and_replayed_records_change_nothing() {
    let mut p = pair13(20, Impairment::perfect(), |_, _| {});
    assert!(p.connect());
    assert!(p.run_until(Duration::from_secs(10), |p| {
        p.client.poll_timeout().is_none()
    }));
    p.client.send_application_data(b"secret").unwrap();
    let d = p.client.poll_transmit().unwrap();
    let now = p.now;
    // Flip a ciphertext bit: authentication fails, nothing delivered.
    let mut bad = d.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        p.server.handle_receive(now, &bad),
        Err(DtlsError::BadRecordMac)
    );
    // A connection ID header is refused.
    let mut cid = d.clone();
    cid[0] |= 0x10;
    assert!(p.server.handle_receive(now, &cid).is_err());
    // The genuine record still goes through once, and its replay is dropped.
    p.server.handle_receive(now, &d).unwrap();
    assert_eq!(
        p.server.handle_receive(now, &d),
        Err(DtlsError::ReplayedRecord)
    );
    p.drain();
    assert_eq!(app_data(&p.server_events), vec![b"secret".to_vec()]);
    assert_eq!(p.server.state(), DtlsState::Connected);
}

#[test]
fn dtls13_fingerprint_mismatch_fails_and_exports_nothing() {
    let mut p = pair13(21, Impairment::perfect(), |c, _| {
        c.remote_fingerprints = vec![
            tern_dtls::Fingerprint::parse(&format!("sha-256 {}", vec!["AB"; 32].join(":")))
                .unwrap(),
        ];
    });
    assert!(!p.connect());
    assert!(
        p.client_events
            .iter()
            .any(|e| matches!(e, DtlsEvent::Failed(DtlsError::FingerprintMismatch)))
    );
    assert!(
        p.client
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
    assert!(
        p.server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
}

#[test]
fn dtls13_key_update_requested_right_after_the_handshake_is_answered() {
    // The server asks for an update as soon as it is connected; the client answers with its
    // own (at once, or once its last flight is acknowledged if the request overtook the ACK).
    let mut p = pair13(22, Impairment::perfect(), |_, _| {});
    assert!(p.run_until(Duration::from_secs(10), |p| p.server.is_connected()));
    p.server.update_keys(p.now, true).unwrap();
    assert!(p.run_until(Duration::from_secs(20), |p| {
        p.server.write_epoch() == 4 && p.client.write_epoch() == 4
    }));
}

#[test]
fn dtls13_fingerprint_given_after_the_handshake_releases_connected_and_held_data() {
    let (c_cfg, _) = configs(23);
    let expected_client_fp = c_cfg
        .certificate
        .fingerprint(tern_dtls::HashAlgorithm::Sha256);
    let mut p = pair13(23, Impairment::perfect(), |_, s| {
        s.remote_fingerprints.clear()
    });
    assert!(p.run_until(Duration::from_secs(10), |p| {
        p.client.is_connected() && p.server.state() == DtlsState::AwaitingFingerprint
    }));
    // Data from the client is held, and no key is exported, until the fingerprint matches.
    p.client.send_application_data(b"early").unwrap();
    p.run_until(Duration::from_secs(1), |_| false);
    assert!(app_data(&p.server_events).is_empty());
    assert!(
        p.server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
    p.server.set_remote_fingerprints(vec![expected_client_fp]);
    p.drain();
    assert!(p.server.is_connected());
    assert!(p.server_events.contains(&DtlsEvent::Connected));
    assert_eq!(app_data(&p.server_events), vec![b"early".to_vec()]);
}
