//! Named faults: small, realistic deviations the server can be told to make, so the harness can
//! prove that each of its checks is able to fail (the kill matrix). Each fault is switched at
//! the one place its rule lives; with no fault on, nothing here changes behaviour.

use std::fmt;

/// A deviation from the profile or a spec rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Fault {
    CodeReuseAllowed,
    CodeNotBoundToClient,
    CodeNotBoundToRedirectUri,
    RedirectUriPrefixMatch,
    PkceNotVerified,
    PkcePlainAccepted,
    StateNotEchoed,
    NonceDropped,
    WrongIssInIdToken,
    AudMissingClient,
    IdTokenExpired,
    BadAtHash,
    SigningKeyMissingFromJwks,
    X5cMissing,
    RefreshNotRotated,
    RefreshReuseNotDetected,
    RefreshScopeWidened,
    RevokedTokenAcceptedAtUserinfo,
    NoCacheControl,
    ErrorNotJson,
    BadClientSecretAccepted,
    NoWwwAuthenticate,
    IntrospectionAdvertised,
    RegistrationAdvertised,
    ImplicitWithoutOpenid,
    IssMissingFromAuthorizationResponse,
    RepeatedParameterAccepted,
    UserinfoSubMismatch,
    TokenCapNotEnforced,
    FormPostIgnored,
    LoginHintIgnored,
    ClaimsParameterIgnored,
    OrgIdIgnored,
    AudienceIgnored,
    PromptNoneIgnored,
    PromptLoginIgnored,
    MaxAgeIgnored,
    Redirect307,
    RevocationIgnoresClient,
    UnknownParameterRejected,
    MissingResponseTypeAccepted,
    KidMissingFromJwks,
}

/// One entry of the catalog: the fault, its name on the command line, what it does, the rule it
/// breaks.
pub struct Entry {
    pub fault: Fault,
    pub name: &'static str,
    pub description: &'static str,
    pub rule: &'static str,
}

const fn entry(fault: Fault, name: &'static str, description: &'static str, rule: &'static str) -> Entry {
    Entry { fault, name, description, rule }
}

