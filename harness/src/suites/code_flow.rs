//! The authorization code flow (RFC 6749 §4.1, OIDC Core §3.1): a full login, the token
//! response, ID token validation step by step (OIDC Core §3.1.3.7), the access token
//! (RFC 9068 where the profile says JWT), and the code's single use and bindings.

use super::flow::{authorize, code_authorization, pkce_pair, random, token};
use super::{Context, strings};
use crate::engine::access_token;
use crate::engine::id_token::{self, Rule};
use crate::engine::jwt::Jwt;
use crate::engine::login::Delivery;
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
use crate::profile::AccessTokenFormat;
use crate::target::{AuthMethod, Registration};
use reports::Exchange;
use serde_json::Value;
use std::borrow::Cow;

const COMPLETES: Check = required("code.completes", "Login and consent lead back to the client with a code", "OIDC Core §3.1.2.5");
const STATE: Check = required("code.state-echoed", "state comes back unchanged", "RFC 6749 §4.1.2");
const ISS: Check = required("code.iss-parameter", "The response carries iss equal to the issuer", "RFC 9207 §2");
const QUERY: Check =
    required("code.query-delivery", "The code is delivered in the query by default", "RFC 6749 §4.1.2, OAuth Multiple Response Types §2.1");
const REDIRECT_STATUS: Check = required(
    "code.redirect-not-307",
    "A redirect answering the login (or consent) POST is never 307 or 308, which would re-post the credentials",
    "RFC 9700 §4.12",
);
const TOKEN_OK: Check = required("code.token-200", "The code is redeemed with 200 and a JSON object", "RFC 6749 §5.1");
const NO_STORE: Check = required("code.token-no-store", "The token response has Cache-Control: no-store", "RFC 6749 §5.1");
const BEARER: Check = required("code.token-type-bearer", "token_type is Bearer", "RFC 6749 §5.1, RFC 6750 §4");
const EXPIRES_IN: Check = recommended("code.expires-in", "expires_in is given", "RFC 6749 §5.1");
const EXPIRES_IN_NUMBER: Check =
    required("code.expires-in-number", "expires_in, when given, is a JSON number of seconds", "RFC 6749 §5.1, Appendix A.14");
const CONTENT_TYPE: Check = required("code.token-content-type", "The token response is served as application/json", "RFC 6749 §5.1");
const NEEDS_AUTHENTICATION: Check = required(
    "code.confidential-client-authenticates",
    "A confidential client's code redeemed with client_id and PKCE but no secret gets invalid_client",
    "RFC 6749 §3.2.1, §4.1.3",
);
const ID_TOKEN: Check = required("id-token.present", "An ID token is returned for the openid scope", "OIDC Core §3.1.3.3");
const SIGNATURE: Check =
    required("id-token.signature", "The ID token signature verifies with the JWKS key named by kid", "OIDC Core §3.1.3.7 (6), §10.1");
const ALG: Check = required("id-token.alg", "The ID token alg is one discovery lists, never none", "OIDC Core §3.1.3.7 (7)");
const ISS_CLAIM: Check = required("id-token.iss", "iss is exactly the issuer", "OIDC Core §3.1.3.7 (2)");
const AUD: Check = required("id-token.aud", "aud contains the client_id", "OIDC Core §3.1.3.7 (3)");
const AZP: Check = required("id-token.azp", "azp, when present, is the client_id", "OIDC Core §2, §3.1.3.7 (4-5)");
const EXP: Check = required("id-token.exp", "exp is a number after iat and in the future", "OIDC Core §3.1.3.7 (9)");
const IAT: Check = required("id-token.iat", "iat is a number not in the future", "OIDC Core §3.1.3.7 (10)");
const NONCE: Check = required("id-token.nonce", "nonce is the value sent", "OIDC Core §3.1.3.7 (11)");
const AUTH_TIME: Check =
    required("id-token.auth-time", "auth_time is present and within max_age when max_age was sent", "OIDC Core §3.1.2.1, §3.1.3.7 (13)");
