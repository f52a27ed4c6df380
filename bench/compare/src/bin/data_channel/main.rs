//! Data-channel figures (PERF.md), Tern against str0m 0.25, Pion v3 and webrtc-rs 0.21 in one run:
//!
//! - `throughput`: two peer connections, one thread, two UDP sockets on 127.0.0.1, a reliable
//!   ordered channel, 65,535-byte messages with about 1 MiB kept in `bufferedAmount`; MB/s from
//!   the first send to the last byte received. Pion (`pion.rs`, a child process running
//!   `pion/main.go`) does the same with its own goroutines on every core, webrtc-rs
//!   (`webrtc_rs.rs`) with its tokio runtime's workers on every core.
//! - `throughput-batched`: the same, with the shared socket loop batching datagrams through
//!   UDP GSO/GRO (`quinn-udp`) for both stacks alike (`io.rs`); Tern, str0m and webrtc-rs (whose
//!   own driver batches with GSO/GRO in both figures, as it ships).
//! - `throughput-driver` / `throughput-driver-batched`: the same transfer with Tern through its
//!   product tokio driver (`tern_driver.rs`: `RtcPeer`s on a current-thread runtime, the
//!   driver's own GSO/GRO socket I/O), against str0m on the plain / batched shared loop.
//! - `memory-driver N`: live heap per connected idle Tern peer through the driver (task,
//!   channels, socket state, core), N pairs on one current-thread runtime; str0m's core alone
//!   (it ships no driver) as the reference.
//! - `setup`: create both peer connections → channel open on both sides over 127.0.0.1
//!   (certificate generation, ICE, DTLS, SCTP, DCEP); Tern, str0m, Pion and webrtc-rs.
//! - `memory N`: live heap per connected idle peer connection with one open channel, N pairs
//!   connected in memory on virtual time (no sockets).
//!
//! Rounds of the stacks alternate so load on this shared machine falls on all alike; the median
//! round counts. Prints `tern=<v> peer=<v> name=<peer> unit=<unit>` per figure and peer, then the
//! same for CPU time (`unit=ms-CPU/MB` or `ms-CPU`): the median CPU time of a round's measured
//! interval (Tern and str0m: their one thread; Pion and webrtc-rs: the whole process, all
//! threads), since Pion and webrtc-rs spread over both cores while the sans-IO loops use one.
//! Set `BENCH_NO_PION=1` to leave Pion out, `BENCH_NO_WEBRTC_RS=1` to leave webrtc-rs out.
#![allow(clippy::disallowed_methods)] // a benchmark owns the clock

mod io;
mod pion;
mod str0m_side;
mod tern;
mod tern_driver;
mod webrtc_rs;

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
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
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
        eprintln!(
            "{stack}: {:.0} socket syscalls per MB",
            total as f64 / (bytes as f64 / 1e6)
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One round of one stack: its figure and the CPU time of the measured interval.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub value: f64,
    pub cpu_ms: f64,
}

/// CPU time this thread has run, in ms (`CLOCK_THREAD_CPUTIME_ID`, exact to the nanosecond;
/// `/proc/thread-self/schedstat` only moves at scheduler ticks).
pub fn thread_cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the duration of the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return 0.0;
    }
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

/// Runs `f` and takes the thread's CPU time around the whole call.
fn timed_cpu(f: impl FnOnce() -> f64) -> Sample {
    let cpu = thread_cpu_ms();
    let value = f();
    Sample {
        value,
        cpu_ms: thread_cpu_ms() - cpu,
    }
}

/// Medians over a stack's rounds.
#[derive(Clone, Copy)]
struct Medians {
    value: f64,
    cpu_ms: f64,
}

fn medians(name: &str, samples: &[Sample]) -> Medians {
    let values: Vec<f64> = samples.iter().map(|s| s.value).collect();
    let cpu: Vec<f64> = samples.iter().map(|s| s.cpu_ms).collect();
    eprintln!("rounds {name}: {values:.2?} (cpu ms {cpu:.1?})");
    Medians {
        value: median(values),
        cpu_ms: median(cpu),
    }
}

