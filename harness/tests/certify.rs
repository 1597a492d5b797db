//! `oidc-harness certify` as a vendor meets it: every pack passes the embedded reference server,
//! each pack's rules fail a server that breaks them, the report is headed as the certification,
//! and the packs are listed and documented.

use reports::{Report, Verdict};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_oidc-harness");
const PACKS: [&str; 6] = ["entra-eam", "ca-custom-controls", "salesforce", "forgerock", "connectwise-home", "generic"];

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("oidc-harness-certify-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn certify(pack: &str, extra: &[&str]) -> (std::process::Output, Report, std::path::PathBuf) {
    let dir = temp(&format!("{pack}-{}", extra.join("-")));
    let out = Command::new(BIN).args(["certify", "--integration", pack, "--report-dir"]).arg(&dir).args(extra).output().unwrap();
    let report = Report::from_json(&std::fs::read_to_string(dir.join("report.json")).expect("report.json")).unwrap();
    (out, report, dir)
}

#[test]
fn every_pack_certifies_the_embedded_reference_server_with_every_rule_judged() {
    for pack in PACKS {
        let (out, report, dir) = certify(pack, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{pack}: {stderr}");
        let certification = report.certification.as_ref().expect("headed as a certification");
        assert_eq!(certification.integration, pack);
        assert!(!certification.sends.is_empty() && !certification.documentation.is_empty());
        assert!(report.checks.len() >= 5, "{pack}");
        assert!(report.checks.iter().all(|c| c.verdict == Verdict::Pass && c.suite == format!("integration:{pack}")), "{pack}: {stderr}");
        let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(summary.starts_with(&format!("# oidc-harness certify {pack}: PASSED")), "{summary}");
        assert!(summary.contains("## Every rule it applies"));
        let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
        assert!(html.contains(&format!("oidc-harness certify {pack}")));
        for file in ["report.json", "junit.xml", "summary.md", "report.html"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            assert!(!text.contains("eyJhbGciOi"), "a JWT in {pack}'s {file}");
            assert!(!text.contains("-secret"), "a client secret in {pack}'s {file}");
        }
    }
}

/// Each fault breaks one rule of the RP; the pack names it, and the login rule still passes.
#[test]
fn a_pack_fails_the_rule_its_relying_party_applies_and_only_that_one() {
    for (pack, fault, rule) in [
        ("salesforce", "userinfo-unavailable", "salesforce.userinfo"),
        ("forgerock", "state-not-echoed", "forgerock.state"),
        ("connectwise-home", "implicit-default-query", "connectwise-home.fragment"),
        ("generic", "acr-unlisted", "generic.acr"),
        ("generic", "offline-access-ignored", "generic.token-response"),
        ("entra-eam", "eam-hint-sub-ignored", "entra-eam.sub"),
        ("entra-eam", "eam-amr-string", "entra-eam.amr"),
        ("entra-eam", "eam-amr-two-methods", "entra-eam.amr"),
        ("entra-eam", "eam-acr-unrequested", "entra-eam.acr"),
        ("entra-eam", "x5c-missing", "entra-eam.x5c"),
        ("entra-eam", "eam-id-token-es256", "entra-eam.rs256"),
        ("ca-custom-controls", "control-claim-missing", "ca-custom-controls.control-claims"),
        ("ca-custom-controls", "eam-hint-sub-ignored", "ca-custom-controls.sub"),
        ("entra-eam", "eam-hint-unverified", "entra-eam.hint-verified"),
        ("ca-custom-controls", "eam-hint-unverified", "ca-custom-controls.hint-verified"),
    ] {
        let (out, report, _) = certify(pack, &["--fault", fault]);
        assert_eq!(out.status.code(), Some(1), "{pack} with {fault}: {}", String::from_utf8_lossy(&out.stderr));
        let failed: Vec<&str> = report.checks.iter().filter(|c| c.verdict == Verdict::Fail).map(|c| c.id.as_str()).collect();
        assert_eq!(failed, [rule], "{pack} with {fault}");
        assert!(report.checks.iter().any(|c| c.id.ends_with(".login-completes") && c.verdict == Verdict::Pass));
    }
}

/// `certify --target` against a live reference server with a target file of our own (`extra`
/// after `[user]`): the exit code and the report.
async fn certify_target(name: &str, pack: &str, extra: &str) -> (Option<i32>, String, Option<Report>) {
    certify_with(name, pack, &format!("[user]\nusername = \"bob\"\npassword_env = \"CERT_PASSWORD\"\n\n{extra}")).await
}

/// `certify --target` against a live reference server with the target file `text`.
async fn certify_with(name: &str, pack: &str, text: &str) -> (Option<i32>, String, Option<Report>) {
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let issuer = server.issuer().to_string();
    let dir = temp(name);
    let target_file = dir.join("target.toml");
    std::fs::write(&target_file, text).unwrap();
    let pack = pack.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN)
            .args(["certify", "--integration", &pack, "--target", &issuer, "--target-config"])
            .arg(&target_file)
            .arg("--report-dir")
            .arg(&dir)
            .envs([
                ("CERT_PASSWORD", "bob-password"),
                ("ALICE_PASSWORD", "alice-password"),
                // The reference server's alice: the RFC 6238 test secret; and a wrong one.
                ("ALICE_TOTP", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
                ("WRONG_TOTP", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
                ("SF_SECRET", "salesforce-secret"),
                ("WEB_SECRET", "web-app-secret"),
            ])
            .output()
            .unwrap();
        let report = std::fs::read_to_string(dir.join("report.json")).ok().map(|t| Report::from_json(&t).unwrap());
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string(), report)
    })
    .await
    .unwrap();
    server.shutdown().await;
    out
}

