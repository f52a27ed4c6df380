//! The two-party harness on virtual time shared by the in-process tests: two Tern peer
//! connections, a network with a fixed delay and an optional RTP dropper, and no clock.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tern_peerconnection::{Event, PeerConnection, RtcConfig};

pub struct Peer {
    pub pc: PeerConnection,
    pub address: SocketAddr,
    pub events: Vec<Event>,
}

pub struct Pair {
    pub now: Instant,
    pub a: Peer,
    pub b: Peer,
    pub in_flight: Vec<(Instant, bool, SocketAddr, SocketAddr, Vec<u8>)>,
    pub delay: Duration,
    /// RTP (not RTCP) datagrams to b with this payload type are dropped while > 0.
    pub drop_rtp_to_b: (u8, usize),
    /// Every DTLS datagram (RFC 7983: first byte 20..=63) either way is lost.
    pub drop_dtls: bool,
    /// Every STUN datagram (first byte 0..=3) either way is lost: ICE cannot succeed.
    pub drop_stun: bool,
}

impl Pair {
    pub fn new(seed: u64) -> Pair {
        Pair::with_config(seed, |_| {})
    }

    /// Two peers whose configurations `edit` changes (after the seed is set).
    pub fn with_config(seed: u64, edit: impl Fn(&mut RtcConfig)) -> Pair {
        let now = Instant::now();
        let mk = |seed: u64, address: &str| {
            let mut config = RtcConfig {
                seed: Some(seed),
                ..RtcConfig::default()
            };
            edit(&mut config);
            let mut pc = PeerConnection::new(config, now).unwrap();
            let address: SocketAddr = address.parse().unwrap();
            pc.add_local_address(now, address);
            Peer {
                pc,
                address,
                events: Vec::new(),
            }
        };
        Pair {
            now,
            a: mk(seed, "127.0.0.1:41001"),
            b: mk(seed + 1, "127.0.0.1:41002"),
            in_flight: Vec::new(),
            delay: Duration::from_millis(5),
            drop_rtp_to_b: (0, 0),
            drop_dtls: false,
            drop_stun: false,
        }
    }

    /// a offers, b answers; `before_answer` runs on b between applying the offer and answering.
    pub fn negotiate(&mut self, before_answer: impl FnOnce(&mut PeerConnection)) {
        let now = self.now;
        let offer = self.a.pc.create_offer(now).unwrap();
        self.a.pc.set_local_description(now, offer.clone()).unwrap();
        self.b.pc.set_remote_description(now, offer).unwrap();
        before_answer(&mut self.b.pc);
        let answer = self.b.pc.create_answer(now).unwrap();
        self.b
            .pc
            .set_local_description(now, answer.clone())
            .unwrap();
        self.a.pc.set_remote_description(now, answer).unwrap();
    }

    pub fn run_until(&mut self, limit: Duration, done: impl FnMut(&Pair) -> bool) {
        self.run_tapped(limit, |_, _| {}, done);
    }

    /// `run_until`, showing `tap` every datagram put on the wire (`true`: a → b).
    pub fn run_tapped(
        &mut self,
        limit: Duration,
        mut tap: impl FnMut(bool, &[u8]),
        mut done: impl FnMut(&Pair) -> bool,
    ) {
        let end = self.now + limit;
        while self.now < end && !done(self) {
            for (to_b, peer) in [(true, &mut self.a), (false, &mut self.b)] {
                while let Some(t) = peer.pc.poll_transmit() {
                    let is_rtp =
                        (128..192).contains(&t.data[0]) && !(192..224).contains(&t.data[1]);
                    if to_b
                        && is_rtp
                        && self.drop_rtp_to_b.1 > 0
                        && t.data[1] & 0x7f == self.drop_rtp_to_b.0
                    {
                        self.drop_rtp_to_b.1 -= 1;
                        continue;
                    }
                    if self.drop_dtls && (20..64).contains(&t.data[0]) {
                        continue;
                    }
                    if self.drop_stun && t.data[0] < 4 {
                        continue;
                    }
                    tap(to_b, &t.data);
                    self.in_flight.push((
                        self.now + self.delay,
                        to_b,
                        t.source,
                        t.destination,
                        t.data,
                    ));
                }
                while let Some(e) = peer.pc.poll_event() {
                    peer.events.push(e);
                }
            }
            let next_delivery = self.in_flight.iter().map(|f| f.0).min();
            let next_timer = [self.a.pc.poll_timeout(), self.b.pc.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let next = [next_delivery, next_timer]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end)
                .max(self.now);
            self.now = next.min(end);
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|f| f.0 <= now);
            self.in_flight = later;
            for (_, to_b, from, to, data) in due {
                let peer = if to_b { &mut self.b } else { &mut self.a };
                if to == peer.address {
                    let _ = peer.pc.handle_receive(now, to, from, &data);
                }
            }
            for peer in [&mut self.a, &mut self.b] {
                if peer.pc.poll_timeout().is_some_and(|t| t <= now) {
                    peer.pc.handle_timeout(now);
                }
            }
        }
    }

    /// Lets virtual time pass (timers, RTCP) without a condition.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(duration, |_| false);
    }
}
