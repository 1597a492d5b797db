//! Bearer token usage at the protected resources (userinfo, the admin API): what a request
//! without credentials, with a malformed header or with another scheme gets (RFC 6750 §2.1,
//! §3.1), the case-insensitive scheme (RFC 7235 §2.1), and a token for another resource server
//! refused at userinfo (RFC 8707 §2).

use crate::support::*;
use reference_server::Config;
use reference_server::variants::Variant;
use reqwest::StatusCode;

const API: &str = "https://api.example.test";
const BARE_CHALLENGE: &str = "Bearer realm=\"oidc-harness\"";

async fn get_with(rig: &Rig, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = rig.http.get(rig.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    Reply::from(request.send().await.expect("GET")).await
}

/// RFC 6750 §3.1: 401, a challenge without an error code, and no `error` in the body.
fn assert_bare_challenge(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what}: {}", reply.body);
    assert_eq!(reply.header("www-authenticate"), Some(BARE_CHALLENGE), "{what}");
    assert!(reply.json().get("error").is_none(), "{what}: no error code: {}", reply.body);
}

#[tokio::test]
async fn a_request_without_credentials_gets_a_challenge_without_an_error_code() {
    let rig = rig().await;
    for path in ["/userinfo", "/admin/stats"] {
        assert_bare_challenge(&get_with(&rig, path, None).await, path);
        // "attempted using an unsupported authentication method" (RFC 6750 §3.1).
        assert_bare_challenge(&get_with(&rig, path, Some("Basic d2ViLWFwcDp3ZWItYXBwLXNlY3JldA==")).await, path);
    }
    let empty_form = Reply::from(rig.http.post(rig.url("/userinfo")).form(&[("x", "y")]).send().await.unwrap()).await;
    assert_bare_challenge(&empty_form, "a form body without access_token");
}

#[tokio::test]
async fn a_malformed_bearer_header_is_invalid_request_and_a_bad_token_invalid_token() {
    let rig = rig().await;
    for path in ["/userinfo", "/admin/stats"] {
        for value in ["Bearer", "Bearer ", "Bearer two tokens", "Bearer quo\"te"] {
            let reply = get_with(&rig, path, Some(value)).await;
            reply.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            assert!(reply.header("www-authenticate").is_some_and(|c| c.contains("error=\"invalid_request\"")), "{path} {value}");
        }
        let reply = get_with(&rig, path, Some("Bearer not-a-token-we-know")).await;
        reply.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
        assert!(reply.header("www-authenticate").is_some_and(|c| c.contains("error=\"invalid_token\"")), "{path}");
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_at_userinfo_and_the_admin_api() {
    let rig = rig().await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    let access = tokens["access_token"].as_str().unwrap();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let userinfo = get_with(&rig, "/userinfo", Some(&format!("{scheme} {access}"))).await;
        assert_eq!(userinfo.status, StatusCode::OK, "userinfo with {scheme}: {}", userinfo.body);
        let stats = get_with(&rig, "/admin/stats", Some(&format!("{scheme} {}", rig.server.admin_token()))).await;
        assert_eq!(stats.status, StatusCode::OK, "admin with {scheme}: {}", stats.body);
        assert!(stats.json()["grants"].is_number());
    }
}

/// A user's tokens from the web client's code flow, with `extra` authorization parameters.
async fn user_tokens(rig: &Rig, extra: &[(&str, &str)]) -> serde_json::Value {
    let code = rig.browser().code_flow(WEB.0, WEB_REDIRECT, "openid read", extra, ALICE).await.param("code");
    let reply = rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

async fn userinfo_refuses_tokens_for_an_api(rig: &Rig) {
    let own = user_tokens(rig, &[]).await;
    let control = rig.userinfo(own["access_token"].as_str().unwrap()).await;
    assert_eq!(control.status, StatusCode::OK, "no resource requested: a token for this server: {}", control.body);
    for name in ["resource", "audience"] {
        let for_api = user_tokens(rig, &[(name, API)]).await;
        let reply = rig.userinfo(for_api["access_token"].as_str().unwrap()).await;
        reply.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
        assert!(reply.header("www-authenticate").is_some_and(|c| c.contains("error=\"invalid_token\"")), "{name}");
    }
}

#[tokio::test]
async fn userinfo_refuses_an_access_token_for_another_resource_server() {
    let rig = rig().await;
    userinfo_refuses_tokens_for_an_api(&rig).await;
    let (_, at) = decode_jwt(user_tokens(&rig, &[("resource", API)]).await["access_token"].as_str().unwrap());
    assert_eq!(at["aud"], API, "the token names the API it is for");
}

#[tokio::test]
async fn userinfo_refuses_an_opaque_access_token_for_another_resource_server() {
    let rig = rig_with(Config { variants: vec![Variant::OpaqueAccessTokens], ..Config::default() }).await;
    userinfo_refuses_tokens_for_an_api(&rig).await;
}

#[tokio::test]
async fn a_repeated_access_token_in_the_body_is_invalid_request() {
    let rig = rig().await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    let access = tokens["access_token"].as_str().unwrap();
    let form = [("access_token", access), ("access_token", access)];
    let reply = Reply::from(rig.http.post(rig.url("/userinfo")).form(&form).send().await.unwrap()).await;
    reply.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}
