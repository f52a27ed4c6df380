//! A two-ended impaired pipe for protocol tests that need no addresses or NATs.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::LinkConfig;
use crate::link::{Link, Transmission, bump};
use crate::network::MAX_BACKLOG;
use crate::stats::{DropReason, Stats};

/// One end of a [`LossyPipe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum End {
    /// The first end.
    A,
    /// The second end.
    B,
}

impl End {
    /// The other end.
    #[must_use]
    pub fn peer(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// Two endpoints joined by an impaired link (one [`Link`] per direction) on virtual time.
///
/// Push datagrams in at one end with [`LossyPipe::send`]; after
/// [`LossyPipe::handle_timeout`] they come out of the other end's
/// [`LossyPipe::poll_receive`], delayed, lost, reordered or duplicated as configured.
/// Any payload that is `AsRef<[u8]> + Clone` works (`Vec<u8>`, `bytes::Bytes`, …).
#[derive(Debug)]
pub struct LossyPipe<T = Vec<u8>> {
    rng: StdRng,
    a_to_b: Link,
    b_to_a: Link,
    in_flight: BTreeMap<(Instant, u64), (End, T)>,
    next_seq: u64,
    inbox_a: VecDeque<T>,
    inbox_b: VecDeque<T>,
    received_a: u64,
    received_b: u64,
}

impl<T: AsRef<[u8]> + Clone> LossyPipe<T> {
    /// A pipe with the same impairments in both directions.
    #[must_use]
    pub fn new(seed: u64, start: Instant, config: LinkConfig) -> Self {
        Self::with_directions(seed, start, config.clone(), config)
    }

    /// A pipe with different impairments per direction.
    #[must_use]
    pub fn with_directions(
        seed: u64,
        start: Instant,
        a_to_b: LinkConfig,
        b_to_a: LinkConfig,
    ) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            a_to_b: Link::new(a_to_b, start),
            b_to_a: Link::new(b_to_a, start),
            in_flight: BTreeMap::new(),
            next_seq: 0,
            inbox_a: VecDeque::new(),
            inbox_b: VecDeque::new(),
            received_a: 0,
            received_b: 0,
        }
    }

    /// Replaces the impairments of the direction leaving `from`.
    pub fn set_config(&mut self, from: End, config: LinkConfig) {
        self.link_mut(from).set_config(config);
    }

    /// Sends `payload` from `from` towards the other end at `now`.
    pub fn send(&mut self, now: Instant, from: End, payload: T) {
        let to = from.peer();
        let Self {
            rng,
            a_to_b,
            b_to_a,
            ..
        } = self;
        let link = match from {
            End::A => a_to_b,
            End::B => b_to_a,
        };
        match link.transmit(now, payload.as_ref().len(), rng) {
            Transmission::Dropped(_) => {}
            Transmission::Delivered { at, duplicate } => {
                if let Some(copy_at) = duplicate {
                    self.schedule(from, copy_at, to, payload.clone());
                }
                self.schedule(from, at, to, payload);
            }
        }
    }

    /// Delivers every datagram due at or before `now` to its end's receive queue.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (to, payload) = entry.remove();
            match to {
                End::A => {
                    bump(&mut self.received_a);
                    self.inbox_a.push_back(payload);
                }
                End::B => {
                    bump(&mut self.received_b);
                    self.inbox_b.push_back(payload);
                }
            }
        }
    }

    /// The next datagram that arrived at `at`, in arrival order.
    pub fn poll_receive(&mut self, at: End) -> Option<T> {
        match at {
            End::A => self.inbox_a.pop_front(),
            End::B => self.inbox_b.pop_front(),
        }
    }

    /// When the next in-flight datagram arrives.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.in_flight.first_key_value().map(|((at, _), _)| *at)
    }

    /// Datagrams in flight in both directions.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Counters of the direction leaving `from`; `delivered` counts copies that reached the
    /// other end's receive queue.
    #[must_use]
    pub fn stats(&self, from: End) -> Stats {
        let mut stats = self.link(from).stats().clone();
        stats.delivered = match from {
            End::A => self.received_b,
            End::B => self.received_a,
        };
        stats
    }

    fn link(&self, from: End) -> &Link {
        match from {
            End::A => &self.a_to_b,
            End::B => &self.b_to_a,
        }
    }

    fn link_mut(&mut self, from: End) -> &mut Link {
        match from {
            End::A => &mut self.a_to_b,
            End::B => &mut self.b_to_a,
        }
    }

    fn schedule(&mut self, from: End, at: Instant, to: End, payload: T) {
        let backlog = self
            .in_flight
            .len()
            .saturating_add(self.inbox_a.len())
            .saturating_add(self.inbox_b.len());
        if backlog >= MAX_BACKLOG {
            self.link_mut(from).record_drop(DropReason::Backlog);
            return;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.in_flight.insert((at, seq), (to, payload));
    }
}
