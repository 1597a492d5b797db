//! Protocol steps the suites share: an authorization request driven through the login pages,
//! and token requests with the registration's client authentication.

use super::Context;
use crate::engine::http::{Recorder, Response};
use crate::engine::login::{Arrival, Drive, Pending, drive};
use crate::target::{AuthMethod, Registration};
use base64::Engine;
use reports::Exchange;

/// An RFC 7636 verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = random("v", 43);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier.clone(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// A fresh unguessable value (state, nonce, verifier) of `len` characters.
pub fn random(prefix: &str, len: usize) -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 48];
    // Without an entropy source nothing here can be trusted; the OS always provides one.
    aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes).expect("system random");
    let mut out = prefix.to_string();
    out.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    out.truncate(len.max(prefix.len()));
    out
}

/// The authorization request URL for `reg` with `params`: client_id and redirect_uri from the
/// registration, then `params`, then the target's and the client's extra parameters
/// (`[authorize.extra]`) that `params` does not set.
pub fn authorization_url(ctx: &Context, reg: &Registration, params: &[(&str, &str)]) -> Result<url::Url, String> {
    let endpoint = ctx.endpoint("authorization_endpoint").ok_or("discovery gave no authorization_endpoint")?;
    let redirect_uri = reg.redirect_uri.as_deref().ok_or_else(|| format!("client {} has no redirect_uri in the target", reg.client_id))?;
    let mut all = vec![("client_id", reg.client_id.as_str()), ("redirect_uri", redirect_uri)];
    all.extend_from_slice(params);
    let mut extra: Vec<(&str, &str)> = Vec::new();
    for (k, v) in ctx.target.authorize.extra.iter().chain(reg.authorize_extra.iter()) {
        if all.iter().all(|(name, _)| name != k) {
            extra.retain(|(name, _)| name != k);
            extra.push((k, v));
        }
    }
    all.extend(extra);
    url::Url::parse_with_params(endpoint, &all).map_err(|e| format!("authorization_endpoint {endpoint}: {e}"))
}

/// Sends the browser to the authorization endpoint with `params` (see `authorization_url`) and
/// follows it to the client.
pub async fn authorize(ctx: &Context, browser: &Recorder, reg: &Registration, params: &[(&str, &str)]) -> Result<Drive, String> {
    let url = authorization_url(ctx, reg, params)?;
    let pending = Pending { url };
    Ok(drive(browser, browser.get(pending.url.as_str()), &pending, &ctx.credentials()).await)
}

/// The same authorization request sent as a form POST (OIDC Core §3.1.2.1).
pub async fn authorize_by_post(ctx: &Context, browser: &Recorder, reg: &Registration, params: &[(&str, &str)]) -> Result<Drive, String> {
    let url = authorization_url(ctx, reg, params)?;
    let mut endpoint = url.clone();
    endpoint.set_query(None);
    let form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let pending = Pending { url };
    Ok(drive(browser, browser.post(endpoint.as_str()).form(&form), &pending, &ctx.credentials()).await)
}

/// A completed authorization: the parameters the client received, how, and the exchanges.
pub struct Authorized {
    pub arrival: Arrival,
    pub exchanges: Vec<Exchange>,
    /// Login forms the driver had to submit (0 when an existing session was used).
    pub logins: usize,
    pub prefilled_username: Option<String>,
}

/// Runs an authorization request to the end; `Err` says why it did not reach the client.
pub async fn authorized(
    ctx: &Context,
    browser: &Recorder,
    reg: &Registration,
    params: &[(&str, &str)],
) -> Result<Authorized, (String, Vec<Exchange>)> {
    let drive = authorize(ctx, browser, reg, params).await.map_err(|why| (why, Vec::new()))?;
    match drive.result {
        Ok(arrival) => {
            Ok(Authorized { arrival, exchanges: drive.exchanges, logins: drive.logins, prefilled_username: drive.prefilled_username })
        }
        Err(why) => Err((why, drive.exchanges)),
    }
}

/// A code-flow authorization and the PKCE verifier that redeems its code.
pub struct CodeAuthorization {
    pub done: Authorized,
    pub verifier: String,
}

