//! Custom field values on the Bitrix24 wire (spec 3.4, 1.3): reading them from
//! `user.add`/`user.update` parameters by type, writing them out in user objects,
//! defaults on add, `MANDATORY`, and filter conditions on `UF_USR_*` keys.

use roster_core::query::{Cond, Op};
use roster_core::userfields::{CustomChange, CustomValue, FieldType, UserField};
use roster_core::{FieldId, FileId, UserId};
use serde_json::{json, Map, Value as Json};

use crate::input::{file_change, int_of, parse_date, parse_datetime, text_of, truthy, FileLimits};

/// Reads one scalar of `field`; `Ok(None)` for an empty value. The error names the field.
pub fn value_of(field: &UserField, raw: &Json) -> Result<Option<CustomValue>, String> {
    let name = &field.name;
    if field.type_id == FieldType::Boolean && matches!(raw, Json::Bool(_) | Json::Number(_)) {
        // JSON false is a value (0), not an empty one.
        let b = truthy(raw);
        return Ok(Some(CustomValue::number(f64::from(u8::from(b)), if b { "1" } else { "0" })));
    }
    let text = match raw {
        Json::Null => return Ok(None),
        Json::Array(_) | Json::Object(_) => return Err(format!("Field {name} takes a single value here")),
        other => text_of(other).unwrap_or_default(),
    };
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let number = |what: &str| -> Result<f64, String> {
        t.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(|| format!("Field {name} takes {what}, not {t:?}"))
    };
    Ok(Some(match field.type_id {
        FieldType::Integer => {
            let n = t.parse::<i64>().map_err(|_| format!("Field {name} takes an integer, not {t:?}"))?;
            CustomValue::number(n as f64, n.to_string())
        }
        FieldType::Double => {
            // Kept rounded to the field's PRECISION (half away from zero, as PHP rounds).
            let precision = field.settings["PRECISION"].as_i64().unwrap_or(2).clamp(0, 12) as i32;
            let scale = 10f64.powi(precision);
            let n = (number("a number")? * scale).round() / scale;
            // Written as PHP prints the rounded float: 2.5, 8, 1.23.
            CustomValue::number(n, n.to_string())
        }
        FieldType::Boolean => {
            let b = truthy(raw);
            CustomValue::number(f64::from(u8::from(b)), if b { "1" } else { "0" })
        }
        FieldType::Date => {
            let d = parse_date(t).ok_or_else(|| format!("Field {name} takes a date, not {t:?}"))?;
            CustomValue::text(d.format("%Y-%m-%d").to_string())
        }
        FieldType::Datetime => {
            let s = parse_datetime(t).ok_or_else(|| format!("Field {name} takes a date and time, not {t:?}"))?;
            CustomValue::number(s as f64, s.to_string())
        }
        FieldType::Enumeration => {
            let id = t.parse::<i64>().ok().filter(|id| field.items.iter().any(|i| i.id.get() == *id));
            let id = id.ok_or_else(|| format!("Field {name} has no item with ID {t}"))?;
            CustomValue::number(id as f64, id.to_string())
        }
        FieldType::Employee | FieldType::IblockSection | FieldType::IblockElement => {
            let id = t
                .parse::<i64>()
                .ok()
                .filter(|i| *i > 0)
                .ok_or_else(|| format!("Field {name} takes an ID, not {t:?}"))?;
            CustomValue::number(id as f64, id.to_string())
        }
        FieldType::Money => {
            let (amount, currency) = t.split_once('|').unwrap_or((t, ""));
            let ok_amount = amount.parse::<f64>().is_ok_and(f64::is_finite);
            let ok_cur =
                currency.is_empty() || (currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase()));
            if !(ok_amount && ok_cur) {
                return Err(format!("Field {name} takes an amount like \"100.50|USD\", not {t:?}"));
            }
            CustomValue::text(t)
        }
        FieldType::File => return Err(format!("Field {name} takes {{\"fileData\": [name, base64]}}")),
        FieldType::String | FieldType::Url | FieldType::Address | FieldType::Crm | FieldType::CrmStatus => {
            CustomValue::text(text)
        }
    }))
}

