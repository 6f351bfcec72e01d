//! OAuth applications, token pairs and authorization codes on SQLite. Only digests of
//! secrets are stored; lookups go by digest. Called from the `Store` impl in `ops.rs`.

use roster_core::oauth::{App, NewApp, TokenRecord};
use roster_core::{Scopes, StoreError, StoreResult, UserId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::backend;

const APP_COLUMNS: &str = "id, client_id, secret_hash, name, scopes, users, active, created";

fn app_from_row(r: &Row<'_>) -> rusqlite::Result<App> {
    let users: Option<String> = r.get(5)?;
    Ok(App {
        id: r.get(0)?,
        client_id: r.get(1)?,
        secret_hash: r.get(2)?,
        name: r.get(3)?,
        scopes: Scopes::parse(&r.get::<_, String>(4)?).unwrap_or_default(),
        users: users.map(|list| list.split(',').filter_map(|u| u.parse().ok()).filter_map(UserId::new).collect()),
        active: r.get(6)?,
        created: r.get(7)?,
    })
}

pub(crate) fn insert_app(c: &Connection, app: &NewApp) -> StoreResult<i64> {
    let users = app.users.as_ref().map(|list| list.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(","));
    c.execute(
        "INSERT INTO apps (client_id, secret_hash, name, scopes, users, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![app.client_id, app.secret_hash, app.name, app.scopes.to_list(), users, chrono::Utc::now().timestamp()],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Taken("client_id")
        }
        other => backend(other),
    })?;
    Ok(c.last_insert_rowid())
}

pub(crate) fn apps(c: &Connection) -> StoreResult<Vec<App>> {
    let mut stmt = c.prepare_cached(&format!("SELECT {APP_COLUMNS} FROM apps ORDER BY id")).map_err(backend)?;
    let rows = stmt.query_map([], app_from_row).map_err(backend)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
}

pub(crate) fn app_by(c: &Connection, column: &str, value: rusqlite::types::Value) -> StoreResult<Option<App>> {
    let col = if column == "id" { "id" } else { "client_id" };
    c.prepare_cached(&format!("SELECT {APP_COLUMNS} FROM apps WHERE {col} = ?1"))
        .and_then(|mut s| s.query_row([value], app_from_row).optional())
        .map_err(backend)
}

fn token_from_row(r: &Row<'_>) -> rusqlite::Result<Option<TokenRecord>> {
    Ok(UserId::new(r.get(1)?).map(|user| TokenRecord {
        app: r.get(0).unwrap_or_default(),
        user,
        access_hash: r.get(2).unwrap_or_default(),
        refresh_hash: r.get(3).unwrap_or_default(),
        access_expires: r.get(4).unwrap_or_default(),
        refresh_expires: r.get(5).unwrap_or_default(),
    }))
}

pub(crate) fn token_by(c: &Connection, refresh: bool, hash: &str) -> StoreResult<Option<TokenRecord>> {
    let col = if refresh { "refresh_hash" } else { "access_hash" };
    let sql = format!(
        "SELECT app_id, user_id, access_hash, refresh_hash, access_expires, refresh_expires FROM oauth_tokens WHERE {col} = ?1"
    );
    Ok(c.prepare_cached(&sql)
        .and_then(|mut s| s.query_row([hash], token_from_row).optional())
        .map_err(backend)?
        .flatten())
}

pub(crate) fn save_token(c: &Connection, t: &TokenRecord, replaces: Option<&str>) -> StoreResult<()> {
    if let Some(old) = replaces {
        // The old refresh token stops working; its access token lives until it expires.
        let gone = c
            .execute(
                "UPDATE oauth_tokens SET refresh_hash = 'revoked:' || access_hash, refresh_expires = 0 \
                 WHERE refresh_hash = ?1",
                [old],
            )
            .map_err(backend)?;
        if gone == 0 {
            return Err(StoreError::Missing("token"));
        }
    }
    // Pairs of this user and app that can no longer be used at all are dropped on the way.
    c.execute(
        "DELETE FROM oauth_tokens WHERE app_id = ?1 AND user_id = ?2 AND refresh_expires < ?3 AND access_expires < ?3",
        params![t.app, t.user.get(), chrono::Utc::now().timestamp()],
    )
    .map_err(backend)?;
    c.execute(
        "INSERT INTO oauth_tokens (access_hash, refresh_hash, app_id, user_id, access_expires, refresh_expires) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![t.access_hash, t.refresh_hash, t.app, t.user.get(), t.access_expires, t.refresh_expires],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn save_code(c: &Connection, hash: &str, app: i64, user: UserId, expires: i64) -> StoreResult<()> {
    c.execute(
        "INSERT INTO oauth_codes (code_hash, app_id, user_id, expires) VALUES (?1, ?2, ?3, ?4)",
        params![hash, app, user.get(), expires],
    )
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn take_code(c: &Connection, hash: &str) -> StoreResult<Option<(i64, UserId, i64)>> {
    let found: Option<(i64, i64, i64)> = c
        .query_row("SELECT app_id, user_id, expires FROM oauth_codes WHERE code_hash = ?1", [hash], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .map_err(backend)?;
    c.execute("DELETE FROM oauth_codes WHERE code_hash = ?1", [hash]).map_err(backend)?;
    Ok(found.and_then(|(app, user, expires)| UserId::new(user).map(|u| (app, u, expires))))
}
