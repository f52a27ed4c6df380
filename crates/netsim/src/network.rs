//! The topology: hosts, NAT boxes, links between them, and the in-flight event queue.

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::config::{LinkConfig, NatConfig};
use crate::error::Error;
use crate::link::{Link, Transmission, bump};
use crate::nat::{MappingInfo, Nat};
use crate::stats::{DropReason, Stats};
use crate::trace::{MAX_TRACE_EVENTS, TraceEvent};

/// Most datagrams in flight plus waiting in the receive queue; beyond that new copies are
/// dropped as [`DropReason::Backlog`].
pub const MAX_BACKLOG: usize = 1 << 20;
/// Most hops one datagram may take (host → NAT → NAT → … → host).
pub const MAX_HOPS: u8 = 16;

/// A UDP datagram with its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Datagram {
    /// Source address and port.
    pub source: SocketAddr,
    /// Destination address and port.
    pub destination: SocketAddr,
    /// UDP payload.
    pub payload: Vec<u8>,
}

/// A datagram handed to a host by [`Network::poll_receive`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Delivery {
    /// The receiving host.
    pub host: HostId,
    /// Virtual time the datagram arrived (at or before the `now` of the `handle_timeout` call
    /// that produced it).
    pub at: Instant,
    /// The datagram as the host sees it (after any NAT translation).
    pub datagram: Datagram,
}

/// A host of a [`Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(usize);

/// A NAT box of a [`Network`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NatId(usize);

/// Either end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// A host.
    Host(HostId),
    /// A NAT box (its inside or outside, whichever the other end is on).
    Nat(NatId),
}

impl From<HostId> for Node {
    fn from(host: HostId) -> Self {
        Self::Host(host)
    }
}

impl From<NatId> for Node {
    fn from(nat: NatId) -> Self {
        Self::Nat(nat)
    }
}

/// An address realm: the public internet, or the private side of one NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Realm {
    Public,
    Private(NatId),
}

#[derive(Debug)]
struct HostState {
    addresses: Vec<IpAddr>,
    realm: Realm,
}

#[derive(Debug)]
struct NatState {
    nat: Nat,
    outer: Realm,
}

#[derive(Debug)]
struct InFlight {
    to: Node,
    /// Realm the datagram crossed to reach `to` (tells a NAT which side it came from).
    via: Realm,
    hops: u8,
    datagram: Datagram,
}

/// A deterministic network of hosts and NAT boxes joined by impaired links, on virtual time.
///
/// Every pair of nodes that share an address realm is joined by a link, perfect by default
/// ([`Network::set_default_link`]); a datagram takes one link per hop (host → its NAT → the
/// peer's NAT → peer), so impairments of every hop add up. See the crate documentation for the
/// run loop.
#[derive(Debug)]
pub struct Network {
    rng: StdRng,
    start: Instant,
    hosts: Vec<HostState>,
    nats: Vec<NatState>,
    /// (realm, address) → owner. Keeps addresses unique within a realm.
    addresses: BTreeMap<(Realm, IpAddr), Node>,
    links: BTreeMap<(Node, Node), Link>,
    default_link: LinkConfig,
    in_flight: BTreeMap<(Instant, u64), InFlight>,
    next_seq: u64,
    received: VecDeque<Delivery>,
    stats: Stats,
    trace: Option<VecDeque<TraceEvent>>,
}

