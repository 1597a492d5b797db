//! Runs a scenario file's scenarios: each one's steps in order, its verdict from the first
//! expectation that does not hold.

use super::{AuthorizeExpect, AuthorizeStep, ClientRole, RedeemStep, Scenario, ScenarioFile, Step, TokenExpect, Verifier};
use crate::engine::http::Recorder;
use crate::engine::login::Delivery;
use crate::engine::{Outcome, Run, Suite};
use crate::suites::Context;
use crate::suites::flow::{authorize, pkce_pair, random, token};
use crate::target::Registration;
use reports::Exchange;
use std::collections::BTreeMap;

pub async fn run(ctx: &Context, run: &mut Run, suite: &Suite, file: &ScenarioFile) {
    for (scenario, check) in file.scenarios.iter().zip(suite.checks.iter()) {
        if let Some(condition) = scenario.only_if
            && !condition.holds(&ctx.profile)
        {
            run.record(suite, check, &[], Outcome::Skip(format!("the profile does not say {condition:?}")));
            continue;
        }
        let mut state = State { browser: ctx.http.browser(), exchanges: Vec::new(), last: None };
        let outcome = steps(ctx, scenario, &mut state).await;
        let ev: Vec<&Exchange> = state.exchanges.iter().collect();
        run.record(suite, check, &ev, outcome);
    }
}

/// What a scenario carries from one step to the next.
struct State {
    browser: Recorder,
    exchanges: Vec<Exchange>,
    /// The last authorization: who asked, the code it got, the PKCE verifier it used.
    last: Option<(Registration, Option<String>, String)>,
}

fn registration(ctx: &Context, role: ClientRole) -> Result<Registration, Outcome> {
    let (reg, name) = match role {
        ClientRole::Confidential => (&ctx.target.confidential, "confidential"),
        ClientRole::OtherConfidential => (&ctx.target.other_confidential, "second confidential"),
        ClientRole::Public => (&ctx.target.public, "public"),
    };
    reg.clone().ok_or_else(|| Outcome::Skip(format!("the target names no {name} client")))
}

async fn steps(ctx: &Context, scenario: &Scenario, state: &mut State) -> Outcome {
    for (n, step) in scenario.steps.iter().enumerate() {
        let result = match step {
            Step::Authorize(s) => authorize_step(ctx, s, state).await,
            Step::Redeem(s) => redeem_step(ctx, s, state).await,
        };
        match result {
            Ok(()) => {}
            Err(Outcome::Fail(why)) => {
                let name = match step {
                    Step::Authorize(_) => "authorize",
                    Step::Redeem(_) => "redeem",
                };
                return Outcome::Fail(format!("step {} ({name}): {why}", n + 1));
            }
            Err(other) => return other,
        }
    }
    Outcome::Pass
}

async fn authorize_step(ctx: &Context, step: &AuthorizeStep, state: &mut State) -> Result<(), Outcome> {
    let reg = registration(ctx, step.client)?;
    if step.fresh_browser {
        state.browser = ctx.http.browser();
    }
    let (verifier, challenge) = pkce_pair();
    let (sent_state, nonce) = (random("s", 20), random("n", 20));
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", sent_state.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    params.retain(|(k, _)| !step.remove.contains(k) && !step.set.contains_key(k));
    params.extend(step.set.iter().map(|(k, v)| (k.clone(), v.clone())));
    params.extend(step.repeat.iter().map(|(k, v)| (k.clone(), v.clone())));
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let drive = authorize(ctx, &state.browser, &reg, &borrowed).await.map_err(Outcome::Fail)?;
    state.exchanges.extend(drive.exchanges);
    let arrival = drive.result.as_ref().ok();
    let received = arrival.map(|a| a.params.clone()).unwrap_or_default();
    state.last = Some((reg, received.get("code").cloned(), verifier));
    check_arrival(ctx, &step.expect, arrival.map(|a| (&a.params, &a.delivery)), drive.result.as_ref().err(), &sent_state)
}

