//! The authorization server's shared state: configuration, issuer, keys and store.

use crate::config::{Alg, Config, KeyFile};
use crate::faults::{Fault, Faults};
use crate::keys::{KeyError, KeySet, SigningKey};
use crate::store::Store;
use std::sync::{Arc, OnceLock};

pub struct Provider {
    pub config: Config,
    /// `{origin}/api/oidc`, no trailing slash: compared by exact string (OIDC Discovery §4.3).
    pub issuer: String,
    pub keys: KeySet,
    pub store: Store,
    pub admin_token: String,
    /// Set the `Secure` attribute on cookies (the issuer is https).
    pub secure_cookies: bool,
    /// Injected deviations (none for a conformant server).
    pub faults: Faults,
}

impl Provider {
    pub fn new(config: Config, issuer: String, admin_token: String) -> Result<Provider, KeyError> {
        let keys = config
            .signing_algorithms
            .iter()
            .map(|alg| match config.keys.iter().find(|k| k.alg == *alg) {
                Some(file) => load_key(file),
                None => initial_key(*alg),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let faults = Faults::new(config.faults.iter().copied());
        Ok(Provider {
            store: Store::new(config.max_tokens_per_user_per_client, faults),
            faults,
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

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// The longest time anything signed today stays valid: how long a rotated-out key must
    /// stay published.
    pub fn longest_token_lifetime(&self) -> std::time::Duration {
        let l = &self.config.lifetimes;
        std::time::Duration::from_secs(l.access_token_secs.max(l.id_token_secs))
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

/// The first key of each algorithm. RSA key generation takes tens of milliseconds, and tests
/// start many servers, so a process generates its start-up keys once and shares them; rotation
/// always generates fresh ones.
fn initial_key(alg: Alg) -> Result<Arc<SigningKey>, KeyError> {
    static KEYS: [OnceLock<Arc<SigningKey>>; 4] = [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = &KEYS[Alg::ALL.iter().position(|a| *a == alg).unwrap_or(0)];
    if let Some(key) = slot.get() {
        return Ok(key.clone());
    }
    let key = Arc::new(SigningKey::generate(alg)?);
    Ok(slot.get_or_init(|| key).clone())
}
