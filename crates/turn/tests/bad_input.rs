//! BAD_INPUT rows 11–15 (docs: shared/design/BAD_INPUT.md): hostile peers and clients.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tern_stun::attributes::{ErrorCode, Nonce, Realm};
use tern_stun::{Class, Message, MessageEncoder, MessageType, TransactionId};
use tern_turn::wire::attributes::{
    ChannelNumber, Data, Lifetime, RequestedTransport, XorPeerAddress, XorRelayedAddress,
};
use tern_turn::wire::methods;
use tern_turn::{
    ChannelData, ChannelDataError, Client, ClientError, Event, FramingError, Server, ServerError,
    StreamFramer, Transport,
};

/// A server with one allocation made by `raw`; returns the relay address.
fn allocated(raw: &mut RawClient, config: tern_turn::ServerConfig) -> (Server, SocketAddr) {
    let mut server = Server::new(config, base(), 1_700_000_000);
    let resp = raw.allocate(&mut server, base());
    let msg = Message::decode(&resp).unwrap();
    assert_eq!(error_code(&msg), None);
    let relay = relayed_of(&msg);
    (server, relay)
}

const FORBIDDEN: &[&str] = &[
    "0.0.0.0:9",
    "0.1.2.3:9",
    "127.0.0.1:9",
    "127.255.0.9:9",
    "[::]:9",
    "[::1]:9",
    "[::ffff:127.0.0.1]:9",
    "[::ffff:0.0.0.0]:9",
    "[::127.0.0.1]:9",
    "[64:ff9b::7f00:1]:9",
    "[2002:7f00:1::]:9",
    "169.254.169.254:80",
    "10.0.0.1:9",
    "10.255.255.255:9",
    "172.16.0.1:9",
    "172.31.0.1:9",
    "192.168.1.1:9",
    "100.64.0.1:9",
    "100.127.255.254:9",
    "[fc00::1]:9",
    "[fdff::1]:9",
    "[fe80::1]:9",
    "224.0.0.1:9",
    "239.255.255.250:1900",
    "255.255.255.255:9",
    "[::ffff:10.0.0.1]:9",
    "[64:ff9b::a9fe:a9fe]:80",
    "[2002:a9fe:a9fe::]:80",
];

#[test]
fn bad_input_turn_11_forbidden_peers_get_403_and_are_never_relayed() {
    let mut raw = RawClient::new(client_addr());
    let (mut server, relay) = allocated(&mut raw, server_config());
    let now = base();
    let mut peers: Vec<SocketAddr> = FORBIDDEN.iter().map(|s| s.parse().unwrap()).collect();
    // The server's own relay address (and its IP on any port).
    peers.push(relay);
    peers.push(SocketAddr::new(relay.ip(), 1));
    for peer in peers {
        // CreatePermission → 403.
        assert_eq!(
            raw.create_permission(&mut server, now, peer),
            Some(403),
            "{peer}"
        );
        // ChannelBind → 403.
        let tid = raw.tid();
        let req = raw.request(methods::CHANNEL_BIND, tid, |e| {
            e.add(&ChannelNumber(0x4001)).unwrap();
            e.add(&XorPeerAddress(peer)).unwrap();
        });
        let resp = raw.exchange(&mut server, now, &req);
        assert_eq!(
            error_code(&Message::decode(&resp[0]).unwrap()),
            Some(403),
            "{peer}"
        );
        // Send indication → silently dropped, nothing relayed.
        let mut ind = Vec::new();
        let mut enc = MessageEncoder::new(
            &mut ind,
            MessageType::new(methods::SEND, Class::Indication),
            TransactionId([1; 12]),
        );
        enc.add(&XorPeerAddress(peer)).unwrap();
        enc.add(&Data(b"attack")).unwrap();
        enc.finish();
        assert!(matches!(
            server.handle_receive(now, Transport::Udp, client_addr(), server_addr(), &ind),
            Err(ServerError::Forbidden { .. })
        ));
        assert_eq!(server.poll_transmit(), None, "{peer} relayed");
    }
    // RFC 6062 CONNECT (TCP relay) is not offered: 400, nothing opened.
    let tid = raw.tid();
    let req = raw.request(tern_stun::Method::new(0x000A), tid, |e| {
        e.add(&XorPeerAddress("127.0.0.1:22".parse().unwrap()))
            .unwrap();
    });
    let resp = raw.exchange(&mut server, now, &req);
    assert_eq!(error_code(&Message::decode(&resp[0]).unwrap()), Some(400));
    assert_eq!(server.poll_event(), None);
    // A public peer still works.
    assert_eq!(raw.create_permission(&mut server, now, peer_addr()), None);
}

