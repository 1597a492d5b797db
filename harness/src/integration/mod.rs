//! Integration packs (`scenarios/integrations/*.toml`): a relying party vendors certify their
//! provider against, as data. A pack says what the RP sends (its authorization request, how it
//! authenticates at the token endpoint, what it calls afterwards) and which rules it applies to
//! what comes back, each rule a named, cited check from the vocabulary `Test` implements. The
//! engine emulates the RP on the wire (`run`), then judges every rule. docs/INTEGRATIONS.md
//! describes the packs and the format.

mod run;

pub use run::run;

use crate::engine::id_token::Rule;
use crate::engine::login::Delivery;
use crate::engine::{Check, Suite};
use reports::Severity;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Suite names of packs: `integration:NAME` (`conform --suite integration:salesforce`).
pub const PREFIX: &str = "integration:";

/// The packs, embedded so the binary works from any directory; `certify --list` order.
const FILES: [(&str, &str); 6] = [
    ("scenarios/integrations/entra-eam.toml", include_str!("../../../scenarios/integrations/entra-eam.toml")),
    ("scenarios/integrations/ca-custom-controls.toml", include_str!("../../../scenarios/integrations/ca-custom-controls.toml")),
    ("scenarios/integrations/salesforce.toml", include_str!("../../../scenarios/integrations/salesforce.toml")),
    ("scenarios/integrations/forgerock.toml", include_str!("../../../scenarios/integrations/forgerock.toml")),
    ("scenarios/integrations/connectwise-home.toml", include_str!("../../../scenarios/integrations/connectwise-home.toml")),
    ("scenarios/integrations/generic.toml", include_str!("../../../scenarios/integrations/generic.toml")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// The pack's name: `certify --integration NAME`, `[integrations.NAME]` in a target file.
    pub integration: String,
    /// The relying party, as its vendor names it.
    pub relying_party: String,
    /// The vendor's public documentation the rules come from.
    pub documentation: Vec<String>,
    /// The target file's client used when it has no `[integrations.NAME]` registration; none
    /// when the RP needs an application of its own (Microsoft Entra's trusts only its hints).
    pub client: Option<Role>,
    pub request: Request,
    #[serde(rename = "rule")]
    pub rules: Vec<PackRule>,
}

/// A client of the target file (`[clients.ROLE]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Confidential,
    OtherConfidential,
    Public,
    Implicit,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Confidential => "confidential",
            Role::OtherConfidential => "other_confidential",
            Role::Public => "public",
            Role::Implicit => "implicit",
        }
    }
}

/// What the RP sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub response_type: ResponseType,
    pub scope: String,
    /// How the browser reaches the authorization endpoint: a redirect (GET) or a form POST.
    #[serde(default)]
    pub method: Method,
    /// `response_mode`, when the RP sends one (`form_post`).
    pub response_mode: Option<String>,
    pub state: StateStyle,
    #[serde(default)]
    pub nonce: bool,
    /// An S256 code challenge (RFC 7636).
    #[serde(default)]
    pub pkce: bool,
    /// How the RP authenticates at the token endpoint; the registration's method when absent.
    pub client_auth: Option<crate::target::AuthMethod>,
    /// More authorization request parameters, sent as given.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// The registration's `resource` sent as `audience` (the profile's RFC 8707 alias).
    #[serde(default)]
    pub audience: bool,
    /// The RP reads UserInfo afterwards, with the access token in the Authorization header.
    pub userinfo: Option<UserinfoStyle>,
    /// The clock skew the RP allows on `exp` and `iat`; the engine's default otherwise.
    pub skew_secs: Option<u32>,
    /// The redirect URI the RP always sends (Microsoft Entra's is fixed); the registration's
    /// when absent.
    pub redirect_uri: Option<String>,
    /// An `id_token_hint` the RP sends naming the test user.
    pub id_token_hint: Option<HintStyle>,
    /// A Microsoft Conditional Access custom control: its name; its claims are the essential
    /// claims of `params.claims` (see `Pack::custom_control`).
    pub custom_control: Option<String>,
}

