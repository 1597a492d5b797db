//! The login and consent pages: plain HTML forms, so a harness drives this server exactly as it
//! drives a real IdP. Each form is bound to its interaction by a CSRF token and to the browser
//! by the interaction cookie.

// The early-return helpers here yield a finished page as their error; it is built once per
// request, so its size does not matter.
#![allow(clippy::result_large_err)]

use super::respond::after_credentials;
use super::{finish, proceed};
use crate::config::User;
use crate::model::session::{Interaction, Session};
use crate::provider::Provider;
use crate::rules::authentication::{may_need_otp, one_time_code_ok, requirement};
use crate::util::{constant_time_eq, html_escape, now_secs, random_token};
use crate::variants::Variant;
use crate::web::cookies;
use crate::web::html::{error_page, hidden, page};
use crate::web::params::Params;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use std::sync::Arc;

pub(crate) const EXPIRED: &str = "This sign-in page has expired or was already used. Start again from the application.";

/// The interaction named by `interaction_id`, if it is live.
pub(super) fn interaction(provider: &Provider, interaction_id: Option<&str>) -> Result<(String, Interaction), Response> {
    let id = interaction_id.ok_or_else(|| error_page(StatusCode::BAD_REQUEST, EXPIRED))?;
    let found = provider.store.interaction(id, now_secs()).ok_or_else(|| error_page(StatusCode::BAD_REQUEST, EXPIRED))?;
    Ok((id.to_string(), found))
}

/// A live interaction of this page's kind: Entra's requests (`second_factor`) are never signed
/// in with a password nor consented to, so the login and consent pages do not take them.
fn password_interaction(provider: &Provider, interaction_id: Option<&str>) -> Result<(String, Interaction), Response> {
    let (id, found) = interaction(provider, interaction_id)?;
    if found.request.entra.is_some() {
        return Err(error_page(StatusCode::BAD_REQUEST, EXPIRED));
    }
    Ok((id, found))
}

/// A form post must come from the browser that started the interaction (cookie) and from our
/// own form (CSRF token).
/// `entra`: the form is the second-factor page's, which only Entra's interactions take (and the
/// password and consent forms never do).
pub(super) fn check_form(provider: &Provider, headers: &HeaderMap, form: &Params, entra: bool) -> Result<(String, Interaction), Response> {
    if !crate::web::forms::is_form(headers) {
        return Err(error_page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "The form must be posted as application/x-www-form-urlencoded."));
    }
    let (id, found) = interaction(provider, form.get("interaction"))?;
    if found.request.entra.is_some() != entra {
        return Err(error_page(StatusCode::BAD_REQUEST, EXPIRED));
    }
    if !from_its_browser(headers, &id, &found, form.get("csrf")) {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "The form could not be verified (missing cookie or CSRF token). Start again from the application.",
        ));
    }
    Ok((id, found))
}

/// A post for interaction `id` comes from the browser that started it (its cookie) and from our
/// own page (its CSRF token, sent back as `csrf`).
fn from_its_browser(headers: &HeaderMap, id: &str, found: &Interaction, csrf: Option<&str>) -> bool {
    let same_browser = cookies::get(headers, &cookies::interaction(id)).is_some_and(|c| constant_time_eq(c, id));
    same_browser && csrf.is_some_and(|t| constant_time_eq(t, &found.csrf))
}

pub async fn login_page(State(provider): State<Arc<Provider>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    match password_interaction(&provider, params.get("interaction")) {
        Ok((id, found)) => login_form(&provider, &headers, &id, &found, None, StatusCode::OK),
        Err(response) => response,
    }
}

fn login_form(
    provider: &Provider,
    headers: &HeaderMap,
    id: &str,
    found: &Interaction,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    if provider.has_variant(Variant::LoginApi) {
        return login_app(provider, found);
    }
    if let Some(user) = reauth_account(provider, headers, found) {
        return reauth_form(provider, id, found, user, error, status);
    }
    let username = found.request.login_hint.as_deref().filter(|_| !provider.has(crate::faults::Fault::LoginHintIgnored)).unwrap_or("");
    if provider.has_variant(Variant::IdentifierFirstLogin) && error.is_none() {
        return identifier_form(provider, id, found, username, None);
    }
    credentials_form(provider, id, found, username, error, status)
}

