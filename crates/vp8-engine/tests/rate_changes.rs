//! Runtime bitrate and frame-rate changes, as the bandwidth estimate drives them: after each
//! change the encoder settles on the new target (±20 % over the following seconds) without a
//! key frame or a restart.
#![cfg(feature = "libvpx")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_vp8_engine::{EncoderConfig, I420Image, Vp8Encoder};

const W: u32 = 320;
const H: u32 = 240;

fn source(i: u64) -> I420Image {
    let mut img = I420Image::colour_bars(W, H, i);
    let (y, _, _) = img.planes_mut();
    let mut s = 0x9e37_79b9u32 ^ (i as u32).wrapping_mul(2_654_435_761);
    for p in y.iter_mut() {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        *p = p.saturating_add((s & 31) as u8);
    }
    img
}

#[test]
fn bitrate_and_frame_rate_follow_the_target() {
    // (from second, kbps, fps)
    let phases = [
        (0u64, 800u32, 30u32),
        (4, 250, 30),
        (8, 500, 15),
        (12, 500, 15),
    ];
    let mut enc = Vp8Encoder::new(EncoderConfig::new(W, H, 800)).unwrap();
    let mut bytes_per_second = [0u64; 12];
    let mut keyframes = 0;
    let mut pts = 0u64;
    let mut frame = 0u64;
    for w in phases.windows(2) {
        let ((start, kbps, fps), (end, _, _)) = (w[0], w[1]);
        enc.set_rates(kbps, fps).unwrap();
        for k in 0..(end - start) * u64::from(fps) {
            let second = start + k / u64::from(fps);
            for f in enc.encode(&source(frame), pts).unwrap() {
                bytes_per_second[second as usize] += f.data.len() as u64;
                keyframes += usize::from(f.key_frame);
            }
            frame += 1;
            pts += 90_000 / u64::from(fps);
        }
    }
    let kbps = |from: usize, to: usize| {
        bytes_per_second[from..to].iter().sum::<u64>() as f64 * 8.0 / 1000.0 / (to - from) as f64
    };
    let measured = [kbps(1, 4), kbps(5, 8), kbps(9, 12)];
    println!("kbit/s per phase (targets 800, 250, 500 @ 15 fps): {measured:.0?}");
    assert_eq!(keyframes, 1, "rate changes must not force key frames");
    for (m, target) in measured.iter().zip([800.0, 250.0, 500.0]) {
        assert!(
            (m - target).abs() <= 0.2 * target,
            "{m:.0} kbit/s vs {target}"
        );
    }
}
