//! The profile's request parameters: honoured (`login_hint`, `claims`, `acr_values`,
//! `amr_values`, `audience`/`resource`, `org_id`), ignored or rejected (`display`,
//! `id_token_hint`, `ui_locales`), unknown and repeated.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

fn web<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid"), ("state", "s")];
    p.extend_from_slice(extra);
    p
}

/// Runs the flow and returns the verified ID token's claims.
async fn id_token_claims(rig: &Rig, extra: &[(&str, &str)], user: (&str, &str), otp: Option<&str>) -> serde_json::Value {
    let result = rig.browser().flow(&web(extra), user, otp).await;
    let code = result.param("code");
    let reply = rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await;
    rig.verify_jwt(reply.json()["id_token"].as_str().unwrap()).await.1
}

#[tokio::test]
async fn login_hint_prefills_the_username() {
    let rig = rig().await;
    let browser = rig.browser();
    let reply = browser.authorize(&web(&[("login_hint", "bob")])).await;
    let page = browser.get(reply.location().unwrap().as_str()).await;
    let form = find_form(&page.body, "login").unwrap();
    assert!(form.fields.contains(&("username".to_string(), "bob".to_string())), "{}", page.body);
}

#[tokio::test]
async fn login_hint_for_another_account_forces_a_new_login() {
    let rig = rig().await;
    let browser = rig.browser();
    browser.flow(&web(&[]), ALICE, None).await.param("code");
    let same = browser.authorize(&web(&[("login_hint", "alice@acme.example.test")])).await;
    assert!(response_params(&same).contains_key("code"), "the session's user matches by email");
    let other = browser.authorize(&web(&[("login_hint", "bob")])).await;
    assert!(other.location().unwrap().path().ends_with("/login"));
}

#[tokio::test]
async fn claims_parameter_members_go_to_their_destination() {
    let rig = rig().await;
    let claims = json!({"id_token": {"phone_number": null, "email": {"essential": true}}, "userinfo": {"name": null}}).to_string();
    let result = rig.browser().flow(&web(&[("claims", &claims)]), ALICE, None).await;
    let code = result.param("code");
    let tokens =
        rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await.json();
    let (_, id) = rig.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["phone_number"], "+1 555 0100");
    assert_eq!(id["email"], "alice@acme.example.test");
    assert!(id.get("name").is_none(), "name was asked for userinfo only");
    let info = rig.userinfo(tokens["access_token"].as_str().unwrap()).await.json();
    assert_eq!(info["name"], "Alice Adams");
    assert!(info.get("phone_number").is_none());
}

#[tokio::test]
async fn a_malformed_claims_parameter_is_invalid_request() {
    let rig = rig().await;
    for claims in ["{not json", "[1,2]", r#"{"id_token": 5}"#] {
        let reply = rig.browser().authorize(&web(&[("claims", claims)])).await;
        assert_eq!(response_params(&reply)["error"], "invalid_request", "{claims}");
    }
}

#[tokio::test]
async fn acr_values_asks_for_the_second_factor_and_sets_acr_and_amr() {
    let rig = rig().await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[("acr_values", "urn:idaas:acr:mfa")])).await;
    let page = browser.get(to_login.location().unwrap().as_str()).await;
    assert!(find_form(&page.body, "login").unwrap().names.contains(&"otp".to_string()), "one-time code field");
    let without_otp = browser.login(&to_login, ALICE, None).await;
    assert_eq!(without_otp.status, StatusCode::OK, "the form comes back");
    assert!(without_otp.body.contains("one-time code"), "{}", without_otp.body);
    let wrong_otp = browser.login(&to_login, ALICE, Some("000000")).await;
    assert_eq!(wrong_otp.status, StatusCode::OK);

    let id = id_token_claims(&rig, &[("acr_values", "urn:idaas:acr:mfa")], ALICE, Some(ALICE_OTP)).await;
    assert_eq!(id["acr"], "urn:idaas:acr:mfa");
    assert_eq!(id["amr"], json!(["otp", "pwd", "mfa"]));
}

/// The default configuration with bob's TOTP (his second factor) taken away.
fn bob_with_password_only() -> reference_server::Config {
    let mut config = reference_server::Config::default();
    let bob = config.users.iter_mut().find(|u| u.username == BOB.0).expect("bob");
    bob.methods = vec!["pwd".into()];
    bob.totp_secret = None;
    config
}

#[tokio::test]
async fn acr_is_the_first_requested_value_the_user_can_satisfy() {
    let rig = rig_with(bob_with_password_only()).await;
    let id = id_token_claims(&rig, &[("acr_values", "urn:idaas:acr:mfa urn:idaas:acr:password")], BOB, None).await;
    assert_eq!(id["acr"], "urn:idaas:acr:password", "bob has no second factor");
    assert_eq!(id["amr"], json!(["pwd"]));
}

