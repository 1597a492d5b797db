//! The client credentials grant (RFC 6749 §4.4) with audience / resource (RFC 8707), the
//! JWT access token it issues (RFC 9068), and the token endpoint's error rules (RFC 6749 §5.2).

use super::Context;
use super::flow::{authenticated, token};
use crate::engine::http::Response;
use crate::engine::jwt::Jwt;
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
use crate::engine::{access_token, id_token};
use crate::profile::{AccessTokenFormat, ParameterRule};
use crate::target::{AuthMethod, Registration, Secret};
use reports::Exchange;
use serde_json::Value;
use std::borrow::Cow;

const ISSUED: Check =
    required("cc.token-200", "A client credentials request gets 200 and a JSON object with an access token", "RFC 6749 §4.4.3, §5.1");
const NO_STORE: Check = required("cc.no-store", "The token response has Cache-Control: no-store", "RFC 6749 §5.1");
const BEARER: Check = required("cc.token-type-bearer", "token_type is Bearer", "RFC 6749 §5.1, RFC 6750 §4");
const EXPIRES_IN: Check = recommended("cc.expires-in", "expires_in is given", "RFC 6749 §5.1");
const EXPIRES_IN_NUMBER: Check =
    required("cc.expires-in-number", "expires_in, when given, is a JSON number of seconds", "RFC 6749 §5.1, Appendix A.14");
const CONTENT_TYPE: Check = required("cc.token-content-type", "The token response is served as application/json", "RFC 6749 §5.1");
const PASSWORD_GRANT: Check =
    required("token.password-grant-refused", "The resource owner password grant is refused, even with the right password", "RFC 9700 §2.4");
const REGISTERED_METHOD: Check = recommended(
    "token.registered-auth-method",
    "A client authenticating with another method than the one registered is refused",
    "OIDC Core §9, RFC 7591 §2 (token_endpoint_auth_method)",
);
const NO_REFRESH: Check = recommended("cc.no-refresh-token", "No refresh token is issued", "RFC 6749 §4.4.3");
const NO_ID_TOKEN: Check = recommended("cc.no-id-token", "No ID token is issued without a user", "OIDC Core §3.1.3.3");
const SCOPE: Check =
    required("cc.scope", "A token whose scope differs from the request says so in the scope parameter", "RFC 6749 §3.3, §5.1");
const SCOPE_MINIMAL: Check =
    recommended("cc.scope-least-privilege", "No scope beyond the requested one is granted", "RFC 9700 §2.3, RFC 6749 §3.3");
const AT_TYP: Check = required("cc.at-typ", "The access token is a JWT with typ at+jwt", "RFC 9068 §2.1");
const AT_SIGNATURE: Check = required("cc.at-signature", "The access token signature verifies with the JWKS", "RFC 9068 §4");
const AT_CLAIMS: Check = required(
    "cc.at-claims",
    "The access token has iss, exp, aud, sub, client_id, iat and jti; iss is the issuer, client_id the client",
    "RFC 9068 §2.2, §4",
);
const AT_SUB: Check = recommended("cc.at-sub-is-client", "sub identifies the client when no user is involved", "RFC 9068 §2.2");
const RESOURCE: Check = required("cc.resource-audience", "resource sets the access token's aud", "RFC 8707 §2, RFC 9068 §3");
const AUDIENCE: Check =
    required("cc.audience-parameter", "audience sets the access token's aud as the profile says", "profile (audience), RFC 8707 §2");
const UNKNOWN_RESOURCE: Check = required(
    "cc.unknown-resource",
    "An unknown resource is refused with invalid_target, or accepted as the token's audience",
    "RFC 8707 §2",
);
const BAD_SECRET: Check =
    required("token.bad-secret", "A wrong client secret gets invalid_client (401 when sent in the header)", "RFC 6749 §5.2");
const CHALLENGE: Check =
    required("token.bad-secret-challenge", "A 401 invalid_client carries a WWW-Authenticate challenge", "RFC 6749 §5.2");
const UNKNOWN_CLIENT: Check =
    required("token.unknown-client", "An unknown client gets invalid_client (401 when sent in the header)", "RFC 6749 §5.2");
