//! Long-term credentials with the SHA-256 password algorithm (RFC 8489 §9.2), our client ↔ our
//! server on virtual time: the nonce cookie and PASSWORD-ALGORITHMS in the challenge, the echo
//! in requests, MESSAGE-INTEGRITY-SHA256 both ways, bid-down attempts refused, and the MD5-only
//! default kept for RFC 5389 peers such as coturn.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use tern_stun::attributes::{
    ErrorCode, Nonce, PasswordAlgorithmAttr, PasswordAlgorithms, Realm, Username,
};
use tern_stun::{
    Class, IntegrityKey, Message, MessageEncoder, MessageType, PasswordAlgorithm, TransactionId,
};
use tern_turn::wire::attributes::RequestedTransport;
use tern_turn::wire::methods;
use tern_turn::{ClientError, Event, ServerConfig, ServerError, Transport, rest_password};

const SHA256: PasswordAlgorithm = PasswordAlgorithm::Sha256;
const MD5: PasswordAlgorithm = PasswordAlgorithm::Md5;

fn sha256_server() -> ServerConfig {
    server_config().with_sha256()
}

fn sha256_key() -> IntegrityKey {
    IntegrityKey::long_term(USER, REALM, PASS, SHA256)
}

fn no_failures(h: &Harness) {
    let failures: Vec<_> = h
        .client_events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Failed(_) | Event::PermissionFailed { .. } | Event::ChannelBindFailed { .. }
            )
        })
        .collect();
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn sha256_allocate_permission_channel_relay_refresh_for_an_hour() {
    let mut h = Harness::new(sha256_server(), client_config());
    h.allocate();

    // The 401: nonce cookie with the password-algorithms bit, and the offered list.
    let challenge = Message::decode(&h.server_log[0]).unwrap();
    assert_eq!(error_code(&challenge), Some(401));
    let Nonce(nonce) = challenge.get::<Nonce>().unwrap().unwrap();
    assert!(nonce.starts_with("obMatJos2gAAA"), "{nonce}");
    assert_eq!(
        challenge.get::<PasswordAlgorithms>().unwrap(),
        Some(PasswordAlgorithms(vec![SHA256, MD5]))
    );

    // The authenticated Allocate: the list echoed, SHA-256 chosen, MESSAGE-INTEGRITY-SHA256.
    let request = Message::decode(&h.client_log[1]).unwrap();
    assert_eq!(
        request.get::<PasswordAlgorithms>().unwrap(),
        Some(PasswordAlgorithms(vec![SHA256, MD5]))
    );
    assert_eq!(
        request.get::<PasswordAlgorithmAttr>().unwrap(),
        Some(PasswordAlgorithmAttr(SHA256))
    );
    assert!(request.has_integrity_sha256());
    assert!(!request.has_integrity());
    request.verify_integrity_sha256(&sha256_key()).unwrap();

    // The success response is signed with MESSAGE-INTEGRITY-SHA256 and the SHA-256 key.
    let success = Message::decode(&h.server_log[1]).unwrap();
    assert_eq!(success.message_type().class, Class::SuccessResponse);
    assert!(success.has_integrity_sha256());
    assert!(!success.has_integrity());
    success.verify_integrity_sha256(&sha256_key()).unwrap();
    assert!(
        success
            .verify_integrity_sha256(&IntegrityKey::long_term(USER, REALM, PASS, MD5))
            .is_err()
    );

    // Permission, channel, relay both ways.
    h.client.create_permission(h.now, peer_addr()).unwrap();
    h.pump();
    let channel = h.client.bind_channel(h.now, peer_addr()).unwrap();
    h.pump();
    assert!(h.client_events.contains(&Event::ChannelBound {
        peer: peer_addr(),
        channel
    }));
    h.client.send_to(peer_addr(), b"sha-256 out").unwrap();
    h.pump();
    assert_eq!(h.take_peer(peer_addr()), vec![b"sha-256 out".to_vec()]);
    h.peer_send(peer_addr(), b"sha-256 back").unwrap();
    assert_eq!(h.take_data(), vec![(peer_addr(), b"sha-256 back".to_vec())]);

    // An hour of refreshes crosses several nonce lifetimes (600 s): 438 and recovery, all
    // with SHA-256.
    h.advance(Duration::from_secs(3600));
    no_failures(&h);
    h.client.send_to(peer_addr(), b"an hour later").unwrap();
    h.pump();
    assert_eq!(h.take_peer(peer_addr()), vec![b"an hour later".to_vec()]);
    let stale = h
        .server_log
        .iter()
        .filter_map(|b| Message::decode(b).ok()) // ChannelData is not STUN
        .filter(|m| error_code(m) == Some(438))
        .count();
    assert!(stale > 0, "the nonce expired at least once");
    for m in h.server_log.iter().filter_map(|b| Message::decode(b).ok()) {
        if error_code(&m) == Some(438) {
            // RFC 8489 §9.2.4: the 438 also announces the algorithms.
            assert!(
                m.get::<Nonce>()
                    .unwrap()
                    .unwrap()
                    .0
                    .starts_with("obMatJos2")
            );
            assert!(m.get::<PasswordAlgorithms>().unwrap().is_some());
        }
    }
    // Every authenticated request used SHA-256; every response to it was signed with it.
    let mut authenticated = 0;
    for bytes in &h.client_log {
        let Ok(m) = Message::decode(bytes) else {
            continue; // ChannelData
        };
        if m.message_type().class != Class::Request || m.get::<Nonce>().unwrap().is_none() {
            continue;
        }
        authenticated += 1;
        assert!(m.has_integrity_sha256() && !m.has_integrity());
        m.verify_integrity_sha256(&sha256_key()).unwrap();
    }
    assert!(authenticated > 10, "{authenticated} authenticated requests");
    for bytes in &h.server_log {
        let Ok(m) = Message::decode(bytes) else {
            continue;
        };
        if m.message_type().class == Class::SuccessResponse
            && m.message_type().method != tern_stun::Method::BINDING
        {
            m.verify_integrity_sha256(&sha256_key()).unwrap();
        }
    }

    h.client.deallocate(h.now).unwrap();
    h.pump();
    assert!(h.client_events.contains(&Event::Deallocated));
    assert!(
        h.server_errors
            .iter()
            .all(|e| matches!(e, ServerError::Rejected { code: 401 | 438 }))
    );
}

