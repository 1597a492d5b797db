//! `oidc-harness conform`: run the suites against the embedded reference server (default) or a
//! deployment, print progress and a summary on stderr, write the reports.

use crate::engine::http::Recorder;
use crate::engine::{Run, Suite};
use crate::expected::Expected;
use crate::profile::Profile;
use crate::redact::Redactor;
use crate::suites::{self, Context};
use crate::target::Target;
use anyhow::{Context as _, bail};
use reports::{Report, Verdict};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(clap::Args)]
pub struct ConformArgs {
    /// Issuer URL of the deployment to test; everything else comes from its discovery document.
    /// Without it, the embedded reference server is started and tested.
    #[arg(long, value_name = "ISSUER_URL")]
    target: Option<String>,
    /// Client registrations, test user and login settings for --target (TOML); secrets are
    /// named by environment variable. Without it, suites that need a client are skipped.
    #[arg(long, value_name = "FILE", requires = "target")]
    target_config: Option<PathBuf>,
    /// What the target claims (TOML); the embedded IDaaS profile when absent.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Where report.json, junit.xml, summary.md and report.html are written.
    #[arg(long, value_name = "DIR", default_value = "oidc-harness-report")]
    report_dir: PathBuf,
    /// Run only this suite (repeatable).
    #[arg(long, value_name = "NAME")]
    suite: Vec<String>,
    /// Run only this check.
    #[arg(long, value_name = "ID")]
    check: Option<String>,
    /// A directory of extra scenario files (`*.toml`, the format of `scenarios/`), run after
    /// the built-in ones.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Checks this target is known to fail, each with a reason (TOML `[[expected]]` entries with
    /// `id` and `reason`): the run passes when only those fail.
    #[arg(long, value_name = "FILE")]
    expected: Option<PathBuf>,
    /// Print the suites and their checks, and exit.
    #[arg(long)]
    list: bool,
}

