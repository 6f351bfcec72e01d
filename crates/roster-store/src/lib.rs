//! Roster's storage backends behind `roster_core::Store`. `open` picks one from a
//! database URL: `sqlite://PATH` (the embedded default) or `postgres://...`; `migrate`
//! copies a whole directory from one to the other.

mod like;
pub mod migrate;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use roster_core::{Store, StoreError, StoreResult};

pub use like::ilike;
pub use migrate::{migrate, MigrationReport, TableReport};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Opens the store a URL names: `sqlite://roster.db`, `sqlite:roster.db` or a bare path,
/// or `postgres://` / `postgresql://` URLs. PostgreSQL is opened lazily: the URL is checked
/// now, while connecting and migrating happen on the first operation, which reports them.
pub fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if is_postgres(url) {
        return Ok(Arc::new(PgStore::open_lazy(url)?));
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.is_empty() {
        return Err(StoreError::Backend(format!("no database path in {url:?}")));
    }
    Ok(Arc::new(SqliteStore::open(path)?))
}

/// Like [`open`], but a PostgreSQL store is connected and migrated before this returns.
pub async fn open_async(url: &str) -> StoreResult<Arc<dyn Store>> {
    if is_postgres(url) {
        return Ok(Arc::new(PgStore::open(url).await?));
    }
    open(url)
}

pub(crate) fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
