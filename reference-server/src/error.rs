//! OAuth error responses: always the RFC 6749 §5.2 JSON shape, never a panic or a 500 for bad
//! input.
//!
//! Every `error_description` the server sends, wherever it goes (a JSON body, the query or
//! fragment of an authorization error redirect, a form_post field, a `WWW-Authenticate`
//! challenge), passes through [`describe`]: messages cite sections with `§` and some quote
//! request input, and none of that may reach the client as it is.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The longest `error_description` sent, in characters: a message quoting raw input must not
/// blow up a redirect URL or a header.
pub const DESCRIPTION_MAX: usize = 256;

/// The realm of every `Bearer` challenge (RFC 6750 §3).
const REALM: &str = "oidc-harness";

/// RFC 6749 §4.1.2.1, §4.2.2.1, §5.2 and RFC 6750 §3: `error_description` "MUST NOT include
/// characters outside the set %x20-21 / %x23-5B / %x5D-7E". `§` becomes `section ` (so "RFC 6749
/// §3.1" reads "RFC 6749 section 3.1"), `"` becomes `'`, `\` becomes `/`, anything else outside
/// the set `?`; longer than [`DESCRIPTION_MAX`] characters, the text is cut and ends in `...`.
pub fn describe(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(DESCRIPTION_MAX + 8));
    let mut chars = text.chars().peekable();
    // Everything pushed is ASCII, so a byte length is a character count and any cut is on a
    // character boundary.
    while let Some(c) = chars.next() {
        if out.len() > DESCRIPTION_MAX {
            break;
        }
        match c {
            '§' => {
                out.push_str("section");
                if chars.peek().is_some_and(|next| *next != ' ') {
                    out.push(' ');
                }
            }
            '"' => out.push('\''),
            '\\' => out.push('/'),
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    if out.len() > DESCRIPTION_MAX {
        out.truncate(DESCRIPTION_MAX - 3);
        out.push_str("...");
    }
    out
}

/// Whether `text` keeps to the character set of `error_description` (and of `error`, whose set
/// is the same): %x20-21 / %x23-5B / %x5D-7E.
pub fn is_rfc_clean(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// An error answered directly to the client (token, revocation, userinfo and admin endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    /// The RFC 6749 §5.2 / RFC 6750 §3.1 error code; `None` only for a protected resource
    /// request without any authentication information (RFC 6750 §3.1: no error code then).
    pub error: Option<&'static str>,
    /// Free text; sent through [`describe`].
    pub description: String,
    /// The challenge for 401 answers (RFC 6749 §5.2 `invalid_client`, RFC 6750 §3).
    pub challenge: Option<String>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, error: Some(error), description: description.into(), challenge: None }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// RFC 6749 §5.2: 401 with a `WWW-Authenticate` challenge for the scheme the client used.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
        e.challenge = Some(format!("Basic realm=\"{REALM}\""));
        e
    }

    /// RFC 6750 §3.1: an error of a protected resource (userinfo, the admin API), the code
    /// and description in the `Bearer` challenge as well as in the body.
    pub fn bearer(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        let mut e = Self::new(status, error, description);
        e.challenge = Some(bearer_challenge(&[("error", error), ("error_description", &describe(&e.description))]));
        e
    }

    /// RFC 6750 §3.1: a bad bearer token, 401 with the error in the `Bearer` challenge.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::bearer(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    /// RFC 6750 §3.1: the token lacks `scope`, 403, the scope needed in the challenge.
    pub fn insufficient_scope(description: impl Into<String>, scope: &str) -> Self {
        let mut e = Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description);
        let description = describe(&e.description);
        e.challenge =
            Some(bearer_challenge(&[("error", "insufficient_scope"), ("error_description", &description), ("scope", &describe(scope))]));
        e
    }

    /// RFC 6750 §3.1: a protected resource request that "lacks any authentication information"
    /// (no token, or another scheme) gets 401 and a bare `Bearer` challenge: "the resource
    /// server SHOULD NOT include an error code or other error information". The body (not
    /// specified by RFC 6750) keeps the description for a person reading it.
    pub fn bearer_required(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: None,
            description: description.into(),
            challenge: Some(bearer_challenge(&[])),
        }
    }

    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", description)
    }
}

