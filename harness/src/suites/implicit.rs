//! The implicit flow as the profile allows it: OpenID Connect only (OIDC Core §3.2), tokens in
//! the fragment, `nonce` required, `at_hash` for `id_token token`; never without `openid`.

use super::flow::{authorized, random};
use super::{Context, record_all};
use crate::engine::id_token::{self, Rule};
use crate::engine::jwt::Jwt;
use crate::engine::login::Delivery;
use crate::engine::refusal;
use crate::engine::{Check, Outcome, Run, Suite, required};
use crate::profile::Implicit;
use crate::target::Registration;
use reports::Exchange;
use std::borrow::Cow;
use std::collections::BTreeMap;

const ID_TOKEN_TOKEN: Check =
    required("implicit.id-token-token", "response_type=id_token token returns an ID token and an access token", "OIDC Core §3.2.2.5");
const FRAGMENT: Check = required(
    "implicit.fragment",
    "Implicit responses are delivered in the fragment",
    "OIDC Core §3.2.2.5, OAuth Multiple Response Types §2.1",
);
const SIGNATURE: Check = required("implicit.signature", "The implicit ID token verifies with the JWKS", "OIDC Core §3.2.2.11, §3.1.3.7");
const NONCE: Check = required("implicit.nonce", "The implicit ID token carries the nonce sent", "OIDC Core §3.2.2.11");
const AT_HASH: Check = required("implicit.at-hash", "at_hash is present and matches the access token", "OIDC Core §3.2.2.9-3.2.2.10");
const CLAIMS: Check = required(
    "implicit.id-token-claims",
    "The implicit ID token passes the standard checks (alg, iss, aud, azp, exp, iat, sub)",
    "OIDC Core §3.2.2.11, §3.1.3.7",
);
const ID_TOKEN_ONLY: Check =
    required("implicit.id-token-only", "response_type=id_token returns an ID token and no access token", "OIDC Core §3.2.2.5");
const NONCE_REQUIRED: Check = required("implicit.nonce-required", "An implicit request without nonce gets no tokens", "OIDC Core §3.2.2.1");
const OIDC_ONLY: Check = required(
    "implicit.oidc-only",
    "An implicit request without openid gets no tokens",
    "profile (Implicit for OIDC only), RFC 9700 §2.1.2",
);
const NO_QUERY: Check = required("implicit.no-query", "response_mode=query never carries tokens", "OAuth Multiple Response Types §2.1");
const OAUTH_REFUSED: Check = required(
    "implicit.oauth-token-refused",
    "response_type=token (plain OAuth Implicit) gets no tokens",
    "profile (Implicit for OIDC only), RFC 9700 §2.1.2, RFC 6749 §4.2.2.1",
);

pub const NAME: &str = "implicit";

pub const SUITE: Suite = Suite {
    name: Cow::Borrowed(NAME),
    checks: Cow::Borrowed(&[
        ID_TOKEN_TOKEN,
        FRAGMENT,
        SIGNATURE,
        NONCE,
        AT_HASH,
        CLAIMS,
        ID_TOKEN_ONLY,
        NONCE_REQUIRED,
        OIDC_ONLY,
        NO_QUERY,
        OAUTH_REFUSED,
    ]),
};

type Answer = (Vec<Exchange>, Result<(BTreeMap<String, String>, Delivery), String>);

async fn request(ctx: &Context, reg: &Registration, params: &[(&str, &str)]) -> Answer {
    match authorized(ctx, &ctx.http.browser(), reg, params).await {
        Ok(done) => (done.exchanges, Ok((done.arrival.params, done.arrival.delivery))),
        Err((why, exchanges)) => (exchanges, Err(why)),
    }
}

