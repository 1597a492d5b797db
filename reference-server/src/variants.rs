//! Named variants: alternative behaviours a conformant server MAY choose (a spec's MAY, SHOULD or
//! OPTIONAL, or a choice widely deployed servers make that no spec forbids), so the harness can
//! prove that each of its checks passes what the specs allow. They mirror the faults: each is
//! switched at the one place its rule lives, and with no variant on nothing here changes
//! behaviour.
//!
//! A server may carry several variants at once where they are compatible; the pairs that
//! contradict each other are listed in `INCOMPATIBLE` and refused by `Config::validate`.

use std::fmt;

/// An allowed alternative behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Variant {
    IssuerTrailingSlash,
    SingleKeyNoKid,
    KidSharedAcrossKty,
    IdTokenRs384,
    IdTokenPs384,
    IdTokenEs384,
    IdTokenEs512,
    FractionalNumericDates,
    PromptNoneInteractionRequired,
    MissingResponseTypeErrorPage,
    MissingResponseTypeUnsupported,
    MissingCodeVerifierInvalidRequest,
    InvalidClient400ForPost,
    RevocationNoCredentials400,
    RepeatedParameterErrorPage,
    LoginRedirect302,
    AuthorizeGet307,
    PkceRequiredForAll,
    CcDefaultScopesAdded,
    UnknownScopeDropped,
    RefreshNoIdToken,
    RefreshNotRotatedConfidential,
    TokenTypeLowercase,
    AudArrayWithAzp,
    OpaqueAccessTokens,
    AtTypUppercase,
    MetadataInRfc8414Only,
    DiscoveryDefaultsOmitted,
    KeyRotatedMidRun,
    ClaimsMalformedMemberIgnored,
    UnknownResourceAccepted,
    NoAtHashInCodeFlow,
    ExpiresInOmitted,
    ScopeOmittedWhenUnchanged,
    AuthTimeOnlyWhenRequested,
    RefreshWithoutOfflineAccess,
    AzpOmitted,
    AudSingleString,
    IdentifierFirstLogin,
    MultipleClientAuthAccepted,
    LoginPageSeveralForms,
    LoginPageRichInputs,
    ReauthPasswordOnly,
    LoginMetaRefresh,
    LoginPageUppercaseHtml,
    LoginApi,
}

/// One entry of the catalog: the variant, its name on the command line, what the server does
/// differently, the spec text that allows it, and whether it departs from a SHOULD or
/// RECOMMENDED (so a harness warning, but never a failure, is acceptable for it).
pub struct Entry {
    pub variant: Variant,
    pub name: &'static str,
    pub description: &'static str,
    pub rule: &'static str,
    pub should_level: bool,
}

const fn entry(variant: Variant, name: &'static str, description: &'static str, rule: &'static str) -> Entry {
    Entry { variant, name, description, rule, should_level: false }
}

/// An entry whose behaviour departs from a SHOULD or RECOMMENDED.
const fn should(variant: Variant, name: &'static str, description: &'static str, rule: &'static str) -> Entry {
    Entry { variant, name, description, rule, should_level: true }
}

