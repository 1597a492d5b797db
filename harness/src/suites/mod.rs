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

use crate::engine::http::{ClientSettings, Recorder, Response};
use crate::engine::key_set::KeySet;
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
    /// The issuer exactly as given (`--target`, or the embedded server's), trailing slash and
    /// all: discovery's `issuer` and every `iss` are compared with it character for character.
    pub issuer: String,
    pub profile: Profile,
    pub target: Target,
    pub http: Recorder,
    /// The OpenID configuration, with members only the RFC 8414 metadata has filled in.
    pub metadata: Option<Value>,
    /// The JWKS the jwks suite read, and the refetches a rotation made (`engine::key_set`).
    pub keys: KeySet,
    /// Members of `metadata` that are not the OpenID configuration's, and where they came from.
    pub metadata_from: std::collections::BTreeMap<String, String>,
}

/// The origins credentials may be sent to: the issuer's and the target's `origins`.
fn provider_origins(issuer: &str, target: &Target) -> Vec<String> {
    let mut origins = target.origins.clone();
    origins.extend(url::Url::parse(issuer).ok().map(|u| u.origin().ascii_serialization()));
    origins
}

/// Where a metadata member came from, when not from the OpenID configuration.
pub const FROM_RFC8414: &str = "the RFC 8414 authorization server metadata";
pub const FROM_TARGET: &str = "the target file's [endpoints]";

/// Fills in the members only the RFC 8414 metadata has (a deployment may publish both
/// documents, RFC 8414 §3, OIDC Discovery §3); returns their names.
pub fn merge_rfc8414(oidc: &mut Value, rfc8414: Option<&Value>) -> Vec<String> {
    let mut added = Vec::new();
    if let (Some(oidc), Some(extra)) = (oidc.as_object_mut(), rfc8414.and_then(Value::as_object)) {
        for (k, v) in extra {
            if !oidc.contains_key(k) {
                oidc.insert(k.clone(), v.clone());
                added.push(k.clone());
            }
        }
    }
    added
}

/// The RFC 8414 authorization server metadata, when the deployment publishes it for this issuer:
/// at the path-inserted well-known URI (RFC 8414 §3.1), or appended to the issuer as some servers
/// do. Used only when its `issuer` is this issuer (RFC 8414 §3.3).
pub async fn rfc8414_metadata(ctx: &Context) -> Option<(Value, Exchange)> {
    let issuer = url::Url::parse(&ctx.issuer).ok()?;
    let path = issuer.path().trim_end_matches('/');
    let inserted = format!("{}/.well-known/oauth-authorization-server{path}", issuer.origin().ascii_serialization());
    let appended = format!("{}/.well-known/oauth-authorization-server", ctx.issuer.trim_end_matches('/'));
    for url in [inserted, appended] {
        if let Ok(r) = ctx.http.send(ctx.http.get(&url)).await
            && r.status == 200
            && let Some(doc) = r.json().filter(|d| d["issuer"] == serde_json::json!(ctx.issuer))
        {
            return Some((doc, r.exchange));
        }
    }
    None
}

impl Context {
    pub fn new(issuer: String, profile: Profile, target: Target, secrets: Vec<String>, settings: ClientSettings) -> Context {
        let guard = crate::engine::http::CredentialGuard::new(provider_origins(&issuer, &target), target.secrets());
        let http = Recorder::new(crate::redact::Redactor::new(secrets), settings).guarded(guard);
        Context { issuer, profile, target, http, metadata: None, keys: KeySet::default(), metadata_from: Default::default() }
    }

