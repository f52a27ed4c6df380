//! Stateless codecs for DTLS 1.3 (RFC 9147): the unified record header, ACK, and the TLS 1.3
//! handshake messages and extensions (RFC 8446 §4) that differ from DTLS 1.2.

use super::reader::Reader;
use super::{put_u16, put_vec8, put_vec16, put_vec24};
use crate::error::DtlsError;

/// DTLS 1.3 on the wire in supported_versions (RFC 9147 §5.3: {254, 252}).
pub const DTLS_1_3: u16 = 0xfefc;
/// TLS_AES_128_GCM_SHA256 (RFC 8446 §B.4).
pub const TLS_AES_128_GCM_SHA256: u16 = 0x1301;
/// Content type ack(26) (RFC 9147 §7).
pub const CONTENT_TYPE_ACK: u8 = 26;
/// Length of the unified header we send: flags, 16-bit sequence, 16-bit length.
pub const UNIFIED_HEADER_LEN: usize = 5;
/// The ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3: SHA-256("HelloRetryRequest")).
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];
/// Last 8 bytes of a TLS 1.3-capable server's random when it negotiates (D)TLS 1.2
/// (RFC 8446 §4.1.3).
pub const DOWNGRADE_TLS12: [u8; 8] = *b"DOWNGRD\x01";

/// TLS 1.3 extension type codes used here.
pub mod ext13 {
    /// supported_versions (RFC 8446 §4.2.1)
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// cookie (RFC 8446 §4.2.2)
    pub const COOKIE: u16 = 44;
    /// key_share (RFC 8446 §4.2.8)
    pub const KEY_SHARE: u16 = 51;
}

/// TLS 1.3 handshake types not in DTLS 1.2.
pub mod msg13 {
    /// encrypted_extensions(8)
    pub const ENCRYPTED_EXTENSIONS: u8 = 8;
    /// key_update(24)
    pub const KEY_UPDATE: u8 = 24;
    /// message_hash(254), only in the transcript after a HelloRetryRequest (RFC 8446 §4.4.1).
    pub const MESSAGE_HASH: u8 = 254;
}

fn malformed(message: &'static str, r: &Reader<'_>) -> DtlsError {
    DtlsError::MalformedHandshake {
        message,
        at: r.position(),
    }
}

/// Split an extensions block (without its outer length) into `(type, body)` pairs; duplicate
/// types are rejected (RFC 8446 §4.2) and at most 64 extensions are accepted.
pub fn raw_extensions(block: &[u8]) -> Result<Vec<(u16, &[u8])>, DtlsError> {
    let mut r = Reader::new(block);
    let mut out: Vec<(u16, &[u8])> = Vec::new();
    while !r.is_empty() {
        let typ = r
            .u16()
            .ok_or(DtlsError::MalformedExtension { extension_type: 0 })?;
        let body = r.vec16().ok_or(DtlsError::MalformedExtension {
            extension_type: typ,
        })?;
        if out.len() >= 64 || out.iter().any(|(t, _)| *t == typ) {
            return Err(DtlsError::MalformedExtension {
                extension_type: typ,
            });
        }
        out.push((typ, body));
    }
    Ok(out)
}

/// Find one extension's body.
pub fn find_extension<'a>(exts: &[(u16, &'a [u8])], typ: u16) -> Option<&'a [u8]> {
    exts.iter().find(|(t, _)| *t == typ).map(|(_, b)| *b)
}

/// The extensions block of a ClientHello body (RFC 6347 §4.2.1 layout, which DTLS 1.3 keeps),
/// or `None` if the body is malformed or has no extensions.
pub fn client_hello_extensions(body: &[u8]) -> Option<&[u8]> {
    let mut r = Reader::new(body);
    r.take(34)?; // legacy_version + random
    r.vec8()?; // legacy_session_id
    r.vec8()?; // legacy_cookie
    r.vec16()?; // cipher_suites
    r.vec8()?; // legacy_compression_methods
    let block = r.vec16()?;
    r.is_empty().then_some(block)
}

