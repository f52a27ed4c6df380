//! Suite `audio-quality` (neteq part): tern-neteq side by side with libwebrtc's NetEq (Debian
//! libtgowt-dev, a 2023 libwebrtc, through `compare/libwebrtc_neteq.cc`) and a fixed-delay
//! buffer of the same mean delay, on the committed `-s1` traces (the fast subset; `compare/run.sh`
//! runs them all). Speech from espeak-ng, scored with PESQ-WB (PyPI `pesq` under
//! `$TERN_PYTHON`). Needs g++, libtgowt-dev, libopus-dev, espeak-ng.
//!
//! The CI thresholds guard against regressions (the goals and the full table are reported by
//! `compare/run.sh`): over the subset, tern's mean delay must be at most libwebrtc's, its mean
//! PESQ-WB at least 0.2 above libwebrtc's and at most 0.08 below the fixed buffer's (measured
//! 2026-11-25: 97.1 vs 115.3 ms; 3.22 vs 2.83 and 3.27), and every receiver's output must be
//! scored. The table is printed either way (`--nocapture`).
#![cfg(feature = "opus")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::compare::{prepare, run_fixed, run_tern};

/// Kills the child by PID when dropped (also when a test fails).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` with a timeout; returns its stdout. Panics with its stderr on failure.
fn run(cmd: &mut Command, timeout: Duration) -> String {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut guard = Guard(child);
    #[allow(clippy::disallowed_methods)] // a test may read the wall clock for its own timeout
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            use std::io::Read;
            guard
                .0
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            guard
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert!(status.success(), "{cmd:?} failed: {status}\n{err}");
            return out;
        }
        assert!(start.elapsed() < timeout, "{cmd:?} timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn python() -> String {
    std::env::var("TERN_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn field(json: &str, key: &str) -> f64 {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {json}"));
    let rest = &json[at + key.len() + 3..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim().parse().unwrap()
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn neteq_pesq_and_delay_vs_libwebrtc_neteq() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let compare = crate_dir.join("compare");
    let work =
        std::env::temp_dir().join(format!("tern-neteq-audio-quality-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();

    run(
        Command::new("sh").arg(compare.join("build.sh")).arg(&work),
        Duration::from_secs(600),
    );
    let speech = work.join("speech.pcm");
    run(
        Command::new(python())
            .arg(compare.join("speech.py"))
            .arg(&speech),
        Duration::from_secs(120),
    );

    let mut traces: Vec<PathBuf> = std::fs::read_dir(crate_dir.join("tests/vectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("trace-") && name.ends_with("-s1.csv")
        })
        .collect();
    traces.sort();
    assert_eq!(traces.len(), 3, "{traces:?}");

    let mut sums = [[0.0f64; 2]; 3];
    for trace in &traces {
        let name = trace.file_stem().unwrap().to_string_lossy().to_string();
        let dir = work.join(&name);
        prepare(trace, &dir, speech.to_str().unwrap());
        let tern = run_tern(&dir, "");
        std::fs::write(dir.join("tern.json"), &tern).unwrap();
        let libwebrtc = run(
            Command::new(work.join("libwebrtc_neteq"))
                .arg(dir.join("stream.txt"))
                .arg(dir.join("libwebrtc.pcm")),
            Duration::from_secs(120),
        );
        std::fs::write(dir.join("libwebrtc.json"), &libwebrtc).unwrap();
        let fixed = run_fixed(&dir, field(&tern, "mean_delay_ms"));
        std::fs::write(dir.join("fixed.json"), &fixed).unwrap();
        let scores = run(
            Command::new(python())
                .arg(compare.join("score.py"))
                .arg(&dir)
                .args(["tern", "libwebrtc", "fixed"]),
            Duration::from_secs(300),
        );
        std::fs::write(dir.join("pesq.json"), &scores).unwrap();
        let lines: Vec<&str> = scores.lines().collect();
        assert_eq!(lines.len(), 3, "{scores}");
        for (i, (line, stats)) in lines.iter().zip([&tern, &libwebrtc, &fixed]).enumerate() {
            let pesq = field(line, "pesq_wb");
            assert!((1.0..=4.7).contains(&pesq), "{line}");
            sums[i][0] += pesq;
            sums[i][1] += field(stats, "mean_delay_ms");
        }
    }
    let dirs: Vec<PathBuf> = traces
        .iter()
        .map(|t| work.join(t.file_stem().unwrap()))
        .collect();
    let table = run(
        Command::new(python())
            .arg(compare.join("table.py"))
            .args(dirs.iter().map(|d| d.as_os_str())),
        Duration::from_secs(60),
    );
    println!("{table}");
    let n = traces.len() as f64;
    let [tern, libwebrtc, fixed] = sums.map(|[p, d]| (p / n, d / n));
    println!(
        "mean PESQ-WB / delay: tern {:.2} / {:.1} ms, libwebrtc {:.2} / {:.1} ms, fixed {:.2} / {:.1} ms",
        tern.0, tern.1, libwebrtc.0, libwebrtc.1, fixed.0, fixed.1
    );
    let _ = std::fs::remove_dir_all(&work);
    // Measured on this subset: 97.1 ms vs 115.3 ms.
    assert!(
        tern.1 <= libwebrtc.1,
        "tern's mean delay {:.1} ms above libwebrtc's {:.1} ms",
        tern.1,
        libwebrtc.1
    );
    // Measured: 3.22 vs 2.83.
    assert!(
        tern.0 >= libwebrtc.0 + 0.2,
        "tern's mean PESQ-WB {:.2} less than 0.2 above libwebrtc's {:.2}",
        tern.0,
        libwebrtc.0
    );
    // Not yet the goal (at least the fixed buffer's), a guard on the gap: measured 3.22 vs 3.27
    // (3.21 vs 3.30 before the playout-delay level and pause-only stretching).
    assert!(
        tern.0 >= fixed.0 - 0.08,
        "tern's mean PESQ-WB {:.2} more than 0.08 below the fixed buffer's {:.2} at its delay",
        tern.0,
        fixed.0
    );
}
