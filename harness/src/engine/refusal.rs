//! Positive evidence of refusal. A negative check ("an unregistered redirect URI is never
//! followed") must not pass just because a flow broke: it passes only when the server visibly
//! refused, and is blocked when nothing can be told (no response, a 5xx, a login that did not
//! work). This module decides which of the three an authorization request led to.

use super::login::is_client;
use reports::Exchange;

/// How the server refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An OAuth error response sent to the client's registered redirect URI (RFC 6749 §4.1.2.1).
    ErrorRedirect { error: String },
    /// An error page or error JSON served by the server itself (4xx, or a JSON `error`).
    ErrorPage { status: u16, url: String },
    /// A 200 HTML page served by the authorization endpoint itself that cannot send the browser
    /// anywhere: no form, no script, no refresh, no mention of the URI under test. RFC 6749
    /// §4.1.2.1 asks only that the server "SHOULD inform the resource owner of the error and
    /// MUST NOT automatically redirect"; it sets no status code for that page
    /// (django-oidc-provider renders its error.html with 200).
    StaticPage { url: String },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::ErrorRedirect { error } => write!(f, "refused with error={error} sent to the registered redirect URI"),
            Refusal::ErrorPage { status, url } => write!(f, "refused with an error page ({status}) at {url}"),
            Refusal::StaticPage { url } => {
                write!(f, "refused with a page (200) at {url} that ends the flow (no form, script, refresh or link to the URI under test)")
            }
        }
    }
}

/// What an authorization request that should be refused led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Refused(Refusal),
    /// The browser was sent to the URI under test: the rule is broken.
    SentTo(String),
    /// Neither a refusal nor a redirect to the URI under test: nothing can be concluded.
    Inconclusive(String),
}

/// OAuth errors that say the server failed, not that it refused (RFC 6749 §4.1.2.1: they stand
/// for a 500 and a 503): never evidence about the rule under test.
pub const SERVER_TROUBLE: [&str; 2] = ["server_error", "temporarily_unavailable"];

/// Statuses a page may have for reasons that have nothing to do with the request under test
/// (authentication, rate limits, timeouts): a refusal only when the body is an OAuth error.
const UNRELATED_STATUSES: [u16; 5] = [401, 403, 407, 408, 429];

