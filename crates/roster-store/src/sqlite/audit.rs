//! The audit log on SQLite. A user write with an audit context records, in its own
//! transaction, the values before and after of what it changed (`describe` reads the
//! patch before it is applied, `before` reads the row). Secrets never reach the log.

use std::collections::BTreeMap;

use roster_core::audit::{user_key, AuditContext, AuditQuery, AuditRecord, NewAuditRecord};
use roster_core::credentials::unique_hex;
use roster_core::{Change, CustomChange, StoreResult, UserId, UserPatch, Value};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::backend;

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) => s.clone(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::DateTime(t) | Value::Int(t) => t.to_string(),
        Value::File(f) => f.to_string(),
    }
}

/// What a patch changes, as (log key, column or special name, new text), read before it is applied.
pub(crate) fn describe(patch: &UserPatch) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (attr, change) in &patch.attrs {
        let name = attr.attr().name;
        let new = match change {
            Change::Set(v) => text_of(v),
            Change::Upload(f) => format!("file:{}", f.name),
        };
        out.push((user_key(name), name.to_owned(), new));
    }
    if let Some(login) = &patch.login {
        out.push((user_key("login"), "login".into(), login.clone()));
    }
    if let Some(depts) = &patch.departments {
        let list: Vec<String> = depts.iter().map(ToString::to_string).collect();
        out.push(("user.departments".into(), "#departments".into(), list.join(",")));
    }
    for (field, change) in &patch.custom {
        let new = match change {
            CustomChange::Set(values) => values.iter().map(|v| v.text.as_str()).collect::<Vec<_>>().join(","),
            CustomChange::Files { add, remove, .. } => format!("+{} files, -{} files", add.len(), remove.len()),
        };
        out.push((format!("user.uf{field}"), format!("#uf{field}"), new));
    }
    out
}

