//! The JSON Web Key Set (RFC 7517 §5) behind `jwks_uri`: every key usable and identifiable,
//! no private or symmetric key material, and a key for every algorithm the profile signs with.

use super::{Context, strings};
use crate::engine::key_set::KeySet;
use crate::engine::{Check, Outcome, Run, Suite, recommended, required};
use base64::Engine;
use serde_json::Value;
use std::borrow::Cow;

pub const REACHABLE: Check =
    required("jwks.reachable", "The JWKS is served with 200 as a JSON object", "OIDC Discovery §3 (jwks_uri), RFC 7517 §5");
const CONTENT_TYPE: Check =
    recommended("jwks.content-type", "The JWKS is served as application/json or application/jwk-set+json", "RFC 7517 §8.5.1");
const KEYS: Check = required("jwks.keys-array", "The JWKS has a non-empty keys array", "RFC 7517 §5.1");
const KID: Check = required("jwks.kid", "Every key has a kid when the set holds several keys", "OIDC Core §10.1, RFC 7517 §4.5");
const KID_UNIQUE: Check = required("jwks.kid-unique", "kid values are unique among keys of one kty", "RFC 7517 §4.5, OIDC Core §10.1");
const KTY: Check = required("jwks.kty", "Every key has a known kty", "RFC 7517 §4.1, RFC 7518 §6.1");
const USE_SIG: Check = recommended("jwks.use-sig", "Signing keys say use=sig", "OIDC Core §10.1.1, RFC 7517 §4.2");
const ALG: Check = recommended("jwks.alg", "Every key names its alg", "RFC 7517 §4.4");
const NO_PRIVATE: Check = required(
    "jwks.no-private-material",
    "No private or secret key members (d, p, q, dp, dq, qi, oth, k)",
    "RFC 7518 §6.2.2, §6.3.2, §6.4.1",
);
const NO_SYMMETRIC: Check = required("jwks.no-symmetric-keys", "No symmetric (kty oct) keys are published", "RFC 7518 §6.4");
const RSA_SIZE: Check = required("jwks.rsa-2048", "RSA keys are at least 2048 bits", "RFC 7518 §3.3");
const EC_CURVE: Check = required("jwks.ec-p256", "ES256 keys are on P-256", "RFC 7518 §3.4");
const X5C: Check =
    required("jwks.x5c", "Every key carries an x5c certificate when the profile requires it", "RFC 7517 §4.7, profile (Microsoft Entra)");
const X5C_DER: Check =
    recommended("jwks.x5c-der", "x5c values are base64 (not base64url) DER X.509 certificates whose key is the JWK's own", "RFC 7517 §4.7");
const ALG_COVERAGE: Check =
    required("jwks.alg-coverage", "A key exists for every algorithm the profile signs ID tokens with", "OIDC Core §10.1");

pub const NAME: &str = "jwks";

pub const SUITE: Suite = Suite {
    name: Cow::Borrowed(NAME),
    checks: Cow::Borrowed(&[
        REACHABLE,
        CONTENT_TYPE,
        KEYS,
        KID,
        KID_UNIQUE,
        KTY,
        USE_SIG,
        ALG,
        NO_PRIVATE,
        NO_SYMMETRIC,
        RSA_SIZE,
        EC_CURVE,
        X5C,
        X5C_DER,
        ALG_COVERAGE,
    ]),
};

/// The JWS signature algorithms (RFC 7518 §3.1, RFC 8037 §3.1).
const JWS_ALGS: [&str; 10] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

