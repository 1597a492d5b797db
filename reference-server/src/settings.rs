//! What every rule consults: the configuration, the issuer, and the faults and variants switched
//! on, as sets. Built from a `Config` alone, so the rules and the authorization pipeline are
//! testable without keys or a store.

use crate::config::{Alg, Config};
use crate::faults::{Fault, Faults};
use crate::variants::{Variant, Variants};

pub struct Settings {
    pub config: Config,
    /// `{origin}/api/oidc`, no trailing slash unless the `issuer-trailing-slash` variant says
    /// so: compared by exact string (OIDC Discovery §4.3).
    pub issuer: String,
    /// Injected deviations (none for a conformant server).
    pub faults: Faults,
    /// Allowed alternative behaviours (none for the server's default choices).
    pub variants: Variants,
}

impl Settings {
    /// The settings of a server whose issuer is `issuer` (before the variants adjust it).
    pub fn new(config: Config, issuer: String) -> Settings {
        let variants = Variants::new(config.variants.iter().copied());
        let config = signing_setup(config, variants);
        let faults = Faults::new(config.faults.iter().copied());
        Settings { issuer: issuer_identifier(issuer, variants), config, faults, variants }
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
