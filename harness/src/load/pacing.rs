//! Open-model pacing. goose's `--throttle-requests` caps the request rate: when responses slow
//! down, fewer requests are sent and the slow period is under-sampled (coordinated omission).
//! Here arrival k has a fixed intended start time from the load profile's steps; a user takes
//! the next arrival and sleeps until its time. An arrival whose time has already passed when a
//! user takes it (every user was busy behind a slow server) is measured from its intended
//! start, so time spent queueing is counted.

use super::plan::{Open, duration};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

pub struct Pacer {
    start: Instant,
    /// (arrivals per second, first arrival index, start offset) of each step.
    steps: Vec<(f64, u64, Duration)>,
    total: u64,
    next: AtomicU64,
}

impl Pacer {
    /// Arrivals start at `start` (after goose has launched its users).
    pub fn new(open: &Open, start: Instant) -> anyhow::Result<Pacer> {
        let mut steps = Vec::new();
        let (mut first, mut offset) = (0u64, Duration::ZERO);
        for step in &open.steps {
            let length = duration(&step.duration)?;
            steps.push((step.rate, first, offset));
            first += (step.rate * length.as_secs_f64()).round() as u64;
            offset += length;
        }
        Ok(Pacer { start, steps, total: first, next: AtomicU64::new(0) })
    }

    /// The intended start of the next arrival, or `None` when the profile's arrivals are used up.
    pub fn next(&self) -> Option<Instant> {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        (k < self.total).then(|| self.start + self.offset(k))
    }

    /// When arrival `k` is due: within its step, evenly spaced at the step's rate.
    fn offset(&self, k: u64) -> Duration {
        let (rate, first, offset) = self.steps.iter().rev().find(|(_, first, _)| *first <= k).copied().unwrap_or((1.0, 0, Duration::ZERO));
        offset + Duration::from_secs_f64((k - first) as f64 / rate)
    }

    /// The arrivals the profile schedules.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The arrivals handed out so far (capped at the total).
    pub fn issued(&self) -> u64 {
        self.next.load(Ordering::Relaxed).min(self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::plan::Step;

    #[test]
    fn arrivals_follow_the_steps_and_end() {
        let open =
            Open { max_users: 1, steps: vec![Step { rate: 10.0, duration: "1s".into() }, Step { rate: 100.0, duration: "1s".into() }] };
        let start = Instant::now();
        let pacer = Pacer::new(&open, start).unwrap();
        let times: Vec<Duration> = std::iter::from_fn(|| pacer.next()).map(|t| t - start).collect();
        assert_eq!(times.len(), 110);
        assert_eq!(times[1], Duration::from_millis(100));
        assert_eq!(times[10], Duration::from_secs(1), "the second step starts on time");
        assert_eq!(times[11] - times[10], Duration::from_millis(10));
        assert!(pacer.next().is_none() && pacer.issued() == 110);
    }
}
