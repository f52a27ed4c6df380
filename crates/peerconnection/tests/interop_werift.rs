//! Suite `pc-werift`: Tern's peer connection against werift (Node) on one address, both directions
//! of offer, one Node process per case: the six data-channel cases, and an Opus and a VP8 track
//! whose RTP werift echoes back (werift has no codecs: payloads are compared byte-exact).
//!
//! The peer is `tests/peers/node_peer.js werift`, run by `node` with `NODE_PATH` set to
//! `$TERN_NODE_MODULES` (a `node_modules` folder holding `werift`). The harness is
//! `tests/peers/common.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a test driver owns the clock

#[macro_use]
#[path = "peers/common.rs"]
mod common;

use common::Direction;

const STACK: &str = "werift";
const PACKAGE: &str = "werift";

fn run(direction: Direction, case: &str) {
    let version = format!("{PACKAGE} {}", common::node_package_version(PACKAGE));
    common::run_case(
        "pc-werift",
        &version,
        common::node_peer(STACK),
        direction,
        case,
    );
}

fn run_rtp_echo(direction: Direction) {
    let version = format!("{PACKAGE} {}", common::node_package_version(PACKAGE));
    common::run_rtp_echo_case("pc-werift", &version, common::node_peer(STACK), direction);
}

suite_cases!(run);
rtp_echo_cases!(run_rtp_echo);
