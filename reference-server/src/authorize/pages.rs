//! The login and consent pages: plain HTML forms, so a harness drives this server exactly as it
//! drives a real IdP. Each form is bound to its interaction by a CSRF token and to the browser
//! by the interaction cookie.

// The early-return helpers here yield a finished page as their error; it is built once per
// request, so its size does not matter.
#![allow(clippy::result_large_err)]

use super::respond::after_credentials;
use super::{finish, proceed, with_cleared_interaction};
use crate::authentication::{may_need_otp, requirement};
use crate::cookies;
use crate::html::{error_page, hidden, page};
use crate::params::Params;
use crate::provider::Provider;
use crate::store::{Interaction, Session};
use crate::util::{constant_time_eq, html_escape, now_secs, random_token};
use crate::variants::Variant;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::collections::HashSet;
use std::sync::Arc;

const EXPIRED: &str = "This sign-in page has expired or was already used. Start again from the application.";

/// The interaction named by `interaction_id`, if it is live.
fn interaction(provider: &Provider, interaction_id: Option<&str>) -> Result<(String, Interaction), Response> {
    let id = interaction_id.ok_or_else(|| error_page(StatusCode::BAD_REQUEST, EXPIRED))?;
    let found = provider.store.interaction(id, now_secs()).ok_or_else(|| error_page(StatusCode::BAD_REQUEST, EXPIRED))?;
    Ok((id.to_string(), found))
}

/// A form post must come from the browser that started the interaction (cookie) and from our
/// own form (CSRF token).
fn check_form(provider: &Provider, headers: &HeaderMap, form: &Params) -> Result<(String, Interaction), Response> {
    if !super::is_form(headers) {
        return Err(error_page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "The form must be posted as application/x-www-form-urlencoded."));
    }
    let (id, found) = interaction(provider, form.get("interaction"))?;
    let same_browser = cookies::get(headers, cookies::INTERACTION).is_some_and(|c| constant_time_eq(c, &id));
    let csrf_ok = form.get("csrf").is_some_and(|t| constant_time_eq(t, &found.csrf));
    if !same_browser || !csrf_ok {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "The form could not be verified (missing cookie or CSRF token). Start again from the application.",
        ));
    }
    Ok((id, found))
}

pub async fn login_page(State(provider): State<Arc<Provider>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    match interaction(&provider, params.get("interaction")) {
        Ok((id, found)) => login_form(&provider, &id, &found, None, StatusCode::OK),
        Err(response) => response,
    }
}

fn login_form(provider: &Provider, id: &str, found: &Interaction, error: Option<&str>, status: StatusCode) -> Response {
    let username = found.request.login_hint.as_deref().filter(|_| !provider.has(crate::faults::Fault::LoginHintIgnored)).unwrap_or("");
    if provider.has_variant(Variant::IdentifierFirstLogin) && error.is_none() {
        return identifier_form(provider, id, found, username);
    }
    credentials_form(provider, id, found, username, error, status)
}

/// The `identifier-first-login` variant's first step: the username alone (how the user is
/// authenticated is the server's choice, OIDC Core §3.1.2.3). Any user name gets the second
/// step, so the form does not reveal which accounts exist.
fn identifier_form(provider: &Provider, id: &str, found: &Interaction, username: &str) -> Response {
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>\n\
         <form method=\"post\" action=\"{action}\" id=\"login\">{ix}{csrf}{step}\
         <label>Username <input type=\"text\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required></label>\
         <button type=\"submit\">Next</button></form>",
        client = html_escape(&found.request.client_id),
        action = html_escape(&provider.endpoint("/login")),
        ix = hidden("interaction", id),
        csrf = hidden("csrf", &found.csrf),
        step = hidden("step", "identifier"),
        username = html_escape(username),
    );
    page(StatusCode::OK, "Sign in", &body)
}

/// The form that takes the credentials: username, password and, when a requested ACR or AMR may
/// need it, the one-time code.
fn credentials_form(
    provider: &Provider,
    id: &str,
    found: &Interaction,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let request = &found.request;
    let otp = if may_need_otp(&provider.config, request) {
        "<label>One-time code <input type=\"text\" name=\"otp\" autocomplete=\"one-time-code\" inputmode=\"numeric\"></label>"
    } else {
        ""
    };
    let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", html_escape(e))).unwrap_or_default();
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>{error}\n\
         <form method=\"post\" action=\"{action}\" id=\"login\">{ix}{csrf}\
         <label>Username <input type=\"text\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required></label>\
         <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>{otp}\
         <button type=\"submit\">Sign in</button></form>",
        client = html_escape(&request.client_id),
        action = html_escape(&provider.endpoint("/login")),
        ix = hidden("interaction", id),
        csrf = hidden("csrf", &found.csrf),
        username = html_escape(username),
    );
    page(status, "Sign in", &body)
}

