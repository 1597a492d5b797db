//! Redaction of evidence: secrets, passwords, one-time codes, authorization codes and tokens
//! never reach a report. Applied once, when an exchange is recorded, so no renderer can leak.

use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Parameters and JSON members whose values are secrets or tokens.
const SECRET_NAMES: [&str; 14] = [
    "client_secret",
    "password",
    "otp",
    "code",
    "code_verifier",
    "refresh_token",
    "access_token",
    "id_token",
    "token",
    "client_assertion",
    "csrf",
    "logout_token",
    "assertion",
    "id_token_hint",
];

fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// What to redact beyond the well-known names: the literal secret values of this run
/// (client secrets from the environment, user passwords), wherever they appear.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    pub fn new(values: impl IntoIterator<Item = String>) -> Redactor {
        // Very short values would redact innocent text; the named rules still cover them.
        let mut values: Vec<String> = values.into_iter().filter(|v| v.len() >= 4).collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Redactor { values }
    }

    /// Catch-all: every known secret value and every JWT in free text.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            out = out.replace(v.as_str(), REDACTED);
        }
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
            "location" | "content-location" => self.url(value),
            _ => self.text(value),
        }
    }

    /// A response or request body, by its content type.
    pub fn body(&self, content_type: Option<&str>, body: &str) -> String {
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        // Whatever the content type says: a token response served as text/plain is still JSON
        // with tokens in it.
        if let Ok(mut value) = serde_json::from_str::<Value>(body)
            && (value.is_object() || value.is_array())
        {
            redact_json(&mut value);
            return self.text(&serde_json::to_string_pretty(&value).unwrap_or_default());
        }
        if ct.starts_with("application/x-www-form-urlencoded") {
            return self.form(body);
        }
        if ct.starts_with("text/html") {
            return redact_html_values(&self.text(body));
        }
        self.text(body)
    }
}

impl Redactor {
    /// A decoded parameter: redacted by its name, or because it holds a known secret value
    /// (a password in a field of any name; compared before encoding, which would hide it).
    fn param(&self, name: &str, value: &str) -> String {
        if is_secret_name(name) || self.values.iter().any(|v| value.contains(v.as_str())) {
            REDACTED.to_string()
        } else {
            value.to_string()
        }
    }
}

fn cookie_name(pair: &str) -> String {
    match pair.split_once('=') {
        Some((name, _)) => format!("{name}={REDACTED}"),
        None => pair.to_string(),
    }
}

fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_name(k) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// Hidden inputs of forms carry CSRF tokens and, in form_post responses, codes and tokens:
/// blank the value of any input whose name is a secret name. Tags and attribute names in any
/// letter case, values in double or single quotes (positions are found in an ASCII-lowercased
/// copy, which keeps byte offsets).
fn redact_html_values(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find("<input") {
        let start = at + found;
        let end = lower[start..].find('>').map_or(html.len(), |e| start + e + 1);
        out.push_str(&html[at..start]);
        let tag = &lower[start..end];
        let secret = SECRET_NAMES.iter().any(|n| {
            let n = n.to_ascii_lowercase();
            tag.contains(&format!("name=\"{n}\"")) || tag.contains(&format!("name='{n}'")) || tag.contains(&format!("name={n} "))
        });
        out.push_str(&if secret { blank_value(&html[start..end], tag) } else { html[start..end].to_string() });
        at = end;
    }
    out.push_str(&html[at..]);
    out
}

fn blank_value(tag: &str, lower: &str) -> String {
    let Some(i) = lower.find("value=") else { return tag.to_string() };
    let start = i + "value=".len();
    let (start, end) = match tag.as_bytes().get(start) {
        Some(q @ (b'"' | b'\'')) => {
            let quote = *q as char;
            (start + 1, tag[start + 1..].find(quote).map_or(tag.len(), |e| start + 1 + e))
        }
        _ => (start, tag[start..].find([' ', '>', '/']).map_or(tag.len(), |e| start + e)),
    };
    format!("{}{REDACTED}{}", &tag[..start], &tag[end..])
}

/// Where anything shaped like a JWS/JWT (`eyJ...` header, three base64url parts) is in
/// `text`: (start, length) pairs.
fn jwt_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if text[i..].starts_with("eyJ") && (i == 0 || !is_b64url(bytes[i - 1])) {
            let run = &text[i..i + text[i..].bytes().take_while(|b| is_b64url(*b) || *b == b'.').count()];
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
                redact_json(&mut payload);
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
}
