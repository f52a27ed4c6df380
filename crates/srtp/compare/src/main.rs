//! SRTP AEAD_AES_128_GCM, 1,200-byte RTP packet (12-byte header, 1,188-byte payload),
//! protect + unprotect, in one process: tern-srtp (each GCM backend), str0m 0.25 (aws-lc-rs)
//! and webrtc-rs rtc-srtp 0.21 (ring), and the bare AES-128-GCM seal + open of every
//! candidate backend on the same bytes. Every round measures every case once (1,024 packets
//! each, the order rotated per round); the table gives the median and the best round.
//!
//! Before timing, the outputs are cross-checked: every Tern backend, str0m and rtc-srtp
//! produce the same SRTP packet for the same master key, salt and packet, and each
//! unprotects the others' packets back to the plaintext.
//!
//! `cargo run --release [-- ROUNDS]` (default 200 rounds).

use std::hint::black_box;
use std::time::Instant;

use aes::cipher::{BlockEncrypt, KeyInit};

const PACKETS: usize = 1024;
const PACKET_LEN: usize = 1200;
const HEADER_LEN: usize = 12;
const TAG_LEN: usize = 16;
const SSRC: u32 = 0xcafe_babe;

const MASTER_KEY: [u8; 16] = [
    0x60, 0xb4, 0x1f, 0x04, 0x77, 0x89, 0x80, 0xfc, 0x4b, 0xc2, 0xfc, 0x2c, 0x3f, 0x38, 0x3d, 0x37,
];
const MASTER_SALT: [u8; 12] = [
    0xf7, 0x1a, 0x31, 0x5e, 0x63, 0x1d, 0x4f, 0x5e, 0x05, 0x6f, 0xfc, 0xd8,
];

fn plain(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend((0..PACKET_LEN - HEADER_LEN).map(|i| i as u8));
    p
}

/// RFC 3711 §4.3.1 key derivation (KDR 0, index 0) for the RTP session key (label 0) and
/// salt (label 2), to key the bare providers with the same session key as the SRTP stacks.
fn session_keys() -> ([u8; 16], [u8; 12]) {
    let aes = aes::Aes128::new(&MASTER_KEY.into());
    let derive = |label: u8| {
        let mut x = [0u8; 16];
        x[..12].copy_from_slice(&MASTER_SALT);
        x[7] ^= label;
        let mut b = aes::Block::from(x);
        aes.encrypt_block(&mut b);
        let mut o = [0u8; 16];
        o.copy_from_slice(&b);
        o
    };
    let k = derive(0);
    let s = derive(2);
    let mut salt = [0u8; 12];
    salt.copy_from_slice(&s[..12]);
    (k, salt)
}

/// RFC 7714 §8.1 IV.
fn gcm_iv(salt: &[u8; 12], ssrc: u32, index: u64) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..12].copy_from_slice(&index.to_be_bytes()[2..8]);
    for (o, s) in iv.iter_mut().zip(salt) {
        *o ^= s;
    }
    iv
}

// ------------------------------------------------------------------------------ cases

/// One measured case: `run` protects and unprotects `PACKETS` packets and returns the
/// nanoseconds per packet.
struct Case {
    name: &'static str,
    run: Box<dyn FnMut() -> f64>,
}

fn timed(mut f: impl FnMut(u16)) -> f64 {
    let t0 = Instant::now();
    for i in 0..PACKETS {
        f(i as u16);
    }
    t0.elapsed().as_nanos() as f64 / PACKETS as f64
}

fn tern_case(name: &'static str, backend: tern_srtp::GcmBackend) -> Case {
    use tern_srtp::{ProtectionProfile, SessionKeys, SrtpConfig, SrtpSession};
    let p = ProtectionProfile::AeadAes128Gcm;
    let keys = SessionKeys {
        master_key: MASTER_KEY.to_vec(),
        master_salt: MASTER_SALT.to_vec(),
    };
    let config = SrtpConfig {
        gcm_backend: backend,
        ..SrtpConfig::default()
    };
    let mut tx = SrtpSession::new(p, &keys, config.clone()).unwrap();
    let mut rx = SrtpSession::new(p, &keys, config).unwrap();
    let plain = plain(0);
    let mut buf = vec![0u8; 1300];
    let mut seq = 0u16;
    Case {
        name,
        run: Box::new(move || {
            timed(|_| {
                buf[..PACKET_LEN].copy_from_slice(&plain);
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                seq = seq.wrapping_add(1);
                let n = tx.protect_rtp_in_place(&mut buf, PACKET_LEN).unwrap();
                let m = rx.unprotect_rtp_in_place(&mut buf[..n]).unwrap();
                black_box(m);
            })
        }),
    }
}

