//! The authorization code flow (RFC 6749 §4.1, OIDC Core §3.1): a full login, the token
//! response, ID token validation step by step (OIDC Core §3.1.3.7), the access token
//! (RFC 9068 where the profile says JWT), and the code's single use and bindings.

use super::flow::{authorize, code_authorization, pkce_pair, random, token};
use super::{Context, strings};
use crate::engine::jwt::{Jwt, half_hash};
use crate::engine::login::Delivery;
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
use crate::profile::AccessTokenFormat;
use reports::Exchange;
use serde_json::Value;
use std::borrow::Cow;

const COMPLETES: Check = required("code.completes", "Login and consent lead back to the client with a code", "OIDC Core §3.1.2.5");
const STATE: Check = required("code.state-echoed", "state comes back unchanged", "RFC 6749 §4.1.2");
const ISS: Check = required("code.iss-parameter", "The response carries iss equal to the issuer", "RFC 9207 §2");
const QUERY: Check =
    required("code.query-delivery", "The code is delivered in the query by default", "RFC 6749 §4.1.2, OAuth Multiple Response Types §2.1");
const REDIRECT_STATUS: Check =
    required("code.redirect-not-307", "The browser is sent to the client with 302 or 303, never 307", "RFC 9700 §4.12 (307 Redirect)");
const TOKEN_OK: Check = required("code.token-200", "The code is redeemed with 200 and a JSON object", "RFC 6749 §5.1");
const NO_STORE: Check = required("code.token-no-store", "The token response has Cache-Control: no-store", "RFC 6749 §5.1");
const BEARER: Check = required("code.token-type-bearer", "token_type is Bearer", "RFC 6749 §5.1, RFC 6750 §4");
const EXPIRES_IN: Check = recommended("code.expires-in", "expires_in is given", "RFC 6749 §5.1");
const ID_TOKEN: Check = required("id-token.present", "An ID token is returned for the openid scope", "OIDC Core §3.1.3.3");
const SIGNATURE: Check =
    required("id-token.signature", "The ID token signature verifies with the JWKS key named by kid", "OIDC Core §3.1.3.7 (6), §10.1");
const ALG: Check = required("id-token.alg", "The ID token alg is one discovery lists, never none", "OIDC Core §3.1.3.7 (7)");
const ISS_CLAIM: Check = required("id-token.iss", "iss is exactly the issuer", "OIDC Core §3.1.3.7 (2)");
const AUD: Check = required("id-token.aud", "aud contains the client_id", "OIDC Core §3.1.3.7 (3)");
const AZP: Check = required("id-token.azp", "azp, when present or aud has several values, is the client_id", "OIDC Core §3.1.3.7 (4-5)");
const EXP: Check = required("id-token.exp", "exp is a number after iat and in the future", "OIDC Core §3.1.3.7 (9)");
const IAT: Check = required("id-token.iat", "iat is a number not in the future", "OIDC Core §3.1.3.7 (10)");
const NONCE: Check = required("id-token.nonce", "nonce is the value sent", "OIDC Core §3.1.3.7 (11)");
const AUTH_TIME: Check = required("id-token.auth-time", "auth_time is present when max_age was sent", "OIDC Core §3.1.2.1, §3.1.3.7 (13)");
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
        NO_STORE,
        BEARER,
        EXPIRES_IN,
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
        SUB_STABLE,
    ]),
};

/// Skew allowed between our clock and the server's (OIDC Core §3.1.3.7 (10) leaves it open).
const SKEW_SECS: u64 = 300;

