//! `oidc-harness conform`: run the suites against the embedded reference server (default) or a
//! deployment, print progress and a summary on stderr, write the reports.

use crate::engine::http::ClientSettings;
use crate::engine::{Run, Suite};
use crate::expected::Expected;
use crate::limits;
use crate::profile::Profile;
use crate::suites::{self, Context};
use crate::target::Target;
use anyhow::{Context as _, bail};
use reports::{Report, Status, Verdict};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(clap::Args)]
pub struct ConformArgs {
    /// Issuer URL of the deployment to test; everything else comes from its discovery document.
    /// Without it, the embedded reference server is started and tested.
    #[arg(long, value_name = "ISSUER_URL")]
    pub(crate) target: Option<String>,
    /// Client registrations, test user and login settings for --target (TOML); secrets are
    /// named by environment variable. Without it, suites that need a client are skipped.
    #[arg(long, value_name = "FILE", requires = "target")]
    pub(crate) target_config: Option<PathBuf>,
    /// What the target claims (TOML); the embedded IDaaS profile when absent.
    #[arg(long, value_name = "FILE")]
    pub(crate) profile: Option<PathBuf>,
    /// Where report.json, junit.xml, summary.md and report.html are written.
    #[arg(long, value_name = "DIR", default_value = "oidc-harness-report")]
    pub(crate) report_dir: PathBuf,
    /// Run only these suites (repeatable, or comma-separated: `--suite discovery,jwks`).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub(crate) suite: Vec<String>,
    /// Run only the checks these ids or patterns match (repeatable; `*` matches any run of
    /// characters, `?` one: `--check 'id-token.*'`).
    #[arg(long, value_name = "ID|PATTERN")]
    pub(crate) check: Vec<String>,
    /// A directory of extra scenario files (`*.toml`, the format of `scenarios/`), run after
    /// the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub(crate) scenarios: Option<PathBuf>,
    /// Checks this target is known to fail, each with a reason (TOML `[[expected]]` entries with
    /// `id` and `reason`): the run passes when only those fail.
    #[arg(long, value_name = "FILE")]
    pub(crate) expected: Option<PathBuf>,
    /// Run the embedded reference server with this named fault (repeatable; see
    /// `oidc-harness serve --list-faults`), to see which checks catch it.
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub(crate) fault: Vec<String>,
    /// Run the embedded reference server with this named allowed variant (repeatable; see
    /// `oidc-harness serve --list-variants`), to see that every check passes it.
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub(crate) variant: Vec<String>,
    /// Print the suites and their checks, and exit.
    #[arg(long)]
    pub(crate) list: bool,
    /// Exit 0 when no required check failed even if some were blocked or not run (the run is
    /// still reported as INCOMPLETE). Without it an incomplete run exits 3.
    #[arg(long)]
    pub(crate) allow_incomplete: bool,
    /// A deadline for the whole run (`90s`, `10m`, `1h30m`): when it passes, the run stops, the
    /// checks not yet judged are reported as blocked, and the reports are written (INCOMPLETE).
    /// Ctrl-C and SIGTERM stop the run the same way.
    #[arg(long, value_name = "DURATION", default_value = limits::DEFAULT_RUN_TIMEOUT, value_parser = limits::parse_duration)]
    pub(crate) timeout: Duration,
    /// Trust the CA certificates of this PEM file (besides the system's, which SSL_CERT_FILE
    /// replaces) for the target's TLS certificate.
    #[arg(long, value_name = "PEM", requires = "target")]
    pub(crate) ca_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// What goes to stdout and stderr; the same for conform and certify.
#[derive(clap::Args, Clone, Copy)]
pub struct OutputArgs {
    /// What stdout gets at the end: the verdict line (text), or the report.json document (json).
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
    /// No progress, and no line per failed or blocked check, on stderr: the verdict and errors only.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Exit code of a run whose required checks did not all get judged (blocked or not run).
pub const EXIT_INCOMPLETE: u8 = 3;

pub fn run(args: ConformArgs) -> anyhow::Result<ExitCode> {
    run_as(args, None)
}

/// A run; a `certification` heads the report as the certification for that relying party.
pub fn run_as(args: ConformArgs, certification: Option<reports::Certification>) -> anyhow::Result<ExitCode> {
    let profile = match &args.profile {
        Some(path) => Profile::from_file(path)?,
        None => Profile::idaas(),
    };
    let mut scenario_files = crate::scenario::files();
    if let Some(dir) = &args.scenarios {
        scenario_files.extend(crate::scenario::from_dir(dir).map_err(anyhow::Error::msg)?);
    }
    let (selected, only_checks) = select_suites(&args, &profile, &scenario_files)?;
    if args.list {
        crate::stdout::print(&check_list(&profile.name, &selected));
        return Ok(ExitCode::SUCCESS);
    }
    let known: Vec<String> = selectable(&profile, &scenario_files).iter().flat_map(|s| s.checks.iter().map(|c| c.id.to_string())).collect();
    let expected = match &args.expected {
        Some(path) => Expected::from_file(path, &known)?,
        None => Expected::default(),
    };
    // An unwritable report directory is found before the run, not after it.
    crate::report_dir::prepare(&args.report_dir, &REPORT_FILES)?;
    let settings = match &args.ca_file {
        Some(path) => ClientSettings::with_ca_file(path).map_err(anyhow::Error::msg)?,
        None => ClientSettings::default(),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // Progress lines name the command the user ran.
    let command = if certification.is_some() { "certify" } else { "conform" };
    let mut report = runtime.block_on(conform(&args, command, profile, &selected, only_checks, &scenario_files, settings))?;
    report.certification = certification;
    expected.apply(&mut report);
    write_reports(&report, &args.report_dir)?;
    print_summary(&report, &args.report_dir, args.output)?;
    Ok(match report.status() {
        Status::Passed => ExitCode::SUCCESS,
        Status::Incomplete if args.allow_incomplete => ExitCode::SUCCESS,
        Status::Incomplete => ExitCode::from(EXIT_INCOMPLETE),
        Status::Failed => ExitCode::FAILURE,
    })
}

/// The verdict model, in the words `--list` (and so docs/CHECKS.md) prints above the checks.
const VERDICTS: &str = "Every check gets one verdict:\n\n\
- **pass**: the rule holds (the detail says which allowed answer was seen when the spec allows several);\n\
- **fail**: a *required* check's rule is broken (a MUST); **warning**: a *recommended* one's (a SHOULD);\n\
- **blocked**: a prerequisite failed (`blocked_by` names the check or step), so the rule was not judged; \
the root cause is reported once, where it happened;\n\
- **not run**: the target file lacks what the check needs (a client, a user, a resource);\n\
- **not applicable**: the profile says the feature is absent, or the deployment holds nothing the rule is about.\n\n\
A refusal (negative) check passes only on positive evidence of refusal (an error sent to a registered redirect URI, \
an error JSON, or an error page served by the server) after a positive control: the same request without the defect \
worked. A 5xx, a timeout or a broken login is never a pass. A run is **PASSED** when every selected required check \
was judged and none failed unexpectedly, **FAILED** when one failed (exit 1), and **INCOMPLETE** when none failed \
but some were blocked or not run (exit 3; `--allow-incomplete` exits 0). The set of checks in a report never \
depends on what failed.\n";

/// `--list`: every check with its severity and citation, as Markdown (docs/CHECKS.md is this
/// output for the IDaaS profile).
fn check_list(profile: &str, suites: &[Suite]) -> String {
    let total: usize = suites.iter().map(|s| s.checks.len()).sum();
    let mut out = format!(
        "# Checks\n\nThe {total} checks of `oidc-harness conform` with the `{profile}` profile, generated by \
         `oidc-harness conform --list`.\n\n{VERDICTS}"
    );
    for suite in suites {
        out.push_str(&format!(
            "\n## {} ({} checks)\n\n| id | severity | rule | title |\n|---|---|---|---|\n",
            suite.name,
            suite.checks.len()
        ));
        for c in suite.checks.iter() {
            let severity = match c.severity {
                reports::Severity::Required => "required",
                reports::Severity::Recommended => "recommended",
            };
            out.push_str(&format!("| `{}` | {severity} | {} | {} |\n", c.id, c.spec, c.title.replace('|', "\\|")));
        }
    }
    out
}

/// The suites `--suite` may name: the protocol suites, then one per integration pack
/// (`integration:NAME`), which run only when named (or through `certify`).
pub fn selectable(profile: &Profile, scenario_files: &[crate::scenario::ScenarioFile]) -> Vec<Suite> {
    let mut all = suites::all(profile, scenario_files);
    all.extend(crate::integration::packs().iter().map(crate::integration::Pack::suite));
    all
}

/// The suites `--suite` and `--check` select, and the check ids `--check` matched (`None`: all
/// of the suites' checks).
type Selection = (Vec<Suite>, Option<std::collections::BTreeSet<String>>);

fn select_suites(args: &ConformArgs, profile: &Profile, scenario_files: &[crate::scenario::ScenarioFile]) -> anyhow::Result<Selection> {
    let all = selectable(profile, scenario_files);
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
    // Every pattern must match some check of the suites it can select from (`--suite`'s, or
    // all): the ones that match none are named at once, never dropped in silence.
    let named = |s: &Suite| args.suite.iter().any(|n| *n == s.name);
    let candidates: Vec<&Suite> = all.iter().filter(|s| args.suite.is_empty() || named(s)).collect();
    let unmatched: Vec<&str> = args
        .check
        .iter()
        .map(String::as_str)
        .filter(|p| !candidates.iter().flat_map(|s| s.checks.iter()).any(|c| glob(p, &c.id)))
        .collect();
    if !unmatched.is_empty() {
        bail!(
            "--check {}: no check id matches{}; `oidc-harness conform --list` prints every check id",
            unmatched.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "),
            if args.suite.is_empty() { "" } else { " in the suites --suite names" }
        );
    }
    let matched = |c: &crate::engine::Check| args.check.iter().any(|p| glob(p, &c.id));
    // A pack runs when named, or when a `--check` pattern names it before any wildcard (an exact
    // rule id, or `salesforce.*`): `--check '*.state*'` is about the protocol suites, not every
    // relying party's flow.
    let pulled_in = |s: &Suite| s.checks.iter().any(|c| args.check.iter().any(|p| glob(p, &c.id) && literal_prefix(p).contains('.')));
    let by_default = |s: &Suite| args.suite.is_empty() && (!s.name.starts_with(crate::integration::PREFIX) || pulled_in(s));
    let mut selected: Vec<Suite> = all.into_iter().filter(|s| named(s) || by_default(s)).collect();
    if args.check.is_empty() {
        return Ok((selected, None));
    }
    selected.retain(|s| s.checks.iter().any(matched));
    if selected.is_empty() {
        bail!("--check matches no check of the suites --suite selects");
    }
    let ids = selected.iter().flat_map(|s| s.checks.iter()).filter(|c| matched(c)).map(|c| c.id.to_string()).collect();
    Ok((selected, Some(ids)))
}

/// What a `--check` pattern says literally, before its first wildcard.
fn literal_prefix(pattern: &str) -> &str {
    pattern.split(['*', '?']).next().unwrap_or("")
}

/// Whether `id` matches `pattern`: `*` is any run of characters (none too), `?` one character,
/// anything else itself.
fn glob(pattern: &str, id: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), id.chars().collect());
    // The classic two-pointer match with backtracking to the last `*`: linear for our ids.
    let (mut i, mut j, mut star, mut from) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            from = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            from += 1;
            j = from;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// The reports a run writes.
const REPORT_FILES: [&str; 4] = ["report.json", "junit.xml", "summary.md", "report.html"];

async fn conform(
    args: &ConformArgs,
    command: &str,
    profile: Profile,
    selected: &[Suite],
    only_checks: Option<std::collections::BTreeSet<String>>,
    scenario_files: &[crate::scenario::ScenarioFile],
    settings: ClientSettings,
) -> anyhow::Result<Report> {
    let started = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let clock = Instant::now();
    // Listening from the start: a signal during the preflight stops the run once it begins.
    let mut stop = std::pin::pin!(stop_requested(args.timeout)?);
    let mut config = embedded_config(&args.fault, &args.variant)?;
    // A relying party that reads the provider over https only gets an embedded server on https,
    // for the whole run (the kill matrix gives such packs a server of their own instead).
    if selected.iter().any(crate::integration::needs_https) {
        config.tls = Some(reference_server::config::Tls::default());
    }
    // A variant that is a deployment's own choice is judged against a profile that states it,
    // unless the user gave a profile of their own.
    let profile = match &args.profile {
        None => config.variants.iter().fold(profile, |p, v| crate::profile::for_variant(*v, &p)),
        Some(_) => profile,
    };
    let (mut ctx, embedded) = open_target(args.target.as_deref(), args.target_config.as_deref(), profile, config, settings).await?;
    let issuer = ctx.issuer.clone();
    let what = if embedded.is_some() { "embedded reference server" } else { "target" };
    let mut with = Vec::new();
    if !args.fault.is_empty() {
        with.push(format!("fault {}", args.fault.join(", ")));
    }
    if !args.variant.is_empty() {
        with.push(format!("variant {}", args.variant.join(", ")));
    }
    let with = if with.is_empty() { String::new() } else { format!(" with {}", with.join(" and ")) };
    if !args.output.quiet {
        eprintln!("{command}: {issuer} ({what}{with}), profile {}", ctx.profile.name);
    }
    if args.target.is_some() && args.target_config.is_none() {
        let skipped: Vec<&str> =
            selected.iter().map(|s| s.name.as_ref()).filter(|n| ![suites::discovery::NAME, suites::jwks::NAME].contains(n)).collect();
        if !skipped.is_empty() {
            eprintln!(
                "{command}: no --target-config, so no clients and no test user: the checks of {} will be reported as not run",
                skipped.join(", ")
            );
        }
    }
    let mut run = new_run(&ctx, selected, only_checks, !args.output.quiet);
    let deployment = args.target.is_some();
    let stopped = tokio::select! {
        // A stop wins over a run that finishes in the same instant: the report says it stopped.
        biased;
        why = &mut stop => Some(why),
        result = async {
            if deployment {
                crate::preflight::set_up(&mut ctx, selected).await?;
            }
            drive_suites(&mut ctx, &mut run, scenario_files, !args.output.quiet).await;
            anyhow::Ok(())
        } => {
            result?;
            None
        }
    };
    if let Some(why) = stopped {
        run.clear_progress();
        eprintln!("{command}: {why}; the checks not judged yet are reported as blocked");
        run.stop(why);
    }
    let verdicts = run.into_results(selected);
    let profile_name = ctx.profile.name.clone();
    let metadata_from = ctx.metadata_from.clone();
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    Ok(Report {
        schema: reports::SCHEMA.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        started,
        duration_ms: clock.elapsed().as_millis() as u64,
        target: reports::Target {
            issuer,
            embedded: args.target.is_none(),
            faults: args.fault.clone(),
            variants: args.variant.clone(),
            metadata_from,
        },
        profile: profile_name,
        certification: None,
        checks: verdicts.checks,
        expected_but_passed: Vec::new(),
        exchanges: verdicts.exchanges,
    })
}

/// Resolves when the run must stop, saying why: the `--timeout` deadline passed, or Ctrl-C or
/// SIGTERM arrived (see `stop_signal`).
fn stop_requested(deadline: Duration) -> anyhow::Result<impl std::future::Future<Output = String>> {
    let signalled = stop_signal()?;
    Ok(async move {
        tokio::select! {
            () = tokio::time::sleep(deadline) => format!("the run's deadline (--timeout {}) passed", limits::duration_in_words(deadline)),
            why = signalled => format!("the run was {why}"),
        }
    })
}

/// Resolves on Ctrl-C or SIGTERM, saying which. The signal handlers are installed when this is
/// called, not when first polled, so no signal is lost to the default handler (which would end
/// the process at once: no report written, no graceful shutdown of `serve`).
pub(crate) fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = &'static str>> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?)
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => "interrupted (Ctrl-C)",
            _ = terminate.recv() => "stopped by SIGTERM",
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "interrupted (Ctrl-C)"
        }
    })
}

