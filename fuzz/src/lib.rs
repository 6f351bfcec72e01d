//! The bodies of Roster's fuzz targets, one function per target, shared by the libFuzzer
//! entry points in `fuzz_targets/` and by the stable-toolchain runner (`run_stable`).
//! Each feeds untrusted bytes to a pure parser of one face and checks that it returns
//! (an error is fine) without panicking, overflowing the stack or breaking an invariant.
//! It does not start a server: the HTTP paths are covered by the roster-server tests.

use arbitrary::Unstructured;
use roster_bitrix24::fields::Visibility;
use roster_bitrix24::filter;
use roster_bitrix24::input::{self, FileLimits, Params, Purpose};
use roster_bitrix24::params::{self, Limits};
use roster_core::userfields::{settings, EnumItem};
use roster_core::{EnumItemId, FieldId, FieldType, UserField};
use roster_zabbix::envelope::validate_call;
use roster_zabbix::methods::{lookup, user_object};
use roster_zabbix::validate::is_array;
use roster_zabbix::ApiVersion;
use serde_json::{json, Map, Value};

/// The names of the targets, as `cargo fuzz list` and `run_stable` know them.
pub const TARGETS: &[&str] = &["params_decoder", "bitrix_filter", "zabbix_envelope", "file_upload"];

/// Runs the target called `name` on `data`; false when there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "params_decoder" => params_decoder(data),
        "bitrix_filter" => bitrix_filter(data),
        "zabbix_envelope" => zabbix_envelope(data),
        "file_upload" => file_upload(data),
        _ => return false,
    }
    true
}

/// The PHP-style decoder: `decode_form` with limits taken from the first two bytes,
/// `json_body`, and decoding a form over a map that already holds a JSON body (the
/// query-then-body merge). Every form-decoded leaf must come out a string.
pub fn params_decoder(data: &[u8]) {
    let (head, input) = data.split_at(data.len().min(2));
    let limits = Limits {
        max_depth: usize::from(head.first().copied().unwrap_or(0) % 72),
        max_vars: usize::from(head.get(1).copied().unwrap_or(255)) * 40,
    };
    let mut map = Map::new();
    if params::decode_form(input, &mut map, &limits).is_ok() {
        assert!(map.values().all(leaves_are_strings), "non-string leaf from {input:?}");
        // Decoding again over the result exercises the "existing entries" path.
        let _ = params::decode_form(input, &mut map, &limits);
    }
    if let Ok(mut body) = params::json_body(input) {
        let _ = params::decode_form(input, &mut body, &limits);
        params::merge_over(&mut map, body);
    }
}

fn leaves_are_strings(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(leaves_are_strings),
        Value::Object(map) => map.values().all(leaves_are_strings),
        _ => false,
    }
}

/// The `user.get`/`user.search` parameter readers over arbitrary JSON parameters: the
/// filter (with one custom field of every type), its size check, `order`, `select`.
pub fn bitrix_filter(data: &[u8]) {
    let params = Params(object_from(data));
    let custom = custom_fields();
    for vis in [Visibility::Full, Visibility::Basic, Visibility::Brief] {
        for search in [false, true] {
            let f = filter::filter(&params, vis, search, &custom);
            let _ = filter::check_size(&f);
        }
        let _ = filter::select(&params, vis);
    }
    let _ = filter::order(&params);
    let _ = filter::select_custom(&params, &custom);
}

