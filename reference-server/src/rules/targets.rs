//! RFC 8707 resource indicators, one home for every endpoint: which targets a request names
//! (`resource`, sent once or more, and the profile's `audience` alias), whether each is
//! acceptable, and which one an access token is for.
//!
//! An access token of this server has one audience. So an authorization request may name
//! several resources (the grant then covers each of them), but each access token is for one:
//! a token request names one of the grant's resources, or none when the grant has at most one.
//! A request the server cannot issue one token for is refused with `invalid_target`, which
//! RFC 8707 §2 gives for resources "the authorization server ... does not consider acceptable".

use crate::config::Client;
use crate::faults::Fault;
use crate::settings::Settings;
use crate::variants::Variant;
use crate::web::params::Params;
use std::collections::HashSet;

/// An OAuth error code and its description.
pub type TargetError = (&'static str, String);

fn invalid_target<T>(description: impl Into<String>) -> Result<T, TargetError> {
    Err(("invalid_target", description.into()))
}

/// The targets `params` names, in order and without repeats: every `resource` value and the
/// `audience` alias, which may come with `resource` only when both name the same one target.
/// Each must be an absolute URI without a fragment (RFC 8707 §2, MUST), else `invalid_target`.
/// Under the `audience-ignored` fault, none.
fn named<'p>(settings: &Settings, params: &'p Params) -> Result<Vec<&'p str>, TargetError> {
    if settings.has(Fault::AudienceIgnored) {
        return Ok(Vec::new());
    }
    let mut seen = HashSet::new();
    let resources: Vec<&str> = params.all("resource").into_iter().filter(|r| seen.insert(*r)).collect();
    let named = match (resources.as_slice(), params.get("audience")) {
        (_, None) => resources,
        ([], Some(a)) => vec![a],
        ([r], Some(a)) if *r == a => resources,
        (_, Some(_)) => return Err(("invalid_request", "audience and resource name different targets".into())),
    };
    if let Some(bad) = named.iter().find(|r| !well_formed(r)) {
        return invalid_target(format!("resource \"{bad}\" must be an absolute URI without a fragment (RFC 8707 §2)"));
    }
    Ok(named)
}

/// RFC 8707 §2: "Its value MUST be an absolute URI ... The URI MUST NOT include a fragment
/// component."
fn well_formed(resource: &str) -> bool {
    url::Url::parse(resource).is_ok_and(|u| u.fragment().is_none())
}

/// The targets an authorization request names, each one the client may use (RFC 8707 §2.1):
/// the grant will cover all of them.
pub fn requested(settings: &Settings, client: &Client, params: &Params) -> Result<Vec<String>, TargetError> {
    named(settings, params)?.into_iter().map(|r| check_target(settings, client, r)).collect()
}

/// The audience of a client credentials token: the one target the request names, else the
/// client's default (RFC 8707 §2.2).
pub fn for_client(settings: &Settings, client: &Client, params: &Params) -> Result<Option<String>, TargetError> {
    match named(settings, params)?.as_slice() {
        [] => Ok(client.default_resource.clone()),
        [one] => check_target(settings, client, one).map(Some),
        _ => invalid_target("an access token is for one resource here: send resource once (RFC 8707 §2)"),
    }
}

/// The audience of an access token issued from a grant authorized for `granted` (a code or a
/// refresh token, RFC 8707 §2.2): the one target the token request names, which must be one
/// the grant covers; without one, the grant's only resource (or none: the default audience).
/// A grant covering several resources needs the request to pick one.
pub fn for_grant(settings: &Settings, params: &Params, granted: &[String]) -> Result<Option<String>, TargetError> {
    match (named(settings, params)?.as_slice(), granted) {
        ([], []) => Ok(None),
        ([], [only]) => Ok(Some(only.clone())),
        ([], _) => invalid_target("the grant covers several resources: name the one this access token is for (RFC 8707 §2.2)"),
        ([one], _) if granted.iter().any(|g| g.as_str() == *one) => Ok(Some(one.to_string())),
        ([one], _) => invalid_target(format!("resource \"{one}\" was not authorized for this grant (RFC 8707 §2.2)")),
        _ => invalid_target("an access token is for one resource here: send resource once (RFC 8707 §2.2)"),
    }
}

