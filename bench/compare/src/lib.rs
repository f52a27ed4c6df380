//! Shared timing for the comparison binaries. Rounds of the two sides alternate and the median
//! round counts, so load on this shared machine falls on both sides alike. Each binary prints
//! `tern=<ns> peer=<ns> name=<peer>` lines.

use std::time::Instant;

/// Median nanoseconds per call of `tern` and of `peer`, over `rounds` alternating rounds of
/// `iters` calls each.
pub fn compare(
    rounds: usize,
    iters: u32,
    mut tern: impl FnMut(),
    mut peer: impl FnMut(),
) -> (f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed().as_nanos() as f64 / f64::from(iters)
    };
    let (mut a, mut b) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        a.push(time(&mut tern));
        b.push(time(&mut peer));
    }
    (median(a), median(b))
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}
