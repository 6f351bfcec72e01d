//! The PostgreSQL side of `migrate`, on plain connections of its own: the reader streams
//! every table through portals inside one REPEATABLE READ, READ ONLY transaction (a
//! consistent snapshot); the writer fills the migrated, user-less database in one
//! transaction with multi-row INSERTs and sets each identity sequence past the copied ids.

use std::error::Error;
use std::str::FromStr;
use std::time::Duration;

use bytes::BytesMut;
use chrono::NaiveDate;
use roster_core::{StoreError, StoreResult};
use tokio::sync::mpsc;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::{Client, IsolationLevel, NoTls, Row};

use super::layout::{batch_full, Cell, Checksum, Msg, TableEnd, TableLayout};

fn backend(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Backend(format!("PostgreSQL: {db}")),
        None => StoreError::Backend(format!("PostgreSQL: {e}")),
    }
}

pub(crate) async fn connect(url: &str) -> StoreResult<Client> {
    let mut config = tokio_postgres::Config::from_str(url).map_err(backend)?;
    config.connect_timeout(Duration::from_secs(10));
    let (client, connection) = config.connect(NoTls).await.map_err(backend)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migrate: PostgreSQL connection ended");
        }
    });
    Ok(client)
}

/// Tables of the current schema with their columns.
pub(crate) async fn tables(c: &Client) -> StoreResult<Vec<(String, Vec<String>)>> {
    let sql = "SELECT table_name::text, column_name::text FROM information_schema.columns \
               WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position";
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for r in c.query(sql, &[]).await.map_err(backend)? {
        let (table, column): (String, String) = (r.get(0), r.get(1));
        match out.last_mut() {
            Some((t, cols)) if *t == table => cols.push(column),
            _ => out.push((table, vec![column])),
        }
    }
    Ok(out)
}

pub(crate) async fn users(c: &Client) -> StoreResult<i64> {
    c.query_one("SELECT count(*) FROM users", &[]).await.map_err(backend).map(|r| r.get(0))
}

fn cell(r: &Row, i: usize) -> StoreResult<Cell> {
    let ty = r.columns()[i].type_().clone();
    let get = |e: tokio_postgres::Error| StoreError::Backend(format!("PostgreSQL: column {i}: {e}"));
    let cell = match ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(get)?.map(Cell::Int),
        Type::INT4 => r.try_get::<_, Option<i32>>(i).map_err(get)?.map(|v| Cell::Int(v.into())),
        Type::INT2 => r.try_get::<_, Option<i16>>(i).map_err(get)?.map(|v| Cell::Int(v.into())),
        Type::BOOL => r.try_get::<_, Option<bool>>(i).map_err(get)?.map(Cell::Bool),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(i).map_err(get)?.map(Cell::Float),
        Type::FLOAT4 => r.try_get::<_, Option<f32>>(i).map_err(get)?.map(|v| Cell::Float(v.into())),
        Type::DATE => r.try_get::<_, Option<NaiveDate>>(i).map_err(get)?.map(Cell::Date),
        Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i).map_err(get)?.map(Cell::Bytes),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            r.try_get::<_, Option<String>>(i).map_err(get)?.map(Cell::Text)
        }
        other => return Err(StoreError::Backend(format!("migrate cannot copy a column of type {other}"))),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

