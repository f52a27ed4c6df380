//! Pitch-synchronous time stretching (WSOLA-style): remove or insert exactly one pitch period,
//! cross-fading so the waveform stays continuous at both seams.

use super::rms;

/// A pitch estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pitch {
    /// Period in samples.
    pub lag: usize,
    /// Normalized correlation between the two periods compared, in [-1, 1].
    pub correlation: f32,
}

fn normalized_correlation(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= 0.0 || bb <= 0.0 {
        return 0.0;
    }
    (ab / (aa * bb).sqrt()) as f32
}

/// Best period in `min_lag..=max_lag` comparing `x[0..L]` with `x[L..2L]`. Among lags whose
/// correlation is within 3 % of the best it takes the shortest, so a multiple of the true period
/// is never chosen over the period itself.
pub(crate) fn pitch_forward(x: &[f32], min_lag: usize, max_lag: usize) -> Option<Pitch> {
    let max_lag = max_lag.min(x.len() / 2);
    let min_lag = min_lag.max(1);
    if min_lag > max_lag {
        return None;
    }
    let corrs: Vec<(usize, f32)> = (min_lag..=max_lag)
        .filter_map(|lag| {
            let a = x.get(..lag)?;
            let b = x.get(lag..2 * lag)?;
            Some((lag, normalized_correlation(a, b)))
        })
        .collect();
    let best = corrs.iter().map(|&(_, c)| c).fold(f32::MIN, f32::max);
    // Take the first local maximum that comes close to the best.
    corrs
        .iter()
        .enumerate()
        .find(|&(i, &(_, c))| {
            let next = corrs.get(i + 1).map_or(f32::MIN, |&(_, n)| n);
            c >= best - 0.03 * best.abs() && c >= next
        })
        .map(|(_, &(lag, correlation))| Pitch { lag, correlation })
}

/// Best period of the *end* of `x` (comparing the last period with the one before it).
pub(crate) fn pitch_backward(x: &[f32], min_lag: usize, max_lag: usize) -> Option<Pitch> {
    let take = (2 * max_lag).min(x.len());
    let tail = x.get(x.len() - take..)?;
    let reversed: Vec<f32> = tail.iter().rev().copied().collect();
    pitch_forward(&reversed, min_lag, max_lag)
}

/// Parameters of a stretch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StretchParams {
    pub min_lag: usize,
    pub max_lag: usize,
    /// Minimum normalized correlation for voiced audio.
    pub threshold: f32,
    /// Below this RMS the audio is "passive" (silence/noise) and may be stretched whatever its
    /// correlation.
    pub passive_rms: f32,
    /// Whether active (voiced) audio may be stretched at all. Without it only passive audio is:
    /// a period cut from or added to a pause costs nothing audible, while one inside a word
    /// shifts the rest of the word.
    pub voiced_allowed: bool,
}

fn choose(seg: &[f32], p: &StretchParams) -> Option<usize> {
    let pitch = pitch_forward(seg, p.min_lag, p.max_lag)?;
    let passive = rms(seg.get(..2 * pitch.lag)?) < p.passive_rms;
    (passive || (p.voiced_allowed && pitch.correlation >= p.threshold)).then_some(pitch.lag)
}

/// Removes one pitch period from `x[start..]` (accelerate). Returns the samples removed.
pub(crate) fn accelerate(x: &mut Vec<f32>, start: usize, p: &StretchParams) -> Option<usize> {
    let seg = x.get(start..)?;
    let lag = choose(seg, p)?;
    // Cross-fade period 1 (fading out) into period 2 (fading in): starts like x[start] and ends
    // like x[start + 2L - 1], so both seams are continuous.
    let faded: Vec<f32> = (0..lag)
        .map(|i| {
            let w = (i + 1) as f32 / (lag + 1) as f32;
            let a = seg.get(i).copied().unwrap_or(0.0);
            let b = seg.get(lag + i).copied().unwrap_or(0.0);
            a * (1.0 - w) + b * w
        })
        .collect();
    x.splice(start..start + 2 * lag, faded);
    Some(lag)
}

