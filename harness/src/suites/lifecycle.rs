//! The token lifecycle ("Manage OIDC and OAuth tokens"): refresh (RFC 6749 §6) with rotation
//! and reuse detection (RFC 9700 §4.14.2), the refreshed ID token (OIDC Core §12.2), and
//! revocation (RFC 7009) reaching refresh and userinfo.

use super::flow::{authenticated, code_tokens, token};
use super::{Context, expect_error, record_all};
use crate::engine::http::Response;
use crate::engine::id_token as engine_id_token;
use crate::engine::jwt::Jwt;
use crate::engine::{Check, Outcome, Run, Suite, required};
use crate::target::Registration;
use reports::Exchange;
use serde_json::Value;
use std::borrow::Cow;

const ISSUED: Check = required("refresh.issued", "offline_access yields a refresh token", "OIDC Core §11, profile");
const WORKS: Check = required("refresh.works", "A refresh token gets a new access token", "RFC 6749 §6");
const ROTATES: Check = required("refresh.rotates", "Refreshing returns a new refresh token", "RFC 9700 §4.14.2, profile");
const REUSE_REFUSED: Check = required("refresh.reuse-refused", "A rotated-out refresh token gets invalid_grant", "RFC 9700 §4.14.2");
const REUSE_REVOKES: Check = required(
    "refresh.reuse-revokes-family",
    "Reuse revokes the newer refresh token too",
    "profile (refresh_reuse_detection), RFC 9700 §4.14.2",
);
const NARROW: Check = required("refresh.scope-narrows", "A narrower scope is granted on refresh", "RFC 6749 §6");
const WIDEN: Check = required("refresh.scope-cannot-widen", "A wider scope on refresh gets invalid_scope", "RFC 6749 §6");
const AUTH_TIME: Check = required("refresh.id-token-auth-time", "The refreshed ID token keeps sub and auth_time", "OIDC Core §12.2");
const REFRESHED_ID_TOKEN: Check = required(
    "refresh.id-token-valid",
    "A refreshed ID token passes the standard checks (signature, iss, aud, exp, iat, sub)",
    "OIDC Core §12.2, §3.1.3.7",
);
const BOUND: Check = required("refresh.bound-to-client", "Another client cannot use the refresh token", "RFC 6749 §6, §10.4");
const REVOKE_REFRESH: Check = required("revocation.refresh-token", "A revoked refresh token no longer refreshes", "RFC 7009 §2.1-2.2");
const REVOKE_ACCESS: Check =
    required("revocation.access-token", "A revoked access token no longer opens userinfo", "RFC 7009 §2.1, profile");
const UNKNOWN: Check = required("revocation.unknown-token", "Revoking an unknown token answers 200", "RFC 7009 §2.2");
const UNAUTHENTICATED: Check =
    required("revocation.client-auth", "Revocation without client authentication gets 401 invalid_client", "RFC 7009 §2.1, RFC 6749 §5.2");
const TOKEN_CAP: Check = required(
    "lifecycle.token-cap",
    "Beyond the per-user, per-application token limit the oldest grant is dropped, the next kept",
    "profile (Manage OIDC and OAuth tokens)",
);
const OTHER_CLIENT: Check = required("revocation.other-client", "Another client cannot revoke the token", "RFC 7009 §2.1");
const WRONG_HINT: Check =
    required("revocation.wrong-hint", "A refresh token revoked with token_type_hint=access_token is revoked all the same", "RFC 7009 §2.1");
const PUBLIC_ROTATES: Check = required(
    "refresh.public-client-rotates",
    "A public client's refresh token rotates on use (or is sender-constrained)",
    "RFC 9700 §4.14.2",
);

pub const NAME: &str = "lifecycle";

pub const SUITE: Suite = Suite {
    name: Cow::Borrowed(NAME),
    checks: Cow::Borrowed(&[
        ISSUED,
        WORKS,
        ROTATES,
        REUSE_REFUSED,
        REUSE_REVOKES,
        NARROW,
        WIDEN,
        AUTH_TIME,
        REFRESHED_ID_TOKEN,
        BOUND,
        PUBLIC_ROTATES,
        REVOKE_REFRESH,
        REVOKE_ACCESS,
        UNKNOWN,
        UNAUTHENTICATED,
        OTHER_CLIENT,
        WRONG_HINT,
        TOKEN_CAP,
    ]),
};

