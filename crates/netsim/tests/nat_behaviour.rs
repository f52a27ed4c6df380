//! RFC 4787 NAT behaviour, checked packet by packet: mapping (which external port is used
//! towards which destination), filtering (which inbound packets are admitted), timeouts,
//! port assignment and hairpinning.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_netsim::{
    Datagram, DropReason, Error, FilteringBehavior, HostId, LinkConfig, MappingBehavior,
    MappingScope, NatConfig, NatId, Network, PortAllocation, TraceEvent,
};

#[allow(clippy::disallowed_methods)] // the one real clock read: the virtual time base
fn t0() -> Instant {
    Instant::now()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const A: &str = "10.0.0.2";
const NAT_IP: &str = "203.0.113.1";
const S1: &str = "198.51.100.1";
const S2: &str = "198.51.100.2";

/// One private host `a` behind `nat`, two public servers `s1`, `s2`.
struct Lab {
    net: Network,
    now: Instant,
    a: HostId,
    nat: NatId,
    s1: HostId,
    s2: HostId,
}

impl Lab {
    fn new(config: NatConfig) -> Self {
        let now = t0();
        let mut net = Network::new(1, now);
        let a = net.add_host(A.parse().unwrap()).unwrap();
        let nat = net.add_nat(config, &[a]).unwrap();
        let s1 = net.add_host(S1.parse().unwrap()).unwrap();
        let s2 = net.add_host(S2.parse().unwrap()).unwrap();
        Self {
            net,
            now,
            a,
            nat,
            s1,
            s2,
        }
    }

    fn with(mapping: MappingBehavior, filtering: FilteringBehavior) -> Self {
        Self::new(NatConfig::new(NAT_IP.parse().unwrap(), mapping, filtering))
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.net.handle_timeout(self.now);
    }

    /// Sends from `from` (on `host`) to `to`, runs the network, returns what arrived.
    fn exchange(
        &mut self,
        host: HostId,
        from: SocketAddr,
        to: SocketAddr,
    ) -> Vec<(HostId, Datagram)> {
        let payload = b"probe".to_vec();
        self.net
            .send(
                self.now,
                host,
                Datagram {
                    source: from,
                    destination: to,
                    payload,
                },
            )
            .unwrap();
        self.net.handle_timeout(self.now);
        std::iter::from_fn(|| self.net.poll_receive())
            .map(|d| (d.host, d.datagram))
            .collect()
    }

    /// `a` sends from `a_port` to `server`; returns the source address the server saw.
    fn out(&mut self, a_port: u16, server: &str) -> SocketAddr {
        let host = if server.starts_with(S1) {
            self.s1
        } else {
            self.s2
        };
        let got = self.exchange(
            self.a,
            SocketAddr::new(A.parse().unwrap(), a_port),
            sa(server),
        );
        assert_eq!(got.len(), 1, "outbound to {server} not delivered");
        assert_eq!(got[0].0, host);
        assert_eq!(got[0].1.destination, sa(server));
        got[0].1.source
    }

    /// `server` sends to `external`; returns whether `a` received it (and checks the rewrite).
    fn inbound(&mut self, server: &str, external: SocketAddr) -> bool {
        let host = if server.starts_with(S1) {
            self.s1
        } else {
            self.s2
        };
        let got = self.exchange(host, sa(server), external);
        match got.as_slice() {
            [] => false,
            [(to, d)] => {
                assert_eq!(*to, self.a);
                assert_eq!(d.source, sa(server));
                assert_eq!(d.destination.ip(), A.parse::<std::net::IpAddr>().unwrap());
                true
            }
            more => panic!("one probe, {} deliveries", more.len()),
        }
    }
}

// ---- mapping behaviour (RFC 4787 §4.1) ----

#[test]
fn endpoint_independent_mapping_reuses_one_external_port_for_every_destination() {
    let mut lab = Lab::with(
        MappingBehavior::EndpointIndependent,
        FilteringBehavior::EndpointIndependent,
    );
    let first = lab.out(5000, "198.51.100.1:3478");
    assert_eq!(first, sa("203.0.113.1:5000"), "port preserved");
    assert_eq!(
        lab.out(5000, "198.51.100.1:3479"),
        first,
        "same address, other port"
    );
    assert_eq!(lab.out(5000, "198.51.100.2:3478"), first, "other address");
    // A different internal port is a different internal endpoint: a different mapping.
    let other = lab.out(5001, "198.51.100.1:3478");
    assert_eq!(other, sa("203.0.113.1:5001"));
    assert_eq!(lab.net.nat_mappings(lab.nat, lab.now).len(), 2);
    let scopes: Vec<_> = lab
        .net
        .nat_mappings(lab.nat, lab.now)
        .iter()
        .map(|m| m.scope)
        .collect();
    assert_eq!(scopes, vec![MappingScope::AnyDestination; 2]);
}

#[test]
fn address_dependent_mapping_reuses_per_destination_address_only() {
    let mut lab = Lab::with(
        MappingBehavior::AddressDependent,
        FilteringBehavior::EndpointIndependent,
    );
    let to_s1 = lab.out(5000, "198.51.100.1:3478");
    assert_eq!(to_s1, sa("203.0.113.1:5000"));
    assert_eq!(
        lab.out(5000, "198.51.100.1:3479"),
        to_s1,
        "same address, other port: reused"
    );
    let to_s2 = lab.out(5000, "198.51.100.2:3478");
    assert_ne!(to_s2, to_s1, "other address: new mapping");
    assert_eq!(to_s2.ip(), to_s1.ip());
    assert_eq!(lab.out(5000, "198.51.100.2:9999"), to_s2);
    assert_eq!(
        lab.out(5000, "198.51.100.1:3478"),
        to_s1,
        "first mapping still in use"
    );
    assert_eq!(lab.net.nat_mappings(lab.nat, lab.now).len(), 2);
}

#[test]
fn address_and_port_dependent_mapping_uses_a_new_port_per_destination_endpoint() {
    let mut lab = Lab::with(
        MappingBehavior::AddressAndPortDependent,
        FilteringBehavior::EndpointIndependent,
    );
    let a = lab.out(5000, "198.51.100.1:3478");
    let b = lab.out(5000, "198.51.100.1:3479");
    let c = lab.out(5000, "198.51.100.2:3478");
    assert_eq!(
        a,
        sa("203.0.113.1:5000"),
        "first mapping preserves the port"
    );
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(b, c);
    // Each is stable for its own destination.
    assert_eq!(lab.out(5000, "198.51.100.1:3479"), b);
    assert_eq!(lab.out(5000, "198.51.100.2:3478"), c);
    assert_eq!(lab.out(5000, "198.51.100.1:3478"), a);
    assert_eq!(lab.net.nat_mappings(lab.nat, lab.now).len(), 3);
}

// ---- filtering behaviour (RFC 4787 §5) ----

#[test]
fn endpoint_independent_filtering_admits_any_external_endpoint() {
    let mut lab = Lab::with(
        MappingBehavior::EndpointIndependent,
        FilteringBehavior::EndpointIndependent,
    );
    let external = sa("203.0.113.1:5000");
    assert!(
        !lab.inbound("198.51.100.1:3478", external),
        "no mapping yet"
    );
    assert_eq!(lab.net.stats().dropped(DropReason::NatNoMapping), 1);
    lab.out(5000, "198.51.100.1:3478");
    assert!(lab.inbound("198.51.100.1:3478", external));
    assert!(
        lab.inbound("198.51.100.1:3479", external),
        "same address, other port"
    );
    assert!(
        lab.inbound("198.51.100.2:4000", external),
        "never-contacted address"
    );
    assert!(
        !lab.inbound("198.51.100.2:4000", sa("203.0.113.1:5001")),
        "unmapped port"
    );
    assert_eq!(lab.net.stats().dropped(DropReason::NatFiltered), 0);
    assert_eq!(lab.net.stats().dropped(DropReason::NatNoMapping), 2);
}

#[test]
fn address_dependent_filtering_admits_only_contacted_addresses() {
    let mut lab = Lab::with(
        MappingBehavior::EndpointIndependent,
        FilteringBehavior::AddressDependent,
    );
    let external = lab.out(5000, "198.51.100.1:3478");
    assert!(lab.inbound("198.51.100.1:3478", external));
    assert!(
        lab.inbound("198.51.100.1:3479", external),
        "same address, any port"
    );
    assert!(
        !lab.inbound("198.51.100.2:3478", external),
        "address never contacted"
    );
    assert_eq!(lab.net.stats().dropped(DropReason::NatFiltered), 1);
    // Sending to S2 (any port) opens S2 (any port).
    assert_eq!(lab.out(5000, "198.51.100.2:9"), external);
    assert!(lab.inbound("198.51.100.2:3478", external));
}

#[test]
fn address_and_port_dependent_filtering_admits_only_contacted_endpoints() {
    let mut lab = Lab::with(
        MappingBehavior::EndpointIndependent,
        FilteringBehavior::AddressAndPortDependent,
    );
    let external = lab.out(5000, "198.51.100.1:3478");
    assert!(lab.inbound("198.51.100.1:3478", external));
    assert!(
        !lab.inbound("198.51.100.1:3479", external),
        "same address, other port"
    );
    assert!(!lab.inbound("198.51.100.2:3478", external), "other address");
    assert_eq!(lab.net.stats().dropped(DropReason::NatFiltered), 2);
    lab.out(5000, "198.51.100.1:3479");
    assert!(lab.inbound("198.51.100.1:3479", external));
    assert!(!lab.inbound("198.51.100.2:3478", external));
}

#[test]
fn filtering_is_per_mapping_under_address_and_port_dependent_mapping() {
    // Symmetric NAT: a reply must come from the endpoint the mapping was made for.
    let mut lab = Lab::new(NatConfig::symmetric(NAT_IP.parse().unwrap()));
    let to_s1 = lab.out(5000, "198.51.100.1:3478");
    let to_s2 = lab.out(5000, "198.51.100.2:3478");
    assert!(lab.inbound("198.51.100.1:3478", to_s1));
    assert!(lab.inbound("198.51.100.2:3478", to_s2));
    assert!(
        !lab.inbound("198.51.100.2:3478", to_s1),
        "S2 on S1's mapping"
    );
    assert!(
        !lab.inbound("198.51.100.1:3478", to_s2),
        "S1 on S2's mapping"
    );
}

#[test]
fn presets_have_the_classic_behaviours() {
    let ip = NAT_IP.parse().unwrap();
    let cases = [
        (
            NatConfig::full_cone(ip),
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::EndpointIndependent,
        ),
        (
            NatConfig::restricted_cone(ip),
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::AddressDependent,
        ),
        (
            NatConfig::port_restricted_cone(ip),
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::AddressAndPortDependent,
        ),
        (
            NatConfig::symmetric(ip),
            MappingBehavior::AddressAndPortDependent,
            FilteringBehavior::AddressAndPortDependent,
        ),
    ];
    for (config, mapping, filtering) in cases {
        assert_eq!((config.mapping, config.filtering), (mapping, filtering));
        assert!(config.hairpinning);
        // RFC 4787 §4.3 REQ-5: no less than two minutes by default.
        assert!(config.mapping_timeout >= Duration::from_secs(120));
    }
}

// ---- mapping refresh and timeout (RFC 4787 §4.3) ----

fn with_timeout(timeout: Duration, inbound_refresh: bool) -> Lab {
    let mut config = NatConfig::full_cone(NAT_IP.parse().unwrap());
    config.mapping_timeout = timeout;
    config.inbound_refresh = inbound_refresh;
    Lab::new(config)
}

#[test]
fn mapping_expires_after_the_timeout_without_traffic() {
    let mut lab = with_timeout(Duration::from_secs(30), false);
    let external = lab.out(5000, "198.51.100.1:3478");
    lab.advance(Duration::from_secs(29));
    assert!(lab.inbound("198.51.100.1:3478", external), "alive at 29 s");
    lab.advance(Duration::from_secs(2));
    assert!(
        !lab.inbound("198.51.100.1:3478", external),
        "gone at 31 s (inbound did not refresh)"
    );
    assert_eq!(lab.net.stats().dropped(DropReason::NatNoMapping), 1);
    assert!(lab.net.nat_mappings(lab.nat, lab.now).is_empty());
}

#[test]
fn outbound_traffic_refreshes_the_mapping() {
    let mut lab = with_timeout(Duration::from_secs(30), false);
    let external = lab.out(5000, "198.51.100.1:3478");
    lab.advance(Duration::from_secs(20));
    assert_eq!(lab.out(5000, "198.51.100.1:3478"), external);
    lab.advance(Duration::from_secs(25)); // 45 s after creation, 25 s after the refresh
    assert!(lab.inbound("198.51.100.1:3478", external));
    lab.advance(Duration::from_secs(6)); // 31 s after the refresh
    assert!(!lab.inbound("198.51.100.1:3478", external));
}

#[test]
fn inbound_refresh_only_when_configured() {
    let mut lab = with_timeout(Duration::from_secs(30), true);
    let external = lab.out(5000, "198.51.100.1:3478");
    for _ in 0..4 {
        lab.advance(Duration::from_secs(20));
        assert!(
            lab.inbound("198.51.100.1:3478", external),
            "kept alive by inbound traffic"
        );
    }
}

#[test]
fn filter_permissions_expire_per_remote_endpoint() {
    let mut config = NatConfig::port_restricted_cone(NAT_IP.parse().unwrap());
    config.mapping_timeout = Duration::from_secs(30);
    let mut lab = Lab::new(config);
    let external = lab.out(5000, "198.51.100.1:3478"); // t = 0: opens S1
    lab.advance(Duration::from_secs(20));
    assert_eq!(lab.out(5000, "198.51.100.2:3478"), external); // t = 20: opens S2, refreshes
    lab.advance(Duration::from_secs(15)); // t = 35: mapping alive, S1's permission is 35 s old
    assert!(!lab.inbound("198.51.100.1:3478", external));
    assert!(lab.inbound("198.51.100.2:3478", external));
    assert_eq!(lab.net.stats().dropped(DropReason::NatFiltered), 1);
}

#[test]
fn a_refused_inbound_packet_changes_nothing() {
    let mut config = NatConfig::port_restricted_cone(NAT_IP.parse().unwrap());
    config.mapping_timeout = Duration::from_secs(30);
    config.inbound_refresh = true;
    let mut lab = Lab::new(config);
    let external = lab.out(5000, "198.51.100.1:3478");
    let before = lab.net.nat_mappings(lab.nat, lab.now);
    lab.advance(Duration::from_secs(20));
    // Filtered: must neither refresh the mapping nor open a permission.
    assert!(!lab.inbound("198.51.100.2:3478", external));
    assert!(!lab.inbound("198.51.100.2:3478", external));
    assert_eq!(lab.net.nat_mappings(lab.nat, lab.now), before);
    lab.advance(Duration::from_secs(11)); // 31 s after the only outbound packet
    assert!(!lab.inbound("198.51.100.1:3478", external));
    assert_eq!(lab.net.stats().dropped(DropReason::NatNoMapping), 1);
}

#[test]
fn a_new_mapping_after_expiry_can_get_a_different_port() {
    let mut config = NatConfig::full_cone(NAT_IP.parse().unwrap());
    config.mapping_timeout = Duration::from_secs(10);
    config.port_allocation = PortAllocation::Sequential;
    config.port_min = 40000;
    let mut lab = Lab::new(config);
    assert_eq!(lab.out(5000, "198.51.100.1:3478"), sa("203.0.113.1:40000"));
    lab.advance(Duration::from_secs(11));
    assert_eq!(lab.out(5000, "198.51.100.1:3478"), sa("203.0.113.1:40001"));
}

// ---- port assignment (RFC 4787 §4.2.1) ----

#[test]
fn port_preservation_falls_back_when_the_port_is_taken() {
    let now = t0();
    let mut net = Network::new(3, now);
    let a = net.add_host(A.parse().unwrap()).unwrap();
    let b = net.add_host("10.0.0.3".parse().unwrap()).unwrap();
    let nat = net
        .add_nat(NatConfig::full_cone(NAT_IP.parse().unwrap()), &[a, b])
        .unwrap();
    let _s = net.add_host(S1.parse().unwrap()).unwrap();
    for (host, src) in [(a, "10.0.0.2:5000"), (b, "10.0.0.3:5000")] {
        net.send(
            now,
            host,
            Datagram {
                source: sa(src),
                destination: sa("198.51.100.1:1"),
                payload: vec![],
            },
        )
        .unwrap();
    }
    net.handle_timeout(now);
    let m = net.nat_mappings(nat, now);
    assert_eq!(m.len(), 2);
    let by_a = m
        .iter()
        .find(|m| m.internal == sa("10.0.0.2:5000"))
        .unwrap();
    let by_b = m
        .iter()
        .find(|m| m.internal == sa("10.0.0.3:5000"))
        .unwrap();
    assert_eq!(by_a.external, sa("203.0.113.1:5000"));
    assert_ne!(by_b.external.port(), 5000);
    assert!(by_b.external.port() >= 1024);
}

#[test]
fn random_allocation_is_seeded() {
    let run = |seed| {
        let now = t0();
        let mut net = Network::new(seed, now);
        let a = net.add_host(A.parse().unwrap()).unwrap();
        let nat = net
            .add_nat(NatConfig::symmetric(NAT_IP.parse().unwrap()), &[a])
            .unwrap();
        net.add_host(S1.parse().unwrap()).unwrap();
        for port in 1..=20 {
            let d = Datagram {
                source: sa("10.0.0.2:5000"),
                destination: SocketAddr::new(S1.parse().unwrap(), port),
                payload: vec![],
            };
            net.send(now, a, d).unwrap();
        }
        net.handle_timeout(now);
        net.nat_mappings(nat, now)
            .iter()
            .map(|m| m.external.port())
            .collect::<Vec<_>>()
    };
    let first = run(9);
    assert_eq!(first.len(), 20);
    assert_eq!(first, run(9));
    assert_ne!(first, run(10));
}

#[test]
fn ports_run_out_and_are_reported() {
    let mut config = NatConfig::symmetric(NAT_IP.parse().unwrap());
    config.port_min = 40000;
    config.port_max = 40001;
    let mut lab = Lab::new(config);
    lab.out(5000, "198.51.100.1:1");
    lab.out(5000, "198.51.100.1:2");
    let got = lab.exchange(lab.a, sa("10.0.0.2:5000"), sa("198.51.100.1:3"));
    assert!(got.is_empty());
    assert_eq!(lab.net.stats().dropped(DropReason::NatPortsExhausted), 1);
}

#[test]
fn empty_port_range_is_rejected() {
    let mut config = NatConfig::full_cone(NAT_IP.parse().unwrap());
    config.port_min = 2000;
    config.port_max = 1999;
    let mut net = Network::new(1, t0());
    assert_eq!(
        net.add_nat(config, &[]),
        Err(Error::EmptyPortRange {
            min: 2000,
            max: 1999
        })
    );
}

// ---- hairpinning (RFC 4787 §6) ----

fn hairpin_lab(hairpinning: bool) -> (Network, Instant, HostId, HostId) {
    let now = t0();
    let mut net = Network::new(5, now);
    let a = net.add_host(A.parse().unwrap()).unwrap();
    let b = net.add_host("10.0.0.3".parse().unwrap()).unwrap();
    let mut config = NatConfig::full_cone(NAT_IP.parse().unwrap());
    config.hairpinning = hairpinning;
    net.add_nat(config, &[a, b]).unwrap();
    net.add_host(S1.parse().unwrap()).unwrap();
    // b gets a mapping 203.0.113.1:6000 by talking to a server.
    net.send(
        now,
        b,
        Datagram {
            source: sa("10.0.0.3:6000"),
            destination: sa("198.51.100.1:3478"),
            payload: vec![],
        },
    )
    .unwrap();
    net.handle_timeout(now);
    assert!(net.poll_receive().is_some());
    (net, now, a, b)
}

#[test]
fn hairpinning_on_loops_back_with_the_external_source() {
    let (mut net, now, a, b) = hairpin_lab(true);
    net.send(
        now,
        a,
        Datagram {
            source: sa("10.0.0.2:5000"),
            destination: sa("203.0.113.1:6000"),
            payload: vec![7],
        },
    )
    .unwrap();
    net.handle_timeout(now);
    let d = net.poll_receive().expect("hairpinned");
    assert_eq!(d.host, b);
    assert_eq!(d.datagram.destination, sa("10.0.0.3:6000"));
    // RFC 4787 §6 REQ-9a: the source is a's external address, not its private one.
    assert_eq!(d.datagram.source, sa("203.0.113.1:5000"));
    // b answers the external address and it loops back to a.
    net.send(
        now,
        b,
        Datagram {
            source: sa("10.0.0.3:6000"),
            destination: d.datagram.source,
            payload: vec![8],
        },
    )
    .unwrap();
    net.handle_timeout(now);
    let back = net.poll_receive().expect("reply hairpinned");
    assert_eq!(back.host, a);
    assert_eq!(back.datagram.source, sa("203.0.113.1:6000"));
    assert_eq!(back.datagram.destination, sa("10.0.0.2:5000"));
}

#[test]
fn hairpinning_off_drops() {
    let (mut net, now, a, _b) = hairpin_lab(false);
    net.send(
        now,
        a,
        Datagram {
            source: sa("10.0.0.2:5000"),
            destination: sa("203.0.113.1:6000"),
            payload: vec![7],
        },
    )
    .unwrap();
    net.handle_timeout(now);
    assert!(net.poll_receive().is_none());
    assert_eq!(net.stats().dropped(DropReason::NatHairpinDisabled), 1);
}

#[test]
fn hosts_behind_the_same_nat_talk_directly_on_private_addresses() {
    let (mut net, now, a, b) = hairpin_lab(false);
    net.send(
        now,
        a,
        Datagram {
            source: sa("10.0.0.2:5000"),
            destination: sa("10.0.0.3:6000"),
            payload: vec![1],
        },
    )
    .unwrap();
    net.handle_timeout(now);
    let d = net.poll_receive().unwrap();
    assert_eq!((d.host, d.datagram.source), (b, sa("10.0.0.2:5000")));
}

// ---- peer to peer across two NATs ----

/// Both peers send to each other's external address at once (as ICE does after exchanging
/// server-reflexive candidates learned from a STUN server), twice; returns whether each side
/// got the other's second packet.
fn punch(left: NatConfig, right: NatConfig) -> bool {
    let now = t0();
    let mut net = Network::new(11, now);
    let a = net.add_host("192.168.1.2".parse().unwrap()).unwrap();
    let b_host = net.add_host("192.168.1.2".parse().unwrap());
    // Same private address in two realms: allowed once they are behind different NATs.
    assert_eq!(
        b_host,
        Err(Error::AddressInUse("192.168.1.2".parse().unwrap()))
    );
    net.add_nat(left, &[a]).unwrap();
    let b = net.add_host("192.168.1.2".parse().unwrap()).unwrap();
    net.add_nat(right, &[b]).unwrap();
    let stun = net.add_host(S1.parse().unwrap()).unwrap();
    let local = sa("192.168.1.2:5000");
    // Learn reflexive addresses from a STUN-like server.
    let mut reflexive = Vec::new();
    for host in [a, b] {
        net.send(
            now,
            host,
            Datagram {
                source: local,
                destination: sa("198.51.100.1:3478"),
                payload: vec![],
            },
        )
        .unwrap();
        net.handle_timeout(now);
        let d = net.poll_receive().unwrap();
        assert_eq!(d.host, stun);
        reflexive.push(d.datagram.source);
    }
    // Where each side sends: the peer's reflexive address, or (like an ICE peer-reflexive
    // candidate) the source the peer's packets were last seen from.
    let mut target = [reflexive[1], reflexive[0]];
    let mut got = [false, false];
    for round in 0..2 {
        for (i, host) in [a, b].into_iter().enumerate() {
            let d = Datagram {
                source: local,
                destination: target[i],
                payload: vec![round],
            };
            net.send(now, host, d).unwrap();
        }
        net.handle_timeout(now);
        while let Some(d) = net.poll_receive() {
            let side = usize::from(d.host == b);
            target[side] = d.datagram.source;
            if d.datagram.payload == [1] {
                got[side] = true;
            }
        }
    }
    got == [true, true]
}

#[test]
fn hole_punching_outcome_follows_the_nat_types() {
    let (l, r) = (
        "203.0.113.1".parse().unwrap(),
        "203.0.113.2".parse().unwrap(),
    );
    assert!(punch(NatConfig::full_cone(l), NatConfig::full_cone(r)));
    assert!(punch(
        NatConfig::restricted_cone(l),
        NatConfig::port_restricted_cone(r)
    ));
    assert!(punch(
        NatConfig::port_restricted_cone(l),
        NatConfig::port_restricted_cone(r)
    ));
    assert!(punch(NatConfig::full_cone(l), NatConfig::symmetric(r)));
    // A symmetric NAT uses a new port towards the peer: the port-restricted side filters it.
    assert!(!punch(
        NatConfig::port_restricted_cone(l),
        NatConfig::symmetric(r)
    ));
    assert!(!punch(NatConfig::symmetric(l), NatConfig::symmetric(r)));
}

// ---- nested NAT, routing, errors ----

#[test]
fn double_nat_translates_twice() {
    let now = t0();
    let mut net = Network::new(1, now);
    let cgn = net
        .add_nat(NatConfig::full_cone(NAT_IP.parse().unwrap()), &[])
        .unwrap();
    let home = net
        .add_nat_behind(
            cgn,
            NatConfig::full_cone("100.64.0.2".parse().unwrap()),
            &[],
        )
        .unwrap();
    let a = net.add_host_behind(home, A.parse().unwrap()).unwrap();
    let s = net.add_host(S1.parse().unwrap()).unwrap();
    net.send(
        now,
        a,
        Datagram {
            source: sa("10.0.0.2:5000"),
            destination: sa("198.51.100.1:3478"),
            payload: vec![1],
        },
    )
    .unwrap();
    net.handle_timeout(now);
    let d = net.poll_receive().unwrap();
    assert_eq!(d.host, s);
    assert_eq!(d.datagram.source, sa("203.0.113.1:5000"));
    net.send(
        now,
        s,
        Datagram {
            source: sa("198.51.100.1:3478"),
            destination: d.datagram.source,
            payload: vec![2],
        },
    )
    .unwrap();
    net.handle_timeout(now);
    let back = net.poll_receive().unwrap();
    assert_eq!(
        (back.host, back.datagram.destination),
        (a, sa("10.0.0.2:5000"))
    );
    assert_eq!(
        net.nat_mappings(home, now)[0].external,
        sa("100.64.0.2:5000")
    );
}

#[test]
fn wrong_family_and_unknown_destinations_are_no_route() {
    let mut lab = Lab::new(NatConfig::full_cone(NAT_IP.parse().unwrap()));
    lab.net
        .add_address(lab.a, "fd00::2".parse().unwrap())
        .unwrap();
    assert!(
        lab.exchange(lab.a, sa("[fd00::2]:5000"), sa("[2001:db8::1]:3478"))
            .is_empty()
    );
    assert!(
        lab.exchange(lab.s1, sa("198.51.100.1:1"), sa("192.0.2.99:1"))
            .is_empty()
    );
    assert_eq!(lab.net.stats().dropped(DropReason::NoRoute), 2);
}

#[test]
fn ipv6_hosts_talk_through_an_ipv6_nat() {
    let now = t0();
    let mut net = Network::new(1, now);
    let a = net.add_host("fd00::2".parse().unwrap()).unwrap();
    net.add_nat(
        NatConfig::port_restricted_cone("2001:db8::1".parse().unwrap()),
        &[a],
    )
    .unwrap();
    let s = net.add_host("2001:db8:1::7".parse().unwrap()).unwrap();
    net.send(
        now,
        a,
        Datagram {
            source: sa("[fd00::2]:5000"),
            destination: sa("[2001:db8:1::7]:3478"),
            payload: vec![],
        },
    )
    .unwrap();
    net.handle_timeout(now);
    let d = net.poll_receive().unwrap();
    assert_eq!((d.host, d.datagram.source), (s, sa("[2001:db8::1]:5000")));
}

#[test]
fn topology_errors_are_typed_and_change_nothing() {
    let mut lab = Lab::new(NatConfig::full_cone(NAT_IP.parse().unwrap()));
    let err = lab.net.send(
        lab.now,
        lab.a,
        Datagram {
            source: sa("10.9.9.9:1"),
            destination: sa("198.51.100.1:1"),
            payload: vec![],
        },
    );
    assert_eq!(
        err,
        Err(Error::SourceNotOnHost {
            host: lab.a,
            source_ip: "10.9.9.9".parse().unwrap()
        })
    );
    assert_eq!(lab.net.stats().sent, 0);
    assert_eq!(
        lab.net.set_link(lab.a, lab.s1, LinkConfig::default()),
        Err(Error::NotAdjacent {
            from: lab.a.into(),
            to: lab.s1.into()
        })
    );
    assert!(
        lab.net
            .set_link(lab.a, lab.nat, LinkConfig::default())
            .is_ok()
    );
    assert!(
        lab.net
            .set_link(lab.nat, lab.s1, LinkConfig::default())
            .is_ok()
    );
    assert_eq!(
        lab.net.add_host(S1.parse().unwrap()),
        Err(Error::AddressInUse(S1.parse().unwrap()))
    );
    assert_eq!(
        lab.net.add_host(NAT_IP.parse().unwrap()),
        Err(Error::AddressInUse(NAT_IP.parse().unwrap()))
    );
    let s2 = lab.s2;
    let other = lab
        .net
        .add_nat(NatConfig::full_cone("203.0.113.9".parse().unwrap()), &[s2])
        .unwrap();
    assert_eq!(
        lab.net.add_nat(
            NatConfig::full_cone("203.0.113.10".parse().unwrap()),
            &[lab.a]
        ),
        Err(Error::HostNotOnOuterSide(lab.a))
    );
    assert_eq!(
        lab.net.nat_public_ip(other),
        Some("203.0.113.9".parse().unwrap())
    );
}

#[test]
fn trace_tells_each_datagrams_story() {
    let mut lab = Lab::new(NatConfig::port_restricted_cone(NAT_IP.parse().unwrap()));
    lab.net.set_tracing(true);
    let external = lab.out(5000, "198.51.100.1:3478");
    assert!(!lab.inbound("198.51.100.2:3478", external));
    let events: Vec<TraceEvent> = std::iter::from_fn(|| lab.net.poll_trace()).collect();
    let now = lab.now;
    assert_eq!(
        events,
        vec![
            TraceEvent::Sent {
                at: now,
                host: lab.a,
                source: sa("10.0.0.2:5000"),
                destination: sa("198.51.100.1:3478"),
                len: 5,
            },
            TraceEvent::Translated {
                at: now,
                nat: lab.nat,
                before: (sa("10.0.0.2:5000"), sa("198.51.100.1:3478")),
                after: (external, sa("198.51.100.1:3478")),
            },
            TraceEvent::Delivered {
                at: now,
                host: lab.s1,
                source: external,
                destination: sa("198.51.100.1:3478"),
                len: 5,
            },
            TraceEvent::Sent {
                at: now,
                host: lab.s2,
                source: sa("198.51.100.2:3478"),
                destination: external,
                len: 5,
            },
            TraceEvent::Dropped {
                at: now,
                node: lab.nat.into(),
                reason: DropReason::NatFiltered,
                source: sa("198.51.100.2:3478"),
                destination: external,
                len: 5,
            },
        ]
    );
    lab.net.set_tracing(false);
    lab.out(5000, "198.51.100.1:3478");
    assert_eq!(lab.net.poll_trace(), None);
}