/// Who signs the `id_token_hint` the RP sends, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintStyle {
    /// Microsoft Entra ID's, emulated: RS256 by the published test key
    /// (`reference_server::entra::TEST_KEY_PEM`), `iss` the emulated tenant's v2.0 issuer, `aud`
    /// the client id, `preferred_username` the test user, and already expired, as Entra sends it.
    Entra,
}

impl Request {
    /// What the RP sends, in a few words per item, for the certification's header.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} to the authorization endpoint: response_type={}, scope={}{}",
            match self.method {
                Method::Get => "a redirect (GET)",
                Method::Post => "a browser form POST",
            },
            self.response_type.as_str(),
            self.scope,
            self.response_mode.as_ref().map(|m| format!(", response_mode={m}")).unwrap_or_default()
        )];
        out.push(format!(
            "state {}; {}; {}",
            match self.state {
                StateStyle::Opaque => "a long opaque value",
                StateStyle::Uuid => "a UUID",
            },
            if self.nonce { "a nonce" } else { "no nonce" },
            if self.pkce { "PKCE S256" } else { "no PKCE" }
        ));
        for (k, v) in &self.params {
            out.push(format!("{k}={v}"));
        }
        if self.audience {
            out.push("audience = the API's identifier (the registration's resource)".into());
        }
        if self.response_type == ResponseType::Code {
            let auth = self.client_auth.map_or("the registration's client authentication", |a| a.as_str());
            out.push(format!("the code redeemed at the token endpoint with {auth}"));
        }
        if self.userinfo.is_some() {
            out.push("UserInfo read with the access token in the Authorization header".into());
        }
        if let Some(uri) = &self.redirect_uri {
            out.push(format!("redirect_uri={uri}"));
        }
        if let Some(control) = &self.custom_control {
            out.push(format!(
                "the custom control \"{control}\" (its JSON for Entra: oidc-harness certify --custom-control-json --target ISSUER --target-config FILE)"
            ));
        }
        if self.id_token_hint == Some(HintStyle::Entra) {
            out.push(format!(
                "id_token_hint: RS256 by the emulated Microsoft Entra ID (issuer {}, the published test key), about the test user, \
                 already expired",
                reference_server::entra::test_issuer()
            ));
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    Code,
    IdToken,
}

impl ResponseType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Code => "code",
            ResponseType::IdToken => "id_token",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    #[default]
    Get,
    Post,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateStyle {
    /// A long random value (the RP's own encoding).
    Opaque,
    /// A UUID (RFC 9562 version 4).
    Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserinfoStyle {
    /// `Authorization: Bearer` (RFC 6750 §2.1).
    Header,
}

/// One rule the RP applies: a check of the report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackRule {
    pub id: String,
    pub title: String,
    pub spec: String,
    pub severity: Severity,
    pub check: Test,
    /// `token_response`, `discovery_has`: the members that must be there.
    #[serde(default)]
    pub members: Vec<String>,
    /// `id_token`: the standard rules the RP applies (`signature`, `alg`, `iss`, `aud`, `azp`,
    /// `exp`, `iat`, `nonce`, `auth_time`, `sub`, `at_hash`).
    #[serde(default)]
    pub claims: Vec<String>,
    /// `delivery`: how the response must reach the RP.
    pub delivery: Option<Delivery>,
    /// `discovery_values`: the discovery member whose list must hold `values`.
    pub member: Option<String>,
    /// `discovery_values`, `id_token_alg`: the values required.
    #[serde(default)]
    pub values: Vec<String>,
    /// `discovery_values`: the member is OPTIONAL, and judged only when present.
    #[serde(default)]
    pub if_present: bool,
}

