//! Noise suppression: a Wiener gain per STFT bin with the decision-directed a-priori SNR
//! estimate (Ephraim & Malah 1984) and a minimum-statistics noise floor.

use crate::noise::NoiseFloor;
use crate::stft::Stft;

/// Decision-directed smoothing.
const ALPHA: f32 = 0.98;
/// Noise floor bias: the minimum of a smoothed periodogram underestimates the mean.
const BIAS: f32 = 1.5;

#[derive(Debug, Clone)]
pub(crate) struct NoiseSuppressor {
    n: usize,
    stft: Stft,
    noise: NoiseFloor,
    prev_clean: Vec<f32>,
    gains: Vec<f32>,
    floor: f32,
}

impl NoiseSuppressor {
    pub fn new(n: usize, floor_db: f32) -> NoiseSuppressor {
        NoiseSuppressor {
            n,
            stft: Stft::new(n),
            noise: NoiseFloor::new(n + 1),
            prev_clean: vec![0.0; n + 1],
            gains: vec![1.0; n + 1],
            floor: 10f32.powf(floor_db.min(0.0) / 20.0),
        }
    }

    /// Processes one block of n samples in place (delayed by n).
    pub fn process(&mut self, block: &mut [f32]) {
        let n = self.n;
        self.stft.analyze(block);
        for k in 0..=n {
            let x = self.stft.spectrum.get(k).copied().unwrap_or_default();
            let p = x.norm_sqr();
            self.noise.update(k, p);
            let lambda = (BIAS * self.noise.floor(k)).max(1e-3);
            let gamma = p / lambda;
            let prev = self.prev_clean.get(k).copied().unwrap_or(0.0);
            let xi = (ALPHA * prev / lambda + (1.0 - ALPHA) * (gamma - 1.0).max(0.0)).max(1e-3);
            let g = (xi / (1.0 + xi)).max(self.floor);
            if let Some(slot) = self.gains.get_mut(k) {
                *slot = g;
            }
            if let Some(slot) = self.prev_clean.get_mut(k) {
                *slot = g * g * p;
            }
        }
        let m = 2 * n;
        for k in 0..m {
            let kk = if k <= n { k } else { m - k };
            let g = self.gains.get(kk).copied().unwrap_or(1.0);
            if let Some(s) = self.stft.spectrum.get_mut(k) {
                *s = s.scale(g);
            }
        }
        self.stft.synthesize(block);
    }
}
