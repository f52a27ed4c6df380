//! INIT / INIT-ACK parameters (RFC 9260 §3.3.2.1, RFC 3758 §3.1, RFC 5061 §4.2.7,
//! RFC 9653 §4) and error causes (RFC 9260 §3.3.10).

use super::chunk::{chunk_type, tlvs};
use super::{be32, pad4};

/// Parameter type numbers.
pub mod param_type {
    /// Heartbeat Info (inside HEARTBEAT).
    pub const HEARTBEAT_INFO: u16 = 1;
    /// IPv4 address.
    pub const IPV4: u16 = 5;
    /// IPv6 address.
    pub const IPV6: u16 = 6;
    /// State Cookie.
    pub const STATE_COOKIE: u16 = 7;
    /// Unrecognized Parameter (INIT-ACK).
    pub const UNRECOGNIZED: u16 = 8;
    /// Cookie Preservative.
    pub const COOKIE_PRESERVATIVE: u16 = 9;
    /// Host Name Address (deprecated).
    pub const HOST_NAME: u16 = 11;
    /// Supported Address Types.
    pub const SUPPORTED_ADDRESS_TYPES: u16 = 12;
    /// Zero Checksum Acceptable (RFC 9653).
    pub const ZERO_CHECKSUM_ACCEPTABLE: u16 = 0x8001;
    /// Supported Extensions (RFC 5061).
    pub const SUPPORTED_EXTENSIONS: u16 = 0x8008;
    /// ECN Capable.
    pub const ECN_CAPABLE: u16 = 0x8000;
    /// Forward-TSN Supported (RFC 3758).
    pub const FORWARD_TSN_SUPPORTED: u16 = 0xC000;
}

/// Error cause codes.
pub mod cause {
    /// Invalid Stream Identifier.
    pub const INVALID_STREAM: u16 = 1;
    /// Missing Mandatory Parameter.
    pub const MISSING_MANDATORY_PARAMETER: u16 = 2;
    /// Stale Cookie Error.
    pub const STALE_COOKIE: u16 = 3;
    /// Out of Resource.
    pub const OUT_OF_RESOURCE: u16 = 4;
    /// Unrecognized Chunk Type.
    pub const UNRECOGNIZED_CHUNK: u16 = 6;
    /// Invalid Mandatory Parameter.
    pub const INVALID_MANDATORY_PARAMETER: u16 = 7;
    /// Unrecognized Parameters.
    pub const UNRECOGNIZED_PARAMETERS: u16 = 8;
    /// No User Data.
    pub const NO_USER_DATA: u16 = 9;
    /// User-Initiated Abort.
    pub const USER_INITIATED_ABORT: u16 = 12;
    /// Protocol Violation.
    pub const PROTOCOL_VIOLATION: u16 = 13;
}

/// RFC 9653 §4: Error Detection Method Identifier for SCTP over DTLS (RFC 8261).
pub const EDMID_DTLS: u32 = 1;

/// Most unrecognized-parameter bytes we echo back; bounds what an INIT can make us send.
const MAX_UNRECOGNIZED_REPORT: usize = 256;

/// The parameters of an INIT or INIT-ACK that this implementation acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitParams<'a> {
    /// State Cookie (INIT-ACK).
    pub cookie: Option<&'a [u8]>,
    /// Peer supports FORWARD-TSN (RFC 3758).
    pub forward_tsn: bool,
    /// Peer supports RE-CONFIG (RFC 6525), from Supported Extensions.
    pub reconfig: bool,
    /// Peer supports I-DATA and I-FORWARD-TSN (RFC 8260), from Supported Extensions.
    pub interleaving: bool,
    /// Zero Checksum Acceptable with this EDMID.
    pub zero_checksum_edmid: Option<u32>,
    /// Unrecognized parameters to report (already wrapped as "Unrecognized Parameter"
    /// TLVs for an INIT-ACK, or as one "Unrecognized Parameters" error cause body).
    pub unrecognized: Vec<u8>,
}

