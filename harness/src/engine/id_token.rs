//! The standard ID token checks (OIDC Core §3.1.3.7, §3.2.2.11, §12.2): one routine for every
//! place an ID token appears (the code flow, implicit, a refresh, load's sampled validation), so
//! each rule, its clock skew and its allowed alternatives live here once. A rule only decides;
//! the caller records its outcome under its own check, or folds them into one.

use super::Outcome;
use super::jwt::{Jwt, half_hash};
use serde_json::Value;

/// Skew allowed between our clock and the server's (OIDC Core §3.1.3.7 (10) leaves it open).
pub const SKEW_SECS: f64 = 300.0;

/// One rule of the standard checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Signature,
    Alg,
    Iss,
    Aud,
    Azp,
    Exp,
    Iat,
    Nonce,
    AuthTime,
    Sub,
    AtHash,
}

impl Rule {
    pub const ALL: [Rule; 11] = [
        Rule::Signature,
        Rule::Alg,
        Rule::Iss,
        Rule::Aud,
        Rule::Azp,
        Rule::Exp,
        Rule::Iat,
        Rule::Nonce,
        Rule::AuthTime,
        Rule::Sub,
        Rule::AtHash,
    ];

    /// The claim or header the rule is about, for folded details ("iss: ...").
    pub fn name(self) -> &'static str {
        match self {
            Rule::Signature => "signature",
            Rule::Alg => "alg",
            Rule::Iss => "iss",
            Rule::Aud => "aud",
            Rule::Azp => "azp",
            Rule::Exp => "exp",
            Rule::Iat => "iat",
            Rule::Nonce => "nonce",
            Rule::AuthTime => "auth_time",
            Rule::Sub => "sub",
            Rule::AtHash => "at_hash",
        }
    }
}

/// What the relying party sent and expects back.
#[derive(Debug, Clone, Default)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce sent, when one was (then the token must carry it).
    pub nonce: Option<&'a str>,
    /// The max_age sent: auth_time is then required and must be recent enough.
    pub max_age: Option<u64>,
    /// The access token issued beside the ID token (for at_hash).
    pub access_token: Option<&'a str>,
    /// at_hash must be present (implicit `id_token token`, OIDC Core §3.2.2.10); otherwise it
    /// is checked only when present.
    pub at_hash_required: bool,
    /// The algorithms discovery lists in id_token_signing_alg_values_supported.
    pub listed_algs: Vec<String>,
    /// The clock skew the relying party allows on `exp`, `iat` and `auth_time`; `SKEW_SECS`
    /// when `None`.
    pub skew_secs: Option<f64>,
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, possibly with a fraction.
pub fn numeric_date(value: &Value) -> Option<f64> {
    value.as_f64().filter(|v| v.is_finite())
}

/// Seconds since the Unix epoch, with the fraction.
pub fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// The `aud` claim as a list (RFC 7519 §4.1.3: a string or an array of strings).
pub fn audiences(claims: &Value) -> Vec<&str> {
    match &claims["aud"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "absent".to_string(),
        other => other.to_string(),
    }
}

