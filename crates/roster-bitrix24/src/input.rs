//! Reading parameter values the way portal methods do: case-insensitive top-level keys,
//! PHP-style coercion of flags, integers, dates and the `[name, base64]` file form.
//! Turns `user.add`/`user.update` fields into a core `UserPatch`.

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use roster_core::{AttrKind, Change, DepartmentId, FileUpload, UserPatch, Value};
use serde_json::{Map, Value as Json};

use crate::error::BxError;
use crate::fields::{attr_of, FULL};

/// Request parameters with case-insensitive top-level lookup.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Json>);

impl Params {
    /// The value of `key`, any case. When several spellings are present and all are
    /// objects they are merged (later keys win inside); otherwise the last one wins.
    pub fn get(&self, key: &str) -> Option<Json> {
        let mut found: Option<Json> = None;
        for (k, v) in &self.0 {
            if !k.eq_ignore_ascii_case(key) {
                continue;
            }
            found = Some(match (found, v) {
                (Some(Json::Object(mut acc)), Json::Object(more)) => {
                    acc.extend(more.clone());
                    Json::Object(acc)
                }
                _ => v.clone(),
            });
        }
        found
    }

    /// All parameters with upper-cased keys (later spellings win).
    pub fn upper(&self) -> Map<String, Json> {
        let mut out = Map::new();
        for (k, v) in &self.0 {
            out.insert(k.to_ascii_uppercase(), v.clone());
        }
        out
    }
}

/// Flag truthiness. `N`, `false`, `0`, empty, JSON false and null are false; anything
/// else true. Deliberately unlike PHP for the strings "false"/"False" (see README).
pub fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => {
            let s = s.trim();
            !(s.is_empty() || s == "0" || s.eq_ignore_ascii_case("n") || s.eq_ignore_ascii_case("false"))
        }
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
    }
}

/// PHP `intval` of a scalar: numbers truncate, strings read their leading integer.
pub fn int_of(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Json::String(s) => {
            let s = s.trim();
            let end = s
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
                .map_or(s.len(), |(i, _)| i);
            s[..end].parse().ok().or(Some(0))
        }
        Json::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A scalar as text (numbers as written, true as "1", false as ""); None for null and containers.
pub fn text_of(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(if *b { "1".into() } else { String::new() }),
        _ => None,
    }
}

/// A list of integers from a scalar, a list or a PHP-numbered map.
pub fn int_list(v: &Json) -> Option<Vec<i64>> {
    match v {
        Json::Array(items) => items.iter().map(int_of).collect(),
        Json::Object(map) => map.values().map(int_of).collect(),
        Json::String(s) if s.trim().is_empty() => Some(Vec::new()),
        Json::Null => Some(Vec::new()),
        other => int_of(other).map(|i| vec![i]),
    }
}

/// Parses a date as portals accept it: ISO date or datetime, or `DD.MM.YYYY[ HH:MM:SS]`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.date_naive());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.date());
        }
    }
    NaiveDate::parse_from_str(s, "%d.%m.%Y").ok()
}

/// Parses a point in time (Unix seconds), same forms as [`parse_date`].
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp());
        }
    }
    parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc().timestamp())
}

/// Size limits of uploads; `image` uploads must also be real images of an allowed type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileLimits {
    pub max_bytes: usize,
    /// Largest width × height of an image.
    pub max_pixels: u64,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits { max_bytes: 10 * 1024 * 1024, max_pixels: 50_000_000 }
    }
}

/// Image types accepted for photos and logos.
const IMAGE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"];

