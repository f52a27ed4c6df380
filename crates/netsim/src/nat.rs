//! A NAT box: RFC 4787 mapping, filtering, port assignment, refresh and hairpinning.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand::Rng;

use crate::config::{FilteringBehavior, MappingBehavior, NatConfig, PortAllocation};
use crate::stats::DropReason;

/// Most filter permissions one mapping keeps; the stalest is forgotten beyond that.
const MAX_PERMISSIONS_PER_MAPPING: usize = 1024;
/// Random port picks before falling back to a scan.
const RANDOM_PORT_ATTEMPTS: u32 = 32;

/// Which destinations share a mapping (what the mapping is keyed on besides the internal
/// endpoint), following the NAT's [`MappingBehavior`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum MappingScope {
    /// Endpoint-independent: every destination.
    AnyDestination,
    /// Address-dependent: destinations at this IP address.
    Address(IpAddr),
    /// Address-and-port-dependent: this destination only.
    Endpoint(SocketAddr),
}

/// A live NAT mapping, for inspection from tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingInfo {
    /// The internal endpoint.
    pub internal: SocketAddr,
    /// The external address and port packets from `internal` leave with.
    pub external: SocketAddr,
    /// The destinations this mapping serves.
    pub scope: MappingScope,
    /// When it expires unless refreshed (`None`: beyond what `Instant` can represent).
    pub expires: Option<Instant>,
    /// External endpoints the internal endpoint sent to through this mapping (filter state).
    pub contacted: Vec<SocketAddr>,
}

#[derive(Debug, Clone)]
struct Mapping {
    internal: SocketAddr,
    scope: MappingScope,
    expires: Option<Instant>,
    /// Remote endpoint → when the internal endpoint last sent to it.
    contacted: BTreeMap<SocketAddr, Instant>,
}

impl Mapping {
    fn alive(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| now < at)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Nat {
    config: NatConfig,
    /// External port → mapping.
    mappings: BTreeMap<u16, Mapping>,
    /// (internal endpoint, scope) → external port.
    index: BTreeMap<(SocketAddr, MappingScope), u16>,
    next_sequential: u16,
}

impl Nat {
    pub(crate) fn new(config: NatConfig) -> Self {
        let next_sequential = config.port_min;
        Self {
            config,
            mappings: BTreeMap::new(),
            index: BTreeMap::new(),
            next_sequential,
        }
    }

    pub(crate) fn config(&self) -> &NatConfig {
        &self.config
    }

    pub(crate) fn public_ip(&self) -> IpAddr {
        self.config.public_ip
    }

    fn scope_for(&self, remote: SocketAddr) -> MappingScope {
        // RFC 4787 §4.1: the mapping is reused for destinations according to the behaviour.
        match self.config.mapping {
            MappingBehavior::EndpointIndependent => MappingScope::AnyDestination,
            MappingBehavior::AddressDependent => MappingScope::Address(remote.ip()),
            MappingBehavior::AddressAndPortDependent => MappingScope::Endpoint(remote),
        }
    }

    fn expiry(&self, now: Instant) -> Option<Instant> {
        now.checked_add(self.config.mapping_timeout)
    }

    /// Translates an outbound packet from `internal` to `remote`: finds or creates the mapping,
    /// refreshes it and records the filter permission. Returns the external source address.
    pub(crate) fn outbound<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        internal: SocketAddr,
        remote: SocketAddr,
        rng: &mut R,
    ) -> Result<SocketAddr, DropReason> {
        if remote.is_ipv4() != self.config.public_ip.is_ipv4() {
            // No NAT46/NAT64: the external side has only one address family.
            return Err(DropReason::NoRoute);
        }
        let scope = self.scope_for(remote);
        let existing = self
            .index
            .get(&(internal, scope))
            .copied()
            .filter(|port| self.mappings.get(port).is_some_and(|m| m.alive(now)));
        let port = match existing {
            Some(port) => port,
            None => {
                self.forget((internal, scope));
                let port = self
                    .allocate(now, internal.port(), rng)
                    .ok_or(DropReason::NatPortsExhausted)?;
                self.mappings.insert(
                    port,
                    Mapping {
                        internal,
                        scope,
                        expires: None,
                        contacted: BTreeMap::new(),
                    },
                );
                self.index.insert((internal, scope), port);
                port
            }
        };
        let expires = self.expiry(now);
        let timeout = self.config.mapping_timeout;
        if let Some(mapping) = self.mappings.get_mut(&port) {
            // RFC 4787 §4.3 REQ-6: outbound packets refresh the mapping timer.
            mapping.expires = expires;
            if !mapping.contacted.contains_key(&remote)
                && mapping.contacted.len() >= MAX_PERMISSIONS_PER_MAPPING
            {
                mapping
                    .contacted
                    .retain(|_, last| last.checked_add(timeout).is_none_or(|end| now < end));
                if mapping.contacted.len() >= MAX_PERMISSIONS_PER_MAPPING {
                    let stalest = mapping
                        .contacted
                        .iter()
                        .min_by_key(|(addr, last)| (**last, **addr))
                        .map(|(addr, _)| *addr);
                    if let Some(addr) = stalest {
                        mapping.contacted.remove(&addr);
                    }
                }
            }
            mapping.contacted.insert(remote, now);
        }
        Ok(SocketAddr::new(self.config.public_ip, port))
    }

