//! BAD_INPUT rows 16, 19, 20 and 23 for DTLS 1.3: forged cookies, forged and replayed
//! records, out-of-state and unauthenticated messages after the handshake, malformed hellos.
//! Every rejected input leaves the endpoint as it was.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // one real Instant as the origin of virtual time

mod common;

use std::time::{Duration, Instant};

use common::*;
use tern_dtls::wire::dtls13::{HELLO_RETRY_REQUEST_RANDOM, ServerHello13};
use tern_dtls::wire::handshake::msg_type;
use tern_dtls::{DtlsEndpoint, DtlsError, DtlsState};

fn connected13(seed: u8) -> Pair {
    let (mut c, mut s) = configs(seed);
    c.dtls13 = true;
    s.dtls13 = true;
    let mut p = Pair::new(c, s, Impairment::perfect(), u64::from(seed));
    assert!(p.connect());
    assert!(p.run_until(Duration::from_secs(10), |p| {
        p.client.poll_timeout().is_none()
    }));
    p
}

#[test]
fn bad_input_dtls_16_dtls13_forged_or_stale_cookie_keeps_no_state() {
    let now = Instant::now();
    let (mut c, mut s) = configs(70);
    c.dtls13 = true;
    s.dtls13 = true;
    s.cookie_exchange = true;
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    let ch1 = drain(&mut client);
    deliver(&mut server, now, &ch1);
    let hrr = drain(&mut server);
    let sh = ServerHello13::parse(&messages(&hrr)[0].2).unwrap();
    assert_eq!(sh.random, HELLO_RETRY_REQUEST_RANDOM);
    assert!(!server.is_dtls13() && server.buffered_bytes() == 0);
    // The client answers with the cookie; flip one cookie byte in its second ClientHello.
    deliver(&mut client, now, &hrr);
    let ch2 = drain(&mut client);
    let cookie_at = ch2[0]
        .windows(sh.cookie.len())
        .position(|w| w == sh.cookie.as_slice())
        .unwrap();
    let mut forged = ch2[0].clone();
    forged[cookie_at + 20] ^= 1;
    assert_eq!(
        server.handle_receive(now, &forged),
        Err(DtlsError::BadCookie)
    );
    assert!(!server.is_dtls13() && server.buffered_bytes() == 0);
    assert!(
        drain(&mut server).is_empty(),
        "no answer to a forged cookie"
    );
    // The same genuine cookie two lifetimes later is stale.
    let later = now + Duration::from_secs(200);
    assert_eq!(
        server.handle_receive(later, &ch2[0]),
        Err(DtlsError::BadCookie)
    );
    assert!(!server.is_dtls13());
    // In time it is accepted.
    server.handle_receive(now, &ch2[0]).unwrap();
    assert!(server.is_dtls13());
}

#[test]
fn bad_input_dtls_19_dtls13_forged_record_far_ahead_does_not_move_the_window() {
    let mut p = connected13(71);
    let now = p.now;
    p.client.send_application_data(b"one").unwrap();
    let genuine = p.client.poll_transmit().unwrap();
    // Same header bits, garbage body: fails authentication whatever sequence it decodes to.
    let mut forged = genuine.clone();
    for b in forged.iter_mut().skip(5) {
        *b = 0xa5;
    }
    assert_eq!(
        p.server.handle_receive(now, &forged),
        Err(DtlsError::BadRecordMac)
    );
    p.server.handle_receive(now, &genuine).unwrap();
    assert_eq!(
        p.server.handle_receive(now, &genuine),
        Err(DtlsError::ReplayedRecord)
    );
    // A record jumped far ahead (2^40) is still accepted when authentic: sequence numbers are
    // reconstructed from 16 bits, so set our own counter and send.
    p.client.set_next_write_sequence_for_test(1 << 40);
    p.client.send_application_data(b"far").unwrap();
    let far = p.client.poll_transmit().unwrap();
    // The receiver reconstructs the closest sequence number, not 2^40: authentication fails
    // and nothing changes (RFC 9147 §4.2.2 limits how far a sender may jump).
    let before = p.server.state();
    let _ = p.server.handle_receive(now, &far);
    assert_eq!(p.server.state(), before);
    p.client.set_next_write_sequence_for_test(2);
    p.client.send_application_data(b"two").unwrap();
    let two = p.client.poll_transmit().unwrap();
    p.server.handle_receive(now, &two).unwrap();
}