#[test]
fn bad_input_turn_11_allow_list_reopens_loopback_only() {
    let mut config = server_config();
    config.peer_policy = tern_turn::PeerPolicy::allowing(["127.0.0.0/8".parse().unwrap()]);
    let mut raw = RawClient::new(client_addr());
    let (mut server, _) = allocated(&mut raw, config);
    let now = base();
    assert_eq!(
        raw.create_permission(&mut server, now, "127.0.0.1:9".parse().unwrap()),
        None
    );
    assert_eq!(
        raw.create_permission(&mut server, now, "[::ffff:127.0.0.1]:9".parse().unwrap()),
        Some(443),
        "allowed by policy, but an IPv6 peer on an IPv4 relay"
    );
    assert_eq!(
        raw.create_permission(&mut server, now, "10.0.0.1:9".parse().unwrap()),
        Some(403)
    );
}

fn send_indication(peer: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut ind = Vec::new();
    let mut enc = MessageEncoder::new(
        &mut ind,
        MessageType::new(methods::SEND, Class::Indication),
        TransactionId([2; 12]),
    );
    enc.add(&XorPeerAddress(peer)).unwrap();
    enc.add(&Data(data)).unwrap();
    enc.finish();
    ind
}

#[test]
fn bad_input_turn_12_no_permission_and_expired_permission_drop_silently() {
    let mut raw = RawClient::new(client_addr());
    let (mut server, relay) = allocated(&mut raw, server_config());
    let t0 = base();
    let peer = peer_addr();
    // Send indication without permission: dropped, no response, no relay.
    assert_eq!(
        server.handle_receive(
            t0,
            Transport::Udp,
            client_addr(),
            server_addr(),
            &send_indication(peer, b"x")
        ),
        Err(ServerError::NoPermission { peer })
    );
    assert_eq!(server.poll_transmit(), None);
    // Inbound from an unpermitted peer: dropped.
    assert_eq!(
        server.handle_receive(t0, Transport::Udp, peer, relay, b"hello"),
        Err(ServerError::NoPermission { peer })
    );
    assert_eq!(server.poll_transmit(), None);
    // ChannelData on an unbound channel: dropped.
    assert_eq!(
        server.handle_receive(
            t0,
            Transport::Udp,
            client_addr(),
            server_addr(),
            &[0x40, 0x01, 0, 1, 7]
        ),
        Err(ServerError::ChannelNotBound { channel: 0x4001 })
    );
    // Permission keyed by IP only: another port of the same IP is covered.
    assert_eq!(raw.create_permission(&mut server, t0, peer), None);
    let same_ip_other_port = SocketAddr::new(peer.ip(), 1);
    server
        .handle_receive(
            t0,
            Transport::Udp,
            client_addr(),
            server_addr(),
            &send_indication(same_ip_other_port, b"y"),
        )
        .unwrap();
    let t = server.poll_transmit().unwrap();
    assert_eq!(
        (t.source, t.destination, t.data.as_slice()),
        (relay, same_ip_other_port, &b"y"[..])
    );
    server
        .handle_receive(t0, Transport::Udp, same_ip_other_port, relay, b"in")
        .unwrap();
    assert!(server.poll_transmit().is_some());
    // After 300 s without a refresh the permission is gone (injected clock), both ways.
    let t1 = t0 + Duration::from_secs(299);
    server
        .handle_receive(t1, Transport::Udp, peer, relay, b"still")
        .unwrap();
    assert!(server.poll_transmit().is_some());
    let t2 = t0 + Duration::from_secs(300);
    server.handle_timeout(t2);
    assert_eq!(
        server.handle_receive(t2, Transport::Udp, peer, relay, b"late"),
        Err(ServerError::NoPermission { peer })
    );
    assert_eq!(
        server.handle_receive(
            t2,
            Transport::Udp,
            client_addr(),
            server_addr(),
            &send_indication(peer, b"late")
        ),
        Err(ServerError::NoPermission { peer })
    );
    assert_eq!(server.poll_transmit(), None);
}