/// Reads every table in layout order, in primary-key order (text keys byte-wise, as
/// SQLite orders them), in one snapshot; sends rows and ends to `sink` when given.
pub(crate) async fn read(
    url: &str,
    layout: &[TableLayout],
    sink: Option<mpsc::Sender<Msg>>,
) -> StoreResult<Vec<TableEnd>> {
    let mut client = connect(url).await?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(backend)?;
    let send = |msg: Msg| async {
        match &sink {
            Some(s) => s.send(msg).await.map_err(|_| StoreError::Backend("the target stopped".into())),
            None => Ok(()),
        }
    };
    let text_keys = "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
                     AND table_name = $1 AND data_type = 'text'";
    let mut ends = Vec::with_capacity(layout.len());
    for t in layout {
        let texts: Vec<String> =
            tx.query(text_keys, &[&t.def.name]).await.map_err(backend)?.iter().map(|r| r.get(0)).collect();
        let order: Vec<String> = t
            .def
            .key
            .iter()
            .map(|k| if texts.iter().any(|c| c == k) { format!("{k} COLLATE \"C\"") } else { (*k).to_owned() })
            .collect();
        let sql = format!("SELECT {} FROM {} ORDER BY {}", t.column_list(), t.def.name, order.join(", "));
        let stmt = tx.prepare(&sql).await.map_err(backend)?;
        let portal = tx.bind(&stmt, &[]).await.map_err(backend)?;
        let fetch = if t.def.name == "files" { 4 } else { (30_000 / t.columns.len().max(1)).clamp(1, 500) as i32 };
        let (mut sum, mut batch, mut bytes) = (Checksum::default(), Vec::new(), 0usize);
        loop {
            let rows = tx.query_portal(&portal, fetch).await.map_err(backend)?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let row: Vec<Cell> = (0..t.columns.len()).map(|i| cell(r, i)).collect::<StoreResult<_>>()?;
                sum.add(&row);
                if sink.is_some() {
                    bytes += row.iter().map(Cell::size).sum::<usize>();
                    batch.push(row);
                    if batch_full(&batch, bytes, t.columns.len()) {
                        send(Msg::Rows(std::mem::take(&mut batch))).await?;
                        bytes = 0;
                    }
                }
            }
        }
        if !batch.is_empty() {
            send(Msg::Rows(batch)).await?;
        }
        let sequence = match t.has_id() {
            true => {
                let sql = "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence($1, 'id') AS regclass))";
                tx.query_one(sql, &[&t.def.name]).await.map_err(backend)?.get::<_, Option<i64>>(0)
            }
            false => None,
        };
        let end = TableEnd { rows: sum.rows, checksum: sum.finish(), sequence };
        send(Msg::End(end.clone())).await?;
        ends.push(end);
    }
    tx.commit().await.map_err(backend)?;
    Ok(ends)
}

/// Fills the (migrated, user-less) database at `url` from `rx` in one transaction and
/// returns the rows written per table.
pub(crate) async fn write(url: &str, layout: &[TableLayout], mut rx: mpsc::Receiver<Msg>) -> StoreResult<Vec<u64>> {
    let mut client = connect(url).await?;
    let tx = client.transaction().await.map_err(backend)?;
    // The target's own seeds (roles, groups, media types) make way for the source's rows.
    for t in layout.iter().rev() {
        tx.batch_execute(&format!("DELETE FROM {}", t.def.name)).await.map_err(backend)?;
    }
    let mut written = Vec::with_capacity(layout.len());
    for t in layout {
        let refer = t.def.self_ref.and_then(|c| t.columns.iter().position(|x| x == c));
        let key = t.columns.iter().position(|x| x == "id");
        let mut links: Vec<(Cell, Cell)> = Vec::new();
        let mut rows = 0u64;
        let end = loop {
            match rx.recv().await {
                Some(Msg::Rows(mut batch)) => {
                    if let (Some(r), Some(k)) = (refer, key) {
                        // Written once every row is there: a parent may come later in id order.
                        for row in &mut batch {
                            let target = std::mem::replace(&mut row[r], Cell::Null);
                            if target != Cell::Null {
                                links.push((row[k].clone(), target));
                            }
                        }
                    }
                    insert(&tx, t, &batch).await?;
                    rows += batch.len() as u64;
                }
                Some(Msg::End(end)) => break end,
                None => return Err(StoreError::Backend("the source stopped before the end".into())),
            }
        };
        if let Some(column) = t.def.self_ref {
            let sql = format!("UPDATE {} SET {column} = $1 WHERE id = $2", t.def.name);
            for (id, target) in &links {
                tx.execute(&sql, &[target as &(dyn ToSql + Sync), id]).await.map_err(backend)?;
            }
        }
        if t.has_id() {
            let max = format!("SELECT coalesce(max(id), 0) FROM {}", t.def.name);
            let top: i64 = tx.query_one(&max, &[]).await.map_err(backend)?.get(0);
            let last = top.max(end.sequence.unwrap_or(0));
            // setval(.., false) for an empty, never-used table: the next id is 1.
            let sql = "SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)";
            tx.query_one(sql, &[&t.def.name, &last.max(1), &(last > 0)]).await.map_err(backend)?;
        }
        written.push(rows);
    }
    tx.commit().await.map_err(backend)?;
    Ok(written)
}

