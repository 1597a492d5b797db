//! The target's login script: a login API driven request by request in the browser (its cookie
//! jar carries the session), Hurl-style, wherever the browser needs a login. Values captured
//! from one answer fill the placeholders of the next request.

use super::{Credentials, Next, Pending};
use crate::engine::http::{Recorder, Response};
use crate::target::{Capture, ScriptStep, placeholders};
use reports::Exchange;
use std::collections::BTreeMap;

/// The capture name that says what the login page prefilled as the username (`login_hint`).
pub const PREFILLED: &str = "prefilled_username";

/// Runs the script from `page` (the page that needs a login) and says where the browser goes on:
/// the continue step's answer, the last step's redirect (or its answer, with `browse`), or the
/// pending authorization again.
pub(super) async fn run(
    browser: &Recorder,
    page: &Response,
    pending: &Pending,
    creds: &Credentials<'_>,
    exchanges: &mut Vec<Exchange>,
) -> Result<(Next, Option<String>), String> {
    let user = creds.user.ok_or("the target file has a login script ([[login.step]]) but no [user]")?;
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    values.insert("username".into(), user.username.clone());
    values.insert("password".into(), user.password.expose().to_string());
    for name in ["client_id", "scope", "redirect_uri", "state"] {
        values.insert(name.into(), pending.param(name).unwrap_or_default());
    }
    capture_all(browser, page, &creds.config.capture, "login.capture", &mut values)?;
    scrub(browser, exchanges);
    // What the login page prefilled (`login_hint`), when the script captures it.
    let prefilled = values.get(PREFILLED).cloned();
    let page_url = url::Url::parse(&page.url).map_err(|e| format!("the login page has no URL: {e}"))?;
    let steps = &creds.config.steps;
    for (n, step) in steps.iter().enumerate() {
        let at = format!("login.step[{n}]");
        let (method, url) = target_of(step, &page_url, pending, &values, &at)?;
        if super::is_client(&url, &pending.redirect_uri()) {
            // A step that goes to the client is where the response arrives: never sent.
            return Ok((Next::Arrived(super::arrival_from_url(&url)), prefilled));
        }
        creds.on_provider(&url, &format!("{at} would send the browser"))?;
        if uses_password(step) {
            creds.may_receive_password(&url, &page_url).map_err(|e| format!("{at}: {e}"))?;
        }
        let mut request = browser.request(method.clone(), url.as_str());
        for (name, value) in &step.headers {
            request = request.header(name.as_str(), fill(value, &values));
        }
        if let Some(json) = &step.json {
            request = request.json(&fill_json(json, &values));
        }
        if let Some(form) = &step.form {
            let fields: Vec<(String, String)> = form.iter().map(|(k, v)| (k.clone(), fill(v, &values))).collect();
            request = request.form(&fields);
        }
        let response = match browser.send(request).await {
            Ok(r) => r,
            Err(exchange) => {
                let why = exchange.error.clone().unwrap_or_default();
                exchanges.push(exchange);
                return Err(format!("{at} ({method} {}) got no response: {why}", redacted(browser, &url)));
            }
        };
        exchanges.push(response.exchange.clone());
        let last = n + 1 == steps.len();
        if step.continue_authorization {
            return Ok((Next::Answered(response), prefilled));
        }
        let worked = match &step.status {
            Some(statuses) => statuses.contains(&response.status),
            None => (200..400).contains(&response.status),
        };
        if !worked {
            let expected = step.status.as_ref().map_or("2xx or 3xx".to_string(), |s| format!("{s:?}"));
            return Err(format!(
                "{at} ({method} {}) answered {}, not {expected}: check the step's url and body and the test user's credentials",
                redacted(browser, &url),
                response.status
            ));
        }
        capture_all(browser, &response, &step.capture, &at, &mut values)?;
        scrub(browser, exchanges);
        // A redirect (or a step marked `browse`) is where the browser is now; an API's answer is
        // not a place, so after it the browser asks for the authorization again.
        if last && (step.browse || (300..400).contains(&response.status)) {
            return Ok((Next::Answered(response), prefilled));
        }
    }
    Ok((Next::Send(browser.get(pending.url.as_str())), prefilled))
}

/// The step's method and URL, placeholders filled: a continue step re-requests the pending
/// authorization URL with its params added.
fn target_of(
    step: &ScriptStep,
    page: &url::Url,
    pending: &Pending,
    values: &BTreeMap<String, String>,
    at: &str,
) -> Result<(reqwest::Method, url::Url), String> {
    let default = if step.continue_authorization { "GET" } else { "POST" };
    let method = step.method.as_deref().unwrap_or(default).to_ascii_uppercase();
    // Checked when the target file was read.
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| format!("`{at}.method` is not an HTTP method"))?;
    if step.continue_authorization {
        let mut url = pending.url.clone();
        url.query_pairs_mut().extend_pairs(step.params.iter().map(|(k, v)| (k, fill(v, values))));
        return Ok((method, url));
    }
    let raw = step.url.as_deref().unwrap_or_default();
    // A URL that is one placeholder (`{redirect_to}`) is a captured URL, taken as it is; a
    // placeholder inside a URL is a value, percent-encoded.
    let text = match placeholders(raw).next() {
        Some(name) if raw == format!("{{{name}}}") => values.get(name).cloned().unwrap_or_default(),
        _ => fill_with(raw, values, |v| url::form_urlencoded::byte_serialize(v.as_bytes()).collect()),
    };
    // Relative URLs are on the origin of the page that needs the login.
    let url = page.join(&text).map_err(|e| format!("`{at}.url` {text}: {e}"))?;
    Ok((method, url))
}