#[test]
fn bad_input_turn_12_channel_numbers_outside_range_are_400() {
    let mut raw = RawClient::new(client_addr());
    let (mut server, _) = allocated(&mut raw, server_config());
    let now = base();
    for number in [0x0000, 0x3FFF, 0x5000, 0x7FFF, 0xFFFF] {
        let tid = raw.tid();
        let req = raw.request(methods::CHANNEL_BIND, tid, |e| {
            e.add(&ChannelNumber(number)).unwrap();
            e.add(&XorPeerAddress(peer_addr())).unwrap();
        });
        let resp = raw.exchange(&mut server, now, &req);
        assert_eq!(
            error_code(&Message::decode(&resp[0]).unwrap()),
            Some(400),
            "{number:#x}"
        );
    }
    // Rebinding a number to another peer, or a peer to another number: 400.
    let bind = |raw: &mut RawClient, server: &mut Server, number: u16, peer: SocketAddr| {
        let tid = raw.tid();
        let req = raw.request(methods::CHANNEL_BIND, tid, |e| {
            e.add(&ChannelNumber(number)).unwrap();
            e.add(&XorPeerAddress(peer)).unwrap();
        });
        let resp = raw.exchange(server, now, &req);
        error_code(&Message::decode(&resp[0]).unwrap())
    };
    assert_eq!(bind(&mut raw, &mut server, 0x4000, peer_addr()), None);
    assert_eq!(
        bind(&mut raw, &mut server, 0x4000, peer_addr()),
        None,
        "refresh is fine"
    );
    assert_eq!(
        bind(
            &mut raw,
            &mut server,
            0x4000,
            "203.0.113.9:1".parse().unwrap()
        ),
        Some(400)
    );
    assert_eq!(bind(&mut raw, &mut server, 0x4001, peer_addr()), Some(400));
    // ChannelData with a number outside the range is not even parsed as ChannelData.
    assert!(
        server
            .handle_receive(
                now,
                Transport::Udp,
                client_addr(),
                server_addr(),
                &[0x50, 0x00, 0, 1, 7]
            )
            .is_err()
    );
    assert_eq!(server.poll_transmit(), None);
}

#[test]
fn bad_input_turn_13_allocate_without_auth_is_401_with_nonce() {
    let mut server = Server::new(server_config(), base(), 1_700_000_000);
    let mut raw = RawClient::new(client_addr());
    let tid = raw.tid();
    let req = raw.request(methods::ALLOCATE, tid, |e| {
        e.add(&RequestedTransport::UDP).unwrap();
    });
    let resp = raw.exchange(&mut server, base(), &req);
    let msg = Message::decode(&resp[0]).unwrap();
    assert_eq!(error_code(&msg), Some(401));
    assert_eq!(msg.get::<Realm>().unwrap().unwrap().0, REALM);
    assert!(!msg.get::<Nonce>().unwrap().unwrap().0.is_empty());
    assert!(!msg.has_integrity());
    assert_eq!(server.stats().allocations, 0);
    assert_eq!(server.poll_event(), None, "no relay opened");
}

