//! The conformance engine: checks, their outcomes, and the run that collects them into a report.

pub mod http;
pub mod jwt;
pub mod login;

use reports::{CheckResult, Exchange, Severity, Verdict};
use std::borrow::Cow;
use std::time::Instant;

/// A check's identity: stable id, title, the rule it verifies, and how much a failure matters.
/// Most are constants; the parameter checks are generated from the profile.
#[derive(Debug, Clone)]
pub struct Check {
    pub id: Cow<'static, str>,
    pub title: Cow<'static, str>,
    pub spec: Cow<'static, str>,
    pub severity: Severity,
}

pub const fn required(id: &'static str, title: &'static str, spec: &'static str) -> Check {
    Check { id: Cow::Borrowed(id), title: Cow::Borrowed(title), spec: Cow::Borrowed(spec), severity: Severity::Required }
}

pub const fn recommended(id: &'static str, title: &'static str, spec: &'static str) -> Check {
    Check { id: Cow::Borrowed(id), title: Cow::Borrowed(title), spec: Cow::Borrowed(spec), severity: Severity::Recommended }
}

/// What a check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail(String),
    /// Not applicable, with the reason (usually what the profile says).
    Skip(String),
}

impl Outcome {
    /// `Pass` when `ok`, else a failure saying what was seen.
    pub fn expect(ok: bool, failure: impl FnOnce() -> String) -> Outcome {
        if ok { Outcome::Pass } else { Outcome::Fail(failure()) }
    }
}

/// A suite's list of checks (for `--list` and filtering) and its name.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: Cow<'static, str>,
    pub checks: Cow<'static, [Check]>,
}

/// Collects verdicts for the run, honouring `--suite` / `--check` selections: a suite may run
/// only because a later one needs what it learns, and its verdicts are then left out.
pub struct Run {
    results: Vec<CheckResult>,
    suites: Vec<String>,
    only_check: Option<String>,
    last: Instant,
    /// Checks expected in this run, for the progress bar (drawn only on a terminal).
    expected_total: usize,
    progress_bar: bool,
}

impl Run {
    pub fn new(suites: Vec<String>, only_check: Option<String>, expected_total: usize) -> Run {
        use std::io::IsTerminal;
        let progress_bar = std::io::stderr().is_terminal();
        Run { results: Vec::new(), suites, only_check, last: Instant::now(), expected_total, progress_bar }
    }

    fn draw_progress(&self, suite: &str) {
        if !self.progress_bar || self.expected_total == 0 {
            return;
        }
        const WIDTH: usize = 30;
        let done = self.results.len().min(self.expected_total);
        let filled = done * WIDTH / self.expected_total;
        let failed = self.results.iter().filter(|r| r.verdict == Verdict::Fail).count();
        eprint!("\r\x1b[K[{}{}] {done}/{} {failed} failed  {suite}", "=".repeat(filled), " ".repeat(WIDTH - filled), self.expected_total);
    }

    /// Clears the progress bar so that a normal line can be printed.
    pub fn clear_progress(&self) {
        if self.progress_bar {
            eprint!("\r\x1b[K");
        }
    }

    pub fn wants(&self, suite: &Suite) -> bool {
        self.suites.iter().any(|s| *s == suite.name)
    }

    /// Records the verdict of `check` with the exchanges it relied on.
    pub fn record(&mut self, suite: &Suite, check: &Check, evidence: &[&Exchange], outcome: Outcome) {
        debug_assert!(suite.checks.iter().any(|c| c.id == check.id), "{} is not listed in suite {}", check.id, suite.name);
        let elapsed = self.last.elapsed().as_millis() as u64;
        self.last = Instant::now();
        if !self.wants(suite) || self.only_check.as_deref().is_some_and(|id| id != check.id.as_ref()) {
            return;
        }
        let (verdict, detail) = match outcome {
            Outcome::Pass => (Verdict::Pass, String::new()),
            Outcome::Fail(why) if check.severity == Severity::Required => (Verdict::Fail, why),
            Outcome::Fail(why) => (Verdict::Warning, why),
            Outcome::Skip(why) => (Verdict::Skipped, why),
        };
        self.results.push(CheckResult {
            id: check.id.to_string(),
            suite: suite.name.to_string(),
            title: check.title.to_string(),
            spec: check.spec.to_string(),
            severity: check.severity,
            verdict,
            detail,
            duration_ms: elapsed,
            evidence: evidence.iter().map(|e| (*e).clone()).collect(),
            expected_failure: None,
        });
        self.draw_progress(&suite.name);
    }

    pub fn results(&self) -> &[CheckResult] {
        &self.results
    }

    pub fn into_results(self) -> Vec<CheckResult> {
        self.results
    }
}
