//! Signing keys: generated at start with aws-lc-rs and kept pre-parsed (re-parsing a key on every
//! signature halves the RS256 rate), published in the JWKS with `kid` (the RFC 7638 thumbprint),
//! `use`, `alg` and an `x5c` self-signed certificate (Microsoft Entra requires `x5c`).
//!
//! Rotation: a new key becomes the signing key for its algorithm, the old one stays published
//! until every token it signed has expired, then it is dropped.

use crate::config::Alg;
use crate::util::{b64, sha256};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};
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

enum Material {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One key pair, its public JWK and the pre-serialised JWS header (`alg`, `kid`) per `typ`.
pub struct SigningKey {
    pub alg: Alg,
    pub kid: String,
    material: Material,
    jwk: Value,
    /// The Ed25519 private key (RFC 8037 §2 `d`), kept only so the `private-key-in-jwks` fault
    /// can leak it; never published otherwise.
    ed25519_seed: Option<Vec<u8>>,
}

impl SigningKey {
    /// Generates a fresh key for `alg` and its self-signed certificate.
    pub fn generate(alg: Alg) -> Result<SigningKey, KeyError> {
        let err = |what: &str| KeyError(format!("{alg}: {what}"));
        let pkcs8: Vec<u8> = match alg {
            Alg::RS256 | Alg::PS256 => {
                let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|_| err("RSA key generation failed"))?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der = key.as_der().map_err(|_| err("RSA key export failed"))?;
                der.as_ref().to_vec()
            }
            Alg::ES256 => {
                let key =
                    EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| err("EC key generation failed"))?;
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
            Alg::RS256 | Alg::PS256 => {
                let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| err(format!("not an RSA PKCS#8 key: {e}")))?;
                let public = key.public_key();
                let jwk = json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                });
                (Material::Rsa(key), jwk)
            }
            Alg::ES256 => {
                let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|e| err(format!("not a P-256 PKCS#8 key: {e}")))?;
                // Uncompressed point: 0x04 || x || y (SEC 1 §2.3.3).
                let point = key.public_key().as_ref();
                if point.len() != 65 {
                    return Err(err("unexpected P-256 public key length".into()));
                }
                let jwk = json!({ "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..]) });
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
        Ok(SigningKey { alg, kid, material, jwk, ed25519_seed })
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
        match &self.material {
            Material::Rsa(key) => {
                let padding: &'static dyn signature::RsaEncoding = match self.alg {
                    Alg::PS256 => &signature::RSA_PSS_SHA256,
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
        match (&self.material, self.alg) {
            (Material::Rsa(k), Alg::PS256) => public(&signature::RSA_PSS_2048_8192_SHA256, k.public_key().as_ref()),
            (Material::Rsa(k), _) => public(&signature::RSA_PKCS1_2048_8192_SHA256, k.public_key().as_ref()),
            (Material::Ec(k), _) => public(&signature::ECDSA_P256_SHA256_FIXED, k.public_key().as_ref()),
            (Material::Ed(k), _) => public(&signature::ED25519, k.public_key().as_ref()),
        }
    }

    /// Produces a JWS in compact serialisation (RFC 7515 §7.1) with the header
    /// `{"alg", "kid", "typ"}` over `claims`.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let header = json!({ "alg": self.alg.as_str(), "kid": self.kid, "typ": typ });
        let mut out = String::with_capacity(1024);
        out.push_str(&b64(header.to_string().as_bytes()));
        out.push('.');
        out.push_str(&b64(claims.to_string().as_bytes()));
        let sig = self.sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64(&sig));
        Ok(out)
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
struct Retired {
    key: Arc<SigningKey>,
    until: Instant,
}

/// The server's keys: one active key per algorithm plus retired keys still published.
pub struct KeySet {
    inner: RwLock<KeySetInner>,
}

struct KeySetInner {
    active: Vec<Arc<SigningKey>>,
    retired: Vec<Retired>,
}

impl KeySet {
    pub fn new(keys: Vec<Arc<SigningKey>>) -> KeySet {
        KeySet { inner: RwLock::new(KeySetInner { active: keys, retired: Vec::new() }) }
    }

    /// The key that signs for `alg`.
    pub fn signer(&self, alg: Alg) -> Option<Arc<SigningKey>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.active.iter().find(|k| k.alg == alg).cloned()
    }

    /// A published key (active or retired) by `kid`.
    pub fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.active.iter().chain(inner.retired.iter().map(|r| &r.key)).find(|k| k.kid == kid).cloned()
    }

    /// Every published key, active first (RFC 7517 §5).
    pub fn jwks(&self) -> Value {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<&Value> =
            inner.active.iter().map(|k| k.public_jwk()).chain(inner.retired.iter().map(|r| r.key.public_jwk())).collect();
        json!({ "keys": keys })
    }

    /// Makes `key` the signing key for its algorithm; the previous one stays published for
    /// `keep_published` (the longest lifetime of anything it signed).
    pub fn rotate(&self, key: SigningKey, keep_published: Duration) -> Arc<SigningKey> {
        let key = Arc::new(key);
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if let Some(pos) = inner.active.iter().position(|k| k.alg == key.alg) {
            let old = inner.active.remove(pos);
            inner.retired.push(Retired { key: old, until: Instant::now() + keep_published });
        }
        inner.active.push(key.clone());
        key
    }

    /// Drops retired keys whose tokens have all expired.
    pub fn sweep(&self, now: Instant) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.retired.retain(|r| r.until > now);
    }
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
            Alg::RS256 | Alg::PS256 => {
                let n = b64_decode(jwk["n"].as_str().unwrap()).unwrap();
                let e = b64_decode(jwk["e"].as_str().unwrap()).unwrap();
                let params =
                    if key.alg == Alg::RS256 { &signature::RSA_PKCS1_2048_8192_SHA256 } else { &signature::RSA_PSS_2048_8192_SHA256 };
                signature::RsaPublicKeyComponents { n: &n, e: &e }.verify(params, input.as_bytes(), &sig).is_ok()
            }
            Alg::ES256 => {
                let mut point = vec![4u8];
                point.extend(b64_decode(jwk["x"].as_str().unwrap()).unwrap());
                point.extend(b64_decode(jwk["y"].as_str().unwrap()).unwrap());
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(input.as_bytes(), &sig).is_ok()
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
            let jwt = key.sign_jwt("JWT", &json!({"sub": "x"})).expect("signed");
            assert!(verify(&key, &jwt), "{alg} signature verifies");
            let mut tampered = jwt.clone();
            tampered.insert(jwt.find('.').unwrap() + 2, 'A');
            assert!(!verify(&key, &tampered), "{alg} tampered token is refused");
            let jwk = key.public_jwk();
            assert_eq!(jwk["kid"], json!(key.kid));
            assert_eq!(jwk["alg"], json!(alg.as_str()));
            assert!(jwk.get("d").is_none(), "no private material");
            assert!(jwk["x5c"][0].as_str().is_some_and(|c| c.len() > 100));
        }
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
