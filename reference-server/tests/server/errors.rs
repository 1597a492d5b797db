//! Every error the server produces keeps the character set of RFC 6749 §4.1.2.1, §4.2.2.1 and
//! §5.2 (and RFC 6750 §3): `error` and `error_description` hold only %x20-21 / %x23-5B /
//! %x5D-7E, wherever they travel (JSON bodies, a redirect's query or fragment, form_post fields,
//! `WWW-Authenticate`), and `error` is a code the RFCs define. Hostile requests to every endpoint
//! (quotes, backslashes, `§`, non-ASCII, control characters, long and repeated parameters)
//! are generated, and a few worst cases are named.

use crate::support::*;
use proptest::prelude::*;
use reqwest::header::HeaderValue;

/// The codes of RFC 6749 §4.1.2.1, §4.2.2.1 and §5.2, OIDC Core §3.1.2.6, RFC 6750 §3.1,
/// RFC 7009 §2.2.1, RFC 8707 §2 and RFC 7591 §3.2.2.
const DEFINED_CODES: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "invalid_client",
    "invalid_grant",
    "unsupported_grant_type",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
    "invalid_token",
    "insufficient_scope",
    "unsupported_token_type",
    "invalid_target",
    "invalid_redirect_uri",
    "invalid_client_metadata",
];

/// The longest `error_description` the server sends (reference_server::error::DESCRIPTION_MAX).
const DESCRIPTION_MAX: usize = 256;

fn is_rfc_clean(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// One `error` or `error_description` found in a response, and where.
#[derive(Debug)]
struct Found {
    place: &'static str,
    name: String,
    value: String,
}

/// Every `error` and `error_description` in `reply`: the JSON body, the Location's query and
/// fragment, form_post hidden inputs, and the `WWW-Authenticate` challenges' parameters. A
/// challenge that does not parse is itself reported (its raw value can never be clean).
fn errors_in(reply: &Reply, base: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let is_error = |name: &str| name == "error" || name == "error_description";
    let mut push = |place, name: &str, value: String| found.push(Found { place, name: name.to_string(), value });
    if reply.header("content-type").is_some_and(|c| c.starts_with("application/json"))
        && let Ok(serde_json::Value::Object(body)) = serde_json::from_str::<serde_json::Value>(&reply.body)
    {
        for (name, value) in body.iter().filter(|(n, _)| is_error(n)) {
            push("JSON body", name, value.as_str().map_or_else(|| value.to_string(), str::to_string));
        }
    }
    if let Some(location) = reply.header("location") {
        let url = url::Url::parse(base).and_then(|b| b.join(location));
        match url {
            Ok(url) => {
                for (name, value) in url.query_pairs().filter(|(n, _)| is_error(n)) {
                    push("Location query", &name, value.into_owned());
                }
                for (name, value) in url::form_urlencoded::parse(url.fragment().unwrap_or("").as_bytes()).filter(|(n, _)| is_error(n)) {
                    push("Location fragment", &name, value.into_owned());
                }
            }
            Err(e) => push("Location", "error", format!("unparsable Location \"{location}\": {e}")),
        }
    }
    if reply.header("content-type").is_some_and(|c| c.starts_with("text/html")) {
        let doc = scraper::Html::parse_document(&reply.body);
        let hidden = scraper::Selector::parse("input[type=hidden]").unwrap();
        for input in doc.select(&hidden) {
            if let Some(name) = input.value().attr("name").filter(|n| is_error(n)) {
                push("form_post input", name, input.value().attr("value").unwrap_or("").to_string());
            }
        }
    }
    for challenge in reply.headers.get_all("www-authenticate") {
        let text = String::from_utf8_lossy(challenge.as_bytes()).into_owned();
        match challenge_params(&text) {
            Some(params) => {
                for (name, value) in params.into_iter().filter(|(n, _)| is_error(n)) {
                    push("WWW-Authenticate", &name, value);
                }
            }
            None => push("WWW-Authenticate", "error_description", format!("unparsable challenge \"{text}\"")),
        }
    }
    found
}

/// The auth-params of a challenge (RFC 7235 §2.1: `scheme [ param *( "," param ) ]`, `param =
/// token "=" ( token / quoted-string )`), or `None` when it does not parse: a stray `"` or `\`
/// in a quoted value breaks it.
fn challenge_params(challenge: &str) -> Option<Vec<(String, String)>> {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let (scheme, mut rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    if scheme.is_empty() || !scheme.chars().all(is_tchar) {
        return None;
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if rest.is_empty() {
            return Some(params);
        }
        let (name, after) = rest.split_once('=')?;
        if name.is_empty() || !name.chars().all(is_tchar) {
            return None;
        }
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                let value = &quoted[..end];
                // A backslash would be a quoted-pair: the server never needs one.
                if value.contains('\\') {
                    return None;
                }
                (value.to_string(), &quoted[end + 1..])
            }
            None => {
                let end = after.find([',', ' ']).unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            }
        };
        if !(after.is_empty() || after.starts_with([',', ' '])) {
            return None;
        }
        params.push((name.to_string(), value));
        rest = after;
    }
}