const ERROR_SHAPE: Check = required("token.error-shape", "Errors are a JSON object with a string error", "RFC 6749 §5.2");
const ERROR_NO_STORE: Check = recommended("token.error-no-store", "Error responses are not cached either", "RFC 6749 §5.1, RFC 9700 §4");
const UNSUPPORTED_GRANT: Check =
    required("token.unsupported-grant-type", "An unknown grant_type gets unsupported_grant_type", "RFC 6749 §5.2");
const MISSING_GRANT: Check = required("token.missing-grant-type", "A request without grant_type gets invalid_request", "RFC 6749 §5.2");
const REPEATED: Check = required("token.repeated-parameter", "A repeated parameter gets invalid_request", "RFC 6749 §3.2, §5.2");
const GET_REFUSED: Check = required("token.post-only", "The token endpoint does not issue tokens over GET", "RFC 6749 §3.2");
const AUTH_BASIC: Check =
    required("token.auth-client-secret-basic", "A client registered for client_secret_basic authenticates with it", "RFC 6749 §2.3.1");
const AUTH_POST: Check = required(
    "token.auth-client-secret-post",
    "A client registered for client_secret_post authenticates with it",
    "RFC 6749 §2.3.1, OIDC Core §9",
);
const AUTH_NONE: Check = required("token.auth-none", "A public client is identified by client_id alone", "RFC 6749 §2.1, §3.2.1");
// RFC 6749 §2.3 binds the client ("MUST NOT use more than one method"); a server that lets it
// pass breaks no rule of its own, so this is a warning at most.
const AUTH_MIXED: Check = recommended("token.auth-one-method", "Credentials in both the header and the body are refused", "RFC 6749 §2.3");
const INVALID_SCOPE: Check = required(
    "token.invalid-scope",
    "An unknown scope gets invalid_scope, or a token whose scope parameter leaves it out",
    "RFC 6749 §3.3, §5.2",
);

pub const NAME: &str = "client-credentials";

pub const SUITE: Suite = Suite {
    name: Cow::Borrowed(NAME),
    checks: Cow::Borrowed(&[
        ISSUED,
        CONTENT_TYPE,
        NO_STORE,
        BEARER,
        EXPIRES_IN,
        EXPIRES_IN_NUMBER,
        NO_REFRESH,
        NO_ID_TOKEN,
        SCOPE,
        SCOPE_MINIMAL,
        AT_TYP,
        AT_SIGNATURE,
        AT_CLAIMS,
        AT_SUB,
        RESOURCE,
        AUDIENCE,
        UNKNOWN_RESOURCE,
        BAD_SECRET,
        CHALLENGE,
        UNKNOWN_CLIENT,
        ERROR_SHAPE,
        ERROR_NO_STORE,
        UNSUPPORTED_GRANT,
        MISSING_GRANT,
        REPEATED,
        GET_REFUSED,
        INVALID_SCOPE,
        AUTH_BASIC,
        AUTH_POST,
        AUTH_NONE,
        AUTH_MIXED,
        REGISTERED_METHOD,
        PASSWORD_GRANT,
    ]),
};

const UNKNOWN_TARGET: &str = "https://unknown-resource.oidc-harness.invalid/";

fn expect_error(run: &mut Run, check: &Check, response: &Result<Response, Exchange>, statuses: &[u16], error: &str) {
    super::expect_error(run, &SUITE, check, response, statuses, &[error]);
}

pub async fn run(ctx: &mut Context, run: &mut Run) {
    if !ctx.profile.flows.client_credentials {
        let why = "the profile has no client credentials grant";
        return super::record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::NotApplicable(why.into()));
    }
    if super::blocked_without(ctx, run, &SUITE, &["token_endpoint"]) {
        return;
    }
    let Some(reg) = ctx.target.service.clone() else {
        let why = "the target names no client credentials client";
        return super::record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::NotRun(why.into()));
    };
    let scope = reg.scope.clone().unwrap_or_default();
    let mut form = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    match token(ctx, &reg, &form).await {
        Ok(r) => {
            if let Some(access) = r.json().and_then(|b| b["access_token"].as_str().map(str::to_string)) {
                ctx.jwks_for(&access).await;
            }
            issued(ctx, run, &reg, &r, &scope)
        }
        Err(e) => {
            run.record(&SUITE, &ISSUED, &[&e], super::no_response(&e));
            let blocked = Outcome::blocked_by(&ISSUED, "no token response");
            super::record_all(run, &SUITE, &issued_checks()[1..], &[&e], &blocked);
        }
    }
    audiences(ctx, run, &reg).await;
    errors(ctx, run, &reg).await;
    authentication(ctx, run).await;
    password_grant(ctx, run).await;
}

