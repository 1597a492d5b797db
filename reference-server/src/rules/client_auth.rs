//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3.1, OIDC Core §9):
//! `client_secret_basic`, `client_secret_post`, or `none` for public clients, exactly as each
//! client is registered.

use crate::config::{AuthMethod, Client};
use crate::error::OAuthError;
use crate::faults::Fault;
use crate::settings::Settings;
use crate::util::constant_time_eq;
use crate::variants::Variant;
use crate::web::params::Params;
use axum::http::{HeaderMap, header};
use base64::Engine;

/// Credentials from an `Authorization: Basic` header (RFC 6749 §2.3.1: each part is
/// form-urlencoded before base64).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let malformed = || OAuthError::invalid_client("malformed Authorization header");
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else { return Err(malformed()) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(format!("unsupported authentication scheme {scheme}")));
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let decode = |s: &str| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
    Ok(Some((decode(id), decode(secret))))
}

/// Authenticates the client of a token or revocation request.
pub fn authenticate<'a>(settings: &'a Settings, headers: &HeaderMap, form: &Params) -> Result<&'a Client, OAuthError> {
    let basic = basic_credentials(headers)?;
    let post_secret = form.get("client_secret");
    if basic.is_some() && post_secret.is_some() && !settings.has_variant(crate::variants::Variant::MultipleClientAuthAccepted) {
        // RFC 6749 §2.3: a client must not use more than one authentication method per request
        // (a rule on the client; a server may let it pass, the variant).
        return Err(OAuthError::invalid_request("use one client authentication method, not both Basic and client_secret"));
    }
    let (client_id, secret, method) = match (&basic, form.get("client_id")) {
        (Some((id, _)), Some(form_id)) if id != form_id => {
            return Err(OAuthError::invalid_client("client_id in the body differs from the Basic credentials"));
        }
        (Some((id, secret)), _) => (id.as_str(), Some(secret.as_str()), AuthMethod::ClientSecretBasic),
        (None, Some(id)) if post_secret.is_some() => (id, post_secret, AuthMethod::ClientSecretPost),
        (None, Some(id)) => (id, None, AuthMethod::None),
        (None, None) => return Err(OAuthError::invalid_client("client authentication is required")),
    };
    check_credentials(settings, client_id, secret, method).map_err(|e| failure_status(settings, method, e))
}

/// The client must exist, use its registered method, and know its secret.
fn check_credentials<'a>(
    settings: &'a Settings,
    client_id: &str,
    secret: Option<&str>,
    method: AuthMethod,
) -> Result<&'a Client, OAuthError> {
    let client = settings.config.client(client_id).ok_or_else(|| OAuthError::invalid_client("unknown client or bad credentials"))?;
    if method == AuthMethod::None && client.client_secret.is_some() && settings.has(Fault::SecretNotRequired) {
        return Ok(client);
    }
    if client.auth_method != method {
        return Err(OAuthError::invalid_client(format!(
            "this client must authenticate with {}, not {}",
            client.auth_method.as_str(),
            method.as_str()
        )));
    }
    match (&client.client_secret, secret) {
        (None, None) => Ok(client),
        (Some(expected), Some(given)) if constant_time_eq(given, expected) => Ok(client),
        (Some(_), Some(_)) if settings.has(Fault::BadClientSecretAccepted) => Ok(client),
        _ => Err(OAuthError::invalid_client("unknown client or bad credentials")),
    }
}

/// RFC 6749 §5.2: a failed client authentication MAY be 401, and MUST be 401 with a challenge
/// when the client used the Authorization header. Without it (client_secret_post, none) the
/// `invalid-client-400-for-post` variant answers 400 and no challenge.
fn failure_status(settings: &Settings, method: AuthMethod, mut error: OAuthError) -> OAuthError {
    if method != AuthMethod::ClientSecretBasic && settings.has_variant(Variant::InvalidClient400ForPost) {
        error.status = axum::http::StatusCode::BAD_REQUEST;
        error.challenge = None;
    }
    error
}
