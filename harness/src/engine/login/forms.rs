//! The HTML side of the login driver: reads a page's forms and decides what a person would do
//! there (sign in, give the username of an identifier-first login, approve, follow a form post
//! to the client, follow a meta refresh), filling the fields as a browser submits them.
//!
//! A page may hold several forms (a language switcher, a search box, "forgot password" beside
//! the login form): the form is chosen by its fields, never by its place on the page.

use super::{Credentials, is_client};
use crate::target::{LoginConfig, TestUser};
use scraper::{ElementRef, Html, Selector};
use std::collections::BTreeMap;

/// What to do on a page.
pub(super) enum PageAction {
    /// A form that posts to the client: the response arrives by form post.
    ToClient(BTreeMap<String, String>),
    /// A login form, filled with the test user's password (and username, when it asks for one).
    Login { submit: Submit, prefilled_username: Option<String> },
    /// The first step of an identifier-first login: the username alone. No credential is
    /// submitted, so it is not a login.
    Identify { submit: Submit, prefilled_username: Option<String> },
    /// A second-factor page, filled with the test user's current one-time code. No password is
    /// submitted, so a provider may show it after its own sign-in page.
    SecondFactor(Submit),
    /// Another form to submit (consent).
    Continue(Submit),
    /// No form to continue with, but the page refreshes to this URL (`<meta http-equiv=refresh>`).
    Navigate(url::Url),
    /// No form to continue with.
    Stuck,
}

/// Form fields as they are sent: name and value, in order.
type Fields = Vec<(String, String)>;

/// A form ready to submit: where, how, and with which fields.
pub(super) struct Submit {
    pub action: url::Url,
    pub post: bool,
    pub fields: Vec<(String, String)>,
}

/// What a person would do on the page at `page_url` with `body`.
pub(super) fn on_page(page_url: &url::Url, body: &str, redirect_uri: &str, creds: &Credentials<'_>) -> Result<PageAction, String> {
    let doc = Html::parse_document(body);
    let forms = parse_forms(&doc);
    if let Some(form) = forms.iter().find(|f| page_url.join(&f.action).is_ok_and(|u| is_client(&u, redirect_uri))) {
        return Ok(PageAction::ToClient(form.fields(&[], None).into_iter().collect()));
    }
    if let Some(form) = login_form(&forms, creds.config) {
        return sign_in(page_url, form, creds);
    }
    if let Some(form) = forms.iter().find(|f| is_one_time_code_form(f, creds)) {
        return second_factor(page_url, form, creds);
    }
    if let Some((form, username_field)) = identifier_form(&forms, creds) {
        let user = creds.user.ok_or("the target shows a login page but the target file names no test user")?;
        let prefilled_username = form.value_of(&username_field);
        let mut fills = vec![(username_field, user.username.clone())];
        fills.extend(extra_fills(form, creds));
        let fields = form.fields(&fills, form.default_button());
        return Ok(PageAction::Identify { submit: submit(page_url, form, fields, form.default_button())?, prefilled_username });
    }
    // Only a password form that says it is for something else (registration, reset) is left:
    // a login page all the same when nothing else on it signs in.
    if let Some(form) = forms.iter().find(|f| !f.passwords().is_empty()) {
        return sign_in(page_url, form, creds);
    }
    // A cookie banner's "Accept" or a language form's "Continue" is no consent.
    if let Some((form, button)) =
        forms.iter().filter(|f| !f.other_purpose()).find_map(|f| approving_button(f, creds.config).map(|b| (f, b)))
    {
        return Ok(PageAction::Continue(submit(page_url, form, form.fields(&[], Some(button)), Some(button))?));
    }
    // A refresh is what the page does by itself; a lone form of no other purpose (a "Continue"
    // interstitial without a recognisable button) is what a person would submit instead.
    if let Some(to) = meta_refresh(&doc, page_url) {
        return Ok(PageAction::Navigate(to));
    }
    if let [form] = forms.iter().filter(|f| !f.other_purpose()).collect::<Vec<_>>().as_slice() {
        let button = approve_button(form, creds.config)?;
        return Ok(PageAction::Continue(submit(page_url, form, form.fields(&[], button), button)?));
    }
    Ok(PageAction::Stuck)
}

/// Fills `form` with the test user's credentials.
fn sign_in(page_url: &url::Url, form: &Form, creds: &Credentials<'_>) -> Result<PageAction, String> {
    let user = creds.user.ok_or("the target shows a login page but the target file names no test user")?;
    let (fields, prefilled_username) = login_fields(form, user, creds)?;
    Ok(PageAction::Login { submit: submit(page_url, form, fields, form.default_button())?, prefilled_username })
}

/// A second-factor page (the user is already known, as when Microsoft Entra sends its user to an
/// External Authentication Method): no password, and one editable text field, the one-time code.
fn is_one_time_code_form(form: &Form, creds: &Credentials<'_>) -> bool {
    let texts: Vec<(&str, &str, bool)> = form.texts().filter(|(name, _, _)| !creds.extra.contains_key(*name)).collect();
    form.passwords().is_empty()
        && !form.other_purpose()
        && matches!(texts.as_slice(), [(name, autocomplete, _)] if is_one_time_code(name, autocomplete))
}

