//! BAD_INPUT rows 1–4 for tern-stun.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use tern_stun::attributes::{
    ErrorCode, Nonce, PasswordAlgorithmAttr, PasswordAlgorithms, Priority, Realm, Software,
    UnknownAttributes, Username, kind,
};
use tern_stun::{
    BindingServer, BindingServerConfig, DecodeError, EncodeError, IntegrityError, IntegrityKey,
    LongTermAuthenticator, Message, MessageEncoder, MessageType, PasswordAlgorithm, TransactionId,
    is_stun,
};

fn base() -> Instant {
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

fn request_with(f: impl FnOnce(&mut MessageEncoder<'_>)) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut e = MessageEncoder::new(
        &mut buf,
        MessageType::BINDING_REQUEST,
        TransactionId([7; 12]),
    );
    f(&mut e);
    e.finish();
    buf
}

fn set_len(m: &mut [u8], len: u16) {
    m[2..4].copy_from_slice(&len.to_be_bytes());
}

fn fix_len(m: &mut [u8]) {
    let len = (m.len() - 20) as u16;
    set_len(m, len);
}

/// Row 1: framing faults give typed errors, never a panic.
#[test]
fn bad_input_stun_1_malformed_framing() {
    let good = request_with(|e| e.add(&Username("abcde")).unwrap());
    assert!(Message::decode(&good).is_ok());

    // Truncated header.
    for n in 0..20 {
        assert_eq!(
            Message::decode(&good[..n]).unwrap_err(),
            DecodeError::TruncatedHeader { len: n }
        );
        assert!(!is_stun(&good[..n]));
    }
    // Length field larger than the datagram.
    let mut m = good.clone();
    set_len(&mut m, 64);
    assert!(matches!(
        Message::decode(&m),
        Err(DecodeError::LengthMismatch { declared: 64, .. })
    ));
    assert!(!is_stun(&m));
    // Length not a multiple of 4.
    let mut m = good.clone();
    m.push(0);
    fix_len(&mut m);
    assert!(matches!(
        Message::decode(&m),
        Err(DecodeError::UnalignedLength { .. })
    ));
    // Attribute length past the end.
    let mut m = good.clone();
    m[22..24].copy_from_slice(&200u16.to_be_bytes());
    assert_eq!(
        Message::decode(&m).unwrap_err(),
        DecodeError::TruncatedAttribute { at: 20 }
    );
    // Attribute whose padding is missing: the next attribute would start at an odd offset.
    let mut m = request_with(|_| {});
    m.extend_from_slice(&[0x80, 0x22, 0x00, 0x05, b'a', b'b', b'c', b'd', b'e']);
    m.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0, 0, 0]);
    fix_len(&mut m);
    // The reader only ever looks for attributes at 4-byte boundaries: the misplaced header is
    // taken as padding, never read at offset 29.
    if let Ok(msg) = Message::decode(&m) {
        assert!(msg.attributes().all(|a| a.offset % 4 == 0));
        assert!(msg.get::<Priority>().unwrap().is_none());
    }
    // Top bits set.
    let mut m = good.clone();
    m[0] |= 0x80;
    assert_eq!(Message::decode(&m).unwrap_err(), DecodeError::TopBitsSet);
    assert!(!is_stun(&m));
    // Bad magic cookie.
    let mut m = good.clone();
    m[4] = 0;
    assert!(matches!(
        Message::decode(&m),
        Err(DecodeError::BadMagicCookie { .. })
    ));
    assert!(!is_stun(&m));
    // A dangling attribute header (2 bytes).
    let mut m = request_with(|_| {});
    m.extend_from_slice(&[0x00, 0x06, 0x00, 0x00]);
    m.extend_from_slice(&[0x00, 0x06]);
    m.extend_from_slice(&[0x00, 0x00]);
    m.truncate(m.len() - 2);
    m.extend_from_slice(&[0, 0]);
    fix_len(&mut m);
    let _ = Message::decode(&m);
}

