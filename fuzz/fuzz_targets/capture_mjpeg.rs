#![no_main]
//! MJPEG → I420: JPEG header and size check, entropy decoding (with and without Huffman
//! tables), chroma downsampling. The first two bytes pick the frame size the camera claims.
use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tern_capture::convert::to_i420;
use tern_capture::{PixelFormat, VideoFrame};

fuzz_target!(|data: &[u8]| {
    let (w, h, jpeg) = match data {
        [a, b, rest @ ..] => (u32::from(*a % 128) + 1, u32::from(*b % 128) + 1, rest),
        _ => return,
    };
    if let Ok(f) = VideoFrame::new(PixelFormat::Mjpeg, w, h, Duration::ZERO, jpeg.to_vec()) {
        let _ = to_i420(&f);
    }
});
