use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

fn round_trip(p: &RtcpPacket) {
    let bytes = p.to_vec().unwrap();
    assert_eq!(bytes.len() % 4, 0);
    assert_eq!(bytes.len(), p.buffer_len());
    let back = RtcpPacket::parse_compound(&bytes).unwrap();
    assert_eq!(back, vec![p.clone()]);
}

// A receiver report captured from Chromium (RR + SDES CNAME compound; values from a real
// session, SSRCs anonymised to 1 and 0x2a).
static CHROME_RR_SDES: [u8; 52] = [
    0x81, 0xc9, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, // RR, RC=1, len 7, ssrc 1
    0x00, 0x00, 0x00, 0x2a, 0x05, 0x00, 0x00, 0x03, // block ssrc, fraction 5, lost 3
    0x00, 0x01, 0x12, 0x34, 0x00, 0x00, 0x00, 0x10, // ext seq, jitter
    0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0x00, 0x00, // lsr, dlsr
    0x81, 0xca, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, // SDES SC=1 len 4
    0x01, 0x0a, b'a', b'b', b'c', b'd', b'e', b'f', // CNAME len 10
    b'g', b'h', b'i', b'j', // ... then two nulls
];

#[test]
fn parse_rr_sdes_compound() {
    let mut bytes = CHROME_RR_SDES.to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes[35] = 5; // SDES length now 5 words
    let ps = RtcpPacket::parse_compound(&bytes).unwrap();
    assert_eq!(ps.len(), 2);
    let RtcpPacket::ReceiverReport(rr) = &ps[0] else {
        panic!()
    };
    assert_eq!(rr.reports[0].fraction_lost, 5);
    assert_eq!(rr.reports[0].cumulative_lost, 3);
    assert_eq!(rr.reports[0].extended_highest_seq, 0x11234);
    assert_eq!(rr.reports[0].delay_since_last_sr, 0x10000);
    let RtcpPacket::SourceDescription(s) = &ps[1] else {
        panic!()
    };
    assert_eq!(s.chunks[0].items[0].value, b"abcdefghij");
    assert_eq!(RtcpPacket::compound_to_vec(&ps).unwrap(), bytes);
}

#[test]
fn twcc_vector_from_libwebrtc_layout() {
    // base seq 1, 3 packets: run-length chunk (symbol 01, run 3), deltas 1, 2, 3 ticks.
    let bytes = [
        0x8f, 0xcd, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x10,
        0x07, 0x20, 0x03, 1, 2, 3, 0, 0, 0,
    ];
    let ps = RtcpPacket::parse_compound(&bytes).unwrap();
    let RtcpPacket::TransportFeedback(t) = &ps[0] else {
        panic!()
    };
    assert_eq!(t.reference_time, 0x10);
    assert_eq!(t.feedback_count, 7);
    assert_eq!(
        t.packets,
        vec![
            PacketStatus::SmallDelta(1),
            PacketStatus::SmallDelta(2),
            PacketStatus::SmallDelta(3)
        ]
    );
    let arr: Vec<_> = t.arrivals().collect();
    assert_eq!(arr[2], (3, Some(16 * 64_000 + 6 * 250)));
    assert_eq!(ps[0].to_vec().unwrap(), bytes);
}

#[test]
fn nack_from_sequence_numbers_wraps() {
    let n = Nack::from_sequence_numbers(1, 2, &[65534, 65535, 0, 5, 40]);
    assert_eq!(n.pairs.len(), 2);
    assert_eq!(
        n.sequence_numbers().collect::<Vec<_>>(),
        vec![65534, 65535, 0, 5, 40]
    );
}

#[test]
fn remb_bitrate() {
    let r = Remb::new(1, 2_500_000, vec![5, 6]);
    assert!(r.bitrate() <= 2_500_000 && r.bitrate() > 2_490_000);
    round_trip(&RtcpPacket::Remb(r));
}

// ---- BAD_INPUT row 36 (RTCP) ----

#[test]
fn bad_input_rtp_rtcp_36_length_zero_and_overflow() {
    // length 0 = header only: an RR with no SSRC is truncated
    assert!(matches!(
        RtcpPacket::parse_compound(&[0x80, 0xc9, 0, 0]),
        Err(Error::RtcpTruncated { .. })
    ));
    // length pointing past the end
    assert!(matches!(
        RtcpPacket::parse_compound(&[0x80, 0xc9, 0xff, 0xff, 0, 0, 0, 1]),
        Err(Error::RtcpLengthOverrun {
            length_words: 0xffff,
            ..
        })
    ));
    assert!(matches!(
        RtcpPacket::parse_compound(&[]),
        Err(Error::RtcpEmpty)
    ));
    assert!(matches!(
        RtcpPacket::parse_compound(&[0x80, 0xc9]),
        Err(Error::RtcpTruncated { .. })
    ));
}

