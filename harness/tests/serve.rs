//! `oidc-harness serve` as a user runs it: the real binary, its output and its errors.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_oidc-harness");

#[test]
fn print_default_config_is_valid_toml_the_server_accepts() {
    let out = Command::new(BIN).args(["serve", "--print-default-config"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let config = reference_server::Config::from_toml(&text).expect("printed config parses");
    let ids: Vec<_> = config.clients.iter().map(|c| c.client_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "web-app",
            "web-app-post",
            "spa-app",
            "service-client",
            "salesforce",
            "forgerock",
            "connectwise-home",
            "entra-eam",
            "ca-custom-controls",
            "generic-app"
        ]
    );
    assert_eq!(config.users.len(), 2);
    assert_eq!(config.orgs.len(), 2);
}

#[test]
fn a_bad_config_file_is_reported_with_the_key_and_the_problem() {
    let dir = std::env::temp_dir().join(format!("oidc-harness-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "lifetimes.code_secs",
            "[lifetimes]\ncode_secs = 0\naccess_token_secs = 1\nid_token_secs = 1\nrefresh_token_secs = 1\nsession_secs = 1\ninteraction_secs = 1\n",
        ),
        ("strickt", "strickt = true\n"),
        (
            "client[0].client_secret",
            "[[client]]\nclient_id = \"c\"\ntype = \"confidential\"\nauth_method = \"client_secret_basic\"\ngrant_types = [\"client_credentials\"]\n",
        ),
    ];
    for (key, text) in cases {
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(BIN).args(["serve", "--port", "0", "--config"]).arg(&path).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "{key}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let missing = Command::new(BIN).args(["serve", "--config", "/nonexistent/oidc.toml"]).output().unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read config file /nonexistent/oidc.toml"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn serve_prints_its_issuer_and_answers_discovery() {
    let mut child = Command::new(BIN).args(["serve", "--port", "0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let issuer = first.trim().strip_prefix("issuer: ").expect("first line names the issuer").to_string();
    assert!(issuer.starts_with("http://127.0.0.1:") && issuer.ends_with("/api/oidc"), "{issuer}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let meta: serde_json::Value =
        runtime.block_on(async { reqwest::get(format!("{issuer}/.well-known/openid-configuration")).await.unwrap().json().await.unwrap() });
    child.kill().ok();
    child.wait().ok();
    assert_eq!(meta["issuer"], issuer.as_str());
}

/// A port nothing listens on (a moment ago).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether `url` answers 200 within 20 s.
fn answers(url: &str) -> bool {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for _ in 0..100 {
            if reqwest::get(url).await.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        false
    })
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_does_not_stop_the_server() {
    let port = free_port();
    let mut child =
        Command::new(BIN).args(["serve", "--port", &port.to_string()]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    // Closed before the server has started: its first line meets a broken pipe.
    drop(child.stdout.take());
    let served = answers(&format!("http://127.0.0.1:{port}/api/oidc/.well-known/openid-configuration"));
    child.kill().ok();
    child.wait().ok();
    assert!(served, "the server kept serving after its stdout closed");
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_the_server_down_gracefully() {
    let mut child = Command::new(BIN).args(["serve", "--port", "0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("issuer: "), "{first}");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit 0 after a graceful shutdown, not killed by the signal: {status}");
}

#[test]
fn faults_are_listed_and_unknown_ones_refused() {
    let out = Command::new(BIN).args(["serve", "--list-faults"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() >= 20);
    assert!(text.lines().any(|l| l.starts_with("nonce-dropped") && l.contains("OIDC Core")));
    let out = Command::new(BIN).args(["serve", "--port", "0", "--fault", "no-such-fault"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault `no-such-fault`"));
    let out = Command::new(BIN).args(["conform", "--fault", "no-such-fault"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[cfg(unix)]
#[test]
fn serve_verbose_logs_one_line_per_request_without_its_query() {
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "-v", "--port", &port.to_string()])
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/api/oidc");
    assert!(answers(&format!("{base}/.well-known/openid-configuration")));
    let refused = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { reqwest::get(format!("{base}/token?code=a-secret-code-in-a-query")).await.map(|r| r.status().as_u16()) });
    assert_eq!(refused.ok(), Some(405), "a GET to the token endpoint is refused");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    child.wait().ok();
    let line = log.lines().find(|l| l.contains("GET /api/oidc/.well-known/openid-configuration 200")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.trim_end().ends_with("µs"), "{line}");
    assert!(log.contains("GET /api/oidc/token 405"), "{log}");
    assert!(!log.contains("a-secret-code"), "the query is never logged: {log}");
}

/// A reader that goes away (`oidc-harness serve --list-faults | head -1`) ends the listing
/// quietly with exit 0: no panic on the broken pipe.
#[test]
fn a_closed_stdout_ends_a_listing_quietly() {
    for args in [&["serve", "--list-faults"][..], &["serve", "--list-variants"], &["conform", "--list"], &["certify", "--list"]] {
        let mut child = Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // Closed before the command has written anything: its first write meets the broken pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
