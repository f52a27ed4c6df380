//! Background noise level: a minimum-statistics tracker over 10 ms frames of decoded audio.

use super::{Rng, rms};

#[derive(Debug, Clone)]
pub(crate) struct BackgroundNoise {
    level: f32,
    initialised: bool,
}

impl BackgroundNoise {
    pub fn new() -> BackgroundNoise {
        BackgroundNoise {
            level: 0.0,
            initialised: false,
        }
    }

    /// RMS of the background noise, in sample units (i16 scale).
    pub fn level(&self) -> f32 {
        self.level
    }

    /// Feeds one frame of decoded (not concealed) audio.
    pub fn update(&mut self, frame: &[f32]) {
        let r = rms(frame);
        if !r.is_finite() {
            return;
        }
        if !self.initialised || r < self.level {
            // Follow a drop at once: the quietest recent frame is the best noise estimate.
            self.level = r;
            self.initialised = true;
        } else {
            // Rise slowly (about 1.5 dB per second at 100 frames/s) so speech does not count.
            self.level = (self.level * 1.0017).min(r).max(self.level);
        }
    }

    /// Sets the level from an RFC 3389 comfort-noise payload (-dBov, 0 dBov = full-scale square).
    pub fn set_dbov(&mut self, dbov: u8) {
        self.level = 32767.0 * 10f32.powf(-f32::from(dbov.min(127)) / 20.0);
        self.initialised = true;
    }

    /// Appends `n` samples of white noise at the background level.
    pub fn generate(&self, rng: &mut Rng, n: usize, out: &mut Vec<f32>) {
        out.extend((0..n).map(|_| rng.gaussian() * self.level));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_the_quiet_frames() {
        let mut bg = BackgroundNoise::new();
        let mut rng = Rng::new(1);
        for i in 0..300 {
            let amp = if i % 10 < 7 { 3000.0 } else { 30.0 };
            let frame: Vec<f32> = (0..160).map(|_| rng.gaussian() * amp).collect();
            bg.update(&frame);
        }
        assert!(
            bg.level() > 20.0 && bg.level() < 60.0,
            "level {}",
            bg.level()
        );
    }

    #[test]
    fn dbov_level() {
        let mut bg = BackgroundNoise::new();
        bg.set_dbov(20);
        assert!((bg.level() - 3276.7).abs() < 1.0);
    }
}