impl<'a> InitParams<'a> {
    /// Walk the (framing-validated) parameters. Unknown types are handled by their two
    /// high bits (RFC 9260 §3.2.1).
    pub fn parse(params: &'a [u8]) -> Self {
        let mut out = InitParams::default();
        let mut supported_ext: Option<&[u8]> = None;
        for (ty, value, start) in tlvs(params) {
            match ty {
                param_type::STATE_COOKIE => out.cookie = Some(value),
                param_type::FORWARD_TSN_SUPPORTED => out.forward_tsn = true,
                param_type::SUPPORTED_EXTENSIONS => supported_ext = Some(value),
                param_type::ZERO_CHECKSUM_ACCEPTABLE => out.zero_checksum_edmid = be32(value, 0),
                param_type::IPV4
                | param_type::IPV6
                | param_type::HOST_NAME
                | param_type::SUPPORTED_ADDRESS_TYPES
                | param_type::COOKIE_PRESERVATIVE
                | param_type::ECN_CAPABLE
                | param_type::UNRECOGNIZED => {}
                _ => {
                    let report = ty & 0x4000 != 0;
                    if report {
                        let len = 4 + value.len();
                        if out.unrecognized.len() + 4 + pad4(len) <= MAX_UNRECOGNIZED_REPORT {
                            let raw = params.get(start..start + len).unwrap_or(&[]);
                            push_tlv(&mut out.unrecognized, param_type::UNRECOGNIZED, raw);
                        }
                    }
                    // RFC 9260 §3.2.1: high bit 0 ("00"/"01") means stop processing further
                    // parameters of this chunk; "10"/"11" means skip this one and go on.
                    if ty & 0x8000 == 0 {
                        break;
                    }
                }
            }
        }
        if let Some(list) = supported_ext {
            for &c in list {
                match c {
                    chunk_type::RE_CONFIG => out.reconfig = true,
                    chunk_type::I_DATA => out.interleaving = true,
                    chunk_type::FORWARD_TSN => out.forward_tsn = true,
                    _ => {}
                }
            }
        }
        out
    }
}

/// The (type, value) pairs of a framing-validated parameter or error-cause list.
pub fn iter_tlvs(body: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    tlvs(body).map(|(ty, v, _)| (ty, v))
}

/// Append a TLV (parameter or error cause) with padding.
pub fn push_tlv(out: &mut Vec<u8>, ty: u16, value: &[u8]) {
    let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (pad4(usize::from(len)) - usize::from(len)), 0);
}

/// What we announce in our INIT / INIT-ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCapabilities {
    /// Announce RFC 3758 / RFC 6525 / RFC 8260 support.
    pub interleaving: bool,
    /// Announce Zero Checksum Acceptable (EDMID DTLS).
    pub zero_checksum: bool,
}

/// Encode our optional INIT parameters (Supported Extensions, Forward-TSN Supported, Zero
/// Checksum Acceptable).
pub fn encode_capabilities(out: &mut Vec<u8>, caps: LocalCapabilities) {
    let mut ext = [chunk_type::FORWARD_TSN, chunk_type::RE_CONFIG, 0, 0];
    let n = if caps.interleaving {
        ext[2] = chunk_type::I_DATA;
        ext[3] = chunk_type::I_FORWARD_TSN;
        4
    } else {
        2
    };
    push_tlv(
        out,
        param_type::SUPPORTED_EXTENSIONS,
        ext.get(..n).unwrap_or(&[]),
    );
    push_tlv(out, param_type::FORWARD_TSN_SUPPORTED, &[]);
    if caps.zero_checksum {
        push_tlv(
            out,
            param_type::ZERO_CHECKSUM_ACCEPTABLE,
            &EDMID_DTLS.to_be_bytes(),
        );
    }
}

/// Whether an error-cause list contains a cause with this code.
pub fn has_cause(causes: &[u8], code: u16) -> bool {
    tlvs(causes).any(|(ty, _, _)| ty == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::chunk::check_tlvs;

    #[test]
    fn capabilities_roundtrip() {
        let mut out = Vec::new();
        encode_capabilities(
            &mut out,
            LocalCapabilities {
                interleaving: true,
                zero_checksum: true,
            },
        );
        check_tlvs(&out, 0).unwrap();
        let p = InitParams::parse(&out);
        assert!(p.forward_tsn && p.reconfig && p.interleaving);
        assert_eq!(p.zero_checksum_edmid, Some(EDMID_DTLS));
        assert!(p.unrecognized.is_empty());
    }

    #[test]
    fn unknown_parameter_actions() {
        // Four unknown params, one per action, each followed by a Forward-TSN-Supported.
        for (ty, stops, reports) in [
            (0x0123u16, true, false),
            (0x4123, true, true),
            (0x8123, false, false),
            (0xC123, false, true),
        ] {
            let mut out = Vec::new();
            push_tlv(&mut out, ty, &[1, 2, 3]);
            push_tlv(&mut out, param_type::FORWARD_TSN_SUPPORTED, &[]);
            check_tlvs(&out, 0).unwrap();
            let p = InitParams::parse(&out);
            assert_eq!(p.forward_tsn, !stops, "type {ty:#x}");
            assert_eq!(!p.unrecognized.is_empty(), reports, "type {ty:#x}");
        }
    }

    #[test]
    fn parameter_length_below_four_and_crossing_end() {
        assert!(check_tlvs(&[0x80, 0x08, 0, 3], 0).is_err());
        assert!(check_tlvs(&[0x80, 0x08, 0, 9, 1, 2, 3, 4], 0).is_err());
        assert!(check_tlvs(&[0x80, 0x08, 0, 5, 1], 0).is_ok());
    }
}
