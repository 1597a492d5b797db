//! Microsoft Entra's requests as an External Authentication Method (`entra`): Entra has signed
//! the user in with a first factor and names them in an `id_token_hint`; this server asks that
//! user for a second factor only (its one-time code) and answers with the hint's `sub`, the
//! `acr` Entra asked for and the one method performed as `amr`.
//!
//! No session starts: a login with one factor must not sign the user in to other clients, and
//! Entra wants the factor performed now, so every request asks for it. The password login and
//! consent pages refuse Entra's interactions, and `finish` answers Entra only after this page.

// The early-return helpers here yield a finished page as their error, as in `pages`.
#![allow(clippy::result_large_err)]

use super::respond::{after_credentials, reply_error};
use super::{finish, pages, reply_to, with_cleared_interaction};
use crate::config::User;
use crate::entra::{HintChecks, HintTrust};
use crate::faults::Fault;
use crate::model::request::{AuthRequest, EntraLogin, ResponseType};
use crate::model::session::{Interaction, Session};
use crate::provider::Provider;
use crate::rules::authentication::one_time_code_ok;
use crate::util::{html_escape, now_secs};
use crate::web::html::{error_page, hidden, page};
use crate::web::params::Params;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::sync::Arc;

/// The one second factor this server performs: the account's one-time code (RFC 8176 `otp`).
pub const METHOD: &str = "otp";

/// Wrong codes one request may get before it ends: Entra starts again with a new request, and a
/// guesser gets a few tries per hint, not a million.
const MAX_FAILED_CODES: u32 = 5;

/// Entra's authorization request: the hint verified and its user found, then the second-factor
/// page. Entra understands `access_denied` (and `temporarily_unavailable`) only, so every
/// refusal is `access_denied` with a description saying why.
pub fn start(provider: &Provider, params: &Params, trust: &HintTrust, mut request: AuthRequest) -> Response {
    let refuse = |request: &AuthRequest, why: &str| reply_error(&reply_to(request), provider, "access_denied", why);
    // Entra asks for an ID token and nothing else: no access token is issued about its user.
    if request.response_type != ResponseType::IdToken {
        return refuse(&request, "Microsoft Entra's application is answered with an id_token only (response_type=id_token)");
    }
    let Some(hint) = params.get("id_token_hint") else {
        return refuse(&request, "Microsoft Entra names the user in an id_token_hint, and this request has none");
    };
    let checks = HintChecks { signature: !provider.has(Fault::EamHintUnverified), expiry: provider.has(Fault::EamHintExpiredRejected) };
    let hint = match trust.verify(hint, checks, now_secs()) {
        Ok(hint) => hint,
        Err(why) => return refuse(&request, &format!("the id_token_hint is refused: {why}")),
    };
    let user = hint.preferred_username.as_deref().and_then(|name| provider.config.users.iter().find(|u| super::hint_matches(name, u)));
    let Some(user) = user else {
        return refuse(&request, "the id_token_hint's user (preferred_username) has no account here");
    };
    if answer(provider, &request, user).is_none() {
        return refuse(
            &request,
            "the account has no one-time code, or Entra asked for no acr, amr or control claim this application gives",
        );
    }
    request.entra = Some(EntraLogin { hint_sub: hint.sub, user_sub: user.sub.clone() });
    super::start_interaction(provider, request, None, "second-factor")
}

/// What the ID token for Entra says about the login.
pub struct Answer {
    /// An EAM's: the requested acr the method satisfies.
    pub acr: Option<String>,
    /// The one method performed.
    pub amr: Vec<String>,
    /// A custom control's: the requested claims of the control, with the configured values.
    pub control_claims: Vec<(String, String)>,
}