pub fn run(args: ConformArgs) -> anyhow::Result<ExitCode> {
    let profile = match &args.profile {
        Some(path) => Profile::from_file(path)?,
        None => Profile::idaas(),
    };
    let mut scenario_files = crate::scenario::files();
    if let Some(dir) = &args.scenarios {
        scenario_files.extend(crate::scenario::from_dir(dir).map_err(anyhow::Error::msg)?);
    }
    let selected = select_suites(&args, &profile, &scenario_files)?;
    if args.list {
        for suite in &selected {
            for check in suite.checks.iter() {
                println!("{:<44} {:<12} {:<36} {}", check.id, format!("{:?}", check.severity).to_lowercase(), check.spec, check.title);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let known: Vec<String> =
        suites::all(&profile, &scenario_files).iter().flat_map(|s| s.checks.iter().map(|c| c.id.to_string())).collect();
    let expected = match &args.expected {
        Some(path) => Expected::from_file(path, &known)?,
        None => Expected::default(),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let mut report = runtime.block_on(conform(&args, profile, &selected, &scenario_files))?;
    expected.apply(&mut report);
    write_reports(&report, &args.report_dir)?;
    print_summary(&report, &args.report_dir);
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn select_suites(args: &ConformArgs, profile: &Profile, scenario_files: &[crate::scenario::ScenarioFile]) -> anyhow::Result<Vec<Suite>> {
    let all = suites::all(profile, scenario_files);
    let mut ids = std::collections::HashSet::new();
    for check in all.iter().flat_map(|s| s.checks.iter()) {
        if !ids.insert(check.id.as_ref()) {
            bail!("check id `{}` is defined twice (a scenario file reuses a built-in id?)", check.id);
        }
    }
    for name in &args.suite {
        if !all.iter().any(|s| s.name == name.as_str()) {
            let known: Vec<_> = all.iter().map(|s| s.name.as_ref()).collect();
            bail!("unknown suite `{name}`; the suites are: {}", known.join(", "));
        }
    }
    let mut selected: Vec<Suite> = all.into_iter().filter(|s| args.suite.is_empty() || args.suite.iter().any(|n| *n == s.name)).collect();
    if let Some(id) = &args.check {
        selected.retain(|s| s.checks.iter().any(|c| c.id == id.as_str()));
        if selected.is_empty() {
            bail!("unknown check `{id}`; `oidc-harness conform --list` prints every check id");
        }
    }
    Ok(selected)
}

async fn conform(
    args: &ConformArgs,
    profile: Profile,
    selected: &[Suite],
    scenario_files: &[crate::scenario::ScenarioFile],
) -> anyhow::Result<Report> {
    let started = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let clock = Instant::now();
    let (issuer, embedded, target, secrets) = match &args.target {
        Some(url) => {
            let target = match &args.target_config {
                Some(path) => Target::from_file(path, |var| std::env::var(var).ok())?,
                None => Target::default(),
            };
            let secrets = target.secrets();
            (url.trim_end_matches('/').to_string(), None, target, secrets)
        }
        None => {
            let config = reference_server::Config::default();
            let target = Target::embedded(&config);
            let mut secrets = embedded_secrets(&config);
            let server = reference_server::start(config).await.context("starting the embedded reference server")?;
            secrets.push(server.admin_token().to_string());
            (server.issuer().to_string(), Some(server), target, secrets)
        }
    };
    preflight(&issuer).await?;
    eprintln!("conform: {issuer} ({}), profile {}", if embedded.is_some() { "embedded reference server" } else { "target" }, profile.name);
    let mut ctx =
        Context { issuer: issuer.clone(), profile, target, http: Recorder::new(Redactor::new(secrets)), metadata: None, jwks: None };
    if args.target.is_some() {
        // Discovery is needed to find the login page; its own checks run again below.
        let url = format!("{issuer}/.well-known/openid-configuration");
        ctx.metadata = ctx.http.send(ctx.http.get(&url)).await.ok().and_then(|r| r.json());
        if let Err(why) = suites::flow::probe_login(&ctx).await {
            bail!("login preflight: {why}");
        }
        ctx.metadata = None;
    }
    let total = if args.check.is_some() { 1 } else { selected.iter().map(|s| s.checks.len()).sum() };
    let mut run = Run::new(selected.iter().map(|s| s.name.to_string()).collect(), args.check.clone(), total);
    // Later suites use what earlier ones learned (metadata, keys), so discovery and jwks always
    // run; their verdicts are kept only when selected.
    for suite in suites::all(&ctx.profile, scenario_files) {
        let suite = &suite;
        let before = run.results().len();
        match suite.name.as_ref() {
            "discovery" => suites::discovery::run(&mut ctx, &mut run).await,
            "jwks" => suites::jwks::run(&mut ctx, &mut run).await,
            "authorization-endpoint" if run.wants(suite) => suites::authorization_endpoint::run(&mut ctx, &mut run).await,
            "code-flow" if run.wants(suite) => suites::code_flow::run(&mut ctx, &mut run).await,
            suites::parameters::NAME if run.wants(suite) => suites::parameters::run(&mut ctx, &mut run, suite).await,
            "implicit" if run.wants(suite) => suites::implicit::run(&mut ctx, &mut run).await,
            "userinfo" if run.wants(suite) => suites::userinfo::run(&mut ctx, &mut run).await,
            "lifecycle" if run.wants(suite) => suites::lifecycle::run(&mut ctx, &mut run).await,
            "client-credentials" if run.wants(suite) => suites::client_credentials::run(&mut ctx, &mut run).await,
            name if run.wants(suite) => match scenario_files.iter().find(|f| f.suite == name) {
                Some(file) => crate::scenario::run(&ctx, &mut run, suite, file).await,
                None => continue,
            },
            _ => continue,
        }
        if run.wants(suite) {
            run.clear_progress();
            progress(&suite.name, &run.results()[before..]);
        }
    }
    let profile_name = ctx.profile.name.clone();
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    Ok(Report {
        schema: reports::SCHEMA.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        started,
        duration_ms: clock.elapsed().as_millis() as u64,
        target: reports::Target { issuer, embedded: args.target.is_none() },
        profile: profile_name,
        checks: run.into_results(),
        expected_but_passed: Vec::new(),
    })
}

/// Every secret of the embedded server's configuration: redacted wherever it might appear.
fn embedded_secrets(config: &reference_server::Config) -> Vec<String> {
    let clients = config.clients.iter().filter_map(|c| c.client_secret.clone());
    let users = config.users.iter().flat_map(|u| std::iter::once(u.password.clone()).chain(u.otp.clone()));
    clients.chain(users).collect()
}

/// A target that cannot be reached at all makes every check meaningless: say so in one
/// sentence instead of reporting a hundred failures.
async fn preflight(issuer: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(issuer).with_context(|| format!("--target `{issuer}` is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--target `{issuer}` must be an http or https issuer URL");
    }
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(15)).build()?;
    if let Err(e) = client.get(&discovery).send().await {
        bail!("cannot reach the target's discovery document {discovery}: {e}; check --target");
    }
    Ok(())
}

fn progress(suite: &str, results: &[reports::CheckResult]) {
    let count = |v: Verdict| results.iter().filter(|c| c.verdict == v).count();
    eprintln!(
        "  {suite:<24} {:>3} passed  {:>3} failed  {:>3} warnings  {:>3} skipped",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Warning),
        count(Verdict::Skipped)
    );
}

fn write_reports(report: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the report directory {}", dir.display()))?;
    let write =
        |name: &str, text: String| std::fs::write(dir.join(name), text).with_context(|| format!("writing {}", dir.join(name).display()));
    write("report.json", report.to_json()?)?;
    write("junit.xml", reports::to_junit_xml(report)?)?;
    write("summary.md", reports::to_markdown(report))?;
    write("report.html", reports::to_html(report))?;
    Ok(())
}

fn print_summary(report: &Report, dir: &Path) {
    let t = report.totals();
    for check in report.checks.iter().filter(|c| c.verdict == Verdict::Fail) {
        match &check.expected_failure {
            None => eprintln!("FAIL {} ({}): {}", check.id, check.spec, check.detail),
            Some(reason) => eprintln!("XFAIL {} ({reason}): {}", check.id, check.detail),
        }
    }
    for e in &report.expected_but_passed {
        eprintln!("XPASS {}: listed as expected to fail ({}) but passed; remove it from the list", e.id, e.reason);
    }
    for check in report.checks.iter().filter(|c| c.verdict == Verdict::Warning) {
        eprintln!("WARN {} ({}): {}", check.id, check.spec, check.detail);
    }
    eprintln!(
        "{}: {} checks, {} passed, {} failed, {} expected failures, {} warnings, {} skipped in {} ms; reports in {}",
        if report.passed() { "PASSED" } else { "FAILED" },
        t.checks,
        t.passed,
        t.failed,
        t.expected_failures,
        t.warnings,
        t.skipped,
        report.duration_ms,
        dir.display()
    );
}
