//! The engine's HTTP client: never follows redirects (a redirect is evidence, not a detour),
//! reads every body up to a limit (`limits::MAX_BODY_BYTES`) within a time limit, and records
//! every exchange, redacted at the moment it is recorded.

use crate::limits::{self, MAX_BODY_BYTES, RESPONSE_TIMEOUT};
use crate::redact::Redactor;
use reports::Exchange;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A response, its body read up to the limit, and its redacted record.
#[derive(Debug, Clone)]
pub struct Response {
    /// The real URL (the exchange's is redacted): where navigation goes on from.
    pub url: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The body as text (invalid UTF-8 replaced), at most `MAX_BODY_BYTES` of it.
    pub body: String,
    /// The server sent more than `MAX_BODY_BYTES`: `body` is its beginning only, the rest was
    /// never read.
    pub truncated: bool,
    pub exchange: Exchange,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, when it is a whole JSON document.
    pub fn json(&self) -> Option<Value> {
        self.parse_json().ok()
    }

    /// The body as JSON, or why not, for details: a cut body is never parsed (its beginning is
    /// not the document the server meant, even when it happens to parse).
    pub fn parse_json(&self) -> Result<Value, String> {
        if self.truncated {
            return Err(limits::body_cut());
        }
        serde_json::from_str(&self.body).map_err(|e| format!("not JSON: {e}"))
    }

    /// "; body cut at 2 MiB" when the body was cut, else nothing: appended to details that
    /// judged the body.
    pub fn cut_note(&self) -> String {
        if self.truncated { format!("; {}", limits::body_cut()) } else { String::new() }
    }

    pub fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|c| {
            let media = c.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
        })
    }
}

/// How the clients connect: the certificates trusted beyond the system's (`--ca-file`), and
/// the time a whole response may take.
#[derive(Clone)]
pub struct ClientSettings {
    roots: Vec<reqwest::Certificate>,
    timeout: Duration,
}

impl Default for ClientSettings {
    fn default() -> ClientSettings {
        ClientSettings { roots: Vec::new(), timeout: RESPONSE_TIMEOUT }
    }
}

