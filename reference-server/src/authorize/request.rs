//! Validation of an authorization request, as a pipeline of small named steps (one rule each,
//! each citing its spec). Until the client and redirect URI are trusted an error is shown as a
//! page and never redirected (RFC 6749 §4.1.2.1); after that it goes back to the client.

use crate::config::{Client, GrantType};
use crate::faults::Fault;
use crate::model::claims::ClaimsRequest;
use crate::model::request::{AuthRequest, Prompt, ReplyTo, ResponseMode, ResponseType};
use crate::rules::claims::Malformed;
use crate::rules::pkce::is_pkce_value;
use crate::settings::Settings;
use crate::util::space_list;
use crate::variants::Variant;
use crate::web::params::Params;

#[derive(Debug, Clone)]
pub enum AuthorizeError {
    /// The client or redirect URI is not trustworthy: answer with a page, never redirect.
    Page(String),
    /// RFC 6749 §4.1.2.1 / OIDC Core §3.1.2.6: an error sent to the client's redirect URI.
    Redirect { reply_to: ReplyTo, error: &'static str, description: String },
}

type StepResult<T> = Result<T, (&'static str, String)>;

fn invalid_request<T>(description: impl Into<String>) -> StepResult<T> {
    Err(("invalid_request", description.into()))
}

/// Runs the whole pipeline.
pub fn validate(settings: &Settings, params: &Params) -> Result<AuthRequest, AuthorizeError> {
    let mut lenient;
    let params = if settings.has(Fault::RepeatedParameterAccepted) {
        lenient = params.clone();
        lenient.forget_repeats();
        &lenient
    } else {
        params
    };
    let (client, redirect_uri) = match check_client(settings, params).and_then(|c| Ok((c, check_redirect_uri(settings, c, params)?))) {
        Ok(checked) => checked,
        Err(why) => return Err(open_redirect(settings, params, &why).unwrap_or(AuthorizeError::Page(why))),
    };
    if settings.has(Fault::UnsupportedParameterErrorPage)
        && let Some(p) = UNSUPPORTED_PARAMETERS.iter().find(|p| params.contains(p))
    {
        return Err(AuthorizeError::Page(format!("The parameter {p} is not supported.")));
    }
    let response_type = check_response_type(settings, params)?;
    let reply_to = ReplyTo {
        mode: parse_response_mode(params.get("response_mode"))
            .ok()
            .flatten()
            .unwrap_or_else(|| default_response_mode(response_type.clone().ok())),
        redirect_uri,
        state: params.get("state").map(str::to_string),
    };
    check_repeated(settings, params, &reply_to)?;
    validate_after_redirect_uri(settings, client, params, response_type, &reply_to)
        .map_err(|(error, description)| AuthorizeError::Redirect { reply_to, error, description })
}

/// The `open-redirect-on-error` fault: an error about the client or its redirect URI sent to
/// whatever redirect_uri the request named.
fn open_redirect(settings: &Settings, params: &Params, why: &str) -> Option<AuthorizeError> {
    let redirect_uri = params.get("redirect_uri").filter(|_| settings.has(Fault::OpenRedirectOnError))?;
    let reply_to =
        ReplyTo { mode: ResponseMode::Query, redirect_uri: redirect_uri.to_string(), state: params.get("state").map(str::to_string) };
    Some(AuthorizeError::Redirect { reply_to, error: "invalid_request", description: why.to_string() })
}

fn validate_after_redirect_uri(
    settings: &Settings,
    client: &Client,
    params: &Params,
    response_type: StepResult<ResponseType>,
    reply_to: &ReplyTo,
) -> StepResult<AuthRequest> {
    if settings.has(Fault::UnknownParameterRejected)
        && let Some(unknown) = params.names().find(|n| !KNOWN_PARAMETERS.contains(n))
    {
        return invalid_request(format!("unknown parameter {unknown}"));
    }
    check_lengths(settings, params)?;
    check_request_objects(params)?;
    let response_type = response_type?;
    let scope = check_scope(settings, client, params)?;
    check_response_type_allowed(settings, client, response_type, &scope)?;
    let mut response_mode = check_response_mode(settings, params, response_type)?;
    if settings.has(Fault::FormPostIgnored) && response_mode == ResponseMode::FormPost {
        response_mode = default_response_mode(Some(response_type));
    }
    if settings.has(Fault::FragmentModeIgnored) && response_mode == ResponseMode::Fragment && !response_type.is_implicit() {
        response_mode = ResponseMode::Query;
    }
    if settings.has(Fault::ImplicitDefaultQuery) && response_type.is_implicit() && params.get("response_mode").is_none() {
        response_mode = ResponseMode::Query;
    }
    let nonce = check_nonce(settings, params, response_type)?;
    let code_challenge = check_pkce(settings, client, params, response_type)?;
    check_unsupported_parameters(settings, client, params)?;
    let prompt = check_prompt(params)?;
    let max_age = check_max_age(params)?;
    let claims = if settings.has(Fault::ClaimsParameterIgnored) { None } else { check_claims(settings, params)? };
    let (acr_values, acr_essential) = requested_acr(params, claims.as_ref());
    let resources = check_resources(settings, client, params, response_type)?;
    Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: reply_to.redirect_uri.clone(),
        response_type,
        response_mode,
        scope,
        state: reply_to.state.clone(),
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_string),
        acr_values,
        acr_essential,
        amr_values: space_list(params.get("amr_values")),
        claims,
        resources,
        org_id: params.get("org_id").map(str::to_string),
        entra: None,
    })
}

