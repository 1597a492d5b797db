//! Evidence kept within bounds: what a check stores of an exchange is enough to audit its
//! verdict (the status, the headers, the beginning of each body, the tokens decoded), never
//! megabytes a target chose to send. The limits are in `crate::limits`. A run keeps each
//! distinct exchange once (`Table`), however many checks cite it.

use crate::limits::{EVIDENCE_BODY_BYTES, EVIDENCE_HEADERS, EVIDENCE_JWTS, EVIDENCE_VALUE_BYTES, cut, cut_owned};
use reports::{CheckResult, Exchange};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// The exchanges a run's checks cite, each distinct one stored once and named by its index.
/// Deduplication is by value, after bounding: one login page cited by thirty checks is one
/// entry. The lookup keeps hashes, not copies, so the table holds each exchange once in memory
/// too; a random hasher means a target cannot choose exchanges that collide.
#[derive(Default)]
pub struct Table {
    exchanges: Vec<Exchange>,
    by_hash: HashMap<u64, Vec<usize>>,
    hasher: RandomState,
}

impl Table {
    /// The index of `exchange` as the report stores it (`bounded`), added when not held yet.
    pub fn insert(&mut self, exchange: &Exchange) -> usize {
        let kept = bounded(exchange);
        let same_hash = self.by_hash.entry(self.hasher.hash_one(&kept)).or_default();
        if let Some(&index) = same_hash.iter().find(|&&index| self.exchanges[index] == kept) {
            return index;
        }
        same_hash.push(self.exchanges.len());
        self.exchanges.push(kept);
        self.exchanges.len() - 1
    }

    /// The exchanges `checks` cite, renumbered in the order the checks first cite them (a
    /// reader of report.json meets new indexes in ascending order). Exchanges no check in
    /// `checks` cites are dropped: a verdict left out of the report takes its evidence along.
    pub fn into_cited(self, checks: &mut [CheckResult]) -> Vec<Exchange> {
        let mut renumbered: Vec<Option<usize>> = vec![None; self.exchanges.len()];
        let mut order = Vec::new();
        for index in checks.iter_mut().flat_map(|c| c.evidence.iter_mut()) {
            let old = *index;
            *index = *renumbered[old].get_or_insert_with(|| {
                order.push(old);
                order.len() - 1
            });
        }
        let mut held: Vec<Option<Exchange>> = self.exchanges.into_iter().map(Some).collect();
        order.into_iter().map(|old| held[old].take().expect("each old index is cited first once")).collect()
    }
}

/// Cuts the bodies and the decoded JWTs, which nothing judges from the exchange: done when the
/// exchange is recorded, so a suite holding many exchanges holds little. URLs and headers are
/// left whole here (the login driver and the refusal rules read them); `bounded` cuts them
/// for the report.
pub fn cut_bodies(exchange: &mut Exchange) {
    for body in [&mut exchange.request_body, &mut exchange.response_body].into_iter().flatten() {
        *body = cut_owned(std::mem::take(body), EVIDENCE_BODY_BYTES);
    }
    exchange.jwts.truncate(EVIDENCE_JWTS);
    for jwt in &mut exchange.jwts {
        let size = jwt.payload.to_string().len();
        if size > EVIDENCE_BODY_BYTES {
            jwt.payload = serde_json::Value::String(format!("… [a {size}-byte payload cut]"));
        }
    }
}

/// The exchange as a report stores it: bodies, URL and header values cut to their limits, at
/// most `EVIDENCE_HEADERS` headers each way (the last entry says how many were left out).
pub fn bounded(exchange: &Exchange) -> Exchange {
    let mut kept = Exchange {
        url: cut(&exchange.url, EVIDENCE_VALUE_BYTES).into_owned(),
        request_headers: bounded_headers(&exchange.request_headers),
        response_headers: bounded_headers(&exchange.response_headers),
        error: exchange.error.as_deref().map(|e| cut(e, EVIDENCE_VALUE_BYTES).into_owned()),
        ..exchange.clone()
    };
    cut_bodies(&mut kept);
    kept
}

