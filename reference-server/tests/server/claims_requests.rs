//! What a `claims` request (OIDC Core §5.5) binds: a `sub` value names the only End-User who
//! may be answered for (§3.1.2.2, §5.5.1), and the consent page lists every claim the grant
//! releases (so nothing is released that the user did not see).

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

const BOB_SUB: &str = "u-bob-21c9";

fn web<'a>(scope: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", scope), ("state", "s")];
    p.extend_from_slice(extra);
    p
}

fn for_bob() -> String {
    json!({"id_token": {"sub": {"value": BOB_SUB}}}).to_string()
}

fn goes_to(reply: &Reply, path: &str) -> bool {
    reply.location().is_some_and(|l| l.path().ends_with(path))
}

#[tokio::test]
async fn a_login_as_another_user_than_the_requested_sub_is_refused() {
    let rig = rig().await;
    let browser = rig.browser();
    let claims = for_bob();
    let to_login = browser.authorize(&web("openid", &[("claims", &claims)])).await;
    let as_alice = browser.login(&to_login, ALICE, None).await;
    assert_eq!(as_alice.status, StatusCode::OK, "the login page again, not a response to the client");
    assert!(as_alice.body.contains("different account"), "{}", as_alice.body);
    assert!(as_alice.header("set-cookie").is_none(), "no session was started for alice");
    let as_bob = browser.login(&to_login, BOB, None).await;
    let as_bob = browser.consent(&as_bob, "approve").await;
    let code = response_params(&as_bob)["code"].clone();
    let tokens =
        rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await.json();
    let (_, id) = rig.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(id["sub"], BOB_SUB);
}

#[tokio::test]
async fn a_session_of_another_user_is_not_answered_for() {
    let rig = rig().await;
    let browser = rig.browser();
    browser.flow(&web("openid", &[]), ALICE, None).await.param("code");
    let claims = for_bob();
    let silent = browser.authorize(&web("openid", &[("claims", &claims), ("prompt", "none")])).await;
    let p = response_params(&silent);
    assert_eq!(p["error"], "login_required", "OIDC Core §3.1.2.2: bob is not logged in");
    assert!(!p.contains_key("code"));
    assert!(goes_to(&browser.authorize(&web("openid", &[("claims", &claims)])).await, "/login"), "bob must log in");
    let alice = json!({"id_token": {"sub": {"value": "u-alice-7f3a"}}}).to_string();
    // The session's own sub: no login, and no consent page either, since asking for `sub`
    // releases nothing the approved request did not (rules::consent).
    let same = browser.authorize(&web("openid", &[("claims", &alice)])).await;
    assert!(response_params(&same).contains_key("code"), "{:?}", same.location());
    let either = json!({"id_token": {"sub": {"values": ["u-nobody", "u-alice-7f3a"]}}}).to_string();
    assert!(response_params(&browser.authorize(&web("openid", &[("claims", &either)])).await).contains_key("code"));
}

/// The claims named on the consent page.
async fn consent_page_claims(browser: &Browser, to_consent: &Reply) -> BTreeSet<String> {
    let page = browser.get(to_consent.location().expect("the consent page").as_str()).await;
    let doc = scraper::Html::parse_document(&page.body);
    let items = scraper::Selector::parse("ul#claims li").unwrap();
    doc.select(&items).map(|li| li.text().collect::<String>()).collect()
}

/// The user claims of a token or userinfo answer: everything but the protocol's own.
fn user_claims(claims: &serde_json::Value) -> BTreeSet<String> {
    const PROTOCOL: [&str; 14] =
        ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "org_id", "sid", "jti"];
    claims.as_object().unwrap().keys().filter(|k| !PROTOCOL.contains(&k.as_str())).cloned().collect()
}

#[tokio::test]
async fn the_consent_page_lists_every_claim_released() {
    let rig = rig().await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web("openid email", &[])).await;
    let to_consent = browser.login(&to_login, ALICE, None).await;
    assert_eq!(consent_page_claims(&browser, &to_consent).await, BTreeSet::from(["email".into(), "email_verified".into()]));
    browser.consent(&to_consent, "approve").await;
    // The same scope with a claims request for more: asked again, listing the extra claims.
    let claims = json!({"id_token": {"phone_number": null}, "userinfo": {"name": null, "address": {"essential": true}}}).to_string();
    let to_consent = browser.authorize(&web("openid email", &[("claims", &claims)])).await;
    assert!(goes_to(&to_consent, "/consent"), "an approval of the scope alone does not cover more claims");
    let shown = consent_page_claims(&browser, &to_consent).await;
    let expected = ["address", "email", "email_verified", "name", "phone_number"];
    assert_eq!(shown, expected.iter().map(|s| s.to_string()).collect(), "what alice has of what is asked");
    let code = response_params(&browser.consent(&to_consent, "approve").await)["code"].clone();
    let tokens =
        rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await.json();
    let (_, id) = rig.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    let info = rig.userinfo(tokens["access_token"].as_str().unwrap()).await.json();
    let released: BTreeSet<String> = user_claims(&id).union(&user_claims(&info)).cloned().collect();
    assert!(released.is_subset(&shown), "released {released:?}, shown {shown:?}");
    assert!(released.contains("phone_number") && released.contains("name"));
    // Approved with these claims: the same request goes through without the page.
    let again = browser.authorize(&web("openid email", &[("claims", &claims)])).await;
    assert!(response_params(&again).contains_key("code"));
}

#[tokio::test]
async fn a_remembered_consent_covers_what_asks_for_nothing_more_and_no_made_up_claim_grows_it() {
    let rig = rig().await;
    let browser = rig.browser();
    browser.flow(&web("openid email", &[]), ALICE, None).await.param("code");
    // A claim the user does not have releases nothing: the approval covers it.
    let made_up = json!({"userinfo": {"x-not-a-claim": null, "x-another": {"essential": true}}}).to_string();
    let again = browser.authorize(&web("openid email", &[("claims", &made_up)])).await;
    assert!(response_params(&again).contains_key("code"), "{:?}", again.location());
    // A new scope releases new claims: the user is asked again.
    assert!(goes_to(&browser.authorize(&web("openid profile", &[])).await, "/consent"));
    // A claim the user has but did not approve: asked again.
    let name = json!({"userinfo": {"name": null}}).to_string();
    assert!(goes_to(&browser.authorize(&web("openid", &[("claims", &name)])).await, "/consent"));
}
