#![no_main]
// Packet and command sequences into an established association (see
// `tern_sctp::fuzzing::fuzz_association` for the record format).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tern_sctp::fuzzing::fuzz_association(data);
});