/// The versions listed in a ClientHello supported_versions body.
pub fn parse_client_supported_versions(body: &[u8]) -> Result<Vec<u16>, DtlsError> {
    let bad = DtlsError::MalformedExtension {
        extension_type: ext13::SUPPORTED_VERSIONS,
    };
    let mut r = Reader::new(body);
    let list = r.vec8().ok_or(bad)?;
    if !r.is_empty() || list.is_empty() || list.len() % 2 != 0 {
        return Err(bad);
    }
    Ok(crate::wire::u16_list(list))
}

/// True if a ClientHello body offers DTLS 1.3 in supported_versions.
pub fn client_hello_offers_dtls13(body: &[u8]) -> bool {
    client_hello_extensions(body)
        .and_then(|b| raw_extensions(b).ok())
        .and_then(|e| find_extension(&e, ext13::SUPPORTED_VERSIONS))
        .and_then(|b| parse_client_supported_versions(b).ok())
        .is_some_and(|v| v.contains(&DTLS_1_3))
}

/// The KeyShareEntry list of a ClientHello key_share body (RFC 8446 §4.2.8).
pub fn parse_client_key_shares(body: &[u8]) -> Result<Vec<(u16, &[u8])>, DtlsError> {
    let bad = DtlsError::MalformedExtension {
        extension_type: ext13::KEY_SHARE,
    };
    let mut r = Reader::new(body);
    let list = r.vec16().ok_or(bad)?;
    if !r.is_empty() {
        return Err(bad);
    }
    let mut lr = Reader::new(list);
    let mut out: Vec<(u16, &[u8])> = Vec::new();
    while !lr.is_empty() {
        let group = lr.u16().ok_or(bad)?;
        let key = lr.vec16().ok_or(bad)?;
        // RFC 8446 §4.2.8: key_exchange<1..2^16-1>; each group at most once.
        if key.is_empty() || out.len() >= 16 || out.iter().any(|(g, _)| *g == group) {
            return Err(bad);
        }
        out.push((group, key));
    }
    Ok(out)
}

/// Append one extension.
pub fn put_extension(out: &mut Vec<u8>, typ: u16, body: &[u8]) {
    put_u16(out, typ);
    put_vec16(out, body);
}

/// The extensions a DTLS 1.3-capable client adds to its ClientHello: supported_versions
/// (1.3 then 1.2), key_share with one entry, and cookie when answering a HelloRetryRequest.
pub fn client_offer_extensions(group: u16, public_key: &[u8], cookie: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + public_key.len() + cookie.len());
    let mut versions = Vec::new();
    put_u16(&mut versions, DTLS_1_3);
    put_u16(&mut versions, super::DTLS_1_2);
    let mut sv = Vec::new();
    put_vec8(&mut sv, &versions);
    put_extension(&mut out, ext13::SUPPORTED_VERSIONS, &sv);
    let mut entry = Vec::new();
    put_u16(&mut entry, group);
    put_vec16(&mut entry, public_key);
    let mut ks = Vec::new();
    put_vec16(&mut ks, &entry);
    put_extension(&mut out, ext13::KEY_SHARE, &ks);
    if !cookie.is_empty() {
        let mut c = Vec::new();
        put_vec16(&mut c, cookie);
        put_extension(&mut out, ext13::COOKIE, &c);
    }
    out
}

/// A DTLS 1.3 ServerHello or HelloRetryRequest (RFC 8446 §4.1.3-4.1.4, RFC 9147 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello13 {
    /// random (HELLO_RETRY_REQUEST_RANDOM for a HelloRetryRequest).
    pub random: [u8; 32],
    /// legacy_session_id_echo.
    pub session_id: Vec<u8>,
    /// cipher_suite.
    pub cipher_suite: u16,
    /// supported_versions.selected_version.
    pub selected_version: u16,
    /// key_share: (group, key) in a ServerHello; (group, empty) in a HelloRetryRequest.
    pub key_share: Option<(u16, Vec<u8>)>,
    /// cookie (HelloRetryRequest only).
    pub cookie: Vec<u8>,
}

