#![no_main]
// Every SCTP decoder in tern-sctp over arbitrary bytes: no panic, no unbounded allocation.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tern_sctp::fuzzing::fuzz_packet(data);
});
