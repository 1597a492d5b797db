//! `oidc-harness conform` end to end: against the embedded server, and against canned
//! misbehaving servers (wiremock) that prove each check can fail, and fail alone.

use reports::{Report, Verdict};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Command, Output};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_oidc-harness");
const PLACEHOLDER: &str = "http://issuer.placeholder/api/oidc";

fn report_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oidc-harness-conform-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn conform(args: &[&str], dir: &PathBuf) -> (Output, Option<Report>) {
    let out = Command::new(BIN).arg("conform").args(args).arg("--report-dir").arg(dir).output().unwrap();
    let report = std::fs::read_to_string(dir.join("report.json")).ok().map(|t| Report::from_json(&t).unwrap());
    (out, report)
}

/// The reference server's real discovery document and JWKS, with its issuer replaced by a
/// placeholder: a baseline that passes every check.
async fn baseline() -> (Value, Value) {
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let get = |p: &str| reqwest::get(format!("{}{p}", server.issuer()));
    let meta = get("/.well-known/openid-configuration").await.unwrap().text().await.unwrap();
    let jwks: Value = get("/jwks").await.unwrap().json().await.unwrap();
    let meta: Value = serde_json::from_str(&meta.replace(server.issuer(), PLACEHOLDER)).unwrap();
    server.shutdown().await;
    (meta, jwks)
}

/// A wiremock target serving `meta` (its placeholder replaced by the mock's issuer) and `jwks`.
async fn mock_target(meta: Value, jwks: Value) -> (MockServer, String) {
    let mock = MockServer::start().await;
    let issuer = format!("{}/api/oidc", mock.uri());
    let meta: Value = serde_json::from_str(&meta.to_string().replace(PLACEHOLDER, &issuer)).unwrap();
    Mock::given(method("GET"))
        .and(path("/api/oidc/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(meta))
        .mount(&mock)
        .await;
    Mock::given(method("GET")).and(path("/api/oidc/jwks")).respond_with(ResponseTemplate::new(200).set_body_json(jwks)).mount(&mock).await;
    // Userinfo's refusals need no user token, so they run against any target: answer them as
    // RFC 6750 §3 says, with and without a bad token.
    let challenge = |value: &str| ResponseTemplate::new(401).insert_header("www-authenticate", value);
    Mock::given(method("GET"))
        .and(path("/api/oidc/userinfo"))
        .and(wiremock::matchers::header_exists("authorization"))
        .respond_with(challenge("Bearer error=\"invalid_token\""))
        .with_priority(2)
        .mount(&mock)
        .await;
    Mock::given(method("GET")).and(path("/api/oidc/userinfo")).respond_with(challenge("Bearer")).with_priority(3).mount(&mock).await;
    (mock, issuer)
}

/// Serves `meta` and `jwks` plus `extra` mocks, runs conform against it, and returns the ids of
/// the checks that failed or warned.
async fn failing_checks(name: &str, meta: Value, jwks: Value, extra: Vec<Mock>) -> Vec<String> {
    let (mock, issuer) = mock_target(meta, jwks).await;
    for m in extra {
        m.mount(&mock).await;
    }
    let dir = report_dir(name);
    let target = issuer.clone();
    let (out, report) = tokio::task::spawn_blocking(move || conform(&["--target", &target], &dir)).await.unwrap();
    let report = report.unwrap_or_else(|| panic!("no report: {}", String::from_utf8_lossy(&out.stderr)));
    let failing: Vec<String> =
        report.checks.iter().filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Warning)).map(|c| c.id.clone()).collect();
    let code = match report.status() {
        reports::Status::Passed => 0,
        reports::Status::Failed => 1,
        reports::Status::Incomplete => 3,
    };
    assert_eq!(out.status.code(), Some(code), "exit code follows the verdicts");
    failing
}

#[tokio::test]
async fn the_baseline_passes_every_check() {
    let (meta, jwks) = baseline().await;
    assert_eq!(failing_checks("baseline", meta, jwks, vec![]).await, Vec::<String>::new());
}

