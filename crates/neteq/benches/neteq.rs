//! NetEq throughput: 10 s of 16 kHz and 48 kHz L16 audio in 20 ms packets through a jittery,
//! lossy arrival pattern. Criterion's throughput is in samples/s; divide by the sample rate for
//! "× real time" (e.g. 4.8 Melem/s at 48 kHz = 100× real time).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tern_neteq::{L16Decoder, NetEq, NetEqConfig, SampleRate};

fn signal(rate: usize, seconds: usize) -> Vec<i16> {
    (0..rate * seconds)
        .map(|n| {
            let t = n as f32 / rate as f32;
            let env = (t * 3.0 * std::f32::consts::PI).sin().abs();
            (env * 8000.0 * (t * 2.0 * std::f32::consts::PI * 140.0).sin()) as i16
        })
        .collect()
}

fn run(rate: SampleRate, packets: &[Vec<u8>], arrivals: &[(u64, usize)]) -> u64 {
    let mut neteq = NetEq::new(NetEqConfig::new(rate));
    neteq
        .register_decoder(96, Box::new(L16Decoder::new(rate.hz())))
        .unwrap();
    let frame = rate.samples_per_frame();
    let step = (rate.samples_per_ms() * 20) as u32;
    let mut out = vec![0i16; frame];
    let mut next = 0;
    let frames = packets.len() * 2 + 10;
    for _ in 0..frames {
        let now = neteq.playout_clock();
        while next < arrivals.len() && arrivals[next].0 <= now {
            let i = arrivals[next].1;
            neteq
                .insert_packet(i as u32 * step, i as u16, 96, &packets[i], arrivals[next].0)
                .unwrap();
            next += 1;
        }
        neteq.get_audio(&mut out).unwrap();
    }
    neteq.stats().total_samples_received
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("neteq_10s_jitter_loss");
    for rate in [SampleRate::Hz16000, SampleRate::Hz48000] {
        let hz = rate.hz() as usize;
        let sig = signal(hz, 10);
        let packets: Vec<Vec<u8>> = sig.chunks(hz / 50).map(L16Decoder::encode).collect();
        // Deterministic jitter 0..60 ms and 3 % loss.
        let mut seed = 12345u64;
        let mut arrivals: Vec<(u64, usize)> = (0..packets.len())
            .filter_map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = (seed >> 33) as usize;
                (r % 100 >= 3).then(|| (((i * 20 + r % 60) * hz / 1000) as u64, i))
            })
            .collect();
        arrivals.sort();
        g.throughput(Throughput::Elements(sig.len() as u64));
        g.bench_function(format!("{hz}Hz"), |b| {
            b.iter(|| black_box(run(rate, &packets, &arrivals)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