#[test]
fn sha256_over_tcp() {
    let mut client = client_config();
    client.transport = Transport::Tcp;
    let mut h = Harness::new(sha256_server(), client);
    h.allocate();
    h.client.create_permission(h.now, peer_addr()).unwrap();
    h.pump();
    h.client.bind_channel(h.now, peer_addr()).unwrap();
    h.pump();
    no_failures(&h);
}

/// The man in the middle rewrites the 401's PASSWORD-ALGORITHMS to MD5 only.
fn strip_sha256_from_challenge(bytes: &[u8]) -> Vec<u8> {
    rewrite_challenge(bytes, Some(vec![MD5]))
}

/// The man in the middle removes PASSWORD-ALGORITHMS from the 401.
fn strip_password_algorithms(bytes: &[u8]) -> Vec<u8> {
    rewrite_challenge(bytes, None)
}

fn rewrite_challenge(bytes: &[u8], list: Option<Vec<PasswordAlgorithm>>) -> Vec<u8> {
    let m = Message::decode(bytes).unwrap();
    if error_code(&m) != Some(401) {
        return bytes.to_vec();
    }
    let mut out = Vec::new();
    let mut enc = MessageEncoder::new(&mut out, m.message_type(), m.transaction_id());
    enc.add(&m.get::<ErrorCode>().unwrap().unwrap()).unwrap();
    enc.add(&m.get::<Realm>().unwrap().unwrap()).unwrap();
    enc.add(&m.get::<Nonce>().unwrap().unwrap()).unwrap();
    if let Some(list) = list {
        enc.add(&PasswordAlgorithms(list)).unwrap();
    }
    enc.add_fingerprint().unwrap();
    out
}

