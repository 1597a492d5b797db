//! load.html: one self-contained file (no script, stylesheet, font or image from anywhere else)
//! with the verdict, the totals, and charts drawn as inline SVG from load.json's data:
//! throughput, p50/p90/p99 and errors over time per transaction, and each transaction's latency
//! distribution as an HdrHistogram percentile plot (log scales). Every text from the run is
//! escaped.

use super::report::{COLUMNS, LoadReport};
use super::stats::decode;
use reports::html_escape as esc;
use std::fmt::Write;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
/// Room for the axes' labels.
const LEFT: f64 = 70.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 30.0;
const RIGHT: f64 = 150.0;
const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

#[derive(Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log,
}

struct Axis {
    label: String,
    scale: Scale,
    min: f64,
    max: f64,
    ticks: Vec<(f64, String)>,
}

impl Axis {
    /// Where `v` falls, from 0 (min) to 1 (max).
    fn fraction(&self, v: f64) -> f64 {
        let f = |x: f64| if self.scale == Scale::Log { x.max(f64::MIN_POSITIVE).log10() } else { x };
        let span = f(self.max) - f(self.min);
        if span <= 0.0 { 0.5 } else { ((f(v) - f(self.min)) / span).clamp(0.0, 1.0) }
    }

    fn linear(label: &str, max: f64) -> Axis {
        let max = if max > 0.0 { max } else { 1.0 };
        let step = nice_step(max / 5.0);
        let ticks = (0..).map(|i| i as f64 * step).take_while(|t| *t <= max * 1.0001).map(|t| (t, number(t))).collect();
        Axis { label: label.into(), scale: Scale::Linear, min: 0.0, max, ticks }
    }

    /// Latencies in µs, shown in ms, on decades.
    fn latency(values: impl Iterator<Item = f64>) -> Axis {
        let (lo, hi) = values.filter(|v| *v > 0.0).fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if hi <= 0.0 {
            (1.0, 10.0)
        } else {
            (10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)))
        };
        let ticks =
            (lo.log10() as i32..=hi.log10() as i32).map(|e| 10f64.powi(e)).map(|us| (us, format!("{} ms", number(us / 1000.0)))).collect();
        Axis { label: "latency (log)".into(), scale: Scale::Log, min: lo, max: hi, ticks }
    }
}

fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.max(1e-9).log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}

