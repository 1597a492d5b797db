//! OpenID Provider metadata (OIDC Discovery 1.0 §3-§4, RFC 8414 §2) and the profile's claims
//! about it, including the unsupported features being neither advertised nor served.

use super::{Context, secure_or_loopback, strings};
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
use crate::profile::{Implicit, ParameterRule};
use reports::Exchange;
use serde_json::{Value, json};
use std::borrow::Cow;

pub const REACHABLE: Check = required("discovery.reachable", "The discovery document is served with 200", "OIDC Discovery §4.1-4.2");
pub const JSON: Check =
    required("discovery.json", "The discovery document is a JSON object served as application/json", "OIDC Discovery §4.2");
pub const ISSUER: Check =
    required("discovery.issuer-identical", "issuer is identical to the issuer URL it was fetched for", "OIDC Discovery §4.3");
pub const AUTHORIZATION_ENDPOINT: Check =
    required("discovery.authorization-endpoint", "authorization_endpoint is present", "OIDC Discovery §3");
pub const TOKEN_ENDPOINT: Check = required("discovery.token-endpoint", "token_endpoint is present", "OIDC Discovery §3");
pub const JWKS_URI: Check = required("discovery.jwks-uri", "jwks_uri is present", "OIDC Discovery §3");
const RESPONSE_TYPES: Check =
    required("discovery.response-types", "response_types_supported lists the profile's response types", "OIDC Discovery §3");
const SUBJECT_TYPES: Check = required("discovery.subject-types", "subject_types_supported is present", "OIDC Discovery §3");
const ID_TOKEN_ALGS: Check = required(
    "discovery.id-token-algs",
    "id_token_signing_alg_values_supported lists RS256 and the profile's algorithms",
    "OIDC Discovery §3",
);
const NO_ALG_NONE: Check =
    recommended("discovery.no-alg-none", "Unsigned ID tokens (alg none) are not offered", "OIDC Core §10.1, RFC 8725 §3.1");
pub const USERINFO: Check = recommended("discovery.userinfo-endpoint", "userinfo_endpoint is present", "OIDC Discovery §3");
const SCOPES: Check = recommended("discovery.scopes-openid", "scopes_supported includes openid", "OIDC Discovery §3");
const HTTPS: Check =
    required("discovery.endpoints-https", "Every endpoint uses https (http only on a loopback host)", "OIDC Discovery §3, RFC 8414 §2");
// RFC 9700 §2.1.1: the server MUST offer a way to detect PKCE support, and publishing this
// member is the RECOMMENDED one (RFC 8414 §2 reads its absence as no support).
const PKCE_S256: Check = recommended("discovery.pkce-s256", "code_challenge_methods_supported lists S256", "RFC 9700 §2.1.1, RFC 8414 §2");
const PKCE_PLAIN: Check = required("discovery.pkce-no-plain", "plain PKCE is not offered when the profile refuses it", "RFC 9700 §2.1.1");
const RESPONSE_MODES: Check =
    recommended("discovery.response-modes", "response_modes_supported lists the profile's modes", "OIDC Discovery §3");
const GRANT_TYPES: Check = recommended("discovery.grant-types", "grant_types_supported lists the profile's grants", "OIDC Discovery §3");
const AUTH_METHODS: Check =
    recommended("discovery.token-auth-methods", "token_endpoint_auth_methods_supported lists the profile's methods", "OIDC Discovery §3");
const ISS_PARAMETER: Check =
    required("discovery.iss-parameter", "authorization_response_iss_parameter_supported matches the profile", "RFC 9207 §3");
const CLAIMS_PARAMETER: Check =
    required("discovery.claims-parameter", "claims_parameter_supported is true when the profile honours claims", "OIDC Discovery §3");
