//! tern-aec (work in progress).
#![forbid(unsafe_code)]
