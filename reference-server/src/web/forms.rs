//! Form bodies: the one media type OAuth's form posts use.

use axum::http::{HeaderMap, header};

/// Whether the body is `application/x-www-form-urlencoded` (parameters may follow the type).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")))
}
