//! `oidc-harness load merge`: the load.json files of a distributed run's workers (`--worker K/N`,
//! one `--start-at`) into the result of one run of the whole load. Exact: histograms are added
//! (not percentiles averaged), counts and errors summed, the time series added interval by
//! interval, throughput taken over the common window. Reports that are not one run's workers
//! (another plan, issuer, start, histogram setting; a worker missing or twice) are refused.

use super::report::{LoadReport, MixShare};
use super::stats::Tally;
use super::{GateArgs, help};
use anyhow::{Context as _, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MergeArgs {
    /// The workers' results: report directories (their load.json), load.json files, or logs with
    /// one load.json per line (`kubectl logs`, from `load --json-line`).
    #[arg(required = true, value_name = "PATH")]
    inputs: Vec<PathBuf>,
    /// Where the merged load.json, load.md and load.html are written.
    #[arg(long, value_name = "DIR", default_value = "oidc-harness-load", help_heading = help::OURS)]
    report_dir: PathBuf,
    /// Pass/fail rule on the merged histograms, as for `load --threshold` (repeatable).
    #[arg(long, value_name = "RULE", help_heading = help::OURS)]
    threshold: Vec<String>,
    #[command(flatten)]
    gate: GateArgs,
    /// Also print the merged load.json as one line on stdout.
    #[arg(long, help_heading = help::OURS)]
    json_line: bool,
}

/// The largest input read: a log of many workers' results is still far below it.
const MAX_INPUT_BYTES: u64 = 1 << 30;

pub fn run(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let judging = args.gate.judging(&args.threshold)?;
    let mut reports = Vec::new();
    let mut bytes = 0;
    for input in &args.inputs {
        let (found, size) = read(input)?;
        bytes += size;
        if bytes > MAX_INPUT_BYTES {
            bail!("the inputs are larger than 1 GiB together: merge the workers of one run");
        }
        reports.extend(found);
    }
    let mut merged = merge(reports)?;
    // After the inputs are read: a worker's own folder may be where the merge is written.
    crate::report_dir::prepare(&args.report_dir, &super::report::FILES)?;
    eprintln!("load merge: {} workers, {} transactions", merged.workers, merged.transactions.values().map(|t| t.count).sum::<u64>());
    super::conclude(&mut merged, &judging, &args.report_dir, args.json_line)
}

/// The reports in `path`, each named by where it came from, and the file's size.
fn read(path: &Path) -> anyhow::Result<(Vec<(String, LoadReport)>, u64)> {
    let file = if path.is_dir() { path.join("load.json") } else { path.to_path_buf() };
    let size = std::fs::metadata(&file).with_context(|| format!("reading {}", file.display()))?.len();
    if size > MAX_INPUT_BYTES {
        bail!("{} is larger than 1 GiB: give the workers' load.json files", file.display());
    }
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let name = file.display().to_string();
    if let Ok(report) = serde_json::from_str::<LoadReport>(&text) {
        let report = checked(report, &name)?;
        return Ok((vec![(name, report)], size));
    }
    // A log: every line that is a load.json of ours; other lines (progress, goose) are skipped.
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if !(line.starts_with('{') && line.contains("\"schema\":\"oidc-harness/load/")) {
            continue;
        }
        let at = format!("{name}:{}", n + 1);
        let report = serde_json::from_str::<LoadReport>(line).with_context(|| format!("{at}: a load.json line that does not parse"))?;
        found.push((at.clone(), checked(report, &at)?));
    }
    if found.is_empty() {
        bail!("{name} holds no load.json (a report directory, a load.json, or a log of `load --json-line`)");
    }
    Ok((found, size))
}

fn checked(report: LoadReport, name: &str) -> anyhow::Result<LoadReport> {
    if report.schema != super::report::SCHEMA {
        bail!("{name} has schema {}, expected {}", report.schema, super::report::SCHEMA);
    }
    if let Some(w) = report.worker.filter(|w| w.count == 0 || w.index >= w.count) {
        bail!("{name} names worker {}/{}, which no run has", w.index, w.count);
    }
    Ok(report)
}