/// The `login-page-several-forms` variant: a language switcher and a search box before the
/// page's own `form`, a password-reset form after it. None of their actions is served, so a
/// browser that submits one of them instead of `form` gets a 404.
fn among_other_forms(provider: &Provider, id: &str, form: String) -> String {
    if !provider.has_variant(Variant::LoginPageSeveralForms) {
        return form;
    }
    format!(
        "<form method=\"get\" action=\"{language}\" id=\"language\">{ix}\
         <select name=\"lang\"><option value=\"en\" selected>English</option><option value=\"de\">Deutsch</option></select>\
         <button type=\"submit\">Change language</button></form>\n\
         <form method=\"get\" action=\"{search}\" role=\"search\" id=\"search\">\
         <input type=\"search\" name=\"q\" placeholder=\"Search help\"><button type=\"submit\">Search</button></form>\n\
         {form}\n\
         <form method=\"post\" action=\"{forgot}\" id=\"forgot\">{ix}\
         <label>Email <input type=\"email\" name=\"email\" autocomplete=\"email\" required></label>\
         <button type=\"submit\">Reset password</button></form>",
        language = html_escape(&provider.endpoint("/language")),
        search = html_escape(&provider.endpoint("/help/search")),
        forgot = html_escape(&provider.endpoint("/forgot-password")),
        ix = hidden("interaction", id),
    )
}

/// The `reauth-password-only` variant: the account this browser is signed in to, when the login
/// page re-authenticates it (prompt=login, max_age, a stronger method) rather than letting the
/// user choose an account (select_account, a login_hint naming someone else).
fn reauth_account<'p>(provider: &'p Provider, headers: &HeaderMap, found: &Interaction) -> Option<&'p User> {
    if !provider.has_variant(Variant::ReauthPasswordOnly) || found.request.prompt.select_account {
        return None;
    }
    let session = provider.store.session(cookies::get(headers, cookies::SESSION)?, now_secs())?;
    let user = provider.config.user_by_sub(&session.sub)?;
    (!super::is_someone_else(&found.request, user)).then_some(user)
}

/// How the re-authentication page names the account: its email, else its username.
fn account_label(user: &User) -> &str {
    user.claims.get("email").and_then(|e| e.as_str()).unwrap_or(&user.username)
}

/// The re-authentication form: the account shown as text and in a readonly input (sent back
/// as shown), the password and, when needed, the one-time code; no username field.
fn reauth_form(provider: &Provider, id: &str, found: &Interaction, user: &User, error: Option<&str>, status: StatusCode) -> Response {
    let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", html_escape(e))).unwrap_or_default();
    let form = format!(
        "<form method=\"post\" action=\"{action}\" id=\"login\">{ix}{csrf}{step}\
         <label>Account <input type=\"text\" name=\"account\" value=\"{account}\" readonly></label>\
         <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>{otp}\
         <button type=\"submit\">Continue</button></form>",
        action = html_escape(&provider.endpoint("/login")),
        ix = hidden("interaction", id),
        csrf = hidden("csrf", &found.csrf),
        step = hidden("step", "reauth"),
        account = html_escape(account_label(user)),
        otp = otp_input(provider, found),
    );
    let body = format!(
        "<p>You are signed in as <strong id=\"account\">{account}</strong>. Enter your password again to continue to \
         <strong>{client}</strong>.</p>{error}\n{form}",
        account = html_escape(account_label(user)),
        client = html_escape(&found.request.client_id),
        form = among_other_forms(provider, id, form),
    );
    page(status, "Confirm it is you", &body)
}

fn otp_input(provider: &Provider, found: &Interaction) -> &'static str {
    if may_need_otp(&provider.config, &found.request) {
        "<label>One-time code <input type=\"text\" name=\"otp\" autocomplete=\"one-time-code\" inputmode=\"numeric\"></label>"
    } else {
        ""
    }
}

