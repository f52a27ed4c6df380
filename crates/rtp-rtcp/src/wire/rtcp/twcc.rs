//! Transport-wide congestion control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1; RTPFB FMT 15).

use super::need;
use crate::Error;
use crate::wire::{Writer, be16, be24, be32, byte};

/// Receive deltas count in 250 µs ticks.
pub const TWCC_DELTA_TICK_US: i64 = 250;
/// The reference time counts in 64 ms ticks.
pub const TWCC_REFERENCE_TICK_MS: i64 = 64;

const MAX_RUN: usize = 0x1fff;

/// The status of one packet, with its receive delta in 250 µs ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketStatus {
    /// Symbol 00.
    NotReceived,
    /// Symbol 01: received, delta 0–255 ticks (one byte).
    SmallDelta(u8),
    /// Symbol 10: received, signed 16-bit delta (two bytes).
    LargeDelta(i16),
}

impl PacketStatus {
    /// The status for a delta of `ticks` (250 µs), choosing the smallest encoding;
    /// `None` when the delta does not fit 16 bits.
    pub fn received(ticks: i64) -> Option<Self> {
        if (0..=255).contains(&ticks) {
            Some(PacketStatus::SmallDelta(ticks as u8))
        } else {
            i16::try_from(ticks).ok().map(PacketStatus::LargeDelta)
        }
    }
    fn symbol(self) -> u16 {
        match self {
            PacketStatus::NotReceived => 0,
            PacketStatus::SmallDelta(_) => 1,
            PacketStatus::LargeDelta(_) => 2,
        }
    }
    /// The delta in ticks, if received.
    pub fn delta_ticks(self) -> Option<i64> {
        match self {
            PacketStatus::NotReceived => None,
            PacketStatus::SmallDelta(d) => Some(i64::from(d)),
            PacketStatus::LargeDelta(d) => Some(i64::from(d)),
        }
    }
}

/// Transport-wide feedback.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransportFeedback {
    /// SSRC of the packet sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source.
    pub media_ssrc: u32,
    /// Transport-wide sequence number of the first packet described.
    pub base_sequence: u16,
    /// 24-bit reference time, 64 ms ticks, wrapping.
    pub reference_time: u32,
    /// Feedback packet count (wraps).
    pub feedback_count: u8,
    /// One status per packet from `base_sequence` on (at most 65535).
    pub packets: Vec<PacketStatus>,
}

