//! Chunks (RFC 9260 §3.3, RFC 3758 §3.2, RFC 6525 §3.1, RFC 8260 §2) as borrowed views,
//! and `emit_*` functions that append a chunk (header, body, padding) to a packet buffer.

use super::{be16, be32, pad4};
use crate::error::ParseError;

/// Chunk type numbers.
pub mod chunk_type {
    /// Payload data.
    pub const DATA: u8 = 0;
    /// Initiation.
    pub const INIT: u8 = 1;
    /// Initiation acknowledgement.
    pub const INIT_ACK: u8 = 2;
    /// Selective acknowledgement.
    pub const SACK: u8 = 3;
    /// Heartbeat request.
    pub const HEARTBEAT: u8 = 4;
    /// Heartbeat acknowledgement.
    pub const HEARTBEAT_ACK: u8 = 5;
    /// Abort.
    pub const ABORT: u8 = 6;
    /// Shutdown.
    pub const SHUTDOWN: u8 = 7;
    /// Shutdown acknowledgement.
    pub const SHUTDOWN_ACK: u8 = 8;
    /// Operation error.
    pub const ERROR: u8 = 9;
    /// State cookie.
    pub const COOKIE_ECHO: u8 = 10;
    /// Cookie acknowledgement.
    pub const COOKIE_ACK: u8 = 11;
    /// Shutdown complete.
    pub const SHUTDOWN_COMPLETE: u8 = 14;
    /// I-DATA (RFC 8260).
    pub const I_DATA: u8 = 64;
    /// RE-CONFIG (RFC 6525).
    pub const RE_CONFIG: u8 = 130;
    /// PAD (RFC 4820).
    pub const PAD: u8 = 132;
    /// FORWARD-TSN (RFC 3758).
    pub const FORWARD_TSN: u8 = 192;
    /// I-FORWARD-TSN (RFC 8260).
    pub const I_FORWARD_TSN: u8 = 194;
}

/// DATA / I-DATA flag bits.
pub mod data_flags {
    /// Last fragment.
    pub const E: u8 = 0x01;
    /// First fragment.
    pub const B: u8 = 0x02;
    /// Unordered.
    pub const U: u8 = 0x04;
    /// Immediate SACK requested (RFC 9260 §3.3.1).
    pub const I: u8 = 0x08;
}

/// A DATA (RFC 9260 §3.3.1) or I-DATA (RFC 8260 §2.1) chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataChunk<'a> {
    /// True for I-DATA.
    pub interleaved: bool,
    /// Flag bits (`data_flags`).
    pub flags: u8,
    /// Transmission sequence number.
    pub tsn: u32,
    /// Stream identifier.
    pub stream: u16,
    /// DATA: stream sequence number; I-DATA: 0.
    pub ssn: u16,
    /// I-DATA: message identifier; DATA: the SSN widened.
    pub mid: u32,
    /// I-DATA: fragment sequence number (0 on the first fragment); DATA: 0.
    pub fsn: u32,
    /// Payload protocol identifier (I-DATA: only on the first fragment, else 0).
    pub ppid: u32,
    /// User data.
    pub payload: &'a [u8],
}

impl DataChunk<'_> {
    /// First fragment of a message.
    pub fn beginning(&self) -> bool {
        self.flags & data_flags::B != 0
    }
    /// Last fragment of a message.
    pub fn ending(&self) -> bool {
        self.flags & data_flags::E != 0
    }
    /// Unordered delivery.
    pub fn unordered(&self) -> bool {
        self.flags & data_flags::U != 0
    }
    /// Immediate-SACK requested.
    pub fn immediate(&self) -> bool {
        self.flags & data_flags::I != 0
    }
}