#[test]
fn bad_input_rtp_rtcp_36_rc_beyond_data() {
    // RR claiming 31 report blocks in an 8-byte packet
    let bytes = [0x9f, 0xc9, 0x00, 0x01, 0, 0, 0, 1];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::RtcpCountOverrun { count: 31, .. })
    ));
    // SR with RC=1 and no block
    let mut sr = vec![0x81, 0xc8, 0x00, 0x06];
    sr.extend_from_slice(&[0; 24]);
    assert!(matches!(
        RtcpPacket::parse_compound(&sr),
        Err(Error::RtcpCountOverrun { count: 1, .. })
    ));
}

#[test]
fn bad_input_rtp_rtcp_36_sdes_past_the_end() {
    // item length 200 in a 12-byte SDES
    let bytes = [0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 200, b'a', b'b'];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::SdesOverrun { .. })
    ));
    // no null terminator
    let bytes = [0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, b'a', b'b'];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::SdesOverrun { .. })
    ));
    // SC=31 chunks in 8 bytes
    let bytes = [0x9f, 0xca, 0x00, 0x01, 0, 0, 0, 1];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::RtcpCountOverrun { .. })
    ));
}

#[test]
fn bad_input_rtp_rtcp_36_nack_twcc_remb_huge_counts() {
    // NACK without FCI
    let bytes = [0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::BadFci { .. })
    ));
    // TWCC: status count 65535 with a single chunk: must fail, not allocate or loop forever
    let bytes = [
        0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0xff, 0xff, 0, 0, 0, 0, 0x3f, 0xff,
        0, 0,
    ];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::TwccMalformed { .. })
    ));
    // TWCC: deltas missing
    let bytes = [
        0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0x00, 0x10, 0, 0, 0, 0, 0x20, 0x10,
        0, 0,
    ];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::TwccMalformed { .. })
    ));
    // REMB claiming 255 SSRCs
    let bytes = [
        0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 0xff, 0, 0, 1,
    ];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::RembMalformed { .. })
    ));
    // RFC 8888 with num_reports beyond the packet
    let bytes = [
        0x8b, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0xff, 0xff, 0, 0, 0, 0,
    ];
    assert!(matches!(
        RtcpPacket::parse_compound(&bytes),
        Err(Error::CcfbMalformed { .. })
    ));
}

#[test]
fn bad_input_rtp_rtcp_36_padding_bad_count() {
    let pli = RtcpPacket::Pli(Pli {
        sender_ssrc: 1,
        media_ssrc: 2,
    })
    .to_vec()
    .unwrap();
    // a padded packet that is not the last one (libwebrtc does this with TWCC): accepted
    let mut padded = vec![0xa1, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4];
    padded.extend_from_slice(&pli);
    let ps = RtcpPacket::parse_compound(&padded).unwrap();
    assert_eq!(ps.len(), 2);
    assert_eq!(
        ps[0],
        RtcpPacket::Pli(Pli {
            sender_ssrc: 1,
            media_ssrc: 2
        })
    );
    // ...but its count must stay inside it
    padded[15] = 13;
    assert!(matches!(
        RtcpPacket::parse_compound(&padded),
        Err(Error::RtcpBadPadding { at: 0 })
    ));
    // padding count 0 / larger than the body
    let mut p = pli.clone();
    p[0] |= 0x20;
    p[11] = 0;
    assert!(matches!(
        RtcpPacket::parse_compound(&p),
        Err(Error::RtcpBadPadding { .. })
    ));
    p[11] = 200;
    assert!(matches!(
        RtcpPacket::parse_compound(&p),
        Err(Error::RtcpBadPadding { .. })
    ));
}

#[test]
fn bad_input_rtp_rtcp_36_truncations_never_panic() {
    let all = sample_compound();
    for n in 0..all.len() {
        let _ = RtcpPacket::parse_compound(&all[..n]);
        let mut corrupt = all.clone();
        corrupt[n] ^= 0xff;
        let _ = RtcpPacket::parse_compound(&corrupt);
    }
}