/// Reads a `[filename, base64]` upload. Empty content, `"false"` or an empty value
/// means "delete the file" (`Set(Null)`); base64 that does not decode is an error, and
/// so is a file over the size limit or, for `image`, anything but a real image.
pub fn file_change(code: &str, v: &Json, limits: &FileLimits, image: bool) -> Result<Change, BxError> {
    let parts: Vec<&Json> = match v {
        Json::Array(items) => items.iter().collect(),
        Json::Object(map) => map.values().collect(),
        Json::Null => return Ok(Change::Set(Value::Null)),
        Json::String(s) if s.is_empty() || s == "false" => return Ok(Change::Set(Value::Null)),
        Json::Bool(false) => return Ok(Change::Set(Value::Null)),
        _ => return Err(BxError::argument(format!("{code} must be [filename, base64 content]"), code)),
    };
    let name = parts.first().and_then(|v| text_of(v)).unwrap_or_default();
    let content = parts.get(1).and_then(|v| text_of(v)).unwrap_or_default();
    if content.is_empty() || content == "false" {
        return Ok(Change::Set(Value::Null));
    }
    let cleaned: String = content.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if cleaned.trim_end_matches('=').is_empty() {
        return Err(BxError::argument(format!("{code}: the file content is not valid base64"), code));
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('=')))
        .map_err(|_| BxError::argument(format!("{code}: the file content is not valid base64"), code))?;
    if data.is_empty() {
        return Ok(Change::Set(Value::Null));
    }
    if data.len() > limits.max_bytes {
        return Err(BxError::argument(
            format!("{code}: the file is larger than the limit of {} bytes", limits.max_bytes),
            code,
        ));
    }
    let name =
        if name.trim().is_empty() { roster_core::credentials::generate_secret(32) } else { sanitize_name(&name) };
    let content_type = sniff_type(&data, &name).to_owned();
    if image {
        check_image(code, &data, &content_type, limits)?;
    }
    Ok(Change::Upload(FileUpload { name, content_type, data }))
}

/// A photo must be a real PNG, JPEG, GIF, WebP or BMP whose header gives its size.
fn check_image(code: &str, data: &[u8], content_type: &str, limits: &FileLimits) -> Result<(), BxError> {
    let refuse = |why: String| Err(BxError::argument(format!("{code}: {why}"), code));
    if !IMAGE_TYPES.contains(&content_type) {
        return refuse("the file is not an image of an allowed type (PNG, JPEG, GIF, WebP, BMP)".into());
    }
    match imagesize::blob_size(data) {
        Ok(size) if size.width == 0 || size.height == 0 => refuse("the image has no pixels".into()),
        Ok(size) if (size.width as u64).saturating_mul(size.height as u64) > limits.max_pixels => {
            refuse(format!("the image is {}x{}, more than {} pixels", size.width, size.height, limits.max_pixels))
        }
        Ok(_) => Ok(()),
        Err(_) => refuse("the image is damaged or truncated".into()),
    }
}

/// Keeps a file name safe to put in a URL path and a header.
fn sanitize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(120)
        .collect();
    if clean.trim_matches('.').is_empty() {
        "file".into()
    } else {
        clean
    }
}

fn sniff_type(data: &[u8], name: &str) -> &'static str {
    match data {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'B', b'M', ..] => "image/bmp",
        _ if name.to_ascii_lowercase().ends_with(".svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Which method the fields are for: `user.add` checks types, as a portal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Add,
    Update,
}

