//! A JWKS as a relying party keeps it: read once, and read again when a token names a key id the
//! set lacks (the server rolled its keys over, OIDC Core §10.1.1). Once per key id, and at most
//! `MAX_REFETCHES` times in a run, so a server that names a new `kid` in every token cannot turn
//! every validation into a fetch, nor grow this list without bound. One home for the rule, used
//! by conform and by load's sampled validation.

use super::jwt::Jwt;
use serde_json::Value;

/// Refetches allowed in one run: a rotation or two, never one per token.
pub const MAX_REFETCHES: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct KeySet {
    pub keys: Option<Value>,
    refetched_for: Vec<String>,
}

impl KeySet {
    pub fn new(keys: Option<Value>) -> KeySet {
        KeySet { keys, refetched_for: Vec::new() }
    }

    /// Whether the JWKS should be fetched again for `token`: it names a `kid` the set lacks,
    /// not refetched for before, and the run's allowance is not used up. Counts the refetch.
    pub fn refetch_due(&mut self, token: &str) -> bool {
        let Some(kid) = Jwt::decode(token).ok().and_then(|j| j.kid().map(str::to_string)) else { return false };
        let known = self.keys.as_ref().and_then(|j| j["keys"].as_array()).is_some_and(|keys| keys.iter().any(|k| k["kid"] == kid.as_str()));
        if known || self.refetched_for.contains(&kid) || self.refetched_for.len() >= MAX_REFETCHES {
            return false;
        }
        self.refetched_for.push(kid);
        true
    }

    /// Takes a fetched document as the key set when it is one (a JSON object with `keys`).
    pub fn replace(&mut self, fetched: Option<Value>) {
        if let Some(jwks) = fetched.filter(|j| j["keys"].is_array()) {
            self.keys = Some(jwks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn token(kid: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#)))
    }

    #[test]
    fn a_refetch_per_unknown_kid_within_the_allowance() {
        let mut set = KeySet::new(Some(serde_json::json!({"keys": [{"kid": "k1"}]})));
        assert!(!set.refetch_due(&token("k1")), "a known key needs no fetch");
        assert!(set.refetch_due(&token("k2")));
        assert!(!set.refetch_due(&token("k2")), "once per kid");
        for n in 3..=MAX_REFETCHES + 1 {
            set.refetch_due(&token(&format!("k{n}")));
        }
        assert!(!set.refetch_due(&token("k99")), "a new kid in every token stops costing fetches");
        set.replace(Some(serde_json::json!({"keys": [{"kid": "k99"}]})));
        assert!(!set.refetch_due(&token("k99")));
        set.replace(Some(serde_json::json!({"error": "x"})));
        assert!(set.keys.as_ref().is_some_and(|k| k["keys"].is_array()), "a non-JWKS answer is not taken");
    }
}
