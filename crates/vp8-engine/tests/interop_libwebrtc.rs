//! Differential check of the RFC 7741 payload descriptor against libwebrtc's VP8 packetizer
//! and depacketizer (Debian `libtgowt-dev`, a 2023 libwebrtc), through the small C++ harness
//! in `compare/libwebrtc_vp8.cc` (built by `compare/build.sh`; needs g++ and libtgowt-dev).
//!
//! The same frames — real libvpx output with token partitions and temporal layers, and
//! synthetic frames at the packet-size edges — are packetized by both, and every packet of
//! each side is parsed by both depacketizers. Descriptors must agree byte for byte apart from
//! the S/PID bits (libwebrtc does not split at partitions; Tern does), both must reassemble
//! the frame within the MTU, and both parsers must read the same fields from every packet,
//! and accept or reject the same arbitrary payloads except where RFC 7741 says otherwise.
//!
//! `cargo test -p tern-vp8-engine --test interop_libwebrtc -- --ignored --nocapture`
#![cfg(feature = "libvpx")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use tern_vp8_engine::wire::header::emit_header;
use tern_vp8_engine::{
    EncoderConfig, Error, FrameToSend, I420Image, PacketizerConfig, PictureId, PictureIdMode,
    TemporalInfo, Vp8Encoder, Vp8Packet, Vp8Packetizer,
};

/// `$TERN_LIBWEBRTC_VP8`, or the harness built once per test process by `compare/build.sh`
/// (the tests run in parallel threads: one builds, the others wait for it).
fn harness_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("TERN_LIBWEBRTC_VP8").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libwebrtc-vp8");
        let bin = out.join("libwebrtc_vp8");
        if !bin.exists() {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/compare/build.sh");
            let st = Command::new("sh").arg(script).arg(&out).status().unwrap();
            assert!(st.success(), "compare/build.sh failed (g++, libtgowt-dev?)");
        }
        bin
    })
    .clone()
}

