//! `cargo xtask test-all`: setup → every suite → the conformance table → `N passed, N failed`.

use crate::process;
use crate::report::{self, Outcome, SuiteResult};
use crate::suites::{self, Kind, Suite};
use crate::{fuzz, setup};
use std::time::Duration;

struct Flags {
    only: Vec<String>,
    skip: Vec<String>,
    list: bool,
    fuzz_seconds: u64,
    no_setup: bool,
}

fn parse_flags(args: &[String]) -> Result<Flags, String> {
    let mut flags = Flags {
        only: vec![],
        skip: vec![],
        list: false,
        fuzz_seconds: 10,
        no_setup: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--only" => flags.only.push(value("--only")?),
            "--skip" => flags.skip.push(value("--skip")?),
            "--list" => flags.list = true,
            "--no-setup" => flags.no_setup = true,
            "--fuzz-seconds" => {
                flags.fuzz_seconds = value("--fuzz-seconds")?
                    .parse()
                    .map_err(|_| "--fuzz-seconds takes a whole number")?
            }
            other => return Err(format!("test-all: unknown flag `{other}`")),
        }
    }
    let known: Vec<&str> = suites::all().iter().map(|s| s.name).collect();
    for name in flags.only.iter().chain(&flags.skip) {
        if !known.contains(&name.as_str()) {
            return Err(format!("test-all: no suite named `{name}` (see --list)"));
        }
    }
    Ok(flags)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let flags = parse_flags(args)?;
    let all = suites::all();
    if flags.list {
        for s in &all {
            println!("{:<22} peer: {}", s.name, s.peer);
        }
        return Ok(());
    }
    let selected: Vec<Suite> = all
        .into_iter()
        .filter(|s| flags.only.is_empty() || flags.only.iter().any(|o| o == s.name))
        .collect();
    let to_run: Vec<Suite> = selected
        .iter()
        .copied()
        .filter(|s| !flags.skip.iter().any(|k| k == s.name))
        .collect();

    if flags.no_setup {
        println!("test-all: --no-setup: not installing anything");
    } else {
        println!("test-all: setup for {} suites", to_run.len());
        setup::run(&setup::Needs::for_suites(&to_run))?;
    }
    let netns = process::netns_available();
    if !netns {
        println!(
            "test-all: cannot create network namespaces here; interop suites run on 127.0.0.1 directly"
        );
    }

    let mut results = Vec::new();
    for suite in &selected {
        let version = peer_version(suite);
        if flags.skip.iter().any(|k| k == suite.name) {
            results.push(SuiteResult {
                name: suite.name.into(),
                peer: suite.peer.into(),
                peer_version: version,
                outcome: Outcome::Skipped,
                passed: 0,
                failed: 0,
                skipped: 0,
                seconds: 0.0,
                note: "skipped by --skip".into(),
                failures: Vec::new(),
            });
            continue;
        }
        println!("\n=== suite {} (peer: {})", suite.name, suite.peer);
        let mut result = run_suite(suite, &flags, netns);
        result.peer_version = version;
        println!(
            "=== suite {}: {:?} ({} passed, {} failed)",
            suite.name, result.outcome, result.passed, result.failed
        );
        results.push(result);
    }

    report::write(&results)?;
    println!(
        "\nConformance (target/conformance/report.md):\n\n{}",
        report::markdown(&results)
    );
    let passed: u64 = results.iter().map(|r| r.passed).sum();
    let failed: u64 = results.iter().map(|r| r.failed).sum();
    let failed_suites: Vec<&str> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| r.name.as_str())
        .collect();
    for r in results.iter().filter(|r| !r.failures.is_empty()) {
        println!("failing tests in {}:", r.name);
        for failure in &r.failures {
            println!("  {failure}");
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed_suites.is_empty() {
        Ok(())
    } else {
        Err(format!("failed suites: {}", failed_suites.join(", ")))
    }
}

fn peer_version(suite: &Suite) -> String {
    if suite.peer_version.is_empty() {
        return "-".into();
    }
    process::first_line(suite.peer_version).unwrap_or_else(|| "not found".into())
}

fn run_suite(suite: &Suite, flags: &Flags, netns: bool) -> SuiteResult {
    let timeout = Duration::from_secs(suite.timeout_minutes * 60);
    let mut result = SuiteResult {
        name: suite.name.into(),
        peer: suite.peer.into(),
        peer_version: String::new(),
        outcome: Outcome::Failed,
        passed: 0,
        failed: 0,
        skipped: 0,
        seconds: 0.0,
        note: String::new(),
        failures: Vec::new(),
    };
    let mut env = setup::suite_env();
    match suite.kind {
        Kind::CargoTest { args } => {
            let mut argv: Vec<String> = vec!["cargo".into(), "test".into()];
            argv.extend(args.iter().map(|s| s.to_string()));
            record_libtest(&mut result, process::run(&argv, &env, timeout));
        }
        Kind::Ignored {
            package,
            test,
            features,
            netns: wants_netns,
        } => {
            // Build outside the namespace (it has no network to fetch crates), run inside it.
            let features: Vec<String> = if features.is_empty() {
                vec![]
            } else {
                vec!["--features".into(), features.to_string()]
            };
            let mut build: Vec<String> =
                ["cargo", "test", "-p", package, "--test", test, "--no-run"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
            build.extend(features.iter().cloned());
            match process::run(&build, &env, timeout) {
                Ok(f) if f.success => {
                    let mut argv: Vec<String> =
                        ["cargo", "test", "--offline", "-p", package, "--test", test]
                            .iter()
                            .map(|s| s.to_string())
                            .collect();
                    argv.extend(features.iter().cloned());
                    argv.extend(
                        ["--", "--ignored", "--test-threads=1"]
                            .iter()
                            .map(|s| s.to_string()),
                    );
                    if wants_netns && netns {
                        argv = process::in_loopback_namespace(&argv);
                        env.push(("TERN_INTEROP_IP".into(), process::NAMESPACE_IP.into()));
                        env.push(("TERN_INTEROP_IP6".into(), process::NAMESPACE_IP6.into()));
                        result.note = "loopback-only netns".into();
                    } else if wants_netns {
                        result.note = "127.0.0.1 (no netns here)".into();
                    }
                    record_libtest(&mut result, process::run(&argv, &env, timeout));
                }
                Ok(f) => {
                    result.failed = 1;
                    result.seconds = f.seconds;
                    result.note = "build failed".into();
                }
                Err(e) => {
                    result.failed = 1;
                    result.note = e;
                }
            }
        }
        Kind::FuzzSmoke => match fuzz::smoke(flags.fuzz_seconds) {
            Ok(smoke) => {
                result.passed = smoke.passed;
                result.failed = smoke.failed;
                result.seconds = smoke.seconds;
                result.note = format!(
                    "{} targets × {} s",
                    smoke.passed + smoke.failed,
                    flags.fuzz_seconds
                );
                result.outcome = if smoke.failed == 0 {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                };
            }
            Err(e) => {
                result.failed = 1;
                result.note = e;
            }
        },
    }
    result
}

fn record_libtest(result: &mut SuiteResult, finished: Result<process::Finished, String>) {
    match finished {
        Ok(f) => {
            let (passed, failed, ignored) = report::libtest_counts(&f.output);
            result.passed = passed;
            result.failed = failed;
            result.skipped = ignored;
            result.failures = report::libtest_failures(&f.output);
            result.seconds = f.seconds;
            if f.timed_out {
                result.note = "timed out".into();
            }
            // A suite that ran no test, or whose runner failed without a failing test
            // (a compile error), has failed — never silently passed.
            if !f.success && result.failed == 0 {
                result.failed = 1;
                if result.note.is_empty() {
                    result.note = "runner failed (see log)".into();
                }
            }
            if f.success && passed == 0 {
                result.failed = 1;
                result.note = "ran no test".into();
            }
            result.outcome = if f.success && result.failed == 0 {
                Outcome::Passed
            } else {
                Outcome::Failed
            };
        }
        Err(e) => {
            result.failed = 1;
            result.note = e;
        }
    }
}
