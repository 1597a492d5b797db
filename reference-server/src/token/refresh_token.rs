//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).

use super::{Issue, TokenResponse, user_tokens};
use crate::config::{Client, ClientType};
use crate::error::OAuthError;
use crate::faults::Fault;
use crate::provider::Provider;
use crate::store::Redeem;
use crate::util::{now_secs, space_list};
use crate::variants::Variant;
use crate::web::params::Params;
use axum::http::StatusCode;

pub fn refresh(provider: &Provider, client: &Client, form: &Params) -> Result<TokenResponse, OAuthError> {
    let token = form.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let requested = space_list(form.get("scope"));
    // RFC 6749 §6: the refresh token is bound to the client it was issued to.
    let bound = |grant: &crate::model::grant::Grant| {
        if grant.authz.client_id != client.client_id {
            return Err(OAuthError::invalid_grant("the refresh token was issued to another client"));
        }
        Ok(())
    };
    let validate = |grant: &crate::model::grant::Grant| {
        crate::rules::scopes::for_refresh(provider, &grant.authz.scope, &requested)
            .map_err(|e| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", e.0))?;
        // RFC 8707 §2.2: a resource the grant does not cover fails before the token is used.
        super::audience(provider, form, &grant.authz)
    };
    let rotate = rotates(provider, client);
    let (grant_id, mut grant, resource) = match provider.store.use_refresh_token(token, now_secs(), rotate, bound, validate)? {
        Redeem::Ok(ok) => ok,
        Redeem::Unknown => return Err(OAuthError::invalid_grant("unknown or revoked refresh token")),
        Redeem::Expired => return Err(OAuthError::invalid_grant("the refresh token has expired")),
        Redeem::Replayed => {
            return Err(OAuthError::invalid_grant("the refresh token was already used; its whole family is revoked (RFC 9700 §4.14.2)"));
        }
    };
    let scope = if requested.is_empty() { grant.authz.scope.clone() } else { requested };
    // OIDC Core §12.2: the refreshed ID token keeps `auth_time` (the grant's) and has no nonce;
    // the response "might not contain an id_token" at all (a variant).
    if provider.has(Fault::RefreshResetsAuthTime) {
        grant.authz.auth_time = now_secs();
    }
    let issue = Issue {
        id_token: !provider.has_variant(Variant::RefreshNoIdToken),
        nonce: None,
        refresh_token: rotate,
        resource: resource.as_deref(),
    };
    let mut body = user_tokens(provider, client, grant_id, &grant.authz, &scope, issue)?;
    if !rotate {
        body.refresh_token = Some(token.to_string());
    }
    Ok(body)
}

/// RFC 9700 §4.14.2: a public client's refresh token rotates at every use (so reuse is
/// detected). A confidential client authenticates every refresh, so keeping its token is a
/// profile choice (RFC 6749 §6: a new one MAY be issued): the
/// `refresh-not-rotated-confidential` variant.
fn rotates(provider: &Provider, client: &Client) -> bool {
    if provider.has(Fault::RefreshNotRotated) {
        return false;
    }
    !(provider.has_variant(Variant::RefreshNotRotatedConfidential) && client.client_type == ClientType::Confidential)
}
