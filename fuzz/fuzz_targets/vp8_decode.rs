#![no_main]
//! libvpx's VP8 decoder behind Tern's safe wrapper, fed a stream of frames: each record is a
//! 2-byte little-endian length and that many bytes. The wrapper must return typed errors,
//! never panic, and never hand out a picture larger than its pixel limit.
use libfuzzer_sys::fuzz_target;
use tern_vp8_engine::Vp8Decoder;

const MAX_PIXELS: u32 = 640 * 480;

fuzz_target!(|data: &[u8]| {
    let Ok(mut dec) = Vp8Decoder::with_max_pixels(1, MAX_PIXELS) else {
        return;
    };
    let mut rest = data;
    while let [l0, l1, tail @ ..] = rest {
        let n = usize::from(u16::from_le_bytes([*l0, *l1])).min(tail.len());
        let (frame, next) = tail.split_at(n);
        if let Ok(Some(img)) = dec.decode(frame) {
            assert!(img.width() * img.height() <= MAX_PIXELS);
        }
        rest = next;
    }
});