const SUB: Check = required("id-token.sub", "sub is present and at most 255 ASCII characters", "OIDC Core §2");
const AT_HASH: Check = recommended("id-token.at-hash", "at_hash, when present, matches the access token", "OIDC Core §3.1.3.8");
const AT_TYP: Check = required("access-token.typ", "The access token is a JWT with typ at+jwt", "RFC 9068 §2.1");
const AT_SIGNATURE: Check = required("access-token.signature", "The access token signature verifies with the JWKS", "RFC 9068 §4");
const AT_CLAIMS: Check =
    required("access-token.claims", "The access token has iss, exp, aud, sub, client_id, iat and jti", "RFC 9068 §2.2");
const AT_ISS: Check = required("access-token.iss", "The access token's iss is the issuer and client_id the client", "RFC 9068 §2.2, §4");
const SINGLE_USE: Check = required("code.single-use", "A second redemption of the code fails with invalid_grant", "RFC 6749 §4.1.2, §5.2");
const REPLAY_REVOKES: Check = recommended("code.replay-revokes", "A replayed code revokes the tokens issued from it", "RFC 6749 §4.1.2");
const REDIRECT_BOUND: Check =
    required("code.bound-to-redirect-uri", "A code redeemed with another redirect_uri fails with invalid_grant", "RFC 6749 §4.1.3");
const CLIENT_BOUND: Check =
    required("code.bound-to-client", "A code redeemed by another client fails with invalid_grant", "RFC 6749 §4.1.3");
const SUB_STABLE: Check = required("id-token.sub-stable", "A second authorization of the same user gives the same sub", "OIDC Core §2");

/// The standard ID token checks: blocked together when there is no ID token to judge.
const ID_TOKEN_RULES: [Check; 11] = [SIGNATURE, ALG, ISS_CLAIM, AUD, AZP, EXP, IAT, NONCE, AUTH_TIME, SUB, AT_HASH];

pub const NAME: &str = "code-flow";

pub const SUITE: Suite = Suite {
    name: Cow::Borrowed(NAME),
    checks: Cow::Borrowed(&[
        COMPLETES,
        STATE,
        ISS,
        QUERY,
        REDIRECT_STATUS,
        TOKEN_OK,
        CONTENT_TYPE,
        NO_STORE,
        BEARER,
        EXPIRES_IN,
        EXPIRES_IN_NUMBER,
        ID_TOKEN,
        SIGNATURE,
        ALG,
        ISS_CLAIM,
        AUD,
        AZP,
        EXP,
        IAT,
        NONCE,
        AUTH_TIME,
        SUB,
        AT_HASH,
        AT_TYP,
        AT_SIGNATURE,
        AT_CLAIMS,
        AT_ISS,
        SINGLE_USE,
        REPLAY_REVOKES,
        REDIRECT_BOUND,
        CLIENT_BOUND,
        NEEDS_AUTHENTICATION,
        SUB_STABLE,
    ]),
};

/// The max_age the first authorization sends, so that auth_time is required (OIDC Core §3.1.2.1).
const MAX_AGE: u64 = 3600;

/// A step failed: `from` fails with the reason, once, and every later check is blocked by it.
fn skip_rest(run: &mut Run, from: &Check, why: &str, evidence: &[&Exchange]) {
    let start = SUITE.checks.iter().position(|c| c.id == from.id).unwrap_or(0);
    run.record(&SUITE, from, evidence, Outcome::Fail(why.to_string()));
    super::record_all(run, &SUITE, &SUITE.checks[start + 1..], evidence, &Outcome::blocked_by(from, why));
}

