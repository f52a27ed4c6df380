//! Errors from building or driving a [`Network`](crate::Network).

use std::net::IpAddr;

use crate::network::{HostId, NatId, Node};

/// A topology or `send` call the network refused. Nothing is changed when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host id does not belong to this network.
    #[error("unknown host {0:?}")]
    UnknownHost(HostId),
    /// The NAT id does not belong to this network.
    #[error("unknown NAT {0:?}")]
    UnknownNat(NatId),
    /// The address is already used by a host or NAT in the same address realm.
    #[error("address {0} is already in use in this realm")]
    AddressInUse(IpAddr),
    /// A datagram's source address is not one of the sending host's addresses.
    #[error("source address {source_ip} does not belong to host {host:?}")]
    SourceNotOnHost {
        /// The sending host.
        host: HostId,
        /// The source address it tried to use.
        source_ip: IpAddr,
    },
    /// A host given to `add_nat` is not in the realm the NAT's external side joins.
    #[error("host {0:?} is not on the NAT's external side")]
    HostNotOnOuterSide(HostId),
    /// The two nodes share no address realm, so no packet ever crosses a link between them.
    #[error("{from:?} and {to:?} are not adjacent")]
    NotAdjacent {
        /// One end.
        from: Node,
        /// The other end.
        to: Node,
    },
    /// `port_min > port_max` in a NAT configuration.
    #[error("empty NAT port range {min}..={max}")]
    EmptyPortRange {
        /// Configured lowest port.
        min: u16,
        /// Configured highest port.
        max: u16,
    },
}
