//! Probing (draft-ietf-rmcat-gcc-02 leaves it to the implementation; this follows
//! libwebrtc's ideas): short clusters sent at a rate above the estimate; the receive rate
//! of a cluster, from feedback, bounds the available capacity from below.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::twcc::PacketResult;

/// A burst the pacer should send at `bitrate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeCluster {
    /// Identifier carried by the packets of the cluster.
    pub id: u32,
    /// Rate to send at, bits/s.
    pub bitrate: u64,
    /// Minimum packets in the cluster.
    pub min_packets: u32,
    /// Minimum bytes in the cluster.
    pub min_bytes: usize,
}

const MIN_PACKETS: u32 = 5;
const CLUSTER_DURATION: Duration = Duration::from_millis(15);
/// Periodic probing while the detector is calm, to find capacity that appeared.
const PERIODIC_INTERVAL: Duration = Duration::from_secs(5);

/// Decides when to probe and evaluates results.
#[derive(Debug, Clone)]
pub struct ProbeController {
    next_id: u32,
    pending: VecDeque<ProbeCluster>,
    in_flight: Vec<(ProbeCluster, Instant)>,
    last_probe: Option<Instant>,
    /// Exponential probing continues while results reach 70 % of the probed rate.
    further: Option<u64>,
    max: u64,
}

impl ProbeController {
    /// A controller; `initial` queues clusters at 3× and 6× `start`.
    pub fn new(start: u64, max: u64, initial: bool) -> Self {
        let mut c = ProbeController {
            next_id: 1,
            pending: VecDeque::new(),
            in_flight: Vec::new(),
            last_probe: None,
            further: None,
            max,
        };
        if initial {
            c.push(3 * start);
            c.push(6 * start);
            c.further = Some(6 * start);
        }
        c
    }

    fn push(&mut self, bitrate: u64) {
        let bitrate = bitrate.min(self.max);
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let min_bytes = (bitrate as f64 * CLUSTER_DURATION.as_secs_f64() / 8.0) as usize;
        self.pending.push_back(ProbeCluster {
            id,
            bitrate,
            min_packets: MIN_PACKETS,
            min_bytes,
        });
    }

    /// The next cluster to send, if any.
    pub fn poll_cluster(&mut self, now: Instant) -> Option<ProbeCluster> {
        let c = self.pending.pop_front()?;
        self.in_flight.push((c, now));
        self.last_probe = Some(now);
        Some(c)
    }

    /// Periodic probing: call with the current estimate and whether the network looks
    /// calm (no over-use, no congestion loss).
    pub fn maybe_probe(&mut self, now: Instant, estimate: u64, calm: bool) {
        if !calm || !self.pending.is_empty() || estimate >= self.max {
            return;
        }
        if self
            .last_probe
            .is_none_or(|t| now.saturating_duration_since(t) >= PERIODIC_INTERVAL)
        {
            self.push(2 * estimate);
            self.last_probe = Some(now);
        }
    }

    /// Evaluate clusters from feedback; returns a capacity estimate from a finished cluster.
    pub fn on_feedback(&mut self, now: Instant, results: &[PacketResult]) -> Option<u64> {
        let mut best = None;
        for (cluster, started) in std::mem::take(&mut self.in_flight) {
            let pk: Vec<&PacketResult> = results
                .iter()
                .filter(|r| r.probe_cluster == Some(cluster.id))
                .collect();
            let rx: Vec<&&PacketResult> = pk.iter().filter(|r| r.arrival_us.is_some()).collect();
            if rx.len() < (cluster.min_packets as usize * 4) / 5 {
                if now.saturating_duration_since(started) < Duration::from_secs(1) {
                    self.in_flight.push((cluster, started));
                }
                continue;
            }
            let first_send = pk.iter().map(|r| r.send_time).min();
            let last_send = pk.iter().map(|r| r.send_time).max();
            let first_rx = rx.iter().filter_map(|r| r.arrival_us).min();
            let last_rx = rx.iter().filter_map(|r| r.arrival_us).max();
            let (Some(fs), Some(ls), Some(fr), Some(lr)) =
                (first_send, last_send, first_rx, last_rx)
            else {
                continue;
            };
            let send_dt = ls.saturating_duration_since(fs).as_secs_f64().max(0.001);
            let recv_dt = ((lr - fr) as f64 / 1e6).max(0.001);
            let bytes: usize = rx.iter().map(|r| r.size).sum();
            let last = rx.last().map_or(0, |r| r.size);
            let first = rx.first().map_or(0, |r| r.size);
            let send_rate = (bytes.saturating_sub(last) * 8) as f64 / send_dt;
            let recv_rate = (bytes.saturating_sub(first) * 8) as f64 / recv_dt;
            let est = send_rate.min(recv_rate) as u64;
            best = Some(best.map_or(est, |b: u64| b.max(est)));
            if let Some(f) = self.further
                && cluster.bitrate >= f
            {
                if est as f64 >= 0.7 * cluster.bitrate as f64 && 2 * est < self.max {
                    self.push(2 * est);
                    self.further = Some(2 * est);
                } else {
                    self.further = None;
                }
            }
        }
        best
    }

    /// True while clusters wait or are in flight.
    pub fn active(&self) -> bool {
        !self.pending.is_empty()
    }
}