/// RFC 6749 §4.1.2.1: an unknown or missing client is reported to the user, not redirected.
fn check_client<'a>(settings: &'a Settings, params: &Params) -> Result<&'a Client, String> {
    if params.is_repeated("client_id") {
        return Err("The client_id parameter was sent more than once (RFC 6749 §3.1).".into());
    }
    let client_id = params.get("client_id").ok_or("The request has no client_id (RFC 6749 §4.1.1).")?;
    let client = settings.config.client(client_id).ok_or_else(|| format!("Unknown client_id \"{client_id}\"."))?;
    if !(client.allows(GrantType::AuthorizationCode) || client.allows(GrantType::Implicit)) {
        return Err(format!("Client \"{client_id}\" is not registered for browser flows."));
    }
    Ok(client)
}

/// RFC 6749 §3.1.2.3 and RFC 9700 §2.1: the redirect URI must match a registered one exactly
/// (simple string comparison; see `redirect_uri_matches` for the loopback port). It may be
/// omitted only by an OAuth request of a client with exactly one registered URI; OIDC Core
/// §3.1.2.1 always requires it.
fn check_redirect_uri(settings: &Settings, client: &Client, params: &Params) -> Result<String, String> {
    let registered = |uri: &str| {
        client
            .redirect_uris
            .iter()
            .any(|r| redirect_uri_matches(r, uri) || (settings.has(Fault::RedirectUriPrefixMatch) && uri.starts_with(r.as_str())))
    };
    if params.is_repeated("redirect_uri") {
        return Err("The redirect_uri parameter was sent more than once (RFC 6749 §3.1).".into());
    }
    match params.get("redirect_uri") {
        Some(uri) if registered(uri) => Ok(uri.to_string()),
        Some(uri) => Err(format!("The redirect_uri \"{uri}\" is not registered for client \"{}\".", client.client_id)),
        None => {
            let oidc = space_list(params.get("scope")).iter().any(|s| s == "openid");
            match client.redirect_uris.as_slice() {
                [only] if !oidc => Ok(only.clone()),
                _ => Err("The request has no redirect_uri (OIDC Core §3.1.2.1 requires it).".into()),
            }
        }
    }
}

/// Whether a requested redirect URI matches a registered one: byte for byte (RFC 9700 §2.1),
/// except that for a loopback IP redirect URI "the authorization server MUST allow any port to
/// be specified at the time of the request" (RFC 8252 §7.3). Only the port may differ: scheme,
/// host, path and query stay exact. The code is then bound to the URI as requested, port
/// included, so the token endpoint still compares it exactly (RFC 6749 §4.1.3).
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    matches!((loopback_without_port(registered), loopback_without_port(requested)), (Some(r), Some(q)) if r == q)
}

/// A loopback IP redirect URI split around its optional port: `http://127.0.0.1` or
/// `http://[::1]` (RFC 8252 §7.3), and what follows the port (path and query). `localhost` is
/// not one: RFC 8252 §8.3 makes it NOT RECOMMENDED (the name may resolve to another
/// interface, or be taken by another program), and §7.3's MUST is for the IP literals, so a
/// `localhost` URI is compared exactly, like any other.
fn loopback_without_port(uri: &str) -> Option<(&'static str, &str)> {
    let host = ["http://127.0.0.1", "http://[::1]"].into_iter().find(|h| uri.starts_with(h))?;
    let after_host = &uri[host.len()..];
    let rest = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            // A port as a URL writes it (RFC 3986 §3.2.3): 1-5 digits, no leading zero, so a
            // requested URI cannot grow without bound with zeros and still match.
            let port = &port_and_rest[..digits];
            if port.len() > 5 || port.starts_with('0') {
                return None;
            }
            port.parse::<u16>().ok().filter(|port| *port > 0)?;
            &port_and_rest[digits..]
        }
        None => after_host,
    };
    // Anything else right after the host (`.evil.test`, `@evil.test`) makes it another host.
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')).then_some((host, rest))
}

