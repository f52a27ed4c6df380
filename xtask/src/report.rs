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
}
