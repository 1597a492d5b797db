//! Redaction of evidence: secrets, passwords, one-time codes, authorization codes and tokens
//! never reach a report. Applied once, when an exchange is recorded, so no renderer can leak.
//! Two kinds of rule: by *name* (a parameter, JSON member, form input or cookie whose name says
//! it holds a secret, in any body whatever its content type says) and by *value* (the secrets
//! of this run, in every encoding they travel in).

use serde_json::Value;
use std::sync::LazyLock;

pub const REDACTED: &str = "[redacted]";

/// Parameters, JSON members and form inputs whose values are secrets or tokens (compared
/// without regard to case).
const SECRET_NAMES: [&str; 40] = [
    "client_secret",
    "password",
    "passwd",
    "otp",
    "totp",
    "code",
    "code_verifier",
    "refresh_token",
    "access_token",
    "id_token",
    "token",
    "client_assertion",
    "assertion",
    "logout_token",
    "id_token_hint",
    "registration_access_token",
    "device_code",
    "user_code",
    "pre-authorized_code",
    "subject_token",
    "actor_token",
    "csrf",
    "_csrf",
    "csrf_token",
    "csrf-token",
    "xsrf",
    "_xsrf",
    "csrfmiddlewaretoken",
    "authenticity_token",
    "__requestverificationtoken",
    "samlresponse",
    "samlrequest",
    "_token",
    "_csrf_token",
    "sessiontoken",
    "session_token",
    "statetoken",
    "ticket",
    "login_challenge",
    "consent_challenge",
];