#[tokio::test]
async fn each_discovery_defect_fails_exactly_its_check() {
    let (meta, jwks) = baseline().await;
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut m = meta.clone();
        f(&mut m);
        m
    };
    let remove = |member: &str| mutate(&|m| drop(m.as_object_mut().unwrap().remove(member)));
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("issuer-slash", mutate(&|m| m["issuer"] = json!(format!("{PLACEHOLDER}/"))), vec!["discovery.issuer-identical"]),
        (
            "introspection",
            mutate(&|m| m["introspection_endpoint"] = json!(format!("{PLACEHOLDER}/introspect"))),
            vec!["discovery.introspection-advertised"],
        ),
        (
            "registration",
            mutate(&|m| m["registration_endpoint"] = json!(format!("{PLACEHOLDER}/register"))),
            vec!["discovery.registration-advertised"],
        ),
        (
            "encryption",
            mutate(&|m| m["id_token_encryption_alg_values_supported"] = json!(["RSA-OAEP"])),
            vec!["discovery.encryption-advertised"],
        ),
        ("plain", mutate(&|m| m["code_challenge_methods_supported"] = json!(["S256", "plain"])), vec!["discovery.pkce-no-plain"]),
        (
            "no-s256",
            mutate(&|m| m["code_challenge_methods_supported"] = json!(["plain"])),
            vec!["discovery.pkce-s256", "discovery.pkce-no-plain"],
        ),
        (
            "no-iss-param",
            mutate(&|m| m.as_object_mut().unwrap().remove("authorization_response_iss_parameter_supported").map(|_| ()).unwrap()),
            vec!["discovery.iss-parameter"],
        ),
        (
            "no-rs256",
            mutate(&|m| m["id_token_signing_alg_values_supported"] = json!(["ES256", "PS256", "EdDSA"])),
            vec!["discovery.id-token-algs"],
        ),
        (
            "alg-none",
            mutate(&|m| m["id_token_signing_alg_values_supported"].as_array_mut().unwrap().push(json!("none"))),
            vec!["discovery.no-alg-none"],
        ),
        ("http-endpoint", mutate(&|m| m["token_endpoint"] = json!("http://idp.example.test/token")), vec!["discovery.endpoints-https"]),
        ("no-form-post", mutate(&|m| m["response_modes_supported"] = json!(["query", "fragment"])), vec!["discovery.response-modes"]),
        (
            "no-revocation",
            mutate(&|m| m.as_object_mut().unwrap().remove("revocation_endpoint").map(|_| ()).unwrap()),
            vec!["discovery.revocation-advertised"],
        ),
        ("implicit-missing", mutate(&|m| m["response_types_supported"] = json!(["code"])), vec!["discovery.response-types"]),
        ("no-claims-param", mutate(&|m| m["claims_parameter_supported"] = json!(false)), vec!["discovery.claims-parameter"]),
        ("no-authorization-endpoint", remove("authorization_endpoint"), vec!["discovery.authorization-endpoint"]),
        ("no-token-endpoint", remove("token_endpoint"), vec!["discovery.token-endpoint"]),
        ("no-userinfo", remove("userinfo_endpoint"), vec!["discovery.userinfo-endpoint"]),
        ("no-end-session", remove("end_session_endpoint"), vec!["discovery.end-session-advertised"]),
        ("no-openid-scope", mutate(&|m| m["scopes_supported"] = json!(["profile", "email"])), vec!["discovery.scopes-openid"]),
        ("no-cc-grant", mutate(&|m| m["grant_types_supported"] = json!(["authorization_code"])), vec!["discovery.grant-types"]),
        (
            "no-basic",
            mutate(&|m| m["token_endpoint_auth_methods_supported"] = json!(["client_secret_post", "none"])),
            vec!["discovery.token-auth-methods"],
        ),
    ];
    for (name, meta, expected) in cases {
        let failing = failing_checks(name, meta, jwks.clone(), vec![]).await;
        assert_eq!(failing, expected, "case {name}");
    }
}

#[tokio::test]
async fn absent_features_that_are_served_anyway_are_caught() {
    let (meta, jwks) = baseline().await;
    let introspection = Mock::given(method("POST"))
        .and(path("/api/oidc/token/introspection"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})));
    assert_eq!(
        failing_checks("served-introspection", meta.clone(), jwks.clone(), vec![introspection]).await,
        ["discovery.introspection-not-served"]
    );
    let registration = Mock::given(method("POST"))
        .and(path("/api/oidc/register"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"client_id": "new", "client_secret": "s3cr3t-value"})));
    assert_eq!(failing_checks("served-registration", meta, jwks, vec![registration]).await, ["discovery.registration-not-served"]);
}

