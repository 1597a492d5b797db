//! load.json (the machine-readable record, with histograms), load.md (for people), and the
//! baseline gate that compares a run with an earlier load.json.

use super::stats::{TransactionSummary, Validation};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

pub const SCHEMA: &str = "oidc-harness/load/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    pub schema: String,
    pub tool_version: String,
    pub scenario: String,
    pub load_profile: String,
    /// "closed" or "open".
    pub model: String,
    pub issuer: String,
    pub embedded: bool,
    /// Unix seconds.
    pub started: u64,
    pub duration_s: f64,
    /// Open model: arrivals the profile scheduled and how many were started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<Arrivals>,
    pub transactions: BTreeMap<String, TransactionSummary>,
    /// Failed transactions by "HTTP status OAuth error" (or "transport", "timeout", ...).
    pub errors: BTreeMap<String, u64>,
    pub validation: Validation,
    /// goose `--threshold` rules that failed.
    #[serde(default)]
    pub thresholds_failed: usize,
    /// Why the load stopped before the end of the run (the target stopped answering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The `mixed` scenario: each kind's share of the transactions, asked and got.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mix: BTreeMap<String, MixShare>,
}

/// A kind's share of a mixed run's transactions, in percent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MixShare {
    pub requested_percent: f64,
    pub measured_percent: f64,
}

/// The requested and measured shares of each kind, from its weight and its transactions.
pub fn mix(weights: &BTreeMap<String, usize>, transactions: &BTreeMap<String, TransactionSummary>) -> BTreeMap<String, MixShare> {
    let asked: usize = weights.values().sum();
    let got: u64 = transactions.values().map(|t| t.count).sum();
    let percent = |part: f64, whole: f64| if whole > 0.0 { (part * 1000.0 / whole).round() / 10.0 } else { 0.0 };
    weights
        .iter()
        .map(|(kind, weight)| {
            let count = transactions.get(kind).map_or(0, |t| t.count);
            let share =
                MixShare { requested_percent: percent(*weight as f64, asked as f64), measured_percent: percent(count as f64, got as f64) };
            (kind.clone(), share)
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Arrivals {
    pub scheduled: u64,
    pub started: u64,
}

impl LoadReport {
    /// The kinds the mix asked for that got no transaction at all.
    pub fn starved(&self) -> Vec<&str> {
        self.mix.iter().filter(|(_, m)| m.requested_percent > 0.0 && m.measured_percent == 0.0).map(|(k, _)| k.as_str()).collect()
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = serde_json::to_string_pretty(self).context("serialising load.json")?;
        std::fs::write(dir.join("load.json"), json).with_context(|| format!("writing {}", dir.join("load.json").display()))?;
        std::fs::write(dir.join("load.md"), self.markdown()).with_context(|| format!("writing {}", dir.join("load.md").display()))?;
        Ok(())
    }

    pub fn read(path: &Path) -> anyhow::Result<LoadReport> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let report: LoadReport = serde_json::from_str(&text).with_context(|| format!("{} is not a load.json", path.display()))?;
        if report.schema != SCHEMA {
            anyhow::bail!("{} has schema {}, expected {SCHEMA}", path.display(), report.schema);
        }
        Ok(report)
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let target = if self.embedded { "embedded reference server" } else { "target" };
        let _ = writeln!(
            out,
            "# Load: {}\n\n{} ({target}), load profile {} ({} model), {:.1} s.\n",
            self.scenario, self.issuer, self.load_profile, self.model, self.duration_s
        );
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "**The load {why}** The run failed; the numbers below cover what ran.\n");
        }
        if let Some(a) = &self.arrivals {
            let _ = writeln!(out, "Arrivals: {} scheduled, {} started.\n", a.scheduled, a.started);
        }
        let _ = writeln!(
            out,
            "Latency is per transaction, in µs, from its start; an open-model arrival that had to wait for a free user is \
                 timed from when it was due, so queueing counts.\n"
        );
        let _ = writeln!(
            out,
            "| transaction | count | failed | per s | p50 | p90 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|---|---|"
        );
        for (name, t) in &self.transactions {
            let l = &t.latency_us;
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {:.1} | {} | {} | {} | {} | {} |",
                t.count, t.failed, t.throughput_per_s, l.p50, l.p90, l.p99, l.p99_9, l.max
            );
        }
        if !self.mix.is_empty() {
            let _ = writeln!(out, "\n## Mix\n\n| transaction | asked | got |\n|---|---|---|");
            for (kind, m) in &self.mix {
                let _ = writeln!(out, "| {kind} | {:.1}% | {:.1}% |", m.requested_percent, m.measured_percent);
            }
            for kind in self.starved() {
                let _ = writeln!(
                    out,
                    "\n**Warning**: {kind} got no transaction: goose gives each transaction kind whole users, so a run with \
                     fewer users than kinds leaves some out; raise the users."
                );
            }
        }
        let _ = writeln!(out, "\n## Errors\n");
        if self.errors.is_empty() {
            let _ = writeln!(out, "None.");
        }
        for (key, count) in &self.errors {
            let _ = writeln!(out, "- {key}: {count}");
        }
        let v = &self.validation;
        let _ = writeln!(
            out,
            "\n## Token validation\n\n{} issued tokens checked (signature against the JWKS, claims), {} invalid.",
            v.sampled, v.invalid
        );
        for p in &v.problems {
            let _ = writeln!(out, "- {p}");
        }
        out
    }
}

/// Limits of the baseline gate, in percent.
pub struct Gate {
    pub max_throughput_drop: f64,
    pub max_p99_rise: f64,
}

/// Compares each transaction both runs have; returns one line per transaction and whether
/// every one is within the gate.
pub fn compare(baseline: &LoadReport, run: &LoadReport, gate: &Gate) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut ok = true;
    for (name, now) in &run.transactions {
        let Some(then) = baseline.transactions.get(name) else {
            lines.push(format!("{name}: not in the baseline"));
            continue;
        };
        let change = |then: f64, now: f64| if then > 0.0 { (now - then) / then * 100.0 } else { 0.0 };
        let throughput = change(then.throughput_per_s, now.throughput_per_s);
        let p99 = change(then.latency_us.p99 as f64, now.latency_us.p99 as f64);
        let bad_throughput = -throughput > gate.max_throughput_drop;
        let bad_p99 = p99 > gate.max_p99_rise;
        ok &= !(bad_throughput || bad_p99);
        lines.push(format!(
            "{name}: throughput {:.1}/s -> {:.1}/s ({throughput:+.1}%{}), p99 {} -> {} µs ({p99:+.1}%{})",
            then.throughput_per_s,
            now.throughput_per_s,
            if bad_throughput { format!(", drop beyond {}%", gate.max_throughput_drop) } else { String::new() },
            then.latency_us.p99,
            now.latency_us.p99,
            if bad_p99 { format!(", rise beyond {}%", gate.max_p99_rise) } else { String::new() },
        ));
    }
    (lines, ok)
}