/// The catalog, in the order `--list-variants` prints it.
pub const CATALOG: &[Entry] = &[
    entry(
        Variant::IssuerTrailingSlash,
        "issuer-trailing-slash",
        "the issuer is {origin}/api/oidc/ (trailing slash) in discovery, every token and the iss response parameter",
        "OIDC Discovery §4.1 (a trailing / is removed before the well-known path is appended), §4.3",
    ),
    entry(
        Variant::SingleKeyNoKid,
        "single-key-no-kid",
        "one RS256 key signs everything, for every client; the JWKS holds only it, and neither the JWK nor the tokens carry a kid",
        "OIDC Core §10.1 (kid is needed only when the JWKS has several keys), RFC 7515 §4.1.4, RFC 7517 §4.5",
    ),
    should(
        Variant::KidSharedAcrossKty,
        "kid-shared-across-kty",
        "the RS256 (RSA) and ES256 (EC) keys share one kid, unique per kty only; tokens are told apart by alg and kid",
        "RFC 7517 §4.5 (SHOULD be distinct; keys of different kty may share a kid)",
    ),
    entry(
        Variant::IdTokenRs384,
        "id-token-rs384",
        "the web-app client's ID and access tokens are signed with RS384, listed in discovery and published in the JWKS",
        "RFC 7518 §3.1, OIDC Discovery §3 (id_token_signing_alg_values_supported), OIDC Core §15.1 (RS256 stays listed)",
    ),
    entry(
        Variant::IdTokenPs384,
        "id-token-ps384",
        "the web-app client's ID and access tokens are signed with PS384, listed in discovery and published in the JWKS",
        "RFC 7518 §3.1, §3.5, OIDC Discovery §3 (id_token_signing_alg_values_supported)",
    ),
    entry(
        Variant::IdTokenEs384,
        "id-token-es384",
        "the web-app client's ID and access tokens are signed with ES384 (P-384), listed in discovery and published in the JWKS",
        "RFC 7518 §3.1, §3.4, OIDC Discovery §3 (id_token_signing_alg_values_supported)",
    ),
    entry(
        Variant::IdTokenEs512,
        "id-token-es512",
        "the web-app client's ID and access tokens are signed with ES512 (P-521, SHA-512), listed in discovery and in the JWKS",
        "RFC 7518 §3.1, §3.4, OIDC Discovery §3 (id_token_signing_alg_values_supported)",
    ),
    entry(
        Variant::FractionalNumericDates,
        "fractional-numeric-dates",
        "iat and exp carry milliseconds (1764581234.517) and auth_time is written as a decimal, in ID and access tokens",
        "RFC 7519 §2 (NumericDate: non-integer values can be represented)",
    ),
    entry(
        Variant::PromptNoneInteractionRequired,
        "prompt-none-interaction-required",
        "prompt=none without a session answers interaction_required instead of login_required",
        "OIDC Core §3.1.2.1 (typically login_required, interaction_required or another §3.1.2.6 code), §3.1.2.6",
    ),
    entry(
        Variant::MissingResponseTypeErrorPage,
        "missing-response-type-error-page",
        "a request without response_type gets an HTML error page (400), no redirect: without it the response mode is unknown",
        "RFC 6749 §3.1.1, §4.1.2.1 (no MUST to redirect a request that is not a valid authorization request)",
    ),
    entry(
        Variant::MissingResponseTypeUnsupported,
        "missing-response-type-unsupported",
        "a request without response_type is redirected with unsupported_response_type instead of invalid_request",
        "RFC 6749 §4.1.2.1 (unsupported_response_type: not supported for this method)",
    ),
    entry(
        Variant::MissingCodeVerifierInvalidRequest,
        "missing-code-verifier-invalid-request",
        "a token request without code_verifier for a code issued with a challenge answers invalid_request, not invalid_grant",
        "RFC 6749 §5.2 (invalid_request: missing a required parameter), RFC 7636 §4.6",
    ),
    entry(
        Variant::InvalidClient400ForPost,
        "invalid-client-400-for-post",
        "a failed client_secret_post or none client authentication answers 400 invalid_client without WWW-Authenticate",
        "RFC 6749 §5.2 (401 is required only when the client used the Authorization header)",
    ),
    entry(
        Variant::RevocationNoCredentials400,
        "revocation-no-credentials-400",
        "a revocation request without any client credentials answers 400 invalid_client without WWW-Authenticate",
        "RFC 7009 §2.1, §2.2.1, RFC 6749 §5.2 (401 is required only when the Authorization header was used)",
    ),
    entry(
        Variant::RepeatedParameterErrorPage,
        "repeated-parameter-error-page",
        "a repeated authorization-request parameter gets an HTML error page (400) instead of an error redirect",
        "RFC 6749 §3.1, §4.1.2.1 (a request with a repeated parameter need not be trusted enough to redirect)",
    ),
    should(
        Variant::LoginRedirect302,
        "login-redirect-302",
        "after the login or consent POST the browser is sent on with 302 instead of 303",
        "RFC 9700 §4.12 (SHOULD use 303; only 307 is forbidden), RFC 9110 §15.4.3",
    ),
    entry(
        Variant::AuthorizeGet307,
        "authorize-get-307",
        "redirects answering GET /authorize (to the login page or the client) use 307; the credential POSTs never do",
        "RFC 9700 §4.12 (307 is forbidden only for requests carrying credentials), RFC 9110 §15.4.8",
    ),
    entry(
        Variant::PkceRequiredForAll,
        "pkce-required-for-all",
        "PKCE is required from every client, confidential ones included (no code_challenge: invalid_request)",
        "RFC 9700 §2.1.1 (PKCE recommended for confidential clients too), RFC 7636 §4.4.1",
    ),
    entry(
        Variant::CcDefaultScopesAdded,
        "cc-default-scopes-added",
        "client credentials tokens also get the audience resource server's default (first) scope, named in the response scope",
        "RFC 6749 §3.3 (the granted scope may differ from the request per server policy, then scope is returned)",
    ),
    entry(
        Variant::UnknownScopeDropped,
        "unknown-scope-dropped",
        "a scope the client may not use is dropped from authorization and client-credentials requests; the granted scope is returned",
        "RFC 6749 §3.3 (the server may partially ignore the requested scope), §5.1 (scope REQUIRED when it differs)",
    ),
    entry(
        Variant::RefreshNoIdToken,
        "refresh-no-id-token",
        "a refresh_token grant returns no new ID token",
        "OIDC Core §12.2 (the refresh response might not contain an id_token)",
    ),
    entry(
        Variant::RefreshNotRotatedConfidential,
        "refresh-not-rotated-confidential",
        "refreshing returns the same refresh token for confidential clients (public clients' tokens still rotate)",
        "RFC 6749 §6 (a new refresh token MAY be issued), RFC 9700 §4.14.2 (rotation is required for public clients only)",
    ),
    entry(
        Variant::TokenTypeLowercase,
        "token-type-lowercase",
        "token_type is bearer (lowercase) in token and implicit responses",
        "RFC 6749 §5.1 (token_type is case-insensitive), §7.1",
    ),
    entry(
        Variant::AudArrayWithAzp,
        "aud-array-with-azp",
        "ID tokens carry aud [client_id, the client's first resource server] and azp client_id",
        "OIDC Core §2 (aud MAY contain other audiences; azp names the authorized party)",
    ),
    entry(
        Variant::OpaqueAccessTokens,
        "opaque-access-tokens",
        "access tokens are opaque random strings, not JWTs; userinfo, revocation and refresh still work",
        "RFC 6749 §1.4 (access tokens are usually opaque to the client), RFC 6750 §1.2; RFC 9068 is optional",
    ),
    entry(
        Variant::AtTypUppercase,
        "at-typ-uppercase",
        "JWT access tokens have the header typ at+JWT",
        "RFC 9068 §2.1, §4, RFC 7515 §4.1.9 (typ is a media type: compared case-insensitively)",
    ),
    entry(
        Variant::MetadataInRfc8414Only,
        "metadata-in-rfc8414-only",
        "revocation, PKCE and iss-parameter metadata are only in the RFC 8414 document, not in the OpenID configuration",
        "RFC 8414 §2, §3.1 (path-inserted well-known URI), OIDC Discovery §3 (these members are not OIDC's)",
    ),
    entry(
        Variant::DiscoveryDefaultsOmitted,
        "discovery-defaults-omitted",
        "discovery omits response_modes_supported, grant_types_supported and token_endpoint_auth_methods_supported",
        "OIDC Discovery §3 (OPTIONAL members whose defaults the server supports)",
    ),
    entry(
        Variant::KeyRotatedMidRun,
        "key-rotated-mid-run",
        "the server rotates its RS256 key after its 3rd RS256 token (new kid; the old key stays published)",
        "OIDC Core §10.1.1 (signing keys may be rolled over; the JWKS may hold several keys)",
    ),
    entry(
        Variant::ClaimsMalformedMemberIgnored,
        "claims-malformed-member-ignored",
        "a claims member or claim request of the wrong type is ignored as not understood; a claims value not a JSON object stays refused",
        "OIDC Core §5.5, §5.5.1 (members not understood MUST be ignored; nothing requires rejecting them)",
    ),
    entry(
        Variant::UnknownResourceAccepted,
        "unknown-resource-accepted",
        "an absolute resource URI naming no configured resource server is accepted and becomes the access token's aud",
        "RFC 8707 §2 (invalid_target is for resources the server does not consider acceptable)",
    ),
    entry(
        Variant::NoAtHashInCodeFlow,
        "no-at-hash-in-code-flow",
        "ID tokens from the token endpoint carry no at_hash",
        "OIDC Core §3.1.3.6 (at_hash OPTIONAL in the code flow)",
    ),
    should(
        Variant::ExpiresInOmitted,
        "expires-in-omitted",
        "token and implicit responses omit expires_in (the access token's lifetime is in its exp)",
        "RFC 6749 §5.1, §4.2.2 (expires_in RECOMMENDED)",
    ),
    entry(
        Variant::ScopeOmittedWhenUnchanged,
        "scope-omitted-when-unchanged",
        "token and implicit responses omit scope when it is exactly the scope requested",
        "RFC 6749 §5.1, §4.2.2 (scope OPTIONAL when identical to the requested scope)",
    ),
    entry(
        Variant::AuthTimeOnlyWhenRequested,
        "auth-time-only-when-requested",
        "ID tokens carry auth_time only when max_age was sent or auth_time was requested as an essential claim",
        "OIDC Core §2 (auth_time REQUIRED only then, otherwise OPTIONAL), §3.1.2.1",
    ),
    entry(
        Variant::RefreshWithoutOfflineAccess,
        "refresh-without-offline-access",
        "every user grant of a client allowed refresh_token gets a refresh token, offline_access or not",
        "OIDC Core §11 (refresh tokens MAY be granted in other contexts), RFC 6749 §1.5",
    ),
    entry(
        Variant::AzpOmitted,
        "azp-omitted",
        "ID tokens whose only audience is the client carry no azp",
        "OIDC Core §2 (azp OPTIONAL; needed only when the single audience is not the authorized party)",
    ),
    entry(
        Variant::AudSingleString,
        "aud-single-string",
        "ID tokens carry aud as a single string, not an array",
        "OIDC Core §2, RFC 7519 §4.1.3 (one audience MAY be a single string)",
    ),
    entry(
        Variant::IdentifierFirstLogin,
        "identifier-first-login",
        "the login page asks for the username alone, then for the password (and one-time code) on a second form",
        "OIDC Core §3.1.2.3 (how the user is authenticated is the server's choice)",
    ),
    should(
        Variant::MultipleClientAuthAccepted,
        "multiple-client-auth-accepted",
        "a token request carrying both a Basic header and client_secret in the body is authenticated instead of refused",
        "RFC 6749 §2.3 (\"MUST NOT use more than one method\" binds the client, not the server)",
    ),
    entry(
        Variant::LoginPageSeveralForms,
        "login-page-several-forms",
        "the login and consent pages show a language form and a search form before their own form and a password-reset form after it; none of those is served (404)",
        "OIDC Core §3.1.2.3, §3.1.2.4 (how the user is authenticated and consent obtained is the server's choice)",
    ),
    entry(
        Variant::LoginPageRichInputs,
        "login-page-rich-inputs",
        "the login form has selects, a textarea, checkboxes, a radio group, a disabled input, non-submitting buttons and a submit button with formaction and formmethod; it is refused unless posted as a browser posts it",
        "OIDC Core §3.1.2.3 (how the user is authenticated is the server's choice), HTML §4.10.21.4 (constructing the entry list)",
    ),
    entry(
        Variant::ReauthPasswordOnly,
        "reauth-password-only",
        "a login page shown to a browser with a session (prompt=login, max_age) names the account as text and in a readonly input and asks for the password only; a username sent is refused",
        "OIDC Core §3.1.2.3 (how the user is authenticated is the server's choice), §3.1.2.1 (prompt=login, max_age: re-authenticate)",
    ),
    entry(
        Variant::LoginMetaRefresh,
        "login-meta-refresh",
        "an authorization request that needs the user answers 200 with a page that meta-refreshes (relative URL) to the login or consent page, instead of redirecting",
        "OIDC Core §3.1.2.3, §3.1.2.4 (the server may present the login and consent pages as it chooses), HTML §4.2.5.3 (refresh)",
    ),
    entry(
        Variant::LoginPageUppercaseHtml,
        "login-page-uppercase-html",
        "the login form is written with uppercase tags, attribute names and values, single-quoted and unquoted attribute values",
        "OIDC Core §3.1.2.3 (how the user is authenticated is the server's choice), HTML §13.1.2.3 (attribute syntax), §13.2 (case-insensitive)",
    ),
    entry(
        Variant::LoginApi,
        "login-api",
        "the login page is a script shell with no form; the browser signs in through a JSON API (POST /api/login with the interaction and a CSRF header from the page), which answers where to go on",
        "OIDC Core §3.1.2.3 (how the user is authenticated is the server's choice)",
    ),
];