/// A run collecting the verdicts of `selected` (only `only_checks` when given); `verbose` draws
/// the progress bar.
fn new_run(ctx: &Context, selected: &[Suite], only_checks: Option<std::collections::BTreeSet<String>>, verbose: bool) -> Run {
    let total = only_checks.as_ref().map_or_else(|| selected.iter().map(|s| s.checks.len()).sum(), |ids| ids.len());
    let names = selected.iter().map(|s| s.name.to_string()).collect();
    Run::new(names, only_checks, if verbose { total } else { 0 }, ctx.http.redactor())
}

/// Runs the `selected` suites against the context's target and returns the verdicts. Discovery
/// and JWKS always run (later suites need the metadata and keys); their verdicts are kept only
/// when selected. `verbose` prints a line per suite and draws the progress bar. The verdicts
/// come without evidence (the kill matrix reads verdicts only): an index into an exchange
/// table not returned would be a trap.
pub async fn run_suites(
    ctx: &mut Context,
    selected: &[Suite],
    scenario_files: &[crate::scenario::ScenarioFile],
    only_checks: Option<std::collections::BTreeSet<String>>,
    verbose: bool,
) -> Vec<reports::CheckResult> {
    let mut run = new_run(ctx, selected, only_checks, verbose);
    drive_suites(ctx, &mut run, scenario_files, verbose).await;
    let mut checks = run.into_results(selected).checks;
    checks.iter_mut().for_each(|c| c.evidence.clear());
    checks
}