/// The catalog, in the order `--list-faults` prints it.
pub const CATALOG: &[Entry] = &[
    entry(Fault::CodeReuseAllowed, "code-reuse-allowed", "an authorization code can be redeemed again", "RFC 6749 §4.1.2"),
    entry(Fault::CodeNotBoundToClient, "code-not-bound-to-client", "any client may redeem another client's code", "RFC 6749 §4.1.3"),
    entry(
        Fault::CodeNotBoundToRedirectUri,
        "code-not-bound-to-redirect-uri",
        "the token request's redirect_uri is not compared",
        "RFC 6749 §4.1.3",
    ),
    entry(
        Fault::RedirectUriPrefixMatch,
        "redirect-uri-prefix-match",
        "a redirect_uri extending a registered one is accepted",
        "RFC 9700 §4.1.3",
    ),
    entry(Fault::PkceNotVerified, "pkce-not-verified", "the code_verifier is never checked", "RFC 7636 §4.6"),
    entry(Fault::PkcePlainAccepted, "pkce-plain-accepted", "code_challenge_method=plain is accepted", "RFC 9700 §2.1.1"),
    entry(Fault::StateNotEchoed, "state-not-echoed", "authorization responses omit state", "RFC 6749 §4.1.2"),
    entry(Fault::NonceDropped, "nonce-dropped", "ID tokens omit the nonce", "OIDC Core §3.1.3.7 (11)"),
    entry(Fault::WrongIssInIdToken, "wrong-iss-in-id-token", "the ID token's iss has a trailing slash", "OIDC Core §3.1.3.7 (2)"),
    entry(Fault::AudMissingClient, "aud-missing-client", "the ID token's aud does not contain the client", "OIDC Core §3.1.3.7 (3)"),
    entry(Fault::IdTokenExpired, "id-token-expired", "ID tokens are issued already expired", "OIDC Core §3.1.3.7 (9)"),
    entry(Fault::BadAtHash, "bad-at-hash", "at_hash is computed over the wrong value", "OIDC Core §3.1.3.8, §3.2.2.9"),
    entry(Fault::SigningKeyMissingFromJwks, "signing-key-missing-from-jwks", "the active RS256 key is not published", "OIDC Core §10.1"),
    entry(Fault::X5cMissing, "x5c-missing", "JWKS keys carry no x5c certificate", "RFC 7517 §4.7, profile"),
    entry(Fault::RefreshNotRotated, "refresh-not-rotated", "refreshing returns the same refresh token", "RFC 9700 §4.14.2"),
    entry(Fault::RefreshReuseNotDetected, "refresh-reuse-not-detected", "a rotated-out refresh token still works", "RFC 9700 §4.14.2"),
    entry(Fault::RefreshScopeWidened, "refresh-scope-widened", "a refresh may ask for more scope than granted", "RFC 6749 §6"),
    entry(
        Fault::RevokedTokenAcceptedAtUserinfo,
        "revoked-token-accepted-at-userinfo",
        "userinfo checks only the signature",
        "RFC 7009 §2.1, profile",
    ),
    entry(Fault::NoCacheControl, "no-cache-control", "token responses lack Cache-Control: no-store", "RFC 6749 §5.1"),
    entry(Fault::ErrorNotJson, "error-not-json", "OAuth errors are plain text, not the §5.2 JSON", "RFC 6749 §5.2"),
    entry(Fault::BadClientSecretAccepted, "bad-client-secret-accepted", "the client secret is not compared", "RFC 6749 §2.3.1, §5.2"),
    entry(Fault::NoWwwAuthenticate, "no-www-authenticate", "401 answers carry no WWW-Authenticate", "RFC 6749 §5.2, RFC 6750 §3"),
    entry(
        Fault::IntrospectionAdvertised,
        "introspection-advertised",
        "discovery advertises an introspection endpoint",
        "profile, RFC 8414 §2",
    ),
    entry(
        Fault::RegistrationAdvertised,
        "registration-advertised",
        "discovery advertises a registration endpoint",
        "profile, OIDC Discovery §3",
    ),
    entry(Fault::ImplicitWithoutOpenid, "implicit-without-openid", "the implicit flow works without openid", "profile, RFC 9700 §2.1.2"),
    entry(
        Fault::IssMissingFromAuthorizationResponse,
        "iss-missing-from-authorization-response",
        "authorization responses omit iss",
        "RFC 9207 §2",
    ),
    entry(Fault::RepeatedParameterAccepted, "repeated-parameter-accepted", "a repeated parameter is accepted", "RFC 6749 §3.1"),
    entry(Fault::UserinfoSubMismatch, "userinfo-sub-mismatch", "userinfo's sub differs from the ID token's", "OIDC Core §5.3.2"),
    entry(
        Fault::TokenCapNotEnforced,
        "token-cap-not-enforced",
        "grants beyond the per-user limit are all kept",
        "profile (Manage OIDC and OAuth tokens)",
    ),
    entry(
        Fault::FormPostIgnored,
        "form-post-ignored",
        "response_mode=form_post answers in the query",
        "OAuth 2.0 Form Post Response Mode §2",
    ),
    entry(
        Fault::LoginHintIgnored,
        "login-hint-ignored",
        "the login page does not prefill the hinted account",
        "OIDC Core §3.1.2.1, profile",
    ),
    entry(
        Fault::ClaimsParameterIgnored,
        "claims-parameter-ignored",
        "the claims request parameter changes nothing",
        "OIDC Core §5.5, profile",
    ),
    entry(Fault::OrgIdIgnored, "org-id-ignored", "org_id is not checked against the user's memberships", "profile (org_id)"),
    entry(Fault::AudienceIgnored, "audience-ignored", "audience and resource do not set the access token's aud", "RFC 8707 §2, profile"),
    entry(
        Fault::PromptNoneIgnored,
        "prompt-none-ignored",
        "prompt=none shows the login page instead of login_required",
        "OIDC Core §3.1.2.1",
    ),
    entry(Fault::PromptLoginIgnored, "prompt-login-ignored", "prompt=login reuses the session", "OIDC Core §3.1.2.1"),
    entry(Fault::MaxAgeIgnored, "max-age-ignored", "max_age never forces a new login", "OIDC Core §3.1.2.1"),
    entry(Fault::Redirect307, "redirect-307", "authorization responses are sent with 307", "RFC 9700 §4.12 (307 Redirect)"),
    entry(Fault::RevocationIgnoresClient, "revocation-ignores-client", "any client may revoke another client's token", "RFC 7009 §2.1"),
    entry(Fault::UnknownParameterRejected, "unknown-parameter-rejected", "an unknown authorization parameter is rejected", "RFC 6749 §3.1"),
    entry(
        Fault::MissingResponseTypeAccepted,
        "missing-response-type-accepted",
        "a request without response_type is treated as code",
        "RFC 6749 §4.1.1, §4.1.2.1",
    ),
    entry(Fault::KidMissingFromJwks, "kid-missing-from-jwks", "JWKS keys carry no kid", "OIDC Core §10.1, RFC 7517 §4.5"),
];

impl Fault {
    pub fn entry(self) -> &'static Entry {
        // Every variant has exactly one entry (checked by a unit test).
        CATALOG.iter().find(|e| e.fault == self).expect("every fault is in the catalog")
    }

    pub fn name(self) -> &'static str {
        self.entry().name
    }

    pub fn from_name(name: &str) -> Option<Fault> {
        CATALOG.iter().find(|e| e.name == name).map(|e| e.fault)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The faults switched on for a server: a bit set, cheap to copy into every component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults(u64);

impl Faults {
    pub fn new(faults: impl IntoIterator<Item = Fault>) -> Faults {
        Faults(faults.into_iter().fold(0, |bits, f| bits | (1 << f as u8)))
    }

    pub fn has(self, fault: Fault) -> bool {
        self.0 & (1 << fault as u8) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_names_every_fault_once() {
        let mut names = std::collections::HashSet::new();
        for (i, e) in CATALOG.iter().enumerate() {
            assert_eq!(e.fault as usize, i, "catalog order follows the enum");
            assert!(names.insert(e.name), "{} twice", e.name);
            assert_eq!(Fault::from_name(e.name), Some(e.fault));
            assert!(!e.description.is_empty() && !e.rule.is_empty());
        }
        assert!(CATALOG.len() < 64, "Faults is a u64 bit set");
    }

    #[test]
    fn the_set_holds_what_it_was_given() {
        let set = Faults::new([Fault::NonceDropped, Fault::X5cMissing]);
        assert!(set.has(Fault::NonceDropped) && set.has(Fault::X5cMissing));
        assert!(!set.has(Fault::CodeReuseAllowed));
        assert!(!Faults::default().has(Fault::NonceDropped));
    }
}
