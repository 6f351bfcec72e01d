//! Event bindings, the delivery queue and offline events on SQLite. `emit` runs inside
//! the transaction of the change that raises the event, so an acknowledged change
//! always has its deliveries queued. Called from the `Store` impl in `ops.rs`.

use roster_core::credentials::unique_hex;
use roster_core::events::{Binding, Delivery, NewBinding, OfflineEvent, OfflineQuery};
use roster_core::{StoreError, StoreResult, UserId};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, Row};

use super::backend;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Queues `event` about `entity`, caused by `actor`, for every binding of it.
pub(crate) fn emit(c: &Connection, event: &str, entity: i64, actor: Option<UserId>) -> StoreResult<()> {
    let t = now();
    c.prepare_cached(
        "INSERT INTO event_deliveries (binding_id, event, entity_id, actor_id, next_at, created) \
         SELECT id, event, ?1, ?4, ?2, ?2 FROM event_bindings WHERE event = ?3 AND offline = 0",
    )
    .and_then(|mut s| s.execute(params![entity, t, event, actor.map(UserId::get)]))
    .map_err(backend)?;
    let bound: Vec<i64> = {
        let mut s = c
            .prepare_cached("SELECT DISTINCT app_id FROM event_bindings WHERE event = ?1 AND offline = 1")
            .map_err(backend)?;
        let rows = s.query_map([event], |r| r.get(0)).map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)?
    };
    for app in bound {
        c.execute(
            "INSERT INTO offline_events (app_id, event, entity_id, message_id, created) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![app, event, entity, unique_hex(16), t],
        )
        .map_err(backend)?;
    }
    Ok(())
}

const BINDING_COLUMNS: &str = "b.id, b.app_id, b.event, b.handler, b.auth_user, b.offline, b.created";

fn binding_from_row(r: &Row<'_>) -> rusqlite::Result<Binding> {
    Ok(Binding {
        id: r.get(0)?,
        app: r.get(1)?,
        event: r.get(2)?,
        handler: r.get(3)?,
        auth_user: r.get::<_, Option<i64>>(4)?.and_then(UserId::new),
        offline: r.get(5)?,
        created: r.get(6)?,
    })
}

pub(crate) fn bind(c: &Connection, b: &NewBinding) -> StoreResult<i64> {
    c.execute(
        "INSERT INTO event_bindings (app_id, event, handler, auth_user, offline, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![b.app, b.event, b.handler, b.auth_user.map(UserId::get), b.offline, now()],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Taken("binding")
        }
        other => backend(other),
    })?;
    Ok(c.last_insert_rowid())
}

pub(crate) fn unbind(c: &Connection, app: i64, event: &str, handler: Option<&str>, offline: bool) -> StoreResult<u64> {
    let n = match handler {
        Some(h) => c.execute(
            "DELETE FROM event_bindings WHERE app_id = ?1 AND event = ?2 AND handler = ?3 AND offline = ?4",
            params![app, event, h, offline],
        ),
        None => c.execute(
            "DELETE FROM event_bindings WHERE app_id = ?1 AND event = ?2 AND offline = ?3",
            params![app, event, offline],
        ),
    }
    .map_err(backend)?;
    Ok(n as u64)
}

