//! Zabbix's API input validator (CApiInputValidator), the parts the user API needs: PHP's
//! view of decoded JSON (arrays and objects are one kind, keys may be integers), the
//! `Invalid parameter "<path>": <reason>.` texts, and one function per value type
//! (ID, int32, string, time unit, time period, URL, flag, lists). Errors are full texts.

use serde_json::{Map, Value as Json};

pub use crate::php_array::{as_object, entries, first_key_is_int, is_array, scalar_text, Key};

/// A validator failure: the whole `data` text of the error.
pub type VResult<T> = Result<T, String>;

/// `Invalid parameter "<path>": <reason>.`
pub fn invalid(path: &str, reason: &str) -> String {
    format!("Invalid parameter \"{path}\": {reason}.")
}

/// The path of a member: `/` + `name` or `<path>/<name>`.
pub fn sub(path: &str, name: &str) -> String {
    if path == "/" {
        format!("/{name}")
    } else {
        format!("{path}/{name}")
    }
}

/// The first member not in `allowed`, as the validator reports it.
pub fn check_unexpected(obj: &Map<String, Json>, allowed: &[&str], path: &str) -> VResult<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(path, &format!("unexpected parameter \"{k}\""))),
        None => Ok(()),
    }
}

pub fn missing(path: &str, name: &str) -> String {
    invalid(path, &format!("the parameter \"{name}\" is missing"))
}

const MAX_ID: &str = "9223372036854775807";

/// `API_ID`: digits only (string or integer), at most 2^63-1; leading zeros dropped.
pub fn id(v: &Json, path: &str) -> VResult<String> {
    let text = match v {
        Json::String(s) => s.clone(),
        Json::Number(n) if n.is_u64() => n.to_string(),
        _ => return Err(invalid(path, "a number is expected")),
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(path, "a number is expected"));
    }
    let trimmed = text.trim_start_matches('0');
    let normal = if trimmed.is_empty() { "0" } else { trimmed };
    if normal.len() > MAX_ID.len() || (normal.len() == MAX_ID.len() && normal > MAX_ID) {
        return Err(invalid(path, "a number is too large"));
    }
    Ok(normal.to_owned())
}

/// An `in` rule of integers: `0,1`, `0:63`, `0,90:86400`.
fn in_ranges(rule: &str) -> Vec<(i64, i64)> {
    rule.split(',')
        .filter_map(|part| match part.split_once(':') {
            Some((lo, hi)) => Some((lo.parse().ok()?, hi.parse().ok()?)),
            None => part.parse().ok().map(|v| (v, v)),
        })
        .collect()
}

/// `value must be one of ...` for an integer rule (`a:b` shown as `a-b`).
fn int_one_of(rule: &str) -> String {
    format!("value must be one of {}", rule.replace(',', ", ").replace(':', "-"))
}

/// `value must be X` or `value must be one of X, Y`.
pub fn one_of(parts: &[String]) -> String {
    if parts.len() == 1 {
        format!("value must be {}", parts[0])
    } else {
        format!("value must be one of {}", parts.join(", "))
    }
}

fn in_rule(value: i64, rule: &str) -> bool {
    in_ranges(rule).iter().any(|(lo, hi)| (*lo..=*hi).contains(&value))
}

/// `API_INT32`: an integer or a string of one, within int32 and the `in` rule.
pub fn int32(v: &Json, path: &str, rule: Option<&str>) -> VResult<i64> {
    let text = match v {
        Json::String(s) => s.clone(),
        Json::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return Err(invalid(path, "an integer is expected")),
    };
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(path, "an integer is expected"));
    }
    let value = match text.parse::<i64>() {
        Ok(v) if i32::try_from(v).is_ok() => v,
        _ => return Err(invalid(path, "a number is too large")),
    };
    if let Some(rule) = rule {
        if !in_rule(value, rule) {
            return Err(invalid(path, &int_one_of(rule)));
        }
    }
    Ok(value)
}

/// The string checks every string type starts with.
fn utf8_string(v: &Json, path: &str, not_empty: bool) -> VResult<String> {
    let Json::String(s) = v else {
        return Err(invalid(path, "a character string is expected"));
    };
    if not_empty && s.is_empty() {
        return Err(invalid(path, "cannot be empty"));
    }
    Ok(s.clone())
}

/// `API_STRING_UTF8`: a string, optionally non-empty, at most `len` characters, one of `allowed`.
pub fn string(v: &Json, path: &str, not_empty: bool, len: Option<usize>, allowed: Option<&[&str]>) -> VResult<String> {
    let s = utf8_string(v, path, not_empty)?;
    if len.is_some_and(|max| s.chars().count() > max) {
        return Err(invalid(path, "value is too long"));
    }
    if let Some(allowed) = allowed {
        if !allowed.contains(&s.as_str()) {
            let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
            return Err(invalid(path, &one_of(&quoted)));
        }
    }
    Ok(s)
}