#[test]
fn bad_input_turn_13_same_five_tuple_twice_is_437() {
    let mut raw = RawClient::new(client_addr());
    let (mut server, _) = allocated(&mut raw, server_config());
    let resp = raw.allocate(&mut server, base());
    assert_eq!(error_code(&Message::decode(&resp).unwrap()), Some(437));
    assert_eq!(server.stats().allocations, 1);
}

#[test]
fn bad_input_turn_13_refresh_with_lifetime_zero_deletes() {
    let mut raw = RawClient::new(client_addr());
    let (mut server, relay) = allocated(&mut raw, server_config());
    let tid = raw.tid();
    let req = raw.request(methods::REFRESH, tid, |e| e.add(&Lifetime(0)).unwrap());
    let resp = raw.exchange(&mut server, base(), &req);
    let msg = Message::decode(&resp[0]).unwrap();
    assert_eq!(error_code(&msg), None);
    assert_eq!(msg.get::<Lifetime>().unwrap(), Some(Lifetime(0)));
    assert_eq!(server.stats().allocations, 0);
    assert_eq!(server.relay_addresses().count(), 0);
    // Deleted: the relay drops peer data; a later Refresh gets 437.
    assert!(
        server
            .handle_receive(base(), Transport::Udp, peer_addr(), relay, b"x")
            .is_err()
    );
    let tid = raw.tid();
    let req = raw.request(methods::REFRESH, tid, |e| e.add(&Lifetime(600)).unwrap());
    let resp = raw.exchange(&mut server, base(), &req);
    assert_eq!(error_code(&Message::decode(&resp[0]).unwrap()), Some(437));
}

#[test]
fn bad_input_turn_13_fifty_thousand_allocations_are_bounded() {
    let mut config = server_config();
    config.user_quota = usize::MAX;
    config.total_quota = 2_000;
    config.relay_ports = 50000..=51499; // 1,500 ports: the port range binds first
    let mut server = Server::new(config, base(), 1_700_000_000);
    let now = base();
    let mut raw = RawClient::new("192.0.2.50:1".parse().unwrap());
    raw.learn_nonce(&mut server, now);
    let mut codes = std::collections::HashMap::<Option<u16>, usize>::new();
    for i in 0..50_000u32 {
        raw.addr = SocketAddr::new("192.0.2.50".parse().unwrap(), (i + 1) as u16);
        let tid = TransactionId({
            let mut t = [0u8; 12];
            t[..4].copy_from_slice(&i.to_be_bytes());
            t
        });
        let req = raw.request(methods::ALLOCATE, tid, |e| {
            e.add(&RequestedTransport::UDP).unwrap();
        });
        let resp = raw.exchange(&mut server, now, &req);
        let code = error_code(&Message::decode(resp.last().unwrap()).unwrap());
        *codes.entry(code).or_default() += 1;
    }
    assert_eq!(codes.get(&None), Some(&1_500), "{codes:?}");
    assert_eq!(codes.get(&Some(508)), Some(&48_500), "{codes:?}");
    assert_eq!(server.stats().allocations, 1_500);
    // With ports to spare the total quota answers 486.
    let mut config = server_config();
    config.user_quota = usize::MAX;
    config.total_quota = 100;
    let mut server = Server::new(config, base(), 1_700_000_000);
    raw.nonce = None;
    raw.learn_nonce(&mut server, now);
    let mut refused = 0;
    for port in 1..=300u16 {
        raw.addr = SocketAddr::new("192.0.2.50".parse().unwrap(), port);
        let tid = raw.tid();
        let req = raw.request(methods::ALLOCATE, tid, |e| {
            e.add(&RequestedTransport::UDP).unwrap();
        });
        let resp = raw.exchange(&mut server, now, &req);
        if error_code(&Message::decode(resp.last().unwrap()).unwrap()) == Some(486) {
            refused += 1;
        }
    }
    assert_eq!(refused, 200);
    assert_eq!(server.stats().allocations, 100);
}

