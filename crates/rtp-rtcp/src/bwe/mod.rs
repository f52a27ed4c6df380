//! Send-side bandwidth estimation in the style of Google Congestion Control
//! (draft-ietf-rmcat-gcc-02): a delay-based controller (trendline + over-use detector +
//! AIMD) over transport-wide feedback, a loss-based controller, and probing. The target
//! is the minimum of the delay- and loss-based estimates.

pub mod aimd;
pub mod delay;
pub mod probe;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::BweConfig;
use crate::twcc::PacketResult;
pub use aimd::AimdRateControl;
pub use delay::{BandwidthUsage, DelayDetector};
pub use probe::{ProbeCluster, ProbeController};

/// Samples kept for the acknowledged bitrate at most, whatever arrival times the remote
/// reports (they come from the wire).
const ACKED_MAX_SAMPLES: usize = 8192;
/// Window of the acknowledged-bitrate estimate.
const ACKED_WINDOW_US: i64 = 500_000;
/// Loss over this fraction above the random-loss baseline is congestion (GCC §6).
const LOSS_HIGH: f64 = 0.10;
/// Loss under this fraction above the baseline lets the loss-based estimate grow.
const LOSS_LOW: f64 = 0.02;

/// The complete estimator.
#[derive(Debug, Clone)]
pub struct GoogCc {
    cfg: BweConfig,
    delay: DelayDetector,
    aimd: AimdRateControl,
    probe: ProbeController,
    acked: VecDeque<(i64, usize)>,
    acked_rate: Option<u64>,
    // loss-based
    loss_based: f64,
    loss_window: (u64, u64),
    loss_baseline: Option<f64>,
    last_loss_decrease: Option<Instant>,
    last_loss: f64,
    rtt: Duration,
    remb: Option<u64>,
    target: u64,
    last_usage: BandwidthUsage,
    feedback_seen: bool,
}

impl GoogCc {
    /// A new estimator.
    pub fn new(cfg: BweConfig) -> Self {
        GoogCc {
            delay: DelayDetector::default(),
            aimd: AimdRateControl::new(cfg.start_bitrate, cfg.min_bitrate, cfg.max_bitrate),
            probe: ProbeController::new(cfg.start_bitrate, cfg.max_bitrate, cfg.initial_probing),
            acked: VecDeque::new(),
            acked_rate: None,
            loss_based: cfg.max_bitrate as f64,
            loss_window: (0, 0),
            loss_baseline: None,
            last_loss_decrease: None,
            last_loss: 0.0,
            rtt: Duration::from_millis(100),
            remb: None,
            target: cfg.start_bitrate,
            last_usage: BandwidthUsage::Normal,
            feedback_seen: false,
            cfg,
        }
    }

    /// Current target bitrate, bits/s.
    pub fn target_bitrate(&self) -> u64 {
        self.target
    }

    /// Acknowledged (delivered) bitrate, bits/s.
    pub fn acked_bitrate(&self) -> Option<u64> {
        self.acked_rate
    }

    /// Latest smoothed loss fraction reported by feedback.
    pub fn loss_fraction(&self) -> f64 {
        self.last_loss
    }

    /// Round-trip time for the rate controller.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// A receiver-side estimate (REMB) caps the target.
    pub fn on_remb(&mut self, bps: u64) {
        self.remb = Some(bps.max(self.cfg.min_bitrate));
        self.recompute();
    }

    /// The next probe cluster to pace out.
    pub fn poll_probe(&mut self, now: Instant) -> Option<ProbeCluster> {
        self.probe.poll_cluster(now)
    }

