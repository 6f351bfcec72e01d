//! Bitrix24 `user.get`/`user.search` parameters in core terms: the filter with its key
//! prefixes (spec 2.1), quick search (2.2), `sort`/`order` in both shapes, `select`.

use roster_core::query::{Cond, Direction, Filter, Op, SortKey};
use roster_core::{AttrKind, UserField, Value};
use serde_json::{Map, Value as Json};

use crate::fields::{attr_of, Visibility};
use crate::input::{int_of, parse_date, parse_datetime, text_of, truthy, Params};

/// Keys that are never filter fields when the top-level parameters act as the filter.
const NOT_FILTER: &[&str] = &["SORT", "ORDER", "SELECT", "ADMIN_MODE", "IMAGE_RESIZE", "FILTER", "START"];

/// Most values one filter may carry in all (lists included), and most quick-search words.
pub const MAX_FILTER_VALUES: usize = 1000;
pub const MAX_FIND_WORDS: usize = 20;

/// Refuses a filter too large to run: more values or words than the limits allow.
pub fn check_size(filter: &Filter) -> Result<(), crate::error::BxError> {
    let mut values = 0usize;
    for cond in &filter.0 {
        values += match cond {
            Cond::Attr { values, .. } => values.len(),
            Cond::Id { values, .. } => values.len(),
            Cond::Login { values, .. } => values.len(),
            Cond::Custom { values, .. } => values.len(),
            Cond::Department { any_of, .. } => any_of.len(),
            Cond::Find(words) if words.len() > MAX_FIND_WORDS => {
                return Err(crate::error::BxError::argument(
                    format!("FIND may hold at most {MAX_FIND_WORDS} words"),
                    "FIND",
                ))
            }
            _ => 1,
        };
    }
    if values > MAX_FILTER_VALUES {
        return Err(crate::error::BxError::argument(
            format!("The filter holds {values} values; at most {MAX_FILTER_VALUES} are allowed"),
            "FILTER",
        ));
    }
    Ok(())
}

/// Builds the filter from `FILTER` (any case) or, without it, from the top-level keys.
pub fn filter(params: &Params, vis: Visibility, search: bool, custom: &[UserField]) -> Filter {
    let source: Map<String, Json> = match params.get("FILTER") {
        Some(Json::Object(map)) => map,
        _ => params.upper().into_iter().filter(|(k, _)| !NOT_FILTER.contains(&k.as_str())).collect(),
    };
    let mut out = Filter::default();
    let mut find: Option<String> = None;
    let mut name_parts: Vec<(String, String)> = Vec::new();
    for (key, value) in source {
        let key = key.to_ascii_uppercase();
        let (prefix, field) = split_prefix(&key);
        match field {
            "FIND" | "NAME_SEARCH" if search || field == "NAME_SEARCH" => {
                find = text_of(&value).filter(|s| !s.trim().is_empty());
                continue;
            }
            "NAME" | "LAST_NAME" | "SECOND_NAME" | "WORK_POSITION" | "UF_DEPARTMENT_NAME"
                if search && prefix.is_empty() =>
            {
                if let Some(t) = text_of(&value).filter(|s| !s.is_empty()) {
                    name_parts.push((field.to_owned(), t));
                }
                continue;
            }
            _ => {}
        }
        if field.starts_with("UF_USR_") {
            if let (Some(f), Some(op)) = (custom.iter().find(|f| f.name == field), op_of(prefix)) {
                out.push(crate::uf::condition(f, op, &value));
            }
            continue;
        }
        if let Some(cond) = condition(prefix, field, &value, vis) {
            out.push(cond);
        }
    }
    if let Some(text) = find {
        out.push(Cond::Find(text.split_whitespace().map(str::to_owned).collect()));
    } else {
        for (field, text) in name_parts {
            out.push(match field.as_str() {
                "UF_DEPARTMENT_NAME" => Cond::DepartmentName(text.to_lowercase()),
                f => match attr_of(f) {
                    Some(attr) => Cond::Attr { attr, op: Op::StartsWith, values: vec![Value::Text(text)] },
                    None => continue,
                },
            });
        }
    }
    out
}

/// Splits `^(\W{1,2})(.+)`: up to two leading non-word characters are the operator.
fn split_prefix(key: &str) -> (&str, &str) {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut cut = 0;
    for (i, c) in key.char_indices().take(2) {
        if is_word(c) {
            break;
        }
        cut = i + c.len_utf8();
    }
    if cut == key.len() {
        return ("", key);
    }
    key.split_at(cut)
}

