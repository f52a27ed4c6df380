//! A ClientHello shaped like Chromium 156's (DTLS 1.3 + 1.2, X25519MLKEM768 key share, GREASE,
//! about 1.4 kB sent as two handshake fragments) must get a correct DTLS 1.2 answer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // one real Instant as the origin of virtual time

mod common;

use std::time::Instant;

use common::*;
use tern_dtls::wire::handshake::{HandshakeHeader, ServerHello, msg_type};
use tern_dtls::{DtlsEndpoint, DtlsState, SrtpProtectionProfile};

fn ext(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn u16s(v: &[u16]) -> Vec<u8> {
    let mut b = ((v.len() * 2) as u16).to_be_bytes().to_vec();
    for x in v {
        b.extend_from_slice(&x.to_be_bytes());
    }
    b
}

/// The body of a DTLS 1.3-capable ClientHello with the extensions Chromium sends.
fn chromium_like_client_hello() -> Vec<u8> {
    let mut b = vec![0xfe, 0xfd];
    b.extend_from_slice(&[0x5a; 32]); // random
    b.push(0); // session_id
    b.push(0); // cookie
    let suites = [
        0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009,
        0xc013, 0xc00a, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    b.extend_from_slice(&u16s(&suites));
    b.extend_from_slice(&[1, 0]); // compression: null
    let mut e = Vec::new();
    ext(&mut e, 0x2a2a, &[]); // GREASE
    ext(&mut e, 23, &[]); // extended_master_secret
    ext(&mut e, 0xff01, &[0]); // renegotiation_info
    ext(&mut e, 10, &u16s(&[0x4a4a, 0x11ec, 29, 23, 24])); // supported_groups incl. X25519MLKEM768
    ext(&mut e, 11, &[1, 0]); // ec_point_formats
    ext(&mut e, 35, &[]); // session_ticket
    ext(
        &mut e,
        13,
        &u16s(&[
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ]),
    );
    let mut srtp = u16s(&[0x0007, 0x0008, 0x0001, 0x0002]);
    srtp.push(0);
    ext(&mut e, 14, &srtp); // use_srtp
    ext(&mut e, 43, &[4, 0xfe, 0xfc, 0xfe, 0xfd]); // supported_versions: DTLS 1.3, 1.2
    let mut shares = Vec::new();
    for (group, len) in [(0x4a4au16, 1usize), (0x11ec, 1216), (29, 32)] {
        shares.extend_from_slice(&group.to_be_bytes());
        shares.extend_from_slice(&(len as u16).to_be_bytes());
        shares.extend(std::iter::repeat_n(0x33u8, len));
    }
    let mut ks = (shares.len() as u16).to_be_bytes().to_vec();
    ks.extend_from_slice(&shares);
    ext(&mut e, 51, &ks); // key_share
    ext(&mut e, 45, &[1, 1]); // psk_key_exchange_modes
    ext(&mut e, 0x3a3a, &[0]); // GREASE
    b.extend_from_slice(&(e.len() as u16).to_be_bytes());
    b.extend_from_slice(&e);
    b
}

fn two_fragments(body: &[u8], split: usize) -> (Vec<u8>, Vec<u8>) {
    let h = |off: usize, len: usize| HandshakeHeader {
        msg_type: msg_type::CLIENT_HELLO,
        length: body.len() as u32,
        message_seq: 0,
        fragment_offset: off as u32,
        fragment_length: len as u32,
    };
    (
        fragment_record(0, h(0, split), &body[..split]),
        fragment_record(1, h(split, body.len() - split), &body[split..]),
    )
}

#[test]
fn fragmented_dtls13_client_hello_gets_dtls12_server_hello() {
    let now = Instant::now();
    let body = chromium_like_client_hello();
    assert!(body.len() > 1350 && body.len() < 1450, "{}", body.len());
    let (_, s) = configs(60);
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    let (f1, f2) = two_fragments(&body, 1100);
    // Second fragment first: reassembly does not care about order.
    server.handle_receive(now, &f2).unwrap();
    assert!(drain(&mut server).is_empty());
    server.handle_receive(now, &f1).unwrap();
    let flight = drain(&mut server);
    let msgs = messages(&flight);
    let types: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(
        types,
        vec![
            msg_type::SERVER_HELLO,
            msg_type::CERTIFICATE,
            msg_type::SERVER_KEY_EXCHANGE,
            msg_type::CERTIFICATE_REQUEST,
            msg_type::SERVER_HELLO_DONE
        ]
    );
    let sh = ServerHello::parse(&msgs[0].2).unwrap();
    assert_eq!(sh.version, 0xfefd);
    assert_eq!(sh.cipher_suite, 0xc02b);
    assert!(sh.extensions.extended_master_secret);
    assert_eq!(sh.extensions.renegotiation_info, Some(vec![]));
    assert_eq!(
        sh.extensions.use_srtp.as_ref().unwrap().profiles,
        vec![0x0007]
    );
    assert!(
        sh.extensions.unknown.is_empty(),
        "no DTLS 1.3 extension in a 1.2 ServerHello"
    );
    // A 1.2-only server must not put the TLS 1.3 downgrade sentinel in its random.
    assert_ne!(&sh.random[24..], b"DOWNGRD\x01");
    assert_ne!(&sh.random[24..], b"DOWNGRD\x00");
    // x25519 is chosen (X25519MLKEM768 is not supported, and is skipped).
    let ske = &msgs[2].2;
    assert_eq!(&ske[..3], &[3, 0, 29]);
    assert_eq!(
        server.selected_srtp_profile(),
        Some(SrtpProtectionProfile::AeadAes128Gcm)
    );
    assert_eq!(server.state(), DtlsState::Handshaking);
    assert!(flight.iter().all(|d| d.len() <= 1200));
}

#[test]
fn fragmented_client_hello_with_cookie_exchange() {
    let now = Instant::now();
    let body = chromium_like_client_hello();
    let (_, mut s) = configs(61);
    s.cookie_exchange = true;
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    let (f1, f2) = two_fragments(&body, 700);
    server.handle_receive(now, &f1).unwrap();
    server.handle_receive(now, &f2).unwrap();
    let hvr = drain(&mut server);
    assert_eq!(messages(&hvr)[0].0, msg_type::HELLO_VERIFY_REQUEST);
    assert_eq!(
        server.buffered_bytes(),
        0,
        "nothing kept after answering with a cookie"
    );
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn fragmented_chromium_like_hello_gets_dtls13_answer_when_enabled() {
    use tern_dtls::wire::dtls13::{DTLS_1_3, ServerHello13};
    let now = Instant::now();
    let body = chromium_like_client_hello();
    let (_, mut s) = configs(62);
    s.dtls13 = true;
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    let (f1, f2) = two_fragments(&body, 1100);
    server.handle_receive(now, &f1).unwrap();
    server.handle_receive(now, &f2).unwrap();
    assert!(server.is_dtls13());
    let flight = drain(&mut server);
    assert!(flight.iter().all(|d| d.len() <= 1200));
    // The ServerHello is the only plaintext message; the rest uses unified headers.
    let first_len = 13 + u16::from_be_bytes([flight[0][11], flight[0][12]]) as usize;
    let msgs = messages(&[flight[0][..first_len].to_vec()]);
    assert_eq!(msgs[0].0, msg_type::SERVER_HELLO);
    let sh = ServerHello13::parse(&msgs[0].2).unwrap();
    assert_eq!(sh.selected_version, DTLS_1_3);
    assert_eq!(sh.cipher_suite, 0x1301);
    // X25519MLKEM768 is skipped; the x25519 share is used.
    assert_eq!(sh.key_share.as_ref().unwrap().0, 29);
    assert!(sh.session_id.is_empty());
    // Everything after the ServerHello record is protected with the unified header.
    let rest: Vec<u8> = flight.concat()[first_len..].to_vec();
    assert!(!rest.is_empty());
    assert_eq!(rest[0] & 0xe0, 0x20, "unified header after the ServerHello");
    assert_eq!(
        server.selected_srtp_profile(),
        Some(SrtpProtectionProfile::AeadAes128Gcm)
    );
}

#[test]
fn dtls13_cookie_exchange_is_stateless_hello_retry() {
    use tern_dtls::wire::dtls13::{HELLO_RETRY_REQUEST_RANDOM, ServerHello13};
    let now = Instant::now();
    let body = chromium_like_client_hello();
    let (_, mut s) = configs(63);
    s.dtls13 = true;
    s.cookie_exchange = true;
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    let (f1, f2) = two_fragments(&body, 700);
    server.handle_receive(now, &f1).unwrap();
    server.handle_receive(now, &f2).unwrap();
    let hrr = drain(&mut server);
    assert_eq!(hrr.len(), 1);
    let msgs = messages(&hrr);
    let sh = ServerHello13::parse(&msgs[0].2).unwrap();
    assert_eq!(sh.random, HELLO_RETRY_REQUEST_RANDOM);
    assert!(!sh.cookie.is_empty());
    // RFC 9147 §5.1: no state before the cookie comes back; the HRR is no larger than the hello.
    assert!(!server.is_dtls13());
    assert_eq!(server.buffered_bytes(), 0);
    assert_eq!(server.poll_timeout(), None);
    assert!(hrr[0].len() <= body.len());
}