#[test]
fn bid_down_in_the_challenge_is_refused_with_400() {
    let mut h = Harness::new(sha256_server(), client_config());
    h.to_client_filter = Some(strip_sha256_from_challenge);
    h.client.allocate(h.now).unwrap();
    h.pump();
    // The client, fooled into MD5, echoes the tampered list; the server sees that it differs
    // from what it sent with this nonce and answers 400 (RFC 8489 §9.2.4).
    let request = Message::decode(&h.client_log[1]).unwrap();
    assert_eq!(
        request.get::<PasswordAlgorithms>().unwrap(),
        Some(PasswordAlgorithms(vec![MD5]))
    );
    assert!(
        h.server_errors
            .contains(&ServerError::Rejected { code: 400 })
    );
    assert_eq!(
        h.client_events,
        vec![Event::Failed(ClientError::ErrorResponse {
            method: methods::ALLOCATE,
            code: 400
        })]
    );
    assert_eq!(h.server.stats().allocations, 0);
}

#[test]
fn stripped_password_algorithms_is_a_typed_client_error() {
    let mut h = Harness::new(sha256_server(), client_config());
    h.to_client_filter = Some(strip_password_algorithms);
    h.client.allocate(h.now).unwrap();
    h.pump();
    // RFC 8489 §9.2.5: the cookie announces algorithms but the list is gone: no retry.
    assert_eq!(h.client_log.len(), 1);
    assert_eq!(
        h.client_events,
        vec![Event::Failed(ClientError::PasswordAlgorithmBidDown)]
    );
}

/// A raw request with hand-chosen password algorithm attributes, signed with `key`.
fn raw_allocate(
    nonce: &str,
    tid: u8,
    list: Option<Vec<PasswordAlgorithm>>,
    chosen: Option<PasswordAlgorithm>,
    key: &IntegrityKey,
    sha256_integrity: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = MessageEncoder::new(
        &mut out,
        MessageType::new(methods::ALLOCATE, Class::Request),
        TransactionId([tid; 12]),
    );
    enc.add(&RequestedTransport::UDP).unwrap();
    enc.add(&Username(USER)).unwrap();
    enc.add(&Realm(REALM)).unwrap();
    enc.add(&Nonce(nonce)).unwrap();
    if let Some(list) = list {
        enc.add(&PasswordAlgorithms(list)).unwrap();
    }
    if let Some(a) = chosen {
        enc.add(&PasswordAlgorithmAttr(a)).unwrap();
    }
    if sha256_integrity {
        enc.add_message_integrity_sha256(key).unwrap();
    } else {
        enc.add_message_integrity(key).unwrap();
    }
    enc.add_fingerprint().unwrap();
    out
}

#[test]
fn bid_down_requests_are_400_and_honest_md5_still_works() {
    let h = Harness::new(sha256_server(), client_config());
    let mut server = h.server;
    let now = h.now;
    let md5 = IntegrityKey::long_term(USER, REALM, PASS, MD5);
    let mut raw = RawClient::new(client_addr());
    raw.learn_nonce(&mut server, now);
    let nonce = raw.nonce.clone().unwrap();
    let code = |server: &mut tern_turn::Server, raw: &mut RawClient, bytes: Vec<u8>| {
        let resp = raw.exchange(server, now, &bytes);
        error_code(&Message::decode(&resp[0]).unwrap())
    };
    // SHA-256 stripped from the echoed list (correctly signed with MD5): 400.
    let req = raw_allocate(&nonce, 1, Some(vec![MD5]), Some(MD5), &md5, false);
    assert_eq!(code(&mut server, &mut raw, req), Some(400));
    // Reordered list: 400.
    let req = raw_allocate(&nonce, 2, Some(vec![MD5, SHA256]), Some(MD5), &md5, false);
    assert_eq!(code(&mut server, &mut raw, req), Some(400));
    // PASSWORD-ALGORITHM alone: 400.
    let req = raw_allocate(&nonce, 3, None, Some(SHA256), &sha256_key(), true);
    assert_eq!(code(&mut server, &mut raw, req), Some(400));
    // An algorithm not in the list: 400.
    let req = raw_allocate(
        &nonce,
        4,
        Some(vec![SHA256, MD5]),
        Some(PasswordAlgorithm::Other(7)),
        &md5,
        false,
    );
    assert_eq!(code(&mut server, &mut raw, req), Some(400));
    assert_eq!(
        server.stats().allocations,
        0,
        "a rejected request changes nothing"
    );
    // The honest list with MD5 chosen is fine (MD5 is offered): MESSAGE-INTEGRITY back.
    let req = raw_allocate(&nonce, 5, Some(vec![SHA256, MD5]), Some(MD5), &md5, false);
    let resp = raw.exchange(&mut server, now, &req);
    let m = Message::decode(&resp[0]).unwrap();
    assert_eq!(m.message_type().class, Class::SuccessResponse);
    assert!(m.has_integrity() && !m.has_integrity_sha256());
    m.verify_integrity(&md5).unwrap();
}

