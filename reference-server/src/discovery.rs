//! OpenID Provider metadata (OIDC Discovery §3, RFC 8414 §2) and the JWKS (RFC 7517 §5).
//! The profile's unsupported features (introspection, dynamic registration, token encryption)
//! are deliberately absent.

use crate::config::{Alg, AuthMethod};
use crate::faults::Fault;
use crate::provider::Provider;
use crate::variants::Variant;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn openid_configuration(State(provider): State<Arc<Provider>>) -> Response {
    let mut meta = metadata(&provider);
    if provider.has(Fault::IntrospectionAdvertised) {
        meta["introspection_endpoint"] = json!(provider.endpoint("/introspect"));
    }
    if provider.has(Fault::RegistrationAdvertised) {
        meta["registration_endpoint"] = json!(provider.endpoint("/register"));
    }
    if provider.has(Fault::DiscoveryIssuerMismatch) {
        meta["issuer"] = json!(format!("{}/", provider.issuer));
    }
    if provider.has(Fault::PlainPkceAdvertised) {
        meta["code_challenge_methods_supported"] = json!(["S256", "plain"]);
    }
    if provider.has(Fault::EncryptionAdvertised) {
        meta["id_token_encryption_alg_values_supported"] = json!(["RSA-OAEP-256"]);
        meta["id_token_encryption_enc_values_supported"] = json!(["A256GCM"]);
    }
    if provider.has(Fault::IssParameterNotAdvertised) {
        meta["authorization_response_iss_parameter_supported"] = json!(false);
    }
    if provider.has(Fault::ClaimsParameterNotAdvertised) {
        meta["claims_parameter_supported"] = json!(false);
    }
    if provider.has(Fault::IdTokenAlgNotAdvertised)
        && let Some(algs) = meta["id_token_signing_alg_values_supported"].as_array_mut()
    {
        algs.retain(|a| a != "RS256");
    }
    if let Some(meta) = meta.as_object_mut().filter(|_| provider.has(Fault::RevocationNotAdvertised)) {
        meta.remove("revocation_endpoint");
        meta.remove("revocation_endpoint_auth_methods_supported");
    }
    if let Some(meta) = meta.as_object_mut().filter(|_| provider.has(Fault::DiscoveryMetadataMissing)) {
        meta.remove("response_types_supported");
        meta.remove("subject_types_supported");
    }
    if let Some(meta) = meta.as_object_mut() {
        // RFC 8414 metadata that OIDC Discovery does not define may live in the RFC 8414
        // document alone.
        if provider.has_variant(Variant::MetadataInRfc8414Only) {
            for member in RFC_8414_ONLY {
                meta.remove(*member);
            }
        }
        // OIDC Discovery §3: these OPTIONAL members have defaults the server supports.
        if provider.has_variant(Variant::DiscoveryDefaultsOmitted) {
            for member in ["response_modes_supported", "grant_types_supported", "token_endpoint_auth_methods_supported"] {
                meta.remove(member);
            }
        }
    }
    Json(meta).into_response()
}

/// What the `metadata-in-rfc8414-only` variant leaves out of the OpenID configuration.
const RFC_8414_ONLY: &[&str] = &[
    "revocation_endpoint",
    "revocation_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "authorization_response_iss_parameter_supported",
];

/// RFC 8414 §3: the authorization server metadata, everything included (served only under the
/// `metadata-in-rfc8414-only` variant, at the path-inserted and the issuer-relative well-known
/// URIs).
pub async fn authorization_server_metadata(State(provider): State<Arc<Provider>>) -> Response {
    Json(metadata(&provider)).into_response()
}

/// The `introspection-served` fault: RFC 7662's answer for a token it does not know.
pub async fn introspection_served_anyway() -> Response {
    Json(json!({ "active": false })).into_response()
}

/// The `registration-served` fault: RFC 7591's answer to metadata without redirect URIs.
pub async fn registration_served_anyway() -> Response {
    let status = axum::http::StatusCode::BAD_REQUEST;
    crate::error::OAuthError::new(status, "invalid_client_metadata", "redirect_uris is required").into_response()
}

