//! `SqliteStore`: the embedded default backend. One writer thread with group commit
//! (see `writer`), one reader connection per thread (WAL lets readers read while the
//! writer writes), migrations at open. Writes are durable before they are answered.

mod access;
mod accounts;
pub(crate) mod audit;
mod events;
mod oauth;
mod ops;
pub(crate) mod sql;
mod userfields;
mod writer;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use roster_core::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

use writer::Writer;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_zabbix.sql"),
    include_str!("../../migrations/sqlite/0003_userfields.sql"),
    include_str!("../../migrations/sqlite/0004_oauth.sql"),
    include_str!("../../migrations/sqlite/0005_events.sql"),
    include_str!("../../migrations/sqlite/0006_audit.sql"),
    include_str!("../../migrations/sqlite/0007_audit_chain.sql"),
];

/// The SQLite backend. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Writer,
}

thread_local! {
    /// One reader connection per thread and database file.
    static READERS: RefCell<Vec<(PathBuf, Connection)>> = const { RefCell::new(Vec::new()) };
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let mut conn = open_conn(&path, true)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
        migrate(&mut conn)?;
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let writer = Writer::start(conn, open_conn(&path, false)?, wal.into())?;
        Ok(SqliteStore { inner: Arc::new(Inner { path, writer }) })
    }

    /// Runs a short read (a point lookup) on this thread's own reader connection.
    /// Such reads take microseconds; handing them to another thread would cost more.
    fn read_now<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        READERS.with(|cell| {
            let mut list = cell.borrow_mut();
            let idx = match list.iter().position(|(p, _)| p.as_path() == self.inner.path) {
                Some(i) => i,
                None => {
                    list.push((self.inner.path.clone(), open_conn(&self.inner.path, false)?));
                    list.len() - 1
                }
            };
            f(&list[idx].1)
        })
    }

    /// Runs a read that may scan many rows; the async worker is handed over meanwhile.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| self.read_now(f)),
            _ => self.read_now(f),
        }
    }

    /// A flushed commit after writes made with deferred flushes.
    pub(crate) async fn flush(&self) -> StoreResult<()> {
        self.inner.writer.sync().await
    }

    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.inner.writer.write(f).await
    }
}

fn open_conn(path: &Path, create: bool) -> StoreResult<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(backend)?;
    // FULL for any commit made outside the writer (migrations); the writer switches to
    // NORMAL and fsyncs each group itself (see `writer`).
    conn.pragma_update(None, "synchronous", "FULL").map_err(backend)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(256);
    sql::register_functions(&conn).map_err(backend)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive).map_err(backend)?;
    let has_meta: bool = tx
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", [], |r| r.get(0))
        .map_err(backend)?;
    let current: usize = if has_meta {
        tx.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get::<_, String>(0))
            .map_err(backend)?
            .parse()
            .map_err(|_| StoreError::Backend("bad schema_version in meta".into()))?
    } else {
        0
    };
    if current > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this roster ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(i + 1).to_string()],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

/// Runs several reads in one read transaction: one snapshot, and one round of locking
/// instead of one per statement.
pub(crate) fn snapshot<T>(c: &Connection, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
    let run = |sql: &str| c.prepare_cached(sql).and_then(|mut s| s.execute([])).map(|_| ()).map_err(backend);
    if !c.is_autocommit() {
        // Already inside a transaction (a write job): nothing to open.
        return f(c);
    }
    run("BEGIN")?;
    let out = f(c);
    match &out {
        Ok(_) => run("COMMIT")?,
        Err(_) => {
            let _ = run("ROLLBACK");
        }
    };
    out
}

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}
