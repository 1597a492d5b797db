//! Scope rules (RFC 6749 §3.3), one home for every grant: what an authorization request may
//! ask, what a client-credentials request is granted, and how a refresh may narrow.

use crate::config::Client;
use crate::faults::Fault;
use crate::settings::Settings;
use crate::variants::Variant;
use std::collections::HashSet;

/// Why a scope is refused (`invalid_scope`), in words for `error_description`.
#[derive(Debug, PartialEq, Eq)]
pub struct ScopeError(pub String);

/// RFC 6749 §3.3: the scopes must be ones the client may request. The server may instead
/// ignore part of the request (the granted scope is then in the token response): the
/// `unknown-scope-dropped` variant drops the scopes it would refuse.
pub fn for_authorization(settings: &Settings, client: &Client, requested: &[String]) -> Result<Vec<String>, ScopeError> {
    let mut scope = requested.to_vec();
    // A set, so a long scope costs one lookup per value whatever the client's list.
    let allowed: HashSet<&str> = client.scopes.iter().map(String::as_str).collect();
    if settings.has_variant(Variant::UnknownScopeDropped) {
        scope.retain(|s| allowed.contains(s.as_str()));
    }
    if scope.is_empty() {
        return Err(ScopeError("scope is required (RFC 6749 §3.3)".into()));
    }
    if let Some(unknown) = scope.iter().find(|s| !allowed.contains(s.as_str())) {
        return Err(ScopeError(format!("scope \"{unknown}\" is not allowed for this client")));
    }
    Ok(scope)
}

/// RFC 6749 §6: a refresh may ask for the granted scope or less, never more.
pub fn for_refresh(settings: &Settings, granted: &[String], requested: &[String]) -> Result<(), ScopeError> {
    match requested.iter().find(|s| !granted.contains(s) && !settings.has(Fault::RefreshScopeWidened)) {
        Some(extra) => Err(ScopeError(format!("scope {extra} was not granted originally (RFC 6749 §6)"))),
        None => Ok(()),
    }
}

/// RFC 6749 §3.3: the scope must be the client's and, with a resource server as audience,
/// defined by it; else `invalid_scope`. The server may also grant another scope than the one
/// requested, if the response names it: the `unknown-scope-dropped` variant drops what it
/// would refuse, the `cc-default-scopes-added` variant adds the audience's default scope.
pub fn for_client_credentials(
    settings: &Settings,
    client: &Client,
    resource: Option<&str>,
    requested: &[String],
) -> Result<Vec<String>, ScopeError> {
    let server = resource.and_then(|r| settings.config.resource_server(r));
    let allowed = |s: &String| client.scopes.contains(s) && server.is_none_or(|rs| rs.scopes.contains(s));
    let mut scope = requested.to_vec();
    if settings.has_variant(Variant::UnknownScopeDropped) {
        scope.retain(allowed);
        if scope.is_empty() && !requested.is_empty() {
            return Err(ScopeError("none of the requested scopes is allowed for this client".into()));
        }
    }
    if let Some(s) = scope.iter().find(|s| !client.scopes.contains(s)) {
        return Err(ScopeError(format!("scope {s} is not allowed for this client")));
    }
    if let Some(server) = server
        && let Some(s) = scope.iter().find(|s| !server.scopes.contains(s))
    {
        return Err(ScopeError(format!("scope {s} is not defined by resource server {}", server.identifier)));
    }
    // The audience's first scope is its default, granted whenever the client may use it.
    if let Some(default) = server.and_then(|rs| rs.scopes.first()).filter(|_| settings.has_variant(Variant::CcDefaultScopesAdded))
        && allowed(default)
        && !scope.contains(default)
    {
        scope.push(default.clone());
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_grant_gets_its_rule() {
        let settings = Settings::new(crate::Config::default(), "http://127.0.0.1/api/oidc".into());
        let web = settings.config.client("web-app").unwrap().clone();
        assert_eq!(for_authorization(&settings, &web, &list(&["openid", "email"])), Ok(list(&["openid", "email"])));
        assert!(for_authorization(&settings, &web, &list(&["openid", "x-unknown"])).unwrap_err().0.contains("x-unknown"));
        assert!(for_authorization(&settings, &web, &[]).unwrap_err().0.contains("required"));
        assert_eq!(for_refresh(&settings, &list(&["openid", "email"]), &list(&["email"])), Ok(()));
        assert!(for_refresh(&settings, &list(&["openid"]), &list(&["email"])).is_err(), "a refresh only narrows");
        let service = settings.config.client("service-client").unwrap().clone();
        let first = service.scopes.first().cloned().into_iter().collect::<Vec<_>>();
        assert_eq!(for_client_credentials(&settings, &service, None, &first), Ok(first.clone()));
        assert!(for_client_credentials(&settings, &service, None, &list(&["x-unknown"])).is_err());
    }
}
