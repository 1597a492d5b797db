//! Open-model pacing. goose's `--throttle-requests` caps the request rate: when responses slow
//! down, fewer requests are sent and the slow period is under-sampled (coordinated omission).
//! Here arrival k has a fixed intended start time from the load profile's steps; a user takes
//! the next arrival and sleeps until its time. An arrival whose time has already passed when a
//! user takes it (every user was busy behind a slow server) is measured from its intended
//! start, so time spent queueing is counted.

use super::plan::{Open, duration};
use super::worker::Worker;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

pub struct Pacer {
    start: Instant,
    /// (arrivals per second, first arrival index, start offset) of each step.
    steps: Vec<(f64, u64, Duration)>,
    /// This worker's share of the schedule's arrivals: arrival k is the worker's j-th when
    /// k = j * stride + first.
    first: u64,
    stride: u64,
    mine: u64,
    next: AtomicU64,
}

impl Pacer {
    /// Arrivals start at `start` (after goose has launched its users); a worker paces its own
    /// share of them.
    pub fn new(open: &Open, start: Instant, worker: Option<Worker>) -> anyhow::Result<Pacer> {
        let mut steps = Vec::new();
        let (mut first, mut offset) = (0u64, Duration::ZERO);
        for step in &open.steps {
            let length = duration(&step.duration)?;
            steps.push((step.rate, first, offset));
            first += (step.rate * length.as_secs_f64()).round() as u64;
            offset += length;
        }
        let total = first;
        let (first, stride) = worker.map_or((0, 1), |w| (u64::from(w.index), u64::from(w.count)));
        debug_assert!(worker.is_none_or(|w| w.takes(first)));
        let mine = total.saturating_sub(first).div_ceil(stride);
        Ok(Pacer { start, steps, first, stride, mine, next: AtomicU64::new(0) })
    }

    /// The intended start of the next arrival, or `None` when the arrivals are used up.
    pub fn next(&self) -> Option<Instant> {
        let j = self.next.fetch_add(1, Ordering::Relaxed);
        (j < self.mine).then(|| self.due(j))
    }

    /// When this pacer's `j`-th arrival is due.
    fn due(&self, j: u64) -> Instant {
        self.start + self.offset(j * self.stride + self.first)
    }

    /// The arrivals nobody took by now, each with when it was due; they are taken, so none is
    /// started afterwards.
    pub fn take_rest(&self) -> Vec<Instant> {
        let from = self.next.swap(self.mine, Ordering::Relaxed).min(self.mine);
        (from..self.mine).map(|j| self.due(j)).collect()
    }

    /// When arrival `k` is due: within its step, evenly spaced at the step's rate.
    fn offset(&self, k: u64) -> Duration {
        let (rate, first, offset) = self.steps.iter().rev().find(|(_, first, _)| *first <= k).copied().unwrap_or((1.0, 0, Duration::ZERO));
        offset + Duration::from_secs_f64((k - first) as f64 / rate)
    }

    /// The arrivals this pacer schedules (a worker's share of the profile's).
    pub fn total(&self) -> u64 {
        self.mine
    }

    /// The arrivals handed out so far (capped at the total).
    pub fn issued(&self) -> u64 {
        self.next.load(Ordering::Relaxed).min(self.mine)
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
        let pacer = Pacer::new(&open, start, None).unwrap();
        let times: Vec<Duration> = std::iter::from_fn(|| pacer.next()).map(|t| t - start).collect();
        assert_eq!(times.len(), 110);
        assert_eq!(times[1], Duration::from_millis(100));
        assert_eq!(times[10], Duration::from_secs(1), "the second step starts on time");
        assert_eq!(times[11] - times[10], Duration::from_millis(10));
        assert!(pacer.next().is_none() && pacer.issued() == 110);

        // Three workers' arrivals are the single schedule, split without gaps or overlap.
        let mut union: Vec<Duration> = ["0/3", "1/3", "2/3"]
            .iter()
            .flat_map(|w| {
                let pacer = Pacer::new(&open, start, Some(w.parse().unwrap())).unwrap();
                std::iter::from_fn(move || pacer.next()).map(|t| t - start).collect::<Vec<_>>()
            })
            .collect();
        union.sort();
        assert_eq!(union, times);
    }

    #[test]
    fn the_arrivals_left_are_taken_with_when_they_were_due() {
        let open = Open { max_users: 1, steps: vec![Step { rate: 10.0, duration: "1s".into() }] };
        let start = Instant::now();
        let pacer = Pacer::new(&open, start, Some("1/2".parse().unwrap())).unwrap();
        assert_eq!(pacer.total(), 5);
        assert_eq!(pacer.next().map(|t| t - start), Some(Duration::from_millis(100)));
        let rest = pacer.take_rest();
        assert_eq!(rest.iter().map(|t| *t - start).collect::<Vec<_>>().last(), Some(&Duration::from_millis(900)));
        assert_eq!((rest.len(), pacer.issued()), (4, 5));
        assert!(pacer.next().is_none() && pacer.take_rest().is_empty());
    }
}
