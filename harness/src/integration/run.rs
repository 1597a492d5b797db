//! A pack's run: the RP emulated on the wire, phase by phase (authorization request, code
//! redemption, ID token, UserInfo), then every rule judged on what came back. A rule whose
//! phase could not happen is blocked by the rule that judged that phase (the pack's `completes`
//! or `token_response` rule), so the root cause is reported once.

use super::{Pack, PackRule, ResponseType, Role, StateStyle, Test};
use crate::engine::jwt::Jwt;
use crate::engine::login::{Arrival, describe_params};
use crate::engine::{Check, Outcome, Run, Suite, id_token};
use crate::profile::AccessTokenFormat;
use crate::suites::flow::{authorize, authorize_by_post, pkce_pair, random, redeem};
use crate::suites::{Context, answered, record_all, strings};
use crate::target::Registration;
use reports::Exchange;
use serde_json::Value;

/// What the RP got in one phase: the value, or why it got nothing (a failure of that phase's
/// rule, which blocks the rules after it).
type Got<T> = Result<T, String>;

pub async fn run(ctx: &mut Context, run: &mut Run, suite: &Suite, pack: &Pack) {
    let reg = match registration(ctx, pack) {
        Ok(reg) => reg,
        Err(why) => return record_all(run, suite, &suite.checks, &[], &Outcome::NotRun(why)),
    };
    let judge = Judge { suite, pack };
    judge_discovery(ctx, run, &judge).await;
    let endpoints: &[&str] = match pack.request.response_type {
        ResponseType::Code => &["authorization_endpoint", "token_endpoint"],
        ResponseType::IdToken => &["authorization_endpoint"],
    };
    let not_now = match (&ctx.target.user, endpoints.iter().find(|m| ctx.endpoint(m).is_none())) {
        (None, _) => Some(Outcome::NotRun("the target names no test user to log in with".into())),
        // The discovery suite fails the document for it; the RP cannot even start.
        (_, Some(member)) => Some(Outcome::blocked_by_step("reading the discovery document", format!("discovery gave no {member}"))),
        _ => None,
    };
    if let Some(outcome) = not_now {
        for rule in pack.rules.iter().filter(|r| !discovery_phase(r.check)) {
            judge.record(run, rule, &[], outcome.clone());
        }
        return;
    }

    // The authorization request, exactly as the RP sends it.
    let request = &pack.request;
    let state = match request.state {
        StateStyle::Opaque => random("", 64),
        StateStyle::Uuid => uuid_v4(),
    };
    let nonce = request.nonce.then(|| random("n", 32));
    let (verifier, challenge) = pkce_pair();
    let mut params: Vec<(&str, &str)> =
        vec![("response_type", request.response_type.as_str()), ("scope", &request.scope), ("state", &state)];
    if let Some(nonce) = &nonce {
        params.push(("nonce", nonce));
    }
    if request.pkce {
        params.extend([("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")]);
    }
    if let Some(mode) = &request.response_mode {
        params.push(("response_mode", mode));
    }
    let audience = reg.resource.clone().filter(|_| request.audience);
    if let Some(audience) = &audience {
        params.push(("audience", audience));
    }
    params.extend(request.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let hint = request.id_token_hint.map(|style| emulated_hint(style, &reg, ctx.target.user.as_ref().map(|u| u.username.as_str())));
    if let Some((hint, _)) = &hint {
        params.push(("id_token_hint", hint));
    }
    let (flow, arrival) = send(ctx, request.method, &reg, &params).await;
    let last: Vec<&Exchange> = flow.last().into_iter().collect();
    let wanted = request.response_type.as_str();
    let arrival = arrival.and_then(|a| match a.params.contains_key(wanted) {
        true => Ok(a),
        false => Err(format!("the RP received {} instead of {wanted}", describe_params(&a.params))),
    });
    for rule in &pack.rules {
        let outcome = match (rule.check, &arrival) {
            (Test::Completes, Ok(_)) => Outcome::Pass,
            (Test::Completes, Err(why)) => Outcome::Fail(why.clone()),
            (Test::StateEchoed, Ok(a)) => Outcome::expect(a.params.get("state") == Some(&state), || match a.params.get("state") {
                Some(other) => format!("state came back as \"{other}\""),
                None => "state did not come back".into(),
            }),
            (Test::Delivery, Ok(a)) => {
                let want = rule.delivery.expect("parse: a delivery rule names its delivery");
                Outcome::expect(a.delivery == want, || format!("delivered in {}, the RP reads {}", a.delivery.name(), want.name()))
            }
            (Test::StateEchoed | Test::Delivery, Err(why)) => judge.blocked(Test::Completes, why),
            _ => continue,
        };
        judge.record(run, rule, &last, outcome);
    }
    if let (Some(rule), Some((hint, _))) = (pack.rule(Test::HintVerified), &hint) {
        let (evidence, outcome) = match &arrival {
            Ok(_) => forged_hint_refused(ctx, request.method, &reg, &params, hint).await,
            Err(why) => (Vec::new(), judge.blocked(Test::Completes, why)),
        };
        let evidence: Vec<&Exchange> = evidence.iter().collect();
        judge.record(run, rule, &evidence, outcome);
    }
    let arrival = match arrival {
        Ok(arrival) => arrival,
        Err(why) => {
            let blocked = judge.blocked(Test::Completes, &why);
            for rule in pack.rules.iter().filter(|r| later_phase(r.check)) {
                judge.record(run, rule, &last, blocked.clone());
            }
            return;
        }
    };

    // The code redeemed as the RP does it, then the tokens it got.
    let mut evidence: Vec<Exchange> = last.into_iter().cloned().collect();
    let authorization_evidence = evidence.len();
    let tokens: Got<Value> = match request.response_type {
        ResponseType::IdToken => Ok(serde_json::json!({ "id_token": arrival.params.get("id_token") })),
        ResponseType::Code => {
            let code = arrival.params.get("code").map(String::as_str).unwrap_or_default();
            match redeem(ctx, &reg, code, request.pkce.then_some(verifier.as_str())).await {
                Ok(r) => {
                    evidence.push(r.exchange.clone());
                    match r.json().filter(|b| r.status == 200 && b.is_object()) {
                        Some(body) => Ok(body),
                        None => Err(format!("the token endpoint answered {}", answered(&r))),
                    }
                }
                Err(e) => {
                    let why = format!("no answer from the token endpoint: {}", e.error.clone().unwrap_or_default());
                    evidence.push(e);
                    Err(why)
                }
            }
        }
    };
    if let Some(rule) = pack.rule(Test::TokenResponse) {
        let outcome = match &tokens {
            Err(why) => Outcome::Fail(why.clone()),
            Ok(body) => has_members(body, &rule.members, "the token response"),
        };
        let ev: Vec<&Exchange> = evidence.iter().skip(authorization_evidence).collect();
        judge.record(run, rule, &ev, outcome);
    }
    let tokens = match tokens {
        Ok(body) => body,
        Err(why) => {
            let blocked = judge.blocked(Test::TokenResponse, &why);
            for rule in pack.rules.iter().filter(|r| later_phase(r.check) && r.check != Test::TokenResponse) {
                judge.record(run, rule, &[], blocked.clone());
            }
            return;
        }
    };
    // A member the token-response rule requires and did not get was failed there: what needs it
    // is blocked by that rule; a member no rule requires fails what needs it.
    let missing = |member: &str, why: String| -> Outcome {
        match pack.rule(Test::TokenResponse).filter(|r| r.members.iter().any(|m| m == member)) {
            Some(_) => judge.blocked(Test::TokenResponse, &why),
            None => Outcome::Fail(why),
        }
    };
    let access_token = tokens["access_token"].as_str().filter(|t| !t.is_empty()).map(str::to_string);
    let id_token = tokens["id_token"].as_str().map(Jwt::decode);
    if let Some(Ok(_)) = &id_token {
        evidence.extend(ctx.jwks_for(tokens["id_token"].as_str().unwrap_or_default()).await);
    }
    let ev: Vec<&Exchange> = evidence.iter().collect();
    let id_token: Result<Jwt, Outcome> = match id_token {
        Some(Ok(jwt)) => Ok(jwt),
        Some(Err(why)) => Err(Outcome::Fail(format!("the id_token is malformed: {why}"))),
        None => Err(missing("id_token", "the RP got no id_token".into())),
    };
    // The standard rules, judged once: the id_token rule reports those it names, and a token
    // whose signature does not verify is not read by the rules after it (what it says is not
    // the provider's word).
    let standard: Vec<(id_token::Rule, Outcome)> = match &id_token {
        Ok(jwt) => {
            let expected = id_token::Expected {
                issuer: &ctx.issuer,
                client_id: &reg.client_id,
                nonce: nonce.as_deref(),
                max_age: None,
                access_token: access_token.as_deref(),
                at_hash_required: false,
                listed_algs: strings(ctx.metadata.as_ref(), "id_token_signing_alg_values_supported")
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                skew_secs: request.skew_secs.map(f64::from),
            };
            id_token::check(jwt, &expected, ctx.jwks(), id_token::now())
        }
        Err(_) => Vec::new(),
    };
    let unverified = standard.iter().any(|(r, o)| *r == id_token::Rule::Signature && matches!(o, Outcome::Fail(_)));
    for rule in &pack.rules {
        let outcome = match (rule.check, &id_token) {
            (Test::IdToken, Ok(_)) => {
                let named: Vec<(id_token::Rule, Outcome)> =
                    standard.iter().filter(|(r, _)| rule.claims.iter().any(|c| c == r.name())).cloned().collect();
                id_token::fold(&named)
            }
            (check, Ok(_)) if unverified && reads_id_token(check) => {
                judge.blocked(Test::IdToken, "the ID token's signature does not verify with the JWKS")
            }
            (Test::AcrSupported, Ok(jwt)) => acr_supported(jwt, ctx.metadata.as_ref()),
            (Test::IdTokenAlg, Ok(jwt)) => {
                let alg = jwt.header["alg"].as_str().unwrap_or_default();
                Outcome::expect(rule.values.iter().any(|v| v == alg), || format!("signed with {alg}, not {}", rule.values.join(" or ")))
            }
            (Test::HintSubject, Ok(jwt)) => {
                let hinted = hint.as_ref().map(|(_, sub)| sub.as_str()).unwrap_or_default();
                match jwt.claim_str("sub") {
                    Some(sub) => Outcome::expect(sub == hinted, || format!("sub \"{sub}\" is not the id_token_hint's \"{hinted}\"")),
                    None => Outcome::Fail("the ID token has no sub".into()),
                }
            }
            (Test::AcrRequested, Ok(jwt)) => acr_requested(jwt, &pack.requested_acr()),
            // The method is judged against an acr the RP accepts; a wrong acr is the acr rule's.
            (Test::AmrOneMethod, Ok(jwt)) if matches!(acr_requested(jwt, &pack.requested_acr()), Outcome::Fail(_)) => {
                judge.blocked(Test::AcrRequested, "the ID token's acr is not one the RP asked for")
            }
            (Test::AmrOneMethod, Ok(jwt)) => amr_one_method(jwt, &pack.requested_amr()),
            (Test::ClaimsRequested, Ok(jwt)) => claims_requested(jwt, &pack.essential_claims()),
            (Test::IdToken, Err(outcome)) => outcome.clone(),
            // Judged by the id_token rule (every pack that reads the ID token has one, `parse`
            // says so).
            (check, Err(_)) if reads_id_token(check) => judge.blocked(Test::IdToken, "no ID token to read"),
            _ => continue,
        };
        judge.record(run, rule, &ev, outcome);
    }
    if let Some(rule) = pack.rule(Test::AccessTokenAudience) {
        let outcome = match (&audience, ctx.profile.flows.access_token_format) {
            (None, _) => Outcome::NotRun(format!(
                "the registration has no resource to send as audience (set `resource` in the target's client for {})",
                pack.integration
            )),
            (_, AccessTokenFormat::Opaque) => Outcome::NotApplicable("the profile says access tokens are opaque".into()),
            (Some(audience), _) => match access_token.as_deref().map(Jwt::decode) {
                None => missing("access_token", "the RP got no access_token".into()),
                Some(Ok(jwt)) => {
                    let aud = id_token::audiences(&jwt.claims);
                    Outcome::expect(aud.contains(&audience.as_str()), || format!("aud {aud:?} lacks {audience}"))
                }
                Some(Err(why)) => Outcome::Fail(format!("the access token is not a JWT although the profile says JWT: {why}")),
            },
        };
        judge.record(run, rule, &ev, outcome);
    }
    if let Some(rule) = pack.rule(Test::Userinfo) {
        let (exchanges, outcome) = match (&access_token, &id_token) {
            (None, _) => (vec![], missing("access_token", "the RP got no access_token to call UserInfo with".into())),
            (Some(token), Ok(jwt)) => userinfo(ctx, token, jwt).await,
            (Some(_), Err(_)) => (vec![], judge.blocked(Test::IdToken, "no ID token to compare UserInfo's sub with")),
        };
        let ev: Vec<&Exchange> = exchanges.iter().collect();
        judge.record(run, rule, &ev, outcome);
    }
}

/// The pack's rules, recorded under the pack's suite.
struct Judge<'a> {
    suite: &'a Suite,
    pack: &'a Pack,
}