/// RFC 9700 §2.4: the password grant MUST NOT be used, so a server must not issue a token for
/// it, even to a registered client sending the test user's real password (anything less would
/// be refused for the wrong reason).
async fn password_grant(ctx: &Context, run: &mut Run) {
    let (Some(reg), Some(user)) = (&ctx.target.confidential, &ctx.target.user) else {
        return run.record(&SUITE, &PASSWORD_GRANT, &[], Outcome::NotRun("the target names no confidential client or no test user".into()));
    };
    let form =
        [("grant_type", "password"), ("username", user.username.as_str()), ("password", user.password.expose()), ("scope", "openid")];
    match token(ctx, reg, &form).await {
        Ok(r) if r.json().is_some_and(|j| j.get("access_token").is_some()) => {
            run.record(&SUITE, &PASSWORD_GRANT, &[&r.exchange], Outcome::Fail("a token was issued for grant_type=password".into()))
        }
        Ok(r) if r.status >= 500 => run.record(&SUITE, &PASSWORD_GRANT, &[&r.exchange], super::server_error(&r)),
        // Refused, whatever the error's shape (that is token.error-shape's rule).
        Ok(r) if (400..500).contains(&r.status) => {
            run.record(&SUITE, &PASSWORD_GRANT, &[&r.exchange], Outcome::PassNoted(super::answered(&r)))
        }
        Ok(r) => {
            run.record(&SUITE, &PASSWORD_GRANT, &[&r.exchange], Outcome::Fail(format!("{}: not an OAuth refusal", super::answered(&r))))
        }
        Err(e) => run.record(&SUITE, &PASSWORD_GRANT, &[&e], super::no_response(&e)),
    }
}