/// A one-time-code field: `autocomplete="one-time-code"` (HTML §4.10.18.7.2) or named `otp` / `totp`.
fn is_one_time_code(name: &str, autocomplete: &str) -> bool {
    autocomplete.contains("one-time-code") || ["otp", "totp"].contains(&name.to_ascii_lowercase().as_str())
}

/// Fills the one-time code of a second-factor page with the test user's current TOTP code.
fn second_factor(page_url: &url::Url, form: &Form, creds: &Credentials<'_>) -> Result<PageAction, String> {
    let user = creds.user.ok_or("the target asks for a one-time code but the target file names no test user")?;
    let fill = totp_fill(form, user, creds, crate::engine::id_token::now() as u64)
        .ok_or("the target asks for a one-time code: set user.totp_secret_env in the target file to the test user's TOTP secret")?;
    let fields = form.fields(&[fill], form.default_button());
    Ok(PageAction::SecondFactor(submit(page_url, form, fields, form.default_button())?))
}

/// A form as a browser sees it: its successful controls in tree order, and its submit buttons.
#[derive(Debug, Clone)]
struct Form {
    action: String,
    method_post: bool,
    /// The form's own id, name, class and role: what it is for, in the page author's words.
    label: String,
    /// Every control that may be sent, submit buttons included, in tree order.
    controls: Vec<Control>,
    has_search_input: bool,
    has_textarea: bool,
}

#[derive(Debug, Clone)]
struct Control {
    /// Empty for a submit button without a name (it can be clicked, but sends nothing).
    name: String,
    value: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Sent as it is: hidden and readonly inputs, checked boxes, selected options, textareas.
    Fixed,
    /// A checked radio button: one per name is sent.
    Radio,
    /// An editable text, email or tel input: where a username may go.
    Text { autocomplete: String, email: bool },
    /// An editable password input.
    Password,
    /// A submit button: sent only when it is the one clicked.
    Submit(Button),
}

#[derive(Debug, Clone, PartialEq)]
struct Button {
    name: Option<String>,
    value: String,
    /// The visible text (a `<button>`'s content, an `<input type=submit>`'s value).
    text: String,
    formaction: Option<String>,
    formmethod: Option<String>,
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("a valid selector")
}

fn parse_forms(doc: &Html) -> Vec<Form> {
    doc.select(&selector("form")).map(parse_form).collect()
}

fn attr(e: &ElementRef<'_>, name: &str) -> Option<String> {
    e.value().attr(name).map(str::to_string)
}

fn parse_form(form: ElementRef<'_>) -> Form {
    let label = ["id", "name", "class", "role"].iter().filter_map(|a| attr(&form, a)).collect::<Vec<_>>().join(" ");
    let mut parsed = Form {
        action: attr(&form, "action").unwrap_or_default(),
        method_post: attr(&form, "method").is_some_and(|m| m.trim().eq_ignore_ascii_case("post")),
        label,
        controls: Vec::new(),
        has_search_input: false,
        has_textarea: false,
    };
    for element in form.descendants().filter_map(ElementRef::wrap) {
        // A disabled control is never sent, nor can a disabled button be clicked.
        if is_disabled(&element) {
            continue;
        }
        match element.value().name() {
            "input" => parse_input(&mut parsed, &element),
            "button" => parse_button(&mut parsed, &element),
            "select" => {
                let Some(name) = attr(&element, "name") else { continue };
                parsed.controls.extend(selected_options(&element).into_iter().map(|value| fixed(&name, value)));
            }
            "textarea" => {
                parsed.has_textarea = true;
                let Some(name) = attr(&element, "name") else { continue };
                parsed.controls.push(fixed(&name, element.text().collect()));
            }
            _ => {}
        }
    }
    parsed
}

fn fixed(name: &str, value: String) -> Control {
    Control { name: name.to_string(), value, kind: Kind::Fixed }
}

fn parse_input(form: &mut Form, input: &ElementRef<'_>) {
    let kind = attr(input, "type").unwrap_or_default().trim().to_ascii_lowercase();
    if kind == "search" {
        form.has_search_input = true;
    }
    let Some(name) = attr(input, "name") else { return };
    let value = attr(input, "value").unwrap_or_default();
    let readonly = input.value().attr("readonly").is_some();
    match kind.as_str() {
        "submit" => {
            let button = Button {
                name: Some(name),
                text: value.clone(),
                value,
                formaction: attr(input, "formaction"),
                formmethod: attr(input, "formmethod"),
            };
            form.controls.push(Control { name: String::new(), value: String::new(), kind: Kind::Submit(button) });
        }
        // Buttons that run scripts or clear the form, and files: never part of the submission.
        "image" | "button" | "reset" | "file" => {}
        "checkbox" | "radio" if input.value().attr("checked").is_some() => {
            let value = if input.value().attr("value").is_some() { value } else { "on".into() };
            if kind == "radio" {
                // Checking a radio unchecks the others of its name, as a browser parses them.
                form.controls.retain(|c| !(c.kind == Kind::Radio && c.name == name));
                form.controls.push(Control { name, value, kind: Kind::Radio });
            } else {
                form.controls.push(Control { name, value, kind: Kind::Fixed });
            }
        }
        "checkbox" | "radio" => {}
        "password" if !readonly => form.controls.push(Control { name, value, kind: Kind::Password }),
        // A readonly field shows what the server already knows (the account being
        // re-authenticated): it is sent as it is, never filled.
        "text" | "email" | "tel" | "" if !readonly => {
            let autocomplete = attr(input, "autocomplete").unwrap_or_default().to_ascii_lowercase();
            form.controls.push(Control { name, value, kind: Kind::Text { autocomplete, email: kind == "email" } });
        }
        _ => form.controls.push(Control { name, value, kind: Kind::Fixed }),
    }
}

