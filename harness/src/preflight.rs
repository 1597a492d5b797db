//! Preflight for a deployment: before any check runs, prove the set-up the selected suites need
//! (the target answers, the test user can log in, the clients are registered and their
//! credentials accepted), so a configuration mistake is one sentence naming the setting to fix
//! (exit 2), never a hundred failed checks.

use crate::engine::Suite;
use crate::limits;
use crate::suites::flow::{code_authorization, redeem, token};
use crate::suites::{self, Context};
use crate::target::{AuthMethod, Registration};
use anyhow::{Context as _, bail};

/// The target answers at all: an issuer that is not a URL, or a host that does not answer,
/// makes every check meaningless. Sent by the context's own client, so the preflight trusts
/// what the checks trust (`--ca-file`) and reads no more than they do.
pub async fn reach(ctx: &Context) -> anyhow::Result<()> {
    let issuer = &ctx.issuer;
    let url = url::Url::parse(issuer).with_context(|| format!("--target `{issuer}` is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--target `{issuer}` must be an http or https issuer URL");
    }
    let discovery = ctx.discovery_url();
    if let Err(exchange) = ctx.http.send(ctx.http.get(&discovery)).await {
        let why = exchange.error.unwrap_or_default();
        if !nothing_answers(&why) {
            // A server that answers too slowly or hangs up is the deployment's failure: the
            // discovery checks report it, with evidence, in a report (exit 1).
            return Ok(());
        }
        // A certificate problem names its own fix (--ca-file); anything else is the URL's.
        let fix = if why.contains("--ca-file") { "" } else { "; check --target" };
        bail!("cannot reach the target's discovery document {discovery}: {why}{fix}");
    }
    Ok(())
}

/// Whether a transport error means nothing answers at `--target` (refused, no such host, a
/// certificate not trusted): a setting to fix, not a verdict on the deployment.
fn nothing_answers(why: &str) -> bool {
    // Words of `engine::net_error::describe`: anything else (a hang, a reset, invalid HTTP) is
    // an answer of sorts, for the discovery checks to judge.
    why.starts_with("connection refused") || why.starts_with("cannot resolve") || why.starts_with("certificate of")
}

/// Whether a suite drives a browser through a login (discovery, the JWKS and client credentials
/// need none).
pub fn needs_login(suite: &str) -> bool {
    ![suites::discovery::NAME, suites::jwks::NAME, suites::client_credentials::NAME].contains(&suite)
}

/// Proves the login and the clients the selected suites need, with discovery read for it (a
/// problem is printed; without a document there is nothing to prove, and the discovery checks
/// say why). The metadata is cleared afterwards: the discovery suite reads it again with its
/// own evidence.
pub async fn set_up(ctx: &mut Context, selected: &[Suite]) -> anyhow::Result<()> {
    if let Err(why) = ctx.fetch_metadata().await {
        eprintln!("conform: discovery: {}; the discovery checks will say what is wrong", limits::cut(&why, limits::STDERR_DETAIL_BYTES));
    }
    let proven = prove(ctx, selected).await;
    ctx.metadata = None;
    proven
}

async fn prove(ctx: &Context, selected: &[Suite]) -> anyhow::Result<()> {
    if ctx.metadata.is_none() {
        return Ok(());
    }
    credential_endpoints(ctx)?;
    if selected.iter().any(|s| needs_login(&s.name)) {
        login(ctx, selected).await?;
    }
    if selected.iter().any(|s| s.name == suites::client_credentials::NAME) {
        service_client(ctx).await?;
    }
    Ok(())
}

