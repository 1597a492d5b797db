//! The client credentials grant (RFC 6749 §4.4) with audience / resource (RFC 8707), the
//! JWT access token it issues (RFC 9068), and the token endpoint's error rules (RFC 6749 §5.2).

use super::Context;
use super::flow::{authenticated, token};
use crate::engine::http::Response;
use crate::engine::jwt::Jwt;
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
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
const NO_REFRESH: Check = recommended("cc.no-refresh-token", "No refresh token is issued", "RFC 6749 §4.4.3");
const NO_ID_TOKEN: Check = recommended("cc.no-id-token", "No ID token is issued without a user", "OIDC Core §3.1.3.3");
const SCOPE: Check = required("cc.scope", "The granted scope, when returned, is within the requested scope", "RFC 6749 §3.3, §5.1");
const AT_TYP: Check = required("cc.at-typ", "The access token is a JWT with typ at+jwt", "RFC 9068 §2.1");
const AT_SIGNATURE: Check = required("cc.at-signature", "The access token signature verifies with the JWKS", "RFC 9068 §4");
const AT_CLAIMS: Check = required("cc.at-claims", "The access token has iss, exp, aud, sub, client_id, iat and jti", "RFC 9068 §2.2");
const AT_SUB: Check = recommended("cc.at-sub-is-client", "sub identifies the client when no user is involved", "RFC 9068 §2.2");
const RESOURCE: Check = required("cc.resource-audience", "resource sets the access token's aud", "RFC 8707 §2, RFC 9068 §3");
const AUDIENCE: Check =
    required("cc.audience-parameter", "audience sets the access token's aud as the profile says", "profile (audience), RFC 8707 §2");
const UNKNOWN_RESOURCE: Check = required("cc.unknown-resource", "An unknown resource is refused with invalid_target", "RFC 8707 §2");
const BAD_SECRET: Check = required("token.bad-secret", "A wrong client secret gets 401 invalid_client", "RFC 6749 §5.2");
const CHALLENGE: Check = required("token.bad-secret-challenge", "That 401 carries a WWW-Authenticate challenge", "RFC 6749 §5.2");
const UNKNOWN_CLIENT: Check = required("token.unknown-client", "An unknown client gets 401 invalid_client", "RFC 6749 §5.2");
const ERROR_SHAPE: Check = required("token.error-shape", "Errors are a JSON object with a string error", "RFC 6749 §5.2");
const ERROR_NO_STORE: Check = recommended("token.error-no-store", "Error responses are not cached either", "RFC 6749 §5.1, RFC 9700 §4");
const UNSUPPORTED_GRANT: Check =
    required("token.unsupported-grant-type", "An unknown grant_type gets unsupported_grant_type", "RFC 6749 §5.2");
const MISSING_GRANT: Check = required("token.missing-grant-type", "A request without grant_type gets invalid_request", "RFC 6749 §5.2");
const REPEATED: Check = required("token.repeated-parameter", "A repeated parameter gets invalid_request", "RFC 6749 §3.1, §5.2");
const GET_REFUSED: Check = required("token.post-only", "The token endpoint does not issue tokens over GET", "RFC 6749 §3.2");
const AUTH_BASIC: Check =
    required("token.auth-client-secret-basic", "A client registered for client_secret_basic authenticates with it", "RFC 6749 §2.3.1");
const AUTH_POST: Check = required(
    "token.auth-client-secret-post",
    "A client registered for client_secret_post authenticates with it",
    "RFC 6749 §2.3.1, OIDC Core §9",
);
const AUTH_NONE: Check = required("token.auth-none", "A public client is identified by client_id alone", "RFC 6749 §2.1, §3.2.1");
const AUTH_MIXED: Check = required("token.auth-one-method", "Credentials in both the header and the body are refused", "RFC 6749 §2.3");
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
        NO_STORE,
        BEARER,
        EXPIRES_IN,
        NO_REFRESH,
        NO_ID_TOKEN,
        SCOPE,
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
    ]),
};