/// Every rule's outcome for `jwt`, in `Rule::ALL` order. `jwks` is `None` when no key set
/// could be had (the signature is then blocked, never passed).
pub fn check(jwt: &Jwt, expected: &Expected<'_>, jwks: Option<&Value>, now: f64) -> Vec<(Rule, Outcome)> {
    let claims = &jwt.claims;
    let skew = expected.skew_secs.unwrap_or(SKEW_SECS);
    let mut out = Vec::with_capacity(Rule::ALL.len());
    out.push((
        Rule::Signature,
        match jwks {
            Some(jwks) => jwt.verify(jwks).map_or_else(Outcome::Fail, |()| Outcome::Pass),
            None => Outcome::blocked_by_step("the JWKS", "no JWKS could be read to verify with"),
        },
    ));
    let alg = jwt.alg();
    out.push((
        Rule::Alg,
        Outcome::expect(alg != "none" && expected.listed_algs.iter().any(|a| a == alg), || {
            format!("alg {alg}; discovery lists [{}]", expected.listed_algs.join(", "))
        }),
    ));
    out.push((
        Rule::Iss,
        Outcome::expect(jwt.claim_str("iss") == Some(expected.issuer), || {
            format!("iss {}, the issuer is \"{}\"", shown(&claims["iss"]), expected.issuer)
        }),
    ));
    let aud = audiences(claims);
    out.push((
        Rule::Aud,
        Outcome::expect(aud.contains(&expected.client_id), || {
            format!("aud {} lacks the client {}", shown(&claims["aud"]), expected.client_id)
        }),
    ));
    // OIDC Core §2: azp, when present, is the party the token was issued to. With several
    // audiences and no azp, §3.1.3.7 (4) only says a client SHOULD look for one: noted, not failed.
    out.push((
        Rule::Azp,
        match jwt.claim_str("azp") {
            Some(azp) => Outcome::expect(azp == expected.client_id, || format!("azp \"{azp}\" is not the client {}", expected.client_id)),
            None if aud.len() > 1 => Outcome::PassNoted(format!("aud has {} values and no azp", aud.len())),
            None => Outcome::Pass,
        },
    ));
    let (exp, iat) = (numeric_date(&claims["exp"]), numeric_date(&claims["iat"]));
    // After its own iat (skew cannot excuse a token issued already expired), and in the future
    // within the allowed clock skew.
    let exp_ok = exp.is_some_and(|e| e + skew > now && iat.is_none_or(|i| e > i));
    out.push((
        Rule::Exp,
        Outcome::expect(exp_ok, || format!("exp {} with iat {} (now {now:.0})", shown(&claims["exp"]), shown(&claims["iat"]))),
    ));
    out.push((
        Rule::Iat,
        Outcome::expect(iat.is_some_and(|i| i <= now + skew), || format!("iat {} (now {now:.0})", shown(&claims["iat"]))),
    ));
    out.push((
        Rule::Nonce,
        match expected.nonce {
            Some(nonce) => {
                Outcome::expect(jwt.claim_str("nonce") == Some(nonce), || format!("nonce {}, sent \"{nonce}\"", shown(&claims["nonce"])))
            }
            None => Outcome::NotApplicable("no nonce was sent".into()),
        },
    ));
    let auth_time = numeric_date(&claims["auth_time"]);
    out.push((
        Rule::AuthTime,
        match (expected.max_age, auth_time) {
            (Some(_), None) => Outcome::Fail(format!("auth_time {} although max_age was sent", shown(&claims["auth_time"]))),
            (Some(max_age), Some(t)) => Outcome::expect(t <= now + skew && t + max_age as f64 + skew >= now, || {
                format!("auth_time {t} is older than max_age={max_age} allows (now {now:.0})")
            }),
            (None, Some(t)) => Outcome::expect(t <= now + skew, || format!("auth_time {t} is in the future (now {now:.0})")),
            (None, None) => Outcome::NotApplicable("no max_age was sent and the token has no auth_time".into()),
        },
    ));
    let sub = jwt.claim_str("sub").unwrap_or("");
    out.push((
        Rule::Sub,
        Outcome::expect(!sub.is_empty() && sub.len() <= 255 && sub.is_ascii(), || format!("sub {}", shown(&claims["sub"]))),
    ));
    out.push((
        Rule::AtHash,
        match (jwt.claim_str("at_hash"), expected.access_token) {
            (Some(h), Some(access)) => {
                Outcome::expect(half_hash(alg, access).as_deref() == Some(h), || format!("at_hash {h} does not match the access token"))
            }
            (None, Some(_)) if expected.at_hash_required => Outcome::Fail("at_hash is missing".into()),
            (None, _) => Outcome::Pass,
            (Some(_), None) => Outcome::Pass,
        },
    ));
    out
}

/// The rules folded into one outcome (every failure named by its rule).
pub fn fold(results: &[(Rule, Outcome)]) -> Outcome {
    super::fold(results.iter().map(|(rule, outcome)| (rule.name(), outcome)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn jwt(claims: Value) -> Jwt {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        Jwt::decode(&format!("{}.{}.c2ln", enc(&json!({"alg": "RS256"})), enc(&claims))).unwrap()
    }

    fn outcome(results: &[(Rule, Outcome)], rule: Rule) -> &Outcome {
        &results.iter().find(|(r, _)| *r == rule).unwrap().1
    }

    const NOW: f64 = 1_800_000_000.0;

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://idp.test",
            client_id: "c",
            nonce: Some("n"),
            max_age: Some(60),
            listed_algs: vec!["RS256".into()],
            ..Default::default()
        }
    }

    #[test]
    fn fractional_numeric_dates_and_an_aud_array_with_azp_pass() {
        let token = jwt(json!({"iss": "https://idp.test", "aud": ["c", "api"], "azp": "c", "sub": "u", "nonce": "n",
            "iat": NOW - 0.25, "exp": NOW + 3599.5, "auth_time": NOW - 10.75}));
        let results = check(&token, &expected(), None, NOW);
        for rule in [Rule::Alg, Rule::Iss, Rule::Aud, Rule::Azp, Rule::Exp, Rule::Iat, Rule::Nonce, Rule::AuthTime, Rule::Sub, Rule::AtHash]
        {
            assert!(matches!(outcome(&results, rule), Outcome::Pass | Outcome::PassNoted(_)), "{rule:?}: {:?}", outcome(&results, rule));
        }
        assert!(matches!(outcome(&results, Rule::Signature), Outcome::Blocked(_)), "no JWKS is never a pass");
    }

    #[test]
    fn each_rule_can_fail() {
        let token = jwt(json!({"iss": "https://idp.test/", "aud": "other", "azp": "x", "sub": "", "nonce": "m",
            "iat": NOW + 1000.0, "exp": NOW - 1000.0, "auth_time": NOW - 1000.0}));
        let results = check(&token, &expected(), None, NOW);
        for rule in [Rule::Iss, Rule::Aud, Rule::Azp, Rule::Exp, Rule::Iat, Rule::Nonce, Rule::AuthTime, Rule::Sub] {
            assert!(matches!(outcome(&results, rule), Outcome::Fail(_)), "{rule:?}");
        }
        let folded = fold(&results);
        assert!(matches!(&folded, Outcome::Fail(why) if why.contains("iss: ") && why.contains("nonce: ")), "{folded:?}");
    }

    #[test]
    fn a_string_date_is_not_a_numeric_date() {
        let token = jwt(
            json!({"iss": "https://idp.test", "aud": "c", "sub": "u", "nonce": "n", "iat": "1800000000", "exp": NOW + 60.0, "auth_time": NOW}),
        );
        assert!(matches!(outcome(&check(&token, &expected(), None, NOW), Rule::Iat), Outcome::Fail(_)));
    }
}
