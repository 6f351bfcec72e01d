//! `roster-bench`: the benchmark command. Starts the real release `roster serve`
//! on a fresh database of N users per `--users` size, drives it with `roster-load`
//! and reports update, batch, read, start-up and memory figures as a table
//! (`--json`, `--markdown` too). `scripts/bench` builds and runs it.

#[path = "../bench/mod.rs"]
mod bench;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = bench::cli::Args::parse();
    match bench::run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("roster-bench: some phases failed (see the table)");
            ExitCode::FAILURE
        }
        Err(e) if e.is::<bench::Interrupted>() => {
            eprintln!("roster-bench: interrupted");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("roster-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
