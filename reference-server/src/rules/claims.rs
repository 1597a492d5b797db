//! Which user claims go where: scope claims (OIDC Core §5.4) and the `claims` request parameter
//! (OIDC Core §5.5) with its `essential`, `value` and `values` members.

use crate::config::User;
use crate::model::claims::{ClaimSet, ClaimSpec, ClaimsRequest};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What to do with a member of the `claims` parameter that has the wrong type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The request is refused (`invalid_request`): this server's default.
    Refuse,
    /// The member is ignored as not understood (OIDC Core §5.5, §5.5.1: members not understood
    /// MUST be ignored), the rest of the claims request still applies.
    Ignore,
}

/// Claims one destination (`id_token`, `userinfo`) may name: far more than the standard claims.
const MAX_CLAIMS: usize = 64;
/// Entries of one claim's `values`.
const MAX_VALUES: usize = 16;

impl ClaimsRequest {
    /// Parses the `claims` parameter; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ClaimsRequest, String> {
        ClaimsRequest::parse_with(text, Malformed::Refuse)
    }

    /// Parses the `claims` parameter, refusing or ignoring members of the wrong type. A value
    /// that is not a JSON object is refused either way: there is nothing to understand in it.
    pub fn parse_with(text: &str, malformed: Malformed) -> Result<ClaimsRequest, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("claims is not valid JSON: {e}"))?;
        let object = value.as_object().ok_or("claims must be a JSON object")?;
        let mut request = ClaimsRequest::default();
        for (member, set) in object {
            let target = match member.as_str() {
                "id_token" => &mut request.id_token,
                "userinfo" => &mut request.userinfo,
                // OIDC Core §5.5: other members may be present and are ignored when not understood.
                _ => continue,
            };
            let set = match set.as_object() {
                Some(set) => set,
                None if malformed == Malformed::Ignore => continue,
                None => return Err(format!("claims.{member} must be a JSON object")),
            };
            // The parsed request is stored while the user logs in and in every code and grant:
            // bounded in count (the text is bounded in bytes by `parameter_limits.claims`).
            if set.len() > MAX_CLAIMS {
                return Err(format!("claims.{member} names more than {MAX_CLAIMS} claims"));
            }
            for (name, spec) in set {
                match ClaimSpec::parse(spec, malformed) {
                    Ok(Some(spec)) => target.claims.push((name.clone(), spec)),
                    Ok(None) => {}
                    Err(e) => return Err(format!("claims.{member}.{name}: {e}")),
                }
            }
        }
        Ok(request)
    }
}

impl ClaimSpec {
    /// One claim's request; `None` when it is of the wrong type and ignored. A bound is refused
    /// in either mode: a `values` list too long is understood, not malformed, and dropping it
    /// would silently drop what it asks for (a `sub` that names the only acceptable user, OIDC
    /// Core §3.1.2.2; an essential `acr`, §5.5.1.1). Found by the fuzz target below.
    fn parse(value: &Value, malformed: Malformed) -> Result<Option<ClaimSpec>, String> {
        let ignore = malformed == Malformed::Ignore;
        match value {
            Value::Null => Ok(Some(ClaimSpec::default())),
            Value::Object(o) => {
                let essential = match o.get("essential") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) if ignore => false,
                    Some(_) => return Err("essential must be a boolean".into()),
                };
                let mut values: Vec<Value> = o.get("value").into_iter().cloned().collect();
                match o.get("values").map(Value::as_array) {
                    None => {}
                    Some(Some(v)) if v.len() > MAX_VALUES => return Err(format!("values has more than {MAX_VALUES} entries")),
                    Some(Some(v)) => values.extend(v.iter().cloned()),
                    Some(None) if ignore => {}
                    Some(None) => return Err("values must be an array".into()),
                }
                // The server acts on string values only (`sub`, `acr`); an object or array value
                // it could never match is not kept (it would cost up to 16 times its text).
                values.retain(|v| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)));
                Ok(Some(ClaimSpec { essential, values }))
            }
            _ if ignore => Ok(None),
            _ => Err("must be null or an object".into()),
        }
    }
}

