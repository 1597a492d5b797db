//! RP-Initiated Logout 1.0: ends the browser session and returns to a registered
//! `post_logout_redirect_uri` (exact match) with `state`, or shows a signed-out page.
//!
//! §2: the OP MUST ask the End-User whether to log out when the request has no `id_token_hint`,
//! or one that does not belong to the user signed in here. Such a request (GET or POST, from any
//! site) gets a confirmation page; its form posts back from our own origin, so the session
//! cookie (SameSite=Lax) comes along even when the RP's request was a cross-site POST that
//! carried none. With a valid hint of the signed-in user the session ends at once: the SHOULD
//! of §2 to ask anyway is deliberately not followed, so RPs that send the hint get one redirect.

use crate::keys::JwsType;
use crate::provider::Provider;
use crate::tokens::verify_own_jwt;
use crate::util::{constant_time_eq, now_secs, random_token};
use crate::web::cookies;
use crate::web::html::{error_page, hidden, page};
use crate::web::params::Params;
use crate::web::redirect::see_other;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;

/// The parameters a confirmation form carries back.
const FORWARDED: [&str; 4] = ["post_logout_redirect_uri", "state", "client_id", "id_token_hint"];
/// How long a confirmation page stays usable.
const CONFIRM_SECS: u64 = 600;

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
    let session = cookies::get(&headers, cookies::SESSION);
    let decision = if method == Method::POST { params.get("decision") } else { None };
    match decision {
        Some(decision) if confirmed_here(&headers, &params) => {
            let signed_out = decision == "logout";
            if signed_out && let Some(id) = session {
                provider.store.end_session(id);
            }
            finish(&params, target, signed_out)
        }
        Some(_) => error_page(StatusCode::FORBIDDEN, "The sign-out form could not be verified. Start again from the application."),
        None if hint_is_the_signed_in_user(&provider, &params, session) => {
            if let Some(id) = session {
                provider.store.end_session(id);
            }
            finish(&params, target, true)
        }
        None => confirmation_page(&provider, &params),
    }
}

/// §2: a valid `id_token_hint` (signature and issuer; its expiry does not matter at logout,
/// when old ID tokens come back) whose `sub` is the user of this browser's live session.
fn hint_is_the_signed_in_user(provider: &Provider, params: &Params, session: Option<&str>) -> bool {
    let Some(session) = session.and_then(|id| provider.store.session(id, now_secs())) else { return false };
    let Some(claims) = params.get("id_token_hint").and_then(|hint| verify_own_jwt(provider, hint, JwsType::Jwt, 0).ok()) else {
        return false;
    };
    claims.get("sub").and_then(|s| s.as_str()) == Some(session.sub.as_str())
}

/// The answer once the user decided (or the hint made asking unnecessary).
fn finish(params: &Params, target: Option<url::Url>, signed_out: bool) -> Response {
    let mut response = match target {
        Some(mut url) => {
            if let Some(state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            see_other(url.as_str())
        }
        None if signed_out => page(StatusCode::OK, "Signed out", "<p id=\"signed-out\">You are signed out.</p>"),
        None => page(StatusCode::OK, "Still signed in", "<p id=\"still-signed-in\">You are still signed in.</p>"),
    };
    let headers = response.headers_mut();
    if signed_out {
        headers.append(header::SET_COOKIE, cookies::clear(cookies::SESSION));
    }
    if let Some(token) = params.get("confirmation") {
        headers.append(header::SET_COOKIE, cookies::clear(&cookies::logout(token)));
    }
    response
}

/// Asks the user; the form's token is also set as a cookie (double submit), so only a post
/// from this page in this browser counts as the answer.
fn confirmation_page(provider: &Provider, params: &Params) -> Response {
    let token = random_token();
    let forwarded: String = FORWARDED.iter().filter_map(|name| params.get(name).map(|v| hidden(name, v))).collect();
    let body = format!(
        "<p>Do you want to sign out?</p>\n<form id=\"logout\" method=\"post\" action=\"{}\">\n{forwarded}{}\n\
         <button type=\"submit\" name=\"decision\" value=\"logout\">Sign out</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"stay\">Stay signed in</button>\n</form>",
        crate::util::html_escape(&provider.endpoint("/logout")),
        hidden("confirmation", &token)
    );
    let mut response = page(StatusCode::OK, "Sign out", &body);
    if let Some(cookie) = cookies::set(&cookies::logout(&token), &token, CONFIRM_SECS, provider.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The post came from our confirmation page in this browser.
fn confirmed_here(headers: &HeaderMap, params: &Params) -> bool {
    let Some(form) = params.get("confirmation") else { return false };
    cookies::get(headers, &cookies::logout(form)).is_some_and(|cookie| constant_time_eq(cookie, form))
}

/// RP-Initiated Logout §2/§3: the redirect must be registered for the client named by
/// `client_id` or by the `id_token_hint`'s audience.
fn post_logout_target(provider: &Provider, params: &Params) -> Result<Option<url::Url>, String> {
    let Some(uri) = params.get("post_logout_redirect_uri") else { return Ok(None) };
    // The hint may be expired: logout is exactly when old ID tokens come back. Only the
    // signature and issuer matter here, so check it as of its own issue time.
    let hinted_client = params.get("id_token_hint").and_then(|hint| {
        let claims = verify_own_jwt(provider, hint, JwsType::Jwt, 0).ok()?;
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
