//! AIMD rate control (draft-ietf-rmcat-gcc-02 §5.5): multiplicative increase far from the
//! link capacity, additive near it, and decrease to β × the acknowledged rate on over-use.

use std::time::{Duration, Instant};

use super::delay::BandwidthUsage;

const BETA: f64 = 0.85;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RateState {
    Hold,
    Increase,
    Decrease,
}

/// The delay-based rate controller.
#[derive(Debug, Clone)]
pub struct AimdRateControl {
    rate: f64,
    min: f64,
    max: f64,
    state: RateState,
    last_update: Option<Instant>,
    last_decrease: Option<Instant>,
    /// Link capacity estimate (mean and variance, normalised) in bits/s.
    capacity: Option<f64>,
    capacity_var: f64,
}

impl AimdRateControl {
    /// Start at `start` bits/s within `[min, max]`.
    pub fn new(start: u64, min: u64, max: u64) -> Self {
        AimdRateControl {
            rate: start as f64,
            min: min as f64,
            max: max as f64,
            state: RateState::Hold,
            last_update: None,
            last_decrease: None,
            capacity: None,
            capacity_var: 0.4,
        }
    }

    /// Current delay-based estimate.
    pub fn rate(&self) -> u64 {
        self.rate as u64
    }

    /// Force the estimate (probe result, REMB cap).
    pub fn set_rate(&mut self, now: Instant, bps: u64) {
        self.rate = (bps as f64).clamp(self.min, self.max);
        self.last_update = Some(now);
    }

    /// Lower the ceiling (e.g. from REMB).
    pub fn set_max(&mut self, bps: u64) {
        self.max = (bps as f64).max(self.min);
        self.rate = self.rate.min(self.max);
    }

    fn update_capacity(&mut self, acked: f64) {
        // Exponential averages of the rate seen at decreases, as in libwebrtc's
        // link capacity estimator.
        let alpha = 0.05;
        match self.capacity {
            None => self.capacity = Some(acked),
            Some(c) => {
                let c2 = (1.0 - alpha) * c + alpha * acked;
                let norm = c2.max(1.0);
                let err = c2 - acked;
                self.capacity_var =
                    ((1.0 - alpha) * self.capacity_var + alpha * err * err / norm).clamp(0.4, 2.5);
                self.capacity = Some(c2);
            }
        }
    }

    fn near_capacity(&self) -> bool {
        match self.capacity {
            Some(c) => {
                let std = (self.capacity_var * c).sqrt() * 3.0;
                self.rate < c + std && self.rate > c - std
            }
            None => false,
        }
    }

    /// Update with the detector state and acknowledged bitrate.
    pub fn update(
        &mut self,
        now: Instant,
        usage: BandwidthUsage,
        acked: Option<u64>,
        rtt: Duration,
    ) -> u64 {
        let dt = self
            .last_update
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
            .min(Duration::from_secs(1));
        self.last_update = Some(now);
        self.state = match (usage, self.state) {
            (BandwidthUsage::Overusing, _) => RateState::Decrease,
            (BandwidthUsage::Underusing, _) => RateState::Hold,
            (BandwidthUsage::Normal, RateState::Hold | RateState::Decrease) => RateState::Increase,
            (BandwidthUsage::Normal, s) => s,
        };
        let acked_f = acked.map(|a| a as f64);
        match self.state {
            RateState::Hold => {}
            RateState::Increase => {
                if let (Some(c), Some(a)) = (self.capacity, acked_f) {
                    let std = (self.capacity_var * c).sqrt() * 3.0;
                    if a > c + std {
                        self.capacity = None; // capacity grew: forget it
                    }
                }
                let inc = if self.near_capacity() {
                    // additive: about one 1200-byte packet per response time
                    let response = (rtt + Duration::from_millis(100)).as_secs_f64();
                    (1200.0 * 8.0 / response).max(4000.0) * dt.as_secs_f64()
                } else {
                    (self.rate * (1.08f64.powf(dt.as_secs_f64()) - 1.0))
                        .max(1000.0 * dt.as_secs_f64())
                };
                let mut next = self.rate + inc;
                if let Some(a) = acked_f {
                    // do not run far ahead of what is actually delivered
                    next = next.min((1.5 * a + 10_000.0).max(self.rate));
                }
                self.rate = next;
            }
            RateState::Decrease => {
                // Decrease at most once per RTT-ish interval.
                let can = self.last_decrease.is_none_or(|t| {
                    now.saturating_duration_since(t) >= rtt.max(Duration::from_millis(200))
                });
                if can {
                    if let Some(a) = acked_f {
                        let next = BETA * a;
                        self.rate = next.min(self.rate);
                        self.update_capacity(a);
                    } else {
                        self.rate *= BETA;
                    }
                    self.last_decrease = Some(now);
                }
                self.state = RateState::Hold;
            }
        }
        self.rate = self.rate.clamp(self.min, self.max);
        self.rate as u64
    }
}
