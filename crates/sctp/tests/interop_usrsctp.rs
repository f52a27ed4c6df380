//! Interop with usrsctp (Debian `libusrsctp-dev`) over plain UDP on 127.0.0.1: the SCTP
//! packets are the UDP payloads, as usrsctp's AF_CONN lower layer carries them in WebRTC.
//! The peer is `tests/interop/usrsctp_echo.c`, built here with the system C compiler.
//! Run by `cargo xtask test-all` (suite `sctp-usrsctp`) with `--ignored`.
//!
//! Four sessions: plain DATA and I-DATA (RFC 8260, usrsctp started with `idata`), each on a
//! clean loopback and with 10% of the packets dropped in both directions.
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

/// Chunk types (RFC 9260 §3.2, RFC 3758 §3.2, RFC 8260 §2.1, §2.3).
const DATA: u8 = 0;
const FORWARD_TSN: u8 = 192;
const I_DATA: u8 = 64;
const I_FORWARD_TSN: u8 = 194;

fn start(idata: bool) -> Harness {
    let mut cmd = Command::new(build_usrsctp_peer());
    if idata {
        cmd.arg("idata");
    }
    let mut h = Harness::start(cmd, "usrsctp", 1 << 20);
    assert!(
        h.pump_until(Duration::from_secs(20), |e| e
            .contains(&SctpEvent::Connected)),
        "no association with usrsctp"
    );
    assert_eq!(
        h.assoc.interleaving(),
        idata,
        "I-DATA negotiated exactly when usrsctp offers it"
    );
    // The peer opens channel 1 and greets us.
    assert!(
        h.pump_until(Duration::from_secs(10), |e| msgs(e, ChannelId(1)).len()
            == 1),
        "no greeting"
    );
    assert!(h.events.iter().any(|e| matches!(e, SctpEvent::ChannelOpen { id: ChannelId(1), label, remote_initiated: true, .. } if label == "from-usrsctp")));
    assert_eq!(
        msgs(&h.events, ChannelId(1))[0],
        (MessageKind::Text, b"hello from usrsctp".to_vec())
    );
    h
}

fn open(h: &mut Harness, ordered: bool, reliability: Reliability) -> ChannelId {
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
}

fn summary(v: &[(MessageKind, Vec<u8>)]) -> Vec<String> {
    v.iter()
        .map(|(k, d)| format!("{k:?}:{}:{:02x?}", d.len(), d.get(..2)))
        .collect()
}

/// Reliable ordered: small messages, 64 KiB, 256 KiB, empty ones, text; echoed exactly once,
/// in order. Returns the channel and how many messages it has carried.
fn reliable_ordered_echo(h: &mut Harness, small: usize, limit: Duration) -> (ChannelId, usize) {
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
    for i in 0..small {
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
        h.pump_until(limit, |e| msgs(e, rel).len() >= n),
        "echo incomplete: {}/{n}",
        msgs(&h.events, rel).len()
    );
    let echoed = msgs(&h.events, rel);
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
    (rel, n)
}

/// Messages per channel in `partially_reliable_echo`: enough packets that 10% loss is sure
/// to hit the partially reliable ones.
const PR_MESSAGES: usize = 200;

/// Sends `PR_MESSAGES` messages on each of an unordered reliable, an ordered
/// max-retransmits(0) and an unordered lifetime channel (500 ms, or 50 ms under loss).
/// Returns the channel ids and what each echoed.
fn partially_reliable_echo(h: &mut Harness, lossy: bool) -> ([ChannelId; 3], [Vec<Vec<u8>>; 3]) {
    let unordered = open(h, false, Reliability::Reliable);
    let rexmit = open(h, true, Reliability::MaxRetransmits(0));
    let timed = open(
        h,
        false,
        // Under loss a short lifetime abandons unordered messages too, which I-FORWARD-TSN
        // then reports with the U flag (RFC 8260 §2.3.1).
        Reliability::MaxPacketLifetime(Duration::from_millis(if lossy { 50 } else { 500 })),
    );
    let ids = [unordered, rexmit, timed];
    let want: Vec<Vec<u8>> = (0..PR_MESSAGES).map(|i| payload(i, 300 + i)).collect();
    for id in ids {
        for m in &want {
            h.assoc
                .send(Instant::now(), id, m, MessageKind::Binary)
                .unwrap();
        }
    }
    // The reliable channel must come back whole. The others settle: on loopback too a burst
    // can overflow a UDP receive buffer, and such a loss abandons a max-retransmits(0) message.
    let all_back = |e: &[SctpEvent]| ids.iter().all(|id| msgs(e, *id).len() == PR_MESSAGES);
    assert!(
        h.pump_until(Duration::from_secs(if lossy { 60 } else { 20 }), |e| {
            msgs(e, unordered).len() == PR_MESSAGES
        }),
        "reliable unordered: {}/{PR_MESSAGES}",
        msgs(&h.events, unordered).len()
    );
    h.pump_until(Duration::from_secs(5), all_back);
    let got = ids.map(|id| {
        msgs(&h.events, id)
            .into_iter()
            .map(|(_, d)| d)
            .collect::<Vec<_>>()
    });
    // Reliable unordered: every message exactly once, any order.
    let mut set = got[0].clone();
    set.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(set, want_sorted, "reliable unordered");
    // max-retransmits(0), ordered: an in-order subsequence of what we sent, no duplicates.
    let mut rest = want.iter();
    for m in &got[1] {
        assert!(
            rest.any(|w| w == m),
            "ordered partially reliable echo out of order or duplicated"
        );
    }
    // Lifetime, unordered: a subset, each at most once.
    let mut timed_got = got[2].clone();
    timed_got.sort();
    let before = timed_got.len();
    timed_got.dedup();
    assert_eq!(
        before,
        timed_got.len(),
        "timed channel duplicated a message"
    );
    assert!(timed_got.iter().all(|m| want.contains(m)));
    (ids, got)
}

