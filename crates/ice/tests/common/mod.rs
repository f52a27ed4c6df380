//! A deterministic two-agent harness on virtual time: datagrams between the agents are
//! delivered after `latency`, through a filter that can drop or record them.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_ice::{IceAgent, IceConfig, IceConnectionState, IceCredentials, IceEvent, Transmit};

/// Decides whether a datagram is delivered: `(now, sent_by_a, datagram)`.
pub type Filter = Box<dyn FnMut(Instant, bool, &Transmit) -> bool>;

pub struct Side {
    pub agent: IceAgent,
    pub addr: SocketAddr,
    pub creds: IceCredentials,
    pub events: Vec<IceEvent>,
    pub sent: Vec<(Instant, Transmit)>,
}

pub struct Harness {
    pub a: Side,
    pub b: Side,
    pub now: Instant,
    pub start: Instant,
    pub latency: Duration,
    /// Returns false to drop the datagram; `true` argument = sent by a.
    pub filter: Filter,
    in_flight: Vec<(Instant, bool, Transmit)>,
    pub errors: Vec<(bool, tern_ice::IceError)>,
    /// Delivered datagrams: (time, delivered to a, datagram).
    pub delivered: Vec<(Instant, bool, Transmit)>,
    stalled: u32,
}

pub fn creds(seed: u8) -> IceCredentials {
    IceCredentials {
        ufrag: format!("ufr{seed}"),
        pwd: format!("password-of-agent-{seed:03}-xyz"),
    }
}

pub fn config(controlling: bool, seed: u8, tie_breaker: u64) -> IceConfig {
    IceConfig::with_credentials(controlling, creds(seed), tie_breaker, u64::from(seed))
}

impl Harness {
    /// Two agents with one host candidate each, credentials exchanged, no candidates exchanged.
    pub fn bare(ca: IceConfig, cb: IceConfig) -> Harness {
        Harness::bare_at(
            ca,
            cb,
            "10.0.0.1:5000".parse().unwrap(),
            "10.0.0.2:6000".parse().unwrap(),
        )
    }

