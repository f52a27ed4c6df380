//! Sliding replay window over packet indices (RFC 3711 §3.3.2).
//!
//! `check` never changes anything; `accept` is called only once the packet authenticated.

use crate::error::SrtpError;

/// A bitmap of the last `size` indices ending at `top`, the highest accepted index.
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    top: u64,
    /// Ring of bits: index `i` lives at bit `i % size`.
    bits: Box<[u64]>,
}

impl ReplayWindow {
    /// A window of `size` packets (a multiple of 64, at least 64) whose first accepted index is `first`.
    pub(crate) fn new(size: usize, first: u64) -> Self {
        let words = size.div_ceil(64).max(1);
        let mut w = ReplayWindow {
            top: first,
            bits: vec![0u64; words].into_boxed_slice(),
        };
        w.set(first);
        w
    }

    pub(crate) fn top(&self) -> u64 {
        self.top
    }

    fn size(&self) -> u64 {
        (self.bits.len() as u64) * 64
    }

    fn slot(&self, index: u64) -> (usize, u64) {
        let bit = index % self.size();
        ((bit / 64) as usize, 1u64 << (bit % 64))
    }

    fn set(&mut self, index: u64) {
        let (w, m) = self.slot(index);
        if let Some(word) = self.bits.get_mut(w) {
            *word |= m;
        }
    }

    fn clear(&mut self, index: u64) {
        let (w, m) = self.slot(index);
        if let Some(word) = self.bits.get_mut(w) {
            *word &= !m;
        }
    }

    /// Whether `index` would be accepted. Pure.
    pub(crate) fn check(&self, index: u64) -> Result<(), SrtpError> {
        if index > self.top {
            return Ok(());
        }
        // RFC 3711 §3.3.2: an index to the left of the window is discarded.
        if self.top - index >= self.size() {
            return Err(SrtpError::TooOld { index });
        }
        let (w, m) = self.slot(index);
        match self.bits.get(w) {
            Some(word) if word & m == 0 => Ok(()),
            _ => Err(SrtpError::Replayed { index }),
        }
    }

    /// Record an authenticated `index` (which passed `check`).
    pub(crate) fn accept(&mut self, index: u64) {
        if index > self.top {
            let advance = index - self.top;
            if advance >= self.size() {
                self.bits.fill(0);
            } else {
                for i in self.top + 1..index {
                    self.clear(i);
                }
                self.clear(index);
            }
            self.top = index;
        }
        self.set(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_semantics() {
        let mut w = ReplayWindow::new(64, 100);
        assert_eq!(w.check(100), Err(SrtpError::Replayed { index: 100 }));
        assert_eq!(w.check(101), Ok(()));
        assert_eq!(w.check(99), Ok(()));
        assert_eq!(w.check(37), Ok(()));
        assert_eq!(w.check(36), Err(SrtpError::TooOld { index: 36 }));
        w.accept(99);
        assert_eq!(w.check(99), Err(SrtpError::Replayed { index: 99 }));
        w.accept(164);
        assert_eq!(w.top(), 164);
        assert_eq!(w.check(100), Err(SrtpError::TooOld { index: 100 }));
        assert_eq!(w.check(101), Ok(()));
        assert_eq!(w.check(163), Ok(()));
        w.accept(10_000);
        for i in 10_000 - 63..10_000 {
            assert_eq!(w.check(i), Ok(()), "{i}");
        }
        assert!(w.check(10_000).is_err());
    }

    #[test]
    fn larger_window() {
        let mut w = ReplayWindow::new(1024, 0);
        for i in (1..2000).step_by(2) {
            w.accept(i);
        }
        assert_eq!(w.check(1999 - 1023), Ok(()));
        assert_eq!(w.check(1999 - 1024), Err(SrtpError::TooOld { index: 975 }));
        assert_eq!(w.check(1001), Err(SrtpError::Replayed { index: 1001 }));
        assert_eq!(w.check(1000), Ok(()));
    }
}
