//! The verdict of a load result (a run's or a merge's): `--threshold` rules and the
//! `--baseline` gate, judged on our histograms, whose times run from each transaction's
//! intended start (an open-model arrival that waited for a free user includes the wait). goose's
//! own thresholds judge its per-request times, which leave that wait out: a run can pass them
//! while its users queued for seconds.
//!
//! The rule syntax is goose's, so a goose user's rules keep working: `<metric><op><value>` with
//! an optional ` for <transaction>`; the metric is `pNN` (p95, p99.9), `avg`, `max`,
//! `error-rate` (failed transactions, percent) or `rps` (transactions per second over the
//! measured window); the op `<`, `<=`, `>` or `>=`; a time takes `us`, `ms` or `s` (bare: ms).

use super::report::LoadReport;
use super::scenarios::Kind;
use super::stats::{Tally, decode};
use serde::{Deserialize, Serialize};

/// What a rule's times are: said next to every latency verdict.
const OUR_TIMES: &str = "transaction times from their intended start (oidc-harness histograms)";

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    text: String,
    metric: Metric,
    op: Op,
    /// µs for a time, percent for error-rate, per second for rps.
    limit: f64,
    transaction: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    Percentile(f64),
    Average,
    Maximum,
    ErrorRate,
    Throughput,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Op {
    fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Less => observed < limit,
            Op::LessOrEqual => observed <= limit,
            Op::Greater => observed > limit,
            Op::GreaterOrEqual => observed >= limit,
        }
    }
}

impl Rule {
    pub fn parse(text: &str) -> Result<Rule, String> {
        let (body, transaction) = match text.split_once(" for ") {
            Some((body, name)) => (body.trim(), Some(name.trim().to_string())),
            None => (text.trim(), None),
        };
        if let Some(name) = &transaction
            && !Kind::ALL.iter().any(|k| k.name() == name)
        {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            return Err(format!("`for {name}`: name a transaction, one of {}", names.join(", ")));
        }
        let at = body.find(['<', '>']).ok_or("it has no operator: use <, <=, > or >=, as in p99<500ms")?;
        let (name, rest) = body.split_at(at);
        let (op, value) = match rest.as_bytes() {
            [b'<', b'=', ..] => (Op::LessOrEqual, &rest[2..]),
            [b'>', b'=', ..] => (Op::GreaterOrEqual, &rest[2..]),
            [b'<', ..] => (Op::Less, &rest[1..]),
            _ => (Op::Greater, &rest[1..]),
        };
        let metric = match name.trim() {
            "avg" => Metric::Average,
            "max" => Metric::Maximum,
            "error-rate" => Metric::ErrorRate,
            "rps" => Metric::Throughput,
            other => match other.strip_prefix('p').and_then(|n| n.parse::<f64>().ok()) {
                Some(p) if p > 0.0 && p < 100.0 => Metric::Percentile(p),
                Some(_) => return Err("a percentile is above 0 and below 100, such as p99 or p99.9".into()),
                None => return Err(format!("`{other}` is not a metric: use pNN (p95, p99.9), avg, max, error-rate or rps")),
            },
        };
        let value = value.trim();
        let number = |v: &str| v.trim().parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0);
        let limit = match metric {
            Metric::ErrorRate => number(value.strip_suffix('%').unwrap_or(value))
                .filter(|p| *p <= 100.0)
                .ok_or("an error rate is a percent from 0 to 100")?,
            Metric::Throughput => number(value).ok_or("a rate is a number of transactions per second")?,
            _ => {
                let (n, scale) = if let Some(n) = value.strip_suffix("us") {
                    (n, 1.0)
                } else if let Some(n) = value.strip_suffix("ms") {
                    (n, 1000.0)
                } else if let Some(n) = value.strip_suffix('s') {
                    (n, 1_000_000.0)
                } else {
                    (value, 1000.0)
                };
                number(n).ok_or("a time is a number with us, ms or s (bare: ms)")? * scale
            }
        };
        if limit == 0.0 && op == Op::Less {
            return Err("no value is below 0: the rule could never pass".into());
        }
        Ok(Rule { text: text.trim().to_string(), metric, op, limit, transaction })
    }

    /// The rule's verdict on `report`.
    fn judge(&self, report: &LoadReport) -> Verdict {
        let fail = |observed: String| Verdict {
            rule: self.text.clone(),
            passed: false,
            observed,
            limit: self.shown(self.limit),
            basis: self.basis().into(),
        };
        let names: Vec<&String> = match &self.transaction {
            Some(name) => report.transactions.keys().filter(|k| *k == name).collect(),
            None => report.transactions.keys().collect(),
        };
        if names.is_empty() {
            return fail("no such transaction ran".into());
        }
        // Throughput as the transactions table gives it: over the measured window.
        let throughput: f64 = names.iter().map(|n| report.transactions[*n].throughput_per_s).sum();
        let mut all: Option<Tally> = None;
        for name in &names {
            let t = &report.transactions[*name];
            let tally = match decode(&t.histogram, super::stats::SIGNIFICANT_DIGITS) {
                Ok(latency_us) => Tally { latency_us, ok: t.ok, failed: t.failed, series: Default::default() },
                Err(e) => return fail(format!("unreadable histogram: {e}")),
            };
            match &mut all {
                None => all = Some(tally),
                Some(sum) => {
                    if let Err(e) = sum.add(&tally, 0) {
                        return fail(e.to_string());
                    }
                }
            }
        }
        let all = all.expect("at least one transaction");
        let count = all.ok + all.failed;
        let observed = match self.metric {
            Metric::Percentile(p) => all.latency_us.value_at_quantile(p / 100.0) as f64,
            Metric::Average => all.latency_us.mean(),
            Metric::Maximum => all.latency_us.max() as f64,
            Metric::ErrorRate => all.failed as f64 * 100.0 / (count.max(1)) as f64,
            Metric::Throughput => throughput,
        };
        Verdict {
            rule: self.text.clone(),
            passed: count > 0 && self.op.holds(observed, self.limit),
            observed: self.shown(observed),
            limit: self.shown(self.limit),
            basis: self.basis().into(),
        }
    }

    fn shown(&self, value: f64) -> String {
        match self.metric {
            Metric::ErrorRate => format!("{value:.2}%"),
            Metric::Throughput => format!("{value:.1}/s"),
            _ => format!("{:.3} ms", value / 1000.0),
        }
    }

    fn basis(&self) -> &'static str {
        match self.metric {
            Metric::ErrorRate => "failed transactions",
            Metric::Throughput => "successful transactions over the measured window",
            _ => OUR_TIMES,
        }
    }
}

