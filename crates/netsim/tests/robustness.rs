//! Arbitrary configurations (NaN and out-of-range probabilities, zero or huge rates and
//! delays, tiny port ranges) and arbitrary traffic never panic, every offered copy is
//! accounted for, and a run is a pure function of its seed and inputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tern_netsim::{
    Bandwidth, Datagram, End, FilteringBehavior, HostId, LinkConfig, Loss, LossyPipe,
    MappingBehavior, NatConfig, Network, PortAllocation,
};

#[allow(clippy::disallowed_methods)] // the one real clock read: the virtual time base
fn t0() -> Instant {
    Instant::now()
}

fn probability() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1.0),
        0.0..1.0f64,
        Just(f64::NAN),
        Just(-0.5),
        Just(7.0),
        Just(f64::INFINITY),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (0u64..200).prop_map(Duration::from_millis),
        Just(Duration::MAX),
    ]
}

fn loss() -> impl Strategy<Value = Loss> {
    prop_oneof![
        Just(Loss::None),
        probability().prop_map(Loss::Uniform),
        (probability(), probability(), probability(), probability()).prop_map(|(a, b, c, d)| {
            Loss::GilbertElliott {
                p_good_to_bad: a,
                p_bad_to_good: b,
                loss_in_good: c,
                loss_in_bad: d,
            }
        }),
        (probability(), prop_oneof![Just(f64::NAN), 0.0..10.0f64])
            .prop_map(|(rate, burst)| Loss::bursty(rate, burst)),
    ]
}

fn bandwidth() -> impl Strategy<Value = Option<Bandwidth>> {
    prop_oneof![
        Just(None),
        (
            prop_oneof![Just(0u64), 1u64..10_000_000, Just(u64::MAX)],
            prop_oneof![Just(0usize), 1usize..5000, Just(usize::MAX)],
            prop_oneof![Just(0usize), 1usize..50_000, Just(usize::MAX)],
        )
            .prop_map(|(bits_per_second, burst_bytes, queue_bytes)| {
                Some(Bandwidth {
                    bits_per_second,
                    burst_bytes,
                    queue_bytes,
                })
            }),
    ]
}

prop_compose! {
    fn link_config()(
        loss in loss(),
        delay in duration(),
        jitter in duration(),
        reorder in probability(),
        reorder_delay in duration(),
        duplicate in probability(),
        bandwidth in bandwidth(),
        mtu in prop_oneof![Just(0usize), 1usize..2000, Just(usize::MAX)],
    ) -> LinkConfig {
        LinkConfig { loss, delay, jitter, reorder, reorder_delay, duplicate, bandwidth, mtu }
    }
}

fn mapping() -> impl Strategy<Value = MappingBehavior> {
    prop_oneof![
        Just(MappingBehavior::EndpointIndependent),
        Just(MappingBehavior::AddressDependent),
        Just(MappingBehavior::AddressAndPortDependent),
    ]
}

fn filtering() -> impl Strategy<Value = FilteringBehavior> {
    prop_oneof![
        Just(FilteringBehavior::EndpointIndependent),
        Just(FilteringBehavior::AddressDependent),
        Just(FilteringBehavior::AddressAndPortDependent),
    ]
}

prop_compose! {
    fn nat_config(ip: &'static str)(
        mapping in mapping(),
        filtering in filtering(),
        timeout in prop_oneof![Just(Duration::ZERO), (1u64..100).prop_map(Duration::from_millis), Just(Duration::MAX)],
        inbound_refresh in any::<bool>(),
        port_allocation in prop_oneof![
            Just(PortAllocation::Preserve),
            Just(PortAllocation::Sequential),
            Just(PortAllocation::Random),
        ],
        port_min in prop_oneof![Just(0u16), Just(5000u16), Just(65534u16)],
        span in prop_oneof![Just(0u16), Just(1u16), Just(3u16), Just(u16::MAX)],
        hairpinning in any::<bool>(),
    ) -> NatConfig {
        NatConfig {
            mapping_timeout: timeout,
            inbound_refresh,
            port_allocation,
            port_min,
            port_max: port_min.saturating_add(span),
            hairpinning,
            ..NatConfig::new(ip.parse().unwrap(), mapping, filtering)
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Host index, source port, destination index, destination port, payload length.
    Send(usize, u16, usize, u16, usize),
    /// Advance virtual time by this many milliseconds and run the network.
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..5, 4999u16..5003, 0usize..8, 4999u16..5003, 0usize..1500)
            .prop_map(|(h, sp, d, dp, len)| Op::Send(h, sp, d, dp, len)),
        1 => (0u64..300).prop_map(Op::Advance),
    ]
}

/// Hosts: a, b behind nat1 (double NAT for b: behind nat2 behind nat1), c behind nat3,
/// d and e public. Destinations mix private, public, NAT and unknown addresses.
const DESTINATIONS: [&str; 8] = [
    "10.0.0.2",
    "10.1.0.2",
    "10.0.0.3",
    "198.51.100.7",
    "198.51.100.8",
    "203.0.113.1",
    "203.0.113.3",
    "192.0.2.1",
];

