//! The authorization endpoint's rules, every verdict decided from the wire: where the browser
//! was (or was not) sent, a later `auth_time`, a login form served. (The error responses for
//! bad requests are data: `scenarios/authorization-errors.toml`.)

use super::flow::{Authorized, CodeAuthorization, authorize, authorize_by_post, authorized, code_authorization, pkce_pair, redeem};
use super::{Context, record_all};
use crate::engine::http::Recorder;
use crate::engine::jwt::Jwt;
use crate::engine::login::{Delivery, describe_params};
use crate::engine::refusal::{self, Answer};
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
const EXACT_REDIRECT: Check = required(
    "authz.redirect-uri-exact",
    "Variants of the registered redirect_uri (query, scheme, port, host case, trailing slash) are never redirected to",
    "RFC 9700 §4.1.3, RFC 6749 §3.1.2.3",
);
const FRAMING: Check =
    required("authz.no-framing", "The login and consent pages forbid framing (X-Frame-Options or CSP frame-ancestors)", "RFC 9700 §4.16");
const UNKNOWN_CLIENT: Check =
    required("authz.unknown-client", "An unknown client_id is never redirected to its redirect_uri", "RFC 6749 §4.1.2.1");
const POST: Check = required("authz.post", "The authorization request also works as a form POST", "OIDC Core §3.1.2.1");
const PROMPT_NONE: Check = required(
    "authz.prompt-none",
    "prompt=none without a session gets login_required or another error that needs the user",
    "OIDC Core §3.1.2.1, §3.1.2.6",
);
const SSO: Check = recommended("authz.session-reused", "A second request in the same browser needs no new login", "OIDC Core §3.1.2.3");
const PROMPT_NONE_SESSION: Check =
    required("authz.prompt-none-with-session", "prompt=none with a session returns a code without any page", "OIDC Core §3.1.2.1");
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
        EXACT_REDIRECT,
        UNKNOWN_CLIENT,
        FRAMING,
        POST,
        PROMPT_NONE,
        SSO,
        PROMPT_NONE_SESSION,
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

/// The errors OIDC Core §3.1.2.6 defines for a request that cannot go on without the user.
const NEEDS_THE_USER: [&str; 4] = ["login_required", "interaction_required", "account_selection_required", "consent_required"];

pub async fn run(ctx: &mut Context, run: &mut Run) {
    if super::blocked_without(ctx, run, &SUITE, &["authorization_endpoint", "token_endpoint"]) {
        return;
    }
    let Some(reg) = ctx.target.confidential.clone() else {
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::NotRun("the target names no confidential client".into()));
    };
    let redirect_uri = reg.redirect_uri.clone().unwrap_or_default();
    // Positive control: the same request with the registered redirect URI reaches the client
    // with a code, so a refusal below is the server's answer to the defect, not a broken flow.
    let (_, challenge) = pkce_pair();
    let control = match authorized(ctx, &ctx.http.browser(), &reg, &code_params("control", &challenge)).await {
        Ok(done) if done.arrival.params.contains_key("code") => {
            // A fresh browser: the login (and consent) pages were shown on the way.
            framing(ctx, run, &done.exchanges);
            Ok(())
        }
        Ok(done) => Err((format!("the client received {}", describe_params(&done.arrival.params)), done.exchanges)),
        Err(failed) => Err(failed),
    };
    if let Err((why, exchanges)) = &control {
        let ev: Vec<&Exchange> = exchanges.iter().collect();
        run.record(&SUITE, &FRAMING, &ev, Outcome::blocked_by_step("a login in a fresh browser", why.clone()));
    }
    let refusals = [
        (&UNREGISTERED_REDIRECT, reg.client_id.clone(), format!("{redirect_uri}/evil")),
        (&FOREIGN_REDIRECT, reg.client_id.clone(), "https://attacker.oidc-harness.invalid/callback".to_string()),
        (&UNKNOWN_CLIENT, "oidc-harness-unknown-client".to_string(), redirect_uri.clone()),
    ];
    match control {
        Ok(()) => {
            for (check, client_id, uri) in &refusals {
                let (outcome, exchanges) = refused(ctx, &reg, client_id, uri).await;
                run.record(&SUITE, check, &exchanges.iter().collect::<Vec<_>>(), outcome);
            }
            exact_redirect(ctx, run, &reg, &redirect_uri).await;
        }
        Err((why, exchanges)) => {
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            let blocked = Outcome::blocked_by_step("positive control: the same request with the registered redirect_uri", why);
            for check in refusals.iter().map(|(check, _, _)| *check).chain([&EXACT_REDIRECT]) {
                run.record(&SUITE, check, &ev, blocked.clone());
            }
        }
    }
    post_request(ctx, run, &reg).await;
    sessions(ctx, run, &reg).await;
    response_modes(ctx, run, &reg).await;
}

