//! The conform and lint commands as a user meets them: the default run, reports, selection,
//! and one-sentence errors.

use reports::{Report, Verdict};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_oidc-harness");

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("oidc-harness-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// report.json holds each distinct exchange once, every one of them cited by some check, and
/// exchanges cited by several checks (the default run has them: discovery, the login page).
fn each_exchange_is_stored_once_and_cited(report: &Report) {
    let distinct: std::collections::HashSet<&reports::Exchange> = report.exchanges.iter().collect();
    assert_eq!(distinct.len(), report.exchanges.len(), "an exchange is stored twice");
    let mut citations = vec![0; report.exchanges.len()];
    report.checks.iter().flat_map(|c| &c.evidence).for_each(|&i| citations[i] += 1);
    assert!(citations.iter().all(|&n| n > 0), "an exchange no check cites");
    assert!(citations.iter().any(|&n| n > 1), "no exchange is shared, so nothing was deduplicated");
}

#[test]
fn the_default_run_passes_and_writes_reports_without_secrets() {
    let dir = temp("default");
    let out = Command::new(BIN).args(["conform", "--report-dir"]).arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // stdout is the verdict line, alone; the rest went to stderr.
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("PASSED: ") && stdout.lines().count() == 1, "{stdout}");
    assert!(!stderr.contains("PASSED: "), "{stderr}");
    let report = Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(report.target.embedded);
    assert!(report.checks.len() >= 40);
    assert!(report.checks.iter().all(|c| !c.spec.is_empty()));
    // The IDaaS profile requires PKCE for public clients only: the check for every client does not apply.
    let not_passed: Vec<&str> = report.checks.iter().filter(|c| c.verdict != Verdict::Pass).map(|c| c.id.as_str()).collect();
    assert_eq!(not_passed, ["pkce.required-for-confidential"]);
    each_exchange_is_stored_once_and_cited(&report);
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), report.checks.len());
    assert!(std::fs::read_to_string(dir.join("summary.md")).unwrap().starts_with("# oidc-harness conform: PASSED"));
    let config = reference_server::Config::default();
    let secrets: Vec<String> =
        config.clients.iter().filter_map(|c| c.client_secret.clone()).chain(config.users.iter().map(|u| u.password.clone())).collect();
    for file in ["report.json", "junit.xml", "summary.md", "report.html"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} in {file}");
        }
        // Tokens (JWTs) and authorization codes are evidence-worthy but never printable.
        assert!(!text.contains("eyJhbGciOi"), "a JWT in {file}");
        for code in text.split("code=").skip(1) {
            assert!(
                code.starts_with("%5Bredacted%5D") || code.starts_with("[redacted]"),
                "a code in {file}: {}",
                &code[..code.len().min(40)]
            );
        }
    }
}

#[test]
fn suite_and_check_narrow_the_run() {
    let dir = temp("narrow");
    let out = Command::new(BIN).args(["conform", "--suite", "jwks", "--report-dir"]).arg(&dir).output().unwrap();
    assert!(out.status.success());
    let report = Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(report.checks.iter().all(|c| c.suite == "jwks"));
    let out = Command::new(BIN).args(["conform", "--check", "discovery.issuer-identical", "--report-dir"]).arg(&dir).output().unwrap();
    assert!(out.status.success());
    let report = Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report.checks.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["discovery.issuer-identical"]);
    // Suites comma-separated; checks by pattern, repeatable; --format json puts report.json on
    // stdout; -q leaves stderr to the verdict.
    let args =
        ["conform", "--suite", "discovery,jwks", "--check", "jwks.*", "--check", "discovery.issuer-identica?", "--format", "json", "-q"];
    let out = Command::new(BIN).args(args).arg("--report-dir").arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = Report::from_json(&String::from_utf8(out.stdout).unwrap()).expect("stdout is report.json");
    assert!(report.checks.len() > 2 && report.checks.iter().all(|c| c.id.starts_with("jwks.") || c.id == "discovery.issuer-identical"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().filter(|l| !l.is_empty()).count(), 1, "-q: the verdict line only: {stderr}");
}

