//! Writes the seed corpus of the `dtls_*` fuzz targets from a real handshake.
//! Run: `cargo test -p tern-dtls --test fuzz_corpus -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;

use common::Pair;

fn dir(target: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
#[ignore = "writes fuzz/corpus/dtls_*; run by hand"]
fn write_fuzz_corpus() {
    let mut p = Pair::perfect(3);
    assert!(p.connect());
    p.client.send_application_data(b"corpus").unwrap();
    p.drain();
    let rec = dir("dtls_record");
    let hs = dir("dtls_handshake");
    for (i, (_, to_server, d)) in p.sent.iter().enumerate() {
        let side = if *to_server { "c2s" } else { "s2c" };
        std::fs::write(rec.join(format!("handshake-{i:02}-{side}.bin")), d).unwrap();
        for (j, r) in tern_dtls::wire::record::split_records(d)
            .flatten()
            .enumerate()
        {
            if r.header.epoch == 0
                && r.header.content_type == tern_dtls::wire::record::ContentType::Handshake
            {
                std::fs::write(hs.join(format!("fragment-{i:02}-{j}.bin")), r.body).unwrap();
                std::fs::write(hs.join(format!("body-{i:02}-{j}.bin")), &r.body[12..]).unwrap();
            }
        }
    }
    let ep = dir("dtls_endpoint");
    // Ops mode: flags byte (cookie, small MTU, suite rotation), then per-datagram ops.
    for flags in [0u8, 1, 2, 3, 4, 8] {
        std::fs::write(ep.join(format!("pass-all-flags-{flags}.bin")), [flags]).unwrap();
    }
    std::fs::write(
        ep.join("drop-first-then-timeouts.bin"),
        [0u8, 3, 4, 4, 4, 4, 4, 4],
    )
    .unwrap();
    std::fs::write(
        ep.join("flip-and-duplicate.bin"),
        [1u8, 0, 5, 40, 1, 4, 0, 4, 6, 10],
    )
    .unwrap();
    // Raw mode: a real ClientHello padded to a multiple of 8.
    let ch = &p.sent.iter().find(|s| s.1).unwrap().2;
    let mut raw = vec![0x80u8, ch.len().div_ceil(8) as u8];
    raw.extend_from_slice(ch);
    raw.resize(2 + ch.len().div_ceil(8) * 8, 0);
    std::fs::write(ep.join("raw-client-hello.bin"), raw).unwrap();
}
