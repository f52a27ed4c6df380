#![no_main]
//! Any bytes as a signaling text frame: parsing never panics, and whatever
//! parses serializes back to the same message.
use libfuzzer_sys::fuzz_target;
use tern_signaling::{ClientMessage, ServerMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = ClientMessage::from_json(data) {
        assert_eq!(
            ClientMessage::from_json(msg.to_json().as_bytes()).ok(),
            Some(msg)
        );
    }
    if let Ok(msg) = ServerMessage::from_json(data) {
        assert_eq!(
            ServerMessage::from_json(msg.to_json().as_bytes()).ok(),
            Some(msg)
        );
    }
});
