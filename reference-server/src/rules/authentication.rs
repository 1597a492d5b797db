//! What a login must prove for a request (`acr_values`, the `acr` claim request, `amr_values`)
//! and what the resulting `acr` and `amr` claims say (OIDC Core §2, §3.1.2.1, RFC 8176).

use crate::config::{Config, User};
use crate::model::request::AuthRequest;

/// The methods a login must perform for `request` by `user`, and the ACR it will satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub methods: Vec<String>,
    /// The first requested ACR the user's enrolled methods can satisfy.
    pub acr: Option<String>,
    /// The `acr` claim was essential and no requested value is achievable for this user: the
    /// login must fail (OIDC Core §5.5.1.1).
    pub unsatisfiable: bool,
}

pub fn requirement(config: &Config, request: &AuthRequest, user: &User) -> Requirement {
    let enrolled = |methods: &[String]| methods.iter().all(|m| user.methods.contains(m));
    let achievable = request
        .acr_values
        .iter()
        .filter_map(|value| config.acr_levels.iter().find(|l| &l.value == value))
        .find(|level| enrolled(&level.methods));
    let mut methods = vec!["pwd".to_string()];
    if let Some(level) = achievable {
        methods.extend(level.methods.iter().cloned());
    }
    // amr_values: the requested methods the user has enrolled (unknown ones are ignored).
    methods.extend(request.amr_values.iter().filter(|m| user.methods.contains(m)).cloned());
    methods.sort();
    methods.dedup();
    Requirement {
        methods,
        acr: achievable.map(|l| l.value.clone()),
        unsatisfiable: request.acr_essential && !request.acr_values.is_empty() && achievable.is_none(),
    }
}

/// Whether a login form should ask for a one-time code before the user is known: some requested
/// ACR or AMR value needs it.
pub fn may_need_otp(config: &Config, request: &AuthRequest) -> bool {
    request.amr_values.iter().any(|m| m == "otp")
        || request
            .acr_values
            .iter()
            .filter_map(|value| config.acr_levels.iter().find(|l| &l.value == value))
            .any(|l| l.methods.iter().any(|m| m == "otp"))
}

/// Whether `given` is the user's one-time code: the fixed code, or the current RFC 6238 code of
/// its TOTP secret.
pub fn one_time_code_ok(user: &User, given: &str, now: u64) -> bool {
    let fixed = user.otp.as_deref().is_some_and(|expected| crate::util::constant_time_eq(given, expected));
    let totp =
        user.totp_secret.as_deref().and_then(crate::totp::decode_secret).is_some_and(|secret| crate::totp::verify(&secret, given, now));
    fixed | totp
}

/// RFC 8176 §2: `mfa` is added when more than one factor was used.
pub fn amr_claim(performed: &[String]) -> Vec<String> {
    let mut amr = performed.to_vec();
    if performed.len() > 1 && !amr.iter().any(|m| m == "mfa") {
        amr.push("mfa".into());
    }
    amr
}

/// The `acr` claim: the requested value the login satisfied, else the strongest configured level
/// the performed methods satisfy.
pub fn acr_claim(config: &Config, requirement: &Requirement, performed: &[String]) -> Option<String> {
    let satisfied = |methods: &[String]| methods.iter().all(|m| performed.contains(m));
    if let Some(acr) = &requirement.acr
        && config.acr_levels.iter().any(|l| &l.value == acr && satisfied(&l.methods))
    {
        return Some(acr.clone());
    }
    config.acr_levels.iter().rev().find(|l| satisfied(&l.methods)).map(|l| l.value.clone())
}
