//! Fuzz target for the login and consent form handlers (issue 13): random sequences of posts
//! to `POST /login`, `POST /consent` and `POST /api/login` (on a default server, and on one with
//! the `login-api` variant) for a few live interactions, with right, missing, repeated, forged
//! or another interaction's ids, CSRF tokens and cookies, any credentials and decisions, bodies
//! of the wrong content type or with stray bytes. Every answer is compared with a model of the
//! pages' rules, built from the bytes actually sent:
//! - never a 5xx; an error is a page (HTML) or an RFC 6749 §5.2-shaped JSON object with an
//!   RFC-clean description;
//! - a code (or `access_denied`) reaches the client's redirect URI only for a post that carried
//!   that interaction's cookie and CSRF token, once each, and valid credentials of a user (a
//!   client without consent) or, on the consent page, the session that signed in and an
//!   approval; the code redeems, for that user;
//! - an interaction ends at most once: afterwards even a rightful post gets the expired page.
//!
//! Cases are few by default; `PROPTEST_CASES` runs more (CI runs a longer bounded pass). A
//! failing case is saved under `tests/proptest-regressions/` and replayed first on every run.

use crate::support::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use reference_server::variants::Variant;
use reference_server::{Config, Server};
use reqwest::StatusCode;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Few cases by default, `PROPTEST_CASES` for more; a failure is saved by the default's
/// `FileFailurePersistence::SourceParallel` (unless `PROPTEST_DISABLE_FAILURE_PERSISTENCE`),
/// which makes this file's `tests/proptest-regressions/fuzz.txt`.
fn fuzz_config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default_cases);
    ProptestConfig { cases, source_file: Some(file!()), test_name: Some("fuzz::fuzz_login_and_consent_forms"), ..ProptestConfig::default() }
}

struct Shared {
    runtime: tokio::runtime::Runtime,
    /// The default server, and one with the `login-api` variant.
    servers: [Server; 2],
    http: reqwest::Client,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let start = |variants: Vec<Variant>| {
            runtime.block_on(reference_server::start(Config { shared_process_keys: true, variants, ..Config::default() })).unwrap()
        };
        let servers = [start(vec![]), start(vec![Variant::LoginApi])];
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Shared { runtime, servers, http }
    })
}

// --- what a case is made of -------------------------------------------------------------

/// The clients of the default configuration with browser flows: two ask for consent.
#[derive(Debug, Clone, Copy, PartialEq)]
enum App {
    Web,
    WebPost,
    Spa,
}

impl App {
    fn client_id(self) -> &'static str {
        match self {
            App::Web => WEB.0,
            App::WebPost => WEB_POST.0,
            App::Spa => SPA,
        }
    }
    fn redirect_uri(self) -> &'static str {
        match self {
            App::Web => WEB_REDIRECT,
            App::WebPost => WEB_POST_REDIRECT,
            App::Spa => SPA_REDIRECT,
        }
    }
    fn consent(self) -> bool {
        self != App::WebPost
    }
}

/// An interaction id or CSRF token as posted: the target interaction's, another one's of the
/// case (maybe ended), a forged one, or empty.
#[derive(Debug, Clone)]
enum Token {
    Right,
    Other(usize),
    Forged(String),
    Empty,
}

#[derive(Debug, Clone)]
enum CookieEntry {
    Right,
    Other(usize),
    /// The target's cookie name with another value.
    WrongValue(String),
    /// The target's cookie name with a value sharing its first 16 characters (the name).
    SamePrefix(String),
}

#[derive(Debug, Clone)]
enum SessionCookie {
    /// The session of the last sign-in of this case.
    Latest,
    /// The session the target interaction was signed in with.
    Target,
    Forged(String),
    None,
}

#[derive(Debug, Clone)]
enum Username {
    Alice,
    Bob,
    Named(String),
    Empty,
}

#[derive(Debug, Clone)]
enum Password {
    Matching,
    AnotherUsers,
    Forged(String),
    Empty,
}

