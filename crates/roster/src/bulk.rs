//! `roster users import|export`: bulk work over Bitrix24 `batch` (50 calls per request).
//! Import reads CSV (a header of field codes) or JSON lines and creates or updates each row
//! by ID or EMAIL; every row ends as created, updated or failed with its reason, nothing is
//! dropped. Export pages through `user.get` and writes CSV or JSON lines to stdout. File
//! formats and the progress bar are in `bulk_io.rs`.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use roster_client::{Call, Map};
use serde_json::{json, Value};

use crate::bulk_io::{bar, guess_format, read_csv, read_jsonl, to_csv, Format, Row};
use crate::conn::{json_object_arg, stdout, BitrixConn};

/// How an imported row finds its user.
#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
pub enum Key {
    /// ID when the row has one, else EMAIL (update if found, else create).
    Auto,
    /// ID only; rows without ID are created.
    Id,
    /// EMAIL only (update if found, else create); an ID column is ignored.
    Email,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create or update users from CSV (header = field codes) or JSON lines; "-" reads stdin.
    Import {
        file: PathBuf,
        /// Input format; default: from the extension (.csv, .jsonl, .ndjson), else sniffed.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// How rows find their user.
        #[arg(long, value_enum, default_value = "auto")]
        key: Key,
        /// Plan only: print what would be done, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also write one JSON line per row (line, action, ID, error) to this file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        #[command(flatten)]
        conn: BitrixConn,
    },
    /// Write every user (user.get, all pages, ADMIN_MODE) to stdout.
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// CSV columns (default: every field seen).
        #[arg(long, value_delimiter = ',')]
        columns: Vec<String>,
        /// Only users matching this user.get filter (JSON).
        #[arg(long)]
        filter: Option<String>,
        #[command(flatten)]
        conn: BitrixConn,
    },
}

enum Plan {
    Update(i64),
    ByEmail(String),
    Create,
}

pub async fn run(cmd: UsersCommand) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Import { file, format, key, dry_run, report, conn } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).context("reading stdin")?;
                s
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?
            };
            let format = format.unwrap_or_else(|| guess_format(&file, &text));
            let rows = match format {
                Format::Csv => read_csv(&text)?,
                Format::Jsonl => read_jsonl(&text),
            };
            import(rows, key, dry_run, report, &conn).await
        }
        UsersCommand::Export { format, columns, filter, conn } => export(format, columns, filter, &conn).await,
    }
}

fn plan(fields: &mut Map, key: Key) -> Result<Plan, String> {
    let id = fields.remove("ID");
    let email = fields.get("EMAIL").and_then(Value::as_str).map(str::trim).filter(|e| !e.is_empty());
    let id = match (key, id) {
        (Key::Email, _) | (_, None) => None,
        (_, Some(v)) => {
            Some(v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())).ok_or(format!("bad ID {v}"))?)
        }
    };
    match (key, id, email) {
        (_, Some(id), _) => Ok(Plan::Update(id)),
        (Key::Auto | Key::Email, None, Some(e)) => Ok(Plan::ByEmail(e.to_string())),
        (Key::Email, None, None) => Err("no EMAIL".into()),
        (Key::Auto, None, None) => Err("no ID or EMAIL".into()),
        (Key::Id, None, _) => Ok(Plan::Create),
    }
}

