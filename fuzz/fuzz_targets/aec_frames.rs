#![no_main]
//! The whole `AudioProcessor` (echo cancellation, noise suppression, gain control) driven by a
//! byte script: render and capture frames as i16 or as arbitrary f32 bit patterns (NaN, Inf,
//! subnormals), wrong frame lengths, sample-rate changes, render/capture imbalance. Never
//! panics; every accepted output sample is finite and in range.

use libfuzzer_sys::fuzz_target;
use tern_aec::{AudioProcessor, ProcessorConfig, SampleRate};

fuzz_target!(|data: &[u8]| {
    let Some((&first, mut rest)) = data.split_first() else { return };
    let rate = if first & 1 == 0 { SampleRate::Hz16000 } else { SampleRate::Hz48000 };
    let mut config = ProcessorConfig::new(rate);
    config.noise_suppression = first & 2 != 0;
    config.gain_control = first & 4 != 0;
    config.residual_echo_suppression = first & 8 == 0;
    config.comfort_noise = first & 16 == 0;
    let mut apm = AudioProcessor::new(config);
    // script: [op, repeat, bytes...] — samples come from the bytes that follow, cycled.
    while let [op, repeat, tail @ ..] = rest {
        let take = tail.len().min(64);
        let (bytes, more) = tail.split_at(take);
        rest = more;
        let n = apm.frame_len();
        let sample = |i: usize| -> [u8; 4] {
            if bytes.is_empty() {
                return [0; 4];
            }
            let b = |k: usize| bytes[(4 * i + k) % bytes.len()];
            [b(0), b(1), b(2), b(3)]
        };
        for _ in 0..=(*repeat % 16) {
            match op % 6 {
                0 => {
                    let far: Vec<i16> = (0..n).map(|i| { let s = sample(i); i16::from_le_bytes([s[0], s[1]]) }).collect();
                    assert!(apm.process_render(&far).is_ok());
                }
                1 => {
                    let mut near: Vec<i16> = (0..n).map(|i| { let s = sample(i); i16::from_le_bytes([s[2], s[3]]) }).collect();
                    assert!(apm.process_capture(&mut near).is_ok());
                }
                2 => {
                    let far: Vec<f32> = (0..n).map(|i| f32::from_le_bytes(sample(i))).collect();
                    assert!(apm.process_render_f32(&far).is_ok());
                }
                3 => {
                    let mut near: Vec<f32> = (0..n).map(|i| f32::from_le_bytes(sample(i))).collect();
                    assert!(apm.process_capture_f32(&mut near).is_ok());
                    assert!(near.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
                }
                4 => {
                    // A frame of the wrong length is refused and changes nothing.
                    let len = (usize::from(*repeat) * 7 + 1) % (2 * n);
                    if len != n {
                        let mut near = vec![1i16; len];
                        assert!(apm.process_capture(&mut near).is_err());
                        assert!(near.iter().all(|&v| v == 1));
                        assert!(apm.process_render(&near).is_err());
                    }
                }
                _ => {
                    let r = if op & 0x80 == 0 { SampleRate::Hz16000 } else { SampleRate::Hz48000 };
                    apm.set_sample_rate(r);
                }
            }
        }
        let s = apm.stats();
        assert!(s.erle_db.is_finite() && s.echo_leak.is_finite() && s.agc_gain_db.is_finite());
        assert!(s.delay_ms.is_none_or(f32::is_finite));
    }
});
