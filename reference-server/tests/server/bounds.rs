//! Bounded state: floods of what anyone (or any logged-in user) can create stay within the
//! configured `[limits]`, as `/admin/stats` reports.

use crate::support::*;
use reference_server::config::Limits;
use reqwest::StatusCode;
use serde_json::Value;

async fn stats(rig: &Rig) -> Value {
    Reply::from(rig.http.get(rig.url("/admin/stats")).bearer_auth(rig.server.admin_token()).send().await.unwrap()).await.json()
}

fn limited(limits: Limits) -> reference_server::Config {
    reference_server::Config { limits, ..Default::default() }
}

#[tokio::test]
async fn authorizations_that_never_log_in_are_capped_per_client_and_in_all() {
    let rig = rig_with(limited(Limits { max_interactions: 50, max_interactions_per_client: 30, ..Limits::default() })).await;
    let browser = rig.browser();
    let web = |state: String| {
        vec![
            ("client_id", WEB.0.to_string()),
            ("redirect_uri", WEB_REDIRECT.into()),
            ("response_type", "code".into()),
            ("scope", "openid".into()),
            ("state", state),
        ]
    };
    let mut login_pages = Vec::new();
    for i in 0..40 {
        let params = web(format!("s{i}"));
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = browser.authorize(&params).await;
        assert!(reply.location().is_some_and(|l| l.path().ends_with("/login")), "a new request always starts");
        login_pages.push(reply.location().unwrap().to_string());
    }
    assert_eq!(stats(&rig).await["interactions"], 30, "beyond max_interactions_per_client the client's oldest were dropped");
    let oldest = browser.get(&login_pages[0]).await;
    assert_eq!(oldest.status, StatusCode::BAD_REQUEST, "the oldest sign-in page says it expired");
    assert_eq!(browser.get(&login_pages[39]).await.status, StatusCode::OK);
    let (_, challenge) = pkce();
    for _ in 0..30 {
        let reply = browser
            .authorize(&[
                ("client_id", SPA),
                ("redirect_uri", SPA_REDIRECT),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .await;
        assert!(reply.location().is_some_and(|l| l.path().ends_with("/login")));
    }
    let stats = stats(&rig).await;
    assert_eq!(stats["interactions"], 50, "the oldest were dropped beyond max_interactions: {stats}");
    assert_eq!(stats["limits"]["max_interactions"], 50);
}

#[tokio::test]
async fn logins_and_codes_beyond_their_caps_drop_the_oldest() {
    let rig = rig_with(limited(Limits { max_sessions: 5, max_codes: 5, ..Limits::default() })).await;
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(rig.browser().code_flow(WEB.0, WEB_REDIRECT, "openid", &[], ALICE).await.param("code"));
    }
    let stats = stats(&rig).await;
    assert_eq!((stats["sessions"].as_u64(), stats["codes"].as_u64()), (Some(5), Some(5)), "{stats}");
    let redeem = |code: &str| {
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", WEB_REDIRECT)].map(|(k, v)| (k, v.to_string()))
    };
    let newest = redeem(&codes[7]);
    let newest: Vec<(&str, &str)> = newest.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(rig.token(Some(WEB), &newest).await.status, StatusCode::OK);
    let oldest = redeem(&codes[0]);
    let oldest: Vec<(&str, &str)> = oldest.iter().map(|(k, v)| (*k, v.as_str())).collect();
    rig.token(Some(WEB), &oldest).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_grant_refreshed_a_thousand_times_is_still_one_grant_and_detects_reuse_of_its_first_token() {
    let rig = rig().await;
    let tokens = rig.web_tokens("openid offline_access", ALICE).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_string();
    let mut current = first.clone();
    for _ in 0..1000 {
        let reply = rig.token(Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", &current)]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        current = reply.json()["refresh_token"].as_str().unwrap().to_string();
    }
    let stats = stats(&rig).await;
    assert_eq!((stats["grants"].as_u64(), stats["refresh_families"].as_u64()), (Some(1), Some(1)), "{stats}");
    rig.token(Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", &first)])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let after = rig.token(Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", &current)]).await;
    after.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(stats_of_grants(&rig).await, 0, "reuse of the first token revoked the family");
}

async fn stats_of_grants(rig: &Rig) -> u64 {
    stats(rig).await["grants"].as_u64().unwrap_or(u64::MAX)
}

#[test]
fn a_zero_limit_is_refused_naming_its_key() {
    let config = limited(Limits { max_codes: 0, ..Limits::default() });
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("limits.max_codes"), "{error}");
}
