//! Sliding replay window over packet indices (RFC 3711 §3.3.2).
//!
//! `check` never changes anything; `accept` is called only once the packet authenticated.

use crate::error::SrtpError;

/// A bitmap of the last `size` indices ending at `top`, the highest accepted index.
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    top: u64,
    /// The configured window in packets (a multiple of 64): older indices are refused.
    size: u64,
    /// Ring of bits: index `i` lives at bit `i & mask`. Its length in bits is the next power
    /// of two at or above `size`, so a slot is a mask instead of a 64-bit division; bits for
    /// indices older than `size` are never read.
    bits: Box<[u64]>,
    mask: u64,
}

impl ReplayWindow {
    /// A window of `size` packets (a multiple of 64, at least 64) whose first accepted index is `first`.
    pub(crate) fn new(size: usize, first: u64) -> Self {
        let words = size.div_ceil(64).max(1);
        let ring_words = words.next_power_of_two();
        let mut w = ReplayWindow {
            top: first,
            size: (words as u64) * 64,
            bits: vec![0u64; ring_words].into_boxed_slice(),
            mask: (ring_words as u64) * 64 - 1,
        };
        w.set(first);
        w
    }

    #[inline]
    pub(crate) fn top(&self) -> u64 {
        self.top
    }

    #[inline]
    fn size(&self) -> u64 {
        self.size
    }

    #[inline]
    fn slot(&self, index: u64) -> (usize, u64) {
        let bit = index & self.mask;
        ((bit >> 6) as usize, 1u64 << (bit & 63))
    }

    #[inline]
    fn set(&mut self, index: u64) {
        let (w, m) = self.slot(index);
        if let Some(word) = self.bits.get_mut(w) {
            *word |= m;
        }
    }

    #[inline]
    fn clear(&mut self, index: u64) {
        let (w, m) = self.slot(index);
        if let Some(word) = self.bits.get_mut(w) {
            *word &= !m;
        }
    }

    /// Whether `index` would be accepted. Pure.
    #[inline]
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
    #[inline]
    pub(crate) fn accept(&mut self, index: u64) {
        if index > self.top {
            let advance = index - self.top;
            if advance >= self.size() {
                self.bits.fill(0);
            } else {
                // Slots between the old top and `index` now stand for indices not seen yet.
                for i in self.top + 1..index {
                    self.clear(i);
                }
                // `index`'s slot is set just below, whatever it held.
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
    fn window_not_a_power_of_two() {
        // 192 packets: the ring holds 256 bits, but only the last 192 indices are accepted.
        let mut w = ReplayWindow::new(192, 1000);
        assert_eq!(w.check(1000 - 191), Ok(()));
        assert_eq!(w.check(1000 - 192), Err(SrtpError::TooOld { index: 808 }));
        for i in 1001..1400 {
            w.accept(i);
        }
        w.accept(1500);
        for i in 1500 - 191..1500 {
            let want = if i < 1400 {
                Err(SrtpError::Replayed { index: i })
            } else {
                Ok(())
            };
            assert_eq!(w.check(i), want, "{i}");
        }
        assert_eq!(w.check(1500 - 192), Err(SrtpError::TooOld { index: 1308 }));
        // A jump by more than the window but less than the ring forgets everything.
        w.accept(1700);
        assert_eq!(w.check(1699), Ok(()));
        assert_eq!(w.check(1700 - 191), Ok(()));
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