#[test]
fn sha256_key_with_sha1_integrity_is_answered_in_kind() {
    // RFC 8489 §9.2.4: the response uses the integrity attribute the request used.
    let h = Harness::new(sha256_server(), client_config());
    let mut server = h.server;
    let mut raw = RawClient::new(client_addr());
    raw.learn_nonce(&mut server, h.now);
    let nonce = raw.nonce.clone().unwrap();
    let req = raw_allocate(
        &nonce,
        1,
        Some(vec![SHA256, MD5]),
        Some(SHA256),
        &sha256_key(),
        false,
    );
    let resp = raw.exchange(&mut server, h.now, &req);
    let m = Message::decode(&resp[0]).unwrap();
    assert_eq!(m.message_type().class, Class::SuccessResponse);
    assert!(m.has_integrity() && !m.has_integrity_sha256());
    m.verify_integrity(&sha256_key()).unwrap();
    // A request naming SHA-256 but signed with the MD5 key fails integrity: 401.
    let md5 = IntegrityKey::long_term(USER, REALM, PASS, MD5);
    let req = raw_allocate(&nonce, 2, Some(vec![SHA256, MD5]), Some(SHA256), &md5, true);
    let resp = raw.exchange(&mut server, h.now, &req);
    assert_eq!(error_code(&Message::decode(&resp[0]).unwrap()), Some(401));
}

#[test]
fn md5_only_server_with_a_sha256_capable_client() {
    let mut h = Harness::default_pair();
    h.allocate();
    h.client.create_permission(h.now, peer_addr()).unwrap();
    h.pump();
    no_failures(&h);
    // RFC 5389 behaviour: plain nonce, no algorithm attributes, MESSAGE-INTEGRITY (SHA-1).
    let challenge = Message::decode(&h.server_log[0]).unwrap();
    assert!(
        !challenge
            .get::<Nonce>()
            .unwrap()
            .unwrap()
            .0
            .starts_with("obMatJos2")
    );
    assert!(challenge.get::<PasswordAlgorithms>().unwrap().is_none());
    let request = Message::decode(&h.client_log[1]).unwrap();
    assert!(request.get::<PasswordAlgorithms>().unwrap().is_none());
    assert!(request.get::<PasswordAlgorithmAttr>().unwrap().is_none());
    assert!(request.has_integrity() && !request.has_integrity_sha256());
    request
        .verify_integrity(&IntegrityKey::long_term(USER, REALM, PASS, MD5))
        .unwrap();
}

#[test]
fn wrong_password_with_sha256_is_a_typed_error() {
    let mut client = client_config();
    client.password = "wrong".to_owned();
    let mut h = Harness::new(sha256_server(), client);
    h.client.allocate(h.now).unwrap();
    h.pump();
    assert_eq!(
        h.client_events,
        vec![Event::Failed(ClientError::Unauthorized { attempts: 2 })]
    );
    let second = Message::decode(&h.client_log[1]).unwrap();
    assert!(second.has_integrity_sha256());
    assert_eq!(h.server.stats().allocations, 0);
}

#[test]
fn rest_api_ephemeral_user_with_sha256() {
    let secret = "rest-secret";
    let mut server = sha256_server();
    server.rest_secret = Some(secret.to_owned());
    // The harness starts the server's clock at unix time 1_700_000_000.
    let username = "1800000000:bob";
    let password = rest_password(secret.as_bytes(), username).unwrap();
    let mut client = client_config();
    client.username = username.to_owned();
    client.password = password.clone();
    let mut h = Harness::new(server, client);
    h.allocate();
    h.client.create_permission(h.now, peer_addr()).unwrap();
    h.pump();
    no_failures(&h);
    let success = Message::decode(&h.server_log[1]).unwrap();
    success
        .verify_integrity_sha256(&IntegrityKey::long_term(username, REALM, &password, SHA256))
        .unwrap();
}

