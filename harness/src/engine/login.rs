//! The HTML login driver: drives a browser from the authorization request to the client's
//! redirect URI through whatever login and consent pages the target shows, exactly as a person
//! would. It needs no configuration for a standard login page (one password field beside one
//! text or email field); configuration only names fields or picks the approve button.

use super::http::{Recorder, Response};
use crate::target::{LoginConfig, Secret, TestUser};
use reports::Exchange;
use scraper::{ElementRef, Selector};
use std::collections::BTreeMap;

/// At most this many pages and redirects between the authorization request and the client.
const MAX_STEPS: usize = 16;

/// Where the browser arrived at the client, and how the parameters were delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Query,
    Fragment,
    FormPost,
}

impl Delivery {
    /// In words, for details: "the query", "the fragment", "a form post".
    pub fn name(&self) -> &'static str {
        match self {
            Delivery::Query => "the query",
            Delivery::Fragment => "the fragment",
            Delivery::FormPost => "a form post",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Arrival {
    pub params: BTreeMap<String, String>,
    pub delivery: Delivery,
}

/// The parameters a client received, in words (`error=access_denied, state=...`), with the
/// values of codes and tokens left out: for details.
pub fn describe_params(params: &BTreeMap<String, String>) -> String {
    if params.is_empty() {
        return "no parameters".into();
    }
    let secret = |k: &str| matches!(k, "code" | "access_token" | "id_token" | "refresh_token");
    params.iter().map(|(k, v)| if secret(k) { k.to_string() } else { format!("{k}={v}") }).collect::<Vec<_>>().join(", ")
}

pub struct Drive {
    pub result: Result<Arrival, String>,
    pub exchanges: Vec<Exchange>,
    /// Login forms submitted on the way (0 when an existing session sufficed).
    pub logins: usize,
    /// What the first login form had prefilled in its username field (`login_hint` shows here).
    pub prefilled_username: Option<String>,
}

pub struct Credentials<'a> {
    pub user: Option<&'a TestUser>,
    pub config: &'a LoginConfig,
    pub extra: &'a BTreeMap<String, Secret>,
}

/// Runs the target's JSON login API requests in `browser`, once per browser, so its cookies
/// carry the session into the authorization request.
pub async fn json_login(browser: &Recorder, issuer: &str, creds: &Credentials<'_>, exchanges: &mut Vec<Exchange>) -> Result<(), String> {
    if creds.config.json_requests.is_empty() || browser.mark_logged_in() {
        return Ok(());
    }
    let user = creds.user.ok_or("the target file has login.json_request entries but no [user]")?;
    let origin = url::Url::parse(issuer).map_err(|e| format!("issuer {issuer}: {e}"))?;
    for (n, step) in creds.config.json_requests.iter().enumerate() {
        let url = origin.join(&step.url).map_err(|e| format!("login.json_request[{n}].url {}: {e}", step.url))?;
        let method = reqwest::Method::from_bytes(step.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("login.json_request[{n}].method {} is not an HTTP method", step.method))?;
        let mut request = browser.request(method, url.as_str());
        if let Some(body) = &step.body {
            request = request.json(&with_credentials(body, user));
        }
        match browser.send(request).await {
            Ok(r) => {
                let status = r.status;
                exchanges.push(r.exchange);
                if !(200..400).contains(&status) {
                    return Err(format!(
                        "login.json_request[{n}] ({} {url}) answered {status}: check the URL and the test user",
                        step.method
                    ));
                }
            }
            Err(e) => {
                exchanges.push(e);
                return Err(format!("login.json_request[{n}] ({} {url}) got no response", step.method));
            }
        }
    }
    Ok(())
}

/// `body` with `{username}` and `{password}` replaced in every string.
fn with_credentials(body: &serde_json::Value, user: &TestUser) -> serde_json::Value {
    use serde_json::Value;
    match body {
        Value::String(s) => Value::String(s.replace("{username}", &user.username).replace("{password}", user.password.expose())),
        Value::Array(items) => Value::Array(items.iter().map(|v| with_credentials(v, user)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), with_credentials(v, user))).collect()),
        other => other.clone(),
    }
}

