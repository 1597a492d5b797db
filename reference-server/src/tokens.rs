//! Minting of ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068).

use crate::config::{Alg, Client, User};
use crate::faults::Fault;
use crate::keys::KeyError;
use crate::provider::Provider;
use crate::store::Authorization;
use crate::util::{b64, now_secs, random_token, sha256, sha512};
use serde_json::{Map, Value, json};

/// A signed access token and what the store needs to track it.
pub struct AccessToken {
    pub jwt: String,
    pub jti: String,
    pub expires: u64,
}

/// What an ID token is issued alongside. (No `c_hash`: only hybrid flows carry a code beside an
/// ID token, and the profile has none.)
#[derive(Default)]
pub struct IdTokenContext<'a> {
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a str>,
}

/// OIDC Core §3.1.3.6 / §3.2.2.9: the left half of the hash of the ASCII value, with the hash
/// of the signing algorithm (SHA-512 for Ed25519, as OpenID's EdDSA guidance says).
pub fn half_hash(alg: Alg, value: &str) -> String {
    let digest = match alg {
        Alg::EdDSA => sha512(value.as_bytes()),
        _ => sha256(value.as_bytes()),
    };
    b64(&digest[..digest.len() / 2])
}

impl Provider {
    /// RFC 9068 §2.2: `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`, plus `scope` and,
    /// for user tokens, the authentication information of §2.2.1.
    pub fn mint_access_token(
        &self,
        client: &Client,
        authz: Option<&Authorization>,
        scope: &[String],
        resource: Option<&str>,
    ) -> Result<AccessToken, KeyError> {
        let now = now_secs();
        let expires = now + self.config.lifetimes.access_token_secs;
        let jti = random_token();
        let aud = resource.or(client.default_resource.as_deref()).unwrap_or(&self.issuer);
        let mut claims = json!({
            "iss": self.issuer,
            "sub": authz.map_or(client.client_id.as_str(), |a| a.sub.as_str()),
            "aud": aud,
            "client_id": client.client_id,
            "iat": now,
            "exp": expires,
            "jti": jti,
        });
        let obj = claims.as_object_mut().ok_or_else(|| KeyError::from("claims"))?;
        if !scope.is_empty() {
            obj.insert("scope".into(), json!(scope.join(" ")));
        }
        if let Some(a) = authz {
            obj.insert("auth_time".into(), json!(a.auth_time));
            insert_authentication(obj, a);
        }
        if self.has(Fault::AccessTokenCid) {
            obj.remove("client_id").map(|id| obj.insert("cid".into(), id));
        }
        let jwt = self.sign(client.access_token_signing_alg, self.access_token_typ(), &claims)?;
        Ok(AccessToken { jwt, jti, expires })
    }

    /// OIDC Core §2 and §3.1.3.6: the ID token for `user` under `authz`.
    pub fn mint_id_token(&self, client: &Client, user: &User, authz: &Authorization, ctx: IdTokenContext<'_>) -> Result<String, KeyError> {
        let now = now_secs();
        let alg = client.id_token_signing_alg;
        let mut claims = crate::claims::user_claims(user, &authz.scope, authz.claims.as_ref().map(|c| &c.id_token));
        let iss = if self.has(Fault::WrongIssInIdToken) { format!("{}/", self.issuer) } else { self.issuer.clone() };
        claims.insert("iss".into(), json!(iss));
        let sub = if self.has(Fault::SubNotStable) { format!("{}.{}", user.sub, random_token()) } else { user.sub.clone() };
        claims.insert("sub".into(), json!(sub));
        let aud = if self.has(Fault::AudMissingClient) { "oidc-harness-another-client" } else { client.client_id.as_str() };
        claims.insert("aud".into(), json!([aud]));
        let azp = if self.has(Fault::AzpNotClient) { "oidc-harness-another-client" } else { client.client_id.as_str() };
        claims.insert("azp".into(), json!(azp));
        claims.insert("iat".into(), json!(if self.has(Fault::IatInMilliseconds) { now * 1000 } else { now }));
        let exp = if self.has(Fault::IdTokenExpired) { now.saturating_sub(60) } else { now + self.config.lifetimes.id_token_secs };
        claims.insert("exp".into(), json!(exp));
        if !self.has(Fault::AuthTimeMissing) {
            claims.insert("auth_time".into(), json!(authz.auth_time));
        }
        insert_authentication(&mut claims, authz);
        if let Some(nonce) = ctx.nonce.filter(|_| !self.has(Fault::NonceDropped)) {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(at) = ctx.access_token {
            let hashed = if self.has(Fault::BadAtHash) { format!("{at}.") } else { at.to_string() };
            claims.insert("at_hash".into(), json!(half_hash(alg, &hashed)));
        }
        self.sign(alg, "JWT", &Value::Object(claims))
    }

    /// RFC 9068 §2.1 `typ` of access tokens (a fault makes it the generic `JWT`, which this
    /// server then also accepts, as such a server would).
    pub fn access_token_typ(&self) -> &'static str {
        if self.has(Fault::AccessTokenTypJwt) { "JWT" } else { "at+jwt" }
    }