pub async fn run(ctx: &mut Context, run: &mut Run) {
    if ctx.profile.flows.implicit == Implicit::No {
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::NotApplicable("the profile has no implicit flow".into()));
    }
    if super::blocked_without(ctx, run, &SUITE, &["authorization_endpoint"]) {
        return;
    }
    let Some(reg) = ctx.target.implicit.clone() else {
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::NotRun("the target file names no [clients.implicit]".into()));
    };
    let (state, nonce) = (random("s", 20), random("n", 20));
    let (exchanges, answer) =
        request(ctx, &reg, &[("response_type", "id_token token"), ("scope", "openid"), ("state", &state), ("nonce", &nonce)]).await;
    let ev: Vec<&Exchange> = exchanges.iter().collect();
    // The positive control of the refusals below: a well-formed implicit request gets tokens.
    let mut control: Result<(), String> = Err("the id_token token request did not complete".into());
    if let Ok((params, _)) = &answer {
        for name in ["id_token", "access_token"] {
            if let Some(token) = params.get(name) {
                ctx.jwks_for(token).await;
            }
        }
    }
    match answer {
        Ok((params, delivery)) => {
            if params.contains_key("id_token") {
                control = Ok(());
            } else {
                control =
                    Err(format!("the id_token token request gave the client {}", params.keys().cloned().collect::<Vec<_>>().join(", ")));
            }
            let (id_token, access) = (params.get("id_token"), params.get("access_token"));
            run.record(
                &SUITE,
                &ID_TOKEN_TOKEN,
                &ev,
                Outcome::expect(id_token.is_some() && access.is_some(), || {
                    format!("the client received {}", params.keys().cloned().collect::<Vec<_>>().join(", "))
                }),
            );
            run.record(
                &SUITE,
                &FRAGMENT,
                &ev,
                Outcome::expect(delivery == Delivery::Fragment, || format!("delivered in {}", delivery.name())),
            );
            match id_token.map(|t| Jwt::decode(t)) {
                Some(Ok(jwt)) => {
                    let expected = id_token::Expected {
                        issuer: &ctx.issuer,
                        client_id: &reg.client_id,
                        nonce: Some(&nonce),
                        access_token: access.map(String::as_str),
                        at_hash_required: access.is_some(),
                        listed_algs: super::strings(ctx.metadata.as_ref(), "id_token_signing_alg_values_supported")
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                        ..Default::default()
                    };
                    let results = id_token::check(&jwt, &expected, ctx.jwks(), id_token::now());
                    let of = |rule: Rule| results.iter().find(|(r, _)| *r == rule).map(|(_, o)| o.clone()).unwrap_or(Outcome::Pass);
                    run.record(&SUITE, &SIGNATURE, &ev, of(Rule::Signature));
                    run.record(&SUITE, &NONCE, &ev, of(Rule::Nonce));
                    if access.is_some() {
                        run.record(&SUITE, &AT_HASH, &ev, of(Rule::AtHash));
                    } else {
                        run.record(&SUITE, &AT_HASH, &ev, Outcome::blocked_by(&ID_TOKEN_TOKEN, "no access token came back to hash"));
                    }
                    let rest: Vec<(Rule, Outcome)> =
                        results.into_iter().filter(|(r, _)| !matches!(r, Rule::Signature | Rule::Nonce | Rule::AtHash)).collect();
                    run.record(&SUITE, &CLAIMS, &ev, id_token::fold(&rest));
                }
                Some(Err(why)) => {
                    let blocked = Outcome::blocked_by(&ID_TOKEN_TOKEN, format!("malformed ID token: {why}"));
                    record_all(run, &SUITE, &[SIGNATURE, NONCE, AT_HASH, CLAIMS], &ev, &blocked)
                }
                None => {
                    record_all(run, &SUITE, &[SIGNATURE, NONCE, AT_HASH, CLAIMS], &ev, &Outcome::blocked_by(&ID_TOKEN_TOKEN, "no ID token"))
                }
            }
        }
        Err(why) => {
            run.record(&SUITE, &ID_TOKEN_TOKEN, &ev, Outcome::Fail(why.clone()));
            record_all(run, &SUITE, &SUITE.checks[1..6], &ev, &Outcome::blocked_by(&ID_TOKEN_TOKEN, why));
        }
    }

    let (exchanges, answer) =
        request(ctx, &reg, &[("response_type", "id_token"), ("scope", "openid"), ("state", &state), ("nonce", &nonce)]).await;
    let ev: Vec<&Exchange> = exchanges.iter().collect();
    run.record(
        &SUITE,
        &ID_TOKEN_ONLY,
        &ev,
        match &answer {
            Ok((p, _)) => Outcome::expect(p.contains_key("id_token") && !p.contains_key("access_token"), || {
                format!("the client received {}", p.keys().cloned().collect::<Vec<_>>().join(", "))
            }),
            Err(why) => Outcome::Fail(why.clone()),
        },
    );
    // Refusals: the client must receive no token, and the server must visibly refuse: an error
    // sent to the client or an error page of its own. Judged only after the control worked.
    let endpoint = ctx.endpoint("authorization_endpoint").unwrap_or_default().to_string();
    for (check, params) in [
        (&NONCE_REQUIRED, vec![("response_type", "id_token token"), ("scope", "openid"), ("state", state.as_str())]),
        (
            &OIDC_ONLY,
            vec![
                ("response_type", "id_token token"),
                ("scope", ctx.target.scopes.additional.as_str()),
                ("state", state.as_str()),
                ("nonce", nonce.as_str()),
            ],
        ),
        (
            &NO_QUERY,
            vec![
                ("response_type", "id_token token"),
                ("scope", "openid"),
                ("state", state.as_str()),
                ("nonce", nonce.as_str()),
                ("response_mode", "query"),
            ],
        ),
        (&OAUTH_REFUSED, vec![("response_type", "token"), ("scope", "openid"), ("state", state.as_str()), ("nonce", nonce.as_str())]),
    ] {
        // `implicit = "yes"`: plain OAuth Implicit is claimed, so the OpenID-only refusals do
        // not apply.
        if ctx.profile.flows.implicit == Implicit::Yes && (check.id == OIDC_ONLY.id || check.id == OAUTH_REFUSED.id) {
            run.record(&SUITE, check, &[], Outcome::NotApplicable("the profile claims plain OAuth Implicit (implicit = \"yes\")".into()));
            continue;
        }
        if let Err(why) = &control {
            run.record(&SUITE, check, &[], Outcome::blocked_by(&ID_TOKEN_TOKEN, format!("positive control: {why}")));
            continue;
        }
        let (exchanges, answer) = request(ctx, &reg, &params).await;
        let ev: Vec<&Exchange> = exchanges.iter().collect();
        let outcome = match &answer {
            Ok((p, delivery)) if p.contains_key("id_token") || p.contains_key("access_token") => {
                // Tokens in the fragment or a form post answer response_mode=query by ignoring it,
                // which keeps them out of the query (the rule NO_QUERY checks).
                if check.id == NO_QUERY.id && *delivery != Delivery::Query {
                    Outcome::PassNoted(format!("response_mode=query was ignored: tokens came by {}", delivery.name()))
                } else {
                    Outcome::Fail(format!("tokens were issued ({})", delivery.name()))
                }
            }
            Ok((p, _)) => match p.get("error") {
                Some(error) if refusal::SERVER_TROUBLE.contains(&error.as_str()) => {
                    Outcome::blocked_by_step("a visible refusal", format!("the server reported trouble: error={error}"))
                }
                Some(error) => Outcome::PassNoted(format!("refused with error={error}")),
                None => Outcome::blocked_by_step("a visible refusal", "the client received neither tokens nor an error"),
            },
            Err(why) => match refusal::classify(&exchanges, "", None, &endpoint, Some(why)) {
                refusal::Answer::Refused(how) => Outcome::PassNoted(how.to_string()),
                refusal::Answer::SentTo(to) => Outcome::Fail(format!("the browser was sent to {to}")),
                refusal::Answer::Inconclusive(why) => Outcome::blocked_by_step("a visible refusal", why),
            },
        };
        run.record(&SUITE, check, &ev, outcome);
    }
}
