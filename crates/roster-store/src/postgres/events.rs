//! Event bindings, the delivery queue and offline events on PostgreSQL. `emit` runs in
//! the transaction of the change that raises the event, as on SQLite. Claims lock their
//! rows with `FOR UPDATE SKIP LOCKED`: several servers share one queue and never claim
//! the same delivery or offline event together.

use deadpool_postgres::GenericClient;
use roster_core::credentials::unique_hex;
use roster_core::events::{Binding, Delivery, NewBinding, OfflineEvent, OfflineQuery};
use roster_core::{StoreResult, UserId};
use tokio_postgres::Row;

use super::sql::{col, refs, Binds, Param};
use super::{execute, now, number, query};

/// Queues `event` about `entity`, caused by `actor`, for every binding of it.
pub(crate) async fn emit<C: GenericClient>(c: &C, event: &str, entity: i64, actor: Option<UserId>) -> StoreResult<()> {
    let t = now();
    let sql = "INSERT INTO event_deliveries (binding_id, event, entity_id, actor_id, next_at, created) \
               SELECT id, event, CAST($1 AS BIGINT), CAST($4 AS BIGINT), CAST($2 AS BIGINT), \
               CAST($2 AS BIGINT) FROM event_bindings WHERE event = $3 AND offline = FALSE";
    execute(c, sql, &[&entity, &t, &event, &actor.map(UserId::get)]).await?;
    let sql = "SELECT DISTINCT app_id FROM event_bindings WHERE event = $1 AND offline = TRUE \
               ORDER BY app_id";
    let insert = "INSERT INTO offline_events (app_id, event, entity_id, message_id, created) \
                  VALUES ($1, $2, $3, $4, $5)";
    for r in query(c, sql, &[&event]).await? {
        let app: i64 = col(&r, 0)?;
        execute(c, insert, &[&app, &event, &entity, &unique_hex(16), &t]).await?;
    }
    Ok(())
}

const BINDING_COLUMNS: &str = "b.id, b.app_id, b.event, b.handler, b.auth_user, b.offline, b.created";

/// A binding from `BINDING_COLUMNS` starting at column `at`.
fn binding_at(r: &Row, at: usize) -> StoreResult<Binding> {
    Ok(Binding {
        id: col(r, at)?,
        app: col(r, at + 1)?,
        event: col(r, at + 2)?,
        handler: col(r, at + 3)?,
        auth_user: col::<Option<i64>>(r, at + 4)?.and_then(UserId::new),
        offline: col(r, at + 5)?,
        created: col(r, at + 6)?,
    })
}

pub(crate) async fn bind<C: GenericClient>(c: &C, b: &NewBinding) -> StoreResult<i64> {
    let sql = "INSERT INTO event_bindings (app_id, event, handler, auth_user, offline, created) \
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    let auth = b.auth_user.map(UserId::get);
    number(c, sql, &[&b.app, &b.event, &b.handler, &auth, &b.offline, &now()]).await
}

pub(crate) async fn unbind<C: GenericClient>(
    c: &C,
    app: i64,
    event: &str,
    handler: Option<&str>,
    offline: bool,
) -> StoreResult<u64> {
    match handler {
        Some(h) => {
            let sql = "DELETE FROM event_bindings WHERE app_id = $1 AND event = $2 \
                       AND handler = $3 AND offline = $4";
            execute(c, sql, &[&app, &event, &h, &offline]).await
        }
        None => {
            let sql = "DELETE FROM event_bindings WHERE app_id = $1 AND event = $2 AND offline = $3";
            execute(c, sql, &[&app, &event, &offline]).await
        }
    }
}

pub(crate) async fn bindings<C: GenericClient>(c: &C, app: i64) -> StoreResult<Vec<Binding>> {
    let sql = format!("SELECT {BINDING_COLUMNS} FROM event_bindings b WHERE b.app_id = $1 ORDER BY b.id");
    query(c, &sql, &[&app]).await?.iter().map(|r| binding_at(r, 0)).collect()
}

