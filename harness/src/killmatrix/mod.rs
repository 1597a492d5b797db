//! `oidc-harness killmatrix`: runs every suite against the embedded server once per fault of
//! the catalog. A fault is caught when at least one required check fails; the table of faults
//! and the checks they make fail goes to docs/KILL-MATRIX.md, with the checks no fault kills,
//! each with the reason from `unkilled.toml`.

use crate::conform::{run_suites, start_embedded};
use crate::profile::Profile;
use anyhow::Context as _;
use reference_server::faults::CATALOG;
use reports::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct KillMatrixArgs {
    /// Where the Markdown table is written.
    #[arg(long, value_name = "FILE", default_value = "docs/KILL-MATRIX.md")]
    output: PathBuf,
}

/// Why each check no fault kills is left so (check id -> sentence).
const UNKILLED: &str = include_str!("unkilled.toml");

fn explanations() -> anyhow::Result<BTreeMap<String, String>> {
    toml::from_str(UNKILLED).context("harness/src/killmatrix/unkilled.toml")
}

struct Row {
    name: &'static str,
    rule: &'static str,
    description: &'static str,
    /// Required checks that failed, then recommended ones that warned.
    failed: Vec<String>,
    warned: Vec<String>,
}

pub fn run(args: KillMatrixArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let scenario_files = crate::scenario::files();
    let profile = Profile::idaas();
    let suites = crate::suites::all(&profile, &scenario_files);
    let all_checks: Vec<String> = suites.iter().flat_map(|s| s.checks.iter().map(|c| c.id.to_string())).collect();
    let explained = explanations()?;
    if let Some(unknown) = explained.keys().find(|id| !all_checks.contains(id)) {
        anyhow::bail!("unkilled.toml explains `{unknown}`, which is not a check");
    }
    let started = std::time::Instant::now();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let rows = runtime.block_on(async {
        // Without a fault everything must pass, or the matrix would blame faults for noise.
        let (server, mut ctx) = start_embedded(reference_server::Config::default(), profile.clone()).await?;
        let baseline = run_suites(&mut ctx, &suites, &scenario_files, None, false).await;
        server.shutdown().await;
        let noisy: Vec<&str> =
            baseline.iter().filter(|c| c.verdict != Verdict::Pass && c.verdict != Verdict::Skipped).map(|c| c.id.as_str()).collect();
        if !noisy.is_empty() {
            anyhow::bail!("the reference server without faults fails {}: fix that before reading a kill matrix", noisy.join(", "));
        }
        let mut rows = Vec::new();
        for (n, entry) in CATALOG.iter().enumerate() {
            if terminal {
                eprint!("\r\x1b[Kkillmatrix: {}/{} {}", n + 1, CATALOG.len(), entry.name);
            }
            let config = reference_server::Config { faults: vec![entry.fault], ..Default::default() };
            let (server, mut ctx) = start_embedded(config, profile.clone()).await?;
            let results = run_suites(&mut ctx, &suites, &scenario_files, None, false).await;
            server.shutdown().await;
            let ids = |v: Verdict| results.iter().filter(|c| c.verdict == v).map(|c| c.id.clone()).collect::<Vec<_>>();
            let row = Row {
                name: entry.name,
                rule: entry.rule,
                description: entry.description,
                failed: ids(Verdict::Fail),
                warned: ids(Verdict::Warning),
            };
            if !terminal {
                let verdict = if row.failed.is_empty() { "NOT CAUGHT".to_string() } else { format!("caught by {}", row.failed.join(", ")) };
                eprintln!("killmatrix: {}/{} {}: {verdict}", n + 1, CATALOG.len(), entry.name);
            }
            rows.push(row);
        }
        if terminal {
            eprintln!();
        }
        Ok(rows)
    })?;
    let killed: BTreeSet<&String> = rows.iter().flat_map(|r| r.failed.iter().chain(&r.warned)).collect();
    let unkilled: Vec<&String> = all_checks.iter().filter(|c| !killed.contains(c)).collect();
    let uncaught: Vec<&str> = rows.iter().filter(|r| r.failed.is_empty()).map(|r| r.name).collect();
    let unexplained: Vec<&str> = unkilled.iter().filter(|c| !explained.contains_key(c.as_str())).map(|c| c.as_str()).collect();
    let stale: Vec<&str> = explained.keys().filter(|c| killed.contains(c)).map(String::as_str).collect();
    let markdown = table(&rows, &unkilled, &explained, all_checks.len());
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&args.output, markdown).with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "killmatrix: {} faults, {} caught, {} uncaught{}; {} of {} checks killed by some fault; {:.0} s; table in {}",
        rows.len(),
        rows.len() - uncaught.len(),
        uncaught.len(),
        if uncaught.is_empty() { String::new() } else { format!(" ({})", uncaught.join(", ")) },
        all_checks.len() - unkilled.len(),
        all_checks.len(),
        started.elapsed().as_secs_f64(),
        args.output.display()
    );
    if !unexplained.is_empty() {
        eprintln!("killmatrix: no fault kills {} and unkilled.toml does not say why", unexplained.join(", "));
    }
    if !stale.is_empty() {
        eprintln!("killmatrix: {} killed by a fault now; drop the explanation from unkilled.toml", stale.join(", "));
    }
    let complete = uncaught.is_empty() && unexplained.is_empty() && stale.is_empty();
    Ok(if complete { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn table(rows: &[Row], unkilled: &[&String], explained: &BTreeMap<String, String>, total: usize) -> String {
    let caught = rows.iter().filter(|r| !r.failed.is_empty()).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Kill matrix\n\nGenerated by `oidc-harness killmatrix`: every suite of the IDaaS profile runs against the embedded \
         reference server once per named fault (`oidc-harness serve --list-faults`). A fault is caught when at least one \
         required check fails. {caught} of {} faults are caught.\n",
        rows.len()
    );
    let _ = writeln!(out, "| fault | what it does | rule it breaks | caught | checks that fail (warn) |\n|---|---|---|---|---|");
    for r in rows {
        let mut checks: Vec<String> = r.failed.iter().map(|c| format!("`{c}`")).collect();
        checks.extend(r.warned.iter().map(|c| format!("(`{c}`)")));
        let caught = if r.failed.is_empty() { "**no**" } else { "yes" };
        let _ = writeln!(out, "| `{}` | {} | {} | {caught} | {} |", r.name, r.description, r.rule, checks.join(", "));
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
        let suites = crate::suites::all(&profile, &crate::scenario::files());
        let ids: Vec<String> = suites.iter().flat_map(|s| s.checks.iter().map(|c| c.id.to_string())).collect();
        let explained = super::explanations().expect("unkilled.toml parses");
        for (id, why) in &explained {
            assert!(ids.contains(id), "{id} is not a check");
            assert!(why.len() > 20, "{id}: say why");
        }
    }
}
