//! Small primitives used across the server: base64url, digests, randomness, time, comparison.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// base64url without padding (RFC 7515 §2).
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

pub fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, bytes).as_ref().to_vec()
}

pub fn sha384(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA384, bytes).as_ref().to_vec()
}

pub fn sha512(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA512, bytes).as_ref().to_vec()
}

/// An unguessable identifier: 256 bits from the system CSPRNG, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG only fails when the OS has no entropy source at all; a server that cannot
    // make secrets must not carry on with predictable ones.
    SystemRandom::new().fill(&mut bytes).expect("system random number generator");
    b64(&bytes)
}

/// Seconds since the Unix epoch (the NumericDate of RFC 7519 §2).
pub fn now_secs() -> u64 {
    now().as_secs()
}

/// The time since the Unix epoch, to the nanosecond.
pub fn now() -> std::time::Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Splits a space-delimited parameter (RFC 6749 §3.3) into its values, in order, without
/// duplicates. Linear: a set of the values seen beside the ordered list.
pub fn space_list(value: Option<&str>) -> Vec<String> {
    let mut seen = HashSet::new();
    value.unwrap_or("").split(' ').filter(|s| !s.is_empty() && seen.insert(*s)).map(str::to_string).collect()
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The configuration of the crate's fuzz targets (`mod fuzz` beside each parser): few cases by
/// default, so `cargo test` stays fast; `PROPTEST_CASES` asks for more (CI runs a longer
/// bounded pass). Failing inputs are kept in `proptest-regressions/` (the default's
/// `FileFailurePersistence::SourceParallel`: `src/web/params.rs` ->
/// `proptest-regressions/web/params.txt`) and replayed first on every run;
/// `PROPTEST_DISABLE_FAILURE_PERSISTENCE` turns that off.
#[cfg(test)]
pub(crate) fn fuzz_config(default_cases: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default_cases);
    proptest::test_runner::Config { cases, ..proptest::test_runner::Config::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_list_drops_empty_items_and_duplicates() {
        assert_eq!(space_list(Some("openid  email openid")), vec!["openid", "email"]);
        assert!(space_list(None).is_empty());
    }

    /// A 60 KB list of 10,000 distinct values with every value sent twice keeps each once, in
    /// order of first appearance (the old scan of the output per item made this quadratic).
    #[test]
    fn space_list_of_ten_thousand_values_keeps_order_and_drops_repeats() {
        let values: Vec<String> = (0..10_000).map(|i| format!("s{i}")).collect();
        let text = format!("{} {}", values.join(" "), values.join("  "));
        assert!(text.len() > 60_000);
        assert_eq!(space_list(Some(&text)), values);
    }

    #[test]
    fn html_escape_neutralises_markup() {
        assert_eq!(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq("secret", "secret"));
        assert!(!constant_time_eq("secret", "secreT"));
        assert!(!constant_time_eq("secret", "secret2"));
    }
}
