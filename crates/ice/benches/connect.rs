//! ICE connection establishment, two agents with host candidates:
//! - `ice_connect_host_pair_in_memory`: from creation to both nominated, in memory on virtual
//!   time (the CPU cost of one establishment);
//! - `ice_connect_loopback_udp`: the wall-clock time from creation until both agents are
//!   `Connected`, on two real UDP sockets on 127.0.0.1 driven by one thread.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::indexing_slicing,
    clippy::needless_range_loop
)]

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use tern_ice::IceConnectionState;

use criterion::{Criterion, criterion_group, criterion_main};
use tern_ice::{IceAgent, IceConfig, IceCredentials};

fn connect(start: Instant) -> Duration {
    let ca = IceCredentials {
        ufrag: "aaaa".into(),
        pwd: "aaaaaaaaaaaaaaaaaaaaaaaa".into(),
    };
    let cb = IceCredentials {
        ufrag: "bbbb".into(),
        pwd: "bbbbbbbbbbbbbbbbbbbbbbbb".into(),
    };
    let mut a = IceAgent::new(IceConfig::with_credentials(true, ca.clone(), 1, 1), start);
    let mut b = IceAgent::new(IceConfig::with_credentials(false, cb.clone(), 2, 2), start);
    let (aa, ab) = (
        "127.0.0.1:5000".parse().unwrap(),
        "127.0.0.1:6000".parse().unwrap(),
    );
    let c1 = a.add_local_host_candidate(aa);
    let c2 = b.add_local_host_candidate(ab);
    a.set_remote_credentials(cb.ufrag, cb.pwd);
    b.set_remote_credentials(ca.ufrag, ca.pwd);
    a.add_remote_candidate(start, c2).unwrap();
    b.add_remote_candidate(start, c1).unwrap();
    let mut now = start;
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            let _ = b.handle_receive(now, t.destination, t.source, &t.data);
            moved = true;
        }
        while let Some(t) = b.poll_transmit() {
            let _ = a.handle_receive(now, t.destination, t.source, &t.data);
            moved = true;
        }
        if b.pairs().first().is_some_and(|p| p.nominated) && a.selected_pair().is_some() {
            return now - start;
        }
        if !moved {
            now = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .unwrap()
                .max(now);
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
    }
}

fn connected(a: &IceAgent) -> bool {
    matches!(
        a.connection_state(),
        IceConnectionState::Connected | IceConnectionState::Completed
    )
}

/// Two agents on real loopback sockets, one thread: wall time until both are `Connected`.
fn connect_loopback(seed: u64) -> Duration {
    let start = Instant::now();
    let sockets = [
        UdpSocket::bind("127.0.0.1:0").unwrap(),
        UdpSocket::bind("127.0.0.1:0").unwrap(),
    ];
    let addrs = [
        sockets[0].local_addr().unwrap(),
        sockets[1].local_addr().unwrap(),
    ];
    for s in &sockets {
        s.set_nonblocking(true).unwrap();
    }
    let creds = [IceCredentials::random(), IceCredentials::random()];
    let mut agents = [
        IceAgent::new(
            IceConfig::with_credentials(true, creds[0].clone(), seed, seed),
            start,
        ),
        IceAgent::new(
            IceConfig::with_credentials(false, creds[1].clone(), seed + 1, seed + 1),
            start,
        ),
    ];
    let cands = [
        agents[0].add_local_host_candidate(addrs[0]),
        agents[1].add_local_host_candidate(addrs[1]),
    ];
    for i in 0..2 {
        let other = 1 - i;
        agents[i].set_remote_credentials(creds[other].ufrag.clone(), creds[other].pwd.clone());
        agents[i]
            .add_remote_candidate(start, cands[other].clone())
            .unwrap();
    }
    let mut buf = [0u8; 1500];
    loop {
        for i in 0..2 {
            while let Some(t) = agents[i].poll_transmit() {
                sockets[i].send_to(&t.data, t.destination).unwrap();
            }
            while agents[i].poll_event().is_some() {}
        }
        if agents.iter().all(connected) {
            return start.elapsed();
        }
        let mut idle = true;
        for i in 0..2 {
            while let Ok((n, from)) = sockets[i].recv_from(&mut buf) {
                let _ = agents[i].handle_receive(Instant::now(), addrs[i], from, &buf[..n]);
                idle = false;
            }
            if agents[i]
                .poll_timeout()
                .is_some_and(|t| t <= Instant::now())
            {
                agents[i].handle_timeout(Instant::now());
                idle = false;
            }
        }
        if idle {
            std::thread::yield_now();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no connection");
    }
}

fn bench(c: &mut Criterion) {
    let start = Instant::now();
    c.bench_function("ice_connect_host_pair_in_memory", |b| {
        b.iter(|| connect(start))
    });
    let mut group = c.benchmark_group("loopback");
    group.sample_size(20);
    group.bench_function("ice_connect_loopback_udp", |b| {
        b.iter_custom(|iters| (0..iters).map(connect_loopback).sum())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
