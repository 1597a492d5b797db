//! The token lifecycle: refresh rotation and reuse, scope narrowing, the per-user cap,
//! RFC 7009 revocation and the admin API's bulk revocation.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn refresh(rig: &Rig, token: &str, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    rig.token(Some(WEB), &form).await
}

fn s<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name].as_str().unwrap_or_else(|| panic!("no {name} in {v}"))
}

#[tokio::test]
async fn refresh_tokens_need_offline_access_and_rotate() {
    let rig = rig().await;
    let without = rig.web_tokens("openid", ALICE).await;
    assert!(without.get("refresh_token").is_none());
    let first = rig.web_tokens("openid offline_access", ALICE).await;
    let r1 = s(&first, "refresh_token");
    let second = refresh(&rig, r1, &[]).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let second = second.json();
    let r2 = s(&second, "refresh_token");
    assert_ne!(r1, r2, "rotated");
    assert_eq!(refresh(&rig, r2, &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_family() {
    let rig = rig().await;
    let first = rig.web_tokens("openid offline_access", ALICE).await;
    let second = refresh(&rig, s(&first, "refresh_token"), &[]).await.json();
    let reuse = refresh(&rig, s(&first, "refresh_token"), &[]).await;
    reuse.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    refresh(&rig, s(&second, "refresh_token"), &[]).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(rig.userinfo(s(&second, "access_token")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(rig.userinfo(s(&first, "access_token")).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_scope_can_narrow_but_not_widen() {
    let rig = rig().await;
    let first = rig.web_tokens("openid email offline_access", ALICE).await;
    let narrowed = refresh(&rig, s(&first, "refresh_token"), &[("scope", "openid")]).await.json();
    assert_eq!(narrowed["scope"], "openid");
    let (_, at) = rig.verify_jwt(s(&narrowed, "access_token")).await;
    assert_eq!(at["scope"], "openid");
    let widened = refresh(&rig, s(&narrowed, "refresh_token"), &[("scope", "openid profile")]).await;
    widened.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    // The refused request did not consume the token, and the original scope still applies.
    let again = refresh(&rig, s(&narrowed, "refresh_token"), &[]).await.json();
    assert_eq!(again["scope"], "openid email offline_access");
}

#[tokio::test]
async fn a_refreshed_id_token_keeps_auth_time_and_subject() {
    let rig = rig().await;
    let first = rig.web_tokens("openid offline_access", ALICE).await;
    let (_, id1) = rig.verify_jwt(s(&first, "id_token")).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = refresh(&rig, s(&first, "refresh_token"), &[]).await.json();
    let (_, id2) = rig.verify_jwt(s(&second, "id_token")).await;
    assert_eq!(id2["auth_time"], id1["auth_time"]);
    assert_eq!(id2["sub"], id1["sub"]);
    assert!(id2["iat"].as_u64() > id1["iat"].as_u64());
    assert!(id2.get("nonce").is_none());
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let rig = rig().await;
    let first = rig.web_tokens("openid offline_access", ALICE).await;
    let r = s(&first, "refresh_token");
    let other = rig
        .token(None, &[("grant_type", "refresh_token"), ("refresh_token", r), ("client_id", WEB_POST.0), ("client_secret", WEB_POST.1)])
        .await;
    other.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(refresh(&rig, r, &[]).await.status, StatusCode::OK, "the owner's token was not consumed");
}

#[tokio::test]
async fn at_most_50_grants_per_user_per_application_the_oldest_dropped() {
    let rig = rig().await;
    let browser = rig.browser();
    let mut grants = Vec::new();
    for _ in 0..51 {
        let code = browser.code_flow(WEB.0, WEB_REDIRECT, "openid offline_access", &[], ALICE).await.param("code");
        let reply = rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await;
        grants.push(reply.json());
    }
    let oldest = &grants[0];
    assert_eq!(rig.userinfo(s(oldest, "access_token")).await.status, StatusCode::UNAUTHORIZED);
    refresh(&rig, s(oldest, "refresh_token"), &[]).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(rig.userinfo(s(&grants[1], "access_token")).await.status, StatusCode::OK);
    assert_eq!(refresh(&rig, s(&grants[1], "refresh_token"), &[]).await.status, StatusCode::OK);
    let stats = Reply::from(rig.http.get(rig.url("/admin/stats")).bearer_auth(rig.server.admin_token()).send().await.unwrap()).await.json();
    assert_eq!(stats["grants"], 50);
}

#[tokio::test]
async fn rfc_7009_revocation_by_the_owner_kills_refresh_and_userinfo() {
    let rig = rig().await;
    for which in ["refresh_token", "access_token"] {
        let tokens = rig.web_tokens("openid offline_access", ALICE).await;
        let reply = Reply::from(
            rig.http.post(rig.url("/revoke")).basic_auth(WEB.0, Some(WEB.1)).form(&[("token", s(&tokens, which))]).send().await.unwrap(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{which}: {}", reply.body);
        assert_eq!(rig.userinfo(s(&tokens, "access_token")).await.status, StatusCode::UNAUTHORIZED, "{which}");
        refresh(&rig, s(&tokens, "refresh_token"), &[]).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn revocation_refuses_another_clients_token_and_accepts_unknown_ones() {
    let rig = rig().await;
    let tokens = rig.web_tokens("openid offline_access", ALICE).await;
    let foreign = Reply::from(
        rig.http
            .post(rig.url("/revoke"))
            .form(&[("token", s(&tokens, "refresh_token")), ("client_id", WEB_POST.0), ("client_secret", WEB_POST.1)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    foreign.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(refresh(&rig, s(&tokens, "refresh_token"), &[]).await.status, StatusCode::OK, "not revoked");
    let unknown =
        rig.http.post(rig.url("/revoke")).basic_auth(WEB.0, Some(WEB.1)).form(&[("token", "no-such-token")]).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::OK, "RFC 7009 §2.2");
    let unauthenticated = Reply::from(rig.http.post(rig.url("/revoke")).form(&[("token", "x")]).send().await.unwrap()).await;
    unauthenticated.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn admin_revocation_per_user_application_and_resource_server() {
    let rig = rig().await;
    let alice = rig.web_tokens("openid offline_access", ALICE).await;
    let bob = rig.web_tokens("openid offline_access", BOB).await;
    let reply = rig.admin("/admin/revoke", json!({"user": "alice"})).await;
    assert_eq!(reply.json()["revoked_grants"], 1);
    assert_eq!(rig.userinfo(s(&alice, "access_token")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(rig.userinfo(s(&bob, "access_token")).await.status, StatusCode::OK);

    let reply = rig.admin("/admin/revoke", json!({"client_id": "web-app"})).await;
    assert_eq!(reply.json()["revoked_grants"], 1);
    refresh(&rig, s(&bob, "refresh_token"), &[]).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let browser = rig.browser();
    let code = browser
        .code_flow(WEB.0, WEB_REDIRECT, "openid read offline_access", &[("resource", "https://api.example.test")], ALICE)
        .await
        .param("code");
    let api = rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await.json();
    let plain = rig.web_tokens("openid offline_access", ALICE).await;
    let reply = rig.admin("/admin/revoke", json!({"resource": "https://api.example.test"})).await;
    assert_eq!(reply.json()["revoked_grants"], 1);
    assert_eq!(rig.userinfo(s(&api, "access_token")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(rig.userinfo(s(&plain, "access_token")).await.status, StatusCode::OK);

    let empty = rig.admin("/admin/revoke", json!({})).await;
    empty.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    let unknown = rig.admin("/admin/revoke", json!({"user": "mallory"})).await;
    unknown.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn oauth_grants_without_openid_refresh_too() {
    let rig = rig().await;
    let first = rig.web_tokens("read offline_access", ALICE).await;
    assert!(first.get("id_token").is_none());
    let second = refresh(&rig, s(&first, "refresh_token"), &[]).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let second = second.json();
    assert!(second.get("id_token").is_none(), "no ID token without openid");
    let (_, at) = rig.verify_jwt(s(&second, "access_token")).await;
    assert_eq!(at["scope"], "read offline_access");
}