impl Judge<'_> {
    fn check(&self, rule: &PackRule) -> &Check {
        self.suite.checks.iter().find(|c| c.id == rule.id.as_str()).expect("a pack's suite has a check per rule")
    }

    fn record(&self, run: &mut Run, rule: &PackRule, evidence: &[&Exchange], outcome: Outcome) {
        run.record(self.suite, self.check(rule), evidence, outcome);
    }

    /// Blocked by the rule that judged the phase `test` (or by the step, when the pack has no
    /// such rule).
    fn blocked(&self, test: Test, why: &str) -> Outcome {
        match self.pack.rule(test) {
            Some(rule) => Outcome::blocked_by(self.check(rule), why),
            None => Outcome::blocked_by_step(test.name(), why),
        }
    }
}

/// Rules that read the ID token's claims or header.
pub(super) fn reads_id_token(test: Test) -> bool {
    matches!(
        test,
        Test::AcrSupported | Test::IdTokenAlg | Test::HintSubject | Test::AcrRequested | Test::AmrOneMethod | Test::ClaimsRequested
    )
}

/// Rules judged after the authorization response.
fn later_phase(test: Test) -> bool {
    matches!(
        test,
        Test::TokenResponse
            | Test::IdToken
            | Test::AcrSupported
            | Test::AccessTokenAudience
            | Test::Userinfo
            | Test::IdTokenAlg
            | Test::HintSubject
            | Test::AcrRequested
            | Test::AmrOneMethod
            | Test::ClaimsRequested
    )
}

