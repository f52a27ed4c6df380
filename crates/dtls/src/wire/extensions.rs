//! Hello extensions used by WebRTC DTLS 1.2.
//!
//! Unknown extensions (DTLS 1.3 `supported_versions`, `key_share`, GREASE, ...) are skipped:
//! a DTLS 1.3 ClientHello gets a plain DTLS 1.2 answer.

use super::reader::Reader;
use super::{put_u16, put_vec8, put_vec16};
use crate::error::DtlsError;

/// extension type codes.
pub mod ext_type {
    /// supported_groups (RFC 8422 §5.1.1)
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats (RFC 8422 §5.1.2)
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms (RFC 5246 §7.4.1.4.1)
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// use_srtp (RFC 5764 §4.1.1)
    pub const USE_SRTP: u16 = 14;
    /// extended_master_secret (RFC 7627 §5.1)
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    /// renegotiation_info (RFC 5746 §3.2)
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}

/// The use_srtp extension body (RFC 5764 §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UseSrtp {
    /// SRTPProtectionProfiles, as wire ids.
    pub profiles: Vec<u16>,
    /// srtp_mki.
    pub mki: Vec<u8>,
}

/// The extensions of a ClientHello or ServerHello that this crate understands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HelloExtensions {
    /// supported_groups (named group ids).
    pub supported_groups: Option<Vec<u16>>,
    /// ec_point_formats.
    pub ec_point_formats: Option<Vec<u8>>,
    /// signature_algorithms (SignatureScheme ids).
    pub signature_algorithms: Option<Vec<u16>>,
    /// use_srtp.
    pub use_srtp: Option<UseSrtp>,
    /// extended_master_secret present.
    pub extended_master_secret: bool,
    /// renegotiation_info (the renegotiated_connection bytes).
    pub renegotiation_info: Option<Vec<u8>>,
    /// Types of the extensions skipped, in order (kept for tests and diagnostics).
    pub unknown: Vec<u16>,
}

/// At most this many extensions are accepted in one hello.
const MAX_EXTENSIONS: usize = 64;

fn u16_list(ext: u16, body: &[u8], even_prefix_len16: bool) -> Result<Vec<u16>, DtlsError> {
    let bad = DtlsError::MalformedExtension {
        extension_type: ext,
    };
    let mut r = Reader::new(body);
    let list = if even_prefix_len16 {
        r.vec16()
    } else {
        r.vec8()
    }
    .ok_or(bad)?;
    if !r.is_empty() || list.len() % 2 != 0 {
        return Err(bad);
    }
    Ok(crate::wire::u16_list(list))
}

impl HelloExtensions {
    /// Parse the extensions block (without its outer two-byte length).
    pub fn parse(block: &[u8]) -> Result<Self, DtlsError> {
        let mut out = HelloExtensions::default();
        let mut seen: Vec<u16> = Vec::new();
        let mut r = Reader::new(block);
        while !r.is_empty() {
            let bad_list = DtlsError::MalformedExtension { extension_type: 0 };
            let typ = r.u16().ok_or(bad_list)?;
            let bad = DtlsError::MalformedExtension {
                extension_type: typ,
            };
            let body = r.vec16().ok_or(bad)?;
            // RFC 5246 §7.4.1.4: there MUST NOT be more than one extension of the same type.
            if seen.contains(&typ) || seen.len() >= MAX_EXTENSIONS {
                return Err(bad);
            }
            seen.push(typ);
            match typ {
                ext_type::SUPPORTED_GROUPS => {
                    out.supported_groups = Some(u16_list(typ, body, true)?);
                }
                ext_type::EC_POINT_FORMATS => {
                    let mut br = Reader::new(body);
                    let list = br.vec8().ok_or(bad)?;
                    if !br.is_empty() {
                        return Err(bad);
                    }
                    out.ec_point_formats = Some(list.to_vec());
                }
                ext_type::SIGNATURE_ALGORITHMS => {
                    out.signature_algorithms = Some(u16_list(typ, body, true)?);
                }
                ext_type::USE_SRTP => {
                    let mut br = Reader::new(body);
                    let list = br.vec16().ok_or(bad)?;
                    let mki = br.vec8().ok_or(bad)?;
                    if !br.is_empty() || list.len() % 2 != 0 {
                        return Err(bad);
                    }
                    let profiles = crate::wire::u16_list(list);
                    out.use_srtp = Some(UseSrtp {
                        profiles,
                        mki: mki.to_vec(),
                    });
                }
                ext_type::EXTENDED_MASTER_SECRET => {
                    // RFC 7627 §5.1: the extension_data field is empty.
                    if !body.is_empty() {
                        return Err(bad);
                    }
                    out.extended_master_secret = true;
                }
                ext_type::RENEGOTIATION_INFO => {
                    let mut br = Reader::new(body);
                    let inner = br.vec8().ok_or(bad)?;
                    if !br.is_empty() {
                        return Err(bad);
                    }
                    out.renegotiation_info = Some(inner.to_vec());
                }
                other => out.unknown.push(other),
            }
        }
        Ok(out)
    }

