//! Expand: packet-loss concealment by repeating the last pitch period, mixed with noise in
//! proportion to how unvoiced the signal was, and fading to background noise over repeated
//! losses.

use super::background::BackgroundNoise;
use super::time_stretch::pitch_backward;
use super::{Rng, rms};

/// Gain multiplier per 10 ms once the fade starts.
const FADE_PER_10MS: f32 = 0.7;
/// Concealment at full level before fading starts, in 10 ms frames.
const HOLD_FRAMES: usize = 2;

#[derive(Debug, Clone)]
pub(crate) struct Expander {
    template: Vec<f32>,
    pos: usize,
    voicing: f32,
    template_rms: f32,
    gain: f32,
    produced: usize,
    frame: usize,
    decay: f32,
}

impl Expander {
    pub fn new(frame: usize) -> Expander {
        Expander {
            template: Vec::new(),
            pos: 0,
            voicing: 0.0,
            template_rms: 0.0,
            gain: 1.0,
            produced: 0,
            frame,
            decay: FADE_PER_10MS.powf(1.0 / frame.max(1) as f32),
        }
    }

    /// Starts a concealment from the audio played so far.
    pub fn start(&mut self, history: &[f32], min_lag: usize, max_lag: usize) {
        let pitch = pitch_backward(history, min_lag, max_lag);
        let lag = pitch.map_or(min_lag, |p| p.lag).min(history.len());
        self.template = history
            .get(history.len() - lag..)
            .map(<[f32]>::to_vec)
            .unwrap_or_default();
        self.voicing = pitch.map_or(0.0, |p| p.correlation.clamp(0.0, 1.0));
        self.template_rms = rms(&self.template);
        self.pos = 0;
        self.gain = 1.0;
        self.produced = 0;
    }

    /// Appends `n` concealment samples; returns how many of them are "silent" (the concealed
    /// signal has fully faded into background noise).
    pub fn generate(
        &mut self,
        n: usize,
        bg: &BackgroundNoise,
        rng: &mut Rng,
        out: &mut Vec<f32>,
    ) -> usize {
        let mut silent = 0;
        for _ in 0..n {
            if self.produced >= HOLD_FRAMES * self.frame {
                self.gain *= self.decay;
                if self.gain < 1e-3 {
                    self.gain = 0.0;
                }
            }
            let voiced = match self.template.get(self.pos) {
                Some(&v) => {
                    self.pos = (self.pos + 1) % self.template.len();
                    v
                }
                None => 0.0,
            };
            let unvoiced = rng.gaussian() * self.template_rms;
            let concealed = self.voicing * voiced + (1.0 - self.voicing) * unvoiced;
            let noise = rng.gaussian() * bg.level();
            out.push(self.gain * concealed + (1.0 - self.gain) * noise);
            if self.gain == 0.0 {
                silent += 1;
            }
            self.produced += 1;
        }
        silent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_repeats_pitch_then_decays_to_background() {
        let period = 100;
        let history: Vec<f32> = (0..960)
            .map(|n| 8000.0 * (2.0 * std::f32::consts::PI * n as f32 / period as f32).sin())
            .collect();
        let mut bg = BackgroundNoise::new();
        bg.update(&vec![20.0; 160]);
        let mut e = Expander::new(160);
        let mut rng = Rng::new(3);
        e.start(&history, 40, 240);
        let mut out = Vec::new();
        let mut silent = 0;
        for _ in 0..30 {
            silent += e.generate(160, &bg, &mut rng, &mut out);
        }
        let frame_rms: Vec<f32> = out.chunks(160).map(rms).collect();
        // First frame continues the sine at (about) full level.
        assert!(frame_rms[0] > 5000.0, "{}", frame_rms[0]);
        // Energy decreases frame over frame once the fade starts, down to the background level.
        for w in frame_rms[2..20].windows(2) {
            assert!(w[1] < w[0], "{frame_rms:?}");
        }
        assert!(frame_rms[29] < 40.0, "{}", frame_rms[29]);
        assert!(silent > 0);
        // The first concealed period repeats the last played one.
        for i in 0..period {
            assert!((out[i] - history[960 - period + i]).abs() < 1.0);
        }
    }
}
