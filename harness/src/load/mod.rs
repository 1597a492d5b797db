//! `oidc-harness load`: token-issuance load on goose 0.19, against the embedded reference server
//! (default) or a deployment. goose's own options are part of this command line (flattened);
//! the load profile (`--load-profile`, `scenarios/load/`) supplies the shape of the run unless
//! goose options given here override it. Writes load.json and load.md (ours, with the
//! histograms) and goose's HTML report; `--baseline` gates on an earlier load.json.

mod pacing;
mod plan;
mod report;
mod scenarios;
mod stats;

use crate::conform::open_target;
use crate::engine::http::ClientSettings;
use crate::profile::Profile;
use anyhow::{Context as _, bail};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use plan::LoadPlan;
use report::{Gate, LoadReport};
use scenarios::{Kind, Load, ScenarioName};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(clap::Args)]
pub struct LoadArgs {
    /// What to load.
    #[arg(long, value_enum, help_heading = "oidc-harness")]
    scenario: ScenarioName,
    /// Shape of the run: smoke, ramp, steady, spike, soak (scenarios/load/) or a TOML file.
    #[arg(long, value_name = "NAME|FILE", default_value = "smoke", help_heading = "oidc-harness")]
    load_profile: String,
    /// Issuer URL of the deployment to load; without it, the embedded reference server.
    #[arg(long, value_name = "ISSUER_URL", help_heading = "oidc-harness")]
    target: Option<String>,
    /// Clients and test user for --target (TOML, as for conform).
    #[arg(long, value_name = "FILE", requires = "target", help_heading = "oidc-harness")]
    target_config: Option<PathBuf>,
    /// What the target claims (its access-token format decides whether issued access tokens are
    /// validated as JWTs); the IDaaS profile when absent.
    #[arg(long, value_name = "FILE", help_heading = "oidc-harness")]
    profile: Option<PathBuf>,
    /// Where load.json, load.md and goose's report.html are written.
    #[arg(long, value_name = "DIR", default_value = "oidc-harness-load", help_heading = "oidc-harness")]
    report_dir: PathBuf,
    /// Validate one issued token in this many: signature against the JWKS and claims (0: none).
    #[arg(long, value_name = "N", default_value_t = 50, help_heading = "oidc-harness")]
    validate_every: u64,
    /// An earlier load.json: exit 1 when throughput drops or p99 rises beyond the limits below.
    #[arg(long, value_name = "FILE", help_heading = "oidc-harness")]
    baseline: Option<PathBuf>,
    /// Largest throughput drop against --baseline, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0, help_heading = "oidc-harness")]
    max_throughput_drop: f64,
    /// Largest p99 rise against --baseline, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 25.0, help_heading = "oidc-harness")]
    max_p99_rise: f64,
    #[command(flatten)]
    goose: GooseConfiguration,
}

