#![no_main]
//! Packetizer round trip: any frame, any MTU, any partition offsets and descriptor fields
//! either packetize into payloads within the MTU that parse and reassemble to the frame
//! (the first one carrying the whole payload header), or give an error.
use libfuzzer_sys::fuzz_target;
use tern_vp8_engine::{
    FrameToSend, PacketizerConfig, PictureIdMode, TemporalInfo, Vp8Packet, Vp8Packetizer,
    Vp8PayloadHeader,
};

fuzz_target!(|data: &[u8]| {
    let [mtu, flags, tid, cut0, cut1, frame @ ..] = data else {
        return;
    };
    let mtu = usize::from(*mtu) + 1;
    let mut partitions = vec![0usize];
    for c in [cut0, cut1] {
        let at = usize::from(*c);
        if at > *partitions.last().unwrap_or(&0) && at < frame.len() && flags & 1 != 0 {
            partitions.push(at);
        }
    }
    let mut p = Vp8Packetizer::new(PacketizerConfig {
        mtu,
        picture_id: match flags >> 1 & 3 {
            0 => PictureIdMode::None,
            1 => PictureIdMode::Short,
            _ => PictureIdMode::Long,
        },
        ..PacketizerConfig::default()
    });
    let f = FrameToSend {
        data: frame,
        partitions: if partitions.len() > 1 { &partitions } else { &[] },
        non_reference: flags & 8 != 0,
        temporal: (flags & 16 != 0).then_some(TemporalInfo {
            tid: tid & 3,
            layer_sync: tid & 4 != 0,
        }),
        key_idx: (flags & 32 != 0).then_some(tid >> 3 & 31),
    };
    let Ok(pkts) = p.packetize(&f) else {
        return;
    };
    let mut joined = Vec::new();
    for (k, pkt) in pkts.iter().enumerate() {
        assert!(pkt.len() <= mtu);
        match Vp8Packet::parse(pkt) {
            Ok(v) => {
                assert_eq!(v.descriptor.is_frame_start(), k == 0);
                joined.extend_from_slice(v.payload);
            }
            // A frame whose own first bytes are not a valid VP8 payload header (too short, a
            // key frame without the start code) is packetized as given; the receiver refuses
            // it. A valid header must arrive whole in the first packet.
            Err(_) if k == 0 && Vp8PayloadHeader::parse(frame).is_err() => return,
            Err(e) => panic!("packet {k} does not parse: {e:?}"),
        }
    }
    assert_eq!(joined, frame);
});
