//! An optional record of what happened to each datagram, for debugging tests.

use std::net::SocketAddr;
use std::time::Instant;

use crate::network::{HostId, NatId, Node};
use crate::stats::DropReason;

/// Most events kept; when full the oldest is forgotten.
pub const MAX_TRACE_EVENTS: usize = 1 << 16;

/// One step in a datagram's life, recorded when tracing is on
/// ([`Network::set_tracing`](crate::Network::set_tracing)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceEvent {
    /// A host handed a datagram to the network.
    Sent {
        /// Virtual time.
        at: Instant,
        /// The sender.
        host: HostId,
        /// Source address.
        source: SocketAddr,
        /// Destination address.
        destination: SocketAddr,
        /// Payload length.
        len: usize,
    },
    /// A NAT rewrote a datagram's addresses.
    Translated {
        /// Virtual time.
        at: Instant,
        /// The NAT.
        nat: NatId,
        /// (source, destination) before.
        before: (SocketAddr, SocketAddr),
        /// (source, destination) after.
        after: (SocketAddr, SocketAddr),
    },
    /// A datagram (or copy) was dropped.
    Dropped {
        /// Virtual time.
        at: Instant,
        /// Where: the node forwarding or receiving it.
        node: Node,
        /// Why.
        reason: DropReason,
        /// Source address.
        source: SocketAddr,
        /// Destination address.
        destination: SocketAddr,
        /// Payload length.
        len: usize,
    },
    /// A datagram (or copy) reached a host.
    Delivered {
        /// Virtual time of arrival.
        at: Instant,
        /// The receiver.
        host: HostId,
        /// Source address as the receiver sees it.
        source: SocketAddr,
        /// Destination address.
        destination: SocketAddr,
        /// Payload length.
        len: usize,
    },
}
