//! Variants: each allowed alternative behaviour really changes what the server does on the wire,
//! one focused test per variant (the default behaviour is what the other modules test).

use crate::support::*;
use reference_server::Config;
use reference_server::variants::{CATALOG, Variant};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn with(variant: Variant) -> Rig {
    rig_with(Config { variants: vec![variant], ..Config::default() }).await
}

fn web<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid"), ("state", "s")];
    for (k, v) in extra {
        p.retain(|(n, _)| n != k);
        p.push((k, v));
    }
    p
}

fn without<'a>(params: Vec<(&'a str, &'a str)>, name: &str) -> Vec<(&'a str, &'a str)> {
    params.into_iter().filter(|(k, _)| *k != name).collect()
}

fn s<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name].as_str().unwrap_or_else(|| panic!("no {name} in {v}"))
}

async fn redeem(rig: &Rig, code: &str) -> Reply {
    rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", WEB_REDIRECT)]).await
}

async fn refresh(rig: &Rig, token: &str) -> Reply {
    rig.token(Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", token)]).await
}

async fn get_json(rig: &Rig, url: &str) -> Reply {
    Reply::from(rig.http.get(url).send().await.expect("GET")).await
}

async fn discovery(rig: &Rig) -> Value {
    get_json(rig, &rig.url("/.well-known/openid-configuration")).await.json()
}

/// Client credentials for the service client.
async fn cc(rig: &Rig, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    rig.token(Some(SERVICE), &form).await
}

/// The code flow of the `client_secret_post` client (ES256 by registration, PKCE required).
async fn web_post_tokens(rig: &Rig) -> Value {
    let (verifier, challenge) = pkce();
    let extra = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = rig.browser().code_flow(WEB_POST.0, WEB_POST_REDIRECT, "openid", &extra, ALICE).await.param("code");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", WEB_POST_REDIRECT),
        ("client_id", WEB_POST.0),
        ("client_secret", WEB_POST.1),
        ("code_verifier", verifier.as_str()),
    ];
    let reply = rig.token(None, &form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()
}

#[test]
fn every_variant_has_a_test_here() {
    // Test names follow the variant names, so a new variant without a test is noticed.
    let source = include_str!("variants.rs");
    for e in CATALOG {
        let test = format!("async fn {}(", e.name.replace('-', "_"));
        assert!(source.contains(&test), "no test named after variant {}", e.name);
    }
}

#[tokio::test]
async fn issuer_trailing_slash() {
    let rig = with(Variant::IssuerTrailingSlash).await;
    let issuer = rig.server.issuer().to_string();
    assert!(issuer.ends_with("/api/oidc/"), "{issuer}");
    // OIDC Discovery §4.1: the trailing slash is removed before the well-known path.
    let meta = get_json(&rig, &format!("{}/api/oidc/.well-known/openid-configuration", rig.server.base_url())).await;
    assert_eq!(meta.status, StatusCode::OK);
    let meta = meta.json();
    assert_eq!(meta["issuer"], issuer);
    assert_eq!(meta["token_endpoint"], format!("{}/api/oidc/token", rig.server.base_url()), "no doubled slash");
    let result = rig.browser().code_flow(WEB.0, WEB_REDIRECT, "openid", &[], ALICE).await;
    assert_eq!(result.param("iss"), issuer, "RFC 9207 iss");
    let tokens = redeem(&rig, &result.param("code")).await.json();
    let (_, id) = rig.verify_jwt(s(&tokens, "id_token")).await;
    let (_, at) = rig.verify_jwt(s(&tokens, "access_token")).await;
    assert_eq!((&id["iss"], &at["iss"]), (&json!(issuer), &json!(issuer)));
    assert_eq!(rig.userinfo(s(&tokens, "access_token")).await.status, StatusCode::OK, "the server accepts its own iss");
    let cc_token = cc(&rig, &[("scope", "read")]).await.json();
    assert_eq!(rig.verify_jwt(s(&cc_token, "access_token")).await.1["iss"], issuer);
}

/// An independent relying party (the openidconnect crate compares the issuer exactly) accepts
/// the trailing-slash issuer end to end.
#[tokio::test]
async fn issuer_trailing_slash_satisfies_the_openidconnect_crate() {
    use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
    use openidconnect::{AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, RedirectUrl, TokenResponse};
    let rig = with(Variant::IssuerTrailingSlash).await;
    let http = crate::relying_party::http_client();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(rig.server.issuer().to_string()).unwrap(), &http)
        .await
        .expect("discovery accepted with the trailing slash");
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(WEB.0.into()), Some(ClientSecret::new(WEB.1.into())))
        .set_redirect_uri(RedirectUrl::new(WEB_REDIRECT.into()).unwrap());
    let (url, _, nonce) = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random).url();
    let browser = rig.browser();
    let to_login = browser.get(url.as_str()).await;
    let done = browser.consent(&browser.login(&to_login, ALICE, None).await, "approve").await;
    let code = response_params(&done)["code"].clone();
    let tokens = client.exchange_code(AuthorizationCode::new(code)).unwrap().request_async(&http).await.expect("code redeemed");
    let claims = tokens.id_token().expect("ID token").claims(&client.id_token_verifier(), &nonce).expect("ID token valid");
    assert_eq!(claims.issuer().as_str(), rig.server.issuer());
}