/// The `identifier-first-login` variant's first step: the username alone (how the user is
/// authenticated is the server's choice, OIDC Core §3.1.2.3). Any user name gets the second
/// step, so the form does not reveal which accounts exist.
fn identifier_form(provider: &Provider, id: &str, found: &Interaction, username: &str, error: Option<&str>) -> Response {
    let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", html_escape(e))).unwrap_or_default();
    let form = format!(
        "<form method=\"post\" action=\"{action}\" id=\"login\">{ix}{csrf}{step}\
         <label>Username <input type=\"text\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required></label>\
         <button type=\"submit\">Next</button></form>",
        action = html_escape(&provider.endpoint("/login")),
        ix = hidden("interaction", id),
        csrf = hidden("csrf", &found.csrf),
        step = hidden("step", "identifier"),
        username = html_escape(username),
    );
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>{error}\n{form}",
        client = html_escape(&found.request.client_id),
        form = among_other_forms(provider, id, form),
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
    let error = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", html_escape(e))).unwrap_or_default();
    let action = provider.endpoint("/login");
    let form = if provider.has_variant(Variant::LoginPageUppercaseHtml) {
        uppercase_credentials_form(&action, id, found, username, otp_input(provider, found))
    } else if provider.has_variant(Variant::LoginPageRichInputs) {
        rich_credentials_form(provider, &action, id, found, username)
    } else {
        format!(
            "<form method=\"post\" action=\"{action}\" id=\"login\">{ix}{csrf}\
             <label>Username <input type=\"text\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required></label>\
             <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>{otp}\
             <button type=\"submit\">Sign in</button></form>",
            action = html_escape(&action),
            ix = hidden("interaction", id),
            csrf = hidden("csrf", &found.csrf),
            username = html_escape(username),
            otp = otp_input(provider, found),
        )
    };
    let body = format!(
        "<p>Sign in to continue to <strong>{client}</strong>.</p>{error}\n{form}",
        client = html_escape(&found.request.client_id),
        form = among_other_forms(provider, id, form),
    );
    page(status, "Sign in", &body)
}

/// The `login-page-uppercase-html` variant's form: the same fields, written with uppercase
/// tags, attribute names and values, single-quoted and unquoted attribute values.
fn uppercase_credentials_form(action: &str, id: &str, found: &Interaction, username: &str, otp: &str) -> String {
    // Tokens are base64url, so they need no quotes; everything else is single-quoted.
    let otp = if otp.is_empty() { "" } else { "<LABEL>One-time code <INPUT TYPE=TEXT NAME=otp AUTOCOMPLETE='one-time-code'></LABEL>" };
    format!(
        "<FORM METHOD=POST ACTION='{action}' ID=login>\
         <INPUT TYPE=HIDDEN NAME=interaction VALUE={id}><INPUT TYPE='Hidden' NAME='csrf' VALUE={csrf}>\
         <LABEL>Username <INPUT TYPE=TEXT NAME=username VALUE='{username}' AUTOCOMPLETE=username REQUIRED></LABEL>\
         <LABEL>Password <INPUT TYPE='PASSWORD' NAME=password AUTOCOMPLETE='current-password' REQUIRED></LABEL>{otp}\
         <BUTTON TYPE=SUBMIT>Sign in</BUTTON></FORM>",
        action = html_escape(action),
        id = html_escape(id),
        csrf = html_escape(&found.csrf),
        username = html_escape(username),
    )
}

