//! Roster's storage backends behind `roster_core::Store`. `open` picks one from a
//! database URL: `sqlite://PATH` (the embedded default).

mod like;
pub mod sqlite;

use std::sync::Arc;

use roster_core::{Store, StoreError, StoreResult};

pub use like::ilike;
pub use sqlite::SqliteStore;

/// Opens the store a URL names: `sqlite://roster.db`, `sqlite:roster.db` or a bare path.
pub fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(StoreError::Backend("the PostgreSQL backend is not built yet".into()));
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.is_empty() {
        return Err(StoreError::Backend(format!("no database path in {url:?}")));
    }
    Ok(Arc::new(SqliteStore::open(path)?))
}
