//! Command-line flags of `roster-load` (clap derive) and their validation
//! into a [`drive::Config`]: value ranges, face/scenario combinations and
//! the loopback-only target check (done by [`crate::target`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};

use crate::drive::Config;
use crate::plan::Plan;
use crate::target::parse_target;

/// Which API the server is spoken to through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Face {
    /// Bitrix24 REST webhook (`{url}user.update`, ...).
    Bitrix24,
    /// Zabbix JSON-RPC endpoint (`api_jsonrpc.php`).
    Zabbix,
}

/// Which requests are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// user.update of a random id in the id range.
    Update,
    /// user.get filtered by the email/username of a random id.
    Get,
    /// user.search (Zabbix: user.get with `search`) for the --find word.
    Search,
    /// Bitrix24 `batch` of 50 user.update commands.
    Batch,
}

impl Face {
    pub fn name(self) -> &'static str {
        match self {
            Face::Bitrix24 => "bitrix24",
            Face::Zabbix => "zabbix",
        }
    }
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Update => "update",
            Scenario::Get => "get",
            Scenario::Search => "search",
            Scenario::Batch => "batch",
        }
    }
}

/// Drive a running Roster server on loopback over HTTP/1.1 keep-alive and
/// report throughput and latency percentiles.
#[derive(Debug, Parser)]
#[command(name = "roster-load", version, about, long_about = None)]
pub struct Args {
    /// Target: Bitrix24 webhook base (http://127.0.0.1:8080/rest/1/CODE/) or Zabbix endpoint (http://127.0.0.1:8080/api_jsonrpc.php); loopback only
    #[arg(long)]
    pub url: String,
    /// API face to speak
    #[arg(long, value_enum, default_value_t = Face::Bitrix24)]
    pub face: Face,
    /// Zabbix API token, sent as `Authorization: Bearer TOKEN`
    #[arg(long, env = "ROSTER_LOAD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Requests to send
    #[arg(long, value_enum, default_value_t = Scenario::Update)]
    pub scenario: Scenario,
    /// Smallest user id to update or look up (inclusive)
    #[arg(long, default_value_t = 1)]
    pub id_min: u64,
    /// Largest user id to update or look up (inclusive)
    #[arg(long, default_value_t = 1000)]
    pub id_max: u64,
    /// Word searched for by the search scenario; `{id}` in it is replaced by a random id of the id range per request (e.g. 'Name{id}')
    #[arg(long, default_value = "user1")]
    pub find: String,
    /// Batch only: send exactly N updates (ceil(N/50) batch calls) and report wall time instead of running for --duration
    #[arg(long, value_name = "N")]
    pub total: Option<u64>,
    /// Concurrent keep-alive connections, one request in flight on each
    #[arg(short = 'c', long, default_value_t = 64, value_name = "N")]
    pub connections: usize,
    /// Measured run length in seconds (fractions allowed)
    #[arg(short = 'd', long, default_value_t = 10.0, value_name = "SECS")]
    pub duration: f64,
    /// Unmeasured warm-up before the measured run, in seconds
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub warmup: f64,
    /// Tokio worker threads (1 runs everything on one current-thread runtime)
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub threads: usize,
    /// Also write the result as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

impl Args {
    /// Validates the flags and builds the drive configuration.
    pub fn to_config(&self) -> Result<Config> {
        if self.connections == 0 {
            bail!("--connections must be at least 1");
        }
        if self.threads == 0 {
            bail!("--threads must be at least 1");
        }
        let duration = seconds("--duration", self.duration)?;
        if duration.is_zero() && self.total.is_none() {
            bail!("--duration must be greater than 0");
        }
        let warmup = seconds("--warmup", self.warmup)?;
        match self.total {
            Some(_) if self.scenario != Scenario::Batch => {
                bail!("--total only applies to --scenario batch")
            }
            Some(0) => bail!("--total must be at least 1"),
            _ => {}
        }
        let target = parse_target(&self.url)?;
        let plan = Plan::new(
            self.face,
            self.scenario,
            &target,
            self.token.as_deref(),
            (self.id_min, self.id_max),
            &self.find,
        )?;
        Ok(Config { target, plan, connections: self.connections, warmup, duration, total: self.total })
    }
}

fn seconds(flag: &str, value: f64) -> Result<Duration> {
    if !(0.0..=86_400.0).contains(&value) {
        bail!("{flag} must be between 0 and 86400 seconds, got {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Config> {
        let mut argv = vec!["roster-load", "--url", "http://127.0.0.1:8080/rest/1/C/"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv)?.to_config()
    }

    #[test]
    fn defaults_and_validation() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.connections, 64);
        assert_eq!(c.duration, Duration::from_secs(10));
        assert_eq!(c.warmup, Duration::from_secs(1));
        assert!(parse(&["-c", "0"]).is_err());
        assert!(parse(&["-d", "-1"]).is_err());
        assert!(parse(&["-d", "0"]).is_err());
        assert!(parse(&["--total", "100"]).is_err());
        assert!(parse(&["--scenario", "batch", "--total", "100", "-d", "0"]).is_ok());
        assert!(parse(&["--face", "zabbix", "--scenario", "batch"]).is_err());
    }
}