#[tokio::test]
async fn a_jwks_that_is_missing_or_mistyped_is_caught() {
    let (meta, jwks) = baseline().await;
    let served =
        |template: ResponseTemplate| Mock::given(method("GET")).and(path("/api/oidc/jwks")).respond_with(template).with_priority(1);
    let text = ResponseTemplate::new(200).set_body_raw(jwks.to_string(), "text/plain");
    assert_eq!(failing_checks("jwks-text-plain", meta.clone(), jwks.clone(), vec![served(text)]).await, ["jwks.content-type"]);
    let missing = served(ResponseTemplate::new(404));
    let failing = failing_checks("jwks-404", meta, jwks, vec![missing]).await;
    assert_eq!(failing.first().map(String::as_str), Some("jwks.reachable"), "{failing:?}");
}

#[tokio::test]
async fn each_jwks_defect_fails_exactly_its_check() {
    let (meta, jwks) = baseline().await;
    let mutate = |f: &dyn Fn(&mut Vec<Value>)| {
        let mut j = jwks.clone();
        f(j["keys"].as_array_mut().unwrap());
        j
    };
    let rs256 = |keys: &mut Vec<Value>| keys.iter().position(|k| k["alg"] == "RS256").unwrap();
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        ("no-kid", mutate(&|k| drop(k[0].as_object_mut().unwrap().remove("kid"))), vec!["jwks.kid"]),
        ("dup-kid", mutate(&|k| k[1]["kid"] = k[0]["kid"].clone()), vec!["jwks.kid-unique"]),
        ("private", mutate(&|k| k[0]["d"] = json!("AQAB")), vec!["jwks.no-private-material"]),
        (
            "symmetric",
            mutate(&|k| {
                k.push(json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "use": "sig", "k": "c2VjcmV0", "x5c": k[0]["x5c"].clone()}))
            }),
            vec!["jwks.no-private-material", "jwks.no-symmetric-keys"],
        ),
        ("no-x5c", mutate(&|k| drop(k[2].as_object_mut().unwrap().remove("x5c"))), vec!["jwks.x5c"]),
        ("x5c-url-safe", mutate(&|k| k[0]["x5c"] = json!(["not-base64-der_"])), vec!["jwks.x5c-der"]),
        (
            "small-rsa",
            mutate(&|k| {
                let i = rs256(k);
                k[i]["n"] = json!("AQAB")
            }),
            // The certificate in x5c still holds the real key, which no longer matches.
            vec!["jwks.rsa-2048", "jwks.x5c-der"],
        ),
        (
            "x5c-of-another-key",
            mutate(&|k| {
                let other = k[1]["x5c"].clone();
                k[0]["x5c"] = other
            }),
            vec!["jwks.x5c-der"],
        ),
        (
            "no-rs256-key",
            mutate(&|k| {
                let i = rs256(k);
                k.remove(i);
            }),
            vec!["jwks.alg-coverage"],
        ),
        ("use-enc", mutate(&|k| k[0]["use"] = json!("enc")), vec!["jwks.use-sig"]),
        (
            "no-alg",
            mutate(&|k| {
                let i = rs256(k);
                drop(k[i].as_object_mut().unwrap().remove("alg"))
            }),
            vec!["jwks.alg"],
        ),
        ("unknown-kty", mutate(&|k| k[0]["kty"] = json!("RSA-2")), vec!["jwks.kty"]),
        (
            "es256-on-p384",
            mutate(&|k| {
                let i = k.iter().position(|k| k["alg"] == "ES256").unwrap();
                k[i]["crv"] = json!("P-384")
            }),
            vec!["jwks.ec-p256"],
        ),
        // One root cause, one failure: the key checks are blocked by it.
        ("no-keys", json!({ "keys": [] }), vec!["jwks.keys-array"]),
    ];
    for (name, jwks, expected) in cases {
        assert_eq!(failing_checks(name, meta.clone(), jwks, vec![]).await, expected, "case {name}");
    }
}