fn sample_compound() -> Vec<u8> {
    let ps = vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 1,
            ntp_time: 0x1234_5678_9abc_def0,
            rtp_time: 9,
            packet_count: 3,
            octet_count: 4,
            reports: vec![ReportBlock {
                ssrc: 2,
                cumulative_lost: -3,
                ..Default::default()
            }],
            profile_extension: vec![],
        }),
        RtcpPacket::SourceDescription(SourceDescription::cname(1, "tern")),
        RtcpPacket::Nack(Nack::from_sequence_numbers(1, 2, &[1, 3, 70])),
        RtcpPacket::TransportFeedback(TransportFeedback {
            sender_ssrc: 1,
            media_ssrc: 2,
            base_sequence: 65530,
            reference_time: 100,
            feedback_count: 1,
            packets: vec![
                PacketStatus::SmallDelta(3),
                PacketStatus::NotReceived,
                PacketStatus::LargeDelta(-4),
            ],
        }),
        RtcpPacket::ExtendedReport(ExtendedReport {
            ssrc: 1,
            blocks: vec![
                XrBlock::ReceiverReferenceTime { ntp_time: 77 },
                XrBlock::Dlrr(vec![DlrrItem {
                    ssrc: 3,
                    last_rr: 4,
                    delay_since_last_rr: 5,
                }]),
            ],
        }),
        RtcpPacket::Goodbye(Goodbye {
            sources: vec![1],
            reason: Some(b"bye".to_vec()),
        }),
    ];
    RtcpPacket::compound_to_vec(&ps).unwrap()
}

// ---- property tests: parse(emit(x)) == x ----

fn report_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -(1i32 << 23)..(1 << 23),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(ssrc, f, l, e, j, lsr, dlsr)| ReportBlock {
            ssrc,
            fraction_lost: f,
            cumulative_lost: l,
            extended_highest_seq: e,
            jitter: j,
            last_sr: lsr,
            delay_since_last_sr: dlsr,
        })
}

fn words() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<[u8; 4]>(), 0..4).prop_map(|v| v.concat())
}

fn status() -> impl Strategy<Value = PacketStatus> {
    prop_oneof![
        Just(PacketStatus::NotReceived),
        any::<u8>().prop_map(PacketStatus::SmallDelta),
        any::<i16>().prop_map(PacketStatus::LargeDelta),
    ]
}