/// INIT or INIT-ACK fixed fields plus raw parameters (RFC 9260 §3.3.2, §3.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Init<'a> {
    /// Initiate tag.
    pub initiate_tag: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    /// Number of outbound streams.
    pub outbound_streams: u16,
    /// Number of inbound streams.
    pub inbound_streams: u16,
    /// Initial TSN.
    pub initial_tsn: u32,
    /// Variable-length parameters (validated framing), see [`super::param::InitParams`].
    pub params: &'a [u8],
    /// Offset of `params` in the packet, for error reporting.
    pub params_at: usize,
}

/// A gap-ack block, offsets relative to the cumulative TSN ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapBlock {
    /// Start offset.
    pub start: u16,
    /// End offset (inclusive).
    pub end: u16,
}

/// SACK (RFC 9260 §3.3.4). Counts were checked against the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sack<'a> {
    /// Cumulative TSN ack.
    pub cum_tsn_ack: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    gaps: &'a [u8],
    dups: &'a [u8],
}

impl<'a> Sack<'a> {
    /// Gap-ack blocks.
    pub fn gap_blocks(&self) -> impl Iterator<Item = GapBlock> + 'a {
        self.gaps.chunks_exact(4).map(|b| GapBlock {
            start: be16(b, 0).unwrap_or(0),
            end: be16(b, 2).unwrap_or(0),
        })
    }
    /// Number of gap-ack blocks.
    pub fn gap_count(&self) -> usize {
        self.gaps.len() / 4
    }
    /// Duplicate TSNs.
    pub fn duplicate_tsns(&self) -> impl Iterator<Item = u32> + 'a {
        self.dups.chunks_exact(4).map(|b| be32(b, 0).unwrap_or(0))
    }
}

/// One stream entry of a FORWARD-TSN or I-FORWARD-TSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardTsnEntry {
    /// Stream.
    pub stream: u16,
    /// I-FORWARD-TSN: the U bit; FORWARD-TSN: false.
    pub unordered: bool,
    /// FORWARD-TSN: SSN; I-FORWARD-TSN: MID.
    pub seq: u32,
}

/// FORWARD-TSN (RFC 3758 §3.2) or I-FORWARD-TSN (RFC 8260 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardTsn<'a> {
    /// True for I-FORWARD-TSN.
    pub interleaved: bool,
    /// New cumulative TSN.
    pub new_cum_tsn: u32,
    entries: &'a [u8],
}

impl<'a> ForwardTsn<'a> {
    /// The stream entries.
    pub fn entries(&self) -> impl Iterator<Item = ForwardTsnEntry> + 'a {
        let step = if self.interleaved { 8 } else { 4 };
        let interleaved = self.interleaved;
        self.entries.chunks_exact(step).map(move |e| {
            let stream = be16(e, 0).unwrap_or(0);
            if interleaved {
                ForwardTsnEntry {
                    stream,
                    unordered: be16(e, 2).unwrap_or(0) & 1 != 0,
                    seq: be32(e, 4).unwrap_or(0),
                }
            } else {
                ForwardTsnEntry {
                    stream,
                    unordered: false,
                    seq: u32::from(be16(e, 2).unwrap_or(0)),
                }
            }
        })
    }
}