/// The refresh-token checks judged on the confidential client's grants, and the revocation
/// checks: not applicable or blocked together when the step they depend on cannot run.
const REFRESH_CHECKS: [Check; 10] =
    [ISSUED, WORKS, ROTATES, REUSE_REFUSED, REUSE_REVOKES, NARROW, WIDEN, AUTH_TIME, REFRESHED_ID_TOKEN, BOUND];
const REVOCATION_CHECKS: [Check; 6] = [REVOKE_REFRESH, REVOKE_ACCESS, UNKNOWN, UNAUTHENTICATED, OTHER_CLIENT, WRONG_HINT];

/// What checks wait for when no grant can be had.
const GRANT_STEP: &str = "a grant for the test user (authorization code flow)";

/// A fresh grant (asking for consent, as OIDC Core §11 wants for offline_access): the token
/// response body and its exchange.
async fn grant(ctx: &Context, reg: &Registration, scope: &str) -> Result<(Value, Exchange), String> {
    let (body, mut exchanges) =
        code_tokens(ctx, &ctx.http.browser(), reg, scope, &[("prompt", "consent")]).await.map_err(|(why, _)| why)?;
    let exchange = exchanges.pop().ok_or("no exchange")?;
    Ok((body, exchange))
}

/// Sleeps until the wall clock is past `second` (Unix time), at most just over a second.
async fn wait_past_second(second: u64) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let target = std::time::Duration::from_secs(second + 1);
    if let Some(wait) = target.checked_sub(now).filter(|w| w.as_millis() <= 1100) {
        tokio::time::sleep(wait).await;
    }
}

async fn refresh(ctx: &Context, reg: &Registration, token_value: &str, scope: Option<&str>) -> Result<Response, Exchange> {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token_value)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    token(ctx, reg, &form).await
}

fn field(body: &Value, name: &str) -> String {
    body[name].as_str().unwrap_or_default().to_string()
}

pub async fn run(ctx: &mut Context, run: &mut Run) {
    if super::blocked_without(ctx, run, &SUITE, &["authorization_endpoint", "token_endpoint"]) {
        return;
    }
    let Some(reg) = ctx.target.confidential.clone() else {
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::NotRun("the target names no confidential client".into()));
    };
    if !ctx.profile.flows.refresh_tokens {
        let why = Outcome::NotApplicable("the profile has no refresh tokens".into());
        record_all(run, &SUITE, &REFRESH_CHECKS, &[], &why);
        run.record(&SUITE, &PUBLIC_ROTATES, &[], why);
    } else {
        refresh_rules(ctx, run, &reg).await;
        public_client_rotates(ctx, run).await;
    }
    if !ctx.profile.features.revocation {
        record_all(run, &SUITE, &REVOCATION_CHECKS, &[], &Outcome::NotApplicable("the profile has no revocation".into()));
    } else if ctx.endpoint("revocation_endpoint").is_none() {
        let blocked = Outcome::blocked_by(&super::discovery::REVOCATION, "discovery gave no revocation_endpoint");
        record_all(run, &SUITE, &REVOCATION_CHECKS, &[], &blocked);
    } else {
        if !ctx.profile.flows.refresh_tokens {
            // These revoke a refresh token: without refresh tokens there is none to revoke.
            for check in [&REVOKE_REFRESH, &WRONG_HINT, &OTHER_CLIENT] {
                run.declare_not_applicable(&SUITE, check, "the profile has no refresh tokens");
            }
        }
        revocation_rules(ctx, run, &reg).await;
    }
    token_cap(ctx, run, &reg).await;
}

/// The refresh grant's scopes and one more (`[scopes]` in the target file): a grant a refresh
/// can narrow.
fn refresh_scope_with_additional(ctx: &Context) -> String {
    format!("{} {}", ctx.target.scopes.refresh, ctx.target.scopes.additional)
}

