//! Loopback redirect URIs of native apps (RFC 8252 §7.3): any port at request time, everything
//! else exact; `localhost` compared exactly (§8.3); the code bound to the URI as requested.

use crate::support::*;
use reference_server::config::{AuthMethod, Client, ClientType, GrantType};
use reqwest::StatusCode;

const NATIVE: &str = "native-app";

fn config() -> reference_server::Config {
    let mut config = reference_server::Config::default();
    let mut client = config.clients.iter().find(|c| c.client_id == SPA).cloned().unwrap();
    client = Client {
        client_id: NATIVE.into(),
        client_type: ClientType::Public,
        auth_method: AuthMethod::None,
        grant_types: vec![GrantType::AuthorizationCode],
        redirect_uris: vec!["http://127.0.0.1/callback".into(), "http://[::1]:8080/cb?app=1".into(), "http://localhost/callback".into()],
        consent: false,
        ..client
    };
    config.clients.push(client);
    config
}

async fn authorize(browser: &Browser, redirect_uri: &str) -> Reply {
    let (_, challenge) = pkce();
    browser
        .authorize(&[
            ("client_id", NATIVE),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .await
}

#[tokio::test]
async fn a_loopback_ip_redirect_uri_may_name_any_port() {
    let rig = rig_with(config()).await;
    let browser = rig.browser();
    for uri in [
        "http://127.0.0.1/callback",
        "http://127.0.0.1:51000/callback",
        "http://127.0.0.1:1/callback",
        "http://[::1]:8080/cb?app=1",
        "http://[::1]/cb?app=1",
        "http://[::1]:65535/cb?app=1",
        "http://localhost/callback",
    ] {
        let reply = authorize(&browser, uri).await;
        assert!(reply.location().is_some_and(|l| l.path().ends_with("/login")), "{uri}: {} {}", reply.status, reply.body);
    }
}

#[tokio::test]
async fn only_the_port_of_a_loopback_redirect_uri_may_differ() {
    let rig = rig_with(config()).await;
    let browser = rig.browser();
    for uri in [
        "http://127.0.0.1:51000/callback/other",
        "http://127.0.0.1:51000/Callback",
        "http://127.0.0.1:51000/callback?x=1",
        "http://127.0.0.1:51000",
        "https://127.0.0.1:51000/callback",
        "http://127.0.0.2:51000/callback",
        "http://127.0.0.1.evil.test:51000/callback",
        "http://127.0.0.1:51000@evil.test/callback",
        "http://127.0.0.1:/callback",
        "http://127.0.0.1:0/callback",
        "http://127.0.0.1:65536/callback",
        "http://[::1]:8080/cb",
        "http://[::1]:8080/cb?app=2",
        // RFC 8252 §8.3: localhost is NOT RECOMMENDED; its URIs are compared exactly.
        "http://localhost:51000/callback",
    ] {
        let reply = authorize(&browser, uri).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(reply.header("location").is_none(), "{uri}: never redirected");
    }
}

#[tokio::test]
async fn the_code_is_bound_to_the_port_it_was_issued_for() {
    let rig = rig_with(config()).await;
    let (verifier, challenge) = pkce();
    let issued_for = "http://127.0.0.1:51000/callback";
    let extra = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let result = rig.browser().code_flow(NATIVE, issued_for, "openid", &extra, ALICE).await;
    assert!(result.reply.location().unwrap().as_str().starts_with("http://127.0.0.1:51000/callback?"), "sent to the requested port");
    let code = result.param("code");
    let redeem = |redirect_uri: &'static str| {
        let (code, verifier) = (code.clone(), verifier.clone());
        let rig = &rig;
        async move {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri),
                ("client_id", NATIVE),
                ("code_verifier", verifier.as_str()),
            ];
            rig.token(None, &form).await
        }
    };
    // RFC 6749 §4.1.3: "identical" to the authorization request's: another port, or the
    // registered URI itself, is refused (and the code stays unused: the binding is checked
    // before it is consumed).
    for other in ["http://127.0.0.1:51001/callback", "http://127.0.0.1/callback"] {
        redeem(other).await.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let reply = redeem(issued_for).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}
