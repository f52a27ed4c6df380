//! Shared helpers: speech-like signals, synthetic rooms, and an echo scenario runner.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_aec::{AudioProcessor, ProcessorConfig, SampleRate};

/// Deterministic xorshift generator for tests.
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A speech-like signal: syllables (voiced, 90–260 Hz gliding pitch, ten harmonics shaped by two
/// formants, 120–300 ms) separated by short unvoiced bursts and pauses, over faint noise.
pub fn speech_like(rate: u32, seconds: f64, seed: u64) -> Vec<i16> {
    let mut rng = TestRng(seed.max(1));
    let n = (f64::from(rate) * seconds) as usize;
    let mut out = vec![0f64; n];
    let mut t = 0usize;
    let fs = f64::from(rate);
    while t < n {
        let syl = ((0.12 + 0.18 * rng.unit()) * fs) as usize;
        let f0_start = 90.0 + 170.0 * rng.unit();
        let f0_end = f0_start * (0.8 + 0.4 * rng.unit());
        let f1 = 300.0 + 600.0 * rng.unit();
        let f2 = 900.0 + 1600.0 * rng.unit();
        let amp = 3000.0 + 6000.0 * rng.unit();
        let mut phase = 0.0f64;
        for i in 0..syl.min(n - t) {
            let x = i as f64 / syl as f64;
            let f0 = f0_start + (f0_end - f0_start) * x;
            phase += 2.0 * std::f64::consts::PI * f0 / fs;
            let env = (std::f64::consts::PI * x).sin().powf(0.6);
            let mut s = 0.0;
            for h in 1..=10 {
                let fh = f0 * h as f64;
                if fh > fs / 2.0 - 200.0 {
                    break;
                }
                let g = 1.0 / (1.0 + ((fh - f1) / 150.0).powi(2))
                    + 0.5 / (1.0 + ((fh - f2) / 250.0).powi(2));
                s += g * (phase * h as f64).sin();
            }
            out[t + i] += amp * env * s * 0.5;
        }
        t += syl;
        // Unvoiced burst (fricative) or pause.
        let gap = ((0.03 + 0.15 * rng.unit()) * fs) as usize;
        let fricative = rng.unit() < 0.4;
        for i in 0..gap.min(n.saturating_sub(t)) {
            if fricative {
                let env = (std::f64::consts::PI * i as f64 / gap as f64).sin();
                out[t + i] += (rng.unit() - 0.5) * 1500.0 * env;
            }
        }
        t += gap;
    }
    out.iter()
        .map(|&v| (v + (rng.unit() - 0.5) * 20.0).clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// White noise at `rms`.
pub fn noise(n: usize, rms: f64, seed: u64) -> Vec<f64> {
    let mut r = TestRng(seed.max(1));
    (0..n)
        .map(|_| (r.unit() - 0.5) * rms * 12f64.sqrt())
        .collect()
}

/// A synthetic room: `delay_ms` of pure delay, a direct path, then an exponentially decaying
/// diffuse tail with the given RT60 (sparse: one tap in `sparsity`, to keep debug-mode
/// convolution cheap), scaled so the echo is `echo_loss_db` below the far end.
pub struct Room {
    pub taps: Vec<(usize, f64)>,
}

impl Room {
    pub fn new(rate: u32, delay_ms: f64, rt60_s: f64, echo_loss_db: f64, seed: u64) -> Room {
        let fs = f64::from(rate);
        let d = (delay_ms * fs / 1000.0) as usize;
        let len = (0.8 * rt60_s * fs) as usize; // to -48 dB
        let sparsity = (rate / 4000) as usize;
        let mut r = TestRng(seed.max(1));
        let mut taps = vec![(d, 1.0)];
        for i in (1..len).step_by(sparsity) {
            let decay = 10f64.powf(-3.0 * i as f64 / (rt60_s * fs));
            taps.push((d + i, (r.unit() - 0.5) * 1.2 * decay));
        }
        let energy: f64 = taps.iter().map(|t| t.1 * t.1).sum();
        let g = 10f64.powf(-echo_loss_db / 20.0) / energy.sqrt();
        for t in &mut taps {
            t.1 *= g;
        }
        Room { taps }
    }

    /// Echo of `far` at sample t.
    pub fn echo_at(&self, far: &[f64], t: usize) -> f64 {
        self.taps
            .iter()
            .filter(|(d, _)| *d <= t)
            .map(|(d, g)| far[t - d] * g)
            .sum()
    }
}

/// Per-10-ms records of one run.
pub struct Run {
    pub near_in: Vec<f64>,
    pub output: Vec<f64>,
    pub far: Vec<f64>,
    pub erle_stat: Vec<f32>,
    pub delay_ms: Vec<Option<f32>>,
}

/// Runs far and near (already containing echo) through a processor frame by frame.
pub fn run(apm: &mut AudioProcessor, far: &[f64], near: &[f64]) -> Run {
    let frame = apm.frame_len();
    let mut out = Vec::with_capacity(near.len());
    let mut erle = Vec::new();
    let mut delay = Vec::new();
    for (f, n) in far.chunks_exact(frame).zip(near.chunks_exact(frame)) {
        let fi: Vec<i16> = f
            .iter()
            .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
            .collect();
        let mut ni: Vec<i16> = n
            .iter()
            .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
            .collect();
        apm.process_render(&fi).unwrap();
        apm.process_capture(&mut ni).unwrap();
        out.extend(ni.iter().map(|&v| f64::from(v)));
        let s = apm.stats();
        erle.push(s.erle_db);
        delay.push(s.delay_ms);
    }
    Run {
        near_in: near.to_vec(),
        output: out,
        far: far.to_vec(),
        erle_stat: erle,
        delay_ms: delay,
    }
}

/// ERLE in dB per `seg`-sample segment where the far end is active: capture power over output
/// power (the output includes comfort noise). Segments with a quiet far end give None.
pub fn erle_segments(run: &Run, seg: usize, from: usize, to: usize) -> Vec<f64> {
    let far_rms_all = (run.far.iter().map(|v| v * v).sum::<f64>() / run.far.len() as f64).sqrt();
    let mut v = Vec::new();
    let mut t = from;
    while t + seg <= to.min(run.output.len()) {
        let far_p: f64 = run.far[t..t + seg].iter().map(|x| x * x).sum::<f64>() / seg as f64;
        if far_p.sqrt() > 0.3 * far_rms_all {
            let din: f64 = run.near_in[t..t + seg].iter().map(|x| x * x).sum();
            let dout: f64 = run.output[t..t + seg].iter().map(|x| x * x).sum();
            v.push(10.0 * ((din + 1.0) / (dout + 1.0)).log10());
        }
        t += seg;
    }
    v
}

pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s[((s.len() as f64 - 1.0) * p).round() as usize]
}

/// A standard far-end-only echo scenario: returns the processor's run.
pub fn echo_scenario(rate: SampleRate, seconds: f64, room: &Room, seed: u64) -> Run {
    let hz = rate.hz();
    let far: Vec<f64> = speech_like(hz, seconds, seed)
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let bg = noise(far.len(), 3.0, seed + 100);
    let near: Vec<f64> = (0..far.len())
        .map(|t| room.echo_at(&far, t) + bg[t])
        .collect();
    let mut apm = AudioProcessor::new(ProcessorConfig::new(rate));
    run(&mut apm, &far, &near)
}
