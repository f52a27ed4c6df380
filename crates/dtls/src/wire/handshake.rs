//! Handshake header and message bodies (RFC 6347 §4.2.2, §4.2.1; RFC 5246 §7.4; RFC 8422 §5).

use super::extensions::HelloExtensions;
use super::reader::Reader;
use super::{put_u16, put_u24, put_vec8, put_vec16, put_vec24};
use crate::error::DtlsError;

/// Handshake header length in DTLS (RFC 6347 §4.2.2).
pub const HANDSHAKE_HEADER_LEN: usize = 12;

/// Handshake message types.
pub mod msg_type {
    /// hello_request(0)
    pub const HELLO_REQUEST: u8 = 0;
    /// client_hello(1)
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello(2)
    pub const SERVER_HELLO: u8 = 2;
    /// hello_verify_request(3)
    pub const HELLO_VERIFY_REQUEST: u8 = 3;
    /// certificate(11)
    pub const CERTIFICATE: u8 = 11;
    /// server_key_exchange(12)
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    /// certificate_request(13)
    pub const CERTIFICATE_REQUEST: u8 = 13;
    /// server_hello_done(14)
    pub const SERVER_HELLO_DONE: u8 = 14;
    /// certificate_verify(15)
    pub const CERTIFICATE_VERIFY: u8 = 15;
    /// client_key_exchange(16)
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
    /// finished(20)
    pub const FINISHED: u8 = 20;
}

/// The DTLS handshake header of one fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeHeader {
    /// Message type.
    pub msg_type: u8,
    /// Length of the whole message body (24 bits).
    pub length: u32,
    /// message_seq.
    pub message_seq: u16,
    /// fragment_offset (24 bits).
    pub fragment_offset: u32,
    /// fragment_length (24 bits).
    pub fragment_length: u32,
}

impl HandshakeHeader {
    /// Append the 12-byte header.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.msg_type);
        put_u24(out, self.length);
        put_u16(out, self.message_seq);
        put_u24(out, self.fragment_offset);
        put_u24(out, self.fragment_length);
    }
}

/// One handshake fragment borrowed from a record body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentView<'a> {
    /// Header.
    pub header: HandshakeHeader,
    /// fragment bytes.
    pub data: &'a [u8],
}

/// Parse one handshake fragment at the start of `buf`; returns it and the bytes used.
///
/// Rejects fragments whose offset + length exceed the message length.
pub fn parse_fragment(buf: &[u8], at: usize) -> Result<(FragmentView<'_>, usize), DtlsError> {
    let mut r = Reader::new(buf);
    let t = DtlsError::TruncatedHandshake { at };
    let msg_type = r.u8().ok_or(t)?;
    let length = r.u24().ok_or(t)?;
    let message_seq = r.u16().ok_or(t)?;
    let fragment_offset = r.u24().ok_or(t)?;
    let fragment_length = r.u24().ok_or(t)?;
    let data = r
        .take(usize::try_from(fragment_length).map_err(|_| t)?)
        .ok_or(t)?;
    let header = HandshakeHeader {
        msg_type,
        length,
        message_seq,
        fragment_offset,
        fragment_length,
    };
    match fragment_offset.checked_add(fragment_length) {
        Some(end) if end <= length => {}
        _ => {
            return Err(DtlsError::BadFragment {
                offset: fragment_offset,
                length: fragment_length,
                message_length: length,
            });
        }
    }
    // A zero-length fragment is only meaningful for a zero-length message.
    if fragment_length == 0 && length != 0 {
        return Err(DtlsError::BadFragment {
            offset: fragment_offset,
            length: 0,
            message_length: length,
        });
    }
    Ok((FragmentView { header, data }, r.position()))
}

/// Append a whole (unfragmented) handshake message: header with offset 0 and full length, then body.
/// This is also the form hashed into the transcript (RFC 6347 §4.2.6).
pub fn emit_message(out: &mut Vec<u8>, msg_type: u8, message_seq: u16, body: &[u8]) {
    let len = u32::try_from(body.len()).unwrap_or(0x00ff_ffff);
    HandshakeHeader {
        msg_type,
        length: len,
        message_seq,
        fragment_offset: 0,
        fragment_length: len,
    }
    .emit(out);
    out.extend_from_slice(body);
}

