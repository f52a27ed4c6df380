//! Reliable ordered throughput of 65535-byte messages between two associations in one
//! process (pure protocol cost: no DTLS, no sockets, zero-delay link).
#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tern_sctp::{
    Association, ChannelId, ChannelInit, MessageKind, SctpConfig, SctpEvent, StreamParity,
};

const MESSAGE: usize = 65_535;
const BATCH: usize = 64;

struct Pair {
    a: Association,
    b: Association,
    now: Instant,
    id: ChannelId,
}

impl Pair {
    fn new() -> Self {
        #[allow(clippy::disallowed_methods)] // base of the virtual clock
        let now = Instant::now();
        let mut a = Association::new(
            SctpConfig {
                seed: Some([1; 32]),
                ..SctpConfig::default()
            },
            now,
        );
        let mut b = Association::new(
            SctpConfig {
                seed: Some([2; 32]),
                stream_parity: StreamParity::Odd,
                ..SctpConfig::default()
            },
            now,
        );
        a.connect(now);
        b.connect(now);
        let id = a.open_channel(now, ChannelInit::default()).unwrap();
        let mut p = Pair { a, b, now, id };
        p.pump(0);
        p
    }

    /// Shuttle packets (advancing virtual time to the next timer when quiet) until `want`
    /// messages reached b, or the setup is done when `want` is 0.
    fn pump(&mut self, want: usize) -> usize {
        let mut got = 0;
        for _ in 0..10_000 {
            let mut any = false;
            while let Some(p) = self.a.poll_transmit() {
                let _ = self.b.handle_receive(self.now, &p);
                any = true;
            }
            while let Some(p) = self.b.poll_transmit() {
                let _ = self.a.handle_receive(self.now, &p);
                any = true;
            }
            while let Some(e) = self.b.poll_event() {
                if let SctpEvent::Message { data, .. } = e {
                    got += 1;
                    assert_eq!(data.len(), MESSAGE);
                }
            }
            while self.a.poll_event().is_some() {}
            if got >= want && (want > 0 || !any) {
                return got;
            }
            if !any {
                // Delayed SACKs: advance virtual time to the next timer.
                let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                let Some(t) = next else { return got };
                self.now = self.now.max(t);
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
            }
        }
        panic!("stalled after {got} of {want} messages");
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sctp");
    g.throughput(Throughput::Bytes((MESSAGE * BATCH) as u64));
    g.sample_size(20);
    let payload = Bytes::from(vec![0x5a; MESSAGE]);
    let mut pair = Pair::new();
    g.bench_function("reliable_ordered_65535x64", |bench| {
        bench.iter(|| {
            for _ in 0..BATCH {
                pair.a
                    .send_bytes(pair.now, pair.id, payload.clone(), MessageKind::Binary)
                    .unwrap();
            }
            let got = pair.pump(BATCH);
            assert_eq!(got, BATCH);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