/// A client role the preflight proves the login with (so the run starts).
const CONFIDENTIAL: &str = "[clients.confidential]\nclient_id = \"web-app\"\nsecret_env = \"WEB_SECRET\"\n\
                            redirect_uri = \"https://app.example.test/callback\"\n\n";

/// A login that breaks blocks every later rule on the one root cause: here the registration names
/// a redirect URI the provider does not have, so the provider shows an error page.
#[tokio::test]
async fn a_broken_login_blocks_the_later_rules_on_the_login_rule() {
    let registration = "[integrations.salesforce]\nclient_id = \"salesforce\"\nsecret_env = \"SF_SECRET\"\n\
                        auth_method = \"client_secret_post\"\nredirect_uri = \"https://login.salesforce.com/services/authcallback/other\"\n";
    let (code, stderr, report) = certify_target("broken-login", "salesforce", &format!("{CONFIDENTIAL}{registration}")).await;
    assert_eq!(code, Some(1), "{stderr}");
    let report = report.expect("a report");
    assert_eq!(report.certification.as_ref().map(|c| c.integration.as_str()), Some("salesforce"));
    assert!(!report.target.embedded);
    let login = report.checks.iter().find(|c| c.id == "salesforce.login-completes").unwrap();
    assert_eq!(login.verdict, Verdict::Fail, "{}", login.detail);
    for later in ["salesforce.state", "salesforce.token-response", "salesforce.id-token", "salesforce.userinfo"] {
        let check = report.checks.iter().find(|c| c.id == later).unwrap();
        assert_eq!((check.verdict, check.blocked_by.as_deref()), (Verdict::Blocked, Some("salesforce.login-completes")), "{later}");
    }
}

