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

/// Fuzz target for the parameter parser (issue 13): arbitrary bytes, percent-encodings and
/// pair shapes, checked against a model of RFC 6749 §3.1 built from the decoded pairs (the
/// decoding itself is `form_urlencoded`'s). `PROPTEST_CASES` runs it longer.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::util::fuzz_config;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashMap};

    /// Pieces a name or value is made of: plain names (`resource` among them), the same names
    /// percent-encoded, the separators raw and encoded, broken escapes, invalid UTF-8 escapes.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(vec![
                "a", "b", "c", "state", "resource", "%73tate", "st%61te", "%72esource", "RESOURCE", "resource%00",
            ])
            .prop_map(str::to_string),
            2 => prop::sample::select(vec![
                "+", "%20", "%2B", "%26", "%3D", "%25", "%00", "%FF", "%C3%A9", "%E2%82", "%", "%G1", "%e", "é", "😀", ";", "?", "#",
            ])
            .prop_map(str::to_string),
            1 => "[a-z=&%+]{0,4}",
        ]
    }

    fn part() -> impl Strategy<Value = String> {
        prop::collection::vec(piece(), 0..4).prop_map(|pieces| pieces.concat())
    }

    /// A query or body: pairs as `name=value`, `name` (no `=`), `=value`, joined by `&` (or
    /// `&&`), or arbitrary bytes as a body might hold them (read the way the server reads a
    /// body, `from_utf8_lossy`).
    fn encoded() -> impl Strategy<Value = String> {
        let pair = (part(), prop::option::weighted(0.85, part())).prop_map(|(n, v)| match v {
            Some(v) => format!("{n}={v}"),
            None => n,
        });
        let joined = (prop::collection::vec(pair, 0..16), prop::sample::select(vec!["&", "&", "&&", "&amp;"]))
            .prop_map(|(pairs, sep)| pairs.join(sep));
        prop_oneof![
            6 => joined,
            2 => prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            1 => ".{0,200}",
        ]
    }

    /// What RFC 6749 §3.1 (and RFC 8707 §2 for `resource`) says the parsed parameters are, from
    /// the decoded pairs.
    struct Model {
        pairs: Vec<(String, String)>,
    }

    impl Model {
        fn count(&self, name: &str) -> usize {
            self.pairs.iter().filter(|(n, _)| n == name).count()
        }
        fn non_empty(&self, name: &str) -> Vec<&str> {
            self.pairs.iter().filter(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str()).collect()
        }
        fn first(&self, name: &str) -> Option<&str> {
            self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
        }
        /// Sent more than once, with any values, empty ones included; `resource` may repeat.
        fn repeated(&self, name: &str) -> bool {
            name != "resource" && self.count(name) > 1
        }
        fn get(&self, name: &str) -> Option<&str> {
            match (name, self.non_empty(name).as_slice()) {
                ("resource", [only]) => Some(only),
                ("resource", _) => None,
                _ if self.count(name) == 1 => self.first(name),
                _ => None,
            }
        }
        fn contains(&self, name: &str) -> bool {
            if name == "resource" { !self.non_empty(name).is_empty() } else { self.first(name).is_some() }
        }
        /// Each repeated name once, in the order in which its second occurrence came.
        fn repeated_in_order(&self) -> Vec<String> {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            let mut out = Vec::new();
            for (name, _) in &self.pairs {
                let n = seen.entry(name).or_default();
                *n += 1;
                if *n == 2 && name != "resource" {
                    out.push(name.clone());
                }
            }
            out
        }
    }

    fn check(encoded: &str) -> Result<(), TestCaseError> {
        let parsed = Params::parse(encoded);
        let model = Model { pairs: form_urlencoded::parse(encoded.as_bytes()).into_owned().collect() };
        let repeated = model.repeated_in_order();
        prop_assert_eq!(parsed.repeated(), repeated.as_slice(), "{:?}", encoded);
        let mut names: BTreeSet<&str> = model.pairs.iter().map(|(n, _)| n.as_str()).collect();
        names.extend(["absent", "resource", ""]);
        for &name in &names {
            prop_assert_eq!(parsed.is_repeated(name), model.repeated(name), "is_repeated({:?}) for {:?}", name, encoded);
            let got = parsed.get(name);
            prop_assert!(got != Some(""), "get({:?}) is empty for {:?}", name, encoded);
            prop_assert_eq!(got, model.get(name), "get({:?}) for {:?}", name, encoded);
            let all = parsed.all(name);
            if name == "resource" {
                prop_assert_eq!(all, model.non_empty(name), "all(resource) for {:?}", encoded);
            } else {
                prop_assert_eq!(all, model.get(name).into_iter().collect::<Vec<_>>(), "all({:?}) for {:?}", name, encoded);
            }
            prop_assert_eq!(parsed.contains(name), model.contains(name), "contains({:?}) for {:?}", name, encoded);
        }
        let listed: BTreeSet<&str> = parsed.names().collect();
        let expected: BTreeSet<&str> = names.iter().copied().filter(|n| model.contains(n)).collect();
        prop_assert_eq!(listed, expected, "names() for {:?}", encoded);
        // The `repeated-parameter-accepted` fault: a repeat reads as its first occurrence.
        let mut lenient = parsed.clone();
        lenient.forget_repeats();
        prop_assert!(lenient.repeated().is_empty());
        for &name in names.iter().filter(|n| **n != "resource") {
            prop_assert_eq!(lenient.get(name), model.first(name), "forgotten repeat {:?} in {:?}", name, encoded);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(fuzz_config(512))]

        /// Never a panic; `is_repeated` exactly for a name sent more than once (any values,
        /// empty included), `resource` excepted; `get` of a repeated name is `None`, never an
        /// empty value; `all`, `contains`, `names` and the lenient fault agree with the model.
        #[test]
        fn params_agree_with_the_rfc_6749_model(encoded in encoded()) {
            check(&encoded)?;
        }
    }

    fn ten_thousand_names(repeats: &[(usize, bool)]) -> Result<(), TestCaseError> {
        let mut query: String = (0..10_000).map(|i| format!("p{i:05}=v&")).collect();
        for (i, empty) in repeats {
            query.push_str(&if *empty { format!("p{i:05}=&") } else { format!("p{i:05}=w&") });
        }
        prop_assert!(query.len() > 60_000);
        let parsed = Params::parse(&query);
        let mut expected = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, _) in repeats {
            if seen.insert(*i) {
                expected.push(format!("p{i:05}"));
            }
        }
        prop_assert_eq!(parsed.repeated(), expected.as_slice());
        prop_assert_eq!(parsed.names().count(), 10_000);
        for i in [0, 1, 4_999, 9_999].into_iter().chain(repeats.iter().take(50).map(|(i, _)| *i)) {
            let name = format!("p{i:05}");
            let want = if seen.contains(&i) { None } else { Some("v") };
            prop_assert_eq!(parsed.get(&name), want, "{}", name);
        }
        Ok(())
    }

    /// 10,000 distinct names (~90 KB) and a random set of them sent again, with or without a
    /// value, in random order: every repeat is reported once, in order, and every other name
    /// keeps its value. (A quadratic scan would still pass, slowly: the size is what matters.)
    /// A case costs ~30 ms in a debug build, so this runs a fiftieth of `PROPTEST_CASES`, at
    /// least 8 (the `proptest!` macro would apply `PROPTEST_CASES` over any count it is given).
    #[test]
    fn ten_thousand_names_with_random_repeats() {
        let mut config = fuzz_config(8);
        config.cases = (config.cases / 50).max(8);
        config.source_file = Some(file!());
        config.test_name = Some("web::params::fuzz::ten_thousand_names_with_random_repeats");
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let repeats = prop::collection::vec((0..10_000usize, any::<bool>()), 0..3_000);
        if let Err(e) = runner.run(&repeats, |repeats| ten_thousand_names(&repeats)) {
            panic!("{e}\n{runner}");
        }
    }
}
