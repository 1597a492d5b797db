//! Minting of ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068).

use crate::config::{Alg, Client, User};
use crate::faults::Fault;
use crate::keys::{JwsType, KeyError, Kid, SigningKey};
use crate::model::grant::{Authorization, GrantId};
use crate::provider::Provider;
use crate::util::{b64, now, random_token, sha256, sha384, sha512};
use crate::variants::Variant;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};
use std::fmt;
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
    /// The `sub` to answer with when it is not the account's: the one Entra's hint names
    /// (`entra`).
    pub subject: Option<&'a str>,
    /// A Conditional Access custom control's claims (`entra`), each a string.
    pub control_claims: &'a [(String, String)],
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
        // The `access-token-cid` fault names the client `cid` instead of `client_id`.
        let (client_id, cid) = match self.has(Fault::AccessTokenCid) {
            false => (Some(client.client_id.as_str()), None),
            true => (None, Some(client.client_id.as_str())),
        };
        let claims = AccessTokenClaims {
            iss: &self.issuer,
            sub: authz.map_or(client.client_id.as_str(), |a| a.sub.as_str()),
            aud: self.access_token_audience(client, resource),
            client_id,
            cid,
            iat: self.numeric_date(clock, 0),
            exp: self.numeric_date(clock, lifetime),
            jti: &jti,
            scope: (!scope.is_empty()).then_some(SpaceSeparated(scope)),
            auth_time: authz.map(|a| self.numeric_date(Duration::from_secs(a.auth_time), 0)),
            authentication: authz.map(Authentication::from),
        };
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
        let alg = if self.has(Fault::EamIdTokenEs256) && client.entra.is_some() { Alg::ES256 } else { client.id_token_signing_alg };
        let mut claims = crate::rules::claims::user_claims(user, &authz.scope, authz.claims.as_ref().map(|c| &c.id_token));
        let iss = if self.has(Fault::WrongIssInIdToken) { format!("{}/", self.issuer) } else { self.issuer.clone() };
        claims.insert("iss".into(), json!(iss));
        // The account's subject, or the one Entra named (`entra`).
        let subject = ctx.subject.unwrap_or(&authz.sub);
        let sub = if self.has(Fault::SubNotStable) { format!("{subject}.{}", random_token()) } else { subject.to_string() };
        claims.insert("sub".into(), json!(sub));
        let aud = if self.has(Fault::AudMissingClient) { "oidc-harness-another-client" } else { client.client_id.as_str() };
        claims.insert("aud".into(), self.id_token_audience(client, aud));
        let azp = if self.has(Fault::AzpNotClient) { "oidc-harness-another-client" } else { client.client_id.as_str() };
        // OIDC Core §2: azp is OPTIONAL, needed only when the one audience is another party.
        if !(self.has_variant(Variant::AzpOmitted) && azp == aud) {
            claims.insert("azp".into(), json!(azp));
        }
        let iat = if self.has(Fault::IatInMilliseconds) { json!(now * 1000) } else { json!(self.numeric_date(clock, 0)) };
        claims.insert("iat".into(), iat);
        let exp = if self.has(Fault::IdTokenExpired) {
            json!(now.saturating_sub(60))
        } else {
            json!(self.numeric_date(clock, self.config.lifetimes.id_token_secs))
        };
        claims.insert("exp".into(), exp);
        if !self.has(Fault::AuthTimeMissing) && self.auth_time_included(authz) {
            claims.insert("auth_time".into(), json!(self.numeric_date(Duration::from_secs(authz.auth_time), 0)));
        }
        if let Ok(Value::Object(authentication)) = serde_json::to_value(Authentication::from(authz)) {
            claims.extend(authentication);
        }
        if self.has(Fault::EamAmrString) && client.entra.is_some() {
            claims.insert("amr".into(), json!(authz.amr.join(" ")));
        }
        if self.has(Fault::AcrUnlisted) {
            claims.insert("acr".into(), json!("urn:oidc-harness:acr:unlisted"));
        }
        for (name, value) in ctx.control_claims {
            claims.insert(name.clone(), json!(value));
        }
        if let Some(nonce) = ctx.nonce.filter(|_| !self.has(Fault::NonceDropped)) {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(at) = ctx.access_token {
            let hashed = if self.has(Fault::BadAtHash) { format!("{at}.") } else { at.to_string() };
            claims.insert("at_hash".into(), json!(half_hash(alg, &hashed)));
        }
        self.sign(alg, JwsType::Jwt, &claims)
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
    fn numeric_date(&self, at: Duration, offset: u64) -> NumericDate {
        let secs = at.as_secs() + offset;
        match self.has_variant(Variant::FractionalNumericDates) {
            true => NumericDate::Fractional(secs as f64 + f64::from(at.subsec_millis()) / 1000.0),
            false => NumericDate::Seconds(secs),
        }
    }

    /// RFC 9068 §2.1 `typ` of access tokens (a fault makes it the generic `JWT`, which this
    /// server then also accepts, as such a server would). Media types compare
    /// case-insensitively (RFC 7515 §4.1.9), so `at+JWT` is the same type: a variant.
    pub fn access_token_typ(&self) -> JwsType {
        if self.has(Fault::AccessTokenTypJwt) {
            JwsType::Jwt
        } else if self.has_variant(Variant::AtTypUppercase) {
            JwsType::AccessTokenUppercase
        } else {
            JwsType::AccessToken
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

    fn sign(&self, alg: Alg, typ: JwsType, claims: &impl Serialize) -> Result<String, KeyError> {
        let key = self.keys.signer(alg).ok_or_else(|| KeyError::from(format!("no active {alg} key")))?;
        // OIDC Core §10.1: with a single key in the JWKS the header need not name it.
        let kid = if self.has_variant(Variant::SingleKeyNoKid) { Kid::Omitted } else { Kid::Named };
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
pub fn verify_own_jwt(provider: &Provider, jwt: &str, typ: JwsType, now: u64) -> Result<Map<String, Value>, &'static str> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a JWS in compact serialisation");
    };
    let decode = |part: &str| crate::util::b64_decode(part).ok_or("malformed base64url");
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| "malformed header")?;
    if header["typ"].as_str() != Some(typ.as_str()) {
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

/// The claims of a JWT access token (RFC 9068 §2.2), serialised as they are: no JSON tree is
/// built for the token on the hot path.
#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cid: Option<&'a str>,
    iat: NumericDate,
    exp: NumericDate,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<SpaceSeparated<'a>>,
    /// RFC 9068 §2.2.1: a user's token says how and when the user authenticated.
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<NumericDate>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    authentication: Option<Authentication<'a>>,
}

/// How the user authenticated, in ID tokens (OIDC Core §2) and user access tokens (RFC 9068
/// §2.2.1): `acr`, `amr` and the profile's `org_id`, each when known.
#[derive(Serialize)]
struct Authentication<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    amr: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    org_id: Option<&'a str>,
}

impl<'a> From<&'a Authorization> for Authentication<'a> {
    fn from(authz: &'a Authorization) -> Self {
        Authentication { acr: authz.acr.as_deref(), amr: &authz.amr, org_id: authz.org_id.as_deref() }
    }
}

