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
}

impl Condition {
    pub fn holds(self, profile: &Profile) -> bool {
        match self {
            Condition::PlainRefused => !profile.flows.pkce_methods.iter().any(|m| m == "plain"),
            Condition::Rfc9207 => profile.flows.authorization_response_iss,
            Condition::Implicit => profile.flows.implicit != Implicit::No,
            Condition::RefreshTokens => profile.flows.refresh_tokens,
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
    pub error: Option<String>,
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
    pub status: Option<u16>,
    pub error: Option<String>,
    #[serde(default)]
    pub has: Vec<String>,
    #[serde(default)]
    pub lacks: Vec<String>,
    pub no_store: Option<bool>,
}

fn yes() -> bool {
    true
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
    for s in &file.scenarios {
        if s.steps.is_empty() {
            return Err(format!("scenario file {origin}: `{}` has no steps", s.id));
        }
    }
    Ok(file)
}

/// The suite a scenario file defines: one check per scenario, in file order.
pub fn suite(file: &ScenarioFile) -> Suite {
    let checks = file
        .scenarios
        .iter()
        .map(|s| Check {
            id: Cow::Owned(s.id.clone()),
            title: Cow::Owned(s.title.clone()),
            spec: Cow::Owned(s.spec.clone()),
            severity: s.severity,
        })
        .collect::<Vec<_>>();
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
    }
}
