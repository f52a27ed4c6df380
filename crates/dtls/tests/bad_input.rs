//! BAD_INPUT rows 16–24 (row 25 is in `lossy_handshake.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// Tests take one real Instant as the origin of virtual time.
#![allow(clippy::disallowed_methods, clippy::type_complexity)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use tern_dtls::wire::handshake::{HandshakeHeader, msg_type};
use tern_dtls::wire::record::{ContentType, split_records};
use tern_dtls::{
    AlertDescription, AlertLevel, Certificate, DtlsEndpoint, DtlsError, DtlsEvent, DtlsState,
    Fault, Fingerprint, HashAlgorithm,
};

fn now0() -> Instant {
    Instant::now()
}

fn connected_pair(seed: u8) -> (DtlsEndpoint, DtlsEndpoint, Instant) {
    let now = now0();
    let (c, s) = configs(seed);
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    exchange(&mut client, &mut server, now);
    assert!(client.is_connected() && server.is_connected());
    events(&mut client);
    events(&mut server);
    (client, server, now)
}

fn failed_with(evs: &[DtlsEvent]) -> Option<DtlsError> {
    evs.iter().find_map(|e| match e {
        DtlsEvent::Failed(err) => Some(*err),
        _ => None,
    })
}

// ---- row 16: cookies ----------------------------------------------------------------------

fn cookie_server(seed: u8) -> (DtlsEndpoint, DtlsEndpoint, Instant) {
    let now = now0();
    let (c, mut s) = configs(seed);
    s.cookie_exchange = true;
    (
        DtlsEndpoint::new(c, now).unwrap(),
        DtlsEndpoint::new(s, now).unwrap(),
        now,
    )
}

fn assert_stateless(server: &mut DtlsEndpoint) {
    assert_eq!(server.state(), DtlsState::Handshaking);
    assert_eq!(server.buffered_bytes(), 0);
    assert_eq!(
        server.poll_timeout(),
        None,
        "no flight, no timer before the cookie verifies"
    );
    assert_eq!(server.peer_certificate_der(), None);
    assert_eq!(server.cipher_suite(), None, "nothing negotiated");
    assert!(events(server).is_empty());
}

fn assert_is_hello_verify_request(out: &[Vec<u8>], client_hello_len: usize) {
    assert_eq!(out.len(), 1, "exactly one datagram: the HelloVerifyRequest");
    assert!(
        out[0].len() <= client_hello_len,
        "HVR {} > ClientHello {}",
        out[0].len(),
        client_hello_len
    );
    let m = messages(out);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].0, msg_type::HELLO_VERIFY_REQUEST);
}

#[test]
fn bad_input_dtls_16_client_hello_without_cookie() {
    let (mut client, mut server, now) = cookie_server(16);
    let ch1 = drain(&mut client);
    server.handle_receive(now, &ch1[0]).unwrap();
    let hvr = drain(&mut server);
    assert_is_hello_verify_request(&hvr, ch1[0].len());
    assert_stateless(&mut server);
    // The same cookie-less hello again: same answer, still no state.
    server.handle_receive(now, &ch1[0]).unwrap();
    assert_eq!(drain(&mut server), hvr);
    assert_stateless(&mut server);
    // With the cookie the handshake goes on and completes.
    deliver(&mut client, now, &hvr);
    exchange(&mut client, &mut server, now);
    assert!(client.is_connected() && server.is_connected());
}

#[test]
fn bad_input_dtls_16_forged_cookie() {
    let (mut client, mut server, now) = cookie_server(17);
    let ch1 = drain(&mut client);
    server.handle_receive(now, &ch1[0]).unwrap();
    deliver(&mut client, now, &drain(&mut server));
    let ch2 = drain(&mut client);
    // Cookie bytes start after record header (13), handshake header (12), version+random (34),
    // session_id length (1, empty) and cookie length (1).
    assert_eq!(ch2[0][13 + 12 + 34], 0);
    assert_eq!(ch2[0][13 + 12 + 35], 32);
    let mut forged = ch2[0].clone();
    forged[13 + 12 + 36] ^= 0x55;
    assert_eq!(
        server.handle_receive(now, &forged),
        Err(DtlsError::BadCookie)
    );
    assert_is_hello_verify_request(&drain(&mut server), forged.len());
    assert_stateless(&mut server);
    // The genuine one is accepted.
    server.handle_receive(now, &ch2[0]).unwrap();
    assert!(
        messages(&drain(&mut server))
            .iter()
            .any(|m| m.0 == msg_type::SERVER_HELLO)
    );
}