/// As `tern_case`, without the benchmark's copy of the plaintext into the buffer: the packet
/// that `unprotect_rtp_in_place` restored is re-protected with the next sequence number, as a
/// sender protects the packet its packetizer wrote and a receiver unprotects the datagram in
/// its receive buffer. (str0m's and rtc-srtp's APIs copy into a new buffer by design; their
/// copies are part of their figures.)
fn tern_in_place_case(name: &'static str, backend: tern_srtp::GcmBackend) -> Case {
    use tern_srtp::{ProtectionProfile, SessionKeys, SrtpConfig, SrtpSession};
    let p = ProtectionProfile::AeadAes128Gcm;
    let keys = SessionKeys {
        master_key: MASTER_KEY.to_vec(),
        master_salt: MASTER_SALT.to_vec(),
    };
    let config = SrtpConfig {
        gcm_backend: backend,
        ..SrtpConfig::default()
    };
    let mut tx = SrtpSession::new(p, &keys, config.clone()).unwrap();
    let mut rx = SrtpSession::new(p, &keys, config).unwrap();
    let mut buf = vec![0u8; 1300];
    buf[..PACKET_LEN].copy_from_slice(&plain(0));
    let mut seq = 0u16;
    Case {
        name,
        run: Box::new(move || {
            timed(|_| {
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                seq = seq.wrapping_add(1);
                let n = tx.protect_rtp_in_place(&mut buf, PACKET_LEN).unwrap();
                let m = rx.unprotect_rtp_in_place(&mut buf[..n]).unwrap();
                assert_eq!(m, PACKET_LEN);
            })
        }),
    }
}

fn str0m_keying() -> str0m::config::KeyingMaterial {
    // [client key, server key, client salt, server salt]; "left" takes the first of each.
    let mut m = Vec::new();
    m.extend_from_slice(&MASTER_KEY);
    m.extend_from_slice(&[0u8; 16]);
    m.extend_from_slice(&MASTER_SALT);
    m.extend_from_slice(&[0u8; 12]);
    str0m::config::KeyingMaterial::new(&m)
}

fn str0m_header(seq: u16) -> str0m::rtp::RtpHeader {
    str0m::rtp::RtpHeader {
        payload_type: 96.into(),
        sequence_number: seq,
        timestamp: 0x0102_0304,
        ssrc: SSRC.into(),
        ..Default::default()
    }
}

/// str0m's `SrtpContext` GCM path as it runs inside str0m (`src/rtp/srtp.rs`), rebuilt on
/// str0m's public crypto provider (str0m-aws-lc-rs): protect allocates the output `Vec`,
/// seals into it through the provider and copies the header; unprotect decrypts through the
/// provider into a reused scratch buffer. str0m computes the extended sequence number
/// (ROC) and replay checks in its stream layer, which is not counted here.
struct Str0mGcm {
    enc: Box<dyn str0m::crypto::AeadAes128GcmCipher>,
    dec: Box<dyn str0m::crypto::AeadAes128GcmCipher>,
    salt: [u8; 12],
    rx_scratch: Vec<u8>,
}

impl Str0mGcm {
    fn new() -> Self {
        let provider = str0m::crypto::from_feature_flags();
        let gcm = provider.srtp_provider.aead_aes_128_gcm();
        let (key, salt) = session_keys();
        Str0mGcm {
            enc: gcm.create_cipher(key, true),
            dec: gcm.create_cipher(key, false),
            salt,
            rx_scratch: Vec::new(),
        }
    }

    fn protect(&mut self, buf: &[u8], hlen: usize, ssrc: u32, index: u64) -> Vec<u8> {
        let iv = gcm_iv(&self.salt, ssrc, index);
        let aad = &buf[..hlen];
        let input = &buf[hlen..];
        let mut output = vec![0_u8; buf.len() + TAG_LEN];
        self.enc
            .encrypt(&iv, aad, input, &mut output[hlen..])
            .expect("rtp encrypt");
        output[..hlen].copy_from_slice(aad);
        output
    }

