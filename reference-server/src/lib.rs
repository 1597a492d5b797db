//! The oidc-harness reference authorization server: the IDaaS OIDC/OAuth profile, in-process.
//!
//! ```no_run
//! # async fn demo() -> Result<(), reference_server::StartError> {
//! let server = reference_server::start(reference_server::Config::default()).await?;
//! println!("issuer: {}", server.issuer());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layers, each importing only those above it (`tests/server/layers.rs` holds the code to it):
//! - `config`, `faults` (named rule breaks), `variants` (named allowed alternatives), `settings`
//!   (the configuration with its faults and variants: all a rule consults), `error`, `util`;
//! - `model`: the protocol's objects as data (request, session, interaction, code, grant);
//! - `web`: parameters with the RFC 6749 §3.1 rules, forms, cookies, HTML, redirects;
//! - `rules`: one home per rule that several endpoints apply (client authentication, bearer
//!   credentials, PKCE, resource targets, claims, login requirements);
//! - `store` (lifecycle state, bounded), `keys` (signing), `provider` (settings, keys and store),
//!   `tokens` (minting);
//! - the endpoints, which never import one another: `authorize/` (validation pipeline, login
//!   and consent pages, response modes), `token/` (one module per grant), `userinfo`,
//!   `revocation`, `logout`, `discovery`, `admin`;
//! - `edge`: the serve loop (what one HTTP client may cost).
//!
//! Faults and variants are switched at their rule's home.

mod admin;
mod authorize;
pub mod config;
mod discovery;
mod edge;
pub mod entra;
pub mod error;
pub mod faults;
pub mod keys;
mod logout;
mod model;
pub mod provider;
mod revocation;
mod rules;
pub mod settings;
mod store;
mod tls;
mod token;
mod tokens;
pub mod totp;
mod userinfo;
mod util;
pub mod variants;
mod web;

pub use config::{Config, ConfigError, Http, ISSUER_PATH};
pub use edge::{HEAD_LIMIT, REQUEST_LOG};
pub use provider::Provider;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::OAuthError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Request bodies larger than this are refused (413): no endpoint needs more.
const BODY_LIMIT: usize = 64 * 1024;
/// How often expired codes, sessions and tokens are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// The routes below the issuer path.
pub fn router(provider: Arc<Provider>) -> Router {
    use faults::Fault;
    let authorize = get(authorize::get);
    let authorize = if provider.has(Fault::AuthorizePostRefused) { authorize } else { authorize.post(authorize::post) };
    let token = post(token::post);
    let token = if provider.has(Fault::TokenGetAccepted) { token.get(token::get) } else { token };
    let oidc = Router::new()
        .route("/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/jwks", get(discovery::jwks))
        .route("/authorize", authorize)
        .route("/login", get(authorize::pages::login_page).post(authorize::pages::login_submit))
        .route("/api/login", post(authorize::pages::login_api))
        .route("/second-factor", get(authorize::second_factor::page_get).post(authorize::second_factor::submit))
        .route("/consent", get(authorize::pages::consent_page).post(authorize::pages::consent_submit))
        .route("/token", token)
        .route("/userinfo", get(userinfo::handle).post(userinfo::handle))
        .route("/revoke", post(revocation::post))
        .route("/logout", get(logout::handle).post(logout::handle))
        .route("/admin/revoke", post(admin::revoke))
        .route("/admin/rotate-key", post(admin::rotate_key))
        .route("/admin/stats", get(admin::stats));
    let oidc = if provider.has(Fault::IntrospectionServed) {
        oidc.route("/introspect", post(discovery::introspection_served_anyway))
    } else {
        oidc
    };
    let oidc =
        if provider.has(Fault::RegistrationServed) { oidc.route("/register", post(discovery::registration_served_anyway)) } else { oidc };

    let oidc = if provider.has_variant(variants::Variant::MetadataInRfc8414Only) {
        oidc.route("/.well-known/oauth-authorization-server", get(discovery::authorization_server_metadata))
    } else {
        oidc
    };

    let mut routes = Router::new().nest(ISSUER_PATH, oidc);
    if provider.has_variant(variants::Variant::MetadataInRfc8414Only) {
        // RFC 8414 §3.1: the well-known path inserted between the host and the issuer's path.
        routes =
            routes.route(&format!("/.well-known/oauth-authorization-server{ISSUER_PATH}"), get(discovery::authorization_server_metadata));
    }
    routes = routes.layer(axum::middleware::map_response(every_answer)).layer(DefaultBodyLimit::max(BODY_LIMIT));
    // Only a server told to misbehave pays for the fault layer: token issuance stays untouched.
    // It is the outermost, so it sees every answer as sent (every_answer would
    // otherwise turn the `error-not-json` fault's plain-text errors back into JSON).
    if provider.settings.faults != faults::Faults::default() {
        routes = routes.layer(axum::middleware::map_response_with_state(provider.clone(), faults_in_responses));
    }
    routes.with_state(provider)
}