#[tokio::test]
async fn a_discovery_document_that_is_not_json_blocks_the_rest_by_that_check() {
    let mock = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html")).mount(&mock).await;
    let dir = report_dir("html");
    let target = format!("{}/api/oidc", mock.uri());
    let (out, report) = tokio::task::spawn_blocking(move || conform(&["--target", &target, "--suite", "discovery"], &dir)).await.unwrap();
    let report = report.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json = report.checks.iter().find(|c| c.id == "discovery.json").unwrap();
    assert_eq!(json.verdict, Verdict::Fail);
    assert!(json.detail.contains("text/html"), "{}", json.detail);
    let rest: Vec<_> = report.checks.iter().filter(|c| c.id != "discovery.reachable" && c.id != "discovery.json").collect();
    assert_eq!(rest.len(), 25, "no check vanishes");
    for check in rest {
        assert_eq!(check.verdict, Verdict::Blocked, "{}", check.id);
        assert_eq!(check.blocked_by.as_deref(), Some("discovery.json"), "{}", check.id);
        assert_eq!(check.detail, "no discovery document to check");
    }
}

#[tokio::test]
async fn an_expected_failures_list_gates_on_regressions_only() {
    let (mut meta, jwks) = baseline().await;
    meta["token_endpoint"] = json!("http://idp.example.test/token");
    meta["code_challenge_methods_supported"] = json!(["S256", "plain"]);
    let (_mock, issuer) = mock_target(meta, jwks).await;
    let dir = report_dir("expected");
    let list = dir.join("expected.toml");
    let write_and_run = |text: &str| {
        std::fs::write(&list, text).unwrap();
        let (list, dir, target) = (list.clone(), dir.clone(), issuer.clone());
        // Without a target file most checks are not run: this test is about the list alone.
        move || conform(&["--target", &target, "--expected", list.to_str().unwrap(), "--allow-incomplete"], &dir)
    };
    // Both known: the run passes, and the listed check that passes is reported.
    let run = write_and_run(
        "[[expected]]\nid = \"discovery.endpoints-https\"\nreason = \"staging is plain http\"\n\
         [[expected]]\nid = \"discovery.pkce-no-plain\"\nreason = \"legacy mobile app\"\n\
         [[expected]]\nid = \"jwks.kid\"\nreason = \"fixed last sprint\"\n",
    );
    let (out, report) = tokio::task::spawn_blocking(run).await.unwrap();
    let report = report.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report.totals().expected_failures, 2);
    assert_eq!(report.expected_but_passed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["jwks.kid"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("XPASS jwks.kid"));
    // One of them unlisted: a regression, and the run fails.
    let run = write_and_run("[[expected]]\nid = \"discovery.endpoints-https\"\nreason = \"staging is plain http\"\n");
    let (out, report) = tokio::task::spawn_blocking(run).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report.unwrap().totals().failed, 1);
    // A typo cannot hide anything.
    let run = write_and_run("[[expected]]\nid = \"discovery.endpoint-https\"\nreason = \"typo\"\n");
    let (out, _) = tokio::task::spawn_blocking(run).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("names one id that is not a check id (`oidc-harness conform --list`): `discovery.endpoint-https`")
    );
}

