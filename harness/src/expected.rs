//! `--expected FILE`: the checks a deployment is known to fail, each with its reason. The run
//! passes when only those fail, and reports listed checks that now pass, so a team can gate CI
//! on regressions without weakening any check.

use reports::{ExpectedPass, Report, Verdict};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    expected: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    reason: String,
}

/// Check id -> reason.
#[derive(Debug, Default)]
pub struct Expected(BTreeMap<String, String>);

impl Expected {
    /// Reads the list; every id must be a known check and every reason non-empty.
    pub fn from_file(path: &Path, known: &[String]) -> anyhow::Result<Expected> {
        let origin = path.display();
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read expected-failures file {origin}: {e}"))?;
        let file: File = toml::from_str(&text).map_err(|e| anyhow::anyhow!("expected-failures file {origin}: {e}"))?;
        // Every mistake at once: a list fixed one id per run is a slow list to fix.
        let unknown: Vec<&str> = file.expected.iter().map(|e| e.id.as_str()).filter(|id| !known.iter().any(|k| k == id)).collect();
        if !unknown.is_empty() {
            anyhow::bail!(
                "expected-failures file {origin} names {} that {} not a check id (`oidc-harness conform --list`): {}",
                if unknown.len() == 1 { "one id" } else { "ids" },
                if unknown.len() == 1 { "is" } else { "are" },
                unknown.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
            );
        }
        let unexplained: Vec<&str> = file.expected.iter().filter(|e| e.reason.trim().is_empty()).map(|e| e.id.as_str()).collect();
        if !unexplained.is_empty() {
            anyhow::bail!("expected-failures file {origin}: these need a reason: {}", unexplained.join(", "));
        }
        Ok(Expected(file.expected.into_iter().map(|e| (e.id, e.reason)).collect()))
    }

    /// Marks the listed failures as expected and records listed checks that passed.
    pub fn apply(&self, report: &mut Report) {
        for check in &mut report.checks {
            if let Some(reason) = self.0.get(&check.id) {
                match check.verdict {
                    Verdict::Fail => check.expected_failure = Some(reason.clone()),
                    Verdict::Pass => report.expected_but_passed.push(ExpectedPass { id: check.id.clone(), reason: reason.clone() }),
                    Verdict::Warning | Verdict::NotApplicable | Verdict::NotRun | Verdict::Blocked => {}
                }
            }
        }
    }
}
