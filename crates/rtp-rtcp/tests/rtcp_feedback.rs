//! Session-level RTCP behaviour: keyframe requests, REMB, BYE, reports with LSR/DLSR,
//! XR RTT for receive-only endpoints, reduced-size vs compound feedback, TWCC feedback,
//! and rejection of bad input without state change.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use tern_rtp_rtcp::wire::ext::{Extension, TransportSequenceNumber};
use tern_rtp_rtcp::wire::rtcp::*;
use tern_rtp_rtcp::wire::rtp::{RtpHeader, RtpPacket};
use tern_rtp_rtcp::{
    Error, Event, KeyframeRequestKind, ReceiveStreamConfig, RtpSession, SendStreamConfig,
    SessionConfig, Transmit, TransmitKind,
};

fn sender(t0: Instant) -> RtpSession {
    let mut a = RtpSession::new(config(0xa, 1), t0, 1 << 32);
    a.add_send_stream(SendStreamConfig::new(MEDIA_SSRC, 90_000));
    a
}

fn events(s: &mut RtpSession) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn transmits(s: &mut RtpSession) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn rtcp_of(ts: &[Transmit]) -> Vec<Vec<RtcpPacket>> {
    ts.iter()
        .filter(|t| t.kind == TransmitKind::Rtcp)
        .map(|t| RtcpPacket::parse_compound(&t.data).unwrap())
        .collect()
}

fn media(seq: u16) -> Vec<u8> {
    RtpHeader {
        payload_type: MEDIA_PT,
        sequence_number: seq,
        timestamp: u32::from(seq) * 3000,
        ssrc: MEDIA_SSRC,
        ..Default::default()
    }
    .to_vec(&[7; 100], 0)
    .unwrap()
}

#[test]
fn pli_and_fir_raise_keyframe_requests_fir_deduplicated() {
    let t0 = base();
    let mut a = sender(t0);
    let pli = RtcpPacket::Pli(Pli {
        sender_ssrc: 9,
        media_ssrc: MEDIA_SSRC,
    })
    .to_vec()
    .unwrap();
    a.handle_rtcp(t0, &pli).unwrap();
    let fir = RtcpPacket::Fir(Fir {
        sender_ssrc: 9,
        media_ssrc: 0,
        entries: vec![FirEntry {
            ssrc: MEDIA_SSRC,
            seq: 4,
        }],
    });
    let fir = fir.to_vec().unwrap();
    a.handle_rtcp(t0, &fir).unwrap();
    a.handle_rtcp(t0, &fir).unwrap(); // retransmitted FIR, same sequence number
    let ev = events(&mut a);
    assert_eq!(
        ev,
        vec![
            Event::KeyframeRequested {
                ssrc: MEDIA_SSRC,
                kind: KeyframeRequestKind::Pli
            },
            Event::KeyframeRequested {
                ssrc: MEDIA_SSRC,
                kind: KeyframeRequestKind::Fir
            },
        ]
    );
    // PLI for an SSRC we do not send is ignored
    let other = RtcpPacket::Pli(Pli {
        sender_ssrc: 9,
        media_ssrc: 77,
    })
    .to_vec()
    .unwrap();
    a.handle_rtcp(t0, &other).unwrap();
    assert!(events(&mut a).is_empty());
}

#[test]
fn remb_caps_the_target() {
    let t0 = base();
    let mut a = sender(t0);
    let remb = RtcpPacket::Remb(Remb::new(9, 120_000, vec![MEDIA_SSRC]))
        .to_vec()
        .unwrap();
    a.handle_rtcp(t0, &remb).unwrap();
    assert!(a.target_bitrate() <= 120_000);
    assert!(
        events(&mut a)
            .iter()
            .any(|e| matches!(e, Event::TargetBitrate(b) if *b <= 120_000))
    );
}

