//! The report of one `oidc-harness conform` run, and its renderers. The model is plain data
//! (serde), written once by the engine and read by every renderer, so the JSON file, the JUnit
//! file and the Markdown summary always agree.
//!
//! Evidence arrives here already redacted: the engine's HTTP recorder replaces secrets,
//! passwords, codes and tokens before anything is stored.

mod html;
mod junit;
mod markdown;

pub use html::to_html;
pub use junit::to_junit_xml;
pub use markdown::to_markdown;

use serde::{Deserialize, Serialize};

/// Identifies the layout of `report.json`; bumped on incompatible changes.
pub const SCHEMA: &str = "oidc-harness/report/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool_version: String,
    /// Seconds since the Unix epoch when the run started.
    pub started: u64,
    pub duration_ms: u64,
    pub target: Target,
    /// The profile's name (what the target claims).
    pub profile: String,
    pub checks: Vec<CheckResult>,
    /// Checks the expected-failures list names that passed: the list can shrink.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_but_passed: Vec<ExpectedPass>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedPass {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub issuer: String,
    /// The embedded reference server rather than a deployment given with `--target`.
    pub embedded: bool,
}

/// How much a failure matters: a required check failing fails the run; a recommended one
/// failing is a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Required,
    Recommended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// A required check failed.
    Fail,
    /// A recommended check failed.
    Warning,
    /// Not run; `detail` says why (e.g. "the profile says introspection is absent").
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Stable identifier, e.g. `discovery.issuer-matches`.
    pub id: String,
    pub suite: String,
    pub title: String,
    /// The rule checked, e.g. "OIDC Discovery §4.3".
    pub spec: String,
    pub severity: Severity,
    pub verdict: Verdict,
    /// What was observed: the reason for a failure, warning or skip.
    pub detail: String,
    pub duration_ms: u64,
    /// The HTTP exchanges the check made or relied on, redacted.
    pub evidence: Vec<Exchange>,
    /// Set when the check failed and the run's expected-failures list names it, with the
    /// reason given there: the failure is known and does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// Absent when the request got no response (connection refused, timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CheckResult {
    /// How the check is shown and grouped: `fail`, `xfail` (an expected failure), `warning`,
    /// `skipped` or `pass`.
    pub fn label(&self) -> &'static str {
        match (self.verdict, &self.expected_failure) {
            (Verdict::Fail, Some(_)) => "xfail",
            (Verdict::Fail, None) => "fail",
            (Verdict::Warning, _) => "warning",
            (Verdict::Skipped, _) => "skipped",
            (Verdict::Pass, _) => "pass",
        }
    }

    /// The detail, with the reason when the failure was expected.
    pub fn detail_with_expectation(&self) -> String {
        match &self.expected_failure {
            Some(reason) => format!("{} (expected: {reason})", self.detail),
            None => self.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub checks: usize,
    pub passed: usize,
    /// Required checks that failed and were not expected to.
    pub failed: usize,
    pub expected_failures: usize,
    pub warnings: usize,
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("report.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("junit.xml: {0}")]
    Junit(String),
}

impl Report {
    pub fn totals(&self) -> Totals {
        let count = |v: Verdict| self.checks.iter().filter(|c| c.verdict == v).count();
        let expected = self.checks.iter().filter(|c| c.verdict == Verdict::Fail && c.expected_failure.is_some()).count();
        Totals {
            checks: self.checks.len(),
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail) - expected,
            expected_failures: expected,
            warnings: count(Verdict::Warning),
            skipped: count(Verdict::Skipped),
        }
    }

    /// The run passes when no required check failed unexpectedly.
    pub fn passed(&self) -> bool {
        self.totals().failed == 0
    }

    /// Suites in the order their first check appears.
    pub fn suites(&self) -> Vec<&str> {
        let mut suites: Vec<&str> = Vec::new();
        for check in &self.checks {
            if !suites.contains(&check.suite.as_str()) {
                suites.push(&check.suite);
            }
        }
        suites
    }

    pub fn to_json(&self) -> Result<String, ReportError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        Ok(serde_json::from_str(text)?)
    }
}

#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    pub fn check(id: &str, suite: &str, verdict: Verdict, detail: &str) -> CheckResult {
        CheckResult {
            id: id.into(),
            suite: suite.into(),
            title: format!("title of {id} <&>"),
            spec: "RFC 6749 §5.2".into(),
            severity: if verdict == Verdict::Warning { Severity::Recommended } else { Severity::Required },
            verdict,
            detail: detail.into(),
            duration_ms: 3,
            expected_failure: None,
            evidence: vec![Exchange {
                method: "GET".into(),
                url: "http://127.0.0.1:1/api/oidc/.well-known/openid-configuration".into(),
                request_headers: vec![("accept".into(), "application/json".into())],
                request_body: None,
                status: Some(200),
                response_headers: vec![("content-type".into(), "application/json".into())],
                response_body: Some("{\"issuer\":\"x\"}".into()),
                error: None,
            }],
        }
    }

    pub fn report() -> Report {
        Report {
            schema: SCHEMA.into(),
            tool_version: "0.1.0".into(),
            started: 1_800_000_000,
            duration_ms: 1234,
            target: Target { issuer: "http://127.0.0.1:1/api/oidc".into(), embedded: true },
            profile: "idaas".into(),
            checks: vec![
                check("discovery.issuer", "discovery", Verdict::Pass, ""),
                check("discovery.no-introspection", "discovery", Verdict::Fail, "introspection_endpoint is advertised"),
                check("jwks.x5c", "jwks", Verdict::Warning, "key k1 has no x5c"),
                check("revocation.rfc7009", "jwks", Verdict::Skipped, "the profile says revocation is absent"),
            ],
            expected_but_passed: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips() {
        let report = sample::report();
        assert_eq!(Report::from_json(&report.to_json().unwrap()).unwrap(), report);
    }

    #[test]
    fn totals_and_pass_follow_the_verdicts() {
        let mut report = sample::report();
        assert_eq!(report.totals(), Totals { checks: 4, passed: 1, failed: 1, expected_failures: 0, warnings: 1, skipped: 1 });
        assert!(!report.passed());
        report.checks[1].expected_failure = Some("known".into());
        assert_eq!(report.totals().expected_failures, 1);
        assert!(report.passed(), "an expected failure does not fail the run");
        report.checks.retain(|c| c.verdict != Verdict::Fail);
        assert!(report.passed(), "warnings and skips do not fail a run");
        assert_eq!(report.suites(), ["discovery", "jwks"]);
    }
}