impl Network {
    /// An empty network whose randomness comes from `seed` and whose links start idle at `start`.
    #[must_use]
    pub fn new(seed: u64, start: Instant) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            start,
            hosts: Vec::new(),
            nats: Vec::new(),
            addresses: BTreeMap::new(),
            links: BTreeMap::new(),
            default_link: LinkConfig::default(),
            in_flight: BTreeMap::new(),
            next_seq: 0,
            received: VecDeque::new(),
            stats: Stats::default(),
            trace: None,
        }
    }

    /// Adds a host with one address on the public internet.
    pub fn add_host(&mut self, ip: IpAddr) -> Result<HostId, Error> {
        self.insert_host(Realm::Public, ip)
    }

    /// Adds a host with one address on the private side of `nat`.
    pub fn add_host_behind(&mut self, nat: NatId, ip: IpAddr) -> Result<HostId, Error> {
        self.nat_state(nat)?;
        self.insert_host(Realm::Private(nat), ip)
    }

    /// Gives `host` another address (say an IPv6 one) in its realm.
    pub fn add_address(&mut self, host: HostId, ip: IpAddr) -> Result<(), Error> {
        let realm = self.host_state(host)?.realm;
        if self.addresses.contains_key(&(realm, ip)) {
            return Err(Error::AddressInUse(ip));
        }
        self.addresses.insert((realm, ip), Node::Host(host));
        if let Some(state) = self.hosts.get_mut(host.0) {
            state.addresses.push(ip);
        }
        Ok(())
    }

    /// Adds a NAT whose external side is on the public internet and moves `hosts` (public
    /// hosts) to its private side.
    pub fn add_nat(&mut self, config: NatConfig, hosts: &[HostId]) -> Result<NatId, Error> {
        self.insert_nat(Realm::Public, config, hosts)
    }

    /// Adds a NAT whose external side is on the private side of `outer` (carrier-grade or
    /// double NAT) and moves `hosts` (currently behind `outer`) behind it.
    pub fn add_nat_behind(
        &mut self,
        outer: NatId,
        config: NatConfig,
        hosts: &[HostId],
    ) -> Result<NatId, Error> {
        self.nat_state(outer)?;
        self.insert_nat(Realm::Private(outer), config, hosts)
    }

    /// Sets both directions of the link between two adjacent nodes (same realm, or a NAT and a
    /// node on either of its sides). Queue and loss state of an existing link carry over.
    pub fn set_link(
        &mut self,
        a: impl Into<Node>,
        b: impl Into<Node>,
        config: LinkConfig,
    ) -> Result<(), Error> {
        let (a, b) = (a.into(), b.into());
        self.check_adjacent(a, b)?;
        self.put_link(b, a, config.clone());
        self.put_link(a, b, config);
        Ok(())
    }

    /// Sets one direction (`from` → `to`) of the link between two adjacent nodes.
    pub fn set_link_one_way(
        &mut self,
        from: impl Into<Node>,
        to: impl Into<Node>,
        config: LinkConfig,
    ) -> Result<(), Error> {
        let (from, to) = (from.into(), to.into());
        self.check_adjacent(from, to)?;
        self.put_link(from, to, config);
        Ok(())
    }

    /// The configuration of links not set with [`Network::set_link`] and not used yet
    /// (default: perfect).
    pub fn set_default_link(&mut self, config: LinkConfig) {
        self.default_link = config;
    }

    /// Sends a datagram from `host`. Its source address must be one of the host's addresses.
    /// Routing failures and impairments are not errors: they show up in [`Network::stats`].
    pub fn send(&mut self, now: Instant, host: HostId, datagram: Datagram) -> Result<(), Error> {
        let realm = {
            let state = self.host_state(host)?;
            if !state.addresses.contains(&datagram.source.ip()) {
                return Err(Error::SourceNotOnHost {
                    host,
                    source_ip: datagram.source.ip(),
                });
            }
            state.realm
        };
        bump(&mut self.stats.sent);
        self.record(|| TraceEvent::Sent {
            at: now,
            host,
            source: datagram.source,
            destination: datagram.destination,
            len: datagram.payload.len(),
        });
        self.forward(now, Node::Host(host), realm, 0, datagram);
        Ok(())
    }

    /// Moves every datagram due at or before `now` along, hop by hop, each at its own arrival
    /// time; NAT boxes translate at that time. Also forgets expired NAT mappings.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), event) = entry.remove_entry();
            self.arrive(at, event);
        }
        for state in &mut self.nats {
            state.nat.purge_expired(now);
        }
    }

    /// The next datagram that reached a host, in arrival order.
    pub fn poll_receive(&mut self) -> Option<Delivery> {
        self.received.pop_front()
    }

    /// When the next in-flight datagram arrives somewhere (call `handle_timeout` then).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.in_flight.first_key_value().map(|((at, _), _)| *at)
    }

    /// Network-wide counters. `sent` counts `send` calls; `delivered` counts copies handed to
    /// hosts; drops of every hop and NAT are included.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Counters of the `from` → `to` link direction, once it has been set or used.
    #[must_use]
    pub fn link_stats(&self, from: impl Into<Node>, to: impl Into<Node>) -> Option<&Stats> {
        self.links.get(&(from.into(), to.into())).map(Link::stats)
    }

    /// Turns the event trace on (recording starts now) or off (the recorded events are
    /// discarded). Off by default.
    pub fn set_tracing(&mut self, on: bool) {
        self.trace = if on {
            Some(self.trace.take().unwrap_or_default())
        } else {
            None
        };
    }

    /// The oldest recorded [`TraceEvent`] not yet polled (at most [`MAX_TRACE_EVENTS`] are
    /// kept).
    pub fn poll_trace(&mut self) -> Option<TraceEvent> {
        self.trace.as_mut().and_then(VecDeque::pop_front)
    }

    /// Datagrams in flight (not yet arrived).
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The addresses of `host`, first one first.
    #[must_use]
    pub fn host_addresses(&self, host: HostId) -> &[IpAddr] {
        self.hosts
            .get(host.0)
            .map_or(&[], |h| h.addresses.as_slice())
    }

    /// The external address of `nat`.
    #[must_use]
    pub fn nat_public_ip(&self, nat: NatId) -> Option<IpAddr> {
        self.nats.get(nat.0).map(|n| n.nat.public_ip())
    }

    /// The configuration of `nat`.
    #[must_use]
    pub fn nat_config(&self, nat: NatId) -> Option<&NatConfig> {
        self.nats.get(nat.0).map(|n| n.nat.config())
    }

    /// The mappings of `nat` alive at `now`, by external port.
    #[must_use]
    pub fn nat_mappings(&self, nat: NatId, now: Instant) -> Vec<MappingInfo> {
        self.nats
            .get(nat.0)
            .map_or_else(Vec::new, |n| n.nat.mappings(now))
    }

    fn host_state(&self, host: HostId) -> Result<&HostState, Error> {
        self.hosts.get(host.0).ok_or(Error::UnknownHost(host))
    }

    fn nat_state(&self, nat: NatId) -> Result<&NatState, Error> {
        self.nats.get(nat.0).ok_or(Error::UnknownNat(nat))
    }

    fn insert_host(&mut self, realm: Realm, ip: IpAddr) -> Result<HostId, Error> {
        if self.addresses.contains_key(&(realm, ip)) {
            return Err(Error::AddressInUse(ip));
        }
        let id = HostId(self.hosts.len());
        self.hosts.push(HostState {
            addresses: vec![ip],
            realm,
        });
        self.addresses.insert((realm, ip), Node::Host(id));
        Ok(id)
    }

    fn insert_nat(
        &mut self,
        outer: Realm,
        config: NatConfig,
        hosts: &[HostId],
    ) -> Result<NatId, Error> {
        if config.port_min > config.port_max {
            return Err(Error::EmptyPortRange {
                min: config.port_min,
                max: config.port_max,
            });
        }
        if self.addresses.contains_key(&(outer, config.public_ip)) {
            return Err(Error::AddressInUse(config.public_ip));
        }
        for &host in hosts {
            if self.host_state(host)?.realm != outer {
                return Err(Error::HostNotOnOuterSide(host));
            }
        }
        let id = NatId(self.nats.len());
        let inner = Realm::Private(id);
        self.addresses
            .insert((outer, config.public_ip), Node::Nat(id));
        for &host in hosts {
            if let Some(state) = self.hosts.get_mut(host.0) {
                if state.realm == inner {
                    continue; // listed twice
                }
                for ip in &state.addresses {
                    self.addresses.remove(&(outer, *ip));
                    self.addresses.insert((inner, *ip), Node::Host(host));
                }
                state.realm = inner;
            }
        }
        self.nats.push(NatState {
            nat: Nat::new(config),
            outer,
        });
        Ok(id)
    }

    fn realms_of(&self, node: Node) -> Option<(Realm, Option<Realm>)> {
        match node {
            Node::Host(host) => self.hosts.get(host.0).map(|h| (h.realm, None)),
            Node::Nat(nat) => self
                .nats
                .get(nat.0)
                .map(|n| (n.outer, Some(Realm::Private(nat)))),
        }
    }

    fn check_adjacent(&self, a: Node, b: Node) -> Result<(), Error> {
        let not_adjacent = Error::NotAdjacent { from: a, to: b };
        let (a1, a2) = self.realms_of(a).ok_or(not_adjacent)?;
        let (b1, b2) = self.realms_of(b).ok_or(not_adjacent)?;
        let shares = [Some(a1), a2]
            .iter()
            .flatten()
            .any(|ra| [Some(b1), b2].iter().flatten().any(|rb| ra == rb));
        if shares { Ok(()) } else { Err(not_adjacent) }
    }

    fn put_link(&mut self, from: Node, to: Node, config: LinkConfig) {
        match self.links.get_mut(&(from, to)) {
            Some(link) => link.set_config(config),
            None => {
                self.links.insert((from, to), Link::new(config, self.start));
            }
        }
    }

    /// The next hop from `from` towards `destination` inside `realm`.
    fn route(&self, realm: Realm, from: Node, destination: IpAddr) -> Option<Node> {
        if let Some(node) = self.addresses.get(&(realm, destination)) {
            return Some(*node);
        }
        match realm {
            // Default route of a private realm: its NAT (unless the NAT itself is asking).
            Realm::Private(nat) if from != Node::Nat(nat) => Some(Node::Nat(nat)),
            _ => None,
        }
    }

    fn record(&mut self, event: impl FnOnce() -> TraceEvent) {
        if let Some(trace) = &mut self.trace {
            if trace.len() >= MAX_TRACE_EVENTS {
                trace.pop_front();
            }
            trace.push_back(event());
        }
    }

    fn drop_datagram(&mut self, at: Instant, node: Node, reason: DropReason, datagram: &Datagram) {
        self.stats.record_drop(reason);
        self.record(|| TraceEvent::Dropped {
            at,
            node,
            reason,
            source: datagram.source,
            destination: datagram.destination,
            len: datagram.payload.len(),
        });
    }

    /// Sends `datagram` from `from` over one link within `realm`.
    fn forward(&mut self, now: Instant, from: Node, realm: Realm, hops: u8, datagram: Datagram) {
        if hops >= MAX_HOPS {
            return self.drop_datagram(now, from, DropReason::HopLimit, &datagram);
        }
        let Some(to) = self.route(realm, from, datagram.destination.ip()) else {
            return self.drop_datagram(now, from, DropReason::NoRoute, &datagram);
        };
        let link = self
            .links
            .entry((from, to))
            .or_insert_with(|| Link::new(self.default_link.clone(), self.start));
        match link.transmit(now, datagram.payload.len(), &mut self.rng) {
            Transmission::Dropped(reason) => self.drop_datagram(now, from, reason, &datagram),
            Transmission::Delivered { at, duplicate } => {
                let hops = hops.saturating_add(1);
                if let Some(copy_at) = duplicate {
                    bump(&mut self.stats.duplicated);
                    self.schedule(
                        copy_at,
                        InFlight {
                            to,
                            via: realm,
                            hops,
                            datagram: datagram.clone(),
                        },
                    );
                }
                self.schedule(
                    at,
                    InFlight {
                        to,
                        via: realm,
                        hops,
                        datagram,
                    },
                );
            }
        }
    }

    fn schedule(&mut self, at: Instant, event: InFlight) {
        if self.in_flight.len().saturating_add(self.received.len()) >= MAX_BACKLOG {
            return self.drop_datagram(at, event.to, DropReason::Backlog, &event.datagram);
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.in_flight.insert((at, seq), event);
    }

    /// A datagram reaches `event.to` at `at`.
    fn arrive(&mut self, at: Instant, event: InFlight) {
        let InFlight {
            to,
            via,
            hops,
            datagram,
        } = event;
        match to {
            Node::Host(host) => {
                bump(&mut self.stats.delivered);
                self.record(|| TraceEvent::Delivered {
                    at,
                    host,
                    source: datagram.source,
                    destination: datagram.destination,
                    len: datagram.payload.len(),
                });
                self.received.push_back(Delivery { host, at, datagram });
            }
            Node::Nat(id) => {
                let inner = Realm::Private(id);
                let Some(state) = self.nats.get_mut(id.0) else {
                    return self.drop_datagram(at, to, DropReason::NoRoute, &datagram);
                };
                let outer = state.outer;
                let public_ip = state.nat.public_ip();
                let result = if via == inner {
                    if datagram.destination.ip() == public_ip {
                        // RFC 4787 §6: hairpinning loops the packet back inside; REQ-9a: the
                        // hairpinned packet carries the sender's external address and port.
                        if state.nat.config().hairpinning {
                            state
                                .nat
                                .outbound(at, datagram.source, datagram.destination, &mut self.rng)
                                .and_then(|source| {
                                    let destination = state.nat.inbound(
                                        at,
                                        source,
                                        datagram.destination.port(),
                                    )?;
                                    Ok((inner, source, destination))
                                })
                        } else {
                            Err(DropReason::NatHairpinDisabled)
                        }
                    } else {
                        state
                            .nat
                            .outbound(at, datagram.source, datagram.destination, &mut self.rng)
                            .map(|source| (outer, source, datagram.destination))
                    }
                } else if datagram.destination.ip() == public_ip {
                    state
                        .nat
                        .inbound(at, datagram.source, datagram.destination.port())
                        .map(|destination| (inner, datagram.source, destination))
                } else {
                    Err(DropReason::NoRoute)
                };
                match result {
                    Ok((realm, source, destination)) => {
                        self.record(|| TraceEvent::Translated {
                            at,
                            nat: id,
                            before: (datagram.source, datagram.destination),
                            after: (source, destination),
                        });
                        let translated = Datagram {
                            source,
                            destination,
                            payload: datagram.payload,
                        };
                        self.forward(at, Node::Nat(id), realm, hops, translated);
                    }
                    Err(reason) => self.drop_datagram(at, to, reason, &datagram),
                }
            }
        }
    }
}