/// A wildcard pattern is about the protocol suites: it does not pull in every relying party's
/// pack (`salesforce.*`, an exact rule id, or `--suite integration:NAME` do).
#[test]
fn a_wildcard_check_pattern_leaves_the_integration_packs_out() {
    let dir = temp("wildcard");
    let out = Command::new(BIN).args(["conform", "-q", "--check", "*.state*", "--report-dir"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(!report.checks.is_empty() && report.checks.iter().all(|c| !c.suite.starts_with("integration:")), "{:?}", report.suites());
}

#[test]
fn version_names_the_commit() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    // `oidc-harness 0.1.0 (abc1234 2026-12-01)` in a git checkout.
    let shape =
        regex::Regex::new(&format!(r"^oidc-harness {} \([0-9a-f]{{7,}} \d{{4}}-\d{{2}}-\d{{2}}\)\n$", regex::escape(version))).unwrap();
    assert!(shape.is_match(&line), "{line:?}");
    let help = String::from_utf8(Command::new(BIN).arg("--help").output().unwrap().stdout).unwrap();
    assert!(help.contains("Exit codes: 0 passed; 1 failed") && help.contains("NO_COLOR"), "{help}");
}

#[test]
fn problems_are_found_before_the_run_and_named_at_once() {
    let dir = temp("before");
    let expected = dir.join("expected.toml");
    std::fs::write(&expected, "[[expected]]\nid = \"nope.one\"\nreason = \"x\"\n[[expected]]\nid = \"nope.two\"\nreason = \"y\"\n")
        .unwrap();
    let out = Command::new(BIN).args(["conform", "--expected"]).arg(&expected).arg("--report-dir").arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`nope.one`, `nope.two`"), "every unknown id at once: {stderr}");
    let out = Command::new(BIN).args(["conform", "--check", "nope.*", "--check", "zzz"]).arg("--report-dir").arg(&dir).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--check `nope.*`, `zzz`: no check id matches"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A pattern that matches only outside the suites --suite names is not dropped in silence.
    let out = Command::new(BIN).args(["conform", "--suite", "jwks", "--check", "discovery.*", "--check", "jwks.*"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--check `discovery.*`: no check id matches in the suites --suite names"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A report directory under a file cannot be created: refused before any check runs.
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = Command::new(BIN).args(["conform", "--report-dir"]).arg(file.join("reports")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--report-dir") && stderr.contains("cannot create it") && !stderr.contains("conform: http"), "{stderr}");
}

#[test]
fn list_prints_every_check_with_its_citation_and_docs_checks_md_is_current() {
    let out = Command::new(BIN).args(["conform", "--list"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().filter(|l| l.starts_with("| `")).count() >= 150);
    assert!(text.lines().any(|l| l.starts_with("| `discovery.issuer-identical` | required | OIDC Discovery §4.3 |")));
    assert!(
        text.lines().filter(|l| l.starts_with("| `")).all(|l| l.split(" | ").nth(2).is_some_and(|spec| !spec.trim().is_empty())),
        "every check cites a rule"
    );
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/CHECKS.md")).unwrap();
    assert!(docs == text, "docs/CHECKS.md is stale: run `cargo run -p oidc-harness -- conform --list > docs/CHECKS.md`");
}

#[test]
fn usage_errors_are_one_sentence_with_exit_code_2() {
    let cases: [(&[&str], &str); 7] = [
        (&["conform", "--suite", "nope"], "unknown suite `nope`"),
        (&["conform", "--check", "nope"], "--check `nope`: no check id matches"),
        (&["conform", "--target", "http://127.0.0.1:9/api/oidc"], "cannot reach the target's discovery document"),
        (&["conform", "--profile", "/nonexistent.toml"], "cannot read profile /nonexistent.toml"),
        (&["conform", "--expected", "/nonexistent.toml"], "cannot read expected-failures file /nonexistent.toml"),
        (&["load", "--scenario", "refresh", "--load-profile", "/nonexistent.toml"], "no load profile `/nonexistent.toml`"),
        (&["serve", "--config", "/nonexistent.toml"], "/nonexistent.toml"),
    ];
    for (args, message) in cases {
        let out = Command::new(BIN).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
        assert!(stderr.matches("os error").count() <= 1, "the OS error is said once: {stderr}");
    }
}

#[test]
fn lint_reports_the_idaas_contradiction_and_fails_an_unresolved_one() {
    let out = Command::new(BIN).args(["lint", concat!(env!("CARGO_MANIFEST_DIR"), "/../profiles/idaas.toml")]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("`acr_values` is listed by the source as both supported and unsupported; resolved as honoured"));
    let dir = temp("lint");
    let unresolved = include_str!("../../profiles/idaas.toml").split("[[resolution]]").next().unwrap().to_string();
    std::fs::write(dir.join("p.toml"), unresolved).unwrap();
    let out = Command::new(BIN).arg("lint").arg(dir.join("p.toml")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("error: `acr_values` is listed by the source as both supported and unsupported; add a [[resolution]]")
    );
}

#[test]
fn extra_scenario_files_run_and_can_fail_with_a_reason() {
    let dir = temp("scenarios");
    std::fs::write(
        dir.join("custom.toml"),
        r#"suite = "custom"

[[scenario]]
id = "custom.code"
title = "A plain request gets a code"
spec = "RFC 6749 §4.1.2"
severity = "required"

  [[scenario.step]]
  do = "authorize"
  expect = { code = true, state_echoed = true, delivery = "query" }

  [[scenario.step]]
  do = "redeem"
  expect = { status = 200, has = ["access_token", "id_token"], lacks = ["refresh_token"], no_store = true }

[[scenario]]
id = "custom.wrong-expectation"
title = "Deliberately wrong: a valid request expected to fail"
spec = "none"
severity = "required"

  [[scenario.step]]
  do = "authorize"
  expect = { error = "invalid_request" }
"#,
    )
    .unwrap();
    let reports = dir.join("out");
    let out = Command::new(BIN)
        .args(["conform", "--suite", "custom", "--scenarios"])
        .arg(&dir)
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = Report::from_json(&std::fs::read_to_string(reports.join("report.json")).unwrap()).unwrap();
    let verdicts: Vec<_> = report.checks.iter().map(|c| (c.id.as_str(), c.verdict)).collect();
    assert_eq!(verdicts, [("custom.code", Verdict::Pass), ("custom.wrong-expectation", Verdict::Fail)]);
    assert!(report.checks[1].detail.starts_with("step 1 (authorize): expected error invalid_request"), "{}", report.checks[1].detail);
    assert!(report.evidence_of(&report.checks[1]).next().is_some(), "the failing step's exchanges are cited");

    std::fs::write(dir.join("custom.toml"), "suite = \"custom\"\n[[scenario]]\nid = \"x\"\ntitle = \"t\"\nspec = \"s\"\nseverity = \"required\"\n[[scenario.step]]\ndo = \"authorise\"\n").unwrap();
    let out = Command::new(BIN).args(["conform", "--scenarios"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("custom.toml"), "{}", String::from_utf8_lossy(&out.stderr));
}

fn report_of(dir: &std::path::Path) -> Report {
    Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn the_set_of_checks_never_depends_on_what_failed() {
    let baseline = temp("ids-baseline");
    assert!(Command::new(BIN).args(["conform", "--report-dir"]).arg(&baseline).output().unwrap().status.success());
    let ids = |r: &Report| r.checks.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let expected = ids(&report_of(&baseline));
    // Faults that break early steps (the signing key, the login session, the JSON errors).
    for fault in ["signing-key-missing-from-jwks", "session-ignored", "error-not-json"] {
        let dir = temp(&format!("ids-{fault}"));
        let out = Command::new(BIN).args(["conform", "--fault", fault, "--report-dir"]).arg(&dir).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{fault}: {}", String::from_utf8_lossy(&out.stderr));
        let report = report_of(&dir);
        assert_eq!(ids(&report), expected, "{fault}: the same checks, in the same order");
        for check in report.checks.iter().filter(|c| c.verdict == Verdict::Blocked) {
            let by = check.blocked_by.as_deref().unwrap_or("");
            assert!(by.starts_with("step: ") || expected.iter().any(|id| id == by), "{fault}: {} is blocked by `{by}`", check.id);
            assert_ne!(by, "step: not reached", "{fault}: {} was never reached", check.id);
        }
    }
}

#[test]
fn variants_are_listed_and_each_passes_what_it_is_allowed() {
    let out = Command::new(BIN).args(["serve", "--list-variants"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.len() >= 30, "{names:?}");
    assert!(names.contains(&"issuer-trailing-slash") && text.contains("allowed by OIDC Discovery"), "{text}");
    let dir = temp("variants");
    let out = Command::new(BIN)
        .args(["conform", "--variant", "issuer-trailing-slash", "--variant", "token-type-lowercase", "--variant", "opaque-access-tokens"])
        .arg("--report-dir")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("with variant issuer-trailing-slash, token-type-lowercase, opaque-access-tokens"), "{stderr}");
    let report = report_of(&dir);
    assert!(report.target.issuer.ends_with("/api/oidc/"), "the issuer as the server states it, slash included");
    // Opaque access tokens are the deployment's choice: the profile is adjusted to state it.
    assert!(report.checks.iter().filter(|c| c.id.starts_with("access-token.")).all(|c| c.verdict == Verdict::NotApplicable));
    let out = Command::new(BIN).args(["conform", "--variant", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown variant `nope`; `oidc-harness serve --list-variants` lists them"));
}

#[test]
fn a_profile_requiring_pkce_for_every_client_fails_a_server_that_does_not() {
    let dir = temp("pkce-all");
    let idaas = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../profiles/idaas.toml")).unwrap();
    let profile = dir.join("pkce-all.toml");
    std::fs::write(
        &profile,
        idaas.replace("pkce_required_for_public = true", "pkce_required_for_public = true\npkce_required_for_confidential = true"),
    )
    .unwrap();
    let out =
        Command::new(BIN).args(["conform", "--suite", "pkce", "--profile"]).arg(&profile).arg("--report-dir").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report = Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let verdict = |id: &str| report.checks.iter().find(|c| c.id == id).map(|c| c.verdict);
    assert_eq!(verdict("pkce.required-for-confidential"), Some(Verdict::Fail));
    // A code without PKCE cannot be had, so the downgrade it protects against cannot happen.
    assert_eq!(verdict("pkce.downgrade"), Some(Verdict::NotApplicable));
    assert_eq!(verdict("pkce.s256-confidential"), Some(Verdict::Pass));
}