#[tokio::test]
async fn a_login_script_logs_in_where_the_page_is_a_script_and_continues_the_authorization() {
    use wiremock::matchers::{body_json, header, query_param};
    let (meta, jwks) = baseline().await;
    let (mock, issuer) = mock_target(meta, jwks).await;
    // Without a session the authorization endpoint sends the browser to a script page ...
    Mock::given(method("GET"))
        .and(path("/api/oidc/authorize"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/ui/login?flow=f-42"))
        .with_priority(5)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ui/login"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<div id=app></div><script src=/app.js></script>", "text/html"))
        .mount(&mock)
        .await;
    // ... whose login API wants the flow id from its URL, a CSRF token from a cookie, and the
    // credentials, and answers with a session cookie ...
    Mock::given(method("GET"))
        .and(path("/api/csrf"))
        .respond_with(ResponseTemplate::new(200).insert_header("set-cookie", "xsrf=t0k; Path=/").set_body_json(json!({"ok": true})))
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/flows/f-42"))
        .and(header("x-xsrf", "t0k"))
        .and(body_json(json!({"user": {"name": "bob", "secret": "bob-password"}, "client": "web"})))
        .respond_with(ResponseTemplate::new(200).insert_header("set-cookie", "sid=s3ss10n; Path=/").set_body_json(json!({"next": "go"})))
        .mount(&mock)
        .await;
    // ... which the authorization endpoint requires, with the parameter the API said to add.
    Mock::given(method("GET"))
        .and(path("/api/oidc/authorize"))
        .and(|r: &wiremock::Request| r.headers.get("cookie").and_then(|c| c.to_str().ok()).is_some_and(|c| c.contains("sid=s3ss10n")))
        .and(query_param("resume", "go"))
        .and(query_param("tenant", "acme"))
        .and(query_param("ui", "compact"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "https://app.example.test/callback?code=c0de"))
        .with_priority(1)
        .mount(&mock)
        .await;
    let dir = report_dir("login-script");
    let target_file = dir.join("target.toml");
    std::fs::write(
        &target_file,
        r#"[clients.confidential]
client_id = "web"
secret_env = "OH_TEST_SECRET"
redirect_uri = "https://app.example.test/callback"
# The client's own value wins over the target's.
authorize.extra = { tenant = "acme" }

[authorize.extra]
tenant = "other"
ui = "compact"

[user]
username = "bob"
password_env = "OH_TEST_PASSWORD"

[login.capture]
flow = { query = "flow" }

[[login.step]]
method = "GET"
url = "/api/csrf"
capture = { xsrf = { cookie = "xsrf" } }

[[login.step]]
url = "/api/flows/{flow}"
headers = { X-Xsrf = "{xsrf}" }
json = { user = { name = "{username}", secret = "{password}" }, client = "{client_id}" }
capture = { next = { json = "/next" } }

[[login.step]]
continue_authorization = true
params = { resume = "{next}" }
"#,
    )
    .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN)
            .args(["conform", "--target", &issuer, "--target-config"])
            .arg(&target_file)
            .args(["--check", "authz.unknown-parameter-ignored", "--report-dir"])
            .arg(&dir)
            .envs([("OH_TEST_SECRET", "s"), ("OH_TEST_PASSWORD", "bob-password")])
            .output()
            .unwrap();
        (out, std::fs::read_to_string(dir.join("report.json")).ok())
    })
    .await
    .unwrap();
    let report = Report::from_json(&out.1.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&out.0.stderr)))).unwrap();
    let check = &report.checks[0];
    assert_eq!(check.verdict, Verdict::Pass, "{}", check.detail);
    let urls: Vec<&str> = report.evidence_of(check).map(|e| e.url.as_str()).collect();
    assert!(urls.iter().any(|u| u.ends_with("/api/flows/f-42")), "a short flow id is not a secret: {urls:?}");
    let json = report.to_json().unwrap();
    assert!(!json.contains("bob-password") && !json.contains("s3ss10n") && !json.contains("c0de"), "secrets are redacted");
}

#[tokio::test]
async fn a_login_page_the_driver_cannot_fill_stops_the_run_in_preflight() {
    let (meta, jwks) = baseline().await;
    let (mock, issuer) = mock_target(meta, jwks).await;
    let page = "<form method=\"post\" action=\"/signin\"><input name=\"tenant\"><input name=\"account\"><input type=\"password\" name=\"pw\"></form>";
    Mock::given(method("GET"))
        .and(path("/api/oidc/authorize"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "text/html"))
        .mount(&mock)
        .await;
    let dir = report_dir("preflight");
    let target_file = dir.join("target.toml");
    std::fs::write(
        &target_file,
        "[clients.confidential]\nclient_id = \"web\"\nsecret_env = \"OH_TEST_SECRET\"\nredirect_uri = \"https://app.example.test/callback\"\n\
         [user]\nusername = \"bob\"\npassword_env = \"OH_TEST_PASSWORD\"\n",
    )
    .unwrap();
    let run = move |extra: &'static str| {
        let (issuer, target_file, dir) = (issuer.clone(), target_file.clone(), dir.clone());
        move || {
            let mut cmd = Command::new(BIN);
            cmd.args(["conform", "--target", &issuer, "--target-config"]).arg(&target_file).arg("--report-dir").arg(&dir);
            if !extra.is_empty() {
                std::fs::write(&target_file, format!("{}{extra}", std::fs::read_to_string(&target_file).unwrap())).unwrap();
            }
            cmd.envs([("OH_TEST_SECRET", "s"), ("OH_TEST_PASSWORD", "pw")]).output().unwrap()
        }
    };
    let out = tokio::task::spawn_blocking(run("")).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("login preflight with clients.confidential (client_id web): cannot tell the username field of the login form: set login.username_field"),
        "{stderr}"
    );
    // Naming the field fixes the preflight (the run then goes on to its checks).
    Mock::given(method("POST"))
        .and(path("/signin"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "https://app.example.test/callback?code=c"))
        .mount(&mock)
        .await;
    let out = tokio::task::spawn_blocking(run("[login]\nusername_field = \"account\"\n")).await.unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn an_incomplete_run_exits_3_and_says_so_in_every_format() {
    let (meta, jwks) = baseline().await;
    let (_mock, issuer) = mock_target(meta, jwks).await;
    let dir = report_dir("incomplete");
    let target = issuer.clone();
    let run_dir = dir.clone();
    let (out, report) = tokio::task::spawn_blocking(move || conform(&["--target", &target], &run_dir)).await.unwrap();
    let report = report.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(report.status(), reports::Status::Incomplete);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("INCOMPLETE: ") && stdout.contains("coverage "), "the verdict line is on stdout: {stdout}");
    assert!(stderr.contains("NOT RUN code.completes: the target names no confidential client"), "{stderr}");
    let json = std::fs::read_to_string(dir.join("report.json")).unwrap();
    assert!(json.contains("\"status\": \"incomplete\""));
    assert!(std::fs::read_to_string(dir.join("summary.md")).unwrap().starts_with("# oidc-harness conform: INCOMPLETE"));
    assert!(std::fs::read_to_string(dir.join("junit.xml")).unwrap().contains("value=\"INCOMPLETE\""));
    assert!(std::fs::read_to_string(dir.join("report.html")).unwrap().contains(">INCOMPLETE</span>"));
    // The same run with --allow-incomplete exits 0 and is still reported as incomplete.
    let run_dir = dir.clone();
    let (out, report) = tokio::task::spawn_blocking(move || conform(&["--target", &issuer, "--allow-incomplete"], &run_dir)).await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(report.unwrap().status(), reports::Status::Incomplete);
}

