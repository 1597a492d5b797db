//! The UserInfo endpoint (OIDC Core §5.3): a bearer access token in the `Authorization` header
//! (RFC 6750 §2.1) or in a form body (§2.2), never both; a user's token with `openid`, for this
//! server and not for another resource server (RFC 8707 §2).

use crate::error::OAuthError;
use crate::provider::Provider;
use crate::util::now_secs;
use crate::web::params::Params;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn handle(State(provider): State<Arc<Provider>>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    if provider.has(crate::faults::Fault::UserinfoUnavailable) {
        return OAuthError::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "UserInfo is unavailable").into_response();
    }
    match userinfo(&provider, &method, &headers, &body) {
        Ok(claims) => {
            let mut response = Json(claims).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => e.into_response(),
    }
}

/// RFC 6750 §2: the token from the header (§2.1) or the form body (§2.2), never both (§3.1
/// `invalid_request`); none at all is a bare challenge (§3.1: no error code).
fn bearer_token(method: &Method, headers: &HeaderMap, body: &[u8]) -> Result<String, OAuthError> {
    let from_header = crate::rules::bearer::from_header(headers)?.map(str::to_string);
    let from_body = if method == Method::POST && crate::web::forms::is_form(headers) {
        let form = Params::parse(&String::from_utf8_lossy(body));
        // RFC 6750 §3.1: a repeated parameter is `invalid_request`, not an absent token.
        if form.is_repeated("access_token") {
            return Err(OAuthError::bearer(StatusCode::BAD_REQUEST, "invalid_request", "access_token is repeated (RFC 6750 §3.1)"));
        }
        form.get("access_token").map(str::to_string)
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(OAuthError::bearer(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the access token once, in the header or the body (RFC 6750 §2)",
        )),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(OAuthError::bearer_required("an access token is required (RFC 6750 §2)")),
    }
}

/// RFC 8707 §2 and RFC 6750 §3.1: a token is for the resource it names, so one minted for an
/// API (`resource` / `audience`, or the client's default resource) does not open userinfo.
/// This server's tokens for itself name the issuer (`Provider::access_token_audience`). A JWT
/// says its `aud` (a string or an array, RFC 7519 §4.1.3); an opaque token's audience follows
/// from its grant: a grant that covers resources issues tokens only for one of them (the token
/// endpoint refuses a request naming none when it covers several), never for this server.
fn is_for_userinfo(provider: &Provider, claims: &serde_json::Map<String, Value>, grant: &crate::model::grant::Grant) -> bool {
    let endpoint = provider.endpoint("/userinfo");
    let ours = |aud: &str| aud == provider.issuer || aud == endpoint;
    match claims.get("aud") {
        Some(Value::String(aud)) => ours(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(ours),
        Some(_) => false,
        None => provider
            .config
            .client(&grant.authz.client_id)
            .is_some_and(|client| ours(provider.access_token_audience(client, grant.authz.resources.first().map(String::as_str)))),
    }
}

/// What a signed access token says about its grant (used only by a fault).
fn grant_from_claims(claims: &serde_json::Map<String, Value>) -> Option<crate::model::grant::Grant> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    Some(crate::model::grant::Grant {
        authz: crate::model::grant::Authorization {
            client_id: text("client_id")?,
            sub: text("sub")?,
            scope: crate::util::space_list(claims.get("scope").and_then(Value::as_str)),
            resources: Vec::new(),
            auth_time: claims.get("auth_time").and_then(Value::as_u64)?,
            max_age: None,
            acr: text("acr"),
            amr: Vec::new(),
            org_id: text("org_id"),
            claims: None,
        },
        created: 0,
        expires: u64::MAX,
    })
}

fn userinfo(provider: &Provider, method: &Method, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let token = bearer_token(method, headers, body)?;
    let now = now_secs();
    let (jti, claims) =
        provider.access_token_handle(&token, now).map_err(|why| OAuthError::invalid_token(format!("access token {why}")))?;
    let grant = match provider.store.access_token_grant(&jti, now) {
        Some(grant) => grant,
        // The fault: trust the signed claims alone, so a revoked token still works.
        None if provider.has(crate::faults::Fault::RevokedTokenAcceptedAtUserinfo) => {
            grant_from_claims(&claims).ok_or_else(|| OAuthError::invalid_token("the access token is not a user's token"))?
        }
        None => return Err(OAuthError::invalid_token("the access token was revoked or is not a user's token")),
    };
    if !is_for_userinfo(provider, &claims, &grant) {
        return Err(OAuthError::invalid_token("the access token is for another resource server (RFC 8707 §2)"));
    }
    if !grant.authz.scope.iter().any(|s| s == "openid") {
        return Err(OAuthError::insufficient_scope("the token was not issued with the openid scope", "openid"));
    }
    let user = provider.config.user_by_sub(&grant.authz.sub).ok_or_else(|| OAuthError::invalid_token("the user no longer exists"))?;
    let mut out = crate::rules::claims::user_claims(user, &grant.authz.scope, grant.authz.claims.as_ref().map(|c| &c.userinfo));
    let sub = if provider.has(crate::faults::Fault::UserinfoSubMismatch) { format!("{}-other", user.sub) } else { user.sub.clone() };
    out.insert("sub".into(), json!(sub));
    if let Some(org) = &grant.authz.org_id {
        out.insert("org_id".into(), json!(org));
    }
    Ok(Value::Object(out))
}
