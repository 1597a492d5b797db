//! Scenarios as data (`scenarios/*.toml`): each scenario is one check made of steps from a
//! fixed vocabulary, with parameter overrides and expectations. See `scenarios/README.md`.

mod run;

pub use run::run;

use crate::engine::{Check, Suite};
use crate::profile::{Implicit, Profile};
use reports::Severity;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The scenario files, embedded so the binary works from any directory.
const FILES: [(&str, &str); 2] = [
    ("scenarios/authorization-errors.toml", include_str!("../../../scenarios/authorization-errors.toml")),
    ("scenarios/pkce.toml", include_str!("../../../scenarios/pkce.toml")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub suite: String,
    #[serde(rename = "scenario")]
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub spec: String,
    pub severity: Severity,
    pub only_if: Option<Condition>,
    /// The positive control: a scenario earlier in the same file that must pass for this one to
    /// be judged (a refusal means something only when the same request without the defect
    /// works). When it did not pass, this one is blocked by it.
    pub control: Option<String>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// A profile statement a scenario depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    PlainRefused,
    Rfc9207,
    Implicit,
    RefreshTokens,
    PkceRequiredForPublic,
    PkceRequiredForConfidential,
    PkceOptionalForConfidential,
}

impl Condition {
    /// What the profile does not say when the condition fails, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Condition::PlainRefused => "that plain PKCE is refused",
            Condition::Rfc9207 => "that authorization responses carry iss (RFC 9207)",
            Condition::Implicit => "that the implicit flow is supported",
            Condition::RefreshTokens => "that refresh tokens are issued",
            Condition::PkceRequiredForPublic => "that public clients must use PKCE",
            Condition::PkceRequiredForConfidential => "that confidential clients must use PKCE",
            Condition::PkceOptionalForConfidential => "that confidential clients may omit PKCE",
        }
    }

    pub fn holds(self, profile: &Profile) -> bool {
        match self {
            Condition::PlainRefused => !profile.flows.pkce_methods.iter().any(|m| m == "plain"),
            Condition::Rfc9207 => profile.flows.authorization_response_iss,
            Condition::Implicit => profile.flows.implicit != Implicit::No,
            Condition::RefreshTokens => profile.flows.refresh_tokens,
            Condition::PkceRequiredForPublic => profile.flows.pkce_required_for_public,
            Condition::PkceRequiredForConfidential => profile.flows.pkce_required_for_confidential,
            Condition::PkceOptionalForConfidential => !profile.flows.pkce_required_for_confidential,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    Authorize(AuthorizeStep),
    Redeem(RedeemStep),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientRole {
    #[default]
    Confidential,
    OtherConfidential,
    Public,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeStep {
    #[serde(default)]
    pub client: ClientRole,
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default)]
    pub repeat: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub fresh_browser: bool,
    #[serde(default)]
    pub expect: AuthorizeExpect,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeExpect {
    pub code: Option<bool>,
    /// The OAuth error the client must receive: one code, or a list of every code the rule
    /// allows.
    #[serde(default, deserialize_with = "one_or_many")]
    pub error: Vec<String>,
    /// The server must visibly refuse: an error sent to the client (one of `error` when given),
    /// or an error page of its own (4xx). A broken flow is never a refusal.
    pub refused: Option<bool>,
    pub state_echoed: Option<bool>,
    pub iss: Option<bool>,
    pub delivery: Option<String>,
    pub tokens: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verifier {
    #[default]
    Right,
    Wrong,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemStep {
    pub client: Option<ClientRole>,
    #[serde(default)]
    pub verifier: Verifier,
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default)]
    pub expect: TokenExpect,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenExpect {
    /// One status, or a list of every status the rule allows.
    #[serde(default, deserialize_with = "one_or_many")]
    pub status: Vec<u16>,
    /// One OAuth error code, or a list of every code the rule allows.
    #[serde(default, deserialize_with = "one_or_many")]
    pub error: Vec<String>,
    #[serde(default)]
    pub has: Vec<String>,
    #[serde(default)]
    pub lacks: Vec<String>,
    pub no_store: Option<bool>,
}

fn yes() -> bool {
    true
}

/// `x` or `[x, y]` (every answer a rule allows) as a list.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(x) => vec![x],
        OneOrMany::Many(xs) => xs,
    })
}