/// Each authentication method the profile claims, probed with a refresh request carrying a
/// bogus token: authentication comes first (RFC 6749 §3.2.1), so a client that authenticated
/// gets `invalid_grant`, one that did not gets 401 `invalid_client`.
async fn authentication(ctx: &Context, run: &mut Run) {
    let regs = [&ctx.target.service, &ctx.target.confidential, &ctx.target.other_confidential, &ctx.target.public];
    let probe = [("grant_type", "refresh_token"), ("refresh_token", "oidc-harness-bogus-refresh-token")];
    for (check, method, name) in [
        (&AUTH_BASIC, AuthMethod::ClientSecretBasic, "client_secret_basic"),
        (&AUTH_POST, AuthMethod::ClientSecretPost, "client_secret_post"),
        (&AUTH_NONE, AuthMethod::None, "none"),
    ] {
        if !ctx.profile.flows.token_endpoint_auth_methods.iter().any(|m| m == name) {
            run.record(&SUITE, check, &[], Outcome::NotApplicable(format!("the profile does not claim {name}")));
            continue;
        }
        let Some(reg) = regs.iter().filter_map(|r| r.as_ref()).find(|r| r.auth_method == method) else {
            run.record(&SUITE, check, &[], Outcome::NotRun(format!("the target names no client using {name}")));
            continue;
        };
        // The control: the same probe from a client that cannot authenticate (a wrong secret,
        // or an unknown client_id for `none`) gets invalid_client, so the probe does reach client
        // authentication and an answer about the grant means the real client passed it.
        let impostor = match method {
            AuthMethod::None => Registration { client_id: "oidc-harness-unknown-client".into(), ..(*reg).clone() },
            _ => Registration { secret: Some(Secret::new("oidc-harness-wrong-secret")), ..(*reg).clone() },
        };
        let control = token(ctx, &impostor, &probe).await;
        let control_ok = control.as_ref().is_ok_and(|r| super::error_code(r).as_deref() == Some("invalid_client"));
        let control_ev: Vec<Exchange> = control.iter().map(|r| r.exchange.clone()).chain(control.as_ref().err().cloned()).collect();
        if !control_ok {
            let why = match &control {
                Ok(r) => format!("a client that cannot authenticate got {} to the same probe", super::answered(r)),
                Err(_) => "the control request got no response".to_string(),
            };
            let outcome = Outcome::blocked_by_step("positive control: the probe reaches client authentication", why);
            run.record(&SUITE, check, &control_ev.iter().collect::<Vec<_>>(), outcome);
            continue;
        }
        match token(ctx, reg, &probe).await {
            Ok(r) if r.status >= 500 => run.record(&SUITE, check, &[&r.exchange], super::server_error(&r)),
            Ok(r) => {
                // Authenticated means the request got past client authentication: an OAuth error
                // about the grant, never invalid_client.
                let error = super::error_code(&r);
                let outcome = match error.as_deref() {
                    _ if r.status == 401 => Outcome::Fail(format!("{} was not authenticated: {}", reg.client_id, super::answered(&r))),
                    Some("invalid_client") => Outcome::Fail(format!("{} was not authenticated: {}", reg.client_id, super::answered(&r))),
                    Some(_) => Outcome::Pass,
                    // Without an OAuth error there is no telling what was refused (the error
                    // shape is token.error-shape's rule).
                    None => {
                        Outcome::blocked_by(&ERROR_SHAPE, format!("no OAuth error to tell authentication apart: {}", super::answered(&r)))
                    }
                };
                run.record(&SUITE, check, &[&r.exchange], outcome);
            }
            Err(e) => run.record(&SUITE, check, &[&e], super::no_response(&e)),
        }
    }
    let Some(reg) = regs.iter().filter_map(|r| r.as_ref()).find(|r| r.auth_method == AuthMethod::ClientSecretBasic) else {
        let why = "the target names no client using client_secret_basic";
        run.record(&SUITE, &REGISTERED_METHOD, &[], Outcome::NotRun(why.into()));
        return run.record(&SUITE, &AUTH_MIXED, &[], Outcome::NotRun(why.into()));
    };
    let secret = reg.secret.as_ref().map(|s| s.expose()).unwrap_or("");
    let both = authenticated(
        &ctx.http,
        ctx.endpoint("token_endpoint").unwrap_or_default(),
        reg,
        &[probe[0], probe[1], ("client_id", &reg.client_id), ("client_secret", secret)],
    );
    let response = ctx.http.send(both).await;
    match &response {
        Ok(r) if r.status >= 500 => run.record(&SUITE, &AUTH_MIXED, &[&r.exchange], super::server_error(r)),
        Ok(r) => run.record(
            &SUITE,
            &AUTH_MIXED,
            &[&r.exchange],
            // Refused as a bad request or a failed authentication; any other error (invalid_grant
            // for the bogus token, unauthorized_client for the grant) means the client was let in.
            Outcome::expect(
                matches!(r.status, 400 | 401) && matches!(super::error_code(r).as_deref(), Some("invalid_request" | "invalid_client")),
                || format!("a request with both a Basic header and client_secret in the body was let in: {}", super::answered(r)),
            ),
        ),
        Err(e) => run.record(&SUITE, &AUTH_MIXED, &[e], super::no_response(e)),
    }
    // The same Basic client with its secret in the body instead: the registered method is the
    // only one it may use (OIDC Core §9). The request is one the client may make (client
    // credentials for the service client), so the only reason left to refuse it is the method.
    let other = Registration { auth_method: AuthMethod::ClientSecretPost, ..reg.clone() };
    let is_service = ctx.target.service.as_ref().is_some_and(|s| s.client_id == reg.client_id);
    let form: &[(&str, &str)] = if is_service { &[("grant_type", "client_credentials")] } else { &probe };
    let (outcome, exchange) = match token(ctx, &other, form).await {
        Ok(r) if r.status >= 500 => (super::server_error(&r), r.exchange),
        Ok(r) if super::error_code(&r).as_deref() == Some("invalid_client") => (Outcome::Pass, r.exchange),
        Ok(r) if r.status == 200 || (!is_service && super::error_code(&r).is_some()) => {
            let answer = if r.status == 200 { "a token was issued".to_string() } else { super::answered(&r) };
            let why = format!("{} registered for client_secret_basic authenticated with client_secret_post: {answer}", reg.client_id);
            (Outcome::Fail(why), r.exchange)
        }
        Ok(r) => {
            let why = format!("the answer does not tell whether the method was accepted: {}", super::answered(&r));
            (Outcome::blocked_by_step("a request the client may make", why), r.exchange)
        }
        Err(e) => (super::no_response(&e), e),
    };
    run.record(&SUITE, &REGISTERED_METHOD, &[&exchange], outcome);
}

