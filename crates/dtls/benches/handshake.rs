//! CPU time of one complete DTLS 1.2 or 1.3 handshake (client + server, in memory, no loss).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use tern_dtls::{
    Certificate, CipherSuite, DtlsConfig, DtlsEndpoint, DtlsRole, HashAlgorithm, NamedGroup,
};

fn handshake(
    ca: &Certificate,
    cb: &Certificate,
    group: NamedGroup,
    suite: CipherSuite,
    dtls13: bool,
) {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut a_cfg = DtlsConfig::new(DtlsRole::Client, ca.clone());
    a_cfg.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256)];
    a_cfg.named_groups = vec![group];
    a_cfg.cipher_suites = vec![suite];
    a_cfg.dtls13 = dtls13;
    let mut b_cfg = DtlsConfig::new(DtlsRole::Server, cb.clone());
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
    assert_eq!(a.is_dtls13(), dtls13);
}

fn bench(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::from_seed([1; 32]);
    let ca = Certificate::generate_with_rng(&mut rng).unwrap();
    let cb = Certificate::generate_with_rng(&mut rng).unwrap();
    c.bench_function("handshake_x25519_aes128gcm", |b| {
        b.iter(|| {
            handshake(
                &ca,
                &cb,
                NamedGroup::X25519,
                CipherSuite::EcdheEcdsaAes128GcmSha256,
                false,
            )
        })
    });
    c.bench_function("handshake13_x25519_tls_aes_128_gcm_sha256", |b| {
        b.iter(|| {
            handshake(
                &ca,
                &cb,
                NamedGroup::X25519,
                CipherSuite::EcdheEcdsaAes128GcmSha256,
                true,
            )
        })
    });
    c.bench_function("handshake_p256_aes128gcm", |b| {
        b.iter(|| {
            handshake(
                &ca,
                &cb,
                NamedGroup::Secp256r1,
                CipherSuite::EcdheEcdsaAes128GcmSha256,
                false,
            )
        })
    });
    c.bench_function("certificate_generate", |b| {
        b.iter(|| Certificate::generate().unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