#[test]
fn sha256_only_server_refuses_md5_fallback() {
    let mut server = server_config();
    server.password_algorithms = vec![SHA256];
    let mut h = Harness::new(server, client_config());
    h.allocate();
    no_failures(&h);
    let mut raw = RawClient::new("192.0.2.11:5001".parse().unwrap());
    let mut srv = h.server;
    raw.learn_nonce(&mut srv, h.now);
    let nonce = raw.nonce.clone().unwrap();
    // Neither algorithm attribute means MD5, which this server does not offer: 400.
    let req = raw_allocate(
        &nonce,
        1,
        None,
        None,
        &IntegrityKey::long_term(USER, REALM, PASS, MD5),
        false,
    );
    let resp = raw.exchange(&mut srv, h.now, &req);
    assert_eq!(error_code(&Message::decode(&resp[0]).unwrap()), Some(400));
}

#[test]
fn sha256_only_client_refuses_an_md5_only_server() {
    let mut client = client_config();
    client.password_algorithms = vec![SHA256];
    let mut h = Harness::new(server_config(), client);
    h.client.allocate(h.now).unwrap();
    h.pump();
    assert_eq!(h.client_log.len(), 1, "no credentials sent");
    assert_eq!(
        h.client_events,
        vec![Event::Failed(ClientError::NoCommonPasswordAlgorithm)]
    );
}

#[test]
fn sha256_only_client_with_a_sha256_server() {
    let mut client = client_config();
    client.password_algorithms = vec![SHA256];
    let mut h = Harness::new(sha256_server(), client);
    h.allocate();
    no_failures(&h);
    assert!(
        Message::decode(&h.client_log[1])
            .unwrap()
            .has_integrity_sha256()
    );
}

#[test]
fn md5_only_client_with_a_sha256_server_picks_md5_from_the_list() {
    let mut client = client_config();
    client.password_algorithms = vec![MD5];
    let mut h = Harness::new(sha256_server(), client);
    h.allocate();
    h.client.create_permission(h.now, peer_addr()).unwrap();
    h.pump();
    no_failures(&h);
    let request = Message::decode(&h.client_log[1]).unwrap();
    // The offered list is still echoed whole, with MD5 named (RFC 8489 §9.2.4).
    assert_eq!(
        request.get::<PasswordAlgorithms>().unwrap(),
        Some(PasswordAlgorithms(vec![SHA256, MD5]))
    );
    assert_eq!(
        request.get::<PasswordAlgorithmAttr>().unwrap(),
        Some(PasswordAlgorithmAttr(MD5))
    );
    assert!(request.has_integrity() && !request.has_integrity_sha256());
}

/// Re-signs success responses with MESSAGE-INTEGRITY (HMAC-SHA1) instead of
/// MESSAGE-INTEGRITY-SHA256, with the right key.
fn downgrade_response_integrity(bytes: &[u8]) -> Vec<u8> {
    let m = Message::decode(bytes).unwrap();
    if m.message_type().class != Class::SuccessResponse {
        return bytes.to_vec();
    }
    let mut out = Vec::new();
    let mut enc = MessageEncoder::new(&mut out, m.message_type(), m.transaction_id());
    for a in m.attributes() {
        if a.kind == tern_stun::attributes::kind::MESSAGE_INTEGRITY_SHA256 {
            break;
        }
        enc.add_raw(a.kind, a.value).unwrap();
    }
    enc.add_message_integrity(&sha256_key()).unwrap();
    enc.add_fingerprint().unwrap();
    out
}

#[test]
fn sha256_request_answered_with_sha1_integrity_is_discarded() {
    let mut h = Harness::new(sha256_server(), client_config());
    h.to_client_filter = Some(downgrade_response_integrity);
    h.client.allocate(h.now).unwrap();
    h.pump();
    // RFC 8489 §9.2.5: the client sent MESSAGE-INTEGRITY-SHA256 and does not accept less.
    assert_eq!(h.relayed(), None);
    assert!(h.client_events.is_empty(), "{:?}", h.client_events);
    // Without the tampering the same exchange succeeds.
    let mut h = Harness::new(sha256_server(), client_config());
    h.allocate();
}
