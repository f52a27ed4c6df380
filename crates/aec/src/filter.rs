//! Partitioned-block frequency-domain adaptive filter (overlap-save MDF) with a variable step
//! size driven by an estimate of how much of the error is residual echo (robust to double talk
//! without a hard detector; after Valin's "On adjusting the learning rate in frequency domain
//! echo cancellation with double-talk", IEEE TASLP 2007 — written from the paper, not from code).

use std::collections::VecDeque;

use crate::fft::{Complex, Fft};

#[derive(Debug, Clone)]
pub(crate) struct AdaptiveFilter {
    n: usize,
    rate: u32,
    /// Block duration, seconds: the unit of the leak estimator's time constants.
    block_seconds: f32,
    partitions: usize,
    fft: Fft,
    /// Far-end spectra, newest first.
    x: VecDeque<Vec<Complex>>,
    /// Background filter partitions W_p (the adapting filter), p = 0 the shortest delay.
    w: Vec<Vec<Complex>>,
    /// Foreground filter: a copy of the background taken whenever the background proved better.
    /// The output comes from it, so a background driven off course by double talk is never heard
    /// and is put back to the foreground instead (Valin's two-path scheme).
    fg: Vec<Vec<Complex>>,
    /// Smoothed foreground-minus-background error energy and its variance, at two time scales.
    diff_fast: f32,
    diff_slow: f32,
    var_fast: f32,
    var_slow: f32,
    fg_spec: Vec<Complex>,
    bg_error: Vec<f32>,
    prev_far: Vec<f32>,
    far_power: Vec<f32>,
    pey: f32,
    pyy: f32,
    /// Slow per-bin averages of |E|² and |Y|² (the fluctuations around them drive `leak`).
    eh: Vec<f32>,
    yh: Vec<f32>,
    leak: f32,
    /// Per-bin versions of `pey`/`pyy` and their ratio: how much of each bin's echo estimate
    /// still leaks into the error. The global `leak` weighs bins by their power, so the bins
    /// speech rarely excites (upper band, fricatives) leak far more than it says.
    pey_bins: Vec<f32>,
    pyy_bins: Vec<f32>,
    leak_bins: Vec<f32>,
    /// The leak estimator's last learning rate (small in double talk).
    leak_rate: f32,
    adapted: bool,
    far_blocks: usize,
    scratch: Vec<Complex>,
    y_spec: Vec<Complex>,
    e_spec: Vec<Complex>,
    /// |Y|² and |E|² of the last block (per bin, first n + 1 bins).
    pub echo_psd: Vec<f32>,
    pub error_psd: Vec<f32>,
}

impl AdaptiveFilter {
    /// A filter of `partitions` blocks of `n` samples at `rate` Hz.
    pub fn new(n: usize, partitions: usize, rate: u32) -> AdaptiveFilter {
        let m = 2 * n;
        AdaptiveFilter {
            n,
            rate,
            block_seconds: n as f32 / rate.max(1) as f32,
            partitions: partitions.max(1),
            fft: Fft::new(m),
            x: (0..partitions.max(1))
                .map(|_| vec![Complex::ZERO; m])
                .collect(),
            w: (0..partitions.max(1))
                .map(|_| vec![Complex::ZERO; m])
                .collect(),
            fg: (0..partitions.max(1))
                .map(|_| vec![Complex::ZERO; m])
                .collect(),
            diff_fast: 0.0,
            diff_slow: 0.0,
            var_fast: 0.0,
            var_slow: 0.0,
            fg_spec: vec![Complex::ZERO; m],
            bg_error: vec![0.0; n],
            prev_far: vec![0.0; n],
            far_power: vec![0.0; m],
            pey: 0.0,
            pyy: 0.0,
            eh: vec![0.0; n + 1],
            yh: vec![0.0; n + 1],
            leak: 0.0,
            pey_bins: vec![0.0; n + 1],
            pyy_bins: vec![0.0; n + 1],
            leak_bins: vec![0.0; n + 1],
            leak_rate: 0.0,
            adapted: false,
            far_blocks: 0,
            scratch: vec![Complex::ZERO; m],
            y_spec: vec![Complex::ZERO; m],
            e_spec: vec![Complex::ZERO; m],
            echo_psd: vec![0.0; n + 1],
            error_psd: vec![0.0; n + 1],
        }
    }

