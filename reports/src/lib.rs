//! The report of one `oidc-harness conform` run, and its renderers. The model is plain data
//! (serde), written once by the engine and read by every renderer, so the JSON file, the JUnit
//! file and the Markdown summary always agree.
//!
//! Evidence arrives here already redacted: the engine's HTTP recorder replaces secrets,
//! passwords, codes and tokens before anything is stored.
//!
//! Each distinct HTTP exchange is stored once, in `Report::exchanges`; a check's `evidence`
//! lists the indexes of the exchanges it relied on. One login page cited by thirty checks is
//! one entry, so `report.json` grows with the exchanges a run made, not with checks × exchanges.
//! Read a check's exchanges with `Report::evidence_of`; `Report::from_json` refuses an index
//! that points past the table.

mod html;
mod junit;
mod markdown;

pub use html::{esc as html_escape, to_html};
pub use junit::to_junit_xml;
pub use markdown::escape as markdown_escape;
pub use markdown::to_markdown;

use serde::{Deserialize, Serialize};

/// Identifies the layout of `report.json`; bumped on incompatible changes (v2: the verdicts
/// `not_applicable`, `not_run` and `blocked` replace `skipped`; `blocked_by`; `status`. v3: the
/// exchanges are stored once in `exchanges`, and a check's `evidence` holds indexes into it).
pub const SCHEMA: &str = "oidc-harness/report/v3";

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
    /// Set when the run certified the target for one relying party (`oidc-harness certify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification: Option<Certification>,
    pub checks: Vec<CheckResult>,
    /// Checks the expected-failures list names that passed: the list can shrink.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_but_passed: Vec<ExpectedPass>,
    /// Every HTTP exchange a check cites, each distinct one once, redacted and bounded; checks
    /// refer to them by index (`CheckResult::evidence`). Last, so the file reads verdicts first.
    pub exchanges: Vec<Exchange>,
}

/// The relying party a certification run tested the target as: its integration pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certification {
    /// The pack's name (`certify --integration NAME`).
    pub integration: String,
    /// The relying party, as its vendor names it.
    pub relying_party: String,
    /// What the relying party sends, item by item, in words.
    pub sends: Vec<String>,
    /// The vendor documentation its rules come from.
    pub documentation: Vec<String>,
}

impl Certification {
    /// The report's title: what was certified, and the verdict.
    pub fn title(&self, status: Status) -> String {
        format!("oidc-harness certify {}: {}", self.integration, status.as_str())
    }
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
    /// The embedded server's named faults (`--fault`) and allowed variants (`--variant`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<String>,
    /// Endpoints and other metadata members the run used that the OpenID configuration did not
    /// give, with where they came from ("the RFC 8414 metadata", "the target file").
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metadata_from: std::collections::BTreeMap<String, String>,
}

/// How much a failure matters: a required check failing fails the run; a recommended one
/// failing is a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Required,
    Recommended,
}

/// One check's verdict. Only `pass`, `fail` and `warning` judge the rule; the others say why
/// it was not judged, and never count as a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// A required check failed.
    Fail,
    /// A recommended check failed.
    Warning,
    /// The profile says the feature is absent; `detail` says what it says. Never makes a run
    /// incomplete.
    NotApplicable,
    /// The target file lacks what the check needs (a client, a user, a resource); `detail`
    /// names it.
    NotRun,
    /// A prerequisite failed (`blocked_by` names the check or step), so the rule could not be
    /// judged. The prerequisite's failure is reported once, where it happened.
    Blocked,
}

impl Verdict {
    /// Whether the check judged its rule (passed, failed or warned).
    pub fn judged(self) -> bool {
        matches!(self, Verdict::Pass | Verdict::Fail | Verdict::Warning)
    }
}

/// The outcome of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every selected required check was judged and none failed unexpectedly.
    Passed,
    /// A required check failed unexpectedly.
    Failed,
    /// None failed, but some required checks were blocked or not run: the run proves less than
    /// it was asked to.
    Incomplete,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "PASSED",
            Status::Failed => "FAILED",
            Status::Incomplete => "INCOMPLETE",
        }
    }
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
    /// For a blocked check: the prerequisite check id (or step) that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// The HTTP exchanges the check made or relied on, in the order it cites them: indexes into
    /// `Report::exchanges` (read them with `Report::evidence_of`).
    pub evidence: Vec<usize>,
    /// Set when the check failed and the run's expected-failures list names it, with the
    /// reason given there: the failure is known and does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
}