/// Whether a parameter, field or member named `name` holds a secret (redacted by name).
pub fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// `name=value` pairs with a secret name anywhere in free text: a query in an error message, a
/// relative `Location`, a form body served as text/plain.
static PAIR: LazyLock<regex::Regex> = LazyLock::new(|| {
    let names = SECRET_NAMES.map(regex::escape).join("|");
    regex::Regex::new(&format!(r#"(?i)(^|[?&#;\s"'(,])({names})=([^&#\s"'<>;,)]*)"#)).expect("pair pattern")
});

/// `"name": "value"` members with a secret name in JSON that does not parse (a cut body).
static MEMBER: LazyLock<regex::Regex> = LazyLock::new(|| {
    let names = SECRET_NAMES.map(regex::escape).join("|");
    regex::Regex::new(&format!(r#"(?i)("(?:{names})"\s*:\s*)"(?:[^"\\]|\\.)*""#)).expect("member pattern")
});

/// What to redact beyond the well-known names: the literal secret values of this run
/// (client secrets from the environment, user passwords), wherever they appear.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every secret value, for whole-value matches (a parameter, a JSON string, a header).
    exact: Vec<String>,
    /// The secrets long enough to find inside text, in each encoding they travel in (raw,
    /// form-encoded, percent-encoded, JSON-escaped), longest first.
    patterns: Vec<String>,
    /// Values learnt during the run (what a login script captured: session ids, flow tokens),
    /// in every encoding, oldest first; redacted like the secrets from then on, by every recorder
    /// sharing this redactor.
    learnt: std::sync::Arc<std::sync::RwLock<Learnt>>,
}

/// Learnt values: in the order learnt (the oldest is dropped first), and longest first (the
/// order they are replaced in, so a value inside another is not replaced before the longer one).
#[derive(Debug, Default)]
struct Learnt {
    order: std::collections::VecDeque<String>,
    longest_first: Vec<String>,
}

/// A captured value shorter than this is not learnt as a secret: flow ids, flags and names are
/// short; session and CSRF tokens are not.
const MIN_LEARNT_SECRET: usize = 16;

/// Shorter secrets are redacted only as whole values: inside text they would match innocent
/// words.
const MIN_SUBSTRING_SECRET: usize = 4;

impl Redactor {
    pub fn new(values: impl IntoIterator<Item = String>) -> Redactor {
        let exact: Vec<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
        let mut patterns: Vec<String> = Vec::new();
        for v in &exact {
            add_encodings(&mut patterns, v);
        }
        Redactor { exact, patterns, learnt: Default::default() }
    }

    /// Redacts `values` from now on, wherever they appear. Only token-like values are learnt:
    /// long enough to be a session or flow token (`MIN_LEARNT_SECRET`) and not a URL (a tenant
    /// name or a `redirect_to` redacted everywhere would hide what the checks judge; the
    /// secrets inside a URL are redacted by name).
    pub fn learn(&self, values: impl IntoIterator<Item = String>) {
        // A poisoned lock only means another thread panicked mid-push: the list is still usable.
        let mut learnt = self.learnt.write().unwrap_or_else(|e| e.into_inner());
        for v in values.into_iter().filter(|v| v.len() >= MIN_LEARNT_SECRET && !v.contains("://")) {
            let mut encodings = Vec::new();
            add_encodings(&mut encodings, &v);
            for encoded in encodings {
                if !learnt.order.contains(&encoded) {
                    learnt.order.push_back(encoded);
                }
            }
        }
        // A long load run logs in again and again: the oldest values (of logins long over) go
        // first, so the list, and the work of every redaction, stays bounded.
        while learnt.order.len() > crate::limits::MAX_LEARNT_SECRETS {
            learnt.order.pop_front();
        }
        let mut longest_first: Vec<String> = learnt.order.iter().cloned().collect();
        longest_first.sort_by_key(|v| std::cmp::Reverse(v.len()));
        learnt.longest_first = longest_first;
    }

    /// Redacts an exchange recorded before a value was learnt (the answer a login script
    /// captured a token from).
    pub fn scrub(&self, exchange: &mut reports::Exchange) {
        exchange.url = self.text(&exchange.url);
        for body in [&mut exchange.request_body, &mut exchange.response_body].into_iter().flatten() {
            *body = self.text(body);
        }
        for (_, value) in exchange.request_headers.iter_mut().chain(exchange.response_headers.iter_mut()) {
            *value = self.text(value);
        }
    }

    /// Catch-all: every known secret value, every secret-named `name=value` pair and JSON
    /// member, and every JWT in free text.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.patterns {
            out = out.replace(v.as_str(), REDACTED);
        }
        for v in &self.learnt.read().unwrap_or_else(|e| e.into_inner()).longest_first {
            out = out.replace(v.as_str(), REDACTED);
        }
        let out = PAIR.replace_all(&out, |c: &regex::Captures<'_>| {
            let value = &c[3];
            if value.is_empty() || value == REDACTED || value == "%5Bredacted%5D" {
                c[0].to_string()
            } else {
                format!("{}{}={REDACTED}", &c[1], &c[2])
            }
        });
        let out = MEMBER.replace_all(&out, |c: &regex::Captures<'_>| format!("{}\"{REDACTED}\"", &c[1]));
        redact_jwts(&out)
    }

    pub fn url(&self, url: &str) -> String {
        let Ok(mut parsed) = url::Url::parse(url) else { return self.text(url) };
        if parsed.query().is_some() {
            let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
            parsed.query_pairs_mut().clear().extend_pairs(pairs.iter().map(|(k, v)| (k, self.param(k, v))));
        }
        if let Some(fragment) = parsed.fragment().map(str::to_string) {
            parsed.set_fragment(Some(&self.form(&fragment)));
        }
        self.text(parsed.as_str())
    }

    /// An `application/x-www-form-urlencoded` body or fragment.
    pub fn form(&self, body: &str) -> String {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        let encoded =
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().map(|(k, v)| (k, self.param(k, v)))).finish();
        self.text(&encoded)
    }

    pub fn header(&self, name: &str, value: &str) -> String {
        match name.to_ascii_lowercase().as_str() {
            "authorization" | "proxy-authorization" => match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} {REDACTED}"),
                None => REDACTED.to_string(),
            },
            "cookie" => value.split(';').map(|c| cookie_name(c.trim())).collect::<Vec<_>>().join("; "),
            "set-cookie" => {
                let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
                let attributes = if attributes.is_empty() { String::new() } else { format!(";{attributes}") };
                format!("{}{attributes}", cookie_name(pair.trim()))
            }
            "location" | "content-location" | "refresh" => self.url(value),
            _ if self.is_secret_value(value) => REDACTED.to_string(),
            _ => self.text(value),
        }
    }

    /// A response or request body. Every rule applies whatever the content type says: a token
    /// response served as text/plain is still JSON with tokens in it, a form post page served
    /// as text/plain still has its hidden inputs.
    pub fn body(&self, content_type: Option<&str>, body: &str) -> String {
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if let Ok(mut value) = serde_json::from_str::<Value>(body)
            && (value.is_object() || value.is_array())
        {
            self.redact_json(&mut value);
            return self.text(&serde_json::to_string_pretty(&value).unwrap_or_default());
        }
        if ct.starts_with("application/x-www-form-urlencoded") {
            return self.form(body);
        }
        if body.contains('<') {
            return self.text(&redact_html(body));
        }
        self.text(body)
    }

    /// A decoded parameter: redacted by its name, or because it holds a known secret value
    /// (a password in a field of any name; compared before encoding, which would hide it).
    fn param(&self, name: &str, value: &str) -> String {
        if is_secret_name(name) || self.is_secret_value(value) || self.patterns.iter().any(|v| value.contains(v.as_str())) {
            REDACTED.to_string()
        } else {
            value.to_string()
        }
    }

    fn is_secret_value(&self, value: &str) -> bool {
        self.exact.iter().any(|v| v == value)
    }

    fn redact_json(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if is_secret_name(k) && !v.is_null() {
                        *v = Value::String(REDACTED.into());
                    } else {
                        self.redact_json(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::String(s) if self.is_secret_value(s) => *s = REDACTED.into(),
            _ => {}
        }
    }
}

