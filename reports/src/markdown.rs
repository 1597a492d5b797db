//! `summary.md`: totals, then failures, warnings and skips, ready for a CI step summary.

use crate::Report;
use std::fmt::Write;

/// Keeps table cells on one line and stops `|` from splitting them.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub fn to_markdown(report: &Report) -> String {
    let t = report.totals();
    let mut out = String::new();
    let _ = writeln!(out, "# oidc-harness conform: {}\n", report.status().as_str());
    let target = if report.target.embedded { " (embedded reference server)" } else { "" };
    let _ = writeln!(
        out,
        "Target `{}`{target}, profile `{}`, {} ms; {}.\n",
        report.target.issuer,
        report.profile,
        report.duration_ms,
        report.coverage()
    );
    let _ = writeln!(
        out,
        "| checks | passed | failed | blocked | not run | warnings | expected failures | not applicable |\n|---|---|---|---|---|---|---|---|"
    );
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        t.checks, t.passed, t.failed, t.blocked, t.not_run, t.warnings, t.expected_failures, t.not_applicable
    );
    for (label, heading) in [
        ("fail", "Failed"),
        ("blocked", "Blocked (a prerequisite failed)"),
        ("not-run", "Not run (the target file lacks what they need)"),
        ("warning", "Warnings"),
        ("xfail", "Expected failures"),
        ("not-applicable", "Not applicable (the profile says so)"),
    ] {
        let checks: Vec<_> = report.checks.iter().filter(|c| c.label() == label).collect();
        if checks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {heading}\n\n| check | rule | detail |\n|---|---|---|");
        for c in checks {
            let _ = writeln!(out, "| `{}` {} | {} | {} |", c.id, cell(&c.title), cell(&c.spec), cell(&c.detail_with_expectation()));
        }
    }
    if !report.expected_but_passed.is_empty() {
        let _ = writeln!(out, "\n## Expected to fail, but passed: remove from the expected list\n");
        for e in &report.expected_but_passed {
            let _ = writeln!(out, "- `{}` ({})", e.id, cell(&e.reason));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn lists_failures_warnings_and_skips_with_their_rule() {
        let md = to_markdown(&sample::report());
        assert!(md.starts_with("# oidc-harness conform: FAILED"));
        assert!(md.contains("| 4 | 1 | 1 | 0 | 0 | 1 | 0 | 1 |"));
        assert!(md.contains("coverage 2/2 required checks judged"));
        let failed = md.split("## Failed").nth(1).unwrap();
        assert!(failed.contains("`discovery.no-introspection`") && failed.contains("RFC 6749 §5.2"));
        assert!(md.contains("## Warnings") && md.contains("## Not applicable"));
    }

    #[test]
    fn pipes_and_newlines_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