/// RFC 7519 §2 NumericDate: whole seconds, or with a fraction.
#[derive(Clone, Copy)]
enum NumericDate {
    Seconds(u64),
    Fractional(f64),
}

impl Serialize for NumericDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            NumericDate::Seconds(secs) => serializer.serialize_u64(secs),
            NumericDate::Fractional(secs) => serializer.serialize_f64(secs),
        }
    }
}

/// A space-separated list (RFC 6749 §3.3 `scope`), serialised as one string without building it.
struct SpaceSeparated<'a>(&'a [String]);

impl fmt::Display for SpaceSeparated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(item)?;
        }
        Ok(())
    }
}

impl Serialize for SpaceSeparated<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::grant::Grant;

    fn provider(config: Config) -> Provider {
        Provider::new(config, "http://127.0.0.1:1/api/oidc".into(), "admin".into()).expect("provider")
    }

    fn claims_of(jwt: &str) -> Map<String, Value> {
        let payload = jwt.split('.').nth(1).expect("three parts");
        serde_json::from_slice(&crate::util::b64_decode(payload).expect("base64url")).expect("JSON claims")
    }

    fn authorization() -> Authorization {
        Authorization {
            client_id: "web-app".into(),
            sub: "user-1".into(),
            scope: vec!["openid".into(), "profile".into()],
            resources: Vec::new(),
            auth_time: 1_800_000_000,
            max_age: None,
            acr: Some("urn:acr:mfa".into()),
            amr: vec!["pwd".into(), "otp".into()],
            org_id: Some("org-1".into()),
            claims: None,
        }
    }

    #[test]
    fn an_access_token_carries_the_rfc_9068_claims_and_the_users_authentication() {
        let provider = provider(Config::default());
        let client = provider.config.client("web-app").expect("web-app").clone();
        let authz = authorization();
        let grant = provider.store.add_grant(Grant { authz: authz.clone(), created: 0, expires: u64::MAX / 2 });
        let token = provider.mint_access_token(&client, Some((&authz, grant)), &authz.scope, None).expect("minted");
        let claims = claims_of(&token.token);
        assert_eq!(claims["iss"], json!(provider.issuer));
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["aud"], json!(provider.issuer));
        assert_eq!(claims["client_id"], "web-app");
        assert_eq!(claims["scope"], "openid profile");
        assert_eq!(claims["auth_time"], 1_800_000_000u64);
        assert_eq!(claims["acr"], "urn:acr:mfa");
        assert_eq!(claims["amr"], json!(["pwd", "otp"]));
        assert_eq!(claims["org_id"], "org-1");
        let (iat, exp) = (claims["iat"].as_u64().expect("whole seconds"), claims["exp"].as_u64().expect("whole seconds"));
        assert_eq!(exp - iat, provider.config.lifetimes.access_token_secs);
        assert_eq!(exp, token.expires);
        assert!(claims["jti"].as_str().is_some_and(|jti| jti.len() > 40));
    }

    #[test]
    fn a_client_token_has_no_user_claims_and_faults_and_variants_reach_it() {
        let provider = provider(Config::default());
        let client = provider.config.client("service-client").expect("service-client").clone();
        let claims = claims_of(&provider.mint_access_token(&client, None, &[], None).expect("minted").token);
        assert_eq!(claims["sub"], "service-client");
        for absent in ["scope", "auth_time", "acr", "amr", "org_id", "cid"] {
            assert!(claims.get(absent).is_none(), "{absent} in a client token without scope");
        }
        let config = Config { faults: vec![Fault::AccessTokenCid], variants: vec![Variant::FractionalNumericDates], ..Config::default() };
        let provider = self::provider(config);
        let claims = claims_of(&provider.mint_access_token(&client, None, &["read".into()], None).expect("minted").token);
        assert_eq!((claims.get("client_id"), &claims["cid"]), (None, &json!("service-client")));
        assert!(claims["iat"].is_f64() && claims["exp"].is_f64(), "fractional NumericDates: {claims:?}");
    }

    #[test]
    fn half_hash_is_the_left_half_of_the_algorithms_digest() {
        // Expected values computed independently with Python's hashlib and base64.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNSdwZKr7BUQGTHEDMjc";
        assert_eq!(half_hash(Alg::RS256, token), "g-lOcZJfrVL9zDVmPqQ2Cg");
        assert_eq!(half_hash(Alg::ES256, token), "g-lOcZJfrVL9zDVmPqQ2Cg");
        assert_eq!(half_hash(Alg::EdDSA, token), "DSmDq-_Em1EU-FYRLVbIraO0Vp_oRB05GiqgC4b-Mvc");
    }
}
