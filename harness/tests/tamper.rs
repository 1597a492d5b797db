//! The flow suites can fail, and fail precisely: a reverse proxy in front of the reference
//! server changes one thing per case, and exactly the checks for that rule must fail.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use reports::{Report, Verdict};
use std::process::Command;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_oidc-harness");

/// Changes a response: (request path, status, headers, body).
type Tamper = Arc<dyn Fn(&str, &mut StatusCode, &mut HeaderMap, &mut Vec<u8>) + Send + Sync>;

/// Answers a request itself, without forwarding it, when it returns a status.
type Intercept = Arc<dyn Fn(&str) -> Option<StatusCode> + Send + Sync>;

/// Starts the reference server behind a tampering proxy; returns the issuer (at the proxy).
async fn tampered(tamper: Tamper) -> (String, reference_server::Server) {
    tampered_with(reference_server::Config::default(), tamper).await
}

async fn tampered_with(config: reference_server::Config, tamper: Tamper) -> (String, reference_server::Server) {
    proxied(config, Arc::new(|_: &str| None), tamper).await
}

async fn proxied(config: reference_server::Config, intercept: Intercept, tamper: Tamper) -> (String, reference_server::Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let config = reference_server::Config { public_origin: Some(proxy.clone()), ..config };
    let server = reference_server::start(config).await.unwrap();
    let upstream = server.base_url().to_string();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let (client, upstream, tamper, intercept) = (client.clone(), upstream.clone(), tamper.clone(), intercept.clone());
        async move {
            if let Some(status) = intercept(uri.path()) {
                let mut out = axum::http::Response::new(Body::empty());
                *out.status_mut() = status;
                return out;
            }
            let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let mut request = client.request(method, format!("{upstream}{path_and_query}")).body(body);
            for (name, value) in &headers {
                if name != "host" {
                    request = request.header(name, value);
                }
            }
            let response = request.send().await.unwrap();
            let mut status = response.status();
            let mut headers = response.headers().clone();
            let mut body = response.bytes().await.unwrap().to_vec();
            tamper(uri.path(), &mut status, &mut headers, &mut body);
            headers.remove("content-length");
            let mut out = axum::http::Response::new(Body::from(body));
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            out
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("{proxy}/api/oidc"), server)
}

/// Runs the code-flow and client-credentials suites against `issuer` with the reference
/// server's target file; returns the checks that did not pass.
async fn failing(name: &str, issuer: String) -> Vec<String> {
    failing_in(name, issuer, &["code-flow", "client-credentials"], None).await
}

/// Runs `suites` against `issuer` (with the `profile` text, else the IDaaS profile) and the
/// reference server's target file; returns the checks that did not pass.
async fn failing_in(name: &str, issuer: String, suites: &[&str], profile: Option<String>) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("oidc-harness-tamper-{}-{name}", std::process::id()));
    let target_file = concat!(env!("CARGO_MANIFEST_DIR"), "/../targets/reference-server.toml");
    let mut args: Vec<String> = vec!["conform".into(), "--target".into(), issuer, "--target-config".into(), target_file.into()];
    for suite in suites {
        args.extend(["--suite".to_string(), suite.to_string()]);
    }
    if let Some(text) = profile {
        let path = std::env::temp_dir().join(format!("oidc-harness-tamper-{}-{name}.profile.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        args.extend(["--profile".to_string(), path.display().to_string()]);
    }
    let out = tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN)
            .args(&args)
            .arg("--report-dir")
            .arg(&dir)
            .envs([
                ("OH_WEB_SECRET", "web-app-secret"),
                ("OH_WEB_POST_SECRET", "web-app-post-secret"),
                ("OH_SERVICE_SECRET", "service-client-secret"),
                ("OH_USER_PASSWORD", "bob-password"),
            ])
            .output()
            .unwrap();
        (out, std::fs::read_to_string(dir.join("report.json")).ok())
    })
    .await
    .unwrap();
    let report = Report::from_json(&out.1.unwrap_or_else(|| panic!("no report: {}", String::from_utf8_lossy(&out.0.stderr)))).unwrap();
    assert!(report.checks.iter().all(|c| c.verdict.judged()), "every check was judged");
    report.checks.iter().filter(|c| c.verdict != Verdict::Pass).map(|c| c.id.clone()).collect()
}

fn tamper(f: impl Fn(&str, &mut StatusCode, &mut HeaderMap, &mut Vec<u8>) + Send + Sync + 'static) -> Tamper {
    Arc::new(f)
}

