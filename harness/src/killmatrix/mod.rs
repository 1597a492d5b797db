//! `oidc-harness killmatrix`: both halves of the proof that verdicts mean something. Every
//! suite runs against the embedded server once per **fault** of the catalog (a rule broken on
//! purpose: at least one required check must fail) and once per **variant** (a choice the specs
//! allow: no required check may fail, nothing may be blocked or not run, and warnings only where
//! the catalog says the variant departs from a SHOULD). The tables go to docs/KILL-MATRIX.md,
//! with the checks no fault kills, each with the reason from `unkilled.toml`.

use crate::conform::{run_suites, start_embedded};
use crate::engine::Suite;
use crate::profile::Profile;
use anyhow::Context as _;
use reference_server::Config;
use reports::{CheckResult, Severity, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct KillMatrixArgs {
    /// Where the Markdown tables are written (the project's own copy: `--output
    /// docs/KILL-MATRIX.md`).
    #[arg(long, value_name = "FILE", default_value = "oidc-harness-killmatrix/KILL-MATRIX.md")]
    output: PathBuf,
    /// How many servers run at once (each run mostly waits on its own HTTP round trips).
    #[arg(long, value_name = "N", default_value_t = 3)]
    jobs: usize,
}

/// Why each check no fault kills is left so (check id -> sentence).
const UNKILLED: &str = include_str!("unkilled.toml");

fn explanations() -> anyhow::Result<BTreeMap<String, String>> {
    toml::from_str(UNKILLED).context("harness/src/killmatrix/unkilled.toml")
}

/// One run of the matrix: a fault or a variant, and what its checks said.
struct Row {
    name: &'static str,
    rule: &'static str,
    description: &'static str,
    /// Variants only: a SHOULD-level choice, for which warnings are allowed.
    should_level: bool,
    failed: Vec<String>,
    warned: Vec<String>,
    /// Blocked or not run: for a variant, a check the alternative keeps from being judged.
    unjudged: Vec<String>,
    /// Checks a suite never reached (a harness defect whatever the server does).
    unreached: Vec<String>,
}

impl Row {
    fn new(name: &'static str, rule: &'static str, description: &'static str, should_level: bool, results: &[CheckResult]) -> Row {
        let ids = |keep: &dyn Fn(&CheckResult) -> bool| results.iter().filter(|c| keep(c)).map(|c| c.id.clone()).collect::<Vec<_>>();
        Row {
            name,
            rule,
            description,
            should_level,
            failed: ids(&|c| c.verdict == Verdict::Fail),
            warned: ids(&|c| c.verdict == Verdict::Warning),
            unjudged: ids(&|c| matches!(c.verdict, Verdict::Blocked | Verdict::NotRun) && c.severity == Severity::Required),
            unreached: ids(&|c| c.blocked_by.as_deref() == Some(crate::engine::NOT_REACHED)),
        }
    }

    /// A variant passes when nothing failed, nothing required went unjudged, and it warns only
    /// if it is a SHOULD-level choice.
    fn variant_clean(&self) -> bool {
        self.failed.is_empty() && self.unjudged.is_empty() && self.unreached.is_empty() && (self.should_level || self.warned.is_empty())
    }
}

/// What one run needs: the server's configuration and the profile it is judged against.
struct Job {
    config: Config,
    profile: Profile,
}

pub fn run(args: KillMatrixArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let scenario_files = crate::scenario::files();
    let base = Profile::idaas();
    let suites = crate::conform::selectable(&base, &scenario_files);
    let all_checks: Vec<String> = suites.iter().flat_map(|s| s.checks.iter().map(|c| c.id.to_string())).collect();
    let explained = explanations()?;
    if let Some(unknown) = explained.keys().find(|id| !all_checks.contains(id)) {
        anyhow::bail!("unkilled.toml explains `{unknown}`, which is not a check");
    }
    let started = std::time::Instant::now();
    let faults = reference_server::faults::CATALOG;
    let variants = reference_server::variants::CATALOG;
    let (fault_rows, variant_rows) = runtime.block_on(async {
        // Without a fault everything must pass, or the matrix would blame faults for noise.
        let baseline = run_one(Job { config: Config::default(), profile: base.clone() }).await?;
        let noisy: Vec<&str> =
            baseline.iter().filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::NotApplicable)).map(|c| c.id.as_str()).collect();
        if !noisy.is_empty() {
            anyhow::bail!("the reference server without faults does not pass {}: fix that before reading a kill matrix", noisy.join(", "));
        }
        let mut jobs: Vec<Job> =
            faults.iter().map(|e| Job { config: Config { faults: vec![e.fault], ..Default::default() }, profile: base.clone() }).collect();
        jobs.extend(variants.iter().map(|e| Job {
            config: Config { variants: vec![e.variant], ..Default::default() },
            profile: crate::profile::for_variant(e.variant, &base),
        }));
        let labels: Vec<&str> = faults.iter().map(|e| e.name).chain(variants.iter().map(|e| e.name)).collect();
        let results = run_all(jobs, args.jobs.max(1), &labels).await?;
        let (fault_results, variant_results) = results.split_at(faults.len());
        let fault_rows: Vec<Row> =
            faults.iter().zip(fault_results).map(|(e, r)| Row::new(e.name, e.rule, e.description, false, r)).collect();
        let variant_rows: Vec<Row> =
            variants.iter().zip(variant_results).map(|(e, r)| Row::new(e.name, e.rule, e.description, e.should_level, r)).collect();
        Ok((fault_rows, variant_rows))
    })?;
    let killed: BTreeSet<&String> = fault_rows.iter().flat_map(|r| r.failed.iter().chain(&r.warned)).collect();
    let unkilled: Vec<&String> = all_checks.iter().filter(|c| !killed.contains(c)).collect();
    let uncaught: Vec<&str> = fault_rows.iter().filter(|r| r.failed.is_empty()).map(|r| r.name).collect();
    let unclean: Vec<&str> = variant_rows.iter().filter(|r| !r.variant_clean()).map(|r| r.name).collect();
    let unreached: Vec<&str> = fault_rows.iter().chain(&variant_rows).filter(|r| !r.unreached.is_empty()).map(|r| r.name).collect();
    let unexplained: Vec<&str> = unkilled.iter().filter(|c| !explained.contains_key(c.as_str())).map(|c| c.as_str()).collect();
    let stale: Vec<&str> = explained.keys().filter(|c| killed.contains(c)).map(String::as_str).collect();
    let markdown = table(&fault_rows, &variant_rows, &unkilled, &explained, all_checks.len());
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&args.output, markdown).with_context(|| format!("writing {}", args.output.display()))?;
    let named = |names: &[&str]| if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) };
    eprintln!(
        "killmatrix: {} faults, {} caught, {} uncaught{}; {} variants, {} clean, {} not{}; {} of {} checks killed by some fault; {:.0} s; tables in {}",
        fault_rows.len(),
        fault_rows.len() - uncaught.len(),
        uncaught.len(),
        named(&uncaught),
        variant_rows.len(),
        variant_rows.len() - unclean.len(),
        unclean.len(),
        named(&unclean),
        all_checks.len() - unkilled.len(),
        all_checks.len(),
        started.elapsed().as_secs_f64(),
        args.output.display()
    );
    for row in variant_rows.iter().filter(|r| !r.variant_clean()) {
        let warned = if row.should_level { Vec::new() } else { row.warned.clone() };
        eprintln!(
            "killmatrix: variant {} (allowed by {}) fails {}; blocked or not run {}; warns {}",
            row.name,
            row.rule,
            list(&row.failed),
            list(&row.unjudged),
            list(&warned)
        );
    }
    if !unreached.is_empty() {
        eprintln!("killmatrix: suites ended before judging every check under {}: a harness defect", unreached.join(", "));
    }
    if !unexplained.is_empty() {
        eprintln!("killmatrix: no fault kills {} and unkilled.toml does not say why", unexplained.join(", "));
    }
    if !stale.is_empty() {
        eprintln!("killmatrix: {} killed by a fault now; drop the explanation from unkilled.toml", stale.join(", "));
    }
    let complete = uncaught.is_empty() && unclean.is_empty() && unreached.is_empty() && unexplained.is_empty() && stale.is_empty();
    Ok(if complete { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() { "nothing".to_string() } else { ids.join(", ") }
}

/// Starts a server for `job`, runs every suite against it, stops it.
async fn run_one(job: Job) -> anyhow::Result<Vec<CheckResult>> {
    let scenario_files = crate::scenario::files();
    let suites = crate::conform::selectable(&job.profile, &scenario_files);
    // The runs never compare tokens across servers, and generating the RSA keys afresh would
    // cost ~0.4 s a run.
    let config = Config { shared_process_keys: true, ..job.config };
    // The suites of relying parties that read the provider over https only get a server on https
    // of their own; the rest keep plain HTTP, as `conform` runs them.
    let (https, http): (Vec<Suite>, Vec<Suite>) = suites.into_iter().partition(crate::integration::needs_https);
    let mut results = Vec::new();
    for (suites, tls) in [(http, None), (https, Some(reference_server::config::Tls::default()))] {
        if suites.is_empty() {
            continue;
        }
        let (server, mut ctx) = start_embedded(Config { tls, ..config.clone() }, job.profile.clone()).await?;
        results.extend(run_suites(&mut ctx, &suites, &scenario_files, None, false).await);
        server.shutdown().await;
    }
    Ok(results)
}

/// Runs the jobs, `parallel` at a time, and returns their results in job order.
async fn run_all(jobs: Vec<Job>, parallel: usize, labels: &[&str]) -> anyhow::Result<Vec<Vec<CheckResult>>> {
    let total = jobs.len();
    let permits = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut set = tokio::task::JoinSet::new();
    for (n, job) in jobs.into_iter().enumerate() {
        let permits = permits.clone();
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (n, run_one(job).await)
        });
    }
    let mut results: Vec<Option<Vec<CheckResult>>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        let (n, result) = joined.context("a kill-matrix run panicked")?;
        let result = result.with_context(|| format!("running {}", labels[n]))?;
        done += 1;
        let failed: Vec<&str> = result.iter().filter(|c| c.verdict == Verdict::Fail).map(|c| c.id.as_str()).collect();
        let verdict = if failed.is_empty() { "no required check failed".to_string() } else { format!("fails {}", failed.join(", ")) };
        eprintln!("killmatrix: {done}/{total} {}: {verdict}", labels[n]);
        results[n] = Some(result);
    }
    Ok(results.into_iter().map(Option::unwrap_or_default).collect())
}

