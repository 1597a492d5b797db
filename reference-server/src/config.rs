//! The server's configuration: one TOML file (clients, users, orgs, resource servers, ACR levels,
//! signing algorithms, lifetimes, strict mode) with built-in defaults so the server runs with no
//! file at all. Every problem in a file is reported as one sentence naming the key.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;

/// Where the issuer lives below the origin: the IDaaS layout is `{origin}/api/oidc`.
pub const ISSUER_PATH: &str = "/api/oidc";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Strict mode: the profile's unsupported request parameters (`display`, `id_token_hint`,
    /// `ui_locales`) are rejected with `invalid_request` instead of being ignored.
    #[serde(default)]
    pub strict: bool,
    /// Length caps on the authorization request's free-text parameters.
    #[serde(default)]
    pub parameter_limits: ParameterLimits,
    /// Named faults to inject (see `faults::CATALOG`); empty for a conformant server.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "fault_names")]
    pub faults: Vec<crate::faults::Fault>,
    /// Named variants (allowed alternative behaviours, see `variants::CATALOG`); empty for the
    /// server's default choices.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "variant_names")]
    pub variants: Vec<crate::variants::Variant>,
    /// The origin clients reach the server at, when it differs from the listening address
    /// (behind a reverse proxy), e.g. `https://idp.example.test`. The issuer is this origin
    /// followed by `/api/oidc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_origin: Option<String>,
    /// Bearer token for the admin API (bulk revocation, key rotation). When absent, a random one
    /// is generated at start and reported by the server handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    #[serde(default)]
    pub lifetimes: Lifetimes,
    /// How much state the server keeps at most, whatever clients do.
    #[serde(default)]
    pub limits: Limits,
    /// What one HTTP client may cost the server (connections, time); see `edge`.
    #[serde(default)]
    pub http: Http,
    /// Serve HTTPS (`[tls]`, see `tls`): with the PEM files named, or an empty table for a
    /// self-signed certificate made at start. Plain HTTP when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// "Manage OIDC and OAuth tokens": at most this many token grants per user per application;
    /// the oldest is dropped when a new one is issued.
    #[serde(default = "default_max_grants")]
    pub max_tokens_per_user_per_client: usize,
    /// Signing algorithms the server signs with; each gets the key named in `key`, or a key
    /// generated at start.
    #[serde(default = "default_algorithms")]
    pub signing_algorithms: Vec<Alg>,
    /// Servers in one process that generate their keys share them (generated once per process
    /// and algorithm), instead of each generating its own. Off by default: two embedded servers
    /// must not accept each other's tokens. An embedder that starts many servers and never mixes
    /// their tokens can switch it on to save the RSA key generation (tens of ms per key).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_process_keys: bool,
    /// Signing keys from files, so the JWKS stays the same across restarts.
    #[serde(default, rename = "key", skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyFile>,
    #[serde(default, rename = "acr")]
    pub acr_levels: Vec<AcrLevel>,
    #[serde(default, rename = "org")]
    pub orgs: Vec<Org>,
    #[serde(default, rename = "resource_server")]
    pub resource_servers: Vec<ResourceServer>,
    #[serde(default, rename = "client")]
    pub clients: Vec<Client>,
    #[serde(default, rename = "user")]
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifetimes {
    /// Authorization codes: 60 s in the profile.
    pub code_secs: u64,
    pub access_token_secs: u64,
    pub id_token_secs: u64,
    pub refresh_token_secs: u64,
    /// Browser login sessions.
    pub session_secs: u64,
    /// A started authorization (login / consent pages) must finish within this time.
    pub interaction_secs: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            code_secs: 60,
            access_token_secs: 3600,
            id_token_secs: 3600,
            refresh_token_secs: 30 * 24 * 3600,
            session_secs: 8 * 3600,
            interaction_secs: 600,
        }
    }
}

/// Caps on what the store holds, so that no client can grow the server's memory without bound
/// (grants are capped per user and application by `max_tokens_per_user_per_client`; refresh and
/// access tokens cost no memory). Each default is far above what a test or a load run needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Pending authorizations (login or consent not finished) in all; beyond it the oldest is
    /// dropped (its login page then says the sign-in expired). Anyone can start one without
    /// logging in.
    pub max_interactions: usize,
    /// Pending authorizations of one client; beyond it the client's own oldest is dropped, so a
    /// flood through one client costs that client's pending sign-ins, not another's (as long as
    /// the browser clients' caps add up to at most `max_interactions`), and a new request always
    /// starts.
    pub max_interactions_per_client: usize,
    /// Browser sessions; beyond it the one that expires first ends.
    pub max_sessions: usize,
    /// Sessions of one user; beyond it the user's own oldest ends, so one account signing in
    /// again and again cannot end everyone else's sessions.
    pub max_sessions_per_user: usize,
    /// Authorization codes (a redeemed one stays until it expires, for replay detection);
    /// beyond it the one that expires first is dropped.
    pub max_codes: usize,
    /// Codes of one user for one client; beyond it the pair's own oldest is dropped.
    pub max_codes_per_user_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // A pending authorization holds its request (each parameter capped by
        // `parameter_limits`); sessions and codes hold a few hundred bytes each.
        Limits {
            max_interactions: 10_000,
            max_interactions_per_client: 2_000,
            max_sessions: 100_000,
            max_sessions_per_user: 1_000,
            max_codes: 100_000,
            max_codes_per_user_per_client: 1_000,
        }
    }
}

