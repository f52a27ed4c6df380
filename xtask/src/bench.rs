//! `cargo xtask bench`: the side-by-side benchmark table (figure, Tern, peer, ratio).
//!
//! Every row is a comparison measured in this one run on this machine: absolute numbers drift on a
//! shared machine, ratios within a run hold (../shared/design/PERF.md). The comparisons are
//! binaries in the separate `bench/compare/` workspace, so users never compile the other stacks;
//! each prints lines `tern=<v> peer=<v> name=<peer> [unit=<unit>]`; the unit defaults to ns.
//! For MB/s higher is better; for every other unit lower is better.

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
    Comparison {
        figure: "Data channel throughput, reliable ordered, 65,535-byte messages, 127.0.0.1",
        goal: "≥ 3× str0m (Pion, webrtc-rs: reference; ms-CPU/MB rows: CPU per MB, Pion and webrtc-rs = all their threads)",
        binary: "data_channel",
        args: &["throughput"],
    },
    Comparison {
        figure: "Same, socket loops batched with UDP GSO/GRO (webrtc-rs batches in both figures)",
        goal: "≥ 3× str0m (webrtc-rs: reference)",
        binary: "data_channel",
        args: &["throughput-batched"],
    },
    Comparison {
        figure: "Same, Tern through its tokio driver (RtcPeer: GSO sends, GRO + recvmmsg receives, one current-thread runtime) vs str0m on the plain loop",
        goal: "≥ 3× str0m",
        binary: "data_channel",
        args: &["throughput-driver"],
    },
    Comparison {
        figure: "Same, Tern's tokio driver vs str0m on the GSO/GRO-batched loop",
        goal: "≥ 3× str0m",
        binary: "data_channel",
        args: &["throughput-driver-batched"],
    },
    Comparison {
        figure: "Live heap per idle connected peer through the tokio driver (task, channels, sockets; str0m: its core alone, it has no driver)",
        goal: "≤ 32 KiB",
        binary: "data_channel",
        args: &["memory-driver", "500"],
    },
    Comparison {
        figure: "Create two peer connections → data channel open, one process",
        goal: "≤ 0.5× Pion, i.e. speed-up ≥ 2× on the Pion row (str0m, webrtc-rs: reference)",
        binary: "data_channel",
        args: &["setup"],
    },
    Comparison {
        figure: "Live heap per idle connected peer connection, 10,000 connections in one process",
        goal: "≤ 32 KiB",
        binary: "data_channel",
        args: &["memory", "5000"],
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
    let mut table = String::from(
        "| figure | tern | peer | peer value | Tern better by | goal |\n|---|---:|---|---:|---:|---|\n",
    );
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
        let rows: Vec<Row> = text.lines().filter_map(parse_line).collect();
        if !out.status.success() || rows.is_empty() {
            failures.push(c.figure);
            continue;
        }
        for row in rows {
            let (tern, peer, unit) = match row.unit.as_str() {
                "ns" => (row.tern / 1000.0, row.peer / 1000.0, "µs"),
                other => (row.tern, row.peer, other),
            };
            // Speed-up > 1 means Tern is better, whichever direction the unit counts.
            let speed_up = if unit == "MB/s" {
                tern / peer
            } else {
                peer / tern
            };
            table.push_str(&format!(
                "| {} | {tern:.2} {unit} | {} | {peer:.2} {unit} | {speed_up:.2}× | {} |\n",
                c.figure, row.name, c.goal
            ));
        }
    }
    print!("{table}");
    let dir = crate::workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("compare.md"), &table).map_err(|e| e.to_string())?;
    println!(
        "(written to target/bench/compare.md; {} comparisons)",
        COMPARISONS.len()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("comparisons failed: {}", failures.join(", ")))
    }
}

/// One printed result line of a comparison binary.
struct Row {
    tern: f64,
    peer: f64,
    name: String,
    unit: String,
}

fn parse_line(line: &str) -> Option<Row> {
    let field = |key: &str| line.split_whitespace().find_map(|w| w.strip_prefix(key));
    Some(Row {
        tern: field("tern=")?.parse().ok()?,
        peer: field("peer=")?.parse().ok()?,
        name: field("name=")?.to_string(),
        unit: field("unit=").unwrap_or("ns").to_string(),
    })
}