fn run(
    seed: u64,
    nats: &[NatConfig; 3],
    links: &[LinkConfig],
    ops: &[Op],
) -> Vec<(HostId, Duration, Datagram)> {
    let start = t0();
    let mut net = Network::new(seed, start);
    let a = net.add_host("10.0.0.2".parse().unwrap()).unwrap();
    let nat1 = net.add_nat(nats[0].clone(), &[a]).unwrap();
    let nat2 = net.add_nat_behind(nat1, nats[1].clone(), &[]).unwrap();
    let b = net
        .add_host_behind(nat2, "10.1.0.2".parse().unwrap())
        .unwrap();
    let c = net.add_host("10.0.0.3".parse().unwrap()).unwrap();
    let nat3 = net.add_nat(nats[2].clone(), &[c]).unwrap();
    let d = net.add_host("198.51.100.7".parse().unwrap()).unwrap();
    let e = net.add_host("198.51.100.8".parse().unwrap()).unwrap();
    let hosts = [a, b, c, d, e];
    let pairs: [(tern_netsim::Node, tern_netsim::Node); 6] = [
        (a.into(), nat1.into()),
        (nat2.into(), nat1.into()),
        (b.into(), nat2.into()),
        (nat1.into(), d.into()),
        (nat3.into(), e.into()),
        (c.into(), nat3.into()),
    ];
    for (i, config) in links.iter().enumerate() {
        let (x, y) = pairs[i % pairs.len()];
        net.set_link_one_way(x, y, config.clone()).unwrap();
    }
    let mut now = start;
    let mut trace = Vec::new();
    for op in ops {
        match *op {
            Op::Send(h, sport, dst, dport, len) => {
                let host = hosts[h];
                let source = SocketAddr::new(net.host_addresses(host)[0], sport);
                let ip: IpAddr = DESTINATIONS[dst].parse().unwrap();
                let datagram = Datagram {
                    source,
                    destination: SocketAddr::new(ip, dport),
                    payload: vec![0xa5; len],
                };
                net.send(now, host, datagram).unwrap();
            }
            Op::Advance(ms) => {
                now += Duration::from_millis(ms);
                net.handle_timeout(now);
            }
        }
        while let Some(delivery) = net.poll_receive() {
            trace.push((delivery.host, delivery.at - start, delivery.datagram));
        }
    }
    // Drain what can still arrive within a representable horizon.
    let horizon = now + Duration::from_secs(3600);
    net.handle_timeout(horizon);
    while let Some(delivery) = net.poll_receive() {
        trace.push((delivery.host, delivery.at - start, delivery.datagram));
    }
    let stats = net.stats().clone();
    let in_flight = net.in_flight() as u64;
    assert_eq!(
        stats.sent + stats.duplicated,
        stats.delivered + stats.dropped_total() + in_flight,
        "{stats:?}"
    );
    assert_eq!(stats.delivered, trace.len() as u64);
    trace
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn network_never_panics_accounts_for_everything_and_is_deterministic(
        seed in any::<u64>(),
        nat1 in nat_config("203.0.113.1"),
        nat2 in nat_config("100.64.0.2"),
        nat3 in nat_config("203.0.113.3"),
        links in proptest::collection::vec(link_config(), 0..8),
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let nats = [nat1, nat2, nat3];
        let first = run(seed, &nats, &links, &ops);
        let second = run(seed, &nats, &links, &ops);
        prop_assert_eq!(first, second);
    }

    #[test]
    fn pipe_never_panics_and_accounts_for_everything(
        seed in any::<u64>(),
        config in link_config(),
        sends in proptest::collection::vec((any::<bool>(), 0usize..3000, 0u64..50), 0..300),
    ) {
        let start = t0();
        let mut pipe = LossyPipe::new(seed, start, config);
        let mut now = start;
        let mut received = [0u64; 2];
        for (from_a, len, gap) in sends {
            let from = if from_a { End::A } else { End::B };
            pipe.send(now, from, vec![1; len]);
            now += Duration::from_millis(gap);
            pipe.handle_timeout(now);
            for (i, end) in [End::A, End::B].into_iter().enumerate() {
                while pipe.poll_receive(end).is_some() {
                    received[i] += 1;
                }
            }
        }
        let total_sent: u64 = [End::A, End::B].iter().map(|e| pipe.stats(*e).sent + pipe.stats(*e).duplicated).sum();
        let total_dropped: u64 = [End::A, End::B].iter().map(|e| pipe.stats(*e).dropped_total()).sum();
        prop_assert_eq!(total_sent, received[0] + received[1] + total_dropped + pipe.in_flight() as u64);
        prop_assert_eq!(pipe.stats(End::A).delivered, received[1]);
        prop_assert_eq!(pipe.stats(End::B).delivered, received[0]);
    }
}