/// Inserts one pitch period into `x[start..]` (preemptive expand). Returns the samples inserted.
pub(crate) fn preemptive_expand(
    x: &mut Vec<f32>,
    start: usize,
    p: &StretchParams,
) -> Option<usize> {
    let seg = x.get(start..)?;
    let lag = choose(seg, p)?;
    // After period 1, insert a period that fades from period 2 into period 1, then period 2
    // follows again: continuous at x[start + L - 1] → x[start + L] and at the end.
    let inserted: Vec<f32> = (0..lag)
        .map(|i| {
            let w = (i + 1) as f32 / (lag + 1) as f32;
            let a = seg.get(lag + i).copied().unwrap_or(0.0);
            let b = seg.get(i).copied().unwrap_or(0.0);
            a * (1.0 - w) + b * w
        })
        .collect();
    let at = start + lag;
    x.splice(at..at, inserted);
    Some(lag)
}

/// Length of the quiet prefix of `x`: the whole `block`-sample blocks from its start whose RMS is
/// under `passive_rms` (a pause, or the silence before speech).
pub(crate) fn passive_prefix(x: &[f32], block: usize, passive_rms: f32) -> usize {
    let block = block.max(1);
    x.chunks_exact(block)
        .take_while(|b| rms(b) < passive_rms)
        .count()
        * block
}

/// Lengthens a pause: inserts `n` samples into the quiet prefix `x[..quiet]` (at its middle) of
/// noise at the prefix's own level, so a silent pause stays silent and a noisy one keeps its
/// noise. Returns the samples inserted (0 when the prefix is too short to hide the seams).
pub(crate) fn lengthen_pause(
    x: &mut Vec<f32>,
    quiet: usize,
    n: usize,
    rng: &mut super::Rng,
) -> usize {
    let quiet = quiet.min(x.len());
    if quiet < 2 || n == 0 {
        return 0;
    }
    let level = rms(x.get(..quiet).unwrap_or(&[]));
    let at = quiet / 2;
    let fill: Vec<f32> = (0..n).map(|_| rng.gaussian() * level).collect();
    x.splice(at..at, fill);
    n
}

