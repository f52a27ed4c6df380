//! Captured packets from other SCTP stacks: our parser must accept their CRC32c and fields,
//! and our writer must produce the same checksum bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_sctp::wire::param::InitParams;
use tern_sctp::wire::{ChecksumPolicy, Chunk, Packet, PacketWriter};

fn hex_file(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let digits: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .collect();
    hex::decode(digits).unwrap()
}

#[test]
fn captured_init_parses_and_checksum_matches() {
    let bytes = hex_file("wireshark-capture-init-usrsctp.hex");
    let p = Packet::parse(&bytes, ChecksumPolicy::Required).unwrap();
    assert_eq!(
        (
            p.header.src_port,
            p.header.dst_port,
            p.header.verification_tag
        ),
        (5000, 5000, 0)
    );
    let Some(Ok(Chunk::Init(init))) = p.chunks().next() else {
        panic!()
    };
    assert_eq!(init.initiate_tag, 0x0edd_ca08);
    assert_eq!(init.a_rwnd, 131_072);
    assert_eq!((init.outbound_streams, init.inbound_streams), (1000, 1000));
    assert_eq!(init.initial_tsn, 1_426_601_527);
    let params = InitParams::parse(init.params);
    assert!(params.forward_tsn && params.reconfig && !params.interleaving);
    // Re-writing the checksum gives the captured bytes back.
    let mut again = bytes.clone();
    again[8..12].fill(0);
    PacketWriter::finish(&mut again, false);
    assert_eq!(again, bytes);
}

#[test]
fn captured_cookie_ack_and_sack() {
    let bytes = hex_file("wireshark-capture-cookie-ack-sack.hex");
    let p = Packet::parse(&bytes, ChecksumPolicy::Required).unwrap();
    let chunks: Vec<_> = p.chunks().map(Result::unwrap).collect();
    assert_eq!(chunks[0], Chunk::CookieAck);
    let Chunk::Sack(s) = chunks[1] else { panic!() };
    assert_eq!(
        (s.cum_tsn_ack, s.a_rwnd, s.gap_count()),
        (2_930_332_242, 131_072, 0)
    );
    let mut bad = bytes.clone();
    bad[20] ^= 1;
    assert!(Packet::parse(&bad, ChecksumPolicy::Required).is_err());
}
