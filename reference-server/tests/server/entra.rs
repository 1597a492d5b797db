//! Microsoft Entra ID as an External Authentication Method client (`[clients.entra]`), over
//! HTTPS (`[tls]`) as Entra requires: the expired hint accepted, the second factor asked of the
//! hinted user, and the ID token Entra expects.

use crate::support::*;
use reference_server::config::Tls;
use reference_server::entra;
use reference_server::keys::JwsType;
use reference_server::{Config, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;

const CLAIMS: &str = r#"{"id_token":{"acr":{"essential":true,"values":["possessionorinherence"]},"amr":{"essential":true,"values":["face","fido","fpt","hwk","iris","otp","pop","retina","sc","sms","swk","tel","vbm"]}}}"#;
const HINT_SUB: &str = "entra-pairwise-sub-0123456789abcdef";

async fn https_server(config: Config) -> (Server, reqwest::Client) {
    let server = reference_server::start(Config { tls: Some(Tls::default()), shared_process_keys: true, ..config }).await.unwrap();
    let pem = server.certificate_pem().expect("a certificate over https");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .tls_certs_merge([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    (server, browser)
}

/// A hint as Entra sends it: RS256 by the tenant's key, for the app, about alice, expired.
fn hint(key: &reference_server::keys::SigningKey, iss: &str) -> String {
    hint_for(key, iss, "entra-eam")
}

fn hint_for(key: &reference_server::keys::SigningKey, iss: &str, aud: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({
        "iss": iss, "aud": aud, "sub": HINT_SUB, "oid": "2f0e8b1c-0000-4000-8000-00000000a11c",
        "tid": entra::TEST_TENANT, "preferred_username": "alice", "name": "Alice Adams",
        "iat": now - 900, "nbf": now - 900, "exp": now - 300, "ver": "2.0",
    });
    key.sign_jwt(JwsType::Jwt, &claims).unwrap()
}

async fn authorize(server: &Server, browser: &reqwest::Client, hint: Option<&str>) -> reqwest::Response {
    authorize_as(server, browser, ("entra-eam", entra::REDIRECT_URI, CLAIMS), hint).await
}

/// Entra's request for the client, redirect URI and claims request of `app`.
async fn authorize_as(server: &Server, browser: &reqwest::Client, app: (&str, &str, &str), hint: Option<&str>) -> reqwest::Response {
    let (client_id, redirect_uri, claims) = app;
    let mut form = vec![
        ("client_id", client_id),
        ("scope", "openid"),
        ("response_type", "id_token"),
        ("response_mode", "form_post"),
        ("redirect_uri", redirect_uri),
        ("nonce", "entra-nonce-1"),
        ("state", "entra-state-1"),
        ("client-request-id", "5d7e3c0a-1111-4222-8333-444455556666"),
        ("claims", claims),
    ];
    form.extend(hint.map(|h| ("id_token_hint", h)));
    browser.post(format!("{}/authorize", server.issuer())).form(&form).send().await.unwrap()
}

/// The fields of the form_post page's form.
fn posted(html: &str) -> HashMap<String, String> {
    find_form(html, "response").unwrap_or_else(|| panic!("a form_post page: {html}")).fields.into_iter().collect()
}

async fn second_factor(browser: &reqwest::Client, to: &reqwest::Response, otp: &str) -> String {
    let location = to.headers().get("location").and_then(|l| l.to_str().ok()).expect("sent to the second factor").to_string();
    assert!(location.contains("/second-factor?interaction="), "went to {location}");
    let page = browser.get(&location).send().await.unwrap().text().await.unwrap();
    let form = find_form(&page, "second-factor").unwrap_or_else(|| panic!("the second-factor form: {page}"));
    assert!(!form.names.iter().any(|n| n == "password" || n == "username"), "the second factor only: {:?}", form.names);
    let mut fields = form.fields;
    fields.push(("otp".into(), otp.into()));
    browser.post(&form.action).form(&fields).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn an_expired_hint_gets_a_second_factor_and_an_id_token_with_its_sub_one_acr_and_one_amr() {
    let (server, browser) = https_server(Config::default()).await;
    assert!(server.issuer().starts_with("https://127.0.0.1:"));
    let to_page = authorize(&server, &browser, Some(&hint(entra::test_key(), &entra::test_issuer()))).await;
    assert_eq!(to_page.status(), StatusCode::SEE_OTHER);
    let wrong = second_factor(&browser, &to_page, "000000").await;
    assert!(wrong.contains("The one-time code is missing or incorrect."), "{wrong}");
    let answer = second_factor(&browser, &to_page, ALICE_OTP).await;
    let fields = posted(&answer);
    assert_eq!(fields["state"], "entra-state-1");
    let (_, claims) = decode_jwt(&fields["id_token"]);
    assert_eq!(claims["sub"], HINT_SUB);
    assert_eq!(claims["aud"], json!(["entra-eam"]));
    assert_eq!(claims["iss"], server.issuer());
    assert_eq!(claims["nonce"], "entra-nonce-1");
    assert_eq!(claims["acr"], "possessionorinherence");
    assert_eq!(claims["amr"], json!(["otp"]));
    assert!(claims.get("org_id").is_none(), "{claims}");
}

#[tokio::test]
async fn no_session_starts_from_a_second_factor_alone() {
    let (server, browser) = https_server(Config::default()).await;
    let to_page = authorize(&server, &browser, Some(&hint(entra::test_key(), &entra::test_issuer()))).await;
    second_factor(&browser, &to_page, ALICE_OTP).await;
    let again = authorize(&server, &browser, Some(&hint(entra::test_key(), &entra::test_issuer()))).await;
    let location = again.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string();
    assert!(location.contains("/second-factor?"), "asked again: {location}");
}

/// The refusal Entra understands: access_denied by form post, with why.
async fn refused(server: &Server, browser: &reqwest::Client, hint: Option<&str>) -> String {
    let response = authorize(server, browser, hint).await;
    assert_eq!(response.status(), StatusCode::OK);
    let fields = posted(&response.text().await.unwrap());
    assert_eq!(fields["error"], "access_denied");
    assert_eq!(fields["state"], "entra-state-1");
    fields["error_description"].clone()
}

#[tokio::test]
async fn a_request_without_a_hint_or_with_a_hint_from_another_key_or_issuer_is_access_denied() {
    let (server, browser) = https_server(Config::default()).await;
    assert!(refused(&server, &browser, None).await.contains("id_token_hint"));
    let stranger = reference_server::keys::SigningKey::generate(reference_server::config::Alg::RS256).unwrap();
    assert!(refused(&server, &browser, Some(&hint(&stranger, &entra::test_issuer()))).await.contains("signature"));
    let other = hint(entra::test_key(), "https://login.microsoftonline.com/another-tenant/v2.0");
    assert!(refused(&server, &browser, Some(&other)).await.contains("issuer"));
}

#[tokio::test]
async fn the_hint_expired_fault_refuses_what_entra_sends() {
    let config = Config { faults: vec![reference_server::faults::Fault::EamHintExpiredRejected], ..Config::default() };
    let (server, browser) = https_server(config).await;
    assert!(refused(&server, &browser, Some(&hint(entra::test_key(), &entra::test_issuer()))).await.contains("expired"));
}

#[tokio::test]
async fn the_amr_faults_shape_the_answer_as_named() {
    use reference_server::faults::Fault;
    for (fault, amr) in [(Fault::EamAmrString, json!("otp")), (Fault::EamAmrTwoMethods, json!(["otp", "pwd"]))] {
        let (server, browser) = https_server(Config { faults: vec![fault], ..Config::default() }).await;
        let to_page = authorize(&server, &browser, Some(&hint(entra::test_key(), &entra::test_issuer()))).await;
        let (_, claims): (Value, Value) = decode_jwt(&posted(&second_factor(&browser, &to_page, ALICE_OTP).await)["id_token"]);
        assert_eq!(claims["amr"], amr, "{fault:?}");
    }
}

/// A Conditional Access custom control (`control_claims`): the requested control claim with its
/// value, the hint's sub, no acr; the `control-claim-missing` fault drops the claim.
#[tokio::test]
async fn a_custom_control_answers_with_its_claim_and_the_hints_sub() {
    use reference_server::config::EntraApp;
    let claims = r#"{"id_token":{"CustomMfa":{"essential":true,"values":["MfaDone"]}}}"#;
    let app = ("ca-custom-controls", EntraApp::CUSTOM_CONTROLS_REDIRECT_URI, claims);
    for (faults, expected) in [(vec![], json!("MfaDone")), (vec![reference_server::faults::Fault::ControlClaimMissing], Value::Null)] {
        let (server, browser) = https_server(Config { faults, ..Config::default() }).await;
        let to_page = authorize_as(&server, &browser, app, Some(&hint_for(entra::test_key(), &entra::test_issuer(), app.0))).await;
        let (_, id) = decode_jwt(&posted(&second_factor(&browser, &to_page, ALICE_OTP).await)["id_token"]);
        assert_eq!(id["CustomMfa"], expected);
        assert_eq!(id["sub"], HINT_SUB);
        assert!(id.get("acr").is_none(), "{id}");
    }
    // A claims request for no control of this application has nothing to answer.
    let (server, browser) = https_server(Config::default()).await;
    let other = (app.0, app.1, r#"{"id_token":{"OtherControl":{"essential":true}}}"#);
    let response = authorize_as(&server, &browser, other, Some(&hint_for(entra::test_key(), &entra::test_issuer(), app.0))).await;
    assert_eq!(posted(&response.text().await.unwrap())["error"], "access_denied");
}

/// The second factor cannot be skipped: Entra's interaction is not taken by the password login
/// (nor its API), and five wrong codes end it with access_denied.
#[tokio::test]
async fn the_password_login_does_not_take_entras_interaction_and_wrong_codes_end_it() {
    let (server, browser) = https_server(Config::default()).await;
    let to_page = authorize(&server, &browser, Some(&hint(entra::test_key(), &entra::test_issuer()))).await;
    let location = to_page.headers().get("location").and_then(|l| l.to_str().ok()).unwrap().to_string();
    let id = location.split("interaction=").nth(1).unwrap().to_string();
    let login = browser.get(format!("{}/login?interaction={id}", server.issuer())).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::BAD_REQUEST);
    let page = browser.get(&location).send().await.unwrap().text().await.unwrap();
    let mut fields = find_form(&page, "second-factor").unwrap().fields;
    fields.extend([("username".to_string(), ALICE.0.to_string()), ("password".to_string(), ALICE.1.to_string())]);
    let posted_login = browser.post(format!("{}/login", server.issuer())).form(&fields).send().await.unwrap();
    assert_eq!(posted_login.status(), StatusCode::BAD_REQUEST, "a password does not answer Entra");
    let mut last = String::new();
    for _ in 0..5 {
        last = second_factor(&browser, &to_page, "000000").await;
    }
    let refused = posted(&last);
    assert_eq!(refused["error"], "access_denied");
    assert!(refused["error_description"].contains("too many"));
}

#[test]
fn a_real_tenant_needs_its_own_keys() {
    let mut config = Config::default();
    let client = config.clients.iter_mut().find(|c| c.entra.is_some()).unwrap();
    client.entra.as_mut().unwrap().hint_issuer = "https://login.microsoftonline.com/72f988bf-0000-0000-0000-000000000000/v2.0".into();
    let e = config.validate().unwrap_err().to_string();
    assert!(e.contains("entra.hint_jwks_file"), "{e}");
}