/// We close one channel, usrsctp closes another, the reliable one still works, then SHUTDOWN.
/// `limit` bounds each step: under 10% loss the retransmission timer backs off to seconds
/// (RFC 9260 §6.3.3 E2) while only FORWARD-TSNs and resets are outstanding.
fn close_and_shutdown(
    h: &mut Harness,
    rel: ChannelId,
    n: usize,
    ours: ChannelId,
    theirs: ChannelId,
    limit: Duration,
) {
    h.assoc.close_channel(Instant::now(), ours).unwrap();
    assert!(
        h.pump_until(limit, |e| e
            .contains(&SctpEvent::ChannelClosed { id: ours })),
        "close by stream reset: sent {:?} received {:?}",
        h.sent_chunks,
        h.received_chunks
    );
    // usrsctp resets its stream on "close-me" and we mirror it. `theirs` is partially
    // reliable, so on a lossy link the message may be abandoned: say it again until it lands.
    let deadline = Instant::now() + limit;
    let closed = |e: &[SctpEvent]| e.contains(&SctpEvent::ChannelClosed { id: theirs });
    while !closed(&h.events) && Instant::now() < deadline {
        let _ = h
            .assoc
            .send(Instant::now(), theirs, b"close-me", MessageKind::Text);
        h.pump_until(Duration::from_secs(2), closed);
    }
    assert!(closed(&h.events), "remote close");
    h.assoc
        .send(Instant::now(), rel, b"after", MessageKind::Text)
        .unwrap();
    assert!(
        h.pump_until(limit, |e| msgs(e, rel).len() == n + 1),
        "reliable channel after the resets"
    );
    h.assoc.shutdown(Instant::now());
    assert!(
        h.pump_until(limit, |e| {
            e.iter().any(|e| matches!(e, SctpEvent::Closed { .. }))
        }),
        "no SHUTDOWN-COMPLETE"
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        SctpEvent::Closed {
            reason: tern_sctp::CloseReason::Shutdown
        }
    )));
}

fn clean_session(idata: bool) {
    let mut h = start(idata);
    let (rel, n) = reliable_ordered_echo(&mut h, 200, Duration::from_secs(30));
    let ([_, rexmit, timed], _) = partially_reliable_echo(&mut h, false);
    // Only the negotiated data chunk type is used, in both directions.
    let (data, other) = if idata {
        (I_DATA, DATA)
    } else {
        (DATA, I_DATA)
    };
    assert!(h.received_chunks.get(&data).copied().unwrap_or(0) > 300);
    assert_eq!(
        h.received_chunks.get(&other),
        None,
        "{:?}",
        h.received_chunks
    );
    assert_eq!(h.sent_chunks.get(&other), None, "{:?}", h.sent_chunks);
    close_and_shutdown(&mut h, rel, n, rexmit, timed, Duration::from_secs(20));
}

fn lossy_session(idata: bool) {
    let mut h = start(idata);
    h.set_loss(0.10, if idata { 0x1da7a } else { 0xda7a });
    let (rel, n) = reliable_ordered_echo(&mut h, 300, Duration::from_secs(120));
    let ([_, rexmit, timed], got) = partially_reliable_echo(&mut h, true);
    let fwd = if idata { I_FORWARD_TSN } else { FORWARD_TSN };
    eprintln!(
        "lossy {}: dropped {} packets; max-retransmits(0) echoed {}/{PR_MESSAGES}, lifetime {}/{PR_MESSAGES}; \
         sent {:?}, received {:?}",
        if idata { "I-DATA" } else { "DATA" },
        h.dropped,
        got[1].len(),
        got[2].len(),
        h.sent_chunks,
        h.received_chunks
    );
    // With 10% loss each way some max-retransmits(0) messages are abandoned, which takes a
    // FORWARD-TSN (or I-FORWARD-TSN) that usrsctp must honour for the later ones to arrive.
    assert!(
        got[1].len() < PR_MESSAGES,
        "no loss hit the max-retransmits(0) channel"
    );
    assert!(
        h.sent_chunks.get(&fwd).copied().unwrap_or(0) > 0,
        "no forward-TSN sent: {:?}",
        h.sent_chunks
    );
    close_and_shutdown(&mut h, rel, n, rexmit, timed, Duration::from_secs(90));
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn usrsctp_data_channels() {
    clean_session(false);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn usrsctp_data_channels_i_data() {
    clean_session(true);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn usrsctp_lossy_link() {
    lossy_session(false);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn usrsctp_lossy_link_i_data() {
    lossy_session(true);
}

/// With I-DATA a small message on one channel is not stuck behind a 1 MiB message on
/// another, in either direction through usrsctp: its echo comes back before the large echo.
#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn usrsctp_i_data_no_head_of_line_blocking() {
    let mut h = start(true);
    let big = open(&mut h, true, Reliability::Reliable);
    let small = open(&mut h, true, Reliability::Reliable);
    let large = payload(7, 1 << 20);
    h.assoc
        .send(Instant::now(), big, &large, MessageKind::Binary)
        .unwrap();
    h.pump_until(Duration::from_millis(20), |_| false);
    h.assoc
        .send(Instant::now(), small, b"small", MessageKind::Text)
        .unwrap();
    assert!(
        h.pump_until(Duration::from_secs(30), |e| msgs(e, big).len() == 1
            && msgs(e, small).len() == 1),
        "echoes incomplete"
    );
    let order: Vec<ChannelId> = h
        .events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::Message { id, .. } if *id == big || *id == small => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(order, vec![small, big], "small echo first");
    assert_eq!(msgs(&h.events, big)[0].1, large);
}
