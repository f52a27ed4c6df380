//! Two agents (host candidates) from creation to both nominated, in memory on virtual time:
//! the CPU cost of one ICE connection establishment.
#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)]

use std::time::{Duration, Instant};

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

fn bench(c: &mut Criterion) {
    let start = Instant::now();
    c.bench_function("ice_connect_host_pair_in_memory", |b| {
        b.iter(|| connect(start))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
