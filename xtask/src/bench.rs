//! `cargo xtask bench`: the side-by-side benchmark table (figure, Tern, peer, ratio).
//!
//! Every row is a comparison measured in this one run on this machine: absolute numbers drift on a
//! shared machine, ratios within a run hold (../shared/design/PERF.md). Comparisons register in
//! `COMPARISONS`; the peers build in the separate `bench/compare/` workspace so users never
//! compile them.

/// One side-by-side figure: a command that prints `tern=<ns> peer=<ns>` (lower is better).
struct Comparison {
    figure: &'static str,
    peer: &'static str,
    goal: &'static str,
    command: &'static [&'static str],
}

const COMPARISONS: &[Comparison] = &[];

pub fn run(_args: &[String]) -> Result<(), String> {
    println!("| figure | tern | peer | peer value | ratio (peer/tern) | goal |");
    println!("|---|---:|---|---:|---:|---|");
    let mut failures = Vec::new();
    for c in COMPARISONS {
        match measure(c) {
            Ok((tern, peer)) => println!(
                "| {} | {:.2} µs | {} | {:.2} µs | {:.2}× | {} |",
                c.figure,
                tern / 1000.0,
                c.peer,
                peer / 1000.0,
                peer / tern,
                c.goal
            ),
            Err(e) => failures.push(format!("{}: {e}", c.figure)),
        }
    }
    println!("({} comparisons registered)", COMPARISONS.len());
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}

fn measure(c: &Comparison) -> Result<(f64, f64), String> {
    let line = crate::process::first_line(c.command).ok_or("no output")?;
    let value = |key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key).and_then(|v| v.parse::<f64>().ok()))
            .ok_or(format!("no `{key}` in `{line}`"))
    };
    Ok((value("tern=")?, value("peer=")?))
}