const UNKNOWN_TARGET: &str = "https://unknown-resource.oidc-harness.invalid/";

fn expect_error(run: &mut Run, check: &Check, response: &Result<Response, Exchange>, status: u16, error: &str) {
    super::expect_error(run, &SUITE, check, response, status, error);
}

pub async fn run(ctx: &mut Context, run: &mut Run) {
    if !ctx.profile.flows.client_credentials {
        return super::record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::Skip("the profile has no client credentials grant".into()));
    }
    let Some(reg) = ctx.target.service.clone() else {
        return super::record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::Skip("the target names no client credentials client".into()));
    };
    let scope = reg.scope.clone().unwrap_or_default();
    let mut form = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    match token(ctx, &reg, &form).await {
        Ok(r) => issued(ctx, run, &reg, &r, &scope),
        Err(e) => {
            for check in &SUITE.checks[..11] {
                run.record(&SUITE, check, &[&e], Outcome::Fail("no response".into()));
            }
        }
    }
    audiences(ctx, run, &reg).await;
    errors(ctx, run, &reg).await;
    authentication(ctx, run).await;
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
            run.record(&SUITE, check, &[], Outcome::Skip(format!("the profile does not claim {name}")));
            continue;
        }
        let Some(reg) = regs.iter().filter_map(|r| r.as_ref()).find(|r| r.auth_method == method) else {
            run.record(&SUITE, check, &[], Outcome::Skip(format!("the target names no client using {name}")));
            continue;
        };
        match token(ctx, reg, &probe).await {
            Ok(r) => {
                let error = super::error_code(&r);
                run.record(
                    &SUITE,
                    check,
                    &[&r.exchange],
                    Outcome::expect(r.status != 401 && error.as_deref() != Some("invalid_client"), || {
                        format!("{} was not authenticated: status {}, error {error:?}", reg.client_id, r.status)
                    }),
                );
            }
            Err(e) => run.record(&SUITE, check, &[&e], Outcome::Fail("no response".into())),
        }
    }
    let Some(reg) = regs.iter().filter_map(|r| r.as_ref()).find(|r| r.auth_method == AuthMethod::ClientSecretBasic) else {
        return run.record(&SUITE, &AUTH_MIXED, &[], Outcome::Skip("the target names no client using client_secret_basic".into()));
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
        Ok(r) => run.record(
            &SUITE,
            &AUTH_MIXED,
            &[&r.exchange],
            // Refused as a bad request or a failed authentication; any other error (invalid_grant
            // for the bogus token, unauthorized_client for the grant) means the client was let in.
            Outcome::expect(
                matches!(r.status, 400 | 401) && matches!(super::error_code(r).as_deref(), Some("invalid_request" | "invalid_client")),
                || format!("accepted: status {}, error {:?}", r.status, super::error_code(r)),
            ),
        ),
        Err(e) => run.record(&SUITE, &AUTH_MIXED, &[e], Outcome::Fail("no response".into())),
    }
}

/// RFC 6749 §3.3 lets a server ignore part of the requested scope, but then the response MUST
/// name the scope it granted; otherwise the unknown scope is `invalid_scope` (§5.2).
fn unknown_scope(run: &mut Run, response: &Result<Response, Exchange>) {
    let Ok(r) = response else { return expect_error(run, &INVALID_SCOPE, response, 400, "invalid_scope") };
    if r.status != 200 {
        return expect_error(run, &INVALID_SCOPE, response, 400, "invalid_scope");
    }
    let body = r.json().unwrap_or(Value::Null);
    let outcome = match body["scope"].as_str() {
        Some(granted) => Outcome::expect(!granted.split(' ').any(|s| s == "oidc-harness-unknown-scope"), || {
            format!("the unknown scope was granted: scope {granted:?}")
        }),
        None => Outcome::Fail("a token was issued for an unknown scope without a scope parameter saying what was granted".into()),
    };
    run.record(&SUITE, &INVALID_SCOPE, &[&r.exchange], outcome);
}

