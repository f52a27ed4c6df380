//! Sender and receiver reports (RFC 3550 §6.4).

use super::need;
use crate::Error;
use crate::wire::{Writer, be24, be32, be64, byte};

/// One reception report block (RFC 3550 §6.4.1), 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// SSRC of the source this block is about.
    pub ssrc: u32,
    /// Fraction lost since the previous report, ×256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, signed 24 bits (duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub extended_highest_seq: u32,
    /// Interarrival jitter, RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (LSR).
    pub last_sr: u32,
    /// Delay since that SR, 1/65536 s (DLSR).
    pub delay_since_last_sr: u32,
}

/// Size of a report block.
pub const REPORT_BLOCK_LEN: usize = 24;

impl ReportBlock {
    fn decode(b: &[u8], at: usize) -> Self {
        let lost = be24(b, at + 5);
        ReportBlock {
            ssrc: be32(b, at),
            fraction_lost: byte(b, at + 4),
            cumulative_lost: ((lost << 8) as i32) >> 8,
            extended_highest_seq: be32(b, at + 8),
            jitter: be32(b, at + 12),
            last_sr: be32(b, at + 16),
            delay_since_last_sr: be32(b, at + 20),
        }
    }
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        if !(-(1 << 23)..(1 << 23)).contains(&self.cumulative_lost) {
            return Err(Error::ValueOutOfRange {
                field: "cumulative_lost",
            });
        }
        w.u32(self.ssrc)?;
        w.u8(self.fraction_lost)?;
        w.u24(self.cumulative_lost as u32 & 0x00ff_ffff)?;
        w.u32(self.extended_highest_seq)?;
        w.u32(self.jitter)?;
        w.u32(self.last_sr)?;
        w.u32(self.delay_since_last_sr)
    }
}

fn decode_blocks(
    rc: u8,
    b: &[u8],
    from: usize,
    at: usize,
) -> Result<(Vec<ReportBlock>, Vec<u8>), Error> {
    let n = usize::from(rc);
    let end = from + n * REPORT_BLOCK_LEN;
    // RFC 3550 A.2: RC report blocks must fit in the packet length (BAD_INPUT row 36).
    if end > b.len() {
        return Err(Error::RtcpCountOverrun { at, count: n });
    }
    let blocks = (0..n)
        .map(|i| ReportBlock::decode(b, from + i * REPORT_BLOCK_LEN))
        .collect();
    let ext = b.get(end..).unwrap_or(&[]).to_vec();
    Ok((blocks, ext))
}

/// Sender report (RFC 3550 §6.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderReport {
    /// SSRC of the sender.
    pub ssrc: u32,
    /// 64-bit NTP timestamp.
    pub ntp_time: u64,
    /// RTP timestamp corresponding to `ntp_time`.
    pub rtp_time: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
    /// Reception report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension (a multiple of 4 bytes).
    pub profile_extension: Vec<u8>,
}

impl SenderReport {
    pub(crate) fn decode(rc: u8, b: &[u8], at: usize) -> Result<Self, Error> {
        need(b, 24, at)?;
        let (reports, profile_extension) = decode_blocks(rc, b, 24, at)?;
        Ok(SenderReport {
            ssrc: be32(b, 0),
            ntp_time: be64(b, 4),
            rtp_time: be32(b, 12),
            packet_count: be32(b, 16),
            octet_count: be32(b, 20),
            reports,
            profile_extension,
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        24 + REPORT_BLOCK_LEN * self.reports.len() + self.profile_extension.len()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u32(self.ssrc)?;
        w.u64(self.ntp_time)?;
        w.u32(self.rtp_time)?;
        w.u32(self.packet_count)?;
        w.u32(self.octet_count)?;
        for r in &self.reports {
            r.emit(w)?;
        }
        w.bytes(&self.profile_extension)
    }
}

/// Receiver report (RFC 3550 §6.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    /// SSRC of the packet sender.
    pub ssrc: u32,
    /// Reception report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension (a multiple of 4 bytes).
    pub profile_extension: Vec<u8>,
}

impl ReceiverReport {
    pub(crate) fn decode(rc: u8, b: &[u8], at: usize) -> Result<Self, Error> {
        need(b, 4, at)?;
        let (reports, profile_extension) = decode_blocks(rc, b, 4, at)?;
        Ok(ReceiverReport {
            ssrc: be32(b, 0),
            reports,
            profile_extension,
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        4 + REPORT_BLOCK_LEN * self.reports.len() + self.profile_extension.len()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u32(self.ssrc)?;
        for r in &self.reports {
            r.emit(w)?;
        }
        w.bytes(&self.profile_extension)
    }
}
