//! `auditlog.get` (Super admins): the audit log of changes made through either face, in
//! Zabbix 6.0's row shape (strings; `details` a JSON text of `field: [action, new, old]`),
//! plus Roster's `face` member saying which API made the change.

use roster_core::audit::AuditQuery;
use serde_json::{json, Map, Value as Json};

use super::Call;
use crate::error::{ZbxError, ZbxResult};
use crate::validate::as_object;

fn ints(v: Option<&Json>) -> Option<Vec<i64>> {
    let one = |x: &Json| match x {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    v.map(|v| match v {
        Json::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    })
}

pub async fn get(call: &Call<'_>, params: &Json) -> ZbxResult<Json> {
    let opts = as_object(params).unwrap_or_default();
    let filter: Map<String, Json> = opts.get("filter").and_then(Json::as_object).cloned().unwrap_or_default();
    let int = |k: &str| opts.get(k).and_then(|v| ints(Some(v))).and_then(|v| v.first().copied());
    let descending = opts.get("sortorder").and_then(Json::as_str).is_none_or(|o| !o.eq_ignore_ascii_case("ASC"));
    if let Some(field) = opts.get("sortfield").and_then(Json::as_str) {
        if field != "clock" {
            return Err(ZbxError::app(format!("Sorting by field \"{field}\" not allowed.")));
        }
    }
    let query = AuditQuery {
        actions: ints(filter.get("action")),
        resource_types: ints(filter.get("resourcetype")),
        resource_ids: ints(filter.get("resourceid")),
        actors: ints(filter.get("userid")),
        time_from: int("time_from"),
        time_till: int("time_till"),
        limit: int("limit").filter(|l| *l > 0).map(|l| l as u64),
        ascending: !descending,
    };
    let records = call.store().audit_log(query).await?;
    if opts.get("countOutput").is_some_and(|v| v.as_bool().unwrap_or(true)) {
        return Ok(json!(records.len().to_string()));
    }
    let rows: Vec<Json> = records
        .into_iter()
        .map(|r| {
            json!({
                "auditid": r.id.to_string(),
                "userid": r.actor.map_or("0".to_owned(), |u| u.to_string()),
                "username": r.actor_name,
                "clock": r.clock.to_string(),
                "ip": r.ip,
                "action": r.action.to_string(),
                "resourcetype": r.resource_type.to_string(),
                "resourceid": r.resource_id.map_or("0".to_owned(), |i| i.to_string()),
                "resource_cuid": "",
                "resourcename": r.resource_name,
                "recordsetid": r.recordset_id,
                "details": r.details,
                "face": r.face,
            })
        })
        .collect();
    Ok(Json::Array(rows))
}
