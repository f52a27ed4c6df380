//! tern-netsim: a sans-IO, deterministic network emulator for Tern's protocol tests.
//!
//! Hosts with IPv4/IPv6 addresses, NAT boxes, and impaired links between them, all on virtual
//! time: the emulator never reads the clock, owns no socket, and draws every random decision
//! from one seeded [`StdRng`](rand::rngs::StdRng), so the same seed and the same calls give the
//! same trace.
//!
//! * [`Network`]: the topology. Hosts live on the public internet or behind a [`NatConfig`]
//!   NAT (NATs may nest). Every datagram crosses one [`Link`] per hop, so each hop's
//!   impairments apply.
//! * [`LossyPipe`]: two ends and one impaired link per direction, for tests that just need a
//!   lossy pipe between two state machines.
//! * [`Link`]: one direction's impairment engine: MTU, token-bucket bandwidth cap with a
//!   tail-drop queue, uniform or Gilbert-Elliott [`Loss`], fixed delay, jitter, explicit
//!   reordering, duplication ([`LinkConfig`]).
//!
//! # RFCs
//!
//! RFC 4787 (NAT behavioural requirements for unicast UDP):
//! * §4.1 mapping behaviour — endpoint-independent, address-dependent,
//!   address-and-port-dependent ([`MappingBehavior`]);
//! * §4.2.1 port assignment — preservation, sequential, random ([`PortAllocation`]);
//! * §4.3 mapping refresh — timeout, outbound refresh always, inbound refresh optional;
//! * §5 filtering behaviour — the same three ([`FilteringBehavior`]);
//! * §6 hairpinning — on or off, with the external source address.
//!
//! Not modelled: §4.2.2 port parity, §4.2.3 port contiguity, §4.4 conflicting address spaces
//! beyond what separate realms give, §7 ICMP, §8 fragmentation (oversize datagrams are dropped
//! by the MTU instead), NAT pooling (one external address per NAT), NAT46/64.
//!
//! # Run loop
//!
//! 1. Build the topology: [`Network::new`] with a seed and a start `Instant`, then
//!    [`Network::add_host`], [`Network::add_nat`], [`Network::set_link`].
//! 2. For each datagram your state machines want to send, call
//!    [`Network::send`]`(now, host, datagram)`.
//! 3. Call [`Network::handle_timeout`]`(now)`: every datagram due by `now` moves along, hop by
//!    hop, each at its own virtual arrival time (NATs translate at that time).
//! 4. Drain [`Network::poll_receive`] and hand each [`Delivery`] to the state machine of
//!    `delivery.host`, then drain that machine's output back into step 2.
//! 5. Advance `now` to the earliest of [`Network::poll_timeout`] and your machines'
//!    `poll_timeout`, and go to 3. [`Network::stats`] counts what was sent, delivered,
//!    duplicated and dropped (by [`DropReason`]); with [`Network::set_tracing`] on,
//!    [`Network::poll_trace`] tells each datagram's story (sent, translated, dropped where and
//!    why, delivered).
//!
//! [`LossyPipe`] has the same verbs with an [`End`] instead of a host.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tern_netsim::{Datagram, LinkConfig, Loss, NatConfig, Network};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let start = Instant::now();
//! let mut net = Network::new(7, start);
//! let alice = net.add_host("10.0.0.2".parse()?)?;
//! let nat = net.add_nat(NatConfig::port_restricted_cone("203.0.113.1".parse()?), &[alice])?;
//! let server = net.add_host("198.51.100.7".parse()?)?;
//! net.set_link(nat, server, LinkConfig {
//!     loss: Loss::Uniform(0.01),
//!     delay: Duration::from_millis(40),
//!     jitter: Duration::from_millis(5),
//!     ..LinkConfig::default()
//! })?;
//!
//! let mut now = start;
//! for i in 0..10u8 {
//!     net.send(now, alice, Datagram {
//!         source: "10.0.0.2:5000".parse()?,
//!         destination: "198.51.100.7:3478".parse()?,
//!         payload: vec![i],
//!     })?;
//! }
//! let mut seen = Vec::new();
//! while let Some(at) = net.poll_timeout() {
//!     now = at;
//!     net.handle_timeout(now);
//!     while let Some(delivery) = net.poll_receive() {
//!         assert_eq!(delivery.host, server);
//!         // The server sees the NAT's external address, port preserved.
//!         assert_eq!(delivery.datagram.source, "203.0.113.1:5000".parse()?);
//!         seen.push(delivery.datagram.payload[0]);
//!     }
//! }
//! assert!(now >= start + Duration::from_millis(40));
//! assert_eq!(seen.len() as u64, net.stats().delivered);
//! # Ok(())
//! # }
//! ```

mod config;
mod error;
mod link;
mod nat;
mod network;
mod pipe;
mod stats;
mod trace;

pub use config::{
    Bandwidth, FilteringBehavior, LinkConfig, Loss, MAX_UDP_PAYLOAD, MappingBehavior, NatConfig,
    PortAllocation,
};
pub use error::Error;
pub use link::{Link, Transmission};
pub use nat::{MappingInfo, MappingScope};
pub use network::{Datagram, Delivery, HostId, MAX_BACKLOG, MAX_HOPS, NatId, Network, Node};
pub use pipe::{End, LossyPipe};
pub use stats::{DropReason, Stats};
pub use trace::{MAX_TRACE_EVENTS, TraceEvent};
