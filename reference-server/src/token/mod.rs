//! The token endpoint (RFC 6749 §3.2): client authentication, then one module per grant.

mod authorization_code;
mod client_credentials;
mod refresh_token;

use crate::config::{Client, GrantType};
use crate::error::OAuthError;
use crate::keys::KeyError;
use crate::provider::Provider;
use crate::rules::client_auth::authenticate;
use crate::variants::Variant;
use crate::web::params::Params;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::Arc;

pub async fn post(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    match token(&provider, &headers, &body) {
        Ok(body) => success(body),
        Err(e) => e.into_response(),
    }
}

/// Only on a server with the `token-get-accepted` fault: the query taken as the form.
pub async fn get(State(provider): State<Arc<Provider>>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    match grant(&provider, &headers, Params::parse(uri.query().unwrap_or_default())) {
        Ok(body) => success(body),
        Err(e) => e.into_response(),
    }
}

fn token(provider: &Provider, headers: &HeaderMap, body: &[u8]) -> Result<TokenResponse, OAuthError> {
    if !crate::web::forms::is_form(headers) {
        return Err(OAuthError::invalid_request("the token request must be application/x-www-form-urlencoded (RFC 6749 §3.2)"));
    }
    grant(provider, headers, Params::parse(&String::from_utf8_lossy(body)))
}

fn grant(provider: &Provider, headers: &HeaderMap, mut form: Params) -> Result<TokenResponse, OAuthError> {
    if provider.has(crate::faults::Fault::RepeatedParameterAccepted) {
        form.forget_repeats();
    }
    if let Some(name) = form.repeated().first() {
        return Err(OAuthError::invalid_request(format!("parameter {name} is repeated (RFC 6749 §3.1)")));
    }
    let client = authenticate(provider, headers, &form)?;
    let grant_type = form.get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    type Handler = fn(&Provider, &Client, &Params) -> Result<TokenResponse, OAuthError>;
    let (grant, handler): (GrantType, Handler) = match grant_type {
        "authorization_code" => (GrantType::AuthorizationCode, authorization_code::redeem),
        "refresh_token" => (GrantType::RefreshToken, refresh_token::refresh),
        "client_credentials" => (GrantType::ClientCredentials, client_credentials::issue),
        other => {
            return Err(OAuthError::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", format!("grant_type {other} is not supported")));
        }
    };
    if !client.allows(grant) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            format!("this client may not use the {grant_type} grant"),
        ));
    }
    handler(provider, client, &form)
}

/// RFC 6749 §5.1 (and OIDC Core §3.1.3.3): the members of a successful token response.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl TokenResponse {
    /// The members about an access token of `granted` scope; no ID or refresh token yet.
    fn new(provider: &Provider, access_token: String, granted: &[String], requested: &[String]) -> TokenResponse {
        let about = provider.describe_access_token(granted, requested);
        TokenResponse {
            access_token,
            token_type: about.token_type,
            expires_in: about.expires_in,
            scope: about.scope,
            id_token: None,
            refresh_token: None,
        }
    }
}

/// RFC 6749 §5.1: the JSON token response, never cached.
fn success(body: TokenResponse) -> Response {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Whether a grant gets a refresh token: `offline_access` granted, or the client's setting, or
/// always under the `refresh-without-offline-access` variant (OIDC Core §11: refresh tokens MAY
/// be granted in other contexts).
fn issues_refresh_token(provider: &Provider, client: &Client, scope: &[String]) -> bool {
    let offline = scope.iter().any(|s| s == "offline_access") && !provider.has(crate::faults::Fault::OfflineAccessIgnored);
    client.allows(GrantType::RefreshToken)
        && (client.always_issue_refresh_token || offline || provider.has_variant(Variant::RefreshWithoutOfflineAccess))
}

/// What a user's token response carries besides the access token.
struct Issue<'a> {
    /// An ID token, when the scope has `openid`.
    id_token: bool,
    /// The nonce of the authorization request, for the ID token.
    nonce: Option<&'a str>,
    /// A new refresh token.
    refresh_token: bool,
    /// The access token's audience: the resource it is for (RFC 8707 §2.2), else the default.
    resource: Option<&'a str>,
}

/// The audience of an access token from a user's grant (RFC 8707 §2.2, see `targets`), as a
/// token endpoint error when the request names a resource the grant does not cover.
fn audience(provider: &Provider, form: &Params, authz: &crate::model::grant::Authorization) -> Result<Option<String>, OAuthError> {
    crate::rules::targets::for_grant(provider, form, &authz.resources)
        .map_err(|(error, description)| OAuthError::new(StatusCode::BAD_REQUEST, error, description))
}

fn signing_failed(e: KeyError) -> OAuthError {
    tracing::error!("token signing failed: {e}");
    OAuthError::server_error("the server could not sign the token")
}

/// Issues the access token, ID token (for `openid`) and refresh token of a user's grant. The
/// scope is what the client asked for: the authorized one, or a narrower one on refresh.
fn user_tokens(
    provider: &Provider,
    client: &Client,
    grant: crate::model::grant::GrantId,
    authz: &crate::model::grant::Authorization,
    scope: &[String],
    issue: Issue<'_>,
) -> Result<TokenResponse, OAuthError> {
    let access = provider.mint_access_token(client, Some((authz, grant)), scope, issue.resource).map_err(signing_failed)?;
    let id_token = match issue.id_token && scope.iter().any(|s| s == "openid") {
        true => {
            let user = provider.config.user_by_sub(&authz.sub).ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
            // OIDC Core §3.1.3.6: at_hash is OPTIONAL from the token endpoint.
            let at_hash_of = Some(access.token.as_str()).filter(|_| !provider.has_variant(Variant::NoAtHashInCodeFlow));
            let ctx = crate::tokens::IdTokenContext { nonce: issue.nonce, access_token: at_hash_of, ..Default::default() };
            Some(provider.mint_id_token(client, user, authz, ctx).map_err(signing_failed)?)
        }
        false => None,
    };
    let mut body = TokenResponse::new(provider, access.token, scope, scope);
    body.id_token = id_token;
    // A concurrent replay of the code or refresh token may have revoked the grant since it was
    // redeemed. The tokens then name a grant that is gone, so they are dead on arrival: the
    // same outcome as a replay that comes after this response.
    if issue.refresh_token {
        let expires = crate::util::now_secs() + provider.config.lifetimes.refresh_token_secs;
        body.refresh_token = Some(provider.store.issue_refresh_token(grant, expires));
    }
    Ok(body)
}
