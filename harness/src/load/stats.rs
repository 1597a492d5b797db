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

/// Kinds of error kept apart in a report; the rest are counted as `OTHER_ERRORS`.
const MAX_ERROR_KEYS: usize = 50;
const OTHER_ERRORS: &str = "other errors (more than 50 kinds)";

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

    /// Read back from a report (to merge it), checked: a report that does not add up is refused,
    /// not merged.
    pub fn from_summary(t: &TransactionSummary, interval_s: u64) -> anyhow::Result<Tally> {
        let latency_us = decode(&t.histogram, SIGNIFICANT_DIGITS)?;
        if latency_us.len() != t.count || t.ok + t.failed != t.count {
            anyhow::bail!("its histogram holds {} times for {} transactions", latency_us.len(), t.count);
        }
        let mut series = BTreeMap::new();
        for point in &t.series {
            let at = point.at_s.checked_div(interval_s).filter(|at| at * interval_s == point.at_s && *at <= MAX_INTERVALS * 2);
            let Some(at) = at else {
                anyhow::bail!("a time series point at {} s is not one of the run's {interval_s} s intervals", point.at_s);
            };
            let latency_us = decode(&point.histogram, SERIES_SIGNIFICANT_DIGITS)?;
            if latency_us.len() != point.count || point.failed > point.count || series.contains_key(&at) {
                anyhow::bail!("the time series point at {} s does not add up", point.at_s);
            }
            series.insert(at, Bucket { count: point.count, failed: point.failed, latency_us });
        }
        let (count, failed) = series.values().fold((0, 0), |(c, f), b| (c + b.count, f + b.failed));
        if !t.series.is_empty() && (count, failed) != (t.count, t.failed) {
            anyhow::bail!("its time series holds {count} transactions ({failed} failed), not {} ({})", t.count, t.failed);
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
            throughput_per_s: if window_s > 0.0 { self.ok as f64 / window_s } else { 0.0 },
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

    /// A transaction of `name` is taken, due at `due`; `end` records it. `None` once the
    /// recording is sealed: the run is over and the transaction is not to run.
    pub fn begin(&self, name: &'static str, due: Instant) -> Option<u64> {
        let mut inner = self.lock();
        if inner.sealed {
            return None;
        }
        inner.next_id += 1;
        let id = inner.next_id;
        inner.under_way.insert(id, (name, due));
        Some(id)
    }

    /// Transaction `id`, timed from `started`, ended now.
    pub fn end(&self, id: u64, started: Instant, ok: bool) {
        let mut inner = self.lock();
        if let Some((name, _)) = inner.under_way.remove(&id) {
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

    /// Ends the recording: nothing is recorded or begun afterwards. With `count_unfinished`
    /// (the open model, whose every arrival is work that was asked for), a transaction still
    /// under way counts as failed, timed from when it was due to now, with the error
    /// `unfinished`; one not yet due was cancelled and is not timed. Returns (unfinished,
    /// cancelled).
    pub fn seal(&self, count_unfinished: bool) -> (u64, u64) {
        let mut inner = self.lock();
        let under_way = std::mem::take(&mut inner.under_way);
        let now = Instant::now();
        let (mut unfinished, mut cancelled) = (0, 0);
        if count_unfinished {
            for (name, due) in under_way.values() {
                if *due > now {
                    cancelled += 1;
                } else {
                    self.record_in(&mut inner, name, now - *due, false);
                    unfinished += 1;
                }
            }
            if unfinished > 0 {
                *inner.errors.entry("unfinished".into()).or_default() += unfinished;
            }
        }
        inner.sealed = true;
        (unfinished, cancelled)
    }

    /// An error, keyed like "400 invalid_grant" or "transport". A key is at most 200 bytes on
    /// one line, and after `MAX_ERROR_KEYS` kinds the rest are counted together: a target that
    /// varies its answers cannot grow the report without bound.
    pub fn error(&self, key: String) {
        let mut inner = self.lock();
        if inner.sealed {
            return;
        }
        let key: String = crate::limits::cut(&key, 200).chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let key = if inner.errors.len() >= MAX_ERROR_KEYS && !inner.errors.contains_key(&key) { OTHER_ERRORS.to_string() } else { key };
        *inner.errors.entry(key).or_default() += 1;
    }

    /// A sampled token's validation.
    pub fn validated(&self, problem: Option<String>) {
        let mut inner = self.lock();
        inner.validated += 1;
        if let Some(p) = problem {
            inner.invalid += 1;
            // A problem can quote the target's token: kept short, like every detail.
            if inner.problems.len() < PROBLEMS_KEPT {
                inner.problems.push(crate::limits::cut_owned(p, crate::limits::DETAIL_BYTES));
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
    /// Successful transactions per second over the measured window (a failure that comes back
    /// fast is not throughput).
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

/// The largest serialised histogram read: ours are a few KiB.
const MAX_HISTOGRAM_BYTES: usize = 1 << 20;

/// A histogram from a report's `histogram` field, with `digits` significant digits as ours have.
pub fn decode(text: &str, digits: u8) -> anyhow::Result<Histogram<u64>> {
    if text.len() > MAX_HISTOGRAM_BYTES {
        anyhow::bail!("a histogram is larger than 1 MiB");
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| anyhow::anyhow!("a histogram is not base64"))?;
    let mut h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("a histogram is not HdrHistogram V2 ({e:?})"))?;
    if h.sigfig() != digits {
        anyhow::bail!("a histogram has {} significant digits, not {digits}", h.sigfig());
    }
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
        assert!(decode("not base64!", 3).is_err());
    }

    #[test]
    fn error_kinds_are_bounded_in_number_and_length() {
        let s = Stats::new(Instant::now(), Duration::from_secs(1));
        for i in 0..200 {
            s.error(format!("authorize: page {i}\x1b[31m {}", "x".repeat(500)));
        }
        let (_, errors, _) = s.summary(1.0);
        assert_eq!(errors.len(), MAX_ERROR_KEYS + 1);
        assert_eq!(errors[OTHER_ERRORS], 150);
        assert!(errors.keys().all(|k| k.len() <= 210 && !k.contains('\x1b')), "{errors:?}");
    }

    #[test]
    fn long_runs_get_longer_intervals() {
        assert_eq!(series_interval(Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(series_interval(Duration::from_secs(4 * 3600)), Duration::from_secs(8));
    }
}