#[derive(Debug, Clone)]
enum Decision {
    Approve,
    Deny,
    Other(String),
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Endpoint {
    Login,
    Consent,
    Api,
}

#[derive(Debug, Clone, Copy)]
enum ApiBody {
    Object,
    Array,
    NotJson,
}

#[derive(Debug, Clone)]
struct Post {
    /// `None`: the form the target interaction is at (login or consent; on the server with the
    /// login API, the API half the time).
    endpoint: Option<Endpoint>,
    target: usize,
    interaction: Vec<Token>,
    csrf: Vec<Token>,
    cookies: Vec<CookieEntry>,
    session: SessionCookie,
    session_first: bool,
    username: Vec<Username>,
    password: Vec<Password>,
    decision: Vec<Decision>,
    step: Option<&'static str>,
    extra: Vec<(&'static str, String)>,
    content_type: Option<&'static str>,
    tail: Vec<u8>,
    api_body: ApiBody,
}

#[derive(Debug, Clone)]
struct Case {
    /// The server with the login API, else the default one.
    api_server: bool,
    apps: Vec<App>,
    posts: Vec<Post>,
}

fn forged() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{0,44}"
}

fn token() -> BoxedStrategy<Token> {
    prop_oneof![
        40 => Just(Token::Right),
        2 => any::<usize>().prop_map(Token::Other),
        1 => forged().prop_map(Token::Forged),
        1 => Just(Token::Empty),
    ]
    .boxed()
}

/// Sent once mostly; sometimes not at all, sometimes twice.
fn occurrences<T: std::fmt::Debug + 'static>(one: BoxedStrategy<T>) -> impl Strategy<Value = Vec<T>> {
    prop_oneof![1 => prop::collection::vec(one.clone(), 0..=0), 40 => prop::collection::vec(one.clone(), 1..=1), 1 => prop::collection::vec(one, 2..=2)]
}