/// One judged rule, as load.json, load.md and load.html show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub rule: String,
    pub passed: bool,
    pub observed: String,
    pub limit: String,
    /// What the rule's numbers are.
    pub basis: String,
}

impl Verdict {
    pub fn line(&self) -> String {
        format!("{} {}: {} (limit {})", if self.passed { "✓" } else { "✗" }, self.rule, self.observed, self.limit)
    }
}

/// Limits of the baseline gate, in percent.
pub struct Gate {
    pub max_throughput_drop: f64,
    pub max_p99_rise: f64,
}

/// Everything a result is judged by.
pub struct Judging {
    pub rules: Vec<Rule>,
    pub baseline: Option<LoadReport>,
    pub gate: Gate,
    /// Percent.
    pub max_error_rate: f64,
    pub allow_unstarted: bool,
}

impl Judging {
    pub fn judge(&self, report: &LoadReport) -> Vec<Verdict> {
        let (count, failed) = report.transactions.values().fold((0, 0), |(c, f), t| (c + t.count, f + t.failed));
        // A target that answers every request with an error has not passed a load test.
        let mut verdicts = vec![Verdict {
            rule: format!("failed transactions at most {}% (--max-error-rate)", self.max_error_rate),
            passed: count > 0 && failed as f64 * 100.0 <= self.max_error_rate * count as f64,
            observed: format!("{failed} of {count} ({:.2}%)", failed as f64 * 100.0 / count.max(1) as f64),
            limit: format!("{}%", self.max_error_rate),
            basis: "failed transactions (errors, unstarted and unfinished arrivals)".into(),
        }];
        verdicts.extend(self.rules.iter().map(|r| r.judge(report)));
        if let Some(a) = &report.arrivals {
            let unstarted = a.scheduled.saturating_sub(a.started);
            verdicts.push(Verdict {
                rule: "every scheduled arrival started".into(),
                passed: unstarted == 0 || self.allow_unstarted,
                observed: format!("{} of {} started, {} cancelled by an early stop", a.started, a.scheduled, a.cancelled),
                limit: if self.allow_unstarted { "allowed (--allow-unstarted)".into() } else { "all".into() },
                basis: "the open model's schedule: every user was busy until the end of the grace period".into(),
            });
            verdicts.push(Verdict {
                rule: "every started arrival ended within the grace period".into(),
                passed: a.unfinished == 0,
                observed: format!("{} unfinished", a.unfinished),
                limit: "0".into(),
                basis: "transactions still under way at the end (the target did not answer)".into(),
            });
        }
        if let Some(baseline) = &self.baseline {
            verdicts.extend(compare(baseline, report, &self.gate));
        }
        verdicts
    }
}

