//! The HTML side of the login driver: reads a page's forms and decides what a person would do
//! there (sign in, approve, follow a form post to the client), filling the fields.

use super::{Credentials, is_client};
use crate::target::{LoginConfig, TestUser};
use scraper::{ElementRef, Html, Selector};
use std::collections::BTreeMap;

/// What to do on a page.
pub(super) enum PageAction {
    /// A form that posts to the client: the response arrives by form post.
    ToClient(BTreeMap<String, String>),
    /// A login form, filled with the test user's credentials.
    Login { submit: Submit, prefilled_username: Option<String> },
    /// Another form to submit (consent).
    Continue(Submit),
    /// No form to continue with.
    Stuck,
}

/// A form ready to submit: where, how, and with which fields.
pub(super) struct Submit {
    pub action: url::Url,
    pub post: bool,
    pub fields: Vec<(String, String)>,
}

/// What a person would do on the page at `page_url` with `body`.
pub(super) fn on_page(page_url: &url::Url, body: &str, redirect_uri: &str, creds: &Credentials<'_>) -> Result<PageAction, String> {
    let forms = parse_forms(body);
    if let Some(form) = forms.iter().find(|f| page_url.join(&f.action).is_ok_and(|u| is_client(&u, redirect_uri))) {
        return Ok(PageAction::ToClient(form.fields.iter().cloned().collect()));
    }
    if let Some(form) = forms.iter().find(|f| f.has_password) {
        let user = creds.user.ok_or("the target shows a login page but the target file names no test user")?;
        let fields = login_fields(form, user, creds)?;
        let prefilled_username =
            username_field(form, creds.config).ok().and_then(|name| form.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()));
        return Ok(PageAction::Login { submit: submit(page_url, form, fields)?, prefilled_username });
    }
    if let Some(form) = forms.first() {
        let mut fields = form.fields.clone();
        fields.extend(approve_button(form, creds.config)?);
        return Ok(PageAction::Continue(submit(page_url, form, fields)?));
    }
    Ok(PageAction::Stuck)
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

fn parse_forms(body: &str) -> Vec<Form> {
    let doc = Html::parse_document(body);
    let form_sel = Selector::parse("form").expect("selector");
    let input_sel = Selector::parse("input").expect("selector");
    let button_sel = Selector::parse("button").expect("selector");
    doc.select(&form_sel).map(|form| parse_form(form, &input_sel, &button_sel)).collect()
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

fn submit(page: &url::Url, form: &Form, fields: Vec<(String, String)>) -> Result<Submit, String> {
    let action = page.join(&form.action).map_err(|e| format!("bad form action {}: {e}", form.action))?;
    Ok(Submit { action, post: form.method_post, fields })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Secret;

    fn form(html: &str) -> Form {
        let doc = Html::parse_document(html);
        let form = doc.select(&Selector::parse("form").unwrap()).next().unwrap();
        parse_form(form, &Selector::parse("input").unwrap(), &Selector::parse("button").unwrap())
    }

    fn creds<'a>(config: &'a LoginConfig, extra: &'a BTreeMap<String, crate::target::Secret>) -> Credentials<'a> {
        Credentials { user: None, config, extra, origins: Vec::new() }
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
}