fn post() -> impl Strategy<Value = Post> {
    let endpoint =
        prop_oneof![6 => Just(None), 2 => Just(Some(Endpoint::Login)), 2 => Just(Some(Endpoint::Consent)), 2 => Just(Some(Endpoint::Api))];
    let cookie = prop_oneof![
        40 => Just(CookieEntry::Right),
        2 => any::<usize>().prop_map(CookieEntry::Other),
        1 => forged().prop_map(CookieEntry::WrongValue),
        1 => "[A-Za-z0-9_-]{0,27}".prop_map(CookieEntry::SamePrefix),
    ]
    .boxed();
    let session = prop_oneof![
        5 => Just(SessionCookie::Latest),
        3 => Just(SessionCookie::Target),
        1 => forged().prop_map(SessionCookie::Forged),
        1 => Just(SessionCookie::None),
    ];
    let username = prop_oneof![
        4 => Just(Username::Alice),
        3 => Just(Username::Bob),
        1 => prop_oneof![Just("ALICE".to_string()), Just("alice ".to_string()), ".{0,8}"].prop_map(Username::Named),
        1 => Just(Username::Empty),
    ]
    .boxed();
    let password = prop_oneof![
        14 => Just(Password::Matching),
        2 => Just(Password::AnotherUsers),
        1 => prop_oneof![Just("alice-password ".to_string()), Just("ALICE-PASSWORD".to_string()), ".{0,8}"].prop_map(Password::Forged),
        1 => Just(Password::Empty),
    ]
    .boxed();
    let decision = prop_oneof![
        12 => Just(Decision::Approve),
        5 => Just(Decision::Deny),
        1 => prop_oneof![Just("Approve".to_string()), Just("allow".to_string()), ".{0,6}"].prop_map(Decision::Other),
        1 => Just(Decision::Empty),
    ]
    .boxed();
    let step = prop_oneof![12 => Just(None), 1 => prop::sample::select(vec!["reauth", "identifier", "credentials", ""]).prop_map(Some)];
    let extra = prop::collection::vec(
        (prop::sample::select(vec!["otp", "account", "state", "interaction ", "csrf%00", "x"]), "[a-z0-9%&=]{0,6}"),
        0..2,
    );
    let content_type = prop_oneof![
        24 => Just(Some("application/x-www-form-urlencoded")),
        1 => prop::sample::select(vec![
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            Some("APPLICATION/X-WWW-FORM-URLENCODED"),
            Some(" application/x-www-form-urlencoded ;x=1"),
            Some("application/x-www-form-urlencodedx"),
            Some("text/plain"),
            Some("application/json"),
            Some("multipart/form-data; boundary=x"),
            None,
        ]),
    ];
    let tail = prop_oneof![12 => Just(Vec::new()), 1 => prop::collection::vec(any::<u8>(), 0..16)];
    let api_body = prop_oneof![12 => Just(ApiBody::Object), 1 => Just(ApiBody::Array), 1 => Just(ApiBody::NotJson)];
    (
        (endpoint, any::<usize>(), occurrences(token()), occurrences(token()), occurrences(cookie), session, any::<bool>()),
        (occurrences(username), occurrences(password), occurrences(decision), step, extra, content_type, tail, api_body),
    )
        .prop_map(
            |(
                (endpoint, target, interaction, csrf, cookies, session, session_first),
                (username, password, decision, step, extra, content_type, tail, api_body),
            )| Post {
                endpoint,
                target,
                interaction,
                csrf,
                cookies,
                session,
                session_first,
                username,
                password,
                decision,
                step,
                extra,
                content_type,
                tail,
                api_body,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    let app = prop_oneof![Just(App::Web), Just(App::WebPost), Just(App::Spa)];
    (any::<bool>(), prop::collection::vec(app, 1..=3), prop::collection::vec(post(), 1..=12)).prop_map(|(api_server, apps, posts)| Case {
        api_server,
        apps,
        posts,
    })
}

// --- the model ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Waiting for the credentials.
    Login,
    /// Signed in with `session` as `sub`; waiting for the consent form.
    Consent {
        session: String,
        sub: &'static str,
    },
    Ended,
}

#[derive(Debug)]
struct Interaction {
    app: App,
    id: String,
    csrf: String,
    state: String,
    phase: Phase,
    /// Codes and denials sent for it: at most one, ever.
    endings: usize,
}

fn cookie_name(id: &str) -> String {
    format!("oh_interaction_{}", id.chars().take(16).collect::<String>())
}

/// What the server must answer, as the model sees it.
#[derive(Debug, PartialEq)]
enum Expect {
    Page(u16),
    /// An RFC 6749 §5.2-shaped JSON error.
    Json(u16, &'static str),
    /// Signed in (a new session): on to the consent page of interaction `.0`.
    ToConsent(usize, &'static str),
    /// Signed in (a new session, when `.2`) and the code for interaction `.0` and user `.1`.
    Code(usize, &'static str, bool),
    Denied(usize),
}

/// A parameter as RFC 6749 §3.1 reads it: sent exactly once, with a value.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let values: Vec<String> =
        url::form_urlencoded::parse(text.as_bytes()).filter(|(n, _)| n == name).map(|(_, v)| v.into_owned()).collect();
    match values.as_slice() {
        [only] if !only.is_empty() => Some(only.clone()),
        _ => None,
    }
}

/// The first cookie named `name` in the Cookie header.
fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v)
}

fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| c.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// The user these credentials sign in, if any.
fn user_for(username: &str, password: &str) -> Option<&'static str> {
    match (username, password) {
        ("alice", "alice-password") => Some("u-alice-7f3a"),
        ("bob", "bob-password") => Some("u-bob-21c9"),
        _ => None,
    }
}

struct World {
    api_server: bool,
    interactions: Vec<Interaction>,
    live_sessions: HashSet<String>,
    latest_session: Option<String>,
}

/// One post as sent.
struct Sent {
    endpoint: Endpoint,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    cookie: String,
    csrf_headers: Vec<String>,
}

