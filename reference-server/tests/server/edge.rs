//! The HTTP edge (`config::Http`): a client that sends too much, too slowly, or never reads its
//! answers costs a bounded amount, and shutdown is not held by it. Raw TCP, since a well-behaved
//! HTTP client cannot misbehave on purpose. Each wait is bounded generously (`PATIENCE`), far
//! beyond the one-second limits the tests configure and far below the defaults they replace.

use crate::support::*;
use base64::Engine;
use reference_server::{Config, Http};
use reqwest::StatusCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for what must happen after a 1 s limit.
const PATIENCE: Duration = Duration::from_secs(20);

async fn rig_with_http(http: Http) -> Rig {
    rig_with(Config { http, ..Config::default() }).await
}

/// One-second client timeout, every other bound as default.
async fn impatient_rig() -> Rig {
    rig_with_http(Http { client_timeout_secs: 1, ..Http::default() }).await
}

async fn connect(rig: &Rig) -> TcpStream {
    TcpStream::connect(rig.server.base_url().trim_start_matches("http://")).await.expect("connect")
}

/// Everything the server sends until it closes the connection, or `None` when it has not
/// closed within `PATIENCE`. A reset counts as closed.
async fn until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    });
    read.await.ok().map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// The JSON body of a raw HTTP/1.1 answer (the server sends `content-length` bodies).