fn op_of(prefix: &str) -> Option<Op> {
    Some(match prefix {
        "" => Op::Like,
        "=" | "==" | "@" => Op::Eq,
        "!" => Op::NotLike,
        "!=" | "!@" => Op::Ne,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "><" => Op::Between,
        "%" => Op::Contains,
        "=%" | "%=" => Op::Like,
        "!%" => Op::NotContains,
        _ => return None,
    })
}

fn scalars(value: &Json) -> Vec<Json> {
    match value {
        Json::Array(items) => items.clone(),
        Json::Object(map) => map.values().cloned().collect(),
        other => vec![other.clone()],
    }
}

fn condition(prefix: &str, field: &str, value: &Json, vis: Visibility) -> Option<Cond> {
    let op = op_of(prefix)?;
    let negated = matches!(op, Op::NotLike | Op::Ne | Op::NotContains);
    match field {
        "ID" => {
            let values: Vec<i64> = scalars(value).iter().filter_map(int_of).collect();
            let op = match op {
                Op::Like | Op::Contains => Op::Eq,
                Op::NotLike | Op::NotContains => Op::Ne,
                o => o,
            };
            Some(Cond::Id { op, values })
        }
        "UF_DEPARTMENT" => {
            let any_of: Vec<i64> = scalars(value).iter().filter_map(int_of).collect();
            Some(Cond::Department { any_of, negate: negated })
        }
        "USER_TYPE" => Some(match text_of(value).unwrap_or_default().to_ascii_lowercase().as_str() {
            "employee" => Cond::HasDepartment(!negated),
            "extranet" => Cond::HasDepartment(negated),
            _ if negated => return None,
            _ => Cond::Never,
        }),
        "HAS_DEPARTAMENT" => truthy(value).then_some(Cond::HasDepartment(true)),
        "IS_ONLINE" => (truthy(value) != negated).then_some(Cond::Never),
        "EXTERNAL_AUTH_ID" => text_of(value).filter(|s| !s.is_empty()).map(|_| Cond::Never),
        _ if !vis.sees(field) => None,
        _ => attr_condition(op, field, value),
    }
}

fn attr_condition(op: Op, field: &str, value: &Json) -> Option<Cond> {
    let attr = attr_of(field)?;
    let raw = scalars(value);
    let kind = attr.attr().kind;
    let mut values = Vec::with_capacity(raw.len());
    for v in &raw {
        let parsed = match kind {
            AttrKind::Text => Some(Value::Text(text_of(v).unwrap_or_default())),
            AttrKind::Bool => Some(Value::Bool(truthy(v))),
            AttrKind::Date => text_of(v).and_then(|s| parse_date(&s)).map(Value::Date),
            AttrKind::DateTime => text_of(v).and_then(|s| parse_datetime(&s)).map(Value::DateTime),
            AttrKind::File => int_of(v).and_then(roster_core::FileId::new).map(Value::File),
            AttrKind::Int => int_of(v).map(Value::Int),
        };
        match parsed {
            Some(p) => values.push(p),
            // An unparseable date matches nothing, as on a portal.
            None => return Some(Cond::Never),
        }
    }
    if kind != AttrKind::Text {
        let op = match op {
            Op::Like | Op::Contains => Op::Eq,
            Op::NotLike | Op::NotContains => Op::Ne,
            o => o,
        };
        return Some(Cond::Attr { attr, op, values });
    }
    // The legacy engine: no operator means LIKE with the caller's wildcards, except that
    // an all-digit value is exact and an empty one means "NULL or empty".
    if op == Op::Like && values.len() == 1 {
        if let Value::Text(t) = &values[0] {
            if t.is_empty() {
                return Some(Cond::Attr { attr, op: Op::IsEmpty, values: Vec::new() });
            }
            if t.bytes().all(|b| b.is_ascii_digit()) {
                return Some(Cond::Attr { attr, op: Op::Eq, values });
            }
        }
    }
    Some(Cond::Attr { attr, op, values })
}