#[tokio::test]
async fn through_an_honest_proxy_everything_passes() {
    let (issuer, _server) = tampered(tamper(|_, _, _, _| {})).await;
    assert_eq!(failing("honest", issuer).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_token_response_without_no_store_fails_exactly_those_checks() {
    let (issuer, _server) = tampered(tamper(|path, _, headers, _| {
        if path.ends_with("/token") {
            headers.remove("cache-control");
        }
    }))
    .await;
    assert_eq!(failing("no-store", issuer).await, ["code.token-no-store", "cc.no-store", "token.error-no-store"]);
}

#[tokio::test]
async fn a_missing_rfc_9207_iss_fails_exactly_that_check() {
    let (issuer, _server) = tampered(tamper(|_, status, headers, _| {
        if *status == StatusCode::SEE_OTHER
            && let Some(location) = headers.get("location").and_then(|l| l.to_str().ok())
            && location.starts_with("https://app.example.test/callback")
        {
            let mut url = url::Url::parse(location).unwrap();
            let kept: Vec<(String, String)> = url.query_pairs().into_owned().filter(|(k, _)| k != "iss").collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
            headers.insert("location", HeaderValue::from_str(url.as_str()).unwrap());
        }
    }))
    .await;
    assert_eq!(failing("no-iss", issuer).await, ["code.iss-parameter"]);
}

#[tokio::test]
async fn a_307_back_to_the_client_fails_exactly_that_check() {
    let (issuer, _server) = tampered(tamper(|_, status, headers, _| {
        let to_client = headers.get("location").and_then(|l| l.to_str().ok()).is_some_and(|l| l.starts_with("https://app.example.test/"));
        if *status == StatusCode::SEE_OTHER && to_client {
            *status = StatusCode::TEMPORARY_REDIRECT;
        }
    }))
    .await;
    assert_eq!(failing("307", issuer).await, ["code.redirect-not-307"]);
}

#[tokio::test]
async fn a_tampered_id_token_nonce_fails_signature_and_nonce() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (issuer, _server) = tampered(tamper(move |path, _, _, body| {
        let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) else { return };
        let Some(id_token) = json["id_token"].as_str().map(str::to_string) else { return };
        if !path.ends_with("/token") {
            return;
        }
        let parts: Vec<&str> = id_token.split('.').collect();
        let mut claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        if claims.get("nonce").is_none() {
            return;
        }
        claims["nonce"] = "forged".into();
        json["id_token"] = format!("{}.{}.{}", parts[0], b64.encode(claims.to_string()), parts[2]).into();
        *body = json.to_string().into_bytes();
    }))
    .await;
    assert_eq!(failing("nonce", issuer).await, ["id-token.signature", "id-token.nonce"]);
}

#[tokio::test]
async fn a_reusable_code_fails_single_use_and_replay_checks() {
    // The proxy answers a second redemption of the same code with the first response.
    let seen = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<String, Vec<u8>>::new()));
    let (issuer, _server) = tampered(tamper(move |path, status, _, body| {
        if !path.ends_with("/token") {
            return;
        }
        let mut seen = seen.lock().unwrap();
        let key = String::from_utf8_lossy(body).to_string();
        if *status == StatusCode::OK {
            seen.insert("last-success".into(), body.clone());
        } else if key.contains("invalid_grant")
            && key.contains("already used")
            && let Some(first) = seen.get("last-success")
        {
            *status = StatusCode::OK;
            *body = first.clone();
        }
    }))
    .await;
    let failing = failing("reuse", issuer).await;
    assert_eq!(failing, ["code.single-use"], "the server still revoked the tokens, so replay-revokes passes");
}

const IDAAS: &str = include_str!("../../profiles/idaas.toml");

#[tokio::test]
async fn generated_parameter_checks_follow_the_profile_rule() {
    let strict = reference_server::Config { strict: true, ..Default::default() };
    let (issuer, _server) = tampered_with(strict, tamper(|_, _, _, _| {})).await;
    // The IDaaS profile allows ignored or rejected: a strict server passes.
    assert_eq!(failing_in("strict-idaas", issuer.clone(), &["parameters"], None).await, Vec::<String>::new());
    // A profile promising that display is ignored: the strict server breaks that promise.
    let ignored = IDAAS.replace("display = \"ignored-or-rejected\"", "display = \"ignored\"");
    assert_eq!(failing_in("strict-ignored", issuer, &["parameters"], Some(ignored)).await, ["param.display.ignored"]);
    // And a lenient server breaks a promise of rejection.
    let (issuer, _server) = tampered(tamper(|_, _, _, _| {})).await;
    let rejected = IDAAS.replace("ui_locales = \"ignored-or-rejected\"", "ui_locales = \"rejected\"");
    assert_eq!(failing_in("lenient-rejected", issuer, &["parameters"], Some(rejected)).await, ["param.ui_locales.rejected"]);
}

