//! Encode → packetize (MTU 1200) → lossy, reordering channel → depacketize → assemble →
//! decode, on virtual time, with PLI feedback to the encoder.
#![cfg(feature = "libvpx")]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of virtual time
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tern_netsim::{End, LinkConfig, Loss, LossyPipe};
use tern_vp8_engine::{
    EncoderConfig, I420Image, PacketizerConfig, ReceiverConfig, ReceiverEvent, Vp8Decoder,
    Vp8Encoder, Vp8Packetizer, Vp8Receiver,
};

const W: u32 = 320;
const H: u32 = 240;
const FPS: u64 = 30;

/// Moving colour bars with a frame counter plus deterministic texture, so the rate control
/// has something to spend bits on.
fn source(i: u64) -> I420Image {
    let mut img = I420Image::colour_bars(W, H, i);
    let (y, _, _) = img.planes_mut();
    let mut s = 0x9e37_79b9u32 ^ (i as u32).wrapping_mul(2_654_435_761);
    for (k, p) in y.iter_mut().enumerate() {
        if (k / W as usize).is_multiple_of(2) {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            *p = p.saturating_add((s & 15) as u8);
        }
    }
    img
}

/// Our stand-in for RTP: sequence number, timestamp, marker, payload.
fn rtp(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(7 + payload.len());
    b.put_u16(seq);
    b.put_u32(ts);
    b.put_u8(u8::from(marker));
    b.put_slice(payload);
    b.freeze()
}

struct Outcome {
    sent_frames: u64,
    decoded: Vec<(u64, f64)>,
    keyframes_sent: u64,
    plis: u64,
    bytes: u64,
    last_decoded_index: u64,
}

fn run(link: LinkConfig, seconds: u64, kbps: u32) -> Outcome {
    let t0 = Instant::now();
    let mut pipe: LossyPipe<Bytes> = LossyPipe::new(7, t0, link);
    let mut enc = Vp8Encoder::new(EncoderConfig::new(W, H, kbps)).unwrap();
    let mut pk = Vp8Packetizer::new(PacketizerConfig {
        mtu: 1200,
        initial_picture_id: 32_700, // wraps during the run
        ..Default::default()
    });
    let mut rx = Vp8Receiver::new(ReceiverConfig::default());
    let mut dec = Vp8Decoder::new(1).unwrap();
    let mut seq = 65_000u16;
    let mut out = Outcome {
        sent_frames: 0,
        decoded: Vec::new(),
        keyframes_sent: 0,
        plis: 0,
        bytes: 0,
        last_decoded_index: 0,
    };
    let mut last_id: Option<i64> = None;
    for ms in 0..seconds * 1000 {
        let now = t0 + Duration::from_millis(ms);
        if ms * FPS / 1000 >= out.sent_frames {
            let i = out.sent_frames;
            out.sent_frames += 1;
            let ts = (i * 90_000 / FPS) as u32;
            for f in enc.encode(&source(i), u64::from(ts)).unwrap() {
                out.bytes += f.data.len() as u64;
                out.keyframes_sent += u64::from(f.key_frame);
                let payloads = pk.packetize(&f.to_send()).unwrap();
                let n = payloads.len();
                for (k, p) in payloads.iter().enumerate() {
                    assert!(p.len() <= 1200);
                    pipe.send(now, End::A, rtp(seq, ts, k + 1 == n, p));
                    seq = seq.wrapping_add(1);
                }
            }
        }
        pipe.handle_timeout(now);
        while let Some(d) = pipe.poll_receive(End::B) {
            let seq = u16::from_be_bytes([d[0], d[1]]);
            let ts = u32::from_be_bytes([d[2], d[3], d[4], d[5]]);
            rx.handle_packet(now, seq, ts, d[6] == 1, &d[7..]).unwrap();
        }
        if rx.poll_timeout().is_some_and(|t| t <= now) {
            rx.handle_timeout(now);
        }
        while let Some(e) = rx.poll_event() {
            match e {
                ReceiverEvent::Frame(f) => {
                    // No decode across a gap: a delta frame follows its predecessor.
                    if !f.frame.is_key_frame() {
                        assert_eq!(Some(f.id - 1), last_id, "delta frame across a gap");
                    }
                    last_id = Some(f.id);
                    let index = u64::from(f.frame.timestamp) * FPS / 90_000;
                    match dec.decode(&f.frame.data) {
                        Ok(Some(img)) => {
                            let psnr = img.psnr_y(&source(index)).unwrap();
                            out.decoded.push((index, psnr));
                            out.last_decoded_index = index;
                        }
                        Ok(None) => {}
                        Err(_) => rx.handle_decoder_error(now),
                    }
                }
                ReceiverEvent::KeyframeRequest(_) => {
                    out.plis += 1;
                    pipe.send(now, End::B, Bytes::from_static(b"PLI"));
                }
                _ => {}
            }
        }
        while pipe.poll_receive(End::A).is_some() {
            enc.request_keyframe();
        }
    }
    out
}

#[test]
fn lossy_reordering_channel_recovers_with_pli() {
    let link = LinkConfig {
        loss: Loss::Uniform(0.02),
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(8),
        reorder: 0.05,
        ..LinkConfig::default()
    };
    let o = run(link, 10, 600);
    let psnr: Vec<f64> = o.decoded.iter().map(|d| d.1).collect();
    let mean = psnr.iter().sum::<f64>() / psnr.len() as f64;
    let min = psnr.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "sent {} decoded {} keyframes {} plis {} mean PSNR-Y {mean:.1} dB min {min:.1} dB",
        o.sent_frames,
        o.decoded.len(),
        o.keyframes_sent,
        o.plis,
    );
    // Losses happened, were noticed, and key frames answered them.
    assert!(o.plis >= 1);
    assert!(o.keyframes_sent >= 2);
    // Most frames decode, every decoded one looks right, and the stream is live at the end.
    assert!(o.decoded.len() as u64 > o.sent_frames / 2);
    assert!(mean > 32.0, "mean PSNR-Y {mean}");
    assert!(min > 28.0, "min PSNR-Y {min}");
    assert!(o.last_decoded_index + 15 >= o.sent_frames);
}

#[test]
fn clean_channel_decodes_everything_and_holds_the_bitrate() {
    let kbps = 500;
    let o = run(LinkConfig::with_delay(Duration::from_millis(20)), 10, kbps);
    let rate = o.bytes as f64 * 8.0 / 10.0 / 1000.0;
    println!(
        "sent {} decoded {} bitrate {rate:.0} kbps (target {kbps})",
        o.sent_frames,
        o.decoded.len()
    );
    assert_eq!(o.plis, 0);
    assert_eq!(o.keyframes_sent, 1);
    assert!(o.decoded.len() as u64 + 2 >= o.sent_frames);
    assert!(
        (rate - f64::from(kbps)).abs() <= 0.15 * f64::from(kbps),
        "bitrate {rate} kbps vs target {kbps}"
    );
}
