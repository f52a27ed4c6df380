//! BAD_INPUT row 25 across `tern-netsim`'s LossyPipe: 30 % loss, 10 % duplication, reordering,
//! jitter and a 576-byte MTU, on virtual time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // one real Instant as the origin of virtual time

mod common;

use std::time::{Duration, Instant};

use common::configs;
use tern_dtls::{DtlsEndpoint, DtlsEvent};
use tern_netsim::{End, LinkConfig, Loss, LossyPipe};

fn link() -> LinkConfig {
    LinkConfig {
        loss: Loss::Uniform(0.30),
        delay: Duration::from_millis(25),
        jitter: Duration::from_millis(20),
        reorder: 0.2,
        reorder_delay: Duration::from_millis(40),
        duplicate: 0.10,
        mtu: 576,
        ..LinkConfig::default()
    }
}

fn handshake_over_netsim(seed: u8, dtls13: bool) -> (DtlsEndpoint, DtlsEndpoint, Duration) {
    let start = Instant::now();
    let (mut c, mut s) = configs(seed);
    c.mtu = 576;
    s.mtu = 576;
    c.dtls13 = dtls13;
    s.dtls13 = dtls13;
    let mut client = DtlsEndpoint::new(c, start).unwrap();
    let mut server = DtlsEndpoint::new(s, start).unwrap();
    let mut pipe: LossyPipe = LossyPipe::new(u64::from(seed), start, link());
    let mut now = start;
    while now < start + Duration::from_secs(600) {
        while let Some(d) = client.poll_transmit() {
            assert!(d.len() <= 576);
            pipe.send(now, End::A, d);
        }
        while let Some(d) = server.poll_transmit() {
            assert!(d.len() <= 576);
            pipe.send(now, End::B, d);
        }
        for ev in std::iter::from_fn(|| client.poll_event())
            .chain(std::iter::from_fn(|| server.poll_event()))
        {
            assert!(!matches!(ev, DtlsEvent::Failed(_)), "seed {seed}: {ev:?}");
        }
        if client.is_connected() && server.is_connected() {
            break;
        }
        let next = [
            pipe.poll_timeout(),
            client.poll_timeout(),
            server.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { break };
        now = now.max(next);
        pipe.handle_timeout(now);
        while let Some(d) = pipe.poll_receive(End::B) {
            let _ = server.handle_receive(now, &d);
        }
        while let Some(d) = pipe.poll_receive(End::A) {
            let _ = client.handle_receive(now, &d);
        }
        client.handle_timeout(now);
        server.handle_timeout(now);
    }
    (client, server, now - start)
}

#[test]
fn bad_input_dtls_25_netsim_loss_dup_reorder_mtu576() {
    for seed in 0..16u8 {
        let (client, server, took) = handshake_over_netsim(seed, false);
        assert!(
            client.is_connected() && server.is_connected(),
            "seed {seed} after {took:?}"
        );
        assert_eq!(
            client
                .export_keying_material("EXTRACTOR-dtls_srtp", 60)
                .unwrap(),
            server
                .export_keying_material("EXTRACTOR-dtls_srtp", 60)
                .unwrap()
        );
    }
}

#[test]
fn bad_input_dtls_25_netsim_dtls13_loss_dup_reorder_mtu576() {
    for seed in 0..16u8 {
        let (client, server, took) = handshake_over_netsim(seed, true);
        assert!(
            client.is_connected() && server.is_connected(),
            "seed {seed} after {took:?}"
        );
        assert!(client.is_dtls13() && server.is_dtls13());
        assert_eq!(
            client
                .export_keying_material("EXTRACTOR-dtls_srtp", 60)
                .unwrap(),
            server
                .export_keying_material("EXTRACTOR-dtls_srtp", 60)
                .unwrap()
        );
    }
}