/// A step failed: every check from `from` on fails with the reason.
fn skip_rest(run: &mut Run, from: &Check, why: &str, evidence: &[&Exchange]) {
    let start = SUITE.checks.iter().position(|c| c.id == from.id).unwrap_or(0);
    super::record_all(run, &SUITE, &SUITE.checks[start..], evidence, &Outcome::Fail(why.to_string()));
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub async fn run(ctx: &mut Context, run: &mut Run) {
    let Some(reg) = ctx.target.confidential.clone() else {
        return super::record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::Skip("the target names no confidential client".into()));
    };
    let browser = ctx.http.browser();
    let (state, nonce) = (random("s", 24), random("n", 24));
    let (verifier, challenge) = pkce_pair();
    let params = [
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("max_age", "3600"),
    ];
    let drive = match authorize(ctx, &browser, &reg, &params).await {
        Ok(d) => d,
        Err(why) => return skip_rest(run, &COMPLETES, &why, &[]),
    };
    let flow_ev: Vec<&Exchange> = drive.exchanges.iter().collect();
    let arrival = match &drive.result {
        Ok(a) if a.params.contains_key("code") => a.clone(),
        Ok(a) => return skip_rest(run, &COMPLETES, &format!("no code in the response: {:?}", a.params.get("error")), &flow_ev),
        Err(why) => return skip_rest(run, &COMPLETES, why, &flow_ev),
    };
    let last = &flow_ev[flow_ev.len().saturating_sub(1)..];
    run.record(&SUITE, &COMPLETES, last, Outcome::Pass);
    let got = |name: &str| arrival.params.get(name).map(String::as_str);
    run.record(
        &SUITE,
        &STATE,
        last,
        Outcome::expect(got("state") == Some(state.as_str()), || format!("state came back as {:?}", got("state"))),
    );
    run.record(
        &SUITE,
        &ISS,
        last,
        if ctx.profile.flows.authorization_response_iss {
            Outcome::expect(got("iss") == Some(ctx.issuer.as_str()), || format!("iss is {:?}", got("iss")))
        } else {
            Outcome::Skip("the profile does not claim RFC 9207".into())
        },
    );
    run.record(
        &SUITE,
        &QUERY,
        last,
        Outcome::expect(arrival.delivery == Delivery::Query, || format!("delivered by {:?}", arrival.delivery)),
    );
    // 307 would make the browser re-POST the login form, credentials included, to the client.
    run.record(
        &SUITE,
        &REDIRECT_STATUS,
        last,
        Outcome::expect(matches!(arrival.status, 302 | 303), || format!("status {}", arrival.status)),
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
        Err(exchange) => return skip_rest(run, &TOKEN_OK, &format!("no response: {:?}", exchange.error), &[&exchange]),
    };
    let ev = [&response.exchange];
    let body = response.json().filter(|_| response.status == 200).unwrap_or(Value::Null);
    if !body.is_object() {
        return skip_rest(
            run,
            &TOKEN_OK,
            &format!("status {}: {}", response.status, response.exchange.response_body.clone().unwrap_or_default()),
            &ev,
        );
    }
    run.record(&SUITE, &TOKEN_OK, &ev, Outcome::Pass);
    let cache = response.header("cache-control").unwrap_or("");
    run.record(
        &SUITE,
        &NO_STORE,
        &ev,
        Outcome::expect(cache.to_ascii_lowercase().contains("no-store"), || format!("Cache-Control: {cache:?}")),
    );
    let token_type = body["token_type"].as_str().unwrap_or("");
    run.record(&SUITE, &BEARER, &ev, Outcome::expect(token_type.eq_ignore_ascii_case("bearer"), || format!("token_type {token_type:?}")));
    run.record(&SUITE, &EXPIRES_IN, &ev, Outcome::expect(body["expires_in"].is_u64(), || "no numeric expires_in".into()));
    let access_token = body["access_token"].as_str().unwrap_or("").to_string();

    let id_token = body["id_token"].as_str().map(Jwt::decode);
    let jwt = match id_token {
        Some(Ok(jwt)) => {
            run.record(&SUITE, &ID_TOKEN, &ev, Outcome::Pass);
            jwt
        }
        Some(Err(why)) => return skip_rest(run, &ID_TOKEN, &format!("the id_token is malformed: {why}"), &ev),
        None => return skip_rest(run, &ID_TOKEN, "no id_token in the token response", &ev),
    };
    check_id_token(ctx, run, &ev, &jwt, &reg.client_id, &nonce, &access_token);
    check_access_token(ctx, run, &ev, &access_token, &reg.client_id);
    let first_sub = jwt.claim_str("sub").map(str::to_string);

    // Single use: the same redemption again; a replay should also revoke what was issued.
    let again = token(ctx, &reg, &redeem).await;
    match &again {
        Ok(r) => {
            let error = r.json().and_then(|j| j["error"].as_str().map(str::to_string));
            run.record(
                &SUITE,
                &SINGLE_USE,
                &[&r.exchange],
                Outcome::expect(r.status == 400 && error.as_deref() == Some("invalid_grant"), || {
                    format!("second redemption: status {}, error {error:?}", r.status)
                }),
            );
        }
        Err(e) => run.record(&SUITE, &SINGLE_USE, &[e], Outcome::Fail("no response to the second redemption".into())),
    }
    replay_revokes(ctx, run, &access_token).await;

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
                    let outcome = Outcome::expect(sub.is_some() && sub == first_sub, || format!("sub {first_sub:?} then {sub:?}"));
                    (vec![r.exchange], outcome)
                }
                Err(e) => (vec![e], Outcome::Fail("no response to the second redemption".into())),
            }
        }
        Err(why) => (vec![], Outcome::Fail(why)),
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
        Err(why) => run.record(&SUITE, &REDIRECT_BOUND, &[], Outcome::Fail(why)),
    }
    match &ctx.target.other_confidential {
        None => run.record(&SUITE, &CLIENT_BOUND, &[], Outcome::Skip("the target names no second confidential client".into())),
        Some(other) => match fresh_code(ctx, &browser, &reg).await {
            Ok((code, verifier)) => {
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect_uri.as_str()),
                    ("code_verifier", verifier.as_str()),
                ];
                expect_invalid_grant(run, &CLIENT_BOUND, token(ctx, other, &form).await);
            }
            Err(why) => run.record(&SUITE, &CLIENT_BOUND, &[], Outcome::Fail(why)),
        },
    }
}

