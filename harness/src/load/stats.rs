//! What a load run measured: per-transaction latency histograms (microseconds, HdrHistogram,
//! serialised so runs merge exactly), a time series of them (counts, failures and a coarser
//! histogram per interval, for the charts and for merging workers), outcomes, errors by HTTP
//! status and OAuth error code, and the sampled validation of issued tokens.

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Significant digits of the run's histograms: 0.1% resolution from 1 µs up. A merge refuses
/// reports written with another setting.
pub const SIGNIFICANT_DIGITS: u8 = 3;
/// Of the time series' histograms: 1% is plenty for a chart, and keeps a long run's series small.
pub const SERIES_SIGNIFICANT_DIGITS: u8 = 2;
/// At most this many intervals in a time series: a long run gets longer intervals, so the series'
/// memory is bounded whatever the run time.
const MAX_INTERVALS: u64 = 1800;

/// Shared by every goose user of a run.
pub struct Stats {
    inner: Mutex<Inner>,
    /// Where the time series starts: the load's start (the shared start time of workers).
    origin: Instant,
    interval: Duration,
}

#[derive(Default)]
struct Inner {
    transactions: BTreeMap<&'static str, Tally>,
    errors: BTreeMap<String, u64>,
    validated: u64,
    invalid: u64,
    problems: Vec<String>,
    /// When the last transaction ended: the measured window ends there, not at goose's shutdown.
    last_end: Option<Instant>,
    /// Transactions under way, by id: their kind and (intended) start.
    under_way: BTreeMap<u64, (&'static str, Instant)>,
    next_id: u64,
    /// Set by `seal`: nothing is recorded afterwards.
    sealed: bool,
}

/// One transaction kind's measurements, from a run or merged from several.
#[derive(Clone, Debug)]
pub struct Tally {
    pub latency_us: Histogram<u64>,
    pub ok: u64,
    pub failed: u64,
    /// By interval index since the origin; intervals without transactions are absent.
    pub series: BTreeMap<u64, Bucket>,
}

#[derive(Clone, Debug)]
pub struct Bucket {
    pub count: u64,
    pub failed: u64,
    pub latency_us: Histogram<u64>,
}

/// The first validation problems kept for the report (the count has them all).
const PROBLEMS_KEPT: usize = 10;

/// The interval of a run's time series: a second, or longer for runs beyond half an hour.
pub fn series_interval(run_time: Duration) -> Duration {
    Duration::from_secs(run_time.as_secs().div_ceil(MAX_INTERVALS).max(1))
}

fn histogram(digits: u8) -> Histogram<u64> {
    // Auto-resizing: it grows to the largest value recorded.
    Histogram::new(digits).expect("2 or 3 significant digits is valid")
}

/// Records `us` (at least 1): `record` grows the histogram, only a value beyond u64 saturates.
fn record_us(h: &mut Histogram<u64>, us: u64) {
    if h.record(us).is_err() {
        h.saturating_record(us);
    }
}

impl Tally {
    fn new() -> Tally {
        Tally { latency_us: histogram(SIGNIFICANT_DIGITS), ok: 0, failed: 0, series: BTreeMap::new() }
    }

    fn record(&mut self, interval: u64, us: u64, ok: bool) {
        record_us(&mut self.latency_us, us);
        let bucket =
            self.series.entry(interval).or_insert_with(|| Bucket { count: 0, failed: 0, latency_us: histogram(SERIES_SIGNIFICANT_DIGITS) });
        bucket.count += 1;
        record_us(&mut bucket.latency_us, us);
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
            bucket.failed += 1;
        }
    }

    /// Adds `other` exactly (histograms added, counts summed), its series shifted by `shift`
    /// intervals (when the runs' origins differ).
    pub fn add(&mut self, other: &Tally, shift: u64) -> anyhow::Result<()> {
        self.latency_us.add(&other.latency_us).map_err(|e| anyhow::anyhow!("adding histograms: {e:?}"))?;
        self.ok += other.ok;
        self.failed += other.failed;
        for (at, b) in &other.series {
            let mine = self.series.entry(at + shift).or_insert_with(|| Bucket {
                count: 0,
                failed: 0,
                latency_us: histogram(SERIES_SIGNIFICANT_DIGITS),
            });
            mine.count += b.count;
            mine.failed += b.failed;
            mine.latency_us.add(&b.latency_us).map_err(|e| anyhow::anyhow!("adding histograms: {e:?}"))?;
        }
        Ok(())
    }

