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

    /// Verifies the signature with the JWKS key named by `kid` (RFC 7515 §5.2, OIDC Core §10.1).
    pub fn verify(&self, jwks: &Value) -> Result<(), String> {
        let kid = self.header["kid"].as_str();
        let keys = jwks["keys"].as_array().ok_or("the JWKS has no keys")?;
        let candidates: Vec<&Value> = keys.iter().filter(|k| kid.is_none_or(|kid| k["kid"].as_str() == Some(kid))).collect();
        let key = match candidates.as_slice() {
            [] => return Err(format!("kid {kid:?} is not in the JWKS")),
            [only] => *only,
            _ => return Err("no kid in the header and several keys in the JWKS".into()),
        };
        if let Some(key_alg) = key["alg"].as_str()
            && key_alg != self.alg()
        {
            return Err(format!("header alg {} but the key is for {key_alg}", self.alg()));
        }
        let part = |name: &str| {
            key[name].as_str().and_then(|v| URL_SAFE_NO_PAD.decode(v).ok()).ok_or_else(|| format!("JWK member {name} missing"))
        };
        let input = self.signing_input.as_bytes();
        let ok = match self.alg() {
            "RS256" => RsaPublicKeyComponents { n: part("n")?, e: part("e")? }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, input, &self.signature)
                .is_ok(),
            "PS256" => RsaPublicKeyComponents { n: part("n")?, e: part("e")? }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, input, &self.signature)
                .is_ok(),
            "ES256" => {
                let mut point = vec![4u8];
                point.extend(part("x")?);
                point.extend(part("y")?);
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(input, &self.signature).is_ok()
            }
            "EdDSA" => UnparsedPublicKey::new(&signature::ED25519, part("x")?).verify(input, &self.signature).is_ok(),
            other => return Err(format!("alg {other} is not one a relying party should accept")),
        };
        if ok { Ok(()) } else { Err("the signature does not verify with the published key".into()) }
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
    fn half_hash_follows_the_alg() {
        // Expected values computed independently with Python's hashlib.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNSdwZKr7BUQGTHEDMjc";
        assert_eq!(half_hash("RS256", token).unwrap(), "g-lOcZJfrVL9zDVmPqQ2Cg");
        assert_eq!(half_hash("EdDSA", token).unwrap(), "DSmDq-_Em1EU-FYRLVbIraO0Vp_oRB05GiqgC4b-Mvc");
        assert!(half_hash("none", token).is_none());
    }
}
