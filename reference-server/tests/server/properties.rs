//! Property tests over the wire: arbitrary authorization and token requests never crash the
//! server, never answer 5xx, token errors keep the RFC 6749 §5.2 shape, and the only redirect
//! URI ever redirected to is a registered one, byte for byte.

use crate::support::*;
use proptest::prelude::*;

fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("client_id".to_string()),
        Just("redirect_uri".to_string()),
        Just("response_type".to_string()),
        Just("scope".to_string()),
        Just("state".to_string()),
        Just("nonce".to_string()),
        Just("prompt".to_string()),
        Just("max_age".to_string()),
        Just("claims".to_string()),
        Just("code_challenge".to_string()),
        Just("code_challenge_method".to_string()),
        Just("response_mode".to_string()),
        Just("resource".to_string()),
        Just("grant_type".to_string()),
        Just("code".to_string()),
        Just("refresh_token".to_string()),
        Just("client_secret".to_string()),
        Just("code_verifier".to_string()),
        "[a-z_]{1,12}",
    ]
}

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(WEB.0.to_string()),
        Just(SPA.to_string()),
        Just(WEB_REDIRECT.to_string()),
        Just("code".to_string()),
        Just("id_token token".to_string()),
        Just("openid".to_string()),
        Just("none".to_string()),
        Just("authorization_code".to_string()),
        Just("refresh_token".to_string()),
        Just("client_credentials".to_string()),
        Just("{\"id_token\":{\"acr\":{\"essential\":true}}}".to_string()),
        ".{0,40}",
    ]
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((param_name(), param_value()), 0..10)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn authorize_never_fails_server_side(params in params()) {
        let s = shared_server();
        let url = url::Url::parse_with_params(&format!("{}/authorize", s.server.issuer()), &params).unwrap();
        let reply = s.runtime.block_on(async { Reply::from(s.http.get(url).send().await.unwrap()).await });
        prop_assert!(reply.status.as_u16() < 500, "{} for {:?}", reply.status, params);
        if let Some(location) = reply.header("location") {
            let registered = ["https://app.example.test/callback", "https://spa.example.test/callback", "https://app2.example.test/callback"];
            prop_assert!(location.starts_with(&format!("{}/", s.server.issuer())) || registered.iter().any(|r| location.starts_with(&format!("{r}?")) || location.starts_with(&format!("{r}#"))), "redirected to {location}");
        }
    }

    #[test]
    fn token_errors_keep_the_rfc_6749_shape(params in params(), basic in any::<bool>()) {
        let s = shared_server();
        let reply = s.runtime.block_on(async {
            let mut request = s.http.post(format!("{}/token", s.server.issuer())).form(&params);
            if basic {
                request = request.basic_auth(WEB.0, Some(WEB.1));
            }
            Reply::from(request.send().await.unwrap()).await
        });
        prop_assert!(reply.status.as_u16() < 500, "{} for {:?}", reply.status, params);
        if reply.status != 200 {
            let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            prop_assert!(json["error"].is_string() && json["error_description"].is_string(), "{}", reply.body);
            prop_assert_eq!(reply.header("cache-control"), Some("no-store"));
        }
    }

    #[test]
    fn only_exactly_registered_redirect_uris_are_used(uri in prop_oneof![
        "https://app\\.example\\.test/callback[a-z/?#%.]{0,6}",
        "[hH][tT]{2}[pP][sS]?://[aA]pp\\.example\\.test/callback",
        ".{0,30}",
    ]) {
        let s = shared_server();
        let params = [("client_id", WEB.0), ("redirect_uri", uri.as_str()), ("response_type", "code"), ("scope", "openid")];
        let url = url::Url::parse_with_params(&format!("{}/authorize", s.server.issuer()), &params).unwrap();
        let reply = s.runtime.block_on(async { Reply::from(s.http.get(url).send().await.unwrap()).await });
        if uri == WEB_REDIRECT {
            prop_assert_eq!(reply.status.as_u16(), 303);
        } else {
            prop_assert_eq!(reply.status.as_u16(), 400, "{}", uri);
            prop_assert!(reply.header("location").is_none());
        }
    }
}
