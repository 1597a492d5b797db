//! JUnit XML: one testsuite per suite, one testcase per check, so CI systems show each check as
//! a test.
//! - A failure's message is the detail; its body holds the detail in full, then a short summary
//!   of the evidence (method, URL, status, OAuth `error`; already redacted in the report).
//! - A check listed as expected to fail that now passes (XPASS) is skipped with the message
//!   "expected to fail, now passes: remove it from the expected list" and a `verdict = xpass`
//!   property: the list is out of date, but the run passed, and a CI system's test report must
//!   not show a failure on a green job.
//! - A warning passes, with the warning in `system-out` and a `verdict = warning` property.
//! - Checks not judged (not applicable, not run, blocked) are skipped with their reason, a
//!   blocked one naming its prerequisite.
//! - Durations are the checks' own.
//! - The run's status and coverage are properties of every suite, so an INCOMPLETE run is
//!   visible where a CI system only counts failures.

use crate::{CheckResult, Report, ReportError, Verdict};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write;
use std::time::Duration;

/// The message of an XPASS.
pub const XPASS: &str = "expected to fail, now passes: remove it from the expected list";

/// Evidence lines in a failure's body; the report has them all.
const EVIDENCE_LINES: usize = 5;

pub fn to_junit_xml(report: &Report) -> Result<String, ReportError> {
    let status = report.status().as_str();
    let coverage = report.coverage().to_string();
    let what = match &report.certification {
        Some(c) => format!("certify {} ({})", c.integration, c.relying_party),
        None => "conform".to_string(),
    };
    let mut junit = quick_junit::Report::new(format!("oidc-harness {what} {}: {status}", report.target.issuer));
    junit.set_time(Duration::from_millis(report.duration_ms));
    for suite_name in report.suites() {
        let mut suite = TestSuite::new(suite_name);
        suite.add_property(("status", status)).add_property(("coverage", coverage.as_str()));
        for check in report.checks.iter().filter(|c| c.suite == suite_name) {
            let xpass = report.expected_but_passed.iter().find(|e| e.id == check.id);
            let status = match check.verdict {
                Verdict::Pass if xpass.is_some() => {
                    let mut status = TestCaseStatus::skipped();
                    let reason = xpass.map_or("", |e| e.reason.as_str());
                    status.set_message(XPASS).set_type("xpass").set_description(format!("{XPASS}\n\nlisted because: {reason}"));
                    status
                }
                Verdict::Pass | Verdict::Warning => TestCaseStatus::success(),
                Verdict::Fail if check.expected_failure.is_some() => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(format!("expected failure ({}): {}", check.expected_failure.as_deref().unwrap_or(""), check.detail));
                    status
                }
                Verdict::Fail => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(check.detail.as_str()).set_type(check.spec.as_str()).set_description(failure_body(report, check));
                    status
                }
                Verdict::NotApplicable | Verdict::NotRun | Verdict::Blocked => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(format!("{}: {}", check.label(), check.detail_with_expectation()));
                    status
                }
            };
            let mut case = TestCase::new(format!("{}: {}", check.id, check.title), status);
            case.set_classname(format!("oidc-harness.{suite_name}")).set_time(Duration::from_millis(check.duration_ms));
            if check.verdict == Verdict::Warning {
                case.set_system_out(format!("warning ({}): {}", check.spec, check.detail));
                case.add_property(("verdict", "warning"));
            }
            if xpass.is_some() {
                case.add_property(("verdict", "xpass"));
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(|e| ReportError::Junit(e.to_string()))
}

