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
        let mut entries = BTreeMap::new();
        for entry in file.expected {
            if !known.contains(&entry.id) {
                anyhow::bail!(
                    "expected-failures file {origin} names `{}`, which is not a check id (`oidc-harness conform --list`)",
                    entry.id
                );
            }
            if entry.reason.trim().is_empty() {
                anyhow::bail!("expected-failures file {origin}: `{}` needs a reason", entry.id);
            }
            entries.insert(entry.id, entry.reason);
        }
        Ok(Expected(entries))
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
