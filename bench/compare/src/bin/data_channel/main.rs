//! Data-channel figures (PERF.md), Tern against str0m 0.25 in one process and one run:
//!
//! - `throughput`: two peer connections, one thread, two UDP sockets on 127.0.0.1, a reliable
//!   ordered channel, 65,535-byte messages with about 1 MiB kept in `bufferedAmount`; MB/s from
//!   the first send to the last byte received.
//! - `throughput-batched`: the same, with the shared socket loop batching datagrams through
//!   UDP GSO/GRO (`quinn-udp`) for both stacks alike (`io.rs`).
//! - `setup`: create both peer connections → channel open on both sides over 127.0.0.1
//!   (certificate generation, ICE, DTLS, SCTP, DCEP).
//! - `memory N`: live heap per connected idle peer connection with one open channel, N pairs
//!   connected in memory on virtual time (no sockets).
//!
//! Rounds of the two stacks alternate so load on this shared machine falls on both alike; the
//! median round counts. Prints `tern=<v> peer=<v> name=<peer> unit=<unit>` per figure.
#![allow(clippy::disallowed_methods)] // a benchmark owns the clock

mod io;
mod str0m_side;
mod tern;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// The message size of the PERF.md throughput figure.
const MESSAGE: usize = 65_535;

/// Counts live heap bytes, for the memory figure.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Syscalls per MB moved in one throughput round, both sockets together (stderr, diagnostics).
fn note_syscalls(stack: &str, bytes: usize, per_side: [u64; 2]) {
    if std::env::var_os("BENCH_SYSCALLS").is_some() {
        let total: u64 = per_side.iter().sum();
        eprintln!("{stack}: {:.0} socket syscalls per MB", total as f64 / (bytes as f64 / 1e6));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Alternates `rounds` rounds of the two sides; medians of each.
fn alternate(rounds: usize, mut tern: impl FnMut() -> f64, mut peer: impl FnMut() -> f64) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(tern());
        b.push(peer());
    }
    eprintln!("rounds: tern {a:.1?} peer {b:.1?}");
    (median(a), median(b))
}

fn main() {
    str0m::crypto::from_feature_flags().install_process_default();
    let figure = std::env::args().nth(1).unwrap_or_else(|| "throughput".into());
    let peer = "str0m-0.25.0";
    match figure.as_str() {
        "throughput" | "throughput-batched" => {
            let mode = if figure == "throughput" { io::Mode::Plain } else { io::Mode::Batched };
            let total = 64 << 20;
            let (t, p) = alternate(5, || tern::throughput(total, mode), || str0m_side::throughput(total, mode));
            println!("tern={t:.1} peer={p:.1} name={peer} unit=MB/s");
        }
        // One stack alone, for profiling (`perf record`): `throughput-only tern|str0m plain|batched`.
        "throughput-only" => {
            let arg = |n: usize| std::env::args().nth(n).unwrap_or_default();
            let mode = if arg(3) == "batched" { io::Mode::Batched } else { io::Mode::Plain };
            let total = 64 << 20;
            let rounds: Vec<f64> = (0..5)
                .map(|_| if arg(2) == "str0m" { str0m_side::throughput(total, mode) } else { tern::throughput(total, mode) })
                .collect();
            eprintln!("rounds: {rounds:.1?}");
            println!("median={:.1} unit=MB/s", median(rounds));
        }
        "setup" => {
            let (t, p) = alternate(21, || tern::setup(1), || str0m_side::setup(1));
            println!("tern={t:.2} peer={p:.2} name={peer} unit=ms");
        }
        "memory" => {
            let pairs: usize = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
            let t = tern::memory(pairs);
            let p = str0m_side::memory(pairs);
            println!("tern={t:.1} peer={p:.1} name={peer} unit=KiB connections={}", 2 * pairs);
        }
        other => panic!("unknown figure {other}"),
    }
}