/// Kills the harness (by its PID, through `Child::kill`) however the test ends.
struct Harness {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Harness {
    fn start() -> Self {
        let bin = harness_binary();
        let mut child = Command::new(&bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn ask(&mut self, request: &str) -> String {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{request}").unwrap();
        stdin.flush().unwrap();
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .expect("libwebrtc harness did not answer within 30 s")
    }

    fn packetize(&mut self, frame: &[u8], mtu: usize, info: &Info) -> Vec<Vec<u8>> {
        let opt = |v: Option<i32>| v.unwrap_or(-1);
        let line = self.ask(&format!(
            "P {mtu} {} {} {} {} {} {} {}",
            opt(info.picture_id.map(i32::from)),
            opt(info.tl0.map(i32::from)),
            opt(info.temporal.map(|t| i32::from(t.tid))),
            i32::from(info.temporal.is_some_and(|t| t.layer_sync)),
            opt(info.key_idx.map(i32::from)),
            i32::from(info.non_reference),
            hex::encode(frame)
        ));
        let mut parts = line.split(' ');
        assert_eq!(parts.next(), Some("P"), "{line}");
        parts.map(|p| hex::decode(p).unwrap()).collect()
    }

    /// libwebrtc's reading of one RTP payload, in [`Fields`] form.
    fn depacketize(&mut self, payload: &[u8]) -> Option<Fields> {
        let line = self.ask(&format!("D {}", hex::encode(payload)));
        let v: Vec<&str> = line.split(' ').collect();
        assert_eq!(v[0], "D", "{line}");
        if v[1] == "ERR" {
            return None;
        }
        let n: Vec<i32> = v[1..].iter().map(|s| s.parse().unwrap()).collect();
        Some(Fields {
            offset: n[0] as usize,
            first_in_frame: n[1] == 1,
            key: n[2] == 1,
            size: (n[3] >= 0).then(|| (n[3] as u16, n[4] as u16)),
            non_reference: n[5] == 1,
            picture_id: (n[6] >= 0).then_some(n[6] as u16),
            tl0: (n[7] >= 0).then_some(n[7] as u8),
            temporal: (n[8] >= 0).then(|| (n[8] as u8, n[9] == 1)),
            key_idx: (n[10] >= 0).then_some(n[10] as u8),
            partition: n[11] as u8,
            start_of_partition: n[12] == 1,
        })
    }
}

/// What the sender puts in the descriptor (libwebrtc's `RTPVideoHeaderVP8`).
#[derive(Debug, Clone, Copy, Default)]
struct Info {
    picture_id: Option<u16>,
    tl0: Option<u8>,
    temporal: Option<TemporalInfo>,
    key_idx: Option<u8>,
    non_reference: bool,
}

/// What a depacketizer reads from one payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fields {
    offset: usize,
    first_in_frame: bool,
    key: bool,
    size: Option<(u16, u16)>,
    non_reference: bool,
    picture_id: Option<u16>,
    tl0: Option<u8>,
    temporal: Option<(u8, bool)>,
    key_idx: Option<u8>,
    partition: u8,
    start_of_partition: bool,
}

fn tern_fields(payload: &[u8]) -> Option<Fields> {
    let p = Vp8Packet::parse(payload).ok()?;
    let d = p.descriptor;
    let key = p.is_key_frame();
    Some(Fields {
        offset: payload.len() - p.payload.len(),
        first_in_frame: d.is_frame_start(),
        key,
        size: p
            .header
            .and_then(|h| h.key_frame)
            .map(|k| (k.width, k.height)),
        non_reference: d.non_reference,
        picture_id: d.picture_id.map(PictureId::value),
        tl0: d.tl0_pic_idx,
        temporal: d.temporal.map(|t| (t.tid, t.layer_sync)),
        key_idx: d.key_idx,
        partition: d.partition_index,
        start_of_partition: d.start_of_partition,
    })
}

fn tern_packetize(frame: &[u8], partitions: &[usize], mtu: usize, info: &Info) -> Vec<Vec<u8>> {
    let mut p = Vp8Packetizer::new(PacketizerConfig {
        mtu,
        picture_id: if info.picture_id.is_some() {
            PictureIdMode::Long
        } else {
            PictureIdMode::None
        },
        initial_picture_id: info.picture_id.unwrap_or(0),
        initial_tl0_pic_idx: info.tl0.unwrap_or(0),
    });
    let payloads = p
        .packetize(&FrameToSend {
            data: frame,
            partitions,
            non_reference: info.non_reference,
            temporal: info.temporal,
            key_idx: info.key_idx,
        })
        .unwrap();
    // Tern writes TL0PICIDX whenever temporal info is present; libwebrtc whenever it is
    // given one. Same inputs are used on both sides below.
    payloads.into_iter().map(|b| b.to_vec()).collect()
}

/// Real frames: 640×480 bars with texture, three token partitions, L1T3 temporal layers.
type EncodedCase = (Vec<u8>, Vec<usize>, Option<TemporalInfo>, bool);

fn encoded_frames() -> Vec<EncodedCase> {
    let mut cfg = EncoderConfig::new(640, 480, 1500);
    cfg.token_partitions = 2;
    cfg.temporal_layers = 3;
    let mut enc = Vp8Encoder::new(cfg).unwrap();
    let mut out = Vec::new();
    for i in 0..12u64 {
        let mut img = I420Image::colour_bars(640, 480, i);
        let (y, _, _) = img.planes_mut();
        for (k, p) in y.iter_mut().enumerate() {
            *p = p.wrapping_add(((k as u64 * 7 + i * 13) % 23) as u8);
        }
        for f in enc.encode(&img, i * 3000).unwrap() {
            out.push((f.data, f.partitions, f.temporal, f.non_reference));
        }
    }
    out
}

fn synthetic_frames() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (len, key) in [
        (3, false),
        (10, true),
        (100, true),
        (1189, false),
        (1190, true),
        (2400, false),
        (12_345, true),
    ] {
        let mut f = emit_header((len as u32 / 3).min(0x7_ffff), key.then_some((640, 360)));
        f.resize(len.max(f.len()), 0);
        for (i, b) in f.iter_mut().enumerate().skip(10) {
            *b = (i * 31 % 256) as u8;
        }
        out.push(f);
    }
    out
}

fn reassemble(packets: &[Vec<u8>], mut read: impl FnMut(&[u8]) -> Option<Fields>) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        let f = read(p).expect("a packet its own side produced must parse");
        out.extend_from_slice(&p[f.offset..]);
    }
    out
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn interop_libwebrtc_vp8_packetizer_and_depacketizer_agree() {
    let mut h = Harness::start();
    let infos = [
        Info::default(),
        Info {
            picture_id: Some(0x1234),
            ..Info::default()
        },
        Info {
            picture_id: Some(0x7fff),
            tl0: Some(255),
            temporal: Some(TemporalInfo {
                tid: 2,
                layer_sync: true,
            }),
            ..Info::default()
        },
        Info {
            picture_id: Some(5),
            key_idx: Some(17),
            non_reference: true,
            ..Info::default()
        },
        Info {
            picture_id: Some(300),
            tl0: Some(9),
            temporal: Some(TemporalInfo {
                tid: 1,
                layer_sync: false,
            }),
            key_idx: Some(31),
            non_reference: true,
        },
    ];
    let mut cases: Vec<(Vec<u8>, Vec<usize>, Info)> = Vec::new();
    for (n, (data, partitions, temporal, non_reference)) in encoded_frames().into_iter().enumerate()
    {
        let info = Info {
            picture_id: Some((0x7ff0 + n as u16) & 0x7fff), // crosses the 15-bit wrap
            tl0: temporal.map(|_| 200),
            temporal,
            key_idx: None,
            non_reference,
        };
        cases.push((data, partitions, info));
    }
    for f in synthetic_frames() {
        for info in infos {
            cases.push((f.clone(), Vec::new(), info));
        }
    }
    let (mut ours_total, mut theirs_total, mut checked) = (0usize, 0usize, 0usize);
    for (data, partitions, info) in &cases {
        for mtu in [60usize, 300, 1200] {
            let ours = tern_packetize(data, partitions, mtu, info);
            let theirs = h.packetize(data, mtu, info);
            assert!(!theirs.is_empty(), "libwebrtc produced nothing");
            ours_total += ours.len();
            theirs_total += theirs.len();
            // Both within the MTU, both reassemble the frame (each read by both parsers).
            for p in ours.iter().chain(&theirs) {
                assert!(p.len() <= mtu, "{} > {mtu}", p.len());
            }
            assert_eq!(&reassemble(&ours, tern_fields), data);
            assert_eq!(&reassemble(&theirs, tern_fields), data);
            assert_eq!(&reassemble(&ours, |p| h.depacketize(p)), data);
            assert_eq!(&reassemble(&theirs, |p| h.depacketize(p)), data);
            // Descriptors: first packets byte for byte; later ones apart from S and PID.
            let desc_len = tern_fields(&theirs[0]).unwrap().offset;
            assert_eq!(
                ours[0][..desc_len],
                theirs[0][..desc_len],
                "first descriptor, {info:?} mtu {mtu}"
            );
            for p in ours.iter().chain(&theirs).skip(1) {
                assert_eq!(p[0] & 0xe0, theirs[0][0] & 0xe0, "X/R/N bits");
                assert_eq!(p[1..desc_len], theirs[0][1..desc_len], "extension bytes");
            }
            // Every packet, whoever made it, reads the same in both parsers.
            for p in ours.iter().chain(&theirs) {
                assert_eq!(
                    h.depacketize(p),
                    tern_fields(p),
                    "packet {} ({info:?})",
                    hex::encode(&p[..p.len().min(16)])
                );
                checked += 1;
            }
        }
    }
    println!(
        "{} frames × 3 MTUs: Tern {ours_total} packets, libwebrtc {theirs_total}; {checked} packets read identically by both depacketizers",
        cases.len()
    );
}

