//! UserInfo (OIDC Core §5.3) and bearer token usage (RFC 6750).

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn userinfo_by_header_and_by_form_body() {
    let rig = rig().await;
    let tokens = rig.web_tokens("openid email", ALICE).await;
    let access = tokens["access_token"].as_str().unwrap();
    let by_header = rig.userinfo(access).await;
    assert_eq!(by_header.status, StatusCode::OK);
    let claims = by_header.json();
    let (_, id) = decode_jwt(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], id["sub"], "OIDC Core §5.3.2: sub matches the ID token");
    assert_eq!(claims["email"], "alice@acme.example.test");
    assert!(claims.get("name").is_none(), "profile was not requested");
    let by_body = Reply::from(rig.http.post(rig.url("/userinfo")).form(&[("access_token", access)]).send().await.unwrap()).await;
    assert_eq!(by_body.status, StatusCode::OK);
    assert_eq!(by_body.json(), claims);
}

#[tokio::test]
async fn missing_invalid_or_doubled_tokens_are_refused_with_a_challenge() {
    let rig = rig().await;
    let none = Reply::from(rig.http.get(rig.url("/userinfo")).send().await.unwrap()).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.header("www-authenticate").is_some_and(|c| c.starts_with("Bearer")));
    let garbage = rig.userinfo("not-a-token").await;
    garbage.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(garbage.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));
    let tokens = rig.web_tokens("openid", ALICE).await;
    let access = tokens["access_token"].as_str().unwrap();
    let tampered = format!("{}x", &access[..access.len() - 1]);
    rig.userinfo(&tampered).await.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let id_token_as_bearer = rig.userinfo(tokens["id_token"].as_str().unwrap()).await;
    id_token_as_bearer.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let both =
        Reply::from(rig.http.post(rig.url("/userinfo")).bearer_auth(access).form(&[("access_token", access)]).send().await.unwrap()).await;
    both.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn client_credentials_and_oauth_tokens_do_not_open_userinfo() {
    let rig = rig().await;
    let cc = rig.token(Some(SERVICE), &[("grant_type", "client_credentials")]).await.json();
    rig.userinfo(cc["access_token"].as_str().unwrap()).await.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let oauth = rig.web_tokens("read", ALICE).await;
    let reply = rig.userinfo(oauth["access_token"].as_str().unwrap()).await;
    reply.assert_oauth_error(StatusCode::FORBIDDEN, "insufficient_scope");
}

#[tokio::test]
async fn a_token_from_another_server_is_refused() {
    let a = rig().await;
    let b = rig().await;
    let tokens = a.web_tokens("openid", ALICE).await;
    // Same keys in one process, so only the issuer and the token record tell them apart.
    b.userinfo(tokens["access_token"].as_str().unwrap()).await.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
}
