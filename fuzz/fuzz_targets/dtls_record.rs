//! Datagram → records → handshake fragments / alerts / CCS: parsers must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_dtls::wire::dtls13::{parse_ack, parse_unified_header};
use tern_dtls::wire::{alert::Alert, handshake::parse_fragment, record::split_records};

fuzz_target!(|data: &[u8]| {
    // DTLS 1.3 unified headers (RFC 9147 §4) chained through the datagram, and ACK bodies.
    let mut at = 0;
    while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
        match parse_unified_header(rest, at) {
            Ok(h) => {
                assert!(h.header_len + h.record_len <= rest.len());
                let _ = parse_ack(&rest[h.header_len..h.header_len + h.record_len]);
                at += h.header_len + h.record_len;
                if h.header_len + h.record_len == 0 {
                    break;
                }
            }
            Err(_) => break,
        }
    }
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