/// Follows the browser from `start` until it is sent to `redirect_uri`.
pub async fn drive(browser: &Recorder, start: reqwest::RequestBuilder, redirect_uri: &str, creds: &Credentials<'_>) -> Drive {
    let mut exchanges = Vec::new();
    let mut seen = Seen::default();
    let result = walk(browser, start, redirect_uri, creds, &mut exchanges, &mut seen, false).await;
    let result = result.and_then(|arrival| arrival.ok_or_else(|| "stopped at the login form".to_string()));
    Drive { result, exchanges, logins: seen.logins, prefilled_username: seen.prefilled_username }
}

/// Preflight: walks to the first login form and checks the driver can fill it, without
/// submitting anything. `Ok` also when the client is reached without a login.
pub async fn probe(browser: &Recorder, start: reqwest::RequestBuilder, redirect_uri: &str, creds: &Credentials<'_>) -> Result<(), String> {
    let mut exchanges = Vec::new();
    walk(browser, start, redirect_uri, creds, &mut exchanges, &mut Seen::default(), true).await.map(|_| ())
}

async fn walk(
    browser: &Recorder,
    start: reqwest::RequestBuilder,
    redirect_uri: &str,
    creds: &Credentials<'_>,
    exchanges: &mut Vec<Exchange>,
    seen: &mut Seen,
    stop_at_login: bool,
) -> Result<Option<Arrival>, String> {
    let mut request = start;
    for _ in 0..MAX_STEPS {
        let response = match browser.send(request).await {
            Ok(r) => r,
            Err(exchange) => {
                let why = exchange.error.clone().unwrap_or_default();
                exchanges.push(exchange);
                return Err(format!("no response: {why}"));
            }
        };
        exchanges.push(response.exchange.clone());
        let here = url::Url::parse(&response.exchange.url).ok();
        if (300..400).contains(&response.status) {
            let location = response.header("location").ok_or_else(|| format!("{} redirect without Location", response.status))?;
            let next = match &here {
                Some(base) => base.join(location).map_err(|e| format!("bad Location {location}: {e}"))?,
                None => url::Url::parse(location).map_err(|e| format!("bad Location {location}: {e}"))?,
            };
            if is_client(&next, redirect_uri) {
                return Ok(Some(arrival_from_url(&next)));
            }
            request = browser.get(next.as_str());
            continue;
        }
        if response.status != 200 {
            return Err(format!("the browser got status {} at {}", response.status, response.exchange.url));
        }
        let page_url = here.ok_or("the page has no URL")?;
        let forms = parse_forms(&response)?;
        if let Some(form) = forms.iter().find(|f| is_client_action(&page_url, &f.action, redirect_uri)) {
            let params = form.fields.iter().cloned().collect();
            return Ok(Some(Arrival { params, delivery: Delivery::FormPost }));
        }
        if let Some(form) = forms.iter().find(|f| f.has_password) {
            if seen.logins > 0 {
                return Err(
                    "the login form came back after the credentials were submitted: wrong password, or a field the driver did not fill \
                            (set login.username_field, login.password_field or login.extra_field_env in the target file)"
                        .into(),
                );
            }
            let user = creds.user.ok_or("the target shows a login page but the target file names no test user")?;
            let fields = login_fields(form, user, creds)?;
            if stop_at_login {
                return Ok(None);
            }
            seen.prefilled_username = username_field(form, creds.config)
                .ok()
                .and_then(|name| form.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()));
            request = submit(browser, &page_url, form, fields)?;
            seen.logins += 1;
            continue;
        }
        if let Some(form) = forms.first() {
            let mut fields = form.fields.clone();
            fields.extend(approve_button(form, creds.config)?);
            request = submit(browser, &page_url, form, fields)?;
            continue;
        }
        return Err(format!("the page at {} has no form to continue with", response.exchange.url));
    }
    Err(format!("gave up after {MAX_STEPS} pages and redirects without reaching the client"))
}

