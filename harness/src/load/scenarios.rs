//! The load scenarios. Each transaction is one protocol-correct unit of work built from the
//! conformance engine's own steps: the token requests use the same client authentication as
//! the checks, the browser part of the code flow is the engine's login driver. goose sends and
//! times every token and userinfo request (its report has them per request); the transaction as
//! a whole, from its intended start, goes into our histograms.

use super::pacing::Pacer;
use super::stats::Stats;
use crate::engine::jwt::Jwt;
use crate::engine::key_set::KeySet;
use crate::engine::{Outcome, access_token, id_token};
use crate::profile::AccessTokenFormat;
use crate::suites::{Context, flow};
use crate::target::Registration;
use goose::prelude::*;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// What `--scenario` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScenarioName {
    ClientCredentials,
    AuthorizationCode,
    Refresh,
    Userinfo,
    /// All four, weighted by the load profile's [mix].
    Mixed,
}

/// One kind of transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ClientCredentials,
    AuthorizationCode,
    Refresh,
    Userinfo,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::ClientCredentials, Kind::AuthorizationCode, Kind::Refresh, Kind::Userinfo];

    pub fn name(self) -> &'static str {
        match self {
            Kind::ClientCredentials => "client-credentials",
            Kind::AuthorizationCode => "authorization-code",
            Kind::Refresh => "refresh",
            Kind::Userinfo => "userinfo",
        }
    }
}

impl Kind {
    /// The client the transactions of this kind use.
    pub fn registration(self, target: &crate::target::Target) -> Option<&Registration> {
        match self {
            Kind::ClientCredentials => target.service.as_ref(),
            // Grants that live across transactions use the second client, so that the
            // authorization-code scenario's new grants never push them out of a per-user cap.
            Kind::Refresh | Kind::Userinfo => target.other_confidential.as_ref().or(target.confidential.as_ref()),
            Kind::AuthorizationCode => target.confidential.as_ref(),
        }
    }

    /// The discovery members transactions of this kind send to (userinfo and refresh start
    /// their grant with a code flow).
    pub fn endpoints(self) -> &'static [&'static str] {
        match self {
            Kind::ClientCredentials => &["token_endpoint"],
            Kind::AuthorizationCode | Kind::Refresh => &["authorization_endpoint", "token_endpoint"],
            Kind::Userinfo => &["authorization_endpoint", "token_endpoint", "userinfo_endpoint"],
        }
    }

    /// What the target file lacks when `registration` finds nothing, in one sentence.
    pub fn missing(self) -> String {
        let table = match self {
            Kind::ClientCredentials => "[clients.service]",
            Kind::Refresh | Kind::Userinfo => "[clients.other_confidential] or [clients.confidential]",
            Kind::AuthorizationCode => "[clients.confidential]",
        };
        format!("the {} scenario needs {table} in the target file (--target-config)", self.name())
    }
}

impl ScenarioName {
    /// The name as given on the command line.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map(|v| v.get_name().to_string()).unwrap_or_default()
    }

    pub fn kinds(self) -> Vec<Kind> {
        match self {
            ScenarioName::ClientCredentials => vec![Kind::ClientCredentials],
            ScenarioName::AuthorizationCode => vec![Kind::AuthorizationCode],
            ScenarioName::Refresh => vec![Kind::Refresh],
            ScenarioName::Userinfo => vec![Kind::Userinfo],
            ScenarioName::Mixed => Kind::ALL.to_vec(),
        }
    }
}

/// Everything the transactions share.
pub struct Load {
    pub ctx: Context,
    pub stats: Stats,
    pub pacer: Option<Pacer>,
    /// The JWKS for validating sampled tokens: read at the start, read again once per key id a
    /// token names that it lacks (a rotation during the run), as the conformance engine does.
    pub jwks: tokio::sync::Mutex<KeySet>,
    /// Validate one issued token in this many (0: none).
    pub validate_every: u64,
    pub issued: AtomicU64,
    /// When the run ends: users with nothing left to do idle until then.
    pub end: Instant,
    /// Transactions in a row that got no HTTP answer (transport errors, timeouts).
    pub unanswered: AtomicU64,
    /// Set when the load stopped early, saying why: every user idles from then on.
    pub stopped: std::sync::OnceLock<String>,
    /// The kinds to run and their weights over transactions.
    pub mix: Vec<(Kind, usize)>,
    /// Transactions handed out so far: the next one's kind is `pick(mix, picked)`.
    pub picked: AtomicU64,
}

