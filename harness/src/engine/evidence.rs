//! Evidence kept within bounds: what a check stores of an exchange is enough to audit its
//! verdict (the status, the headers, the beginning of each body, the tokens decoded), never
//! megabytes a target chose to send. The limits are in `crate::limits`.

use crate::limits::{EVIDENCE_BODY_BYTES, EVIDENCE_HEADERS, EVIDENCE_JWTS, EVIDENCE_VALUE_BYTES, cut, cut_owned};
use reports::Exchange;

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
    fn a_small_exchange_is_kept_as_it_is() {
        let small = Exchange { url: "https://idp.test/x".into(), response_headers: vec![("a".into(), "b".into())], ..exchange("{}", 0) };
        assert!(bounded(&small) == small, "a small exchange was changed");
    }
}
