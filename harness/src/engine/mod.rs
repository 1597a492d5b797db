//! The conformance engine: checks, their outcomes, and the run that collects them into a report.

pub mod access_token;
pub mod evidence;
#[cfg(test)]
mod hostile_tests;
pub mod html;
pub mod http;
pub mod id_token;
pub mod jwt;
pub mod key_set;
pub mod login;
mod net_error;
pub mod refusal;

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

impl Check {
    /// A check defined by data (a scenario file, an integration pack).
    pub fn owned(id: &str, title: &str, spec: &str, severity: Severity) -> Check {
        Check { id: Cow::Owned(id.into()), title: Cow::Owned(title.into()), spec: Cow::Owned(spec.into()), severity }
    }
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
    /// Passed, saying which of the answers the spec allows was seen (e.g. `error=interaction_required`).
    PassNoted(String),
    Fail(String),
    /// The profile says the feature is absent; the reason says what it says.
    NotApplicable(String),
    /// The target file lacks what the check needs; the reason names it.
    NotRun(String),
    /// A prerequisite failed, so the rule could not be judged.
    Blocked(Blocked),
}

/// Several rules' outcomes as one check's: every failure, named by its rule; else the first
/// blocked prerequisite; else a pass.
pub fn fold<'a>(results: impl IntoIterator<Item = (&'a str, &'a Outcome)>) -> Outcome {
    let mut failures = Vec::new();
    let mut blocked = None;
    for (rule, outcome) in results {
        match outcome {
            Outcome::Fail(why) => failures.push(format!("{rule}: {why}")),
            Outcome::Blocked(_) if blocked.is_none() => blocked = Some(outcome.clone()),
            _ => {}
        }
    }
    if !failures.is_empty() { Outcome::Fail(failures.join("; ")) } else { blocked.unwrap_or(Outcome::Pass) }
}

/// The prerequisite a blocked check waited for: a check id, or a step named in words
/// (`step: ...`) when no check of its own records it, and what happened there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub by: String,
    pub why: String,
}

impl Outcome {
    /// `Pass` when `ok`, else a failure saying what was seen.
    pub fn expect(ok: bool, failure: impl FnOnce() -> String) -> Outcome {
        if ok { Outcome::Pass } else { Outcome::Fail(failure()) }
    }

    /// Blocked by the check `prerequisite` (which records the failure itself).
    pub fn blocked_by(prerequisite: &Check, why: impl Into<String>) -> Outcome {
        Outcome::Blocked(Blocked { by: prerequisite.id.to_string(), why: why.into() })
    }

    /// Blocked by a protocol step that is no check of this suite, e.g. "obtaining the test
    /// user's tokens".
    pub fn blocked_by_step(step: &str, why: impl Into<String>) -> Outcome {
        Outcome::Blocked(Blocked { by: format!("step: {step}"), why: why.into() })
    }
}

/// The `blocked_by` of a check its suite never recorded; tests and the kill matrix treat any as
/// a harness defect.
pub const NOT_REACHED: &str = "step: not reached";

/// The `blocked_by` of a check not judged because the run stopped first (`--timeout`, Ctrl-C,
/// SIGTERM): the detail says which.
pub const RUN_STOPPED: &str = "step: run stopped";

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
    /// The exchanges the results cite (`CheckResult::evidence` indexes into it), each once.
    exchanges: evidence::Table,
    suites: Vec<String>,
    /// `--check`: only these checks (the ids its patterns matched).
    only_checks: Option<std::collections::BTreeSet<String>>,
    last: Instant,
    /// Checks expected in this run, for the progress bar (drawn only on a terminal).
    expected_total: usize,
    progress_bar: bool,
    /// Checks the profile makes not applicable, declared by their suite before anything ran:
    /// whatever a later step records for them, they are not applicable.
    not_applicable: Vec<(String, String)>,
    /// Details quote what servers said (`error_description`, URLs): they pass the same redactor
    /// as the evidence.
    redactor: std::sync::Arc<crate::redact::Redactor>,
    /// Why the run stopped before every suite ended (a deadline, a signal), once it has.
    stopped: Option<String>,
}

impl Run {
    pub fn new(
        suites: Vec<String>,
        only_checks: Option<std::collections::BTreeSet<String>>,
        expected_total: usize,
        redactor: std::sync::Arc<crate::redact::Redactor>,
    ) -> Run {
        use std::io::IsTerminal;
        let progress_bar = std::io::stderr().is_terminal();
        Run {
            results: Vec::new(),
            exchanges: evidence::Table::default(),
            suites,
            only_checks,
            last: Instant::now(),
            expected_total,
            progress_bar,
            not_applicable: Vec::new(),
            redactor,
            stopped: None,
        }
    }

    /// The run stopped before its suites ended (`why`: "the run's deadline (--timeout 10m)
    /// passed"): the checks not recorded yet are reported as blocked by it, not as a defect.
    pub fn stop(&mut self, why: String) {
        self.stopped = Some(why);
    }