/// The current text of each described item of user `id`, and the user's login. Plain
/// columns come from one cached statement; departments and custom values (rarer) apart.
pub(crate) fn before(
    c: &Connection,
    id: UserId,
    items: &[(String, String, String)],
) -> StoreResult<(BTreeMap<String, String>, String)> {
    let mut out = BTreeMap::new();
    let plain: Vec<&str> = items.iter().map(|(_, col, _)| col.as_str()).filter(|c| !c.starts_with('#')).collect();
    // Column names come from the catalog (or "login"), never from input.
    let cols: Vec<String> = plain.iter().map(|c| format!("CAST({c} AS TEXT)")).chain(["login".to_owned()]).collect();
    let sql = format!("SELECT {} FROM users WHERE id = ?1", cols.join(", "));
    let row: Option<Vec<Option<String>>> = c
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row([id.get()], |r| (0..cols.len()).map(|i| r.get::<_, Option<String>>(i)).collect()).optional()
        })
        .map_err(backend)?;
    let row = row.unwrap_or_default();
    for (i, col) in plain.iter().enumerate() {
        out.insert((*col).to_owned(), row.get(i).cloned().flatten().unwrap_or_default());
    }
    let login = row.last().cloned().flatten().unwrap_or_default();
    for (_, col, _) in items.iter().filter(|(_, c, _)| c.starts_with('#')) {
        let old: Option<String> = if col == "#departments" {
            c.query_row(
                "SELECT group_concat(dept_id, ',') FROM (SELECT dept_id FROM user_departments WHERE user_id = ?1 ORDER BY dept_id)",
                [id.get()],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?
            .flatten()
        } else if let Some(field) = col.strip_prefix("#uf") {
            c.query_row(
                "SELECT group_concat(text_value, ',') FROM (SELECT text_value FROM user_uf_values \
                 WHERE user_id = ?1 AND field_id = ?2 ORDER BY seq)",
                params![id.get(), field.parse::<i64>().unwrap_or(0)],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?
            .flatten()
        } else {
            None
        };
        out.insert(col.clone(), old.unwrap_or_default());
    }
    Ok((out, login))
}

/// Writes the record of a user change (in the caller's transaction) and returns its id,
/// which the caller makes the newest of the user's chain (`users.audit_head`).
pub(crate) fn record_user(
    c: &Connection,
    id: UserId,
    ctx: &AuditContext,
    adding: bool,
    items: &[(String, String, String)],
    old: &BTreeMap<String, String>,
    name: String,
) -> StoreResult<i64> {
    insert(c, &roster_core::audit::user_change(ctx, id, adding, items, old, name), now_secs())
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn append(c: &Connection, records: &[NewAuditRecord]) -> StoreResult<()> {
    let now = now_secs();
    for r in records {
        let id = insert(c, r, now)?;
        if let (USER_RESOURCE, Some(user)) = (r.resource_type, r.resource_id) {
            set_head(c, user, id)?;
        }
    }
    Ok(())
}

/// Inserts one record; a user's record names the user's newest as `prev_id` (see
/// migration 0007). The caller makes it the newest.
fn insert(c: &Connection, r: &NewAuditRecord, now: i64) -> StoreResult<i64> {
    c.prepare_cached(
        "INSERT INTO audit_log (clock, actor_id, actor_name, ip, face, action, resource_type, resource_id, \
         resource_name, recordset_id, details, prev_id) VALUES (?1, ?2, coalesce((SELECT login FROM users WHERE id = ?2), ''), \
         ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, CASE WHEN ?6 = 0 THEN coalesce((SELECT audit_head FROM users WHERE id = ?7), \
         (SELECT head FROM audit_heads WHERE resource_id = ?7)) END)",
    )
    .and_then(|mut ins| {
        ins.execute(params![
            now,
            r.actor.map(UserId::get),
            r.ip,
            r.face,
            r.action,
            r.resource_type,
            r.resource_id,
            r.resource_name,
            unique_hex(12),
            r.details
        ])
    })
    .map_err(backend)?;
    Ok(c.last_insert_rowid())
}

/// Resource type of users in the audit log.
const USER_RESOURCE: i64 = 0;

/// Makes `head` the newest record of `user`: on the user's row, or for a deleted user in `audit_heads`.
fn set_head(c: &Connection, user: i64, head: i64) -> StoreResult<()> {
    let on_row = c
        .prepare_cached("UPDATE users SET audit_head = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute([user, head]))
        .map_err(backend)?;
    if on_row == 0 {
        c.prepare_cached(
            "INSERT INTO audit_heads (resource_id, head) VALUES (?1, ?2) \
             ON CONFLICT (resource_id) DO UPDATE SET head = excluded.head",
        )
        .and_then(|mut s| s.execute([user, head]))
        .map_err(backend)?;
    }
    Ok(())
}

/// Keeps the audit chains of users about to be deleted (in the caller's transaction).
pub(crate) fn keep_heads(c: &Connection, user: i64) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO audit_heads (resource_id, head) SELECT id, audit_head FROM users \
         WHERE id = ?1 AND audit_head IS NOT NULL \
         ON CONFLICT (resource_id) DO UPDATE SET head = excluded.head",
    )
    .and_then(|mut s| s.execute([user]))
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn query(c: &Connection, q: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
    let mut conds: Vec<String> = Vec::new();
    let mut vals: Vec<SqlValue> = Vec::new();
    let list = |col: &str, items: &Option<Vec<i64>>, conds: &mut Vec<String>, vals: &mut Vec<SqlValue>| {
        if let Some(items) = items {
            conds.push(if items.is_empty() {
                "0".into()
            } else {
                format!("{col} IN ({})", vec!["?"; items.len()].join(", "))
            });
            vals.extend(items.iter().map(|i| SqlValue::Integer(*i)));
        }
    };
    list("action", &q.actions, &mut conds, &mut vals);
    list("resource_type", &q.resource_types, &mut conds, &mut vals);
    // Ids of the records of the resources asked for: users' through their chains, other
    // resources' through the partial index. (Its parameters come first in the text.)
    let mut head: Vec<SqlValue> = Vec::new();
    let mut chain = String::new();
    if let Some(ids) = &q.resource_ids {
        if ids.is_empty() {
            conds.push("0".into());
        } else {
            let marks = vec!["?"; ids.len()].join(", ");
            chain = format!(
                "WITH RECURSIVE chain(id) AS (SELECT audit_head FROM users WHERE id IN ({marks}) AND audit_head IS NOT NULL \
                 UNION ALL SELECT head FROM audit_heads WHERE resource_id IN ({marks}) \
                 UNION ALL SELECT a.prev_id FROM audit_log a JOIN chain ON a.id = chain.id WHERE a.prev_id IS NOT NULL) "
            );
            conds.push(format!(
                "id IN (SELECT id FROM chain UNION ALL SELECT id FROM audit_log \
                 WHERE resource_type != 0 AND resource_id IN ({marks}))"
            ));
            let ints = || ids.iter().map(|i| SqlValue::Integer(*i));
            head.extend(ints().chain(ints()));
            vals.extend(ints());
        }
    }
    list("actor_id", &q.actors, &mut conds, &mut vals);
    if let Some(t) = q.time_from {
        conds.push("clock >= ?".into());
        vals.push(SqlValue::Integer(t));
    }
    if let Some(t) = q.time_till {
        conds.push("clock <= ?".into());
        vals.push(SqlValue::Integer(t));
    }
    let where_ = if conds.is_empty() { "1".to_owned() } else { conds.join(" AND ") };
    let dir = if q.ascending { "ASC" } else { "DESC" };
    let limit = q.limit.unwrap_or(1000).min(100_000);
    let sql = format!(
        "{chain}SELECT id, clock, actor_id, actor_name, ip, face, action, resource_type, resource_id, resource_name, \
         recordset_id, details FROM audit_log WHERE {where_} ORDER BY clock {dir}, id {dir} LIMIT {limit}"
    );
    let mut stmt = c.prepare(&sql).map_err(backend)?;
    head.extend(vals);
    let rows = stmt
        .query_map(params_from_iter(head), |r| {
            Ok(AuditRecord {
                id: r.get(0)?,
                clock: r.get(1)?,
                actor: r.get::<_, Option<i64>>(2)?.and_then(UserId::new),
                actor_name: r.get(3)?,
                ip: r.get(4)?,
                face: r.get(5)?,
                action: r.get(6)?,
                resource_type: r.get(7)?,
                resource_id: r.get(8)?,
                resource_name: r.get(9)?,
                recordset_id: r.get(10)?,
                details: r.get(11)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}