/// Asserts the RFC character set, the length bound and a defined code for every error found.
fn assert_clean(found: &[Found], context: &str) -> Result<(), TestCaseError> {
    for f in found {
        prop_assert!(is_rfc_clean(&f.value), "{} {} breaks the RFC character set: {:?} ({context})", f.place, f.name, f.value);
        if f.name == "error" {
            prop_assert!(DEFINED_CODES.contains(&f.value.as_str()), "{} error {:?} is no RFC's code ({context})", f.place, f.value);
        } else {
            prop_assert!(f.value.len() <= DESCRIPTION_MAX, "{} error_description of {} chars ({context})", f.place, f.value.len());
        }
    }
    Ok(())
}

impl SharedServer {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.issuer())
    }

    /// Sends `request`, then checks no 5xx and every error in the answer.
    fn check(&self, request: reqwest::RequestBuilder, context: &str) -> Result<Vec<Found>, TestCaseError> {
        let reply = self.runtime.block_on(async { Reply::from(request.send().await.expect("the server answers")).await });
        prop_assert!(reply.status.as_u16() < 500, "{} for {context}: {}", reply.status, reply.body);
        let found = errors_in(&reply, &self.url("/authorize"));
        assert_clean(&found, &format!("{context}, status {}", reply.status))?;
        Ok(found)
    }
}

/// Text meant to break a description: quotes, backslashes, `§`, non-ASCII, control characters,
/// percent signs, long runs.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("§".to_string()),
        Just("x\"§\\y".to_string()),
        Just("a\u{0}b\r\n\tc\u{7f}".to_string()),
        Just("é€😀\u{202e}".to_string()),
        Just("%22%5C%C2%A7%00".to_string()),
        "[\"\\\\§éa-z0-9 %=&]{0,24}",
        "(?s).{0,30}",
        "[\"a-z]{300,600}",
    ]
}

/// A value that is sometimes right, so requests get past the first checks.
fn value() -> impl Strategy<Value = String> {
    let plausible = prop::sample::select(vec![
        "openid",
        "openid read",
        "code",
        "none",
        "login",
        "S256",
        "plain",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "https://api.example.test",
        "https://unknown.example.test/\"§",
        "{\"id_token\":{\"acr\":{\"essential\":true,\"values\":[\"\\\"§\"]}}}",
        "-1",
        "",
    ]);
    prop_oneof![3 => hostile(), 2 => plausible.prop_map(str::to_string)]
}

fn authorize_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "client_id",
            "redirect_uri",
            "response_type",
            "response_mode",
            "scope",
            "state",
            "nonce",
            "prompt",
            "max_age",
            "claims",
            "code_challenge",
            "code_challenge_method",
            "resource",
            "audience",
            "login_hint",
            "acr_values",
            "id_token_hint",
            "request",
            "request_uri",
            "registration",
            "org_id",
            "display",
            "ui_locales",
        ])
        .prop_map(str::to_string),
        hostile(),
    ]
}

