//! The echo canceller: far-end history and alignment (delay estimator), the adaptive filter,
//! and the residual echo suppressor with comfort noise.

use std::collections::VecDeque;

use crate::config::ProcessorConfig;
use crate::delay::DelayEstimator;
use crate::fft::Complex;
use crate::filter::AdaptiveFilter;
use crate::noise::{NoiseFloor, Rng};
use crate::stft::Stft;

/// Partitions kept before the estimated delay (tolerates estimate error and early reflections).
const MARGIN_BLOCKS: usize = 2;
/// Residual echo over-estimation in the suppressor.
const OVERSUPPRESSION: f32 = 3.0;
/// Cap on a single bin's leak estimate (a per-bin correlation is noisier than the global one).
const BIN_LEAK_MAX: f32 = 0.5;
/// Per-block decay of the far-end power seen through the room (RT60 ≈ 0.1–0.3 s).
const TAIL_DECAY: f32 = 0.7;
/// Over-estimation of the far-end-predicted residual.
const FAR_OVERSUPPRESSION: f32 = 2.0;
/// Rate of the slow per-bin means the far-end regression measures fluctuations around.
const AVG_RATE: f32 = 0.01;
/// Smallest suppressor gain (-30 dB).
const MIN_GAIN: f32 = 0.03;

#[derive(Debug, Clone)]
pub(crate) struct EchoCanceller {
    n: usize,
    partitions: usize,
    filter: AdaptiveFilter,
    delay: DelayEstimator,
    far: VecDeque<f32>,
    far_base: u64,
    far_cap: usize,
    /// Largest imbalance between the render and capture streams, in samples, before they are
    /// paired afresh.
    max_lead: u64,
    /// Capture overran render; the next render frame restarts the pairing.
    render_starved: bool,
    decimation: usize,
    max_delay_ms: u32,
    captured: u64,
    align: usize,
    suppress: bool,
    comfort: bool,
    stft: Stft,
    prev_echo: Vec<f32>,
    echo_spec: Vec<Complex>,
    residual: Vec<f32>,
    gains: Vec<f32>,
    noise: NoiseFloor,
    rng: Rng,
    far_block: Vec<f32>,
    /// Far end at the estimated direct-path delay (this block and the previous one), its
    /// spectrum, and the per-bin regression of residual power on its power (the far-end
    /// residual estimate in [`EchoCanceller::process`]).
    direct: Vec<f32>,
    prev_direct: Vec<f32>,
    direct_spec: Vec<Complex>,
    far_psd: Vec<f32>,
    far_mean: Vec<f32>,
    err_mean: Vec<f32>,
    pex: Vec<f32>,
    pxx: Vec<f32>,
    error: Vec<f32>,
    echo: Vec<f32>,
    history: Vec<f32>,
    /// Smoothed near-end (in) and output power while the far end is active, for ERLE.
    pub near_power: f32,
    pub out_power: f32,
}

impl EchoCanceller {
    /// The echo canceller `config` describes (its rate, filter length, delay range and switches).
    pub fn new(config: &ProcessorConfig) -> EchoCanceller {
        let sample_rate = config.sample_rate;
        let n = sample_rate.block();
        let rate = sample_rate.hz();
        let filter_len =
            (config.filter_ms as usize * rate as usize / 1000).clamp(n, rate as usize / 2);
        let max_delay_ms = config.max_delay_ms.clamp(10, 1000);
        let (decimation, suppress, comfort, seed) = (
            sample_rate.decimation(),
            config.residual_echo_suppression,
            config.comfort_noise,
            config.seed,
        );
        let partitions = filter_len.div_ceil(n).max(1);
        let max_delay = max_delay_ms as usize * rate as usize / 1000;
        EchoCanceller {
            n,
            partitions,
            filter: AdaptiveFilter::new(n, partitions, rate),
            delay: DelayEstimator::new(decimation, max_delay_ms),
            far: VecDeque::new(),
            far_base: 0,
            far_cap: max_delay + (partitions + 4) * n + rate as usize / 2,
            captured: 0,
            max_lead: (max_delay + rate as usize / 2) as u64,
            render_starved: false,
            decimation,
            max_delay_ms,
            align: 0,
            suppress,
            comfort,
            stft: Stft::new(n),
            prev_echo: vec![0.0; n],
            echo_spec: vec![Complex::ZERO; 2 * n],
            residual: vec![0.0; n + 1],
            gains: vec![1.0; n + 1],
            noise: NoiseFloor::new(n + 1),
            rng: Rng::new(seed),
            far_block: vec![0.0; n],
            direct: vec![0.0; n],
            prev_direct: vec![0.0; n],
            direct_spec: vec![Complex::ZERO; 2 * n],
            far_psd: vec![0.0; n + 1],
            far_mean: vec![0.0; n + 1],
            err_mean: vec![0.0; n + 1],
            pex: vec![0.0; n + 1],
            pxx: vec![0.0; n + 1],
            error: vec![0.0; n],
            echo: vec![0.0; n],
            history: Vec::new(),
            near_power: 0.0,
            out_power: 0.0,
        }
    }