/// The endpoints that receive client secrets are on the provider's origins: a discovery
/// document naming another origin would otherwise have every request carrying a secret refused.
pub fn credential_endpoints(ctx: &Context) -> anyhow::Result<()> {
    let t = &ctx.target;
    let has_client_secret = [&t.confidential, &t.other_confidential, &t.public, &t.implicit, &t.service]
        .into_iter()
        .flatten()
        .chain(t.integrations.values().filter_map(|r| r.as_ref().ok()))
        .any(|r| r.secret.is_some() && r.auth_method != AuthMethod::None);
    if !has_client_secret {
        return Ok(());
    }
    let origins = ctx.provider_origins();
    for member in ["token_endpoint", "revocation_endpoint", "introspection_endpoint"] {
        let Some(url) = ctx.endpoint(member).and_then(|e| url::Url::parse(e).ok()) else { continue };
        let origin = url.origin().ascii_serialization();
        if !origins.contains(&origin) {
            bail!(
                "discovery's {member} {url} is not on the issuer's origin, and client secrets go nowhere else: list {origin} in \
                 `origins` in the target file if it belongs to the provider"
            );
        }
    }
    Ok(())
}

/// The first registration a login can be proven with, where the target file has it, and whether
/// it signs in with the implicit flow: a client role (the code flow), else the registration of a
/// selected integration pack (a target file written for `certify` may have nothing else), with
/// the pack's flow.
fn login_client<'a>(ctx: &'a Context, selected: &[Suite]) -> Option<(String, &'a Registration, bool)> {
    let t = &ctx.target;
    let role = [("confidential", &t.confidential), ("public", &t.public), ("implicit", &t.implicit)]
        .into_iter()
        .find_map(|(role, reg)| reg.as_ref().filter(|r| r.redirect_uri.is_some()).map(|r| (format!("clients.{role}"), r, false)));
    role.or_else(|| {
        let packs = crate::integration::packs();
        selected.iter().find_map(|suite| {
            // A login that needs the RP's id_token_hint is for the pack to judge, not a setup step.
            let pack = packs.iter().find(|p| p.suite_name() == suite.name && p.request.id_token_hint.is_none())?;
            let reg = t.integrations.get(&pack.integration)?.as_ref().ok().filter(|r| r.redirect_uri.is_some())?;
            let implicit = pack.request.response_type == crate::integration::ResponseType::IdToken;
            Some((format!("integrations.{}", pack.integration), reg, implicit))
        })
    })
}

/// An implicit login (`response_type=id_token`, OIDC Core §3.2.2.1) must reach the client with
/// an ID token.
async fn implicit_login(ctx: &Context, client: &str, reg: &Registration) -> anyhow::Result<()> {
    let (state, nonce) = (crate::suites::flow::random("s", 24), crate::suites::flow::random("n", 24));
    let params = [("response_type", "id_token"), ("scope", "openid"), ("state", state.as_str()), ("nonce", nonce.as_str())];
    let done = match crate::suites::flow::authorized(ctx, &ctx.http.browser(), reg, &params).await {
        Ok(done) => done,
        Err((why, _)) => bail!("login preflight with {client}: {}", ctx.http.redactor().text(&login_failure(&why))),
    };
    if !done.arrival.params.contains_key("id_token") {
        let error = done.arrival.params.get("error").map_or("no id_token and no error".to_string(), |e| format!("error={e}"));
        bail!(
            "login preflight with {client}: the client received {error} instead of an id_token: check the client's client_id and \
             redirect_uri in the target file, and that the client may use the implicit flow"
        );
    }
    Ok(())
}

