//! The target: which client registrations and test user to use, and how to log in. Secrets come
//! from environment variables named in the target file, never from the file itself; for the
//! embedded reference server they come from its built-in configuration.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The target file of the embedded reference server's default configuration.
const EMBEDDED: &str = include_str!("../../targets/reference-server.toml");

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

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
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub username: String,
    pub password: Secret,
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
    /// A JSON login API: requests run in the browser (sharing its cookies) before the
    /// authorization request, for targets whose login page is a script, not a form.
    #[serde(default, rename = "json_request")]
    pub json_requests: Vec<JsonRequest>,
}

/// One request of a JSON login API. In `body`, the strings `{username}` and `{password}` are
/// replaced by the test user's credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRequest {
    #[serde(default = "post")]
    pub method: String,
    /// Absolute, or a path on the issuer's origin.
    pub url: String,
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

fn post() -> String {
    "POST".into()
}

#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A confidential client with the authorization code grant (and refresh tokens).
    pub confidential: Option<Registration>,
    /// A second confidential client, to prove codes and tokens are bound to their client.
    pub other_confidential: Option<Registration>,
    /// A public client (PKCE required).
    pub public: Option<Registration>,
    /// A client with the client credentials grant.
    pub service: Option<Registration>,
    pub user: Option<TestUser>,
    pub login: LoginConfig,
    /// Values filled into extra login fields, resolved from the environment.
    pub extra_fields: BTreeMap<String, Secret>,
}

impl Target {
    /// Every secret of the target, for the redactor.
    pub fn secrets(&self) -> Vec<String> {
        let regs = [&self.confidential, &self.other_confidential, &self.public, &self.service];
        let client_secrets = regs.into_iter().flatten().filter_map(|r| r.secret.as_ref()).map(|s| s.expose().to_string());
        let user = self.user.iter().map(|u| u.password.expose().to_string());
        let extra = self.extra_fields.values().map(|s| s.expose().to_string());
        client_secrets.chain(user).chain(extra).collect()
    }

    /// The embedded reference server's target: `targets/reference-server.toml`, with secrets
    /// taken from the server's configuration instead of the environment.
    pub fn embedded(config: &reference_server::Config) -> Target {
        // The embedded file is checked by a unit test; a broken build-time file is a bug.
        let mut target =
            Target::parse(EMBEDDED, "targets/reference-server.toml", |_| Some("from-config".into())).expect("embedded target file");
        for reg in [&mut target.confidential, &mut target.other_confidential, &mut target.public, &mut target.service].into_iter().flatten()
        {
            reg.secret = config.client(&reg.client_id).and_then(|c| c.client_secret.clone()).map(Secret::new);
        }
        if let Some(user) = &mut target.user {
            user.password = Secret::new(config.user_by_username(&user.username).map(|u| u.password.clone()).unwrap_or_default());
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
                Some(var) => env(var).filter(|v| !v.is_empty()).map(|v| Some(Secret::new(v))).ok_or_else(|| {
                    TargetError(format!("target file {origin}: `{key}` names the environment variable {var}, which is not set"))
                }),
            }
        };
        let reg = |name: &str, r: &Option<RegistrationFile>| -> Result<Option<Registration>, TargetError> {
            let Some(r) = r else { return Ok(None) };
            let secret = secret(&format!("clients.{name}.secret_env"), &r.secret_env)?;
            let auth_method = r.auth_method.unwrap_or(if secret.is_some() { AuthMethod::ClientSecretBasic } else { AuthMethod::None });
            if auth_method != AuthMethod::None && secret.is_none() {
                return Err(TargetError(format!("target file {origin}: `clients.{name}` authenticates with a secret: set secret_env")));
            }
            Ok(Some(Registration {
                client_id: r.client_id.clone(),
                secret,
                auth_method,
                redirect_uri: r.redirect_uri.clone(),
                scope: r.scope.clone(),
                resource: r.resource.clone(),
            }))
        };
        let user = match &file.user {
            None => None,
            Some(u) => Some(TestUser {
                username: u.username.clone(),
                password: secret("user.password_env", &Some(u.password_env.clone()))?.unwrap_or_else(|| Secret::new("")),
            }),
        };
        let mut extra_fields = BTreeMap::new();
        for (field, var) in &file.login.extra_field_env {
            if let Some(value) = secret(&format!("login.extra_field_env.{field}"), &Some(var.clone()))? {
                extra_fields.insert(field.clone(), value);
            }
        }
        Ok(Target {
            confidential: reg("confidential", &file.clients.confidential)?,
            other_confidential: reg("other_confidential", &file.clients.other_confidential)?,
            public: reg("public", &file.clients.public)?,
            service: reg("service", &file.clients.service)?,
            user,
            login: file.login,
            extra_fields,
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
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    confidential: Option<RegistrationFile>,
    other_confidential: Option<RegistrationFile>,
    public: Option<RegistrationFile>,
    service: Option<RegistrationFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationFile {
    client_id: String,
    secret_env: Option<String>,
    auth_method: Option<AuthMethod>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    username: String,
    password_env: String,
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
    fn a_missing_variable_is_named() {
        let only_password = |var: &str| (var == "ALICE_PASSWORD").then(|| "pa55word".to_string());
        let err = Target::from_file(&write("missing", FILE), only_password).unwrap_err().to_string();
        assert!(err.contains("`clients.confidential.secret_env` names the environment variable WEB_SECRET, which is not set"), "{err}");
    }
}
