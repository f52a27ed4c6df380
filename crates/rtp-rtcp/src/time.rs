//! Clock arithmetic without reading a clock: NTP mapping (the application passes the NTP
//! time in once), RTP-timestamp conversion and sequence-number unwrapping.

use std::time::{Duration, Instant};

/// Maps `Instant`s to 64-bit NTP timestamps from one reference pair given by the caller.
#[derive(Debug, Clone, Copy)]
pub struct NtpClock {
    at: Instant,
    ntp: u64,
}

impl NtpClock {
    /// `ntp` is the NTP time (RFC 3550 §4: seconds since 1900 in 32.32 fixed point) at `at`.
    pub fn new(at: Instant, ntp: u64) -> Self {
        NtpClock { at, ntp }
    }
    /// The NTP time at `t`.
    pub fn ntp(&self, t: Instant) -> u64 {
        if t >= self.at {
            self.ntp.wrapping_add(duration_to_ntp(t - self.at))
        } else {
            self.ntp.wrapping_sub(duration_to_ntp(self.at - t))
        }
    }
    /// Middle 32 bits of the NTP time at `t` (RFC 3550 §6.4.1 LSR format).
    pub fn compact(&self, t: Instant) -> u32 {
        compact(self.ntp(t))
    }
}

/// Middle 32 bits of a 64-bit NTP timestamp.
pub fn compact(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A duration as 32.32 fixed point seconds.
pub fn duration_to_ntp(d: Duration) -> u64 {
    (d.as_secs() << 32).wrapping_add((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// A 16.16 fixed-point duration (DLSR, RTT arithmetic) as a `Duration`.
pub fn compact_to_duration(v: u32) -> Duration {
    Duration::from_nanos((u64::from(v) * 1_000_000_000) >> 16)
}

/// A `Duration` in 1/65536 s units, saturating.
pub fn duration_to_compact(d: Duration) -> u32 {
    u32::try_from((d.as_nanos() << 16) / 1_000_000_000).unwrap_or(u32::MAX)
}

/// `d` in RTP clock ticks (wrapping into 32 bits).
pub fn rtp_ticks(d: Duration, clock_rate: u32) -> u32 {
    ((d.as_nanos() * u128::from(clock_rate)) / 1_000_000_000) as u32
}

/// Unwraps 16-bit sequence numbers into a 64-bit space, accepting reordering in either
/// direction up to half the sequence space.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeqUnwrapper {
    last: Option<u64>,
}

impl SeqUnwrapper {
    /// Unwrap `seq` relative to the last value returned.
    pub fn unwrap(&mut self, seq: u16) -> u64 {
        let v = self.peek(seq);
        if self.last.is_none_or(|l| v > l) {
            self.last = Some(v);
        }
        v
    }
    /// Unwrap without updating.
    pub fn peek(&self, seq: u16) -> u64 {
        match self.last {
            None => u64::from(seq) + (1 << 16),
            Some(l) => {
                let diff = seq.wrapping_sub(l as u16) as i16;
                // `last` starts at 2^16 + seq, so one step back never goes below zero
                l.saturating_add_signed(i64::from(diff))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwrap_across_wrap_and_reorder() {
        let mut u = SeqUnwrapper::default();
        let a = u.unwrap(65534);
        assert_eq!(u.unwrap(65535), a + 1);
        assert_eq!(u.unwrap(1), a + 3);
        assert_eq!(u.unwrap(0), a + 2);
        assert_eq!(u.unwrap(2), a + 4);
    }

    #[test]
    fn ntp_mapping() {
        let t = crate::test_util::base();
        let c = NtpClock::new(t, 10 << 32);
        assert_eq!(
            c.ntp(t + Duration::from_millis(500)),
            (10 << 32) + (1 << 31)
        );
        assert_eq!(
            compact_to_duration(duration_to_compact(Duration::from_millis(250))),
            Duration::from_millis(250)
        );
    }
}
