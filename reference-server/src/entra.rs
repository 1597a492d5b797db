//! Microsoft Entra ID as a client: an External Authentication Method (EAM). Entra sends the user
//! it has signed in with a first factor to the provider's authorization endpoint, with an
//! `id_token_hint` it signed naming that user (already expired: the provider checks who signed
//! it, for whom and about whom, not when), asks for an ID token by form post, and accepts it when
//! it carries the hint's `sub`, one of the `acr` values it asked for and one `amr` method that
//! satisfies that `acr`.
//!
//! A client with `[clients.entra]` is such an Entra application: this module verifies its hints
//! and says which method satisfies which `acr`; `authorize::second_factor` asks the hinted user for
//! the second factor. The hint keys are the tenant's JWKS (a file), or the published test key the
//! harness's emulated Entra signs with ([`TEST_KEY_PEM`]).
//!
//! Sources: learn.microsoft.com/entra/identity/authentication/concept-authentication-external-method-provider
//! (the request, the hint, the token Entra expects).

use crate::config::EntraApp;
use crate::keys::SigningKey;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde_json::Value;

pub const REDIRECT_URI: &str = EntraApp::REDIRECT_URI;
pub const TEST_TENANT: &str = EntraApp::TEST_TENANT;

/// The published test key the emulated Entra signs hints with (RS256, as Entra signs). Public on
/// purpose: a deployment that trusts it accepts hints from anyone, so only test IdPs do.
pub const TEST_KEY_PEM: &str = include_str!("../testdata/entra-test-key.pem");

/// The `acr` EAM asks for: a possession or an inherence factor.
pub const ACR_POSSESSION_OR_INHERENCE: &str = "possessionorinherence";
/// RFC 8176 methods Entra counts as possession.
pub const POSSESSION: [&str; 8] = ["fido", "hwk", "otp", "pop", "sc", "sms", "swk", "tel"];
/// RFC 8176 methods Entra counts as inherence.
pub const INHERENCE: [&str; 5] = ["face", "fpt", "iris", "retina", "vbm"];

/// The issuer of the emulated Entra's hints: Entra's v2.0 issuer for [`TEST_TENANT`].
pub fn test_issuer() -> String {
    EntraApp::emulated().hint_issuer
}

/// The emulated Entra's signing key (its `kid` the RFC 7638 thumbprint), parsed once.
pub fn test_key() -> &'static SigningKey {
    static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let der = crate::keys::pkcs8_from_pem(TEST_KEY_PEM).expect("the embedded test key is PKCS#8 PEM");
        SigningKey::from_pkcs8(crate::config::Alg::RS256, &der).expect("the embedded test key is an RSA key")
    })
}

/// Whether `method` (an RFC 8176 name) satisfies Entra's `acr`.
pub fn satisfies(acr: &str, method: &str) -> bool {
    match acr {
        ACR_POSSESSION_OR_INHERENCE => POSSESSION.contains(&method) || INHERENCE.contains(&method),
        "possession" => POSSESSION.contains(&method),
        "inherence" => INHERENCE.contains(&method),
        _ => false,
    }
}

/// What `HintTrust::verify` checks beyond issuer and audience: the signature always, but for
/// a fault; the expiry never, but for a fault.
#[derive(Debug, Clone, Copy)]
pub struct HintChecks {
    pub signature: bool,
    pub expiry: bool,
}

impl HintChecks {
    pub const ENTRA: HintChecks = HintChecks { signature: true, expiry: false };
}

/// Who the hint names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// Entra's `sub` for the user: the ID token must answer with it.
    pub sub: String,
    /// The user's sign-in name (UPN), which this server looks its account up by.
    pub preferred_username: Option<String>,
}

/// What a client's hints are verified with.
pub struct HintTrust {
    issuer: String,
    audience: String,
    keys: Vec<RsaKey>,
}