fn code_params<'a>(state: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("response_type", "code"), ("scope", "openid"), ("state", state), ("code_challenge", challenge), ("code_challenge_method", "S256")]
}

/// Sends a request naming `client_id` and `redirect_uri` directly (not through the registration)
/// and judges it: the browser never sent to that URI, and the server visibly refused (an error
/// page, or, for a known client, an error sent to its registered redirect URI).
async fn refused(ctx: &Context, reg: &Registration, client_id: &str, redirect_uri: &str) -> (Outcome, Vec<Exchange>) {
    let Some(endpoint) = ctx.endpoint("authorization_endpoint") else {
        let why = "discovery gave no authorization_endpoint";
        return (Outcome::blocked_by(&super::discovery::AUTHORIZATION_ENDPOINT, why), Vec::new());
    };
    let (_, challenge) = pkce_pair();
    let mut params = vec![("client_id", client_id), ("redirect_uri", redirect_uri)];
    params.extend(code_params("st", &challenge));
    let url = url::Url::parse_with_params(endpoint, &params).map(|u| u.to_string()).unwrap_or_default();
    // Log in first if asked: an implementation may check the redirect URI only after login,
    // which is still a redirect to the attacker if it happens.
    let bogus = Registration { client_id: client_id.to_string(), redirect_uri: Some(redirect_uri.to_string()), ..reg.clone() };
    let browser = ctx.http.browser();
    let (exchanges, driver_error) = match authorize(ctx, &browser, &bogus, &params[2..]).await {
        Ok(d) => (d.exchanges, d.result.err()),
        Err(why) => (Vec::new(), Some(why)),
    };
    // An unknown client has no registered redirect URI to send an error to (RFC 6749 §4.1.2.1).
    let registered = if client_id == reg.client_id { reg.redirect_uri.as_deref() } else { None };
    let outcome = match refusal::classify(&exchanges, redirect_uri, registered, endpoint, driver_error.as_deref()) {
        Answer::SentTo(to) => Outcome::Fail(format!("the browser was sent to {to} (request {url})")),
        Answer::Refused(how) => Outcome::PassNoted(how.to_string()),
        Answer::Inconclusive(why) => {
            Outcome::blocked_by_step("a visible refusal", format!("the server neither redirected nor refused: {why}"))
        }
    };
    (outcome, exchanges)
}

/// RFC 9700 §4.1.3: redirect URIs are compared by exact string matching, so a URI that differs
/// from the registered one in any part is someone else's.
async fn exact_redirect(ctx: &Context, run: &mut Run, reg: &Registration, registered: &str) {
    let Ok(parsed) = url::Url::parse(registered) else {
        return run.record(&SUITE, &EXACT_REDIRECT, &[], Outcome::NotRun(format!("the registered redirect_uri {registered} is not a URL")));
    };
    let mut variants: Vec<(&str, String)> = Vec::new();
    let mut with = |what: &'static str, change: &dyn Fn(&mut url::Url)| {
        let mut u = parsed.clone();
        change(&mut u);
        if u.as_str() != registered {
            variants.push((what, u.to_string()));
        }
    };
    with("a query added", &|u| {
        u.query_pairs_mut().append_pair("oidc_harness", "1");
    });
    with("another scheme", &|u| {
        let _ = u.set_scheme(if u.scheme() == "https" { "http" } else { "https" });
    });
    // RFC 8252 §7.3 (and RFC 9700 §4.1.3's exception): a loopback redirect URI may use any port.
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    if !loopback {
        with("another port", &|u| {
            let _ = u.set_port(Some(if u.port() == Some(8443) { 9443 } else { 8443 }));
        });
    }
    with("a trailing slash", &|u| {
        let path = format!("{}/", u.path().trim_end_matches('/'));
        u.set_path(&path)
    });
    let mut outcomes = Vec::new();
    let mut evidence = Vec::new();
    for (what, uri) in variants {
        let (outcome, exchanges) = refused(ctx, reg, &reg.client_id, &uri).await;
        evidence.extend(exchanges);
        outcomes.push((what, outcome));
    }
    // The host in capitals: url::Url lower-cases hosts, so this one is spelled out by hand.
    if let Some(host) = parsed.host_str().filter(|h| h.chars().any(|c| c.is_ascii_lowercase())) {
        let upper = registered.replacen(host, &host.to_ascii_uppercase(), 1);
        let (outcome, exchanges) = refused(ctx, reg, &reg.client_id, &upper).await;
        evidence.extend(exchanges);
        outcomes.push(("the host in capitals", outcome));
    }
    let outcome = crate::engine::fold(outcomes.iter().map(|(what, o)| (*what, o)));
    let outcome = match outcome {
        Outcome::Pass => Outcome::PassNoted(format!("{} variants refused", outcomes.len())),
        other => other,
    };
    run.record(&SUITE, &EXACT_REDIRECT, &evidence.iter().collect::<Vec<_>>(), outcome);
}

