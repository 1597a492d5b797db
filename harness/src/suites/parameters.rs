//! The profile's request parameters, one generated check per parameter and rule: each honoured
//! parameter must visibly take effect, each ignored one must change nothing, each rejected one
//! must get `invalid_request`.

use super::flow::{CodeAuthorization, code_authorization, redeem};
use super::{Context, record_all};
use crate::engine::http::Recorder;
use crate::engine::jwt::Jwt;
use crate::engine::{Check, Outcome, Run, Suite};
use crate::profile::{AccessTokenFormat, ParameterRule, Profile};
use crate::target::Registration;
use reports::{Exchange, Severity};
use serde_json::{Value, json};
use std::borrow::Cow;

pub const NAME: &str = "parameters";

/// The suite for `profile`: one check per parameter rule.
pub fn suite(profile: &Profile) -> Suite {
    let checks = profile.parameters.iter().map(|(name, rule)| check_for(profile, name, *rule)).collect::<Vec<_>>();
    Suite { name: Cow::Borrowed(NAME), checks: Cow::Owned(checks) }
}

/// The rule each honoured parameter comes from, and what "honoured" means for it here.
fn honoured_rule(name: &str) -> (&'static str, &'static str) {
    match name {
        "login_hint" => ("OIDC Core §3.1.2.1", "the login page prefills the hinted account"),
        "claims" => ("OIDC Core §5.5", "a claim requested for the ID token is in it"),
        "acr_values" => ("OIDC Core §3.1.2.1, §2", "acr is the requested value"),
        "amr_values" => ("profile, RFC 8176", "amr contains the requested method"),
        "audience" => ("profile, RFC 8707 §2", "the access token's aud is the requested audience"),
        "resource" => ("RFC 8707 §2", "the access token's aud is the requested resource"),
        "org_id" => ("profile", "org_id selects a membership; a foreign org gets access_denied"),
        _ => ("profile", "no observation is defined for this parameter"),
    }
}

fn check_for(profile: &Profile, name: &str, rule: ParameterRule) -> Check {
    let resolved = if profile.resolutions.iter().any(|r| r.parameter == name) { " (resolved contradiction in the source)" } else { "" };
    let (spec, title) = match rule {
        ParameterRule::Honoured => {
            let (spec, what) = honoured_rule(name);
            (spec.to_string(), format!("{name} is honoured: {what}{resolved}"))
        }
        ParameterRule::Ignored => ("profile, RFC 6749 §3.1".to_string(), format!("{name} is accepted and changes nothing{resolved}")),
        ParameterRule::Rejected => ("profile, RFC 6749 §4.1.2.1".to_string(), format!("{name} is rejected with invalid_request{resolved}")),
        ParameterRule::IgnoredOrRejected => {
            ("profile, RFC 6749 §3.1, §4.1.2.1".to_string(), format!("{name} is either ignored or rejected with invalid_request{resolved}"))
        }
    };
    Check {
        id: Cow::Owned(format!("param.{name}.{}", rule.as_str())),
        title: Cow::Owned(title),
        spec: Cow::Owned(spec),
        severity: Severity::Required,
    }
}

/// A completed code flow's tokens.
struct Tokens {
    id_token: Option<Jwt>,
    id_token_raw: Option<String>,
    access_token: String,
    exchanges: Vec<Exchange>,
    prefilled_username: Option<String>,
}

/// How a code flow ended.
enum FlowEnd {
    Tokens(Tokens),
    /// The client received this error code instead of a code.
    ClientError(String, Vec<Exchange>),
    /// The flow did not finish (no response, no login form, a failed redemption).
    Broken(String, Vec<Exchange>),
}

/// Runs a code flow with `extra` parameters.
async fn flow(ctx: &Context, browser: &Recorder, reg: &Registration, extra: &[(&str, &str)]) -> FlowEnd {
    match try_flow(ctx, browser, reg, extra).await {
        Ok(end) => end,
        Err((why, exchanges)) => FlowEnd::Broken(why, exchanges),
    }
}

