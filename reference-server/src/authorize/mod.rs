//! The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): validate the request, decide
//! whether the user must log in or consent, then answer with a code or tokens.
//!
//! A request that needs the user becomes an *interaction*: it is stored server-side, bound to
//! the browser by a cookie and to its forms by a CSRF token, and finished by the login and
//! consent pages in `pages`.

pub mod pages;
pub mod request;
pub mod respond;
pub mod second_factor;

use crate::faults::Fault;
use crate::model::grant::{Authorization, Code, Grant};
use crate::model::request::{AuthRequest, ReplyTo, ResponseType};
use crate::model::session::{Interaction, Session};
use crate::provider::Provider;
use crate::rules::authentication::{acr_claim, amr_claim, requirement};
use crate::tokens::IdTokenContext;
use crate::util::{now_secs, random_token};
use crate::variants::Variant;
use crate::web::cookies;
use crate::web::forms::is_form;
use crate::web::html::error_page;
use crate::web::params::Params;
use crate::web::redirect::see_other;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use request::AuthorizeError;
use respond::{answering_get, reply, reply_error};
use std::sync::Arc;

pub async fn get(State(provider): State<Arc<Provider>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    answering_get(&provider, authorize(&provider, &headers, &Params::parse(query.as_deref().unwrap_or(""))))
}

/// OIDC Core §3.1.2.1: the endpoint must support POST with a form body.
pub async fn post(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    if !is_form(&headers) {
        return error_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The authorization request must be sent as application/x-www-form-urlencoded.",
        );
    }
    authorize(&provider, &headers, &Params::parse(&String::from_utf8_lossy(&body)))
}

fn authorize(provider: &Provider, headers: &HeaderMap, params: &Params) -> Response {
    let request = match request::validate(provider, params) {
        Ok(request) => request,
        Err(AuthorizeError::Page(message)) => return error_page(StatusCode::BAD_REQUEST, &message),
        Err(AuthorizeError::Redirect { reply_to, error, description }) => {
            return reply_error(&reply_to, provider, error, &description);
        }
    };
    if let Some(trust) = provider.entra.get(&request.client_id) {
        return second_factor::start(provider, params, trust, request);
    }
    let now = now_secs();
    let session = cookies::get(headers, cookies::SESSION).and_then(|id| provider.store.session(id, now).map(|s| (id.to_string(), s)));
    match session {
        Some((id, session)) if !needs_login(provider, &request, &session, now) => proceed(provider, None, request, &id, &session),
        _ if request.prompt.none && !provider.has(Fault::PromptNoneIgnored) => {
            // OIDC Core §3.1.2.6: prompt=none and the user must authenticate. The error is
            // "typically" login_required (§3.1.2.1); interaction_required is a variant.
            let error =
                if provider.has_variant(Variant::PromptNoneInteractionRequired) { "interaction_required" } else { "login_required" };
            reply_error(&reply_to(&request), provider, error, "the user must log in")
        }
        _ => start_interaction(provider, request, None, "login"),
    }
}

/// Whether the browser's session cannot be used as it is for `request`.
fn needs_login(provider: &Provider, request: &AuthRequest, session: &Session, now: u64) -> bool {
    let Some(user) = provider.config.user_by_sub(&session.sub) else { return true };
    // OIDC Core §3.1.2.1: re-authenticate when more than max_age seconds passed. auth_time has
    // whole seconds, so a floored elapsed time equal to max_age may really be more: count it as
    // too old (re-authenticating early is always allowed; this also makes max_age=0 work).
    let too_old = request.max_age.is_some_and(|max| now.saturating_sub(session.auth_time) >= max) && !provider.has(Fault::MaxAgeIgnored);
    let other_user = is_someone_else(request, user);
    let missing_method = requirement(&provider.config, request, user).methods.iter().any(|m| !session.amr.contains(m));
    let prompt_login = request.prompt.login && !provider.has(Fault::PromptLoginIgnored);
    prompt_login || request.prompt.select_account || too_old || other_user || missing_method || provider.has(Fault::SessionIgnored)
}

/// Whether `request` is for another account than `user`'s: a `login_hint` naming someone else,
/// or a `claims` request for another `sub` (OIDC Core §3.1.2.2), which also refuses a login as
/// `user` (see `pages`).
pub fn is_someone_else(request: &AuthRequest, user: &crate::config::User) -> bool {
    request.login_hint.as_deref().is_some_and(|hint| !hint_matches(hint, user)) || !request.accepts_subject(&user.sub)
}

/// `login_hint` names the account by username, email or subject.
pub fn hint_matches(hint: &str, user: &crate::config::User) -> bool {
    hint == user.username || hint == user.sub || user.claims.get("email").and_then(|e| e.as_str()) == Some(hint)
}

pub fn reply_to(request: &AuthRequest) -> ReplyTo {
    ReplyTo { redirect_uri: request.redirect_uri.clone(), mode: request.response_mode, state: request.state.clone() }
}

