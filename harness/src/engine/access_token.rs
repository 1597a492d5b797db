//! The JWT access token checks of RFC 9068 (§2, §4), one routine for the code flow, client
//! credentials and load's sampled validation.

use super::Outcome;
use super::id_token::{SKEW_SECS, numeric_date};
use super::jwt::Jwt;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `typ` is `at+jwt` (media types compare case-insensitively, RFC 9068 §2.1).
    Typ,
    Signature,
    /// The required claims are present (RFC 9068 §2.2).
    Claims,
    /// `iss` is the issuer and `exp` in the future (RFC 9068 §4).
    Iss,
    /// `client_id` is the client the token was issued to (RFC 9068 §2.2).
    ClientId,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Typ => "typ",
            Rule::Signature => "signature",
            Rule::Claims => "claims",
            Rule::Iss => "iss",
            Rule::ClientId => "client_id",
        }
    }
}

const REQUIRED_CLAIMS: [&str; 7] = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"];

/// Every rule's outcome for `jwt`, issued by `issuer` to `client_id`.
pub fn check(jwt: &Jwt, issuer: &str, client_id: &str, jwks: Option<&Value>, now: f64) -> Vec<(Rule, Outcome)> {
    let typ = jwt.header["typ"].as_str().unwrap_or("");
    let typ_ok = typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt");
    let missing: Vec<&str> = REQUIRED_CLAIMS.into_iter().filter(|c| jwt.claims.get(*c).is_none()).collect();
    let exp = numeric_date(&jwt.claims["exp"]);
    vec![
        (Rule::Typ, Outcome::expect(typ_ok, || format!("typ \"{typ}\""))),
        (
            Rule::Signature,
            match jwks {
                Some(jwks) => jwt.verify(jwks).map_or_else(Outcome::Fail, |()| Outcome::Pass),
                None => Outcome::blocked_by_step("the JWKS", "no JWKS could be read to verify with"),
            },
        ),
        (Rule::Claims, Outcome::expect(missing.is_empty(), || format!("missing {}", missing.join(", ")))),
        (
            Rule::Iss,
            Outcome::expect(jwt.claim_str("iss") == Some(issuer) && exp.is_some_and(|e| e + SKEW_SECS > now), || {
                format!("iss {}, exp {} (now {now:.0}); the issuer is \"{issuer}\"", shown(&jwt.claims["iss"]), shown(&jwt.claims["exp"]))
            }),
        ),
        (
            Rule::ClientId,
            Outcome::expect(jwt.claim_str("client_id") == Some(client_id), || {
                format!("client_id {}, issued to {client_id}", shown(&jwt.claims["client_id"]))
            }),
        ),
    ]
}

fn shown(value: &Value) -> String {
    if value.is_null() { "absent".to_string() } else { value.to_string() }
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

    fn jwt(header: Value, claims: Value) -> Jwt {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        Jwt::decode(&format!("{}.{}.c2ln", enc(&header), enc(&claims))).unwrap()
    }

    #[test]
    fn typ_is_compared_case_insensitively_and_claims_are_required() {
        let claims = json!({"iss": "i", "exp": 2e9, "aud": "a", "sub": "s", "client_id": "c", "iat": 1.7e9, "jti": "j"});
        let ok = check(&jwt(json!({"alg": "RS256", "typ": "at+JWT"}), claims.clone()), "i", "c", None, 1.8e9);
        assert!(ok.iter().filter(|(r, _)| *r != Rule::Signature).all(|(_, o)| *o == Outcome::Pass), "{ok:?}");
        let bad = check(&jwt(json!({"alg": "RS256", "typ": "JWT"}), json!({"iss": "x", "cid": "c"})), "i", "c", None, 1.8e9);
        assert!(matches!(fold(&bad), Outcome::Fail(why) if why.contains("typ:") && why.contains("claims:") && why.contains("client_id:")));
    }
}
