//! `migrate`: copies a whole directory from one database to another (SQLite to PostgreSQL,
//! back, or either to itself), preserving ids. Both ends are opened through their stores
//! first, so both are at this roster's schema version; the target must hold no users. The
//! copy is one transaction on the target; then every table is read back from both sides and
//! compared by row count and a checksum computed the same way on each (see `layout`).

mod layout;
mod pg_end;
mod sqlite_end;

use std::path::PathBuf;

use roster_core::{StoreError, StoreResult};
use tokio::sync::mpsc;

use layout::{TableEnd, TableLayout};

/// One table's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    pub table: &'static str,
    /// Rows read from the source.
    pub rows: u64,
    /// Rows written to, and read back from, the target.
    pub copied: u64,
    pub target_rows: u64,
    pub source_checksum: String,
    pub target_checksum: String,
}

impl TableReport {
    pub fn ok(&self) -> bool {
        self.rows == self.copied && self.rows == self.target_rows && self.source_checksum == self.target_checksum
    }
}

/// Every table's outcome, in copy order.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationReport {
    pub tables: Vec<TableReport>,
}

impl MigrationReport {
    pub fn ok(&self) -> bool {
        self.tables.iter().all(TableReport::ok)
    }
}

/// Where a directory is kept.
#[derive(Debug, Clone, PartialEq)]
enum Endpoint {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Endpoint {
    fn parse(url: &str) -> StoreResult<Endpoint> {
        if crate::is_postgres(url) {
            return Ok(Endpoint::Postgres(url.to_owned()));
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Backend(format!("no database path in {url:?}")));
        }
        Ok(Endpoint::Sqlite(PathBuf::from(path)))
    }

    /// Opens the store (creating and migrating the schema) and closes it again.
    async fn migrate_schema(&self) -> StoreResult<()> {
        match self {
            Endpoint::Sqlite(path) => drop(crate::SqliteStore::open(path)?),
            Endpoint::Postgres(url) => crate::PgStore::open(url).await?.close(),
        }
        Ok(())
    }

    async fn users(&self) -> StoreResult<i64> {
        match self {
            Endpoint::Sqlite(path) => {
                let path = path.clone();
                blocking(move || sqlite_end::users(&path)).await
            }
            Endpoint::Postgres(url) => pg_end::users(&pg_end::connect(url).await?).await,
        }
    }

    async fn tables(&self) -> StoreResult<Vec<(String, Vec<String>)>> {
        match self {
            Endpoint::Sqlite(path) => {
                let path = path.clone();
                blocking(move || sqlite_end::tables(&path)).await
            }
            Endpoint::Postgres(url) => pg_end::tables(&pg_end::connect(url).await?).await,
        }
    }

    /// Reads every table; rows (and table ends) go to `sink` when given.
    async fn read(&self, layout: Vec<TableLayout>, sink: Option<mpsc::Sender<Msg>>) -> StoreResult<Vec<TableEnd>> {
        match self {
            Endpoint::Sqlite(path) => {
                let path = path.clone();
                blocking(move || sqlite_end::read(&path, &layout, sink)).await
            }
            Endpoint::Postgres(url) => pg_end::read(url, &layout, sink).await,
        }
    }

    async fn write(&self, layout: Vec<TableLayout>, rx: mpsc::Receiver<Msg>) -> StoreResult<Vec<u64>> {
        match self {
            Endpoint::Sqlite(path) => {
                let path = path.clone();
                blocking(move || sqlite_end::write(&path, &layout, rx)).await
            }
            Endpoint::Postgres(url) => pg_end::write(url, &layout, rx).await,
        }
    }
}

use layout::Msg;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> StoreResult<T> + Send + 'static) -> StoreResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Backend(format!("migrate worker failed: {e}")))?
}

/// Copies the directory at `from` into `to` (`sqlite://PATH` or `postgres://...`): creates
/// the schema in the target, refuses a target that already holds users, copies every table
/// in dependency order in one transaction (ids kept, sequences set past them), and verifies
/// each table by count and checksum. The source is brought to this roster's schema version
/// first, as `roster serve` would; a missing SQLite source is an error, never created.
pub async fn migrate(from: &str, to: &str) -> StoreResult<MigrationReport> {
    let (source, target) = (Endpoint::parse(from)?, Endpoint::parse(to)?);
    if source == target {
        return Err(StoreError::Backend("the source and the target are the same database".into()));
    }
    if let Endpoint::Sqlite(path) = &source {
        if !path.is_file() {
            return Err(StoreError::Backend(format!("no SQLite database at {}", path.display())));
        }
    }
    source.migrate_schema().await?;
    if target.users().await.unwrap_or(0) > 0 {
        return Err(StoreError::Backend("the target already holds users; migrate into an empty database".into()));
    }
    target.migrate_schema().await?;
    if target.users().await? > 0 {
        return Err(StoreError::Backend("the target already holds users; migrate into an empty database".into()));
    }
    let layout = layout::layout(&source.tables().await?, &target.tables().await?)?;

    let (tx, rx) = mpsc::channel::<Msg>(4);
    let reading = {
        let (source, layout) = (source.clone(), layout.clone());
        tokio::spawn(async move { source.read(layout, Some(tx)).await })
    };
    let written = target.write(layout.clone(), rx).await;
    let read = reading.await.map_err(|e| StoreError::Backend(format!("migrate reader failed: {e}")))?;
    // A failed write stops the reader too; its own error says more.
    let written = written?;
    let source_ends = read?;
    let target_ends = target.read(layout.clone(), None).await?;

    let tables = layout
        .iter()
        .zip(source_ends)
        .zip(target_ends)
        .zip(written)
        .map(|(((t, s), d), copied)| TableReport {
            table: t.def.name,
            rows: s.rows,
            copied,
            target_rows: d.rows,
            source_checksum: s.checksum,
            target_checksum: d.checksum,
        })
        .collect();
    Ok(MigrationReport { tables })
}

/// The SHA-256 checksum and row count of every table of a directory, as `migrate` computes
/// them (for checking a copy made earlier, or by other means).
pub async fn checksums(url: &str) -> StoreResult<Vec<(&'static str, u64, String)>> {
    let end = Endpoint::parse(url)?;
    let tables = end.tables().await?;
    let layout = layout::layout(&tables, &tables)?;
    let ends = end.read(layout.clone(), None).await?;
    Ok(layout.iter().zip(ends).map(|(t, e)| (t.def.name, e.rows, e.checksum)).collect())
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Endpoint::parse("sqlite://a/b.db").unwrap(), Endpoint::Sqlite("a/b.db".into()));
        assert_eq!(Endpoint::parse("sqlite:x.db").unwrap(), Endpoint::Sqlite("x.db".into()));
        assert_eq!(Endpoint::parse("postgresql://h/d").unwrap(), Endpoint::Postgres("postgresql://h/d".into()));
        assert!(Endpoint::parse("sqlite://").is_err());
    }
}
