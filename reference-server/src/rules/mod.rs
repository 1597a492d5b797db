//! The protocol's rules, one home each, used by every endpoint that applies them: client
//! authentication, bearer credentials, PKCE, scopes, resource targets (RFC 8707), the `claims`
//! parameter and which claims are released, remembered consent, and the authentication a login
//! must perform. Each takes the `Settings` (or less), never an endpoint's types.

pub mod authentication;
pub mod bearer;
pub mod claims;
pub mod client_auth;
pub mod consent;
pub mod pkce;
pub mod scopes;
pub mod targets;
