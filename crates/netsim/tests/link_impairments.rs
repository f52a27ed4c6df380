//! Link impairments on virtual time with fixed seeds: loss rates, burst lengths, delay and
//! jitter bounds, ordering, reordering, duplication, bandwidth, MTU, determinism.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_netsim::{
    Bandwidth, Datagram, Delivery, DropReason, End, HostId, LinkConfig, Loss, LossyPipe, NatConfig,
    NatId, Network,
};

#[allow(clippy::disallowed_methods)] // the one real clock read: the virtual time base
fn t0() -> Instant {
    Instant::now()
}

const MS: Duration = Duration::from_millis(1);

/// Sends `count` numbered packets of `size` bytes from A, one every `gap`, and runs the pipe to
/// completion. Returns (sequence number, send time, arrival time) per delivered copy, in
/// arrival order.
fn run_pipe(
    seed: u64,
    config: LinkConfig,
    count: u32,
    size: usize,
    gap: Duration,
) -> (Vec<(u32, Instant, Instant)>, LossyPipe) {
    let start = t0();
    let mut pipe = LossyPipe::new(seed, start, config);
    let mut out = Vec::new();
    let mut sent_at = Vec::new();
    let mut now = start;
    let mut drain = |pipe: &mut LossyPipe, now: Instant, sent_at: &Vec<Instant>| {
        pipe.handle_timeout(now);
        while let Some(p) = pipe.poll_receive(End::B) {
            let seq = u32::from_be_bytes(p[..4].try_into().unwrap());
            out.push((seq, sent_at[seq as usize], now));
        }
    };
    for seq in 0..count {
        // Deliver everything due before this send, each at its own arrival time.
        while let Some(at) = pipe.poll_timeout().filter(|at| *at <= now) {
            drain(&mut pipe, at, &sent_at);
        }
        let mut payload = seq.to_be_bytes().to_vec();
        payload.resize(size.max(4), 0);
        sent_at.push(now);
        pipe.send(now, End::A, payload);
        now += gap;
    }
    while let Some(at) = pipe.poll_timeout() {
        drain(&mut pipe, at, &sent_at);
    }
    assert!(
        pipe.poll_receive(End::A).is_none(),
        "nothing goes backwards"
    );
    (out, pipe)
}

fn lossy(loss: Loss) -> LinkConfig {
    LinkConfig {
        loss,
        delay: 20 * MS,
        ..LinkConfig::default()
    }
}

#[test]
fn uniform_loss_rate_is_within_bounds() {
    let (got, pipe) = run_pipe(1, lossy(Loss::Uniform(0.1)), 10_000, 100, MS);
    let lost = 10_000 - got.len();
    // Binomial(10000, 0.1): sd = 30; allow 5 sd.
    assert!((850..=1150).contains(&lost), "lost {lost}");
    let stats = pipe.stats(End::A);
    assert_eq!(stats.dropped(DropReason::Loss), lost as u64);
    assert_eq!(stats.sent, 10_000);
    assert_eq!(stats.delivered, got.len() as u64);
}

#[test]
fn no_loss_configured_means_no_loss() {
    let (got, _) = run_pipe(1, lossy(Loss::None), 1000, 100, MS);
    assert_eq!(got.len(), 1000);
    let (got, _) = run_pipe(1, lossy(Loss::Uniform(1.0)), 1000, 100, MS);
    assert!(got.is_empty());
}