    /// The delay currently compensated, in samples (alignment + the margin inside the filter).
    pub fn delay_estimate(&self) -> Option<usize> {
        self.delay.delay()
    }

    pub fn leak(&self) -> f32 {
        self.filter.leak()
    }

    pub fn push_far(&mut self, x: &[f32]) {
        self.far.extend(x.iter().copied());
        while self.far.len() > self.far_cap {
            self.far.pop_front();
            self.far_base += 1;
        }
        self.delay.push_far(x);
        if self.render_starved || self.render_end().saturating_sub(self.captured) > self.max_lead {
            // Render ran far ahead of capture (capture stalled): what is buffered no longer
            // lines up with anything the microphone will hear.
            self.resync(x.len() as u64);
        }
    }

    /// Absolute index one past the newest render sample.
    fn render_end(&self) -> u64 {
        self.far_base + self.far.len() as u64
    }

    /// Restarts the stream pairing after one stream ran ahead of the other by more than the
    /// delay range: capture continues as if it were `lag` samples behind the newest render
    /// sample, and the delay estimate and the filter start over.
    fn resync(&mut self, lag: u64) {
        self.captured = self.render_end().saturating_sub(lag);
        self.render_starved = false;
        self.delay = DelayEstimator::new(self.decimation, self.max_delay_ms);
        self.filter.reset();
        self.align = 0;
    }

    /// Far-end sample at absolute render index `i` (zero if not available).
    fn far_at(&self, i: i64) -> f32 {
        if i < self.far_base as i64 {
            return 0.0;
        }
        self.far
            .get((i - self.far_base as i64) as usize)
            .copied()
            .unwrap_or(0.0)
    }

    fn realign(&mut self) {
        let Some(d) = self.delay.delay() else { return };
        // Hysteresis: keep the alignment while the estimated direct path stays between one
        // partition and a quarter of the filter into it (estimates wander between the direct path
        // and strong early reflections; every realignment costs the filter its edge partitions).
        let lead = d.saturating_sub(self.align) / self.n;
        let slack = (self.partitions / 4).max(MARGIN_BLOCKS + 1);
        if d >= self.align && (1..=slack).contains(&lead) {
            return;
        }
        let desired = (d / self.n).saturating_sub(MARGIN_BLOCKS) * self.n;
        if desired == self.align {
            return;
        }
        let blocks = (desired as isize - self.align as isize) / self.n as isize;
        if blocks.unsigned_abs() >= self.partitions {
            // Nothing learnt still applies (a delay jump longer than the filter): start over,
            // including the step-size control, which would otherwise keep the small steps of a
            // converged filter and never re-converge.
            self.filter.reset();
        } else {
            self.filter.shift(blocks);
        }
        self.align = desired;
        // Far history for the new alignment, up to (not including) the next block.
        let need = (self.partitions + 1) * self.n;
        let end = self.captured as i64 - self.align as i64;
        self.history.clear();
        for i in (end - need as i64)..end {
            let v = self.far_at(i);
            self.history.push(v);
        }
        self.filter.set_far_history(&self.history);
    }