/// RFC 6749 §3.3 lets a server ignore part of the requested scope, but then the response MUST
/// name the scope it granted; otherwise the unknown scope is `invalid_scope` (§5.2).
fn unknown_scope(run: &mut Run, response: &Result<Response, Exchange>) {
    let Ok(r) = response else { return expect_error(run, &INVALID_SCOPE, response, &[400], "invalid_scope") };
    if r.status != 200 {
        return expect_error(run, &INVALID_SCOPE, response, &[400], "invalid_scope");
    }
    let body = r.json().unwrap_or(Value::Null);
    let outcome = match body["scope"].as_str() {
        Some(granted) if granted.split(' ').any(|s| s == "oidc-harness-unknown-scope") => {
            Outcome::Fail(format!("the unknown scope was granted: scope \"{granted}\""))
        }
        Some(granted) => Outcome::PassNoted(format!("the unknown scope was dropped: scope \"{granted}\" granted")),
        None => Outcome::Fail("a token was issued for an unknown scope without a scope parameter saying what was granted".into()),
    };
    run.record(&SUITE, &INVALID_SCOPE, &[&r.exchange], outcome);
}

/// The checks judged on the first token response (the suite's checks before
/// `cc.resource-audience`): blocked together when there is none.
fn issued_checks() -> &'static [Check] {
    let Cow::Borrowed(checks) = SUITE.checks else { return &[] };
    let end = checks.iter().position(|c| c.id == RESOURCE.id).unwrap_or(checks.len());
    &checks[..end]
}

fn issued(ctx: &Context, run: &mut Run, reg: &Registration, r: &Response, scope: &str) {
    let ev = [&r.exchange];
    let body = r.json().filter(|_| r.status == 200).unwrap_or(Value::Null);
    let access = body["access_token"].as_str().unwrap_or("").to_string();
    if r.status >= 500 {
        run.record(&SUITE, &ISSUED, &ev, super::server_error(r));
    } else {
        run.record(&SUITE, &ISSUED, &ev, Outcome::expect(!access.is_empty(), || super::answered(r)));
    }
    if access.is_empty() {
        return super::record_all(run, &SUITE, &issued_checks()[1..], &ev, &Outcome::blocked_by(&ISSUED, "no access token was issued"));
    }
    if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt {
        for check in [&AT_TYP, &AT_SIGNATURE, &AT_CLAIMS, &AT_SUB] {
            run.declare_not_applicable(&SUITE, check, "the profile says access tokens are opaque");
        }
    }
    run.record(&SUITE, &CONTENT_TYPE, &ev, super::json_content_type(r));
    let cache = r.header("cache-control").unwrap_or("").to_ascii_lowercase();
    run.record(&SUITE, &NO_STORE, &ev, Outcome::expect(cache.contains("no-store"), || format!("Cache-Control is \"{cache}\"")));
    let token_type = body["token_type"].as_str().unwrap_or("");
    run.record(
        &SUITE,
        &BEARER,
        &ev,
        Outcome::expect(token_type.eq_ignore_ascii_case("bearer"), || format!("token_type is \"{token_type}\"")),
    );
    run.record(&SUITE, &EXPIRES_IN, &ev, Outcome::expect(body.get("expires_in").is_some(), || "no expires_in".into()));
    run.record(&SUITE, &EXPIRES_IN_NUMBER, &ev, super::expires_in_number(&body));
    run.record(&SUITE, &NO_REFRESH, &ev, Outcome::expect(body.get("refresh_token").is_none(), || "a refresh token was issued".into()));
    run.record(&SUITE, &NO_ID_TOKEN, &ev, Outcome::expect(body.get("id_token").is_none(), || "an ID token was issued".into()));
    scope_rules(run, &ev, &body, &access, scope);
    if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt {
        for check in [&AT_TYP, &AT_SIGNATURE, &AT_CLAIMS, &AT_SUB] {
            run.record(&SUITE, check, &ev, Outcome::NotApplicable("the profile says access tokens are opaque".into()));
        }
        return;
    }
    match Jwt::decode(&access) {
        Ok(jwt) => {
            let results = access_token::check(&jwt, &ctx.issuer, &reg.client_id, ctx.jwks(), id_token::now());
            let of = |rules: &[access_token::Rule]| {
                access_token::fold(&results.iter().filter(|(r, _)| rules.contains(r)).cloned().collect::<Vec<_>>())
            };
            run.record(&SUITE, &AT_TYP, &ev, of(&[access_token::Rule::Typ]));
            run.record(&SUITE, &AT_SIGNATURE, &ev, of(&[access_token::Rule::Signature]));
            run.record(&SUITE, &AT_CLAIMS, &ev, of(&[access_token::Rule::Claims, access_token::Rule::Iss, access_token::Rule::ClientId]));
            run.record(
                &SUITE,
                &AT_SUB,
                &ev,
                Outcome::expect(jwt.claim_str("sub") == Some(reg.client_id.as_str()), || format!("sub {}", jwt.claims["sub"])),
            );
        }
        Err(why) => {
            for check in [&AT_TYP, &AT_SIGNATURE, &AT_CLAIMS, &AT_SUB] {
                run.record(&SUITE, check, &ev, Outcome::Fail(format!("the access token is not a JWT: {why}")));
            }
        }
    }
}