#[tokio::test]
async fn a_login_page_that_ignores_login_hint_fails_exactly_that_check() {
    let (issuer, _server) = tampered(tamper(|path, _, _, body| {
        if path.ends_with("/login") {
            let html = String::from_utf8_lossy(body).replace("name=\"username\" value=\"bob\"", "name=\"username\" value=\"\"");
            *body = html.into_bytes();
        }
    }))
    .await;
    assert_eq!(failing_in("login-hint", issuer, &["parameters"], None).await, ["param.login_hint.honoured"]);
}

#[tokio::test]
async fn an_implicit_access_token_that_does_not_match_at_hash_is_caught() {
    let (issuer, _server) = tampered(tamper(|_, _, headers, _| {
        let Some(location) = headers.get("location").and_then(|l| l.to_str().ok()).map(str::to_string) else { return };
        if location.contains("#") && location.contains("access_token=") {
            let swapped = location.replacen("access_token=", "access_token=x", 1);
            headers.insert("location", HeaderValue::from_str(&swapped).unwrap());
        }
    }))
    .await;
    assert_eq!(failing_in("at-hash", issuer, &["implicit"], None).await, ["implicit.at-hash"]);
}

#[tokio::test]
async fn a_revocation_endpoint_that_only_says_ok_is_caught() {
    let fake: Intercept = Arc::new(|path: &str| path.ends_with("/revoke").then_some(StatusCode::OK));
    let (issuer, _server) = proxied(reference_server::Config::default(), fake, tamper(|_, _, _, _| {})).await;
    assert_eq!(
        failing_in("revoke", issuer, &["lifecycle"], None).await,
        ["revocation.refresh-token", "revocation.access-token", "revocation.client-auth", "revocation.wrong-hint"]
    );
}

#[tokio::test]
async fn userinfo_without_a_bearer_challenge_is_caught() {
    let (issuer, _server) = tampered(tamper(|path, _, headers, _| {
        if path.ends_with("/userinfo") {
            headers.remove("www-authenticate");
        }
    }))
    .await;
    assert_eq!(
        failing_in("challenge", issuer, &["userinfo"], None).await,
        ["userinfo.no-token", "userinfo.invalid-token", "userinfo.id-token-refused"]
    );
}

#[tokio::test]
async fn an_error_that_is_not_rfc_6749_json_is_caught() {
    let (issuer, _server) = tampered(tamper(|path, _, headers, body| {
        if path.ends_with("/token") && String::from_utf8_lossy(body).contains("unsupported_grant_type") {
            *body = b"error=unsupported_grant_type".to_vec();
            headers.insert("content-type", HeaderValue::from_static("text/plain"));
        }
    }))
    .await;
    assert_eq!(
        failing_in("error-shape", issuer, &["client-credentials"], None).await,
        ["token.error-shape", "token.unsupported-grant-type"]
    );
}

#[tokio::test]
async fn a_token_response_not_served_as_json_fails_exactly_those_checks() {
    let (issuer, _server) = tampered(tamper(|path, status, headers, _| {
        if path.ends_with("/token") && *status == StatusCode::OK {
            headers.insert("content-type", HeaderValue::from_static("text/plain"));
        }
    }))
    .await;
    assert_eq!(failing("token-text-plain", issuer).await, ["code.token-content-type", "cc.token-content-type"]);
}

#[tokio::test]
async fn expires_in_as_a_string_fails_exactly_those_checks() {
    let (issuer, _server) = tampered(tamper(|path, status, _, body| {
        if path.ends_with("/token") && *status == StatusCode::OK {
            let mut json: serde_json::Value = serde_json::from_slice(body).unwrap();
            json["expires_in"] = serde_json::json!("3600");
            *body = serde_json::to_vec(&json).unwrap();
        }
    }))
    .await;
    assert_eq!(failing("expires-in-string", issuer).await, ["code.expires-in-number", "cc.expires-in-number"]);
}

#[tokio::test]
async fn a_password_grant_that_issues_a_token_is_caught() {
    let (issuer, _server) = tampered(tamper(|path, status, _, body| {
        if path.ends_with("/token") && String::from_utf8_lossy(body).contains("grant_type password is not supported") {
            *status = StatusCode::OK;
            *body = br#"{"access_token":"leaked","token_type":"Bearer","expires_in":3600}"#.to_vec();
        }
    }))
    .await;
    assert_eq!(failing_in("password-grant", issuer, &["client-credentials"], None).await, ["token.password-grant-refused"]);
}
