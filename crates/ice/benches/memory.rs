//! Agent memory: the resident-set growth of 1,000 connected agents (500 pairs, host
//! candidates, connected in memory on virtual time), read from `/proc/self/statm` and printed
//! once; then the time to build and connect them (criterion).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::indexing_slicing,
    clippy::needless_range_loop
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tern_ice::{IceAgent, IceConfig, IceConnectionState, IceCredentials};

const AGENTS: usize = 1000;

/// Resident set size in bytes (Linux).
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `AGENTS / 2` pairs of agents, each pair connected (both `Connected` or `Completed`).
fn connected_agents(start: Instant) -> Vec<IceAgent> {
    let mut all = Vec::with_capacity(AGENTS);
    for n in 0..AGENTS / 2 {
        let creds = [IceCredentials::random(), IceCredentials::random()];
        let seed = n as u64 * 2;
        let mut pair = [
            IceAgent::new(
                IceConfig::with_credentials(true, creds[0].clone(), seed, seed),
                start,
            ),
            IceAgent::new(
                IceConfig::with_credentials(false, creds[1].clone(), seed + 1, seed + 1),
                start,
            ),
        ];
        let port = 10_000 + (n as u16) * 2;
        let addrs: [SocketAddr; 2] = [
            format!("10.0.0.1:{port}").parse().unwrap(),
            format!("10.0.0.2:{}", port + 1).parse().unwrap(),
        ];
        let cands = [
            pair[0].add_local_host_candidate(addrs[0]),
            pair[1].add_local_host_candidate(addrs[1]),
        ];
        for i in 0..2 {
            let o = 1 - i;
            pair[i].set_remote_credentials(creds[o].ufrag.clone(), creds[o].pwd.clone());
            pair[i]
                .add_remote_candidate(start, cands[o].clone())
                .unwrap();
            pair[i].end_of_local_candidates();
            pair[i].end_of_remote_candidates();
        }
        let mut now = start;
        for _ in 0..200 {
            for i in 0..2 {
                while let Some(t) = pair[i].poll_transmit() {
                    let _ = pair[1 - i].handle_receive(now, t.destination, t.source, &t.data);
                }
                while pair[i].poll_event().is_some() {}
            }
            let done = pair
                .iter()
                .all(|a| a.connection_state() == IceConnectionState::Completed);
            if done {
                break;
            }
            now += Duration::from_millis(10);
            for a in &mut pair {
                a.handle_timeout(now);
            }
        }
        assert!(pair.iter().all(|a| matches!(
            a.connection_state(),
            IceConnectionState::Connected | IceConnectionState::Completed
        )));
        all.extend(pair);
    }
    all
}

fn bench(c: &mut Criterion) {
    let start = Instant::now();
    // Measured first, in a fresh process, so freed memory of other runs does not hide growth.
    let before = rss();
    let agents = connected_agents(start);
    let after = rss();
    if let (Some(b), Some(a)) = (before, after) {
        let grown = a.saturating_sub(b);
        println!(
            "ice_agent_memory: {AGENTS} connected agents: RSS +{} KiB, {} bytes per agent \
             (size_of::<IceAgent>() = {} bytes)",
            grown / 1024,
            grown / AGENTS,
            std::mem::size_of::<IceAgent>()
        );
    }
    drop(agents);
    let mut group = c.benchmark_group("memory");
    group.sample_size(10);
    group.bench_function("ice_build_and_connect_1000_agents", |b| {
        b.iter(|| connected_agents(start).len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