const INTROSPECTION: Check = required(
    "discovery.introspection-advertised",
    "introspection_endpoint is advertised exactly when the profile has it",
    "RFC 8414 §2, profile",
);
const REGISTRATION: Check = required(
    "discovery.registration-advertised",
    "registration_endpoint is advertised exactly when the profile has it",
    "OIDC Discovery §3, profile",
);
const ENCRYPTION: Check = required(
    "discovery.encryption-advertised",
    "Token encryption metadata appears exactly when the profile has it",
    "OIDC Discovery §3, profile",
);
pub const REVOCATION: Check = required(
    "discovery.revocation-advertised",
    "revocation_endpoint is advertised exactly when the profile has it",
    "RFC 8414 §2, RFC 7009",
);
const END_SESSION: Check = recommended(
    "discovery.end-session-advertised",
    "end_session_endpoint is advertised when the profile has logout",
    "OIDC RP-Initiated Logout §2.1",
);
const INTROSPECTION_SERVED: Check = required(
    "discovery.introspection-not-served",
    "An absent introspection feature is not served at its usual paths",
    "RFC 7662 §2, profile",
);
const REGISTRATION_SERVED: Check = required(
    "discovery.registration-not-served",
    "An absent registration feature is not served at its usual paths",
    "RFC 7591 §3, profile",
);

pub const NAME: &str = "discovery";

pub const SUITE: Suite = Suite {
    name: Cow::Borrowed(NAME),
    checks: Cow::Borrowed(&[
        REACHABLE,
        JSON,
        ISSUER,
        AUTHORIZATION_ENDPOINT,
        TOKEN_ENDPOINT,
        JWKS_URI,
        RESPONSE_TYPES,
        SUBJECT_TYPES,
        ID_TOKEN_ALGS,
        NO_ALG_NONE,
        USERINFO,
        SCOPES,
        HTTPS,
        PKCE_S256,
        PKCE_PLAIN,
        RESPONSE_MODES,
        GRANT_TYPES,
        AUTH_METHODS,
        ISS_PARAMETER,
        CLAIMS_PARAMETER,
        INTROSPECTION,
        REGISTRATION,
        ENCRYPTION,
        REVOCATION,
        END_SESSION,
        INTROSPECTION_SERVED,
        REGISTRATION_SERVED,
    ]),
};

const ENCRYPTION_MEMBERS: [&str; 6] = [
    "id_token_encryption_alg_values_supported",
    "id_token_encryption_enc_values_supported",
    "userinfo_encryption_alg_values_supported",
    "userinfo_encryption_enc_values_supported",
    "request_object_encryption_alg_values_supported",
    "request_object_encryption_enc_values_supported",
];

