//! PERF.md figure: STUN Binding request encode + decode + verify (MI + FINGERPRINT), Tern vs
//! webrtc-rs rtc-stun 0.21.1 (ring), in one run. Goal: Tern ≥ 2× faster.

use criterion::{Criterion, criterion_group, criterion_main};
use tern_stun::IntegrityKey;
use tern_stun_compare::{PASSWORD, RtcSide, tern_round};

fn compare(c: &mut Criterion) {
    let mut group = c.benchmark_group("stun_binding_encode_decode_verify");
    let key = IntegrityKey::short_term(PASSWORD);
    let mut buf = Vec::with_capacity(256);
    group.bench_function("tern", |b| b.iter(|| tern_round(&key, &mut buf)));
    let mut rtc = RtcSide::new().expect("rtc-crypto provider");
    group.bench_function("rtc-stun", |b| b.iter(|| rtc.round()));
    group.finish();
}

criterion_group!(benches, compare);
criterion_main!(benches);
