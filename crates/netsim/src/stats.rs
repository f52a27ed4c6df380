//! Counters: what was sent, delivered, duplicated, reordered and dropped (by reason).

use std::collections::BTreeMap;

/// Why a datagram did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Random loss on a link.
    Loss,
    /// Larger than the link's MTU.
    Mtu,
    /// Tail drop: the bandwidth queue was full.
    QueueFull,
    /// No host or NAT owns the destination address in the realm the packet is in.
    NoRoute,
    /// Inbound at a NAT on an external port that has no live mapping.
    NatNoMapping,
    /// Inbound at a NAT, refused by its filtering behaviour.
    NatFiltered,
    /// Sent from inside a NAT to its own external address with hairpinning off.
    NatHairpinDisabled,
    /// The NAT had no free external port for a new mapping.
    NatPortsExhausted,
    /// Crossed too many hops (a routing loop through nested NATs).
    HopLimit,
    /// A delay too large to represent as an `Instant`.
    TimeOverflow,
    /// Too many datagrams in flight or waiting to be polled.
    Backlog,
}

impl DropReason {
    /// Every reason, in a fixed order.
    pub const ALL: [Self; 11] = [
        Self::Loss,
        Self::Mtu,
        Self::QueueFull,
        Self::NoRoute,
        Self::NatNoMapping,
        Self::NatFiltered,
        Self::NatHairpinDisabled,
        Self::NatPortsExhausted,
        Self::HopLimit,
        Self::TimeOverflow,
        Self::Backlog,
    ];
}

/// Counters of a link direction, a pipe direction or a whole network.
///
/// For a [`Link`](crate::Link), `delivered` counts copies scheduled to arrive; for a
/// [`Network`](crate::Network) or [`LossyPipe`](crate::LossyPipe) it counts copies handed to
/// the receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams offered.
    pub sent: u64,
    /// Copies delivered (duplicates included).
    pub delivered: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
    /// Copies scheduled to arrive before a copy that was sent earlier (links only).
    pub reordered: u64,
    dropped: BTreeMap<DropReason, u64>,
}

impl Stats {
    /// Datagrams dropped for `reason`.
    #[must_use]
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped.get(&reason).copied().unwrap_or(0)
    }

    /// Datagrams dropped for any reason.
    #[must_use]
    pub fn dropped_total(&self) -> u64 {
        self.dropped
            .values()
            .fold(0, |sum, n| sum.saturating_add(*n))
    }

    pub(crate) fn record_drop(&mut self, reason: DropReason) {
        let count = self.dropped.entry(reason).or_insert(0);
        *count = count.saturating_add(1);
    }
}
