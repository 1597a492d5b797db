//! The HTTP edge: what one client may cost the server, whatever it sends or fails to send.
//!
//! axum's `serve` sets no timer, so a client that never finished its request head (slowloris),
//! its body, or never read its answers held a connection and a task forever, and shutdown waited
//! for it. This loop serves the router over hyper's HTTP/1.1 with a bound on each (the numbers
//! are `config::Http`, the byte limits [`HEAD_LIMIT`] and `BODY_LIMIT`):
//! - connections at once: past `max_connections` a new client is answered `503` with
//!   `Retry-After` at once and closed (it learns why, rather than hanging in the listen
//!   backlog), at a cost of at most [`MAX_REFUSALS`] small tasks;
//! - the request head must arrive within the client timeout, which also closes an idle
//!   keep-alive connection (RFC 9112 §9.5), and within [`HEAD_LIMIT`] bytes (else hyper answers
//!   431, RFC 6585 §5);
//! - the body and the answer must follow within the client timeout again, else 408 in the
//!   RFC 6749 §5.2 shape with `Connection: close` (RFC 9110 §15.5.9);
//! - a response write that makes no progress for the client timeout drops the connection;
//! - a handler that panics answers 500 `server_error` instead of dropping the connection;
//! - over HTTPS (`[tls]`), the handshake too must end within the client timeout;
//! - on shutdown nothing new is accepted, requests in flight get the grace period (RFC 9112
//!   §9.6: a graceful close), then the connections still open are dropped.

use crate::config::Http;
use crate::error::OAuthError;
use axum::Router;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::Service;

/// Bytes of a request head (request line and headers): as much as a body may carry, so a GET
/// authorization request can say what a POST can.
pub const HEAD_LIMIT: usize = 64 * 1024;
/// After a failed accept that is not one client's doing (out of file descriptors): wait for
/// connections to close rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Clients past the connection cap being told so at once; past this many more, one is closed
/// without a word.
const MAX_REFUSALS: usize = 64;
/// How long a refused client gets: its request is read (and dropped) around the 503, because
/// clients take an answer only after their request, and closing a socket with unread data
/// resets it, which could destroy the 503 before the client reads it.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);
/// RFC 9110 §15.6.4: the server cannot take the connection now; the body in the RFC 6749 §5.2
/// shape like every other error.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\
Retry-After: 1\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: 108\r\n\r\n\
{\"error\":\"temporarily_unavailable\",\"error_description\":\"the server is at its connection limit; retry later\"}";

/// `config::Http` as the loop uses it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    max_connections: usize,
    client_timeout: Duration,
    shutdown_grace: Duration,
}

impl From<Http> for Limits {
    fn from(http: Http) -> Self {
        Limits {
            max_connections: http.max_connections,
            client_timeout: Duration::from_secs(http.client_timeout_secs),
            shutdown_grace: Duration::from_secs(http.shutdown_grace_secs),
        }
    }
}

/// Serves `app` on `listener` (over TLS with `tls`) until `stop` completes, then drains the
/// connections (see the module docs).
pub(crate) async fn serve(listener: TcpListener, tls: Option<TlsAcceptor>, app: Router, limits: Limits, stop: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let (closing, closing_seen) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            Some(ended) = connections.join_next() => log_end(ended),
            accepted = accept(&listener, &slots, &refusals) => {
                if let Some((stream, slot)) = accepted {
                    connections.spawn(connection(stream, tls.clone(), app.clone(), limits, closing_seen.clone(), slot));
                }
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
    let drain = async {
        while let Some(ended) = connections.join_next().await {
            log_end(ended);
        }
    };
    if tokio::time::timeout(limits.shutdown_grace, drain).await.is_err() {
        tracing::warn!(open = connections.len(), "shutdown grace period over: dropping the connections still open");
        connections.shutdown().await;
    }
}

/// The next connection with its slot; `None` when accepting failed or no slot was free (the
/// client was refused).
async fn accept(listener: &TcpListener, slots: &Arc<Semaphore>, refusals: &Arc<Semaphore>) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    match listener.accept().await {
        Ok((stream, _)) => match slots.clone().try_acquire_owned() {
            Ok(slot) => Some((stream, slot)),
            Err(_) => {
                refuse(stream, refusals);
                None
            }
        },
        Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) => None,
        Err(e) => {
            tracing::error!("cannot accept a connection: {e}");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            None
        }
    }
}

