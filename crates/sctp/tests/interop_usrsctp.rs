//! Interop with usrsctp (Debian `libusrsctp-dev`) over plain UDP on 127.0.0.1: the SCTP
//! packets are the UDP payloads, as usrsctp's AF_CONN lower layer carries them in WebRTC.
//! The peer is `tests/interop/usrsctp_echo.c`, built here with the system C compiler.
//! Run by `cargo xtask test-all` (suite `sctp-usrsctp`) with `--ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // real time and sockets: this test drives a real peer

mod interop;

use std::process::Command;
use std::time::{Duration, Instant};

use interop::*;
use tern_sctp::{ChannelId, ChannelInit, MessageKind, Reliability, SctpEvent};

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn usrsctp_data_channels() {
    let mut h = Harness::start(Command::new(build_usrsctp_peer()), "usrsctp", 1 << 20);
    assert!(
        h.pump_until(Duration::from_secs(10), |e| e
            .contains(&SctpEvent::Connected)),
        "no association with usrsctp"
    );

    // The peer opens channel 1 and greets us.
    assert!(h.pump_until(Duration::from_secs(5), |e| msgs(e, ChannelId(1)).len() == 1));
    assert!(h.events.iter().any(|e| matches!(e, SctpEvent::ChannelOpen { id: ChannelId(1), label, remote_initiated: true, .. } if label == "from-usrsctp")));
    assert_eq!(
        msgs(&h.events, ChannelId(1))[0],
        (MessageKind::Text, b"hello from usrsctp".to_vec())
    );

    // Reliable ordered: small messages, 64 KiB, 256 KiB, empty ones; echoed exactly, in order.
    let now = Instant::now();
    let rel = h
        .assoc
        .open_channel(
            now,
            ChannelInit {
                label: "reliable".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let mut sent = Vec::new();
    for i in 0..200 {
        let m = payload(i, 1 + i * 13 % 1500);
        h.assoc.send(now, rel, &m, MessageKind::Binary).unwrap();
        sent.push((MessageKind::Binary, m));
    }
    for (i, len) in [(1000, 65_536), (1001, 262_144), (1002, 0)] {
        let m = payload(i, len);
        h.assoc.send(now, rel, &m, MessageKind::Binary).unwrap();
        sent.push((MessageKind::Binary, m));
    }
    h.assoc.send(now, rel, b"", MessageKind::Text).unwrap();
    sent.push((MessageKind::Text, Vec::new()));
    h.assoc
        .send(now, rel, "héllo".as_bytes(), MessageKind::Text)
        .unwrap();
    sent.push((MessageKind::Text, "héllo".as_bytes().to_vec()));
    let n = sent.len();
    assert!(
        h.pump_until(Duration::from_secs(30), |e| msgs(e, rel).len() >= n),
        "echo incomplete: {}/{n}",
        msgs(&h.events, rel).len()
    );
    let echoed = msgs(&h.events, rel);
    let summary = |v: &[(MessageKind, Vec<u8>)]| {
        v.iter()
            .map(|(k, d)| format!("{k:?}:{}:{:02x?}", d.len(), d.get(..2)))
            .collect::<Vec<_>>()
    };
    if echoed != sent {
        let first = echoed.iter().zip(&sent).position(|(a, b)| a != b);
        panic!(
            "echo differs at {first:?}: got {} want {}\n got {:?}\nwant {:?}",
            echoed.len(),
            sent.len(),
            summary(&echoed[first.unwrap_or(0).saturating_sub(2)..]),
            summary(
                &sent[first.unwrap_or(0).saturating_sub(2)..sent.len().min(first.unwrap_or(0) + 3)]
            )
        );
    }

    // Unordered and partially reliable channels (no loss on loopback: all come back).
    let unordered = h
        .assoc
        .open_channel(
            Instant::now(),
            ChannelInit {
                ordered: false,
                ..Default::default()
            },
        )
        .unwrap();
    let rexmit = h
        .assoc
        .open_channel(
            Instant::now(),
            ChannelInit {
                reliability: Reliability::MaxRetransmits(0),
                ..Default::default()
            },
        )
        .unwrap();
    let timed = h
        .assoc
        .open_channel(
            Instant::now(),
            ChannelInit {
                ordered: false,
                reliability: Reliability::MaxPacketLifetime(Duration::from_millis(500)),
                ..Default::default()
            },
        )
        .unwrap();
    for id in [unordered, rexmit, timed] {
        for i in 0..50 {
            h.assoc
                .send(
                    Instant::now(),
                    id,
                    &payload(i, 100 + i),
                    MessageKind::Binary,
                )
                .unwrap();
        }
    }
    assert!(h.pump_until(Duration::from_secs(20), |e| {
        [unordered, rexmit, timed]
            .iter()
            .all(|id| msgs(e, *id).len() == 50)
    }));
    let mut got: Vec<_> = msgs(&h.events, unordered)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    got.sort();
    let mut want: Vec<_> = (0..50).map(|i| payload(i, 100 + i)).collect();
    want.sort();
    assert_eq!(got, want);

    // We close a channel: usrsctp resets its side too.
    h.assoc.close_channel(Instant::now(), rexmit).unwrap();
    assert!(
        h.pump_until(Duration::from_secs(10), |e| e
            .contains(&SctpEvent::ChannelClosed { id: rexmit })),
        "close by stream reset"
    );
    // usrsctp closes a channel: we mirror it.
    h.assoc
        .send(Instant::now(), timed, b"close-me", MessageKind::Text)
        .unwrap();
    assert!(
        h.pump_until(Duration::from_secs(10), |e| e
            .contains(&SctpEvent::ChannelClosed { id: timed })),
        "remote close"
    );
    // The reliable channel still works after the resets.
    h.assoc
        .send(Instant::now(), rel, b"after", MessageKind::Text)
        .unwrap();
    assert!(h.pump_until(Duration::from_secs(5), |e| msgs(e, rel).len() == n + 1));

    // Graceful shutdown.
    h.assoc.shutdown(Instant::now());
    assert!(h.pump_until(Duration::from_secs(10), |e| {
        e.iter().any(|e| matches!(e, SctpEvent::Closed { .. }))
    }));
    assert!(h.events.iter().any(|e| matches!(
        e,
        SctpEvent::Closed {
            reason: tern_sctp::CloseReason::Shutdown
        }
    )));
}
