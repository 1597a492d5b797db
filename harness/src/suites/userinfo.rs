//! The UserInfo endpoint (OIDC Core §5.3) and bearer token use (RFC 6750).

use super::flow::code_tokens;
use super::{Context, record_all};
use crate::engine::jwt::Jwt;
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
use crate::profile::AccessTokenFormat;
use reports::Exchange;
use serde_json::Value;
use std::borrow::Cow;

const GET: Check =
    required("userinfo.get", "GET with the bearer token in the header returns the claims as JSON", "OIDC Core §5.3.1-5.3.2, RFC 6750 §2.1");
const SUB: Check = required("userinfo.sub", "userinfo's sub equals the ID token's sub", "OIDC Core §5.3.2");
const POST_BODY: Check =
    recommended("userinfo.post-body", "POST with access_token in a form body works", "OIDC Core §5.3.1, RFC 6750 §2.2");
const NO_TOKEN: Check = required("userinfo.no-token", "No token gets 401 with a Bearer challenge", "RFC 6750 §3");
const INVALID_TOKEN: Check =
    required("userinfo.invalid-token", "An invalid token gets 401 with error=\"invalid_token\" in the challenge", "RFC 6750 §3.1");
const ID_TOKEN_REFUSED: Check =
    recommended("userinfo.id-token-refused", "An ID token is not accepted as an access token", "RFC 9068 §4, OIDC Core §5.3");

pub const NAME: &str = "userinfo";

pub const SUITE: Suite =
    Suite { name: Cow::Borrowed(NAME), checks: Cow::Borrowed(&[GET, SUB, POST_BODY, NO_TOKEN, INVALID_TOKEN, ID_TOKEN_REFUSED]) };

pub async fn run(ctx: &mut Context, run: &mut Run) {
    let (Some(endpoint), Some(reg)) = (ctx.endpoint("userinfo_endpoint").map(str::to_string), ctx.target.confidential.clone()) else {
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::Skip("no userinfo_endpoint or no confidential client".into()));
    };
    let tokens = code_tokens(ctx, &ctx.http.browser(), &reg, "openid", &[]).await.ok().map(|(body, _)| body);
    let Some(tokens) = tokens.filter(|t| t["access_token"].is_string()) else {
        return record_all(run, &SUITE, &SUITE.checks[..3], &[], &Outcome::Fail("could not obtain tokens for the test user".into()));
    };
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let id_sub = tokens["id_token"].as_str().and_then(|t| Jwt::decode(t).ok()).and_then(|j| j.claim_str("sub").map(str::to_string));

    match ctx.http.send(ctx.http.get(&endpoint).bearer_auth(access)).await {
        Ok(r) => {
            let body = r.json().filter(|_| r.status == 200 && r.is_json());
            run.record(
                &SUITE,
                &GET,
                &[&r.exchange],
                Outcome::expect(body.is_some(), || format!("status {}, content-type {:?}", r.status, r.header("content-type"))),
            );
            let sub = body.as_ref().and_then(|b| b["sub"].as_str());
            run.record(
                &SUITE,
                &SUB,
                &[&r.exchange],
                Outcome::expect(sub.is_some() && sub == id_sub.as_deref(), || format!("userinfo sub {sub:?}, ID token sub {id_sub:?}")),
            );
        }
        Err(e) => record_all(run, &SUITE, &[GET, SUB], &[&e], &Outcome::Fail("no response".into())),
    }
    match ctx.http.send(ctx.http.post(&endpoint).form(&[("access_token", access)])).await {
        Ok(r) => run.record(
            &SUITE,
            &POST_BODY,
            &[&r.exchange],
            Outcome::expect(r.status == 200 && r.json().is_some_and(|b| b["sub"].is_string()), || format!("status {}", r.status)),
        ),
        Err(e) => run.record(&SUITE, &POST_BODY, &[&e], Outcome::Fail("no response".into())),
    }
    match ctx.http.send(ctx.http.get(&endpoint)).await {
        Ok(r) => {
            let challenge = r.header("www-authenticate").unwrap_or("");
            run.record(
                &SUITE,
                &NO_TOKEN,
                &[&r.exchange],
                Outcome::expect(r.status == 401 && challenge.to_ascii_lowercase().starts_with("bearer"), || {
                    format!("status {}, WWW-Authenticate {challenge:?}", r.status)
                }),
            );
        }
        Err(e) => run.record(&SUITE, &NO_TOKEN, &[&e], Outcome::Fail("no response".into())),
    }
    invalid(ctx, run, &endpoint, &INVALID_TOKEN, "oidc-harness-invalid-token").await;
    match (tokens["id_token"].as_str(), ctx.profile.flows.access_token_format) {
        (Some(id_token), AccessTokenFormat::Jwt) => invalid(ctx, run, &endpoint, &ID_TOKEN_REFUSED, id_token).await,
        _ => run.record(&SUITE, &ID_TOKEN_REFUSED, &[], Outcome::Skip("no ID token, or opaque access tokens".into())),
    }
}

async fn invalid(ctx: &Context, run: &mut Run, endpoint: &str, check: &Check, token: &str) {
    match ctx.http.send(ctx.http.get(endpoint).bearer_auth(token)).await {
        Ok(r) => {
            let challenge = r.header("www-authenticate").unwrap_or("").to_string();
            let error_in_challenge = challenge.contains("invalid_token");
            let error_in_body = r.json().is_some_and(|b: Value| b["error"] == "invalid_token");
            run.record(
                &SUITE,
                check,
                &[&r.exchange],
                Outcome::expect(r.status == 401 && error_in_challenge, || {
                    format!("status {}, WWW-Authenticate {challenge:?}, error in body: {error_in_body}", r.status)
                }),
            );
        }
        Err(e) => {
            let ev: [&Exchange; 1] = [&e];
            run.record(&SUITE, check, &ev, Outcome::Fail("no response".into()));
        }
    }
}