#[test]
fn bad_input_dtls_16_old_cookie() {
    let (mut client, mut server, now) = cookie_server(18);
    let ch1 = drain(&mut client);
    server.handle_receive(now, &ch1[0]).unwrap();
    deliver(&mut client, now, &drain(&mut server));
    let ch2 = drain(&mut client);
    // Cookies live between one and two lifetimes (60 s by default).
    let later = now + Duration::from_secs(121);
    assert_eq!(
        server.handle_receive(later, &ch2[0]),
        Err(DtlsError::BadCookie)
    );
    assert_is_hello_verify_request(&drain(&mut server), ch2[0].len());
    assert_stateless(&mut server);
    // Still fresh after 61 s (previous bucket).
    let (mut client, mut server, now) = cookie_server(19);
    let ch1 = drain(&mut client);
    server.handle_receive(now, &ch1[0]).unwrap();
    deliver(&mut client, now, &drain(&mut server));
    let ch2 = drain(&mut client);
    server
        .handle_receive(now + Duration::from_secs(61), &ch2[0])
        .unwrap();
    assert!(server.poll_timeout().is_some());
}

// ---- row 17: fragments ---------------------------------------------------------------------

#[test]
fn bad_input_dtls_17_bad_fragment_headers() {
    let now = now0();
    let (c, _) = configs(20);
    let max = c.max_handshake_message_size;
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    drain(&mut client);
    let t0 = client.poll_timeout();
    let h = |length, off, flen| HandshakeHeader {
        msg_type: msg_type::SERVER_HELLO,
        length,
        message_seq: 0,
        fragment_offset: off,
        fragment_length: flen,
    };
    // Fragment length 0 of a non-empty message.
    let r = client.handle_receive(now, &fragment_record(1, h(10, 0, 0), &[]));
    assert!(matches!(r, Err(DtlsError::BadFragment { .. })), "{r:?}");
    // offset + length > message length.
    let r = client.handle_receive(now, &fragment_record(2, h(10, 8, 4), &[0; 4]));
    assert!(matches!(r, Err(DtlsError::BadFragment { .. })), "{r:?}");
    // message length 2^24 - 1 with small fragments: refused before any allocation.
    for i in 0..1000u32 {
        let r = client.handle_receive(
            now,
            &fragment_record(3 + u64::from(i), h(0xff_ffff, i * 16, 16), &[7; 16]),
        );
        assert!(
            matches!(r, Err(DtlsError::HandshakeMessageTooLarge { .. })),
            "{r:?}"
        );
    }
    assert_eq!(client.buffered_bytes(), 0);
    assert!(client.buffered_bytes() <= max);
    assert_eq!(client.state(), DtlsState::Handshaking);
    assert_eq!(client.poll_timeout(), t0);
    assert!(drain(&mut client).is_empty());
    assert!(events(&mut client).is_empty());
}

#[test]
fn bad_input_dtls_17_overlapping_conflicting_fragments() {
    let now = now0();
    let (c, s) = configs(21);
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    deliver(&mut server, now, &drain(&mut client));
    let flight = drain(&mut server);
    let msgs = messages(&flight);
    let (t, seq, sh) = msgs[0].clone();
    assert_eq!(t, msg_type::SERVER_HELLO);
    let len = sh.len() as u32;
    let hdr = |off: u32, flen: u32| HandshakeHeader {
        msg_type: t,
        length: len,
        message_seq: seq,
        fragment_offset: off,
        fragment_length: flen,
    };
    client
        .handle_receive(now, &fragment_record(1, hdr(0, 40), &sh[..40]))
        .unwrap();
    // Overlap [20, 60) with one byte changed inside the overlap: rejected whole.
    let mut bad = sh[20..60].to_vec();
    bad[5] ^= 1;
    assert_eq!(
        client.handle_receive(now, &fragment_record(2, hdr(20, 40), &bad)),
        Err(DtlsError::ConflictingFragment)
    );
    // Overlapping but consistent fragments in reverse order complete the message.
    client
        .handle_receive(now, &fragment_record(3, hdr(30, len - 30), &sh[30..]))
        .unwrap();
    client
        .handle_receive(now, &fragment_record(4, hdr(10, 30), &sh[10..40]))
        .unwrap();
    // The rest of the flight as sent; the handshake completes.
    deliver(&mut client, now, &flight);
    exchange(&mut client, &mut server, now);
    assert!(client.is_connected() && server.is_connected());
}

// ---- row 18: floods of future messages and epochs ----------------------------------------