fn malformed(message: &'static str, r: &Reader<'_>) -> DtlsError {
    DtlsError::MalformedHandshake {
        message,
        at: r.position(),
    }
}

/// ClientHello (RFC 6347 §4.2.1 adds the cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// client_version.
    pub version: u16,
    /// random.
    pub random: [u8; 32],
    /// session_id (≤ 32 bytes).
    pub session_id: Vec<u8>,
    /// cookie (≤ 255 bytes).
    pub cookie: Vec<u8>,
    /// cipher_suites.
    pub cipher_suites: Vec<u16>,
    /// compression_methods.
    pub compression_methods: Vec<u8>,
    /// extensions.
    pub extensions: HelloExtensions,
}

impl ClientHello {
    /// Parse a ClientHello body.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "ClientHello";
        let mut r = Reader::new(body);
        let version = r.u16().ok_or_else(|| malformed(M, &r))?;
        let random: [u8; 32] = r
            .take(32)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed(M, &r))?;
        let session_id = r.vec8().ok_or_else(|| malformed(M, &r))?;
        if session_id.len() > 32 {
            return Err(malformed(M, &r));
        }
        let cookie = r.vec8().ok_or_else(|| malformed(M, &r))?;
        let suites = r.vec16().ok_or_else(|| malformed(M, &r))?;
        // RFC 5246 §7.4.1.2: cipher_suites<2..2^16-2>.
        if suites.is_empty() || suites.len() % 2 != 0 {
            return Err(malformed(M, &r));
        }
        let compression = r.vec8().ok_or_else(|| malformed(M, &r))?;
        if compression.is_empty() {
            return Err(malformed(M, &r));
        }
        let extensions = if r.is_empty() {
            HelloExtensions::default()
        } else {
            let block = r.vec16().ok_or_else(|| malformed(M, &r))?;
            if !r.is_empty() {
                return Err(malformed(M, &r));
            }
            HelloExtensions::parse(block)?
        };
        Ok(ClientHello {
            version,
            random,
            session_id: session_id.to_vec(),
            cookie: cookie.to_vec(),
            cipher_suites: crate::wire::u16_list(suites),
            compression_methods: compression.to_vec(),
            extensions,
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_u16(out, self.version);
        out.extend_from_slice(&self.random);
        put_vec8(out, &self.session_id);
        put_vec8(out, &self.cookie);
        let suites: Vec<u8> = self
            .cipher_suites
            .iter()
            .flat_map(|s| s.to_be_bytes())
            .collect();
        put_vec16(out, &suites);
        put_vec8(out, &self.compression_methods);
        self.extensions.emit(out);
    }
}

/// Split a raw ClientHello body around its cookie: returns (bytes before the cookie vector,
/// bytes after it). Used to compute the stateless cookie over the exact bytes the client sent.
pub fn client_hello_without_cookie(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut r = Reader::new(body);
    r.take(34)?;
    r.vec8()?;
    let before_end = r.position();
    r.vec8()?;
    let after_start = r.position();
    Some((body.get(..before_end)?, body.get(after_start..)?))
}

/// HelloVerifyRequest (RFC 6347 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloVerifyRequest {
    /// server_version.
    pub version: u16,
    /// cookie.
    pub cookie: Vec<u8>,
}

impl HelloVerifyRequest {
    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "HelloVerifyRequest";
        let mut r = Reader::new(body);
        let version = r.u16().ok_or_else(|| malformed(M, &r))?;
        let cookie = r.vec8().ok_or_else(|| malformed(M, &r))?;
        if !r.is_empty() || cookie.is_empty() {
            return Err(malformed(M, &r));
        }
        Ok(HelloVerifyRequest {
            version,
            cookie: cookie.to_vec(),
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_u16(out, self.version);
        put_vec8(out, &self.cookie);
    }
}

/// ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// server_version.
    pub version: u16,
    /// random.
    pub random: [u8; 32],
    /// session_id.
    pub session_id: Vec<u8>,
    /// cipher_suite.
    pub cipher_suite: u16,
    /// compression_method.
    pub compression_method: u8,
    /// extensions.
    pub extensions: HelloExtensions,
}

