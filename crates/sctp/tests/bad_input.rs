//! BAD_INPUT.md rows 30–35: malformed chunks, verification tags, cookie attacks, memory
//! bombs, impaired links and DCEP abuse. Each must leave the association consistent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod common;
mod raw;

use std::time::Duration;

use raw::*;
use tern_sctp::wire::chunk::{self, GapBlock, chunk_type, data_flags};
use tern_sctp::wire::param::{self, param_type};
use tern_sctp::{
    Association, ChannelId, ChannelInit, CloseReason, MessageKind, ParseError, SctpError,
    SctpEvent, StreamParity,
};

fn messages(r: &RawPeer) -> usize {
    r.events
        .iter()
        .filter(|e| matches!(e, SctpEvent::Message { .. }))
        .count()
}

/// DCEP OPEN for a reliable channel.
fn open_msg(label: &str) -> Vec<u8> {
    tern_sctp::dcep::DcepMessage::Open(ChannelInit {
        label: label.into(),
        ..Default::default()
    })
    .emit()
}

/// A RawPeer with one open channel on stream 0 (even: ours as DTLS client).
fn with_channel() -> RawPeer {
    let mut r = RawPeer::connect();
    r.message(0, 0, 50, &open_msg("c")).unwrap();
    assert!(r.events.iter().any(|e| matches!(
        e,
        SctpEvent::ChannelOpen {
            id: ChannelId(0),
            ..
        }
    )));
    r
}

// ---- Row 30: framing -----------------------------------------------------------------

#[test]
fn bad_input_sctp_30_chunk_length_zero_short_or_past_end() {
    let mut r = with_channel();
    for (len, extra) in [(0u16, 0usize), (3, 0), (64, 8)] {
        let p = packet(r.peer_tag, |o| {
            o.extend_from_slice(&[chunk_type::DATA, 3]);
            o.extend_from_slice(&len.to_be_bytes());
            o.extend(std::iter::repeat_n(0, extra));
        });
        let e = r.send(&p).unwrap_err();
        assert!(
            matches!(e, SctpError::Parse(ParseError::BadChunkLength { .. })),
            "{e:?}"
        );
    }
    // A good DATA followed by a broken chunk: the whole packet is dropped, DATA included.
    let mut body = Vec::new();
    r.data_chunk(&mut body, 0, 1, 51, data_flags::B | data_flags::E, b"x");
    body.extend_from_slice(&[chunk_type::SACK, 0, 0, 2]);
    let p = packet(r.peer_tag, |o| o.extend_from_slice(&body));
    assert!(r.send(&p).is_err());
    assert_eq!(messages(&r), 0);
    // The association still works with the same TSN.
    r.next_tsn -= 1;
    r.message(0, 1, 51, b"x").unwrap();
    assert_eq!(messages(&r), 1);
}

#[test]
fn bad_input_sctp_30_init_parameter_length_below_four_or_crossing_end() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut a = Association::new(config(StreamParity::Odd), now);
    for bad_param in [
        vec![0x80u8, 0x08, 0, 2],
        vec![0x80, 0x08, 0, 12, 1, 2, 3, 4],
    ] {
        let p = init_packet(7, 1, 10, 10, &bad_param);
        let e = a.handle_receive(now, &p).unwrap_err();
        assert!(
            matches!(e, SctpError::Parse(ParseError::BadParameterLength { .. })),
            "{e:?}"
        );
        assert!(
            a.poll_transmit().is_none(),
            "no INIT-ACK for a malformed INIT"
        );
    }
}

