//! BAD_INPUT.md row 36, codec parts: decoding that starts from a P-frame, truncated and
//! bit-flipped frames fed to the decoder (libwebrtc's `vp8_replay` fuzzer idea), and an
//! encoder put through rapid resolution and bitrate changes (CVE-2023-5217 was a libvpx heap
//! overflow on a resolution change). Each must give a typed error or a correct picture —
//! never a panic, never a picture of the wrong size — and the codec must recover.
#![cfg(feature = "libvpx")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_vp8_engine::{EncoderConfig, Error, I420Image, Vp8Decoder, Vp8Encoder};

fn textured(w: u32, h: u32, i: u64) -> I420Image {
    let mut img = I420Image::colour_bars(w, h, i);
    let (y, _, _) = img.planes_mut();
    for (k, p) in y.iter_mut().enumerate() {
        *p = p.wrapping_add(((k as u64 * 7 + i * 13) % 19) as u8);
    }
    img
}

/// A key frame followed by delta frames, 320×240.
fn stream(frames: u64) -> Vec<Vec<u8>> {
    let mut enc = Vp8Encoder::new(EncoderConfig::new(320, 240, 600)).unwrap();
    let mut out = Vec::new();
    for i in 0..frames {
        for f in enc.encode(&textured(320, 240, i), i * 3000).unwrap() {
            assert_eq!(f.key_frame, out.is_empty());
            out.push(f.data);
        }
    }
    out
}

#[test]
fn bad_input_vp8_36_decoding_from_a_p_frame() {
    let frames = stream(8);
    let mut dec = Vp8Decoder::new(1).unwrap();
    // Delta frames with no key frame before them: typed errors (or nothing shown), no panic.
    for f in &frames[1..] {
        match dec.decode(f) {
            Err(Error::Codec { .. }) | Ok(None) => {}
            Ok(Some(img)) => panic!(
                "decoded a {}x{} picture from a P-frame alone",
                img.width(),
                img.height()
            ),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    // The key frame then starts the stream properly.
    let img = dec.decode(&frames[0]).unwrap().unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));
    assert!(img.psnr_y(&textured(320, 240, 0)).unwrap() > 25.0);
}

#[test]
fn bad_input_vp8_36_truncated_and_corrupted_frames_then_recovery() {
    let frames = stream(6);
    let mut dec = Vp8Decoder::new(1).unwrap();
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut errors = 0;
    for round in 0..40 {
        let f = &frames[round % frames.len()];
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let mut bad = f.clone();
        if round % 2 == 0 {
            bad.truncate((s as usize) % f.len());
        } else {
            for k in 0..4 {
                let at = (s >> (k * 16)) as usize % bad.len();
                bad[at] ^= 1 << (k * 3 % 8);
            }
        }
        match dec.decode(&bad) {
            Ok(Some(img)) => assert_eq!((img.width(), img.height()), (320, 240)),
            Ok(None) => {}
            // The header check catches truncation before libvpx; libvpx the rest.
            Err(
                Error::Codec { .. }
                | Error::TruncatedPayloadHeader { .. }
                | Error::PartitionSizeExceedsFrame { .. }
                | Error::InvalidStartCode { .. }
                | Error::FrameTooLarge { .. },
            ) => errors += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert!(errors > 0, "40 damaged frames and libvpx noticed none?");
    // An intact key frame resynchronises the decoder.
    let img = dec.decode(&frames[0]).unwrap().unwrap();
    assert!(img.psnr_y(&textured(320, 240, 0)).unwrap() > 25.0);
    // Garbage, empty and oversized-header inputs.
    assert!(matches!(dec.decode(&[]), Err(_) | Ok(None)));
    assert!(dec.decode(&[0xff; 64]).is_err());
}

#[test]
fn bad_input_vp8_36_encoder_rapid_resolution_and_bitrate_changes() {
    let sizes = [
        (320u32, 240u32),
        (2, 2),
        (641, 479),
        (1280, 720),
        (1, 1),
        (176, 144),
        (97, 13),
        (320, 240),
    ];
    let rates = [
        (1u32, 30u32),
        (100_000, 60),
        (300, 1),
        (50, 120),
        (2_000, 30),
    ];
    let mut enc = Vp8Encoder::new(EncoderConfig::new(320, 240, 500)).unwrap();
    let mut dec = Vp8Decoder::new(1).unwrap();
    let mut pts = 0u64;
    let mut decoded = 0;
    for round in 0..48usize {
        let (w, h) = sizes[round % sizes.len()];
        let (kbps, fps) = rates[round % rates.len()];
        enc.set_rates(kbps, fps).unwrap();
        // Two frames per size: the switch (a key frame) and one delta.
        for k in 0..2 {
            pts += 3000;
            let img = textured(w, h, (round * 2 + k) as u64);
            for f in enc.encode(&img, pts).unwrap() {
                if let Some(out) = dec.decode(&f.data).unwrap() {
                    assert_eq!((out.width(), out.height()), (w, h), "round {round}");
                    decoded += 1;
                }
            }
        }
        assert_eq!(enc.config().width, w);
    }
    assert!(decoded >= 48, "only {decoded} pictures decoded");
    // Out-of-range requests are typed errors and leave the encoder usable.
    assert!(matches!(
        enc.set_rates(0, 30),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        enc.set_rates(500, 0),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        enc.encode(&I420Image::black(16384, 2), pts + 3000),
        Err(Error::InvalidConfig { .. })
    ));
    let mut after = 0;
    for k in 0..5u64 {
        for f in enc
            .encode(&textured(320, 240, k), pts + 6000 + k * 3000)
            .unwrap()
        {
            let out = dec.decode(&f.data).unwrap().unwrap();
            assert_eq!((out.width(), out.height()), (320, 240));
            after += 1;
        }
    }
    assert!(
        after > 0,
        "the encoder produced nothing after the refused requests"
    );
}

#[test]
fn bad_input_vp8_36_huge_key_frame_dimensions_are_refused_before_libvpx() {
    // A 16383×16383 key frame header: libvpx would allocate ~400 MB of frame buffers.
    let mut frame = tern_vp8_engine::wire::header::emit_header(20, Some((16383, 16383)));
    frame.extend_from_slice(&[0u8; 64]);
    let mut dec = Vp8Decoder::new(1).unwrap();
    assert!(matches!(
        dec.decode(&frame),
        Err(Error::FrameTooLarge {
            width: 16383,
            height: 16383,
            ..
        })
    ));
    // A small limit applies to honest streams too, and the decoder stays usable.
    let frames = stream(2);
    let mut small = Vp8Decoder::with_max_pixels(1, 160 * 120).unwrap();
    assert!(matches!(
        small.decode(&frames[0]),
        Err(Error::FrameTooLarge { .. })
    ));
    let img = dec.decode(&frames[0]).unwrap().unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));
}
