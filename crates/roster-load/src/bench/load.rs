//! One load phase: runs `roster-load` as a subprocess (`--threads 1`, so the
//! server keeps the other core) with a hard time limit, and reads back the
//! numbers from its `--json` file. Its stdout and stderr go to files in the
//! run's temp dir; a Zabbix token is passed in the environment, not argv.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::db::IdRange;
use super::server::wait_child;
use super::Abort;

/// Extra time a timed phase may take beyond warm-up and duration (connecting,
/// in-flight requests, process start).
const SLACK: Duration = Duration::from_secs(30);

/// What one phase sends.
#[derive(Debug, Clone)]
pub struct LoadSpec<'a> {
    /// `bitrix24` or `zabbix`.
    pub face: &'static str,
    /// A roster-load scenario: update, get, search or batch.
    pub scenario: &'static str,
    pub url: String,
    pub token: Option<&'a str>,
    pub connections: usize,
    pub ids: IdRange,
    pub find: Option<&'a str>,
    /// Batch: send exactly this many updates instead of running for a duration.
    pub total: Option<u64>,
}

/// The numbers of one phase.
#[derive(Debug, Clone, Default)]
pub struct LoadNumbers {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub errors: u64,
    /// Batch with a total: measured wall time and updates per second.
    pub wall_s: Option<f64>,
    pub updates_per_s: Option<f64>,
    /// roster-load's own summary line.
    pub line: String,
    /// First error responses roster-load printed.
    pub samples: Vec<String>,
}

/// Runs roster-load phases with shared settings.
#[derive(Debug, Clone)]
pub struct Runner {
    pub bin: PathBuf,
    /// Where the JSON and output files of the phases go.
    pub dir: PathBuf,
    pub duration: f64,
    pub warmup: f64,
    /// Limit of a batch phase sized by a total.
    pub timeout: Duration,
}

impl Runner {
    /// Runs one phase; `tag` names its files.
    pub fn run(&self, spec: &LoadSpec, tag: &str, abort: &Abort) -> Result<LoadNumbers> {
        let json = self.dir.join(format!("{tag}.json"));
        let out = self.dir.join(format!("{tag}.out"));
        let err = self.dir.join(format!("{tag}.err"));
        let mut cmd = Command::new(&self.bin);
        cmd.args(["--url", &spec.url, "--face", spec.face, "--scenario", spec.scenario])
            .args(["--connections", &spec.connections.to_string(), "--threads", "1"])
            .args(["--id-min", &spec.ids.first.to_string()])
            .args(["--id-max", &spec.ids.last.to_string()])
            .args(["--warmup", &self.warmup.to_string()])
            .arg("--json")
            .arg(&json)
            .env_remove("ROSTER_LOAD_TOKEN")
            .stdin(Stdio::null())
            .stdout(File::create(&out)?)
            .stderr(File::create(&err)?);
        let limit = match spec.total {
            Some(total) => {
                cmd.args(["--total", &total.to_string(), "--duration", "0"]);
                self.timeout
            }
            None => {
                cmd.args(["--duration", &self.duration.to_string()]);
                Duration::from_secs_f64(self.warmup + self.duration) + SLACK
            }
        };
        if let Some(find) = spec.find {
            cmd.args(["--find", find]);
        }
        if let Some(token) = spec.token {
            cmd.env("ROSTER_LOAD_TOKEN", token);
        }
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().with_context(|| format!("cannot start {}", self.bin.display()))?;
        let status = wait_child(&mut child, Instant::now() + limit, abort)
            .with_context(|| format!("roster-load ({tag}) did not finish within {limit:?}"))?;
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        if !status.success() {
            bail!("roster-load ({tag}) failed ({status}): {}", stderr.trim());
        }
        let text =
            std::fs::read_to_string(&json).with_context(|| format!("roster-load wrote no {}", json.display()))?;
        let v: Value = serde_json::from_str(&text).context("bad roster-load JSON")?;
        let mut numbers = numbers_of(&v)?;
        numbers.line = std::fs::read_to_string(&out).unwrap_or_default().trim().to_string();
        numbers.samples =
            stderr.lines().filter_map(|l| l.strip_prefix("roster-load: error response: ")).map(String::from).collect();
        Ok(numbers)
    }
}

/// Reads the numbers out of roster-load's `--json` document.
fn numbers_of(v: &Value) -> Result<LoadNumbers> {
    let f = |key: &str| v.get(key).and_then(Value::as_f64);
    let u = |key: &str| v.get(key).and_then(Value::as_u64);
    Ok(LoadNumbers {
        rps: f("rps").context("no rps in roster-load JSON")?,
        p50_ms: f("p50_ms").context("no p50_ms")?,
        p99_ms: f("p99_ms").context("no p99_ms")?,
        requests: u("requests").unwrap_or(0),
        errors: u("errors").unwrap_or(0),
        wall_s: f("wall_s"),
        updates_per_s: f("updates_per_s"),
        line: String::new(),
        samples: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_roster_load_json() {
        let v = json!({"rps": 10.5, "p50_ms": 0.2, "p99_ms": 1.5, "requests": 105, "errors": 1,
                       "wall_s": 2.0, "updates_per_s": 50000.0});
        let n = numbers_of(&v).unwrap();
        assert_eq!((n.rps, n.p99_ms, n.requests, n.errors), (10.5, 1.5, 105, 1));
        assert_eq!((n.wall_s, n.updates_per_s), (Some(2.0), Some(50000.0)));
        let n = numbers_of(&json!({"rps": 1.0, "p50_ms": 1.0, "p99_ms": 1.0})).unwrap();
        assert_eq!((n.wall_s, n.errors), (None, 0));
        assert!(numbers_of(&json!({"p50_ms": 1.0})).is_err());
    }
}
