//! Flags of `roster-bench` (clap derive): directory sizes, phase selection,
//! load settings, the optional PostgreSQL URL and the output files. Also the
//! [`Phase`] list, in the order the phases run.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Parser;

/// One measured part of a run, in the order they run. Reads come before the
/// updates, which rename users and would make `FIND Name{i}` miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// The machine's own figures (HTTP floor, flush), once per run.
    Machine,
    Ready,
    Get,
    Search,
    Update1,
    Update64,
    Zabbix1,
    Zabbix64,
    Batch,
    Memory,
}

impl Phase {
    pub const ALL: [Phase; 10] = [
        Phase::Machine,
        Phase::Ready,
        Phase::Get,
        Phase::Search,
        Phase::Update1,
        Phase::Update64,
        Phase::Zabbix1,
        Phase::Zabbix64,
        Phase::Batch,
        Phase::Memory,
    ];

    /// The name `--only` takes and the JSON carries.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Machine => "machine",
            Phase::Ready => "ready",
            Phase::Get => "get",
            Phase::Search => "search",
            Phase::Update1 => "update-1",
            Phase::Update64 => "update-64",
            Phase::Zabbix1 => "zabbix-1",
            Phase::Zabbix64 => "zabbix-64",
            Phase::Batch => "batch",
            Phase::Memory => "memory",
        }
    }
}

/// Parses `--only` words: phase names, or the groups `update`, `zabbix`, `all`.
pub fn parse_phases(words: &[String]) -> Result<Vec<Phase>> {
    if words.is_empty() {
        return Ok(Phase::ALL.to_vec());
    }
    let mut out = Vec::new();
    for word in words.iter().map(|w| w.trim().to_ascii_lowercase()) {
        let picked: Vec<Phase> = match word.as_str() {
            "all" => Phase::ALL.to_vec(),
            "update" => vec![Phase::Update1, Phase::Update64],
            "zabbix" => vec![Phase::Zabbix1, Phase::Zabbix64],
            w => match Phase::ALL.iter().find(|p| p.name() == w) {
                Some(p) => vec![*p],
                None => {
                    let names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
                    bail!("unknown phase {w:?} in --only; phases: {}, or update, zabbix, all", names.join(", "))
                }
            },
        };
        out.extend(picked);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Parses a directory size: digits (`_` allowed) with an optional `k` or `m` suffix.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "").to_ascii_lowercase();
    let (digits, mult) = match t.strip_suffix('m') {
        Some(d) => (d, 1_000_000),
        None => match t.strip_suffix('k') {
            Some(d) => (d, 1_000),
            None => (t.as_str(), 1),
        },
    };
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a user count (like 10000, 100k or 1m)"))?;
    match n.checked_mul(mult) {
        Some(n) if (1..=20_000_000).contains(&n) => Ok(n),
        _ => Err(format!("{text:?}: the user count must be 1..=20000000")),
    }
}

/// Builds a release `roster`, starts it on a fresh database of N users and
/// measures updates, batch, filtered reads, start-up time and peak memory.
#[derive(Debug, Parser)]
#[command(name = "roster-bench", version)]
pub struct Args {
    /// Directory sizes to run every phase at (repeatable or a comma list: 10000,100k,1m)
    #[arg(long = "users", value_delimiter = ',', value_parser = parse_size, default_value = "10000")]
    pub users: Vec<u64>,
    /// Measured seconds of each load phase
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub duration: f64,
    /// Unmeasured warm-up seconds before each load phase
    #[arg(long, default_value_t = 1.0, value_name = "SECS")]
    pub warmup: f64,
    /// Run against PostgreSQL instead of a temporary SQLite file; the database
    /// named here (its name must contain "bench") is dropped and created for each size
    #[arg(long, value_name = "postgres://...")]
    pub database_url: Option<String>,
    /// Phases to run (comma list): machine, ready, get, search, update-1, update-64,
    /// zabbix-1, zabbix-64, batch, memory; groups update, zabbix, all
    #[arg(long, value_delimiter = ',', value_name = "PHASES")]
    pub only: Vec<String>,
    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write a Markdown table (with the machine noted) to FILE, for BENCHMARKS.md
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Updates sent by the batch phase (50 user.update per batch call)
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub batch_total: u64,
    /// Connections of the batch phase
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub batch_connections: usize,
    /// Connections of the user.get and user.search phases
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub read_connections: usize,
    /// Run each load phase this many times and report the run with the median rate
    /// (every run's rate goes in the result and the JSON): for a noisy machine
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: usize,
    /// Longest the batch phase may take before it fails (timed phases end by themselves; a server start may take 60 s)
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub phase_timeout: u64,
    /// The roster binary (default: `roster` next to this program)
    #[arg(long, value_name = "PATH")]
    pub roster_bin: Option<PathBuf>,
    /// The roster-load binary (default: `roster-load` next to this program)
    #[arg(long, value_name = "PATH")]
    pub load_bin: Option<PathBuf>,
}

impl Args {
    /// Checks the values clap cannot.
    pub fn validate(&self) -> Result<Vec<Phase>> {
        if !(self.duration > 0.0 && self.duration <= 3600.0) {
            bail!("--duration must be in (0, 3600] seconds");
        }
        if !(0.0..=60.0).contains(&self.warmup) {
            bail!("--warmup must be in [0, 60] seconds");
        }
        if self.batch_total == 0 || self.batch_connections == 0 || self.read_connections == 0 || self.repeat == 0 {
            bail!("--batch-total, --batch-connections, --read-connections and --repeat must be at least 1");
        }
        if self.phase_timeout < 10 {
            bail!("--phase-timeout must be at least 10 seconds");
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                bail!("--database-url must be a postgres:// URL (SQLite runs use a temporary file)");
            }
        }
        parse_phases(&self.only)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["roster-bench"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn sizes_and_defaults() {
        let a = args(&[]);
        assert_eq!(a.users, [10_000]);
        assert_eq!(a.validate().unwrap(), Phase::ALL.to_vec());
        let a = args(&["--users", "10000,100k", "--users", "1m"]);
        assert_eq!(a.users, [10_000, 100_000, 1_000_000]);
        assert!(Args::try_parse_from(["b", "--users", "0"]).is_err());
        assert!(Args::try_parse_from(["b", "--users", "ten"]).is_err());
        assert!(args(&["--duration", "0"]).validate().is_err());
        assert!(args(&["--repeat", "0"]).validate().is_err());
        assert_eq!(args(&["--repeat", "3"]).repeat, 3);
        assert!(args(&["--database-url", "sqlite://x"]).validate().is_err());
    }

    #[test]
    fn only_words() {
        let w = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        let p = parse_phases(&w("memory,update,get")).unwrap();
        assert_eq!(p, [Phase::Get, Phase::Update1, Phase::Update64, Phase::Memory]);
        assert_eq!(parse_phases(&w("zabbix")).unwrap().len(), 2);
        assert!(parse_phases(&w("nope")).is_err());
    }
}