/// The vocabulary of rules the engine implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The discovery document has every member of `members`.
    DiscoveryHas,
    /// The authorization response reaches the RP with what `response_type` asked for, not an
    /// error: the login as the RP sends it works. Every pack has this rule.
    Completes,
    /// `state` comes back unchanged.
    StateEchoed,
    /// The response arrived as `delivery` says (query, fragment, form_post).
    Delivery,
    /// The code is redeemed (200, a JSON object) and the body has `members`.
    TokenResponse,
    /// The ID token passes the standard rules named in `claims` (OIDC Core §3.1.3.7).
    IdToken,
    /// The ID token's `acr`, when present, is one of discovery's `acr_values_supported`.
    AcrSupported,
    /// The JWT access token's `aud` holds the audience the RP asked for.
    AccessTokenAudience,
    /// UserInfo answers the access token with a JSON object whose `sub` is the ID token's.
    Userinfo,
    /// The discovery URL the RP reads is https, without query or fragment, and answers with a
    /// `Content-Length`.
    DiscoveryUrl,
    /// The discovery list `member` holds every one of `values` (absent: judged only without
    /// `if_present`).
    DiscoveryValues,
    /// Every key of the JWKS carries an `x5c` certificate chain (RFC 7517 §4.7).
    JwksX5c,
    /// The ID token is signed with one of `values`.
    IdTokenAlg,
    /// The ID token's `sub` is the `id_token_hint`'s.
    HintSubject,
    /// The ID token has exactly one `acr`, one the RP's `claims` request asked for.
    AcrRequested,
    /// `amr` is a JSON array of exactly one method, one that satisfies the `acr` (Microsoft
    /// Entra's possession and inherence methods).
    AmrOneMethod,
    /// Every essential claim of the `claims` request is in the ID token with a requested value.
    ClaimsRequested,
    /// The same request with its `id_token_hint` signed by an untrusted key is refused (after the
    /// real one completed).
    HintVerified,
}

impl Test {
    /// The check's name in a pack file.
    pub fn name(self) -> &'static str {
        match self {
            Test::DiscoveryHas => "discovery_has",
            Test::Completes => "completes",
            Test::StateEchoed => "state_echoed",
            Test::Delivery => "delivery",
            Test::TokenResponse => "token_response",
            Test::IdToken => "id_token",
            Test::AcrSupported => "acr_supported",
            Test::AccessTokenAudience => "access_token_audience",
            Test::Userinfo => "userinfo",
            Test::DiscoveryUrl => "discovery_url",
            Test::DiscoveryValues => "discovery_values",
            Test::JwksX5c => "jwks_x5c",
            Test::IdTokenAlg => "id_token_alg",
            Test::HintSubject => "hint_subject",
            Test::AcrRequested => "acr_requested",
            Test::AmrOneMethod => "amr_one_method",
            Test::ClaimsRequested => "claims_requested",
            Test::HintVerified => "hint_verified",
        }
    }
}

impl Pack {
    /// The pack's suite: one check per rule.
    pub fn suite(&self) -> Suite {
        let checks: Vec<Check> = self.rules.iter().map(|r| Check::owned(&r.id, &r.title, &r.spec, r.severity)).collect();
        Suite { name: Cow::Owned(self.suite_name()), checks: Cow::Owned(checks) }
    }

    /// `integration:NAME`, the pack's suite name.
    pub fn suite_name(&self) -> String {
        format!("{PREFIX}{}", self.integration)
    }

    /// The `acr` values the request's `claims` parameter asks for in the ID token (OIDC Core
    /// §5.5.1.1).
    pub fn requested_acr(&self) -> Vec<String> {
        self.requested_values("acr")
    }

    /// The `amr` values the request's `claims` parameter asks for in the ID token.
    pub fn requested_amr(&self) -> Vec<String> {
        self.requested_values("amr")
    }

    fn requested_values(&self, claim: &str) -> Vec<String> {
        self.essential_claims().into_iter().find(|(name, _)| name == claim).map(|(_, values)| values).unwrap_or_default()
    }