async fn try_flow(
    ctx: &Context,
    browser: &Recorder,
    reg: &Registration,
    extra: &[(&str, &str)],
) -> Result<FlowEnd, (String, Vec<Exchange>)> {
    let CodeAuthorization { done, verifier, .. } = code_authorization(ctx, browser, reg, "openid", extra).await?;
    let mut exchanges = done.exchanges;
    let Some(code) = done.arrival.params.get("code") else {
        return Ok(FlowEnd::ClientError(done.arrival.params.get("error").cloned().unwrap_or_default(), exchanges));
    };
    let response = redeem(ctx, reg, code, Some(&verifier)).await.map_err(|e| ("no token response".to_string(), vec![e]))?;
    exchanges.push(response.exchange.clone());
    let body = response
        .json()
        .filter(|_| response.status == 200)
        .ok_or_else(|| (format!("token status {}", response.status), exchanges.clone()))?;
    Ok(FlowEnd::Tokens(Tokens {
        id_token: body["id_token"].as_str().and_then(|t| Jwt::decode(t).ok()),
        id_token_raw: body["id_token"].as_str().map(str::to_string),
        access_token: body["access_token"].as_str().unwrap_or_default().to_string(),
        exchanges,
        prefilled_username: done.prefilled_username,
    }))
}

pub async fn run(ctx: &mut Context, run: &mut Run, suite: &Suite) {
    if super::blocked_without(ctx, run, suite, &["authorization_endpoint", "token_endpoint"]) {
        return;
    }
    let Some(reg) = ctx.target.confidential.clone() else {
        return record_all(run, suite, &suite.checks, &[], &Outcome::NotRun("the target names no confidential client".into()));
    };
    let browser = ctx.http.browser();
    // A baseline login: the session later flows reuse, and the claims they are compared with.
    let baseline = match flow(ctx, &browser, &reg, &[]).await {
        FlowEnd::Tokens(tokens) => tokens,
        FlowEnd::ClientError(why, ex) | FlowEnd::Broken(why, ex) => {
            let ev: Vec<&Exchange> = ex.iter().collect();
            return record_all(run, suite, &suite.checks, &ev, &Outcome::blocked_by_step("the baseline login (no extra parameter)", why));
        }
    };
    // `suite` was generated from these parameters, in this order.
    let parameters: Vec<(String, ParameterRule)> = ctx.profile.parameters.iter().map(|(n, r)| (n.clone(), *r)).collect();
    for ((name, rule), check) in parameters.iter().zip(suite.checks.iter()) {
        let (name, rule) = (name.as_str(), *rule);
        let (outcome, exchanges) = match rule {
            ParameterRule::Honoured => honoured(ctx, &browser, &reg, name, &baseline).await,
            _ => not_honoured(ctx, &browser, &reg, name, rule, &baseline).await,
        };
        let ev: Vec<&Exchange> = exchanges.iter().collect();
        run.record(suite, check, &ev, outcome);
    }
}

type Observed = (Outcome, Vec<Exchange>);

fn judged(end: FlowEnd, judge: impl FnOnce(&Tokens) -> Outcome) -> Observed {
    match end {
        FlowEnd::Tokens(tokens) => (judge(&tokens), tokens.exchanges),
        FlowEnd::ClientError(error, ex) => (Outcome::Fail(format!("the client got error={error} instead of a code")), ex),
        FlowEnd::Broken(why, ex) => (Outcome::blocked_by_step("the authorization with the parameter", why), ex),
    }
}

fn id_claim<'a>(tokens: &'a Tokens, name: &str) -> Option<&'a Value> {
    tokens.id_token.as_ref().and_then(|j| j.claims.get(name))
}

