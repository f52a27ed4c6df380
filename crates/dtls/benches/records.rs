//! The DTLS data path: one 1,200-byte application-data record sealed by one connected endpoint
//! and opened by the other (send_application_data → poll_transmit → handle_receive →
//! poll_event), per suite and version, in memory. The record AEADs run on `ring` (README.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use tern_dtls::{
    Certificate, CipherSuite, DtlsConfig, DtlsEndpoint, DtlsEvent, DtlsRole, HashAlgorithm,
};

const RECORD: usize = 1_200;

fn connected(suite: CipherSuite, dtls13: bool, now: Instant) -> (DtlsEndpoint, DtlsEndpoint) {
    let mut rng = rand::rngs::StdRng::from_seed([1; 32]);
    let ca = Certificate::generate_with_rng(&mut rng).unwrap();
    let cb = Certificate::generate_with_rng(&mut rng).unwrap();
    let mut a_cfg = DtlsConfig::new(DtlsRole::Client, ca.clone());
    a_cfg.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256)];
    a_cfg.cipher_suites = vec![suite];
    a_cfg.dtls13 = dtls13;
    let mut b_cfg = DtlsConfig::new(DtlsRole::Server, cb);
    b_cfg.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256)];
    b_cfg.dtls13 = dtls13;
    let mut a = DtlsEndpoint::new(a_cfg, now).unwrap();
    let mut b = DtlsEndpoint::new(b_cfg, now).unwrap();
    for _ in 0..6 {
        while let Some(d) = a.poll_transmit() {
            let _ = b.handle_receive(now, &d);
        }
        while let Some(d) = b.poll_transmit() {
            let _ = a.handle_receive(now, &d);
        }
    }
    assert!(a.is_connected() && b.is_connected());
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    (a, b)
}

fn bench(c: &mut Criterion) {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let payload = vec![0x5a; RECORD];
    let mut group = c.benchmark_group("record_seal_open_1200");
    group.throughput(Throughput::Bytes(RECORD as u64));
    for (name, suite, dtls13) in [
        (
            "dtls12_aes128gcm",
            CipherSuite::EcdheEcdsaAes128GcmSha256,
            false,
        ),
        (
            "dtls12_aes256gcm",
            CipherSuite::EcdheEcdsaAes256GcmSha384,
            false,
        ),
        (
            "dtls12_chacha20poly1305",
            CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
            false,
        ),
        (
            "dtls13_aes128gcm",
            CipherSuite::EcdheEcdsaAes128GcmSha256,
            true,
        ),
    ] {
        let (mut a, mut b) = connected(suite, dtls13, now);
        group.bench_function(name, |bencher| {
            bencher.iter(|| {
                a.send_application_data(&payload).unwrap();
                let datagram = a.poll_transmit().unwrap();
                b.handle_receive(now, &datagram).unwrap();
                match b.poll_event() {
                    Some(DtlsEvent::ApplicationData(data)) => assert_eq!(data.len(), RECORD),
                    other => panic!("expected application data, got {other:?}"),
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