    /// Like [`Harness::bare`], with the agents' host addresses given.
    pub fn bare_at(
        ca: IceConfig,
        cb: IceConfig,
        addr_a: SocketAddr,
        addr_b: SocketAddr,
    ) -> Harness {
        // The base of virtual time; every later instant is base + offset.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let creds_a = IceCredentials {
            ufrag: ca.local_ufrag.clone(),
            pwd: ca.local_pwd.clone(),
        };
        let creds_b = IceCredentials {
            ufrag: cb.local_ufrag.clone(),
            pwd: cb.local_pwd.clone(),
        };
        let mut a = IceAgent::new(ca, start);
        let mut b = IceAgent::new(cb, start);
        a.add_local_host_candidate(addr_a);
        b.add_local_host_candidate(addr_b);
        Harness {
            a: Side {
                agent: a,
                addr: addr_a,
                creds: creds_a,
                events: vec![],
                sent: vec![],
            },
            b: Side {
                agent: b,
                addr: addr_b,
                creds: creds_b,
                events: vec![],
                sent: vec![],
            },
            now: start,
            start,
            latency: Duration::from_millis(5),
            filter: Box::new(|_, _, _| true),
            in_flight: vec![],
            errors: vec![],
            delivered: vec![],
            stalled: 0,
        }
    }

    pub fn exchange_credentials(&mut self) {
        let (ca, cb) = (self.a.creds.clone(), self.b.creds.clone());
        self.a.agent.set_remote_credentials(cb.ufrag, cb.pwd);
        self.b.agent.set_remote_credentials(ca.ufrag, ca.pwd);
    }

    pub fn exchange_candidates(&mut self) {
        let now = self.now;
        for c in self.a.agent.local_candidates() {
            self.b.agent.add_remote_candidate(now, c).unwrap();
        }
        for c in self.b.agent.local_candidates() {
            self.a.agent.add_remote_candidate(now, c).unwrap();
        }
    }

    /// Full setup: credentials and candidates both ways, end-of-candidates.
    pub fn new(ca: IceConfig, cb: IceConfig) -> Harness {
        let mut h = Harness::bare(ca, cb);
        h.exchange_credentials();
        h.exchange_candidates();
        h.a.agent.end_of_remote_candidates();
        h.b.agent.end_of_remote_candidates();
        h
    }

    fn drain(&mut self) {
        for from_a in [true, false] {
            let side = if from_a { &mut self.a } else { &mut self.b };
            while let Some(t) = side.agent.poll_transmit() {
                side.sent.push((self.now, t.clone()));
                if (self.filter)(self.now, from_a, &t) {
                    self.in_flight.push((self.now + self.latency, from_a, t));
                }
            }
            while let Some(e) = side.agent.poll_event() {
                side.events.push(e);
            }
        }
    }

    /// Advances virtual time to the next timer or delivery (at most `max_step`).
    pub fn step(&mut self, max_step: Duration) {
        self.drain();
        let mut next = self.now + max_step;
        for t in [self.a.agent.poll_timeout(), self.b.agent.poll_timeout()]
            .into_iter()
            .flatten()
        {
            next = next.min(t.max(self.now));
        }
        for (at, _, _) in &self.in_flight {
            next = next.min(*at);
        }
        if next <= self.now {
            self.stalled += 1;
            assert!(
                self.stalled < 10_000,
                "no progress: poll_timeout stays at {:?}",
                self.now - self.start
            );
        } else {
            self.stalled = 0;
        }
        self.now = next;
        let due: Vec<_> = {
            let now = self.now;
            let (due, rest): (Vec<_>, Vec<_>) =
                self.in_flight.drain(..).partition(|(at, _, _)| *at <= now);
            self.in_flight = rest;
            due
        };
        for (_, from_a, t) in due {
            let to = if from_a { &mut self.b } else { &mut self.a };
            if t.destination != to.addr {
                continue;
            }
            let result = to
                .agent
                .handle_receive(self.now, t.destination, t.source, &t.data);
            self.delivered.push((self.now, !from_a, t));
            if let Err(e) = result {
                self.errors.push((!from_a, e));
            }
        }
        let now = self.now;
        self.a.agent.handle_timeout(now);
        self.b.agent.handle_timeout(now);
        self.drain();
    }

    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Harness) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step(Duration::from_millis(20));
        }
        done(self)
    }

    pub fn both_connected(&self) -> bool {
        let ok = |s: IceConnectionState| {
            matches!(
                s,
                IceConnectionState::Connected | IceConnectionState::Completed
            )
        };
        ok(self.a.agent.connection_state()) && ok(self.b.agent.connection_state())
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }
}

/// A hand-made Binding request, as a peer (or an attacker) would send it.
pub struct Check<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub priority: Option<u32>,
    pub controlling: Option<u64>,
    pub controlled: Option<u64>,
    pub use_candidate: bool,
    pub tid: [u8; 12],
}

impl Default for Check<'_> {
    fn default() -> Self {
        Check {
            username: None,
            password: None,
            priority: Some(0x6e00_01ff),
            controlling: Some(1),
            controlled: None,
            use_candidate: false,
            tid: [0x42; 12],
        }
    }
}

impl Check<'_> {
    pub fn encode(&self) -> Vec<u8> {
        use tern_stun::attributes::{
            IceControlled, IceControlling, Priority, UseCandidate, Username,
        };
        use tern_stun::{IntegrityKey, MessageEncoder, MessageType, TransactionId};
        let mut buf = Vec::new();
        let mut e = MessageEncoder::new(
            &mut buf,
            MessageType::BINDING_REQUEST,
            TransactionId(self.tid),
        );
        if let Some(u) = self.username {
            e.add(&Username(u)).unwrap();
        }
        if let Some(p) = self.priority {
            e.add(&Priority(p)).unwrap();
        }
        if let Some(t) = self.controlling {
            e.add(&IceControlling(t)).unwrap();
        }
        if let Some(t) = self.controlled {
            e.add(&IceControlled(t)).unwrap();
        }
        if self.use_candidate {
            e.add(&UseCandidate).unwrap();
        }
        if let Some(p) = self.password {
            e.add_message_integrity(&IntegrityKey::short_term(p))
                .unwrap();
        }
        e.add_fingerprint().unwrap();
        buf
    }
}

/// The ERROR-CODE of a response, if it is an error response.
pub fn error_code(data: &[u8]) -> Option<u16> {
    let m = tern_stun::Message::decode(data).ok()?;
    m.get::<tern_stun::attributes::ErrorCode>()
        .ok()
        .flatten()
        .map(|e| e.code)
}