#[test]
fn bad_input_dtls_20_dtls13_plaintext_hellos_and_alerts_after_handshake_are_dropped() {
    let mut p = connected13(72);
    let now = p.now;
    // An epoch-0 ClientHello (renegotiation does not exist in 1.3) and ServerHello.
    for (t, body) in [
        (msg_type::CLIENT_HELLO, vec![0xfe, 0xfd, 1, 2, 3]),
        (msg_type::SERVER_HELLO, vec![0xfe, 0xfd]),
    ] {
        let rec = hs_record(100, t, 9, &body);
        assert!(p.server.handle_receive(now, &rec).is_err());
        assert!(p.client.handle_receive(now, &rec).is_err());
    }
    // An epoch-0 fatal alert cannot tear the connection down.
    let alert = record(
        tern_dtls::wire::record::ContentType::Alert,
        0,
        101,
        &[2, 40],
    );
    assert!(p.server.handle_receive(now, &alert).is_err());
    // Random unified-header records for unknown epochs.
    for first in [0x2c, 0x2d, 0x2e, 0x2f] {
        let mut junk = vec![first, 0, 1, 0, 20];
        junk.extend_from_slice(&[0x11; 20]);
        assert!(p.server.handle_receive(now, &junk).is_err());
    }
    assert_eq!(p.server.state(), DtlsState::Connected);
    assert_eq!(p.client.state(), DtlsState::Connected);
    p.client.send_application_data(b"still fine").unwrap();
    assert!(p.run_until(Duration::from_secs(2), |p| {
        p.server_events
            .iter()
            .any(|e| matches!(e, tern_dtls::DtlsEvent::ApplicationData(d) if d == b"still fine"))
    }));
}

#[test]
fn bad_input_dtls_23_dtls13_malformed_hellos_are_errors_not_panics() {
    let now = Instant::now();
    let (mut c, mut s) = configs(73);
    c.dtls13 = true;
    s.dtls13 = true;
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let ch = drain(&mut client);
    let ch_body = messages(&ch)[0].2.clone();
    // Every truncation and a sweep of single-byte corruptions of the ClientHello body.
    for cut in 0..ch_body.len() {
        let mut server = DtlsEndpoint::new(configs(73).1, now).unwrap();
        let _ = server.handle_receive(
            now,
            &hs_record(0, msg_type::CLIENT_HELLO, 0, &ch_body[..cut]),
        );
        assert!(!server.is_dtls13() || cut == ch_body.len());
    }
    for i in 0..ch_body.len() {
        let mut b = ch_body.clone();
        b[i] ^= 0xff;
        let (_, mut s2) = configs(73);
        s2.dtls13 = true;
        let mut server = DtlsEndpoint::new(s2, now).unwrap();
        let _ = server.handle_receive(now, &hs_record(0, msg_type::CLIENT_HELLO, 0, &b));
    }
    // A ServerHello selecting DTLS 1.3 with an unknown group, a key share of length 0 or
    // oversize, or an unoffered suite: the client fails with an alert, never panics.
    let mut bad_shs = Vec::new();
    for (group, key) in [
        (29u16, vec![]),
        (29, vec![7; 300]),
        (0x11ec, vec![1; 32]),
        (23, vec![4; 10]),
    ] {
        let sh = ServerHello13 {
            random: [1; 32],
            session_id: vec![],
            cipher_suite: 0x1301,
            selected_version: 0xfefc,
            key_share: Some((group, key)),
            cookie: vec![],
        };
        let mut b = Vec::new();
        sh.emit(&mut b);
        bad_shs.push(b);
    }
    let wrong_suite = ServerHello13 {
        random: [1; 32],
        session_id: vec![],
        cipher_suite: 0x1302,
        selected_version: 0xfefc,
        key_share: Some((29, vec![9; 32])),
        cookie: vec![],
    };
    let mut b = Vec::new();
    wrong_suite.emit(&mut b);
    bad_shs.push(b);
    for sh in bad_shs {
        let (mut c, _) = configs(74);
        c.dtls13 = true;
        let mut client = DtlsEndpoint::new(c, now).unwrap();
        drain(&mut client);
        let _ = client.handle_receive(now, &hs_record(0, msg_type::SERVER_HELLO, 0, &sh));
        assert!(matches!(
            client.state(),
            DtlsState::Failed | DtlsState::Handshaking
        ));
        assert!(!client.is_connected());
    }
}