/// Row 2: integrity and fingerprint faults.
#[test]
fn bad_input_stun_2_integrity_and_fingerprint() {
    let key = IntegrityKey::short_term("password");
    let signed = |extra_after_mi: bool| {
        let mut buf = Vec::new();
        let mut e = MessageEncoder::new(
            &mut buf,
            MessageType::BINDING_REQUEST,
            TransactionId([7; 12]),
        );
        e.add(&Username("a:b")).unwrap();
        e.add_message_integrity(&key).unwrap();
        if extra_after_mi {
            e.add(&Priority(99)).unwrap();
        }
        e.add_fingerprint().unwrap();
        buf
    };
    let good = signed(false);
    Message::decode(&good)
        .unwrap()
        .verify_integrity(&key)
        .unwrap();

    // Wrong MI value (fix the fingerprint so only MI is wrong).
    let mut m = good.clone();
    m[36] ^= 0x01;
    let n = m.len();
    let crc = tern_stun::fingerprint(&m[..n - 8]);
    m[n - 4..].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        Message::decode(&m).unwrap().verify_integrity(&key),
        Err(IntegrityError::Mismatch)
    );
    // Missing MI.
    let m = request_with(|e| e.add(&Username("a:b")).unwrap());
    assert_eq!(
        Message::decode(&m).unwrap().verify_integrity(&key),
        Err(IntegrityError::Missing)
    );
    // Truncated MI (a 16-byte MESSAGE-INTEGRITY).
    let m = request_with(|e| e.add_raw(kind::MESSAGE_INTEGRITY, &[0u8; 16]).unwrap());
    assert_eq!(
        Message::decode(&m).unwrap().verify_integrity(&key),
        Err(IntegrityError::InvalidLength { len: 16 })
    );
    // Duplicated MI: the first one counts; a correct copy after a wrong one does not help.
    let msg = Message::decode(&good).unwrap();
    let mi = msg.get_raw(kind::MESSAGE_INTEGRITY);
    assert!(mi.is_none(), "MI itself is not a visible attribute");
    let mut dup = good[..good.len() - 8].to_vec(); // without FINGERPRINT
    let mi_value = dup[dup.len() - 20..].to_vec();
    let mut wrong = dup.clone();
    let w = wrong.len();
    wrong[w - 1] ^= 0xff;
    wrong.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
    wrong.extend_from_slice(&mi_value);
    fix_len(&mut wrong);
    assert_eq!(
        Message::decode(&wrong).unwrap().verify_integrity(&key),
        Err(IntegrityError::Mismatch)
    );
    dup.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
    dup.extend_from_slice(&[0xAA; 20]);
    fix_len(&mut dup);
    Message::decode(&dup)
        .unwrap()
        .verify_integrity(&key)
        .unwrap();
    // Attributes after MI are ignored.
    let m = signed(true);
    let msg = Message::decode(&m).unwrap();
    msg.verify_integrity(&key).unwrap();
    assert_eq!(msg.get::<Priority>().unwrap(), None);
    // Wrong FINGERPRINT: not STUN.
    let mut m = good.clone();
    let n = m.len();
    m[n - 1] ^= 0xff;
    assert_eq!(
        Message::decode(&m).unwrap_err(),
        DecodeError::BadFingerprint
    );
    // FINGERPRINT not last.
    let mut m = good.clone();
    m.extend_from_slice(&[0x80, 0x22, 0x00, 0x00]);
    fix_len(&mut m);
    assert!(matches!(
        Message::decode(&m),
        Err(DecodeError::FingerprintNotLast { .. } | DecodeError::BadFingerprint)
    ));
    // Unknown comprehension-required attribute: 420 with UNKNOWN-ATTRIBUTES.
    let m = request_with(|e| {
        e.add_raw(0x0042, b"??").unwrap();
        e.add_raw(0xC042, b"optional is fine").unwrap();
    });
    let server = BindingServer::new(BindingServerConfig::default());
    let mut out = Vec::new();
    server
        .respond("192.0.2.1:1".parse().unwrap(), &m, &mut out)
        .unwrap();
    let r = Message::decode(&out).unwrap();
    assert_eq!(r.get::<ErrorCode>().unwrap().unwrap().code, 420);
    assert_eq!(
        r.get::<UnknownAttributes>().unwrap(),
        Some(UnknownAttributes(vec![0x0042]))
    );
}

/// Row 3: odd-length values are padded with zeros and round-trip.
#[test]
fn bad_input_stun_3_odd_lengths_pad_with_zeros() {
    for len in 0..12 {
        let value: Vec<u8> = (0..len).map(|i| 0xA0 + i as u8).collect();
        let m = request_with(|e| {
            e.add_raw(0x8055, &value).unwrap();
            e.add(&Software("x")).unwrap();
        });
        assert_eq!(m.len() % 4, 0);
        let padded = (len + 3) & !3;
        assert!(
            m[24 + len..24 + padded].iter().all(|b| *b == 0),
            "len {len}"
        );
        let msg = Message::decode(&m).unwrap();
        assert_eq!(msg.get_raw(0x8055).unwrap().value, &value[..]);
        assert_eq!(msg.get::<Software>().unwrap(), Some(Software("x")));
    }
}

