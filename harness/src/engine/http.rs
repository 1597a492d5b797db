//! The engine's HTTP client: never follows redirects (a redirect is evidence, not a detour),
//! and records every exchange, redacted at the moment it is recorded.

use crate::redact::Redactor;
use reports::Exchange;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A response read whole, and its redacted record.
#[derive(Debug, Clone)]
pub struct Response {
    /// The real URL (the exchange's is redacted): where navigation goes on from.
    pub url: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub exchange: Exchange,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|c| {
            let media = c.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
        })
    }
}

pub struct Recorder {
    client: reqwest::Client,
    redactor: Arc<Redactor>,
    /// A browser's cookie jar (none for the plain client).
    jar: Option<Arc<reqwest::cookie::Jar>>,
}

impl Recorder {
    pub fn new(redactor: Redactor) -> Recorder {
        Recorder { client: client(None), redactor: Arc::new(redactor), jar: None }
    }

    /// A browser: the same redaction, plus its own cookie jar (a fresh login session).
    pub fn browser(&self) -> Recorder {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        Recorder { client: client(Some(jar.clone())), redactor: self.redactor.clone(), jar: Some(jar) }
    }

    /// The redactor every exchange goes through, for text that is not an exchange (details).
    pub fn redactor(&self) -> Arc<Redactor> {
        self.redactor.clone()
    }

    /// The value of the cookie `name` the browser would send to `url`.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let header = self.jar.as_ref()?.cookies(&url::Url::parse(url).ok()?)?;
        let header = header.to_str().ok()?.to_string();
        header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.get(url)
    }

    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.post(url)
    }

    /// Sends the request. A transport failure is an `Err` carrying the (redacted) exchange,
    /// so a check can still show what was attempted.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<Response, Exchange> {
        let request = match request.build() {
            Ok(r) => r,
            Err(e) => return Err(self.failed_exchange("?", "?", &[], None, &e.to_string())),
        };
        let method = request.method().to_string();
        let url = request.url().to_string();
        let mut request_headers: Vec<(String, String)> =
            request.headers().iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_string())).collect();
        // The jar adds its cookies when the request is sent: record them too (names only, the
        // redactor blanks the values).
        if let Some(cookies) = self.jar.as_ref().and_then(|jar| reqwest::cookie::CookieStore::cookies(jar.as_ref(), request.url())) {
            request_headers.push(("cookie".into(), cookies.to_str().unwrap_or("<binary>").to_string()));
        }
        let request_ct = request.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        let raw_request_body = request.body().and_then(|b| b.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned());
        let request_body = raw_request_body.as_ref().map(|b| self.redactor.body(request_ct.as_deref(), b));
        let response = match self.client.execute(request).await {
            Ok(r) => r,
            Err(e) => return Err(self.failed_exchange(&method, &url, &request_headers, request_body, &describe(&e))),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.text().await {
            Ok(b) => b,
            Err(e) => return Err(self.failed_exchange(&method, &url, &request_headers, request_body, &describe(&e))),
        };
        let mut jwts = self.redactor.decoded_jwts(&url, "request URL");
        jwts.extend(raw_request_body.as_deref().map(|b| self.redactor.decoded_jwts(b, "request body")).unwrap_or_default());
        if let Some(location) = headers.get("location").and_then(|v| v.to_str().ok()) {
            jwts.extend(self.redactor.decoded_jwts(location, "Location"));
        }
        jwts.extend(self.redactor.decoded_jwts(&body, "response body"));
        let exchange = Exchange {
            method,
            url: self.redactor.url(&url),
            request_headers: self.redact_headers(&request_headers),
            request_body,
            status: Some(status),
            response_headers: self.redact_headers(
                &headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_string())).collect::<Vec<_>>(),
            ),
            response_body: Some(self.redactor.body(headers.get("content-type").and_then(|v| v.to_str().ok()), &body)),
            error: None,
            jwts,
        };
        Ok(Response { url, status, headers, body, exchange })
    }

    fn redact_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers.iter().map(|(k, v)| (k.clone(), self.redactor.header(k, v))).collect()
    }

    fn failed_exchange(&self, method: &str, url: &str, headers: &[(String, String)], body: Option<String>, error: &str) -> Exchange {
        Exchange {
            method: method.to_string(),
            url: self.redactor.url(url),
            request_headers: self.redact_headers(headers),
            request_body: body,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: Some(self.redactor.text(error)),
            jwts: Vec::new(),
        }
    }
}

fn client(jar: Option<Arc<reqwest::cookie::Jar>>) -> reqwest::Client {
    let builder = reqwest::Client::builder();
    let builder = match jar {
        Some(jar) => builder.cookie_provider(jar),
        None => builder,
    };
    builder
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("oidc-harness/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building a client without TLS options or proxies cannot fail.
        .expect("HTTP client")
}

/// reqwest's top-level message hides the cause ("error sending request"); keep the chain.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
