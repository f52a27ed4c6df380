//! RFC 3758 partial reliability and RFC 8260 interleaving over impaired links.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod common;

use std::time::Duration;

use common::*;
use tern_netsim::{LinkConfig, Loss};
use tern_sctp::{ChannelInit, MessageKind, Reliability, SctpConfig, StreamParity};

fn lossy(loss: f64) -> LinkConfig {
    LinkConfig {
        loss: Loss::Uniform(loss),
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(10),
        mtu: 1200,
        ..Default::default()
    }
}

fn check_subsequence(got: &[Vec<u8>], n: usize, ordered: bool) {
    // Every delivered message is one that was sent, at most once; in order when ordered.
    let mut seen = std::collections::HashSet::new();
    let mut last = None;
    for m in got {
        let i = u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize;
        assert!(i < n);
        assert_eq!(m[..], body(i, m.len())[..]);
        assert!(seen.insert(i), "message {i} delivered twice");
        if ordered {
            assert!(
                last.is_none_or(|l| l < i),
                "out of order: {i} after {last:?}"
            );
        }
        last = Some(i);
    }
}

fn run(reliability: Reliability, ordered: bool, loss: f64, interleaving: bool) -> (usize, usize) {
    let mut ca = config(1, StreamParity::Even);
    let mut cb = config(2, StreamParity::Odd);
    ca.interleaving = interleaving;
    cb.interleaving = interleaving;
    let mut p = Pair::with_configs(ca, cb, lossy(loss), 11);
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(30), |p| p.connected()));
    let id =
        p.a.open_channel(
            p.now,
            ChannelInit {
                ordered,
                reliability,
                ..Default::default()
            },
        )
        .unwrap();
    // Let the OPEN/ACK complete so unordered sends are really unordered.
    p.run_until(Duration::from_secs(5), |_| false);
    let n = 300;
    for i in 0..n {
        p.a.send(p.now, id, &body(i, 4 + (i % 7) * 300), MessageKind::Binary)
            .unwrap();
        p.run_until(Duration::from_millis(10), |_| false);
    }
    // Then the sender goes idle; abandoned messages are skipped via FORWARD-TSN.
    p.run_until(Duration::from_secs(120), |p| p.a.buffered_amount(id) == 0);
    p.run_until(Duration::from_secs(60), |_| false);
    let got: Vec<Vec<u8>> = messages(&p.events_b, id)
        .into_iter()
        .map(|(_, d)| d.to_vec())
        .collect();
    check_subsequence(&got, n, ordered);
    assert!(p.a.is_established() && p.b.is_established());
    (got.len(), n)
}

#[test]
fn max_retransmits_zero_drops_only_lost_messages() {
    for interleaving in [false, true] {
        let (got, n) = run(Reliability::MaxRetransmits(0), true, 0.1, interleaving);
        assert!(
            got < n,
            "10% loss with no retransmission must lose something"
        );
        assert!(got > n / 2, "but most messages arrive: {got}/{n}");
    }
}

#[test]
fn max_retransmits_unordered() {
    let (got, n) = run(Reliability::MaxRetransmits(1), false, 0.1, true);
    assert!(got > n * 8 / 10, "{got}/{n}");
}

#[test]
fn max_packet_lifetime() {
    let (got, n) = run(
        Reliability::MaxPacketLifetime(Duration::from_millis(50)),
        true,
        0.1,
        false,
    );
    assert!(got < n && got > n / 2, "{got}/{n}");
}

#[test]
fn reliable_unordered_delivers_everything() {
    let (got, n) = run(Reliability::Reliable, false, 0.1, true);
    assert_eq!(got, n);
}

#[test]
fn interleaving_avoids_head_of_line_blocking() {
    // A 1 MiB message on one channel, then a small one on another: with I-DATA the small
    // one arrives long before the large one completes.
    let mk = |seed, parity, il| SctpConfig {
        max_message_size: 2 << 20,
        remote_max_message_size: 2 << 20,
        interleaving: il,
        ..config(seed, parity)
    };
    let mut order = Vec::new();
    for il in [true, false] {
        let link = LinkConfig {
            delay: Duration::from_millis(20),
            ..Default::default()
        };
        let mut p = Pair::with_configs(
            mk(1, StreamParity::Even, il),
            mk(2, StreamParity::Odd, il),
            link,
            5,
        );
        p.connect_both();
        assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
        let big = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
        let small = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
        p.run_until(Duration::from_secs(1), |_| false);
        p.a.send(p.now, big, &body(0, 1 << 20), MessageKind::Binary)
            .unwrap();
        p.run_until(Duration::from_millis(50), |_| false);
        p.a.send(p.now, small, &body(1, 10), MessageKind::Binary)
            .unwrap();
        assert!(
            p.run_until(Duration::from_secs(30), |p| count_messages(&p.events_b)
                == 2)
        );
        let first = p.events_b.iter().find_map(|e| match e {
            tern_sctp::SctpEvent::Message { id, .. } => Some(*id),
            _ => None,
        });
        order.push(first == Some(small));
    }
    assert_eq!(
        order,
        vec![true, false],
        "I-DATA: small first; DATA: blocked behind the large one"
    );
}
