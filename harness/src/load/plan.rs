//! Load profiles (`scenarios/load/*.toml`): how much load, in which shape, and the mix of the
//! `mixed` scenario. Two models:
//! - closed: a fixed number of users, each starting its next transaction when the last one ends
//!   (the load drops when the server slows down);
//! - open: arrivals per second in steps, independent of how fast the server answers (no
//!   coordinated omission: a late arrival is measured from when it should have started).

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadPlan {
    pub description: String,
    pub closed: Option<Closed>,
    pub open: Option<Open>,
    /// Weights of the `mixed` scenario, by scenario name.
    #[serde(default)]
    pub mix: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closed {
    pub users: usize,
    /// Time to start all users, e.g. "2s".
    pub ramp: String,
    /// Time at full load after the ramp.
    pub hold: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open {
    /// Concurrency cap: the goose users that serve arrivals. Arrivals beyond it queue, and their
    /// queueing time is part of the latency measured.
    pub max_users: usize,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Arrivals per second.
    pub rate: f64,
    pub duration: String,
}

/// The built-in templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("smoke", include_str!("../../../scenarios/load/smoke.toml")),
    ("ramp", include_str!("../../../scenarios/load/ramp.toml")),
    ("steady", include_str!("../../../scenarios/load/steady.toml")),
    ("spike", include_str!("../../../scenarios/load/spike.toml")),
    ("soak", include_str!("../../../scenarios/load/soak.toml")),
];

/// The longest run a load profile may ask for: every load loop is bounded in time.
const MAX_RUN: Duration = Duration::from_secs(4 * 3600);

impl LoadPlan {
    /// A template name (`smoke`, `ramp`, `steady`, `spike`, `soak`) or a TOML file.
    pub fn load(name_or_path: &str) -> anyhow::Result<LoadPlan> {
        let (origin, text) = match TEMPLATES.iter().find(|(n, _)| *n == name_or_path) {
            Some((name, text)) => (format!("load profile `{name}`"), text.to_string()),
            None => {
                let path = Path::new(name_or_path);
                if !path.exists() {
                    let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
                    bail!("no load profile `{name_or_path}`: give a file or one of {}", names.join(", "));
                }
                (path.display().to_string(), std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
            }
        };
        let plan: LoadPlan = toml::from_str(&text).with_context(|| origin.clone())?;
        plan.validate().with_context(|| origin)?;
        Ok(plan)
    }

    fn validate(&self) -> anyhow::Result<()> {
        match (&self.closed, &self.open) {
            (Some(c), None) => {
                if c.users == 0 {
                    bail!("closed.users must be at least 1");
                }
                duration(&c.ramp)?;
                duration(&c.hold)?;
            }
            (None, Some(o)) => {
                if o.max_users == 0 || o.steps.is_empty() {
                    bail!("open needs max_users >= 1 and at least one [[open.step]]");
                }
                for step in &o.steps {
                    if !(step.rate.is_finite() && step.rate > 0.0 && step.rate <= 1_000_000.0) {
                        bail!("open.step rate {} must be between 0 and 1,000,000 per second", step.rate);
                    }
                    duration(&step.duration)?;
                }
            }
            _ => bail!("give exactly one of [closed] or [open]"),
        }
        if self.run_time()? > MAX_RUN {
            bail!("the run would last longer than {} hours", MAX_RUN.as_secs() / 3600);
        }
        Ok(())
    }

    /// The same shape lasting `total` (`--run-time`): a closed plan keeps its users and ramp
    /// (cut to `total` when longer) and holds for the rest; an open plan's steps keep their rates
    /// and their share of the time.
    pub fn with_run_time(&self, total: Duration) -> anyhow::Result<LoadPlan> {
        if total.is_zero() || total > MAX_RUN {
            bail!("--run-time must be above zero and at most {} hours", MAX_RUN.as_secs() / 3600);
        }
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        let mut plan = self.clone();
        if let Some(c) = &mut plan.closed {
            let ramp = duration(&c.ramp)?.min(total);
            c.ramp = ms(ramp);
            c.hold = ms(total - ramp);
        }
        if let Some(o) = &mut plan.open {
            let before = self.run_time()?.as_secs_f64();
            for step in &mut o.steps {
                let share = duration(&step.duration)?.as_secs_f64() / before;
                step.duration = ms(Duration::from_secs_f64(total.as_secs_f64() * share).max(Duration::from_millis(1)));
            }
        }
        Ok(plan)
    }

    /// SHA-256 (hex) of this plan and the scenario: what the workers of one run share.
    pub fn digest(&self, scenario: super::scenarios::ScenarioName) -> String {
        let text = format!("{}\n{}", scenario.name(), serde_json::to_string(self).unwrap_or_default());
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Worker `w`'s share: its closed-model users, or its open-model concurrency cap (the
    /// arrivals are shared by the pacer).
    pub fn share(&self, w: super::worker::Worker) -> anyhow::Result<LoadPlan> {
        let mut plan = self.clone();
        if let Some(c) = &mut plan.closed {
            c.users = w.users(c.users);
            if c.users == 0 {
                bail!(
                    "worker {w} gets none of the profile's {} users: run fewer workers or give the profile more users",
                    self.closed.as_ref().map_or(0, |c| c.users)
                );
            }
        }
        if let Some(o) = &mut plan.open {
            o.max_users = o.max_users.div_ceil(w.count as usize);
        }
        Ok(plan)
    }

    /// The weight of `kind` in a run of `scenario`: 1 for a one-kind scenario, the [mix] weight
    /// for `mixed` (0: the kind does not run).
    pub fn weight(&self, kind: super::scenarios::Kind, scenario: super::scenarios::ScenarioName) -> usize {
        if scenario.kinds().len() == 1 { 1 } else { self.mix.get(kind.name()).copied().unwrap_or(0) }
    }

    /// How long the load lasts (ramp and hold, or every step).
    pub fn run_time(&self) -> anyhow::Result<Duration> {
        Ok(match (&self.closed, &self.open) {
            (Some(c), _) => duration(&c.ramp)? + duration(&c.hold)?,
            (_, Some(o)) => o.steps.iter().map(|s| duration(&s.duration)).sum::<anyhow::Result<Duration>>()?,
            _ => Duration::ZERO,
        })
    }
}

/// "250ms", "10s", "2m", "1h", or several, as goose writes them: "1h30m", "2m30s".
pub fn duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let mut rest = text;
    let mut total = Duration::ZERO;
    loop {
        let split = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (number, after) = rest.split_at(split);
        let n: u64 = number.parse().with_context(|| format!("`{text}` is not a duration like 500ms, 10s, 2m, 1h or 1m30s"))?;
        let unit_len = after.find(|c: char| c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        total += match unit {
            "ms" => Duration::from_millis(n),
            "s" | "" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => bail!("`{text}`: unknown unit `{unit}` (ms, s, m or h)"),
        };
        if next.is_empty() {
            return Ok(total);
        }
        rest = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_time_keeps_the_shape_and_changes_only_how_long_it_lasts() {
        let steady = LoadPlan::load("steady").unwrap();
        let short = steady.with_run_time(Duration::from_secs(5)).unwrap();
        assert_eq!(short.run_time().unwrap(), Duration::from_secs(5));
        assert_eq!(short.mix, steady.mix);
        match (&steady.closed, &short.closed, &steady.open, &short.open) {
            (Some(before), Some(after), _, _) => assert_eq!(before.users, after.users),
            (_, _, Some(before), Some(after)) => {
                assert_eq!(before.max_users, after.max_users);
                let rates = |o: &Open| o.steps.iter().map(|s| s.rate).collect::<Vec<_>>();
                assert_eq!(rates(before), rates(after));
            }
            _ => panic!("the model changed"),
        }
        let spike = LoadPlan::load("spike").unwrap();
        let scaled = spike.with_run_time(spike.run_time().unwrap() * 2).unwrap();
        assert!(scaled.run_time().unwrap().abs_diff(spike.run_time().unwrap() * 2) < Duration::from_millis(10));
        assert!(steady.with_run_time(Duration::ZERO).is_err());
    }

    #[test]
    fn every_template_is_valid() {
        for (name, _) in TEMPLATES {
            let plan = LoadPlan::load(name).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(plan.run_time().unwrap() > Duration::ZERO, "{name}");
        }
    }

    #[test]
    fn durations_and_bad_plans() {
        assert_eq!(duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("2m").unwrap(), Duration::from_secs(120));
        assert!(duration("2 weeks").is_err() && duration("s").is_err());
        assert_eq!(duration("1m30s").unwrap(), Duration::from_secs(90));
        let both: Result<LoadPlan, _> = toml::from_str(
            "description = \"x\"\n[closed]\nusers = 1\nramp = \"1s\"\nhold = \"1s\"\n[open]\nmax_users = 1\n[[open.step]]\nrate = 1.0\nduration = \"1s\"\n",
        );
        assert!(both.unwrap().validate().is_err(), "closed and open together are refused");
        let endless: LoadPlan = toml::from_str("description = \"x\"\n[closed]\nusers = 1\nramp = \"1s\"\nhold = \"100h\"\n").unwrap();
        assert!(endless.validate().is_err(), "runs are bounded in time");
    }
}