/// A client and its redirect URI (mostly a registered pair, so errors go to the redirect URI).
fn client() -> impl Strategy<Value = Vec<(String, String)>> {
    let pair = |id: &str, uri: &str| vec![("client_id".to_string(), id.to_string()), ("redirect_uri".to_string(), uri.to_string())];
    prop_oneof![
        3 => Just(pair(WEB.0, WEB_REDIRECT)),
        2 => Just(pair(SPA, SPA_REDIRECT)),
        1 => Just(pair(WEB_POST.0, WEB_POST_REDIRECT)),
        1 => hostile().prop_map(move |id| pair(&id, WEB_REDIRECT)),
        1 => Just(Vec::new()),
    ]
}

fn authorize_request() -> impl Strategy<Value = Vec<(String, String)>> {
    let response_type = prop::sample::select(vec!["code", "id_token", "id_token token", "token", "code id_token", "\"§"]);
    let response_mode = prop::option::of(prop::sample::select(vec!["query", "fragment", "form_post", "jwt", "\"\\§"]));
    (client(), response_type, response_mode, prop::collection::vec((authorize_name(), value()), 0..7)).prop_map(
        |(mut params, response_type, response_mode, extra)| {
            params.push(("response_type".into(), response_type.into()));
            params.extend(response_mode.map(|m| ("response_mode".to_string(), m.to_string())));
            // Extra parameters may repeat or override the ones above (a repeat is an error too).
            params.extend(extra);
            params
        },
    )
}

/// A raw `Authorization` header: right, wrong, malformed, or hostile bytes.
fn authorization(right: &'static [&'static str]) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => Just(None),
        2 => prop::sample::select(right.to_vec()).prop_map(|v| Some(v.as_bytes().to_vec())),
        1 => hostile().prop_map(|h| Some(format!("Bearer {h}").into_bytes())),
        1 => hostile().prop_map(|h| Some(format!("Basic {h}").into_bytes())),
        1 => hostile().prop_map(|h| Some(h.into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Some),
    ]
}

/// Adds the header when its bytes can be a header value at all (the HTTP client refuses some).
fn with_authorization(request: reqwest::RequestBuilder, authorization: &Option<Vec<u8>>) -> reqwest::RequestBuilder {
    match authorization.as_deref().map(HeaderValue::from_bytes) {
        Some(Ok(value)) => request.header("authorization", value),
        _ => request,
    }
}

/// A form body: the parameters encoded, sometimes with raw bytes appended, under a form or another
/// content type.
fn body(params: &[(String, String)], raw: &[u8], form: bool) -> (Vec<u8>, &'static str) {
    let mut bytes = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish().into_bytes();
    bytes.extend_from_slice(raw);
    (bytes, if form { "application/x-www-form-urlencoded" } else { "text/plain" })
}

fn token_request() -> impl Strategy<Value = Vec<(String, String)>> {
    let grant = prop_oneof![
        prop::sample::select(vec![
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
            "implicit",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ])
        .prop_map(str::to_string),
        hostile(),
    ];
    let name = prop_oneof![
        prop::sample::select(vec![
            "grant_type",
            "code",
            "redirect_uri",
            "code_verifier",
            "refresh_token",
            "scope",
            "resource",
            "audience",
            "client_id",
            "client_secret",
            "username",
            "password",
            "token",
            "token_type_hint",
        ])
        .prop_map(str::to_string),
        hostile(),
    ];
    (prop::option::of(grant), prop::collection::vec((name, value()), 0..6)).prop_map(|(grant, extra)| {
        let mut params: Vec<(String, String)> = grant.map(|g| ("grant_type".to_string(), g)).into_iter().collect();
        params.extend(extra);
        params
    })
}

const CLIENT_AUTH: &[&str] = &[
    "Basic d2ViLWFwcDp3ZWItYXBwLXNlY3JldA==",
    "Basic c2VydmljZS1jbGllbnQ6c2VydmljZS1jbGllbnQtc2VjcmV0",
    "Basic c3BhLWFwcDp4",
    "Basic d2ViLWFwcDp3cm9uZw==",
];