/// Answers a client past the connection cap with [`BUSY`] and closes, in a task of its own
/// bounded by `refusals` and [`REFUSAL_LINGER`].
fn refuse(mut stream: TcpStream, refusals: &Arc<Semaphore>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        tracing::debug!("past the connection cap and the refusals in flight: closed");
        return;
    };
    tracing::debug!("past the connection cap: answered 503");
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            // Clients take an answer only once their request is out: wait for the end of its
            // head (or a few KiB of it), answer, then take the rest until the client closes.
            let mut head = Vec::new();
            let mut chunk = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match stream.read(&mut chunk).await? {
                    0 => return Ok(()),
                    n => head.extend_from_slice(&chunk[..n]),
                }
            }
            stream.write_all(BUSY).await?;
            stream.shutdown().await?;
            while stream.read(&mut chunk).await? > 0 {}
            Ok::<_, io::Error>(())
        })
        .await;
    });
}

fn log_end(ended: Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended {
        tracing::error!("a connection task failed: {e}");
    }
}

/// One connection, holding its slot until it closes: the TLS handshake first under `tls`.
async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    closing: watch::Receiver<bool>,
    slot: OwnedSemaphorePermit,
) {
    let Some(tls) = tls else { return http(stream, app, limits, closing, slot).await };
    match tokio::time::timeout(limits.client_timeout, tls.accept(stream)).await {
        Ok(Ok(stream)) => http(stream, app, limits, closing, slot).await,
        Ok(Err(e)) => tracing::debug!("TLS handshake failed: {e}"),
        Err(_) => tracing::debug!("TLS handshake not done within the client timeout: closed"),
    }
}

/// HTTP/1.1 on one connection's stream.
async fn http<S>(stream: S, app: Router, limits: Limits, mut closing: watch::Receiver<bool>, _slot: OwnedSemaphorePermit)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = StallGuard { io: TokioIo::new(stream), limit: limits.client_timeout, stalled: None };
    let timeout = limits.client_timeout;
    let service = hyper::service::service_fn(move |request| answer(app.clone(), request, timeout));
    let mut builder = http1::Builder::new();
    // `max_buf_size` alone is checked only while a head is incomplete: one read could still
    // bring a larger head whole; `max_header_size` is checked on every head.
    builder.timer(TokioTimer::new()).header_read_timeout(limits.client_timeout).max_header_size(HEAD_LIMIT).max_buf_size(HEAD_LIMIT);
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    let closing = async {
        // An error means the loop is gone: closing all the same.
        let _ = closing.wait_for(|closing| *closing).await;
    };
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        () = closing => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!("connection closed: {e}");
    }
}

/// The target of the one line per request (method, path, status, µs), at INFO:
/// `oidc-harness serve -v` switches it on. The path only: the query carries codes, states and
/// interaction ids, and it is never logged.
pub const REQUEST_LOG: &str = "reference_server::request";

/// One request: the router's answer within `limit`, a panic answered as a 500, and its log line.
async fn answer<B>(app: Router, request: Request<B>, limit: Duration) -> Result<Response, Infallible>
where
    Router: Service<Request<B>, Response = Response, Error = Infallible>,
{
    // Nothing is copied for the log unless it is on: this is the token path too.
    let logged = tracing::enabled!(target: REQUEST_LOG, tracing::Level::INFO)
        .then(|| (request.method().clone(), request.uri().path().to_string(), std::time::Instant::now()));
    let response = answer_in_time(app, request, limit).await;
    if let (Some((method, path, started)), Ok(response)) = (logged, &response) {
        tracing::info!(target: REQUEST_LOG, "{method} {path} {} {}µs", response.status().as_u16(), started.elapsed().as_micros());
    }
    response
}

