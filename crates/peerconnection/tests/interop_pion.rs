//! Suite `pc-pion`: Tern's peer connection against Pion (Go, `pion/webrtc` v3 from Debian's
//! `golang-github-pion-webrtc.v3-dev`) on one address, both directions of offer, one Pion process
//! per case: the six data-channel cases, and an Opus and a VP8 track whose RTP Pion echoes back
//! (Pion has no codecs: the payloads are compared byte-exact).
//!
//! The peer is `tests/peers/pion_peer/main.go`, built once per run in GOPATH mode (Debian ships
//! Pion as GOPATH sources under `/usr/share/gocode`; no network, no module proxy) into
//! `CARGO_TARGET_TMPDIR`. The harness is `tests/peers/common.rs`.
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
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Debian's GOPATH sources.
const GOCODE: &str = "/usr/share/gocode";

/// Builds the peer once; every case reuses the binary.
fn peer_binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pion");
        // Pion's module path is github.com/pion/webrtc/v3 but Debian installs it without the /v3
        // folder: a GOPATH entry of ours maps the import path onto Debian's sources.
        let alias = work.join("gopath/src/github.com/pion/webrtc");
        std::fs::create_dir_all(&alias).unwrap();
        let link = alias.join("v3");
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("{GOCODE}/src/github.com/pion/webrtc"), &link)
                .unwrap();
        }
        let binary = work.join("pion_peer");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&binary)
            .arg(".")
            .current_dir(common::peers_dir().join("pion_peer"))
            .env("GO111MODULE", "off")
            .env(
                "GOPATH",
                format!("{}:{GOCODE}", work.join("gopath").display()),
            )
            .env("GOPROXY", "off")
            .env("GOFLAGS", "")
            .env("GOCACHE", work.join("gocache"))
            .status()
            .unwrap_or_else(|e| {
                panic!("pc-pion: cannot run `go` (apt-get install golang-go): {e}")
            });
        assert!(
            status.success(),
            "pc-pion: building the Pion peer failed ({status}); needs apt packages golang-go and \
             golang-github-pion-webrtc.v3-dev"
        );
        binary
    })
}

fn version() -> String {
    let v = common::command_output(
        "dpkg-query",
        &["-W", "-f", "${Version}", "golang-github-pion-webrtc.v3-dev"],
        &[],
    );
    format!("pion/webrtc {v}")
}

fn run(direction: Direction, case: &str) {
    let command = Command::new(peer_binary());
    // Pion 3.1.56 offers no a=max-message-size (so 64 KiB = 65536 by RFC 8841 §6.1) but reads
    // each message into a 65535-byte buffer (`dataChannelBufferSize = math.MaxUint16`) and
    // closes the channel on a larger one.
    let cap = (
        65535,
        "Pion reads data-channel messages into a 65535-byte buffer",
    );
    common::run_case_capped("pc-pion", &version(), command, direction, case, Some(cap));
}

fn run_rtp_echo(direction: Direction) {
    common::run_rtp_echo_case(
        "pc-pion",
        &version(),
        Command::new(peer_binary()),
        direction,
    );
}

suite_cases!(run);
rtp_echo_cases!(run_rtp_echo);
