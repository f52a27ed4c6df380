//! RTCP packets and compound packets.
//!
//! * RFC 3550 §6.4–6.7: SR, RR, SDES, BYE, APP; §6.1 and A.2 compound rules.
//! * RFC 4585 §6.2.1 generic NACK, §6.3.1 PLI, §6.3.2 SLI; RFC 5104 §4.3.1 FIR.
//! * RFC 3611 §4.4 RRTR and §4.5 DLRR extended reports.
//! * draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1 transport-wide feedback.
//! * RFC 8888 §3.1 congestion control feedback.
//! * draft-alvestrand-rmcat-remb-03 §2.2 REMB.
//! * RFC 5506 reduced-size RTCP: a compound may start with any packet type.
//!
//! [`RtcpPacket::parse_compound`] splits and decodes a whole compound packet, failing on the
//! first malformed packet; [`CompoundIter`] does the same lazily. Every count field is checked
//! against the bytes present before anything is allocated (BAD_INPUT row 36).

mod ccfb;
mod fb;
mod report;
mod sdes;
mod twcc;
mod xr;

pub use ccfb::{CcfbBlock, CcfbReport, CongestionControlFeedback};
pub use fb::{Fir, FirEntry, Nack, NackPair, Pli, Remb, Sli, SliEntry};
pub use report::{ReceiverReport, ReportBlock, SenderReport};
pub use sdes::{App, Goodbye, SDES_CNAME, SdesChunk, SdesItem, SourceDescription};
pub use twcc::{PacketStatus, TWCC_DELTA_TICK_US, TWCC_REFERENCE_TICK_MS, TransportFeedback};
pub use xr::{DlrrItem, ExtendedReport, XrBlock};

use super::{Writer, be16, byte};
use crate::Error;

/// RTCP packet type: sender report.
pub const PT_SR: u8 = 200;
/// RTCP packet type: receiver report.
pub const PT_RR: u8 = 201;
/// RTCP packet type: source description.
pub const PT_SDES: u8 = 202;
/// RTCP packet type: goodbye.
pub const PT_BYE: u8 = 203;
/// RTCP packet type: application-defined.
pub const PT_APP: u8 = 204;
/// RTCP packet type: transport-layer feedback (RFC 4585).
pub const PT_RTPFB: u8 = 205;
/// RTCP packet type: payload-specific feedback (RFC 4585).
pub const PT_PSFB: u8 = 206;
/// RTCP packet type: extended report (RFC 3611).
pub const PT_XR: u8 = 207;

/// The 4-byte common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpHeader {
    /// P bit.
    pub padding: bool,
    /// RC / SC / FMT / subtype (5 bits).
    pub count: u8,
    /// Packet type.
    pub packet_type: u8,
    /// Length in 32-bit words minus one.
    pub length: u16,
}

impl RtcpHeader {
    /// Parse the header at `at`.
    pub fn parse(buf: &[u8], at: usize) -> Result<Self, Error> {
        if buf.len() < at + 4 {
            return Err(Error::RtcpTruncated { at });
        }
        let b0 = byte(buf, at);
        let version = b0 >> 6;
        // RFC 3550 A.2: the version field must be 2.
        if version != 2 {
            return Err(Error::BadVersion { version });
        }
        Ok(RtcpHeader {
            padding: b0 & 0x20 != 0,
            count: b0 & 0x1f,
            packet_type: byte(buf, at + 1),
            length: be16(buf, at + 2),
        })
    }
    /// Total packet length in bytes.
    pub fn packet_len(&self) -> usize {
        (usize::from(self.length) + 1) * 4
    }
}

/// A packet type or format this crate does not decode; kept so it can be forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPacket {
    /// Packet type.
    pub packet_type: u8,
    /// The 5-bit count/FMT field.
    pub count: u8,
    /// Body after the 4-byte header (a multiple of 4 bytes).
    pub body: Vec<u8>,
}

/// One decoded RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// SR.
    SenderReport(SenderReport),
    /// RR.
    ReceiverReport(ReceiverReport),
    /// SDES.
    SourceDescription(SourceDescription),
    /// BYE.
    Goodbye(Goodbye),
    /// APP.
    App(App),
    /// XR.
    ExtendedReport(ExtendedReport),
    /// RTPFB FMT 1.
    Nack(Nack),
    /// RTPFB FMT 15.
    TransportFeedback(TransportFeedback),
    /// RTPFB FMT 11.
    CongestionControlFeedback(CongestionControlFeedback),
    /// PSFB FMT 1.
    Pli(Pli),
    /// PSFB FMT 2.
    Sli(Sli),
    /// PSFB FMT 4.
    Fir(Fir),
    /// PSFB FMT 15 with the `REMB` identifier.
    Remb(Remb),
    /// Anything else, undecoded.
    Unknown(UnknownPacket),
}