#[test]
fn malformed_rtcp_changes_nothing() {
    let t0 = base();
    let mut a = sender(t0);
    // a valid PLI followed by a truncated packet: the PLI must not be acted on
    let mut bytes = RtcpPacket::Pli(Pli {
        sender_ssrc: 9,
        media_ssrc: MEDIA_SSRC,
    })
    .to_vec()
    .unwrap();
    bytes.extend_from_slice(&[0x81, 0xc9, 0x00, 0x07, 0, 0]);
    assert!(a.handle_rtcp(t0, &bytes).is_err());
    assert!(events(&mut a).is_empty());
}

#[test]
fn too_many_remote_ssrcs_rejected() {
    let t0 = base();
    let cfg = SessionConfig {
        max_remote_ssrcs: 2,
        ..config(0xb, 1)
    };
    let mut b = RtpSession::new(cfg, t0, 0);
    for ssrc in 1..=2u32 {
        let p = RtpHeader {
            ssrc,
            ..Default::default()
        }
        .to_vec(b"x", 0)
        .unwrap();
        b.handle_rtp(t0, &p).unwrap();
    }
    let p = RtpHeader {
        ssrc: 3,
        ..Default::default()
    }
    .to_vec(b"x", 0)
    .unwrap();
    assert_eq!(
        b.handle_rtp(t0, &p),
        Err(Error::TooManyStreams { limit: 2 })
    );
    assert!(b.receive_stream(3).is_none());
}

#[test]
fn reports_carry_lsr_dlsr_and_give_rtt_both_ways() {
    let t0 = base();
    let mut a = sender(t0);
    let mut b = RtpSession::new(config(0xb, 2), t0, 77 << 32);
    b.add_receive_stream(ReceiveStreamConfig::new(MEDIA_SSRC, 90_000));
    let one_way = Duration::from_millis(30);
    let mut now = t0;
    let mut rr_with_lsr = false;
    let mut sr_seen = false;
    while now < t0 + Duration::from_secs(5) {
        a.send_rtp(now, &media((now - t0).as_millis() as u16 / 20))
            .unwrap();
        a.handle_timeout(now);
        b.handle_timeout(now);
        for t in transmits(&mut a) {
            if t.kind == TransmitKind::Rtcp {
                sr_seen |= RtcpPacket::parse_compound(&t.data)
                    .unwrap()
                    .iter()
                    .any(|p| matches!(p, RtcpPacket::SenderReport(_)));
            }
            input(&mut b, now + one_way, &t);
        }
        for t in transmits(&mut b) {
            for ps in rtcp_of(std::slice::from_ref(&t)) {
                for p in ps {
                    if let RtcpPacket::ReceiverReport(rr) = p {
                        rr_with_lsr |= rr
                            .reports
                            .iter()
                            .any(|r| r.last_sr != 0 && r.ssrc == MEDIA_SSRC);
                        // receive-only: XR RRTR rides along
                    }
                }
            }
            input(&mut a, now + one_way, &t);
        }
        events(&mut a);
        events(&mut b);
        now += Duration::from_millis(20);
    }
    assert!(sr_seen && rr_with_lsr);
    // delivery was "instant" at now + one_way while the clock moved in 20 ms steps, so the
    // RTT is 2 × one_way give or take the 20 ms step
    let rtt = a.rtt().unwrap();
    assert!(
        rtt >= Duration::from_millis(40) && rtt <= Duration::from_millis(90),
        "sender rtt {rtt:?}"
    );
    let rtt_b = b.rtt().unwrap();
    assert!(
        rtt_b >= Duration::from_millis(40) && rtt_b <= Duration::from_millis(90),
        "receiver (XR) rtt {rtt_b:?}"
    );
    let rs = b.receive_stream(MEDIA_SSRC).unwrap();
    assert_eq!(rs.cumulative_lost(), 0);
}

#[test]
fn bye_removes_the_stream() {
    let t0 = base();
    let mut b = RtpSession::new(config(0xb, 2), t0, 0);
    b.handle_rtp(t0, &media(1)).unwrap();
    let bye = RtcpPacket::Goodbye(Goodbye {
        sources: vec![MEDIA_SSRC],
        reason: None,
    })
    .to_vec()
    .unwrap();
    b.handle_rtcp(t0, &bye).unwrap();
    assert!(events(&mut b).contains(&Event::Goodbye { ssrc: MEDIA_SSRC }));
    assert!(b.receive_stream(MEDIA_SSRC).is_none());
}