    /// Append the extensions block, with its two-byte length. Unknown types are not emitted.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut block = Vec::with_capacity(64);
        if let Some(groups) = &self.supported_groups {
            let list: Vec<u8> = groups.iter().flat_map(|g| g.to_be_bytes()).collect();
            let mut body = Vec::new();
            put_vec16(&mut body, &list);
            put_u16(&mut block, ext_type::SUPPORTED_GROUPS);
            put_vec16(&mut block, &body);
        }
        if let Some(formats) = &self.ec_point_formats {
            let mut body = Vec::new();
            put_vec8(&mut body, formats);
            put_u16(&mut block, ext_type::EC_POINT_FORMATS);
            put_vec16(&mut block, &body);
        }
        if let Some(algs) = &self.signature_algorithms {
            let list: Vec<u8> = algs.iter().flat_map(|g| g.to_be_bytes()).collect();
            let mut body = Vec::new();
            put_vec16(&mut body, &list);
            put_u16(&mut block, ext_type::SIGNATURE_ALGORITHMS);
            put_vec16(&mut block, &body);
        }
        if let Some(srtp) = &self.use_srtp {
            let list: Vec<u8> = srtp.profiles.iter().flat_map(|g| g.to_be_bytes()).collect();
            let mut body = Vec::new();
            put_vec16(&mut body, &list);
            put_vec8(&mut body, &srtp.mki);
            put_u16(&mut block, ext_type::USE_SRTP);
            put_vec16(&mut block, &body);
        }
        if self.extended_master_secret {
            put_u16(&mut block, ext_type::EXTENDED_MASTER_SECRET);
            put_u16(&mut block, 0);
        }
        if let Some(reneg) = &self.renegotiation_info {
            let mut body = Vec::new();
            put_vec8(&mut body, reneg);
            put_u16(&mut block, ext_type::RENEGOTIATION_INFO);
            put_vec16(&mut block, &body);
        }
        put_vec16(out, &block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = HelloExtensions {
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
        };
        let mut out = Vec::new();
        e.emit(&mut out);
        assert_eq!(HelloExtensions::parse(&out[2..]), Ok(e));
    }

    #[test]
    fn rejects_duplicates_and_overflow() {
        // two EMS extensions
        assert!(HelloExtensions::parse(&[0, 23, 0, 0, 0, 23, 0, 0]).is_err());
        // length past the end
        assert!(HelloExtensions::parse(&[0, 23, 0, 9]).is_err());
        // odd group list
        assert!(HelloExtensions::parse(&[0, 10, 0, 3, 0, 1, 0]).is_err());
        // unknown is skipped
        let e = HelloExtensions::parse(&[0x2a, 0x2a, 0, 1, 0]).unwrap();
        assert_eq!(e.unknown, vec![0x2a2a]);
    }
}