/// Adds `secret` in each encoding it travels in (raw, form-encoded, percent-encoded,
/// JSON-escaped) to `patterns`, kept longest first so a longer form is replaced whole.
fn add_encodings(patterns: &mut Vec<String>, secret: &str) {
    if secret.len() < MIN_SUBSTRING_SECRET {
        return;
    }
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = form.replace('+', "%20");
    let json = serde_json::to_string(secret).unwrap_or_default().trim_matches('"').to_string();
    for encoded in [secret.to_string(), form, percent, json] {
        if !patterns.contains(&encoded) {
            patterns.push(encoded);
        }
    }
    patterns.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

fn cookie_name(pair: &str) -> String {
    match pair.split_once('=') {
        Some((name, _)) => format!("{name}={REDACTED}"),
        None => pair.to_string(),
    }
}

/// An attribute of an HTML tag: name, then a double-quoted, single-quoted or bare value.
static ATTRIBUTE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r#"([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"#).expect("attribute pattern")
});
/// A start tag whose attributes may carry a secret: inputs, buttons, meta tags (Rails' and
/// Laravel's `<meta name="csrf-token" content="…">`), in any letter case.
static TAG: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"(?is)<(input|button|meta|textarea)\b[^>]*>").expect("tag pattern"));

static TEXTAREA_END: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new(r"(?i)</textarea").expect("end tag pattern"));