/// Rules about what the provider publishes: judged before any login, and whether or not one
/// can happen.
fn discovery_phase(test: Test) -> bool {
    matches!(test, Test::DiscoveryHas | Test::DiscoveryUrl | Test::DiscoveryValues | Test::JwksX5c)
}

/// The rules about the discovery document and the JWKS, as the RP reads them.
async fn judge_discovery(ctx: &Context, run: &mut Run, judge: &Judge<'_>) {
    // The discovery suite's verdicts are not part of a certification: a step, not a check.
    let unread = || Outcome::blocked_by_step("reading the discovery document", "no discovery document could be read");
    for rule in judge.pack.rules.iter().filter(|r| discovery_phase(r.check)) {
        let mut evidence = Vec::new();
        let outcome = match (rule.check, &ctx.metadata) {
            (Test::DiscoveryUrl, _) => {
                let (exchange, outcome) = discovery_url(ctx).await;
                evidence.extend(exchange);
                outcome
            }
            (_, None) => unread(),
            (Test::DiscoveryHas, Some(doc)) => has_members(doc, &rule.members, "discovery"),
            // A member a discovery_has rule requires was failed there: blocked by it, not failed twice.
            (Test::DiscoveryValues, Some(doc)) => match judge
                .pack
                .rules
                .iter()
                .find(|r| r.check == Test::DiscoveryHas && r.members.iter().any(|m| Some(m.as_str()) == rule.member.as_deref()))
            {
                Some(has) if doc.get(rule.member.as_deref().unwrap_or_default()).is_none_or(Value::is_null) => {
                    Outcome::blocked_by(judge.check(has), format!("discovery has no {}", rule.member.as_deref().unwrap_or_default()))
                }
                _ => has_values(doc, rule),
            },
            (Test::JwksX5c, Some(_)) => match ctx.jwks() {
                None => Outcome::blocked_by_step("reading the JWKS", "no JWKS could be read from jwks_uri"),
                Some(jwks) => every_key_has_x5c(jwks),
            },
            _ => continue,
        };
        let evidence: Vec<&Exchange> = evidence.iter().collect();
        judge.record(run, rule, &evidence, outcome);
    }
}

