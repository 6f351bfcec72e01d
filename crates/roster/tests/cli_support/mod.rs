//! Shared by the `cli_*` tests: a real `roster serve` process on 127.0.0.1:0 with a fresh
//! SQLite database and a known webhook (stdout drained in a thread, killed on drop), and
//! a runner for the `roster` binary that captures stdout, stderr and the exit status.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const CODE: &str = "clitestcode12345";
pub const ADMIN_PASSWORD: &str = "pw-cli-tests-1";

pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `http://127.0.0.1:PORT/rest/1/CODE/`
    pub webhook: String,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--listen", "127.0.0.1:0", "--bootstrap-webhook", CODE, "--admin-password", ADMIN_PASSWORD])
            .arg("--database-url")
            .arg(format!("sqlite://{}/r.db", dir.path().display()))
            .env("ROSTER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start roster serve");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("listening line");
        let base = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let webhook = format!("{base}/rest/1/{CODE}/");
        Server { child, base, webhook, dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one run of the CLI produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// stdout parsed as JSON (panics with the whole run when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Runs `roster ARGS` (blocking; call from spawn_blocking inside async tests).
pub fn roster(args: &[&str]) -> Run {
    roster_in(args, None)
}

/// Runs `roster ARGS` with stdin from `input`.
pub fn roster_in(args: &[&str], input: Option<&str>) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .env("ROSTER_LOG", "warn")
        .env_remove("ROSTER_URL")
        .env_remove("ROSTER_TOKEN")
        .env_remove("ROSTER_PROXY")
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run roster");
    if let Some(text) = input {
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("roster output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the CLI off the async runtime, so in-test fakes keep answering.
pub async fn roster_async(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || roster(&args.iter().map(String::as_str).collect::<Vec<_>>()))
        .await
        .expect("join")
}

pub fn quick() -> Duration {
    Duration::from_millis(10)
}
