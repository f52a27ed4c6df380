//! Delay-based congestion detection (GCC, draft-ietf-rmcat-gcc-02 §5): packet groups,
//! a trendline filter over the accumulated one-way delay variation, and an adaptive-
//! threshold over-use detector.

use std::collections::VecDeque;
use std::time::Instant;

/// Packets sent within this span form one group (draft-ietf-rmcat-gcc-02 §5.2: 5 ms burst).
const GROUP_SPAN_US: i64 = 5_000;
const SMOOTHING: f64 = 0.9;
const WINDOW: usize = 20;
const THRESHOLD_GAIN: f64 = 4.0;
const K_UP: f64 = 0.0087;
const K_DOWN: f64 = 0.039;
const OVERUSE_TIME_MS: f64 = 10.0;

/// What the detector concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandwidthUsage {
    /// Delay is stable.
    Normal,
    /// Delay is growing: the bottleneck queue fills.
    Overusing,
    /// Delay is shrinking: the queue drains.
    Underusing,
}

#[derive(Debug, Clone, Copy)]
struct Group {
    first_send_us: i64,
    last_send_us: i64,
    last_arrival_us: i64,
}

/// Groups packets and runs the trendline estimator and over-use detector.
#[derive(Debug, Clone)]
pub struct DelayDetector {
    origin: Option<Instant>,
    current: Option<Group>,
    previous: Option<Group>,
    first_arrival_us: Option<i64>,
    accumulated: f64,
    smoothed: f64,
    history: VecDeque<(f64, f64)>,
    num_deltas: u32,
    trend: f64,
    prev_trend: f64,
    threshold: f64,
    last_threshold_update_ms: Option<f64>,
    overuse_time_ms: f64,
    overuse_count: u32,
    state: BandwidthUsage,
}

impl Default for DelayDetector {
    fn default() -> Self {
        DelayDetector {
            origin: None,
            current: None,
            previous: None,
            first_arrival_us: None,
            accumulated: 0.0,
            smoothed: 0.0,
            history: VecDeque::with_capacity(WINDOW),
            num_deltas: 0,
            trend: 0.0,
            prev_trend: 0.0,
            threshold: 12.5,
            last_threshold_update_ms: None,
            overuse_time_ms: -1.0,
            overuse_count: 0,
            state: BandwidthUsage::Normal,
        }
    }
}

impl DelayDetector {
    /// Current state.
    pub fn state(&self) -> BandwidthUsage {
        self.state
    }

    /// Feed one received packet (in send order).
    pub fn on_packet(&mut self, send_time: Instant, arrival_us: i64) -> BandwidthUsage {
        let origin = *self.origin.get_or_insert(send_time);
        let send_us = send_time.saturating_duration_since(origin).as_micros() as i64;
        match &mut self.current {
            None => {
                self.current = Some(Group {
                    first_send_us: send_us,
                    last_send_us: send_us,
                    last_arrival_us: arrival_us,
                });
            }
            Some(g) if send_us - g.first_send_us <= GROUP_SPAN_US && send_us >= g.first_send_us => {
                g.last_send_us = g.last_send_us.max(send_us);
                g.last_arrival_us = g.last_arrival_us.max(arrival_us);
            }
            Some(g) if send_us < g.first_send_us => {} // reordered into an old group: ignore
            Some(_) => {
                let done = self.current.take();
                if let (Some(prev), Some(cur)) = (self.previous, done) {
                    let send_delta = (cur.last_send_us - prev.last_send_us) as f64 / 1000.0;
                    let arrival_delta =
                        (cur.last_arrival_us - prev.last_arrival_us) as f64 / 1000.0;
                    self.update_trend(arrival_delta - send_delta, send_delta, cur.last_arrival_us);
                }
                self.previous = done;
                self.current = Some(Group {
                    first_send_us: send_us,
                    last_send_us: send_us,
                    last_arrival_us: arrival_us,
                });
            }
        }
        self.state
    }

    fn update_trend(&mut self, delay_ms: f64, send_delta_ms: f64, arrival_us: i64) {
        let first = *self.first_arrival_us.get_or_insert(arrival_us);
        let t_ms = (arrival_us - first) as f64 / 1000.0;
        self.num_deltas = self.num_deltas.saturating_add(1).min(1000);
        self.accumulated += delay_ms;
        self.smoothed = SMOOTHING * self.smoothed + (1.0 - SMOOTHING) * self.accumulated;
        if self.history.len() >= WINDOW {
            self.history.pop_front();
        }
        self.history.push_back((t_ms, self.smoothed));
        if self.history.len() == WINDOW
            && let Some(slope) = linear_fit_slope(&self.history)
        {
            self.prev_trend = self.trend;
            self.trend = slope;
        }
        self.detect(send_delta_ms, t_ms);
    }

    fn detect(&mut self, ts_delta_ms: f64, now_ms: f64) {
        if self.num_deltas < 2 {
            self.state = BandwidthUsage::Normal;
            return;
        }
        let modified = f64::from(self.num_deltas.min(60)) * self.trend * THRESHOLD_GAIN;
        if modified > self.threshold {
            if self.overuse_time_ms < 0.0 {
                self.overuse_time_ms = ts_delta_ms / 2.0;
            } else {
                self.overuse_time_ms += ts_delta_ms;
            }
            self.overuse_count += 1;
            if self.overuse_time_ms > OVERUSE_TIME_MS
                && self.overuse_count > 1
                && self.trend >= self.prev_trend
            {
                self.overuse_time_ms = 0.0;
                self.overuse_count = 0;
                self.state = BandwidthUsage::Overusing;
            }
        } else if modified < -self.threshold {
            self.overuse_time_ms = -1.0;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Underusing;
        } else {
            self.overuse_time_ms = -1.0;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Normal;
        }
        self.update_threshold(modified, now_ms);
    }

    fn update_threshold(&mut self, modified: f64, now_ms: f64) {
        let last = *self.last_threshold_update_ms.get_or_insert(now_ms);
        // Large spikes (e.g. a route change) do not move the threshold.
        if modified.abs() > self.threshold + 15.0 {
            self.last_threshold_update_ms = Some(now_ms);
            return;
        }
        let k = if modified.abs() < self.threshold {
            K_DOWN
        } else {
            K_UP
        };
        let dt = (now_ms - last).clamp(0.0, 100.0);
        self.threshold += k * (modified.abs() - self.threshold) * dt;
        self.threshold = self.threshold.clamp(6.0, 600.0);
        self.last_threshold_update_ms = Some(now_ms);
    }
}

fn linear_fit_slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    (den != 0.0).then(|| num / den)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn growing_queue_is_overuse_and_steady_is_normal() {
        let t = crate::test_util::base();
        let mut d = DelayDetector::default();
        // steady: 1 packet every 10 ms, constant 50 ms delay
        for i in 0..100i64 {
            d.on_packet(
                t + Duration::from_millis(i as u64 * 10),
                i * 10_000 + 50_000,
            );
        }
        assert_eq!(d.state(), BandwidthUsage::Normal);
        // queue grows 2 ms per packet
        let mut seen = false;
        for i in 100..200i64 {
            let s = d.on_packet(
                t + Duration::from_millis(i as u64 * 10),
                i * 10_000 + 50_000 + (i - 100) * 2_000,
            );
            seen |= s == BandwidthUsage::Overusing;
        }
        assert!(seen);
    }
}
