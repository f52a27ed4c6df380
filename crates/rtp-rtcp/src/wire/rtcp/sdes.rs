//! SDES, BYE and APP (RFC 3550 §6.5–6.7).

use super::need;
use crate::Error;
use crate::wire::{Writer, be32, byte};

/// SDES item type CNAME.
pub const SDES_CNAME: u8 = 1;

/// One SDES item (type 1–8; PRIV keeps its prefix inside `value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// Item type (non-zero).
    pub kind: u8,
    /// Item text, at most 255 bytes.
    pub value: Vec<u8>,
}

/// One SDES chunk: an SSRC/CSRC and its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    /// The source.
    pub ssrc: u32,
    /// Its items.
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    fn len(&self) -> usize {
        // items + at least one null octet, padded to 32 bits
        let raw = 4 + self.items.iter().map(|i| 2 + i.value.len()).sum::<usize>() + 1;
        raw.div_ceil(4) * 4
    }
}

/// Source description (RFC 3550 §6.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceDescription {
    /// Chunks (at most 31).
    pub chunks: Vec<SdesChunk>,
}

impl SourceDescription {
    /// An SDES with one CNAME item.
    pub fn cname(ssrc: u32, cname: &str) -> Self {
        SourceDescription {
            chunks: vec![SdesChunk {
                ssrc,
                items: vec![SdesItem {
                    kind: SDES_CNAME,
                    value: cname.as_bytes().to_vec(),
                }],
            }],
        }
    }

    pub(crate) fn decode(sc: u8, b: &[u8], at: usize) -> Result<Self, Error> {
        // Each chunk needs at least 8 bytes: check SC before allocating (BAD_INPUT row 36).
        let n = usize::from(sc);
        if n * 8 > b.len() {
            return Err(Error::RtcpCountOverrun { at, count: n });
        }
        let mut chunks = Vec::with_capacity(n);
        let mut pos = 0;
        for _ in 0..n {
            need(b, pos + 4, at)?;
            let ssrc = be32(b, pos);
            pos += 4;
            let mut items = Vec::new();
            // RFC 3550 §6.5: the item list of each chunk is terminated by one or more null
            // octets; the chunk then ends on a 32-bit boundary.
            loop {
                let Some(&kind) = b.get(pos) else {
                    return Err(Error::SdesOverrun { at: at + 4 + pos });
                };
                if kind == 0 {
                    pos = (pos + 1).div_ceil(4) * 4;
                    if pos > b.len() {
                        return Err(Error::SdesOverrun { at: at + 4 + pos });
                    }
                    break;
                }
                let len = usize::from(byte(b, pos + 1));
                let Some(value) = b.get(pos + 2..pos + 2 + len) else {
                    return Err(Error::SdesOverrun { at: at + 4 + pos });
                };
                if pos + 1 >= b.len() {
                    return Err(Error::SdesOverrun { at: at + 4 + pos });
                }
                items.push(SdesItem {
                    kind,
                    value: value.to_vec(),
                });
                pos += 2 + len;
            }
            chunks.push(SdesChunk { ssrc, items });
        }
        Ok(SourceDescription { chunks })
    }
    pub(crate) fn body_len(&self) -> usize {
        self.chunks.iter().map(SdesChunk::len).sum()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        for c in &self.chunks {
            let start = w.pos();
            w.u32(c.ssrc)?;
            for i in &c.items {
                let len = u8::try_from(i.value.len()).map_err(|_| Error::ValueOutOfRange {
                    field: "SDES item length",
                })?;
                if i.kind == 0 {
                    return Err(Error::ValueOutOfRange {
                        field: "SDES item type",
                    });
                }
                w.u8(i.kind)?;
                w.u8(len)?;
                w.bytes(&i.value)?;
            }
            let used = w.pos() - start;
            w.zeros(c.len() - used)?;
        }
        Ok(())
    }
}

/// Goodbye (RFC 3550 §6.6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Goodbye {
    /// SSRC/CSRCs leaving (at most 31).
    pub sources: Vec<u32>,
    /// Optional reason for leaving (at most 255 bytes).
    pub reason: Option<Vec<u8>>,
}

impl Goodbye {
    pub(crate) fn decode(sc: u8, b: &[u8], at: usize) -> Result<Self, Error> {
        let n = usize::from(sc);
        if n * 4 > b.len() {
            return Err(Error::RtcpCountOverrun { at, count: n });
        }
        let sources = (0..n).map(|i| be32(b, 4 * i)).collect();
        let rest = b.get(n * 4..).unwrap_or(&[]);
        let reason = match rest.first() {
            None => None,
            Some(&len) => match rest.get(1..1 + usize::from(len)) {
                Some(r) => Some(r.to_vec()),
                None => return Err(Error::RtcpTruncated { at: at + 4 + n * 4 }),
            },
        };
        Ok(Goodbye { sources, reason })
    }
    pub(crate) fn body_len(&self) -> usize {
        4 * self.sources.len()
            + self
                .reason
                .as_ref()
                .map_or(0, |r| (1 + r.len()).div_ceil(4) * 4)
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        for s in &self.sources {
            w.u32(*s)?;
        }
        if let Some(r) = &self.reason {
            let len = u8::try_from(r.len()).map_err(|_| Error::ValueOutOfRange {
                field: "BYE reason length",
            })?;
            w.u8(len)?;
            w.bytes(r)?;
            w.zeros((1 + r.len()).div_ceil(4) * 4 - 1 - r.len())?;
        }
        Ok(())
    }
}

/// Application-defined packet (RFC 3550 §6.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct App {
    /// 5-bit subtype.
    pub subtype: u8,
    /// SSRC/CSRC.
    pub ssrc: u32,
    /// Four ASCII characters.
    pub name: [u8; 4],
    /// Application data (a multiple of 4 bytes).
    pub data: Vec<u8>,
}

impl App {
    pub(crate) fn decode(subtype: u8, b: &[u8], at: usize) -> Result<Self, Error> {
        need(b, 8, at)?;
        Ok(App {
            subtype,
            ssrc: be32(b, 0),
            name: be32(b, 4).to_be_bytes(),
            data: b.get(8..).unwrap_or(&[]).to_vec(),
        })
    }
    pub(crate) fn body_len(&self) -> usize {
        8 + self.data.len()
    }
    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        if !self.data.len().is_multiple_of(4) {
            return Err(Error::ValueOutOfRange {
                field: "APP data length",
            });
        }
        w.u32(self.ssrc)?;
        w.bytes(&self.name)?;
        w.bytes(&self.data)
    }
}
