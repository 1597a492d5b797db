//! A small admin API (bearer token from the config): bulk revocation per user, application or
//! resource server ("Manage OIDC and OAuth tokens"), key rotation, and store statistics.

use crate::config::Alg;
use crate::error::OAuthError;
use crate::keys::SigningKey;
use crate::provider::Provider;
use crate::util::constant_time_eq;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// RFC 6750 §2.1 and §3.1, as at userinfo: no bearer credentials gets a bare challenge, a
/// malformed header `invalid_request`, a wrong token `invalid_token`.
fn authorize(provider: &Provider, headers: &HeaderMap) -> Result<(), OAuthError> {
    let token = crate::rules::bearer::from_header(headers)?
        .ok_or_else(|| OAuthError::bearer_required("the admin API needs the admin bearer token"))?;
    if constant_time_eq(token, &provider.admin_token) { Ok(()) } else { Err(OAuthError::invalid_token("wrong admin token")) }
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, OAuthError> {
    serde_json::from_slice(body).map_err(|e| OAuthError::invalid_request(format!("request body: {e}")))
}

fn respond(result: Result<Value, OAuthError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Every given selector must match; at least one is required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeSelector {
    /// The user, by username or `sub`.
    user: Option<String>,
    client_id: Option<String>,
    resource: Option<String>,
}

pub async fn revoke(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    respond((|| {
        authorize(&provider, &headers)?;
        let selector: RevokeSelector = json_body(&body)?;
        if selector.user.is_none() && selector.client_id.is_none() && selector.resource.is_none() {
            return Err(OAuthError::invalid_request("name at least one of user, client_id, resource"));
        }
        let sub = match &selector.user {
            Some(u) => Some(
                provider
                    .config
                    .user_by_username(u)
                    .or_else(|| provider.config.user_by_sub(u))
                    .map(|u| u.sub.clone())
                    .ok_or_else(|| OAuthError::invalid_request(format!("unknown user {u}")))?,
            ),
            None => None,
        };
        let revoked = provider.store.revoke_where(|g| {
            sub.as_ref().is_none_or(|s| &g.authz.sub == s)
                && selector.client_id.as_ref().is_none_or(|c| &g.authz.client_id == c)
                && selector.resource.as_ref().is_none_or(|r| g.authz.resources.contains(r))
        });
        Ok(json!({ "revoked_grants": revoked }))
    })())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotate {
    alg: Alg,
}

pub async fn rotate_key(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    respond((|| {
        authorize(&provider, &headers)?;
        let Rotate { alg } = json_body(&body)?;
        if !provider.config.signing_algorithms.contains(&alg) {
            return Err(OAuthError::invalid_request(format!("{alg} is not among the configured signing_algorithms")));
        }
        if provider.has_variant(crate::variants::Variant::SingleKeyNoKid) {
            // OIDC Core §10.1: a JWKS of several keys needs kids, which this server does not use.
            return Err(OAuthError::invalid_request("a single-key server without kid cannot publish a second key"));
        }
        let key = SigningKey::generate(alg).map_err(|e| OAuthError::server_error(e.to_string()))?;
        let key = provider.keys.rotate(key, provider.longest_token_lifetime());
        Ok(json!({ "alg": alg.as_str(), "kid": key.kid }))
    })())
}

pub async fn stats(State(provider): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    respond(authorize(&provider, &headers).map(|()| {
        let s = provider.store.sizes();
        let l = provider.config.limits;
        json!({
            "sessions": s.sessions, "interactions": s.interactions, "codes": s.codes,
            "grants": s.grants, "refresh_families": s.refresh_families,
            "limits": {
                "max_interactions": l.max_interactions, "max_interactions_per_client": l.max_interactions_per_client,
                "max_sessions": l.max_sessions, "max_sessions_per_user": l.max_sessions_per_user,
                "max_codes": l.max_codes, "max_codes_per_user_per_client": l.max_codes_per_user_per_client,
                "max_tokens_per_user_per_client": provider.config.max_tokens_per_user_per_client,
            },
        })
    }))
}