#[test]
fn bad_input_sctp_30_unknown_chunk_types_all_four_actions() {
    // (type, processing continues after it, reported in ERROR)
    for (ty, continues, reported) in [
        (0x3fu8, false, false),
        (0x7f, false, true),
        (0xbf, true, false),
        (0xff, true, true),
    ] {
        let mut r = with_channel();
        let mut body = Vec::new();
        chunk::emit_raw(&mut body, ty, 0, &[1, 2, 3]);
        r.data_chunk(&mut body, 0, 1, 51, data_flags::B | data_flags::E, b"after");
        let p = packet(r.peer_tag, |o| o.extend_from_slice(&body));
        let _ = r.send(&p);
        r.advance(Duration::from_millis(500));
        assert_eq!(messages(&r) == 1, continues, "type {ty:#x}");
        let sent = r.take_sent_types();
        assert_eq!(
            sent.contains(&chunk_type::ERROR),
            reported,
            "type {ty:#x}: {sent:?}"
        );
        assert!(r.assoc.is_established());
    }
}

#[test]
fn bad_input_sctp_30_unknown_init_parameter_actions() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    for (ty, reported) in [
        (0x0123u16, false),
        (0x4123, true),
        (0x8123, false),
        (0xc123, true),
    ] {
        let mut a = Association::new(config(StreamParity::Odd), now);
        let mut extra = Vec::new();
        param::push_tlv(&mut extra, ty, &[9; 5]);
        a.handle_receive(now, &init_packet(7, 1, 10, 10, &extra))
            .unwrap();
        let ack = a.poll_transmit().unwrap();
        let pkt = tern_sctp::wire::Packet::parse(&ack, tern_sctp::wire::ChecksumPolicy::Required)
            .unwrap();
        let Some(Ok(tern_sctp::wire::Chunk::InitAck(init))) = pkt.chunks().next() else {
            panic!()
        };
        let p = param::InitParams::parse(init.params);
        assert!(p.cookie.is_some());
        let has_unrec = param::iter_tlvs(init.params)
            .any(|(t, v)| t == param_type::UNRECOGNIZED && v.starts_with(&ty.to_be_bytes()));
        assert_eq!(has_unrec, reported, "type {ty:#x}");
    }
}

#[test]
fn bad_input_sctp_30_sack_counts_inconsistent_with_length() {
    let mut r = with_channel();
    let mut body = Vec::new();
    chunk::emit_sack(&mut body, 0, 1000, &[GapBlock { start: 1, end: 2 }], &[5]);
    body[12] = 0;
    body[13] = 200; // 200 gap blocks claimed
    let p = packet(r.peer_tag, |o| o.extend_from_slice(&body));
    assert!(matches!(
        r.send(&p),
        Err(SctpError::Parse(ParseError::SackCountMismatch {
            gaps: 200,
            ..
        }))
    ));
    assert!(r.assoc.is_established());
}

#[test]
fn bad_input_sctp_30_init_with_zero_streams_or_tag_zero() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut a = Association::new(config(StreamParity::Odd), now);
    for p in [
        init_packet(0, 1, 10, 10, &[]),
        init_packet(7, 1, 0, 10, &[]),
        init_packet(7, 1, 10, 0, &[]),
    ] {
        let e = a.handle_receive(now, &p).unwrap_err();
        assert!(
            matches!(e, SctpError::Parse(ParseError::InvalidInit { .. })),
            "{e:?}"
        );
        assert!(
            a.poll_transmit().is_none(),
            "silently discarded (RFC 9260 §3.3.2)"
        );
    }
}

#[test]
fn bad_input_sctp_30_init_bundled_with_data() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut a = Association::new(config(StreamParity::Odd), now);
    let mut p = init_packet(7, 1, 10, 10, &[]);
    let mut d = Vec::new();
    chunk::emit_data(
        &mut d,
        &tern_sctp::wire::DataChunk {
            interleaved: false,
            flags: 3,
            tsn: 1,
            stream: 0,
            ssn: 0,
            mid: 0,
            fsn: 0,
            ppid: 51,
            payload: b"x",
        },
    );
    p.extend_from_slice(&d);
    tern_sctp::wire::PacketWriter::finish(&mut p, false);
    assert_eq!(
        a.handle_receive(now, &p).unwrap_err(),
        SctpError::Parse(ParseError::MustBeAlone {
            chunk_type: chunk_type::INIT
        })
    );
    assert!(a.poll_transmit().is_none());
}