fn raw_json(answer: &str) -> serde_json::Value {
    let (_, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off() {
    let rig = impatient_rig().await;
    let mut stream = connect(&rig).await;
    stream.write_all(b"GET /api/oidc/jwks HTTP/1.1\r\nHost: idp\r\n").await.unwrap();
    assert!(until_closed(&mut stream).await.is_some(), "RFC 9112 §9.5: the connection is closed, not held");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_client_timeout() {
    let rig = impatient_rig().await;
    let mut stream = connect(&rig).await;
    stream.write_all(b"GET /api/oidc/jwks HTTP/1.1\r\nHost: idp\r\n\r\n").await.unwrap();
    let answer = until_closed(&mut stream).await.expect("closed once idle");
    assert!(answer.starts_with("HTTP/1.1 200"), "the request itself was answered: {answer}");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_in_the_oauth_shape() {
    let rig = impatient_rig().await;
    let mut stream = connect(&rig).await;
    let head =
        "POST /api/oidc/token HTTP/1.1\r\nHost: idp\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(format!("{head}grant_type").as_bytes()).await.unwrap();
    let answer = until_closed(&mut stream).await.expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "RFC 9110 §15.5.9: {answer}");
    assert!(answer.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{answer}");
    let body = raw_json(&answer);
    assert_eq!(body["error"], "invalid_request", "RFC 6749 §5.2 shape: {body}");
}

#[tokio::test]
async fn a_body_framed_wrongly_is_answered_in_the_oauth_shape() {
    let rig = rig().await;
    let mut stream = connect(&rig).await;
    let head = "POST /api/oidc/token HTTP/1.1\r\nHost: idp\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(format!("{head}zz\r\ngrant_type\r\n").as_bytes()).await.unwrap();
    let answer = until_closed(&mut stream).await.expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(raw_json(&answer)["error"], "invalid_request", "RFC 6749 §5.2 shape: {answer}");
}

#[tokio::test]
async fn a_request_head_past_the_limit_is_refused_431_and_one_below_it_is_served() {
    let rig = rig().await;
    let below = rig.http.get(rig.url("/jwks")).header("x-padding", "a".repeat(reference_server::HEAD_LIMIT - 1024)).send().await.unwrap();
    assert_eq!(below.status(), StatusCode::OK, "a head below the limit is served");
    let mut stream = connect(&rig).await;
    let padding = "a".repeat(reference_server::HEAD_LIMIT + 1);
    stream.write_all(format!("GET /api/oidc/jwks HTTP/1.1\r\nHost: idp\r\nX-Padding: {padding}\r\n\r\n").as_bytes()).await.unwrap();
    let answer = until_closed(&mut stream).await.expect("refused and closed");
    assert!(answer.starts_with("HTTP/1.1 431"), "RFC 6585 §5: {}", &answer[..answer.len().min(200)]);
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answers_is_dropped() {
    let rig = impatient_rig().await;
    let one_answer = rig.http.get(rig.url("/jwks")).send().await.unwrap().bytes().await.unwrap().len();
    // Enough pipelined requests that their answers (~64 MiB) overflow every socket buffer between
    // the two ends, so the server's writes stall while the client reads nothing.
    let requests = 64 * 1024 * 1024 / one_answer + 1;
    let (mut reader, mut writer) = connect(&rig).await.into_split();
    let sender = tokio::spawn(async move {
        let request = b"GET /api/oidc/jwks HTTP/1.1\r\nHost: idp\r\n\r\n";
        for _ in 0..requests {
            if writer.write_all(request).await.is_err() {
                return;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut received = 0usize;
    let drained = tokio::time::timeout(PATIENCE, async {
        let mut chunk = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = reader.read(&mut chunk).await {
            received += n;
        }
    })
    .await;
    sender.abort();
    assert!(drained.is_ok(), "the server closed the connection");
    // Had every request been answered, the bodies alone would add up to this much.
    assert!(received < requests * one_answer, "the server gave up on the client ({received} bytes of {requests} answers received)");
}

#[tokio::test]
async fn past_max_connections_a_new_client_is_told_503_and_served_once_a_slot_is_free() {
    let rig = rig_with_http(Http { max_connections: 2, ..Http::default() }).await;
    let (first, _second) = (connect(&rig).await, connect(&rig).await);
    let url = rig.url("/.well-known/openid-configuration");
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    // The two connections above are accepted by the time a request over a third is answered.
    let busy = tokio::time::timeout(PATIENCE, async {
        loop {
            let reply = http.get(&url).send().await.unwrap();
            if reply.status() == StatusCode::SERVICE_UNAVAILABLE {
                return reply;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a third connection is refused while two are open");
    assert_eq!(busy.headers()["retry-after"], "1");
    assert_eq!(busy.json::<serde_json::Value>().await.unwrap()["error"], "temporarily_unavailable");
    drop(first);
    let served = tokio::time::timeout(PATIENCE, async {
        loop {
            let status = http.get(&url).send().await.unwrap().status();
            if status == StatusCode::OK {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert_eq!(served.await.expect("served once a slot is free"), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_answers_a_request_in_flight() {
    let rig = rig().await;
    let mut stream = connect(&rig).await;
    let form = "grant_type=client_credentials";
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", SERVICE.0, SERVICE.1));
    let head = format!(
        "POST /api/oidc/token HTTP/1.1\r\nHost: idp\r\nAuthorization: Basic {basic}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        form.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let address = rig.server.base_url().trim_start_matches("http://").to_string();
    let shutdown = tokio::spawn(rig.server.shutdown());
    // Once nothing is accepted any more, the server is shutting down.
    let refused = tokio::time::timeout(PATIENCE, async {
        while TcpStream::connect(&address).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    refused.await.expect("the listener closes");
    stream.write_all(form.as_bytes()).await.unwrap();
    let answer = until_closed(&mut stream).await.expect("answered, then closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    tokio::time::timeout(PATIENCE, shutdown).await.expect("shutdown ends").unwrap();
}

#[tokio::test]
async fn shutdown_drops_a_stalled_request_after_the_grace_period() {
    // The client timeout (10 min) would hold the stalled request far longer than `PATIENCE`.
    let rig = rig_with_http(Http { client_timeout_secs: 600, shutdown_grace_secs: 1, ..Http::default() }).await;
    let mut stream = connect(&rig).await;
    let head =
        "POST /api/oidc/token HTTP/1.1\r\nHost: idp\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    // The request is in flight once the server has read its head; a byte of body and a pause
    // make sure it has.
    stream.write_all(b"g").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::time::timeout(PATIENCE, rig.server.shutdown()).await.expect("shutdown is not held by a stalled client");
    assert!(until_closed(&mut stream).await.is_some(), "the stalled connection was dropped");
}

#[tokio::test]
async fn a_slow_loris_flood_past_the_cap_never_leaves_a_normal_client_hanging() {
    let rig = rig_with_http(Http { max_connections: 40, client_timeout_secs: 1, ..Http::default() }).await;
    // 60 connections that trickle a request head and never finish it: 40 hold every slot.
    let mut slow = Vec::new();
    for _ in 0..60 {
        let mut stream = connect(&rig).await;
        let _ = stream.write_all(b"GET /api/oidc/jwks HTTP/1.1\r\nHost: idp\r\nX-Slow: ").await;
        slow.push(stream);
    }
    let url = rig.url("/.well-known/openid-configuration");
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(PATIENCE).build().unwrap();
    // Every normal request is answered, never left to time out: refused with a 503 while the slow
    // ones hold the slots, served once the client timeout has cut them off.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(http.get(&url).send().await.expect("answered, not hanging").status());
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::OK), "served once the slow heads were cut off: {statuses:?}");
    drop(slow);
}