pub async fn run(ctx: &mut Context, run: &mut Run) {
    let Some(jwks_uri) = ctx.endpoint("jwks_uri").map(str::to_string) else {
        let blocked = Outcome::blocked_by(&super::discovery::JWKS_URI, "discovery gave no jwks_uri");
        return super::record_all(run, &SUITE, &SUITE.checks, &[], &blocked);
    };
    let (response, exchanges) = super::get_following_one_redirect(&ctx.http, &jwks_uri).await;
    let ev: Vec<&reports::Exchange> = exchanges.iter().collect();
    let response = match response {
        Ok(r) => r,
        Err(_) => {
            let why = format!("no response: {}", exchanges.last().and_then(|e| e.error.clone()).unwrap_or_default());
            run.record(&SUITE, &REACHABLE, &ev, Outcome::Fail(why.clone()));
            return super::record_all(run, &SUITE, &SUITE.checks[1..], &ev, &Outcome::blocked_by(&REACHABLE, why));
        }
    };
    let redirected = (exchanges.len() > 1).then(|| format!("served after a redirect to {}", response.exchange.url));
    let jwks = response.json().filter(Value::is_object);
    run.record(
        &SUITE,
        &REACHABLE,
        &ev,
        match (response.status == 200 && jwks.is_some(), redirected) {
            (true, Some(note)) => Outcome::PassNoted(note),
            (true, None) => Outcome::Pass,
            (false, _) => Outcome::Fail(match (jwks.is_some(), response.parse_json()) {
                (true, _) => format!("status {}", response.status),
                (false, Err(why)) => format!("status {}, not a JSON object ({why})", response.status),
                (false, Ok(_)) => format!("status {}, JSON but not an object", response.status),
            }),
        },
    );
    let ct = response.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    run.record(
        &SUITE,
        &CONTENT_TYPE,
        &ev,
        Outcome::expect(ct == "application/json" || ct == "application/jwk-set+json", || format!("Content-Type is \"{ct}\"")),
    );
    let Some(jwks) = jwks.filter(|_| response.status == 200) else {
        let blocked = Outcome::blocked_by(&REACHABLE, format!("status {}, no JSON object{}", response.status, response.cut_note()));
        return super::record_all(run, &SUITE, &SUITE.checks[2..], &ev, &blocked);
    };
    let keys: Vec<Value> = jwks.get("keys").and_then(Value::as_array).cloned().unwrap_or_default();
    run.record(&SUITE, &KEYS, &ev, Outcome::expect(!keys.is_empty(), || "no keys".into()));
    if keys.is_empty() {
        return super::record_all(run, &SUITE, &SUITE.checks[3..], &ev, &Outcome::blocked_by(&KEYS, "no keys to check"));
    }

    let str_of = |k: &Value, m: &str| k.get(m).and_then(Value::as_str).map(str::to_string);
    let label = |i: usize, k: &Value| str_of(k, "kid").unwrap_or_else(|| format!("key #{i}"));
    let each = |pred: &dyn Fn(&Value) -> bool| -> Vec<String> {
        keys.iter().enumerate().filter(|(_, k)| !pred(k)).map(|(i, k)| label(i, k)).collect()
    };
    let report = |run: &mut Run, check: &Check, bad: Vec<String>, what: &str| {
        run.record(&SUITE, check, &ev, Outcome::expect(bad.is_empty(), || format!("{what}: {}", bad.join(", "))));
    };

    // A verifier picks the key by kid only when there is a choice to make (OIDC Core §10.1).
    if keys.len() == 1 {
        let why = "the JWKS holds one key: a kid is needed only to choose among several";
        run.record(&SUITE, &KID, &ev, Outcome::NotApplicable(why.into()));
    } else {
        report(run, &KID, each(&|k| str_of(k, "kid").is_some_and(|s| !s.is_empty())), "no kid");
    }
    // RFC 7517 §4.5 names keys of different kty sharing a kid as a legitimate case; two keys of
    // one kty under one kid leave a verifier guessing.
    let mut seen = std::collections::HashSet::new();
    let duplicates: Vec<String> = keys
        .iter()
        .filter_map(|k| Some((str_of(k, "kty").unwrap_or_default(), str_of(k, "kid")?)))
        .filter(|pair| !seen.insert(pair.clone()))
        .map(|(kty, kid)| format!("{kid} ({kty})"))
        .collect();
    report(run, &KID_UNIQUE, duplicates, "two keys of one kty share a kid");
    report(run, &KTY, each(&|k| matches!(k.get("kty").and_then(Value::as_str), Some("RSA" | "EC" | "OKP" | "oct"))), "unknown kty");
    // A key for a JWS algorithm must not say it is for encryption; an encryption key
    // (RSA-OAEP, ECDH-ES, ...) with use=enc is a key set's other legitimate half.
    let signs = |k: &Value| k.get("alg").and_then(Value::as_str).is_none_or(|a| JWS_ALGS.contains(&a));
    report(run, &USE_SIG, each(&|k| !signs(k) || k.get("use").is_none_or(|u| u == "sig")), "a signing key says use is not sig");
    report(run, &ALG, each(&|k| str_of(k, "alg").is_some()), "no alg");
    report(run, &NO_PRIVATE, each(&|k| PRIVATE_MEMBERS.iter().all(|m| k.get(*m).is_none())), "private key material published");
    report(run, &NO_SYMMETRIC, each(&|k| k.get("kty").and_then(Value::as_str) != Some("oct")), "symmetric key published");
    // A rule about a kind of key the set does not hold is not applicable, never a vacuous pass.
    let none_of = |run: &mut Run, check: &Check, what: &str| {
        run.record(&SUITE, check, &ev, Outcome::NotApplicable(format!("the JWKS holds no {what}")))
    };
    if keys.iter().any(|k| str_of(k, "kty").as_deref() == Some("RSA")) {
        report(
            run,
            &RSA_SIZE,
            each(&|k| k.get("kty").and_then(Value::as_str) != Some("RSA") || rsa_bits(k).is_some_and(|b| b >= 2048)),
            "RSA key under 2048 bits",
        );
    } else {
        none_of(run, &RSA_SIZE, "RSA key");
    }
    if keys.iter().any(|k| str_of(k, "alg").as_deref() == Some("ES256")) {
        report(
            run,
            &EC_CURVE,
            each(&|k| k.get("alg").and_then(Value::as_str) != Some("ES256") || k.get("crv").and_then(Value::as_str) == Some("P-256")),
            "ES256 key not on P-256",
        );
    } else {
        none_of(run, &EC_CURVE, "ES256 key");
    }
    if ctx.profile.features.jwks_x5c {
        report(run, &X5C, each(&|k| k.get("x5c").and_then(Value::as_array).is_some_and(|c| !c.is_empty())), "no x5c");
    } else {
        run.record(&SUITE, &X5C, &ev, Outcome::NotApplicable("the profile does not require x5c".into()));
    }
    if keys.iter().any(|k| k.get("x5c").is_some()) {
        let bad: Vec<String> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.get("x5c").is_some())
            .filter_map(|(i, k)| x5c_problem(k).map(|why| format!("{}: {why}", label(i, k))))
            .collect();
        run.record(&SUITE, &X5C_DER, &ev, Outcome::expect(bad.is_empty(), || bad.join("; ")));
    } else {
        none_of(run, &X5C_DER, "key with x5c");
    }

    // The profile's algorithms must have a key. Discovery may list more it "supports" (OIDC
    // Discovery §3) without a key published yet (Keycloak lists about ten): those are noted.
    let claimed: Vec<String> =
        ctx.profile.flows.id_token_signing_algs.iter().filter(|a| *a != "none" && !a.starts_with("HS")).cloned().collect();
    let uncovered: Vec<String> = claimed.iter().filter(|alg| !keys.iter().any(|k| key_fits(k, alg))).cloned().collect();
    let listed_only: Vec<String> = strings(ctx.metadata.as_ref(), "id_token_signing_alg_values_supported")
        .iter()
        .filter(|a| **a != "none" && !a.starts_with("HS") && !claimed.iter().any(|c| c == *a))
        .filter(|alg| !keys.iter().any(|k| key_fits(k, alg)))
        .map(|a| a.to_string())
        .collect();
    let outcome = match (uncovered.is_empty(), listed_only.is_empty()) {
        (false, _) => Outcome::Fail(format!("no key for {}", uncovered.join(", "))),
        (true, false) => Outcome::PassNoted(format!("discovery also lists {} with no key published", listed_only.join(", "))),
        (true, true) => Outcome::Pass,
    };
    run.record(&SUITE, &ALG_COVERAGE, &ev, outcome);
    ctx.keys = KeySet::new(Some(jwks));
}

