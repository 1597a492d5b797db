//! Reading a bearer token from the `Authorization` header (RFC 6750 §2.1) at this server's
//! protected resources: the UserInfo endpoint and the admin API. One home, so both accept the
//! same syntax and answer the same errors.

use crate::error::OAuthError;
use axum::http::{HeaderMap, header};

/// RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token`, the scheme case-insensitive (RFC 7235
/// §2.1: `bearer x` and `BEARER x` are the same). `Ok(None)` when the request carries no bearer
/// credentials at all: no header, or another scheme (RFC 6750 §3.1 counts "attempted using an
/// unsupported authentication method" as lacking authentication information). A header that
/// is not visible ASCII, or a Bearer credential without a b64token, is malformed:
/// `invalid_request`.
pub fn from_header(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    let malformed = |why: &str| OAuthError::bearer(axum::http::StatusCode::BAD_REQUEST, "invalid_request", why);
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = all.next() else { return Ok(None) };
    // RFC 6750 §3.1: a request that repeats a credential is `invalid_request`, not the first one.
    if all.next().is_some() {
        return Err(malformed("the request has more than one Authorization header"));
    }
    let value = value.to_str().map_err(|_| malformed("the Authorization header is not visible ASCII (RFC 9110 section 5.5)"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_matches(' ');
    if !is_b64token(token) {
        return Err(malformed("the Bearer credentials are not one b64token (RFC 6750 section 2.1)"));
    }
    Ok(Some(token))
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};

    fn with(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR  abc", "Bearer abc=="] {
            let headers = with(value.as_bytes());
            assert_eq!(from_header(&headers).ok().flatten().map(|t| t.trim_end_matches('=')), Some("abc"), "{value}");
        }
    }

    #[test]
    fn no_header_or_another_scheme_is_no_credential() {
        assert_eq!(from_header(&HeaderMap::new()), Ok(None));
        assert_eq!(from_header(&with(b"Basic d2ViOnNlY3JldA==")), Ok(None));
        assert_eq!(from_header(&with(b"Bearerx abc")), Ok(None));
        assert_eq!(from_header(&with(b"DPoP abc")), Ok(None));
    }

    #[test]
    fn malformed_bearer_credentials_are_invalid_request() {
        for value in [&b"Bearer"[..], b"Bearer ", b"Bearer a b", b"Bearer a\"b", b"Bearer =", b"Bearer \xc2\xa7", b"Bearer a=b"] {
            let e = from_header(&with(value)).expect_err("malformed");
            assert_eq!((e.status, e.error), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{value:?}");
            assert!(e.challenge.is_some_and(|c| c.contains("error=\"invalid_request\"")));
        }
        let mut twice = with(b"Bearer abc");
        twice.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer def"));
        assert_eq!(from_header(&twice).expect_err("two credentials").error, Some("invalid_request"));
    }
}
