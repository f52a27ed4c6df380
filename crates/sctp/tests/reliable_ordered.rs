//! The integrator's slice: handshake, both sides opening channels at once, and a reliable
//! ordered channel carrying 1,000 small messages, a 256 KiB and a 1 MiB message exactly once
//! and in order — over a clean link and over lossy, reordering, duplicating ones.
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
use tern_sctp::{ChannelInit, MessageKind, SctpConfig, SctpEvent, StreamParity};

fn big_config(seed: u8, parity: StreamParity) -> SctpConfig {
    SctpConfig {
        max_message_size: 2 << 20,
        remote_max_message_size: 2 << 20,
        ..config(seed, parity)
    }
}

fn run_slice(link: LinkConfig, seed: u64, interleaving: bool, limit: Duration) {
    let mut ca = big_config(1, StreamParity::Even);
    let mut cb = big_config(2, StreamParity::Odd);
    ca.interleaving = interleaving;
    cb.interleaving = interleaving;
    let mut p = Pair::with_configs(ca, cb, link, seed);
    p.connect_both();
    // Both sides open a channel before the association is up.
    let ida =
        p.a.open_channel(
            p.now,
            ChannelInit {
                label: "from-a".into(),
                protocol: "p".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let idb =
        p.b.open_channel(
            p.now,
            ChannelInit {
                label: "from-b".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ida.0 % 2, 0, "DTLS client uses even ids");
    assert_eq!(idb.0 % 2, 1, "DTLS server uses odd ids");

    let mut expected = Vec::new();
    for i in 0..1000 {
        let m = body(i, 1 + i % 200);
        p.a.send(p.now, ida, &m, MessageKind::Binary).unwrap();
        expected.push(m);
    }
    for (i, len) in [(1000, 256 * 1024), (1001, 1 << 20)] {
        let m = body(i, len);
        p.a.send(p.now, ida, &m, MessageKind::Binary).unwrap();
        expected.push(m);
    }
    p.b.send(p.now, idb, b"hello from b", MessageKind::Text)
        .unwrap();
    p.b.send(p.now, idb, b"", MessageKind::Text).unwrap();

    let n = expected.len();
    let done = p.run_until(limit, |p| {
        messages(&p.events_b, ida).len() >= n && messages(&p.events_a, idb).len() >= 2
    });
    assert!(
        done,
        "timed out: b got {} of {n}, a got {}",
        messages(&p.events_b, ida).len(),
        messages(&p.events_a, idb).len()
    );
    let got = messages(&p.events_b, ida);
    assert_eq!(got.len(), n);
    for (i, (kind, data)) in got.iter().enumerate() {
        assert_eq!(*kind, MessageKind::Binary);
        assert!(
            data[..] == expected[i][..],
            "message {i} differs (len {} vs {})",
            data.len(),
            expected[i].len()
        );
    }
    let back = messages(&p.events_a, idb);
    assert_eq!(
        back[0],
        (
            MessageKind::Text,
            bytes::Bytes::from_static(b"hello from b")
        )
    );
    assert_eq!(back[1], (MessageKind::Text, bytes::Bytes::new()));
    // Both channels were announced on both sides.
    let opens_b: Vec<_> = p
        .events_b
        .iter()
        .filter_map(|e| match e {
            SctpEvent::ChannelOpen {
                id,
                label,
                remote_initiated,
                ..
            } => Some((*id, label.clone(), *remote_initiated)),
            _ => None,
        })
        .collect();
    assert!(opens_b.contains(&(ida, "from-a".to_string(), true)));
    assert!(opens_b.contains(&(idb, "from-b".to_string(), false)));
    // Settle: nothing left buffered, still established.
    p.run_until(Duration::from_secs(5), |p| p.a.buffered_amount(ida) == 0);
    assert_eq!(p.a.buffered_amount(ida), 0);
    assert!(p.a.is_established() && p.b.is_established());
}

#[test]
fn clean_link() {
    run_slice(
        LinkConfig::with_delay(Duration::from_millis(10)),
        1,
        true,
        Duration::from_secs(60),
    );
}

#[test]
fn clean_link_without_interleaving() {
    run_slice(
        LinkConfig::with_delay(Duration::from_millis(10)),
        1,
        false,
        Duration::from_secs(60),
    );
}

#[test]
fn lossy_reordering_duplicating_link() {
    let link = LinkConfig {
        loss: Loss::Uniform(0.1),
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(30),
        reorder: 0.05,
        duplicate: 0.05,
        mtu: 1200,
        ..Default::default()
    };
    for seed in [3, 4] {
        run_slice(link.clone(), seed, seed % 2 == 0, Duration::from_secs(600));
    }
}