impl ServerHello13 {
    /// True for a HelloRetryRequest.
    pub fn is_retry(&self) -> bool {
        self.random == HELLO_RETRY_REQUEST_RANDOM
    }

    /// The selected version of a ServerHello body, if it carries supported_versions.
    pub fn selected_version_of(body: &[u8]) -> Option<u16> {
        let mut r = Reader::new(body);
        r.take(34)?;
        r.vec8()?;
        r.take(3)?;
        let exts = raw_extensions(r.vec16()?).ok()?;
        let sv = find_extension(&exts, ext13::SUPPORTED_VERSIONS)?;
        let mut sr = Reader::new(sv);
        let v = sr.u16()?;
        sr.is_empty().then_some(v)
    }

    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "ServerHello";
        let mut r = Reader::new(body);
        let legacy_version = r.u16().ok_or_else(|| malformed(M, &r))?;
        let random: [u8; 32] = r
            .take(32)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed(M, &r))?;
        let session_id = r.vec8().ok_or_else(|| malformed(M, &r))?;
        let cipher_suite = r.u16().ok_or_else(|| malformed(M, &r))?;
        let compression = r.u8().ok_or_else(|| malformed(M, &r))?;
        let block = r.vec16().ok_or_else(|| malformed(M, &r))?;
        // RFC 9147 §5.4: legacy_version {254, 253}; RFC 8446 §4.1.3: compression 0.
        if !r.is_empty() || legacy_version != super::DTLS_1_2 || compression != 0 {
            return Err(malformed(M, &r));
        }
        let retry = random == HELLO_RETRY_REQUEST_RANDOM;
        let exts = raw_extensions(block)?;
        let mut selected_version = 0;
        let mut key_share = None;
        let mut cookie = Vec::new();
        for (typ, b) in exts {
            let bad = DtlsError::MalformedExtension {
                extension_type: typ,
            };
            let mut er = Reader::new(b);
            match typ {
                ext13::SUPPORTED_VERSIONS => {
                    selected_version = er.u16().ok_or(bad)?;
                }
                ext13::KEY_SHARE if retry => {
                    key_share = Some((er.u16().ok_or(bad)?, Vec::new()));
                }
                ext13::KEY_SHARE => {
                    let g = er.u16().ok_or(bad)?;
                    let k = er.vec16().ok_or(bad)?;
                    if k.is_empty() {
                        return Err(bad);
                    }
                    key_share = Some((g, k.to_vec()));
                }
                ext13::COOKIE if retry => {
                    let c = er.vec16().ok_or(bad)?;
                    if c.is_empty() {
                        return Err(bad);
                    }
                    cookie = c.to_vec();
                }
                // RFC 8446 §4.1.3/§4.2: a ServerHello carries only extensions the client
                // offered and that belong there; anything else is illegal.
                _ => return Err(DtlsError::IllegalParameter { what: "extension" }),
            }
            if !er.is_empty() {
                return Err(bad);
            }
        }
        Ok(ServerHello13 {
            random,
            session_id: session_id.to_vec(),
            cipher_suite,
            selected_version,
            key_share,
            cookie,
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_u16(out, super::DTLS_1_2);
        out.extend_from_slice(&self.random);
        put_vec8(out, &self.session_id);
        put_u16(out, self.cipher_suite);
        out.push(0);
        let mut block = Vec::with_capacity(80);
        let mut sv = Vec::new();
        put_u16(&mut sv, self.selected_version);
        put_extension(&mut block, ext13::SUPPORTED_VERSIONS, &sv);
        if let Some((g, k)) = &self.key_share {
            let mut ks = Vec::new();
            put_u16(&mut ks, *g);
            if !self.is_retry() {
                put_vec16(&mut ks, k);
            }
            put_extension(&mut block, ext13::KEY_SHARE, &ks);
        }
        if !self.cookie.is_empty() {
            let mut c = Vec::new();
            put_vec16(&mut c, &self.cookie);
            put_extension(&mut block, ext13::COOKIE, &c);
        }
        put_vec16(out, &block);
    }
}

