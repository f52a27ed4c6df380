#![no_main]
//! The whole `NetEq` state machine driven by a byte script of packet inserts (arbitrary
//! timestamps, payload types, payloads, arrival jitter, including Opus TOC/LBRR parsing) and
//! 10 ms playout pulls. Never panics, the buffer stays bounded, every pull yields one frame.

use libfuzzer_sys::fuzz_target;
use tern_neteq::{ComfortNoiseDecoder, L16Decoder, NetEq, NetEqConfig, OpusDecoder, SampleRate};

const MAX_PACKETS: usize = 50;

fuzz_target!(|data: &[u8]| {
    let mut config = NetEqConfig::new(SampleRate::Hz16000);
    config.max_packets = MAX_PACKETS;
    let mut n = NetEq::new(config);
    let _ = n.register_decoder(96, Box::new(L16Decoder::new(16_000)));
    let _ = n.register_decoder(13, Box::new(ComfortNoiseDecoder::new(16_000)));
    if let Ok(opus) = OpusDecoder::new(16_000) {
        let _ = n.register_decoder(111, Box::new(opus));
    }
    let mut out = [0i16; 160];
    let mut ts = 0u32;
    let mut seq = 0u16;
    let mut last_discarded = 0;
    let mut rest = data;
    // script: [op, a, b, len, payload...]
    while let [op, a, b, len, tail @ ..] = rest {
        let take = usize::from(*len).min(tail.len());
        let (payload, more) = tail.split_at(take);
        rest = more;
        match op % 5 {
            0 | 1 => {
                // Timestamp step: mostly one packet ahead, sometimes anywhere.
                let step = i32::from(i16::from_le_bytes([*a, *b]));
                ts = if op % 5 == 0 { ts.wrapping_add(320) } else { ts.wrapping_add(step as u32) };
                seq = seq.wrapping_add(1);
                let pt = [96u8, 13, 111, 97, 200][usize::from(op >> 5) % 5];
                let arrival = n.playout_clock().saturating_add(u64::from(*a) * 16);
                let _ = n.insert_packet(ts, seq, pt, payload, arrival);
            }
            2 => {
                for _ in 0..=(*a % 8) {
                    let info = n.get_audio(&mut out).expect("10 ms frame");
                    assert_eq!(info.samples, 160);
                }
            }
            3 => {
                ts = u32::from_le_bytes([*a, *b, *len, op.wrapping_mul(31)]);
            }
            _ => match *a % 3 {
                0 => n.flush(),
                1 => n.remove_decoder(96),
                _ => {
                    let _ = n.register_decoder(96, Box::new(L16Decoder::new(16_000)));
                }
            },
        }
        assert!(n.packets_buffered() <= MAX_PACKETS);
        let s = n.stats();
        assert!(s.packets_discarded >= last_discarded);
        last_discarded = s.packets_discarded;
        assert!(s.jitter_buffer_delay.is_finite());
    }
    let _ = n.get_audio(&mut out).expect("10 ms frame");
});
