//! The cookies the server sets: the login session, the browser's id (which binds pending
//! interactions to the browser that started them) and the sign-out confirmation's token. All
//! are HttpOnly, SameSite=Lax and scoped to the issuer path.

use crate::config::ISSUER_PATH;
use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "oh_session";
/// One id per browser, not per interaction: two tabs of one browser each have an interaction
/// pending, and both must be able to finish.
pub const BROWSER: &str = "oh_browser";
/// The token of a sign-out confirmation page, submitted twice (cookie and form).
pub const LOGOUT: &str = "oh_logout";

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