/// Certificate of TLS 1.3 (RFC 8446 §4.4.2): a request context and entries with extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate13 {
    /// certificate_request_context (empty in the main handshake).
    pub context: Vec<u8>,
    /// DER certificates, leaf first (entry extensions are ignored).
    pub chain: Vec<Vec<u8>>,
}

impl Certificate13 {
    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "Certificate";
        let mut r = Reader::new(body);
        let context = r.vec8().ok_or_else(|| malformed(M, &r))?;
        let list = r.vec24().ok_or_else(|| malformed(M, &r))?;
        if !r.is_empty() {
            return Err(malformed(M, &r));
        }
        let mut lr = Reader::new(list);
        let mut chain = Vec::new();
        while !lr.is_empty() {
            let cert = lr.vec24().ok_or_else(|| malformed(M, &lr))?;
            lr.vec16().ok_or_else(|| malformed(M, &lr))?;
            if cert.is_empty() || chain.len() >= 16 {
                return Err(malformed(M, &lr));
            }
            chain.push(cert.to_vec());
        }
        Ok(Certificate13 {
            context: context.to_vec(),
            chain,
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_vec8(out, &self.context);
        let mut list = Vec::new();
        for c in &self.chain {
            put_vec24(&mut list, c);
            put_u16(&mut list, 0);
        }
        put_vec24(out, &list);
    }
}

/// CertificateRequest of TLS 1.3 (RFC 8446 §4.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest13 {
    /// certificate_request_context.
    pub context: Vec<u8>,
    /// signature_algorithms (required).
    pub signature_algorithms: Vec<u16>,
}

impl CertificateRequest13 {
    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "CertificateRequest";
        let mut r = Reader::new(body);
        let context = r.vec8().ok_or_else(|| malformed(M, &r))?;
        let block = r.vec16().ok_or_else(|| malformed(M, &r))?;
        if !r.is_empty() {
            return Err(malformed(M, &r));
        }
        let exts = raw_extensions(block)?;
        let sa = find_extension(&exts, super::extensions::ext_type::SIGNATURE_ALGORITHMS).ok_or(
            DtlsError::MalformedExtension {
                extension_type: super::extensions::ext_type::SIGNATURE_ALGORITHMS,
            },
        )?;
        let mut sr = Reader::new(sa);
        let list = sr.vec16().ok_or(DtlsError::MalformedExtension {
            extension_type: super::extensions::ext_type::SIGNATURE_ALGORITHMS,
        })?;
        if !sr.is_empty() || list.is_empty() || list.len() % 2 != 0 {
            return Err(DtlsError::MalformedExtension {
                extension_type: super::extensions::ext_type::SIGNATURE_ALGORITHMS,
            });
        }
        Ok(CertificateRequest13 {
            context: context.to_vec(),
            signature_algorithms: crate::wire::u16_list(list),
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_vec8(out, &self.context);
        let list: Vec<u8> = self
            .signature_algorithms
            .iter()
            .flat_map(|s| s.to_be_bytes())
            .collect();
        let mut sa = Vec::new();
        put_vec16(&mut sa, &list);
        let mut block = Vec::new();
        put_extension(
            &mut block,
            super::extensions::ext_type::SIGNATURE_ALGORITHMS,
            &sa,
        );
        put_vec16(out, &block);
    }
}

/// One record number in an ACK (RFC 9147 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordNumber {
    /// Epoch.
    pub epoch: u64,
    /// Sequence number.
    pub sequence: u64,
}