pub async fn run(ctx: &mut Context, run: &mut Run) {
    let url = ctx.discovery_url();
    let (response, exchanges) = super::get_following_one_redirect(&ctx.http, &url).await;
    let response = match response {
        Ok(r) => r,
        Err(exchange) => {
            let why = format!("no response: {}", exchange.error.clone().unwrap_or_default());
            let ev: Vec<&Exchange> = exchanges.iter().collect();
            run.record(&SUITE, &REACHABLE, &ev, Outcome::Fail(why.clone()));
            return super::record_all(run, &SUITE, &SUITE.checks[1..], &ev, &Outcome::blocked_by(&REACHABLE, why));
        }
    };
    let mut evidence = exchanges;
    let redirected = (evidence.len() > 1).then(|| format!("served after a redirect to {}", response.exchange.url));
    let ev: Vec<&Exchange> = evidence.iter().collect();
    run.record(
        &SUITE,
        &REACHABLE,
        &ev,
        match (response.status, &redirected) {
            (200, Some(note)) => Outcome::PassNoted(note.clone()),
            (200, None) => Outcome::Pass,
            (status, _) => Outcome::Fail(format!("status {status}")),
        },
    );
    // An error body (a 404 JSON) is no discovery document, whatever its shape: one failure.
    if response.status != 200 {
        let blocked = Outcome::blocked_by(&REACHABLE, format!("status {}, no discovery document", response.status));
        return super::record_all(run, &SUITE, &SUITE.checks[1..], &ev, &blocked);
    }
    let parsed = response.parse_json();
    let metadata = parsed.as_ref().ok().filter(|v| v.is_object()).cloned();
    run.record(
        &SUITE,
        &JSON,
        &ev,
        Outcome::expect(metadata.is_some() && response.is_json(), || {
            let body = match (&parsed, &metadata) {
                (_, Some(_)) => "a JSON object".to_string(),
                (Ok(_), None) => "JSON but not an object".to_string(),
                (Err(why), None) => format!("not a JSON object ({why})"),
            };
            format!("content-type {}, the body is {body}", response.header("content-type").unwrap_or("absent"))
        }),
    );
    let Some(mut meta) = metadata else {
        return super::record_all(run, &SUITE, &SUITE.checks[2..], &ev, &Outcome::blocked_by(&JSON, "no discovery document to check"));
    };
    // Members that only the RFC 8414 metadata carries (revocation, PKCE methods, RFC 9207) count
    // as advertised: a deployment may publish both documents (RFC 8414 §3, OIDC Discovery §3).
    let mut from_rfc8414 = Vec::new();
    if let Some((rfc8414, exchange)) = super::rfc8414_metadata(ctx).await {
        from_rfc8414 = super::merge_rfc8414(&mut meta, Some(&rfc8414));
        evidence.push(exchange);
    }
    let ev: Vec<&Exchange> = evidence.iter().collect();
    let profile = &ctx.profile;
    let member = |name: &str| meta.get(name).and_then(Value::as_str).map(str::to_string);
    let present = |name: &str| Outcome::expect(member(name).is_some(), || format!("{name} is missing"));

    run.record(
        &SUITE,
        &ISSUER,
        &ev,
        Outcome::expect(meta.get("issuer") == Some(&json!(ctx.issuer)), || {
            format!("issuer is {} but the issuer given is \"{}\" (compared character for character)", meta["issuer"], ctx.issuer)
        }),
    );
    run.record(&SUITE, &AUTHORIZATION_ENDPOINT, &ev, present("authorization_endpoint"));
    run.record(&SUITE, &TOKEN_ENDPOINT, &ev, present("token_endpoint"));
    run.record(&SUITE, &JWKS_URI, &ev, present("jwks_uri"));
    run.record(&SUITE, &USERINFO, &ev, present("userinfo_endpoint"));

    let response_types: Vec<String> = strings(Some(&meta), "response_types_supported").iter().map(|t| normalise_response_type(t)).collect();
    let mut wanted = vec!["code"];
    if profile.flows.implicit != Implicit::No {
        wanted.extend(["id_token", "id_token token"]);
    }
    let missing: Vec<&str> = wanted.iter().copied().filter(|w| !response_types.iter().any(|t| t == w)).collect();
    run.record(
        &SUITE,
        &RESPONSE_TYPES,
        &ev,
        Outcome::expect(missing.is_empty(), || format!("missing {} in [{}]", missing.join(", "), response_types.join(", "))),
    );
    run.record(
        &SUITE,
        &SUBJECT_TYPES,
        &ev,
        Outcome::expect(!strings(Some(&meta), "subject_types_supported").is_empty(), || {
            "subject_types_supported is missing or empty".into()
        }),
    );

    let algs = strings(Some(&meta), "id_token_signing_alg_values_supported");
    let mut missing: Vec<_> = std::iter::once("RS256")
        .chain(profile.flows.id_token_signing_algs.iter().map(String::as_str))
        .filter(|a| !algs.contains(a))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    run.record(
        &SUITE,
        &ID_TOKEN_ALGS,
        &ev,
        Outcome::expect(missing.is_empty(), || format!("missing {} in [{}]", missing.join(", "), algs.join(", "))),
    );
    run.record(&SUITE, &NO_ALG_NONE, &ev, Outcome::expect(!algs.contains(&"none"), || "alg none is listed".into()));
    run.record(
        &SUITE,
        &SCOPES,
        &ev,
        Outcome::expect(strings(Some(&meta), "scopes_supported").contains(&"openid"), || "scopes_supported lacks openid".into()),
    );

    let insecure: Vec<String> = meta
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.ends_with("_endpoint") || *k == "jwks_uri" || *k == "issuer")
        .filter_map(|(k, v)| v.as_str().filter(|u| !secure_or_loopback(u)).map(|u| format!("{k}={u}")))
        .collect();
    run.record(&SUITE, &HTTPS, &ev, Outcome::expect(insecure.is_empty(), || format!("not https: {}", insecure.join(", "))));

    let pkce = strings(Some(&meta), "code_challenge_methods_supported");
    run.record(
        &SUITE,
        &PKCE_S256,
        &ev,
        Outcome::expect(pkce.contains(&"S256"), || format!("code_challenge_methods_supported is [{}]", pkce.join(", "))),
    );
    let plain_refused = !profile.flows.pkce_methods.iter().any(|m| m == "plain");
    run.record(
        &SUITE,
        &PKCE_PLAIN,
        &ev,
        if plain_refused {
            Outcome::expect(!pkce.contains(&"plain"), || "plain is advertised".into())
        } else {
            Outcome::NotApplicable("the profile accepts plain PKCE".into())
        },
    );

    subset(run, &RESPONSE_MODES, &ev, &meta, "response_modes_supported", &profile.flows.response_modes);
    let mut grants = Vec::new();
    for (on, grant) in [
        (profile.flows.authorization_code, "authorization_code"),
        (profile.flows.implicit != Implicit::No, "implicit"),
        (profile.flows.refresh_tokens, "refresh_token"),
        (profile.flows.client_credentials, "client_credentials"),
    ] {
        if on {
            grants.push(grant.to_string());
        }
    }
    subset(run, &GRANT_TYPES, &ev, &meta, "grant_types_supported", &grants);
    subset(run, &AUTH_METHODS, &ev, &meta, "token_endpoint_auth_methods_supported", &profile.flows.token_endpoint_auth_methods);

    let iss = meta.get("authorization_response_iss_parameter_supported") == Some(&json!(true));
    run.record(
        &SUITE,
        &ISS_PARAMETER,
        &ev,
        Outcome::expect(iss == profile.flows.authorization_response_iss, || {
            format!("advertised {iss}, profile says {}", profile.flows.authorization_response_iss)
        }),
    );
    let claims_honoured = profile.parameters.get("claims") == Some(&ParameterRule::Honoured);
    run.record(
        &SUITE,
        &CLAIMS_PARAMETER,
        &ev,
        if claims_honoured {
            Outcome::expect(meta.get("claims_parameter_supported") == Some(&json!(true)), || {
                "claims_parameter_supported is not true".into()
            })
        } else {
            Outcome::NotApplicable("the profile does not honour the claims parameter".into())
        },
    );

    let features = profile.features.clone();
    advertised(run, &INTROSPECTION, &ev, member("introspection_endpoint").is_some(), features.introspection);
    advertised(run, &REGISTRATION, &ev, member("registration_endpoint").is_some(), features.dynamic_registration);
    let encryption: Vec<&str> = ENCRYPTION_MEMBERS.iter().copied().filter(|m| meta.get(*m).is_some()).collect();
    advertised(run, &ENCRYPTION, &ev, !encryption.is_empty(), features.token_encryption);
    advertised(run, &REVOCATION, &ev, member("revocation_endpoint").is_some(), features.revocation);
    run.record(
        &SUITE,
        &END_SESSION,
        &ev,
        if features.end_session { present("end_session_endpoint") } else { Outcome::NotApplicable("the profile has no logout".into()) },
    );

    let issuer = ctx.issuer.trim_end_matches('/').to_string();
    ctx.adopt_metadata(meta, &from_rfc8414);
    let introspection_probe = |http: &crate::engine::http::Recorder, url: &str| http.post(url).form(&[("token", "oidc-harness-probe")]);
    let introspection_paths = ["/introspect", "/token/introspection", "/introspection", "/oauth2/introspect"];
    not_served(ctx, run, &INTROSPECTION_SERVED, features.introspection, &issuer, &introspection_paths, introspection_probe).await;
    let registration_probe = |http: &crate::engine::http::Recorder, url: &str| {
        http.post(url).json(&json!({"redirect_uris": ["https://oidc-harness.invalid/callback"], "client_name": "oidc-harness probe"}))
    };
    let registration_paths = ["/register", "/registration", "/connect/register", "/reg"];
    not_served(ctx, run, &REGISTRATION_SERVED, features.dynamic_registration, &issuer, &registration_paths, registration_probe).await;
}

