//! Test support: a running server, a browser (cookie jar, no automatic redirects) that fills in
//! the server's HTML forms, and JWT checks against the published JWKS.

use aws_lc_rs::signature;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reference_server::{Config, Server};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::collections::HashMap;

pub const WEB: (&str, &str) = ("web-app", "web-app-secret");
pub const WEB_REDIRECT: &str = "https://app.example.test/callback";
pub const WEB_POST: (&str, &str) = ("web-app-post", "web-app-post-secret");
pub const WEB_POST_REDIRECT: &str = "https://app2.example.test/callback";
pub const SPA: &str = "spa-app";
pub const SPA_REDIRECT: &str = "https://spa.example.test/callback";
pub const SERVICE: (&str, &str) = ("service-client", "service-client-secret");
pub const ALICE: (&str, &str) = ("alice", "alice-password");
pub const ALICE_OTP: &str = "246810";
pub const BOB: (&str, &str) = ("bob", "bob-password");

pub struct Rig {
    pub server: Server,
    pub http: reqwest::Client,
}

pub async fn rig() -> Rig {
    rig_with(Config::default()).await
}

/// A server for `config`, sharing the process's signing keys with the other tests' servers
/// (generating RSA keys afresh costs ~0.2 s each); `rig_with_own_keys` for a test about keys.
pub async fn rig_with(config: Config) -> Rig {
    rig_with_own_keys(Config { shared_process_keys: true, ..config }).await
}

pub async fn rig_with_own_keys(config: Config) -> Rig {
    let server = reference_server::start(config).await.expect("server starts");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    Rig { server, http }
}

impl Rig {
    /// An endpoint below the issuer path (an issuer may end in `/`, OIDC Discovery §4.1).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.issuer().trim_end_matches('/'))
    }

    pub fn browser(&self) -> Browser {
        Browser {
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().expect("client"),
            issuer: self.server.issuer().trim_end_matches('/').to_string(),
        }
    }

    /// POSTs a token request; `auth` is (client_id, Some(secret)) for Basic, or form fields.
    pub async fn token(&self, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Reply {
        let mut request = self.http.post(self.url("/token")).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        Reply::from(request.send().await.expect("token request")).await
    }

    pub async fn userinfo(&self, access_token: &str) -> Reply {
        Reply::from(self.http.get(self.url("/userinfo")).bearer_auth(access_token).send().await.expect("userinfo")).await
    }

    pub async fn admin(&self, path: &str, body: Value) -> Reply {
        let request = self.http.post(self.url(path)).bearer_auth(self.server.admin_token()).json(&body);
        Reply::from(request.send().await.expect("admin")).await
    }

    /// Logs `user` in through the web client's code flow and redeems the code.
    pub async fn web_tokens(&self, scope: &str, user: (&str, &str)) -> Value {
        let browser = self.browser();
        let result = browser.code_flow(WEB.0, WEB_REDIRECT, scope, &[], user).await;
        let code = result.param("code");
        let reply = self.token(Some(WEB), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", WEB_REDIRECT)]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()
    }

    pub async fn jwks(&self) -> Value {
        self.http.get(self.url("/jwks")).send().await.unwrap().json().await.unwrap()
    }

    /// Verifies a JWT's signature against the server's JWKS and returns (header, claims). The
    /// key is the one the header's `kid` and `alg` name; without a `kid`, the JWKS must hold
    /// exactly one key (OIDC Core §10.1).
    pub async fn verify_jwt(&self, jwt: &str) -> (Value, Value) {
        let jwks = self.jwks().await;
        let (header, claims) = decode_jwt(jwt);
        let keys = jwks["keys"].as_array().unwrap();
        let jwk = match header["kid"].as_str() {
            Some(kid) => keys.iter().find(|k| k["kid"] == kid && k["alg"] == header["alg"]).expect("kid published in the JWKS"),
            None => {
                assert_eq!(keys.len(), 1, "a token without kid needs a JWKS of one key");
                &keys[0]
            }
        };
        assert_eq!(jwk["alg"], header["alg"]);
        assert!(verify_with_jwk(jwk, jwt), "signature verifies against the JWKS");
        (header, claims)
    }
}

/// Verifies a compact JWS with a public JWK (the algorithms the reference server signs with).
pub fn verify_with_jwk(jwk: &Value, jwt: &str) -> bool {
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let part = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let ec_point = || {
        let mut point = vec![4u8];
        point.extend(part("x"));
        point.extend(part("y"));
        point
    };
    let rsa = |params: &'static signature::RsaParameters| {
        signature::RsaPublicKeyComponents { n: part("n"), e: part("e") }.verify(params, input.as_bytes(), &sig).is_ok()
    };
    let ec = |params: &'static signature::EcdsaVerificationAlgorithm| {
        signature::UnparsedPublicKey::new(params, ec_point()).verify(input.as_bytes(), &sig).is_ok()
    };
    match jwk["alg"].as_str().unwrap() {
        "RS256" => rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        "PS256" => rsa(&signature::RSA_PSS_2048_8192_SHA256),
        "RS384" => rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        "PS384" => rsa(&signature::RSA_PSS_2048_8192_SHA384),
        "ES256" => ec(&signature::ECDSA_P256_SHA256_FIXED),
        "ES384" => ec(&signature::ECDSA_P384_SHA384_FIXED),
        "ES512" => ec(&signature::ECDSA_P521_SHA512_FIXED),
        "EdDSA" => signature::UnparsedPublicKey::new(&signature::ED25519, part("x")).verify(input.as_bytes(), &sig).is_ok(),
        other => panic!("unexpected alg {other}"),
    }
}