#[test]
fn bad_input_dtls_24_dtls13_sequence_number_never_wraps_within_an_epoch() {
    let mut p = connected13(75);
    // At the last usable sequence number a KeyUpdate (due long ago) takes it; the record after
    // it is refused instead of wrapping.
    p.client.set_next_write_sequence_for_test((1 << 48) - 1);
    assert_eq!(
        p.client.send_application_data(b"one too many"),
        Err(DtlsError::SequenceNumberExhausted)
    );
    assert_eq!(p.client.next_write_sequence(), 1 << 48);
    assert_eq!(p.client.write_epoch(), 3);
    assert!(
        p.client.poll_timeout().is_some(),
        "the KeyUpdate is in flight"
    );
}

#[test]
fn bad_input_dtls_21_dtls13_client_certificate_without_certificate_verify() {
    let p = client_fault13(76, tern_dtls::Fault::OmitCertificateVerify);
    assert!(p.server.is_dtls13());
    assert_eq!(p.server.state(), DtlsState::Failed);
    assert!(p.server_events.iter().any(|e| matches!(
        e,
        tern_dtls::DtlsEvent::Failed(DtlsError::UnexpectedMessage { .. })
    )));
    assert!(
        p.server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
}

#[test]
fn bad_input_dtls_21_dtls13_certificate_verify_signed_by_another_key() {
    let other = tern_dtls::Certificate::generate_from_seed([99; 32]).unwrap();
    let p = client_fault13(77, tern_dtls::Fault::SignCertificateVerifyWith(other));
    assert_eq!(p.server.state(), DtlsState::Failed);
    assert!(p.server_events.iter().any(|e| matches!(
        e,
        tern_dtls::DtlsEvent::Failed(DtlsError::BadSignature { .. })
    )));
    assert!(!p.server.is_connected());
    assert!(
        p.server
            .export_keying_material("EXTRACTOR-dtls_srtp", 60)
            .is_err()
    );
}

#[test]
fn bad_input_dtls_24_dtls13_key_update_starts_on_its_own_before_the_aead_limit() {
    let (mut c, mut s) = configs(78);
    c.dtls13 = true;
    s.dtls13 = true;
    // The default is 2^23 records; a short interval shows the mechanism.
    c.key_update_interval = 5;
    let mut p = Pair::new(c, s, Impairment::perfect(), 78);
    assert!(p.connect());
    assert!(p.run_until(Duration::from_secs(10), |p| {
        p.client.poll_timeout().is_none()
    }));
    for i in 0..5u8 {
        p.client.send_application_data(&[i]).unwrap();
    }
    assert_eq!(p.client.write_epoch(), 3);
    assert!(p.client.poll_timeout().is_none());
    // The sixth record starts a KeyUpdate; once acknowledged, epoch 4 starts at 0.
    p.client.send_application_data(&[5]).unwrap();
    assert!(p.client.poll_timeout().is_some(), "KeyUpdate in flight");
    assert!(p.run_until(Duration::from_secs(10), |p| p.client.write_epoch() == 4));
    p.client.send_application_data(b"c").unwrap();
    assert!(p.run_until(Duration::from_secs(2), |p| {
        p.server_events
            .iter()
            .filter(|e| matches!(e, tern_dtls::DtlsEvent::ApplicationData(_)))
            .count()
            == 7
    }));
}

fn client_fault13(seed: u8, fault: tern_dtls::Fault) -> Pair {
    let (mut c, mut s) = configs(seed);
    c.dtls13 = true;
    s.dtls13 = true;
    c.fault = Some(fault);
    let mut p = Pair::new(c, s, Impairment::perfect(), u64::from(seed));
    p.run_until(Duration::from_secs(30), |p| {
        p.server.state() == DtlsState::Failed
    });
    p
}

/// Found by the learned model (tests/state_machine.rs): a genuine ServerHello that is not the
/// answer to this client's ClientHello (replayed from the same server's answer to another
/// hello) used to leave both sides waiting forever. The client now keeps a deadline.
#[test]
fn bad_input_dtls_20_dtls13_replayed_server_hello_ends_in_a_timeout_not_a_hang() {
    let now = Instant::now();
    let (mut c, mut s) = configs(71);
    c.dtls13 = true;
    s.dtls13 = true;
    s.cookie_exchange = true;
    c.max_retransmissions = 3;
    // A reference run gives the ServerHello the server sends after its HelloRetryRequest.
    let mut client = DtlsEndpoint::new(c.clone(), now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    deliver(&mut server, now, &drain(&mut client));
    deliver(&mut client, now, &drain(&mut server));
    deliver(&mut server, now, &drain(&mut client));
    let flight = drain(&mut server);
    let (t, _, body) = plaintext_hello(&flight[0]);
    assert_eq!(t, msg_type::SERVER_HELLO);
    // A fresh client (same seed, same key share) gets it in place of the HelloRetryRequest,
    // numbered as that one would be.
    let sh_record = hs_record(1, t, 0, &body);
    let mut victim = DtlsEndpoint::new(c, now).unwrap();
    drain(&mut victim);
    victim.handle_receive(now, &sh_record).unwrap();
    assert!(victim.is_dtls13() && victim.state() == DtlsState::Handshaking);
    let mut t = now;
    for _ in 0..10 {
        let Some(at) = victim.poll_timeout() else {
            break;
        };
        t = at;
        victim.handle_timeout(t);
        drain(&mut victim);
    }
    assert!(t > now, "no deadline after the ServerHello");
    assert_eq!(victim.state(), DtlsState::Failed);
    assert!(
        events(&mut victim).contains(&tern_dtls::DtlsEvent::Failed(DtlsError::HandshakeTimeout))
    );
}

/// Found by the learned model: past the hellos a new plaintext handshake message can only be
/// forged; it is dropped (RFC 9147 §4.5.2) instead of ending the handshake.
#[test]
fn bad_input_dtls_20_dtls13_plaintext_message_after_the_hellos_is_dropped() {
    let now = Instant::now();
    let (mut c, mut s) = configs(72);
    c.dtls13 = true;
    s.dtls13 = true;
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    let ch = drain(&mut client);
    deliver(&mut server, now, &ch);
    let server_flight = drain(&mut server);
    assert!(server.is_dtls13());
    // The server waits for the client's encrypted Certificate (message_seq 1).
    let forged = hs_record(9, msg_type::CLIENT_HELLO, 1, &messages(&ch)[0].2);
    assert!(matches!(
        server.handle_receive(now, &forged),
        Err(DtlsError::UnexpectedMessage { .. })
    ));
    assert_eq!(server.state(), DtlsState::Handshaking);
    assert!(drain(&mut server).is_empty() && events(&mut server).is_empty());
    // The same to the client waiting for EncryptedExtensions.
    let (t, seq, body) = plaintext_hello(&server_flight[0]);
    client
        .handle_receive(now, &hs_record(1, t, seq, &body))
        .unwrap();
    assert_eq!(
        client.handshake_state_name(),
        "1.3 wait EncryptedExtensions"
    );
    let forged = hs_record(9, msg_type::SERVER_HELLO, 2, &[0; 40]);
    assert!(client.handle_receive(now, &forged).is_err());
    assert_eq!(client.state(), DtlsState::Handshaking);
    deliver(&mut client, now, &server_flight);
    exchange(&mut client, &mut server, now);
    assert!(client.is_connected() && server.is_connected());
}

/// The plaintext hello at the start of a datagram (encrypted records may follow it).
fn plaintext_hello(d: &[u8]) -> (u8, u16, Vec<u8>) {
    let (r, _) = tern_dtls::wire::record::parse_record(d, 0).unwrap();
    let (f, _) = tern_dtls::wire::handshake::parse_fragment(r.body, 0).unwrap();
    (f.header.msg_type, f.header.message_seq, f.data.to_vec())
}
