//! Signing keys: generated at start with aws-lc-rs and kept pre-parsed (re-parsing a key on every
//! signature halves the RS256 rate), published in the JWKS with `kid` (the RFC 7638 thumbprint),
//! `use`, `alg` and an `x5c` self-signed certificate (Microsoft Entra requires `x5c`).
//!
//! Rotation: a new key becomes the signing key for its algorithm, the old one stays published
//! until every token it signed has expired, then it is dropped.

use crate::config::Alg;
use crate::util::{b64, sha256};
use arc_swap::ArcSwap;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
#[error("signing key error: {0}")]
pub struct KeyError(String);

impl From<&str> for KeyError {
    fn from(s: &str) -> Self {
        KeyError(s.to_string())
    }
}

impl From<String> for KeyError {
    fn from(s: String) -> Self {
        KeyError(s)
    }
}

/// The JWS `typ` header values this server signs with (RFC 7515 §4.1.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwsType {
    /// `JWT`: ID tokens (and access tokens under the `access-token-typ-jwt` fault).
    Jwt,
    /// `at+jwt`: JWT access tokens (RFC 9068 §2.1).
    AccessToken,
    /// `at+JWT`: the same media type in other case (the `at-typ-uppercase` variant).
    AccessTokenUppercase,
}

impl JwsType {
    const ALL: [JwsType; 3] = [JwsType::Jwt, JwsType::AccessToken, JwsType::AccessTokenUppercase];

    pub fn as_str(self) -> &'static str {
        match self {
            JwsType::Jwt => "JWT",
            JwsType::AccessToken => "at+jwt",
            JwsType::AccessTokenUppercase => "at+JWT",
        }
    }
}

/// Whether a JWS header names its key: `kid` is OPTIONAL (RFC 7515 §4.1.4), and OIDC Core §10.1
/// lets a server with one key leave it out (the `single-key-no-kid` variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kid {
    Named,
    Omitted,
}

/// The base64url-encoded JWS headers of one key, one per `typ` and `kid` choice: encoded once
/// when the key is made, since every token of the key starts with one of them.
struct EncodedHeaders([[String; 2]; 3]);

impl EncodedHeaders {
    fn new(alg: Alg, kid: &str) -> EncodedHeaders {
        EncodedHeaders(JwsType::ALL.map(|typ| {
            let named = json!({ "alg": alg.as_str(), "kid": kid, "typ": typ.as_str() });
            let omitted = json!({ "alg": alg.as_str(), "typ": typ.as_str() });
            [b64(named.to_string().as_bytes()), b64(omitted.to_string().as_bytes())]
        }))
    }

    fn get(&self, typ: JwsType, kid: Kid) -> &str {
        &self.0[typ as usize][kid as usize]
    }
}

/// The key pair. Shared, so the same key can be published under another `kid` (the
/// `kid-shared-across-kty` variant) without being generated again.
enum Material {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One key pair, its public JWK and its encoded JWS headers.
pub struct SigningKey {
    pub alg: Alg,
    pub kid: String,
    material: Arc<Material>,
    jwk: Value,
    headers: EncodedHeaders,
    /// The Ed25519 private key (RFC 8037 §2 `d`), kept only so the `private-key-in-jwks` fault
    /// can leak it; never published otherwise.
    ed25519_seed: Option<Vec<u8>>,
}

impl SigningKey {
    /// Generates a fresh key for `alg` and its self-signed certificate.
    pub fn generate(alg: Alg) -> Result<SigningKey, KeyError> {
        let err = |what: &str| KeyError(format!("{alg}: {what}"));
        let pkcs8: Vec<u8> = match alg {
            Alg::RS256 | Alg::PS256 | Alg::RS384 | Alg::PS384 => {
                let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|_| err("RSA key generation failed"))?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der = key.as_der().map_err(|_| err("RSA key export failed"))?;
                der.as_ref().to_vec()
            }
            Alg::ES256 | Alg::ES384 | Alg::ES512 => {
                let key = EcdsaKeyPair::generate(ec_signing(alg)).map_err(|_| err("EC key generation failed"))?;
                key.to_pkcs8v1().map_err(|_| err("EC key export failed"))?.as_ref().to_vec()
            }
            Alg::EdDSA => {
                let key = Ed25519KeyPair::generate().map_err(|_| err("Ed25519 key generation failed"))?;
                key.to_pkcs8v1().map_err(|_| err("Ed25519 key export failed"))?.as_ref().to_vec()
            }
        };
        SigningKey::from_pkcs8(alg, &pkcs8)
    }

