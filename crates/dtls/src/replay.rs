//! The 64-entry anti-replay window of RFC 6347 §4.1.2.6.

/// Sliding window over 48-bit record sequence numbers of one epoch.
///
/// `check` is called before authenticating a record and `mark` only after it authenticated, so a
/// forged record can never move the window (RFC 6347 §4.1.2.6: "The receive window is updated only
/// if the MAC verification succeeds").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Highest sequence number accepted so far, if any.
    top: Option<u64>,
    /// Bit i set = `top - i` was received.
    bitmap: u64,
}

/// Window width.
pub const WINDOW: u64 = 64;

impl ReplayWindow {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `seq` is new and not too old.
    pub fn check(&self, seq: u64) -> bool {
        match self.top {
            None => true,
            Some(top) if seq > top => true,
            Some(top) => {
                let diff = top - seq;
                diff < WINDOW && (self.bitmap >> diff) & 1 == 0
            }
        }
    }

    /// Record `seq` as received (call after authentication).
    pub fn mark(&mut self, seq: u64) {
        match self.top {
            None => {
                self.top = Some(seq);
                self.bitmap = 1;
            }
            Some(top) if seq > top => {
                let shift = seq - top;
                self.bitmap = if shift >= WINDOW {
                    0
                } else {
                    self.bitmap << shift
                };
                self.bitmap |= 1;
                self.top = Some(seq);
            }
            Some(top) => {
                let diff = top - seq;
                if diff < WINDOW {
                    self.bitmap |= 1 << diff;
                }
            }
        }
    }

    /// Highest sequence number accepted.
    pub fn top(&self) -> Option<u64> {
        self.top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_behaviour() {
        let mut w = ReplayWindow::new();
        assert!(w.check(5));
        w.mark(5);
        assert!(!w.check(5));
        assert!(w.check(4));
        assert!(w.check(100));
        w.mark(100);
        assert!(!w.check(36)); // 64 behind
        assert!(w.check(37));
        w.mark(37);
        assert!(!w.check(37));
        assert!(!w.check(100));
        w.mark((1 << 48) - 1);
        assert!(!w.check(100));
        assert_eq!(w.top(), Some((1 << 48) - 1));
    }

    #[test]
    fn check_without_mark_changes_nothing() {
        let mut w = ReplayWindow::new();
        w.mark(10);
        let before = w;
        assert!(w.check((1 << 48) - 1));
        assert_eq!(w, before);
    }
}
