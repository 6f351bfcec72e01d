//! `roster-bench`: runs every phase ([`cli::Phase`]) against a real `roster serve`
//! at each `--users` size ([`size`]), then prints the table and writes the JSON
//! and Markdown files ([`output`]). Ctrl-C or SIGTERM sets [`Abort`]; the run then
//! stops its server, drops its database and removes its temp dir before exiting.

pub mod cli;
mod db;
mod http;
mod load;
mod output;
mod pg;
mod server;
mod size;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use cli::{Args, Phase};
use output::{Machine, Row, Status};

/// Set by Ctrl-C or SIGTERM; every wait of the bench checks it.
#[derive(Debug, Clone, Default)]
pub struct Abort(Arc<AtomicBool>);

/// The error an interrupted run ends with.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

impl Abort {
    /// Catches SIGINT and SIGTERM from now on; a second signal exits at once.
    pub fn install() -> Result<Abort> {
        let abort = Abort::default();
        let flag = abort.0.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut term = rt.block_on(async {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        })?;
        std::thread::spawn(move || {
            rt.block_on(async move {
                loop {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                    if flag.swap(true, Ordering::SeqCst) {
                        std::process::exit(130);
                    }
                    eprintln!("roster-bench: interrupted; stopping the server and cleaning up");
                }
            });
        });
        Ok(abort)
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub fn check(&self) -> Result<()> {
        if self.is_set() {
            return Err(Interrupted.into());
        }
        Ok(())
    }
}

/// What every size's run shares.
pub struct Ctx {
    pub args: Args,
    pub phases: Vec<Phase>,
    pub roster_bin: PathBuf,
    pub load_bin: PathBuf,
    pub timeout: Duration,
    pub abort: Abort,
    started: Instant,
}

impl Ctx {
    /// Prints a finished row on stderr while the run goes on.
    fn progress(&self, row: &Row) {
        let mut text = format!("{} {}", output::thousands(row.users as f64), row.label);
        if let Some(c) = row.connections {
            text.push_str(&format!(" c={c}"));
        }
        if let (Some(rps), Some(p50), Some(p99)) = (row.rps, row.p50_ms, row.p99_ms) {
            text.push_str(&format!(
                ": {rps:.1} req/s, p50 {p50:.3} ms, p99 {p99:.3} ms"
            ));
        }
        if !row.result.is_empty() {
            text.push_str(&format!(" -- {}", row.result));
        }
        eprintln!("[{:>6.1}s] {text}", self.started.elapsed().as_secs_f64());
    }
}

fn sibling(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    Ok(exe.with_file_name(name))
}

fn check_bin(path: &Path, flag: &str) -> Result<()> {
    if !path.is_file() {
        bail!("{} not found (build it, or pass {flag})", path.display());
    }
    Ok(())
}

/// Runs the whole benchmark; `Ok(false)` when some phase failed.
pub fn run(args: Args) -> Result<bool> {
    let phases = args.validate()?;
    let roster_bin = args
        .roster_bin
        .clone()
        .map_or_else(|| sibling("roster"), Ok)?;
    let load_bin = args
        .load_bin
        .clone()
        .map_or_else(|| sibling("roster-load"), Ok)?;
    check_bin(&roster_bin, "--roster-bin")?;
    check_bin(&load_bin, "--load-bin")?;
    let ctx = Ctx {
        timeout: Duration::from_secs(args.phase_timeout),
        abort: Abort::install()?,
        started: Instant::now(),
        args,
        phases,
        roster_bin,
        load_bin,
    };
    let machine = Machine::detect();
    let mut settings = vec![
        ("database".to_string(), backend_note(&ctx)),
        ("load".to_string(), load_note(&ctx)),
    ];
    let mut rows = Vec::new();
    for &n in &ctx.args.users {
        eprintln!("roster-bench: {} users", output::thousands(n as f64));
        if let Err(e) = size::run_size(&ctx, n, &mut rows) {
            if e.is::<Interrupted>() || ctx.abort.is_set() {
                return Err(e);
            }
            let row = Row::new(n, "size", "run of this size")
                .with_result(Status::Failed, format!("failed: {e:#}"));
            ctx.progress(&row);
            rows.push(row);
        }
    }
    println!("{}", output::text_table(&rows));
    settings.push(("phases".to_string(), phase_names(&ctx.phases)));
    if let Some(path) = &ctx.args.json {
        let doc = json!({
            "machine": machine.to_json(),
            "settings": settings.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect::<serde_json::Map<_, _>>(),
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
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn phase_names(phases: &[Phase]) -> String {
    phases
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn backend_note(ctx: &Ctx) -> String {
    match &ctx.args.database_url {
        None => "SQLite (WAL, synchronous=FULL) in a temp dir".to_string(),
        Some(url) => {
            let version = pg::Pg::new(url)
                .and_then(|pg| pg.server_version())
                .unwrap_or_else(|_| "?".into());
            format!("PostgreSQL {version} on this machine (fresh database per size)")
        }
    }
}

fn load_note(ctx: &Ctx) -> String {
    let a = &ctx.args;
    format!(
        "roster-load --threads 1, {} s per phase after {} s warm-up; reads at {} connection(s); \
         batch: {} updates, 50 per call, {} connections; random ids over the seeded users",
        a.duration,
        a.warmup,
        a.read_connections,
        output::thousands(a.batch_total as f64),
        a.batch_connections
    )
}