fn number(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

struct Line {
    name: String,
    points: Vec<(f64, f64)>,
}

/// One chart, as inline SVG with a title and a legend.
fn chart(title: &str, x: &Axis, y: &Axis, lines: &[Line]) -> String {
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let px = |v: f64| LEFT + x.fraction(v) * w;
    let py = |v: f64| TOP + (1.0 - y.fraction(v)) * h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<figure><svg role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"><title>{}</title>"#,
        esc(title)
    );
    let _ = write!(svg, r#"<text x="{LEFT}" y="18" class="t">{}</text>"#, esc(title));
    for (v, label) in &y.ticks {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + w,
            py(*v),
            py(*v),
            LEFT - 6.0,
            py(*v) + 4.0,
            esc(label)
        );
    }
    for (v, label) in &x.ticks {
        let _ = write!(
            svg,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{TOP}" y2="{:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            px(*v),
            px(*v),
            TOP + h,
            px(*v),
            TOP + h + 16.0,
            esc(label)
        );
    }
    let _ = write!(svg, r##"<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="#888"/>"##);
    let _ = write!(svg, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, LEFT + w / 2.0, HEIGHT - 6.0, esc(&x.label));
    let _ =
        write!(svg, r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#, TOP + h / 2.0, esc(&y.label));
    for (i, line) in lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<String> = line.points.iter().map(|(a, b)| format!("{:.1},{:.1}", px(*a), py(*b))).collect();
        if points.len() == 1 {
            let _ = write!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#, px(line.points[0].0), py(line.points[0].1));
        } else {
            let _ = write!(svg, r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#, points.join(" "));
        }
        let ly = TOP + 14.0 + i as f64 * 16.0;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{colour}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            LEFT + w + 10.0,
            ly - 9.0,
            LEFT + w + 24.0,
            ly,
            esc(&line.name)
        );
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// The percentiles of the distribution plot, as HdrHistogram's plots space them.
const QUANTILES: [f64; 11] = [0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99999];

/// x of a quantile in the percentile plot: how many nines, 1 / (1 - q).
fn nines(q: f64) -> f64 {
    1.0 / (1.0 - q).max(1e-6)
}

pub fn render(report: &LoadReport) -> String {
    let mut out = String::new();
    let verdict = if report.passed() { "passed" } else { "failed" };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Load: {} ({verdict})</title><style>{STYLE}</style></head><body>\n",
        esc(&report.scenario)
    );
    let _ = writeln!(
        out,
        "<header><h1>Load: {} <span class=\"{verdict}\">{verdict}</span></h1><p>{}.</p></header>",
        esc(&report.scenario),
        esc(&report.origin_line())
    );

    out.push_str(
        "<section id=\"verdict\"><h2>Verdict</h2><table><tr><th></th><th>rule</th><th>value</th><th>limit</th><th>numbers</th></tr>\n",
    );
    let mut row = |ok: bool, rule: &str, value: &str, limit: &str, basis: &str| {
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if ok { "pass" } else { "fail" },
            if ok { "✓" } else { "✗" },
            esc(rule),
            esc(value),
            esc(limit),
            esc(basis)
        );
    };
    if let Some(why) = &report.stopped {
        row(false, "the load ran to the end", why, "", "");
    }
    let v = &report.validation;
    row(
        v.invalid == 0,
        "sampled tokens are valid",
        &format!("{} of {} invalid", v.invalid, v.sampled),
        "0",
        "signature against the JWKS, claims",
    );
    for v in &report.verdicts {
        row(v.passed, &v.rule, &v.observed, &v.limit, &v.basis);
    }
    out.push_str("</table></section>\n");

    out.push_str("<section id=\"totals\"><h2>Transactions</h2><p>Latency is per transaction from its start; an open-model arrival that waited for a free user is timed from when it was due.</p>\n");
    if let Some(caveat) = report.closed_model_caveat() {
        let _ = writeln!(out, "<p class=\"caveat\">{}</p>", esc(caveat));
    }
    let _ = writeln!(out, "<table><tr>{}</tr>", COLUMNS.iter().map(|c| format!("<th>{c}</th>")).collect::<String>());
    let cells = |cells: [String; 8]| cells.iter().map(|c| format!("<td class=n>{}</td>", esc(c))).collect::<String>();
    for (name, t) in &report.transactions {
        let _ = writeln!(out, "<tr><td>{}</td>{}</tr>", esc(name), cells(t.cells()));
    }
    let _ = writeln!(out, "<tr class=total><td>total</td>{}</tr>", cells(report.total_cells()));
    out.push_str("</table>\n");
    if !report.mix.is_empty() {
        out.push_str("<h3>Mix</h3><table id=\"mix\"><tr><th>transaction</th><th>asked</th><th>got</th></tr>\n");
        for (kind, m) in &report.mix {
            let _ = writeln!(out, "<tr><td>{}</td><td>{:.1}%</td><td>{:.1}%</td></tr>", esc(kind), m.requested_percent, m.measured_percent);
        }
        out.push_str("</table>\n");
    }
    if !report.errors.is_empty() {
        out.push_str("<h3>Errors</h3><ul>");
        for (key, count) in &report.errors {
            let _ = write!(out, "<li>{}: {count}</li>", esc(key));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n<section id=\"charts\"><h2>Over time</h2>\n");
    out.push_str(&charts(report));
    out.push_str("</section>\n</body></html>\n");
    out
}

fn charts(report: &LoadReport) -> String {
    let mut out = String::new();
    let interval = report.series_interval_s.max(1) as f64;
    let last = report.transactions.values().flat_map(|t| t.series.iter().map(|p| p.at_s)).max().unwrap_or(0) as f64 + interval;
    let seconds = Axis::linear("seconds from the start", last);
    // Throughput and errors: every interval, zero where nothing ended.
    let per_interval = |value: &dyn Fn(&super::stats::SeriesPoint) -> u64| -> Vec<Line> {
        report
            .transactions
            .iter()
            .map(|(name, t)| {
                let mut points: Vec<(f64, f64)> = Vec::new();
                let mut at = 0.0;
                for p in &t.series {
                    while at < p.at_s as f64 {
                        points.push((at, 0.0));
                        at += interval;
                    }
                    points.push((p.at_s as f64, value(p) as f64 / interval));
                    at = p.at_s as f64 + interval;
                }
                Line { name: name.clone(), points }
            })
            .collect()
    };
    let throughput = per_interval(&|p| p.count);
    let top = throughput.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    out.push_str(&chart("Throughput (transactions per second)", &seconds, &Axis::linear("per second", top * 1.1), &throughput));
    let errors = per_interval(&|p| p.failed);
    let top = errors.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0, f64::max);
    out.push_str(&chart("Errors (failed transactions per second)", &seconds, &Axis::linear("per second", top.max(1.0) * 1.1), &errors));
    for (name, t) in &report.transactions {
        let lines: Vec<Line> = [("p50", 0usize), ("p90", 1), ("p99", 2)]
            .iter()
            .map(|(label, which)| Line {
                name: (*label).into(),
                points: t.series.iter().map(|p| (p.at_s as f64, [p.p50, p.p90, p.p99][*which] as f64)).collect(),
            })
            .collect();
        let y = Axis::latency(lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)));
        out.push_str(&chart(&format!("{name}: latency percentiles per interval"), &seconds, &y, &lines));
    }
    // The distribution: each transaction's whole histogram, percentile against latency.
    let lines: Vec<Line> = report
        .transactions
        .iter()
        .filter_map(|(name, t)| {
            let h = decode(&t.histogram, super::stats::SIGNIFICANT_DIGITS).ok().filter(|h| !h.is_empty())?;
            let points = QUANTILES
                .iter()
                .filter(|q| **q <= 1.0 - 1.0 / h.len() as f64 || **q == 0.0)
                .map(|q| (nines(*q), h.value_at_quantile(*q) as f64))
                .collect();
            Some(Line { name: name.clone(), points })
        })
        .collect();
    let ticks = [(1.0, "0%"), (2.0, "50%"), (10.0, "90%"), (100.0, "99%"), (1000.0, "99.9%"), (10_000.0, "99.99%"), (100_000.0, "99.999%")];
    let x = Axis {
        label: "percentile (log of 1/(1-q))".into(),
        scale: Scale::Log,
        min: 1.0,
        max: 100_000.0,
        ticks: ticks.iter().map(|(v, l)| (*v, l.to_string())).collect(),
    };
    let y = Axis::latency(lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)));
    out.push_str(&chart("Latency distribution (whole run)", &x, &y, &lines));
    out
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1.5em;max-width:80em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;overflow-wrap:break-word}\
th,td.n{white-space:nowrap}tr.total td{font-weight:600}\
tr.fail td{background:#fde8e8}tr.pass td:first-child{color:#176317}tr.fail td:first-child{color:#b00}\
span.passed{color:#176317}span.failed{color:#b00}.caveat{border-left:4px solid #e0a800;padding-left:.6em}\
svg{max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#333}svg text.t{font-weight:600;font-size:13px}\
figure{margin:1em 0}@media print{figure{break-inside:avoid}}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::report::LoadReport;

    /// A report as a run writes it, with a target's text where a hostile one would put markup.
    fn report() -> LoadReport {
        let stats = crate::load::stats::Stats::new(tokio::time::Instant::now(), std::time::Duration::from_secs(1));
        for us in [800u64, 1200, 5000, 90_000] {
            stats.record("client-credentials", std::time::Duration::from_micros(us), us < 50_000);
        }
        stats.error("400 <img src=http://evil.example/x>".into());
        let (transactions, errors, validation) = stats.summary(1.0);
        serde_json::from_value(serde_json::json!({
            "schema": "oidc-harness/load/1", "tool_version": "0", "scenario": "client-credentials",
            "load_profile": "test", "model": "closed", "issuer": "http://127.0.0.1:1/<b>", "embedded": true,
            "started": 0, "duration_s": 1.0, "transactions": transactions, "errors": errors, "validation": validation,
        }))
        .unwrap()
    }

    #[test]
    fn load_html_parses_draws_every_chart_and_fetches_nothing() {
        let html = render(&report());
        let doc = scraper::Html::parse_document(&html);
        assert!(doc.errors.is_empty(), "{:?}", doc.errors);
        let select = |css: &str| doc.select(&scraper::Selector::parse(css).unwrap()).count();
        // Throughput, errors, one percentile chart per transaction, the distribution.
        assert_eq!(select("svg"), 4);
        assert_eq!(select("svg polyline, svg circle"), 1 + 1 + 3 + 1, "a line per transaction (and per percentile)");
        assert_eq!(select("#verdict tr.fail"), 0);
        assert!(html.contains("Closed model"), "the closed-model caveat is next to the percentiles");
        // Nothing is loaded from anywhere: no script, stylesheet, image, frame or font, and the
        // target's text is shown, not obeyed.
        assert_eq!(select("[src], [href], script, link, img, iframe, object"), 0);
        assert!(!html.contains("url(") && !html.contains("@import"));
        assert!(html.contains("&lt;img src=http://evil.example/x&gt;") && html.contains("127.0.0.1:1/&lt;b&gt;"));
    }

    #[test]
    fn axes_place_values_and_pick_round_ticks() {
        let x = Axis::linear("s", 10.0);
        assert_eq!(x.fraction(5.0), 0.5);
        assert_eq!(x.ticks.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(), ["0", "2", "4", "6", "8", "10"]);
        let y = Axis::latency([150.0, 20_000.0].into_iter());
        assert_eq!((y.min, y.max), (100.0, 100_000.0));
        assert!((y.fraction(1000.0) - 1.0 / 3.0).abs() < 1e-9, "log scale");
        assert_eq!(y.ticks[0].1, "0.1 ms");
    }
}
