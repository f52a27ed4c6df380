//! Relay throughput bench (being written).
fn main() {}
