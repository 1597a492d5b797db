//! A profile: what a target claims to support (flows, parameters, features, lifetimes). The
//! conformance suites read it to decide which checks apply and what each one expects.

mod lint;
mod values;
mod variants;

pub use lint::{Level, lint};
pub use variants::for_variant;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The IDaaS profile, embedded so the binary works from any directory.
pub const IDAAS: &str = include_str!("../../../profiles/idaas.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub flows: Flows,
    pub features: Features,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub source: Source,
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterRule>,
    #[serde(default, rename = "resolution")]
    pub resolutions: Vec<Resolution>,
    /// The deployment's own authorization request parameters, beyond the standard ones, that
    /// `[parameters]` may name.
    #[serde(default)]
    pub extension_parameters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Implicit {
    No,
    OidcOnly,
    Yes,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flows {
    pub authorization_code: bool,
    #[serde(default)]
    pub pkce_methods: Vec<String>,
    pub implicit: Implicit,
    #[serde(default)]
    pub implicit_deprecated: bool,
    pub client_credentials: bool,
    pub refresh_tokens: bool,
    #[serde(default)]
    pub refresh_rotation: bool,
    pub response_modes: Vec<String>,
    pub token_endpoint_auth_methods: Vec<String>,
    pub id_token_signing_algs: Vec<String>,
    /// Public clients must send a code_challenge (refused otherwise). RFC 9700 §2.1.1 obliges the
    /// client; a server enforcing it is the deployment's choice, which most make.
    #[serde(default = "yes")]
    pub pkce_required_for_public: bool,
    /// Confidential clients must send a code_challenge too (RFC 9700 §2.1.1 recommends PKCE for
    /// them; some deployments enforce it).
    #[serde(default)]
    pub pkce_required_for_confidential: bool,
    /// A reused (rotated-out) refresh token revokes the grant's newer tokens (RFC 9700 §4.14.2).
    /// When absent, the same as `refresh_rotation`: a rotating server that detects no reuse says
    /// `false`.
    #[serde(default)]
    pub refresh_reuse_detection: Option<bool>,
    #[serde(default)]
    pub authorization_response_iss: bool,
    #[serde(default)]
    pub access_token_format: AccessTokenFormat,
}

fn yes() -> bool {
    true
}

impl Flows {
    /// Whether reuse of a rotated-out refresh token revokes the newer ones.
    pub fn detects_refresh_reuse(&self) -> bool {
        self.refresh_rotation && self.refresh_reuse_detection.unwrap_or(true)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenFormat {
    /// RFC 9068 JWT access tokens.
    Jwt,
    #[default]
    Opaque,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Features {
    pub introspection: bool,
    pub dynamic_registration: bool,
    pub token_encryption: bool,
    pub revocation: bool,
    pub end_session: bool,
    #[serde(default)]
    pub jwks_x5c: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Live token grants per user per application; the oldest is dropped beyond it.
    pub max_tokens_per_user_per_application: Option<usize>,
}

/// The source document's own lists, verbatim: lint compares them with the rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    #[serde(default)]
    pub supported_parameters: Vec<String>,
    #[serde(default)]
    pub unsupported_parameters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterRule {
    /// The server acts on it.
    Honoured,
    /// Accepted and without effect.
    Ignored,
    /// Answered with `invalid_request`.
    Rejected,
    IgnoredOrRejected,
}

impl ParameterRule {
    /// The rule as the profile file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterRule::Honoured => "honoured",
            ParameterRule::Ignored => "ignored",
            ParameterRule::Rejected => "rejected",
            ParameterRule::IgnoredOrRejected => "ignored-or-rejected",
        }
    }
}

/// How a contradiction in the source was settled, and why.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub parameter: String,
    pub rule: ParameterRule,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// (`error`, not `source`: the message says it, and a chain printed with `{:#}` would say it twice.)
    #[error("cannot read profile {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("profile {path}: {message}")]
    Parse { path: String, message: String },
}

impl Profile {
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let error = |message: String| ProfileError::Parse { path: origin.to_string(), message };
        let profile: Profile = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        values::check(&profile).map_err(error)?;
        Ok(profile)
    }

    pub fn from_file(path: &Path) -> Result<Profile, ProfileError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ProfileError::Read { path: origin.clone(), error })?;
        Profile::parse(&text, &origin)
    }

    pub fn idaas() -> Profile {
        // The embedded profile is checked by a unit test; a broken build-time file is a bug.
        Profile::parse(IDAAS, "profiles/idaas.toml").expect("the embedded IDaaS profile parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_idaas_profile_parses() {
        let p = Profile::idaas();
        assert_eq!(p.name, "idaas");
        assert_eq!(p.flows.implicit, Implicit::OidcOnly);
        assert!(!p.features.introspection);
        assert_eq!(p.parameters["acr_values"], ParameterRule::Honoured);
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = IDAAS.replace("introspection = false", "introspecton = false");
        let err = Profile::parse(&text, "p.toml").unwrap_err().to_string();
        assert!(err.contains("introspecton"), "{err}");
    }

    #[test]
    fn every_key_is_documented_and_every_example_parses() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/PROFILE.md")).unwrap();
        let examples: Vec<&str> = doc.split("```toml\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
        assert_eq!(examples.len(), 3, "the examples of docs/PROFILE.md");
        for example in examples {
            Profile::parse(example, "docs/PROFILE.md").unwrap_or_else(|e| panic!("{e}\n{example}"));
        }
        for probe in ["zz = 1", "[flows]\nzz = 1", "[features]\nzz = 1", "[limits]\nzz = 1", "[source]\nzz = 1", "[[resolution]]\nzz = 1"] {
            for key in crate::doc_keys::accepted_keys::<Profile>(probe) {
                assert!(crate::doc_keys::documents(&doc, &key), "`{key}` (accepted in `{probe}`) is not documented in docs/PROFILE.md");
            }
        }
    }
}
