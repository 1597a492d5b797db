//! `summary.md`: totals, then failures, warnings and skips, ready for a CI step summary.

use crate::Report;
use std::fmt::Write;

/// Text from a target in Markdown, inline: its own links, images, code, HTML and table pipes are
/// shown as text, and it stays on one line. (Emphasis is left alone: it cannot point anywhere,
/// and escaping every `_` would make identifiers unreadable where the Markdown is read raw.)
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '`' | '[' | ']' | '<' | '>' | '!' | '|') {
            out.push('\\');
        }
        // Control characters (a newline, a terminal's escape sequence) become spaces.
        out.push(if c.is_control() { ' ' } else { c });
    }
    // GitHub turns bare `https://…` and `www.…` into links: a zero-width space keeps them text.
    out.replace("://", ":\u{200B}//").replace("www.", "www\u{200B}.")
}

/// Keeps table cells on one line and stops `|` from splitting them.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub fn to_markdown(report: &Report) -> String {
    let t = report.totals();
    let mut out = String::new();
    match &report.certification {
        Some(c) => {
            let _ = writeln!(out, "# {}\n", c.title(report.status()));
            let _ = writeln!(out, "Certification of the target as **{}** sees it.\n", c.relying_party);
        }
        None => {
            let _ = writeln!(out, "# oidc-harness conform: {}\n", report.status().as_str());
        }
    }
    let target = if report.target.embedded { " (embedded reference server)" } else { "" };
    let mut with = Vec::new();
    if !report.target.faults.is_empty() {
        with.push(format!("fault {}", escape(&report.target.faults.join(", "))));
    }
    if !report.target.variants.is_empty() {
        with.push(format!("variant {}", escape(&report.target.variants.join(", "))));
    }
    let with = if with.is_empty() { String::new() } else { format!(" with {}", with.join(" and ")) };
    // The issuer is the target's text: escaped, not put in a code span it could close.
    let _ = writeln!(
        out,
        "Target {}{target}{with}, profile `{}`, {} ms; {}.\n",
        escape(&report.target.issuer),
        cell(&report.profile),
        report.duration_ms,
        report.coverage()
    );
    let _ = writeln!(
        out,
        "| suite | checks | passed | failed | blocked | not run | warnings | expected failures | not applicable |\n|---|---|---|---|---|---|---|---|---|"
    );
    let row = |name: &str, t: crate::Totals| {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            t.checks, t.passed, t.failed, t.blocked, t.not_run, t.warnings, t.expected_failures, t.not_applicable
        )
    };
    for suite in report.suites() {
        let _ = writeln!(out, "{}", row(&cell(suite), report.suite_totals(suite)));
    }
    let _ = writeln!(out, "{}", row("**all**", t));
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
            // The detail quotes the target (error descriptions, URLs): no link, image or HTML of its own.
            let _ = writeln!(out, "| `{}` {} | {} | {} |", c.id, cell(&c.title), cell(&c.spec), escape(&c.detail_with_expectation()));
        }
    }
    if let Some(c) = &report.certification {
        certification(&mut out, report, c);
    }
    if !report.expected_but_passed.is_empty() {
        let _ = writeln!(out, "\n## Expected to fail, but passed: remove from the expected list\n");
        for e in &report.expected_but_passed {
            let _ = writeln!(out, "- `{}` ({})", e.id, escape(&e.reason));
        }
    }
    out
}

/// A certification's own sections: what the relying party sends, and every rule it applies with
/// its verdict (passes included: the certificate lists what was verified).
fn certification(out: &mut String, report: &Report, c: &crate::Certification) {
    let _ = writeln!(out, "\n## What {} sends\n", c.relying_party);
    for item in &c.sends {
        let _ = writeln!(out, "- {}", cell(item));
    }
    let _ = writeln!(out, "\n## Every rule it applies\n\n| verdict | rule | source | detail |\n|---|---|---|---|");
    for check in &report.checks {
        let _ = writeln!(
            out,
            "| {} | `{}` {} | {} | {} |",
            check.label(),
            check.id,
            cell(&check.title),
            cell(&check.spec),
            escape(&check.detail_with_expectation())
        );
    }
    let _ = writeln!(out, "\nSources: {}", c.documentation.join(", "));
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
    fn a_certification_is_headed_by_its_relying_party_and_lists_every_rule() {
        let mut report = sample::report();
        report.certification = Some(crate::Certification {
            integration: "salesforce".into(),
            relying_party: "Salesforce Auth. Provider".into(),
            sends: vec!["a redirect (GET) to the authorization endpoint".into()],
            documentation: vec!["https://help.salesforce.com/".into()],
        });
        let md = to_markdown(&report);
        assert!(md.starts_with("# oidc-harness certify salesforce: FAILED"), "{md}");
        assert!(md.contains("as **Salesforce Auth. Provider** sees it"));
        let rules = md.split("## Every rule it applies").nth(1).expect("the rules section");
        assert!(rules.contains("| pass | `discovery.issuer`"), "passes are listed too: {rules}");
        assert!(md.contains("- a redirect (GET) to the authorization endpoint"));
    }

    #[test]
    fn pipes_and_newlines_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    /// A target's text cannot make summary.md link, show an image, or run HTML, and the run's
    /// suites and the fault it ran with are named.
    #[test]
    fn a_targets_text_is_shown_not_obeyed() {
        let mut report = sample::report();
        report.target.faults = vec!["nonce-dropped".into()];
        let failed = report.checks.iter().position(|c| c.verdict == crate::Verdict::Fail).unwrap();
        report.checks[failed].detail = "see ![x](https://evil.example/p.png) and [here](https://evil.example) <img src=x>".into();
        let md = to_markdown(&report);
        assert!(!md.contains(" ![x](") && !md.contains(" [here](") && !md.contains(" <img"), "{md}");
        assert!(md.contains("\\<img src=x\\>"), "{md}");
        assert!(md.contains("\\!\\[x\\](https:\u{200B}//evil.example/p.png)"), "no autolink either: {md}");
        assert!(md.contains(" with fault nonce-dropped,"), "{md}");
        assert!(md.contains("| discovery | ") && md.contains("| **all** | "), "{md}");
    }
}
