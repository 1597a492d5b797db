//! Distributed runs without a coordinator: worker K of N (`--worker K/N`) runs its share of the
//! load and starts it at a time every worker was given (`--start-at`), so that the workers'
//! load.json files merge (`load merge`) into the result of one run of the whole load.
//! - closed model: the users are dealt out, the first `users % N` workers taking one more;
//! - open model: arrival k of the profile's schedule is worker `k mod N`'s, at its scheduled
//!   time, so the union of the workers' arrivals is exactly the single run's schedule.

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worker {
    /// From 0, as a Kubernetes Indexed Job's completion index counts.
    pub index: u32,
    pub count: u32,
}

/// The most workers one run may have.
const MAX_WORKERS: u32 = 1000;

impl std::str::FromStr for Worker {
    type Err = String;

    fn from_str(text: &str) -> Result<Worker, String> {
        let usage = || format!("`{text}` is not K/N (worker K of N, K from 0: 0/3, 1/3, 2/3)");
        let (k, n) = text.split_once('/').ok_or_else(usage)?;
        let (index, count): (u32, u32) = (k.trim().parse().map_err(|_| usage())?, n.trim().parse().map_err(|_| usage())?);
        if count == 0 || count > MAX_WORKERS {
            return Err(format!("`{text}`: N must be between 1 and {MAX_WORKERS}"));
        }
        if index >= count {
            return Err(format!("`{text}`: K counts from 0, so it must be below N ({count})"));
        }
        Ok(Worker { index, count })
    }
}

impl std::fmt::Display for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Worker {
    /// This worker's share of `users`.
    pub fn users(self, users: usize) -> usize {
        let n = self.count as usize;
        users / n + usize::from((self.index as usize) < users % n)
    }

    /// Whether arrival `k` of the schedule is this worker's.
    pub fn takes(self, k: u64) -> bool {
        k % u64::from(self.count) == u64::from(self.index)
    }
}

/// How far ahead `--start-at` may be: a worker waits for it, and every wait is bounded.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// `--start-at`: an RFC 3339 time (`2026-12-01T10:00:00Z`), in the future and at most an hour
/// away.
pub fn start_at(text: &str, now: SystemTime) -> anyhow::Result<SystemTime> {
    let at = chrono::DateTime::parse_from_rfc3339(text.trim())
        .with_context(|| format!("--start-at {text}: give an RFC 3339 time such as 2026-12-01T10:00:00Z"))?;
    let at = SystemTime::from(at.with_timezone(&chrono::Utc));
    match at.duration_since(now) {
        Err(past) => bail!(
            "--start-at {text} was {:.0} s ago: give every worker the same time, far enough ahead for all of them to start",
            past.duration().as_secs_f64()
        ),
        Ok(wait) if wait > MAX_WAIT => bail!("--start-at {text} is more than an hour away"),
        Ok(_) => Ok(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_share_users_and_arrivals_without_gaps_or_overlap() {
        let workers: Vec<Worker> = ["0/3", "1/3", "2/3"].iter().map(|w| w.parse().unwrap()).collect();
        assert_eq!(workers.iter().map(|w| w.users(10)).collect::<Vec<_>>(), [4, 3, 3]);
        for k in 0..100 {
            assert_eq!(workers.iter().filter(|w| w.takes(k)).count(), 1, "arrival {k}");
        }
        for bad in ["3/3", "1", "a/b", "0/0", "-1/3"] {
            assert!(bad.parse::<Worker>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_start_time_is_rfc_3339_ahead_and_bounded() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let at = |t: &str| start_at(t, now);
        let soon = chrono::DateTime::<chrono::Utc>::from(now + Duration::from_secs(30)).to_rfc3339();
        assert_eq!(at(&soon).unwrap(), now + Duration::from_secs(30));
        let past = chrono::DateTime::<chrono::Utc>::from(now - Duration::from_secs(5)).to_rfc3339();
        assert!(at(&past).unwrap_err().to_string().contains("5 s ago"));
        let far = chrono::DateTime::<chrono::Utc>::from(now + Duration::from_secs(7200)).to_rfc3339();
        assert!(at(&far).is_err() && at("tomorrow").is_err());
    }
}