async fn honoured(ctx: &Context, browser: &Recorder, reg: &Registration, name: &str, baseline: &Tokens) -> Observed {
    match name {
        "login_hint" => {
            let Some(user) = &ctx.target.user else { return (Outcome::NotRun("the target names no test user".into()), vec![]) };
            if !crate::engine::login::sees_prefilled_username(&ctx.target.login) {
                let why = "the login is a script (login.step) that captures no prefilled_username, so what the login page prefills cannot be seen";
                return (Outcome::NotRun(why.into()), vec![]);
            }
            // A fresh browser, so that the login page is shown.
            let result = flow(ctx, &ctx.http.browser(), reg, &[("login_hint", &user.username)]).await;
            judged(result, |t| {
                Outcome::expect(t.prefilled_username.as_deref() == Some(user.username.as_str()), || match &t.prefilled_username {
                    Some(name) => format!("the login form prefilled \"{name}\" for login_hint \"{}\"", user.username),
                    None => "the login form had no prefilled username".to_string(),
                })
            })
        }
        "claims" => {
            let member = ctx.target.claims.member.as_str();
            let request = json!({"id_token": {member: null}}).to_string();
            let result = flow(ctx, browser, reg, &[("claims", &request)]).await;
            judged(result, |t| {
                Outcome::expect(id_claim(t, member).is_some(), || {
                    format!("{member} was requested for the ID token and is not in it (does the test user have it? [claims] member)")
                })
            })
        }
        "acr_values" => {
            let Some(acr) = super::strings(ctx.metadata.as_ref(), "acr_values_supported").first().map(|s| s.to_string()) else {
                let why = "discovery lists no acr_values_supported, so there is no value to request";
                return (Outcome::blocked_by_step("an acr value to request", why), vec![]);
            };
            let result = flow(ctx, browser, reg, &[("acr_values", &acr)]).await;
            judged(result, |t| {
                Outcome::expect(id_claim(t, "acr").and_then(Value::as_str) == Some(acr.as_str()), || {
                    format!("requested {acr}, got acr {}", id_claim(t, "acr").map_or("absent".to_string(), Value::to_string))
                })
            })
        }
        "amr_values" => {
            let result = flow(ctx, browser, reg, &[("amr_values", "pwd")]).await;
            judged(result, |t| {
                let amr = id_claim(t, "amr").and_then(Value::as_array).cloned().unwrap_or_default();
                Outcome::expect(amr.iter().any(|m| m == "pwd"), || format!("requested pwd, got amr {}", Value::Array(amr.clone())))
            })
        }
        "audience" | "resource" => {
            let Some(resource) = reg.resource.clone() else {
                return (Outcome::NotRun("the target names no resource for the confidential client".into()), vec![]);
            };
            if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt {
                return (Outcome::NotApplicable("the profile says access tokens are opaque: aud cannot be observed".into()), vec![]);
            }
            let result = flow(ctx, browser, reg, &[(name, &resource)]).await;
            judged(result, |t| {
                let aud = Jwt::decode(&t.access_token).ok().map(|j| j.claims["aud"].clone()).unwrap_or(Value::Null);
                let hit = aud == json!(resource) || aud.as_array().is_some_and(|a| a.iter().any(|v| v == &json!(resource)));
                Outcome::expect(hit, || format!("requested {resource}, got aud {aud}"))
            })
        }
        "org_id" => {
            let Some(org) = id_claim(baseline, "org_id").and_then(Value::as_str).map(str::to_string) else {
                return (Outcome::Fail("the baseline ID token has no org_id claim to request".into()), baseline.exchanges.clone());
            };
            let (selected, mut exchanges) = judged(flow(ctx, browser, reg, &[("org_id", &org)]).await, |t| {
                Outcome::expect(id_claim(t, "org_id").and_then(Value::as_str) == Some(org.as_str()), || {
                    format!("requested {org}, got org_id {}", id_claim(t, "org_id").map_or("absent".to_string(), Value::to_string))
                })
            });
            let foreign = flow(ctx, browser, reg, &[("org_id", "oidc-harness-unknown-org")]).await;
            let refused = match foreign {
                FlowEnd::ClientError(error, ex) => {
                    exchanges.extend(ex);
                    Outcome::expect(error == "access_denied", || format!("a foreign org_id got error={error}, not access_denied"))
                }
                FlowEnd::Tokens(t) => {
                    exchanges.extend(t.exchanges);
                    Outcome::Fail("a foreign org_id was granted".into())
                }
                FlowEnd::Broken(why, ex) => {
                    exchanges.extend(ex);
                    Outcome::blocked_by_step("the authorization with a foreign org_id", why)
                }
            };
            (if selected == Outcome::Pass { refused } else { selected }, exchanges)
        }
        _ => (Outcome::NotRun("oidc-harness defines no observation for this parameter".into()), vec![]),
    }
}

