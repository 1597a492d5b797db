//! load.json (the machine-readable record, with histograms), load.md (for people), and the
//! baseline gate that compares a run with an earlier load.json.

use super::judge::Verdict;
use super::stats::{TransactionSummary, Validation};
use super::worker::Worker;
use anyhow::Context as _;
use reports::markdown_escape as md;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

pub const SCHEMA: &str = "oidc-harness/load/1";

/// The reports a load run or a merge writes.
pub const FILES: [&str; 3] = ["load.json", "load.md", "load.html"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    pub schema: String,
    pub tool_version: String,
    pub scenario: String,
    pub load_profile: String,
    /// SHA-256 of the load profile as run (after `--run-time`) and the scenario: the workers of
    /// one run share it, and `load merge` refuses reports that do not.
    #[serde(default)]
    pub plan_digest: String,
    /// "closed" or "open".
    pub model: String,
    pub issuer: String,
    pub embedded: bool,
    /// Unix seconds of the load's start.
    pub started: u64,
    /// The load's start in Unix milliseconds: the time series counts from it.
    #[serde(default)]
    pub origin_unix_ms: u64,
    /// The measured window, in seconds: from the load's start to the end of its last
    /// transaction. Throughput is over it.
    pub duration_s: f64,
    /// The time series' interval, in seconds.
    #[serde(default = "one")]
    pub series_interval_s: u64,
    /// Significant digits of the histograms.
    #[serde(default = "three")]
    pub histogram_digits: u8,
    /// Which worker of a distributed run wrote this (absent for a single run and a merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<Worker>,
    /// How many runs' results this holds: 1, or the workers a merge combined.
    #[serde(default = "one_u32")]
    pub workers: u32,
    /// Open model: arrivals the profile scheduled and how many were started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<Arrivals>,
    pub transactions: BTreeMap<String, TransactionSummary>,
    /// Failed transactions by "HTTP status OAuth error" (or "transport", "timeout",
    /// "unstarted", "unfinished").
    pub errors: BTreeMap<String, u64>,
    pub validation: Validation,
    /// Why the load stopped before the end of the run (the target stopped answering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The `mixed` scenario: each kind's share of the transactions, asked and got.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mix: BTreeMap<String, MixShare>,
    /// Every `--threshold` rule, the schedule's and the baseline gate's, judged.
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
}

fn one() -> u64 {
    1
}

fn one_u32() -> u32 {
    1
}

fn three() -> u8 {
    3
}

/// The transactions table's columns, in load.md and load.html.
pub const COLUMNS: [&str; 9] = ["transaction", "count", "failed", "throughput", "p50", "p90", "p99", "p99.9", "max"];

impl TransactionSummary {
    /// A row of the transactions table after the name, with units.
    pub fn cells(&self) -> [String; 8] {
        let ms = |us: u64| format!("{:.3} ms", us as f64 / 1000.0);
        let l = &self.latency_us;
        [
            self.count.to_string(),
            self.failed.to_string(),
            format!("{:.1}/s", self.throughput_per_s),
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p99_9),
            ms(l.max),
        ]
    }
}

/// A kind's share of a mixed run's transactions, in percent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MixShare {
    pub requested_percent: f64,
    pub measured_percent: f64,
}

/// `part` of `whole` in percent, to one decimal (0 of nothing).
pub fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { (part * 1000.0 / whole).round() / 10.0 } else { 0.0 }
}

