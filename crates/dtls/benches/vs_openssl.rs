//! Handshake CPU time, Tern and OpenSSL side by side in one run: complete DTLS handshakes with
//! client and server in one thread (Tern in memory; OpenSSL over memory BIOs,
//! `benches/openssl_handshake.c`, compiled with `cc -O2 ... -lssl -lcrypto` at start), same
//! profile (ECDHE-ECDSA-AES128-GCM-SHA256, mutual P-256 certificates, EMS, use_srtp, MTU 1200),
//! best of several rounds, the two interleaved. Prints one table.
//!
//! Run: `cargo bench -p tern-dtls --bench vs_openssl`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use rand::SeedableRng;
use tern_dtls::{
    Certificate, CipherSuite, DtlsConfig, DtlsEndpoint, DtlsRole, HashAlgorithm, NamedGroup,
    SrtpProtectionProfile,
};

const ROUNDS: usize = 3;
const N: usize = 40;
const REPEATS: usize = 4;

fn build_harness() -> Option<PathBuf> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/openssl_handshake.c");
    let out = std::env::temp_dir().join(format!("tern-openssl-hs-{}", std::process::id()));
    let ok = Command::new("cc")
        .arg("-O2")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .args(["-lssl", "-lcrypto"])
        .status()
        .ok()?
        .success();
    ok.then_some(out)
}

fn openssl_best(h: &PathBuf, group: &str) -> Option<(f64, String)> {
    let out = Command::new(h)
        .args([group, &ROUNDS.to_string(), &N.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().skip(2);
    let us = it.next()?.parse().ok()?;
    Some((us, it.collect::<Vec<_>>().join(" ")))
}

fn handshake(ca: &Certificate, cb: &Certificate, group: NamedGroup, dtls13: bool) {
    let now = Instant::now();
    let mut a = DtlsConfig::new(DtlsRole::Client, ca.clone());
    a.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256)];
    a.named_groups = vec![group];
    a.cipher_suites = vec![CipherSuite::EcdheEcdsaAes128GcmSha256];
    a.srtp_profiles = vec![SrtpProtectionProfile::AeadAes128Gcm];
    a.dtls13 = dtls13;
    let mut b = DtlsConfig::new(DtlsRole::Server, cb.clone());
    b.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256)];
    b.dtls13 = dtls13;
    let mut a = DtlsEndpoint::new(a, now).unwrap();
    let mut b = DtlsEndpoint::new(b, now).unwrap();
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

fn tern_best(ca: &Certificate, cb: &Certificate, group: NamedGroup, dtls13: bool) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        for _ in 0..N {
            handshake(ca, cb, group, dtls13);
        }
        best = best.min(t0.elapsed().as_secs_f64() * 1e6 / N as f64);
    }
    best
}

fn main() {
    let mut rng = rand::rngs::StdRng::from_seed([1; 32]);
    let ca = Certificate::generate_with_rng(&mut rng).unwrap();
    let cb = Certificate::generate_with_rng(&mut rng).unwrap();
    let harness = build_harness();
    let rows = [
        ("DTLS 1.2, x25519", "X25519", NamedGroup::X25519, false),
        ("DTLS 1.2, P-256", "P-256", NamedGroup::Secp256r1, false),
        ("DTLS 1.3 (Tern only), x25519", "", NamedGroup::X25519, true),
    ];
    let mut tern = [f64::MAX; 3];
    let mut ossl: [Option<f64>; 3] = [None; 3];
    let mut version = String::new();
    for _ in 0..REPEATS {
        for (i, (_, og, g, v13)) in rows.iter().enumerate() {
            if let Some(h) = harness.as_ref().filter(|_| !og.is_empty())
                && let Some((us, v)) = openssl_best(h, og)
            {
                ossl[i] = Some(ossl[i].map_or(us, |x: f64| x.min(us)));
                version = v;
            }
            tern[i] = tern[i].min(tern_best(&ca, &cb, *g, *v13));
        }
    }
    if let Some(h) = harness {
        let _ = std::fs::remove_file(h);
    }
    println!(
        "complete handshake, client + server CPU in one thread, best of {} x {N}; {version}",
        ROUNDS * REPEATS
    );
    println!("| handshake | Tern µs | OpenSSL µs | OpenSSL / Tern |");
    println!("|---|---|---|---|");
    for (i, (name, ..)) in rows.iter().enumerate() {
        match ossl[i] {
            Some(o) => println!("| {name} | {:.0} | {o:.0} | {:.2}x |", tern[i], o / tern[i]),
            None => println!("| {name} | {:.0} | - | - |", tern[i]),
        }
    }
}
