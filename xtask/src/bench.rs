//! `cargo xtask bench`: the side-by-side benchmark table (figure, Tern, peer, ratio).
//!
//! Every row is a comparison measured in this one run on this machine: absolute numbers drift on a
//! shared machine, ratios within a run hold (../shared/design/PERF.md). The comparisons are
//! binaries in the separate `bench/compare/` workspace, so users never compile the other stacks;
//! each prints lines `tern=<ns> peer=<ns> name=<peer>` (lower is better).

use std::process::Command;

/// One side-by-side figure.
struct Comparison {
    figure: &'static str,
    goal: &'static str,
    binary: &'static str,
    args: &'static [&'static str],
}

const COMPARISONS: &[Comparison] = &[
    Comparison {
        figure: "SDP parse, Chromium 156 audio+video+data offer",
        goal: "≥ 3× webrtc-rs sdp",
        binary: "sdp_parse",
        args: &["parse"],
    },
    Comparison {
        figure: "SDP serialize, same offer",
        goal: "≥ 2× webrtc-rs sdp",
        binary: "sdp_parse",
        args: &["serialize"],
    },
];

pub fn run(_args: &[String]) -> Result<(), String> {
    let manifest = crate::workspace_root().join("bench/compare/Cargo.toml");
    println!("bench: building bench/compare (release) …");
    let built = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !built.success() {
        return Err("building bench/compare failed".into());
    }
    let mut table = String::from("| figure | tern | peer | peer value | speed-up (peer/tern) | goal |\n|---|---:|---|---:|---:|---|\n");
    let mut failures = Vec::new();
    for c in COMPARISONS {
        let out = Command::new("cargo")
            .args(["run", "--release", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .args(["--bin", c.binary, "--"])
            .args(c.args)
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let rows: Vec<(f64, f64, String)> = text.lines().filter_map(parse_line).collect();
        if !out.status.success() || rows.is_empty() {
            failures.push(c.figure);
            continue;
        }
        for (tern, peer, name) in rows {
            table.push_str(&format!(
                "| {} | {:.2} µs | {} | {:.2} µs | {:.2}× | {} |\n",
                c.figure,
                tern / 1000.0,
                name,
                peer / 1000.0,
                peer / tern,
                c.goal
            ));
        }
    }
    print!("{table}");
    let dir = crate::workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("compare.md"), &table).map_err(|e| e.to_string())?;
    println!("(written to target/bench/compare.md; {} comparisons)", COMPARISONS.len());
    if failures.is_empty() { Ok(()) } else { Err(format!("comparisons failed: {}", failures.join(", "))) }
}

fn parse_line(line: &str) -> Option<(f64, f64, String)> {
    let field = |key: &str| line.split_whitespace().find_map(|w| w.strip_prefix(key));
    Some((field("tern=")?.parse().ok()?, field("peer=")?.parse().ok()?, field("name=")?.to_string()))
}
