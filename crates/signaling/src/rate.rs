//! Per-connection message rate limiting (token buckets on a caller-given clock).

use std::time::Instant;

use crate::config::Limits;

/// Fixed-point scale: one token is `SCALE` units, so refills need no floats.
const SCALE: u128 = 1_000_000_000;

/// A token bucket holding up to `capacity` tokens, refilled at `per_second`.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    /// Current level in `SCALE` units.
    level: u128,
    capacity: u128,
    per_second: u128,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(capacity: u32, per_second: u32, now: Instant) -> Self {
        let capacity = u128::from(capacity).saturating_mul(SCALE);
        Self {
            level: capacity,
            capacity,
            per_second: u128::from(per_second),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        // Elapsed nanoseconds × tokens per second = tokens in 1e-9 units = SCALE units.
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        self.level = self
            .level
            .saturating_add(elapsed.saturating_mul(self.per_second))
            .min(self.capacity);
        if now > self.last {
            self.last = now;
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.level >= SCALE {
            self.level -= SCALE;
            true
        } else {
            false
        }
    }
}

/// What to do with one received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the rate: process it.
    Accept,
    /// Over the rate: drop it and tell the client.
    Reject,
    /// Over the rate for too long: close the connection.
    Disconnect,
}

/// The two buckets of one connection: messages, and tolerated rejections
/// (which refill at one per second so that only a sustained excess disconnects).
#[derive(Clone, Debug)]
pub(crate) struct RateLimiter {
    messages: TokenBucket,
    rejections: TokenBucket,
}

impl RateLimiter {
    pub(crate) fn new(limits: &Limits, now: Instant) -> Self {
        Self {
            messages: TokenBucket::new(limits.message_burst, limits.messages_per_second, now),
            rejections: TokenBucket::new(limits.max_rejected_messages, 1, now),
        }
    }

    /// Accounts for one received message at `now`.
    pub(crate) fn check(&mut self, now: Instant) -> Verdict {
        if self.messages.try_take(now) {
            Verdict::Accept
        } else if self.rejections.try_take(now) {
            Verdict::Reject
        } else {
            Verdict::Disconnect
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(rate: u32, burst: u32, rejections: u32) -> Limits {
        Limits {
            messages_per_second: rate,
            message_burst: burst,
            max_rejected_messages: rejections,
            ..Limits::default()
        }
    }

    #[test]
    fn burst_then_refill_at_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(3, 10, t0);
        assert!(bucket.try_take(t0));
        assert!(bucket.try_take(t0));
        assert!(bucket.try_take(t0));
        assert!(!bucket.try_take(t0));
        // 10/s: one token per 100 ms.
        assert!(!bucket.try_take(t0 + Duration::from_millis(99)));
        assert!(bucket.try_take(t0 + Duration::from_millis(100)));
        assert!(!bucket.try_take(t0 + Duration::from_millis(100)));
        // A long pause refills only up to the capacity.
        let later = t0 + Duration::from_secs(3600);
        assert!(bucket.try_take(later));
        assert!(bucket.try_take(later));
        assert!(bucket.try_take(later));
        assert!(!bucket.try_take(later));
    }

    #[test]
    fn time_going_backwards_is_harmless() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut bucket = TokenBucket::new(1, 1, t0);
        assert!(bucket.try_take(t0));
        assert!(!bucket.try_take(t0 - Duration::from_secs(5)));
        assert!(bucket.try_take(t0 + Duration::from_secs(1)));
    }

    #[test]
    fn sustained_excess_disconnects_but_a_burst_does_not() {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::new(&limits(10, 5, 3), t0);
        let verdicts: Vec<_> = (0..9).map(|_| limiter.check(t0)).collect();
        use Verdict::*;
        assert_eq!(
            verdicts,
            [
                Accept, Accept, Accept, Accept, Accept, Reject, Reject, Reject, Disconnect
            ]
        );

        // A client that bursts over the limit once, then behaves, is never cut off.
        let mut limiter = RateLimiter::new(&limits(10, 5, 3), t0);
        let mut now = t0;
        for _ in 0..7 {
            assert_ne!(limiter.check(now), Disconnect);
        }
        for _ in 0..1000 {
            now += Duration::from_millis(100);
            assert_eq!(limiter.check(now), Accept);
        }
        // The two rejections were forgiven at one per second meanwhile.
        now += Duration::from_secs(3);
        let verdicts: Vec<_> = (0..9).map(|_| limiter.check(now)).collect();
        assert_eq!(
            verdicts,
            [
                Accept, Accept, Accept, Accept, Accept, Reject, Reject, Reject, Disconnect
            ]
        );
    }
}
