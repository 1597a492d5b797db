//! The authorization endpoint's rules, every verdict decided from the wire: where the browser
//! was (or was not) sent, a later `auth_time`, a login form served. (The error responses for
//! bad requests are data: `scenarios/authorization-errors.toml`.)

use super::flow::{Authorized, CodeAuthorization, authorize, authorized, code_authorization, pkce_pair, redeem};
use super::{Context, record_all};
use crate::engine::http::Recorder;
use crate::engine::jwt::Jwt;
use crate::engine::login::Delivery;
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
use crate::target::Registration;
use reports::Exchange;
use std::borrow::Cow;

const UNREGISTERED_REDIRECT: Check = required(
    "authz.unregistered-redirect-uri",
    "A redirect_uri extending a registered one is never redirected to",
    "RFC 6749 §3.1.2.3, §4.1.2.1, RFC 9700 §4.1",
);
const FOREIGN_REDIRECT: Check =
    required("authz.foreign-redirect-uri", "A foreign redirect_uri is never redirected to", "RFC 6749 §4.1.2.1, RFC 9700 §4.1");
const UNKNOWN_CLIENT: Check =
    required("authz.unknown-client", "An unknown client_id is never redirected to its redirect_uri", "RFC 6749 §4.1.2.1");
const POST: Check = required("authz.post", "The authorization request also works as a form POST", "OIDC Core §3.1.2.1");
const PROMPT_NONE: Check =
    required("authz.prompt-none", "prompt=none without a session gets login_required", "OIDC Core §3.1.2.1, §3.1.2.6");
const SSO: Check = recommended("authz.session-reused", "A second request in the same browser needs no new login", "OIDC Core §3.1.2.3");
const PROMPT_LOGIN: Check = required("authz.prompt-login", "prompt=login shows the login form despite a session", "OIDC Core §3.1.2.1");
const MAX_AGE: Check =
    required("authz.max-age", "max_age shorter than the session's age forces a new login and a later auth_time", "OIDC Core §3.1.2.1, §2");
const FORM_POST: Check = required(
    "authz.form-post",
    "response_mode=form_post delivers the code in an auto-submitting form",
    "OAuth 2.0 Form Post Response Mode §2",
);
const FRAGMENT: Check =
    required("authz.fragment", "response_mode=fragment delivers the code in the fragment", "OAuth 2.0 Multiple Response Types §2.1");

pub const NAME: &str = "authorization-endpoint";

pub const SUITE: Suite = Suite {
    name: Cow::Borrowed(NAME),
    checks: Cow::Borrowed(&[
        UNREGISTERED_REDIRECT,
        FOREIGN_REDIRECT,
        UNKNOWN_CLIENT,
        POST,
        PROMPT_NONE,
        SSO,
        PROMPT_LOGIN,
        MAX_AGE,
        FORM_POST,
        FRAGMENT,
    ]),
};

/// How long to wait so that a session is older than `max_age=1` even for a server that floors
/// times to whole seconds and compares with `>`: any less and the verdict would depend on where
/// in a second the first login happened.
const AGE_WAIT: std::time::Duration = std::time::Duration::from_millis(2100);

pub async fn run(ctx: &mut Context, run: &mut Run) {
    let Some(reg) = ctx.target.confidential.clone() else {
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::Skip("the target names no confidential client".into()));
    };
    let redirect_uri = reg.redirect_uri.clone().unwrap_or_default();
    never_redirected(ctx, run, &reg, &UNREGISTERED_REDIRECT, &reg.client_id, &format!("{redirect_uri}/evil")).await;
    never_redirected(ctx, run, &reg, &FOREIGN_REDIRECT, &reg.client_id, "https://attacker.oidc-harness.invalid/callback").await;
    never_redirected(ctx, run, &reg, &UNKNOWN_CLIENT, "oidc-harness-unknown-client", &redirect_uri).await;
    post_request(ctx, run, &reg).await;
    sessions(ctx, run, &reg).await;
    response_modes(ctx, run, &reg).await;
}

fn code_params<'a>(state: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("response_type", "code"), ("scope", "openid"), ("state", state), ("code_challenge", challenge), ("code_challenge_method", "S256")]
}