/// One HTTP request and its response. `Eq` and `Hash` let a run store identical exchanges once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// The server sent a longer body than the harness reads (2 MiB): what the checks judged
    /// was its beginning only. (A body kept here is cut shorter still, with a marker.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub response_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Every JWT the exchange carried (in the URL, a Location, the body), decoded with its
    /// signature removed: a verdict on a claim can be audited, the token cannot be replayed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jwts: Vec<DecodedJwt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DecodedJwt {
    /// Where it was found: `request URL`, `request body`, `Location`, `response body`.
    pub found_in: String,
    pub header: serde_json::Value,
    pub payload: serde_json::Value,
}

impl CheckResult {
    /// How the check is shown and grouped, in the order reports list them: `fail`, `blocked`,
    /// `not-run`, `warning`, `xfail` (an expected failure), `not-applicable` or `pass`.
    pub fn label(&self) -> &'static str {
        match (self.verdict, &self.expected_failure) {
            (Verdict::Fail, Some(_)) => "xfail",
            (Verdict::Fail, None) => "fail",
            (Verdict::Warning, _) => "warning",
            (Verdict::NotApplicable, _) => "not-applicable",
            (Verdict::NotRun, _) => "not-run",
            (Verdict::Blocked, _) => "blocked",
            (Verdict::Pass, _) => "pass",
        }
    }

    /// The detail, with the prerequisite of a blocked check and the reason of an expected
    /// failure.
    pub fn detail_with_expectation(&self) -> String {
        let detail = match &self.blocked_by {
            Some(by) if self.detail.is_empty() => format!("blocked by {by}"),
            Some(by) => format!("blocked by {by}: {}", self.detail),
            None => self.detail.clone(),
        };
        match &self.expected_failure {
            Some(reason) => format!("{detail} (expected: {reason})"),
            None => detail,
        }
    }
}

/// Every label, in the order reports group checks by.
pub const LABELS: [&str; 7] = ["fail", "blocked", "not-run", "warning", "xfail", "not-applicable", "pass"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub checks: usize,
    pub passed: usize,
    /// Required checks that failed and were not expected to.
    pub failed: usize,
    pub expected_failures: usize,
    pub warnings: usize,
    pub not_applicable: usize,
    pub not_run: usize,
    pub blocked: usize,
}

impl Totals {
    fn of<'a>(checks: impl Iterator<Item = &'a CheckResult> + Clone) -> Totals {
        let count = |v: Verdict| checks.clone().filter(|c| c.verdict == v).count();
        let expected = checks.clone().filter(|c| c.verdict == Verdict::Fail && c.expected_failure.is_some()).count();
        Totals {
            checks: checks.clone().count(),
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail) - expected,
            expected_failures: expected,
            warnings: count(Verdict::Warning),
            not_applicable: count(Verdict::NotApplicable),
            not_run: count(Verdict::NotRun),
            blocked: count(Verdict::Blocked),
        }
    }
}

/// How much of what was asked the run judged: required checks judged (passed or failed) out of
/// the required checks that apply to the profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub judged: usize,
    /// Required checks selected, less those the profile makes not applicable.
    pub applicable: usize,
    pub blocked: usize,
    pub not_run: usize,
    pub not_applicable: usize,
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "coverage {}/{} required checks judged", self.judged, self.applicable)?;
        if self.blocked + self.not_run > 0 {
            write!(f, " ({} blocked, {} not run)", self.blocked, self.not_run)?;
        }
        write!(f, "; {} not applicable to the profile", self.not_applicable)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("report.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("junit.xml: {0}")]
    Junit(String),
    #[error("report.json: check {check} cites exchange {index}, but `exchanges` holds only {held}")]
    DanglingEvidence { check: String, index: usize, held: usize },
}

impl Report {
    pub fn totals(&self) -> Totals {
        Totals::of(self.checks.iter())
    }