// ---- Row 31: verification tags ---------------------------------------------------------

#[test]
fn bad_input_sctp_31_wrong_tag_on_data_sack_heartbeat_is_discarded() {
    let mut r = with_channel();
    r.advance(Duration::from_millis(500));
    r.take_sent();
    let wrong = r.peer_tag ^ 1;
    let mut body = Vec::new();
    r.data_chunk(&mut body, 0, 1, 51, 3, b"x");
    let data = packet(wrong, |o| o.extend_from_slice(&body));
    let sack = packet(wrong, |o| chunk::emit_sack(o, 0, 1 << 20, &[], &[]));
    let mut hb_info = Vec::new();
    param::push_tlv(&mut hb_info, param_type::HEARTBEAT_INFO, &[1; 8]);
    let hb = packet(wrong, |o| {
        chunk::emit_raw(o, chunk_type::HEARTBEAT, 0, &hb_info)
    });
    for p in [data, sack, hb] {
        assert!(matches!(
            r.send(&p),
            Err(SctpError::WrongVerificationTag { .. })
        ));
        assert!(r.take_sent().is_empty(), "silently discarded: no reply");
    }
    assert_eq!(messages(&r), 0);
    // The right tag works and the TSN was not consumed.
    r.next_tsn -= 1;
    r.message(0, 1, 51, b"x").unwrap();
    assert_eq!(messages(&r), 1);
}

#[test]
fn bad_input_sctp_31_blind_abort_never_kills() {
    let mut r = with_channel();
    // T bit clear must carry the receiver's own tag; T bit set the tag the receiver uses for us.
    for (tag, t) in [
        (r.peer_tag ^ 0x8000, 0u8),
        (r.peer_tag, 1),
        (r.tag ^ 1, 1),
        (0, 0),
    ] {
        let p = packet(tag, |o| chunk::emit_simple(o, chunk_type::ABORT, t));
        assert!(r.send(&p).is_err());
        assert!(r.assoc.is_established(), "tag {tag:#x} t={t}");
    }
    let p = packet(r.tag, |o| chunk::emit_simple(o, chunk_type::ABORT, 1));
    r.send(&p).unwrap();
    assert!(r.assoc.is_closed());
    assert!(r.events.iter().any(|e| matches!(
        e,
        SctpEvent::Closed {
            reason: CloseReason::PeerAbort { .. }
        }
    )));
}

#[test]
fn bad_input_sctp_31_abort_with_our_tag_and_t_bit_clear() {
    let mut r = with_channel();
    let p = packet(r.peer_tag, |o| chunk::emit_simple(o, chunk_type::ABORT, 0));
    r.send(&p).unwrap();
    assert!(r.assoc.is_closed());
}

#[test]
fn bad_input_sctp_31_out_of_the_blue() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut a = Association::new(config(StreamParity::Odd), now);
    // OOTB ABORT: discarded, no reply.
    assert!(
        a.handle_receive(
            now,
            &packet(5, |o| chunk::emit_simple(o, chunk_type::ABORT, 0))
        )
        .is_err()
    );
    assert!(a.poll_transmit().is_none());
    // OOTB SHUTDOWN-ACK: SHUTDOWN-COMPLETE with the T bit and the packet's tag.
    let _ = a.handle_receive(
        now,
        &packet(5, |o| chunk::emit_simple(o, chunk_type::SHUTDOWN_ACK, 0)),
    );
    let reply = a.poll_transmit().unwrap();
    assert_eq!(chunk_types(&reply), vec![chunk_type::SHUTDOWN_COMPLETE]);
    assert_eq!(&reply[4..8], &5u32.to_be_bytes());
    assert_eq!(reply[13] & 1, 1);
    // OOTB DATA: ABORT with the T bit.
    let mut d = Vec::new();
    chunk::emit_data(
        &mut d,
        &tern_sctp::wire::DataChunk {
            interleaved: false,
            flags: 3,
            tsn: 1,
            stream: 0,
            ssn: 0,
            mid: 0,
            fsn: 0,
            ppid: 51,
            payload: b"x",
        },
    );
    let _ = a.handle_receive(now, &packet(6, |o| o.extend_from_slice(&d)));
    let reply = a.poll_transmit().unwrap();
    assert_eq!(chunk_types(&reply), vec![chunk_type::ABORT]);
    assert!(!a.is_established());
}