    fn sign(&self, alg: Alg, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let key = self.keys.signer(alg).ok_or_else(|| KeyError::from(format!("no active {alg} key")))?;
        key.sign_jwt(typ, claims)
    }
}

/// Checks a JWT this server issued: compact form, the expected `typ` (so an ID token is never
/// taken for an access token, RFC 9068 §4), a published `kid`, a valid signature, our issuer,
/// not expired. Returns the claims.
pub fn verify_own_jwt(provider: &Provider, jwt: &str, typ: &str, now: u64) -> Result<Map<String, Value>, &'static str> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a JWS in compact serialisation");
    };
    let decode = |part: &str| crate::util::b64_decode(part).ok_or("malformed base64url");
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| "malformed header")?;
    if header["typ"].as_str() != Some(typ) {
        return Err("is not the expected type of token");
    }
    let kid = header["kid"].as_str().ok_or("no kid in the header")?;
    let key = provider.keys.find(kid).ok_or("signed by an unknown key")?;
    if header["alg"].as_str() != Some(key.alg.as_str()) {
        return Err("alg does not match the key");
    }
    let input_len = jwt.len() - sig.len() - 1;
    if !key.verify(&jwt.as_bytes()[..input_len], &decode(sig)?) {
        return Err("invalid signature");
    }
    let claims: Map<String, Value> = serde_json::from_slice(&decode(payload)?).map_err(|_| "malformed claims")?;
    if claims.get("iss").and_then(Value::as_str) != Some(provider.issuer.as_str()) {
        return Err("issued by another issuer");
    }
    if claims.get("exp").and_then(Value::as_u64).is_none_or(|exp| exp <= now) {
        return Err("expired");
    }
    Ok(claims)
}

fn insert_authentication(claims: &mut Map<String, Value>, authz: &Authorization) {
    if let Some(acr) = &authz.acr {
        claims.insert("acr".into(), json!(acr));
    }
    if !authz.amr.is_empty() {
        claims.insert("amr".into(), json!(authz.amr));
    }
    if let Some(org) = &authz.org_id {
        claims.insert("org_id".into(), json!(org));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hash_is_the_left_half_of_the_algorithms_digest() {
        // Expected values computed independently with Python's hashlib and base64.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNSdwZKr7BUQGTHEDMjc";
        assert_eq!(half_hash(Alg::RS256, token), "g-lOcZJfrVL9zDVmPqQ2Cg");
        assert_eq!(half_hash(Alg::ES256, token), "g-lOcZJfrVL9zDVmPqQ2Cg");
        assert_eq!(half_hash(Alg::EdDSA, token), "DSmDq-_Em1EU-FYRLVbIraO0Vp_oRB05GiqgC4b-Mvc");
    }
}
