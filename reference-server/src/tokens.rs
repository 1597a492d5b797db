//! Minting of ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068).

use crate::config::{Alg, Client, User};
use crate::faults::Fault;
use crate::keys::{KeyError, SigningKey};
use crate::model::grant::{Authorization, GrantId};
use crate::provider::Provider;
use crate::util::{b64, now, random_token, sha256, sha384, sha512};
use crate::variants::Variant;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// An access token and when it expires.
pub struct AccessToken {
    /// The signed JWT, or the opaque value under the `opaque-access-tokens` variant.
    pub token: String,
    pub expires: u64,
}

/// What a token response (RFC 6749 §5.1) or an implicit response (§4.2.2) says about its access
/// token besides the token itself.
pub struct AccessTokenDescription {
    pub token_type: &'static str,
    /// RECOMMENDED; left out under the `expires-in-omitted` variant.
    pub expires_in: Option<u64>,
    /// The granted scope; OPTIONAL when identical to the requested one.
    pub scope: Option<String>,
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
        Alg::EdDSA | Alg::ES512 => sha512(value.as_bytes()),
        Alg::RS384 | Alg::PS384 | Alg::ES384 => sha384(value.as_bytes()),
        Alg::RS256 | Alg::PS256 | Alg::ES256 => sha256(value.as_bytes()),
    };
    b64(&digest[..digest.len() / 2])
}

impl Provider {
    /// RFC 9068 §2.2: `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`, plus `scope` and,
    /// for user tokens, the authentication information of §2.2.1.
    pub fn mint_access_token(
        &self,
        client: &Client,
        user: Option<(&Authorization, GrantId)>,
        scope: &[String],
        resource: Option<&str>,
    ) -> Result<AccessToken, KeyError> {
        let authz = user.map(|(authz, _)| authz);
        let clock = now();
        let lifetime = self.config.lifetimes.access_token_secs;
        let mut expires = clock.as_secs() + lifetime;
        if self.has_variant(Variant::FractionalNumericDates) {
            // The claimed exp has milliseconds: the store keeps the token until that second ends.
            expires += 1;
        }
        // A user's token names its grant (so revoking the grant reaches it); a client's token is
        // recorded nowhere.
        let jti = user.map_or_else(random_token, |(_, grant)| self.store.access_token_id(grant, expires));
        if self.has_variant(Variant::OpaqueAccessTokens) {
            // RFC 6749 §1.4: a random handle the client cannot read; the store resolves it.
            return Ok(AccessToken { token: jti, expires });
        }
        let aud = self.access_token_audience(client, resource);
        let mut claims = json!({
            "iss": self.issuer,
            "sub": authz.map_or(client.client_id.as_str(), |a| a.sub.as_str()),
            "aud": aud,
            "client_id": client.client_id,
            "iat": self.numeric_date(clock, 0),
            "exp": self.numeric_date(clock, lifetime),
            "jti": jti,
        });
        let obj = claims.as_object_mut().ok_or_else(|| KeyError::from("claims"))?;
        if !scope.is_empty() {
            obj.insert("scope".into(), json!(scope.join(" ")));
        }
        if let Some(a) = authz {
            obj.insert("auth_time".into(), self.numeric_date(Duration::from_secs(a.auth_time), 0));
            insert_authentication(obj, a);
        }
        if self.has(Fault::AccessTokenCid) {
            obj.remove("client_id").map(|id| obj.insert("cid".into(), id));
        }
        let token = self.sign(client.access_token_signing_alg, self.access_token_typ(), &claims)?;
        Ok(AccessToken { token, expires })
    }

