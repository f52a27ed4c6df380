//! One direction of a link: the impairment engine shared by [`Network`](crate::Network) and
//! [`LossyPipe`](crate::LossyPipe).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::config::{Bandwidth, LinkConfig, Loss};
use crate::stats::{DropReason, Stats};

/// What a link did with one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmission {
    /// The datagram is gone.
    Dropped(DropReason),
    /// The datagram arrives at `at`; a duplicate, if any, arrives at `duplicate`.
    Delivered {
        /// Arrival time of the datagram.
        at: Instant,
        /// Arrival time of a duplicate copy.
        duplicate: Option<Instant>,
    },
}

/// One direction of a link with its impairment state (Gilbert-Elliott state, token bucket,
/// queue). Decisions draw from the RNG passed to [`Link::transmit`], so a seeded RNG gives a
/// deterministic link.
#[derive(Debug, Clone)]
pub struct Link {
    config: LinkConfig,
    /// Gilbert-Elliott chain is in the bad state.
    burst_state_bad: bool,
    /// Token bucket: bytes of credit at `tokens_at`.
    tokens: f64,
    tokens_at: Instant,
    /// Departure time of the last packet accepted by the bandwidth queue.
    last_departure: Instant,
    /// Packets waiting for tokens: (departure time, size).
    queue: VecDeque<(Instant, usize)>,
    queued_bytes: usize,
    /// Latest arrival time scheduled so far, for the reordering counter.
    latest_arrival: Option<Instant>,
    stats: Stats,
}

impl Link {
    /// A link that starts idle at `start` with a full token bucket.
    #[must_use]
    pub fn new(config: LinkConfig, start: Instant) -> Self {
        let tokens = config.bandwidth.map_or(0.0, |b| bucket_depth(&b, 0));
        Self {
            config,
            burst_state_bad: false,
            tokens,
            tokens_at: start,
            last_departure: start,
            queue: VecDeque::new(),
            queued_bytes: 0,
            latest_arrival: None,
            stats: Stats::default(),
        }
    }

    /// The current configuration.
    #[must_use]
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Replaces the configuration; queue, bucket and loss state carry over.
    pub fn set_config(&mut self, config: LinkConfig) {
        self.config = config;
    }

    /// Counters of this link direction (`delivered` = copies scheduled to arrive).
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn record_drop(&mut self, reason: DropReason) {
        self.stats.record_drop(reason);
    }

