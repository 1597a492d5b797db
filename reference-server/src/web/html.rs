//! The server's HTML: one layout for the login, consent, error and form_post pages. Every
//! interpolated value goes through `html_escape`.

use crate::util::html_escape;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// A complete page. Pages never cache (they carry CSRF tokens or authorization results) and are
/// never framed (clickjacking on the login and consent forms).
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with_head(status, title, "", body)
}

/// A complete page with `head` (trusted markup, already escaped) added to its head.
pub fn page_with_head(status: StatusCode, title: &str, head: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n{}<title>{}</title>\n\
         <style>body{{font-family:sans-serif;max-width:32em;margin:3em auto}}label{{display:block;margin:.6em 0}}\
         .error{{color:#a00}}</style>\n</head>\n<body>\n<h1>{}</h1>\n{}\n</body>\n</html>\n",
        head,
        html_escape(title),
        html_escape(title),
        body
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("content-security-policy", HeaderValue::from_static("frame-ancestors 'none'"));
    response
}

/// An error shown to the user instead of a redirect (unknown client, unregistered
/// redirect URI, expired login page).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(status, "Sign-in error", &format!("<p class=\"error\" id=\"error\">{}</p>", html_escape(message)))
}

pub fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", html_escape(name), html_escape(value))
}
