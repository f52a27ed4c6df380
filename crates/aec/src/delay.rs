//! Echo delay estimation: GCC-PHAT between the far-end (render) and near-end (capture) signals
//! decimated to 4 kHz, with a time-smoothed cross-spectrum and a confirmation rule so one
//! ambiguous update cannot move the estimate.

use std::collections::VecDeque;

use crate::fft::{Complex, Fft};

/// Estimation rate after decimation.
const RATE: usize = 4_000;
/// Near-end window per update (128 ms at 4 kHz).
const WINDOW: usize = 512;
/// Update period (64 ms at 4 kHz).
const HOP: usize = 256;
/// Cross-spectrum smoothing per update.
const SMOOTHING: f32 = 0.75;
/// Smoothing of the slow cross-spectrum (about 1.3 s), which refines the estimate between jumps.
const SLOW_SMOOTHING: f32 = 0.95;
/// How far before the correlation maximum an earlier arrival is looked for (10 ms at 4 kHz).
const EARLY_WINDOW: usize = 40;
/// How close to the maximum an earlier peak must come to count as the first arrival.
const EARLY_PEAK: f32 = 0.6;
/// Peak-to-mean ratio of the correlation below which an update says nothing.
const MIN_QUALITY: f32 = 6.0;
/// Consecutive updates that must agree before the estimate moves.
const CONFIRM: u32 = 2;
/// Consecutive updates that must agree before the estimate jumps further than `NEAR_LAG`.
const CONFIRM_JUMP: u32 = 3;
/// A lag change up to this (10 ms at 4 kHz) counts as a small move (reflections, pitch-period
/// ambiguity, drift), well inside what the echo canceller's alignment hysteresis absorbs.
const NEAR_LAG: usize = 40;

#[derive(Debug, Clone)]
pub(crate) struct DelayEstimator {
    decimation: usize,
    max_lag: usize,
    fft: Fft,
    /// Decimated far end, newest last; `far_base` is the decimated index of the first entry.
    far: VecDeque<f32>,
    far_base: u64,
    near: VecDeque<f32>,
    near_base: u64,
    far_acc: (f32, usize),
    near_acc: (f32, usize),
    since_update: usize,
    cross: Vec<Complex>,
    cross_slow: Vec<Complex>,
    buf_f: Vec<Complex>,
    buf_n: Vec<Complex>,
    candidate: Option<(usize, u32)>,
    estimate: Option<usize>,
    quality: f32,
    taper: Vec<f32>,
}

impl DelayEstimator {
    pub fn new(decimation: usize, max_delay_ms: u32) -> DelayEstimator {
        let max_lag = (max_delay_ms as usize * RATE / 1000).max(1);
        let fft = Fft::new(2 * max_lag + WINDOW);
        let n = fft.len();
        DelayEstimator {
            decimation: decimation.max(1),
            max_lag,
            fft,
            far: VecDeque::new(),
            far_base: 0,
            near: VecDeque::new(),
            near_base: 0,
            far_acc: (0.0, 0),
            near_acc: (0.0, 0),
            since_update: 0,
            cross: vec![Complex::ZERO; n],
            cross_slow: vec![Complex::ZERO; n],
            buf_f: vec![Complex::ZERO; n],
            buf_n: vec![Complex::ZERO; n],
            candidate: None,
            estimate: None,
            quality: 0.0,
            taper: (0..WINDOW)
                .map(|i| {
                    (std::f32::consts::PI * (i as f32 + 0.5) / WINDOW as f32)
                        .sin()
                        .powi(2)
                })
                .collect(),
        }
    }

    /// The confirmed delay in full-rate samples (near(t) ≈ far(t - delay)).
    pub fn delay(&self) -> Option<usize> {
        self.estimate.map(|d| d * self.decimation)
    }

