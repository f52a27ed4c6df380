//! RFC 6525 stream reset details, driven by a hand-built peer: "In progress" answers, and
//! retransmitted requests, on both the requesting and the responding side.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod raw;

use std::time::Duration;

use raw::*;
use tern_sctp::wire::chunk::{self, chunk_type};
use tern_sctp::wire::reconfig::{self, ReconfigParam, result};
use tern_sctp::wire::{ChecksumPolicy, Chunk, Packet};
use tern_sctp::{ChannelId, ChannelInit, SctpEvent};

/// Every Re-configuration parameter the association sent since the last call, as
/// (request or response sequence number, kind, last TSN or result).
fn sent_reconfig(r: &mut RawPeer) -> Vec<(u32, &'static str, u32)> {
    let mut out = Vec::new();
    for p in r.take_sent() {
        let pkt = Packet::parse(&p, ChecksumPolicy::AcceptZero).unwrap();
        for c in pkt.chunks() {
            if let Ok(Chunk::ReConfig { params }) = c {
                for param in reconfig::params(params) {
                    match param {
                        ReconfigParam::OutgoingReset {
                            request_seq,
                            last_tsn,
                            ..
                        } => out.push((request_seq, "request", last_tsn)),
                        ReconfigParam::Response {
                            response_seq,
                            result,
                        } => out.push((response_seq, "response", result)),
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

fn reconfig_packet(r: &RawPeer, params: &[u8]) -> Vec<u8> {
    packet(r.peer_tag, |o| {
        chunk::emit_raw(o, chunk_type::RE_CONFIG, 0, params)
    })
}

/// A RawPeer whose peer (us) opened channel 0; everything the association sent is acked.
fn with_channel() -> RawPeer {
    let mut r = RawPeer::connect();
    let open = tern_sctp::dcep::DcepMessage::Open(ChannelInit {
        label: "c".into(),
        ..Default::default()
    })
    .emit();
    r.message(0, 0, 50, &open).unwrap();
    assert!(r.events.iter().any(|e| matches!(
        e,
        SctpEvent::ChannelOpen {
            id: ChannelId(0),
            ..
        }
    )));
    r
}

/// SACK everything the association has sent so far (its DATA TSNs start at its initial TSN).
fn sack_all(r: &mut RawPeer, cum: u32) {
    let p = packet(r.peer_tag, |o| chunk::emit_sack(o, cum, 1 << 20, &[], &[]));
    r.send(&p).unwrap();
}

/// The association's last assigned TSN, read from the DATA it sent.
fn last_data_tsn(sent: &[Vec<u8>]) -> Option<u32> {
    let mut last = None;
    for p in sent {
        let pkt = Packet::parse(p, ChecksumPolicy::AcceptZero).unwrap();
        for c in pkt.chunks() {
            if let Ok(Chunk::Data(d)) = c {
                last = Some(d.tsn);
            }
        }
    }
    last
}

#[test]
fn in_progress_request_is_retransmitted_with_the_same_sequence_number() {
    let mut r = with_channel();
    let sent = r.take_sent();
    let ack_tsn = last_data_tsn(&sent).expect("DATA_CHANNEL_ACK");
    sack_all(&mut r, ack_tsn);
    r.take_sent();

    r.assoc.close_channel(r.now, ChannelId(0)).unwrap();
    r.pump();
    let first = sent_reconfig(&mut r);
    let [(seq, "request", last_tsn)] = first[..] else {
        panic!("one reset request expected, got {first:?}")
    };
    assert_eq!(last_tsn, ack_tsn);

    // We (the peer) still miss data: "In progress".
    let mut params = Vec::new();
    reconfig::push_response(&mut params, seq, result::IN_PROGRESS);
    r.send(&reconfig_packet(&r, &params)).unwrap();
    assert!(sent_reconfig(&mut r).is_empty(), "no immediate retry");

    // RFC 6525 §5.2.7: when the timer runs out, the same request is retransmitted.
    r.advance(Duration::from_secs(2));
    let retry = sent_reconfig(&mut r);
    assert_eq!(retry, vec![(seq, "request", last_tsn)]);

    // Answered "Performed": our outgoing side is reset. Our own reset of the stream (the
    // RFC 8831 §6.7 answer) completes the close.
    let mut params = Vec::new();
    reconfig::push_response(&mut params, seq, result::PERFORMED);
    reconfig::push_outgoing_reset(&mut params, 1000, seq, r.next_tsn.wrapping_sub(1), &[0]);
    r.send(&reconfig_packet(&r, &params)).unwrap();
    assert!(
        r.events
            .contains(&SctpEvent::ChannelClosed { id: ChannelId(0) })
    );
    assert_eq!(
        sent_reconfig(&mut r),
        vec![(1000, "response", result::PERFORMED)]
    );
    // Nothing further is retransmitted.
    r.advance(Duration::from_secs(5));
    assert!(sent_reconfig(&mut r).is_empty());
}

#[test]
fn deferred_request_retransmission_is_answered_performed_once_data_arrives() {
    let mut r = with_channel();
    let ack_tsn = last_data_tsn(&r.take_sent()).expect("DATA_CHANNEL_ACK");
    // We announce a reset of stream 0 up to a TSN we have not sent yet.
    let pending_tsn = r.next_tsn;
    let mut params = Vec::new();
    reconfig::push_outgoing_reset(&mut params, 1000, 0, pending_tsn, &[0]);
    r.send(&reconfig_packet(&r, &params)).unwrap();
    assert_eq!(
        sent_reconfig(&mut r),
        vec![(1000, "response", result::IN_PROGRESS)]
    );
    // The same request again before the data: still in progress, nothing reset.
    r.send(&reconfig_packet(&r, &params)).unwrap();
    assert_eq!(
        sent_reconfig(&mut r),
        vec![(1000, "response", result::IN_PROGRESS)]
    );
    // The last message arrives and is delivered before the reset takes effect.
    r.message(0, 1, 51, b"last words").unwrap();
    assert!(r.events.iter().any(|e| matches!(
        e,
        SctpEvent::Message { id: ChannelId(0), data, .. } if &data[..] == b"last words"
    )));
    // Our incoming side is reset now, so the association resets its outgoing side too, but
    // only once we have acked its DATA_CHANNEL_ACK: a request we would have to defer is
    // not sent while the association has data outstanding.
    assert!(
        sent_reconfig(&mut r)
            .iter()
            .all(|(_, kind, _)| *kind != "request"),
        "request held while data is outstanding"
    );
    sack_all(&mut r, ack_tsn);
    let after = sent_reconfig(&mut r);
    assert!(
        after
            .iter()
            .any(|(_, k, t)| *k == "request" && *t == ack_tsn),
        "mirror reset expected: {after:?}"
    );
    // The retransmitted request is now answered "Performed".
    r.send(&reconfig_packet(&r, &params)).unwrap();
    assert!(
        sent_reconfig(&mut r).contains(&(1000, "response", result::PERFORMED)),
        "retransmission answered with the final result"
    );
}

#[test]
fn reset_request_waits_for_acks_or_four_rtos_when_more_data_follows() {
    let mut r = with_channel();
    let ack_tsn = last_data_tsn(&r.take_sent()).expect("DATA_CHANNEL_ACK");
    // A second channel, so that data can follow the request.
    let other = r.assoc.open_channel(r.now, ChannelInit::default()).unwrap();
    r.pump();
    r.assoc.close_channel(r.now, ChannelId(0)).unwrap();
    r.pump();
    // Our SACKs never come and nothing else is to be sent: the request waits, however long,
    // and no timer spins for it.
    r.advance(Duration::from_secs(10));
    assert!(sent_reconfig(&mut r).is_empty());
    assert!(
        r.assoc.poll_timeout().is_none_or(|t| t > r.now),
        "no timer in the past"
    );
    // More data is queued after four RTOs have passed: the request goes out with it.
    r.assoc
        .send(r.now, other, b"more", tern_sctp::MessageKind::Text)
        .unwrap();
    r.pump();
    let sent = sent_reconfig(&mut r);
    assert!(
        sent.iter()
            .any(|(_, k, t)| *k == "request" && *t != ack_tsn),
        "request once data follows: {sent:?}"
    );
}