/// Bounds at the HTTP edge, so that no client can hold the server: connections at once, and how
/// long a client may take to send a request or to take its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    /// Connections served at once; past it a new client is answered 503 with `Retry-After`
    /// (RFC 9110 §15.6.4) and closed.
    pub max_connections: usize,
    /// A client must send a request's head within this time (an idle keep-alive connection is
    /// closed after it too, RFC 9112 §9.5), its body and be answered within it again (else 408,
    /// RFC 9110 §15.5.9), and a response write that makes no progress for it drops the connection.
    pub client_timeout_secs: u64,
    /// On shutdown, requests in flight get this long to finish before their connections are
    /// dropped.
    pub shutdown_grace_secs: u64,
}

impl Default for Http {
    fn default() -> Self {
        // 512 connections stay below the usual 1024 open-file limit, with room for the harness's
        // own clients when the server runs in its process; 30 s is hyper's own head timeout.
        Http { max_connections: 512, client_timeout_secs: 30, shutdown_grace_secs: 10 }
    }
}

/// Length caps, in bytes after percent-decoding, on the authorization request's free-text
/// parameters (`[parameter_limits]`). A pending authorization is stored while the user logs in,
/// and these are the values stored as sent (every other parameter is checked against the
/// configuration or has a fixed form), so the caps bound what one unauthenticated request can
/// make the server hold. A longer value fails the request with `invalid_request` naming the
/// parameter and its cap. The defaults are far above what relying parties send, so only a
/// flood meets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParameterLimits {
    /// `state` (RFC 6749 §4.1.1), opaque to the server. Some relying parties carry encrypted
    /// properties in it (ASP.NET Core's are often 1 to 2 KB), so the default is 4096; a longer
    /// one would already strain the 8 KB request-line limit of common proxies.
    pub state: usize,
    /// `nonce` (OIDC Core §3.1.2.1): relying parties send a random value or its hash, tens of
    /// bytes; 2048 by default.
    pub nonce: usize,
    /// `login_hint` (OIDC Core §3.1.2.1): an email address is at most 254 bytes (RFC 5321
    /// §4.5.3.1.3), a `sub` 255 (OIDC Core §2); 512 by default.
    pub login_hint: usize,
    /// `claims` (OIDC Core §5.5), JSON naming a few dozen claims at most; 8192 by default.
    pub claims: usize,
    /// `acr_values` (OIDC Core §3.1.2.1), a few URNs; 2048 by default.
    pub acr_values: usize,
    /// `amr_values`, a few RFC 8176 method names; 512 by default.
    pub amr_values: usize,
    /// `org_id`, one organisation identifier; 256 by default.
    pub org_id: usize,
}

impl Default for ParameterLimits {
    fn default() -> Self {
        ParameterLimits { state: 4096, nonce: 2048, login_hint: 512, claims: 8192, acr_values: 2048, amr_values: 512, org_id: 256 }
    }
}

impl ParameterLimits {
    /// Each capped parameter with its cap, by the parameter's (and the key's) name.
    pub fn caps(&self) -> [(&'static str, usize); 7] {
        [
            ("state", self.state),
            ("nonce", self.nonce),
            ("login_hint", self.login_hint),
            ("claims", self.claims),
            ("acr_values", self.acr_values),
            ("amr_values", self.amr_values),
            ("org_id", self.org_id),
        ]
    }
}

/// JWS algorithms the server can sign with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    PS256,
    ES256,
    EdDSA,
    RS384,
    PS384,
    ES384,
    /// ECDSA with P-521 and SHA-512 (RFC 7518 §3.4).
    ES512,
}

