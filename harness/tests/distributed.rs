//! Distributed load end to end on 127.0.0.1: three worker processes (`load --worker K/3`) with a
//! shared `--start-at` against one reference server, then `load merge` of their `--json-line`
//! output, as `kubectl logs` would give it. The merged counts are the sums, and the merged
//! percentiles are those of one histogram of every worker's samples.

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_oidc-harness");
const TARGET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../targets/reference-server.toml");
const SECRETS: [(&str, &str); 4] = [
    ("OH_SERVICE_SECRET", "service-client-secret"),
    ("OH_WEB_SECRET", "web-app-secret"),
    ("OH_WEB_POST_SECRET", "web-app-post-secret"),
    ("OH_USER_PASSWORD", "bob-password"),
];

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oidc-harness-dist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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
    let dir = temp("open");
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
    let dir = temp("closed");
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
