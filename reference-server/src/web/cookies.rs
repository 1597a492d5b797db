//! The cookies the server sets: the login session, one per pending interaction (binding it to
//! the browser that started it) and one per sign-out confirmation page. All are HttpOnly,
//! SameSite=Lax and scoped to the issuer path.
//!
//! The interaction and confirmation cookies are named after what they bind, not one name per
//! browser: two tabs each have theirs, and a request that arrives without the browser's cookies
//! (a cross-site form POST to /authorize, which SameSite=Lax strips) cannot replace the cookie
//! another tab still needs.

use crate::config::ISSUER_PATH;
use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "oh_session";

/// The cookie of the pending interaction `id`; its value is the id itself.
pub fn interaction(id: &str) -> String {
    named("oh_interaction_", id)
}

/// The cookie of a sign-out confirmation page whose token is `token` (submitted twice: cookie
/// and form).
pub fn logout(token: &str) -> String {
    named("oh_logout_", token)
}

/// `prefix` and the first 16 characters of `secret` (an unguessable base64url token, so the
/// name is a valid cookie name and distinct per secret).
fn named(prefix: &str, secret: &str) -> String {
    let cut = secret.char_indices().nth(16).map_or(secret.len(), |(at, _)| at);
    format!("{prefix}{}", &secret[..cut])
}

/// The value of cookie `name` in the request, if any.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

pub fn set(name: &str, value: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path={ISSUER_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")).ok()
}

pub fn clear(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{name}=; Path={ISSUER_PATH}; Max-Age=0; HttpOnly; SameSite=Lax"))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}