#[test]
fn bad_input_dtls_18_future_messages_and_epochs_are_capped() {
    let now = now0();
    let (c, s) = configs(22);
    let cap = s.max_buffered_bytes;
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    deliver(&mut server, now, &drain(&mut client));
    deliver(&mut client, now, &drain(&mut server));
    let client_flight = drain(&mut client);
    // 10k handshake messages with future message_seq (the client's flight uses 1..=4).
    let mut rejected = 0;
    for i in 0..10_000u32 {
        let seq = 5 + (i % 60_000) as u16;
        if server
            .handle_receive(
                now,
                &hs_record(100 + u64::from(i), 22, seq, &[i as u8; 900]),
            )
            .is_err()
        {
            rejected += 1;
        }
        assert!(server.buffered_bytes() <= cap);
    }
    assert!(rejected >= 10_000 - 16, "{rejected}");
    // 10k records of epoch 1 before the keys exist.
    for i in 0..10_000u64 {
        let _ = server.handle_receive(
            now,
            &record(ContentType::ApplicationData, 1, i, &[0xab; 500]),
        );
        assert!(server.buffered_bytes() <= cap);
    }
    assert!(server.buffered_bytes() > 0);
    assert_eq!(server.state(), DtlsState::Handshaking);
    // The real flight still completes the handshake, and every buffer is freed.
    deliver(&mut server, now, &client_flight);
    exchange(&mut client, &mut server, now);
    assert!(client.is_connected() && server.is_connected());
    assert_eq!(server.buffered_bytes(), 0);
    assert_eq!(client.buffered_bytes(), 0);
}

// ---- row 19: replay window ------------------------------------------------------------------

#[test]
fn bad_input_dtls_19_forged_max_sequence_does_not_move_window() {
    let (mut client, mut server, now) = connected_pair(23);
    for epoch in [1u16, 2] {
        let forged = record(
            ContentType::ApplicationData,
            epoch,
            (1 << 48) - 1,
            &[0x42; 40],
        );
        let r = server.handle_receive(now, &forged);
        assert!(
            matches!(
                r,
                Err(DtlsError::BadRecordMac | DtlsError::UnexpectedEpoch { .. })
            ),
            "{r:?}"
        );
    }
    // A legitimate record with a small sequence number is still accepted.
    client.send_application_data(b"legit").unwrap();
    let d = drain(&mut client);
    server.handle_receive(now, &d[0]).unwrap();
    assert_eq!(
        events(&mut server),
        vec![DtlsEvent::ApplicationData(b"legit".to_vec())]
    );
    // Its exact duplicate is dropped.
    assert_eq!(
        server.handle_receive(now, &d[0]),
        Err(DtlsError::ReplayedRecord)
    );
    assert!(events(&mut server).is_empty());
    assert!(server.is_connected());
}

#[test]
fn records_in_one_datagram_are_delivered_in_order_and_reordering_within_window_is_accepted() {
    let (mut client, mut server, now) = connected_pair(24);
    for i in 0..3u8 {
        client.send_application_data(&[i]).unwrap();
    }
    let d = drain(&mut client);
    assert_eq!(d.len(), 1, "records coalesced into one datagram");
    assert_eq!(split_records(&d[0]).count(), 3);
    server.handle_receive(now, &d[0]).unwrap();
    let got: Vec<_> = events(&mut server);
    assert_eq!(
        got,
        (0..3u8)
            .map(|i| DtlsEvent::ApplicationData(vec![i]))
            .collect::<Vec<_>>()
    );
    // Separate datagrams delivered out of order (within 64) are all accepted once.
    let mut ds = Vec::new();
    for i in 0..10u8 {
        client.send_application_data(&[i; 2000]).unwrap();
        ds.extend(drain(&mut client));
    }
    ds.reverse();
    for d in &ds {
        server.handle_receive(now, d).unwrap();
    }
    assert_eq!(events(&mut server).len(), 10);
}

// ---- row 20: out-of-state messages ---------------------------------------------------------

#[test]
fn bad_input_dtls_20_ccs_before_server_hello() {
    let now = now0();
    let (c, _) = configs(25);
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    drain(&mut client);
    let t0 = client.poll_timeout();
    let r = client.handle_receive(now, &record(ContentType::ChangeCipherSpec, 0, 0, &[1]));
    assert!(
        matches!(r, Err(DtlsError::UnexpectedMessage { .. })),
        "{r:?}"
    );
    assert_eq!(client.state(), DtlsState::Handshaking);
    assert_eq!(client.poll_timeout(), t0);
    assert!(events(&mut client).is_empty());
    assert!(drain(&mut client).is_empty());
}

