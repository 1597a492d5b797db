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

/// What the checks that need the test user's tokens wait for.
const TOKENS_STEP: &str = "obtaining the test user's tokens (authorization code flow)";

pub async fn run(ctx: &mut Context, run: &mut Run) {
    let Some(endpoint) = ctx.endpoint("userinfo_endpoint").map(str::to_string) else {
        let blocked = Outcome::blocked_by(&super::discovery::USERINFO, "discovery gave no userinfo_endpoint");
        return record_all(run, &SUITE, &SUITE.checks, &[], &blocked);
    };
    // These two need no user token at all.
    match ctx.http.send(ctx.http.get(&endpoint)).await {
        Ok(r) => {
            let challenge = r.header("www-authenticate").unwrap_or("");
            run.record(
                &SUITE,
                &NO_TOKEN,
                &[&r.exchange],
                Outcome::expect(r.status == 401 && bearer_challenge(challenge).is_some(), || {
                    format!("status {}, WWW-Authenticate {}", r.status, quoted_or_absent(r.header("www-authenticate")))
                }),
            );
        }
        Err(e) => run.record(&SUITE, &NO_TOKEN, &[&e], super::no_response(&e)),
    }
    invalid(ctx, run, &endpoint, &INVALID_TOKEN, "oidc-harness-invalid-token").await;

    let needs_tokens = [GET, SUB, POST_BODY, ID_TOKEN_REFUSED];
    let Some(reg) = ctx.target.confidential.clone() else {
        return record_all(run, &SUITE, &needs_tokens, &[], &Outcome::NotRun("the target names no confidential client".into()));
    };
    let tokens = match code_tokens(ctx, &ctx.http.browser(), &reg, "openid", &[]).await {
        Ok((body, _)) if body["access_token"].is_string() => body,
        Ok((_, exchanges)) => {
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            return record_all(
                run,
                &SUITE,
                &needs_tokens,
                &ev,
                &Outcome::blocked_by_step(TOKENS_STEP, "the token response has no access_token"),
            );
        }
        Err((why, exchanges)) => {
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            return record_all(run, &SUITE, &needs_tokens, &ev, &Outcome::blocked_by_step(TOKENS_STEP, why));
        }
    };
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let id_sub = tokens["id_token"].as_str().and_then(|t| Jwt::decode(t).ok()).and_then(|j| j.claim_str("sub").map(str::to_string));

    let mut works = false;
    match ctx.http.send(ctx.http.get(&endpoint).bearer_auth(access)).await {
        Ok(r) => {
            let body = r.json().filter(|_| r.status == 200 && r.is_json());
            works = body.is_some();
            run.record(
                &SUITE,
                &GET,
                &[&r.exchange],
                Outcome::expect(body.is_some(), || {
                    format!("status {}, content-type {}", r.status, quoted_or_absent(r.header("content-type")))
                }),
            );
            let sub = body.as_ref().and_then(|b| b["sub"].as_str());
            run.record(
                &SUITE,
                &SUB,
                &[&r.exchange],
                match (&body, &id_sub) {
                    (None, _) => Outcome::blocked_by(&GET, "no userinfo response to compare"),
                    (Some(_), None) => Outcome::blocked_by_step(TOKENS_STEP, "the token response has no ID token with a sub"),
                    (Some(_), Some(id_sub)) => Outcome::expect(sub == Some(id_sub.as_str()), || {
                        format!("userinfo sub {}, ID token sub {id_sub}", quoted_or_absent(sub))
                    }),
                },
            );
        }
        Err(e) => record_all(run, &SUITE, &[GET, SUB], &[&e], &super::no_response(&e)),
    }
    match ctx.http.send(ctx.http.post(&endpoint).form(&[("access_token", access)])).await {
        Ok(r) => run.record(
            &SUITE,
            &POST_BODY,
            &[&r.exchange],
            Outcome::expect(r.status == 200 && r.json().is_some_and(|b| b["sub"].is_string()), || format!("status {}", r.status)),
        ),
        Err(e) => run.record(&SUITE, &POST_BODY, &[&e], super::no_response(&e)),
    }
    match tokens["id_token"].as_str() {
        _ if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt => run.record(
            &SUITE,
            &ID_TOKEN_REFUSED,
            &[],
            Outcome::NotApplicable("the profile says access tokens are opaque: a JWT cannot pass for one".into()),
        ),
        // The refusal means something only if a real access token is accepted (the control).
        _ if !works => run.record(&SUITE, &ID_TOKEN_REFUSED, &[], Outcome::blocked_by(&GET, "the access token itself was not accepted")),
        Some(id_token) => invalid(ctx, run, &endpoint, &ID_TOKEN_REFUSED, id_token).await,
        None => run.record(&SUITE, &ID_TOKEN_REFUSED, &[], Outcome::blocked_by_step(TOKENS_STEP, "the token response has no ID token")),
    }
}

/// The parameters of the `Bearer` challenge in a `WWW-Authenticate` value (RFC 7235 §4.1: one
/// value may carry several challenges), or `None` when there is no Bearer challenge.
fn bearer_challenge(header: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    let at = lower.match_indices("bearer").map(|(i, _)| i).find(|&i| {
        let before = lower[..i].trim_end();
        let after = lower[i + "bearer".len()..].chars().next();
        (before.is_empty() || before.ends_with(',')) && after.is_none_or(|c| c == ' ' || c == ',')
    })?;
    Some(lower[at + "bearer".len()..].to_string())
}

/// A header value in quotes, or "absent".
fn quoted_or_absent(value: Option<&str>) -> String {
    value.map_or_else(|| "absent".to_string(), |v| format!("\"{v}\""))
}

async fn invalid(ctx: &Context, run: &mut Run, endpoint: &str, check: &Check, token: &str) {
    match ctx.http.send(ctx.http.get(endpoint).bearer_auth(token)).await {
        Ok(r) => {
            let challenge = r.header("www-authenticate").unwrap_or("").to_string();
            // RFC 6750 §3: the error is a parameter of the Bearer challenge, not of any text.
            let error_in_challenge = bearer_challenge(&challenge).is_some_and(|params| params.contains("invalid_token"));
            let error_in_body = r.json().is_some_and(|b: Value| b["error"] == "invalid_token");
            run.record(
                &SUITE,
                check,
                &[&r.exchange],
                Outcome::expect(r.status == 401 && error_in_challenge, || {
                    let body = if error_in_body { " (invalid_token is only in the body)" } else { "" };
                    format!("status {}, WWW-Authenticate {}{body}", r.status, quoted_or_absent(r.header("www-authenticate")))
                }),
            );
        }
        Err(e) => run.record(&SUITE, check, &[&e], super::no_response(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_challenge;

    #[test]
    fn the_bearer_challenge_is_found_among_others_and_only_as_a_scheme() {
        assert_eq!(bearer_challenge("Bearer").as_deref(), Some(""));
        assert!(bearer_challenge("Bearer error=\"invalid_token\"").unwrap().contains("invalid_token"));
        assert!(bearer_challenge("Basic realm=\"x\", Bearer error=\"invalid_token\"").unwrap().contains("invalid_token"));
        assert!(bearer_challenge("error=\"invalid_token\", error_description=\"bearer token expired\"").is_none());
        assert!(bearer_challenge("Bearerx").is_none());
    }
}