/// A fresh refresh token that is shown to work first (the positive control of a check that
/// expects it refused later): the token to use next, and the exchanges. A refresh may rotate
/// the token, so the current one is returned.
async fn working_refresh_token(ctx: &Context, reg: &Registration) -> Result<(String, Vec<Exchange>), Outcome> {
    let (body, exchange) = grant(ctx, reg, &ctx.target.scopes.refresh).await.map_err(|why| Outcome::blocked_by_step(GRANT_STEP, why))?;
    let first = field(&body, "refresh_token");
    if first.is_empty() {
        return Err(Outcome::blocked_by(&ISSUED, "the grant gave no refresh token"));
    }
    match refresh(ctx, reg, &first, None).await {
        Ok(r) if r.status == 200 => {
            let rotated = r.json().map(|b| field(&b, "refresh_token")).filter(|t| !t.is_empty()).unwrap_or(first);
            Ok((rotated, vec![exchange, r.exchange]))
        }
        Ok(r) => {
            Err(Outcome::blocked_by(&WORKS, format!("positive control: the fresh refresh token did not refresh: {}", super::answered(&r))))
        }
        Err(e) => Err(super::no_response(&e)),
    }
}

/// Issues one grant and then `cap` more in one browser session: the first must be gone (its
/// refresh token refused), the second still alive. Earlier grants of the run are older still,
/// so they only make the first more certainly the one dropped.
async fn token_cap(ctx: &Context, run: &mut Run, reg: &Registration) {
    let Some(cap) = ctx.profile.limits.max_tokens_per_user_per_application else {
        return run.record(&SUITE, &TOKEN_CAP, &[], Outcome::NotApplicable("the profile states no token limit".into()));
    };
    if !ctx.profile.flows.refresh_tokens {
        return run.record(
            &SUITE,
            &TOKEN_CAP,
            &[],
            Outcome::NotApplicable("the profile has no refresh tokens to observe the limit with".into()),
        );
    }
    let browser = ctx.http.browser();
    let mut refresh_tokens = Vec::with_capacity(2);
    for n in 0..=cap {
        let body = match code_tokens(ctx, &browser, reg, &ctx.target.scopes.refresh, &[]).await {
            Ok((body, _)) if body["refresh_token"].is_string() => body,
            Ok((_, exchanges)) | Err((_, exchanges)) => {
                let ev: Vec<&Exchange> = exchanges.iter().collect();
                let why = format!("grant {} of {} gave no refresh token", n + 1, cap + 1);
                return run.record(&SUITE, &TOKEN_CAP, &ev, Outcome::blocked_by_step("issuing grants up to the limit", why));
            }
        };
        if n < 2 {
            refresh_tokens.push(field(&body, "refresh_token"));
        }
    }
    let oldest = refresh(ctx, reg, &refresh_tokens[0], None).await;
    let next = refresh(ctx, reg, &refresh_tokens[1], None).await;
    // Dropped means refused as a grant error, not a server failure.
    let dropped = oldest.as_ref().is_ok_and(|r| r.status == 400 && super::error_code(r).as_deref() == Some("invalid_grant"));
    let kept = next.as_ref().is_ok_and(|r| r.status == 200);
    run.record(
        &SUITE,
        &TOKEN_CAP,
        &evidence(&[&oldest, &next]),
        Outcome::expect(dropped && kept, || {
            format!(
                "after {} grants: the first was {}, the second {}",
                cap + 1,
                if dropped { "dropped" } else { "kept" },
                if kept { "kept" } else { "dropped" }
            )
        }),
    );
}

