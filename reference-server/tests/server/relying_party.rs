//! An independent relying party: the `openidconnect` crate drives discovery, code + PKCE with
//! the HTML login, ID token validation (signature, iss, aud, nonce, at_hash), userinfo, refresh
//! and client credentials against the reference server. A failure here is a bug in our server
//! until proven otherwise.

use crate::support::*;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use std::future::Future;
use std::pin::Pin;

pub type HttpFuture = Pin<Box<dyn Future<Output = Result<HttpResponse, std::io::Error>> + Send>>;

/// openidconnect's HTTP client contract over reqwest 0.13 (its own default pulls reqwest 0.12).
pub fn http_client() -> impl Fn(HttpRequest) -> HttpFuture {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    move |request: HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(std::io::Error::other)?;
            let response = client.execute(request).await.map_err(std::io::Error::other)?;
            let mut builder = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(std::io::Error::other)?.to_vec();
            builder.body(body).map_err(std::io::Error::other)
        })
    }
}

#[tokio::test]
async fn the_openidconnect_crate_completes_code_pkce_userinfo_and_refresh() {
    let rig = rig().await;
    let http = http_client();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(rig.server.issuer().to_string()).unwrap(), &http)
        .await
        .expect("discovery and JWKS accepted");
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(WEB.0.into()), Some(ClientSecret::new(WEB.1.into())))
        .set_redirect_uri(RedirectUrl::new(WEB_REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = rig.browser();
    let to_login = browser.get(auth_url.as_str()).await;
    let to_consent = browser.login(&to_login, ALICE, None).await;
    let done = browser.consent(&to_consent, "approve").await;
    let params = response_params(&done);
    assert_eq!(&params["state"], csrf.secret());
    assert_eq!(params["iss"], rig.server.issuer());

    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code redeemed");
    let id_token = tokens.id_token().expect("ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("ID token valid");
    assert_eq!(claims.subject().as_str(), "u-alice-7f3a");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@acme.example.test"));
    let expected_hash =
        AccessTokenHash::from_token(tokens.access_token(), id_token.signing_alg().unwrap(), id_token.signing_key(&verifier).unwrap())
            .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
        .expect("userinfo endpoint known")
        .request_async(&http)
        .await
        .expect("userinfo accepted");
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some("alice@acme.example.test"));

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("refresh token"))
        .expect("token endpoint known")
        .request_async(&http)
        .await
        .expect("refresh accepted");
    assert_ne!(refreshed.refresh_token().unwrap().secret(), tokens.refresh_token().unwrap().secret());
    let refreshed_id = refreshed.id_token().expect("refreshed ID token");
    // OIDC Core §12.2: no nonce in a refreshed ID token, so verify without one.
    let refreshed_claims = refreshed_id.claims(&verifier, |_: Option<&Nonce>| Ok(())).expect("refreshed ID token valid");
    assert_eq!(refreshed_claims.auth_time(), claims.auth_time());
}

#[tokio::test]
async fn the_openidconnect_crate_gets_client_credentials_tokens() {
    let rig = rig().await;
    let http = http_client();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(rig.server.issuer().to_string()).unwrap(), &http).await.unwrap();
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(SERVICE.0.into()), Some(ClientSecret::new(SERVICE.1.into())));
    let tokens = client
        .exchange_client_credentials()
        .expect("token endpoint known")
        .add_scope(Scope::new("read".into()))
        .request_async(&http)
        .await
        .expect("client credentials accepted");
    let (_, at) = rig.verify_jwt(tokens.access_token().secret()).await;
    assert_eq!(at["scope"], "read");
}
