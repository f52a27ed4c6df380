//! Shared test support: the browser harness and the page cases run against it.
#![allow(dead_code)]
pub mod browser;
pub mod page_case;