/// Sends a request naming `client_id` and `redirect_uri` directly (not through the registration)
/// and checks the browser is never sent to that URI.
async fn never_redirected(ctx: &Context, run: &mut Run, reg: &Registration, check: &Check, client_id: &str, redirect_uri: &str) {
    let Some(endpoint) = ctx.endpoint("authorization_endpoint") else {
        return run.record(&SUITE, check, &[], Outcome::Fail("discovery gave no authorization_endpoint".into()));
    };
    let (_, challenge) = pkce_pair();
    let mut params = vec![("client_id", client_id), ("redirect_uri", redirect_uri)];
    params.extend(code_params("st", &challenge));
    let url = url::Url::parse_with_params(endpoint, &params).map(|u| u.to_string()).unwrap_or_default();
    // Log in first if asked: an implementation may check the redirect URI only after login,
    // which is still a redirect to the attacker if it happens.
    let bogus = Registration { client_id: client_id.to_string(), redirect_uri: Some(redirect_uri.to_string()), ..reg.clone() };
    let browser = ctx.http.browser();
    let drive = authorize(ctx, &browser, &bogus, &params[2..]).await;
    let (exchanges, reached) = match drive {
        Ok(d) => (d.exchanges, d.result.is_ok()),
        Err(_) => (Vec::new(), false),
    };
    let ev: Vec<&Exchange> = exchanges.iter().collect();
    let redirected = exchanges.iter().any(|e| e.response_headers.iter().any(|(k, v)| k == "location" && v.starts_with(redirect_uri)));
    run.record(
        &SUITE,
        check,
        &ev,
        Outcome::expect(!reached && !redirected, || format!("the browser was sent to {redirect_uri} (request {url})")),
    );
}

/// A request that must come back to the client as `error`.
async fn error_response(
    ctx: &Context,
    reg: &Registration,
    params: &[(&str, &str)],
) -> (Vec<Exchange>, Result<std::collections::BTreeMap<String, String>, String>) {
    match authorized(ctx, &ctx.http.browser(), reg, params).await {
        Ok(a) => (a.exchanges, Ok(a.arrival.params)),
        Err((why, exchanges)) => (exchanges, Err(why)),
    }
}

async fn post_request(ctx: &Context, run: &mut Run, reg: &Registration) {
    let (Some(endpoint), Some(redirect_uri)) = (ctx.endpoint("authorization_endpoint"), reg.redirect_uri.as_deref()) else {
        return run.record(&SUITE, &POST, &[], Outcome::Fail("no authorization_endpoint or redirect_uri".into()));
    };
    let (_, challenge) = pkce_pair();
    let mut form = vec![("client_id", reg.client_id.as_str()), ("redirect_uri", redirect_uri)];
    form.extend(code_params("post", &challenge));
    let browser = ctx.http.browser();
    let creds =
        crate::engine::login::Credentials { user: ctx.target.user.as_ref(), config: &ctx.target.login, extra: &ctx.target.extra_fields };
    let mut exchanges = Vec::new();
    if let Err(why) = crate::engine::login::json_login(&browser, &ctx.issuer, &creds, &mut exchanges).await {
        let ev: Vec<&Exchange> = exchanges.iter().collect();
        return run.record(&SUITE, &POST, &ev, Outcome::Fail(why));
    }
    let drive = crate::engine::login::drive(&browser, browser.post(endpoint).form(&form), redirect_uri, &creds).await;
    exchanges.extend(drive.exchanges);
    let ev: Vec<&Exchange> = exchanges.iter().collect();
    run.record(
        &SUITE,
        &POST,
        &ev,
        match &drive.result {
            Ok(a) => Outcome::expect(a.params.contains_key("code"), || format!("the client received {:?}", a.params)),
            Err(why) => Outcome::Fail(why.clone()),
        },
    );
}

/// The ID token's auth_time after redeeming an authorization.
async fn auth_time(ctx: &Context, reg: &Registration, code: &str, verifier: &str) -> Option<u64> {
    let response = redeem(ctx, reg, code, Some(verifier)).await.ok()?;
    let id_token = response.json()?["id_token"].as_str().map(str::to_string)?;
    Jwt::decode(&id_token).ok()?.claims["auth_time"].as_u64()
}

/// A code flow in `browser` with `extra`, and the auth_time of the ID token it yields.
async fn login_flow(
    ctx: &Context,
    browser: &Recorder,
    reg: &Registration,
    extra: &[(&str, &str)],
) -> Result<(Authorized, Option<u64>), (String, Vec<Exchange>)> {
    let CodeAuthorization { done, verifier, .. } = code_authorization(ctx, browser, reg, "openid", extra).await?;
    let time = match done.arrival.params.get("code") {
        Some(code) => auth_time(ctx, reg, code, &verifier).await,
        None => None,
    };
    Ok((done, time))
}

