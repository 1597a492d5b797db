//! The target: which client registrations and test user to use, and how to log in. Secrets come
//! from environment variables named in the target file, never from the file itself; for the
//! embedded reference server they come from its built-in configuration.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The target file of the embedded reference server's default configuration.
const EMBEDDED: &str = include_str!("../../targets/reference-server.toml");
/// The same with the login script of the `login-api` variant (a JSON sign-in API).
const EMBEDDED_LOGIN_API: &str = include_str!("../../targets/reference-server-login-api.toml");

/// A secret value: never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The client authentication methods (OIDC Core §9): the reference server's enum, so the
/// target file and the server's configuration name them alike.
pub use reference_server::config::AuthMethod;

/// A client registration at the target.
#[derive(Debug, Clone)]
pub struct Registration {
    pub client_id: String,
    pub secret: Option<Secret>,
    pub auth_method: AuthMethod,
    pub redirect_uri: Option<String>,
    /// Scope to request (client credentials) or extra scopes for flows.
    pub scope: Option<String>,
    /// An audience / resource the client may request (RFC 8707).
    pub resource: Option<String>,
    /// Authorization request parameters for this client, over the target's.
    pub authorize_extra: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub username: String,
    pub password: Secret,
    /// The user's RFC 6238 TOTP secret (base32, checked when the file is read): the login
    /// driver fills one-time-code fields with its current code.
    pub totp: Option<Secret>,
}

/// How the login driver finds its way through the target's pages. Every field is optional: a
/// standard login page (one password field beside one text or email field) needs none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    pub username_field: Option<String>,
    pub password_field: Option<String>,
    /// Extra fields to fill on login forms: name -> environment variable holding the value.
    #[serde(default)]
    pub extra_field_env: BTreeMap<String, String>,
    /// The `name=value` or visible text of the button that approves consent.
    pub approve_button: Option<String>,
    /// Where the login script runs: a regular expression over the URL of the page the browser
    /// reached. Without it, the script runs at the first page that has no form to continue with.
    #[serde(default, with = "optional_regex")]
    pub script_at: Option<regex::Regex>,
    /// Values captured from the page where the script starts, for the script's placeholders.
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
    /// A login API, as a script of requests in the browser (sharing its cookies), run wherever
    /// the browser needs a login, for targets whose login page is a script, not a form.
    #[serde(default, rename = "step")]
    pub steps: Vec<ScriptStep>,
}

/// One request of the login script. Strings may hold placeholders: `{username}`, `{password}`,
/// `{client_id}`, `{scope}`, `{redirect_uri}`, `{state}` (from the pending authorization request)
/// and the names captured earlier.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    /// The HTTP method; POST when absent (GET for `continue_authorization`).
    pub method: Option<String>,
    /// Absolute, or relative to the issuer's origin. Absent only with `continue_authorization`.
    pub url: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (any TOML value).
    pub json: Option<serde_json::Value>,
    /// A form body (`application/x-www-form-urlencoded`).
    pub form: Option<BTreeMap<String, String>>,
    /// The statuses that mean the step worked; any 2xx or 3xx when absent.
    pub status: Option<Vec<u16>>,
    #[serde(default)]
    pub capture: BTreeMap<String, Capture>,
    /// This step re-requests the pending authorization URL (with `params` added to its query),
    /// and the browser goes on from its answer as after a login form. The last step only.
    #[serde(default)]
    pub continue_authorization: bool,
    /// Query parameters added to the pending authorization URL by `continue_authorization`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// This step is a navigation (the last step only): the browser goes on from its answer,
    /// whatever it is (a consent page, say). Without it only a redirect answer is followed.
    #[serde(default)]
    pub browse: bool,
}

/// Where a captured value comes from in a response, Hurl-style.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Capture {
    /// A JSON pointer (RFC 6901) into a JSON body: `/flow/id`.
    Json(String),
    /// A response header.
    Header(String),
    /// A cookie the browser holds for the response's URL.
    Cookie(String),
    /// The first group of a regular expression over the body (the whole match without one).
    Regex(#[serde(with = "required_regex")] regex::Regex),
    /// A query parameter of the `Location` the response redirects to, or else of its URL.
    Query(String),
}