    fn unprotect(&mut self, buf: &[u8], hlen: usize, ssrc: u32, index: u64) -> Option<&[u8]> {
        if buf.len() < hlen + TAG_LEN {
            return None;
        }
        let iv = gcm_iv(&self.salt, ssrc, index);
        let (aad, input) = buf.split_at(hlen);
        let out_len = input.len() - TAG_LEN;
        self.rx_scratch.resize(out_len, 0);
        self.dec
            .decrypt(&iv, &[aad], input, &mut self.rx_scratch)
            .ok()?;
        Some(&self.rx_scratch[..out_len])
    }
}

fn str0m_case() -> Case {
    let mut s = Str0mGcm::new();
    let plain = plain(0);
    let mut seq = 0u16;
    let mut index = 0u64;
    let mut pkt = plain.clone();
    Case {
        name: "str0m 0.25 SrtpContext path (aws-lc-rs)",
        run: Box::new(move || {
            timed(|_| {
                pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                seq = seq.wrapping_add(1);
                index += 1;
                let out = s.protect(&pkt, HEADER_LEN, SSRC, index);
                let p = s.unprotect(&out, HEADER_LEN, SSRC, index).unwrap();
                black_box(p.len());
            })
        }),
    }
}

/// str0m's own `TestSrtp::protect` (its real `SrtpContext::protect_rtp`, plus writing the
/// header from an `RtpHeader` into a fresh 1,500-byte buffer; str0m adds an empty extension
/// block, so the packet is 1,204 bytes) followed by the provider unprotect above. With
/// `parse_header`, also str0m's own `RtpHeader` parse of the received packet, which str0m runs
/// before `SrtpContext::unprotect_rtp` (it needs the header length, SSRC and sequence number).
/// str0m's ROC and replay bookkeeping (in its stream layer) is not counted either way.
fn str0m_testsrtp_case(parse_header: bool) -> Case {
    let provider = str0m::crypto::from_feature_flags();
    let mut t = str0m::_internal_test_exports::TestSrtp::new(
        &provider,
        str0m::crypto::dtls::SrtpProfile::AEAD_AES_128_GCM,
        &str0m_keying(),
    );
    let exts = str0m::rtp::ExtensionMap::empty();
    let mut s = Str0mGcm::new();
    let payload = plain(0)[HEADER_LEN..].to_vec();
    let mut seq = 0u16;
    Case {
        name: if parse_header {
            "str0m 0.25 TestSrtp::protect + RtpHeader parse + provider unprotect"
        } else {
            "str0m 0.25 TestSrtp::protect + provider unprotect"
        },
        run: Box::new(move || {
            timed(|_| {
                seq = seq.wrapping_add(1);
                let out = t.protect(str0m_header(seq), u64::from(seq), &payload, &exts);
                let p = if parse_header {
                    let h = str0m::rtp::RtpHeader::_parse(&out, &exts).unwrap();
                    s.unprotect(&out, h.header_len, *h.ssrc, u64::from(h.sequence_number))
                } else {
                    // 16-byte header: str0m adds an empty extension block.
                    let hlen = out.len() - payload.len() - TAG_LEN;
                    s.unprotect(&out, hlen, SSRC, u64::from(seq))
                }
                .unwrap();
                black_box(p.len());
            })
        }),
    }
}

fn rtc_context(replay: bool) -> rtc_srtp::context::Context {
    let provider = rtc_crypto::default_provider().unwrap();
    rtc_srtp::context::Context::new(
        &MASTER_KEY,
        &MASTER_SALT,
        rtc_srtp::protection_profile::ProtectionProfile::AeadAes128Gcm,
        replay.then(|| rtc_srtp::option::srtp_replay_protection(128)),
        None,
        provider.crypto(),
    )
    .unwrap()
}

fn rtc_case() -> Case {
    let mut tx = rtc_context(false);
    // Receive context with replay protection, as webrtc-rs configures its remote context.
    let mut rx = rtc_context(true);
    let mut pkt = plain(0);
    let mut seq = 0u16;
    Case {
        name: "rtc-srtp 0.21 (ring)",
        run: Box::new(move || {
            timed(|_| {
                pkt[2..4].copy_from_slice(&seq.to_be_bytes());
                seq = seq.wrapping_add(1);
                let out = tx.encrypt_rtp(&pkt).unwrap();
                let p = rx.decrypt_rtp(&out).unwrap();
                black_box(p.len());
            })
        }),
    }
}

// ------------------------------------------------------------------------------ bare AEADs