async fn insert(tx: &tokio_postgres::Transaction<'_>, t: &TableLayout, batch: &[Vec<Cell>]) -> StoreResult<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let n = t.columns.len();
    let tuples: Vec<String> = (0..batch.len())
        .map(|r| format!("({})", (1..=n).map(|c| format!("${}", r * n + c)).collect::<Vec<_>>().join(", ")))
        .collect();
    let sql = format!("INSERT INTO {} ({}) VALUES {}", t.def.name, t.column_list(), tuples.join(", "));
    let params: Vec<&(dyn ToSql + Sync)> = batch.iter().flatten().map(|c| c as &(dyn ToSql + Sync)).collect();
    tx.execute(&sql, &params).await.map_err(backend)?;
    Ok(())
}

type ToSqlResult = Result<IsNull, Box<dyn Error + Sync + Send>>;

fn mismatch(cell: &Cell, ty: &Type) -> Box<dyn Error + Sync + Send> {
    format!("cannot write {cell:?} into a {ty} column").into()
}

impl ToSql for Cell {
    /// Converts to the column's type: SQLite's integers become booleans, its text dates
    /// become dates, and so on; a NUL in text becomes U+FFFD as the store writes it.
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> ToSqlResult {
        let as_int = || match self {
            Cell::Int(i) => Some(*i),
            Cell::Bool(b) => Some(i64::from(*b)),
            Cell::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            Cell::Text(s) => s.trim().parse().ok(),
            _ => None,
        };
        match (self, ty) {
            (Cell::Null, _) => Ok(IsNull::Yes),
            (_, &Type::INT8) => as_int().ok_or_else(|| mismatch(self, ty))?.to_sql(ty, out),
            (_, &Type::INT4) => i32::try_from(as_int().ok_or_else(|| mismatch(self, ty))?)?.to_sql(ty, out),
            (_, &Type::INT2) => i16::try_from(as_int().ok_or_else(|| mismatch(self, ty))?)?.to_sql(ty, out),
            (Cell::Bool(b), &Type::BOOL) => b.to_sql(ty, out),
            (_, &Type::BOOL) => (as_int().ok_or_else(|| mismatch(self, ty))? != 0).to_sql(ty, out),
            (Cell::Float(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (_, &Type::FLOAT8) => (as_int().ok_or_else(|| mismatch(self, ty))? as f64).to_sql(ty, out),
            (Cell::Date(d), &Type::DATE) => d.to_sql(ty, out),
            (Cell::Text(s), &Type::DATE) => NaiveDate::parse_from_str(s, "%Y-%m-%d")?.to_sql(ty, out),
            (Cell::Bytes(b), &Type::BYTEA) => b.to_sql(ty, out),
            (Cell::Text(s), &Type::BYTEA) => s.as_bytes().to_sql(ty, out),
            (_, &Type::TEXT | &Type::VARCHAR | &Type::BPCHAR | &Type::NAME) => {
                let text = match self {
                    Cell::Text(s) => s.replace('\u{0}', "\u{FFFD}"),
                    Cell::Bytes(b) => String::from_utf8_lossy(b).replace('\u{0}', "\u{FFFD}"),
                    other => String::from_utf8(other.canonical().unwrap_or_default())?,
                };
                text.to_sql(ty, out)
            }
            _ => Err(mismatch(self, ty)),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8
                | Type::INT4
                | Type::INT2
                | Type::BOOL
                | Type::FLOAT8
                | Type::DATE
                | Type::BYTEA
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
        )
    }

    to_sql_checked!();
}