/// Seconds of a time unit such as `90`, `15m`, `1h`, `1d`, `1w`; None when not one.
pub fn time_unit_seconds(s: &str) -> Option<i64> {
    let (digits, mult) = match s.as_bytes().last()? {
        b's' => (&s[..s.len() - 1], 1),
        b'm' => (&s[..s.len() - 1], 60),
        b'h' => (&s[..s.len() - 1], 3600),
        b'd' => (&s[..s.len() - 1], 86_400),
        b'w' => (&s[..s.len() - 1], 604_800),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<i64>().unwrap_or(i64::MAX / 604_800).saturating_mul(mult))
}

/// `API_TIME_UNIT`: an integer or a time-unit string; stored as given.
pub fn time_unit(v: &Json, path: &str, not_empty: bool, rule: Option<&str>) -> VResult<String> {
    let v = match v {
        Json::Number(n) if n.is_i64() || n.is_u64() => Json::String(n.to_string()),
        other => other.clone(),
    };
    let s = utf8_string(&v, path, not_empty)?;
    let Some(seconds) = time_unit_seconds(&s) else {
        return Err(invalid(path, "a time unit is expected"));
    };
    if let Some(rule) = rule {
        if !in_rule(seconds, rule) {
            return Err(invalid(path, &int_one_of(rule)));
        }
    }
    Ok(s)
}

/// `API_FLAG`: a boolean.
pub fn flag(v: &Json, path: &str) -> VResult<bool> {
    match v {
        Json::Bool(b) => Ok(*b),
        _ => Err(invalid(path, "a boolean is expected")),
    }
}

const URI_SCHEMES: &[&str] = &["http", "https", "ftp", "file", "mailto", "tel", "ssh"];

/// Whether a URL passes CHtmlUrlValidator with scheme validation on: a known scheme,
/// or none at all (a relative path).
pub fn url_ok(url: &str) -> bool {
    let end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let Some(colon) = url[..end].find(':') else {
        return !url.starts_with("///");
    };
    let scheme = &url[..colon];
    let valid_scheme = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return false;
    }
    let rest = &url[colon + 1..];
    if rest.starts_with("///") && !scheme.eq_ignore_ascii_case("file") {
        return false;
    }
    URI_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
}

/// `API_URL`: a string of at most `len` characters, empty or an acceptable URL.
pub fn url(v: &Json, path: &str, len: usize) -> VResult<String> {
    let s = utf8_string(v, path, false)?;
    if s.chars().count() > len {
        return Err(invalid(path, "value is too long"));
    }
    if !s.is_empty() && !url_ok(&s) {
        return Err(invalid(path, "unacceptable URL"));
    }
    Ok(s)
}