async fn sessions(ctx: &Context, run: &mut Run, reg: &Registration) {
    let browser = ctx.http.browser();
    let (_, challenge) = pkce_pair();
    let mut silent = code_params("none", &challenge);
    silent.push(("prompt", "none"));
    let result = error_response(ctx, reg, &silent).await;
    let ev: Vec<&Exchange> = result.0.iter().collect();
    run.record(
        &SUITE,
        &PROMPT_NONE,
        &ev,
        match &result.1 {
            Ok(p) => Outcome::expect(p.get("error").map(String::as_str) == Some("login_required"), || format!("the client received {p:?}")),
            Err(why) => Outcome::Fail(format!("no answer came back to the client: {why}")),
        },
    );

    // max_age makes auth_time REQUIRED in the ID token (OIDC Core §3.1.2.1); without it a
    // server may leave auth_time out, and these checks compare login times.
    let with_auth_time = ("max_age", "86400");
    let first = login_flow(ctx, &browser, reg, &[with_auth_time]).await;
    let Ok((_, Some(t1))) = first else {
        let why = match first {
            Err((why, _)) => why,
            Ok(_) => "the first login gave no auth_time".into(),
        };
        return record_all(run, &SUITE, &[SSO, PROMPT_LOGIN, MAX_AGE], &[], &Outcome::Fail(why));
    };
    let record_flow = |run: &mut Run,
                       check: &Check,
                       result: Result<(Authorized, Option<u64>), (String, Vec<Exchange>)>,
                       judge: &dyn Fn(usize, Option<u64>) -> Outcome| match result {
        Ok((done, time)) => {
            let ev: Vec<&Exchange> = done.exchanges.iter().collect();
            run.record(&SUITE, check, &ev, judge(done.logins, time));
        }
        Err((why, exchanges)) => {
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            run.record(&SUITE, check, &ev, Outcome::Fail(why));
        }
    };
    let again = login_flow(ctx, &browser, reg, &[]).await;
    record_flow(run, &SSO, again, &|logins, _| Outcome::expect(logins == 0, || "the login form was shown again".into()));
    let forced = login_flow(ctx, &browser, reg, &[("prompt", "login"), with_auth_time]).await;
    record_flow(run, &PROMPT_LOGIN, forced, &|logins, time| {
        Outcome::expect(logins == 1 && time.is_some_and(|t| t >= t1), || format!("{logins} login forms, auth_time {time:?} after {t1}"))
    });
    tokio::time::sleep(AGE_WAIT).await;
    let aged = login_flow(ctx, &browser, reg, &[("max_age", "1")]).await;
    record_flow(run, &MAX_AGE, aged, &|logins, time| {
        Outcome::expect(logins == 1 && time.is_some_and(|t| t > t1), || {
            format!("{logins} login forms, auth_time {time:?} (first login {t1})")
        })
    });
}

async fn response_modes(ctx: &Context, run: &mut Run, reg: &Registration) {
    for (check, mode, delivery) in [(&FORM_POST, "form_post", Delivery::FormPost), (&FRAGMENT, "fragment", Delivery::Fragment)] {
        if !ctx.profile.flows.response_modes.iter().any(|m| m == mode) {
            run.record(&SUITE, check, &[], Outcome::Skip(format!("the profile does not list {mode}")));
            continue;
        }
        let (_, challenge) = pkce_pair();
        let mut params = code_params("mode", &challenge);
        params.push(("response_mode", mode));
        match authorized(ctx, &ctx.http.browser(), reg, &params).await {
            Ok(done) => {
                let ev: Vec<&Exchange> = done.exchanges.iter().collect();
                let a = &done.arrival;
                run.record(
                    &SUITE,
                    check,
                    &ev,
                    Outcome::expect(a.delivery == delivery && a.params.contains_key("code"), || {
                        format!("delivered by {:?}: {:?}", a.delivery, a.params.keys())
                    }),
                );
            }
            Err((why, exchanges)) => {
                let ev: Vec<&Exchange> = exchanges.iter().collect();
                run.record(&SUITE, check, &ev, Outcome::Fail(why));
            }
        }
    }
}
