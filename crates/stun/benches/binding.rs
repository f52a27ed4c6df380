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

criterion_group!(benches, binding);
criterion_main!(benches);
