//! Byte-for-byte cross-check with libsrtp through pylibsrtp, all four profiles, RTP and RTCP,
//! both directions, across the sequence-number wrap.
//!
//! Needs `$TERN_PYTHON` (default `python3`) with `pylibsrtp` installed. Run with
//! `cargo test -p tern-srtp --test interop_libsrtp -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use tern_srtp::{ProtectionProfile, SrtpConfig, SrtpSession};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Kills the peer by PID whatever happens.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run the Python peer on `input` (one op per line) and return its output lines.
fn run_peer(input: String) -> Vec<(String, String)> {
    let python = std::env::var("TERN_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/libsrtp_peer.py");
    let child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    let mut peer = Peer(child);
    let mut stdin = peer.0.stdin.take().unwrap();
    let stdout = peer.0.stdout.take().unwrap();
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).unwrap();
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<(String, String)> = BufReader::new(stdout)
            .lines()
            .map(|l| {
                let l = l.unwrap();
                let (op, arg) = l.split_once(' ').unwrap_or((&l, ""));
                (op.to_string(), arg.to_string())
            })
            .collect();
        let _ = tx.send(lines);
    });
    let lines = rx
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("pylibsrtp peer timed out after {TIMEOUT:?}"));
    writer.join().unwrap();
    let status = peer.0.wait().unwrap();
    assert!(status.success(), "peer exited with {status}");
    lines
}

fn master(profile: ProtectionProfile) -> Vec<u8> {
    let k = keys(profile, 0x3c);
    [k.master_key, k.master_salt].concat()
}

/// RTP packets of two SSRCs crossing the wrap, some with CSRCs and a header extension.
fn rtp_stream() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..120u16 {
        let mut a = rtp(
            0x1234_5678,
            65_480u16.wrapping_add(i),
            40 + usize::from(i) * 9,
        );
        if i % 3 == 0 {
            // X bit with a one-word RFC 8285 extension, header left in the clear.
            let payload = a.split_off(12);
            a[0] |= 0x10;
            a.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x22, 1, 2, 3]);
            a.extend_from_slice(&payload);
        }
        out.push(a);
        let mut b = rtp(0x0bad_cafe, 65_530u16.wrapping_add(i), 160);
        if i % 4 == 0 {
            let payload = b.split_off(12);
            b[0] |= 0x02;
            b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
            b.extend_from_slice(&payload);
        }
        out.push(b);
    }
    out
}

fn rtcp_stream() -> Vec<Vec<u8>> {
    (0..40)
        .map(|i| {
            rtcp(
                if i % 2 == 0 { 0x1234_5678 } else { 0x0bad_cafe },
                4 * (i % 12),
            )
        })
        .collect()
}