    /// Offers a datagram of `len` payload bytes to the link at `now`.
    pub fn transmit<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        len: usize,
        rng: &mut R,
    ) -> Transmission {
        bump(&mut self.stats.sent);
        match self.decide(now, len, rng) {
            Ok((at, duplicate)) => {
                self.note_arrival(at);
                bump(&mut self.stats.delivered);
                if let Some(copy) = duplicate {
                    self.note_arrival(copy);
                    bump(&mut self.stats.delivered);
                    bump(&mut self.stats.duplicated);
                }
                Transmission::Delivered { at, duplicate }
            }
            Err(reason) => {
                self.stats.record_drop(reason);
                Transmission::Dropped(reason)
            }
        }
    }

    fn decide<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        len: usize,
        rng: &mut R,
    ) -> Result<(Instant, Option<Instant>), DropReason> {
        if len > self.config.mtu {
            return Err(DropReason::Mtu);
        }
        let departure = match self.config.bandwidth {
            Some(bandwidth) => self.enqueue(now, len, &bandwidth)?,
            None => now,
        };
        if self.lost(rng) {
            return Err(DropReason::Loss);
        }
        let at = self.arrival(departure, rng)?;
        let duplicate = if fires(rng, self.config.duplicate) {
            Some(self.arrival(departure, rng)?)
        } else {
            None
        };
        Ok((at, duplicate))
    }

    fn note_arrival(&mut self, at: Instant) {
        match self.latest_arrival {
            Some(latest) if at < latest => bump(&mut self.stats.reordered),
            _ => self.latest_arrival = Some(at),
        }
    }

    fn lost<R: Rng + ?Sized>(&mut self, rng: &mut R) -> bool {
        match self.config.loss {
            Loss::None => false,
            Loss::Uniform(p) => fires(rng, p),
            Loss::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_in_good,
                loss_in_bad,
            } => {
                let lost = if self.burst_state_bad {
                    fires(rng, loss_in_bad)
                } else {
                    fires(rng, loss_in_good)
                };
                let flip = if self.burst_state_bad {
                    p_bad_to_good
                } else {
                    p_good_to_bad
                };
                if fires(rng, flip) {
                    self.burst_state_bad = !self.burst_state_bad;
                }
                lost
            }
        }
    }

    /// Token bucket feeding a FIFO: returns the time the packet leaves, or tail-drops it.
    fn enqueue(
        &mut self,
        now: Instant,
        len: usize,
        bandwidth: &Bandwidth,
    ) -> Result<Instant, DropReason> {
        if bandwidth.bits_per_second == 0 {
            return Err(DropReason::QueueFull);
        }
        while let Some(&(departure, size)) = self.queue.front() {
            if departure > now {
                break;
            }
            self.queue.pop_front();
            self.queued_bytes = self.queued_bytes.saturating_sub(size);
        }
        #[allow(clippy::cast_precision_loss)] // rates and sizes far below 2^52
        let (rate, size) = (bandwidth.bits_per_second as f64 / 8.0, len as f64);
        let start = now.max(self.last_departure);
        let idle = start
            .saturating_duration_since(self.tokens_at)
            .as_secs_f64();
        let available = (self.tokens + rate * idle).min(bucket_depth(bandwidth, len));
        let (departure, tokens_left) = if available >= size {
            (start, available - size)
        } else {
            let wait = Duration::try_from_secs_f64((size - available) / rate)
                .map_err(|_| DropReason::TimeOverflow)?;
            (
                start.checked_add(wait).ok_or(DropReason::TimeOverflow)?,
                0.0,
            )
        };
        if departure > now {
            if self.queued_bytes.saturating_add(len) > bandwidth.queue_bytes {
                return Err(DropReason::QueueFull);
            }
            self.queue.push_back((departure, len));
            self.queued_bytes = self.queued_bytes.saturating_add(len);
        }
        self.tokens = tokens_left;
        self.tokens_at = departure;
        self.last_departure = departure;
        Ok(departure)
    }

    fn arrival<R: Rng + ?Sized>(
        &self,
        departure: Instant,
        rng: &mut R,
    ) -> Result<Instant, DropReason> {
        let mut latency = self.config.delay;
        if !self.config.jitter.is_zero() {
            let max = u64::try_from(self.config.jitter.as_nanos()).unwrap_or(u64::MAX);
            let extra = Duration::from_nanos(rng.gen_range(0..=max));
            latency = latency.checked_add(extra).ok_or(DropReason::TimeOverflow)?;
        }
        if fires(rng, self.config.reorder) {
            latency = latency
                .checked_add(self.config.reorder_delay)
                .ok_or(DropReason::TimeOverflow)?;
        }
        departure
            .checked_add(latency)
            .ok_or(DropReason::TimeOverflow)
    }
}

/// Bucket depth in bytes; never below the packet at hand so an oversize packet can still pass.
fn bucket_depth(bandwidth: &Bandwidth, len: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)] // sizes far below 2^52
    let depth = bandwidth.burst_bytes.max(len) as f64;
    depth
}

/// Draws once and returns true with probability `p` (no draw when `p` is certainly 0).
pub(crate) fn fires<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    // `p > 0.0` is false for NaN too; `gen::<f64>()` is in [0, 1), so p ≥ 1 always fires.
    p > 0.0 && rng.r#gen::<f64>() < p
}

pub(crate) fn bump(counter: &mut u64) {
    *counter = counter.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[allow(clippy::disallowed_methods)] // the virtual time base
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn perfect_link_delivers_at_delay() {
        let start = t0();
        let mut link = Link::new(LinkConfig::with_delay(Duration::from_millis(30)), start);
        let mut rng = StdRng::seed_from_u64(1);
        let t = link.transmit(start, 100, &mut rng);
        assert_eq!(
            t,
            Transmission::Delivered {
                at: start + Duration::from_millis(30),
                duplicate: None
            }
        );
        assert_eq!(link.stats().sent, 1);
        assert_eq!(link.stats().delivered, 1);
    }

    #[test]
    fn zero_rate_drops_everything() {
        let start = t0();
        let config = LinkConfig {
            bandwidth: Some(Bandwidth::new(0)),
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, start);
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            link.transmit(start, 1, &mut rng),
            Transmission::Dropped(DropReason::QueueFull)
        );
    }

    #[test]
    fn bursty_constructor_has_requested_mean() {
        let loss = Loss::bursty(0.1, 4.0);
        assert!((loss.mean_loss_rate() - 0.1).abs() < 1e-12);
        assert_eq!(Loss::bursty(1.0, 3.0).mean_loss_rate(), 1.0);
        assert_eq!(Loss::bursty(f64::NAN, f64::NAN).mean_loss_rate(), 0.0);
    }
}