fn check_id_token(ctx: &Context, run: &mut Run, ev: &[&Exchange], jwt: &Jwt, client_id: &str, nonce: &str, access_token: &str) {
    let claims = &jwt.claims;
    let signature = match &ctx.jwks {
        Some(jwks) => jwt.verify(jwks).map_or_else(Outcome::Fail, |()| Outcome::Pass),
        None => Outcome::Fail("no JWKS to verify with".into()),
    };
    run.record(&SUITE, &SIGNATURE, ev, signature);
    let listed = strings(ctx.metadata.as_ref(), "id_token_signing_alg_values_supported");
    run.record(
        &SUITE,
        &ALG,
        ev,
        Outcome::expect(jwt.alg() != "none" && listed.contains(&jwt.alg()), || format!("alg {} (discovery lists {listed:?})", jwt.alg())),
    );
    run.record(
        &SUITE,
        &ISS_CLAIM,
        ev,
        Outcome::expect(jwt.claim_str("iss") == Some(ctx.issuer.as_str()), || format!("iss {}", claims["iss"])),
    );
    let aud: Vec<&str> = match &claims["aud"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    run.record(&SUITE, &AUD, ev, Outcome::expect(aud.contains(&client_id), || format!("aud {}", claims["aud"])));
    let azp = jwt.claim_str("azp");
    run.record(
        &SUITE,
        &AZP,
        ev,
        Outcome::expect(azp.map_or(aud.len() <= 1, |a| a == client_id), || format!("azp {azp:?} with aud {aud:?}")),
    );
    let now = now();
    // After its own iat (skew cannot excuse a token issued already expired), and in the future
    // within the allowed clock skew.
    let (exp, iat) = (claims["exp"].as_u64(), claims["iat"].as_u64());
    let exp_ok = exp.is_some_and(|e| e + SKEW_SECS > now && iat.is_none_or(|i| e > i));
    run.record(&SUITE, &EXP, ev, Outcome::expect(exp_ok, || format!("exp {} with iat {}", claims["exp"], claims["iat"])));
    run.record(
        &SUITE,
        &IAT,
        ev,
        Outcome::expect(claims["iat"].as_u64().is_some_and(|i| i <= now + SKEW_SECS), || format!("iat {}", claims["iat"])),
    );
    run.record(&SUITE, &NONCE, ev, Outcome::expect(jwt.claim_str("nonce") == Some(nonce), || format!("nonce {}", claims["nonce"])));
    run.record(
        &SUITE,
        &AUTH_TIME,
        ev,
        Outcome::expect(claims["auth_time"].as_u64().is_some_and(|t| t <= now + SKEW_SECS), || {
            format!("auth_time {}", claims["auth_time"])
        }),
    );
    let sub = jwt.claim_str("sub").unwrap_or("");
    run.record(
        &SUITE,
        &SUB,
        ev,
        Outcome::expect(!sub.is_empty() && sub.len() <= 255 && sub.is_ascii(), || format!("sub {:?}", claims["sub"])),
    );
    let at_hash = match jwt.claim_str("at_hash") {
        None => Outcome::Pass,
        Some(h) => Outcome::expect(half_hash(jwt.alg(), access_token).as_deref() == Some(h), || {
            format!("at_hash {h} does not match the access token")
        }),
    };
    run.record(&SUITE, &AT_HASH, ev, at_hash);
}

fn check_access_token(ctx: &Context, run: &mut Run, ev: &[&Exchange], access_token: &str, client_id: &str) {
    if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt {
        for check in [&AT_TYP, &AT_SIGNATURE, &AT_CLAIMS, &AT_ISS] {
            run.record(&SUITE, check, ev, Outcome::Skip("the profile says access tokens are opaque".into()));
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
    let typ = jwt.header["typ"].as_str().unwrap_or("");
    run.record(
        &SUITE,
        &AT_TYP,
        ev,
        Outcome::expect(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"), || format!("typ {typ:?}")),
    );
    let signature = ctx.jwks.as_ref().map_or(Err("no JWKS".to_string()), |jwks| jwt.verify(jwks));
    run.record(&SUITE, &AT_SIGNATURE, ev, signature.map_or_else(Outcome::Fail, |()| Outcome::Pass));
    let missing: Vec<&str> =
        ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"].into_iter().filter(|c| jwt.claims.get(*c).is_none()).collect();
    run.record(&SUITE, &AT_CLAIMS, ev, Outcome::expect(missing.is_empty(), || format!("missing {missing:?}")));
    run.record(
        &SUITE,
        &AT_ISS,
        ev,
        Outcome::expect(jwt.claim_str("iss") == Some(ctx.issuer.as_str()) && jwt.claim_str("client_id") == Some(client_id), || {
            format!("iss {}, client_id {}", jwt.claims["iss"], jwt.claims["client_id"])
        }),
    );
}

/// After a replay, the first access token should no longer open userinfo.
async fn replay_revokes(ctx: &Context, run: &mut Run, access_token: &str) {
    let Some(userinfo) = ctx.endpoint("userinfo_endpoint") else {
        run.record(&SUITE, &REPLAY_REVOKES, &[], Outcome::Skip("discovery gave no userinfo_endpoint to test the token with".into()));
        return;
    };
    match ctx.http.send(ctx.http.get(userinfo).bearer_auth(access_token)).await {
        Ok(r) => run.record(
            &SUITE,
            &REPLAY_REVOKES,
            &[&r.exchange],
            Outcome::expect(r.status == 401, || format!("userinfo still answers {}", r.status)),
        ),
        Err(e) => run.record(&SUITE, &REPLAY_REVOKES, &[&e], Outcome::Fail("no response from userinfo".into())),
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
    let code =
        params.get("code").cloned().ok_or_else(|| format!("no code in a further authorization response: {:?}", params.get("error")))?;
    Ok((code, auth.verifier))
}

fn expect_invalid_grant(run: &mut Run, check: &Check, response: Result<crate::engine::http::Response, Exchange>) {
    super::expect_error(run, &SUITE, check, &response, 400, "invalid_grant");
}