/// How many HTML pages (login, consent) the server showed during a flow: 200 text/html answers
/// from the authorization endpoint's origin.
fn pages_shown(ctx: &Context, exchanges: &[Exchange]) -> usize {
    let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
    let server = ctx.endpoint("authorization_endpoint").and_then(origin);
    exchanges
        .iter()
        .filter(|e| e.status == Some(200) && origin(&e.url) == server)
        .filter(|e| {
            e.response_headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.to_ascii_lowercase().starts_with("text/html"))
        })
        .count()
}

/// RFC 9700 §4.16: every HTML page the server showed on the way (login, consent) forbids being
/// framed, with X-Frame-Options (DENY or SAMEORIGIN) or a CSP frame-ancestors directive.
fn framing(ctx: &Context, run: &mut Run, exchanges: &[Exchange]) {
    let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
    let server = ctx.endpoint("authorization_endpoint").and_then(origin);
    let header = |e: &Exchange, name: &str| {
        e.response_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_ascii_lowercase())
    };
    let pages: Vec<&Exchange> = exchanges
        .iter()
        .filter(|e| {
            e.status == Some(200) && origin(&e.url) == server && header(e, "content-type").is_some_and(|c| c.starts_with("text/html"))
        })
        .collect();
    if pages.is_empty() {
        return run.record(&SUITE, &FRAMING, &[], Outcome::blocked_by_step("a login page in a fresh browser", "no HTML page was shown"));
    }
    let framable: Vec<&str> = pages
        .iter()
        .filter(|e| {
            let xfo = header(e, "x-frame-options").is_some_and(|v| v.contains("deny") || v.contains("sameorigin"));
            // frame-ancestors that admits any origin (`*`, a bare scheme) protects nothing.
            let csp = header(e, "content-security-policy").is_some_and(|v| {
                v.split(';').filter_map(|d| d.trim().strip_prefix("frame-ancestors")).any(|sources| {
                    let sources: Vec<&str> = sources.split_whitespace().collect();
                    !sources.is_empty() && !sources.iter().any(|s| matches!(*s, "*" | "https:" | "http:" | "https://*" | "http://*"))
                })
            });
            !xfo && !csp
        })
        .map(|e| e.url.as_str())
        .collect();
    run.record(
        &SUITE,
        &FRAMING,
        &pages,
        Outcome::expect(framable.is_empty(), || format!("no X-Frame-Options or frame-ancestors on {}", framable.join(", "))),
    );
}

async fn post_request(ctx: &Context, run: &mut Run, reg: &Registration) {
    let (_, challenge) = pkce_pair();
    let browser = ctx.http.browser();
    let drive = match authorize_by_post(ctx, &browser, reg, &code_params("post", &challenge)).await {
        Ok(drive) => drive,
        Err(why) => return run.record(&SUITE, &POST, &[], Outcome::Fail(why)),
    };
    let ev: Vec<&Exchange> = drive.exchanges.iter().collect();
    run.record(
        &SUITE,
        &POST,
        &ev,
        match &drive.result {
            Ok(a) => Outcome::expect(a.params.contains_key("code"), || format!("the client received {}", describe_params(&a.params))),
            Err(why) => Outcome::Fail(why.clone()),
        },
    );
}

