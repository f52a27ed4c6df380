//! Helpers for unit tests: a virtual-time base.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

/// An arbitrary base for virtual time; tests only ever add offsets to it.
pub fn base() -> Instant {
    Instant::now()
}