/// Bare AES-128-GCM seal + open of the same bytes, in the SRTP layout: 12-byte header as
/// AAD, 1,188-byte payload encrypted in place, the tag written after it, then opened in place
/// from ciphertext ‖ tag. Includes the copy of the plaintext into the buffer that every SRTP
/// case also does.
fn bare_case(
    name: &'static str,
    mut seal: impl FnMut(&[u8; 12], &[u8], &mut [u8]) -> [u8; 16] + 'static,
    mut open: impl FnMut(&[u8; 12], &[u8], &mut [u8]) -> bool + 'static,
) -> Case {
    let (_, salt) = session_keys();
    let plain = plain(0);
    let mut buf = vec![0u8; 1300];
    let mut index = 0u64;
    Case {
        name,
        run: Box::new(move || {
            timed(|_| {
                buf[..PACKET_LEN].copy_from_slice(&plain);
                index += 1;
                let iv = gcm_iv(&salt, SSRC, index);
                let (hdr, rest) = buf[..PACKET_LEN + TAG_LEN].split_at_mut(HEADER_LEN);
                let (body, tag_dst) = rest.split_at_mut(PACKET_LEN - HEADER_LEN);
                let tag = seal(&iv, hdr, body);
                tag_dst.copy_from_slice(&tag);
                let ok = open(&iv, hdr, rest);
                assert!(ok);
                black_box(&buf);
            })
        }),
    }
}

fn ring_bare() -> Case {
    use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let (key, _) = session_keys();
    let k = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).unwrap());
    let k2 = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).unwrap());
    bare_case(
        "ring 0.17.14",
        move |iv, aad, data| {
            let t = k
                .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), data)
                .unwrap();
            t.as_ref().try_into().unwrap()
        },
        move |iv, aad, ct_tag| {
            k2.open_in_place(Nonce::assume_unique_for_key(*iv), Aad::from(aad), ct_tag)
                .is_ok()
        },
    )
}

fn aws_lc_bare() -> Case {
    use aws_lc_rs::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let (key, _) = session_keys();
    let k = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).unwrap());
    let k2 = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).unwrap());
    bare_case(
        "aws-lc-rs 1.19 (aws-lc-sys 0.47)",
        move |iv, aad, data| {
            let t = k
                .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*iv), Aad::from(aad), data)
                .unwrap();
            t.as_ref().try_into().unwrap()
        },
        move |iv, aad, ct_tag| {
            k2.open_in_place(Nonce::assume_unique_for_key(*iv), Aad::from(aad), ct_tag)
                .is_ok()
        },
    )
}

fn graviola_bare() -> Case {
    let (key, _) = session_keys();
    let k = std::rc::Rc::new(graviola::aead::AesGcm::new(&key));
    let k2 = k.clone();
    bare_case(
        "graviola 0.4.4",
        move |iv, aad, data| {
            let mut tag = [0u8; 16];
            k.encrypt(iv, aad, data, &mut tag);
            tag
        },
        move |iv, aad, ct_tag| {
            let (ct, tag) = ct_tag.split_at_mut(ct_tag.len() - TAG_LEN);
            k2.decrypt(iv, aad, ct, tag).is_ok()
        },
    )
}

fn openssl_bare() -> Case {
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;
    let (key, _) = session_keys();
    let mut e = CipherCtx::new().unwrap();
    e.encrypt_init(Some(Cipher::aes_128_gcm()), Some(&key), None)
        .unwrap();
    let mut d = CipherCtx::new().unwrap();
    d.decrypt_init(Some(Cipher::aes_128_gcm()), Some(&key), None)
        .unwrap();
    let mut out = vec![0u8; PACKET_LEN + 32];
    let mut out2 = vec![0u8; PACKET_LEN + 32];
    bare_case(
        "OpenSSL 3.0.19 (openssl crate, reused EVP contexts)",
        move |iv, aad, data| {
            e.encrypt_init(None, None, Some(iv)).unwrap();
            e.cipher_update(aad, None).unwrap();
            let n = e.cipher_update(data, Some(&mut out)).unwrap();
            e.cipher_final(&mut out[n..]).unwrap();
            data.copy_from_slice(&out[..data.len()]);
            let mut tag = [0u8; 16];
            e.tag(&mut tag).unwrap();
            tag
        },
        move |iv, aad, ct_tag| {
            let (ct, tag) = ct_tag.split_at_mut(ct_tag.len() - TAG_LEN);
            d.decrypt_init(None, None, Some(iv)).unwrap();
            d.cipher_update(aad, None).unwrap();
            let n = d.cipher_update(ct, Some(&mut out2)).unwrap();
            d.set_tag(tag).unwrap();
            let ok = d.cipher_final(&mut out2[n..]).is_ok();
            ct.copy_from_slice(&out2[..ct.len()]);
            ok
        },
    )
}