    /// The claims the request's `claims` parameter asks for in the ID token as essential (OIDC
    /// Core §5.5.1), each with the values it may have (`value`, or `values`; none: any value).
    pub fn essential_claims(&self) -> Vec<(String, Vec<String>)> {
        let claims = self.request.params.get("claims").and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
        let Some(id_token) = claims.as_ref().and_then(|c| c["id_token"].as_object()) else { return Vec::new() };
        id_token
            .iter()
            .filter(|(_, spec)| spec["essential"] == true)
            .map(|(name, spec)| {
                let values = spec["values"].as_array().cloned().unwrap_or_default().into_iter().chain(spec.get("value").cloned());
                (name.clone(), values.filter_map(|v| v.as_str().map(str::to_string)).collect())
            })
            .collect()
    }

    /// The custom control's JSON an Entra administrator pastes into Conditional Access (its
    /// `Controls` are the essential claims of the request, each with its first value), for the
    /// provider at `issuer` and its application `client_id`.
    pub fn custom_control(&self, issuer: &str, client_id: &str) -> Option<serde_json::Value> {
        let name = self.request.custom_control.as_ref()?;
        let essential = self.essential_claims();
        let claims: Vec<serde_json::Value> =
            essential.iter().map(|(claim, values)| serde_json::json!({ "Type": claim, "Value": values.first(), "Values": null })).collect();
        // The control is known to Entra by its first claim's type, as Microsoft's examples name it.
        let id = essential.first().map(|(claim, _)| claim.as_str());
        Some(serde_json::json!({
            "Name": name,
            "AppId": client_id,
            "ClientId": client_id,
            "DiscoveryUrl": format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')),
            "Controls": [{ "Id": id, "Name": name, "ClaimsRequested": claims }],
        }))
    }

    /// The rule of `test`, when the pack has one (`parse` allows one per check but
    /// `discovery_has` and `discovery_values`).
    pub fn rule(&self, test: Test) -> Option<&PackRule> {
        self.rules.iter().find(|r| r.check == test)
    }
}

/// Whether `suite` is a pack whose RP reads the provider over https only (it has a
/// `discovery_url` rule): the embedded server then serves HTTPS.
pub fn needs_https(suite: &Suite) -> bool {
    packs().iter().any(|p| p.suite_name() == suite.name && p.rule(Test::DiscoveryUrl).is_some())
}

/// The embedded packs, read once. A broken embedded file is a bug of this build (a unit test
/// reads them).
pub fn packs() -> &'static [Pack] {
    static PACKS: std::sync::LazyLock<Vec<Pack>> =
        std::sync::LazyLock::new(|| FILES.iter().map(|(origin, text)| parse(text, origin).unwrap_or_else(|e| panic!("{e}"))).collect());
    &PACKS
}

/// The pack named `name`, or an error listing the packs.
pub fn find(name: &str) -> Result<&'static Pack, String> {
    let names: Vec<&str> = packs().iter().map(|p| p.integration.as_str()).collect();
    packs()
        .iter()
        .find(|p| p.integration == name)
        .ok_or_else(|| format!("unknown integration `{name}`; the packs are: {}", names.join(", ")))
}

