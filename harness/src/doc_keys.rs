//! Test support: the documented formats (docs/TARGET.md, docs/PROFILE.md) must name every key
//! their parser accepts. serde's `deny_unknown_fields` error lists the accepted keys of the
//! table an unknown key was put in; that list is what the docs are checked against.

use serde::de::DeserializeOwned;

/// The keys `T` accepts in the table where `probe` puts an unknown one.
pub fn accepted_keys<T: DeserializeOwned>(probe: &str) -> Vec<String> {
    let err = toml::from_str::<T>(probe).err().unwrap_or_else(|| panic!("{probe} parsed")).to_string();
    let expected = err.split("expected").nth(1).unwrap_or_else(|| panic!("{err}"));
    expected.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// Whether `doc` names `key`: as `key`, the tail of a dotted key, or a table heading.
pub fn documents(doc: &str, key: &str) -> bool {
    [format!("`{key}`"), format!(".{key}`"), format!("`[{key}]"), format!("`[{key}."), format!("`[[{key}]]")]
        .iter()
        .any(|k| doc.contains(k))
}