/// One thing the workers of a run share, as a refusal names it.
type Shared = (&'static str, fn(&LoadReport) -> String);

/// What the workers of one run share.
const SAME: [Shared; 5] = [
    ("worker count", |r| r.worker.map_or(1, |w| w.count).to_string()),
    ("load profile and scenario", |r| format!("{} ({}, plan {})", r.load_profile, r.scenario, r.plan_digest)),
    ("issuer", |r| r.issuer.clone()),
    ("start (--start-at, Unix ms)", |r| r.origin_unix_ms.to_string()),
    ("histogram setting", |r| format!("{} digits, {} s intervals", r.histogram_digits, r.series_interval_s)),
];

/// One result from every worker's.
pub fn merge(reports: Vec<(String, LoadReport)>) -> anyhow::Result<LoadReport> {
    let Some((first_name, first)) = reports.first().cloned() else { bail!("no worker results to merge") };
    let Some(first_worker) = first.worker else {
        bail!("{first_name} is not a worker's result (it ran without --worker): only the workers of one run merge")
    };
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for (name, r) in &reports {
        let Some(w) = r.worker else { bail!("{name} is not a worker's result (it ran without --worker)") };
        for (what, of) in SAME {
            let (mine, theirs) = (of(r), of(&first));
            if mine != theirs {
                bail!("{name} is not a worker of the same run as {first_name}: its {what} is {mine}, not {theirs}");
            }
        }
        if let Some(other) = seen.insert(w.index, name) {
            bail!("worker {w} is there twice: {other} and {name}");
        }
    }
    if let Some(missing) = (0..first_worker.count).find(|k| !seen.contains_key(k)) {
        bail!("worker {missing}/{}'s result is missing: merge every worker of the run", first_worker.count);
    }

    let interval = first.series_interval_s;
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut merged = first.clone();
    merged.errors.clear();
    merged.validation = Default::default();
    merged.stopped = None;
    merged.arrivals = None;
    merged.duration_s = 0.0;
    for (name, r) in &reports {
        for (kind, t) in &r.transactions {
            let tally = Tally::from_summary(t, interval).with_context(|| format!("{name}: {kind}"))?;
            match tallies.get_mut(kind) {
                Some(sum) => sum.add(&tally, 0).with_context(|| format!("{name}: {kind}"))?,
                None => {
                    tallies.insert(kind.clone(), tally);
                }
            }
        }
        for (key, count) in &r.errors {
            *merged.errors.entry(key.clone()).or_default() += count;
        }
        let v = &mut merged.validation;
        v.sampled += r.validation.sampled;
        v.invalid += r.validation.invalid;
        v.problems.extend(r.validation.problems.iter().take(10usize.saturating_sub(v.problems.len())).cloned());
        if let (Some(w), Some(why)) = (r.worker, &r.stopped) {
            merged.stopped.get_or_insert_with(|| format!("(worker {w}) {why}"));
        }
        if let Some(a) = &r.arrivals {
            let m = merged.arrivals.get_or_insert(super::report::Arrivals { scheduled: 0, started: 0, unfinished: 0, cancelled: 0 });
            m.scheduled += a.scheduled;
            m.started += a.started;
            m.unfinished += a.unfinished;
            m.cancelled += a.cancelled;
        }
        // The workers share the start: the common window ends with the last worker's.
        merged.duration_s = merged.duration_s.max(r.duration_s);
        merged.embedded &= r.embedded;
    }
    merged.transactions = tallies.iter().map(|(k, t)| (k.clone(), t.summary(merged.duration_s, interval))).collect();
    let total: u64 = merged.transactions.values().map(|t| t.count).sum();
    for (kind, share) in merged.mix.iter_mut() {
        let count = merged.transactions.get(kind).map_or(0, |t| t.count);
        *share =
            MixShare { requested_percent: share.requested_percent, measured_percent: super::report::percent(count as f64, total as f64) };
    }
    merged.worker = None;
    merged.workers = first_worker.count;
    merged.verdicts.clear();
    Ok(merged)
}