/// Medians of the optional stacks (Pion, webrtc-rs): `None` for one left out.
struct Others {
    pion: Option<Medians>,
    webrtc_rs: Option<Medians>,
}

/// Alternates `rounds` rounds of each side (Tern, str0m, then Pion and webrtc-rs when running);
/// medians of each.
fn alternate(
    rounds: usize,
    mut tern: impl FnMut() -> Sample,
    mut str0m: impl FnMut() -> Sample,
    mut pion: Option<impl FnMut() -> Sample>,
    mut webrtc_rs: Option<impl FnMut() -> Sample>,
) -> (Medians, Medians, Others) {
    let (mut a, mut b, mut c, mut d) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        a.push(tern());
        b.push(str0m());
        if let Some(pion) = pion.as_mut() {
            c.push(pion());
        }
        if let Some(webrtc_rs) = webrtc_rs.as_mut() {
            d.push(webrtc_rs());
        }
    }
    let others = Others {
        pion: pion.is_some().then(|| medians("pion", &c)),
        webrtc_rs: webrtc_rs.is_some().then(|| medians("webrtc-rs", &d)),
    };
    (medians("tern", &a), medians("str0m", &b), others)
}

/// webrtc-rs's warm runtime, unless left out with `BENCH_NO_WEBRTC_RS=1`.
fn start_webrtc_rs() -> Option<webrtc_rs::WebrtcRs> {
    if std::env::var_os("BENCH_NO_WEBRTC_RS").is_some() {
        return None;
    }
    Some(webrtc_rs::WebrtcRs::start())
}

/// Pion, unless left out; why not on stderr (its rows are then missing from the table).
fn start_pion() -> Option<pion::Pion> {
    if std::env::var_os("BENCH_NO_PION").is_some() {
        return None;
    }
    pion::Pion::start()
        .map_err(|e| eprintln!("pion left out: {e}"))
        .ok()
}

/// Prints a figure's row and, after it, the CPU row of the same rounds (`unit=ms-CPU/MB` for
/// throughput moving `megabytes`, `ms-CPU` per setup), so xtask tables both.
fn row(tern: Medians, peer: Medians, name: &str, unit: &str, megabytes: Option<f64>) {
    let (t, p) = (tern.value, peer.value);
    let digits = if unit == "ms" { 2 } else { 1 };
    println!(
        "tern={t:.digits$} peer={p:.digits$} name={name} unit={unit} tern_cpu_ms={:.1} peer_cpu_ms={:.1}",
        tern.cpu_ms, peer.cpu_ms
    );
    let (per, cpu_unit) = match megabytes {
        Some(mb) => (mb, "ms-CPU/MB"),
        None => (1.0, "ms-CPU"),
    };
    println!(
        "tern={:.2} peer={:.2} name={name} unit={cpu_unit}",
        tern.cpu_ms / per,
        peer.cpu_ms / per
    );
}