impl Alg {
    /// Every algorithm, in the order discovery lists them.
    pub const ALL: [Alg; 8] = [Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA, Alg::RS384, Alg::PS384, Alg::ES384, Alg::ES512];
    /// What a server signs with when its configuration names no algorithms.
    pub const DEFAULT: [Alg; 4] = [Alg::RS256, Alg::PS256, Alg::ES256, Alg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::PS256 => "PS256",
            Alg::ES256 => "ES256",
            Alg::EdDSA => "EdDSA",
            Alg::RS384 => "RS384",
            Alg::PS384 => "PS384",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signing key in a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`). A relative path is
/// resolved against the working directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub alg: Alg,
    pub pkcs8_pem_file: std::path::PathBuf,
}

/// `[tls]`: the certificate chain (PEM, the end-entity first) and its private key (PEM, PKCS#8,
/// SEC1 or PKCS#1); neither for a self-signed certificate for the loopback names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_pem_file: Option<std::path::PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pem_file: Option<std::path::PathBuf>,
}

/// An authentication context class and the authentication methods (RFC 8176 names) a login
/// must have used to satisfy it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcrLevel {
    pub value: String,
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Org {
    pub id: String,
    pub name: String,
}

/// An API that access tokens can be issued for (`audience` / RFC 8707 `resource`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceServer {
    pub identifier: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    Confidential,
    Public,
}

/// RFC 6749 §2.3.1 and OIDC Core §9 client authentication methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    Implicit,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Implicit => "implicit",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(rename = "type")]
    pub client_type: ClientType,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the client may request.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Resource servers (identifiers) the client may obtain tokens for.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Audience of access tokens when the request names none; the issuer when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_resource: Option<String>,
    #[serde(default = "default_alg")]
    pub id_token_signing_alg: Alg,
    #[serde(default = "default_alg")]
    pub access_token_signing_alg: Alg,
    /// PKCE required. Always true for public clients (RFC 9700 §2.1.1); per client otherwise.
    #[serde(default)]
    pub require_pkce: bool,
    /// Show the consent page (once per session, user and scope set).
    #[serde(default = "yes")]
    pub consent: bool,
    /// Issue refresh tokens without `offline_access` (the profile's per-client setting).
    #[serde(default)]
    pub always_issue_refresh_token: bool,
    /// `[clients.entra]`: this client is Microsoft Entra ID calling the server as an External
    /// Authentication Method (see `entra`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra: Option<EntraApp>,
}

/// Microsoft Entra ID as a client (an External Authentication Method): its requests carry an
/// `id_token_hint` it signed, naming a user it has signed in; the server asks that user for a
/// second factor only and answers with the hint's `sub`, one `acr` and one `amr`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraApp {
    /// The hints' `iss`: the tenant's `https://login.microsoftonline.com/{tenant id}/v2.0`.
    pub hint_issuer: String,
    /// The hints' `aud`: the application id of the provider's app in Entra; the client_id when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_audience: Option<String>,
    /// The tenant's signing keys (a JWKS file, from Entra's `jwks_uri`); the published test key
    /// of the harness's emulated Entra when absent (`entra::TEST_KEY_PEM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_jwks_file: Option<std::path::PathBuf>,
    /// A Conditional Access custom control instead of an External Authentication Method: the
    /// claims the ID token carries once the second factor passed, when Entra's `claims` request
    /// asks for them (e.g. `{ CustomMfa = "MfaDone" }`). Empty for an EAM, which answers with
    /// `acr` and `amr`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub control_claims: std::collections::BTreeMap<String, String>,
}

impl EntraApp {
    /// Where Entra takes an EAM's answer: the redirect URI of every EAM application.
    pub const REDIRECT_URI: &str = "https://login.microsoftonline.com/common/federation/externalauthprovider";
    /// Where Entra takes a Conditional Access custom control's answer.
    pub const CUSTOM_CONTROLS_REDIRECT_URI: &str = "https://login.microsoftonline.com/common/federation/OAuth2Claims";
    /// The tenant of the harness's emulated Entra (made up: no real tenant).
    pub const TEST_TENANT: &str = "0e1d0c7a-5eaa-4a11-9e5e-000000000eaa";

    /// The harness's emulated Entra: its tenant's v2.0 issuer, trusted through the published
    /// test key.
    pub fn emulated() -> EntraApp {
        EntraApp {
            hint_issuer: format!("https://login.microsoftonline.com/{}/v2.0", EntraApp::TEST_TENANT),
            hint_audience: None,
            hint_jwks_file: None,
            control_claims: Default::default(),
        }
    }
}

impl Client {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    pub fn pkce_required(&self) -> bool {
        self.require_pkce || self.client_type == ClientType::Public
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    pub password: String,
    /// Stable subject identifier (OIDC Core §2 `sub`).
    pub sub: String,
    /// Authentication methods the user has enrolled (RFC 8176 names: `pwd`, `otp`).
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// The user's one-time code when `otp` is enrolled (a fixed code: this is a test IdP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
    /// An RFC 6238 TOTP secret (base32, as authenticator apps show it): its current code is
    /// accepted as the one-time code too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    /// Org memberships; the first is the default `org_id`.
    #[serde(default)]
    pub orgs: Vec<String>,
    /// Standard claims (OIDC Core §5.1), e.g. `name`, `email`, `email_verified`.
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// Faults in TOML by their catalog names.
mod fault_names {
    use crate::faults::Fault;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(faults: &[Fault], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(faults.iter().map(|f| f.name()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fault>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| {
                Fault::from_name(n)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown fault `{n}` (oidc-harness serve --list-faults)")))
            })
            .collect()
    }
}

/// Variants in TOML by their catalog names.
mod variant_names {
    use crate::variants::Variant;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(variants: &[Variant], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(variants.iter().map(|v| v.name()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Variant>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| {
                Variant::from_name(n)
                    .ok_or_else(|| serde::de::Error::custom(format!("unknown variant `{n}` (oidc-harness serve --list-variants)")))
            })
            .collect()
    }
}

fn default_max_grants() -> usize {
    50
}
fn default_algorithms() -> Vec<Alg> {
    Alg::DEFAULT.to_vec()
}
fn default_alg() -> Alg {
    Alg::RS256
}
fn default_methods() -> Vec<String> {
    vec!["pwd".into()]
}
fn yes() -> bool {
    true
}

/// A configuration file that cannot be used, with the key and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// (`error`, not `source`: the message says it, and a chain printed with `{:#}` would say it twice.)
    #[error("cannot read config file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config key `{key}`: {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), problem: problem.into() }
}

impl Config {
    /// Reads and validates a TOML configuration file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: display.clone(), error })?;
        Config::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse { path: display, message },
            other => other,
        })
    }

    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse { path: "<text>".into(), message: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        // Serialising plain data structures to TOML cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn user_by_username(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username == username)
    }

