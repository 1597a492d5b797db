//! The authorization request as the endpoints and the store keep it, once validated
//! (`authorize::request` validates it), and where its answer goes.

use crate::model::claims::ClaimsRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `code` (RFC 6749 §4.1).
    Code,
    /// `id_token` (OIDC Core §3.2, Implicit, deprecated by RFC 9700 §2.1.2).
    IdToken,
    /// `id_token token` (OIDC Core §3.2).
    IdTokenToken,
}

impl ResponseType {
    pub fn is_implicit(self) -> bool {
        self != ResponseType::Code
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    /// OAuth 2.0 Form Post Response Mode §2.
    FormPost,
}

/// `prompt` values (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// S256 challenge (the only method supported).
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// Requested ACR values, in order of preference: from `claims.id_token.acr` when present,
    /// else `acr_values` (OIDC Core §5.5.1.1).
    pub acr_values: Vec<String>,
    /// The `acr` was requested as an essential claim: failing to meet it fails the login.
    pub acr_essential: bool,
    pub amr_values: Vec<String>,
    pub claims: Option<ClaimsRequest>,
    /// RFC 8707 §2.1: the resource servers the grant will cover, in order, without repeats.
    pub resources: Vec<String>,
    pub org_id: Option<String>,
    /// Microsoft Entra's request as an External Authentication Method: whom its verified
    /// `id_token_hint` names (`entra`); set by the authorization endpoint, never by a parameter.
    pub entra: Option<EntraLogin>,
}

/// The user an Entra `id_token_hint` names, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraLogin {
    /// Entra's `sub` for the user, which the ID token answers with.
    pub hint_sub: String,
    /// This server's account for the user (its `sub`).
    pub user_sub: String,
}

impl AuthRequest {
    pub fn is_oidc(&self) -> bool {
        self.scope.iter().any(|s| s == "openid")
    }

    /// The scope as one space-delimited string (RFC 6749 §3.3).
    pub fn scope_string(&self) -> String {
        self.scope.join(" ")
    }

    /// OIDC Core §3.1.2.2 and §5.5.1: when `claims` asks for the ID token's `sub` with a
    /// specific `value` (or one of `values`), only that End-User may be answered for: "The
    /// Authorization Server MUST NOT reply with an ID Token or Access Token for a different
    /// user, even if they have an active session". Without such a request, anyone.
    pub fn accepts_subject(&self, sub: &str) -> bool {
        let Some(spec) = self.claims.as_ref().and_then(|c| c.id_token.get("sub")) else { return true };
        spec.values.is_empty() || spec.values.iter().any(|v| v.as_str() == Some(sub))
    }
}

/// Where an error or a result is delivered once the redirect URI is trusted.
#[derive(Debug, Clone)]
pub struct ReplyTo {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}
