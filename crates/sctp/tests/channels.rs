//! Data channels: DCEP open/ack, negotiated channels, close by stream reset, id reuse,
//! buffered amount and its low-threshold event, message size limits.
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
use tern_sctp::{ChannelId, ChannelInit, MessageKind, Reliability, SctpError, SctpEvent};

fn connected() -> Pair {
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(5)));
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
    p
}

fn remote_open(events: &[SctpEvent], id: ChannelId) -> bool {
    events.iter().any(
        |e| matches!(e, SctpEvent::ChannelOpen { id: i, remote_initiated: true, .. } if *i == id),
    )
}

fn closed(events: &[SctpEvent], id: ChannelId) -> bool {
    events.contains(&SctpEvent::ChannelClosed { id })
}

#[test]
fn open_announces_label_protocol_and_type() {
    let mut p = connected();
    let init = ChannelInit {
        label: "chat".into(),
        protocol: "json".into(),
        ordered: false,
        reliability: Reliability::MaxRetransmits(2),
        negotiated_id: None,
        priority: 512,
    };
    let id = p.a.open_channel(p.now, init.clone()).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| remote_open(&p.events_b, id)));
    let open = p.events_b.iter().find_map(|e| match e {
        SctpEvent::ChannelOpen {
            id,
            init,
            remote_initiated,
            label,
            protocol,
        } => Some((
            *id,
            init.clone(),
            *remote_initiated,
            label.clone(),
            protocol.clone(),
        )),
        _ => None,
    });
    let (rid, rinit, remote, label, protocol) = open.unwrap();
    assert_eq!(rid, id);
    assert!(remote);
    assert_eq!((label.as_str(), protocol.as_str()), ("chat", "json"));
    assert_eq!(rinit.reliability, Reliability::MaxRetransmits(2));
    assert!(!rinit.ordered);
    assert_eq!(rinit.priority, 512);
    // The opener announces its own channel too, not as remote.
    assert!(p.events_a.iter().any(
        |e| matches!(e, SctpEvent::ChannelOpen { id: i, remote_initiated: false, .. } if *i == id)
    ));
}

#[test]
fn negotiated_channel_needs_no_dcep() {
    let mut p = connected();
    let init = ChannelInit {
        negotiated_id: Some(7),
        label: "n".into(),
        ..Default::default()
    };
    let ia = p.a.open_channel(p.now, init.clone()).unwrap();
    let ib = p.b.open_channel(p.now, init).unwrap();
    assert_eq!((ia, ib), (ChannelId(7), ChannelId(7)));
    p.a.send(p.now, ia, b"x", MessageKind::Binary).unwrap();
    p.b.send(p.now, ib, b"y", MessageKind::Binary).unwrap();
    assert!(
        p.run_until(Duration::from_secs(2), |p| count_messages(&p.events_a) == 1
            && count_messages(&p.events_b) == 1)
    );
    // No remote-initiated open happened on either side.
    assert!(!p.events_b.iter().any(|e| matches!(
        e,
        SctpEvent::ChannelOpen {
            remote_initiated: true,
            ..
        }
    )));
    // The id is taken now.
    let dup = p.a.open_channel(
        p.now,
        ChannelInit {
            negotiated_id: Some(7),
            ..Default::default()
        },
    );
    assert_eq!(dup, Err(SctpError::ChannelIdUnavailable(7)));
}

#[test]
fn close_resets_both_directions_and_frees_the_id() {
    let mut p = connected();
    let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    for i in 0..20 {
        p.a.send(p.now, id, &body(i, 3000), MessageKind::Binary)
            .unwrap();
    }
    p.a.close_channel(p.now, id).unwrap();
    assert_eq!(
        p.a.send(p.now, id, b"late", MessageKind::Binary),
        Err(SctpError::ChannelClosing(id.0))
    );
    assert!(
        p.run_until(Duration::from_secs(5), |p| closed(&p.events_a, id)
            && closed(&p.events_b, id))
    );
    // Everything queued before close was delivered first, in order.
    let got = messages(&p.events_b, id);
    assert_eq!(got.len(), 20);
    for (i, (_, d)) in got.iter().enumerate() {
        assert_eq!(d[..], body(i, 3000)[..]);
    }
    // The stream id is reused, and the new channel's SSNs start over at 0.
    let again = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    assert_eq!(again, id);
    p.a.send(p.now, again, b"second life", MessageKind::Text)
        .unwrap();
    assert!(
        p.run_until(Duration::from_secs(2), |p| messages(&p.events_b, id).len()
            == 21)
    );
    assert!(p.a.is_established() && p.b.is_established());
}