fn check_arrival(
    ctx: &Context,
    expect: &AuthorizeExpect,
    arrival: Option<(&BTreeMap<String, String>, &Delivery)>,
    failure: Option<&String>,
    sent_state: &str,
) -> Result<(), Outcome> {
    let params = arrival.map(|(p, _)| p);
    let get = |name: &str| params.and_then(|p| p.get(name)).map(String::as_str);
    let seen = || match (params, failure) {
        (Some(p), _) => format!("the client received {:?}", p.keys().collect::<Vec<_>>()),
        (None, Some(why)) => format!("nothing reached the client: {why}"),
        (None, None) => "nothing reached the client".to_string(),
    };
    let fail = |what: String| Err(Outcome::Fail(format!("{what}; {}", seen())));
    if let Some(code) = expect.code
        && get("code").is_some() != code
    {
        return fail(format!("expected {}a code", if code { "" } else { "no " }));
    }
    if let Some(error) = &expect.error
        && get("error") != Some(error.as_str())
    {
        return fail(format!("expected error {error}, got {:?}", get("error")));
    }
    if expect.state_echoed == Some(true) && get("state") != Some(sent_state) {
        return fail(format!("state came back as {:?}", get("state")));
    }
    if expect.iss == Some(true) && get("iss") != Some(ctx.issuer.as_str()) {
        return fail(format!("iss is {:?}", get("iss")));
    }
    if let Some(delivery) = &expect.delivery {
        let got = arrival.map(|(_, d)| match d {
            Delivery::Query => "query",
            Delivery::Fragment => "fragment",
            Delivery::FormPost => "form_post",
        });
        if got != Some(delivery.as_str()) {
            return fail(format!("expected delivery by {delivery}, got {got:?}"));
        }
    }
    if expect.tokens == Some(false) && (get("access_token").is_some() || get("id_token").is_some()) {
        return fail("expected no tokens".into());
    }
    Ok(())
}

async fn redeem_step(ctx: &Context, step: &RedeemStep, state: &mut State) -> Result<(), Outcome> {
    let Some((authorizer, Some(code), verifier)) = state.last.clone() else {
        return Err(Outcome::Fail("no code from an earlier step to redeem".into()));
    };
    let reg = match step.client {
        Some(role) => registration(ctx, role)?,
        None => authorizer.clone(),
    };
    let wrong = pkce_pair().0;
    let redirect_uri = authorizer.redirect_uri.clone().unwrap_or_default();
    let mut form: Vec<(String, String)> =
        vec![("grant_type".into(), "authorization_code".into()), ("code".into(), code), ("redirect_uri".into(), redirect_uri)];
    match step.verifier {
        Verifier::Right => form.push(("code_verifier".into(), verifier)),
        Verifier::Wrong => form.push(("code_verifier".into(), wrong)),
        Verifier::None => {}
    }
    form.retain(|(k, _)| !step.remove.contains(k) && !step.set.contains_key(k));
    form.extend(step.set.iter().map(|(k, v)| (k.clone(), v.clone())));
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let response = match token(ctx, &reg, &borrowed).await {
        Ok(r) => r,
        Err(e) => {
            state.exchanges.push(e);
            return Err(Outcome::Fail("no response from the token endpoint".into()));
        }
    };
    state.exchanges.push(response.exchange.clone());
    check_token(&step.expect, &response)
}

fn check_token(expect: &TokenExpect, response: &crate::engine::http::Response) -> Result<(), Outcome> {
    let body = response.json();
    let error = body.as_ref().and_then(|b| b["error"].as_str().map(str::to_string));
    let fail = |what: String| Err(Outcome::Fail(format!("{what} (status {}, error {error:?})", response.status)));
    if let Some(status) = expect.status
        && response.status != status
    {
        return fail(format!("expected status {status}"));
    }
    if let Some(wanted) = &expect.error
        && error.as_deref() != Some(wanted.as_str())
    {
        return fail(format!("expected error {wanted}"));
    }
    for member in &expect.has {
        if body.as_ref().is_none_or(|b| b.get(member).is_none()) {
            return fail(format!("expected {member} in the response"));
        }
    }
    for member in &expect.lacks {
        if body.as_ref().is_some_and(|b| b.get(member).is_some()) {
            return fail(format!("expected no {member} in the response"));
        }
    }
    if expect.no_store == Some(true) && !response.header("cache-control").unwrap_or("").to_ascii_lowercase().contains("no-store") {
        return fail("expected Cache-Control: no-store".into());
    }
    Ok(())
}