pub fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let plan = LoadPlan::load(&args.load_profile)?;
    let profile = match &args.profile {
        Some(path) => Profile::from_file(path)?,
        None => Profile::idaas(),
    };
    if args.goose.host.is_some() {
        bail!("--host is set from --target (the issuer); give the issuer URL with --target");
    }
    let goose = &args.goose;
    if goose.request_body {
        bail!("--request-body would write client secrets, codes and refresh tokens into goose's logs: it is not allowed here");
    }
    // Every run is bounded: goose reads 0 as "no limit" or "nobody".
    if let Some(run_time) = goose.run_time.as_deref().filter(|t| plan::duration(t).is_ok_and(|d| d.is_zero())) {
        bail!("--run-time {run_time}: give a run time above zero (every load run is bounded)");
    }
    if goose.iterations == Some(0) {
        bail!("--iterations 0: give at least 1 (goose would read 0 as no limit)");
    }
    if goose.users == Some(0) {
        bail!("--users 0: give at least 1 user");
    }
    if shaped_by_command_line(goose) && goose.run_time.is_none() && goose.iterations.is_none() {
        bail!("with goose's --users or --increase-rate, give --run-time or --iterations: every load run is bounded");
    }
    // --run-time alone changes only how long the profile's shape lasts: its users, ramp and mix
    // stay.
    let (plan, goose) = match (&goose.run_time, shaped_by_others(goose)) {
        (Some(run_time), false) => {
            let total = plan::duration(run_time).with_context(|| format!("--run-time {run_time}"))?;
            let mut goose = goose.clone();
            goose.run_time = None;
            (plan.with_run_time(total)?, goose)
        }
        _ => (plan, goose.clone()),
    };
    let baseline = args.baseline.as_deref().map(LoadReport::read).transpose()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(load(&args, &goose, &plan, profile))?;
    report.write(&args.report_dir)?;
    eprint!("{}", report.markdown());
    eprintln!("load: reports in {}", args.report_dir.display());
    // Every scheduled arrival is accounted for: one never started (every user was busy until
    // the end) would otherwise vanish from the percentiles.
    let unstarted = report.arrivals.as_ref().map_or(0, |a| a.scheduled.saturating_sub(a.started));
    if unstarted > 0 {
        eprintln!(
            "load: {unstarted} of {} scheduled arrivals never started (every user was busy until the end): the target could not \
             keep up, or the profile's max_users is too low for its rate",
            report.arrivals.as_ref().map_or(0, |a| a.scheduled)
        );
    }
    let mut passed = report.validation.invalid == 0 && report.thresholds_failed == 0 && report.stopped.is_none() && unstarted == 0;
    if let Some(why) = &report.stopped {
        eprintln!("load: {why}");
    }
    if report.validation.invalid > 0 {
        eprintln!("load: {} issued tokens failed validation", report.validation.invalid);
    }
    if report.thresholds_failed > 0 {
        eprintln!("load: {} goose --threshold rule(s) failed (goose's report says which)", report.thresholds_failed);
    }
    if let Some(baseline) = baseline {
        let gate = Gate { max_throughput_drop: args.max_throughput_drop, max_p99_rise: args.max_p99_rise };
        let (lines, within) = report::compare(&baseline, &report, &gate);
        for line in lines {
            eprintln!("baseline: {line}");
        }
        passed &= within;
    }
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn load(args: &LoadArgs, goose: &GooseConfiguration, plan: &LoadPlan, profile: Profile) -> anyhow::Result<LoadReport> {
    let (mut ctx, server) = open_target(
        args.target.as_deref(),
        args.target_config.as_deref(),
        profile,
        reference_server::Config::default(),
        ClientSettings::default(),
    )
    .await?;
    // The load goes where discovery says: a document of another issuer would send it (and the
    // client secrets) to endpoints that are not the target's.
    if let Err(why) = ctx.fetch_metadata().await {
        match ctx.metadata {
            None => bail!("discovery: {why}"),
            Some(_) => bail!("discovery: {why}: give the issuer exactly as discovery names it with --target"),
        }
    }
    // goose sends the token requests with its own client, past the recorder's credential
    // guard: the endpoints that get client secrets are checked here, once.
    crate::preflight::credential_endpoints(&ctx)?;
    let jwks_uri = ctx.endpoint("jwks_uri").context("discovery gave no jwks_uri")?.to_string();
    let jwks = crate::suites::fetch_jwks(&ctx.http, &jwks_uri).await.0.context("the JWKS could not be fetched")?;
    // What every transaction needs is there before any load: a missing client would otherwise
    // be a loop of failures for the whole run.
    let kinds: Vec<Kind> = args.scenario.kinds().into_iter().filter(|k| plan.weight(*k, args.scenario) > 0).collect();
    if let Some(kind) = kinds.iter().find(|k| k.registration(&ctx.target).is_none()) {
        bail!("{}", kind.missing());
    }
    if kinds.iter().any(|k| *k != Kind::ClientCredentials) && ctx.target.user.is_none() {
        bail!("the {} scenario logs a user in: the target file needs a [user]", args.scenario.name());
    }
    let issuer = url::Url::parse(&ctx.issuer).context("the issuer is not a URL")?;
    let host = issuer.origin().ascii_serialization();
    let embedded = server.is_some();
    let issuer = ctx.issuer.clone();

    // Users start over at most a second; open-model arrivals begin after it.
    const LAUNCH: Duration = Duration::from_secs(1);
    let run_time = plan.run_time()?;
    let start = tokio::time::Instant::now() + LAUNCH;
    let pacer = plan.open.as_ref().map(|open| pacing::Pacer::new(open, start)).transpose()?;
    let load = Arc::new(Load {
        ctx,
        stats: stats::Stats::default(),
        pacer,
        jwks: tokio::sync::Mutex::new(crate::engine::key_set::KeySet::new(Some(jwks))),
        validate_every: args.validate_every,
        issued: Default::default(),
        end: start + run_time,
        unanswered: Default::default(),
        stopped: Default::default(),
    });

    let mut config = goose.clone();
    config.host = Some(host);
    // Response bodies in goose's debug log would be tokens; headers are safe (credentials are
    // sensitive header values, printed as `Sensitive`).
    config.no_debug_body = true;
    std::fs::create_dir_all(&args.report_dir).with_context(|| format!("creating {}", args.report_dir.display()))?;
    if config.report_file.is_empty() {
        config.report_file = vec![args.report_dir.join("report.html").display().to_string()];
    }
    let mut attack = GooseAttack::initialize_with_config(config.clone()).map_err(goose_error)?;
    if !shaped_by_command_line(&config) {
        attack = *attack.set_default(GooseDefault::TestPlan, test_plan(plan, LAUNCH)?.as_str()).map_err(goose_error)?;
    }
    attack = *attack.set_default(GooseDefault::NoPrintMetrics, true).map_err(goose_error)?;
    // goose's controllers listen on fixed ports: off unless asked, so two runs never collide.
    if config.telnet_host.is_none() && config.telnet_port.is_none() {
        attack = *attack.set_default(GooseDefault::NoTelnet, true).map_err(goose_error)?;
    }
    if !config.websocket && config.websocket_host.is_none() && config.websocket_port.is_none() {
        attack = *attack.set_default(GooseDefault::NoWebSocket, true).map_err(goose_error)?;
    }
    for kind in &kinds {
        let weight = plan.weight(*kind, args.scenario);
        let scenario = Scenario::new(kind.name())
            .register_transaction(scenarios::transaction(load.clone(), *kind))
            .set_weight(weight)
            .map_err(goose_error)?;
        attack = attack.register_scenario(scenario);
    }

    let started = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let clock = std::time::Instant::now();
    let progress = tokio::spawn(progress(load.clone()));
    // A load that stopped early (the target stopped answering) ends the run at once; goose's
    // users are left idle and go with the runtime, and goose writes no report of its own.
    let result = tokio::select! {
        result = attack.execute() => Some(result),
        () = stopped_early(&load) => None,
    };
    progress.abort();
    // Open-model arrivals begin after the launch second; closed-model users start at once.
    let launch = if load.pacer.is_some() { LAUNCH.as_secs_f64() } else { 0.0 };
    let seconds = clock.elapsed().as_secs_f64() - launch;
    if let Some(server) = server {
        server.shutdown().await;
    }
    let thresholds_failed = match result {
        None | Some(Ok(_)) => 0,
        Some(Err(GooseError::ThresholdsFailed { failed, .. })) => failed.len(),
        Some(Err(e)) => return Err(goose_error(e)),
    };
    let (transactions, errors, validation) = load.stats.summary(seconds.max(0.001));
    let mix = match args.scenario.kinds().len() {
        1 => Default::default(),
        _ => {
            let weights = Kind::ALL.iter().map(|k| (k.name().to_string(), plan.weight(*k, args.scenario))).collect();
            report::mix(&weights, &transactions)
        }
    };
    let arrivals = load.pacer.as_ref().map(|p| report::Arrivals { scheduled: p.total(), started: p.issued() });
    Ok(LoadReport {
        schema: report::SCHEMA.into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        scenario: args.scenario.name(),
        load_profile: plan.description.clone(),
        model: if plan.open.is_some() { "open" } else { "closed" }.into(),
        issuer,
        embedded,
        started,
        duration_s: (seconds * 10.0).round() / 10.0,
        arrivals,
        transactions,
        errors,
        validation,
        thresholds_failed,
        stopped: load.stopped.get().cloned(),
        mix,
    })
}

