//! Stateless codecs: the SCTP common header and packet framing (RFC 9260 §3), chunks
//! ([`chunk`]), INIT parameters and error causes ([`param`]) and RE-CONFIG parameters
//! ([`reconfig`]).
//!
//! Parsing borrows from the packet bytes; nothing is allocated. Emitting appends to a
//! caller's `Vec<u8>`.

pub mod chunk;
pub mod param;
pub mod reconfig;

pub use chunk::{
    Chunk, ChunkIter, DataChunk, ForwardTsn, ForwardTsnEntry, GapBlock, Init, Sack, chunk_type,
};

use crate::error::ParseError;

/// Size of the SCTP common header.
pub const COMMON_HEADER_LEN: usize = 12;

/// The SCTP common header (RFC 9260 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Verification tag.
    pub verification_tag: u32,
    /// Checksum as carried (CRC32c, little-endian on the wire, or 0 with RFC 9653).
    pub checksum: u32,
}

/// A framed packet: header plus the chunk area, after checksum and framing checks.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// The common header.
    pub header: CommonHeader,
    bytes: &'a [u8],
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    let a: [u8; 4] = s.try_into().ok()?;
    Some(u32::from_be_bytes(a))
}

/// Round up to a multiple of 4.
pub(crate) const fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// CRC32c of `packet` as if its checksum field (bytes 8..12) were zero.
pub fn compute_checksum(packet: &[u8]) -> u32 {
    let head = packet.get(..8).unwrap_or(packet);
    let crc = crc32c::crc32c(head);
    let crc = crc32c::crc32c_append(crc, &[0u8; 4]);
    crc32c::crc32c_append(crc, packet.get(COMMON_HEADER_LEN..).unwrap_or(&[]))
}

/// How the checksum of an incoming packet is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumPolicy {
    /// Always require a correct CRC32c.
    Required,
    /// RFC 9653 §5.2: we announced the Zero Checksum Acceptable parameter, so a packet whose
    /// checksum is 0 is accepted without computing the CRC; any other value must be correct.
    AcceptZero,
}

impl<'a> Packet<'a> {
    /// Parse the common header, verify the checksum and the chunk framing of the whole packet
    /// (every chunk's length and fixed fields), so that later processing cannot fail half-way.
    pub fn parse(bytes: &'a [u8], policy: ChecksumPolicy) -> Result<Self, ParseError> {
        if bytes.len() < COMMON_HEADER_LEN {
            return Err(ParseError::TruncatedHeader { len: bytes.len() });
        }
        let src_port = be16(bytes, 0).ok_or(ParseError::TruncatedHeader { len: bytes.len() })?;
        let dst_port = be16(bytes, 2).ok_or(ParseError::TruncatedHeader { len: bytes.len() })?;
        let verification_tag =
            be32(bytes, 4).ok_or(ParseError::TruncatedHeader { len: bytes.len() })?;
        let carried = bytes
            .get(8..12)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_le_bytes)
            .ok_or(ParseError::TruncatedHeader { len: bytes.len() })?;
        let skip = policy == ChecksumPolicy::AcceptZero && carried == 0;
        if !skip {
            // RFC 9260 §6.8: a packet with an invalid checksum MUST be silently discarded.
            let computed = compute_checksum(bytes);
            if computed != carried {
                return Err(ParseError::BadChecksum { carried, computed });
            }
        }
        let packet = Packet {
            header: CommonHeader {
                src_port,
                dst_port,
                verification_tag,
                checksum: carried,
            },
            bytes,
        };
        let mut count = 0usize;
        let mut alone = None;
        for chunk in packet.chunks() {
            let chunk = chunk?;
            count += 1;
            if matches!(
                chunk,
                Chunk::Init(_) | Chunk::InitAck(_) | Chunk::ShutdownComplete { .. }
            ) {
                alone = Some(chunk.chunk_type());
            }
        }
        if count == 0 {
            return Err(ParseError::NoChunks);
        }
        // RFC 9260 §6.10: INIT, INIT ACK and SHUTDOWN COMPLETE MUST NOT be bundled.
        if let Some(chunk_type) = alone
            && count > 1
        {
            return Err(ParseError::MustBeAlone { chunk_type });
        }
        Ok(packet)
    }

    /// Iterate over the chunks. Framing was verified by [`Packet::parse`].
    pub fn chunks(&self) -> ChunkIter<'a> {
        ChunkIter::new(self.bytes, COMMON_HEADER_LEN)
    }

    /// The raw packet.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Appends a packet: call [`PacketWriter::start`], append chunks with the `chunk::emit_*`
/// functions, then [`PacketWriter::finish`].
#[derive(Debug)]
pub struct PacketWriter;

impl PacketWriter {
    /// Write the common header (checksum 0 for now).
    pub fn start(out: &mut Vec<u8>, src_port: u16, dst_port: u16, verification_tag: u32) {
        out.clear();
        out.extend_from_slice(&src_port.to_be_bytes());
        out.extend_from_slice(&dst_port.to_be_bytes());
        out.extend_from_slice(&verification_tag.to_be_bytes());
        out.extend_from_slice(&[0; 4]);
    }

    /// Fill in the checksum: CRC32c, or 0 when RFC 9653 zero checksum is in use.
    pub fn finish(out: &mut [u8], zero_checksum: bool) {
        let sum = if zero_checksum {
            0
        } else {
            compute_checksum(out)
        };
        if let Some(field) = out.get_mut(8..12) {
            field.copy_from_slice(&sum.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An SCTP COOKIE-ACK packet, checksum computed independently with the crc32c definition
    // (Castagnoli, reflected, little-endian in the header as Linux, usrsctp and Pion send it).
    #[test]
    fn checksum_roundtrip_and_tamper() {
        let mut out = Vec::new();
        PacketWriter::start(&mut out, 5000, 5000, 0x0102_0304);
        chunk::emit_simple(&mut out, chunk_type::COOKIE_ACK, 0);
        PacketWriter::finish(&mut out, false);
        let p = Packet::parse(&out, ChecksumPolicy::Required).unwrap();
        assert_eq!(p.header.verification_tag, 0x0102_0304);
        assert!(matches!(p.chunks().next(), Some(Ok(Chunk::CookieAck))));
        let mut bad = out.clone();
        bad[5] ^= 1;
        assert!(matches!(
            Packet::parse(&bad, ChecksumPolicy::Required),
            Err(ParseError::BadChecksum { .. })
        ));
    }

    #[test]
    fn zero_checksum_only_when_accepted() {
        let mut out = Vec::new();
        PacketWriter::start(&mut out, 5000, 5000, 7);
        chunk::emit_simple(&mut out, chunk_type::COOKIE_ACK, 0);
        PacketWriter::finish(&mut out, true);
        assert!(Packet::parse(&out, ChecksumPolicy::AcceptZero).is_ok());
        assert!(Packet::parse(&out, ChecksumPolicy::Required).is_err());
    }

    #[test]
    fn crc32c_known_vector() {
        // RFC 3720 §B.4: 32 bytes of zeros -> CRC32c 0x8a9136aa.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn truncated_header() {
        assert_eq!(
            Packet::parse(&[0; 11], ChecksumPolicy::Required).unwrap_err(),
            ParseError::TruncatedHeader { len: 11 }
        );
    }
}