fn rustcrypto_bare() -> Case {
    use aes_gcm::{AeadInPlace, Aes128Gcm};
    let (key, _) = session_keys();
    let c = std::rc::Rc::new(Aes128Gcm::new(&key.into()));
    let c2 = c.clone();
    bare_case(
        "RustCrypto aes-gcm 0.10",
        move |iv, aad, data| {
            let t = c.encrypt_in_place_detached(iv.into(), aad, data).unwrap();
            t.into()
        },
        move |iv, aad, ct_tag| {
            let (ct, tag) = ct_tag.split_at_mut(ct_tag.len() - TAG_LEN);
            c2.decrypt_in_place_detached(iv.into(), aad, ct, (&*tag).into())
                .is_ok()
        },
    )
}

// ------------------------------------------------------------------------------ cross-check

fn cross_check(backends: &[(&str, tern_srtp::GcmBackend)]) {
    use tern_srtp::{ProtectionProfile, SessionKeys, SrtpConfig, SrtpSession};
    let p = ProtectionProfile::AeadAes128Gcm;
    let keys = SessionKeys {
        master_key: MASTER_KEY.to_vec(),
        master_salt: MASTER_SALT.to_vec(),
    };
    let session = |b| {
        SrtpSession::new(
            p,
            &keys,
            SrtpConfig {
                gcm_backend: b,
                ..SrtpConfig::default()
            },
        )
        .unwrap()
    };
    let mut rtc_tx = rtc_context(false);
    let provider = str0m::crypto::from_feature_flags();
    let mut str0m_tx = str0m::_internal_test_exports::TestSrtp::new(
        &provider,
        str0m::crypto::dtls::SrtpProfile::AEAD_AES_128_GCM,
        &str0m_keying(),
    );
    let exts = str0m::rtp::ExtensionMap::empty();
    let mut str0m_emulated = Str0mGcm::new();
    let mut txs: Vec<_> = backends.iter().map(|(_, b)| session(*b)).collect();
    let mut rxs: Vec<_> = backends.iter().map(|(_, b)| session(*b)).collect();
    let mut rtc_rx = rtc_context(false);
    let mut rx_str0m = session(tern_srtp::GcmBackend::Ring);
    for (seq, index) in [
        (1u16, 1u64),
        (2, 2),
        (3, 3),
        (1000, 1000),
        (30_000, 30_000),
        (60_000, 60_000),
        (65_535, 65_535),
        (5, 65_541), // across the wrap: ROC 1
    ] {
        let pkt = plain(seq);
        let reference = rtc_tx.encrypt_rtp(&pkt).unwrap().to_vec();
        let s = str0m_tx.protect(str0m_header(seq), index, &pkt[HEADER_LEN..], &exts);
        // str0m writes an empty one-byte-header extension block (0xBEDE, length 0), so its
        // packet is 4 bytes longer; Tern must unprotect it to str0m's plaintext.
        let mut t = s.clone();
        rx_str0m.unprotect_rtp(&mut t).unwrap();
        assert_eq!(t.len(), PACKET_LEN + 4);
        assert_eq!(&t[..2], &[0x90, 96]);
        assert_eq!(
            &t[16..],
            &pkt[HEADER_LEN..],
            "str0m TestSrtp -> tern, seq {seq}"
        );
        let e = str0m_emulated.protect(&pkt, HEADER_LEN, SSRC, index);
        assert_eq!(e, reference, "str0m provider path vs rtc-srtp, seq {seq}");
        let back = str0m_emulated
            .unprotect(&reference, HEADER_LEN, SSRC, index)
            .unwrap();
        assert_eq!(back, &pkt[HEADER_LEN..]);
        for (i, (name, _)) in backends.iter().enumerate() {
            let mut v = pkt.clone();
            txs[i].protect_rtp(&mut v).unwrap();
            assert_eq!(v, reference, "tern {name} vs rtc-srtp, seq {seq}");
            let mut w = reference.clone();
            rxs[i].unprotect_rtp(&mut w).unwrap();
            assert_eq!(w, pkt, "tern {name} unprotect, seq {seq}");
            let mut forged = reference.clone();
            let last = forged.len() - 1;
            forged[last] ^= 1;
            assert!(rxs[i].unprotect_rtp(&mut forged).is_err());
        }
        let back = rtc_rx.decrypt_rtp(&reference).unwrap();
        assert_eq!(&back[..], &pkt[..]);
    }
    println!(
        "cross-check: {} Tern backends, str0m (TestSrtp and provider path) and rtc-srtp agree \
         byte for byte on 8 packets (seq 1..65535 and across the wrap), each unprotects the reference, forgeries fail",
        backends.len()
    );
}