/// RFC 6749 §3.1: request and response parameters must not be included more than once. The
/// error is redirected; a request that broke this rule need not be trusted enough for a
/// redirect, so the `repeated-parameter-error-page` variant shows it as a page instead.
fn check_repeated(settings: &Settings, params: &Params, reply_to: &ReplyTo) -> Result<(), AuthorizeError> {
    let Some(name) = params.repeated().first() else { return Ok(()) };
    if settings.has_variant(Variant::RepeatedParameterErrorPage) {
        return Err(AuthorizeError::Page(format!("The parameter {name} was sent more than once (RFC 6749 §3.1).")));
    }
    let description = format!("parameter {name} is repeated (RFC 6749 §3.1)");
    Err(AuthorizeError::Redirect { reply_to: reply_to.clone(), error: "invalid_request", description })
}

/// RFC 6749 §3.1.1: `response_type` is required; its error is redirected once the client and
/// redirect URI are trusted (the caller does that). Without it the response mode is unknown,
/// so the `missing-response-type-error-page` variant shows a page; the
/// `missing-response-type-unsupported` variant answers `unsupported_response_type`.
fn check_response_type(settings: &Settings, params: &Params) -> Result<StepResult<ResponseType>, AuthorizeError> {
    let missing_default = settings.has(Fault::MissingResponseTypeAccepted).then_some("code");
    let value = params.get("response_type").or(missing_default);
    if value.is_none() && settings.has_variant(Variant::MissingResponseTypeErrorPage) {
        return Err(AuthorizeError::Page("The request has no response_type (RFC 6749 §3.1.1).".into()));
    }
    let mut response_type = parse_response_type(value);
    if settings.has(Fault::OauthImplicitAccepted) && value.map(str::trim) == Some("token") {
        response_type = Ok(ResponseType::IdTokenToken);
    }
    if value.is_none() && settings.has_variant(Variant::MissingResponseTypeUnsupported) {
        response_type = Err(("unsupported_response_type", "response_type is required (RFC 6749 §3.1.1)".into()));
    }
    if settings.has(Fault::UnknownResponseTypeInvalidRequest) {
        response_type = response_type.map_err(|(_, description)| ("invalid_request", description));
    }
    Ok(response_type)
}

/// `[parameter_limits]`: a free-text parameter longer than its cap is refused before anything
/// parses or stores it (a pending request is held while the user logs in).
fn check_lengths(settings: &Settings, params: &Params) -> StepResult<()> {
    for (name, cap) in settings.config.parameter_limits.caps() {
        if params.get(name).is_some_and(|value| value.len() > cap) {
            return invalid_request(format!("{name} is longer than this server accepts ({cap} bytes at most)"));
        }
    }
    Ok(())
}

/// OIDC Core §6: request objects are not supported by this profile.
fn check_request_objects(params: &Params) -> StepResult<()> {
    if params.contains("request") {
        return Err(("request_not_supported", "request objects are not supported (OIDC Core §6.1)".into()));
    }
    if params.contains("request_uri") {
        return Err(("request_uri_not_supported", "request_uri is not supported (OIDC Core §6.2)".into()));
    }
    Ok(())
}

/// RFC 6749 §3.1.1 (space-delimited, order does not matter) and OIDC Core §3.2.
fn parse_response_type(value: Option<&str>) -> StepResult<ResponseType> {
    let Some(value) = value else { return invalid_request("response_type is required (RFC 6749 §3.1.1)") };
    let mut parts: Vec<&str> = value.split(' ').filter(|s| !s.is_empty()).collect();
    parts.sort_unstable();
    match parts.as_slice() {
        ["code"] => Ok(ResponseType::Code),
        ["id_token"] => Ok(ResponseType::IdToken),
        ["id_token", "token"] => Ok(ResponseType::IdTokenToken),
        _ => Err(("unsupported_response_type", format!("response_type \"{value}\" is not supported"))),
    }
}