    /// The totals of one suite's checks.
    pub fn suite_totals(&self, suite: &str) -> Totals {
        Totals::of(self.checks.iter().filter(|c| c.suite == suite))
    }

    pub fn coverage(&self) -> Coverage {
        let required: Vec<&CheckResult> = self.checks.iter().filter(|c| c.severity == Severity::Required).collect();
        let count = |v: Verdict| required.iter().filter(|c| c.verdict == v).count();
        Coverage {
            judged: required.iter().filter(|c| c.verdict.judged()).count(),
            applicable: required.len() - count(Verdict::NotApplicable),
            blocked: count(Verdict::Blocked),
            not_run: count(Verdict::NotRun),
            not_applicable: count(Verdict::NotApplicable),
        }
    }

    /// FAILED when a required check failed unexpectedly; else INCOMPLETE when a required check
    /// was blocked or not run; else PASSED. Warnings and not-applicable checks never change it.
    pub fn status(&self) -> Status {
        let coverage = self.coverage();
        if self.totals().failed > 0 {
            Status::Failed
        } else if coverage.blocked + coverage.not_run > 0 {
            Status::Incomplete
        } else {
            Status::Passed
        }
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

    /// `report.json`: the report with its `status` and `coverage` written out, so a reader needs
    /// no rules of ours to tell a passed run from an incomplete one.
    pub fn to_json(&self) -> Result<String, ReportError> {
        #[derive(Serialize)]
        struct Written<'a> {
            status: Status,
            coverage: Coverage,
            #[serde(flatten)]
            report: &'a Report,
        }
        Ok(serde_json::to_string_pretty(&Written { status: self.status(), coverage: self.coverage(), report: self })?)
    }