/// Whether `url` is the client's redirect URI (its query may carry the response).
pub(crate) fn is_client(url: &url::Url, redirect_uri: &str) -> bool {
    let mut bare = url.clone();
    bare.set_fragment(None);
    let registered = url::Url::parse(redirect_uri).ok();
    let Some(mut registered) = registered else { return false };
    registered.set_fragment(None);
    bare.scheme() == registered.scheme()
        && bare.host_str() == registered.host_str()
        && bare.port() == registered.port()
        && bare.path() == registered.path()
}

fn is_client_action(page: &url::Url, action: &str, redirect_uri: &str) -> bool {
    page.join(action).is_ok_and(|u| is_client(&u, redirect_uri))
}

fn arrival_from_url(url: &url::Url) -> Arrival {
    let (params, delivery) = match url.fragment() {
        Some(fragment) if !fragment.is_empty() => {
            (url::form_urlencoded::parse(fragment.as_bytes()).into_owned().collect(), Delivery::Fragment)
        }
        _ => (url.query_pairs().into_owned().collect(), Delivery::Query),
    };
    Arrival { params, delivery }
}

/// What the driver noticed on the way.
#[derive(Default)]
struct Seen {
    logins: usize,
    prefilled_username: Option<String>,
}

#[derive(Debug, Clone)]
struct Form {
    action: String,
    method_post: bool,
    /// Inputs with their current values (hidden inputs, prefilled fields), in order.
    fields: Vec<(String, String)>,
    /// Visible text and email inputs: username candidates.
    text_inputs: Vec<String>,
    password_inputs: Vec<String>,
    has_password: bool,
    /// Submit buttons: (name, value, visible text).
    buttons: Vec<(Option<String>, Option<String>, String)>,
}

/// The page's forms; `Err` for a page too large or too deep to parse (`engine::html`).
fn parse_forms(response: &Response) -> Result<Vec<Form>, String> {
    let doc = super::html::parse_page(response)?;
    let form_sel = Selector::parse("form").expect("selector");
    let input_sel = Selector::parse("input").expect("selector");
    let button_sel = Selector::parse("button").expect("selector");
    Ok(doc.select(&form_sel).map(|form| parse_form(form, &input_sel, &button_sel)).collect())
}

fn parse_form(form: ElementRef<'_>, input_sel: &Selector, button_sel: &Selector) -> Form {
    let attr = |e: &ElementRef<'_>, a: &str| e.value().attr(a).map(str::to_string);
    let mut parsed = Form {
        action: attr(&form, "action").unwrap_or_default(),
        method_post: attr(&form, "method").is_some_and(|m| m.eq_ignore_ascii_case("post")),
        fields: Vec::new(),
        text_inputs: Vec::new(),
        password_inputs: Vec::new(),
        has_password: false,
        buttons: Vec::new(),
    };
    for input in form.select(input_sel) {
        let kind = attr(&input, "type").unwrap_or_else(|| "text".into()).to_ascii_lowercase();
        let Some(name) = attr(&input, "name") else { continue };
        match kind.as_str() {
            "submit" => parsed.buttons.push((Some(name), attr(&input, "value"), attr(&input, "value").unwrap_or_default())),
            "password" => {
                parsed.has_password = true;
                parsed.password_inputs.push(name);
            }
            "checkbox" | "radio" => {
                if input.value().attr("checked").is_some() {
                    parsed.fields.push((name, attr(&input, "value").unwrap_or_else(|| "on".into())));
                }
            }
            "text" | "email" | "tel" => {
                parsed.text_inputs.push(name.clone());
                if let Some(v) = attr(&input, "value") {
                    parsed.fields.push((name, v));
                }
            }
            _ => parsed.fields.push((name, attr(&input, "value").unwrap_or_default())),
        }
    }
    for button in form.select(button_sel) {
        let kind = attr(&button, "type").unwrap_or_else(|| "submit".into());
        if kind.eq_ignore_ascii_case("submit") {
            parsed.buttons.push((attr(&button, "name"), attr(&button, "value"), button.text().collect::<String>().trim().to_string()));
        }
    }
    parsed
}

