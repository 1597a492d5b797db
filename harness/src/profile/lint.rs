//! `oidc-harness lint`: a profile's contradictions and doubtful claims, each one sentence.

use super::{Implicit, ParameterRule, Profile};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The profile cannot be used as it is.
    Error,
    /// Allowed, but against current guidance.
    Warning,
    /// A contradiction in the source that the profile resolved explicitly.
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        };
        write!(f, "{level}: {}", self.message)
    }
}

fn finding(level: Level, message: impl Into<String>) -> Finding {
    Finding { level, message: message.into() }
}

pub fn lint(profile: &Profile) -> Vec<Finding> {
    let mut out = Vec::new();
    source_contradictions(profile, &mut out);
    rules_against_source(profile, &mut out);
    flow_consistency(profile, &mut out);
    out.sort_by_key(|f| f.level);
    out
}

/// A parameter the source lists as both supported and unsupported must be resolved explicitly.
fn source_contradictions(profile: &Profile, out: &mut Vec<Finding>) {
    let source = &profile.source;
    for param in source.supported_parameters.iter().filter(|p| source.unsupported_parameters.contains(p)) {
        match profile.resolutions.iter().find(|r| &r.parameter == param) {
            None => out.push(finding(
                Level::Error,
                format!(
                    "`{param}` is listed by the source as both supported and unsupported; add a [[resolution]] with the rule and the reason"
                ),
            )),
            Some(r) if profile.parameters.get(param) != Some(&r.rule) => out.push(finding(
                Level::Error,
                format!(
                    "`{param}` is resolved as {} but [parameters] says {}",
                    r.rule.as_str(),
                    profile.parameters.get(param).map_or("nothing", |rule| rule.as_str())
                ),
            )),
            Some(r) if r.reason.trim().is_empty() => {
                out.push(finding(Level::Error, format!("the resolution of `{param}` gives no reason")));
            }
            Some(r) => out.push(finding(
                Level::Note,
                format!(
                    "`{param}` is listed by the source as both supported and unsupported; resolved as {}: {}",
                    r.rule.as_str(),
                    r.reason
                ),
            )),
        }
    }
    for r in &profile.resolutions {
        let contradicted = source.supported_parameters.contains(&r.parameter) && source.unsupported_parameters.contains(&r.parameter);
        if !contradicted {
            out.push(finding(
                Level::Warning,
                format!("the resolution of `{}` resolves nothing: the source does not contradict itself there", r.parameter),
            ));
        }
    }
}

/// Outside the source's contradictions (reported above), the rules must say what the source
/// says.
fn rules_against_source(profile: &Profile, out: &mut Vec<Finding>) {
    let source = &profile.source;
    let resolved = |p: &String| source.supported_parameters.contains(p) && source.unsupported_parameters.contains(p);
    for param in &profile.source.supported_parameters {
        match profile.parameters.get(param) {
            _ if resolved(param) => {}
            Some(ParameterRule::Honoured) => {}
            Some(other) => {
                out.push(finding(Level::Error, format!("`{param}` is supported by the source but the rule says {}", other.as_str())))
            }
            None => out.push(finding(Level::Error, format!("`{param}` is supported by the source but has no rule in [parameters]"))),
        }
    }
    for param in &profile.source.unsupported_parameters {
        match profile.parameters.get(param) {
            _ if resolved(param) => {}
            Some(ParameterRule::Honoured) => {
                out.push(finding(Level::Error, format!("`{param}` is unsupported by the source but the rule says Honoured")))
            }
            Some(_) => {}
            None => out.push(finding(Level::Error, format!("`{param}` is unsupported by the source but has no rule in [parameters]"))),
        }
    }
}

fn flow_consistency(profile: &Profile, out: &mut Vec<Finding>) {
    let flows = &profile.flows;
    if flows.pkce_methods.iter().any(|m| m == "plain") {
        out.push(finding(Level::Warning, "PKCE `plain` is claimed: RFC 9700 §2.1.1 says use S256"));
    }
    if flows.authorization_code && !flows.pkce_methods.iter().any(|m| m == "S256") {
        out.push(finding(Level::Error, "authorization code without PKCE S256: RFC 9700 §2.1.1 requires PKCE support"));
    }
    if flows.implicit != Implicit::No && !flows.response_modes.iter().any(|m| m == "fragment" || m == "form_post") {
        out.push(finding(Level::Error, "implicit needs the fragment or form_post response mode: tokens never go in the query"));
    }
    if flows.implicit == Implicit::Yes {
        out.push(finding(Level::Warning, "implicit for plain OAuth (`token`) is claimed: RFC 9700 §2.1.2 says do not use it"));
    }
    if flows.implicit != Implicit::No && !flows.implicit_deprecated {
        out.push(finding(Level::Warning, "implicit is claimed without `implicit_deprecated = true` (RFC 9700 §2.1.2)"));
    }
    if flows.refresh_rotation && !flows.refresh_tokens {
        out.push(finding(Level::Error, "refresh_rotation without refresh_tokens"));
    }
    if !flows.id_token_signing_algs.iter().any(|a| a == "RS256") {
        out.push(finding(Level::Error, "RS256 is missing from id_token_signing_algs: OIDC Core §15.1 requires it"));
    }
    if flows.id_token_signing_algs.iter().any(|a| a == "none") {
        out.push(finding(Level::Warning, "`none` among id_token_signing_algs: unsigned ID tokens"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::IDAAS;

    #[test]
    fn the_idaas_contradiction_is_reported_as_resolved() {
        let findings = lint(&Profile::idaas());
        assert!(findings.iter().all(|f| f.level == Level::Note), "{findings:?}");
        let notes: Vec<_> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(notes.len(), 2);
        assert!(notes[0].contains("`acr_values` is listed by the source as both supported and unsupported"));
        assert!(notes[1].contains("`amr_values`"));
    }

    #[test]
    fn an_unresolved_contradiction_is_an_error() {
        let text = IDAAS.split("[[resolution]]").next().unwrap();
        let findings = lint(&Profile::parse(text, "p").unwrap());
        let errors: Vec<_> = findings.iter().filter(|f| f.level == Level::Error).collect();
        assert_eq!(errors.len(), 2, "{findings:?}");
        assert!(errors[0].message.contains("add a [[resolution]]"));
    }

    #[test]
    fn rules_must_follow_the_source() {
        let mut profile = Profile::parse(&IDAAS.replace("org_id = \"honoured\"", "org_id = \"ignored\""), "p").unwrap();
        // Not a profile file can say (display's honouring cannot be observed), but lint judges
        // any profile it is given.
        profile.parameters.insert("display".into(), ParameterRule::Honoured);
        let findings = lint(&profile);
        let errors: Vec<_> = findings.iter().filter(|f| f.level == Level::Error).map(|f| f.message.clone()).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("`org_id` is supported")));
        assert!(errors.iter().any(|e| e.contains("`display` is unsupported")));
    }

    #[test]
    fn flow_claims_against_current_guidance() {
        let text = IDAAS
            .replace("pkce_methods = [\"S256\"]", "pkce_methods = [\"plain\"]")
            .replace("implicit_deprecated = true", "implicit_deprecated = false");
        let messages: Vec<_> = lint(&Profile::parse(&text, "p").unwrap()).into_iter().map(|f| f.to_string()).collect();
        assert!(messages.iter().any(|m| m.starts_with("error: authorization code without PKCE S256")), "{messages:?}");
        assert!(messages.iter().any(|m| m.starts_with("warning: PKCE `plain`")));
        assert!(messages.iter().any(|m| m.contains("implicit_deprecated")));
    }
}