/// One real login, submitted: the authorization request of the first client with a redirect URI
/// must reach that client with a code, and a confidential client's code must be redeemable.
async fn login(ctx: &Context, selected: &[Suite]) -> anyhow::Result<()> {
    let Some((table, reg, implicit)) = login_client(ctx, selected) else { return Ok(()) };
    let client = format!("{table} (client_id {})", reg.client_id);
    if implicit {
        return implicit_login(ctx, &client, reg).await;
    }
    let browser = ctx.http.browser();
    let auth = match code_authorization(ctx, &browser, reg, "openid", &[]).await {
        Ok(auth) => auth,
        // Driver errors may quote a raw URL or form action: redacted like every detail.
        Err((why, _)) => bail!("login preflight with {client}: {}", ctx.http.redactor().text(&login_failure(&why))),
    };
    let params = &auth.done.arrival.params;
    let Some(code) = params.get("code") else {
        let error = params.get("error").map_or("no code and no error".to_string(), |e| format!("error={e}"));
        let description = params.get("error_description").map(|d| format!(" ({})", ctx.http.redactor().text(d))).unwrap_or_default();
        bail!(
            "login preflight with {client}: the client received {error}{description} instead of a code: check the client's client_id, \
             redirect_uri and [authorize.extra] in the target file, and that the client may use the authorization code flow"
        );
    };
    if reg.auth_method == AuthMethod::None {
        return Ok(());
    }
    if let Ok(response) = redeem(ctx, reg, code, Some(&auth.verifier)).await
        && refused_the_client(&response)
    {
        bail!(
            "login preflight with {client}: the token endpoint refused the client's credentials ({}): check {table}.secret_env \
             and auth_method in the target file",
            suites::answered(&response)
        );
    }
    Ok(())
}

/// A driver failure in words that name the setting to fix.
fn login_failure(why: &str) -> String {
    if why.contains("came back after the credentials were submitted") {
        return "the test user could not log in (the login form came back after the credentials were submitted): check [user] username \
                and the password in its password_env, or name the login form's fields in [login]"
            .to_string();
    }
    if why.contains("after the login script ran") {
        return format!("the test user could not log in ({why}); check [user] username and the password in its password_env");
    }
    if why.starts_with("the browser got status 4") {
        return format!(
            "{why}: an unknown client_id or an unregistered redirect_uri is shown as an error page; check them in the target file"
        );
    }
    why.to_string()
}

/// A client-credentials request for the service client: an `invalid_client` answer means the
/// registration or its secret is wrong.
async fn service_client(ctx: &Context) -> anyhow::Result<()> {
    let Some(reg) = &ctx.target.service else { return Ok(()) };
    if ctx.endpoint("token_endpoint").is_none() {
        return Ok(());
    }
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = reg.scope.as_deref() {
        form.push(("scope", scope));
    }
    if let Ok(response) = token(ctx, reg, &form).await
        && refused_the_client(&response)
    {
        bail!(
            "preflight with clients.service (client_id {}): the token endpoint refused the client's credentials ({}): check \
             clients.service.client_id, secret_env and auth_method in the target file",
            reg.client_id,
            suites::answered(&response)
        );
    }
    Ok(())
}

/// RFC 6749 §5.2: `invalid_client` (or a 401) is the client's authentication failing.
fn refused_the_client(response: &crate::engine::http::Response) -> bool {
    response.status == 401 || suites::error_code(response).as_deref() == Some("invalid_client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_password_names_the_user_settings() {
        let why = login_failure("the login form came back after the credentials were submitted: wrong password, or ...");
        assert!(why.contains("[user]") && why.contains("password_env"), "{why}");
        assert!(login_failure("the browser got status 400 at https://id.test/authorize").contains("redirect_uri"));
    }

    #[test]
    fn a_slow_or_hanging_target_is_judged_and_an_absent_one_is_a_setting() {
        assert!(nothing_answers("connection refused at 127.0.0.1:1"));
        assert!(nothing_answers("certificate of id.test:443 not trusted: unknown issuer; pass --ca-file"));
        assert!(!nothing_answers("timed out: 127.0.0.1:9 did not send a whole response within 15 s"));
        assert!(!nothing_answers("connection reset by 127.0.0.1:9"));
        assert!(!nothing_answers("error sending request: connection closed before message completed"));
        assert!(nothing_answers("cannot resolve the host name of id.invalid:443"));
    }

    #[test]
    fn suites_without_a_browser_need_no_login() {
        assert!(!needs_login(suites::discovery::NAME) && !needs_login(suites::client_credentials::NAME));
        assert!(needs_login(suites::code_flow::NAME));
    }
}
