//! Side by side with libwebrtc's AEC3 (Debian libtgowt-dev, a 2023 libwebrtc, through its audio
//! processing module) and speexdsp's echo canceller (Debian libspeexdsp-dev: MDF filter plus the
//! preprocessor's residual echo suppression); harnesses in `compare/`. The same far/near
//! recordings through all three, scored with ERLE (mean and 10th percentile after convergence,
//! convergence time, recovery after a path change), near-end passthrough, and, in double talk,
//! PESQ-WB of the output against the clean near-end talker (PyPI `pesq`, interpreter from
//! `$TERN_PYTHON`), plus the baselines' CPU × real time. Needs g++, cc, libtgowt-dev and
//! libspeexdsp-dev. Run by `cargo xtask test-all` (suite `echo-cancellation`); prints one table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use common::*;
use tern_aec::{AudioProcessor, ProcessorConfig, SampleRate};

/// Kills the child on every exit path (also when an assertion fails).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` to completion within `limit`; returns its stdout.
fn run_with_timeout(cmd: &mut Command, limit: Duration) -> String {
    // Output to files, not pipes: a chatty child can never block on a full pipe.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (out_path, err_path) = (
        work_dir().join(format!("child-{k}.out")),
        work_dir().join(format!("child-{k}.err")),
    );
    let child = cmd
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn");
    let mut guard = ChildGuard(child);
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    loop {
        if let Some(status) = guard.0.try_wait().unwrap() {
            let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
            assert!(status.success(), "{cmd:?} failed: {status}\n{stderr}");
            return std::fs::read_to_string(&out_path).unwrap();
        }
        assert!(waited < limit, "{cmd:?} timed out");
        std::thread::sleep(step);
        waited += step;
    }
}