#[test]
fn bad_input_turn_14_oauth_access_token_is_rejected_before_any_copy() {
    // ACCESS-TOKEN (0x001B, RFC 7635) with nonce/MAC length fields far beyond the value.
    // The server does not implement third-party authorization, so the comprehension-required
    // attribute is refused with 420 before authentication, and nothing inside it is parsed.
    let mut server = Server::new(server_config(), base(), 1_700_000_000);
    let mut raw = RawClient::new(client_addr());
    raw.learn_nonce(&mut server, base());
    let mut token = Vec::new();
    token.extend_from_slice(&0xFFFFu16.to_be_bytes()); // nonce length
    token.extend_from_slice(&[0xAB; 12]);
    token.extend_from_slice(&0xFFFFu16.to_be_bytes()); // MAC length
    token.extend_from_slice(&[0xCD; 8]);
    let tid = raw.tid();
    let req = raw.request(methods::ALLOCATE, tid, |e| {
        e.add(&RequestedTransport::UDP).unwrap();
        e.add_raw(0x001B, &token).unwrap();
    });
    let resp = raw.exchange(&mut server, base(), &req);
    let msg = Message::decode(&resp[0]).unwrap();
    assert_eq!(error_code(&msg), Some(420));
    let unknown = msg
        .get::<tern_stun::attributes::UnknownAttributes>()
        .unwrap()
        .unwrap();
    assert_eq!(unknown.0, vec![0x001B]);
    assert_eq!(server.stats().allocations, 0);
    // A token whose attribute length runs past the message: not STUN at all.
    let mut bad = req.clone();
    let at = bad.len() - 24 - token.len() - 4; // MI (24) precedes; find the token header
    let _ = at;
    let len = bad.len();
    bad[2..4].copy_from_slice(&((len - 20 + 4) as u16).to_be_bytes());
    assert!(matches!(
        server.handle_receive(base(), Transport::Udp, client_addr(), server_addr(), &bad),
        Err(ServerError::Decode(_))
    ));
    assert_eq!(server.poll_transmit(), None);
}

// ---- row 15: the client --------------------------------------------------------------

/// A client that has sent its first Allocate; returns it and that request's transaction id.
fn client_after_first_request() -> (Client, TransactionId) {
    let mut client = Client::new(client_config());
    client.allocate(base()).unwrap();
    let t = client.poll_transmit().unwrap();
    (client, Message::decode(&t.data).unwrap().transaction_id())
}

fn error_response(tid: TransactionId, code: u16, realm: &str, nonce: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = MessageEncoder::new(
        &mut out,
        MessageType::new(methods::ALLOCATE, Class::ErrorResponse),
        tid,
    );
    enc.add(&ErrorCode { code, reason: "x" }).unwrap();
    enc.add(&Realm(realm)).unwrap();
    enc.add(&Nonce(nonce)).unwrap();
    enc.finish();
    out
}

#[test]
fn bad_input_turn_15_channel_data_longer_than_datagram() {
    assert_eq!(
        ChannelData::decode(&[0x40, 0x00, 0x01, 0x00, 1, 2, 3]),
        Err(ChannelDataError::LengthExceedsDatagram {
            declared: 256,
            available: 3
        })
    );
    let mut h = Harness::default_pair();
    h.allocate();
    h.client.create_permission(h.now, peer_addr()).unwrap();
    h.client.bind_channel(h.now, peer_addr()).unwrap();
    h.pump();
    let channel = h.client.channel(peer_addr()).unwrap();
    let [c0, c1] = channel.to_be_bytes();
    assert_eq!(
        h.client
            .handle_receive(h.now, server_addr(), &[c0, c1, 0xFF, 0xFF, 1]),
        Err(ClientError::ChannelData(
            ChannelDataError::LengthExceedsDatagram {
                declared: 0xFFFF,
                available: 1
            }
        ))
    );
    assert!(h.client.poll_event().is_none());
}

