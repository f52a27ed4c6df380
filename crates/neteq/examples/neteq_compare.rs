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

use common::compare::{prepare, run_fixed, run_tern, write_traces, write_traces_seeded};

fn usage() -> ! {
    eprintln!(
        "usage: neteq_compare traces DIR [N...] | prepare TRACE OUT SOURCE | tern OUT [VARIANT] | fixed OUT DELAY_MS"
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
        _ => usage(),
    }
}