/// One stored custom field of each of the 16 types, with default settings and two
/// enumeration items.
fn custom_fields() -> Vec<UserField> {
    const TYPES: &[&str] = &[
        "string",
        "integer",
        "double",
        "boolean",
        "date",
        "datetime",
        "enumeration",
        "file",
        "url",
        "address",
        "money",
        "employee",
        "crm",
        "crm_status",
        "iblock_section",
        "iblock_element",
    ];
    TYPES
        .iter()
        .enumerate()
        .filter_map(|(i, code)| {
            let type_id = FieldType::parse(code)?;
            let id = FieldId::new(i as i64 + 1)?;
            let items = (1..=2)
                .filter_map(|n| {
                    Some(EnumItem {
                        id: EnumItemId::new(n)?,
                        value: format!("v{n}"),
                        sort: n * 10,
                        def: n == 1,
                        xml_id: format!("x{n}"),
                    })
                })
                .collect();
            Some(UserField {
                id,
                name: format!("UF_USR_{}", code.to_ascii_uppercase()),
                type_id,
                xml_id: None,
                sort: 100,
                multiple: i % 2 == 0,
                mandatory: false,
                show_filter: "N".into(),
                show_in_list: true,
                edit_in_list: true,
                is_searchable: false,
                settings: settings(type_id, &Map::new(), &Map::new()).unwrap_or(Value::Null),
                labels: Default::default(),
                items,
            })
        })
        .collect()
}

/// The pure part of the JSON-RPC envelope, in the order `envelope::handle` runs it:
/// decode, batch split (a list, or an object whose first key is "0"), validate each call
/// for both auth styles, look the method up, and for user.create/update run the user
/// object validator of 6.0 and 7.0. Bytes that are not JSON become generated params.
pub fn zabbix_envelope(data: &[u8]) {
    let decoded: Value = match serde_json::from_slice(data) {
        Ok(v) => v,
        Err(_) => {
            let mut u = Unstructured::new(data);
            let method = *u.choose(&["user.create", "user.update", "user.get", "token.create", "x"]).unwrap_or(&"x");
            let params = arbitrary_json(&mut u, 0).unwrap_or(Value::Null);
            json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        }
    };
    if !is_array(&decoded) {
        return;
    }
    let items: Vec<Value> = match &decoded {
        Value::Array(items) => items.clone(),
        Value::Object(o) if o.keys().next().is_some_and(|k| k == "0") => o.values().cloned().collect(),
        single => vec![single.clone()],
    };
    for item in &items {
        for body_auth in [true, false] {
            let Ok(call) = validate_call(item, body_auth) else { continue };
            let Ok(def) = lookup(&call.method) else { continue };
            for version in [ApiVersion::DEFAULT, ApiVersion { major: 6, minor: 0, patch: 14 }] {
                let mode = match def.name {
                    "user.create" => user_object::Mode::Create,
                    "user.update" => user_object::Mode::Update,
                    _ => continue,
                };
                let _ = user_object::parse(&call.params, mode, version);
            }
        }
    }
}

