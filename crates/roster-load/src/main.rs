//! `roster-load`: a bounded HTTP/1.1 load generator for a Roster server on
//! loopback (Bitrix24 REST or Zabbix JSON-RPC face). This file only wires
//! the pieces: flags ([`cli`]), the run ([`drive`]) and the output
//! ([`report`]).

mod cli;
mod drive;
mod plan;
mod report;
mod target;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Face, Scenario};
use crate::report::{Labels, Report};

fn main() -> ExitCode {
    match run(&cli::Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster-load: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &cli::Args) -> Result<()> {
    let cfg = args.to_config()?;
    if args.face == Face::Zabbix && args.token.is_none() {
        eprintln!("roster-load: warning: no --token; the Zabbix face will likely refuse the calls");
    }
    let labels = Labels {
        method: cfg.plan.method(),
        scenario: args.scenario.name(),
        face: args.face.name(),
        connections: cfg.connections,
        batch: args.scenario == Scenario::Batch,
        total: cfg.total,
    };
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()
    }
    .context("cannot start the tokio runtime")?;
    let mut result = runtime.block_on(drive::run(cfg))?;
    let report = Report::new(labels, &mut result);
    println!("{}", report.human_line());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.to_json())? + "\n";
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    for sample in &result.error_samples {
        eprintln!("roster-load: error response: {sample}");
    }
    Ok(())
}