fn parse_button(form: &mut Form, button: &ElementRef<'_>) {
    // A button with no type, or an unknown one, submits; `button` and `reset` never do.
    let kind = attr(button, "type").unwrap_or_default().trim().to_ascii_lowercase();
    if kind == "button" || kind == "reset" {
        return;
    }
    let button = Button {
        name: attr(button, "name"),
        value: attr(button, "value").unwrap_or_default(),
        text: button.text().collect::<String>().trim().to_string(),
        formaction: attr(button, "formaction"),
        formmethod: attr(button, "formmethod"),
    };
    form.controls.push(Control { name: String::new(), value: String::new(), kind: Kind::Submit(button) });
}

/// Disabled by its own attribute, or by a disabled fieldset it is in (except inside that
/// fieldset's first legend, which the HTML standard leaves enabled).
fn is_disabled(element: &ElementRef<'_>) -> bool {
    if !matches!(element.value().name(), "input" | "button" | "select" | "textarea") {
        return false;
    }
    if element.value().attr("disabled").is_some() {
        return true;
    }
    let mut child = **element;
    for ancestor in element.ancestors() {
        let Some(fieldset) = ElementRef::wrap(ancestor) else { continue };
        if fieldset.value().name() == "fieldset" && fieldset.value().attr("disabled").is_some() {
            let first_legend = fieldset.children().filter_map(ElementRef::wrap).find(|c| c.value().name() == "legend");
            if first_legend.is_none_or(|legend| legend.id() != child.id()) {
                return true;
            }
        }
        child = ancestor;
    }
    false
}

/// The values a `<select>` sends: its selected options (the last one, unless it is
/// `multiple`), else the first option a single select shows.
fn selected_options(select: &ElementRef<'_>) -> Vec<String> {
    let options: Vec<ElementRef<'_>> =
        select.select(&selector("option")).filter(|o| o.value().attr("disabled").is_none() && !is_disabled_group(o)).collect();
    let value = |o: &ElementRef<'_>| {
        attr(o, "value").unwrap_or_else(|| o.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let selected: Vec<String> = options.iter().filter(|o| o.value().attr("selected").is_some()).map(value).collect();
    if select.value().attr("multiple").is_some() {
        return selected;
    }
    match selected.last() {
        Some(last) => vec![last.clone()],
        None => options.first().map(value).into_iter().collect(),
    }
}

fn is_disabled_group(option: &ElementRef<'_>) -> bool {
    option.parent().and_then(ElementRef::wrap).is_some_and(|p| p.value().name() == "optgroup" && p.value().attr("disabled").is_some())
}

impl Form {
    /// The button a browser clicks when Enter is pressed in the form: its first submit button.
    fn default_button(&self) -> Option<&Button> {
        self.buttons().next()
    }

    fn buttons(&self) -> impl Iterator<Item = &Button> {
        self.controls.iter().filter_map(|c| match &c.kind {
            Kind::Submit(button) => Some(button),
            _ => None,
        })
    }

    fn texts(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.controls.iter().filter_map(|c| match &c.kind {
            Kind::Text { autocomplete, email } => Some((c.name.as_str(), autocomplete.as_str(), *email)),
            _ => None,
        })
    }

    fn passwords(&self) -> Vec<&str> {
        self.controls.iter().filter(|c| c.kind == Kind::Password).map(|c| c.name.as_str()).collect()
    }

    fn has_control(&self, name: &str) -> bool {
        self.controls.iter().any(|c| c.name == name && !matches!(c.kind, Kind::Submit(_)))
    }

    /// The current value of the control `name`, if it has one.
    fn value_of(&self, name: &str) -> Option<String> {
        self.controls
            .iter()
            .find(|c| c.name == name && !matches!(c.kind, Kind::Submit(_)))
            .map(|c| c.value.clone())
            .filter(|v| !v.is_empty())
    }

    /// Whether the form is for something else than signing in or consenting: its own name, its
    /// default button or a search input say search, language, password reset, registration.
    fn other_purpose(&self) -> bool {
        const WORDS: &[&str] = &[
            "search",
            "forgot",
            "reset",
            "recover",
            "register",
            "signup",
            "sign-up",
            "sign up",
            "language",
            "locale",
            "subscribe",
            "newsletter",
        ];
        let default_text = self.default_button().map(|b| format!("{} {}", b.text, b.name.as_deref().unwrap_or(""))).unwrap_or_default();
        // The action's path only: a query often carries the page's locale or return URL.
        let path = self.action.split(['?', '#']).next().unwrap_or_default();
        let words = format!("{path} {} {default_text}", self.label).to_ascii_lowercase();
        self.has_search_input || WORDS.iter().any(|w| words.contains(w))
    }

    /// The fields a browser sends: every control in tree order, with `fills` replacing the
    /// value of the controls they name, and of the buttons only the clicked one.
    fn fields(&self, fills: &[(String, String)], clicked: Option<&Button>) -> Vec<(String, String)> {
        let fill = |c: &Control| fills.iter().find(|(n, _)| *n == c.name).map(|(_, v)| v.clone());
        let is_clicked = |b: &Button| clicked.is_some_and(|c| std::ptr::eq(c, b));
        self.controls
            .iter()
            .filter_map(|control| match &control.kind {
                Kind::Submit(button) if is_clicked(button) => Some((button.name.clone()?, button.value.clone())),
                Kind::Submit(_) => None,
                _ => Some((control.name.clone(), fill(control).unwrap_or_else(|| control.value.clone()))),
            })
            .collect()
    }
}

/// The login form: the one with a password input, preferring the one with the configured
/// password field and one that is not a registration or reset form.
fn login_form<'f>(forms: &'f [Form], config: &LoginConfig) -> Option<&'f Form> {
    let with_password: Vec<&Form> = forms.iter().filter(|f| !f.passwords().is_empty()).collect();
    let configured = |f: &&&Form| config.password_field.as_ref().is_none_or(|name| f.passwords().contains(&name.as_str()));
    with_password
        .iter()
        .find(|f| configured(f) && !f.other_purpose())
        .or_else(|| with_password.iter().find(|f| configured(f) && !f.other_purpose()))
        .copied()
}