impl TransportFeedback {
    /// `(sequence number, arrival time in µs since the reference-time epoch)` for every
    /// received packet; reference time is taken as unsigned 24-bit ticks.
    pub fn arrivals(&self) -> impl Iterator<Item = (u16, Option<i64>)> + '_ {
        let mut t = i64::from(self.reference_time) * TWCC_REFERENCE_TICK_MS * 1000;
        self.packets.iter().enumerate().map(move |(i, p)| {
            let seq = self.base_sequence.wrapping_add(i as u16);
            match p.delta_ticks() {
                Some(d) => {
                    t += d * TWCC_DELTA_TICK_US;
                    (seq, Some(t))
                }
                None => (seq, None),
            }
        })
    }

    pub(crate) fn decode(b: &[u8], at: usize) -> Result<Self, Error> {
        need(b, 16, at)?;
        let count = usize::from(be16(b, 10));
        let mut packets = Vec::with_capacity(count.min(b.len() * 8));
        let mut pos = 16;
        // Packet chunks: until `count` statuses are described.
        while packets.len() < count {
            if pos + 2 > b.len() {
                return Err(Error::TwccMalformed { at: at + 4 + pos });
            }
            let c = be16(b, pos);
            let left = count - packets.len();
            if c & 0x8000 == 0 {
                // §3.1.3 run length chunk: T=0, 2-bit symbol, 13-bit run length.
                let sym = (c >> 13) & 3;
                let run = usize::from(c & 0x1fff).min(left);
                let st = status_for(sym, at + 4 + pos)?;
                packets.extend(std::iter::repeat_n(st, run));
            } else if c & 0x4000 == 0 {
                // §3.1.4 status vector chunk, S=0: fourteen 1-bit symbols.
                for i in (0..14).take(left) {
                    packets.push(status_for((c >> (13 - i)) & 1, at + 4 + pos)?);
                }
            } else {
                // S=1: seven 2-bit symbols.
                for i in (0..7).take(left) {
                    packets.push(status_for((c >> (12 - 2 * i)) & 3, at + 4 + pos)?);
                }
            }
            pos += 2;
        }
        // Receive deltas: one byte for symbol 01, two (signed) for symbol 10.
        for p in &mut packets {
            match p {
                PacketStatus::SmallDelta(d) => {
                    if pos + 1 > b.len() {
                        return Err(Error::TwccMalformed { at: at + 4 + pos });
                    }
                    *d = byte(b, pos);
                    pos += 1;
                }
                PacketStatus::LargeDelta(d) => {
                    if pos + 2 > b.len() {
                        return Err(Error::TwccMalformed { at: at + 4 + pos });
                    }
                    *d = be16(b, pos) as i16;
                    pos += 2;
                }
                PacketStatus::NotReceived => {}
            }
        }
        // At most 3 bytes of zero padding may follow to reach a 32-bit boundary.
        if b.len() - pos > 3 {
            return Err(Error::TwccMalformed { at: at + 4 + pos });
        }
        Ok(TransportFeedback {
            sender_ssrc: be32(b, 0),
            media_ssrc: be32(b, 4),
            base_sequence: be16(b, 8),
            reference_time: be24(b, 12),
            feedback_count: byte(b, 15),
            packets,
        })
    }

    /// Encode the statuses as packet chunks.
    fn chunks(&self) -> Vec<u16> {
        let s = &self.packets;
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            let rest = s.get(i..).unwrap_or(&[]);
            let sym = rest.first().map_or(0, |p| p.symbol());
            let run = rest
                .iter()
                .take(MAX_RUN)
                .take_while(|p| p.symbol() == sym)
                .count();
            if run == rest.len() || run >= 14 {
                out.push((sym << 13) | run as u16);
                i += run;
            } else if rest.iter().take(14).all(|p| p.symbol() <= 1) {
                let mut c = 0x8000u16;
                for (k, p) in rest.iter().take(14).enumerate() {
                    c |= p.symbol() << (13 - k);
                }
                out.push(c);
                i += rest.len().min(14);
            } else {
                let mut c = 0xc000u16;
                for (k, p) in rest.iter().take(7).enumerate() {
                    c |= p.symbol() << (12 - 2 * k);
                }
                out.push(c);
                i += rest.len().min(7);
            }
        }
        out
    }

    fn raw_len(&self, chunks: usize) -> usize {
        let deltas: usize = self
            .packets
            .iter()
            .map(|p| match p {
                PacketStatus::NotReceived => 0,
                PacketStatus::SmallDelta(_) => 1,
                PacketStatus::LargeDelta(_) => 2,
            })
            .sum();
        16 + 2 * chunks + deltas
    }

    pub(crate) fn body_len(&self) -> usize {
        self.raw_len(self.chunks().len()).div_ceil(4) * 4
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        let count = u16::try_from(self.packets.len()).map_err(|_| Error::ValueOutOfRange {
            field: "TWCC status count",
        })?;
        if self.reference_time > 0x00ff_ffff {
            return Err(Error::ValueOutOfRange {
                field: "TWCC reference time",
            });
        }
        let chunks = self.chunks();
        w.u32(self.sender_ssrc)?;
        w.u32(self.media_ssrc)?;
        w.u16(self.base_sequence)?;
        w.u16(count)?;
        w.u24(self.reference_time)?;
        w.u8(self.feedback_count)?;
        for c in &chunks {
            w.u16(*c)?;
        }
        for p in &self.packets {
            match p {
                PacketStatus::NotReceived => {}
                PacketStatus::SmallDelta(d) => w.u8(*d)?,
                PacketStatus::LargeDelta(d) => w.u16(*d as u16)?,
            }
        }
        let raw = self.raw_len(chunks.len());
        w.zeros(raw.div_ceil(4) * 4 - raw)
    }
}

fn status_for(sym: u16, at: usize) -> Result<PacketStatus, Error> {
    match sym {
        0 => Ok(PacketStatus::NotReceived),
        1 => Ok(PacketStatus::SmallDelta(0)),
        2 => Ok(PacketStatus::LargeDelta(0)),
        // §3.1.1: symbol 11 is reserved.
        _ => Err(Error::TwccMalformed { at }),
    }
}
