//! The PERF.md STUN figure for `cargo xtask bench`: alternating rounds of Tern and rtc-stun, the
//! median round per side, printed as `tern=<ns> peer=<ns> name=<peer>` (ns per Binding request
//! encode + decode + verify, MI + FINGERPRINT).

use std::time::Instant;

use tern_stun::IntegrityKey;
use tern_stun_compare::{PASSWORD, RtcSide, tern_round};

const ROUNDS: usize = 21;
const ITERATIONS: u32 = 20_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let key = IntegrityKey::short_term(PASSWORD);
    let mut buf = Vec::with_capacity(256);
    let Some(mut rtc) = RtcSide::new() else {
        eprintln!("stun_binding: no rtc-crypto provider");
        std::process::exit(1);
    };
    // Both sides must do the whole job before they are timed.
    if tern_round(&key, &mut buf).is_none() || rtc.round().is_none() {
        eprintln!("stun_binding: a side failed its round");
        std::process::exit(1);
    }
    let (mut tern, mut peer) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            std::hint::black_box(tern_round(&key, &mut buf));
        }
        tern.push(start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS));
        let start = Instant::now();
        for _ in 0..ITERATIONS {
            std::hint::black_box(rtc.round());
        }
        peer.push(start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS));
    }
    // Each round times both sides back to back, so the ratio within a round shares the
    // machine's load at that moment: its spread shows how much the shared cores moved things.
    let ratios: Vec<f64> = peer.iter().zip(&tern).map(|(p, t)| p / t).collect();
    let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
        (lo.min(*r), hi.max(*r))
    });
    eprintln!(
        "per-round rtc-stun/tern: median {:.2}x, range {lo:.2}-{hi:.2}x over {ROUNDS} rounds",
        median(ratios.clone())
    );
    println!(
        "tern={:.1} peer={:.1} name=webrtc-rs-rtc-stun-0.21.1-ring",
        median(tern),
        median(peer)
    );
}
