//! Capture sources into the engine: a Y4M file (written from the synthetic colour bars and
//! read back) and YUYV camera-style frames, converted to I420, encoded, packetized,
//! reassembled and decoded. The frame counter drawn into each source frame is read back from
//! the decoded picture, so every decoded frame is shown to be the frame that was captured.
#![cfg(feature = "libvpx")]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of virtual time
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use tern_capture::convert::to_i420;
use tern_capture::{
    ColourBarsSource, PixelFormat, VideoFrame, VideoSink, VideoSource, Y4mReader, Y4mWriter,
};
use tern_vp8_engine::{
    EncoderConfig, I420Image, PacketizerConfig, ReceiverConfig, ReceiverEvent, Vp8Decoder,
    Vp8Encoder, Vp8Packetizer, Vp8Receiver,
};

const W: u32 = 320;
const H: u32 = 240;

/// I420 → YUYV, as a camera would deliver the same picture.
fn to_yuyv(f: &VideoFrame) -> VideoFrame {
    let (w, h) = (f.width as usize, f.height as usize);
    let (y, uv) = f.data.split_at(w * h);
    let (u, v) = uv.split_at(w * h / 4);
    let mut out = Vec::with_capacity(w * h * 2);
    for row in 0..h {
        for cx in 0..w / 2 {
            let c = (row / 2) * (w / 2) + cx;
            out.extend([y[row * w + 2 * cx], u[c], y[row * w + 2 * cx + 1], v[c]]);
        }
    }
    VideoFrame::new(PixelFormat::Yuyv, f.width, f.height, f.timestamp, out).unwrap()
}

/// Sends `frames` through the engine; returns the counters read from the decoded pictures.
fn through_engine(frames: impl Iterator<Item = VideoFrame>) -> Vec<u16> {
    let t0 = Instant::now();
    let mut enc = Vp8Encoder::new(EncoderConfig::new(W, H, 1200)).unwrap();
    let mut pk = Vp8Packetizer::new(PacketizerConfig::default());
    let mut rx = Vp8Receiver::new(ReceiverConfig::default());
    let mut dec = Vp8Decoder::new(1).unwrap();
    let mut seq = 0u16;
    let mut counters = Vec::new();
    for (i, frame) in frames.enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 33);
        let i420 = to_i420(&frame).unwrap();
        let image = I420Image::from_vec(i420.width, i420.height, i420.data).unwrap();
        let pts = frame.timestamp.as_micros() as u64 * 9 / 100;
        for f in enc.encode(&image, pts).unwrap() {
            let payloads = pk.packetize(&f.to_send()).unwrap();
            let n = payloads.len();
            for (k, p) in payloads.iter().enumerate() {
                rx.handle_packet(now, seq, pts as u32, k + 1 == n, p)
                    .unwrap();
                seq = seq.wrapping_add(1);
            }
        }
        while let Some(e) = rx.poll_event() {
            if let ReceiverEvent::Frame(d) = e {
                let img = dec.decode(&d.frame.data).unwrap().unwrap();
                let out = VideoFrame::new(
                    PixelFormat::I420,
                    img.width(),
                    img.height(),
                    Duration::ZERO,
                    img.as_bytes().to_vec(),
                )
                .unwrap();
                counters.push(ColourBarsSource::read_counter(&out).unwrap());
            }
        }
    }
    counters
}

#[test]
fn y4m_file_through_the_engine_keeps_every_frame() {
    let mut bars = ColourBarsSource::new(W, H, 30.0).unwrap().with_length(60);
    let mut file = Y4mWriter::new(Vec::new(), W, H, 30.0).unwrap();
    while let Some(f) = bars.read_frame().unwrap() {
        file.write_frame(&f).unwrap();
    }
    let bytes = file.into_inner();
    let mut reader = Y4mReader::new(&bytes[..]).unwrap();
    let frames = std::iter::from_fn(move || reader.read_frame().unwrap());
    assert_eq!(through_engine(frames), (0..60).collect::<Vec<u16>>());
}

#[test]
fn yuyv_camera_frames_through_the_engine_keep_every_frame() {
    let mut bars = ColourBarsSource::new(W, H, 30.0).unwrap().with_length(45);
    let frames = std::iter::from_fn(move || bars.read_frame().unwrap()).map(|f| to_yuyv(&f));
    assert_eq!(through_engine(frames), (0..45).collect::<Vec<u16>>());
}
