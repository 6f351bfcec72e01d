//! The machine's own figures, measured once per run before any size, so that runs on
//! machines of different speed can be compared as ratios:
//!
//! - the HTTP floor: an axum server (`roster-bench --serve-floor`, a process of its
//!   own on the same tokio runtime settings as `roster serve`) whose handler only
//!   parses the `user.update` JSON body and answers a Bitrix24-shaped envelope,
//!   driven by the same `roster-load` at 64 connections. No server that stores
//!   anything can go faster on this machine; the issue's reference machine did about
//!   63,000 of these per second.
//! - the flush: one 4 KiB overwrite and `fdatasync` of a file beside the databases,
//!   the cost every acknowledged write pays at least once per group.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::db::IdRange;
use super::load::LoadSpec;
use super::output::{Row, Status};
use super::Ctx;

/// The hidden flag that makes `roster-bench` the floor server.
pub const SERVE_FLOOR: &str = "--serve-floor";

/// Flushes timed by the flush probe.
const FLUSHES: usize = 500;

/// Runs the floor server until killed: prints `listening on ADDR` on stdout once bound.
pub fn serve() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        let app = axum::Router::new().fallback(answer);
        axum::serve(listener, app).await?;
        Ok(())
    })
}

/// Parses the body as JSON and answers as a portal's `user.update` would.
async fn answer(body: Bytes) -> Response {
    let json = [(header::CONTENT_TYPE, "application/json; charset=utf-8")];
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) if v.get("ID").is_some() => {
            let now = chrono::Utc::now();
            let text = format!(
                r#"{{"result":true,"time":{{"start":{0:.6},"finish":{0:.6},"duration":0.0001,"processing":0.0001,"date_start":"{1}","date_finish":"{1}"}}}}"#,
                now.timestamp_micros() as f64 / 1e6,
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            );
            (StatusCode::OK, json, text).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, json, r#"{"error":"INVALID_REQUEST"}"#).into_response(),
    }
}

/// Kills the floor server however the phase ends.
struct FloorServer(Child);

impl Drop for FloorServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Measures both machine rows.
pub fn machine_rows(ctx: &Ctx, dir: &Path) -> Vec<Row> {
    let http = http_floor(ctx, dir).unwrap_or_else(|e| {
        Row::new(0, "machine", "HTTP floor (parse and answer)").with_result(Status::Failed, format!("failed: {e:#}"))
    });
    let flush = flush_probe(dir).unwrap_or_else(|e| {
        Row::new(0, "machine", "4 KiB overwrite + fdatasync").with_result(Status::Failed, format!("failed: {e:#}"))
    });
    vec![http, flush]
}

fn http_floor(ctx: &Ctx, dir: &Path) -> Result<Row> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let child = Command::new(exe)
        .arg(SERVE_FLOOR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the floor server")?;
    let mut server = FloorServer(child);
    let stdout = server.0.stdout.take().context("no stdout of the floor server")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let Some(addr) = line.trim().strip_prefix("listening on ") else {
        bail!("the floor server said {line:?}");
    };
    let spec = LoadSpec {
        face: "bitrix24",
        scenario: "update",
        url: format!("http://{addr}/rest/1/floor/"),
        token: None,
        connections: 64,
        ids: IdRange { first: 1, last: 1_000_000 },
        find: None,
        total: None,
    };
    let n = ctx.runner(dir).run(&spec, "floor", &ctx.abort)?;
    let mut row = Row::new(0, "machine", "HTTP floor (parse and answer)");
    row.connections = Some(64);
    (row.rps, row.p50_ms, row.p99_ms, row.errors) = (Some(n.rps), Some(n.p50_ms), Some(n.p99_ms), n.errors);
    let status = if n.errors == 0 { Status::Ok } else { Status::Failed };
    Ok(row.with_result(status, "axum, JSON parsed, envelope answered; nothing stored"))
}

/// Times [`FLUSHES`] overwrites of one 4 KiB block, each followed by `fdatasync`.
fn flush_probe(dir: &Path) -> Result<Row> {
    let path = dir.join("flush-probe");
    let file: File = OpenOptions::new().create(true).read(true).write(true).truncate(true).open(&path)?;
    let block = [0x5au8; 4096];
    // Allocate the block first: an overwrite, as a WAL reused in place.
    file.write_all_at(&block, 0)?;
    file.sync_all()?;
    let mut times: Vec<Duration> = Vec::with_capacity(FLUSHES);
    for i in 0..FLUSHES {
        let t = Instant::now();
        let mut b = block;
        b[0] = i as u8;
        file.write_all_at(&b, 0)?;
        file.sync_data()?;
        times.push(t.elapsed());
    }
    drop(file);
    std::fs::remove_file(&path)?;
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    let mut row = Row::new(0, "machine", "4 KiB overwrite + fdatasync");
    (row.p50_ms, row.p99_ms) = (Some(at(0.5)), Some(at(0.99)));
    row.extra.insert("flushes".into(), FLUSHES.into());
    Ok(row.with_result(Status::Ok, format!("{FLUSHES} flushes of a file beside the databases")))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn call(body: &'static str) -> (StatusCode, serde_json::Value) {
        let resp = answer(Bytes::from_static(body.as_bytes())).await;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn floor_parses_and_answers_like_a_portal() {
        let (status, v) = call(r#"{"ID":5,"NAME":"n1","WORK_PHONE":"0000000001"}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["result"], serde_json::Value::Bool(true));
        assert!(v["time"]["start"].as_f64().unwrap() > 1.0e9);
        for bad in ["{", "[1]", r#"{"NAME":"x"}"#] {
            assert_eq!(call_status(bad).await, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    async fn call_status(body: &'static str) -> StatusCode {
        answer(Bytes::from_static(body.as_bytes())).await.status()
    }

    #[test]
    fn flush_probe_measures_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let row = flush_probe(dir.path()).unwrap();
        let (p50, p99) = (row.p50_ms.unwrap(), row.p99_ms.unwrap());
        assert!(p50 > 0.0 && p50 <= p99, "{p50} {p99}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
