//! Tern and libsrtp side by side, in one run: protect + unprotect of a 1200-byte RTP packet,
//! best of N rounds of 1024 packets, the two implementations interleaved round block by round
//! block so that machine load hits both alike. Prints one table (figure, Tern, libsrtp, ratio).
//!
//! The libsrtp side is `benches/libsrtp_harness.c`, compiled with `cc` at start:
//! `TERN_LIBSRTP_CFLAGS` (default empty) and `TERN_LIBSRTP_LIBS` (default `-lsrtp2`) say where
//! libsrtp is; for libsrtp + OpenSSL point them at such a build, e.g.
//! `TERN_LIBSRTP_CFLAGS=-I/opt/libsrtp/include TERN_LIBSRTP_LIBS="/opt/libsrtp/libsrtp2.a -lcrypto"`.
//!
//! Run: `cargo bench -p tern-srtp --bench vs_libsrtp`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use tern_srtp::{GcmBackend, ProtectionProfile, SessionKeys, SrtpConfig, SrtpSession};

const ROUNDS: usize = 40;
const PACKETS: usize = 1024;
const REPEATS: usize = 6;

fn build_harness() -> Option<PathBuf> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/libsrtp_harness.c");
    let out = std::env::temp_dir().join(format!("tern-libsrtp-harness-{}", std::process::id()));
    let cflags = std::env::var("TERN_LIBSRTP_CFLAGS").unwrap_or_default();
    let libs = std::env::var("TERN_LIBSRTP_LIBS").unwrap_or_else(|_| "-lsrtp2".into());
    let status = Command::new("cc")
        .arg("-O2")
        .args(cflags.split_whitespace())
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .args(libs.split_whitespace())
        .status()
        .ok()?;
    status.success().then_some(out)
}

fn libsrtp_best(harness: &PathBuf, figure: &str) -> Option<(f64, String)> {
    let out = Command::new(harness)
        .args([figure, &ROUNDS.to_string(), &PACKETS.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("libsrtp harness: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let _ = it.next()?;
    let ns = it.next()?.parse().ok()?;
    Some((ns, it.collect::<Vec<_>>().join(" ")))
}

fn keys(p: ProtectionProfile) -> SessionKeys {
    SessionKeys {
        master_key: vec![0x42; p.master_key_len()],
        master_salt: vec![0x17; p.master_salt_len()],
    }
}

fn plain() -> Vec<u8> {
    let mut p = vec![0x80, 96, 0, 0, 0, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe];
    p.extend(std::iter::repeat_n(0xab, 1200 - 12));
    p
}

/// Best round, ns per protect+unprotect, one packet per call.
fn tern_best(p: ProtectionProfile, backend: GcmBackend, seq: &mut u16) -> f64 {
    let config = SrtpConfig {
        gcm_backend: backend,
        ..SrtpConfig::default()
    };
    let mut tx = SrtpSession::new(p, &keys(p), config.clone()).unwrap();
    let mut rx = SrtpSession::new(p, &keys(p), config).unwrap();
    let plain = plain();
    let mut buf = vec![0u8; 1300];
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        for _ in 0..PACKETS {
            buf[..plain.len()].copy_from_slice(&plain);
            buf[2..4].copy_from_slice(&seq.to_be_bytes());
            *seq = seq.wrapping_add(1);
            let n = tx.protect_rtp_in_place(&mut buf, plain.len()).unwrap();
            let m = rx.unprotect_rtp_in_place(&mut buf[..n]).unwrap();
            black_box(m);
        }
        best = best.min(t0.elapsed().as_nanos() as f64 / PACKETS as f64);
    }
    best
}

/// Best round, ns per packet, through the batch API in batches of 16.
fn tern_batch_best(p: ProtectionProfile, backend: GcmBackend, seq: &mut u16) -> f64 {
    const N: usize = 16;
    let config = SrtpConfig {
        gcm_backend: backend,
        ..SrtpConfig::default()
    };
    let mut tx = SrtpSession::new(p, &keys(p), config.clone()).unwrap();
    let mut rx = SrtpSession::new(p, &keys(p), config).unwrap();
    let plain = plain();
    let mut packets: Vec<Vec<u8>> = (0..N).map(|_| Vec::with_capacity(1300)).collect();
    let mut results = vec![Ok(()); N];
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        for _ in 0..PACKETS / N {
            for pk in packets.iter_mut() {
                pk.clear();
                pk.extend_from_slice(&plain);
                pk[2..4].copy_from_slice(&seq.to_be_bytes());
                *seq = seq.wrapping_add(1);
            }
            tx.protect_rtp_batch(&mut packets, &mut results).unwrap();
            rx.unprotect_rtp_batch(&mut packets, &mut results).unwrap();
            black_box(&results);
        }
        best = best.min(t0.elapsed().as_nanos() as f64 / PACKETS as f64);
    }
    best
}

/// ring's AES-128-GCM alone on the same 1188-byte payload with the 12-byte header as AAD:
/// seal then open, best round, ns per pair. The floor under the SRTP GCM rows.
#[cfg(feature = "ring")]
fn ring_aead_floor() -> f64 {
    use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[0x42; 16]).unwrap());
    let plain = plain();
    let mut buf = vec![0u8; 1300];
    let mut best = f64::MAX;
    let mut n = 0u64;
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        for _ in 0..PACKETS {
            buf[..plain.len()].copy_from_slice(&plain);
            n += 1;
            let mut iv = [0u8; 12];
            iv[4..].copy_from_slice(&n.to_be_bytes());
            let (hdr, body) = buf[..plain.len()].split_at_mut(12);
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(iv),
                    Aad::from(&*hdr),
                    body,
                )
                .unwrap();
            buf[plain.len()..plain.len() + 16].copy_from_slice(tag.as_ref());
            let (hdr, body) = buf[..plain.len() + 16].split_at_mut(12);
            let out = key
                .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(&*hdr), body)
                .unwrap();
            black_box(out.len());
        }
        best = best.min(t0.elapsed().as_nanos() as f64 / PACKETS as f64);
    }
    best
}

