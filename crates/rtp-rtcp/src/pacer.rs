//! Pacer: releases packets at the pacing rate with a byte budget refilled per interval,
//! retransmissions first, and runs probe clusters (padding when there is no media).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::Error;
use crate::bwe::ProbeCluster;

/// Budget accumulates for at most this long, so an idle pacer does not burst.
const MAX_BURST: Duration = Duration::from_millis(10);
/// Padding/probe packet size.
const PROBE_PACKET: usize = 1000;

/// Why a packet is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// New media.
    Media,
    /// A retransmission (NACK response, already RTX-wrapped if configured).
    Retransmission,
}

/// A packet waiting in the pacer.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The RTP packet.
    pub packet: Bytes,
    /// Its kind.
    pub kind: PacketKind,
    /// SSRC of the media stream it belongs to.
    pub stream: u32,
    /// When it was queued.
    pub enqueued: Instant,
}

/// What the pacer releases.
#[derive(Debug, Clone)]
pub enum Released {
    /// A queued packet, with the probe cluster it counts toward.
    Packet(Queued, Option<u32>),
    /// Send about this many bytes of padding for the probe cluster.
    Padding(usize, u32),
}

#[derive(Debug, Clone, Copy)]
struct ActiveProbe {
    cluster: ProbeCluster,
    bytes: usize,
    packets: u32,
}

/// The pacer.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate: u64,
    budget: f64,
    last: Option<Instant>,
    retransmissions: VecDeque<Queued>,
    media: VecDeque<Queued>,
    limit: usize,
    probe: Option<ActiveProbe>,
    probes: VecDeque<ProbeCluster>,
}

impl Pacer {
    /// A pacer at `rate` bits/s holding at most `limit` packets.
    pub fn new(rate: u64, limit: usize) -> Self {
        Pacer {
            rate: rate.max(1),
            budget: 0.0,
            last: None,
            retransmissions: VecDeque::new(),
            media: VecDeque::new(),
            limit,
            probe: None,
            probes: VecDeque::new(),
        }
    }

    /// Set the pacing rate, bits/s.
    pub fn set_rate(&mut self, bps: u64) {
        self.rate = bps.max(1);
    }

    /// Pacing rate, bits/s.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Queue a packet; fails without side effects when full.
    pub fn enqueue(&mut self, q: Queued) -> Result<(), Error> {
        if self.len() >= self.limit {
            return Err(Error::PacerQueueFull { limit: self.limit });
        }
        match q.kind {
            PacketKind::Media => self.media.push_back(q),
            PacketKind::Retransmission => self.retransmissions.push_back(q),
        }
        Ok(())
    }

    /// Packets queued.
    pub fn len(&self) -> usize {
        self.media.len() + self.retransmissions.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Run a probe cluster after any current one.
    pub fn start_probe(&mut self, c: ProbeCluster) {
        self.probes.push_back(c);
    }

    fn current_rate(&self) -> u64 {
        self.probe
            .map_or(self.rate, |p| p.cluster.bitrate.max(self.rate))
    }

    fn refill(&mut self, now: Instant) {
        if self.probe.is_none() {
            self.probe = self.probes.pop_front().map(|cluster| ActiveProbe {
                cluster,
                bytes: 0,
                packets: 0,
            });
        }
        let rate = self.current_rate() as f64 / 8.0;
        let last = *self.last.get_or_insert(now);
        let dt = now.saturating_duration_since(last).as_secs_f64();
        self.last = Some(now);
        self.budget = (self.budget + rate * dt).min(rate * MAX_BURST.as_secs_f64());
    }

    /// Release the next packet allowed at `now`.
    pub fn poll(&mut self, now: Instant) -> Option<Released> {
        self.refill(now);
        let idle = self.is_empty();
        if self.budget < 0.0 || (idle && self.probe.is_none()) {
            if idle && self.probe.is_none() {
                self.budget = self.budget.min(0.0);
            }
            return None;
        }
        let probe_id = self.probe.map(|p| p.cluster.id);
        let out = match self
            .retransmissions
            .pop_front()
            .or_else(|| self.media.pop_front())
        {
            Some(q) => {
                self.budget -= q.packet.len() as f64;
                Released::Packet(q, probe_id)
            }
            None => {
                let id = probe_id?;
                self.budget -= PROBE_PACKET as f64;
                Released::Padding(PROBE_PACKET, id)
            }
        };
        if let Some(p) = &mut self.probe {
            p.packets += 1;
            p.bytes += match &out {
                Released::Packet(q, _) => q.packet.len(),
                Released::Padding(n, _) => *n,
            };
            if p.packets >= p.cluster.min_packets && p.bytes >= p.cluster.min_bytes {
                self.probe = None;
            }
        }
        Some(out)
    }

    /// When [`Pacer::poll`] may next release something.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_empty() && self.probe.is_none() && self.probes.is_empty() {
            return None;
        }
        let last = self.last?;
        if self.budget >= 0.0 {
            return Some(last);
        }
        let rate = self.current_rate() as f64 / 8.0;
        Some(
            last + Duration::from_secs_f64((-self.budget / rate).min(1.0))
                + Duration::from_micros(1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_to_rate() {
        let t = crate::test_util::base();
        let mut p = Pacer::new(800_000, 100); // 100 kB/s
        for _ in 0..50 {
            p.enqueue(Queued {
                packet: Bytes::from(vec![0; 1000]),
                kind: PacketKind::Media,
                stream: 1,
                enqueued: t,
            })
            .unwrap();
        }
        let mut now = t;
        let mut sent = 0;
        while p.poll(now).is_some() {
            sent += 1;
        }
        while let Some(next) = p.poll_timeout() {
            now = now.max(next);
            while p.poll(now).is_some() {
                sent += 1;
            }
            if sent == 50 {
                break;
            }
        }
        // 50 kB at 100 kB/s ≈ 0.5 s (first packet goes immediately)
        let took = now - t;
        assert!(
            took > Duration::from_millis(450) && took < Duration::from_millis(520),
            "{took:?}"
        );
        assert!(
            p.enqueue(Queued {
                packet: Bytes::new(),
                kind: PacketKind::Media,
                stream: 1,
                enqueued: t
            })
            .is_ok()
        );
    }
}