/// Runs every suite the run wants, in order, recording into `run`; cancelling this future (a
/// deadline, a signal) leaves in `run` every verdict recorded so far.
async fn drive_suites(ctx: &mut Context, run: &mut Run, scenario_files: &[crate::scenario::ScenarioFile], verbose: bool) {
    let run = &mut *run;
    let packs = crate::integration::packs();
    for suite in selectable(&ctx.profile, scenario_files) {
        let suite = &suite;
        let before = run.results().len();
        match suite.name.as_ref() {
            suites::discovery::NAME => suites::discovery::run(ctx, run).await,
            suites::jwks::NAME => suites::jwks::run(ctx, run).await,
            suites::authorization_endpoint::NAME if run.wants(suite) => suites::authorization_endpoint::run(ctx, run).await,
            suites::code_flow::NAME if run.wants(suite) => suites::code_flow::run(ctx, run).await,
            suites::parameters::NAME if run.wants(suite) => suites::parameters::run(ctx, run, suite).await,
            suites::implicit::NAME if run.wants(suite) => suites::implicit::run(ctx, run).await,
            suites::userinfo::NAME if run.wants(suite) => suites::userinfo::run(ctx, run).await,
            suites::lifecycle::NAME if run.wants(suite) => suites::lifecycle::run(ctx, run).await,
            suites::client_credentials::NAME if run.wants(suite) => suites::client_credentials::run(ctx, run).await,
            name if run.wants(suite) => {
                match (scenario_files.iter().find(|f| f.suite == name), packs.iter().find(|p| p.suite_name() == name)) {
                    (Some(file), _) => crate::scenario::run(ctx, run, suite, file).await,
                    (None, Some(pack)) => crate::integration::run(ctx, run, suite, pack).await,
                    (None, None) => continue,
                }
            }
            _ => continue,
        }
        if verbose && run.wants(suite) {
            run.clear_progress();
            progress(&suite.name, &run.results()[before..]);
        }
    }
}

