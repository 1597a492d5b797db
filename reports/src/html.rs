//! `report.html`: one self-contained file (no external assets) a person can open from a CI
//! artifact: totals, failures first, filters by suite and verdict, evidence folded per check.
//! Every value from the run is escaped.

use crate::{CheckResult, Exchange, LABELS, Report, Status};
use std::fmt::Write;

/// Text in HTML, as element content or a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Failures first, then blocked, not run, warnings, expected failures, not applicable, passes
/// (`LABELS` order); suite order otherwise.
fn rank(check: &CheckResult) -> usize {
    LABELS.iter().position(|l| *l == check.label()).unwrap_or(LABELS.len())
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
td,th{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
.fail{color:#b00020;font-weight:bold}.blocked,.not-run,.incomplete{color:#8a4b00;font-weight:bold}.warning{color:#a15c00}\
.xfail{color:#7a4fa0}.not-applicable{color:#666}.pass{color:#1b7a2f}\
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;max-width:100em;white-space:pre-wrap}summary{cursor:pointer}\
.filters{margin:1em 0}.filters label{margin-right:1em}";

const SCRIPT: &str = "function applyFilters(){var s=document.getElementById('suite').value;\
var v=[].slice.call(document.querySelectorAll('input[name=verdict]:checked')).map(function(e){return e.value});\
[].forEach.call(document.querySelectorAll('tr.check'),function(r){\
var show=(s===''||r.dataset.suite===s)&&v.indexOf(r.dataset.verdict)>=0;r.style.display=show?'':'none';\
var n=r.nextElementSibling;if(n&&n.classList.contains('evidence'))n.style.display=show?'':'none';});}";

fn exchange(out: &mut String, e: &Exchange) {
    let mut text = format!("{} {}\n", e.method, e.url);
    for (k, v) in &e.request_headers {
        let _ = writeln!(text, "{k}: {v}");
    }
    if let Some(body) = &e.request_body {
        let _ = writeln!(text, "\n{body}");
    }
    match (e.status, &e.error) {
        (Some(status), _) => {
            let _ = writeln!(text, "\n→ {status}");
            for (k, v) in &e.response_headers {
                let _ = writeln!(text, "{k}: {v}");
            }
            if let Some(body) = &e.response_body {
                let _ = writeln!(text, "\n{body}");
            }
            if e.response_truncated {
                let _ = writeln!(text, "\n(the server sent more than the harness reads: the body was cut)");
            }
        }
        (None, Some(error)) => {
            let _ = writeln!(text, "\n→ no response: {error}");
        }
        (None, None) => {}
    }
    for jwt in &e.jwts {
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
        let _ = writeln!(
            text,
            "\nJWT in the {} (signature removed)\nheader: {}\npayload: {}",
            jwt.found_in,
            pretty(&jwt.header),
            pretty(&jwt.payload)
        );
    }
    let _ = write!(out, "<pre>{}</pre>", esc(&text));
}

pub fn to_html(report: &Report) -> String {
    let t = report.totals();
    let status = report.status();
    let outcome = status.as_str();
    let mut out = String::new();
    let what = match &report.certification {
        Some(c) => format!("certify {}", esc(&c.integration)),
        None => "conform".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>oidc-harness {what}: {outcome}</title>\
         <style>{STYLE}</style><script>{SCRIPT}</script></head><body>\
         <h1>oidc-harness {what}: <span class=\"{}\">{outcome}</span></h1>\
         <p>Target <code>{}</code>{}, profile <code>{}</code>, {} ms, oidc-harness {}; {}.</p>\
         <table><tr><th>checks</th><th>passed</th><th>failed</th><th>blocked</th><th>not run</th><th>warnings</th>\
         <th>expected failures</th><th>not applicable</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        match status {
            Status::Passed => "pass",
            Status::Failed => "fail",
            Status::Incomplete => "incomplete",
        },
        esc(&report.target.issuer),
        if report.target.embedded { " (embedded reference server)" } else { "" },
        esc(&report.profile),
        report.duration_ms,
        esc(&report.tool_version),
        report.coverage(),
        t.checks,
        t.passed,
        t.failed,
        t.blocked,
        t.not_run,
        t.warnings,
        t.expected_failures,
        t.not_applicable
    );
    if let Some(c) = &report.certification {
        let _ = write!(out, "<p>Certification of the target as <strong>{}</strong> sees it. It sends:</p><ul>", esc(&c.relying_party));
        for item in &c.sends {
            let _ = write!(out, "<li>{}</li>", esc(item));
        }
        out.push_str("</ul><p>Sources:");
        for url in &c.documentation {
            let _ = write!(out, " <code>{}</code>", esc(url));
        }
        out.push_str("</p>");
    }
    if !report.expected_but_passed.is_empty() {
        out.push_str("<h2>Expected to fail, but passed</h2><ul>");
        for e in &report.expected_but_passed {
            let _ = write!(out, "<li><code>{}</code> ({})</li>", esc(&e.id), esc(&e.reason));
        }
        out.push_str("</ul>");
    }
    out.push_str("<div class=\"filters\"><label>Suite <select id=\"suite\" onchange=\"applyFilters()\"><option value=\"\">all</option>");
    for suite in report.suites() {
        let _ = write!(out, "<option>{}</option>", esc(suite));
    }
    out.push_str("</select></label>");
    for v in LABELS {
        let _ =
            write!(out, "<label><input type=\"checkbox\" name=\"verdict\" value=\"{v}\" checked onchange=\"applyFilters()\"> {v}</label>");
    }
    out.push_str("</div><table><tr><th>verdict</th><th>check</th><th>rule</th><th>detail</th></tr>");
    let mut checks: Vec<&CheckResult> = report.checks.iter().collect();
    checks.sort_by_key(|c| rank(c));
    for c in checks {
        let detail = c.detail_with_expectation();
        let _ = write!(
            out,
            "<tr class=\"check\" data-suite=\"{suite}\" data-verdict=\"{v}\"><td class=\"{v}\">{v}</td><td><code>{id}</code><br>{title}</td><td>{spec}</td><td>{detail}</td></tr>",
            suite = esc(&c.suite),
            v = c.label(),
            id = esc(&c.id),
            title = esc(&c.title),
            spec = esc(&c.spec),
            detail = esc(&detail),
        );
        // Shown in full under each check that cites it: a check's evidence reads on its own.
        let evidence: Vec<&Exchange> = report.evidence_of(c).collect();
        if !evidence.is_empty() {
            let _ = write!(
                out,
                "<tr class=\"evidence\"><td></td><td colspan=\"3\"><details><summary>evidence: {} HTTP exchanges</summary>",
                evidence.len()
            );
            for e in evidence {
                exchange(&mut out, e);
            }
            out.push_str("</details></td></tr>");
        }
    }
    out.push_str("</table></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn failures_come_first_and_everything_is_escaped() {
        let html = to_html(&sample::report());
        assert!(html.starts_with("<!DOCTYPE html>"));
        let fail = html.find("discovery.no-introspection").unwrap();
        let pass = html.find("<code>discovery.issuer</code>").unwrap();
        assert!(fail < pass, "failures first");
        assert!(html.contains("title of discovery.issuer &lt;&amp;&gt;"));
        assert!(!html.contains("title of discovery.issuer <&>"));
        assert!(html.contains("<details>") && html.contains("GET http://127.0.0.1:1/api/oidc/.well-known/openid-configuration"));
        assert!(!html.contains("<link") && !html.contains("src=\""), "self-contained");
    }
}
