//! Extended reports (RFC 3611): receiver reference time (§4.4) and DLRR (§4.5), which let a
//! receive-only endpoint measure round-trip time.

use super::need;
use crate::Error;
use crate::wire::{Writer, be16, be32, be64, byte};

const BT_RRTR: u8 = 4;
const BT_DLRR: u8 = 5;

/// One DLRR sub-block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DlrrItem {
    /// Receiver whose RRTR this answers.
    pub ssrc: u32,
    /// Middle 32 bits of that RRTR's NTP timestamp.
    pub last_rr: u32,
    /// Delay since receiving it, 1/65536 s.
    pub delay_since_last_rr: u32,
}

/// An XR report block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XrBlock {
    /// RFC 3611 §4.4 receiver reference time.
    ReceiverReferenceTime {
        /// 64-bit NTP timestamp.
        ntp_time: u64,
    },
    /// RFC 3611 §4.5 DLRR.
    Dlrr(Vec<DlrrItem>),
    /// Any other block type, undecoded.
    Unknown {
        /// Block type.
        block_type: u8,
        /// Type-specific byte.
        type_specific: u8,
        /// Block contents after its 4-byte header (a multiple of 4 bytes).
        data: Vec<u8>,
    },
}

impl XrBlock {
    fn body_len(&self) -> usize {
        match self {
            XrBlock::ReceiverReferenceTime { .. } => 8,
            XrBlock::Dlrr(items) => 12 * items.len(),
            XrBlock::Unknown { data, .. } => data.len(),
        }
    }
}

/// Extended report packet (RFC 3611 §2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedReport {
    /// SSRC of the originator.
    pub ssrc: u32,
    /// Report blocks.
    pub blocks: Vec<XrBlock>,
}

impl ExtendedReport {
    pub(crate) fn decode(b: &[u8], at: usize) -> Result<Self, Error> {
        need(b, 4, at)?;
        let mut blocks = Vec::new();
        let mut pos = 4;
        while pos < b.len() {
            let block_at = at + 4 + pos;
            if pos + 4 > b.len() {
                return Err(Error::XrBlockMalformed { at: block_at });
            }
            let bt = byte(b, pos);
            let ts = byte(b, pos + 1);
            // RFC 3611 §3: block length is the block's length in 32-bit words minus one,
            // counting its own header.
            let len = usize::from(be16(b, pos + 2)) * 4;
            let Some(data) = b.get(pos + 4..pos + 4 + len) else {
                return Err(Error::XrBlockMalformed { at: block_at });
            };
            let block = match bt {
                BT_RRTR => {
                    if len != 8 {
                        return Err(Error::XrBlockMalformed { at: block_at });
                    }
                    XrBlock::ReceiverReferenceTime {
                        ntp_time: be64(data, 0),
                    }
                }
                BT_DLRR => {
                    if !len.is_multiple_of(12) {
                        return Err(Error::XrBlockMalformed { at: block_at });
                    }
                    XrBlock::Dlrr(
                        (0..len / 12)
                            .map(|i| DlrrItem {
                                ssrc: be32(data, 12 * i),
                                last_rr: be32(data, 12 * i + 4),
                                delay_since_last_rr: be32(data, 12 * i + 8),
                            })
                            .collect(),
                    )
                }
                _ => XrBlock::Unknown {
                    block_type: bt,
                    type_specific: ts,
                    data: data.to_vec(),
                },
            };
            blocks.push(block);
            pos += 4 + len;
        }
        Ok(ExtendedReport {
            ssrc: be32(b, 0),
            blocks,
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        4 + self.blocks.iter().map(|b| 4 + b.body_len()).sum::<usize>()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u32(self.ssrc)?;
        for b in &self.blocks {
            let words = u16::try_from(b.body_len() / 4).map_err(|_| Error::ValueOutOfRange {
                field: "XR block length",
            })?;
            match b {
                XrBlock::ReceiverReferenceTime { ntp_time } => {
                    w.u8(BT_RRTR)?;
                    w.u8(0)?;
                    w.u16(words)?;
                    w.u64(*ntp_time)?;
                }
                XrBlock::Dlrr(items) => {
                    w.u8(BT_DLRR)?;
                    w.u8(0)?;
                    w.u16(words)?;
                    for i in items {
                        w.u32(i.ssrc)?;
                        w.u32(i.last_rr)?;
                        w.u32(i.delay_since_last_rr)?;
                    }
                }
                XrBlock::Unknown {
                    block_type,
                    type_specific,
                    data,
                } => {
                    if !data.len().is_multiple_of(4)
                        || *block_type == BT_RRTR
                        || *block_type == BT_DLRR
                    {
                        return Err(Error::ValueOutOfRange { field: "XR block" });
                    }
                    w.u8(*block_type)?;
                    w.u8(*type_specific)?;
                    w.u16(words)?;
                    w.bytes(data)?;
                }
            }
        }
        Ok(())
    }
}