/// The exchanges recorded so far, redacted again with what the captures taught the redactor:
/// the answer a token was captured from was recorded before it was known.
fn scrub(browser: &Recorder, exchanges: &mut [Exchange]) {
    let redactor = browser.redactor();
    exchanges.iter_mut().for_each(|e| redactor.scrub(e));
}

fn uses_password(step: &ScriptStep) -> bool {
    let has = |t: &str| placeholders(t).any(|p| p == "password");
    step.url.as_deref().is_some_and(has)
        || step.headers.values().any(|v| has(v))
        || step.form.iter().flat_map(|f| f.values()).any(|v| has(v))
        || step.json.as_ref().is_some_and(|j| has(&j.to_string()))
}

fn redacted(browser: &Recorder, url: &url::Url) -> String {
    browser.redactor().url(url.as_str())
}

/// `text` with every known placeholder replaced by its value.
fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    fill_with(text, values, str::to_string)
}

fn fill_with(text: &str, values: &BTreeMap<String, String>, encode: impl Fn(&str) -> String) -> String {
    let mut out = text.to_string();
    for name in placeholders(text) {
        if let Some(value) = values.get(name) {
            out = out.replace(&format!("{{{name}}}"), &encode(value));
        }
    }
    out
}

/// A JSON body with the placeholders of every string filled.
fn fill_json(body: &serde_json::Value, values: &BTreeMap<String, String>) -> serde_json::Value {
    use serde_json::Value;
    match body {
        Value::String(s) => Value::String(fill(s, values)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_json(v, values)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), fill_json(v, values))).collect()),
        other => other.clone(),
    }
}

fn capture_all(
    browser: &Recorder,
    response: &Response,
    captures: &BTreeMap<String, Capture>,
    at: &str,
    values: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for (name, capture) in captures {
        let value = captured(browser, response, capture)
            .ok_or_else(|| format!("`{at}.capture.{name}`: the answer ({}) has no {}", response.exchange.url, describe(capture)))?;
        // A captured value may be a session or flow token: redacted from here on (the username
        // the page prefilled is not a secret, and the login_hint check shows it).
        if name != PREFILLED {
            browser.redactor().learn([value.clone()]);
        }
        values.insert(name.clone(), value);
    }
    Ok(())
}

fn captured(browser: &Recorder, response: &Response, capture: &Capture) -> Option<String> {
    match capture {
        Capture::Json(pointer) => match response.json()?.pointer(pointer)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        },
        Capture::Header(name) => response.header(name).map(str::to_string),
        Capture::Cookie(name) => browser.cookie(&response.url, name),
        Capture::Regex(re) => {
            let found = re.captures(&response.body)?;
            found.get(1).or_else(|| found.get(0)).map(|m| m.as_str().to_string())
        }
        Capture::Query(name) => {
            let here = url::Url::parse(&response.url).ok()?;
            let url = match response.header("location") {
                Some(location) => here.join(location).ok()?,
                None => here,
            };
            url.query_pairs().find(|(k, _)| k == name.as_str()).map(|(_, v)| v.into_owned())
        }
    }
}

fn describe(capture: &Capture) -> String {
    match capture {
        Capture::Json(p) => format!("JSON member at {p}"),
        Capture::Header(h) => format!("header {h}"),
        Capture::Cookie(c) => format!("cookie {c}"),
        Capture::Regex(r) => format!("match for /{}/", r.as_str()),
        Capture::Query(q) => format!("query parameter {q}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_json_strings_and_encoded_inside_urls() {
        let values: BTreeMap<String, String> =
            [("username", "bob"), ("password", "p w&"), ("flow", "f/1")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let body = serde_json::json!({"identifier": "{username}", "factors": [{"password": "{password}"}], "n": 1, "raw": "{}"});
        assert_eq!(
            fill_json(&body, &values),
            serde_json::json!({"identifier": "bob", "factors": [{"password": "p w&"}], "n": 1, "raw": "{}"})
        );
        let step = |url: &str| ScriptStep {
            method: None,
            url: Some(url.into()),
            headers: BTreeMap::new(),
            json: None,
            form: None,
            status: None,
            capture: BTreeMap::new(),
            continue_authorization: false,
            params: BTreeMap::new(),
            browse: false,
        };
        let page = url::Url::parse("https://id.test/ui/login?flow=f").unwrap();
        let pending = Pending { url: url::Url::parse("https://id.test/authorize?client_id=c").unwrap() };
        let (method, url) = target_of(&step("/api/flows/{flow}/submit"), &page, &pending, &values, "s").unwrap();
        assert_eq!((method.as_str(), url.as_str()), ("POST", "https://id.test/api/flows/f%2F1/submit"));
        let mut whole = values.clone();
        whole.insert("next".into(), "https://id.test/resume?x=1".into());
        let (_, url) = target_of(&step("{next}"), &page, &pending, &whole, "s").unwrap();
        assert_eq!(url.as_str(), "https://id.test/resume?x=1");
    }
}