impl ServerHello {
    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "ServerHello";
        let mut r = Reader::new(body);
        let version = r.u16().ok_or_else(|| malformed(M, &r))?;
        let random: [u8; 32] = r
            .take(32)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed(M, &r))?;
        let session_id = r.vec8().ok_or_else(|| malformed(M, &r))?;
        if session_id.len() > 32 {
            return Err(malformed(M, &r));
        }
        let cipher_suite = r.u16().ok_or_else(|| malformed(M, &r))?;
        let compression_method = r.u8().ok_or_else(|| malformed(M, &r))?;
        let extensions = if r.is_empty() {
            HelloExtensions::default()
        } else {
            let block = r.vec16().ok_or_else(|| malformed(M, &r))?;
            if !r.is_empty() {
                return Err(malformed(M, &r));
            }
            HelloExtensions::parse(block)?
        };
        Ok(ServerHello {
            version,
            random,
            session_id: session_id.to_vec(),
            cipher_suite,
            compression_method,
            extensions,
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_u16(out, self.version);
        out.extend_from_slice(&self.random);
        put_vec8(out, &self.session_id);
        put_u16(out, self.cipher_suite);
        out.push(self.compression_method);
        self.extensions.emit(out);
    }
}

/// Certificate: a chain of DER certificates (RFC 5246 §7.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateMsg {
    /// certificate_list, leaf first.
    pub chain: Vec<Vec<u8>>,
}

impl CertificateMsg {
    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "Certificate";
        let mut r = Reader::new(body);
        let list = r.vec24().ok_or_else(|| malformed(M, &r))?;
        if !r.is_empty() {
            return Err(malformed(M, &r));
        }
        let mut lr = Reader::new(list);
        let mut chain = Vec::new();
        while !lr.is_empty() {
            let cert = lr.vec24().ok_or_else(|| malformed(M, &lr))?;
            if cert.is_empty() || chain.len() >= 16 {
                return Err(malformed(M, &lr));
            }
            chain.push(cert.to_vec());
        }
        Ok(CertificateMsg { chain })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut list = Vec::new();
        for c in &self.chain {
            put_vec24(&mut list, c);
        }
        put_vec24(out, &list);
    }
}

/// ECDHE ServerKeyExchange with a named curve (RFC 8422 §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// NamedCurve id.
    pub named_group: u16,
    /// The ephemeral public key (ECPoint, 1..255 bytes).
    pub public_key: Vec<u8>,
    /// SignatureAndHashAlgorithm.
    pub signature_scheme: u16,
    /// DER-encoded signature.
    pub signature: Vec<u8>,
}

/// curve_type named_curve(3).
const NAMED_CURVE: u8 = 3;

impl ServerKeyExchange {
    /// The `ServerECDHParams` bytes that are signed (after the randoms).
    pub fn params(named_group: u16, public_key: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(4 + public_key.len());
        p.push(NAMED_CURVE);
        put_u16(&mut p, named_group);
        put_vec8(&mut p, public_key);
        p
    }

    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "ServerKeyExchange";
        let mut r = Reader::new(body);
        let curve_type = r.u8().ok_or_else(|| malformed(M, &r))?;
        if curve_type != NAMED_CURVE {
            return Err(malformed(M, &r));
        }
        let named_group = r.u16().ok_or_else(|| malformed(M, &r))?;
        let public_key = r.vec8().ok_or_else(|| malformed(M, &r))?;
        if public_key.is_empty() {
            return Err(malformed(M, &r));
        }
        let signature_scheme = r.u16().ok_or_else(|| malformed(M, &r))?;
        let signature = r.vec16().ok_or_else(|| malformed(M, &r))?;
        if !r.is_empty() || signature.is_empty() {
            return Err(malformed(M, &r));
        }
        Ok(ServerKeyExchange {
            named_group,
            public_key: public_key.to_vec(),
            signature_scheme,
            signature: signature.to_vec(),
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&Self::params(self.named_group, &self.public_key));
        put_u16(out, self.signature_scheme);
        put_vec16(out, &self.signature);
    }
}

/// CertificateRequest (RFC 5246 §7.4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// certificate_types.
    pub certificate_types: Vec<u8>,
    /// supported_signature_algorithms.
    pub signature_schemes: Vec<u16>,
    /// certificate_authorities, raw (unused by WebRTC).
    pub authorities: Vec<u8>,
}