/// Classifies the exchanges of an authorization request. `tested_uri` is where the browser must
/// not go; `registered_uri` is where an error redirect is acceptable (`None` when no redirect is,
/// e.g. for an unknown client); `server` is the authorization endpoint: only the chain that
/// starts with a request to it is judged (a JSON login before it is set-up, never an answer),
/// and an error page must come from its origin. `driver_error` is why the login driver
/// stopped, if it did.
pub fn classify(
    exchanges: &[Exchange],
    tested_uri: &str,
    registered_uri: Option<&str>,
    server: &str,
    driver_error: Option<&str>,
) -> Answer {
    let without_query = |u: &str| u.split(['?', '#']).next().unwrap_or(u).to_string();
    let start = exchanges.iter().position(|e| without_query(&e.url) == without_query(server));
    let Some(start) = start else {
        return Answer::Inconclusive(match driver_error {
            Some(why) => format!("the authorization request was never sent: {why}"),
            None => "the authorization request was never sent".to_string(),
        });
    };
    let chain = &exchanges[start..];
    let locations: Vec<url::Url> = chain
        .iter()
        .filter_map(|e| {
            let base = url::Url::parse(&e.url).ok()?;
            let location = e.response_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location"))?;
            base.join(&location.1).ok()
        })
        .collect();
    let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
    let server_origin = origin(server);
    for to in &locations {
        let error = response_parameter(to, "error");
        let granted = ["code", "access_token", "id_token"].iter().any(|p| response_parameter(to, p).is_some());
        // The registered URI with an error (and nothing granted) is the refusal RFC 6749
        // §4.1.2.1 asks for; the tested URI is recognised by what sets it apart from the
        // registered one (another path, or the query the test added).
        let to_registered = registered_uri.is_some_and(|r| is_client(to, r) && !carries_extra_query(to, tested_uri, r));
        if to_registered
            && !granted
            && let Some(error) = error.clone().filter(|e| !SERVER_TROUBLE.contains(&e.as_str()))
        {
            return Answer::Refused(Refusal::ErrorRedirect { error });
        }
        // A grant sent on after a request naming the tested URI means it was accepted, even when
        // the server normalised it back to the registered one.
        if is_client(to, tested_uri) && (granted || !to_registered) {
            return Answer::SentTo(to.to_string());
        }
        // An error page of the server's own reached by a redirect (Ory Hydra's
        // /oauth2/fallbacks/error?error=...): the server refused and told the user.
        if origin(to.as_str()) == server_origin
            && let Some(error) = error.filter(|e| !SERVER_TROUBLE.contains(&e.as_str()))
        {
            let url = without_query(to.as_str());
            return Answer::Refused(Refusal::ErrorPage { status: 303, url: format!("{url} (error={error})") });
        }
    }
    if let Some(last) = chain.last()
        && let Some(status) = last.status
        && origin(&last.url) == server_origin
    {
        let error = last
            .response_body
            .as_deref()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .and_then(|j| j.get("error").and_then(|e| e.as_str()).map(str::to_string));
        let oauth_error = error.as_deref().is_some_and(|e| !SERVER_TROUBLE.contains(&e));
        let refusal_status = (400..500).contains(&status) && !UNRELATED_STATUSES.contains(&status);
        if refusal_status || ((400..500).contains(&status) || status == 200) && oauth_error {
            // The page's address without its query (the request is in the evidence).
            return Answer::Refused(Refusal::ErrorPage { status, url: without_query(&last.url) });
        }
        if status == 200 && without_query(&last.url) == without_query(server) && is_dead_end(last, tested_uri) {
            return Answer::Refused(Refusal::StaticPage { url: without_query(&last.url) });
        }
    }
    let seen = match chain.last() {
        Some(e) => match e.status {
            Some(status) => format!("the last response was {status} from {}", without_query(&e.url)),
            None => format!("no response from {}", without_query(&e.url)),
        },
        None => "no request was made".to_string(),
    };
    Answer::Inconclusive(match driver_error {
        Some(why) => format!("{why} ({seen})"),
        None => seen,
    })
}

/// Whether a 200 response is an HTML page the browser cannot leave by itself: no `Refresh`
/// header, no form, script or meta refresh, and no mention of the tested URI's host (a link, or
/// the URI echoed for a script elsewhere). Anything else might still send the browser on.
fn is_dead_end(page: &Exchange, tested_uri: &str) -> bool {
    let header = |name: &str| page.response_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let html = header("content-type").is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"));
    let Some(body) = page.response_body.as_deref().filter(|_| html && header("refresh").is_none()) else { return false };
    // Evidence keeps the beginning of a body (`engine::evidence`): what was cut may hold the
    // script or form that sends the browser on.
    if page.response_truncated || body.ends_with(" bytes cut]") {
        return false;
    }
    let body = body.to_ascii_lowercase();
    let host = url::Url::parse(tested_uri).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    // Anything that can send the browser on by itself or with a click: forms, scripts (also as
    // event handlers), refreshes, frames and embedded documents, links.
    static HANDLER: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\son[a-z]+\s*=").expect("handler pattern"));
    let leaves = ["<form", "<script", "http-equiv", "<iframe", "<frame", "<object", "<embed", "href="].iter().any(|tag| body.contains(tag))
        || HANDLER.is_match(&body);
    !leaves && host.is_none_or(|h| !body.contains(&h))
}

