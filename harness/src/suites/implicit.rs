//! The implicit flow as the profile allows it: OpenID Connect only (OIDC Core §3.2), tokens in
//! the fragment, `nonce` required, `at_hash` for `id_token token`; never without `openid`.

use super::flow::{authorized, random};
use super::{Context, record_all};
use crate::engine::jwt::{Jwt, half_hash};
use crate::engine::login::Delivery;
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
const ID_TOKEN_ONLY: Check =
    required("implicit.id-token-only", "response_type=id_token returns an ID token and no access token", "OIDC Core §3.2.2.5");
const NONCE_REQUIRED: Check = required("implicit.nonce-required", "An implicit request without nonce gets no tokens", "OIDC Core §3.2.2.1");
const OIDC_ONLY: Check = required(
    "implicit.oidc-only",
    "An implicit request without openid gets no tokens",
    "profile (Implicit for OIDC only), RFC 9700 §2.1.2",
);
const NO_QUERY: Check = required("implicit.no-query", "response_mode=query never carries tokens", "OAuth Multiple Response Types §2.1");

pub const NAME: &str = "implicit";

pub const SUITE: Suite = Suite {
    name: Cow::Borrowed(NAME),
    checks: Cow::Borrowed(&[ID_TOKEN_TOKEN, FRAGMENT, SIGNATURE, NONCE, AT_HASH, ID_TOKEN_ONLY, NONCE_REQUIRED, OIDC_ONLY, NO_QUERY]),
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
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::Skip("the profile has no implicit flow".into()));
    }
    let Some(reg) = ctx.target.confidential.clone() else {
        return record_all(run, &SUITE, &SUITE.checks, &[], &Outcome::Skip("the target names no confidential client".into()));
    };
    let (state, nonce) = (random("s", 20), random("n", 20));
    let (exchanges, answer) =
        request(ctx, &reg, &[("response_type", "id_token token"), ("scope", "openid"), ("state", &state), ("nonce", &nonce)]).await;
    let ev: Vec<&Exchange> = exchanges.iter().collect();
    match answer {
        Ok((params, delivery)) => {
            let (id_token, access) = (params.get("id_token"), params.get("access_token"));
            run.record(
                &SUITE,
                &ID_TOKEN_TOKEN,
                &ev,
                Outcome::expect(id_token.is_some() && access.is_some(), || format!("the client received {:?}", params.keys())),
            );
            run.record(&SUITE, &FRAGMENT, &ev, Outcome::expect(delivery == Delivery::Fragment, || format!("delivered by {delivery:?}")));
            match id_token.map(|t| Jwt::decode(t)) {
                Some(Ok(jwt)) => {
                    let verified = ctx.jwks.as_ref().map_or(Err("no JWKS".to_string()), |jwks| jwt.verify(jwks));
                    run.record(&SUITE, &SIGNATURE, &ev, verified.map_or_else(Outcome::Fail, |()| Outcome::Pass));
                    run.record(
                        &SUITE,
                        &NONCE,
                        &ev,
                        Outcome::expect(jwt.claim_str("nonce") == Some(nonce.as_str()), || format!("nonce {}", jwt.claims["nonce"])),
                    );
                    let expected = access.and_then(|a| half_hash(jwt.alg(), a));
                    let at_hash = jwt.claim_str("at_hash");
                    run.record(
                        &SUITE,
                        &AT_HASH,
                        &ev,
                        Outcome::expect(at_hash.is_some() && at_hash == expected.as_deref(), || format!("at_hash {at_hash:?}")),
                    );
                }
                Some(Err(why)) => {
                    record_all(run, &SUITE, &[SIGNATURE, NONCE, AT_HASH], &ev, &Outcome::Fail(format!("malformed ID token: {why}")))
                }
                None => record_all(run, &SUITE, &[SIGNATURE, NONCE, AT_HASH], &ev, &Outcome::Fail("no ID token".into())),
            }
        }
        Err(why) => record_all(run, &SUITE, &SUITE.checks[..5], &ev, &Outcome::Fail(why)),
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
                format!("the client received {:?}", p.keys())
            }),
            Err(why) => Outcome::Fail(why.clone()),
        },
    );
    // Refusals: the client must receive no token at all (an error, or nothing).
    for (check, params) in [
        (&NONCE_REQUIRED, vec![("response_type", "id_token token"), ("scope", "openid"), ("state", state.as_str())]),
        (&OIDC_ONLY, vec![("response_type", "id_token token"), ("scope", "email"), ("state", state.as_str()), ("nonce", nonce.as_str())]),
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
    ] {
        let (exchanges, answer) = request(ctx, &reg, &params).await;
        let ev: Vec<&Exchange> = exchanges.iter().collect();
        let leaked = answer.as_ref().is_ok_and(|(p, _)| p.contains_key("id_token") || p.contains_key("access_token"));
        run.record(&SUITE, check, &ev, Outcome::expect(!leaked, || "tokens were issued".into()));
    }
}
