//! Property tests: descriptor `parse(emit(x)) == x`, and packetize → depacketize → reassemble
//! gives back the frame across MTUs and PictureID wrap.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use tern_vp8_engine::wire::header::emit_header;
use tern_vp8_engine::{
    FrameToSend, PacketizerConfig, PictureId, PictureIdMode, TemporalInfo, Vp8Descriptor,
    Vp8Packet, Vp8Packetizer,
};

fn descriptor() -> impl Strategy<Value = Vp8Descriptor> {
    (
        any::<bool>(),
        any::<bool>(),
        0u8..8,
        prop_oneof![
            Just(None),
            (0u8..128).prop_map(|v| Some(PictureId::Short(v))),
            (0u16..0x8000).prop_map(|v| Some(PictureId::Long(v))),
        ],
        proptest::option::of(any::<u8>()),
        proptest::option::of(
            (0u8..4, any::<bool>()).prop_map(|(tid, layer_sync)| TemporalInfo { tid, layer_sync }),
        ),
        proptest::option::of(0u8..32),
    )
        .prop_map(
            |(n, s, pid, picture_id, tl0, temporal, key_idx)| Vp8Descriptor {
                non_reference: n,
                start_of_partition: s,
                partition_index: pid,
                picture_id,
                tl0_pic_idx: tl0,
                temporal,
                key_idx,
            },
        )
}

proptest! {
    #[test]
    fn descriptor_roundtrip(d in descriptor()) {
        let mut buf = [0u8; 8];
        let n = d.emit(&mut buf).unwrap();
        prop_assert_eq!(n, d.buffer_len());
        let (back, m) = Vp8Descriptor::parse(&buf[..n]).unwrap();
        prop_assert_eq!(m, n);
        prop_assert_eq!(back, d);
    }

    #[test]
    fn descriptor_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
        let _ = Vp8Packet::parse(&bytes);
    }

    #[test]
    fn packetize_roundtrip(
        // 14: the longest descriptor here (4 bytes) plus a key frame's 10-byte payload header.
        mtu in 14usize..1500,
        first in 1u32..3000,
        extra in 0usize..6000,
        key in any::<bool>(),
        start_pid in 0u16..0x8000,
        short in any::<bool>(),
        frames in 1usize..4,
    ) {
        let mode = if short { PictureIdMode::Short } else { PictureIdMode::Long };
        let mut p = Vp8Packetizer::new(PacketizerConfig {
            mtu,
            picture_id: mode,
            initial_picture_id: start_pid,
            ..Default::default()
        });
        for i in 0..frames {
            let mut frame = emit_header(first, key.then_some((64, 48)));
            let body = first as usize + extra;
            frame.extend((0..body).map(|j| (j * 7 + i) as u8));
            let pkts = p.packetize(&FrameToSend { data: &frame, ..Default::default() }).unwrap();
            let mut joined = Vec::new();
            for (k, pkt) in pkts.iter().enumerate() {
                prop_assert!(pkt.len() <= mtu);
                let v = Vp8Packet::parse(pkt).unwrap();
                prop_assert_eq!(v.descriptor.is_frame_start(), k == 0);
                prop_assert_eq!(k == 0 && key, v.is_key_frame());
                let want = if short {
                    PictureId::Short(((start_pid as usize + i) % 128) as u8)
                } else {
                    PictureId::Long(((start_pid as usize + i) % 0x8000) as u16)
                };
                prop_assert_eq!(v.descriptor.picture_id, Some(want));
                joined.extend_from_slice(v.payload);
            }
            prop_assert_eq!(joined, frame);
        }
    }
}

/// Regression (found by `packetize_roundtrip` with MTU 12): the first packet must hold the
/// whole payload header, or the receiver cannot read the frame's start.
#[test]
fn first_packet_holds_the_whole_payload_header() {
    use tern_vp8_engine::Error;
    // A key frame whose first partition (10-byte header + 1 byte) is just over one packet.
    let mut frame = emit_header(1, Some((64, 48)));
    frame.push(0xaa);
    frame.extend([0x55; 30]);
    for mtu in 14..40 {
        let mut p = Vp8Packetizer::new(PacketizerConfig {
            mtu,
            ..Default::default()
        });
        let pkts = p
            .packetize(&FrameToSend {
                data: &frame,
                ..Default::default()
            })
            .unwrap();
        let first = Vp8Packet::parse(&pkts[0]).unwrap();
        assert!(first.is_key_frame(), "mtu {mtu}");
        let mut joined = Vec::new();
        for pkt in &pkts {
            assert!(pkt.len() <= mtu);
            joined.extend_from_slice(Vp8Packet::parse(pkt).unwrap().payload);
        }
        assert_eq!(joined, frame, "mtu {mtu}");
    }
    // An MTU that cannot carry descriptor + key-frame header is refused, not mis-split.
    let mut p = Vp8Packetizer::new(PacketizerConfig {
        mtu: 13,
        ..Default::default()
    });
    assert!(matches!(
        p.packetize(&FrameToSend {
            data: &frame,
            ..Default::default()
        }),
        Err(Error::MtuTooSmall { mtu: 13, .. })
    ));
}

/// Regression (fuzz target `vp8_packetize`): partition offsets whose first partition is
/// shorter than the payload header would put a piece of the header in the first packet.
#[test]
fn first_partition_shorter_than_the_payload_header_is_refused() {
    use tern_vp8_engine::Error;
    let mut frame = emit_header(10, None);
    frame.extend([0u8; 20]);
    let mut p = Vp8Packetizer::new(PacketizerConfig::default());
    let r = p.packetize(&FrameToSend {
        data: &frame,
        partitions: &[0, 1, 13],
        ..Default::default()
    });
    assert!(matches!(r, Err(Error::InvalidPartitionOffsets)));
    assert_eq!(
        p.next_picture_id(),
        Some(PictureId::Long(0)),
        "counters unchanged"
    );
}