/// OAuth 2.0 Multiple Response Types §5: the order of values in a response type does not matter.
fn normalise_response_type(value: &str) -> String {
    let mut parts: Vec<&str> = value.split(' ').filter(|s| !s.is_empty()).collect();
    parts.sort_unstable();
    parts.join(" ")
}

/// OIDC Discovery §3: the value a relying party assumes for an omitted member.
fn default_of(member: &str) -> Option<&'static [&'static str]> {
    match member {
        "response_modes_supported" => Some(&["query", "fragment"]),
        "grant_types_supported" => Some(&["authorization_code", "implicit"]),
        "token_endpoint_auth_methods_supported" => Some(&["client_secret_basic"]),
        _ => None,
    }
}

/// The member lists every value the profile claims. An omitted member with a default in OIDC
/// Discovery §3 is allowed (the member is OPTIONAL): the detail says what a relying party will
/// assume instead.
fn subset(run: &mut Run, check: &Check, ev: &[&reports::Exchange], meta: &Value, member: &str, wanted: &[String]) {
    if meta.get(member).is_none()
        && let Some(default) = default_of(member)
    {
        let beyond: Vec<&str> = wanted.iter().map(String::as_str).filter(|w| !default.contains(w)).collect();
        let note = if beyond.is_empty() {
            format!("{member} is omitted; its default [{}] covers the profile", default.join(", "))
        } else {
            format!("{member} is omitted; relying parties assume [{}], which leaves out {}", default.join(", "), beyond.join(", "))
        };
        return run.record(&SUITE, check, ev, Outcome::PassNoted(note));
    }
    let listed = strings(Some(meta), member);
    let missing: Vec<&str> = wanted.iter().map(String::as_str).filter(|w| !listed.contains(w)).collect();
    run.record(
        &SUITE,
        check,
        ev,
        Outcome::expect(missing.is_empty(), || format!("{member} lacks {} (lists {})", missing.join(", "), listed.join(", "))),
    );
}

