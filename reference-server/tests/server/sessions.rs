//! Browser sessions: single sign-on, prompt, max_age, logout, and the forms' CSRF protection.

use crate::support::*;
use reqwest::StatusCode;

fn web<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid"), ("state", "s")];
    for (k, v) in extra {
        p.retain(|(n, _)| n != k);
        p.push((k, v));
    }
    p
}

fn goes_to(reply: &Reply, page: &str) -> bool {
    reply.location().is_some_and(|l| l.path().ends_with(page))
}

#[tokio::test]
async fn a_session_gives_single_sign_on_with_remembered_consent() {
    let rig = rig().await;
    let browser = rig.browser();
    browser.flow(&web(&[]), ALICE, None).await.param("code");
    let again = browser.authorize(&web(&[])).await;
    assert!(response_params(&again).contains_key("code"), "no login, no consent the second time");
    let more_scope = browser.authorize(&web(&[("scope", "openid email")])).await;
    assert!(goes_to(&more_scope, "/consent"), "new scopes need consent");
    let forced = browser.authorize(&web(&[("prompt", "consent")])).await;
    assert!(goes_to(&forced, "/consent"));
}

#[tokio::test]
async fn prompt_none_answers_login_required_or_consent_required() {
    let rig = rig().await;
    let browser = rig.browser();
    let reply = browser.authorize(&web(&[("prompt", "none")])).await;
    let p = response_params(&reply);
    assert_eq!(p["error"], "login_required");
    assert_eq!(p["iss"], rig.server.issuer());
    // Log in through a client without consent, then ask another one silently.
    let (_, challenge) = pkce();
    let post = [
        ("client_id", WEB_POST.0),
        ("redirect_uri", WEB_POST_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    browser.flow(&post, ALICE, None).await.param("code");
    let reply = browser.authorize(&web(&[("prompt", "none")])).await;
    assert_eq!(response_params(&reply)["error"], "consent_required");
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_authentication() {
    let rig = rig().await;
    let browser = rig.browser();
    browser.flow(&web(&[]), ALICE, None).await.param("code");
    assert!(goes_to(&browser.authorize(&web(&[("prompt", "login")])).await, "/login"));
    assert!(goes_to(&browser.authorize(&web(&[("max_age", "0")])).await, "/login"));
    let fresh = browser.authorize(&web(&[("max_age", "3600")])).await;
    assert!(response_params(&fresh).contains_key("code"));
}

async fn auth_time(rig: &Rig, code: String) -> u64 {
    let tokens =
        rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await.json();
    decode_jwt(tokens["id_token"].as_str().unwrap()).1["auth_time"].as_u64().unwrap()
}

#[tokio::test]
async fn prompt_login_yields_a_later_auth_time() {
    let rig = rig().await;
    let browser = rig.browser();
    let first = auth_time(&rig, browser.flow(&web(&[]), ALICE, None).await.param("code")).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = auth_time(&rig, browser.flow(&web(&[("prompt", "login")]), ALICE, None).await.param("code")).await;
    assert!(second > first);
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_without_a_session() {
    let rig = rig().await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[])).await;
    let wrong = browser.login(&to_login, ("alice", "nope"), None).await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(find_form(&wrong.body, "login").is_some());
    assert!(wrong.body.contains("incorrect"));
    let unknown = browser.login(&to_login, ("mallory", "x"), None).await;
    assert!(unknown.body.contains("incorrect"), "same message for unknown users");
    assert!(goes_to(&browser.authorize(&web(&[])).await, "/login"), "no session was created");
}

#[tokio::test]
async fn login_forms_need_the_interaction_cookie_and_csrf_token() {
    let rig = rig().await;
    let browser = rig.browser();
    let to_login = browser.authorize(&web(&[])).await;
    let page = browser.get(to_login.location().unwrap().as_str()).await;
    let form = find_form(&page.body, "login").unwrap();
    // The form's own (empty) username is replaced, as a browser sends each control once.
    let mut fields: Vec<_> = form.fields.iter().filter(|(n, _)| n != "username").cloned().collect();
    fields.extend([("username".to_string(), "alice".to_string()), ("password".to_string(), "alice-password".to_string())]);
    let other_browser = rig.browser();
    let cross_site = other_browser.post_form(&form.action, &fields).await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN, "no interaction cookie");
    let bad_csrf: Vec<_> =
        fields.iter().map(|(k, v)| if k == "csrf" { (k.clone(), "forged".to_string()) } else { (k.clone(), v.clone()) }).collect();
    assert_eq!(browser.post_form(&form.action, &bad_csrf).await.status, StatusCode::FORBIDDEN);
    let stale = browser.get(&rig.url("/login?interaction=unknown")).await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST);
    let ok = browser.post_form(&form.action, &fields).await;
    assert!(goes_to(&ok, "/consent"));
}

