//! `PgStore`: the PostgreSQL backend. A deadpool of tokio-postgres connections, each with
//! a bounded statement cache; every `Store` write is one transaction, answered only after
//! COMMIT returns (with `synchronous_commit` on, the WAL is flushed by then). Migrations
//! (under an advisory lock) and a probe of the server's case folding run once per store.

mod access;
mod accounts;
mod audit;
mod events;
mod exec;
mod limits;
mod oauth;
mod ops;
pub(crate) mod sql;
mod store;
mod userfields;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Client, GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Transaction};
use roster_core::{StoreError, StoreResult};
use tokio::sync::OnceCell;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

/// One file per schema version, numbered as SQLite's: a version means the same tables on both.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_zabbix.sql"),
    include_str!("../../migrations/postgres/0003_userfields.sql"),
    include_str!("../../migrations/postgres/0004_oauth.sql"),
    include_str!("../../migrations/postgres/0005_events.sql"),
    include_str!("../../migrations/postgres/0006_audit.sql"),
    include_str!("../../migrations/postgres/0007_audit_chain.sql"),
];
/// Advisory lock keys ("roster" in ASCII, then a number), held to the end of a transaction.
const MIGRATE_LOCK: i64 = 0x726f_7374_6572_0001;
pub(crate) const BOOTSTRAP_LOCK: i64 = 0x726f_7374_6572_0002;
const POOL_SIZE: usize = 16;
/// Prepared statements kept per connection before the cache is emptied (filters vary).
const STATEMENT_CACHE_MAX: usize = 256;
/// Collations tried, in order, for ILIKE's case folding: the database's own, then ICU ones
/// and PostgreSQL 17's built-in one. A fixed list, so their names may be written into SQL.
const FOLD_COLLATIONS: &[&str] = &["default", "und-x-icu", "unicode", "pg_unicode_fast", "pg_c_utf8"];

/// The PostgreSQL backend. Cheap to clone; clones share one pool.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    ready: OnceCell<Ready>,
}

/// What the first connection learned about the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ready {
    /// The collation ILIKE folds case under.
    pub(crate) fold: &'static str,
}