pub(crate) async fn claim<C: GenericClient>(c: &C, at: i64, limit: u64, lease: i64) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT d.id, d.event, d.entity_id, d.failures, d.created, {BINDING_COLUMNS}, d.actor_id \
         FROM event_deliveries d JOIN event_bindings b ON b.id = d.binding_id \
         WHERE d.next_at <= $1 ORDER BY d.next_at, d.id LIMIT $2 FOR UPDATE OF d SKIP LOCKED"
    );
    let limit = limit.min(i64::MAX as u64) as i64;
    let mut due = Vec::new();
    for r in query(c, &sql, &[&at, &limit]).await? {
        due.push(Delivery {
            id: col(&r, 0)?,
            event: col(&r, 1)?,
            entity: col(&r, 2)?,
            actor: col::<Option<i64>>(&r, 12)?.and_then(UserId::new),
            failures: col(&r, 3)?,
            created: col(&r, 4)?,
            binding: binding_at(&r, 5)?,
        });
    }
    if !due.is_empty() {
        let mut b = Binds::default();
        let until = b.bind(Param::Int(at + lease));
        let list = b.list(due.iter().map(|d| Param::Int(d.id)));
        let sql = format!("UPDATE event_deliveries SET next_at = {until} WHERE id IN ({list})");
        execute(c, &sql, &refs(&b.0)).await?;
    }
    Ok(due)
}

pub(crate) async fn finish<C: GenericClient>(
    c: &C,
    id: i64,
    delivered: bool,
    retry_at: Option<i64>,
) -> StoreResult<()> {
    match (delivered, retry_at) {
        (false, Some(at)) => {
            let sql = "UPDATE event_deliveries SET failures = failures + 1, next_at = $1 WHERE id = $2";
            execute(c, sql, &[&at, &id]).await?
        }
        _ => execute(c, "DELETE FROM event_deliveries WHERE id = $1", &[&id]).await?,
    };
    Ok(())
}

fn offline_from_row(r: &Row) -> StoreResult<OfflineEvent> {
    Ok(OfflineEvent {
        id: col(r, 0)?,
        app: col(r, 1)?,
        event: col(r, 2)?,
        entity: col(r, 3)?,
        created: col(r, 4)?,
        message_id: col(r, 5)?,
        process_id: col(r, 6)?,
        error: col(r, 7)?,
    })
}

pub(crate) async fn take_offline<C: GenericClient>(c: &C, q: &OfflineQuery) -> StoreResult<Vec<OfflineEvent>> {
    // A peek only reads; a take locks what it returns so that no other server takes it too.
    let lock = if q.peek { "" } else { " FOR UPDATE SKIP LOCKED" };
    let sql = format!(
        "SELECT id, app_id, event, entity_id, created, message_id, process_id, error \
         FROM offline_events WHERE app_id = $1 AND error = $2 AND process_id IS NULL \
         ORDER BY id LIMIT $3{lock}"
    );
    let limit = q.limit.min(i64::MAX as u64) as i64;
    let taken = query(c, &sql, &[&q.app, &q.errors, &limit])
        .await?
        .iter()
        .map(offline_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    if q.peek || taken.is_empty() {
        return Ok(taken);
    }
    let mut b = Binds::default();
    let head = match q.clear {
        true => "DELETE FROM offline_events".to_owned(),
        false => {
            let process = b.bind(Param::Text(q.process_id.clone()));
            format!("UPDATE offline_events SET process_id = {process}")
        }
    };
    let list = b.list(taken.iter().map(|e| Param::Int(e.id)));
    execute(c, &format!("{head} WHERE id IN ({list})"), &refs(&b.0)).await?;
    Ok(taken)
}

async fn by_process<C: GenericClient>(
    c: &C,
    head: &str,
    app: i64,
    process: &str,
    ids: Option<&[String]>,
) -> StoreResult<u64> {
    let mut b = Binds::default();
    let (app, process) = (b.bind(Param::Int(app)), b.bind(Param::Text(process.to_owned())));
    let mut sql = format!("{head} WHERE app_id = {app} AND process_id = {process}");
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(0);
        }
        let list = b.list(ids.iter().map(|i| Param::Text(i.clone())));
        sql.push_str(&format!(" AND message_id IN ({list})"));
    }
    execute(c, &sql, &refs(&b.0)).await
}

pub(crate) async fn clear_offline<C: GenericClient>(
    c: &C,
    app: i64,
    process: &str,
    ids: Option<&[String]>,
) -> StoreResult<u64> {
    by_process(c, "DELETE FROM offline_events", app, process, ids).await
}

pub(crate) async fn fail_offline<C: GenericClient>(c: &C, app: i64, process: &str, ids: &[String]) -> StoreResult<u64> {
    let head = "UPDATE offline_events SET error = TRUE, process_id = NULL";
    by_process(c, head, app, process, Some(ids)).await
}
