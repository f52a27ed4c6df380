//! Feedback messages: generic NACK (RFC 4585 §6.2.1), PLI (§6.3.1), SLI (§6.3.2),
//! FIR (RFC 5104 §4.3.1) and REMB (draft-alvestrand-rmcat-remb-03 §2.2).

use super::need;
use crate::Error;
use crate::wire::{Writer, be16, be32, byte};

fn ssrcs(b: &[u8], at: usize) -> Result<(u32, u32), Error> {
    // RFC 4585 §6.1: every feedback message starts with the packet sender's SSRC and the
    // media source's SSRC.
    need(b, 8, at)?;
    Ok((be32(b, 0), be32(b, 4)))
}

/// One NACK FCI entry: a packet id and a bitmask of the following 16 lost packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NackPair {
    /// PID.
    pub packet_id: u16,
    /// BLP: bit i set means `packet_id + i + 1` is lost too.
    pub lost_bitmask: u16,
}

/// Generic NACK (RFC 4585 §6.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nack {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source.
    pub media_ssrc: u32,
    /// FCI entries (at least one).
    pub pairs: Vec<NackPair>,
}

impl Nack {
    /// Build a NACK from sequence numbers (in any order; wrapping handled by grouping each
    /// number with a PID at most 16 below it, modulo 2^16).
    pub fn from_sequence_numbers(sender_ssrc: u32, media_ssrc: u32, seqs: &[u16]) -> Self {
        let mut pairs: Vec<NackPair> = Vec::new();
        for &s in seqs {
            if let Some(p) = pairs.last_mut() {
                let d = s.wrapping_sub(p.packet_id);
                if (1..=16).contains(&d) {
                    p.lost_bitmask |= 1 << (d - 1);
                    continue;
                }
                if d == 0 {
                    continue;
                }
            }
            pairs.push(NackPair {
                packet_id: s,
                lost_bitmask: 0,
            });
        }
        Nack {
            sender_ssrc,
            media_ssrc,
            pairs,
        }
    }

    /// Every sequence number this NACK reports lost.
    pub fn sequence_numbers(&self) -> impl Iterator<Item = u16> + '_ {
        self.pairs.iter().flat_map(|p| {
            std::iter::once(p.packet_id).chain(
                (0..16u16)
                    .filter(move |i| p.lost_bitmask & (1 << i) != 0)
                    .map(move |i| p.packet_id.wrapping_add(i + 1)),
            )
        })
    }

    pub(crate) fn decode(b: &[u8], at: usize) -> Result<Self, Error> {
        let (sender_ssrc, media_ssrc) = ssrcs(b, at)?;
        let fci = b.get(8..).unwrap_or(&[]);
        // RFC 4585 §6.2.1: the FCI field MUST contain at least one and MAY contain more
        // than one Generic NACK.
        if fci.is_empty() || !fci.len().is_multiple_of(4) {
            return Err(Error::BadFci { at });
        }
        let pairs = (0..fci.len() / 4)
            .map(|i| NackPair {
                packet_id: be16(fci, 4 * i),
                lost_bitmask: be16(fci, 4 * i + 2),
            })
            .collect();
        Ok(Nack {
            sender_ssrc,
            media_ssrc,
            pairs,
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        8 + 4 * self.pairs.len()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        if self.pairs.is_empty() {
            return Err(Error::ValueOutOfRange {
                field: "NACK pairs",
            });
        }
        w.u32(self.sender_ssrc)?;
        w.u32(self.media_ssrc)?;
        for p in &self.pairs {
            w.u16(p.packet_id)?;
            w.u16(p.lost_bitmask)?;
        }
        Ok(())
    }
}

/// Picture loss indication (RFC 4585 §6.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pli {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source.
    pub media_ssrc: u32,
}

impl Pli {
    pub(crate) fn decode(b: &[u8], at: usize) -> Result<Self, Error> {
        let (sender_ssrc, media_ssrc) = ssrcs(b, at)?;
        // RFC 4585 §6.3.1: PLI does not require parameters, so no FCI follows; anything
        // after the two SSRCs is ignored rather than failing the whole compound.
        Ok(Pli {
            sender_ssrc,
            media_ssrc,
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        8
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u32(self.sender_ssrc)?;
        w.u32(self.media_ssrc)
    }
}

/// One SLI entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SliEntry {
    /// First lost macroblock (13 bits).
    pub first: u16,
    /// Number of lost macroblocks (13 bits).
    pub number: u16,
    /// Picture id (6 bits).
    pub picture_id: u8,
}

/// Slice loss indication (RFC 4585 §6.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sli {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source.
    pub media_ssrc: u32,
    /// Entries (at least one).
    pub entries: Vec<SliEntry>,
}