// ---- Row 32: cookies and INIT floods ----------------------------------------------------

fn cookie_for(a: &mut Association, now: std::time::Instant, tag: u32) -> (Vec<u8>, u32) {
    a.handle_receive(now, &init_packet(tag, 1, 10, 10, &[]))
        .unwrap();
    let ack = a.poll_transmit().unwrap();
    let pkt =
        tern_sctp::wire::Packet::parse(&ack, tern_sctp::wire::ChecksumPolicy::Required).unwrap();
    let Some(Ok(tern_sctp::wire::Chunk::InitAck(init))) = pkt.chunks().next() else {
        panic!()
    };
    (
        param::InitParams::parse(init.params)
            .cookie
            .unwrap()
            .to_vec(),
        init.initiate_tag,
    )
}

#[test]
fn bad_input_sctp_32_tampered_expired_or_truncated_cookie() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut a = Association::new(config(StreamParity::Odd), now);
    let (cookie, tag) = cookie_for(&mut a, now, 7);
    let echo = |c: &[u8]| packet(tag, |o| chunk::emit_raw(o, chunk_type::COOKIE_ECHO, 0, c));
    let mut tampered = cookie.clone();
    tampered[20] ^= 1;
    assert_eq!(
        a.handle_receive(now, &echo(&tampered)),
        Err(SctpError::BadCookie)
    );
    assert_eq!(
        a.handle_receive(now, &echo(&cookie[..cookie.len() - 5])),
        Err(SctpError::BadCookie)
    );
    assert!(a.poll_transmit().is_none() && !a.is_established());
    // Expired: 61 s later (lifespan 60 s) → Stale Cookie error, no TCB.
    let later = now + Duration::from_secs(61);
    assert!(matches!(
        a.handle_receive(later, &echo(&cookie)),
        Err(SctpError::StaleCookie { .. })
    ));
    let reply = a.poll_transmit().unwrap();
    assert_eq!(chunk_types(&reply), vec![chunk_type::ERROR]);
    assert!(!a.is_established());
    // Within the lifespan it works.
    a.handle_receive(now + Duration::from_secs(59), &echo(&cookie))
        .unwrap();
    assert!(a.is_established());
}

#[test]
fn bad_input_sctp_32_init_flood_costs_no_state() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut a = Association::new(config(StreamParity::Odd), now);
    let mut answered = 0;
    for i in 0..100_000u32 {
        // Spoofed source ports never reach the state machine; spoofed tags do.
        let mut p = init_packet(i | 1, i, 10, 10, &[]);
        if i % 2 == 0 {
            p[0..2].copy_from_slice(&((i % 60_000) as u16 + 1).to_be_bytes());
            tern_sctp::wire::PacketWriter::finish(&mut p, false);
            assert!(matches!(
                a.handle_receive(now, &p),
                Err(SctpError::WrongPorts { .. })
            ));
            continue;
        }
        a.handle_receive(now, &p).unwrap();
        // Not draining between INITs: the output queue stays bounded.
        if i % 1000 == 1 {
            while a.poll_transmit().is_some() {
                answered += 1;
            }
        }
    }
    assert!(answered <= 100 * 16, "output queue is bounded ({answered})");
    assert!(!a.is_established());
    // A genuine handshake still works afterwards.
    let (cookie, tag) = cookie_for(&mut a, now, 99);
    while a.poll_transmit().is_some() {}
    a.handle_receive(
        now,
        &packet(tag, |o| {
            chunk::emit_raw(o, chunk_type::COOKIE_ECHO, 0, &cookie)
        }),
    )
    .unwrap();
    assert!(a.is_established());
}