    /// OIDC Discovery §4.1: the well-known path is appended to the issuer with any trailing
    /// slash removed first.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'))
    }

    /// Reads the discovery document (with the RFC 8414 metadata and the target's `[endpoints]`,
    /// as `adopt_metadata`) into `metadata`, or says what went wrong; the discovery suite reads
    /// it again with its own evidence. Redirects are followed as the discovery suite does.
    pub async fn fetch_metadata(&mut self) -> Result<(), String> {
        let url = self.discovery_url();
        self.metadata = None;
        let response = match get_following_one_redirect(&self.http, &url).await.0 {
            Ok(r) => r,
            Err(e) => return Err(format!("no answer at {url}: {}", e.error.unwrap_or_default())),
        };
        if response.status != 200 {
            return Err(format!("{} at {url}", response.status));
        }
        let doc = match response.parse_json() {
            Ok(doc) if doc.is_object() => doc,
            Ok(_) => return Err(format!("the document at {url} is JSON but not an object")),
            Err(why) => return Err(format!("the document at {url} is not JSON ({why})")),
        };
        let issuer = doc["issuer"].as_str().map(str::to_string);
        let rfc8414 = rfc8414_metadata(self).await.map(|(doc, _)| doc);
        let mut doc = doc;
        let added = merge_rfc8414(&mut doc, rfc8414.as_ref());
        self.adopt_metadata(doc, &added);
        match issuer {
            Some(issuer) if issuer == self.issuer => Ok(()),
            Some(issuer) => Err(format!("the document's issuer {issuer} differs from the issuer given, {}", self.issuer)),
            None => Err(format!("the document at {url} has no issuer")),
        }
    }

    /// Makes `merged` (the OpenID configuration with the RFC 8414 members `added`) the metadata
    /// the suites use, with the target's `[endpoints]` over it, and records where each member
    /// that is not the OpenID configuration's came from.
    pub fn adopt_metadata(&mut self, mut merged: Value, added: &[String]) {
        // A document may carry thousands of members: the report names the first few.
        let named = added.len().min(crate::limits::MAX_METADATA_SOURCES);
        let name = |m: &String| crate::limits::cut(m, crate::limits::EVIDENCE_VALUE_BYTES).into_owned();
        self.metadata_from = added[..named].iter().map(|m| (name(m), FROM_RFC8414.to_string())).collect();
        if added.len() > named {
            self.metadata_from.insert(format!("(and {} more members)", added.len() - named), FROM_RFC8414.to_string());
        }
        if let Some(doc) = merged.as_object_mut() {
            for (member, url) in &self.target.endpoints {
                doc.insert(member.clone(), Value::String(url.clone()));
                self.metadata_from.insert(member.clone(), FROM_TARGET.to_string());
            }
        }
        self.metadata = Some(merged);
    }

    /// Who logs in and where the password may go: the test user, the login settings, and the
    /// issuer's origin with the target's other `origins`.
    pub fn credentials(&self) -> crate::engine::login::Credentials<'_> {
        crate::engine::login::Credentials {
            user: self.target.user.as_ref(),
            config: &self.target.login,
            extra: &self.target.extra_fields,
            origins: self.provider_origins(),
        }
    }

    /// The origins credentials may be sent to: the issuer's and the target's `origins`.
    pub fn provider_origins(&self) -> Vec<String> {
        provider_origins(&self.issuer, &self.target)
    }

    /// A string member of the discovery document.
    pub fn endpoint(&self, member: &str) -> Option<&str> {
        self.metadata.as_ref().and_then(|m| m.get(member)).and_then(Value::as_str)
    }

    /// The JWKS to verify with, when one could be read.
    pub fn jwks(&self) -> Option<&Value> {
        self.keys.keys.as_ref()
    }

    /// Makes sure the JWKS holds the key `token` names (`engine::key_set`: fetched again when
    /// the kid is unknown, once per kid, a few times a run). Returns the refetch's exchange, for
    /// evidence.
    pub async fn jwks_for(&mut self, token: &str) -> Option<Exchange> {
        if !self.keys.refetch_due(token) {
            return None;
        }
        let uri = self.endpoint("jwks_uri")?.to_string();
        let (jwks, exchange) = fetch_jwks(&self.http, &uri).await;
        self.keys.replace(jwks);
        exchange
    }
}

/// GETs a JWKS (following one redirect): the document when it is a 200 JSON answer, and the
/// last exchange, for evidence.
pub async fn fetch_jwks(http: &Recorder, uri: &str) -> (Option<Value>, Option<Exchange>) {
    let (response, mut exchanges) = get_following_one_redirect(http, uri).await;
    (response.ok().filter(|r| r.status == 200).and_then(|r| r.json()), exchanges.pop())
}

/// GETs `url`, following one redirect (a well-known document behind a moved path is still
/// found): the final response, and every exchange on the way.
pub async fn get_following_one_redirect(http: &Recorder, url: &str) -> (Result<Response, Exchange>, Vec<Exchange>) {
    let first = http.send(http.get(url)).await;
    let next = match &first {
        Ok(r) if (300..400).contains(&r.status) => r.header("location").and_then(|l| url::Url::parse(url).ok()?.join(l).ok()),
        _ => None,
    };
    match (first, next) {
        (Ok(r), Some(next)) => {
            let second = http.send(http.get(next.as_str())).await;
            let mut exchanges = vec![r.exchange];
            exchanges.push(match &second {
                Ok(r) => r.exchange.clone(),
                Err(e) => e.clone(),
            });
            (second, exchanges)
        }
        (first, _) => {
            let exchange = match &first {
                Ok(r) => r.exchange.clone(),
                Err(e) => e.clone(),
            };
            (first, vec![exchange])
        }
    }
}