async fn answer_in_time<B>(mut app: Router, request: Request<B>, limit: Duration) -> Result<Response, Infallible>
where
    Router: Service<Request<B>, Response = Response, Error = Infallible>,
{
    let mut call = std::pin::pin!(app.call(request));
    // A panic unwinds out of `poll`; caught there, the future is never polled again.
    let unwound = std::future::poll_fn(|cx| match std::panic::catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(cx))) {
        Ok(poll) => poll.map(|Ok(response)| Some(response)),
        Err(_) => Poll::Ready(None),
    });
    Ok(match tokio::time::timeout(limit, unwound).await {
        Ok(Some(response)) => response,
        Ok(None) => {
            tracing::error!("a handler panicked: answered 500");
            OAuthError::server_error("the server failed while answering this request").into_response()
        }
        Err(_) => too_slow(limit),
    })
}

/// RFC 9110 §15.5.9: the request did not arrive whole in time; the server closes rather than
/// wait on, and says so.
fn too_slow(limit: Duration) -> Response {
    let description = format!("the request did not arrive whole within {} s", limit.as_secs());
    let mut response = OAuthError::new(StatusCode::REQUEST_TIMEOUT, "invalid_request", description).into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A connection's socket whose writes fail once one has made no progress for `limit`: hyper has
/// no write timeout, and a client that stops reading would hold its connection forever.
struct StallGuard<T> {
    io: T,
    limit: Duration,
    /// Armed by the first write that could not proceed, dropped by the next that did.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> StallGuard<T> {
    fn watch<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client took none of the answer in time"))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for StallGuard<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: hyper::rt::ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for StallGuard<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.watch(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.watch(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;

    async fn json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn get_root() -> Request<Body> {
        Request::get("/").body(Body::empty()).unwrap()
    }

    /// A handler with a bug.
    fn out_of_bounds() -> &'static str {
        panic!("handler bug")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_server_error() {
        let app = Router::new().route("/", get(|| async { out_of_bounds() }));
        let response = answer(app, get_root(), Duration::from_secs(30)).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json(response).await["error"], "server_error");
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_later_than_the_client_timeout_is_408_and_closes() {
        let app = Router::new().route(
            "/",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        );
        let response = answer(app, get_root(), Duration::from_secs(5)).await.unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers()[header::CONNECTION], "close");
        let body = json(response).await;
        assert_eq!(
            (body["error"].as_str(), body["error_description"].as_str()),
            (Some("invalid_request"), Some("the request did not arrive whole within 5 s"))
        );
    }

    /// Polls one write of `bytes` through `guard` to its end.
    async fn write(guard: &mut StallGuard<TokioIo<tokio::io::DuplexStream>>, bytes: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| hyper::rt::Write::poll_write(Pin::new(&mut *guard), cx, bytes)).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_the_client_never_takes_fails_after_the_limit_and_progress_rearms_it() {
        use tokio::io::AsyncReadExt;
        let (server, mut client) = tokio::io::duplex(8);
        let mut guard = StallGuard { io: TokioIo::new(server), limit: Duration::from_secs(5), stalled: None };
        assert_eq!(write(&mut guard, b"12345678").await.unwrap(), 8, "the pipe takes 8 bytes");
        // The client reads after 4 s: the stalled write goes on, and the clock starts again.
        let reader = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            let mut first = [0u8; 8];
            client.read_exact(&mut first).await.unwrap();
            client
        });
        let started = tokio::time::Instant::now();
        assert_eq!(write(&mut guard, b"abcdefgh").await.unwrap(), 8);
        assert_eq!(started.elapsed(), Duration::from_secs(4));
        let _client = reader.await.unwrap();
        let error = write(&mut guard, b"more").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(9), "5 s after the last progress");
    }

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }

    #[tokio::test]
    async fn an_answer_in_time_passes_through() {
        let app = Router::new().route("/", get(|| async { "ok" }));
        let response = answer(app, get_root(), Duration::from_secs(5)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