// ---- Row 33: memory bombs -------------------------------------------------------------

#[test]
fn bad_input_sctp_33_reassembly_bomb_aborts_at_the_window() {
    let mut r = with_channel();
    let chunk = vec![7u8; 1000];
    let mut sent = 0usize;
    for i in 0..20_000u16 {
        let mut body = Vec::new();
        // B bit only: messages that never end, spread over many streams.
        r.data_chunk(&mut body, (i % 500) * 2, i / 500, 53, data_flags::B, &chunk);
        let p = packet(r.peer_tag, |o| o.extend_from_slice(&body));
        let _ = r.send(&p);
        sent += 1;
        if r.assoc.is_closed() {
            break;
        }
    }
    assert!(r.assoc.is_closed(), "must abort at the limit");
    // Default window: max(4 MiB, 256 KiB + 64 KiB) = 4 MiB; ~1064 bytes charged per chunk.
    assert!(
        sent < 4 * 1024 * 1024 / 1000 + 600,
        "aborted after {sent} chunks"
    );
    assert!(r.events.iter().any(|e| matches!(
        e,
        SctpEvent::Closed {
            reason: CloseReason::ProtocolViolation
        }
    )));
    assert!(r.take_sent_types().contains(&chunk_type::ABORT));
}

#[test]
fn bad_input_sctp_33_tsn_gaps_near_a_rwnd() {
    let mut r = with_channel();
    let chunk = vec![7u8; 1000];
    // Leave TSN `next_tsn` missing, then push far more than the window above it.
    let hole = r.next_tsn;
    r.next_tsn += 1;
    for _ in 0..6000 {
        let mut body = Vec::new();
        r.data_chunk(
            &mut body,
            0,
            0,
            53,
            data_flags::B | data_flags::E | data_flags::U,
            &chunk,
        );
        let _ = r.send(&packet(r.peer_tag, |o| o.extend_from_slice(&body)));
    }
    // Unordered complete messages are delivered even above the hole; the association
    // keeps working and the hole can still be filled.
    assert!(r.assoc.is_established());
    let before = messages(&r);
    let mut body = Vec::new();
    let save = r.next_tsn;
    r.next_tsn = hole;
    r.data_chunk(
        &mut body,
        0,
        0,
        53,
        data_flags::B | data_flags::E | data_flags::U,
        b"fill",
    );
    r.next_tsn = save;
    r.send(&packet(r.peer_tag, |o| o.extend_from_slice(&body)))
        .unwrap();
    assert_eq!(messages(&r), before + 1);
}

#[test]
fn bad_input_sctp_33_reconfig_request_flood() {
    let mut r = with_channel();
    r.take_sent();
    let mut req_seq = 1000u32; // peer's initial TSN starts the request numbering
    for i in 0..10_000u32 {
        let mut params = Vec::new();
        let streams: Vec<u16> = (0..200).map(|s| (s * 2 + i) as u16).collect();
        tern_sctp::wire::reconfig::push_outgoing_reset(
            &mut params,
            req_seq,
            0,
            r.next_tsn.wrapping_sub(1),
            &streams,
        );
        req_seq = req_seq.wrapping_add(if i % 3 == 0 { 1 } else { 7 });
        let _ = r.send(&packet(r.peer_tag, |o| {
            chunk::emit_raw(o, chunk_type::RE_CONFIG, 0, &params)
        }));
    }
    assert!(r.assoc.is_established());
    // Every reply is one bounded packet; nothing accumulates.
    assert!(r.take_sent().iter().all(|p| p.len() <= 1200));
}

