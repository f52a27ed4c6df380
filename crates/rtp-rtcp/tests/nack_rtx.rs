//! NACK/RTX recovery across a link with 10 % loss in both directions and 100 ms RTT:
//! every media packet is delivered within its deadline.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use tern_rtp_rtcp::wire::rtp::RtpPacket;
use tern_rtp_rtcp::{Event, ReceiveStreamConfig, RtpSession, SendStreamConfig};

/// Playout deadline: a packet must arrive this long after it was handed to the sender.
const DEADLINE: Duration = Duration::from_millis(1000);

#[test]
fn every_packet_within_deadline_at_10_percent_loss() {
    run(false);
}

/// The same over `tern-netsim`'s link.
#[test]
fn every_packet_within_deadline_at_10_percent_loss_on_netsim() {
    run(true);
}

fn run(netsim: bool) {
    let t0 = base();
    let mut a = RtpSession::new(config(0xa, 1), t0, 1 << 32);
    let mut b = RtpSession::new(config(0xb, 2), t0, 5 << 32);
    let mut sc = SendStreamConfig::new(MEDIA_SSRC, 90_000);
    sc.rtx_ssrc = Some(RTX_SSRC);
    sc.rtx_payload_types = vec![(MEDIA_PT, RTX_PT)];
    a.add_send_stream(sc);
    let mut rc = ReceiveStreamConfig::new(MEDIA_SSRC, 90_000);
    rc.rtx_ssrc = Some(RTX_SSRC);
    rc.rtx_payload_types = vec![(RTX_PT, MEDIA_PT)];
    b.add_receive_stream(rc);

    let delay = Duration::from_millis(50);
    let (mut ab, mut ba): (Box<dyn Path>, Box<dyn Path>) = if netsim {
        (
            Box::new(NetsimPath::new(10_000_000, delay, 0.10, 1 << 20, t0, 11)),
            Box::new(NetsimPath::new(10_000_000, delay, 0.10, 1 << 20, t0, 12)),
        )
    } else {
        (
            Box::new(Link::new(10_000_000, delay, 0.10, 1 << 20, 11)),
            Box::new(Link::new(10_000_000, delay, 0.10, 1 << 20, 12)),
        )
    };
    let mut src = VideoSource::new(t0);
    let mut sent_at: BTreeMap<u16, Instant> = BTreeMap::new();
    let mut got: BTreeMap<u16, Instant> = BTreeMap::new();
    let mut repaired = 0;
    let stop_media = t0 + Duration::from_secs(20);
    let end = stop_media + Duration::from_secs(3);
    let mut now = t0;
    while now < end {
        if now >= src.next_frame && now < stop_media {
            for (seq, p) in src.frame(500_000) {
                sent_at.insert(seq, now);
                a.send_rtp(now, &p).unwrap();
            }
        }
        for t in ab.deliver(now) {
            input(&mut b, now, &t);
        }
        for t in ba.deliver(now) {
            input(&mut a, now, &t);
        }
        if a.poll_timeout().is_some_and(|t| t <= now) {
            a.handle_timeout(now);
        }
        if b.poll_timeout().is_some_and(|t| t <= now) {
            b.handle_timeout(now);
        }
        while let Some(t) = a.poll_transmit() {
            ab.send(now, t);
        }
        while let Some(t) = b.poll_transmit() {
            ba.send(now, t);
        }
        while a.poll_event().is_some() {}
        while let Some(e) = b.poll_event() {
            if let Event::Rtp(r) = e {
                let p = RtpPacket::new_checked(&r.packet[..]).unwrap();
                assert_eq!(p.ssrc(), MEDIA_SSRC);
                assert_eq!(p.payload_type(), MEDIA_PT);
                // the payload starts with the sequence number: RTX unwrapping is exact
                assert_eq!(&p.payload()[..2], &p.sequence_number().to_be_bytes());
                assert!(
                    got.insert(p.sequence_number(), now).is_none(),
                    "duplicate delivered"
                );
                repaired += usize::from(r.repaired);
            }
        }
        let next = [
            Some(src.next_frame),
            ab.next_delivery(),
            ba.next_delivery(),
            a.poll_timeout(),
            b.poll_timeout(),
            Some(now + Duration::from_millis(20)),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap();
        now = next.max(now + Duration::from_micros(100));
    }

    assert!(
        ab.dropped() > 50,
        "the link did lose packets ({})",
        ab.dropped()
    );
    let mut late = Vec::new();
    for (seq, s) in &sent_at {
        match got.get(seq) {
            Some(r) if *r - *s <= DEADLINE => {}
            other => late.push((*seq, other.map(|r| *r - *s))),
        }
    }
    println!(
        "sent {} media packets, {} lost on the link (incl. RTX/RTCP), {} repaired via RTX, late or missing: {:?}",
        sent_at.len(),
        ab.dropped(),
        repaired,
        late
    );
    assert!(repaired > 50);
    assert!(
        late.is_empty(),
        "{} packets missed the deadline: {late:?}",
        late.len()
    );
    let rs = b.receive_stream(MEDIA_SSRC).unwrap();
    assert!(rs.recovered as usize >= repaired - 5);
    assert!(a.rtt().is_some(), "RTT measured from SR/RR");
    let rtt = a.rtt().unwrap();
    assert!(
        rtt >= Duration::from_millis(99) && rtt < Duration::from_millis(140),
        "rtt {rtt:?}"
    );
}