pub async fn run(ctx: &mut Context, run: &mut Run) {
    if super::blocked_without(ctx, run, &SUITE, &["authorization_endpoint", "token_endpoint"]) {
        return;
    }
    let Some(reg) = ctx.target.confidential.clone() else {
        return super::record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::NotRun("the target names no confidential client".into()));
    };
    if !ctx.profile.flows.authorization_response_iss {
        run.declare_not_applicable(&SUITE, &ISS, "the profile does not claim RFC 9207");
    }
    if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt {
        for check in [&AT_TYP, &AT_SIGNATURE, &AT_CLAIMS, &AT_ISS] {
            run.declare_not_applicable(&SUITE, check, "the profile says access tokens are opaque");
        }
    }
    let browser = ctx.http.browser();
    let (state, nonce) = (random("s", 24), random("n", 24));
    let (verifier, challenge) = pkce_pair();
    let max_age = MAX_AGE.to_string();
    let params = [
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("max_age", &max_age),
    ];
    let drive = match authorize(ctx, &browser, &reg, &params).await {
        Ok(d) => d,
        Err(why) => return skip_rest(run, &COMPLETES, &why, &[]),
    };
    let flow_ev: Vec<&Exchange> = drive.exchanges.iter().collect();
    let arrival = match &drive.result {
        Ok(a) if a.params.contains_key("code") => a.clone(),
        Ok(a) => {
            let why = match a.params.get("error") {
                Some(error) => format!("the client received error={error} instead of a code"),
                None => "the client received neither a code nor an error".to_string(),
            };
            return skip_rest(run, &COMPLETES, &why, &flow_ev);
        }
        Err(why) => return skip_rest(run, &COMPLETES, why, &flow_ev),
    };
    let last = &flow_ev[flow_ev.len().saturating_sub(1)..];
    run.record(&SUITE, &COMPLETES, last, Outcome::Pass);
    let got = |name: &str| arrival.params.get(name).map(String::as_str);
    run.record(
        &SUITE,
        &STATE,
        last,
        Outcome::expect(got("state") == Some(state.as_str()), || match got("state") {
            Some(other) => format!("state came back as \"{other}\""),
            None => "state did not come back".to_string(),
        }),
    );
    run.record(
        &SUITE,
        &ISS,
        last,
        if ctx.profile.flows.authorization_response_iss {
            Outcome::expect(got("iss") == Some(ctx.issuer.as_str()), || match got("iss") {
                Some(other) => format!("iss is \"{other}\", the issuer is \"{}\"", ctx.issuer),
                None => "the response has no iss parameter".to_string(),
            })
        } else {
            Outcome::NotApplicable("the profile does not claim RFC 9207".into())
        },
    );
    run.record(
        &SUITE,
        &QUERY,
        last,
        Outcome::expect(arrival.delivery == Delivery::Query, || format!("delivered in {}", arrival.delivery.name())),
    );
    // 307 and 308 keep the method and body: the browser would re-POST the login form,
    // credentials included, to wherever it is sent. Redirects answering a GET may use them.
    let posts: Vec<&Exchange> =
        flow_ev.iter().copied().filter(|e| e.method == "POST" && e.status.is_some_and(|s| (300..400).contains(&s))).collect();
    let replaying: Vec<String> =
        posts.iter().filter(|e| matches!(e.status, Some(307 | 308))).map(|e| format!("{} to {}", e.status.unwrap_or(0), e.url)).collect();
    run.record(
        &SUITE,
        &REDIRECT_STATUS,
        &posts,
        if posts.is_empty() {
            Outcome::NotApplicable("no login or consent form was posted (an existing session)".into())
        } else {
            Outcome::expect(replaying.is_empty(), || format!("a POST was answered {}", replaying.join(", ")))
        },
    );

    let code = arrival.params["code"].clone();
    let redirect_uri = reg.redirect_uri.clone().unwrap_or_default();
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let response = match token(ctx, &reg, &redeem).await {
        Ok(r) => r,
        Err(exchange) => {
            let why = format!("no response: {}", exchange.error.clone().unwrap_or_default());
            return skip_rest(run, &TOKEN_OK, &why, &[&exchange]);
        }
    };
    let ev = [&response.exchange];
    let body = response.json().filter(|_| response.status == 200).unwrap_or(Value::Null);
    if !body.is_object() {
        return skip_rest(run, &TOKEN_OK, &super::answered(&response), &ev);
    }
    run.record(&SUITE, &TOKEN_OK, &ev, Outcome::Pass);
    run.record(&SUITE, &CONTENT_TYPE, &ev, super::json_content_type(&response));
    let cache = response.header("cache-control").unwrap_or("");
    run.record(
        &SUITE,
        &NO_STORE,
        &ev,
        Outcome::expect(cache.to_ascii_lowercase().contains("no-store"), || format!("Cache-Control is \"{cache}\"")),
    );
    let token_type = body["token_type"].as_str().unwrap_or("");
    run.record(&SUITE, &BEARER, &ev, Outcome::expect(token_type.eq_ignore_ascii_case("bearer"), || format!("token_type \"{token_type}\"")));
    run.record(&SUITE, &EXPIRES_IN, &ev, Outcome::expect(body.get("expires_in").is_some(), || "no expires_in".into()));
    run.record(&SUITE, &EXPIRES_IN_NUMBER, &ev, super::expires_in_number(&body));
    let access_token = body["access_token"].as_str().unwrap_or("").to_string();

    // Without an ID token only its own rules are blocked; the access token and the code's
    // rules are judged all the same.
    let jwt = match body["id_token"].as_str().map(Jwt::decode) {
        Some(Ok(jwt)) => {
            run.record(&SUITE, &ID_TOKEN, &ev, Outcome::Pass);
            Some(jwt)
        }
        problem => {
            let why = match problem {
                Some(Err(why)) => format!("the id_token is malformed: {why}"),
                _ => "no id_token in the token response".to_string(),
            };
            run.record(&SUITE, &ID_TOKEN, &ev, Outcome::Fail(why.clone()));
            super::record_all(run, &SUITE, &ID_TOKEN_RULES, &ev, &Outcome::blocked_by(&ID_TOKEN, why));
            None
        }
    };
    // A key the JWKS read at the start does not hold: fetch it again once (a rotation).
    let mut refetched: Vec<Exchange> = Vec::new();
    for token in [body["id_token"].as_str().unwrap_or(""), access_token.as_str()] {
        refetched.extend(ctx.jwks_for(token).await);
    }
    // The authorization request (it carried the nonce and max_age the claims are judged by),
    // the token response, and any JWKS refetch.
    let ev: Vec<&Exchange> = flow_ev.first().copied().into_iter().chain(ev.iter().copied()).chain(refetched.iter()).collect();
    if let Some(jwt) = &jwt {
        check_id_token(ctx, run, &ev, jwt, &reg.client_id, &nonce, &access_token);
    }
    check_access_token(ctx, run, &ev, &access_token, &reg.client_id);
    let first_sub = jwt.as_ref().and_then(|j| j.claim_str("sub")).map(str::to_string);

    // Single use: the same redemption again; a replay should also revoke what was issued. The
    // positive control of the latter: the access token opens userinfo before the replay.
    let control = userinfo_answer(ctx, &access_token).await;
    let again = token(ctx, &reg, &redeem).await;
    match &again {
        Ok(r) => {
            let error = super::error_code(r);
            run.record(
                &SUITE,
                &SINGLE_USE,
                &[&r.exchange],
                if r.status >= 500 {
                    super::server_error(r)
                } else {
                    Outcome::expect(r.status == 400 && error.as_deref() == Some("invalid_grant"), || {
                        format!("second redemption: {}; the rule wants 400 invalid_grant", super::answered(r))
                    })
                },
            );
        }
        Err(e) => run.record(&SUITE, &SINGLE_USE, &[e], super::no_response(e)),
    }
    replay_revokes(ctx, run, &access_token, control, again.is_ok()).await;

    // More codes from the same browser session, one per binding, so that no check depends on
    // whether a refused redemption burns the code.
    let sub_check = match fresh_code(ctx, &browser, &reg).await {
        Ok((code, verifier)) => {
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ];
            match token(ctx, &reg, &form).await {
                Ok(r) => {
                    let sub = r
                        .json()
                        .and_then(|b| b["id_token"].as_str().and_then(|t| Jwt::decode(t).ok()))
                        .and_then(|j| j.claim_str("sub").map(str::to_string));
                    let outcome = match (&first_sub, &sub) {
                        (Some(a), Some(b)) => Outcome::expect(a == b, || format!("sub \"{a}\" then \"{b}\"")),
                        (None, _) => Outcome::blocked_by(&SUB, "the first ID token has no sub"),
                        (Some(_), None) => Outcome::blocked_by_step(
                            FURTHER_STEP,
                            format!("the second redemption gave no ID token: {}", super::answered(&r)),
                        ),
                    };
                    (vec![r.exchange], outcome)
                }
                Err(e) => {
                    let outcome = super::no_response(&e);
                    (vec![e], outcome)
                }
            }
        }
        Err(why) => (vec![], Outcome::blocked_by_step(FURTHER_STEP, why)),
    };
    run.record(&SUITE, &SUB_STABLE, &sub_check.0.iter().collect::<Vec<_>>(), sub_check.1);
    match fresh_code(ctx, &browser, &reg).await {
        Ok((code, verifier)) => {
            let other_uri = format!("{redirect_uri}/other");
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", other_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ];
            expect_invalid_grant(run, &REDIRECT_BOUND, token(ctx, &reg, &form).await);
        }
        Err(why) => run.record(&SUITE, &REDIRECT_BOUND, &[], Outcome::blocked_by_step(FURTHER_STEP, why)),
    }
    // Positive control: the same redemption with the secret worked (code.token-200 above).
    match fresh_code(ctx, &browser, &reg).await {
        Ok((code, verifier)) => {
            let unauthenticated = Registration { auth_method: AuthMethod::None, secret: None, ..reg.clone() };
            let form = [
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ];
            let response = token(ctx, &unauthenticated, &form).await;
            super::expect_error(run, &SUITE, &NEEDS_AUTHENTICATION, &response, super::invalid_client_statuses(false), &["invalid_client"]);
        }
        Err(why) => run.record(&SUITE, &NEEDS_AUTHENTICATION, &[], Outcome::blocked_by_step(FURTHER_STEP, why)),
    }
    match &ctx.target.other_confidential {
        None => run.record(&SUITE, &CLIENT_BOUND, &[], Outcome::NotRun("the target names no second confidential client".into())),
        Some(other) => match fresh_code(ctx, &browser, &reg).await {
            Ok((code, verifier)) => {
                // The attack: another client redeems a stolen code with the redirect URI it was
                // issued for (with its own URI, the redirect binding alone would refuse it).
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect_uri.as_str()),
                    ("code_verifier", verifier.as_str()),
                ];
                expect_invalid_grant(run, &CLIENT_BOUND, token(ctx, other, &form).await);
            }
            Err(why) => run.record(&SUITE, &CLIENT_BOUND, &[], Outcome::blocked_by_step(FURTHER_STEP, why)),
        },
    }
}

