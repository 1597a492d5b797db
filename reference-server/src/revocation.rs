//! Token revocation (RFC 7009): refresh tokens and users' access tokens, by the client they were
//! issued to.

use crate::error::OAuthError;
use crate::faults::Fault;
use crate::provider::Provider;
use crate::rules::client_auth::authenticate;
use crate::store::Revocation;
use crate::tokens::verify_own_jwt;
use crate::util::now_secs;
use crate::variants::Variant;
use crate::web::params::Params;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub async fn post(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    match revoke(&provider, &headers, &body) {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => e.into_response(),
    }
}

fn revoke(provider: &Provider, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    if !crate::web::forms::is_form(headers) {
        return Err(OAuthError::invalid_request("the revocation request must be application/x-www-form-urlencoded"));
    }
    let form = Params::parse(&String::from_utf8_lossy(body));
    if let Some(name) = form.repeated().first() {
        return Err(OAuthError::invalid_request(format!("parameter {name} is repeated (RFC 6749 §3.1)")));
    }
    let client = authenticate_client(provider, headers, &form)?;
    let token = form.get("token").ok_or_else(|| OAuthError::invalid_request("token is required (RFC 7009 §2.1)"))?;
    // A refresh token is a signed handle naming its grant; an access token is a JWT whose `jti`
    // is such a handle (or, under the `opaque-access-tokens` variant, the handle itself: no JWT).
    // An expired or foreign-issuer JWT is simply unknown.
    let jti = verify_own_jwt(provider, token, provider.access_token_typ(), now_secs())
        .ok()
        .and_then(|c| c.get("jti").and_then(|j| j.as_str()).map(str::to_string));
    if jti.is_none() && provider.has(Fault::RevocationIgnoresRefreshTokens) {
        return Ok(());
    }
    if jti.is_none() && form.get("token_type_hint") == Some("access_token") && provider.has(Fault::RevocationTrustsHint) {
        return Ok(());
    }
    let key = jti.as_deref().unwrap_or(token);
    match provider.store.revoke_token(key, &client.client_id) {
        Revocation::Unknown if provider.has(Fault::RevocationUnknownTokenError) => Err(OAuthError::invalid_request("unknown token")),
        // RFC 7009 §2.2: an invalid or unknown token is answered with 200 as well.
        Revocation::Revoked | Revocation::Unknown => Ok(()),
        Revocation::OtherClient => Err(OAuthError::invalid_request("the token was not issued to this client (RFC 7009 §2.1)")),
    }
}

/// RFC 7009 §2.1: the client authenticates as at the token endpoint. A request with no
/// credentials at all is 401 invalid_client; the `revocation-no-credentials-400` variant
/// answers 400 (RFC 6749 §5.2: 401 is required only when the Authorization header was used).
fn authenticate_client<'a>(provider: &'a Provider, headers: &HeaderMap, form: &Params) -> Result<&'a crate::config::Client, OAuthError> {
    let no_credentials = headers.get(header::AUTHORIZATION).is_none() && form.get("client_id").is_none() && !form.contains("client_secret");
    if no_credentials && provider.has_variant(Variant::RevocationNoCredentials400) {
        return Err(OAuthError::new(StatusCode::BAD_REQUEST, "invalid_client", "client authentication is required (RFC 7009 §2.1)"));
    }
    authenticate(provider, headers, form)
}
