//! Noise floor tracking and a deterministic noise source.

use crate::fft::Complex;

/// Per-bin minimum-statistics noise floor: follows drops at once, rises slowly.
#[derive(Debug, Clone)]
pub(crate) struct NoiseFloor {
    floor: Vec<f32>,
    smoothed: Vec<f32>,
    started: bool,
}

impl NoiseFloor {
    pub fn new(bins: usize) -> NoiseFloor {
        NoiseFloor {
            floor: vec![0.0; bins],
            smoothed: vec![0.0; bins],
            started: false,
        }
    }

    pub fn update(&mut self, k: usize, power: f32) {
        if !power.is_finite() {
            return;
        }
        let last = k + 1 == self.floor.len();
        let started = self.started;
        let (Some(s), Some(f)) = (self.smoothed.get_mut(k), self.floor.get_mut(k)) else {
            return;
        };
        *s = if started {
            0.7 * *s + 0.3 * power
        } else {
            power
        };
        if last {
            self.started = true;
        }
        *f = if *s < *f || *f == 0.0 {
            *s
        } else {
            (*f * 1.002).min(*s)
        };
    }

    pub fn floor(&self, k: usize) -> f32 {
        self.floor.get(k).copied().unwrap_or(0.0)
    }
}

/// xorshift64* noise.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A unit-magnitude complex number with uniform phase.
    pub fn unit_phase(&mut self) -> Complex {
        let a = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 * std::f32::consts::PI;
        Complex::new(a.cos(), a.sin())
    }
}