#[test]
fn bad_input_dtls_20_finished_early() {
    let now = now0();
    let (c, s) = configs(26);
    // To a client waiting for ServerHello: fatal unexpected_message, never connected.
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    drain(&mut client);
    let _ = client.handle_receive(now, &hs_record(0, msg_type::FINISHED, 0, &[0; 12]));
    assert!(!client.is_connected());
    assert!(matches!(
        failed_with(&events(&mut client)),
        Some(DtlsError::UnexpectedMessage { .. })
    ));
    // To a server waiting for ClientHello: dropped, no state.
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    assert!(
        server
            .handle_receive(now, &hs_record(0, msg_type::FINISHED, 0, &[0; 12]))
            .is_err()
    );
    assert_eq!(server.state(), DtlsState::Handshaking);
    assert!(events(&mut server).is_empty());
    assert!(drain(&mut server).is_empty());
}

#[test]
fn bad_input_dtls_20_epoch0_application_data_after_handshake() {
    let (_client, mut server, now) = connected_pair(27);
    let r = server.handle_receive(
        now,
        &record(ContentType::ApplicationData, 0, 99, b"plaintext!"),
    );
    assert!(
        matches!(r, Err(DtlsError::UnexpectedMessage { .. })),
        "{r:?}"
    );
    assert!(events(&mut server).is_empty());
    // Unauthenticated epoch-0 alerts cannot tear the connection down either.
    assert!(
        server
            .handle_receive(now, &record(ContentType::Alert, 0, 100, &[2, 40]))
            .is_err()
    );
    assert!(server.is_connected());
}

