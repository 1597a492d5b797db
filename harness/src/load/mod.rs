//! `oidc-harness load`: token-issuance load on goose 0.19, against the embedded reference server
//! (default) or a deployment, on one machine or as worker K of N (`--worker`, `--start-at`)
//! whose results `load merge` combines exactly. The load profile (`--load-profile`,
//! `scenarios/load/`) gives the run its shape; goose's own options are part of this command line
//! (flattened; the few a performance engineer uses are in `--help`, the rest in `--goose-help`).
//! Writes load.json (with the histograms and time series), load.md and load.html; `--threshold`
//! rules and `--baseline` are judged on our histograms.

mod help;
mod html;
mod judge;
mod merge;
mod pacing;
mod plan;
mod report;
mod scenarios;
mod stats;
mod worker;

pub use help::curate;

use crate::conform::open_target;
use crate::engine::http::ClientSettings;
use crate::profile::Profile;
use anyhow::{Context as _, bail};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use judge::{Judging, Rule};
use plan::LoadPlan;
use report::LoadReport;
use scenarios::{Kind, Load, ScenarioName};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use worker::Worker;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LoadArgs {
    #[command(subcommand)]
    action: Option<LoadAction>,
    /// What to load.
    #[arg(long, value_enum, required = true, help_heading = help::OURS)]
    scenario: Option<ScenarioName>,
    /// Shape of the run: smoke, ramp, steady, spike, soak (scenarios/load/) or a TOML file.
    #[arg(long, value_name = "NAME|FILE", default_value = "smoke", help_heading = help::OURS)]
    load_profile: String,
    /// Issuer URL of the deployment to load; without it, the embedded reference server.
    #[arg(long, value_name = "ISSUER_URL", help_heading = help::OURS)]
    target: Option<String>,
    /// Clients and test user for --target (TOML, as for conform).
    #[arg(long, value_name = "FILE", requires = "target", help_heading = help::OURS)]
    target_config: Option<PathBuf>,
    /// What the target claims (its access-token format decides whether issued access tokens are
    /// validated as JWTs); the IDaaS profile when absent.
    #[arg(long, value_name = "FILE", help_heading = help::OURS)]
    profile: Option<PathBuf>,
    /// Where load.json, load.md and load.html are written.
    #[arg(long, value_name = "DIR", default_value = "oidc-harness-load", help_heading = help::OURS)]
    report_dir: PathBuf,
    /// Validate one issued token in this many: signature against the JWKS and claims (0: none).
    #[arg(long, value_name = "N", default_value_t = 50, help_heading = help::OURS)]
    validate_every: u64,
    #[command(flatten)]
    gate: GateArgs,
    /// Run as worker K of N (K from 0, as a Kubernetes completion index): this worker's share
    /// of the users or arrivals; `load merge` combines the workers' load.json files.
    #[arg(long, value_name = "K/N", requires = "start_at", env = "OIDC_HARNESS_WORKER", help_heading = help::OURS)]
    worker: Option<Worker>,
    /// When every worker starts its load (RFC 3339, e.g. 2026-12-01T10:00:00Z): the barrier
    /// that lines the workers' runs up.
    #[arg(long, value_name = "TIME", env = "OIDC_HARNESS_START_AT", help_heading = help::OURS)]
    start_at: Option<String>,
    /// Also print load.json as one line on stdout (for `kubectl logs`, which `load merge` reads).
    #[arg(long, help_heading = help::OURS)]
    json_line: bool,
    /// Print goose's other options (they apply to this command) and exit.
    #[arg(long, exclusive = true, help_heading = help::OURS)]
    goose_help: bool,
    #[command(flatten)]
    goose: GooseConfiguration,
}

#[derive(clap::Subcommand)]
enum LoadAction {
    /// Merge the load.json files of workers (`--worker K/N`) into one result, exactly
    /// (histograms added), and judge it as a single run would be.
    Merge(merge::MergeArgs),
}

