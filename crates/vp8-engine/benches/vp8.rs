//! Packetizer/depacketizer throughput.
#![allow(missing_docs)] // criterion_main! generates an undocumented `main`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tern_vp8_engine::wire::header::emit_header;
use tern_vp8_engine::{FrameToSend, PacketizerConfig, Vp8Packet, Vp8Packetizer};

fn packetize(c: &mut Criterion) {
    let mut frame = emit_header(4000, Some((640, 480)));
    frame.resize(30_000, 0x5a);
    let mut g = c.benchmark_group("vp8_rtp");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    let mut p = Vp8Packetizer::new(PacketizerConfig::default());
    g.bench_function("packetize_30k_mtu1200", |b| {
        b.iter(|| {
            p.packetize(&FrameToSend {
                data: black_box(&frame),
                ..Default::default()
            })
            .unwrap()
        });
    });
    let pkts = p
        .packetize(&FrameToSend {
            data: &frame,
            ..Default::default()
        })
        .unwrap();
    g.bench_function("depacketize_30k_mtu1200", |b| {
        b.iter(|| {
            let mut n = 0;
            for pkt in &pkts {
                n += Vp8Packet::parse(black_box(pkt)).unwrap().payload.len();
            }
            n
        });
    });
    g.finish();
}

criterion_group!(benches, packetize);
criterion_main!(benches);
