//! Request parameters from a query string or a form body, with the RFC 6749 §3.1 rules applied
//! once for every endpoint: a parameter sent without a value is treated as omitted, and a
//! parameter must not be included more than once.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<String, String>,
    repeated: Vec<String>,
}

impl Params {
    pub fn parse(encoded: &str) -> Params {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(encoded.as_bytes()) {
            if value.is_empty() {
                continue;
            }
            if params.values.contains_key(name.as_ref()) {
                if !params.repeated.iter().any(|r| r == name.as_ref()) {
                    params.repeated.push(name.into_owned());
                }
                continue;
            }
            params.values.insert(name.into_owned(), value.into_owned());
        }
        params
    }

    /// The value of `name`, unless it is absent or was repeated (a repeated parameter has no
    /// trustworthy value).
    pub fn get(&self, name: &str) -> Option<&str> {
        if self.is_repeated(name) {
            return None;
        }
        self.values.get(name).map(String::as_str)
    }

    pub fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|r| r == name)
    }

    /// Every parameter sent more than once, in order of first repetition.
    pub fn repeated(&self) -> &[String] {
        &self.repeated
    }

    /// Treats repeated parameters as if sent once, with their first value (a fault only).
    pub fn forget_repeats(&mut self) {
        self.repeated.clear();
    }

    /// The names of the parameters sent.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

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
        assert_eq!(p.get("scope"), Some("openid"));
    }

    #[test]
    fn repeated_parameters_are_reported_and_have_no_value() {
        let p = Params::parse("scope=openid&scope=email&state=a");
        assert_eq!(p.repeated(), ["scope"]);
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("state"), Some("a"));
    }

    #[test]
    fn percent_encoding_is_decoded() {
        let p = Params::parse("redirect_uri=https%3A%2F%2Fa.test%2Fcb%3Fx%3D1&scope=openid+email");
        assert_eq!(p.get("redirect_uri"), Some("https://a.test/cb?x=1"));
        assert_eq!(p.get("scope"), Some("openid email"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in ".{0,400}") {
            let p = Params::parse(&input);
            for name in p.repeated() {
                prop_assert!(p.get(name).is_none());
            }
        }
    }
}