/// Arbitrary payloads (descriptor flag combinations, truncations, key-frame headers with bad
/// start codes or sizes): both parsers must accept or reject alike and read the same fields.
/// Known, deliberate differences are counted and must be exactly these:
/// * PID: RFC 7741 §4.2 gives it 3 bits after a reserved bit that receivers MUST ignore;
///   libwebrtc reads 4 bits, so with the reserved bit set it sees PID + 8 (and no frame start).
/// * A key frame without the RFC 6386 §9.1 start code (9d 01 2a): libwebrtc takes its
///   "dimensions" from whatever bytes are there; Tern rejects the packet.
/// * A first packet (S = 1, PID = 0) holding fewer than the 3 bytes of the RFC 7741 §4.3
///   payload header: libwebrtc accepts it for delta frames; Tern requires the whole header.
#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn interop_libwebrtc_vp8_depacketizer_differential_on_arbitrary_payloads() {
    let mut h = Harness::start();
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let key = emit_header(1000, Some((1280, 720)));
    let (mut agreed, mut reserved_bit, mut rejected_by_both) = (0, 0, 0);
    let (mut no_start_code, mut short_header) = (0, 0);
    let mut differences = Vec::new();
    for n in 0..3000 {
        let r = next();
        let mut p = Vec::new();
        // Descriptor: random flags, extension bytes biased towards "present".
        p.push(r as u8);
        p.push((r >> 8) as u8 | if n % 3 == 0 { 0xf0 } else { 0 });
        for i in 0..((r >> 16) % 5) {
            p.push((r >> (24 + 8 * i)) as u8);
        }
        // Payload: nothing, garbage, or a key-frame header (sometimes damaged or truncated).
        match (r >> 60) % 4 {
            0 => {}
            1 => p.extend((0..(r >> 40) % 12).map(|i| (i * 37) as u8)),
            2 => p.extend_from_slice(&key[..(r >> 40) as usize % (key.len() + 1)]),
            _ => {
                let mut k = key.clone();
                k[3 + (r >> 40) as usize % 7] ^= 1 << ((r >> 50) % 8);
                p.extend_from_slice(&k);
            }
        }
        let theirs = h.depacketize(&p);
        let ours = tern_fields(&p);
        match (theirs, ours) {
            (None, None) => rejected_by_both += 1,
            (Some(a), Some(b)) if a == b => agreed += 1,
            (a, b) if p[0] & 0x08 != 0 => {
                // The reserved bit: libwebrtc's PID is ours + 8. Everything else agrees once
                // that is accounted for; with PID ≥ 8 libwebrtc also sees no frame start, so
                // it skips the payload header that Tern checks.
                if let (Some(a), Some(b)) = (a, b) {
                    assert_eq!(a.partition, b.partition + 8, "{}", hex::encode(&p));
                }
                reserved_bit += 1;
            }
            (Some(a), None) => match Vp8Packet::parse(&p) {
                Err(Error::InvalidStartCode { .. }) if a.key => no_start_code += 1,
                Err(Error::TruncatedPayloadHeader { needed: 3, .. }) if !a.key => {
                    short_header += 1;
                }
                other => differences.push(format!(
                    "{}: libwebrtc {a:?}, tern {other:?}",
                    hex::encode(&p)
                )),
            },
            (a, b) => differences.push(format!("{}: libwebrtc {a:?}, tern {b:?}", hex::encode(&p))),
        }
    }
    println!(
        "3000 payloads: {agreed} read identically, {rejected_by_both} rejected by both; only Tern rejects {no_start_code} key frames without a start code and {short_header} first packets shorter than the payload header; {reserved_bit} differ by the reserved bit; {} other differences",
        differences.len()
    );
    assert!(
        differences.is_empty(),
        "unexplained differences:\n{}",
        differences.join("\n")
    );
}