/// RFC 6749 §5.1: a granted scope other than the requested one MUST be named in `scope`; the
/// token's own `scope` claim (RFC 9068 §2.2.3) shows what was granted when the response is
/// silent. Beyond the request is a least-privilege warning (RFC 9700 §2.3).
fn scope_rules(run: &mut Run, ev: &[&Exchange], body: &Value, access: &str, requested: &str) {
    let words = |s: &str| s.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect::<Vec<String>>();
    let requested = words(requested);
    let named = body["scope"].as_str().map(words);
    let in_token = Jwt::decode(access).ok().and_then(|jwt| jwt.claim_str("scope").map(words));
    // What the token really carries, when it says; else what the response names.
    let granted = in_token.clone().or(named.clone());
    let same = |a: &[String], b: &[String]| a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x));
    let outcome = match (&named, &in_token) {
        (Some(named), Some(token)) if !same(named, token) => {
            Outcome::Fail(format!("the response names scope \"{}\" but the token carries \"{}\"", named.join(" "), token.join(" ")))
        }
        (None, Some(token)) if !same(token, &requested) => Outcome::Fail(format!(
            "the token carries scope \"{}\" for a request of \"{}\", and the response has no scope parameter saying so",
            token.join(" "),
            requested.join(" ")
        )),
        (Some(named), _) if !same(named, &requested) => {
            Outcome::PassNoted(format!("the response names the granted scope \"{}\"", named.join(" ")))
        }
        _ => Outcome::Pass,
    };
    run.record(&SUITE, &SCOPE, ev, outcome);
    let extra: Vec<String> = granted.unwrap_or_default().into_iter().filter(|g| !requested.contains(g)).collect();
    run.record(&SUITE, &SCOPE_MINIMAL, ev, Outcome::expect(extra.is_empty(), || format!("granted {} beyond the request", extra.join(" "))));
}

/// The `aud` of an access token issued with `param=value` and no scope (scopes belong to a
/// resource server, and the client's usual scope may not exist at this one).
async fn audience_with(ctx: &Context, reg: &Registration, param: &str, value: &str) -> (Option<Exchange>, Result<Vec<String>, String>) {
    match token(ctx, reg, &[("grant_type", "client_credentials"), (param, value)]).await {
        Ok(r) => {
            let aud = r
                .json()
                .and_then(|b| b["access_token"].as_str().and_then(|t| Jwt::decode(t).ok()))
                .map(|jwt| match &jwt.claims["aud"] {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
                    _ => vec![],
                })
                .ok_or_else(|| format!("status {}, no JWT access token", r.status));
            (Some(r.exchange), aud)
        }
        Err(e) => (Some(e), Err("no response".into())),
    }
}

