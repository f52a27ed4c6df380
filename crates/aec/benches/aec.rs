//! Cost of 10 ms of audio through the processor (render + capture), per rate and per chain.
//! Real-time factor = 10 ms / the time reported.
#![allow(missing_docs, clippy::indexing_slicing)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tern_aec::{AudioProcessor, ProcessorConfig, SampleRate};

/// A deterministic far end (two tones and a little noise) and its echo plus near-end noise.
fn signals(frame: usize, frames: usize) -> (Vec<i16>, Vec<i16>) {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 52) as f32 - 2048.0
    };
    let len = frame * frames;
    let far: Vec<f32> = (0..len)
        .map(|t| 6000.0 * (t as f32 * 0.031).sin() + 3000.0 * (t as f32 * 0.173).sin() + noise())
        .collect();
    let near: Vec<f32> = (0..len)
        .map(|t| if t >= 640 { 0.4 * far[t - 640] } else { 0.0 } + 0.05 * noise())
        .collect();
    let q = |v: &[f32]| {
        v.iter()
            .map(|x| x.clamp(-32768.0, 32767.0) as i16)
            .collect::<Vec<_>>()
    };
    (q(&far), q(&near))
}

fn bench_chain(c: &mut Criterion, name: &str, config: ProcessorConfig) {
    let mut apm = AudioProcessor::new(config);
    let frame = apm.frame_len();
    let frames = 200;
    let (far, near) = signals(frame, frames);
    // Converge first, so the measurement is of the steady state.
    let mut out = vec![0i16; frame];
    for (f, n) in far.chunks_exact(frame).zip(near.chunks_exact(frame)) {
        out.copy_from_slice(n);
        let _ = apm.process_render(f);
        let _ = apm.process_capture(&mut out);
    }
    let mut i = 0usize;
    c.bench_function(name, |b| {
        b.iter(|| {
            let k = i % frames;
            i = i.wrapping_add(1);
            let (f, n) = (
                &far[k * frame..(k + 1) * frame],
                &near[k * frame..(k + 1) * frame],
            );
            out.copy_from_slice(n);
            let _ = apm.process_render(black_box(f));
            let _ = apm.process_capture(black_box(&mut out));
        })
    });
}

fn processor(c: &mut Criterion) {
    for rate in [SampleRate::Hz16000, SampleRate::Hz48000] {
        let hz = rate.hz() / 1000;
        bench_chain(c, &format!("aec_10ms_{hz}k"), ProcessorConfig::new(rate));
        let mut full = ProcessorConfig::new(rate);
        full.noise_suppression = true;
        full.gain_control = true;
        bench_chain(c, &format!("aec_ns_agc_10ms_{hz}k"), full);
    }
}

criterion_group!(benches, processor);
criterion_main!(benches);
