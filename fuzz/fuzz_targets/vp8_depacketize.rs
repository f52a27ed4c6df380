#![no_main]
//! RFC 7741 depacketizer: descriptor + payload header parsing, and the whole-frame checks.
use libfuzzer_sys::fuzz_target;
use tern_vp8_engine::{Vp8Packet, Vp8PayloadHeader};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Vp8Packet::parse(data) {
        let _ = Vp8PayloadHeader::parse_frame(p.payload, 1 << 22);
    }
});