/// What every answer gets: `X-Content-Type-Options: nosniff` (a browser never second-guesses a
/// JSON or HTML answer's type), and the RFC 6749 §5.2 shape for the bad requests axum answers
/// itself with plain text (oversized or unreadable body, wrong method), keeping their headers
/// (a 405's `Allow`, RFC 9110 §15.5.6).
async fn every_answer(response: Response) -> Response {
    let plain = response.headers().get(header::CONTENT_TYPE).is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    let mut response = match response.status() {
        // Only axum's body extractor answers a plain 400: a body that broke off or was framed
        // wrongly (RFC 9112 §7.1 chunked coding).
        StatusCode::BAD_REQUEST if plain => as_oauth(response, OAuthError::invalid_request("the request body could not be read")),
        StatusCode::PAYLOAD_TOO_LARGE if plain => {
            as_oauth(response, OAuthError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "request body too large"))
        }
        StatusCode::METHOD_NOT_ALLOWED if plain => as_oauth(
            response,
            OAuthError::new(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", "HTTP method not allowed on this endpoint"),
        ),
        _ => response,
    };
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `error` as the answer, with the framework answer's headers but for its body's type and length.
fn as_oauth(framework: Response, error: OAuthError) -> Response {
    let mut answer = error.into_response();
    for (name, value) in framework.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

/// The faults that change responses wholesale live here, in one place, rather than in every
/// endpoint.
async fn faults_in_responses(axum::extract::State(provider): axum::extract::State<Arc<Provider>>, response: Response) -> Response {
    use faults::Fault;
    let mut response = response;
    let headers = response.headers_mut();
    if provider.has(Fault::NoWwwAuthenticate) {
        headers.remove(axum::http::header::WWW_AUTHENTICATE);
    }
    if provider.has(Fault::FramingAllowed) {
        headers.remove("x-frame-options");
        headers.remove(axum::http::header::CONTENT_SECURITY_POLICY);
    }
    let json = headers.get(axum::http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if provider.has(Fault::NoCacheControl) && json && response.status().is_success() {
        let headers = response.headers_mut();
        headers.remove(axum::http::header::CACHE_CONTROL);
        headers.remove(axum::http::header::PRAGMA);
    }
    if provider.has(Fault::ErrorNotJson) && json && response.status().is_client_error() {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
        let error = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_default();
        let mut text = (parts.status, format!("error: {error}")).into_response();
        for (name, value) in
            parts.headers.iter().filter(|(n, _)| *n != axum::http::header::CONTENT_TYPE && *n != axum::http::header::CONTENT_LENGTH)
        {
            text.headers_mut().insert(name, value.clone());
        }
        return text;
    }
    response
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// (`error`, not `source`: the message says it, and a chain printed with `{:#}` would say it twice.)
    #[error("cannot listen on {addr}: {error}")]
    Bind { addr: SocketAddr, error: std::io::Error },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error("{0}")]
    Tls(String),
}

/// A running server. Dropping it stops accepting connections as `shutdown` does, without
/// waiting for the connections in flight.
pub struct Server {
    base_url: String,
    certificate_pem: Option<String>,
    provider: Arc<Provider>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

impl Server {
    /// `http://127.0.0.1:PORT` (`https://` under `[tls]`): where the server listens (the issuer
    /// may name a public origin).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The certificate the server presents over HTTPS (`[tls]`), as PEM: a client trusts it to
    /// reach a self-signed server. `None` over plain HTTP.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// `http://127.0.0.1:PORT/api/oidc` (with a trailing `/` under the `issuer-trailing-slash`
    /// variant).
    pub fn issuer(&self) -> &str {
        &self.provider.issuer
    }

    /// The admin API's bearer token (generated when the config names none).
    pub fn admin_token(&self) -> &str {
        &self.provider.admin_token
    }

    pub fn provider(&self) -> &Arc<Provider> {
        &self.provider
    }

    /// Stops accepting connections, lets in-flight requests finish (for up to
    /// `http.shutdown_grace_secs`, then drops their connections), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.sweeper.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Server {
    /// The stop channel closes with the handle (the serve loop sees it as a stop); the sweeper
    /// would otherwise run, holding the provider, until the runtime ends.
    fn drop(&mut self) {
        self.sweeper.abort();
    }
}

/// Starts the server in-process on 127.0.0.1 with an ephemeral port.
pub async fn start(config: Config) -> Result<Server, StartError> {
    start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

/// Starts the server on `addr`.
pub async fn start_on(config: Config, addr: SocketAddr) -> Result<Server, StartError> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|error| StartError::Bind { addr, error })?;
    let local = listener.local_addr().map_err(|error| StartError::Bind { addr, error })?;
    let tls = config.tls.as_ref().map(tls::identity).transpose().map_err(StartError::Tls)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base_url = format!("{scheme}://{local}");
    let admin_token = config.admin_token.clone().unwrap_or_else(util::random_token);
    let origin = config.public_origin.clone().unwrap_or_else(|| base_url.clone());
    let limits = edge::Limits::from(config.http);
    let provider = Arc::new(Provider::new(config, format!("{origin}{ISSUER_PATH}"), admin_token)?);
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(provider.clone());
    let (acceptor, certificate_pem) = tls.map(|t| (t.acceptor, t.certificate_pem)).unzip();
    let task = tokio::spawn(edge::serve(listener, acceptor, app, limits, async {
        // A dropped sender (the handle is gone) stops the server too.
        let _ = stopped.await;
    }));
    let sweeper = tokio::spawn(sweep_forever(provider.clone()));
    Ok(Server { base_url, certificate_pem, provider, stop: Some(stop), task, sweeper })
}

async fn sweep_forever(provider: Arc<Provider>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        let sizes = provider.store.sweep(util::now_secs());
        provider.keys.sweep(std::time::Instant::now());
        tracing::debug!(?sizes, "swept expired state");
    }
}