// ------------------------------------------------------------------------------ main

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_default();
    if arg == "profile" {
        // `profile NAME ROUNDS`: only the cases whose name contains NAME, for `perf record`.
        let name = std::env::args().nth(2).unwrap_or_default();
        let n: usize = std::env::args()
            .nth(3)
            .and_then(|a| a.parse().ok())
            .unwrap_or(2000);
        let mut cases: Vec<Case> = tern_backends()
            .into_iter()
            .map(|(n, b)| tern_case(n, b))
            .collect();
        cases.push(tern_in_place_case(
            "tern-srtp, ring, in place",
            tern_srtp::GcmBackend::Ring,
        ));
        cases.push(ring_bare());
        cases.push(str0m_case());
        cases.push(rtc_case());
        cases.retain(|c| c.name.contains(&name));
        let mut samples = vec![Vec::with_capacity(n); cases.len()];
        for _ in 0..n {
            for (c, s) in cases.iter_mut().zip(samples.iter_mut()) {
                s.push((c.run)());
            }
        }
        for (c, s) in cases.iter().zip(samples.iter_mut()) {
            println!("{}: median {:.0} ns", c.name, median(s));
        }
        return;
    }
    let rounds: usize = arg.parse().unwrap_or(200);
    let backends = tern_backends();
    cross_check(&backends);

    let mut cases: Vec<Case> = Vec::new();
    let mut tern_names = Vec::new();
    for (name, b) in &backends {
        tern_names.push(cases.len());
        cases.push(tern_case(name, *b));
    }
    tern_names.push(cases.len());
    cases.push(tern_in_place_case(
        "tern-srtp, ring, in place (no plaintext copy per packet)",
        tern_srtp::GcmBackend::Ring,
    ));
    let str0m_idx = cases.len();
    cases.push(str0m_case());
    cases.push(str0m_testsrtp_case(false));
    cases.push(str0m_testsrtp_case(true));
    let rtc_idx = cases.len();
    cases.push(rtc_case());
    let bare_start = cases.len();
    cases.push(ring_bare());
    cases.push(aws_lc_bare());
    cases.push(graviola_bare());
    cases.push(openssl_bare());
    cases.push(rustcrypto_bare());

    let load_before = loadavg();
    // Warm-up round, not recorded.
    for c in cases.iter_mut() {
        (c.run)();
    }
    let mut samples = vec![Vec::with_capacity(rounds); cases.len()];
    for r in 0..rounds {
        let n = cases.len();
        for k in 0..n {
            let i = (k + r) % n;
            let ns = (cases[i].run)();
            samples[i].push(ns);
        }
    }
    let load_after = loadavg();

    let stats: Vec<(f64, f64)> = samples
        .iter_mut()
        .map(|s| {
            let best = s.iter().cloned().fold(f64::MAX, f64::min);
            (median(s), best)
        })
        .collect();
    let peer = stats[str0m_idx].0.min(stats[rtc_idx].0);
    println!(
        "\n1,200-byte RTP, AEAD_AES_128_GCM protect + unprotect; {rounds} rounds x {PACKETS} \
         packets per case, interleaved; load average {load_before} (before), {load_after} (after)\n"
    );
    println!("| case | median ns | best ns | faster peer / case (median) |\n|---|---:|---:|---:|");
    for (i, c) in cases.iter().enumerate() {
        if i == bare_start {
            println!("| **bare AES-128-GCM seal + open, same bytes** | | | |");
        }
        let (m, b) = stats[i];
        let ratio = if i < bare_start {
            format!("{:.2}x", peer / m)
        } else {
            "-".into()
        };
        let bold = if tern_names.contains(&i) { "**" } else { "" };
        println!("| {bold}{}{bold} | {m:.0} | {b:.0} | {ratio} |", c.name);
    }
    println!(
        "\nfaster peer (median): {:.0} ns; goal for Tern (1.2x): <= {:.0} ns",
        peer,
        peer / 1.2
    );
}

fn tern_backends() -> Vec<(&'static str, tern_srtp::GcmBackend)> {
    vec![
        ("tern-srtp, ring", tern_srtp::GcmBackend::Ring),
        ("tern-srtp, RustCrypto", tern_srtp::GcmBackend::RustCrypto),
    ]
}
