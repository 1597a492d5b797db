//! Runs a scenario file's scenarios: each one's steps in order, its verdict from the first
//! expectation that does not hold.

use super::{AuthorizeExpect, AuthorizeStep, ClientRole, RedeemStep, Scenario, ScenarioFile, Step, TokenExpect, Verifier};
use crate::engine::http::Recorder;
use crate::engine::login::{Delivery, describe_params};
use crate::engine::refusal;
use crate::engine::{Outcome, Run, Suite};
use crate::suites::Context;
use crate::suites::flow::{authorize, pkce_pair, random, token};
use crate::target::Registration;
use reports::Exchange;
use std::collections::BTreeMap;

pub async fn run(ctx: &Context, run: &mut Run, suite: &Suite, file: &ScenarioFile) {
    // Each scenario's outcome, for those that name it as their control.
    let mut outcomes: Vec<(&str, Outcome)> = Vec::new();
    for (scenario, check) in file.scenarios.iter().zip(suite.checks.iter()) {
        if let Some(condition) = scenario.only_if
            && !condition.holds(&ctx.profile)
        {
            let outcome = Outcome::NotApplicable(format!("the profile does not say {}", condition.describe()));
            outcomes.push((&scenario.id, outcome.clone()));
            run.record(suite, check, &[], outcome);
            continue;
        }
        if let Some(control) = &scenario.control {
            let control_check = suite.checks.iter().find(|c| c.id == control.as_str()).unwrap_or(check);
            let not_judged = match outcomes.iter().find(|(id, _)| id == control) {
                Some((_, Outcome::Pass | Outcome::PassNoted(_))) => None,
                // What kept the control from running keeps this one from running too.
                Some((_, Outcome::NotRun(why))) => Some(Outcome::NotRun(why.clone())),
                Some((_, Outcome::NotApplicable(why))) => Some(Outcome::NotApplicable(why.clone())),
                _ => Some(Outcome::blocked_by(control_check, "the positive control did not pass, so a refusal here would prove nothing")),
            };
            if let Some(outcome) = not_judged {
                outcomes.push((&scenario.id, outcome.clone()));
                run.record(suite, check, &[], outcome);
                continue;
            }
        }
        let mut state = State { browser: ctx.http.browser(), exchanges: Vec::new(), last: None };
        let outcome = steps(ctx, scenario, &mut state).await;
        outcomes.push((&scenario.id, outcome.clone()));
        let ev: Vec<&Exchange> = state.exchanges.iter().collect();
        run.record(suite, check, &ev, outcome);
    }
}

/// What a scenario carries from one step to the next.
struct State {
    browser: Recorder,
    exchanges: Vec<Exchange>,
    /// The last authorization: who asked, the code it got, the PKCE verifier it used.
    last: Option<LastAuthorization>,
}

struct LastAuthorization {
    client: Registration,
    code: Option<String>,
    verifier: String,
}

fn registration(ctx: &Context, role: ClientRole) -> Result<Registration, Outcome> {
    let (reg, name) = match role {
        ClientRole::Confidential => (&ctx.target.confidential, "confidential"),
        ClientRole::OtherConfidential => (&ctx.target.other_confidential, "second confidential"),
        ClientRole::Public => (&ctx.target.public, "public"),
    };
    reg.clone().ok_or_else(|| Outcome::NotRun(format!("the target names no {name} client")))
}

/// Runs the steps. The last step's expectations judge the rule; an earlier step is set-up, so
/// when its expectation fails the check is blocked by it, not failed.
async fn steps(ctx: &Context, scenario: &Scenario, state: &mut State) -> Outcome {
    let mut noted = Vec::new();
    for (n, step) in scenario.steps.iter().enumerate() {
        let result = match step {
            Step::Authorize(s) => authorize_step(ctx, s, state).await,
            Step::Redeem(s) => redeem_step(ctx, s, state).await,
        };
        let name = match step {
            Step::Authorize(_) => "authorize",
            Step::Redeem(_) => "redeem",
        };
        let last = n + 1 == scenario.steps.len();
        match result {
            Ok(None) => {}
            Ok(Some(note)) => noted.push(note),
            Err(Outcome::Fail(why)) if last => return Outcome::Fail(format!("step {} ({name}): {why}", n + 1)),
            Err(Outcome::Fail(why)) => return Outcome::blocked_by_step(&format!("step {} ({name}) of the scenario", n + 1), why),
            Err(other) => return other,
        }
    }
    if noted.is_empty() { Outcome::Pass } else { Outcome::PassNoted(noted.join("; ")) }
}

/// A step's result: passed (with a note of which allowed answer was seen), or the outcome that
/// ends the scenario.
type StepResult = Result<Option<String>, Outcome>;

async fn authorize_step(ctx: &Context, step: &AuthorizeStep, state: &mut State) -> StepResult {
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
    let drive =
        authorize(ctx, &state.browser, &reg, &borrowed).await.map_err(|why| Outcome::blocked_by_step("the authorization request", why))?;
    let first = state.exchanges.len();
    state.exchanges.extend(drive.exchanges);
    let arrival = drive.result.as_ref().ok();
    let received = arrival.map(|a| a.params.clone()).unwrap_or_default();
    state.last = Some(LastAuthorization { client: reg, code: received.get("code").cloned(), verifier });
    let seen = Seen {
        arrival: arrival.map(|a| (&a.params, &a.delivery)),
        failure: drive.result.as_ref().err(),
        exchanges: &state.exchanges[first..],
        endpoint: ctx.endpoint("authorization_endpoint").unwrap_or_default(),
    };
    check_arrival(ctx, &step.expect, &seen, &sent_state)
}

