//! Suite `pc-aiortc`: Tern's peer connection against aiortc (Python; aioice, OpenSSL DTLS 1.2, its
//! own SCTP, its SRTP and Opus/VP8 codecs) on one address, both directions of offer, one aiortc
//! process per case: the six data-channel cases, and an audio plus a video track sent both ways.
//!
//! The peer is `tests/peers/aiortc_peer.py` run by `$TERN_PYTHON` (a venv with `pip install
//! aiortc`), falling back to `python3`. The harness is `tests/peers/common.rs`.
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
use std::process::Command;

fn python() -> String {
    std::env::var("TERN_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn version() -> String {
    let v = common::command_output(
        &python(),
        &["-c", "import aiortc; print(aiortc.__version__)"],
        &[],
    );
    format!("aiortc {v}")
}

fn run(direction: Direction, case: &str) {
    let mut command = Command::new(python());
    command.arg(common::peers_dir().join("aiortc_peer.py"));
    common::run_case("pc-aiortc", &version(), command, direction, case);
}

fn run_media(direction: Direction) {
    let mut command = Command::new(python());
    command.arg(common::peers_dir().join("aiortc_peer.py"));
    common::run_media_case("pc-aiortc", &version(), command, direction);
}

suite_cases!(run);
media_cases!(run_media);