    /// Estimated fraction of the echo estimate's power that leaks into the error (0..1).
    pub fn leak(&self) -> f32 {
        self.leak
    }

    /// Per-bin leak estimate (0..1) for bins 0..=n; see [`AdaptiveFilter::leak`].
    pub fn leak_bins(&self) -> &[f32] {
        &self.leak_bins
    }

    /// The leak estimator's last learning rate: ≤ one block in seconds, near zero in double talk
    /// and without far end.
    pub fn leak_rate(&self) -> f32 {
        self.leak_rate
    }

    pub fn reset(&mut self) {
        let (n, p, r) = (self.n, self.partitions, self.rate);
        *self = AdaptiveFilter::new(n, p, r);
    }

    /// Moves the alignment by `blocks` (positive: the far end is taken `blocks` later, so every
    /// echo tap moves that many partitions earlier). Keeps the partitions that still apply.
    pub fn shift(&mut self, blocks: isize) {
        let p = self.partitions as isize;
        if blocks == 0 {
            return;
        }
        for w in [&mut self.w, &mut self.fg] {
            if blocks.abs() >= p {
                for w in w.iter_mut() {
                    w.fill(Complex::ZERO);
                }
            } else if blocks > 0 {
                w.rotate_left(blocks as usize);
                for w in w.iter_mut().rev().take(blocks as usize) {
                    w.fill(Complex::ZERO);
                }
            } else {
                w.rotate_right((-blocks) as usize);
                for w in w.iter_mut().take((-blocks) as usize) {
                    w.fill(Complex::ZERO);
                }
            }
        }
    }

    /// Rebuilds the far-end spectra from `history`: the last `(partitions + 1) * n` aligned
    /// far-end samples, oldest first (after an alignment change).
    pub fn set_far_history(&mut self, history: &[f32]) {
        let (n, m) = (self.n, 2 * self.n);
        let need = (self.partitions + 1) * n;
        let start = history.len().saturating_sub(need);
        let hist = history.get(start..).unwrap_or(&[]);
        let pad = need - hist.len();
        let sample = |i: usize| {
            if i < pad {
                0.0
            } else {
                hist.get(i - pad).copied().unwrap_or(0.0)
            }
        };
        for (p, x) in self.x.iter_mut().enumerate() {
            // Partition p covers blocks (P - p - 1, P - p) of the history, newest at p = 0.
            let first = (self.partitions - 1 - p) * n;
            for (i, slot) in x.iter_mut().enumerate().take(m) {
                *slot = Complex::new(sample(first + i), 0.0);
            }
            self.fft.forward(x);
        }
        self.prev_far.clear();
        self.prev_far
            .extend((0..n).map(|i| sample(self.partitions * n + i)));
    }

    /// Y = Σ_p W_p · X_p.
    fn convolve(w: &[Vec<Complex>], x: &VecDeque<Vec<Complex>>, out: &mut [Complex]) {
        out.fill(Complex::ZERO);
        for (w, x) in w.iter().zip(x) {
            for ((y, a), b) in out.iter_mut().zip(w).zip(x) {
                *y = *y + *a * *b;
            }
        }
    }