/// The `login-page-rich-inputs` variant's form: besides the credentials, the controls a browser
/// sends in its own way (see `rich_inputs_refusal`). The form's own action is not served and
/// its method is GET: only the clicked button's formaction and formmethod reach the login.
fn rich_credentials_form(provider: &Provider, action: &str, id: &str, found: &Interaction, username: &str) -> String {
    format!(
        "<form method=\"get\" action=\"{legacy}\" id=\"login\">{ix}{csrf}\
         <label>Username <input type=\"text\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required></label>\
         <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>{otp}\
         <label>Organisation <select name=\"tenant\"><option value=\"acme\">Acme</option><option value=\"globex\" selected>Globex</option></select></label>\
         <label>Region <select name=\"region\"><option value=\"eu\">Europe</option><option value=\"us\">United States</option></select></label>\
         <label>Device name <textarea name=\"device\">harness browser</textarea></label>\
         <label><input type=\"checkbox\" name=\"remember\" value=\"yes\"> Remember this device</label>\
         <label><input type=\"checkbox\" name=\"terms\" value=\"accepted\" checked> I accept the terms</label>\
         <fieldset><legend>Sign in with</legend>\
         <label><input type=\"radio\" name=\"method\" value=\"passkey\"> a passkey</label>\
         <label><input type=\"radio\" name=\"method\" value=\"password\" checked> my password</label></fieldset>\
         <input type=\"text\" name=\"legacy_id\" value=\"old-flow\" disabled>\
         <button type=\"button\" name=\"reveal\" value=\"password\">Show password</button>\
         <input type=\"reset\" name=\"clear\" value=\"Clear\">\
         <button type=\"submit\" name=\"action\" value=\"sign-in\" formaction=\"{action}\" formmethod=\"post\">Sign in</button>\
         <button type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button></form>",
        legacy = html_escape(&provider.endpoint("/login-legacy")),
        action = html_escape(action),
        ix = hidden("interaction", id),
        csrf = hidden("csrf", &found.csrf),
        username = html_escape(username),
        otp = otp_input(provider, found),
    )
}

/// What a `login-page-rich-inputs` form post got wrong, if anything: each control must come
/// back as a browser sends it (HTML §4.10.21.4), or not at all.
fn rich_inputs_refusal(form: &Params) -> Option<&'static str> {
    let expected = [
        ("tenant", "globex", "tenant must be the selected option"),
        ("region", "eu", "region must be the first option (none is selected)"),
        ("device", "harness browser", "device must be the textarea's text"),
        ("terms", "accepted", "the checked checkbox terms must be sent"),
        ("method", "password", "exactly the checked radio of method must be sent"),
        ("action", "sign-in", "the clicked button action=sign-in must be sent"),
    ];
    if let Some((_, _, why)) = expected.iter().find(|(name, value, _)| form.get(name) != Some(*value)) {
        return Some(why);
    }
    let never = [
        ("remember", "the unchecked checkbox remember must not be sent"),
        ("legacy_id", "the disabled input legacy_id must not be sent"),
        ("reveal", "the type=button button reveal must not be sent"),
        ("clear", "the reset button clear must not be sent"),
    ];
    never.iter().find(|(name, _)| form.contains(name)).map(|(_, why)| *why)
}

pub async fn login_submit(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&body));
    let (id, found) = match check_form(&provider, &headers, &form, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    if provider.has_variant(Variant::IdentifierFirstLogin) && form.get("step") == Some("identifier") {
        // The first step only names the account (a password sent with it is not looked at),
        // and cannot be skipped: without a username the same step is shown again.
        return match form.get("username") {
            Some(username) => credentials_form(&provider, &id, &found, username, None, StatusCode::OK),
            None => identifier_form(&provider, &id, &found, "", Some("Enter your username.")),
        };
    }
    let retry = |message: &str| login_form(&provider, &headers, &id, &found, Some(message), StatusCode::OK);
    let refuse = |why: &str| error_page(StatusCode::BAD_REQUEST, &format!("The sign-in form was not sent as the page has it: {why}."));
    let username = if form.get("step") == Some("reauth") {
        // The account is the session's, shown on the page: the form has no username field.
        let Some(account) = reauth_account(&provider, &headers, &found) else {
            return error_page(StatusCode::BAD_REQUEST, EXPIRED);
        };
        if form.contains("username") {
            return refuse("this page asks only for the password of the account it shows, and a username was sent");
        }
        if form.get("account") != Some(account_label(account)) {
            return refuse("the readonly account field must come back as shown");
        }
        account.username.as_str()
    } else {
        if provider.has_variant(Variant::LoginPageRichInputs)
            && let Some(why) = rich_inputs_refusal(&form)
        {
            return refuse(why);
        }
        form.get("username").unwrap_or("")
    };
    match sign_in(&provider, &headers, &id, &found, username, form.get("password").unwrap_or(""), form.get("otp")) {
        Ok(response) => response,
        Err(message) => retry(message),
    }
}

