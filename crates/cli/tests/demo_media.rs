//! `tern demo` as a process: a small file, then a short media phase with audio and video both
//! ways — directly, and through the impairing relay (5 % loss, 30 ms delay) where NACK/RTX must
//! repair video. The summary is read back and checked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a real process on the real clock

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed by PID when dropped (also when the test panics).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `tern demo ARGS`; returns (exited with success, stdout + stderr).
fn demo(args: &[&str]) -> (bool, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("demo")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = ChildGuard(child);
    let mut stdout = guard.0.stdout.take().unwrap();
    let mut stderr = guard.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let err_reader = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        err
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(guard);
    let out = reader.join().unwrap() + &err_reader.join().unwrap();
    (status.is_some_and(|s| s.success()), out)
}

/// The number right before `unit` on the summary line starting with `prefix`.
fn number(out: &str, prefix: &str, unit: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in\n{out}"));
    let before = line
        .split(unit)
        .next()
        .unwrap_or_else(|| panic!("no {unit:?} in {line:?}"));
    before
        .split([' ', ','])
        .rfind(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number before {unit:?} in {line:?}"))
}

const DIRECTIONS: [&str; 2] = ["bob→alice", "alice→bob"];

#[test]
fn demo_sends_audio_and_video_both_ways() {
    let (ok, out) = demo(&["--size", "262144", "--media-seconds", "3"]);
    assert!(ok, "tern demo failed:\n{out}");
    assert!(out.contains("tern demo: OK"), "{out}");
    for direction in DIRECTIONS {
        let sent = number(&out, &format!("video {direction}"), " frames sent");
        let decoded = number(&out, &format!("video {direction}"), " decoded");
        let played = number(&out, &format!("audio {direction}"), " s played");
        let concealed = number(&out, &format!("audio {direction}"), " % concealed");
        // 3 s at 30 fps; the encoder may drop a few frames, the receiver may miss the tail.
        assert!(sent >= 60.0, "{direction}: {sent} frames sent\n{out}");
        assert!(
            decoded >= sent * 0.8,
            "{direction}: {decoded} of {sent} frames decoded\n{out}"
        );
        assert!(played >= 2.0, "{direction}: {played} s of audio\n{out}");
        assert!(
            concealed < 20.0,
            "{direction}: {concealed} % concealed\n{out}"
        );
    }
    // The live table printed rows for both directions.
    assert!(out.lines().any(|l| l.contains("s  alice→bob")), "{out}");
}

#[test]
fn demo_repairs_video_through_a_lossy_relay() {
    let (ok, out) = demo(&[
        "--size",
        "65536",
        "--media-seconds",
        "4",
        "--loss",
        "5",
        "--delay",
        "30",
    ]);
    assert!(ok, "tern demo failed:\n{out}");
    let mut repaired = 0.0;
    for direction in DIRECTIONS {
        let decoded = number(&out, &format!("video {direction}"), " decoded");
        let played = number(&out, &format!("audio {direction}"), " s played");
        assert!(
            decoded >= 30.0,
            "{direction}: {decoded} frames decoded\n{out}"
        );
        assert!(played >= 2.0, "{direction}: {played} s of audio\n{out}");
        repaired += number(
            &out,
            &format!("repair {direction}"),
            " packets retransmitted",
        );
    }
    assert!(repaired > 0.0, "no packet came back over RTX\n{out}");
    let dropped = number(&out, "relay", " dropped on purpose");
    assert!(dropped > 0.0, "{out}");
}