/// Most record numbers we put in or accept from one ACK.
pub const MAX_ACK_ENTRIES: usize = 64;

/// Parse an ACK body: `RecordNumber record_numbers<0..2^16-1>`.
pub fn parse_ack(body: &[u8]) -> Result<Vec<RecordNumber>, DtlsError> {
    let bad = DtlsError::MalformedAck;
    let mut r = Reader::new(body);
    let list = r.vec16().ok_or(bad)?;
    if !r.is_empty() || list.len() % 16 != 0 || list.len() / 16 > MAX_ACK_ENTRIES {
        return Err(bad);
    }
    let mut lr = Reader::new(list);
    let mut out = Vec::with_capacity(list.len() / 16);
    while !lr.is_empty() {
        let e = lr.take(8).and_then(|s| s.try_into().ok()).ok_or(bad)?;
        let s = lr.take(8).and_then(|s| s.try_into().ok()).ok_or(bad)?;
        out.push(RecordNumber {
            epoch: u64::from_be_bytes(e),
            sequence: u64::from_be_bytes(s),
        });
    }
    Ok(out)
}

/// Append an ACK body.
pub fn emit_ack(records: &[RecordNumber], out: &mut Vec<u8>) {
    let mut list = Vec::with_capacity(records.len() * 16);
    for rn in records.iter().take(MAX_ACK_ENTRIES) {
        list.extend_from_slice(&rn.epoch.to_be_bytes());
        list.extend_from_slice(&rn.sequence.to_be_bytes());
    }
    put_vec16(out, &list);
}

/// A unified header (RFC 9147 §4) as read from the wire, sequence bits still masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnifiedHeader {
    /// The low two bits of the epoch.
    pub epoch_bits: u8,
    /// Length of the sequence field: 1 or 2 bytes.
    pub seq_len: usize,
    /// Header length on the wire.
    pub header_len: usize,
    /// Length of the encrypted record (after the header).
    pub record_len: usize,
}

/// True if `first` is the first byte of a unified header (RFC 9147 §4.1: 0b001xxxxx).
pub fn is_unified_header(first: u8) -> bool {
    first & 0xe0 == 0x20
}