/// RFC 6749 §4.1.2.1 `unauthorized_client`; the profile allows Implicit for OIDC only, so an
/// Implicit request without `openid` is `unsupported_response_type`.
fn check_response_type_allowed(settings: &Settings, client: &Client, response_type: ResponseType, scope: &[String]) -> StepResult<()> {
    let grant = if response_type.is_implicit() { GrantType::Implicit } else { GrantType::AuthorizationCode };
    if response_type.is_implicit() && !scope.iter().any(|s| s == "openid") && !settings.has(Fault::ImplicitWithoutOpenid) {
        return Err((
            "unsupported_response_type",
            "the implicit flow is supported for OpenID Connect only (scope must include openid)".into(),
        ));
    }
    if !client.allows(grant) {
        return Err(("unauthorized_client", format!("client is not allowed the {} grant", grant.as_str())));
    }
    Ok(())
}

fn parse_response_mode(value: Option<&str>) -> StepResult<Option<ResponseMode>> {
    match value {
        None => Ok(None),
        Some("query") => Ok(Some(ResponseMode::Query)),
        Some("fragment") => Ok(Some(ResponseMode::Fragment)),
        Some("form_post") => Ok(Some(ResponseMode::FormPost)),
        Some(other) => invalid_request(format!("response_mode \"{other}\" is not supported")),
    }
}

/// OAuth 2.0 Multiple Response Types §2.1: query for `code`, fragment for anything with tokens.
fn default_response_mode(response_type: Option<ResponseType>) -> ResponseMode {
    match response_type {
        Some(t) if t.is_implicit() => ResponseMode::Fragment,
        _ => ResponseMode::Query,
    }
}

/// OAuth 2.0 Multiple Response Types §2.1: tokens must not be returned in the query.
fn check_response_mode(settings: &Settings, params: &Params, response_type: ResponseType) -> StepResult<ResponseMode> {
    let mode = parse_response_mode(params.get("response_mode"))?.unwrap_or(default_response_mode(Some(response_type)));
    if mode == ResponseMode::Query && response_type.is_implicit() && !settings.has(Fault::ImplicitInQuery) {
        return invalid_request("response_mode=query cannot carry tokens (OAuth 2.0 Multiple Response Types §2.1)");
    }
    Ok(mode)
}

/// RFC 6749 §3.3, in `rules::scopes`.
fn check_scope(settings: &Settings, client: &Client, params: &Params) -> StepResult<Vec<String>> {
    crate::rules::scopes::for_authorization(settings, client, &space_list(params.get("scope"))).map_err(|e| ("invalid_scope", e.0))
}

/// OIDC Core §3.2.2.1: `nonce` is required for the implicit flow.
fn check_nonce(settings: &Settings, params: &Params, response_type: ResponseType) -> StepResult<Option<String>> {
    let nonce = params.get("nonce").map(str::to_string);
    if response_type.is_implicit() && nonce.is_none() && !settings.has(Fault::ImplicitNonceOptional) {
        return invalid_request("nonce is required for the implicit flow (OIDC Core §3.2.2.1)");
    }
    Ok(nonce)
}

/// RFC 7636 §4.3/§4.4.1: only S256; `plain` (the default method) refused; a challenge is
/// 43-128 unreserved characters. Required for public clients (RFC 9700 §2.1.1).
fn check_pkce(settings: &Settings, client: &Client, params: &Params, response_type: ResponseType) -> StepResult<Option<String>> {
    if response_type.is_implicit() {
        return Ok(None);
    }
    let challenge = params.get("code_challenge");
    match (challenge, params.get("code_challenge_method")) {
        (Some(c), None | Some("plain")) if settings.has(Fault::PkcePlainAccepted) => Ok(Some(c.to_string())),
        (None, Some(_)) => invalid_request("code_challenge_method without code_challenge (RFC 7636 §4.3)"),
        // RFC 9700 §2.1.1 recommends PKCE for confidential clients too: required for all is a
        // variant.
        (None, None)
            if (client.pkce_required() || settings.has_variant(Variant::PkceRequiredForAll))
                && !(client.client_type == crate::config::ClientType::Public && settings.has(Fault::PkceOptionalForPublic)) =>
        {
            invalid_request("PKCE is required for this client: send code_challenge with S256 (RFC 7636 §4.4.1)")
        }
        (None, None) => Ok(None),
        (Some(_), None | Some("plain")) => invalid_request("code_challenge_method plain is not supported; use S256 (RFC 7636 §4.2)"),
        (Some(_), Some(m)) if m != "S256" => invalid_request(format!("code_challenge_method \"{m}\" is not supported; use S256")),
        (Some(c), Some(_)) if !is_pkce_value(c) => {
            invalid_request("code_challenge must be 43 to 128 characters [A-Za-z0-9-._~] (RFC 7636 §4.2)")
        }
        (Some(c), Some(_)) => Ok(Some(c.to_string())),
    }
}

