//! Suite `pc-libdatachannel`: Tern's peer connection against node-datachannel (Node) on one address, both directions
//! of offer, one Node process per case.
//!
//! The peer is `tests/peers/node_peer.js datachannel`, run by `node` with `NODE_PATH` set to
//! `$TERN_NODE_MODULES` (a `node_modules` folder holding `node-datachannel`). The harness is
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

const STACK: &str = "datachannel";
const PACKAGE: &str = "node-datachannel";

fn run(direction: Direction, case: &str) {
    let version = format!("{PACKAGE} {}", common::node_package_version(PACKAGE));
    common::run_case(
        "pc-libdatachannel",
        &version,
        common::node_peer(STACK),
        direction,
        case,
    );
}

suite_cases!(run);

fn run_rtp_echo(direction: Direction) {
    let version = format!("{PACKAGE} {}", common::node_package_version(PACKAGE));
    common::run_rtp_echo_case_from(
        "pc-libdatachannel",
        &version,
        common::node_peer(STACK),
        direction,
        // libdatachannel drops RTP until its own DTLS handshake is done.
        common::EchoStart::PeerReady,
    );
}

rtp_echo_cases!(run_rtp_echo);
