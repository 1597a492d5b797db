//! PKCE (RFC 7636), one home for both ends: the shape of a challenge or verifier, and the
//! token endpoint's verification of a verifier against the code's challenge.

use crate::error::OAuthError;
use crate::faults::Fault;
use crate::settings::Settings;
use crate::util::{b64, constant_time_eq, sha256};
use crate::variants::Variant;

/// RFC 7636 §4.1: 43-128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// RFC 7636 §4.6: the verifier must hash (S256) to the code's challenge; RFC 9700 §2.1.1: a
/// verifier for a code issued without a challenge is refused (PKCE downgrade).
pub fn verify(settings: &Settings, challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    if settings.has(Fault::PkceNotVerified) {
        return Ok(());
    }
    let plain_ok = |v: &str, challenge: &str| settings.has(Fault::PkcePlainAccepted) && constant_time_eq(v, challenge);
    match (challenge, verifier) {
        (Some(challenge), Some(v)) if plain_ok(v, challenge) => Ok(()),
        (Some(challenge), Some(v)) if is_pkce_value(v) && constant_time_eq(&b64(&sha256(v.as_bytes())), challenge) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge (RFC 7636 §4.6)")),
        // A missing parameter is invalid_request by RFC 6749 §5.2, a failed verification
        // invalid_grant by RFC 7636 §4.6: either fits, the variant picks the first.
        (Some(_), None) if settings.has_variant(Variant::MissingCodeVerifierInvalidRequest) => {
            Err(OAuthError::invalid_request("code_verifier is required: the authorization request had a code_challenge"))
        }
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required: the authorization request had a code_challenge")),
        (None, Some(_)) => Err(OAuthError::invalid_grant("code_verifier sent, but the authorization request had no code_challenge")),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_values_follow_rfc_7636() {
        assert!(is_pkce_value(&"a".repeat(43)));
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn a_verifier_must_hash_to_the_challenge_and_may_not_come_without_one() {
        let settings = Settings::new(crate::Config::default(), "http://127.0.0.1/api/oidc".into());
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify(&settings, Some(challenge), Some(verifier)).is_ok(), "RFC 7636 Appendix B");
        assert_eq!(verify(&settings, Some(challenge), Some(&"x".repeat(43))).unwrap_err().error, Some("invalid_grant"));
        assert_eq!(verify(&settings, Some(challenge), None).unwrap_err().error, Some("invalid_grant"));
        assert_eq!(verify(&settings, None, Some(verifier)).unwrap_err().error, Some("invalid_grant"), "downgrade");
        assert!(verify(&settings, None, None).is_ok());
    }
}