/// The ID token's auth_time after redeeming an authorization.
async fn auth_time(ctx: &Context, reg: &Registration, code: &str, verifier: &str) -> Option<u64> {
    let response = redeem(ctx, reg, code, Some(verifier)).await.ok()?;
    let id_token = response.json()?["id_token"].as_str().map(str::to_string)?;
    // Whole seconds: auth_time may carry a fraction (RFC 7519 §2 NumericDate).
    crate::engine::id_token::numeric_date(&Jwt::decode(&id_token).ok()?.claims["auth_time"]).map(|t| t as u64)
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
    // OIDC Core §3.1.2.1: with prompt=none the server MUST NOT show a login or consent page,
    // whatever it answers in the end.
    // A fresh browser with no session at all.
    let fresh = ctx.http.browser();
    let outcome = match authorized(ctx, &fresh, reg, &silent).await {
        Ok(done) => {
            let p = &done.arrival.params;
            let pages = pages_shown(ctx, &done.exchanges);
            let outcome = match p.get("error").map(String::as_str) {
                _ if pages > 0 => Outcome::Fail(format!(
                    "{pages} login or consent pages were shown despite prompt=none (then the client received {})",
                    describe_params(p)
                )),
                Some(error) if NEEDS_THE_USER.contains(&error) => Outcome::PassNoted(format!("error={error}")),
                _ => {
                    Outcome::Fail(format!("the client received {}; expected an error of {}", describe_params(p), NEEDS_THE_USER.join(", ")))
                }
            };
            (outcome, done.exchanges)
        }
        Err((why, exchanges)) => (Outcome::Fail(format!("no answer came back to the client: {why}")), exchanges),
    };
    run.record(&SUITE, &PROMPT_NONE, &outcome.1.iter().collect::<Vec<_>>(), outcome.0);

    // max_age makes auth_time REQUIRED in the ID token (OIDC Core §3.1.2.1); without it a
    // server may leave auth_time out, and these checks compare login times.
    let with_auth_time = ("max_age", "86400");
    let t1 = match login_flow(ctx, &browser, reg, &[with_auth_time]).await {
        Ok((_, t1)) => t1,
        Err((why, exchanges)) => {
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            let blocked = Outcome::blocked_by_step("a first login in the browser", why);
            return record_all(run, &SUITE, &[SSO, PROMPT_NONE_SESSION, PROMPT_LOGIN, MAX_AGE], &ev, &blocked);
        }
    };
    let record_flow = |run: &mut Run,
                       check: &Check,
                       result: Result<(Authorized, Option<u64>), (String, Vec<Exchange>)>,
                       judge: &dyn Fn(&Authorized, Option<u64>) -> Outcome| match result {
        Ok((done, time)) => {
            let ev: Vec<&Exchange> = done.exchanges.iter().collect();
            run.record(&SUITE, check, &ev, judge(&done, time));
        }
        Err((why, exchanges)) => {
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            run.record(&SUITE, check, &ev, Outcome::blocked_by_step("the authorization request", why));
        }
    };
    let again = login_flow(ctx, &browser, reg, &[]).await;
    record_flow(run, &SSO, again, &|done, _| {
        let p = &done.arrival.params;
        Outcome::expect(done.logins == 0 && p.contains_key("code"), || {
            format!("the second request gave the client {} after {} login forms", describe_params(p), done.logins)
        })
    });
    let silent_again = login_flow(ctx, &browser, reg, &[("prompt", "none")]).await;
    record_flow(run, &PROMPT_NONE_SESSION, silent_again, &|done, _| {
        let p = &done.arrival.params;
        let pages = pages_shown(ctx, &done.exchanges);
        Outcome::expect(pages == 0 && p.contains_key("code"), || {
            format!("with a session, prompt=none gave the client {} after {pages} login or consent pages", describe_params(p))
        })
    });
    // Without an auth_time to compare (its absence is id-token.auth-time's failure) the login
    // form alone is judged.
    let later = |time: Option<u64>, strictly: bool| match (t1, time) {
        (Some(t1), Some(t)) => {
            if strictly {
                t > t1
            } else {
                t >= t1
            }
        }
        (Some(_), None) => false,
        (None, _) => true,
    };
    let forced = login_flow(ctx, &browser, reg, &[("prompt", "login"), with_auth_time]).await;
    record_flow(run, &PROMPT_LOGIN, forced, &|done, time| {
        Outcome::expect(done.logins == 1 && later(time, false), || {
            format!("{} login forms, auth_time {} after {}", done.logins, shown(time), shown(t1))
        })
    });
    tokio::time::sleep(AGE_WAIT).await;
    let aged = login_flow(ctx, &browser, reg, &[("max_age", "1")]).await;
    record_flow(run, &MAX_AGE, aged, &|done, time| {
        Outcome::expect(done.logins == 1 && later(time, true), || {
            format!("{} login forms, auth_time {} (first login {})", done.logins, shown(time), shown(t1))
        })
    });
}

fn shown(time: Option<u64>) -> String {
    time.map_or_else(|| "absent".to_string(), |t| t.to_string())
}

async fn response_modes(ctx: &Context, run: &mut Run, reg: &Registration) {
    for (check, mode, delivery) in [(&FORM_POST, "form_post", Delivery::FormPost), (&FRAGMENT, "fragment", Delivery::Fragment)] {
        if !ctx.profile.flows.response_modes.iter().any(|m| m == mode) {
            run.record(&SUITE, check, &[], Outcome::NotApplicable(format!("the profile does not list {mode}")));
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
                        format!("delivered in {}: {}", a.delivery.name(), describe_params(&a.params))
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