/// Compares each transaction of both results: its throughput and its p99. A baseline of
/// another scenario or model, or a transaction on one side only, is a failed comparison, not a
/// silent pass.
fn compare(baseline: &LoadReport, run: &LoadReport, gate: &Gate) -> Vec<Verdict> {
    let change = |then: f64, now: f64| if then > 0.0 { (now - then) / then * 100.0 } else { 0.0 };
    let missing = |rule: String, observed: String| Verdict {
        rule,
        passed: false,
        observed,
        limit: "the same scenario, model and transactions".into(),
        basis: "the baseline's load.json".into(),
    };
    if (&baseline.scenario, &baseline.model) != (&run.scenario, &run.model) {
        let observed =
            format!("the baseline ran {} ({} model); this is {} ({} model)", baseline.scenario, baseline.model, run.scenario, run.model);
        return vec![missing("baseline: comparable".into(), observed)];
    }
    let mut verdicts = Vec::new();
    for name in baseline.transactions.keys().filter(|k| !run.transactions.contains_key(*k)) {
        verdicts.push(missing(format!("baseline: {name} ran"), "in the baseline, not in this run".into()));
    }
    for (name, now) in &run.transactions {
        let Some(then) = baseline.transactions.get(name) else {
            verdicts.push(missing(format!("baseline: {name} compared"), "in this run, not in the baseline".into()));
            continue;
        };
        let throughput = change(then.throughput_per_s, now.throughput_per_s);
        verdicts.push(Verdict {
            rule: format!("baseline: {name} throughput drop at most {}%", gate.max_throughput_drop),
            passed: now.ok > 0 && -throughput <= gate.max_throughput_drop,
            observed: format!("{:.1}/s -> {:.1}/s ({throughput:+.1}%)", then.throughput_per_s, now.throughput_per_s),
            limit: format!("-{}%", gate.max_throughput_drop),
            basis: "successful transactions over the measured window".into(),
        });
        let p99 = change(then.latency_us.p99 as f64, now.latency_us.p99 as f64);
        verdicts.push(Verdict {
            rule: format!("baseline: {name} p99 rise at most {}%", gate.max_p99_rise),
            passed: p99 <= gate.max_p99_rise,
            observed: format!("{} µs -> {} µs ({p99:+.1}%)", then.latency_us.p99, now.latency_us.p99),
            limit: format!("+{}%", gate.max_p99_rise),
            basis: OUR_TIMES.into(),
        });
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_goose_writes_them() {
        let r = Rule::parse("p99.9<=2s for refresh").unwrap();
        assert_eq!((r.metric, r.op, r.limit, r.transaction.as_deref()), (Metric::Percentile(99.9), Op::LessOrEqual, 2e6, Some("refresh")));
        assert_eq!(Rule::parse("p90<100").unwrap().limit, 100_000.0, "a bare time is ms");
        assert_eq!(Rule::parse("avg<250us").unwrap().limit, 250.0);
        assert_eq!(Rule::parse("error-rate<1%").unwrap().metric, Metric::ErrorRate);
        assert_eq!(Rule::parse("rps>=200").unwrap().op, Op::GreaterOrEqual);
        for (bad, says) in [
            ("p95", "no operator"),
            ("p100<1s", "below 100"),
            ("speed<1", "not a metric"),
            ("p95<0", "could never pass"),
            ("error-rate<150%", "0 to 100"),
            ("p95<1s for GET /token", "name a transaction"),
            ("p95<fast", "a time is"),
        ] {
            let e = Rule::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