impl World {
    fn live(&self, id: Option<&str>) -> Option<usize> {
        let id = id?;
        self.interactions.iter().position(|i| i.id == id && i.phase != Phase::Ended)
    }

    /// The post made concrete: tokens resolved against the case's interactions and sessions.
    fn render(&self, post: &Post) -> Sent {
        let n = self.interactions.len();
        let target = &self.interactions[post.target % n];
        let endpoint = post.endpoint.unwrap_or(match target.phase {
            Phase::Consent { .. } => Endpoint::Consent,
            _ if self.api_server && post.session_first => Endpoint::Api,
            _ => Endpoint::Login,
        });
        let resolve = |t: &Token, csrf: bool| -> String {
            let pick = |i: &Interaction| if csrf { i.csrf.clone() } else { i.id.clone() };
            match t {
                Token::Right => pick(target),
                Token::Other(k) => pick(&self.interactions[k % n]),
                Token::Forged(s) => s.clone(),
                Token::Empty => String::new(),
            }
        };
        let mut cookies: Vec<String> = post
            .cookies
            .iter()
            .map(|c| match c {
                CookieEntry::Right => format!("{}={}", cookie_name(&target.id), target.id),
                CookieEntry::Other(k) => {
                    let other = &self.interactions[k % n];
                    format!("{}={}", cookie_name(&other.id), other.id)
                }
                CookieEntry::WrongValue(v) => format!("{}={v}", cookie_name(&target.id)),
                CookieEntry::SamePrefix(v) => {
                    format!("{}={}{v}", cookie_name(&target.id), target.id.chars().take(16).collect::<String>())
                }
            })
            .collect();
        let session = match &post.session {
            SessionCookie::Latest => self.latest_session.clone(),
            SessionCookie::Target => match &target.phase {
                Phase::Consent { session, .. } => Some(session.clone()),
                _ => None,
            },
            SessionCookie::Forged(s) => Some(s.clone()),
            SessionCookie::None => None,
        };
        if let Some(session) = session {
            let entry = format!("oh_session={session}");
            if post.session_first { cookies.insert(0, entry) } else { cookies.push(entry) }
        }
        let usernames: Vec<&str> = post
            .username
            .iter()
            .map(|u| match u {
                Username::Alice => ALICE.0,
                Username::Bob => BOB.0,
                Username::Named(s) => s.as_str(),
                Username::Empty => "",
            })
            .collect();
        let named = usernames.first().copied().unwrap_or("");
        let passwords: Vec<String> = post
            .password
            .iter()
            .map(|p| match p {
                Password::Matching if named == BOB.0 => BOB.1.to_string(),
                Password::Matching => ALICE.1.to_string(),
                Password::AnotherUsers if named == BOB.0 => ALICE.1.to_string(),
                Password::AnotherUsers => BOB.1.to_string(),
                Password::Forged(s) => s.clone(),
                Password::Empty => String::new(),
            })
            .collect();
        let mut fields: Vec<(String, String)> = Vec::new();
        fields.extend(post.interaction.iter().map(|t| ("interaction".to_string(), resolve(t, false))));
        let csrf: Vec<String> = post.csrf.iter().map(|t| resolve(t, true)).collect();
        let api = endpoint == Endpoint::Api;
        if !api {
            fields.extend(csrf.iter().map(|c| ("csrf".to_string(), c.clone())));
        }
        fields.extend(usernames.iter().map(|u| ("username".to_string(), u.to_string())));
        fields.extend(passwords.iter().map(|p| ("password".to_string(), p.clone())));
        let mut body = if api {
            // Written by hand so that a repeated member is repeated in the text (the last counts).
            let members: Vec<String> =
                fields.iter().map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), Value::from(v.as_str()))).collect();
            match post.api_body {
                ApiBody::Object => format!("{{{}}}", members.join(",")),
                ApiBody::Array => format!("[{}]", members.iter().map(|m| format!("{{{m}}}")).collect::<Vec<_>>().join(",")),
                ApiBody::NotJson => format!("interaction={}", fields.first().map_or("", |(_, v)| v.as_str())),
            }
            .into_bytes()
        } else {
            let decisions = post.decision.iter().map(|d| match d {
                Decision::Approve => "approve".to_string(),
                Decision::Deny => "deny".to_string(),
                Decision::Other(s) => s.clone(),
                Decision::Empty => String::new(),
            });
            fields.extend(decisions.map(|d| ("decision".to_string(), d)));
            fields.extend(post.step.map(|s| ("step".to_string(), s.to_string())));
            fields.extend(post.extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
            let mut body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish().into_bytes();
            if !post.tail.is_empty() {
                body.push(b'&');
            }
            body
        };
        body.extend_from_slice(&post.tail);
        let csrf_headers = if api { csrf } else { Vec::new() };
        Sent { endpoint, content_type: post.content_type, body, cookie: cookies.join("; "), csrf_headers }
    }

    /// Whether the post comes from the browser holding interaction `ix` (its cookie) and from
    /// its page (its CSRF token).
    fn rightful(&self, sent: &Sent, ix: usize, csrf: Option<&str>) -> bool {
        let i = &self.interactions[ix];
        cookie_value(&sent.cookie, &cookie_name(&i.id)) == Some(i.id.as_str()) && csrf == Some(i.csrf.as_str())
    }

    /// What the server must answer to `sent`.
    fn expect(&self, sent: &Sent) -> Expect {
        let session_cookie = cookie_value(&sent.cookie, "oh_session");
        match sent.endpoint {
            Endpoint::Api if !self.api_server => Expect::Json(404, "not_found"),
            Endpoint::Api => {
                let Ok(json) = serde_json::from_slice::<Value>(&sent.body) else { return Expect::Json(400, "invalid_request") };
                let field = |name: &str| json.get(name).and_then(Value::as_str);
                let Some(ix) = self.live(field("interaction")) else { return Expect::Json(400, "invalid_request") };
                if !self.rightful(sent, ix, sent.csrf_headers.first().map(String::as_str)) {
                    return Expect::Json(403, "invalid_request");
                }
                match user_for(field("username").unwrap_or(""), field("password").unwrap_or("")) {
                    None => Expect::Json(401, "invalid_credentials"),
                    Some(sub) if self.interactions[ix].app.consent() => Expect::ToConsent(ix, sub),
                    Some(sub) => Expect::Code(ix, sub, true),
                }
            }
            Endpoint::Login | Endpoint::Consent if !is_form(sent.content_type) => Expect::Page(415),
            Endpoint::Login => {
                let Some(ix) = self.live(form_value(&sent.body, "interaction").as_deref()) else { return Expect::Page(400) };
                if !self.rightful(sent, ix, form_value(&sent.body, "csrf").as_deref()) {
                    return Expect::Page(403);
                }
                // No re-authentication page on these servers: a post claiming to come from
                // one is for a page that does not exist.
                if form_value(&sent.body, "step").as_deref() == Some("reauth") {
                    return Expect::Page(400);
                }
                let username = form_value(&sent.body, "username").unwrap_or_default();
                let password = form_value(&sent.body, "password").unwrap_or_default();
                match user_for(&username, &password) {
                    None => Expect::Page(200),
                    Some(sub) if self.interactions[ix].app.consent() => Expect::ToConsent(ix, sub),
                    Some(sub) => Expect::Code(ix, sub, true),
                }
            }
            Endpoint::Consent => {
                let Some(ix) = self.live(form_value(&sent.body, "interaction").as_deref()) else { return Expect::Page(400) };
                if !self.rightful(sent, ix, form_value(&sent.body, "csrf").as_deref()) {
                    return Expect::Page(403);
                }
                let Phase::Consent { session, sub } = &self.interactions[ix].phase else { return Expect::Page(400) };
                if session_cookie != Some(session.as_str()) || !self.live_sessions.contains(session) {
                    return Expect::Page(400);
                }
                match form_value(&sent.body, "decision").as_deref() {
                    Some("approve") => Expect::Code(ix, sub, false),
                    Some("deny") => Expect::Denied(ix),
                    _ => Expect::Page(400),
                }
            }
        }
    }
}

