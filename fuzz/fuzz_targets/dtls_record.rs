//! Datagram → records → handshake fragments / alerts / CCS: parsers must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_dtls::wire::{alert::Alert, handshake::parse_fragment, record::split_records};

fuzz_target!(|data: &[u8]| {
    for rec in split_records(data).take(64).flatten() {
        let _ = Alert::parse(rec.body);
        let mut pos = 0;
        while let Some(rest) = rec.body.get(pos..).filter(|r| !r.is_empty()) {
            match parse_fragment(rest, pos) {
                Ok((_, used)) => pos += used,
                Err(_) => break,
            }
        }
    }
});
