//! `cargo xtask` — Tern's project automation.
//!
//! ```text
//! cargo xtask setup                      install what the suites need (idempotent)
//! cargo xtask test-all [flags]           setup → unit tests → interop suites → fuzz smoke → report
//! cargo xtask fuzz [TARGET] [--seconds N]
//! cargo xtask bench
//! cargo xtask demo [args…]
//! ```
//!
//! The suites are one table in `suites.rs`: a new suite is one line there.

mod bench;
mod fuzz;
mod process;
mod report;
mod setup;
mod suites;
mod test_all;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  setup                 install apt packages, the Python venv, npm packages and cargo-fuzz
                        that the registered suites need (idempotent; needs root)
  test-all              setup, then every suite, then the conformance table
      --only SUITE      run only this suite (repeatable)
      --skip SUITE      skip this suite (repeatable); it is reported as skipped
      --list            list the suites and their peers, run nothing
      --fuzz-seconds N  seconds per fuzz target in the fuzz-smoke suite (default 10)
      --no-setup        do not run setup first
  fuzz [TARGET]         run every cargo-fuzz target (or one) for --seconds N (default 60)
  bench                 run the side-by-side benchmarks and print the ratio table
  demo [ARGS…]          build and run `tern demo`
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let result = match command.as_str() {
        "setup" => setup::run(&setup::Needs::for_suites(&suites::all())),
        "test-all" => test_all::run(rest),
        "fuzz" => fuzz::run_command(rest),
        "bench" => bench::run(rest),
        "demo" => run_demo(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn run_demo(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    if !root.join("crates/cli/Cargo.toml").exists() {
        return Err(
            "the demo is not built yet: crates/cli (the `tern` binary) does not exist".into(),
        );
    }
    setup::run(&setup::Needs::for_demo())?;
    let mut cmd = std::process::Command::new("cargo");
    cmd.current_dir(&root)
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "tern-cli",
            "--",
            "demo",
        ])
        .args(args);
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`tern demo` failed ({status})"))
    }
}
