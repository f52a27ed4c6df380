//! Binding request encode + decode + verify (MESSAGE-INTEGRITY + FINGERPRINT), the PERF.md
//! figure compared against webrtc-rs rtc-stun.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tern_stun::attributes::{IceControlling, Priority, UseCandidate, Username};
use tern_stun::{IntegrityKey, Message, MessageEncoder, MessageType, TransactionId};

fn binding(c: &mut Criterion) {
    let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt");
    let mut buf = Vec::with_capacity(256);
    c.bench_function("binding_request_encode_decode_verify", |b| {
        b.iter(|| {
            buf.clear();
            let mut e = MessageEncoder::new(
                &mut buf,
                MessageType::BINDING_REQUEST,
                TransactionId([7; 12]),
            );
            e.add(&Username("evtj:h6vY")).unwrap();
            e.add(&IceControlling(0x932f_f9b1_5126_3b36)).unwrap();
            e.add(&Priority(0x6e00_01ff)).unwrap();
            e.add(&UseCandidate).unwrap();
            e.add_message_integrity(&key).unwrap();
            e.add_fingerprint().unwrap();
            let m = Message::decode(black_box(&buf)).unwrap();
            m.verify_integrity(&key).unwrap();
            black_box(m.get::<Priority>().unwrap());
        })
    });
}

/// The crypto floor of the figure above: two HMAC-SHA1 over the MESSAGE-INTEGRITY span and two
/// CRC-32 over the FINGERPRINT span of the same message, from the cached keyed state.
fn crypto_floor(c: &mut Criterion) {
    let key = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt");
    let bytes = [0x5au8; 84];
    c.bench_function("binding_crypto_floor_2hmac_2crc", |b| {
        b.iter(|| {
            let a = key.hmac_sha1(&[black_box(&bytes[..76])]);
            let b2 = key.hmac_sha1(&[black_box(&bytes[..76])]);
            let c1 = tern_stun::fingerprint(black_box(&bytes));
            let c2 = tern_stun::fingerprint(black_box(&bytes));
            black_box((a, b2, c1, c2))
        })
    });
}

criterion_group!(benches, binding, crypto_floor);
criterion_main!(benches);