/// Lengths of runs of consecutive lost sequence numbers.
fn loss_bursts(got: &[(u32, Instant, Instant)], count: u32) -> Vec<u32> {
    let mut delivered = vec![false; count as usize];
    for (seq, _, _) in got {
        delivered[*seq as usize] = true;
    }
    let mut bursts = Vec::new();
    let mut run = 0;
    for d in delivered {
        if d {
            if run > 0 {
                bursts.push(run);
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    if run > 0 {
        bursts.push(run);
    }
    bursts
}

#[test]
fn gilbert_elliott_loss_rate_and_mean_burst_length() {
    let (got, _) = run_pipe(2, lossy(Loss::bursty(0.1, 4.0)), 10_000, 100, MS);
    let lost = 10_000 - got.len();
    assert!((700..=1300).contains(&lost), "lost {lost}");
    let bursts = loss_bursts(&got, 10_000);
    let mean = bursts.iter().sum::<u32>() as f64 / bursts.len() as f64;
    // Geometric bursts with mean 4 (sd ≈ 3.5), about 250 of them: mean within ±1.
    assert!((3.0..=5.0).contains(&mean), "mean burst {mean}");
    // Uniform loss at the same rate has much shorter bursts.
    let (uniform, _) = run_pipe(2, lossy(Loss::Uniform(0.1)), 10_000, 100, MS);
    let ub = loss_bursts(&uniform, 10_000);
    let umean = ub.iter().sum::<u32>() as f64 / ub.len() as f64;
    assert!(umean < 1.3, "uniform mean burst {umean}");
}

#[test]
fn delay_and_jitter_bounds() {
    let config = LinkConfig {
        delay: 50 * MS,
        jitter: 10 * MS,
        ..LinkConfig::default()
    };
    let (got, _) = run_pipe(3, config, 2000, 100, MS);
    assert_eq!(got.len(), 2000);
    let latencies: Vec<Duration> = got.iter().map(|(_, sent, at)| *at - *sent).collect();
    let min = *latencies.iter().min().unwrap();
    let max = *latencies.iter().max().unwrap();
    assert!(min >= 50 * MS && max <= 60 * MS, "latency {min:?}..{max:?}");
    // The jitter is actually used: the spread covers most of the window.
    assert!(min < 51 * MS && max > 59 * MS, "latency {min:?}..{max:?}");
}

#[test]
fn zero_jitter_delivers_in_order_at_exact_delay() {
    let config = LinkConfig {
        loss: Loss::Uniform(0.2),
        delay: 30 * MS,
        ..LinkConfig::default()
    };
    let (got, pipe) = run_pipe(4, config, 2000, 100, Duration::from_micros(100));
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "out of order");
    assert!(got.iter().all(|(_, sent, at)| *at - *sent == 30 * MS));
    assert_eq!(pipe.stats(End::A).reordered, 0);
}

fn inversions(got: &[(u32, Instant, Instant)]) -> usize {
    got.windows(2).filter(|w| w[1].0 < w[0].0).count()
}

#[test]
fn jitter_wider_than_the_send_gap_reorders() {
    let config = LinkConfig {
        delay: 20 * MS,
        jitter: 20 * MS,
        ..LinkConfig::default()
    };
    let (got, pipe) = run_pipe(5, config, 1000, 100, MS);
    assert!(inversions(&got) > 100, "inversions {}", inversions(&got));
    assert!(pipe.stats(End::A).reordered > 100);
}

#[test]
fn explicit_reorder_probability_holds_packets_back() {
    let config = LinkConfig {
        delay: 10 * MS,
        reorder: 0.05,
        reorder_delay: 5 * MS,
        ..LinkConfig::default()
    };
    let (got, pipe) = run_pipe(6, config, 10_000, 100, MS);
    assert_eq!(got.len(), 10_000);
    let held = got.iter().filter(|(_, s, a)| *a - *s == 15 * MS).count();
    assert!((350..=650).contains(&held), "held back {held}");
    assert!(
        got.iter()
            .all(|(_, s, a)| *a - *s == 10 * MS || *a - *s == 15 * MS)
    );
    // Each held packet is overtaken by the packets sent in the next 5 ms.
    assert!(
        inversions(&got) >= held * 9 / 10,
        "inversions {}",
        inversions(&got)
    );
    assert!(pipe.stats(End::A).reordered > 0);
}

#[test]
fn duplication_rate_is_within_bounds() {
    let config = LinkConfig {
        delay: 10 * MS,
        duplicate: 0.05,
        ..LinkConfig::default()
    };
    let (got, pipe) = run_pipe(7, config, 10_000, 100, MS);
    let extra = got.len() - 10_000;
    // Binomial(10000, 0.05): sd ≈ 22; allow 5 sd.
    assert!((390..=610).contains(&extra), "duplicates {extra}");
    let stats = pipe.stats(End::A);
    assert_eq!(stats.duplicated, extra as u64);
    assert_eq!(stats.delivered, got.len() as u64);
    let mut seqs: Vec<u32> = got.iter().map(|g| g.0).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 10_000, "every packet at least once");
}

#[test]
fn token_bucket_paces_a_burst_at_the_configured_rate() {
    // 1 Mbit/s = 125 bytes/ms: a 1000-byte packet every 8 ms once the 1500-byte burst is spent.
    let config = LinkConfig {
        delay: 5 * MS,
        bandwidth: Some(Bandwidth {
            bits_per_second: 1_000_000,
            burst_bytes: 1000,
            queue_bytes: 1_000_000,
        }),
        ..LinkConfig::default()
    };
    let (got, _) = run_pipe(8, config, 100, 1000, Duration::ZERO);
    assert_eq!(got.len(), 100);
    let start = got[0].1;
    for (i, (seq, _, at)) in got.iter().enumerate() {
        assert_eq!(*seq as usize, i);
        let expected = start + 5 * MS + 8 * MS * i as u32;
        let error = if *at > expected {
            *at - expected
        } else {
            expected - *at
        };
        assert!(
            error < Duration::from_micros(10),
            "packet {i} at +{:?}",
            *at - start
        );
    }
}

#[test]
fn token_bucket_throughput_under_overload_and_tail_drop() {
    // Offer 2 Mbit/s (1000 B/4 ms) for 10 s to a 1 Mbit/s link with a 10 kB queue.
    let config = LinkConfig {
        bandwidth: Some(Bandwidth {
            bits_per_second: 1_000_000,
            burst_bytes: 1500,
            queue_bytes: 10_000,
        }),
        ..LinkConfig::default()
    };
    let (got, pipe) = run_pipe(9, config, 2500, 1000, 4 * MS);
    let bytes = got.len() * 1000;
    // About 1.25 MB in 10 s, plus what the burst and the queue hold.
    assert!(
        (1_240_000..=1_275_000).contains(&bytes),
        "delivered {bytes} bytes"
    );
    let stats = pipe.stats(End::A);
    assert_eq!(
        stats.dropped(DropReason::QueueFull) as usize,
        2500 - got.len()
    );
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "FIFO");
}

