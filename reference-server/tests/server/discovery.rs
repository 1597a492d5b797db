//! Discovery (OIDC Discovery §3/§4) and the JWKS (RFC 7517).

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn discovery_names_the_issuer_exactly_and_every_endpoint_below_it() {
    let rig = rig().await;
    let reply = Reply::from(rig.http.get(rig.url("/.well-known/openid-configuration")).send().await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("content-type").unwrap().starts_with("application/json"));
    let meta = reply.json();
    assert_eq!(meta["issuer"], rig.server.issuer());
    assert!(rig.server.issuer().ends_with("/api/oidc"));
    for (member, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("revocation_endpoint", "/revoke"),
        ("end_session_endpoint", "/logout"),
    ] {
        assert_eq!(meta[member], rig.url(path), "{member}");
    }
    assert_eq!(meta["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["x_deprecated_response_types"], serde_json::json!(["id_token", "id_token token"]));
    let algs = meta["id_token_signing_alg_values_supported"].as_array().unwrap();
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        assert!(algs.iter().any(|a| a == alg), "{alg}");
    }
}

#[tokio::test]
async fn unsupported_features_are_neither_advertised_nor_served() {
    let rig = rig().await;
    let meta: serde_json::Value = rig.http.get(rig.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    for member in [
        "introspection_endpoint",
        "registration_endpoint",
        "id_token_encryption_alg_values_supported",
        "userinfo_encryption_alg_values_supported",
        "request_object_encryption_alg_values_supported",
    ] {
        assert!(meta.get(member).is_none(), "{member} must not be advertised");
    }
    for path in ["/introspect", "/token/introspection", "/introspection", "/register", "/registration", "/connect/register"] {
        let status = rig.http.post(rig.url(path)).form(&[("token", "x")]).send().await.unwrap().status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn every_jwk_has_kid_use_alg_and_a_certificate_and_no_private_parts() {
    let rig = rig().await;
    let jwks: serde_json::Value = rig.http.get(rig.url("/jwks")).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    for key in keys {
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        assert_eq!(key["use"], "sig");
        assert!(key["alg"].is_string());
        assert!(is_der_certificate(key["x5c"][0].as_str().unwrap()), "x5c is base64 DER");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "private member {private}");
        }
    }
}

#[tokio::test]
async fn a_rotated_key_signs_while_the_old_one_stays_published() {
    let rig = rig().await;
    let before = rig.web_tokens("openid", ALICE).await;
    let old_kid = decode_jwt(before["id_token"].as_str().unwrap()).0["kid"].clone();
    let rotated = rig.admin("/admin/rotate-key", serde_json::json!({"alg": "RS256"})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_kid = rotated.json()["kid"].clone();
    assert_ne!(new_kid, old_kid);
    let after = rig.web_tokens("openid", ALICE).await;
    let (header, _) = rig.verify_jwt(after["id_token"].as_str().unwrap()).await;
    assert_eq!(header["kid"], new_kid, "the new key signs");
    rig.verify_jwt(before["id_token"].as_str().unwrap()).await;
    let still_valid = rig.userinfo(before["access_token"].as_str().unwrap()).await;
    assert_eq!(still_valid.status, StatusCode::OK, "tokens signed by the old key still work");
}

#[tokio::test]
async fn the_admin_api_requires_its_token() {
    let rig = rig().await;
    let reply =
        Reply::from(rig.http.post(rig.url("/admin/rotate-key")).json(&serde_json::json!({"alg": "ES256"})).send().await.unwrap()).await;
    // RFC 6750 §3.1: no credentials at all, so a bare challenge and no error code.
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer realm=\"oidc-harness\""));
    assert!(reply.json().get("error").is_none(), "{}", reply.body);
    let reply = Reply::from(
        rig.http
            .post(rig.url("/admin/revoke"))
            .bearer_auth("wrong-token-wrong-token")
            .json(&serde_json::json!({"user": "alice"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test]
async fn keys_from_pkcs8_pem_files_are_used_and_stay_the_same_across_restarts() {
    use base64::Engine;
    let key = aws_lc_rs::signature::EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let der = key.to_pkcs8v1().unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der.as_ref())
    );
    let path = std::env::temp_dir().join(format!("oidc-harness-es256-{}.pem", std::process::id()));
    std::fs::write(&path, pem).unwrap();
    let config = || {
        let mut config = reference_server::Config::default();
        config.keys.push(reference_server::config::KeyFile { alg: reference_server::config::Alg::ES256, pkcs8_pem_file: path.clone() });
        config
    };
    let es256_kid = |jwks: serde_json::Value| jwks["keys"].as_array().unwrap().iter().find(|k| k["alg"] == "ES256").unwrap()["kid"].clone();
    let first = rig_with(config()).await;
    let second = rig_with(config()).await;
    let default = rig().await;
    let jwks = |rig: &Rig| {
        let url = rig.url("/jwks");
        let http = rig.http.clone();
        async move { http.get(url).send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let kid = es256_kid(jwks(&first).await);
    assert_eq!(kid, es256_kid(jwks(&second).await));
    assert_ne!(kid, es256_kid(jwks(&default).await));
    std::fs::write(&path, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n").unwrap();
    let err = reference_server::start(config()).await.err().expect("a PKCS#1 file is refused").to_string();
    assert!(err.contains("not PKCS#8"), "{err}");
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn two_servers_in_one_process_sign_with_their_own_keys_unless_told_to_share() {
    let kids = |jwks: serde_json::Value| -> Vec<String> {
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
    };
    let (one, two) = (rig_with_own_keys(Default::default()).await, rig_with_own_keys(Default::default()).await);
    let (one_kids, two_kids) = (kids(one.jwks().await), kids(two.jwks().await));
    assert!(one_kids.iter().all(|k| !two_kids.contains(k)), "{one_kids:?} and {two_kids:?} share a key");
    // A token of one server does not verify with the other's keys.
    let tokens = one.web_tokens("openid", ALICE).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let others = two.jwks().await;
    assert!(!others["keys"].as_array().unwrap().iter().any(|jwk| verify_with_jwk(jwk, id_token)));
    assert_eq!(two.userinfo(tokens["access_token"].as_str().unwrap()).await.status, StatusCode::UNAUTHORIZED);

    let shared = || reference_server::Config { shared_process_keys: true, ..Default::default() };
    let (three, four) = (rig_with_own_keys(shared()).await, rig_with_own_keys(shared()).await);
    assert_eq!(kids(three.jwks().await), kids(four.jwks().await), "shared_process_keys: one key set per process");
}

#[tokio::test]
async fn every_answer_says_nosniff_and_a_405_says_which_methods_are_allowed() {
    let rig = rig().await;
    for path in ["/.well-known/openid-configuration", "/jwks", "/login?interaction=x", "/no-such-page"] {
        let reply = Reply::from(rig.http.get(rig.url(path)).send().await.unwrap()).await;
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{path}");
    }
    let token_get = Reply::from(rig.http.get(rig.url("/token")).send().await.unwrap()).await;
    token_get.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    // RFC 9110 §15.5.6: a 405 MUST carry Allow.
    assert_eq!(token_get.header("allow"), Some("POST"));
    let jwks_post = Reply::from(rig.http.post(rig.url("/jwks")).send().await.unwrap()).await;
    assert!(jwks_post.header("allow").is_some_and(|a| a.contains("GET")), "{:?}", jwks_post.header("allow"));
}