/// The first step of an identifier-first login: a form without a password input, of no other
/// purpose, whose only editable text field is recognisably the username. A lone text input is
/// not enough here (a search box is one), so the field must say what it is.
fn identifier_form<'f>(forms: &'f [Form], creds: &Credentials<'_>) -> Option<(&'f Form, String)> {
    forms.iter().filter(|f| f.passwords().is_empty() && !f.other_purpose() && !f.has_textarea).find_map(|form| {
        let candidates = username_candidates(form, creds);
        let named = match &creds.config.username_field {
            Some(name) => candidates.iter().find(|(n, _, _)| n == name).map(|(n, _, _)| n.to_string()),
            None => match candidates.as_slice() {
                [(name, autocomplete, email)] if *email || autocomplete.contains("username") || says_username(name) => {
                    Some(name.to_string())
                }
                _ => None,
            },
        };
        // A configured field is the username however many other text inputs the form has.
        named.filter(|_| creds.config.username_field.is_some() || candidates.len() == 1).map(|name| (form, name))
    })
}

fn says_username(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["user", "login", "email", "identifier", "account"].iter().any(|k| name.contains(k))
}

/// The editable text inputs that may take the username: not an extra field the target fills,
/// not a one-time code.
fn username_candidates<'f>(form: &'f Form, creds: &Credentials<'_>) -> Vec<(&'f str, &'f str, bool)> {
    form.texts().filter(|(name, autocomplete, _)| !creds.extra.contains_key(*name) && !autocomplete.contains("one-time-code")).collect()
}

/// The extra fields the target fills (a tenant, a one-time code), where the form has them.
fn extra_fills(form: &Form, creds: &Credentials<'_>) -> Vec<(String, String)> {
    creds.extra.iter().filter(|(name, _)| form.has_control(name)).map(|(n, v)| (n.clone(), v.expose().to_string())).collect()
}

/// The login form's fields (hidden and prefilled inputs kept, the username, password and any
/// configured extra fields filled), and what its username field had prefilled.
fn login_fields(form: &Form, user: &TestUser, creds: &Credentials<'_>) -> Result<(Fields, Option<String>), String> {
    let config = creds.config;
    let passwords = form.passwords();
    let password_field = match (&config.password_field, passwords.as_slice()) {
        (Some(name), _) if passwords.contains(&name.as_str()) => name.clone(),
        (Some(name), _) => return Err(format!("login.password_field names {name}, which the login form does not have")),
        (None, [only]) => only.to_string(),
        (None, _) => return Err("the login form has several password fields: set login.password_field in the target file".into()),
    };
    let mut fills = vec![(password_field, user.password.expose().to_string())];
    let username_field = username_field(form, creds)?;
    let prefilled = username_field.as_deref().and_then(|name| form.value_of(name));
    if let Some(name) = username_field {
        fills.push((name, user.username.clone()));
    }
    fills.extend(extra_fills(form, creds));
    fills.extend(totp_fill(form, user, creds, crate::engine::id_token::now() as u64));
    Ok((form.fields(&fills, form.default_button()), prefilled))
}

/// The test user's current TOTP code (RFC 6238) in the form's one-time-code field: an input with
/// `autocomplete="one-time-code"` or named `otp` / `totp`, not filled as an extra field. Only a
/// field whose name the redactor knows as secret is filled, so the code never reaches a report.
fn totp_fill(form: &Form, user: &TestUser, creds: &Credentials<'_>, now: u64) -> Option<(String, String)> {
    let secret = reference_server::totp::decode_secret(user.totp.as_ref()?.expose())?;
    let (name, _, _) = form.texts().find(|(name, autocomplete, _)| {
        is_one_time_code(name, autocomplete) && !creds.extra.contains_key(*name) && crate::redact::is_secret_name(name)
    })?;
    Some((name.to_string(), reference_server::totp::code(&secret, now)))
}