fn advertised(run: &mut Run, check: &Check, ev: &[&reports::Exchange], is: bool, claimed: bool) {
    let say = |b: bool| if b { "present" } else { "absent" };
    run.record(&SUITE, check, ev, Outcome::expect(is == claimed, || format!("advertised: {}; the profile says {}", is, say(claimed))));
}

/// Probes the usual paths of a feature the profile says is absent. A path "serves" the feature
/// when it answers like an OAuth endpoint: not 404, and a JSON object with `active`, `client_id`
/// or an OAuth `error` (an unauthenticated probe of a real endpoint gets 401 invalid_client).
async fn not_served(
    ctx: &Context,
    run: &mut Run,
    check: &Check,
    claimed: bool,
    issuer: &str,
    paths: &[&str],
    probe: impl Fn(&crate::engine::http::Recorder, &str) -> reqwest::RequestBuilder,
) {
    if claimed {
        run.record(&SUITE, check, &[], Outcome::NotApplicable("the profile says the feature is present".into()));
        return;
    }
    let mut evidence = Vec::new();
    let mut served = Vec::new();
    let mut unanswered = Vec::new();
    for path in paths {
        match ctx.http.send(probe(&ctx.http, &format!("{issuer}{path}"))).await {
            // A path that gave no answer, or a 5xx, proves nothing either way.
            Ok(r) if r.status >= 500 => {
                unanswered.push(format!("{path} answered {}", r.status));
                evidence.push(r.exchange);
            }
            Ok(r) => {
                // An OAuth answer: `active` or `client_id`, or an `error` that is an OAuth error code
                // (lower case with underscores), not a framework's `{"error":"Unauthorized"}`.
                let oauth_code = |e: &serde_json::Value| {
                    e.as_str().is_some_and(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
                };
                let oauth_like = r
                    .json()
                    .is_some_and(|j| j.get("active").is_some() || j.get("client_id").is_some() || j.get("error").is_some_and(oauth_code));
                if r.status != 404 && oauth_like {
                    served.push(format!("{path} answered {} like the feature's endpoint", r.status));
                }
                evidence.push(r.exchange);
            }
            Err(exchange) => {
                unanswered.push(format!("{path} got no response"));
                evidence.push(exchange);
            }
        }
    }
    let ev: Vec<&reports::Exchange> = evidence.iter().collect();
    let outcome = if !served.is_empty() {
        Outcome::Fail(served.join("; "))
    } else if !unanswered.is_empty() {
        Outcome::blocked_by_step("an answer from every probed path", unanswered.join("; "))
    } else {
        Outcome::Pass
    };
    run.record(&SUITE, check, &ev, outcome);
}