fn issued(ctx: &Context, run: &mut Run, reg: &Registration, r: &Response, scope: &str) {
    let ev = [&r.exchange];
    let body = r.json().filter(|_| r.status == 200).unwrap_or(Value::Null);
    let access = body["access_token"].as_str().unwrap_or("").to_string();
    run.record(&SUITE, &ISSUED, &ev, Outcome::expect(!access.is_empty(), || format!("status {}", r.status)));
    let cache = r.header("cache-control").unwrap_or("").to_ascii_lowercase();
    run.record(&SUITE, &NO_STORE, &ev, Outcome::expect(cache.contains("no-store"), || format!("Cache-Control: {cache:?}")));
    let token_type = body["token_type"].as_str().unwrap_or("");
    run.record(&SUITE, &BEARER, &ev, Outcome::expect(token_type.eq_ignore_ascii_case("bearer"), || format!("token_type {token_type:?}")));
    run.record(&SUITE, &EXPIRES_IN, &ev, Outcome::expect(body["expires_in"].is_u64(), || "no numeric expires_in".into()));
    run.record(&SUITE, &NO_REFRESH, &ev, Outcome::expect(body.get("refresh_token").is_none(), || "a refresh token was issued".into()));
    run.record(&SUITE, &NO_ID_TOKEN, &ev, Outcome::expect(body.get("id_token").is_none(), || "an ID token was issued".into()));
    let granted: Vec<&str> = body["scope"].as_str().map(|s| s.split(' ').filter(|x| !x.is_empty()).collect()).unwrap_or_default();
    let requested: Vec<&str> = scope.split(' ').filter(|x| !x.is_empty()).collect();
    let extra: Vec<&&str> = granted.iter().filter(|g| !requested.contains(g)).collect();
    run.record(&SUITE, &SCOPE, &ev, Outcome::expect(extra.is_empty(), || format!("granted {extra:?} beyond the request")));
    if ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt {
        for check in [&AT_TYP, &AT_SIGNATURE, &AT_CLAIMS, &AT_SUB] {
            run.record(&SUITE, check, &ev, Outcome::Skip("the profile says access tokens are opaque".into()));
        }
        return;
    }
    match Jwt::decode(&access) {
        Ok(jwt) => {
            let typ = jwt.header["typ"].as_str().unwrap_or("");
            run.record(
                &SUITE,
                &AT_TYP,
                &ev,
                Outcome::expect(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"), || {
                    format!("typ {typ:?}")
                }),
            );
            let verified = ctx.jwks.as_ref().map_or(Err("no JWKS".to_string()), |jwks| jwt.verify(jwks));
            run.record(&SUITE, &AT_SIGNATURE, &ev, verified.map_or_else(Outcome::Fail, |()| Outcome::Pass));
            let missing: Vec<&str> =
                ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"].into_iter().filter(|c| jwt.claims.get(*c).is_none()).collect();
            run.record(&SUITE, &AT_CLAIMS, &ev, Outcome::expect(missing.is_empty(), || format!("missing {missing:?}")));
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
        let (Some(resource), true, true) = (&reg.resource, honoured, jwt) else {
            let why = if !jwt {
                "the profile says access tokens are opaque"
            } else if !honoured {
                "the profile does not honour this parameter"
            } else {
                "the target names no resource for the client"
            };
            run.record(&SUITE, check, &[], Outcome::Skip(why.into()));
            continue;
        };
        let (exchange, aud) = audience_with(ctx, reg, param, resource).await;
        let ev: Vec<&Exchange> = exchange.iter().collect();
        run.record(
            &SUITE,
            check,
            &ev,
            match aud {
                Ok(aud) => Outcome::expect(aud.iter().any(|a| a == resource), || format!("aud {aud:?}, requested {resource}")),
                Err(why) => Outcome::Fail(why),
            },
        );
    }
    if ctx.profile.parameters.get("resource") == Some(&ParameterRule::Honoured) {
        let response = token(ctx, reg, &[("grant_type", "client_credentials"), ("resource", UNKNOWN_TARGET)]).await;
        expect_error(run, &UNKNOWN_RESOURCE, &response, 400, "invalid_target");
    } else {
        run.record(&SUITE, &UNKNOWN_RESOURCE, &[], Outcome::Skip("the profile does not honour resource".into()));
    }
}

