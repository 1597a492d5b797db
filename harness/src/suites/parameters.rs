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

fn slug(rule: ParameterRule) -> &'static str {
    match rule {
        ParameterRule::Honoured => "honoured",
        ParameterRule::Ignored => "ignored",
        ParameterRule::Rejected => "rejected",
        ParameterRule::IgnoredOrRejected => "ignored-or-rejected",
    }
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
        id: Cow::Owned(format!("param.{name}.{}", slug(rule))),
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
    let Some(reg) = ctx.target.confidential.clone() else {
        return record_all(run, suite, &suite.checks, &[], &Outcome::Skip("the target names no confidential client".into()));
    };
    let browser = ctx.http.browser();
    // A baseline login: the session later flows reuse, and the claims they are compared with.
    let baseline = match flow(ctx, &browser, &reg, &[]).await {
        FlowEnd::Tokens(tokens) => tokens,
        FlowEnd::ClientError(why, ex) | FlowEnd::Broken(why, ex) => {
            let ev: Vec<&Exchange> = ex.iter().collect();
            return record_all(run, suite, &suite.checks, &ev, &Outcome::Fail(format!("the baseline login failed: {why}")));
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
        FlowEnd::ClientError(error, ex) => (Outcome::Fail(format!("the client got error {error:?}")), ex),
        FlowEnd::Broken(why, ex) => (Outcome::Fail(why), ex),
    }
}

fn id_claim<'a>(tokens: &'a Tokens, name: &str) -> Option<&'a Value> {
    tokens.id_token.as_ref().and_then(|j| j.claims.get(name))
}

async fn honoured(ctx: &Context, browser: &Recorder, reg: &Registration, name: &str, baseline: &Tokens) -> Observed {
    match name {
        "login_hint" => {
            let Some(user) = &ctx.target.user else { return (Outcome::Skip("the target names no test user".into()), vec![]) };
            // A fresh browser, so that the login page is shown.
            let result = flow(ctx, &ctx.http.browser(), reg, &[("login_hint", &user.username)]).await;
            judged(result, |t| {
                Outcome::expect(t.prefilled_username.as_deref() == Some(user.username.as_str()), || {
                    format!("the login form prefilled {:?}", t.prefilled_username)
                })
            })
        }
        "claims" => {
            let request = json!({"id_token": {"email": null}}).to_string();
            let result = flow(ctx, browser, reg, &[("claims", &request)]).await;
            judged(result, |t| {
                Outcome::expect(id_claim(t, "email").is_some(), || {
                    "email was requested for the ID token and is not in it (does the test user have an email?)".into()
                })
            })
        }
        "acr_values" => {
            let Some(acr) = super::strings(ctx.metadata.as_ref(), "acr_values_supported").first().map(|s| s.to_string()) else {
                return (Outcome::Fail("discovery lists no acr_values_supported to request".into()), vec![]);
            };
            let result = flow(ctx, browser, reg, &[("acr_values", &acr)]).await;
            judged(result, |t| {
                Outcome::expect(id_claim(t, "acr").and_then(Value::as_str) == Some(acr.as_str()), || {
                    format!("requested {acr}, got acr {:?}", id_claim(t, "acr"))
                })
            })
        }
        "amr_values" => {
            let result = flow(ctx, browser, reg, &[("amr_values", "pwd")]).await;
            judged(result, |t| {
                let amr = id_claim(t, "amr").and_then(Value::as_array).cloned().unwrap_or_default();
                Outcome::expect(amr.iter().any(|m| m == "pwd"), || format!("requested pwd, got amr {amr:?}"))
            })
        }
        "audience" | "resource" => {
            let Some(resource) = reg.resource.clone() else {
                return (Outcome::Skip("the target names no resource for the confidential client".into()), vec![]);
            };
            if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt {
                return (Outcome::Skip("the profile says access tokens are opaque: aud cannot be observed".into()), vec![]);
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
                    format!("requested {org}, got {:?}", id_claim(t, "org_id"))
                })
            });
            let foreign = flow(ctx, browser, reg, &[("org_id", "oidc-harness-unknown-org")]).await;
            let refused = match foreign {
                FlowEnd::ClientError(error, ex) => {
                    exchanges.extend(ex);
                    Outcome::expect(error == "access_denied", || format!("a foreign org_id got error {error:?}, not access_denied"))
                }
                FlowEnd::Tokens(t) => {
                    exchanges.extend(t.exchanges);
                    Outcome::Fail("a foreign org_id was granted".into())
                }
                FlowEnd::Broken(why, ex) => {
                    exchanges.extend(ex);
                    Outcome::Fail(why)
                }
            };
            (if selected == Outcome::Pass { refused } else { selected }, exchanges)
        }
        _ => (Outcome::Skip("no observation is defined for this parameter".into()), vec![]),
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
    let (got_code, error, exchanges) = match result {
        FlowEnd::Tokens(t) => (true, None, t.exchanges),
        FlowEnd::ClientError(error, ex) => (false, Some(error), ex),
        FlowEnd::Broken(why, ex) => return (Outcome::Fail(why), ex),
    };
    let rejected = error.as_deref() == Some("invalid_request");
    let outcome = match rule {
        ParameterRule::Ignored => Outcome::expect(got_code, || format!("expected it to be ignored; the client got error {error:?}")),
        ParameterRule::Rejected => Outcome::expect(rejected, || {
            if got_code { "expected invalid_request; a code was issued".into() } else { format!("expected invalid_request; got {error:?}") }
        }),
        _ => Outcome::expect(got_code || rejected, || format!("expected a code or invalid_request; got {error:?}")),
    };
    (outcome, exchanges)
}