#[tokio::test]
async fn an_essential_acr_the_user_cannot_meet_fails_the_login() {
    let rig = rig_with(bob_with_password_only()).await;
    let claims = json!({"id_token": {"acr": {"essential": true, "values": ["urn:idaas:acr:mfa"]}}}).to_string();
    let result = rig.browser().flow(&web(&[("claims", &claims)]), BOB, None).await;
    assert_eq!(result.param("error"), "access_denied");
}

#[tokio::test]
async fn amr_values_requests_the_method_that_then_appears_in_amr() {
    let rig = rig().await;
    let id = id_token_claims(&rig, &[("amr_values", "otp")], ALICE, Some(ALICE_OTP)).await;
    assert!(id["amr"].as_array().unwrap().contains(&json!("otp")));
}

#[tokio::test]
async fn org_id_selects_a_membership_and_refuses_strangers() {
    let rig = rig().await;
    let id = id_token_claims(&rig, &[("org_id", "org-globex")], ALICE, None).await;
    assert_eq!(id["org_id"], "org-globex");
    let result = rig.browser().flow(&web(&[("org_id", "org-acme")]), BOB, None).await;
    assert_eq!(result.param("error"), "access_denied");
    assert_eq!(result.param("state"), "s");
}

#[tokio::test]
async fn audience_at_the_authorization_endpoint_sets_the_access_token_audience() {
    let rig = rig().await;
    for name in ["audience", "resource"] {
        let result = rig.browser().flow(&web(&[(name, "https://billing.example.test")]), ALICE, None).await;
        let code = result.param("code");
        let tokens =
            rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await.json();
        let (_, at) = rig.verify_jwt(tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(at["aud"], "https://billing.example.test", "{name}");
    }
    let reply = rig.browser().authorize(&web(&[("resource", "https://nowhere.example.test")])).await;
    assert_eq!(response_params(&reply)["error"], "invalid_target");
}

#[tokio::test]
async fn unsupported_parameters_are_ignored_by_default() {
    let rig = rig().await;
    let extra = [("display", "popup"), ("id_token_hint", "eyJhbGciOiJub25lIn0.e30."), ("ui_locales", "fr-CA"), ("unknown_param", "x")];
    let result = rig.browser().flow(&web(&extra), ALICE, None).await;
    assert!(result.params.contains_key("code"), "{:?}", result.params);
}

#[tokio::test]
async fn strict_mode_rejects_each_unsupported_parameter() {
    let rig = rig_with(reference_server::Config { strict: true, ..Default::default() }).await;
    for name in ["display", "id_token_hint", "ui_locales"] {
        let reply = rig.browser().authorize(&web(&[(name, "x")])).await;
        let p = response_params(&reply);
        assert_eq!(p["error"], "invalid_request", "{name}");
        assert!(p["error_description"].contains(name));
    }
    let result = rig.browser().flow(&web(&[("unknown_param", "x")]), ALICE, None).await;
    assert!(result.params.contains_key("code"), "unknown parameters are still ignored");
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_request() {
    let rig = rig().await;
    let reply = rig.browser().authorize(&web(&[("scope", "email")])).await;
    let p = response_params(&reply);
    assert_eq!(p["error"], "invalid_request");
    assert!(p["error_description"].contains("scope"));
    let reply = rig.browser().authorize(&web(&[("redirect_uri", WEB_REDIRECT)])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "a repeated redirect_uri cannot be trusted");
    assert!(reply.header("location").is_none());
}

/// RFC 6749 §3.1: "MUST NOT be included more than once" is about what was sent, so an empty
/// occurrence beside a valued one is a repeat too, in either order, at both endpoints.
#[tokio::test]
async fn an_empty_occurrence_beside_a_value_is_a_repeat() {
    let rig = rig().await;
    for pair in [[("nonce", ""), ("nonce", "n")], [("nonce", "n"), ("nonce", "")]] {
        let reply = rig.browser().authorize(&web(&pair)).await;
        let p = response_params(&reply);
        assert_eq!(p["error"], "invalid_request", "{pair:?}");
        assert!(p["error_description"].contains("nonce"), "{pair:?}");
    }
    for pair in [[("state", ""), ("state", "v")], [("state", "v"), ("state", "")]] {
        let mut params = web(&[]);
        params.retain(|(n, _)| *n != "state");
        params.extend(pair);
        let p = response_params(&rig.browser().authorize(&params).await);
        assert_eq!(p["error"], "invalid_request", "{pair:?}");
        assert!(!p.contains_key("state"), "a repeated state has no value to echo: {pair:?}");
    }
    for pair in [[("scope", ""), ("scope", "read")], [("scope", "read"), ("scope", "")]] {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend(pair);
        rig.token(Some(SERVICE), &form).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
}
