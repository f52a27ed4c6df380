//! Handshake message bodies and bounded reassembly: never panic, never exceed the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_dtls::Reassembler;
use tern_dtls::wire::dtls13::{
    Certificate13, CertificateRequest13, ServerHello13, client_hello_offers_dtls13,
    parse_client_key_shares, raw_extensions,
};
use tern_dtls::wire::handshake::{
    CertificateMsg, CertificateRequest, CertificateVerify, ClientHello, ClientKeyExchange,
    HelloVerifyRequest, ServerHello, ServerKeyExchange, parse_fragment,
};

fuzz_target!(|data: &[u8]| {
    let _ = ClientHello::parse(data);
    let _ = ServerHello::parse(data);
    let _ = HelloVerifyRequest::parse(data);
    let _ = CertificateMsg::parse(data);
    let _ = ServerKeyExchange::parse(data);
    let _ = CertificateRequest::parse(data);
    let _ = ClientKeyExchange::parse(data);
    let _ = CertificateVerify::parse(data);
    // DTLS 1.3 (RFC 9147) bodies and extension blocks.
    let _ = ServerHello13::parse(data);
    let _ = ServerHello13::selected_version_of(data);
    let _ = Certificate13::parse(data);
    let _ = CertificateRequest13::parse(data);
    let _ = client_hello_offers_dtls13(data);
    let _ = raw_extensions(data);
    let _ = parse_client_key_shares(data);
    // The same bytes as a stream of fragments into a small reassembler.
    let mut r = Reassembler::new(2048, 4, 4096);
    let mut pos = 0;
    while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
        let Ok((frag, used)) = parse_fragment(rest, pos) else { break };
        pos += used;
        let _ = r.insert(0, &frag);
        assert!(r.buffered_bytes() <= 4096);
        while let Some(m) = r.take_ready() {
            assert!(m.body.len() <= 2048);
            r.advance();
        }
    }
});
