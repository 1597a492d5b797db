//! `[parameter_limits]`: each capped authorization parameter is accepted at its cap and refused
//! one byte beyond it with `invalid_request` naming the parameter and the cap, redirected to
//! the client with `state` like the other errors after the redirect URI is trusted.

use crate::support::*;
use reference_server::config::ParameterLimits;
use reqwest::StatusCode;

fn web<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid")];
    p.extend_from_slice(extra);
    p
}

/// A value of `len` bytes for `name` that is otherwise valid (`claims` stays JSON).
fn value_of_length(name: &str, len: usize) -> String {
    if name == "claims" {
        let frame = r#"{"userinfo":{"name":null},"pad":""}"#;
        return format!(r#"{{"userinfo":{{"name":null}},"pad":"{}"}}"#, "a".repeat(len - frame.len()));
    }
    "a".repeat(len)
}

/// Whether the request passed validation: it goes on to the login page.
fn accepted(reply: &Reply) -> bool {
    reply.location().is_some_and(|l| l.path().ends_with("/login"))
}

#[tokio::test]
async fn every_capped_parameter_is_accepted_at_its_cap_and_refused_beyond() {
    let rig = rig().await;
    let browser = rig.browser();
    for (name, cap) in ParameterLimits::default().caps() {
        let with = |value: &str| {
            let mut extra = vec![(name.to_string(), value.to_string())];
            if name != "state" {
                extra.push(("state".into(), "s".into()));
            }
            extra
        };
        let at_cap = value_of_length(name, cap);
        assert_eq!(at_cap.len(), cap);
        let reply = browser.authorize(&web(&borrowed(&with(&at_cap)))).await;
        assert!(accepted(&reply), "{name} at its cap of {cap}: {:?}", reply.location());
        let beyond = value_of_length(name, cap + 1);
        let reply = browser.authorize(&web(&borrowed(&with(&beyond)))).await;
        let p = response_params(&reply);
        assert_eq!(reply.location().unwrap().as_str().split('?').next(), Some(WEB_REDIRECT), "{name}: redirected to the client");
        assert_eq!(p["error"], "invalid_request", "{name}");
        let description = &p["error_description"];
        assert!(description.contains(name) && description.contains(&cap.to_string()), "{name}: {description}");
        assert_eq!(p["state"], if name == "state" { beyond.as_str() } else { "s" }, "{name}: state echoed");
    }
}

fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

#[tokio::test]
async fn configured_caps_apply_and_count_bytes() {
    let limits = ParameterLimits { login_hint: 8, nonce: 3, ..ParameterLimits::default() };
    let rig = rig_with(reference_server::Config { parameter_limits: limits, ..Default::default() }).await;
    let browser = rig.browser();
    assert!(accepted(&browser.authorize(&web(&[("login_hint", "éééé")])).await), "4 characters, 8 bytes");
    let reply = browser.authorize(&web(&[("login_hint", "ééééa")])).await;
    assert_eq!(response_params(&reply)["error"], "invalid_request", "9 bytes");
    assert!(accepted(&browser.authorize(&web(&[("nonce", "abc")])).await));
    assert_eq!(response_params(&browser.authorize(&web(&[("nonce", "abcd")])).await)["error"], "invalid_request");
}

/// A request whose client or redirect URI is not trusted still gets the error page first.
#[tokio::test]
async fn an_untrusted_redirect_uri_is_still_a_page() {
    let rig = rig().await;
    let long = "a".repeat(5000);
    let reply = rig
        .browser()
        .authorize(&[("client_id", WEB.0), ("redirect_uri", "https://evil.example.test/"), ("response_type", "code"), ("state", &long)])
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none());
}