    /// Read back from a report (to merge it).
    pub fn from_summary(t: &TransactionSummary, interval_s: u64) -> anyhow::Result<Tally> {
        let latency_us = decode(&t.histogram)?;
        let mut series = BTreeMap::new();
        for point in &t.series {
            if interval_s == 0 || point.at_s % interval_s != 0 {
                anyhow::bail!("a time series point at {} s is not on the {interval_s} s intervals", point.at_s);
            }
            let latency_us = decode(&point.histogram)?;
            series.insert(point.at_s / interval_s, Bucket { count: point.count, failed: point.failed, latency_us });
        }
        if latency_us.len() != t.count || t.ok + t.failed != t.count {
            anyhow::bail!("its histogram holds {} times for {} transactions", latency_us.len(), t.count);
        }
        Ok(Tally { latency_us, ok: t.ok, failed: t.failed, series })
    }

    /// The report's form, throughput over a window of `window_s` seconds.
    pub fn summary(&self, window_s: f64, interval_s: u64) -> TransactionSummary {
        let count = self.ok + self.failed;
        TransactionSummary {
            count,
            ok: self.ok,
            failed: self.failed,
            throughput_per_s: if window_s > 0.0 { count as f64 / window_s } else { 0.0 },
            latency_us: Percentiles::of(&self.latency_us),
            histogram: encode(&self.latency_us),
            series: self
                .series
                .iter()
                .map(|(at, b)| SeriesPoint {
                    at_s: at * interval_s,
                    count: b.count,
                    failed: b.failed,
                    p50: b.latency_us.value_at_quantile(0.50),
                    p90: b.latency_us.value_at_quantile(0.90),
                    p99: b.latency_us.value_at_quantile(0.99),
                    histogram: encode(&b.latency_us),
                })
                .collect(),
        }
    }
}