    /// RFC 8707 §2 / RFC 9068 §3: the `aud` of an access token: the requested resource, else
    /// the client's default resource server, else this server itself (the issuer: a token for
    /// userinfo). Userinfo refuses tokens for anything but the last.
    pub fn access_token_audience<'a>(&'a self, client: &'a Client, resource: Option<&'a str>) -> &'a str {
        resource.or(client.default_resource.as_deref()).unwrap_or(&self.issuer)
    }

    /// OIDC Core §2 and §3.1.3.6: the ID token for `user` under `authz`.
    pub fn mint_id_token(&self, client: &Client, user: &User, authz: &Authorization, ctx: IdTokenContext<'_>) -> Result<String, KeyError> {
        let clock = now();
        let now = clock.as_secs();
        let alg = client.id_token_signing_alg;
        let mut claims = crate::rules::claims::user_claims(user, &authz.scope, authz.claims.as_ref().map(|c| &c.id_token));
        let iss = if self.has(Fault::WrongIssInIdToken) { format!("{}/", self.issuer) } else { self.issuer.clone() };
        claims.insert("iss".into(), json!(iss));
        let sub = if self.has(Fault::SubNotStable) { format!("{}.{}", user.sub, random_token()) } else { user.sub.clone() };
        claims.insert("sub".into(), json!(sub));
        let aud = if self.has(Fault::AudMissingClient) { "oidc-harness-another-client" } else { client.client_id.as_str() };
        claims.insert("aud".into(), self.id_token_audience(client, aud));
        let azp = if self.has(Fault::AzpNotClient) { "oidc-harness-another-client" } else { client.client_id.as_str() };
        // OIDC Core §2: azp is OPTIONAL, needed only when the one audience is another party.
        if !(self.has_variant(Variant::AzpOmitted) && azp == aud) {
            claims.insert("azp".into(), json!(azp));
        }
        let iat = if self.has(Fault::IatInMilliseconds) { json!(now * 1000) } else { self.numeric_date(clock, 0) };
        claims.insert("iat".into(), iat);
        let exp = if self.has(Fault::IdTokenExpired) {
            json!(now.saturating_sub(60))
        } else {
            self.numeric_date(clock, self.config.lifetimes.id_token_secs)
        };
        claims.insert("exp".into(), exp);
        if !self.has(Fault::AuthTimeMissing) && self.auth_time_included(authz) {
            claims.insert("auth_time".into(), self.numeric_date(Duration::from_secs(authz.auth_time), 0));
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

    /// OIDC Core §2 `aud`: an array holding the client; one more audience (the client's first
    /// resource server) under `aud-array-with-azp`, a single string under `aud-single-string`.
    fn id_token_audience(&self, client: &Client, aud: &str) -> Value {
        if self.has_variant(Variant::AudSingleString) {
            return json!(aud);
        }
        match client.resources.first().filter(|_| self.has_variant(Variant::AudArrayWithAzp)) {
            Some(resource) => json!([aud, resource]),
            None => json!([aud]),
        }
    }

    /// OIDC Core §2: `auth_time` is REQUIRED when `max_age` was sent or it was requested as an
    /// essential claim, OPTIONAL otherwise; this server includes it always, unless the
    /// `auth-time-only-when-requested` variant makes it include it only when required.
    fn auth_time_included(&self, authz: &Authorization) -> bool {
        if !self.has_variant(Variant::AuthTimeOnlyWhenRequested) {
            return true;
        }
        let essential = authz.claims.as_ref().and_then(|c| c.id_token.get("auth_time")).is_some_and(|spec| spec.essential);
        authz.max_age.is_some() || essential
    }

    /// RFC 7519 §2 NumericDate, `offset` seconds after `at`: whole seconds, or with the
    /// milliseconds under the `fractional-numeric-dates` variant (non-integer values are
    /// allowed).
    fn numeric_date(&self, at: Duration, offset: u64) -> Value {
        if self.has_variant(Variant::FractionalNumericDates) {
            json!((at.as_secs() + offset) as f64 + f64::from(at.subsec_millis()) / 1000.0)
        } else {
            json!(at.as_secs() + offset)
        }
    }

    /// RFC 9068 §2.1 `typ` of access tokens (a fault makes it the generic `JWT`, which this
    /// server then also accepts, as such a server would). Media types compare
    /// case-insensitively (RFC 7515 §4.1.9), so `at+JWT` is the same type: a variant.
    pub fn access_token_typ(&self) -> &'static str {
        if self.has(Fault::AccessTokenTypJwt) {
            "JWT"
        } else if self.has_variant(Variant::AtTypUppercase) {
            "at+JWT"
        } else {
            "at+jwt"
        }
    }

    /// RFC 6749 §5.1 and §4.2.2: `token_type` (case-insensitive, §7.1: `bearer` under a
    /// variant), `expires_in` (RECOMMENDED) and `scope` (OPTIONAL when identical to what was
    /// requested) for an access token of `granted` scope.
    pub fn describe_access_token(&self, granted: &[String], requested: &[String]) -> AccessTokenDescription {
        let token_type = if self.has_variant(Variant::TokenTypeLowercase) { "bearer" } else { "Bearer" };
        let expires_in = Some(self.config.lifetimes.access_token_secs).filter(|_| !self.has_variant(Variant::ExpiresInOmitted));
        let unchanged = || granted.len() == requested.len() && granted.iter().all(|s| requested.contains(s));
        let omit_scope = granted.is_empty() || (self.has_variant(Variant::ScopeOmittedWhenUnchanged) && unchanged());
        AccessTokenDescription { token_type, expires_in, scope: (!omit_scope).then(|| granted.join(" ")) }
    }

    /// The store handle of a presented user access token, with its verified claims: the `jti`
    /// of a JWT this server issued, or the opaque value itself (no claims) under the
    /// `opaque-access-tokens` variant.
    pub fn access_token_handle(&self, token: &str, now: u64) -> Result<(String, Map<String, Value>), &'static str> {
        if self.has_variant(Variant::OpaqueAccessTokens) {
            return Ok((token.to_string(), Map::new()));
        }
        let claims = verify_own_jwt(self, token, self.access_token_typ(), now)?;
        let jti = claims.get("jti").and_then(Value::as_str).unwrap_or("").to_string();
        Ok((jti, claims))
    }

    fn sign(&self, alg: Alg, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let key = self.keys.signer(alg).ok_or_else(|| KeyError::from(format!("no active {alg} key")))?;
        // OIDC Core §10.1: with a single key in the JWKS the header need not name it.
        let kid = if self.has_variant(Variant::SingleKeyNoKid) { None } else { Some(key.kid.as_str()) };
        let jwt = key.sign_jwt_as(typ, kid, claims)?;
        if alg == Alg::RS256 && self.has_variant(Variant::KeyRotatedMidRun) {
            self.roll_over_after_third_rs256();
        }
        Ok(jwt)
    }

    /// The `key-rotated-mid-run` variant: once its 3rd RS256 token is signed the server rolls
    /// its RS256 key over by itself (OIDC Core §10.1.1), the old key staying published, so a
    /// client that cached the JWKS meets an unknown `kid` once. The token just signed is good
    /// whatever happens here, so a failed rollover is only logged.
    fn roll_over_after_third_rs256(&self) {
        if self.rs256_signed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 != 3 {
            return;
        }
        match SigningKey::generate(Alg::RS256) {
            Ok(key) => {
                self.keys.rotate(key, self.longest_token_lifetime());
            }
            Err(e) => tracing::error!("key-rotated-mid-run: no new RS256 key: {e}"),
        }
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
    let kid = match header["kid"].as_str() {
        Some(kid) => Some(kid),
        // The `single-key-no-kid` variant signs without naming the key: try the keys of the alg.
        None if provider.has_variant(Variant::SingleKeyNoKid) => None,
        None => return Err("no kid in the header"),
    };
    let alg = header["alg"].as_str().unwrap_or_default();
    let keys = provider.keys.candidates(kid, alg);
    if keys.is_empty() {
        return Err("signed by an unknown key");
    }
    if keys.iter().any(|key| key.alg.as_str() != alg) {
        return Err("alg does not match the key");
    }
    let input_len = jwt.len() - sig.len() - 1;
    let sig = decode(sig)?;
    if !keys.iter().any(|key| key.verify(&jwt.as_bytes()[..input_len], &sig)) {
        return Err("invalid signature");
    }
    let claims: Map<String, Value> = serde_json::from_slice(&decode(payload)?).map_err(|_| "malformed claims")?;
    if claims.get("iss").and_then(Value::as_str) != Some(provider.issuer.as_str()) {
        return Err("issued by another issuer");
    }
    // as_f64: a NumericDate may have a fraction (RFC 7519 §2).
    if claims.get("exp").and_then(Value::as_f64).is_none_or(|exp| exp <= now as f64) {
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
