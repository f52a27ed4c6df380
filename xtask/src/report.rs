//! The conformance table: printed, and written to `target/conformance/report.{md,json}`.

use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// Skipped by name with `--skip`; never used for a suite that could not run.
    Skipped,
}

#[derive(Clone, Debug)]
pub struct SuiteResult {
    pub name: String,
    pub peer: String,
    pub peer_version: String,
    pub outcome: Outcome,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub seconds: f64,
    pub note: String,
    /// Failing tests with their panic message, printed after the table so that the end of a CI
    /// log names them.
    pub failures: Vec<String>,
}

impl SuiteResult {
    fn outcome_label(&self) -> &'static str {
        match self.outcome {
            Outcome::Passed => "PASSED",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "skipped",
        }
    }
}

pub fn markdown(results: &[SuiteResult]) -> String {
    let mut out = String::from(
        "| suite | peer | peer version | result | passed | failed | skipped | seconds | note |\n\
         |---|---|---|---|---:|---:|---:|---:|---|\n",
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {} |\n",
            r.name,
            r.peer,
            r.peer_version.replace('|', "/"),
            r.outcome_label(),
            r.passed,
            r.failed,
            r.skipped,
            r.seconds,
            r.note.replace('|', "/")
        ));
    }
    out
}

pub fn write(results: &[SuiteResult]) -> Result<(), String> {
    let dir = crate::workspace_root().join("target/conformance");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let md = format!("# Tern conformance report\n\n{}", markdown(results));
    std::fs::write(dir.join("report.md"), md)
        .map_err(|e| format!("cannot write report.md: {e}"))?;
    let rows: Vec<_> = results
        .iter()
        .map(|r| {
            json!({
                "suite": r.name, "peer": r.peer, "peer_version": r.peer_version,
                "result": r.outcome_label(), "passed": r.passed, "failed": r.failed,
                "skipped": r.skipped, "seconds": r.seconds, "note": r.note,
            })
        })
        .collect();
    let text =
        serde_json::to_string_pretty(&json!({ "suites": rows })).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.json"), text)
        .map_err(|e| format!("cannot write report.json: {e}"))?;
    Ok(())
}

/// Sums libtest's `test result: ok. 12 passed; 0 failed; 3 ignored; …` lines.
pub fn libtest_counts(output: &str) -> (u64, u64, u64) {
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    for line in output
        .lines()
        .filter(|l| l.trim_start().starts_with("test result:"))
    {
        for part in line.split([';', '.']) {
            let mut words = part.split_whitespace();
            if let (Some(n), Some(what)) = (words.next(), words.next())
                && let Ok(n) = n.parse::<u64>()
            {
                match what {
                    "passed" => passed += n,
                    "failed" => failed += n,
                    "ignored" => ignored += n,
                    _ => {}
                }
            }
        }
    }
    (passed, failed, ignored)
}

/// Longest panic message kept per failing test.
const MAX_PANIC_TEXT: usize = 600;

/// The failing tests in libtest output (`test name ... FAILED`), each with the first lines of
/// its panic message (`thread 'name' panicked at file:line:` and what follows).
pub fn libtest_failures(output: &str) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    let mut failures = Vec::new();
    for line in &lines {
        let Some(name) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... FAILED"))
        else {
            continue;
        };
        let marker = format!("thread '{name}' panicked at ");
        let mut text = String::new();
        if let Some(at) = lines.iter().position(|l| l.contains(&marker)) {
            for l in lines.iter().skip(at).take(4) {
                if l.is_empty() || l.starts_with("note: ") || l.starts_with("stack backtrace") {
                    break;
                }
                text.push_str(l.trim_start_matches(&marker));
                text.push(' ');
            }
        }
        let mut text = text.trim_end().to_string();
        if text.len() > MAX_PANIC_TEXT {
            let mut end = MAX_PANIC_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        failures.push(if text.is_empty() {
            (*name).to_string()
        } else {
            format!("{name}: {text}")
        });
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_libtest_summary_line() {
        let out = "running 3 tests\n\
                   test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
                   test result: FAILED. 5 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s\n";
        assert_eq!(libtest_counts(out), (8, 2, 1));
    }

    #[test]
    fn no_summary_means_nothing_counted() {
        assert_eq!(libtest_counts("error[E0432]: unresolved import"), (0, 0, 0));
    }

    #[test]
    fn failing_tests_are_named_with_their_panic() {
        let out = "running 2 tests\n\
                   test ok_one ... ok\n\
                   test serve_bad_http ... FAILED\n\
                   \n\
                   failures:\n\
                   \n\
                   ---- serve_bad_http stdout ----\n\
                   \n\
                   thread 'serve_bad_http' panicked at crates/cli/tests/serve_browser.rs:552:5:\n\
                   assertion failed: exchange(&huge).contains(\" 431 \")\n\
                   note: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            libtest_failures(out),
            vec![
                "serve_bad_http: crates/cli/tests/serve_browser.rs:552:5: assertion failed: \
                 exchange(&huge).contains(\" 431 \")"
                    .to_string()
            ]
        );
        assert!(libtest_failures("test a ... ok\ntest result: ok.").is_empty());
    }
}