    fn push(
        acc: &mut (f32, usize),
        buf: &mut VecDeque<f32>,
        base: &mut u64,
        cap: usize,
        d: usize,
        x: f32,
    ) {
        // Boxcar anti-aliasing: average each group of `d` samples.
        acc.0 += x;
        acc.1 += 1;
        if acc.1 == d {
            buf.push_back(acc.0 / d as f32);
            *acc = (0.0, 0);
            while buf.len() > cap {
                buf.pop_front();
                *base += 1;
            }
        }
    }

    /// Feeds far-end samples (full rate).
    pub fn push_far(&mut self, x: &[f32]) {
        // Room for the window, the lag range and half a second of render running ahead.
        let cap = self.max_lag + WINDOW + 4 * HOP + RATE / 2;
        for &v in x {
            Self::push(
                &mut self.far_acc,
                &mut self.far,
                &mut self.far_base,
                cap,
                self.decimation,
                v,
            );
        }
    }

    /// Feeds near-end samples (full rate); runs an update every 64 ms.
    pub fn push_near(&mut self, x: &[f32]) {
        let before = self.near.len() as u64 + self.near_base;
        for &v in x {
            Self::push(
                &mut self.near_acc,
                &mut self.near,
                &mut self.near_base,
                WINDOW + HOP,
                self.decimation,
                v,
            );
        }
        let after = self.near.len() as u64 + self.near_base;
        self.since_update += (after - before) as usize;
        if self.since_update >= HOP {
            self.since_update = 0;
            self.update();
        }
    }

    fn update(&mut self) {
        // Near window: decimated indices [t - WINDOW, t); far: [t - WINDOW - max_lag, t).
        let t = self.near_base + self.near.len() as u64;
        if self.near.len() < WINDOW {
            return;
        }
        // Far window: decimated indices [t - WINDOW - max_lag, t), zero before the stream began.
        // (Clamping the start at 0 instead would misplace every lag while t < WINDOW + max_lag.)
        let span = (WINDOW + self.max_lag) as u64;
        if t >= span && t - span < self.far_base {
            return; // Render and capture are too far apart for the window: wait.
        }
        self.buf_f.fill(Complex::ZERO);
        self.buf_n.fill(Complex::ZERO);
        let mut far_energy = 0.0;
        for (i, slot) in self
            .buf_f
            .iter_mut()
            .take(WINDOW + self.max_lag)
            .enumerate()
        {
            let abs = (t + i as u64).checked_sub(span);
            let v = abs
                .and_then(|a| a.checked_sub(self.far_base))
                .and_then(|k| self.far.get(k as usize))
                .copied()
                .unwrap_or(0.0);
            far_energy += v * v;
            *slot = Complex::new(v, 0.0);
        }
        let near_off = self.near.len() - WINDOW;
        let mut near_energy = 0.0;
        for i in 0..WINDOW {
            let v = self.near.get(near_off + i).copied().unwrap_or(0.0);
            near_energy += v * v;
            // Hann taper: the window's edges would otherwise be broadband "clicks" that PHAT
            // whitening turns into false peaks at lag 0 (both windows end at t) and at max_lag
            // (both start together).
            let v = v * self.taper.get(i).copied().unwrap_or(0.0);
            if let Some(slot) = self.buf_n.get_mut(self.max_lag + i) {
                *slot = Complex::new(v, 0.0);
            }
        }
        // Silence carries no timing information.
        if far_energy < 1e3 * (WINDOW + self.max_lag) as f32 || near_energy < 1e2 * WINDOW as f32 {
            return;
        }
        self.fft.forward(&mut self.buf_f);
        self.fft.forward(&mut self.buf_n);
        for (((c, slow), f), m) in self
            .cross
            .iter_mut()
            .zip(&mut self.cross_slow)
            .zip(&self.buf_f)
            .zip(&self.buf_n)
        {
            let x = f.conj() * *m;
            // PHAT weighting before smoothing: every update counts equally, whatever its level.
            let x = x.scale(1.0 / (x.norm_sqr().sqrt() + 1e-9));
            *c = c.scale(SMOOTHING) + x.scale(1.0 - SMOOTHING);
            *slow = slow.scale(SLOW_SMOOTHING) + x.scale(1.0 - SLOW_SMOOTHING);
        }
        let fast = self.peak(true);
        let slow = self.peak(false);
        self.quality = fast.1;
        if fast.1 < MIN_QUALITY {
            return;
        }
        let lag = fast.0;
        match &mut self.candidate {
            Some((c, count)) if c.abs_diff(lag) <= 1 => {
                *c = lag;
                *count = count.saturating_add(1);
            }
            _ => self.candidate = Some((lag, 1)),
        }
        let Some((candidate, count)) = self.candidate else {
            return;
        };
        match self.estimate {
            // A move beyond the filter's tolerance discards what the filter learnt: it takes
            // more agreeing updates of the fast correlation, and restarts the slow one there.
            Some(e) if e.abs_diff(candidate) > NEAR_LAG => {
                if count >= CONFIRM_JUMP {
                    self.estimate = Some(candidate);
                    self.cross_slow.copy_from_slice(&self.cross);
                }
            }
            // Near the estimate, the slow correlation decides: voiced speech puts secondary
            // peaks at pitch-period offsets that the fast one picks now and then, while the slow
            // one averages over pitch changes.
            Some(_) => {
                if slow.1 >= MIN_QUALITY
                    && self
                        .estimate
                        .is_some_and(|e| e.abs_diff(slow.0) <= NEAR_LAG)
                {
                    self.estimate = Some(slow.0);
                }
            }
            None => {
                if count >= CONFIRM {
                    self.estimate = Some(candidate);
                    self.cross_slow.copy_from_slice(&self.cross);
                }
            }
        }
    }

