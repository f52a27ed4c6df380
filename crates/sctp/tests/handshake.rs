//! Association setup: INIT/INIT-ACK/COOKIE-ECHO/COOKIE-ACK, collisions, loss, SHUTDOWN and ABORT.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod common;

use std::time::Duration;

use common::*;
use tern_netsim::LinkConfig;
use tern_sctp::{ChannelInit, MessageKind, SctpEvent};

#[test]
fn both_sides_connect_at_once() {
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(10)));
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
    assert!(p.a.is_established() && p.b.is_established());
    assert!(p.a.interleaving() && p.b.interleaving());
    assert!(p.a.zero_checksum() && p.b.zero_checksum());
}

#[test]
fn only_one_side_connects() {
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(10)));
    p.a.connect(p.now);
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
}

#[test]
fn one_side_connects_late() {
    // B answers A's INIT statelessly, then calls connect itself: the tags cross.
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(10)));
    p.a.connect(p.now);
    p.drain();
    p.run_until(Duration::from_millis(15), |_| false);
    p.b.connect(p.now);
    assert!(p.run_until(Duration::from_secs(10), |p| p.connected()));
    let id =
        p.a.open_channel(
            p.now,
            ChannelInit {
                label: "x".into(),
                ..Default::default()
            },
        )
        .unwrap();
    p.a.send(p.now, id, b"hi", MessageKind::Text).unwrap();
    assert!(p.run_until(Duration::from_secs(5), |p| count_messages(&p.events_b) == 1));
}

#[test]
fn handshake_survives_loss() {
    for seed in 0..10 {
        let link = LinkConfig {
            loss: tern_netsim::Loss::Uniform(0.3),
            delay: Duration::from_millis(20),
            ..Default::default()
        };
        let mut p = Pair::with_configs(
            config(3, tern_sctp::StreamParity::Even),
            config(4, tern_sctp::StreamParity::Odd),
            link,
            seed,
        );
        p.connect_both();
        assert!(
            p.run_until(Duration::from_secs(120), |p| p.connected()),
            "seed {seed}"
        );
    }
}

#[test]
fn graceful_shutdown() {
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(5)));
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
    let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    p.a.send(p.now, id, &[7; 5000], MessageKind::Binary)
        .unwrap();
    p.a.shutdown(p.now);
    assert!(p.run_until(Duration::from_secs(10), |p| p.a.is_closed()
        && p.b.is_closed()));
    assert_eq!(count_messages(&p.events_b), 1);
    assert!(p.events_a.iter().any(|e| matches!(
        e,
        SctpEvent::Closed {
            reason: tern_sctp::CloseReason::Shutdown
        }
    )));
    assert!(p.events_b.iter().any(|e| matches!(
        e,
        SctpEvent::Closed {
            reason: tern_sctp::CloseReason::Shutdown
        }
    )));
}

#[test]
fn abort_closes_peer() {
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(5)));
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
    p.a.abort();
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.is_closed()));
    assert!(p.events_b.iter().any(|e| matches!(
        e,
        SctpEvent::Closed {
            reason: tern_sctp::CloseReason::PeerAbort { cause: Some(12) }
        }
    )));
}