    /// Builds a key from PKCS#8 DER: the signing key pair, its JWK and certificate.
    pub fn from_pkcs8(alg: Alg, pkcs8: &[u8]) -> Result<SigningKey, KeyError> {
        let err = |what: String| KeyError(format!("{alg}: {what}"));
        let (material, mut jwk) = match alg {
            Alg::RS256 | Alg::PS256 | Alg::RS384 | Alg::PS384 => {
                let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| err(format!("not an RSA PKCS#8 key: {e}")))?;
                let public = key.public_key();
                let jwk = json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                });
                (Material::Rsa(key), jwk)
            }
            Alg::ES256 | Alg::ES384 | Alg::ES512 => {
                let (crv, coordinate) = match alg {
                    Alg::ES384 => ("P-384", 48),
                    Alg::ES512 => ("P-521", 66),
                    _ => ("P-256", 32),
                };
                let key = EcdsaKeyPair::from_pkcs8(ec_signing(alg), pkcs8).map_err(|e| err(format!("not a {crv} PKCS#8 key: {e}")))?;
                // Uncompressed point: 0x04 || x || y (SEC 1 §2.3.3), each coordinate full length
                // (RFC 7518 §6.2.1.2).
                let point = key.public_key().as_ref();
                if point.len() != 1 + 2 * coordinate {
                    return Err(err(format!("unexpected {crv} public key length")));
                }
                let (x, y) = point[1..].split_at(coordinate);
                let jwk = json!({ "kty": "EC", "crv": crv, "x": b64(x), "y": b64(y) });
                (Material::Ec(key), jwk)
            }
            Alg::EdDSA => {
                let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(|e| err(format!("not an Ed25519 PKCS#8 key: {e}")))?;
                let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(key.public_key().as_ref()) });
                (Material::Ed(key), jwk)
            }
        };
        let kid = thumbprint(&jwk);
        let cert = self_signed_certificate(pkcs8, &kid).map_err(err)?;
        let obj = jwk.as_object_mut().ok_or_else(|| err("JWK is not an object".into()))?;
        obj.insert("kid".into(), json!(kid));
        obj.insert("use".into(), json!("sig"));
        obj.insert("alg".into(), json!(alg.as_str()));
        obj.insert("x5c".into(), json!([base64_std(&cert)]));
        obj.insert("x5t#S256".into(), json!(b64(&sha256(&cert))));
        // PKCS#8 (RFC 5958, v1 or v2) of an Ed25519 key: a 16-byte prefix, then the 32-byte seed.
        let ed25519_seed = (alg == Alg::EdDSA).then(|| pkcs8.get(16..48).map(<[u8]>::to_vec)).flatten();
        let headers = EncodedHeaders::new(alg, &kid);
        Ok(SigningKey { alg, kid, material: Arc::new(material), jwk, headers, ed25519_seed })
    }

    /// The same key pair published and named under another `kid` (its certificate keeps the
    /// subject it was issued with).
    pub fn with_kid(&self, kid: &str) -> SigningKey {
        let mut jwk = self.jwk.clone();
        jwk["kid"] = json!(kid);
        SigningKey {
            alg: self.alg,
            kid: kid.to_string(),
            material: self.material.clone(),
            jwk,
            headers: EncodedHeaders::new(self.alg, kid),
            ed25519_seed: self.ed25519_seed.clone(),
        }
    }

    pub fn ed25519_seed(&self) -> Option<&[u8]> {
        self.ed25519_seed.as_deref()
    }

    /// The public JWK (RFC 7517 §4) as published in the JWKS.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs `header_and_payload` (the JWS Signing Input, RFC 7515 §5.1 step 5).
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = || KeyError(format!("{}: signing failed", self.alg));
        match &*self.material {
            Material::Rsa(key) => {
                let padding: &'static dyn signature::RsaEncoding = match self.alg {
                    Alg::PS256 => &signature::RSA_PSS_SHA256,
                    Alg::RS384 => &signature::RSA_PKCS1_SHA384,
                    Alg::PS384 => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(padding, &SystemRandom::new(), input, &mut sig).map_err(|_| failed())?;
                Ok(sig)
            }
            Material::Ec(key) => Ok(key.sign(&SystemRandom::new(), input).map_err(|_| failed())?.as_ref().to_vec()),
            Material::Ed(key) => Ok(key.sign(input).as_ref().to_vec()),
        }
    }

    /// Verifies a signature made by this key (the server checks its own tokens at userinfo,
    /// revocation and logout).
    pub fn verify(&self, input: &[u8], sig: &[u8]) -> bool {
        let public = |alg: &'static dyn signature::VerificationAlgorithm, key: &[u8]| {
            signature::UnparsedPublicKey::new(alg, key.to_vec()).verify(input, sig).is_ok()
        };
        match (&*self.material, self.alg) {
            (Material::Rsa(k), Alg::PS256) => public(&signature::RSA_PSS_2048_8192_SHA256, k.public_key().as_ref()),
            (Material::Rsa(k), Alg::RS384) => public(&signature::RSA_PKCS1_2048_8192_SHA384, k.public_key().as_ref()),
            (Material::Rsa(k), Alg::PS384) => public(&signature::RSA_PSS_2048_8192_SHA384, k.public_key().as_ref()),
            (Material::Rsa(k), _) => public(&signature::RSA_PKCS1_2048_8192_SHA256, k.public_key().as_ref()),
            (Material::Ec(k), Alg::ES384) => public(&signature::ECDSA_P384_SHA384_FIXED, k.public_key().as_ref()),
            (Material::Ec(k), Alg::ES512) => public(&signature::ECDSA_P521_SHA512_FIXED, k.public_key().as_ref()),
            (Material::Ec(k), _) => public(&signature::ECDSA_P256_SHA256_FIXED, k.public_key().as_ref()),
            (Material::Ed(k), _) => public(&signature::ED25519, k.public_key().as_ref()),
        }
    }

    /// Produces a JWS in compact serialisation (RFC 7515 §7.1) with the header
    /// `{"alg", "kid", "typ"}` over `claims`.
    pub fn sign_jwt(&self, typ: JwsType, claims: &impl Serialize) -> Result<String, KeyError> {
        self.sign_jwt_as(typ, Kid::Named, claims)
    }

    /// `sign_jwt` with or without the header's `kid`: the encoded header, then the claims
    /// serialised once and encoded into the token (one small buffer: a base64 writer that
    /// serde_json feeds piece by piece costs more than the copy).
    pub fn sign_jwt_as(&self, typ: JwsType, kid: Kid, claims: &impl Serialize) -> Result<String, KeyError> {
        let mut out = String::with_capacity(1024);
        out.push_str(self.headers.get(typ, kid));
        out.push('.');
        let json = serde_json::to_vec(claims).map_err(|e| KeyError(format!("claims: {e}")))?;
        URL_SAFE_NO_PAD.encode_string(&json, &mut out);
        let sig = self.sign(out.as_bytes())?;
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&sig, &mut out);
        Ok(out)
    }
}