/// Variants that contradict each other: a server carries at most one of each pair.
pub const INCOMPATIBLE: &[(Variant, Variant)] = &[
    (Variant::SingleKeyNoKid, Variant::KidSharedAcrossKty),
    (Variant::SingleKeyNoKid, Variant::IdTokenRs384),
    (Variant::SingleKeyNoKid, Variant::IdTokenPs384),
    (Variant::SingleKeyNoKid, Variant::IdTokenEs384),
    (Variant::SingleKeyNoKid, Variant::IdTokenEs512),
    (Variant::SingleKeyNoKid, Variant::KeyRotatedMidRun),
    (Variant::IdTokenRs384, Variant::IdTokenPs384),
    (Variant::IdTokenRs384, Variant::IdTokenEs384),
    (Variant::IdTokenRs384, Variant::IdTokenEs512),
    (Variant::IdTokenPs384, Variant::IdTokenEs384),
    (Variant::IdTokenPs384, Variant::IdTokenEs512),
    (Variant::IdTokenEs384, Variant::IdTokenEs512),
    (Variant::MissingResponseTypeErrorPage, Variant::MissingResponseTypeUnsupported),
    (Variant::AudArrayWithAzp, Variant::AudSingleString),
    (Variant::AudArrayWithAzp, Variant::AzpOmitted),
    (Variant::OpaqueAccessTokens, Variant::AtTypUppercase),
    // The code flow's granted scope is compared with the authorization request's, which the
    // server does not keep once unknown scopes were dropped.
    (Variant::UnknownScopeDropped, Variant::ScopeOmittedWhenUnchanged),
    // The login API replaces every login page.
    (Variant::LoginApi, Variant::IdentifierFirstLogin),
    (Variant::LoginApi, Variant::ReauthPasswordOnly),
    (Variant::LoginApi, Variant::LoginPageSeveralForms),
    (Variant::LoginApi, Variant::LoginPageRichInputs),
    (Variant::LoginApi, Variant::LoginPageUppercaseHtml),
];

