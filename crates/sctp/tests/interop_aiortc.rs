//! Interop with aiortc 1.16's own SCTP stack (Python, `$TERN_PYTHON` or the venv at
//! `/work/targets/venv`), SCTP over plain UDP on 127.0.0.1 through
//! `tests/interop/aiortc_echo.py`. Run by `cargo xtask test-all` with `--ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // real time: this test drives a real peer
mod interop;

use std::process::Command;
use std::time::{Duration, Instant};

use interop::*;
use tern_sctp::{ChannelId, ChannelInit, MessageKind, Reliability, SctpEvent};

fn python() -> String {
    std::env::var("TERN_PYTHON").unwrap_or_else(|_| "/work/targets/venv/bin/python".into())
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn aiortc_data_channels() {
    let mut cmd = Command::new(python());
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/aiortc_echo.py"
    ));
    // aiortc advertises a=max-message-size 262144.
    let mut h = Harness::start(cmd, "aiortc", 262_144);
    assert!(
        h.pump_until(Duration::from_secs(20), |e| e
            .contains(&SctpEvent::Connected)),
        "no association with aiortc"
    );

    // aiortc (DTLS server) opens an odd channel and greets us.
    assert!(
        h.pump_until(Duration::from_secs(10), |e| msgs(e, ChannelId(1)).len()
            == 1),
        "no greeting"
    );
    assert!(h.events.iter().any(|e| matches!(e, SctpEvent::ChannelOpen { id: ChannelId(1), label, remote_initiated: true, .. } if label == "from-aiortc")));
    assert_eq!(
        msgs(&h.events, ChannelId(1))[0],
        (MessageKind::Text, b"hello from aiortc".to_vec())
    );

    // Reliable ordered echo: small messages, 64 KiB, 256 KiB, empty binary and text.
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
    for i in 0..100 {
        let m = payload(i, 1 + i * 37 % 3000);
        h.assoc.send(now, rel, &m, MessageKind::Binary).unwrap();
        sent.push((MessageKind::Binary, m));
    }
    for (i, len) in [(1000, 65_536), (1001, 262_144), (1002, 0)] {
        let m = payload(i, len);
        h.assoc.send(now, rel, &m, MessageKind::Binary).unwrap();
        sent.push((MessageKind::Binary, m));
    }
    h.assoc
        .send(now, rel, "héllo".as_bytes(), MessageKind::Text)
        .unwrap();
    sent.push((MessageKind::Text, "héllo".as_bytes().to_vec()));
    let n = sent.len();
    assert!(
        h.pump_until(Duration::from_secs(60), |e| msgs(e, rel).len() >= n),
        "echo incomplete: {}/{n}",
        msgs(&h.events, rel).len()
    );
    let echoed = msgs(&h.events, rel);
    assert_eq!(echoed.len(), n);
    for (i, (got, want)) in echoed.iter().zip(&sent).enumerate() {
        assert!(
            got == want,
            "message {i}: got {:?}/{} want {:?}/{}",
            got.0,
            got.1.len(),
            want.0,
            want.1.len()
        );
    }

    // Unordered and partially reliable channels.
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
    for id in [unordered, rexmit] {
        for i in 0..30 {
            h.assoc
                .send(Instant::now(), id, &payload(i, 50 + i), MessageKind::Binary)
                .unwrap();
        }
    }
    assert!(
        h.pump_until(Duration::from_secs(20), |e| msgs(e, unordered).len() == 30
            && msgs(e, rexmit).len() == 30)
    );

    // Close from our side, then from aiortc's side.
    h.assoc.close_channel(Instant::now(), rexmit).unwrap();
    assert!(
        h.pump_until(Duration::from_secs(10), |e| e
            .contains(&SctpEvent::ChannelClosed { id: rexmit })),
        "close by stream reset"
    );
    h.assoc
        .send(Instant::now(), unordered, b"close-me", MessageKind::Text)
        .unwrap();
    assert!(
        h.pump_until(Duration::from_secs(10), |e| e
            .contains(&SctpEvent::ChannelClosed { id: unordered })),
        "remote close"
    );
    h.assoc
        .send(Instant::now(), rel, b"after", MessageKind::Text)
        .unwrap();
    assert!(h.pump_until(Duration::from_secs(5), |e| msgs(e, rel).len() == n + 1));
}

/// The same exchange with 10% of the packets dropped in each direction: reliable channels
/// still deliver everything exactly once and in order; a max-retransmits(0) channel comes
/// back as an in-order subset (aiortc honours our FORWARD-TSN); closing still works.
#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn aiortc_lossy_link() {
    let mut cmd = Command::new(python());
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/aiortc_echo.py"
    ));
    let mut h = Harness::start(cmd, "aiortc", 262_144);
    h.set_loss(0.10, 0xa10c);
    assert!(
        h.pump_until(Duration::from_secs(60), |e| e
            .contains(&SctpEvent::Connected)),
        "no association with aiortc under loss"
    );
    let open = |h: &mut Harness, ordered, reliability| {
        h.assoc
            .open_channel(
                Instant::now(),
                ChannelInit {
                    ordered,
                    reliability,
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let rel = open(&mut h, true, Reliability::Reliable);
    let rexmit = open(&mut h, true, Reliability::MaxRetransmits(0));
    let mut sent = Vec::new();
    for i in 0..100 {
        sent.push(payload(i, 1 + i * 37 % 3000));
    }
    sent.push(payload(1000, 65_536));
    sent.push(payload(1001, 262_144));
    let pr: Vec<Vec<u8>> = (0..200).map(|i| payload(i, 300 + i)).collect();
    for m in &sent {
        h.assoc
            .send(Instant::now(), rel, m, MessageKind::Binary)
            .unwrap();
    }
    for m in &pr {
        h.assoc
            .send(Instant::now(), rexmit, m, MessageKind::Binary)
            .unwrap();
    }
    assert!(
        h.pump_until(Duration::from_secs(120), |e| msgs(e, rel).len()
            >= sent.len()),
        "reliable echo under loss: {}/{}",
        msgs(&h.events, rel).len(),
        sent.len()
    );
    let echoed: Vec<Vec<u8>> = msgs(&h.events, rel).into_iter().map(|(_, d)| d).collect();
    assert!(echoed == sent, "reliable echo differs");
    h.pump_until(Duration::from_secs(5), |e| {
        msgs(e, rexmit).len() == pr.len()
    });
    let got: Vec<Vec<u8>> = msgs(&h.events, rexmit)
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    let mut rest = pr.iter();
    for m in &got {
        assert!(
            rest.any(|w| w == m),
            "partially reliable echo out of order or duplicated"
        );
    }
    eprintln!(
        "aiortc under loss: dropped {} packets; max-retransmits(0) echoed {}/{}; sent {:?}",
        h.dropped,
        got.len(),
        pr.len(),
        h.sent_chunks
    );
    assert!(
        got.len() < pr.len(),
        "no loss hit the partially reliable channel"
    );
    h.assoc.close_channel(Instant::now(), rexmit).unwrap();
    assert!(
        h.pump_until(Duration::from_secs(90), |e| e
            .contains(&SctpEvent::ChannelClosed { id: rexmit })),
        "close by stream reset under loss"
    );
    h.assoc
        .send(Instant::now(), rel, b"after", MessageKind::Text)
        .unwrap();
    assert!(
        h.pump_until(Duration::from_secs(60), |e| msgs(e, rel).len()
            == sent.len() + 1),
        "reliable channel after the reset"
    );
}