/// Runs conform against a live reference server with the reference target file, `env` over its
/// right secrets, and `edit` applied to the target file: (exit code, stderr).
async fn preflight_against_reference(name: &str, env: &[(&str, &str)], edit: fn(String) -> String) -> (Option<i32>, String) {
    let server = reference_server::start(reference_server::Config::default()).await.unwrap();
    let issuer = server.issuer().to_string();
    let dir = report_dir(name);
    let target_file = dir.join("target.toml");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::write(&target_file, edit(std::fs::read_to_string(root.join("targets/reference-server.toml")).unwrap())).unwrap();
    let mut vars: Vec<(String, String)> = [
        ("OH_WEB_SECRET", "web-app-secret"),
        ("OH_WEB_POST_SECRET", "web-app-post-secret"),
        ("OH_SERVICE_SECRET", "service-client-secret"),
        ("OH_USER_PASSWORD", "bob-password"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in env {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["conform", "--target", &issuer, "--target-config"])
            .arg(&target_file)
            .args(["--check", "authz.unknown-parameter-ignored", "--report-dir"])
            .arg(&dir)
            .envs(vars)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    server.shutdown().await;
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn a_wrong_setting_is_one_exit_2_sentence_naming_it_before_any_check() {
    let (code, stderr) = preflight_against_reference("right", &[], |t| t).await;
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = preflight_against_reference("password", &[("OH_USER_PASSWORD", "not-bobs")], |t| t).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("the test user could not log in") && stderr.contains("password_env"), "{stderr}");
    assert!(!stderr.contains("not-bobs") && !stderr.contains("FAIL "), "{stderr}");
    let (code, stderr) = preflight_against_reference("user", &[], |t| t.replace("username = \"bob\"", "username = \"nobody\"")).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("[user] username"), "{stderr}");
    let (code, stderr) = preflight_against_reference("secret", &[("OH_WEB_SECRET", "wrong-secret")], |t| t).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("clients.confidential.secret_env"), "{stderr}");
    let (code, stderr) =
        preflight_against_reference("client", &[], |t| t.replacen("client_id = \"web-app\"", "client_id = \"no-such-app\"", 1)).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("client_id") && stderr.contains("redirect_uri"), "{stderr}");
    let (code, stderr) = preflight_against_reference("redirect", &[], |t| {
        t.replacen("redirect_uri = \"https://app.example.test/callback\"", "redirect_uri = \"https://app.example.test/other\"", 1)
    })
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("redirect_uri"), "{stderr}");
    // The service client's secret is proven when client credentials run.
    let (code, stderr) = preflight_against_reference("service", &[("OH_SERVICE_SECRET", "wrong-secret")], |t| t).await;
    assert_eq!(code, Some(0), "only the selected suites' set-up is proven: {stderr}");
}

