//! The conformance suites, in the order they run. Each suite lists its checks (`--list`), runs
//! its protocol steps through the recorder, and records one verdict per check.

pub mod client_credentials;
pub mod code_flow;
pub mod discovery;
pub mod flow;
pub mod jwks;

use crate::engine::Suite;
use crate::engine::http::Recorder;
use crate::profile::Profile;
use crate::target::Target;
use serde_json::Value;

pub const ALL: [&Suite; 4] = [&discovery::SUITE, &jwks::SUITE, &code_flow::SUITE, &client_credentials::SUITE];

/// What the suites share: the target, its claims, the HTTP recorder, and what earlier suites
/// learned (the discovery document).
pub struct Context {
    pub issuer: String,
    pub profile: Profile,
    pub target: Target,
    pub http: Recorder,
    pub metadata: Option<Value>,
    pub jwks: Option<Value>,
}

impl Context {
    /// A string member of the discovery document.
    pub fn endpoint(&self, member: &str) -> Option<&str> {
        self.metadata.as_ref().and_then(|m| m.get(member)).and_then(Value::as_str)
    }
}

/// Whether `url` is https, or http on a loopback host (local test servers).
pub fn secure_or_loopback(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" => true,
        Ok(u) if u.scheme() == "http" => matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        _ => false,
    }
}

/// The string values of a JSON array member.
pub fn strings<'a>(value: Option<&'a Value>, member: &str) -> Vec<&'a str> {
    value.and_then(|v| v.get(member)).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}