/// Every parameter this endpoint understands (the rest are ignored, RFC 6749 §3.1).
const KNOWN_PARAMETERS: [&str; 23] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "claims",
    "acr_values",
    "amr_values",
    "audience",
    "resource",
    "org_id",
    "display",
    "id_token_hint",
    "ui_locales",
    "request",
    "request_uri",
];

/// The profile's unsupported parameters: ignored, or `invalid_request` in strict mode.
pub const UNSUPPORTED_PARAMETERS: [&str; 3] = ["display", "id_token_hint", "ui_locales"];

fn check_unsupported_parameters(settings: &Settings, client: &Client, params: &Params) -> StepResult<()> {
    if !settings.config.strict {
        return Ok(());
    }
    // Microsoft Entra's requests name their user in the hint, which the server reads (`entra`).
    let consumed = |p: &&&str| client.entra.is_some() && **p == "id_token_hint";
    match UNSUPPORTED_PARAMETERS.iter().filter(|p| !consumed(p)).find(|p| params.contains(p)) {
        Some(p) => invalid_request(format!("parameter {p} is not supported by this server")),
        None => Ok(()),
    }
}

/// OIDC Core §3.1.2.1: `none` must not be combined with another value.
fn check_prompt(params: &Params) -> StepResult<Prompt> {
    let mut prompt = Prompt::default();
    let values = space_list(params.get("prompt"));
    for value in &values {
        match value.as_str() {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => prompt.select_account = true,
            other => return invalid_request(format!("prompt value \"{other}\" is not supported")),
        }
    }
    if prompt.none && values.len() > 1 {
        return invalid_request("prompt=none cannot be combined with other values (OIDC Core §3.1.2.1)");
    }
    Ok(prompt)
}

fn check_max_age(params: &Params) -> StepResult<Option<u64>> {
    match params.get("max_age") {
        None => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => invalid_request("max_age must be a non-negative integer (OIDC Core §3.1.2.1)"),
        },
    }
}

/// OIDC Core §5.5: a malformed `claims` is `invalid_request`; the
/// `claims-malformed-member-ignored` variant ignores members of the wrong type as not
/// understood.
fn check_claims(settings: &Settings, params: &Params) -> StepResult<Option<ClaimsRequest>> {
    let malformed = if settings.has_variant(Variant::ClaimsMalformedMemberIgnored) { Malformed::Ignore } else { Malformed::Refuse };
    match params.get("claims") {
        None => Ok(None),
        Some(text) => ClaimsRequest::parse_with(text, malformed).map(Some).or_else(invalid_request),
    }
}

fn requested_acr(params: &Params, claims: Option<&ClaimsRequest>) -> (Vec<String>, bool) {
    if let Some(spec) = claims.and_then(|c| c.id_token.get("acr"))
        && !spec.values.is_empty()
    {
        let values = spec.values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        return (values, spec.essential);
    }
    (space_list(params.get("acr_values")), false)
}