struct RsaKey {
    kid: Option<String>,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl HintTrust {
    /// The trust `[clients.entra]` of client `client_id` configures; a problem names the key.
    pub fn new(app: &EntraApp, client_id: &str) -> Result<HintTrust, String> {
        let jwks = match &app.hint_jwks_file {
            None => serde_json::json!({ "keys": [test_key().public_jwk()] }),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("entra.hint_jwks_file {}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("entra.hint_jwks_file {}: not JSON: {e}", path.display()))?
            }
        };
        let keys: Vec<RsaKey> = jwks["keys"].as_array().into_iter().flatten().filter_map(rsa_key).collect();
        if keys.is_empty() {
            return Err("entra.hint_jwks_file: the JWKS has no RSA signing key (Entra signs RS256)".into());
        }
        let audience = app.hint_audience.clone().unwrap_or_else(|| client_id.to_string());
        Ok(HintTrust { issuer: app.hint_issuer.clone(), audience, keys })
    }

    /// Verifies a hint: RS256 by one of the keys, `iss` and `aud` as configured, a `sub`. Its
    /// `exp` is not looked at (Entra sends hints that have already expired) unless
    /// `checks.expiry`; `checks.signature` is off only under the `eam-hint-unverified` fault.
    pub fn verify(&self, jwt: &str, checks: HintChecks, now: u64) -> Result<Hint, String> {
        let mut parts = jwt.split('.');
        let (Some(header), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err("it is not a JWS in compact serialisation".into());
        };
        let decode = |part: &str, what: &str| crate::util::b64_decode(part).ok_or_else(|| format!("its {what} is not base64url"));
        let header: Value = serde_json::from_slice(&decode(header, "header")?).map_err(|_| "its header is not JSON".to_string())?;
        if header["alg"] != "RS256" {
            return Err(format!("it is signed with {}, not RS256", header["alg"]));
        }
        let kid = header["kid"].as_str();
        let candidates: Vec<&RsaKey> = self.keys.iter().filter(|k| kid.is_none() || k.kid.is_none() || k.kid.as_deref() == kid).collect();
        let input = &jwt.as_bytes()[..header_and_payload_len(jwt)];
        let sig = decode(sig, "signature")?;
        let verified = candidates.iter().any(|k| {
            RsaPublicKeyComponents { n: k.n.as_slice(), e: k.e.as_slice() }.verify(&RSA_PKCS1_2048_8192_SHA256, input, &sig).is_ok()
        });
        if !verified && checks.signature {
            return Err("its signature does not verify with the Entra keys this server trusts".into());
        }
        let claims: Value = serde_json::from_slice(&decode(payload, "payload")?).map_err(|_| "its claims are not JSON".to_string())?;
        if claims["iss"].as_str() != Some(self.issuer.as_str()) {
            return Err(format!("its iss {} is not the trusted Entra issuer {}", claims["iss"], self.issuer));
        }
        let aud_ok = match &claims["aud"] {
            Value::String(aud) => *aud == self.audience,
            Value::Array(list) => list.iter().any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err(format!("its aud {} is not {}", claims["aud"], self.audience));
        }
        if checks.expiry && claims["exp"].as_f64().is_none_or(|exp| exp <= now as f64) {
            return Err("it has expired".into());
        }
        let sub = claims["sub"].as_str().filter(|s| !s.is_empty()).ok_or("it has no sub")?;
        Ok(Hint { sub: sub.to_string(), preferred_username: claims["preferred_username"].as_str().map(str::to_string) })
    }
}

/// The length of `header.payload`, the signing input.
fn header_and_payload_len(jwt: &str) -> usize {
    jwt.rfind('.').unwrap_or(0)
}

/// An RSA key of a JWKS that may verify signatures (RFC 7517 §4.2 `use` absent or `sig`).
fn rsa_key(jwk: &Value) -> Option<RsaKey> {
    if jwk["kty"] != "RSA" || jwk.get("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let part = |name: &str| jwk[name].as_str().and_then(crate::util::b64_decode);
    Some(RsaKey { kid: jwk["kid"].as_str().map(str::to_string), n: part("n")?, e: part("e")? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::JwsType;
    use serde_json::json;

    fn trust() -> HintTrust {
        HintTrust::new(&EntraApp::emulated(), "entra-eam").unwrap()
    }

    fn hint(claims: Value) -> String {
        test_key().sign_jwt(JwsType::Jwt, &claims).unwrap()
    }

    fn claims() -> Value {
        json!({"iss": test_issuer(), "aud": "entra-eam", "sub": "entra-sub-1", "preferred_username": "alice", "exp": 1000, "iat": 900})
    }

    #[test]
    fn an_expired_hint_from_the_trusted_issuer_names_its_user() {
        let found = trust().verify(&hint(claims()), HintChecks::ENTRA, 2_000_000_000).unwrap();
        assert_eq!(found, Hint { sub: "entra-sub-1".into(), preferred_username: Some("alice".into()) });
        assert_eq!(
            trust().verify(&hint(claims()), HintChecks { expiry: true, ..HintChecks::ENTRA }, 2_000_000_000).unwrap_err(),
            "it has expired"
        );
    }

    #[test]
    fn a_hint_from_another_issuer_audience_or_key_is_refused_saying_which() {
        let mut other_iss = claims();
        other_iss["iss"] = json!("https://login.microsoftonline.com/other/v2.0");
        assert!(trust().verify(&hint(other_iss), HintChecks::ENTRA, 0).unwrap_err().contains("is not the trusted Entra issuer"));
        let mut other_aud = claims();
        other_aud["aud"] = json!("someone-else");
        assert!(trust().verify(&hint(other_aud), HintChecks::ENTRA, 0).unwrap_err().contains("aud"));
        let stranger = SigningKey::generate(crate::config::Alg::RS256).unwrap().sign_jwt(JwsType::Jwt, &claims()).unwrap();
        assert!(trust().verify(&stranger, HintChecks::ENTRA, 0).unwrap_err().contains("signature"));
        let es256 = SigningKey::generate(crate::config::Alg::ES256).unwrap().sign_jwt(JwsType::Jwt, &claims()).unwrap();
        assert!(trust().verify(&es256, HintChecks::ENTRA, 0).unwrap_err().contains("not RS256"));
        assert!(trust().verify("not.a.jwt.at-all", HintChecks::ENTRA, 0).is_err());
    }

    #[test]
    fn possession_and_inherence_methods_satisfy_their_acr_and_a_password_none() {
        assert!(satisfies(ACR_POSSESSION_OR_INHERENCE, "otp"));
        assert!(satisfies(ACR_POSSESSION_OR_INHERENCE, "face"));
        assert!(satisfies("possession", "fido") && !satisfies("possession", "face"));
        assert!(!satisfies(ACR_POSSESSION_OR_INHERENCE, "pwd"));
    }
}