pub fn decode_jwt(jwt: &str) -> (Value, Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let decode = |p: &str| serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("json");
    (decode(parts[0]), decode(parts[1]))
}

/// RFC 7636 §4.1/§4.2: a verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz".to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// The left half of SHA-256, base64url (OIDC Core §3.1.3.6).
pub fn half_sha256(value: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

pub fn is_der_certificate(x5c: &str) -> bool {
    STANDARD.decode(x5c).is_ok_and(|der| der.first() == Some(&0x30) && der.len() > 200)
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Reply {
        Reply { status: response.status(), headers: response.headers().clone(), body: response.text().await.unwrap_or_default() }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("JSON body ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> Option<url::Url> {
        self.header("location").map(|l| url::Url::parse(l).expect("absolute Location"))
    }

    /// Asserts the RFC 6749 §5.2 shape with `error` and returns the description.
    pub fn assert_oauth_error(&self, status: StatusCode, error: &str) -> String {
        assert_eq!(self.status, status, "status for {error}: {}", self.body);
        let json = self.json();
        assert_eq!(json["error"], error, "{}", self.body);
        assert!(json["error_description"].is_string());
        assert!(self.header("content-type").is_some_and(|c| c.starts_with("application/json")));
        json["error_description"].as_str().unwrap_or_default().to_string()
    }
}

/// An HTML form as the browser sees it.
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub names: Vec<String>,
}

pub fn find_form(html: &str, id: &str) -> Option<Form> {
    let doc = scraper::Html::parse_document(html);
    let form_sel = scraper::Selector::parse(&format!("form#{id}")).unwrap();
    let input_sel = scraper::Selector::parse("input").unwrap();
    let form = doc.select(&form_sel).next()?;
    let mut fields = Vec::new();
    let mut names = Vec::new();
    for input in form.select(&input_sel) {
        let Some(name) = input.value().attr("name") else { continue };
        names.push(name.to_string());
        if input.value().attr("type") == Some("hidden") || input.value().attr("value").is_some() {
            fields.push((name.to_string(), input.value().attr("value").unwrap_or("").to_string()));
        }
    }
    Some(Form { action: form.value().attr("action")?.to_string(), fields, names })
}

/// The final authorization response: where the browser was sent, with its parameters.
pub struct AuthResult {
    pub reply: Reply,
    pub params: HashMap<String, String>,
}

impl AuthResult {
    pub fn param(&self, name: &str) -> String {
        self.params.get(name).cloned().unwrap_or_else(|| panic!("no {name} in the authorization response: {:?}", self.params))
    }
}

pub fn response_params(reply: &Reply) -> HashMap<String, String> {
    let Some(location) = reply.location() else { return HashMap::new() };
    let mut params: HashMap<String, String> = location.query_pairs().into_owned().collect();
    if let Some(fragment) = location.fragment() {
        params.extend(url::form_urlencoded::parse(fragment.as_bytes()).into_owned());
    }
    params
}

pub struct Browser {
    pub client: reqwest::Client,
    issuer: String,
}

impl Browser {
    pub async fn get(&self, url: &str) -> Reply {
        Reply::from(self.client.get(url).send().await.expect("GET")).await
    }

    pub async fn post_form(&self, url: &str, form: &[(String, String)]) -> Reply {
        Reply::from(self.client.post(url).form(form).send().await.expect("POST")).await
    }

    pub async fn authorize(&self, params: &[(&str, &str)]) -> Reply {
        let url = url::Url::parse_with_params(&format!("{}/authorize", self.issuer), params).unwrap();
        self.get(url.as_str()).await
    }

    /// Fills and submits the login form behind a redirect to the login page.
    pub async fn login(&self, to_login: &Reply, user: (&str, &str), otp: Option<&str>) -> Reply {
        let location = to_login.location().expect("redirect to the login page");
        assert!(location.path().ends_with("/login"), "went to {location}");
        let page = self.get(location.as_str()).await;
        let form = find_form(&page.body, "login").unwrap_or_else(|| panic!("login form: {}", page.body));
        let mut fields: Vec<(String, String)> = form.fields.into_iter().filter(|(n, _)| n != "username").collect();
        fields.push(("username".into(), user.0.into()));
        fields.push(("password".into(), user.1.into()));
        if let Some(otp) = otp {
            fields.push(("otp".into(), otp.into()));
        }
        self.post_form(&form.action, &fields).await
    }

    /// Approves or denies the consent page behind a redirect to it.
    pub async fn consent(&self, to_consent: &Reply, decision: &str) -> Reply {
        let location = to_consent.location().expect("redirect to the consent page");
        assert!(location.path().ends_with("/consent"), "went to {location}");
        let page = self.get(location.as_str()).await;
        let form = find_form(&page.body, "consent").unwrap_or_else(|| panic!("consent form: {}", page.body));
        let mut fields = form.fields;
        fields.push(("decision".into(), decision.into()));
        self.post_form(&form.action, &fields).await
    }

    /// Runs authorize -> login -> consent (if asked) and returns the final response.
    pub async fn code_flow(
        &self,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        extra: &[(&str, &str)],
        user: (&str, &str),
    ) -> AuthResult {
        let mut params = vec![("client_id", client_id), ("redirect_uri", redirect_uri), ("response_type", "code"), ("scope", scope)];
        params.extend_from_slice(extra);
        self.flow(&params, user, None).await
    }

    /// Runs any authorization request through login and consent.
    pub async fn flow(&self, params: &[(&str, &str)], user: (&str, &str), otp: Option<&str>) -> AuthResult {
        let mut reply = self.authorize(params).await;
        if reply.location().is_some_and(|l| l.path().ends_with("/login")) {
            reply = self.login(&reply, user, otp).await;
        }
        if reply.location().is_some_and(|l| l.path().ends_with("/consent")) {
            reply = self.consent(&reply, "approve").await;
        }
        let params = response_params(&reply);
        AuthResult { reply, params }
    }
}

/// One server (default configuration) and its own runtime for the property tests, which run
/// many cases synchronously: started once per test process, shared by every property test.
pub struct SharedServer {
    pub runtime: tokio::runtime::Runtime,
    pub server: Server,
    pub http: reqwest::Client,
}

pub fn shared_server() -> &'static SharedServer {
    static SHARED: std::sync::OnceLock<SharedServer> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let server = runtime.block_on(reference_server::start(Config { shared_process_keys: true, ..Config::default() })).unwrap();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        SharedServer { runtime, server, http }
    })
}