#[tokio::test]
async fn logout_ends_the_session_and_returns_only_to_registered_uris() {
    let rig = rig().await;
    let browser = rig.browser();
    let code = browser.flow(&web(&[]), ALICE, None).await.param("code");
    let tokens =
        rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await.json();
    let id_token = tokens["id_token"].as_str().unwrap();

    let evil = browser.get(&format!("{}?client_id=web-app&post_logout_redirect_uri=https://evil.example.test/", rig.url("/logout"))).await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
    assert!(evil.header("location").is_none());

    let url = url::Url::parse_with_params(
        &rig.url("/logout"),
        &[("id_token_hint", id_token), ("post_logout_redirect_uri", "https://app.example.test/signed-out"), ("state", "bye")],
    )
    .unwrap();
    let out = browser.get(url.as_str()).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let location = out.location().unwrap();
    assert_eq!(location.as_str(), "https://app.example.test/signed-out?state=bye");
    assert!(goes_to(&browser.authorize(&web(&[])).await, "/login"), "the session ended");

    let plain = browser.get(&rig.url("/logout")).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(find_form(&plain.body, "logout").is_some(), "no hint: the user is asked");
}

/// Signs alice in with the web client in `browser`; her ID token.
async fn signed_in(rig: &Rig, browser: &Browser, user: (&str, &str)) -> String {
    let code = browser.flow(&web(&[]), user, None).await.param("code");
    let tokens =
        rig.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await.json();
    tokens["id_token"].as_str().unwrap().to_string()
}

async fn still_signed_in(browser: &Browser) -> bool {
    !goes_to(&browser.authorize(&web(&[])).await, "/login")
}

#[tokio::test]
async fn logout_without_a_hint_of_the_signed_in_user_asks_first() {
    let rig = rig().await;
    let browser = rig.browser();
    signed_in(&rig, &browser, ALICE).await;
    let bobs_hint = signed_in(&rig, &rig.browser(), BOB).await;
    let back = [("client_id", WEB.0), ("post_logout_redirect_uri", "https://app.example.test/signed-out"), ("state", "bye")];
    // RP-Initiated Logout §2: no hint, or a hint of another user, over GET or POST: a page asks.
    let asked = [
        browser.get(url::Url::parse_with_params(&rig.url("/logout"), &back).unwrap().as_str()).await,
        browser.post_form(&rig.url("/logout"), &back.map(|(k, v)| (k.to_string(), v.to_string()))).await,
        browser.get(url::Url::parse_with_params(&rig.url("/logout"), &[("id_token_hint", bobs_hint.as_str())]).unwrap().as_str()).await,
    ];
    for page in &asked {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(find_form(&page.body, "logout").is_some(), "{}", page.body);
    }
    assert!(still_signed_in(&browser).await, "asking ended nothing");

    // A forged answer (no confirmation cookie of this browser) is refused.
    let form = find_form(&asked[0].body, "logout").unwrap();
    let mut answer = form.fields.clone();
    answer.push(("decision".into(), "logout".into()));
    let forged = rig.browser().post_form(&form.action, &answer).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(still_signed_in(&browser).await);

    // The browser's last page is the one whose answer counts.
    let form = find_form(&asked[2].body, "logout").unwrap();
    let stay: Vec<(String, String)> = form.fields.iter().cloned().chain([("decision".to_string(), "stay".to_string())]).collect();
    let stayed = browser.post_form(&form.action, &stay).await;
    assert!(stayed.body.contains("still signed in"), "{}", stayed.body);
    assert!(still_signed_in(&browser).await, "the user chose to stay");

    let page = browser.get(url::Url::parse_with_params(&rig.url("/logout"), &back).unwrap().as_str()).await;
    let form = find_form(&page.body, "logout").unwrap();
    let yes: Vec<(String, String)> = form.fields.iter().cloned().chain([("decision".to_string(), "logout".to_string())]).collect();
    let out = browser.post_form(&form.action, &yes).await;
    assert_eq!(out.location().unwrap().as_str(), "https://app.example.test/signed-out?state=bye");
    assert!(!still_signed_in(&browser).await, "the confirmed logout ended the session");
}

#[tokio::test]
async fn two_tabs_of_one_browser_each_finish_their_sign_in() {
    let rig = rig().await;
    let browser = rig.browser();
    let params = |state: &'static str| {
        [("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid"), ("state", state)]
    };
    let first_tab = browser.authorize(&params("tab-1")).await;
    let second_tab = browser.authorize(&params("tab-2")).await;
    // The first tab's sign-in, started before the second, still completes.
    let first = browser.consent(&browser.login(&first_tab, ALICE, None).await, "approve").await;
    assert_eq!(response_params(&first).get("state").map(String::as_str), Some("tab-1"), "{:?}", first.location());
    assert!(response_params(&first).contains_key("code"));
    let second = browser.login(&second_tab, ALICE, None).await;
    let second = if goes_to(&second, "/consent") { browser.consent(&second, "approve").await } else { second };
    assert_eq!(response_params(&second).get("state").map(String::as_str), Some("tab-2"), "{:?}", second.location());
    assert!(response_params(&second).contains_key("code"));
}

#[tokio::test]
async fn another_browser_cannot_post_a_sign_in_it_did_not_start() {
    let rig = rig().await;
    let (victim, attacker) = (rig.browser(), rig.browser());
    let started =
        attacker.authorize(&[("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid")]).await;
    // The victim's browser (its own cookie, no cookie of the attacker's) posts the login form.
    let _ = victim.authorize(&[("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid")]).await;
    let page = attacker.get(started.location().unwrap().as_str()).await;
    let form = find_form(&page.body, "login").unwrap();
    let mut fields: Vec<(String, String)> = form.fields.into_iter().filter(|(n, _)| n != "username").collect();
    fields.push(("username".into(), ALICE.0.into()));
    fields.push(("password".into(), ALICE.1.into()));
    let reply = victim.post_form(&form.action, &fields).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
}