#[test]
fn remote_close_is_mirrored() {
    let mut p = connected();
    let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    assert!(p.run_until(Duration::from_secs(1), |p| remote_open(&p.events_b, id)));
    p.b.close_channel(p.now, id).unwrap();
    assert!(
        p.run_until(Duration::from_secs(5), |p| closed(&p.events_a, id)
            && closed(&p.events_b, id))
    );
}

#[test]
fn buffered_amount_and_low_event() {
    let mut p = connected();
    let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    p.a.set_buffered_amount_low_threshold(id, 10_000);
    for _ in 0..10 {
        p.a.send(p.now, id, &[1; 20_000], MessageKind::Binary)
            .unwrap();
    }
    assert!(p.a.buffered_amount(id) >= 190_000);
    assert!(
        p.run_until(Duration::from_secs(10), |p| count_messages(&p.events_b)
            == 10)
    );
    assert_eq!(p.a.buffered_amount(id), 0);
    let lows = p
        .events_a
        .iter()
        .filter(|e| **e == SctpEvent::BufferedAmountLow { id })
        .count();
    assert_eq!(lows, 1, "one crossing, one event");
}

#[test]
fn message_size_limits() {
    let mut p = connected();
    let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    let too_big = vec![0; 262_145];
    assert!(matches!(
        p.a.send(p.now, id, &too_big, MessageKind::Binary),
        Err(SctpError::MessageTooLarge {
            size: 262_145,
            limit: 262_144
        })
    ));
    p.a.send(p.now, id, &too_big[..262_144], MessageKind::Binary)
        .unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| count_messages(&p.events_b)
            == 1)
    );
    assert_eq!(
        p.a.send(p.now, ChannelId(999), b"x", MessageKind::Binary),
        Err(SctpError::UnknownChannel(999))
    );
}

#[test]
fn send_before_connect_is_queued() {
    let mut p = Pair::new(LinkConfig::with_delay(Duration::from_millis(5)));
    let id = p.a.open_channel(p.now, ChannelInit::default()).unwrap();
    p.a.send(p.now, id, b"early", MessageKind::Text).unwrap();
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| count_messages(&p.events_b) == 1));
    assert_eq!(messages(&p.events_b, id)[0].1[..], b"early"[..]);
}

#[test]
fn stream_ids_stay_below_the_peers_inbound_streams() {
    let cb = tern_sctp::SctpConfig {
        streams: 16,
        ..config(2, tern_sctp::StreamParity::Odd)
    };
    let mut p = Pair::with_configs(
        config(1, tern_sctp::StreamParity::Even),
        cb,
        LinkConfig::with_delay(Duration::from_millis(5)),
        1,
    );
    p.connect_both();
    assert!(p.run_until(Duration::from_secs(5), |p| p.connected()));
    let too_high = ChannelInit {
        negotiated_id: Some(16),
        ..Default::default()
    };
    assert_eq!(
        p.a.open_channel(p.now, too_high),
        Err(SctpError::ChannelIdUnavailable(16))
    );
    let ids: Vec<_> = (0..8)
        .map(|_| p.a.open_channel(p.now, ChannelInit::default()).unwrap().0)
        .collect();
    assert_eq!(ids, vec![0, 2, 4, 6, 8, 10, 12, 14]);
    assert_eq!(
        p.a.open_channel(p.now, ChannelInit::default()),
        Err(SctpError::NoFreeStream)
    );
}