async fn refresh_rules(ctx: &mut Context, run: &mut Run, reg: &Registration) {
    if !ctx.profile.flows.refresh_rotation {
        let why = "the profile does not rotate refresh tokens";
        for check in [&ROTATES, &REUSE_REFUSED, &REUSE_REVOKES] {
            run.declare_not_applicable(&SUITE, check, why);
        }
    } else if !ctx.profile.flows.detects_refresh_reuse() {
        run.declare_not_applicable(&SUITE, &REUSE_REVOKES, "the profile says reuse of a rotated-out refresh token is not detected");
    }
    let (first, exchange) = match grant(ctx, reg, &refresh_scope_with_additional(ctx)).await {
        Ok(ok) => ok,
        Err(why) => return record_all(run, &SUITE, &REFRESH_CHECKS, &[], &Outcome::blocked_by_step(GRANT_STEP, why)),
    };
    let r1 = field(&first, "refresh_token");
    run.record(&SUITE, &ISSUED, &[&exchange], Outcome::expect(!r1.is_empty(), || "no refresh_token in the token response".into()));
    if r1.is_empty() {
        return record_all(run, &SUITE, &REFRESH_CHECKS[1..], &[&exchange], &Outcome::blocked_by(&ISSUED, "no refresh token to test"));
    }
    // A server that stamps the refresh time into auth_time is only visible once the clock has
    // moved past the login's second (auth_time is whole seconds).
    if let Some(auth_time) = id_token(&first).and_then(|t| engine_id_token::numeric_date(&t.claims["auth_time"])) {
        wait_past_second(auth_time as u64).await;
    }
    let second = refresh(ctx, reg, &r1, None).await;
    let second_body = second.as_ref().ok().and_then(|r| r.json().filter(|_| r.status == 200)).unwrap_or(Value::Null);
    let refreshed = second_body["access_token"].is_string();
    match &second {
        Ok(r) if r.status >= 500 => run.record(&SUITE, &WORKS, &[&r.exchange], super::server_error(r)),
        Ok(r) => run.record(&SUITE, &WORKS, &[&r.exchange], Outcome::expect(refreshed, || super::answered(r))),
        Err(e) => run.record(&SUITE, &WORKS, &[e], super::no_response(e)),
    }
    let r2 = field(&second_body, "refresh_token");
    let ev: Vec<&Exchange> = second.iter().map(|r| &r.exchange).collect();
    if !refreshed {
        let blocked = Outcome::blocked_by(&WORKS, "the refresh itself did not work");
        return record_all(run, &SUITE, &REFRESH_CHECKS[2..], &ev, &blocked);
    }
    run.record(
        &SUITE,
        &ROTATES,
        &ev,
        Outcome::expect(!r2.is_empty() && r2 != r1, || {
            if r2.is_empty() { "no refresh token came back".into() } else { "the same refresh token came back".into() }
        }),
    );
    // OIDC Core §12.2: a refresh MAY return a new ID token; when it does, sub and auth_time stay.
    if let Some(token) = second_body["id_token"].as_str() {
        ctx.jwks_for(token).await;
    }
    let (id1, id2) = (id_token(&first), id_token(&second_body));
    let kept = match (&id1, &id2) {
        (Some(a), Some(b)) => Outcome::expect(a.claims["auth_time"] == b.claims["auth_time"] && a.claims["sub"] == b.claims["sub"], || {
            format!("auth_time {} then {}, sub {} then {}", a.claims["auth_time"], b.claims["auth_time"], a.claims["sub"], b.claims["sub"])
        }),
        (Some(_), None) => Outcome::NotApplicable("the refresh returned no new ID token, which OIDC Core §12.2 allows".into()),
        (None, _) => Outcome::blocked_by_step(GRANT_STEP, "no ID token in the first token response"),
    };
    run.record(&SUITE, &AUTH_TIME, &ev, kept);
    let valid = match &id2 {
        Some(jwt) => {
            // §12.2: no nonce is sent with a refresh; the rest of §3.1.3.7 applies as at login.
            let expected = engine_id_token::Expected {
                issuer: &ctx.issuer,
                client_id: &reg.client_id,
                access_token: second_body["access_token"].as_str(),
                listed_algs: super::strings(ctx.metadata.as_ref(), "id_token_signing_alg_values_supported")
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                ..Default::default()
            };
            engine_id_token::fold(&engine_id_token::check(jwt, &expected, ctx.jwks(), engine_id_token::now()))
        }
        None => Outcome::NotApplicable("the refresh returned no new ID token, which OIDC Core §12.2 allows".into()),
    };
    run.record(&SUITE, &REFRESHED_ID_TOKEN, &ev, valid);

    if r2.is_empty() || r2 == r1 {
        let blocked = Outcome::blocked_by(&ROTATES, "no rotated refresh token to test reuse with");
        record_all(run, &SUITE, &[REUSE_REFUSED, REUSE_REVOKES], &ev, &blocked);
    } else {
        let reuse = refresh(ctx, reg, &r1, None).await;
        expect_error(run, &SUITE, &REUSE_REFUSED, &reuse, &[400], &["invalid_grant"]);
        let after = refresh(ctx, reg, &r2, None).await;
        expect_error(run, &SUITE, &REUSE_REVOKES, &after, &[400], &["invalid_grant"]);
    }

    // Scope rules and client binding on a second grant.
    match grant(ctx, reg, &refresh_scope_with_additional(ctx)).await {
        Ok((body, _)) => {
            let token_value = field(&body, "refresh_token");
            let wider = format!("{} {}", refresh_scope_with_additional(ctx), ctx.target.scopes.not_granted);
            let wider = refresh(ctx, reg, &token_value, Some(&wider)).await;
            expect_error(run, &SUITE, &WIDEN, &wider, &[400], &["invalid_scope"]);
            match &ctx.target.other_confidential {
                Some(other) => {
                    let foreign = refresh(ctx, other, &token_value, None).await;
                    // RFC 6749 §5.2: invalid_grant for a token issued to another client; a server
                    // may also refuse the client itself for using it.
                    expect_error(run, &SUITE, &BOUND, &foreign, &[400], &["invalid_grant"]);
                }
                None => run.record(&SUITE, &BOUND, &[], Outcome::NotRun("the target names no second confidential client".into())),
            }
            match refresh(ctx, reg, &token_value, Some("openid")).await {
                Ok(r) if r.status >= 500 => run.record(&SUITE, &NARROW, &[&r.exchange], super::server_error(&r)),
                Ok(r) => {
                    // RFC 6749 §5.1: scope may be omitted when it is the one requested.
                    let granted = r.json().map(|b| field(&b, "scope")).unwrap_or_default();
                    run.record(
                        &SUITE,
                        &NARROW,
                        &[&r.exchange],
                        Outcome::expect(r.status == 200 && (granted.is_empty() || granted == "openid"), || {
                            if r.status == 200 { format!("scope \"{granted}\" was granted for scope=openid") } else { super::answered(&r) }
                        }),
                    );
                }
                Err(e) => run.record(&SUITE, &NARROW, &[&e], super::no_response(&e)),
            }
        }
        Err(why) => record_all(run, &SUITE, &[WIDEN, BOUND, NARROW], &[], &Outcome::blocked_by_step(GRANT_STEP, why)),
    }
}