impl Variant {
    pub fn entry(self) -> &'static Entry {
        // Every variant has exactly one entry (checked by a unit test).
        CATALOG.iter().find(|e| e.variant == self).expect("every variant is in the catalog")
    }

    pub fn name(self) -> &'static str {
        self.entry().name
    }

    pub fn from_name(name: &str) -> Option<Variant> {
        CATALOG.iter().find(|e| e.name == name).map(|e| e.variant)
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The variants switched on for a server: a bit set, cheap to copy into every component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variants(u64);

impl Variants {
    pub fn new(variants: impl IntoIterator<Item = Variant>) -> Variants {
        Variants(variants.into_iter().fold(0, |bits, v| bits | (1 << v as u8)))
    }

    pub fn has(self, variant: Variant) -> bool {
        self.0 & (1 << variant as u8) != 0
    }

    /// The first pair of `INCOMPATIBLE` this set holds both halves of.
    pub fn conflict(self) -> Option<(Variant, Variant)> {
        INCOMPATIBLE.iter().copied().find(|(a, b)| self.has(*a) && self.has(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_names_every_variant_once() {
        let mut names = std::collections::HashSet::new();
        for (i, e) in CATALOG.iter().enumerate() {
            assert_eq!(e.variant as usize, i, "catalog order follows the enum");
            assert!(names.insert(e.name), "{} twice", e.name);
            assert_eq!(Variant::from_name(e.name), Some(e.variant));
            assert_eq!(e.variant.name(), e.name);
            assert!(!e.description.is_empty() && !e.rule.is_empty());
            assert!(!e.description.contains('\n'), "{}: one line", e.name);
            assert!(e.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{} is kebab-case", e.name);
        }
        assert!(CATALOG.len() <= 64, "Variants is a u64 bit set");
        assert_eq!(Variant::from_name("no-such-variant"), None);
    }

    #[test]
    fn no_variant_shares_a_name_with_a_fault() {
        // `--fault X` and `--variant X` must never be mistaken for each other.
        for e in CATALOG {
            assert!(crate::faults::Fault::from_name(e.name).is_none(), "{} is also a fault", e.name);
        }
    }

    #[test]
    fn the_set_holds_what_it_was_given() {
        let set = Variants::new([Variant::IssuerTrailingSlash, Variant::IdentifierFirstLogin]);
        assert!(set.has(Variant::IssuerTrailingSlash) && set.has(Variant::IdentifierFirstLogin));
        assert!(!set.has(Variant::SingleKeyNoKid));
        assert!(!Variants::default().has(Variant::IssuerTrailingSlash));
        assert_eq!(set.conflict(), None);
        let clash = Variants::new([Variant::AudSingleString, Variant::AudArrayWithAzp]);
        assert_eq!(clash.conflict(), Some((Variant::AudArrayWithAzp, Variant::AudSingleString)));
    }
}
