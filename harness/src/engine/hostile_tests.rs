//! A hostile target must not take the runner down: a raw HTTP server on 127.0.0.1 sends what no
//! real deployment would (a 10 MB discovery document, an endless JWKS, a trickle, a page nested
//! 150,000 levels deep, 1,000 forms of 1,000 hidden inputs), and the recorder and the login
//! driver answer with a bounded `Response` or a clear error. Lengths are asserted, never times.

use super::http::{ClientSettings, Recorder};
use super::login::{self, Credentials};
use crate::limits::{EVIDENCE_BODY_BYTES, MAX_BODY_BYTES};
use crate::redact::Redactor;
use crate::target::LoginConfig;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server sends after reading a request's head.
#[derive(Clone)]
enum Reply {
    /// `head`, then `unit` `count` times, then `tail`, with a Content-Length: a large body
    /// without holding it in memory.
    Repeat { content_type: &'static str, head: String, unit: String, count: usize, tail: String },
    /// A chunked body that never ends.
    Endless,
    /// A body of one byte per 100 ms.
    Trickle,
}

/// A server answering every request with `reply`; the counter is the body bytes it managed to
/// send (a client that stops reading stops it).
async fn serve(reply: Reply) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, reply.clone(), counter.clone()));
        }
    });
    (base, sent)
}

/// The connection, counting the body bytes written.
struct Sink {
    stream: TcpStream,
    sent: Arc<AtomicUsize>,
}

impl Sink {
    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.sent.fetch_add(bytes.len(), Ordering::SeqCst);
        Ok(())
    }

    async fn head(&mut self, headers: &str) -> std::io::Result<()> {
        self.stream.write_all(format!("HTTP/1.1 200 OK\r\n{headers}\r\n\r\n").as_bytes()).await
    }
}

async fn answer(mut stream: TcpStream, reply: Reply, sent: Arc<AtomicUsize>) -> std::io::Result<()> {
    read_head(&mut stream).await?;
    let mut out = Sink { stream, sent };
    match reply {
        Reply::Repeat { content_type, head, unit, count, tail } => {
            let length = head.len() + unit.len() * count + tail.len();
            out.head(&format!("content-type: {content_type}\r\ncontent-length: {length}")).await?;
            out.send(head.as_bytes()).await?;
            // Units in batches of about 64 KiB.
            let per_batch = (64 * 1024 / unit.len().max(1)).max(1);
            let batch = unit.repeat(per_batch);
            let mut left = count;
            while left >= per_batch {
                out.send(batch.as_bytes()).await?;
                left -= per_batch;
            }
            out.send(unit.repeat(left).as_bytes()).await?;
            out.send(tail.as_bytes()).await?;
        }
        Reply::Endless => {
            out.head("content-type: application/json\r\ntransfer-encoding: chunked").await?;
            let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
            loop {
                out.send(chunk.as_bytes()).await?;
            }
        }
        Reply::Trickle => {
            out.head("content-type: application/json\r\ncontent-length: 600").await?;
            for _ in 0..600 {
                out.send(b" ").await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Ok(())
}

/// Reads up to the end of the request's head (the tests send no bodies).
async fn read_head(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    Ok(())
}

fn recorder() -> Recorder {
    Recorder::new(Redactor::default(), ClientSettings::default())
}

fn json_padded(spaces: usize) -> Reply {
    Reply::Repeat {
        content_type: "application/json",
        head: String::new(),
        unit: " ".into(),
        count: spaces,
        tail: r#"{"issuer":"https://idp.test"}"#.into(),
    }
}

#[tokio::test]
async fn a_10_mb_discovery_document_is_cut_at_the_limit_and_not_parsed() {
    let (base, _) = serve(json_padded(10_000_000)).await;
    let http = recorder();
    let response = http.send(http.get(&format!("{base}/.well-known/openid-configuration"))).await.unwrap();
    assert!(response.truncated);
    assert_eq!(response.body.len(), MAX_BODY_BYTES);
    assert_eq!(response.parse_json().unwrap_err(), "body cut at 2 MiB");
    assert!(response.json().is_none());
    assert!(response.exchange.response_truncated);
    assert!(response.exchange.response_body.as_ref().unwrap().len() <= EVIDENCE_BODY_BYTES);
    // A document that fits is read whole and parsed.
    let (base, _) = serve(json_padded(1_000)).await;
    let response = http.send(http.get(&base)).await.unwrap();
    assert!(!response.truncated);
    assert_eq!(response.json().unwrap()["issuer"], "https://idp.test");
}

#[tokio::test]
async fn an_endless_body_is_read_to_the_limit_and_no_further() {
    let (base, sent) = serve(Reply::Endless).await;
    let http = recorder();
    let response = http.send(http.get(&format!("{base}/jwks"))).await.unwrap();
    assert!(response.truncated);
    assert_eq!(response.body.len(), MAX_BODY_BYTES);
    // The connection is dropped: the server can send no more than the socket buffers hold.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_drop = sent.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent.load(Ordering::SeqCst), after_drop, "the server is still sending");
    assert!(after_drop < 64 * 1024 * 1024, "{after_drop} bytes sent");
}

#[tokio::test]
async fn a_trickling_body_is_cut_by_the_response_timeout() {
    let (base, sent) = serve(Reply::Trickle).await;
    // The total timeout covers the body (reqwest's `timeout`); 1 s instead of 15 s for the test.
    let http = Recorder::new(Redactor::default(), ClientSettings::default().with_timeout(Duration::from_secs(1)));
    let exchange = http.send(http.get(&base)).await.unwrap_err();
    assert!(exchange.error.as_deref().unwrap().starts_with("timed out"), "{:?}", exchange.error);
    // Headers arrived, the body never finished: a few of its 600 bytes were sent.
    assert!(sent.load(Ordering::SeqCst) < 200);
}

async fn drive_to(page: Reply) -> login::Drive {
    let (base, _) = serve(page).await;
    let http = recorder();
    let browser = http.browser();
    let (config, extra) = (LoginConfig::default(), BTreeMap::new());
    let creds = Credentials { user: None, config: &config, extra: &extra, origins: vec![base.clone()] };
    let pending = login::Pending { url: url::Url::parse(&format!("{base}/authorize?redirect_uri=https://rp.test/cb")).unwrap() };
    login::drive(&browser, browser.get(pending.url.as_str()), &pending, &creds).await
}

#[tokio::test]
async fn a_page_nested_150_000_deep_is_refused_before_parsing() {
    let n = 150_000;
    let page = Reply::Repeat {
        content_type: "text/html",
        head: "<html><body>".into(),
        unit: "<div>".into(),
        count: n,
        tail: "<form method=post><input type=password name=p></form></body></html>".into(),
    };
    let drive = drive_to(page).await;
    let error = drive.result.unwrap_err();
    assert!(error.ends_with("nests 150003 levels deep (the driver parses up to 256): refused to parse it"), "{error}");
}

#[tokio::test]
async fn a_page_of_1000_forms_of_1000_inputs_is_refused_and_kept_small() {
    let form = format!("<form method=post action=/next>{}</form>", "<input type=hidden name=csrf value=0123456789>".repeat(1_000));
    let page =
        Reply::Repeat { content_type: "text/html", head: "<html><body>".into(), unit: form, count: 1_000, tail: "</body></html>".into() };
    let drive = drive_to(page).await;
    let error = drive.result.unwrap_err();
    assert!(error.ends_with("is too large to read (body cut at 2 MiB)"), "{error}");
    let stored = serde_json::to_string(&drive.exchanges).unwrap();
    assert!(stored.len() < 32 * 1024, "{} bytes of evidence", stored.len());
}