    /// Admits or refuses an inbound packet from `remote` to external port `port`; returns the
    /// internal endpoint to forward it to.
    pub(crate) fn inbound(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        port: u16,
    ) -> Result<SocketAddr, DropReason> {
        let timeout = self.config.mapping_timeout;
        let filtering = self.config.filtering;
        let refresh = self.config.inbound_refresh;
        let expires = self.expiry(now);
        let mapping = self
            .mappings
            .get_mut(&port)
            .filter(|m| m.alive(now))
            .ok_or(DropReason::NatNoMapping)?;
        let permitted = |last: &Instant| last.checked_add(timeout).is_none_or(|end| now < end);
        // RFC 4787 §5: filtering decides which external endpoints may use a mapping.
        let admitted = match filtering {
            FilteringBehavior::EndpointIndependent => true,
            FilteringBehavior::AddressDependent => mapping
                .contacted
                .iter()
                .any(|(addr, last)| addr.ip() == remote.ip() && permitted(last)),
            FilteringBehavior::AddressAndPortDependent => {
                mapping.contacted.get(&remote).is_some_and(permitted)
            }
        };
        if !admitted {
            return Err(DropReason::NatFiltered);
        }
        if refresh {
            // RFC 4787 §4.3: inbound refresh is optional (NAT Inbound refresh behavior).
            mapping.expires = expires;
        }
        Ok(mapping.internal)
    }

    /// Drops expired mappings and their index entries.
    pub(crate) fn purge_expired(&mut self, now: Instant) {
        let dead: Vec<u16> = self
            .mappings
            .iter()
            .filter(|(_, m)| !m.alive(now))
            .map(|(port, _)| *port)
            .collect();
        for port in dead {
            self.release(port);
        }
    }

    pub(crate) fn mappings(&self, now: Instant) -> Vec<MappingInfo> {
        self.mappings
            .iter()
            .filter(|(_, m)| m.alive(now))
            .map(|(port, m)| MappingInfo {
                internal: m.internal,
                external: SocketAddr::new(self.config.public_ip, *port),
                scope: m.scope,
                expires: m.expires,
                contacted: m.contacted.keys().copied().collect(),
            })
            .collect()
    }

    fn release(&mut self, port: u16) {
        if let Some(mapping) = self.mappings.remove(&port) {
            self.index.remove(&(mapping.internal, mapping.scope));
        }
    }

    fn forget(&mut self, key: (SocketAddr, MappingScope)) {
        if let Some(port) = self.index.remove(&key) {
            self.mappings.remove(&port);
        }
    }

    /// Whether `port` can take a new mapping; an expired mapping on it is released.
    fn claim_if_free(&mut self, now: Instant, port: u16) -> bool {
        match self.mappings.get(&port) {
            None => true,
            Some(mapping) if !mapping.alive(now) => {
                self.release(port);
                true
            }
            Some(_) => false,
        }
    }

    /// RFC 4787 §4.2.1: picks the external port of a new mapping. REQ-3: never "port
    /// overloading" — a port already held by a live mapping is never handed out again.
    fn allocate<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        internal_port: u16,
        rng: &mut R,
    ) -> Option<u16> {
        let (min, max) = (self.config.port_min, self.config.port_max);
        if min > max {
            return None;
        }
        let span = usize::from(max - min) + 1;
        if self.mappings.len() >= span {
            self.purge_expired(now);
            if self.mappings.len() >= span {
                return None;
            }
        }
        match self.config.port_allocation {
            PortAllocation::Preserve => {
                // RFC 4787 §4.2.1: "port preservation" keeps the internal port when free; on
                // a collision REQ-3 forbids port overloading, so another port is picked.
                if (min..=max).contains(&internal_port) && self.claim_if_free(now, internal_port) {
                    return Some(internal_port);
                }
                self.allocate_random(now, min, max, rng)
            }
            PortAllocation::Sequential => {
                let start = self.next_sequential.clamp(min, max);
                let port = self.scan(now, start, min, max)?;
                self.next_sequential = if port >= max { min } else { port + 1 };
                Some(port)
            }
            PortAllocation::Random => self.allocate_random(now, min, max, rng),
        }
    }

    fn allocate_random<R: Rng + ?Sized>(
        &mut self,
        now: Instant,
        min: u16,
        max: u16,
        rng: &mut R,
    ) -> Option<u16> {
        for _ in 0..RANDOM_PORT_ATTEMPTS {
            let port = rng.gen_range(min..=max);
            if self.claim_if_free(now, port) {
                return Some(port);
            }
        }
        let start = rng.gen_range(min..=max);
        self.scan(now, start, min, max)
    }

    /// First free port at or after `start`, wrapping from `max` to `min`.
    fn scan(&mut self, now: Instant, start: u16, min: u16, max: u16) -> Option<u16> {
        let mut port = start;
        loop {
            if self.claim_if_free(now, port) {
                return Some(port);
            }
            port = if port >= max { min } else { port + 1 };
            if port == start {
                return None;
            }
        }
    }
}
