//! Token minting per algorithm at three depths, measured in the same run: the bare signature
//! over a typical JWS signing input, `sign_jwt` (header and claims serialised, base64url,
//! signed), and `mint_access_token` (claims built from a client, random `jti`, key lookup). The
//! ratios show what the server adds on top of the cryptography. Run: `cargo bench -p reference-server --bench minting`.

use criterion::{Criterion, criterion_group, criterion_main};
use reference_server::config::{Alg, Config};
use reference_server::keys::{JwsType, SigningKey};
use reference_server::provider::Provider;
use serde_json::json;
use std::hint::black_box;

fn minting(c: &mut Criterion) {
    let mut config = Config { signing_algorithms: Alg::ALL.to_vec(), ..Config::default() };
    let provider = Provider::new(config.clone(), "http://127.0.0.1:9090/api/oidc".into(), "bench-admin-token".into()).expect("provider");
    for alg in Alg::ALL {
        let mut group = c.benchmark_group(alg.as_str());
        let key = SigningKey::generate(alg).expect("key");
        let claims = json!({"iss": "http://127.0.0.1:9090/api/oidc", "sub": "service-client", "aud": "https://api.example.test",
            "client_id": "service-client", "iat": 1_800_000_000u64, "exp": 1_800_003_600u64, "jti": "x".repeat(43), "scope": "read"});
        let signing_input = key.sign_jwt(JwsType::AccessToken, &claims).expect("signed");
        let signing_input = signing_input.rsplit_once('.').expect("compact JWS").0.as_bytes().to_vec();
        group.bench_function("signature", |b| b.iter(|| key.sign(black_box(&signing_input)).expect("signed")));
        group.bench_function("sign_jwt", |b| b.iter(|| key.sign_jwt(JwsType::AccessToken, black_box(&claims)).expect("signed")));
        config.clients[3].access_token_signing_alg = alg;
        let client = config.clients[3].clone();
        let scope = vec!["read".to_string()];
        group.bench_function("mint_access_token", |b| {
            b.iter(|| provider.mint_access_token(black_box(&client), None, &scope, None).expect("minted"))
        });
        group.finish();
    }
}

criterion_group!(benches, minting);
criterion_main!(benches);