/// Hidden inputs carry CSRF tokens and, in form_post responses, codes and tokens: blanks the
/// `value` (or a meta tag's `content`, a textarea's text) of every element whose `name` is a
/// secret name. Tags are read attribute by attribute (any case, quoting and spacing), without
/// building a tree, so a deeply nested page costs no more than a flat one.
fn redact_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    for tag in TAG.find_iter(html) {
        if tag.start() < at {
            continue;
        }
        out.push_str(&html[at..tag.start()]);
        let text = tag.as_str();
        let attributes: Vec<regex::Captures<'_>> = ATTRIBUTE.captures_iter(&text[1..]).collect();
        let secret = attributes.iter().any(|a| a[1].eq_ignore_ascii_case("name") && is_secret_name(attribute_value(a)));
        let mut redacted = text.to_string();
        if secret {
            // Replace from the end so earlier offsets stay valid.
            for a in attributes.iter().rev() {
                let holds_value = a[1].eq_ignore_ascii_case("value") || a[1].eq_ignore_ascii_case("content");
                if let (true, Some(m)) = (holds_value, a.get(2).or(a.get(3)).or(a.get(4))) {
                    redacted.replace_range(m.start() + 1..m.end() + 1, REDACTED);
                }
            }
        }
        out.push_str(&redacted);
        at = tag.end();
        if secret && text[1..].get(..8).is_some_and(|t| t.eq_ignore_ascii_case("textarea")) {
            // The textarea's text, up to its end tag (tags inside it are text: skipped below).
            let end = TEXTAREA_END.find_at(html, at).map_or(html.len(), |m| m.start());
            out.push_str(REDACTED);
            at = end;
        }
    }
    out.push_str(&html[at..]);
    out
}

fn attribute_value<'t>(a: &regex::Captures<'t>) -> &'t str {
    a.get(2).or(a.get(3)).or(a.get(4)).map_or("", |m| m.as_str())
}

/// Where anything shaped like a JWS/JWT (`eyJ...` header, three base64url parts) is in
/// `text`: (start, length) pairs.
fn jwt_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    // The end of the run of base64url characters and periods `i` is in: measured once per run,
    // so a body of `eyJ.` repeated costs linear time, not quadratic.
    let mut run_end = 0;
    while i < bytes.len() {
        if text[i..].starts_with("eyJ") && (i == 0 || !is_b64url(bytes[i - 1])) {
            if run_end <= i {
                run_end = i + text[i..].bytes().take_while(|b| is_b64url(*b) || *b == b'.').count();
            }
            let run = &text[i..run_end];
            // Header, payload (a JSON object too) and signature; an unsecured token (alg none,
            // RFC 7519 §6) has an empty signature. A period after the third part ends a
            // sentence, not the token.
            let parts: Vec<&str> = run.splitn(4, '.').collect();
            if parts.len() >= 3 && !parts[0].is_empty() && parts[1].starts_with("eyJ") {
                let len = parts[0].len() + parts[1].len() + parts[2].len() + 2;
                spans.push((i, len));
                i += len;
                continue;
            }
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    spans
}

/// Replaces anything shaped like a JWS/JWT.
fn redact_jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, len) in jwt_spans(text) {
        out.push_str(&text[at..start]);
        out.push_str("[redacted JWT]");
        at = start + len;
    }
    out.push_str(&text[at..]);
    out
}

