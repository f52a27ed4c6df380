#![no_main]
//! A sequence of datagrams into the TURN server core. Records are `[op, len, bytes..]`:
//! op bits 0-1 pick one of four clients, bits 2-3 the action: 0 a raw datagram from the client,
//! 1 an authenticated request (the target adds USERNAME/REALM/NONCE/MESSAGE-INTEGRITY so the
//! fuzzer reaches allocation, permission and channel states; bytes = method then raw TLVs),
//! 2 a datagram from a peer to a relay address, 3 time advances by bytes[0] seconds.
//! Bit 4 makes the next relay socket fail to open. For action 1, bit 6 signs with the SHA-256
//! password algorithm (PASSWORD-ALGORITHMS echoed, MESSAGE-INTEGRITY-SHA256) instead of MD5.
//! Bit 7 of the first byte makes the server offer `[Sha256, Md5]` (RFC 8489 §9.2) instead of MD5.
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_stun::attributes::{Nonce, PasswordAlgorithmAttr, PasswordAlgorithms, Realm, Username};
use tern_stun::{Class, IntegrityKey, Message, MessageEncoder, MessageType, Method, PasswordAlgorithm, TransactionId};
use tern_turn::{Server, ServerConfig, ServerEvent, Transport};

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let ip: IpAddr = "198.51.100.1".parse().unwrap();
    let listen = SocketAddr::new(ip, 3478);
    let mut config = ServerConfig::new("fuzz", ip).with_user("u", "p");
    config.seed = Some([0; 32]);
    config.relay_ports = 50000..=50015;
    config.total_quota = 8;
    config.max_permissions = 8;
    if data.first().is_some_and(|b| b & 0x80 != 0) {
        config = config.with_sha256();
    }
    let mut server = Server::new(config, start, 1_700_000_000);
    let key = IntegrityKey::long_term("u", "fuzz", "p", PasswordAlgorithm::Md5);
    let key256 = IntegrityKey::long_term("u", "fuzz", "p", PasswordAlgorithm::Sha256);
    let mut nonce: Option<String> = None;
    let mut now = start;
    let mut tid = 0u32;
    let mut rest = data;
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        let client = SocketAddr::new("192.0.2.1".parse().unwrap(), 1000 + u16::from(op & 3));
        let transport = if op & 0x20 != 0 { Transport::Tcp } else { Transport::Udp };
        match (op >> 2) & 3 {
            0 => {
                let _ = server.handle_receive(now, transport, client, listen, chunk);
            }
            1 => {
                let Some((&method, mut tlvs)) = chunk.split_first() else { continue };
                tid += 1;
                let mut t = [0u8; 12];
                t[..4].copy_from_slice(&tid.to_be_bytes());
                let mut msg = Vec::new();
                let mut enc = MessageEncoder::new(
                    &mut msg,
                    MessageType::new(Method::new(u16::from(method & 0x0F)), Class::Request),
                    TransactionId(t),
                );
                while let [t0, t1, l, body @ ..] = tlvs {
                    let l = usize::from(*l).min(body.len());
                    let _ = enc.add_raw(u16::from_be_bytes([*t0, *t1]), &body[..l]);
                    tlvs = &body[l..];
                }
                if let Some(n) = &nonce {
                    let _ = enc.add(&Username("u"));
                    let _ = enc.add(&Realm("fuzz"));
                    let _ = enc.add(&Nonce(n));
                    if op & 0x40 != 0 {
                        let _ = enc.add(&PasswordAlgorithms(vec![
                            PasswordAlgorithm::Sha256,
                            PasswordAlgorithm::Md5,
                        ]));
                        let _ = enc.add(&PasswordAlgorithmAttr(PasswordAlgorithm::Sha256));
                        let _ = enc.add_message_integrity_sha256(&key256);
                    } else {
                        let _ = enc.add_message_integrity(&key);
                    }
                }
                enc.finish();
                let _ = server.handle_receive(now, transport, client, listen, &msg);
            }
            2 => {
                let relays: Vec<SocketAddr> = server.relay_addresses().collect();
                if let Some(relay) = relays.get(usize::from(op >> 6) % relays.len().max(1)) {
                    let peer = SocketAddr::new("203.0.113.1".parse().unwrap(), 7);
                    let _ = server.handle_receive(now, Transport::Udp, peer, *relay, chunk);
                }
            }
            _ => {
                now += Duration::from_secs(u64::from(chunk.first().copied().unwrap_or(1)));
                server.handle_timeout(now);
            }
        }
        while let Some(t) = server.poll_transmit() {
            if let Ok(m) = Message::decode(&t.data) {
                if let Ok(Some(n)) = m.get::<Nonce>() {
                    nonce = Some(n.0.to_owned());
                }
            }
        }
        while let Some(e) = server.poll_event() {
            if let ServerEvent::OpenRelay { relay } = e {
                if op & 0x10 != 0 {
                    server.relay_failed(now, relay);
                } else {
                    server.relay_opened(now, relay);
                }
            }
        }
        while server.poll_transmit().is_some() {}
        assert!(server.stats().allocations <= 8);
    }
});
