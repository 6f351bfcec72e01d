//! What a result table is headed with: the machine ([`Machine`]: `nproc`, CPU
//! model from /proc/cpuinfo, memory, kernel) and the settings of the run (date,
//! roster build and git revision, database, load settings, phases).

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use super::Ctx;

/// What the numbers were measured on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub memory: String,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string())
        };
        let cpuinfo = read("/proc/cpuinfo");
        let memory = field(&read("/proc/meminfo"), "MemTotal")
            .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or("unknown".into(), |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0));
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            memory,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"nproc": self.nproc, "cpu": self.cpu, "memory": self.memory, "kernel": self.kernel})
    }

    pub fn describe(&self) -> String {
        format!("nproc {}, {}, {} memory, Linux {}", self.nproc, self.cpu, self.memory, self.kernel)
    }
}

/// First line of a command's stdout, when it ran and succeeded.
fn output_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(|l| l.trim().to_string())
}

/// `roster 0.1.0, git abc1234 (with local changes)`, as far as known.
fn build_note(roster_bin: &Path) -> String {
    let version = output_of(Command::new(roster_bin).arg("--version"));
    let mut note = version.unwrap_or_else(|| roster_bin.display().to_string());
    if let Some(rev) = output_of(Command::new("git").args(["rev-parse", "--short", "HEAD"])) {
        note.push_str(&format!(", git {rev}"));
        let dirty = output_of(Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]));
        if dirty.is_some_and(|d| !d.is_empty()) {
            note.push_str(" (with local changes)");
        }
    }
    note
}

fn backend_note(ctx: &Ctx) -> String {
    match &ctx.args.database_url {
        None => "SQLite (WAL, every commit fsynced before its answer) in a temp dir".to_string(),
        Some(url) => {
            let version = super::pg::Pg::new(url).and_then(|pg| pg.server_version()).unwrap_or_else(|_| "?".into());
            format!("PostgreSQL {version} on this machine, fresh database per size")
        }
    }
}

fn load_note(ctx: &Ctx) -> String {
    let a = &ctx.args;
    format!(
        "roster-load --threads 1, {} s per phase after {} s warm-up, random ids over the \
         seeded users; get/search at {} connection(s); batch: {} updates, 50 per call, {} \
         connections{}",
        a.duration,
        a.warmup,
        a.read_connections,
        super::output::thousands(a.batch_total as f64),
        a.batch_connections,
        if a.repeat > 1 {
            format!("; each phase run {} times, the median run reported", a.repeat)
        } else {
            String::new()
        }
    )
}

/// The settings lines of the report, in order.
pub fn settings(ctx: &Ctx) -> Vec<(String, String)> {
    let phases: Vec<&str> = ctx.phases.iter().map(|p| p.name()).collect();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    vec![
        ("date".into(), date),
        ("build".into(), build_note(&ctx.roster_bin)),
        ("database".into(), backend_note(ctx)),
        ("load".into(), load_note(ctx)),
        ("phases".into(), phases.join(", ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_this_machine() {
        let m = Machine::detect();
        assert!(m.nproc >= 1);
        assert!(!m.kernel.is_empty());
        assert!(m.describe().starts_with(&format!("nproc {}", m.nproc)));
        assert_eq!(m.to_json()["nproc"], m.nproc);
    }

    #[test]
    fn commands_that_fail_give_nothing() {
        assert_eq!(output_of(&mut Command::new("/nonexistent/roster")), None);
        assert_eq!(output_of(Command::new("sh").args(["-c", "echo hi; exit 0"])), Some("hi".into()));
        assert_eq!(output_of(Command::new("sh").args(["-c", "echo hi; exit 1"])), None);
    }
}