    /// The best lag of the fast (or slow) smoothed correlation and its peak-to-mean quality.
    fn peak(&mut self, fast: bool) -> (usize, f32) {
        self.buf_f
            .copy_from_slice(if fast { &self.cross } else { &self.cross_slow });
        self.fft.inverse(&mut self.buf_f);
        // Circular correlation: lag τ (near lags far by τ) sits at index τ.
        let mut best = (0usize, f32::MIN);
        let mut sum = 0.0;
        for (lag, v) in self.buf_f.iter().take(self.max_lag + 1).enumerate() {
            sum += v.re.abs();
            if v.re > best.1 {
                best = (lag, v.re);
            }
        }
        let mean = sum / (self.max_lag + 1) as f32;
        // The echo path starts at its first strong arrival, which need not be its strongest:
        // take the earliest local peak within EARLY_WINDOW before the maximum that comes close
        // to it (GCC otherwise alternates between the direct path and early reflections).
        let from = best.0.saturating_sub(EARLY_WINDOW);
        let floor = EARLY_PEAK * best.1;
        let at = |i: usize| self.buf_f.get(i).map_or(f32::MIN, |c| c.re);
        let lag = (from..best.0)
            .find(|&i| {
                let v = at(i);
                v >= floor && v >= at(i + 1) && (i == 0 || v >= at(i - 1))
            })
            .unwrap_or(best.0);
        (lag, if mean > 0.0 { best.1 / mean } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8000.0
            })
            .collect()
    }

    #[test]
    fn finds_a_delay_and_follows_a_jump() {
        let fs = 16_000;
        let far = noise(fs * 6, 5);
        let mut est = DelayEstimator::new(4, 400);
        let delay_at = |t: usize| if t < fs * 3 { 40 * 16 } else { 240 * 16 };
        for block in 0..(far.len() / 160) {
            let t0 = block * 160;
            est.push_far(&far[t0..t0 + 160]);
            let near: Vec<f32> = (t0..t0 + 160)
                .map(|t| {
                    if t >= delay_at(t) {
                        0.5 * far[t - delay_at(t)]
                    } else {
                        0.0
                    }
                })
                .collect();
            est.push_near(&near);
            if block == 290 {
                assert_eq!(est.delay().map(|d| d / 4), Some(40 * 4), "before the jump");
            }
        }
        assert_eq!(
            est.delay().map(|d| d / 4),
            Some(240 * 4),
            "after the +200 ms jump"
        );
    }
}