/// OIDC Core §5.4: the claims each standard scope asks for.
pub fn scope_claims(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "address" => &["address"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

/// The user's claims released for `scopes` plus those named in `requested`, as far as the user
/// has them. Protocol claims (`sub`, `acr`, ...) are added by the caller.
pub fn user_claims(user: &User, scopes: &[String], requested: Option<&ClaimSet>) -> Map<String, Value> {
    let mut out = Map::new();
    let from_scopes = scopes.iter().flat_map(|s| scope_claims(s).iter().copied());
    let from_request = requested.into_iter().flat_map(|r| r.claims.iter().map(|(n, _)| n.as_str()));
    for name in from_scopes.chain(from_request) {
        if let Some(value) = user.claims.get(name) {
            out.insert(name.to_string(), value.clone());
        }
    }
    out
}

/// The names of the user claims a grant of `scopes` and `requested` can release about `user`,
/// in its ID tokens or at userinfo (the same computation as theirs): what the consent page
/// lists.
pub fn released_claim_names(user: &User, scopes: &[String], requested: Option<&ClaimsRequest>) -> BTreeSet<String> {
    let id_token = user_claims(user, scopes, requested.map(|r| &r.id_token));
    let userinfo = user_claims(user, scopes, requested.map(|r| &r.userinfo));
    id_token.into_iter().chain(userinfo).map(|(name, _)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_null_essential_and_values() {
        let r = ClaimsRequest::parse(
            r#"{"id_token":{"email":null,"acr":{"essential":true,"values":["a","b"]}},"userinfo":{"name":{"value":"x"}}}"#,
        )
        .unwrap();
        assert_eq!(r.id_token.get("email"), Some(&ClaimSpec::default()));
        let acr = r.id_token.get("acr").unwrap();
        assert!(acr.essential);
        assert_eq!(acr.values, vec![Value::from("a"), Value::from("b")]);
        assert_eq!(r.userinfo.get("name").unwrap().values, vec![Value::from("x")]);
    }

    #[test]
    fn the_parsed_request_is_bounded_in_claims_values_and_their_kinds() {
        let many: String = (0..=MAX_CLAIMS).map(|i| format!("\"c{i}\":null")).collect::<Vec<_>>().join(",");
        let err = ClaimsRequest::parse(&format!("{{\"userinfo\":{{{many}}}}}")).unwrap_err();
        assert!(err.contains("more than 64 claims"), "{err}");
        let values = vec!["\"a\""; MAX_VALUES + 1].join(",");
        let err = ClaimsRequest::parse(&format!("{{\"id_token\":{{\"acr\":{{\"values\":[{values}]}}}}}}")).unwrap_err();
        assert!(err.contains("more than 16 entries"), "{err}");
        let kept = ClaimsRequest::parse(r#"{"id_token":{"acr":{"values":["a",[0,0,0],{"x":1},2]}}}"#).unwrap();
        assert_eq!(kept.id_token.get("acr").unwrap().values, vec![Value::from("a"), Value::from(2)]);
    }

    #[test]
    fn rejects_malformed_members_with_their_path() {
        assert!(ClaimsRequest::parse("[1]").is_err());
        let e = ClaimsRequest::parse(r#"{"id_token":{"acr":{"essential":"yes"}}}"#).unwrap_err();
        assert!(e.contains("claims.id_token.acr"), "{e}");
    }

    #[test]
    fn members_of_the_wrong_type_can_be_ignored() {
        let text = r#"{"id_token":5,"userinfo":{"name":null,"email":true,"acr":{"essential":"yes","values":["a"]},"x":{"values":3}}}"#;
        assert!(ClaimsRequest::parse(text).is_err());
        let r = ClaimsRequest::parse_with(text, Malformed::Ignore).unwrap();
        assert!(r.id_token.claims.is_empty());
        assert_eq!(r.userinfo.get("name"), Some(&ClaimSpec::default()));
        assert!(r.userinfo.get("email").is_none(), "a claim request that is neither null nor an object is ignored");
        assert_eq!(r.userinfo.get("acr"), Some(&ClaimSpec { essential: false, values: vec![Value::from("a")] }));
        assert_eq!(r.userinfo.get("x"), Some(&ClaimSpec::default()));
        assert!(ClaimsRequest::parse_with("[1]", Malformed::Ignore).is_err(), "not an object: still refused");
    }

    /// Issue 13 fuzzing: in the ignoring mode a claim whose `values` broke the bound was
    /// dropped, and with it the request it made (here: only u-bob may sign in). A bound is
    /// refused in both modes.
    #[test]
    fn the_values_bound_is_refused_when_malformed_members_are_ignored() {
        let values = vec!["\"x\""; MAX_VALUES + 1].join(",");
        let text = format!("{{\"id_token\":{{\"sub\":{{\"value\":\"u-bob\",\"values\":[{values}]}}}}}}");
        for mode in [Malformed::Refuse, Malformed::Ignore] {
            let err = ClaimsRequest::parse_with(&text, mode).unwrap_err();
            assert!(err.starts_with("claims.id_token.sub: values has more than 16 entries"), "{mode:?}: {err}");
        }
    }

    #[test]
    fn releases_scope_and_requested_claims_the_user_has() {
        let user = crate::config::Config::default().users[0].clone();
        let requested = ClaimSet { claims: vec![("phone_number".into(), ClaimSpec::default()), ("nope".into(), ClaimSpec::default())] };
        let c = user_claims(&user, &["email".into()], Some(&requested));
        assert_eq!(c.keys().collect::<Vec<_>>(), vec!["email", "email_verified", "phone_number"]);
    }

    #[test]
    fn released_names_cover_both_destinations_and_only_what_the_user_has() {
        let user = crate::config::Config::default().users[0].clone();
        let requested = ClaimsRequest::parse(r#"{"id_token":{"phone_number":null},"userinfo":{"name":null,"nope":null}}"#).unwrap();
        let names = released_claim_names(&user, &["email".into()], Some(&requested));
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["email", "email_verified", "name", "phone_number"]);
        assert!(released_claim_names(&user, &["openid".into()], None).is_empty());
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,200}") {
            let _ = ClaimsRequest::parse(&text);
        }
    }
}

/// Fuzz target for the `claims` parser (issue 13): arbitrary JSON (structured close to OIDC
/// Core §5.5 so the deep paths are reached, and free-form), broken and hostile text, both
/// modes. Every answer is checked against a model of what the parameter asks for.
/// `PROPTEST_CASES` runs it longer.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::util::fuzz_config;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(vec!["id_token", "userinfo", "essential", "value", "values", "sub", "acr", "email", "name", ""])
                .prop_map(str::to_string),
            1 => ".{0,6}",
        ]
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
            prop_oneof![key(), "[\"\\\\§é\u{0}a-z]{0,12}"].prop_map(Value::from),
        ]
    }

    fn any_json() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 48, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// One claim's request: null, an object of `essential`, `value`, `values` (right or wrong
    /// types, `values` around its bound of 16), or anything.
    fn spec() -> impl Strategy<Value = Value> {
        let essential = prop::option::of(prop_oneof![3 => any::<bool>().prop_map(Value::from), 1 => any_json()]);
        let value = prop::option::of(any_json());
        let values = prop::option::of(prop_oneof![
            4 => prop::collection::vec(prop_oneof![3 => scalar(), 1 => any_json()], 0..20).prop_map(Value::Array),
            1 => any_json(),
        ]);
        let extra = prop::option::of((key(), any_json()));
        let object = (essential, value, values, extra).prop_map(|(essential, value, values, extra)| {
            let mut o = Map::new();
            extra.into_iter().for_each(|(k, v)| drop(o.insert(k, v)));
            essential.into_iter().for_each(|v| drop(o.insert("essential".into(), v)));
            value.into_iter().for_each(|v| drop(o.insert("value".into(), v)));
            values.into_iter().for_each(|v| drop(o.insert("values".into(), v)));
            Value::Object(o)
        });
        prop_oneof![2 => Just(Value::Null), 5 => object, 1 => any_json()]
    }

    /// The claims of one destination: a few named ones, a set around the bound of 64, or anything.
    fn claim_set() -> impl Strategy<Value = Value> {
        let name = prop_oneof![
            prop::sample::select(vec!["sub", "acr", "email", "name", "phone_number", "auth_time", "essential", ""])
                .prop_map(str::to_string),
            ".{0,8}",
        ];
        let few = prop::collection::vec((name, spec()), 0..8).prop_map(|m| Value::Object(m.into_iter().collect()));
        // Around the bound: null requests, a few of them replaced (so a failure shrinks well).
        let many = (60..70usize, prop::collection::vec((0..70usize, spec()), 0..4)).prop_map(|(n, some)| {
            let mut set: Map<String, Value> = (0..n).map(|i| (format!("c{i}"), Value::Null)).collect();
            set.extend(some.into_iter().map(|(i, s)| (format!("c{i}"), s)));
            Value::Object(set)
        });
        prop_oneof![6 => few, 1 => many, 1 => any_json()]
    }

    fn request() -> impl Strategy<Value = Value> {
        let member = prop_oneof![
            4 => prop::sample::select(vec!["id_token", "userinfo"]).prop_map(str::to_string),
            1 => key(),
        ];
        prop::collection::vec((member, claim_set()), 0..4).prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    /// The parameter's text: a request or any JSON serialised (compact or pretty, sometimes cut
    /// short or with a member repeated in the text), or hostile text.
    fn text() -> impl Strategy<Value = String> {
        let json = prop_oneof![4 => request(), 1 => any_json()];
        let serialised = (json, any::<bool>())
            .prop_map(|(v, pretty)| if pretty { serde_json::to_string_pretty(&v).unwrap_or_default() } else { v.to_string() });
        prop_oneof![
            8 => serialised.clone(),
            1 => (serialised.clone(), any::<prop::sample::Index>()).prop_map(|(t, at)| {
                let cut = at.index(t.len() + 1);
                t.char_indices().map(|(i, _)| i).chain([t.len()]).find(|i| *i >= cut).map_or(t.clone(), |i| t[..i].to_string())
            }),
            1 => serialised.prop_map(|t| t.replacen('{', "{\"id_token\":{\"acr\":{\"essential\":\"yes\"}},", 1)),
            1 => (1..3_000usize, prop::sample::select(vec!["[", "{\"id_token\":", "{\"a\":["])).prop_map(|(n, open)| open.repeat(n)),
            1 => ".{0,64}",
        ]
    }

    /// What the parameter asks for in `mode`: the request as the server should keep it, or the
    /// error paths (message prefixes) that would justify refusing it.
    fn model(text: &str, mode: Malformed) -> Result<ClaimsRequest, Vec<String>> {
        let ignore = mode == Malformed::Ignore;
        let Ok(value) = serde_json::from_str::<Value>(text) else { return Err(vec!["claims is not valid JSON".into()]) };
        let Some(object) = value.as_object() else { return Err(vec!["claims must be a JSON object".into()]) };
        let mut errors = Vec::new();
        let mut request = ClaimsRequest::default();
        for (member, set) in object {
            let target = match member.as_str() {
                "id_token" => &mut request.id_token,
                "userinfo" => &mut request.userinfo,
                _ => continue,
            };
            let Some(set) = set.as_object() else {
                if !ignore {
                    errors.push(format!("claims.{member} must be a JSON object"));
                }
                continue;
            };
            // The bounds are limits, not types: refused in both modes.
            if set.len() > MAX_CLAIMS {
                errors.push(format!("claims.{member} names more than {MAX_CLAIMS} claims"));
                continue;
            }
            for (name, spec) in set {
                let refuse = |errors: &mut Vec<String>| errors.push(format!("claims.{member}.{name}: "));
                let spec = match spec {
                    Value::Null => ClaimSpec::default(),
                    Value::Object(o) => {
                        let essential = match o.get("essential") {
                            None => false,
                            Some(Value::Bool(b)) => *b,
                            Some(_) => {
                                if !ignore {
                                    refuse(&mut errors);
                                }
                                false
                            }
                        };
                        let mut values: Vec<Value> = o.get("value").into_iter().cloned().collect();
                        match o.get("values") {
                            None => {}
                            Some(Value::Array(v)) if v.len() > MAX_VALUES => refuse(&mut errors),
                            Some(Value::Array(v)) => values.extend(v.iter().cloned()),
                            Some(_) if ignore => {}
                            Some(_) => refuse(&mut errors),
                        }
                        values.retain(|v| !(v.is_null() || v.is_array() || v.is_object()));
                        ClaimSpec { essential, values }
                    }
                    _ if ignore => continue,
                    _ => {
                        refuse(&mut errors);
                        continue;
                    }
                };
                target.claims.push((name.clone(), spec));
            }
        }
        if errors.is_empty() { Ok(request) } else { Err(errors) }
    }

    fn check(text: &str, mode: Malformed) -> Result<(), TestCaseError> {
        let parsed = ClaimsRequest::parse_with(text, mode);
        let object_input = serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object());
        match (&parsed, model(text, mode)) {
            (Ok(request), Ok(expected)) => {
                for set in [&request.id_token, &request.userinfo] {
                    prop_assert!(set.claims.len() <= MAX_CLAIMS, "{} claims kept", set.claims.len());
                    for (name, spec) in &set.claims {
                        // `value` and up to MAX_VALUES `values`.
                        prop_assert!(spec.values.len() <= MAX_VALUES + 1, "{} values kept for {}", spec.values.len(), name);
                        prop_assert!(
                            spec.values.iter().all(|v| v.is_string() || v.is_number() || v.is_boolean()),
                            "a value that is not a scalar was kept for {}: {:?}",
                            name,
                            spec.values
                        );
                    }
                }
                prop_assert_eq!(request, &expected, "{:?} in mode {:?}", text, mode);
            }
            (Err(message), Err(paths)) => {
                prop_assert!(
                    paths.iter().any(|p| message.starts_with(p.as_str())),
                    "the error {:?} names none of the paths {:?} (text {:?}, mode {:?})",
                    message,
                    paths,
                    text,
                    mode
                );
                if mode == Malformed::Ignore && object_input {
                    prop_assert!(message.contains("more than"), "ignore refused an object for {:?}: {:?}", message, text);
                }
            }
            (Ok(request), Err(paths)) => {
                prop_assert!(false, "accepted {:?} as {:?}, but it should be refused at {:?} (mode {:?})", text, request, paths, mode)
            }
            (Err(message), Ok(expected)) => {
                prop_assert!(false, "refused {:?} ({:?}), but it asks for {:?} (mode {:?})", text, message, expected, mode)
            }
        }
        // The default entry point is the refusing mode.
        if mode == Malformed::Refuse {
            prop_assert_eq!(ClaimsRequest::parse(text), parsed);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(fuzz_config(512))]

        /// Never a panic; an accepted request keeps to the bounds (64 claims per destination,
        /// a `value` and 16 `values`, scalars only) and is exactly what the text asks for; a
        /// refusal names a path that justifies it; the ignoring mode refuses a JSON object only
        /// for a bound.
        #[test]
        fn claims_agree_with_the_oidc_core_5_5_model(text in text(), ignore in any::<bool>()) {
            check(&text, if ignore { Malformed::Ignore } else { Malformed::Refuse })?;
        }
    }
}