#[tokio::test]
async fn single_key_no_kid() {
    let rig = with(Variant::SingleKeyNoKid).await;
    let jwks = rig.jwks().await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["alg"], "RS256");
    assert!(keys[0].get("kid").is_none(), "no kid in the JWK");
    assert_eq!(discovery(&rig).await["id_token_signing_alg_values_supported"], json!(["RS256"]));
    // web-app-post is registered for ES256: it gets RS256 under this variant.
    let tokens = web_post_tokens(&rig).await;
    for token in ["id_token", "access_token"] {
        let (header, _) = rig.verify_jwt(s(&tokens, token)).await;
        assert_eq!(header["alg"], "RS256", "{token}");
        assert!(header.get("kid").is_none(), "{token} has no kid header");
    }
    assert_eq!(rig.userinfo(s(&tokens, "access_token")).await.status, StatusCode::OK);
    let rotate = rig.admin("/admin/rotate-key", json!({"alg": "RS256"})).await;
    rotate.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(rig.jwks().await["keys"].as_array().unwrap().len(), 1, "no second key without kids");
}

#[tokio::test]
async fn kid_shared_across_kty() {
    let rig = with(Variant::KidSharedAcrossKty).await;
    let jwks = rig.jwks().await;
    let kid_of = |alg: &str| jwks["keys"].as_array().unwrap().iter().find(|k| k["alg"] == alg).unwrap()["kid"].clone();
    assert_eq!(kid_of("RS256"), kid_of("ES256"), "RSA and EC keys share the kid");
    assert_ne!(kid_of("RS256"), kid_of("PS256"), "two RSA keys do not");
    let es = web_post_tokens(&rig).await;
    let (header, _) = rig.verify_jwt(s(&es, "id_token")).await;
    assert_eq!((header["alg"].clone(), header["kid"].clone()), (json!("ES256"), kid_of("RS256")));
    assert_eq!(rig.userinfo(s(&es, "access_token")).await.status, StatusCode::OK, "the ES256 token is told apart by alg");
    let rs = rig.web_tokens("openid", ALICE).await;
    assert_eq!(rig.verify_jwt(s(&rs, "id_token")).await.0["kid"], kid_of("RS256"));
    assert_eq!(rig.userinfo(s(&rs, "access_token")).await.status, StatusCode::OK);
}

