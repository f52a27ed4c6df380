#![no_main]
//! ChannelData decoding (strict and RFC 5766 range) and TCP stream reframing in fuzzed chunks.
use libfuzzer_sys::fuzz_target;
use tern_turn::wire::channel_data::LEGACY_MAX_CHANNEL;
use tern_turn::{ChannelData, StreamFramer};

fuzz_target!(|data: &[u8]| {
    if let Ok(cd) = ChannelData::decode(data) {
        let mut out = Vec::new();
        cd.encode(false, &mut out).unwrap();
        assert_eq!(ChannelData::decode(&out).unwrap(), cd);
    }
    let _ = ChannelData::decode_with_max(data, LEGACY_MAX_CHANNEL);
    // First byte picks the chunk size; the rest is the stream.
    let Some((&chunk, stream)) = data.split_first() else { return };
    let mut framer = StreamFramer::default();
    for piece in stream.chunks(usize::from(chunk).max(1)) {
        if framer.push(piece).is_err() {
            return;
        }
        loop {
            match framer.next_frame() {
                Ok(Some(frame)) => {
                    let _ = ChannelData::decode(&frame);
                    let _ = tern_stun::Message::decode(&frame);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
