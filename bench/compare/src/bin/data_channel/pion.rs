//! Pion v3 as a child process: `pion/main.go` built once per run in GOPATH mode against Debian's
//! golang-github-pion-webrtc.v3-dev (as `crates/peerconnection/tests/interop_pion.rs` builds its
//! peer), then run as `pion_bench serve`, one round per stdin line so its rounds interleave with
//! Tern's and str0m's in a warm process. Its two peer connections live in that one process on
//! 127.0.0.1; it reports the same figures, measured the same way, plus its process CPU time.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::Sample;

/// Debian's GOPATH sources.
const GOCODE: &str = "/usr/share/gocode";

/// The running Pion process; killed by PID when dropped, on every path.
pub struct Pion {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub name: String,
}

impl Drop for Pion {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the Go program into this binary's own target folder; `Err` says why not.
fn build() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let work = exe.parent().ok_or("no target folder")?.join("pion");
    // Pion's import path is github.com/pion/webrtc/v3 but Debian installs it without the /v3
    // folder: a GOPATH entry of ours maps the import path onto Debian's sources.
    let alias = work.join("gopath/src/github.com/pion/webrtc");
    std::fs::create_dir_all(&alias).map_err(|e| e.to_string())?;
    let link = alias.join("v3");
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(format!("{GOCODE}/src/github.com/pion/webrtc"), &link)
            .map_err(|e| e.to_string())?;
    }
    let binary = work.join("pion_bench");
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pion"))
        .env("GO111MODULE", "off")
        .env(
            "GOPATH",
            format!("{}:{GOCODE}", work.join("gopath").display()),
        )
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", work.join("gocache"))
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run `go` (apt-get install golang-go): {e}"))?;
    if !status.success() {
        return Err(format!(
            "go build failed ({status}); needs golang-go and golang-github-pion-webrtc.v3-dev"
        ));
    }
    Ok(binary)
}

fn version() -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "golang-github-pion-webrtc.v3-dev"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .map(|v| v.split('-').next().unwrap_or(&v).to_string())
        .unwrap_or_else(|| "unknown".into())
}

impl Pion {
    /// Builds and starts Pion; `Err` (printed by the caller) when Go or Pion is missing.
    pub fn start() -> Result<Pion, String> {
        let binary = build()?;
        let mut child = Command::new(&binary)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("no pipes to the Pion process".into());
        };
        Ok(Pion {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            name: format!("pion-{}", version()),
        })
    }

    /// Runs one round (`setup`, `throughput <bytes>`) and reads its result line: the figure and
    /// the process CPU time (all threads) of the measured interval.
    fn round(&mut self, request: &str) -> Sample {
        writeln!(self.stdin, "{request}").expect("write to pion");
        self.stdin.flush().expect("flush to pion");
        // Pion's own logger also writes to stdout (e.g. "mux ERROR: … closed pipe" when a round's
        // connections close): such lines are passed on to stderr, not taken as the result.
        for _ in 0..1_000 {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).expect("read from pion");
            assert!(n > 0, "pion exited during `{request}` (see its stderr)");
            let field = |key: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(key)?.parse::<f64>().ok())
            };
            match (field("value="), field("cpu_ms=")) {
                (Some(value), Some(cpu_ms)) => return Sample { value, cpu_ms },
                _ => eprint!("[pion] {line}"),
            }
        }
        panic!("no result line from pion after 1,000 log lines during `{request}`")
    }

    /// MB/s at the receiver moving `total` bytes (rounded up to whole messages).
    pub fn throughput(&mut self, total: usize) -> Sample {
        self.round(&format!("throughput {total}"))
    }

    /// Milliseconds from creating both peer connections to the channel open on both.
    pub fn setup(&mut self) -> Sample {
        self.round("setup")
    }
}