impl Sli {
    pub(crate) fn decode(b: &[u8], at: usize) -> Result<Self, Error> {
        let (sender_ssrc, media_ssrc) = ssrcs(b, at)?;
        let fci = b.get(8..).unwrap_or(&[]);
        if fci.is_empty() || !fci.len().is_multiple_of(4) {
            return Err(Error::BadFci { at });
        }
        let entries = (0..fci.len() / 4)
            .map(|i| {
                let v = be32(fci, 4 * i);
                SliEntry {
                    first: (v >> 19) as u16,
                    number: ((v >> 6) & 0x1fff) as u16,
                    picture_id: (v & 0x3f) as u8,
                }
            })
            .collect();
        Ok(Sli {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        8 + 4 * self.entries.len()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        if self.entries.is_empty() {
            return Err(Error::ValueOutOfRange {
                field: "SLI entries",
            });
        }
        w.u32(self.sender_ssrc)?;
        w.u32(self.media_ssrc)?;
        for e in &self.entries {
            if e.first > 0x1fff || e.number > 0x1fff || e.picture_id > 0x3f {
                return Err(Error::ValueOutOfRange { field: "SLI entry" });
            }
            w.u32(u32::from(e.first) << 19 | u32::from(e.number) << 6 | u32::from(e.picture_id))?;
        }
        Ok(())
    }
}

/// One FIR entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FirEntry {
    /// SSRC of the media sender asked for a decoder refresh.
    pub ssrc: u32,
    /// Command sequence number.
    pub seq: u8,
}

/// Full intra request (RFC 5104 §4.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fir {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// Media source SSRC field (RFC 5104 §4.3.1.1: SHALL be 0 when sending; kept as received).
    pub media_ssrc: u32,
    /// Entries (at least one).
    pub entries: Vec<FirEntry>,
}

impl Fir {
    pub(crate) fn decode(b: &[u8], at: usize) -> Result<Self, Error> {
        let (sender_ssrc, media_ssrc) = ssrcs(b, at)?;
        let fci = b.get(8..).unwrap_or(&[]);
        if fci.is_empty() || !fci.len().is_multiple_of(8) {
            return Err(Error::BadFci { at });
        }
        let entries = (0..fci.len() / 8)
            .map(|i| FirEntry {
                ssrc: be32(fci, 8 * i),
                seq: byte(fci, 8 * i + 4),
            })
            .collect();
        Ok(Fir {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        8 + 8 * self.entries.len()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        if self.entries.is_empty() {
            return Err(Error::ValueOutOfRange {
                field: "FIR entries",
            });
        }
        w.u32(self.sender_ssrc)?;
        w.u32(self.media_ssrc)?;
        for e in &self.entries {
            w.u32(e.ssrc)?;
            w.u8(e.seq)?;
            w.zeros(3)?;
        }
        Ok(())
    }
}

/// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Remb {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// Media source SSRC field (always 0 per the draft; kept as received).
    pub media_ssrc: u32,
    /// 6-bit exponent.
    pub exponent: u8,
    /// 18-bit mantissa.
    pub mantissa: u32,
    /// SSRCs the estimate applies to (at most 255).
    pub ssrcs: Vec<u32>,
}

impl Remb {
    /// Encode `bitrate` bits/s (rounded down to 18 significant bits).
    pub fn new(sender_ssrc: u32, bitrate: u64, ssrcs: Vec<u32>) -> Self {
        let mut exponent = 0u8;
        let mut m = bitrate;
        while m >= 1 << 18 {
            m >>= 1;
            exponent += 1;
        }
        Remb {
            sender_ssrc,
            media_ssrc: 0,
            exponent,
            mantissa: m as u32,
            ssrcs,
        }
    }
    /// The bitrate in bits/s (saturating).
    pub fn bitrate(&self) -> u64 {
        u64::from(self.mantissa)
            .checked_shl(u32::from(self.exponent))
            .map_or(u64::MAX, |v| {
                if v >> self.exponent == u64::from(self.mantissa) {
                    v
                } else {
                    u64::MAX
                }
            })
    }
    pub(crate) fn is_remb(b: &[u8]) -> bool {
        b.get(8..12) == Some(b"REMB")
    }
    pub(crate) fn decode(b: &[u8], at: usize) -> Result<Self, Error> {
        let (sender_ssrc, media_ssrc) = ssrcs(b, at)?;
        if b.len() < 16 {
            return Err(Error::RembMalformed { at });
        }
        let n = usize::from(byte(b, 12));
        // The SSRC count must match the bytes present (BAD_INPUT row 36: huge counts).
        if b.len() != 16 + 4 * n {
            return Err(Error::RembMalformed { at });
        }
        let v = be32(b, 12);
        Ok(Remb {
            sender_ssrc,
            media_ssrc,
            exponent: ((v >> 18) & 0x3f) as u8,
            mantissa: v & 0x3ffff,
            ssrcs: (0..n).map(|i| be32(b, 16 + 4 * i)).collect(),
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        16 + 4 * self.ssrcs.len()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        let n = u8::try_from(self.ssrcs.len()).map_err(|_| Error::ValueOutOfRange {
            field: "REMB SSRC count",
        })?;
        if self.exponent > 63 || self.mantissa > 0x3ffff {
            return Err(Error::ValueOutOfRange {
                field: "REMB bitrate",
            });
        }
        w.u32(self.sender_ssrc)?;
        w.u32(self.media_ssrc)?;
        w.bytes(b"REMB")?;
        w.u32(u32::from(n) << 24 | u32::from(self.exponent) << 18 | self.mantissa)?;
        for s in &self.ssrcs {
            w.u32(*s)?;
        }
        Ok(())
    }
}
