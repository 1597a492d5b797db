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
    DiscoveryIssuerMismatch,
    PlainPkceAdvertised,
    EncryptionAdvertised,
    IntrospectionServed,
    RegistrationServed,
    IssParameterNotAdvertised,
    ClaimsParameterNotAdvertised,
    DiscoveryMetadataMissing,
    IdTokenAlgNotAdvertised,
    PrivateKeyInJwks,
    SymmetricKeyInJwks,
    KidReused,
    OpenRedirectOnError,
    AuthorizePostRefused,
    FragmentModeIgnored,
    UnknownResponseTypeInvalidRequest,
    PkceOptionalForPublic,
    ImplicitNonceOptional,
    ImplicitInQuery,
    IdTokenResponseCarriesAccessToken,
    UnsupportedParameterErrorPage,
    IatInMilliseconds,
    AuthTimeMissing,
    RefreshResetsAuthTime,
    SubNotStable,
    AzpNotClient,
    AccessTokenTypJwt,
    AccessTokenCid,
    RevocationIgnoresRefreshTokens,
    RevocationUnknownTokenError,
    CcScopeWidened,
    TokenGetAccepted,
    RevocationNotAdvertised,
    SessionIgnored,
    FramingAllowed,
    SecretNotRequired,
    RevocationTrustsHint,
    OauthImplicitAccepted,
    AcrUnlisted,
    OfflineAccessIgnored,
    UserinfoUnavailable,
    ImplicitDefaultQuery,
    EamHintExpiredRejected,
    EamHintSubIgnored,
    EamAmrString,
    EamAmrTwoMethods,
    EamAcrUnrequested,
    EamIdTokenEs256,
    OpenidScopeUnlisted,
    ClaimTypesWithoutNormal,
    ControlClaimMissing,
    EamHintUnverified,
    IdTokenResponseTypeUnlisted,
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
    entry(
        Fault::DiscoveryIssuerMismatch,
        "discovery-issuer-mismatch",
        "discovery's issuer has a trailing slash the issuer URL lacks",
        "OIDC Discovery §4.3",
    ),
    entry(Fault::PlainPkceAdvertised, "plain-pkce-advertised", "discovery offers plain PKCE", "RFC 9700 §2.1.1"),
    entry(
        Fault::EncryptionAdvertised,
        "encryption-advertised",
        "discovery advertises ID token encryption the server cannot do",
        "OIDC Discovery §3, profile",
    ),
    entry(Fault::IntrospectionServed, "introspection-served", "an unadvertised introspection endpoint answers", "RFC 7662 §2, profile"),
    entry(Fault::RegistrationServed, "registration-served", "an unadvertised registration endpoint answers", "RFC 7591 §3, profile"),
    entry(Fault::IssParameterNotAdvertised, "iss-parameter-not-advertised", "discovery denies the RFC 9207 iss it sends", "RFC 9207 §3"),
    entry(
        Fault::ClaimsParameterNotAdvertised,
        "claims-parameter-not-advertised",
        "discovery denies the claims parameter it honours",
        "OIDC Discovery §3",
    ),
    entry(
        Fault::DiscoveryMetadataMissing,
        "discovery-metadata-missing",
        "discovery omits response_types_supported and subject_types_supported",
        "OIDC Discovery §3",
    ),
    entry(
        Fault::IdTokenAlgNotAdvertised,
        "id-token-alg-not-advertised",
        "discovery omits RS256, though it signs ID tokens with it",
        "OIDC Discovery §3, OIDC Core §3.1.3.7 (7)",
    ),
    entry(Fault::PrivateKeyInJwks, "private-key-in-jwks", "the JWKS publishes the Ed25519 private key (d)", "RFC 7518 §6, RFC 8037 §2"),
    entry(Fault::SymmetricKeyInJwks, "symmetric-key-in-jwks", "the JWKS also publishes an HS256 secret (kty oct)", "RFC 7518 §6.4"),
    entry(Fault::KidReused, "kid-reused", "every key in the JWKS has the same kid", "RFC 7517 §4.5"),
    entry(
        Fault::OpenRedirectOnError,
        "open-redirect-on-error",
        "an unknown client or unregistered redirect_uri is redirected to anyway",
        "RFC 6749 §4.1.2.1, RFC 9700 §4.11",
    ),
    entry(Fault::AuthorizePostRefused, "authorize-post-refused", "the authorization endpoint refuses POST", "OIDC Core §3.1.2.1"),
    entry(
        Fault::FragmentModeIgnored,
        "fragment-mode-ignored",
        "response_mode=fragment answers in the query",
        "OAuth 2.0 Multiple Response Types §2.1",
    ),
    entry(
        Fault::UnknownResponseTypeInvalidRequest,
        "unknown-response-type-invalid-request",
        "an unknown response_type gets invalid_request",
        "RFC 6749 §4.1.2.1",
    ),
    entry(Fault::PkceOptionalForPublic, "pkce-optional-for-public", "a public client gets a code without PKCE", "RFC 9700 §2.1.1"),
    entry(Fault::ImplicitNonceOptional, "implicit-nonce-optional", "implicit requests without nonce get tokens", "OIDC Core §3.2.2.1"),
    entry(
        Fault::ImplicitInQuery,
        "implicit-in-query",
        "response_mode=query delivers implicit tokens in the query",
        "OAuth 2.0 Multiple Response Types §2.1",
    ),
    entry(
        Fault::IdTokenResponseCarriesAccessToken,
        "id-token-response-carries-access-token",
        "response_type=id_token also returns an access token",
        "OIDC Core §3.2.2.5",
    ),
    entry(
        Fault::UnsupportedParameterErrorPage,
        "unsupported-parameter-error-page",
        "display, id_token_hint or ui_locales stop the flow at an error page",
        "profile, RFC 6749 §4.1.2.1",
    ),
    entry(
        Fault::IatInMilliseconds,
        "iat-in-milliseconds",
        "the ID token's iat is in milliseconds",
        "RFC 7519 §2 (NumericDate), OIDC Core §3.1.3.7 (10)",
    ),
    entry(
        Fault::AuthTimeMissing,
        "auth-time-missing",
        "ID tokens carry no auth_time, even when max_age was sent",
        "OIDC Core §3.1.2.1, §2",
    ),
    entry(
        Fault::RefreshResetsAuthTime,
        "refresh-resets-auth-time",
        "a refreshed ID token says the user logged in at the refresh",
        "OIDC Core §12.2",
    ),
    entry(Fault::SubNotStable, "sub-not-stable", "every ID token carries a new sub", "OIDC Core §2, §5.7"),
    entry(Fault::AzpNotClient, "azp-not-client", "the ID token's azp names another party", "OIDC Core §2, §3.1.3.7 (5)"),
    entry(Fault::AccessTokenTypJwt, "access-token-typ-jwt", "access tokens say typ JWT, not at+jwt", "RFC 9068 §2.1, §4"),
    entry(Fault::AccessTokenCid, "access-token-cid", "access tokens name the client in cid, not client_id", "RFC 9068 §2.2"),
    entry(
        Fault::RevocationIgnoresRefreshTokens,
        "revocation-ignores-refresh-tokens",
        "revoking a refresh token answers 200 and changes nothing",
        "RFC 7009 §2.1",
    ),
    entry(Fault::RevocationUnknownTokenError, "revocation-unknown-token-error", "revoking an unknown token answers 400", "RFC 7009 §2.2"),
    entry(
        Fault::CcScopeWidened,
        "cc-scope-widened",
        "client credentials tokens carry every scope of the client while the response names only the requested one",
        "RFC 6749 §3.3, §5.1",
    ),
    entry(Fault::TokenGetAccepted, "token-get-accepted", "the token endpoint issues tokens over GET", "RFC 6749 §3.2"),
    entry(
        Fault::RevocationNotAdvertised,
        "revocation-not-advertised",
        "discovery omits the revocation endpoint it serves",
        "RFC 8414 §2, RFC 7009 §2",
    ),
    entry(
        Fault::SessionIgnored,
        "session-ignored",
        "a browser's login session is never reused: every request logs in again, and prompt=none gets login_required",
        "OIDC Core §3.1.2.1 (prompt=none), §3.1.2.3",
    ),
    entry(
        Fault::FramingAllowed,
        "framing-allowed",
        "the login and consent pages carry neither X-Frame-Options nor CSP frame-ancestors",
        "RFC 9700 §4.16",
    ),
    entry(
        Fault::SecretNotRequired,
        "secret-not-required",
        "a confidential client that sends only its client_id (no secret) is authenticated",
        "RFC 6749 §3.2.1",
    ),
    entry(
        Fault::RevocationTrustsHint,
        "revocation-trusts-hint",
        "a refresh token revoked with token_type_hint=access_token is looked up as an access token only, and stays valid",
        "RFC 7009 §2.1",
    ),
    entry(
        Fault::OauthImplicitAccepted,
        "oauth-implicit-accepted",
        "response_type=token (plain OAuth Implicit) gets tokens",
        "profile (Implicit for OIDC only), RFC 9700 §2.1.2",
    ),
    // Faults the integration packs catch (`oidc-harness certify`).
    entry(
        Fault::AcrUnlisted,
        "acr-unlisted",
        "ID tokens carry an acr that discovery's acr_values_supported does not list",
        "OIDC Core §2 (acr), OIDC Discovery §3",
    ),
    entry(
        Fault::OfflineAccessIgnored,
        "offline-access-ignored",
        "offline_access with prompt=consent gets no refresh token (clients that always get one still do)",
        "OIDC Core §11",
    ),
    entry(Fault::UserinfoUnavailable, "userinfo-unavailable", "the UserInfo endpoint answers 503 to every request", "OIDC Core §5.3"),
    entry(
        Fault::ImplicitDefaultQuery,
        "implicit-default-query",
        "implicit responses without a response_mode come back in the query, not the fragment",
        "OIDC Core §3.2.2.5, OAuth 2.0 Multiple Response Types §2.1",
    ),
    entry(
        Fault::EamHintExpiredRejected,
        "eam-hint-expired-rejected",
        "Entra's id_token_hint is refused because it has expired (Entra sends it expired)",
        "Entra EAM: validate the hint's signature, issuer and audience, not its expiry",
    ),
    entry(
        Fault::EamHintSubIgnored,
        "eam-hint-sub-ignored",
        "the ID token for Entra carries the account's own sub instead of the hint's",
        "Entra EAM: sub is the id_token_hint's sub",
    ),
    entry(
        Fault::EamAmrString,
        "eam-amr-string",
        "the ID token for Entra has amr as a string, not a JSON array",
        "OIDC Core §2 (amr), Entra EAM",
    ),
    entry(
        Fault::EamAmrTwoMethods,
        "eam-amr-two-methods",
        "the ID token for Entra names two methods in amr (otp and pwd)",
        "Entra EAM: amr holds the one method used",
    ),
    entry(
        Fault::EamAcrUnrequested,
        "eam-acr-unrequested",
        "the ID token for Entra has an acr Entra did not ask for",
        "OIDC Core §5.5.1.1, Entra EAM: acr is one of the requested values",
    ),
    entry(
        Fault::EamIdTokenEs256,
        "eam-id-token-es256",
        "the ID token for Entra is signed ES256 (Entra verifies RS256 only)",
        "Entra EAM: RS256",
    ),
    entry(
        Fault::OpenidScopeUnlisted,
        "openid-scope-unlisted",
        "discovery's scopes_supported omits openid",
        "OIDC Discovery §3 (scopes_supported)",
    ),
    entry(
        Fault::ClaimTypesWithoutNormal,
        "claim-types-without-normal",
        "discovery's claim_types_supported lists aggregated and distributed but not normal",
        "OIDC Discovery §3, OIDC Core §5.6",
    ),
    entry(
        Fault::ControlClaimMissing,
        "control-claim-missing",
        "the ID token for a Conditional Access custom control lacks the control's claim",
        "OIDC Core §5.5.1 (essential claims), Entra custom controls: ClaimsRequested",
    ),
    entry(
        Fault::EamHintUnverified,
        "eam-hint-unverified",
        "Entra's id_token_hint is taken without checking its signature",
        "Entra EAM: validate the hint's signature against Entra's keys",
    ),
    entry(
        Fault::IdTokenResponseTypeUnlisted,
        "id-token-response-type-unlisted",
        "discovery's response_types_supported lists code only (id_token still works)",
        "OIDC Discovery §3 (response_types_supported)",
    ),
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
pub struct Faults(u128);

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
        assert!(CATALOG.len() <= 128, "Faults is a u128 bit set");
    }

    #[test]
    fn the_set_holds_what_it_was_given() {
        let set = Faults::new([Fault::NonceDropped, Fault::X5cMissing]);
        assert!(set.has(Fault::NonceDropped) && set.has(Fault::X5cMissing));
        assert!(!set.has(Fault::CodeReuseAllowed));
        assert!(!Faults::default().has(Fault::NonceDropped));
    }
}