/// Reads a pack and checks what TOML cannot: every rule's parameters fit its check, the rules
/// that need a token response come with a code flow, ids are unique and carry the pack's name.
pub fn parse(text: &str, origin: &str) -> Result<Pack, String> {
    let pack: Pack = toml::from_str(text).map_err(|e| format!("integration pack {origin}: {e}"))?;
    let problem = |what: String| Err(format!("integration pack {origin}: {what}"));
    let name_ok =
        !pack.integration.is_empty() && pack.integration.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        return problem(format!("`integration` \"{}\" must be lowercase letters, digits and hyphens", pack.integration));
    }
    let request = &pack.request;
    let code = request.response_type == ResponseType::Code;
    for needed in [Test::Completes].into_iter().chain(code.then_some(Test::TokenResponse)) {
        if pack.rule(needed).is_none() {
            return problem(format!(
                "has no rule with check = \"{}\": a pack judges every phase its login goes through, so a failure there is reported",
                needed.name()
            ));
        }
    }
    if let Some(reserved) = request.params.keys().find(|k| RESERVED.contains(&k.as_str())) {
        return problem(format!("request.params sets `{reserved}`, which the engine sends (or judges) itself: use the request's own key"));
    }
    if request.response_type == ResponseType::IdToken && !request.nonce {
        return problem("an implicit (id_token) request sends a nonce: OIDC Core §3.2.2.1 makes it REQUIRED".into());
    }
    if !request.scope.split(' ').any(|s| s == "openid") {
        return problem("request.scope lacks openid: every pack is an OpenID Connect login".into());
    }
    if request.skew_secs.is_some_and(|s| s > 600) {
        return problem("request.skew_secs is over 600: no relying party allows more than a few minutes (OIDC Core §2 exp)".into());
    }
    // What arrives where: the mode the RP asks for, else the response type's default (OAuth 2.0
    // Multiple Response Types §2.1, §5).
    let mode = match request.response_mode.as_deref() {
        None if code => Delivery::Query,
        None => Delivery::Fragment,
        Some("query") if code => Delivery::Query,
        Some("fragment") => Delivery::Fragment,
        Some("form_post") => Delivery::FormPost,
        Some(other) => return problem(format!("request.response_mode `{other}` is not one this response type may use")),
    };
    if let Some(rule) = pack.rules.iter().find(|r| r.delivery.is_some_and(|d| d != mode)) {
        return problem(format!(
            "rule `{}`: the request makes the response arrive in {}, so the rule could never pass",
            rule.id,
            mode.name()
        ));
    }
    if request.userinfo.is_some() && pack.rule(Test::Userinfo).is_none() {
        return problem("request.userinfo is set but no rule judges UserInfo: the report would claim a call it never judged".into());
    }
    let mut ids = std::collections::HashSet::new();
    for rule in &pack.rules {
        let at = format!("rule `{}`", rule.id);
        if !rule.id.starts_with(&format!("{}.", pack.integration)) {
            return problem(format!("{at}: ids start with the pack's name, `{}.`", pack.integration));
        }
        if !ids.insert(rule.id.as_str()) {
            return problem(format!("{at} is defined twice"));
        }
        let repeatable = matches!(rule.check, Test::DiscoveryHas | Test::DiscoveryValues);
        if !repeatable && pack.rules.iter().filter(|r| r.check == rule.check).count() > 1 {
            return problem(format!("{at}: a pack has one rule with check = \"{}\"", rule.check.name()));
        }
        for claim in &rule.claims {
            let why = match claim.as_str() {
                "nonce" if !request.nonce => "the request sends no nonce to compare with",
                "auth_time" => "the request sends no max_age, so auth_time has nothing to be judged against",
                "at_hash" if !code => "an id_token response has no access token to hash",
                _ => continue,
            };
            return problem(format!("{at}: claims has `{claim}`, but {why}"));
        }
        if run::reads_id_token(rule.check) && pack.rule(Test::IdToken).is_none() {
            return problem(format!("{at}: {} reads the ID token, which needs an id_token rule", rule.check.name()));
        }
        if (rule.check == Test::DiscoveryValues) != rule.member.is_some() {
            return problem(format!("{at}: `member` is for discovery_values, which needs it"));
        }
        if rule.if_present && rule.check != Test::DiscoveryValues {
            return problem(format!("{at}: `if_present` is for discovery_values"));
        }
        if matches!(rule.check, Test::DiscoveryValues | Test::IdTokenAlg) == rule.values.is_empty() {
            return problem(format!("{at}: `values` is for discovery_values and id_token_alg, which need it"));
        }
        if matches!(rule.check, Test::HintSubject | Test::HintVerified) && request.id_token_hint.is_none() {
            return problem(format!("{at}: the request sends no id_token_hint (set request.id_token_hint)"));
        }
        if rule.check == Test::ClaimsRequested && pack.essential_claims().is_empty() {
            return problem(format!("{at}: claims_requested needs request.params.claims asking for essential id_token claims"));
        }
        if matches!(rule.check, Test::AcrRequested | Test::AmrOneMethod) && pack.requested_acr().is_empty() {
            return problem(format!(
                "{at}: {} judges against the acr values the request asks for: request.params.claims must ask for id_token acr values",
                rule.check.name()
            ));
        }
        let wants_members = matches!(rule.check, Test::TokenResponse | Test::DiscoveryHas);
        if wants_members == rule.members.is_empty() {
            return problem(format!("{at}: `members` is for token_response and discovery_has, which need it"));
        }
        if (rule.check == Test::IdToken) == rule.claims.is_empty() {
            return problem(format!("{at}: `claims` is for id_token, which needs it"));
        }
        if let Some(unknown) = rule.claims.iter().find(|c| id_token_rule(c).is_none()) {
            let known: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
            return problem(format!("{at}: `{unknown}` is not one of the ID token rules ({})", known.join(", ")));
        }
        if (rule.check == Test::Delivery) != rule.delivery.is_some() {
            return problem(format!("{at}: `delivery` is for check = \"delivery\", which needs it"));
        }
        if !code && matches!(rule.check, Test::TokenResponse | Test::AccessTokenAudience | Test::Userinfo) {
            return problem(format!("{at}: {} needs the code flow (response_type = \"code\")", rule.check.name()));
        }
        if rule.check == Test::Userinfo && pack.request.userinfo.is_none() {
            return problem(format!("{at}: the request does not read UserInfo (set request.userinfo)"));
        }
        if rule.check == Test::AccessTokenAudience && !pack.request.audience {
            return problem(format!("{at}: the request names no audience (set request.audience = true)"));
        }
    }
    if request.custom_control.is_some() && pack.essential_claims().is_empty() {
        return problem(
            "request.custom_control: the control's claims are the essential claims of request.params.claims, and it asks for none".into(),
        );
    }
    if !code && (request.pkce || request.client_auth.is_some() || request.userinfo.is_some()) {
        return problem("pkce, client_auth and userinfo are for the code flow".into());
    }
    Ok(pack)
}

