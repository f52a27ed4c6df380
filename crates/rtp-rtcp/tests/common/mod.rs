//! Two-party harness on virtual time: two `RtpSession`s joined by bottleneck links
//! (capacity, drop-tail queue, propagation delay, seeded random loss).
#![allow(dead_code, clippy::disallowed_methods)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tern_rtp_rtcp::wire::ext::{ExtensionKind, ExtensionMap};
use tern_rtp_rtcp::wire::rtp::RtpHeader;
use tern_rtp_rtcp::{RtpSession, SessionConfig, Transmit, TransmitKind};

pub const MEDIA_SSRC: u32 = 0x1111;
pub const RTX_SSRC: u32 = 0x2222;
pub const MEDIA_PT: u8 = 96;
pub const RTX_PT: u8 = 97;

/// A one-way bottleneck link.
pub struct Link {
    pub capacity_bps: u64,
    pub delay: Duration,
    pub loss: f64,
    pub queue_limit_bytes: usize,
    busy_until: Option<Instant>,
    in_flight: VecDeque<(Instant, Transmit)>,
    rng: StdRng,
    pub dropped_queue: u64,
    pub dropped_random: u64,
    pub delivered_bytes: u64,
}

impl Link {
    pub fn new(
        capacity_bps: u64,
        delay: Duration,
        loss: f64,
        queue_limit_bytes: usize,
        seed: u64,
    ) -> Self {
        Link {
            capacity_bps,
            delay,
            loss,
            queue_limit_bytes,
            busy_until: None,
            in_flight: VecDeque::new(),
            rng: StdRng::seed_from_u64(seed),
            dropped_queue: 0,
            dropped_random: 0,
            delivered_bytes: 0,
        }
    }

    /// Bytes waiting in the bottleneck queue at `now`.
    pub fn queued_bytes(&self, now: Instant) -> usize {
        match self.busy_until {
            Some(b) if b > now => {
                ((b - now).as_secs_f64() * self.capacity_bps as f64 / 8.0) as usize
            }
            _ => 0,
        }
    }

    pub fn send(&mut self, now: Instant, t: Transmit) {
        let size = t.data.len() + 28; // UDP/IP overhead
        if self.queued_bytes(now) + size > self.queue_limit_bytes {
            self.dropped_queue += 1;
            return;
        }
        let start = self.busy_until.map_or(now, |b| b.max(now));
        let done = start + Duration::from_secs_f64(size as f64 * 8.0 / self.capacity_bps as f64);
        self.busy_until = Some(done);
        // random loss after the bottleneck (the packet still used capacity)
        if self.rng.r#gen::<f64>() < self.loss {
            self.dropped_random += 1;
            return;
        }
        self.in_flight.push_back((done + self.delay, t));
    }

    pub fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.front().map(|(t, _)| *t)
    }

    pub fn deliver(&mut self, now: Instant) -> Vec<Transmit> {
        let mut out = Vec::new();
        while self.in_flight.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, t)) = self.in_flight.pop_front() {
                self.delivered_bytes += t.data.len() as u64;
                out.push(t);
            }
        }
        out
    }
}

pub fn ext_map() -> ExtensionMap {
    let mut m = ExtensionMap::new();
    m.insert(2, ExtensionKind::AbsSendTime).unwrap();
    m.insert(3, ExtensionKind::TransportWideCc).unwrap();
    m
}

pub fn config(ssrc: u32, seed: u8) -> SessionConfig {
    SessionConfig {
        rtcp_ssrc: ssrc,
        extensions: ext_map(),
        seed: Some([seed; 32]),
        ..SessionConfig::default()
    }
}

pub fn base() -> Instant {
    Instant::now()
}

/// Deliver a transmit to a session.
pub fn input(s: &mut RtpSession, now: Instant, t: &Transmit) {
    match t.kind {
        TransmitKind::Rtp => s.handle_rtp(now, &t.data).unwrap(),
        TransmitKind::Rtcp => s.handle_rtcp(now, &t.data).unwrap(),
    }
}

/// A video source: 30 frames/s at a bitrate, split into ≤ 1100-byte payloads.
pub struct VideoSource {
    pub seq: u16,
    pub frame: u32,
    pub next_frame: Instant,
}

impl VideoSource {
    pub fn new(start: Instant) -> Self {
        VideoSource {
            seq: 1000,
            frame: 0,
            next_frame: start,
        }
    }

    /// Packets of the next frame at `bitrate`.
    pub fn frame(&mut self, bitrate: u64) -> Vec<(u16, Bytes)> {
        let bytes = ((bitrate / 8) / 30).max(200) as usize;
        let n = bytes.div_ceil(1100);
        let per = bytes / n;
        let ts = self.frame.wrapping_mul(3000);
        self.frame += 1;
        self.next_frame += Duration::from_nanos(1_000_000_000 / 30);
        (0..n)
            .map(|i| {
                let seq = self.seq;
                self.seq = self.seq.wrapping_add(1);
                let h = RtpHeader {
                    marker: i + 1 == n,
                    payload_type: MEDIA_PT,
                    sequence_number: seq,
                    timestamp: ts,
                    ssrc: MEDIA_SSRC,
                    ..Default::default()
                };
                let mut payload = vec![0u8; per];
                payload[..2].copy_from_slice(&seq.to_be_bytes());
                (seq, Bytes::from(h.to_vec(&payload, 0).unwrap()))
            })
            .collect()
    }
}

