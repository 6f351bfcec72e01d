//! Running statements: through each connection's statement cache, with every parameter
//! passed through [`NulFree`]. PostgreSQL text cannot hold U+0000 (SQLite's can), so a NUL
//! in a text parameter is sent as U+FFFD, written and compared alike: a value stored with a
//! NUL reads back with U+FFFD there, and a filter with the same NUL still finds it.

use bytes::BytesMut;
use deadpool_postgres::GenericClient;
use roster_core::{StoreError, StoreResult};
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::Row;

use super::{backend, sql};

/// Parameters in the form the driver takes.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// What a NUL becomes in text sent to PostgreSQL: U+FFFD REPLACEMENT CHARACTER.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// A parameter whose text encoding has its NUL bytes replaced; other types pass unchanged.
#[derive(Debug)]
struct NulFree<'a>(&'a (dyn ToSql + Sync));

impl ToSql for NulFree<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_sql_checked(ty, out)
    }

    fn accepts(_: &Type) -> bool {
        // The wrapped value checks its type in `to_sql_checked`.
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let start = out.len();
        let outcome = self.0.to_sql_checked(ty, out)?;
        let text = matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME);
        if text && out[start..].contains(&0) {
            // UTF-8 never uses a 0 byte except for U+0000 itself, so bytes can be swapped.
            let written = out.split_off(start);
            for b in written.iter() {
                match *b {
                    0 => out.extend_from_slice(REPLACEMENT),
                    other => out.extend_from_slice(&[other]),
                }
            }
        }
        Ok(outcome)
    }
}

/// Runs a statement through the connection's statement cache.
pub(crate) async fn query<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(backend)?;
    let safe: Vec<NulFree> = params.iter().map(|p| NulFree(*p)).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = safe.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    c.query(&stmt, &refs).await.map_err(backend)
}

pub(crate) async fn execute<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let stmt = c.prepare_cached(sql).await.map_err(backend)?;
    let safe: Vec<NulFree> = params.iter().map(|p| NulFree(*p)).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = safe.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    c.execute(&stmt, &refs).await.map_err(backend)
}

/// The number in the first column of the first row (`count(*)`, `... RETURNING id`).
pub(crate) async fn number<C: GenericClient>(c: &C, sql: &str, params: Params<'_>) -> StoreResult<i64> {
    let rows = query(c, sql, params).await?;
    let row = rows.first().ok_or_else(|| StoreError::Backend(format!("no row from {sql}")))?;
    sql::col(row, 0)
}

/// Existence of one row, for the generic client of reads and writes alike.
pub(crate) async fn exists<C: GenericClient>(c: &C, sql: &str, id: i64) -> StoreResult<bool> {
    Ok(!query(c, sql, &[&id]).await?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(value: &(dyn ToSql + Sync), ty: &Type) -> Vec<u8> {
        let mut out = BytesMut::new();
        NulFree(value).to_sql_checked(ty, &mut out).expect("encodes");
        out.to_vec()
    }

    #[test]
    fn nul_in_text_is_replaced_and_other_types_pass() {
        assert_eq!(sent(&"a\u{0}b", &Type::TEXT), "a\u{FFFD}b".as_bytes());
        assert_eq!(sent(&"абв", &Type::TEXT), "абв".as_bytes());
        assert_eq!(sent(&vec![0u8, 1], &Type::BYTEA), [0, 1]);
        assert_eq!(sent(&7i64, &Type::INT8), 7i64.to_be_bytes());
        let mut out = BytesMut::new();
        assert!(NulFree(&7i64).to_sql_checked(&Type::TEXT, &mut out).is_err(), "the inner type check holds");
    }
}
