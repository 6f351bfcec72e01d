//! PHP's view of decoded JSON, which Zabbix's validator works on: lists and objects are
//! one kind (an array), object keys that are canonical integers become integer keys, and
//! paths print `$index + 1`. Helpers to read a value as such an array or as an object.

use serde_json::{Map, Value as Json};

/// A PHP array key: JSON object keys that are canonical integers become integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Int(i64),
    Str(String),
}

impl Key {
    /// The key PHP makes of an object member name.
    pub fn of(name: &str) -> Key {
        match name.parse::<i64>() {
            Ok(i) if i.to_string() == name => Key::Int(i),
            _ => Key::Str(name.to_owned()),
        }
    }

    /// The 1-based index PHP prints in a path (`$index + 1`; a non-numeric key counts as 0).
    pub fn position(&self) -> i64 {
        match self {
            Key::Int(i) => i.saturating_add(1),
            Key::Str(_) => 1,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Key::Int(i) => i.to_string(),
            Key::Str(s) => s.clone(),
        }
    }
}

/// Whether PHP sees an array (a JSON list or object).
pub fn is_array(v: &Json) -> bool {
    matches!(v, Json::Array(_) | Json::Object(_))
}

/// The entries of a PHP array, in order; None for a scalar.
pub fn entries(v: &Json) -> Option<Vec<(Key, &Json)>> {
    match v {
        Json::Array(a) => Some(a.iter().enumerate().map(|(i, v)| (Key::Int(i as i64), v)).collect()),
        Json::Object(o) => Some(o.iter().map(|(k, v)| (Key::of(k), v)).collect()),
        _ => None,
    }
}

/// Whether the first key of a PHP array is an integer (how `API_NORMALIZE` tells a list).
pub fn first_key_is_int(v: &Json) -> bool {
    match v {
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => o.keys().next().is_some_and(|k| matches!(Key::of(k), Key::Int(_))),
        _ => false,
    }
}

/// A PHP array read as an object (string keys); a JSON list gives keys "0", "1", ...
pub fn as_object(v: &Json) -> Option<Map<String, Json>> {
    match v {
        Json::Object(o) => Some(o.clone()),
        Json::Array(a) => Some(a.iter().enumerate().map(|(i, v)| (i.to_string(), v.clone())).collect()),
        _ => None,
    }
}

/// PHP's `strval` of a scalar, for messages and comparisons.
pub fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(true) => Some("1".into()),
        Json::Bool(false) => Some(String::new()),
        _ => None,
    }
}