/// The login form's fields: hidden and prefilled inputs, then the username, password and any
/// configured extra fields.
fn login_fields(form: &Form, user: &TestUser, creds: &Credentials<'_>) -> Result<Vec<(String, String)>, String> {
    let config = creds.config;
    let username_field = username_field(form, config)?;
    let password_field = match (&config.password_field, form.password_inputs.as_slice()) {
        (Some(name), _) => name.clone(),
        (None, [only]) => only.clone(),
        (None, _) => return Err("the login form has several password fields: set login.password_field in the target file".into()),
    };
    let mut fields: Vec<(String, String)> =
        form.fields.iter().filter(|(n, _)| *n != username_field && !creds.extra.contains_key(n)).cloned().collect();
    fields.push((username_field, user.username.clone()));
    fields.push((password_field, user.password.expose().to_string()));
    for (name, value) in creds.extra {
        if form.text_inputs.contains(name) || form.fields.iter().any(|(n, _)| n == name) {
            fields.push((name.clone(), value.expose().to_string()));
        }
    }
    Ok(fields)
}

/// The login form's username field: as configured, the only text or email input, or the one
/// whose name says user, login or email.
fn username_field(form: &Form, config: &LoginConfig) -> Result<String, String> {
    match &config.username_field {
        Some(name) => Ok(name.clone()),
        None => match form.text_inputs.as_slice() {
            [only] => Ok(only.clone()),
            many => {
                many.iter().find(|n| ["user", "login", "email"].iter().any(|k| n.to_ascii_lowercase().contains(k))).cloned().ok_or_else(
                    || "cannot tell the username field of the login form: set login.username_field in the target file".to_string(),
                )
            }
        },
    }
}

/// The button that approves: as configured, else the one whose name, value or text says so.
fn approve_button(form: &Form, config: &LoginConfig) -> Result<Option<(String, String)>, String> {
    let matches_word = |text: &str, words: &[&str]| words.iter().any(|w| text.to_ascii_lowercase().contains(w));
    let chosen = match &config.approve_button {
        Some(wanted) => form.buttons.iter().find(|(n, v, t)| {
            let pair = format!("{}={}", n.as_deref().unwrap_or(""), v.as_deref().unwrap_or(""));
            &pair == wanted || t == wanted || v.as_deref() == Some(wanted.as_str())
        }),
        None => form.buttons.iter().find(|(n, v, t)| {
            let label = format!("{} {} {}", n.as_deref().unwrap_or(""), v.as_deref().unwrap_or(""), t);
            matches_word(&label, &["approve", "allow", "accept", "authorize", "consent", "yes", "continue"])
                && !matches_word(&label, &["deny", "cancel", "reject", "decline"])
        }),
    };
    match (chosen, form.buttons.len()) {
        (Some((Some(name), value, _)), _) => Ok(Some((name.clone(), value.clone().unwrap_or_default()))),
        (Some((None, _, _)), _) | (None, 0 | 1) => Ok(None),
        (None, _) => Err("cannot tell which button approves the consent page: set login.approve_button in the target file".into()),
    }
}

