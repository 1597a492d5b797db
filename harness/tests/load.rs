//! `oidc-harness load` end to end, in short bounded runs against the reference server on
//! 127.0.0.1: every scenario, the open model's schedule, the baseline gate, and a server that
//! issues bad tokens fast; distributed workers and their merge.

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_oidc-harness");
const TARGET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../targets/reference-server.toml");
/// The secrets targets/reference-server.toml names, as the reference server's defaults have them.
const SECRETS: [(&str, &str); 4] = [
    ("OH_SERVICE_SECRET", "service-client-secret"),
    ("OH_WEB_SECRET", "web-app-secret"),
    ("OH_WEB_POST_SECRET", "web-app-post-secret"),
    ("OH_USER_PASSWORD", "bob-password"),
];

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oidc-harness-load-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A load profile file in `dir`.
fn plan(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("plan.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn load(dir: &Path, args: &[&str]) -> (Output, Option<Value>) {
    let out = Command::new(BIN).arg("load").args(args).arg("--report-dir").arg(dir).output().unwrap();
    let report = std::fs::read_to_string(dir.join("load.json")).ok().map(|t| serde_json::from_str(&t).unwrap());
    (out, report)
}

const CLOSED_MIX: &str = "description = \"test: 4 users, 2 s\"\n[closed]\nusers = 4\nramp = \"0s\"\nhold = \"2s\"\n\
    [mix]\nclient-credentials = 1\nauthorization-code = 1\nrefresh = 1\nuserinfo = 1\n";

#[test]
fn a_mixed_closed_run_exercises_every_scenario_and_writes_its_reports() {
    let dir = temp("mixed");
    let plan = plan(&dir, CLOSED_MIX);
    let (out, report) = load(&dir, &["--scenario", "mixed", "--load-profile", plan.to_str().unwrap(), "--validate-every", "5"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report = report.expect("load.json");
    assert_eq!(report["schema"], "oidc-harness/load/1");
    assert_eq!(
        (report["scenario"].as_str(), report["model"].as_str(), report["embedded"].as_bool()),
        (Some("mixed"), Some("closed"), Some(true))
    );
    for name in ["client-credentials", "authorization-code", "refresh", "userinfo"] {
        let t = &report["transactions"][name];
        assert!(t["count"].as_u64().unwrap() > 0 && t["failed"] == 0, "{name}: {t}");
        let l = &t["latency_us"];
        assert!(l["p50"].as_u64() <= l["p99"].as_u64() && l["p99"].as_u64() <= l["max"].as_u64(), "{name}: {l}");
        assert!(!t["histogram"].as_str().unwrap().is_empty());
    }
    assert!(report["validation"]["sampled"].as_u64().unwrap() > 0 && report["validation"]["invalid"] == 0, "{}", report["validation"]);
    assert_eq!(report["errors"], serde_json::json!({}));
    assert!(out.stdout.is_empty(), "stdout is for results (--json-line) only: {}", String::from_utf8_lossy(&out.stdout));
    assert!(std::fs::read_to_string(dir.join("load.md")).unwrap().starts_with("# Load: mixed"));
    let html = std::fs::read_to_string(dir.join("load.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Throughput"), "load.html has its charts");
    assert!(!dir.join("report.html").exists(), "goose's report (charts from a CDN, its own times) is not written unless asked");
}

#[test]
fn the_open_model_keeps_its_schedule_and_the_baseline_gate_bites() {
    let dir = temp("open");
    let plan = plan(&dir, "description = \"test: 100/s for 2 s\"\n[open]\nmax_users = 4\n[[open.step]]\nrate = 100.0\nduration = \"2s\"\n");
    let plan = plan.to_str().unwrap();
    let (out, report) = load(&dir, &["--scenario", "client-credentials", "--load-profile", plan]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = report.unwrap();
    assert_eq!(report["model"], "open");
    assert_eq!(report["arrivals"], serde_json::json!({ "scheduled": 200, "started": 200, "unfinished": 0, "cancelled": 0 }));
    assert_eq!(report["transactions"]["client-credentials"]["count"], 200, "every arrival ran, none more");

    // A baseline ten times faster: the gate fails the run and says why.
    let mut faster = report.clone();
    let t = &mut faster["transactions"]["client-credentials"];
    t["throughput_per_s"] = (t["throughput_per_s"].as_f64().unwrap() * 10.0).into();
    let baseline = dir.join("baseline.json");
    std::fs::write(&baseline, faster.to_string()).unwrap();
    let again = temp("open-again");
    let (out, _) = load(&again, &["--scenario", "client-credentials", "--load-profile", plan, "--baseline", baseline.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed: ✗ baseline: client-credentials throughput drop at most 10%"), "{stderr}");
    // Against itself with generous limits it passes.
    std::fs::write(&baseline, report.to_string()).unwrap();
    let limits = ["--max-throughput-drop", "90", "--max-p99-rise", "100000"];
    let (out, _) = load(
        &again,
        &[&["--scenario", "client-credentials", "--load-profile", plan, "--baseline", baseline.to_str().unwrap()][..], &limits].concat(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `oidc-harness load --scenario client-credentials` against a live server at `issuer` with
/// targets/reference-server.toml and its secrets, `extra` arguments after them (blocking: call it
/// from `spawn_blocking` while the server runs).
fn load_live(issuer: &str, dir: &Path, extra: &[&std::ffi::OsStr]) -> Output {
    load_live_with(issuer, dir, "client-credentials", extra, &[])
}

/// `load_live` of `scenario`, with `env` over the secrets.
fn load_live_with(issuer: &str, dir: &Path, scenario: &str, extra: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(["load", "--scenario", scenario, "--target", issuer, "--target-config", TARGET, "--report-dir"])
        .arg(dir)
        .args(extra)
        .envs(SECRETS)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// A fast server that issues bad tokens must not look good: a target whose access tokens name
/// the client in `cid` fails the sampled validation, and the run exits 1.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_that_fail_validation_fail_the_run() {
    let config = reference_server::Config { faults: vec![reference_server::faults::Fault::AccessTokenCid], ..Default::default() };
    let server = reference_server::start(config).await.unwrap();
    let issuer = server.issuer().to_string();
    let dir = temp("bad-tokens");
    let plan = plan(&dir, "description = \"test\"\n[closed]\nusers = 1\nramp = \"0s\"\nhold = \"1s\"\n");
    let out = tokio::task::spawn_blocking(move || {
        load_live(&issuer, &dir, &["--validate-every".as_ref(), "1".as_ref(), "--load-profile".as_ref(), plan.as_os_str()])
    })
    .await
    .unwrap();
    server.shutdown().await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("access token: claims: missing client_id; client_id: client_id absent"), "{stderr}");
}

#[test]
fn bad_options_get_one_sentence() {
    let dir = temp("bad");
    for (args, message) in [
        (&["--scenario", "client-credentials", "--load-profile", "nope"][..], "no load profile `nope`"),
        (&["--scenario", "client-credentials", "--host", "http://127.0.0.1:9"][..], "--host is set from --target"),
        (&["--scenario", "client-credentials", "--users", "2"][..], "give --run-time or --iterations"),
        (&["--scenario", "client-credentials", "--run-time", "0"][..], "--run-time 0: give a run time above zero"),
        (&["--scenario", "client-credentials", "--iterations", "0", "--users", "1"][..], "--iterations 0"),
        (&["--scenario", "client-credentials", "--users", "0", "--run-time", "1s"][..], "--users 0"),
        (&["--scenario", "client-credentials", "--worker", "3/3", "--start-at", "2030-01-01T00:00:00Z"][..], "K counts from 0"),
        (&["--scenario", "client-credentials", "--worker", "0/3", "--start-at", "tomorrow"][..], "give an RFC 3339 time"),
        (&["--scenario", "client-credentials", "--worker", "0/3", "--start-at", "2020-01-01T00:00:00Z"][..], "s ago"),
        (&["--scenario", "client-credentials", "--threshold", "p95"][..], "--threshold \"p95\": it has no operator"),
        (&["--scenario", "client-credentials", "--threshold-abort-delay", "5s"][..], "judged once, at the end of the run"),
        (&["merge", "/nonexistent/load.json"][..], "/nonexistent/load.json"),
        (&["--scenario", "client-credentials", "--test-plan", "10,1s;10,100h"][..], "give the run's shape in a load profile"),
        (&["--scenario", "client-credentials", "--no-autostart", "--websocket"][..], "--no-autostart: the run starts on its own"),
        (&["--scenario", "client-credentials", "--max-error-rate", "150"][..], "--max-error-rate 150: give a percent"),
    ] {
        let (out, _) = load(&dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// An unwritable report directory is refused before any load, not after the whole run.
#[test]
fn an_unwritable_report_dir_is_refused_before_the_load() {
    let dir = temp("unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let out =
        Command::new(BIN).args(["load", "--scenario", "client-credentials", "--report-dir"]).arg(file.join("reports")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--report-dir") && stderr.contains("cannot create it"), "{stderr}");
    assert!(!stderr.contains("users launched"), "no load ran: {stderr}");
}

/// A scenario whose client the target file lacks stops before any load, naming the table: it
/// was a loop of failing requests that grew without bound.
#[tokio::test(flavor = "multi_thread")]
async fn a_scenario_without_its_client_is_refused_before_any_load() {
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let issuer = server.issuer().to_string();
    let dir = temp("no-service");
    let target = dir.join("target.toml");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&target, "[clients.public]\nclient_id = \"spa-app\"\nredirect_uri = \"https://spa.example.test/callback\"\n").unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["load", "--scenario", "client-credentials", "--target", &issuer, "--target-config"])
            .arg(&target)
            .arg("--report-dir")
            .arg(&dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    server.shutdown().await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the client-credentials scenario needs [clients.service]"), "{stderr}");
}

/// A target that stops answering ends the load early with a sentence (a loop of transport errors
/// was the whole run), and the run fails.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_stops_answering_stops_the_load_and_fails_it() {
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let issuer = server.issuer().to_string();
    let dir = temp("stops-answering");
    let plan = plan(&dir, "description = \"test\"\n[closed]\nusers = 4\nramp = \"0s\"\nhold = \"120s\"\n");
    let run = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let out = load_live(&issuer, &dir, &["--load-profile".as_ref(), plan.as_os_str()]);
        (out, started.elapsed())
    });
    // The load is under way when the server goes.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    server.shutdown().await;
    let (out, took) = run.await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("in a row got no HTTP answer"), "{stderr}");
    // It stopped at once, not at the planned end two minutes on.
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
}

/// The load goes only where the target's own discovery points: an issuer that differs from
/// --target (here by a trailing slash) is refused before any load.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_whose_discovery_names_another_issuer_is_refused() {
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let issuer = format!("{}/", server.issuer());
    let dir = temp("other-issuer");
    let out = tokio::task::spawn_blocking(move || load_live(&issuer, &dir, &[])).await.unwrap();
    server.shutdown().await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("differs from the issuer given"), "{stderr}");
}

/// An open-model schedule the target cannot keep up with (one user, far more arrivals than it can
/// serve) leaves arrivals unstarted: the run fails saying how many, instead of reporting the
/// percentiles of the lucky ones.
#[test]
fn arrivals_that_never_started_fail_the_run() {
    let dir = temp("unstarted");
    let plan = plan(&dir, "description = \"test\"\n[open]\nmax_users = 1\n[[open.step]]\nrate = 20000.0\nduration = \"2s\"\n");
    let (out, report) = load(&dir, &["--scenario", "authorization-code", "--load-profile", plan.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed: ✗ every scheduled arrival started:"), "{stderr}");
    let report = report.expect("load.json");
    let arrivals = &report["arrivals"];
    let (scheduled, started) = (arrivals["scheduled"].as_u64().unwrap(), arrivals["started"].as_u64().unwrap());
    assert!(started < scheduled, "{arrivals}");
    // Every arrival is accounted for: the unstarted ones are failed transactions, timed from when
    // they were due to the end of the grace period, so the tail shows the backlog.
    let t = &report["transactions"]["authorization-code"];
    assert_eq!(t["count"].as_u64(), Some(scheduled), "{t}");
    assert_eq!(report["errors"]["unstarted"].as_u64(), Some(scheduled - started), "{}", report["errors"]);
    assert!(t["latency_us"]["p99"].as_u64().unwrap() > 1_000_000, "{t}");
    // Both waived: the schedule's verdict, and the error rate the unstarted arrivals count in.
    let waived = ["--allow-unstarted", "--max-error-rate", "100"];
    let (out, _) = load(&dir, &[&["--scenario", "authorization-code", "--load-profile", plan.to_str().unwrap()][..], &waived].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The mix's weights hold over transactions, whatever the users: one user runs all four kinds
/// in their shares (goose weighs scenarios by whole users, which left three kinds out).
#[test]
fn one_user_runs_the_whole_mix_in_its_weights() {
    let dir = temp("one-user-mix");
    let plan = plan(
        &dir,
        "description = \"test\"\n[closed]\nusers = 1\nramp = \"0s\"\nhold = \"2s\"\n\n[mix]\nclient-credentials = 1\nauthorization-code = 1\nrefresh = 1\nuserinfo = 1\n",
    );
    let (out, report) = load(&dir, &["--scenario", "mixed", "--load-profile", plan.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mix = &report.expect("load.json")["mix"];
    for (kind, m) in mix.as_object().unwrap() {
        let got = m["measured_percent"].as_f64().unwrap();
        assert!((got - 25.0).abs() <= 1.0, "{kind}: {mix}");
    }
    let md = std::fs::read_to_string(dir.join("load.md")).unwrap();
    assert!(md.contains("| refresh | 25.0% |") && !md.contains("got no transaction"), "{md}");
}

/// `--run-time` alone keeps the load profile's users and mix: the mixed scenario still runs every
/// kind of transaction (it used to fall back to goose's one user per CPU).
#[test]
fn a_run_time_override_keeps_the_profiles_users_and_mix() {
    let dir = temp("run-time-override");
    let plan = plan(
        &dir,
        "description = \"test\"\n[closed]\nusers = 8\nramp = \"0s\"\nhold = \"30s\"\n\n[mix]\nclient-credentials = 1\nauthorization-code = 1\nrefresh = 1\nuserinfo = 1\n",
    );
    let (out, report) = load(&dir, &["--scenario", "mixed", "--load-profile", plan.to_str().unwrap(), "--run-time", "3s"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report = report.expect("load.json");
    assert!(report["duration_s"].as_f64().unwrap() < 10.0, "the run lasted {}", report["duration_s"]);
    let transactions = report["transactions"].as_object().expect("transactions by name");
    for kind in ["client-credentials", "authorization-code", "refresh", "userinfo"] {
        assert!(transactions.get(kind).is_some_and(|t| t["count"].as_u64() > Some(0)), "{kind} ran: {transactions:?}");
        // The mix is reported asked and got; equal weights ask a quarter each.
        assert_eq!(report["mix"][kind]["requested_percent"], 25.0, "{}", report["mix"]);
        assert!(report["mix"][kind]["measured_percent"].as_f64() > Some(0.0), "{}", report["mix"]);
    }
    let md = std::fs::read_to_string(dir.join("load.md")).unwrap();
    assert!(md.contains("## Mix") && !md.contains("got no transaction"), "{md}");
}

#[test]
fn a_failed_threshold_rule_fails_the_run_and_is_judged_on_our_histograms() {
    let dir = temp("threshold");
    let plan = plan(&dir, "description = \"test\"\n[closed]\nusers = 1\nramp = \"0s\"\nhold = \"2s\"\n");
    let args = ["--scenario", "client-credentials", "--load-profile", plan.to_str().unwrap(), "--threshold", "rps>=1000000"];
    let (out, report) = load(&dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("load: failed: ✗ rps>=1000000"), "{stderr}");
    let verdicts = &report.unwrap()["verdicts"];
    // The built-in error-rate rule first, then the user's.
    assert_eq!(
        (verdicts[0]["rule"].as_str(), verdicts[0]["passed"].as_bool()),
        (Some("failed transactions at most 1% (--max-error-rate)"), Some(true)),
        "{verdicts}"
    );
    assert_eq!((verdicts[1]["rule"].as_str(), verdicts[1]["passed"].as_bool()), (Some("rps>=1000000"), Some(false)), "{verdicts}");
    assert_eq!(verdicts[1]["basis"], "successful transactions over the measured window");
    // A rule that holds passes; a rule goose would take but that names no transaction of ours is
    // refused before any load.
    let args = [
        "--scenario",
        "client-credentials",
        "--load-profile",
        plan.to_str().unwrap(),
        "--threshold",
        "p99<30s",
        "--threshold",
        "error-rate<=0%",
    ];
    let (out, report) = load(&dir, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.unwrap()["verdicts"][1]["basis"].as_str().unwrap().contains("intended start"));
    let (out, _) = load(&dir, &["--scenario", "refresh", "--threshold", "p95<1s for GET /token"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("name a transaction, one of client-credentials"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn goose_logs_never_get_request_bodies_or_credentials() {
    let dir = temp("logs");
    let (out, _) = load(&dir, &["--scenario", "client-credentials", "--request-log", "r.log", "--request-body"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--request-body would write client secrets"), "{stderr}");

    // Headers are logged, but the Basic credentials only as `Sensitive`.
    let plan = plan(&dir, "description = \"test\"\n[closed]\nusers = 1\nramp = \"0s\"\nhold = \"1s\"\n");
    let log = dir.join("requests.log");
    let (out, _) =
        load(&dir, &["--scenario", "client-credentials", "--load-profile", plan.to_str().unwrap(), "--request-log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("authorization") && text.contains("Sensitive"), "{}", &text[..text.len().min(600)]);
    let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "service-client:service-client-secret");
    assert!(!text.contains(&basic) && !text.contains("service-client-secret"), "credentials in the request log");
}

/// A scenario whose endpoint the target's discovery does not name stops before any load (it was
/// a loop of failing transactions).
#[tokio::test(flavor = "multi_thread")]
async fn a_scenario_without_its_endpoint_is_refused_before_any_load() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let mock = MockServer::start().await;
    let issuer = format!("{}/api/oidc", mock.uri());
    let get = |p: &str| reqwest::get(format!("{}{p}", server.issuer()));
    let meta = get("/.well-known/openid-configuration").await.unwrap().text().await.unwrap();
    let jwks: Value = get("/jwks").await.unwrap().json().await.unwrap();
    let mut meta: Value = serde_json::from_str(&meta.replace(server.issuer(), &issuer)).unwrap();
    server.shutdown().await;
    meta.as_object_mut().unwrap().remove("userinfo_endpoint");
    Mock::given(method("GET"))
        .and(path("/api/oidc/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta))
        .mount(&mock)
        .await;
    Mock::given(method("GET")).and(path("/api/oidc/jwks")).respond_with(ResponseTemplate::new(200).set_body_json(jwks)).mount(&mock).await;
    let dir = temp("no-userinfo");
    let out = tokio::task::spawn_blocking(move || load_live_with(&issuer, &dir, "userinfo", &[], &[])).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the userinfo scenario sends requests to the userinfo_endpoint, which the target's discovery does not name"),
        "{stderr}"
    );
    assert!(mock.received_requests().await.unwrap().iter().all(|r| r.method == wiremock::http::Method::GET), "no load was sent");
}

/// A target that refuses every request has not passed a load test: the built-in error-rate rule
/// fails the run (a wrong client secret: every token request is a 401). A failure that comes
/// back fast is not throughput either.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_whose_every_transaction_failed_fails() {
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let issuer = server.issuer().to_string();
    let dir = temp("all-failed");
    let plan = plan(&dir, "description = \"test\"\n[closed]\nusers = 1\nramp = \"0s\"\nhold = \"1s\"\n");
    let report_dir = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        let wrong = [("OH_SERVICE_SECRET", "not-the-secret")];
        load_live_with(&issuer, &report_dir, "client-credentials", &["--load-profile".as_ref(), plan.as_os_str()], &wrong)
    })
    .await
    .unwrap();
    server.shutdown().await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("load: failed: ✗ failed transactions at most 1% (--max-error-rate)"), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("load.json")).unwrap()).unwrap();
    let t = &report["transactions"]["client-credentials"];
    assert!(t["failed"].as_u64() > Some(0) && t["ok"] == 0, "{t}");
    assert_eq!(t["throughput_per_s"], 0.0, "{t}");
    assert!(report["errors"]["401 invalid_client"].as_u64() > Some(0), "{}", report["errors"]);
}

// --- Distributed load: three worker processes (`load --worker K/3`) with a shared `--start-at`
// against one reference server, then `load merge` of their `--json-line` output, as `kubectl
// logs` would give it. The merged counts are the sums, and the merged percentiles are those of
// one histogram of every worker's samples.

fn histogram(text: &str) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).unwrap();
    let mut h: Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap();
    h.auto(true);
    h
}

/// Runs worker 0..n of `plan` at one start time against `issuer`; returns each worker's output.
fn workers(issuer: &str, dir: &Path, plan: &Path, scenario: &str, n: u32) -> Vec<Output> {
    let start = SystemTime::now() + Duration::from_secs(4);
    let start = chrono::DateTime::<chrono::Utc>::from(start).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let children: Vec<_> = (0..n)
        .map(|k| {
            Command::new(BIN)
                .args(["load", "--scenario", scenario, "--target", issuer, "--target-config", TARGET, "--json-line"])
                .arg("--load-profile")
                .arg(plan)
                .arg("--report-dir")
                .arg(dir.join(format!("worker-{k}")))
                .args(["--worker", &format!("{k}/{n}"), "--start-at", &start])
                .envs(SECRETS)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.into_iter().map(|c| c.wait_with_output().unwrap()).collect()
}

fn merge(dir: &Path, inputs: &[&Path]) -> Output {
    Command::new(BIN).args(["load", "merge"]).args(inputs).arg("--report-dir").arg(dir).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_merge_into_the_exact_result_of_their_samples() {
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let issuer = server.issuer().to_string();
    let dir = temp("workers-open");
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, "description = \"test: 150/s for 2 s\"\n[open]\nmax_users = 6\n[[open.step]]\nrate = 150.0\nduration = \"2s\"\n")
        .unwrap();
    let (d, p) = (dir.clone(), plan.clone());
    let outputs = tokio::task::spawn_blocking(move || workers(&issuer, &d, &p, "client-credentials", 3)).await.unwrap();
    // The workers' stdout, one JSON line each: what `kubectl logs` collects.
    let mut log = String::new();
    for (k, out) in outputs.iter().enumerate() {
        assert!(out.status.success(), "worker {k}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout.clone()).unwrap();
        assert_eq!(stdout.lines().count(), 1, "worker {k}: stdout holds the result only: {stdout}");
        log.push_str(&stdout);
        log.push_str("load: a progress line on the way\n");
    }
    let logs = dir.join("workers.log");
    std::fs::write(&logs, &log).unwrap();
    let reports: Vec<Value> = log.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    let merged_dir = dir.join("merged");
    let out = tokio::task::spawn_blocking(move || merge(&merged_dir, &[&logs])).await.unwrap();
    server.shutdown().await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("merged/load.json")).unwrap()).unwrap();

    // Every worker ran its share of the one schedule, from the one start.
    let sum = |f: &dyn Fn(&Value) -> u64| reports.iter().map(f).sum::<u64>();
    assert_eq!(sum(&|r| r["arrivals"]["scheduled"].as_u64().unwrap()), 300);
    assert_eq!(reports.iter().map(|r| r["origin_unix_ms"].as_u64()).collect::<std::collections::BTreeSet<_>>().len(), 1);
    assert_eq!(merged["arrivals"]["scheduled"], 300);
    assert_eq!(merged["arrivals"]["started"], 300);
    assert_eq!((merged["workers"].as_u64(), merged.get("worker")), (Some(3), None));
    let t = &merged["transactions"]["client-credentials"];
    let count = sum(&|r| r["transactions"]["client-credentials"]["count"].as_u64().unwrap());
    assert_eq!((t["count"].as_u64(), t["failed"].as_u64()), (Some(count), Some(0)));
    assert_eq!(count, 300);
    // The merged percentiles are one histogram's of all the samples.
    let mut all = histogram(reports[0]["transactions"]["client-credentials"]["histogram"].as_str().unwrap());
    for r in &reports[1..] {
        all.add(histogram(r["transactions"]["client-credentials"]["histogram"].as_str().unwrap())).unwrap();
    }
    assert_eq!(all.len(), count);
    let l = &t["latency_us"];
    for (field, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_9", 0.999)] {
        assert_eq!(l[field].as_u64(), Some(all.value_at_quantile(q)), "{field}");
    }
    assert_eq!(l["max"].as_u64(), Some(all.max()));
    // The time series adds up to the counts; throughput is over the common window.
    let series: u64 = t["series"].as_array().unwrap().iter().map(|p| p["count"].as_u64().unwrap()).sum();
    assert_eq!(series, count);
    let window = merged["duration_s"].as_f64().unwrap();
    let ok = t["ok"].as_u64().unwrap() as f64;
    assert!((t["throughput_per_s"].as_f64().unwrap() - ok / window).abs() < 0.01 * ok / window, "{t}");
    assert!((1.9..4.0).contains(&window), "the window is the schedule's, not a worker's shutdown: {window}");
    let html = std::fs::read_to_string(dir.join("merged/load.html")).unwrap();
    assert!(html.contains("merged from 3 workers"));

    // Not one run's workers: refused with a sentence, exit 2.
    let one = dir.join("worker-1");
    let out = merge(&dir.join("partial"), &[&dir.join("worker-0"), &one]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("worker 2/3's result is missing"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = merge(&dir.join("twice"), &[&dir.join("worker-0"), &one, &one]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("worker 1/3 is there twice"), "{}", String::from_utf8_lossy(&out.stderr));
    let mut other = reports[2].clone();
    other["plan_digest"] = "0".repeat(64).into();
    let other_file = dir.join("other.json");
    std::fs::write(&other_file, other.to_string()).unwrap();
    let out = merge(&dir.join("other"), &[&dir.join("worker-0"), &one, &other_file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a worker of the same run"), "{}", String::from_utf8_lossy(&out.stderr));
    // A result that does not add up is refused, not merged.
    for (name, edit) in [
        (
            "series",
            &(|r: &mut Value| r["transactions"]["client-credentials"]["series"][0]["count"] = 1_000_000.into()) as &dyn Fn(&mut Value),
        ),
        ("index", &|r: &mut Value| r["worker"]["index"] = 7.into()),
        ("count", &|r: &mut Value| r["transactions"]["client-credentials"]["count"] = 1.into()),
    ] {
        let mut bad = reports[2].clone();
        edit(&mut bad);
        let file = dir.join(format!("bad-{name}.json"));
        std::fs::write(&file, bad.to_string()).unwrap();
        let out = merge(&dir.join(format!("bad-{name}")), &[&dir.join("worker-0"), &one, &file]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The closed model deals the users out; a worker left without one is refused before any load.
#[test]
fn closed_model_workers_share_the_users() {
    let dir = temp("workers-closed");
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, "description = \"test\"\n[closed]\nusers = 2\nramp = \"0s\"\nhold = \"1s\"\n").unwrap();
    let start = chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + Duration::from_secs(30)).to_rfc3339();
    let out = Command::new(BIN)
        .args(["load", "--scenario", "client-credentials", "--worker", "2/3", "--start-at", &start, "--load-profile"])
        .arg(&plan)
        .arg("--report-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("worker 2/3 gets none of the profile's 2 users"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(BIN).args(["load", "--scenario", "refresh", "--worker", "0/3"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--worker needs --start-at");
}
