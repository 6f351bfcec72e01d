//! The audit log on PostgreSQL, as on SQLite: a user write with an audit context records,
//! in its own transaction, the values before and after of what it changed (`describe` is
//! SQLite's, shared; old values are read typed and written as the same text SQLite's
//! `CAST(... AS TEXT)` gives). Secrets never reach the log.

use std::collections::BTreeMap;

use deadpool_postgres::GenericClient;
use roster_core::audit::{AuditContext, AuditQuery, AuditRecord, NewAuditRecord};
use roster_core::credentials::unique_hex;
use roster_core::{AttrId, AttrKind, StoreResult, UserId};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub(crate) use crate::sqlite::audit::describe;

use super::sql::{col, refs, Binds, Param};
use super::{backend, execute, now, query};

/// Column `i` as the text SQLite's `CAST(col AS TEXT)` makes of the same stored value.
fn text_at(r: &Row, i: usize, kind: AttrKind) -> StoreResult<String> {
    Ok(match kind {
        AttrKind::Text => col::<Option<String>>(r, i)?.unwrap_or_default(),
        AttrKind::Bool => col::<Option<bool>>(r, i)?.map_or(String::new(), |b| i64::from(b).to_string()),
        AttrKind::Date => {
            col::<Option<chrono::NaiveDate>>(r, i)?.map_or(String::new(), |d| d.format("%Y-%m-%d").to_string())
        }
        AttrKind::DateTime | AttrKind::Int | AttrKind::File => {
            col::<Option<i64>>(r, i)?.map_or(String::new(), |n| n.to_string())
        }
    })
}

/// The current text of each described item of user `id`, and the user's login. Plain
/// columns come from one statement; departments and custom values (rarer) apart.
pub(crate) async fn before<C: GenericClient>(
    c: &C,
    id: UserId,
    items: &[(String, String, String)],
) -> StoreResult<(BTreeMap<String, String>, String)> {
    let uid = id.get();
    let mut out = BTreeMap::new();
    // Column names come from the catalog (or "login"), never from input.
    let plain: Vec<(&str, AttrKind)> = items
        .iter()
        .map(|(_, column, _)| column.as_str())
        .filter(|column| !column.starts_with('#'))
        .filter_map(|column| match column {
            "login" => Some((column, AttrKind::Text)),
            name => AttrId::by_name(name).map(|a| (column, a.attr().kind)),
        })
        .collect();
    let columns: Vec<&str> = plain.iter().map(|(column, _)| *column).chain(["login"]).collect();
    let sql = format!("SELECT {} FROM users WHERE id = $1", columns.join(", "));
    let rows = query(c, &sql, &[&uid]).await?;
    let mut login = String::new();
    if let Some(r) = rows.first() {
        for (i, (column, kind)) in plain.iter().enumerate() {
            out.insert((*column).to_owned(), text_at(r, i, *kind)?);
        }
        login = col::<Option<String>>(r, plain.len())?.unwrap_or_default();
    }
    for (_, column, _) in items.iter().filter(|(_, column, _)| column.starts_with('#')) {
        let old = if column == "#departments" {
            let sql = "SELECT dept_id FROM user_departments WHERE user_id = $1 ORDER BY dept_id";
            let rows = query(c, sql, &[&uid]).await?;
            joined(rows.iter().map(|r| col::<i64>(r, 0).map(|d| d.to_string())))?
        } else if let Some(field) = column.strip_prefix("#uf") {
            let sql = "SELECT text_value FROM user_uf_values WHERE user_id = $1 AND field_id = $2 ORDER BY seq";
            let rows = query(c, sql, &[&uid, &field.parse::<i64>().unwrap_or(0)]).await?;
            joined(rows.iter().map(|r| col::<String>(r, 0)))?
        } else {
            String::new()
        };
        out.insert(column.clone(), old);
    }
    for (_, column, _) in items {
        out.entry(column.clone()).or_default();
    }
    Ok((out, login))
}

fn joined(parts: impl Iterator<Item = StoreResult<String>>) -> StoreResult<String> {
    Ok(parts.collect::<StoreResult<Vec<String>>>()?.join(","))
}

/// Writes the record of a user change (in the caller's transaction).
pub(crate) async fn record_user<C: GenericClient>(
    c: &C,
    id: UserId,
    ctx: &AuditContext,
    adding: bool,
    items: &[(String, String, String)],
    old: &BTreeMap<String, String>,
    name: String,
) -> StoreResult<()> {
    append(c, &[roster_core::audit::user_change(ctx, id, adding, items, old, name)]).await
}

