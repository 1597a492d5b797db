//! PKCE (RFC 7636) with the public client, and the downgrade protection of RFC 9700 §2.1.1.

use super::flow::{authorized, pkce_pair, random, redeem};
use super::{Context, expect_error, record_all};
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
use crate::target::Registration;
use reports::Exchange;
use std::borrow::Cow;

const ROUND_TRIP: Check = required("pkce.s256", "A public client redeems its code with the S256 verifier", "RFC 7636 §4.5-4.6");
const WRONG_VERIFIER: Check = required("pkce.wrong-verifier", "A wrong code_verifier gets invalid_grant", "RFC 7636 §4.6");
const MISSING_VERIFIER: Check = required("pkce.missing-verifier", "A missing code_verifier gets invalid_grant", "RFC 7636 §4.6");
const PLAIN: Check = required(
    "pkce.plain-refused",
    "code_challenge_method=plain gets no code when the profile refuses it",
    "RFC 7636 §4.4.1, RFC 9700 §2.1.1",
);
const REQUIRED_PUBLIC: Check =
    required("pkce.required-for-public", "A public client without a code_challenge gets no code", "RFC 9700 §2.1.1");
const DOWNGRADE: Check =
    recommended("pkce.downgrade", "A code_verifier for a code issued without code_challenge is refused", "RFC 9700 §2.1.1, §4.8.2");

pub const SUITE: Suite =
    Suite { name: "pkce", checks: Cow::Borrowed(&[ROUND_TRIP, WRONG_VERIFIER, MISSING_VERIFIER, PLAIN, REQUIRED_PUBLIC, DOWNGRADE]) };

/// Starts a code flow; returns the code (or why there is none) and the exchanges.
async fn code(ctx: &Context, reg: &Registration, challenge: Option<(&str, &str)>) -> (Vec<Exchange>, Result<String, String>) {
    let state = random("s", 20);
    let mut params = vec![("response_type", "code"), ("scope", "openid"), ("state", state.as_str())];
    if let Some((value, method)) = challenge {
        params.push(("code_challenge", value));
        params.push(("code_challenge_method", method));
    }
    match authorized(ctx, &ctx.http.browser(), reg, &params).await {
        Ok(done) => {
            let code =
                done.arrival.params.get("code").cloned().ok_or_else(|| format!("no code: error {:?}", done.arrival.params.get("error")));
            (done.exchanges, code)
        }
        Err((why, exchanges)) => (exchanges, Err(why)),
    }
}

pub async fn run(ctx: &mut Context, run: &mut Run) {
    let Some(public) = ctx.target.public.clone() else {
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::Skip("the target names no public client".into()));
    };
    let (_, challenge) = pkce_pair();
    let (exchanges, issued) = code(ctx, &public, Some((&challenge, "S256"))).await;
    match issued {
        Ok(code) => {
            let wrong = redeem(ctx, &public, &code, Some(&pkce_pair().0)).await;
            expect_error(run, &SUITE, &WRONG_VERIFIER, &wrong, 400, "invalid_grant");
            let missing = redeem(ctx, &public, &code, None).await;
            expect_error(run, &SUITE, &MISSING_VERIFIER, &missing, 400, "invalid_grant");
            // Servers may burn a code on a failed attempt; the round trip uses a fresh one.
            let (exchanges, fresh) = code_and_challenge(ctx, &public).await;
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            match fresh {
                Ok((code, verifier)) => match redeem(ctx, &public, &code, Some(&verifier)).await {
                    Ok(r) => {
                        run.record(&SUITE, &ROUND_TRIP, &[&r.exchange], Outcome::expect(r.status == 200, || format!("status {}", r.status)))
                    }
                    Err(e) => run.record(&SUITE, &ROUND_TRIP, &[&e], Outcome::Fail("no response".into())),
                },
                Err(why) => run.record(&SUITE, &ROUND_TRIP, &ev, Outcome::Fail(why)),
            }
        }
        Err(why) => {
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            record_all(run, &SUITE, &[ROUND_TRIP, WRONG_VERIFIER, MISSING_VERIFIER], &ev, &Outcome::Fail(why));
        }
    }

    if ctx.profile.flows.pkce_methods.iter().any(|m| m == "plain") {
        run.record(&SUITE, &PLAIN, &[], Outcome::Skip("the profile accepts plain".into()));
    } else {
        let (verifier, _) = pkce_pair();
        let (exchanges, issued) = code(ctx, &public, Some((&verifier, "plain"))).await;
        let ev: Vec<&Exchange> = exchanges.iter().collect();
        run.record(&SUITE, &PLAIN, &ev, Outcome::expect(issued.is_err(), || "a code was issued for a plain challenge".into()));
    }
    let (exchanges, issued) = code(ctx, &public, None).await;
    let ev: Vec<&Exchange> = exchanges.iter().collect();
    run.record(&SUITE, &REQUIRED_PUBLIC, &ev, Outcome::expect(issued.is_err(), || "a code was issued without a challenge".into()));

    match ctx.target.confidential.clone() {
        None => run.record(&SUITE, &DOWNGRADE, &[], Outcome::Skip("the target names no confidential client".into())),
        Some(conf) => {
            let (exchanges, issued) = code(ctx, &conf, None).await;
            match issued {
                Ok(code) => {
                    let attempt = redeem(ctx, &conf, &code, Some(&pkce_pair().0)).await;
                    expect_error(run, &SUITE, &DOWNGRADE, &attempt, 400, "invalid_grant");
                }
                Err(_) => {
                    let ev: Vec<&Exchange> = exchanges.iter().collect();
                    run.record(&SUITE, &DOWNGRADE, &ev, Outcome::Skip("the confidential client cannot get a code without PKCE".into()));
                }
            }
        }
    }
}

async fn code_and_challenge(ctx: &Context, reg: &Registration) -> (Vec<Exchange>, Result<(String, String), String>) {
    let (verifier, challenge) = pkce_pair();
    let (exchanges, code) = code(ctx, reg, Some((&challenge, "S256"))).await;
    (exchanges, code.map(|c| (c, verifier)))
}
