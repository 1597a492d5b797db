//! What a load run measured: per-transaction latency histograms (microseconds, HdrHistogram,
//! serialised so runs merge exactly), outcomes, errors by HTTP status and OAuth error code, and
//! the sampled validation of issued tokens.

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Shared by every goose user of a run.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    transactions: BTreeMap<&'static str, Transaction>,
    errors: BTreeMap<String, u64>,
    validated: u64,
    invalid: u64,
    problems: Vec<String>,
}

struct Transaction {
    latency_us: Histogram<u64>,
    ok: u64,
    failed: u64,
}

/// The first validation problems kept for the report (the count has them all).
const PROBLEMS_KEPT: usize = 10;

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One transaction of `name`, `latency` from its (intended) start to its end.
    pub fn record(&self, name: &'static str, latency: Duration, ok: bool) {
        let mut inner = self.lock();
        let t = inner.transactions.entry(name).or_insert_with(|| Transaction {
            // Auto-resizing, 3 significant digits: 0.1% resolution from 1 µs up.
            latency_us: Histogram::new(3).expect("3 significant digits is valid"),
            ok: 0,
            failed: 0,
        });
        // `record` grows the (auto-resizing) histogram; only a value beyond u64 saturates.
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
        if t.latency_us.record(us).is_err() {
            t.latency_us.saturating_record(us);
        }
        if ok {
            t.ok += 1;
        } else {
            t.failed += 1;
        }
    }

    /// An error, keyed like "400 invalid_grant" or "transport".
    pub fn error(&self, key: String) {
        *self.lock().errors.entry(key).or_default() += 1;
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

    /// The run's summary, `seconds` long.
    pub fn summary(&self, seconds: f64) -> (BTreeMap<String, TransactionSummary>, BTreeMap<String, u64>, Validation) {
        let inner = self.lock();
        let transactions = inner.transactions.iter().map(|(name, t)| (name.to_string(), TransactionSummary::of(t, seconds))).collect();
        let validation = Validation { sampled: inner.validated, invalid: inner.invalid, problems: inner.problems.clone() };
        (transactions, inner.errors.clone(), validation)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionSummary {
    pub count: u64,
    pub ok: u64,
    pub failed: u64,
    /// Completed transactions per second over the run.
    pub throughput_per_s: f64,
    pub latency_us: Percentiles,
    /// The whole latency histogram in microseconds: HdrHistogram V2 + deflate, base64. Merge
    /// histograms (not percentiles) to combine runs.
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Validation {
    /// Issued tokens checked (signature against the JWKS and claims).
    pub sampled: u64,
    pub invalid: u64,
    pub problems: Vec<String>,
}

impl TransactionSummary {
    fn of(t: &Transaction, seconds: f64) -> TransactionSummary {
        let h = &t.latency_us;
        TransactionSummary {
            count: t.ok + t.failed,
            ok: t.ok,
            failed: t.failed,
            throughput_per_s: if seconds > 0.0 { (t.ok + t.failed) as f64 / seconds } else { 0.0 },
            latency_us: Percentiles {
                min: h.min(),
                mean: (h.mean() * 10.0).round() / 10.0,
                p50: h.value_at_quantile(0.50),
                p90: h.value_at_quantile(0.90),
                p99: h.value_at_quantile(0.99),
                p99_9: h.value_at_quantile(0.999),
                max: h.max(),
            },
            histogram: encode(h),
        }
    }
}

fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::Deserializer;

    /// A histogram from a report's `histogram` field, as a tool merging runs reads it.
    fn decode(text: &str) -> Option<Histogram<u64>> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
        Deserializer::new().deserialize(&mut bytes.as_slice()).ok()
    }

    #[test]
    fn histograms_survive_the_report_and_merge_exactly() {
        let (a, b) = (Stats::default(), Stats::default());
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
        let mut merged = decode(&sa["t"].histogram).unwrap();
        merged.add(decode(&sb["t"].histogram).unwrap()).unwrap();
        assert_eq!(merged.len(), 2001);
        // The merged median is the true median of all 2,001 times (910: 1,001 of them are at
        // most 910), to the histogram's resolution; averaging the two p50s would say 2,753.
        let p50 = merged.value_at_quantile(0.5);
        assert!((905..=915).contains(&p50), "{p50}");
    }
}