// ---- Row 34: impaired link -------------------------------------------------------------

#[test]
fn bad_input_sctp_34_impaired_link_all_channel_types() {
    use common::*;
    use tern_netsim::{LinkConfig, Loss};
    let link = LinkConfig {
        loss: Loss::Uniform(0.1),
        delay: Duration::from_millis(30),
        jitter: Duration::from_millis(200),
        reorder: 0.05,
        duplicate: 0.05,
        mtu: 1200,
        ..Default::default()
    };
    for interleaving in [true, false] {
        let mut ca = common::config(1, StreamParity::Even);
        let mut cb = common::config(2, StreamParity::Odd);
        ca.interleaving = interleaving;
        cb.interleaving = interleaving;
        let mut p = Pair::with_configs(ca, cb, link.clone(), 21);
        p.connect_both();
        assert!(p.run_until(Duration::from_secs(60), |p| p.connected()));
        let mk = |ordered, reliability| ChannelInit {
            ordered,
            reliability,
            ..Default::default()
        };
        use tern_sctp::Reliability::*;
        let kinds = [
            mk(true, Reliable),
            mk(false, Reliable),
            mk(true, MaxRetransmits(0)),
            mk(false, MaxPacketLifetime(Duration::from_millis(100))),
        ];
        let ids: Vec<ChannelId> = kinds
            .iter()
            .map(|k| p.a.open_channel(p.now, k.clone()).unwrap())
            .collect();
        p.run_until(Duration::from_secs(3), |_| false);
        let n = 200;
        for i in 0..n {
            for id in &ids {
                let len = if i == n / 2 { 256 * 1024 } else { 10 + i % 500 };
                p.a.send(p.now, *id, &body(i, len), MessageKind::Binary)
                    .unwrap();
            }
            p.run_until(Duration::from_millis(5), |_| false);
        }
        let ok = p.run_until(Duration::from_secs(600), |p| {
            messages(&p.events_b, ids[0]).len() == n && messages(&p.events_b, ids[1]).len() == n
        });
        assert!(
            ok,
            "reliable channels complete (interleaving {interleaving})"
        );
        p.run_until(Duration::from_secs(30), |_| false);
        for (k, id) in kinds.iter().zip(&ids) {
            let got = messages(&p.events_b, *id);
            let mut seen = std::collections::HashSet::new();
            let mut last = None;
            for (_, m) in &got {
                let i = u32::from_be_bytes([m[0], m[1], m[2], m[3]]) as usize;
                assert_eq!(m[..], body(i, m.len())[..], "intact");
                assert!(seen.insert(i), "exactly once");
                if k.ordered {
                    assert!(last.is_none_or(|l| l < i), "in order");
                }
                last = Some(i);
            }
            if k.reliability == Reliable {
                assert_eq!(got.len(), n);
            }
        }
        assert!(p.a.is_established() && p.b.is_established());
    }
}

// ---- Row 35: DCEP --------------------------------------------------------------------------