impl Stats {
    /// Statistics of a run whose load starts at `origin`, with a time series in `interval`s.
    pub fn new(origin: Instant, interval: Duration) -> Stats {
        Stats { inner: Mutex::default(), origin, interval: interval.max(Duration::from_secs(1)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A transaction of `name` begins, due at `started`; `end` records it.
    pub fn begin(&self, name: &'static str, started: Instant) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.under_way.insert(id, (name, started));
        id
    }

    /// Transaction `id` ended now.
    pub fn end(&self, id: u64, ok: bool) {
        let mut inner = self.lock();
        if let Some((name, started)) = inner.under_way.remove(&id) {
            self.record_in(&mut inner, name, started.elapsed(), ok);
        }
    }

    /// One transaction of `name` that ended now, `latency` from its (intended) start.
    pub fn record(&self, name: &'static str, latency: Duration, ok: bool) {
        let mut inner = self.lock();
        self.record_in(&mut inner, name, latency, ok);
    }

    fn record_in(&self, inner: &mut Inner, name: &'static str, latency: Duration, ok: bool) {
        if inner.sealed {
            return;
        }
        let now = Instant::now();
        let interval = (now.saturating_duration_since(self.origin).as_secs() / self.interval.as_secs()).min(MAX_INTERVALS * 2);
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
        inner.transactions.entry(name).or_insert_with(Tally::new).record(interval, us, ok);
        inner.last_end = Some(now);
    }

    /// Ends the recording. With `count_unfinished` (the open model, whose every arrival is
    /// work that was asked for), the transactions still under way count as failed, timed to
    /// now, with the error `unfinished`; returns how many there were.
    pub fn seal(&self, count_unfinished: bool) -> u64 {
        let mut inner = self.lock();
        let under_way = std::mem::take(&mut inner.under_way);
        if count_unfinished {
            for (name, started) in under_way.values() {
                self.record_in(&mut inner, name, started.elapsed(), false);
            }
            if !under_way.is_empty() {
                *inner.errors.entry("unfinished".into()).or_default() += under_way.len() as u64;
            }
        }
        inner.sealed = true;
        if count_unfinished { under_way.len() as u64 } else { 0 }
    }

    /// An error, keyed like "400 invalid_grant" or "transport".
    pub fn error(&self, key: String) {
        let mut inner = self.lock();
        if !inner.sealed {
            *inner.errors.entry(key).or_default() += 1;
        }
    }

    /// A sampled token's validation.
    pub fn validated(&self, problem: Option<String>) {
        let mut inner = self.lock();
        inner.validated += 1;
        if let Some(p) = problem {
            inner.invalid += 1;
            if inner.problems.len() < PROBLEMS_KEPT {
                inner.problems.push(p);
            }
        }
    }

    /// Completed transactions, and the slowest p99 so far (for the progress line).
    pub fn progress(&self) -> (u64, u64, u64) {
        let inner = self.lock();
        let count = inner.transactions.values().map(|t| t.ok + t.failed).sum();
        let errors = inner.transactions.values().map(|t| t.failed).sum();
        let p99 = inner.transactions.values().map(|t| t.latency_us.value_at_quantile(0.99)).max().unwrap_or(0);
        (count, errors, p99)
    }

    /// The measured window: from the origin to the end of the last transaction (goose's shutdown
    /// is not part of it).
    pub fn window(&self) -> Duration {
        self.lock().last_end.map_or(Duration::ZERO, |end| end.saturating_duration_since(self.origin))
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The run's summary, throughput over `window_s` seconds.
    pub fn summary(&self, window_s: f64) -> (BTreeMap<String, TransactionSummary>, BTreeMap<String, u64>, Validation) {
        let inner = self.lock();
        let interval_s = self.interval.as_secs();
        let transactions = inner.transactions.iter().map(|(name, t)| (name.to_string(), t.summary(window_s, interval_s))).collect();
        let validation = Validation { sampled: inner.validated, invalid: inner.invalid, problems: inner.problems.clone() };
        (transactions, inner.errors.clone(), validation)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionSummary {
    pub count: u64,
    pub ok: u64,
    pub failed: u64,
    /// Completed transactions per second over the measured window.
    pub throughput_per_s: f64,
    pub latency_us: Percentiles,
    /// The whole latency histogram in microseconds: HdrHistogram V2 + deflate, base64. Merge
    /// histograms (not percentiles) to combine runs.
    pub histogram: String,
    /// Per interval of the report's `series_interval_s` (by when transactions ended): counts,
    /// failures and percentiles, with the interval's own histogram (2 significant digits).
    #[serde(default)]
    pub series: Vec<SeriesPoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// The interval's start, in seconds from the load's start.
    pub at_s: u64,
    pub count: u64,
    pub failed: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub histogram: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Percentiles {
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        Percentiles {
            min: h.min(),
            mean: (h.mean() * 10.0).round() / 10.0,
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Validation {
    /// Issued tokens checked (signature against the JWKS and claims).
    pub sampled: u64,
    pub invalid: u64,
    pub problems: Vec<String>,
}

fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// A histogram from a report's `histogram` field.
pub fn decode(text: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| anyhow::anyhow!("a histogram is not base64"))?;
    let mut h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("a histogram is not HdrHistogram V2 ({e:?})"))?;
    // A deserialised histogram has the range it was written with: adding a wider one grows it.
    h.auto(true);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_the_report_and_merge_exactly() {
        let origin = Instant::now();
        let (a, b) = (Stats::new(origin, Duration::from_secs(1)), Stats::new(origin, Duration::from_secs(1)));
        a.record("t", Duration::from_secs(30), true);
        for us in 1..=1000u64 {
            a.record("t", Duration::from_micros(us), true);
            b.record("t", Duration::from_micros(us * 10), us % 100 != 0);
        }
        let (sa, _, _) = a.summary(1.0);
        let (sb, _, _) = b.summary(1.0);
        assert_eq!(sa["t"].latency_us.p50, 501);
        assert!(sa["t"].latency_us.max >= 29_990_000, "long times are kept, not clipped: {}", sa["t"].latency_us.max);
        assert_eq!(sb["t"].failed, 10);
        let mut merged = Tally::from_summary(&sa["t"], 1).unwrap();
        merged.add(&Tally::from_summary(&sb["t"], 1).unwrap(), 0).unwrap();
        assert_eq!(merged.latency_us.len(), 2001);
        // The merged median is the true median of all 2,001 times (910: 1,001 of them are at
        // most 910), to the histogram's resolution; averaging the two p50s would say 2,753.
        let p50 = merged.latency_us.value_at_quantile(0.5);
        assert!((905..=915).contains(&p50), "{p50}");
        // The series merges too: one interval, every transaction of both runs, their failures.
        let series = merged.summary(1.0, 1).series;
        assert_eq!((series.len(), series[0].count, series[0].failed), (1, 2001, 10));
    }

    #[test]
    fn a_report_whose_histogram_disagrees_with_its_counts_is_refused() {
        let s = Stats::new(Instant::now(), Duration::from_secs(1));
        s.record("t", Duration::from_micros(5), true);
        let (mut t, _, _) = s.summary(1.0);
        let t = t.get_mut("t").unwrap();
        t.count = 2;
        assert!(Tally::from_summary(t, 1).unwrap_err().to_string().contains("1 times for 2 transactions"));
        assert!(decode("not base64!").is_err());
    }

    #[test]
    fn long_runs_get_longer_intervals() {
        assert_eq!(series_interval(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(series_interval(Duration::from_secs(4 * 3600)), Duration::from_secs(8));
    }
}
