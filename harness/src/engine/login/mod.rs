//! The login driver: drives a browser from the authorization request to the client's redirect
//! URI through whatever login and consent pages the target shows, exactly as a person would.
//! HTML pages are read by `forms` (no configuration for a standard login page); a login page
//! that is a script is passed with the target's login script (`script`), run wherever the
//! browser needs a login.

mod forms;
mod script;

use super::http::{Recorder, Response};
use crate::target::{LoginConfig, Secret, TestUser};
use forms::PageAction;
use reports::Exchange;
use std::collections::BTreeMap;

/// At most this many pages and redirects between the authorization request and the client.
const MAX_STEPS: usize = 16;

/// Whether the driver can see what the login page prefilled as the username: on an HTML form
/// always, through a login script only when it captures `prefilled_username`.
pub fn sees_prefilled_username(config: &LoginConfig) -> bool {
    config.steps.is_empty()
        || config.capture.contains_key(script::PREFILLED)
        || config.steps.iter().any(|s| s.capture.contains_key(script::PREFILLED))
}

/// Where the browser arrived at the client, and how the parameters were delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Logins on the way, by form or script (0 when an existing session sufficed).
    pub logins: usize,
    /// What the first login form had prefilled in its username field (`login_hint` shows here).
    pub prefilled_username: Option<String>,
}

/// Who logs in, and how: the test user, the target's login settings, and the origins the
/// password may be sent to.
pub struct Credentials<'a> {
    pub user: Option<&'a TestUser>,
    pub config: &'a LoginConfig,
    pub extra: &'a BTreeMap<String, Secret>,
    /// The issuer's origin and the target's other `origins`: the only places a password goes.
    pub origins: Vec<String>,
}

impl Credentials<'_> {
    /// The driver stays on the provider: a navigation elsewhere (another client's redirect URI
    /// with an error or a code, a relying party's page) is evidence, never followed, so nothing
    /// is sent to a host that is not the provider's.
    fn on_provider(&self, to: &url::Url, what: &str) -> Result<(), String> {
        let origin = to.origin().ascii_serialization();
        if self.origins.contains(&origin) {
            return Ok(());
        }
        Err(format!(
            "{what} to {origin}, outside the provider: not followed (list it in `origins` in the target file if it belongs to the provider)"
        ))
    }

    /// Whether the password may be sent to `url`: on one of the provider's origins, and never
    /// from https down to http.
    fn may_receive_password(&self, url: &url::Url, from: &url::Url) -> Result<(), String> {
        let origin = url.origin().ascii_serialization();
        if !self.origins.contains(&origin) {
            return Err(format!(
                "the login would send the password to {origin}, which is neither the issuer's origin nor listed in `origins` in the target file"
            ));
        }
        if from.scheme() == "https" && url.scheme() == "http" {
            return Err(format!("the login would send the password from an https page down to http ({origin})"));
        }
        Ok(())
    }
}

/// The authorization request the browser is on its way through: its URL (a POST request's
/// parameters in the query), to re-request after a scripted login and for the placeholders.
pub struct Pending {
    pub url: url::Url,
}