/// RFC 8707 §2 (`resource`, once or more) and the profile's `audience` alias: known resource
/// servers the client may use, else `invalid_target`. An access token issued right here (`id_token
/// token`) has one audience, so that response type takes one resource at most: RFC 8707 §2 lets
/// the server refuse targets it cannot issue a token for (`invalid_target`).
fn check_resources(settings: &Settings, client: &Client, params: &Params, response_type: ResponseType) -> StepResult<Vec<String>> {
    let resources = crate::rules::targets::requested(settings, client, params)?;
    if resources.len() > 1 && response_type == ResponseType::IdTokenToken {
        return Err(("invalid_target", "an access token is for one resource here: send resource once (RFC 8707 §2)".into()));
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_type_order_does_not_matter() {
        assert_eq!(parse_response_type(Some("token id_token")), Ok(ResponseType::IdTokenToken));
        assert!(matches!(parse_response_type(Some("token")), Err(("unsupported_response_type", _))));
        assert!(matches!(parse_response_type(None), Err(("invalid_request", _))));
    }

    #[test]
    fn loopback_redirect_uris_match_with_any_port_and_nothing_else() {
        for (registered, requested) in [
            ("http://127.0.0.1/cb", "http://127.0.0.1:49152/cb"),
            ("http://127.0.0.1:8080/cb", "http://127.0.0.1:9/cb"),
            ("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb"),
            ("http://[::1]/cb?a=1", "http://[::1]:65535/cb?a=1"),
            ("http://127.0.0.1", "http://127.0.0.1:5000"),
            ("https://app.example.test/cb", "https://app.example.test/cb"),
            ("http://localhost/cb", "http://localhost/cb"),
        ] {
            assert!(redirect_uri_matches(registered, requested), "{registered} ~ {requested}");
        }
        for (registered, requested) in [
            ("http://127.0.0.1/cb", "http://127.0.0.1:49152/cb/"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:49152/cb?x"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:49152"),
            ("http://127.0.0.1/cb", "https://127.0.0.1:49152/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:0/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:99999/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:+80/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1.evil.test/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1@evil.test/cb"),
            ("http://127.0.0.1/cb", "http://[::1]:5000/cb"),
            ("http://localhost/cb", "http://localhost:5000/cb"),
            ("https://app.example.test/cb", "https://app.example.test:444/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:08080/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:000000000000080/cb"),
            ("http://127.0.0.1.evil.test/cb", "http://127.0.0.1.evil.test:5/cb"),
        ] {
            assert!(!redirect_uri_matches(registered, requested), "{registered} !~ {requested}");
        }
    }

    #[test]
    fn a_sub_value_in_claims_names_the_only_acceptable_user() {
        let provider = Settings::new(crate::Config::default(), "http://127.0.0.1:1/api/oidc".into());
        let query = |claims: &str| {
            let claims: String = form_urlencoded::byte_serialize(claims.as_bytes()).collect();
            format!(
                "client_id=web-app&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcallback&response_type=code&scope=openid&claims={claims}"
            )
        };
        let request = |claims: &str| validate(&provider, &Params::parse(&query(claims))).map_err(|_| "invalid").unwrap();
        let bob = request(r#"{"id_token":{"sub":{"value":"u-bob"}}}"#);
        assert!(bob.accepts_subject("u-bob") && !bob.accepts_subject("u-alice"));
        assert!(!request(r#"{"id_token":{"sub":{"value":5}}}"#).accepts_subject("5"), "a sub is a string");
        assert!(request(r#"{"userinfo":{"sub":{"value":"u-bob"}}}"#).accepts_subject("u-alice"), "§5.5.1 is about the ID token");
        assert!(request(r#"{"id_token":{"sub":null}}"#).accepts_subject("u-alice"));
    }
}

/// Fuzz target for the redirect-URI matcher (issue 13): registered and requested URIs built
/// from parts an attacker varies (loopback literals and look-alikes, ports valid and not,
/// userinfo, `.evil` suffixes, percent-encoding, case, trailing slashes, query, fragment) and
/// compared with a declarative model of RFC 9700 §2.1 and RFC 8252 §7.3; then the same pairs
/// through the pipeline. `PROPTEST_CASES` runs it longer.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::util::fuzz_config;
    use proptest::prelude::*;
    use proptest::sample::Index;

    const LOOPBACK: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

    #[derive(Debug, Clone)]
    struct Parts {
        scheme: &'static str,
        userinfo: &'static str,
        host: &'static str,
        after_host: &'static str,
        port: Option<String>,
        /// The port before what follows the host (`127.0.0.1:5000@evil.test`), or after it.
        port_first: bool,
        path: &'static str,
        query: &'static str,
        fragment: &'static str,
    }

    impl Parts {
        fn uri(&self) -> String {
            let port = self.port.as_deref().map(|p| format!(":{p}")).unwrap_or_default();
            let Parts { scheme, userinfo, host, after_host, path, query, fragment, .. } = self;
            let authority = if self.port_first { format!("{host}{port}{after_host}") } else { format!("{host}{after_host}{port}") };
            format!("{scheme}://{userinfo}{authority}{path}{query}{fragment}")
        }
    }

    fn port() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            3 => Just(None),
            2 => (1..=65535u32).prop_map(|p| Some(p.to_string())),
            3 => prop::sample::select(vec![
                "0", "00", "080", "08080", "1", "80", "443", "65535", "65536", "99999", "123456", "", "+80", "-1", " 80", "８０",
                "80:81", "1e3", "5000@evil.test", "5000.evil",
            ])
            .prop_map(|p| Some(p.to_string())),
        ]
    }

    fn parts() -> impl Strategy<Value = Parts> {
        (
            prop_oneof![4 => Just("http"), 1 => prop::sample::select(vec!["https", "HTTP", "Http", "ftp"])],
            prop_oneof![6 => Just(""), 1 => prop::sample::select(vec!["user@", "127.0.0.1@", "u:p@", "[::1]@"])],
            prop_oneof![
                3 => prop::sample::select(vec!["127.0.0.1", "[::1]"]),
                2 => prop::sample::select(vec![
                    "localhost", "LOCALHOST", "127.0.0.2", "[::2]", "[0:0:0:0:0:0:0:1]", "127.1", "2130706433", "0x7f.0.0.1",
                    "app.example.test", "evil.test", "127.0.0.1.evil", "[::1].evil",
                ]),
            ],
            prop_oneof![4 => Just(""), 1 => prop::sample::select(vec![".evil", ".evil.test", "@evil.test", "%2eevil", "%40evil.test", "#@evil.test"])],
            (port(), any::<bool>()),
            prop::sample::select(vec![
                "", "/", "/cb", "/cb", "/cb/", "/CB", "/c%62", "/cb%2F", "/cb/..", "//evil.test", "/\\evil.test", "/callback", "/cb;x",
            ]),
            prop::sample::select(vec!["", "", "?", "?a=1", "?a=1&b=2", "?A=1", "?a=%31"]),
            prop_oneof![5 => Just(""), 1 => prop::sample::select(vec!["#", "#x"])],
        )
            .prop_map(|(scheme, userinfo, host, after_host, (port, port_first), path, query, fragment)| Parts {
                scheme,
                userinfo,
                host,
                after_host,
                port,
                port_first,
                path,
                query,
                fragment,
            })
    }

    /// A small change of one URI: a character's case flipped or percent-encoded, a trailing
    /// `/`, `?`, `#` or `.`, a character dropped.
    fn mutate(uri: &str, at: Index, how: u8) -> String {
        let chars: Vec<char> = uri.chars().collect();
        if chars.is_empty() {
            return uri.to_string();
        }
        let i = at.index(chars.len());
        let c = chars[i];
        let (before, after): (String, String) = (chars[..i].iter().collect(), chars[i + 1..].iter().collect());
        match how % 6 {
            0 if c.is_ascii_lowercase() => format!("{before}{}{after}", c.to_ascii_uppercase()),
            0 => format!("{before}{}{after}", c.to_ascii_lowercase()),
            1 => format!("{before}%{:02X}{after}", c as u32 & 0xff),
            2 => format!("{uri}/"),
            3 => format!("{uri}?"),
            4 => format!("{uri}{}", ["#", ".", "%20", ":"][i % 4]),
            _ => format!("{before}{after}"),
        }
    }

    /// (registered, requested): one URI with two ports, one URI and a variant of it (parts
    /// replaced, a small change, a suffix), two unrelated ones, or free text; either way round.
    fn pair() -> impl Strategy<Value = (String, String)> {
        let ports = (parts(), port(), port()).prop_map(|(p, a, b)| {
            let (mut r, mut q) = (p.clone(), p);
            (r.port, q.port) = (a, b);
            (r.uri(), q.uri())
        });
        let varied = (parts(), parts(), prop::collection::vec(any::<bool>(), 8)).prop_map(|(a, b, swap)| {
            let mut q = a.clone();
            let pick = |i: usize| swap[i] && swap[(i + 3) % 8];
            if pick(0) {
                q.scheme = b.scheme;
            }
            if pick(1) {
                q.userinfo = b.userinfo;
            }
            if pick(2) {
                q.host = b.host;
            }
            if pick(3) {
                q.after_host = b.after_host;
            }
            if swap[4] {
                q.port = b.port.clone();
            }
            if pick(5) {
                q.path = b.path;
            }
            if pick(6) {
                q.query = b.query;
            }
            if pick(7) {
                q.fragment = b.fragment;
            }
            (a.uri(), q.uri())
        });
        prop_oneof![
            4 => ports,
            4 => varied,
            2 => (parts(), any::<Index>(), any::<u8>()).prop_map(|(p, at, how)| (p.uri(), mutate(&p.uri(), at, how))),
            1 => (parts(), "[:/?#@.%0-9a-z]{1,8}").prop_map(|(p, suffix)| (p.uri(), format!("{}{suffix}", p.uri()))),
            1 => (parts(), parts()).prop_map(|(a, b)| (a.uri(), b.uri())),
            1 => (".{0,24}", ".{0,24}"),
        ]
        .prop_flat_map(|(r, q)| prop_oneof![Just((r.clone(), q.clone())), Just((q, r))])
    }

    /// A port as a URL writes it: empty (none), or `:` and 1-5 digits without a leading zero,
    /// 1 to 65535.
    fn is_port_part(s: &str) -> bool {
        s.is_empty()
            || s.strip_prefix(':').is_some_and(|d| {
                (1..=5).contains(&d.len())
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && !d.starts_with('0')
                    && d.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
            })
    }

    /// Every way to read `uri` as a loopback IP literal, a port (or none) and a rest that
    /// starts a path or query (or is empty): (literal, rest).
    fn loopback_readings(uri: &str) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        for literal in LOOPBACK {
            let Some(after) = uri.strip_prefix(literal) else { continue };
            for (split, _) in after.char_indices().chain([(after.len(), ' ')]) {
                let (port, rest) = after.split_at(split);
                if is_port_part(port) && (rest.is_empty() || rest.starts_with(['/', '?'])) {
                    out.push((literal, rest));
                }
            }
        }
        out
    }

    /// RFC 9700 §2.1 and RFC 8252 §7.3: equal, or the same loopback IP literal URI but for its
    /// port.
    fn model(registered: &str, requested: &str) -> bool {
        registered == requested || loopback_readings(registered).iter().any(|r| loopback_readings(requested).contains(r))
    }

    fn check_pair(registered: &str, requested: &str) -> Result<(), TestCaseError> {
        let matched = redirect_uri_matches(registered, requested);
        prop_assert!(redirect_uri_matches(registered, registered), "{:?} does not match itself", registered);
        prop_assert_eq!(matched, model(registered, requested), "{:?} ~ {:?}", registered, requested);
        prop_assert_eq!(matched, redirect_uri_matches(requested, registered), "not symmetric: {:?} ~ {:?}", registered, requested);
        if matched && registered != requested {
            // What a URL parser reads from the two must agree on everything but the port, on a
            // loopback IP host.
            let (r, q) = (url::Url::parse(registered), url::Url::parse(requested));
            prop_assert!(r.is_ok() && q.is_ok(), "{:?} ~ {:?} do not parse: {:?} {:?}", registered, requested, r, q);
            let (r, q) = (r.unwrap(), q.unwrap());
            prop_assert_eq!(q.scheme(), "http");
            let loopback = matches!(q.host(), Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST)
                || matches!(q.host(), Some(url::Host::Ipv6(ip)) if ip == std::net::Ipv6Addr::LOCALHOST);
            prop_assert!(loopback, "{:?} matched {:?} on host {:?}", requested, registered, q.host());
            prop_assert_eq!(r.host(), q.host());
            prop_assert!(q.username().is_empty() && q.password().is_none(), "userinfo in {:?}", requested);
            prop_assert_eq!((r.path(), r.query(), r.fragment()), (q.path(), q.query(), q.fragment()), "{:?} ~ {:?}", registered, requested);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(fuzz_config(1024))]

        /// A match is exact equality, or the same loopback IP literal URI (`http://127.0.0.1`,
        /// `http://[::1]`) differing only in a port of 1-5 digits without a leading zero; any
        /// such port matches (RFC 8252 §7.3 MUST); equality always matches; symmetric; and a URL
        /// parser sees the same scheme, loopback host, path, query and fragment, no userinfo.
        #[test]
        fn redirect_uris_match_exactly_or_by_loopback_port((registered, requested) in pair()) {
            check_pair(&registered, &requested)?;
        }

        /// The same pairs through the pipeline, for a client registering `registered`: the
        /// request is accepted (or its error redirected) exactly when the URIs match, always to
        /// the URI as requested; otherwise a page, never a redirect.
        #[test]
        fn the_pipeline_redirects_only_to_a_matching_uri((registered, requested) in pair(), state in prop::option::of("[a-z]{1,4}")) {
            let mut config = crate::Config::default();
            config.clients.retain(|c| c.client_id == "web-app");
            config.clients[0].redirect_uris = vec![registered.clone()];
            let settings = Settings::new(config, "http://127.0.0.1:1/api/oidc".into());
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.extend_pairs([("client_id", "web-app"), ("redirect_uri", &requested), ("response_type", "code"), ("scope", "openid")]);
            if let Some(state) = &state {
                query.append_pair("state", state);
            }
            // An empty redirect_uri is omitted (RFC 6749 §3.1), and OIDC requires one.
            let matched = !requested.is_empty() && redirect_uri_matches(&registered, &requested);
            match validate(&settings, &Params::parse(&query.finish())) {
                Ok(request) => {
                    prop_assert!(matched, "accepted {:?} for {:?}", requested, registered);
                    prop_assert_eq!(&request.redirect_uri, &requested);
                    prop_assert_eq!(&request.state, &state);
                }
                Err(AuthorizeError::Redirect { reply_to, error, description }) => {
                    prop_assert!(false, "{} ({}) redirected to {:?} for {:?}", error, description, reply_to.redirect_uri, registered);
                }
                Err(AuthorizeError::Page(why)) => prop_assert!(!matched, "{:?} ~ {:?} refused: {}", registered, requested, why),
            }
        }
    }
}