async fn not_honoured(
    ctx: &Context,
    browser: &Recorder,
    reg: &Registration,
    name: &str,
    rule: ParameterRule,
    baseline: &Tokens,
) -> Observed {
    // Realistic values: id_token_hint is the ID token this server issued to the baseline login.
    let value = match name {
        "display" => "page".to_string(),
        "ui_locales" => "fr-CA en".to_string(),
        "id_token_hint" => baseline.id_token_raw.clone().unwrap_or_default(),
        _ => "oidc-harness".to_string(),
    };
    let result = flow(ctx, browser, reg, &[(name, &value)]).await;
    let (tokens, error, exchanges) = match result {
        FlowEnd::Tokens(t) => {
            let exchanges = t.exchanges.clone();
            (Some(t), None, exchanges)
        }
        FlowEnd::ClientError(error, ex) => (None, Some(error), ex),
        FlowEnd::Broken(why, ex) => {
            // A refusal on a page of the server's own is an answer, not a broken flow: it is
            // neither ignoring the parameter nor the invalid_request the client should get.
            let endpoint = ctx.endpoint("authorization_endpoint").unwrap_or_default();
            let outcome = match crate::engine::refusal::classify(&ex, "", None, endpoint, Some(&why)) {
                crate::engine::refusal::Answer::Refused(how) => Outcome::Fail(format!("{how}; the profile says {}", rule_words(rule))),
                _ => Outcome::blocked_by_step("the authorization with the parameter", why),
            };
            return (outcome, ex);
        }
    };
    let rejected = error.as_deref() == Some("invalid_request");
    // Ignored means nothing changed: the same claims, for the same client and user, as the
    // baseline login without the parameter.
    let unchanged = tokens.as_ref().map(|t| same_as_baseline(t, baseline));
    let said = || match &error {
        Some(error) => format!("the client got error={error}"),
        None => "the client got no code".to_string(),
    };
    let outcome = match (rule, &unchanged) {
        (ParameterRule::Ignored | ParameterRule::IgnoredOrRejected, Some(Ok(()))) => {
            Outcome::PassNoted("ignored: the same claims as the baseline".into())
        }
        (ParameterRule::Ignored | ParameterRule::IgnoredOrRejected, Some(Err(diff))) => {
            Outcome::Fail(format!("it changed the ID token: {diff}"))
        }
        (ParameterRule::Rejected | ParameterRule::IgnoredOrRejected, None) if rejected => {
            Outcome::PassNoted("rejected with invalid_request".into())
        }
        (ParameterRule::Rejected, Some(_)) => Outcome::Fail("expected invalid_request; a code was issued".into()),
        (ParameterRule::Ignored, None) => Outcome::Fail(format!("expected it to be ignored; {}", said())),
        _ => Outcome::Fail(format!(
            "expected {}; {}",
            if rule == ParameterRule::Rejected { "invalid_request" } else { "a code or invalid_request" },
            said()
        )),
    };
    (outcome, exchanges)
}

fn rule_words(rule: ParameterRule) -> &'static str {
    match rule {
        ParameterRule::Honoured => "it is honoured",
        ParameterRule::Ignored => "it is ignored",
        ParameterRule::Rejected => "it is rejected with invalid_request sent to the client",
        ParameterRule::IgnoredOrRejected => "it is ignored or rejected with invalid_request sent to the client",
    }
}

/// Claims that differ between any two logins (times, per-request values).
const PER_LOGIN_CLAIMS: [&str; 9] = ["iat", "exp", "nbf", "auth_time", "nonce", "at_hash", "c_hash", "jti", "sid"];

/// Whether `tokens` carries the baseline's ID token claims: the same names, and the same values
/// for `sub`, `aud` and `azp` (the same user and client); per-login claims aside.
fn same_as_baseline(tokens: &Tokens, baseline: &Tokens) -> Result<(), String> {
    let (Some(now), Some(then)) = (&tokens.id_token, &baseline.id_token) else {
        return if tokens.id_token.is_some() == baseline.id_token.is_some() { Ok(()) } else { Err("the ID token came or went".into()) };
    };
    let names = |jwt: &Jwt| -> std::collections::BTreeSet<String> {
        jwt.claims.as_object().map(|m| m.keys().filter(|k| !PER_LOGIN_CLAIMS.contains(&k.as_str())).cloned().collect()).unwrap_or_default()
    };
    let (a, b) = (names(now), names(then));
    let added: Vec<&String> = a.difference(&b).collect();
    let removed: Vec<&String> = b.difference(&a).collect();
    if !added.is_empty() || !removed.is_empty() {
        let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        return Err(format!("claims added: [{}], removed: [{}]", list(&added), list(&removed)));
    }
    for claim in ["sub", "aud", "azp", "acr", "amr", "org_id"] {
        if now.claims.get(claim) != then.claims.get(claim) {
            return Err(format!("{claim} is {} instead of {}", now.claims[claim], then.claims[claim]));
        }
    }
    Ok(())
}