    pub fn user_by_sub(&self, sub: &str) -> Option<&User> {
        self.users.iter().find(|u| u.sub == sub)
    }

    pub fn resource_server(&self, identifier: &str) -> Option<&ResourceServer> {
        self.resource_servers.iter().find(|r| r.identifier == identifier)
    }

    /// Checks the relations a TOML parser cannot: references, uniqueness, client rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(origin) = &self.public_origin {
            let ok = url::Url::parse(origin)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none() && !origin.ends_with('/'));
            if !ok {
                return Err(invalid(
                    "public_origin",
                    "must be an http(s) origin without path or trailing slash, e.g. https://idp.example.test",
                ));
            }
        }
        if let Some((a, b)) = crate::variants::Variants::new(self.variants.iter().copied()).conflict() {
            return Err(invalid("variants", format!("`{a}` and `{b}` cannot be combined")));
        }
        if let Some((name, _)) = self.parameter_limits.caps().into_iter().find(|(_, cap)| *cap == 0) {
            return Err(invalid(format!("parameter_limits.{name}"), "must be at least 1 byte"));
        }
        if self.max_tokens_per_user_per_client == 0 {
            return Err(invalid("max_tokens_per_user_per_client", "must be at least 1"));
        }
        let m = &self.limits;
        for (key, v) in [
            ("limits.max_interactions", m.max_interactions),
            ("limits.max_interactions_per_client", m.max_interactions_per_client),
            ("limits.max_sessions", m.max_sessions),
            ("limits.max_sessions_per_user", m.max_sessions_per_user),
            ("limits.max_codes", m.max_codes),
            ("limits.max_codes_per_user_per_client", m.max_codes_per_user_per_client),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        let l = &self.lifetimes;
        for (key, v) in [
            ("lifetimes.code_secs", l.code_secs),
            ("lifetimes.access_token_secs", l.access_token_secs),
            ("lifetimes.id_token_secs", l.id_token_secs),
            ("lifetimes.refresh_token_secs", l.refresh_token_secs),
            ("lifetimes.session_secs", l.session_secs),
            ("lifetimes.interaction_secs", l.interaction_secs),
        ] {
            if v == 0 || v > 10 * 365 * 24 * 3600 {
                return Err(invalid(key, "must be between 1 second and 10 years"));
            }
        }
        self.validate_http()?;
        // OIDC Discovery §3: id_token_signing_alg_values_supported MUST include RS256, and
        // discovery lists what the server signs with.
        if !self.signing_algorithms.contains(&Alg::RS256) {
            return Err(invalid("signing_algorithms", "must include RS256 (OpenID Connect Discovery 1.0 section 3)"));
        }
        if let Some(t) = &self.admin_token
            && t.len() < 16
        {
            return Err(invalid("admin_token", "must be at least 16 characters"));
        }
        for (i, key) in self.keys.iter().enumerate() {
            if !self.signing_algorithms.contains(&key.alg) {
                return Err(invalid(format!("key[{i}].alg"), format!("{} is not in signing_algorithms", key.alg)));
            }
        }
        unique("key", "alg", self.keys.iter().map(|k| k.alg.as_str()))?;
        unique("org", "id", self.orgs.iter().map(|o| o.id.as_str()))?;
        unique("resource_server", "identifier", self.resource_servers.iter().map(|r| r.identifier.as_str()))?;
        unique("client", "client_id", self.clients.iter().map(|c| c.client_id.as_str()))?;
        unique("user", "username", self.users.iter().map(|u| u.username.as_str()))?;
        unique("user", "sub", self.users.iter().map(|u| u.sub.as_str()))?;
        for (i, r) in self.resource_servers.iter().enumerate() {
            if url::Url::parse(&r.identifier).is_err() {
                return Err(invalid(format!("resource_server[{i}].identifier"), "must be an absolute URI (RFC 8707 §2)"));
            }
        }
        for (i, a) in self.acr_levels.iter().enumerate() {
            if a.methods.is_empty() {
                return Err(invalid(format!("acr[{i}].methods"), "must list at least one method"));
            }
        }
        for (i, c) in self.clients.iter().enumerate() {
            self.validate_client(i, c)?;
        }
        for (i, u) in self.users.iter().enumerate() {
            for (j, org) in u.orgs.iter().enumerate() {
                if !self.orgs.iter().any(|o| &o.id == org) {
                    return Err(invalid(format!("user[{i}].orgs[{j}]"), format!("unknown org `{org}`")));
                }
            }
            if let Some(secret) = &u.totp_secret {
                match crate::totp::decode_secret(secret) {
                    None => {
                        return Err(invalid(format!("user[{i}].totp_secret"), "must be base32 (RFC 4648), as authenticator apps show it"));
                    }
                    Some(bytes) if bytes.len() < crate::totp::MIN_SECRET_BYTES => {
                        return Err(invalid(
                            format!("user[{i}].totp_secret"),
                            "must be at least 128 bits (RFC 4226 §4): 26 base32 characters",
                        ));
                    }
                    Some(_) => {}
                }
            }
            if u.methods.iter().any(|m| m == "otp") && u.otp.is_none() && u.totp_secret.is_none() {
                return Err(invalid(format!("user[{i}].otp"), "required (or totp_secret) when `otp` is among the user's methods"));
            }
            if u.sub.is_empty() || u.sub.len() > 255 {
                return Err(invalid(format!("user[{i}].sub"), "must be 1 to 255 characters (OIDC Core §2)"));
            }
        }
        Ok(())
    }

    fn validate_http(&self) -> Result<(), ConfigError> {
        let h = &self.http;
        if !(1..=1_000_000).contains(&h.max_connections) {
            return Err(invalid("http.max_connections", "must be between 1 and 1000000"));
        }
        if !(1..=3600).contains(&h.client_timeout_secs) {
            return Err(invalid("http.client_timeout_secs", "must be between 1 second and 1 hour"));
        }
        if h.shutdown_grace_secs > 3600 {
            return Err(invalid("http.shutdown_grace_secs", "must be at most 1 hour"));
        }
        Ok(())
    }

    fn validate_client(&self, i: usize, c: &Client) -> Result<(), ConfigError> {
        let key = |field: &str| format!("client[{i}].{field}");
        match (c.client_type, c.auth_method, &c.client_secret) {
            (ClientType::Public, AuthMethod::None, None) => {}
            (ClientType::Public, _, _) => {
                return Err(invalid(key("auth_method"), "a public client has no secret: use auth_method = \"none\" and no client_secret"));
            }
            (ClientType::Confidential, AuthMethod::None, _) => {
                return Err(invalid(
                    key("auth_method"),
                    "a confidential client must authenticate (client_secret_basic or client_secret_post)",
                ));
            }
            (ClientType::Confidential, _, None) => return Err(invalid(key("client_secret"), "required for a confidential client")),
            (ClientType::Confidential, _, Some(s)) if s.len() < 8 => {
                return Err(invalid(key("client_secret"), "must be at least 8 characters"));
            }
            _ => {}
        }
        if c.grant_types.is_empty() {
            return Err(invalid(key("grant_types"), "must list at least one grant type"));
        }
        if c.client_type == ClientType::Public && c.allows(GrantType::ClientCredentials) {
            return Err(invalid(key("grant_types"), "client_credentials needs a confidential client (RFC 6749 §4.4)"));
        }
        let browser = c.allows(GrantType::AuthorizationCode) || c.allows(GrantType::Implicit);
        if browser && c.redirect_uris.is_empty() {
            return Err(invalid(key("redirect_uris"), "required for the authorization_code and implicit grants"));
        }
        for (j, uri) in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris).enumerate() {
            match url::Url::parse(uri) {
                Ok(u) if u.fragment().is_none() => {}
                _ => {
                    return Err(invalid(
                        key(&format!("redirect_uris[{j}]")),
                        format!("`{uri}` must be an absolute URI without a fragment (RFC 6749 §3.1.2)"),
                    ));
                }
            }
        }
        if let Some(entra) = &c.entra {
            if !c.allows(GrantType::Implicit) || c.allows(GrantType::AuthorizationCode) {
                return Err(invalid(
                    key("grant_types"),
                    "Entra asks for an id_token by form post: an entra client has grant_types = [\"implicit\"]",
                ));
            }
            if entra.hint_jwks_file.is_none() && entra.hint_issuer != EntraApp::emulated().hint_issuer {
                return Err(invalid(
                    key("entra.hint_jwks_file"),
                    "required for a real tenant: the published test key is trusted for the emulated tenant's issuer only",
                ));
            }
            if !entra.hint_issuer.starts_with("https://") {
                return Err(invalid(
                    key("entra.hint_issuer"),
                    "must be the tenant's https issuer, https://login.microsoftonline.com/{tenant id}/v2.0",
                ));
            }
        }
        for (j, r) in c.resources.iter().chain(&c.default_resource).enumerate() {
            if self.resource_server(r).is_none() {
                return Err(invalid(key(&format!("resources[{j}]")), format!("unknown resource server `{r}`")));
            }
        }
        for alg in [c.id_token_signing_alg, c.access_token_signing_alg] {
            if !self.signing_algorithms.contains(&alg) {
                return Err(invalid(key("id_token_signing_alg"), format!("{alg} is not in signing_algorithms")));
            }
        }
        Ok(())
    }
}