/// RFC 8707 §2: a target is refused with `invalid_target` unless it is a resource server this
/// client may use.
pub fn check_target(settings: &Settings, client: &Client, resource: &str) -> Result<String, TargetError> {
    if !well_formed(resource) {
        return invalid_target("resource must be an absolute URI without a fragment (RFC 8707 §2)");
    }
    // RFC 8707 §2: invalid_target is for what the server does not find acceptable; the
    // `unknown-resource-accepted` variant accepts a resource it has no record of.
    if settings.config.resource_server(resource).is_none() && settings.has_variant(Variant::UnknownResourceAccepted) {
        return Ok(resource.to_string());
    }
    if settings.config.resource_server(resource).is_none() || !client.resources.iter().any(|r| r == resource) {
        return invalid_target(format!("resource \"{resource}\" is unknown or not allowed for this client"));
    }
    Ok(resource.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Settings {
        Settings::new(crate::Config::default(), "http://127.0.0.1:1/api/oidc".into())
    }

    const API: &str = "https%3A%2F%2Fapi.example.test";
    const BILLING: &str = "https%3A%2F%2Fbilling.example.test";

    #[test]
    fn an_authorization_request_may_name_several_resources() {
        let p = provider();
        let web = p.config.client("web-app").unwrap();
        let params = Params::parse(&format!("resource={API}&resource={BILLING}&resource={API}"));
        assert_eq!(requested(&p, web, &params).unwrap(), ["https://api.example.test", "https://billing.example.test"]);
        let params = Params::parse(&format!("resource={API}&resource=https%3A%2F%2Fnowhere.example.test"));
        assert_eq!(requested(&p, web, &params).unwrap_err().0, "invalid_target");
    }

    #[test]
    fn each_value_must_be_an_absolute_uri_without_fragment() {
        let p = provider();
        let web = p.config.client("web-app").unwrap();
        for bad in ["%2Fapi", "https%3A%2F%2Fapi.example.test%23x"] {
            let params = Params::parse(&format!("resource={API}&resource={bad}"));
            let (error, description) = requested(&p, web, &params).unwrap_err();
            assert_eq!(error, "invalid_target", "{bad}");
            assert!(description.contains("absolute URI"), "{description}");
            let (error, _) = for_grant(&p, &params, &["https://api.example.test".into()]).unwrap_err();
            assert_eq!(error, "invalid_target", "{bad}");
        }
    }

    #[test]
    fn audience_may_only_repeat_resource() {
        let p = provider();
        let web = p.config.client("web-app").unwrap();
        let same = Params::parse(&format!("resource={API}&audience={API}"));
        assert_eq!(requested(&p, web, &same).unwrap(), ["https://api.example.test"]);
        let other = Params::parse(&format!("resource={API}&audience={BILLING}"));
        assert_eq!(requested(&p, web, &other).unwrap_err().0, "invalid_request");
        let two = Params::parse(&format!("resource={API}&resource={BILLING}&audience={API}"));
        assert_eq!(requested(&p, web, &two).unwrap_err().0, "invalid_request");
    }

    #[test]
    fn a_token_is_for_one_resource_of_the_grant() {
        let p = provider();
        let both = ["https://api.example.test".to_string(), "https://billing.example.test".to_string()];
        let pick = Params::parse(&format!("resource={BILLING}"));
        assert_eq!(for_grant(&p, &pick, &both).unwrap().as_deref(), Some("https://billing.example.test"));
        assert_eq!(for_grant(&p, &pick, &both[..1]).unwrap_err().0, "invalid_target", "not authorized");
        assert_eq!(for_grant(&p, &pick, &[]).unwrap_err().0, "invalid_target", "the grant has none");
        let none = Params::parse("");
        assert_eq!(for_grant(&p, &none, &both[..1]).unwrap().as_deref(), Some("https://api.example.test"));
        assert_eq!(for_grant(&p, &none, &[]).unwrap(), None);
        assert_eq!(for_grant(&p, &none, &both).unwrap_err().0, "invalid_target", "which one?");
        let two = Params::parse(&format!("resource={API}&resource={BILLING}"));
        assert_eq!(for_grant(&p, &two, &both).unwrap_err().0, "invalid_target");
    }

    #[test]
    fn client_credentials_get_one_audience() {
        let p = provider();
        let service = p.config.client("service-client").unwrap();
        assert_eq!(for_client(&p, service, &Params::parse("")).unwrap().as_deref(), Some("https://api.example.test"));
        let billing = Params::parse(&format!("resource={BILLING}"));
        assert_eq!(for_client(&p, service, &billing).unwrap().as_deref(), Some("https://billing.example.test"));
        let two = Params::parse(&format!("resource={API}&resource={BILLING}"));
        assert_eq!(for_client(&p, service, &two).unwrap_err().0, "invalid_target");
    }
}