/// Whether `to` carries a query parameter that `tested` has and `registered` lacks: the browser
/// went to the tested variant, not to the registered URI.
fn carries_extra_query(to: &url::Url, tested: &str, registered: &str) -> bool {
    let pairs = |u: &str| url::Url::parse(u).map(|u| u.query_pairs().into_owned().collect::<Vec<_>>()).unwrap_or_default();
    let (tested, registered) = (pairs(tested), pairs(registered));
    let extra: Vec<&(String, String)> = tested.iter().filter(|p| !registered.contains(p)).collect();
    !extra.is_empty() && extra.iter().all(|(k, v)| to.query_pairs().any(|(tk, tv)| tk == k.as_str() && tv == v.as_str()))
}

/// A response parameter in the query or the fragment of a redirect.
fn response_parameter(url: &url::Url, name: &str) -> Option<String> {
    let query = url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    query.or_else(|| {
        url.fragment().and_then(|f| url::form_urlencoded::parse(f.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(url: &str, status: Option<u16>, location: Option<&str>, body: Option<&str>) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: url.into(),
            request_headers: vec![],
            request_body: None,
            status,
            response_headers: location.map(|l| vec![("location".to_string(), l.to_string())]).unwrap_or_default(),
            response_body: body.map(str::to_string),
            response_truncated: false,
            error: None,
            jwts: Vec::new(),
        }
    }

    const SERVER: &str = "https://idp.test/authorize";
    const REGISTERED: &str = "https://app.test/cb";
    const EVIL: &str = "https://app.test/cb/evil";

    #[test]
    fn a_redirect_to_the_tested_uri_is_never_a_refusal() {
        let ex = [exchange(SERVER, Some(302), Some("https://app.test/cb/evil?error=invalid_request"), None)];
        assert!(matches!(classify(&ex, EVIL, Some(REGISTERED), SERVER, None), Answer::SentTo(_)));
    }

    #[test]
    fn an_error_to_the_registered_uri_or_a_4xx_page_is_a_refusal() {
        let ex = [exchange(SERVER, Some(302), Some("https://app.test/cb?error=invalid_request&state=x"), None)];
        assert_eq!(
            classify(&ex, EVIL, Some(REGISTERED), SERVER, None),
            Answer::Refused(Refusal::ErrorRedirect { error: "invalid_request".into() })
        );
        assert!(matches!(classify(&ex, EVIL, None, SERVER, None), Answer::Inconclusive(_)), "no redirect is acceptable here");
        let page = [exchange("https://idp.test/authorize?x", Some(400), None, Some("<p>bad redirect_uri</p>"))];
        // A login API answering 401 before the request is no answer to it.
        let login = [exchange("https://idp.test/api/login", Some(401), None, None)];
        assert!(matches!(classify(&login, EVIL, None, SERVER, Some("login failed")), Answer::Inconclusive(_)));
        let limited = [exchange(SERVER, Some(429), None, Some("slow down"))];
        assert!(matches!(classify(&limited, EVIL, None, SERVER, None), Answer::Inconclusive(_)), "a rate limit is no refusal");
        let trouble = [exchange(SERVER, Some(302), Some("https://app.test/cb?error=server_error"), None)];
        assert!(matches!(classify(&trouble, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)), "server_error is no refusal");
        let fallback = [exchange(SERVER, Some(302), Some("/oauth2/fallbacks/error?error=invalid_request"), None)];
        assert!(matches!(classify(&fallback, EVIL, None, SERVER, None), Answer::Refused(Refusal::ErrorPage { .. })));
        assert!(matches!(classify(&page, EVIL, None, SERVER, None), Answer::Refused(Refusal::ErrorPage { status: 400, .. })));
    }

    #[test]
    fn a_variant_differing_by_its_query_is_told_from_the_registered_uri() {
        let tested = "https://app.test/cb?oidc_harness=1";
        let to_variant = [exchange(SERVER, Some(302), Some("https://app.test/cb?oidc_harness=1&error=invalid_request"), None)];
        assert!(matches!(classify(&to_variant, tested, Some(REGISTERED), SERVER, None), Answer::SentTo(_)));
        let to_registered = [exchange(SERVER, Some(302), Some("https://app.test/cb?error=invalid_request"), None)];
        assert!(matches!(classify(&to_registered, tested, Some(REGISTERED), SERVER, None), Answer::Refused(Refusal::ErrorRedirect { .. })));
        let with_code = [exchange(SERVER, Some(302), Some("https://APP.test/cb?code=c"), None)];
        assert!(matches!(classify(&with_code, "https://APP.test/cb", Some(REGISTERED), SERVER, None), Answer::SentTo(_)));
    }

    #[test]
    fn a_broken_flow_is_inconclusive() {
        let five = [exchange(SERVER, Some(500), None, Some("oops"))];
        assert!(matches!(classify(&five, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)));
        let none = [exchange(SERVER, None, None, None)];
        assert!(
            matches!(classify(&none, EVIL, Some(REGISTERED), SERVER, Some("timeout")), Answer::Inconclusive(w) if w.contains("timeout"))
        );
        let elsewhere =
            [exchange(SERVER, Some(302), Some("https://cdn.test/x"), None), exchange("https://cdn.test/x", Some(404), None, None)];
        assert!(matches!(classify(&elsewhere, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)), "not the server's page");
        let ok_page = [exchange(SERVER, Some(200), None, Some("<form></form>"))];
        assert!(matches!(classify(&ok_page, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)));
    }

    fn html(url: &str, body: &str) -> Exchange {
        let mut e = exchange(url, Some(200), None, Some(body));
        e.response_headers.push(("content-type".into(), "text/html; charset=utf-8".into()));
        e
    }

    #[test]
    fn a_static_page_of_the_authorization_endpoint_is_a_refusal() {
        // django-oidc-provider's error.html: 200, no form, no script, the URI not echoed.
        let page = [html("https://idp.test/authorize?client_id=x", "<h3>Redirect URI Error</h3><p>The request fails.</p>")];
        assert!(matches!(classify(&page, EVIL, Some(REGISTERED), SERVER, None), Answer::Refused(Refusal::StaticPage { .. })));
        assert!(matches!(classify(&page, "", None, SERVER, None), Answer::Refused(Refusal::StaticPage { .. })));
        // Anything that could still send the browser on, or a page elsewhere, proves nothing.
        for body in [
            "<p>error</p><script>location = new URLSearchParams(location.search).get('redirect_uri')</script>",
            "<meta http-equiv=\"refresh\" content=\"0;url=/go\">",
            "<a href=\"https://app.test/cb/evil?code=c\">continue</a>",
            "<form method=post><button>Continue</button></form>",
            "<body onload=\"go()\"><p>error</p></body>",
            "<p>choose an account</p><a href=\"/authorize?account=1\">Bob</a>",
            "<iframe src=\"/continue\"></iframe>",
        ] {
            let ex = [html("https://idp.test/authorize?client_id=x", body)];
            assert!(matches!(classify(&ex, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)), "{body}");
        }
        let mut refresh = html("https://idp.test/authorize", "<p>error</p>");
        refresh.response_headers.push(("refresh".into(), "0; url=https://app.test/cb/evil".into()));
        assert!(matches!(classify(&[refresh], EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)));
        let elsewhere = [exchange(SERVER, Some(302), Some("/welcome"), None), html("https://idp.test/welcome", "<p>Hello</p>")];
        assert!(matches!(classify(&elsewhere, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)), "not the endpoint's answer");
        let long = format!("<p>error</p>{}", "x".repeat(20_000));
        let mut cut = html("https://idp.test/authorize", &long);
        crate::engine::evidence::cut_bodies(&mut cut);
        assert!(matches!(classify(&[cut], EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)), "a cut page may hide a script");
        let plain = [exchange("https://idp.test/authorize", Some(200), None, Some("<p>error</p>"))];
        assert!(matches!(classify(&plain, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)), "not HTML");
    }
}