/// The login form's username field: as configured, the only editable text or email input, or
/// the one whose name says user, login or email. `None` when the form asks for no username (a
/// re-authentication page shows the account as text or in a hidden or readonly input).
fn username_field(form: &Form, creds: &Credentials<'_>) -> Result<Option<String>, String> {
    let candidates = username_candidates(form, creds);
    if let Some(name) = &creds.config.username_field {
        return match candidates.iter().any(|(n, _, _)| n == name) {
            true => Ok(Some(name.clone())),
            false if candidates.is_empty() => Ok(None),
            false => Err(format!("login.username_field names {name}, which the login form does not show")),
        };
    }
    match candidates.as_slice() {
        [] => Ok(None),
        [(only, _, _)] => Ok(Some(only.to_string())),
        many => many
            .iter()
            .find(|(_, autocomplete, _)| autocomplete.contains("username"))
            // Among several inputs only the clearest names count ("account" might be a tenant's).
            .or_else(|| many.iter().find(|(n, _, _)| ["user", "login", "email"].iter().any(|k| n.to_ascii_lowercase().contains(k))))
            .map(|(n, _, _)| Some(n.to_string()))
            .ok_or_else(|| "cannot tell the username field of the login form: set login.username_field in the target file".to_string()),
    }
}

/// The button that approves, as configured, else the one whose name, value or text says so.
fn approving_button<'f>(form: &'f Form, config: &LoginConfig) -> Option<&'f Button> {
    let matches_word = |text: &str, words: &[&str]| words.iter().any(|w| text.to_ascii_lowercase().contains(w));
    match &config.approve_button {
        Some(wanted) => form.buttons().find(|b| {
            let pair = format!("{}={}", b.name.as_deref().unwrap_or(""), b.value);
            &pair == wanted || &b.text == wanted || &b.value == wanted
        }),
        None => form.buttons().find(|b| {
            let label = format!("{} {} {}", b.name.as_deref().unwrap_or(""), b.value, b.text);
            matches_word(&label, &["approve", "allow", "accept", "authorize", "consent", "yes", "continue"]) && !says_deny(&label)
        }),
    }
}

/// Whether a button's label declines.
fn says_deny(label: &str) -> bool {
    let label = label.to_ascii_lowercase();
    ["deny", "cancel", "reject", "decline"].iter().any(|w| label.contains(w))
}

/// The button to click on a form to continue: the approving one, else its only button (or
/// none, for a form without buttons).
fn approve_button<'f>(form: &'f Form, config: &LoginConfig) -> Result<Option<&'f Button>, String> {
    match (approving_button(form, config), form.buttons().collect::<Vec<_>>().as_slice()) {
        (Some(button), _) => Ok(Some(button)),
        (None, []) => Ok(None),
        // A lone "Cancel" or "Deny" is never clicked: the server's access_denied would then
        // look like its own refusal.
        (None, [only]) if !says_deny(&format!("{} {} {}", only.name.as_deref().unwrap_or(""), only.value, only.text)) => Ok(Some(*only)),
        (None, [_]) => {
            Err("the page's only button declines (cancel, deny): the driver does not click it; set login.approve_button if it approves"
                .into())
        }
        (None, _) => Err("cannot tell which button approves the consent page: set login.approve_button in the target file".into()),
    }
}

/// Where and how the form goes when `clicked` is clicked: the button's `formaction` and
/// `formmethod` win over the form's own.
fn submit(page: &url::Url, form: &Form, fields: Vec<(String, String)>, clicked: Option<&Button>) -> Result<Submit, String> {
    let action = clicked.and_then(|b| b.formaction.as_deref()).unwrap_or(&form.action);
    let post = match clicked.and_then(|b| b.formmethod.as_deref()) {
        Some(method) => method.trim().eq_ignore_ascii_case("post"),
        None => form.method_post,
    };
    let action = page.join(action).map_err(|e| format!("bad form action {action}: {e}"))?;
    Ok(Submit { action, post, fields })
}

/// The URL a `<meta http-equiv="refresh">` sends the page to, resolved against the page; not
/// when it only reloads the page.
fn meta_refresh(doc: &Html, page: &url::Url) -> Option<url::Url> {
    let is_refresh = |m: &ElementRef<'_>| m.value().attr("http-equiv").is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh"));
    let target = doc.select(&selector("meta[http-equiv]")).filter(is_refresh).find_map(|m| refresh_target(m.value().attr("content")?))?;
    let to = page.join(&target).ok()?;
    let same = |a: &url::Url, b: &url::Url| a.as_str().split('#').next() == b.as_str().split('#').next();
    (!same(&to, page)).then_some(to)
}

