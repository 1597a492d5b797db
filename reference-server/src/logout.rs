//! RP-Initiated Logout 1.0: ends the browser session and returns to a registered
//! `post_logout_redirect_uri` (exact match) with `state`, or shows a signed-out page.

use crate::authorize::respond::see_other;
use crate::cookies;
use crate::html::{error_page, page};
use crate::params::Params;
use crate::provider::Provider;
use crate::tokens::verify_own_jwt;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;

pub async fn handle(
    State(provider): State<Arc<Provider>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let params =
        if method == Method::POST { Params::parse(&String::from_utf8_lossy(&body)) } else { Params::parse(query.as_deref().unwrap_or("")) };
    let target = match post_logout_target(&provider, &params) {
        Ok(target) => target,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    if let Some(id) = cookies::get(&headers, cookies::SESSION) {
        provider.store.end_session(id);
    }
    let mut response = match target {
        Some(mut url) => {
            if let Some(state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            see_other(url.as_str())
        }
        None => page(StatusCode::OK, "Signed out", "<p id=\"signed-out\">You are signed out.</p>"),
    };
    response.headers_mut().append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
    response
}

/// RP-Initiated Logout §2/§3: the redirect must be registered for the client named by
/// `client_id` or by the `id_token_hint`'s audience.
fn post_logout_target(provider: &Provider, params: &Params) -> Result<Option<url::Url>, String> {
    let Some(uri) = params.get("post_logout_redirect_uri") else { return Ok(None) };
    // The hint may be expired: logout is exactly when old ID tokens come back. Only the
    // signature and issuer matter here, so check it as of its own issue time.
    let hinted_client = params.get("id_token_hint").and_then(|hint| {
        let claims = verify_own_jwt(provider, hint, "JWT", 0).ok()?;
        claims.get("azp").and_then(|a| a.as_str()).map(str::to_string)
    });
    let client_id = match (params.get("client_id"), hinted_client.as_deref()) {
        (Some(a), Some(b)) if a != b => return Err("client_id does not match the id_token_hint.".into()),
        (Some(id), _) | (None, Some(id)) => id.to_string(),
        (None, None) => return Err("post_logout_redirect_uri needs client_id or a valid id_token_hint.".into()),
    };
    let client = provider.config.client(&client_id).ok_or_else(|| format!("Unknown client_id \"{client_id}\"."))?;
    if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
        return Err(format!("The post_logout_redirect_uri \"{uri}\" is not registered for client \"{client_id}\"."));
    }
    url::Url::parse(uri).map(Some).map_err(|_| "The post_logout_redirect_uri is not a valid URL.".to_string())
}