fn acks_sent(r: &mut RawPeer) -> usize {
    // DATA chunks with PPID 50 carrying the one-byte DATA_CHANNEL_ACK.
    let mut n = 0;
    for p in r.take_sent() {
        let pkt = tern_sctp::wire::Packet::parse(&p, tern_sctp::wire::ChecksumPolicy::AcceptZero)
            .unwrap();
        for c in pkt.chunks() {
            if let Ok(tern_sctp::wire::Chunk::Data(d)) = c
                && d.ppid == 50
                && d.payload == [2]
            {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn bad_input_sctp_35_dcep_wrong_parity_bad_lengths_unknown_type_active_sid() {
    let mut r = RawPeer::connect(); // association is odd (DTLS server); we must use even ids
    // Wrong parity: odd stream from the peer.
    assert_eq!(
        r.message(1, 0, 50, &open_msg("x")),
        Err(SctpError::WrongStreamParity(1))
    );
    // Label length past the end.
    let mut bad = open_msg("abc");
    bad[9] = 50;
    assert!(matches!(
        r.message(2, 0, 50, &bad),
        Err(SctpError::Dcep { stream: 2, .. })
    ));
    // Unknown channel type.
    let mut bad = open_msg("abc");
    bad[1] = 0x7e;
    assert!(matches!(
        r.message(4, 0, 50, &bad),
        Err(SctpError::Dcep { stream: 4, .. })
    ));
    r.advance(Duration::from_millis(300));
    assert_eq!(acks_sent(&mut r), 0, "rejected channels get no ACK");
    assert!(
        !r.events
            .iter()
            .any(|e| matches!(e, SctpEvent::ChannelOpen { .. }))
    );
    // A good OPEN is acknowledged; a second OPEN on the same stream is refused.
    r.message(6, 0, 50, &open_msg("good")).unwrap();
    r.advance(Duration::from_millis(300));
    assert_eq!(acks_sent(&mut r), 1);
    assert_eq!(
        r.message(6, 1, 50, &open_msg("again")),
        Err(SctpError::StreamInUse(6))
    );
    r.advance(Duration::from_millis(300));
    assert_eq!(acks_sent(&mut r), 0);
    let opens = r
        .events
        .iter()
        .filter(|e| matches!(e, SctpEvent::ChannelOpen { .. }))
        .count();
    assert_eq!(opens, 1);
    assert!(r.assoc.is_established());
}

#[test]
fn bad_input_sctp_35_oversized_message_and_wrong_ppid() {
    let mut r = with_channel();
    // Wrong PPID on an open channel.
    assert_eq!(
        r.message(0, 1, 99, b"x"),
        Err(SctpError::UnexpectedPpid {
            stream: 0,
            ppid: 99
        })
    );
    // Message larger than max-message-size (256 KiB) in fragments.
    let frag = vec![1u8; 1000];
    let count = 300;
    let mut last = Ok(());
    for i in 0..count {
        let mut flags = 0;
        if i == 0 {
            flags |= data_flags::B;
        }
        if i == count - 1 {
            flags |= data_flags::E;
        }
        let mut body = Vec::new();
        r.data_chunk(&mut body, 0, 2, 53, flags, &frag);
        last = r.send(&packet(r.peer_tag, |o| o.extend_from_slice(&body)));
    }
    assert!(matches!(
        last,
        Err(SctpError::MessageTooLarge { size: 300_000, .. })
    ));
    // The association survives and the stream continues with the next SSN.
    r.message(0, 3, 51, b"after").unwrap();
    let n = messages(&r);
    assert!(r.assoc.is_established());
    assert!(n >= 1);
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, SctpEvent::Message { data, .. } if &data[..] == b"after"))
    );
    // No channel on a stream: Err, association survives.
    assert_eq!(
        r.message(8, 0, 51, b"?"),
        Err(SctpError::NoChannelForStream(8))
    );
    assert!(r.assoc.is_established());
}

#[test]
fn bad_input_sctp_31_bogus_cookie_echo_cannot_smuggle_data() {
    let mut r = with_channel();
    let mut body = Vec::new();
    chunk::emit_raw(&mut body, chunk_type::COOKIE_ECHO, 0, &[0u8; 80]);
    r.data_chunk(
        &mut body,
        0,
        1,
        51,
        data_flags::B | data_flags::E,
        b"smuggled",
    );
    // Any tag: the cookie is bogus, so the DATA behind it must not be processed.
    for tag in [r.peer_tag, 0x0bad_f00d] {
        let p = packet(tag, |o| o.extend_from_slice(&body));
        assert!(r.send(&p).is_err());
    }
    assert_eq!(messages(&r), 0);
    assert!(r.assoc.is_established());
}