#[test]
fn queue_limit_tail_drops_a_burst() {
    let config = LinkConfig {
        bandwidth: Some(Bandwidth {
            bits_per_second: 8_000, // 1 byte/ms
            burst_bytes: 1000,
            queue_bytes: 5000,
        }),
        ..LinkConfig::default()
    };
    let (got, pipe) = run_pipe(10, config, 20, 1000, Duration::ZERO);
    // One leaves on the burst, five wait, the rest find the queue full.
    let seqs: Vec<u32> = got.iter().map(|g| g.0).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(pipe.stats(End::A).dropped(DropReason::QueueFull), 14);
}

#[test]
fn mtu_drops_oversize_datagrams() {
    let config = LinkConfig {
        mtu: 1200,
        ..LinkConfig::default()
    };
    let start = t0();
    let mut pipe = LossyPipe::new(11, start, config);
    pipe.send(start, End::A, vec![0; 1200]);
    pipe.send(start, End::A, vec![0; 1201]);
    pipe.send(start, End::B, vec![0; 9000]);
    pipe.handle_timeout(start);
    assert_eq!(pipe.poll_receive(End::B).map(|p| p.len()), Some(1200));
    assert_eq!(pipe.poll_receive(End::B), None);
    assert_eq!(pipe.poll_receive(End::A), None);
    assert_eq!(pipe.stats(End::A).dropped(DropReason::Mtu), 1);
    assert_eq!(pipe.stats(End::B).dropped(DropReason::Mtu), 1);
}

#[test]
fn directions_are_configured_independently() {
    let start = t0();
    let mut pipe: LossyPipe<bytes_like::Payload> = LossyPipe::with_directions(
        12,
        start,
        LinkConfig::with_delay(10 * MS),
        LinkConfig::with_delay(40 * MS),
    );
    pipe.send(start, End::A, bytes_like::Payload(vec![1]));
    pipe.send(start, End::B, bytes_like::Payload(vec![2]));
    assert_eq!(pipe.poll_timeout(), Some(start + 10 * MS));
    pipe.handle_timeout(start + 10 * MS);
    assert_eq!(
        pipe.poll_receive(End::B),
        Some(bytes_like::Payload(vec![1]))
    );
    assert_eq!(pipe.poll_receive(End::A), None);
    assert_eq!(pipe.poll_timeout(), Some(start + 40 * MS));
    pipe.handle_timeout(start + 40 * MS);
    assert_eq!(
        pipe.poll_receive(End::A),
        Some(bytes_like::Payload(vec![2]))
    );
    assert_eq!(pipe.in_flight(), 0);
}

/// Any `AsRef<[u8]> + Clone` payload type works.
mod bytes_like {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Payload(pub Vec<u8>);
    impl AsRef<[u8]> for Payload {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }
}

#[test]
fn pipe_is_deterministic_per_seed() {
    let config = LinkConfig {
        loss: Loss::bursty(0.05, 3.0),
        delay: 20 * MS,
        jitter: 15 * MS,
        reorder: 0.02,
        duplicate: 0.02,
        ..LinkConfig::default()
    };
    let trace = |seed| {
        let (got, _) = run_pipe(seed, config.clone(), 3000, 200, MS);
        let base = got[0].1;
        got.iter()
            .map(|(s, sent, at)| (*s, *sent - base, *at - base))
            .collect::<Vec<_>>()
    };
    assert_eq!(trace(42), trace(42));
    assert_ne!(trace(42), trace(43));
}