/// The ECDSA signing algorithm of `alg` (JWS signatures are the fixed-width `r || s`, RFC 7518
/// §3.4).
fn ec_signing(alg: Alg) -> &'static signature::EcdsaSigningAlgorithm {
    match alg {
        Alg::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        Alg::ES512 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    // serde_json's Map is ordered by key (no `preserve_order`), so this is the canonical form.
    let canonical: serde_json::Map<String, Value> = members.iter().map(|m| (m.to_string(), jwk[*m].clone())).collect();
    b64(&sha256(Value::Object(canonical).to_string().as_bytes()))
}

fn self_signed_certificate(pkcs8: &[u8], kid: &str) -> Result<Vec<u8>, String> {
    let key = rcgen::KeyPair::try_from(pkcs8).map_err(|e| format!("certificate key: {e}"))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name.push(rcgen::DnType::CommonName, format!("oidc-harness reference server signing key {kid}"));
    let cert = params.self_signed(&key).map_err(|e| format!("certificate: {e}"))?;
    Ok(cert.der().to_vec())
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    // RFC 7517 §4.7: x5c values are base64 (not base64url) DER.
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A key that no longer signs, kept in the JWKS until `until`.
#[derive(Clone)]
struct Retired {
    key: Arc<SigningKey>,
    until: Instant,
}

/// The server's keys: one active key per algorithm plus retired keys still published. Every
/// token reads the set and only a rotation or sweep changes it, so readers take no lock: they
/// load the current set, and a change publishes a new one (read, copy, update).
pub struct KeySet {
    inner: ArcSwap<KeySetInner>,
}

#[derive(Clone)]
struct KeySetInner {
    active: Vec<Arc<SigningKey>>,
    retired: Vec<Retired>,
}

impl KeySet {
    pub fn new(keys: Vec<Arc<SigningKey>>) -> KeySet {
        KeySet { inner: ArcSwap::from_pointee(KeySetInner { active: keys, retired: Vec::new() }) }
    }

    /// The key that signs for `alg`.
    pub fn signer(&self, alg: Alg) -> Option<Arc<SigningKey>> {
        let inner = self.inner.load();
        inner.active.iter().find(|k| k.alg == alg).cloned()
    }

    /// A published key (active or retired) by `kid`.
    pub fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let inner = self.inner.load();
        inner.active.iter().chain(inner.retired.iter().map(|r| &r.key)).find(|k| k.kid == kid).cloned()
    }

    /// The published key a JWS header names: by `kid` and `alg` (RFC 7517 §4.5 lets keys of
    /// different types share a `kid`), or, without a `kid`, every published key of `alg` to try.
    pub fn candidates(&self, kid: Option<&str>, alg: &str) -> Vec<Arc<SigningKey>> {
        let inner = self.inner.load();
        let published = inner.active.iter().chain(inner.retired.iter().map(|r| &r.key));
        match kid {
            Some(kid) => {
                let named: Vec<&Arc<SigningKey>> = published.filter(|k| k.kid == kid).collect();
                // A kid of one key of another alg is still that key (refused for its alg later).
                let best = named.iter().find(|k| k.alg.as_str() == alg).or(named.first());
                best.map(|k| (*k).clone()).into_iter().collect()
            }
            None => published.filter(|k| k.alg.as_str() == alg).cloned().collect(),
        }
    }

    /// Every published key, active first (RFC 7517 §5).
    pub fn jwks(&self) -> Value {
        let inner = self.inner.load();
        let keys: Vec<&Value> =
            inner.active.iter().map(|k| k.public_jwk()).chain(inner.retired.iter().map(|r| r.key.public_jwk())).collect();
        json!({ "keys": keys })
    }

    /// Makes `key` the signing key for its algorithm; the previous one stays published for
    /// `keep_published` (the longest lifetime of anything it signed).
    pub fn rotate(&self, key: SigningKey, keep_published: Duration) -> Arc<SigningKey> {
        let key = Arc::new(key);
        let until = Instant::now() + keep_published;
        self.inner.rcu(|current| {
            let mut next = KeySetInner::clone(current);
            if let Some(pos) = next.active.iter().position(|k| k.alg == key.alg) {
                let old = next.active.remove(pos);
                next.retired.push(Retired { key: old, until });
            }
            next.active.push(key.clone());
            next
        });
        key
    }

    /// Drops retired keys whose tokens have all expired.
    pub fn sweep(&self, now: Instant) {
        if self.inner.load().retired.iter().all(|r| r.until > now) {
            return;
        }
        self.inner.rcu(|current| {
            let mut next = KeySetInner::clone(current);
            next.retired.retain(|r| r.until > now);
            next
        });
    }
}