/// The kind of the `i`-th transaction: each kind takes its weight's share of every cycle of
/// `sum of weights` transactions, interleaved (the cycle's positions are visited in a stride
/// prime to its length), so a short run gets the mix too.
pub fn pick(mix: &[(Kind, usize)], i: u64) -> Kind {
    let total: u64 = mix.iter().map(|(_, w)| *w as u64).sum();
    if total == 0 {
        return mix.first().map_or(Kind::ClientCredentials, |(k, _)| *k);
    }
    const STRIDE: u64 = 7919;
    let position = if total.is_multiple_of(STRIDE) { i % total } else { (i % total) * STRIDE % total };
    let mut at = position;
    for (kind, weight) in mix {
        let weight = *weight as u64;
        if at < weight {
            return *kind;
        }
        at -= weight;
    }
    mix[0].0
}

/// Transactions in a row without an HTTP answer after which the load stops: a target that is
/// down would otherwise be a loop of errors for the whole run.
pub const MAX_UNANSWERED: u64 = 200;

/// The tokens a goose user keeps between transactions (refresh and userinfo reuse a grant).
#[derive(Clone, Default)]
struct Grant {
    refresh_token: Option<String>,
    access_token: Option<String>,
}

/// The goose transaction: every user runs the mix, one kind per transaction.
pub fn transaction(load: Arc<Load>) -> Transaction {
    Transaction::new(Arc::new(move |user| {
        let load = load.clone();
        Box::pin(async move { load.iteration(user).await })
    }))
    .set_name("transaction")
}

impl Load {
    async fn iteration(&self, user: &mut GooseUser) -> TransactionResult {
        if self.stopped.get().is_some() {
            return self.idle().await;
        }
        let due = match &self.pacer {
            Some(pacer) => match pacer.next() {
                Some(due) => due,
                None => return self.idle().await,
            },
            None => Instant::now(),
        };
        let kind = pick(&self.mix, self.picked.fetch_add(1, Ordering::Relaxed));
        // Under way from the moment it is taken, before any wait: the end of the run finds every
        // arrival a user holds (one not yet due then was cancelled, not late).
        let Some(id) = self.stats.begin(kind.name(), due) else { return self.idle().await };
        let started = if due > Instant::now() {
            // Ahead of schedule: wait, and time from the wake-up (the timer's own lateness, up to
            // a millisecond, is not the server's).
            tokio::time::sleep_until(due).await;
            Instant::now()
        } else {
            // Behind schedule (every user was busy): the wait for a free user counts.
            due
        };
        let outcome = match kind {
            Kind::ClientCredentials => self.client_credentials(user).await,
            Kind::AuthorizationCode => self.authorization_code(user).await.map(|_| ()),
            Kind::Refresh => self.refresh(user).await,
            Kind::Userinfo => self.userinfo(user).await,
        };
        self.stats.end(id, started, outcome.is_ok());
        match outcome {
            Err(key) if key == "transport" || key == "timeout" => {
                self.stats.error(key);
                let in_a_row = self.unanswered.fetch_add(1, Ordering::Relaxed) + 1;
                if in_a_row >= MAX_UNANSWERED {
                    let _ = self.stopped.set(format!(
                        "stopped after {in_a_row} transactions in a row got no HTTP answer (transport errors or timeouts): is the target up?"
                    ));
                }
            }
            Err(key) => {
                self.stats.error(key);
                self.unanswered.store(0, Ordering::Relaxed);
            }
            Ok(()) => self.unanswered.store(0, Ordering::Relaxed),
        }
        Ok(())
    }

    /// The open model's arrivals are used up: wait for goose to end the run, in short naps so
    /// the shutdown is not held up.
    async fn idle(&self) -> TransactionResult {
        let nap = self.end.saturating_duration_since(Instant::now()).min(Duration::from_millis(100)).max(Duration::from_millis(10));
        tokio::time::sleep(nap).await;
        Ok(())
    }

    fn registration(&self, kind: Kind) -> Result<&Registration, String> {
        kind.registration(&self.ctx.target).ok_or_else(|| kind.missing())
    }

    async fn client_credentials(&self, user: &mut GooseUser) -> Result<(), String> {
        let reg = self.registration(Kind::ClientCredentials)?;
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = reg.scope.as_deref() {
            form.push(("scope", scope));
        }
        let body = self.token(user, "token: client_credentials", reg, &form).await?;
        self.sample_access_token(&body, reg).await;
        Ok(())
    }

    /// A whole code flow: authorization request, login and consent through the engine's
    /// driver (a fresh browser, as a new visitor), then the code redeemed through goose.
    async fn authorization_code(&self, user: &mut GooseUser) -> Result<Value, String> {
        let reg = self.registration(Kind::AuthorizationCode)?;
        self.code_flow(user, reg, &format!("openid {}", self.ctx.target.scopes.additional), "token: authorization_code").await
    }