fn cross_check(profile: ProtectionProfile) {
    let key = master(profile);
    let k = keys(profile, 0x3c);
    let rtps = rtp_stream();
    let rtcps = rtcp_stream();

    // Tern protects; libsrtp protects the same plaintexts; then each unprotects the other's.
    let mut tern_tx = SrtpSession::new(profile, &k, SrtpConfig::default()).unwrap();
    let tern_srtp: Vec<Vec<u8>> = rtps
        .iter()
        .map(|p| {
            let mut p = p.clone();
            tern_tx.protect_rtp(&mut p).unwrap();
            p
        })
        .collect();
    // libsrtp sends its first SRTCP packet with index 1 (RFC 3711 §3.4 says 0): spend index 0
    // of each SSRC on a packet libsrtp does not see, so the indices line up.
    for ssrc in [0x1234_5678u32, 0x0bad_cafe] {
        tern_tx.protect_rtcp(&mut rtcp(ssrc, 0)).unwrap();
    }
    let tern_srtcp: Vec<Vec<u8>> = rtcps
        .iter()
        .map(|p| {
            let mut p = p.clone();
            tern_tx.protect_rtcp(&mut p).unwrap();
            p
        })
        .collect();

    let mut input = format!(
        "version\nprofile {}\nkey {}\n",
        profile.dtls_id(),
        hex::encode(&key)
    );
    for p in &rtps {
        input += &format!("rtp {}\n", hex::encode(p));
    }
    for p in &rtcps {
        input += &format!("rtcp {}\n", hex::encode(p));
    }
    for p in &tern_srtp {
        input += &format!("srtp {}\n", hex::encode(p));
    }
    for p in &tern_srtcp {
        input += &format!("srtcp {}\n", hex::encode(p));
    }
    let lines = run_peer(input);
    let get = |op: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, a)| a.clone())
            .collect()
    };
    let version = get("version");
    eprintln!("{profile:?}: peer {}", version.join(" "));
    let errors: Vec<_> = lines
        .iter()
        .filter(|(o, _)| o.ends_with("-error") || o == "unknown-op")
        .collect();
    assert!(
        errors.is_empty(),
        "{profile:?}: libsrtp refused Tern's packets: {errors:?}"
    );

    // 1. Same plaintext, same key, same index → identical bytes.
    let libsrtp_srtp = get("srtp");
    assert_eq!(libsrtp_srtp.len(), rtps.len());
    for (i, (theirs, ours)) in libsrtp_srtp.iter().zip(&tern_srtp).enumerate() {
        assert_eq!(theirs, &hex::encode(ours), "{profile:?} SRTP packet {i}");
    }
    let libsrtp_srtcp = get("srtcp");
    assert_eq!(libsrtp_srtcp.len(), rtcps.len());
    for (i, (theirs, ours)) in libsrtp_srtcp.iter().zip(&tern_srtcp).enumerate() {
        assert_eq!(theirs, &hex::encode(ours), "{profile:?} SRTCP packet {i}");
    }

    // 2. libsrtp → Tern: everything libsrtp protected unprotects here.
    let mut tern_rx = SrtpSession::new(profile, &k, SrtpConfig::default()).unwrap();
    for (i, (theirs, plain)) in libsrtp_srtp.iter().zip(&rtps).enumerate() {
        let mut p = hex::decode(theirs).unwrap();
        tern_rx
            .unprotect_rtp(&mut p)
            .unwrap_or_else(|e| panic!("{profile:?} SRTP {i}: {e}"));
        assert_eq!(&p, plain);
    }
    for (i, (theirs, plain)) in libsrtp_srtcp.iter().zip(&rtcps).enumerate() {
        let mut p = hex::decode(theirs).unwrap();
        tern_rx
            .unprotect_rtcp(&mut p)
            .unwrap_or_else(|e| panic!("{profile:?} SRTCP {i}: {e}"));
        assert_eq!(&p, plain);
    }
    assert_eq!(
        tern_rx.rx_rtp_roc(0x1234_5678),
        Some(1),
        "stream crossed the wrap"
    );

    // 3. Tern → libsrtp: libsrtp unprotected every packet to the original plaintext.
    let back = get("rtp");
    assert_eq!(back.len(), rtps.len());
    for (i, (plain, theirs)) in rtps.iter().zip(&back).enumerate() {
        assert_eq!(
            theirs,
            &hex::encode(plain),
            "{profile:?} RTP {i} via libsrtp"
        );
    }
    let back = get("rtcp");
    assert_eq!(back.len(), rtcps.len());
    for (i, (plain, theirs)) in rtcps.iter().zip(&back).enumerate() {
        assert_eq!(
            theirs,
            &hex::encode(plain),
            "{profile:?} RTCP {i} via libsrtp"
        );
    }
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn libsrtp_aes_cm_128_hmac_sha1_80() {
    cross_check(ProtectionProfile::Aes128CmHmacSha1_80);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn libsrtp_aes_cm_128_hmac_sha1_32() {
    cross_check(ProtectionProfile::Aes128CmHmacSha1_32);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn libsrtp_aead_aes_128_gcm() {
    cross_check(ProtectionProfile::AeadAes128Gcm);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn libsrtp_aead_aes_256_gcm() {
    cross_check(ProtectionProfile::AeadAes256Gcm);
}

/// libsrtp rejects tampered and replayed Tern packets, as Tern rejects libsrtp's.
#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn libsrtp_rejects_tamper_and_replay() {
    for profile in PROFILES {
        let k = keys(profile, 0x3c);
        let mut tx = SrtpSession::new(profile, &k, SrtpConfig::default()).unwrap();
        let mut p = rtp(7, 100, 50);
        tx.protect_rtp(&mut p).unwrap();
        let mut tampered = p.clone();
        tampered[20] ^= 4;
        let input = format!(
            "profile {}\nkey {}\nsrtp {}\nsrtp {}\nsrtp {}\n",
            profile.dtls_id(),
            hex::encode(master(profile)),
            hex::encode(&tampered),
            hex::encode(&p),
            hex::encode(&p)
        );
        let ops: Vec<String> = run_peer(input).into_iter().map(|(o, _)| o).collect();
        assert_eq!(ops, ["rtp-error", "rtp", "rtp-error"], "{profile:?}");
    }
}
