//! Receive window and flow control (RFC 9260 §6.1, §6.2): a receiver whose application does
//! not read holds at most its window; the sender stops and resumes when the window opens.
//! Also heartbeats on an idle association, dead-peer detection, and zero-checksum
//! negotiation (RFC 9653).
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
use tern_sctp::{ChannelInit, CloseReason, MessageKind, SctpConfig, SctpEvent, StreamParity};

#[test]
fn slow_reader_bounds_memory_and_resumes() {
    let window = 256 * 1024;
    let cb = SctpConfig {
        receive_window: window,
        max_message_size: 64 * 1024,
        ..config(2, StreamParity::Odd)
    };
    let mut p = Pair::with_configs(
        config(1, StreamParity::Even),
        cb,
        LinkConfig::with_delay(Duration::from_millis(5)),
        1,
    );
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
    let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    let total = 200;
    for i in 0..total {
        p.a.send(p.now, id, &body(i, 10_000), MessageKind::Binary)
            .unwrap();
    }
    // Drive by hand: move packets, but never read b's events.
    let mut held = 0usize;
    for _ in 0..2000 {
        while let Some(pk) = p.a.poll_transmit() {
            let _ = p.b.handle_receive(p.now, &pk);
        }
        while let Some(pk) = p.b.poll_transmit() {
            let _ = p.a.handle_receive(p.now, &pk);
        }
        while p.a.poll_event().is_some() {}
        p.now += Duration::from_millis(10);
        p.a.handle_timeout(p.now);
        p.b.handle_timeout(p.now);
    }
    // b holds undelivered events: bounded by its window (plus at most one message).
    let mut events = Vec::new();
    while let Some(e) = p.b.poll_event() {
        events.push(e);
    }
    for e in &events {
        if let SctpEvent::Message { data, .. } = e {
            held += data.len();
        }
    }
    assert!(held <= window + 64 * 1024, "held {held} bytes");
    assert!(held >= window / 2, "the window was used: {held}");
    assert!(
        p.a.buffered_amount(id) > 0,
        "sender is blocked by the closed window"
    );
    // Reading opens the window; everything arrives, in order, exactly once.
    p.events_b.extend(events);
    assert!(
        p.run_until(Duration::from_secs(60), |p| messages(&p.events_b, id).len()
            == total)
    );
    for (i, (_, d)) in messages(&p.events_b, id).iter().enumerate() {
        assert_eq!(d[..], body(i, 10_000)[..]);
    }
}

#[test]
fn idle_association_stays_up_on_heartbeats() {
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(20)));
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
    p.run_until(Duration::from_secs(3600), |_| false);
    assert!(p.a.is_established() && p.b.is_established());
    assert!(p.a.srtt().is_some(), "heartbeat acks measured the RTT");
}

#[test]
fn dead_peer_is_detected() {
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(20)));
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
    let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    p.pipe.set_config(
        tern_netsim::End::A,
        LinkConfig {
            loss: Loss::Uniform(1.0),
            ..Default::default()
        },
    );
    p.pipe.set_config(
        tern_netsim::End::B,
        LinkConfig {
            loss: Loss::Uniform(1.0),
            ..Default::default()
        },
    );
    p.a.send(p.now, id, b"into the void", MessageKind::Text)
        .unwrap();
    assert!(p.run_until(Duration::from_secs(3600), |p| p.a.is_closed()));
    assert!(p.events_a.contains(&SctpEvent::Closed {
        reason: CloseReason::Timeout
    }));
}

#[test]
fn zero_checksum_only_when_both_offer_it() {
    for (za, zb) in [(true, true), (true, false), (false, true)] {
        let ca = SctpConfig {
            zero_checksum: za,
            ..config(1, StreamParity::Even)
        };
        let cb = SctpConfig {
            zero_checksum: zb,
            ..config(2, StreamParity::Odd)
        };
        let mut p = Pair::with_configs(ca, cb, LinkConfig::with_delay(Duration::from_millis(5)), 3);
        p.connect_both();
        assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
        assert_eq!(p.a.zero_checksum(), za && zb);
        assert_eq!(p.b.zero_checksum(), za && zb);
        let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
        p.a.send(p.now, id, b"x", MessageKind::Binary).unwrap();
        assert!(p.run_until(Duration::from_secs(5), |p| count_messages(&p.events_b) == 1));
    }
}
