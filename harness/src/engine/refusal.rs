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
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::ErrorRedirect { error } => write!(f, "refused with error={error} sent to the registered redirect URI"),
            Refusal::ErrorPage { status, url } => write!(f, "refused with an error page ({status}) at {url}"),
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

/// Classifies the exchanges of an authorization request. `tested_uri` is where the browser must
/// not go; `registered_uri` is where an error redirect is acceptable (`None` when no redirect is,
/// e.g. for an unknown client); `server` is the authorization endpoint, whose origin an error
/// page must come from. `driver_error` is why the login driver stopped, if it did.
pub fn classify(
    exchanges: &[Exchange],
    tested_uri: &str,
    registered_uri: Option<&str>,
    server: &str,
    driver_error: Option<&str>,
) -> Answer {
    let locations: Vec<url::Url> = exchanges
        .iter()
        .filter_map(|e| {
            let base = url::Url::parse(&e.url).ok()?;
            let location = e.response_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location"))?;
            base.join(&location.1).ok()
        })
        .collect();
    if let Some(to) = locations.iter().find(|l| is_client(l, tested_uri)) {
        return Answer::SentTo(to.to_string());
    }
    if let Some(registered) = registered_uri {
        for to in locations.iter().filter(|l| is_client(l, registered)) {
            if let Some(error) = response_parameter(to, "error") {
                return Answer::Refused(Refusal::ErrorRedirect { error });
            }
        }
    }
    let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
    if let Some(last) = exchanges.last()
        && let Some(status) = last.status
        && origin(&last.url).is_some_and(|o| Some(o) == origin(server))
    {
        let error_json = last
            .response_body
            .as_deref()
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .is_some_and(|j| j.get("error").is_some_and(serde_json::Value::is_string));
        if (400..500).contains(&status) || (status == 200 && error_json) {
            // The page's address without its query (the request is in the evidence).
            let url = last.url.split('?').next().unwrap_or(&last.url).to_string();
            return Answer::Refused(Refusal::ErrorPage { status, url });
        }
    }
    let seen = match exchanges.last() {
        Some(e) => match e.status {
            Some(status) => format!("the last response was {status} from {}", e.url),
            None => format!("no response from {}", e.url),
        },
        None => "no request was made".to_string(),
    };
    Answer::Inconclusive(match driver_error {
        Some(why) => format!("{why} ({seen})"),
        None => seen,
    })
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
        assert!(matches!(classify(&page, EVIL, None, SERVER, None), Answer::Refused(Refusal::ErrorPage { status: 400, .. })));
    }

    #[test]
    fn a_broken_flow_is_inconclusive() {
        let five = [exchange(SERVER, Some(500), None, Some("oops"))];
        assert!(matches!(classify(&five, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)));
        let none = [exchange(SERVER, None, None, None)];
        assert!(
            matches!(classify(&none, EVIL, Some(REGISTERED), SERVER, Some("timeout")), Answer::Inconclusive(w) if w.contains("timeout"))
        );
        let elsewhere = [exchange("https://cdn.test/x", Some(404), None, None)];
        assert!(matches!(classify(&elsewhere, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)), "not the server's page");
        let ok_page = [exchange(SERVER, Some(200), None, Some("<form></form>"))];
        assert!(matches!(classify(&ok_page, EVIL, Some(REGISTERED), SERVER, None), Answer::Inconclusive(_)));
    }
}