async fn import(
    rows: Vec<Row>,
    key: Key,
    dry_run: bool,
    report: Option<PathBuf>,
    conn: &BitrixConn,
) -> anyhow::Result<()> {
    let client = conn.client()?;
    // outcome per row: (action, id, error)
    let mut outcome: Vec<(&str, Option<i64>, Option<String>)> = vec![("failed", None, None); rows.len()];
    let mut planned: Vec<(usize, Plan, Map)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match row.fields.clone().and_then(|mut f| plan(&mut f, key).map(|p| (p, f))) {
            Ok((p, f)) => planned.push((i, p, f)),
            Err(e) => outcome[i].2 = Some(e),
        }
    }
    // Look e-mail rows up, 50 per batch.
    let emails: Vec<String> =
        planned.iter().filter_map(|(_, p, _)| if let Plan::ByEmail(e) = p { Some(e.clone()) } else { None }).collect();
    let lookups = emails.iter().map(|e| {
        let mut filter = Map::new();
        filter.insert("=EMAIL".into(), Value::String(e.clone()));
        let mut p = Map::new();
        p.insert("FILTER".into(), Value::Object(filter));
        p.insert("ADMIN_MODE".into(), Value::Bool(true));
        Call::new("user.get", p)
    });
    let pb = bar(emails.len() as u64, "looking up");
    let found = client.call_many(lookups.collect(), |n| pb.set_position(n as u64)).await?;
    pb.finish_and_clear();
    let found: HashMap<&String, Result<Value, roster_client::ApiError>> = emails.iter().zip(found).collect();
    let mut calls: Vec<(usize, Call)> = Vec::new();
    for (i, p, mut f) in planned {
        let id = match p {
            Plan::Update(id) => Some(id),
            Plan::Create => None,
            Plan::ByEmail(e) => match &found[&e] {
                Err(err) => {
                    outcome[i].2 = Some(format!("looking up EMAIL: {err}"));
                    continue;
                }
                Ok(Value::Array(users)) if users.len() > 1 => {
                    outcome[i].2 = Some(format!("EMAIL {e} matches {} users", users.len()));
                    continue;
                }
                Ok(Value::Array(users)) => users.first().and_then(|u| u["ID"].as_str()?.parse().ok()),
                Ok(other) => {
                    outcome[i].2 = Some(format!("unexpected user.get result {other}"));
                    continue;
                }
            },
        };
        let call = match id {
            Some(id) => {
                f.insert("ID".into(), id.into());
                outcome[i] = ("updated", Some(id), None);
                Call::new("user.update", f)
            }
            None => {
                outcome[i] = ("created", None, None);
                Call::new("user.add", f)
            }
        };
        calls.push((i, call));
    }
    if dry_run {
        let mut text = String::new();
        for (i, c) in &calls {
            text.push_str(&format!("{}\n", json!({"line": rows[*i].line, "method": c.method, "params": c.params})));
        }
        stdout(&text)?;
    } else {
        let pb = bar(calls.len() as u64, "importing");
        let results =
            client.call_many(calls.iter().map(|(_, c)| c.clone()).collect(), |n| pb.set_position(n as u64)).await?;
        pb.finish_and_clear();
        for ((i, _), r) in calls.iter().zip(results) {
            match r {
                Ok(v) if outcome[*i].0 == "created" => outcome[*i].1 = v.as_i64(),
                Ok(_) => {}
                Err(e) => outcome[*i] = ("failed", outcome[*i].1, Some(e.to_string())),
            }
        }
    }
    summarize(&rows, &outcome, dry_run, report)
}

fn summarize(
    rows: &[Row],
    outcome: &[(&str, Option<i64>, Option<String>)],
    dry_run: bool,
    report: Option<PathBuf>,
) -> anyhow::Result<()> {
    let count = |a: &str| outcome.iter().filter(|o| o.0 == a && o.2.is_none()).count();
    let failed: Vec<usize> = (0..rows.len()).filter(|&i| outcome[i].2.is_some()).collect();
    if let Some(path) = report {
        let mut text = String::new();
        for (row, (action, id, err)) in rows.iter().zip(outcome) {
            let action = if err.is_some() { "failed" } else { action };
            text.push_str(&format!("{}\n", json!({"line": row.line, "action": action, "ID": id, "error": err})));
        }
        std::fs::write(&path, text).with_context(|| format!("writing --report {}", path.display()))?;
    }
    let verb = if dry_run { "would be " } else { "" };
    eprintln!(
        "{} rows: {} {verb}created, {} {verb}updated, {} failed",
        rows.len(),
        count("created"),
        count("updated"),
        failed.len()
    );
    for &i in &failed {
        let email = rows[i].fields.as_ref().ok().and_then(|f| f.get("EMAIL")).and_then(Value::as_str).unwrap_or("-");
        eprintln!("  line {} (EMAIL {email}): {}", rows[i].line, outcome[i].2.as_deref().unwrap_or_default());
    }
    anyhow::ensure!(failed.is_empty(), "{} of {} rows failed", failed.len(), rows.len());
    Ok(())
}

async fn export(format: Format, columns: Vec<String>, filter: Option<String>, conn: &BitrixConn) -> anyhow::Result<()> {
    let client = conn.client()?;
    let mut params = Map::new();
    if let Some(f) = filter {
        params.insert("FILTER".into(), Value::Object(json_object_arg("--filter", &f)?));
    }
    params.insert("ADMIN_MODE".into(), Value::Bool(true));
    params.insert("SORT".into(), "ID".into());
    params.insert("ORDER".into(), "ASC".into());
    let pb = bar(0, "exporting");
    let users = client
        .list_with_progress("user.get", &params, |n, total| {
            pb.set_length(total);
            pb.set_position(n);
        })
        .await?;
    pb.finish_and_clear();
    let text = match format {
        Format::Jsonl => users.iter().map(|u| format!("{u}\n")).collect(),
        Format::Csv => to_csv(&users, columns)?,
    };
    stdout(&text)?;
    eprintln!("exported {} users", users.len());
    Ok(())
}