/// Runs a code-flow authorization for `reg`: `response_type=code`, `scope`, a fresh `state`, an
/// S256 PKCE challenge, then `extra`. The client may still have received an error.
pub async fn code_authorization(
    ctx: &Context,
    browser: &Recorder,
    reg: &Registration,
    scope: &str,
    extra: &[(&str, &str)],
) -> Result<CodeAuthorization, (String, Vec<Exchange>)> {
    let (verifier, challenge) = pkce_pair();
    let state = random("s", 20);
    let mut params = vec![
        ("response_type", "code"),
        ("scope", scope),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    let done = authorized(ctx, browser, reg, &params).await?;
    Ok(CodeAuthorization { done, verifier })
}

/// A code flow redeemed: the 200 token response's JSON body, and every exchange on the way.
pub async fn code_tokens(
    ctx: &Context,
    browser: &Recorder,
    reg: &Registration,
    scope: &str,
    extra: &[(&str, &str)],
) -> Result<(serde_json::Value, Vec<Exchange>), (String, Vec<Exchange>)> {
    let CodeAuthorization { done, verifier, .. } = code_authorization(ctx, browser, reg, scope, extra).await?;
    let mut exchanges = done.exchanges;
    let Some(code) = done.arrival.params.get("code") else {
        let why = match done.arrival.params.get("error") {
            Some(error) => format!("the client received error={error} instead of a code"),
            None => "the client received no code".to_string(),
        };
        return Err((why, exchanges));
    };
    match redeem(ctx, reg, code, Some(&verifier)).await {
        Ok(r) => {
            exchanges.push(r.exchange.clone());
            match r.json().filter(|_| r.status == 200) {
                Some(body) => Ok((body, exchanges)),
                None => Err((format!("the token endpoint answered {}", r.status), exchanges)),
            }
        }
        Err(e) => {
            exchanges.push(e);
            Err(("no response from the token endpoint".into(), exchanges))
        }
    }
}

/// Redeems `code` for `reg` with its redirect URI and PKCE verifier.
pub async fn redeem(ctx: &Context, reg: &Registration, code: &str, verifier: Option<&str>) -> Result<Response, Exchange> {
    let redirect_uri = reg.redirect_uri.as_deref().unwrap_or("");
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri)];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    token(ctx, reg, &form).await
}

/// A token request authenticated as `reg` says (RFC 6749 §2.3.1).
pub async fn token(ctx: &Context, reg: &Registration, form: &[(&str, &str)]) -> Result<Response, Exchange> {
    let endpoint = ctx.endpoint("token_endpoint").unwrap_or_default().to_string();
    ctx.http.send(authenticated(&ctx.http, &endpoint, reg, form)).await
}

/// A POST to `endpoint` with the registration's client authentication.
pub fn authenticated(http: &Recorder, endpoint: &str, reg: &Registration, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let request = client_authentication(http.post(endpoint), reg, &mut fields);
    request.form(&fields)
}

/// The same request as a GET with the parameters in the query: only for proving an endpoint
/// refuses GET (a probe without credentials would be refused for the wrong reason).
pub fn authenticated_get(http: &Recorder, endpoint: &str, reg: &Registration, query: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let mut fields: Vec<(&str, &str)> = query.to_vec();
    let request = client_authentication(http.get(endpoint), reg, &mut fields);
    request.query(&fields)
}

/// The registration's client authentication: a Basic header, or fields added to `fields`.
pub fn client_authentication<'a>(
    request: reqwest::RequestBuilder,
    reg: &'a Registration,
    fields: &mut Vec<(&str, &'a str)>,
) -> reqwest::RequestBuilder {
    let secret = reg.secret.as_ref().map(|s| s.expose()).unwrap_or("");
    match reg.auth_method {
        AuthMethod::ClientSecretBasic => {
            // RFC 6749 §2.3.1: form-urlencode each part before base64.
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(&reg.client_id), enc(secret)));
            // Sensitive: any log that prints request headers (goose's request and error logs
            // under `load`) shows `Sensitive` instead of the credentials.
            match reqwest::header::HeaderValue::from_str(&format!("Basic {basic}")) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request.header(reqwest::header::AUTHORIZATION, value)
                }
                Err(_) => request,
            }
        }
        AuthMethod::ClientSecretPost => {
            fields.push(("client_id", &reg.client_id));
            fields.push(("client_secret", secret));
            request
        }
        AuthMethod::None => {
            fields.push(("client_id", &reg.client_id));
            request
        }
    }
}
