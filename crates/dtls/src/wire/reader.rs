//! A bounds-checked cursor over a byte slice.

/// Cursor that never reads past its slice; every read returns `None` when short.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Current offset from the start.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True when every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// All remaining bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }

    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|s| s.first().copied())
    }

    /// Big-endian u16.
    pub fn u16(&mut self) -> Option<u16> {
        let s = self.take(2)?;
        Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
    }

    /// Big-endian u24.
    pub fn u24(&mut self) -> Option<u32> {
        let s = self.take(3)?;
        Some(u32::from_be_bytes([0, *s.first()?, *s.get(1)?, *s.get(2)?]))
    }

    /// Big-endian u48.
    pub fn u48(&mut self) -> Option<u64> {
        let s = self.take(6)?;
        let mut b = [0u8; 8];
        b.get_mut(2..)?.copy_from_slice(s);
        Some(u64::from_be_bytes(b))
    }

    /// A vector with a one-byte length prefix.
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// A vector with a two-byte length prefix.
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// A vector with a three-byte length prefix.
    pub fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(usize::try_from(n).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Some(0x0102));
        assert_eq!(r.u16(), None);
        assert_eq!(r.u8(), Some(3));
        assert!(r.is_empty());
        let mut r = Reader::new(&[5, 1, 2]);
        assert_eq!(r.vec8(), None);
        let mut r = Reader::new(&[0, 0, 0, 0, 0, 7]);
        assert_eq!(r.u48(), Some(7));
    }
}