impl CertificateRequest {
    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "CertificateRequest";
        let mut r = Reader::new(body);
        let types = r.vec8().ok_or_else(|| malformed(M, &r))?;
        let algs = r.vec16().ok_or_else(|| malformed(M, &r))?;
        let authorities = r.vec16().ok_or_else(|| malformed(M, &r))?;
        if !r.is_empty() || types.is_empty() || algs.is_empty() || algs.len() % 2 != 0 {
            return Err(malformed(M, &r));
        }
        Ok(CertificateRequest {
            certificate_types: types.to_vec(),
            signature_schemes: crate::wire::u16_list(algs),
            authorities: authorities.to_vec(),
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_vec8(out, &self.certificate_types);
        let algs: Vec<u8> = self
            .signature_schemes
            .iter()
            .flat_map(|s| s.to_be_bytes())
            .collect();
        put_vec16(out, &algs);
        put_vec16(out, &self.authorities);
    }
}

/// ECDHE ClientKeyExchange (RFC 8422 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyExchange {
    /// The client's ephemeral public key.
    pub public_key: Vec<u8>,
}

impl ClientKeyExchange {
    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "ClientKeyExchange";
        let mut r = Reader::new(body);
        let pk = r.vec8().ok_or_else(|| malformed(M, &r))?;
        if !r.is_empty() || pk.is_empty() {
            return Err(malformed(M, &r));
        }
        Ok(ClientKeyExchange {
            public_key: pk.to_vec(),
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_vec8(out, &self.public_key);
    }
}

/// CertificateVerify (RFC 5246 §7.4.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateVerify {
    /// SignatureAndHashAlgorithm.
    pub signature_scheme: u16,
    /// DER-encoded signature.
    pub signature: Vec<u8>,
}

impl CertificateVerify {
    /// Parse.
    pub fn parse(body: &[u8]) -> Result<Self, DtlsError> {
        const M: &str = "CertificateVerify";
        let mut r = Reader::new(body);
        let signature_scheme = r.u16().ok_or_else(|| malformed(M, &r))?;
        let signature = r.vec16().ok_or_else(|| malformed(M, &r))?;
        if !r.is_empty() || signature.is_empty() {
            return Err(malformed(M, &r));
        }
        Ok(CertificateVerify {
            signature_scheme,
            signature: signature.to_vec(),
        })
    }