    /// Processes one block of n capture samples in place (output delayed by n samples).
    pub fn process(&mut self, block: &mut [f32]) {
        let n = self.n;
        if self.captured.saturating_sub(self.render_end()) > self.max_lead {
            // Capture ran far ahead of render (render stalled): pair afresh now, and again
            // with the first render that comes back.
            self.resync(0);
            self.render_starved = true;
        }
        let start = self.captured as i64 - self.align as i64;
        let mut far_block = std::mem::take(&mut self.far_block);
        for (i, slot) in far_block.iter_mut().enumerate() {
            *slot = self.far_at(start + i as i64);
        }
        // The far end as the microphone hears its direct path now (zero until a delay is known).
        let direct_start = self.delay.delay().map(|d| self.captured as i64 - d as i64);
        std::mem::swap(&mut self.direct, &mut self.prev_direct);
        let mut direct = std::mem::take(&mut self.direct);
        for (i, slot) in direct.iter_mut().enumerate() {
            *slot = direct_start.map_or(0.0, |s| self.far_at(s + i as i64));
        }
        self.direct = direct;
        self.filter
            .process(&far_block, block, &mut self.error, &mut self.echo);
        let far_active = far_block.iter().map(|v| v * v).sum::<f32>() > 1e4 * n as f32;
        self.far_block = far_block;
        self.delay.push_near(block);
        self.captured += n as u64;

        // Residual echo suppression in the STFT domain.
        self.stft.analyze(&self.error);
        let echo = std::mem::take(&mut self.echo);
        self.stft
            .analyze_into(&self.prev_echo, &echo, &mut self.echo_spec);
        self.prev_echo.copy_from_slice(&echo);
        self.echo = echo;
        let leak = self.filter.leak().max(0.005);
        let leak_bins = self.filter.leak_bins();
        self.stft
            .analyze_into(&self.prev_direct, &self.direct, &mut self.direct_spec);
        // Learning rate of the far-end regression: the filter's double-talk-frozen leak rate.
        let rate = self.filter.leak_rate();
        let m = 2 * n;
        for k in 0..=n {
            let e = self.stft.spectrum.get(k).copied().unwrap_or(Complex::ZERO);
            let se = e.norm_sqr();
            let sy = self.echo_spec.get(k).map_or(0.0, |c| c.norm_sqr());
            self.noise.update(k, se);
            let (Some(res), Some(g)) = (self.residual.get_mut(k), self.gains.get_mut(k)) else {
                continue;
            };
            // Residual echo: what the filter misses, decaying like the room's tail.
            // Per bin, the larger of the global and the bin's own leak: a bin the filter has
            // not yet learnt (rarely excited) leaks more than the power-weighted average.
            let bin_leak = leak_bins.get(k).copied().unwrap_or(0.0).min(BIN_LEAK_MAX);
            let from_echo = OVERSUPPRESSION * leak.max(bin_leak) * sy;
            // A bin the filter has not learnt has a small or wrong echo estimate, so no leak
            // factor on it can say what is left: there, the residual is predicted from the far
            // end itself (its power regressed on the error's; near-end speech is uncorrelated
            // with the far end, and the regression learns at the double-talk-frozen rate).
            let xp = self.direct_spec.get(k).map_or(0.0, |c| c.norm_sqr());
            let from_far = match (
                self.far_psd.get_mut(k),
                self.far_mean.get_mut(k),
                self.err_mean.get_mut(k),
                self.pex.get_mut(k),
                self.pxx.get_mut(k),
            ) {
                (Some(fp), Some(fm), Some(em), Some(pex), Some(pxx)) => {
                    // The room's tail keeps the far end audible after it stops.
                    *fp = xp.max(TAIL_DECAY * *fp);
                    if far_active {
                        let avg = AVG_RATE;
                        *fm = (1.0 - avg) * *fm + avg * *fp;
                        *em = (1.0 - avg) * *em + avg * se;
                        *pex = (1.0 - rate) * *pex + rate * (se - *em) * (*fp - *fm);
                        *pxx = (1.0 - rate) * *pxx + rate * (*fp - *fm) * (*fp - *fm);
                    }
                    let g = (*pex / pxx.max(1.0)).clamp(0.0, 1.0);
                    FAR_OVERSUPPRESSION * g * *fp
                }
                _ => 0.0,
            };
            *res = from_echo.max(from_far).max(0.7 * *res);
            let target = if self.suppress {
                (1.0 - *res / (se + 1e-3)).clamp(MIN_GAIN, 1.0)
            } else {
                1.0
            };
            *g = if target < *g {
                target
            } else {
                0.6 * *g + 0.4 * target
            };
            let mut z = e.scale(*g);
            if self.comfort && *g < 1.0 {
                let level = (self.noise.floor(k) * (1.0 - *g * *g)).max(0.0).sqrt();
                z = z + self.rng.unit_phase().scale(level);
            }
            if let Some(s) = self.stft.spectrum.get_mut(k) {
                *s = z;
            }
            if k > 0
                && k < n
                && let Some(s) = self.stft.spectrum.get_mut(m - k)
            {
                *s = z.conj();
            }
        }
        let near_energy: f32 = block.iter().map(|v| v * v).sum();
        self.stft.synthesize(block);
        if far_active {
            let out_energy: f32 = block.iter().map(|v| v * v).sum();
            self.near_power = 0.95 * self.near_power + 0.05 * near_energy;
            self.out_power = 0.95 * self.out_power + 0.05 * out_energy;
        }
        self.realign();
    }
}