/// Authorization parameters the engine sends from the request's own keys, or judges by them.
const RESERVED: [&str; 12] = [
    "id_token_hint",
    "response_type",
    "scope",
    "state",
    "nonce",
    "client_id",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "audience",
    "max_age",
];

/// The ID token rule named `name` in a pack.
pub fn id_token_rule(name: &str) -> Option<Rule> {
    Rule::ALL.into_iter().find(|r| r.name() == name)
}

/// `certify --list`: every pack with its relying party and rules, as Markdown.
pub fn list(packs: &[Pack]) -> String {
    let mut out = String::new();
    for pack in packs {
        out.push_str(&format!("\n## {} ({}): {} rules\n\n", pack.integration, pack.relying_party, pack.rules.len()));
        out.push_str("| id | severity | rule | title |\n|---|---|---|---|\n");
        for r in &pack.rules {
            let severity = match r.severity {
                Severity::Required => "required",
                Severity::Recommended => "recommended",
            };
            out.push_str(&format!("| `{}` | {severity} | {} | {} |\n", r.id, r.spec, r.title.replace('|', "\\|")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_packs_parse_and_each_has_its_login_rule() {
        let packs = packs();
        let names: Vec<&str> = packs.iter().map(|p| p.integration.as_str()).collect();
        assert_eq!(names, ["entra-eam", "ca-custom-controls", "salesforce", "forgerock", "connectwise-home", "generic"]);
        for pack in packs {
            assert!(pack.rule(Test::Completes).is_some(), "{}", pack.integration);
            assert_eq!(pack.suite().name, format!("integration:{}", pack.integration));
            assert!(!pack.documentation.is_empty());
        }
    }

    #[test]
    fn a_pack_with_a_rule_that_does_not_fit_its_check_is_refused_naming_it() {
        let base = include_str!("../../../scenarios/integrations/salesforce.toml");
        let refused = |text: &str| parse(text, "test.toml").expect_err("refused");
        assert!(refused(&base.replace("check = \"completes\"", "check = \"state_echoed\"")).contains("completes"));
        assert!(refused(&base.replace("salesforce.state\"", "other.state\"")).contains("start with the pack's name"));
        assert!(refused(&base.replace("claims = [\"signature\"", "claims = [\"signatur\"")).contains("`signatur`"));
        assert!(refused(&base.replace("members = [\"access_token\", \"id_token\"]", "")).contains("`members`"));
        assert!(refused(&base.replace("response_type = \"code\"", "response_type = \"id_token\"")).contains("nonce"));
        let implicit = base.replace("response_type = \"code\"", "response_type = \"id_token\"").replace("nonce = false", "nonce = true");
        assert!(refused(&implicit).contains("code flow"));
        assert!(refused(&base.replace("nonce = false", "nonce = false\nparams = { state = \"x\" }")).contains("`state`"));
        assert!(
            refused(&base.replace("check = \"state_echoed\"", "check = \"completes\"")).contains("one rule with check = \"completes\"")
        );
        assert!(refused(&base.replace("claims = [\"signature\"", "claims = [\"nonce\", \"signature\"")).contains("sends no nonce"));
        assert!(refused(&base.replace("scope = \"openid email profile\"", "scope = \"email profile\"")).contains("openid"));
        assert!(refused(&base.replace("integration = \"salesforce\"", "integration = \"Sales Force\"")).contains("lowercase"));
        let generic = include_str!("../../../scenarios/integrations/generic.toml");
        assert!(refused(&generic.replace("delivery = \"query\"", "delivery = \"fragment\"")).contains("could never pass"));
        assert!(refused(&generic.replace("prompt = \"consent\" }", "prompt = \"consent\" }\nresponse_mode = \"jwt\"")).contains("`jwt`"));
        assert!(refused(&base.replace("check = \"userinfo\"", "check = \"userinfo\"\nbogus = 1")).contains("bogus"));
        assert!(refused(&base.replace("userinfo = \"header\"", "")).contains("request.userinfo"));
    }

    #[test]
    fn the_entra_checks_are_refused_without_what_they_judge() {
        let base = include_str!("../../../scenarios/integrations/entra-eam.toml");
        let refused = |text: &str| parse(text, "test.toml").expect_err("refused");
        assert!(refused(&base.replace("id_token_hint = \"entra\"\n", "")).contains("sends no id_token_hint"));
        assert!(refused(&base.replace("params = { claims = ", "params = { other = ")).contains("acr values"));
        assert!(refused(&base.replace("member = \"scopes_supported\"\n", "")).contains("`member`"));
        assert!(
            refused(&base.replace("values = [\"RS256\"]\n\n[[rule]]\nid = \"entra-eam.x5c\"", "\n[[rule]]\nid = \"entra-eam.x5c\""))
                .contains("`values`")
        );
        assert!(refused(&base.replace("check = \"jwks_x5c\"", "check = \"jwks_x5c\"\nif_present = true")).contains("`if_present`"));
        assert!(refused(&base.replace("check = \"amr_one_method\"", "check = \"amr_one_method\"\nmember = \"amr\"")).contains("`member`"));
        assert!(refused(&base.replace("params = { claims", "params = { id_token_hint = \"x\", claims")).contains("`id_token_hint`"));
    }

    #[test]
    fn find_names_the_packs_when_the_name_is_unknown() {
        assert_eq!(find("forgerock").expect("known").integration, "forgerock");
        assert!(
            find("okta").expect_err("unknown").contains("entra-eam, ca-custom-controls, salesforce, forgerock, connectwise-home, generic")
        );
    }
}
