//! Echo cancellation in synthetic rooms: ERLE after convergence, near-end passthrough, double
//! talk, delay jumps, clock drift, echo-path change.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use tern_aec::{AudioProcessor, ProcessorConfig, SampleRate};

#[test]
fn erle_after_convergence_16k() {
    let rate = SampleRate::Hz16000;
    let room = Room::new(16_000, 40.0, 0.1, 8.0, 1);
    let r = echo_scenario(rate, 16.0, &room, 1);
    let e = erle_segments(&r, 1600, 16_000 * 4, r.output.len());
    let (m, p10) = (mean(&e), percentile(&e, 0.1));
    eprintln!(
        "16 kHz ERLE after 4 s: mean {m:.1} dB, 10th percentile {p10:.1} dB over {} segments",
        e.len()
    );
    assert!(m >= 20.0, "mean ERLE {m:.1}");
    // The worst frames are syllable onsets in bins the filter has not learnt; the per-bin
    // residual estimate (far-end regression) keeps them above AEC3's 20.8 dB here.
    assert!(p10 >= 22.0, "p10 ERLE {p10:.1}");
    let d = r.delay_ms.last().unwrap().unwrap();
    assert!((d - 40.0).abs() <= 2.0, "delay estimate {d}");
}

#[test]
fn erle_after_convergence_48k() {
    let rate = SampleRate::Hz48000;
    let room = Room::new(48_000, 40.0, 0.1, 8.0, 2);
    let r = echo_scenario(rate, 12.0, &room, 2);
    let e = erle_segments(&r, 4800, 48_000 * 4, r.output.len());
    let (m, p10) = (mean(&e), percentile(&e, 0.1));
    eprintln!(
        "48 kHz ERLE after 4 s: mean {m:.1} dB, 10th percentile {p10:.1} dB over {} segments",
        e.len()
    );
    assert!(m >= 20.0, "mean ERLE {m:.1}");
    assert!(p10 >= 20.0, "p10 ERLE {p10:.1}");
}

#[test]
fn near_end_single_talk_passes_within_1_db() {
    for rate in [SampleRate::Hz16000, SampleRate::Hz48000] {
        let hz = rate.hz();
        let near: Vec<f64> = speech_like(hz, 4.0, 3)
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let far = vec![0.0; near.len()];
        let mut apm = AudioProcessor::new(ProcessorConfig::new(rate));
        let r = run(&mut apm, &far, &near);
        let skip = hz as usize / 2;
        let pin: f64 = near[skip..].iter().map(|x| x * x).sum();
        let pout: f64 = r.output[skip..].iter().map(|x| x * x).sum();
        let db = 10.0 * (pout / pin).log10();
        eprintln!("{hz} Hz near-end passthrough: {db:+.2} dB");
        assert!(db.abs() <= 1.0, "{db:+.2} dB");
    }
}

#[test]
fn double_talk_keeps_near_end_and_does_not_diverge() {
    let hz = 16_000;
    let room = Room::new(hz, 40.0, 0.1, 8.0, 4);
    let secs = 16.0;
    let far: Vec<f64> = speech_like(hz, secs, 5)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let talker: Vec<f64> = speech_like(hz, secs, 6)
        .iter()
        .map(|&v| 0.7 * f64::from(v))
        .collect();
    let n = far.len();
    // Near-end talks during 6..10 s.
    let dt = (hz as usize * 6)..(hz as usize * 10);
    let near: Vec<f64> = (0..n)
        .map(|t| room.echo_at(&far, t) + if dt.contains(&t) { talker[t] } else { 0.0 })
        .collect();
    let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::Hz16000));
    let r = run(&mut apm, &far, &near);
    let p = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
    let lat = 2 * 64;
    let talker_p = p(&talker[dt.clone()]);
    let out_p = p(&r.output[dt.start + lat..dt.end + lat]);
    let kept = 10.0 * (out_p / talker_p).log10();
    eprintln!("double talk: near-end level in output {kept:+.1} dB");
    assert!(
        kept > -6.0,
        "near end attenuated by {kept:.1} dB in double talk"
    );
    // After double talk, echo is still cancelled (the filter did not diverge).
    let e = erle_segments(&r, 1600, hz as usize * 11, n);
    let m = mean(&e);
    eprintln!("ERLE after double talk: {m:.1} dB");
    assert!(m > 15.0, "ERLE after double talk {m:.1}");
}

/// Runs far-end speech through a room whose delay follows `delay_at(t)` (samples).
fn moving_delay_run(hz: u32, secs: f64, delay_at: impl Fn(usize) -> usize) -> Run {
    let room = Room::new(hz, 0.0, 0.1, 8.0, 7);
    let far: Vec<f64> = speech_like(hz, secs, 8)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let n = far.len();
    let near: Vec<f64> = (0..n)
        .map(|t| {
            let d = delay_at(t);
            if t >= d {
                room.echo_at(&far, t - d)
            } else {
                0.0
            }
        })
        .collect();
    let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::from_hz(hz).unwrap()));
    run(&mut apm, &far, &near)
}

#[test]
fn delay_jumps_of_200_ms_are_followed() {
    let hz = 16_000usize;
    for (before, after) in [(40usize, 240usize), (240, 40)] {
        let jump_at = hz * 8;
        let r = moving_delay_run(16_000, 16.0, |t| {
            if t < jump_at { before * 16 } else { after * 16 }
        });
        let e = erle_segments(&r, 1600, jump_at + hz * 3, r.output.len());
        let m = mean(&e);
        let d = r.delay_ms.last().unwrap().unwrap();
        eprintln!(
            "delay {before} -> {after} ms: estimate {d:.1} ms, ERLE 3 s after the jump {m:.1} dB"
        );
        assert!((d - after as f32).abs() <= 2.0, "estimate {d}");
        assert!(m > 15.0, "ERLE after jump {m:.1}");
    }
}

#[test]
fn clock_drift_of_100_ppm_is_tracked() {
    // The echo path lengthens by one sample every 10 000 samples (100 ppm) for 30 s: 48 samples.
    let r = moving_delay_run(16_000, 30.0, |t| 640 + t / 10_000);
    let e = erle_segments(&r, 1600, 16_000 * 20, r.output.len());
    let m = mean(&e);
    eprintln!("100 ppm drift: ERLE over 20..30 s {m:.1} dB");
    assert!(m > 18.0, "ERLE under drift {m:.1}");
}

#[test]
fn echo_path_change_recovers() {
    let hz = 16_000u32;
    let a = Room::new(hz, 40.0, 0.1, 8.0, 10);
    let b = Room::new(hz, 45.0, 0.1, 6.0, 11);
    let far: Vec<f64> = speech_like(hz, 20.0, 12)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let change = hz as usize * 10;
    let near: Vec<f64> = (0..far.len())
        .map(|t| {
            if t < change {
                a.echo_at(&far, t)
            } else {
                b.echo_at(&far, t)
            }
        })
        .collect();
    let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::Hz16000));
    let r = run(&mut apm, &far, &near);
    let e = erle_segments(&r, 1600, change + hz as usize * 4, r.output.len());
    let m = mean(&e);
    eprintln!("path change: ERLE 4..10 s after {m:.1} dB");
    assert!(m > 18.0, "ERLE after path change {m:.1}");
}