/// Shortens a pause: removes up to `n` samples from the quiet prefix `x[..quiet]`, cross-fading
/// over `fade` samples so the seam stays continuous. Returns the samples removed.
pub(crate) fn shorten_pause(x: &mut Vec<f32>, quiet: usize, n: usize, fade: usize) -> usize {
    let quiet = quiet.min(x.len());
    // Keep `fade` samples before the cut and the cross-fade inside the quiet part.
    let n = n.min(quiet.saturating_sub(3 * fade));
    if n == 0 {
        return 0;
    }
    let a = fade;
    let faded: Vec<f32> = (0..fade)
        .map(|i| {
            let w = (i + 1) as f32 / (fade + 1) as f32;
            let p = x.get(a + i).copied().unwrap_or(0.0);
            let q = x.get(a + n + i).copied().unwrap_or(0.0);
            p * (1.0 - w) + q * w
        })
        .collect();
    x.splice(a..a + n + fade, faded);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A voiced-like periodic signal: fundamental plus two harmonics.
    fn periodic(period: usize, len: usize) -> Vec<f32> {
        (0..len)
            .map(|n| {
                let ph = 2.0 * std::f32::consts::PI * n as f32 / period as f32;
                8000.0 * ph.sin() + 3000.0 * (2.0 * ph).sin() + 1500.0 * (3.0 * ph + 0.5).sin()
            })
            .collect()
    }

    fn params() -> StretchParams {
        StretchParams {
            min_lag: 40,
            max_lag: 240,
            threshold: 0.9,
            passive_rms: 50.0,
            voiced_allowed: true,
        }
    }

    #[test]
    fn pauses_are_lengthened_and_shortened_by_the_amount_asked_in_their_quiet_part() {
        let mut rng = super::super::Rng::new(7);
        // 30 ms of quiet (level 10) then 10 ms of loud audio, at 16 kHz.
        let mut x: Vec<f32> = (0..480)
            .map(|i| if i % 2 == 0 { 10.0 } else { -10.0 })
            .collect();
        x.extend((0..160).map(|i| 8000.0 * (i as f32 * 0.3).sin()));
        let quiet = passive_prefix(&x, 80, 50.0);
        assert_eq!(quiet, 480);
        let loud_before: Vec<f32> = x[480..].to_vec();
        assert_eq!(lengthen_pause(&mut x, quiet, 800, &mut rng), 800);
        assert_eq!(x.len(), 640 + 800);
        assert_eq!(&x[1280..], &loud_before[..], "the loud part is untouched");
        assert!(rms(&x[240..1040]) < 20.0, "the fill has the pause's level");
        let quiet = passive_prefix(&x, 80, 50.0);
        assert_eq!(quiet, 1280);
        // Asked for more than the quiet part holds: only what fits, the loud part untouched.
        let removed = shorten_pause(&mut x, quiet, 5000, 16);
        assert_eq!(removed, 1280 - 48);
        assert_eq!(x.len(), 1440 - removed);
        assert_eq!(&x[x.len() - 160..], &loud_before[..]);
        let quiet = passive_prefix(&x, 80, 50.0);
        assert_eq!(
            shorten_pause(&mut x, quiet, 100, 16),
            0,
            "nothing quiet left"
        );
    }

    #[test]
    fn pitch_of_periodic_signal() {
        let x = periodic(100, 600);
        let p = pitch_forward(&x, 40, 240).unwrap();
        assert_eq!(p.lag, 100);
        assert!(p.correlation > 0.99);
        assert_eq!(pitch_backward(&x, 40, 240).unwrap().lag, 100);
    }

    #[test]
    fn accelerate_removes_exactly_one_period() {
        for period in [57usize, 100, 160] {
            let mut x = periodic(period, 800);
            let removed = accelerate(&mut x, 0, &params()).unwrap();
            assert_eq!(removed, period);
            assert_eq!(x.len(), 800 - period);
            // What follows the stretched part is the original signal, shifted by one period.
            let orig = periodic(period, 800);
            for n in period..x.len() {
                assert!((x[n] - orig[n + period]).abs() < 1e-2, "n {n}");
            }
        }
    }

    #[test]
    fn preemptive_expand_inserts_exactly_one_period() {
        for period in [57usize, 100, 160] {
            let mut x = periodic(period, 800);
            let inserted = preemptive_expand(&mut x, 0, &params()).unwrap();
            assert_eq!(inserted, period);
            assert_eq!(x.len(), 800 + period);
            let orig = periodic(period, 800);
            // The inserted period is itself periodic-consistent: the whole output still repeats.
            for n in 0..x.len() - period {
                assert!((x[n] - x[n + period]).abs() < 1.0, "n {n}");
            }
            assert!((x[x.len() - 1] - orig[799]).abs() < 1e-3);
        }
    }

    #[test]
    fn noise_above_passive_level_is_not_stretched() {
        let mut rng = crate::dsp::Rng::new(9);
        let mut x: Vec<f32> = (0..800).map(|_| rng.gaussian() * 3000.0).collect();
        assert_eq!(accelerate(&mut x, 0, &params()), None);
        assert_eq!(x.len(), 800);
        let mut quiet: Vec<f32> = (0..800).map(|_| rng.gaussian() * 10.0).collect();
        assert!(accelerate(&mut quiet, 0, &params()).is_some());
    }

    #[test]
    fn voiced_audio_waits_when_only_passive_stretching_is_allowed() {
        let passive_only = StretchParams {
            voiced_allowed: false,
            ..params()
        };
        let mut x = periodic(100, 800);
        assert_eq!(accelerate(&mut x, 0, &passive_only), None);
        assert_eq!(preemptive_expand(&mut x, 0, &passive_only), None);
        assert_eq!(x.len(), 800);
        let mut rng = crate::dsp::Rng::new(3);
        let mut quiet: Vec<f32> = (0..800).map(|_| rng.gaussian() * 10.0).collect();
        assert!(accelerate(&mut quiet, 0, &passive_only).is_some());
    }
}