/// Builds a patch from upper-cased fields. Unknown and read-only keys are ignored.
pub fn user_patch(fields: &Map<String, Json>, purpose: Purpose, limits: &FileLimits) -> Result<UserPatch, BxError> {
    let mut patch = UserPatch::default();
    for &code in FULL {
        let Some(raw) = fields.get(code) else { continue };
        if code == "UF_DEPARTMENT" {
            let mut ids =
                int_list(raw).ok_or_else(|| BxError::core("UF_DEPARTMENT must be a list of department ids"))?;
            ids.sort_unstable();
            ids.dedup();
            if ids.len() > crate::filter::MAX_FILTER_VALUES {
                return Err(BxError::core(format!(
                    "UF_DEPARTMENT may hold at most {} departments",
                    crate::filter::MAX_FILTER_VALUES
                )));
            }
            let ids = ids
                .into_iter()
                .map(|i| DepartmentId::new(i).ok_or_else(|| BxError::core(format!("Department {i} does not exist"))))
                .collect::<Result<Vec<_>, _>>()?;
            patch.departments = Some(ids);
            continue;
        }
        let Some(attr) = attr_of(code) else { continue };
        let def = attr.attr();
        if def.system {
            continue;
        }
        if purpose == Purpose::Add
            && (code.contains("WORK_") || code.contains("PERSONAL_"))
            && code != "PERSONAL_PHOTO"
            && !raw.is_string()
        {
            return Err(BxError::argument("invalid_type_field", code));
        }
        let change = match def.kind {
            AttrKind::File => file_change(code, raw, limits, true)?,
            AttrKind::Bool => Change::Set(Value::Bool(truthy(raw))),
            AttrKind::Date => match text_of(raw) {
                None => Change::Set(Value::Null),
                Some(s) if s.trim().is_empty() => Change::Set(Value::Null),
                Some(s) => Change::Set(Value::Date(
                    parse_date(&s).ok_or_else(|| BxError::core(format!("Incorrect date in field {code}")))?,
                )),
            },
            AttrKind::DateTime => continue,
            AttrKind::Int => match int_of(raw) {
                Some(i) => Change::Set(Value::Int(i)),
                None => return Err(BxError::argument(format!("{code} must be an integer"), code)),
            },
            AttrKind::Text => match raw {
                Json::Null => Change::Set(Value::Null),
                Json::Array(_) | Json::Object(_) => {
                    return Err(BxError::argument(format!("{code} must be a string"), code))
                }
                other => Change::Set(Value::Text(text_of(other).unwrap_or_default())),
            },
        };
        patch.attrs.push((attr, change));
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flags_follow_documented_choice() {
        for t in [json!("Y"), json!(true), json!(1), json!("1"), json!("yes")] {
            assert!(truthy(&t), "{t}");
        }
        for f in
            [json!("N"), json!(false), json!(0), json!("0"), json!(""), json!("false"), json!("False"), json!(null)]
        {
            assert!(!truthy(&f), "{f}");
        }
    }

    #[test]
    fn intval_like_php() {
        assert_eq!(int_of(&json!("12abc")), Some(12));
        assert_eq!(int_of(&json!("abc")), Some(0));
        assert_eq!(int_of(&json!(7.9)), Some(7));
        assert_eq!(int_list(&json!("5")), Some(vec![5]));
        assert_eq!(int_list(&json!(["1", 2])), Some(vec![1, 2]));
    }

    #[test]
    fn dates_in_portal_forms() {
        let d = NaiveDate::from_ymd_opt(1990, 5, 17).unwrap();
        for s in ["1990-05-17", "17.05.1990", "1990-05-17T10:00:00+03:00", "1990-05-17 08:00:00"] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date("yesterday-ish"), None);
    }

    #[test]
    fn files_decode_or_refuse() {
        let png = base64::engine::general_purpose::STANDARD.encode([0x89, b'P', b'N', b'G', 1, 2]);
        match file_change("PERSONAL_PHOTO", &json!(["a b.png", png]), &FileLimits::default(), false).unwrap() {
            Change::Upload(f) => {
                assert_eq!(f.name, "a_b.png");
                assert_eq!(f.content_type, "image/png");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            file_change("PERSONAL_PHOTO", &json!(""), &FileLimits::default(), true).unwrap(),
            Change::Set(Value::Null)
        );
        assert_eq!(
            file_change("PERSONAL_PHOTO", &json!(["x.png", ""]), &FileLimits::default(), true).unwrap(),
            Change::Set(Value::Null)
        );
        assert!(
            file_change("PERSONAL_PHOTO", &json!(["x.png", "!!!not base64"]), &FileLimits::default(), true).is_err()
        );
        assert!(file_change("PERSONAL_PHOTO", &json!(5), &FileLimits::default(), true).is_err());
        let not_image = base64::engine::general_purpose::STANDARD.encode(b"plain text");
        let e = file_change("PERSONAL_PHOTO", &json!(["x.png", not_image]), &FileLimits::default(), true).unwrap_err();
        assert!(e.description.contains("not an image"), "{}", e.description);
        let tiny = FileLimits { max_bytes: 3, max_pixels: 1 };
        assert!(file_change("PERSONAL_PHOTO", &json!(["a.png", png]), &tiny, false)
            .unwrap_err()
            .description
            .contains("larger"));
    }

    #[test]
    fn add_checks_string_types_update_does_not() {
        let fields = json!({"WORK_PHONE": 123, "NAME": "A"});
        let map = fields.as_object().unwrap();
        let e = user_patch(map, Purpose::Add, &FileLimits::default()).unwrap_err();
        assert_eq!((e.description.as_str(), e.argument.as_deref()), ("invalid_type_field", Some("WORK_PHONE")));
        let p = user_patch(map, Purpose::Update, &FileLimits::default()).unwrap();
        assert_eq!(p.attrs.len(), 2);
    }
}
