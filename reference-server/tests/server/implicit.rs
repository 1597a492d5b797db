//! The implicit flow: OIDC only, nonce required, fragment by default, deprecated.

use crate::support::*;
use reqwest::StatusCode;

fn implicit<'a>(response_type: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("client_id", WEB.0),
        ("redirect_uri", WEB_REDIRECT),
        ("response_type", response_type),
        ("scope", "openid email"),
        ("nonce", "n-42"),
        ("state", "s"),
    ];
    for (k, v) in extra {
        p.retain(|(n, _)| n != k);
        p.push((k, v));
    }
    p
}

#[tokio::test]
async fn id_token_token_comes_in_the_fragment_with_at_hash() {
    let rig = rig().await;
    let result = rig.browser().flow(&implicit("id_token token", &[]), ALICE, None).await;
    let location = result.reply.location().unwrap();
    assert!(location.query().is_none());
    assert_eq!(result.param("state"), "s");
    assert_eq!(result.param("iss"), rig.server.issuer());
    assert_eq!(result.param("token_type"), "Bearer");
    let access = result.param("access_token");
    let (_, id) = rig.verify_jwt(&result.param("id_token")).await;
    assert_eq!(id["nonce"], "n-42");
    assert_eq!(id["at_hash"], half_sha256(&access));
    assert_eq!(id["email"], "alice@acme.example.test", "scope claims are in the ID token");
    assert_eq!(rig.userinfo(&access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn id_token_alone_has_no_access_token() {
    let rig = rig().await;
    let result = rig.browser().flow(&implicit("id_token", &[]), ALICE, None).await;
    assert!(!result.params.contains_key("access_token"));
    let (_, id) = rig.verify_jwt(&result.param("id_token")).await;
    assert!(id.get("at_hash").is_none());
    assert_eq!(id["nonce"], "n-42");
}

#[tokio::test]
async fn implicit_needs_a_nonce_and_openid_and_never_the_query() {
    let rig = rig().await;
    let browser = rig.browser();
    let no_nonce: Vec<_> = implicit("id_token", &[]).into_iter().filter(|(k, _)| *k != "nonce").collect();
    let reply = browser.authorize(&no_nonce).await;
    let p = response_params(&reply);
    assert_eq!(p["error"], "invalid_request");
    assert!(reply.location().unwrap().fragment().is_some(), "implicit errors go in the fragment");

    let reply = browser.authorize(&implicit("id_token token", &[("scope", "read")])).await;
    assert_eq!(response_params(&reply)["error"], "unsupported_response_type");

    let reply = browser.authorize(&implicit("id_token", &[("response_mode", "query")])).await;
    assert_eq!(response_params(&reply)["error"], "invalid_request");
}

#[tokio::test]
async fn implicit_is_refused_for_clients_without_the_grant() {
    let rig = rig().await;
    let reply = rig.browser().authorize(&implicit("id_token", &[("client_id", WEB_POST.0), ("redirect_uri", WEB_POST_REDIRECT)])).await;
    assert_eq!(response_params(&reply)["error"], "unauthorized_client");
}