/// The web-app client's tokens are signed with `alg`, listed next to RS256 and published.
async fn web_app_signs_with(variant: Variant, alg: &str, crv: Option<&str>, hash: &'static aws_lc_rs::digest::Algorithm) {
    let rig = with(variant).await;
    let algs = discovery(&rig).await["id_token_signing_alg_values_supported"].clone();
    assert!(algs.as_array().unwrap().contains(&json!(alg)) && algs.as_array().unwrap().contains(&json!("RS256")), "{algs}");
    let jwks = rig.jwks().await;
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["alg"] == alg).expect("published").clone();
    if let Some(crv) = crv {
        assert_eq!(jwk["crv"], crv);
    }
    let tokens = rig.web_tokens("openid", ALICE).await;
    let (header, id) = rig.verify_jwt(s(&tokens, "id_token")).await;
    assert_eq!(header["alg"], alg);
    assert_eq!(rig.verify_jwt(s(&tokens, "access_token")).await.0["alg"], alg);
    // OIDC Core §3.1.3.6: at_hash uses the hash of the ID token's alg.
    use base64::Engine;
    let digest = aws_lc_rs::digest::digest(hash, s(&tokens, "access_token").as_bytes());
    let half = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..digest.as_ref().len() / 2]);
    assert_eq!(id["at_hash"], half);
    assert_eq!(rig.userinfo(s(&tokens, "access_token")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn id_token_rs384() {
    web_app_signs_with(Variant::IdTokenRs384, "RS384", None, &aws_lc_rs::digest::SHA384).await;
}

#[tokio::test]
async fn id_token_ps384() {
    web_app_signs_with(Variant::IdTokenPs384, "PS384", None, &aws_lc_rs::digest::SHA384).await;
}

#[tokio::test]
async fn id_token_es384() {
    web_app_signs_with(Variant::IdTokenEs384, "ES384", Some("P-384"), &aws_lc_rs::digest::SHA384).await;
}

#[tokio::test]
async fn id_token_es512() {
    web_app_signs_with(Variant::IdTokenEs512, "ES512", Some("P-521"), &aws_lc_rs::digest::SHA512).await;
}

#[tokio::test]
async fn fractional_numeric_dates() {
    let rig = with(Variant::FractionalNumericDates).await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    for token in ["id_token", "access_token"] {
        let payload = s(&tokens, token).split('.').nth(1).unwrap();
        let text = String::from_utf8(base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap()).unwrap();
        let (_, claims) = rig.verify_jwt(s(&tokens, token)).await;
        for claim in ["iat", "exp", "auth_time"] {
            assert!(claims[claim].is_f64(), "{token} {claim} is a JSON number with a fraction: {text}");
            assert!(text.contains(&format!("\"{claim}\":{}.", claims[claim].as_f64().unwrap().trunc())), "{text}");
        }
        let lifetime = claims["exp"].as_f64().unwrap() - claims["iat"].as_f64().unwrap();
        assert!((lifetime - 3600.0).abs() < 0.001, "{token}: {lifetime}");
    }
    assert_eq!(rig.userinfo(s(&tokens, "access_token")).await.status, StatusCode::OK, "a fractional exp is still checked");
}

#[tokio::test]
async fn prompt_none_interaction_required() {
    let rig = with(Variant::PromptNoneInteractionRequired).await;
    let reply = rig.browser().authorize(&web(&[("prompt", "none")])).await;
    let p = response_params(&reply);
    assert_eq!(p["error"], "interaction_required");
    assert_eq!(p["state"], "s");
}

#[tokio::test]
async fn missing_response_type_error_page() {
    let rig = with(Variant::MissingResponseTypeErrorPage).await;
    let reply = rig.browser().authorize(&without(web(&[]), "response_type")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none(), "no redirect");
    assert!(reply.header("content-type").is_some_and(|c| c.starts_with("text/html")));
    assert!(reply.body.contains("response_type"), "{}", reply.body);
}

#[tokio::test]
async fn missing_response_type_unsupported() {
    let rig = with(Variant::MissingResponseTypeUnsupported).await;
    let reply = rig.browser().authorize(&without(web(&[]), "response_type")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let p = response_params(&reply);
    assert_eq!(p["error"], "unsupported_response_type");
    assert_eq!(p["state"], "s");
}

#[tokio::test]
async fn missing_code_verifier_invalid_request() {
    let rig = with(Variant::MissingCodeVerifierInvalidRequest).await;
    let (verifier, challenge) = pkce();
    let extra = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = rig.browser().code_flow(SPA, SPA_REDIRECT, "openid", &extra, ALICE).await.param("code");
    let base = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", SPA_REDIRECT), ("client_id", SPA)];
    rig.token(None, &base).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    let mut wrong = base.to_vec();
    let bad = format!("{verifier}x");
    wrong.push(("code_verifier", &bad));
    rig.token(None, &wrong).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn invalid_client_400_for_post() {
    let rig = with(Variant::InvalidClient400ForPost).await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", WEB_POST.0), ("client_secret", "wrong-secret")];
    let post = rig.token(None, &form).await;
    post.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    assert!(post.header("www-authenticate").is_none(), "no challenge without the Authorization header");
    let none = rig.token(None, &[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "nobody")]).await;
    none.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    let basic = rig.token(Some((SERVICE.0, "wrong")), &[("grant_type", "client_credentials")]).await;
    basic.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(basic.header("www-authenticate").is_some_and(|c| c.starts_with("Basic")), "Basic failures keep 401 and the challenge");
}

#[tokio::test]
async fn revocation_no_credentials_400() {
    let rig = with(Variant::RevocationNoCredentials400).await;
    let none = Reply::from(rig.http.post(rig.url("/revoke")).form(&[("token", "x")]).send().await.unwrap()).await;
    none.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    assert!(none.header("www-authenticate").is_none());
    let wrong =
        Reply::from(rig.http.post(rig.url("/revoke")).basic_auth(WEB.0, Some("wrong")).form(&[("token", "x")]).send().await.unwrap());
    wrong.await.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn repeated_parameter_error_page() {
    let rig = with(Variant::RepeatedParameterErrorPage).await;
    let mut params = web(&[]);
    params.push(("scope", "email"));
    let reply = rig.browser().authorize(&params).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none(), "no error redirect");
    assert!(reply.body.contains("scope"), "{}", reply.body);
}

#[tokio::test]
async fn login_redirect_302() {
    let rig = with(Variant::LoginRedirect302).await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[])).await;
    assert_eq!(to_login.status, StatusCode::SEE_OTHER, "GET /authorize is unchanged");
    let to_consent = browser.login(&to_login, ALICE, None).await;
    assert_eq!(to_consent.status, StatusCode::FOUND, "after the login POST");
    let done = browser.consent(&to_consent, "approve").await;
    assert_eq!(done.status, StatusCode::FOUND, "after the consent POST");
    let code = response_params(&done)["code"].clone();
    assert_eq!(redeem(&rig, &code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn authorize_get_307() {
    let rig = with(Variant::AuthorizeGet307).await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[])).await;
    assert_eq!(to_login.status, StatusCode::TEMPORARY_REDIRECT, "GET /authorize to the login page");
    let to_consent = browser.login(&to_login, ALICE, None).await;
    assert_eq!(to_consent.status, StatusCode::SEE_OTHER, "the password POST is never answered with 307");
    let done = browser.consent(&to_consent, "approve").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let again = browser.authorize(&web(&[])).await;
    assert_eq!(again.status, StatusCode::TEMPORARY_REDIRECT, "GET /authorize with a session, to the client");
    assert!(response_params(&again).contains_key("code"));
    let form: Vec<(String, String)> = web(&[]).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let posted = browser.post_form(&rig.url("/authorize"), &form).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "a POST to /authorize is not a GET");
}

#[tokio::test]
async fn pkce_required_for_all() {
    let rig = with(Variant::PkceRequiredForAll).await;
    let reply = rig.browser().authorize(&web(&[])).await;
    let p = response_params(&reply);
    assert_eq!(p["error"], "invalid_request", "a confidential client without code_challenge");
    let (verifier, challenge) = pkce();
    let extra = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = rig.browser().code_flow(WEB.0, WEB_REDIRECT, "openid", &extra, ALICE).await.param("code");
    let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT), ("code_verifier", &verifier)];
    assert_eq!(rig.token(Some(WEB), &form).await.status, StatusCode::OK);
}

#[tokio::test]
async fn cc_default_scopes_added() {
    let rig = with(Variant::CcDefaultScopesAdded).await;
    let body = cc(&rig, &[("scope", "write")]).await.json();
    assert_eq!(body["scope"], "write read", "the audience's default scope is added and named");
    assert_eq!(rig.verify_jwt(s(&body, "access_token")).await.1["scope"], "write read");
    let unscoped = cc(&rig, &[]).await.json();
    assert_eq!(unscoped["scope"], "read", "a request without scope gets the default");
    let billing = cc(&rig, &[("resource", "https://billing.example.test"), ("scope", "billing:read")]).await.json();
    assert_eq!(billing["scope"], "billing:read", "the default of the other audience is already there");
}

