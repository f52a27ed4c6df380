//! dcsctp bundles DATA behind its COOKIE-ECHO and may bundle DATA with COOKIE-ACK: both
//! must establish the association and deliver the data in the same packet.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod raw;

use std::time::Instant;

use raw::*;
use tern_sctp::wire::chunk::{self, chunk_type, data_flags};
use tern_sctp::wire::param::InitParams;
use tern_sctp::wire::{ChecksumPolicy, Chunk, DataChunk, Packet};
use tern_sctp::{Association, ChannelInit, SctpEvent, StreamParity};

#[test]
fn data_bundled_after_cookie_echo_is_delivered() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut a = Association::new(config(StreamParity::Odd), now);
    a.handle_receive(now, &init_packet(0x51, 500, 100, 100, &[]))
        .unwrap();
    let ack = a.poll_transmit().unwrap();
    let pkt = Packet::parse(&ack, ChecksumPolicy::Required).unwrap();
    let Some(Ok(Chunk::InitAck(init))) = pkt.chunks().next() else {
        panic!()
    };
    let cookie = InitParams::parse(init.params).cookie.unwrap().to_vec();
    let open = tern_sctp::dcep::DcepMessage::Open(ChannelInit {
        label: "bundled".into(),
        ..Default::default()
    })
    .emit();
    let p = packet(init.initiate_tag, |o| {
        chunk::emit_raw(o, chunk_type::COOKIE_ECHO, 0, &cookie);
        chunk::emit_data(
            o,
            &DataChunk {
                interleaved: false,
                flags: data_flags::B | data_flags::E,
                tsn: 500,
                stream: 0,
                ssn: 0,
                mid: 0,
                fsn: 0,
                ppid: 50,
                payload: &open,
            },
        );
    });
    a.handle_receive(now, &p).unwrap();
    let mut events = Vec::new();
    while let Some(e) = a.poll_event() {
        events.push(e);
    }
    assert_eq!(events[0], SctpEvent::Connected);
    assert!(events.iter().any(|e| matches!(e, SctpEvent::ChannelOpen { label, remote_initiated: true, .. } if label == "bundled")));
}

#[test]
fn data_bundled_with_cookie_ack_is_delivered() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut a = Association::new(config(StreamParity::Even), now);
    a.connect(now);
    let init = a.poll_transmit().unwrap();
    let pkt = Packet::parse(&init, ChecksumPolicy::Required).unwrap();
    let Some(Ok(Chunk::Init(i))) = pkt.chunks().next() else {
        panic!()
    };
    let our_tag = i.initiate_tag;
    // Answer as a peer would: INIT-ACK with an opaque cookie.
    let mut params = Vec::new();
    tern_sctp::wire::param::push_tlv(
        &mut params,
        tern_sctp::wire::param::param_type::STATE_COOKIE,
        b"opaque-cookie",
    );
    let init_ack = packet(our_tag, |o| {
        chunk::emit_init(
            o,
            true,
            &tern_sctp::wire::Init {
                initiate_tag: 0x77,
                a_rwnd: 1 << 20,
                outbound_streams: 10,
                inbound_streams: 10,
                initial_tsn: 9000,
                params: &params,
                params_at: 0,
            },
        )
    });
    a.handle_receive(now, &init_ack).unwrap();
    let echo = a.poll_transmit().unwrap();
    let pkt = Packet::parse(&echo, ChecksumPolicy::Required).unwrap();
    assert_eq!(pkt.header.verification_tag, 0x77);
    assert!(matches!(
        pkt.chunks().next(),
        Some(Ok(Chunk::CookieEcho(b"opaque-cookie")))
    ));
    let open = tern_sctp::dcep::DcepMessage::Open(ChannelInit {
        label: "with-ack".into(),
        ..Default::default()
    })
    .emit();
    let p = packet(our_tag, |o| {
        chunk::emit_simple(o, chunk_type::COOKIE_ACK, 0);
        chunk::emit_data(
            o,
            &DataChunk {
                interleaved: false,
                flags: data_flags::B | data_flags::E,
                tsn: 9000,
                stream: 1,
                ssn: 0,
                mid: 0,
                fsn: 0,
                ppid: 50,
                payload: &open,
            },
        );
    });
    a.handle_receive(now, &p).unwrap();
    let mut events = Vec::new();
    while let Some(e) = a.poll_event() {
        events.push(e);
    }
    assert_eq!(events[0], SctpEvent::Connected);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SctpEvent::ChannelOpen { label, .. } if label == "with-ack"))
    );
}
