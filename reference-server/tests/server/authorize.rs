//! The authorization endpoint: redirect URI rules, response types and modes, RFC 9207, errors.

use crate::support::*;
use reqwest::StatusCode;

fn base<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p =
        vec![("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid"), ("state", "st-1")];
    for (k, v) in extra {
        p.retain(|(n, _)| n != k);
        p.push((k, v));
    }
    p
}

/// The error delivered to the redirect URI, with `state` and RFC 9207 `iss` checked.
async fn redirected_error(rig: &Rig, params: &[(&str, &str)]) -> (String, String) {
    let reply = rig.browser().authorize(params).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let location = reply.location().unwrap();
    assert!(location.as_str().starts_with(WEB_REDIRECT), "{location}");
    let p = response_params(&reply);
    assert_eq!(p.get("state").map(String::as_str), Some("st-1"), "state echoed");
    assert_eq!(p.get("iss").map(String::as_str), Some(rig.server.issuer()), "RFC 9207 iss");
    (p.get("error").cloned().expect("error"), p.get("error_description").cloned().unwrap_or_default())
}

#[tokio::test]
async fn unregistered_or_missing_redirect_uris_get_an_error_page_and_no_redirect() {
    let rig = rig().await;
    let browser = rig.browser();
    for uri in [
        "https://evil.example.test/callback",
        "https://app.example.test/callback/extra",
        "https://app.example.test/callbac",
        "https://app.example.test/callback?x=1",
        "https://APP.example.test/callback",
        "http://app.example.test/callback",
    ] {
        let reply = browser.authorize(&base(&[("redirect_uri", uri)])).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(reply.header("location").is_none(), "never redirect to {uri}");
        assert!(reply.body.contains("not registered"), "{}", reply.body);
    }
    let without: Vec<_> = base(&[]).into_iter().filter(|(k, _)| *k != "redirect_uri").collect();
    let reply = browser.authorize(&without).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none());
}

#[tokio::test]
async fn unknown_or_missing_clients_get_an_error_page() {
    let rig = rig().await;
    let reply = rig.browser().authorize(&base(&[("client_id", "nobody")])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none());
    let reply = rig.browser().authorize(&[("redirect_uri", WEB_REDIRECT), ("response_type", "code")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = rig.browser().authorize(&base(&[("client_id", SERVICE.0)])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "a client-credentials client has no browser flow");
}

#[tokio::test]
async fn response_type_errors_are_redirected_with_state_and_iss() {
    let rig = rig().await;
    let missing: Vec<_> = base(&[]).into_iter().filter(|(k, _)| *k != "response_type").collect();
    assert_eq!(redirected_error(&rig, &missing).await.0, "invalid_request");
    assert_eq!(redirected_error(&rig, &base(&[("response_type", "token")])).await.0, "unsupported_response_type");
    assert_eq!(redirected_error(&rig, &base(&[("response_type", "code id_token")])).await.0, "unsupported_response_type");
    assert_eq!(redirected_error(&rig, &base(&[("scope", "openid nonsense")])).await.0, "invalid_scope");
    assert_eq!(redirected_error(&rig, &base(&[("response_mode", "jwt")])).await.0, "invalid_request");
    assert_eq!(redirected_error(&rig, &base(&[("prompt", "none login")])).await.0, "invalid_request");
    assert_eq!(redirected_error(&rig, &base(&[("max_age", "-1")])).await.0, "invalid_request");
    assert_eq!(redirected_error(&rig, &base(&[("request", "eyJ.x.y")])).await.0, "request_not_supported");
    assert_eq!(redirected_error(&rig, &base(&[("request_uri", "https://x.test/r")])).await.0, "request_uri_not_supported");
}

#[tokio::test]
async fn a_successful_response_is_a_303_with_code_state_and_iss() {
    let rig = rig().await;
    let result = rig.browser().code_flow(WEB.0, WEB_REDIRECT, "openid", &[("state", "xyz")], ALICE).await;
    assert_eq!(result.reply.status, StatusCode::SEE_OTHER);
    assert!(result.reply.location().unwrap().as_str().starts_with(WEB_REDIRECT));
    assert!(result.reply.location().unwrap().fragment().is_none(), "code flow answers in the query");
    assert_eq!(result.param("state"), "xyz");
    assert_eq!(result.param("iss"), rig.server.issuer());
    assert!(result.param("code").len() >= 32);
}

#[tokio::test]
async fn fragment_and_form_post_response_modes_are_honoured() {
    let rig = rig().await;
    let browser = rig.browser();
    let fragment = browser.code_flow(WEB.0, WEB_REDIRECT, "openid", &[("response_mode", "fragment"), ("state", "s")], ALICE).await;
    let location = fragment.reply.location().unwrap();
    assert!(location.query().is_none(), "nothing in the query: {location}");
    assert!(location.fragment().unwrap().contains("code="));

    let form_post = browser.authorize(&base(&[("response_mode", "form_post")])).await;
    assert_eq!(form_post.status, StatusCode::OK, "a session exists: the response comes at once");
    let form = find_form(&form_post.body, "response").expect("auto-submitting form");
    assert_eq!(form.action, WEB_REDIRECT);
    let fields: std::collections::HashMap<_, _> = form.fields.into_iter().collect();
    assert!(fields.contains_key("code"));
    assert_eq!(fields["state"], "st-1");
    assert_eq!(fields["iss"], rig.server.issuer());
    assert!(form_post.body.contains(".submit()"), "submits itself");
    assert_eq!(form_post.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn post_authorization_requests_work_like_get() {
    let rig = rig().await;
    let browser = rig.browser();
    let form: Vec<(String, String)> = base(&[]).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let reply = browser.post_form(&rig.url("/authorize"), &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.location().unwrap().path().ends_with("/login"));
    let done = browser.login(&reply, ALICE, None).await;
    let done = browser.consent(&done, "approve").await;
    assert!(response_params(&done).contains_key("code"));
}

#[tokio::test]
async fn denying_consent_returns_access_denied() {
    let rig = rig().await;
    let browser = rig.browser();
    let to_login = browser.authorize(&base(&[])).await;
    let to_consent = browser.login(&to_login, ALICE, None).await;
    let denied = browser.consent(&to_consent, "deny").await;
    let p = response_params(&denied);
    assert_eq!(p["error"], "access_denied");
    assert_eq!(p["state"], "st-1");
    assert_eq!(p["iss"], rig.server.issuer());
}

#[tokio::test]
async fn a_redirect_uri_with_a_query_keeps_it() {
    let mut config = reference_server::Config::default();
    config.clients[0].redirect_uris.push("https://app.example.test/cb?tenant=7".into());
    let rig = rig_with(config).await;
    let result = rig.browser().code_flow(WEB.0, "https://app.example.test/cb?tenant=7", "openid", &[], ALICE).await;
    assert_eq!(result.param("tenant"), "7");
    assert!(result.params.contains_key("code"));
}