pub(crate) fn bindings(c: &Connection, app: i64) -> StoreResult<Vec<Binding>> {
    let sql = format!("SELECT {BINDING_COLUMNS} FROM event_bindings b WHERE b.app_id = ?1 ORDER BY b.id");
    let mut s = c.prepare_cached(&sql).map_err(backend)?;
    let rows = s.query_map([app], binding_from_row).map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

pub(crate) fn claim(c: &Connection, at: i64, limit: u64, lease: i64) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT d.id, d.event, d.entity_id, d.failures, d.created, {BINDING_COLUMNS}, d.actor_id FROM event_deliveries d \
         JOIN event_bindings b ON b.id = d.binding_id WHERE d.next_at <= ?1 ORDER BY d.next_at, d.id LIMIT ?2"
    );
    let due: Vec<Delivery> = {
        let mut s = c.prepare_cached(&sql).map_err(backend)?;
        let rows = s
            .query_map(params![at, limit as i64], |r| {
                let binding = Binding {
                    id: r.get(5)?,
                    app: r.get(6)?,
                    event: r.get(7)?,
                    handler: r.get(8)?,
                    auth_user: r.get::<_, Option<i64>>(9)?.and_then(UserId::new),
                    offline: r.get(10)?,
                    created: r.get(11)?,
                };
                Ok(Delivery {
                    id: r.get(0)?,
                    event: r.get(1)?,
                    entity: r.get(2)?,
                    actor: r.get::<_, Option<i64>>(12)?.and_then(UserId::new),
                    failures: r.get(3)?,
                    created: r.get(4)?,
                    binding,
                })
            })
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)?
    };
    if !due.is_empty() {
        let marks = vec!["?"; due.len()].join(", ");
        let mut vals: Vec<SqlValue> = vec![SqlValue::Integer(at + lease)];
        vals.extend(due.iter().map(|d| SqlValue::Integer(d.id)));
        c.execute(&format!("UPDATE event_deliveries SET next_at = ? WHERE id IN ({marks})"), params_from_iter(vals))
            .map_err(backend)?;
    }
    Ok(due)
}

pub(crate) fn finish(c: &Connection, id: i64, delivered: bool, retry_at: Option<i64>) -> StoreResult<()> {
    match (delivered, retry_at) {
        (false, Some(at)) => c.execute(
            "UPDATE event_deliveries SET failures = failures + 1, next_at = ?1 WHERE id = ?2",
            params![at, id],
        ),
        _ => c.execute("DELETE FROM event_deliveries WHERE id = ?1", [id]),
    }
    .map_err(backend)?;
    Ok(())
}

fn offline_from_row(r: &Row<'_>) -> rusqlite::Result<OfflineEvent> {
    Ok(OfflineEvent {
        id: r.get(0)?,
        app: r.get(1)?,
        event: r.get(2)?,
        entity: r.get(3)?,
        created: r.get(4)?,
        message_id: r.get(5)?,
        process_id: r.get(6)?,
        error: r.get(7)?,
    })
}

pub(crate) fn take_offline(c: &Connection, q: &OfflineQuery) -> StoreResult<Vec<OfflineEvent>> {
    let taken: Vec<OfflineEvent> = {
        let mut s = c
            .prepare_cached(
                "SELECT id, app_id, event, entity_id, created, message_id, process_id, error FROM offline_events \
                 WHERE app_id = ?1 AND error = ?2 AND process_id IS NULL ORDER BY id LIMIT ?3",
            )
            .map_err(backend)?;
        let rows = s.query_map(params![q.app, q.errors, q.limit as i64], offline_from_row).map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)?
    };
    for e in &taken {
        if q.peek {
            continue;
        }
        if q.clear {
            c.execute("DELETE FROM offline_events WHERE id = ?1", [e.id]).map_err(backend)?;
        } else {
            c.execute("UPDATE offline_events SET process_id = ?1 WHERE id = ?2", params![q.process_id, e.id])
                .map_err(backend)?;
        }
    }
    Ok(taken)
}

fn by_process(c: &Connection, sql_head: &str, app: i64, process: &str, ids: Option<&[String]>) -> StoreResult<u64> {
    let mut vals: Vec<SqlValue> = vec![SqlValue::Integer(app), SqlValue::Text(process.to_owned())];
    let mut sql = format!("{sql_head} WHERE app_id = ? AND process_id = ?");
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(0);
        }
        sql.push_str(&format!(" AND message_id IN ({})", vec!["?"; ids.len()].join(", ")));
        vals.extend(ids.iter().map(|i| SqlValue::Text(i.clone())));
    }
    Ok(c.execute(&sql, params_from_iter(vals)).map_err(backend)? as u64)
}

pub(crate) fn clear_offline(c: &Connection, app: i64, process: &str, ids: Option<&[String]>) -> StoreResult<u64> {
    by_process(c, "DELETE FROM offline_events", app, process, ids)
}

pub(crate) fn fail_offline(c: &Connection, app: i64, process: &str, ids: &[String]) -> StoreResult<u64> {
    by_process(c, "UPDATE offline_events SET error = 1, process_id = NULL", app, process, Some(ids))
}
