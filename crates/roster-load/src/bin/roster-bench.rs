//! `roster-bench`: the benchmark command. Starts the real release `roster serve`
//! on a fresh database of N users per `--users` size, drives it with `roster-load`
//! and reports update, batch, read, start-up and memory figures as a table
//! (`--json`, `--markdown` too). `scripts/bench` builds and runs it.

#[path = "../bench/mod.rs"]
mod bench;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::{json, Map, Value};

use bench::output::{self, Row, Status};
use bench::{Ctx, Interrupted};

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(bench::floor::SERVE_FLOOR) {
        return match bench::floor::serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("roster-bench: floor server: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let args = bench::cli::Args::parse();
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("roster-bench: some phases failed (see the table)");
            ExitCode::FAILURE
        }
        Err(e) if e.is::<Interrupted>() => {
            eprintln!("roster-bench: interrupted");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("roster-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every size, prints the table and writes the files; `Ok(false)` when
/// some phase failed. An interruption ends the run without a table.
fn run(args: bench::cli::Args) -> Result<bool> {
    let ctx = Ctx::new(args)?;
    let (machine, settings) = ctx.notes();
    eprintln!("roster-bench: machine: {}", machine.describe());
    for (key, value) in &settings {
        eprintln!("roster-bench: {key}: {value}");
    }
    let mut rows = Vec::new();
    if ctx.phases.contains(&bench::cli::Phase::Machine) {
        let tmp = tempfile::Builder::new().prefix("roster-bench-").tempdir()?;
        for row in bench::floor::machine_rows(&ctx, tmp.path()) {
            ctx.progress(&row);
            rows.push(row);
        }
        ctx.abort.check()?;
    }
    for &n in &ctx.args.users {
        eprintln!("roster-bench: {} users", output::thousands(n as f64));
        if let Err(e) = bench::size::run_size(&ctx, n, &mut rows) {
            if e.is::<Interrupted>() || ctx.abort.is_set() {
                return Err(Interrupted.into());
            }
            let row = Row::new(n, "size", "run at this size").with_result(Status::Failed, format!("failed: {e:#}"));
            ctx.progress(&row);
            rows.push(row);
        }
    }
    output::relate_to_floor(&mut rows);
    println!("{}", output::text_table(&rows));
    if let Some(path) = &ctx.args.json {
        let settings: Map<String, Value> = settings.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        let doc = json!({
            "machine": machine.to_json(),
            "settings": settings,
            "results": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        });
        write(path, &(serde_json::to_string_pretty(&doc)? + "\n"))?;
    }
    if let Some(path) = &ctx.args.markdown {
        write(path, &output::markdown(&machine, &settings, &rows))?;
    }
    Ok(rows.iter().all(|r| r.status != Status::Failed))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("roster-bench: wrote {}", path.display());
    Ok(())
}