/// The standard ID token checks, each recorded under this suite's check for its rule.
fn check_id_token(ctx: &Context, run: &mut Run, ev: &[&Exchange], jwt: &Jwt, client_id: &str, nonce: &str, access_token: &str) {
    let expected = id_token::Expected {
        issuer: &ctx.issuer,
        client_id,
        nonce: Some(nonce),
        max_age: Some(MAX_AGE),
        access_token: Some(access_token),
        at_hash_required: false,
        listed_algs: strings(ctx.metadata.as_ref(), "id_token_signing_alg_values_supported").iter().map(|s| s.to_string()).collect(),
        skew_secs: None,
    };
    for (rule, outcome) in id_token::check(jwt, &expected, ctx.jwks(), id_token::now()) {
        let check = match rule {
            Rule::Signature => &SIGNATURE,
            Rule::Alg => &ALG,
            Rule::Iss => &ISS_CLAIM,
            Rule::Aud => &AUD,
            Rule::Azp => &AZP,
            Rule::Exp => &EXP,
            Rule::Iat => &IAT,
            Rule::Nonce => &NONCE,
            Rule::AuthTime => &AUTH_TIME,
            Rule::Sub => &SUB,
            Rule::AtHash => &AT_HASH,
        };
        let outcome = match outcome {
            Outcome::Blocked(_) if rule == Rule::Signature => Outcome::blocked_by(&super::jwks::REACHABLE, "no JWKS to verify with"),
            other => other,
        };
        run.record(&SUITE, check, ev, outcome);
    }
}