/// How a result is judged: the same for a run and for a merge.
#[derive(clap::Args)]
pub struct GateArgs {
    /// An earlier load.json: fail when throughput drops or p99 rises beyond the limits below.
    #[arg(long, value_name = "FILE", help_heading = help::OURS)]
    baseline: Option<PathBuf>,
    /// Largest throughput drop against --baseline, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0, help_heading = help::OURS)]
    max_throughput_drop: f64,
    /// Largest p99 rise against --baseline, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 25.0, help_heading = help::OURS)]
    max_p99_rise: f64,
    /// Largest share of failed transactions, in percent (unstarted and unfinished arrivals
    /// count as failed).
    #[arg(long, value_name = "PERCENT", default_value_t = 1.0, help_heading = help::OURS)]
    max_error_rate: f64,
    /// Pass a run with scheduled arrivals that never started (the open model counts them as
    /// failed transactions all the same).
    #[arg(long, help_heading = help::OURS)]
    allow_unstarted: bool,
}

impl GateArgs {
    fn judging(&self, thresholds: &[String]) -> anyhow::Result<Judging> {
        if !(0.0..=100.0).contains(&self.max_error_rate) {
            bail!("--max-error-rate {}: give a percent from 0 to 100", self.max_error_rate);
        }
        let rules =
            thresholds.iter().map(|t| Rule::parse(t).map_err(|e| anyhow::anyhow!("--threshold {t:?}: {e}"))).collect::<Result<_, _>>()?;
        Ok(Judging {
            rules,
            baseline: self.baseline.as_deref().map(LoadReport::read).transpose()?,
            gate: judge::Gate { max_throughput_drop: self.max_throughput_drop, max_p99_rise: self.max_p99_rise },
            max_error_rate: self.max_error_rate,
            allow_unstarted: self.allow_unstarted,
        })
    }
}

const START_PASSED: &str = "--start-at passed while this worker was getting ready (the open model needs a second more to launch its users): give every worker a later time";

/// Users start over at most a second; open-model arrivals begin after it.
const LAUNCH: Duration = Duration::from_secs(1);

pub fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    if args.goose_help {
        help::print_goose_help();
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(LoadAction::Merge(merge)) = &args.action {
        return merge::run(merge);
    }
    let scenario = args.scenario.context("give --scenario")?;
    let plan = LoadPlan::load(&args.load_profile)?;
    let profile = match &args.profile {
        Some(path) => Profile::from_file(path)?,
        None => Profile::idaas(),
    };
    let goose = &args.goose;
    help::refuse(goose)?;
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
        bail!("with --users or --increase-rate, give --run-time or --iterations: every load run is bounded");
    }
    if args.worker.is_some() && shaped_by_others(goose) {
        bail!(
            "--worker shares the load profile's users or arrivals: give the shape in the profile, not with --users, --iterations or --increase-rate"
        );
    }
    // Our rules, judged on our histograms: goose's would judge its own per-request times, which
    // leave out the wait for a free user.
    let judging = args.gate.judging(&goose.threshold)?;
    let start_at = args.start_at.as_deref().map(|t| worker::start_at(t, SystemTime::now())).transpose()?;
    // --run-time alone changes only how long the profile's shape lasts: its users, ramp and mix
    // stay.
    let mut goose = goose.clone();
    goose.threshold.clear();
    let plan = match (&goose.run_time, shaped_by_others(&goose)) {
        (Some(run_time), false) => {
            let total = plan::duration(run_time).with_context(|| format!("--run-time {run_time}"))?;
            goose.run_time = None;
            plan.with_run_time(total)?
        }
        _ => plan,
    };
    // The workers of one run must agree on the plan: its digest goes into every load.json.
    let digest = plan.digest(scenario);
    let plan = match args.worker {
        Some(w) => plan.share(w)?,
        None => plan,
    };
    crate::report_dir::prepare(&args.report_dir, &report::FILES)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let run = Run { args: &args, scenario, goose: &goose, plan: &plan, digest, start_at };
    let mut report = runtime.block_on(load(run, profile))?;
    conclude(&mut report, &judging, &args.report_dir, args.json_line)
}

