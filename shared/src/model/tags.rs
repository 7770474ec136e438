//! A resource's tags as plain data: every adapter returns them in this one shape.

use std::collections::BTreeMap;

pub type Tags = BTreeMap<String, String>;

/// Tags from `(key, value)` pairs, as written in code and tests.
pub fn from_pairs(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
