//! The authorization server's shared state: configuration, issuer, keys and store.

use crate::config::{Alg, Config, KeyFile};
use crate::faults::{Fault, Faults};
use crate::keys::{KeyError, KeySet, SigningKey};
use crate::store::Store;
use crate::variants::{Variant, Variants};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

pub struct Provider {
    pub config: Config,
    /// `{origin}/api/oidc`, no trailing slash unless the `issuer-trailing-slash` variant says
    /// so: compared by exact string (OIDC Discovery §4.3).
    pub issuer: String,
    pub keys: KeySet,
    pub store: Store,
    pub admin_token: String,
    /// Set the `Secure` attribute on cookies (the issuer is https).
    pub secure_cookies: bool,
    /// Injected deviations (none for a conformant server).
    pub faults: Faults,
    /// Allowed alternative behaviours (none for the server's default choices).
    pub variants: Variants,
    /// RS256 tokens signed so far, counted only under the `key-rotated-mid-run` variant.
    pub(crate) rs256_signed: AtomicU64,
}

impl Provider {
    pub fn new(config: Config, issuer: String, admin_token: String) -> Result<Provider, KeyError> {
        let variants = Variants::new(config.variants.iter().copied());
        let config = signing_setup(config, variants);
        let mut keys = config
            .signing_algorithms
            .iter()
            .map(|alg| match config.keys.iter().find(|k| k.alg == *alg) {
                Some(file) => load_key(file),
                None if config.shared_process_keys => process_key(*alg),
                None => SigningKey::generate(*alg).map(Arc::new),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if variants.has(Variant::KidSharedAcrossKty) {
            share_kid_across_kty(&mut keys);
        }
        let issuer = issuer_identifier(issuer, variants);
        let faults = Faults::new(config.faults.iter().copied());
        Ok(Provider {
            store: Store::new(config.max_tokens_per_user_per_client, config.limits, faults),
            faults,
            variants,
            rs256_signed: AtomicU64::new(0),
            secure_cookies: issuer.starts_with("https://"),
            keys: KeySet::new(keys),
            config,
            issuer,
            admin_token,
        })
    }

    pub fn has(&self, fault: Fault) -> bool {
        self.faults.has(fault)
    }

    pub fn has_variant(&self, variant: Variant) -> bool {
        self.variants.has(variant)
    }

    /// An endpoint below the issuer path (never doubling a trailing slash of the issuer).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer.strip_suffix('/').unwrap_or(&self.issuer), path)
    }

    /// The longest time anything signed today stays valid: how long a rotated-out key must
    /// stay published.
    pub fn longest_token_lifetime(&self) -> std::time::Duration {
        let l = &self.config.lifetimes;
        std::time::Duration::from_secs(l.access_token_secs.max(l.id_token_secs))
    }
}

/// OIDC Discovery §4.1 lets an issuer end in `/` (the well-known path is appended after it is
/// removed, so every endpoint stays where it was): the `issuer-trailing-slash` variant.
fn issuer_identifier(mut issuer: String, variants: Variants) -> String {
    if variants.has(Variant::IssuerTrailingSlash) && !issuer.ends_with('/') {
        issuer.push('/');
    }
    issuer
}

/// The web-app client's signing algorithm under the `id-token-*` variants.
const VARIANT_ALGS: [(Variant, Alg); 4] = [
    (Variant::IdTokenRs384, Alg::RS384),
    (Variant::IdTokenPs384, Alg::PS384),
    (Variant::IdTokenEs384, Alg::ES384),
    (Variant::IdTokenEs512, Alg::ES512),
];
/// The client whose tokens the `id-token-*` variants sign with their algorithm.
const VARIANT_ALG_CLIENT: &str = "web-app";

/// Which keys the server holds and which algorithm signs for each client is deployment
/// configuration, so the key and algorithm variants change that configuration, here, once:
/// signing, discovery and the JWKS then follow it unchanged.
fn signing_setup(mut config: Config, variants: Variants) -> Config {
    if variants.has(Variant::SingleKeyNoKid) {
        // One RS256 key signs everything: clients registered for other algorithms get RS256
        // (OIDC Core §3.1.3.7 (7): RS256 is the default every RP accepts).
        config.signing_algorithms = vec![Alg::RS256];
        config.keys.retain(|k| k.alg == Alg::RS256);
        for client in &mut config.clients {
            client.id_token_signing_alg = Alg::RS256;
            client.access_token_signing_alg = Alg::RS256;
        }
    }
    for (variant, alg) in VARIANT_ALGS {
        if !variants.has(variant) {
            continue;
        }
        if !config.signing_algorithms.contains(&alg) {
            config.signing_algorithms.push(alg);
        }
        if let Some(client) = config.clients.iter_mut().find(|c| c.client_id == VARIANT_ALG_CLIENT) {
            client.id_token_signing_alg = alg;
            client.access_token_signing_alg = alg;
        }
    }
    config
}

/// The `kid-shared-across-kty` variant: the EC key is published under the RSA key's `kid`
/// (RFC 7517 §4.5 lets keys of different `kty` share one).
fn share_kid_across_kty(keys: &mut [Arc<SigningKey>]) {
    let Some(kid) = keys.iter().find(|k| k.alg == Alg::RS256).map(|k| k.kid.clone()) else { return };
    for key in keys.iter_mut().filter(|k| k.alg == Alg::ES256) {
        *key = Arc::new(key.with_kid(&kid));
    }
}

fn load_key(file: &KeyFile) -> Result<Arc<SigningKey>, KeyError> {
    let path = file.pkcs8_pem_file.display();
    let pem = std::fs::read_to_string(&file.pkcs8_pem_file).map_err(|e| KeyError::from(format!("cannot read key file {path}: {e}")))?;
    let der = pkcs8_from_pem(&pem).map_err(|problem| KeyError::from(format!("key file {path}: {problem}")))?;
    SigningKey::from_pkcs8(file.alg, &der).map(Arc::new).map_err(|e| KeyError::from(format!("key file {path}: {e}")))
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

/// The process's key for `alg` (the `shared_process_keys` setting): generated by the first server
/// that needs it, then shared by every later one; rotation always generates fresh keys.
fn process_key(alg: Alg) -> Result<Arc<SigningKey>, KeyError> {
    static KEYS: [OnceLock<Arc<SigningKey>>; Alg::ALL.len()] = [const { OnceLock::new() }; Alg::ALL.len()];
    let slot = &KEYS[Alg::ALL.iter().position(|a| *a == alg).unwrap_or(0)];
    if let Some(key) = slot.get() {
        return Ok(key.clone());
    }
    let key = Arc::new(SigningKey::generate(alg)?);
    Ok(slot.get_or_init(|| key).clone())
}