/// Judges `report`, writes its reports and says the verdict: a run's and a merge's last step.
fn conclude(report: &mut LoadReport, judging: &Judging, dir: &std::path::Path, json_line: bool) -> anyhow::Result<ExitCode> {
    report.verdicts = judging.judge(report);
    // The JSON line first: a worker whose report folder cannot be written still hands its result
    // over, and a reader that went away does not change the exit code.
    if json_line {
        let line = serde_json::to_string(report).context("serialising load.json")?;
        if let Err(e) = crate::stdout::try_print(&format!("{line}\n")) {
            eprintln!("load: the result could not be printed on stdout ({e}); load.json has it");
        }
    }
    report.write(dir)?;
    eprint!("{}", report.markdown());
    eprintln!("load: reports in {}", dir.display());
    if let Some(why) = &report.stopped {
        eprintln!("load: {why}");
    }
    if report.validation.invalid > 0 {
        eprintln!("load: {} issued tokens failed validation", report.validation.invalid);
    }
    for v in report.verdicts.iter().filter(|v| !v.passed) {
        eprintln!("load: failed: {}", v.line());
    }
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// What one run needs besides the target.
struct Run<'a> {
    args: &'a LoadArgs,
    scenario: ScenarioName,
    goose: &'a GooseConfiguration,
    /// This worker's share of the plan (all of it without `--worker`).
    plan: &'a LoadPlan,
    digest: String,
    start_at: Option<SystemTime>,
}