async fn audiences(ctx: &Context, run: &mut Run, reg: &Registration) {
    let jwt = ctx.profile.flows.access_token_format == AccessTokenFormat::Jwt;
    for (check, param) in [(&RESOURCE, "resource"), (&AUDIENCE, "audience")] {
        let honoured = ctx.profile.parameters.get(param) == Some(&ParameterRule::Honoured);
        let resource = match (&reg.resource, honoured, jwt) {
            (_, _, false) => Err(Outcome::NotApplicable("the profile says access tokens are opaque".into())),
            (_, false, _) => Err(Outcome::NotApplicable("the profile does not honour this parameter".into())),
            (None, _, _) => Err(Outcome::NotRun("the target names no resource for the client".into())),
            (Some(resource), _, _) => Ok(resource),
        };
        let resource = match resource {
            Ok(resource) => resource,
            Err(outcome) => {
                run.record(&SUITE, check, &[], outcome);
                continue;
            }
        };
        let (exchange, aud) = audience_with(ctx, reg, param, resource).await;
        let ev: Vec<&Exchange> = exchange.iter().collect();
        run.record(
            &SUITE,
            check,
            &ev,
            match aud {
                Ok(aud) => Outcome::expect(aud.iter().any(|a| a == resource), || format!("aud [{}], requested {resource}", aud.join(", "))),
                Err(why) => Outcome::Fail(why),
            },
        );
    }
    if ctx.profile.parameters.get("resource") == Some(&ParameterRule::Honoured) {
        // RFC 8707 §2: invalid_target is for a resource the server does not find acceptable. A
        // server without a registry of resource servers may accept any absolute URI, and then
        // the token must be audience-restricted to it; accepting it and issuing a token for
        // something else means the parameter was silently ignored.
        let response = token(ctx, reg, &[("grant_type", "client_credentials"), ("resource", UNKNOWN_TARGET)]).await;
        match &response {
            Ok(r) if r.status == 200 => {
                let aud = r
                    .json()
                    .and_then(|b| b["access_token"].as_str().and_then(|t| Jwt::decode(t).ok()))
                    .map(|jwt| id_token::audiences(&jwt.claims).iter().map(|a| a.to_string()).collect::<Vec<_>>());
                let outcome = match aud {
                    Some(aud) if aud.iter().any(|a| a == UNKNOWN_TARGET) => {
                        Outcome::PassNoted("accepted, with the token's aud the requested resource".into())
                    }
                    Some(aud) => {
                        Outcome::Fail(format!("accepted, but the token's aud is [{}], not the requested resource", aud.join(", ")))
                    }
                    None => Outcome::Fail("accepted, with no JWT access token to show its audience".into()),
                };
                run.record(&SUITE, &UNKNOWN_RESOURCE, &[&r.exchange], outcome);
            }
            _ => expect_error(run, &UNKNOWN_RESOURCE, &response, &[400], "invalid_target"),
        }
    } else {
        run.record(&SUITE, &UNKNOWN_RESOURCE, &[], Outcome::NotApplicable("the profile does not honour resource".into()));
    }
}

