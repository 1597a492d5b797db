//! JWTs as a relying party sees them: decoded, and verified against the issuer's published
//! JWKS (never against anything the server shares with us out of band).

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jwt {
    /// Decodes a JWS in compact serialisation (RFC 7515 §7.1) with a JSON object payload.
    pub fn decode(token: &str) -> Result<Jwt, String> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, sig] = parts.as_slice() else { return Err(format!("not a compact JWS: {} parts", parts.len())) };
        let json = |part: &str, what: &str| -> Result<Value, String> {
            let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|e| format!("{what} is not base64url: {e}"))?;
            serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object).ok_or_else(|| format!("{what} is not a JSON object"))
        };
        Ok(Jwt {
            header: json(header, "header")?,
            claims: json(claims, "payload")?,
            signing_input: format!("{header}.{claims}"),
            signature: URL_SAFE_NO_PAD.decode(sig).map_err(|e| format!("signature is not base64url: {e}"))?,
        })
    }

    pub fn alg(&self) -> &str {
        self.header["alg"].as_str().unwrap_or("")
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// The `kid` header, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header["kid"].as_str()
    }

    /// Verifies the signature with the JWKS key for it (RFC 7515 §5.2, OIDC Core §10.1): the key
    /// named by `kid` among those whose type fits the alg (RFC 7517 §4.5 lets keys of different
    /// kty share a kid), or the only fitting key when the header names none. `alg: none` and the
    /// HMAC algorithms are refused: a relying party verifying with a published JWKS never
    /// accepts them.
    pub fn verify(&self, jwks: &Value) -> Result<(), String> {
        let alg = self.alg();
        let verifier = Verifier::for_alg(alg).ok_or_else(|| match alg {
            "none" => "alg none: the token is unsigned".to_string(),
            a if a.starts_with("HS") => format!("alg {a} is a shared-secret MAC, not verifiable with the published JWKS"),
            other => format!("alg {other} is not a JWS signature algorithm a relying party accepts"),
        })?;
        let kid = self.kid();
        let keys = jwks["keys"].as_array().ok_or("the JWKS has no keys")?;
        let fitting: Vec<&Value> = keys.iter().filter(|k| verifier.fits(k)).collect();
        let candidates: Vec<&Value> = fitting.iter().copied().filter(|k| kid.is_none_or(|kid| k["kid"].as_str() == Some(kid))).collect();
        let key = match candidates.as_slice() {
            [] => {
                return Err(match kid {
                    Some(kid) => format!("no {alg} key with kid \"{kid}\" is in the JWKS"),
                    None => format!("no {alg} key is in the JWKS"),
                });
            }
            [only] => *only,
            _ => return Err(format!("the header names no kid and the JWKS has {} {alg} keys to choose from", candidates.len())),
        };
        if let Some(key_alg) = key["alg"].as_str()
            && key_alg != alg
        {
            return Err(format!("header alg {alg} but the key is for {key_alg}"));
        }
        if verifier.verify(key, self.signing_input.as_bytes(), &self.signature)? {
            Ok(())
        } else {
            Err("the signature does not verify with the published key".into())
        }
    }
}

/// A JWS algorithm (RFC 7518 §3) and the key type it needs.
struct Verifier {
    kty: &'static str,
    crv: Option<&'static str>,
    rsa: Option<&'static signature::RsaParameters>,
    ec: Option<&'static signature::EcdsaVerificationAlgorithm>,
}

impl Verifier {
    fn for_alg(alg: &str) -> Option<Verifier> {
        let rsa = |p| Some(Verifier { kty: "RSA", crv: None, rsa: Some(p), ec: None });
        let ec = |crv, a| Some(Verifier { kty: "EC", crv: Some(crv), rsa: None, ec: Some(a) });
        match alg {
            "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
            "RS384" => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
            "RS512" => rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
            "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
            "PS384" => rsa(&signature::RSA_PSS_2048_8192_SHA384),
            "PS512" => rsa(&signature::RSA_PSS_2048_8192_SHA512),
            "ES256" => ec("P-256", &signature::ECDSA_P256_SHA256_FIXED),
            "ES384" => ec("P-384", &signature::ECDSA_P384_SHA384_FIXED),
            "ES512" => ec("P-521", &signature::ECDSA_P521_SHA512_FIXED),
            "EdDSA" => Some(Verifier { kty: "OKP", crv: Some("Ed25519"), rsa: None, ec: None }),
            _ => None,
        }
    }

