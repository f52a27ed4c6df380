//! BAD_INPUT.md row 37 (AEC half): NaN, Inf, denormals, saturated or zero input, sample-rate
//! change mid-stream, wrong frame sizes, render/capture imbalance. Delay jumps and clock drift
//! are in `tests/echo.rs` (`delay_jumps_of_200_ms_are_followed`, `clock_drift_of_100_ppm_is_tracked`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use proptest::prelude::*;
use tern_aec::{AecError, AudioProcessor, ProcessorConfig, SampleRate};

/// Every stage switched on.
fn full(rate: SampleRate) -> AudioProcessor {
    let mut c = ProcessorConfig::new(rate);
    c.noise_suppression = true;
    c.gain_control = true;
    AudioProcessor::new(c)
}

/// Runs a converging echo scenario through `apm` for `secs` and returns the ERLE (dB) of the
/// last two seconds: the processor still works after whatever was done to it before.
fn still_cancels(apm: &mut AudioProcessor, secs: f64) -> f64 {
    let hz = apm.config().sample_rate.hz();
    let room = Room::new(hz, 40.0, 0.1, 8.0, 21);
    let far: Vec<f64> = speech_like(hz, secs, 22)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let near: Vec<f64> = (0..far.len()).map(|t| room.echo_at(&far, t)).collect();
    let r = run(apm, &far, &near);
    let from = far.len() - 2 * hz as usize;
    mean(&erle_segments(&r, hz as usize / 10, from, far.len()))
}

#[test]
fn bad_input_aec_37_nan_and_inf_samples_are_silence() {
    for rate in [SampleRate::Hz16000, SampleRate::Hz48000] {
        let mut apm = full(rate);
        let n = apm.frame_len();
        for i in 0..300 {
            let far: Vec<f32> = (0..n)
                .map(|k| match (i + k) % 4 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    _ => 0.3 * ((i * n + k) as f32 * 0.05).sin(),
                })
                .collect();
            let mut near: Vec<f32> = far.iter().rev().copied().collect();
            apm.process_render_f32(&far).unwrap();
            apm.process_capture_f32(&mut near).unwrap();
            assert!(
                near.iter().all(|v| v.is_finite() && v.abs() <= 1.0),
                "frame {i}"
            );
            let s = apm.stats();
            assert!(s.erle_db.is_finite() && s.echo_leak.is_finite() && s.agc_gain_db.is_finite());
        }
    }
}

#[test]
fn bad_input_aec_37_denormals_are_flushed() {
    let mut apm = full(SampleRate::Hz16000);
    let tiny = f32::from_bits(1); // the smallest subnormal
    for _ in 0..200 {
        let far = vec![tiny; 160];
        let mut near = vec![-tiny; 160];
        apm.process_render_f32(&far).unwrap();
        apm.process_capture_f32(&mut near).unwrap();
        assert!(
            near.iter().all(|v| *v == 0.0 || v.is_normal()),
            "a subnormal reached the output"
        );
    }
    // Nothing got stuck: echo is still cancelled afterwards.
    let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::Hz16000));
    for _ in 0..200 {
        apm.process_render_f32(&[tiny; 160]).unwrap();
        apm.process_capture_f32(&mut [tiny; 160]).unwrap();
    }
    let erle = still_cancels(&mut apm, 8.0);
    assert!(erle > 15.0, "ERLE after denormal input {erle:.1} dB");
}

#[test]
fn bad_input_aec_37_saturated_input_stays_in_range() {
    for rate in [SampleRate::Hz16000, SampleRate::Hz48000] {
        let mut apm = full(rate);
        let n = apm.frame_len();
        for i in 0..300 {
            // Full-scale square waves on both sides (a clipping loudspeaker and microphone).
            let far: Vec<i16> = (0..n)
                .map(|k| {
                    if ((i * n + k) / 37).is_multiple_of(2) {
                        i16::MAX
                    } else {
                        i16::MIN
                    }
                })
                .collect();
            let mut near: Vec<i16> = (0..n)
                .map(|k| {
                    if ((i * n + k) / 23).is_multiple_of(2) {
                        i16::MIN
                    } else {
                        i16::MAX
                    }
                })
                .collect();
            apm.process_render(&far).unwrap();
            apm.process_capture(&mut near).unwrap();
            let s = apm.stats();
            assert!(s.erle_db.is_finite() && s.agc_gain_db.is_finite());
        }
    }
}

