//! Criterion benches: RTP parse + header-extension lookup, RTCP compound parse.
//!
//! Run: `cargo bench -p tern-rtp-rtcp --bench rtp_rtcp`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tern_rtp_rtcp::wire::ext::{
    AbsSendTime, ExtensionKind, ExtensionMap, Mid, TransportSequenceNumber,
};
use tern_rtp_rtcp::wire::rtcp::{
    Nack, PacketStatus, ReceiverReport, ReportBlock, RtcpPacket, SourceDescription,
    TransportFeedback,
};
use tern_rtp_rtcp::wire::rtp::{RtpHeader, RtpPacket};

/// A typical Chromium video packet: 3 one-byte extensions, 1200-byte payload.
fn video_packet(map: &ExtensionMap) -> Vec<u8> {
    let mut h = RtpHeader {
        marker: true,
        payload_type: 96,
        sequence_number: 4242,
        timestamp: 90_000,
        ssrc: 0x1234_5678,
        ..Default::default()
    };
    map.write(&mut h, &AbsSendTime(0x123456));
    map.write(&mut h, &TransportSequenceNumber(77));
    map.write(&mut h, &Mid("0".into()));
    h.to_vec(&[0xab; 1200], 0).unwrap()
}

/// A Chromium-like compound: RR (1 block) + SDES CNAME + TWCC (40 packets) + NACK.
pub fn compound() -> Vec<u8> {
    let ps = vec![
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![ReportBlock {
                ssrc: 2,
                extended_highest_seq: 1000,
                jitter: 12,
                ..Default::default()
            }],
            profile_extension: vec![],
        }),
        RtcpPacket::SourceDescription(SourceDescription::cname(1, "QvsQn2bZzGNw6i+V")),
        RtcpPacket::TransportFeedback(TransportFeedback {
            sender_ssrc: 1,
            media_ssrc: 2,
            base_sequence: 100,
            reference_time: 5000,
            feedback_count: 3,
            packets: (0..40)
                .map(|i| {
                    if i % 9 == 4 {
                        PacketStatus::NotReceived
                    } else {
                        PacketStatus::SmallDelta(i as u8)
                    }
                })
                .collect(),
        }),
        RtcpPacket::Nack(Nack::from_sequence_numbers(1, 2, &[10, 12, 13, 40])),
    ];
    RtcpPacket::compound_to_vec(&ps).unwrap()
}

fn benches(c: &mut Criterion) {
    let mut map = ExtensionMap::new();
    map.insert(2, ExtensionKind::AbsSendTime).unwrap();
    map.insert(3, ExtensionKind::TransportWideCc).unwrap();
    map.insert(9, ExtensionKind::Mid).unwrap();
    let pkt = video_packet(&map);
    c.bench_function("rtp_parse_and_twcc_lookup", |b| {
        b.iter(|| {
            let p = RtpPacket::new_checked(black_box(&pkt[..])).unwrap();
            let seq = map.read::<TransportSequenceNumber, _>(&p).unwrap().unwrap();
            black_box((p.sequence_number(), p.payload().len(), seq))
        })
    });
    let rtcp = compound();
    c.bench_function("rtcp_compound_parse", |b| {
        b.iter(|| black_box(RtcpPacket::parse_compound(black_box(&rtcp)).unwrap().len()))
    });
}

criterion_group!(group, benches);
criterion_main!(group);