/// Every embedded scenario file, parsed. The files are checked by a unit test; a broken
/// build-time file is a bug.
pub fn files() -> Vec<ScenarioFile> {
    FILES.iter().map(|(origin, text)| parse(text, origin).unwrap_or_else(|e| panic!("{e}"))).collect()
}

/// Every `*.toml` scenario file in `dir`, in name order.
pub fn from_dir(dir: &std::path::Path) -> Result<Vec<ScenarioFile>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read scenario directory {}: {e}", dir.display()))?;
    let mut paths: Vec<std::path::PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read scenario file {}: {e}", path.display()))?;
            parse(&text, &path.display().to_string())
        })
        .collect()
}

pub fn parse(text: &str, origin: &str) -> Result<ScenarioFile, String> {
    let file: ScenarioFile = toml::from_str(text).map_err(|e| format!("scenario file {origin}: {e}"))?;
    for (n, s) in file.scenarios.iter().enumerate() {
        let problem = |what: String| Err(format!("scenario file {origin}: `{}` {what}", s.id));
        if s.steps.is_empty() {
            return problem("has no steps".into());
        }
        if let Some(control) = &s.control
            && !file.scenarios[..n].iter().any(|earlier| earlier.id == *control)
        {
            return problem(format!("names control `{control}`, which is not a scenario earlier in this file"));
        }
        for step in &s.steps {
            // "No code came back" is what a broken flow looks like too: a refusal must be seen.
            if let Step::Authorize(a) = step
                && a.expect.code == Some(false)
                && a.expect.refused != Some(true)
                && a.expect.error.is_empty()
            {
                return problem(
                    "expects `code = false` alone, which a broken flow would pass: add `refused = true` or `error = ...`".into(),
                );
            }
        }
    }
    Ok(file)
}

/// The suite a scenario file defines: one check per scenario, in file order.
pub fn suite(file: &ScenarioFile) -> Suite {
    let checks: Vec<Check> = file.scenarios.iter().map(|s| Check::owned(&s.id, &s.title, &s.spec, s.severity)).collect();
    Suite { name: Cow::Owned(file.suite.clone()), checks: Cow::Owned(checks) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_scenario_files_parse() {
        let files = files();
        assert_eq!(files.iter().map(|f| f.suite.as_str()).collect::<Vec<_>>(), ["authorization-errors", "pkce"]);
        assert!(files.iter().all(|f| !f.scenarios.is_empty()));
    }

    #[test]
    fn mistakes_in_a_scenario_are_named() {
        let bad = "suite = \"x\"\n[[scenario]]\nid = \"a\"\ntitle = \"t\"\nspec = \"s\"\nseverity = \"required\"\n[[scenario.step]]\ndo = \"authorise\"\n";
        let err = parse(bad, "x.toml").unwrap_err();
        assert!(err.contains("authorise"), "{err}");
        let typo = bad.replace("do = \"authorise\"", "do = \"authorize\"\nexpect = { cod = true }");
        assert!(parse(&typo, "x.toml").unwrap_err().contains("cod"));
        let fail_open = bad.replace("do = \"authorise\"", "do = \"authorize\"\nexpect = { code = false }");
        assert!(parse(&fail_open, "x.toml").unwrap_err().contains("refused = true"));
        let control =
            bad.replace("severity = \"required\"\n", "severity = \"required\"\ncontrol = \"nope\"\n").replace("authorise", "authorize");
        assert!(parse(&control, "x.toml").unwrap_err().contains("control `nope`"));
    }

    #[test]
    fn an_expectation_may_list_every_allowed_answer() {
        let text = "suite = \"x\"\n[[scenario]]\nid = \"a\"\ntitle = \"t\"\nspec = \"s\"\nseverity = \"required\"\n\
                    [[scenario.step]]\ndo = \"redeem\"\nexpect = { status = [400, 401], error = \"invalid_client\" }\n";
        let file = parse(text, "x.toml").unwrap();
        let Step::Redeem(step) = &file.scenarios[0].steps[0] else { panic!("a redeem step") };
        assert_eq!(step.expect.status, [400, 401]);
        assert_eq!(step.expect.error, ["invalid_client"]);
    }
}
