//! Drives the load: opens the HTTP/1.1 keep-alive connections (TCP_NODELAY),
//! runs one back-to-back request loop per connection through the warm-up and
//! the measured window (or a fixed `--total` of batch updates), and merges
//! the per-connection results. Always bounded in time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use rand::{rngs::StdRng, SeedableRng};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{timeout_at, Instant};

use crate::plan::{Plan, Slot, BATCH_CMDS};
use crate::target::Target;

/// How long an in-flight request may run past the end of the window.
const GRACE: Duration = Duration::from_secs(2);
/// Per-request limit in `--total` mode, which has no window.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Distinct error bodies kept for the final report.
pub const MAX_SAMPLES: usize = 3;
/// Error bodies are cut to this many characters.
const SAMPLE_CHARS: usize = 300;

/// One validated load run.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub plan: Plan,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Batch only: exact number of updates to send instead of a duration.
    pub total: Option<u64>,
}

/// Raw outcome of the measured part of a run.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Latency of every measured response, in nanoseconds, unsorted.
    pub latencies_ns: Vec<u64>,
    pub ok: u64,
    pub errors: u64,
    /// User updates carried by OK responses.
    pub updates: u64,
    /// Length of the measured part: the window, or wall time in total mode.
    pub measured: Duration,
    /// First distinct error descriptions, each at most 300 characters.
    pub error_samples: Vec<String>,
}

type Sender = SendRequest<Full<Bytes>>;

struct Shared {
    plan: Plan,
    addr: SocketAddr,
    warm_end: Instant,
    end: Instant,
    calls: Option<u64>,
    total: u64,
    next_call: AtomicU64,
}

impl Shared {
    /// `None` to stop; else whether the next request is measured and, in
    /// total mode, which batch slot it carries.
    fn step(&self, now: Instant) -> Option<(bool, Option<Slot>)> {
        let Some(calls) = self.calls else {
            return (now < self.end).then_some((now >= self.warm_end, None));
        };
        if now < self.warm_end {
            return Some((false, None));
        }
        let k = self.next_call.fetch_add(1, Ordering::Relaxed);
        if k >= calls {
            return None;
        }
        let first = k * BATCH_CMDS;
        let count = BATCH_CMDS.min(self.total - first);
        Some((true, Some(Slot { first, count })))
    }

    fn deadline(&self, now: Instant) -> Instant {
        match self.calls {
            None => self.end + GRACE,
            Some(_) => now + REQUEST_TIMEOUT,
        }
    }
}

#[derive(Default)]
struct ConnStats {
    result: RunResult,
    last_done: Option<Instant>,
}

impl ConnStats {
    fn error(&mut self, what: String) {
        self.result.errors += 1;
        add_sample(&mut self.result.error_samples, what);
    }
}

fn add_sample(samples: &mut Vec<String>, what: String) {
    let cut: String = what.chars().take(SAMPLE_CHARS).collect();
    if samples.len() < MAX_SAMPLES && !samples.contains(&cut) {
        samples.push(cut);
    }
}

async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the server closes.
        let _ = conn.await;
    });
    Ok(sender)
}

/// Runs the load described by `cfg` and returns the merged results.
pub async fn run(cfg: Config) -> Result<RunResult> {
    let addr = cfg.target.addr;
    let mut senders = Vec::with_capacity(cfg.connections);
    for i in 0..cfg.connections {
        let s = connect(addr).await.with_context(|| format!("connection {}: cannot connect to {addr}", i + 1))?;
        senders.push(s);
    }
    let start = Instant::now();
    let warm_end = start + cfg.warmup;
    let total = cfg.total.unwrap_or(0);
    let shared = Arc::new(Shared {
        plan: cfg.plan,
        addr,
        warm_end,
        end: warm_end + cfg.duration,
        calls: cfg.total.map(|t| t.div_ceil(BATCH_CMDS)),
        total,
        next_call: AtomicU64::new(0),
    });
    let mut tasks = JoinSet::new();
    for sender in senders {
        tasks.spawn(conn_loop(shared.clone(), sender));
    }
    let mut merged = RunResult::default();
    let mut last_done = warm_end;
    while let Some(joined) = tasks.join_next().await {
        let stats = joined.context("connection task failed")?;
        let r = stats.result;
        merged.latencies_ns.extend(r.latencies_ns);
        merged.ok += r.ok;
        merged.errors += r.errors;
        merged.updates += r.updates;
        for s in r.error_samples {
            add_sample(&mut merged.error_samples, s);
        }
        last_done = last_done.max(stats.last_done.unwrap_or(warm_end));
    }
    merged.measured = match cfg.total {
        Some(_) => last_done - warm_end,
        None => cfg.duration,
    };
    Ok(merged)
}

async fn conn_loop(sh: Arc<Shared>, sender: Sender) -> ConnStats {
    let mut st = ConnStats::default();
    let mut rng = StdRng::from_entropy();
    let mut sender = Some(sender);
    let mut seq = 0u64;
    while let Some((measured, slot)) = sh.step(Instant::now()) {
        seq += 1;
        let (body, updates) = sh.plan.body(&mut rng, seq, slot);
        let t0 = Instant::now();
        let outcome = timeout_at(sh.deadline(t0), send_one(&sh, &mut sender, body)).await;
        let done = Instant::now();
        let counted = measured && (sh.calls.is_some() || done <= sh.end);
        let verdict = match outcome {
            Err(_) if sh.calls.is_none() => break,
            Err(_) => {
                sender = None;
                Err("timeout: no response within 30 s".to_string())
            }
            Ok(Err(e)) => Err(e),
            Ok(Ok((status, bytes))) => {
                if counted {
                    st.result.latencies_ns.push(nanos(done - t0));
                }
                sh.plan.check(status, &bytes)
            }
        };
        if !counted {
            continue;
        }
        st.last_done = Some(done);
        match verdict {
            Ok(()) => {
                st.result.ok += 1;
                st.result.updates += updates;
            }
            Err(what) => st.error(what),
        }
    }
    st
}

/// Sends one request on the connection, (re)connecting first when there is
/// none. A kept-alive connection the server closed before the request went
/// out is replaced once without counting an error.
async fn send_one(sh: &Shared, sender: &mut Option<Sender>, body: Bytes) -> Result<(StatusCode, Bytes), String> {
    for _ in 0..2 {
        let live = match sender {
            Some(s) => s,
            None => match connect(sh.addr).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    return Err(format!("connect {}: {e:#}", sh.addr));
                }
            },
        };
        if live.ready().await.is_err() {
            *sender = None;
            continue;
        }
        let result = exchange(live, sh.plan.request(body.clone())).await;
        if result.is_err() {
            *sender = None;
        }
        return result;
    }
    Err("connection closed by the server before the request was sent".to_string())
}

async fn exchange(sender: &mut Sender, req: hyper::Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String> {
    let resp = sender.send_request(req).await.map_err(|e| format!("request: {e}"))?;
    let status = resp.status();
    let body = resp.into_body().collect().await.map_err(|e| format!("response body: {e}"))?;
    Ok((status, body.to_bytes()))
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
