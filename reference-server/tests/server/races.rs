//! Concurrency: single use must hold under concurrent requests.

use crate::support::*;
use reqwest::StatusCode;
use std::sync::Arc;

/// Sends the same token request 100 times at once; returns the successful bodies and the
/// number of refusals.
async fn concurrently(rig: Arc<Rig>, form: Vec<(String, String)>) -> (Vec<serde_json::Value>, usize) {
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let rig = rig.clone();
            let form = form.clone();
            tokio::spawn(async move {
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                rig.token(Some(WEB), &form).await
            })
        })
        .collect();
    let mut ok = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            StatusCode::OK => ok.push(reply.json()),
            StatusCode::BAD_REQUEST => refused += 1,
            other => panic!("unexpected status {other}: {}", reply.body),
        }
    }
    (ok, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_concurrent_redemptions_of_one_code_give_one_success() {
    let rig = Arc::new(rig().await);
    let code = rig.browser().code_flow(WEB.0, WEB_REDIRECT, "openid", &[], ALICE).await.param("code");
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", WEB_REDIRECT)];
    let (ok, refused) = concurrently(rig.clone(), form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).await;
    assert_eq!((ok.len(), refused), (1, 99));
    // The 99 replays revoked what the single winner got (RFC 6749 §4.1.2).
    assert_eq!(rig.userinfo(ok[0]["access_token"].as_str().unwrap()).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_concurrent_refreshes_of_one_token_give_one_success() {
    let rig = Arc::new(rig().await);
    let tokens = rig.web_tokens("openid offline_access", ALICE).await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())];
    let (ok, refused) = concurrently(rig.clone(), form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).await;
    assert_eq!((ok.len(), refused), (1, 99));
    // Reuse of the rotated token revoked the family, the winner's new refresh token included.
    let after = rig.token(Some(WEB), &[("grant_type", "refresh_token"), ("refresh_token", ok[0]["refresh_token"].as_str().unwrap())]).await;
    after.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

/// Posts `fields` to `action` 50 times at once from `browser` (one cookie jar): the replies.
async fn fifty_at_once(browser: &Arc<Browser>, action: &str, fields: Vec<(String, String)>) -> Vec<Reply> {
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (browser, action, fields) = (browser.clone(), action.to_string(), fields.clone());
            tokio::spawn(async move { browser.post_form(&action, &fields).await })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}

/// The replies that sent the browser to the client with a code.
fn codes(replies: &[Reply]) -> Vec<String> {
    replies.iter().filter_map(|r| response_params(r).get("code").cloned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_logins_of_one_interaction_give_one_code() {
    let rig = Arc::new(rig().await);
    // web-app-post needs no consent: a successful login ends the interaction with a code.
    for round in 0..20 {
        let browser = Arc::new(rig.browser());
        let (_, challenge) = pkce();
        let params = [
            ("client_id", WEB_POST.0),
            ("redirect_uri", WEB_POST_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let to_login = browser.authorize(&params).await;
        let page = browser.get(to_login.location().expect("the login page").as_str()).await;
        let form = find_form(&page.body, "login").expect("the login form");
        let mut fields: Vec<(String, String)> = form.fields.into_iter().filter(|(n, _)| n != "username").collect();
        fields.extend([("username".to_string(), ALICE.0.to_string()), ("password".to_string(), ALICE.1.to_string())]);
        let replies = fifty_at_once(&browser, &form.action, fields).await;
        let codes = codes(&replies);
        assert_eq!(codes.len(), 1, "round {round}: {} codes for one login", codes.len());
        for reply in replies.iter().filter(|r| !response_params(r).contains_key("code")) {
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "round {round}: the others see the interaction expired");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_consents_of_one_interaction_give_one_code() {
    let rig = Arc::new(rig().await);
    for round in 0..20 {
        let browser = Arc::new(rig.browser());
        let to_login = browser
            .authorize(&[("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid")])
            .await;
        let to_consent = browser.login(&to_login, ALICE, None).await;
        let page = browser.get(to_consent.location().expect("the consent page").as_str()).await;
        let form = find_form(&page.body, "consent").expect("the consent form");
        let mut fields = form.fields;
        fields.push(("decision".into(), "approve".into()));
        let replies = fifty_at_once(&browser, &form.action, fields).await;
        assert_eq!(codes(&replies).len(), 1, "round {round}: one consent, one code");
    }
}