/// The bottleneck path a BWE run uses: this file's own [`Link`] or `tern-netsim`'s.
pub trait Path {
    fn send(&mut self, now: Instant, t: Transmit);
    fn next_delivery(&self) -> Option<Instant>;
    fn deliver(&mut self, now: Instant) -> Vec<Transmit>;
    fn set_capacity(&mut self, bps: u64);
    fn capacity(&self) -> u64;
    fn delivered_bytes(&self) -> u64;
    /// Queueing delay (ms) currently seen at the bottleneck.
    fn queue_delay_ms(&self, now: Instant) -> f64;
    /// Packets lost so far (random loss and queue overflow).
    fn dropped(&self) -> u64;
}

impl Path for Link {
    fn send(&mut self, now: Instant, t: Transmit) {
        Link::send(self, now, t);
    }
    fn next_delivery(&self) -> Option<Instant> {
        Link::next_delivery(self)
    }
    fn deliver(&mut self, now: Instant) -> Vec<Transmit> {
        Link::deliver(self, now)
    }
    fn set_capacity(&mut self, bps: u64) {
        self.capacity_bps = bps;
    }
    fn capacity(&self) -> u64 {
        self.capacity_bps
    }
    fn delivered_bytes(&self) -> u64 {
        self.delivered_bytes
    }
    fn queue_delay_ms(&self, now: Instant) -> f64 {
        self.queued_bytes(now) as f64 * 8.0 / self.capacity_bps as f64 * 1000.0
    }
    fn dropped(&self) -> u64 {
        self.dropped_random + self.dropped_queue
    }
}

/// A `tern-netsim` link (token bucket + byte-limited drop-tail queue, random loss, delay)
/// carrying session transmits.
pub struct NetsimPath {
    link: tern_netsim::Link,
    rng: StdRng,
    in_flight: std::collections::BTreeMap<(Instant, u64), Transmit>,
    n: u64,
    delivered: u64,
    dropped: u64,
    last_queue_delay: Duration,
}

impl NetsimPath {
    pub fn new(
        capacity_bps: u64,
        delay: Duration,
        loss: f64,
        queue_bytes: usize,
        start: Instant,
        seed: u64,
    ) -> Self {
        let cfg = tern_netsim::LinkConfig {
            loss: tern_netsim::Loss::Uniform(loss),
            delay,
            bandwidth: Some(tern_netsim::Bandwidth {
                bits_per_second: capacity_bps,
                burst_bytes: 1500,
                queue_bytes,
            }),
            ..tern_netsim::LinkConfig::default()
        };
        NetsimPath {
            link: tern_netsim::Link::new(cfg, start),
            rng: StdRng::seed_from_u64(seed),
            in_flight: Default::default(),
            n: 0,
            delivered: 0,
            dropped: 0,
            last_queue_delay: Duration::ZERO,
        }
    }
}

impl Path for NetsimPath {
    fn send(&mut self, now: Instant, t: Transmit) {
        let len = t.data.len() + 28;
        let tx = self.link.transmit(now, len, &mut self.rng);
        if !matches!(tx, tern_netsim::Transmission::Delivered { .. }) {
            self.dropped += 1;
        }
        if let tern_netsim::Transmission::Delivered { at, .. } = tx {
            let delay = self.link.config().delay;
            self.last_queue_delay = (at - now).saturating_sub(delay);
            self.n += 1;
            self.in_flight.insert((at, self.n), t);
        }
    }
    fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.keys().next().map(|(t, _)| *t)
    }
    fn deliver(&mut self, now: Instant) -> Vec<Transmit> {
        let mut out = Vec::new();
        while self
            .in_flight
            .first_key_value()
            .is_some_and(|((t, _), _)| *t <= now)
        {
            if let Some((_, t)) = self.in_flight.pop_first() {
                self.delivered += t.data.len() as u64;
                out.push(t);
            }
        }
        out
    }
    fn set_capacity(&mut self, bps: u64) {
        let mut cfg = self.link.config().clone();
        if let Some(b) = &mut cfg.bandwidth
            && b.bits_per_second != bps
        {
            b.bits_per_second = bps;
            self.link.set_config(cfg);
        }
    }
    fn capacity(&self) -> u64 {
        self.link
            .config()
            .bandwidth
            .map_or(0, |b| b.bits_per_second)
    }
    fn delivered_bytes(&self) -> u64 {
        self.delivered
    }
    fn queue_delay_ms(&self, _now: Instant) -> f64 {
        self.last_queue_delay.as_secs_f64() * 1000.0
    }
    fn dropped(&self) -> u64 {
        self.dropped
    }
}