    /// Append the body.
    pub fn emit(&self, out: &mut Vec<u8>) {
        put_u16(out, self.signature_scheme);
        put_vec16(out, &self.signature);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::extensions::UseSrtp;
    use proptest::prelude::*;

    fn sample_hello() -> ClientHello {
        ClientHello {
            version: 0xfefd,
            random: [7; 32],
            session_id: vec![],
            cookie: vec![1, 2, 3],
            cipher_suites: vec![0xc02b, 0xc02c],
            compression_methods: vec![0],
            extensions: HelloExtensions {
                supported_groups: Some(vec![29, 23]),
                ec_point_formats: Some(vec![0]),
                signature_algorithms: Some(vec![0x0403]),
                use_srtp: Some(UseSrtp {
                    profiles: vec![7, 1],
                    mki: vec![],
                }),
                extended_master_secret: true,
                renegotiation_info: Some(vec![]),
                unknown: vec![],
            },
        }
    }

    #[test]
    fn client_hello_round_trip_and_cookie_split() {
        let h = sample_hello();
        let mut b = Vec::new();
        h.emit(&mut b);
        assert_eq!(ClientHello::parse(&b), Ok(h.clone()));
        let (before, after) = client_hello_without_cookie(&b).unwrap();
        assert_eq!(before.len(), 35);
        assert_eq!(before.len() + 4 + after.len(), b.len());
        // Every truncation is an error, never a panic.
        // (A hello that ends right before the extensions block is valid: extensions are optional.)
        let ext_start = b.len() - 2 - u16::from_be_bytes([b[47], b[48]]) as usize;
        assert_eq!(ext_start, 47);
        for n in 0..b.len() {
            if n != ext_start {
                assert!(ClientHello::parse(&b[..n]).is_err(), "prefix {n}");
            }
        }
    }

    #[test]
    fn client_hello_zero_suites_rejected() {
        let mut h = sample_hello();
        h.cipher_suites.clear();
        let mut b = Vec::new();
        h.emit(&mut b);
        assert!(matches!(
            ClientHello::parse(&b),
            Err(DtlsError::MalformedHandshake { .. })
        ));
    }

    #[test]
    fn fragment_header_checks() {
        let mut b = Vec::new();
        HandshakeHeader {
            msg_type: 1,
            length: 10,
            message_seq: 0,
            fragment_offset: 8,
            fragment_length: 3,
        }
        .emit(&mut b);
        b.extend_from_slice(&[0; 3]);
        assert!(matches!(
            parse_fragment(&b, 0),
            Err(DtlsError::BadFragment { .. })
        ));
        let mut b = Vec::new();
        HandshakeHeader {
            msg_type: 1,
            length: 10,
            message_seq: 0,
            fragment_offset: 0,
            fragment_length: 0,
        }
        .emit(&mut b);
        assert!(matches!(
            parse_fragment(&b, 0),
            Err(DtlsError::BadFragment { .. })
        ));
        let mut b = Vec::new();
        emit_message(&mut b, 14, 3, &[]);
        let (f, used) = parse_fragment(&b, 0).unwrap();
        assert_eq!(used, 12);
        assert_eq!(f.header.message_seq, 3);
    }

    #[test]
    fn other_messages_round_trip() {
        let ske = ServerKeyExchange {
            named_group: 23,
            public_key: vec![4; 65],
            signature_scheme: 0x0403,
            signature: vec![0x30; 70],
        };
        let mut b = Vec::new();
        ske.emit(&mut b);
        assert_eq!(ServerKeyExchange::parse(&b), Ok(ske));
        let cr = CertificateRequest {
            certificate_types: vec![64],
            signature_schemes: vec![0x0403],
            authorities: vec![],
        };
        let mut b = Vec::new();
        cr.emit(&mut b);
        assert_eq!(CertificateRequest::parse(&b), Ok(cr));
        let cm = CertificateMsg {
            chain: vec![vec![1, 2, 3], vec![4]],
        };
        let mut b = Vec::new();
        cm.emit(&mut b);
        assert_eq!(CertificateMsg::parse(&b), Ok(cm));
        let sh = ServerHello {
            version: 0xfefd,
            random: [1; 32],
            session_id: vec![9; 32],
            cipher_suite: 0xc02b,
            compression_method: 0,
            extensions: HelloExtensions {
                extended_master_secret: true,
                ..Default::default()
            },
        };
        let mut b = Vec::new();
        sh.emit(&mut b);
        assert_eq!(ServerHello::parse(&b), Ok(sh));
        // EC point length 0 is rejected.
        assert!(ServerKeyExchange::parse(&[3, 0, 23, 0, 4, 3, 0, 1, 1]).is_err());
    }

    proptest! {
        #[test]
        fn client_hello_parse_emit(
            random in proptest::array::uniform32(any::<u8>()),
            sid in proptest::collection::vec(any::<u8>(), 0..=32),
            cookie in proptest::collection::vec(any::<u8>(), 0..=255),
            suites in proptest::collection::vec(any::<u16>(), 1..50),
            groups in proptest::option::of(proptest::collection::vec(any::<u16>(), 0..20)),
            srtp in proptest::option::of(proptest::collection::vec(any::<u16>(), 0..8)),
            ems in any::<bool>(),
        ) {
            let h = ClientHello {
                version: 0xfefd,
                random,
                session_id: sid,
                cookie,
                cipher_suites: suites,
                compression_methods: vec![0],
                extensions: HelloExtensions {
                    supported_groups: groups,
                    use_srtp: srtp.map(|profiles| UseSrtp { profiles, mki: vec![] }),
                    extended_master_secret: ems,
                    ..Default::default()
                },
            };
            let mut b = Vec::new();
            h.emit(&mut b);
            prop_assert_eq!(ClientHello::parse(&b), Ok(h));
        }

        #[test]
        fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = ClientHello::parse(&data);
            let _ = ServerHello::parse(&data);
            let _ = ServerKeyExchange::parse(&data);
            let _ = CertificateMsg::parse(&data);
            let _ = CertificateRequest::parse(&data);
            let _ = parse_fragment(&data, 0);
            let _ = crate::wire::record::parse_record(&data, 0);
        }
    }
}
