//! File formats of `roster users import|export`: reading CSV (a header of field codes)
//! and JSON lines into rows, each row its fields or why it could not be read; writing users
//! as CSV; and the progress bar, drawn on stderr only when stderr is a terminal.

use std::io::IsTerminal;

use anyhow::Context;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use roster_client::Map;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

/// One input row: its line number and its fields, or why it could not be read.
pub struct Row {
    pub line: usize,
    pub fields: Result<Map, String>,
}

pub fn guess_format(file: &std::path::Path, text: &str) -> Format {
    match file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("csv") => Format::Csv,
        Some("jsonl" | "ndjson" | "json") => Format::Jsonl,
        _ if text.trim_start().starts_with('{') => Format::Jsonl,
        _ => Format::Csv,
    }
}

pub fn read_csv(text: &str) -> anyhow::Result<Vec<Row>> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let header: Vec<String> =
        r.headers().context("reading the CSV header")?.iter().map(|h| h.trim().to_ascii_uppercase()).collect();
    anyhow::ensure!(header.iter().all(|h| !h.is_empty()), "the CSV header has an empty column name");
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = rec.as_ref().ok().and_then(|r| r.position()).map_or(i + 2, |p| p.line() as usize);
        let fields = rec.map_err(|e| format!("bad CSV record: {e}")).map(|rec| {
            let mut m = Map::new();
            for (k, cell) in header.iter().zip(rec.iter()) {
                if !cell.is_empty() {
                    m.insert(k.clone(), cell_value(k, cell));
                }
            }
            m
        });
        rows.push(Row { line, fields });
    }
    Ok(rows)
}

/// A CSV cell: JSON when it looks like a list or object, UF_DEPARTMENT as a list of IDs
/// (`1,2` or `1;2`), anything else as text.
fn cell_value(key: &str, cell: &str) -> Value {
    let t = cell.trim();
    if t.starts_with(['[', '{']) {
        if let Ok(v) = serde_json::from_str(t) {
            return v;
        }
    }
    if key == "UF_DEPARTMENT" {
        let ids: Result<Vec<i64>, _> = t.split([',', ';']).map(|p| p.trim().parse::<i64>()).collect();
        if let Ok(ids) = ids {
            return json!(ids);
        }
    }
    Value::String(cell.to_string())
}

pub fn read_jsonl(text: &str) -> Vec<Row> {
    let rows = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    rows.map(|(i, l)| Row {
        line: i + 1,
        fields: match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(m)) => Ok(m.into_iter().map(|(k, v)| (k.to_ascii_uppercase(), v)).collect()),
            Ok(_) => Err("not a JSON object".into()),
            Err(e) => Err(format!("bad JSON: {e}")),
        },
    })
    .collect()
}

pub fn bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style.progress_chars("=> "));
    pb.set_message(what.to_string());
    pb
}

pub fn to_csv(users: &[Value], columns: Vec<String>) -> anyhow::Result<String> {
    let columns = if columns.is_empty() {
        let mut seen: Vec<String> = Vec::new();
        for k in users.iter().filter_map(Value::as_object).flat_map(|o| o.keys()) {
            if !seen.contains(k) {
                seen.push(k.clone());
            }
        }
        seen
    } else {
        columns.into_iter().map(|c| c.trim().to_ascii_uppercase()).collect()
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&columns)?;
    for u in users {
        w.write_record(columns.iter().map(|c| match u.get(c) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }))?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}