/// Row 4: oversized USERNAME, REALM/NONCE at their maximum, stale nonce, bid-down.
#[test]
fn bad_input_stun_4_credential_limits_and_nonces() {
    let t0 = base();
    let auth = LongTermAuthenticator::new("realm", b"server-secret", Duration::from_secs(60), t0);
    let nonce = auth.nonce(t0);
    let key = IntegrityKey::long_term("u", "realm", "pw", PasswordAlgorithm::Md5);
    let pw = |u: &str| (u == "u").then(|| "pw".to_owned());
    let nohash = |_: &[u8; 32]| None;

    // USERNAME over 513 bytes: decodes as an error; the server answers 400.
    let long = "u".repeat(600);
    let m = request_with(|e| {
        e.add_raw(kind::USERNAME, long.as_bytes()).unwrap();
        e.add(&Realm("realm")).unwrap();
        e.add(&Nonce(&nonce)).unwrap();
        e.add_message_integrity(&key).unwrap();
    });
    let msg = Message::decode(&m).unwrap();
    assert!(matches!(
        msg.get::<Username>(),
        Err(DecodeError::AttributeTooLong { len: 600, .. })
    ));
    assert_eq!(auth.check(&msg, t0, pw, nohash).unwrap_err().code, 400);

    // REALM and NONCE at their maximum (763 bytes) are fine; one more byte is refused.
    let max = "r".repeat(763);
    let m = request_with(|e| {
        e.add(&Realm(&max)).unwrap();
        e.add(&Nonce(&max)).unwrap();
    });
    let msg = Message::decode(&m).unwrap();
    assert_eq!(msg.get::<Realm>().unwrap(), Some(Realm(&max)));
    let over = "r".repeat(764);
    let mut buf = Vec::new();
    let mut e = MessageEncoder::new(
        &mut buf,
        MessageType::BINDING_REQUEST,
        TransactionId([1; 12]),
    );
    assert!(matches!(
        e.add(&Nonce(&over)),
        Err(EncodeError::ValueTooLong { .. })
    ));
    let m = request_with(|e| e.add_raw(kind::NONCE, over.as_bytes()).unwrap());
    assert!(Message::decode(&m).unwrap().get::<Nonce>().is_err());

    // A valid request passes; after the nonce lifetime it is stale: 438 with a fresh nonce.
    let valid = request_with(|e| {
        e.add(&Username("u")).unwrap();
        e.add(&Realm("realm")).unwrap();
        e.add(&Nonce(&nonce)).unwrap();
        e.add_message_integrity(&key).unwrap();
    });
    let msg = Message::decode(&valid).unwrap();
    assert!(auth.check(&msg, t0, pw, nohash).is_ok());
    let stale = auth
        .check(&msg, t0 + Duration::from_secs(61), pw, nohash)
        .unwrap_err();
    assert_eq!(stale.code, 438);
    assert_ne!(stale.nonce, nonce);

    // Bid-down: the nonce cookie announces password algorithms; a request that changes the
    // offered list, or names an algorithm without the list, is a 400.
    let downgraded = request_with(|e| {
        e.add(&Username("u")).unwrap();
        e.add(&Realm("realm")).unwrap();
        e.add(&Nonce(&nonce)).unwrap();
        e.add(&PasswordAlgorithms(vec![PasswordAlgorithm::Md5]))
            .unwrap();
        e.add(&PasswordAlgorithmAttr(PasswordAlgorithm::Md5))
            .unwrap();
        e.add_message_integrity(&key).unwrap();
    });
    let msg = Message::decode(&downgraded).unwrap();
    assert_eq!(auth.check(&msg, t0, pw, nohash).unwrap_err().code, 400);
    let half = request_with(|e| {
        e.add(&Username("u")).unwrap();
        e.add(&Realm("realm")).unwrap();
        e.add(&Nonce(&nonce)).unwrap();
        e.add(&PasswordAlgorithmAttr(PasswordAlgorithm::Md5))
            .unwrap();
        e.add_message_integrity(&key).unwrap();
    });
    let msg = Message::decode(&half).unwrap();
    assert_eq!(auth.check(&msg, t0, pw, nohash).unwrap_err().code, 400);
}