/// The discovery URL the RP is given (the issuer's, OIDC Discovery §4.1): https, no query or
/// fragment, and a `Content-Length` on its answer.
async fn discovery_url(ctx: &Context) -> (Option<Exchange>, Outcome) {
    let url = ctx.discovery_url();
    let parsed = match url::Url::parse(&url) {
        Ok(parsed) => parsed,
        Err(e) => return (None, Outcome::Fail(format!("the discovery URL {url} does not parse: {e}"))),
    };
    let problem = match () {
        _ if parsed.scheme() != "https" => Some(format!("the discovery URL {url} is not https")),
        _ if parsed.query().is_some() || parsed.fragment().is_some() => Some(format!("the discovery URL {url} has a query or fragment")),
        _ if !parsed.path().ends_with("/.well-known/openid-configuration") => {
            Some(format!("the discovery URL {url} does not end with /.well-known/openid-configuration"))
        }
        _ => None,
    };
    if let Some(problem) = problem {
        return (None, Outcome::Fail(problem));
    }
    match ctx.http.send(ctx.http.get(&url)).await {
        Err(e) => {
            let why = format!("no answer at {url}: {}", e.error.clone().unwrap_or_default());
            (Some(e), Outcome::Fail(why))
        }
        Ok(r) => {
            let outcome = match (r.status, r.header("content-length")) {
                (200, Some(length)) => Outcome::PassNoted(format!("https, Content-Length {length}")),
                (200, None) => Outcome::Fail("the discovery document is sent without Content-Length (chunked)".into()),
                (status, _) => Outcome::Fail(format!("{status} at {url}")),
            };
            (Some(r.exchange), outcome)
        }
    }
}