/// A failure's body: the rule, the detail in full, and what was sent and answered, one line
/// per exchange.
fn failure_body(report: &Report, check: &CheckResult) -> String {
    let mut body = format!("{}\nrule: {}\n", check.detail, check.spec);
    let exchanges: Vec<_> = report.evidence_of(check).collect();
    if !exchanges.is_empty() {
        body.push_str("\nevidence:\n");
    }
    for e in exchanges.iter().take(EVIDENCE_LINES) {
        let answer = match (e.status, &e.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("no answer ({error})"),
            (None, None) => "no answer".into(),
        };
        // No `>` or `&`: some JUnit readers split a text at an entity.
        let _ = write!(body, "  {} {} → {answer}", e.method, e.url);
        let oauth_error = e
            .response_body
            .as_deref()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .and_then(|v| v["error"].as_str().map(str::to_string));
        if let Some(error) = oauth_error {
            let _ = write!(body, " error={error}");
        }
        body.push('\n');
    }
    if exchanges.len() > EVIDENCE_LINES {
        let _ = writeln!(body, "  ... {} more in report.json", exchanges.len() - EVIDENCE_LINES);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn junit_parses_with_one_testcase_per_check() {
        let xml = to_junit_xml(&sample::report()).unwrap();
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let suites: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testsuite")).collect();
        assert_eq!(suites.iter().map(|s| s.attribute("name").unwrap()).collect::<Vec<_>>(), ["discovery", "jwks"]);
        let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
        assert_eq!(cases.len(), 4);
        let failure = doc.descendants().find(|n| n.has_tag_name("failure")).expect("a failure element");
        assert_eq!(failure.attribute("message"), Some("introspection_endpoint is advertised"));
        assert_eq!(doc.descendants().filter(|n| n.has_tag_name("skipped")).count(), 1);
        assert!(cases[0].attribute("name").unwrap().contains("<&>"), "text is escaped, not lost");
        let root = doc.root_element();
        assert!(root.attribute("name").unwrap().ends_with(": FAILED"));
        let status = doc.descendants().find(|n| n.has_tag_name("property") && n.attribute("name") == Some("status")).unwrap();
        assert_eq!(status.attribute("value"), Some("FAILED"));
    }

    /// What a CI system shows comes through a JUnit parser as it should: the failure's body with
    /// the rule and the evidence, an XPASS as a skip saying what to do, a warning as output
    /// and a property, the checks' own durations.
    #[test]
    fn a_junit_parser_reads_the_details() {
        let mut report = sample::report();
        let passed = report.checks.iter().position(|c| c.verdict == Verdict::Pass).unwrap();
        report.checks[passed].duration_ms = 1234;
        report.expected_but_passed.push(crate::ExpectedPass { id: report.checks[passed].id.clone(), reason: "was broken".into() });
        let warned = report.checks.iter().position(|c| c.verdict != Verdict::Fail && c.id != report.checks[passed].id).unwrap();
        report.checks[warned].verdict = Verdict::Warning;
        let failed = report.checks.iter().position(|c| c.verdict == Verdict::Fail).unwrap();
        report.exchanges.push(crate::sample::exchange("https://idp.example.test/token"));
        report.exchanges.last_mut().unwrap().status = Some(400);
        report.exchanges.last_mut().unwrap().method = "POST".into();
        report.exchanges.last_mut().unwrap().response_body = Some("{\"error\":\"invalid_grant\"}".into());
        report.checks[failed].evidence = vec![report.exchanges.len() - 1];

        let xml = to_junit_xml(&report).unwrap();
        let parsed = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).expect("a JUnit parser reads it");
        let cases: Vec<&junit_parser::TestCase> = parsed.suites.iter().flat_map(|s| s.cases.iter()).collect();
        let case = |i: usize| cases.iter().find(|c| c.original_name.starts_with(&format!("{}:", report.checks[i].id))).unwrap();
        let junit_parser::TestStatus::Failure(f) = &case(failed).status else { panic!("not a failure") };
        assert!(
            f.text.contains("rule: ") && f.text.contains("POST https://idp.example.test/token → 400 error=invalid_grant"),
            "{}",
            f.text
        );
        let junit_parser::TestStatus::Skipped(x) = &case(passed).status else { panic!("an XPASS is skipped, with its message") };
        assert_eq!(x.message, XPASS);
        assert!(case(passed).properties.hashmap.get("verdict").is_some_and(|v| v == "xpass"));
        assert!((case(passed).time - 1.234).abs() < 1e-9, "durations are the check's own");
        assert!(case(warned).system_out.as_deref().is_some_and(|o| o.starts_with("warning (")));
        assert!(case(warned).properties.hashmap.get("verdict").is_some_and(|v| v == "warning"));
    }
}