async fn load(run: Run<'_>, profile: Profile) -> anyhow::Result<LoadReport> {
    let (args, scenario, plan) = (run.args, run.scenario, run.plan);
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
    let kinds: Vec<Kind> = scenario.kinds().into_iter().filter(|k| plan.weight(*k, scenario) > 0).collect();
    if let Some(kind) = kinds.iter().find(|k| k.registration(&ctx.target).is_none()) {
        bail!("{}", kind.missing());
    }
    for kind in &kinds {
        if let Some(member) = kind.endpoints().iter().find(|e| ctx.endpoint(e).is_none()) {
            bail!("the {} scenario sends requests to the {member}, which the target's discovery does not name", kind.name());
        }
    }
    if kinds.iter().any(|k| *k != Kind::ClientCredentials) && ctx.target.user.is_none() {
        bail!("the {} scenario logs a user in: the target file needs a [user]", scenario.name());
    }
    let issuer = url::Url::parse(&ctx.issuer).context("the issuer is not a URL")?;
    let host = issuer.origin().ascii_serialization();
    let embedded = server.is_some();
    let issuer = ctx.issuer.clone();

    // The load starts at `origin`: the shared start time of workers, or now (after the launch
    // second of the open model's users). Closed-model users start at it; open-model users a
    // launch second before, so that the first arrivals find them ready.
    let lead = if plan.open.is_some() { LAUNCH } else { Duration::ZERO };
    let origin = match run.start_at {
        Some(at) => match at.duration_since(SystemTime::now()) {
            Ok(wait) => Instant::now() + wait,
            Err(_) => bail!("{}", START_PASSED),
        },
        None => Instant::now() + lead,
    };
    let run_time = plan.run_time()?;
    let pacer = plan.open.as_ref().map(|open| pacing::Pacer::new(open, origin, args.worker)).transpose()?;
    let load = Arc::new(Load {
        ctx,
        stats: stats::Stats::new(origin, stats::series_interval(run_time)),
        pacer,
        jwks: tokio::sync::Mutex::new(crate::engine::key_set::KeySet::new(Some(jwks))),
        validate_every: args.validate_every,
        issued: Default::default(),
        end: origin + run_time,
        unanswered: Default::default(),
        stopped: Default::default(),
        mix: kinds.iter().map(|k| (*k, plan.weight(*k, scenario))).collect(),
        picked: Default::default(),
    });

    let mut config = run.goose.clone();
    config.host = Some(host);
    // Response bodies in goose's debug log would be tokens; headers are safe (credentials are
    // sensitive header values, printed as `Sensitive`).
    config.no_debug_body = true;
    let mut attack = GooseAttack::initialize_with_config(config.clone()).map_err(help::goose_error)?;
    if !shaped_by_command_line(&config) {
        attack = *attack.set_default(GooseDefault::TestPlan, test_plan(plan, LAUNCH)?.as_str()).map_err(help::goose_error)?;
    }
    attack = *attack.set_default(GooseDefault::NoPrintMetrics, true).map_err(help::goose_error)?;
    // goose's controllers listen on fixed ports: off unless asked, so two runs never collide.
    if config.telnet_host.is_none() && config.telnet_port.is_none() {
        attack = *attack.set_default(GooseDefault::NoTelnet, true).map_err(help::goose_error)?;
    }
    // (goose 0.19's WebSocket controller is off unless --websocket is given.)
    // One goose scenario: every user runs the mix, so the weights hold over transactions (goose
    // weighs scenarios by whole users).
    attack = attack.register_scenario(Scenario::new(&scenario.name()).register_transaction(scenarios::transaction(load.clone())));

    // A worker that starts late would put its transactions on the others' time axis wrongly.
    if run.start_at.is_some() && Instant::now() > origin - lead {
        bail!("{}", START_PASSED);
    }
    tokio::time::sleep_until(origin - lead).await;
    let _goose_prints_to_stderr = crate::stdout::ToStderr::new();
    let progress = tokio::spawn(progress(load.clone()));
    // The run ends when goose's plan does, when the open model's arrivals are all done (the
    // plan leaves a grace period for a backlog), or at once when the target stopped answering.
    // goose's users are then left idle and go with the runtime.
    // Every run is bounded in time, whatever goose's plan: the open model's schedule and grace
    // period, the closed model's run time and a minute for the transactions under way (a run of
    // --iterations is bounded by their count and the request timeout).
    let bound = match (&load.pacer, &run.goose.run_time, run.goose.iterations) {
        (Some(_), _, _) => Some(run_time + grace(run_time)),
        (None, Some(t), _) => Some(plan::duration(t)? + Duration::from_secs(60)),
        (None, None, Some(_)) => None,
        (None, None, None) => Some(run_time + Duration::from_secs(60)),
    };
    let deadline = async {
        match bound {
            Some(bound) => tokio::time::sleep_until(origin + bound).await,
            None => std::future::pending().await,
        }
    };
    let result = tokio::select! {
        result = attack.execute() => Some(result),
        () = arrivals_done(&load) => None,
        () = deadline => {
            // The open model's grace period ends here; a closed-model run never should.
            if load.pacer.is_none() {
                let _ = load.stopped.set("stopped at the run's time bound: goose's users were still busy a minute after the end of the run (is the target answering?)".into());
            }
            None
        }
        () = stopped_early(&load) => None,
    };
    progress.abort();
    if let Some(Err(e)) = result {
        return Err(help::goose_error(e));
    }
    // Every open-model arrival is accounted for: one still queued or under way after the grace
    // period counts as failed, timed to now; it would otherwise vanish from the percentiles.
    // Arrivals not even due yet (the load stopped early) were cancelled, not late: they are not
    // timed, and the run fails by `stopped` and the arrivals' count.
    let now = Instant::now();
    let (unstarted, cancelled): (Vec<Instant>, Vec<Instant>) =
        load.pacer.as_ref().map_or(Vec::new(), |p| p.take_rest()).into_iter().partition(|due| *due <= now);
    for due in &unstarted {
        let kind = scenarios::pick(&load.mix, load.picked.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        load.stats.record(kind.name(), due.elapsed(), false);
        load.stats.error("unstarted".into());
    }
    let (unfinished, cancelled_under_way) = load.stats.seal(load.pacer.is_some());
    let cancelled = cancelled.len() as u64 + cancelled_under_way;
    let window = load.stats.window();
    if let Some(server) = server {
        server.shutdown().await;
    }
    let window_s = window.as_secs_f64().max(0.001);
    let (transactions, errors, validation) = load.stats.summary(window_s);
    let mix = match scenario.kinds().len() {
        1 => Default::default(),
        _ => report::mix(&Kind::ALL.iter().map(|k| (k.name().to_string(), plan.weight(*k, scenario))).collect(), &transactions),
    };
    let arrivals = load.pacer.as_ref().map(|p| report::Arrivals {
        scheduled: p.total(),
        started: p.total() - unstarted.len() as u64 - cancelled,
        unfinished,
        cancelled,
    });
    // Workers given one --start-at have the same origin to the millisecond: `load merge` checks it.
    let origin_unix_ms = match run.start_at {
        Some(at) => unix_ms(at),
        None => unix_ms(SystemTime::now()).saturating_sub(u64::try_from(origin.elapsed().as_millis()).unwrap_or(0)),
    };
    Ok(LoadReport {
        schema: report::SCHEMA.into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        scenario: scenario.name(),
        load_profile: plan.description.clone(),
        plan_digest: run.digest,
        model: if plan.open.is_some() { "open" } else { "closed" }.into(),
        issuer,
        embedded,
        started: origin_unix_ms / 1000,
        origin_unix_ms,
        duration_s: (window_s * 10.0).round() / 10.0,
        series_interval_s: load.stats.interval().as_secs(),
        histogram_digits: stats::SIGNIFICANT_DIGITS,
        worker: args.worker,
        workers: 1,
        arrivals,
        transactions,
        errors,
        validation,
        stopped: load.stopped.get().cloned(),
        mix,
        verdicts: Vec::new(),
    })
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

/// How long the open model's users go on past the schedule to clear a backlog: a tenth of the
/// run, between 2 and 30 seconds.
fn grace(run_time: Duration) -> Duration {
    (run_time / 10).clamp(Duration::from_secs(2), Duration::from_secs(30))
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

/// goose's test plan ("users,time;...") for the load profile. The open model's users stay up
/// past the schedule's grace period: its end is ours (`load`), so that no arrival under way is
/// cut off unseen.
fn test_plan(plan: &LoadPlan, launch: Duration) -> anyhow::Result<String> {
    // goose's time spans are whole seconds.
    let secs = |d: Duration| format!("{}s", d.as_millis().div_ceil(1000));
    Ok(match (&plan.closed, &plan.open) {
        (Some(c), _) => format!("{},{};{},{};0,0s", c.users, secs(plan::duration(&c.ramp)?), c.users, secs(plan::duration(&c.hold)?)),
        // Every user up within the launch second, then held while the arrivals last.
        (_, Some(o)) => format!(
            "{},{};{},{};0,0s",
            o.max_users,
            secs(launch),
            o.max_users,
            secs(plan.run_time()? + grace(plan.run_time()?) + Duration::from_secs(5))
        ),
        _ => bail!("the load profile has no [closed] or [open]"),
    })
}

/// Returns once the load has stopped early.
async fn stopped_early(load: &Load) {
    while load.stopped.get().is_none() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Returns once every open-model arrival was started and has ended (never, in the closed model).
async fn arrivals_done(load: &Load) {
    let Some(pacer) = &load.pacer else { return std::future::pending().await };
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if pacer.issued() == pacer.total() && load.stats.progress().0 >= pacer.total() {
            return;
        }
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
