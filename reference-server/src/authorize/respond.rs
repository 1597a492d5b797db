//! Delivering an authorization response or error to the client: query, fragment or form_post,
//! always with `state` echoed and RFC 9207 `iss`, with 303 See Other (or, under variants, 302
//! after the credential forms and 307 for GET /authorize; never 307 after a credential POST).

use crate::error::describe;
use crate::faults::Fault;
use crate::model::request::{ReplyTo, ResponseMode};
use crate::provider::Provider;
use crate::util::html_escape;
use crate::variants::Variant;
use crate::web::html::{hidden, page};
use crate::web::redirect::see_other;
use axum::http::StatusCode;
use axum::response::Response;

/// Sends `params` (plus `state` and `iss`) to the client.
pub fn reply(reply_to: &ReplyTo, provider: &Provider, mut params: Vec<(&str, String)>) -> Response {
    if let Some(state) = reply_to.state.as_ref().filter(|_| !provider.has(Fault::StateNotEchoed)) {
        params.push(("state", state.clone()));
    }
    // RFC 9207 §2: the issuer identifier in every authorization response, errors included.
    if !provider.has(Fault::IssMissingFromAuthorizationResponse) {
        params.push(("iss", provider.issuer.clone()));
    }
    match reply_to.mode {
        ResponseMode::FormPost => form_post(&reply_to.redirect_uri, &params),
        ResponseMode::Query | ResponseMode::Fragment => {
            // The redirect URI was validated as absolute when the client was configured.
            let Ok(mut url) = url::Url::parse(&reply_to.redirect_uri) else {
                return crate::web::html::error_page(StatusCode::BAD_REQUEST, "The redirect URI is not a valid URL.");
            };
            if reply_to.mode == ResponseMode::Query {
                // RFC 6749 §3.1.2: keep the registered URI's own query component.
                url.query_pairs_mut().extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
            } else {
                let fragment =
                    form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str()))).finish();
                url.set_fragment(Some(&fragment));
            }
            if provider.has(Fault::Redirect307) {
                let mut response = see_other(url.as_str());
                *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                return response;
            }
            see_other(url.as_str())
        }
    }
}

/// RFC 6749 §4.1.2.1 and §4.2.2.1: an error for the client, in whichever response mode. Every
/// authorization error redirect or form_post is sent from here, so the description goes
/// through `describe` here (the character set of `error_description`, bounded in length).
pub fn reply_error(reply_to: &ReplyTo, provider: &Provider, error: &str, description: &str) -> Response {
    reply(reply_to, provider, vec![("error", error.to_string()), ("error_description", describe(description))])
}

/// A redirect answering the login or consent form POST, which carries the password: 303 (RFC
/// 9700 §4.12 SHOULD), 302 under the `login-redirect-302` variant (browsers follow it with GET
/// too). Never 307, which would repost the password to the client.
pub fn after_credentials(provider: &Provider, mut response: Response) -> Response {
    if provider.has_variant(Variant::LoginRedirect302) && response.status() == StatusCode::SEE_OTHER {
        *response.status_mut() = StatusCode::FOUND;
    }
    response
}

/// A redirect answering GET /authorize: a GET carries no body to repeat, so 307 is as good as
/// 303 for it (RFC 9110 §15.4.8): the `authorize-get-307` variant.
pub fn answering_get(provider: &Provider, mut response: Response) -> Response {
    if provider.has_variant(Variant::AuthorizeGet307) && response.status() == StatusCode::SEE_OTHER {
        *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    }
    response
}

/// OAuth 2.0 Form Post Response Mode §2: an auto-submitting HTML form.
fn form_post(redirect_uri: &str, params: &[(&str, String)]) -> Response {
    let inputs: String = params.iter().map(|(k, v)| hidden(k, v)).collect();
    let body = format!(
        "<form method=\"post\" action=\"{}\" id=\"response\">{inputs}<noscript><button type=\"submit\">Continue</button></noscript></form>\n\
         <script>document.getElementById('response').submit()</script>",
        html_escape(redirect_uri)
    );
    page(StatusCode::OK, "Submitting the authorization response", &body)
}