fn table(faults: &[Row], variants: &[Row], unkilled: &[&String], explained: &BTreeMap<String, String>, total: usize) -> String {
    let caught = faults.iter().filter(|r| !r.failed.is_empty()).count();
    let clean = variants.iter().filter(|r| r.variant_clean()).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Kill matrix\n\nGenerated by `oidc-harness killmatrix`: every suite of the IDaaS profile runs against the embedded \
         reference server once per named **fault** (`oidc-harness serve --list-faults`: a rule broken on purpose) and once \
         per named **variant** (`oidc-harness serve --list-variants`: a choice the specs allow). A fault is caught when at \
         least one required check fails; a variant is clean when no required check fails, none is blocked or not run, and \
         it warns only if the catalog marks it a SHOULD-level choice. {caught} of {} faults are caught; {clean} of {} \
         variants are clean.\n",
        faults.len(),
        variants.len()
    );
    let _ = writeln!(out, "## Faults: every one must be caught\n");
    let _ = writeln!(out, "| fault | what it does | rule it breaks | caught | checks that fail (warn) |\n|---|---|---|---|---|");
    for r in faults {
        let mut checks: Vec<String> = r.failed.iter().map(|c| format!("`{c}`")).collect();
        checks.extend(r.warned.iter().map(|c| format!("(`{c}`)")));
        let caught = if r.failed.is_empty() { "**no**" } else { "yes" };
        let _ = writeln!(out, "| `{}` | {} | {} | {caught} | {} |", r.name, r.description, r.rule, checks.join(", "));
    }
    let _ = writeln!(out, "\n## Variants: every one must pass\n");
    let _ =
        writeln!(out, "| variant | what the server does | rule that allows it | clean | failed, unjudged (warn) |\n|---|---|---|---|---|");
    for r in variants {
        let mut checks: Vec<String> = r.failed.iter().chain(&r.unjudged).map(|c| format!("`{c}`")).collect();
        checks.extend(r.warned.iter().map(|c| format!("(`{c}`)")));
        let clean = match (r.variant_clean(), r.should_level) {
            (false, _) => "**no**",
            (true, true) => "yes (SHOULD-level)",
            (true, false) => "yes",
        };
        let _ = writeln!(out, "| `{}` | {} | {} | {clean} | {} |", r.name, r.description, r.rule, checks.join(", "));
    }
    let _ = writeln!(
        out,
        "\n## Checks no fault kills ({} of {total}), and why\n\nFrom `harness/src/killmatrix/unkilled.toml`; \"canned case\" means a \
         wiremock target in `harness/tests/conform.rs` that fails exactly that check.\n",
        unkilled.len()
    );
    for check in unkilled {
        let why = explained.get(check.as_str()).map_or("**not explained**", String::as_str);
        let _ = writeln!(out, "- `{check}`: {why}");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_explanation_names_a_check_and_says_something() {
        let profile = crate::profile::Profile::idaas();
        let suites = crate::conform::selectable(&profile, &crate::scenario::files());
        let ids: Vec<String> = suites.iter().flat_map(|s| s.checks.iter().map(|c| c.id.to_string())).collect();
        let explained = super::explanations().expect("unkilled.toml parses");
        for (id, why) in &explained {
            assert!(ids.contains(id), "{id} is not a check");
            assert!(why.len() > 20, "{id}: say why");
        }
    }
}