/// Parse the unified header of the record starting at `buf` (the rest of a datagram).
/// Connection IDs are not supported: a header with the C bit is refused.
pub fn parse_unified_header(buf: &[u8], at: usize) -> Result<UnifiedHeader, DtlsError> {
    let first = *buf.first().ok_or(DtlsError::TruncatedRecord { at })?;
    if !is_unified_header(first) {
        return Err(DtlsError::UnknownContentType {
            content_type: first,
        });
    }
    if first & 0x10 != 0 {
        return Err(DtlsError::ConnectionIdNotSupported);
    }
    let seq_len = if first & 0x08 != 0 { 2 } else { 1 };
    let has_len = first & 0x04 != 0;
    let fixed = 1 + seq_len;
    let (header_len, record_len) = if has_len {
        let hi = *buf.get(fixed).ok_or(DtlsError::TruncatedRecord { at })?;
        let lo = *buf
            .get(fixed + 1)
            .ok_or(DtlsError::TruncatedRecord { at })?;
        (fixed + 2, usize::from(u16::from_be_bytes([hi, lo])))
    } else {
        (fixed, buf.len().saturating_sub(fixed))
    };
    if buf.len() < header_len.saturating_add(record_len) {
        return Err(DtlsError::TruncatedRecord { at });
    }
    if record_len > super::record::MAX_RECORD_BODY {
        return Err(DtlsError::RecordTooLarge { len: record_len });
    }
    Ok(UnifiedHeader {
        epoch_bits: first & 0x03,
        seq_len,
        header_len,
        record_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_hello_round_trip() {
        let sh = ServerHello13 {
            random: [7; 32],
            session_id: vec![],
            cipher_suite: TLS_AES_128_GCM_SHA256,
            selected_version: DTLS_1_3,
            key_share: Some((29, vec![9; 32])),
            cookie: vec![],
        };
        let mut b = Vec::new();
        sh.emit(&mut b);
        assert_eq!(ServerHello13::parse(&b).unwrap(), sh);
        assert_eq!(ServerHello13::selected_version_of(&b), Some(DTLS_1_3));
        let hrr = ServerHello13 {
            random: HELLO_RETRY_REQUEST_RANDOM,
            key_share: Some((23, vec![])),
            cookie: vec![1, 2, 3],
            ..sh
        };
        let mut b = Vec::new();
        hrr.emit(&mut b);
        let p = ServerHello13::parse(&b).unwrap();
        assert!(p.is_retry());
        assert_eq!(p, hrr);
        for cut in 0..b.len() {
            assert!(ServerHello13::parse(&b[..cut]).is_err());
        }
    }

    #[test]
    fn certificate_and_request_round_trip() {
        let c = Certificate13 {
            context: vec![],
            chain: vec![vec![1, 2, 3], vec![4]],
        };
        let mut b = Vec::new();
        c.emit(&mut b);
        assert_eq!(Certificate13::parse(&b).unwrap(), c);
        let cr = CertificateRequest13 {
            context: vec![],
            signature_algorithms: vec![0x0403],
        };
        let mut b = Vec::new();
        cr.emit(&mut b);
        assert_eq!(CertificateRequest13::parse(&b).unwrap(), cr);
        assert!(CertificateRequest13::parse(&[0, 0, 0]).is_err());
    }

    #[test]
    fn ack_round_trip_and_limits() {
        let rns = vec![
            RecordNumber {
                epoch: 2,
                sequence: 0,
            },
            RecordNumber {
                epoch: 3,
                sequence: 1 << 40,
            },
        ];
        let mut b = Vec::new();
        emit_ack(&rns, &mut b);
        assert_eq!(parse_ack(&b).unwrap(), rns);
        assert_eq!(parse_ack(&b[..b.len() - 1]), Err(DtlsError::MalformedAck));
        assert_eq!(parse_ack(&[0, 3, 1, 2, 3]), Err(DtlsError::MalformedAck));
    }

    #[test]
    fn unified_header_forms() {
        // S=1, L=1, epoch bits 3
        let h = parse_unified_header(&[0x2f, 0, 1, 0, 2, 9, 9], 0).unwrap();
        assert_eq!(
            (h.epoch_bits, h.seq_len, h.header_len, h.record_len),
            (3, 2, 5, 2)
        );
        // S=0, L=0: the record runs to the end of the datagram
        let h = parse_unified_header(&[0x22, 7, 1, 2, 3], 0).unwrap();
        assert_eq!(
            (h.epoch_bits, h.seq_len, h.header_len, h.record_len),
            (2, 1, 2, 3)
        );
        assert_eq!(
            parse_unified_header(&[0x3c, 0, 0], 0),
            Err(DtlsError::ConnectionIdNotSupported)
        );
        assert!(parse_unified_header(&[0x2c, 0, 1, 0, 9, 1], 0).is_err());
        assert!(parse_unified_header(&[0x2c, 0], 0).is_err());
    }

    #[test]
    fn offer_is_seen() {
        let ext = client_offer_extensions(29, &[1; 32], &[]);
        let exts = raw_extensions(&ext).unwrap();
        let sv = parse_client_supported_versions(
            find_extension(&exts, ext13::SUPPORTED_VERSIONS).unwrap(),
        )
        .unwrap();
        assert_eq!(sv, vec![DTLS_1_3, 0xfefd]);
        let ks = parse_client_key_shares(find_extension(&exts, ext13::KEY_SHARE).unwrap()).unwrap();
        assert_eq!(ks, vec![(29u16, &[1u8; 32][..])]);
    }
}
