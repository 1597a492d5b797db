//! The `claims` request parameter (OIDC Core §5.5) as parsed (`claims::parse` reads it).

use serde_json::Value;

/// The claims requested for one destination (`id_token` or `userinfo`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimSet {
    pub claims: Vec<(String, ClaimSpec)>,
}

/// OIDC Core §5.5.1: `null` (default), or an object with `essential`, `value`, `values`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimSpec {
    pub essential: bool,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimsRequest {
    pub id_token: ClaimSet,
    pub userinfo: ClaimSet,
}

impl ClaimSet {
    pub fn get(&self, name: &str) -> Option<&ClaimSpec> {
        self.claims.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}