async fn errors(ctx: &Context, run: &mut Run, reg: &Registration) {
    let endpoint = ctx.endpoint("token_endpoint").unwrap_or_default().to_string();
    let wrong = Registration { secret: Some(Secret::new("oidc-harness-wrong-secret")), ..reg.clone() };
    let bad_secret = ctx.http.send(authenticated(&ctx.http, &endpoint, &wrong, &[("grant_type", "client_credentials")])).await;
    expect_error(run, &BAD_SECRET, &bad_secret, 401, "invalid_client");
    match &bad_secret {
        Ok(r) => run.record(
            &SUITE,
            &CHALLENGE,
            &[&r.exchange],
            Outcome::expect(r.status != 401 || r.header("www-authenticate").is_some(), || "no WWW-Authenticate".into()),
        ),
        Err(e) => run.record(&SUITE, &CHALLENGE, &[e], Outcome::Fail("no response".into())),
    }
    let stranger = Registration { client_id: "oidc-harness-unknown-client".into(), ..wrong };
    let unknown = ctx.http.send(authenticated(&ctx.http, &endpoint, &stranger, &[("grant_type", "client_credentials")])).await;
    expect_error(run, &UNKNOWN_CLIENT, &unknown, 401, "invalid_client");

    let unsupported = token(ctx, reg, &[("grant_type", "urn:oidc-harness:unknown-grant")]).await;
    expect_error(run, &UNSUPPORTED_GRANT, &unsupported, 400, "unsupported_grant_type");
    match &unsupported {
        Ok(r) => {
            let json = r.json();
            let shaped = r.is_json()
                && json.as_ref().is_some_and(|j| j["error"].is_string() && j.get("error_description").is_none_or(Value::is_string));
            run.record(
                &SUITE,
                &ERROR_SHAPE,
                &[&r.exchange],
                Outcome::expect(shaped, || format!("content-type {:?}, body not the §5.2 shape", r.header("content-type"))),
            );
            let cache = r.header("cache-control").unwrap_or("").to_ascii_lowercase();
            run.record(
                &SUITE,
                &ERROR_NO_STORE,
                &[&r.exchange],
                Outcome::expect(cache.contains("no-store"), || format!("Cache-Control: {cache:?}")),
            );
        }
        Err(e) => {
            run.record(&SUITE, &ERROR_SHAPE, &[e], Outcome::Fail("no response".into()));
            run.record(&SUITE, &ERROR_NO_STORE, &[e], Outcome::Fail("no response".into()));
        }
    }
    let missing = token(ctx, reg, &[("scope", reg.scope.as_deref().unwrap_or("openid"))]).await;
    expect_error(run, &MISSING_GRANT, &missing, 400, "invalid_request");
    let repeated = token(ctx, reg, &[("grant_type", "client_credentials"), ("grant_type", "client_credentials")]).await;
    expect_error(run, &REPEATED, &repeated, 400, "invalid_request");
    let scope = token(ctx, reg, &[("grant_type", "client_credentials"), ("scope", "oidc-harness-unknown-scope")]).await;
    unknown_scope(run, &scope);
    let get = ctx.http.send(super::flow::authenticated_get(&ctx.http, &endpoint, reg, &[("grant_type", "client_credentials")])).await;
    match get {
        Ok(r) => {
            let issued = r.json().is_some_and(|j| j.get("access_token").is_some());
            run.record(
                &SUITE,
                &GET_REFUSED,
                &[&r.exchange],
                Outcome::expect(!issued && r.status != 200, || format!("GET answered {}", r.status)),
            );
        }
        Err(e) => run.record(&SUITE, &GET_REFUSED, &[&e], Outcome::Fail("no response".into())),
    }
}