/// A discovery list that must hold `rule.values` (OIDC Discovery §3).
fn has_values(doc: &Value, rule: &super::PackRule) -> Outcome {
    let member = rule.member.as_deref().expect("parse: a discovery_values rule names its member");
    match &doc[member] {
        Value::Null if rule.if_present => Outcome::PassNoted(format!("discovery has no {member} (OPTIONAL)")),
        Value::Null => Outcome::Fail(format!("discovery has no {member}")),
        Value::Array(list) => {
            let missing: Vec<&str> = rule.values.iter().map(String::as_str).filter(|v| !list.iter().any(|x| x == v)).collect();
            Outcome::expect(missing.is_empty(), || format!("{member} lacks {}", missing.join(", ")))
        }
        other => Outcome::Fail(format!("{member} is {other}, not a JSON array")),
    }
}

/// RFC 7517 §4.7: every key carries a non-empty `x5c` (Microsoft Entra reads the certificate).
fn every_key_has_x5c(jwks: &Value) -> Outcome {
    let keys = jwks["keys"].as_array().map(Vec::as_slice).unwrap_or_default();
    if keys.is_empty() {
        return Outcome::Fail("the JWKS has no keys".into());
    }
    let without: Vec<String> = keys
        .iter()
        .filter(|k| !k["x5c"].as_array().is_some_and(|chain| !chain.is_empty() && chain.iter().all(Value::is_string)))
        .map(|k| k["kid"].as_str().map_or_else(|| "a key without kid".to_string(), |kid| format!("kid {kid}")))
        .collect();
    Outcome::expect(without.is_empty(), || format!("no x5c on {}", without.join(", ")))
}

