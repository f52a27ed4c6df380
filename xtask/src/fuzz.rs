//! cargo-fuzz on the stable toolchain: `RUSTC_BOOTSTRAP=1` lets cargo-fuzz pass `-Zsanitizer`
//! to the 1.95 compiler (verified here with cargo-fuzz 0.13). Each target gets
//! `-rss_limit_mb=512` and a maximum input length, so a run also checks bounded allocation.
//! The committed seed corpus `fuzz/corpus/<target>/` is read-only to a run: new inputs go to
//! `target/fuzz-corpus/<target>/`.

use crate::process;
use std::time::Duration;

/// The `[[bin]]` names in `fuzz/Cargo.toml`.
pub fn targets() -> Result<Vec<String>, String> {
    let manifest = crate::workspace_root().join("fuzz/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some(value) = line
                .strip_prefix("name")
                .map(str::trim)
                .and_then(|r| r.strip_prefix('='))
        {
            names.push(value.trim().trim_matches('"').to_string());
        }
    }
    Ok(names)
}

fn fuzz_env() -> Vec<(String, String)> {
    vec![("RUSTC_BOOTSTRAP".into(), "1".into())]
}

pub struct Smoke {
    pub passed: u64,
    pub failed: u64,
    pub seconds: f64,
}

/// Builds every target once, then runs each for `seconds`.
pub fn smoke(seconds: u64) -> Result<Smoke, String> {
    let names = targets()?;
    let mut smoke = Smoke {
        passed: 0,
        failed: 0,
        seconds: 0.0,
    };
    if names.is_empty() {
        return Ok(smoke);
    }
    let build: Vec<String> = ["cargo", "fuzz", "build", "--fuzz-dir", "fuzz"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let built = process::run(&build, &fuzz_env(), Duration::from_secs(30 * 60))?;
    smoke.seconds += built.seconds;
    if !built.success {
        return Err("cargo fuzz build failed (see log)".into());
    }
    for name in &names {
        let ok = run_target(name, seconds, &mut smoke.seconds)?;
        if ok {
            smoke.passed += 1;
        } else {
            smoke.failed += 1;
        }
    }
    Ok(smoke)
}

fn run_target(name: &str, seconds: u64, elapsed: &mut f64) -> Result<bool, String> {
    let root = crate::workspace_root();
    let scratch = root.join("target/fuzz-corpus").join(name);
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let seed = root.join("fuzz/corpus").join(name);
    let mut argv: Vec<String> = vec![
        "cargo".into(),
        "fuzz".into(),
        "run".into(),
        "--fuzz-dir".into(),
        "fuzz".into(),
    ];
    argv.push(name.into());
    argv.push(scratch.display().to_string());
    if seed.is_dir() {
        argv.push(seed.display().to_string());
    }
    argv.extend(
        [
            "--",
            &format!("-max_total_time={seconds}"),
            "-rss_limit_mb=512",
            "-max_len=65536",
            "-print_final_stats=1",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    println!("fuzz: {name} for {seconds} s");
    let finished = process::run(&argv, &fuzz_env(), Duration::from_secs(seconds + 600))?;
    *elapsed += finished.seconds;
    Ok(finished.success)
}

/// `cargo xtask fuzz [TARGET] [--seconds N]`.
pub fn run_command(args: &[String]) -> Result<(), String> {
    let mut seconds = 60;
    let mut only = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--seconds takes a whole number")?;
            }
            name if !name.starts_with('-') => only = Some(name.to_string()),
            other => return Err(format!("fuzz: unknown flag `{other}`")),
        }
    }
    crate::setup::run(&crate::setup::Needs::for_suites(
        &crate::suites::all()
            .into_iter()
            .filter(|s| s.name == "fuzz-smoke")
            .collect::<Vec<_>>(),
    ))?;
    let all = targets()?;
    let selected: Vec<String> = match only {
        Some(name) if all.contains(&name) => vec![name],
        Some(name) => {
            return Err(format!(
                "fuzz: no target `{name}`; targets: {}",
                all.join(", ")
            ));
        }
        None => all,
    };
    let mut failed = Vec::new();
    let mut elapsed = 0.0;
    for name in &selected {
        if !run_target(name, seconds, &mut elapsed)? {
            failed.push(name.clone());
        }
    }
    println!(
        "{} passed, {} failed",
        selected.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}