async fn errors(ctx: &Context, run: &mut Run, reg: &Registration) {
    let endpoint = ctx.endpoint("token_endpoint").unwrap_or_default().to_string();
    let wrong = Registration { secret: Some(Secret::new("oidc-harness-wrong-secret")), ..reg.clone() };
    let bad_secret = ctx.http.send(authenticated(&ctx.http, &endpoint, &wrong, &[("grant_type", "client_credentials")])).await;
    let header = super::invalid_client_statuses(reg.auth_method == AuthMethod::ClientSecretBasic);
    expect_error(run, &BAD_SECRET, &bad_secret, header, "invalid_client");
    match &bad_secret {
        Ok(r) if r.status == 401 => run.record(
            &SUITE,
            &CHALLENGE,
            &[&r.exchange],
            Outcome::expect(r.header("www-authenticate").is_some(), || "the 401 has no WWW-Authenticate header".into()),
        ),
        Ok(r) if r.status == 400 && super::error_code(r).as_deref() == Some("invalid_client") => {
            let why = "the failed authentication was answered 400, which carries no challenge (RFC 6749 §5.2)";
            run.record(&SUITE, &CHALLENGE, &[&r.exchange], Outcome::NotApplicable(why.into()))
        }
        Ok(r) => run.record(&SUITE, &CHALLENGE, &[&r.exchange], Outcome::blocked_by(&BAD_SECRET, "no invalid_client answer to inspect")),
        Err(e) => run.record(&SUITE, &CHALLENGE, &[e], super::no_response(e)),
    }
    let stranger = Registration { client_id: "oidc-harness-unknown-client".into(), ..wrong };
    let unknown = ctx.http.send(authenticated(&ctx.http, &endpoint, &stranger, &[("grant_type", "client_credentials")])).await;
    expect_error(run, &UNKNOWN_CLIENT, &unknown, header, "invalid_client");

    let unsupported = token(ctx, reg, &[("grant_type", "urn:oidc-harness:unknown-grant")]).await;
    expect_error(run, &UNSUPPORTED_GRANT, &unsupported, &[400], "unsupported_grant_type");
    match &unsupported {
        Ok(r) => {
            let json = r.json();
            let shaped = r.is_json()
                && json.as_ref().is_some_and(|j| j["error"].is_string() && j.get("error_description").is_none_or(Value::is_string));
            run.record(
                &SUITE,
                &ERROR_SHAPE,
                &[&r.exchange],
                Outcome::expect(shaped, || {
                    format!("Content-Type {}, the body is not the §5.2 JSON shape", r.header("content-type").unwrap_or("absent"))
                }),
            );
            let cache = r.header("cache-control").unwrap_or("").to_ascii_lowercase();
            run.record(
                &SUITE,
                &ERROR_NO_STORE,
                &[&r.exchange],
                Outcome::expect(cache.contains("no-store"), || format!("Cache-Control is \"{cache}\"")),
            );
        }
        Err(e) => {
            run.record(&SUITE, &ERROR_SHAPE, &[e], super::no_response(e));
            run.record(&SUITE, &ERROR_NO_STORE, &[e], super::no_response(e));
        }
    }
    let missing = token(ctx, reg, &[("scope", reg.scope.as_deref().unwrap_or("openid"))]).await;
    expect_error(run, &MISSING_GRANT, &missing, &[400], "invalid_request");
    let repeated = token(ctx, reg, &[("grant_type", "client_credentials"), ("grant_type", "client_credentials")]).await;
    expect_error(run, &REPEATED, &repeated, &[400], "invalid_request");
    let scope = token(ctx, reg, &[("grant_type", "client_credentials"), ("scope", "oidc-harness-unknown-scope")]).await;
    unknown_scope(run, &scope);
    let get = ctx.http.send(super::flow::authenticated_get(&ctx.http, &endpoint, reg, &[("grant_type", "client_credentials")])).await;
    match get {
        Ok(r) if r.json().is_some_and(|j| j.get("access_token").is_some()) => {
            run.record(&SUITE, &GET_REFUSED, &[&r.exchange], Outcome::Fail(format!("a GET got a token ({})", r.status)))
        }
        Ok(r) if (400..500).contains(&r.status) => {
            run.record(&SUITE, &GET_REFUSED, &[&r.exchange], Outcome::PassNoted(format!("GET was refused with {}", r.status)))
        }
        Ok(r) if r.status >= 500 => run.record(&SUITE, &GET_REFUSED, &[&r.exchange], super::server_error(&r)),
        Ok(r) => {
            run.record(&SUITE, &GET_REFUSED, &[&r.exchange], Outcome::Fail(format!("GET answered {} instead of a 4xx refusal", r.status)))
        }
        Err(e) => run.record(&SUITE, &GET_REFUSED, &[&e], super::no_response(&e)),
    }
}
