//! The SQLite side of `migrate`, on blocking threads of its own: the reader streams every
//! table in one read transaction (a consistent snapshot); the writer fills a new file in
//! one transaction with foreign keys checked once at the end (`foreign_key_check`), and
//! carries the source's AUTOINCREMENT counters over so ids are never handed out twice.

use std::path::Path;

use roster_core::{StoreError, StoreResult};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params_from_iter, Connection, OpenFlags, OptionalExtension};
use tokio::sync::mpsc;

use super::layout::{batch_full, Cell, Checksum, Msg, TableEnd, TableLayout};

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("SQLite: {e}"))
}

fn open(path: &Path) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(backend)?;
    Ok(conn)
}

/// Tables of the database with their columns (SQLite's own tables left out).
pub(crate) fn tables(path: &Path) -> StoreResult<Vec<(String, Vec<String>)>> {
    let conn = open(path)?;
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
        .map_err(backend)?;
    let names: Vec<String> =
        stmt.query_map([], |r| r.get(0)).map_err(backend)?.collect::<rusqlite::Result<_>>().map_err(backend)?;
    let mut out = Vec::new();
    for name in names {
        let mut cols = conn.prepare("SELECT name FROM pragma_table_info(?1)").map_err(backend)?;
        let columns = cols
            .query_map([&name], |r| r.get(0))
            .map_err(backend)?
            .collect::<rusqlite::Result<_>>()
            .map_err(backend)?;
        out.push((name, columns));
    }
    Ok(out)
}

/// Users in the database (0 for a file without Roster's tables).
pub(crate) fn users(path: &Path) -> StoreResult<i64> {
    let conn = open(path)?;
    let has = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users'", [], |_| Ok(()))
        .optional()
        .map_err(backend)?;
    match has {
        Some(()) => conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).map_err(backend),
        None => Ok(0),
    }
}

fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Float(f),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
    }
}

/// Reads every table in layout order, in primary-key order, inside one read transaction;
/// sends rows (and each table's end) to `sink` when given; returns each table's end.
pub(crate) fn read(path: &Path, layout: &[TableLayout], sink: Option<mpsc::Sender<Msg>>) -> StoreResult<Vec<TableEnd>> {
    let conn = open(path)?;
    conn.execute_batch("BEGIN").map_err(backend)?;
    let send = |msg: Msg| -> StoreResult<()> {
        match &sink {
            Some(tx) => tx.blocking_send(msg).map_err(|_| StoreError::Backend("the target stopped".into())),
            None => Ok(()),
        }
    };
    let mut ends = Vec::with_capacity(layout.len());
    for t in layout {
        let sql = format!("SELECT {} FROM {} ORDER BY {}", t.column_list(), t.def.name, t.def.key.join(", "));
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        let (mut sum, mut batch, mut bytes) = (Checksum::default(), Vec::new(), 0usize);
        while let Some(r) = rows.next().map_err(backend)? {
            let row: Vec<Cell> =
                (0..t.columns.len()).map(|i| r.get_ref(i).map(cell)).collect::<Result<_, _>>().map_err(backend)?;
            sum.add(&row);
            if sink.is_some() {
                bytes += row.iter().map(Cell::size).sum::<usize>();
                batch.push(row);
                if batch_full(&batch, bytes, t.columns.len()) {
                    send(Msg::Rows(std::mem::take(&mut batch)))?;
                    bytes = 0;
                }
            }
        }
        if !batch.is_empty() {
            send(Msg::Rows(batch))?;
        }
        let sequence = if t.has_id() {
            conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = ?1", [t.def.name], |r| r.get(0))
                .optional()
                .map_err(backend)?
        } else {
            None
        };
        let end = TableEnd { rows: sum.rows, checksum: sum.finish(), sequence };
        send(Msg::End(end.clone()))?;
        ends.push(end);
    }
    conn.execute_batch("COMMIT").map_err(backend)?;
    Ok(ends)
}

impl rusqlite::ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Cell::Null => ToSqlOutput::Owned(SqlValue::Null),
            Cell::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Cell::Float(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
            Cell::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(i64::from(*b))),
            Cell::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Cell::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Cell::Date(d) => ToSqlOutput::Owned(SqlValue::Text(d.format("%Y-%m-%d").to_string())),
        })
    }
}

/// Fills the (migrated, user-less) database at `path` from `rx` in one transaction and
/// returns the rows written per table.
pub(crate) fn write(path: &Path, layout: &[TableLayout], mut rx: mpsc::Receiver<Msg>) -> StoreResult<Vec<u64>> {
    let conn = open(path)?;
    // Off for the copy (a department may name a later one as parent); checked at the end.
    conn.pragma_update(None, "foreign_keys", "OFF").map_err(backend)?;
    conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
    // The target's own seeds (roles, groups, media types) make way for the source's rows.
    for t in layout.iter().rev() {
        conn.execute(&format!("DELETE FROM {}", t.def.name), []).map_err(backend)?;
    }
    conn.execute("DELETE FROM sqlite_sequence", []).map_err(backend)?;
    let mut written = Vec::with_capacity(layout.len());
    for t in layout {
        let marks = vec!["?"; t.columns.len()].join(", ");
        let sql = format!("INSERT INTO {} ({}) VALUES ({marks})", t.def.name, t.column_list());
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let mut rows = 0u64;
        let end = loop {
            match rx.blocking_recv() {
                Some(Msg::Rows(batch)) => {
                    for row in &batch {
                        stmt.execute(params_from_iter(row.iter())).map_err(backend)?;
                    }
                    rows += batch.len() as u64;
                }
                Some(Msg::End(end)) => break end,
                None => return Err(StoreError::Backend("the source stopped before the end".into())),
            }
        };
        if let Some(seq) = end.sequence {
            // Inserting set the counter to the largest id; a source that handed out more keeps it.
            conn.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1",
                rusqlite::params![t.def.name, seq],
            )
            .map_err(backend)?;
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2 WHERE NOT EXISTS \
                 (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
                rusqlite::params![t.def.name, seq],
            )
            .map_err(backend)?;
        }
        written.push(rows);
    }
    let broken: Option<String> = conn
        .query_row("SELECT \"table\" FROM pragma_foreign_key_check", [], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    if let Some(table) = broken {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(StoreError::Backend(format!("copied rows of {table} refer to rows that are not there")));
    }
    conn.execute_batch("COMMIT").map_err(backend)?;
    Ok(written)
}