#[test]
fn twcc_feedback_reports_arrivals_and_losses() {
    let t0 = base();
    let mut b = RtpSession::new(config(0xb, 2), t0, 0);
    let map = ext_map();
    for (i, tw) in [10u16, 11, 13, 14].iter().enumerate() {
        let mut h = RtpHeader {
            payload_type: MEDIA_PT,
            sequence_number: i as u16,
            ssrc: MEDIA_SSRC,
            ..Default::default()
        };
        map.write(&mut h, &TransportSequenceNumber(*tw));
        b.handle_rtp(
            t0 + Duration::from_millis(10 * i as u64),
            &h.to_vec(b"abc", 0).unwrap(),
        )
        .unwrap();
    }
    b.handle_timeout(t0 + Duration::from_millis(100));
    let fbs: Vec<TransportFeedback> = rtcp_of(&transmits(&mut b))
        .into_iter()
        .flatten()
        .filter_map(|p| {
            if let RtcpPacket::TransportFeedback(f) = p {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(fbs.len(), 1);
    let f = &fbs[0];
    assert_eq!(f.base_sequence, 10);
    assert_eq!(f.media_ssrc, MEDIA_SSRC);
    let arr: Vec<(u16, Option<i64>)> = f.arrivals().collect();
    assert_eq!(arr.len(), 5);
    assert_eq!(arr[2], (12, None));
    // arrival spacing is 10 ms between consecutive received packets
    assert_eq!(arr[1].1.unwrap() - arr[0].1.unwrap(), 10_000);
    assert_eq!(arr[4].1.unwrap() - arr[3].1.unwrap(), 10_000);
    let _ = TransportSequenceNumber::parse(&[0, 1]).unwrap();
}

#[test]
fn nack_list_overflow_sends_pli() {
    let t0 = base();
    let mut b = RtpSession::new(config(0xb, 2), t0, 0);
    b.handle_rtp(t0, &media(1)).unwrap();
    b.handle_rtp(t0, &media(2500)).unwrap();
    let ev = events(&mut b);
    assert!(ev.contains(&Event::KeyframeRequestSent { ssrc: MEDIA_SSRC }));
    // the PLI leaves at once, without waiting for a timer
    let fb: Vec<RtcpPacket> = rtcp_of(&transmits(&mut b)).into_iter().flatten().collect();
    assert!(fb.iter().any(|p| matches!(
        p,
        RtcpPacket::Pli(Pli {
            media_ssrc: MEDIA_SSRC,
            ..
        })
    )));
}

#[test]
fn feedback_reduced_size_or_compound() {
    let t0 = base();
    for reduced in [true, false] {
        let cfg = SessionConfig {
            reduced_size_rtcp: reduced,
            ..config(0xb, 2)
        };
        let mut b = RtpSession::new(cfg, t0, 0);
        b.handle_timeout(t0); // first regular report
        transmits(&mut b);
        b.handle_rtp(t0, &media(1)).unwrap();
        b.handle_rtp(t0, &media(4)).unwrap();
        b.handle_timeout(t0 + Duration::from_millis(10));
        let ps = rtcp_of(&transmits(&mut b));
        let nack_pkt = ps
            .iter()
            .find(|c| c.iter().any(|p| matches!(p, RtcpPacket::Nack(_))))
            .unwrap();
        let nack = nack_pkt
            .iter()
            .find_map(|p| {
                if let RtcpPacket::Nack(n) = p {
                    Some(n)
                } else {
                    None
                }
            })
            .unwrap();
        assert_eq!(nack.sequence_numbers().collect::<Vec<_>>(), vec![2, 3]);
        if reduced {
            assert_eq!(nack_pkt.len(), 1, "RFC 5506 reduced-size: feedback alone");
        } else {
            assert!(
                matches!(nack_pkt[0], RtcpPacket::ReceiverReport(_)),
                "RFC 3550 compound starts with RR"
            );
            assert!(matches!(nack_pkt[1], RtcpPacket::SourceDescription(_)));
        }
    }
}

#[test]
fn retransmission_to_nack_without_rtx_and_duplicate_suppressed() {
    let t0 = base();
    let mut cfg = config(0xa, 1);
    cfg.bwe.initial_probing = false;
    let mut a = RtpSession::new(cfg, t0, 1 << 32);
    a.add_send_stream(SendStreamConfig::new(MEDIA_SSRC, 90_000));
    for s in 1..=5 {
        a.send_rtp(t0, &media(s)).unwrap();
    }
    a.handle_timeout(t0 + Duration::from_millis(100));
    transmits(&mut a);
    let nack = RtcpPacket::Nack(Nack::from_sequence_numbers(9, MEDIA_SSRC, &[3]))
        .to_vec()
        .unwrap();
    a.handle_rtcp(t0 + Duration::from_millis(200), &nack)
        .unwrap();
    a.handle_timeout(t0 + Duration::from_millis(200));
    let rtp: Vec<_> = transmits(&mut a)
        .into_iter()
        .filter(|t| t.kind == TransmitKind::Rtp)
        .collect();
    assert_eq!(rtp.len(), 1);
    let p = RtpPacket::new_checked(&rtp[0].data[..]).unwrap();
    assert_eq!((p.ssrc(), p.sequence_number()), (MEDIA_SSRC, 3));
    // the same NACK again within an RTT is not answered twice
    a.handle_rtcp(t0 + Duration::from_millis(210), &nack)
        .unwrap();
    a.handle_timeout(t0 + Duration::from_millis(210));
    assert!(
        transmits(&mut a)
            .iter()
            .all(|t| t.kind != TransmitKind::Rtp)
    );
    assert!(events(&mut a).iter().any(|e| matches!(
        e,
        Event::NackRequested {
            ssrc: MEDIA_SSRC,
            ..
        }
    )));
}

#[test]
fn rfc8888_feedback_drives_the_estimator() {
    let t0 = base();
    let mut cfg = SessionConfig {
        extensions: Default::default(),
        ..config(0xa, 1)
    };
    cfg.bwe.initial_probing = false;
    let mut a = RtpSession::new(cfg, t0, 1 << 32);
    a.add_send_stream(SendStreamConfig::new(MEDIA_SSRC, 90_000));
    // 200 packets over 2 s; the receiver reports them in 100 ms blocks
    for i in 0..200u16 {
        let now = t0 + Duration::from_millis(10 * u64::from(i));
        a.send_rtp(now, &media(i)).unwrap();
        a.handle_timeout(now);
        transmits(&mut a);
        if i % 10 == 9 {
            // arrival = report time − offset; report 50 ms after the last packet, 10 ms apart
            let report_ms = 10 * u32::from(i) + 50 + 30_000;
            let block_start = i - 9;
            let reports: Vec<CcfbReport> = (0..10u16)
                .map(|k| CcfbReport {
                    received: (block_start + k) % 10 != 0,
                    ecn: 0,
                    arrival_time_offset: ((50 + 10 * (9 - u32::from(k))) * 1024 / 1000) as u16,
                })
                .collect();
            let fb = RtcpPacket::CongestionControlFeedback(CongestionControlFeedback {
                sender_ssrc: 9,
                blocks: vec![CcfbBlock {
                    media_ssrc: MEDIA_SSRC,
                    begin_seq: block_start,
                    reports,
                }],
                report_timestamp: ((u64::from(report_ms) << 16) / 1000) as u32,
            });
            a.handle_rtcp(now + Duration::from_millis(50), &fb.to_vec().unwrap())
                .unwrap();
        }
    }
    let bwe = a.bandwidth_estimator();
    // 200 packets of 116 bytes + 4 in 2 s ≈ 86 kbit/s delivered, 90 % of them
    let acked = bwe.acked_bitrate().unwrap();
    assert!((60_000..120_000).contains(&acked), "acked {acked}");
    assert!(
        (bwe.loss_fraction() - 0.1).abs() < 0.02,
        "loss {}",
        bwe.loss_fraction()
    );
}
