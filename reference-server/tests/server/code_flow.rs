//! The authorization code flow: tokens and their claims, PKCE, code binding and single use.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

async fn code_for(rig: &Rig, client: &str, redirect: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    rig.browser().code_flow(client, redirect, scope, extra, ALICE).await.param("code")
}

fn redeem_form<'a>(code: &'a str, redirect: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect)]
}

#[tokio::test]
async fn oidc_code_flow_issues_a_valid_id_token_and_rfc_9068_access_token() {
    let rig = rig().await;
    let code = code_for(&rig, WEB.0, WEB_REDIRECT, "openid profile email", &[("nonce", "n-0S6")]).await;
    let reply = rig.token(Some(WEB), &redeem_form(&code, WEB_REDIRECT)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body.get("refresh_token").is_none(), "no offline_access, no refresh token");

    let access_token = body["access_token"].as_str().unwrap();
    let (header, id) = rig.verify_jwt(body["id_token"].as_str().unwrap()).await;
    assert_eq!(header["alg"], "RS256");
    assert_eq!(id["iss"], rig.server.issuer());
    assert_eq!(id["sub"], "u-alice-7f3a");
    assert_eq!(id["aud"], json!(["web-app"]));
    assert_eq!(id["azp"], "web-app");
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["at_hash"], half_sha256(access_token));
    assert_eq!(id["acr"], "urn:idaas:acr:password");
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["org_id"], "org-acme");
    assert_eq!(id["email"], "alice@acme.example.test");
    assert_eq!(id["name"], "Alice Adams");
    let (iat, exp, auth_time) = (id["iat"].as_u64().unwrap(), id["exp"].as_u64().unwrap(), id["auth_time"].as_u64().unwrap());
    assert!(exp > iat && auth_time <= iat);

    let (header, at) = rig.verify_jwt(access_token).await;
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(at["iss"], rig.server.issuer());
    assert_eq!(at["sub"], "u-alice-7f3a");
    assert_eq!(at["client_id"], "web-app");
    assert_eq!(at["scope"], "openid profile email");
    assert_eq!(at["aud"], rig.server.issuer(), "no resource requested: the issuer's own API");
    assert!(at["jti"].as_str().is_some_and(|j| j.len() >= 32));
    assert!(at["exp"].as_u64().unwrap() > at["iat"].as_u64().unwrap());
}

#[tokio::test]
async fn oauth_code_flow_without_openid_issues_only_an_access_token() {
    let rig = rig().await;
    let code = code_for(&rig, WEB.0, WEB_REDIRECT, "read write", &[("resource", "https://api.example.test")]).await;
    let body = rig.token(Some(WEB), &redeem_form(&code, WEB_REDIRECT)).await.json();
    assert!(body.get("id_token").is_none());
    let (_, at) = rig.verify_jwt(body["access_token"].as_str().unwrap()).await;
    assert_eq!(at["aud"], "https://api.example.test");
    assert_eq!(at["scope"], "read write");
}

