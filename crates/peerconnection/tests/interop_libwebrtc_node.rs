//! Suite `pc-libwebrtc-node`: Tern's peer connection against @roamhq/wrtc (Node) on one address, both directions
//! of offer, one Node process per case: the six data-channel cases, and an audio plus a video
//! track sent both ways (libwebrtc's own Opus/VP8 encoders and decoders).
//!
//! The peer is `tests/peers/node_peer.js wrtc`, run by `node` with `NODE_PATH` set to
//! `$TERN_NODE_MODULES` (a `node_modules` folder holding `@roamhq/wrtc`). The harness is
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

const STACK: &str = "wrtc";
const PACKAGE: &str = "@roamhq/wrtc";

fn run(direction: Direction, case: &str) {
    let version = format!("{PACKAGE} {}", common::node_package_version(PACKAGE));
    common::run_case(
        "pc-libwebrtc-node",
        &version,
        common::node_peer(STACK),
        direction,
        case,
    );
}

fn run_media(direction: Direction) {
    let version = format!("{PACKAGE} {}", common::node_package_version(PACKAGE));
    common::run_media_case(
        "pc-libwebrtc-node",
        &version,
        common::node_peer(STACK),
        direction,
    );
}

suite_cases!(run);
media_cases!(run_media);
