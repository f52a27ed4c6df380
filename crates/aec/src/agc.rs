//! Automatic gain control: tracks the speech level (frames well above the noise floor) and
//! moves a smooth gain towards a target level, with a soft limiter against clipping.

#[derive(Debug, Clone)]
pub(crate) struct GainControl {
    target_db: f32,
    max_gain_db: f32,
    level_db: Option<f32>,
    noise_db: f32,
    gain_db: f32,
    applied: f32,
}

/// Gain slew, dB per 10 ms frame (3 dB/s up, 30 dB/s down).
const UP_DB: f32 = 0.03;
const DOWN_DB: f32 = 0.3;
/// Start of the soft limiter (about -1 dBFS).
const LIMIT: f32 = 29_000.0;

impl GainControl {
    pub fn new(target_dbfs: f32, max_gain_db: f32) -> GainControl {
        GainControl {
            target_db: target_dbfs,
            max_gain_db: max_gain_db.max(0.0),
            level_db: None,
            noise_db: -90.0,
            gain_db: 0.0,
            applied: 1.0,
        }
    }

    pub fn gain_db(&self) -> f32 {
        self.gain_db
    }

    /// Processes one frame in place.
    pub fn process(&mut self, frame: &mut [f32]) {
        if frame.is_empty() {
            return;
        }
        let rms = (frame.iter().map(|v| v * v).sum::<f32>() / frame.len() as f32).sqrt();
        let db = 20.0 * (rms / 32768.0).max(1e-9).log10();
        // Noise floor: quick down, slow up.
        self.noise_db = if db < self.noise_db {
            db
        } else {
            self.noise_db + 0.02
        };
        let speech = db > self.noise_db + 9.0 && db > -60.0;
        if speech {
            let l = self.level_db.get_or_insert(db);
            *l = 0.9 * *l + 0.1 * db;
            let desired = (self.target_db - *l).clamp(-self.max_gain_db, self.max_gain_db);
            self.gain_db += (desired - self.gain_db).clamp(-DOWN_DB, UP_DB);
        }
        let target = 10f32.powf(self.gain_db / 20.0);
        let step = (target - self.applied) / frame.len() as f32;
        for v in frame.iter_mut() {
            self.applied += step;
            let x = *v * self.applied;
            // Soft limiter above LIMIT: tanh knee up to full scale.
            *v = if x.abs() > LIMIT {
                let over = (x.abs() - LIMIT) / (32767.0 - LIMIT);
                x.signum() * (LIMIT + (32767.0 - LIMIT) * over.tanh())
            } else {
                x
            };
        }
        self.applied = target;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_quiet_speech_towards_target_and_never_clips() {
        let mut agc = GainControl::new(-18.0, 24.0);
        let mut out_db = 0.0;
        for f in 0..1500 {
            // -40 dBFS tone bursts (speech-like on/off) over silence.
            let on = (f / 30) % 2 == 0;
            let mut frame: Vec<f32> = (0..160)
                .map(|i| {
                    if on {
                        328.0 * 1.414 * ((f * 160 + i) as f32 * 0.2).sin()
                    } else {
                        1.0
                    }
                })
                .collect();
            agc.process(&mut frame);
            if on {
                let rms = (frame.iter().map(|v| v * v).sum::<f32>() / 160.0).sqrt();
                out_db = 20.0 * (rms / 32768.0).log10();
            }
            assert!(frame.iter().all(|v| v.abs() <= 32767.0));
        }
        assert!(out_db > -22.0 && out_db < -14.0, "settled at {out_db} dBFS");
        assert!(agc.gain_db() > 17.0);
    }
}
