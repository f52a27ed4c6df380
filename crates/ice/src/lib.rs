//! # tern-ice: Interactive Connectivity Establishment for Tern (sans-IO)
//!
//! A full ICE agent ([RFC 8445]) with ICE-lite mode, trickle ([RFC 8838]) and consent
//! freshness ([RFC 7675]), for one component (rtcp-mux). It owns no socket: the driver tells it
//! which local addresses it has ([`IceAgent::add_local_host_candidate`]), feeds it datagrams and
//! sends what it returns.
//!
//! ## Implemented
//! - RFC 8445 §5.1: host candidates from application addresses, server-reflexive candidates
//!   from configured STUN servers, priorities (§5.1.2) and foundations (§5.1.1.3).
//! - §5.1.1.2: relayed candidates from configured TURN servers through `tern-turn`'s client,
//!   over UDP or TCP to the server: one allocation per host socket and server, a permission
//!   for each paired remote (RFC 8656 §9), checks, consent and [`IceAgent::send_data`]
//!   wrapped in Send indications, or ChannelData once the channel bound for the selected pair
//!   is up (RFC 8656 §12); relayed datagrams are unwrapped into checks or
//!   [`IceEvent::RelayedData`]; [`IceAgent::close`] deletes the allocations.
//! - §6.1.2: checklist with pair priorities (§6.1.2.3), frozen/waiting states per foundation
//!   (§6.1.2.6), pair limit with pruning (§6.1.2.5, 100 by default); §6.1.4.2 paced checks
//!   (Ta = 50 ms) with a triggered-check queue; retransmissions with doubling RTO.
//! - §7.2 / §7.3: connectivity checks with short-term credentials both ways (USERNAME
//!   "remote:local", MESSAGE-INTEGRITY, FINGERPRINT), responses with XOR-MAPPED-ADDRESS,
//!   peer-reflexive candidates from authenticated checks, role conflicts with 487 (§7.3.1.1),
//!   symmetric-address check of responses (§7.2.5.2.1).
//! - §8.1.1 regular nomination as controlling; accepting USE-CANDIDATE (regular or aggressive)
//!   as controlled; ICE-lite (§2.5) answering only.
//! - RFC 7675: consent checks every 4–6 s on the selected pair, `Disconnected` after
//!   `disconnected_timeout`, consent lost (selected pair dropped, `Failed`) after 30 s. A
//!   selected pair that fails (e.g. its TURN relay is gone) with no other valid pair to take
//!   over is `Disconnected` too (W3C RTCIceTransportState), `Failed` once no pair is left to try.
//! - RFC 8838: candidates before or after the remote credentials, end-of-candidates.
//! - ICE restart (§9) keeping the old selected pair until a new one is selected.
//!
//! - RFC 8445 §11 keepalives: consent checks on the selected pair (full agent), Binding
//!   indications (lite agent).
//!
//! - W3C `RTCIceTransportPolicy` "relay" ([`IceConfig::relay_only`]).
//!
//! Not implemented: TURN over TLS or DTLS to the server, TCP candidates (RFC 6544: parsed, not
//! paired),
//! more than one component, local peer-reflexive candidates as separate pairs (§7.2.5.3.1:
//! the checked pair itself becomes valid, which sends from the same base), mDNS resolution
//! itself (`.local` candidates go through the application's resolver hook in
//! [`Candidate::from_sdp_value_resolving`], or are rejected with
//! [`IceError::UnresolvedMdnsCandidate`]; the peer is then still reached as peer-reflexive).
//!
//! ## Tests
//! Two agents on virtual time (`tests/common`): connectivity, pacing, trickle, prflx, restart,
//! lite, role conflicts, consent, bad input (BAD_INPUT rows 5–9), checks arriving on a
//! loopback ↔ LAN 5-tuple (`tests/loopback_scope.rs`); relayed candidates on `tern-turn`'s
//! server core (`tests/relay.rs`); across RFC 4787 NATs on `tern-netsim` with a `tern-stun`
//! binding server and optionally a TURN server (`tests/nat_traversal.rs`); against aioice
//! (`tests/interop_aioice.rs`, and through coturn `tests/interop_aioice_turn.rs`) and in a NAT
//! lab of network namespaces with nftables NATs and coturn (`tests/natlab.rs`), all three
//! ignored unless run by xtask.
//!
//! ## Run loop
//! 1. Create the agent with [`IceAgent::new`]; add each local socket with
//!    [`IceAgent::add_local_host_candidate`] and call [`IceAgent::end_of_local_candidates`].
//! 2. Signal [`IceEvent::LocalCandidate`]s and the local credentials; pass the peer's with
//!    [`IceAgent::set_remote_credentials`] and [`IceAgent::add_remote_candidate`].
//! 3. For each datagram where [`IceAgent::accepts`] is true, call
//!    [`IceAgent::handle_receive`]; bytes from a TCP connection to a TURN server go to
//!    [`IceAgent::handle_relay_stream`]; when the timer fires, call
//!    [`IceAgent::handle_timeout`].
//! 4. After every input drain [`IceAgent::poll_transmit`] (send each from `source` to
//!    `destination`, on the TCP connection to it when `transport` is TCP), then [`IceAgent::poll_event`], then arm a timer at
//!    [`IceAgent::poll_timeout`].
//! 5. Send media on [`IceAgent::selected_pair`] (through [`IceAgent::send_data`] when its
//!    local candidate is relayed; non-STUN datagrams from the relay arrive as
//!    [`IceEvent::RelayedData`]); accept DTLS/SRTP only from 5-tuples for which
//!    [`IceAgent::is_validated_remote`] holds.
//!
//! ## Example
//! ```
//! use std::time::{Duration, Instant};
//! use tern_ice::{IceAgent, IceConfig, IceCredentials, IceConnectionState};
//!
//! let now = Instant::now();
//! let (ca, cb) = (IceCredentials::random(), IceCredentials::random());
//! let mut a = IceAgent::new(IceConfig::with_credentials(true, ca.clone(), 1, 1), now);
//! let mut b = IceAgent::new(IceConfig::with_credentials(false, cb.clone(), 2, 2), now);
//! let (addr_a, addr_b) = ("127.0.0.1:5000".parse().unwrap(), "127.0.0.1:6000".parse().unwrap());
//! let cand_a = a.add_local_host_candidate(addr_a);
//! let cand_b = b.add_local_host_candidate(addr_b);
//! a.set_remote_credentials(cb.ufrag, cb.pwd);
//! b.set_remote_credentials(ca.ufrag, ca.pwd);
//! a.add_remote_candidate(now, cand_b).unwrap();
//! b.add_remote_candidate(now, cand_a).unwrap();
//!
//! fn shuttle(from: &mut IceAgent, to: &mut IceAgent, t: Instant) {
//!     while let Some(tx) = from.poll_transmit() {
//!         to.handle_receive(t, tx.destination, tx.source, &tx.data).unwrap();
//!     }
//! }
//! let mut t = now;
//! for _ in 0..100 {
//!     shuttle(&mut a, &mut b, t);
//!     shuttle(&mut b, &mut a, t);
//!     t += Duration::from_millis(10);
//!     a.handle_timeout(t);
//!     b.handle_timeout(t);
//! }
//! assert_eq!(a.selected_pair(), Some((addr_a, addr_b)));
//! assert_eq!(b.connection_state(), IceConnectionState::Connected);
//! ```
//!
//! [RFC 8445]: https://www.rfc-editor.org/rfc/rfc8445
//! [RFC 8838]: https://www.rfc-editor.org/rfc/rfc8838
//! [RFC 7675]: https://www.rfc-editor.org/rfc/rfc7675

pub mod agent;
pub mod candidate;
pub mod config;
pub mod error;

pub use agent::{
    IceAgent, IceConnectionState, IceEvent, PairInfo, PairState, Transmit, pair_priority,
};
pub use candidate::{Candidate, CandidateKind, TcpType, TransportProtocol, candidate_priority};
pub use config::{IceConfig, IceCredentials, TurnServer};
pub use error::IceError;
