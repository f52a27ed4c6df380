#![no_main]
//! WAV reader: RIFF chunk walk, fmt parsing, sample blocks to the end of the data.
use libfuzzer_sys::fuzz_target;
use tern_capture::{AudioSource, WavReader};

fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = WavReader::new(data) {
        while let Ok(Some(_)) = r.read_frame() {}
    }
});
