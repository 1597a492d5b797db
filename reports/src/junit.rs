//! JUnit XML: one testsuite per suite, one testcase per check, so CI systems show each check as
//! a test. Warnings pass with the warning in `system-out`; checks not judged (not applicable,
//! not run, blocked) are skipped with their reason, a blocked one naming its prerequisite. The
//! run's status and coverage are properties of the report, so an INCOMPLETE run is visible even
//! where a CI system only counts failures.

use crate::{Report, ReportError, Verdict};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

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
            let status = match check.verdict {
                Verdict::Pass | Verdict::Warning => TestCaseStatus::success(),
                Verdict::Fail if check.expected_failure.is_some() => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(format!("expected failure ({}): {}", check.expected_failure.as_deref().unwrap_or(""), check.detail));
                    status
                }
                Verdict::Fail => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(check.detail.as_str()).set_type(check.spec.as_str());
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
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(|e| ReportError::Junit(e.to_string()))
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
}