pub(crate) async fn append<C: GenericClient>(c: &C, records: &[NewAuditRecord]) -> StoreResult<()> {
    // prev_id links a user's records (resource type 0), newest first, as on SQLite.
    let sql = "INSERT INTO audit_log (clock, actor_id, actor_name, ip, face, action, resource_type, \
               resource_id, resource_name, recordset_id, details, prev_id) VALUES ($1, $2, \
               coalesce((SELECT login FROM users WHERE id = $2), ''), $3, $4, $5, $6, $7, $8, $9, $10, \
               CASE WHEN $6::bigint = 0 THEN coalesce((SELECT audit_head FROM users WHERE id = $7::bigint), \
               (SELECT head FROM audit_heads WHERE resource_id = $7::bigint)) END) RETURNING id";
    let clock = now();
    for r in records {
        let (actor, recordset) = (r.actor.map(UserId::get), unique_hex(12));
        let params: [&(dyn ToSql + Sync); 10] = [
            &clock,
            &actor,
            &r.ip,
            &r.face,
            &r.action,
            &r.resource_type,
            &r.resource_id,
            &r.resource_name,
            &recordset,
            &r.details,
        ];
        let id: i64 = c.query_one(sql, &params).await.map_err(backend)?.get(0);
        if let (0, Some(user)) = (r.resource_type, r.resource_id) {
            if execute(c, "UPDATE users SET audit_head = $2 WHERE id = $1", &[&user, &id]).await? == 0 {
                let heads = "INSERT INTO audit_heads (resource_id, head) VALUES ($1, $2) \
                             ON CONFLICT (resource_id) DO UPDATE SET head = excluded.head";
                execute(c, heads, &[&user, &id]).await?;
            }
        }
    }
    Ok(())
}

/// Keeps the audit chain of a user about to be deleted (in the caller's transaction).
pub(crate) async fn keep_heads<C: GenericClient>(c: &C, user: i64) -> StoreResult<()> {
    let sql = "INSERT INTO audit_heads (resource_id, head) SELECT id, audit_head FROM users \
               WHERE id = $1 AND audit_head IS NOT NULL \
               ON CONFLICT (resource_id) DO UPDATE SET head = excluded.head";
    execute(c, sql, &[&user]).await.map(|_| ())
}

pub(crate) async fn read<C: GenericClient>(c: &C, q: &AuditQuery) -> StoreResult<Vec<AuditRecord>> {
    let mut b = Binds::default();
    let mut conds: Vec<String> = Vec::new();
    for (column, items) in [
        ("action", &q.actions),
        ("resource_type", &q.resource_types),
        ("resource_id", &q.resource_ids),
        ("actor_id", &q.actors),
    ] {
        if let Some(items) = items {
            conds.push(match items.is_empty() {
                true => "FALSE".into(),
                false => format!("{column} IN ({})", b.list(items.iter().map(|i| Param::Int(*i)))),
            });
        }
    }
    if let Some(t) = q.time_from {
        conds.push(format!("clock >= {}", b.bind(Param::Int(t))));
    }
    if let Some(t) = q.time_till {
        conds.push(format!("clock <= {}", b.bind(Param::Int(t))));
    }
    let where_ = if conds.is_empty() { "TRUE".to_owned() } else { conds.join(" AND ") };
    let dir = if q.ascending { "ASC" } else { "DESC" };
    let limit = q.limit.unwrap_or(1000).min(100_000);
    let sql = format!(
        "SELECT id, clock, actor_id, actor_name, ip, face, action, resource_type, resource_id, resource_name, \
         recordset_id, details FROM audit_log WHERE {where_} ORDER BY clock {dir}, id {dir} LIMIT {limit}"
    );
    let mut out = Vec::new();
    for r in query(c, &sql, &refs(&b.0)).await? {
        out.push(AuditRecord {
            id: col(&r, 0)?,
            clock: col(&r, 1)?,
            actor: col::<Option<i64>>(&r, 2)?.and_then(UserId::new),
            actor_name: col(&r, 3)?,
            ip: col(&r, 4)?,
            face: col(&r, 5)?,
            action: col(&r, 6)?,
            resource_type: col(&r, 7)?,
            resource_id: col(&r, 8)?,
            resource_name: col(&r, 9)?,
            recordset_id: col(&r, 10)?,
            details: col(&r, 11)?,
        });
    }
    Ok(out)
}
