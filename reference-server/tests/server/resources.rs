//! RFC 8707 resource indicators: `resource` may be sent several times to the authorization
//! endpoint (the grant covers each), every access token is for one of the grant's resources,
//! chosen at the token endpoint on redemption or refresh (§2.2); what cannot be issued as one
//! token, or is not an absolute URI without fragment (§2), is `invalid_target`.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::Value;

const API: &str = "https://api.example.test";
const BILLING: &str = "https://billing.example.test";

fn web<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("client_id", WEB.0),
        ("redirect_uri", WEB_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid read offline_access"),
        ("state", "s"),
    ];
    p.extend_from_slice(extra);
    p
}

async fn code(rig: &Rig, extra: &[(&str, &str)]) -> String {
    rig.browser().flow(&web(extra), ALICE, None).await.param("code")
}

async fn redeem(rig: &Rig, code: &str, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", WEB_REDIRECT)];
    form.extend_from_slice(extra);
    rig.token(Some(WEB), &form).await
}

async fn refresh(rig: &Rig, token: &str, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    rig.token(Some(WEB), &form).await
}

async fn aud(rig: &Rig, reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    rig.verify_jwt(reply.json()["access_token"].as_str().unwrap()).await.1["aud"].clone()
}

#[tokio::test]
async fn a_grant_for_several_resources_issues_one_token_per_resource() {
    let rig = rig().await;
    let code = code(&rig, &[("resource", API), ("resource", BILLING)]).await;
    // §2.2: with several resources authorized the token request picks one; a request that
    // names none, both, or another one cannot be answered with one token, and the code is
    // not used up by such a refusal.
    for extra in [vec![], vec![("resource", API), ("resource", BILLING)], vec![("resource", "https://other.example.test")]] {
        redeem(&rig, &code, &extra).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_target");
    }
    let first = redeem(&rig, &code, &[("resource", BILLING)]).await;
    assert_eq!(aud(&rig, &first).await, BILLING);
    let refresh_token = first.json()["refresh_token"].as_str().unwrap().to_string();
    let to_api = refresh(&rig, &refresh_token, &[("resource", API)]).await;
    assert_eq!(aud(&rig, &to_api).await, API, "§2.2: a refresh token gets tokens for each resource of its grant");
    let next = to_api.json()["refresh_token"].as_str().unwrap().to_string();
    let to_billing = refresh(&rig, &next, &[("audience", BILLING)]).await;
    assert_eq!(aud(&rig, &to_billing).await, BILLING, "the profile's audience alias alike");
}

#[tokio::test]
async fn refresh_may_only_name_a_resource_of_the_grant() {
    let rig = rig().await;
    let tokens = redeem(&rig, &code(&rig, &[("resource", API)]).await, &[]).await;
    assert_eq!(aud(&rig, &tokens).await, API, "the grant's only resource needs no naming");
    let refresh_token = tokens.json()["refresh_token"].as_str().unwrap().to_string();
    // Billing is allowed for the client but was not authorized for this grant.
    for extra in [vec![("resource", BILLING)], vec![("resource", "/relative")], vec![("resource", API), ("resource", BILLING)]] {
        refresh(&rig, &refresh_token, &extra).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_target");
    }
    // The refusals did not use the refresh token up.
    let again = refresh(&rig, &refresh_token, &[("resource", API)]).await;
    assert_eq!(aud(&rig, &again).await, API);
    let next = again.json()["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(aud(&rig, &refresh(&rig, &next, &[]).await).await, API, "without resource, the grant's only one");
}

#[tokio::test]
async fn a_grant_without_resource_cannot_be_refreshed_for_one() {
    let rig = rig().await;
    let tokens = redeem(&rig, &code(&rig, &[]).await, &[]).await;
    assert_eq!(aud(&rig, &tokens).await, rig.server.issuer());
    let refresh_token = tokens.json()["refresh_token"].as_str().unwrap().to_string();
    refresh(&rig, &refresh_token, &[("resource", API)]).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_target");
}

#[tokio::test]
async fn every_resource_value_must_be_an_acceptable_absolute_uri() {
    let rig = rig().await;
    let browser = rig.browser();
    for bad in ["/api", "https://api.example.test#frag", "https://nowhere.example.test"] {
        let reply = browser.authorize(&web(&[("resource", API), ("resource", bad)])).await;
        let p = response_params(&reply);
        assert_eq!(p["error"], "invalid_target", "{bad}");
        assert_eq!(p["state"], "s");
    }
    let reply = browser.authorize(&web(&[("audience", API), ("audience", BILLING)])).await;
    assert_eq!(response_params(&reply)["error"], "invalid_request", "only resource may repeat");
}

#[tokio::test]
async fn an_access_token_from_the_authorization_endpoint_is_for_one_resource() {
    let rig = rig().await;
    let mut params = vec![
        ("client_id", WEB.0),
        ("redirect_uri", WEB_REDIRECT),
        ("response_type", "id_token token"),
        ("scope", "openid read"),
        ("nonce", "n"),
        ("resource", API),
        ("resource", BILLING),
    ];
    let reply = rig.browser().authorize(&params).await;
    assert_eq!(response_params(&reply)["error"], "invalid_target");
    params.pop();
    let result = rig.browser().flow(&params, ALICE, None).await;
    let (_, at) = rig.verify_jwt(&result.param("access_token")).await;
    assert_eq!(at["aud"], API);
}

#[tokio::test]
async fn client_credentials_take_one_resource() {
    let rig = rig().await;
    let reply = rig.token(Some(SERVICE), &[("grant_type", "client_credentials"), ("resource", API), ("resource", BILLING)]).await;
    reply.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_target");
    let reply = rig.token(Some(SERVICE), &[("grant_type", "client_credentials"), ("resource", API), ("resource", API)]).await;
    assert_eq!(aud(&rig, &reply).await, API, "the same resource twice is one resource");
}
