//! Client credentials (RFC 6749 §4.4), audience/resource (RFC 8707), client authentication.

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn client_credentials_issues_an_rfc_9068_token_for_the_default_audience() {
    let rig = rig().await;
    let reply = rig.token(Some(SERVICE), &[("grant_type", "client_credentials"), ("scope", "read")]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert!(body.get("refresh_token").is_none(), "RFC 6749 §4.4.3");
    assert!(body.get("id_token").is_none());
    assert_eq!(body["scope"], "read");
    let (header, at) = rig.verify_jwt(body["access_token"].as_str().unwrap()).await;
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(at["sub"], SERVICE.0, "RFC 9068 §2.2: sub is the client when there is no user");
    assert_eq!(at["client_id"], SERVICE.0);
    assert_eq!(at["aud"], "https://api.example.test");
    for claim in ["iss", "exp", "iat", "jti"] {
        assert!(at.get(claim).is_some(), "{claim}");
    }
}

#[tokio::test]
async fn audience_and_resource_select_the_token_audience() {
    let rig = rig().await;
    for name in ["audience", "resource"] {
        let reply = rig
            .token(
                Some(SERVICE),
                &[("grant_type", "client_credentials"), (name, "https://billing.example.test"), ("scope", "billing:read")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let (_, at) = rig.verify_jwt(reply.json()["access_token"].as_str().unwrap()).await;
        assert_eq!(at["aud"], "https://billing.example.test", "{name}");
    }
    let unknown = rig.token(Some(SERVICE), &[("grant_type", "client_credentials"), ("resource", "https://unknown.example.test")]).await;
    unknown.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_target");
    let relative = rig.token(Some(SERVICE), &[("grant_type", "client_credentials"), ("resource", "/api")]).await;
    relative.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_target");
    let both = rig
        .token(
            Some(SERVICE),
            &[("grant_type", "client_credentials"), ("resource", "https://api.example.test"), ("audience", "https://billing.example.test")],
        )
        .await;
    both.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn scopes_must_be_allowed_for_the_client_and_the_resource() {
    let rig = rig().await;
    let reply = rig.token(Some(SERVICE), &[("grant_type", "client_credentials"), ("scope", "openid")]).await;
    reply.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    let reply = rig.token(Some(SERVICE), &[("grant_type", "client_credentials"), ("scope", "billing:read")]).await;
    reply.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn bad_client_credentials_get_401_with_a_challenge() {
    let rig = rig().await;
    for (id, secret) in [(SERVICE.0, "wrong"), ("nobody", "x"), (SERVICE.0, "")] {
        let reply = rig.token(Some((id, secret)), &[("grant_type", "client_credentials")]).await;
        reply.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(reply.header("www-authenticate").is_some_and(|c| c.starts_with("Basic")), "WWW-Authenticate");
    }
    let none = rig.token(None, &[("grant_type", "client_credentials")]).await;
    none.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let post_for_basic =
        rig.token(None, &[("grant_type", "client_credentials"), ("client_id", SERVICE.0), ("client_secret", SERVICE.1)]).await;
    post_for_basic.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let basic_for_post = rig.token(Some(WEB_POST), &[("grant_type", "refresh_token"), ("refresh_token", "x")]).await;
    basic_for_post.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn grant_types_are_checked_per_client() {
    let rig = rig().await;
    let reply = rig.token(Some(WEB), &[("grant_type", "client_credentials")]).await;
    reply.assert_oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    let reply = rig.token(Some(SERVICE), &[("grant_type", "password"), ("username", "alice"), ("password", "alice-password")]).await;
    reply.assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let reply = rig.token(Some(SERVICE), &[("scope", "read")]).await;
    reply.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn token_endpoint_errors_have_the_rfc_6749_shape_and_no_store() {
    let rig = rig().await;
    let reply = rig.token(Some(SERVICE), &[("grant_type", "client_credentials"), ("scope", "read"), ("scope", "write")]).await;
    reply.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let json = Reply::from(
        rig.http
            .post(rig.url("/token"))
            .basic_auth(SERVICE.0, Some(SERVICE.1))
            .json(&serde_json::json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    json.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    let get = Reply::from(rig.http.get(rig.url("/token")).send().await.unwrap()).await;
    get.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    let huge = "a".repeat(100 * 1024);
    let big = Reply::from(
        rig.http
            .post(rig.url("/token"))
            .basic_auth(SERVICE.0, Some(SERVICE.1))
            .form(&[("grant_type", "client_credentials"), ("x", &huge)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    big.assert_oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}