/// One `d[-d],hh:mm-hh:mm` period.
fn period_ok(p: &str) -> bool {
    let Some((days, times)) = p.split_once(',') else {
        return false;
    };
    let day = |d: &str| d.len() == 1 && matches!(d.as_bytes()[0], b'1'..=b'7');
    let days_ok = match days.split_once('-') {
        Some((a, b)) => day(a) && day(b) && a <= b,
        None => day(days),
    };
    let minute = |t: &str| -> Option<u32> {
        let (h, m) = t.split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let times_ok =
        times.split_once('-').is_some_and(|(a, b)| matches!((minute(a), minute(b)), (Some(x), Some(y)) if x < y));
    days_ok && times_ok
}

/// Whether `s` is a user macro `{$NAME}` or `{$NAME:context}`.
fn user_macro(s: &str) -> bool {
    s.starts_with("{$") && s.ends_with('}') && s.len() > 3
}

/// `API_TIME_PERIOD` with user macros allowed: periods joined by `;`.
pub fn time_period(v: &Json, path: &str, len: usize) -> VResult<String> {
    let s = utf8_string(v, path, true)?;
    if s.chars().count() > len {
        return Err(invalid(path, "value is too long"));
    }
    let body = s.strip_suffix(';').unwrap_or(&s);
    if !(user_macro(&s) || (!body.is_empty() && body.split(';').all(|p| user_macro(p) || period_ok(p)))) {
        return Err(invalid(path, "a time period is expected"));
    }
    Ok(s)
}

/// `API_STRINGS_UTF8` with `API_NORMALIZE`: a string (made a list) or a list of strings.
pub fn strings(v: &Json, path: &str, not_empty: bool) -> VResult<Vec<String>> {
    if let Json::String(s) = v {
        return Ok(vec![s.clone()]);
    }
    let Some(items) = entries(v) else {
        return Err(invalid(path, "an array is expected"));
    };
    if not_empty && items.is_empty() {
        return Err(invalid(path, "cannot be empty"));
    }
    items
        .iter()
        .map(|(k, item)| match item {
            Json::String(s) => Ok(s.clone()),
            _ => Err(invalid(&sub(path, &k.position().to_string()), "a character string is expected")),
        })
        .collect()
}

/// `API_IDS` (not empty, unique): a list of ids; an object counts as the list of its values.
pub fn ids(v: &Json, path: &str) -> VResult<Vec<String>> {
    let Some(items) = entries(v) else {
        return Err(invalid(path, "an array is expected"));
    };
    if items.is_empty() {
        return Err(invalid(path, "cannot be empty"));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (k, item) in &items {
        out.push(id(item, &sub(path, &k.position().to_string()))?);
    }
    for (i, (k, _)) in items.iter().enumerate() {
        if out[..i].contains(&out[i]) {
            return Err(invalid(&sub(path, &k.position().to_string()), &format!("value ({}) already exists", out[i])));
        }
    }
    Ok(out)
}

/// `API_OBJECTS` with `API_NORMALIZE`: an object becomes a one-element list; each
/// element must be an object. Gives each object with its 1-based path index.
pub fn objects(v: &Json, path: &str) -> VResult<Vec<(i64, Map<String, Json>)>> {
    let list: Vec<(Key, Json)> = if first_key_is_int(v) {
        entries(v).unwrap_or_default().into_iter().map(|(k, v)| (k, v.clone())).collect()
    } else {
        vec![(Key::Int(0), v.clone())]
    };
    let mut out = Vec::with_capacity(list.len());
    for (k, item) in list {
        let at = sub(path, &k.position().to_string());
        let obj = as_object(&item).filter(|_| is_array(&item)).ok_or_else(|| invalid(&at, "an array is expected"))?;
        out.push((k.position(), obj));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_digits_within_range() {
        assert_eq!(id(&json!("004"), "/1/userid"), Ok("4".into()));
        assert_eq!(id(&json!(4), "/1/userid"), Ok("4".into()));
        for bad in [json!(-1), json!(1.5), json!(true), json!(null), json!(""), json!("abc"), json!("-1")] {
            assert_eq!(
                id(&bad, "/1/userid"),
                Err("Invalid parameter \"/1/userid\": a number is expected.".into()),
                "{bad}"
            );
        }
        assert_eq!(
            id(&json!("9223372036854775808"), "/x"),
            Err("Invalid parameter \"/x\": a number is too large.".into())
        );
        assert!(id(&json!("9223372036854775807"), "/x").is_ok());
    }

    #[test]
    fn int_rules_render_like_php() {
        assert_eq!(
            int32(&json!(2), "/1/autologin", Some("0,1")),
            Err("Invalid parameter \"/1/autologin\": value must be one of 0, 1.".into())
        );
        assert_eq!(int32(&json!("1"), "/1/autologin", Some("0,1")), Ok(1));
        assert_eq!(int32(&json!("x"), "/p", None), Err("Invalid parameter \"/p\": an integer is expected.".into()));
        assert_eq!(
            int32(&json!(3_000_000_000_i64), "/p", None),
            Err("Invalid parameter \"/p\": a number is too large.".into())
        );
        assert_eq!(
            time_unit(&json!("1m"), "/1/autologout", true, Some("0,90:86400")),
            Err("Invalid parameter \"/1/autologout\": value must be one of 0, 90-86400.".into())
        );
        assert_eq!(time_unit(&json!(900), "/1/autologout", true, Some("0,90:86400")), Ok("900".into()));
        assert_eq!(
            time_unit(&json!("15x"), "/p", true, None),
            Err("Invalid parameter \"/p\": a time unit is expected.".into())
        );
    }

    #[test]
    fn strings_urls_and_periods() {
        assert_eq!(
            string(&json!("x"), "/t", false, None, Some(&["default", "blue-theme"])),
            Err("Invalid parameter \"/t\": value must be one of \"default\", \"blue-theme\".".into())
        );
        assert_eq!(
            string(&json!("1.0"), "/jsonrpc", false, None, Some(&["2.0"])),
            Err("Invalid parameter \"/jsonrpc\": value must be \"2.0\".".into())
        );
        assert!(url_ok("https://example.com/x") && url_ok("zabbix.php?action=x") && url_ok("mailto:a@b.c"));
        assert!(!url_ok("javascript:alert(1)") && !url_ok("http:///x"));
        for ok in ["1-5,09:00-18:00", "1-7,00:00-24:00", "{$PERIOD}", "1,00:00-12:00;2-3,10:00-11:00;"] {
            assert!(time_period(&json!(ok), "/p", 1024).is_ok(), "{ok}");
        }
        for bad in ["", "8,00:00-24:00", "1-7,10:00-09:00", "1-7,00:00-24:01", "x"] {
            assert!(time_period(&json!(bad), "/p", 1024).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_and_keys() {
        assert_eq!(strings(&json!("a@b.c"), "/s", true), Ok(vec!["a@b.c".into()]));
        assert_eq!(strings(&json!([]), "/s", true), Err("Invalid parameter \"/s\": cannot be empty.".into()));
        assert_eq!(ids(&json!(["7", 7]), "/"), Err("Invalid parameter \"/2\": value (7) already exists.".into()));
        assert_eq!(ids(&json!({"userid": "7"}), "/"), Ok(vec!["7".into()]));
        assert_eq!(Key::of("12"), Key::Int(12));
        assert_eq!(Key::of("012"), Key::Str("012".into()));
        assert_eq!(Key::of("-3"), Key::Int(-3));
        assert_eq!(Key::of("usrgrpid").position(), 1);
        assert!(first_key_is_int(&json!({"0": {}})) && !first_key_is_int(&json!({"userid": 1})));
    }
}