/// At most `EVIDENCE_HEADERS` entries, the last one saying how many were cut when some were.
fn bounded_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    let value = |v: &str| cut(v, EVIDENCE_VALUE_BYTES).into_owned();
    if headers.len() <= EVIDENCE_HEADERS {
        return headers.iter().map(|(k, v)| (value(k), value(v))).collect();
    }
    let shown = EVIDENCE_HEADERS - 1;
    let mut kept: Vec<(String, String)> = headers.iter().take(shown).map(|(k, v)| (value(k), value(v))).collect();
    kept.push(("…".into(), format!("[{} more headers cut]", headers.len() - shown)));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(body: &str, headers: usize) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: format!("https://idp.test/{}", "p".repeat(10_000)),
            request_headers: vec![],
            request_body: None,
            status: Some(200),
            response_headers: (0..headers).map(|n| (format!("x-{n}"), "v".repeat(10_000))).collect(),
            response_body: Some(body.to_string()),
            response_truncated: true,
            error: None,
            jwts: Vec::new(),
        }
    }

    #[test]
    fn a_huge_exchange_is_stored_in_a_few_kib() {
        let huge = exchange(&"<input type=hidden name=a value=b>".repeat(100_000), 1_000);
        let kept = bounded(&huge);
        let size = serde_json::to_string(&kept).unwrap().len();
        assert!(size < 300 * 1024, "{size} bytes");
        let body = kept.response_body.as_deref().unwrap();
        assert!(body.len() <= EVIDENCE_BODY_BYTES && body.ends_with("bytes cut]"), "{}", &body[body.len() - 40..]);
        assert_eq!(kept.response_headers.len(), EVIDENCE_HEADERS);
        assert_eq!(kept.response_headers.last().unwrap().1, "[937 more headers cut]");
        assert!(kept.url.len() <= EVIDENCE_VALUE_BYTES && kept.response_truncated);
        // Bounding twice changes nothing: the Recorder cuts bodies, the report cuts the rest.
        assert!(bounded(&kept) == kept, "bounding a bounded exchange changed it");
    }

    #[test]
    fn identical_exchanges_share_one_entry_and_the_table_keeps_only_what_is_cited() {
        let login = Exchange { url: "https://idp.test/login".into(), ..exchange("<form>", 1) };
        let other = Exchange { url: "https://idp.test/other".into(), ..exchange("{}", 0) };
        let unused = Exchange { url: "https://idp.test/unused".into(), ..exchange("{}", 0) };
        let mut table = Table::default();
        let (a, b, c) = (table.insert(&unused), table.insert(&login), table.insert(&other));
        assert_eq!(table.insert(&login.clone()), b, "the same content is the same entry");
        assert_eq!(table.exchanges.len(), 3);
        let cite = |evidence: Vec<usize>| CheckResult { evidence, ..reports_check() };
        let mut checks = [cite(vec![c, b]), cite(vec![b]), cite(vec![])];
        let kept = table.into_cited(&mut checks);
        assert!(a != b && kept.len() == 2, "{} kept", kept.len());
        assert_eq!([&kept[0].url, &kept[1].url], ["https://idp.test/other", "https://idp.test/login"]);
        assert_eq!(checks.map(|c| c.evidence), [vec![0, 1], vec![1], vec![]]);
    }

    fn reports_check() -> CheckResult {
        CheckResult {
            id: "x".into(),
            suite: "s".into(),
            title: String::new(),
            spec: String::new(),
            severity: reports::Severity::Required,
            verdict: reports::Verdict::Pass,
            detail: String::new(),
            duration_ms: 0,
            blocked_by: None,
            evidence: Vec::new(),
            expected_failure: None,
        }
    }

    #[test]
    fn a_small_exchange_is_kept_as_it_is() {
        let small = Exchange { url: "https://idp.test/x".into(), response_headers: vec![("a".into(), "b".into())], ..exchange("{}", 0) };
        assert!(bounded(&small) == small, "a small exchange was changed");
    }
}
