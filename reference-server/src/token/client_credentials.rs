//! The client credentials grant (RFC 6749 §4.4) with `audience` / `resource` (RFC 8707).

use super::{signing_failed, token_response};
use crate::config::Client;
use crate::error::OAuthError;
use crate::provider::Provider;
use crate::util::space_list;
use crate::variants::Variant;
use crate::web::params::Params;
use axum::http::StatusCode;
use serde_json::{Map, Value};

pub fn issue(provider: &Provider, client: &Client, form: &Params) -> Result<Map<String, Value>, OAuthError> {
    let target_error = |(error, description): (&'static str, String)| OAuthError::new(StatusCode::BAD_REQUEST, error, description);
    let resource = crate::rules::targets::for_client(provider, client, form).map_err(target_error)?;
    let requested = space_list(form.get("scope"));
    let mut scope = granted_scope(provider, client, resource.as_deref(), &requested)?;
    // The fault: the token carries every scope of the client while the response says only what
    // was asked (RFC 6749 §5.1 wants a different granted scope named).
    let named = scope.clone();
    if provider.has(crate::faults::Fault::CcScopeWidened) {
        scope.clone_from(&client.scopes);
    }
    // RFC 6749 §4.4.3: no refresh token for client credentials.
    let access = provider.mint_access_token(client, None, &scope, resource.as_deref()).map_err(signing_failed)?;
    Ok(token_response(provider, access.token, &named, &requested))
}

/// RFC 6749 §3.3: the scope must be the client's and, with a resource server as audience,
/// defined by it; else `invalid_scope`. The server may also grant another scope than the one
/// requested, if the response names it: the `unknown-scope-dropped` variant drops what it
/// would refuse, the `cc-default-scopes-added` variant adds the audience's default scope.
fn granted_scope(provider: &Provider, client: &Client, resource: Option<&str>, requested: &[String]) -> Result<Vec<String>, OAuthError> {
    let invalid_scope = |description: String| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", description);
    let server = resource.and_then(|r| provider.config.resource_server(r));
    let allowed = |s: &String| client.scopes.contains(s) && server.is_none_or(|rs| rs.scopes.contains(s));
    let mut scope = requested.to_vec();
    if provider.has_variant(Variant::UnknownScopeDropped) {
        scope.retain(allowed);
        if scope.is_empty() && !requested.is_empty() {
            return Err(invalid_scope("none of the requested scopes is allowed for this client".into()));
        }
    }
    if let Some(s) = scope.iter().find(|s| !client.scopes.contains(s)) {
        return Err(invalid_scope(format!("scope {s} is not allowed for this client")));
    }
    if let Some(server) = server
        && let Some(s) = scope.iter().find(|s| !server.scopes.contains(s))
    {
        return Err(invalid_scope(format!("scope {s} is not defined by resource server {}", server.identifier)));
    }
    // The audience's first scope is its default, granted whenever the client may use it.
    if let Some(default) = server.and_then(|rs| rs.scopes.first()).filter(|_| provider.has_variant(Variant::CcDefaultScopesAdded))
        && allowed(default)
        && !scope.contains(default)
    {
        scope.push(default.clone());
    }
    Ok(scope)
}