fn main() {
    str0m::crypto::from_feature_flags().install_process_default();
    let figure = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "throughput".into());
    let peer = "str0m-0.25.0";
    match figure.as_str() {
        "throughput" | "throughput-batched" => {
            let mode = if figure == "throughput" {
                io::Mode::Plain
            } else {
                io::Mode::Batched
            };
            let total = 64 << 20;
            // Pion has no batched socket loop: it joins the plain figure only.
            let mut pion = if mode == io::Mode::Plain {
                start_pion()
            } else {
                None
            };
            let mut webrtc_rs = start_webrtc_rs();
            let name = pion.as_ref().map(|p| p.name.clone());
            let (t, s, others) = alternate(
                5,
                || tern::throughput(total, mode),
                || str0m_side::throughput(total, mode),
                pion.as_mut().map(|p| move || p.throughput(total)),
                webrtc_rs.as_mut().map(|w| move || w.throughput(total)),
            );
            let megabytes = Some((total.div_ceil(MESSAGE) * MESSAGE) as f64 / 1e6);
            row(t, s, peer, "MB/s", megabytes);
            if let (Some(p), Some(name)) = (others.pion, name) {
                row(t, p, &name, "MB/s", megabytes);
            }
            if let Some(w) = others.webrtc_rs {
                row(t, w, webrtc_rs::NAME, "MB/s", megabytes);
            }
        }
        "throughput-driver" | "throughput-driver-batched" => {
            let mode = if figure == "throughput-driver" {
                io::Mode::Plain
            } else {
                io::Mode::Batched
            };
            let total = 64 << 20;
            let none = None::<fn() -> Sample>;
            let (t, s, _) = alternate(
                7,
                || tern_driver::throughput(total),
                || str0m_side::throughput(total, mode),
                none,
                none,
            );
            let megabytes = Some((total.div_ceil(MESSAGE) * MESSAGE) as f64 / 1e6);
            row(t, s, peer, "MB/s", megabytes);
        }
        // One stack alone, for profiling (`perf record`):
        // `throughput-only tern|tern-driver|str0m plain|batched`.
        "throughput-only" => {
            // `throughput-only pion` / `throughput-only webrtc-rs` run that stack's rounds alone.
            let arg = |n: usize| std::env::args().nth(n).unwrap_or_default();
            let mode = if arg(3) == "batched" {
                io::Mode::Batched
            } else {
                io::Mode::Plain
            };
            let total = 64 << 20;
            let mut pion = if arg(2) == "pion" {
                Some(pion::Pion::start().expect("pion"))
            } else {
                None
            };
            let mut webrtc_rs = (arg(2) == "webrtc-rs").then(webrtc_rs::WebrtcRs::start);
            let rounds: Vec<f64> = (0..5)
                .map(
                    |_| match (arg(2).as_str(), pion.as_mut(), webrtc_rs.as_mut()) {
                        (_, Some(p), _) => p.throughput(total).value,
                        (_, _, Some(w)) => w.throughput(total).value,
                        ("str0m", _, _) => str0m_side::throughput(total, mode).value,
                        ("tern-driver", _, _) => tern_driver::throughput(total).value,
                        _ => tern::throughput(total, mode).value,
                    },
                )
                .collect();
            eprintln!("rounds: {rounds:.1?}");
            println!("median={:.1} unit=MB/s", median(rounds));
        }
        "setup" => {
            let mut pion = start_pion();
            let mut webrtc_rs = start_webrtc_rs();
            let name = pion.as_ref().map(|p| p.name.clone());
            let (t, s, others) = alternate(
                21,
                || timed_cpu(|| tern::setup(1)),
                || timed_cpu(|| str0m_side::setup(1)),
                pion.as_mut().map(|p| move || p.setup()),
                webrtc_rs.as_mut().map(|w| move || w.setup()),
            );
            row(t, s, peer, "ms", None);
            if let (Some(p), Some(name)) = (others.pion, name) {
                row(t, p, &name, "ms", None);
            }
            if let Some(w) = others.webrtc_rs {
                row(t, w, webrtc_rs::NAME, "ms", None);
            }
        }
        "memory" => {
            let pairs: usize = std::env::args()
                .nth(2)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1000);
            let t = tern::memory(pairs);
            let p = str0m_side::memory(pairs);
            println!(
                "tern={t:.1} peer={p:.1} name={peer} unit=KiB connections={}",
                2 * pairs
            );
        }
        // Live heap per idle connected Tern peer through the tokio driver (the `memory` figure
        // above counts the core alone), against str0m's core alone.
        "memory-driver" => {
            let pairs: usize = std::env::args()
                .nth(2)
                .and_then(|n| n.parse().ok())
                .unwrap_or(200);
            let t = tern_driver::memory(pairs);
            // str0m ships no driver: its sans-IO core alone, as in `memory`.
            let p = str0m_side::memory(pairs);
            println!(
                "tern={t:.1} peer={p:.1} name={peer} unit=KiB connections={}",
                2 * pairs
            );
        }
        other => panic!("unknown figure {other}"),
    }
}