fn list_of(raw: &Json) -> Vec<Json> {
    match raw {
        Json::Array(items) => items.clone(),
        Json::Object(map) if map.keys().all(|k| k.parse::<usize>().is_ok()) => map.values().cloned().collect(),
        Json::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// A file field's change: `{"fileData": [name, base64]}` adds, `{"id": N, "remove": "Y"}` removes.
fn file_field(field: &UserField, raw: &Json, limits: &FileLimits) -> Result<CustomChange, String> {
    let mut add = Vec::new();
    let mut remove = Vec::new();
    let items = if field.multiple { list_of(raw) } else { vec![raw.clone()] };
    for item in items {
        match &item {
            Json::Object(o) if o.contains_key("fileData") => {
                let data = o.get("fileData").cloned().unwrap_or(Json::Null);
                if let roster_core::Change::Upload(f) =
                    file_change(&field.name, &data, limits, false).map_err(|e| e.description)?
                {
                    add.push(f);
                }
            }
            Json::Object(o) if o.get("remove").is_some_and(truthy) => {
                if let Some(id) = o.get("id").and_then(int_of).and_then(FileId::new) {
                    remove.push(id);
                }
            }
            Json::Object(_) => {}
            Json::Null => {}
            Json::String(s) if s.is_empty() => {}
            _ => return Err(format!("Field {} takes {{\"fileData\": [name, base64]}} objects", field.name)),
        }
    }
    // A single field holds one file: a new upload replaces the old one.
    let replace = !field.multiple && !add.is_empty();
    Ok(CustomChange::Files { add, remove, replace })
}

/// The custom-field part of a patch from upper-cased fields. An invalid value is refused
/// with the field's `ERROR_MESSAGE` (in `lang`) when one was set, else a text naming the rule.
pub fn changes(
    fields: &[UserField],
    input: &Map<String, Json>,
    limits: &FileLimits,
    lang: &str,
) -> Result<Vec<(FieldId, CustomChange)>, String> {
    let mut out = Vec::new();
    for field in fields {
        let own_message = |rule: String| -> String {
            let label = field.label("EDIT_FORM_LABEL", lang);
            let message = field.label("ERROR_MESSAGE", lang);
            if message != label && message != field.name {
                message
            } else {
                rule
            }
        };
        let Some(raw) = input.get(&field.name) else { continue };
        if field.type_id == FieldType::File {
            out.push((field.id, file_field(field, raw, limits).map_err(own_message)?));
            continue;
        }
        let raws = if field.multiple { list_of(raw) } else { vec![raw.clone()] };
        let mut values = Vec::new();
        for r in &raws {
            if let Some(v) = value_of(field, r).map_err(own_message)? {
                values.push(v);
            }
        }
        out.push((field.id, CustomChange::Set(values)));
    }
    Ok(out)
}

/// Values a new user gets for fields not given: `DEFAULT_VALUE`, default items, `NOW`.
pub fn defaults(field: &UserField) -> Vec<CustomValue> {
    let s = &field.settings;
    match field.type_id {
        FieldType::Enumeration => field
            .items
            .iter()
            .filter(|i| i.def)
            .map(|i| CustomValue::number(i.id.get() as f64, i.id.to_string()))
            .collect(),
        FieldType::Boolean => {
            let on = s["DEFAULT_VALUE"].as_i64().unwrap_or(0) > 0;
            vec![CustomValue::number(f64::from(u8::from(on)), if on { "1" } else { "0" })]
        }
        FieldType::Date | FieldType::Datetime => {
            let def = &s["DEFAULT_VALUE"];
            let raw = match def["TYPE"].as_str() {
                Some("NOW") => json!(chrono::Utc::now().to_rfc3339()),
                Some("FIXED") => def["VALUE"].clone(),
                _ => return Vec::new(),
            };
            value_of(field, &raw).ok().flatten().into_iter().collect()
        }
        FieldType::File | FieldType::Employee | FieldType::Url | FieldType::Address => Vec::new(),
        _ => value_of(field, &s["DEFAULT_VALUE"]).ok().flatten().into_iter().collect(),
    }
}

/// A mandatory field left without a value, if any: on add every mandatory field counts;
/// on update only those being changed.
pub fn missing_mandatory<'a>(
    fields: &'a [UserField],
    changes: &[(FieldId, CustomChange)],
    adding: bool,
) -> Option<&'a UserField> {
    fields.iter().filter(|f| f.mandatory).find(|f| match changes.iter().find(|(id, _)| *id == f.id) {
        Some((_, CustomChange::Set(values))) => values.is_empty(),
        Some((_, CustomChange::Files { add, replace, .. })) => adding && add.is_empty() && !replace,
        None => adding,
    })
}