/// OIDC Core §5.5.1.1: one `acr`, a string, among the values the `claims` request asked for.
fn acr_requested(jwt: &Jwt, requested: &[String]) -> Outcome {
    match &jwt.claims["acr"] {
        Value::String(acr) if requested.contains(acr) => Outcome::PassNoted(format!("acr \"{acr}\"")),
        Value::String(acr) => Outcome::Fail(format!("acr \"{acr}\" is not one the RP asked for ({})", requested.join(", "))),
        Value::Null => Outcome::Fail("the ID token has no acr".into()),
        other => Outcome::Fail(format!("acr is {other}, not one string (OIDC Core §2)")),
    }
}

/// OIDC Core §5.5.1: an essential claim the provider can give is in the ID token, with the
/// requested `value` (or one of `values`) when the request names some. A custom control's claims
/// are strings.
fn claims_requested(jwt: &Jwt, essential: &[(String, Vec<String>)]) -> Outcome {
    let mut problems = Vec::new();
    for (name, values) in essential {
        match jwt.claims.get(name) {
            None => problems.push(format!("{name} is missing")),
            Some(_) if values.is_empty() => {}
            Some(Value::String(v)) if values.contains(v) => {}
            Some(other) => problems.push(format!("{name} is {other}, not {}", values.join(" or "))),
        }
    }
    Outcome::expect(problems.is_empty(), || problems.join("; "))
}

/// OIDC Core §2 `amr` is a JSON array; Microsoft Entra takes exactly one method, one of the amr
/// values its `claims` request asked for (the methods that satisfy the acr it asked for).
fn amr_one_method(jwt: &Jwt, requested: &[String]) -> Outcome {
    match &jwt.claims["amr"] {
        Value::Array(list) => match list.as_slice() {
            [Value::String(method)] if requested.is_empty() || requested.contains(method) => {
                Outcome::PassNoted(format!("amr [\"{method}\"]"))
            }
            [Value::String(method)] => {
                Outcome::Fail(format!("amr method \"{method}\" is not one the RP asked for ({})", requested.join(", ")))
            }
            _ => Outcome::Fail(format!("amr holds {} values, not exactly one method: {}", list.len(), jwt.claims["amr"])),
        },
        Value::Null => Outcome::Fail("the ID token has no amr".into()),
        other => Outcome::Fail(format!("amr is {other}, not a JSON array (OIDC Core §2)")),
    }
}

/// The authorization request as the RP sends it (a redirect or a form POST), driven to the RP:
/// the exchanges, and what arrived or why nothing did.
async fn send(ctx: &Context, method: super::Method, reg: &Registration, params: &[(&str, &str)]) -> (Vec<Exchange>, Got<Arrival>) {
    let browser = ctx.http.browser();
    let drive = match method {
        super::Method::Get => authorize(ctx, &browser, reg, params).await,
        super::Method::Post => authorize_by_post(ctx, &browser, reg, params).await,
    };
    match drive {
        Ok(drive) => (drive.exchanges, drive.result),
        Err(why) => (Vec::new(), Err(why)),
    }
}