/// The URL in a refresh `content` (`0; url=/next`, `5;URL='/next'`, `0, /next`), read by the
/// HTML standard's shared declarative refresh steps; `None` when it names none.
fn refresh_target(content: &str) -> Option<String> {
    let rest = content.trim_start();
    let after_time = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if after_time.len() == rest.len() {
        return None; // no time: not a valid refresh
    }
    let rest = after_time.trim_start();
    let rest = rest.strip_prefix([';', ',']).unwrap_or(rest).trim_start();
    let rest = match rest.get(..3) {
        Some(word) if word.eq_ignore_ascii_case("url") => match rest[3..].trim_start().strip_prefix('=') {
            Some(value) => value.trim_start(),
            None => rest,
        },
        _ => rest,
    };
    let url = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => rest[1..].split(quote).next().unwrap_or_default(),
        _ => rest,
    };
    let url = url.trim();
    (!url.is_empty()).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Secret;

    fn forms(html: &str) -> Vec<Form> {
        parse_forms(&Html::parse_document(html))
    }

    fn form(html: &str) -> Form {
        forms(html).remove(0)
    }

    fn creds<'a>(config: &'a LoginConfig, extra: &'a BTreeMap<String, Secret>) -> Credentials<'a> {
        Credentials { user: None, config, extra, origins: Vec::new() }
    }

    fn alice() -> TestUser {
        TestUser { username: "alice".into(), password: Secret::new("pw"), totp: None }
    }

    #[test]
    fn a_totp_user_gets_the_current_code_in_the_one_time_code_field_and_only_there() {
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let user = TestUser { totp: Some(Secret::new(secret)), ..alice() };
        let (config, extra) = (LoginConfig::default(), BTreeMap::new());
        let now = 1_234_567_890;
        let f = form(
            r#"<form><input name="username"><input type="password" name="password">
            <input name="otp" autocomplete="one-time-code"></form>"#,
        );
        let fill = totp_fill(&f, &user, &creds(&config, &extra), now);
        assert_eq!(fill, Some(("otp".to_string(), "005924".to_string())), "RFC 6238's T = 1234567890 row");
        // A one-time-code field under a name the redactor does not know is left alone: its code
        // would reach the evidence.
        let unknown =
            form(r#"<form><input type="password" name="password"><input name="verification" autocomplete="one-time-code"></form>"#);
        assert_eq!(totp_fill(&unknown, &user, &creds(&config, &extra), now), None);
        assert_eq!(totp_fill(&f, &alice(), &creds(&config, &extra), now), None, "no secret, no code");
    }

    #[test]
    fn a_second_factor_page_gets_the_current_code_and_nothing_else() {
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let user = TestUser { totp: Some(Secret::new(secret)), ..alice() };
        let config = LoginConfig::default();
        let extra = BTreeMap::new();
        let with_totp = Credentials { user: Some(&user), ..creds(&config, &extra) };
        let page = r#"<form method="post" action="/second-factor"><input type="hidden" name="csrf" value="c">
            <input type="text" name="otp" autocomplete="one-time-code"><button type="submit">Verify</button></form>"#;
        let url = url::Url::parse("https://idp.example.test/second-factor?interaction=i").unwrap();
        let PageAction::SecondFactor(submit) = on_page(&url, page, "https://rp.example.test/cb", &with_totp).unwrap() else {
            panic!("a second factor")
        };
        let fields: BTreeMap<String, String> = submit.fields.into_iter().collect();
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["csrf", "otp"]);
        assert_eq!(fields["otp"].len(), 6);
        let plain = alice();
        let without = Credentials { user: Some(&plain), ..creds(&config, &extra) };
        let e = on_page(&url, page, "https://rp.example.test/cb", &without).err().expect("no secret");
        assert!(e.contains("totp_secret_env"), "{e}");
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    /// What the driver does on `html` at https://id.test/login with the default settings.
    fn act(html: &str) -> PageAction {
        let (config, extra, user) = (LoginConfig::default(), BTreeMap::new(), alice());
        let creds = Credentials { user: Some(&user), ..creds(&config, &extra) };
        on_page(&url::Url::parse("https://id.test/login?x=1").unwrap(), html, "https://rp.test/cb", &creds).unwrap()
    }

    fn submitted(action: PageAction) -> (&'static str, Submit) {
        match action {
            PageAction::Login { submit, .. } => ("login", submit),
            PageAction::SecondFactor(submit) => ("second factor", submit),
            PageAction::Identify { submit, .. } => ("identify", submit),
            PageAction::Continue(submit) => ("continue", submit),
            PageAction::ToClient(_) => panic!("to the client"),
            PageAction::Navigate(to) => panic!("navigates to {to}"),
            PageAction::Stuck => panic!("stuck"),
        }
    }

    #[test]
    fn a_standard_login_form_needs_no_configuration() {
        let f = form(
            r#"<form method="post" action="/login"><input type="hidden" name="csrf" value="t"><input type="email" name="identifier"><input type="password" name="secret"><button>Sign in</button></form>"#,
        );
        let (config, extra) = (LoginConfig::default(), BTreeMap::new());
        let (fields, _) = login_fields(&f, &alice(), &creds(&config, &extra)).unwrap();
        assert_eq!(fields, pairs(&[("csrf", "t"), ("identifier", "alice"), ("secret", "pw")]));
    }

    #[test]
    fn the_username_field_is_found_by_name_among_several() {
        let f = form(r#"<form method="post"><input name="tenant"><input name="login"><input type="password" name="pw"></form>"#);
        let (config, extra) = (LoginConfig::default(), BTreeMap::new());
        assert!(login_fields(&f, &alice(), &creds(&config, &extra)).unwrap().0.contains(&("login".into(), "alice".into())));
        let ambiguous = form(r#"<form><input name="a"><input name="b"><input type="password" name="pw"></form>"#);
        assert!(login_fields(&ambiguous, &alice(), &creds(&config, &extra)).unwrap_err().contains("login.username_field"));
        // A one-time code is never the username.
        let otp = form(r#"<form><input name="code" autocomplete="one-time-code"><input name="u"><input type="password" name="pw"></form>"#);
        assert_eq!(username_field(&otp, &creds(&config, &extra)).unwrap().as_deref(), Some("u"));
    }

    #[test]
    fn the_approve_button_is_chosen_over_deny() {
        let f = form(
            r#"<form method="post"><button name="decision" value="deny">Deny</button><button name="decision" value="approve">Allow</button></form>"#,
        );
        let button = approve_button(&f, &LoginConfig::default()).unwrap().unwrap();
        assert_eq!((button.name.as_deref(), button.value.as_str()), (Some("decision"), "approve"));
        let custom = LoginConfig { approve_button: Some("Deny".into()), ..Default::default() };
        assert_eq!(approve_button(&f, &custom).unwrap().unwrap().value, "deny");
        let unclear = form(r#"<form><button name="x" value="1">A</button><button name="x" value="2">B</button></form>"#);
        assert!(approve_button(&unclear, &LoginConfig::default()).unwrap_err().contains("login.approve_button"));
    }

    #[test]
    fn only_the_clicked_button_is_sent_and_its_formaction_and_formmethod_win() {
        let page = r#"<form method="get" action="/old"><input type="hidden" name="csrf" value="t">
            <button name="decision" value="deny">Deny</button>
            <button name="decision" value="approve" formaction="/consent" formmethod="POST">Allow</button></form>"#;
        let (kind, submit) = submitted(act(page));
        assert_eq!(kind, "continue");
        assert_eq!((submit.action.as_str(), submit.post), ("https://id.test/consent", true));
        assert_eq!(submit.fields, pairs(&[("csrf", "t"), ("decision", "approve")]));
        // A login is submitted with its default (first) button, in tree order.
        let login = r#"<form method="post"><input name="user"><button name="go" value="1">Sign in</button>
            <button name="go" value="2" formaction="/elsewhere">Other</button><input type="password" name="pw"></form>"#;
        let (_, submit) = submitted(act(login));
        assert_eq!(submit.action.as_str(), "https://id.test/login?x=1", "no action: the page's URL");
        assert_eq!(submit.fields, pairs(&[("user", "alice"), ("go", "1"), ("pw", "pw")]));
    }

    #[test]
    fn selects_textareas_checkboxes_and_radios_are_sent_as_a_browser_sends_them() {
        let f = form(
            r#"<form><select name="tenant"><option value="a">A</option><option value="b" selected>B</option></select>
            <select name="region"><option>  Europe   West </option><option>US</option></select>
            <select name="tags" multiple><option selected>x</option><option>y</option><option value="z" selected>Z</option></select>
            <select name="none" multiple><option>q</option></select>
            <textarea name="note">two
lines</textarea>
            <input type="checkbox" name="remember" value="yes"><input type="checkbox" name="terms" checked>
            <input type="radio" name="method" value="otp"><input type="radio" name="method" value="pwd" checked></form>"#,
        );
        let expected = [
            ("tenant", "b"),
            ("region", "Europe West"),
            ("tags", "x"),
            ("tags", "z"),
            ("note", "two\nlines"),
            ("terms", "on"),
            ("method", "pwd"),
        ];
        assert_eq!(f.fields(&[], None), pairs(&expected));
    }

    #[test]
    fn disabled_controls_and_buttons_that_do_not_submit_are_never_sent() {
        let f = form(
            r#"<form><input name="a" value="1" disabled><select name="s" disabled><option>x</option></select>
            <fieldset disabled><legend><input name="in-legend" value="2"></legend><input name="in-set" value="3"></fieldset>
            <select name="o"><option disabled>no</option><option>yes</option></select>
            <input type="image" name="img" src="x.png"><input type="button" name="b" value="x"><input type="reset" name="r" value="x">
            <button type="button" name="show" value="1">Show</button><button type="reset" name="clear">Clear</button>
            <button disabled name="off" value="1">Off</button><input type="submit" name="go" value="Go"></form>"#,
        );
        assert_eq!(f.fields(&[], f.default_button()), pairs(&[("in-legend", "2"), ("o", "yes"), ("go", "Go")]));
    }

    #[test]
    fn several_forms_the_one_with_the_password_is_the_login_form() {
        let page = r#"<form action="/lang"><select name="lang"><option>en</option></select><button>Change language</button></form>
            <form action="/search" role="search"><input type="search" name="q"><button>Search</button></form>
            <form method="post" action="/login"><input type="hidden" name="csrf" value="t"><input name="username"><input type="password" name="password"><button>Sign in</button></form>
            <form method="post" action="/forgot"><input type="email" name="email"><button>Reset password</button></form>"#;
        let (kind, submit) = submitted(act(page));
        assert_eq!((kind, submit.action.as_str()), ("login", "https://id.test/login"));
        assert_eq!(submit.fields, pairs(&[("csrf", "t"), ("username", "alice"), ("password", "pw")]));
    }

    #[test]
    fn several_forms_the_identifier_and_consent_forms_are_chosen_by_their_fields() {
        let others = r#"<form action="/lang"><select name="lang"><option>en</option></select><button>Change language</button></form>
            <form action="/search"><input name="q"><button>Search</button></form>"#;
        let forgot = r#"<form method="post" action="/forgot"><input type="email" name="email"><button>Reset password</button></form>"#;
        let identifier =
            format!(r#"{others}<form method="post" action="/id"><input name="username" value="al"><button>Next</button></form>{forgot}"#);
        match act(&identifier) {
            PageAction::Identify { submit, prefilled_username } => {
                assert_eq!((submit.action.as_str(), prefilled_username.as_deref()), ("https://id.test/id", Some("al")));
                assert_eq!(submit.fields, pairs(&[("username", "alice")]));
            }
            _ => panic!("not the identifier step"),
        }
        let consent = format!(
            r#"{others}<form method="post" action="/consent"><button name="d" value="deny">Deny</button><button name="d" value="approve">Allow</button></form>"#
        );
        let (kind, submit) = submitted(act(&consent));
        assert_eq!((kind, submit.action.as_str()), ("continue", "https://id.test/consent"));
        // A search box or a reset form alone is no identifier page.
        assert!(matches!(act(others), PageAction::Stuck));
        assert!(matches!(act(forgot), PageAction::Stuck), "nor is a lone password-reset form a consent page");
        let lone = r#"<form method="post" action="/next?locale=de"><input type="hidden" name="t" value="1"><button>OK</button></form>"#;
        assert!(matches!(act(lone), PageAction::Continue(_)), "a lone form of no other purpose is submitted");
    }

    #[test]
    fn an_identifier_first_page_is_not_a_login() {
        let page = r#"<form method="post" action="/login"><input type="hidden" name="step" value="identifier"><input type="text" name="username" autocomplete="username"><button type="submit">Next</button></form>"#;
        match act(page) {
            PageAction::Identify { submit, prefilled_username } => {
                assert_eq!(submit.fields, pairs(&[("step", "identifier"), ("username", "alice")]));
                assert_eq!(prefilled_username, None);
            }
            _ => panic!("not the identifier step"),
        }
        // A lone text input that does not say it is the username is not taken for one.
        assert!(matches!(
            act(r#"<form method="post"><input name="q1"><button name="x" value="1">Go</button></form>"#),
            PageAction::Continue(_)
        ));
    }

    #[test]
    fn a_re_authentication_page_gets_the_password_only() {
        let page = r#"<p>Signed in as <b>alice</b></p><form method="post" action="/login"><input type="hidden" name="username" value="alice">
            <input type="email" name="account" value="alice@example.test" readonly><input type="password" name="password"><button>Continue</button></form>"#;
        let (kind, submit) = submitted(act(page));
        assert_eq!(kind, "login");
        assert_eq!(submit.fields, pairs(&[("username", "alice"), ("account", "alice@example.test"), ("password", "pw")]));
        // The same with a configured username field the page does not show as editable.
        let (config, extra) = (LoginConfig { username_field: Some("username".into()), ..Default::default() }, BTreeMap::new());
        let f = form(page);
        assert_eq!(login_fields(&f, &alice(), &creds(&config, &extra)).unwrap().0, submit.fields);
    }

    #[test]
    fn html_in_any_letter_case_and_quoting_is_read() {
        let page = r#"<FORM METHOD=POST ACTION='/Login' ID=login><INPUT TYPE='HIDDEN' NAME=csrf VALUE='a b'>
            <INPUT TYPE=Text NAME=user><INPUT TYPE='password' NAME=pw><BUTTON TYPE=SUBMIT NAME=go VALUE=1>Sign in</BUTTON></FORM>"#;
        let (kind, submit) = submitted(act(page));
        assert_eq!((kind, submit.action.as_str(), submit.post), ("login", "https://id.test/Login", true));
        assert_eq!(submit.fields, pairs(&[("csrf", "a b"), ("user", "alice"), ("pw", "pw"), ("go", "1")]));
    }

    #[test]
    fn a_meta_refresh_is_followed_when_no_form_continues() {
        for (meta, to) in [
            (r#"<meta http-equiv="refresh" content="0; url=/next?a=1">"#, "https://id.test/next?a=1"),
            (r#"<META HTTP-EQUIV=Refresh CONTENT="0;URL='step2'">"#, "https://id.test/step2"),
            (r#"<meta http-equiv='REFRESH' content='3, https://other.test/x'>"#, "https://other.test/x"),
            (r#"<meta http-equiv="refresh" content=" 1.5 ; Url = &quot;/q&quot; ">"#, "https://id.test/q"),
        ] {
            match act(&format!("<html><head>{meta}</head><body>Redirecting</body></html>")) {
                PageAction::Navigate(url) => assert_eq!(url.as_str(), to, "{meta}"),
                _ => panic!("{meta} not followed"),
            }
        }
        for reload in [r#"<meta http-equiv="refresh" content="5">"#, r#"<meta http-equiv="refresh" content="url=/x">"#] {
            assert!(matches!(act(reload), PageAction::Stuck), "{reload}");
        }
        // A form that continues wins over the refresh.
        let both = r#"<meta http-equiv="refresh" content="0; url=/x"><form method="post" action="/c"><button name="ok" value="1">Continue</button></form>"#;
        assert_eq!(submitted(act(both)).1.action.as_str(), "https://id.test/c");
        assert_eq!(refresh_target("0; url=\"/a b\" x").as_deref(), Some("/a b"));
    }
}
