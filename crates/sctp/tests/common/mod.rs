//! Two associations wired through a `tern_netsim::LossyPipe` on virtual time.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_netsim::{End, LinkConfig, LossyPipe};
use tern_sctp::{Association, ChannelId, MessageKind, SctpConfig, SctpEvent, StreamParity};

pub struct Pair {
    pub now: Instant,
    pub start: Instant,
    pub a: Association,
    pub b: Association,
    pub pipe: LossyPipe<Vec<u8>>,
    pub events_a: Vec<SctpEvent>,
    pub events_b: Vec<SctpEvent>,
    pub errors_a: usize,
    pub errors_b: usize,
}

pub fn config(seed: u8, parity: StreamParity) -> SctpConfig {
    SctpConfig {
        seed: Some([seed; 32]),
        stream_parity: parity,
        ..SctpConfig::default()
    }
}

impl Pair {
    pub fn new(link: LinkConfig) -> Self {
        Self::with_configs(
            config(1, StreamParity::Even),
            config(2, StreamParity::Odd),
            link,
            7,
        )
    }

    pub fn with_configs(ca: SctpConfig, cb: SctpConfig, link: LinkConfig, seed: u64) -> Self {
        #[allow(clippy::disallowed_methods)] // the virtual clock needs some base instant
        let start = Instant::now();
        Pair {
            now: start,
            start,
            a: Association::new(ca, start),
            b: Association::new(cb, start),
            pipe: LossyPipe::new(seed, start, link),
            events_a: Vec::new(),
            events_b: Vec::new(),
            errors_a: 0,
            errors_b: 0,
        }
    }

    pub fn connect_both(&mut self) {
        self.a.connect(self.now);
        self.b.connect(self.now);
    }

    /// Move packets and fire timers until `until` (virtual) or `done` holds.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Pair) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            self.drain();
            if done(self) {
                return true;
            }
            let next = [
                self.a.poll_timeout(),
                self.b.poll_timeout(),
                self.pipe.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let next = match next {
                Some(n) if n <= deadline => n,
                _ => {
                    // Nothing happens before the deadline: let virtual time reach it.
                    self.now = self.now.max(deadline);
                    return done(self);
                }
            };
            self.now = self.now.max(next);
            self.pipe.handle_timeout(self.now);
            while let Some(p) = self.pipe.poll_receive(End::B) {
                if self.b.handle_receive(self.now, &p).is_err() {
                    self.errors_b += 1;
                }
            }
            while let Some(p) = self.pipe.poll_receive(End::A) {
                if self.a.handle_receive(self.now, &p).is_err() {
                    self.errors_a += 1;
                }
            }
            if self.a.poll_timeout().is_some_and(|t| t <= self.now) {
                self.a.handle_timeout(self.now);
            }
            if self.b.poll_timeout().is_some_and(|t| t <= self.now) {
                self.b.handle_timeout(self.now);
            }
        }
    }

    pub fn drain(&mut self) {
        for _ in 0..100_000 {
            let mut any = false;
            while let Some(p) = self.a.poll_transmit() {
                self.pipe.send(self.now, End::A, p);
                any = true;
            }
            while let Some(p) = self.b.poll_transmit() {
                self.pipe.send(self.now, End::B, p);
                any = true;
            }
            while let Some(e) = self.a.poll_event() {
                self.events_a.push(e);
            }
            while let Some(e) = self.b.poll_event() {
                self.events_b.push(e);
            }
            // Zero-delay links deliver at once.
            self.pipe.handle_timeout(self.now);
            while let Some(p) = self.pipe.poll_receive(End::B) {
                any = true;
                if self.b.handle_receive(self.now, &p).is_err() {
                    self.errors_b += 1;
                }
            }
            while let Some(p) = self.pipe.poll_receive(End::A) {
                any = true;
                if self.a.handle_receive(self.now, &p).is_err() {
                    self.errors_a += 1;
                }
            }
            if !any {
                return;
            }
        }
    }

    pub fn connected(&self) -> bool {
        self.events_a.contains(&SctpEvent::Connected)
            && self.events_b.contains(&SctpEvent::Connected)
    }
}

pub fn messages(events: &[SctpEvent], id: ChannelId) -> Vec<(MessageKind, Bytes)> {
    events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::Message { id: i, kind, data } if *i == id => Some((*kind, data.clone())),
            _ => None,
        })
        .collect()
}

pub fn count_messages(events: &[SctpEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, SctpEvent::Message { .. }))
        .count()
}

/// A message body that encodes its index, so order and integrity can be checked.
pub fn body(i: usize, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    let tag = (i as u32).to_be_bytes();
    while v.len() < len {
        v.push(tag[v.len() % 4] ^ (v.len() / 4) as u8);
    }
    v
}