/// The request that just worked, its hint re-signed by a key nobody trusts: the provider must
/// refuse it (an error sent back to the RP, or an error page of its own), never answer with an ID
/// token. Judged only after the same request with the real hint completed (the positive control).
async fn forged_hint_refused(
    ctx: &Context,
    method: super::Method,
    reg: &Registration,
    params: &[(&str, &str)],
    hint: &str,
) -> (Vec<Exchange>, Outcome) {
    let forged = forged(hint);
    let params: Vec<(&str, &str)> = params.iter().map(|&(k, v)| if k == "id_token_hint" { (k, forged.as_str()) } else { (k, v) }).collect();
    let (exchanges, arrival) = send(ctx, method, reg, &params).await;
    let last = exchanges.last();
    let outcome = match &arrival {
        Ok(a) if a.params.contains_key("id_token") => {
            Outcome::Fail("an id_token came back for a hint signed by a key nobody trusts".into())
        }
        Ok(a) => match a.params.get("error").map(String::as_str) {
            Some(e) if crate::engine::refusal::SERVER_TROUBLE.contains(&e) => {
                Outcome::blocked_by_step("sending a forged hint", format!("the provider answered {e}, which says nothing about the hint"))
            }
            Some(e) => Outcome::PassNoted(format!("refused with error={e} sent to the RP")),
            None => Outcome::Fail(format!("the RP received {} for a forged hint", describe_params(&a.params))),
        },
        // An error page of the provider's own (4xx) refuses too; a 5xx or a broken page tells nothing.
        Err(why) => match last.and_then(|e| e.status) {
            Some(status @ 400..=499) => Outcome::PassNoted(format!("refused with an error page ({status})")),
            _ => Outcome::blocked_by_step("sending a forged hint", why.clone()),
        },
    };
    (exchanges, outcome)
}