fn logout_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["post_logout_redirect_uri", "client_id", "id_token_hint", "state", "ui_locales"]).prop_map(str::to_string)
}

fn raw_tail() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(any::<u8>(), 0..24)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn authorization_errors_are_rfc_clean(
        params in authorize_request(),
        post in any::<bool>(),
        raw in raw_tail(),
        form in prop::bool::weighted(0.9),
    ) {
        let s = shared_server();
        let request = if post {
            let (bytes, content_type) = body(&params, &raw, form);
            s.http.post(s.url("/authorize")).header("content-type", content_type).body(bytes)
        } else {
            let mut url = url::Url::parse(&s.url("/authorize")).unwrap();
            url.query_pairs_mut().extend_pairs(&params);
            s.http.get(url)
        };
        s.check(request, &format!("authorize {params:?}"))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn token_and_revocation_errors_are_rfc_clean(
        params in token_request(),
        auth in authorization(CLIENT_AUTH),
        raw in raw_tail(),
        form in prop::bool::weighted(0.9),
        revoke in prop::bool::weighted(0.3),
    ) {
        let s = shared_server();
        let (bytes, content_type) = body(&params, &raw, form);
        let path = if revoke { "/revoke" } else { "/token" };
        let request = s.http.post(s.url(path)).header("content-type", content_type).body(bytes);
        s.check(with_authorization(request, &auth), &format!("{path} {params:?} auth {auth:?}"))?;
    }

    #[test]
    fn userinfo_errors_are_rfc_clean(
        auth in authorization(&["Bearer not-a-token", "bearer x.y.z", "Basic d2ViLWFwcDp3ZWItYXBwLXNlY3JldA=="]),
        post in any::<bool>(),
        token in prop::option::of(hostile()),
    ) {
        let s = shared_server();
        let request = if post {
            let params: Vec<(String, String)> = token.iter().map(|t| ("access_token".to_string(), t.clone())).collect();
            let (bytes, content_type) = body(&params, b"", true);
            s.http.post(s.url("/userinfo")).header("content-type", content_type).body(bytes)
        } else {
            s.http.get(s.url("/userinfo"))
        };
        s.check(with_authorization(request, &auth), &format!("userinfo auth {auth:?} body token {token:?}"))?;
    }

    #[test]
    fn admin_errors_are_rfc_clean(
        path in prop::sample::select(vec!["/admin/revoke", "/admin/rotate-key", "/admin/stats"]),
        admin in prop_oneof![Just(None), Just(Some("Bearer")), Just(Some("bearer")), Just(Some("BEARER"))],
        auth in authorization(&["Bearer wrong-admin-token"]),
        field in prop::sample::select(vec!["user", "client_id", "resource", "alg", "\"§"]),
        text in hostile(),
        raw in raw_tail(),
    ) {
        let s = shared_server();
        let mut request = if path == "/admin/stats" { s.http.get(s.url(path)) } else { s.http.post(s.url(path)) };
        request = match admin {
            // The real admin token, under some spelling of the scheme: bodies get judged.
            Some(scheme) => request.header("authorization", format!("{scheme} {}", s.server.admin_token())),
            None => with_authorization(request, &auth),
        };
        let mut object = serde_json::Map::new();
        object.insert(field.to_string(), serde_json::Value::String(text.clone()));
        let mut bytes = serde_json::to_vec(&object).unwrap();
        bytes.extend_from_slice(&raw);
        let request = request.header("content-type", "application/json").body(bytes);
        s.check(request, &format!("{path} admin {admin:?} auth {auth:?} {field}={text:?}"))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn logout_errors_are_rfc_clean(
        params in prop::collection::vec((logout_name(), value()), 0..5),
        post in any::<bool>(),
    ) {
        let s = shared_server();
        let request = if post {
            let (bytes, content_type) = body(&params, b"", true);
            s.http.post(s.url("/logout")).header("content-type", content_type).body(bytes)
        } else {
            let mut url = url::Url::parse(&s.url("/logout")).unwrap();
            url.query_pairs_mut().extend_pairs(&params);
            s.http.get(url)
        };
        s.check(request, &format!("logout {params:?}"))?;
    }
}

/// `"`, `\` and `§` copied from the request into an authorization error, in each response
/// mode: the client gets `'`, `/` and `section `.
#[tokio::test]
async fn a_quote_a_backslash_and_a_section_sign_in_authorization_input_arrive_rfc_clean() {
    let rig = rig().await;
    let (_, challenge) = pkce();
    for mode in ["query", "fragment", "form_post"] {
        let params = [
            ("client_id", WEB.0),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("response_mode", mode),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "x\"§\\y"),
        ];
        let reply = rig.browser().authorize(&params).await;
        let found = errors_in(&reply, &rig.url("/authorize"));
        let description = found.iter().find(|f| f.name == "error_description").unwrap_or_else(|| panic!("{mode}: {}", reply.body));
        assert_eq!(description.value, "code_challenge_method 'x'section /y' is not supported; use S256", "{mode}");
        assert!(found.iter().any(|f| f.name == "error" && f.value == "invalid_request"), "{mode}: {found:?}");
    }
}

