//! The common options of the small `*.get` methods (groups, roles, media types, tokens),
//! applied in memory to their few rows: ids, exact `filter`, `search` on text fields,
//! `sortfield`/`sortorder`, `limit`, `countOutput`, `output` and `preservekeys`.

use serde_json::{Map, Value as Json};

use super::user_get::{like, texts, truthy};
use super::user_view::Output;
use crate::error::{ZbxError, ZbxResult};
use crate::validate::as_object;

/// One row: its base fields (subject to `output`) and extra members (`select*` results).
pub struct Row {
    pub fields: Map<String, Json>,
    pub extra: Map<String, Json>,
}

/// Keeps rows whose `key` is among the ids of option `ids_option`, when given.
pub fn by_ids(rows: &mut Vec<Row>, opts: &Map<String, Json>, ids_option: &str, key: &str) {
    if let Some(ids) = opts.get(ids_option).filter(|v| !v.is_null()) {
        let ids = texts(ids);
        rows.retain(|r| r.fields.get(key).and_then(Json::as_str).is_some_and(|v| ids.iter().any(|i| i == v)));
    }
}

/// Applies filter, search, sort, limit, count, output and preservekeys.
pub fn finish(mut rows: Vec<Row>, opts: &Map<String, Json>, key: &str, sortable: &[&str]) -> ZbxResult<Json> {
    if let Some(filter) = opts.get("filter").and_then(as_object) {
        for (field, value) in filter.iter().filter(|(_, v)| !v.is_null()) {
            let wanted = texts(value);
            rows.retain(|r| match r.fields.get(field) {
                Some(Json::String(s)) => wanted.iter().any(|w| w == s),
                Some(_) => false,
                None => true,
            });
        }
    }
    if let Some(search) = opts.get("search").and_then(as_object) {
        let start = truthy(opts.get("startSearch"));
        let any = truthy(opts.get("searchByAny"));
        let exclude = truthy(opts.get("excludeSearch"));
        let terms: Vec<(String, Vec<String>)> = search
            .iter()
            .map(|(f, v)| (f.clone(), texts(v).into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>()))
            .filter(|(_, t)| !t.is_empty())
            .collect();
        if !terms.is_empty() {
            rows.retain(|r| {
                let hit = |(f, ts): &(String, Vec<String>)| {
                    let text = r.fields.get(f).and_then(Json::as_str).unwrap_or("");
                    ts.iter().any(|t| {
                        let p = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                        like(&if start { format!("{p}%") } else { format!("%{p}%") }, text)
                    })
                };
                let m = if any { terms.iter().any(hit) } else { terms.iter().all(hit) };
                m != exclude
            });
        }
    }
    let fields = opts.get("sortfield").map(texts).unwrap_or_default();
    let orders = opts.get("sortorder").map(texts).unwrap_or_default();
    for f in &fields {
        if !sortable.contains(&f.as_str()) {
            return Err(ZbxError::app(format!("Sorting by field \"{f}\" not allowed.")));
        }
    }
    for (i, f) in fields.iter().enumerate().rev() {
        let desc = orders.get(i).or(orders.first()).is_some_and(|o| o.eq_ignore_ascii_case("DESC"));
        rows.sort_by(|a, b| {
            let (x, y) = (
                a.fields.get(f).and_then(Json::as_str).unwrap_or(""),
                b.fields.get(f).and_then(Json::as_str).unwrap_or(""),
            );
            let ord = match (x.parse::<i64>(), y.parse::<i64>()) {
                (Ok(p), Ok(q)) => p.cmp(&q),
                _ => x.cmp(y),
            };
            if desc {
                ord.reverse()
            } else {
                ord
            }
        });
    }
    if let Some(limit) = opts.get("limit").and_then(|l| texts(l).first()?.parse::<usize>().ok()).filter(|l| *l > 0) {
        rows.truncate(limit);
    }
    if truthy(opts.get("countOutput")) {
        return Ok(Json::String(rows.len().to_string()));
    }
    let output = Output::parse(opts.get("output"), Output::Extend);
    let mut list = Vec::with_capacity(rows.len());
    for r in rows {
        let id = r.fields.get(key).and_then(Json::as_str).unwrap_or("").to_owned();
        let mut obj = super::user_view::select(r.fields, &output);
        obj.extend(r.extra);
        list.push((id, Json::Object(obj)));
    }
    if truthy(opts.get("preservekeys")) {
        Ok(Json::Object(list.into_iter().collect()))
    } else {
        Ok(Json::Array(list.into_iter().map(|(_, o)| o).collect()))
    }
}