// --- running a case -----------------------------------------------------------------------

#[derive(Default, Debug)]
struct Coverage {
    codes_after_login: usize,
    codes_after_consent: usize,
    codes_from_api: usize,
    denials: usize,
    refusals: usize,
}

struct Answer {
    status: StatusCode,
    content_type: String,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

async fn send(s: &Shared, base: &str, sent: &Sent) -> Answer {
    let path = match sent.endpoint {
        Endpoint::Login => "/login",
        Endpoint::Consent => "/consent",
        Endpoint::Api => "/api/login",
    };
    let mut request = s.http.post(format!("{base}{path}")).body(sent.body.clone());
    if let Some(ct) = sent.content_type {
        request = request.header("content-type", ct);
    }
    if !sent.cookie.is_empty() {
        request = request.header("cookie", &sent.cookie);
    }
    for token in &sent.csrf_headers {
        request = request.header("x-csrf-token", token);
    }
    let response = request.send().await.expect("the server answers");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (status, content_type, location) = (response.status(), header("content-type").unwrap_or_default(), header("location"));
    let set_cookies = response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
    Answer { status, content_type, location, set_cookies, body: response.text().await.unwrap_or_default() }
}

fn new_session(answer: &Answer) -> Option<String> {
    answer
        .set_cookies
        .iter()
        .find_map(|c| c.strip_prefix("oh_session="))
        .map(|c| c.split(';').next().unwrap_or("").to_string())
        .filter(|v| !v.is_empty())
}

/// The parameters of an authorization response at `location` if it goes to `redirect_uri`.
fn at_redirect_uri(location: &str, redirect_uri: &str) -> Option<Vec<(String, String)>> {
    let query = location.strip_prefix(redirect_uri)?.strip_prefix('?')?;
    Some(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn is_rfc_clean(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

async fn start_interaction(s: &Shared, base: &str, app: App, n: usize) -> Interaction {
    let (_, challenge) = pkce();
    let state = format!("st{n}-{}", nonce());
    let params = [
        ("client_id", app.client_id()),
        ("redirect_uri", app.redirect_uri()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let url = url::Url::parse_with_params(&format!("{base}/authorize"), &params).unwrap();
    let to_login = Reply::from(s.http.get(url).send().await.unwrap()).await;
    let location = to_login.location().unwrap_or_else(|| panic!("to the login page: {} {}", to_login.status, to_login.body));
    let id = location.query_pairs().find(|(k, _)| k == "interaction").expect("interaction id").1.into_owned();
    let page = Reply::from(s.http.get(location.as_str()).send().await.unwrap()).await;
    let csrf = match find_form(&page.body, "login") {
        Some(form) => form.fields.into_iter().find(|(n, _)| n == "csrf").expect("csrf field").1,
        None => page.body.split("name=\"csrf-token\" content=\"").nth(1).and_then(|r| r.split('"').next()).expect("csrf").to_string(),
    };
    Interaction { app, id, csrf, state, phase: Phase::Login, endings: 0 }
}

/// A state value distinct per interaction across the whole run.
fn nonce() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Redeems `code` for `app` and returns the ID token's `sub`.
async fn redeem(s: &Shared, base: &str, app: App, code: &str) -> Result<String, String> {
    let (verifier, _) = pkce();
    let mut form =
        vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", app.redirect_uri()), ("code_verifier", &verifier)];
    let mut request = s.http.post(format!("{base}/token"));
    match app {
        App::Web => request = request.basic_auth(WEB.0, Some(WEB.1)),
        App::WebPost => form.extend([("client_id", WEB_POST.0), ("client_secret", WEB_POST.1)]),
        App::Spa => form.push(("client_id", SPA)),
    }
    let reply = Reply::from(request.form(&form).send().await.unwrap()).await;
    if reply.status != StatusCode::OK {
        return Err(format!("{} {}", reply.status, reply.body));
    }
    let id_token = reply.json()["id_token"].as_str().map(str::to_string).ok_or("no id_token")?;
    Ok(decode_jwt(&id_token).1["sub"].as_str().unwrap_or_default().to_string())
}

fn run_case(case: &Case, coverage: &RefCell<Coverage>) -> Result<(), TestCaseError> {
    let s = shared();
    let server = &s.servers[usize::from(case.api_server)];
    let base = server.issuer().trim_end_matches('/').to_string();
    s.runtime.block_on(async {
        let mut interactions = Vec::new();
        for (n, app) in case.apps.iter().enumerate() {
            interactions.push(start_interaction(s, &base, *app, n).await);
        }
        let mut world = World { api_server: case.api_server, interactions, live_sessions: HashSet::new(), latest_session: None };
        for (step, post) in case.posts.iter().enumerate() {
            let sent = world.render(post);
            let expected = world.expect(&sent);
            let answer = send(s, &base, &sent).await;
            let context = format!(
                "step {step}: {:?} content-type {:?} cookie {:?} csrf headers {:?} body {:?}\n expected {expected:?}, got {} {} {:?} {}",
                sent.endpoint,
                sent.content_type,
                sent.cookie,
                sent.csrf_headers,
                String::from_utf8_lossy(&sent.body),
                answer.status,
                answer.content_type,
                answer.location,
                answer.body.chars().take(300).collect::<String>(),
            );
            prop_assert!(answer.status.as_u16() < 500, "a server error: {}", context);
            // An authorization response for the client, wherever it travels.
            let json: Option<Value> =
                answer.content_type.starts_with("application/json").then(|| serde_json::from_str(&answer.body).ok()).flatten();
            let next = answer.location.clone().or_else(|| json.as_ref().and_then(|j| j["redirect_to"].as_str().map(str::to_string)));
            let to_client = next.as_deref().and_then(|l| world.interactions.iter().find_map(|i| at_redirect_uri(l, i.app.redirect_uri())));
            let code = to_client.as_deref().and_then(|p| param(p, "code")).map(str::to_string);
            match &expected {
                Expect::Page(status) => {
                    prop_assert_eq!(answer.status.as_u16(), *status, "{}", context);
                    prop_assert!(answer.content_type.starts_with("text/html"), "not a page: {}", context);
                    prop_assert!(next.is_none(), "a page that redirects: {}", context);
                    coverage.borrow_mut().refusals += 1;
                }
                Expect::Json(status, error) => {
                    prop_assert_eq!(answer.status.as_u16(), *status, "{}", context);
                    let json = json.as_ref();
                    prop_assert!(json.is_some_and(Value::is_object), "not a JSON object: {}", context);
                    let json = json.unwrap();
                    prop_assert_eq!(json["error"].as_str(), Some(*error), "{}", context);
                    let description = json["error_description"].as_str();
                    prop_assert!(description.is_some_and(is_rfc_clean), "error_description: {}", context);
                    prop_assert!(next.is_none(), "{}", context);
                    coverage.borrow_mut().refusals += 1;
                }
                Expect::ToConsent(ix, sub) => {
                    let i = &world.interactions[*ix];
                    let (status, consent) = if sent.endpoint == Endpoint::Api { (200, false) } else { (303, true) };
                    prop_assert_eq!(answer.status.as_u16(), status, "{}", context);
                    let consent_page = format!("{base}/consent?interaction={}", i.id);
                    prop_assert_eq!(next.as_deref(), Some(consent_page.as_str()), "{}", context);
                    prop_assert!(consent == answer.location.is_some(), "{}", context);
                    let session = new_session(&answer);
                    prop_assert!(session.is_some(), "no session cookie: {}", context);
                    let session = session.unwrap();
                    if let Some(old) = cookie_value(&sent.cookie, "oh_session") {
                        world.live_sessions.remove(old);
                    }
                    world.live_sessions.insert(session.clone());
                    world.latest_session = Some(session.clone());
                    world.interactions[*ix].phase = Phase::Consent { session, sub };
                }
                Expect::Code(ix, sub, signed_in) => {
                    let app = world.interactions[*ix].app;
                    let status = if sent.endpoint == Endpoint::Api { 200 } else { 303 };
                    prop_assert_eq!(answer.status.as_u16(), status, "{}", context);
                    let params = next.as_deref().and_then(|l| at_redirect_uri(l, app.redirect_uri()));
                    prop_assert!(params.is_some(), "not to {}: {}", app.redirect_uri(), context);
                    let params = params.unwrap();
                    prop_assert_eq!(param(&params, "state"), Some(world.interactions[*ix].state.as_str()), "{}", context);
                    prop_assert!(param(&params, "error").is_none(), "{}", context);
                    let code = code.clone().unwrap_or_default();
                    prop_assert!(!code.is_empty(), "no code: {}", context);
                    if *signed_in {
                        let session = new_session(&answer);
                        prop_assert!(session.is_some(), "no session cookie: {}", context);
                        if let Some(old) = cookie_value(&sent.cookie, "oh_session") {
                            world.live_sessions.remove(old);
                        }
                        let session = session.unwrap();
                        world.live_sessions.insert(session.clone());
                        world.latest_session = Some(session);
                    }
                    // The code is real, and for the user who signed in.
                    let redeemed = redeem(s, &base, app, &code).await;
                    prop_assert_eq!(redeemed.as_deref(), Ok(*sub), "{}", context);
                    let mut c = coverage.borrow_mut();
                    match (sent.endpoint, signed_in) {
                        (Endpoint::Api, _) => c.codes_from_api += 1,
                        (_, true) => c.codes_after_login += 1,
                        (_, false) => c.codes_after_consent += 1,
                    }
                }
                Expect::Denied(ix) => {
                    let i = &world.interactions[*ix];
                    prop_assert_eq!(answer.status.as_u16(), 303, "{}", context);
                    let params = next.as_deref().and_then(|l| at_redirect_uri(l, i.app.redirect_uri()));
                    prop_assert!(params.is_some(), "not to {}: {}", i.app.redirect_uri(), context);
                    let params = params.unwrap();
                    prop_assert_eq!(param(&params, "error"), Some("access_denied"), "{}", context);
                    prop_assert_eq!(param(&params, "state"), Some(i.state.as_str()), "{}", context);
                    prop_assert!(param(&params, "code").is_none(), "{}", context);
                    coverage.borrow_mut().denials += 1;
                }
            }
            // The safety property on its own: an authorization response reaches a client only
            // where the model ends an interaction, and each interaction ends once.
            if let Expect::Code(ix, ..) | Expect::Denied(ix) = expected {
                let i = &mut world.interactions[ix];
                i.endings += 1;
                prop_assert_eq!(i.endings, 1, "interaction ended twice: {}", context);
                i.phase = Phase::Ended;
            } else {
                prop_assert!(to_client.is_none(), "an authorization response for a post that earns none: {}", context);
            }
        }
        Ok(())
    })
}

/// The login and consent form handlers (and the login API) against the model above.
#[test]
fn fuzz_login_and_consent_forms() {
    let coverage = RefCell::new(Coverage::default());
    let config = fuzz_config(64);
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&case(), |case| run_case(&case, &coverage)) {
        panic!("{e}\n{runner}");
    }
    let c = coverage.into_inner();
    eprintln!("{cases} cases: {c:?}");
    // Not a vacuous run: every way to an answer for the client was taken (a long run takes each
    // many times; a short one may miss the rarer ones).
    if cases >= 200 {
        prop_assert_coverage(&c);
    }
}

fn prop_assert_coverage(c: &Coverage) {
    assert!(c.codes_after_login > 0 && c.codes_after_consent > 0 && c.codes_from_api > 0, "{c:?}");
    assert!(c.denials > 0 && c.refusals > 0, "{c:?}");
}