    async fn code_flow(&self, user: &mut GooseUser, reg: &Registration, scope: &str, name: &str) -> Result<Value, String> {
        let browser = self.ctx.http.browser();
        let started = std::time::Instant::now();
        let nonce = flow::random("n", 22);
        let authorized = flow::code_authorization(&self.ctx, &browser, reg, scope, &[("nonce", &nonce), ("prompt", "consent")]).await;
        let code = match &authorized {
            Ok(a) => a
                .done
                .arrival
                .params
                .get("code")
                .cloned()
                .ok_or_else(|| format!("authorize: {}", a.done.arrival.params.get("error").map_or("no code", |e| oauth_error(e)))),
            // The login driver's sentence can quote the target's pages and URLs: redacted here,
            // bounded and capped in number by `Stats::error`.
            Err((why, _)) => Err(format!("authorize: {}", self.ctx.http.redactor().text(why))),
        };
        // The browser part is timed here and reported to goose as one custom request.
        let _ = user.record_custom_request_duration("BROWSER", "authorize + login", started.elapsed(), code.is_ok(), None, None).await;
        let (code, verifier) = (code?, authorized.map(|a| a.verifier).unwrap_or_default());
        let redirect_uri = reg.redirect_uri.as_deref().unwrap_or("");
        let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", redirect_uri), ("code_verifier", &verifier)];
        let body = self.token(user, name, reg, &form).await?;
        self.sample_id_token(&body, reg, Some(&nonce)).await;
        Ok(body)
    }

    /// Refresh with rotation: keep whichever refresh token came back last; start a grant
    /// (offline_access) when there is none or it stopped working.
    async fn refresh(&self, user: &mut GooseUser) -> Result<(), String> {
        let reg = self.registration(Kind::Refresh)?;
        let Some(current) = user.get_session_data::<Grant>().and_then(|g| g.refresh_token.clone()) else {
            return self.start_grant(user, reg).await;
        };
        let form = [("grant_type", "refresh_token"), ("refresh_token", current.as_str())];
        match self.token(user, "token: refresh_token", reg, &form).await {
            Ok(body) => {
                let rotated = body["refresh_token"].as_str().map(str::to_string).unwrap_or(current);
                let access = body["access_token"].as_str().map(str::to_string);
                user.set_session_data(Grant { refresh_token: Some(rotated), access_token: access });
                self.sample_id_token(&body, reg, None).await;
                Ok(())
            }
            Err(e) => {
                user.set_session_data(Grant::default());
                Err(e)
            }
        }
    }

    /// Userinfo with the user's access token; a new grant when there is none or it was refused.
    async fn userinfo(&self, user: &mut GooseUser) -> Result<(), String> {
        let reg = self.registration(Kind::Userinfo)?;
        let endpoint = self.ctx.endpoint("userinfo_endpoint").ok_or("discovery gave no userinfo_endpoint")?.to_string();
        let Some(token) = user.get_session_data::<Grant>().and_then(|g| g.access_token.clone()) else {
            return self.start_grant(user, reg).await;
        };
        let request = user.get_request_builder(&GooseMethod::Get, &endpoint).map_err(|e| e.to_string())?.bearer_auth(token);
        let (status, body) = send(user, "userinfo", request).await?;
        if status != 200 {
            user.set_session_data(Grant::default());
            return Err(error_key(status, &body));
        }
        Ok(())
    }

    async fn start_grant(&self, user: &mut GooseUser, reg: &Registration) -> Result<(), String> {
        let body = self
            .code_flow(
                user,
                reg,
                &format!("{} {}", self.ctx.target.scopes.refresh, self.ctx.target.scopes.additional),
                "token: authorization_code",
            )
            .await?;
        let text = |name: &str| body[name].as_str().map(str::to_string);
        user.set_session_data(Grant { refresh_token: text("refresh_token"), access_token: text("access_token") });
        Ok(())
    }

    /// A token request with the registration's client authentication, sent and timed by goose;
    /// the JSON body of a 200, or the error key.
    async fn token(&self, user: &mut GooseUser, name: &str, reg: &Registration, form: &[(&str, &str)]) -> Result<Value, String> {
        let endpoint = self.ctx.endpoint("token_endpoint").ok_or("discovery gave no token_endpoint")?.to_string();
        let builder = user.get_request_builder(&GooseMethod::Post, &endpoint).map_err(|e| e.to_string())?;
        let mut fields = form.to_vec();
        let builder = flow::client_authentication(builder, reg, &mut fields).form(&fields);
        let (status, body) = send(user, name, builder).await?;
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if status != 200 || !json["access_token"].is_string() {
            return Err(error_key(status, &body));
        }
        Ok(json)
    }

    fn due_for_validation(&self) -> bool {
        self.validate_every > 0 && self.issued.fetch_add(1, Ordering::Relaxed).is_multiple_of(self.validate_every)
    }