/// A registration the RP could not use is a setup problem, never the provider failing: for
/// another client authentication than the RP's it is not run, naming the fix; alone in a target
/// file, the login preflight proves it and stops with the setting to fix (exit 2). A misspelt
/// pack name is refused.
#[tokio::test]
async fn a_registration_the_relying_party_could_not_use_is_not_judged_and_a_misspelt_pack_is_refused() {
    let basic = "[integrations.salesforce]\nclient_id = \"salesforce\"\nsecret_env = \"SF_SECRET\"\n\
                 auth_method = \"client_secret_basic\"\nredirect_uri = \"https://login.salesforce.com/services/authcallback/oidc_harness\"\n";
    let (code, stderr, report) = certify_target("wrong-method", "salesforce", &format!("{CONFIDENTIAL}{basic}")).await;
    assert_eq!(code, Some(3), "incomplete: {stderr}");
    let report = report.expect("a report");
    assert!(report.checks.iter().all(|c| c.verdict == Verdict::NotRun && c.detail.contains("auth_method")), "{stderr}");
    let (code, stderr, _) = certify_target("wrong-method-alone", "salesforce", basic).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("login preflight with integrations.salesforce") && stderr.contains("integrations.salesforce.secret_env"),
        "{stderr}"
    );
    // An implicit-only registration alone is proven with an implicit login: a wrong password
    // stops the run naming the setting, rather than failing ConnectWise Home's rules.
    let implicit = "[integrations.connectwise-home]\nclient_id = \"connectwise-home\"\nredirect_uri = \"https://home.connectwise.example.test/oidc/callback\"\n";
    let (code, stderr, _) = certify_with(
        "implicit-alone",
        "connectwise-home",
        &format!("[user]\nusername = \"bob\"\npassword_env = \"WEB_SECRET\"\n\n{implicit}"),
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("login preflight with integrations.connectwise-home") && stderr.contains("password"), "{stderr}");
    let (code, stderr, _) = certify_target("implicit-alone-right", "connectwise-home", implicit).await;
    assert_eq!(code, Some(0), "{stderr}");
    let misspelt = basic.replace("integrations.salesforce", "integrations.salesfroce");
    let (code, stderr, _) = certify_target("misspelt", "salesforce", &misspelt).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("[integrations.salesfroce] names no integration pack"), "{stderr}");
}

/// A user with a second factor: the driver fills the TOTP code of `[user] totp_secret_env` into
/// the one-time-code field when the request needs it (acr_values asking for MFA), and a wrong
/// secret stops the run at the login preflight.
#[tokio::test]
async fn a_totp_user_completes_a_login_that_needs_the_second_factor() {
    let target = |totp_env: &str| {
        format!(
            "[user]\nusername = \"alice\"\npassword_env = \"ALICE_PASSWORD\"\ntotp_secret_env = \"{totp_env}\"\n\n\
             [authorize.extra]\nacr_values = \"urn:idaas:acr:mfa\"\n\n{CONFIDENTIAL}"
        )
    };
    let (code, stderr, report) = certify_with("totp", "forgerock", &target("ALICE_TOTP")).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(report.expect("a report").checks.iter().all(|c| c.verdict == Verdict::Pass));
    let (code, stderr, _) = certify_with("totp-wrong", "forgerock", &target("WRONG_TOTP")).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("login preflight"), "{stderr}");
}

/// Entra's hint refused because it has expired: the login fails, and every rule after it is
/// blocked by it rather than failed.
#[test]
fn a_refused_entra_hint_is_one_failure_and_the_token_rules_are_blocked_by_it() {
    let (out, report, _) = certify("entra-eam", &["--fault", "eam-hint-expired-rejected"]);
    assert_eq!(out.status.code(), Some(1));
    let failed: Vec<&str> = report.checks.iter().filter(|c| c.verdict == Verdict::Fail).map(|c| c.id.as_str()).collect();
    assert_eq!(failed, ["entra-eam.login-completes"]);
    let login = report.checks.iter().find(|c| c.id == "entra-eam.login-completes").unwrap();
    assert!(login.detail.contains("access_denied") && login.detail.contains("expired"), "{}", login.detail);
    for id in ["entra-eam.sub", "entra-eam.amr", "entra-eam.id-token"] {
        let check = report.checks.iter().find(|c| c.id == id).unwrap();
        assert_eq!((check.verdict, check.blocked_by.as_deref()), (Verdict::Blocked, Some("entra-eam.login-completes")), "{id}");
    }
}