/// The DER inside a `PRIVATE KEY` PEM block (RFC 7468 §10).
pub fn pkcs8_from_pem(pem: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    if pem.contains("-----BEGIN RSA PRIVATE KEY-----") || pem.contains("-----BEGIN EC PRIVATE KEY-----") {
        return Err("this is not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW`".into());
    }
    let body = pem
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END PRIVATE KEY-----").next())
        .ok_or("no -----BEGIN PRIVATE KEY----- block")?;
    let text: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| format!("bad base64 in the PEM block: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::b64_decode;

    fn verify(key: &SigningKey, jwt: &str) -> bool {
        let (input, sig) = jwt.rsplit_once('.').expect("three parts");
        let sig = b64_decode(sig).expect("base64url signature");
        let jwk = key.public_jwk();
        match key.alg {
            Alg::RS256 | Alg::PS256 | Alg::RS384 | Alg::PS384 => {
                let n = b64_decode(jwk["n"].as_str().unwrap()).unwrap();
                let e = b64_decode(jwk["e"].as_str().unwrap()).unwrap();
                let params: &signature::RsaParameters = match key.alg {
                    Alg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Alg::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Alg::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    _ => &signature::RSA_PSS_2048_8192_SHA384,
                };
                signature::RsaPublicKeyComponents { n: &n, e: &e }.verify(params, input.as_bytes(), &sig).is_ok()
            }
            Alg::ES256 | Alg::ES384 | Alg::ES512 => {
                let (params, crv): (&signature::EcdsaVerificationAlgorithm, _) = match key.alg {
                    Alg::ES256 => (&signature::ECDSA_P256_SHA256_FIXED, "P-256"),
                    Alg::ES384 => (&signature::ECDSA_P384_SHA384_FIXED, "P-384"),
                    _ => (&signature::ECDSA_P521_SHA512_FIXED, "P-521"),
                };
                assert_eq!(jwk["crv"], crv);
                let mut point = vec![4u8];
                point.extend(b64_decode(jwk["x"].as_str().unwrap()).unwrap());
                point.extend(b64_decode(jwk["y"].as_str().unwrap()).unwrap());
                signature::UnparsedPublicKey::new(params, point).verify(input.as_bytes(), &sig).is_ok()
            }
            Alg::EdDSA => {
                let x = b64_decode(jwk["x"].as_str().unwrap()).unwrap();
                signature::UnparsedPublicKey::new(&signature::ED25519, x).verify(input.as_bytes(), &sig).is_ok()
            }
        }
    }

    #[test]
    fn every_algorithm_signs_verifiably_with_its_published_jwk() {
        for alg in Alg::ALL {
            let key = SigningKey::generate(alg).expect("key");
            let jwt = key.sign_jwt(JwsType::Jwt, &json!({"sub": "x"})).expect("signed");
            assert!(verify(&key, &jwt), "{alg} signature verifies");
            let mut tampered = jwt.clone();
            tampered.insert(jwt.find('.').unwrap() + 2, 'A');
            assert!(!verify(&key, &tampered), "{alg} tampered token is refused");
            let jwk = key.public_jwk();
            assert_eq!(jwk["kid"], json!(key.kid));
            assert_eq!(jwk["alg"], json!(alg.as_str()));
            assert!(jwk.get("d").is_none(), "no private material");
            assert!(jwk["x5c"][0].as_str().is_some_and(|c| c.len() > 100));
            assert!(key.verify(jwt.rsplit_once('.').unwrap().0.as_bytes(), &b64_decode(jwt.rsplit_once('.').unwrap().1).unwrap()));
        }
    }

    #[test]
    fn a_key_published_under_another_kid_signs_the_same() {
        let key = SigningKey::generate(Alg::ES256).unwrap();
        let renamed = key.with_kid("shared");
        assert_eq!(renamed.public_jwk()["kid"], "shared");
        assert_eq!(renamed.public_jwk()["x"], key.public_jwk()["x"]);
        let jwt = renamed.sign_jwt(JwsType::Jwt, &json!({"sub": "x"})).unwrap();
        assert!(verify(&key, &jwt));
        let set = KeySet::new(vec![Arc::new(SigningKey::generate(Alg::RS256).unwrap().with_kid("shared")), Arc::new(renamed)]);
        assert_eq!(set.candidates(Some("shared"), "ES256")[0].alg, Alg::ES256);
        assert_eq!(set.candidates(Some("shared"), "RS256")[0].alg, Alg::RS256);
        assert_eq!(set.candidates(None, "RS256").len(), 1);
    }

    #[test]
    fn rotation_keeps_the_old_key_published_until_swept() {
        let first = Arc::new(SigningKey::generate(Alg::ES256).unwrap());
        let set = KeySet::new(vec![first.clone()]);
        let second = set.rotate(SigningKey::generate(Alg::ES256).unwrap(), Duration::from_secs(60));
        assert_eq!(set.signer(Alg::ES256).unwrap().kid, second.kid);
        let kids = |set: &KeySet| set.jwks()["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect::<Vec<_>>();
        assert_eq!(kids(&set), vec![json!(second.kid), json!(first.kid)]);
        set.sweep(Instant::now() + Duration::from_secs(61));
        assert_eq!(kids(&set), vec![json!(second.kid)]);
    }
}