fn packet() -> impl Strategy<Value = RtcpPacket> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            vec(report_block(), 0..4),
            words()
        )
            .prop_map(
                |(ssrc, ntp, rtp, pc, oc, reports, ext)| RtcpPacket::SenderReport(SenderReport {
                    ssrc,
                    ntp_time: ntp,
                    rtp_time: rtp,
                    packet_count: pc,
                    octet_count: oc,
                    reports,
                    profile_extension: ext
                })
            ),
        (any::<u32>(), vec(report_block(), 0..4), words()).prop_map(|(ssrc, reports, ext)| {
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports,
                profile_extension: ext,
            })
        }),
        vec(
            (any::<u32>(), vec((1u8..=8, vec(any::<u8>(), 0..20)), 0..3)),
            0..3
        )
        .prop_map(|chunks| {
            RtcpPacket::SourceDescription(SourceDescription {
                chunks: chunks
                    .into_iter()
                    .map(|(ssrc, items)| SdesChunk {
                        ssrc,
                        items: items
                            .into_iter()
                            .map(|(kind, value)| SdesItem { kind, value })
                            .collect(),
                    })
                    .collect(),
            })
        }),
        (
            vec(any::<u32>(), 0..5),
            proptest::option::of(vec(any::<u8>(), 0..30))
        )
            .prop_map(|(sources, reason)| RtcpPacket::Goodbye(Goodbye { sources, reason })),
        (0u8..32, any::<u32>(), any::<[u8; 4]>(), words()).prop_map(
            |(subtype, ssrc, name, data)| RtcpPacket::App(App {
                subtype,
                ssrc,
                name,
                data
            })
        ),
        (
            any::<u32>(),
            any::<u64>(),
            vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..3),
            10u8..=255,
            words()
        )
            .prop_map(|(ssrc, ntp, d, bt, data)| RtcpPacket::ExtendedReport(
                ExtendedReport {
                    ssrc,
                    blocks: vec![
                        XrBlock::ReceiverReferenceTime { ntp_time: ntp },
                        XrBlock::Dlrr(
                            d.into_iter()
                                .map(|(ssrc, last_rr, delay_since_last_rr)| DlrrItem {
                                    ssrc,
                                    last_rr,
                                    delay_since_last_rr
                                })
                                .collect()
                        ),
                        XrBlock::Unknown {
                            block_type: bt,
                            type_specific: 1,
                            data
                        },
                    ]
                }
            )),
        (any::<u32>(), any::<u32>(), vec(any::<(u16, u16)>(), 1..5)).prop_map(|(s, m, p)| {
            RtcpPacket::Nack(Nack {
                sender_ssrc: s,
                media_ssrc: m,
                pairs: p
                    .into_iter()
                    .map(|(packet_id, lost_bitmask)| NackPair {
                        packet_id,
                        lost_bitmask,
                    })
                    .collect(),
            })
        }),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            0u32..0x0100_0000,
            any::<u8>(),
            vec(status(), 0..200)
        )
            .prop_map(|(s, m, b, r, c, packets)| RtcpPacket::TransportFeedback(
                TransportFeedback {
                    sender_ssrc: s,
                    media_ssrc: m,
                    base_sequence: b,
                    reference_time: r,
                    feedback_count: c,
                    packets
                }
            )),
        (
            any::<u32>(),
            vec(
                (
                    any::<u32>(),
                    any::<u16>(),
                    vec((any::<bool>(), 0u8..4, 0u16..0x2000), 0..9)
                ),
                0..3
            ),
            any::<u32>()
        )
            .prop_map(|(s, blocks, ts)| RtcpPacket::CongestionControlFeedback(
                CongestionControlFeedback {
                    sender_ssrc: s,
                    blocks: blocks
                        .into_iter()
                        .map(|(media_ssrc, begin_seq, r)| CcfbBlock {
                            media_ssrc,
                            begin_seq,
                            reports: r
                                .into_iter()
                                .map(|(received, ecn, arrival_time_offset)| CcfbReport {
                                    received,
                                    ecn,
                                    arrival_time_offset
                                })
                                .collect()
                        })
                        .collect(),
                    report_timestamp: ts
                }
            )),
        (any::<u32>(), any::<u32>()).prop_map(|(s, m)| RtcpPacket::Pli(Pli {
            sender_ssrc: s,
            media_ssrc: m
        })),
        (
            any::<u32>(),
            any::<u32>(),
            vec((0u16..0x2000, 0u16..0x2000, 0u8..0x40), 1..4)
        )
            .prop_map(|(s, m, e)| {
                RtcpPacket::Sli(Sli {
                    sender_ssrc: s,
                    media_ssrc: m,
                    entries: e
                        .into_iter()
                        .map(|(first, number, picture_id)| SliEntry {
                            first,
                            number,
                            picture_id,
                        })
                        .collect(),
                })
            }),
        (any::<u32>(), vec(any::<(u32, u8)>(), 1..4)).prop_map(|(s, e)| RtcpPacket::Fir(Fir {
            sender_ssrc: s,
            media_ssrc: 0,
            entries: e
                .into_iter()
                .map(|(ssrc, seq)| FirEntry { ssrc, seq })
                .collect()
        })),
        (
            any::<u32>(),
            0u8..64,
            0u32..0x40000,
            vec(any::<u32>(), 0..4)
        )
            .prop_map(|(s, exponent, mantissa, ssrcs)| {
                RtcpPacket::Remb(Remb {
                    sender_ssrc: s,
                    media_ssrc: 0,
                    exponent,
                    mantissa,
                    ssrcs,
                })
            }),
    ]
}

proptest! {
    #[test]
    fn prop_nack_lists_round_trip(start in any::<u16>(), gaps in vec(1u16..40, 1..60)) {
        let mut seqs = vec![start];
        for g in gaps {
            let next = seqs.last().unwrap().wrapping_add(g);
            seqs.push(next);
        }
        let n = Nack::from_sequence_numbers(1, 2, &seqs);
        prop_assert_eq!(n.sequence_numbers().collect::<Vec<_>>(), seqs);
    }

    #[test]
    fn prop_rtcp_round_trip(ps in vec(packet(), 1..5)) {
        let bytes = RtcpPacket::compound_to_vec(&ps).unwrap();
        prop_assert_eq!(RtcpPacket::parse_compound(&bytes).unwrap(), ps);
    }

    #[test]
    fn prop_rtcp_parse_never_panics(bytes in vec(any::<u8>(), 0..200)) {
        let _ = RtcpPacket::parse_compound(&bytes);
    }
}

#[test]
fn every_type_round_trips() {
    for p in RtcpPacket::parse_compound(&sample_compound()).unwrap() {
        round_trip(&p);
    }
}