fn main() {
    let harness = build_harness();
    if harness.is_none() {
        eprintln!("could not build benches/libsrtp_harness.c: libsrtp columns stay empty");
    }
    #[allow(unused_mut)]
    let mut rows: Vec<(&str, &str, ProtectionProfile, GcmBackend, bool)> = vec![
        (
            "AES_CM_128_HMAC_SHA1_80",
            "aes_cm_128_hmac_sha1_80",
            ProtectionProfile::Aes128CmHmacSha1_80,
            GcmBackend::RustCrypto,
            false,
        ),
        (
            "AES_CM_128_HMAC_SHA1_80, batch of 16",
            "aes_cm_128_hmac_sha1_80",
            ProtectionProfile::Aes128CmHmacSha1_80,
            GcmBackend::RustCrypto,
            true,
        ),
        (
            "AEAD_AES_128_GCM, RustCrypto aes-gcm",
            "aead_aes_128_gcm",
            ProtectionProfile::AeadAes128Gcm,
            GcmBackend::RustCrypto,
            false,
        ),
    ];
    #[cfg(feature = "ring")]
    {
        rows.push((
            "AEAD_AES_128_GCM, ring",
            "aead_aes_128_gcm",
            ProtectionProfile::AeadAes128Gcm,
            GcmBackend::Ring,
            false,
        ));
        rows.push((
            "AEAD_AES_128_GCM, ring, batch of 16",
            "aead_aes_128_gcm",
            ProtectionProfile::AeadAes128Gcm,
            GcmBackend::Ring,
            true,
        ));
    }
    let mut tern = vec![f64::MAX; rows.len()];
    let mut lib: Vec<Option<f64>> = vec![None; rows.len()];
    let mut version = String::new();
    let mut seq = 0u16;
    for _ in 0..REPEATS {
        for (i, (_, fig, p, b, batch)) in rows.iter().enumerate() {
            if let Some(h) = &harness
                && let Some((ns, v)) = libsrtp_best(h, fig)
            {
                lib[i] = Some(lib[i].map_or(ns, |x: f64| x.min(ns)));
                version = v;
            }
            let t = if *batch {
                tern_batch_best(*p, *b, &mut seq)
            } else {
                tern_best(*p, *b, &mut seq)
            };
            tern[i] = tern[i].min(t);
        }
    }
    #[cfg(feature = "ring")]
    let floor = (0..REPEATS)
        .map(|_| ring_aead_floor())
        .fold(f64::MAX, f64::min);
    if let Some(h) = harness {
        let _ = std::fs::remove_file(h);
    }
    println!(
        "1200-byte RTP, protect+unprotect, best of {} rounds x {PACKETS} packets; libsrtp: {version}",
        ROUNDS * REPEATS
    );
    println!("| figure | Tern ns | libsrtp ns | libsrtp / Tern |");
    println!("|---|---|---|---|");
    for (i, (name, ..)) in rows.iter().enumerate() {
        match lib[i] {
            Some(l) => println!("| {name} | {:.0} | {l:.0} | {:.2}x |", tern[i], l / tern[i]),
            None => println!("| {name} | {:.0} | - | - |", tern[i]),
        }
    }
    #[cfg(feature = "ring")]
    println!("| ring AES-128-GCM seal+open alone (floor of the GCM rows) | {floor:.0} | - | - |");
}