#[tokio::test]
async fn es256_client_gets_es256_tokens_with_client_secret_post() {
    let rig = rig().await;
    let (verifier, challenge) = pkce();
    let extra = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = rig.browser().code_flow(WEB_POST.0, WEB_POST_REDIRECT, "openid", &extra, ALICE).await.param("code");
    let mut form = redeem_form(&code, WEB_POST_REDIRECT);
    form.extend([("client_id", WEB_POST.0), ("client_secret", WEB_POST.1), ("code_verifier", verifier.as_str())]);
    let reply = rig.token(None, &form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    let (header, _) = rig.verify_jwt(body["id_token"].as_str().unwrap()).await;
    assert_eq!(header["alg"], "ES256");
    assert!(body["refresh_token"].is_string(), "this client always gets refresh tokens");
}

#[tokio::test]
async fn a_code_works_once_and_a_replay_revokes_what_it_issued() {
    let rig = rig().await;
    let code = code_for(&rig, WEB.0, WEB_REDIRECT, "openid offline_access", &[]).await;
    let first = rig.token(Some(WEB), &redeem_form(&code, WEB_REDIRECT)).await.json();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(rig.userinfo(access).await.status, StatusCode::OK);
    let replay = rig.token(Some(WEB), &redeem_form(&code, WEB_REDIRECT)).await;
    replay.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(rig.userinfo(access).await.status, StatusCode::UNAUTHORIZED, "tokens from a replayed code are revoked");
    let refresh =
        rig.token(Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap())]).await;
    refresh.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_leaked_used_code_replayed_by_another_client_revokes_nothing() {
    let rig = rig().await;
    let code = code_for(&rig, WEB.0, WEB_REDIRECT, "openid offline_access", &[]).await;
    let first = rig.token(Some(WEB), &redeem_form(&code, WEB_REDIRECT)).await.json();
    let access = first["access_token"].as_str().unwrap();
    // A public client needs only its client_id; another confidential client its own secret.
    let by_public =
        rig.token(None, &[("client_id", SPA), ("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await;
    by_public.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let by_other = rig
        .token(
            None,
            &[
                ("client_id", WEB_POST.0),
                ("client_secret", WEB_POST.1),
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
            ],
        )
        .await;
    by_other.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let wrong_uri = rig.token(Some(WEB), &redeem_form(&code, SPA_REDIRECT)).await;
    wrong_uri.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(rig.userinfo(access).await.status, StatusCode::OK, "only the code's own client's replay revokes (RFC 6749 §4.1.2)");
}

#[tokio::test]
async fn a_leaked_used_refresh_token_replayed_by_another_client_revokes_nothing() {
    let rig = rig().await;
    let tokens = rig.web_tokens("openid offline_access", ALICE).await;
    let used = tokens["refresh_token"].as_str().unwrap();
    let next = rig.token(Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", used)]).await.json();
    let by_public = rig.token(None, &[("client_id", SPA), ("grant_type", "refresh_token"), ("refresh_token", used)]).await;
    by_public.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let live = rig.token(Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", next["refresh_token"].as_str().unwrap())]).await;
    assert_eq!(live.status, StatusCode::OK, "the family survives a foreign client's replay: {}", live.body);
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let rig = rig().await;
    let code = code_for(&rig, WEB.0, WEB_REDIRECT, "openid", &[]).await;
    let other_client = rig
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_REDIRECT),
                ("client_id", WEB_POST.0),
                ("client_secret", WEB_POST.1),
            ],
        )
        .await;
    other_client.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let other_uri = rig.token(Some(WEB), &redeem_form(&code, "https://app.example.test/other")).await;
    other_uri.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let missing_uri = rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code)]).await;
    missing_uri.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    // The failed attempts did not burn the code of the legitimate client.
    let ok = rig.token(Some(WEB), &redeem_form(&code, WEB_REDIRECT)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let mut config = reference_server::Config::default();
    config.lifetimes.code_secs = 1;
    let rig = rig_with(config).await;
    let code = code_for(&rig, WEB.0, WEB_REDIRECT, "openid", &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let reply = rig.token(Some(WEB), &redeem_form(&code, WEB_REDIRECT)).await;
    let description = reply.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(description.contains("expired"), "{description}");
}

#[tokio::test]
async fn pkce_s256_round_trip_for_a_public_client() {
    let rig = rig().await;
    let (verifier, challenge) = pkce();
    let extra = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = rig.browser().code_flow(SPA, SPA_REDIRECT, "openid", &extra, ALICE).await.param("code");
    let wrong = rig
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", SPA_REDIRECT),
                ("client_id", SPA),
                ("code_verifier", &format!("{verifier}x")),
            ],
        )
        .await;
    wrong.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let missing =
        rig.token(None, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", SPA_REDIRECT), ("client_id", SPA)]).await;
    missing.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let ok = rig
        .token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", SPA_REDIRECT),
                ("client_id", SPA),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn pkce_is_required_for_public_clients_and_plain_is_refused() {
    let rig = rig().await;
    let browser = rig.browser();
    let no_pkce =
        browser.authorize(&[("client_id", SPA), ("redirect_uri", SPA_REDIRECT), ("response_type", "code"), ("scope", "openid")]).await;
    assert_eq!(response_params(&no_pkce)["error"], "invalid_request");
    let (_, challenge) = pkce();
    for method in [None, Some("plain"), Some("S512")] {
        let mut params = vec![
            ("client_id", WEB.0),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
        ];
        if let Some(m) = method {
            params.push(("code_challenge_method", m));
        }
        let reply = browser.authorize(&params).await;
        assert_eq!(response_params(&reply)["error"], "invalid_request", "method {method:?}");
    }
    let short = browser
        .authorize(&[
            ("client_id", SPA),
            ("redirect_uri", SPA_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ])
        .await;
    assert_eq!(response_params(&short)["error"], "invalid_request");
}

#[tokio::test]
async fn a_verifier_for_a_code_issued_without_challenge_is_refused() {
    let rig = rig().await;
    let code = code_for(&rig, WEB.0, WEB_REDIRECT, "openid", &[]).await;
    let (verifier, _) = pkce();
    let mut form = redeem_form(&code, WEB_REDIRECT);
    form.push(("code_verifier", &verifier));
    rig.token(Some(WEB), &form).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn pkce_can_be_required_per_confidential_client() {
    let mut config = reference_server::Config::default();
    config.clients[0].require_pkce = true;
    let rig = rig_with(config).await;
    let reply = rig
        .browser()
        .authorize(&[("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid")])
        .await;
    assert_eq!(response_params(&reply)["error"], "invalid_request");
}

#[tokio::test]
async fn id_and_access_token_algorithms_are_selectable_per_client() {
    use reference_server::config::Alg;
    for alg in [Alg::PS256, Alg::EdDSA] {
        let mut config = reference_server::Config::default();
        config.clients[0].id_token_signing_alg = alg;
        config.clients[0].access_token_signing_alg = alg;
        let rig = rig_with(config).await;
        let body = rig.web_tokens("openid", ALICE).await;
        let (id_header, id) = rig.verify_jwt(body["id_token"].as_str().unwrap()).await;
        let (at_header, _) = rig.verify_jwt(body["access_token"].as_str().unwrap()).await;
        assert_eq!(id_header["alg"], alg.as_str());
        assert_eq!(at_header["alg"], alg.as_str());
        assert!(id["at_hash"].is_string());
    }
}