pub async fn login_submit(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&body));
    let (id, found) = match check_form(&provider, &headers, &form) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    if provider.has_variant(Variant::IdentifierFirstLogin) && form.get("step") == Some("identifier") {
        // The first step only names the account; a password sent with it is not looked at.
        return credentials_form(&provider, &id, &found, form.get("username").unwrap_or(""), None, StatusCode::OK);
    }
    let retry = |message: &str| login_form(&provider, &id, &found, Some(message), StatusCode::OK);
    let username = form.get("username").unwrap_or("");
    let user = provider.config.user_by_username(username);
    // Compare against a dummy when the user is unknown, so timing does not reveal which
    // usernames exist.
    let password_ok = constant_time_eq(form.get("password").unwrap_or(""), user.map_or("\u{0}unknown-user\u{0}", |u| u.password.as_str()));
    let Some(user) = user.filter(|_| password_ok) else { return retry("The username or password is incorrect.") };
    let needed = requirement(&provider.config, &found.request, user);
    if needed.methods.iter().any(|m| m == "otp") {
        let otp_ok = match (form.get("otp"), &user.otp) {
            (Some(given), Some(expected)) => constant_time_eq(given, expected),
            _ => false,
        };
        if !otp_ok {
            return retry("This sign-in needs your one-time code, and the code given is missing or incorrect.");
        }
    }
    // A fresh session id at every login (no session fixation); the old session ends.
    if let Some(old) = cookies::get(&headers, cookies::SESSION) {
        provider.store.end_session(old);
    }
    let now = now_secs();
    let session_id = random_token();
    let session = Session {
        sub: user.sub.clone(),
        auth_time: now,
        amr: needed.methods,
        expires: now + provider.config.lifetimes.session_secs,
        consents: HashSet::new(),
    };
    provider.store.put_session(session_id.clone(), session.clone());
    let mut response = after_credentials(&provider, proceed(&provider, Some(&id), found.request, &session_id, &session));
    if let Some(cookie) = cookies::set(cookies::SESSION, &session_id, provider.config.lifetimes.session_secs, provider.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The session the interaction was authenticated with, if this browser still holds it.
fn interaction_session(provider: &Provider, headers: &HeaderMap, found: &Interaction) -> Option<(String, Session)> {
    let id = found.session.as_deref()?;
    if cookies::get(headers, cookies::SESSION) != Some(id) {
        return None;
    }
    provider.store.session(id, now_secs()).map(|s| (id.to_string(), s))
}

pub async fn consent_page(State(provider): State<Arc<Provider>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    let (id, found) = match interaction(&provider, params.get("interaction")) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    if interaction_session(&provider, &headers, &found).is_none() {
        return error_page(StatusCode::BAD_REQUEST, EXPIRED);
    }
    let scopes: String = found.request.scope.iter().map(|s| format!("<li>{}</li>", html_escape(s))).collect();
    let body = format!(
        "<p><strong>{client}</strong> asks for access to:</p><ul id=\"scopes\">{scopes}</ul>\n\
         <form method=\"post\" action=\"{action}\" id=\"consent\">{ix}{csrf}\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        client = html_escape(&found.request.client_id),
        action = html_escape(&provider.endpoint("/consent")),
        ix = hidden("interaction", &id),
        csrf = hidden("csrf", &found.csrf),
    );
    page(StatusCode::OK, "Allow access?", &body)
}

pub async fn consent_submit(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&body));
    let (id, found) = match check_form(&provider, &headers, &form) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let Some((session_id, session)) = interaction_session(&provider, &headers, &found) else {
        return error_page(StatusCode::BAD_REQUEST, EXPIRED);
    };
    // The interaction ends here whatever the decision: the form cannot be submitted twice.
    provider.store.take_interaction(&id);
    let request = found.request;
    let response = match form.get("decision") {
        Some("approve") => {
            provider.store.add_consent(&session_id, &request.client_id, &request.scope_string());
            finish(&provider, &request, &session)
        }
        Some("deny") => super::respond::reply_error(&super::reply_to(&request), &provider, "access_denied", "the user denied the request"),
        _ => return error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    };
    after_credentials(&provider, with_cleared_interaction(response))
}