    /// The JWKS to verify `token` with (`engine::key_set`: fetched again for an unknown kid,
    /// as the conformance engine does).
    async fn jwks_for(&self, token: &str) -> Value {
        let mut keys = self.jwks.lock().await;
        if keys.refetch_due(token)
            && let Some(uri) = self.ctx.endpoint("jwks_uri")
        {
            keys.replace(crate::suites::fetch_jwks(&self.ctx.http, uri).await.0);
        }
        keys.keys.clone().unwrap_or(Value::Null)
    }

    async fn sample_access_token(&self, body: &Value, reg: &Registration) {
        if self.ctx.profile.flows.access_token_format != AccessTokenFormat::Jwt || !self.due_for_validation() {
            return;
        }
        // The conformance engine's RFC 9068 checks, folded into one verdict per sampled token.
        let token = body["access_token"].as_str().unwrap_or("");
        let jwks = self.jwks_for(token).await;
        let problem = Jwt::decode(token).and_then(|jwt| {
            let results = access_token::check(&jwt, &self.ctx.issuer, &reg.client_id, Some(&jwks), id_token::now());
            match access_token::fold(&results) {
                Outcome::Fail(why) => Err(why),
                _ => Ok(()),
            }
        });
        self.stats.validated(problem.err().map(|p| format!("access token: {p}")));
    }

    async fn sample_id_token(&self, body: &Value, reg: &Registration, nonce: Option<&str>) {
        let Some(id_token) = body["id_token"].as_str() else { return };
        if !self.due_for_validation() {
            return;
        }
        // The conformance engine's standard ID token checks (OIDC Core §3.1.3.7), folded.
        let jwks = self.jwks_for(id_token).await;
        let problem = Jwt::decode(id_token).and_then(|jwt| {
            let expected = id_token::Expected {
                issuer: &self.ctx.issuer,
                client_id: &reg.client_id,
                nonce,
                access_token: body["access_token"].as_str(),
                listed_algs: crate::suites::strings(self.ctx.metadata.as_ref(), "id_token_signing_alg_values_supported")
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                ..Default::default()
            };
            match id_token::fold(&id_token::check(&jwt, &expected, Some(&jwks), id_token::now())) {
                Outcome::Fail(why) => Err(why),
                _ => Ok(()),
            }
        });
        self.stats.validated(problem.err().map(|p| format!("ID token: {p}")));
    }
}

/// Sends `request` through goose (which times it and counts its status) and reads the body.
async fn send(user: &mut GooseUser, name: &str, request: reqwest::RequestBuilder) -> Result<(u16, String), String> {
    let goose_request = GooseRequest::builder().name(name).set_request_builder(request).build();
    let response = user.request(goose_request).await.map_err(|e| format!("goose: {e}"))?;
    let response = response.response.map_err(|e| if e.is_timeout() { "timeout".to_string() } else { "transport".to_string() })?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|_| "transport".to_string())?;
    Ok((status, body))
}

/// "400 invalid_grant", or the status alone when the body is not an OAuth error.
fn error_key(status: u16, body: &str) -> String {
    let error = serde_json::from_str::<Value>(body).ok().and_then(|v| v["error"].as_str().map(|e| oauth_error(e).to_string()));
    match error {
        Some(e) => format!("{status} {e}"),
        None => status.to_string(),
    }
}

/// An `error` code as RFC 6749 §5.2 allows it (printable ASCII without `"` and `\`, here at
/// most 64 bytes), or "(non-standard error)": a target's own text does not become a key.
fn oauth_error(code: &str) -> &str {
    let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    if !code.is_empty() && code.len() <= 64 && code.chars().all(allowed) { code } else { "(non-standard error)" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_kept_over_transactions_and_interleaved() {
        let mix = [(Kind::ClientCredentials, 70), (Kind::AuthorizationCode, 5), (Kind::Refresh, 15), (Kind::Userinfo, 10)];
        let picks: Vec<Kind> = (0..1000).map(|i| pick(&mix, i)).collect();
        for (kind, weight) in mix {
            assert_eq!(picks.iter().filter(|k| **k == kind).count(), weight * 10, "{kind:?}");
        }
        assert!(picks[..10].iter().any(|k| *k != Kind::ClientCredentials), "interleaved, not in blocks: {:?}", &picks[..10]);
        assert_eq!(pick(&[(Kind::Refresh, 1)], 12), Kind::Refresh);
    }

    #[test]
    fn error_keys_take_only_standard_oauth_codes() {
        assert_eq!(error_key(400, r#"{"error":"invalid_grant"}"#), "400 invalid_grant");
        assert_eq!(error_key(400, r#"{"error":"<script>\"x\"</script>"}"#), "400 (non-standard error)");
        assert_eq!(error_key(400, &format!(r#"{{"error":"{}"}}"#, "a".repeat(65))), "400 (non-standard error)");
        assert_eq!(error_key(503, "<html>down</html>"), "503");
    }
}