    fn fits(&self, key: &Value) -> bool {
        key["kty"].as_str() == Some(self.kty) && self.crv.is_none_or(|crv| key["crv"].as_str() == Some(crv))
    }

    fn verify(&self, key: &Value, input: &[u8], sig: &[u8]) -> Result<bool, String> {
        let part = |name: &str| {
            key[name].as_str().and_then(|v| URL_SAFE_NO_PAD.decode(v).ok()).ok_or_else(|| format!("JWK member {name} missing"))
        };
        Ok(match (self.rsa, self.ec) {
            (Some(params), _) => RsaPublicKeyComponents { n: part("n")?, e: part("e")? }.verify(params, input, sig).is_ok(),
            (_, Some(algorithm)) => {
                let point = [vec![4u8], part("x")?, part("y")?].concat();
                UnparsedPublicKey::new(algorithm, point).verify(input, sig).is_ok()
            }
            (None, None) => UnparsedPublicKey::new(&signature::ED25519, part("x")?).verify(input, sig).is_ok(),
        })
    }
}

/// `at_hash` / `c_hash` (OIDC Core §3.1.3.6): the left half of the hash named by the alg
/// (SHA-512 for EdDSA with Ed25519).
pub fn half_hash(alg: &str, value: &str) -> Option<String> {
    let algorithm = match alg {
        "RS256" | "PS256" | "ES256" => &digest::SHA256,
        "RS384" | "PS384" | "ES384" => &digest::SHA384,
        "RS512" | "PS512" | "ES512" | "EdDSA" => &digest::SHA512,
        _ => return None,
    };
    let d = digest::digest(algorithm, value.as_bytes());
    Some(URL_SAFE_NO_PAD.encode(&d.as_ref()[..d.as_ref().len() / 2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tokens_are_described() {
        assert!(Jwt::decode("a.b").unwrap_err().contains("2 parts"));
        assert!(Jwt::decode("!!.e30.sig").unwrap_err().contains("header"));
        assert!(Jwt::decode("eyJhbGciOiJSUzI1NiJ9.WzFd.c2ln").unwrap_err().contains("payload"));
    }

    #[test]
    fn none_and_hmac_are_refused_and_the_key_is_chosen_by_kid_and_kty() {
        let token = |header: &str| format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header));
        let jwks = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "k", "crv": "P-256", "x": "AA", "y": "AA"},
        ]});
        let verify = |header: &str| Jwt::decode(&token(header)).unwrap().verify(&jwks).unwrap_err();
        assert!(verify(r#"{"alg":"none"}"#).contains("unsigned"));
        assert!(verify(r#"{"alg":"HS256"}"#).contains("shared-secret"));
        assert!(verify(r#"{"alg":"ES384","kid":"k"}"#).contains("no ES384 key"), "a P-256 key does not fit ES384");
        // The shared kid is resolved by kty: the EC key is tried (and its signature fails).
        assert!(verify(r#"{"alg":"ES256","kid":"k"}"#).contains("does not verify"));
        assert!(verify(r#"{"alg":"RS256","kid":"other"}"#).contains("kid \"other\""));
    }

    #[test]
    fn half_hash_follows_the_alg() {
        // Expected values computed independently with Python's hashlib.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNSdwZKr7BUQGTHEDMjc";
        assert_eq!(half_hash("RS256", token).unwrap(), "g-lOcZJfrVL9zDVmPqQ2Cg");
        assert_eq!(half_hash("EdDSA", token).unwrap(), "DSmDq-_Em1EU-FYRLVbIraO0Vp_oRB05GiqgC4b-Mvc");
        assert!(half_hash("none", token).is_none());
    }
}