#[test]
fn bad_input_aec_37_all_zero_input_then_echo() {
    let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::Hz16000));
    for _ in 0..500 {
        apm.process_render(&[0; 160]).unwrap();
        let mut near = [0i16; 160];
        apm.process_capture(&mut near).unwrap();
        assert!(near.iter().all(|&v| v == 0), "silence in, silence out");
    }
    assert_eq!(
        apm.stats().delay_ms,
        None,
        "no delay is estimated from silence"
    );
    let erle = still_cancels(&mut apm, 8.0);
    assert!(erle > 15.0, "ERLE after 5 s of zeros {erle:.1} dB");
}

#[test]
fn bad_input_aec_37_sample_rate_change_mid_stream() {
    // Echo cancellation alone, so that the ERLE at the end is not offset by AGC gain.
    let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::Hz16000));
    let mut near = vec![1000i16; 160];
    apm.process_render(&[500; 160]).unwrap();
    apm.process_capture(&mut near).unwrap();
    apm.set_sample_rate(SampleRate::Hz48000);
    assert_eq!(apm.frame_len(), 480);
    // A 16 kHz frame is now refused, with a typed error.
    assert_eq!(
        apm.process_render(&[0; 160]),
        Err(AecError::FrameLength {
            expected: 480,
            got: 160
        })
    );
    assert_eq!(
        apm.process_capture(&mut near),
        Err(AecError::FrameLength {
            expected: 480,
            got: 160
        })
    );
    let mut near48 = vec![0i16; 480];
    apm.process_render(&[0; 480]).unwrap();
    apm.process_capture(&mut near48).unwrap();
    apm.set_sample_rate(SampleRate::Hz16000);
    let erle = still_cancels(&mut apm, 8.0);
    assert!(erle > 15.0, "ERLE after 16 -> 48 -> 16 kHz {erle:.1} dB");
}

#[test]
fn bad_input_aec_37_wrong_frame_lengths_and_rates_are_typed_errors() {
    assert_eq!(
        SampleRate::from_hz(44_100),
        Err(AecError::UnsupportedSampleRate { hz: 44_100 })
    );
    assert_eq!(
        SampleRate::from_hz(0),
        Err(AecError::UnsupportedSampleRate { hz: 0 })
    );
    let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::Hz16000));
    for len in [0usize, 1, 159, 161, 320, 480, 1 << 16] {
        let far = vec![0i16; len];
        let mut near = vec![7i16; len];
        assert_eq!(
            apm.process_render(&far),
            Err(AecError::FrameLength {
                expected: 160,
                got: len
            })
        );
        assert_eq!(
            apm.process_capture(&mut near),
            Err(AecError::FrameLength {
                expected: 160,
                got: len
            })
        );
        assert!(
            near.iter().all(|&v| v == 7),
            "a refused frame is left untouched"
        );
        let mut nearf = vec![0.5f32; len];
        assert!(apm.process_render_f32(&nearf.clone()).is_err());
        assert!(apm.process_capture_f32(&mut nearf).is_err());
    }
    // Refused calls changed nothing: the stream continues normally.
    let erle = still_cancels(&mut apm, 8.0);
    assert!(erle > 15.0, "ERLE after refused frames {erle:.1} dB");
}

#[test]
fn bad_input_aec_37_render_capture_imbalance_is_bounded() {
    let mut apm = AudioProcessor::new(ProcessorConfig::new(SampleRate::Hz16000));
    // A minute of render with no capture, then 5 s of capture with no render: no growth, no panic.
    for i in 0..6_000 {
        apm.process_render(&[(i % 300) as i16; 160]).unwrap();
    }
    for _ in 0..500 {
        let mut near = [100i16; 160];
        apm.process_capture(&mut near).unwrap();
    }
    let erle = still_cancels(&mut apm, 10.0);
    assert!(erle > 15.0, "ERLE after an imbalance {erle:.1} dB");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Arbitrary float samples (any bit pattern: NaN, Inf, subnormals, huge) never yield a
    /// non-finite or out-of-range output sample.
    #[test]
    fn bad_input_aec_37_any_float_bits_give_finite_output(
        bits in proptest::collection::vec(any::<u32>(), 160 * 2 * 20),
        wide in any::<bool>(),
    ) {
        let rate = if wide { SampleRate::Hz48000 } else { SampleRate::Hz16000 };
        let mut apm = full(rate);
        let n = apm.frame_len();
        let samples: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b)).collect();
        for chunk in samples.chunks_exact(2 * 160) {
            let far: Vec<f32> = chunk[..160].iter().cycle().take(n).copied().collect();
            let mut near: Vec<f32> = chunk[160..].iter().cycle().take(n).copied().collect();
            apm.process_render_f32(&far).unwrap();
            apm.process_capture_f32(&mut near).unwrap();
            prop_assert!(near.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
        }
    }
}
