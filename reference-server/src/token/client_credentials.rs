//! The client credentials grant (RFC 6749 §4.4) with `audience` / `resource` (RFC 8707).

use super::{TokenResponse, signing_failed};
use crate::config::Client;
use crate::error::OAuthError;
use crate::provider::Provider;
use crate::util::space_list;
use crate::web::params::Params;
use axum::http::StatusCode;

pub fn issue(provider: &Provider, client: &Client, form: &Params) -> Result<TokenResponse, OAuthError> {
    let target_error = |(error, description): (&'static str, String)| OAuthError::new(StatusCode::BAD_REQUEST, error, description);
    let resource = crate::rules::targets::for_client(provider, client, form).map_err(target_error)?;
    let requested = space_list(form.get("scope"));
    let mut scope = crate::rules::scopes::for_client_credentials(provider, client, resource.as_deref(), &requested)
        .map_err(|e| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", e.0))?;
    // The fault: the token carries every scope of the client while the response says only what
    // was asked (RFC 6749 §5.1 wants a different granted scope named).
    let named = scope.clone();
    if provider.has(crate::faults::Fault::CcScopeWidened) {
        scope.clone_from(&client.scopes);
    }
    // RFC 6749 §4.4.3: no refresh token for client credentials.
    let access = provider.mint_access_token(client, None, &scope, resource.as_deref()).map_err(signing_failed)?;
    Ok(TokenResponse::new(provider, access.token, &named, &requested))
}