#[tokio::test]
async fn unknown_scope_dropped() {
    let rig = with(Variant::UnknownScopeDropped).await;
    let body = cc(&rig, &[("scope", "read oidc-harness-unknown-scope")]).await;
    assert_eq!(body.status, StatusCode::OK, "{}", body.body);
    assert_eq!(body.json()["scope"], "read");
    let result = rig.browser().flow(&web(&[("scope", "openid oidc-harness-unknown-scope")]), ALICE, None).await;
    let tokens = redeem(&rig, &result.param("code")).await.json();
    assert_eq!(tokens["scope"], "openid", "the granted scope is returned");
    let nothing_left = cc(&rig, &[("scope", "oidc-harness-unknown-scope")]).await;
    nothing_left.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn refresh_no_id_token() {
    let rig = with(Variant::RefreshNoIdToken).await;
    let first = rig.web_tokens("openid offline_access", ALICE).await;
    assert!(first["id_token"].is_string(), "the code grant still has one");
    let second = refresh(&rig, s(&first, "refresh_token")).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let second = second.json();
    assert!(second.get("id_token").is_none(), "{second}");
    assert_eq!(rig.userinfo(s(&second, "access_token")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_not_rotated_confidential() {
    let rig = with(Variant::RefreshNotRotatedConfidential).await;
    let first = rig.web_tokens("openid offline_access", ALICE).await;
    let r = s(&first, "refresh_token");
    for _ in 0..2 {
        let again = refresh(&rig, r).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert_eq!(again.json()["refresh_token"], r, "the same refresh token, still valid");
    }
    // A public client's refresh token still rotates, and reuse is still detected.
    let (verifier, challenge) = pkce();
    let extra = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = rig.browser().code_flow(SPA, SPA_REDIRECT, "openid offline_access", &extra, ALICE).await.param("code");
    let spa = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SPA_REDIRECT),
        ("client_id", SPA),
        ("code_verifier", verifier.as_str()),
    ];
    let tokens = rig.token(None, &spa).await.json();
    let old = s(&tokens, "refresh_token");
    let spa_refresh = |token: &str| {
        let form = vec![("grant_type", "refresh_token".to_string()), ("refresh_token", token.to_string()), ("client_id", SPA.to_string())];
        let request = rig.http.post(rig.url("/token")).form(&form);
        async move { Reply::from(request.send().await.unwrap()).await }
    };
    let rotated = spa_refresh(old).await.json();
    assert_ne!(s(&rotated, "refresh_token"), old);
    spa_refresh(old).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn token_type_lowercase() {
    let rig = with(Variant::TokenTypeLowercase).await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(cc(&rig, &[]).await.json()["token_type"], "bearer");
    let implicit = web(&[("response_type", "id_token token"), ("nonce", "n")]);
    let result = rig.browser().flow(&implicit, ALICE, None).await;
    assert_eq!(result.param("token_type"), "bearer");
    assert_eq!(rig.userinfo(s(&tokens, "access_token")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn aud_array_with_azp() {
    let rig = with(Variant::AudArrayWithAzp).await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    let (_, id) = rig.verify_jwt(s(&tokens, "id_token")).await;
    assert_eq!(id["aud"], json!(["web-app", "https://api.example.test"]));
    assert_eq!(id["azp"], "web-app");
}

#[tokio::test]
async fn opaque_access_tokens() {
    let rig = with(Variant::OpaqueAccessTokens).await;
    let default = rig_with(Config::default()).await;
    let keys = |meta: Value| meta.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(discovery(&rig).await), keys(discovery(&default).await), "discovery unchanged");
    let first = rig.web_tokens("openid offline_access", ALICE).await;
    let access = s(&first, "access_token");
    assert!(!access.contains('.') && access.len() >= 32, "not a JWT: {access}");
    let (_, id) = rig.verify_jwt(s(&first, "id_token")).await;
    assert_eq!(id["at_hash"], half_sha256(access), "at_hash over the opaque value");
    assert_eq!(rig.userinfo(access).await.json()["sub"], "u-alice-7f3a");
    let second = refresh(&rig, s(&first, "refresh_token")).await.json();
    let refreshed = s(&second, "access_token");
    assert!(!refreshed.contains('.'));
    assert_eq!(rig.userinfo(refreshed).await.status, StatusCode::OK);
    let revoked = rig.http.post(rig.url("/revoke")).basic_auth(WEB.0, Some(WEB.1)).form(&[("token", refreshed)]).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    rig.userinfo(refreshed).await.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    rig.userinfo("made-up-opaque-token").await.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test]
async fn at_typ_uppercase() {
    let rig = with(Variant::AtTypUppercase).await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    assert_eq!(rig.verify_jwt(s(&tokens, "access_token")).await.0["typ"], "at+JWT");
    assert_eq!(rig.verify_jwt(s(&tokens, "id_token")).await.0["typ"], "JWT");
    assert_eq!(rig.userinfo(s(&tokens, "access_token")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metadata_in_rfc8414_only() {
    let rig = with(Variant::MetadataInRfc8414Only).await;
    let oidc = discovery(&rig).await;
    let moved = ["revocation_endpoint", "code_challenge_methods_supported", "authorization_response_iss_parameter_supported"];
    for member in moved {
        assert!(oidc.get(member).is_none(), "{member} is not in the OpenID configuration");
    }
    let inserted = format!("{}/.well-known/oauth-authorization-server/api/oidc", rig.server.base_url());
    for url in [inserted, rig.url("/.well-known/oauth-authorization-server")] {
        let reply = get_json(&rig, &url).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}");
        assert!(reply.header("content-type").is_some_and(|c| c.starts_with("application/json")));
        let meta = reply.json();
        assert_eq!(meta["issuer"], rig.server.issuer());
        assert_eq!(meta["revocation_endpoint"], rig.url("/revoke"));
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
        assert_eq!(meta["token_endpoint"], oidc["token_endpoint"]);
    }
    let default = rig_with(Config::default()).await;
    let url = format!("{}/.well-known/oauth-authorization-server/api/oidc", default.server.base_url());
    assert_eq!(get_json(&default, &url).await.status, StatusCode::NOT_FOUND, "only this variant serves it");
}

#[tokio::test]
async fn discovery_defaults_omitted() {
    let rig = with(Variant::DiscoveryDefaultsOmitted).await;
    let meta = discovery(&rig).await;
    for member in ["response_modes_supported", "grant_types_supported", "token_endpoint_auth_methods_supported"] {
        assert!(meta.get(member).is_none(), "{member}");
    }
    assert!(meta["response_types_supported"].is_array() && meta["revocation_endpoint"].is_string());
    // What the defaults leave out still works.
    let form_post = rig.browser().flow(&web(&[("response_mode", "form_post")]), ALICE, None).await;
    assert_eq!(form_post.reply.status, StatusCode::OK);
    assert_eq!(cc(&rig, &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn key_rotated_mid_run() {
    let rig = with(Variant::KeyRotatedMidRun).await;
    let cached = rig.jwks().await;
    let kid = |token: &Value| decode_jwt(s(token, "access_token")).0["kid"].clone();
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(cc(&rig, &[("scope", "read")]).await.json());
    }
    let first = kid(&tokens[0]);
    assert!(tokens[..3].iter().all(|t| kid(t) == first), "the first three share the initial key");
    let fourth = kid(&tokens[3]);
    assert_ne!(fourth, first, "the 4th RS256 token has a new kid");
    assert!(!cached["keys"].as_array().unwrap().iter().any(|k| k["kid"] == fourth), "unknown to a cached JWKS");
    let jwks = rig.jwks().await;
    let rs256: Vec<&Value> = jwks["keys"].as_array().unwrap().iter().filter(|k| k["alg"] == "RS256").collect();
    assert_eq!(rs256.len(), 2, "the old key stays published");
    for token in &tokens {
        rig.verify_jwt(s(token, "access_token")).await;
    }
    let more = cc(&rig, &[("scope", "read")]).await.json();
    assert_eq!(kid(&more), fourth, "it rotates once");
}

#[tokio::test]
async fn claims_malformed_member_ignored() {
    let rig = with(Variant::ClaimsMalformedMemberIgnored).await;
    let claims = r#"{"id_token": 5, "userinfo": {"name": null, "email": true}}"#;
    let result = rig.browser().flow(&web(&[("claims", claims)]), ALICE, None).await;
    let tokens = redeem(&rig, &result.param("code")).await.json();
    let info = rig.userinfo(s(&tokens, "access_token")).await.json();
    assert_eq!(info["name"], "Alice Adams", "the well-formed member still applies");
    assert!(info.get("email").is_none(), "the malformed claim request was ignored");
    let not_an_object = rig.browser().authorize(&web(&[("claims", "[1,2]")])).await;
    assert_eq!(response_params(&not_an_object)["error"], "invalid_request");
    // A bound is not a type: a `sub` request over the 16 `values` is refused, not dropped (it
    // was dropped, and any user could then sign in; found by the claims fuzz target).
    let values = vec!["\"u-bob-21c9\""; 17].join(",");
    let over = format!(r#"{{"id_token":{{"sub":{{"value":"u-bob-21c9","values":[{values}]}}}}}}"#);
    let refused = rig.browser().authorize(&web(&[("claims", &over)])).await;
    assert_eq!(response_params(&refused)["error"], "invalid_request", "{:?}", refused.location());
}

#[tokio::test]
async fn unknown_resource_accepted() {
    let rig = with(Variant::UnknownResourceAccepted).await;
    let reply = cc(&rig, &[("resource", "https://unknown.example.test"), ("scope", "read")]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(rig.verify_jwt(s(&reply.json(), "access_token")).await.1["aud"], "https://unknown.example.test");
    let result = rig.browser().flow(&web(&[("resource", "https://elsewhere.example.test/api")]), ALICE, None).await;
    let tokens = redeem(&rig, &result.param("code")).await.json();
    assert_eq!(rig.verify_jwt(s(&tokens, "access_token")).await.1["aud"], "https://elsewhere.example.test/api");
    cc(&rig, &[("resource", "/api")]).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_target");
}

#[tokio::test]
async fn no_at_hash_in_code_flow() {
    let rig = with(Variant::NoAtHashInCodeFlow).await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    let (_, id) = rig.verify_jwt(s(&tokens, "id_token")).await;
    assert!(id.get("at_hash").is_none(), "{id}");
    let implicit = rig.browser().flow(&web(&[("response_type", "id_token token"), ("nonce", "n")]), ALICE, None).await;
    let (_, implicit_id) = rig.verify_jwt(&implicit.param("id_token")).await;
    assert_eq!(implicit_id["at_hash"], half_sha256(&implicit.param("access_token")), "still REQUIRED in the implicit flow");
}

#[tokio::test]
async fn expires_in_omitted() {
    let rig = with(Variant::ExpiresInOmitted).await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    assert!(tokens.get("expires_in").is_none(), "{tokens}");
    assert!(rig.verify_jwt(s(&tokens, "access_token")).await.1["exp"].is_u64(), "the lifetime is in exp");
    let implicit = rig.browser().flow(&web(&[("response_type", "id_token token"), ("nonce", "n")]), ALICE, None).await;
    assert!(!implicit.params.contains_key("expires_in"));
}

#[tokio::test]
async fn scope_omitted_when_unchanged() {
    let rig = with(Variant::ScopeOmittedWhenUnchanged).await;
    let tokens = rig.web_tokens("openid offline_access", ALICE).await;
    assert!(tokens.get("scope").is_none(), "{tokens}");
    assert!(cc(&rig, &[("scope", "read")]).await.json().get("scope").is_none());
    let form = [("grant_type", "refresh_token"), ("refresh_token", s(&tokens, "refresh_token")), ("scope", "openid")];
    let narrowed = rig.token(Some(WEB), &form).await.json();
    assert!(narrowed.get("scope").is_none(), "narrowed as requested: still identical to the request");
    let implicit = rig.browser().flow(&web(&[("response_type", "id_token token"), ("nonce", "n")]), ALICE, None).await;
    assert!(!implicit.params.contains_key("scope"));
}

#[tokio::test]
async fn auth_time_only_when_requested() {
    let rig = with(Variant::AuthTimeOnlyWhenRequested).await;
    let browser = rig.browser();
    let id_token = |result: AuthResult| {
        let rig = &rig;
        async move { rig.verify_jwt(s(&redeem(rig, &result.param("code")).await.json(), "id_token")).await.1 }
    };
    let plain = id_token(browser.flow(&web(&[]), ALICE, None).await).await;
    assert!(plain.get("auth_time").is_none(), "{plain}");
    let with_max_age = id_token(browser.flow(&web(&[("max_age", "3600")]), ALICE, None).await).await;
    assert!(with_max_age["auth_time"].is_u64(), "REQUIRED with max_age");
    let essential = json!({"id_token": {"auth_time": {"essential": true}}}).to_string();
    let requested = id_token(browser.flow(&web(&[("claims", &essential)]), ALICE, None).await).await;
    assert!(requested["auth_time"].is_u64(), "REQUIRED when requested as essential");
}

#[tokio::test]
async fn refresh_without_offline_access() {
    let rig = with(Variant::RefreshWithoutOfflineAccess).await;
    let tokens = rig.web_tokens("openid", ALICE).await;
    let refreshed = refresh(&rig, s(&tokens, "refresh_token")).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert!(cc(&rig, &[]).await.json().get("refresh_token").is_none(), "never for client credentials");
}

#[tokio::test]
async fn azp_omitted() {
    let rig = with(Variant::AzpOmitted).await;
    let (_, id) = rig.verify_jwt(s(&rig.web_tokens("openid", ALICE).await, "id_token")).await;
    assert!(id.get("azp").is_none(), "{id}");
    assert_eq!(id["aud"], json!(["web-app"]));
}

#[tokio::test]
async fn aud_single_string() {
    let rig = with(Variant::AudSingleString).await;
    let (_, id) = rig.verify_jwt(s(&rig.web_tokens("openid", ALICE).await, "id_token")).await;
    assert_eq!(id["aud"], "web-app");
}

#[tokio::test]
async fn identifier_first_login() {
    let rig = with(Variant::IdentifierFirstLogin).await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[("login_hint", "alice")])).await;
    let first = browser.get(to_login.location().unwrap().as_str()).await;
    let form = find_form(&first.body, "login").expect("identifier form");
    assert!(form.names.contains(&"username".to_string()) && !form.names.contains(&"password".to_string()), "{}", first.body);
    assert!(form.fields.contains(&("username".to_string(), "alice".to_string())), "login_hint still prefills");
    // The step cannot be skipped: without a username it is shown again, with no password field.
    let without: Vec<(String, String)> = form.fields.iter().filter(|(n, _)| n != "username").cloned().collect();
    let again = browser.post_form(&form.action, &without).await;
    let again = find_form(&again.body, "login").expect("the identifier form again");
    assert!(!again.names.contains(&"password".to_string()), "no password step without a username");
    let second = browser.post_form(&form.action, &form.fields).await;
    assert_eq!(second.status, StatusCode::OK);
    let form = find_form(&second.body, "login").expect("password form");
    assert!(form.names.contains(&"password".to_string()), "{}", second.body);
    let mut fields = form.fields;
    fields.push(("password".into(), ALICE.1.into()));
    let to_consent = browser.post_form(&form.action, &fields).await;
    let done = browser.consent(&to_consent, "approve").await;
    assert_eq!(redeem(&rig, &response_params(&done)["code"]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn multiple_client_auth_accepted() {
    let rig = with(Variant::MultipleClientAuthAccepted).await;
    let both = [("grant_type", "client_credentials"), ("client_id", SERVICE.0), ("client_secret", SERVICE.1)];
    let reply =
        Reply::from(rig.http.post(rig.url("/token")).basic_auth(SERVICE.0, Some(SERVICE.1)).form(&both).send().await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let default = rig_with(Config::default()).await;
    let refused =
        Reply::from(default.http.post(default.url("/token")).basic_auth(SERVICE.0, Some(SERVICE.1)).form(&both).send().await.unwrap())
            .await;
    refused.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

/// The ids of a page's forms, in order.
fn form_ids(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    doc.select(&scraper::Selector::parse("form").unwrap()).map(|f| f.value().attr("id").unwrap_or("").to_string()).collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn login_page_several_forms() {
    let rig = with(Variant::LoginPageSeveralForms).await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[])).await;
    let page = browser.get(to_login.location().unwrap().as_str()).await;
    assert_eq!(form_ids(&page.body), ["language", "search", "login", "forgot"], "the login form is neither first nor last");
    // A browser that submits another form than the login form gets nowhere.
    for other in ["language", "search"] {
        let form = find_form(&page.body, other).unwrap();
        assert_eq!(browser.get(&form.action).await.status, StatusCode::NOT_FOUND, "{other}");
    }
    let forgot = find_form(&page.body, "forgot").unwrap();
    let mut fields = forgot.fields;
    fields.push(("email".into(), "alice@acme.example.test".into()));
    assert_eq!(browser.post_form(&forgot.action, &fields).await.status, StatusCode::NOT_FOUND);
    let to_consent = browser.login(&to_login, ALICE, None).await;
    let consent = browser.get(to_consent.location().unwrap().as_str()).await;
    assert_eq!(form_ids(&consent.body), ["language", "search", "consent", "forgot"], "the consent form is not first either");
    let language = find_form(&consent.body, "language").unwrap();
    let url = url::Url::parse_with_params(&language.action, &language.fields).unwrap();
    assert_eq!(browser.get(url.as_str()).await.status, StatusCode::NOT_FOUND, "the first form is not the consent");
    let done = browser.consent(&to_consent, "approve").await;
    assert_eq!(redeem(&rig, &response_params(&done)["code"]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn login_page_rich_inputs() {
    let rig = with(Variant::LoginPageRichInputs).await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[])).await;
    let page = browser.get(to_login.location().unwrap().as_str()).await;
    let form = find_form(&page.body, "login").expect("login form");
    assert!(form.action.ends_with("/login-legacy") && page.body.contains("method=\"get\""), "{}", page.body);
    assert!(page.body.contains(&format!("formaction=\"{}\" formmethod=\"post\"", rig.url("/login"))), "{}", page.body);
    assert_eq!(browser.get(&form.action).await.status, StatusCode::NOT_FOUND, "only the button's formaction is served");
    let ids: Vec<(String, String)> = form.fields.into_iter().filter(|(n, _)| n == "interaction" || n == "csrf").collect();
    // What a browser sends when "Sign in" is clicked (HTML §4.10.21.4).
    let browser_sends = [
        ("username", ALICE.0),
        ("password", ALICE.1),
        ("tenant", "globex"),
        ("region", "eu"),
        ("device", "harness browser"),
        ("terms", "accepted"),
        ("method", "password"),
        ("action", "sign-in"),
    ];
    let login = rig.url("/login");
    let fields = |change: Change| {
        let mut fields = ids.clone();
        fields.extend(owned(&browser_sends));
        match change {
            Change::Set(name, value) => fields.iter_mut().filter(|(n, _)| n == name).for_each(|(_, v)| *v = value.into()),
            Change::Drop(name) => fields.retain(|(n, _)| n != name),
            Change::Add(name, value) => fields.push((name.into(), value.into())),
            Change::None => {}
        }
        fields
    };
    let wrong = [
        ("the first option instead of the selected one", Change::Set("tenant", "acme")),
        ("no option of a select without a selected one", Change::Drop("region")),
        ("no textarea", Change::Drop("device")),
        ("the checked checkbox left out", Change::Drop("terms")),
        ("every radio of the group", Change::Add("method", "passkey")),
        ("no clicked button", Change::Drop("action")),
        ("the other submit button", Change::Set("action", "cancel")),
        ("the unchecked checkbox", Change::Add("remember", "yes")),
        ("the disabled input", Change::Add("legacy_id", "old-flow")),
        ("the type=button button", Change::Add("reveal", "password")),
        ("the reset button", Change::Add("clear", "Clear")),
    ];
    for (what, change) in wrong {
        let reply = browser.post_form(&login, &fields(change)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}: {}", reply.body);
        assert!(reply.body.contains("not sent as the page has it"), "{what}: {}", reply.body);
    }
    let to_consent = browser.post_form(&login, &fields(Change::None)).await;
    assert_eq!(to_consent.status, StatusCode::SEE_OTHER, "{}", to_consent.body);
    let done = browser.consent(&to_consent, "approve").await;
    assert_eq!(redeem(&rig, &response_params(&done)["code"]).await.status, StatusCode::OK);
}

/// How a login form post departs from what a browser sends.
enum Change {
    Set(&'static str, &'static str),
    Drop(&'static str),
    Add(&'static str, &'static str),
    None,
}

#[tokio::test]
async fn reauth_password_only() {
    let rig = with(Variant::ReauthPasswordOnly).await;
    let browser = rig.browser();
    let fresh = browser.authorize(&web(&[])).await;
    let page = browser.get(fresh.location().unwrap().as_str()).await;
    assert!(find_form(&page.body, "login").unwrap().names.contains(&"username".to_string()), "no session: the usual form");
    assert!(browser.flow(&web(&[]), BOB, None).await.params.contains_key("code"));
    for again in [("prompt", "login"), ("max_age", "0")] {
        let to_login = browser.authorize(&web(&[again])).await;
        let page = browser.get(to_login.location().unwrap().as_str()).await;
        assert!(page.body.contains("signed in as <strong id=\"account\">bob@globex.example.test</strong>"), "{}", page.body);
        let form = find_form(&page.body, "login").expect("re-authentication form");
        assert!(!form.names.contains(&"username".to_string()) && form.names.contains(&"password".to_string()), "{:?}", form.names);
        assert!(page.body.contains("name=\"account\" value=\"bob@globex.example.test\" readonly"), "{}", page.body);
        let (browser, form) = (&browser, &form);
        let post = |extra: &[(&str, &str)]| {
            let mut fields: Vec<(String, String)> =
                form.fields.iter().filter(|(n, _)| !extra.iter().any(|(e, _)| e == n)).cloned().collect();
            fields.extend(owned(extra));
            fields.push(("password".into(), BOB.1.into()));
            async move { browser.post_form(&form.action, &fields).await }
        };
        // A driver that demands a username field would fill the account or invent a username.
        let refused = post(&[("username", BOB.0)]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{again:?}: a username sent");
        assert_eq!(post(&[("account", BOB.0)]).await.status, StatusCode::BAD_REQUEST, "{again:?}: the readonly account changed");
        let reply = post(&[]).await;
        let done =
            if reply.location().is_some_and(|l| l.path().ends_with("/consent")) { browser.consent(&reply, "approve").await } else { reply };
        assert_eq!(redeem(&rig, &response_params(&done)["code"]).await.status, StatusCode::OK, "{again:?}");
    }
    // A login_hint naming someone else is an account choice: the usual form.
    let other = browser.authorize(&web(&[("prompt", "login"), ("login_hint", ALICE.0)])).await;
    let page = browser.get(other.location().unwrap().as_str()).await;
    assert!(find_form(&page.body, "login").unwrap().names.contains(&"username".to_string()), "{}", page.body);
}

#[tokio::test]
async fn login_meta_refresh() {
    let rig = with(Variant::LoginMetaRefresh).await;
    let browser = rig.browser();
    let reply = browser.authorize(&web(&[])).await;
    assert_eq!(reply.status, StatusCode::OK, "a page, not a redirect");
    assert!(reply.location().is_none() && reply.header("set-cookie").is_some(), "the interaction cookie comes with the page");
    let doc = scraper::Html::parse_document(&reply.body);
    let meta = doc.select(&scraper::Selector::parse("meta[http-equiv]").unwrap()).next().expect("a meta refresh");
    assert_eq!(meta.value().attr("http-equiv"), Some("Refresh"));
    let content = meta.value().attr("content").unwrap();
    let relative = content.strip_prefix("0; URL='").and_then(|c| c.strip_suffix('\'')).unwrap_or_else(|| panic!("{content}"));
    assert!(relative.starts_with("login?interaction="), "a URL relative to the authorization endpoint: {relative}");
    assert!(find_form(&reply.body, "login").is_none() && !reply.body.contains("<form"), "no form to continue with");
    let login = url::Url::parse(&rig.url("/authorize")).unwrap().join(relative).unwrap();
    assert_eq!(login.as_str(), format!("{}{}", rig.url("/"), relative));
    let page = browser.get(login.as_str()).await;
    let form = find_form(&page.body, "login").expect("the login page");
    let mut fields: Vec<(String, String)> = form.fields.into_iter().filter(|(n, _)| n != "username").collect();
    fields.extend(owned(&[("username", ALICE.0), ("password", ALICE.1)]));
    let to_consent = browser.post_form(&form.action, &fields).await;
    let done = browser.consent(&to_consent, "approve").await;
    assert_eq!(redeem(&rig, &response_params(&done)["code"]).await.status, StatusCode::OK);
    // With a session, a request that needs consent refreshes to the consent page the same way.
    let consent = browser.authorize(&web(&[("prompt", "consent")])).await;
    assert_eq!(consent.status, StatusCode::OK);
    assert!(consent.body.contains("URL='consent?interaction="), "{}", consent.body);
}

#[tokio::test]
async fn login_page_uppercase_html() {
    let rig = with(Variant::LoginPageUppercaseHtml).await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[("login_hint", ALICE.0)])).await;
    let page = browser.get(to_login.location().unwrap().as_str()).await;
    for written in [
        "<FORM METHOD=POST ACTION='",
        "<INPUT TYPE=HIDDEN NAME=interaction VALUE=",
        "<INPUT TYPE='PASSWORD' NAME=password",
        "VALUE='alice'",
    ] {
        assert!(page.body.contains(written), "{written}: {}", page.body);
    }
    let form = find_form(&page.body, "login").expect("the form, read case-insensitively");
    assert_eq!(form.action, rig.url("/login"));
    assert!(form.fields.contains(&("username".into(), "alice".into())), "single-quoted value: {:?}", form.fields);
    // A driver that misreads METHOD=POST and sends a GET gets the page again, not a login.
    let mut fields: Vec<(String, String)> = form.fields.iter().filter(|(n, _)| n != "username").cloned().collect();
    fields.extend(owned(&[("username", ALICE.0), ("password", ALICE.1)]));
    let as_get = browser.get(url::Url::parse_with_params(&form.action, &fields).unwrap().as_str()).await;
    assert!(as_get.status == StatusCode::OK && as_get.location().is_none() && as_get.body.contains("TYPE='PASSWORD'"), "{}", as_get.body);
    let to_consent = browser.post_form(&form.action, &fields).await;
    let done = browser.consent(&to_consent, "approve").await;
    assert_eq!(redeem(&rig, &response_params(&done)["code"]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn login_api() {
    let rig = with(Variant::LoginApi).await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[("login_hint", ALICE.0)])).await;
    let page_url = to_login.location().expect("redirect to the login page");
    let page = browser.get(page_url.as_str()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<form"), "a script shell, no form: {}", page.body);
    assert!(page.body.contains("data-login-hint=\"alice\""), "{}", page.body);
    let csrf = page.body.split("name=\"csrf-token\" content=\"").nth(1).and_then(|r| r.split('"').next()).expect("a CSRF meta tag");
    let interaction = page_url.query_pairs().find(|(k, _)| k == "interaction").unwrap().1.into_owned();
    let api = rig.url("/api/login");
    let post = |body: Value, token: Option<&str>| {
        let mut request = browser.client.post(&api).json(&body);
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        async move { Reply::from(request.send().await.expect("POST")).await }
    };
    let credentials = json!({"interaction": interaction, "username": ALICE.0, "password": ALICE.1});
    // Without the page's CSRF token, or from another browser, the API refuses.
    assert_eq!(post(credentials.clone(), None).await.status, StatusCode::FORBIDDEN);
    let stranger = rig.browser().client.post(&api).header("x-csrf-token", csrf).json(&credentials).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    let wrong = post(json!({"interaction": interaction, "username": ALICE.0, "password": "nope"}), Some(csrf)).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json()["error"], "invalid_credentials");
    // The right credentials: a session cookie and where to go on.
    let signed_in = post(credentials, Some(csrf)).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert!(signed_in.header("set-cookie").is_some(), "the session cookie");
    let next = s(&signed_in.json(), "redirect_to").to_string();
    assert!(next.contains("/consent?interaction="), "{next}");
    let page = browser.get(&next).await;
    let form = find_form(&page.body, "consent").unwrap_or_else(|| panic!("consent form: {}", page.body));
    let mut fields = form.fields;
    fields.push(("decision".into(), "approve".into()));
    let done = browser.post_form(&form.action, &fields).await;
    assert_eq!(redeem(&rig, &response_params(&done)["code"]).await.status, StatusCode::OK);
    // The default server has no login API.
    let plain = rig_with(Config::default()).await;
    assert_eq!(
        Reply::from(plain.http.post(plain.url("/api/login")).json(&json!({})).send().await.unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
}