/// Every report file and stderr of a run in `dir`, for the leak tests.
fn everything_written(dir: &std::path::Path, stderr: &str) -> Vec<(String, String)> {
    let mut out = vec![("stderr".to_string(), stderr.to_string())];
    for file in ["report.json", "junit.xml", "summary.md", "report.html"] {
        out.push((file.to_string(), std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))));
    }
    out
}

#[tokio::test]
async fn no_code_token_password_secret_or_cookie_of_a_run_reaches_a_report_or_stderr() {
    use wiremock::matchers::body_string_contains;
    let (meta, jwks) = baseline().await;
    let (mock, issuer) = mock_target(meta, jwks).await;
    // A login page in uppercase, single-quoted and bare HTML, with a CSRF input and a session cookie ...
    let page = "<HTML><BODY><FORM METHOD=POST ACTION='/login'><INPUT TYPE='hidden' NAME='_csrf' VALUE='csrf-L3AK-1'>\
                <INPUT TYPE=text NAME=username><INPUT TYPE='password' NAME='password'><BUTTON TYPE=submit>Sign in</BUTTON></FORM></BODY></HTML>";
    Mock::given(method("GET"))
        .and(path("/api/oidc/authorize"))
        .respond_with(ResponseTemplate::new(200).insert_header("set-cookie", "sid=cookie-L3AK-2; Path=/").set_body_raw(page, "text/html"))
        .mount(&mock)
        .await;
    // ... whose post goes on through a relative Location carrying the code ...
    Mock::given(method("POST"))
        .and(path("/login"))
        .and(body_string_contains("csrf-L3AK-1"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/resume?code=code-L3AK-3"))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/resume"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "https://app.example.test/callback?code=code-L3AK-3&state=x"))
        .mount(&mock)
        .await;
    // ... to opaque tokens served as text/plain.
    Mock::given(method("POST"))
        .and(path("/api/oidc/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token":"at-L3AK-4","refresh_token":"rt-L3AK-5","token_type":"Bearer","expires_in":60}"#,
            "text/plain",
        ))
        .mount(&mock)
        .await;
    let dir = report_dir("leaks");
    let target_file = dir.join("target.toml");
    std::fs::write(
        &target_file,
        "[clients.confidential]\nclient_id = \"web\"\nsecret_env = \"OH_TEST_SECRET\"\nredirect_uri = \"https://app.example.test/callback\"\n\
         [user]\nusername = \"bob\"\npassword_env = \"OH_TEST_PASSWORD\"\n",
    )
    .unwrap();
    let run_dir = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["conform", "--target", &issuer, "--target-config"])
            .arg(&target_file)
            .args(["--suite", "code-flow", "--suite", "authorization-endpoint", "--report-dir"])
            .arg(&run_dir)
            .envs([("OH_TEST_SECRET", "cs-L3AK-6"), ("OH_TEST_PASSWORD", "pw-L3AK-7")])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "a failing run: {stderr}");
    for (file, text) in everything_written(&dir, &stderr) {
        assert!(!text.contains("L3AK"), "a secret of the run in {file}: {}", &text[text.find("L3AK").unwrap().saturating_sub(80)..][..120]);
    }
    // The evidence still shows that cookies were sent, by name.
    assert!(std::fs::read_to_string(dir.join("report.json")).unwrap().contains("sid=[redacted]"));
}

#[tokio::test]
async fn a_failing_embedded_run_leaks_no_code_token_or_secret() {
    let dir = report_dir("embedded-leaks");
    let run_dir = dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN).args(["conform", "--fault", "prompt-none-ignored", "--report-dir"]).arg(&run_dir).output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let config = reference_server::Config::default();
    let secrets: Vec<String> = config
        .clients
        .iter()
        .filter_map(|c| c.client_secret.clone())
        .chain(config.users.iter().flat_map(|u| std::iter::once(u.password.clone()).chain(u.otp.clone())))
        .collect();
    let token_member = regex::Regex::new(r#""(access_token|refresh_token|id_token|code)"\s*:\s*"([^"]*)""#).unwrap();
    let code_param = regex::Regex::new(r"(?i)[?&#]code=([^&#\s<]*)").unwrap();
    for (file, text) in everything_written(&dir, &stderr) {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} in {file}");
        }
        assert!(!text.contains("eyJhbGciOi") && !text.contains("eyJ0eXAiOi"), "a JWT in {file}");
        for c in token_member.captures_iter(&text) {
            assert_eq!(&c[2], "[redacted]", "{} in {file}", &c[1]);
        }
        for c in code_param.captures_iter(&text) {
            assert!(matches!(&c[1], "%5Bredacted%5D" | "[redacted]" | ""), "a code in {file}: {}", &c[1]);
        }
    }
}

