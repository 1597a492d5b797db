//! The authorization server's shared state: configuration, issuer, keys and store.

use crate::config::{Alg, Config};
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
}

impl Provider {
    pub fn new(config: Config, issuer: String, admin_token: String) -> Result<Provider, KeyError> {
        let keys = config.signing_algorithms.iter().map(|alg| initial_key(*alg)).collect::<Result<Vec<_>, _>>()?;
        Ok(Provider {
            store: Store::new(config.max_tokens_per_user_per_client),
            secure_cookies: issuer.starts_with("https://"),
            keys: KeySet::new(keys),
            config,
            issuer,
            admin_token,
        })
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
