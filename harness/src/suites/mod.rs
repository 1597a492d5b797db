//! The conformance suites, in the order they run. Each suite lists its checks (`--list`), runs
//! its protocol steps through the recorder, and records one verdict per check.

pub mod authorization_endpoint;
pub mod client_credentials;
pub mod code_flow;
pub mod discovery;
pub mod flow;
pub mod implicit;
pub mod jwks;
pub mod lifecycle;
pub mod parameters;
pub mod userinfo;

use crate::engine::http::{Recorder, Response};
use crate::engine::{Check, Outcome, Run, Suite};
use crate::profile::Profile;
use crate::target::Target;
use reports::Exchange;
use serde_json::Value;

/// Every suite for `profile`, in the order they run: the Rust suites, with the suites of the
/// scenario files (`scenarios/*.toml` and any given with `--scenarios`) after the
/// authorization endpoint's.
pub fn all(profile: &Profile, scenario_files: &[crate::scenario::ScenarioFile]) -> Vec<Suite> {
    let mut all = vec![discovery::SUITE, jwks::SUITE, authorization_endpoint::SUITE];
    all.extend(scenario_files.iter().map(crate::scenario::suite));
    all.extend([
        code_flow::SUITE,
        parameters::suite(profile),
        implicit::SUITE,
        userinfo::SUITE,
        lifecycle::SUITE,
        client_credentials::SUITE,
    ]);
    all
}

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
    pub fn new(issuer: String, profile: Profile, target: Target, secrets: Vec<String>) -> Context {
        let http = Recorder::new(crate::redact::Redactor::new(secrets));
        Context { issuer, profile, target, http, metadata: None, jwks: None }
    }

    /// Reads the discovery document into `metadata` (`None` when it is not JSON); the discovery
    /// suite fetches it again with its own evidence.
    pub async fn fetch_metadata(&mut self) {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        self.metadata = self.http.send(self.http.get(&url)).await.ok().and_then(|r| r.json());
    }

    /// A string member of the discovery document.
    pub fn endpoint(&self, member: &str) -> Option<&str> {
        self.metadata.as_ref().and_then(|m| m.get(member)).and_then(Value::as_str)
    }
}

/// The OAuth error code of a JSON error response.
pub fn error_code(response: &Response) -> Option<String> {
    response.json().and_then(|j| j["error"].as_str().map(str::to_string))
}

/// Records whether `response` is the RFC 6749 §5.2 error `error` with `status`.
pub fn expect_error(run: &mut Run, suite: &Suite, check: &Check, response: &Result<Response, Exchange>, status: u16, error: &str) {
    match response {
        Ok(r) => {
            let got = error_code(r);
            run.record(
                suite,
                check,
                &[&r.exchange],
                Outcome::expect(r.status == status && got.as_deref() == Some(error), || {
                    format!("status {}, error {got:?}; expected {status} {error}", r.status)
                }),
            );
        }
        Err(e) => run.record(suite, check, &[e], Outcome::Fail("no response".into())),
    }
}

/// Records the same outcome for several checks (a step they all depend on failed or was skipped).
pub fn record_all(run: &mut Run, suite: &Suite, checks: &[Check], evidence: &[&Exchange], outcome: &Outcome) {
    for check in checks {
        run.record(suite, check, evidence, outcome.clone());
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

#[cfg(test)]
mod tests {
    #[test]
    fn check_ids_are_unique_across_suites() {
        let mut seen = std::collections::HashSet::new();
        for suite in super::all(&crate::profile::Profile::idaas(), &crate::scenario::files()) {
            for check in suite.checks.iter() {
                assert!(seen.insert(check.id.to_string()), "{} appears twice", check.id);
            }
        }
        assert!(seen.len() >= 150, "{} checks", seen.len());
    }
}
