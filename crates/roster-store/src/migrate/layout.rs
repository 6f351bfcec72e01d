//! What `migrate` copies and how it compares: the tables in dependency order with their
//! primary keys, the column set both sides must share, the value of one cell as either
//! backend hands it over, and the per-table checksum, computed the same way on both sides
//! (SHA-256 over the rows in primary-key order, columns by name, values canonical text).

use chrono::NaiveDate;
use roster_core::{StoreError, StoreResult};
use sha2::{Digest, Sha256};

/// One table: its name, primary key (rows are read in this order), and a column that
/// refers to the same table (copied in a second pass, so order never breaks it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableDef {
    pub(crate) name: &'static str,
    pub(crate) key: &'static [&'static str],
    pub(crate) self_ref: Option<&'static str>,
}

const fn table(name: &'static str, key: &'static [&'static str]) -> TableDef {
    TableDef { name, key, self_ref: None }
}

/// Every table of the directory, parents before children. `meta` (the schema version) is
/// written by the target's migrations; the shared-limit tables are runtime state.
pub(crate) const TABLES: &[TableDef] = &[
    TableDef { name: "departments", key: &["id"], self_ref: Some("parent") },
    table("files", &["id"]),
    table("users", &["id"]),
    table("user_departments", &["user_id", "dept_id"]),
    table("webhooks", &["id"]),
    table("roles", &["id"]),
    table("usergroups", &["id"]),
    table("users_groups", &["id"]),
    table("media_types", &["id"]),
    table("medias", &["id"]),
    table("sessions", &["hash"]),
    table("api_tokens", &["id"]),
    table("settings", &["key"]),
    table("user_fields", &["id"]),
    table("user_field_items", &["id"]),
    table("user_uf_values", &["user_id", "field_id", "seq"]),
    table("apps", &["id"]),
    table("oauth_tokens", &["access_hash"]),
    table("oauth_codes", &["code_hash"]),
    table("event_bindings", &["id"]),
    table("event_deliveries", &["id"]),
    table("offline_events", &["id"]),
    table("audit_log", &["id"]),
    table("audit_heads", &["resource_id"]),
];

/// Tables of a Roster database that are not directory data.
pub(crate) const NOT_COPIED: &[&str] = &["meta", "sqlite_sequence", "limit_buckets", "limit_operating"];

/// A table as both sides have it: the shared columns, sorted by name.
#[derive(Debug, Clone)]
pub(crate) struct TableLayout {
    pub(crate) def: TableDef,
    pub(crate) columns: Vec<String>,
}

impl TableLayout {
    /// Whether the table has an `id` column counted by a sequence (identity/AUTOINCREMENT).
    pub(crate) fn has_id(&self) -> bool {
        self.def.key == ["id"]
    }

    pub(crate) fn column_list(&self) -> String {
        self.columns.join(", ")
    }
}

/// Checks that both sides hold exactly the known tables with the same columns, and
/// returns the layout. `source` and `target` list (table, columns) of each side.
pub(crate) fn layout(
    source: &[(String, Vec<String>)],
    target: &[(String, Vec<String>)],
) -> StoreResult<Vec<TableLayout>> {
    for (side, tables) in [("source", source), ("target", target)] {
        if let Some((unknown, _)) =
            tables.iter().find(|(t, _)| !NOT_COPIED.contains(&t.as_str()) && !TABLES.iter().any(|d| d.name == t))
        {
            return Err(StoreError::Backend(format!("the {side} has a table this roster does not know: {unknown}")));
        }
    }
    let columns_of = |tables: &[(String, Vec<String>)], name: &str| -> Option<Vec<String>> {
        tables.iter().find(|(t, _)| t == name).map(|(_, c)| {
            let mut c = c.clone();
            c.sort();
            c
        })
    };
    let mut out = Vec::with_capacity(TABLES.len());
    for def in TABLES {
        let (Some(from), Some(to)) = (columns_of(source, def.name), columns_of(target, def.name)) else {
            return Err(StoreError::Backend(format!(
                "table {} is missing on one side: are both at this roster's schema version?",
                def.name
            )));
        };
        if from != to {
            return Err(StoreError::Backend(format!(
                "table {} has other columns in the source ({}) than in the target ({})",
                def.name,
                from.join(", "),
                to.join(", ")
            )));
        }
        out.push(TableLayout { def: *def, columns: from });
    }
    Ok(out)
}

/// One value as a backend hands it over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Date(NaiveDate),
}

