//! Per-frame costs on the capture path: synthetic frame generation and YUYV/NV12/MJPEG → I420.
//!
//! `cargo bench -p tern-capture --bench capture`
#![allow(missing_docs)] // criterion_main! generates an undocumented `main`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tern_capture::convert::to_i420;
use tern_capture::{ColourBarsSource, PixelFormat, VideoFrame, VideoSource};

fn capture(c: &mut Criterion) {
    for (w, h) in [(640u32, 480u32), (1280, 720)] {
        let mut g = c.benchmark_group(format!("capture_{w}x{h}"));
        g.throughput(Throughput::Elements(1));
        let mut bars = ColourBarsSource::new(w, h, 30.0).unwrap();
        g.bench_function("colour_bars_frame", |b| {
            b.iter(|| black_box(bars.read_frame().unwrap().unwrap()));
        });
        let n = (w * h) as usize;
        let yuyv = VideoFrame::new(
            PixelFormat::Yuyv,
            w,
            h,
            Duration::ZERO,
            (0..n * 2).map(|i| (i * 31 % 251) as u8).collect(),
        )
        .unwrap();
        g.bench_function("yuyv_to_i420", |b| {
            b.iter(|| black_box(to_i420(black_box(&yuyv)).unwrap()));
        });
        let nv12 = VideoFrame::new(
            PixelFormat::Nv12,
            w,
            h,
            Duration::ZERO,
            (0..n * 3 / 2).map(|i| (i * 31 % 251) as u8).collect(),
        )
        .unwrap();
        g.bench_function("nv12_to_i420", |b| {
            b.iter(|| black_box(to_i420(black_box(&nv12)).unwrap()));
        });
        if w == 640 {
            let jpeg = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/libjpeg-turbo-pattern-640x480-422.jpg"
            ))
            .unwrap();
            let mjpeg = VideoFrame::new(PixelFormat::Mjpeg, w, h, Duration::ZERO, jpeg).unwrap();
            g.bench_function("mjpeg_422_to_i420", |b| {
                b.iter(|| black_box(to_i420(black_box(&mjpeg)).unwrap()));
            });
        }
        g.finish();
    }
}

criterion_group!(benches, capture);
criterion_main!(benches);