/// The answer to `request` by `user`, when the user has the method and the request asks for
/// something this application gives: an EAM's `acr` (and `amr`, when it names methods), or a
/// custom control's claims (`[clients.entra] control_claims`).
pub fn answer(provider: &Provider, request: &AuthRequest, user: &User) -> Option<Answer> {
    let app = provider.config.client(&request.client_id)?.entra.as_ref()?;
    let has_method = user.methods.iter().any(|m| m == METHOD) && (user.otp.is_some() || user.totp_secret.is_some());
    if !has_method {
        return None;
    }
    let amr = if provider.has(Fault::EamAmrTwoMethods) { vec![METHOD.to_string(), "pwd".to_string()] } else { vec![METHOD.to_string()] };
    let requested = request.claims.as_ref().map(|c| &c.id_token);
    if !app.control_claims.is_empty() {
        // OIDC Core §5.5.1: a requested `value` or `values` the configured value is among, or none.
        let control_claims: Vec<(String, String)> = app
            .control_claims
            .iter()
            .filter(|(name, value)| {
                requested
                    .and_then(|r| r.get(name))
                    .is_some_and(|spec| spec.values.is_empty() || spec.values.iter().any(|v| v == value.as_str()))
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        return (!control_claims.is_empty()).then_some(Answer { acr: None, amr, control_claims });
    }
    let requested_amr: Vec<&str> =
        requested.and_then(|r| r.get("amr")).map(|spec| spec.values.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
    if !(requested_amr.is_empty() || requested_amr.contains(&METHOD)) {
        return None;
    }
    let acr = request.acr_values.iter().find(|acr| crate::entra::satisfies(acr, METHOD))?;
    let acr = if provider.has(Fault::EamAcrUnrequested) { "urn:idaas:acr:mfa".to_string() } else { acr.clone() };
    Some(Answer { acr: Some(acr), amr, control_claims: Vec::new() })
}

/// The interaction's hinted user: a second-factor page exists only for an Entra request.
fn hinted_user<'p>(provider: &'p Provider, found: &Interaction) -> Result<&'p User, Response> {
    let user = found.request.entra.as_ref().and_then(|e| provider.config.user_by_sub(&e.user_sub));
    user.ok_or_else(|| error_page(StatusCode::BAD_REQUEST, pages::EXPIRED))
}

pub async fn page_get(State(provider): State<Arc<Provider>>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    let page = pages::interaction(&provider, params.get("interaction"))
        .and_then(|(id, found)| Ok(form(&provider, &id, &found, hinted_user(&provider, &found)?, None)));
    page.unwrap_or_else(|response| response)
}

/// The page: the account as text, its one-time code as the only field.
fn form(provider: &Provider, id: &str, found: &Interaction, user: &User, error: Option<&str>) -> Response {
    let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", html_escape(e))).unwrap_or_default();
    let account = user.claims.get("email").and_then(|e| e.as_str()).unwrap_or(&user.username);
    let body = format!(
        "<p>Microsoft Entra ID asks <strong id=\"account\">{account}</strong> for a second factor.</p>{error}\n\
         <form method=\"post\" action=\"{action}\" id=\"second-factor\">{ix}{csrf}\
         <label>One-time code <input type=\"text\" name=\"otp\" autocomplete=\"one-time-code\" inputmode=\"numeric\" required></label>\
         <button type=\"submit\">Verify</button></form>",
        account = html_escape(account),
        action = html_escape(&provider.endpoint("/second-factor")),
        ix = hidden("interaction", id),
        csrf = hidden("csrf", &found.csrf),
    );
    page(StatusCode::OK, "Verify it is you", &body)
}

/// The code posted: checked for the hinted user, then the ID token to Entra. A wrong code shows
/// the page again; the interaction ends once, with the answer.
pub async fn submit(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    let form_params = Params::parse(&String::from_utf8_lossy(&body));
    // The interaction's browser (its cookie) and page (its CSRF token), as for the login form.
    let checked = pages::check_form(&provider, &headers, &form_params, true).and_then(|(id, found)| {
        let user = hinted_user(&provider, &found)?;
        Ok((id, found, user))
    });
    let (id, found, user) = match checked {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if !form_params.get("otp").is_some_and(|code| one_time_code_ok(user, code, now_secs())) {
        if provider.store.count_failed_code(&id) >= MAX_FAILED_CODES {
            provider.store.take_interaction(&id);
            let refused = reply_error(&reply_to(&found.request), &provider, "access_denied", "too many wrong one-time codes");
            return with_cleared_interaction(&id, refused);
        }
        return form(&provider, &id, &found, user, Some("The one-time code is missing or incorrect."));
    }
    if provider.store.take_interaction(&id).is_none() {
        return error_page(StatusCode::BAD_REQUEST, pages::EXPIRED);
    }
    let now = now_secs();
    let session = Session { sub: user.sub.clone(), auth_time: now, amr: vec![METHOD.into()], expires: now, consents: Default::default() };
    after_credentials(&provider, with_cleared_interaction(&id, finish(&provider, &found.request, &session)))
}