fn id_token(body: &Value) -> Option<Jwt> {
    body["id_token"].as_str().and_then(|t| Jwt::decode(t).ok())
}

async fn revoke_with(ctx: &Context, reg: &Registration, form: &[(&str, &str)]) -> Result<Response, Exchange> {
    let endpoint = ctx.endpoint("revocation_endpoint").unwrap_or_default().to_string();
    ctx.http.send(authenticated(&ctx.http, &endpoint, reg, form)).await
}

/// RFC 9700 §4.14.2: a public client's refresh tokens must be sender-constrained or rotate, so a
/// leaked one is caught at its next use. A server that issues public clients no refresh token
/// at all meets the rule too.
async fn public_client_rotates(ctx: &Context, run: &mut Run) {
    let Some(public) = &ctx.target.public else {
        return run.record(&SUITE, &PUBLIC_ROTATES, &[], Outcome::NotRun("the target names no public client".into()));
    };
    let (body, exchange) = match grant(ctx, public, &ctx.target.scopes.refresh).await {
        Ok(ok) => ok,
        Err(why) => return run.record(&SUITE, &PUBLIC_ROTATES, &[], Outcome::blocked_by_step("a grant for the public client", why)),
    };
    let r1 = field(&body, "refresh_token");
    if r1.is_empty() {
        return run.record(&SUITE, &PUBLIC_ROTATES, &[&exchange], Outcome::PassNoted("the public client gets no refresh token".into()));
    }
    if body["token_type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("DPoP")) {
        return run.record(&SUITE, &PUBLIC_ROTATES, &[&exchange], Outcome::PassNoted("the tokens are DPoP-bound (RFC 9449)".into()));
    }
    let second = refresh(ctx, public, &r1, None).await;
    let outcome = match &second {
        Ok(r) if r.status >= 500 => super::server_error(r),
        Ok(r) if r.status != 200 => Outcome::blocked_by_step("a refresh by the public client", super::answered(r)),
        Ok(r) => {
            let r2 = r.json().map(|b| field(&b, "refresh_token")).unwrap_or_default();
            Outcome::expect(!r2.is_empty() && r2 != r1, || {
                if r2.is_empty() { "no new refresh token came back".into() } else { "the same refresh token came back".into() }
            })
        }
        Err(e) => super::no_response(e),
    };
    let responses = [&second];
    let mut ev = vec![&exchange];
    ev.extend(evidence(&responses));
    run.record(&SUITE, &PUBLIC_ROTATES, &ev, outcome);
}

