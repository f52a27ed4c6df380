//! RFC 8888 §3.1 RTP congestion control feedback (RTPFB FMT 11).

use super::need;
use crate::Error;
use crate::wire::{Writer, be16, be32};

/// One per-packet report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcfbReport {
    /// R: the packet was received.
    pub received: bool,
    /// ECN codepoint (2 bits).
    pub ecn: u8,
    /// Arrival time offset before the report timestamp, 1/1024 s (13 bits; 0x1FFE = over-range,
    /// 0x1FFF = unavailable).
    pub arrival_time_offset: u16,
}

/// Reports for one RTP stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CcfbBlock {
    /// The stream.
    pub media_ssrc: u32,
    /// RTP sequence number of the first report.
    pub begin_seq: u16,
    /// One report per sequence number from `begin_seq` (at most 16384).
    pub reports: Vec<CcfbReport>,
}

/// RFC 8888 feedback packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CongestionControlFeedback {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// Per-stream blocks.
    pub blocks: Vec<CcfbBlock>,
    /// Middle 32 bits of the NTP time the report was generated.
    pub report_timestamp: u32,
}

/// RFC 8888 §3.1: num_reports covers at most 16384 packets.
const MAX_REPORTS: usize = 16384;

impl CongestionControlFeedback {
    pub(crate) fn decode(b: &[u8], at: usize) -> Result<Self, Error> {
        need(b, 8, at)?;
        let end = b.len() - 4; // report timestamp is the last word
        let mut pos = 4;
        let mut blocks = Vec::new();
        while pos < end {
            if pos + 8 > end {
                return Err(Error::CcfbMalformed { at: at + 4 + pos });
            }
            let media_ssrc = be32(b, pos);
            let begin_seq = be16(b, pos + 4);
            let n = usize::from(be16(b, pos + 6));
            pos += 8;
            let words = (2 * n).div_ceil(4) * 4;
            if n > MAX_REPORTS || pos + words > end {
                return Err(Error::CcfbMalformed { at: at + 4 + pos });
            }
            let reports = (0..n)
                .map(|i| {
                    let v = be16(b, pos + 2 * i);
                    CcfbReport {
                        received: v & 0x8000 != 0,
                        ecn: ((v >> 13) & 3) as u8,
                        arrival_time_offset: v & 0x1fff,
                    }
                })
                .collect();
            pos += words;
            blocks.push(CcfbBlock {
                media_ssrc,
                begin_seq,
                reports,
            });
        }
        Ok(CongestionControlFeedback {
            sender_ssrc: be32(b, 0),
            blocks,
            report_timestamp: be32(b, end),
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        8 + self
            .blocks
            .iter()
            .map(|bl| 8 + (2 * bl.reports.len()).div_ceil(4) * 4)
            .sum::<usize>()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u32(self.sender_ssrc)?;
        for bl in &self.blocks {
            if bl.reports.len() > MAX_REPORTS {
                return Err(Error::ValueOutOfRange {
                    field: "RFC 8888 num_reports",
                });
            }
            w.u32(bl.media_ssrc)?;
            w.u16(bl.begin_seq)?;
            w.u16(bl.reports.len() as u16)?;
            for r in &bl.reports {
                if r.ecn > 3 || r.arrival_time_offset > 0x1fff {
                    return Err(Error::ValueOutOfRange {
                        field: "RFC 8888 report",
                    });
                }
                w.u16(
                    u16::from(r.received) << 15 | u16::from(r.ecn) << 13 | r.arrival_time_offset,
                )?;
            }
            if bl.reports.len() % 2 == 1 {
                // RFC 8888 §3.1: 16 bits of padding when num_reports is odd.
                w.u16(0)?;
            }
        }
        w.u32(self.report_timestamp)
    }
}
