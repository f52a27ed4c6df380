//! Shared inputs of the comparison benchmark.

use tern_rtp_rtcp::wire::ext::{AbsSendTime, ExtensionKind, ExtensionMap, Mid, TransportSequenceNumber};
use tern_rtp_rtcp::wire::rtcp::{
    Nack, PacketStatus, ReceiverReport, ReportBlock, RtcpPacket, SourceDescription, TransportFeedback,
};
use tern_rtp_rtcp::wire::rtp::RtpHeader;

/// Extension ids as Chromium offers them.
pub fn ext_map() -> ExtensionMap {
    let mut map = ExtensionMap::new();
    map.insert(2, ExtensionKind::AbsSendTime).unwrap();
    map.insert(3, ExtensionKind::TransportWideCc).unwrap();
    map.insert(9, ExtensionKind::Mid).unwrap();
    map
}

/// A 1200-byte-payload video packet with abs-send-time, transport-wide-cc and mid.
pub fn video_packet() -> Vec<u8> {
    let map = ext_map();
    let mut h = RtpHeader { marker: true, payload_type: 96, sequence_number: 4242, timestamp: 90_000, ssrc: 0x1234_5678, ..Default::default() };
    map.write(&mut h, &AbsSendTime(0x123456));
    map.write(&mut h, &TransportSequenceNumber(77));
    map.write(&mut h, &Mid("0".into()));
    h.to_vec(&[0xab; 1200], 0).unwrap()
}

/// RR (1 block) + SDES CNAME + TWCC feedback (40 packets) + NACK, as a browser sends them.
pub fn compound() -> Vec<u8> {
    let ps = vec![
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![ReportBlock { ssrc: 2, extended_highest_seq: 1000, jitter: 12, ..Default::default() }],
            profile_extension: vec![],
        }),
        RtcpPacket::SourceDescription(SourceDescription::cname(1, "QvsQn2bZzGNw6i+V")),
        RtcpPacket::TransportFeedback(TransportFeedback {
            sender_ssrc: 1,
            media_ssrc: 2,
            base_sequence: 100,
            reference_time: 5000,
            feedback_count: 3,
            packets: (0..40).map(|i| if i % 9 == 4 { PacketStatus::NotReceived } else { PacketStatus::SmallDelta(i as u8) }).collect(),
        }),
        RtcpPacket::Nack(Nack::from_sequence_numbers(1, 2, &[10, 12, 13, 40])),
    ];
    RtcpPacket::compound_to_vec(&ps).unwrap()
}