    /// Reads `report.json`, refusing a check that cites an exchange the table does not hold.
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        let report: Report = serde_json::from_str(text)?;
        report.check_evidence_indexes()?;
        Ok(report)
    }

    /// The exchanges `check` cites, in its order. An index past the table is skipped rather than
    /// a panic: `from_json` refuses such a report, and the engine never builds one.
    pub fn evidence_of<'a>(&'a self, check: &'a CheckResult) -> impl Iterator<Item = &'a Exchange> + 'a {
        check.evidence.iter().filter_map(|&index| self.exchanges.get(index))
    }

    /// The first evidence index that points past `exchanges`, as an error.
    fn check_evidence_indexes(&self) -> Result<(), ReportError> {
        let held = self.exchanges.len();
        for check in &self.checks {
            if let Some(&index) = check.evidence.iter().find(|&&index| index >= held) {
                return Err(ReportError::DanglingEvidence { check: check.id.clone(), index, held });
            }
        }
        Ok(())
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
            blocked_by: None,
            // Every sample check cites the report's one exchange (`exchange()`).
            evidence: vec![0],
        }
    }

    pub fn exchange(url: &str) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: url.into(),
            request_headers: vec![("accept".into(), "application/json".into())],
            request_body: None,
            status: Some(200),
            response_headers: vec![("content-type".into(), "application/json".into())],
            response_body: Some("{\"issuer\":\"x\"}".into()),
            response_truncated: false,
            error: None,
            jwts: Vec::new(),
        }
    }

    pub fn report() -> Report {
        Report {
            schema: SCHEMA.into(),
            tool_version: "0.1.0".into(),
            started: 1_800_000_000,
            duration_ms: 1234,
            target: Target {
                issuer: "http://127.0.0.1:1/api/oidc".into(),
                embedded: true,
                faults: Vec::new(),
                variants: Vec::new(),
                metadata_from: Default::default(),
            },
            profile: "idaas".into(),
            certification: None,
            checks: vec![
                check("discovery.issuer", "discovery", Verdict::Pass, ""),
                check("discovery.no-introspection", "discovery", Verdict::Fail, "introspection_endpoint is advertised"),
                check("jwks.x5c", "jwks", Verdict::Warning, "key k1 has no x5c"),
                check("revocation.rfc7009", "jwks", Verdict::NotApplicable, "the profile says revocation is absent"),
            ],
            expected_but_passed: Vec::new(),
            exchanges: vec![exchange("http://127.0.0.1:1/api/oidc/.well-known/openid-configuration")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_and_says_the_status() {
        let report = sample::report();
        let json = report.to_json().unwrap();
        assert_eq!(Report::from_json(&json).unwrap(), report);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["status"], "failed");
        assert_eq!(value["coverage"]["applicable"], 2);
    }

    #[test]
    fn an_exchange_cited_by_two_checks_is_stored_once_and_shown_for_both() {
        let url = "https://idp.test/login?page=shared";
        let mut report = sample::report();
        report.checks.truncate(2);
        report.exchanges = vec![sample::exchange("https://idp.test/other"), sample::exchange(url)];
        report.checks[0].evidence = vec![1];
        report.checks[1].evidence = vec![0, 1];
        let json = report.to_json().unwrap();
        assert_eq!(json.matches(url).count(), 1, "stored once: {json}");
        let read = Report::from_json(&json).unwrap();
        for check in &read.checks {
            assert!(read.evidence_of(check).any(|e| e.url == url), "{} cites the shared exchange", check.id);
        }
        let urls: Vec<&str> = read.evidence_of(&read.checks[1]).map(|e| e.url.as_str()).collect();
        assert_eq!(urls, ["https://idp.test/other", url], "in the order the check cites them");
        assert_eq!(to_html(&read).matches(url).count(), 2, "the HTML shows it under both checks");
    }

    #[test]
    fn an_evidence_index_past_the_table_is_an_error() {
        let mut report = sample::report();
        report.checks[2].evidence = vec![0, 1];
        let error = Report::from_json(&report.to_json().unwrap()).unwrap_err();
        assert!(matches!(error, ReportError::DanglingEvidence { index: 1, held: 1, .. }), "{error:?}");
        assert_eq!(error.to_string(), "report.json: check jwks.x5c cites exchange 1, but `exchanges` holds only 1");
        assert_eq!(report.evidence_of(&report.checks[2]).count(), 1, "a renderer skips it rather than panic");
    }

    #[test]
    fn totals_and_status_follow_the_verdicts() {
        let mut report = sample::report();
        assert_eq!(
            report.totals(),
            Totals { checks: 4, passed: 1, failed: 1, expected_failures: 0, warnings: 1, not_applicable: 1, not_run: 0, blocked: 0 }
        );
        assert_eq!(report.status(), Status::Failed);
        report.checks[1].expected_failure = Some("known".into());
        assert_eq!(report.totals().expected_failures, 1);
        assert_eq!(report.status(), Status::Passed, "an expected failure does not fail the run");
        report.checks.retain(|c| c.verdict != Verdict::Fail);
        assert_eq!(report.status(), Status::Passed, "warnings and not-applicable checks do not fail a run");
        assert_eq!(report.suites(), ["discovery", "jwks"]);
    }

    #[test]
    fn blocked_or_not_run_required_checks_make_a_run_incomplete() {
        let mut report = sample::report();
        report.checks.retain(|c| c.verdict != Verdict::Fail);
        let mut blocked = sample::check("code.nonce", "code-flow", Verdict::Blocked, "");
        blocked.blocked_by = Some("code.completes".into());
        report.checks.push(blocked.clone());
        assert_eq!(report.status(), Status::Incomplete);
        assert_eq!(report.coverage(), Coverage { judged: 1, applicable: 2, blocked: 1, not_run: 0, not_applicable: 1 });
        assert_eq!(blocked.detail_with_expectation(), "blocked by code.completes");
        assert_eq!(
            report.coverage().to_string(),
            "coverage 1/2 required checks judged (1 blocked, 0 not run); 1 not applicable to the profile"
        );
        report.checks.last_mut().unwrap().severity = Severity::Recommended;
        assert_eq!(report.status(), Status::Passed, "a blocked recommended check does not");
        report.checks.push(sample::check("code.client", "code-flow", Verdict::NotRun, "the target names no second client"));
        assert_eq!(report.status(), Status::Incomplete);
        report.checks.push(sample::check("code.x", "code-flow", Verdict::Fail, "broken"));
        assert_eq!(report.status(), Status::Failed, "a failure outranks incompleteness");
    }
}
