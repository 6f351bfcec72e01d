//! The real `roster serve` process under test: started on 127.0.0.1:0 in its own
//! process group with a clean `ROSTER_*` environment, its `listening on` line read
//! and stdout drained by a thread; ready once a first webhook call succeeds.
//! Stopped with SIGTERM (SIGKILL after a grace period), also when dropped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rustix::process::{kill_process, Pid, Signal};

use super::http::{self, NotReady};
use super::Abort;

/// How long a stopped server may take to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a starting server may keep answering the probe with errors.
const ERROR_ANSWERS: Duration = Duration::from_secs(10);

/// What a server is started with.
#[derive(Debug, Clone)]
pub struct Launch {
    pub bin: PathBuf,
    pub database_url: String,
    pub webhook_code: String,
    pub admin_password: String,
    /// The server's stderr goes here (appended).
    pub log: PathBuf,
    /// Limit for reaching ready.
    pub timeout: Duration,
}

/// Times from the spawn to readiness.
#[derive(Debug, Clone, Copy)]
pub struct ReadyTimes {
    /// Until the `listening on` line.
    pub listening: Duration,
    /// Until the first successful request.
    pub ready: Duration,
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    log: PathBuf,
    drain: Option<JoinHandle<()>>,
    pub addr: SocketAddr,
    pub times: ReadyTimes,
}

impl Server {
    /// Starts the server and waits until it answers a webhook call.
    pub fn start(launch: &Launch, abort: &Abort) -> Result<Server> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&launch.log)
            .with_context(|| format!("cannot open {}", launch.log.display()))?;
        let mut cmd = Command::new(&launch.bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(&launch.database_url)
            .args(["--bootstrap-webhook", &launch.webhook_code])
            .args(["--admin-password", &launch.admin_password])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own group: a Ctrl-C reaches only the bench, which then stops it.
            .process_group(0);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROSTER_") {
                cmd.env_remove(key);
            }
        }
        // Plain log lines, for the error messages that quote them.
        cmd.env("NO_COLOR", "1");
        let t0 = Instant::now();
        let mut child = cmd.spawn().with_context(|| format!("cannot start {}", launch.bin.display()))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        let drain = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Keeps reading after the receiver is gone, so the pipe never fills.
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            child,
            log: launch.log.clone(),
            drain: Some(drain),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            times: ReadyTimes { listening: Duration::ZERO, ready: Duration::ZERO },
        };
        let deadline = t0 + launch.timeout;
        server.addr = server.await_listening(&rx, deadline, abort)?;
        let listening = t0.elapsed();
        let mut answered_since: Option<Instant> = None;
        while let Err(not_ready) = http::bitrix_ready(server.addr, &launch.webhook_code) {
            server.check_running()?;
            abort.check()?;
            let why = match not_ready {
                NotReady::Answered(why) => {
                    let since = *answered_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > ERROR_ANSWERS {
                        bail!("{why} for {ERROR_ANSWERS:?}; server {}", log_tail(&launch.log));
                    }
                    why
                }
                NotReady::Silent(why) => why,
            };
            if Instant::now() > deadline {
                bail!(
                    "no successful webhook call within {:?}; last: {why}; server {}",
                    launch.timeout,
                    log_tail(&launch.log)
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        server.times = ReadyTimes { listening, ready: t0.elapsed() };
        Ok(server)
    }

    fn await_listening(&mut self, rx: &mpsc::Receiver<String>, deadline: Instant, abort: &Abort) -> Result<SocketAddr> {
        loop {
            abort.check()?;
            match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("listening on http://") {
                        return rest.trim().parse().with_context(|| format!("bad address in {line:?}"));
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.check_running()?;
                    bail!("the server closed its stdout without a `listening on` line");
                }
            }
            self.check_running()?;
            if Instant::now() > deadline {
                bail!("no `listening on` line from the server in time");
            }
        }
    }

    /// Fails (with the end of the server log) when the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server exited ({status}); its {}", log_tail(&self.log));
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size (VmHWM) of the server so far, in KiB.
    pub fn vm_hwm_kib(&self) -> Result<u64> {
        let path = format!("/proc/{}/status", self.pid());
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        text.lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmHWM in {path}"))
    }

    /// SIGTERM, then SIGKILL if it has not exited within the grace period.
    pub fn stop(mut self) -> Result<ExitStatus> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        let _ = kill_process(Pid::from_child(&self.child), Signal::TERM);
        let deadline = Instant::now() + STOP_GRACE;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break self.child.wait()?;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(drain) = self.drain.take() {
            let _ = drain.join();
        }
        Ok(status)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.terminate();
    }
}

/// Waits for `child` until `deadline`, killing it on timeout or abort.
pub fn wait_child(child: &mut Child, deadline: Instant, abort: &Abort) -> Result<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let late = Instant::now() > deadline;
        if late || abort.is_set() {
            let _ = child.kill();
            let _ = child.wait();
            abort.check()?;
            bail!("timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last distinct lines of a log file (timestamps dropped), for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut tail: Vec<&str> = Vec::new();
    for line in text.lines().rev() {
        let message = line.split_once(' ').map_or(line, |(_, rest)| rest).trim();
        if !message.is_empty() && !tail.contains(&message) {
            tail.push(message);
        }
        if tail.len() == 4 {
            break;
        }
    }
    if tail.is_empty() {
        return "log is empty".to_string();
    }
    tail.reverse();
    format!("log ends: {}", tail.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_keeps_distinct_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        assert_eq!(log_tail(&path), "log is empty");
        let lines = ["t1 WARN a", "t2 ERROR b", "t3 WARN a", "t4 WARN a", "t5 INFO c"];
        std::fs::write(&path, lines.join("\n")).unwrap();
        assert_eq!(log_tail(&path), "log ends: ERROR b | WARN a | INFO c");
    }
}