/// The future of a write run inside a transaction.
pub(crate) type TxFuture<'t, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 't>>;

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`), migrates and probes the server.
    /// Fails when the server cannot be reached or its database is not UTF-8.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let store = PgStore::open_lazy(url)?;
        store.ready().await?;
        Ok(store)
    }

    /// Checks the URL and makes the pool without connecting: the first operation connects,
    /// migrates and probes, and reports any failure (later operations try again).
    pub fn open_lazy(url: &str) -> StoreResult<PgStore> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Backend(format!("bad PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot make the PostgreSQL pool: {e}")))?;
        Ok(PgStore { inner: Arc::new(Inner { pool, ready: OnceCell::new() }) })
    }

    /// Closes the pool: idle connections now, busy ones when they are given back.
    pub fn close(&self) {
        self.inner.pool.close();
    }

    async fn ready(&self) -> StoreResult<Ready> {
        let ready = self
            .inner
            .ready
            .get_or_try_init(|| async {
                let mut client = self.inner.pool.get().await.map_err(pool_error)?;
                migrate(&mut client).await?;
                probe(&client).await
            })
            .await?;
        Ok(*ready)
    }

    /// A pooled connection, once the store is ready.
    async fn client(&self) -> StoreResult<(Client, Ready)> {
        let ready = self.ready().await?;
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        if client.statement_cache.size() > STATEMENT_CACHE_MAX {
            client.statement_cache.clear();
        }
        Ok((client, ready))
    }

    /// Runs `f` in its own transaction: COMMIT when it succeeds, ROLLBACK when it fails.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send,
        F: for<'t> FnOnce(&'t Transaction<'t>) -> TxFuture<'t, T> + Send,
    {
        let (mut client, _) = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let outcome = f(&tx).await;
        match outcome {
            Ok(value) => {
                tx.commit().await.map_err(backend)?;
                Ok(value)
            }
            Err(e) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(e)
            }
        }
    }
}

async fn migrate(client: &mut Client) -> StoreResult<()> {
    let tx = client.transaction().await.map_err(backend)?;
    // Two processes starting on one empty database: the second waits here, then finds the
    // schema the first made.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK]).await.map_err(backend)?;
    let done = schema_version(&tx).await?;
    let pending = MIGRATIONS.get(done..).ok_or_else(|| {
        let known = MIGRATIONS.len();
        StoreError::Backend(format!("database schema version {done} is newer than this roster ({known})"))
    })?;
    let record = "INSERT INTO meta (key, value) VALUES ('schema_version', $1) \
                  ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    for (sql, version) in pending.iter().zip(done + 1..) {
        tx.batch_execute(sql).await.map_err(backend)?;
        tx.execute(record, &[&version.to_string()]).await.map_err(backend)?;
    }
    // Runtime state of the shared limits: not directory data, so outside the numbered schema.
    tx.batch_execute(limits::TABLES).await.map_err(backend)?;
    tx.commit().await.map_err(backend)
}

/// The schema version `meta` records; 0 for a database without Roster's tables.
async fn schema_version(tx: &Transaction<'_>) -> StoreResult<usize> {
    let has_meta = "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
                    WHERE table_schema = current_schema() AND table_name = 'meta')";
    if !sql::col::<bool>(&tx.query_one(has_meta, &[]).await.map_err(backend)?, 0)? {
        return Ok(0);
    }
    let row = tx.query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[]);
    let text: String = sql::col(&row.await.map_err(backend)?, 0)?;
    text.parse().map_err(|_| StoreError::Backend(format!("bad schema_version {text:?} in meta")))
}

/// Refuses a database that is not UTF-8 or reads `'\'` as an escape; warns when commits
/// are not flushed; picks the collation under which ILIKE folds non-ASCII letters.
async fn probe(client: &Client) -> StoreResult<Ready> {
    let row = client
        .query_one(
            "SELECT current_setting('server_encoding'), current_setting('standard_conforming_strings'), \
             current_setting('synchronous_commit'), current_setting('fsync')",
            &[],
        )
        .await
        .map_err(backend)?;
    let setting = |i: usize| row.try_get::<_, String>(i).map_err(backend);
    let encoding = setting(0)?;
    if encoding != "UTF8" {
        return Err(StoreError::Backend(format!("the database encoding is {encoding}; Roster needs UTF8")));
    }
    if setting(1)? != "on" {
        return Err(StoreError::Backend("Roster needs standard_conforming_strings = on".into()));
    }
    if setting(2)? == "off" || setting(3)? == "off" {
        tracing::warn!(
            "PostgreSQL does not flush commits (synchronous_commit or fsync is off): acknowledged writes may be lost"
        );
    }
    for fold in FOLD_COLLATIONS {
        // A missing collation is an error, which only means "try the next one".
        let sql = format!("SELECT lower('ÀЁ' COLLATE \"{fold}\") = 'àё'");
        if let Ok(row) = client.query_one(&sql, &[]).await {
            if row.try_get::<_, bool>(0).unwrap_or(false) {
                return Ok(Ready { fold });
            }
        }
    }
    tracing::warn!("no collation of this PostgreSQL folds non-ASCII case: LIKE filters fold ASCII only");
    Ok(Ready { fold: "default" })
}

/// A driver error as a domain error: the schema's named constraints map to what they guard.
pub(crate) fn backend(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::FOREIGN_KEY_VIOLATION {
            if let Some(mapped) = db.constraint().and_then(constraint_error) {
                return mapped;
            }
        }
    }
    // The driver's own text of a server error is only "db error": add the server's words.
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("{e} {}: {db}", db.code().code())),
        None => StoreError::Backend(e.to_string()),
    }
}

/// The domain error a violated constraint stands for, as SQLite reports the same case.
fn constraint_error(name: &str) -> Option<StoreError> {
    Some(match name {
        "users_login_lc_unique" => StoreError::Taken("login"),
        "users_email_lc_unique" => StoreError::Taken("email"),
        "user_departments_dept_fk" => StoreError::Missing("department"),
        "departments_parent_fk" => StoreError::Missing("parent department"),
        "user_fields_name_unique" => StoreError::Taken("field"),
        "user_uf_values_field_fk" => StoreError::Missing("field"),
        "apps_client_id_unique" => StoreError::Taken("client_id"),
        "event_bindings_unique" | "event_bindings_app_fk" => StoreError::Taken("binding"),
        "usergroups_name_unique" => StoreError::Taken("user group"),
        "users_groups_group_fk" => StoreError::Missing("user group"),
        "users_groups_user_fk" | "api_tokens_user_fk" | "api_tokens_creator_fk" => StoreError::Missing("user"),
        "medias_mediatype_fk" => StoreError::Missing("media type"),
        "api_tokens_name_unique" => StoreError::Taken("token name"),
        _ => return None,
    })
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")),
        other => StoreError::Backend(format!("PostgreSQL pool: {other}")),
    }
}

pub(crate) use exec::{execute, exists, number, query};

/// A typed id from a raw one; ids are positive, so anything else is a backend error.
pub(crate) fn new_id<T>(make: fn(i64) -> Option<T>, raw: i64) -> StoreResult<T> {
    make(raw).ok_or_else(|| StoreError::Backend(format!("bad id {raw}")))
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