/// The `[filename, base64]` upload reader (`input::file_change`) and the user-field patch
/// builders that call it. The first byte picks the limits, whether an image is required
/// and an image signature to put in front of the content (so image headers get parsed);
/// the content is sent as valid base64 and, separately, as raw (mostly broken) text.
pub fn file_upload(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let cut = rest.len().min(usize::from(mode >> 4));
    let (name, body) = rest.split_at(cut);
    let name = String::from_utf8_lossy(name).into_owned();
    const MAGIC: &[&[u8]] = &[b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\0\0\0\0WEBPVP8 ", b"BM"];
    let mut content = MAGIC[usize::from(mode) % MAGIC.len()].to_vec();
    content.extend_from_slice(body);
    let limits = if mode & 0x08 != 0 { FileLimits { max_bytes: 64, max_pixels: 16 } } else { FileLimits::default() };
    let image = mode & 0x04 != 0;
    let encoded = base64_encode(&content);
    let raw_text = String::from_utf8_lossy(body).into_owned();
    let values = [
        json!([name, encoded]),
        json!({"fileData": [name, encoded]}),
        json!([name, raw_text]),
        json!({"0": name, "1": raw_text}),
        Value::String(raw_text.clone()),
    ];
    for v in &values {
        let _ = input::file_change("PERSONAL_PHOTO", v, &limits, image);
        let fields: Map<String, Value> =
            [("PERSONAL_PHOTO".to_owned(), v.clone()), ("UF_USR_FILE".to_owned(), v.clone())].into_iter().collect();
        for purpose in [Purpose::Add, Purpose::Update] {
            let _ = input::user_patch(&fields, purpose, &limits);
        }
        let _ = roster_bitrix24::uf::changes(&custom_fields(), &fields, &limits, "en");
    }
}

/// Standard base64 with padding (kept here so the targets need no extra crate).
fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A JSON object from the bytes: the bytes themselves when they are one, else one
/// generated from them (keys drawn mostly from real parameter and filter names).
pub fn object_from(data: &[u8]) -> Map<String, Value> {
    if let Ok(Value::Object(map)) = serde_json::from_slice(data) {
        return map;
    }
    let mut u = Unstructured::new(data);
    let mut map = Map::new();
    while let Ok(true) = u.arbitrary::<bool>() {
        let Ok(key) = arbitrary_key(&mut u) else { break };
        let Ok(value) = arbitrary_json(&mut u, 0) else { break };
        map.insert(key, value);
    }
    map
}

/// Keys that reach the interesting branches, with filter prefixes.
const KEYS: &[&str] = &[
    "ID",
    "FILTER",
    "filter",
    "SORT",
    "ORDER",
    "order",
    "SELECT",
    "select",
    "ADMIN_MODE",
    "FIND",
    "NAME_SEARCH",
    "NAME",
    "LAST_NAME",
    "EMAIL",
    "UF_DEPARTMENT",
    "USER_TYPE",
    "ACTIVE",
    "PERSONAL_BIRTHDAY",
    "DATE_REGISTER",
    "PERSONAL_PHOTO",
    "IS_ONLINE",
    "HAS_DEPARTAMENT",
    "EXTERNAL_AUTH_ID",
    "UF_DEPARTMENT_NAME",
    "UF_USR_DATE",
    "UF_USR_ENUMERATION",
    "UF_USR_DOUBLE",
    "UF_USR_FILE",
    "UF_USR_MONEY",
    "start",
];
const PREFIXES: &[&str] =
    &["", "=", "!", "!=", ">", ">=", "<", "<=", "><", "%", "=%", "!%", "@", "!@", "!=%", "\u{e9}"];

fn arbitrary_key(u: &mut Unstructured) -> arbitrary::Result<String> {
    if u.ratio(1, 5)? {
        return u.arbitrary::<String>();
    }
    Ok(format!("{}{}", u.choose(PREFIXES)?, u.choose(KEYS)?))
}

/// A JSON value of at most 8 levels with odd numbers and strings.
pub fn arbitrary_json(u: &mut Unstructured, depth: u32) -> arbitrary::Result<Value> {
    let kinds = if depth >= 8 { 6 } else { 8 };
    Ok(match u.int_in_range(0..=kinds - 1)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => serde_json::Number::from_f64(u.arbitrary::<f64>()?).map_or(Value::Null, Value::Number),
        4 => Value::String(u.arbitrary()?),
        5 => Value::String(
            u.choose(&[
                "",
                "Y",
                "N",
                "0",
                "-1",
                "1e999",
                "9223372036854775808",
                "2024-02-30",
                "31.12.1999 25:61:00",
                "*",
                "UF_*",
                "%",
                "false",
            ])?
            .to_string(),
        ),
        6 => {
            let n = u.int_in_range(0..=4)?;
            Value::Array((0..n).map(|_| arbitrary_json(u, depth + 1)).collect::<arbitrary::Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=4)?;
            let mut map = Map::new();
            for _ in 0..n {
                map.insert(arbitrary_key(u)?, arbitrary_json(u, depth + 1)?);
            }
            Value::Object(map)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"\xff\xfe\xfd\xfc"), "//79/A==");
    }

    #[test]
    fn every_target_runs_on_small_inputs() {
        for name in TARGETS {
            for data in [&b""[..], b"{}", b"[]", b"a[b][]=1&c=%FF", b"\x0c\x89PNG"] {
                assert!(run(name, data));
            }
        }
    }
}
