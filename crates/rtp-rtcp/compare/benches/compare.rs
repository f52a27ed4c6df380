//! tern-rtp-rtcp vs webrtc-rs rtc-rtp / rtc-rtcp on identical bytes, same run.

use bytes::Buf;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rtc_shared::marshal::Unmarshal;
use tern_rtp_rtcp::wire::ext::TransportSequenceNumber;
use tern_rtp_rtcp::wire::rtcp::RtcpPacket;
use tern_rtp_rtcp::wire::rtp::{RtpHeader, RtpPacket};
use tern_rtp_rtcp_compare::{compound, ext_map, video_packet};

fn rtp(c: &mut Criterion) {
    let pkt = video_packet();
    let map = ext_map();
    let mut g = c.benchmark_group("rtp_parse_and_twcc_lookup");
    g.bench_function("tern (checked view)", |b| {
        b.iter(|| {
            let p = RtpPacket::new_checked(black_box(&pkt[..])).unwrap();
            let seq = map.read::<TransportSequenceNumber, _>(&p).unwrap().unwrap();
            black_box((p.sequence_number(), p.payload().len(), seq))
        })
    });
    g.bench_function("tern (owned header)", |b| {
        b.iter(|| {
            let p = RtpPacket::new_checked(black_box(&pkt[..])).unwrap();
            let h = RtpHeader::parse(&p);
            let seq = h.extensions.as_ref().and_then(|e| e.get(3)).map(|d| u16::from_be_bytes([d[0], d[1]]));
            black_box((h.sequence_number, p.payload().len(), seq))
        })
    });
    g.bench_function("rtc-rtp 0.21.1", |b| {
        b.iter(|| {
            let mut buf = black_box(&pkt[..]);
            let p = rtc_rtp::packet::Packet::unmarshal(&mut buf).unwrap();
            let mut ext = p.header.get_extension(3).unwrap();
            let seq = rtc_rtp::extension::transport_cc_extension::TransportCcExtension::unmarshal(&mut ext).unwrap();
            black_box((p.header.sequence_number, p.payload.len(), seq.transport_sequence))
        })
    });
    g.finish();
}

fn rtcp(c: &mut Criterion) {
    let bytes = compound();
    // both parse the same compound completely
    assert_eq!(RtcpPacket::parse_compound(&bytes).unwrap().len(), 4);
    assert_eq!(rtc_rtcp::packet::unmarshal(&mut &bytes[..]).unwrap().len(), 4);
    let mut g = c.benchmark_group("rtcp_compound_parse");
    g.bench_function("tern", |b| b.iter(|| black_box(RtcpPacket::parse_compound(black_box(&bytes)).unwrap().len())));
    g.bench_function("rtc-rtcp 0.21.1", |b| {
        b.iter(|| {
            let mut buf = black_box(&bytes[..]);
            let v = rtc_rtcp::packet::unmarshal(&mut buf).unwrap();
            black_box((v.len(), buf.remaining()))
        })
    });
    g.finish();
}

criterion_group!(group, rtp, rtcp);
criterion_main!(group);