/// The context for `--target` (with `--target-config`), or for the embedded reference server
/// (started here with `config`) when there is no target; the target must answer discovery.
pub async fn open_target(
    target: Option<&str>,
    target_config: Option<&Path>,
    profile: Profile,
    config: reference_server::Config,
    settings: ClientSettings,
) -> anyhow::Result<(Context, Option<reference_server::Server>)> {
    let (ctx, embedded) = match target {
        Some(url) => {
            let target = match target_config {
                Some(path) => Target::from_file(path, |var| std::env::var(var).ok())?,
                None => Target::default(),
            };
            // A misspelt pack name would silently certify with a stand-in client.
            let packs: Vec<&str> = crate::integration::packs().iter().map(|p| p.integration.as_str()).collect();
            if let Some(unknown) = target.integrations.keys().find(|name| !packs.contains(&name.as_str())) {
                bail!("the target file's [integrations.{unknown}] names no integration pack; the packs are: {}", packs.join(", "));
            }
            let secrets = target.secrets();
            // The issuer exactly as given: a trailing slash is part of it (OIDC Discovery §4.3).
            (Context::new(url.to_string(), profile, target, secrets, settings), None)
        }
        None => {
            let (server, ctx) = start_embedded(config, profile).await?;
            (ctx, Some(server))
        }
    };
    crate::preflight::reach(&ctx).await?;
    Ok((ctx, embedded))
}