#[tokio::test]
async fn members_only_rfc_8414_metadata_has_and_target_endpoints_are_used_and_named() {
    let (mut meta, jwks) = baseline().await;
    let revocation = meta.as_object_mut().unwrap().remove("revocation_endpoint").unwrap();
    for (name, well_known) in [
        ("rfc8414-inserted", "/.well-known/oauth-authorization-server/api/oidc"),
        ("rfc8414-appended", "/api/oidc/.well-known/oauth-authorization-server"),
    ] {
        let (mock, issuer) = mock_target(meta.clone(), jwks.clone()).await;
        let oauth = json!({"issuer": issuer, "revocation_endpoint": revocation.as_str().unwrap().replace(PLACEHOLDER, &issuer)});
        Mock::given(method("GET")).and(path(well_known)).respond_with(ResponseTemplate::new(200).set_body_json(oauth)).mount(&mock).await;
        let dir = report_dir(name);
        let target_file = dir.join("target.toml");
        std::fs::write(&target_file, "[endpoints]\nuserinfo_endpoint = \"https://elsewhere.example.test/userinfo\"\n").unwrap();
        let run_dir = dir.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(["conform", "--target", &issuer, "--target-config"])
                .arg(&target_file)
                .args(["--suite", "discovery", "--report-dir"])
                .arg(&run_dir)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report = Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
        let from = &report.target.metadata_from;
        assert_eq!(
            from.get("revocation_endpoint").map(String::as_str),
            Some("the RFC 8414 authorization server metadata"),
            "{name}: {stderr}"
        );
        assert_eq!(from.get("userinfo_endpoint").map(String::as_str), Some("the target file's [endpoints]"), "{name}");
        let revocation_check = report.checks.iter().find(|c| c.id == "discovery.revocation-advertised").unwrap();
        assert_ne!(revocation_check.verdict, Verdict::Fail, "{name}: {}", revocation_check.detail);
        assert!(stderr.contains("revocation_endpoint from the RFC 8414"), "{stderr}");
    }
}

#[tokio::test]
async fn a_token_endpoint_on_another_origin_gets_no_secret_unless_the_target_names_it() {
    let (mut meta, jwks) = baseline().await;
    meta["token_endpoint"] = json!("http://127.0.0.2:9/token");
    let (_mock, issuer) = mock_target(meta, jwks).await;
    let dir = report_dir("foreign-token-endpoint");
    let target_file = dir.join("target.toml");
    let write = |extra: &str| {
        std::fs::write(
            &target_file,
            format!(
                "{extra}[clients.service]\nclient_id = \"svc\"\nsecret_env = \"OH_TEST_SECRET\"\n[user]\nusername = \"bob\"\npassword_env = \"OH_TEST_PASSWORD\"\n"
            ),
        )
        .unwrap()
    };
    let run = |dir: PathBuf, target_file: PathBuf, issuer: String| {
        move || {
            Command::new(BIN)
                .args(["conform", "--target", &issuer, "--target-config"])
                .arg(&target_file)
                .args(["--suite", "client-credentials", "--report-dir"])
                .arg(&dir)
                .envs([("OH_TEST_SECRET", "svc-secret-1"), ("OH_TEST_PASSWORD", "pw-1")])
                .output()
                .unwrap()
        }
    };
    write("");
    let out = tokio::task::spawn_blocking(run(dir.clone(), target_file.clone(), issuer.clone())).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("token_endpoint http://127.0.0.2:9/token is not on the issuer's origin"), "{stderr}");
    assert!(stderr.contains("list http://127.0.0.2:9 in `origins`"), "{stderr}");
    // Named as the provider's, the origin gets past the preflight.
    write("origins = [\"http://127.0.0.2:9\"]\n");
    let out = tokio::task::spawn_blocking(run(dir.clone(), target_file.clone(), issuer.clone())).await.unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("is not on the issuer's origin"));
}