#[test]
fn bad_input_turn_15_tcp_one_byte_chunks_and_missing_padding() {
    // Correct stream, one byte at a time, across many messages.
    let mut stream = Vec::new();
    for i in 0..20u8 {
        ChannelData {
            channel: 0x4000 + u16::from(i),
            data: &vec![i; usize::from(i)],
        }
        .encode(true, &mut stream)
        .unwrap();
    }
    let mut framer = StreamFramer::default();
    let mut got = Vec::new();
    for b in &stream {
        framer.push(&[*b]).unwrap();
        while let Some(f) = framer.next_frame().unwrap() {
            got.push(f);
        }
    }
    assert_eq!(got.len(), 20);
    for (i, f) in got.iter().enumerate() {
        let cd = ChannelData::decode(f).unwrap();
        assert_eq!(cd.data, vec![i as u8; i].as_slice());
    }
    // The same messages without padding: reframing goes wrong at the first unpadded message
    // and the framer reports it as an error instead of delivering garbage.
    let mut unpadded = Vec::new();
    for i in 0..20u8 {
        ChannelData {
            channel: 0x4000,
            data: &[0x80 | i; 5],
        }
        .encode(false, &mut unpadded)
        .unwrap();
    }
    let mut framer = StreamFramer::default();
    let mut result = Ok(());
    let mut frames = 0;
    'outer: for b in &unpadded {
        framer.push(&[*b]).unwrap();
        loop {
            match framer.next_frame() {
                Ok(Some(_)) => frames += 1,
                Ok(None) => break,
                Err(e) => {
                    result = Err(e);
                    break 'outer;
                }
            }
        }
    }
    assert!(frames < 20);
    assert!(
        matches!(
            result,
            Err(FramingError::UnknownMessageType { .. } | FramingError::InvalidChannelNumber { .. })
        ),
        "{result:?}"
    );
    // Through the client over TCP: the same error, typed.
    let mut cc = client_config();
    cc.transport = Transport::Tcp;
    let mut client = Client::new(cc);
    let mut r = Ok(());
    for b in &unpadded {
        // Frames that do come out are on a channel the client never bound: typed errors too.
        r = client.handle_receive(base(), server_addr(), &[*b]);
        if matches!(r, Err(ClientError::Framing(_))) {
            break;
        }
        assert!(
            matches!(r, Ok(()) | Err(ClientError::UnknownChannel { .. })),
            "{r:?}"
        );
    }
    assert!(matches!(r, Err(ClientError::Framing(_))), "{r:?}");
}

#[test]
fn bad_input_turn_15_relayed_address_with_unknown_family() {
    let mut h = Harness::default_pair();
    h.client.allocate(h.now).unwrap();
    // Let the 401 exchange happen, then intercept the authenticated Allocate.
    let first = h.client.poll_transmit().unwrap();
    h.server
        .handle_receive(
            h.now,
            Transport::Udp,
            client_addr(),
            server_addr(),
            &first.data,
        )
        .unwrap_err();
    let challenge = h.server.poll_transmit().unwrap();
    h.client
        .handle_receive(h.now, server_addr(), &challenge.data)
        .unwrap();
    let second = h.client.poll_transmit().unwrap();
    let tid = Message::decode(&second.data).unwrap().transaction_id();
    // A success response whose XOR-RELAYED-ADDRESS has family 3.
    let key =
        tern_stun::IntegrityKey::long_term(USER, REALM, PASS, tern_stun::PasswordAlgorithm::Md5);
    let mut out = Vec::new();
    let mut enc = MessageEncoder::new(
        &mut out,
        MessageType::new(methods::ALLOCATE, Class::SuccessResponse),
        tid,
    );
    enc.add_raw(
        tern_turn::wire::attributes::kind::XOR_RELAYED_ADDRESS,
        &[0, 3, 0x12, 0x34, 1, 2, 3, 4],
    )
    .unwrap();
    enc.add(&Lifetime(600)).unwrap();
    enc.add_message_integrity(&key).unwrap();
    enc.finish();
    let r = h.client.handle_receive(h.now, server_addr(), &out);
    assert_eq!(
        r,
        Err(ClientError::Decode(
            tern_stun::DecodeError::UnknownAddressFamily {
                attribute: XorRelayedAddress::TYPE_ID,
                family: 3
            }
        ))
    );
    assert!(matches!(
        h.client.poll_event(),
        Some(Event::Failed(ClientError::Decode(_)))
    ));
    assert_eq!(h.client.relayed_address(), None);
}