fn submit(browser: &Recorder, page: &url::Url, form: &Form, fields: Vec<(String, String)>) -> Result<reqwest::RequestBuilder, String> {
    let action = page.join(&form.action).map_err(|e| format!("bad form action {}: {e}", form.action))?;
    Ok(if form.method_post {
        browser.post(action.as_str()).form(&fields)
    } else {
        let mut url = action;
        url.query_pairs_mut().clear().extend_pairs(&fields);
        browser.get(url.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn form(html: &str) -> Form {
        let doc = Html::parse_document(html);
        let form = doc.select(&Selector::parse("form").unwrap()).next().unwrap();
        parse_form(form, &Selector::parse("input").unwrap(), &Selector::parse("button").unwrap())
    }

    fn creds<'a>(config: &'a LoginConfig, extra: &'a BTreeMap<String, Secret>) -> Credentials<'a> {
        Credentials { user: None, config, extra }
    }

    #[test]
    fn a_standard_login_form_needs_no_configuration() {
        let f = form(
            r#"<form method="post" action="/login"><input type="hidden" name="csrf" value="t"><input type="email" name="identifier"><input type="password" name="secret"><button>Sign in</button></form>"#,
        );
        let user = TestUser { username: "alice".into(), password: Secret::new("pw") };
        let (config, extra) = (LoginConfig::default(), BTreeMap::new());
        let fields = login_fields(&f, &user, &creds(&config, &extra)).unwrap();
        assert_eq!(fields, [("csrf".into(), "t".into()), ("identifier".into(), "alice".into()), ("secret".into(), "pw".into())]);
    }

    #[test]
    fn the_username_field_is_found_by_name_among_several() {
        let f = form(r#"<form method="post"><input name="tenant"><input name="login"><input type="password" name="pw"></form>"#);
        let user = TestUser { username: "bob".into(), password: Secret::new("x") };
        let (config, extra) = (LoginConfig::default(), BTreeMap::new());
        assert!(login_fields(&f, &user, &creds(&config, &extra)).unwrap().contains(&("login".into(), "bob".into())));
        let ambiguous = form(r#"<form><input name="a"><input name="b"><input type="password" name="pw"></form>"#);
        assert!(login_fields(&ambiguous, &user, &creds(&config, &extra)).unwrap_err().contains("login.username_field"));
    }

    #[test]
    fn the_approve_button_is_chosen_over_deny() {
        let f = form(
            r#"<form method="post"><button name="decision" value="deny">Deny</button><button name="decision" value="approve">Allow</button></form>"#,
        );
        assert_eq!(approve_button(&f, &LoginConfig::default()).unwrap(), Some(("decision".into(), "approve".into())));
        let custom = LoginConfig { approve_button: Some("Deny".into()), ..Default::default() };
        assert_eq!(approve_button(&f, &custom).unwrap(), Some(("decision".into(), "deny".into())));
        let unclear = form(r#"<form><button name="x" value="1">A</button><button name="x" value="2">B</button></form>"#);
        assert!(approve_button(&unclear, &LoginConfig::default()).unwrap_err().contains("login.approve_button"));
    }

    #[test]
    fn json_login_bodies_get_the_credentials() {
        let user = TestUser { username: "bob".into(), password: Secret::new("pw") };
        let body = serde_json::json!({"identifier": "{username}", "factors": [{"password": "{password}"}], "remember": true});
        assert_eq!(
            with_credentials(&body, &user),
            serde_json::json!({"identifier": "bob", "factors": [{"password": "pw"}], "remember": true})
        );
    }

    #[test]
    fn responses_in_the_query_or_fragment_are_read() {
        let q = arrival_from_url(&url::Url::parse("https://rp.test/cb?code=c&state=s").unwrap());
        assert_eq!((q.delivery, q.params["code"].as_str()), (Delivery::Query, "c"));
        let f = arrival_from_url(&url::Url::parse("https://rp.test/cb#id_token=t&state=s").unwrap());
        assert_eq!((f.delivery, f.params["id_token"].as_str()), (Delivery::Fragment, "t"));
        assert!(is_client(&url::Url::parse("https://rp.test/cb?x=1#y").unwrap(), "https://rp.test/cb"));
        assert!(!is_client(&url::Url::parse("https://rp.test/cb2").unwrap(), "https://rp.test/cb"));
    }
}
