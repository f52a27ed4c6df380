//! RTCP transmission interval (RFC 3550 §6.3.1 and A.7), with the reduced minimum of §6.2.

use std::time::Duration;

use rand::Rng;

/// RFC 3550 §6.3.1: e − 3/2, compensating for timer reconsideration.
const COMPENSATION: f64 = std::f64::consts::E - 1.5;

/// Inputs of the interval computation.
#[derive(Debug, Clone, Copy)]
pub struct IntervalParams {
    /// Session members (including us).
    pub members: u32,
    /// Active senders (including us if sending).
    pub senders: u32,
    /// Session bandwidth, bits/s.
    pub session_bandwidth: u64,
    /// Whether we sent RTP since the last report.
    pub we_sent: bool,
    /// Average compound RTCP packet size in bytes (including lower-layer overhead).
    pub avg_rtcp_size: f64,
    /// First report after joining.
    pub initial: bool,
    /// Floor of the minimum interval.
    pub min_floor: Duration,
}

/// Deterministic part of the interval (before randomisation).
pub fn deterministic_interval(p: &IntervalParams) -> Duration {
    // RFC 3550 §6.2: RTCP gets 5 % of the session bandwidth, a quarter of it for senders
    // when they are at most a quarter of the members.
    let rtcp_bw = (p.session_bandwidth as f64 / 8.0) * 0.05;
    // RFC 3550 §6.2: the reduced minimum is 360 divided by the session bandwidth in
    // kilobits/second; §6.3.1 halves the minimum for the initial report.
    let reduced = 360.0 / (p.session_bandwidth as f64 / 1000.0).max(0.001);
    let mut tmin = reduced.max(p.min_floor.as_secs_f64());
    if p.initial {
        tmin /= 2.0;
    }
    let members = f64::from(p.members.max(1));
    let senders = f64::from(p.senders);
    let (n, bw) = if senders <= members * 0.25 {
        if p.we_sent {
            (senders, rtcp_bw * 0.25)
        } else {
            (members - senders, rtcp_bw * 0.75)
        }
    } else {
        (members, rtcp_bw)
    };
    let t = if bw > 0.0 {
        p.avg_rtcp_size * n / bw
    } else {
        tmin
    };
    Duration::from_secs_f64(t.max(tmin))
}

/// RFC 3550 §6.3.1: the interval randomised uniformly over [0.5, 1.5] × T and divided by
/// e − 3/2.
pub fn rtcp_interval<R: Rng>(p: &IntervalParams, rng: &mut R) -> Duration {
    let td = deterministic_interval(p).as_secs_f64();
    let r: f64 = rng.gen_range(0.5..1.5);
    Duration::from_secs_f64(td * r / COMPENSATION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn reduced_minimum_and_randomisation() {
        let p = IntervalParams {
            members: 2,
            senders: 2,
            session_bandwidth: 2_000_000,
            we_sent: true,
            avg_rtcp_size: 100.0,
            initial: false,
            min_floor: Duration::ZERO,
        };
        // 360 / 2000 kbps = 0.18 s; bandwidth term 2×100 B / 12.5 kB/s = 16 ms.
        assert_eq!(deterministic_interval(&p), Duration::from_secs_f64(0.18));
        let mut rng = rand::rngs::StdRng::from_seed([7; 32]);
        for _ in 0..100 {
            let t = rtcp_interval(&p, &mut rng).as_secs_f64();
            assert!((0.09 / COMPENSATION..=0.27 / COMPENSATION).contains(&t));
        }
        // many members at low bandwidth: bandwidth term dominates
        let q = IntervalParams {
            members: 1000,
            senders: 1,
            session_bandwidth: 64_000,
            we_sent: false,
            ..p
        };
        assert!(deterministic_interval(&q) > Duration::from_secs(100));
    }
}
