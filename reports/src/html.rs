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

/// `text` for an address's fragment: everything but unreserved ASCII percent-encoded.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An element id for a check (ids are ASCII with dots and dashes; anything else becomes `_`).
fn anchor(id: &str) -> String {
    let safe: String = id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
    format!("check-{safe}")
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:80em;padding:0 1em;color:#222}\
h1{margin:.2em 0}dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.5em 0 1em}dl.meta dt{color:#555}dl.meta dd{margin:0;overflow-wrap:anywhere}\
table{border-collapse:collapse}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}th{white-space:nowrap}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.fail{color:#b00020;font-weight:bold}.blocked,.not-run,.incomplete{color:#8a4b00;font-weight:bold}.warning{color:#a15c00}\
.xfail{color:#7a4fa0}.not-applicable{color:#666}.pass{color:#1b7a2f}\
.grid{display:flex;flex-wrap:wrap;gap:2px;max-width:40em}.grid a{display:block;width:.9em;height:.9em;border-radius:2px;background:#ccc}\
.grid a.pass{background:#3c9a50}.grid a.fail{background:#c62828}.grid a.warning{background:#e09b2d}.grid a.blocked,.grid a.not-run{background:#8a4b00}\
.grid a.xfail{background:#9575cd}.grid a.not-applicable{background:#ccc}\
.filters{margin:1em 0;display:flex;flex-wrap:wrap;gap:.4em 1em;align-items:center}#shown{color:#555}\
article.check{border-top:1px solid #ddd;padding:.5em 0}article.check:target{background:#fff8d6}\
article.check h3{font-size:1em;margin:0;font-weight:normal;overflow-wrap:anywhere}article.check .verdict{display:inline-block;min-width:7em}\
article.check .spec{color:#555}p.detail{margin:.3em 0 .3em 7em;white-space:pre-wrap;overflow-wrap:anywhere}\
details{margin-left:7em}summary{cursor:pointer;color:#555}\
pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere;margin:.4em 0}\
table.jwt{margin:.3em 0 .8em;font-size:.95em}table.jwt caption{text-align:left;color:#555}table.jwt td{overflow-wrap:anywhere}table.jwt td:first-child{white-space:nowrap;font-family:monospace}\
@media print{.filters,.grid{display:none}details,p.detail{margin-left:0}article.check{break-inside:avoid}article.check[hidden]{display:block}}";

/// Filters by suite, verdict and text, from the controls or from the address's fragment
/// (`report.html#verdict=fail,blocked&suite=jwks&q=issuer`: a link to a filtered view); before
/// printing, every evidence block opens.
/// Filters by suite, verdict and text, from the controls or from the address's fragment
/// (`report.html#verdict=fail,blocked&suite=jwks&q=issuer`: a link to a filtered view). A
/// fragment naming a check (`#check-…`, the overview's cells) clears the filters so the check
/// shows. Before printing, every evidence block opens.
const SCRIPT: &str = "function applyFilters(){var s=document.getElementById('suite').value;\
var q=document.getElementById('q').value.toLowerCase();\
var v=[].slice.call(document.querySelectorAll('input[name=verdict]:checked')).map(function(e){return e.value});\
var n=0;[].forEach.call(document.querySelectorAll('article.check'),function(a){\
var show=(s===''||a.dataset.suite===s)&&v.indexOf(a.dataset.verdict)>=0&&(q===''||a.textContent.toLowerCase().indexOf(q)>=0);\
a.hidden=!show;if(show)n++;});document.getElementById('shown').textContent=n+' shown';}\
function decode(t){try{return decodeURIComponent(t);}catch(e){return t;}}\
function setFilters(suite,verdicts,q){document.getElementById('suite').value=suite;document.getElementById('q').value=q;\
[].forEach.call(document.querySelectorAll('input[name=verdict]'),function(c){c.checked=verdicts===null||verdicts.indexOf(c.value)>=0;});}\
function fromFragment(){var h=location.hash.slice(1);if(h.indexOf('check-')===0){setFilters('',null,'');return;}\
if(h.indexOf('=')<0)return;var suite='',verdicts=null,q='';\
h.split('&').forEach(function(p){var at=p.indexOf('=');if(at<0)return;var k=p.slice(0,at),val=decode(p.slice(at+1));\
if(k==='suite')suite=val;if(k==='q')q=val;if(k==='verdict')verdicts=val.split(',');});setFilters(suite,verdicts,q);}\
document.addEventListener('DOMContentLoaded',function(){fromFragment();applyFilters();});\
window.addEventListener('hashchange',function(){fromFragment();applyFilters();});\
window.addEventListener('beforeprint',function(){[].forEach.call(document.querySelectorAll('details'),function(d){d.open=true;});});";

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
    let _ = write!(out, "<pre>{}</pre>", esc(&text));
    // Decoded tokens as tables, claim by claim: what a verdict on a claim read.
    for jwt in &e.jwts {
        let _ = write!(out, "<table class=\"jwt\"><caption>JWT in the {} (signature removed)</caption>", esc(&jwt.found_in));
        for (part, value) in [("header", &jwt.header), ("payload", &jwt.payload)] {
            let _ = write!(out, "<tr><th colspan=\"2\">{part}</th></tr>");
            match value.as_object() {
                Some(claims) => {
                    for (name, v) in claims {
                        let shown = match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        let _ = write!(out, "<tr><td>{}</td><td>{}</td></tr>", esc(name), esc(&shown));
                    }
                }
                None => {
                    let _ = write!(out, "<tr><td colspan=\"2\">{}</td></tr>", esc(&value.to_string()));
                }
            }
        }
        out.push_str("</table>");
    }
}

pub fn to_html(report: &Report) -> String {
    let t = report.totals();
    let status = report.status();
    let outcome = status.as_str();
    let status_class = match status {
        Status::Passed => "pass",
        Status::Failed => "fail",
        Status::Incomplete => "incomplete",
    };
    let mut out = String::new();
    let what = match &report.certification {
        Some(c) => format!("certify {}", esc(&c.integration)),
        None => "conform".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>oidc-harness {what}: {outcome}</title><style>{STYLE}</style><script>{SCRIPT}</script></head><body>\
         <header><h1>oidc-harness {what}: <span class=\"{status_class}\">{outcome}</span></h1><dl class=\"meta\">"
    );
    let mut meta = |name: &str, value: String| {
        let _ = write!(out, "<dt>{name}</dt><dd>{value}</dd>");
    };
    let embedded = if report.target.embedded { " (embedded reference server)" } else { "" };
    meta("target", format!("<code>{}</code>{embedded}", esc(&report.target.issuer)));
    if !report.target.faults.is_empty() {
        meta("fault", esc(&report.target.faults.join(", ")));
    }
    if !report.target.variants.is_empty() {
        meta("variant", esc(&report.target.variants.join(", ")));
    }
    meta("profile", format!("<code>{}</code>", esc(&report.profile)));
    meta(
        "verdict",
        format!(
            "<span class=\"{status_class}\">{outcome}</span>: {} checks, {} failed, {} blocked, {} not run",
            t.checks, t.failed, t.blocked, t.not_run
        ),
    );
    meta("coverage", esc(report.coverage().to_string().trim_start_matches("coverage ")));
    meta("run", format!("{} ms, oidc-harness {}", report.duration_ms, esc(&report.tool_version)));
    out.push_str("</dl></header>");

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
        out.push_str("<h2>Expected to fail, but passed</h2><p>Remove them from the expected-failures list:</p><ul>");
        for e in &report.expected_but_passed {
            let _ = write!(out, "<li><code>{}</code> ({})</li>", esc(&e.id), esc(&e.reason));
        }
        out.push_str("</ul>");
    }

    // The overview: a row per suite, its counts and a cell per check, each a link to the check.
    out.push_str(
        "<section id=\"overview\"><h2>Suites</h2><table><tr><th>suite</th><th>checks</th><th>passed</th><th>failed</th>\
         <th>blocked</th><th>not run</th><th>warnings</th><th>expected failures</th><th>not applicable</th><th>each check</th></tr>",
    );
    for suite in report.suites() {
        let s = report.suite_totals(suite);
        let _ = write!(
            out,
            "<tr class=\"suite\" data-suite=\"{name}\"><td><a href=\"#suite={link}\">{name}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><div class=\"grid\">",
            s.checks,
            s.passed,
            s.failed,
            s.blocked,
            s.not_run,
            s.warnings,
            s.expected_failures,
            s.not_applicable,
            name = esc(suite),
            link = percent(suite),
        );
        for c in report.checks.iter().filter(|c| c.suite == suite) {
            let _ = write!(
                out,
                "<a class=\"{v}\" href=\"#{}\" title=\"{id}: {v}\" aria-label=\"{id}: {v}\" tabindex=\"-1\"></a>",
                anchor(&c.id),
                id = esc(&c.id),
                v = c.label()
            );
        }
        out.push_str("</div></td></tr>");
    }
    let _ = write!(
        out,
        "<tr><th>all</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td></tr></table></section>",
        t.checks, t.passed, t.failed, t.blocked, t.not_run, t.warnings, t.expected_failures, t.not_applicable
    );

    // Every check, failures first, each with its detail in full and its evidence folded below.
    out.push_str("<section id=\"checks\"><h2>Checks</h2><div class=\"filters\"><label>Suite <select id=\"suite\" onchange=\"applyFilters()\"><option value=\"\">all</option>");
    for suite in report.suites() {
        let _ = write!(out, "<option>{}</option>", esc(suite));
    }
    out.push_str("</select></label>");
    for v in LABELS {
        let _ =
            write!(out, "<label><input type=\"checkbox\" name=\"verdict\" value=\"{v}\" checked onchange=\"applyFilters()\"> {v}</label>");
    }
    let _ = write!(
        out,
        "<label>Search <input type=\"search\" id=\"q\" oninput=\"applyFilters()\"></label><span id=\"shown\" aria-live=\"polite\">{} shown</span></div><div id=\"list\">",
        report.checks.len()
    );
    let mut checks: Vec<&CheckResult> = report.checks.iter().collect();
    checks.sort_by_key(|c| rank(c));
    for c in checks {
        let _ = write!(
            out,
            "<article class=\"check\" id=\"{anchor}\" data-suite=\"{suite}\" data-verdict=\"{v}\"><h3><span class=\"verdict {v}\">{v}</span> \
             <code>{id}</code> {title} <span class=\"spec\">({spec})</span></h3><p class=\"detail\">{detail}</p>",
            anchor = anchor(&c.id),
            suite = esc(&c.suite),
            v = c.label(),
            id = esc(&c.id),
            title = esc(&c.title),
            spec = esc(&c.spec),
            detail = esc(&c.detail_with_expectation()),
        );
        // Shown in full under each check that cites it: a check's evidence reads on its own.
        let evidence: Vec<&Exchange> = report.evidence_of(c).collect();
        if !evidence.is_empty() {
            let _ = write!(out, "<details><summary>evidence: {} HTTP exchanges</summary>", evidence.len());
            for e in evidence {
                exchange(&mut out, e);
            }
            out.push_str("</details>");
        }
        out.push_str("</article>");
    }
    out.push_str("</div></section></body></html>\n");
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

    #[test]
    fn the_overview_has_a_row_and_a_cell_per_check_and_tokens_read_as_tables() {
        let mut report = sample::report();
        report.target.faults = vec!["nonce-dropped".into()];
        report.exchanges[0].jwts.push(crate::DecodedJwt {
            found_in: "response body".into(),
            header: serde_json::json!({"alg": "RS256"}),
            payload: serde_json::json!({"iss": "<x>", "exp": 5}),
        });
        let html = to_html(&report);
        assert_eq!(html.matches("<tr class=\"suite\"").count(), report.suites().len());
        assert_eq!(html.matches("<div class=\"grid\">").count(), report.suites().len());
        assert_eq!(html.matches("<article class=\"check\"").count(), report.checks.len());
        for c in &report.checks {
            assert!(html.contains(&format!("href=\"#{}\"", anchor(&c.id))), "a cell links to {}", c.id);
        }
        assert!(html.contains("<dt>fault</dt><dd>nonce-dropped</dd>"));
        assert!(html.contains("<table class=\"jwt\">") && html.contains("<td>iss</td><td>&lt;x&gt;</td>"));
    }
}
