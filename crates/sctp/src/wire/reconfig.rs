//! RE-CONFIG parameters (RFC 6525 §4).

use super::be16;
use super::be32;
use super::chunk::tlvs;
use super::param::push_tlv;

/// Outgoing SSN Reset Request parameter type.
pub const OUTGOING_SSN_RESET: u16 = 13;
/// Incoming SSN Reset Request parameter type.
pub const INCOMING_SSN_RESET: u16 = 14;
/// SSN/TSN Reset Request parameter type.
pub const SSN_TSN_RESET: u16 = 15;
/// Re-configuration Response parameter type.
pub const RESPONSE: u16 = 16;
/// Add Outgoing Streams Request parameter type.
pub const ADD_OUTGOING_STREAMS: u16 = 17;
/// Add Incoming Streams Request parameter type.
pub const ADD_INCOMING_STREAMS: u16 = 18;

/// Re-configuration Response results (RFC 6525 §4.4).
pub mod result {
    /// Success - Nothing to do.
    pub const NOTHING_TO_DO: u32 = 0;
    /// Success - Performed.
    pub const PERFORMED: u32 = 1;
    /// Denied.
    pub const DENIED: u32 = 2;
    /// Error - Wrong SSN.
    pub const WRONG_SSN: u32 = 3;
    /// Error - Request already in progress.
    pub const ALREADY_IN_PROGRESS: u32 = 4;
    /// Error - Bad Sequence Number.
    pub const BAD_SEQUENCE_NUMBER: u32 = 5;
    /// In progress.
    pub const IN_PROGRESS: u32 = 6;
}

/// One RE-CONFIG parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconfigParam<'a> {
    /// Outgoing SSN Reset Request: the sender resets its outgoing streams (our incoming).
    OutgoingReset {
        /// Request sequence number.
        request_seq: u32,
        /// Response sequence number.
        response_seq: u32,
        /// Sender's last assigned TSN.
        last_tsn: u32,
        /// Raw stream list (pairs of bytes); empty = all streams.
        streams: &'a [u8],
    },
    /// Any other request type that we answer without acting (Incoming / SSN-TSN / Add).
    OtherRequest {
        /// Parameter type.
        param_type: u16,
        /// Request sequence number.
        request_seq: u32,
    },
    /// Re-configuration Response.
    Response {
        /// Response sequence number.
        response_seq: u32,
        /// Result code.
        result: u32,
    },
    /// Malformed or unknown parameter (ignored).
    Invalid,
}

impl ReconfigParam<'_> {
    /// Streams listed in an Outgoing SSN Reset Request.
    pub fn streams(streams: &[u8]) -> impl Iterator<Item = u16> + '_ {
        streams.chunks_exact(2).map(|s| be16(s, 0).unwrap_or(0))
    }
}

/// Iterate the parameters of a framing-validated RE-CONFIG chunk body.
pub fn params(body: &[u8]) -> impl Iterator<Item = ReconfigParam<'_>> {
    tlvs(body).map(|(ty, v, _)| match ty {
        OUTGOING_SSN_RESET => match (be32(v, 0), be32(v, 4), be32(v, 8), v.get(12..)) {
            (Some(request_seq), Some(response_seq), Some(last_tsn), Some(streams))
                if streams.len() % 2 == 0 =>
            {
                ReconfigParam::OutgoingReset {
                    request_seq,
                    response_seq,
                    last_tsn,
                    streams,
                }
            }
            _ => ReconfigParam::Invalid,
        },
        INCOMING_SSN_RESET | SSN_TSN_RESET | ADD_OUTGOING_STREAMS | ADD_INCOMING_STREAMS => {
            match be32(v, 0) {
                Some(request_seq) => ReconfigParam::OtherRequest {
                    param_type: ty,
                    request_seq,
                },
                None => ReconfigParam::Invalid,
            }
        }
        RESPONSE => match (be32(v, 0), be32(v, 4)) {
            (Some(response_seq), Some(result)) => ReconfigParam::Response {
                response_seq,
                result,
            },
            _ => ReconfigParam::Invalid,
        },
        _ => ReconfigParam::Invalid,
    })
}

/// Append an Outgoing SSN Reset Request parameter.
pub fn push_outgoing_reset(
    out: &mut Vec<u8>,
    request_seq: u32,
    response_seq: u32,
    last_tsn: u32,
    streams: &[u16],
) {
    let mut v = Vec::with_capacity(12 + 2 * streams.len());
    v.extend_from_slice(&request_seq.to_be_bytes());
    v.extend_from_slice(&response_seq.to_be_bytes());
    v.extend_from_slice(&last_tsn.to_be_bytes());
    for s in streams {
        v.extend_from_slice(&s.to_be_bytes());
    }
    push_tlv(out, OUTGOING_SSN_RESET, &v);
}

/// Append a Re-configuration Response parameter.
pub fn push_response(out: &mut Vec<u8>, response_seq: u32, result: u32) {
    let mut v = [0u8; 8];
    v[..4].copy_from_slice(&response_seq.to_be_bytes());
    v[4..].copy_from_slice(&result.to_be_bytes());
    push_tlv(out, RESPONSE, &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_reset_and_response_roundtrip() {
        let mut out = Vec::new();
        push_outgoing_reset(&mut out, 10, 20, 30, &[1, 3, 5]);
        push_response(&mut out, 9, result::PERFORMED);
        let ps: Vec<_> = params(&out).collect();
        let ReconfigParam::OutgoingReset {
            request_seq,
            response_seq,
            last_tsn,
            streams,
        } = ps[0]
        else {
            panic!("{ps:?}")
        };
        assert_eq!((request_seq, response_seq, last_tsn), (10, 20, 30));
        assert_eq!(
            ReconfigParam::streams(streams).collect::<Vec<_>>(),
            vec![1, 3, 5]
        );
        assert_eq!(
            ps[1],
            ReconfigParam::Response {
                response_seq: 9,
                result: 1
            }
        );
    }
}
