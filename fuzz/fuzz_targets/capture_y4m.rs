#![no_main]
//! Y4M reader: stream header tokens, FRAME markers, frame bodies; then I420 → YUYV/NV12
//! reinterpretation through the converter.
use libfuzzer_sys::fuzz_target;
use tern_capture::convert::to_i420;
use tern_capture::{PixelFormat, VideoFrame, VideoSource, Y4mReader};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = Y4mReader::new(data) {
        while let Ok(Some(f)) = r.read_frame() {
            for format in [PixelFormat::Nv12, PixelFormat::Yuyv] {
                let g = VideoFrame { format, ..f.clone() };
                let _ = to_i420(&g);
            }
        }
    }
});