    /// Process the packets of one feedback message, in sequence order.
    pub fn on_feedback(&mut self, now: Instant, results: &[PacketResult]) {
        if results.is_empty() {
            return;
        }
        self.feedback_seen = true;
        // delay-based part
        let mut usage = self.delay.state();
        for r in results {
            if let Some(a) = r.arrival_us {
                usage = self.delay.on_packet(r.send_time, a);
                if self.acked.len() >= ACKED_MAX_SAMPLES {
                    self.acked.pop_front();
                }
                self.acked.push_back((a, r.size));
            }
        }
        if let Some(&(newest, _)) = self.acked.iter().max_by_key(|(t, _)| *t) {
            while self
                .acked
                .front()
                .is_some_and(|(t, _)| newest - t > ACKED_WINDOW_US)
            {
                self.acked.pop_front();
            }
            let oldest = self.acked.iter().map(|(t, _)| *t).min().unwrap_or(newest);
            let span = (newest - oldest).max(ACKED_WINDOW_US / 2) as f64 / 1e6;
            let bytes: usize = self.acked.iter().map(|(_, s)| s).sum();
            self.acked_rate = Some((bytes as f64 * 8.0 / span) as u64);
        }
        if let Some(p) = self.probe.on_feedback(now, results)
            && p > self.aimd.rate()
        {
            self.aimd.set_rate(now, p);
            self.loss_based = self.loss_based.max(p as f64);
        }
        self.last_usage = usage;
        self.aimd.update(now, usage, self.acked_rate, self.rtt);

        // loss-based part
        let lost = results.iter().filter(|r| r.arrival_us.is_none()).count() as u64;
        self.loss_window.0 += lost;
        self.loss_window.1 += results.len() as u64;
        if self.loss_window.1 >= 20 {
            let loss = self.loss_window.0 as f64 / self.loss_window.1 as f64;
            self.loss_window = (0, 0);
            self.last_loss = loss;
            self.on_loss(now, loss, usage);
        }
        self.probe.maybe_probe(
            now,
            self.target,
            usage == BandwidthUsage::Normal && self.loss_excess() < LOSS_LOW,
        );
        self.recompute();
    }

    /// Loss from an RTCP receiver report (fraction lost). Used only while no per-packet
    /// feedback (TWCC or RFC 8888) has arrived, which measures loss more precisely.
    pub fn on_report_loss(&mut self, now: Instant, loss: f64) {
        if self.feedback_seen {
            return;
        }
        self.last_loss = loss;
        self.on_loss(now, loss, self.delay.state());
        self.recompute();
    }

    fn loss_excess(&self) -> f64 {
        (self.last_loss - self.loss_baseline.unwrap_or(0.0)).max(0.0)
    }

    fn on_loss(&mut self, now: Instant, loss: f64, usage: BandwidthUsage) {
        // Random (non-congestion) loss is learnt while the delay detector sees no queue
        // building: a slow average of loss observed in that state. Only loss above this
        // baseline is treated as congestion, so a lossy but uncongested link still ramps up.
        if usage != BandwidthUsage::Overusing {
            let b = self.loss_baseline.get_or_insert(0.0);
            *b = 0.95 * *b + 0.05 * loss.min(0.25);
        }
        let excess = (loss - self.loss_baseline.unwrap_or(0.0)).max(0.0);
        let current = self.target as f64;
        if excess > LOSS_HIGH {
            // GCC §6: As = As × (1 − 0.5 p) when loss is high; at most once per
            // 300 ms + RTT.
            let ok = self.last_loss_decrease.is_none_or(|t| {
                now.saturating_duration_since(t) >= Duration::from_millis(300) + self.rtt
            });
            if ok {
                self.loss_based = current * (1.0 - 0.5 * excess);
                self.last_loss_decrease = Some(now);
            }
        } else if excess < LOSS_LOW {
            // GCC §6: As = 1.05 × As when loss is low; the delay-based controller then
            // governs the target.
            self.loss_based = (self.loss_based * 1.05 + 1000.0).max(current);
        }
        // between: hold
    }

    fn recompute(&mut self) {
        let mut t = (self.aimd.rate() as f64).min(self.loss_based);
        if let Some(r) = self.remb {
            t = t.min(r as f64);
        }
        self.target = (t as u64).clamp(self.cfg.min_bitrate, self.cfg.max_bitrate);
    }

    /// The detector's latest state.
    pub fn usage(&self) -> BandwidthUsage {
        self.last_usage
    }
}