/// Values the script's placeholders take besides the captured ones.
pub const SCRIPT_PLACEHOLDERS: [&str; 6] = ["username", "password", "client_id", "scope", "redirect_uri", "state"];

mod optional_regex {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<regex::Regex>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| regex::Regex::new(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

mod required_regex {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<regex::Regex, D::Error> {
        regex::Regex::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The scopes the flows request, for servers that name theirs differently.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scopes {
    /// A grant that yields a refresh token.
    pub refresh: String,
    /// A scope besides `openid` the clients may request (narrowed away on refresh; requested
    /// without `openid` to prove Implicit is OpenID-only).
    pub additional: String,
    /// A scope the server knows that the refresh grant did not include (widening is refused).
    pub not_granted: String,
}

impl Default for Scopes {
    fn default() -> Scopes {
        Scopes { refresh: "openid offline_access".into(), additional: "email".into(), not_granted: "profile".into() }
    }
}

/// The members the `claims` request parameter probes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsProbe {
    /// A claim the test user has, requested for the ID token.
    pub member: String,
}

impl Default for ClaimsProbe {
    fn default() -> ClaimsProbe {
        ClaimsProbe { member: "email".into() }
    }
}

/// Parameters added to authorization requests, for providers that need one to continue or to
/// pick a tenant. A check's own parameter of the same name wins.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeConfig {
    #[serde(default)]
    pub extra: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A confidential client with the authorization code grant (and refresh tokens).
    pub confidential: Option<Registration>,
    /// A second confidential client, to prove codes and tokens are bound to their client.
    pub other_confidential: Option<Registration>,
    /// A public client (PKCE required).
    pub public: Option<Registration>,
    /// A client allowed the Implicit flow (`id_token`, `id_token token`).
    pub implicit: Option<Registration>,
    /// A client with the client credentials grant.
    pub service: Option<Registration>,
    pub user: Option<TestUser>,
    pub login: LoginConfig,
    /// Values filled into extra login fields, resolved from the environment.
    pub extra_fields: BTreeMap<String, Secret>,
    pub authorize: AuthorizeConfig,
    pub scopes: Scopes,
    pub claims: ClaimsProbe,
    /// Origins besides the issuer's that belong to the provider: the password and client
    /// secrets may be sent there (a login host, a token host).
    pub origins: Vec<String>,
    /// Endpoints the suites use instead of discovery's (the discovery checks still judge the
    /// published document).
    pub endpoints: BTreeMap<String, String>,
    /// The clients registered for integration packs (`[integrations.NAME]`): the app a vendor
    /// set up for that relying party, by pack name. A registration whose secret's environment
    /// variable is not set is the sentence saying so: only `certify` of that pack needs it, so
    /// the file still serves every other run.
    pub integrations: BTreeMap<String, Result<Registration, String>>,
}

impl Target {
    /// Every secret of the target, for the redactor.
    pub fn secrets(&self) -> Vec<String> {
        let regs = [&self.confidential, &self.other_confidential, &self.public, &self.implicit, &self.service];
        let regs = regs.into_iter().flatten().chain(self.integrations.values().filter_map(|r| r.as_ref().ok()));
        let client_secrets = regs.filter_map(|r| r.secret.as_ref()).map(|s| s.expose().to_string());
        let user = self.user.iter().flat_map(|u| std::iter::once(&u.password).chain(&u.totp)).map(|s| s.expose().to_string());
        let extra = self.extra_fields.values().map(|s| s.expose().to_string());
        client_secrets.chain(user).chain(extra).collect()
    }

    /// The embedded reference server's target: `targets/reference-server.toml`, with secrets
    /// taken from the server's configuration instead of the environment.
    pub fn embedded(config: &reference_server::Config) -> Target {
        // The embedded file is checked by a unit test; a broken build-time file is a bug.
        let (text, name) = if config.variants.contains(&reference_server::variants::Variant::LoginApi) {
            (EMBEDDED_LOGIN_API, "targets/reference-server-login-api.toml")
        } else {
            (EMBEDDED, "targets/reference-server.toml")
        };
        let mut target = Target::parse(text, name, |_| Some("from-config".into())).expect("embedded target file");
        for reg in [&mut target.confidential, &mut target.other_confidential, &mut target.public, &mut target.implicit, &mut target.service]
            .into_iter()
            .flatten()
            .chain(target.integrations.values_mut().filter_map(|r| r.as_mut().ok()))
        {
            reg.secret = config.client(&reg.client_id).and_then(|c| c.client_secret.clone()).map(Secret::new);
        }
        if let Some(user) = &mut target.user {
            let configured = config.user_by_username(&user.username);
            user.password = Secret::new(configured.map(|u| u.password.clone()).unwrap_or_default());
            user.totp = configured.and_then(|u| u.totp_secret.clone()).map(Secret::new);
        }
        target
    }

    /// Reads a target file and resolves its environment variables; a problem is one sentence
    /// naming the setting to fix.
    pub fn from_file(path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Target, TargetError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TargetError(format!("cannot read target file {origin}: {e}")))?;
        Target::parse(&text, &origin, env)
    }

    fn parse(text: &str, origin: &str, env: impl Fn(&str) -> Option<String>) -> Result<Target, TargetError> {
        let file: TargetFile = toml::from_str(text).map_err(|e| TargetError(format!("target file {origin}: {e}")))?;
        let secret = |key: &str, var: &Option<String>| -> Result<Option<Secret>, TargetError> {
            match var {
                None => Ok(None),
                Some(var) => match env(var) {
                    Some(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
                    // Set but empty is a different mistake from unset (a CI secret that did not
                    // reach the job): said as it is.
                    Some(_) => {
                        Err(TargetError(format!("target file {origin}: `{key}` names the environment variable {var}, which is empty")))
                    }
                    None => {
                        Err(TargetError(format!("target file {origin}: `{key}` names the environment variable {var}, which is not set")))
                    }
                },
            }
        };
        let reg = |name: &str, r: &Option<RegistrationFile>| -> Result<Option<Registration>, TargetError> {
            let Some(r) = r else { return Ok(None) };
            let secret = secret(&format!("{name}.secret_env"), &r.secret_env)?;
            let auth_method = r.auth_method.unwrap_or(if secret.is_some() { AuthMethod::ClientSecretBasic } else { AuthMethod::None });
            if auth_method != AuthMethod::None && secret.is_none() {
                return Err(TargetError(format!("target file {origin}: `{name}` authenticates with a secret: set secret_env")));
            }
            Ok(Some(Registration {
                client_id: r.client_id.clone(),
                secret,
                auth_method,
                redirect_uri: r.redirect_uri.clone(),
                scope: r.scope.clone(),
                resource: r.resource.clone(),
                authorize_extra: r.authorize.extra.clone(),
            }))
        };
        let user = match &file.user {
            None => None,
            Some(u) => {
                let totp = secret("user.totp_secret_env", &u.totp_secret_env)?;
                if totp.as_ref().is_some_and(|t| reference_server::totp::decode_secret(t.expose()).is_none()) {
                    return Err(TargetError(format!(
                        "target file {origin}: the TOTP secret in user.totp_secret_env is not base32 (RFC 4648), as authenticator apps show it"
                    )));
                }
                Some(TestUser {
                    username: u.username.clone(),
                    password: secret("user.password_env", &Some(u.password_env.clone()))?.unwrap_or_else(|| Secret::new("")),
                    totp,
                })
            }
        };
        let mut extra_fields = BTreeMap::new();
        for (field, var) in &file.login.extra_field_env {
            if let Some(value) = secret(&format!("login.extra_field_env.{field}"), &Some(var.clone()))? {
                extra_fields.insert(field.clone(), value);
            }
        }
        check_script(&file.login).map_err(|e| TargetError(format!("target file {origin}: {e}")))?;
        let mut origins = Vec::new();
        for o in &file.origins {
            let parsed = url::Url::parse(o).map_err(|e| TargetError(format!("target file {origin}: `origins` entry {o}: {e}")))?;
            origins.push(parsed.origin().ascii_serialization());
        }
        Ok(Target {
            confidential: reg("clients.confidential", &file.clients.confidential)?,
            other_confidential: reg("clients.other_confidential", &file.clients.other_confidential)?,
            public: reg("clients.public", &file.clients.public)?,
            implicit: reg("clients.implicit", &file.clients.implicit)?,
            service: reg("clients.service", &file.clients.service)?,
            user,
            login: file.login,
            extra_fields,
            authorize: file.authorize,
            scopes: file.scopes,
            claims: file.claims,
            origins,
            endpoints: check_endpoints(&file.endpoints).map_err(|e| TargetError(format!("target file {origin}: {e}")))?,
            integrations: file
                .integrations
                .iter()
                .map(|(name, r)| {
                    let registration = reg(&format!("integrations.{name}"), &Some(r.clone())).map(|r| r.expect("given"));
                    (name.clone(), registration.map_err(|e| e.0))
                })
                .collect(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    #[serde(default)]
    clients: ClientsFile,
    user: Option<UserFile>,
    #[serde(default)]
    login: LoginConfig,
    #[serde(default)]
    authorize: AuthorizeConfig,
    #[serde(default)]
    scopes: Scopes,
    #[serde(default)]
    claims: ClaimsProbe,
    #[serde(default)]
    origins: Vec<String>,
    #[serde(default)]
    endpoints: BTreeMap<String, String>,
    #[serde(default)]
    integrations: BTreeMap<String, RegistrationFile>,
}

/// `[endpoints]`: metadata members naming an endpoint (`…_endpoint`, `jwks_uri`), each a URL.
fn check_endpoints(endpoints: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    for (member, value) in endpoints {
        if !(member.ends_with("_endpoint") || member == "jwks_uri") {
            return Err(format!("`endpoints.{member}` is not an endpoint member (…_endpoint or jwks_uri)"));
        }
        url::Url::parse(value).map_err(|e| format!("`endpoints.{member}` {value}: {e}"))?;
    }
    Ok(endpoints.clone())
}

/// The login script's shape, checked when the file is read: every placeholder names a built-in
/// value or one captured earlier, and only the last step continues the authorization.
fn check_script(login: &LoginConfig) -> Result<(), String> {
    let mut known: Vec<String> = SCRIPT_PLACEHOLDERS.iter().map(|s| s.to_string()).collect();
    known.extend(login.capture.keys().cloned());
    for (n, step) in login.steps.iter().enumerate() {
        let at = format!("login.step[{n}]");
        match (&step.url, step.continue_authorization) {
            (None, false) => return Err(format!("`{at}` needs a url (or continue_authorization = true)")),
            (Some(_), true) => return Err(format!("`{at}` continues the authorization: it takes params, not a url")),
            _ => {}
        }
        if step.continue_authorization && n + 1 != login.steps.len() {
            return Err(format!("`{at}` continues the authorization, so it must be the last step"));
        }
        if step.browse && (step.continue_authorization || n + 1 != login.steps.len()) {
            return Err(format!("`{at}.browse` is for the last step, and not with continue_authorization"));
        }
        if !step.params.is_empty() && !step.continue_authorization {
            return Err(format!("`{at}.params` is only for continue_authorization; put query parameters in the url"));
        }
        if step.json.is_some() && step.form.is_some() {
            return Err(format!("`{at}` has both a json and a form body"));
        }
        if let Some(m) = &step.method
            && reqwest::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).is_err()
        {
            return Err(format!("`{at}.method` {m} is not an HTTP method"));
        }
        let mut texts: Vec<String> = step.url.iter().cloned().collect();
        texts.extend(step.headers.values().cloned());
        texts.extend(step.form.iter().flat_map(|f| f.values().cloned()));
        texts.extend(step.params.values().cloned());
        texts.extend(step.json.as_ref().map(|j| j.to_string()));
        for text in &texts {
            for name in placeholders(text) {
                if !known.iter().any(|k| k == name) {
                    return Err(format!(
                        "`{at}` uses {{{name}}}, which is neither one of {} nor captured by an earlier step",
                        SCRIPT_PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ));
                }
            }
        }
        known.extend(step.capture.keys().cloned());
    }
    Ok(())
}

/// The `{name}` placeholders in `text` (a name is a letter or underscore, then letters, digits
/// or underscores: JSON's own braces never match).
pub fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    static PLACEHOLDER: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("placeholder pattern"));
    PLACEHOLDER.captures_iter(text).filter_map(|c| c.get(1)).map(|m| m.as_str())
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    confidential: Option<RegistrationFile>,
    other_confidential: Option<RegistrationFile>,
    public: Option<RegistrationFile>,
    implicit: Option<RegistrationFile>,
    service: Option<RegistrationFile>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationFile {
    client_id: String,
    secret_env: Option<String>,
    auth_method: Option<AuthMethod>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
    #[serde(default)]
    authorize: AuthorizeConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    username: String,
    password_env: String,
    totp_secret_env: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[clients.confidential]
client_id = "web"
secret_env = "WEB_SECRET"
redirect_uri = "https://rp.test/cb"

[clients.public]
client_id = "spa"
redirect_uri = "https://spa.test/cb"

[user]
username = "alice"
password_env = "ALICE_PASSWORD"
"#;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("oidc-harness-target-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let env = |var: &str| match var {
            "WEB_SECRET" => Some("w3b-s3cret".to_string()),
            "ALICE_PASSWORD" => Some("pa55word".to_string()),
            _ => None,
        };
        let target = Target::from_file(&write("env", FILE), env).unwrap();
        let web = target.confidential.as_ref().unwrap();
        assert_eq!(web.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(web.secret.as_ref().unwrap().expose(), "w3b-s3cret");
        assert_eq!(target.public.as_ref().unwrap().auth_method, AuthMethod::None);
        let debug = format!("{target:?}");
        assert!(!debug.contains("w3b-s3cret") && !debug.contains("pa55word"), "{debug}");
        assert_eq!(target.secrets().len(), 2);
    }

    #[test]
    fn the_embedded_target_gets_its_secrets_from_the_server_config() {
        let target = Target::embedded(&reference_server::Config::default());
        assert_eq!(target.confidential.as_ref().unwrap().secret.as_ref().unwrap().expose(), "web-app-secret");
        assert_eq!(target.other_confidential.as_ref().unwrap().auth_method, AuthMethod::ClientSecretPost);
        assert!(target.public.as_ref().unwrap().secret.is_none());
        assert_eq!(target.user.as_ref().unwrap().password.expose(), "bob-password");
    }

    #[test]
    fn the_login_api_variant_gets_the_target_file_with_its_login_script() {
        use reference_server::variants::Variant;
        let config = reference_server::Config { variants: vec![Variant::LoginApi], ..Default::default() };
        let target = Target::embedded(&config);
        assert_eq!(target.login.steps.len(), 2);
        assert!(target.login.script_at.as_ref().unwrap().is_match("http://127.0.0.1:1/api/oidc/login?interaction=x"));
        assert!(Target::embedded(&reference_server::Config::default()).login.steps.is_empty());
    }

    #[test]
    fn an_empty_variable_is_called_empty() {
        let empty = |_: &str| Some(String::new());
        let err = Target::from_file(&write("empty", FILE), empty).unwrap_err().to_string();
        assert!(err.contains("names the environment variable ALICE_PASSWORD, which is empty"), "{err}");
    }

    #[test]
    fn a_missing_variable_is_named() {
        let only_password = |var: &str| (var == "ALICE_PASSWORD").then(|| "pa55word".to_string());
        let err = Target::from_file(&write("missing", FILE), only_password).unwrap_err().to_string();
        assert!(err.contains("`clients.confidential.secret_env` names the environment variable WEB_SECRET, which is not set"), "{err}");
    }

    #[test]
    fn an_integration_registration_without_its_secret_is_kept_as_the_reason() {
        let text = "[integrations.salesforce]\nclient_id = \"sf\"\nsecret_env = \"SF_SECRET\"\nauth_method = \"client_secret_post\"\n\
                    [integrations.generic]\nclient_id = \"g\"\nsecret_env = \"G_SECRET\"\n";
        let target = Target::parse(text, "t.toml", |var| (var == "G_SECRET").then(|| "g-secret".to_string())).expect("the file is usable");
        let why = target.integrations["salesforce"].as_ref().expect_err("no secret");
        assert!(why.contains("integrations.salesforce.secret_env") && why.contains("SF_SECRET"), "{why}");
        let generic = target.integrations["generic"].as_ref().expect("resolved");
        assert_eq!((generic.client_id.as_str(), generic.auth_method), ("g", AuthMethod::ClientSecretBasic));
        assert!(target.secrets().contains(&"g-secret".to_string()), "integration secrets are redacted too");
    }

    #[test]
    fn every_key_is_documented_and_every_example_parses() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/TARGET.md")).unwrap();
        let examples: Vec<&str> = doc.split("```toml\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
        assert!(examples.len() >= 7, "the examples of docs/TARGET.md");
        for example in &examples {
            Target::parse(example, "docs/TARGET.md", |_| Some("from-env".into())).unwrap_or_else(|e| panic!("{e}\n{example}"));
        }
        let tables = [
            "zz = 1",
            "[clients]\nzz = 1",
            "[clients.confidential]\nclient_id = \"x\"\nzz = 1",
            "[clients.confidential]\nclient_id = \"x\"\nauthorize.zz = 1",
            "[user]\nusername = \"u\"\npassword_env = \"P\"\nzz = 1",
            "[authorize]\nzz = 1",
            "[scopes]\nzz = 1",
            "[claims]\nzz = 1",
            "[login]\nzz = 1",
            "[[login.step]]\nzz = 1",
        ];
        for probe in tables {
            for key in crate::doc_keys::accepted_keys::<TargetFile>(probe) {
                assert!(crate::doc_keys::documents(&doc, &key), "`{key}` (accepted in `{probe}`) is not documented in docs/TARGET.md");
            }
        }
        for capture in crate::doc_keys::accepted_keys::<TargetFile>("[login]\ncapture = { a = { zz = \"x\" } }") {
            assert!(doc.contains(&format!("`{{ {capture} = ")), "capture `{capture}` is not documented in docs/TARGET.md");
        }
    }

    #[test]
    fn a_login_script_is_checked_when_the_file_is_read() {
        let parse = |login: &str| Target::parse(login, "t.toml", |_| Some("x".into())).map(|_| ()).map_err(|e| e.to_string());
        let unknown = parse("[[login.step]]\nurl = \"/api/{tenant}/login\"\n").unwrap_err();
        assert!(unknown.contains("`login.step[0]` uses {tenant}, which is neither one of {username}"), "{unknown}");
        let later = parse("[[login.step]]\nurl = \"/a?x={flow}\"\n[[login.step]]\nurl = \"/b\"\ncapture = { flow = { json = \"/id\" } }\n");
        assert!(later.unwrap_err().contains("uses {flow}"), "a value captured by a later step is not there yet");
        assert!(
            parse("[[login.step]]\nurl = \"/a\"\ncapture = { flow = { json = \"/id\" } }\n[[login.step]]\nurl = \"/b/{flow}\"\n").is_ok()
        );
        let early = parse("[[login.step]]\ncontinue_authorization = true\n[[login.step]]\nurl = \"/b\"\n").unwrap_err();
        assert!(early.contains("must be the last step"), "{early}");
        assert!(parse("[[login.step]]\nmethod = \"GET\"\n").unwrap_err().contains("needs a url"));
        assert!(parse("[login]\nscript_at = \"(\"\n").unwrap_err().contains("script_at"));
        assert!(parse("[[login.step]]\nurl = \"/a\"\ncapture = { x = { regex = \"[\" } }\n").unwrap_err().contains("regex"));
        assert!(parse("[[login.step]]\nurl = \"/a\"\nmethod = \"GE T\"\n").unwrap_err().contains("not an HTTP method"));
        assert!(parse("origins = [\"not a url\"]\n").unwrap_err().contains("`origins` entry"));
        // JSON's own braces are not placeholders.
        assert!(parse("[[login.step]]\nurl = \"/a\"\njson = { raw = \"{}\", n = \"{ x }\" }\n").is_ok());
    }
}
