//! OAuth applications, token pairs and authorization codes on PostgreSQL, as on SQLite:
//! only digests of secrets are stored and looked up. A code is taken with one
//! `DELETE ... RETURNING`, so two servers can never both redeem it.

use deadpool_postgres::GenericClient;
use roster_core::oauth::{App, NewApp, TokenRecord};
use roster_core::{Scopes, StoreError, StoreResult, UserId};
use tokio_postgres::Row;

use super::sql::col;
use super::{execute, now, number, query};

const APP_COLUMNS: &str = "id, client_id, secret_hash, name, scopes, users, active, created";
const TOKEN_COLUMNS: &str = "app_id, user_id, access_hash, refresh_hash, access_expires, refresh_expires";

fn app_from_row(r: &Row) -> StoreResult<App> {
    let users: Option<String> = col(r, 5)?;
    Ok(App {
        id: col(r, 0)?,
        client_id: col(r, 1)?,
        secret_hash: col(r, 2)?,
        name: col(r, 3)?,
        scopes: Scopes::parse(&col::<String>(r, 4)?).unwrap_or_default(),
        users: users.map(|list| list.split(',').filter_map(|u| u.parse().ok()).filter_map(UserId::new).collect()),
        active: col(r, 6)?,
        created: col(r, 7)?,
    })
}

pub(crate) async fn insert_app<C: GenericClient>(c: &C, app: &NewApp) -> StoreResult<i64> {
    let users = app.users.as_ref().map(|list| list.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(","));
    let sql = "INSERT INTO apps (client_id, secret_hash, name, scopes, users, created) \
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    let scopes = app.scopes.to_list();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
        [&app.client_id, &app.secret_hash, &app.name, &scopes, &users, &now()];
    number(c, sql, &params).await
}

pub(crate) async fn apps<C: GenericClient>(c: &C) -> StoreResult<Vec<App>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM apps ORDER BY id");
    query(c, &sql, &[]).await?.iter().map(app_from_row).collect()
}

pub(crate) async fn app_by_id<C: GenericClient>(c: &C, id: i64) -> StoreResult<Option<App>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1");
    query(c, &sql, &[&id]).await?.first().map(app_from_row).transpose()
}

pub(crate) async fn app_by_client_id<C: GenericClient>(c: &C, client_id: &str) -> StoreResult<Option<App>> {
    let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE client_id = $1");
    query(c, &sql, &[&client_id]).await?.first().map(app_from_row).transpose()
}

fn token_from_row(r: &Row) -> StoreResult<Option<TokenRecord>> {
    Ok(UserId::new(col(r, 1)?).map(|user| TokenRecord {
        app: col(r, 0).unwrap_or_default(),
        user,
        access_hash: col(r, 2).unwrap_or_default(),
        refresh_hash: col(r, 3).unwrap_or_default(),
        access_expires: col(r, 4).unwrap_or_default(),
        refresh_expires: col(r, 5).unwrap_or_default(),
    }))
}

pub(crate) async fn token_by<C: GenericClient>(c: &C, refresh: bool, hash: &str) -> StoreResult<Option<TokenRecord>> {
    let column = if refresh { "refresh_hash" } else { "access_hash" };
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM oauth_tokens WHERE {column} = $1");
    match query(c, &sql, &[&hash]).await?.first() {
        Some(r) => token_from_row(r),
        None => Ok(None),
    }
}

pub(crate) async fn save_token<C: GenericClient>(c: &C, t: &TokenRecord, replaces: Option<&str>) -> StoreResult<()> {
    if let Some(old) = replaces {
        // The old refresh token stops working; its access token lives until it expires.
        let sql = "UPDATE oauth_tokens SET refresh_hash = 'revoked:' || access_hash, \
                   refresh_expires = 0 WHERE refresh_hash = $1";
        if execute(c, sql, &[&old]).await? == 0 {
            return Err(StoreError::Missing("token"));
        }
    }
    // Pairs of this user and app that can no longer be used at all are dropped on the way.
    let sql = "DELETE FROM oauth_tokens WHERE app_id = $1 AND user_id = $2 \
               AND refresh_expires < $3 AND access_expires < $3";
    execute(c, sql, &[&t.app, &t.user.get(), &now()]).await?;
    let sql = format!("INSERT INTO oauth_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
        [&t.app, &t.user.get(), &t.access_hash, &t.refresh_hash, &t.access_expires, &t.refresh_expires];
    execute(c, &sql, &params).await?;
    Ok(())
}

pub(crate) async fn save_code<C: GenericClient>(
    c: &C,
    hash: &str,
    app: i64,
    user: UserId,
    expires: i64,
) -> StoreResult<()> {
    let sql = "INSERT INTO oauth_codes (code_hash, app_id, user_id, expires) VALUES ($1, $2, $3, $4)";
    execute(c, sql, &[&hash, &app, &user.get(), &expires]).await?;
    Ok(())
}

pub(crate) async fn take_code<C: GenericClient>(c: &C, hash: &str) -> StoreResult<Option<(i64, UserId, i64)>> {
    let sql = "DELETE FROM oauth_codes WHERE code_hash = $1 RETURNING app_id, user_id, expires";
    let rows = query(c, sql, &[&hash]).await?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let (app, user, expires): (i64, i64, i64) = (col(r, 0)?, col(r, 1)?, col(r, 2)?);
    Ok(UserId::new(user).map(|u| (app, u, expires)))
}
