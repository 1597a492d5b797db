//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.6).

use super::{Issue, TokenResponse, issues_refresh_token, user_tokens};
use crate::config::Client;
use crate::error::OAuthError;
use crate::faults::Fault;
use crate::model::grant::{Code, Grant};
use crate::provider::Provider;
use crate::store::Redeem;
use crate::util::now_secs;
use crate::web::params::Params;

pub fn redeem(provider: &Provider, client: &Client, form: &Params) -> Result<TokenResponse, OAuthError> {
    let code = form.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let now = now_secs();
    let bound = |record: &Code| check_binding(provider, client, record, form.get("redirect_uri"), form.get("code_verifier"));
    // RFC 8707 §2.2: the resource the token is for, checked before the code is used up.
    let audience = |record: &Code| super::audience(provider, form, &record.authz);
    // The grant lives as long as its access token; recording a refresh token extends it.
    let new_grant =
        |record: &Code| Grant { authz: record.authz.clone(), created: now, expires: now + provider.config.lifetimes.access_token_secs };
    let (record, grant, resource) = match provider.store.redeem_code(code, now, bound, audience, new_grant)? {
        Redeem::Ok(ok) => ok,
        Redeem::Unknown => return Err(OAuthError::invalid_grant("unknown authorization code")),
        Redeem::Expired => return Err(OAuthError::invalid_grant("the authorization code has expired")),
        Redeem::Replayed => {
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens issued from it are revoked (RFC 6749 §4.1.2)",
            ));
        }
    };
    let scope = record.authz.scope.clone();
    let issue = Issue {
        id_token: true,
        nonce: record.nonce.as_deref(),
        refresh_token: issues_refresh_token(provider, client, &scope),
        resource: resource.as_deref(),
    };
    user_tokens(provider, client, grant, &record.authz, &scope, issue)
}

/// RFC 6749 §4.1.3: the code must belong to the client and the redirect URI be identical; then
/// the PKCE verifier (`rules::pkce`).
fn check_binding(
    provider: &Provider,
    client: &Client,
    record: &Code,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    if record.authz.client_id != client.client_id && !provider.has(Fault::CodeNotBoundToClient) {
        return Err(OAuthError::invalid_grant("the authorization code was issued to another client"));
    }
    let oidc = record.authz.scope.iter().any(|s| s == "openid");
    match redirect_uri {
        Some(uri) if uri == record.redirect_uri || provider.has(Fault::CodeNotBoundToRedirectUri) => {}
        Some(_) => return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request")),
        None if !oidc && client.redirect_uris.len() == 1 => {}
        None => return Err(OAuthError::invalid_request("redirect_uri is required (RFC 6749 §4.1.3)")),
    }
    crate::rules::pkce::verify(provider, record.code_challenge.as_deref(), verifier)
}
