//! Shared test support: the browser harness.
#![allow(dead_code)]
pub mod browser;