fn python() -> String {
    std::env::var("TERN_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn work_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("aec-interop");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The two baseline executables, built by `compare/build.sh`.
struct Harnesses {
    aec3: PathBuf,
    speex: PathBuf,
}

fn harness() -> Harnesses {
    let work = work_dir();
    let compare = Path::new(env!("CARGO_MANIFEST_DIR")).join("compare");
    run_with_timeout(
        Command::new("sh").arg(compare.join("build.sh")).arg(&work),
        Duration::from_secs(600),
    );
    Harnesses {
        aec3: work.join("libwebrtc_aec3"),
        speex: work.join("speexdsp_aec"),
    }
}

fn write_pcm(path: &Path, x: &[f64]) {
    let bytes: Vec<u8> = x
        .iter()
        .flat_map(|v| (v.round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
        .collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_pcm(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
        .collect()
}

/// One scenario's scores for one canceller.
#[derive(Debug, Clone, Copy)]
struct Score {
    erle_mean: f64,
    erle_p10: f64,
    /// Seconds until the 1 s ERLE first reaches 10 dB.
    converged_s: f64,
}

fn score(far: &[f64], near_in: &[f64], output: &[f64], hz: u32, from: usize) -> Score {
    let r = Run {
        near_in: near_in.to_vec(),
        output: output.to_vec(),
        far: far.to_vec(),
        erle_stat: vec![],
        delay_ms: vec![],
    };
    let seg = hz as usize / 10;
    let e = erle_segments(&r, seg, from, output.len());
    let second = hz as usize;
    let converged_s = (0..output.len() / second)
        .find(|&s| {
            let v = erle_segments(&r, seg, s * second, (s + 1) * second);
            !v.is_empty() && mean(&v) >= 10.0
        })
        .map_or(f64::INFINITY, |s| (s + 1) as f64);
    Score {
        erle_mean: mean(&e),
        erle_p10: percentile(&e, 0.1),
        converged_s,
    }
}

/// One recording's outputs from the three cancellers.
struct Outputs {
    tern: Vec<f64>,
    aec3: Vec<f64>,
    speex: Vec<f64>,
}

/// Process CPU seconds the two C harnesses spent in their processing loops, and the seconds of
/// audio they processed, per sample rate (index 0: 16 kHz, 1: 48 kHz).
#[derive(Default)]
struct Cpu {
    aec3_s: [f64; 2],
    speex_s: [f64; 2],
    audio_s: [f64; 2],
}

/// Runs one C harness; returns its output and the CPU seconds it reports. Baseline sanity: the
/// harness produced exactly the whole 10 ms frames of the input and a finite CPU time.
fn run_harness(
    exe: &Path,
    hz: u32,
    far: &Path,
    near: &Path,
    out: &Path,
    len: usize,
) -> (Vec<f64>, f64) {
    let stdout = run_with_timeout(
        Command::new(exe)
            .arg(hz.to_string())
            .arg(far)
            .arg(near)
            .arg(out),
        Duration::from_secs(120),
    );
    let cpu: f64 = stdout
        .split("\"cpu_s\": ")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("{exe:?} printed no cpu_s: {stdout}"));
    assert!(cpu.is_finite() && cpu >= 0.0, "{exe:?} cpu_s {cpu}");
    let output = read_pcm(out);
    let frame = hz as usize / 100;
    assert_eq!(output.len(), len / frame * frame, "{exe:?} output length");
    (output, cpu)
}

/// All three cancellers over one recording.
fn all(
    name: &str,
    rate: SampleRate,
    far: &[f64],
    near: &[f64],
    exe: &Harnesses,
    cpu: &mut Cpu,
) -> Outputs {
    let dir = work_dir();
    let (f, n) = (
        dir.join(format!("{name}-far.pcm")),
        dir.join(format!("{name}-near.pcm")),
    );
    write_pcm(&f, far);
    write_pcm(&n, near);
    let hz = rate.hz();
    let len = far.len().min(near.len());
    let (aec3, aec3_cpu) = run_harness(
        &exe.aec3,
        hz,
        &f,
        &n,
        &dir.join(format!("{name}-aec3.pcm")),
        len,
    );
    let (speex, speex_cpu) = run_harness(
        &exe.speex,
        hz,
        &f,
        &n,
        &dir.join(format!("{name}-speex.pcm")),
        len,
    );
    let i = usize::from(hz == 48_000);
    cpu.aec3_s[i] += aec3_cpu;
    cpu.speex_s[i] += speex_cpu;
    cpu.audio_s[i] += len as f64 / f64::from(hz);
    let mut apm = AudioProcessor::new(ProcessorConfig::new(rate));
    let tern = run(&mut apm, far, near).output;
    write_pcm(&dir.join(format!("{name}-tern.pcm")), &tern);
    Outputs { tern, aec3, speex }
}

fn line(figure: &str, v: [f64; 3]) {
    let cell = |x: f64| {
        if x.is_nan() {
            format!("{:>8}", "n/a")
        } else {
            format!("{x:>8.2}")
        }
    };
    eprintln!(
        "| {figure:<44} | {} | {} | {} |",
        cell(v[0]),
        cell(v[1]),
        cell(v[2])
    );
}

/// One figure scored on each canceller's output.
fn each(o: &Outputs, f: impl Fn(&[f64]) -> f64) -> [f64; 3] {
    [f(&o.tern), f(&o.aec3), f(&o.speex)]
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn interop_libwebrtc_aec3_side_by_side() {
    let exe = harness();
    let mut cpu = Cpu::default();
    eprintln!("| figure                                       |     tern |     AEC3 | speexdsp |");
    eprintln!("|---|---|---|---|");
    let mut tern_erle = Vec::new();
    let mut aec3_erle = Vec::new();
    let mut speex_erle = Vec::new();
    // Far-end single talk in the PERF.md room (40 ms, RT60 0.1 s, 8 dB echo loss), both rates.
    for (rate, seed) in [(SampleRate::Hz16000, 1u64), (SampleRate::Hz48000, 2)] {
        let hz = rate.hz();
        let room = Room::new(hz, 40.0, 0.1, 8.0, seed);
        let far: Vec<f64> = speech_like(hz, 16.0, seed)
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let bg = noise(far.len(), 3.0, seed + 100);
        let near: Vec<f64> = (0..far.len())
            .map(|t| room.echo_at(&far, t) + bg[t])
            .collect();
        let o = all(&format!("single-{hz}"), rate, &far, &near, &exe, &mut cpu);
        let from = hz as usize * 4;
        let s = each(&o, |out| {
            let s = score(&far, &near, out, hz, from);
            s.erle_mean
        });
        line(&format!("{} kHz ERLE mean after 4 s, dB", hz / 1000), s);
        line(
            &format!("{} kHz ERLE 10th percentile after 4 s, dB", hz / 1000),
            each(&o, |out| score(&far, &near, out, hz, from).erle_p10),
        );
        line(
            &format!("{} kHz time to 10 dB ERLE, s", hz / 1000),
            each(&o, |out| score(&far, &near, out, hz, from).converged_s),
        );
        tern_erle.push(s[0]);
        aec3_erle.push(s[1]);
        speex_erle.push(s[2]);
    }

    // Near-end single talk (far end silent): output level against input, as in tests/echo.rs.
    for (rate, seed) in [(SampleRate::Hz16000, 3u64), (SampleRate::Hz48000, 3)] {
        let hz = rate.hz();
        let near: Vec<f64> = speech_like(hz, 4.0, seed)
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let far = vec![0.0; near.len()];
        let o = all(
            &format!("near-only-{hz}"),
            rate,
            &far,
            &near,
            &exe,
            &mut cpu,
        );
        let skip = hz as usize / 2;
        line(
            &format!("{} kHz near-end passthrough, dB", hz / 1000),
            each(&o, |out| {
                let pin: f64 = near[skip..out.len()].iter().map(|x| x * x).sum();
                let pout: f64 = out[skip..].iter().map(|x| x * x).sum();
                10.0 * (pout / pin).log10()
            }),
        );
    }

    // Echo-path change at 10 s: recovery over the following 4..10 s.
    let hz = 16_000u32;
    let a_room = Room::new(hz, 40.0, 0.1, 8.0, 10);
    let b_room = Room::new(hz, 45.0, 0.1, 6.0, 11);
    let far: Vec<f64> = speech_like(hz, 20.0, 12)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let change = hz as usize * 10;
    let near: Vec<f64> = (0..far.len())
        .map(|t| {
            if t < change {
                a_room.echo_at(&far, t)
            } else {
                b_room.echo_at(&far, t)
            }
        })
        .collect();
    let o = all(
        "path-change",
        SampleRate::Hz16000,
        &far,
        &near,
        &exe,
        &mut cpu,
    );
    let from = change + hz as usize * 4;
    line(
        "ERLE 4..10 s after a path change, dB",
        each(&o, |out| score(&far, &near, out, hz, from).erle_mean),
    );

    // Double talk 5..12 s: PESQ-WB of the output against the clean talker over that span.
    let room = Room::new(hz, 40.0, 0.1, 8.0, 4);
    let far: Vec<f64> = speech_like(hz, 16.0, 5)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let talker: Vec<f64> = speech_like(hz, 16.0, 6)
        .iter()
        .map(|&v| 0.7 * f64::from(v))
        .collect();
    let dt = (hz as usize * 5)..(hz as usize * 12);
    let near: Vec<f64> = (0..far.len())
        .map(|t| room.echo_at(&far, t) + if dt.contains(&t) { talker[t] } else { 0.0 })
        .collect();
    let o = all(
        "double-talk",
        SampleRate::Hz16000,
        &far,
        &near,
        &exe,
        &mut cpu,
    );
    let dir = work_dir();
    let (rf, tf, af, sf) = (
        dir.join("dt-ref.pcm"),
        dir.join("dt-tern.pcm"),
        dir.join("dt-aec3.pcm"),
        dir.join("dt-speex.pcm"),
    );
    write_pcm(&rf, &talker[dt.clone()]);
    // The span plus 100 ms, so each canceller's latency stays inside; the scorer aligns.
    let span = |x: &[f64]| x[dt.start..(dt.end + hz as usize / 10).min(x.len())].to_vec();
    write_pcm(&tf, &span(&o.tern));
    write_pcm(&af, &span(&o.aec3));
    write_pcm(&sf, &span(&o.speex));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("compare/pesq_wb.py");
    let out = run_with_timeout(
        Command::new(python())
            .arg(script)
            .arg("16000")
            .arg(&rf)
            .arg(&tf)
            .arg(&af)
            .arg(&sf),
        Duration::from_secs(120),
    );
    let scores: Vec<f64> = out
        .lines()
        .filter_map(|l| l.split("\"pesq_wb\": ").nth(1))
        .map(|s| s.split(',').next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(scores.len(), 3, "scorer output: {out}");
    line(
        "double-talk PESQ-WB vs clean near end",
        [scores[0], scores[1], scores[2]],
    );
    let after = dt.end + hz as usize;
    line(
        "ERLE after double talk, dB",
        each(&o, |out| score(&far, &near, out, hz, after).erle_mean),
    );

    // CPU: the C harnesses time their own processing loops (process CPU, optimised builds);
    // tern-aec runs debug-built here, so its figure comes from `cargo bench -p tern-aec`.
    for (i, khz) in [(0, 16), (1, 48)] {
        line(
            &format!("{khz} kHz CPU, × real time (harness loop)"),
            [
                f64::NAN,
                cpu.audio_s[i] / cpu.aec3_s[i].max(1e-6),
                cpu.audio_s[i] / cpu.speex_s[i].max(1e-6),
            ],
        );
    }

    // Sanity of the comparison itself: AEC3 ran and cancelled echo; speexdsp ran and its output
    // is usable for scoring (finite figures; its length was checked per run).
    assert!(
        aec3_erle.iter().all(|&e| e > 6.0),
        "AEC3 did not cancel: {aec3_erle:?}"
    );
    assert!(
        speex_erle.iter().all(|e| e.is_finite()) && scores[2].is_finite(),
        "speexdsp figures not finite: {speex_erle:?}, PESQ {}",
        scores[2]
    );
    // PERF.md goal: ERLE at least AEC3's on the single-talk rooms.
    for (t, a) in tern_erle.iter().zip(&aec3_erle) {
        assert!(t >= a, "tern ERLE {t:.1} dB below AEC3's {a:.1} dB");
    }
}