/// Entra reads discovery over https only: a provider on plain HTTP fails exactly that rule (the
/// embedded server serves HTTPS for this pack; this one is started without `[tls]`).
#[tokio::test]
async fn a_plain_http_provider_fails_only_entras_https_rule() {
    let text = "[user]\nusername = \"alice\"\npassword_env = \"ALICE_PASSWORD\"\ntotp_secret_env = \"ALICE_TOTP\"\n\n\
                [integrations.entra-eam]\nclient_id = \"entra-eam\"\n";
    let (code, stderr, report) = certify_with("entra-http", "entra-eam", text).await;
    assert_eq!(code, Some(1), "{stderr}");
    let report = report.expect("a report");
    let failed: Vec<&str> = report.checks.iter().filter(|c| c.verdict == Verdict::Fail).map(|c| c.id.as_str()).collect();
    assert_eq!(failed, ["entra-eam.discovery-url"], "{stderr}");
    let check = report.checks.iter().find(|c| c.id == "entra-eam.discovery-url").unwrap();
    assert!(check.detail.contains("is not https"), "{}", check.detail);
}

#[test]
fn the_custom_control_json_names_the_target_its_application_and_the_controls_claim() {
    let dir = temp("custom-control-json");
    let file = dir.join("target.toml");
    std::fs::write(&file, "[integrations.ca-custom-controls]\nclient_id = \"cc-app\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["certify", "--custom-control-json", "--target", "https://idp.example.test/oauth", "--target-config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let control: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(control["ClientId"], "cc-app");
    assert_eq!(control["DiscoveryUrl"], "https://idp.example.test/oauth/.well-known/openid-configuration");
    assert_eq!(control["Controls"][0]["ClaimsRequested"][0], serde_json::json!({"Type": "CustomMfa", "Value": "MfaDone", "Values": null}));
    std::fs::write(&file, "[integrations.salesforce]\nclient_id = \"sf\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["certify", "--custom-control-json", "--target", "https://idp.example.test", "--target-config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[integrations.ca-custom-controls]"));
}

#[test]
fn the_entra_test_jwks_is_the_published_key() {
    let out = Command::new(BIN).args(["certify", "--entra-test-jwks"]).output().unwrap();
    assert!(out.status.success());
    let jwks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}

#[test]
fn the_list_names_every_pack_and_docs_integrations_md_describes_each() {
    let out = Command::new(BIN).args(["certify", "--list"]).output().unwrap();
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/INTEGRATIONS.md")).unwrap();
    for pack in PACKS {
        assert!(list.contains(&format!("## {pack} (")), "{pack} in --list");
        assert!(doc.contains(&format!("## {pack}")), "docs/INTEGRATIONS.md has no section for {pack}");
    }
    for section in list.split("\n## ").skip(1) {
        let section = format!("## {}", section.trim());
        assert!(doc.contains(&section), "docs/INTEGRATIONS.md lacks this part of `certify --list`; paste it:\n{section}");
    }
}

#[test]
fn an_unknown_pack_is_one_sentence_naming_the_packs() {
    let out = Command::new(BIN).args(["certify", "--integration", "okta"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown integration `okta`") && stderr.contains("salesforce, forgerock"), "{stderr}");
}

#[test]
fn conform_runs_a_pack_only_when_named() {
    let dir = temp("conform-suite");
    let out = Command::new(BIN).args(["conform", "--suite", "integration:generic", "--report-dir"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(report.certification.is_none());
    assert!(report.checks.iter().all(|c| c.suite == "integration:generic"));
    let out = Command::new(BIN).args(["conform", "--list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(!listed.contains("integration:"), "packs are not part of the default run");
}