/// goose's errors with their detail (which option, which value): its Display form leaves it out.
fn goose_error(e: GooseError) -> anyhow::Error {
    anyhow::anyhow!("goose: {e:?}")
}

/// Whether goose options on the command line give the run its shape (the load profile's test
/// plan is then not used).
fn shaped_by_command_line(goose: &GooseConfiguration) -> bool {
    goose.users.is_some() || goose.run_time.is_some() || goose.iterations.is_some() || goose.increase_rate.is_some()
}

/// Whether goose options other than `--run-time` give the run its shape.
fn shaped_by_others(goose: &GooseConfiguration) -> bool {
    goose.users.is_some() || goose.iterations.is_some() || goose.increase_rate.is_some()
}

/// goose's test plan ("users,time;...") for the load profile.
fn test_plan(plan: &LoadPlan, launch: Duration) -> anyhow::Result<String> {
    // goose's time spans are whole seconds.
    let secs = |d: Duration| format!("{}s", d.as_millis().div_ceil(1000));
    Ok(match (&plan.closed, &plan.open) {
        (Some(c), _) => format!("{},{};{},{};0,0s", c.users, secs(plan::duration(&c.ramp)?), c.users, secs(plan::duration(&c.hold)?)),
        // Every user up within the launch second, then held while the arrivals last.
        (_, Some(o)) => format!("{},{};{},{};0,0s", o.max_users, secs(launch), o.max_users, secs(plan.run_time()?)),
        _ => bail!("the load profile has no [closed] or [open]"),
    })
}

/// Returns once the load has stopped early.
async fn stopped_early(load: &Load) {
    while load.stopped.get().is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A progress line on stderr while the run lasts.
async fn progress(load: Arc<Load>) {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let every = if terminal { Duration::from_secs(1) } else { Duration::from_secs(5) };
    let started = std::time::Instant::now();
    let mut last = 0;
    loop {
        tokio::time::sleep(every).await;
        let (count, errors, p99) = load.stats.progress();
        let rate = (count - last) as f64 / every.as_secs_f64();
        last = count;
        let line = format!(
            "load: {:.0} s, {count} transactions, {rate:.0}/s now, {errors} failed, slowest p99 {:.2} ms",
            started.elapsed().as_secs_f64(),
            p99 as f64 / 1000.0
        );
        if terminal {
            eprint!("\r\x1b[K{line}");
        } else {
            eprintln!("{line}");
        }
    }
}