/// Stores the request and sends the browser to the login or consent page (`page`).
fn start_interaction(provider: &Provider, request: AuthRequest, session: Option<String>, page: &str) -> Response {
    let id = random_token();
    let lifetime = provider.config.lifetimes.interaction_secs;
    let interaction = Interaction { request, csrf: random_token(), session, expires: now_secs() + lifetime, failed_codes: 0 };
    provider.store.put_interaction(id.clone(), interaction);
    let mut response = if provider.has_variant(Variant::LoginMetaRefresh) {
        meta_refresh(&format!("{page}?interaction={id}"))
    } else {
        see_other(&provider.endpoint(&format!("/{page}?interaction={id}")))
    };
    if let Some(cookie) = cookies::set(&cookies::interaction(&id), &id, lifetime, provider.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The `login-meta-refresh` variant: a page that refreshes to `relative` (resolved against the
/// authorization endpoint, a sibling of the login and consent pages) instead of a redirect, with
/// a link for a person whose browser does not refresh.
fn meta_refresh(relative: &str) -> Response {
    let url = crate::util::html_escape(relative);
    crate::web::html::page_with_head(
        StatusCode::OK,
        "Redirecting",
        &format!("<META HTTP-EQUIV=\"Refresh\" CONTENT=\"0; URL='{url}'\">\n"),
        &format!("<p>Taking you to the sign-in page. <a href=\"{url}\">Continue</a></p>"),
    )
}

/// The user is authenticated: ask for consent if needed, else finish.
pub fn proceed(provider: &Provider, interaction: Option<&str>, request: AuthRequest, session_id: &str, session: &Session) -> Response {
    let consent_needed = provider.config.client(&request.client_id).is_some_and(|c| c.consent)
        && (request.prompt.consent || !remembered_consent(provider, &request, session));
    if !consent_needed {
        return match interaction {
            // The interaction is consumed exactly once: of concurrent logins for it, only the one
            // that takes it gets a response (a code); the others see it expired.
            Some(id) => match provider.store.take_interaction(id) {
                Some(_) => with_cleared_interaction(id, finish(provider, &request, session)),
                None => error_page(StatusCode::BAD_REQUEST, pages::EXPIRED),
            },
            None => finish(provider, &request, session),
        };
    }
    if request.prompt.none {
        return reply_error(&reply_to(&request), provider, "consent_required", "the user must approve this client");
    }
    match interaction {
        Some(id) => {
            provider.store.set_interaction_session(id, session_id);
            see_other(&provider.endpoint(&format!("/consent?interaction={id}")))
        }
        None => start_interaction(provider, request, Some(session_id.to_string()), "consent"),
    }
}

/// Whether the session's approval for the client covers everything `request` asks for.
fn remembered_consent(provider: &Provider, request: &AuthRequest, session: &Session) -> bool {
    let (Some(approved), Some(user)) = (session.consents.get(&request.client_id), provider.config.user_by_sub(&session.sub)) else {
        return false;
    };
    crate::rules::consent::covers(approved, &crate::rules::consent::asked(request, user))
}

/// Issues the authorization response for an authenticated, consenting user.
pub fn finish(provider: &Provider, request: &AuthRequest, session: &Session) -> Response {
    let reply_to = reply_to(request);
    let deny = |description: &str| reply_error(&reply_to, provider, "access_denied", description);
    let (Some(client), Some(user)) = (provider.config.client(&request.client_id), provider.config.user_by_sub(&session.sub)) else {
        return deny("the client or user no longer exists");
    };
    // OIDC Core §3.1.2.2: never a code or token for another user than the one `claims` asked
    // for (the session and login checks keep such a user from getting this far).
    if !request.accepts_subject(&user.sub) {
        return deny("the signed-in user is not the one the request asked for (OIDC Core §3.1.2.2)");
    }
    let mut control_claims = Vec::new();
    let mut id_token_subject = None;
    let (acr, amr, org_id) = match &request.entra {
        // Entra's answer: its own `sub` for the user, the acr it asked for, the one method, the
        // control's claims.
        Some(entra) => {
            // Only the second-factor page gets here with an Entra request, with the hinted user
            // and the one method; anything else (a password login) is not what Entra asked for.
            if session.sub != entra.user_sub || session.amr != [second_factor::METHOD] {
                return deny("Entra's request is answered after the second factor of the user it names, and only then");
            }
            let Some(answer) = second_factor::answer(provider, request, user) else {
                return deny("the account can no longer perform a method Entra asked for");
            };
            if !provider.has(Fault::EamHintSubIgnored) {
                id_token_subject = Some(entra.hint_sub.as_str());
            }
            if !provider.has(Fault::ControlClaimMissing) {
                control_claims = answer.control_claims;
            }
            (answer.acr, answer.amr, None)
        }
        None => {
            let requirement = requirement(&provider.config, request, user);
            if requirement.unsatisfiable {
                return deny("none of the essential acr values can be satisfied for this user (OIDC Core §5.5.1.1)");
            }
            let requested_org = request.org_id.as_ref().filter(|_| !provider.has(Fault::OrgIdIgnored));
            let org_id = match requested_org {
                Some(org) if !user.orgs.contains(org) => return deny("the user is not a member of the requested org_id"),
                Some(org) => Some(org.clone()),
                None => user.orgs.first().cloned(),
            };
            (acr_claim(&provider.config, &requirement, &session.amr), amr_claim(&session.amr), org_id)
        }
    };
    let authz = Authorization {
        client_id: client.client_id.clone(),
        sub: user.sub.clone(),
        scope: request.scope.clone(),
        resources: request.resources.clone(),
        auth_time: session.auth_time,
        max_age: request.max_age,
        acr,
        amr,
        org_id,
        claims: request.claims.clone(),
    };
    let now = now_secs();
    let issued: Result<Vec<(&str, String)>, crate::keys::KeyError> = match request.response_type {
        ResponseType::Code => {
            let code = random_token();
            provider.store.put_code(
                code.clone(),
                Code {
                    authz,
                    redirect_uri: request.redirect_uri.clone(),
                    code_challenge: request.code_challenge.clone(),
                    nonce: request.nonce.clone(),
                    expires: now + provider.config.lifetimes.code_secs,
                    redeemed: None,
                },
            );
            Ok(vec![("code", code)])
        }
        ResponseType::IdToken if provider.has(crate::faults::Fault::IdTokenResponseCarriesAccessToken) => {
            implicit_tokens(provider, client, user, request, authz, now)
        }
        ResponseType::IdToken => provider
            .mint_id_token(
                client,
                user,
                &authz,
                IdTokenContext {
                    nonce: request.nonce.as_deref(),
                    subject: id_token_subject,
                    control_claims: &control_claims,
                    ..Default::default()
                },
            )
            .map(|id_token| vec![("id_token", id_token)]),
        ResponseType::IdTokenToken => implicit_tokens(provider, client, user, request, authz, now),
    };
    match issued {
        Ok(params) => reply(&reply_to, provider, params),
        Err(e) => {
            tracing::error!("authorization response failed: {e}");
            reply_error(&reply_to, provider, "server_error", "the server could not sign the response")
        }
    }
}

/// `id_token token` (OIDC Core §3.2.2.5): an access token recorded in a new grant (so userinfo
/// and revocation reach it), and an ID token with its `at_hash`.
fn implicit_tokens(
    provider: &Provider,
    client: &crate::config::Client,
    user: &crate::config::User,
    request: &AuthRequest,
    authz: Authorization,
    now: u64,
) -> Result<Vec<(&'static str, String)>, crate::keys::KeyError> {
    // The grant lives as long as its access token (which extends it if it ends later).
    let grant =
        provider.store.add_grant(Grant { authz: authz.clone(), created: now, expires: now + provider.config.lifetimes.access_token_secs });
    // The request named one resource at most for this response type (RFC 8707 §2).
    let access = provider.mint_access_token(client, Some((&authz, grant)), &authz.scope, authz.resources.first().map(String::as_str))?;
    let ctx = IdTokenContext { nonce: request.nonce.as_deref(), access_token: Some(&access.token), ..Default::default() };
    let id_token = provider.mint_id_token(client, user, &authz, ctx)?;
    let about = provider.describe_access_token(&authz.scope, &request.scope);
    let mut params = vec![("access_token", access.token), ("token_type", about.token_type.to_string())];
    params.extend(about.expires_in.map(|secs| ("expires_in", secs.to_string())));
    params.extend(about.scope.map(|scope| ("scope", scope)));
    params.push(("id_token", id_token));
    Ok(params)
}

/// Clears the cookie of interaction `id` on the response that ends it.
pub fn with_cleared_interaction(id: &str, mut response: Response) -> Response {
    response.headers_mut().append(header::SET_COOKIE, cookies::clear(&cookies::interaction(id)));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two logins that both passed the interaction check (the window concurrent posts race in)
    /// end it once: only the first gets a code.
    #[test]
    fn an_interaction_ends_once_even_when_two_logins_reach_it() {
        let provider = Provider::new(crate::Config::default(), "http://127.0.0.1:1/api/oidc".into(), "admin".into()).unwrap();
        let query = "client_id=web-app-post&redirect_uri=https%3A%2F%2Fapp2.example.test%2Fcallback&response_type=code&scope=openid\
                     &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
        let request = request::validate(&provider, &Params::parse(query)).map_err(|_| "request").unwrap();
        let id = "interaction-1".to_string();
        let now = now_secs();
        provider.store.put_interaction(
            id.clone(),
            Interaction { request: request.clone(), csrf: "c".into(), session: None, expires: now + 60, failed_codes: 0 },
        );
        let user = provider.config.user_by_username("alice").unwrap();
        let session =
            Session { sub: user.sub.clone(), auth_time: now, amr: vec!["pwd".into()], expires: now + 60, consents: Default::default() };
        let first = proceed(&provider, Some(&id), request.clone(), "s1", &session);
        let second = proceed(&provider, Some(&id), request, "s2", &session);
        let location = |r: &Response| r.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).unwrap_or("").to_string();
        assert!(location(&first).contains("code="), "{:?}", first.status());
        assert_eq!(second.status(), StatusCode::BAD_REQUEST);
        assert!(!location(&second).contains("code="));
    }
}