impl ClientSettings {
    /// Trusts the certificates of a PEM file (`--ca-file`) besides the system's roots (which
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` replace, as for OpenSSL).
    pub fn with_ca_file(path: &std::path::Path) -> Result<ClientSettings, String> {
        let pem = std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        ClientSettings::trusting(&pem).map_err(|e| format!("--ca-file {}: {e}", path.display()))
    }

    /// Trusts the certificates of a PEM text besides the system's roots (a `--ca-file`, the
    /// embedded server's self-signed certificate).
    pub fn trusting(pem: &[u8]) -> Result<ClientSettings, String> {
        let roots = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| describe(&e))?;
        if roots.is_empty() {
            return Err("no PEM certificate in it".into());
        }
        let settings = ClientSettings { roots, ..ClientSettings::default() };
        // Building a client is where the TLS backend rejects a certificate: fail here, once,
        // so `client()` cannot fail later.
        settings.builder(None).build().map_err(|e| describe(&e))?;
        Ok(settings)
    }

    #[cfg(test)]
    pub fn with_timeout(self, timeout: Duration) -> ClientSettings {
        ClientSettings { timeout, ..self }
    }

    fn builder(&self, jar: Option<Arc<reqwest::cookie::Jar>>) -> reqwest::ClientBuilder {
        let builder = match jar {
            Some(jar) => reqwest::Client::builder().cookie_provider(jar),
            None => reqwest::Client::builder(),
        };
        builder
            .redirect(reqwest::redirect::Policy::none())
            // A total timeout: from connecting until the last body chunk, so a trickle is cut.
            .timeout(self.timeout)
            .user_agent(concat!("oidc-harness/", env!("CARGO_PKG_VERSION")))
            .tls_certs_merge(self.roots.iter().cloned())
    }

    /// A client; a `jar` makes it a browser.
    pub fn client(&self, jar: Option<Arc<reqwest::cookie::Jar>>) -> reqwest::Client {
        // The roots were accepted by a build in `with_ca_file`; without them nothing can fail.
        self.builder(jar).build().expect("HTTP client")
    }
}

/// Where credentials may be sent: the provider's origins (the issuer's and the target's
/// `origins`). A request elsewhere that carries a client secret or the password, in a Basic
/// header or its body, is refused before it leaves.
#[derive(Debug, Clone, Default)]
pub struct CredentialGuard {
    origins: Vec<String>,
    /// Each credential in the encodings a request carries it in (raw, form-encoded), looked for
    /// in a Basic header, the body and the query.
    credentials: Vec<String>,
}

impl CredentialGuard {
    pub fn new(origins: Vec<String>, credentials: impl IntoIterator<Item = String>) -> CredentialGuard {
        let credentials = credentials
            .into_iter()
            .filter(|c| !c.is_empty())
            .flat_map(|c| [url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>(), c])
            .collect();
        CredentialGuard { origins, credentials }
    }

    /// Why `request` must not be sent, if it must not.
    fn refuses(&self, request: &reqwest::Request) -> Option<String> {
        let origin = request.url().origin().ascii_serialization();
        if self.credentials.is_empty() || self.origins.contains(&origin) {
            return None;
        }
        let basic = request.headers().get(reqwest::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
            use base64::Engine;
            let encoded = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic "))?;
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?).ok()
        });
        let body = request.body().and_then(|b| b.as_bytes()).map(String::from_utf8_lossy);
        let carries = |text: &str| self.credentials.iter().any(|c| text.contains(c.as_str()));
        let query = request.url().query();
        (basic.as_deref().is_some_and(carries) || body.as_deref().is_some_and(carries) || query.is_some_and(carries)).then(|| {
            format!(
                "refused to send a credential to {origin}, which is not the issuer's origin: list it in `origins` in the target file \
                 if it belongs to the provider"
            )
        })
    }
}

pub struct Recorder {
    client: reqwest::Client,
    guard: Arc<CredentialGuard>,
    settings: Arc<ClientSettings>,
    redactor: Arc<Redactor>,
    /// A browser's cookie jar (none for the plain client).
    jar: Option<Arc<reqwest::cookie::Jar>>,
}

impl Recorder {
    pub fn new(redactor: Redactor, settings: ClientSettings) -> Recorder {
        Recorder {
            client: settings.client(None),
            guard: Arc::new(CredentialGuard::default()),
            settings: Arc::new(settings),
            redactor: Arc::new(redactor),
            jar: None,
        }
    }

    /// A browser: the same redaction and settings, plus its own cookie jar (a fresh login session).
    pub fn browser(&self) -> Recorder {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        Recorder {
            client: self.settings.client(Some(jar.clone())),
            guard: self.guard.clone(),
            settings: self.settings.clone(),
            redactor: self.redactor.clone(),
            jar: Some(jar),
        }
    }

    /// This recorder, and every browser made from it, refusing to send credentials where
    /// `guard` says they must not go.
    pub fn guarded(self, guard: CredentialGuard) -> Recorder {
        Recorder { guard: Arc::new(guard), ..self }
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
        if let Some(why) = self.guard.refuses(&request) {
            return Err(self.failed_exchange(&method, &url, &request_headers, request_body, &why));
        }
        let mut response = match self.client.execute(request).await {
            Ok(r) => r,
            Err(e) => return Err(self.failed_exchange(&method, &url, &request_headers, request_body, &describe(&e))),
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let (body, truncated) = match read_bounded(&mut response).await {
            Ok(read) => read,
            Err(e) => return Err(self.failed_exchange(&method, &url, &request_headers, request_body, &describe(&e))),
        };
        // Only what was read is kept; dropping the response closes a connection still sending.
        drop(response);
        let body = String::from_utf8_lossy(&body).into_owned();
        let mut jwts = self.redactor.decoded_jwts(&url, "request URL");
        jwts.extend(raw_request_body.as_deref().map(|b| self.redactor.decoded_jwts(b, "request body")).unwrap_or_default());
        if let Some(location) = headers.get("location").and_then(|v| v.to_str().ok()) {
            jwts.extend(self.redactor.decoded_jwts(location, "Location"));
        }
        jwts.extend(self.redactor.decoded_jwts(&body, "response body"));
        let mut exchange = Exchange {
            method,
            url: self.redactor.url(&url),
            request_headers: self.redact_headers(&request_headers),
            request_body,
            status: Some(status),
            response_headers: self.redact_headers(
                &headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_string())).collect::<Vec<_>>(),
            ),
            response_body: Some(self.redactor.body(headers.get("content-type").and_then(|v| v.to_str().ok()), &body)),
            response_truncated: truncated,
            error: None,
            jwts,
        };
        super::evidence::cut_bodies(&mut exchange);
        Ok(Response { url, status, headers, body, truncated, exchange })
    }

    fn redact_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers.iter().map(|(k, v)| (k.clone(), self.redactor.header(k, v))).collect()
    }

    fn failed_exchange(&self, method: &str, url: &str, headers: &[(String, String)], body: Option<String>, error: &str) -> Exchange {
        let mut exchange = Exchange {
            method: method.to_string(),
            url: self.redactor.url(url),
            request_headers: self.redact_headers(headers),
            request_body: body,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            response_truncated: false,
            error: Some(self.redactor.text(error)),
            jwts: Vec::new(),
        };
        super::evidence::cut_bodies(&mut exchange);
        exchange
    }
}

/// Reads the body chunk by chunk, never more than `MAX_BODY_BYTES` of it: (the bytes read,
/// whether the server had more). A body is never read whole, so an endless one costs 2 MiB.
async fn read_bounded(response: &mut reqwest::Response) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

pub use super::net_error::describe;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn credentials_go_only_to_the_providers_origins() {
        let guard = CredentialGuard::new(vec!["https://id.test".into()], ["s3cret&x".to_string()]);
        let http = Recorder::new(Redactor::default(), ClientSettings::default()).guarded(guard);
        let basic = |url: &str| http.post(url).basic_auth("web", Some("s3cret&x")).form(&[("grant_type", "client_credentials")]);
        let refused = http.send(basic("https://evil.test/token")).await.unwrap_err();
        let why = refused.error.unwrap();
        assert!(why.contains("https://evil.test") && why.contains("`origins`"), "{why}");
        let in_body = http.post("https://evil.test/token").form(&[("client_id", "web"), ("client_secret", "s3cret&x")]);
        assert!(http.send(in_body).await.unwrap_err().error.unwrap().starts_with("refused to send a credential"));
        // Nothing secret in it: the request goes out (and here fails to connect, as it should).
        let plain = http.send(http.get("http://127.0.0.1:1/jwks")).await.unwrap_err();
        assert!(!plain.error.unwrap().starts_with("refused to send"));
        // Browsers made from it are guarded too.
        let browser = http.browser();
        let refused = browser.send(browser.post("https://evil.test/login").form(&[("pw", "s3cret&x")])).await.unwrap_err();
        assert!(refused.error.unwrap().starts_with("refused to send a credential"));
    }
}