    /// Filters one block: `far` (n aligned far-end samples) and `near` (n capture samples) in,
    /// the error (near minus echo estimate) out into `error`; adapts the filter.
    pub fn process(&mut self, far: &[f32], near: &[f32], error: &mut [f32], echo: &mut [f32]) {
        let (n, m) = (self.n, 2 * self.n);
        // Far spectrum of [previous block, this block].
        let mut xf = self.x.pop_back().unwrap_or_else(|| vec![Complex::ZERO; m]);
        for (i, slot) in xf.iter_mut().enumerate() {
            let v = if i < n {
                self.prev_far.get(i)
            } else {
                far.get(i - n)
            };
            *slot = Complex::new(v.copied().unwrap_or(0.0), 0.0);
        }
        self.prev_far.clear();
        self.prev_far.extend_from_slice(far);
        self.prev_far.resize(n, 0.0);
        self.fft.forward(&mut xf);
        self.x.push_front(xf);

        // Echo estimates Y = Σ W_p X_p of both filters; y = last n samples of the inverse.
        Self::convolve(&self.w, &self.x, &mut self.y_spec);
        Self::convolve(&self.fg, &self.x, &mut self.fg_spec);
        self.scratch.copy_from_slice(&self.y_spec);
        self.fft.inverse(&mut self.scratch);
        self.fft.inverse(&mut self.fg_spec);
        let mut far_energy = 0.0;
        let mut echo_energy = 0.0;
        let mut err_energy = 0.0;
        let mut cross_energy = 0.0;
        let (mut fg_err_energy, mut fg_bg_diff) = (0.0, 0.0);
        for i in 0..n {
            let y = self.scratch.get(n + i).map_or(0.0, |c| c.re);
            let yf = self.fg_spec.get(n + i).map_or(0.0, |c| c.re);
            let d = near.get(i).copied().unwrap_or(0.0);
            let e = d - y;
            if let Some(slot) = self.bg_error.get_mut(i) {
                *slot = e;
            }
            echo_energy += y * y;
            err_energy += e * e;
            cross_energy += e * y;
            fg_err_energy += (d - yf) * (d - yf);
            fg_bg_diff += (y - yf) * (y - yf);
            far_energy += far.get(i).map_or(0.0, |v| v * v);
        }

        // Two-path decision. How much lower the background's error energy is than the
        // foreground's, against the spread that difference has when the two filters are merely
        // different (Cauchy-Schwarz: |Σ(e_f² - e_b²)| ≤ ~2·sqrt(Σe_f²·Σ(e_f - e_b)²)).
        let delta = fg_err_energy - err_energy;
        let spread = fg_err_energy * fg_bg_diff;
        self.diff_fast = 0.6 * self.diff_fast + 0.4 * delta;
        self.diff_slow = 0.85 * self.diff_slow + 0.15 * delta;
        self.var_fast = 0.36 * self.var_fast + 0.16 * spread;
        self.var_slow = 0.7225 * self.var_slow + 0.0225 * spread;
        let signed_sq = |v: f32| v * v.abs();
        let mut restored = false;
        if signed_sq(delta) > spread
            || signed_sq(self.diff_fast) > 0.5 * self.var_fast
            || signed_sq(self.diff_slow) > 0.25 * self.var_slow
        {
            // The background is reliably better: it becomes the output filter.
            for (f, w) in self.fg.iter_mut().zip(&self.w) {
                f.copy_from_slice(w);
            }
            self.fg_spec.copy_from_slice(&self.scratch);
            (self.diff_fast, self.diff_slow, self.var_fast, self.var_slow) = (0.0, 0.0, 0.0, 0.0);
        } else if -signed_sq(delta) > 16.0 * spread
            || -signed_sq(self.diff_fast) > 16.0 * self.var_fast
            || -signed_sq(self.diff_slow) > 16.0 * self.var_slow
        {
            // The background went astray (double talk, a burst of near-end noise): put it back.
            // Only when it is clearly worse (four spreads, against two for taking it): while
            // the echo path moves (clock drift) the background is the one that keeps up, and
            // every needless backtrack throws its progress away.
            for (w, f) in self.w.iter_mut().zip(&self.fg) {
                w.copy_from_slice(f);
            }
            self.scratch.copy_from_slice(&self.fg_spec);
            (self.diff_fast, self.diff_slow, self.var_fast, self.var_slow) = (0.0, 0.0, 0.0, 0.0);
            restored = true;
        }
        // Output: the foreground's error and echo estimate.
        for i in 0..n {
            let yf = self.fg_spec.get(n + i).map_or(0.0, |c| c.re);
            let e = near.get(i).copied().unwrap_or(0.0) - yf;
            if let Some(slot) = echo.get_mut(i) {
                *slot = yf;
            }
            if let Some(slot) = error.get_mut(i) {
                *slot = e;
            }
            if restored && let Some(slot) = self.bg_error.get_mut(i) {
                // The gradient below then uses the restored filter's error.
                *slot = e;
            }
        }
        if restored {
            err_energy = fg_err_energy;
            cross_energy = (0..n)
                .map(|i| {
                    let y = self.scratch.get(n + i).map_or(0.0, |c| c.re);
                    self.bg_error.get(i).copied().unwrap_or(0.0) * y
                })
                .sum();
            echo_energy = (0..n)
                .map(|i| self.scratch.get(n + i).map_or(0.0, |c| c.re * c.re))
                .sum();
        }

        // Error and echo spectra of [0, e] and [0, y] (the overlap-save gradient frame).
        for (i, slot) in self.e_spec.iter_mut().enumerate() {
            *slot = if i < n {
                Complex::ZERO
            } else {
                Complex::new(self.bg_error.get(i - n).copied().unwrap_or(0.0), 0.0)
            };
        }
        self.fft.forward(&mut self.e_spec);
        for i in 0..n {
            let y = self.scratch.get(n + i).map_or(0.0, |c| c.re);
            if let Some(s) = self.scratch.get_mut(i) {
                *s = Complex::ZERO;
            }
            if let Some(s) = self.scratch.get_mut(n + i) {
                *s = Complex::new(y, 0.0);
            }
        }
        self.fft.forward(&mut self.scratch);
        for k in 0..=n {
            if let (Some(ep), Some(yp), Some(e), Some(y)) = (
                self.error_psd.get_mut(k),
                self.echo_psd.get_mut(k),
                self.e_spec.get(k),
                self.scratch.get(k),
            ) {
                *ep = e.norm_sqr();
                *yp = y.norm_sqr();
            }
        }

        // Far power per bin, smoothed.
        let p = self.partitions as f32;
        if let Some(x0) = self.x.front() {
            for (pw, x) in self.far_power.iter_mut().zip(x0) {
                *pw = 0.9 * *pw + 0.1 * x.norm_sqr();
            }
        }
        self.leak_rate = 0.0;
        if far_energy < 1.0 * n as f32 {
            return; // No far end: nothing to learn.
        }
        self.far_blocks += 1;

        // Leakage: correlation between the fluctuations of error and echo-estimate power
        // spectra. Near-end speech is uncorrelated with the echo estimate and does not raise it.
        // Valin (2007) §III: the leak estimate learns in proportion to echo-estimate over error
        // power. In double talk the error is mostly near-end speech and the estimate nearly
        // freezes; a fixed rate lets chance correlations between two talkers' envelopes raise the
        // leak, and with it the step size, until the filter diverges.
        let rate =
            (2.0 * self.block_seconds * echo_energy / (err_energy + 1.0)).min(self.block_seconds);
        self.leak_rate = rate;
        let (mut ey, mut yy) = (0.0f32, 0.0f32);
        let avg = self.block_seconds;
        for (((((e, y), eh), yh), pey), pyy) in self
            .error_psd
            .iter()
            .zip(&self.echo_psd)
            .zip(&mut self.eh)
            .zip(&mut self.yh)
            .zip(&mut self.pey_bins)
            .zip(&mut self.pyy_bins)
        {
            *eh = (1.0 - avg) * *eh + avg * e;
            *yh = (1.0 - avg) * *yh + avg * y;
            let (bin_ey, bin_yy) = ((e - *eh) * (y - *yh), (y - *yh) * (y - *yh));
            ey += bin_ey;
            yy += bin_yy;
            // The same estimate per bin, at the same (double-talk-frozen) rate.
            *pey = (1.0 - rate) * *pey + rate * bin_ey;
            *pyy = (1.0 - rate) * *pyy + rate * bin_yy;
        }
        for ((l, pey), pyy) in self
            .leak_bins
            .iter_mut()
            .zip(&self.pey_bins)
            .zip(&self.pyy_bins)
        {
            *l = (*pey / pyy.max(1.0)).clamp(0.0, 1.0);
        }
        self.pey = (1.0 - rate) * self.pey + rate * ey;
        self.pyy = (1.0 - rate) * self.pyy + rate * yy;
        self.pyy = self.pyy.max(1.0);
        self.pey = self.pey.max(0.005 * self.pyy);
        self.leak = (self.pey / self.pyy).clamp(0.0, 1.0);
        // Residual-to-error ratio: how much of the error is echo still to be cancelled.
        // Lower bound: the squared normalized correlation of error and echo estimate. A filter
        // that points the right way but is still small (bins only now excited, a restart) has a
        // small echo estimate, and the leak term alone would keep its step small. (Double talk
        // lowers this correlation; the two-path scheme above catches what it does not.)
        let rer = (0.0001 * far_energy + 3.0 * self.leak * echo_energy) / (err_energy + 1.0);
        let correlated = cross_energy * cross_energy / (1.0 + err_energy * echo_energy);
        let rer = rer.max(correlated).min(0.5);
        if !self.adapted
            && self.far_blocks > 2 * self.partitions
            && self.leak * echo_energy > 0.03 * echo_energy
        {
            self.adapted = true;
        }

        // Per-bin step: fixed while converging, then leak/RER driven.
        for k in 0..m {
            let kk = if k <= n { k } else { m - k };
            let power = p * self.far_power.get(k).copied().unwrap_or(0.0) + 1e3;
            let mu = if self.adapted {
                let e = self.error_psd.get(kk).copied().unwrap_or(0.0) + 1.0;
                let r = self.leak * self.echo_psd.get(kk).copied().unwrap_or(0.0);
                let r = (0.7 * r + 0.3 * rer * e).min(0.5 * e);
                r / e / power
            } else {
                0.25 / power
            };
            let g = self
                .e_spec
                .get(k)
                .copied()
                .unwrap_or(Complex::ZERO)
                .scale(mu);
            for (w, x) in self.w.iter_mut().zip(&self.x) {
                if let (Some(wk), Some(xk)) = (w.get_mut(k), x.get(k)) {
                    *wk = *wk + xk.conj() * g;
                }
            }
        }

        // Gradient constraint (overlap-save): every partition's impulse response is n taps.
        for w in &mut self.w {
            self.fft.inverse(w);
            for v in w.iter_mut().skip(n) {
                *v = Complex::ZERO;
            }
            for v in w.iter_mut() {
                v.im = 0.0;
            }
            self.fft.forward(w);
        }

        // A filter that blew up (it cannot from finite input, but be sure) starts over.
        if !self
            .w
            .iter()
            .all(|w| w.iter().all(|c| c.re.is_finite() && c.im.is_finite()))
        {
            self.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8000.0
            })
            .collect()
    }

    /// Error-to-near power ratio in dB over blocks `from..` of a run of `far` through an echo path.
    fn run(far: &[f32], path: &[(usize, f32)], n: usize, partitions: usize, from: usize) -> f32 {
        let mut f = AdaptiveFilter::new(n, partitions, 16_000);
        let (mut e, mut y) = (vec![0.0; n], vec![0.0; n]);
        let (mut pin, mut pout) = (0.0f64, 0.0f64);
        for (b, x) in far.chunks_exact(n).enumerate() {
            let near: Vec<f32> = (0..n)
                .map(|i| {
                    let t = b * n + i;
                    path.iter()
                        .filter(|(d, _)| *d <= t)
                        .map(|(d, g)| g * far[t - d])
                        .sum()
                })
                .collect();
            f.process(x, &near, &mut e, &mut y);
            if b >= from {
                pin += near.iter().map(|v| f64::from(v * v)).sum::<f64>();
                pout += e.iter().map(|v| f64::from(v * v)).sum::<f64>();
            }
        }
        (10.0 * (pin / pout).log10()) as f32
    }

    #[test]
    fn converges_on_white_noise() {
        let far = noise(64 * 1000, 3);
        let path = [(10, 0.5), (100, -0.3), (500, 0.2), (1000, 0.05)];
        let erle = run(&far, &path, 64, 20, 500);
        assert!(erle > 30.0, "ERLE {erle}");
    }

    /// Near-end noise uncorrelated with the far end (double talk) nearly stops the leak
    /// estimator's learning, per bin as globally: the residual estimates built on it must not
    /// learn the near-end talker as echo.
    #[test]
    fn leak_learning_freezes_in_double_talk() {
        let n = 64;
        let far = noise(n * 1500, 5);
        let talker = noise(n * 1500, 9);
        let mut f = AdaptiveFilter::new(n, 8, 16_000);
        let (mut e, mut y) = (vec![0.0; n], vec![0.0; n]);
        let echo = |t: usize| if t >= 40 { 0.5 * far[t - 40] } else { 0.0 };
        let (mut single, mut double) = (0.0f32, 0.0f32);
        for b in 0..1500 {
            let near: Vec<f32> = (0..n)
                .map(|i| {
                    let t = b * n + i;
                    echo(t) + if b >= 1000 { 4.0 * talker[t] } else { 0.0 }
                })
                .collect();
            f.process(&far[b * n..(b + 1) * n], &near, &mut e, &mut y);
            if (900..1000).contains(&b) {
                single += f.leak_rate() / 100.0;
            }
            if b >= 1400 {
                double += f.leak_rate() / 100.0;
            }
        }
        assert!(
            double < 0.1 * single,
            "leak rate {double} in double talk vs {single}"
        );
        assert_eq!(f.leak_bins().len(), n + 1);
        assert!(f.leak_bins().iter().all(|l| (0.0..=1.0).contains(l)));
    }
}