/// `sort` + `order` strings, or `order` as an object `{FIELD: DIR}`; default `ID ASC`.
pub fn order(params: &Params) -> Vec<(SortKey, Direction)> {
    let dir = |v: &Json| match text_of(v).unwrap_or_default().to_ascii_uppercase().as_str() {
        "DESC" => Direction::Desc,
        _ => Direction::Asc,
    };
    let key = |field: &str| -> Option<SortKey> {
        match field.to_ascii_uppercase().as_str() {
            "ID" => Some(SortKey::Id),
            f => attr_of(f).filter(|a| a.attr().kind != AttrKind::File).map(SortKey::Attr),
        }
    };
    match (params.get("SORT"), params.get("ORDER")) {
        (_, Some(Json::Object(map))) => map.iter().filter_map(|(f, d)| key(f).map(|k| (k, dir(d)))).collect(),
        (Some(sort), Some(order)) => {
            text_of(&sort).and_then(|f| key(&f)).map(|k| vec![(k, dir(&order))]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// The fields to output: `select` narrowed to what the scope sees, in canonical order.
pub fn select(params: &Params, vis: Visibility) -> Vec<&'static str> {
    let visible = vis.fields();
    let Some(sel) = params.get("SELECT") else { return visible.to_vec() };
    let names: Vec<String> = match sel {
        Json::Array(items) => items.iter().filter_map(text_of).collect(),
        Json::Object(map) => map.values().filter_map(text_of).collect(),
        other => text_of(&other).into_iter().collect(),
    };
    let names: Vec<String> = names.iter().map(|n| n.trim().to_ascii_uppercase()).collect();
    if names.iter().any(|n| n == "*") {
        return visible.to_vec();
    }
    let all_uf = names.iter().any(|n| n == "UF_*");
    let chosen: Vec<&'static str> = visible
        .iter()
        .copied()
        .filter(|code| names.iter().any(|n| n == code) || (all_uf && code.starts_with("UF_")))
        .collect();
    if chosen.is_empty() && !names.iter().any(|n| n.starts_with("UF_USR_")) {
        visible.to_vec()
    } else {
        chosen
    }
}

/// The custom fields to output: all without `select` (or with `*`/`UF_*`), else those named.
pub fn select_custom<'a>(params: &Params, custom: &'a [UserField]) -> Vec<&'a UserField> {
    let names: Vec<String> = match params.get("SELECT") {
        None => return custom.iter().collect(),
        Some(Json::Array(items)) => items.iter().filter_map(text_of).collect(),
        Some(Json::Object(map)) => map.values().filter_map(text_of).collect(),
        Some(other) => text_of(&other).into_iter().collect(),
    };
    let names: Vec<String> = names.iter().map(|n| n.trim().to_ascii_uppercase()).collect();
    if names.iter().any(|n| n == "*" || n == "UF_*") {
        return custom.iter().collect();
    }
    custom.iter().filter(|f| names.contains(&f.name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Json) -> Params {
        Params(v.as_object().unwrap().clone())
    }

    #[test]
    fn prefixes_split_like_the_portal() {
        assert_eq!(split_prefix(">=ID"), (">=", "ID"));
        assert_eq!(split_prefix("NAME"), ("", "NAME"));
        assert_eq!(split_prefix("!=%NAME"), ("!=", "%NAME"));
        assert_eq!(split_prefix("%"), ("", "%"));
    }

    #[test]
    fn three_char_prefixes_are_dropped() {
        let f = filter(&params(json!({"FILTER": {"!=%NAME": "x"}})), Visibility::Full, false, &[]);
        assert!(f.0.is_empty());
    }

    #[test]
    fn top_level_keys_filter_without_filter_param() {
        let f = filter(&params(json!({"ID": "5", "sort": "ID", "bx": 1})), Visibility::Full, false, &[]);
        assert_eq!(f.0, vec![Cond::Id { op: Op::Eq, values: vec![5] }]);
    }

    #[test]
    fn brief_scope_cannot_filter_by_email() {
        let f = filter(&params(json!({"FILTER": {"EMAIL": "a@b.c"}})), Visibility::Brief, false, &[]);
        assert!(f.0.is_empty());
    }

    #[test]
    fn order_object_and_strings() {
        assert_eq!(order(&params(json!({"order": {"ID": "DESC"}}))), vec![(SortKey::Id, Direction::Desc)]);
        assert_eq!(order(&params(json!({"SORT": "ID", "ORDER": "asc"}))), vec![(SortKey::Id, Direction::Asc)]);
        assert!(order(&params(json!({"SORT": "ID"}))).is_empty());
    }

    #[test]
    fn select_keeps_canonical_order() {
        let s = select(&params(json!({"select": ["NAME", "ID", "NOPE"]})), Visibility::Full);
        assert_eq!(s, vec!["ID", "NAME"]);
    }
}
