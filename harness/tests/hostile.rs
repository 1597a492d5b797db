//! `oidc-harness conform` against targets that misbehave at the transport level: a deadline or
//! a signal stops the run and still writes the (incomplete) report, a 10 MB discovery document
//! is judged "body cut at 2 MiB", and a self-signed TLS target is refused in one sentence
//! until `--ca-file` or `SSL_CERT_FILE` trusts its certificate. (The recorder's and the login
//! driver's own bounds are unit-tested in `src/engine/hostile_tests.rs`.)

use reports::{Report, Status, Verdict};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

const BIN: &str = env!("CARGO_BIN_EXE_oidc-harness");

fn report_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oidc-harness-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_report(dir: &std::path::Path) -> Report {
    Report::from_json(&std::fs::read_to_string(dir.join("report.json")).expect("report.json written")).unwrap()
}

/// The checks a stopped run did not judge: blocked by the stop, saying why.
fn stopped_checks<'a>(report: &'a Report, why: &str) -> Vec<&'a str> {
    let stopped: Vec<&str> =
        report.checks.iter().filter(|c| c.blocked_by.as_deref() == Some("step: run stopped")).map(|c| c.id.as_str()).collect();
    for check in report.checks.iter().filter(|c| c.blocked_by.as_deref() == Some("step: run stopped")) {
        assert_eq!(check.verdict, Verdict::Blocked);
        assert!(check.detail.contains(why), "{}: {}", check.id, check.detail);
    }
    stopped
}

#[test]
fn the_deadline_stops_the_run_and_writes_an_incomplete_report() {
    let dir = report_dir("deadline");
    // The default run takes seconds (one deliberate 2.1 s wait among them): 1s stops it.
    let out = Command::new(BIN).args(["conform", "--timeout", "1s", "--report-dir"]).arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("the run's deadline (--timeout 1s) passed"), "{stderr}");
    let report = read_report(&dir);
    assert_eq!(report.status(), Status::Incomplete);
    assert!(!stopped_checks(&report, "the run's deadline (--timeout 1s) passed before this check was judged").is_empty());
    assert!(std::fs::read_to_string(dir.join("summary.md")).unwrap().contains("INCOMPLETE"));
}

#[test]
fn a_bad_timeout_is_a_usage_error() {
    let out = Command::new(BIN).args(["conform", "--timeout", "10 minutes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write it like 90s, 10m or 1h30m"));
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_run_and_writes_an_incomplete_report() {
    use std::io::BufRead;
    let dir = report_dir("sigterm");
    let mut child =
        Command::new(BIN).args(["conform", "--report-dir"]).arg(&dir).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    // The first line is printed once the embedded server runs; the suites take seconds more.
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.starts_with("conform: "), "{first}");
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{rest}");
    assert!(rest.contains("the run was stopped by SIGTERM"), "{rest}");
    let report = read_report(&dir);
    assert_eq!(report.status(), Status::Incomplete);
    assert!(!stopped_checks(&report, "the run was stopped by SIGTERM before this check was judged").is_empty());
}

/// Answers every request on `stream` with `body` as JSON, one request per connection.
async fn answer(mut stream: impl AsyncRead + AsyncWrite + Unpin, body: Arc<Vec<u8>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let status =
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(status.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_10_mb_discovery_document_fails_as_cut_and_the_report_stays_small() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let mut body = vec![b' '; 10_000_000];
    body.extend_from_slice(format!(r#"{{"issuer":"{issuer}"}}"#).as_bytes());
    let body = Arc::new(body);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, body.clone()));
        }
    });
    let dir = report_dir("10mb");
    let (target, report_dir) = (issuer.clone(), dir.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN).args(["conform", "--suite", "discovery", "--target", &target, "--report-dir"]).arg(&report_dir).output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report = read_report(&dir);
    let json = report.checks.iter().find(|c| c.id == "discovery.json").unwrap();
    assert_eq!(json.verdict, Verdict::Fail);
    assert!(json.detail.ends_with("the body is not a JSON object (body cut at 2 MiB)"), "{}", json.detail);
    assert!(report.evidence_of(json).next().expect("the discovery document's exchange").response_truncated);
    let size = std::fs::metadata(dir.join("report.json")).unwrap().len();
    assert!(size < 2 * 1024 * 1024, "report.json is {size} bytes");
}

/// A self-signed certificate for 127.0.0.1, and its PEM file.
fn self_signed(dir: &std::path::Path) -> (rcgen::CertifiedKey<rcgen::KeyPair>, PathBuf) {
    use base64::Engine;
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(certified.cert.der());
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap()).collect();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"));
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    (certified, path)
}

/// An https issuer on 127.0.0.1 with a self-signed certificate, answering a minimal discovery
/// document to every request.
async fn tls_target(certified: &rcgen::CertifiedKey<rcgen::KeyPair>) -> String {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("https://{}", listener.local_addr().unwrap());
    let body = Arc::new(format!(r#"{{"issuer":"{issuer}"}}"#).into_bytes());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    answer(tls, body).await;
                }
            });
        }
    });
    issuer
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_signed_target_is_refused_in_one_sentence_until_its_ca_is_trusted() {
    let dir = report_dir("tls");
    let (certified, pem) = self_signed(&dir);
    let issuer = tls_target(&certified).await;
    let run = |extra: Vec<String>, env: Option<PathBuf>| {
        let (issuer, dir) = (issuer.clone(), dir.clone());
        tokio::task::spawn_blocking(move || {
            let mut command = Command::new(BIN);
            command.args(["conform", "--suite", "discovery", "--target", &issuer]).args(extra).arg("--report-dir").arg(&dir);
            if let Some(file) = env {
                command.env("SSL_CERT_FILE", file);
            }
            let out = command.output().unwrap();
            (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
        })
    };
    let (code, stderr) = run(vec![], None).await.unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    let port = issuer.rsplit(':').next().unwrap();
    let sentence = format!(
        "certificate of 127.0.0.1:{port} not trusted: unknown issuer; pass --ca-file (or set SSL_CERT_FILE) with the CA that issued it\n"
    );
    assert!(stderr.ends_with(&sentence), "{stderr}");
    // Trusted: the run gets past the preflight and judges discovery (which this stub fails).
    let (code, stderr) = run(vec!["--ca-file".into(), pem.display().to_string()], None).await.unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("certificate"), "{stderr}");
    let (code, stderr) = run(vec![], Some(pem.clone())).await.unwrap();
    assert_eq!(code, Some(1), "SSL_CERT_FILE: {stderr}");
    // A file without a certificate is named in one sentence.
    let not_pem = dir.join("not-a-certificate.txt");
    std::fs::write(&not_pem, "{}").unwrap();
    let (code, stderr) = run(vec!["--ca-file".into(), not_pem.display().to_string()], None).await.unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no PEM certificate in it"), "{stderr}");
}