/// What an authorization step saw.
struct Seen<'a> {
    arrival: Option<(&'a BTreeMap<String, String>, &'a Delivery)>,
    failure: Option<&'a String>,
    exchanges: &'a [Exchange],
    endpoint: &'a str,
}

fn check_arrival(ctx: &Context, expect: &AuthorizeExpect, seen: &Seen<'_>, sent_state: &str) -> StepResult {
    let params = seen.arrival.map(|(p, _)| p);
    let get = |name: &str| params.and_then(|p| p.get(name)).map(String::as_str);
    let said = || match (params, seen.failure) {
        (Some(p), _) => format!("the client received {}", describe_params(p)),
        (None, Some(why)) => format!("nothing reached the client: {why}"),
        (None, None) => "nothing reached the client".to_string(),
    };
    let fail = |what: String| Err(Outcome::Fail(format!("{what}; {}", said())));
    let mut note = None;
    if expect.refused == Some(true) {
        let leaked = get("code").is_some() || get("access_token").is_some() || get("id_token").is_some();
        match (params, get("error")) {
            _ if leaked => return fail("expected a refusal".into()),
            (Some(_), Some(error)) if refusal::SERVER_TROUBLE.contains(&error) => {
                return Err(Outcome::blocked_by_step("a visible refusal", format!("the server reported trouble: error={error}")));
            }
            (Some(_), Some(error)) if expect.error.is_empty() || expect.error.iter().any(|e| e == error) => {
                note = Some(format!("refused with error={error}"));
            }
            (Some(_), Some(error)) => return fail(format!("expected error {}, got {error}", expect.error.join(" or "))),
            (Some(_), None) => {
                return Err(Outcome::blocked_by_step(
                    "a visible refusal",
                    format!("the client received neither a code nor an error: {}", said()),
                ));
            }
            (None, _) => match refusal::classify(seen.exchanges, "", None, seen.endpoint, seen.failure.map(String::as_str)) {
                refusal::Answer::Refused(how) => note = Some(how.to_string()),
                refusal::Answer::SentTo(to) => return fail(format!("the browser was sent to {to}")),
                refusal::Answer::Inconclusive(why) => return Err(Outcome::blocked_by_step("a visible refusal", why)),
            },
        }
    } else if !expect.error.is_empty() {
        match get("error") {
            Some(error) if expect.error.iter().any(|e| e == error) => {
                if expect.error.len() > 1 {
                    note = Some(format!("error={error}"));
                }
            }
            Some(error) => return fail(format!("expected error {}, got {error}", expect.error.join(" or "))),
            None => return fail(format!("expected error {}", expect.error.join(" or "))),
        }
    }
    if let Some(code) = expect.code
        && get("code").is_some() != code
    {
        return fail(format!("expected {}a code", if code { "" } else { "no " }));
    }
    if expect.state_echoed == Some(true) && get("state") != Some(sent_state) {
        return fail(format!("state came back as {}", get("state").unwrap_or("absent")));
    }
    if expect.iss == Some(true) && get("iss") != Some(ctx.issuer.as_str()) {
        return fail(format!("iss is {}, the issuer is {}", get("iss").unwrap_or("absent"), ctx.issuer));
    }
    if let Some(delivery) = &expect.delivery {
        let got = seen.arrival.map(|(_, d)| match d {
            Delivery::Query => "query",
            Delivery::Fragment => "fragment",
            Delivery::FormPost => "form_post",
        });
        if got != Some(delivery.as_str()) {
            return fail(format!("expected delivery by {delivery}, got {}", got.unwrap_or("none")));
        }
    }
    if expect.tokens == Some(false) && (get("access_token").is_some() || get("id_token").is_some()) {
        return fail("expected no tokens".into());
    }
    Ok(note)
}

async fn redeem_step(ctx: &Context, step: &RedeemStep, state: &mut State) -> StepResult {
    let Some(LastAuthorization { client: authorizer, code: Some(code), verifier }) = state.last.take() else {
        return Err(Outcome::blocked_by_step("an earlier authorize step", "no code from an earlier step to redeem"));
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
            let outcome = crate::suites::no_response(&e);
            state.exchanges.push(e);
            return Err(outcome);
        }
    };
    state.exchanges.push(response.exchange.clone());
    check_token(&step.expect, &response)
}

fn check_token(expect: &TokenExpect, response: &crate::engine::http::Response) -> StepResult {
    if response.status >= 500 && !expect.status.contains(&response.status) {
        return Err(crate::suites::server_error(response));
    }
    let body = response.json();
    let error = body.as_ref().and_then(|b| b["error"].as_str().map(str::to_string));
    let fail = |what: String| Err(Outcome::Fail(format!("{what}; got {}", crate::suites::answered(response))));
    if !expect.status.is_empty() && !expect.status.contains(&response.status) {
        let wanted: Vec<String> = expect.status.iter().map(u16::to_string).collect();
        return fail(format!("expected status {}", wanted.join(" or ")));
    }
    if !expect.error.is_empty() && !error.as_deref().is_some_and(|e| expect.error.iter().any(|w| w == e)) {
        return fail(format!("expected error {}", expect.error.join(" or ")));
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
    let several = expect.status.len() > 1 || expect.error.len() > 1;
    Ok(several.then(|| crate::suites::answered(response)))
}
