//! The values a profile may name, checked when it is read: a typo in a method, an algorithm or
//! a parameter name is refused with the key named, instead of silently turning a check into a
//! skip.

use super::{ParameterRule, Profile};

/// RFC 7636 §4.2.
const PKCE_METHODS: [&str; 2] = ["S256", "plain"];
/// OAuth 2.0 Multiple Response Types §2.1, Form Post Response Mode §2, JARM §2.3.
const RESPONSE_MODES: [&str; 7] = ["query", "fragment", "form_post", "jwt", "query.jwt", "fragment.jwt", "form_post.jwt"];
/// OIDC Core §9, RFC 8705 §2.
const AUTH_METHODS: [&str; 7] = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
    "none",
];
/// RFC 7518 §3.1 and RFC 8037 §3.1: the JWS algorithms an ID token may be signed with (`none`
/// is allowed by OIDC Core §2 for some flows; lint warns about it).
const SIGNING_ALGS: [&str; 14] =
    ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512", "none"];
/// Authorization request parameters: OIDC Core §3.1.2.1 and §5.5, RFC 6749 §4.1.1, RFC 7636,
/// RFC 8707, RFC 9101, RFC 9396, RFC 9449, and the IDaaS profile's own (audience, org_id,
/// amr_values). Others are declared with `extension_parameters`.
pub const KNOWN_PARAMETERS: [&str; 27] = [
    "scope",
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "response_mode",
    "nonce",
    "display",
    "prompt",
    "max_age",
    "ui_locales",
    "id_token_hint",
    "login_hint",
    "acr_values",
    "claims_locales",
    "claims",
    "request",
    "request_uri",
    "registration",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "authorization_details",
    "dpop_jkt",
    "audience",
    "org_id",
    "amr_values",
];
/// The parameters whose honouring the parameters suite can observe.
pub const OBSERVED_PARAMETERS: [&str; 7] = ["login_hint", "claims", "acr_values", "amr_values", "audience", "resource", "org_id"];

/// Every value of `profile` is one the harness knows.
pub fn check(profile: &Profile) -> Result<(), String> {
    let flows = &profile.flows;
    one_of("flows.pkce_methods", &flows.pkce_methods, &PKCE_METHODS)?;
    one_of("flows.response_modes", &flows.response_modes, &RESPONSE_MODES)?;
    one_of("flows.token_endpoint_auth_methods", &flows.token_endpoint_auth_methods, &AUTH_METHODS)?;
    one_of("flows.id_token_signing_algs", &flows.id_token_signing_algs, &SIGNING_ALGS)?;
    for (name, rule) in &profile.parameters {
        let known = KNOWN_PARAMETERS.contains(&name.as_str()) || profile.extension_parameters.contains(name);
        if !known {
            return Err(format!(
                "`parameters.{name}` is not an authorization request parameter the harness knows ({}); a deployment's own \
                 parameter is declared in `extension_parameters`",
                KNOWN_PARAMETERS.join(", ")
            ));
        }
        if *rule == ParameterRule::Honoured && !OBSERVED_PARAMETERS.contains(&name.as_str()) {
            return Err(format!(
                "`parameters.{name} = \"honoured\"`: the harness can observe honouring only for {}; say \"ignored\", \"rejected\" or \
                 \"ignored-or-rejected\", or test it with a scenario file",
                OBSERVED_PARAMETERS.join(", ")
            ));
        }
    }
    for resolution in &profile.resolutions {
        if !profile.parameters.contains_key(&resolution.parameter) {
            return Err(format!("`resolution` names {}, which is not in [parameters]", resolution.parameter));
        }
    }
    Ok(())
}

fn one_of(key: &str, values: &[String], allowed: &[&str]) -> Result<(), String> {
    match values.iter().find(|v| !allowed.contains(&v.as_str())) {
        Some(v) => Err(format!("`{key}` names \"{v}\", which is not one of {}", allowed.join(", "))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::IDAAS;

    fn parse(edit: impl Fn(&str) -> String) -> Result<Profile, String> {
        Profile::parse(&edit(IDAAS), "p.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn typos_in_values_and_names_are_refused_with_the_key() {
        assert!(
            parse(|t| t.replace("pkce_methods = [\"S256\"]", "pkce_methods = [\"s256\"]")).unwrap_err().contains("`flows.pkce_methods`")
        );
        let alg = parse(|t| t.replace("\"ES256\", \"EdDSA\"", "\"ES256\", \"Ed25519\"")).unwrap_err();
        assert!(alg.contains("`flows.id_token_signing_algs` names \"Ed25519\""), "{alg}");
        assert!(parse(|t| t.replace("\"form_post\"]", "\"formpost\"]")).unwrap_err().contains("`flows.response_modes`"));
        let name = parse(|t| t.replace("login_hint = \"honoured\"", "login_hnt = \"honoured\"")).unwrap_err();
        assert!(name.contains("`parameters.login_hnt`"), "{name}");
        let unobservable = parse(|t| t.replace("display = \"ignored-or-rejected\"", "display = \"honoured\"")).unwrap_err();
        assert!(unobservable.contains("`parameters.display = \"honoured\"`"), "{unobservable}");
        // A deployment's own parameter, declared.
        let own = |t: &str| t.replace("[parameters]\n", "[parameters]\ntenant = \"ignored\"\n");
        assert!(parse(own).unwrap_err().contains("extension_parameters"));
        assert!(parse(|t| own(t).replace("[flows]", "extension_parameters = [\"tenant\"]\n\n[flows]")).is_ok());
    }
}