/// When discovery lacks an endpoint `suite` cannot start without, records every one of its
/// checks as blocked by the discovery check that found it missing, and says so (`true`).
pub fn blocked_without(ctx: &Context, run: &mut Run, suite: &Suite, needs: &[&str]) -> bool {
    let missing = needs.iter().find(|member| ctx.endpoint(member).is_none());
    let Some(member) = missing else { return false };
    let by = match *member {
        "authorization_endpoint" => &discovery::AUTHORIZATION_ENDPOINT,
        "token_endpoint" => &discovery::TOKEN_ENDPOINT,
        "userinfo_endpoint" => &discovery::USERINFO,
        _ => &discovery::JSON,
    };
    record_all(run, suite, &suite.checks, &[], &Outcome::blocked_by(by, format!("discovery gave no {member}")));
    true
}

/// The OAuth error code of a JSON error response.
pub fn error_code(response: &Response) -> Option<String> {
    response.json().and_then(|j| j["error"].as_str().map(str::to_string))
}

/// A request that got no response proves nothing about the rule under test.
pub fn no_response(exchange: &Exchange) -> Outcome {
    let why = exchange.error.clone().unwrap_or_else(|| "no response".into());
    Outcome::blocked_by_step("a response from the server", format!("{} {}: {why}", exchange.method, exchange.url))
}

/// A response's status, `error` and `error_description` in words, for details.
pub fn answered(response: &Response) -> String {
    let json = response.json();
    let field = |name: &str| json.as_ref().and_then(|j| j[name].as_str().map(str::to_string));
    match (field("error"), field("error_description")) {
        (Some(error), Some(description)) => format!("status {}, error {error} (\"{description}\")", response.status),
        (Some(error), None) => format!("status {}, error {error}", response.status),
        (None, _) => format!("status {}, no OAuth error in the body{}", response.status, response.cut_note()),
    }
}

/// Records whether `response` is an RFC 6749 §5.2 error with one of `statuses` and one of
/// `errors` (every answer the rule allows); when several are allowed the detail says which was
/// seen. A 5xx or no response is no refusal: the check is blocked.
pub fn expect_error(run: &mut Run, suite: &Suite, check: &Check, response: &Result<Response, Exchange>, statuses: &[u16], errors: &[&str]) {
    match response {
        Ok(r) if r.status >= 500 => run.record(suite, check, &[&r.exchange], server_error(r)),
        Ok(r) => {
            let got = error_code(r);
            let outcome = if statuses.contains(&r.status) && got.as_deref().is_some_and(|e| errors.contains(&e)) {
                if statuses.len() > 1 || errors.len() > 1 { Outcome::PassNoted(answered(r)) } else { Outcome::Pass }
            } else {
                let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
                Outcome::Fail(format!(
                    "{}; the rule wants status {} with error {}",
                    answered(r),
                    statuses.join(" or "),
                    errors.join(" or ")
                ))
            };
            run.record(suite, check, &[&r.exchange], outcome);
        }
        Err(e) => run.record(suite, check, &[e], no_response(e)),
    }
}

/// RFC 6749 §5.2: `invalid_client` may be 400 or 401, except that a client that authenticated
/// with the Authorization header MUST get 401.
pub fn invalid_client_statuses(used_authorization_header: bool) -> &'static [u16] {
    if used_authorization_header { &[401] } else { &[400, 401] }
}

/// RFC 6749 §5.1: a successful token response is served as application/json.
pub fn json_content_type(response: &Response) -> Outcome {
    Outcome::expect(response.is_json(), || format!("Content-Type {}", response.header("content-type").unwrap_or("absent")))
}

/// RFC 6749 §5.1 and Appendix A.14: `expires_in`, when present, is a number of seconds (a JSON
/// number of digits, not a string).
pub fn expires_in_number(body: &Value) -> Outcome {
    match body.get("expires_in") {
        None => Outcome::NotApplicable("the response has no expires_in".into()),
        Some(v) if v.is_u64() => Outcome::Pass,
        Some(other) => Outcome::Fail(format!("expires_in is {other}, not a JSON number of seconds")),
    }
}

/// A 5xx answer: the server broke, which says nothing about the rule a check tests.
pub fn server_error(response: &Response) -> Outcome {
    Outcome::blocked_by_step(
        "a response from the server",
        format!("{} {} answered {}", response.exchange.method, response.exchange.url, response.status),
    )
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