impl Redactor {
    /// Every JWT in `text` (found in `found_in`), decoded with its signature dropped, its
    /// payload redacted like any JSON body (a nested token or a known secret never shows).
    pub fn decoded_jwts(&self, text: &str, found_in: &str) -> Vec<reports::DecodedJwt> {
        use base64::Engine;
        let part = |p: &str| -> Option<Value> {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok()?;
            serde_json::from_slice::<Value>(&bytes).ok().filter(Value::is_object)
        };
        jwt_spans(text)
            .into_iter()
            .filter_map(|(start, len)| {
                let mut parts = text[start..start + len].split('.');
                let header = part(parts.next()?)?;
                let mut payload = part(parts.next()?)?;
                self.redact_json(&mut payload);
                let payload = serde_json::from_str(&self.text(&payload.to_string())).unwrap_or(Value::Null);
                Some(reports::DecodedJwt { found_in: found_in.to_string(), header, payload })
            })
            .collect()
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

    #[test]
    fn named_parameters_are_redacted_in_forms_urls_and_fragments() {
        let r = Redactor::default();
        let form = r.form("grant_type=authorization_code&code=abc&code_verifier=v&client_secret=s&scope=openid");
        assert_eq!(
            form,
            "grant_type=authorization_code&code=%5Bredacted%5D&code_verifier=%5Bredacted%5D&client_secret=%5Bredacted%5D&scope=openid"
        );
        let url = r.url("https://rp.test/cb?code=abc&state=xyz#access_token=t&token_type=Bearer");
        assert!(!url.contains("abc") && !url.contains("=t&") && url.contains("state=xyz") && url.contains("token_type=Bearer"), "{url}");
    }

    #[test]
    fn json_members_headers_and_cookies_are_redacted() {
        let r = Redactor::default();
        let body = r.body(
            Some("application/json"),
            &format!("{{\"access_token\":\"{JWT}\",\"refresh_token\":\"r\",\"nested\":{{\"id_token\":\"i\"}},\"token_type\":\"Bearer\"}}"),
        );
        assert!(!body.contains("c2lnbmF0dXJl") && !body.contains("\"r\"") && !body.contains("\"i\"") && body.contains("Bearer"), "{body}");
        assert_eq!(r.header("Authorization", "Basic d2ViOnNlY3JldA=="), "Basic [redacted]");
        assert_eq!(r.header("cookie", "a=1; b=2"), "a=[redacted]; b=[redacted]");
        assert_eq!(r.header("set-cookie", "oh_session=xyz; Path=/; HttpOnly"), "oh_session=[redacted]; Path=/; HttpOnly");
    }

    #[test]
    fn known_secret_values_and_jwts_are_redacted_anywhere() {
        let r = Redactor::new(["alice-password".to_string(), "ab".to_string()]);
        let text = r.text(&format!("user typed alice-password; token {JWT}. ab stays"));
        assert_eq!(text, "user typed [redacted]; token [redacted JWT]. ab stays");
        assert_eq!(r.text("unsecured eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. here"), "unsecured [redacted JWT] here");
    }

    #[test]
    fn jwts_are_decoded_without_their_signature_and_their_secrets() {
        let r = Redactor::new(["alice-password".to_string()]);
        // {"alg":"RS256"} . {"sub":"x","refresh_token":"rt","note":"alice-password"} . signature
        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            r#"{"sub":"x","refresh_token":"rt","note":"alice-password"}"#,
        );
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl");
        let found = r.decoded_jwts(&format!("https://rp.test/cb#id_token={token}&state=s"), "Location");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].header["alg"], "RS256");
        assert_eq!(found[0].payload["sub"], "x");
        assert_eq!(found[0].payload["refresh_token"], REDACTED);
        assert_eq!(found[0].payload["note"], REDACTED);
        assert!(!serde_json::to_string(&found[0]).unwrap().contains("c2lnbmF0dXJl"));
    }

    #[test]
    fn secrets_are_found_before_encoding_and_json_whatever_its_content_type() {
        let r = Redactor::new(["p@ss w&rd!".to_string()]);
        let form = r.form(&url::form_urlencoded::Serializer::new(String::new()).append_pair("passwd", "p@ss w&rd!").finish());
        assert_eq!(form, "passwd=%5Bredacted%5D");
        let body = r.body(Some("text/plain"), r#"{"access_token":"opaque-at","refresh_token":"opaque-rt"}"#);
        assert!(!body.contains("opaque-at") && !body.contains("opaque-rt"), "{body}");
    }

    #[test]
    fn hidden_form_values_are_blanked() {
        let r = Redactor::default();
        let html = r.body(Some("text/html; charset=utf-8"), r#"<input type="hidden" name="csrf" value="tok"><input type="hidden" name="interaction" value="ix"><input type="hidden" name="code" value="c0de">"#);
        assert!(!html.contains("tok") && !html.contains("c0de") && html.contains("value=\"ix\""), "{html}");
        let odd = r.body(Some("text/html"), "<INPUT TYPE='hidden' NAME='code' VALUE='c0de'><input name=id_token value=eyJx.eyJy.zz >");
        assert!(!odd.contains("c0de") && !odd.contains("eyJx"), "{odd}");
    }

    #[test]
    fn secrets_are_found_in_every_encoding_and_short_ones_as_whole_values() {
        let r = Redactor::new(["p@ss w&rd\"x".to_string(), "abc".to_string()]);
        for text in ["raw p@ss w&rd\"x", "form p%40ss+w%26rd%22x", "percent p%40ss%20w%26rd%22x", "json \"p@ss w&rd\\\"x\""] {
            assert!(!r.text(text).contains("rd"), "{text} -> {}", r.text(text));
        }
        // A 3-character secret: redacted where it is a whole value, left alone inside words.
        assert_eq!(r.form("pin=abc&word=abcdef"), "pin=%5Bredacted%5D&word=abcdef");
        assert!(!r.body(Some("application/json"), r#"{"pin":"abc","n":"abcd"}"#).contains("\"abc\""));
        assert_eq!(r.header("x-api-key", "abc"), REDACTED);
    }

    #[test]
    fn secret_names_are_redacted_in_any_text_and_any_body() {
        let r = Redactor::default();
        // A reqwest error quoting a URL, a relative Location, a form body served as text/plain.
        let error = r.text("error sending request for url (https://rp.test/cb?state=s&code=c0de&x=1)");
        assert!(!error.contains("c0de") && error.contains("state=s"), "{error}");
        assert!(!r.header("location", "/cb?code=c0de&state=s").contains("c0de"));
        let plain = r.body(Some("text/plain"), "access_token=at-1&token_type=Bearer&device_code=dc-1&user_code=UC-1");
        assert!(!plain.contains("at-1") && !plain.contains("dc-1") && !plain.contains("UC-1") && plain.contains("Bearer"), "{plain}");
        // JSON cut in the middle no longer parses; its members are still found.
        let cut = r.body(Some("application/json"), r#"{"registration_access_token": "rat-1", "subject_token":"st-1", "note": "#);
        assert!(!cut.contains("rat-1") && !cut.contains("st-1"), "{cut}");
    }

    #[test]
    fn csrf_tokens_are_blanked_in_any_markup() {
        let r = Redactor::default();
        let html = r.body(
            Some("text/plain"),
            "<META NAME='csrf-token' CONTENT='m-1'><input name = \"authenticity_token\" value = \"a-1\">\
             <input value=r-1 name=__RequestVerificationToken><INPUT TYPE=hidden NAME=SAMLResponse VALUE='s-1'>\
             <textarea name=\"csrfmiddlewaretoken\">t-1</textarea><input name=\"username\" value=\"bob\">",
        );
        for secret in ["m-1", "a-1", "r-1", "s-1", "t-1"] {
            assert!(!html.contains(secret), "{secret} in {html}");
        }
        assert!(html.contains("value=\"bob\""), "{html}");
    }

    #[test]
    fn values_learnt_during_the_run_are_redacted_by_every_copy() {
        let r = Redactor::default();
        let shared = r.clone();
        r.learn(["flow-token-1234567".to_string(), "acme".to_string(), "https://id.test/resume?x=flow".to_string()]);
        assert_eq!(shared.text("next=/resume?t=flow-token-1234567"), "next=/resume?t=[redacted]");
        assert_eq!(shared.text("tenant acme at https://id.test/resume?x=flow"), "tenant acme at https://id.test/resume?x=flow");
    }

    #[test]
    fn hostile_markup_and_token_shapes_cost_linear_time_and_never_panic() {
        let r = Redactor::default();
        for html in [
            "<textarea name=csrf><input name=x></textarea>",
            "<textarea name=csrf>never closed <input name=y>",
            "<TEXTAREA NAME=csrf>a</TEXTAREA>",
        ] {
            let out = r.body(Some("text/html"), html);
            assert!(!out.contains(">a<"), "{out}");
        }
        // 2 MiB of `eyJ..` used to take minutes; now it is one pass.
        let text = "eyJ..".repeat(400_000);
        assert_eq!(r.text(&text), text, "no JWT in it: left as it is");
        assert_eq!(r.text("a eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln b"), "a [redacted JWT] b");
        let laravel = r.body(Some("text/html"), "<input type=hidden name=_token value=lv-1><input name=ticket value=ST-1>");
        assert!(!laravel.contains("lv-1") && !laravel.contains("ST-1"), "{laravel}");
    }
}