fn check_access_token(ctx: &Context, run: &mut Run, ev: &[&Exchange], access_token: &str, client_id: &str) {
    if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt {
        for check in [&AT_TYP, &AT_SIGNATURE, &AT_CLAIMS, &AT_ISS] {
            run.record(&SUITE, check, ev, Outcome::NotApplicable("the profile says access tokens are opaque".into()));
        }
        return;
    }
    let jwt = match Jwt::decode(access_token) {
        Ok(j) => j,
        Err(why) => {
            for check in [&AT_TYP, &AT_SIGNATURE, &AT_CLAIMS, &AT_ISS] {
                run.record(&SUITE, check, ev, Outcome::Fail(format!("the access token is not a JWT: {why}")));
            }
            return;
        }
    };
    let results = access_token::check(&jwt, &ctx.issuer, client_id, ctx.jwks(), id_token::now());
    let of =
        |rules: &[access_token::Rule]| access_token::fold(&results.iter().filter(|(r, _)| rules.contains(r)).cloned().collect::<Vec<_>>());
    run.record(&SUITE, &AT_TYP, ev, of(&[access_token::Rule::Typ]));
    run.record(&SUITE, &AT_SIGNATURE, ev, of(&[access_token::Rule::Signature]));
    run.record(&SUITE, &AT_CLAIMS, ev, of(&[access_token::Rule::Claims]));
    run.record(&SUITE, &AT_ISS, ev, of(&[access_token::Rule::Iss, access_token::Rule::ClientId]));
}