async fn revoke(ctx: &Context, reg: Option<&Registration>, token_value: &str) -> Result<Response, Exchange> {
    let endpoint = ctx.endpoint("revocation_endpoint").unwrap_or_default().to_string();
    let request = match reg {
        Some(reg) => authenticated(&ctx.http, &endpoint, reg, &[("token", token_value)]),
        None => ctx.http.post(&endpoint).form(&[("token", token_value)]),
    };
    ctx.http.send(request).await
}

async fn revocation_rules(ctx: &Context, run: &mut Run, reg: &Registration) {
    other_client_cannot_revoke(ctx, run, reg).await;
    revoked_refresh_token_fails(ctx, run, reg, &REVOKE_REFRESH, None).await;
    revoked_refresh_token_fails(ctx, run, reg, &WRONG_HINT, Some("access_token")).await;
    revoked_access_token_fails(ctx, run, reg).await;
    match revoke(ctx, Some(reg), "oidc-harness-unknown-token").await {
        Ok(r) => run.record(&SUITE, &UNKNOWN, &[&r.exchange], Outcome::expect(r.status == 200, || super::answered(&r))),
        Err(e) => run.record(&SUITE, &UNKNOWN, &[&e], super::no_response(&e)),
    }
    // No Authorization header is sent, so RFC 6749 §5.2 allows 400 as well as 401.
    let unauthenticated = revoke(ctx, None, "oidc-harness-unknown-token").await;
    expect_error(run, &SUITE, &UNAUTHENTICATED, &unauthenticated, super::invalid_client_statuses(false), &["invalid_client"]);
}

