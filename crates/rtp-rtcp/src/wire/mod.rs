//! Stateless codecs: RTP packets and header extensions (RFC 3550, RFC 8285), typed
//! extensions, and RTCP packets (RFC 3550, 4585, 5104, 3611, 8888, draft-holmer TWCC, REMB).
//!
//! Parsing never panics: every read goes through the bounds-checked helpers below, and
//! checked views validate all lengths once in `new_checked`.

pub mod ext;
pub mod rtcp;
pub mod rtp;

/// Big-endian u16 at `at`, or 0 past the end (callers validate lengths first).
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at.wrapping_add(2)) {
        Some(&[x, y]) => u16::from_be_bytes([x, y]),
        _ => 0,
    }
}

/// Big-endian 24-bit value at `at`, or 0 past the end.
#[inline]
pub(crate) fn be24(b: &[u8], at: usize) -> u32 {
    match b.get(at..at.wrapping_add(3)) {
        Some(&[x, y, z]) => u32::from_be_bytes([0, x, y, z]),
        _ => 0,
    }
}

/// Big-endian u32 at `at`, or 0 past the end.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at.wrapping_add(4)) {
        Some(&[w, x, y, z]) => u32::from_be_bytes([w, x, y, z]),
        _ => 0,
    }
}

/// Big-endian u64 at `at`, or 0 past the end.
#[inline]
pub(crate) fn be64(b: &[u8], at: usize) -> u64 {
    (u64::from(be32(b, at)) << 32) | u64::from(be32(b, at.wrapping_add(4)))
}

/// Byte at `at`, or 0 past the end.
#[inline]
pub(crate) fn byte(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// A cursor that writes into a caller's buffer and fails instead of panicking.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    fn slot(&mut self, n: usize) -> Result<&mut [u8], crate::Error> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(crate::Error::BufferTooSmall {
                needed: usize::MAX,
                got: self.buf.len(),
            })?;
        let got = self.buf.len();
        let s = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(crate::Error::BufferTooSmall { needed: end, got })?;
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) -> Result<(), crate::Error> {
        self.slot(v.len())?.copy_from_slice(v);
        Ok(())
    }
    pub(crate) fn u8(&mut self, v: u8) -> Result<(), crate::Error> {
        self.bytes(&[v])
    }
    pub(crate) fn u16(&mut self, v: u16) -> Result<(), crate::Error> {
        self.bytes(&v.to_be_bytes())
    }
    pub(crate) fn u24(&mut self, v: u32) -> Result<(), crate::Error> {
        let b = v.to_be_bytes();
        self.bytes(b.get(1..).unwrap_or(&[]))
    }
    pub(crate) fn u32(&mut self, v: u32) -> Result<(), crate::Error> {
        self.bytes(&v.to_be_bytes())
    }
    pub(crate) fn u64(&mut self, v: u64) -> Result<(), crate::Error> {
        self.bytes(&v.to_be_bytes())
    }
    pub(crate) fn zeros(&mut self, n: usize) -> Result<(), crate::Error> {
        self.slot(n)?.fill(0);
        Ok(())
    }
}
