//! SRTP micro-benchmarks: protect+unprotect of a 1200-byte RTP packet per profile and
//! GCM backend, the batch API, and the RustCrypto/ring primitives underneath.
//!
//! Run: `cargo bench -p tern-srtp --features ring --bench srtp`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use aes::cipher::{KeyInit, KeyIvInit, StreamCipher};
use aes_gcm::AeadInPlace;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use tern_srtp::{GcmBackend, ProtectionProfile, SessionKeys, SrtpConfig, SrtpSession};

const PAYLOAD: usize = 1200 - 12;

fn keys(p: ProtectionProfile) -> SessionKeys {
    SessionKeys {
        master_key: vec![0x42; p.master_key_len()],
        master_salt: vec![0x17; p.master_salt_len()],
    }
}

fn rtp(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe]);
    p.extend(std::iter::repeat_n(0xab, PAYLOAD));
    p
}

fn variants() -> Vec<(&'static str, ProtectionProfile, GcmBackend)> {
    #[allow(unused_mut)]
    let mut v = vec![
        (
            "aes_cm_128_hmac_sha1_80",
            ProtectionProfile::Aes128CmHmacSha1_80,
            GcmBackend::RustCrypto,
        ),
        (
            "aead_aes_128_gcm/rustcrypto",
            ProtectionProfile::AeadAes128Gcm,
            GcmBackend::RustCrypto,
        ),
        (
            "aead_aes_256_gcm/rustcrypto",
            ProtectionProfile::AeadAes256Gcm,
            GcmBackend::RustCrypto,
        ),
    ];
    #[cfg(feature = "ring")]
    {
        v.push((
            "aead_aes_128_gcm/ring",
            ProtectionProfile::AeadAes128Gcm,
            GcmBackend::Ring,
        ));
        v.push((
            "aead_aes_256_gcm/ring",
            ProtectionProfile::AeadAes256Gcm,
            GcmBackend::Ring,
        ));
    }
    v
}

fn sessions(p: ProtectionProfile, b: GcmBackend) -> (SrtpSession, SrtpSession) {
    let config = SrtpConfig {
        gcm_backend: b,
        ..SrtpConfig::default()
    };
    (
        SrtpSession::new(p, &keys(p), config.clone()).unwrap(),
        SrtpSession::new(p, &keys(p), config).unwrap(),
    )
}

fn protect_unprotect(c: &mut Criterion) {
    let mut g = c.benchmark_group("srtp_1200B_protect_unprotect");
    g.throughput(Throughput::Elements(1));
    for (name, profile, backend) in variants() {
        let (mut tx, mut rx) = sessions(profile, backend);
        let plain = rtp(0);
        let mut buf = vec![0u8; 1300];
        let mut seq = 0u16;
        g.bench_function(name, |b| {
            b.iter(|| {
                buf[..plain.len()].copy_from_slice(&plain);
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                seq = seq.wrapping_add(1);
                let n = tx.protect_rtp_in_place(&mut buf, plain.len()).unwrap();
                let m = rx.unprotect_rtp_in_place(&mut buf[..n]).unwrap();
                black_box(m)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("srtp_1200B_protect_only");
    g.throughput(Throughput::Elements(1));
    for (name, profile, backend) in variants() {
        let (mut tx, _) = sessions(profile, backend);
        let plain = rtp(0);
        let mut buf = vec![0u8; 1300];
        let mut seq = 0u16;
        g.bench_function(name, |b| {
            b.iter(|| {
                buf[..plain.len()].copy_from_slice(&plain);
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                seq = seq.wrapping_add(1);
                black_box(tx.protect_rtp_in_place(&mut buf, plain.len()).unwrap())
            })
        });
    }
    g.finish();
}

fn batch(c: &mut Criterion) {
    const N: usize = 16;
    let mut g = c.benchmark_group("srtp_1200B_batch16_protect_unprotect");
    g.throughput(Throughput::Elements(N as u64));
    for (name, profile, backend) in variants() {
        let (mut tx, mut rx) = sessions(profile, backend);
        let mut packets: Vec<Vec<u8>> = (0..N).map(|_| Vec::with_capacity(1300)).collect();
        let mut results = vec![Ok(()); N];
        let plain = rtp(0);
        let mut seq = 0u16;
        g.bench_function(name, |b| {
            b.iter(|| {
                for p in packets.iter_mut() {
                    p.clear();
                    p.extend_from_slice(&plain);
                    p[2..4].copy_from_slice(&seq.to_be_bytes());
                    seq = seq.wrapping_add(1);
                }
                tx.protect_rtp_batch(&mut packets, &mut results).unwrap();
                black_box(rx.unprotect_rtp_batch(&mut packets, &mut results).unwrap())
            })
        });
    }
    g.finish();
}

fn primitives(c: &mut Criterion) {
    let mut g = c.benchmark_group("primitives_1200B");
    g.throughput(Throughput::Bytes(1200));
    let mut data = vec![0u8; 1200];
    let key = [7u8; 16];
    let iv = [9u8; 16];
    let aes = aes::Aes128::new(&key.into());
    g.bench_function("aes128_ctr/rustcrypto", |b| {
        b.iter(|| {
            let mut c = ctr::Ctr128BE::<aes::Aes128>::new(&key.into(), &iv.into());
            c.apply_keystream(&mut data);
            black_box(&data);
        })
    });
    g.bench_function("aes128_key_schedule_clone", |b| {
        b.iter(|| black_box(aes.clone()))
    });
    let mac = <Hmac<Sha1> as Mac>::new_from_slice(&[3u8; 20]).unwrap();
    g.bench_function("hmac_sha1/rustcrypto_keyed_clone", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(&data);
            m.update(&[0, 0, 0, 1]);
            black_box(m.finalize().into_bytes())
        })
    });
    let gcm = aes_gcm::Aes128Gcm::new(&key.into());
    let nonce = [1u8; 12];
    g.bench_function("aes128_gcm_seal/rustcrypto_aes_gcm_0.10", |b| {
        b.iter(|| {
            black_box(
                gcm.encrypt_in_place_detached(&nonce.into(), &data[..12], &mut data[12..].to_vec())
                    .unwrap(),
            )
        })
    });
    #[cfg(feature = "ring")]
    {
        let k = ring::aead::LessSafeKey::new(
            ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &key).unwrap(),
        );
        let mut buf = data.clone();
        g.bench_function("aes128_gcm_seal/ring_0.17", |b| {
            b.iter(|| {
                let (aad, body) = buf.split_at_mut(12);
                black_box(
                    k.seal_in_place_separate_tag(
                        ring::aead::Nonce::assume_unique_for_key(nonce),
                        ring::aead::Aad::from(&*aad),
                        body,
                    )
                    .unwrap(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, protect_unprotect, batch, primitives);
criterion_main!(benches);