impl Cell {
    /// The canonical text of a value: the same on both backends for the same datum.
    /// Booleans are 1/0 (SQLite keeps integers), dates ISO (SQLite keeps text), numbers
    /// in their shortest form (9.0 is "9", as the integer 9), NUL as U+FFFD (PostgreSQL
    /// text cannot hold it). None for NULL.
    pub(crate) fn canonical(&self) -> Option<Vec<u8>> {
        Some(match self {
            Cell::Null => return None,
            Cell::Int(i) => i.to_string().into_bytes(),
            Cell::Float(f) => f.to_string().into_bytes(),
            Cell::Bool(b) => {
                if *b {
                    b"1".to_vec()
                } else {
                    b"0".to_vec()
                }
            }
            Cell::Text(s) => s.replace('\u{0}', "\u{FFFD}").into_bytes(),
            Cell::Bytes(b) => b.clone(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string().into_bytes(),
        })
    }

    /// Rough size, for batching large rows (files) into bounded statements.
    pub(crate) fn size(&self) -> usize {
        match self {
            Cell::Text(s) => s.len(),
            Cell::Bytes(b) => b.len(),
            _ => 8,
        }
    }
}

/// The running checksum and row count of one table.
#[derive(Default)]
pub(crate) struct Checksum {
    hash: Sha256,
    pub(crate) rows: u64,
}

impl Checksum {
    /// Adds a row (cells in the layout's column order).
    pub(crate) fn add(&mut self, row: &[Cell]) {
        for cell in row {
            match cell.canonical() {
                None => self.hash.update([0xff]),
                Some(bytes) => {
                    self.hash.update([0x01]);
                    self.hash.update((bytes.len() as u64).to_be_bytes());
                    self.hash.update(&bytes);
                }
            }
        }
        self.rows += 1;
    }

    pub(crate) fn finish(self) -> String {
        hex::encode(self.hash.finalize())
    }
}

/// What a reader reports at the end of a table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableEnd {
    pub(crate) rows: u64,
    pub(crate) checksum: String,
    /// The last value the table's id sequence handed out, when it has one.
    pub(crate) sequence: Option<i64>,
}

/// Rows of one table on their way from reader to writer, or its end.
#[derive(Debug)]
pub(crate) enum Msg {
    Rows(Vec<Vec<Cell>>),
    End(TableEnd),
}

/// Rows per batch: statements stay under PostgreSQL's 65535 parameters and a few MB.
pub(crate) fn batch_full(rows: &[Vec<Cell>], bytes: usize, columns: usize) -> bool {
    rows.len() >= (30_000 / columns.max(1)).clamp(1, 500) || bytes >= 8 * 1024 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_is_the_same_for_both_backends() {
        assert_eq!(Cell::Bool(true).canonical(), Cell::Int(1).canonical());
        assert_eq!(Cell::Float(9.0).canonical(), Cell::Int(9).canonical());
        let d = NaiveDate::from_ymd_opt(1990, 5, 1).unwrap();
        assert_eq!(Cell::Date(d).canonical(), Cell::Text("1990-05-01".into()).canonical());
        assert_eq!(Cell::Text("a\u{0}b".into()).canonical(), Cell::Text("a\u{FFFD}b".into()).canonical());
        assert_eq!(Cell::Float(10.5).canonical(), Some(b"10.5".to_vec()));
        let (mut a, mut b) = (Checksum::default(), Checksum::default());
        a.add(&[Cell::Null, Cell::Text(String::new())]);
        b.add(&[Cell::Text(String::new()), Cell::Null]);
        assert_ne!(a.finish(), b.finish(), "NULL differs from an empty text");
    }

    #[test]
    fn unknown_tables_and_other_columns_are_refused() {
        let full: Vec<(String, Vec<String>)> =
            TABLES.iter().map(|t| (t.name.to_owned(), vec!["id".to_owned(), "b".into()])).collect();
        assert_eq!(layout(&full, &full).unwrap().len(), TABLES.len());
        let mut extra = full.clone();
        extra.push(("mystery".into(), vec![]));
        assert!(layout(&extra, &full).is_err());
        let mut other = full.clone();
        other[0].1.push("c".into());
        assert!(layout(&full, &other).is_err());
    }
}
