//! Request parameters from a query string or a form body, with the RFC 6749 §3.1 rules applied
//! once for every endpoint: a parameter sent without a value is treated as omitted, and a
//! parameter must not be included more than once (RFC 8707 §2's `resource` excepted).
//!
//! Parsing is linear in the size of the input: each name is looked up once in a map and, when
//! it repeats, once in a set.

use std::collections::{BTreeMap, HashSet};

/// RFC 8707 §2: "Multiple `resource` parameters MAY be used": the one parameter of the profile
/// that may be sent more than once. Its empty occurrences are omitted like any other's.
const MULTI_VALUED: [&str; 1] = ["resource"];

#[derive(Debug, Clone, Default)]
pub struct Params {
    /// The first non-empty value of each name.
    values: BTreeMap<String, String>,
    /// The further non-empty values of a multi-valued name, in order.
    more: BTreeMap<String, Vec<String>>,
    /// The names sent without a value: omitted (RFC 6749 §3.1), but sent.
    omitted: HashSet<String>,
    /// Names sent more than once, in order of first repetition (and as a set, for lookups).
    repeated: Vec<String>,
    repeated_set: HashSet<String>,
}

impl Params {
    pub fn parse(encoded: &str) -> Params {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(encoded.as_bytes()) {
            let valued = params.values.contains_key(name.as_ref());
            let again = valued || params.omitted.contains(name.as_ref());
            // RFC 6749 §3.1: a parameter "MUST NOT be included more than once". The rule is
            // about what was sent, so `x=&x=v` includes `x` twice even though its empty
            // occurrence counts as omitted: a repeat, whatever the order. (Servers that take
            // the first value and servers that take the last would read that request
            // differently, the ambiguity the rule exists to refuse; node-oidc-provider's
            // reject_dupes counts it the same way.)
            if again && !MULTI_VALUED.contains(&name.as_ref()) {
                if !params.repeated_set.contains(name.as_ref()) {
                    params.repeated_set.insert(name.to_string());
                    params.repeated.push(name.into_owned());
                }
                continue;
            }
            match (value.is_empty(), valued) {
                (true, _) => {
                    params.omitted.insert(name.into_owned());
                }
                (false, true) => params.more.entry(name.into_owned()).or_default().push(value.into_owned()),
                (false, false) => {
                    params.values.insert(name.into_owned(), value.into_owned());
                }
            }
        }
        params
    }

    /// The value of `name`, unless it is absent, was repeated (a repeated parameter has no
    /// trustworthy value) or is a multi-valued one sent with several values (see `all`).
    pub fn get(&self, name: &str) -> Option<&str> {
        if self.is_repeated(name) || self.more.contains_key(name) {
            return None;
        }
        self.values.get(name).map(String::as_str)
    }

    /// Every non-empty value of a multi-valued parameter (`resource`), in order; for any other
    /// parameter, its value as `get` has it.
    pub fn all(&self, name: &str) -> Vec<&str> {
        if self.is_repeated(name) {
            return Vec::new();
        }
        let first = self.values.get(name).map(String::as_str);
        let more = self.more.get(name).into_iter().flatten().map(String::as_str);
        first.into_iter().chain(more).collect()
    }

    pub fn is_repeated(&self, name: &str) -> bool {
        self.repeated_set.contains(name)
    }

    /// Every parameter sent more than once, in order of first repetition.
    pub fn repeated(&self) -> &[String] {
        &self.repeated
    }

    /// Treats repeated parameters as if sent once, with their first value (a fault only).
    pub fn forget_repeats(&mut self) {
        self.repeated.clear();
        self.repeated_set.clear();
    }

    /// The names of the parameters sent with a value.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Whether `name` was sent with a value.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_values_count_as_omitted() {
        let p = Params::parse("state=&scope=openid");
        assert_eq!(p.get("state"), None);
        assert!(!p.contains("state"));
        assert_eq!(p.get("scope"), Some("openid"));
        assert!(p.repeated().is_empty());
    }

    #[test]
    fn repeated_parameters_are_reported_and_have_no_value() {
        let p = Params::parse("scope=openid&scope=email&state=a");
        assert_eq!(p.repeated(), ["scope"]);
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("state"), Some("a"));
    }

    #[test]
    fn an_empty_occurrence_still_makes_a_repeat_in_either_order() {
        for query in ["state=&state=v", "state=v&state=", "state=&state="] {
            let p = Params::parse(query);
            assert_eq!(p.repeated(), ["state"], "{query}");
            assert_eq!(p.get("state"), None, "{query}");
        }
    }

    #[test]
    fn the_fault_keeps_the_first_value_of_a_repeat() {
        let mut p = Params::parse("state=a&state=b&nonce=&nonce=n");
        p.forget_repeats();
        assert_eq!(p.get("state"), Some("a"));
        assert_eq!(p.get("nonce"), None, "the first nonce was empty, so omitted");
    }

    #[test]
    fn resource_may_be_sent_several_times() {
        let p = Params::parse("resource=https%3A%2F%2Fa.test&resource=&resource=https%3A%2F%2Fb.test");
        assert!(p.repeated().is_empty());
        assert_eq!(p.all("resource"), ["https://a.test", "https://b.test"]);
        assert_eq!(p.get("resource"), None, "several values: no single one");
        let one = Params::parse("resource=&resource=https%3A%2F%2Fa.test");
        assert_eq!(one.get("resource"), Some("https://a.test"));
        assert_eq!(one.all("resource"), ["https://a.test"]);
        assert!(Params::parse("audience=a&audience=b").is_repeated("audience"), "only resource");
    }

    #[test]
    fn percent_encoding_is_decoded() {
        let p = Params::parse("redirect_uri=https%3A%2F%2Fa.test%2Fcb%3Fx%3D1&scope=openid+email");
        assert_eq!(p.get("redirect_uri"), Some("https://a.test/cb?x=1"));
        assert_eq!(p.get("scope"), Some("openid email"));
    }

    /// A 60 KB query of thousands of names, each sent twice: every one is reported, once, in
    /// order (the old list scan made this quadratic).
    #[test]
    fn thousands_of_repeats_are_each_reported_once() {
        let query: String = (0..4_000).map(|i| format!("p{i:04}=1&p{i:04}=&p{i:04}=2&")).collect();
        assert!(query.len() > 60_000);
        let p = Params::parse(&query);
        assert_eq!(p.repeated().len(), 4_000);
        assert_eq!(p.repeated()[0], "p0000");
        assert_eq!(p.repeated()[3_999], "p3999");
        assert!(p.get("p1234").is_none());
        let distinct: String = (0..6_000).map(|i| format!("q{i:05}=v&")).collect();
        let p = Params::parse(&distinct);
        assert!(p.repeated().is_empty());
        assert_eq!(p.names().count(), 6_000);
        assert_eq!(p.get("q05999"), Some("v"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in ".{0,400}") {
            let p = Params::parse(&input);
            for name in p.repeated() {
                prop_assert!(p.get(name).is_none());
            }
        }

        /// Whatever the names and values, a name is repeated exactly when it occurs twice.
        #[test]
        fn a_name_is_repeated_exactly_when_sent_twice(pairs in prop::collection::vec(("[a-c]", "[xy]{0,1}"), 0..12)) {
            let query = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&");
            let p = Params::parse(&query);
            for name in ["a", "b", "c"] {
                let count = pairs.iter().filter(|(n, _)| n == name).count();
                prop_assert_eq!(p.is_repeated(name), count > 1, "{}", query);
            }
        }
    }
}
