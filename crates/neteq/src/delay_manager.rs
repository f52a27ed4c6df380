//! Target delay estimation from a forgetting histogram of relative packet delay.
//!
//! Each packet's *relative delay* is how much later it arrived than the fastest packet of the
//! last two seconds would predict (arrival time minus media timestamp, minus the minimum of that
//! difference over the window). Relative delays go into a histogram whose old mass decays by a
//! forgetting factor per packet; the target delay is a high quantile of it plus one packet, bounded.

use std::collections::VecDeque;

/// Histogram bucket width in milliseconds.
const BUCKET_MS: usize = 5;
/// Buckets: 0 .. 2 s of relative delay; anything larger lands in the last bucket.
const BUCKETS: usize = 400;
/// Window for the minimum of (arrival - timestamp), in milliseconds.
const WINDOW_MS: u64 = 2_000;
/// Cap of the window's entries (an attacker sending tiny packets cannot grow it).
const MAX_WINDOW_ENTRIES: usize = 1024;
/// Quantile of the relative delay distribution the target covers.
const QUANTILE: f64 = 0.95;
/// Steady-state forgetting factor per packet (libwebrtc uses about 0.983 as well).
const FORGET: f64 = 0.983;

#[derive(Debug, Clone)]
pub(crate) struct DelayManager {
    histogram: Vec<f64>,
    /// (arrival, arrival - ts) over the last WINDOW_MS.
    window: VecDeque<(u64, i64)>,
    packets_seen: u64,
    samples_per_ms: usize,
    packet_samples: usize,
    min_samples: usize,
    max_samples: usize,
    target: usize,
}

impl DelayManager {
    pub fn new(samples_per_ms: usize, min_delay_ms: u32, max_delay_ms: u32) -> DelayManager {
        let min_samples = min_delay_ms as usize * samples_per_ms;
        let max_samples = (max_delay_ms as usize * samples_per_ms).max(min_samples);
        let packet_samples = 20 * samples_per_ms;
        DelayManager {
            histogram: vec![0.0; BUCKETS],
            window: VecDeque::new(),
            packets_seen: 0,
            samples_per_ms,
            packet_samples,
            min_samples,
            max_samples,
            target: packet_samples.clamp(min_samples, max_samples),
        }
    }

    /// Target buffer level in samples.
    pub fn target(&self) -> usize {
        self.target
    }

    /// Forgets the timing reference (stream restart); the histogram is kept.
    pub fn reset_reference(&mut self) {
        self.window.clear();
    }

    /// Records a packet with timestamp `ts` (output samples) that arrived at `arrival` (samples on
    /// the playout clock) and lasts `duration` samples.
    pub fn update(&mut self, ts: i64, arrival: u64, duration: usize) {
        if duration > 0 {
            self.packet_samples = duration;
        }
        let transit = (arrival as i64).saturating_sub(ts);
        let horizon = arrival.saturating_sub(WINDOW_MS * self.samples_per_ms as u64);
        while self.window.front().is_some_and(|&(a, _)| a < horizon)
            || self.window.len() >= MAX_WINDOW_ENTRIES
        {
            self.window.pop_front();
        }
        self.window.push_back((arrival, transit));
        let fastest = self.window.iter().map(|&(_, t)| t).min().unwrap_or(transit);
        let relative = transit.saturating_sub(fastest).max(0) as usize;
        let bucket = (relative / (BUCKET_MS * self.samples_per_ms).max(1)).min(BUCKETS - 1);

        // Start-up: weigh early packets more so the histogram fills quickly (1/n until the
        // steady-state factor takes over).
        self.packets_seen = self.packets_seen.saturating_add(1);
        let forget = FORGET.min(1.0 - 1.0 / (self.packets_seen as f64 + 1.0));
        for h in self.histogram.iter_mut() {
            *h *= forget;
        }
        if let Some(h) = self.histogram.get_mut(bucket) {
            *h += 1.0 - forget;
        }
        self.recompute();
    }

    fn recompute(&mut self) {
        let total: f64 = self.histogram.iter().sum();
        if total <= 0.0 {
            return;
        }
        let mut acc = 0.0;
        let mut idx = BUCKETS - 1;
        for (i, h) in self.histogram.iter().enumerate() {
            acc += h / total;
            if acc >= QUANTILE {
                idx = i;
                break;
            }
        }
        // Upper edge of the quantile bucket, plus one packet so a packet is always on hand.
        let quantile = (idx + 1) * BUCKET_MS * self.samples_per_ms;
        let target = quantile + self.packet_samples;
        self.target = target.clamp(self.min_samples, self.max_samples);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_jitter_gives_one_packet_plus_a_bucket() {
        let mut d = DelayManager::new(16, 0, 2000);
        for i in 0..200u64 {
            d.update(i as i64 * 320, 1000 + i * 320, 320);
        }
        assert_eq!(d.target(), 320 + 5 * 16);
    }

    #[test]
    fn jitter_raises_target_and_it_decays_again() {
        let mut d = DelayManager::new(16, 0, 2000);
        // Every fifth packet 60 ms late.
        for i in 0..500u64 {
            let late = if i % 5 == 0 { 60 * 16 } else { 0 };
            d.update(i as i64 * 320, i * 320 + late, 320);
        }
        let jittery = d.target();
        assert!(jittery >= 320 + 60 * 16, "target {jittery}");
        for i in 500..1500u64 {
            d.update(i as i64 * 320, i * 320, 320);
        }
        assert!(
            d.target() < jittery / 2,
            "target {} did not decay",
            d.target()
        );
    }

    #[test]
    fn bounds_apply() {
        let mut d = DelayManager::new(16, 100, 150);
        for i in 0..100u64 {
            d.update(i as i64 * 320, i * 320 + (i % 2) * 16_000, 320);
        }
        assert_eq!(d.target(), 150 * 16);
        let mut d = DelayManager::new(16, 100, 150);
        d.update(0, 0, 320);
        assert_eq!(d.target(), 100 * 16);
    }
}