/// `hint` with the same header and claims, signed by a key generated for this run.
fn forged(hint: &str) -> String {
    static STRANGER: std::sync::OnceLock<reference_server::keys::SigningKey> = std::sync::OnceLock::new();
    let key = STRANGER.get_or_init(|| {
        reference_server::keys::SigningKey::generate(reference_server::config::Alg::RS256).expect("an RSA key is generated")
    });
    let claims: Value = hint
        .split('.')
        .nth(1)
        .and_then(|part| base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    key.sign_jwt(reference_server::keys::JwsType::Jwt, &claims).expect("the stranger key signs")
}

/// The `id_token_hint` the RP sends, and the `sub` it names. Entra's: RS256 by the published test
/// key, its `sub` random per run (Entra's pairwise identifiers are opaque), expired five minutes.
fn emulated_hint(style: super::HintStyle, reg: &Registration, username: Option<&str>) -> (String, String) {
    match style {
        super::HintStyle::Entra => {
            let now = id_token::now() as u64;
            let sub = random("", 43);
            let claims = serde_json::json!({
                "iss": reference_server::entra::test_issuer(),
                "aud": reg.client_id,
                "sub": sub,
                "oid": uuid_v4(),
                "tid": reference_server::entra::TEST_TENANT,
                "preferred_username": username.unwrap_or_default(),
                "iat": now - 900,
                "nbf": now - 900,
                "exp": now - 300,
                "ver": "2.0",
            });
            let jwt = reference_server::entra::test_key()
                .sign_jwt(reference_server::keys::JwsType::Jwt, &claims)
                .expect("the published test key signs");
            (jwt, sub)
        }
    }
}

/// The client the RP is registered as: the target's `[integrations.NAME]`, else the pack's
/// client role; authenticating at the token endpoint the way the RP does.
fn registration(ctx: &Context, pack: &Pack) -> Result<Registration, String> {
    let target = &ctx.target;
    let by_role = pack.client.and_then(|role| match role {
        Role::Confidential => target.confidential.as_ref(),
        Role::OtherConfidential => target.other_confidential.as_ref(),
        Role::Public => target.public.as_ref(),
        Role::Implicit => target.implicit.as_ref(),
    });
    let registered = match target.integrations.get(&pack.integration) {
        Some(Err(why)) => return Err(why.clone()),
        Some(Ok(reg)) => Some(reg),
        None => by_role,
    };
    let Some(mut reg) = registered.cloned() else {
        let stand_in = pack.client.map(|role| format!(" (nor a [clients.{}] to stand in)", role.name())).unwrap_or_default();
        return Err(format!("the target file has no [integrations.{}] registration{stand_in}", pack.integration));
    };
    if let Some(uri) = &pack.request.redirect_uri {
        reg.redirect_uri = Some(uri.clone());
    }
    // The RP authenticates its own way; a registration made for another method would be refused
    // for a reason of the setup, not of the provider.
    match pack.request.client_auth {
        Some(method) if method != reg.auth_method => Err(format!(
            "{} authenticates with {}, the registration with {}: register the app for {} and say so in [integrations.{}] (auth_method)",
            pack.relying_party,
            method.as_str(),
            reg.auth_method.as_str(),
            method.as_str(),
            pack.integration
        )),
        _ => Ok(reg),
    }
}

/// OIDC Core §2 `acr` (a string) against OIDC Discovery §3 `acr_values_supported`, which is
/// OPTIONAL: a document that lists none makes no promise to compare with.
fn acr_supported(jwt: &Jwt, metadata: Option<&Value>) -> Outcome {
    let acr = match &jwt.claims["acr"] {
        Value::Null => return Outcome::PassNoted("the ID token has no acr".into()),
        Value::String(acr) => acr.as_str(),
        other => return Outcome::Fail(format!("acr is {other}, not a string (OIDC Core §2)")),
    };
    let supported = strings(metadata, "acr_values_supported");
    if metadata.and_then(|m| m.get("acr_values_supported")).is_none() {
        return Outcome::PassNoted(format!("acr \"{acr}\"; discovery lists no acr_values_supported to compare with"));
    }
    Outcome::expect(supported.contains(&acr), || format!("acr \"{acr}\" is not one of acr_values_supported [{}]", supported.join(", ")))
}

/// `members` of a JSON object that are absent or null, as a verdict about `what`.
fn has_members(object: &Value, members: &[String], what: &str) -> Outcome {
    let missing: Vec<&str> = members.iter().map(String::as_str).filter(|m| object.get(*m).is_none_or(Value::is_null)).collect();
    Outcome::expect(missing.is_empty(), || format!("{what} lacks {}", missing.join(", ")))
}

/// UserInfo read with the access token in the Authorization header (RFC 6750 §2.1): a JSON object
/// whose `sub` is the ID token's (OIDC Core §5.3.2).
async fn userinfo(ctx: &Context, access_token: &str, id_token: &Jwt) -> (Vec<Exchange>, Outcome) {
    let Some(endpoint) = ctx.endpoint("userinfo_endpoint") else {
        return (vec![], Outcome::Fail("discovery names no userinfo_endpoint (nor does the target's [endpoints])".into()));
    };
    match ctx.http.send(ctx.http.get(endpoint).bearer_auth(access_token)).await {
        Err(e) => {
            let why = format!("no answer from UserInfo: {}", e.error.clone().unwrap_or_default());
            (vec![e], Outcome::Fail(why))
        }
        Ok(r) => {
            let outcome = match r.json().filter(|b| r.status == 200 && r.is_json() && b.is_object()) {
                None => Outcome::Fail(format!("UserInfo answered {}", answered(&r))),
                Some(body) => match (body["sub"].as_str(), id_token.claim_str("sub")) {
                    (None, _) => Outcome::Fail("the UserInfo response has no sub".into()),
                    // The ID token's own `sub` rule fails that; nothing to compare with here.
                    (Some(_), None) => Outcome::blocked_by_step("the ID token's sub", "the ID token has no sub to compare with"),
                    (Some(u), Some(t)) => Outcome::expect(u == t, || format!("UserInfo's sub \"{u}\" is not the ID token's \"{t}\"")),
                },
            };
            (vec![r.exchange], outcome)
        }
    }
}

/// A random UUID, version 4 (RFC 9562 §5.4), as some RPs send for `state`.
fn uuid_v4() -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 16];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut b).expect("system random");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_state_is_a_version_4_uuid() {
        let id = uuid_v4();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(uuid_v4(), id);
    }
}