/// Checks the credentials for the interaction and starts a session: the response that goes on
/// (the consent page or the client) with the session cookie, or the message to show.
fn sign_in(
    provider: &Provider,
    headers: &HeaderMap,
    id: &str,
    found: &Interaction,
    username: &str,
    password: &str,
    otp: Option<&str>,
) -> Result<Response, &'static str> {
    let user = provider.config.user_by_username(username);
    // Compare against a dummy when the user is unknown, so timing does not reveal which
    // usernames exist.
    let password_ok = constant_time_eq(password, user.map_or("\u{0}unknown-user\u{0}", |u| u.password.as_str()));
    let Some(user) = user.filter(|_| password_ok) else { return Err("The username or password is incorrect.") };
    // OIDC Core §3.1.2.2: the request asked for another account (`claims` with a `sub`
    // value): this login cannot answer it, so no session starts and the page asks again.
    if !found.request.accepts_subject(&user.sub) {
        return Err("This application asked for a different account. Sign in with that account.");
    }
    let needed = requirement(&provider.config, &found.request, user);
    if needed.methods.iter().any(|m| m == "otp") && !otp.is_some_and(|given| one_time_code_ok(user, given, now_secs())) {
        return Err("This sign-in needs your one-time code, and the code given is missing or incorrect.");
    }
    // A fresh session id at every login (no session fixation); the old session ends.
    if let Some(old) = cookies::get(headers, cookies::SESSION) {
        provider.store.end_session(old);
    }
    let now = now_secs();
    let session_id = random_token();
    let session = Session {
        sub: user.sub.clone(),
        auth_time: now,
        amr: needed.methods,
        expires: now + provider.config.lifetimes.session_secs,
        consents: Default::default(),
    };
    provider.store.put_session(session_id.clone(), session.clone());
    let mut response = after_credentials(provider, proceed(provider, Some(id), found.request.clone(), &session_id, &session));
    if let Some(cookie) = cookies::set(cookies::SESSION, &session_id, provider.config.lifetimes.session_secs, provider.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The `login-api` variant's login page: a script shell with no form. The interaction is in the
/// page's URL, the account to prefill (`login_hint`) in a data attribute, its CSRF token in a
/// meta tag, for the script (or a harness's login script) to
/// send to `POST /api/login`.
fn login_app(provider: &Provider, found: &Interaction) -> Response {
    let head = format!("<meta name=\"csrf-token\" content=\"{}\">", html_escape(&found.csrf));
    let body = format!(
        "<div id=\"app\" data-api=\"{api}\" data-login-hint=\"{hint}\">Loading the sign-in app for <strong>{client}</strong>…</div>\n\
         <script>/* The sign-in app posts JSON to data-api and follows redirect_to. */</script>",
        api = html_escape(&provider.endpoint("/api/login")),
        hint = html_escape(
            found.request.login_hint.as_deref().filter(|_| !provider.has(crate::faults::Fault::LoginHintIgnored)).unwrap_or("")
        ),
        client = html_escape(&found.request.client_id),
    );
    crate::web::html::page_with_head(StatusCode::OK, "Sign in", &head, &body)
}

/// `POST /api/login` of the `login-api` variant: JSON `{interaction, username, password, otp?}`
/// with the page's CSRF token in `X-CSRF-Token`, from the browser holding the interaction
/// cookie. Answers `{"redirect_to": ...}` (where the browser goes on) with the session cookie,
/// or a 401 JSON error.
pub async fn login_api(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    use axum::response::IntoResponse;
    let json_error = |status: StatusCode, error: &str, description: &str| {
        (status, axum::Json(serde_json::json!({"error": error, "error_description": crate::error::describe(description)}))).into_response()
    };
    if !provider.has_variant(Variant::LoginApi) {
        return json_error(StatusCode::NOT_FOUND, "not_found", "this server has no login API");
    }
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return json_error(StatusCode::BAD_REQUEST, "invalid_request", "the body must be a JSON object");
    };
    let field = |name: &str| request.get(name).and_then(serde_json::Value::as_str);
    let Ok((id, found)) = password_interaction(&provider, field("interaction")) else {
        return json_error(StatusCode::BAD_REQUEST, "invalid_request", EXPIRED);
    };
    let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if !from_its_browser(&headers, &id, &found, csrf) {
        return json_error(StatusCode::FORBIDDEN, "invalid_request", "missing interaction cookie or X-CSRF-Token");
    }
    match sign_in(&provider, &headers, &id, &found, field("username").unwrap_or(""), field("password").unwrap_or(""), field("otp")) {
        Err(message) => json_error(StatusCode::UNAUTHORIZED, "invalid_credentials", message),
        Ok(next) => {
            let Some(location) = next.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
                // `proceed` always redirects; anything else is shown as it is.
                return next;
            };
            let mut answer = axum::Json(serde_json::json!({ "redirect_to": location })).into_response();
            for cookie in next.headers().get_all(header::SET_COOKIE) {
                answer.headers_mut().append(header::SET_COOKIE, cookie.clone());
            }
            answer
        }
    }
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
    let (id, found) = match password_interaction(&provider, params.get("interaction")) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let Some((_, session)) = interaction_session(&provider, &headers, &found) else {
        return error_page(StatusCode::BAD_REQUEST, EXPIRED);
    };
    let Some(user) = provider.config.user_by_sub(&session.sub) else {
        return error_page(StatusCode::BAD_REQUEST, EXPIRED);
    };
    let request = &found.request;
    // Every user claim this grant's ID tokens and userinfo can release is listed, so what is
    // released is what the user approved.
    let claims = crate::rules::claims::released_claim_names(user, &request.scope, request.claims.as_ref());
    let details = listed("It will see these details of your account:", "claims", &claims);
    let resources = listed("The access is for:", "resources", &request.resources);
    let form = format!(
        "<form method=\"post\" action=\"{action}\" id=\"consent\">{ix}{csrf}\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        action = html_escape(&provider.endpoint("/consent")),
        ix = hidden("interaction", &id),
        csrf = hidden("csrf", &found.csrf),
    );
    let body = format!(
        "<p><strong>{client}</strong> asks for access to:</p>{scopes}{details}{resources}{form}",
        client = html_escape(&request.client_id),
        scopes = listed("", "scopes", &request.scope),
        form = among_other_forms(&provider, &id, form),
    );
    page(StatusCode::OK, "Allow access?", &body)
}

