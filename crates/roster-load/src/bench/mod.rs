//! The modules of `roster-bench` and what they share: [`Ctx`] (flags, binaries,
//! limits) and [`Abort`]. Ctrl-C or SIGTERM sets [`Abort`]; the run then stops its
//! server, drops its database and removes its temp dir before exiting. Each size
//! runs in [`size`]; [`output`] renders the rows.

pub mod cli;
mod db;
pub mod floor;
mod http;
mod load;
mod notes;
pub mod output;
mod pg;
mod server;
pub mod size;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use cli::{Args, Phase};
use notes::Machine;
use output::Row;

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
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let mut term =
            rt.block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) })?;
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
    /// Validates the flags, finds the binaries and installs the signal handler.
    pub fn new(args: Args) -> Result<Ctx> {
        let phases = args.validate()?;
        let roster_bin = args.roster_bin.clone().map_or_else(|| sibling("roster"), Ok)?;
        let load_bin = args.load_bin.clone().map_or_else(|| sibling("roster-load"), Ok)?;
        check_bin(&roster_bin, "--roster-bin")?;
        check_bin(&load_bin, "--load-bin")?;
        Ok(Ctx {
            timeout: Duration::from_secs(args.phase_timeout),
            abort: Abort::install()?,
            started: Instant::now(),
            args,
            phases,
            roster_bin,
            load_bin,
        })
    }

    /// The machine and the settings lines a report is headed with.
    pub fn notes(&self) -> (Machine, Vec<(String, String)>) {
        (Machine::detect(), notes::settings(self))
    }

    /// A runner of load phases with this run's settings, its files in `dir`.
    pub fn runner(&self, dir: &Path) -> load::Runner {
        load::Runner {
            bin: self.load_bin.clone(),
            dir: dir.to_path_buf(),
            duration: self.args.duration,
            warmup: self.args.warmup,
            timeout: self.timeout,
        }
    }

    /// Prints a finished row on stderr while the run goes on.
    pub fn progress(&self, row: &Row) {
        let mut text = format!("{} {}", output::thousands(row.users as f64), row.label);
        if let Some(c) = row.connections {
            text.push_str(&format!(" c={c}"));
        }
        if let (Some(rps), Some(p50), Some(p99)) = (row.rps, row.p50_ms, row.p99_ms) {
            text.push_str(&format!(": {rps:.1} req/s, p50 {p50:.3} ms, p99 {p99:.3} ms"));
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