impl Pending {
    pub fn param(&self, name: &str) -> Option<String> {
        self.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    fn redirect_uri(&self) -> String {
        self.param("redirect_uri").unwrap_or_default()
    }
}

/// Follows the browser from `start` (the authorization request `pending` describes) until it is
/// sent to the client's redirect URI.
pub async fn drive(browser: &Recorder, start: reqwest::RequestBuilder, pending: &Pending, creds: &Credentials<'_>) -> Drive {
    let mut exchanges = Vec::new();
    let mut seen = Seen::default();
    let result = walk(browser, start, pending, creds, &mut exchanges, &mut seen).await;
    Drive { result, exchanges, logins: seen.logins, prefilled_username: seen.prefilled_username }
}

/// Where the browser goes next: a request to send, or an answer the login script already got.
enum Next {
    Send(reqwest::RequestBuilder),
    Answered(Response),
    /// The login script sent the browser to the client (a captured `redirect_to` that is the
    /// redirect URI): the response arrives there, and nothing is sent to the client's host.
    Arrived(Arrival),
}

async fn walk(
    browser: &Recorder,
    start: reqwest::RequestBuilder,
    pending: &Pending,
    creds: &Credentials<'_>,
    exchanges: &mut Vec<Exchange>,
    seen: &mut Seen,
) -> Result<Arrival, String> {
    let redirect_uri = pending.redirect_uri();
    let mut next = Next::Send(start);
    for _ in 0..MAX_STEPS {
        let response = match next {
            Next::Arrived(arrival) => return Ok(arrival),
            Next::Answered(response) => response,
            Next::Send(request) => match browser.send(request).await {
                Ok(r) => {
                    exchanges.push(r.exchange.clone());
                    r
                }
                Err(exchange) => {
                    let why = exchange.error.clone().unwrap_or_default();
                    exchanges.push(exchange);
                    return Err(format!("no response: {why}"));
                }
            },
        };
        // Navigation goes from the real URL, never from the redacted copy in the evidence.
        let here = url::Url::parse(&response.url).map_err(|e| format!("the page has no URL: {e}"))?;
        if (300..400).contains(&response.status) {
            let location = response.header("location").ok_or_else(|| format!("{} redirect without Location", response.status))?;
            let to = here.join(location).map_err(|e| format!("bad Location {location}: {e}"))?;
            match hop(&here, to, &redirect_uri, "redirected", creds)? {
                Hop::Client(arrival) => return Ok(arrival),
                Hop::Page(to) => next = Next::Send(browser.get(to.as_str())),
            }
            continue;
        }
        if response.status != 200 {
            return Err(format!("the browser got status {} at {}", response.status, response.exchange.url));
        }
        crate::engine::html::check_page(&response)?;
        let scripted = !creds.config.steps.is_empty();
        let action = match &creds.config.script_at {
            Some(at) if scripted && at.is_match(here.as_str()) => PageAction::Stuck,
            _ => forms::on_page(&here, &response.body, &redirect_uri, creds)?,
        };
        match action {
            PageAction::ToClient(params) => return Ok(Arrival { params, delivery: Delivery::FormPost }),
            PageAction::Stuck if scripted => {
                if seen.logins > 0 {
                    return Err(format!(
                        "the browser came back to a login page ({}) after the login script ran: check login.step and the test user",
                        response.exchange.url
                    ));
                }
                seen.logins += 1;
                let (after, prefilled) = script::run(browser, &response, pending, creds, exchanges).await?;
                seen.show_username(prefilled);
                next = after;
            }
            PageAction::Stuck => return Err(format!("the page at {} has no form to continue with", response.exchange.url)),
            PageAction::Login { submit, prefilled_username } => {
                if seen.logins > 0 {
                    return Err(
                        "the login form came back after the credentials were submitted: wrong password, or a field the driver did not fill \
                         (set login.username_field, login.password_field or login.extra_field_env in the target file)"
                            .into(),
                    );
                }
                creds.may_receive_password(&submit.action, &here)?;
                seen.logins += 1;
                seen.show_username(prefilled_username);
                next = Next::Send(submit.request(browser));
            }
            PageAction::SecondFactor(submit) => {
                if seen.codes > 0 {
                    return Err(format!(
                        "the one-time code page came back ({}) after the code was submitted: check that user.totp_secret_env holds \
                         the test user's TOTP secret, and this machine's clock",
                        response.exchange.url
                    ));
                }
                // The code goes where the password would: the provider's origins only.
                creds.may_receive_password(&submit.action, &here)?;
                seen.codes += 1;
                next = Next::Send(submit.request(browser));
            }
            PageAction::Identify { submit, prefilled_username } => {
                if seen.logins > 0 || seen.identified {
                    return Err(format!(
                        "the username page came back ({}) after the {} submitted: check the test user's username and login.username_field",
                        response.exchange.url,
                        if seen.logins > 0 { "credentials were" } else { "username was" }
                    ));
                }
                // The username goes where the password will follow: the same origins only.
                creds.may_receive_password(&submit.action, &here)?;
                seen.identified = true;
                seen.show_username(prefilled_username);
                next = Next::Send(submit.request(browser));
            }
            PageAction::Continue(submit) => {
                creds.on_provider(&submit.action, "a form on the page posts")?;
                next = Next::Send(submit.request(browser));
            }
            PageAction::Navigate(to) => match hop(&here, to, &redirect_uri, "refreshed", creds)? {
                Hop::Client(arrival) => return Ok(arrival),
                Hop::Page(to) => next = Next::Send(browser.get(to.as_str())),
            },
        }
    }
    Err(format!("gave up after {MAX_STEPS} pages and redirects without reaching the client"))
}

/// Where a redirect or a meta refresh takes the browser.
enum Hop {
    /// To the client: the response has arrived.
    Client(Arrival),
    /// To another page.
    Page(url::Url),
}

/// Follows a redirect or refresh (`how`) from `here` to `to`, never from https down to http.
fn hop(here: &url::Url, to: url::Url, redirect_uri: &str, how: &str, creds: &Credentials<'_>) -> Result<Hop, String> {
    if is_client(&to, redirect_uri) {
        return Ok(Hop::Client(arrival_from_url(&to)));
    }
    creds.on_provider(&to, &format!("the server {how} the browser"))?;
    if here.scheme() == "https" && to.scheme() == "http" {
        return Err(format!(
            "the server {how} from https down to http ({}): the driver does not follow",
            to.origin().ascii_serialization()
        ));
    }
    Ok(Hop::Page(to))
}

impl forms::Submit {
    fn request(self, browser: &Recorder) -> reqwest::RequestBuilder {
        if self.post {
            browser.post(self.action.as_str()).form(&self.fields)
        } else {
            let mut url = self.action;
            url.query_pairs_mut().clear().extend_pairs(&self.fields);
            browser.get(url.as_str())
        }
    }
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
    /// One-time codes submitted on second-factor pages.
    codes: usize,
    /// An identifier-first login's username step was submitted.
    identified: bool,
    /// The username field of the first page that showed one has been read.
    username_shown: bool,
    prefilled_username: Option<String>,
}

impl Seen {
    /// `login_hint` is judged on the first page that shows the username: a later page (the
    /// password step of an identifier-first login) shows what the driver typed.
    fn show_username(&mut self, prefilled: Option<String>) {
        if !self.username_shown {
            self.username_shown = true;
            self.prefilled_username = prefilled;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_in_the_query_or_fragment_are_read() {
        let q = arrival_from_url(&url::Url::parse("https://rp.test/cb?code=c&state=s").unwrap());
        assert_eq!((q.delivery, q.params["code"].as_str()), (Delivery::Query, "c"));
        let f = arrival_from_url(&url::Url::parse("https://rp.test/cb#id_token=t&state=s").unwrap());
        assert_eq!((f.delivery, f.params["id_token"].as_str()), (Delivery::Fragment, "t"));
        assert!(is_client(&url::Url::parse("https://rp.test/cb?x=1#y").unwrap(), "https://rp.test/cb"));
        assert!(!is_client(&url::Url::parse("https://rp.test/cb2").unwrap(), "https://rp.test/cb"));
    }

    #[test]
    fn the_password_goes_only_to_the_providers_origins_and_never_down_to_http() {
        let (config, extra) = (LoginConfig::default(), BTreeMap::new());
        let creds = Credentials { user: None, config: &config, extra: &extra, origins: vec!["https://id.example.test".into()] };
        let page = url::Url::parse("https://id.example.test/login").unwrap();
        assert!(creds.may_receive_password(&url::Url::parse("https://id.example.test/login").unwrap(), &page).is_ok());
        let foreign = creds.may_receive_password(&url::Url::parse("https://evil.test/steal").unwrap(), &page).unwrap_err();
        assert!(foreign.contains("https://evil.test") && foreign.contains("`origins`"), "{foreign}");
        let creds = Credentials { origins: vec!["https://id.example.test".into(), "http://id.example.test".into()], ..creds };
        let down = creds.may_receive_password(&url::Url::parse("http://id.example.test/login").unwrap(), &page).unwrap_err();
        assert!(down.contains("down to http"), "{down}");
    }
}