trait TypeId {
    const TYPE_ID: u16;
}
impl TypeId for XorRelayedAddress {
    const TYPE_ID: u16 = tern_turn::wire::attributes::kind::XOR_RELAYED_ADDRESS;
}

#[test]
fn bad_input_turn_15_438_loop_is_bounded() {
    let (mut client, mut tid) = client_after_first_request();
    // First a normal 401, then the server answers 438 with a fresh nonce forever.
    client
        .handle_receive(
            base(),
            server_addr(),
            &error_response(tid, 401, REALM, "n0"),
        )
        .unwrap();
    let mut sent = 1;
    for i in 1..100 {
        let Some(t) = client.poll_transmit() else {
            break;
        };
        sent += 1;
        tid = Message::decode(&t.data).unwrap().transaction_id();
        client
            .handle_receive(
                base(),
                server_addr(),
                &error_response(tid, 438, REALM, &format!("n{i}")),
            )
            .unwrap();
    }
    assert_eq!(sent, 3, "max_auth_attempts = 3 requests in the chain");
    assert_eq!(
        client.poll_event(),
        Some(Event::Failed(ClientError::StaleNonceLoop { attempts: 3 }))
    );
    assert_eq!(client.poll_timeout(), None);
}

#[test]
fn bad_input_turn_15_401_loop_with_changing_realm_is_bounded() {
    let (mut client, mut tid) = client_after_first_request();
    let mut sent = 1;
    for i in 0..100 {
        client
            .handle_receive(
                base(),
                server_addr(),
                &error_response(tid, 401, &format!("realm{i}"), "n"),
            )
            .unwrap();
        let Some(t) = client.poll_transmit() else {
            break;
        };
        sent += 1;
        tid = Message::decode(&t.data).unwrap().transaction_id();
    }
    assert_eq!(sent, 3);
    assert_eq!(
        client.poll_event(),
        Some(Event::Failed(ClientError::Unauthorized { attempts: 3 }))
    );
}

#[test]
fn bad_input_turn_15_forged_success_without_integrity_is_ignored() {
    let mut h = Harness::default_pair();
    h.client.allocate(h.now).unwrap();
    let first = h.client.poll_transmit().unwrap();
    let _ = h.server.handle_receive(
        h.now,
        Transport::Udp,
        client_addr(),
        server_addr(),
        &first.data,
    );
    let challenge = h.server.poll_transmit().unwrap();
    h.client
        .handle_receive(h.now, server_addr(), &challenge.data)
        .unwrap();
    let second = h.client.poll_transmit().unwrap();
    let tid = Message::decode(&second.data).unwrap().transaction_id();
    let mut out = Vec::new();
    let mut enc = MessageEncoder::new(
        &mut out,
        MessageType::new(methods::ALLOCATE, Class::SuccessResponse),
        tid,
    );
    enc.add(&XorRelayedAddress("203.0.113.66:1".parse().unwrap()))
        .unwrap();
    enc.add(&Lifetime(600)).unwrap();
    enc.finish();
    assert_eq!(
        h.client.handle_receive(h.now, server_addr(), &out),
        Err(ClientError::BadResponseIntegrity)
    );
    assert_eq!(h.client.relayed_address(), None);
    // The real server's answer still completes the allocation.
    h.server
        .handle_receive(
            h.now,
            Transport::Udp,
            client_addr(),
            server_addr(),
            &second.data,
        )
        .unwrap();
    h.pump();
    assert!(h.client.relayed_address().is_some());
}