/// Whether a patch removes files from a mandatory file field.
pub fn removes_files(fields: &[UserField], changes: &[(FieldId, CustomChange)]) -> bool {
    changes.iter().any(|(id, c)| {
        matches!(c, CustomChange::Files { remove, .. } if !remove.is_empty())
            && fields.iter().any(|f| f.id == *id && f.mandatory)
    })
}

/// A mandatory file field the patch would leave without files, given what `user` holds.
pub fn emptied_file_field<'a>(
    fields: &'a [UserField],
    changes: &[(FieldId, CustomChange)],
    user: &roster_core::User,
) -> Option<&'a UserField> {
    fields.iter().filter(|f| f.mandatory && f.type_id == FieldType::File).find(|f| {
        changes.iter().any(|(id, c)| match c {
            CustomChange::Files { add, remove, replace } if *id == f.id => {
                let kept = if *replace {
                    0
                } else {
                    user.custom(f.id).iter().filter(|v| !remove.iter().any(|r| r.to_string() == v.text)).count()
                };
                kept + add.len() == 0
            }
            _ => false,
        })
    })
}

/// The text refusing a mandatory field left empty: its `ERROR_MESSAGE` when one was set
/// apart from the label, else a standard sentence naming the field.
pub fn mandatory_message(field: &UserField, lang: &str) -> String {
    let label = field.label("EDIT_FORM_LABEL", lang);
    let message = field.label("ERROR_MESSAGE", lang);
    if message != label && message != field.name {
        message
    } else {
        format!("Field \"{label}\" is required.")
    }
}

/// Output of one field's values in a user object; None when it has none.
pub fn to_json(
    field: &UserField,
    values: &[CustomValue],
    user: UserId,
    file_url: &dyn Fn(FileId) -> Option<String>,
) -> Option<Json> {
    if values.is_empty() {
        return None;
    }
    let one = |v: &CustomValue| -> Json {
        match field.type_id {
            FieldType::Date => json!(format!("{}T00:00:00+00:00", v.text)),
            FieldType::Datetime => {
                let t = v.num.unwrap_or(0.0) as i64;
                chrono::DateTime::from_timestamp(t, 0).map_or(Json::Null, |d| json!(crate::envelope::iso(d)))
            }
            FieldType::File => {
                let id = v.text.parse::<i64>().unwrap_or(0);
                let url = FileId::new(id).and_then(file_url);
                json!({"id": id, "showUrl": url, "downloadData": {"id": user.get(), "field": field.name, "value": id}})
            }
            _ => json!(v.text),
        }
    };
    Some(if field.multiple { Json::Array(values.iter().map(one).collect()) } else { one(&values[0]) })
}

/// A filter condition on a custom field key (the operator already split off).
pub fn condition(field: &UserField, op: Op, value: &Json) -> Cond {
    let raws = list_of(value);
    let numeric = field.type_id.numeric();
    let mut values = Vec::new();
    for r in &raws {
        match (field.type_id, r) {
            (FieldType::File, _) => match int_of(r) {
                Some(id) => values.push(CustomValue::number(id as f64, id.to_string())),
                None => return Cond::Never,
            },
            // Text patterns keep their wildcards; typed values must parse.
            (_, _) if !numeric && field.type_id != FieldType::Date => {
                values.push(CustomValue::text(text_of(r).unwrap_or_default()))
            }
            _ => match value_of(field, r) {
                Ok(Some(v)) => values.push(v),
                Ok(None) if raws.len() == 1 => {
                    return Cond::Custom { field: field.id, numeric, op: Op::IsEmpty, values: Vec::new() };
                }
                _ => return Cond::Never,
            },
        }
    }
    Cond::Custom { field: field.id, numeric, op, values }
}