/// Starts the embedded reference server with `config` and a context for it (its target file and
/// every secret of its configuration for the redactor).
pub async fn start_embedded(config: reference_server::Config, profile: Profile) -> anyhow::Result<(reference_server::Server, Context)> {
    let target = Target::embedded(&config);
    let mut secrets = embedded_secrets(&config);
    let server = reference_server::start(config).await.context("starting the embedded reference server")?;
    secrets.push(server.admin_token().to_string());
    // Over HTTPS the harness trusts the server's self-signed certificate (and the system's roots).
    let settings = match server.certificate_pem() {
        Some(pem) => ClientSettings::trusting(pem.as_bytes()).map_err(|e| anyhow::anyhow!("the embedded server's certificate: {e}"))?,
        None => ClientSettings::default(),
    };
    let ctx = Context::new(server.issuer().to_string(), profile, target, secrets, settings);
    Ok((server, ctx))
}

/// The embedded server's configuration, with the named faults and variants switched on.
pub fn embedded_config(faults: &[String], variants: &[String]) -> anyhow::Result<reference_server::Config> {
    use reference_server::faults::Fault;
    use reference_server::variants::Variant;
    let faults = faults
        .iter()
        .map(|name| {
            Fault::from_name(name).ok_or_else(|| anyhow::anyhow!("unknown fault `{name}`; `oidc-harness serve --list-faults` lists them"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let variants = variants
        .iter()
        .map(|name| {
            Variant::from_name(name)
                .ok_or_else(|| anyhow::anyhow!("unknown variant `{name}`; `oidc-harness serve --list-variants` lists them"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let config = reference_server::Config { faults, variants, ..Default::default() };
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(config)
}

/// Every secret of the embedded server's configuration: redacted wherever it might appear.
fn embedded_secrets(config: &reference_server::Config) -> Vec<String> {
    let clients = config.clients.iter().filter_map(|c| c.client_secret.clone());
    let users = config.users.iter().flat_map(|u| std::iter::once(u.password.clone()).chain(u.otp.clone()).chain(u.totp_secret.clone()));
    clients.chain(users).collect()
}

fn progress(suite: &str, results: &[reports::CheckResult]) {
    let count = |v: Verdict| results.iter().filter(|c| c.verdict == v).count();
    // Passed always; the other verdicts only when some check has them, so a line reads at a glance.
    let mut line = format!("  {suite:<24} {:>3} passed", count(Verdict::Pass));
    for (verdict, name) in [
        (Verdict::Fail, "failed"),
        (Verdict::Blocked, "blocked"),
        (Verdict::NotRun, "not run"),
        (Verdict::Warning, "warnings"),
        (Verdict::NotApplicable, "not applicable"),
    ] {
        let n = count(verdict);
        if n > 0 {
            line.push_str(&format!(", {n} {name}"));
        }
    }
    eprintln!("{line}");
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

/// A detail as a line of stderr: cut to `STDERR_DETAIL_BYTES` (the reports keep more of it).
fn for_stderr(detail: &str) -> std::borrow::Cow<'_, str> {
    limits::cut(detail, limits::STDERR_DETAIL_BYTES)
}

/// The end of a run on the terminal: a line per failed, warned, blocked or not-run check on stderr
/// (not with `--quiet`), then the verdict line on stdout, or with `--format json` the report.json
/// document there and the verdict line on stderr.
fn print_summary(report: &Report, dir: &Path, output: OutputArgs) -> anyhow::Result<()> {
    let t = report.totals();
    if !output.quiet {
        check_lines(report);
    }
    let line = format!(
        "{}: {} checks, {} passed, {} failed, {} blocked, {} not run, {} warnings, {} expected failures, {} not applicable in {} ms; {}; reports in {}",
        report.status().as_str(),
        t.checks,
        t.passed,
        t.failed,
        t.blocked,
        t.not_run,
        t.warnings,
        t.expected_failures,
        t.not_applicable,
        report.duration_ms,
        report.coverage(),
        dir.display()
    );
    let stdout = match output.format {
        Format::Text => format!("{line}\n"),
        Format::Json => {
            eprintln!("{line}");
            format!("{}\n", report.to_json()?)
        }
    };
    // A reader that went away does not change the exit code: the verdict is the run's.
    if let Err(e) = crate::stdout::try_print(&stdout) {
        eprintln!("{line} (stdout: {e})");
    }
    Ok(())
}

/// A line on stderr per check a person should look at, blocked ones grouped by their cause.
fn check_lines(report: &Report) {
    for check in report.checks.iter().filter(|c| c.verdict == Verdict::Fail) {
        match &check.expected_failure {
            None => eprintln!("FAIL {} ({}): {}", check.id, check.spec, for_stderr(&check.detail)),
            Some(reason) => eprintln!("XFAIL {} ({reason}): {}", check.id, for_stderr(&check.detail)),
        }
    }
    for e in &report.expected_but_passed {
        eprintln!("XPASS {}: listed as expected to fail ({}) but passed; remove it from the list", e.id, e.reason);
    }
    for check in report.checks.iter().filter(|c| c.verdict == Verdict::Warning) {
        eprintln!("WARN {} ({}): {}", check.id, check.spec, for_stderr(&check.detail));
    }
    // Blocked checks are grouped by their prerequisite: one root cause, one line.
    let mut blocked: Vec<(&str, Vec<&str>)> = Vec::new();
    for check in report.checks.iter().filter(|c| c.verdict == Verdict::Blocked && c.severity == reports::Severity::Required) {
        let by = check.blocked_by.as_deref().unwrap_or("?");
        match blocked.iter_mut().find(|(b, _)| *b == by) {
            Some((_, ids)) => ids.push(&check.id),
            None => blocked.push((by, vec![&check.id])),
        }
    }
    for (by, ids) in &blocked {
        eprintln!("BLOCKED by {by}: {}", ids.join(", "));
    }
    for check in report.checks.iter().filter(|c| c.verdict == Verdict::NotRun && c.severity == reports::Severity::Required) {
        eprintln!("NOT RUN {}: {}", check.id, for_stderr(&check.detail));
    }
    if !report.target.metadata_from.is_empty() {
        let from: Vec<String> = report.target.metadata_from.iter().map(|(member, source)| format!("{member} from {source}")).collect();
        eprintln!("metadata beyond the OpenID configuration: {}", from.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_patterns_match_as_globs() {
        for (pattern, id, matches) in [
            ("id-token.*", "id-token.iss", true),
            ("id-token.*", "id-token", false),
            ("*a*b", "xaybzb", true),
            ("*a*b", "xaybz", false),
            ("a*", "a", true),
            ("**", "anything", true),
            ("code.?", "code.x", true),
            ("code.?", "code.xy", false),
            ("", "x", false),
            ("[x]", "[x]", true),
        ] {
            assert_eq!(glob(pattern, id), matches, "{pattern} ~ {id}");
        }
        assert_eq!(literal_prefix("salesforce.*"), "salesforce.");
        assert_eq!(literal_prefix("*.state*"), "");
    }
}