pub async fn jwks(State(provider): State<Arc<Provider>>) -> Response {
    let mut jwks = provider.keys.jwks();
    if let Some(keys) = jwks["keys"].as_array_mut() {
        if provider.has(Fault::SigningKeyMissingFromJwks) {
            keys.retain(|k| k["alg"] != "RS256");
        }
        // OIDC Core §10.1: a kid is needed only when the JWKS has several keys.
        if provider.has(Fault::KidMissingFromJwks) || provider.has_variant(Variant::SingleKeyNoKid) {
            for key in keys.iter_mut().filter_map(|k| k.as_object_mut()) {
                key.remove("kid");
            }
        }
        if provider.has(Fault::PrivateKeyInJwks) {
            for jwk in keys.iter_mut() {
                let key = jwk["kid"].as_str().and_then(|kid| provider.keys.find(kid));
                if let Some(seed) = key.as_ref().and_then(|k| k.ed25519_seed()) {
                    jwk["d"] = json!(crate::util::b64(seed));
                }
            }
        }
        if provider.has(Fault::SymmetricKeyInJwks) {
            keys.push(json!({ "kty": "oct", "kid": "hs256", "use": "sig", "alg": "HS256", "k": crate::util::random_token() }));
        }
        if provider.has(Fault::KidReused) {
            for key in keys.iter_mut().filter_map(|k| k.as_object_mut()) {
                key.insert("kid".into(), json!("1"));
            }
        }
        if provider.has(Fault::X5cMissing) {
            for key in keys.iter_mut().filter_map(|k| k.as_object_mut()) {
                key.remove("x5c");
                key.remove("x5t#S256");
            }
        }
    }
    Json(jwks).into_response()
}

pub fn metadata(provider: &Provider) -> Value {
    let config = &provider.config;
    let mut scopes: Vec<&str> = config.clients.iter().flat_map(|c| c.scopes.iter().map(String::as_str)).collect();
    scopes.sort_unstable();
    scopes.dedup();
    if provider.has(Fault::OpenidScopeUnlisted) {
        scopes.retain(|s| *s != "openid");
    }
    // The acr values ID tokens may carry: the configured levels, and Entra's when an Entra
    // client is configured (`entra`).
    let mut acr_values: Vec<&str> = config.acr_levels.iter().map(|l| l.value.as_str()).collect();
    if config.clients.iter().any(|c| c.entra.is_some()) {
        acr_values.push(crate::entra::ACR_POSSESSION_OR_INHERENCE);
    }
    let response_types: &[&str] =
        if provider.has(Fault::IdTokenResponseTypeUnlisted) { &["code"] } else { &["code", "id_token", "id_token token"] };
    let claim_types: &[&str] = if provider.has(Fault::ClaimTypesWithoutNormal) { &["aggregated", "distributed"] } else { &["normal"] };
    let mut auth_methods: Vec<&str> =
        config.clients.iter().map(|c| c.auth_method).filter(|m| *m != AuthMethod::None).map(AuthMethod::as_str).collect();
    auth_methods.sort_unstable();
    auth_methods.dedup();
    auth_methods.push("none");
    let algs: Vec<&str> = Alg::ALL.iter().filter(|a| config.signing_algorithms.contains(a)).map(|a| a.as_str()).collect();
    json!({
        "issuer": provider.issuer,
        "authorization_endpoint": provider.endpoint("/authorize"),
        "token_endpoint": provider.endpoint("/token"),
        "userinfo_endpoint": provider.endpoint("/userinfo"),
        "jwks_uri": provider.endpoint("/jwks"),
        "revocation_endpoint": provider.endpoint("/revoke"),
        "end_session_endpoint": provider.endpoint("/logout"),
        "scopes_supported": scopes,
        "response_types_supported": response_types,
        // The profile keeps Implicit for OIDC only and deprecates it (RFC 9700 §2.1.2).
        "x_deprecated_response_types": ["id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "acr_values_supported": acr_values,
        "claim_types_supported": claim_types,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "org_id",
            "name", "given_name", "family_name", "preferred_username", "email", "email_verified",
            "phone_number", "phone_number_verified", "address"
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
    })
}