/// Lazily decodes a compound packet.
#[derive(Debug, Clone)]
pub struct CompoundIter<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> CompoundIter<'a> {
    /// Iterate the packets of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        CompoundIter {
            buf,
            pos: 0,
            failed: false,
        }
    }
}

impl Iterator for CompoundIter<'_> {
    type Item = Result<RtcpPacket, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        match parse_one(self.buf, self.pos) {
            Ok((p, len)) => {
                self.pos += len;
                Some(Ok(p))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Parse the packet at `at` of a compound; returns it and its length.
fn parse_one(buf: &[u8], at: usize) -> Result<(RtcpPacket, usize), Error> {
    let h = RtcpHeader::parse(buf, at)?;
    let len = h.packet_len();
    let end = at + len;
    if end > buf.len() {
        return Err(Error::RtcpLengthOverrun {
            at,
            length_words: h.length,
            len: buf.len(),
        });
    }
    let mut body_end = end;
    if h.padding {
        // RFC 3550 §6.4.1: the last octet of the padding is its count, which must fit in the
        // packet body. A.2 expects padding only on the last packet of a compound, but
        // libwebrtc pads transport-wide feedback wherever it sits; the count is local to the
        // packet, so it is accepted anywhere (never emitted by us).
        let pad = usize::from(byte(buf, end - 1));
        if pad == 0 || pad > len - 4 {
            return Err(Error::RtcpBadPadding { at });
        }
        body_end = end - pad;
    }
    let body = buf.get(at + 4..body_end).unwrap_or(&[]);
    let p = decode_body(&h, body, at)?;
    Ok((p, len))
}

fn decode_body(h: &RtcpHeader, body: &[u8], at: usize) -> Result<RtcpPacket, Error> {
    Ok(match (h.packet_type, h.count) {
        (PT_SR, rc) => RtcpPacket::SenderReport(SenderReport::decode(rc, body, at)?),
        (PT_RR, rc) => RtcpPacket::ReceiverReport(ReceiverReport::decode(rc, body, at)?),
        (PT_SDES, sc) => RtcpPacket::SourceDescription(SourceDescription::decode(sc, body, at)?),
        (PT_BYE, sc) => RtcpPacket::Goodbye(Goodbye::decode(sc, body, at)?),
        (PT_APP, st) => RtcpPacket::App(App::decode(st, body, at)?),
        (PT_XR, _) => RtcpPacket::ExtendedReport(ExtendedReport::decode(body, at)?),
        (PT_RTPFB, 1) => RtcpPacket::Nack(Nack::decode(body, at)?),
        (PT_RTPFB, 11) => {
            RtcpPacket::CongestionControlFeedback(CongestionControlFeedback::decode(body, at)?)
        }
        (PT_RTPFB, 15) => RtcpPacket::TransportFeedback(TransportFeedback::decode(body, at)?),
        (PT_PSFB, 1) => RtcpPacket::Pli(Pli::decode(body, at)?),
        (PT_PSFB, 2) => RtcpPacket::Sli(Sli::decode(body, at)?),
        (PT_PSFB, 4) => RtcpPacket::Fir(Fir::decode(body, at)?),
        (PT_PSFB, 15) if Remb::is_remb(body) => RtcpPacket::Remb(Remb::decode(body, at)?),
        (packet_type, count) => RtcpPacket::Unknown(UnknownPacket {
            packet_type,
            count,
            body: body.to_vec(),
        }),
    })
}

impl RtcpPacket {
    /// Decode every packet of a compound (or reduced-size, RFC 5506) RTCP packet.
    pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>, Error> {
        if buf.is_empty() {
            return Err(Error::RtcpEmpty);
        }
        CompoundIter::new(buf).collect()
    }

    /// Emit a compound packet of `packets` into `buf`; returns the length.
    pub fn emit_compound(packets: &[RtcpPacket], buf: &mut [u8]) -> Result<usize, Error> {
        let mut n = 0;
        for p in packets {
            n += p.emit(buf.get_mut(n..).unwrap_or(&mut []))?;
        }
        Ok(n)
    }

    /// Emit a compound packet into a new `Vec`.
    pub fn compound_to_vec(packets: &[RtcpPacket]) -> Result<Vec<u8>, Error> {
        let mut v = vec![0; packets.iter().map(RtcpPacket::buffer_len).sum()];
        let n = Self::emit_compound(packets, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    fn type_and_count(&self) -> (u8, u8) {
        match self {
            RtcpPacket::SenderReport(p) => (PT_SR, p.reports.len() as u8),
            RtcpPacket::ReceiverReport(p) => (PT_RR, p.reports.len() as u8),
            RtcpPacket::SourceDescription(p) => (PT_SDES, p.chunks.len() as u8),
            RtcpPacket::Goodbye(p) => (PT_BYE, p.sources.len() as u8),
            RtcpPacket::App(p) => (PT_APP, p.subtype),
            RtcpPacket::ExtendedReport(_) => (PT_XR, 0),
            RtcpPacket::Nack(_) => (PT_RTPFB, 1),
            RtcpPacket::CongestionControlFeedback(_) => (PT_RTPFB, 11),
            RtcpPacket::TransportFeedback(_) => (PT_RTPFB, 15),
            RtcpPacket::Pli(_) => (PT_PSFB, 1),
            RtcpPacket::Sli(_) => (PT_PSFB, 2),
            RtcpPacket::Fir(_) => (PT_PSFB, 4),
            RtcpPacket::Remb(_) => (PT_PSFB, 15),
            RtcpPacket::Unknown(u) => (u.packet_type, u.count),
        }
    }

    fn count_limit(&self) -> Result<(), Error> {
        let too_many = match self {
            RtcpPacket::SenderReport(p) => p.reports.len() > 31,
            RtcpPacket::ReceiverReport(p) => p.reports.len() > 31,
            RtcpPacket::SourceDescription(p) => p.chunks.len() > 31,
            RtcpPacket::Goodbye(p) => p.sources.len() > 31,
            RtcpPacket::App(p) => p.subtype > 31,
            RtcpPacket::Unknown(u) => u.count > 31 || !u.body.len().is_multiple_of(4),
            _ => false,
        };
        if too_many {
            Err(Error::ValueOutOfRange {
                field: "RTCP count",
            })
        } else {
            Ok(())
        }
    }

    fn body_len(&self) -> usize {
        match self {
            RtcpPacket::SenderReport(p) => p.body_len(),
            RtcpPacket::ReceiverReport(p) => p.body_len(),
            RtcpPacket::SourceDescription(p) => p.body_len(),
            RtcpPacket::Goodbye(p) => p.body_len(),
            RtcpPacket::App(p) => p.body_len(),
            RtcpPacket::ExtendedReport(p) => p.body_len(),
            RtcpPacket::Nack(p) => p.body_len(),
            RtcpPacket::TransportFeedback(p) => p.body_len(),
            RtcpPacket::CongestionControlFeedback(p) => p.body_len(),
            RtcpPacket::Pli(p) => p.body_len(),
            RtcpPacket::Sli(p) => p.body_len(),
            RtcpPacket::Fir(p) => p.body_len(),
            RtcpPacket::Remb(p) => p.body_len(),
            RtcpPacket::Unknown(u) => u.body.len(),
        }
    }

    /// Bytes this packet needs.
    pub fn buffer_len(&self) -> usize {
        4 + self.body_len()
    }

    /// Emit this packet (header + body, no padding) into `buf`; returns the length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.count_limit()?;
        let total = self.buffer_len();
        if !total.is_multiple_of(4) {
            return Err(Error::ValueOutOfRange {
                field: "RTCP body alignment",
            });
        }
        let words = u16::try_from(total / 4 - 1).map_err(|_| Error::ValueOutOfRange {
            field: "RTCP length",
        })?;
        if buf.len() < total {
            return Err(Error::BufferTooSmall {
                needed: total,
                got: buf.len(),
            });
        }
        let (pt, count) = self.type_and_count();
        let mut w = Writer::new(buf);
        w.u8(0x80 | (count & 0x1f))?;
        w.u8(pt)?;
        w.u16(words)?;
        match self {
            RtcpPacket::SenderReport(p) => p.emit_body(&mut w)?,
            RtcpPacket::ReceiverReport(p) => p.emit_body(&mut w)?,
            RtcpPacket::SourceDescription(p) => p.emit_body(&mut w)?,
            RtcpPacket::Goodbye(p) => p.emit_body(&mut w)?,
            RtcpPacket::App(p) => p.emit_body(&mut w)?,
            RtcpPacket::ExtendedReport(p) => p.emit_body(&mut w)?,
            RtcpPacket::Nack(p) => p.emit_body(&mut w)?,
            RtcpPacket::TransportFeedback(p) => p.emit_body(&mut w)?,
            RtcpPacket::CongestionControlFeedback(p) => p.emit_body(&mut w)?,
            RtcpPacket::Pli(p) => p.emit_body(&mut w)?,
            RtcpPacket::Sli(p) => p.emit_body(&mut w)?,
            RtcpPacket::Fir(p) => p.emit_body(&mut w)?,
            RtcpPacket::Remb(p) => p.emit_body(&mut w)?,
            RtcpPacket::Unknown(u) => w.bytes(&u.body)?,
        }
        if w.pos() != total {
            return Err(Error::ValueOutOfRange {
                field: "RTCP body length",
            });
        }
        Ok(total)
    }

    /// Emit into a new `Vec`.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        Self::compound_to_vec(std::slice::from_ref(self))
    }
}

/// Require `body` to hold at least `n` bytes.
pub(crate) fn need(body: &[u8], n: usize, at: usize) -> Result<(), Error> {
    if body.len() < n {
        Err(Error::RtcpTruncated {
            at: at + 4 + body.len(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