/// A chunk, borrowed from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunk<'a> {
    /// DATA or I-DATA.
    Data(DataChunk<'a>),
    /// INIT.
    Init(Init<'a>),
    /// INIT-ACK.
    InitAck(Init<'a>),
    /// SACK.
    Sack(Sack<'a>),
    /// HEARTBEAT; the body (Heartbeat Info parameter) is echoed back verbatim.
    Heartbeat(&'a [u8]),
    /// HEARTBEAT-ACK with the echoed body.
    HeartbeatAck(&'a [u8]),
    /// ABORT; `t_bit` set when the sender had no TCB (RFC 9260 §3.3.7).
    Abort {
        /// T bit.
        t_bit: bool,
        /// Error causes.
        causes: &'a [u8],
    },
    /// SHUTDOWN.
    Shutdown {
        /// Cumulative TSN ack.
        cum_tsn_ack: u32,
    },
    /// SHUTDOWN-ACK.
    ShutdownAck,
    /// ERROR.
    Error {
        /// Error causes.
        causes: &'a [u8],
    },
    /// COOKIE-ECHO.
    CookieEcho(&'a [u8]),
    /// COOKIE-ACK.
    CookieAck,
    /// SHUTDOWN-COMPLETE.
    ShutdownComplete {
        /// T bit.
        t_bit: bool,
    },
    /// FORWARD-TSN or I-FORWARD-TSN.
    ForwardTsn(ForwardTsn<'a>),
    /// RE-CONFIG with its raw parameters (framing validated).
    ReConfig {
        /// Parameters.
        params: &'a [u8],
    },
    /// PAD.
    Pad,
    /// A chunk type we do not implement; its two high bits say what to do (RFC 9260 §3.2).
    Unknown {
        /// Chunk type.
        chunk_type: u8,
        /// The whole chunk (header included, padding excluded), for an Unrecognized Chunk report.
        raw: &'a [u8],
    },
}

impl Chunk<'_> {
    /// The chunk type number.
    pub fn chunk_type(&self) -> u8 {
        use chunk_type as t;
        match self {
            Chunk::Data(d) if d.interleaved => t::I_DATA,
            Chunk::Data(_) => t::DATA,
            Chunk::Init(_) => t::INIT,
            Chunk::InitAck(_) => t::INIT_ACK,
            Chunk::Sack(_) => t::SACK,
            Chunk::Heartbeat(_) => t::HEARTBEAT,
            Chunk::HeartbeatAck(_) => t::HEARTBEAT_ACK,
            Chunk::Abort { .. } => t::ABORT,
            Chunk::Shutdown { .. } => t::SHUTDOWN,
            Chunk::ShutdownAck => t::SHUTDOWN_ACK,
            Chunk::Error { .. } => t::ERROR,
            Chunk::CookieEcho(_) => t::COOKIE_ECHO,
            Chunk::CookieAck => t::COOKIE_ACK,
            Chunk::ShutdownComplete { .. } => t::SHUTDOWN_COMPLETE,
            Chunk::ForwardTsn(f) if f.interleaved => t::I_FORWARD_TSN,
            Chunk::ForwardTsn(_) => t::FORWARD_TSN,
            Chunk::ReConfig { .. } => t::RE_CONFIG,
            Chunk::Pad => t::PAD,
            Chunk::Unknown { chunk_type, .. } => *chunk_type,
        }
    }
}

/// Iterator over the chunks of a packet. Yields an error and then stops on bad framing.
#[derive(Debug, Clone)]
pub struct ChunkIter<'a> {
    bytes: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> ChunkIter<'a> {
    pub(crate) fn new(bytes: &'a [u8], at: usize) -> Self {
        ChunkIter {
            bytes,
            at,
            done: false,
        }
    }
}

/// Check that `body` is a well-framed list of TLV parameters / error causes (RFC 9260 §3.2.1):
/// every length ≥ 4 and within the body. The last one may omit its padding.
pub(crate) fn check_tlvs(body: &[u8], base: usize) -> Result<(), ParseError> {
    let mut at = 0usize;
    while at < body.len() {
        let length = be16(body, at + 2).ok_or(ParseError::BadParameterLength {
            at: base + at,
            length: 0,
        })?;
        let len = usize::from(length);
        if len < 4 || at + len > body.len() {
            return Err(ParseError::BadParameterLength {
                at: base + at,
                length,
            });
        }
        at += pad4(len);
    }
    Ok(())
}

/// Iterate TLVs (type, value, offset-in-body) of an already validated list.
pub(crate) fn tlvs(body: &[u8]) -> impl Iterator<Item = (u16, &[u8], usize)> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let ty = be16(body, at)?;
        let len = usize::from(be16(body, at + 2)?);
        if len < 4 {
            return None;
        }
        let value = body.get(at + 4..at + len)?;
        let start = at;
        at += pad4(len);
        Some((ty, value, start))
    })
}

fn parse_chunk(ty: u8, flags: u8, body: &[u8], at: usize) -> Result<Chunk<'_>, ParseError> {
    use chunk_type as t;
    let short = ParseError::TruncatedChunk { at, chunk_type: ty };
    let chunk = match ty {
        t::DATA => {
            if body.len() < 12 {
                return Err(short);
            }
            let payload = body.get(12..).ok_or(short)?;
            if payload.is_empty() {
                return Err(ParseError::EmptyData { at });
            }
            let ssn = be16(body, 6).ok_or(short)?;
            Chunk::Data(DataChunk {
                interleaved: false,
                flags,
                tsn: be32(body, 0).ok_or(short)?,
                stream: be16(body, 4).ok_or(short)?,
                ssn,
                mid: u32::from(ssn),
                fsn: 0,
                ppid: be32(body, 8).ok_or(short)?,
                payload,
            })
        }
        t::I_DATA => {
            if body.len() < 16 {
                return Err(short);
            }
            let payload = body.get(16..).ok_or(short)?;
            if payload.is_empty() {
                return Err(ParseError::EmptyData { at });
            }
            let word = be32(body, 12).ok_or(short)?;
            let first = flags & data_flags::B != 0;
            Chunk::Data(DataChunk {
                interleaved: true,
                flags,
                tsn: be32(body, 0).ok_or(short)?,
                stream: be16(body, 4).ok_or(short)?,
                ssn: 0,
                mid: be32(body, 8).ok_or(short)?,
                fsn: if first { 0 } else { word },
                ppid: if first { word } else { 0 },
                payload,
            })
        }
        t::INIT | t::INIT_ACK => {
            if body.len() < 16 {
                return Err(short);
            }
            let params = body.get(16..).ok_or(short)?;
            check_tlvs(params, at + 20)?;
            let init = Init {
                initiate_tag: be32(body, 0).ok_or(short)?,
                a_rwnd: be32(body, 4).ok_or(short)?,
                outbound_streams: be16(body, 8).ok_or(short)?,
                inbound_streams: be16(body, 10).ok_or(short)?,
                initial_tsn: be32(body, 12).ok_or(short)?,
                params,
                params_at: at + 20,
            };
            if ty == t::INIT {
                Chunk::Init(init)
            } else {
                Chunk::InitAck(init)
            }
        }
        t::SACK => {
            if body.len() < 12 {
                return Err(short);
            }
            let gaps = be16(body, 8).ok_or(short)?;
            let dups = be16(body, 10).ok_or(short)?;
            let need = 12 + 4 * usize::from(gaps) + 4 * usize::from(dups);
            // RFC 9260 §3.3.4: the counts define the chunk's length; reject a mismatch
            // rather than read past (or ignore part of) the chunk.
            if need != body.len() {
                return Err(ParseError::SackCountMismatch { at, gaps, dups });
            }
            let gap_end = 12 + 4 * usize::from(gaps);
            Chunk::Sack(Sack {
                cum_tsn_ack: be32(body, 0).ok_or(short)?,
                a_rwnd: be32(body, 4).ok_or(short)?,
                gaps: body.get(12..gap_end).ok_or(short)?,
                dups: body.get(gap_end..).ok_or(short)?,
            })
        }
        t::HEARTBEAT | t::HEARTBEAT_ACK => {
            check_tlvs(body, at + 4)?;
            if body.is_empty() {
                return Err(short);
            }
            if ty == t::HEARTBEAT {
                Chunk::Heartbeat(body)
            } else {
                Chunk::HeartbeatAck(body)
            }
        }
        t::ABORT => {
            check_tlvs(body, at + 4)?;
            Chunk::Abort {
                t_bit: flags & 1 != 0,
                causes: body,
            }
        }
        t::ERROR => {
            check_tlvs(body, at + 4)?;
            Chunk::Error { causes: body }
        }
        t::SHUTDOWN => Chunk::Shutdown {
            cum_tsn_ack: be32(body, 0).ok_or(short)?,
        },
        t::SHUTDOWN_ACK => Chunk::ShutdownAck,
        t::COOKIE_ECHO => Chunk::CookieEcho(body),
        t::COOKIE_ACK => Chunk::CookieAck,
        t::SHUTDOWN_COMPLETE => Chunk::ShutdownComplete {
            t_bit: flags & 1 != 0,
        },
        t::FORWARD_TSN | t::I_FORWARD_TSN => {
            let interleaved = ty == t::I_FORWARD_TSN;
            let new_cum_tsn = be32(body, 0).ok_or(short)?;
            let entries = body.get(4..).ok_or(short)?;
            let step = if interleaved { 8 } else { 4 };
            if entries.len() % step != 0 {
                return Err(ParseError::RaggedChunk { at, chunk_type: ty });
            }
            Chunk::ForwardTsn(ForwardTsn {
                interleaved,
                new_cum_tsn,
                entries,
            })
        }
        t::RE_CONFIG => {
            check_tlvs(body, at + 4)?;
            Chunk::ReConfig { params: body }
        }
        t::PAD => Chunk::Pad,
        _ => Chunk::Unknown {
            chunk_type: ty,
            raw: &[],
        },
    };
    Ok(chunk)
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = Result<Chunk<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.at >= self.bytes.len() {
            return None;
        }
        let at = self.at;
        let fail = |e| Some(Err(e));
        let (Some(&ty), Some(&flags), Some(length)) = (
            self.bytes.get(at),
            self.bytes.get(at + 1),
            be16(self.bytes, at + 2),
        ) else {
            self.done = true;
            return fail(ParseError::TruncatedChunkHeader { at });
        };
        let len = usize::from(length);
        // RFC 9260 §3.2: Chunk Length counts the header; it can never be below 4, and a chunk
        // cannot extend past the packet. Either is a framing error that ends processing.
        if len < 4 || at + len > self.bytes.len() {
            self.done = true;
            return fail(ParseError::BadChunkLength { at, length });
        }
        let raw = self.bytes.get(at..at + len).unwrap_or(&[]);
        let body = raw.get(4..).unwrap_or(&[]);
        self.at = at + pad4(len);
        match parse_chunk(ty, flags, body, at) {
            Ok(Chunk::Unknown { chunk_type, .. }) => Some(Ok(Chunk::Unknown { chunk_type, raw })),
            Ok(c) => Some(Ok(c)),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Emitting

/// Begin a chunk: writes the header with a placeholder length; returns the chunk's offset.
fn begin(out: &mut Vec<u8>, ty: u8, flags: u8) -> usize {
    let at = out.len();
    out.extend_from_slice(&[ty, flags, 0, 0]);
    at
}

/// End a chunk started at `at`: fix its length and pad to 4 bytes.
fn end(out: &mut Vec<u8>, at: usize) {
    let len = out.len() - at;
    let len16 = u16::try_from(len).unwrap_or(u16::MAX);
    if let Some(field) = out.get_mut(at + 2..at + 4) {
        field.copy_from_slice(&len16.to_be_bytes());
    }
    out.resize(at + pad4(len), 0);
}

/// Encoded size of a DATA (or I-DATA) chunk with `payload_len` bytes, padding included.
pub const fn data_chunk_len(interleaved: bool, payload_len: usize) -> usize {
    pad4(if interleaved { 20 } else { 16 } + payload_len)
}

/// Append a DATA or I-DATA chunk.
pub fn emit_data(out: &mut Vec<u8>, d: &DataChunk<'_>) {
    let at = begin(
        out,
        if d.interleaved {
            chunk_type::I_DATA
        } else {
            chunk_type::DATA
        },
        d.flags,
    );
    out.extend_from_slice(&d.tsn.to_be_bytes());
    out.extend_from_slice(&d.stream.to_be_bytes());
    if d.interleaved {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&d.mid.to_be_bytes());
        let word = if d.beginning() { d.ppid } else { d.fsn };
        out.extend_from_slice(&word.to_be_bytes());
    } else {
        out.extend_from_slice(&d.ssn.to_be_bytes());
        out.extend_from_slice(&d.ppid.to_be_bytes());
    }
    out.extend_from_slice(d.payload);
    end(out, at);
}

/// Append an INIT or INIT-ACK; `params` must already be encoded TLVs.
pub fn emit_init(out: &mut Vec<u8>, ack: bool, init: &Init<'_>) {
    let at = begin(
        out,
        if ack {
            chunk_type::INIT_ACK
        } else {
            chunk_type::INIT
        },
        0,
    );
    out.extend_from_slice(&init.initiate_tag.to_be_bytes());
    out.extend_from_slice(&init.a_rwnd.to_be_bytes());
    out.extend_from_slice(&init.outbound_streams.to_be_bytes());
    out.extend_from_slice(&init.inbound_streams.to_be_bytes());
    out.extend_from_slice(&init.initial_tsn.to_be_bytes());
    out.extend_from_slice(init.params);
    end(out, at);
}

/// Append a SACK.
pub fn emit_sack(
    out: &mut Vec<u8>,
    cum_tsn_ack: u32,
    a_rwnd: u32,
    gaps: &[GapBlock],
    dups: &[u32],
) {
    let at = begin(out, chunk_type::SACK, 0);
    out.extend_from_slice(&cum_tsn_ack.to_be_bytes());
    out.extend_from_slice(&a_rwnd.to_be_bytes());
    let ng = u16::try_from(gaps.len()).unwrap_or(u16::MAX);
    let nd = u16::try_from(dups.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&ng.to_be_bytes());
    out.extend_from_slice(&nd.to_be_bytes());
    for g in gaps.iter().take(usize::from(ng)) {
        out.extend_from_slice(&g.start.to_be_bytes());
        out.extend_from_slice(&g.end.to_be_bytes());
    }
    for d in dups.iter().take(usize::from(nd)) {
        out.extend_from_slice(&d.to_be_bytes());
    }
    end(out, at);
}

/// Append a chunk with no body (COOKIE-ACK, SHUTDOWN-ACK, SHUTDOWN-COMPLETE, PAD…).
pub fn emit_simple(out: &mut Vec<u8>, ty: u8, flags: u8) {
    let at = begin(out, ty, flags);
    end(out, at);
}

/// Append a chunk whose body is given verbatim (COOKIE-ECHO, HEARTBEAT(-ACK), ABORT, ERROR,
/// RE-CONFIG with encoded parameters).
pub fn emit_raw(out: &mut Vec<u8>, ty: u8, flags: u8, body: &[u8]) {
    let at = begin(out, ty, flags);
    out.extend_from_slice(body);
    end(out, at);
}

/// Append a SHUTDOWN.
pub fn emit_shutdown(out: &mut Vec<u8>, cum_tsn_ack: u32) {
    emit_raw(out, chunk_type::SHUTDOWN, 0, &cum_tsn_ack.to_be_bytes());
}

/// Append a FORWARD-TSN or I-FORWARD-TSN.
pub fn emit_forward_tsn(
    out: &mut Vec<u8>,
    interleaved: bool,
    new_cum_tsn: u32,
    entries: &[ForwardTsnEntry],
) {
    let ty = if interleaved {
        chunk_type::I_FORWARD_TSN
    } else {
        chunk_type::FORWARD_TSN
    };
    let at = begin(out, ty, 0);
    out.extend_from_slice(&new_cum_tsn.to_be_bytes());
    for e in entries {
        out.extend_from_slice(&e.stream.to_be_bytes());
        if interleaved {
            out.extend_from_slice(&u16::from(e.unordered).to_be_bytes());
            out.extend_from_slice(&e.seq.to_be_bytes());
        } else {
            out.extend_from_slice(&(e.seq as u16).to_be_bytes());
        }
    }
    end(out, at);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(buf: &[u8]) -> Result<Chunk<'_>, ParseError> {
        ChunkIter::new(buf, 0).next().unwrap()
    }

    #[test]
    fn data_roundtrip_and_padding() {
        let d = DataChunk {
            interleaved: false,
            flags: data_flags::B | data_flags::E,
            tsn: 7,
            stream: 2,
            ssn: 3,
            mid: 3,
            fsn: 0,
            ppid: 51,
            payload: b"hello",
        };
        let mut out = Vec::new();
        emit_data(&mut out, &d);
        assert_eq!(out.len(), 24);
        assert_eq!(&out[..4], &[0, 3, 0, 21]);
        assert_eq!(one(&out).unwrap(), Chunk::Data(d));
    }

    #[test]
    fn chunk_length_below_four_or_past_end() {
        for bad in [[0u8, 0, 0, 0], [0, 0, 0, 3], [0, 0, 0, 9]] {
            assert!(matches!(one(&bad), Err(ParseError::BadChunkLength { .. })));
        }
    }

    #[test]
    fn empty_data_rejected() {
        let mut out = vec![0u8, 3, 0, 16];
        out.extend_from_slice(&[0; 12]);
        assert_eq!(one(&out), Err(ParseError::EmptyData { at: 0 }));
    }

    #[test]
    fn sack_count_mismatch() {
        let mut out = Vec::new();
        emit_sack(&mut out, 1, 2, &[GapBlock { start: 2, end: 3 }], &[]);
        out[13] = 5; // claim 5 gap blocks
        assert!(matches!(
            one(&out),
            Err(ParseError::SackCountMismatch { gaps: 5, .. })
        ));
    }

    proptest! {
        #[test]
        fn idata_roundtrip(tsn: u32, stream: u16, mid: u32, word: u32, flags in 0u8..16,
                           payload in proptest::collection::vec(any::<u8>(), 1..64)) {
            let first = flags & data_flags::B != 0;
            let d = DataChunk { interleaved: true, flags, tsn, stream, ssn: 0, mid,
                fsn: if first { 0 } else { word }, ppid: if first { word } else { 0 },
                payload: &payload };
            let mut out = Vec::new();
            emit_data(&mut out, &d);
            prop_assert_eq!(out.len(), data_chunk_len(true, payload.len()));
            prop_assert_eq!(one(&out).unwrap(), Chunk::Data(d));
        }

        #[test]
        fn sack_roundtrip(cum: u32, rwnd: u32,
                          gaps in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..20),
                          dups in proptest::collection::vec(any::<u32>(), 0..20)) {
            let gaps: Vec<GapBlock> = gaps.into_iter().map(|(start, end)| GapBlock { start, end }).collect();
            let mut out = Vec::new();
            emit_sack(&mut out, cum, rwnd, &gaps, &dups);
            let Chunk::Sack(s) = one(&out).unwrap() else { panic!("not a SACK") };
            prop_assert_eq!(s.cum_tsn_ack, cum);
            prop_assert_eq!(s.a_rwnd, rwnd);
            prop_assert_eq!(s.gap_blocks().collect::<Vec<_>>(), gaps);
            prop_assert_eq!(s.duplicate_tsns().collect::<Vec<_>>(), dups);
        }

        #[test]
        fn forward_tsn_roundtrip(interleaved: bool, cum: u32,
                                 entries in proptest::collection::vec((any::<u16>(), any::<bool>(), any::<u16>()), 0..10)) {
            let entries: Vec<ForwardTsnEntry> = entries.into_iter().map(|(stream, u, seq)| ForwardTsnEntry {
                stream, unordered: u && interleaved, seq: u32::from(seq) }).collect();
            let mut out = Vec::new();
            emit_forward_tsn(&mut out, interleaved, cum, &entries);
            let Chunk::ForwardTsn(f) = one(&out).unwrap() else { panic!("not FORWARD-TSN") };
            prop_assert_eq!(f.new_cum_tsn, cum);
            prop_assert_eq!(f.entries().collect::<Vec<_>>(), entries);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for c in ChunkIter::new(&bytes, 0) { let _ = c; }
        }
    }
}