/// Userinfo's answer to `access_token` (`None` when discovery names no userinfo endpoint).
async fn userinfo_answer(ctx: &Context, access_token: &str) -> Option<Result<crate::engine::http::Response, Exchange>> {
    let userinfo = ctx.endpoint("userinfo_endpoint")?;
    Some(ctx.http.send(ctx.http.get(userinfo).bearer_auth(access_token)).await)
}

/// After a replay, the first access token should no longer open userinfo: judged only when it
/// opened it before (`control`) and the replay got an answer.
async fn replay_revokes(
    ctx: &Context,
    run: &mut Run,
    access_token: &str,
    control: Option<Result<crate::engine::http::Response, Exchange>>,
    replay_answered: bool,
) {
    let control = match control {
        None => {
            let why = "discovery gave no userinfo_endpoint to test the token with";
            return run.record(&SUITE, &REPLAY_REVOKES, &[], Outcome::blocked_by(&super::discovery::USERINFO, why));
        }
        Some(Ok(r)) if r.status == 200 => r,
        Some(Ok(r)) => {
            let why = format!("the access token did not open userinfo even before the replay: status {}", r.status);
            return run.record(
                &SUITE,
                &REPLAY_REVOKES,
                &[&r.exchange],
                Outcome::blocked_by_step("positive control: userinfo with the token", why),
            );
        }
        Some(Err(e)) => return run.record(&SUITE, &REPLAY_REVOKES, &[&e], super::no_response(&e)),
    };
    if !replay_answered {
        let blocked = Outcome::blocked_by(&SINGLE_USE, "the replayed redemption got no response");
        return run.record(&SUITE, &REPLAY_REVOKES, &[&control.exchange], blocked);
    }
    match userinfo_answer(ctx, access_token).await {
        Some(Ok(r)) if r.status >= 500 => run.record(&SUITE, &REPLAY_REVOKES, &[&control.exchange, &r.exchange], super::server_error(&r)),
        Some(Ok(r)) => run.record(
            &SUITE,
            &REPLAY_REVOKES,
            &[&control.exchange, &r.exchange],
            Outcome::expect(r.status == 401, || format!("after the replay, userinfo still answers {} to the first access token", r.status)),
        ),
        Some(Err(e)) => run.record(&SUITE, &REPLAY_REVOKES, &[&e], super::no_response(&e)),
        None => {}
    }
}

/// Another code from the same browser session (single sign-on, or a new login if the target
/// asks for one), with its PKCE verifier.
async fn fresh_code(
    ctx: &Context,
    browser: &crate::engine::http::Recorder,
    reg: &crate::target::Registration,
) -> Result<(String, String), String> {
    let auth = code_authorization(ctx, browser, reg, "openid", &[]).await.map_err(|(why, _)| why)?;
    let params = &auth.done.arrival.params;
    let code = params.get("code").cloned().ok_or_else(|| match params.get("error") {
        Some(error) => format!("a further authorization gave the client error={error} instead of a code"),
        None => "a further authorization gave the client no code".to_string(),
    })?;
    Ok((code, auth.verifier))
}

fn expect_invalid_grant(run: &mut Run, check: &Check, response: Result<crate::engine::http::Response, Exchange>) {
    super::expect_error(run, &SUITE, check, &response, &[400], &["invalid_grant"]);
}

/// What the binding checks wait for: a further code from the same browser.
const FURTHER_STEP: &str = "a further authorization in the same browser";