// ---- impairments inside a Network ----

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Host a behind a NAT, host b public; impairments on both hops; a sends `count` packets.
struct NetRun {
    start: Instant,
    got: Vec<Delivery>,
    net: Network,
    a: HostId,
    nat: NatId,
    b: HostId,
}

fn network_trace(seed: u64, count: u32) -> NetRun {
    let start = t0();
    let mut net = Network::new(seed, start);
    let a = net.add_host("10.0.0.2".parse().unwrap()).unwrap();
    let nat = net
        .add_nat(NatConfig::symmetric("203.0.113.1".parse().unwrap()), &[a])
        .unwrap();
    let b = net.add_host("198.51.100.7".parse().unwrap()).unwrap();
    let hop = LinkConfig {
        loss: Loss::Uniform(0.05),
        delay: 10 * MS,
        jitter: 5 * MS,
        duplicate: 0.02,
        ..LinkConfig::default()
    };
    net.set_link(a, nat, hop.clone()).unwrap();
    net.set_link(
        nat,
        b,
        LinkConfig {
            delay: 30 * MS,
            ..hop
        },
    )
    .unwrap();
    let mut now = start;
    let mut out = Vec::new();
    for i in 0..count {
        let d = Datagram {
            source: sa("10.0.0.2:5000"),
            destination: SocketAddr::new("198.51.100.7".parse().unwrap(), 3478 + (i % 3) as u16),
            payload: i.to_be_bytes().to_vec(),
        };
        net.send(now, a, d).unwrap();
        now += MS;
        net.handle_timeout(now);
        out.extend(std::iter::from_fn(|| net.poll_receive()));
    }
    while let Some(at) = net.poll_timeout() {
        net.handle_timeout(at);
        out.extend(std::iter::from_fn(|| net.poll_receive()));
    }
    assert!(out.iter().all(|d| d.host == b));
    NetRun {
        start,
        got: out,
        net,
        a,
        nat,
        b,
    }
}

#[test]
fn network_hops_add_up_and_stats_balance() {
    let NetRun {
        start,
        got,
        net,
        a,
        nat,
        b,
    } = network_trace(13, 5000);
    // Two hops: 10 + 30 ms of delay, up to 5 + 5 ms of jitter.
    for d in &got {
        let seq = u32::from_be_bytes(d.datagram.payload[..4].try_into().unwrap());
        let latency = d.at - (start + MS * seq);
        assert!(
            (40 * MS..=50 * MS).contains(&latency),
            "packet {seq}: {latency:?}"
        );
        assert_eq!(
            d.datagram.source.ip(),
            "203.0.113.1".parse::<std::net::IpAddr>().unwrap()
        );
    }
    let stats = net.stats();
    assert_eq!(stats.sent, 5000);
    assert_eq!(stats.delivered, got.len() as u64);
    assert_eq!(net.in_flight(), 0);
    // Conservation: every offered copy was delivered or dropped.
    assert_eq!(
        stats.sent + stats.duplicated,
        stats.delivered + stats.dropped_total()
    );
    // Loss applies on both hops: 1 - 0.95² ≈ 9.75 % of packets.
    let lost = stats.dropped(DropReason::Loss) as f64 / 5000.0;
    assert!((0.08..=0.12).contains(&lost), "loss {lost}");
    assert!(stats.duplicated > 0);
    // Each hop's link has its own counters; the second hop carries what the first delivered.
    let first = net.link_stats(a, nat).unwrap();
    let second = net.link_stats(nat, b).unwrap();
    assert_eq!(first.sent, 5000);
    assert_eq!(second.sent, first.delivered);
    assert_eq!(second.delivered, stats.delivered);
    assert_eq!(first.duplicated + second.duplicated, stats.duplicated);
    assert!(net.link_stats(b, nat).is_some_and(|s| s.sent == 0));
}

#[test]
fn network_is_deterministic_per_seed() {
    let trace = |seed| {
        let got = network_trace(seed, 2000).got;
        let base = got[0].at;
        got.into_iter()
            .map(|d| (d.at - base, d.datagram))
            .collect::<Vec<_>>()
    };
    assert_eq!(trace(99), trace(99));
    assert_ne!(trace(99), trace(100));
}
