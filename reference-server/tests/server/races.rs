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
