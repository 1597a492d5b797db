//! The client credentials grant (RFC 6749 §4.4) with `audience` / `resource` (RFC 8707).

use super::{signing_failed, token_response};
use crate::authorize::request::check_target;
use crate::config::Client;
use crate::error::OAuthError;
use crate::params::Params;
use crate::provider::Provider;
use crate::util::space_list;
use axum::http::StatusCode;
use serde_json::{Map, Value};

pub fn issue(provider: &Provider, client: &Client, form: &Params) -> Result<Map<String, Value>, OAuthError> {
    let target_error = |(error, description): (&'static str, String)| OAuthError::new(StatusCode::BAD_REQUEST, error, description);
    let ignored = provider.has(crate::faults::Fault::AudienceIgnored);
    let resource = match (form.get("resource").filter(|_| !ignored), form.get("audience").filter(|_| !ignored)) {
        (Some(r), Some(a)) if r != a => return Err(OAuthError::invalid_request("audience and resource name different targets")),
        (Some(r), _) | (None, Some(r)) => Some(check_target(provider, client, r).map_err(target_error)?),
        (None, None) => client.default_resource.clone(),
    };
    let mut scope = space_list(form.get("scope"));
    let invalid_scope = |description: String| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", description);
    if let Some(s) = scope.iter().find(|s| !client.scopes.contains(s)) {
        return Err(invalid_scope(format!("scope {s} is not allowed for this client")));
    }
    if let Some(server) = resource.as_deref().and_then(|r| provider.config.resource_server(r))
        && let Some(s) = scope.iter().find(|s| !server.scopes.contains(s))
    {
        return Err(invalid_scope(format!("scope {s} is not defined by resource server {}", server.identifier)));
    }
    if provider.has(crate::faults::Fault::CcScopeWidened) {
        scope.clone_from(&client.scopes);
    }
    // RFC 6749 §4.4.3: no refresh token for client credentials.
    let access = provider.mint_access_token(client, None, &scope, resource.as_deref()).map_err(signing_failed)?;
    Ok(token_response(provider, access.jwt, &scope))
}
