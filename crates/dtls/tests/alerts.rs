//! close_notify, fatal alerts, and what the endpoint does afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// One real Instant as the origin of virtual time.
#![allow(clippy::disallowed_methods)]

mod common;

use common::*;
use tern_dtls::{Alert, AlertDescription, AlertLevel, DtlsError, DtlsEvent, DtlsState};

#[test]
fn close_notify_closes_both_sides() {
    let mut p = Pair::perfect(70);
    assert!(p.connect());
    p.client.close();
    assert_eq!(p.client.state(), DtlsState::Closed);
    assert_eq!(p.client.send_application_data(b"x"), Err(DtlsError::Closed));
    p.run_until(std::time::Duration::from_secs(10), |p| {
        p.server.state() == DtlsState::Closed
    });
    assert!(p.client_events.contains(&DtlsEvent::Closed));
    assert!(p.server_events.contains(&DtlsEvent::AlertReceived(Alert {
        level: AlertLevel::Warning,
        description: AlertDescription::CloseNotify
    })));
    assert!(p.server_events.contains(&DtlsEvent::Closed));
    assert!(
        p.server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
    assert_eq!(p.server.poll_timeout(), None);
}

#[test]
fn fatal_alert_in_handshake_fails() {
    let now = std::time::Instant::now();
    let (c, _) = configs(71);
    let mut client = tern_dtls::DtlsEndpoint::new(c, now).unwrap();
    drain(&mut client);
    let alert = record(tern_dtls::wire::record::ContentType::Alert, 0, 0, &[2, 40]);
    client.handle_receive(now, &alert).unwrap();
    assert_eq!(
        events(&mut client),
        vec![
            DtlsEvent::AlertReceived(Alert::fatal(AlertDescription::HandshakeFailure)),
            DtlsEvent::Failed(DtlsError::PeerAlert(AlertDescription::HandshakeFailure))
        ]
    );
    assert_eq!(client.poll_timeout(), None);
    assert_eq!(client.handle_receive(now, &alert), Err(DtlsError::Closed));
    // Malformed alert bodies are rejected without effect.
    let (c, _) = configs(72);
    let mut client = tern_dtls::DtlsEndpoint::new(c, now).unwrap();
    let bad = record(tern_dtls::wire::record::ContentType::Alert, 0, 0, &[2]);
    assert_eq!(
        client.handle_receive(now, &bad),
        Err(DtlsError::MalformedAlert)
    );
    assert_eq!(client.state(), DtlsState::Handshaking);
}

#[test]
fn application_data_rules() {
    let mut p = Pair::perfect(73);
    assert_eq!(
        p.client.send_application_data(b"early"),
        Err(DtlsError::NotConnected)
    );
    assert!(p.connect());
    assert_eq!(
        p.client.send_application_data(&vec![0; 16385]),
        Err(DtlsError::ApplicationDataTooLarge { len: 16385 })
    );
    p.client.send_application_data(&vec![1; 16384]).unwrap();
    p.server.send_application_data(b"pong").unwrap();
    p.run_until(std::time::Duration::from_secs(5), |_| false);
    assert!(
        p.server_events
            .contains(&DtlsEvent::ApplicationData(vec![1; 16384]))
    );
    assert!(
        p.client_events
            .contains(&DtlsEvent::ApplicationData(b"pong".to_vec()))
    );
    // Reserved exporter labels and absurd lengths are refused.
    assert_eq!(
        p.client.export_keying_material("master secret", 48),
        Err(DtlsError::InvalidExport)
    );
    assert_eq!(
        p.client.export_keying_material("EXTRACTOR-dtls_srtp", 0),
        Err(DtlsError::InvalidExport)
    );
    assert_eq!(
        p.client
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap(),
        p.server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap()
    );
    assert_ne!(
        p.client
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap(),
        p.client
            .export_keying_material("EXTRACTOR-other", 60)
            .unwrap()
    );
}

#[test]
fn every_suite_group_and_profile_pair_connects() {
    use tern_dtls::{CipherSuite, NamedGroup, SrtpProtectionProfile};
    for (i, suite) in CipherSuite::ALL.into_iter().enumerate() {
        for (j, group) in [NamedGroup::X25519, NamedGroup::Secp256r1]
            .into_iter()
            .enumerate()
        {
            let profile = [
                SrtpProtectionProfile::AeadAes128Gcm,
                SrtpProtectionProfile::AeadAes256Gcm,
                SrtpProtectionProfile::Aes128CmHmacSha1_80,
                SrtpProtectionProfile::Aes128CmHmacSha1_32,
            ][(i + j) % 4];
            let (mut c, mut s) = configs(80 + (i * 2 + j) as u8);
            c.cipher_suites = vec![suite];
            c.named_groups = vec![group];
            s.srtp_profiles = vec![profile];
            let mut p = Pair::new(c, s, Impairment::perfect(), 5);
            assert!(p.connect());
            assert_eq!(p.client.cipher_suite(), Some(suite));
            assert_eq!(p.server.selected_srtp_profile(), Some(profile));
            assert_eq!(p.client.selected_srtp_profile(), Some(profile));
            let len = profile.keying_material_len();
            assert_eq!(
                p.client
                    .export_keying_material("EXTRACTOR-dtls_srtp", len)
                    .unwrap(),
                p.server
                    .export_keying_material("EXTRACTOR-dtls_srtp", len)
                    .unwrap()
            );
        }
    }
    // No use_srtp offered: no profile.
    let (mut c, s) = configs(90);
    c.srtp_profiles.clear();
    let mut p = Pair::new(c, s, Impairment::perfect(), 5);
    assert!(p.connect());
    assert_eq!(p.server.selected_srtp_profile(), None);
}