/// Whether a key can verify `alg`: its own `alg`, or its `kty` (and curve) when it names none.
fn key_fits(key: &Value, alg: &str) -> bool {
    let kty = key.get("kty").and_then(Value::as_str);
    match key.get("alg").and_then(Value::as_str) {
        Some(a) => a == alg,
        None => match alg {
            "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => kty == Some("RSA"),
            "ES256" => kty == Some("EC") && key.get("crv").and_then(Value::as_str) == Some("P-256"),
            "EdDSA" => kty == Some("OKP"),
            _ => false,
        },
    }
}

fn rsa_bits(key: &Value) -> Option<usize> {
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key.get("n")?.as_str()?).ok()?;
    let first = n.iter().position(|b| *b != 0)?;
    Some((n.len() - first) * 8 - n[first].leading_zeros() as usize)
}

/// What is wrong with a key's `x5c` (RFC 7517 §4.7): each value standard base64 (not base64url)
/// of a DER X.509 certificate, the first one's public key the JWK itself. `None` when nothing.
fn x5c_problem(key: &Value) -> Option<String> {
    use x509_parser::public_key::PublicKey;
    let Some(chain) = key.get("x5c").and_then(Value::as_array).filter(|c| !c.is_empty()) else {
        return Some("x5c is not a non-empty array".into());
    };
    let b64 = |m: &str| key.get(m).and_then(Value::as_str).and_then(|v| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok());
    let unsigned = |bytes: &[u8]| bytes.iter().skip_while(|b| **b == 0).copied().collect::<Vec<u8>>();
    for (n, value) in chain.iter().enumerate() {
        let Some(text) = value.as_str() else { return Some(format!("x5c[{n}] is not a string")) };
        let Ok(der) = base64::engine::general_purpose::STANDARD.decode(text) else {
            return Some(format!("x5c[{n}] is not standard base64 (base64url is not allowed here)"));
        };
        let cert = match x509_parser::parse_x509_certificate(&der) {
            Ok(([], cert)) => cert,
            Ok(_) => return Some(format!("x5c[{n}] has bytes after the certificate")),
            Err(e) => return Some(format!("x5c[{n}] is not a DER X.509 certificate: {e}")),
        };
        if n > 0 {
            continue;
        }
        // The first certificate must hold the JWK's key; key types we do not rebuild (OKP) are
        // not compared.
        let same = match (cert.public_key().parsed(), key.get("kty").and_then(Value::as_str)) {
            (Ok(PublicKey::RSA(rsa)), Some("RSA")) => Some(
                b64("n").is_some_and(|jwk_n| unsigned(&jwk_n) == unsigned(rsa.modulus))
                    && b64("e").is_some_and(|jwk_e| unsigned(&jwk_e) == unsigned(rsa.exponent)),
            ),
            (Ok(PublicKey::EC(point)), Some("EC")) => {
                Some(matches!((b64("x"), b64("y")), (Some(x), Some(y)) if point.data() == [&[0x04][..], &x, &y].concat()))
            }
            (Ok(_), Some("RSA" | "EC")) => Some(false),
            _ => None,
        };
        if same == Some(false) {
            return Some("the certificate in x5c[0] holds another public key than the JWK's".into());
        }
    }
    None
}