/// Exchanges of several optional responses, for evidence.
fn evidence<'a>(responses: &'a [&'a Result<Response, Exchange>]) -> Vec<&'a Exchange> {
    responses
        .iter()
        .map(|r| match r {
            Ok(r) => &r.exchange,
            Err(e) => e,
        })
        .collect()
}

async fn other_client_cannot_revoke(ctx: &Context, run: &mut Run, reg: &Registration) {
    let Some(other) = &ctx.target.other_confidential else {
        return run.record(&SUITE, &OTHER_CLIENT, &[], Outcome::NotRun("the target names no second confidential client".into()));
    };
    let (token_value, mut exchanges) = match working_refresh_token(ctx, reg).await {
        Ok(ok) => ok,
        Err(outcome) => return run.record(&SUITE, &OTHER_CLIENT, &[], outcome),
    };
    let foreign = revoke(ctx, Some(other), &token_value).await;
    // The ownership rule is reached only by a request that authenticated: a refused client
    // (invalid_client), a 5xx or no answer says nothing about it.
    let reached = match &foreign {
        Ok(r) if r.status >= 500 => Err(super::server_error(r)),
        Ok(r) if super::error_code(r).as_deref() == Some("invalid_client") || r.status == 401 => Err(Outcome::blocked_by_step(
            "the second client's revocation request",
            format!("it did not authenticate: {}", super::answered(r)),
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(super::no_response(e)),
    };
    let still = refresh(ctx, reg, &token_value, None).await;
    exchanges.extend(evidence(&[&foreign, &still]).into_iter().cloned());
    let outcome = match (reached, &still) {
        (Err(outcome), _) => outcome,
        (Ok(()), Ok(r)) if r.status == 200 => {
            Outcome::PassNoted(format!("the other client's request got {}; the token still refreshes", r.status))
        }
        (Ok(()), Ok(r)) if r.status >= 500 => super::server_error(r),
        (Ok(()), Ok(r)) => {
            Outcome::Fail(format!("another client's revocation request revoked the token: the refresh then got {}", super::answered(r)))
        }
        (Ok(()), Err(e)) => super::no_response(e),
    };
    run.record(&SUITE, &OTHER_CLIENT, &exchanges.iter().collect::<Vec<_>>(), outcome);
}

/// Revokes a refresh token shown to work (with `hint` as its token_type_hint; RFC 7009 §2.1: a
/// wrong hint only widens the server's search), then it must no longer refresh.
async fn revoked_refresh_token_fails(ctx: &Context, run: &mut Run, reg: &Registration, check: &Check, hint: Option<&str>) {
    let (token_value, mut exchanges) = match working_refresh_token(ctx, reg).await {
        Ok(ok) => ok,
        Err(outcome) => return run.record(&SUITE, check, &[], outcome),
    };
    let revoked = match hint {
        Some(hint) => revoke_with(ctx, reg, &[("token", &token_value), ("token_type_hint", hint)]).await,
        None => revoke(ctx, Some(reg), &token_value).await,
    };
    let after = refresh(ctx, reg, &token_value, None).await;
    exchanges.extend(evidence(&[&revoked, &after]).into_iter().cloned());
    let outcome = judge_revocation(&revoked, &after, |r| {
        (r.status == 400 && super::error_code(r).as_deref() == Some("invalid_grant"))
            .then_some("the refresh was refused with invalid_grant")
    });
    run.record(&SUITE, check, &exchanges.iter().collect::<Vec<_>>(), outcome);
}

/// A revocation's verdict: the revocation answered 200 (RFC 7009 §2.2), then the token was
/// refused (`refused` says how, or `None` when it was not). A 5xx or no response is no evidence.
fn judge_revocation(
    revoked: &Result<Response, Exchange>,
    after: &Result<Response, Exchange>,
    refused: impl Fn(&Response) -> Option<&'static str>,
) -> Outcome {
    match revoked {
        Ok(r) if r.status >= 500 => return super::server_error(r),
        Ok(r) if r.status != 200 => {
            return Outcome::Fail(format!("the revocation request got {}; RFC 7009 §2.2 wants 200", super::answered(r)));
        }
        Ok(_) => {}
        Err(e) => return super::no_response(e),
    }
    match after {
        Ok(r) if r.status >= 500 => super::server_error(r),
        Ok(r) => match refused(r) {
            Some(how) => Outcome::PassNoted(how.to_string()),
            None => Outcome::Fail(format!("after revocation the token still works: {}", super::answered(r))),
        },
        Err(e) => super::no_response(e),
    }
}

async fn revoked_access_token_fails(ctx: &Context, run: &mut Run, reg: &Registration) {
    let Some(userinfo) = ctx.endpoint("userinfo_endpoint").map(str::to_string) else {
        let why = "discovery gave no userinfo_endpoint to test the token with";
        return run.record(&SUITE, &REVOKE_ACCESS, &[], Outcome::blocked_by(&super::discovery::USERINFO, why));
    };
    let (body, _) = match grant(ctx, reg, "openid").await {
        Ok(ok) => ok,
        Err(why) => return run.record(&SUITE, &REVOKE_ACCESS, &[], Outcome::blocked_by_step(GRANT_STEP, why)),
    };
    let access = field(&body, "access_token");
    // The positive control: the token opens userinfo before it is revoked.
    let before = ctx.http.send(ctx.http.get(&userinfo).bearer_auth(&access)).await;
    if !before.as_ref().is_ok_and(|r| r.status == 200) {
        let responses = [&before];
        let ev = evidence(&responses);
        let why = "the access token did not open userinfo before it was revoked";
        return run.record(&SUITE, &REVOKE_ACCESS, &ev, Outcome::blocked_by_step("positive control: userinfo with the token", why));
    }
    let revoked = revoke(ctx, Some(reg), &access).await;
    let after = ctx.http.send(ctx.http.get(&userinfo).bearer_auth(&access)).await;
    let responses = [&before, &revoked, &after];
    let ev = evidence(&responses);
    run.record(&SUITE, &REVOKE_ACCESS, &ev, judge_revocation(&revoked, &after, |r| (r.status == 401).then_some("userinfo answered 401")));
}