fn unique<'a>(table: &str, field: &str, values: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (i, v) in values.enumerate() {
        if !seen.insert(v) {
            return Err(invalid(format!("{table}[{i}].{field}"), format!("duplicate value `{v}`")));
        }
    }
    Ok(())
}

impl Default for Config {
    /// The built-in configuration: a confidential web client (basic auth), a second one using
    /// `client_secret_post` with ES256 ID tokens, a public SPA client, a client-credentials service
    /// client, and two users in two orgs.
    fn default() -> Self {
        let oidc_scopes = ["openid", "profile", "email", "phone", "address", "offline_access", "read", "write"];
        let scopes = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let api = "https://api.example.test".to_string();
        let billing = "https://billing.example.test".to_string();
        let claims = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        Config {
            strict: false,
            shared_process_keys: false,
            parameter_limits: ParameterLimits::default(),
            faults: Vec::new(),
            variants: Vec::new(),
            public_origin: None,
            admin_token: None,
            lifetimes: Lifetimes::default(),
            limits: Limits::default(),
            http: Http::default(),
            tls: None,
            max_tokens_per_user_per_client: default_max_grants(),
            signing_algorithms: default_algorithms(),
            keys: Vec::new(),
            acr_levels: vec![
                AcrLevel { value: "urn:idaas:acr:password".into(), methods: vec!["pwd".into()] },
                AcrLevel { value: "urn:idaas:acr:mfa".into(), methods: vec!["pwd".into(), "otp".into()] },
            ],
            orgs: vec![Org { id: "org-acme".into(), name: "Acme Corp".into() }, Org { id: "org-globex".into(), name: "Globex".into() }],
            resource_servers: vec![
                ResourceServer { identifier: api.clone(), scopes: scopes(&["read", "write"]) },
                ResourceServer { identifier: billing.clone(), scopes: scopes(&["billing:read"]) },
            ],
            clients: vec![
                Client {
                    client_id: "web-app".into(),
                    client_secret: Some("web-app-secret".into()),
                    client_type: ClientType::Confidential,
                    auth_method: AuthMethod::ClientSecretBasic,
                    grant_types: vec![GrantType::AuthorizationCode, GrantType::Implicit, GrantType::RefreshToken],
                    redirect_uris: vec!["https://app.example.test/callback".into()],
                    post_logout_redirect_uris: vec!["https://app.example.test/signed-out".into()],
                    scopes: scopes(&oidc_scopes),
                    resources: vec![api.clone(), billing.clone()],
                    default_resource: None,
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: false,
                    consent: true,
                    always_issue_refresh_token: false,
                    entra: None,
                },
                Client {
                    client_id: "web-app-post".into(),
                    client_secret: Some("web-app-post-secret".into()),
                    client_type: ClientType::Confidential,
                    auth_method: AuthMethod::ClientSecretPost,
                    grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                    redirect_uris: vec!["https://app2.example.test/callback".into()],
                    post_logout_redirect_uris: vec![],
                    scopes: scopes(&oidc_scopes),
                    resources: vec![api.clone()],
                    default_resource: None,
                    id_token_signing_alg: Alg::ES256,
                    access_token_signing_alg: Alg::ES256,
                    require_pkce: true,
                    consent: false,
                    always_issue_refresh_token: true,
                    entra: None,
                },
                Client {
                    client_id: "spa-app".into(),
                    client_secret: None,
                    client_type: ClientType::Public,
                    auth_method: AuthMethod::None,
                    grant_types: vec![GrantType::AuthorizationCode, GrantType::Implicit, GrantType::RefreshToken],
                    redirect_uris: vec!["https://spa.example.test/callback".into()],
                    post_logout_redirect_uris: vec!["https://spa.example.test/".into()],
                    scopes: scopes(&oidc_scopes),
                    resources: vec![api.clone()],
                    default_resource: None,
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: true,
                    consent: true,
                    always_issue_refresh_token: false,
                    entra: None,
                },
                Client {
                    client_id: "service-client".into(),
                    client_secret: Some("service-client-secret".into()),
                    client_type: ClientType::Confidential,
                    auth_method: AuthMethod::ClientSecretBasic,
                    grant_types: vec![GrantType::ClientCredentials],
                    redirect_uris: vec![],
                    post_logout_redirect_uris: vec![],
                    scopes: scopes(&["read", "write", "billing:read"]),
                    resources: vec![api.clone(), billing],
                    default_resource: Some(api.clone()),
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: false,
                    consent: false,
                    always_issue_refresh_token: false,
                    entra: None,
                },
                // The relying parties of the integration packs (`oidc-harness certify`), each
                // registered as its vendor's setup guide registers it.
                Client {
                    client_id: "salesforce".into(),
                    client_secret: Some("salesforce-secret".into()),
                    client_type: ClientType::Confidential,
                    auth_method: AuthMethod::ClientSecretPost,
                    grant_types: vec![GrantType::AuthorizationCode],
                    redirect_uris: vec!["https://login.salesforce.com/services/authcallback/oidc_harness".into()],
                    post_logout_redirect_uris: vec![],
                    scopes: scopes(&oidc_scopes),
                    resources: vec![],
                    default_resource: None,
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: false,
                    consent: false,
                    always_issue_refresh_token: false,
                    entra: None,
                },
                Client {
                    client_id: "forgerock".into(),
                    client_secret: Some("forgerock-secret".into()),
                    client_type: ClientType::Confidential,
                    auth_method: AuthMethod::ClientSecretBasic,
                    grant_types: vec![GrantType::AuthorizationCode],
                    redirect_uris: vec!["https://forgerock.example.test/login/oidc-harness".into()],
                    post_logout_redirect_uris: vec![],
                    scopes: scopes(&oidc_scopes),
                    resources: vec![],
                    default_resource: None,
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: false,
                    consent: false,
                    always_issue_refresh_token: false,
                    entra: None,
                },
                Client {
                    client_id: "connectwise-home".into(),
                    client_secret: None,
                    client_type: ClientType::Public,
                    auth_method: AuthMethod::None,
                    grant_types: vec![GrantType::Implicit],
                    redirect_uris: vec!["https://home.connectwise.example.test/oidc/callback".into()],
                    post_logout_redirect_uris: vec![],
                    scopes: scopes(&oidc_scopes),
                    resources: vec![],
                    default_resource: None,
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: false,
                    consent: false,
                    always_issue_refresh_token: false,
                    entra: None,
                },
                // Microsoft Entra ID, calling this server as an External Authentication Method
                // with hints from the harness's emulated tenant.
                Client {
                    client_id: "entra-eam".into(),
                    client_secret: None,
                    client_type: ClientType::Public,
                    auth_method: AuthMethod::None,
                    grant_types: vec![GrantType::Implicit],
                    redirect_uris: vec![EntraApp::REDIRECT_URI.into()],
                    post_logout_redirect_uris: vec![],
                    scopes: scopes(&["openid"]),
                    resources: vec![],
                    default_resource: None,
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: false,
                    consent: false,
                    always_issue_refresh_token: false,
                    entra: Some(EntraApp::emulated()),
                },
                // Microsoft Entra ID's Conditional Access, calling this server for a custom control
                // (CustomMfa = MfaDone) with hints from the harness's emulated tenant.
                Client {
                    client_id: "ca-custom-controls".into(),
                    client_secret: None,
                    client_type: ClientType::Public,
                    auth_method: AuthMethod::None,
                    grant_types: vec![GrantType::Implicit],
                    redirect_uris: vec![EntraApp::CUSTOM_CONTROLS_REDIRECT_URI.into()],
                    post_logout_redirect_uris: vec![],
                    scopes: scopes(&["openid"]),
                    resources: vec![],
                    default_resource: None,
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: false,
                    consent: false,
                    always_issue_refresh_token: false,
                    entra: Some(EntraApp {
                        control_claims: [("CustomMfa".to_string(), "MfaDone".to_string())].into(),
                        ..EntraApp::emulated()
                    }),
                },
                Client {
                    client_id: "generic-app".into(),
                    client_secret: Some("generic-app-secret".into()),
                    client_type: ClientType::Confidential,
                    auth_method: AuthMethod::ClientSecretBasic,
                    grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                    redirect_uris: vec!["https://generic-app.example.test/callback".into()],
                    post_logout_redirect_uris: vec![],
                    scopes: scopes(&oidc_scopes),
                    resources: vec![api.clone()],
                    default_resource: None,
                    id_token_signing_alg: Alg::RS256,
                    access_token_signing_alg: Alg::RS256,
                    require_pkce: true,
                    consent: true,
                    always_issue_refresh_token: false,
                    entra: None,
                },
            ],
            users: vec![
                User {
                    username: "alice".into(),
                    password: "alice-password".into(),
                    sub: "u-alice-7f3a".into(),
                    methods: vec!["pwd".into(), "otp".into()],
                    otp: Some("246810".into()),
                    // The RFC 6238 test secret ("12345678901234567890").
                    totp_secret: Some("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into()),
                    orgs: vec!["org-acme".into(), "org-globex".into()],
                    claims: claims(serde_json::json!({
                        "name": "Alice Adams", "given_name": "Alice", "family_name": "Adams",
                        "preferred_username": "alice", "email": "alice@acme.example.test",
                        "email_verified": true, "phone_number": "+1 555 0100",
                        "phone_number_verified": false,
                        "address": { "country": "US", "locality": "Springfield" }
                    })),
                },
                User {
                    username: "bob".into(),
                    password: "bob-password".into(),
                    sub: "u-bob-21c9".into(),
                    // A TOTP app: the second factor Microsoft Entra asks for (`entra`).
                    methods: vec!["pwd".into(), "otp".into()],
                    otp: None,
                    totp_secret: Some("MJXWELLUN52HALLTMVRXEZLUFUZDAMRWEE".into()),
                    orgs: vec!["org-globex".into()],
                    claims: claims(serde_json::json!({
                        "name": "Bob Brown", "given_name": "Bob", "family_name": "Brown",
                        "preferred_username": "bob", "email": "bob@globex.example.test",
                        "email_verified": false
                    })),
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid_and_round_trips_through_toml() {
        let config = Config::default();
        config.validate().expect("defaults are valid");
        let again = Config::from_toml(&config.to_toml()).expect("printed defaults parse");
        assert_eq!(again.clients.len(), config.clients.len());
        assert_eq!(again.users[0].claims, config.users[0].claims);
    }

    #[test]
    fn faults_are_named_in_toml() {
        let config = Config::from_toml("faults = [\"nonce-dropped\", \"x5c-missing\"]").unwrap();
        assert_eq!(config.faults, [crate::faults::Fault::NonceDropped, crate::faults::Fault::X5cMissing]);
        assert!(config.to_toml().contains("faults = [\n    \"nonce-dropped\","), "{}", config.to_toml());
        let err = Config::from_toml("faults = [\"nope\"]").unwrap_err().to_string();
        assert!(err.contains("unknown fault `nope`"), "{err}");
        assert!(Config::default().to_toml().find("faults").is_none(), "a conformant default prints no faults");
    }

    #[test]
    fn variants_are_named_in_toml() {
        use crate::variants::Variant;
        let config = Config::from_toml("variants = [\"issuer-trailing-slash\", \"token-type-lowercase\"]").unwrap();
        assert_eq!(config.variants, [Variant::IssuerTrailingSlash, Variant::TokenTypeLowercase]);
        assert!(config.to_toml().contains("variants = [\n    \"issuer-trailing-slash\","), "{}", config.to_toml());
        let err = Config::from_toml("variants = [\"nope\"]").unwrap_err().to_string();
        assert!(err.contains("unknown variant `nope` (oidc-harness serve --list-variants)"), "{err}");
        assert!(Config::default().to_toml().find("variants").is_none(), "the default prints no variants");
        let err = Config::from_toml("variants = [\"aud-single-string\", \"aud-array-with-azp\"]").unwrap_err().to_string();
        assert_eq!(err, "config key `variants`: `aud-array-with-azp` and `aud-single-string` cannot be combined");
    }

    #[test]
    fn http_bounds_default_per_key_and_are_checked() {
        let config = Config::from_toml("[http]\nmax_connections = 2").unwrap();
        assert_eq!(config.http, Http { max_connections: 2, ..Http::default() });
        for (toml, key) in [
            ("[http]\nmax_connections = 0", "http.max_connections"),
            ("[http]\nclient_timeout_secs = 0", "http.client_timeout_secs"),
            ("[http]\nshutdown_grace_secs = 3601", "http.shutdown_grace_secs"),
        ] {
            let err = Config::from_toml(toml).unwrap_err().to_string();
            assert!(err.starts_with(&format!("config key `{key}`")), "{toml}: {err}");
        }
    }

    #[test]
    fn parameter_limits_are_read_partially_and_refuse_zero() {
        let config = Config::from_toml("[parameter_limits]\nstate = 100\n").unwrap();
        assert_eq!(config.parameter_limits, ParameterLimits { state: 100, ..ParameterLimits::default() });
        assert!(Config::default().to_toml().contains("[parameter_limits]\nstate = 4096\n"), "{}", Config::default().to_toml());
        for (name, _) in ParameterLimits::default().caps() {
            let err = Config::from_toml(&format!("[parameter_limits]\n{name} = 0\n")).unwrap_err().to_string();
            assert_eq!(err, format!("config key `parameter_limits.{name}`: must be at least 1 byte"));
        }
        let err = Config::from_toml("[parameter_limits]\nscope = 10\n").unwrap_err().to_string();
        assert!(err.contains("scope"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml("strikt = true").unwrap_err().to_string();
        assert!(err.contains("strikt"), "{err}");
    }

    #[test]
    fn dangling_org_reference_is_named() {
        let mut config = Config::default();
        config.users[1].orgs.push("org-nowhere".into());
        let err = config.validate().unwrap_err().to_string();
        assert_eq!(err, "config key `user[1].orgs[1]`: unknown org `org-nowhere`");
    }

    #[test]
    fn a_totp_secret_must_be_base32_of_at_least_128_bits() {
        for (secret, says) in [("not base32!", "base32"), ("JBSWY3DPEHPK3PXP", "128 bits")] {
            let mut config = Config::default();
            config.users[0].totp_secret = Some(secret.into());
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains("user[0].totp_secret") && err.contains(says), "{err}");
        }
        let mut config = Config::default();
        config.users[0].otp = None;
        config.validate().expect("a TOTP secret alone serves the otp method");
        config.users[0].totp_secret = None;
        assert!(config.validate().unwrap_err().to_string().contains("user[0].otp"));
    }

    #[test]
    fn a_server_that_cannot_sign_rs256_is_refused() {
        let config = Config { signing_algorithms: vec![Alg::ES256], ..Config::default() };
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("signing_algorithms") && err.contains("RS256"), "{err}");
        // The clients registered for RS256 would be refused next; the first problem is named.
        assert!(Config { signing_algorithms: vec![], ..Config::default() }.validate().is_err());
    }

    #[test]
    fn public_client_with_secret_is_refused() {
        let mut config = Config::default();
        config.clients[2].client_secret = Some("something-secret".into());
        config.clients[2].auth_method = AuthMethod::ClientSecretBasic;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("client[2].auth_method"), "{err}");
    }

    #[test]
    fn public_origin_must_be_a_bare_origin() {
        for bad in ["idp.example.test", "https://idp.example.test/", "https://idp.example.test/base", "ftp://idp.example.test"] {
            let config = Config { public_origin: Some(bad.into()), ..Config::default() };
            assert!(config.validate().unwrap_err().to_string().contains("public_origin"), "{bad}");
        }
        Config { public_origin: Some("https://idp.example.test:8443".into()), ..Config::default() }.validate().unwrap();
    }

    #[test]
    fn redirect_uri_with_fragment_is_refused() {
        let mut config = Config::default();
        config.clients[0].redirect_uris.push("https://app.example.test/cb#frag".into());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("client[0].redirect_uris[1]"), "{err}");
    }
}
