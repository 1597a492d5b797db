//! What a user authorised, and what was issued from it: codes and grants.

pub type GrantId = u64;

/// What the user authorised: the basis of codes, tokens and refresh tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub client_id: String,
    pub sub: String,
    pub scope: Vec<String>,
    /// The resource servers the grant covers (RFC 8707 §2.1); each access token is for one.
    pub resources: Vec<String>,
    pub auth_time: u64,
    /// The request's `max_age`: with it, `auth_time` is REQUIRED in ID tokens (OIDC Core §2).
    pub max_age: Option<u64>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub org_id: Option<String>,
    pub claims: Option<crate::model::claims::ClaimsRequest>,
}

#[derive(Debug, Clone)]
pub struct Code {
    pub authz: Authorization,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub expires: u64,
    /// The grant created when the code was redeemed; a second redemption revokes it
    /// (RFC 6749 §4.1.2).
    pub redeemed: Option<GrantId>,
}

/// Tokens issued from one authorization: one refresh-token family and its access tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub authz: Authorization,
    pub created: u64,
    /// When the grant ends as created; the store extends it to its longest-lived token (its
    /// expiry index is the one home of the current end).
    pub expires: u64,
}