#[test]
fn bad_input_dtls_20_hello_verify_request_mid_handshake() {
    let now = now0();
    let (c, s) = configs(28);
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    deliver(&mut server, now, &drain(&mut client));
    deliver(&mut client, now, &drain(&mut server));
    let flight5 = drain(&mut client);
    // An HVR with an old message_seq is just a retransmission: nothing regresses.
    let hvr_body = [0xfe, 0xff, 4, 1, 2, 3, 4];
    let _ = client.handle_receive(
        now,
        &hs_record(50, msg_type::HELLO_VERIFY_REQUEST, 0, &hvr_body),
    );
    assert_eq!(client.state(), DtlsState::Handshaking);
    deliver(&mut server, now, &flight5);
    exchange(&mut client, &mut server, now);
    assert!(client.is_connected() && server.is_connected());

    // An HVR in the place of the server's Finished: alert, never connected.
    let (c, s) = configs(29);
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    deliver(&mut server, now, &drain(&mut client));
    let flight4 = drain(&mut server);
    let next_seq = messages(&flight4).last().unwrap().1 + 1;
    deliver(&mut client, now, &flight4);
    drain(&mut client);
    let _ = client.handle_receive(
        now,
        &hs_record(51, msg_type::HELLO_VERIFY_REQUEST, next_seq, &hvr_body),
    );
    assert!(!client.is_connected());
    assert!(failed_with(&events(&mut client)).is_some());
    assert!(
        client
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
}

#[test]
fn bad_input_dtls_20_renegotiation_refused() {
    let (mut client, mut server, now) = connected_pair(30);
    // An authenticated ClientHello after completion: no_renegotiation warning, still connected.
    client
        .send_handshake_message_for_test(msg_type::CLIENT_HELLO, &[0xfe, 0xfd])
        .unwrap();
    let d = drain(&mut client);
    assert_eq!(
        server.handle_receive(now, &d[0]),
        Err(DtlsError::RenegotiationRefused)
    );
    deliver(&mut client, now, &drain(&mut server));
    let evs = events(&mut client);
    assert!(evs.iter().any(|e| matches!(e,
        DtlsEvent::AlertReceived(a) if a.level == AlertLevel::Warning && a.description == AlertDescription::NoRenegotiation)));
    assert!(client.is_connected() && server.is_connected());
    // HelloRequest from the server: refused the same way.
    server
        .send_handshake_message_for_test(msg_type::HELLO_REQUEST, &[])
        .unwrap();
    let d = drain(&mut server);
    assert_eq!(
        client.handle_receive(now, &d[0]),
        Err(DtlsError::RenegotiationRefused)
    );
    // An epoch-0 ClientHello from a fresh client is dropped.
    let (c2, _) = configs(31);
    let mut intruder = DtlsEndpoint::new(c2, now).unwrap();
    let ch = drain(&mut intruder);
    // (message_seq 0 is below what the server expects: at most a retransmission of its final
    // flight, which changes nothing.)
    let _ = server.handle_receive(now, &ch[0]);
    assert!(server.is_connected());
    assert!(events(&mut server).is_empty());
    for d in drain(&mut server) {
        assert!(split_records(&d).all(|r| r.unwrap().header.epoch <= 1));
        assert!(
            messages(std::slice::from_ref(&d))
                .iter()
                .all(|m| m.0 != msg_type::SERVER_HELLO)
        );
    }
    client.send_application_data(b"still here").unwrap();
    deliver(&mut server, now, &drain(&mut client));
    assert!(events(&mut server).contains(&DtlsEvent::ApplicationData(b"still here".to_vec())));
}

#[test]
fn bad_input_dtls_20_alert_before_client_hello_is_dropped() {
    // Found by the learned model (tests/state_machine.rs): a spoofed alert used to fail (fatal)
    // or close (close_notify) a server that had not accepted any ClientHello yet.
    let now = now0();
    let (c, mut s) = configs(32);
    s.cookie_exchange = true;
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    for body in [[2u8, 40], [1, 0], [1, 100]] {
        assert!(matches!(
            server.handle_receive(now, &record(ContentType::Alert, 0, 7, &body)),
            Err(DtlsError::UnexpectedMessage { .. })
        ));
        assert_eq!(server.state(), DtlsState::Handshaking);
        assert!(events(&mut server).is_empty() && drain(&mut server).is_empty());
    }
    // Also between the HelloVerifyRequest and the ClientHello with the cookie.
    deliver(&mut server, now, &drain(&mut client));
    let hvr = drain(&mut server);
    assert!(
        server
            .handle_receive(now, &record(ContentType::Alert, 0, 8, &[2, 40]))
            .is_err()
    );
    deliver(&mut client, now, &hvr);
    exchange(&mut client, &mut server, now);
    assert!(client.is_connected() && server.is_connected());
}

// ---- row 21: client authentication -----------------------------------------------------------

#[test]
fn bad_input_dtls_21_certificate_without_certificate_verify() {
    let now = now0();
    let (mut c, s) = configs(32);
    c.fault = Some(Fault::OmitCertificateVerify);
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    exchange(&mut client, &mut server, now);
    assert!(!server.is_connected() && !client.is_connected());
    assert!(matches!(
        failed_with(&events(&mut server)),
        Some(DtlsError::UnexpectedMessage { .. })
    ));
    assert_eq!(
        failed_with(&events(&mut client)),
        Some(DtlsError::PeerAlert(AlertDescription::UnexpectedMessage))
    );
    assert!(
        server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
}

#[test]
fn bad_input_dtls_21_certificate_verify_by_another_key() {
    let now = now0();
    let (mut c, s) = configs(33);
    let (other, _) = certs(99);
    c.fault = Some(Fault::SignCertificateVerifyWith(other));
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    exchange(&mut client, &mut server, now);
    assert!(!server.is_connected());
    assert_eq!(
        failed_with(&events(&mut server)),
        Some(DtlsError::BadSignature {
            message: "CertificateVerify"
        })
    );
    assert_eq!(
        failed_with(&events(&mut client)),
        Some(DtlsError::PeerAlert(AlertDescription::DecryptError))
    );
}

// ---- row 22: fingerprints --------------------------------------------------------------------

fn run_with_fingerprints(
    seed: u8,
    client_fps: Vec<Fingerprint>,
    server_fps: Vec<Fingerprint>,
) -> (
    DtlsEndpoint,
    DtlsEndpoint,
    Vec<DtlsEvent>,
    Vec<DtlsEvent>,
    Instant,
) {
    let now = now0();
    let (mut c, mut s) = configs(seed);
    c.remote_fingerprints = client_fps;
    s.remote_fingerprints = server_fps;
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    exchange(&mut client, &mut server, now);
    let ce = events(&mut client);
    let se = events(&mut server);
    (client, server, ce, se, now)
}

#[test]
fn bad_input_dtls_22_fingerprint_mismatch() {
    let (ca, cb) = certs(34);
    let (stranger, _) = certs(77);
    // Server expects another certificate.
    let (client, server, ce, se, _) = run_with_fingerprints(
        34,
        vec![cb.fingerprint(HashAlgorithm::Sha256)],
        vec![stranger.fingerprint(HashAlgorithm::Sha256)],
    );
    assert_eq!(failed_with(&se), Some(DtlsError::FingerprintMismatch));
    assert!(!se.contains(&DtlsEvent::Connected) && !ce.contains(&DtlsEvent::Connected));
    assert_eq!(
        failed_with(&ce),
        Some(DtlsError::PeerAlert(AlertDescription::BadCertificate))
    );
    assert_eq!(
        server.export_keying_material("EXTRACTOR-dtls_srtp", 60),
        Err(DtlsError::NotConnected)
    );
    assert_eq!(
        client.export_keying_material("EXTRACTOR-dtls_srtp", 60),
        Err(DtlsError::NotConnected)
    );
    // Client expects another certificate: it fails before sending its key exchange.
    let (client, _, ce, se, _) = run_with_fingerprints(
        34,
        vec![stranger.fingerprint(HashAlgorithm::Sha256)],
        vec![ca.fingerprint(HashAlgorithm::Sha256)],
    );
    assert_eq!(failed_with(&ce), Some(DtlsError::FingerprintMismatch));
    assert!(!se.contains(&DtlsEvent::Connected));
    assert!(
        client
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
    // Hash algorithm mismatch: the right digest labelled with another algorithm.
    let mut wrong_alg = cb.fingerprint(HashAlgorithm::Sha256);
    wrong_alg.algorithm = HashAlgorithm::Sha384;
    let (_, _, ce, _, _) = run_with_fingerprints(
        34,
        vec![wrong_alg],
        vec![ca.fingerprint(HashAlgorithm::Sha256)],
    );
    assert_eq!(failed_with(&ce), Some(DtlsError::FingerprintMismatch));
}

#[test]
fn bad_input_dtls_22_fingerprint_case_algorithms_and_lists() {
    let (ca, cb) = certs(35);
    let (stranger, _) = certs(78);
    let lower = Fingerprint::parse(
        &cb.fingerprint(HashAlgorithm::Sha256)
            .to_string()
            .to_lowercase(),
    )
    .unwrap();
    let several = vec![
        stranger.fingerprint(HashAlgorithm::Sha256),
        ca.fingerprint(HashAlgorithm::Sha512),
        ca.fingerprint(HashAlgorithm::Sha1),
    ];
    let (client, server, ce, se, _) = run_with_fingerprints(35, vec![lower], several);
    assert!(ce.contains(&DtlsEvent::Connected) && se.contains(&DtlsEvent::Connected));
    assert_eq!(
        client
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap(),
        server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .unwrap()
    );
}

#[test]
fn bad_input_dtls_22_fingerprints_arrive_late() {
    let (ca, cb) = certs(36);
    let (stranger, _) = certs(79);
    for right in [true, false] {
        let (mut client, mut server, ce, se, now) = run_with_fingerprints(36, vec![], vec![]);
        assert!(!ce.contains(&DtlsEvent::Connected) && !se.contains(&DtlsEvent::Connected));
        assert_eq!(client.state(), DtlsState::AwaitingFingerprint);
        assert_eq!(server.state(), DtlsState::AwaitingFingerprint);
        assert_eq!(
            server.export_keying_material("EXTRACTOR-dtls_srtp", 60),
            Err(DtlsError::NotConnected)
        );
        assert_eq!(
            server.send_application_data(b"x"),
            Err(DtlsError::NotConnected)
        );
        client.set_remote_fingerprints(vec![cb.fingerprint(HashAlgorithm::Sha256)]);
        assert_eq!(events(&mut client), vec![DtlsEvent::Connected]);
        client.send_application_data(b"early data").unwrap();
        deliver(&mut server, now, &drain(&mut client));
        assert!(
            events(&mut server).is_empty(),
            "nothing delivered before the fingerprint check"
        );
        if right {
            server.set_remote_fingerprints(vec![ca.fingerprint(HashAlgorithm::Sha256)]);
            assert_eq!(
                events(&mut server),
                vec![
                    DtlsEvent::Connected,
                    DtlsEvent::ApplicationData(b"early data".to_vec())
                ]
            );
            assert!(
                server
                    .export_keying_material("EXTRACTOR-dtls_srtp", 60)
                    .is_ok()
            );
        } else {
            server.set_remote_fingerprints(vec![stranger.fingerprint(HashAlgorithm::Sha256)]);
            assert_eq!(
                events(&mut server),
                vec![DtlsEvent::Failed(DtlsError::FingerprintMismatch)]
            );
            assert!(
                server
                    .export_keying_material("EXTRACTOR-dtls_srtp", 60)
                    .is_err()
            );
            assert_eq!(server.buffered_bytes(), 0);
            // The peer learns it through a fatal alert.
            deliver(&mut client, now, &drain(&mut server));
            assert_eq!(
                failed_with(&events(&mut client)),
                Some(DtlsError::PeerAlert(AlertDescription::BadCertificate))
            );
        }
    }
}

// ---- row 23: malformed hellos and key exchanges ----------------------------------------------

/// The server's first flight as whole messages, for mutation.
fn server_flight(seed: u8) -> (DtlsEndpoint, Vec<(u8, u16, Vec<u8>)>, Instant) {
    let now = now0();
    let (c, s) = configs(seed);
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    deliver(&mut server, now, &drain(&mut client));
    let msgs = messages(&drain(&mut server));
    (client, msgs, now)
}

fn feed_mutated(
    seed: u8,
    mutate: impl Fn(&mut Vec<(u8, u16, Vec<u8>)>),
) -> (DtlsEndpoint, Vec<DtlsEvent>) {
    let (mut client, mut msgs, now) = server_flight(seed);
    mutate(&mut msgs);
    for (i, (t, seq, body)) in msgs.iter().enumerate() {
        let _ = client.handle_receive(now, &hs_record(i as u64, *t, *seq, body));
    }
    let evs = events(&mut client);
    assert!(!client.is_connected());
    (client, evs)
}

#[test]
fn bad_input_dtls_23_malformed_server_hello() {
    // Truncated.
    let (_, evs) = feed_mutated(40, |m| m[0].2.truncate(20));
    assert!(matches!(
        failed_with(&evs),
        Some(DtlsError::MalformedHandshake { .. })
    ));
    // A cipher suite that was not offered (TLS_RSA_WITH_AES_128_CBC_SHA).
    let (_, evs) = feed_mutated(41, |m| {
        let at = 2 + 32 + 1 + m[0].2[34] as usize;
        m[0].2[at..at + 2].copy_from_slice(&[0x00, 0x2f]);
    });
    assert_eq!(
        failed_with(&evs),
        Some(DtlsError::IllegalParameter {
            what: "cipher suite"
        })
    );
    // Extension block length larger than the message.
    let (_, evs) = feed_mutated(42, |m| {
        let at = 2 + 32 + 1 + m[0].2[34] as usize + 3;
        m[0].2[at] = 0xff;
    });
    assert!(matches!(
        failed_with(&evs),
        Some(DtlsError::MalformedHandshake { .. })
    ));
}

#[test]
fn bad_input_dtls_23_malformed_server_key_exchange() {
    let ske = |m: &Vec<(u8, u16, Vec<u8>)>| {
        m.iter()
            .position(|x| x.0 == msg_type::SERVER_KEY_EXCHANGE)
            .unwrap()
    };
    // EC point length 0.
    let (_, evs) = feed_mutated(43, |m| {
        let i = ske(m);
        m[i].2 = vec![3, 0, 29, 0, 4, 3, 0, 2, 0x30, 0];
    });
    assert!(matches!(
        failed_with(&evs),
        Some(DtlsError::MalformedHandshake { .. })
    ));
    // Oversize EC point (255 bytes): the signature no longer covers it.
    let (_, evs) = feed_mutated(44, |m| {
        let i = ske(m);
        let old = m[i].2.clone();
        let mut body = vec![3, old[1], old[2], 255];
        body.extend(std::iter::repeat_n(4u8, 255));
        body.extend_from_slice(&old[4 + old[3] as usize..]);
        m[i].2 = body;
    });
    assert!(failed_with(&evs).is_some());
    // Unknown curve (secp521r1).
    let (_, evs) = feed_mutated(45, |m| {
        let i = ske(m);
        m[i].2[1] = 0;
        m[i].2[2] = 25;
    });
    assert_eq!(
        failed_with(&evs),
        Some(DtlsError::IllegalParameter {
            what: "named group"
        })
    );
    // A PSK-style body (identity hint first) is not an ECDHE ServerKeyExchange.
    let (_, evs) = feed_mutated(46, |m| {
        let i = ske(m);
        m[i].2 = vec![0, 4, b'h', b'i', b'n', b't'];
    });
    assert!(matches!(
        failed_with(&evs),
        Some(DtlsError::MalformedHandshake { .. })
    ));
    // Curve type explicit_prime (1).
    let (_, evs) = feed_mutated(47, |m| {
        let i = ske(m);
        m[i].2[0] = 1;
    });
    assert!(failed_with(&evs).is_some());
}

#[test]
fn bad_input_dtls_23_malformed_client_hello() {
    let now = now0();
    let (c, s) = configs(48);
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let ch = messages(&drain(&mut client)).remove(0).2;
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    // Zero cipher suites.
    let mut zero = ch[..35].to_vec();
    zero.push(0); // empty cookie
    zero.extend_from_slice(&[0, 0]); // cipher_suites length 0
    zero.extend_from_slice(&[1, 0]);
    let r = server.handle_receive(now, &hs_record(0, msg_type::CLIENT_HELLO, 0, &zero));
    assert!(
        matches!(r, Err(DtlsError::MalformedHandshake { .. })),
        "{r:?}"
    );
    // Extension length overflowing the message.
    let mut overflow = ch.clone();
    let n = overflow.len();
    assert_eq!(&overflow[n - 5..n - 3], &[0xff, 0x01]); // renegotiation_info comes last
    overflow[n - 3] = 0xff; // its length now runs past the end
    let r = server.handle_receive(now, &hs_record(1, msg_type::CLIENT_HELLO, 0, &overflow));
    assert!(
        matches!(
            r,
            Err(DtlsError::MalformedExtension { .. } | DtlsError::MalformedHandshake { .. })
        ),
        "{r:?}"
    );
    // Every truncation: an error, never a panic, never state.
    for cut in 0..ch.len() {
        let _ = server.handle_receive(
            now,
            &hs_record(2 + cut as u64, msg_type::CLIENT_HELLO, 0, &ch[..cut]),
        );
    }
    assert_eq!(server.poll_timeout(), None);
    assert_eq!(server.buffered_bytes(), 0);
    assert!(events(&mut server).is_empty());
    // The genuine hello still works afterwards.
    server
        .handle_receive(now, &hs_record(9999, msg_type::CLIENT_HELLO, 0, &ch))
        .unwrap();
    assert!(server.poll_timeout().is_some());
}

#[test]
fn bad_input_dtls_23_no_common_suite_gets_alert_but_no_state() {
    let now = now0();
    let (mut c, mut s) = configs(49);
    c.cipher_suites = vec![tern_dtls::CipherSuite::EcdheEcdsaChacha20Poly1305Sha256];
    s.cipher_suites = vec![tern_dtls::CipherSuite::EcdheEcdsaAes128GcmSha256];
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    let ch = drain(&mut client);
    assert_eq!(
        server.handle_receive(now, &ch[0]),
        Err(DtlsError::NoCommonParameters {
            what: "cipher suite"
        })
    );
    assert_eq!(server.state(), DtlsState::Handshaking);
    assert_eq!(server.poll_timeout(), None);
    deliver(&mut client, now, &drain(&mut server));
    assert_eq!(
        failed_with(&events(&mut client)),
        Some(DtlsError::PeerAlert(AlertDescription::HandshakeFailure))
    );
}

// ---- row 24: sequence numbers ----------------------------------------------------------------

#[test]
fn bad_input_dtls_24_gcm_nonces_unique_and_sequence_never_wraps() {
    let (mut client, mut server, now) = connected_pair(50);
    let start = client.next_write_sequence();
    let mut last: Option<u64> = None;
    const N: u64 = 1_000_000;
    for i in 0..N {
        client.send_application_data(&[i as u8]).unwrap();
        while let Some(d) = client.poll_transmit() {
            for r in split_records(&d) {
                let r = r.unwrap();
                // RFC 5288 §3 + RFC 6347 §4.1.2.1: explicit nonce = epoch || sequence number.
                assert_eq!(&r.body[..8], &r.header.epoch_seq()[..]);
                if let Some(prev) = last {
                    assert_eq!(r.header.sequence, prev + 1, "nonce reused or skipped");
                }
                last = Some(r.header.sequence);
                if i == N - 1 {
                    server.handle_receive(now, &d).unwrap();
                }
            }
        }
    }
    assert_eq!(last, Some(start + N - 1));
    assert!(events(&mut server).contains(&DtlsEvent::ApplicationData(vec![(N - 1) as u8])));
    // At the end of the 48-bit space the endpoint refuses to send rather than wrap.
    client.set_next_write_sequence_for_test((1 << 48) - 1);
    client.send_application_data(b"last").unwrap();
    assert_eq!(
        client.send_application_data(b"wrap"),
        Err(DtlsError::SequenceNumberExhausted)
    );
    let d = drain(&mut client);
    server.handle_receive(now, &d[0]).unwrap();
    assert_eq!(
        events(&mut server),
        vec![DtlsEvent::ApplicationData(b"last".to_vec())]
    );
}

#[test]
fn certificate_generation_is_unique() {
    let a = Certificate::generate().unwrap();
    let b = Certificate::generate().unwrap();
    assert_ne!(
        a.fingerprint(HashAlgorithm::Sha256),
        b.fingerprint(HashAlgorithm::Sha256)
    );
}
