//! Stateless codecs for DTLS 1.2 records, handshake messages, extensions and alerts.
//!
//! Parsers take `&[u8]` and return plain values or typed errors; emitters append to a caller's
//! `Vec<u8>`. No function here can panic on any input.

pub mod alert;
pub mod dtls13;
pub mod extensions;
pub mod handshake;
pub mod reader;
pub mod record;

/// DTLS 1.2 on the wire (RFC 6347 §4.1: the one's complement of 1.2).
pub const DTLS_1_2: u16 = 0xfefd;
/// DTLS 1.0 on the wire; allowed in record headers of the first ClientHello and in
/// HelloVerifyRequest (RFC 6347 §4.2.1).
pub const DTLS_1_0: u16 = 0xfeff;

/// Append a big-endian u16.
pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Append a big-endian u24 (the low 24 bits of `v`).
pub(crate) fn put_u24(out: &mut Vec<u8>, v: u32) {
    let b = v.to_be_bytes();
    out.extend_from_slice(&[b[1], b[2], b[3]]);
}

/// Append `body` preceded by a one-byte length. Callers guarantee `body.len() < 256`.
pub(crate) fn put_vec8(out: &mut Vec<u8>, body: &[u8]) {
    out.push(u8::try_from(body.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(body);
}

/// Append `body` preceded by a two-byte length. Callers guarantee `body.len() < 65536`.
pub(crate) fn put_vec16(out: &mut Vec<u8>, body: &[u8]) {
    put_u16(out, u16::try_from(body.len()).unwrap_or(u16::MAX));
    out.extend_from_slice(body);
}

/// Append `body` preceded by a three-byte length.
pub(crate) fn put_vec24(out: &mut Vec<u8>, body: &[u8]) {
    put_u24(out, u32::try_from(body.len()).unwrap_or(0x00ff_ffff));
    out.extend_from_slice(body);
}

/// Big-endian u16 values of an even-length list (a trailing odd byte is ignored; callers
/// check the length first).
pub(crate) fn u16_list(list: &[u8]) -> Vec<u16> {
    list.chunks_exact(2)
        .map(|c| match c {
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        })
        .collect()
}
