//! The ceiling of token issuance over HTTP on this machine, for `bench/tokens.sh`: a bare hyper
//! server on the same runtime as the reference server that, for every request, reads the body,
//! signs a fixed JWS signing input of a token's size with one pre-parsed aws-lc-rs key and
//! answers a token response of the usual size. No routing, client authentication, claims or
//! state: what is left is the signature plus the HTTP exchange (the kernel's loopback TCP and
//! the wake-up of the client), which no server on this stack can go below. The reference
//! server's rate divided by this one is the share of the ceiling it reaches; divided by the bare
//! signing rate it also pays for HTTP.
//!
//!   cargo run --release -p reference-server --example signing_ceiling -- PORT ALG
//!
//! ALG is RS256, ES256 or EdDSA. Serves on 127.0.0.1:PORT until killed.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Key {
    fn generate(alg: &str) -> Result<Key, String> {
        let failed = |_| format!("{alg}: key generation failed");
        Ok(match alg {
            "RS256" => Key::Rsa(RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(failed)?),
            "ES256" => Key::Ec(EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?),
            "EdDSA" => Key::Ed(Ed25519KeyPair::generate().map_err(failed)?),
            other => return Err(format!("unknown algorithm {other}: use RS256, ES256 or EdDSA")),
        })
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        match self {
            Key::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), input, &mut sig).expect("RSA signature");
                sig
            }
            Key::Ec(key) => key.sign(&SystemRandom::new(), input).expect("ECDSA signature").as_ref().to_vec(),
            Key::Ed(key) => key.sign(input).as_ref().to_vec(),
        }
    }
}

/// A JWS signing input of a client credentials access token's size (header and claims, ~330
/// bytes of base64url).
fn signing_input() -> String {
    let header = r#"{"alg":"ES256","kid":"mLQmOd5pNvVbyYgNIuVKzmkkDxMGOTh0XVSjHEY9k8E","typ":"at+jwt"}"#;
    let claims = r#"{"iss":"http://127.0.0.1:9090/api/oidc","sub":"service-client","aud":"http://127.0.0.1:9090/api/oidc","client_id":"service-client","iat":1800000000,"exp":1800003600,"jti":"tNWcoSAB3pREq3iy0oILmvXyE9M-WH3ZnpQQzm-WY3Q","scope":"read"}"#;
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims))
}

async fn answer(key: Arc<Key>, input: Arc<String>, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let mut body = request.into_body();
    while let Some(frame) = std::future::poll_fn(|cx| hyper::body::Body::poll_frame(Pin::new(&mut body), cx)).await {
        if frame.is_err() {
            break;
        }
    }
    let jwt = format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes())));
    let json = format!(r#"{{"access_token":"{jwt}","token_type":"Bearer","expires_in":3600,"scope":"read"}}"#);
    let response = Response::builder()
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .body(Body::from(json))
        .expect("a well-formed response");
    Ok(response)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, alg] = args.as_slice() else { return Err("usage: signing_ceiling PORT ALG".into()) };
    let port: u16 = port.parse().map_err(|_| format!("PORT must be a number from 1 to 65535, not {port}"))?;
    let key = Arc::new(Key::generate(alg)?);
    let input = Arc::new(signing_input());
    // The reference server's runtime: tokio's default multi-threaded one.
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (key, input) = (key.clone(), input.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| answer(key.clone(), input.clone(), request));
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}