/// RFC 6749 §5.2 at the token endpoint: a hostile `grant_type` is quoted back cleaned.
#[tokio::test]
async fn a_hostile_grant_type_is_quoted_back_rfc_clean() {
    let rig = rig().await;
    let reply = rig.token(Some(WEB), &[("grant_type", "x\"§\\\u{1}é")]).await;
    let description = reply.assert_oauth_error(reqwest::StatusCode::BAD_REQUEST, "unsupported_grant_type");
    assert_eq!(description, "grant_type x'section /?? is not supported");
}

/// Section signs in the server's own citations become `section`.
#[tokio::test]
async fn a_repeated_parameter_cites_its_section_in_ascii() {
    let rig = rig().await;
    let request = rig.http.post(rig.url("/revoke")).basic_auth(WEB.0, Some(WEB.1));
    let form = request.header("content-type", "application/x-www-form-urlencoded").body("token=a&token=b");
    let reply = Reply::from(form.send().await.unwrap()).await;
    let description = reply.assert_oauth_error(reqwest::StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(description, "parameter token is repeated (RFC 6749 section 3.1)");
}

/// A megabyte of nothing cannot ride a description into a redirect URL or a JSON body: the
/// description is cut to 256 characters and says so.
#[tokio::test]
async fn long_input_quoted_in_an_error_is_cut() {
    let rig = rig().await;
    let long = format!("https://unknown.example.test/{}", "\"".repeat(2_000));
    let params =
        [("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT), ("response_type", "code"), ("scope", "openid"), ("resource", long.as_str())];
    let reply = rig.browser().authorize(&params).await;
    let location = reply.header("location").expect("an error redirect").to_string();
    assert!(location.len() < 2_000, "Location of {} bytes", location.len());
    let found = errors_in(&reply, &rig.url("/authorize"));
    let description = &found.iter().find(|f| f.name == "error_description").expect("a description").value;
    assert!(description.len() == DESCRIPTION_MAX && description.ends_with("...") && is_rfc_clean(description), "{description}");
    let admin = rig.admin("/admin/revoke", serde_json::json!({ "user": "§\"".repeat(5_000) })).await;
    let description = admin.assert_oauth_error(reqwest::StatusCode::BAD_REQUEST, "invalid_request");
    assert!(description.len() == DESCRIPTION_MAX && is_rfc_clean(&description), "{description}");
}

#[test]
fn the_challenge_parser_refuses_what_breaks_a_quoted_string() {
    assert_eq!(
        challenge_params("Bearer realm=\"x\", error=\"invalid_token\", error_description=\"a b\""),
        Some(vec![("realm".into(), "x".into()), ("error".into(), "invalid_token".into()), ("error_description".into(), "a b".into())])
    );
    assert_eq!(challenge_params("Bearer"), Some(vec![]));
    assert_eq!(challenge_params("Bearer error_description=\"a \"quoted\" b\""), None);
    assert_eq!(challenge_params("Bearer error_description=\"a \\ b\""), None);
}
