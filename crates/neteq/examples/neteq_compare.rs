//! The Rust side of the side-by-side NetEq scoring (`compare/run.sh` drives the whole run).
//!
//! ```text
//! neteq_compare traces DIR              write the seeded packet traces (CSV) into DIR
//! neteq_compare traces DIR N...         held-out traces with seeds 0x5eed_0000 + 0x1000 (N - 1),
//!                                       suffix sN (1 and 2 are the committed ones)
//! neteq_compare prepare TRACE OUT SRC   SRC (raw s16le 48 kHz mono, e.g. from compare/speech.py,
//!                                       or `synthetic:SECONDS` for the tests' speech-like signal)
//!                                       -> OUT/ref.pcm; Opus 20 ms packets with in-band FEC
//!                                       through TRACE -> OUT/stream.txt (what every receiver
//!                                       replays)
//! neteq_compare tern OUT [VARIANT]      tern-neteq: OUT/tern.pcm, stats JSON on stdout
//! neteq_compare fixed OUT DELAY_MS      a fixed-delay buffer (Opus PLC + FEC) whose mean jitter
//!                                       buffer delay is closest to DELAY_MS: OUT/fixed.pcm, JSON
//! neteq_compare cpu OUT REPS            CPU time of tern-neteq's insert + 10 ms pull loop (Opus
//!                                       decode included) over OUT/stream.txt, REPS times with a
//!                                       fresh NetEq; JSON with × real time (build with
//!                                       --release; compare/libwebrtc_neteq_cpu does the same for
//!                                       libwebrtc's NetEq)
//! ```
//!
//! The work is in `tests/common/compare.rs`, shared with `tests/interop_libwebrtc.rs`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;

use common::compare::{
    FRAME, PT, prepare, read_stream, run_fixed, run_tern, write_traces, write_traces_seeded,
};
use tern_neteq::{Decoder, NetEq, NetEqConfig, OpusDecoder, SampleRate};

/// This thread's CPU time in seconds (Linux `schedstat`: nanoseconds on the CPU), or `None`.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// Replays the stream `reps` times through a fresh tern-neteq, timing only the insert + pull
/// loop on this thread's CPU clock (wall clock where that is not available).
#[allow(clippy::disallowed_methods)]
fn cpu(out: &Path, reps: usize) -> String {
    let (frames, stream) = read_stream(out);
    let mut seconds = 0.0;
    let mut checksum = 0i64;
    let mut buf = [0i16; FRAME];
    for _ in 0..reps {
        let mut neteq = NetEq::new(NetEqConfig::new(SampleRate::Hz48000));
        neteq
            .register_decoder(PT, Box::new(OpusDecoder::new(48_000).unwrap()))
            .unwrap();
        let wall = std::time::Instant::now();
        let start = thread_cpu_seconds();
        let mut next = 0;
        for k in 0..frames {
            while let Some(p) = stream.get(next).filter(|p| p.tick <= k) {
                let now = neteq.playout_clock();
                let _ = neteq.insert_packet(p.ts, p.seq, PT, &p.payload, now);
                next += 1;
            }
            neteq.get_audio(&mut buf).unwrap();
            checksum += i64::from(buf[0]);
        }
        seconds += match (start, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => wall.elapsed().as_secs_f64(),
        };
    }
    // The codec's share: every received packet decoded once, in order, by a bare decoder.
    let mut opus_seconds = 0.0;
    let mut pcm = Vec::new();
    for _ in 0..reps {
        let mut dec = OpusDecoder::new(48_000).unwrap();
        let wall = std::time::Instant::now();
        let start = thread_cpu_seconds();
        for p in &stream {
            pcm.clear();
            let _ = dec.decode(&p.payload, &mut pcm);
            checksum += pcm.first().copied().map_or(0, i64::from);
        }
        opus_seconds += match (start, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => wall.elapsed().as_secs_f64(),
        };
    }
    let media = (frames * reps) as f64 / 100.0;
    format!(
        "{{\"engine\":\"tern\",\"reps\":{reps},\"media_s\":{media:.2},\"cpu_s\":{seconds:.4},\
         \"x_real_time\":{:.1},\"opus_decode_only_cpu_s\":{opus_seconds:.4},\
         \"opus_decode_only_x_real_time\":{:.1},\"checksum\":{checksum}}}",
        media / seconds,
        media / opus_seconds
    )
}

fn usage() -> ! {
    eprintln!(
        "usage: neteq_compare traces DIR [N...] | prepare TRACE OUT SOURCE | tern OUT [VARIANT] | fixed OUT DELAY_MS | cpu OUT REPS"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["traces", dir] => write_traces(Path::new(dir)),
        ["traces", dir, ns @ ..] => {
            let seeds: Vec<(u64, u64)> = ns
                .iter()
                .map(|n| {
                    let n: u64 = n.parse().unwrap_or_else(|_| usage());
                    (n, 0x5eed_0000 + 0x1000 * n.saturating_sub(1))
                })
                .collect();
            write_traces_seeded(Path::new(dir), &seeds)
        }
        ["prepare", trace, out, source] => prepare(Path::new(trace), Path::new(out), source),
        ["tern", out] => println!("{}", run_tern(Path::new(out), "")),
        ["tern", out, variant] => println!("{}", run_tern(Path::new(out), variant)),
        ["fixed", out, delay] => println!("{}", run_fixed(Path::new(out), delay.parse().unwrap())),
        ["cpu", out, reps] => println!(
            "{}",
            cpu(Path::new(out), reps.parse().unwrap_or_else(|_| usage()))
        ),
        _ => usage(),
    }
}