/// `Bearer realm="oidc-harness"[, name="value"]...` (RFC 6750 §3). Values are error codes, scopes
/// or text already through [`describe`], so none holds a `"` or `\` to escape.
fn bearer_challenge(params: &[(&str, &str)]) -> String {
    let mut challenge = format!("Bearer realm=\"{REALM}\"");
    for (name, value) in params {
        challenge.push_str(&format!(", {name}=\"{value}\""));
    }
    challenge
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.error {
            Some(error) => write!(f, "{error}: {}", self.description),
            None => write!(f, "{}", self.description),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let description = describe(&self.description);
        let body = match self.error {
            Some(error) => json!({ "error": error, "error_description": description }),
            None => json!({ "error_description": description }),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = self.challenge
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_signs_quotes_and_backslashes_are_mapped() {
        assert_eq!(describe("see RFC 6749 §3.1"), "see RFC 6749 section 3.1");
        assert_eq!(describe("see § 3.1 and §"), "see section 3.1 and section");
        assert_eq!(describe("scope \"a\\b\" unknown"), "scope 'a/b' unknown");
        assert_eq!(describe("tab\there, newline\n, é, \u{7f}, \u{0}"), "tab?here, newline?, ?, ?, ?");
        assert_eq!(describe(""), "");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_and_short_text_is_kept() {
        let exact = "a".repeat(DESCRIPTION_MAX);
        assert_eq!(describe(&exact), exact);
        let long = describe(&format!("{exact}b"));
        assert_eq!(long.len(), DESCRIPTION_MAX);
        assert!(long.ends_with("..."));
        // Multi-byte input: the cut is counted on the output, which is ASCII.
        let wide = describe(&"é§\"".repeat(400));
        assert!(wide.len() <= DESCRIPTION_MAX && wide.ends_with("...") && is_rfc_clean(&wide), "{wide}");
    }

    #[test]
    fn every_output_is_rfc_clean() {
        for text in ["\"\\§", "a\u{1F600}b", "\r\n\t", "%22 %5C ~ !#[]", "section§§§"] {
            assert!(is_rfc_clean(&describe(text)), "{text:?} -> {:?}", describe(text));
        }
        assert!(!is_rfc_clean("a\"b") && !is_rfc_clean("a\\b") && !is_rfc_clean("§") && !is_rfc_clean("\n"));
    }

    #[test]
    fn the_bearer_challenges_carry_a_described_error_or_none_at_all() {
        let e = OAuthError::invalid_token("token \"x\" expired (RFC 6750 §3.1)");
        assert_eq!(
            e.challenge.as_deref(),
            Some("Bearer realm=\"oidc-harness\", error=\"invalid_token\", error_description=\"token 'x' expired (RFC 6750 section 3.1)\"")
        );
        let none = OAuthError::bearer_required("an access token is required");
        assert_eq!((none.error, none.challenge.as_deref()), (None, Some("Bearer realm=\"oidc-harness\"")));
        let scope = OAuthError::insufficient_scope("needs openid", "openid");
        assert!(scope.challenge.as_deref().is_some_and(|c| c.ends_with(", scope=\"openid\"")));
    }

    #[tokio::test]
    async fn the_json_body_is_described_and_has_no_code_without_credentials() {
        let body = |e: OAuthError| async move {
            let bytes = axum::body::to_bytes(e.into_response().into_body(), 4096).await.unwrap_or_default();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default()
        };
        let json = body(OAuthError::invalid_request("parameter \"x\" is repeated (RFC 6749 §3.1)")).await;
        assert_eq!(json, json!({"error": "invalid_request", "error_description": "parameter 'x' is repeated (RFC 6749 section 3.1)"}));
        let json = body(OAuthError::bearer_required("an access token is required")).await;
        assert_eq!(json, json!({"error_description": "an access token is required"}));
    }
}