/// A list for the consent page under `heading` (none when empty), `items` escaped.
fn listed<'i>(heading: &str, id: &str, items: impl IntoIterator<Item = &'i String>) -> String {
    let items: String = items.into_iter().map(|s| format!("<li>{}</li>", html_escape(s))).collect();
    match (items.is_empty(), heading.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!("<ul id=\"{id}\">{items}</ul>\n"),
        (false, false) => format!("<p>{heading}</p><ul id=\"{id}\">{items}</ul>\n"),
    }
}

pub async fn consent_submit(State(provider): State<Arc<Provider>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Params::parse(&String::from_utf8_lossy(&body));
    let (id, found) = match check_form(&provider, &headers, &form, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let Some((session_id, session)) = interaction_session(&provider, &headers, &found) else {
        return error_page(StatusCode::BAD_REQUEST, EXPIRED);
    };
    // A post without a decision is answered before the interaction is taken: the page can
    // still be submitted.
    let approved = match form.get("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    };
    // The interaction ends here whatever the decision: the form cannot be submitted twice, and
    // of concurrent submissions only the one that takes it goes on.
    if provider.store.take_interaction(&id).is_none() {
        return error_page(StatusCode::BAD_REQUEST, EXPIRED);
    }
    let request = found.request;
    let response = match approved {
        true => {
            if let Some(user) = provider.config.user_by_sub(&session.sub) {
                provider.store.add_consent(&session_id, &request.client_id, crate::rules::consent::asked(&request, user));
            }
            finish(&provider, &request, &session)
        }
        false => super::respond::reply_error(&super::reply_to(&request), &provider, "access_denied", "the user denied the request"),
    };
    after_credentials(&provider, super::with_cleared_interaction(&id, response))
}
