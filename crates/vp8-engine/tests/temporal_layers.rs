//! Temporal layers end to end: the L1T2/L1T3 patterns the encoder writes into the descriptor,
//! and a receiver behind an SFU that forwards only the lower layers (dropping whole frames
//! and rewriting sequence numbers so the stream has no gaps, as SFUs do): every forwarded
//! frame must be released in order and decode, without a key-frame request — the reference
//! finder works from TL0PICIDX/TID, not from PictureID continuity.
#![cfg(feature = "libvpx")]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of virtual time
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_vp8_engine::{
    EncoderConfig, I420Image, PacketizerConfig, ReceiverConfig, ReceiverEvent, TemporalInfo,
    Vp8Decoder, Vp8Encoder, Vp8Packetizer, Vp8Receiver,
};

const W: u32 = 320;
const H: u32 = 240;

fn source(i: u64) -> I420Image {
    let mut img = I420Image::colour_bars(W, H, i);
    let (y, _, _) = img.planes_mut();
    for (k, p) in y.iter_mut().enumerate() {
        *p = p.wrapping_add(((k as u64 * 7 + i * 13) % 17) as u8);
    }
    img
}

struct SentFrame {
    index: u64,
    ts: u32,
    temporal: Option<TemporalInfo>,
    non_reference: bool,
    payloads: Vec<Bytes>,
}

fn encode(layers: u8, frames: u64) -> Vec<SentFrame> {
    let mut cfg = EncoderConfig::new(W, H, 800);
    cfg.temporal_layers = layers;
    cfg.frame_dropping = false;
    let mut enc = Vp8Encoder::new(cfg).unwrap();
    let mut pk = Vp8Packetizer::new(PacketizerConfig {
        mtu: 1000,
        initial_picture_id: 32_760, // wraps
        initial_tl0_pic_idx: 250,   // wraps
        ..Default::default()
    });
    let mut out = Vec::new();
    for i in 0..frames {
        let ts = (i * 3000) as u32;
        for f in enc.encode(&source(i), u64::from(ts)).unwrap() {
            out.push(SentFrame {
                index: i,
                ts,
                temporal: f.temporal,
                non_reference: f.non_reference,
                payloads: pk.packetize(&f.to_send()).unwrap(),
            });
        }
    }
    out
}

/// Forwards the frames with TID ≤ `max_tid` with contiguous sequence numbers; returns the
/// indices decoded, checking picture quality and that no key frame was requested.
fn receive(frames: &[SentFrame], max_tid: u8) -> Vec<u64> {
    let t0 = Instant::now();
    let mut rx = Vp8Receiver::new(ReceiverConfig::default());
    let mut dec = Vp8Decoder::new(1).unwrap();
    let mut seq = 65_500u16;
    let mut decoded = Vec::new();
    for f in frames {
        let now = t0 + Duration::from_millis(f.index * 33);
        if f.temporal.is_some_and(|t| t.tid > max_tid) {
            continue;
        }
        let n = f.payloads.len();
        for (k, p) in f.payloads.iter().enumerate() {
            rx.handle_packet(now, seq, f.ts, k + 1 == n, p).unwrap();
            seq = seq.wrapping_add(1);
        }
        rx.handle_timeout(now);
        while let Some(e) = rx.poll_event() {
            match e {
                ReceiverEvent::Frame(d) => {
                    let index = u64::from(d.frame.timestamp) / 3000;
                    let img = dec.decode(&d.frame.data).unwrap().unwrap();
                    let psnr = img.psnr_y(&source(index)).unwrap();
                    assert!(psnr > 30.0, "frame {index}: PSNR-Y {psnr}");
                    decoded.push(index);
                }
                ReceiverEvent::KeyframeRequest(r) => {
                    panic!("key frame requested ({r:?}) with TID <= {max_tid}")
                }
                _ => {}
            }
        }
    }
    decoded
}

#[test]
fn l1t3_pattern_and_descriptor_fields() {
    let frames = encode(3, 24);
    let tids: Vec<u8> = frames.iter().map(|f| f.temporal.unwrap().tid).collect();
    assert_eq!(&tids[..8], &[0, 2, 1, 2, 0, 2, 1, 2]);
    for f in &frames {
        let t = f.temporal.unwrap();
        // TL2 frames are never referenced; TL0 and TL1 are.
        assert_eq!(
            f.non_reference,
            t.tid == 2 && f.index != 0,
            "frame {}",
            f.index
        );
        let p = tern_vp8_engine::Vp8Packet::parse(&f.payloads[0]).unwrap();
        assert_eq!(p.descriptor.temporal, Some(t));
        assert!(p.descriptor.tl0_pic_idx.is_some());
    }
}

#[test]
fn l1t3_receiver_behind_an_sfu_decodes_every_forwarded_layer() {
    let frames = encode(3, 90);
    let all: Vec<u64> = frames.iter().map(|f| f.index).collect();
    let by_tid = |max: u8| -> Vec<u64> {
        frames
            .iter()
            .filter(|f| f.temporal.unwrap().tid <= max)
            .map(|f| f.index)
            .collect()
    };
    assert_eq!(receive(&frames, 2), all, "all layers");
    assert_eq!(receive(&frames, 1), by_tid(1), "TL0 + TL1 (15 fps)");
    assert_eq!(receive(&frames, 0), by_tid(0), "TL0 only (7.5 fps)");
    assert_eq!(by_tid(0).len(), 23);
}

#[test]
fn l1t2_receiver_behind_an_sfu_decodes_the_base_layer() {
    let frames = encode(2, 60);
    let tids: Vec<u8> = frames.iter().map(|f| f.temporal.unwrap().tid).collect();
    assert_eq!(&tids[..4], &[0, 1, 0, 1]);
    assert_eq!(receive(&frames, 1).len(), 60);
    assert_eq!(
        receive(&frames, 0),
        (0..60).step_by(2).collect::<Vec<u64>>()
    );
}