/// The requested and measured shares of each kind, from its weight and its transactions.
pub fn mix(weights: &BTreeMap<String, usize>, transactions: &BTreeMap<String, TransactionSummary>) -> BTreeMap<String, MixShare> {
    let asked: usize = weights.values().sum();
    let got: u64 = transactions.values().map(|t| t.count).sum();
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
    /// Started, but still under way at the end of the grace period (counted as failed).
    #[serde(default)]
    pub unfinished: u64,
    /// Not yet due when the load stopped early (not timed; not started).
    #[serde(default)]
    pub cancelled: u64,
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
        std::fs::write(dir.join("load.html"), super::html::render(self))
            .with_context(|| format!("writing {}", dir.join("load.html").display()))?;
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

    /// The totals row of the transactions table: count, failed and throughput (no percentile:
    /// those of different transactions do not add).
    pub fn total_cells(&self) -> [String; 8] {
        let (count, failed): (u64, u64) = self.transactions.values().fold((0, 0), |(c, f), t| (c + t.count, f + t.failed));
        let throughput: f64 = self.transactions.values().map(|t| t.throughput_per_s).sum();
        [count.to_string(), failed.to_string(), format!("{throughput:.1}/s"), "".into(), "".into(), "".into(), "".into(), "".into()]
    }

    /// The verdict, in one word.
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed) && self.stopped.is_none() && self.validation.invalid == 0
    }

    /// Where the numbers came from, in one line.
    pub fn origin_line(&self) -> String {
        let target = if self.embedded { "embedded reference server" } else { "target" };
        let runs = match (self.worker, self.workers) {
            (Some(w), _) => format!(", worker {w}"),
            (None, 1) => String::new(),
            (None, n) => format!(", merged from {n} workers"),
        };
        format!(
            "{} ({target}), load profile {} ({} model{runs}), {:.1} s measured",
            self.issuer, self.load_profile, self.model, self.duration_s
        )
    }

    /// What the closed model's percentiles leave out, or `None` for the open model.
    pub fn closed_model_caveat(&self) -> Option<&'static str> {
        (self.model == "closed").then_some(
            "Closed model: each user starts its next transaction only when the last one ended, so while the target stalls \
             fewer transactions are sent and the stall is barely sampled. These percentiles understate the tail latency \
             users would see (by orders of magnitude under stalls); use an open-model profile (steady, spike) to quote it.",
        )
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        let _ = writeln!(out, "# Load: {}: {verdict}\n\n{}.\n", md(&self.scenario), md(&self.origin_line()));
        let _ = writeln!(out, "## Verdict\n");
        if let Some(why) = &self.stopped {
            let _ = writeln!(out, "- ✗ **The load {}** The numbers below cover what ran.", md(why));
        }
        if self.validation.invalid > 0 {
            let _ = writeln!(out, "- ✗ {} of {} sampled tokens failed validation", self.validation.invalid, self.validation.sampled);
        }
        for v in &self.verdicts {
            // The rule is the user's own text, the rest ours.
            let _ = writeln!(out, "- {} ({})", v.line(), v.basis);
        }
        if self.verdicts.is_empty() && self.stopped.is_none() && self.validation.invalid == 0 {
            let _ = writeln!(out, "- ✓ no rule failed (no --threshold or --baseline was given)");
        }
        if let Some(a) = &self.arrivals {
            let _ = writeln!(
                out,
                "\nArrivals: {} scheduled, {} started, {} unfinished, {} cancelled by an early stop.",
                a.scheduled, a.started, a.unfinished, a.cancelled
            );
        }
        let _ = writeln!(
            out,
            "\nLatency is per transaction, in ms, from its start; an open-model arrival that had to wait for a free user is \
                 timed from when it was due, so queueing counts.\n"
        );
        if let Some(caveat) = self.closed_model_caveat() {
            let _ = writeln!(out, "**{caveat}**\n");
        }
        let _ = writeln!(out, "| {} |\n|{}", COLUMNS.join(" | "), "---|".repeat(COLUMNS.len()));
        for (name, t) in &self.transactions {
            let _ = writeln!(out, "| {} | {} |", md(name), t.cells().join(" | "));
        }
        let _ = writeln!(out, "| **total** | {} |", self.total_cells().join(" | "));
        if !self.mix.is_empty() {
            let _ = writeln!(out, "\n## Mix\n\n| transaction | asked | got |\n|---|---|---|");
            for (kind, m) in &self.mix {
                let _ = writeln!(out, "| {} | {:.1}% | {:.1}% |", md(kind), m.requested_percent, m.measured_percent);
            }
            for kind in self.starved() {
                let _ =
                    writeln!(out, "\n**Warning**: {kind} got no transaction: the run was too short for its share of the mix; run longer.");
            }
        }
        let _ = writeln!(out, "\n## Errors\n");
        if self.errors.is_empty() {
            let _ = writeln!(out, "None.");
        }
        for (key, count) in &self.errors {
            let _ = writeln!(out, "- {}: {count}", md(key));
        }
        let v = &self.validation;
        let _ = writeln!(
            out,
            "\n## Token validation\n\n{} issued tokens checked (signature against the JWKS, claims), {} invalid.",
            v.sampled, v.invalid
        );
        for p in &v.problems {
            let _ = writeln!(out, "- {}", md(p));
        }
        out
    }
}