    /// Declares that the profile makes `check` not applicable, so that neither a failure nor a
    /// blocked prerequisite recorded for it later can count against the target.
    pub fn declare_not_applicable(&mut self, suite: &Suite, check: &Check, why: &str) {
        debug_assert!(suite.checks.iter().any(|c| c.id == check.id), "{} is not listed in suite {}", check.id, suite.name);
        self.not_applicable.push((check.id.to_string(), why.to_string()));
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

    /// Whether `--check` leaves `check` in.
    fn wants_check(&self, check: &Check) -> bool {
        self.only_checks.as_ref().is_none_or(|ids| ids.contains(check.id.as_ref()))
    }

    /// Records the verdict of `check` with the exchanges it relied on.
    pub fn record(&mut self, suite: &Suite, check: &Check, evidence: &[&Exchange], outcome: Outcome) {
        debug_assert!(suite.checks.iter().any(|c| c.id == check.id), "{} is not listed in suite {}", check.id, suite.name);
        let elapsed = self.last.elapsed().as_millis() as u64;
        self.last = Instant::now();
        if !self.wants(suite) || !self.wants_check(check) {
            return;
        }
        // A suite that records a check twice is a defect of ours: the first verdict stands (a
        // user's run must not panic for it).
        if self.results.iter().any(|r| r.id == check.id) {
            tracing::error!("check {} recorded twice; the first verdict stands", check.id);
            return;
        }
        let outcome = match self.not_applicable.iter().find(|(id, _)| *id == check.id) {
            Some((_, why)) => Outcome::NotApplicable(why.clone()),
            None => outcome,
        };
        let (verdict, detail, blocked_by) = match outcome {
            Outcome::Pass => (Verdict::Pass, String::new(), None),
            Outcome::PassNoted(note) => (Verdict::Pass, note, None),
            Outcome::Fail(why) if check.severity == Severity::Required => (Verdict::Fail, why, None),
            Outcome::Fail(why) => (Verdict::Warning, why, None),
            Outcome::NotApplicable(why) => (Verdict::NotApplicable, why, None),
            Outcome::NotRun(why) => (Verdict::NotRun, why, None),
            Outcome::Blocked(Blocked { by, why }) => (Verdict::Blocked, why, Some(by)),
        };
        let detail = crate::limits::cut_owned(self.redactor.text(&detail), crate::limits::DETAIL_BYTES);
        self.results.push(CheckResult {
            id: check.id.to_string(),
            suite: suite.name.to_string(),
            title: check.title.to_string(),
            spec: check.spec.to_string(),
            severity: check.severity,
            verdict,
            detail,
            duration_ms: elapsed,
            // Only a verdict that is kept adds its exchanges to the table (the returns above).
            evidence: evidence.iter().map(|e| self.exchanges.insert(e)).collect(),
            expected_failure: None,
            blocked_by,
        });
        self.draw_progress(&suite.name);
    }

    pub fn results(&self) -> &[CheckResult] {
        &self.results
    }

    /// The verdicts, one per selected check in suite order: the set of checks in a report never
    /// depends on what failed. A selected check its suite never recorded is kept as blocked, so
    /// it can neither vanish nor pass: by the stop when the run was stopped, else by a suite
    /// that returned early (a defect of ours). The checks come with the exchanges they cite.
    pub fn into_results(mut self, selected: &[Suite]) -> Verdicts {
        let mut ordered = Vec::with_capacity(self.results.len());
        for suite in selected {
            for check in suite.checks.iter() {
                if !self.wants_check(check) {
                    continue;
                }
                let (blocked_by, detail) = match &self.stopped {
                    Some(why) => (RUN_STOPPED, format!("{why} before this check was judged")),
                    None => (NOT_REACHED, format!("{NOT_REACHED}: the {} suite ended before judging this check", suite.name)),
                };
                match self.results.iter().position(|r| r.id == check.id && r.suite == suite.name) {
                    Some(at) => ordered.push(self.results.swap_remove(at)),
                    None => ordered.push(CheckResult {
                        id: check.id.to_string(),
                        suite: suite.name.to_string(),
                        title: check.title.to_string(),
                        spec: check.spec.to_string(),
                        severity: check.severity,
                        verdict: Verdict::Blocked,
                        detail,
                        duration_ms: 0,
                        evidence: Vec::new(),
                        expected_failure: None,
                        blocked_by: Some(blocked_by.to_string()),
                    }),
                }
            }
        }
        let exchanges = self.exchanges.into_cited(&mut ordered);
        Verdicts { checks: ordered, exchanges }
    }
}

/// What a run concluded: the verdicts, and the exchange table their `evidence` indexes into
/// (`reports::Report::checks` and `exchanges`).
pub struct Verdicts {
    pub checks: Vec<CheckResult>,
    pub exchanges: Vec<Exchange>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Check = required("s.a", "a", "RFC 0");
    const B: Check = required("s.b", "b", "RFC 0");
    const C: Check = required("s.c", "c", "RFC 0");

    fn exchange(url: &str) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: url.into(),
            request_headers: Vec::new(),
            request_body: None,
            status: Some(200),
            response_headers: Vec::new(),
            response_body: Some("<form>".into()),
            response_truncated: false,
            error: None,
            jwts: Vec::new(),
        }
    }

    #[test]
    fn checks_citing_the_same_exchange_share_one_entry() {
        let suite = Suite { name: "s".into(), checks: Cow::Owned(vec![A, B, C]) };
        let redactor = std::sync::Arc::new(crate::redact::Redactor::new(Vec::new()));
        let mut run = Run::new(vec!["s".into()], None, 0, redactor);
        let (login, token) = (exchange("https://idp.test/login"), exchange("https://idp.test/token"));
        run.record(&suite, &A, &[&login], Outcome::Pass);
        // A copy of the same content, as a suite holding its own clone would pass it.
        run.record(&suite, &B, &[&token, &login.clone()], Outcome::Pass);
        run.record(&suite, &C, &[], Outcome::Pass);
        let verdicts = run.into_results(&[suite]);
        assert_eq!(verdicts.exchanges, [login, token]);
        let cited: Vec<&[usize]> = verdicts.checks.iter().map(|c| c.evidence.as_slice()).collect();
        assert_eq!(cited, [&[0][..], &[1, 0], &[]]);
    }
}
